/* The per-record AEAD kernels of the record layer (RFC 8446 section 5.2) and the framing-free
 * limit used for measuring.
 *
 * Layout of a record: a 5-byte header (opaque_type 23, legacy_record_version 0x0303, length),
 * then the AEAD ciphertext of TLSInnerPlaintext (content || content type || zero padding,
 * section 5.4) and its 16-byte tag, the header being the additional data. The nonce is the
 * static IV XOR the 64-bit sequence number, left-padded (section 5.3). Per record libcrypto is
 * given only the new nonce (the key stays set in the context), then the header, the inner
 * plaintext and the tag. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "engine_records_internal.h"

#define SMALL_RECORD 512 /* inner plaintexts up to this size are assembled in one piece */

static const unsigned char zeros[MAX_INNER];

static inline void make_nonce(const unsigned char iv[IV_SIZE], uint64_t seq,
                              unsigned char nonce[IV_SIZE])
{
    memcpy(nonce, iv, IV_SIZE);
    for (int i = 0; i < 8; i++)
        nonce[IV_SIZE - 1 - i] ^= (unsigned char)(seq >> (8 * i));
}

/* See engine_records_internal.h. */
int engine_record_seal_one(EVP_CIPHER_CTX *ctx, const unsigned char iv[IV_SIZE], uint64_t seq,
                           const unsigned char *content, size_t clen, int content_type,
                           size_t inner, unsigned char *out)
{
    unsigned char nonce[IV_SIZE];
    size_t length = inner + TAG_SIZE;
    int n = 0;
    out[0] = APPLICATION_DATA;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(length >> 8);
    out[4] = (unsigned char)(length & 0xff);
    make_nonce(iv, seq, nonce);
    unsigned char *body = out + HEADER_SIZE;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1
        || EVP_EncryptUpdate(ctx, NULL, &n, out, HEADER_SIZE) != 1)
        return ENGINE_RECORDS_ECRYPTO;
    if (inner <= SMALL_RECORD) {
        unsigned char block[SMALL_RECORD];
        memcpy(block, content, clen);
        block[clen] = (unsigned char)content_type;
        memset(block + clen + 1, 0, inner - clen - 1);
        if (EVP_EncryptUpdate(ctx, body, &n, block, (int)inner) != 1)
            return ENGINE_RECORDS_ECRYPTO;
    } else {
        unsigned char type = (unsigned char)content_type;
        if ((clen > 0 && EVP_EncryptUpdate(ctx, body, &n, content, (int)clen) != 1)
            || EVP_EncryptUpdate(ctx, body + clen, &n, &type, 1) != 1
            || (inner > clen + 1
                && EVP_EncryptUpdate(ctx, body + clen + 1, &n, zeros, (int)(inner - clen - 1))
                       != 1))
            return ENGINE_RECORDS_ECRYPTO;
    }
    /* the tag straight through the parameter interface: what EVP_CTRL_AEAD_GET_TAG does, less
     * one translation per record */
    OSSL_PARAM tag[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, body + inner, TAG_SIZE),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_EncryptFinal_ex(ctx, body + inner, &n) != 1 || EVP_CIPHER_CTX_get_params(ctx, tag) != 1)
        return ENGINE_RECORDS_ECRYPTO;
    return ENGINE_RECORDS_OK;
}

/* See engine_records_internal.h. */
int engine_record_open_one(EVP_CIPHER_CTX *ctx, const unsigned char iv[IV_SIZE], uint64_t seq,
                           const unsigned char *rec, size_t length, unsigned char *out)
{
    unsigned char nonce[IV_SIZE], tag[TAG_SIZE];
    int n = 0;
    if (length < TAG_SIZE)
        return ENGINE_RECORDS_AUTH;
    size_t plen = length - TAG_SIZE;
    make_nonce(iv, seq, nonce);
    memcpy(tag, rec + HEADER_SIZE + plen, TAG_SIZE);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1
        || EVP_DecryptUpdate(ctx, NULL, &n, rec, HEADER_SIZE) != 1
        || (plen > 0 && EVP_DecryptUpdate(ctx, out, &n, rec + HEADER_SIZE, (int)plen) != 1)
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_SIZE, tag) != 1) {
        memset(out, 0, plen);
        return ENGINE_RECORDS_ECRYPTO;
    }
    if (EVP_DecryptFinal_ex(ctx, out + plen, &n) != 1) {
        OPENSSL_cleanse(out, plen);
        return ENGINE_RECORDS_AUTH;
    }
    return ENGINE_RECORDS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* the limit: one AEAD operation, no framing */

int engine_aead_oneshot(engine_record_key *k, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_cap, size_t *written)
{
    if (k == NULL || written == NULL || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    size_t body = in_len;
    if (!k->encrypt) {
        if (in_len < TAG_SIZE)
            return ENGINE_RECORDS_AUTH;
        body = in_len - TAG_SIZE;
    }
    size_t need = k->encrypt ? in_len + TAG_SIZE : body;
    if (k->encrypt && in_len > SIZE_MAX - TAG_SIZE)
        return ENGINE_RECORDS_SPACE;
    if (need > out_cap)
        return ENGINE_RECORDS_SPACE;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    EVP_CIPHER_CTX *ctx = k->ctx[0];
    int n = 0, rc = ENGINE_RECORDS_OK;
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, k->iv, k->encrypt) != 1)
        rc = ENGINE_RECORDS_ECRYPTO;
    for (size_t done = 0; rc == ENGINE_RECORDS_OK && done < body;) {
        size_t chunk = body - done > (size_t)(INT_MAX / 2) ? (size_t)(INT_MAX / 2) : body - done;
        if (EVP_CipherUpdate(ctx, out + done, &n, in + done, (int)chunk) != 1)
            rc = ENGINE_RECORDS_ECRYPTO;
        done += chunk;
    }
    if (rc == ENGINE_RECORDS_OK) {
        if (k->encrypt) {
            if (EVP_CipherFinal_ex(ctx, out + body, &n) != 1
                || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_SIZE, out + body) != 1)
                rc = ENGINE_RECORDS_ECRYPTO;
        } else {
            unsigned char tag[TAG_SIZE];
            memcpy(tag, in + body, TAG_SIZE);
            if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_SIZE, tag) != 1)
                rc = ENGINE_RECORDS_ECRYPTO;
            else if (EVP_CipherFinal_ex(ctx, out + body, &n) != 1)
                rc = ENGINE_RECORDS_AUTH;
        }
    }
    pthread_mutex_unlock(&k->lock);
    if (rc != ENGINE_RECORDS_OK) {
        OPENSSL_cleanse(out, need);
        return rc;
    }
    *written = need;
    return ENGINE_RECORDS_OK;
}
