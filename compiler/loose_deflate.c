/*
 * loose_deflate.c - a large blob's loose object from reusable deflated
 * segments (loose_deflate.h).
 *
 * The segments file:
 *   "STRZSEG1" | u32 n | n bytes: the compiler's build (cache_file.h) |
 *   u32 count | count x (key[32] | u32 raw_len | u32 adler | u32 z_len |
 *   z_len bytes) | seal (cache_file_seal)
 * little-endian, as the machine that wrote it (the seal key never leaves
 * the store). Another build's file is not used: how a segment's
 * dictionary is chosen, and so what its key must cover, is this code's.
 */
#include "loose_deflate.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cache_file.h"
#include "sha256.h"

#define MAGIC "STRZSEG1"
#define ENTRY_HEAD (32 + 4 + 4 + 4)

/* ---- where segments are cut -----------------------------------------------
 * A gear hash: one shift and one add per byte, each byte's random value
 * leaving the top 16 bits after 48 more bytes, so that whether a cut
 * falls after a byte depends only on the 64 bytes before it. */

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void gear_init(void)
{
    uint64_t x = 0x9e3779b97f4a7c15u; /* splitmix64: fixed, so every run
                                         and machine cuts alike */
    for (int i = 0; i < 256; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        gear[i] = z ^ (z >> 31);
    }
}

#define CUT_MASK 0xffff000000000000u

/* The length of the segment that starts at p (n bytes left). */
static size_t segment_length(const unsigned char *p, size_t n)
{
    if (n <= LOOSE_SEGMENT_MIN + 64)
        return n;
    size_t end = n < LOOSE_SEGMENT_MAX ? n : LOOSE_SEGMENT_MAX;
    uint64_t h = 0;
    for (size_t i = LOOSE_SEGMENT_MIN - 64; i < end; i++) {
        h = (h << 1) + gear[p[i]];
        if (i >= LOOSE_SEGMENT_MIN && !(h & CUT_MASK))
            return i + 1;
    }
    return end;
}

/* ---- the previous run's segments ------------------------------------------
 */

struct loose_segments {
    unsigned char *data;        /* the file */
    const unsigned char **slot; /* open addressing by key: entry heads */
    size_t nslot;
};

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static size_t slot_of(const unsigned char key[32], size_t nslot)
{
    uint64_t h;
    memcpy(&h, key, 8);
    return (size_t)h & (nslot - 1);
}

static bool segments_path(const char *git_dir, char *buf, size_t size)
{
    return cache_file_path(git_dir, "segments", buf, size);
}

/* Indexes the entries of s->data (len bytes before the seal), each
 * checked to lie inside it; false when the file is malformed. */
static bool index_entries(struct loose_segments *s, size_t len)
{
    char id[200];
    if (!cache_file_compiler_id(id, sizeof(id)))
        return false;
    size_t idlen = strlen(id), at = 8 + 4 + idlen + 4;
    if (len < at || memcmp(s->data, MAGIC, 8) != 0 ||
        get_u32(s->data + 8) != idlen || memcmp(s->data + 12, id, idlen) != 0)
        return false;
    uint32_t count = get_u32(s->data + 12 + idlen);
    if (count > len / ENTRY_HEAD)
        return false;
    size_t nslot = 16;
    while (nslot < (size_t)count * 2)
        nslot *= 2;
    s->slot = calloc(nslot, sizeof(*s->slot));
    if (!s->slot)
        return false;
    s->nslot = nslot;
    for (uint32_t i = 0; i < count; i++) {
        if (len - at < ENTRY_HEAD)
            return false;
        const unsigned char *e = s->data + at;
        uint32_t z_len = get_u32(e + 40);
        if (len - at - ENTRY_HEAD < z_len || get_u32(e + 32) == 0)
            return false;
        size_t k = slot_of(e, nslot);
        while (s->slot[k] && memcmp(s->slot[k], e, 32) != 0)
            k = (k + 1) & (nslot - 1);
        s->slot[k] = e;
        at += ENTRY_HEAD + z_len;
    }
    return at == len;
}

