/* Batch certificate-chain verification for engine.verify.
 *
 * Path building, extension, key-strength, name and purpose checks are OpenSSL's own
 * (X509_verify_cert with X509_V_FLAG_X509_STRICT, authentication level 2). Three parts are
 * done here instead, because OpenSSL would repeat them for every chain of a batch:
 *
 * - signatures and validity periods (the store context's `verify` step): each distinct
 *   (certificate, issuer) signature is verified once per batch and the result shared;
 * - revocation (RFC 5280 6.3): each CRL is checked once per batch and issuer (signature,
 *   the issuer's cRLSign usage, time window) and its serials are looked up by binary search
 *   in a table sorted when the store is built, rather than letting OpenSSL re-verify and
 *   re-hash every CRL for every chain;
 * - parsing: certificates are parsed once, in parallel, and the caller keeps the handles.
 *
 * The batch runs on worker threads, each with its own X509_STORE_CTX; no Python object is
 * touched, so the binding releases the GIL around the call. */

#define _DEFAULT_SOURCE 1 /* inet_aton */

#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "engine_verify.h"

#define MAX_THREADS 256
#define CHUNK 8
#define SMALL_TRUST_STORE 16
#define UNKNOWN_CERT (-1000000)

/* ------------------------------------------------------------------ time */

