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

/* The store's secret key for authenticating its caches (CACHE_KEY_BYTES
 * random bytes in dir/key, dir being <git dir>/struere), made when
 * missing if create is set. Only a regular file of the right size, of
 * this user and readable or writable by no one else, is taken: whoever
 * else can write the git directory can then neither read nor replace it.
 * With create, an unusable key is replaced by a new one. Returns false
 * when there is no usable key (the caches are then not used). */
#define CACHE_KEY_BYTES 32
bool cache_file_key(const char *dir, bool create,
                    unsigned char key[CACHE_KEY_BYTES]);

#endif
