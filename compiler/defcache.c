/*
 * defcache.c - the parsed-definition cache (defcache.h).
 *
 * File layout (host byte order; the header's byte-order mark rejects a
 * file from another architecture):
 *
 *   "STRDEFS3" | u32 0x01020304 | str compiler | str project | u64 count
 *   count records | xchecks | 32 bytes: HMAC-SHA-256, under the store's
 *   cache key (cache_file_key), of the SHA-256 of everything before it
 *
 *   record: u32 length of the rest | str path | u8 kind | u8 racy
 *           u64 dev, ino, size | i64 mtime_ns, ctime_ns | 32 bytes sha256
 *           node (the root, in nodebin.h's form)
 *   str:    uv len | len bytes | NUL          uv: LEB128 unsigned
 *   xchecks: see put_xchecks (a base may end before them)
 *
 * A run that changed little does not write all that again: beside the
 * file (the base) it writes PATH.delta, what differs from the base:
 *
 *   "STRDDLT1" | u32 0x01020304 | str compiler | str project
 *   32 bytes: the base's MAC (the only base this delta applies to)
 *   u64 count | count records or tombstones | xchecks | 32 bytes MAC
 *
 *   tombstone: u32 length of the rest | str path | u8 0xff (no record)
 *
 * A record of the delta replaces the base's for its path; an xcheck
 * entry too (a removed one is an entry whose digest is all zeros, which
 * no file has). The base and the delta together hold exactly what a
 * whole cache written by the same run would hold (defcache_save writes
 * the delta relative to the base, never to the previous delta; when
 * nothing differs, it removes the delta). When the delta would exceed an
 * eighth of the base, or struere.yaml changed (every xcheck entry with
 * it), the whole cache is written again and the delta removed. A delta
 * that is unusable, or names another base (a whole cache written
 * meanwhile, or a run killed before it removed the delta), is ignored.
 * That is safe because every entry is checked on its own before it is
 * used (a record by stat, and by its bytes when racy; an xcheck result
 * by its file's digest, struere.yaml's and what the check read): the
 * base alone, an older state, restores less, never something wrong.
 *
 * Racy marks count as a difference: after a run that read many files
 * written just before it (a checkout), the next run, finding them old
 * enough, clears their marks and so writes the whole cache again. The
 * other way, leaving the base's marks, would cost a read and a hash of
 * each such file on every run until the base is rewritten.
 *
 * Restored scalars point at their text inside the loaded file (each is
 * NUL-terminated there), so restoring a tree copies no string.
 *
 * Why a key: a restored tree is compiled as it is, and a checksum is no
 * seal (an edit can recompute it). Each record's SHA-256 of its source
 * bytes cannot seal it either: an edited tree can keep the digest, and
 * checking that the tree is the parse of those bytes means reading and
 * parsing the file, the work the cache saves. So the whole file carries
 * a MAC under a secret only this user can read (.git/struere/key, 0600):
 * a cache written or edited by anyone without the key (another user with
 * write access to a shared repository, a cache restored from elsewhere)
 * is ignored. Hash-then-MAC costs one SHA-256 of the file (the CPU's SHA
 * extensions), about what the CRC-32 it replaces cost.
 */
#include "defcache.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "cache_file.h"
#include "hex.h"
#include "index.h"
#include "limits.h"
#include "node.h"
#include "nodebin.h"
#include "project.h"
#include "sha256.h"
#include "source.h"

/* <limits.h> is shadowed by compiler/limits.h (-Icompiler). */
#define PATH_BYTES 4096
#define MAGIC "STRDEFS3"
#define DELTA_MAGIC "STRDDLT1"
#define DELTA_SUFFIX ".delta"
#define TOMBSTONE_KIND 0xff
#define TAG_BYTES CACHE_SEAL_BYTES
#define BOM 0x01020304u

struct defcache {
    struct cache_map base;  /* the base file, mapped (cache_file.h) */
    struct cache_map delta; /* the delta file, or nothing mapped */
    struct arena arena;
    struct index *records; /* path -> record (the byte after its length) */
    /* The results of the checks between definitions (xcheck.h): path ->
     * entry (after its path), valid with struere.yaml's digest `config`. */
    struct index *xchecks;
    unsigned char config[32];
    unsigned char tag[TAG_BYTES]; /* the base's MAC */
    /* The delta's, looked up before the base's (a record, or &tombstone;
     * an entry). NULL without a delta. */
    struct index *delta_records, *delta_xchecks;
};