static long long days_from_civil(long long y, int m, int d)
{
    /* Days since 1970-01-01 of a proleptic Gregorian date. */
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int asn1_time_epoch(const ASN1_TIME *t, long long *out)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    *out = days_from_civil((long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400
           + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return 1;
}

/* ------------------------------------------------------------------ store and CRLs */

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

static int serial_compare(const void *a, const void *b)
{
    const serial_key *x = a, *y = b;
    if (x->negative != y->negative)
        return x->negative - y->negative;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->len ? memcmp(x->data, y->data, (size_t)x->len) : 0;
}

static void serial_of(const ASN1_INTEGER *serial, serial_key *key)
{
    key->data = ASN1_STRING_get0_data(serial);
    key->len = ASN1_STRING_length(serial);
    key->negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
    key->entry = NULL;
}

static int crl_structural_problem(X509_CRL *crl)
{
    int number_seen = 0;
    int count = X509_CRL_get_ext_count(crl);
    for (int i = 0; i < count; i++) {
        X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        int critical = X509_EXTENSION_get_critical(ext);
        if (nid == NID_crl_number) {
            if (critical)
                return ENGINE_VERIFY_CRL_NUMBER_CRITICAL;
            number_seen = 1;
        } else if (critical && nid != NID_authority_key_identifier && nid != NID_issuer_alt_name
                   && nid != NID_info_access) {
            return ENGINE_VERIFY_CRL_CRITICAL_EXTENSION;
        }
    }
    if (!number_seen)
        return ENGINE_VERIFY_CRL_NO_NUMBER;
    if (X509_CRL_get0_nextUpdate(crl) == NULL)
        return ENGINE_VERIFY_CRL_NO_NEXT_UPDATE;
    return 0;
}

static int crl_entry_load(crl_entry *entry, const unsigned char *der, size_t len)
{
    memset(entry, 0, sizeof(*entry));
    if (der == NULL || len == 0 || len > LONG_MAX)
        return 0;
    const unsigned char *p = der;
    entry->crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (entry->crl == NULL || p != der + len)
        return 0;
    entry->problem = crl_structural_problem(entry->crl);
    if (!asn1_time_epoch(X509_CRL_get0_lastUpdate(entry->crl), &entry->this_update))
        entry->problem = entry->problem ? entry->problem : ENGINE_VERIFY_CRL_MALFORMED;
    if (X509_CRL_get0_nextUpdate(entry->crl) != NULL
        && !asn1_time_epoch(X509_CRL_get0_nextUpdate(entry->crl), &entry->next_update))
        entry->problem = entry->problem ? entry->problem : ENGINE_VERIFY_CRL_MALFORMED;
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(entry->crl);
    int n = revoked ? sk_X509_REVOKED_num(revoked) : 0;
    if (n > 0) {
        entry->serials = calloc((size_t)n, sizeof(serial_key));
        if (entry->serials == NULL)
            return -1;
        for (int i = 0; i < n; i++) {
            X509_REVOKED *r = sk_X509_REVOKED_value(revoked, i);
            serial_of(X509_REVOKED_get0_serialNumber(r), &entry->serials[i]);
            entry->serials[i].entry = r;
        }
        entry->n_serials = (size_t)n;
        qsort(entry->serials, entry->n_serials, sizeof(serial_key), serial_compare);
    }
    return 1;
}

void engine_verify_store_free(engine_verify_store *store)
{
    if (store == NULL)
        return;
    X509_STORE_free(store->store);
    sk_X509_free(store->anchor_stack);
    for (size_t i = 0; i < store->n_anchors; i++)
        X509_free(store->anchors[i]);
    free(store->anchors);
    for (size_t i = 0; i < store->n_crls; i++) {
        X509_CRL_free(store->crls[i].crl);
        free(store->crls[i].serials);
    }
    free(store->crls);
    free(store);
}

engine_verify_store *engine_verify_store_new(const unsigned char *const *anchor_ders,
                                             const size_t *anchor_lens, size_t n_anchors,
                                             const unsigned char *const *crl_ders,
                                             const size_t *crl_lens, size_t n_crls,
                                             int *bad_index)
{
    if (bad_index == NULL)
        return NULL;
    *bad_index = -1;
    if (n_anchors > INT_MAX / 2 || n_crls > INT_MAX / 2
        || (n_anchors && (anchor_ders == NULL || anchor_lens == NULL))
        || (n_crls && (crl_ders == NULL || crl_lens == NULL)))
        return NULL;
    engine_verify_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->store = X509_STORE_new();
    s->anchor_stack = sk_X509_new_null();
    s->anchors = calloc(n_anchors ? n_anchors : 1, sizeof(X509 *));
    s->crls = calloc(n_crls ? n_crls : 1, sizeof(crl_entry));
    if (s->store == NULL || s->anchor_stack == NULL || s->anchors == NULL || s->crls == NULL)
        goto fail;
    for (size_t i = 0; i < n_anchors; i++) {
        const unsigned char *p = anchor_ders[i];
        size_t len = anchor_lens[i];
        X509 *x = p != NULL && len && len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
        if (x == NULL || p != anchor_ders[i] + len) {
            X509_free(x);
            *bad_index = (int)i;
            goto fail;
        }
        s->anchors[s->n_anchors++] = x;
        if (!X509_STORE_add_cert(s->store, x) || !sk_X509_push(s->anchor_stack, x))
            goto fail;
    }
    for (size_t i = 0; i < n_crls; i++) {
        int loaded = crl_entry_load(&s->crls[i], crl_ders[i], crl_lens[i]);
        s->n_crls = i + 1;
        if (loaded <= 0) {
            if (loaded == 0)
                *bad_index = (int)(n_anchors + i);
            goto fail;
        }
        /* Consulted only under ENGINE_VERIFY_OPENSSL_CRLS. */
        if (!X509_STORE_add_crl(s->store, s->crls[i].crl))
            goto fail;
    }
    ERR_clear_error();
    return s;
fail:
    ERR_clear_error();
    engine_verify_store_free(s);
    return NULL;
}

void engine_verify_cert_free(void *cert) { X509_free((X509 *)cert); }

const char *engine_verify_error_string(int code) { return X509_verify_cert_error_string(code); }

/* ------------------------------------------------------------------ one batch */

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
    const unsigned char *const *ders;
    const size_t *der_lens;
    size_t n_certs;
    const size_t *starts;
    const unsigned int *members;
    size_t n_chains;
    const char *const *names;
    const unsigned char *name_kinds;
    long long at;
    int purpose, max_depth, check_crls, options;
    engine_verify_result *results;
    int *chain_out;
    size_t chain_stride;
    atomic_size_t next;
    sig_state *sigs;
    crl_state *crl_states;
} batch;

/* What the verify step needs about the chain being checked. */
typedef struct {
    batch *b;
    const unsigned int *members;
    size_t n_members;
} job;

static int cert_index(const job *j, const X509 *x)
{
    for (size_t i = 0; i < j->n_members; i++)
        if (j->b->certs[j->members[i]] == x)
            return (int)j->members[i];
    return -1;
}

/* ---- signatures remembered across batches
 *
 * A signature is a pure function of the signed certificate's bytes and the issuer's
 * SubjectPublicKeyInfo, so its outcome is remembered under SHA-256 of the certificate's DER
 * and SHA-256 of the issuer's SubjectPublicKeyInfo DER, in a fixed table shared by every
 * batch and thread (one lock; a slot is overwritten by the next key that maps to it). Only
 * the signature is remembered: validity periods, names, usages, constraints and revocation
 * are checked on every call. */

#define MEMO_SLOTS 4096 /* a power of two */
#define MEMO_KEY 64

typedef struct {
    unsigned char key[MEMO_KEY];
    unsigned char used, valid;
} memo_slot;

static memo_slot memo_table[MEMO_SLOTS];
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static unsigned long long memo_hits, memo_misses;

/* A process that forks while another thread holds the lock must not hand the child a lock
 * nobody will release: the lock is taken around fork() and released on both sides. */
static void memo_before_fork(void) { pthread_mutex_lock(&memo_lock); }
static void memo_after_fork(void) { pthread_mutex_unlock(&memo_lock); }
static void memo_setup(void) { pthread_atfork(memo_before_fork, memo_after_fork, memo_after_fork); }

static void memo_acquire(void)
{
    pthread_once(&memo_once, memo_setup);
    pthread_mutex_lock(&memo_lock);
}

/* The memo key of (subject, issuer key); 0 when it cannot be computed. */
static int memo_key(X509 *subject, X509 *issuer, unsigned char key[MEMO_KEY])
{
    unsigned int len = 0;
    if (!X509_digest(subject, EVP_sha256(), key, &len) || len != 32)
        return 0;
    X509_PUBKEY *spki = X509_get_X509_PUBKEY(issuer);
    unsigned char *der = NULL;
    int der_len = spki != NULL ? i2d_X509_PUBKEY(spki, &der) : -1;
    int done = der_len > 0 && EVP_Digest(der, (size_t)der_len, key + 32, &len, EVP_sha256(), NULL)
               && len == 32;
    OPENSSL_free(der);
    return done;
}

static size_t memo_index(const unsigned char key[MEMO_KEY])
{
    size_t h = 0;
    memcpy(&h, key, sizeof(h) < 8 ? sizeof(h) : 8);
    h ^= (size_t)key[32] | (size_t)key[33] << 8 | (size_t)key[34] << 16;
    return h & (MEMO_SLOTS - 1);
}

/* 1 valid, 0 invalid, -1 not remembered. */
static int memo_get(const unsigned char key[MEMO_KEY])
{
    int found = -1;
    memo_slot *slot = &memo_table[memo_index(key)];
    memo_acquire();
    if (slot->used && memcmp(slot->key, key, MEMO_KEY) == 0)
        found = slot->valid;
    if (found < 0)
        memo_misses++;
    else
        memo_hits++;
    pthread_mutex_unlock(&memo_lock);
    return found;
}

static void memo_put(const unsigned char key[MEMO_KEY], int valid)
{
    memo_slot *slot = &memo_table[memo_index(key)];
    memo_acquire();
    memcpy(slot->key, key, MEMO_KEY);
    slot->valid = (unsigned char)(valid != 0);
    slot->used = 1;
    pthread_mutex_unlock(&memo_lock);
}

void engine_verify_memo_clear(void)
{
    memo_acquire();
    memset(memo_table, 0, sizeof(memo_table));
    memo_hits = memo_misses = 0;
    pthread_mutex_unlock(&memo_lock);
}

void engine_verify_memo_stats(unsigned long long *hits, unsigned long long *misses)
{
    memo_acquire();
    if (hits != NULL)
        *hits = memo_hits;
    if (misses != NULL)
        *misses = memo_misses;
    pthread_mutex_unlock(&memo_lock);
}

/* subject's signature under issuer's key, from the memo or verified now (and remembered). */
static int signature_check(const job *j, X509 *subject, X509 *issuer, EVP_PKEY *key)
{
    if (j->b->options & ENGINE_VERIFY_NO_SIGNATURE_MEMO)
        return X509_verify(subject, key) > 0;
    unsigned char memo[MEMO_KEY];
    if (!memo_key(subject, issuer, memo)) {
        ERR_clear_error();
        return X509_verify(subject, key) > 0;
    }
    int known = memo_get(memo);
    if (known >= 0)
        return known;
    int valid = X509_verify(subject, key) > 0;
    memo_put(memo, valid);
    return valid;
}

/* Verifies subject's signature under issuer's key, once per batch for a batch certificate. */
static int signature_valid(const job *j, X509 *subject, X509 *issuer, EVP_PKEY *key)
{
    int index = cert_index(j, subject);
    if (index < 0)
        return signature_check(j, subject, issuer, key);
    sig_state *slot = &j->b->sigs[index];
    uintptr_t seen = atomic_load_explicit(slot, memory_order_acquire);
    if (seen != 0 && (X509 *)(seen & ~(uintptr_t)1) == issuer)
        return (int)(seen & 1);
    int valid = signature_check(j, subject, issuer, key);
    atomic_store_explicit(slot, (uintptr_t)issuer | (uintptr_t)valid, memory_order_release);
    return valid;
}

static int report(X509_STORE_CTX *ctx, X509 *cert, int depth, int err)
{
    X509_STORE_CTX_set_error(ctx, err);
    X509_STORE_CTX_set_error_depth(ctx, depth);
    X509_STORE_CTX_set_current_cert(ctx, cert);
    X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);
    return cb != NULL ? cb(0, ctx) : 0;
}

