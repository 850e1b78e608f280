#ifndef ENGINE_POOL_INTERNAL_H
#define ENGINE_POOL_INTERNAL_H

/* A small pool of worker threads that lives as long as the process (engine_pool.c).
 *
 * A batch is cut into more jobs than threads; the calling thread and the workers it wakes claim
 * jobs in turn from an atomic counter, each with its own "slot" (0 is the caller) so that each
 * may use its own per-slot state (a cipher context, scratch space). A worker that has not
 * started when the caller runs out of jobs is called off, so a busy machine makes a threaded
 * call no slower than a single-threaded one. Not part of the Python interface. */

#include <stddef.h>

#define ENGINE_POOL_MAX_THREADS 64

/* Run fn(jobs + i * size, slot) for every i in [0, njobs) on up to `threads` threads (slots
 * 0 .. threads - 1, slot 0 being the calling thread). Runs on the caller alone if the pool is
 * in use by another call or no worker can be started. */
void engine_pool_run(void (*fn)(void *job, int slot), void *jobs, size_t size, int njobs,
                     int threads);

/* How many jobs to cut a batch of `items` items and `bytes` bytes into for `threads` threads:
 * about 64 KiB each, at least two per thread, at most 256, at most one per item. */
int engine_pool_chunks(int threads, size_t items, size_t bytes);

#endif
