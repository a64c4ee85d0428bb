/*
 * lastrun.h - what the last `struere dev` run compiled, and from which
 * files, so that `struere status` can tell that nothing changed since by
 * stat alone, without reading, checking or compiling a definition.
 *
 * The record (a cache file in the store's git directory, beside the
 * definition cache) holds the stat of the project directory, of each
 * kind's directory (or that it is absent), of struere.yaml and of every
 * definition file, and the git blob id of each environment's bundle as
 * the run wrote it. It is written only for a run that ended without any
 * diagnostic, whose files and directories all date from before the run
 * started by more than the racy margin (CACHE_RACY_NS), and with no
 * symbolic link among them; otherwise the old record is removed. A
 * directory's stat changes when an entry is added, removed or renamed in
 * it, a file's when it is written (ctime, even with its mtime put back),
 * so equal stats mean the same inputs, and the same inputs compile to the
 * same bundles. Sealed like the definition cache (cache_file_seal); from
 * another build of the compiler or another project directory it is
 * ignored.
 */
#ifndef STRUERE_LASTRUN_H
#define STRUERE_LASTRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"

struct project;

/* What a run made: the git blob ids (hex) of the environments'
 * bundles, by enum env, and the commits it left the development and eval
 * branches at ("" where it only proposed a move, or did not get there). */
struct lastrun_made {
    char bundle[ENV_COUNT][41];
    char branch[2][41];
};

/* <git dir>/struere/lastrun-<digest of the project's real path>. False
 * when the path does not fit or the project directory cannot be
 * resolved. */
bool lastrun_path(const char *git_dir, const char *project_dir, char *buf,
                  size_t size);
/* Records that p (checked, no diagnostic) made m, its files read after started
 * (defcache_now). When the record cannot vouch for the files (racy, a link, a
 * stat that moved since they were read), removes the old one instead. Returns 0
 * when written, -1 otherwise (the caller goes on: it is a shortcut). */
int lastrun_save(const char *path, const struct project *p,
                 const struct lastrun_made *m, int64_t started);
/* Removes the record at path (a run that cannot vouch for its inputs). */
void lastrun_forget(const char *path);
/* True when the record at path is sound and every file and directory it
 * names under project_dir has the stat it had: then m is what a run
 * makes of the project now, and *files how many entries were compared. */
bool lastrun_unchanged(const char *path, const char *project_dir,
                       struct lastrun_made *m, size_t *files);

#endif
