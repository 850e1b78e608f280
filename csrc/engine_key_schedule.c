/* The TLS 1.3 key schedule kernels (RFC 8446 section 7; see engine_key_schedule.h).
 *
 * HKDF (RFC 5869) on libcrypto's HMAC through EVP_MAC: one HMAC context per call, given a new
 * key for each step, with the digest fetched once per process. Every label of the key schedule
 * is expanded in one HMAC block (T(1)); longer outputs (exporters) take more blocks. */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "engine_key_schedule.h"

#define MAX_HASH 48
#define IV_LEN 12
#define MAX_LABEL 249 /* "tls13 " + label fits the 255 bytes of HkdfLabel.label */

typedef struct hash_kind {
    const char *name;
    size_t len;
    EVP_MAC_CTX *hmac; /* a template with the digest set; copied per call */
    unsigned char empty[MAX_HASH];           /* Hash("") */
    unsigned char early[MAX_HASH];           /* the early secret with no PSK */
    unsigned char derived[MAX_HASH];         /* Derive-Secret(early, "derived", "") */
    int ready;
} hash_kind;

static hash_kind kinds[2] = {{"SHA256", 32, NULL, {0}, {0}, {0}, 0},
                             {"SHA384", 48, NULL, {0}, {0}, {0}, 0}};
static pthread_once_t kinds_once = PTHREAD_ONCE_INIT;

/* One HMAC context of a call: the template's copy, keyed for each step. A step under the key
 * of the step before reuses the keyed state (EVP_MAC_init with no key), which spares the key
 * setup: several secrets of a stage are expanded from one secret. */
typedef struct hkdf {
    const hash_kind *kind;
    EVP_MAC_CTX *ctx;
    unsigned char key[MAX_HASH]; /* the key the context holds, when keyed by hmac() */
    size_t key_len;
    int keyed;
} hkdf;

static int hmac(hkdf *h, const unsigned char *key, size_t key_len, const unsigned char *a,
                size_t a_len, const unsigned char *b, size_t b_len, unsigned char *out)
{
    size_t n = 0;
    static const unsigned char none[1];
    if (key_len == 0)
        key = none; /* an empty key is valid HMAC input; libcrypto wants a pointer */
    int same = h->keyed && key_len == h->key_len && CRYPTO_memcmp(key, h->key, key_len) == 0;
    if (!same) {
        h->keyed = key_len <= sizeof(h->key);
        if (h->keyed) {
            memcpy(h->key, key, key_len);
            h->key_len = key_len;
        }
    }
    return EVP_MAC_init(h->ctx, same ? NULL : key, same ? 0 : key_len, NULL) == 1
           && (a_len == 0 || EVP_MAC_update(h->ctx, a, a_len) == 1)
           && (b_len == 0 || EVP_MAC_update(h->ctx, b, b_len) == 1)
           && EVP_MAC_final(h->ctx, out, &n, MAX_HASH) == 1 && n == h->kind->len;
}

/* HKDF-Extract(salt, ikm) = HMAC(salt, ikm). */
static int extract(hkdf *h, const unsigned char *salt, size_t salt_len,
                   const unsigned char *ikm, size_t ikm_len, unsigned char *out)
{
    return hmac(h, salt, salt_len, ikm, ikm_len, NULL, 0, out);
}

/* HKDF-Expand-Label(secret, label, context, length) (section 7.1). */
static int expand_label(hkdf *h, const unsigned char *secret, const char *label,
                        size_t label_len, const unsigned char *context, size_t context_len,
                        unsigned char *out, size_t length)
{
    size_t hash_len = h->kind->len;
    unsigned char info[2 + 1 + 6 + MAX_LABEL + 1 + 255 + 1];
    size_t n = 0;
    info[n++] = (unsigned char)(length >> 8);
    info[n++] = (unsigned char)(length & 0xff);
    info[n++] = (unsigned char)(6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = (unsigned char)context_len;
    if (context_len > 0)
        memcpy(info + n, context, context_len);
    n += context_len;
    /* T(i) = HMAC(secret, T(i-1) || info || i) (RFC 5869 section 2.3) */
    unsigned char block[MAX_HASH];
    size_t done = 0, previous = 0;
    for (unsigned counter = 1; done < length; counter++) {
        info[n] = (unsigned char)counter;
        if (!hmac(h, secret, hash_len, block, previous, info, n + 1, block)) {
            OPENSSL_cleanse(block, sizeof(block));
            return 0;
        }
        size_t take = length - done < hash_len ? length - done : hash_len;
        memcpy(out + done, block, take);
        done += take;
        previous = hash_len;
    }
    OPENSSL_cleanse(block, sizeof(block));
    return 1;
}

#define LABEL(s) s, sizeof(s) - 1

static int derive_secret(hkdf *h, const unsigned char *secret, const char *label,
                         size_t label_len, const unsigned char *transcript_hash,
                         unsigned char *out)
{
    return expand_label(h, secret, label, label_len, transcript_hash, h->kind->len, out,
                        h->kind->len);
}

static void prepare_kinds(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    for (int i = 0; i < 2 && mac != NULL; i++) {
        hash_kind *kind = &kinds[i];
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)kind->name, 0),
            OSSL_PARAM_construct_end(),
        };
        unsigned int empty_len = 0;
        unsigned char zeros[MAX_HASH] = {0};
        if (ctx == NULL || EVP_MAC_CTX_set_params(ctx, params) != 1
            || EVP_Digest("", 0, kind->empty, &empty_len,
                          kind->len == 32 ? EVP_sha256() : EVP_sha384(), NULL) != 1) {
            EVP_MAC_CTX_free(ctx);
            continue;
        }
        kind->hmac = ctx;
        hkdf h = {.kind = kind, .ctx = ctx};
        if (extract(&h, zeros, kind->len, zeros, kind->len, kind->early)
            && derive_secret(&h, kind->early, LABEL("derived"), kind->empty, kind->derived))
            kind->ready = 1;
    }
    EVP_MAC_free(mac);
}

