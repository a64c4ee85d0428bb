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
 *
 * Beside it (the base), segments.delta holds the segments a run kept
 * that the base has not, when they are few:
 *   "STRZSDL1" | the base's seal (32 bytes) | u32 count | entries as
 *   above | seal
 * A delta that does not verify, or names another base, is not read: a
 * segment is only a shortcut, and one missing costs its compression.
 * The delta has no build id of its own: naming a base that is this
 * build's (checked first) is what makes it this build's too.
 */
#include "loose_deflate.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cache_file.h"
#include "sha256.h"

#define MAGIC "STRZSEG1"
#define DELTA_MAGIC "STRZSDL1"
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
    struct cache_map base;      /* the base file, mapped (cache_file.h) */
    const unsigned char *data;  /* its bytes, or NULL */
    size_t base_len;            /* its bytes before the seal (0: none) */
    size_t base_entries;        /* the bytes of its entries */
    struct cache_map dmap;      /* the delta file, or nothing mapped */
    const unsigned char *delta; /* its bytes, or NULL */
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

static bool segments_path(const char *git_dir, const char *name, char *buf,
                          size_t size)
{
    return cache_file_path(git_dir, name, buf, size);
}

static bool delta_path(const char *git_dir, const char *name, char *buf,
                       size_t size)
{
    char delta[64];
    return (size_t)snprintf(delta, sizeof(delta), "%s.delta", name) <
               sizeof(delta) &&
           cache_file_path(git_dir, delta, buf, size);
}

/* The file at path mapped (m; m->len bytes before its seal) when it
 * holds at most max bytes and its seal verifies; NULL otherwise. */
static const unsigned char *map_sealed(const char *path, size_t max,
                                       struct cache_map *m, size_t *len)
{
    if (!cache_file_map_sealed(path, max, m))
        return NULL;
    *len = m->len;
    return m->data;
}

/* Whether data[at, len) is exactly count entries, each inside it; *bytes
 * gets their size. */
static bool entries_fit(const unsigned char *data, size_t at, size_t len,
                        uint32_t count, size_t *bytes)
{
    size_t from = at;
    if (count > (len - at) / ENTRY_HEAD)
        return false;
    for (uint32_t i = 0; i < count; i++) {
        if (len - at < ENTRY_HEAD)
            return false;
        uint32_t z_len = get_u32(data + at + 40);
        if (len - at - ENTRY_HEAD < z_len || get_u32(data + at + 32) == 0)
            return false;
        at += ENTRY_HEAD + z_len;
    }
    *bytes = at - from;
    return at == len;
}

/* Adds the count entries from data[at] (entries_fit said they are sound)
 * to s's slots; a key there already keeps its first entry. */
static void add_entries(struct loose_segments *s, const unsigned char *data,
                        size_t at, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = data + at;
        size_t k = slot_of(e, s->nslot);
        while (s->slot[k] && memcmp(s->slot[k], e, 32) != 0)
            k = (k + 1) & (s->nslot - 1);
        if (!s->slot[k])
            s->slot[k] = e;
        at += ENTRY_HEAD + get_u32(e + 40);
    }
}

/* Where a base's entries start and how many there are, when its head is
 * this build's; false otherwise. */
static bool base_head(const unsigned char *data, size_t len, size_t *at,
                      uint32_t *count)
{
    char id[200];
    if (!cache_file_compiler_id(id, sizeof(id)))
        return false;
    size_t idlen = strlen(id);
    *at = 8 + 4 + idlen + 4;
    if (len < *at || memcmp(data, MAGIC, 8) != 0 ||
        get_u32(data + 8) != idlen || memcmp(data + 12, id, idlen) != 0)
        return false;
    *count = get_u32(data + 12 + idlen);
    return true;
}

