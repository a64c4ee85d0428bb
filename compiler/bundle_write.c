/*
 * bundle_write.c - lays out a bundle: a string pool interned in the order
 * of a walk over the slug-sorted definitions, one table per kind, META,
 * then the header and section table with their CRCs. Nothing depends on
 * the file system's order, the locale or the clock.
 */
#include "bundle_write.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crc.h"
#include "index.h"
#include "kinds.h"
#include "node.h"
#include "version.h"

/* Section ids per kind, in table order (BUNDLE.md). */
static const char *const kind_section[KIND_COUNT] = {
    [KIND_AGENT] = "AGNT",   [KIND_DATA] = "DATA",       [KIND_ROLE] = "ROLE",
    [KIND_TOOL] = "TOOL",    [KIND_AUTOMATION] = "AUTO", [KIND_EVAL] = "EVAL",
    [KIND_FIXTURE] = "FIXT",
};
static const enum kind section_order[] = {
    KIND_AGENT,      KIND_DATA, KIND_ROLE,    KIND_TOOL,
    KIND_AUTOMATION, KIND_EVAL, KIND_FIXTURE,
};

static void put_u32(rt_buf *b, uint32_t v)
{
    unsigned char x[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
                          (v >> 24) & 0xff};
    rt_buf_put(b, x, 4);
}

static void put_u64(rt_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void set_u32(unsigned char *p, uint32_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
}

static void pad8(rt_buf *b)
{
    static const unsigned char zero[8];
    rt_buf_put(b, zero, (8 - b->len % 8) % 8);
}

/* The string pool: interned strings, each followed by a NUL. It is
 * written in place, where the STRS section lies in the bundle (from
 * base), so that bodies are copied once. */
struct pool {
    rt_buf *bytes;
    size_t base;
    struct index *seen; /* string -> offset + 1 */
    struct arena *arena;
};

static uint32_t pool_add(struct pool *p, const char *s, size_t len)
{
    uint32_t off = (uint32_t)(p->bytes->len - p->base);
    rt_buf_put(p->bytes, s, len);
    rt_buf_put(p->bytes, "", 1);
    return off;
}

static uint32_t intern(struct pool *p, const char *s, size_t len,
                       uint32_t *out_len)
{
    *out_len = (uint32_t)len;
    char *key = arena_strndup(p->arena, s, len);
    uintptr_t at = (uintptr_t)index_get(p->seen, key);
    if (at)
        return (uint32_t)(at - 1);
    uint32_t off = pool_add(p, s, len);
    index_put(p->seen, key, (void *)(uintptr_t)(off + 1));
    return off;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct bundle_entry *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->slug, y->slug);
}

struct section {
    char id[4];
    rt_buf data;
};

const char *bundle_organization_id(const struct project *p)
{
    const struct node *cfg = p->config ? p->config->root : NULL;
    const char *id = node_get_str(node_get(cfg, "organization"), "id");
    return id ? id : "";
}

const char *bundle_project_name(const struct project *p)
{
    const struct node *cfg = p->config ? p->config->root : NULL;
    const char *name = node_get_str(cfg, "name");
    return name ? name : "";
}

int bundle_write(const struct project *p, enum env e,
                 const unsigned char source_digest[32],
                 const struct bundle_entry *entries, size_t nentries,
                 struct bundle_bytes *out)
{
    memset(out, 0, sizeof(*out));
    struct arena a;
    arena_init(&a);
    struct bundle_entry *sorted = malloc((nentries + 1) * sizeof(*sorted));
    if (!sorted)
        return -1;
    if (nentries)
        memcpy(sorted, entries, nentries * sizeof(*sorted));
    qsort(sorted, nentries, sizeof(*sorted), cmp_entry);
    int rc = -1;

    /* Sections: STRS, META, then this environment's kinds (as BUNDLE.md
     * lists ids; readers look sections up by id, not position). STRS is
     * written straight into the bundle; the others are small and go
     * after it. */
    enum { NSECTIONS = sizeof(section_order) / sizeof(section_order[0]) };
    struct section secs[NSECTIONS + 2];
    size_t no = 0;
    memset(secs, 0, sizeof(secs));
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
        rt_buf_grow_init(&secs[i].data);
    struct section *strs = &secs[no++];
    memcpy(strs->id, "STRS", 4);
    struct section *meta = &secs[no++];
    memcpy(meta->id, "META", 4);
    for (int si = 0; si < NSECTIONS; si++)
        if (kind_table[section_order[si]].envs & (1u << e))
            memcpy(secs[no++].id, kind_section[section_order[si]], 4);

