#ifndef ENGINE_VERIFY_H
#define ENGINE_VERIFY_H

#include <stddef.h>

/* Batch certificate-chain verification over libcrypto's X509_STORE (engine.verify).
 *
 * A store holds the trust anchors and the CRLs, parsed once and kept for later batches.
 * Certificates are passed as opaque handles (X509 objects) that the batch call parses from
 * DER where a handle is NULL, so a caller can keep parsed certificates across calls. */

typedef struct engine_verify_store engine_verify_store;

/* Codes of the project's own checks, beside OpenSSL's X509_V_ERR_* values (all below 1000). */
enum {
    ENGINE_VERIFY_REVOKED = 1001,
    ENGINE_VERIFY_CRL_MISSING = 1002,
    ENGINE_VERIFY_CRL_BAD_SIGNATURE = 1003,
    ENGINE_VERIFY_CRL_NO_CRL_SIGN = 1004,
    ENGINE_VERIFY_CRL_EXPIRED = 1005,
    ENGINE_VERIFY_CRL_NOT_YET_VALID = 1006,
    ENGINE_VERIFY_CRL_NO_NUMBER = 1007,
    ENGINE_VERIFY_CRL_NUMBER_CRITICAL = 1008,
    ENGINE_VERIFY_CRL_CRITICAL_EXTENSION = 1009,
    ENGINE_VERIFY_CRL_NO_NEXT_UPDATE = 1010,
    ENGINE_VERIFY_CRL_MALFORMED = 1011,
    ENGINE_VERIFY_MALFORMED = 1020,
    ENGINE_VERIFY_NO_SERVER_NAME = 1021,
    ENGINE_VERIFY_BAD_NAME = 1022,
    ENGINE_VERIFY_EMPTY_CHAIN = 1023,
    ENGINE_VERIFY_UNUSABLE_NAME = 1024,
    ENGINE_VERIFY_WEAK_KEY = 1040,
    ENGINE_VERIFY_FORBIDDEN_KEY = 1041,
    ENGINE_VERIFY_BAD_SERIAL = 1042,
    ENGINE_VERIFY_EKU_MISSING = 1043,
    ENGINE_VERIFY_EKU_CRITICAL = 1044,
    ENGINE_VERIFY_EKU_ANY = 1045,
    ENGINE_VERIFY_CN_NOT_IN_SAN = 1046,
    ENGINE_VERIFY_ANCHOR_AKI = 1047,
    ENGINE_VERIFY_ANCHOR_EKU = 1048,
    ENGINE_VERIFY_LEAF_IS_CA = 1049,
    ENGINE_VERIFY_LEAF_NAME_CONSTRAINTS = 1050,
    ENGINE_VERIFY_SAN_CRITICAL = 1051,
    ENGINE_VERIFY_BAD_DNS_NAME = 1052,
    ENGINE_VERIFY_BAD_EXTENSION = 1053,
    ENGINE_VERIFY_EMPTY_NAME_CONSTRAINTS = 1054,
    ENGINE_VERIFY_BAD_ADDRESS = 1055,
    ENGINE_VERIFY_INTERCHANGEABLE = 1056,
    ENGINE_VERIFY_INTERNAL = 1030
};

/* A built path's entry that is neither a presented certificate nor a trust anchor. */
enum { ENGINE_VERIFY_PATH_UNKNOWN = -1000000 };

/* Options of engine_verify_batch, for measuring what the batch shortcuts buy: leave the
 * signature and validity step to OpenSSL (no signature shared across chains), or the
 * revocation check (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, every CRL re-checked
 * for every chain), or verify every signature again instead of consulting the memo of
 * signatures verified by earlier calls. Verdicts may differ in detail; the default (0) is what engine.verify uses. */
enum {
    ENGINE_VERIFY_OPENSSL_SIGNATURES = 1,
    ENGINE_VERIFY_OPENSSL_CRLS = 2,
    ENGINE_VERIFY_NO_SIGNATURE_MEMO = 4
};

/* The outcome for one chain. */
typedef struct {
    int code;             /* 0: valid; else an X509_V_ERR_* value or an ENGINE_VERIFY_* code */
    int depth;            /* position in the built chain of the certificate at fault, or -1 */
    int chain_len;        /* entries written to this chain's part of paths */
    int crl_reason;       /* CRLReason of a revoked certificate, -1 when absent */
    long long revoked_at; /* its revocationDate, seconds since 1970 (UTC) */
} engine_verify_result;

