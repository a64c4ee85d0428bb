/*
 * fuzz_bundle_cache.c - libFuzzer target for the reader of dev's bundle
 * cache (compiler/bundle_cache.c): whatever an index file holds, opening
 * the bundle it names must not crash, over-read, hang or leak, and takes
 * the bundle only when the pieces it names are the bundle's bytes.
 *
 * The input is an index file (.git/struere/bundles/<id>.idx) after its
 * head (magic, the compiler's build and the blob id, kept valid) and
 * before its seal, which is made
 * again under the temporary store's key (as only the key's owner can), so
 * that the reader gets past both. The cache of a temporary git directory
 * holds the pieces of two blobs, kept as dev keeps them before each input
 * (the open removes pieces it finds bad): a valid development bundle
 * (tests/fuzz/corpus-bundle, read from the repository's root) and 600 KiB
 * of JSON-like bytes cut in several pieces. The input's index is then
 * opened as the bundle's, with the bundle's SHA-256: an index listing
 * exactly the bundle's pieces opens it, any other must not; when it
 * opens, the pieces it hands on with their SHA-256 are the bundle's.
 *
 * STRUERE_FUZZ_SEEDS=DIR writes seeds: both blobs' indexes as dev writes
 * them (between head and seal), and cut down. Built by `make fuzz`, replayed
 * over its corpus by `make test` (tests/fuzz/replay.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_cache.h"
#include "cache_file.h"
#include "json_blob.h"
#include "loose_deflate.h"
#include "sha256.h"
#include "struere.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUNDLE_ID "1111111111111111111111111111111111111111"
#define BLOB_ID "2222222222222222222222222222222222222222"
#define INPUT_ID "3333333333333333333333333333333333333333"

static char git_dir[64];
static const char *ids[2] = {BUNDLE_ID, BLOB_ID};
static const void *bytes[2];
static size_t lens[2];
static struct loose_stream streams[2];
static unsigned char bundle_sha[32];
static unsigned char shas[2][32]; /* each blob's bytes' */
static const unsigned char *const sha_of[2] = {shas[0], shas[1]};
/* The bundle's index as dev writes it, between head and seal. */
static unsigned char *bundle_index;
static size_t bundle_index_len;
/* "STRBIDX3", the compiler's build (taken from the index dev writes) and
 * the blob id */
#define INDEX_HEAD (8 + 32 + 40)
static unsigned char index_head[INDEX_HEAD];

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", git_dir);
    if (git_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", git_dir);
    for (int i = 0; i < 2; i++)
        loose_stream_free(&streams[i]);
    free(bundle_index);
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = malloc(1 << 16);
    if (!f || !b) {
        fprintf(stderr,
                "fuzz_bundle_cache: cannot read %s (run from the "
                "repository's root)\n",
                path);
        abort();
    }
    *len = fread(b, 1, 1 << 16, f);
    bool whole = feof(f) && *len > 0;
    fclose(f);
    if (!whole) {
        fprintf(stderr, "fuzz_bundle_cache: %s is empty or over 64 KiB\n",
                path);
        abort();
    }
    return b;
}

static void keep(void)
{
    bundle_cache_keep(git_dir, ids, sha_of, bytes, lens, streams, 2, NULL);
}

