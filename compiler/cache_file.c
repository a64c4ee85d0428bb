/*
 * cache_file.c - files under <git dir>/struere/ (cache_file.h).
 */
#include "cache_file.h"

#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sha256.h"
#include "source.h"
#include "version.h"

/* A temporary file this old was left by a run that was killed. */
#define STALE_SECONDS 600

bool cache_file_path(const char *git_dir, const char *name, char *buf,
                     size_t size)
{
    size_t glen = strlen(git_dir);
    int n = snprintf(buf, size, "%s%sstruere/%s", git_dir,
                     glen && git_dir[glen - 1] == '/' ? "" : "/", name);
    return n > 0 && (size_t)n < size;
}

bool cache_file_project_path(const char *git_dir, const char *prefix,
                             const char *project_dir, char *buf, size_t size)
{
    char real[4200];
    if (!realpath(project_dir, real))
        return false;
    unsigned char h[32];
    rt_sha256(real, strlen(real), h);
    char hex[65], name[64];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(name, sizeof(name), "%.40s-%.16s", prefix, hex);
    return cache_file_path(git_dir, name, buf, size);
}

/* dir, and the directory above it (struere/ for struere/bundles). */
static void make_dirs(const char *dir)
{
    char parent[4400];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        mkdir(parent, 0777);
    }
    mkdir(dir, 0777);
}

/* Makes a new temporary for name in dir, named in tmp (size bytes):
 * ".NAME.PID.N.tmp", N counting this process's temporaries. O_EXCL: never
 * a file that is there (another writer's, one left by a process that had
 * this pid, a link put at its name); the next N is tried instead. The
 * sweep removes temporaries once old. Its descriptor, or -1. */