/* The HMAC context of one call for `hash`; 0 if the hash is unknown or libcrypto failed. */
static int hkdf_begin(hkdf *h, int hash)
{
    if (hash != ENGINE_KS_SHA256 && hash != ENGINE_KS_SHA384)
        return 0;
    pthread_once(&kinds_once, prepare_kinds);
    const hash_kind *kind = &kinds[hash - 1];
    if (!kind->ready)
        return 0;
    h->kind = kind;
    h->keyed = 0;
    h->key_len = 0;
    h->ctx = EVP_MAC_CTX_dup(kind->hmac);
    return h->ctx != NULL;
}

/* hkdf_begin for a call whose output is `hashes` secrets of the hash's length and `extra`
 * bytes more: 0 (nothing held) if the hash is unknown or out_len is not that size. */
static int hkdf_begin_sized(hkdf *h, int hash, size_t out_len, size_t hashes, size_t extra)
{
    if (!hkdf_begin(h, hash))
        return 0;
    if (out_len != hashes * h->kind->len + extra) {
        EVP_MAC_CTX_free(h->ctx);
        return 0;
    }
    return 1;
}

static int hkdf_end(hkdf *h, int ok, unsigned char *out, size_t out_len)
{
    EVP_MAC_CTX_free(h->ctx);
    OPENSSL_cleanse(h->key, sizeof(h->key));
    if (!ok) {
        if (out != NULL)
            OPENSSL_cleanse(out, out_len);
        return ENGINE_KS_ECRYPTO;
    }
    return ENGINE_KS_OK;
}

/* The traffic key and IV of a traffic secret, one after the other at `out`. */
static int traffic_key(hkdf *h, size_t key_len, const unsigned char *secret, unsigned char *out)
{
    return expand_label(h, secret, LABEL("key"), NULL, 0, out, key_len)
           && expand_label(h, secret, LABEL("iv"), NULL, 0, out + key_len, IV_LEN);
}

static int valid_key_len(size_t key_len)
{
    return key_len == 16 || key_len == 32;
}

int engine_ks_expand_label(int hash, const unsigned char *secret, size_t secret_len,
                           const unsigned char *label, size_t label_len,
                           const unsigned char *context, size_t context_len,
                           unsigned char *out, size_t length)
{
    hkdf h;
    if (secret == NULL || out == NULL || (label == NULL && label_len > 0)
        || (context == NULL && context_len > 0) || label_len > MAX_LABEL || context_len > 255
        || length == 0 || length > 0xffff)
        return ENGINE_KS_EINVAL;
    if (!hkdf_begin(&h, hash))
        return ENGINE_KS_EINVAL;
    if (secret_len != h.kind->len || length > 255 * h.kind->len) {
        EVP_MAC_CTX_free(h.ctx);
        return ENGINE_KS_EINVAL;
    }
    int ok = expand_label(&h, secret, (const char *)label, label_len, context, context_len, out,
                          length);
    return hkdf_end(&h, ok, out, length);
}

