/*
 * fuzz_gitread.c - libFuzzer target for the runtime's git reader
 * (runtime/src/gitread.c): loose objects, pack indexes, pack entries and
 * their deltas, as a store on disk holds them.
 *
 * Input: byte 0 says what the rest is. 'L': a loose object's file, stored
 * under a fixed id and read back as each type. 'P': a pack index's length
 * (4 bytes, little-endian), the index, then the pack; every id the index
 * lists (up to 64) is read as each type. Files are written into a
 * temporary store made on the first call. Checked on every read: the code
 * is one the header allows, *err agrees with it, and an object read
 * hashes to the id it was asked by and is of the type asked for.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gitread.h"
#include "sha1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char store[256];

static const char *const types[] = {"", "commit", "tree", "blob", "tag"};

/* The temporary store: HEAD, refs/, objects/pack/ (removed at exit). */
static void store_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_gitread: cannot remove %s\n", store);
}

static int store_make(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(store, sizeof(store), "%s/fuzz-gitread.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(store))
        return -1;
    atexit(store_remove);
    char path[400];
    snprintf(path, sizeof(path), "%s/refs", store);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/objects", store);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/objects/pack", store);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/objects/ab", store);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/HEAD", store);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("ref: refs/heads/master\n", f);
    return fclose(f);
}

static void put(const char *rel, const uint8_t *bytes, size_t n)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", store, rel);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(bytes, 1, n, f) != n)
        abort();
    fclose(f);
}

static void drop(const char *rel)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", store, rel);
    unlink(path);
}

/* Reads `id` as each type and checks what comes back. */
static void read_all_types(const unsigned char id[RT_GIT_ID])
{
    struct rt_git *g;
    struere_error e;
    if (rt_git_open(&g, store, &e) < 0)
        abort(); /* the store itself is well formed */
    for (int t = RT_GIT_COMMIT; t <= RT_GIT_TAG; t++) {
        struct rt_git_object o;
        memset(&e, 0, sizeof(e));
        int rc = rt_git_read(g, id, t, (size_t)1 << 20, &o, &e);
        if (rc == 0) {
            unsigned char got[RT_GIT_ID];
            rt_sha1_object(types[t], o.data, o.len, got);
            if (memcmp(got, id, RT_GIT_ID) || o.type != t ||
                o.data[o.len] != '\0')
                abort();
            free(o.data);
        } else if (rc == STRUERE_ERANGE) {
            if (o.len <= ((size_t)1 << 20) || o.data)
                abort();
        } else if ((rc != STRUERE_ESTORE && rc != STRUERE_ENOTFOUND &&
                    rc != STRUERE_ENOMEM) ||
                   e.code != rc || !e.message[0] || o.data) {
            abort();
        }
    }
    rt_git_close(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store[0] && store_make() < 0)
        abort();
    if (size < 1)
        return 0;
    if (data[0] == 'L') {
        static const char hex[] = "ab00112233445566778899aabbccddeeff001122";
        unsigned char id[RT_GIT_ID];
        char rel[80];
        snprintf(rel, sizeof(rel), "objects/ab/%s", hex + 2);
        put(rel, data + 1, size - 1);
        if (rt_git_id_parse(hex, id) != 0)
            abort();
        read_all_types(id);
        drop(rel);
        return 0;
    }
    if (data[0] != 'P' || size < 5)
        return 0;
    uint32_t idx_len = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
                       (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
    if (idx_len > size - 5)
        return 0;
    const uint8_t *idx = data + 5, *pack = idx + idx_len;
    size_t pack_len = size - 5 - idx_len;
    put("objects/pack/pack-0.idx", idx, idx_len);
    put("objects/pack/pack-0.pack", pack, pack_len);
    /* the ids the index lists, if it is long enough to list any */
    size_t head = 8 + 256 * 4;
    if (idx_len >= head + 40) {
        uint32_t n = (uint32_t)idx[head - 4] << 24 |
                     (uint32_t)idx[head - 3] << 16 |
                     (uint32_t)idx[head - 2] << 8 | idx[head - 1];
        for (uint32_t i = 0; i < n && i < 64 && head + (i + 1) * 20 <= idx_len;
             i++)
            read_all_types(idx + head + i * 20);
    }
    drop("objects/pack/pack-0.idx");
    drop("objects/pack/pack-0.pack");
    return 0;
}
