/* Path building with backtracking (RFC 4158) for engine.verify, when OpenSSL's single path
 * failed: OpenSSL follows one issuer per certificate; other issuers among the trust anchors
 * and the chain's members are tried, within fixed bounds, and each candidate path is given
 * to X509_verify_cert whole. */

#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "engine_verify_internal.h"

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
    if (engine_verify_prepare(w, s->j, s->c, s->path[0]) <= 0) {
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
    return key != NULL && engine_verify_signature_valid(s->j, subject, issuer, key);
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


int engine_verify_other_path(worker *w, job *j, size_t c, X509 *leaf, STACK_OF(X509) *chain)
{
    search *s = calloc(1, sizeof(search));
    if (s != NULL) {
        s->w = w;
        s->j = j;
        s->c = c;
        int num = chain ? sk_X509_num(chain) : 0;
        for (int i = 0; i < num && i < MAX_PATH; i++)
            s->first[s->first_len++] = sk_X509_value(chain, i);
    }
    X509_STORE_CTX_cleanup(w->ctx);
    ERR_clear_error();
    if (s == NULL)
        return 0;
    s->path[0] = leaf;
    s->len = 1;
    extend(s);
    int found = s->found;
    free(s);
    return found;
}
