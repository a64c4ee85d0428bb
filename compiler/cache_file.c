/*
 * cache_file.c - files under <git dir>/struere/ (cache_file.h).
 */
#include "cache_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source.h"

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

/* dir, and the directory above it (struere/ for struere/bundles). */
static void make_dirs(const char *dir)
{
    char parent[4200];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        mkdir(parent, 0777);
    }
    mkdir(dir, 0777);
}

int cache_file_write(const char *dir, const char *name, const void *data,
                     size_t len)
{
    char path[4400], tmp[4500];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid());
    make_dirs(dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t done = write_all(fd, data, len);
    if (close(fd) != 0 || done != len || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void cache_file_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".tmp"))
            continue;
        char path[4500];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && now - st.st_mtime > STALE_SECONDS)
            unlink(path);
    }
    closedir(d);
}

/* Reads dir/key when it is a key only this user can read or write. */
static bool read_key(const char *path, unsigned char key[CACHE_KEY_BYTES])
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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

bool cache_file_key(const char *dir, bool create,
                    unsigned char key[CACHE_KEY_BYTES])
{
    char path[4400], tmp[4500];
    snprintf(path, sizeof(path), "%s/key", dir);
    if (read_key(path, key))
        return true;
    if (!create)
        return false;
    /* A key that is not usable (wrong owner, mode or size) is replaced:
     * the caches made under it are then ignored, as they should be. */
    struct stat st;
    if (lstat(path, &st) == 0)
        unlink(path);
    /* A new key, written whole with mode 0600 and linked into place: when
     * two runs make one at once, the first link wins and both use it. */
    if (sodium_init() < 0)
        return false;
    unsigned char fresh[CACHE_KEY_BYTES];
    randombytes_buf(fresh, sizeof(fresh));
    snprintf(tmp, sizeof(tmp), "%s/.key.%ld.tmp", dir, (long)getpid());
    make_dirs(dir);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool written =
        write_all(fd, fresh, sizeof(fresh)) == sizeof(fresh) && fsync(fd) == 0;
    written = close(fd) == 0 && written;
    if (written && link(tmp, path) != 0 && errno != EEXIST)
        written = false;
    unlink(tmp);
    sodium_memzero(fresh, sizeof(fresh));
    return written && read_key(path, key);
}
