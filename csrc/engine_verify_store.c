/* The store of engine.verify: trust anchors and CRLs parsed once and kept across batches,
 * each CRL's revoked serials in a table sorted when the store is built; and revocation
 * (RFC 5280 6.3): each CRL checked once per batch and issuer (signature, the issuer's
 * cRLSign usage), its time window on every lookup, serials found by binary search. */

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "engine_verify_internal.h"

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

int engine_verify_time_epoch(const ASN1_TIME *t, long long *out)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    *out = days_from_civil((long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400
           + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return 1;
}

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
    if (!engine_verify_time_epoch(X509_CRL_get0_lastUpdate(entry->crl), &entry->this_update))
        entry->problem = entry->problem ? entry->problem : ENGINE_VERIFY_CRL_MALFORMED;
    if (X509_CRL_get0_nextUpdate(entry->crl) != NULL
        && !engine_verify_time_epoch(X509_CRL_get0_nextUpdate(entry->crl), &entry->next_update))
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
        X509_check_purpose(x, -1, 0);
        engine_verify_attach_facts(x, anchor_ders[i], len);
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
    r->revoked_at =
        engine_verify_time_epoch(X509_REVOKED_get0_revocationDate(revoked), &when) ? when : 0;
}

/* Every certificate of the path but the trust anchor, against its issuer's CRLs. */
void engine_verify_check_revocation(batch *b, STACK_OF(X509) *chain, engine_verify_result *r)
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
