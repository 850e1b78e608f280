#ifndef ENGINE_VERIFY_INTERNAL_H
#define ENGINE_VERIFY_INTERNAL_H

/* What the batch verification sources share: the store with its CRL tables, one batch's
 * state, a worker's context, and the functions each source offers the others. Not part of
 * the Python interface (the build leaves *_internal.h out of cffi's cdef). */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "engine_verify.h"

#define MAX_THREADS 256
#define CHUNK 8

/* ---- the store (engine_verify_store.c) */

typedef struct {
    const unsigned char *data;
    int len;
    int negative;
    X509_REVOKED *entry;
} serial_key;

typedef struct {
    X509_CRL *crl;
    int problem; /* a structural fault found when loading, 0 when none */
    long long this_update, next_update;
    serial_key *serials;
    size_t n_serials;
} crl_entry;

struct engine_verify_store {
    X509_STORE *store;
    STACK_OF(X509) *anchor_stack; /* the same anchors, searched without the store's lock */
    X509 **anchors;
    size_t n_anchors;
    crl_entry *crls;
    size_t n_crls;
};

/* ---- one batch */

/* A CRL's verdict per issuer, for this batch: appended under the lock, read without it (an
 * entry is complete before the count that publishes it). */
#define CRL_CHECKS 8

typedef struct {
    X509 *issuer;
    int problem;
} crl_check;

typedef struct {
    pthread_mutex_t lock;
    crl_check checks[CRL_CHECKS];
    atomic_size_t n;
} crl_state;

/* A certificate's checked signature: the issuer it was checked under, with the outcome in the
 * low bit (X509 objects are at least 2-byte aligned); 0 when not checked yet. */
typedef atomic_uintptr_t sig_state;

typedef struct {
    engine_verify_store *store;
    X509 **certs;
    const unsigned char *der;
    const size_t *der_offsets;
    size_t n_certs;
    const size_t *starts;
    const unsigned int *members;
    size_t n_chains;
    const char **names;         /* per chain: its name, or NULL */
    long long at;
    int purpose, max_depth, check_crls, options;
    engine_verify_result *results;
    int *paths;
    atomic_size_t next;
    sig_state *sigs;
    crl_state *crl_states;
} batch;

/* What the verify step needs about the chain being checked. */
typedef struct {
    batch *b;
    const unsigned int *members;
    size_t n_members;
    const char *name; /* the name asked for, or NULL */
    int name_kind;    /* 0 none, 1 DNS, 2 IP address */
} job;
typedef struct {
    batch *b;
    X509_STORE_CTX *ctx;
    STACK_OF(X509) *untrusted;
    STACK_OF(X509) *trusted;
} worker;

/* engine_verify_facts.c: what is computed once per certificate. */
typedef struct {
    unsigned char der_sha256[32];  /* SHA-256 of the certificate's DER */
    unsigned char spki_sha256[32]; /* SHA-256 of its SubjectPublicKeyInfo DER */
    int has_hashes;                /* 0 when either could not be computed */
    long long not_before, not_after; /* the validity period, seconds since 1970 (UTC) */
    int has_not_before, has_not_after; /* 0 when that time cannot be read */
    /* The project's rules on this certificate (engine_verify_rules.c), each 0 or a code: */
    int key_fault;                 /* the key rule, wherever it sits in a path */
    int serial_fault;              /* below the top of a path */
    int name_constraints_fault;    /* as a CA: empty nameConstraints */
    int leaf_fault;                /* as a leaf: the end-entity profile (cA aside) */
    int leaf_is_ca;                /* as a leaf: 1 when it asserts cA */
    int eku_fault;                 /* as a leaf: its extendedKeyUsage's form */
    int common_name_fault;         /* as a server leaf: CABF BR 7.1.4.3 */
    int server_identity;           /* as a leaf: 1 when it has a DNS or IP subjectAltName */
    int bad_address;               /* as a leaf: engine_verify_bad_address */
    int root_fault;                /* as a self-issued top of a path: its AKI or an EKU */
    int self_issued;               /* 1 when its subject is its issuer */
} cert_facts;