static int check_time(X509_STORE_CTX *ctx, X509 *x, int depth, long long at)
{
    long long not_before, not_after;
    if (!asn1_time_epoch(X509_get0_notBefore(x), &not_before)) {
        if (!report(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD))
            return 0;
    } else if (at < not_before && !report(ctx, x, depth, X509_V_ERR_CERT_NOT_YET_VALID)) {
        return 0;
    }
    if (!asn1_time_epoch(X509_get0_notAfter(x), &not_after)) {
        if (!report(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD))
            return 0;
    } else if (at > not_after && !report(ctx, x, depth, X509_V_ERR_CERT_HAS_EXPIRED)) {
        return 0;
    }
    return 1;
}

/* The store context's verify step: signatures and validity periods, top of the chain
 * down, in the order and with the error codes of OpenSSL's internal one. */
static int chain_verify(X509_STORE_CTX *ctx)
{
    job *j = X509_STORE_CTX_get_app_data(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int n = sk_X509_num(chain) - 1;
    if (j == NULL || n < 0)
        return -1;
    long long at = j->b->at;
    /* The top of the path is a trust anchor (X509_V_FLAG_PARTIAL_CHAIN: any certificate of
     * the trust store is one, self-signed or not): its own signature is not checked, its
     * validity period is. */
    X509 *xi = sk_X509_value(chain, n);
    X509 *xs = xi;
    while (n >= 0) {
        if (xs != xi) {
            EVP_PKEY *key;
            if ((X509_get_extension_flags(xi) & EXFLAG_KUSAGE) != 0
                && (X509_get_key_usage(xi) & KU_KEY_CERT_SIGN) == 0) {
                if (!report(ctx, xi, n + 1, X509_V_ERR_KEYUSAGE_NO_CERTSIGN))
                    return 0;
            } else if ((key = X509_get0_pubkey(xi)) == NULL) {
                if (!report(ctx, xi, n + 1, X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY))
                    return 0;
            } else if (!signature_valid(j, xs, xi, key)) {
                if (!report(ctx, xs, n, X509_V_ERR_CERT_SIGNATURE_FAILURE))
                    return 0;
            }
        }
        if (!check_time(ctx, xs, n, at))
            return 0;
        if (--n >= 0) {
            xi = xs;
            xs = sk_X509_value(chain, n);
        }
    }
    return 1;
}

/* RFC 5280 6.1.1 (d): a trust anchor is a name and a key; its extensions are not checked
 * against the X.509 strict profile's CA requirements, so a root without keyUsage is
 * still an anchor. Everything else OpenSSL reports stands. */
static int verify_callback(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return ok;
    int depth = X509_STORE_CTX_get_error_depth(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    if (X509_STORE_CTX_get_error(ctx) == X509_V_ERR_CA_CERT_MISSING_KEY_USAGE && chain != NULL
        && depth == sk_X509_num(chain) - 1 && depth >= X509_STORE_CTX_get_num_untrusted(ctx))
        return 1;
    return ok;
}

/* ---- revocation */

static int crl_problem_for(batch *b, size_t k, X509 *issuer)
{
    crl_entry *entry = &b->store->crls[k];
    crl_state *state = &b->crl_states[k];
    size_t known = atomic_load_explicit(&state->n, memory_order_acquire);
    for (size_t i = 0; i < known; i++)
        if (state->checks[i].issuer == issuer)
            return state->checks[i].problem;

    int problem = entry->problem;
    if (problem == 0 && (X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) != 0
        && (X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0)
        problem = ENGINE_VERIFY_CRL_NO_CRL_SIGN;
    if (problem == 0) {
        EVP_PKEY *key = X509_get0_pubkey(issuer);
        if (key == NULL || X509_CRL_verify(entry->crl, key) <= 0)
            problem = ENGINE_VERIFY_CRL_BAD_SIGNATURE;
        ERR_clear_error();
    }

    pthread_mutex_lock(&state->lock);
    size_t n = atomic_load_explicit(&state->n, memory_order_relaxed);
    int seen = 0;
    for (size_t i = 0; i < n; i++)
        seen |= state->checks[i].issuer == issuer;
    if (!seen && n < CRL_CHECKS) { /* beyond that, checked again each time: still right */
        state->checks[n] = (crl_check){issuer, problem};
        atomic_store_explicit(&state->n, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&state->lock);
    return problem;
}

static const X509_REVOKED *crl_lookup(const crl_entry *entry, const ASN1_INTEGER *serial)
{
    serial_key key;
    serial_of(serial, &key);
    const serial_key *hit = entry->n_serials
        ? bsearch(&key, entry->serials, entry->n_serials, sizeof(serial_key), serial_compare)
        : NULL;
    return hit ? hit->entry : NULL;
}

static void revoked_details(const X509_REVOKED *revoked, engine_verify_result *r)
{
    int critical = 0;
    ASN1_ENUMERATED *reason =
        X509_REVOKED_get_ext_d2i(revoked, NID_crl_reason, &critical, NULL);
    r->crl_reason = reason ? (int)ASN1_ENUMERATED_get(reason) : -1;
    ASN1_ENUMERATED_free(reason);
    long long when = 0;
    r->revoked_at = asn1_time_epoch(X509_REVOKED_get0_revocationDate(revoked), &when) ? when : 0;
}

/* Every certificate of the path but the trust anchor, against its issuer's CRLs. */
static void check_revocation(batch *b, STACK_OF(X509) *chain, engine_verify_result *r)
{
    int num = sk_X509_num(chain);
    engine_verify_store *s = b->store;
    for (int i = 0; i + 1 < num; i++) {
        X509 *subject = sk_X509_value(chain, i);
        X509 *issuer = sk_X509_value(chain, i + 1);
        const X509_NAME *issuer_name = X509_get_issuer_name(subject);
        int found = 0, usable = 0, first_problem = 0;
        for (size_t k = 0; k < s->n_crls; k++) {
            crl_entry *entry = &s->crls[k];
            if (X509_NAME_cmp(X509_CRL_get_issuer(entry->crl), issuer_name) != 0)
                continue;
            found = 1;
            int problem = crl_problem_for(b, k, issuer);
            if (problem == 0 && b->at < entry->this_update)
                problem = ENGINE_VERIFY_CRL_NOT_YET_VALID;
            if (problem == 0 && b->at > entry->next_update)
                problem = ENGINE_VERIFY_CRL_EXPIRED;
            if (problem != 0) {
                if (first_problem == 0)
                    first_problem = problem;
                continue;
            }
            usable = 1;
            const X509_REVOKED *hit = crl_lookup(entry, X509_get0_serialNumber(subject));
            if (hit != NULL) {
                r->code = ENGINE_VERIFY_REVOKED;
                r->depth = i;
                revoked_details(hit, r);
                return;
            }
        }
        if (!found || !usable) {
            r->code = found ? first_problem : ENGINE_VERIFY_CRL_MISSING;
            r->depth = i;
            return;
        }
    }
}

/* ---- names */

static int has_server_identity(X509 *leaf)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int found = 0;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        int type = sk_GENERAL_NAME_value(names, i)->type;
        if (type == GEN_DNS || type == GEN_IPADD)
            found = 1;
    }
    GENERAL_NAMES_free(names);
    return found;
}

/* ---- the worker */

/* ---- the project's Web PKI rules, on a path OpenSSL accepted (engine/verify/rules.py) */

static int key_fault(X509 *x)
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    if (key == NULL)
        return ENGINE_VERIFY_FORBIDDEN_KEY;
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS: {
        int bits = EVP_PKEY_get_bits(key);
        return bits < 2048 || bits % 8 != 0 ? ENGINE_VERIFY_WEAK_KEY : 0;
    }
    case EVP_PKEY_EC: {
        char group[64];
        size_t len = 0;
        if (!EVP_PKEY_get_group_name(key, group, sizeof(group), &len))
            return ENGINE_VERIFY_FORBIDDEN_KEY;
        return strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0
                       || strcmp(group, "secp521r1") == 0
                   ? 0
                   : ENGINE_VERIFY_FORBIDDEN_KEY;
    }
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
        return 0;
    default:
        return ENGINE_VERIFY_FORBIDDEN_KEY;
    }
}

