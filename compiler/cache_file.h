/*
 * cache_file.h - the files `struere dev` keeps in a store's git directory
 * under struere/ (its caches, never committed): where they go, how one is
 * written (whole, to a temporary renamed over it, so a reader sees the
 * old file or the new one), and the removal of temporaries that a killed
 * run left behind. What a cache holds is its own module's business
 * (defcache, bundle_cache).
 */
#ifndef STRUERE_CACHE_FILE_H
#define STRUERE_CACHE_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* <git dir>/struere/<name> into buf (size bytes); false when it does not
 * fit. */
bool cache_file_path(const char *git_dir, const char *name, char *buf,
                     size_t size);
/* Writes data as dir/name: to dir/.name.PID.tmp first, renamed over
 * dir/name when it is all written. Creates dir (and its parent) when
 * missing. Returns 0, or -1 (nothing is left behind). */
int cache_file_write(const char *dir, const char *name, const void *data,
                     size_t len);
/* Removes the *.tmp files of dir that are older than any run takes (left
 * by killed runs); a run writing now keeps its own. */
void cache_file_sweep(const char *dir);

#endif
