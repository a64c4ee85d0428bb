/*
 * test_pool.c - the worker pool: every item run exactly once, on a worker
 * index below the count of workers, also when the items are published
 * while the pool runs (pool_run_fed) in steps, all at once, or not at all.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "pool.h"

enum { ITEMS = 5000 };

struct tally {
    unsigned runs[ITEMS];   /* atomic: times item i was run */
    unsigned worker[ITEMS]; /* the worker that ran it */
    size_t published;       /* atomic: how many the feed had published */
    bool past_published;    /* atomic: an item ran before it was published */
    bool out_of_range;      /* atomic: an index past ITEMS was run */
    bool run_while_feeding; /* an item ran before the feed went on */
    /* The feed: publish in `steps` steps up to `items`, pausing after
     * each so that the workers run dry and wait. */
    size_t items, steps;
};

static void run_item(void *ctx, size_t i, unsigned w)
{
    struct tally *t = ctx;
    if (i >= ITEMS) { /* no slot to count it in */
        __atomic_store_n(&t->out_of_range, true, __ATOMIC_RELAXED);
        return;
    }
    if (i >= __atomic_load_n(&t->published, __ATOMIC_ACQUIRE))
        __atomic_store_n(&t->past_published, true, __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->runs[i], 1, __ATOMIC_RELAXED);
    t->worker[i] = w;
}

static void feed_steps(void *ctx, struct pool_feed *feed)
{
    struct tally *t = ctx;
    for (size_t s = 1; s <= t->steps; s++) {
        size_t upto = t->items * s / t->steps;
        __atomic_store_n(&t->published, upto, __ATOMIC_RELEASE);
        pool_feed_publish(feed, upto);
        struct timespec pause = {0, 200000}; /* 0.2 ms: the workers wait */
        nanosleep(&pause, NULL);
    }
}

/* Every item below t->items run once, none past it, none early, each on
 * a worker below `workers`. */
static void check_tally(const struct tally *t, unsigned workers)
{
    bool once = true, in_range = true, beyond = false;
    for (size_t i = 0; i < ITEMS; i++) {
        if (i < t->items) {
            once = once && t->runs[i] == 1;
            in_range = in_range && t->worker[i] < workers;
        } else {
            beyond = beyond || t->runs[i] != 0;
        }
    }
    CHECK(once);
    CHECK(in_range);
    CHECK(!beyond);
    CHECK(!t->past_published);
    CHECK(!t->out_of_range);
}

/* A fed run of `items` published in `steps` steps on `threads`
 * workers, at most `most`: the number of workers it ran, each item
 * checked. */
static unsigned fed_run_most(size_t items, size_t steps, unsigned threads,
                             unsigned most)
{
    static struct tally t;
    memset(&t, 0, sizeof(t));
    t.items = items;
    t.steps = steps;
    unsigned ran = pool_run_fed(threads, most, feed_steps, run_item, &t);
    check_tally(&t, ran);
    return ran;
}

static unsigned fed_run(size_t items, size_t steps, unsigned threads)
{
    return fed_run_most(items, steps, threads, 64);
}

static void test_fed_in_steps(void)
{
    /* fixed: exactly that many workers; else as pool_threads says */
    for (unsigned threads = 0; threads <= 4; threads++)
        CHECK(fed_run(ITEMS, 7, threads) ==
              (threads ? threads : pool_threads(ITEMS)));
}

static void test_fed_all_at_once_or_none(void)
{
    CHECK(fed_run(ITEMS, 1, 3) == 3);
    /* Nothing published: no item, one worker (the caller), no wait. */
    CHECK(fed_run(0, 1, 0) == 1);
    /* A few items: not worth a thread (pool_threads). */
    CHECK(fed_run(5, 5, 0) == pool_threads(5));
    /* Never more than `most`, asked for or not (the caller's per-worker
     * state has room for that many). */
    CHECK(fed_run_most(ITEMS, 3, 8, 2) == 2);
    CHECK(fed_run_most(ITEMS, 3, 0, 1) == 1);
}