static int serial_fault(X509 *x)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    const unsigned char *data = ASN1_STRING_get0_data(serial);
    int len = ASN1_STRING_length(serial);
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER || len <= 0 || data == NULL)
        return ENGINE_VERIFY_BAD_SERIAL;
    int nonzero = 0;
    for (int i = 0; i < len; i++)
        nonzero |= data[i];
    if (!nonzero)
        return ENGINE_VERIFY_BAD_SERIAL;
    int encoded = len + ((data[0] & 0x80) ? 1 : 0);
    return encoded > 20 ? ENGINE_VERIFY_BAD_SERIAL : 0;
}

static int eku_fault(X509 *leaf)
{
    int at = X509_get_ext_by_NID(leaf, NID_ext_key_usage, -1);
    if (at < 0)
        return 0;
    if (X509_EXTENSION_get_critical(X509_get_ext(leaf, at)))
        return ENGINE_VERIFY_EKU_CRITICAL;
    if (X509_get_extended_key_usage(leaf) & XKU_ANYEKU)
        return ENGINE_VERIFY_EKU_ANY;
    return 0;
}

/* The text form of an iPAddress SAN: dotted quad, or RFC 5952 for IPv6. */
static int ip_text(const ASN1_OCTET_STRING *ip, char *out, size_t size)
{
    const unsigned char *p = ASN1_STRING_get0_data(ip);
    int len = ASN1_STRING_length(ip);
    if (len == 4) {
        snprintf(out, size, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
        return 1;
    }
    if (len != 16)
        return 0;
    unsigned int words[8];
    for (int i = 0; i < 8; i++)
        words[i] = ((unsigned int)p[2 * i] << 8) | p[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (words[i] != 0) {
            i++;
            continue;
        }
        int k = i;
        while (k < 8 && words[k] == 0)
            k++;
        if (k - i > best_len && k - i >= 2) {
            best = i;
            best_len = k - i;
        }
        i = k;
    }
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            used += (size_t)snprintf(out + used, size - used, "::");
            i += best_len - 1;
            continue;
        }
        used += (size_t)snprintf(out + used, size - used, "%x%s", words[i],
                                 i < 7 && i + 1 != best ? ":" : "");
        if (used >= size)
            return 0;
    }
    return 1;
}

static int ascii_equal_ignoring_case(const unsigned char *a, const unsigned char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* Whether a commonName spells one of the subjectAltNames other than byte for byte:
 * 1 when it denotes one of them in another spelling (case, IP address notation), else 0. */
static int common_name_misspells(const unsigned char *cn, int cn_len, GENERAL_NAMES *names)
{
    char text[64];
    unsigned char address[16];
    int family = 0;
    if (cn_len > 0 && (size_t)cn_len < sizeof(text) && memchr(cn, 0, (size_t)cn_len) == NULL) {
        memcpy(text, cn, (size_t)cn_len);
        text[cn_len] = '\0';
        struct in_addr v4;
        if (inet_pton(AF_INET6, text, address) == 1) {
            family = 16;
        } else if (inet_aton(text, &v4) != 0) {
            memcpy(address, &v4.s_addr, 4);
            family = 4;
        }
    }
    int misspelled = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
        if (entry->type == GEN_DNS) {
            const unsigned char *dns = ASN1_STRING_get0_data(entry->d.dNSName);
            int len = ASN1_STRING_length(entry->d.dNSName);
            if (len != cn_len)
                continue;
            if (memcmp(dns, cn, (size_t)len) == 0)
                return 0;
            misspelled |= ascii_equal_ignoring_case(dns, cn, (size_t)len);
        } else if (entry->type == GEN_IPADD) {
            char canonical[64];
            const ASN1_OCTET_STRING *ip = entry->d.iPAddress;
            if (!ip_text(ip, canonical, sizeof(canonical)))
                continue;
            if (strlen(canonical) == (size_t)cn_len && memcmp(canonical, cn, (size_t)cn_len) == 0)
                return 0;
            misspelled |= family != 0 && ASN1_STRING_length(ip) == family
                          && memcmp(ASN1_STRING_get0_data(ip), address, (size_t)family) == 0;
        }
    }
    return misspelled;
}