    size_t text = 4096;
    for (size_t i = 0; i < nentries; i++)
        text += sorted[i].body_len + strlen(sorted[i].slug) + 2 + 16;
    rt_buf b;
    rt_buf_grow_init(&b);
    rt_buf_reserve(&b, 64 + 24 * no + 8 + text + 8 * no);
    unsigned char header[64] = {0};
    memcpy(header, "STRBUND", 8);
    header[8] = BUNDLE_MAJOR;
    header[10] = BUNDLE_MINOR;
    header[12] = (unsigned char)(e + 1);
    set_u32(header + 16, (uint32_t)no);
    memcpy(header + 32, source_digest, 32);
    rt_buf_put(&b, header, 64);
    size_t table = b.len;
    for (size_t i = 0; i < no; i++) {
        rt_buf_put(&b, secs[i].id, 4);
        put_u32(&b, 0);
        put_u64(&b, 0);
        put_u64(&b, 0);
    }
    pad8(&b);
    size_t strs_off = b.len;
    struct pool pool = {.bytes = &b,
                        .base = strs_off,
                        .seen = index_new(&a, nentries * 2 + 64),
                        .arena = &a};

    /* META first in the pool, then each kind's slugs and bodies. */
    const struct node *cfg = p->config ? p->config->root : NULL;
    const char *pname = bundle_project_name(p);
    const char *metas[5] = {
        pname,
        node_get_str(cfg, "version") ? node_get_str(cfg, "version") : "",
        bundle_organization_id(p),
        node_get_str(node_get(cfg, "organization"), "name")
            ? node_get_str(node_get(cfg, "organization"), "name")
            : pname,
        "struere " STRUERE_VERSION,
    };
    for (int i = 0; i < 5; i++) {
        uint32_t len;
        uint32_t off = intern(&pool, metas[i], strlen(metas[i]), &len);
        put_u32(&meta->data, off);
        put_u32(&meta->data, len);
    }
    size_t sec = 2;
    for (int si = 0; si < NSECTIONS; si++) {
        enum kind k = section_order[si];
        if (!(kind_table[k].envs & (1u << e)))
            continue;
        struct section *ks = &secs[sec++];
        size_t first = 0;
        while (first < nentries && sorted[first].kind != k)
            first++;
        size_t n = 0;
        while (first + n < nentries && sorted[first + n].kind == k)
            n++;
        rt_buf_reserve(&ks->data, 8 + 16 * n);
        put_u32(&ks->data, (uint32_t)n);
        put_u32(&ks->data, 0);
        for (size_t i = first; i < first + n; i++) {
            uint32_t slen, blen = (uint32_t)sorted[i].body_len;
            uint32_t soff =
                intern(&pool, sorted[i].slug, strlen(sorted[i].slug), &slen);
            /* Bodies are not interned: they are unique in practice, and
             * hashing megabytes of them costs more than it saves. */
            uint32_t boff = pool_add(&pool, sorted[i].body, blen);
            put_u32(&ks->data, soff);
            put_u32(&ks->data, slen);
            put_u32(&ks->data, boff);
            put_u32(&ks->data, blen);
        }
        out->counts[k] = n;
    }
    size_t strs_len = b.len - strs_off;
    pad8(&b);
    for (size_t i = 0; i < no; i++) {
        size_t off = strs_off, len = strs_len;
        if (i > 0) {
            rt_buf *d = &secs[i].data;
            if (d->failed) {
                b.failed = 1;
                break;
            }
            off = b.len;
            len = d->len;
            rt_buf_put(&b, d->p, d->len);
            pad8(&b);
        }
        if (b.failed)
            break;
        unsigned char *ent = (unsigned char *)b.p + table + 24 * i;
        set_u32(ent + 4, rt_crc32(0, b.p + off, len));
        set_u32(ent + 8, (uint32_t)off);
        set_u32(ent + 12, (uint32_t)((uint64_t)off >> 32));
        set_u32(ent + 16, (uint32_t)len);
        set_u32(ent + 20, (uint32_t)((uint64_t)len >> 32));
    }
    if (b.failed || a.failed) { /* a: strings interned out of memory */
        free(b.p);
        goto done;
    }
    unsigned char *bytes = (unsigned char *)b.p;
    set_u32(bytes + 24, (uint32_t)b.len);
    set_u32(bytes + 28, (uint32_t)((uint64_t)b.len >> 32));
    /* The header_crc field is still zero. */
    uint32_t crc = rt_crc32(rt_crc32(0, bytes, 64), bytes + 64, 24 * no);
    set_u32(bytes + 20, crc);
    out->data = bytes;
    out->len = b.len;
    rc = 0;
done:
    free(sorted);
    for (size_t i = 0; i < no; i++)
        free(secs[i].data.p);
    arena_free(&a);
    return rc;
}
