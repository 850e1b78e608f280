#ifndef ENGINE_RECORDS_H
#define ENGINE_RECORDS_H

#include <stddef.h>
#include <stdint.h>

/* TLS record protection (RFC 8446 section 5): one record core for the standalone Sealer and
 * Opener and for every connection.
 *
 * A key object holds one direction's AEAD key and static IV in a pre-initialised libcrypto
 * context, the record format, and the sequence number of the next record. The per-record
 * nonce (IV XOR sequence number, section 5.3) is built in C, and each call advances the
 * sequence number by the records it protected. Output goes to buffers the caller provides;
 * every length is checked before use. Input and output buffers must not overlap. Calls on one
 * key object run one at a time (a second concurrent call gets ENGINE_RECORDS_EBUSY). A call that
 * would need a sequence number past 2^64 - 1 fails (sealing) or stops there (opening) with
 * ENGINE_RECORDS_SEQ.
 *
 * A record layer is the core of one connection: the current write and read keys (none while
 * records are plaintext), the sealed records waiting to be sent, and the received bytes not yet
 * read. It protects and opens through the same key objects and batch calls as above.
 *
 * Every call runs without the GIL and touches no Python object; the buffers must stay in place
 * until it returns (the Python wrapper passes immutable bytes or pins a buffer with an export).
 * The worker pool is forgotten in a forked child and started afresh there; a key or layer that
 * another thread of the parent was using at the moment of fork() stays busy in the child
 * (ENGINE_RECORDS_EBUSY). */

typedef struct engine_record_key engine_record_key;
typedef struct engine_record_layer engine_record_layer;

enum {
    ENGINE_RECORDS_OK = 0,
    ENGINE_RECORDS_AUTH = 1,       /* a record failed authentication */
    ENGINE_RECORDS_OVERFLOW = 2,   /* a record longer than TLS 1.3 allows */
    ENGINE_RECORDS_UNEXPECTED = 3, /* an inner plaintext of all zeros */
    ENGINE_RECORDS_SEQ = 4,        /* sequence numbers used up */
    ENGINE_RECORDS_SPACE = 5,      /* the output buffer is too small */
    ENGINE_RECORDS_RECORD = 6,     /* a layer read stopped to hand over one record */
    ENGINE_RECORDS_UPDATE = 7,     /* a layer write succeeded and the key's usage limit is near */
    ENGINE_RECORDS_EINVAL = -1,    /* a bad argument */
    ENGINE_RECORDS_ENOMEM = -2,
    ENGINE_RECORDS_ECRYPTO = -3,   /* libcrypto refused an operation */
    ENGINE_RECORDS_EBUSY = -4      /* the key or layer is in use by another thread */
};

/* The sizes of RFC 8446 section 5 (engine.records._suites names them alike): the record
 * header, the AEAD tag and static IV of every suite, the most content of one record (5.1) and
 * the longest TLSCiphertext (5.2). */
enum {
    ENGINE_RECORD_HEADER_SIZE = 5,
    ENGINE_RECORD_TAG_SIZE = 16,
    ENGINE_RECORD_IV_SIZE = 12,
    ENGINE_RECORD_MAX_FRAGMENT = 16384,
    ENGINE_RECORD_MAX_CIPHERTEXT = 16384 + 256
};

/* Record formats: how the nonce, the additional data and the inner content type are made.
 * TLS 1.3 (RFC 8446 section 5.2): nonce = IV XOR sequence number, additional data = the record
 * header, the content type inside the encrypted inner plaintext. */
enum { ENGINE_RECORD_TLS13 = 1 };

/* Cipher suites of a key object, by their TLS code points (RFC 8446 appendix B.4), as
 * engine.records._suites.SUITE_TABLE numbers them. */
enum {
    ENGINE_SUITE_AES_128_GCM = 0x1301,      /* TLS_AES_128_GCM_SHA256 */
    ENGINE_SUITE_AES_256_GCM = 0x1302,      /* TLS_AES_256_GCM_SHA384 */
    ENGINE_SUITE_CHACHA20_POLY1305 = 0x1303 /* TLS_CHACHA20_POLY1305_SHA256 */
};

/* --- key objects ------------------------------------------------------------------------ */

/* encrypt: 1 to seal, 0 to open. `seq` is the sequence number of the first record; `spent` 1
 * means every sequence number is used already (the key can protect nothing more). NULL on a
 * bad suite, format, key or IV length, or a libcrypto failure. */
engine_record_key *engine_record_key_new(int suite, int format, const unsigned char *key,
                                         size_t key_len, const unsigned char *iv, size_t iv_len,
                                         int encrypt, uint64_t seq, int spent);
void engine_record_key_free(engine_record_key *key);

/* The sequence number of the next record; returns 1 if every number is used (2^64), else 0. */
int engine_record_key_seq(engine_record_key *key, uint64_t *seq);

/* Seal `in` as records of at most `max_fragment` content bytes each, inner content type
 * `content_type`, zero padding to a multiple of `pad_to` (0: none). `threads` > 1 seals runs of
 * records on that many threads (same bytes). On success *written and *records are set. */
int engine_records_seal(engine_record_key *key, const unsigned char *in, size_t in_len,
                        int content_type, size_t max_fragment, size_t pad_to,
                        unsigned char *out, size_t out_cap,
                        int threads, size_t *written, uint64_t *records);

/* One record per message; `in` holds the `count` messages one after another, `lengths` their
 * lengths (each at most 2^14, summing to in_len; else ENGINE_RECORDS_EINVAL). `threads` as for
 * engine_records_seal. If `out_cap` is too small (out may then be NULL with out_cap 0, to ask),
 * the result is ENGINE_RECORDS_SPACE with *written set to the size the records need. */
