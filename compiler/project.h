/*
 * project.h - a definition project in memory: every definition file,
 * parsed, validated against its schema, with its per-environment views.
 * project_load does the per-file work (in parallel); check.c then checks
 * the definitions against each other.
 */
#ifndef STRUERE_PROJECT_H
#define STRUERE_PROJECT_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"
#include "schema.h"
#include "source.h"

struct node;
struct source;
struct markdown;
struct defcache;

enum kind {
    KIND_AGENT,
    KIND_DATA,
    KIND_ROLE,
    KIND_AUTOMATION,
    KIND_TOOL,
    KIND_EVAL,
    KIND_FIXTURE,
    KIND_TEST, /* policy tests: checked, never compiled into a bundle */
    KIND_COUNT,
    KIND_PROJECT = KIND_COUNT, /* struere.yaml */
};

#include "env.h"

struct def {
    enum kind kind;
    bool has_overlay[ENV_COUNT];
    bool restored;    /* from the defcache, not parsed this run */
    const char *path; /* display path, relative to the project */
    const struct source *src;
    struct node *root;            /* NULL when the file could not be parsed */
    struct node *view[ENV_COUNT]; /* base merged with that env's overlay */
    const char *slug;             /* identity; NULL when missing */
    const struct node *slug_node;
    struct markdown *md; /* agents written as Markdown */
    char sha256[65];     /* of the file's bytes, hex ("" until
                            read with hash_on_read, or
                            project_hash_sources) */
    bool listed_regular; /* its directory's listing said a regular file */
    /* Per environment, the result of its checks between definitions when
     * they reported nothing (xcheck.h), for dev's cache; NULL otherwise. */
    uint32_t xcheck_len[ENV_COUNT];
    const unsigned char *xcheck[ENV_COUNT];
    struct diag_list diags; /* problems found in this file alone */
    struct file_stat stat;  /* of the file, taken before reading it */
};
/* Fields ordered so that the only padding is the 2 bytes after listed_regular:
 * a project of 100,000 definitions has 100,000 of them. */
_Static_assert(sizeof(struct def) <= 280, "a def is at most 280 bytes");

/* A worker thread's arena, alone on its cache lines: every allocation
 * writes the arena's fields, and two arenas sharing a line would have the
 * cores pass it back and forth on each (check at 10,000 on two cores:
 * 3-10% more CPU with them on one line, bench/RESULTS.md). */
struct worker_arena {
    _Alignas(64) struct arena a;
};

struct project {
    struct arena arena;
    const char *dir; /* project directory as given */
    /* dir opened (O_PATH) by project_open_shared: definition files are
     * looked up from it by their path relative to dir, a component or
     * two, not from the root again (-C /a/long/path). 0 when it could
     * not be opened (or would have been descriptor 0): by the whole
     * path dir/rel then. Discovery lists the kinds' directories from it
     * too: the names listed and the plain files read come from one
     * directory, even when dir is re-pointed during a run. A link (a
     * kind directory or a definition file) is resolved by its whole path,
     * to check that it stays inside real_dir; a linked kind directory is
     * listed only when the one opened is the one checked. */
    int dir_fd;
    const char *real_dir; /* the same resolved (realpath): files must
                             resolve inside it */
    struct schema_set schemas;
    struct def *config; /* struere.yaml */
    struct def *defs[KIND_COUNT];
    size_t ndefs[KIND_COUNT];
    /* Each kind's directory as discovery listed it, kept open (NULL where
     * it was not listed; its descriptor may be 0): its files are looked up
     * from it by name, so that a directory re-pointed since (a link put
     * in its place) does not change which regular files are read. A
     * file that is itself a link is resolved by its path, and read only
     * when that stays inside the project. */
    DIR *kind_dir[KIND_COUNT];
    struct diag_list diags; /* everything, once project_check is done */
    struct worker_arena *worker_arenas; /* one per thread of the pool */
    size_t nworkers;
    int io_error;              /* a file could not be read: exit 3 */
    bool schemas_shared;       /* schemas belong to the caller */
    struct progress *progress; /* how far the run is, or NULL */
    struct defcache *cache;    /* restored trees point into it: the project
                                  owns it (project_free frees it last) */
    unsigned overlay_envs;     /* bit per env some definition overlays */
    /* Take each file's SHA-256 as it is read (sha256), before its text
     * is let go: set by callers that compile or cache (project_load
     * sets it; check_project as check_options.hash_sources says). */
    bool hash_on_read;
    /* Note each definition's reads in the checks between definitions and
     * take unchanged results from p->cache (check_options.cache given). */
    bool keep_xchecks;
    size_t xchecks_reused; /* results taken from the cache this run */
};

