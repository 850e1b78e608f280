/* The bench's lower bound for engine.verify: the signatures of a batch verified back to
 * back, with none of the path building, rules or sharing around them. */

#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "engine_verify_internal.h"

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
    engine_verify_run_threads(signature_worker, args, sizeof(sig_batch *), threads);
    return atomic_load(&s.failures);
}