struct loose_segments *loose_segments_open(const char *git_dir,
                                           const char *name)
{
    struct loose_segments *s = calloc(1, sizeof(*s));
    char path[4300];
    size_t len = 0, dlen = 0, at = 0, dat = 8 + CACHE_SEAL_BYTES + 4;
    uint32_t count = 0, dcount = 0;
    if (!s || !segments_path(git_dir, name, path, sizeof(path)))
        return s;
    s->data = map_sealed(path, SIZE_MAX, &s->base, &len);
    if (!s->data || !base_head(s->data, len, &at, &count) ||
        !entries_fit(s->data, at, len, count, &s->base_entries)) {
        /* Unusable: nothing to take from it (it is replaced on save). */
        cache_file_unmap(&s->base);
        s->data = NULL;
        s->base_entries = 0;
        return s;
    }
    s->base_len = len;
    /* The delta, when it verifies and names this base (its seal). No
     * larger than a delta is ever written (an eighth of the base's
     * entries and its head): a larger file is not even hashed. */
    size_t dbytes;
    if (delta_path(git_dir, name, path, sizeof(path)))
        s->delta =
            map_sealed(path, s->base_entries / 8 + dat + CACHE_SEAL_BYTES,
                       &s->dmap, &dlen);
    if (s->delta && dlen >= dat)
        dcount = get_u32(s->delta + dat - 4);
    if (s->delta &&
        !(dlen >= dat && memcmp(s->delta, DELTA_MAGIC, 8) == 0 &&
          sodium_memcmp(s->delta + 8, s->data + len, CACHE_SEAL_BYTES) == 0 &&
          entries_fit(s->delta, dat, dlen, dcount, &dbytes))) {
        cache_file_unmap(&s->dmap);
        s->delta = NULL;
    }
    if (!s->delta)
        dcount = 0;
    size_t nslot = 16;
    while (nslot < ((size_t)count + dcount) * 2)
        nslot *= 2;
    s->slot = calloc(nslot, sizeof(*s->slot));
    if (!s->slot) { /* out of memory: an empty set */
        cache_file_unmap(&s->base);
        cache_file_unmap(&s->dmap);
        memset(s, 0, sizeof(*s));
        return s;
    }
    s->nslot = nslot;
    add_entries(s, s->data, at, count);
    if (s->delta)
        add_entries(s, s->delta, dat, dcount);
    return s;
}

void loose_segments_free(struct loose_segments *s)
{
    if (!s)
        return;
    free(s->slot);
    cache_file_unmap(&s->base);
    cache_file_unmap(&s->dmap);
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

/* Room in the array *p of *cap elements of size bytes for one past count
 * (doubled, or first to begin with); false when out of memory. */
static bool array_room(void **p, size_t *cap, size_t count, size_t size,
                       size_t first)
{
    if (count < *cap)
        return true;
    size_t n = *cap ? *cap * 2 : first;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* ---- pieces whose SHA-256 is known ----------------------------------------
 * The pieces in an array; two open-addressing tables of indexes into it:
 * by a hash of a piece's length and its first and last 16 bytes (for a
 * segment already cut), and, for the pieces this build's rule cut (not
 * their blob's end), by a hash of their first 32 bytes (to find where
 * the next segment ends without scanning for the cut). A hit is always
 * confirmed by comparing every byte. */

struct known_piece {
    const unsigned char *p;
    uint32_t n;
    bool by_rule;
    uint64_t h, head; /* piece_hash, head_hash */
    unsigned char sha256[32];
};

struct loose_known {
    pthread_mutex_t lock;
    struct known_piece *e;
    size_t count, cap;
    uint32_t *by_piece, *by_head; /* entry index + 1; 0: empty */
    size_t nslot;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
    return h * 0xbf58476d1ce4e5b9u;
}

static uint64_t mix32(uint64_t h, const unsigned char b[32])
{
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        memcpy(&v, b + 8 * i, 8);
        h = mix(h, v);
    }
    return h ^ (h >> 31);
}

static uint64_t piece_hash(const unsigned char *p, size_t n)
{
    unsigned char ends[32] = {0};
    size_t e = n < 16 ? n : 16;
    memcpy(ends, p, e);
    memcpy(ends + 16, p + n - e, e);
    return mix32(mix(0, n), ends);
}

/* Of a piece of at least 32 bytes. */
static uint64_t head_hash(const unsigned char *p)
{
    return mix32(1, p);
}

