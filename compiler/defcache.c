/*
 * defcache.c - the parsed-definition cache (defcache.h).
 *
 * File layout (host byte order; the header's byte-order mark rejects a
 * file from another architecture):
 *
 *   "STRDEFS3" | u32 0x01020304 | str compiler | str project | u64 count
 *   count records | 32 bytes: HMAC-SHA-256, under the store's cache key
 *   (cache_file_key), of the SHA-256 of everything before it
 *
 *   record: u32 length of the rest | str path | u8 kind | u8 racy
 *           u64 dev, ino, size | i64 mtime_ns, ctime_ns | 32 bytes sha256
 *           node (the root, in nodebin.h's form)
 *   str:    uv len | len bytes | NUL          uv: LEB128 unsigned
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

#include <sodium.h>
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
#define TAG_BYTES CACHE_SEAL_BYTES
#define BOM 0x01020304u

struct defcache {
    unsigned char *data; /* the whole file */
    size_t len;
    struct arena arena;
    struct index *records; /* path -> record (the byte after its length) */
    /* The results of the checks between definitions (xcheck.h): path ->
     * entry (after its path), valid with struere.yaml's digest `config`. */
    struct index *xchecks;
    unsigned char config[32];
};

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
    return c ? index_get(c->records, path) : NULL;
}

/* A definition worth caching: read from a file, parsed, no problem. */
static bool cacheable(const struct def *d)
{
    return d->root && d->stat.known && d->sha256[0] && d->diags.n == 0;
}

/* Where a record's racy mark is: after its path (a str) and kind. */
static size_t racy_offset(size_t path_len)
{
    return bin_uv_size(path_len) + path_len + 1 + 1;
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

/* The results of the checks between definitions, after the records (a
 * file may end before them): struere.yaml's SHA-256 (32 bytes), a count
 * (8), then per definition
 * that has one: its path (a str), its file's SHA-256 (32) and per
 * environment a length (4) and that many bytes (xcheck.h's format). */
static bool hex32(const char *hex, unsigned char out[32])
{
    return rt_hex_decode(hex, strnlen(hex, 65), out, 32) == 0;
}

static void put_xchecks(rt_buf *o, const struct project *p)
{
    unsigned char config[32] = {0};
    if (!p->config || !hex32(p->config->sha256, config))
        memset(config, 0, sizeof(config));
    rt_buf_put(o, config, 32);
    uint64_t count = 0;
    size_t count_at = o->len;
    rt_buf_put(o, &count, 8);
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            bool any = false;
            for (int e = 0; e < ENV_COUNT; e++)
                any = any || d->xcheck[e];
            unsigned char h[32];
            if (!any || !cacheable(d) || !hex32(d->sha256, h))
                continue;
            bin_put_str(o, d->path, strlen(d->path));
            rt_buf_put(o, h, 32);
            for (int e = 0; e < ENV_COUNT; e++) {
                uint32_t len = d->xcheck[e] ? d->xcheck_len[e] : 0;
                rt_buf_put(o, &len, 4);
                rt_buf_put(o, d->xcheck[e], len);
            }
            count++;
        }
    if (!o->failed)
        memcpy(o->p + count_at, &count, 8);
}

int defcache_save(const char *path, const struct project *p,
                  const struct defcache *old, int64_t started)
{
    char id[200];
    char real[PATH_BYTES];
    if (!cache_file_compiler_id(id, sizeof(id)) || !realpath(p->dir, real))
        return -1;
    /* About the size of the cache it replaces: one allocation. */
    rt_buf o;
    rt_buf_grow_init(&o);
    rt_buf_reserve(&o, (old ? old->len : 0) + (1u << 20));
    if (o.failed)
        return -1;
    rt_buf_put(&o, MAGIC, 8);
    uint32_t bom = BOM;
    rt_buf_put(&o, &bom, 4);
    bin_put_str(&o, id, strlen(id));
    bin_put_str(&o, real, strlen(real));
    uint64_t count = 0;
    size_t count_at = o.len;
    rt_buf_put(&o, &count, 8);
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            if (!cacheable(d))
                continue;
            put_record(&o, d, old, started);
            count++;
        }
    put_xchecks(&o, p);
    if (o.failed) {
        free(o.p);
        return -1;
    }
    memcpy(o.p + count_at, &count, 8);
    unsigned char tag[TAG_BYTES];
    if (!cache_file_seal(path, true, (unsigned char *)o.p, o.len, tag)) {
        free(o.p);
        return -1;
    }
    rt_buf_put(&o, tag, TAG_BYTES);
    if (o.failed) {
        free(o.p);
        return -1;
    }
    /* Written whole beside it, then renamed over it. */
    char dir[PATH_BYTES];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    int rc = -1;
    if (slash) {
        *slash = '\0';
        cache_file_sweep(dir);
        rc = cache_file_write(dir, slash + 1, o.p, o.len);
    }
    free(o.p);
    return rc;
}

