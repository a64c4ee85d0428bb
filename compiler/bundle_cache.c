/*
 * bundle_cache.c - the last committed bundles as files (bundle_cache.h).
 */
#include "bundle_cache.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_trust.h"
#include "cache_file.h"
#include "sha256.h"
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
                                         int env,
                                         const unsigned char sha256_want[32],
                                         bool recorded)
{
    char dir[4200], path[4300];
    if (!is_blob_id(id) || !cache_dir(git_dir, dir, sizeof(dir)))
        return NULL;
    snprintf(path, sizeof(path), "%s/%s.stb", dir, id);
    /* a regular file only, never followed through a link nor waited on
     * (a FIFO put there would hang the run) */
    size_t n;
    unsigned char *data = cache_file_read(path, &n);
    if (!data)
        return NULL;
    /* The bytes, not only their CRCs: those are easily recomputed after
     * an edit. */
    unsigned char got[32];
    rt_sha256(data, n, got);
    if (memcmp(got, sha256_want, 32) == 0) {
        struere_bundle *b = NULL;
        struere_error err;
        int rc = recorded ? rt_bundle_open_recorded(&b, data, n, env, &err)
                          : rt_bundle_open_taking(&b, data, n, env, &err);
        if (rc == STRUERE_OK)
            return b;
        free(data);
        if (rc == STRUERE_ENOMEM)
            return NULL; /* nothing to say of its bytes */
    } else {
        free(data);
    }
    unlink(path); /* rewritten from the new bundles by bundle_cache_keep */
    return NULL;
}

void bundle_cache_keep(const char *git_dir, const char *const *ids,
                       const void *const *data, const size_t *lens, size_t n,
                       const char *also)
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
        for (size_t i = 0; i <= n && !keep; i++) {
            const char *id = i < n ? ids[i] : also;
            keep = id && strlen(e->d_name) == 44 &&
                   !strncmp(e->d_name, id, 40) &&
                   !strcmp(e->d_name + 40, ".stb");
        }
        if (!keep) {
            char path[4500];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}
