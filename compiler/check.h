/*
 * check.h - the serial phase of `struere check`: per environment, index
 * the definitions by slug (duplicates), then run every kind's reference
 * checks and the project-wide ones.
 */
#ifndef STRUERE_CHECK_H
#define STRUERE_CHECK_H

#include <stdbool.h>

struct project;
struct defcache;

/* check_project's result when memory ran out: the diagnostics are
 * incomplete and must not be reported as the project's. */
#define CHECK_ENOMEM (-2)

/* What check_project may use besides the files (all optional). */
struct check_options {
    unsigned threads; /* as in project_load (0: one per core) */
    /* Called once struere.yaml is read (p->config set), before any
     * definition is: the cache of parsed definitions to restore unchanged
     * files from (defcache.h), or NULL. The project takes it: project_free
     * frees it. */
    struct defcache *(*cache)(const struct project *p, void *arg);
    void *arg;
    /* Counters of how far the run is (progress.h), kept in the project
     * for compile and dev to go on with; NULL: none. */
    struct progress *progress;
    /* The files' SHA-256 are wanted (compile's digests, dev's cache):
     * taken as each is read, since its text is let go once parsed. */
    bool hash_sources;
};

/* Loads and checks the project in dir: struere.yaml, every definition
 * (restored from opt's cache when unchanged), then the cross-definition
 * checks. opt may be NULL. Diagnostics end up sorted and de-duplicated in
 * p->diags, with the lines they quote readable. Returns 0, -1 when the
 * schemas themselves are unusable (an internal error), or CHECK_ENOMEM.
 * The one entry point
 * of every command that checks: check, build, dev and the others. */
int check_project(struct project *p, const char *dir,
                  const struct check_options *opt);

/* The serial phase alone, on a project whose definitions are loaded. */
void check_definitions(struct project *p);

#endif
