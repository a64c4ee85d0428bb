/*
 * cache_file.c - files under <git dir>/struere/ (cache_file.h).
 */
#include "cache_file.h"

#include <dirent.h>
#include <fcntl.h>
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
