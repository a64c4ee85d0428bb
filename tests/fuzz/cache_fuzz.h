/*
 * cache_fuzz.h - what the fuzz targets over dev's definition cache share
 * (fuzz_defcache.c, fuzz_xcheck.c): a copy of the example project in a
 * temporary directory (removed at exit), its cache written and read back
 * with the copy's key, and the cache's LEB128 lengths.
 */
#ifndef STRUERE_FUZZ_CACHE_FUZZ_H
#define STRUERE_FUZZ_CACHE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "defcache.h"
#include "project.h"

static char example_dir[64];
/* When example_cache's run started (CLOCK_REALTIME ns): a later save of
 * the same files with it marks them as that one did. */
static int64_t example_started;

static void example_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", example_dir);
    if (example_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", example_dir);
}

/* Copies fixtures/example (run from the repository's root) to a new
 * directory named after `what`; aborts when it cannot. */
static const char *example_copy(const char *what)
{
    char cmd[256];
    snprintf(example_dir, sizeof(example_dir), "/tmp/struere-fuzz-%s.XXXXXX",
             what);
    if (!mkdtemp(example_dir))
        abort();
    atexit(example_remove);
    snprintf(cmd, sizeof(cmd), "cp -R fixtures/example/. %s/", example_dir);
    if (system(cmd) != 0)
        abort();
    return example_dir;
}

/* Writes p's cache to path (in the copy) and frees p; returns the file's
 * bytes (*len of them) and the copy's cache key in key. */
static unsigned char *example_cache(struct project *p, const char *path,
                                    size_t *len, unsigned char key[32])
{
    char kpath[128];
    example_started = defcache_now();
    if (defcache_save(path, p, NULL, example_started) != 0)
        abort();
    project_free(p);
    unsigned char *bytes = malloc(1 << 22);
    FILE *f = fopen(path, "rb");
    if (!bytes || !f)
        abort();
    *len = fread(bytes, 1, 1 << 22, f);
    fclose(f);
    snprintf(kpath, sizeof(kpath), "%s/key", example_dir);
    f = fopen(kpath, "rb");
    if (!f || fread(key, 1, 32, f) != 32)
        abort();
    fclose(f);
    return bytes;
}

/* A LEB128 value at p (before end): its length in bytes, 0 if cut. */
static size_t uv_len(const unsigned char *p, const unsigned char *end,
                     uint64_t *v)
{
    size_t n = 0;
    *v = 0;
    while (p + n < end && n < 10) {
        *v |= (uint64_t)(p[n] & 0x7f) << (7 * n);
        if (!(p[n++] & 0x80))
            return n;
    }
    return 0;
}

#endif
