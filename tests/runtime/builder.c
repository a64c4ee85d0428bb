/*
 * builder.c - the runtime tests' bundle writer (see builder.h): layout,
 * string interning and CRCs as runtime/BUNDLE.md describes them.
 */
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/rt_crc.h"
#include "builder.h"

static const char *const table_ids[TB_KINDS] = {"AGNT", "DATA", "ROLE", "TOOL",
                                                "AUTO", "EVAL", "FIXT"};

struct buf {
    unsigned char *p;
    size_t len, cap;
    int oom;
};

static void buf_put(struct buf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void tb_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void tb_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t tb_get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t tb_get64(const unsigned char *p)
{
    return tb_get32(p) | (uint64_t)tb_get32(p + 4) << 32;
}

/* Appends a string reference to `out`, interning `s` in `strs`. */
static void put_ref(struct buf *out, struct buf *strs, const char *s)
{
    size_t n = strlen(s), off = 0;
    int found = 0;
    /* First use wins: search the pool for "s\0" starting a string. */
    for (size_t i = 0; !strs->oom && i + n < strs->len;) {
        if (memcmp(strs->p + i, s, n) == 0 && strs->p[i + n] == 0) {
            off = i;
            found = 1;
            break;
        }
        i += strlen((const char *)strs->p + i) + 1;
    }
    if (!found) {
        off = strs->len;
        buf_put(strs, s, n + 1);
    }
    unsigned char ref[8];
    tb_put32(ref, (uint32_t)off);
    tb_put32(ref + 4, (uint32_t)n);
    buf_put(out, ref, 8);
}

static int kind_allowed(int env, int kind)
{
    if (kind <= 3)
        return 1;
    if (kind == 4)
        return env != 3;
    return env == 3;
}

unsigned char *tb_build(const struct tb_spec *spec, size_t *len)
{
    struct buf strs = {0}, sec[TB_KINDS + 3] = {{0}};
    const char *ids[TB_KINDS + 3];
    size_t nsec = 0;
    unsigned char *out = NULL;

    /* META first, then the tables, an extra section, the pool last. */
    if (!spec->omit_meta) {
        for (int i = 0; i < 5; i++)
            put_ref(&sec[nsec], &strs, spec->meta[i] ? spec->meta[i] : "");
        ids[nsec++] = "META";
    }
    for (int k = 0; k < TB_KINDS; k++) {
        int want = kind_allowed(spec->env, k) ? !spec->omit_kind[k]
                                              : spec->force_kind[k];
        if (!want)
            continue;
        unsigned char head[8];
        tb_put32(head, (uint32_t)spec->counts[k]);
        tb_put32(head + 4, 0);
        buf_put(&sec[nsec], head, 8);
        for (size_t i = 0; i < spec->counts[k]; i++) {
            put_ref(&sec[nsec], &strs, spec->entries[k][i].slug);
            put_ref(&sec[nsec], &strs, spec->entries[k][i].body);
        }
        ids[nsec++] = table_ids[k];
    }
    if (spec->extra_id) {
        buf_put(&sec[nsec], spec->extra_data, strlen(spec->extra_data));
        ids[nsec++] = spec->extra_id;
    }
    if (!spec->omit_strs) {
        buf_put(&sec[nsec], strs.p, strs.len);
        ids[nsec++] = "STRS";
    }

    int oom = strs.oom;
    size_t offs[TB_KINDS + 3], at = 64 + 24 * nsec;
    for (size_t i = 0; i < nsec; i++) {
        oom |= sec[i].oom;
        at = (at + 7) & ~(size_t)7;
        offs[i] = at;
        at += sec[i].len;
    }
    size_t total = (at + 7) & ~(size_t)7;
    if (oom || !(out = calloc(1, total)))
        goto cleanup;

    memcpy(out, "STRBUND", 8);
    out[8] = (unsigned char)(spec->major ? spec->major : 1);
    out[9] = (unsigned char)((spec->major ? spec->major : 1) >> 8);
    out[10] = (unsigned char)spec->minor;
    out[11] = (unsigned char)(spec->minor >> 8);
    out[12] = (unsigned char)spec->env;
    tb_put32(out + 16, (uint32_t)nsec);
    tb_put64(out + 24, total);
    for (int i = 0; i < 32; i++)
        out[32 + i] = (unsigned char)(0xA5 ^ (i * 37));
    for (size_t i = 0; i < nsec; i++) {
        unsigned char *e = out + 64 + 24 * i;
        memcpy(e, ids[i], 4);
        tb_put64(e + 8, offs[i]);
        tb_put64(e + 16, sec[i].len);
        if (sec[i].len)
            memcpy(out + offs[i], sec[i].p, sec[i].len);
    }
    tb_fix_crcs(out, total);
    *len = total;

cleanup:
    free(strs.p);
    for (size_t i = 0; i < sizeof(sec) / sizeof(sec[0]); i++)
        free(sec[i].p);
    return out;
}

void tb_fix_crcs(unsigned char *b, size_t len)
{
    if (len < 64)
        return;
    size_t n = tb_get32(b + 16);
    if (n > (len - 64) / 24)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = b + 64 + 24 * i;
        uint64_t off = tb_get64(e + 8), size = tb_get64(e + 16);
        if (off <= len && size <= len - off)
            tb_put32(e + 4, rt_crc32(0, b + off, (size_t)size));
    }
    unsigned char head[64];
    memcpy(head, b, 64);
    memset(head + 20, 0, 4);
    tb_put32(b + 20, rt_crc32(rt_crc32(0, head, 64), b + 64, 24 * n));
}

size_t tb_find(const unsigned char *b, const char *id)
{
    size_t n = tb_get32(b + 16);
    for (size_t i = 0; i < n; i++)
        if (memcmp(b + 64 + 24 * i, id, 4) == 0)
            return 64 + 24 * i;
    return 0;
}