struct loose_segments *loose_segments_open(const char *git_dir)
{
    struct loose_segments *s = calloc(1, sizeof(*s));
    char path[4300];
    size_t len = 0;
    if (!s || !segments_path(git_dir, path, sizeof(path)))
        return s;
    s->data = cache_file_read(path, &len);
    unsigned char tag[CACHE_SEAL_BYTES];
    if (s->data && len > CACHE_SEAL_BYTES &&
        cache_file_seal(path, false, s->data, len - CACHE_SEAL_BYTES, tag) &&
        sodium_memcmp(tag, s->data + len - CACHE_SEAL_BYTES,
                      CACHE_SEAL_BYTES) == 0 &&
        index_entries(s, len - CACHE_SEAL_BYTES))
        return s;
    /* Unusable: nothing to take from it (it is replaced on save). */
    free(s->slot);
    free(s->data);
    s->slot = NULL;
    s->data = NULL;
    s->nslot = 0;
    return s;
}

void loose_segments_free(struct loose_segments *s)
{
    if (!s)
        return;
    free(s->slot);
    free(s->data);
    free(s);
}

/* The entry head of the segment with this key and length, or NULL. */
static const unsigned char *find_segment(const struct loose_segments *s,
                                         const unsigned char key[32],
                                         size_t raw_len)
{
    if (!s || !s->nslot)
        return NULL;
    for (size_t k = slot_of(key, s->nslot); s->slot[k];
         k = (k + 1) & (s->nslot - 1))
        if (memcmp(s->slot[k], key, 32) == 0)
            return get_u32(s->slot[k] + 32) == raw_len ? s->slot[k] : NULL;
    return NULL;
}

/* ---- making a stream ------------------------------------------------------
 */

/* Deflates n bytes onto z as a run of non-final blocks ending on a byte
 * boundary (or the final block, with Z_FINISH), its matches reaching back
 * into the dict_len bytes just before p (the dictionary) and no further. */
static int deflate_piece(z_stream *zs, const unsigned char *p, size_t n,
                         size_t dict_len, int flush, rt_buf *z)
{
    if (deflateReset(zs) != Z_OK ||
        (dict_len &&
         deflateSetDictionary(zs, p - dict_len, (uInt)dict_len) != Z_OK))
        return -1;
    zs->next_in = (unsigned char *)p;
    zs->avail_in = (uInt)n;
    do {
        rt_buf_reserve(z, deflateBound(zs, (uLong)n) + 64);
        if (z->failed)
            return -1;
        unsigned char *to = (unsigned char *)z->p + z->len;
        size_t room = z->cap - z->len;
        zs->next_out = to;
        zs->avail_out = room < (uInt)-1 ? (uInt)room : (uInt)-1;
        int rc = deflate(zs, flush);
        z->len += (size_t)(zs->next_out - to);
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
    } while (zs->avail_out == 0 || zs->avail_in > 0);
    return 0;
}

static struct loose_segment *add_segment(struct loose_stream *out)
{
    if (out->nseg == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        struct loose_segment *s = realloc(out->seg, cap * sizeof(*s));
        if (!s)
            return NULL;
        out->seg = s;
        out->cap = cap;
    }
    return &out->seg[out->nseg++];
}

