/*
 * fuzz_defcache.c - libFuzzer target for the reader of dev's parsed-
 * definition cache (compiler/defcache.c): whatever bytes the cache file
 * holds, opening it and restoring definitions from it must not crash,
 * over-read or leak; a bad cache is simply not used.
 *
 * The example project is copied to a temporary directory once and a real
 * cache of it is written, so that records match the files' stat and the
 * fuzzer reaches the tree reader. Then, by the first input byte:
 *   3 modulo 16: the cache is that one, and beside it a delta naming it
 *         (defcache.c's layout) whose records and entries are the rest of
 *         the input (the record count is byte 1);
 *   else even: the tree of record (byte 1) is replaced by the rest of the
 *         input;
 *   else odd: everything after the header is the rest of the input (the
 *         record count is byte 1);
 * the header is kept valid and the MAC made again under the copy's cache
 * key (as only its owner can), the file written, and every definition of
 * the project restored from it where it can be.
 *
 * Built by `make fuzz` (libFuzzer) and replayed over its corpus by
 * `make test` (tests/fuzz/replay.c); run from the repository's root.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>

#include "defcache.h"
#include "cache_fuzz.h"
#include "project.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dir;
static char cache_path[128], delta_path[160];
static unsigned char *base; /* a valid cache of the copy */
static size_t base_len, header_len;
static unsigned char *delta; /* a delta of it, after one file's edit */
static size_t delta_len, delta_header_len;
static size_t rec_at[256], rec_len[256], nrec; /* records' bodies */
static unsigned char key[32];                  /* the copy's cache key */
#define TAG 32                                 /* the MAC at the end */
static struct project shared;                  /* the schemas, loaded once */

static size_t tree_offset(size_t r);

/* STRUERE_FUZZ_SEEDS=DIR: writes the seed corpus (each record's tree as
 * it is, the whole records area, and the delta's) to DIR. */
static void write_seeds(const char *out)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/seed-delta", out);
    FILE *df = fopen(path, "wb");
    uint64_t dcount;
    memcpy(&dcount, delta + delta_header_len - 8, 8);
    unsigned char dhead[2] = {3, (unsigned char)dcount};
    if (!df || fwrite(dhead, 1, 2, df) != 2 ||
        fwrite(delta + delta_header_len, 1, delta_len - TAG - delta_header_len,
               df) != delta_len - TAG - delta_header_len)
        abort();
    fclose(df);
    for (size_t r = 0; r <= nrec; r++) {
        snprintf(path, sizeof(path), "%s/seed-%03zu", out, r);
        FILE *f = fopen(path, "wb");
        if (!f)
            abort();
        if (r < nrec) {
            size_t t = tree_offset(r);
            unsigned char head[2] = {0, (unsigned char)r};
            fwrite(head, 1, 2, f);
            fwrite(base + rec_at[r] + t, 1, rec_len[r] - t, f);
        } else {
            unsigned char head[2] = {1, (unsigned char)nrec};
            fwrite(head, 1, 2, f);
            fwrite(base + header_len, 1, base_len - TAG - header_len, f);
        }
        fclose(f);
    }
}

/* A real delta: every definition restored from the cache, one then taken
 * as parsed again (its record written again), saved as dev does with
 * the first save's start (the same racy marks). No file is edited: the
 * base's records still match the files. */
static void make_delta(void)
{
    snprintf(delta_path, sizeof(delta_path), "%s.delta", cache_path);
    struct project p;
    if (project_load_config(&p, dir) < 0 || !p.config)
        abort();
    p.hash_on_read = true;
    struct defcache *c = defcache_open(cache_path, &p);
    if (!c)
        abort();
    project_load_defs(&p, 1, c);
    p.cache = c;
    project_hash_sources(&p);
    if (!p.ndefs[KIND_AGENT] || !p.defs[KIND_AGENT][0].restored)
        abort();
    p.defs[KIND_AGENT][0].restored = false;
    if (defcache_save(cache_path, &p, c, example_started) != 0)
        abort();
    project_free(&p);
    delta = malloc(1 << 20);
    FILE *f = fopen(delta_path, "rb");
    if (!delta || !f)
        abort();
    delta_len = fread(delta, 1, 1 << 20, f);
    fclose(f);
    /* magic, byte-order mark, two strs, the base's MAC, the count */
    const unsigned char *q = delta + 12, *end = delta + delta_len;
    for (int s = 0; s < 2; s++) {
        uint64_t n;
        size_t k = uv_len(q, end, &n);
        q += k + n + 1;
    }
    delta_header_len = (size_t)(q - delta) + TAG + 8;
    if (delta_len < delta_header_len + TAG ||
        memcmp(delta + delta_header_len - 8 - TAG, base + base_len - TAG, TAG))
        abort(); /* not a delta of that base */
}