/* CABF BR 7.1.4.3: a server leaf's commonName that names one of its subjectAltNames must
 * copy it exactly; a name in another spelling (case, IP address notation) is ambiguous. */
static int common_name_fault(X509 *leaf)
{
    X509_NAME *subject = X509_get_subject_name(leaf);
    int position = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (position < 0)
        return 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    int fault = 0;
    for (; position >= 0 && names != NULL && !fault;
         position = X509_NAME_get_index_by_NID(subject, NID_commonName, position)) {
        ASN1_STRING *value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, position));
        unsigned char *cn = NULL;
        int cn_len = ASN1_STRING_to_UTF8(&cn, value);
        if (cn_len >= 0 && common_name_misspells(cn, cn_len, names))
            fault = ENGINE_VERIFY_CN_NOT_IN_SAN;
        OPENSSL_free(cn);
    }
    GENERAL_NAMES_free(names);
    return fault;
}

/* A root's (a self-issued trust anchor's) authorityKeyIdentifier, when present, is only its
 * own key identifier (CABF BR 7.1.2.1.3). */
static int anchor_aki_fault(X509 *anchor)
{
    if (X509_get_ext_by_NID(anchor, NID_authority_key_identifier, -1) < 0)
        return 0;
    const ASN1_OCTET_STRING *keyid = X509_get0_authority_key_id(anchor);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(anchor);
    if (keyid == NULL || X509_get0_authority_issuer(anchor) != NULL
        || X509_get0_authority_serial(anchor) != NULL
        || (ski != NULL && ASN1_OCTET_STRING_cmp(keyid, ski) != 0))
        return ENGINE_VERIFY_ANCHOR_AKI;
    return 0;
}

/* A DNS name in preferred name syntax (RFC 1034 3.5, RFC 5280 4.2.1.6), a wildcard allowed
 * only as the whole left-most label: letters, digits and hyphens, labels of 1 to 63. */
static int dns_name_valid(const unsigned char *name, int len)
{
    if (len <= 0 || len > 253)
        return 0;
    int start = 0;
    if (len >= 2 && name[0] == '*' && name[1] == '.')
        start = 2;
    int label = 0;
    for (int i = start; i < len; i++) {
        unsigned char c = name[i];
        if (c == '.') {
            if (label == 0 || name[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int digit = c >= '0' && c <= '9';
        if (!letter && !digit && c != '-')
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
    }
    return label > 0 && name[len - 1] != '-';
}

/* The end-entity profile (CABF BR 7.1.2.7) that cryptography's verifier applies and OpenSSL
 * does not: not a CA, no nameConstraints, a subjectAltName marked critical only with an
 * empty subject, DNS names in preferred name syntax, and decodable AIA, CRL distribution
 * points and certificate policies. */
static int leaf_profile_fault(X509 *leaf)
{
    uint32_t flags = X509_get_extension_flags(leaf);
    if ((flags & EXFLAG_BCONS) && (flags & EXFLAG_CA))
        return ENGINE_VERIFY_LEAF_IS_CA;
    if (X509_get_ext_by_NID(leaf, NID_name_constraints, -1) >= 0)
        return ENGINE_VERIFY_LEAF_NAME_CONSTRAINTS;
    int at = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1);
    if (at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(leaf, at))
        && X509_NAME_entry_count(X509_get_subject_name(leaf)) > 0)
        return ENGINE_VERIFY_SAN_CRITICAL;
    if (at >= 0) {
        GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
        int fault = names == NULL ? ENGINE_VERIFY_BAD_EXTENSION : 0;
        for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && !fault; i++) {
            GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, i);
            if (entry->type == GEN_DNS
                && !dns_name_valid(ASN1_STRING_get0_data(entry->d.dNSName),
                                   ASN1_STRING_length(entry->d.dNSName)))
                fault = ENGINE_VERIFY_BAD_DNS_NAME;
        }
        GENERAL_NAMES_free(names);
        if (fault)
            return fault;
    }
    int critical = -1;
    if (X509_get_ext_by_NID(leaf, NID_info_access, -1) >= 0) {
        AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(leaf, NID_info_access, &critical, NULL);
        if (aia == NULL)
            return ENGINE_VERIFY_BAD_EXTENSION;
        AUTHORITY_INFO_ACCESS_free(aia);
    }
    if (X509_get_ext_by_NID(leaf, NID_crl_distribution_points, -1) >= 0) {
        CRL_DIST_POINTS *points = X509_get_ext_d2i(leaf, NID_crl_distribution_points,
                                                   &critical, NULL);
        if (points == NULL)
            return ENGINE_VERIFY_BAD_EXTENSION;
        CRL_DIST_POINTS_free(points);
    }
    if (X509_get_ext_by_NID(leaf, NID_certificate_policies, -1) >= 0) {
        CERTIFICATEPOLICIES *policies = X509_get_ext_d2i(leaf, NID_certificate_policies,
                                                         &critical, NULL);
        if (policies == NULL)
            return ENGINE_VERIFY_BAD_EXTENSION;
        CERTIFICATEPOLICIES_free(policies);
    }
    return 0;
}

/* RFC 5280 4.2.1.10: nameConstraints with neither permitted nor excluded subtrees. */
static int empty_name_constraints(X509 *ca)
{
    if (X509_get_ext_by_NID(ca, NID_name_constraints, -1) < 0)
        return 0;
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(ca, NID_name_constraints, NULL, NULL);
    if (nc == NULL)
        return ENGINE_VERIFY_BAD_EXTENSION;
    int empty = sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) <= 0
                && sk_GENERAL_SUBTREE_num(nc->excludedSubtrees) <= 0;
    NAME_CONSTRAINTS_free(nc);
    return empty ? ENGINE_VERIFY_EMPTY_NAME_CONSTRAINTS : 0;
}