/* Reads and checks the project in dir: discovery, parsing, schema
 * validation, overlays and single-file checks, using `threads` workers
 * (0: one per core). Returns 0, or -1 when the schemas themselves are
 * unusable. Diagnostics end up in p->diags (unsorted). It is
 * project_load_config then project_load_defs without a cache. */
int project_load(struct project *p, const char *dir, unsigned threads);
/* Whether an allocation failed in any of p's arenas: what p holds is
 * then incomplete (a diagnostic or a definition may be missing). */
bool project_out_of_memory(const struct project *p);
/* The first half: opens the project and reads struere.yaml alone, so
 * that the caller can act on its settings (where the store is) before
 * the definitions are read. p->config stays NULL when there is no
 * struere.yaml (a diagnostic says so). Returns 0, or -1 as above. */
int project_load_config(struct project *p, const char *dir);
/* Fills the SHA-256 of every definition read from its file (`sha256`)
 * whose text is still held (a Markdown agent's, struere.yaml; any file's once
 * read with hash_on_read is hashed already): the compiler and dev's definition
 * cache key on it, `check` alone never hashes. Definitions restored from the
 * cache keep theirs. */
void project_hash_sources(struct project *p);

/* The second half: finds and reads every definition file. A file that
 * cache (may be NULL) holds unchanged is restored from it instead of
 * being parsed and checked again: the same tree, views and identity. */
int project_load_defs(struct project *p, unsigned threads,
                      const struct defcache *cache);
/* Reads the text of definitions not held (restored, or let go once
 * parsed: source_release) that the diagnostics a report
 * shows (the first LIMIT_DIAGNOSTICS, once sorted) point into, so that
 * they can quote their lines. */
void project_read_quoted_sources(struct project *p);
/* Where the project's git store is: given (--store, a path usable as it
 * is) when not NULL, else struere.yaml's store: (taken from dir), else
 * dir (the repository enclosing it). p may be NULL. buf receives a
 * joined path when one is needed; returns it, given or dir. */
const char *project_store_path(const struct project *p, const char *dir,
                               const char *given, char *buf, size_t size);
/* Starts an empty project for dir: arena, diagnostics, schemas. Returns
 * 0, or -1 when the schemas are unusable. project_load calls it. */
int project_open(struct project *p, const char *dir);
/* The same with schemas loaded once by the caller (shared read-only,
 * not freed by project_free); for the fuzzer and long-running hosts. */
void project_open_shared(struct project *p, const char *dir,
                         const struct schema_set *schemas);
/* Runs the per-file pipeline on bytes already in memory (d->kind and
 * d->path set by the caller): parse, validate, overlays, identity, the
 * kind's single-file checks. Allocates from a; findings go to d->diags. */
void project_parse_def(struct project *p, struct arena *a, struct def *d,
                       const char *bytes, size_t len);
/* Releases everything project_open and project_load allocated. */
void project_free(struct project *p);

/* Where d's file is looked up from: the descriptor of its kind's
 * directory as listed, with *name its file name there; else the project
 * directory's, with *name its path relative to it; else AT_FDCWD, with
 * *name NULL (the caller builds the whole path). */
int project_file_at(const struct project *p, const struct def *d,
                    const char **name);
/* The same for a file by its path relative to the project, its kind
 * told by its directory ("agents/x.yaml"). */
int project_path_at(const struct project *p, const char *rel,
                    const char **name);

#endif
