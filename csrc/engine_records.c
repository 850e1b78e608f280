/* TLS 1.3 record protection in bulk (RFC 8446 section 5): see engine_records.h.
 *
 * Layout of a record (section 5.2): a 5-byte header (opaque_type 23, legacy_record_version
 * 0x0303, length), then the AEAD ciphertext of TLSInnerPlaintext (content || content type ||
 * zero padding, section 5.4) and its 16-byte tag, the header being the additional data. The
 * nonce is the static IV XOR the 64-bit sequence number, left-padded (section 5.3).
 *
 * Runs of records may be spread over a small pool of worker threads that lives as long as the
 * process; each thread uses its own copy of the key's pre-initialised EVP_CIPHER_CTX. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "engine_records.h"

#define HEADER_SIZE 5
#define TAG_SIZE 16
#define IV_SIZE 12
#define APPLICATION_DATA 23
#define MAX_FRAGMENT 16384u                 /* 2^14 */
#define MAX_INNER (MAX_FRAGMENT + 1u)       /* TLSInnerPlaintext limit */
#define MAX_CIPHERTEXT (MAX_FRAGMENT + 256u) /* TLSCiphertext.length limit */
#define MAX_THREADS 64
#define SMALL_RECORD 512 /* inner plaintexts up to this size are assembled in one piece */
#define PARALLEL_MIN_BYTES 32768
#define CHUNK_BYTES 65536 /* about how much one claimed chunk of a threaded batch holds */
#define MAX_CHUNKS 256

static const unsigned char zeros[MAX_INNER];

struct engine_record_key {
    int encrypt;
    unsigned char iv[IV_SIZE];
    pthread_mutex_t lock;
    int nctx; /* contexts made so far: ctx[0] is the original, the rest are copies */
    EVP_CIPHER_CTX *ctx[MAX_THREADS];
    unsigned char *scratch[MAX_THREADS]; /* one record's inner plaintext, for opening */
};

/* ------------------------------------------------------------------------------------------ */
/* key objects */

static const char *cipher_name(int suite, size_t *key_len)
{
    switch (suite) {
    case 1: *key_len = 16; return "AES-128-GCM";
    case 2: *key_len = 32; return "AES-256-GCM";
    case 3: *key_len = 32; return "ChaCha20-Poly1305";
    default: return NULL;
    }
}

engine_record_key *engine_record_key_new(int suite, const unsigned char *key, size_t key_len,
                                         const unsigned char *iv, size_t iv_len, int encrypt)
{
    size_t want = 0;
    const char *name = cipher_name(suite, &want);
    if (name == NULL || key == NULL || iv == NULL || key_len != want || iv_len != IV_SIZE)
        return NULL;
    engine_record_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        free(k);
        return NULL;
    }
    k->encrypt = encrypt ? 1 : 0;
    memcpy(k->iv, iv, IV_SIZE);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = cipher != NULL && ctx != NULL
             && EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, k->encrypt) == 1
             && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, IV_SIZE, NULL) == 1
             && EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, k->encrypt) == 1;
    EVP_CIPHER_free(cipher);
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        pthread_mutex_destroy(&k->lock);
        OPENSSL_cleanse(k, sizeof(*k));
        free(k);
        return NULL;
    }
    k->ctx[0] = ctx;
    k->nctx = 1;
    return k;
}

void engine_record_key_free(engine_record_key *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < k->nctx; i++) {
        EVP_CIPHER_CTX_free(k->ctx[i]);
        if (k->scratch[i] != NULL) {
            OPENSSL_cleanse(k->scratch[i], MAX_CIPHERTEXT);
            free(k->scratch[i]);
        }
    }
    pthread_mutex_destroy(&k->lock);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

/* Make sure `n` contexts (and, when opening, scratch buffers) exist; returns how many of the
 * `n` can be used (fewer only if memory ran out). */
static int ensure_contexts(engine_record_key *k, int n)
{
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    while (k->nctx < n) {
        EVP_CIPHER_CTX *copy = EVP_CIPHER_CTX_new();
        unsigned char *scratch = k->encrypt ? NULL : malloc(MAX_CIPHERTEXT);
        if (copy == NULL || (!k->encrypt && scratch == NULL)
            || EVP_CIPHER_CTX_copy(copy, k->ctx[0]) != 1) {
            EVP_CIPHER_CTX_free(copy);
            free(scratch);
            break;
        }
        k->ctx[k->nctx] = copy;
        k->scratch[k->nctx] = scratch;
        k->nctx++;
    }
    if (!k->encrypt && k->scratch[0] == NULL)
        k->scratch[0] = malloc(MAX_CIPHERTEXT);
    return k->nctx < n ? k->nctx : n;
}