struct loose_known *loose_known_new(void)
{
    struct loose_known *k = calloc(1, sizeof(*k));
    if (k && pthread_mutex_init(&k->lock, NULL) != 0) {
        free(k);
        k = NULL;
    }
    return k;
}

void loose_known_free(struct loose_known *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    free(k->e);
    free(k->by_piece);
    free(k->by_head);
    free(k);
}

size_t loose_known_count(const struct loose_known *k)
{
    return k ? k->count : 0;
}

static void slot_put(uint32_t *slot, size_t nslot, uint64_t h, uint32_t v)
{
    size_t i = (size_t)h & (nslot - 1);
    while (slot[i])
        i = (i + 1) & (nslot - 1);
    slot[i] = v;
}

/* Room for one more entry (the tables at most half full). */
static bool known_room(struct loose_known *k)
{
    if (!array_room((void **)&k->e, &k->cap, k->count, sizeof(*k->e), 16))
        return false;
    if ((k->count + 1) * 2 <= k->nslot)
        return true;
    size_t nslot = k->nslot ? k->nslot * 2 : 32;
    uint32_t *a = calloc(nslot, sizeof(*a)), *b = calloc(nslot, sizeof(*b));
    if (!a || !b) {
        free(a);
        free(b);
        return false;
    }
    for (size_t i = 0; i < k->count; i++) {
        slot_put(a, nslot, k->e[i].h, (uint32_t)i + 1);
        if (k->e[i].by_rule)
            slot_put(b, nslot, k->e[i].head, (uint32_t)i + 1);
    }
    free(k->by_piece);
    free(k->by_head);
    k->by_piece = a;
    k->by_head = b;
    k->nslot = nslot;
    return true;
}

bool loose_known_add(struct loose_known *k, const unsigned char *p, size_t n,
                     const unsigned char sha256[32], bool by_rule)
{
    if (!k || n == 0 || n > LOOSE_SEGMENT_MAX ||
        (by_rule && n <= LOOSE_SEGMENT_MIN))
        return false;
    struct known_piece e = {
        p,  (uint32_t)n, by_rule, piece_hash(p, n), by_rule ? head_hash(p) : 0,
        {0}};
    memcpy(e.sha256, sha256, 32);
    bool ok = true;
    pthread_mutex_lock(&k->lock);
    /* The same bytes from another bundle (the three share most pieces):
     * same length and SHA-256; kept once, cut by the rule if either
     * was. */
    for (size_t i = k->nslot ? (size_t)e.h & (k->nslot - 1) : 0;
         k->nslot && k->by_piece[i]; i = (i + 1) & (k->nslot - 1)) {
        struct known_piece *o = &k->e[k->by_piece[i] - 1];
        if (o->h == e.h && o->n == e.n &&
            memcmp(o->sha256, e.sha256, 32) == 0) {
            if (by_rule && !o->by_rule) {
                o->by_rule = true;
                o->head = e.head;
                slot_put(k->by_head, k->nslot, o->head, k->by_piece[i]);
            }
            goto done;
        }
    }
    if (k->count >= UINT32_MAX - 1 || !known_room(k)) {
        ok = false;
        goto done;
    }
    k->e[k->count] = e;
    slot_put(k->by_piece, k->nslot, e.h, (uint32_t)k->count + 1);
    if (by_rule)
        slot_put(k->by_head, k->nslot, e.head, (uint32_t)k->count + 1);
    k->count++;
done:
    pthread_mutex_unlock(&k->lock);
    return ok;
}

const unsigned char *loose_known_find(const struct loose_known *k,
                                      const unsigned char *p, size_t n)
{
    if (!k || !k->count || n == 0 || n > LOOSE_SEGMENT_MAX)
        return NULL;
    uint64_t h = piece_hash(p, n);
    for (size_t i = (size_t)h & (k->nslot - 1); k->by_piece[i];
         i = (i + 1) & (k->nslot - 1)) {
        const struct known_piece *e = &k->e[k->by_piece[i] - 1];
        if (e->h == h && e->n == n && memcmp(e->p, p, n) == 0)
            return e->sha256;
    }
    return NULL;
}

