#ifndef ENGINE_RECORDS_H
#define ENGINE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* TLS 1.3 record protection (RFC 8446 section 5), many records per call.
 *
 * A key object holds one direction's AEAD key and static IV in a pre-initialised libcrypto
 * context; the per-record nonce (IV XOR sequence number, section 5.3) is built in C. Output goes
 * to buffers the caller provides; every length is checked before use. Input and output buffers
 * must not overlap. Calls on one key object run one at a time (a second concurrent call gets
 * ENGINE_RECORDS_EBUSY). `seq` is the sequence number of the first record; a call that would
 * need one past 2^64 - 1 fails (sealing) or stops there (opening) with ENGINE_RECORDS_SEQ.
 *
 * Every call runs without the GIL and touches no Python object; the buffers must stay in place
 * until it returns (the Python wrapper pins them with a buffer export). The worker pool is
 * forgotten in a forked child and started afresh there; a key that another thread of the
 * parent was using at the moment of fork() stays busy in the child (ENGINE_RECORDS_EBUSY). */

typedef struct engine_record_key engine_record_key;

enum {
    ENGINE_RECORDS_OK = 0,
    ENGINE_RECORDS_AUTH = 1,       /* a record failed authentication */
    ENGINE_RECORDS_OVERFLOW = 2,   /* a record longer than TLS 1.3 allows */
    ENGINE_RECORDS_UNEXPECTED = 3, /* an inner plaintext of all zeros */
    ENGINE_RECORDS_SEQ = 4,        /* sequence numbers used up */
    ENGINE_RECORDS_SPACE = 5,      /* the output buffer is too small */
    ENGINE_RECORDS_EINVAL = -1,    /* a bad argument */
    ENGINE_RECORDS_ENOMEM = -2,
    ENGINE_RECORDS_ECRYPTO = -3,   /* libcrypto refused an operation */
    ENGINE_RECORDS_EBUSY = -4      /* the key object is in use by another thread */
};

/* suite: 1 AES-128-GCM, 2 AES-256-GCM, 3 ChaCha20-Poly1305; encrypt: 1 to seal, 0 to open.
 * NULL on a bad suite, key or IV length, or a libcrypto failure. */
engine_record_key *engine_record_key_new(int suite, const unsigned char *key, size_t key_len,
                                         const unsigned char *iv, size_t iv_len, int encrypt);
void engine_record_key_free(engine_record_key *key);

/* Seal `in` as records of at most `max_fragment` content bytes each, inner content type
 * `content_type`, zero padding to a multiple of `pad_to` (0: none). `threads` > 1 seals runs of
 * records on that many threads (same bytes). On success *written and *records are set. */
int engine_records_seal(engine_record_key *key, const unsigned char *in, size_t in_len,
                        int content_type, size_t max_fragment, size_t pad_to,
                        uint64_t seq, unsigned char *out, size_t out_cap,
                        int threads, size_t *written, uint64_t *records);

/* One record per message; `in` holds the `count` messages one after another, `lengths` their
 * lengths (each at most 2^14, summing to in_len; else ENGINE_RECORDS_EINVAL). `threads` as for
 * engine_records_seal. If `out_cap` is too small (out may then be NULL with out_cap 0, to ask),
 * the result is ENGINE_RECORDS_SPACE with *written set to the size the records need. */
int engine_records_seal_messages(engine_record_key *key, const unsigned char *in, size_t in_len,
                                 const uint64_t *lengths, size_t count, int content_type,
                                 size_t pad_to, uint64_t seq,
                                 unsigned char *out, size_t out_cap, int threads,
                                 size_t *written);

/* How many complete application_data records lie at the front of `in` (the most that
 * engine_records_open can return); *plaintext_bound (if not NULL) gets the sum of their
 * ciphertext lengths less 16, an output size that always suffices. */
size_t engine_records_count(const unsigned char *in, size_t in_len, size_t *plaintext_bound);

/* Open the complete application_data records at the front of `in` into `out`, plaintexts one
 * after another. Stops at an incomplete record, before a record of another outer type, after a
 * record whose inner type is not 23, and before a record whose plaintext does not fit
 * (ENGINE_RECORDS_SPACE if that is the first). segments receives (content type, offset, length)
 * triples, at most max_segments records are opened. *records and *consumed count what was
 * opened, also when an error stops the call at record index *records; no plaintext of a record
 * that fails is left in `out`. */
int engine_records_open(engine_record_key *key, const unsigned char *in, size_t in_len,
                        uint64_t seq, unsigned char *out, size_t out_cap,
                        int threads, uint64_t *segments, size_t max_segments,
                        size_t *records, size_t *consumed);

/* The framing-free limit, for measuring only: one AEAD operation over all of `in` with the
 * static IV as nonce and no additional data. It repeats that nonce on every call, so it must
 * never be used with a key that protects traffic. Sealing writes in_len + 16 bytes; opening
 * takes ciphertext || tag. */
int engine_aead_oneshot(engine_record_key *key, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_cap, size_t *written);

#endif