/* A delta's record for a path that has none. */
static const unsigned char tombstone = TOMBSTONE_KIND;

int64_t defcache_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

bool defcache_path(const char *git_dir, const char *project_dir, char *buf,
                   size_t size)
{
    return cache_file_project_path(git_dir, "defs", project_dir, buf, size);
}

/* ---- writing --------------------------------------------------------------
 */

static const unsigned char *record_of(const struct defcache *c,
                                      const char *path)
{
    if (!c)
        return NULL;
    const unsigned char *rec =
        c->delta_records ? index_get(c->delta_records, path) : NULL;
    if (rec == &tombstone)
        return NULL;
    return rec ? rec : index_get(c->records, path);
}

static const unsigned char *xcheck_of(const struct defcache *c,
                                      const char *path)
{
    if (!c || !c->xchecks)
        return NULL;
    const unsigned char *entry =
        c->delta_xchecks ? index_get(c->delta_xchecks, path) : NULL;
    return entry ? entry : index_get(c->xchecks, path);
}

/* A definition worth caching: read from a file, parsed, no problem. */
static bool cacheable(const struct def *d)
{
    return d->root && d->stat.known && d->sha256[0] && d->diags.n == 0;
}

/* The bytes of a str of len bytes. */
static size_t str_size(size_t len)
{
    return bin_uv_size(len) + len + 1;
}

/* Where a record's racy mark is: after its path (a str) and kind. */
static size_t racy_offset(size_t path_len)
{
    return str_size(path_len) + 1;
}

static void put_record(rt_buf *o, const struct def *d,
                       const struct defcache *old, int64_t started)
{
    size_t at = o->len;
    uint32_t len = 0;
    rt_buf_put(o, &len, 4);
    const unsigned char *prev = d->restored ? record_of(old, d->path) : NULL;
    if (prev) {
        /* Restored: the same bytes again. */
        memcpy(&len, prev - 4, 4);
        rt_buf_put(o, prev, len);
    } else {
        bin_put_str(o, d->path, strlen(d->path));
        bin_put_u8(o, d->kind);
        bin_put_u8(o, 0);
        const struct file_stat *st = &d->stat;
        rt_buf_put(o, &st->dev, 8);
        rt_buf_put(o, &st->ino, 8);
        rt_buf_put(o, &st->size, 8);
        rt_buf_put(o, &st->mtime_ns, 8);
        rt_buf_put(o, &st->ctime_ns, 8);
        unsigned char h[32];
        rt_hex_decode(d->sha256, 64, h, sizeof(h));
        rt_buf_put(o, h, 32);
        nodebin_put(o, d->root);
    }
    if (o->failed)
        return;
    len = (uint32_t)(o->len - at - 4);
    memcpy(o->p + at, &len, 4);
    /* Racy when written so shortly before this run that a later write
     * could repeat its stat: the next run then compares the bytes. */
    o->p[at + 4 + racy_offset(strlen(d->path))] =
        cache_file_racy(&d->stat, started);
}

/* The records of p's cacheable definitions into o, counted in *count.
 * With delta, only those old's base does not hold as they are, and a
 * tombstone for each path the base has a record of and p has none;
 * false (o incomplete) when that grows past limit bytes. */
static bool put_records(rt_buf *o, const struct project *p,
                        const struct defcache *old, bool delta, int64_t started,
                        struct arena *a, uint64_t *count, size_t limit)
{
    size_t in_base = 0; /* definitions the base has a record of */
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            if (!cacheable(d))
                continue;
            if (delta) {
                const unsigned char *base = index_get(old->records, d->path);
                in_base += base != NULL;
                /* Restored from the base (the delta has nothing of it), as
                 * racy as it says: the base holds it. */
                if (d->restored && base &&
                    !index_get(old->delta_records, d->path) &&
                    base[racy_offset(strlen(d->path))] ==
                        (unsigned char)cache_file_racy(&d->stat, started))
                    continue;
            }
            put_record(o, d, old, started);
            (*count)++;
            if (o->len > limit)
                return false;
        }
    /* (a definition's path is its kind's directory and its file's name:
     * no two definitions share one, so in_base counts distinct paths) */
    if (!delta || in_base == old->records->n)
        return true; /* no path of the base is gone */
    struct index *live = index_new(a, (size_t)*count + in_base);
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++)
            if (cacheable(&p->defs[k][i]))
                index_put(live, p->defs[k][i].path, (void *)&p->defs[k][i]);
    size_t at = 0;
    const char *path;
    while (live && (path = index_next(old->records, &at)))
        if (!index_get(live, path)) {
            size_t plen = strlen(path);
            uint32_t len = (uint32_t)(str_size(plen) + 1);
            rt_buf_put(o, &len, 4);
            bin_put_str(o, path, plen);
            bin_put_u8(o, TOMBSTONE_KIND);
            (*count)++;
        }
    return live && !a->failed;
}

