/*
 * fuzz_xcheck.c - libFuzzer target for the reader of the kept results of
 * the checks between definitions (compiler/xcheck.c, xcheck_holds): dev
 * takes a definition's result from its cache when every read the result
 * lists finds the same now. Whatever bytes a result holds, reading it
 * must not crash, over-read or leak; a result that does not parse is not
 * taken (the checks run again).
 *
 * The example project is copied to a temporary directory once and checked
 * as dev checks it (results kept), and its definition cache written, so
 * that results exist and their files' digests match. Then each input
 * replaces one result: the first byte picks which (a definition and an
 * environment with a result), the rest is its bytes. The cache is sealed
 * again under the copy's key (as only its owner can), and the project
 * checked with it, as dev would.
 *
 * Built by `make fuzz` (libFuzzer) and replayed over its corpus by
 * `make test` (tests/fuzz/replay.c); run from the repository's root.
 * STRUERE_FUZZ_SEEDS=DIR writes the seed corpus (each result as it is).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "check.h"
#include "defcache.h"
#include "cache_fuzz.h"
#include "project.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dir;
static char cache_path[128];
static unsigned char *base; /* a valid cache of the copy, with results */
static size_t base_len;
static unsigned char key[32]; /* the copy's cache key */
#define TAG 32                /* the MAC at the end */
/* The results in base: where each one's length (4 bytes) is, and it. */
static size_t slot_at[256];
static uint32_t slot_len[256];
static size_t nslots;

/* Past a str (uv length, bytes, NUL) at p. */
static const unsigned char *skip_str(const unsigned char *p,
                                     const unsigned char *end)
{
    uint64_t n;
    size_t k = uv_len(p, end, &n);
    if (!k || n >= (uint64_t)(end - p))
        abort();
    return p + k + n + 1;
}

static struct defcache *no_cache(const struct project *p, void *arg)
{
    (void)p;
    (void)arg;
    return NULL;
}

static struct defcache *the_cache(const struct project *p, void *arg)
{
    (void)arg;
    return defcache_open(cache_path, p);
}

/* Finds every non-empty result in the cache file (defcache.c's layout). */
static void find_results(void)
{
    const unsigned char *q = base + 12, *end = base + base_len - TAG;
    q = skip_str(skip_str(q, end), end); /* compiler, project */
    uint64_t count;
    memcpy(&count, q, 8);
    q += 8;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t len;
        memcpy(&len, q, 4);
        q += 4 + len;
    }
    if (q >= end)
        abort(); /* no results were kept: nothing to fuzz */
    q += 32;     /* struere.yaml's digest */
    uint64_t nx;
    memcpy(&nx, q, 8);
    q += 8;
    for (uint64_t i = 0; i < nx; i++) {
        q = skip_str(q, end) + 32; /* path, file digest */
        for (int e = 0; e < ENV_COUNT; e++) {
            uint32_t len;
            memcpy(&len, q, 4);
            if (len && nslots < 256) {
                slot_at[nslots] = (size_t)(q - base);
                slot_len[nslots++] = len;
            }
            q += 4 + len;
        }
    }
    if (q != end || !nslots)
        abort();
}

static void setup(void)
{
    dir = example_copy("xcheck");
    snprintf(cache_path, sizeof(cache_path), "%s/cache", dir);
    struct project p;
    struct check_options o = {
        .threads = 1, .cache = no_cache, .hash_sources = true};
    if (check_project(&p, dir, &o) != 0 || !p.config)
        abort();
    base = example_cache(&p, cache_path, &base_len, key);
    find_results();
    /* The cache as written must give its results back: else the target
     * would not reach the reader at all. */
    struct check_options again = {
        .threads = 1, .cache = the_cache, .hash_sources = true};
    if (check_project(&p, dir, &again) != 0 || p.xchecks_reused != nslots)
        abort();
    project_free(&p);
    const char *seeds = getenv("STRUERE_FUZZ_SEEDS");
    if (seeds) {
        for (size_t s = 0; s < nslots; s++) {
            char path[512];
            snprintf(path, sizeof(path), "%s/seed-%03zu", seeds, s);
            FILE *f = fopen(path, "wb");
            unsigned char pick = (unsigned char)s;
            if (!f || fwrite(&pick, 1, 1, f) != 1 ||
                fwrite(base + slot_at[s] + 4, 1, slot_len[s], f) != slot_len[s])
                abort();
            fclose(f);
        }
        exit(0);
    }
}

static void put(unsigned char *b, size_t *n, const void *p, size_t len)
{
    memcpy(b + *n, p, len);
    *n += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        setup();
    if (size < 1 || size - 1 > UINT32_MAX)
        return 0;
    size_t s = data[0] % nslots, n = 0;
    unsigned char *b = malloc(base_len + size + TAG);
    if (!b)
        abort();
    uint32_t len = (uint32_t)(size - 1);
    size_t after = slot_at[s] + 4 + slot_len[s];
    put(b, &n, base, slot_at[s]);
    put(b, &n, &len, 4);
    put(b, &n, data + 1, size - 1);
    put(b, &n, base + after, base_len - TAG - after);
    unsigned char digest[32], tag[TAG];
    crypto_hash_sha256(digest, b, n);
    crypto_auth_hmacsha256(tag, digest, sizeof(digest), key);
    put(b, &n, tag, TAG);
    FILE *f = fopen(cache_path, "wb");
    if (!f || fwrite(b, 1, n, f) != n)
        abort();
    fclose(f);
    free(b);

    struct project p;
    struct check_options o = {
        .threads = 1, .cache = the_cache, .hash_sources = true};
    check_project(&p, dir, &o);
    project_free(&p);
    return 0;
}
