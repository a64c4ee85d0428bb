/*
 * bundle_cache.c - the last committed bundles as files (bundle_cache.h).
 */
#include "bundle_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "struere.h"

/* A temporary file this old was left by a run that was killed. */
#define STALE_SECONDS 600

/* <git dir>/struere/bundles */
static bool cache_dir(const char *git_dir, char *buf, size_t size)
{
    size_t glen = strlen(git_dir);
    int n = snprintf(buf, size, "%s%sstruere/bundles", git_dir,
                     glen && git_dir[glen - 1] == '/' ? "" : "/");
    return n > 0 && (size_t)n < size;
}

static bool is_blob_id(const char *s)
{
    return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

struct struere_bundle *bundle_cache_open(const char *git_dir, const char *id,
                                         int env)
{
    char dir[4200], path[4300];
    if (!is_blob_id(id) || !cache_dir(git_dir, dir, sizeof(dir)))
        return NULL;
    snprintf(path, sizeof(path), "%s/%s.stb", dir, id);
    if (access(path, R_OK) != 0)
        return NULL;
    struere_bundle *b = NULL;
    struere_error err;
    if (struere_bundle_open_file(&b, path, env, &err) != STRUERE_OK)
        return NULL;
    return b;
}

static void write_one(const char *dir, const char *id, const void *data,
                      size_t len)
{
    char path[4300], tmp[4400];
    snprintf(path, sizeof(path), "%s/%s.stb", dir, id);
    if (access(path, F_OK) == 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, id, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (close(fd) != 0 || done != len || rename(tmp, path) != 0)
        unlink(tmp);
}

void bundle_cache_keep(const char *git_dir, const char *const *ids,
                       const void *const *data, const size_t *lens, size_t n)
{
    char dir[4200], parent[4200];
    if (!cache_dir(git_dir, dir, sizeof(dir)))
        return;
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    mkdir(parent, 0777);
    mkdir(dir, 0777);
    for (size_t i = 0; i < n; i++)
        if (is_blob_id(ids[i]))
            write_one(dir, ids[i], data[i], lens[i]);
    /* Older bundles go; files another run is writing (dot files) stay,
     * unless they are older than a run can take (left by a killed one). */
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') {
            char path[4500];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            size_t len = strlen(e->d_name);
            if (len > 4 && !strcmp(e->d_name + len - 4, ".tmp") &&
                stat(path, &st) == 0 && now - st.st_mtime > STALE_SECONDS)
                unlink(path);
            continue;
        }
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++)
            keep = strlen(e->d_name) == 44 && !strncmp(e->d_name, ids[i], 40) &&
                   !strcmp(e->d_name + 40, ".stb");
        if (!keep) {
            char path[4500];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}
