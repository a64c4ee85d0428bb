/*
 * pool.h - run a job over items on worker threads: the calling thread
 * works too, items are handed out one at a time through an atomic
 * counter, and each worker has its own arena for what it allocates.
 */
#ifndef STRUERE_POOL_H
#define STRUERE_POOL_H

#include <stddef.h>

struct arena;

/* Workers in one run at most. */
#define POOL_MAX_THREADS 64

/* Called for item i by worker w (0 <= w < threads). */
typedef void (*pool_fn)(void *ctx, size_t i, unsigned w);

/* Workers available: STRUERE_THREADS, else one per core (at most
 * POOL_MAX_THREADS). */
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

/* A run whose items are found while it runs (pool_run_fed). */
struct pool_feed;
/* Finds the items, in the calling thread, announcing them as it goes
 * (pool_feed_publish). */
typedef void (*pool_feeder)(void *ctx, struct pool_feed *feed);
/* Items 0..count-1 are ready (count never decreases): the workers take
 * them while feed goes on, and more are started as there is work for
 * them (pool_threads(count), or all `threads` when that was fixed).
 * Called by the feed alone, in its thread. */
void pool_feed_publish(struct pool_feed *feed, size_t count);
/* Runs fn over the items that feed(ctx) publishes: the other workers
 * work while the calling thread feeds, which then works too (as worker
 * 0) until all are done. threads: 0 for pool_threads of the items, else
 * that many, started at the first publish (even of no items); never
 * more than most (the per-worker state there is room for), nor than can
 * be started. Returns the number of workers that ran (at least one:
 * worker indexes are below it). */
unsigned pool_run_fed(unsigned threads, unsigned most, pool_feeder feed,
                      pool_fn fn, void *ctx);

#endif