static int temp_create(int dir, const char *name, mode_t mode, char *tmp,
                       size_t size)
{
    static atomic_uint next;
    for (int tries = 0; tries < 64; tries++) {
        snprintf(tmp, size, ".%s.%ld.%u.tmp", name, (long)getpid(),
                 atomic_fetch_add_explicit(&next, 1, memory_order_relaxed));
        int fd =
            openat(dir, tmp,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int cache_file_write_at(int dir, const char *name, const void *data, size_t len)
{
    char tmp[4500];
    int fd = temp_create(dir, name, 0644, tmp, sizeof(tmp));
    if (fd < 0)
        return -1;
    size_t done = write_all(fd, data, len);
    if (close(fd) != 0 || done != len || renameat(dir, tmp, dir, name) != 0) {
        unlinkat(dir, tmp, 0);
        return -1;
    }
    return 0;
}

/* dir into d without its trailing slashes (through which a link would be
 * followed); false when it does not fit. */
static bool unslashed(const char *dir, char *d, size_t size)
{
    size_t n = (size_t)snprintf(d, size, "%s", dir);
    if (n >= size)
        return false;
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    return true;
}

int cache_file_dir_open_at(int at, const char *name, bool create)
{
    if (create)
        mkdirat(at, name, 0777);
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_uid != geteuid())) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int cache_file_dir_open(const char *dir, bool create)
{
    char d[4400];
    if (!unslashed(dir, d, sizeof(d)))
        return -1;
    if (create)
        make_dirs(d);
    return cache_file_dir_open_at(AT_FDCWD, d, false);
}

/* Whether path's mode lets this user do what mode asks (R_OK, W_OK,
 * X_OK); true too when the check itself fails for another reason. */
static bool mode_allows(const char *path, int mode)
{
    return faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0 || errno != EACCES;
}

/* Whether st is a key this user's that looks usable (type, owner, mode,
 * size): one such is never replaced (key_at), also when it cannot be
 * read (cache_file_dir_refused says so). */
static bool key_looks_usable(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
           (st->st_mode & 077) == 0 && st->st_size == CACHE_KEY_BYTES;
}

/* The caches' directories in <git dir>/struere/ (bundle_cache.c,
 * verify.c), and the names of its cache files (key_at; defcache.c and
 * lastrun.c by cache_file_project_path; loose_deflate.h's segments). */
static bool cache_dir_name(const char *n)
{
    return !strcmp(n, "bundles") || !strcmp(n, "chunks") ||
           !strcmp(n, "verified");
}

static bool cache_file_name(const char *n)
{
    static const char *const names[] = {"key", "segments", "segments.delta",
                                        "sources-segments",
                                        "sources-segments.delta"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (!strcmp(n, names[i]))
            return true;
    return !strncmp(n, "defs-", 5) || !strncmp(n, "lastrun-", 8);
}

enum cache_dir_refusal cache_file_dir_refused(const char *dir, char *why,
                                              size_t size)
{
    char d[4400];
    struct stat st;
    if (!unslashed(dir, d, sizeof(d)) || lstat(d, &st) != 0)
        return CACHE_DIR_USABLE; /* absent: made by the first run saving one */
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, size, "%s is a symbolic link", d);
        return CACHE_DIR_LINK;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, size, "%s is not a directory", d);
        return CACHE_DIR_NOT_DIRECTORY;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, size, "%s belongs to another user (uid %lu)", d,
                 (unsigned long)st.st_uid);
        return CACHE_DIR_OTHER_USER;
    }
    /* Caches are read from it and its directories, and written there
     * as temporary files renamed into place. Only a mode refuses: not a
     * read-only file system (a checkout mounted so, on purpose), nor an
     * error of the call itself (EPERM from a sandbox that forbids it). */
    if (!mode_allows(d, R_OK | X_OK)) {
        snprintf(why, size, "%s cannot be read (mode %03o)", d,
                 (unsigned)(st.st_mode & 07777));
        return CACHE_DIR_UNREADABLE;
    }
    if (!mode_allows(d, W_OK)) {
        snprintf(why, size, "%s cannot be written (mode %03o)", d,
                 (unsigned)(st.st_mode & 07777));
        return CACHE_DIR_UNWRITABLE;
    }
    /* The key: one that looks usable is never replaced,
     * nor can a directory in its place be: a mode that keeps such a key
     * from being read, or a directory, would have every run without
     * caches, saying nothing. */
    char sub[4700];
    struct stat sst;
    if ((size_t)snprintf(sub, sizeof(sub), "%s/key", d) < sizeof(sub) &&
        lstat(sub, &sst) == 0) {
        if (S_ISDIR(sst.st_mode)) {
            snprintf(why, size, "%s is a directory, not the caches' key", sub);
            return CACHE_DIR_KEY_NOT_FILE;
        }
        if (key_looks_usable(&sst) && !mode_allows(sub, R_OK)) {
            snprintf(why, size, "%s cannot be read (mode %03o)", sub,
                     (unsigned)(sst.st_mode & 07777));
            return CACHE_DIR_UNREADABLE;
        }
    }
    /* What is in it: its directories must be this user's and writable
     * (they are never replaced), and a directory at a cache file's name
     * cannot be renamed over: each keeps its caches from ever being
     * kept. */
    DIR *list = opendir(d);
    struct dirent *e;
    enum cache_dir_refusal found = CACHE_DIR_USABLE;
    while (found == CACHE_DIR_USABLE && list && (e = readdir(list))) {
        if (e->d_name[0] == '.' ||
            (size_t)snprintf(sub, sizeof(sub), "%s/%s", d, e->d_name) >=
                sizeof(sub) ||
            lstat(sub, &sst) != 0)
            continue;
        bool is_dir = S_ISDIR(sst.st_mode),
             dir_name = cache_dir_name(e->d_name);
        if (dir_name && !is_dir) {
            snprintf(why, size, "%s is not a directory", sub);
            found = CACHE_DIR_IN_THE_WAY;
        } else if (!dir_name && is_dir && cache_file_name(e->d_name)) {
            snprintf(why, size, "%s is a directory, where a cache file belongs",
                     sub);
            found = CACHE_DIR_IN_THE_WAY;
        } else if (dir_name && sst.st_uid != geteuid()) {
            snprintf(why, size, "%s belongs to another user (uid %lu)", sub,
                     (unsigned long)sst.st_uid);
            found = CACHE_DIR_PART_OTHER_USER;
        } else if (dir_name && !mode_allows(sub, R_OK | W_OK | X_OK)) {
            snprintf(why, size, "%s cannot be written (mode %03o)", sub,
                     (unsigned)(sst.st_mode & 07777));
            found = CACHE_DIR_UNWRITABLE;
        }
    }
    if (list)
        closedir(list);
    return found;
}

