/* Batch certificate-chain verification for engine.verify.
 *
 * Path building, extension, key-strength, name and purpose checks are OpenSSL's own
 * (X509_verify_cert with X509_V_FLAG_X509_STRICT, authentication level 2). Three parts are
 * done by the project instead, because OpenSSL would repeat them for every chain of a batch:
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
 * touched, so the binding releases the GIL around the call.
 *
 * This file holds the batch: parsing, the workers, the verify step and one chain's
 * verification. Beside it: the store, CRLs and revocation (engine_verify_store.c), the
 * signatures shared within and across batches (engine_verify_memo.c), the Web PKI rules
 * (engine_verify_rules.c), path building with backtracking (engine_verify_paths.c) and the
 * bench's signature bound (engine_verify_limit.c). */

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "engine_verify_internal.h"

#define SMALL_TRUST_STORE 16

/* ---- the verify step: signatures and validity periods */

int engine_verify_cert_index(const job *j, const X509 *x)
{
    for (size_t i = 0; i < j->n_members; i++)
        if (j->b->certs[j->members[i]] == x)
            return (int)j->members[i];
    return -1;
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
    cert_facts scratch;
    const cert_facts *f = engine_verify_facts(x, &scratch);
    if (!f->has_not_before) {
        if (!report(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD))
            return 0;
    } else if (at < f->not_before && !report(ctx, x, depth, X509_V_ERR_CERT_NOT_YET_VALID)) {
        return 0;
    }
    if (!f->has_not_after) {
        if (!report(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD))
            return 0;
    } else if (at > f->not_after && !report(ctx, x, depth, X509_V_ERR_CERT_HAS_EXPIRED)) {
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
            } else if (!engine_verify_signature_valid(j, xs, xi, key)) {
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

void engine_verify_cert_free(void *cert) { X509_free((X509 *)cert); }

const char *engine_verify_error_string(int code) { return X509_verify_cert_error_string(code); }

/* ---- the worker */

static void write_chain(batch *b, size_t c, STACK_OF(X509) *chain, const job *j)
{
    engine_verify_result *r = &b->results[c];
    int *out = b->paths + b->starts[c] + c;
    size_t room = j->n_members + 1; /* members, then one anchor above them */
    int num = chain ? sk_X509_num(chain) : 0;
    r->chain_len = 0;
    for (int i = 0; i < num && (size_t)i < room; i++) {
        X509 *x = sk_X509_value(chain, i);
        int index = engine_verify_cert_index(j, x);
        if (index < 0) {
            index = ENGINE_VERIFY_PATH_UNKNOWN;
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
int engine_verify_prepare(worker *w, job *j, size_t c, X509 *leaf)
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
    /* Validity periods are chain_verify's (from the times computed once per certificate),
     * and CRL times the project's: OpenSSL need not compare them while it picks issuers
     * (formatting and parsing an ASN1_TIME per candidate). An expired candidate it then picks
     * is refused by chain_verify, and engine_verify_other_path looks for another. */
    if (!(b->options & (ENGINE_VERIFY_OPENSSL_SIGNATURES | ENGINE_VERIFY_OPENSSL_CRLS)))
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
    X509_VERIFY_PARAM_set_time(param, (time_t)b->at);
    X509_VERIFY_PARAM_set_depth(param, b->max_depth);
    X509_VERIFY_PARAM_set_auth_level(param, 2);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS
                                               | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    int named = 1;
    if (j->name_kind == 1)
        named = X509_VERIFY_PARAM_set1_host(param, j->name, 0);
    else if (j->name_kind == 2)
        named = X509_VERIFY_PARAM_set1_ip_asc(param, j->name);
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
    job j = {b, b->members + first, end - first, b->names ? b->names[c] : NULL, 0};
    if (j.name != NULL && (j.name_kind = engine_verify_name_kind(j.name)) == 0) {
        r->code = ENGINE_VERIFY_UNUSABLE_NAME;
        r->depth = 0;
        return;
    }
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
    cert_facts scratch;
    const cert_facts *facts = engine_verify_facts(leaf, &scratch);
    if (facts->bad_address) {
        r->code = ENGINE_VERIFY_BAD_ADDRESS;
        r->depth = 0;
        return;
    }
    if (engine_verify_interchangeable(b->certs, j.members + 1, j.n_members - 1)) {
        r->code = ENGINE_VERIFY_INTERCHANGEABLE;
        r->depth = 1;
        return;
    }
    if (b->purpose == 0 && j.name_kind == 0 && !facts->server_identity) {
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
    int prepared = engine_verify_prepare(w, &j, c, leaf);
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
        if (!engine_verify_other_path(w, &j, c, leaf, chain))
            return;
        chain = X509_STORE_CTX_get0_chain(w->ctx);
        r->code = 0;
        r->depth = -1;
    }
    int depth = -1;
    int code = chain != NULL ? engine_verify_webpki_fault(b, chain, &depth)
                             : ENGINE_VERIFY_INTERNAL;
    if (code != 0) {
        r->code = code;
        r->depth = depth;
    } else if (b->check_crls && !(b->options & ENGINE_VERIFY_OPENSSL_CRLS)) {
        engine_verify_check_revocation(b, chain, r);
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
        if (b->certs[i] != NULL || b->der_offsets == NULL)
            continue;
        /* offsets checked by engine_verify_batch: ascending, within the DER buffer */
        size_t len = b->der_offsets[i + 1] - b->der_offsets[i];
        const unsigned char *start = b->der + b->der_offsets[i], *p = start;
        X509 *x = len && len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
        if (x != NULL && p != start + len) {
            X509_free(x);
            x = NULL;
        }
        if (x != NULL) {
            /* Compute the cached extension data and the project's facts now, while still
             * single-owner. A version other than v1 to v3 (RFC 5280 4.1.2.1), or extensions
             * libcrypto finds invalid (one present twice, one it cannot decode), make the
             * certificate unreadable, as pyca/cryptography has it. */
            X509_check_purpose(x, -1, 0);
            long version = X509_get_version(x);
            if (version < 0 || version > 2 || (X509_get_extension_flags(x) & EXFLAG_INVALID)) {
                X509_free(x);
                x = NULL;
            } else {
                engine_verify_attach_facts(x, start, len);
            }
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

int engine_verify_run_threads(void *(*fn)(void *), void *args, size_t arg_size, int threads)
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

/* The checks engine_verify_batch makes before any thread starts: every array present, every
 * count, offset and index in range, the names exactly n_chains NUL-terminated strings. */
static int consistent(const engine_verify_store *store, const engine_verify_chains *in,
                      const engine_verify_params *p, const engine_verify_result *results,
                      const int *paths, size_t paths_len)
{
    if (store == NULL || in == NULL || p == NULL || in->certs == NULL || in->n_certs > UINT_MAX
        || p->max_depth < 0 || p->max_depth > 64 || in->n_chains >= SIZE_MAX / 2
        || in->starts == NULL)
        return 0;
    size_t n = in->n_chains;
    if (n && (results == NULL || paths == NULL))
        return 0;
    for (size_t c = 0; c < n; c++)
        if (in->starts[c] > in->starts[c + 1])
            return 0;
    size_t n_members = in->starts[n];
    if (in->starts[0] != 0 || n_members > SIZE_MAX - n || paths_len < n_members + n
        || (n_members && in->members == NULL))
        return 0;
    for (size_t m = 0; m < n_members; m++)
        if (in->members[m] >= in->n_certs)
            return 0;
    if (in->der_offsets != NULL) {
        if (in->der == NULL && in->der_len != 0)
            return 0;
        for (size_t i = 0; i < in->n_certs; i++)
            if (in->der_offsets[i] > in->der_offsets[i + 1])
                return 0;
        if (in->der_offsets[0] != 0 || in->der_offsets[in->n_certs] > in->der_len)
            return 0;
    }
    if (in->names != NULL) {
        size_t found = 0;
        for (size_t i = 0; i < in->names_len; i++)
            found += in->names[i] == '\0';
        if (found != n || in->names_len == 0 || in->names[in->names_len - 1] != '\0')
            return 0;
    }
    return 1;
}

int engine_verify_batch(engine_verify_store *store, const engine_verify_chains *in,
                        const engine_verify_params *params, engine_verify_result *results,
                        int *paths, size_t paths_len)
{
    if (!consistent(store, in, params, results, paths, paths_len))
        return -1;
    size_t n_chains = in->n_chains, n_certs = in->n_certs;
    int threads = params->threads;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;

    batch b;
    memset(&b, 0, sizeof(b));
    b.store = store;
    b.certs = (X509 **)in->certs;
    b.der = in->der;
    b.der_offsets = in->der_offsets;
    b.n_certs = n_certs;
    b.starts = in->starts;
    b.members = in->members;
    b.n_chains = n_chains;
    b.at = params->at;
    b.purpose = params->purpose;
    b.max_depth = params->max_depth;
    b.check_crls = params->check_crls && store->n_crls > 0;
    b.options = params->options;
    b.results = results;
    b.paths = paths;

    int rc = -1;
    worker *workers = calloc((size_t)threads, sizeof(worker));
    b.sigs = calloc(n_certs ? n_certs : 1, sizeof(sig_state)); /* all-zero: unchecked */
    b.crl_states = calloc(store->n_crls ? store->n_crls : 1, sizeof(crl_state));
    if (in->names != NULL)
        b.names = calloc(n_chains ? n_chains : 1, sizeof(const char *));
    if (workers == NULL || b.sigs == NULL || b.crl_states == NULL
        || (in->names != NULL && b.names == NULL))
        goto done;
    if (in->names != NULL) {
        const char *name = in->names;
        for (size_t c = 0; c < n_chains; c++) {
            size_t len = strlen(name); /* ends within names_len: checked above */
            b.names[c] = in->unnamed != NULL && in->unnamed[c] ? NULL : name;
            name += len + 1;
        }
    }
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
    engine_verify_run_threads(parse_worker, parse_args, sizeof(batch *), parse_threads);

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
    engine_verify_run_threads(verify_worker, workers, sizeof(worker), ready);
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
    free((void *)b.names);
    ERR_clear_error();
    return rc;
}