/* The results of the checks between definitions, after the records (a
 * base may end before them; a delta has them): struere.yaml's SHA-256
 * (32 bytes), a count (8), then per definition that has one: its path
 * (a str), its file's SHA-256 (32) and per environment a length (4) and
 * that many bytes (xcheck.h's format). */
static bool hex32(const char *hex, unsigned char out[32])
{
    return rt_hex_decode(hex, strnlen(hex, 65), out, 32) == 0;
}

/* Whether d has results to keep (their file's digest into h). */
static bool has_xcheck(const struct def *d, unsigned char h[32])
{
    bool any = false;
    for (int e = 0; e < ENV_COUNT; e++)
        any = any || d->xcheck[e];
    return any && cacheable(d) && hex32(d->sha256, h);
}

/* d's entry into o; false (nothing written) when d has none. */
static bool put_xcheck(rt_buf *o, const struct def *d)
{
    unsigned char h[32];
    if (!has_xcheck(d, h))
        return false;
    bin_put_str(o, d->path, strlen(d->path));
    rt_buf_put(o, h, 32);
    for (int e = 0; e < ENV_COUNT; e++) {
        uint32_t len = d->xcheck[e] ? d->xcheck_len[e] : 0;
        rt_buf_put(o, &len, 4);
        rt_buf_put(o, d->xcheck[e], len);
    }
    return true;
}

/* The bytes of an entry after its path (bounds were checked when the
 * cache was opened). */
static size_t entry_len(const unsigned char *entry)
{
    size_t n = 32;
    for (int e = 0; e < ENV_COUNT; e++) {
        uint32_t len;
        memcpy(&len, entry + n, 4);
        n += 4 + len;
    }
    return n;
}

/* struere.yaml's SHA-256 (zeros without one). */
static void config_digest(const struct project *p, unsigned char out[32])
{
    if (!p->config || !hex32(p->config->sha256, out))
        memset(out, 0, 32);
}

/* The results into o. With delta, only the entries old's base does not
 * hold as they are, and for each path the base has an entry of and p has
 * none, an entry whose digest is all zeros (which no file has). */
static bool put_xchecks(rt_buf *o, const struct project *p,
                        const struct defcache *old, bool delta, struct arena *a,
                        uint64_t *entries)
{
    unsigned char config[32];
    config_digest(p, config);
    rt_buf_put(o, config, 32);
    uint64_t count = 0;
    size_t count_at = o->len;
    rt_buf_put(o, &count, 8);
    size_t in_base = 0; /* definitions the base has an entry of */
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            size_t at = o->len;
            if (!put_xcheck(o, d) || o->failed)
                continue;
            count++;
            if (!delta)
                continue;
            const unsigned char *base = index_get(old->xchecks, d->path);
            in_base += base != NULL;
            size_t from = at + str_size(strlen(d->path));
            if (base && entry_len(base) == o->len - from &&
                !memcmp(base, o->p + from, o->len - from)) {
                o->len = at; /* the base holds it as it is */
                count--;
            }
        }
    static const unsigned char removed[32 + 4 * ENV_COUNT];
    if (delta && in_base != old->xchecks->n) {
        /* some path of the base has no entry now (paths are distinct) */
        struct index *live = index_new(a, (size_t)count + in_base);
        unsigned char h[32];
        for (int k = 0; k < KIND_COUNT; k++)
            for (size_t i = 0; i < p->ndefs[k]; i++)
                if (has_xcheck(&p->defs[k][i], h))
                    index_put(live, p->defs[k][i].path, (void *)&p->defs[k][i]);
        size_t at = 0;
        const char *path;
        while (live && (path = index_next(old->xchecks, &at)))
            if (!index_get(live, path)) {
                bin_put_str(o, path, strlen(path));
                rt_buf_put(o, removed, sizeof(removed));
                count++;
            }
        if (!live)
            return false;
    }
    if (o->failed || a->failed)
        return false;
    memcpy(o->p + count_at, &count, 8);
    *entries = count;
    return true;
}

