/*
 * defcache.h - the cache of parsed definitions that `struere dev` keeps in
 * the store's git directory between runs, so that a run after a small
 * change parses and checks only the files that changed.
 *
 * For every definition file that had no problem of its own, the cache
 * holds what stat() said of it, its SHA-256 and its parsed tree. A file
 * whose stat still matches is restored instead of read, parsed and
 * checked again; a file written so shortly before the run that cached it
 * that a later write could leave the same stat (the file system's
 * timestamp granularity) is restored only when its bytes still hash the
 * same. It also keeps the results of the checks between definitions that
 * reported nothing, with what each read (xcheck.h), for struere.yaml's
 * digest: an unchanged file whose reads find the same is not checked
 * again.
 *
 * It is a file (the base) and, after a run that changed little, a small
 * file beside it (PATH.delta) holding what differs from the base, so
 * that such a run does not write the whole cache again (defcache.c).
 *
 * The cache is never trusted blindly and never an error: a file from
 * another build of the compiler or another project directory, one not
 * sealed with this store's key (a MAC), or one that does not read back
 * whole (bounds, limits), is ignored, and every file is then parsed as
 * without it.
 *
 * It sits below the project: it reads and writes definitions (struct
 * def), hands restored trees to the project (project_load_defs) and never
 * calls into it; the project owns an open cache while its trees are used.
 */
#ifndef STRUERE_DEFCACHE_H
#define STRUERE_DEFCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct project;
struct arena;
struct def;
struct defcache;

/* Where the project's cache lives: <git dir>/struere/defs-<digest of the
 * project's real path> (a store may hold several projects). Writes at
 * most size bytes; false when the path does not fit or the project
 * directory cannot be resolved. */
bool defcache_path(const char *git_dir, const char *project_dir, char *buf,
                   size_t size);
/* Opens the cache at path for project p (p->dir), with its delta
 * (path.delta) when that is sound and names this base. NULL when there is
 * no base or it is unusable. The trees restored from it point into its memory:
 * it must outlive the projects restored from it. Handed to a project
 * (p->cache, check_project), it is the project's: project_free frees it. */
struct defcache *defcache_open(const char *path, const struct project *p);
/* Restores d (kind and path set, nothing else; its file is in p's
 * directory) when the cache holds that file unchanged: its source (not
 * read: src->unread), tree, sha256 and stat, allocated from a; the tree's
 * strings point into c. The caller completes d (views, identity: the
 * project does, project.c). Returns false when d must be read and
 * parsed. Safe to call from several threads at once. */
bool defcache_restore(const struct defcache *c, const struct project *p,
                      struct arena *a, struct def *d);
/* The result of d's checks between definitions in environment env kept
 * by the cache (xcheck.h's bytes, pointing into c), when d's file and
 * p's struere.yaml have the SHA-256 they had when it was kept. */
bool defcache_xcheck(const struct defcache *c, const struct project *p,
                     const struct def *d, int env, const unsigned char **bytes,
                     size_t *len);
/* Saves the cache of p's definitions at path: what differs from old's
 * base as path.delta when that is small, else the whole cache as path
 * (and the delta removed); each through a temporary file renamed over
 * it, so readers see the old or the new file whole. started is the time
 * (CLOCK_REALTIME, ns) taken before the files were read; old (may be
 * NULL) is the cache p was restored from, opened at the same path, whose
 * entries are copied. Returns 0, or -1 (the caller goes on: the cache is
 * only a shortcut). */
int defcache_save(const char *path, const struct project *p,
                  const struct defcache *old, int64_t started);
void defcache_free(struct defcache *c);
/* CLOCK_REALTIME in ns, for `started`. */
int64_t defcache_now(void);

#endif
