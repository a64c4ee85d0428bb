/*
 * progress.h - how far a long run is: counters that the pipeline (the
 * project's reading, check, compile, dev's commits) updates and that the
 * program shows on a terminal (cli_progress.c). The library never prints;
 * every call takes NULL (no one is watching).
 */
#ifndef STRUERE_PROGRESS_H
#define STRUERE_PROGRESS_H

#include <stdatomic.h>
#include <stddef.h>

enum progress_phase {
    PROGRESS_NONE,
    PROGRESS_READ,    /* definition files read and parsed: done of total */
    PROGRESS_CHECK,   /* the checks between definitions */
    PROGRESS_COMPILE, /* bundles compiled and written */
    PROGRESS_COMMIT,  /* objects and commits written to the store */
};

struct progress {
    atomic_int phase;
    atomic_size_t done, total;
    /* Called by progress_phase once the phase is stored, and by
     * progress_total once its total is, in the caller's thread, or NULL:
     * what shows the line at once when asked to (cli_progress.c), so that
     * no phase, nor its count, is missed between two looks. */
    void (*began)(struct progress *pr);
};

/* A new phase: `total` steps (0: not counted). */
void progress_phase(struct progress *pr, enum progress_phase phase,
                    size_t total);
/* The phase's total, once it is known (its steps may have begun). */
void progress_total(struct progress *pr, size_t total);
/* One step of the phase done. */
void progress_step(struct progress *pr);

#endif
