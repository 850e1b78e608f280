/* What engine.verify computes once per certificate, when the certificate is parsed, rather
 * than once per chain it appears in: SHA-256 of its DER and of its SubjectPublicKeyInfo (the
 * two halves of a signature-memo key), its validity period in seconds, and the verdict of
 * each of the project's rules on it (engine_verify_rules.c), all pure functions of its
 * bytes.
 *
 * The facts hang off the X509 object as ex_data, attached while one thread owns it (in the
 * parse step of a batch, or when a store is built) and only read afterwards, so readers take
 * no lock. A certificate without them (none is expected) has them computed on the spot. */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "engine_verify_internal.h"

static int facts_index = -1;
static EVP_MD *sha256;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;

static void facts_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                       void *argp)
{
    free(ptr);
}

static void facts_setup(void)
{
    facts_index = X509_get_ex_new_index(0, NULL, NULL, NULL, facts_free);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); /* fetched once, not on every digest */
}

static int digest(const unsigned char *data, size_t len, unsigned char out[32])
{
    unsigned int got = 0;
    const EVP_MD *md = sha256 != NULL ? sha256 : EVP_sha256();
    return EVP_Digest(data, len, out, &got, md, NULL) && got == 32;
}

/* Computes x's facts; der/len is its DER when the caller has it, else it is encoded here. */
static int compute(X509 *x, const unsigned char *der, size_t len, cert_facts *f)
{
    unsigned char *encoded = NULL, *spki = NULL;
    int ok = 1;
    if (der == NULL) {
        int n = i2d_X509(x, &encoded);
        ok = n > 0;
        der = encoded;
        len = n > 0 ? (size_t)n : 0;
    }
    ok = ok && digest(der, len, f->der_sha256);
    X509_PUBKEY *key = X509_get_X509_PUBKEY(x);
    int spki_len = key != NULL ? i2d_X509_PUBKEY(key, &spki) : -1;
    ok = ok && spki_len > 0 && digest(spki, (size_t)spki_len, f->spki_sha256);
    f->has_hashes = ok;
    f->has_not_before = engine_verify_time_epoch(X509_get0_notBefore(x), &f->not_before);
    f->has_not_after = engine_verify_time_epoch(X509_get0_notAfter(x), &f->not_after);
    engine_verify_rule_facts(x, f);
    OPENSSL_free(encoded);
    OPENSSL_free(spki);
    ERR_clear_error();
    return ok;
}

void engine_verify_attach_facts(X509 *x, const unsigned char *der, size_t len)
{
    pthread_once(&facts_once, facts_setup);
    if (facts_index < 0 || X509_get_ex_data(x, facts_index) != NULL)
        return;
    cert_facts *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return;
    compute(x, der, len, f);
    if (!X509_set_ex_data(x, facts_index, f))
        free(f);
    ERR_clear_error();
}

const cert_facts *engine_verify_facts(X509 *x, cert_facts *scratch)
{
    pthread_once(&facts_once, facts_setup);
    const cert_facts *found = facts_index >= 0 ? X509_get_ex_data(x, facts_index) : NULL;
    if (found != NULL)
        return found;
    compute(x, NULL, 0, scratch);
    return scratch;
}