int cache_file_write(const char *dir, const char *name, const void *data,
                     size_t len)
{
    int fd = cache_file_dir_open(dir, true);
    if (fd < 0)
        return -1;
    int rc = cache_file_write_at(fd, name, data, len);
    close(fd);
    return rc;
}

DIR *cache_file_list(int dir)
{
    int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0)
        close(fd);
    return d;
}

void cache_file_sweep_at(int dir)
{
    DIR *d = cache_file_list(dir);
    if (!d)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".tmp"))
            continue;
        struct stat st;
        if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            now - st.st_mtime > STALE_SECONDS)
            unlinkat(dir, e->d_name, 0);
    }
    closedir(d);
}

void cache_file_sweep(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        cache_file_sweep_at(fd);
        close(fd);
    }
}

/* Reads key in the directory open as dir when it is a key only this user
 * can read or write. Never waits on a FIFO put there (O_NONBLOCK, as the
 * other cache readers): it is not a regular file, so not a key, and is
 * replaced as any other. */
static bool read_key(int dir, unsigned char key[CACHE_KEY_BYTES])
{
    int fd = openat(dir, "key", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
              st.st_size == CACHE_KEY_BYTES &&
              read_all(fd, key, CACHE_KEY_BYTES) == CACHE_KEY_BYTES;
    close(fd);
    return ok;
}

/* The key of the directory open as at (cache_file_key). */
static bool key_at(int at, bool create, unsigned char key[CACHE_KEY_BYTES])
{
    if (read_key(at, key))
        return true;
    if (!create)
        return false;
    struct stat st;
    if (fstatat(at, "key", &st, AT_SYMLINK_NOFOLLOW) == 0) {
        /* One that looks usable is never replaced: made meanwhile by
         * another thread or run, or a read that failed for a passing
         * reason. One that is not (type, owner, mode, size) is replaced,
         * and the caches made under it are then ignored, as they should
         * be. (Two runs replacing it at once may each keep its own key: the
         * caches of one are then ignored next time, a cache miss.) */
        if (key_looks_usable(&st))
            return read_key(at, key);
        unlinkat(at, "key", 0);
    }
    /* A new key, written whole with mode 0600 and linked into place: when
     * two runs make one at once, the first link wins and both use it. */
    if (sodium_init() < 0)
        return false;
    char tmp[64];
    int fd = temp_create(at, "key", 0600, tmp, sizeof(tmp));
    if (fd < 0)
        return false;
    unsigned char fresh[CACHE_KEY_BYTES];
    randombytes_buf(fresh, sizeof(fresh));
    bool written =
        write_all(fd, fresh, sizeof(fresh)) == sizeof(fresh) && fsync(fd) == 0;
    written = close(fd) == 0 && written;
    if (written && linkat(at, tmp, at, "key", 0) != 0 && errno != EEXIST)
        written = false;
    unlinkat(at, tmp, 0);
    sodium_memzero(fresh, sizeof(fresh));
    return written && read_key(at, key);
}

bool cache_file_key(const char *dir, bool create,
                    unsigned char key[CACHE_KEY_BYTES])
{
    int at = cache_file_dir_open(dir, create);
    if (at < 0)
        return false;
    bool ok = key_at(at, create, key);
    close(at);
    return ok;
}

/* ---- sealing -------------------------------------------------------------
 */

bool cache_file_seal(const char *path, bool create, const unsigned char *p,
                     size_t n, unsigned char tag[CACHE_SEAL_BYTES])
{
    char dir[4200];
    unsigned char key[CACHE_KEY_BYTES], digest[32];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return false;
    *slash = '\0';
    if (!cache_file_key(dir, create, key))
        return false;
    rt_sha256(p, n, digest);
    crypto_auth_hmacsha256(tag, digest, sizeof(digest), key);
    sodium_memzero(key, sizeof(key));
    return true;
}

/* ---- the compiler's identity ---------------------------------------------
 * The GNU build id of the running program: any change to the compiler's
 * code or embedded schemas gives another one, so a cache written by
 * another build is never used. */

static int find_build_id(struct dl_phdr_info *info, size_t size, void *out)
{
    (void)size;
    char *hex = out;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *at =
            (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        size_t left = ph->p_memsz;
        while (left >= sizeof(ElfW(Nhdr))) {
            ElfW(Nhdr) nh;
            memcpy(&nh, at, sizeof(nh));
            size_t name = (nh.n_namesz + 3) & ~(size_t)3;
            size_t desc = (nh.n_descsz + 3) & ~(size_t)3;
            size_t whole = sizeof(nh) + name + desc;
            if (whole > left)
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                !memcmp(at + sizeof(nh), "GNU", 4) && nh.n_descsz >= 8 &&
                nh.n_descsz <= 64) {
                sodium_bin2hex(hex, 129, at + sizeof(nh) + name, nh.n_descsz);
                return 1;
            }
            at += whole;
            left -= whole;
        }
    }
    return 1; /* the first object is the program itself: stop there */
}