/* The header both files begin with, up to their count (a delta's with
 * the MAC of the base it applies to). */
static void put_header(rt_buf *o, const char *magic, const char *id,
                       const char *real, const struct defcache *base)
{
    rt_buf_put(o, magic, 8);
    uint32_t bom = BOM;
    rt_buf_put(o, &bom, 4);
    bin_put_str(o, id, strlen(id));
    bin_put_str(o, real, strlen(real));
    if (base)
        rt_buf_put(o, base->tag, TAG_BYTES);
}

/* The cache of p's definitions into o: whole, or (delta) what differs
 * from old's base. A delta is possible when old has a base with results
 * of the checks under the same struere.yaml, and worth it when at most
 * an eighth of the base; false otherwise (o incomplete). */
static bool put_cache(rt_buf *o, const struct project *p,
                      const struct defcache *old, bool delta, int64_t started,
                      const char *id, const char *real, bool *empty)
{
    unsigned char config[32];
    config_digest(p, config);
    if (delta && (!old || !old->xchecks || memcmp(config, old->config, 32)))
        return false;
    size_t limit = delta ? old->base.mapped / 8 : SIZE_MAX;
    put_header(o, delta ? DELTA_MAGIC : MAGIC, id, real, delta ? old : NULL);
    uint64_t count = 0, entries = 0;
    size_t count_at = o->len;
    rt_buf_put(o, &count, 8);
    struct arena a;
    arena_init(&a);
    bool ok = put_records(o, p, old, delta, started, &a, &count, limit) &&
              put_xchecks(o, p, old, delta, &a, &entries);
    arena_free(&a);
    if (!ok || o->failed || o->len > limit)
        return false;
    memcpy(o->p + count_at, &count, 8);
    *empty = count == 0 && entries == 0;
    return true;
}

/* Seals o and writes it as path + suffix. */
static int seal_and_write(const char *path, const char *suffix, rt_buf *o)
{
    char target[PATH_BYTES];
    if ((size_t)snprintf(target, sizeof(target), "%s%s", path, suffix) >=
        sizeof(target))
        return -1;
    return cache_file_seal_write(target, o);
}

/* Removes path's delta (when a whole cache replaces the base it names,
 * or nothing differs from the base). */
static void remove_delta(const char *path)
{
    char delta[PATH_BYTES];
    if ((size_t)snprintf(delta, sizeof(delta), "%s%s", path, DELTA_SUFFIX) <
        sizeof(delta))
        unlink(delta);
}

int defcache_save(const char *path, const struct project *p,
                  const struct defcache *old, int64_t started)
{
    char id[200];
    char real[PATH_BYTES];
    if (!cache_file_compiler_id(id, sizeof(id)) || !realpath(p->dir, real))
        return -1;
    /* temporaries a killed run left beside the cache */
    char dir[PATH_BYTES];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        cache_file_sweep(dir);
    }
    rt_buf o;
    rt_buf_grow_init(&o);
    bool empty = false;
    if (put_cache(&o, p, old, true, started, id, real, &empty)) {
        int rc = 0;
        if (empty)
            remove_delta(path);
        else
            rc = seal_and_write(path, DELTA_SUFFIX, &o);
        free(o.p);
        return rc;
    }
    free(o.p);
    /* About the size of the cache it replaces: one allocation. */
    rt_buf_grow_init(&o);
    rt_buf_reserve(&o, (old ? old->base.mapped : 0) + (1u << 20));
    int rc = put_cache(&o, p, old, false, started, id, real, &empty)
                 ? seal_and_write(path, "", &o)
                 : -1;
    free(o.p);
    if (rc == 0)
        remove_delta(path); /* it named the base just replaced */
    return rc;
}

/* ---- reading --------------------------------------------------------------
 */

/* The file at path mapped (m) when its MAC is the store key's (its
 * last TAG_BYTES bytes) and it holds at least a header's magic, byte
 * order and count; false otherwise. */
static bool map_sealed(const char *path, size_t max, struct cache_map *m)
{
    if (cache_file_map_sealed(path, max, m) && m->len >= 8 + 4 + 8)
        return true;
    cache_file_unmap(m);
    return false;
}

/* The header both files begin with, up to the count (or the base's MAC):
 * magic, byte order, this compiler and this project. */
