/*
 * cli_progress.c - the program's progress line: on a terminal, when a
 * run has taken a second, stderr shows what it is doing ("reading
 * definitions 4,120/10,000") until it ends, then the line is erased.
 * Never when stderr is not a terminal, or with --quiet.
 * STRUERE_PROGRESS_MS sets the delay; 0 (or less) also shows each phase
 * as it begins and again once its total is known, however short (what
 * the tests rely on: the line then does not depend on when this thread
 * gets to run).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { TICK_MS = 200, DELAY_MS = 1000 };

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static const char *phase_name(int phase)
{
    switch (phase) {
    case PROGRESS_READ:
        return "reading definitions";
    case PROGRESS_CHECK:
        return "checking across definitions";
    case PROGRESS_COMPILE:
        return "compiling bundles";
    case PROGRESS_COMMIT:
        return "writing to the store";
    default:
        return NULL;
    }
}

static long delay_ms(void)
{
    const char *env = getenv("STRUERE_PROGRESS_MS");
    return env ? atol(env) : DELAY_MS;
}

static void show(struct cli_progress *cp)
{
    const char *name = phase_name(atomic_load(&cp->pr.phase));
    size_t done = atomic_load(&cp->pr.done);
    size_t total = atomic_load(&cp->pr.total);
    if (!name)
        return;
    if (total)
        fprintf(stderr, "\r\033[K%s %zu/%zu", name, done, total);
    else
        fprintf(stderr, "\r\033[K%s", name);
    fflush(stderr);
    atomic_store(&cp->shown, 1);
}

/* pr is the first member of its cli_progress. */
_Static_assert(offsetof(struct cli_progress, pr) == 0,
               "began finds its cli_progress at its progress");
static void began(struct progress *pr)
{
    struct cli_progress *cp = (struct cli_progress *)pr;
    if (!atomic_load(&cp->stop))
        show(cp);
}

static void *tick(void *arg)
{
    struct cli_progress *cp = arg;
    long delay = delay_ms();
    long every = delay / 5 < 5 ? 5 : delay / 5 > TICK_MS ? TICK_MS : delay / 5;
    for (long waited = 0; waited < delay; waited += every) {
        if (atomic_load(&cp->stop))
            return NULL;
        sleep_ms(every);
    }
    while (!atomic_load(&cp->stop)) {
        show(cp);
        sleep_ms(every);
    }
    return NULL;
}

struct progress *cli_progress_start(struct cli_progress *cp,
                                    const struct cli *g)
{
    atomic_store(&cp->stop, 0);
    atomic_store(&cp->pr.phase, PROGRESS_NONE);
    atomic_store(&cp->pr.done, 0);
    atomic_store(&cp->pr.total, 0);
    atomic_store(&cp->shown, 0);
    cp->pr.began = NULL;
    cp->running = !g->quiet && isatty(STDERR_FILENO) &&
                  pthread_create(&cp->thread, NULL, tick, cp) == 0;
    if (cp->running && delay_ms() <= 0)
        cp->pr.began = began;
    return &cp->pr;
}

void cli_progress_stop(struct cli_progress *cp)
{
    if (!cp->running)
        return;
    atomic_store(&cp->stop, 1);
    pthread_join(cp->thread, NULL);
    cp->running = 0;
    if (atomic_load(&cp->shown)) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
