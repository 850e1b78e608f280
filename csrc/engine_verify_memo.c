/* Signatures of engine.verify's batches: each distinct (certificate, issuer) signature
 * verified once per batch and the result shared by the batch's threads, and a memo of
 * outcomes kept across batches. */

#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "engine_verify_internal.h"

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
    cert_facts scratch_subject, scratch_issuer;
    const cert_facts *s = engine_verify_facts(subject, &scratch_subject);
    const cert_facts *i = engine_verify_facts(issuer, &scratch_issuer);
    if (!s->has_hashes || !i->has_hashes)
        return 0;
    memcpy(key, s->der_sha256, 32);
    memcpy(key + 32, i->spki_sha256, 32);
    return 1;
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
int engine_verify_signature_valid(const job *j, X509 *subject, X509 *issuer, EVP_PKEY *key)
{
    int index = engine_verify_cert_index(j, subject);
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
