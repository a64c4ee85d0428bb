/*
 * progress.c - how far a long run is (progress.h).
 */
#include "progress.h"

void progress_phase(struct progress *pr, enum progress_phase phase,
                    size_t total)
{
    if (!pr)
        return;
    atomic_store(&pr->done, 0);
    atomic_store(&pr->total, total);
    atomic_store(&pr->phase, (int)phase);
    if (pr->began)
        pr->began(pr);
}

void progress_total(struct progress *pr, size_t total)
{
    if (!pr)
        return;
    atomic_store(&pr->total, total);
    if (pr->began)
        pr->began(pr);
}

void progress_step(struct progress *pr)
{
    if (pr)
        atomic_fetch_add_explicit(&pr->done, 1, memory_order_relaxed);
}