int engine_ks_early(int hash, const unsigned char *psk, size_t psk_len, int external,
                    const unsigned char *hello_hash, unsigned char *out, size_t out_len)
{
    hkdf h;
    if ((psk == NULL && psk_len > 0) || out == NULL
        || !hkdf_begin_sized(&h, hash, out_len, 4, 0))
        return ENGINE_KS_EINVAL;
    size_t n = h.kind->len;
    unsigned char zeros[MAX_HASH] = {0}, binder[MAX_HASH];
    memset(out, 0, out_len);
    int ok = extract(&h, zeros, n, psk_len ? psk : zeros, psk_len ? psk_len : n, out);
    if (ok && external)
        ok = derive_secret(&h, out, LABEL("ext binder"), h.kind->empty, binder);
    else if (ok)
        ok = derive_secret(&h, out, LABEL("res binder"), h.kind->empty, binder);
    if (ok)
        memcpy(out + n, binder, n);
    if (ok && hello_hash != NULL)
        ok = derive_secret(&h, out, LABEL("c e traffic"), hello_hash, out + 2 * n)
             && derive_secret(&h, out, LABEL("e exp master"), hello_hash, out + 3 * n);
    OPENSSL_cleanse(binder, sizeof(binder));
    return hkdf_end(&h, ok, out, out_len);
}

int engine_ks_handshake(int hash, size_t key_len, const unsigned char *early_secret,
                        const unsigned char *shared, size_t shared_len,
                        const unsigned char *hello_hash, unsigned char *out, size_t out_len)
{
    hkdf h;
    if (shared == NULL || hello_hash == NULL || out == NULL || !valid_key_len(key_len)
        || !hkdf_begin_sized(&h, hash, out_len, 3, 2 * (key_len + IV_LEN)))
        return ENGINE_KS_EINVAL;
    size_t n = h.kind->len;
    unsigned char derived[MAX_HASH], secret[MAX_HASH], zeros[MAX_HASH] = {0};
    int ok = 1;
    if (early_secret == NULL)
        memcpy(derived, h.kind->derived, n);
    else
        ok = derive_secret(&h, early_secret, LABEL("derived"), h.kind->empty, derived);
    unsigned char *keys = out + 3 * n;
    ok = ok && extract(&h, derived, n, shared, shared_len, secret)
         && derive_secret(&h, secret, LABEL("c hs traffic"), hello_hash, out)
         && derive_secret(&h, secret, LABEL("s hs traffic"), hello_hash, out + n)
         && derive_secret(&h, secret, LABEL("derived"), h.kind->empty, derived)
         && extract(&h, derived, n, zeros, n, out + 2 * n)
         && traffic_key(&h, key_len, out, keys)
         && traffic_key(&h, key_len, out + n, keys + key_len + IV_LEN);
    OPENSSL_cleanse(derived, sizeof(derived));
    OPENSSL_cleanse(secret, sizeof(secret));
    return hkdf_end(&h, ok, out, out_len);
}

int engine_ks_application(int hash, size_t key_len, const unsigned char *master_secret,
                          const unsigned char *finished_hash, unsigned char *out,
                          size_t out_len)
{
    hkdf h;
    if (master_secret == NULL || finished_hash == NULL || out == NULL || !valid_key_len(key_len)
        || !hkdf_begin_sized(&h, hash, out_len, 3, 2 * (key_len + IV_LEN)))
        return ENGINE_KS_EINVAL;
    size_t n = h.kind->len;
    unsigned char *keys = out + 3 * n;
    int ok = derive_secret(&h, master_secret, LABEL("c ap traffic"), finished_hash, out)
             && derive_secret(&h, master_secret, LABEL("s ap traffic"), finished_hash, out + n)
             && derive_secret(&h, master_secret, LABEL("exp master"), finished_hash,
                              out + 2 * n)
             && traffic_key(&h, key_len, out, keys)
             && traffic_key(&h, key_len, out + n, keys + key_len + IV_LEN);
    return hkdf_end(&h, ok, out, out_len);
}

int engine_ks_traffic(int hash, size_t key_len, const unsigned char *secret,
                      unsigned char *out, size_t out_len)
{
    hkdf h;
    if (secret == NULL || out == NULL || !valid_key_len(key_len)
        || !hkdf_begin_sized(&h, hash, out_len, 1, key_len + IV_LEN))
        return ENGINE_KS_EINVAL;
    size_t n = h.kind->len;
    int ok = traffic_key(&h, key_len, secret, out)
             && expand_label(&h, secret, LABEL("traffic upd"), NULL, 0,
                             out + key_len + IV_LEN, n);
    return hkdf_end(&h, ok, out, out_len);
}

int engine_ks_finished(int hash, const unsigned char *base_key,
                       const unsigned char *transcript_hash, unsigned char *out,
                       size_t out_len)
{
    hkdf h;
    if (base_key == NULL || transcript_hash == NULL || out == NULL
        || !hkdf_begin_sized(&h, hash, out_len, 1, 0))
        return ENGINE_KS_EINVAL;
    size_t n = h.kind->len;
    unsigned char key[MAX_HASH];
    int ok = expand_label(&h, base_key, LABEL("finished"), NULL, 0, key, n)
             && hmac(&h, key, n, transcript_hash, n, NULL, 0, out);
    OPENSSL_cleanse(key, sizeof(key));
    return hkdf_end(&h, ok, out, out_len);
}
