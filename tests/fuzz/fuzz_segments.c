/*
 * fuzz_segments.c - libFuzzer target for the reader of dev's compressed
 * bundle pieces (compiler/loose_deflate.c, .git/struere/segments):
 * whatever entries the file holds, opening it and making a blob's stream
 * with it must not crash, over-read, hang or leak.
 *
 * The input is everything after the file's header (the magic and this
 * build's id, kept valid: another build's file is not read): the entry
 * count and the entries. The seal is made again under a cache key of a
 * temporary git directory (as only the key's owner can), so the reader
 * gets past it. A stream is then made of fixed bundle-like bytes with the
 * file's pieces; it is not checked (a sealed file is trusted), only made.
 * Then the same input is read as the delta (segments.delta: its magic
 * and the base's seal kept valid, sealed again) beside a base of this
 * build that holds no segment, so that the delta's entries are the ones
 * used, and a stream made with both.
 *
 * STRUERE_FUZZ_SEEDS=DIR writes seeds: the entries of a real file, whole
 * and cut down. Built by `make fuzz`, replayed over its corpus by `make
 * test` (tests/fuzz/replay.c).
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache_file.h"
#include "json_blob.h"
#include "loose_deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char git_dir[64], path[128], dpath[160];
static unsigned char *blob, *header, *base;
static size_t blob_len = 600u << 10, header_len, base_len;

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", git_dir);
    if (git_dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", git_dir);
}

static void write_seeds(const char *out, const unsigned char *file, size_t len)
{
    const unsigned char *entries = file + header_len;
    size_t n = len - 32 - header_len;
    size_t cuts[] = {n, n / 2, 4 + 44, 4};
    char p[512];
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        snprintf(p, sizeof(p), "%s/seed-%zu", out, i);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(entries, 1, cuts[i], f) != cuts[i])
            abort();
        fclose(f);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        abort();
    snprintf(git_dir, sizeof(git_dir), "/tmp/struere-fuzz-seg.XXXXXX");
    if (!mkdtemp(git_dir))
        abort();
    atexit(cleanup);
    blob = json_blob(blob_len);
    /* A real file: its header is kept for every input. */
    struct loose_stream s = {0};
    if (loose_deflate_blob(NULL, NULL, blob, blob_len, &s) != 0)
        abort();
    loose_segments_save(git_dir, LOOSE_SEGMENTS_BUNDLES, NULL, &s, 1);
    loose_stream_free(&s);
    snprintf(path, sizeof(path), "%s/struere/segments", git_dir);
    size_t len = 0;
    unsigned char *file = cache_file_read(path, &len);
    if (!file || len < 12 + 32)
        abort();
    uint32_t idlen;
    memcpy(&idlen, file + 8, 4);
    header_len = 12 + idlen;
    header = malloc(header_len);
    if (!header)
        abort();
    memcpy(header, file, header_len);
    const char *seeds = getenv("STRUERE_FUZZ_SEEDS");
    if (seeds)
        write_seeds(seeds, file, len);
    free(file);
    /* The delta's base: this build's head, no entry, sealed. */
    base_len = header_len + 4 + CACHE_SEAL_BYTES;
    base = calloc(1, base_len);
    if (!base)
        abort();
    memcpy(base, header, header_len);
    if (!cache_file_seal(path, true, base, header_len + 4,
                         base + header_len + 4))
        abort();
    snprintf(dpath, sizeof(dpath), "%s/struere/segments.delta", git_dir);
    return 0;
}

/* Writes n bytes and their seal (made in place, after them) to p. */
static void write_sealed(const char *p, unsigned char *bytes, size_t n)
{
    if (!cache_file_seal(p, true, bytes, n, bytes + n))
        abort();
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(bytes, 1, n + CACHE_SEAL_BYTES, f) != n + CACHE_SEAL_BYTES)
        abort();
    fclose(f);
}

static void make_stream(void)
{
    struct loose_segments *prev =
        loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
    struct loose_stream s = {0};
    if (loose_deflate_blob(prev, NULL, blob, blob_len, &s) == 0)
        loose_stream_free(&s);
    loose_segments_free(prev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (4u << 20))
        return 0;
    unsigned char *file = malloc(header_len + size + CACHE_SEAL_BYTES);
    if (!file)
        return 0;
    memcpy(file, header, header_len);
    if (size)
        memcpy(file + header_len, data, size);
    write_sealed(path, file, header_len + size);
    unlink(dpath);
    make_stream();
    free(file);

    /* The delta's turn: the empty base, the input as its entries. */
    enum { DELTA_HEAD = 8 + CACHE_SEAL_BYTES };
    file = malloc(DELTA_HEAD + size + CACHE_SEAL_BYTES);
    if (!file)
        return 0;
    memcpy(file, "STRZSDL1", 8);
    memcpy(file + 8, base + base_len - CACHE_SEAL_BYTES, CACHE_SEAL_BYTES);
    if (size)
        memcpy(file + DELTA_HEAD, data, size);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(base, 1, base_len, f) != base_len)
        abort();
    fclose(f);
    write_sealed(dpath, file, DELTA_HEAD + size);
    make_stream();
    free(file);
    return 0;
}
