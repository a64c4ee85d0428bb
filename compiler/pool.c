/*
 * pool.c - the worker pool of the per-file and per-definition phases.
 */
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

unsigned pool_cores(void)
{
    unsigned threads = 0;
    const char *env = getenv("STRUERE_THREADS");
    if (env && atoi(env) > 0)
        threads = (unsigned)atoi(env);
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1;
    }
    return threads > POOL_MAX_THREADS ? POOL_MAX_THREADS : threads;
}

unsigned pool_threads(size_t count)
{
    unsigned threads = pool_cores();
    size_t useful = count / 8 + 1;
    return threads > useful ? (unsigned)useful : threads;
}

unsigned pool_threads_large(size_t count)
{
    unsigned threads = pool_cores();
    return count < threads ? (count ? (unsigned)count : 1) : threads;
}

/* Each worker claims the next index (fetch-add) and runs it once it is
 * published; one claimed past what is published waits for more, or for
 * the feed's end, when it is not an item at all. A run whose items are
 * all known at the start (pool_run) publishes them at once. */

struct pool_feed {
    pool_fn fn;
    void *ctx;
    size_t next;      /* atomic: the next index to claim */
    size_t published; /* atomic (written under lock): indexes below are ready */
    bool done;        /* under lock: nothing more will be published */
    pthread_mutex_t lock;
    pthread_cond_t more;
    unsigned fixed;   /* threads asked for, or 0 */
    unsigned most;    /* never more workers than this */
    unsigned started; /* workers running (the caller is worker 0) */
    pthread_t tids[POOL_MAX_THREADS];
    struct feed_arg {
        struct pool_feed *feed;
        unsigned w;
    } args[POOL_MAX_THREADS];
};

/* Whether index i is an item: waits until it is published or the feed
 * has ended. */
static bool feed_ready(struct pool_feed *f, size_t i)
{
    if (i < __atomic_load_n(&f->published, __ATOMIC_ACQUIRE))
        return true;
    pthread_mutex_lock(&f->lock);
    while (i >= f->published && !f->done)
        pthread_cond_wait(&f->more, &f->lock);
    bool ready = i < f->published;
    pthread_mutex_unlock(&f->lock);
    return ready;
}

static void *work_fed(void *p)
{
    struct feed_arg *arg = p;
    struct pool_feed *f = arg->feed;
    for (;;) {
        size_t i = __atomic_fetch_add(&f->next, 1, __ATOMIC_RELAXED);
        if (!feed_ready(f, i))
            break;
        f->fn(f->ctx, i, arg->w);
    }
    return NULL;
}

void pool_feed_publish(struct pool_feed *f, size_t count)
{
    pthread_mutex_lock(&f->lock);
    if (count > f->published) {
        __atomic_store_n(&f->published, count, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&f->more);
    }
    pthread_mutex_unlock(&f->lock);
    unsigned want = f->fixed ? f->fixed : pool_threads(count);
    if (want > f->most)
        want = f->most;
    while (f->started < want) {
        unsigned w = f->started;
        f->args[w].feed = f;
        f->args[w].w = w;
        if (pthread_create(&f->tids[w], NULL, work_fed, &f->args[w]) != 0) {
            f->fixed = f->started; /* no more: the ones running do it */
            break;
        }
        f->started++;
    }
}

static unsigned run(unsigned threads, unsigned most, pool_feeder feed,
                    void *feed_ctx, pool_fn fn, void *ctx)
{
    struct pool_feed state = {.fn = fn, .ctx = ctx, .fixed = threads};
    state.most = most && most < POOL_MAX_THREADS ? most : POOL_MAX_THREADS;
    struct pool_feed *f = &state;
    f->started = 1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->more, NULL);
    feed(feed_ctx, f);
    pthread_mutex_lock(&f->lock);
    f->done = true;
    pthread_cond_broadcast(&f->more);
    pthread_mutex_unlock(&f->lock);
    f->args[0].feed = f;
    f->args[0].w = 0;
    work_fed(&f->args[0]);
    for (unsigned t = 1; t < f->started; t++)
        pthread_join(f->tids[t], NULL);
    unsigned ran = f->started;
    pthread_cond_destroy(&f->more);
    pthread_mutex_destroy(&f->lock);
    return ran;
}

unsigned pool_run_fed(unsigned threads, unsigned most, pool_feeder feed,
                      pool_fn fn, void *ctx)
{
    return run(threads, most, feed, ctx, fn, ctx);
}

static void publish_all(void *count, struct pool_feed *feed)
{
    pool_feed_publish(feed, *(const size_t *)count);
}

/* All items are there from the start: a feed that publishes them at
 * once. */
void pool_run(unsigned threads, size_t count, pool_fn fn, void *ctx)
{
    (void)run(threads ? threads : 1, POOL_MAX_THREADS, publish_all, &count, fn,
              ctx);
}
