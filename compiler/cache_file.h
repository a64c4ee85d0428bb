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

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* <git dir>/struere/<name> into buf (size bytes); false when it does not
 * fit. */
bool cache_file_path(const char *git_dir, const char *name, char *buf,
                     size_t size);
/* <git dir>/struere/<prefix>-<digest of project_dir's real path>: a
 * store may hold several projects, each with its own cache files. False
 * when the path does not fit or project_dir cannot be resolved. */
bool cache_file_project_path(const char *git_dir, const char *prefix,
                             const char *project_dir, char *buf, size_t size);
/* The cache directory dir (<git dir>/struere, or one in it), open: made
 * (with its parent) when create; never through a link, nor one of another
 * user (-1 then). */
int cache_file_dir_open(const char *dir, bool create);
/* The same for the directory name in the one open as at (made, without
 * its parent, when create). */
int cache_file_dir_open_at(int at, const char *name, bool create);
/* Why the cache directory dir, which exists, can hold no cache
 * (cache_file_dir_open refuses it), with the reason in words ("PATH is a
 * symbolic link") written into why; CACHE_DIR_USABLE (why untouched) when
 * it is absent or usable. CACHE_DIR_UNWRITABLE is half a refusal: its
 * files are read, none can be made in it. Only modes refuse (EACCES): a
 * read-only file system does not. */
enum cache_dir_refusal {
    CACHE_DIR_USABLE = 0,
    CACHE_DIR_LINK,
    CACHE_DIR_NOT_DIRECTORY,
    CACHE_DIR_OTHER_USER,
    /* this user's, but its mode lets it be neither listed nor opened, or
     * that of its key (one that looks usable, kept as it is) lets the key
     * not be read: no cache can be checked or sealed */
    CACHE_DIR_UNREADABLE,
    /* this user's, but its mode (or one of its directories') lets no file
     * be made there: what is there is read, nothing written */
    CACHE_DIR_UNWRITABLE,
    /* a directory where its key belongs, which no run can replace: no
     * cache can be checked or sealed */
    CACHE_DIR_KEY_NOT_FILE,
    /* something in it no run can replace (a file where one of its
     * directories belongs, a directory at a cache file's name): the
     * caches kept there are never kept */
    CACHE_DIR_IN_THE_WAY,
    /* one of its directories is another user's: the same */
    CACHE_DIR_PART_OTHER_USER
};
enum cache_dir_refusal cache_file_dir_refused(const char *dir, char *why,
                                              size_t size);
/* Writes data as dir/name: to dir/.name.PID.N.tmp first (N: this process's
 * count), renamed over dir/name when it is all written. Creates dir (and its
 * parent) when missing. Not in a dir that is a link or another user's.
 * Returns 0, or -1 (nothing is left behind). */
int cache_file_write(const char *dir, const char *name, const void *data,
                     size_t len);
/* The same in the directory open as dir (a descriptor), which is not
 * made. */
int cache_file_write_at(int dir, const char *name, const void *data,
                        size_t len);
/* Removes the *.tmp files of dir that are older than any run takes (left
 * by killed runs); a run writing now keeps its own. */
void cache_file_sweep(const char *dir);
/* The same in the directory open as dir (a descriptor). */
void cache_file_sweep_at(int dir);
/* A listing of the directory open as dir, on a descriptor of its own
 * (close-on-exec; dir's offset is not moved); NULL when it cannot be
 * made. closedir() frees it. */
DIR *cache_file_list(int dir);

/* The store's secret key for authenticating its caches (CACHE_KEY_BYTES
 * random bytes in dir/key, dir being <git dir>/struere), made when
 * missing if create is set. Only a regular file of the right size, of
 * this user and readable or writable by no one else, in a directory of
 * this user that is not a link, is taken: whoever else can write the git
 * directory can then neither read nor replace it, nor send the caches
 * elsewhere (a link put at struere/).
 * With create, an unusable key is replaced by a new one. Returns false
 * when there is no usable key (the caches are then not used). */
#define CACHE_KEY_BYTES 32
bool cache_file_key(const char *dir, bool create,
                    unsigned char key[CACHE_KEY_BYTES]);

/* What the caches read is compiled as it is, and a checksum is no seal
 * (an edit can recompute it): a cache file ends with a tag, HMAC-SHA-256
 * under the store's cache key of the SHA-256 of everything before it.
 * cache_file_seal computes the tag of a cache file's n bytes under the key
 * of the directory holding path (made if create): false when there is no
 * key. */
#define CACHE_SEAL_BYTES 32
bool cache_file_seal(const char *path, bool create, const unsigned char *p,
                     size_t n, unsigned char tag[CACHE_SEAL_BYTES]);
/* "struere VERSION build HEX" (the GNU build id of the running program),
 * or false without a build id: a cache written by another build of the
 * compiler is never used. */
bool cache_file_compiler_id(char *buf, size_t size);
/* Seals o's bytes under the key of path's directory (made if missing),
 * appends the tag and writes o as path through a temporary renamed over
 * it: a sealed cache file whole. Returns 0, or -1 (o may then hold the
 * tag; the caller frees it either way). */
struct rt_buf;
int cache_file_seal_write(const char *path, struct rt_buf *o);
/* The whole regular file at path (malloc'd, *len bytes), not following a
 * link and never blocking on a FIFO; NULL when it cannot be read whole or
 * is empty. */
unsigned char *cache_file_read(const char *path, size_t *len);
/* The same for name in the directory open as dir (AT_FDCWD: the working
 * directory), of at most max bytes; *bad is set when name is there but
 * is not such a file (a link, a FIFO, empty, too large), not when the
 * read failed for a reason that says nothing of the file. */
unsigned char *cache_file_read_at(int dir, const char *name, size_t max,
                                  size_t *len, bool *bad);
/* A sealed cache file mapped read-only rather than read: the two large
 * ones (the definition cache, the segments index) are 3-18 MB at 10,000
 * definitions, and read() copied each into fresh memory, which the
 * kernel zeroed first, every run (bench/RESULTS.md, twenty-fourth
 * session). data[0, len) are the bytes before the seal, which verified;
 * the seal follows them. The mapping keeps the file's bytes as they were
 * mapped when the file is replaced meanwhile: cache files are replaced
 * by rename, never written in place. A file rewritten in place while a
 * run has it mapped (by nothing of struere's: cp or rsync --inplace over
 * the git directory during a run) shows that run its new bytes, which
 * were not verified, and pages cut off by a truncation fail with SIGBUS;
 * whoever can do that can change the store's refs and objects as well.
 * If the file system cannot map the file, the cache is not used. */
struct cache_map {
    const unsigned char *data; /* NULL: nothing mapped */
    size_t len;
    size_t mapped;
};
/* Maps the regular file at path (not through a link, never blocking on a
 * FIFO) when it holds more than the seal and at most max bytes and its
 * seal verifies under the key of its directory. False otherwise, with
 * nothing mapped. */
bool cache_file_map_sealed(const char *path, size_t max, struct cache_map *m);
/* Unmaps m (mapped or not) and clears it. */
void cache_file_unmap(struct cache_map *m);

/* A file written within this long before a run started may have a stat
 * that a later write repeats (timestamps are coarse; FAT's are 2 s): the
 * caches do not take such a stat as proof that the file is unchanged. */
#define CACHE_RACY_NS 2000000000LL
struct file_stat;
/* Whether fs (a file or directory) was written within CACHE_RACY_NS
 * before started (CLOCK_REALTIME, ns), or after. */
bool cache_file_racy(const struct file_stat *fs, int64_t started);

#endif