static void write_seeds(const char *out)
{
    for (int i = 0; i < 2; i++) {
        char p[4400];
        snprintf(p, sizeof(p), "%s/struere/bundles/%s.idx", git_dir, ids[i]);
        size_t len;
        unsigned char *idx = read_whole(p, &len);
        len -= INDEX_HEAD + CACHE_SEAL_BYTES;
        size_t cuts[] = {len, len - 36, 44, 8};
        for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
            snprintf(p, sizeof(p), "%s/seed-%s-%zu", out, i ? "blob" : "bundle",
                     c);
            FILE *f = fopen(p, "wb");
            if (!f || fwrite(idx + INDEX_HEAD, 1, cuts[c], f) != cuts[c])
                abort();
            fclose(f);
        }
        free(idx);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(git_dir, sizeof(git_dir), "/tmp/struere-fuzz-bc.XXXXXX");
    if (!mkdtemp(git_dir))
        abort();
    atexit(cleanup);
    bytes[0] = read_whole("tests/fuzz/corpus-bundle/development.stb", &lens[0]);
    lens[1] = 600u << 10;
    bytes[1] = json_blob(lens[1]);
    rt_sha256(bytes[0], lens[0], bundle_sha);
    for (int i = 0; i < 2; i++)
        rt_sha256(bytes[i], lens[i], shas[i]);
    for (int i = 0; i < 2; i++)
        if (loose_deflate_blob(NULL, NULL, bytes[i], lens[i], &streams[i]) != 0)
            abort();
    keep();
    /* the bundle as dev keeps it opens */
    char p[4400];
    snprintf(p, sizeof(p), "%s/struere/bundles/%s.idx", git_dir, BUNDLE_ID);
    unsigned char *whole = read_whole(p, &bundle_index_len);
    bundle_index_len -= INDEX_HEAD + CACHE_SEAL_BYTES;
    bundle_index = malloc(bundle_index_len);
    if (!bundle_index)
        abort();
    memcpy(bundle_index, whole + INDEX_HEAD, bundle_index_len);
    memcpy(index_head, whole, 40);
    memcpy(index_head + 40, INPUT_ID, 40);
    free(whole);
    struct struere_bundle *b = bundle_cache_open(
        git_dir, BUNDLE_ID, STRUERE_ENV_DEVELOPMENT, bundle_sha, false, NULL);
    if (!b)
        abort();
    struere_bundle_free(b);
    const char *seeds = getenv("STRUERE_FUZZ_SEEDS");
    if (seeds)
        write_seeds(seeds);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser's paths are all reached by 64 entries; more would only
     * make an index that repeats a piece up to the 1 GiB a bundle may
     * have: as many bytes read and hashed per input. */
    if (size > 44 + 36 * 64)
        return 0;
    keep();
    char dir[4200];
    unsigned char file[INDEX_HEAD + 44 + 36 * 64 + CACHE_SEAL_BYTES];
    memcpy(file, index_head, INDEX_HEAD);
    if (size)
        memcpy(file + INDEX_HEAD, data, size);
    /* sealed as bundle_cache.c seals: the key of struere/, which holds
     * struere/bundles */
    if (!cache_file_path(git_dir, "bundles", dir, sizeof(dir)) ||
        !cache_file_seal(dir, true, file, INDEX_HEAD + size,
                         file + INDEX_HEAD + size) ||
        cache_file_write(dir, INPUT_ID ".idx", file,
                         INDEX_HEAD + size + CACHE_SEAL_BYTES) != 0)
        return 0;
    struct loose_known *known = loose_known_new();
    if (!known)
        return 0;
    struct struere_bundle *b = bundle_cache_open(
        git_dir, INPUT_ID, STRUERE_ENV_DEVELOPMENT, bundle_sha, false, known);
    /* only the bundle's own index names pieces that make its digest */
    if (b &&
        (size != bundle_index_len || memcmp(data, bundle_index, size) != 0))
        abort();
    /* and what it hands on is the bundle's pieces, each with its SHA-256:
     * every segment of the bundle written again is found among them */
    if (b) {
        struct loose_stream s = {0};
        if (loose_deflate_blob(NULL, known, bytes[0], lens[0], &s) != 0)
            abort();
        size_t at = 0;
        for (size_t i = 0; i < s.nseg; i++) {
            unsigned char got[32];
            rt_sha256((const unsigned char *)bytes[0] + at, s.seg[i].raw_len,
                      got);
            if (memcmp(got, s.seg[i].sha256, 32) != 0)
                abort();
            at += s.seg[i].raw_len;
        }
        /* and the stream made with them is the one made without, its
         * cuts but the last taken from them */
        const struct loose_stream *w = &streams[0];
        if (s.known != s.nseg || s.skipped + 1 != s.nseg || s.nseg != w->nseg ||
            s.z.len != w->z.len || memcmp(s.z.p, w->z.p, s.z.len) != 0)
            abort();
        loose_stream_free(&s);
    }
    struere_bundle_free(b);
    loose_known_free(known);
    return 0;
}