/* Whether the rule may have cut n bytes at p where they end: at a hit (a
 * look at the 64 bytes before it, the only ones it depends on) or at
 * LOOSE_SEGMENT_MAX. What the caller vouches for (loose_known_add), and
 * not all of it (an earlier hit is not looked for): a piece handed on as
 * cut by the rule that was not is mostly refused here. */
static bool may_cut_at(const unsigned char *p, size_t n)
{
    if (n == LOOSE_SEGMENT_MAX)
        return true;
    uint64_t h = 0;
    for (size_t i = n - 64; i < n; i++)
        h = (h << 1) + gear[p[i]];
    return !(h & CUT_MASK);
}

/* The known piece cut by the rule whose bytes the rest bytes at p start
 * with, when segment_length would cut there: it cuts a piece's bytes
 * where the rule cut them, and a piece cut by the rule (not by its
 * blob's end) was cut by it at a hit found scanning from
 * LOOSE_SEGMENT_MIN, or at LOOSE_SEGMENT_MAX with none; the same bytes
 * with at least as many after them give the same scan, as long as they
 * are not the blob's short end (more than LOOSE_SEGMENT_MIN + 64 bytes
 * left). At most one piece can match: two cut by the rule cannot start
 * alike and end apart. NULL when none. */
static const struct known_piece *known_at(const struct loose_known *k,
                                          const unsigned char *p, size_t rest)
{
    if (!k || !k->count || rest <= LOOSE_SEGMENT_MIN + 64)
        return NULL;
    uint64_t h = head_hash(p);
    for (size_t i = (size_t)h & (k->nslot - 1); k->by_head[i];
         i = (i + 1) & (k->nslot - 1)) {
        const struct known_piece *e = &k->e[k->by_head[i] - 1];
        if (e->head == h && e->n <= rest && memcmp(e->p, p, e->n) == 0 &&
            may_cut_at(p, e->n))
            return e;
    }
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
    if (!array_room((void **)&out->seg, &out->cap, out->nseg, sizeof(*out->seg),
                    256))
        return NULL;
    return &out->seg[out->nseg++];
}

int loose_deflate_blob(const struct loose_segments *prev,
                       const struct loose_known *known, const void *data,
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
        /* A previous bundle's piece where this one goes on as it did: its
         * length is where the rule cuts, and its SHA-256 is known. */
        const struct known_piece *kp = known_at(known, p + at, len - at);
        size_t n = kp ? kp->n : segment_length(p + at, len - at);
        struct loose_segment *s = add_segment(out);
        if (!s) {
            rc = -1;
            break;
        }
        memcpy(pair, pair + 32, 32);
        const unsigned char *sha =
            kp ? kp->sha256 : loose_known_find(known, p + at, n);
        out->skipped += kp != NULL;
        if (sha) {
            memcpy(pair + 32, sha, 32);
            out->known++;
        } else {
            rt_sha256(p + at, n, pair + 32);
        }
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

/* Each of the n streams' segments once (the bundles share most of
 * theirs), in order: *count of them, malloc'd; NULL out of memory. */
static const struct loose_segment **
unique_segments(const struct loose_stream *out, size_t n,
                const unsigned char ***from, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += out[i].nseg;
    size_t nslot = 16;
    while (nslot < total * 2)
        nslot *= 2;
    const struct loose_segment **slot = calloc(nslot, sizeof(*slot));
    const struct loose_segment **list = malloc((total + 1) * sizeof(*list));
    *from = malloc((total + 1) * sizeof(**from));
    if (!slot || !list || !*from) {
        free(slot);
        free(list);
        free(*from);
        *from = NULL;
        return NULL;
    }
    *count = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < out[i].nseg; j++) {
            const struct loose_segment *sg = &out[i].seg[j];
            size_t k = slot_of(sg->key, nslot);
            while (slot[k] && memcmp(slot[k]->key, sg->key, 32) != 0)
                k = (k + 1) & (nslot - 1);
            if (slot[k])
                continue;
            slot[k] = sg;
            (*from)[*count] = (const unsigned char *)out[i].z.p + sg->z_at;
            list[(*count)++] = sg;
        }
    free(slot);
    return list;
}