static bool read_header(struct bin_in *r, const char *magic, const char *id,
                        const char *real)
{
    char m[8];
    uint32_t bom;
    bin_bytes(r, m, 8);
    bin_bytes(r, &bom, 4);
    size_t idlen = 0, rlen = 0;
    const char *cid = bin_str(r, &idlen);
    const char *cdir = bin_str(r, &rlen);
    return !r->bad && !memcmp(m, magic, 8) && bom == BOM && !strcmp(cid, id) &&
           !strcmp(cdir, real);
}

/* A count, then that many records (or, in a delta, tombstones: the
 * index holds &tombstone) into a new index. */
static struct index *read_records(struct bin_in *r, struct arena *a, bool delta)
{
    uint64_t count;
    bin_bytes(r, &count, 8);
    if (r->bad || count > (uint64_t)(r->end - r->p) / 4)
        return NULL;
    struct index *records = index_new(a, (size_t)count + 1);
    if (!records)
        return NULL;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t len;
        bin_bytes(r, &len, 4);
        if (r->bad || len > (size_t)(r->end - r->p))
            return NULL;
        struct bin_in rec = {r->p, r->p + len, false};
        size_t plen = 0;
        const char *rpath = bin_str(&rec, &plen);
        unsigned kind = bin_u8(&rec);
        if (rec.bad || strlen(rpath) != plen)
            return NULL; /* (a path's NUL is where its racy mark is found) */
        bool gone = delta && kind == TOMBSTONE_KIND;
        if (gone && rec.p != rec.end)
            return NULL;
        index_put(records, rpath, gone ? (void *)&tombstone : (void *)r->p);
        r->p += len;
    }
    return records;
}

/* struere.yaml's digest, a count and that many entries (put_xchecks),
 * up to the end of r, into a new index. */
static struct index *read_xchecks(struct bin_in *r, struct arena *a,
                                  unsigned char config[32])
{
    bin_bytes(r, config, 32);
    uint64_t nx;
    bin_bytes(r, &nx, 8);
    if (r->bad || nx > (uint64_t)(r->end - r->p) / (2 + 32 + 4 * ENV_COUNT))
        return NULL;
    struct index *xchecks = index_new(a, (size_t)nx + 1);
    if (!xchecks)
        return NULL;
    for (uint64_t i = 0; i < nx; i++) {
        size_t plen = 0;
        const char *xpath = bin_str(r, &plen);
        const unsigned char *entry = r->p;
        if (strlen(xpath) != plen)
            return NULL;
        unsigned char h[32];
        bin_bytes(r, h, 32);
        for (int e = 0; e < ENV_COUNT && !r->bad; e++) {
            uint32_t len;
            bin_bytes(r, &len, 4);
            if (r->bad || len > (size_t)(r->end - r->p)) {
                r->bad = true;
                break;
            }
            r->p += len;
        }
        if (r->bad)
            return NULL;
        index_put(xchecks, xpath, (void *)entry);
    }
    return r->p == r->end ? xchecks : NULL;
}

/* path's delta, when it is sound and names c's base (defcache.c's
 * layout); otherwise c stays the base alone. */
static void open_delta(struct defcache *c, const char *path, const char *id,
                       const char *real)
{
    char dpath[PATH_BYTES];
    if (!c->xchecks || (size_t)snprintf(dpath, sizeof(dpath), "%s%s", path,
                                        DELTA_SUFFIX) >= sizeof(dpath))
        return;
    unsigned char named[TAG_BYTES], config[32];
    struct cache_map m;
    /* (a delta larger than an eighth of its base is never written) */
    if (!map_sealed(dpath, c->base.mapped / 8 + TAG_BYTES + 4096, &m))
        return;
    struct bin_in r = {m.data, m.data + m.len, false};
    struct index *records = NULL, *xchecks = NULL;
    if (read_header(&r, DELTA_MAGIC, id, real)) {
        bin_bytes(&r, named, TAG_BYTES);
        if (!r.bad && !memcmp(named, c->tag, TAG_BYTES))
            records = read_records(&r, &c->arena, true);
    }
    if (records)
        xchecks = read_xchecks(&r, &c->arena, config);
    if (!xchecks || memcmp(config, c->config, 32)) {
        cache_file_unmap(&m); /* what the indexes took stays in the arena */
        return;
    }
    c->delta = m;
    c->delta_records = records;
    c->delta_xchecks = xchecks;
}