bool cache_file_compiler_id(char *buf, size_t size)
{
    char hex[129] = "";
    dl_iterate_phdr(find_build_id, hex);
    if (!hex[0])
        return false;
    snprintf(buf, size, "struere %s build %s", STRUERE_VERSION, hex);
    return true;
}

bool cache_file_racy(const struct file_stat *fs, int64_t started)
{
    return fs->mtime_ns >= started - CACHE_RACY_NS ||
           fs->ctime_ns >= started - CACHE_RACY_NS;
}

unsigned char *cache_file_read_at(int dir, const char *name, size_t max,
                                  size_t *len, bool *bad)
{
    *bad = false;
    int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) {
        *bad = errno == ELOOP || errno == ENXIO;
        return NULL;
    }
    struct stat st;
    unsigned char *b = NULL;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > max) {
        *bad = true;
    } else if ((b = malloc((size_t)st.st_size))) {
        rt_advise_huge(b, (size_t)st.st_size);
        *len = read_all(fd, b, (size_t)st.st_size);
        if (*len != (size_t)st.st_size) {
            free(b);
            b = NULL;
        }
    }
    close(fd);
    return b;
}

bool cache_file_map_sealed(const char *path, size_t max, struct cache_map *m)
{
    memset(m, 0, sizeof(*m));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > CACHE_SEAL_BYTES && (uint64_t)st.st_size <= max &&
        (uint64_t)st.st_size <= SIZE_MAX)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return false;
    m->data = p;
    m->mapped = (size_t)st.st_size;
    m->len = m->mapped - CACHE_SEAL_BYTES;
    unsigned char tag[CACHE_SEAL_BYTES];
    if (cache_file_seal(path, false, m->data, m->len, tag) &&
        sodium_memcmp(tag, m->data + m->len, CACHE_SEAL_BYTES) == 0)
        return true;
    cache_file_unmap(m);
    return false;
}

void cache_file_unmap(struct cache_map *m)
{
    if (m->data)
        munmap((void *)m->data, m->mapped);
    memset(m, 0, sizeof(*m));
}

unsigned char *cache_file_read(const char *path, size_t *len)
{
    bool bad;
    return cache_file_read_at(AT_FDCWD, path, SIZE_MAX, len, &bad);
}

int cache_file_seal_write(const char *path, rt_buf *o)
{
    unsigned char tag[CACHE_SEAL_BYTES];
    if (o->failed ||
        !cache_file_seal(path, true, (unsigned char *)o->p, o->len, tag))
        return -1;
    rt_buf_put(o, tag, sizeof(tag));
    char dir[4400];
    if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
        return -1;
    char *slash = strrchr(dir, '/');
    if (o->failed || !slash)
        return -1;
    *slash = '\0';
    return cache_file_write(dir, slash + 1, o->p, o->len);
}