/* Writes the file at path: head (hlen bytes), then the count entries of
 * list whose `pick` is set (all when pick is NULL), sealed. 0, or -1
 * when it could not be written. */
static int write_entries(const char *path, const void *head, size_t hlen,
                         const struct loose_segment **list,
                         const unsigned char **from, size_t count,
                         const bool *pick)
{
    size_t total = hlen + 4 + CACHE_SEAL_BYTES;
    uint32_t written = 0;
    for (size_t i = 0; i < count; i++)
        if (!pick || pick[i])
            total += ENTRY_HEAD + list[i]->z_len;
    rt_buf o;
    rt_buf_grow_init(&o);
    rt_buf_reserve(&o, total);
    rt_buf_put(&o, head, hlen);
    size_t count_at = o.len;
    rt_buf_put(&o, &written, 4);
    for (size_t i = 0; i < count; i++) {
        if (pick && !pick[i])
            continue;
        const struct loose_segment *sg = list[i];
        rt_buf_put(&o, sg->key, 32);
        rt_buf_put(&o, &sg->raw_len, 4);
        rt_buf_put(&o, &sg->adler, 4);
        rt_buf_put(&o, &sg->z_len, 4);
        rt_buf_put(&o, from[i], sg->z_len);
        written++;
    }
    int rc = -1;
    if (!o.failed) {
        memcpy(o.p + count_at, &written, 4);
        rc = cache_file_seal_write(path, &o);
    }
    free(o.p);
    return rc;
}

void loose_segments_save(const char *git_dir, const char *name,
                         const struct loose_segments *prev,
                         const struct loose_stream *out, size_t n)
{
    char path[4300], dpath[4300], id[200];
    if (!segments_path(git_dir, name, path, sizeof(path)) ||
        !delta_path(git_dir, name, dpath, sizeof(dpath)) ||
        !cache_file_compiler_id(id, sizeof(id)))
        return;
    const unsigned char **from;
    size_t count;
    const struct loose_segment **list = unique_segments(out, n, &from, &count);
    bool *fresh = list ? calloc(count + 1, sizeof(*fresh)) : NULL;
    if (!fresh) {
        free(list);
        free(from);
        return;
    }
    /* What the base holds of this run's segments, and what it has not. */
    size_t in_base = 0, not_in_base = 0;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *e =
            find_segment(prev, list[i]->key, list[i]->raw_len);
        size_t bytes = ENTRY_HEAD + list[i]->z_len;
        if (e && (uintptr_t)e - (uintptr_t)prev->data < prev->base_len) {
            in_base += bytes;
        } else {
            fresh[i] = true;
            not_in_base += bytes;
        }
    }
    /* A delta while the segments it adds are at most an eighth of the
     * base and those of the base no longer used at most a quarter;
     * otherwise the base is written again, exactly this run's, and the
     * delta goes. */
    size_t base = prev ? prev->base_entries : 0;
    if (prev && prev->base_len && not_in_base <= base / 8 &&
        base - in_base <= base / 4) {
        if (not_in_base) {
            unsigned char head[8 + CACHE_SEAL_BYTES];
            memcpy(head, DELTA_MAGIC, 8);
            memcpy(head + 8, prev->data + prev->base_len, CACHE_SEAL_BYTES);
            (void)write_entries(dpath, head, sizeof(head), list, from, count,
                                fresh);
        } else {
            unlink(dpath);
        }
    } else {
        uint32_t idlen = (uint32_t)strlen(id);
        size_t hlen = 8 + 4 + idlen;
        unsigned char *head = malloc(hlen);
        if (head) {
            memcpy(head, MAGIC, 8);
            memcpy(head + 8, &idlen, 4);
            memcpy(head + 12, id, idlen);
            /* The delta names the base replaced: never read again. */
            if (write_entries(path, head, hlen, list, from, count, NULL) == 0)
                unlink(dpath);
        }
        free(head);
    }
    free(fresh);
    free(list);
    free(from);
}
