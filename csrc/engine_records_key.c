/* Key objects of the record layer: one direction's AEAD key and static IV in a pre-initialised
 * libcrypto context (see engine_records.h), and the copies of that context that worker threads
 * use, made when a call first asks for them. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "engine_records_internal.h"

static const char *cipher_name(int suite, size_t *key_len)
{
    switch (suite) {
    case ENGINE_SUITE_AES_128_GCM: *key_len = 16; return "AES-128-GCM";
    case ENGINE_SUITE_AES_256_GCM: *key_len = 32; return "AES-256-GCM";
    case ENGINE_SUITE_CHACHA20_POLY1305: *key_len = 32; return "ChaCha20-Poly1305";
    default: return NULL;
    }
}

engine_record_key *engine_record_key_new(int suite, int format, const unsigned char *key,
                                         size_t key_len, const unsigned char *iv, size_t iv_len,
                                         int encrypt, uint64_t seq, int spent)
{
    size_t want = 0;
    const char *name = cipher_name(suite, &want);
    if (name == NULL || format != ENGINE_RECORD_TLS13 || key == NULL || iv == NULL
        || key_len != want || iv_len != IV_SIZE)
        return NULL;
    engine_record_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        free(k);
        return NULL;
    }
    k->encrypt = encrypt ? 1 : 0;
    k->format = format;
    k->spent = spent ? 1 : 0;
    k->seq = spent ? 0 : seq;
    memcpy(k->iv, iv, IV_SIZE);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = cipher != NULL && ctx != NULL
             && EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, k->encrypt) == 1
             && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, IV_SIZE, NULL) == 1
             && EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, k->encrypt) == 1;
    EVP_CIPHER_free(cipher);
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        pthread_mutex_destroy(&k->lock);
        OPENSSL_cleanse(k, sizeof(*k));
        free(k);
        return NULL;
    }
    k->ctx[0] = ctx;
    k->nctx = 1;
    return k;
}

void engine_record_key_free(engine_record_key *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < k->nctx; i++) {
        EVP_CIPHER_CTX_free(k->ctx[i]);
        if (k->scratch[i] != NULL) {
            OPENSSL_cleanse(k->scratch[i], MAX_CIPHERTEXT);
            free(k->scratch[i]);
        }
    }
    pthread_mutex_destroy(&k->lock);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

int engine_record_key_seq(engine_record_key *k, uint64_t *seq)
{
    if (k == NULL || seq == NULL)
        return ENGINE_RECORDS_EINVAL;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    *seq = k->seq;
    int spent = k->spent;
    pthread_mutex_unlock(&k->lock);
    return spent;
}

/* Make sure `n` contexts (and, when opening, scratch buffers) exist; returns how many of the
 * `n` can be used (fewer only if memory ran out). Called with the key's lock held. */
static int ensure_contexts(engine_record_key *k, int n)
{
    if (n > RECORD_THREADS)
        n = RECORD_THREADS;
    while (k->nctx < n) {
        EVP_CIPHER_CTX *copy = EVP_CIPHER_CTX_new();
        unsigned char *scratch = k->encrypt ? NULL : malloc(MAX_CIPHERTEXT);
        if (copy == NULL || (!k->encrypt && scratch == NULL)
            || EVP_CIPHER_CTX_copy(copy, k->ctx[0]) != 1) {
            EVP_CIPHER_CTX_free(copy);
            free(scratch);
            break;
        }
        k->ctx[k->nctx] = copy;
        k->scratch[k->nctx] = scratch;
        k->nctx++;
    }
    if (!k->encrypt && k->scratch[0] == NULL)
        k->scratch[0] = malloc(MAX_CIPHERTEXT);
    if (!k->encrypt && k->scratch[0] == NULL)
        return 1; /* several threads open with scratch space in every slot, 0 included */
    return k->nctx < n ? k->nctx : n;
}

/* See engine_records_internal.h. */
int engine_record_key_threads(engine_record_key *k, int threads, size_t records, size_t bytes)
{
    if (threads > RECORD_THREADS)
        threads = RECORD_THREADS;
    if (threads < 2 || records < 2 || bytes < PARALLEL_MIN_BYTES)
        return 1;
    if ((size_t)threads > records)
        threads = (int)records;
    return ensure_contexts(k, threads);
}