/* Attaches x's facts (der/len: its DER, or NULL to encode it); call while x has one owner. */
void engine_verify_attach_facts(X509 *x, const unsigned char *der, size_t len);

/* x's facts: those attached, else computed into scratch. */
const cert_facts *engine_verify_facts(X509 *x, cert_facts *scratch);

/* engine_verify_rules.c: the key rule (CABF BR 6.1.5), 0 or an ENGINE_VERIFY_* code; and
 * every rule fact of a certificate (all but the hashes), computed into f. */
int engine_verify_key_fault(X509 *x);
void engine_verify_rule_facts(X509 *x, cert_facts *f);

/* engine_verify_store.c: an ASN1_TIME as seconds since 1970 (UTC); 0 when unreadable. */
int engine_verify_time_epoch(const ASN1_TIME *t, long long *out);

/* engine_verify_store.c: every certificate of the path but the trust anchor, against its
 * issuer's CRLs (RFC 5280 6.3); sets r's code, depth and revocation details on a fault. */
void engine_verify_check_revocation(batch *b, STACK_OF(X509) *chain, engine_verify_result *r);

/* engine_verify_memo.c: subject's signature under issuer's key, once per batch for a batch
 * certificate, else from the memo across batches or verified now. */
int engine_verify_signature_valid(const job *j, X509 *subject, X509 *issuer, EVP_PKEY *key);

/* engine_verify_rules.c: whether a leaf has a DNS or IP subjectAltName; the first Web PKI
 * rule a path OpenSSL accepted breaks (0 when none), with the depth at fault. */
int engine_verify_has_server_identity(X509 *leaf);

/* engine_verify_rules.c: whether the leaf has an iPAddress subjectAltName that is not an
 * address of 4 or 16 octets (a network, RFC 5280 4.2.1.6: 8 or 32 octets belong in name
 * constraints only), or a subjectAltName that cannot be decoded. */
int engine_verify_bad_address(X509 *leaf);

/* engine_verify_rules.c: whether more than MAX_INTERCHANGEABLE of the n presented
 * certificates certs[members[0..n)] share one subject and one key (engine/verify/rules.py's
 * bound on path building: each could stand for any other). */
#define MAX_INTERCHANGEABLE 8
int engine_verify_interchangeable(X509 *const *certs, const unsigned int *members, size_t n);

/* engine_verify_rules.c: 1 when name is a DNS name (LDH labels of 1 to 63 characters, an
 * underscore let through, at most 253 in all), 2 when it is an IPv4 address in dotted
 * decimal or an IPv6 address without a zone, 0 when it is neither (engine.verify.api's
 * usable_name). */
int engine_verify_name_kind(const char *name);
int engine_verify_webpki_fault(const batch *b, STACK_OF(X509) *chain, int *depth);

/* engine_verify_paths.c: after OpenSSL's single path (`chain`, in the worker's context)
 * failed, looks for another path; cleans the context up first. Returns 1 when a path
 * verified, the context then set up with it, else 0. */
int engine_verify_other_path(worker *w, job *j, size_t c, X509 *leaf, STACK_OF(X509) *chain);

/* engine_verify.c: the index into the batch's certificates of a member of j's chain, or -1;
 * the worker's context set up for one attempt (1), or 0 when the name cannot be used, -1 on
 * failure; fn run on `threads` threads, the calling one included, each given its own
 * arg_size-byte slot of args. */
int engine_verify_cert_index(const job *j, const X509 *x);
int engine_verify_prepare(worker *w, job *j, size_t c, X509 *leaf);
int engine_verify_run_threads(void *(*fn)(void *), void *args, size_t arg_size, int threads);

#endif