struct defcache *defcache_open(const char *path, const struct project *p)
{
    char id[200], real[PATH_BYTES];
    if (!cache_file_compiler_id(id, sizeof(id)) || !realpath(p->dir, real))
        return NULL;
    struct defcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    arena_init(&c->arena);
    if (!map_sealed(path, SIZE_MAX, &c->base))
        goto unusable;
    memcpy(c->tag, c->base.data + c->base.len, TAG_BYTES);
    struct bin_in r = {c->base.data, c->base.data + c->base.len, false};
    if (!read_header(&r, MAGIC, id, real) ||
        !(c->records = read_records(&r, &c->arena, false)))
        goto unusable;
    if (r.p == r.end)
        return c; /* no results of the checks between definitions */
    if (!(c->xchecks = read_xchecks(&r, &c->arena, c->config)))
        goto unusable;
    open_delta(c, path, id, real);
    return c;
unusable:
    defcache_free(c);
    return NULL;
}

bool defcache_restore(const struct defcache *c, const struct project *p,
                      struct arena *a, struct def *d)
{
    const unsigned char *rec = record_of(c, d->path);
    if (!rec)
        return false;
    uint32_t len;
    memcpy(&len, rec - 4, 4);
    struct bin_in r = {rec, rec + len, false};
    size_t plen;
    bin_str(&r, &plen);
    unsigned kind = bin_u8(&r), racy = bin_u8(&r);
    struct file_stat was = {.known = true};
    unsigned char h[32];
    bin_bytes(&r, &was.dev, 8);
    bin_bytes(&r, &was.ino, 8);
    bin_bytes(&r, &was.size, 8);
    bin_bytes(&r, &was.mtime_ns, 8);
    bin_bytes(&r, &was.ctime_ns, 8);
    bin_bytes(&r, h, 32);
    if (r.bad || kind != (unsigned)d->kind)
        return false;
    /* From its directory as listed; the whole path only where no
     * descriptor is open. */
    const char *name;
    int at = project_file_at(p, d, &name);
    if (!name && !(name = arena_path(a, p->dir, d->path)))
        return false;
    struct stat st;
    /* Not followed: a symbolic link is never restored; it is read again,
     * and its target checked (project.c), on every run. */
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
        return false;
    struct file_stat now;
    file_stat_set(&now, &st);
    if (!file_stat_same(&now, &was))
        return false;
    if (racy) {
        /* Written just before the run that cached it: its bytes decide. */
        size_t flen = 0;
        bool bad;
        unsigned char *bytes =
            cache_file_read_at(at, name, SIZE_MAX, &flen, &bad);
        unsigned char fh[32];
        bool same = (bytes || now.size == 0) && flen == now.size;
        if (same) {
            rt_sha256(bytes ? (const void *)bytes : "", flen, fh);
            same = !memcmp(fh, h, 32);
        }
        free(bytes);
        if (!same)
            return false;
    }
    struct source *src = source_from_bytes(a, d->path, "", 0);
    if (!src)
        return false; /* out of memory: the arena says so */
    src->unread = true;
    size_t budget = LIMIT_NODES;
    struct node *root = arena_alloc(a, sizeof(*root));
    if (!root || !nodebin_get(&r, a, src, &budget, root) || r.bad ||
        r.p != r.end || root->type != NODE_MAP)
        return false; /* what was allocated stays in the arena, unused */
    d->src = src;
    src->stat = &d->stat;
    d->root = root;
    d->stat = now;
    sodium_bin2hex(d->sha256, sizeof(d->sha256), h, 32);
    return true;
}

bool defcache_xcheck(const struct defcache *c, const struct project *p,
                     const struct def *d, int env, const unsigned char **bytes,
                     size_t *len)
{
    unsigned char config[32], h[32];
    const unsigned char *entry = xcheck_of(c, d->path);
    if (!entry || !p->config || !hex32(p->config->sha256, config) ||
        memcmp(config, c->config, 32) || !hex32(d->sha256, h) ||
        memcmp(h, entry, 32))
        return false;
    /* bounds were checked when the cache was opened */
    const unsigned char *at = entry + 32;
    for (int e = 0; e < ENV_COUNT; e++) {
        uint32_t n;
        memcpy(&n, at, 4);
        if (e == env) {
            *bytes = at + 4;
            *len = n;
            return n > 0;
        }
        at += 4 + n;
    }
    return false;
}

void defcache_free(struct defcache *c)
{
    if (!c)
        return;
    cache_file_unmap(&c->base);
    cache_file_unmap(&c->delta);
    arena_free(&c->arena);
    free(c);
}
