/*
 * pool.c - the worker pool of the per-file and per-definition phases.
 */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct pool_job {
    pool_fn fn;
    void *ctx;
    size_t count;
    size_t next; /* atomic */
};

struct pool_arg {
    struct pool_job *job;
    unsigned w;
};

static void *work(void *p)
{
    struct pool_arg *arg = p;
    struct pool_job *j = arg->job;
    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= j->count)
            break;
        j->fn(j->ctx, i, arg->w);
    }
    return NULL;
}

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
    return threads > 64 ? 64 : threads;
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

void pool_run(unsigned threads, size_t count, pool_fn fn, void *ctx)
{
    struct pool_job job = {.fn = fn, .ctx = ctx, .count = count};
    if (threads < 1)
        threads = 1;
    pthread_t tids[64];
    struct pool_arg args[64];
    unsigned started = 1;
    for (unsigned t = 0; t < threads && t < 64; t++) {
        args[t].job = &job;
        args[t].w = t;
    }
    for (unsigned t = 1; t < threads && t < 64; t++) {
        if (pthread_create(&tids[t], NULL, work, &args[t]) != 0)
            break;
        started++;
    }
    work(&args[0]);
    for (unsigned t = 1; t < started; t++)
        pthread_join(tids[t], NULL);
}
