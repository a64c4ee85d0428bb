/*
 * pool.h - run a job over items on worker threads: the calling thread
 * works too, items are handed out one at a time through an atomic
 * counter, and each worker has its own arena for what it allocates.
 */
#ifndef STRUERE_POOL_H
#define STRUERE_POOL_H

#include <stddef.h>

struct arena;

/* Called for item i by worker w (0 <= w < threads). */
typedef void (*pool_fn)(void *ctx, size_t i, unsigned w);

/* Workers available: STRUERE_THREADS, else one per core (at most 64). */
unsigned pool_cores(void);
/* Number of workers for count small items: pool_cores(), never more
 * than is useful for count (one per 8 items). */
unsigned pool_threads(size_t count);
/* The same for count large items (a bundle each): one worker per item,
 * at most pool_cores(). */
unsigned pool_threads_large(size_t count);
/* Runs fn over items 0..count-1 on `threads` workers; returns when all
 * are done. Falls back to fewer threads if some cannot be started. */
void pool_run(unsigned threads, size_t count, pool_fn fn, void *ctx);

#endif