static inline void make_nonce(const unsigned char iv[IV_SIZE], uint64_t seq,
                              unsigned char nonce[IV_SIZE])
{
    memcpy(nonce, iv, IV_SIZE);
    for (int i = 0; i < 8; i++)
        nonce[IV_SIZE - 1 - i] ^= (unsigned char)(seq >> (8 * i));
}

/* Whether `n` records can use sequence numbers seq, seq + 1, ... without passing 2^64 - 1. */
static inline int seq_room_for(uint64_t seq, size_t n)
{
    return n == 0 || (uint64_t)(n - 1) <= UINT64_MAX - seq;
}

static inline size_t inner_size(size_t content_len, size_t pad_to)
{
    size_t size = content_len + 1;
    if (pad_to > 0) {
        if (pad_to >= MAX_INNER)
            return MAX_INNER;
        size = ((size + pad_to - 1) / pad_to) * pad_to;
        if (size > MAX_INNER)
            size = MAX_INNER;
    }
    return size;
}

/* ------------------------------------------------------------------------------------------ */
/* one record */

/* Seal one record of `clen` content bytes into `out` (HEADER + inner + TAG bytes). */
static int seal_one(EVP_CIPHER_CTX *ctx, const unsigned char iv[IV_SIZE], uint64_t seq,
                    const unsigned char *content, size_t clen, int content_type, size_t inner,
                    unsigned char *out)
{
    unsigned char nonce[IV_SIZE];
    size_t length = inner + TAG_SIZE;
    int n = 0;
    out[0] = APPLICATION_DATA;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(length >> 8);
    out[4] = (unsigned char)(length & 0xff);
    make_nonce(iv, seq, nonce);
    unsigned char *body = out + HEADER_SIZE;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1
        || EVP_EncryptUpdate(ctx, NULL, &n, out, HEADER_SIZE) != 1)
        return ENGINE_RECORDS_ECRYPTO;
    if (inner <= SMALL_RECORD) {
        unsigned char block[SMALL_RECORD];
        memcpy(block, content, clen);
        block[clen] = (unsigned char)content_type;
        memset(block + clen + 1, 0, inner - clen - 1);
        if (EVP_EncryptUpdate(ctx, body, &n, block, (int)inner) != 1)
            return ENGINE_RECORDS_ECRYPTO;
    } else {
        unsigned char type = (unsigned char)content_type;
        if ((clen > 0 && EVP_EncryptUpdate(ctx, body, &n, content, (int)clen) != 1)
            || EVP_EncryptUpdate(ctx, body + clen, &n, &type, 1) != 1
            || (inner > clen + 1
                && EVP_EncryptUpdate(ctx, body + clen + 1, &n, zeros, (int)(inner - clen - 1)) != 1))
            return ENGINE_RECORDS_ECRYPTO;
    }
    if (EVP_EncryptFinal_ex(ctx, body + inner, &n) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_SIZE, body + inner) != 1)
        return ENGINE_RECORDS_ECRYPTO;
    return ENGINE_RECORDS_OK;
}

/* Decrypt the record at `rec` (header + `length` bytes) into `out` (length - TAG bytes).
 * On failure the output is zeroed. */
static int open_one(EVP_CIPHER_CTX *ctx, const unsigned char iv[IV_SIZE], uint64_t seq,
                    const unsigned char *rec, size_t length, unsigned char *out)
{
    unsigned char nonce[IV_SIZE], tag[TAG_SIZE];
    int n = 0;
    if (length < TAG_SIZE)
        return ENGINE_RECORDS_AUTH;
    size_t plen = length - TAG_SIZE;
    make_nonce(iv, seq, nonce);
    memcpy(tag, rec + HEADER_SIZE + plen, TAG_SIZE);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1
        || EVP_DecryptUpdate(ctx, NULL, &n, rec, HEADER_SIZE) != 1
        || (plen > 0 && EVP_DecryptUpdate(ctx, out, &n, rec + HEADER_SIZE, (int)plen) != 1)
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_SIZE, tag) != 1) {
        memset(out, 0, plen);
        return ENGINE_RECORDS_ECRYPTO;
    }
    if (EVP_DecryptFinal_ex(ctx, out + plen, &n) != 1) {
        OPENSSL_cleanse(out, plen);
        return ENGINE_RECORDS_AUTH;
    }
    return ENGINE_RECORDS_OK;
}

/* The content length of an inner plaintext (the bytes before its last non-zero byte), or -1 if
 * it is all zeros. */