/* Copies the example, writes its cache, and finds the records in it. */
static void setup(void)
{
    dir = example_copy("defcache");
    snprintf(cache_path, sizeof(cache_path), "%s/cache", dir);
    struct project p;
    if (project_load(&p, dir, 1) < 0 || !p.config)
        abort();
    project_hash_sources(&p); /* what the cache keys on, as dev does */
    base = example_cache(&p, cache_path, &base_len, key);
    /* magic, byte-order mark, two strs, the count */
    const unsigned char *q = base + 12, *end = base + base_len - TAG;
    for (int s = 0; s < 2; s++) {
        uint64_t n;
        size_t k = uv_len(q, end, &n);
        q += k + n + 1;
    }
    header_len = (size_t)(q - base) + 8;
    uint64_t count;
    memcpy(&count, q, 8);
    q += 8;
    /* the records; the results of the checks between definitions follow */
    while (q + 4 <= end && nrec < 256 && nrec < count) {
        uint32_t len;
        memcpy(&len, q, 4);
        rec_at[nrec] = (size_t)(q + 4 - base);
        rec_len[nrec++] = len;
        q += 4 + len;
    }
    make_delta();
    if (project_open(&shared, dir) < 0)
        abort();
    const char *seeds = getenv("STRUERE_FUZZ_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
}

/* Where a record's tree starts: after path, kind, racy, stat, sha256. */
static size_t tree_offset(size_t r)
{
    uint64_t n;
    size_t k = uv_len(base + rec_at[r], base + base_len, &n);
    return k + (size_t)n + 1 + 2 + 40 + 32;
}

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len)
        abort();
    fclose(f);
}

static void put(unsigned char **b, size_t *n, const void *p, size_t len)
{
    memcpy(*b + *n, p, len);
    *n += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        setup();
    if (size < 2 || !nrec)
        return 0;
    unsigned char *b = malloc(base_len + size + TAG + 16);
    size_t n = 0;
    unlink(delta_path);
    if (data[0] % 16 == 3) {
        write_file(cache_path, base, base_len);
        put(&b, &n, delta, delta_header_len - 8);
        uint64_t count = data[1];
        put(&b, &n, &count, 8);
        put(&b, &n, data + 2, size - 2);
    } else if (data[0] % 2 == 0) {
        size_t r = data[1] % nrec, t = tree_offset(r);
        put(&b, &n, base, rec_at[r] - 4);
        uint32_t len = (uint32_t)(t + size - 2);
        put(&b, &n, &len, 4);
        put(&b, &n, base + rec_at[r], t);
        put(&b, &n, data + 2, size - 2);
        size_t after = rec_at[r] + rec_len[r];
        put(&b, &n, base + after, base_len - TAG - after);
    } else {
        put(&b, &n, base, header_len - 8);
        uint64_t count = data[1];
        put(&b, &n, &count, 8);
        put(&b, &n, data + 2, size - 2);
    }
    unsigned char digest[32], tag[TAG];
    crypto_hash_sha256(digest, b, n);
    crypto_auth_hmacsha256(tag, digest, sizeof(digest), key);
    put(&b, &n, tag, TAG);
    write_file(data[0] % 16 == 3 ? delta_path : cache_path, b, n);
    free(b);

    struct project p;
    project_open_shared(&p, dir, &shared.schemas);
    struct def config = {.kind = KIND_PROJECT, .path = "struere.yaml"};
    p.config = &config;
    struct defcache *c = defcache_open(cache_path, &p);
    if (c) {
        project_load_defs(&p, 1, c);
        p.cache = c; /* freed with p */
    }
    project_free(&p);
    return 0;
}