int engine_records_seal_messages(engine_record_key *key, const unsigned char *in, size_t in_len,
                                 const uint64_t *lengths, size_t count, int content_type,
                                 size_t pad_to, unsigned char *out, size_t out_cap, int threads,
                                 size_t *written);

/* Open the complete application_data records at the front of `in` into `out`, plaintexts one
 * after another. Stops at an incomplete record, before a record of another outer type, after a
 * record whose inner type is not 23, and before a record whose plaintext does not fit
 * (ENGINE_RECORDS_SPACE if that is the first). segments receives (content type, offset, length)
 * triples, at most max_segments records are opened. *records and *consumed count what was
 * opened, also when an error stops the call at record index *records; no plaintext of a record
 * that fails is left in `out`. */
int engine_records_open(engine_record_key *key, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_cap,
                        int threads, uint64_t *segments, size_t max_segments,
                        size_t *records, size_t *consumed);

/* The framing-free limit, for measuring only: one AEAD operation over all of `in` with the
 * static IV as nonce and no additional data. It repeats that nonce on every call, so it must
 * never be used with a key that protects traffic. Sealing writes in_len + 16 bytes; opening
 * takes ciphertext || tag. */
int engine_aead_oneshot(engine_record_key *key, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_cap, size_t *written);

/* --- the record layer of a connection ---------------------------------------------------- */

/* What the layer holds, for sizing the buffers handed to take and read. Read without the
 * layer's lock, so only a hint: every call checks the sizes it is given. */
typedef struct engine_record_layer_sizes {
    size_t to_send;  /* bytes of records waiting for engine_record_layer_take */
    size_t received; /* bytes received and not yet read */
} engine_record_layer_sizes;

/* What one engine_record_layer_read found. The application data comes first in `out`
 * (data_len bytes, from data_records records, some of which may be empty); a record handed
 * over (the read returned ENGINE_RECORDS_RECORD) follows it. */
typedef struct engine_record_read {
    size_t data_len;
    size_t data_records;
    int record_type;      /* the handed-over record's content type */
    int record_protected; /* 1 if it was protected (then record_type is its inner type) */
    int record_complete;  /* 0 if only its header has arrived (plaintext records only) */
    size_t record_offset; /* where its payload starts in `out` (complete records) */
    size_t record_length; /* its payload length; the length in its header if incomplete */
    size_t stop_length;   /* the header length of the record an error stopped at */
} engine_record_read;

engine_record_layer *engine_record_layer_new(void);
void engine_record_layer_free(engine_record_layer *layer);
const engine_record_layer_sizes *engine_record_layer_sizes_of(engine_record_layer *layer);

/* Protect what is written from now on (write 1) or what is read from now on (write 0) with a
 * new key, sequence numbers from zero. After `update_after` records (0: never) a write returns
 * ENGINE_RECORDS_UPDATE: the key is near its usage limit (RFC 8446 section 5.5). */
int engine_record_layer_set_key(engine_record_layer *layer, int write, int suite,
                                const unsigned char *key, size_t key_len,
                                const unsigned char *iv, size_t iv_len, uint64_t update_after);

/* Records of at most `max_fragment` content bytes (1 to 2^14), inner plaintexts padded to a
 * multiple of `pad_to` (0: none). */
int engine_record_layer_set_limits(engine_record_layer *layer, size_t max_fragment,
                                   size_t pad_to);

/* Append the records carrying `data` to the bytes to send: protected with the write key as
 * inner content type `content_type`, or TLSPlaintext records of that type when no write key
 * is set. Nothing is appended if an error is returned. */
int engine_record_layer_write(engine_record_layer *layer, int content_type,
                              const unsigned char *data, size_t len);

/* Append TLSPlaintext records (section 5.1) whatever the keys: legacy_record_version `version`
 * (0x0303, or 0x0301 for an initial ClientHello), fragments of at most 2^14 bytes. */
int engine_record_layer_write_plaintext(engine_record_layer *layer, int content_type,
                                        const unsigned char *data, size_t len, int version);

/* Move up to `cap` bytes to send into `out`, oldest first; returns the bytes moved, or a
 * negative ENGINE_RECORDS_E* code. */
int64_t engine_record_layer_take(engine_record_layer *layer, unsigned char *out, size_t cap);

/* Add `len` received bytes and read the records now complete. Every protected
 * application_data record in a row is opened into `out`; the read stops (ENGINE_RECORDS_RECORD)
 * to hand over any other record: one whose inner content type is not application_data, or one
 * that is not protected (no read key, or an outer type other than application_data), as soon
 * as its header has arrived. Returns ENGINE_RECORDS_OK when no complete record is left, or the
 * error that stopped the read (AUTH, OVERFLOW, UNEXPECTED, SEQ: the record stays unread, its
 * header length in stop_length; SPACE if `out` could not hold the next record, which stays
 * unread). `out_cap` of the bytes received and not yet read (sizes.received + len) is always
 * enough. The bytes are kept either way; on a negative code nothing was added or read. */
int engine_record_layer_read(engine_record_layer *layer, const unsigned char *data, size_t len,
                             unsigned char *out, size_t out_cap, engine_record_read *result);

/* The sequence number of the next record written (write 1) or read (write 0): returns 0, 1 if
 * every number of that key is used (2^64), or ENGINE_RECORDS_EINVAL if no key is set. */
int engine_record_layer_seq(engine_record_layer *layer, int write, uint64_t *seq);

/* Drop the complete record at the front of the received bytes, unread (rejected early data,
 * RFC 8446 section 4.2.10). ENGINE_RECORDS_EINVAL if no complete record is there. */
int engine_record_layer_skip_record(engine_record_layer *layer);

#endif