static inline long content_length(const unsigned char *inner, size_t plen)
{
    size_t i = plen;
    while (i > 0 && inner[i - 1] == 0)
        i--;
    return (long)i - 1;
}

/* ------------------------------------------------------------------------------------------ */
/* the worker pool
 *
 * A batch is cut into more chunks than threads; the calling thread and the workers it wakes
 * claim chunks in turn from an atomic counter, each with its own "slot" (its own cipher context
 * and scratch space). A worker that has not started when the caller runs out of chunks is
 * called off, so a busy machine makes a threaded call no slower than a single-threaded one. */

enum { JOB_IDLE = 0, JOB_POSTED = 1, JOB_RUNNING = 2, JOB_DONE = 3 };

typedef struct job_set {
    void (*fn)(void *job, int slot);
    char *jobs;
    size_t size;
    int njobs;
    atomic_int next;
} job_set;

typedef struct pool_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_set *set;
    int slot;
    atomic_int state;
} pool_worker;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_worker *pool_workers[MAX_THREADS];
static int pool_size;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define WORKER_SPIN_NS 20000u /* a worker polls this long for the next batch before sleeping */

static void job_set_work(job_set *set, int slot)
{
    int i;
    while ((i = atomic_fetch_add_explicit(&set->next, 1, memory_order_relaxed)) < set->njobs)
        set->fn(set->jobs + (size_t)i * set->size, slot);
}

static void *worker_main(void *p)
{
    pool_worker *w = p;
    for (;;) {
        uint64_t start = now_ns();
        unsigned spins = 0;
        int expected = JOB_POSTED;
        while (!atomic_compare_exchange_weak_explicit(&w->state, &expected, JOB_RUNNING,
                                                      memory_order_acquire,
                                                      memory_order_relaxed)) {
            expected = JOB_POSTED;
            cpu_relax();
            if ((++spins & 63) == 0 && now_ns() - start > WORKER_SPIN_NS) {
                pthread_mutex_lock(&w->mu);
                while (atomic_load_explicit(&w->state, memory_order_acquire) != JOB_POSTED)
                    pthread_cond_wait(&w->cv, &w->mu);
                pthread_mutex_unlock(&w->mu);
            }
        }
        job_set_work(w->set, w->slot);
        atomic_store_explicit(&w->state, JOB_DONE, memory_order_release);
    }
    return NULL;
}

/* In a forked child the workers do not exist: forget them (their memory is not reclaimed). */
static void pool_after_fork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    pool_lock = fresh;
    pool_size = 0;
}

static void pool_register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, pool_after_fork_child);
}

/* Grow the pool to `n` workers if possible (called with pool_lock held); returns its size. */
static int pool_grow(int n)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* workers take no signals */
    while (pool_size < n && pool_size < MAX_THREADS) {
        pool_worker *w = calloc(1, sizeof(*w));
        if (w == NULL)
            break;
        atomic_init(&w->state, JOB_IDLE);
        pthread_attr_t attr;
        int ok = pthread_mutex_init(&w->mu, NULL) == 0;
        ok = ok && pthread_cond_init(&w->cv, NULL) == 0;
        ok = ok && pthread_attr_init(&attr) == 0;
        if (ok) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            ok = pthread_create(&w->thread, &attr, worker_main, w) == 0;
            pthread_attr_destroy(&attr);
        }
        if (!ok) {
            free(w);
            break;
        }
        pool_workers[pool_size++] = w;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool_size;
}

/* Run fn(jobs + i * size, slot) for every i in [0, njobs) on up to `threads` threads (slots
 * 0 .. threads - 1, slot 0 being the calling thread). */
