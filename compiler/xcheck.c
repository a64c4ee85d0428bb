/*
 * xcheck.c - the results of the checks between definitions (xcheck.h).
 *
 * A result is the reads noted, in order, deduplicated:
 *   uv count, then per read: u8 tag, u8 found (0 none, 1 a YAML file, 2 a
 *   Markdown file), uv slug length, the slug
 *   and a NUL, XCHECK_DIGEST bytes (the file's SHA-256 prefix; zeros
 *   when nothing was found).
 */
#include "xcheck.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "binio.h"
#include "hex.h"
#include "index.h"
#include "kinds.h"
#include "sha256.h"

void xcheck_rec_begin(struct xcheck_rec *r)
{
    r->n = 0;
    r->failed = false;
}

/* The first XCHECK_DIGEST bytes of a file's SHA-256 (64 lowercase hex
 * digits); false when it is not one. */
static bool hex_prefix(const char *hex, unsigned char out[XCHECK_DIGEST])
{
    return strlen(hex) == 64 &&
           rt_hex_decode(hex, 2 * XCHECK_DIGEST, out, XCHECK_DIGEST) == 0;
}

/* How a definition was found: 0 none, 1 a YAML file, 2 a Markdown file
 * (the same bytes parse differently under another name). */
static unsigned found_as(const struct def *d)
{
    if (!d)
        return 0;
    size_t n = strlen(d->path);
    return n >= 3 && !strcmp(d->path + n - 3, ".md") ? 2 : 1;
}

static struct xcheck_read *add(struct xcheck_rec *r, unsigned tag,
                               const char *slug)
{
    /* a definition reads a few others, often the same one again */
    for (size_t i = 0; i < r->n; i++)
        if (r->reads[i].tag == tag && !strcmp(r->reads[i].slug, slug))
            return NULL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        struct xcheck_read *v = realloc(r->reads, cap * sizeof(*v));
        if (!v) {
            r->failed = true;
            return NULL;
        }
        r->reads = v;
        r->cap = cap;
    }
    struct xcheck_read *x = &r->reads[r->n++];
    x->tag = tag;
    x->slug = slug;
    return x;
}

void xcheck_note(struct xcheck_rec *r, unsigned tag, const char *slug,
                 const struct def *found)
{
    struct xcheck_read *x = add(r, tag, slug);
    if (!x)
        return;
    memset(x->digest, 0, XCHECK_DIGEST);
    x->found = found_as(found);
    if (found && !hex_prefix(found->sha256, x->digest))
        r->failed = true; /* a file without its digest: nothing to compare */
}

void xcheck_note_fixtures(struct xcheck_rec *r,
                          const unsigned char set[XCHECK_DIGEST])
{
    struct xcheck_read *x = add(r, XCHECK_FIXTURES, "");
    if (!x)
        return;
    x->found = 1;
    memcpy(x->digest, set, XCHECK_DIGEST);
}

const unsigned char *xcheck_rec_end(struct xcheck_rec *r, struct arena *a,
                                    uint32_t *len)
{
    if (r->failed)
        return NULL;
    size_t total = bin_uv_size(r->n);
    for (size_t i = 0; i < r->n; i++) {
        size_t s = strlen(r->reads[i].slug);
        total += 2 + bin_uv_size(s) + s + 1 + XCHECK_DIGEST;
    }
    if (total > UINT32_MAX)
        return NULL;
    unsigned char *out = arena_alloc(a, total), *p = out;
    if (!out)
        return NULL;
    p = bin_uv_at(p, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const struct xcheck_read *x = &r->reads[i];
        size_t s = strlen(x->slug);
        *p++ = (unsigned char)x->tag;
        *p++ = x->found;
        p = bin_uv_at(p, s);
        memcpy(p, x->slug, s + 1);
        p += s + 1;
        memcpy(p, x->digest, XCHECK_DIGEST);
        p += XCHECK_DIGEST;
    }
    *len = (uint32_t)total;
    return out;
}

void xcheck_rec_free(struct xcheck_rec *r)
{
    free(r->reads);
    r->reads = NULL;
    r->n = r->cap = 0;
}

/* ---- reading a result back ----------------------------------------------
 */

bool xcheck_holds(const struct check_ctx *c, const unsigned char *bytes,
                  size_t len)
{
    struct bin_in r = {bytes, bytes + len, false};
    uint64_t n = bin_uv(&r);
    for (uint64_t i = 0; !r.bad && i < n; i++) {
        if (r.end - r.p < 2) {
            r.bad = true;
            break;
        }
        unsigned tag = *r.p++, found = *r.p++;
        uint64_t s = bin_uv(&r);
        if (r.bad || s >= (uint64_t)(r.end - r.p) || r.p[s] != '\0' ||
            (uint64_t)(r.end - r.p) - s - 1 < XCHECK_DIGEST)
            return false;
        const char *slug = (const char *)r.p;
        r.p += s + 1;
        const unsigned char *digest = r.p;
        r.p += XCHECK_DIGEST;
        unsigned char now[XCHECK_DIGEST];
        if (tag == XCHECK_FIXTURES) {
            if (!c->fixtures_known ||
                memcmp(digest, c->fixtures_digest, XCHECK_DIGEST))
                return false;
            continue;
        }
        if (tag >= KIND_COUNT)
            return false;
        const struct def *d = index_get(c->index[tag], slug);
        if (found_as(d) != found)
            return false;
        if (!d)
            continue;
        if (!hex_prefix(d->sha256, now) || memcmp(now, digest, XCHECK_DIGEST))
            return false;
    }
    return !r.bad && r.p == r.end;
}

bool xcheck_fixture_digest(const struct project *p,
                           unsigned char out[XCHECK_DIGEST])
{
    size_t n = p->ndefs[KIND_FIXTURE];
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(p->defs[KIND_FIXTURE][i].path) + 1 + 64;
    char *all = malloc(total), *q = all;
    if (!all)
        return false;
    for (size_t i = 0; i < n; i++) {
        const struct def *d = &p->defs[KIND_FIXTURE][i];
        size_t l = strlen(d->path);
        if (strlen(d->sha256) != 64) {
            free(all);
            return false;
        }
        memcpy(q, d->path, l + 1);
        q += l + 1;
        memcpy(q, d->sha256, 64);
        q += 64;
    }
    unsigned char h[32];
    rt_sha256(all, (size_t)(q - all), h);
    memcpy(out, h, XCHECK_DIGEST);
    free(all);
    return true;
}