/* Repeated short runs: a worker waiting when the feed ends must wake. */
static void test_fed_many_runs(void)
{
    static struct tally t;
    bool all = true;
    for (int r = 0; r < 200; r++) {
        memset(&t, 0, sizeof(t));
        t.items = 64 + (size_t)r;
        t.steps = 1 + (size_t)(r % 4);
        unsigned ran =
            pool_run_fed(2 + (unsigned)(r % 3), 64, feed_steps, run_item, &t);
        for (size_t i = 0; i < t.items; i++)
            all = all && t.runs[i] == 1 && t.worker[i] < ran;
        all = all && !t.past_published && !t.out_of_range;
    }
    CHECK(all);
}

/* The point of a fed pool: the workers run what is published while the
 * feed goes on. This feed publishes one item and waits for a worker to
 * have run it before it publishes the rest (at most 10 s: a pool that
 * starts its workers only once the feed is done never runs it in time). */
static void feed_then_wait(void *ctx, struct pool_feed *feed)
{
    struct tally *t = ctx;
    __atomic_store_n(&t->published, 1, __ATOMIC_RELEASE);
    pool_feed_publish(feed, 1);
    struct timespec pause = {0, 1000000}; /* 1 ms */
    for (int waited = 0; waited < 10000; waited++) {
        if (__atomic_load_n(&t->runs[0], __ATOMIC_ACQUIRE))
            break;
        nanosleep(&pause, NULL);
    }
    t->run_while_feeding = __atomic_load_n(&t->runs[0], __ATOMIC_ACQUIRE);
    __atomic_store_n(&t->published, t->items, __ATOMIC_RELEASE);
    pool_feed_publish(feed, t->items);
}

static void test_fed_runs_while_feeding(void)
{
    static struct tally t;
    memset(&t, 0, sizeof(t));
    t.items = 100;
    unsigned ran = pool_run_fed(2, 64, feed_then_wait, run_item, &t);
    CHECK(ran == 2);
    CHECK(t.run_while_feeding);
    check_tally(&t, ran);
}

/* pool_run inside a pool_run item: each run has its own state. */
static void run_nested(void *ctx, size_t i, unsigned w)
{
    (void)w;
    struct tally *inner = (struct tally *)ctx + 1 + i;
    pool_run(3, inner->items, run_item, inner);
}

static void test_run_edges(void)
{
    static struct tally t[4];
    memset(t, 0, sizeof(t));
    /* No items; zero threads asked for (one, the caller). */
    pool_run(4, 0, run_item, &t[0]);
    pool_run(0, 0, run_item, &t[0]);
    check_tally(&t[0], 1);
    t[0].items = t[0].published = 10;
    pool_run(0, 10, run_item, &t[0]);
    check_tally(&t[0], 1);
    /* Nested: three runs of 1,000 items, each on three workers, from
     * inside a run on three. */
    for (int i = 1; i < 4; i++)
        t[i].items = t[i].published = 1000;
    pool_run(3, 3, run_nested, t);
    for (int i = 1; i < 4; i++)
        check_tally(&t[i], 3);
}

static void test_run(void)
{
    static struct tally t;
    memset(&t, 0, sizeof(t));
    t.items = ITEMS;
    t.published = ITEMS;
    pool_run(4, ITEMS, run_item, &t);
    check_tally(&t, 4);
}

const struct test pool_tests[] = {
    {"pool_run: every item once", test_run},
    {"pool_run_fed: items published in steps", test_fed_in_steps},
    {"pool_run_fed: all at once, none, a few", test_fed_all_at_once_or_none},
    {"pool_run_fed: 200 short runs", test_fed_many_runs},
    {"pool_run_fed: items run while the feed goes on",
     test_fed_runs_while_feeding},
    {"pool_run: no items, no threads, nested", test_run_edges},
    {0, 0},
};