static void run_jobs(void (*fn)(void *, int), void *jobs, size_t size, int njobs, int threads)
{
    job_set set = {.fn = fn, .jobs = jobs, .size = size, .njobs = njobs};
    atomic_init(&set.next, 0);
    int workers = 0, have_pool = 0;
    if (threads > njobs)
        threads = njobs;
    if (threads > 1) {
        pthread_once(&pool_once, pool_register_fork_handler);
        if (pthread_mutex_trylock(&pool_lock) == 0) {
            have_pool = 1;
            workers = pool_grow(threads - 1);
            if (workers > threads - 1)
                workers = threads - 1;
        }
    }
    for (int i = 0; i < workers; i++) {
        pool_worker *w = pool_workers[i];
        w->set = &set;
        w->slot = i + 1;
        pthread_mutex_lock(&w->mu);
        atomic_store_explicit(&w->state, JOB_POSTED, memory_order_release);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    job_set_work(&set, 0);
    for (int i = 0; i < workers; i++) {
        pool_worker *w = pool_workers[i];
        int expected = JOB_POSTED;
        /* not started yet: call it off; otherwise wait for it to finish its chunk */
        if (!atomic_compare_exchange_strong_explicit(&w->state, &expected, JOB_IDLE,
                                                     memory_order_acq_rel,
                                                     memory_order_acquire)) {
            unsigned spins = 0;
            while (atomic_load_explicit(&w->state, memory_order_acquire) != JOB_DONE) {
                if (++spins < 4096)
                    cpu_relax();
                else
                    sched_yield();
            }
            atomic_store_explicit(&w->state, JOB_IDLE, memory_order_relaxed);
        }
    }
    if (have_pool)
        pthread_mutex_unlock(&pool_lock);
}

/* How many chunks to cut a batch of `records` records and `bytes` bytes into. */
static int chunk_count(int threads, size_t records, size_t bytes)
{
    if (threads <= 1)
        return 1;
    size_t n = bytes / CHUNK_BYTES;
    if (n < (size_t)threads * 2)
        n = (size_t)threads * 2;
    if (n > MAX_CHUNKS)
        n = MAX_CHUNKS;
    if (n > records)
        n = records;
    return n < 1 ? 1 : (int)n;
}

/* ------------------------------------------------------------------------------------------ */
/* sealing */

typedef struct seal_run {
    engine_record_key *key;
    const unsigned char *in;
    size_t in_len;
    const uint64_t *lengths; /* one record per length when not NULL, else max_fragment cuts */
    size_t count;
    unsigned char *out;
    size_t max_fragment, pad_to;
    int content_type;
    uint64_t seq;
    int rc;
} seal_run;

static void seal_run_job(void *p, int slot)
{
    seal_run *r = p;
    EVP_CIPHER_CTX *ctx = r->key->ctx[slot];
    const unsigned char *iv = r->key->iv;
    const unsigned char *in = r->in;
    size_t left = r->in_len;
    unsigned char *out = r->out;
    uint64_t seq = r->seq;
    int rc = ENGINE_RECORDS_OK;
    if (r->lengths != NULL) {
        for (size_t i = 0; i < r->count && rc == ENGINE_RECORDS_OK; i++) {
            size_t clen = (size_t)r->lengths[i];
            size_t inner = inner_size(clen, r->pad_to);
            rc = seal_one(ctx, iv, seq + i, in, clen, r->content_type, inner, out);
            in += clen;
            out += HEADER_SIZE + inner + TAG_SIZE;
        }
    } else {
        while (left > 0 && rc == ENGINE_RECORDS_OK) {
            size_t clen = left < r->max_fragment ? left : r->max_fragment;
            size_t inner = inner_size(clen, r->pad_to);
            rc = seal_one(ctx, iv, seq, in, clen, r->content_type, inner, out);
            in += clen;
            left -= clen;
            out += HEADER_SIZE + inner + TAG_SIZE;
            seq++;
        }
    }
    r->rc = rc;
}

static int overlaps(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    return alen > 0 && blen > 0 && a0 < b0 + blen && b0 < a0 + alen;
}

/* The threads worth using (contexts made for them) for `records` records of `bytes` bytes. */
static int usable_threads(engine_record_key *k, int threads, size_t records, size_t bytes)
{
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads < 2 || records < 2 || bytes < PARALLEL_MIN_BYTES)
        return 1;
    if ((size_t)threads > records)
        threads = (int)records;
    return ensure_contexts(k, threads);
}

/* Seal the runs, on `threads` threads; any failure wipes the whole output. */
static int seal_runs(seal_run *runs, int nruns, int threads, unsigned char *out, size_t total)
{
    run_jobs(seal_run_job, runs, sizeof(runs[0]), nruns, threads);
    int rc = ENGINE_RECORDS_OK;
    for (int i = 0; i < nruns && rc == ENGINE_RECORDS_OK; i++)
        rc = runs[i].rc;
    if (rc != ENGINE_RECORDS_OK)
        OPENSSL_cleanse(out, total);
    return rc;
}

