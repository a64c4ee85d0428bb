/*
 * bundle_cache.c - the last committed bundles as files (bundle_cache.h).
 */
#include "bundle_cache.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cache_file.h"
#include "struere.h"

/* <git dir>/struere/bundles */
static bool cache_dir(const char *git_dir, char *buf, size_t size)
{
    return cache_file_path(git_dir, "bundles", buf, size);
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

void bundle_cache_keep(const char *git_dir, const char *const *ids,
                       const void *const *data, const size_t *lens, size_t n)
{
    char dir[4200];
    if (!cache_dir(git_dir, dir, sizeof(dir)))
        return;
    for (size_t i = 0; i < n; i++) {
        char name[64], path[4300];
        snprintf(name, sizeof(name), "%s.stb", ids[i]);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (is_blob_id(ids[i]) && access(path, F_OK) != 0)
            cache_file_write(dir, name, data[i], lens[i]);
    }
    cache_file_sweep(dir);
    /* Older bundles go; files another run is writing (dot files) stay. */
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
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
