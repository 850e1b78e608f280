/* The worker pool of the record layer: see engine_pool_internal.h.
 *
 * Workers are detached threads with every signal blocked, so signals reach the threads the
 * process made itself. Each polls briefly for the next batch before sleeping on its
 * condition variable, so back-to-back batches do not pay for a wake-up. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "engine_pool_internal.h"

#define CHUNK_BYTES 65536 /* about how much one claimed job of a threaded batch holds */
#define MAX_CHUNKS 256
#define WORKER_SPIN_NS 20000u /* a worker polls this long for the next batch before sleeping */

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
static pool_worker *pool_workers[ENGINE_POOL_MAX_THREADS];
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
    while (pool_size < n && pool_size < ENGINE_POOL_MAX_THREADS) {
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

/* See engine_pool_internal.h. */
void engine_pool_run(void (*fn)(void *job, int slot), void *jobs, size_t size, int njobs,
                     int threads)
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

/* See engine_pool_internal.h. */
int engine_pool_chunks(int threads, size_t items, size_t bytes)
{
    if (threads <= 1)
        return 1;
    size_t n = bytes / CHUNK_BYTES;
    if (n < (size_t)threads * 2)
        n = (size_t)threads * 2;
    if (n > MAX_CHUNKS)
        n = MAX_CHUNKS;
    if (n > items)
        n = items;
    return n < 1 ? 1 : (int)n;
}