int engine_records_seal(engine_record_key *k, const unsigned char *in, size_t in_len,
                        int content_type, size_t max_fragment, size_t pad_to,
                        uint64_t seq, unsigned char *out, size_t out_cap,
                        int threads, size_t *written, uint64_t *records)
{
    if (k == NULL || !k->encrypt || written == NULL || records == NULL
        || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || content_type < 1 || content_type > 255
        || max_fragment < 1 || max_fragment > MAX_FRAGMENT || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    *records = 0;
    size_t full = in_len / max_fragment, rest = in_len % max_fragment;
    size_t nrec = full + (rest ? 1 : 0);
    if (nrec == 0)
        return ENGINE_RECORDS_OK;
    if (!seq_room_for(seq, nrec))
        return ENGINE_RECORDS_SEQ;
    size_t full_size = HEADER_SIZE + inner_size(max_fragment, pad_to) + TAG_SIZE;
    size_t rest_size = rest ? HEADER_SIZE + inner_size(rest, pad_to) + TAG_SIZE : 0;
    if (full > (SIZE_MAX - rest_size) / full_size)
        return ENGINE_RECORDS_SPACE;
    size_t total = full * full_size + rest_size;
    if (total > out_cap)
        return ENGINE_RECORDS_SPACE;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;

    int t = usable_threads(k, threads, nrec, in_len);
    int nruns = chunk_count(t, nrec, total);
    seal_run one, *runs = nruns > 1 ? calloc((size_t)nruns, sizeof(seal_run)) : &one;
    if (runs == NULL) {
        runs = &one;
        nruns = t = 1;
    }
    /* equal numbers of records per run (all full-size but the very last) */
    size_t per = nrec / (size_t)nruns, extra = nrec % (size_t)nruns, first = 0;
    for (int i = 0; i < nruns; i++) {
        size_t count = per + ((size_t)i < extra ? 1 : 0);
        size_t in_start = first * max_fragment;
        size_t in_end = (first + count) * max_fragment;
        if (in_end > in_len)
            in_end = in_len;
        runs[i] = (seal_run){
            .key = k, .in = in + in_start, .in_len = in_end - in_start,
            .out = out + first * full_size, .max_fragment = max_fragment, .pad_to = pad_to,
            .content_type = content_type, .seq = seq + first, .rc = ENGINE_RECORDS_OK,
        };
        first += count;
    }
    int rc = seal_runs(runs, nruns, t, out, total);
    if (runs != &one)
        free(runs);
    pthread_mutex_unlock(&k->lock);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    *written = total;
    *records = nrec;
    return ENGINE_RECORDS_OK;
}

int engine_records_seal_messages(engine_record_key *k, const unsigned char *in, size_t in_len,
                                 const uint64_t *lengths, size_t count, int content_type,
                                 size_t pad_to, uint64_t seq,
                                 unsigned char *out, size_t out_cap, int threads,
                                 size_t *written)
{
    if (k == NULL || !k->encrypt || written == NULL || (in == NULL && in_len > 0)
        || (lengths == NULL && count > 0) || (out == NULL && out_cap > 0)
        || content_type < 1 || content_type > 255 || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    if (!seq_room_for(seq, count))
        return ENGINE_RECORDS_SEQ;
    /* check every length, their sum and the output size before writing anything */
    size_t sum = 0, total = 0;
    for (size_t i = 0; i < count; i++) {
        if (lengths[i] > MAX_FRAGMENT || lengths[i] > in_len - sum)
            return ENGINE_RECORDS_EINVAL;
        sum += (size_t)lengths[i];
        size_t size = HEADER_SIZE + inner_size((size_t)lengths[i], pad_to) + TAG_SIZE;
        if (size > out_cap - total)
            return ENGINE_RECORDS_SPACE;
        total += size;
    }
    if (sum != in_len)
        return ENGINE_RECORDS_EINVAL;
    if (count == 0)
        return ENGINE_RECORDS_OK;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;

    int t = usable_threads(k, threads, count, total);
    int nruns = chunk_count(t, count, total);
    seal_run one, *runs = nruns > 1 ? calloc((size_t)nruns, sizeof(seal_run)) : &one;
    if (runs == NULL) {
        runs = &one;
        nruns = t = 1;
    }
    /* runs of about equal output size */
    size_t index = 0, in_pos = 0, out_pos = 0;
    for (int j = 0; j < nruns; j++) {
        size_t target = (total / (size_t)nruns) * (size_t)(j + 1);
        size_t first = index, in_start = in_pos, out_start = out_pos;
        while (index < count && (out_pos < target || j + 1 == nruns)) {
            in_pos += (size_t)lengths[index];
            out_pos += HEADER_SIZE + inner_size((size_t)lengths[index], pad_to) + TAG_SIZE;
            index++;
        }
        runs[j] = (seal_run){
            .key = k, .in = in + in_start, .in_len = in_pos - in_start,
            .lengths = lengths + first, .count = index - first, .out = out + out_start,
            .pad_to = pad_to, .content_type = content_type, .seq = seq + first,
            .rc = ENGINE_RECORDS_OK,
        };
    }
    int rc = seal_runs(runs, nruns, t, out, total);
    if (runs != &one)
        free(runs);
    pthread_mutex_unlock(&k->lock);
    if (rc != ENGINE_RECORDS_OK)
        return rc;
    *written = total;
    return ENGINE_RECORDS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* opening */

static inline size_t header_length(const unsigned char *rec)
{
    return ((size_t)rec[3] << 8) | rec[4];
}

/* Why a header stops a scan: 0 go on, 1 stop before it (incomplete, other type), 2 overflow. */
static inline int header_verdict(const unsigned char *rec, size_t left)
{
    if (left < HEADER_SIZE || rec[0] != APPLICATION_DATA)
        return 1;
    size_t length = header_length(rec);
    if (length > MAX_CIPHERTEXT || length > MAX_INNER + TAG_SIZE)
        return 2;
    if (left - HEADER_SIZE < length)
        return 1;
    return 0;
}

size_t engine_records_count(const unsigned char *in, size_t in_len, size_t *plaintext_bound)
{
    size_t pos = 0, n = 0, bound = 0;
    if (in != NULL) {
        while (header_verdict(in + pos, in_len - pos) == 0) {
            size_t length = header_length(in + pos);
            bound += length >= TAG_SIZE ? length - TAG_SIZE : 0;
            pos += HEADER_SIZE + length;
            n++;
        }
    }
    if (plaintext_bound != NULL)
        *plaintext_bound = bound;
    return n;
}

typedef struct open_run {
    engine_record_key *key;
    const unsigned char *in;      /* first record of the run */
    size_t nrec;                  /* complete records in the run */
    size_t limit;                 /* bytes of `out` this run may write (the next run's start) */
    unsigned char *out;           /* where the run's first plaintext goes */
    size_t out_base;              /* offset of `out` in the whole output buffer */
    uint64_t *segments;           /* the run's first triple */
    uint64_t seq;
    /* results */
    size_t done;                  /* records opened */
    size_t consumed;              /* wire bytes they took */
    size_t content;               /* plaintext bytes they gave */
    size_t extent;                /* bytes of `out` written, counted from `out` */
    int rc;                       /* why the run stopped early, or OK */
    int stopped;                  /* 1 if a record with inner type != 23 ended the run */
} open_run;

/* Open a run's records one after another. A record whose whole inner plaintext would pass the
 * run's limit is opened into the slot's scratch space and only its content copied. */
static void open_run_job(void *p, int slot)
{
    open_run *r = p;
    EVP_CIPHER_CTX *ctx = r->key->ctx[slot];
    unsigned char *scratch = r->key->scratch[slot];
    const unsigned char *iv = r->key->iv;
    const unsigned char *rec = r->in;
    size_t off = 0;
    r->done = r->consumed = r->content = r->extent = 0;
    r->rc = ENGINE_RECORDS_OK;
    r->stopped = 0;
    for (size_t i = 0; i < r->nrec; i++) {
        size_t length = header_length(rec);
        size_t plen = length >= TAG_SIZE ? length - TAG_SIZE : 0;
        int via_scratch = plen > r->limit - off;
        unsigned char *target = via_scratch ? scratch : r->out + off;
        int rc = open_one(ctx, iv, r->seq + i, rec, length, target);
        if (!via_scratch && off + plen > r->extent)
            r->extent = off + plen;
        if (rc != ENGINE_RECORDS_OK) {
            r->rc = rc;
            return;
        }
        long clen = content_length(target, plen);
        if (clen < 0) {
            r->rc = ENGINE_RECORDS_UNEXPECTED;
            return;
        }
        unsigned char type = target[clen];
        if (via_scratch) {
            memcpy(r->out + off, target, (size_t)clen);
            OPENSSL_cleanse(target, plen);
            if (off + (size_t)clen > r->extent)
                r->extent = off + (size_t)clen;
        }
        r->segments[3 * i] = type;
        r->segments[3 * i + 1] = r->out_base + off;
        r->segments[3 * i + 2] = (uint64_t)clen;
        off += (size_t)clen;
        r->content = off;
        r->done = i + 1;
        r->consumed += HEADER_SIZE + length;
        rec += HEADER_SIZE + length;
        if (type != APPLICATION_DATA) {
            r->stopped = 1;
            return;
        }
    }
}

/* Open records one after another, reading each header as it comes: each plaintext goes right
 * after the previous one's content. */
static int open_serial(engine_record_key *k, const unsigned char *in, size_t in_len,
                       uint64_t seq, unsigned char *out, size_t out_cap, uint64_t *segments,
                       size_t max_segments, size_t *records, size_t *consumed)
{
    size_t pos = 0, off = 0, i = 0;
    int rc = ENGINE_RECORDS_OK;
    for (;; i++) {
        int verdict = header_verdict(in + pos, in_len - pos);
        if (verdict != 0) {
            rc = verdict == 2 ? ENGINE_RECORDS_OVERFLOW : ENGINE_RECORDS_OK;
            break;
        }
        if (i == max_segments)
            break;
        if (!seq_room_for(seq, i + 1)) {
            rc = ENGINE_RECORDS_SEQ;
            break;
        }
        const unsigned char *rec = in + pos;
        size_t length = header_length(rec);
        size_t plen = length >= TAG_SIZE ? length - TAG_SIZE : 0;
        if (plen > out_cap - off) {
            rc = i == 0 ? ENGINE_RECORDS_SPACE : ENGINE_RECORDS_OK;
            break;
        }
        rc = open_one(k->ctx[0], k->iv, seq + i, rec, length, out + off);
        if (rc != ENGINE_RECORDS_OK)
            break;
        long clen = content_length(out + off, plen);
        if (clen < 0) {
            rc = ENGINE_RECORDS_UNEXPECTED;
            break;
        }
        unsigned char type = out[off + (size_t)clen];
        segments[3 * i] = type;
        segments[3 * i + 1] = off;
        segments[3 * i + 2] = (uint64_t)clen;
        off += (size_t)clen;
        pos += HEADER_SIZE + length;
        if (type != APPLICATION_DATA) {
            i++;
            break;
        }
    }
    *records = i;
    *consumed = pos;
    return rc;
}

int engine_records_open(engine_record_key *k, const unsigned char *in, size_t in_len,
                        uint64_t seq, unsigned char *out, size_t out_cap,
                        int threads, uint64_t *segments, size_t max_segments,
                        size_t *records, size_t *consumed)
{
    if (k == NULL || k->encrypt || records == NULL || consumed == NULL
        || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || (segments == NULL && max_segments > 0) || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *records = 0;
    *consumed = 0;
    int rc = ENGINE_RECORDS_OK;
    if (threads < 2 || in_len < PARALLEL_MIN_BYTES) {
        if (pthread_mutex_trylock(&k->lock) != 0)
            return ENGINE_RECORDS_EBUSY;
        rc = open_serial(k, in, in_len, seq, out, out_cap, segments, max_segments, records,
                         consumed);
        pthread_mutex_unlock(&k->lock);
        return rc;
    }

    /* Scan the headers: which complete records to open, and why the scan ends. The plaintext
     * of record i needs its whole inner plaintext (length - 16 bytes) at its offset. */
    size_t pos = 0, nrec = 0, bound = 0;
    int stop_rc = ENGINE_RECORDS_OK;
    for (;;) {
        int verdict = header_verdict(in + pos, in_len - pos);
        if (verdict == 2)
            stop_rc = ENGINE_RECORDS_OVERFLOW;
        if (verdict != 0 || nrec == max_segments)
            break;
        if (!seq_room_for(seq, nrec + 1)) {
            stop_rc = ENGINE_RECORDS_SEQ;
            break;
        }
        size_t length = header_length(in + pos);
        bound += length >= TAG_SIZE ? length - TAG_SIZE : 0;
        pos += HEADER_SIZE + length;
        nrec++;
    }
    if (nrec == 0)
        return stop_rc;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    if (ensure_contexts(k, 1) < 1 || k->scratch[0] == NULL) {
        pthread_mutex_unlock(&k->lock);
        return ENGINE_RECORDS_ENOMEM;
    }

    /* Several threads only when every plaintext fits at its worst-case offset. */
    int t = bound <= out_cap ? usable_threads(k, threads, nrec, pos) : 1;
    size_t done = 0, used = 0, content = 0;

    if (t == 1) {
        rc = open_serial(k, in, in_len, seq, out, out_cap, segments, max_segments, &done,
                         &used);
    } else {
        /* Runs of about equal wire bytes. Run j's plaintexts start where they would if no
         * record before it were padded (the sum of length - 17 over those records), and the
         * run writes nothing past the next run's start. Afterwards runs are moved down where
         * padding made that guess too large. The last run has room for everything since
         * out_cap covers the sum of length - 16. */
        int nruns = chunk_count(t, nrec, pos);
        open_run *runs = calloc((size_t)nruns, sizeof(open_run));
        if (runs == NULL) {
            pthread_mutex_unlock(&k->lock);
            return ENGINE_RECORDS_ENOMEM;
        }
        const unsigned char *rec = in;
        size_t index = 0, assumed = 0, wire = 0;
        for (int j = 0; j < nruns; j++) {
            size_t target = (pos / (size_t)nruns) * (size_t)(j + 1);
            size_t start = index, base = assumed;
            open_run *r = &runs[j];
            r->key = k;
            r->in = rec;
            r->out = out + assumed;
            r->out_base = assumed;
            r->segments = segments + 3 * index;
            r->seq = seq + index;
            while (index < nrec && (index == start || j + 1 == nruns || wire < target)) {
                size_t length = header_length(rec);
                size_t plen = length >= TAG_SIZE ? length - TAG_SIZE : 0;
                assumed += plen > 0 ? plen - 1 : 0;
                wire += HEADER_SIZE + length;
                rec += HEADER_SIZE + length;
                index++;
            }
            r->nrec = index - start;
            r->limit = j + 1 < nruns ? assumed - base : SIZE_MAX;
        }
        run_jobs(open_run_job, runs, sizeof(runs[0]), nruns, t);

        size_t written_end = 0;
        for (int j = 0; j < nruns; j++) {
            size_t end = runs[j].out_base + runs[j].extent;
            if (end > written_end)
                written_end = end;
        }
        int j = 0;
        for (; j < nruns; j++) {
            open_run *r = &runs[j];
            if (r->out_base != content) {
                if (r->content > 0)
                    memmove(out + content, out + r->out_base, r->content);
                for (size_t i = 0; i < r->done; i++)
                    r->segments[3 * i + 1] -= (uint64_t)(r->out_base - content);
            }
            content += r->content;
            done += r->done;
            used += r->consumed;
            if (r->rc != ENGINE_RECORDS_OK || r->stopped || r->done < r->nrec) {
                rc = r->rc;
                break;
            }
        }
        if (j == nruns)
            rc = stop_rc;
        /* Nothing past the last plaintext released is left behind. */
        if (written_end > content)
            OPENSSL_cleanse(out + content, written_end - content);
        free(runs);
    }
    pthread_mutex_unlock(&k->lock);
    *records = done;
    *consumed = used;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* the limit: one AEAD operation, no framing */

int engine_aead_oneshot(engine_record_key *k, const unsigned char *in, size_t in_len,
                        unsigned char *out, size_t out_cap, size_t *written)
{
    if (k == NULL || written == NULL || (in == NULL && in_len > 0) || (out == NULL && out_cap > 0)
        || overlaps(in, in_len, out, out_cap))
        return ENGINE_RECORDS_EINVAL;
    *written = 0;
    size_t body = in_len;
    if (!k->encrypt) {
        if (in_len < TAG_SIZE)
            return ENGINE_RECORDS_AUTH;
        body = in_len - TAG_SIZE;
    }
    size_t need = k->encrypt ? in_len + TAG_SIZE : body;
    if (k->encrypt && in_len > SIZE_MAX - TAG_SIZE)
        return ENGINE_RECORDS_SPACE;
    if (need > out_cap)
        return ENGINE_RECORDS_SPACE;
    if (pthread_mutex_trylock(&k->lock) != 0)
        return ENGINE_RECORDS_EBUSY;
    EVP_CIPHER_CTX *ctx = k->ctx[0];
    int n = 0, rc = ENGINE_RECORDS_OK;
    if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, k->iv, k->encrypt) != 1)
        rc = ENGINE_RECORDS_ECRYPTO;
    for (size_t done = 0; rc == ENGINE_RECORDS_OK && done < body;) {
        size_t chunk = body - done > (size_t)(INT_MAX / 2) ? (size_t)(INT_MAX / 2) : body - done;
        if (EVP_CipherUpdate(ctx, out + done, &n, in + done, (int)chunk) != 1)
            rc = ENGINE_RECORDS_ECRYPTO;
        done += chunk;
    }
    if (rc == ENGINE_RECORDS_OK) {
        if (k->encrypt) {
            if (EVP_CipherFinal_ex(ctx, out + body, &n) != 1
                || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_SIZE, out + body) != 1)
                rc = ENGINE_RECORDS_ECRYPTO;
        } else {
            unsigned char tag[TAG_SIZE];
            memcpy(tag, in + body, TAG_SIZE);
            if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_SIZE, tag) != 1)
                rc = ENGINE_RECORDS_ECRYPTO;
            else if (EVP_CipherFinal_ex(ctx, out + body, &n) != 1)
                rc = ENGINE_RECORDS_AUTH;
        }
    }
    pthread_mutex_unlock(&k->lock);
    if (rc != ENGINE_RECORDS_OK) {
        OPENSSL_cleanse(out, need);
        return rc;
    }
    *written = need;
    return ENGINE_RECORDS_OK;
}