/* The first rule the path breaks, in rules.after's order; 0 when none. */
static int webpki_fault(const batch *b, STACK_OF(X509) *chain, int *depth)
{
    int num = sk_X509_num(chain);
    int code;
    *depth = 0;
    if ((code = leaf_profile_fault(sk_X509_value(chain, 0))) != 0)
        return code;
    for (int i = 1; i < num; i++) {
        if ((code = empty_name_constraints(sk_X509_value(chain, i))) != 0) {
            *depth = i;
            return code;
        }
    }
    for (int i = 0; i < num; i++) {
        if ((code = key_fault(sk_X509_value(chain, i))) != 0) {
            *depth = i;
            return code;
        }
    }
    for (int i = 0; i + 1 < num; i++) {
        if ((code = serial_fault(sk_X509_value(chain, i))) != 0) {
            *depth = i;
            return code;
        }
    }
    X509 *leaf = sk_X509_value(chain, 0);
    *depth = 0;
    if ((code = eku_fault(leaf)) != 0)
        return code;
    if (b->purpose == 0 && (code = common_name_fault(leaf)) != 0)
        return code;
    X509 *anchor = sk_X509_value(chain, num - 1);
    *depth = num - 1;
    int root = num > 1
               && X509_NAME_cmp(X509_get_subject_name(anchor), X509_get_issuer_name(anchor)) == 0;
    if (root && (code = anchor_aki_fault(anchor)) != 0)
        return code;
    if (root && X509_get_ext_by_NID(anchor, NID_ext_key_usage, -1) >= 0)
        return ENGINE_VERIFY_ANCHOR_EKU;
    *depth = -1;
    return 0;
}

/* ---- the worker */

typedef struct {
    batch *b;
    X509_STORE_CTX *ctx;
    STACK_OF(X509) *untrusted;
    STACK_OF(X509) *trusted;
} worker;

static void write_chain(batch *b, size_t c, STACK_OF(X509) *chain, const job *j)
{
    engine_verify_result *r = &b->results[c];
    int *out = b->chain_out + c * b->chain_stride;
    int num = chain ? sk_X509_num(chain) : 0;
    r->chain_len = 0;
    for (int i = 0; i < num && (size_t)i < b->chain_stride; i++) {
        X509 *x = sk_X509_value(chain, i);
        int index = cert_index(j, x);
        if (index < 0) {
            index = UNKNOWN_CERT;
            for (size_t k = 0; k < b->store->n_anchors; k++) {
                if (b->store->anchors[k] == x || X509_cmp(b->store->anchors[k], x) == 0) {
                    index = -(int)k - 1;
                    break;
                }
            }
        }
        out[i] = index;
        r->chain_len = i + 1;
    }
}

/* Sets up the worker's context for one attempt; 0 when the name cannot be used. */
static int prepare(worker *w, job *j, size_t c, X509 *leaf)
{
    batch *b = w->b;
    if (!X509_STORE_CTX_init(w->ctx, b->store->store, leaf, w->untrusted))
        return -1;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(w->ctx);
    X509_STORE_CTX_set_purpose(w->ctx,
                               b->purpose == 0 ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_PARTIAL_CHAIN);
    if (b->check_crls && (b->options & ENGINE_VERIFY_OPENSSL_CRLS))
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    X509_VERIFY_PARAM_set_time(param, (time_t)b->at);
    X509_VERIFY_PARAM_set_depth(param, b->max_depth);
    X509_VERIFY_PARAM_set_auth_level(param, 2);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS
                                               | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    unsigned char kind = b->name_kinds[c];
    const char *name = b->names[c];
    int named = 1;
    if (kind == 1 && name != NULL)
        named = X509_VERIFY_PARAM_set1_host(param, name, 0);
    else if (kind == 2 && name != NULL)
        named = X509_VERIFY_PARAM_set1_ip_asc(param, name);
    if (!named) {
        X509_STORE_CTX_cleanup(w->ctx);
        return 0;
    }
    if (!(b->options & ENGINE_VERIFY_OPENSSL_SIGNATURES))
        X509_STORE_CTX_set_verify(w->ctx, chain_verify);
    X509_STORE_CTX_set_verify_cb(w->ctx, verify_callback);
    X509_STORE_CTX_set_app_data(w->ctx, j);
    /* A few anchors are found faster by a scan of a stack than through the store, whose
     * lookups take its lock: the workers would queue on it. */
    if (b->store->n_anchors <= SMALL_TRUST_STORE)
        X509_STORE_CTX_set0_trusted_stack(w->ctx, b->store->anchor_stack);
    return 1;
}

/* ---- path building with backtracking (RFC 4158), when OpenSSL's single path failed */

#define MAX_PATH 68
#define MAX_ATTEMPTS 16
#define MAX_EXPANSIONS 64

typedef struct {
    worker *w;
    job *j;
    size_t c;
    X509 *path[MAX_PATH];
    int len;
    X509 *first[MAX_PATH];
    int first_len;
    int attempts, expansions, found;
} search;

static int in_path(const search *s, const X509 *x)
{
    for (int i = 0; i < s->len; i++)
        if (s->path[i] == x)
            return 1;
    return 0;
}

static int same_as_first(const search *s)
{
    if (s->len != s->first_len)
        return 0;
    for (int i = 0; i < s->len; i++)
        if (s->path[i] != s->first[i] && X509_cmp(s->path[i], s->first[i]) != 0)
            return 0;
    return 1;
}

/* Verifies exactly s->path (its top a trust anchor); leaves the context set up on success. */
static void attempt(search *s)
{
    if (same_as_first(s))
        return;
    s->attempts++;
    worker *w = s->w;
    sk_X509_zero(w->untrusted);
    sk_X509_zero(w->trusted);
    for (int i = 1; i + 1 < s->len; i++)
        if (!sk_X509_push(w->untrusted, s->path[i]))
            return;
    if (!sk_X509_push(w->trusted, s->path[s->len - 1]))
        return;
    if (prepare(w, s->j, s->c, s->path[0]) <= 0) {
        ERR_clear_error();
        return;
    }
    X509_STORE_CTX_set0_trusted_stack(w->ctx, w->trusted);
    if (X509_verify_cert(w->ctx) > 0) {
        s->found = 1;
        return;
    }
    X509_STORE_CTX_cleanup(w->ctx);
    ERR_clear_error();
}