int loose_deflate_blob(const struct loose_segments *prev, const void *data,
                       size_t len, struct loose_stream *out)
{
    pthread_once(&gear_once, gear_init);
    const unsigned char *p = data;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    /* Level 1, as libgit2 writes loose objects; raw deflate (the zlib
     * header and trailer are written here). */
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    rt_buf_grow_init(&out->z);
    /* Reused segments are most of it: room for a previous-sized stream. */
    rt_buf_reserve(&out->z, len / 4 + 4096);
    rt_buf_put(&out->z, "\x78\x01", 2);
    char head[40];
    int hlen = snprintf(head, sizeof(head), "blob %zu", len) + 1;
    uLong adler = adler32(1L, (const Bytef *)head, (uInt)hlen);
    int rc = deflate_piece(&zs, (const unsigned char *)head, (size_t)hlen, 0,
                           Z_SYNC_FLUSH, &out->z);
    /* A segment is deflated with the end of the one before as its
     * dictionary (as if the stream were one): its deflated bytes depend
     * on both, and so does its key, the SHA-256 of both segments' own. */
    unsigned char pair[64] = {0};
    size_t dict = 0;
    for (size_t at = 0; rc == 0 && at < len;) {
        size_t n = segment_length(p + at, len - at);
        struct loose_segment *s = add_segment(out);
        if (!s) {
            rc = -1;
            break;
        }
        memcpy(pair, pair + 32, 32);
        rt_sha256(p + at, n, pair + 32);
        rt_sha256(pair, sizeof(pair), s->key);
        memcpy(s->sha256, pair + 32, 32);
        s->raw_len = (uint32_t)n;
        s->z_at = out->z.len;
        const unsigned char *old = find_segment(prev, s->key, n);
        if (old) {
            s->adler = get_u32(old + 36);
            s->z_len = get_u32(old + 40);
            rt_buf_put(&out->z, old + ENTRY_HEAD, s->z_len);
            out->reused++;
        } else {
            s->adler = (uint32_t)adler32(1L, p + at, (uInt)n);
            rc = deflate_piece(&zs, p + at, n, dict, Z_SYNC_FLUSH, &out->z);
            s->z_len = (uint32_t)(out->z.len - s->z_at);
        }
        adler = adler32_combine(adler, s->adler, (z_off_t)n);
        dict = n < 32768 ? n : 32768; /* deflate's window */
        at += n;
    }
    /* The final block (empty), then Adler-32, most significant first. */
    if (rc == 0)
        rc = deflate_piece(&zs, NULL, 0, 0, Z_FINISH, &out->z);
    deflateEnd(&zs);
    unsigned char tail[4] = {(unsigned char)(adler >> 24),
                             (unsigned char)(adler >> 16),
                             (unsigned char)(adler >> 8), (unsigned char)adler};
    rt_buf_put(&out->z, tail, 4);
    if (rc != 0 || out->z.failed) {
        loose_stream_free(out);
        return -1;
    }
    return 0;
}

void loose_stream_free(struct loose_stream *out)
{
    free(out->z.p);
    free(out->seg);
    memset(out, 0, sizeof(*out));
}

/* ---- keeping them for the next run ----------------------------------------
 */

void loose_segments_save(const char *git_dir, const struct loose_stream *out,
                         size_t n)
{
    char path[4300];
    if (!segments_path(git_dir, path, sizeof(path)))
        return;
    size_t total = 16 + 200 + CACHE_SEAL_BYTES, count = 0;
    for (size_t i = 0; i < n; i++) {
        total += out[i].z.len;
        count += out[i].nseg;
    }
    /* Each key once: the bundles share most of their segments. */
    size_t nslot = 16;
    while (nslot < count * 2)
        nslot *= 2;
    const struct loose_segment **slot = calloc(nslot, sizeof(*slot));
    rt_buf o;
    rt_buf_grow_init(&o);
    rt_buf_reserve(&o, total + count * ENTRY_HEAD);
    if (!slot || o.failed) {
        free(slot);
        free(o.p);
        return;
    }
    char id[200];
    if (!cache_file_compiler_id(id, sizeof(id))) {
        free(slot);
        free(o.p);
        return;
    }
    uint32_t idlen = (uint32_t)strlen(id), written = 0;
    rt_buf_put(&o, MAGIC, 8);
    rt_buf_put(&o, &idlen, 4);
    rt_buf_put(&o, id, idlen);
    size_t count_at = o.len;
    rt_buf_put(&o, &written, 4);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < out[i].nseg; j++) {
            const struct loose_segment *s = &out[i].seg[j];
            size_t k = slot_of(s->key, nslot);
            while (slot[k] && memcmp(slot[k]->key, s->key, 32) != 0)
                k = (k + 1) & (nslot - 1);
            if (slot[k])
                continue;
            slot[k] = s;
            rt_buf_put(&o, s->key, 32);
            rt_buf_put(&o, &s->raw_len, 4);
            rt_buf_put(&o, &s->adler, 4);
            rt_buf_put(&o, &s->z_len, 4);
            rt_buf_put(&o, out[i].z.p + s->z_at, s->z_len);
            written++;
        }
    free(slot);
    if (!o.failed) {
        memcpy(o.p + count_at, &written, 4);
        cache_file_seal_write(path, &o);
    }
    free(o.p);
}
