#ifndef ENGINE_RECORDS_INTERNAL_H
#define ENGINE_RECORDS_INTERNAL_H

/* What the record-protection sources share: the record layout of RFC 8446 section 5, the key
 * object, the one-record kernels and the size arithmetic. Not part of the Python interface
 * (the build leaves *_internal.h out of cffi's cdef). */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "engine_pool_internal.h"
#include "engine_records.h"

#define HEADER_SIZE ENGINE_RECORD_HEADER_SIZE
#define TAG_SIZE ENGINE_RECORD_TAG_SIZE
#define IV_SIZE ENGINE_RECORD_IV_SIZE
#define APPLICATION_DATA 23
#define MAX_FRAGMENT ((unsigned)ENGINE_RECORD_MAX_FRAGMENT)     /* 2^14 */
#define MAX_INNER (MAX_FRAGMENT + 1u)                          /* TLSInnerPlaintext limit */
#define MAX_CIPHERTEXT ((unsigned)ENGINE_RECORD_MAX_CIPHERTEXT) /* TLSCiphertext.length limit */
#define RECORD_THREADS ENGINE_POOL_MAX_THREADS /* contexts a key holds: one per pool slot */
#define PARALLEL_MIN_BYTES 32768            /* smaller batches stay on the calling thread */

struct engine_record_key {
    int encrypt;
    int format;  /* ENGINE_RECORD_TLS13 */
    unsigned char iv[IV_SIZE];
    uint64_t seq; /* the next record's sequence number, unless spent */
    int spent;    /* every sequence number is used: the key protects nothing more */
    pthread_mutex_t lock;
    int nctx; /* contexts made so far: ctx[0] is the original, the rest are copies */
    EVP_CIPHER_CTX *ctx[RECORD_THREADS];
    unsigned char *scratch[RECORD_THREADS]; /* one record's inner plaintext, for opening */
};

/* engine_records_key.c: the threads worth using for `records` records of `bytes` bytes, with a
 * context (and, when opening, scratch space) made for each; called with the key's lock held. */
int engine_record_key_threads(engine_record_key *k, int threads, size_t records, size_t bytes);

/* engine_records_kernels.c: one record each (section 5.2). seal_one writes HEADER + inner +
 * TAG bytes: the content, its type and inner - clen - 1 zeros. open_one decrypts the record at
 * `rec` (header + `length` bytes) into `out` (length - TAG bytes), zeroed on failure. */
int engine_record_seal_one(EVP_CIPHER_CTX *ctx, const unsigned char iv[IV_SIZE], uint64_t seq,
                           const unsigned char *content, size_t clen, int content_type,
                           size_t inner, unsigned char *out);
int engine_record_open_one(EVP_CIPHER_CTX *ctx, const unsigned char iv[IV_SIZE], uint64_t seq,
                           const unsigned char *rec, size_t length, unsigned char *out);

/* Whether `n` records can use sequence numbers seq, seq + 1, ... without passing 2^64 - 1. */
static inline int seq_room_for(uint64_t seq, size_t n)
{
    return n == 0 || (uint64_t)(n - 1) <= UINT64_MAX - seq;
}

/* Whether the key has sequence numbers left for `n` more records. */
static inline int key_room_for(const engine_record_key *k, size_t n)
{
    return n == 0 || (!k->spent && seq_room_for(k->seq, n));
}

/* Count `n` records protected with the key (key_room_for(k, n) holds). */
static inline void key_advance(engine_record_key *k, size_t n)
{
    if (n == 0)
        return;
    if ((uint64_t)(n - 1) == UINT64_MAX - k->seq) {
        k->spent = 1;
        k->seq = 0;
    } else {
        k->seq += (uint64_t)n;
    }
}

/* Length of TLSInnerPlaintext for `content_len` bytes of content, padded to a multiple of
 * `pad_to` (0: no padding) but never beyond 2^14 + 1 (section 5.4). */
static inline size_t inner_size(size_t content_len, size_t pad_to)
{
    size_t size = content_len + 1;
    if (pad_to > 0) {
        if (pad_to >= MAX_INNER)
            return MAX_INNER;
        size = ((size + pad_to - 1) / pad_to) * pad_to;
        if (size > MAX_INNER)
            size = MAX_INNER;
    }
    return size;
}

/* Records and bytes that sealing `in_len` bytes in fragments of at most `max_fragment` makes;
 * 0, or ENGINE_RECORDS_SPACE if the size does not fit a size_t. */
static inline int sealed_layout(size_t in_len, size_t max_fragment, size_t pad_to,
                                size_t *records, size_t *total)
{
    size_t full = in_len / max_fragment, rest = in_len % max_fragment;
    size_t full_size = HEADER_SIZE + inner_size(max_fragment, pad_to) + TAG_SIZE;
    size_t rest_size = rest ? HEADER_SIZE + inner_size(rest, pad_to) + TAG_SIZE : 0;
    *records = full + (rest ? 1 : 0);
    if (full > (SIZE_MAX - rest_size) / full_size)
        return ENGINE_RECORDS_SPACE;
    *total = full * full_size + rest_size;
    return ENGINE_RECORDS_OK;
}

static inline size_t header_length(const unsigned char *rec)
{
    return ((size_t)rec[3] << 8) | rec[4];
}

static inline int overlaps(const unsigned char *a, size_t alen, const unsigned char *b,
                           size_t blen)
{
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return alen > 0 && blen > 0 && a0 < b0 + blen && b0 < a0 + alen;
}

#endif