static int usable_issuer(search *s, X509 *subject, X509 *issuer)
{
    if (X509_check_issued(issuer, subject) != X509_V_OK)
        return 0;
    s->expansions++;
    EVP_PKEY *key = X509_get0_pubkey(issuer);
    return key != NULL && signature_valid(s->j, subject, issuer, key);
}

static void extend(search *s)
{
    batch *b = s->w->b;
    X509 *current = s->path[s->len - 1];
    if (s->len >= MAX_PATH || s->len > b->max_depth + 1)
        return;
    for (size_t k = 0; k < b->store->n_anchors; k++) {
        if (s->found || s->attempts >= MAX_ATTEMPTS || s->expansions >= MAX_EXPANSIONS)
            return;
        X509 *anchor = b->store->anchors[k];
        if (anchor == current || !usable_issuer(s, current, anchor))
            continue;
        s->path[s->len++] = anchor;
        attempt(s);
        s->len--;
    }
    for (size_t m = 1; m < s->j->n_members; m++) {
        if (s->found || s->attempts >= MAX_ATTEMPTS || s->expansions >= MAX_EXPANSIONS)
            return;
        X509 *next = b->certs[s->j->members[m]];
        if (in_path(s, next) || !usable_issuer(s, current, next))
            continue;
        s->path[s->len++] = next;
        extend(s);
        if (s->found)
            return;
        s->len--;
    }
}

static void verify_one(worker *w, size_t c)
{
    batch *b = w->b;
    engine_verify_result *r = &b->results[c];
    r->code = 0;
    r->depth = -1;
    r->chain_len = 0;
    r->crl_reason = -1;
    r->revoked_at = 0;

    size_t first = b->starts[c], end = b->starts[c + 1];
    job j = {b, b->members + first, end - first};
    if (j.n_members == 0) {
        r->code = ENGINE_VERIFY_EMPTY_CHAIN;
        return;
    }
    for (size_t i = 0; i < j.n_members; i++) {
        if (b->certs[j.members[i]] == NULL) {
            r->code = ENGINE_VERIFY_MALFORMED;
            r->depth = (int)i;
            return;
        }
    }
    X509 *leaf = b->certs[j.members[0]];
    if (b->purpose == 0 && b->name_kinds[c] == 0 && !has_server_identity(leaf)) {
        r->code = ENGINE_VERIFY_NO_SERVER_NAME;
        r->depth = 0;
        return;
    }

    sk_X509_zero(w->untrusted);
    for (size_t i = 1; i < j.n_members; i++) {
        if (!sk_X509_push(w->untrusted, b->certs[j.members[i]])) {
            r->code = ENGINE_VERIFY_INTERNAL;
            return;
        }
    }
    int prepared = prepare(w, &j, c, leaf);
    if (prepared <= 0) {
        r->code = prepared == 0 ? ENGINE_VERIFY_BAD_NAME : ENGINE_VERIFY_INTERNAL;
        r->depth = prepared == 0 ? 0 : -1;
        ERR_clear_error();
        return;
    }

    int ok = X509_verify_cert(w->ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(w->ctx);
    if (ok <= 0) {
        r->code = X509_STORE_CTX_get_error(w->ctx);
        if (r->code == X509_V_OK)
            r->code = X509_V_ERR_UNSPECIFIED;
        r->depth = X509_STORE_CTX_get_error_depth(w->ctx);
        write_chain(b, c, chain, &j);
        /* OpenSSL follows one issuer per certificate; look for another path before
         * giving up. The first failure is the one reported if none is found. */
        search *s = calloc(1, sizeof(search));
        if (s != NULL) {
            s->w = w;
            s->j = &j;
            s->c = c;
            int num = chain ? sk_X509_num(chain) : 0;
            for (int i = 0; i < num && i < MAX_PATH; i++)
                s->first[s->first_len++] = sk_X509_value(chain, i);
        }
        X509_STORE_CTX_cleanup(w->ctx);
        ERR_clear_error();
        if (s == NULL)
            return;
        s->path[0] = leaf;
        s->len = 1;
        extend(s);
        int found = s->found;
        free(s);
        if (!found)
            return;
        chain = X509_STORE_CTX_get0_chain(w->ctx);
        r->code = 0;
        r->depth = -1;
    }
    int depth = -1;
    int code = chain != NULL ? webpki_fault(b, chain, &depth) : ENGINE_VERIFY_INTERNAL;
    if (code != 0) {
        r->code = code;
        r->depth = depth;
    } else if (b->check_crls && !(b->options & ENGINE_VERIFY_OPENSSL_CRLS)) {
        check_revocation(b, chain, r);
    }
    write_chain(b, c, chain, &j);
    X509_STORE_CTX_cleanup(w->ctx);
    ERR_clear_error();
}

static void *parse_worker(void *arg)
{
    batch *b = *(batch **)arg;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n_certs)
            break;
        if (b->certs[i] != NULL || b->ders == NULL || b->der_lens == NULL || b->ders[i] == NULL)
            continue;
        size_t len = b->der_lens[i];
        const unsigned char *p = b->ders[i];
        X509 *x = len && len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
        if (x != NULL && p != b->ders[i] + len) {
            X509_free(x);
            x = NULL;
        }
        if (x != NULL) {
            /* Compute the cached extension data now, while still single-owner. */
            X509_check_purpose(x, -1, 0);
        }
        b->certs[i] = x;
        ERR_clear_error();
    }
    return NULL;
}

static void *verify_worker(void *arg)
{
    worker *w = arg;
    batch *b = w->b;
    for (;;) {
        size_t start = atomic_fetch_add(&b->next, CHUNK);
        if (start >= b->n_chains)
            break;
        size_t stop = start + CHUNK < b->n_chains ? start + CHUNK : b->n_chains;
        for (size_t c = start; c < stop; c++)
            verify_one(w, c);
    }
    return NULL;
}

static int run_threads(void *(*fn)(void *), void *args, size_t arg_size, int threads)
{
    pthread_t ids[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&ids[started], NULL, fn, (char *)args + (size_t)t * arg_size) != 0)
            break;
        started++;
    }
    fn(args);
    for (int t = 0; t < started; t++)
        pthread_join(ids[t], NULL);
    return 0;
}