/* Builds a store from DER trust anchors and DER CRLs. Returns NULL on failure; then
 * *bad_index is the index of the unreadable anchor, or n_anchors + the index of the CRL,
 * or -1 when memory ran out. */
engine_verify_store *engine_verify_store_new(const unsigned char *const *anchor_ders,
                                             const size_t *anchor_lens, size_t n_anchors,
                                             const unsigned char *const *crl_ders,
                                             const size_t *crl_lens, size_t n_crls,
                                             int *bad_index);
void engine_verify_store_free(engine_verify_store *store);

/* A batch of chains. Certificate i is certs[i], an X509 handle, or when that is NULL the
 * DER in der[der_offsets[i] .. der_offsets[i + 1]), parsed by the call and its handle written
 * back (still NULL when the DER cannot be read). Chain c is made of
 * certs[members[starts[c]]] ... certs[members[starts[c + 1] - 1]], leaf first. names: NULL,
 * or n_chains NUL-terminated names back to back in names_len bytes, chain c's name the c-th;
 * unnamed: NULL, or per chain 1 when it has no name (its entry in names is then empty). */
typedef struct {
    void **certs;
    size_t n_certs;
    const unsigned char *der;
    const size_t *der_offsets; /* n_certs + 1 entries, or NULL when every handle is set */
    size_t der_len;
    const size_t *starts;      /* n_chains + 1 entries */
    const unsigned int *members;
    size_t n_chains;
    const char *names;
    size_t names_len;
    const unsigned char *unnamed;
} engine_verify_chains;

/* How a batch is verified. at: seconds since 1970 (UTC); purpose: 0 server, 1 client;
 * max_depth: the most intermediates (0 to 64); check_crls: non-zero to check every
 * certificate of the path but the anchor against the store's CRLs; threads: 1 to 256 (more
 * are cut to 256, fewer to 1); options: 0 or ENGINE_VERIFY_OPENSSL_* bits. */
typedef struct {
    long long at;
    int purpose;
    int max_depth;
    int check_crls;
    int threads;
    int options;
} engine_verify_params;

/* Verifies the chains against the store on params->threads threads, without the GIL.
 *
 * results has n_chains entries. paths has paths_len ints, at least starts[n_chains] + n_chains:
 * chain c's built path goes to paths[starts[c] + c ...], at most its member count plus one
 * entries (results[c].chain_len of them), each an index into certs (>= 0), -(k+1) for trust
 * anchor k, or ENGINE_VERIFY_PATH_UNKNOWN for one that is neither. A name that is not a usable DNS name (LDH
 * labels, an underscore let through) or IP address gives ENGINE_VERIFY_UNUSABLE_NAME with
 * no path. Returns 0, or -1 when the arguments are inconsistent or memory ran out. */
int engine_verify_batch(engine_verify_store *store, const engine_verify_chains *chains,
                        const engine_verify_params *params, engine_verify_result *results,
                        int *paths, size_t paths_len);

/* Frees a certificate handle returned through engine_verify_batch (NULL is ignored). */
void engine_verify_cert_free(void *cert);

/* The memo of verified signatures shared by all batches: keyed by SHA-256 of the signed
 * certificate's DER and SHA-256 of the issuer's SubjectPublicKeyInfo DER, bounded, guarded by
 * a lock. Cleared (with its counters) by engine_verify_memo_clear; hits and misses since. */
void engine_verify_memo_clear(void);
void engine_verify_memo_stats(unsigned long long *hits, unsigned long long *misses);

/* OpenSSL's sentence for an X509_V_ERR_* value. */
const char *engine_verify_error_string(int code);

/* The bench's lower bound: verifies subjects[i]'s signature under issuers[i]'s key for every i,
 * and each of the store's CRLs under crl_issuers[k]'s key (NULL entries skipped), back to back
 * on `threads` threads. Returns the number of signatures that did not verify, or -1. */
long engine_verify_signatures(engine_verify_store *store, void *const *subjects,
                              void *const *issuers, size_t n, void *const *crl_issuers,
                              size_t n_crl_issuers, int threads);

#endif