/* ---- reading --------------------------------------------------------------
 */

struct defcache *defcache_open(const char *path, const struct project *p)
{
    char id[200], real[PATH_BYTES];
    if (!cache_file_compiler_id(id, sizeof(id)) || !realpath(p->dir, real))
        return NULL;
    struct defcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    arena_init(&c->arena);
    c->data = cache_file_read(path, &c->len);
    unsigned char tag[TAG_BYTES];
    if (!c->data || c->len < 8 + 4 + 8 + TAG_BYTES ||
        !cache_file_seal(path, false, c->data, c->len - TAG_BYTES, tag) ||
        sodium_memcmp(tag, c->data + c->len - TAG_BYTES, TAG_BYTES) != 0)
        goto unusable;
    struct bin_in r = {c->data, c->data + c->len - TAG_BYTES, false};
    char magic[8];
    uint32_t bom;
    bin_bytes(&r, magic, 8);
    bin_bytes(&r, &bom, 4);
    size_t idlen = 0, rlen = 0;
    const char *cid = bin_str(&r, &idlen);
    const char *cdir = bin_str(&r, &rlen);
    uint64_t count;
    bin_bytes(&r, &count, 8);
    if (r.bad || memcmp(magic, MAGIC, 8) || bom != BOM || strcmp(cid, id) ||
        strcmp(cdir, real) || count > (uint64_t)(r.end - r.p) / 4)
        goto unusable;
    c->records = index_new(&c->arena, (size_t)count + 1);
    for (uint64_t i = 0; i < count; i++) {
        uint32_t len;
        bin_bytes(&r, &len, 4);
        if (r.bad || len > (size_t)(r.end - r.p))
            goto unusable;
        struct bin_in rec = {r.p, r.p + len, false};
        size_t plen = 0;
        const char *rpath = bin_str(&rec, &plen);
        if (rec.bad)
            goto unusable;
        index_put(c->records, rpath, (void *)r.p);
        r.p += len;
    }
    if (r.p == r.end)
        return c; /* no results of the checks between definitions */
    bin_bytes(&r, c->config, 32);
    uint64_t nx;
    bin_bytes(&r, &nx, 8);
    if (r.bad || nx > (uint64_t)(r.end - r.p) / (2 + 32 + 12))
        goto unusable;
    c->xchecks = index_new(&c->arena, (size_t)nx + 1);
    for (uint64_t i = 0; i < nx; i++) {
        size_t plen = 0;
        const char *xpath = bin_str(&r, &plen);
        const unsigned char *entry = r.p;
        unsigned char h[32];
        bin_bytes(&r, h, 32);
        for (int e = 0; e < ENV_COUNT && !r.bad; e++) {
            uint32_t len;
            bin_bytes(&r, &len, 4);
            if (r.bad || len > (size_t)(r.end - r.p)) {
                r.bad = true;
                break;
            }
            r.p += len;
        }
        if (r.bad)
            goto unusable;
        index_put(c->xchecks, xpath, (void *)entry);
    }
    if (r.p != r.end)
        goto unusable;
    return c;
unusable:
    defcache_free(c);
    return NULL;
}

bool defcache_restore(const struct defcache *c, const char *project_dir,
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
    char *full = arena_path(a, project_dir, d->path);
    struct stat st;
    if (!full)
        return false;
    /* lstat: a symbolic link is never restored; it is read again, and
     * its target checked (project.c), on every run. */
    if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    struct file_stat now;
    file_stat_set(&now, &st);
    if (!file_stat_same(&now, &was))
        return false;
    if (racy) {
        /* Written just before the run that cached it: its bytes decide. */
        size_t flen = 0;
        unsigned char *bytes = cache_file_read(full, &flen);
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
    const unsigned char *entry =
        c && c->xchecks ? index_get(c->xchecks, d->path) : NULL;
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
    free(c->data);
    arena_free(&c->arena);
    free(c);
}