int engine_verify_batch(engine_verify_store *store, void **certs,
                        const unsigned char *const *ders, const size_t *der_lens, size_t n_certs,
                        const size_t *starts, const unsigned int *members, size_t n_chains,
                        const char *const *names, const unsigned char *name_kinds,
                        long long at, int purpose, int max_depth, int check_crls, int threads,
                        int options, engine_verify_result *results, int *chain_out,
                        size_t chain_stride)
{
    if (store == NULL || certs == NULL || chain_stride == 0 || n_certs > UINT_MAX
        || max_depth < 0 || max_depth > 64 || n_chains > SIZE_MAX / chain_stride
        || n_chains == SIZE_MAX)
        return -1;
    if (n_chains && (starts == NULL || results == NULL || chain_out == NULL || names == NULL
                     || name_kinds == NULL))
        return -1;
    for (size_t c = 0; c < n_chains; c++) {
        if (starts[c] > starts[c + 1])
            return -1;
    }
    size_t n_members = n_chains ? starts[n_chains] : 0;
    if (n_members && members == NULL)
        return -1;
    for (size_t m = 0; m < n_members; m++) {
        if (members[m] >= n_certs)
            return -1;
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;

    batch b;
    memset(&b, 0, sizeof(b));
    b.store = store;
    b.certs = (X509 **)certs;
    b.ders = ders;
    b.der_lens = der_lens;
    b.n_certs = n_certs;
    b.starts = starts;
    b.members = members;
    b.n_chains = n_chains;
    b.names = names;
    b.name_kinds = name_kinds;
    b.at = at;
    b.purpose = purpose;
    b.max_depth = max_depth;
    b.check_crls = check_crls && store->n_crls > 0;
    b.options = options;
    b.results = results;
    b.chain_out = chain_out;
    b.chain_stride = chain_stride;

    int rc = -1;
    worker *workers = calloc((size_t)threads, sizeof(worker));
    b.sigs = calloc(n_certs ? n_certs : 1, sizeof(sig_state)); /* all-zero: unchecked */
    b.crl_states = calloc(store->n_crls ? store->n_crls : 1, sizeof(crl_state));
    if (workers == NULL || b.sigs == NULL || b.crl_states == NULL)
        goto done;
    for (size_t k = 0; k < store->n_crls; k++) {
        pthread_mutex_init(&b.crl_states[k].lock, NULL);
        atomic_init(&b.crl_states[k].n, 0);
    }

    /* Parse what the caller has no handle for yet. */
    int parse_threads = n_certs < 64 ? 1 : threads;
    batch *parse_args[MAX_THREADS];
    for (int t = 0; t < parse_threads; t++)
        parse_args[t] = &b;
    atomic_store(&b.next, 0);
    run_threads(parse_worker, parse_args, sizeof(batch *), parse_threads);

    int verify_threads = (size_t)threads > (n_chains + CHUNK - 1) / CHUNK
        ? (int)((n_chains + CHUNK - 1) / CHUNK) : threads;
    if (verify_threads < 1)
        verify_threads = 1;
    int ready = 0;
    for (; ready < verify_threads; ready++) {
        workers[ready].b = &b;
        workers[ready].ctx = X509_STORE_CTX_new();
        workers[ready].untrusted = sk_X509_new_null();
        workers[ready].trusted = sk_X509_new_null();
        if (workers[ready].ctx == NULL || workers[ready].untrusted == NULL
            || workers[ready].trusted == NULL) {
            X509_STORE_CTX_free(workers[ready].ctx);
            sk_X509_free(workers[ready].untrusted);
            sk_X509_free(workers[ready].trusted);
            break;
        }
    }
    if (ready == 0)
        goto cleanup;
    atomic_store(&b.next, 0);
    run_threads(verify_worker, workers, sizeof(worker), ready);
    rc = 0;
    for (int t = 0; t < ready; t++) {
        X509_STORE_CTX_free(workers[t].ctx);
        sk_X509_free(workers[t].untrusted);
        sk_X509_free(workers[t].trusted);
    }
cleanup:
    for (size_t k = 0; k < store->n_crls; k++)
        pthread_mutex_destroy(&b.crl_states[k].lock);
done:
    free(workers);
    free(b.sigs);
    free(b.crl_states);
    ERR_clear_error();
    return rc;
}

/* ------------------------------------------------------------------ the bench's bound */

typedef struct {
    engine_verify_store *store;
    void *const *subjects, *const *issuers;
    size_t n;
    void *const *crl_issuers;
    size_t n_crl_issuers;
    atomic_size_t next;
    atomic_long failures;
} sig_batch;

static void *signature_worker(void *arg)
{
    sig_batch *s = *(sig_batch **)arg;
    size_t total = s->n + s->n_crl_issuers;
    for (;;) {
        size_t start = atomic_fetch_add(&s->next, CHUNK);
        if (start >= total)
            break;
        size_t stop = start + CHUNK < total ? start + CHUNK : total;
        for (size_t i = start; i < stop; i++) {
            int ok = 1;
            if (i < s->n) {
                EVP_PKEY *key = X509_get0_pubkey((X509 *)s->issuers[i]);
                ok = key != NULL && X509_verify((X509 *)s->subjects[i], key) > 0;
            } else {
                size_t k = i - s->n;
                X509 *issuer = (X509 *)s->crl_issuers[k];
                if (issuer == NULL || k >= s->store->n_crls)
                    continue;
                EVP_PKEY *key = X509_get0_pubkey(issuer);
                ok = key != NULL && X509_CRL_verify(s->store->crls[k].crl, key) > 0;
            }
            if (!ok)
                atomic_fetch_add(&s->failures, 1);
        }
    }
    ERR_clear_error();
    return NULL;
}

long engine_verify_signatures(engine_verify_store *store, void *const *subjects,
                              void *const *issuers, size_t n, void *const *crl_issuers,
                              size_t n_crl_issuers, int threads)
{
    if (store == NULL || (n && (subjects == NULL || issuers == NULL)))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (subjects[i] == NULL || issuers[i] == NULL)
            return -1;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    sig_batch s;
    memset(&s, 0, sizeof(s));
    s.store = store;
    s.subjects = subjects;
    s.issuers = issuers;
    s.n = n;
    s.crl_issuers = crl_issuers;
    s.n_crl_issuers = crl_issuers ? n_crl_issuers : 0;
    atomic_store(&s.next, 0);
    atomic_store(&s.failures, 0);
    sig_batch *args[MAX_THREADS];
    for (int t = 0; t < threads; t++)
        args[t] = &s;
    run_threads(signature_worker, args, sizeof(sig_batch *), threads);
    return atomic_load(&s.failures);
}
