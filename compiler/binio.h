/*
 * binio.h - the bytes of the compiler's own files, read and written: a
 * bounded reader that stops at the first byte it cannot take (and says
 * so once, at the end), LEB128 numbers, NUL-terminated strings. Used by
 * the definition cache, the kept results of the checks between
 * definitions, the last run's record and the node trees of nodebin.h.
 */
#ifndef STRUERE_BINIO_H
#define STRUERE_BINIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

/* Reading p up to end. bad is set by the first read past end (or of a
 * malformed value); every read after it gives zeros. */
struct bin_in {
    const unsigned char *p, *end;
    bool bad;
};

static inline size_t bin_left(const struct bin_in *r)
{
    return (size_t)(r->end - r->p);
}

static inline unsigned bin_u8(struct bin_in *r)
{
    if (r->p >= r->end) {
        r->bad = true;
        return 0;
    }
    return *r->p++;
}

/* An unsigned LEB128 number of at most 64 bits. */
static inline uint64_t bin_uv(struct bin_in *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            break;
        unsigned c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

/* len bytes into out (zeros once bad). */
static inline void bin_bytes(struct bin_in *r, void *out, size_t len)
{
    if (r->bad || bin_left(r) < len) {
        r->bad = true;
        memset(out, 0, len);
        return;
    }
    memcpy(out, r->p, len);
    r->p += len;
}

/* A str (uv length, the bytes, a NUL) in place: it points into the
 * bytes read. "" with *len 0 once bad. */
static inline const char *bin_str(struct bin_in *r, size_t *len)
{
    uint64_t n = bin_uv(r);
    if (r->bad || n >= bin_left(r) || r->p[n] != '\0') {
        r->bad = true;
        *len = 0;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p += n + 1;
    *len = (size_t)n;
    return s;
}

/* Bytes a uv of v takes. */
static inline size_t bin_uv_size(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

/* Writes v as a uv at p; returns the byte after it. */
static inline unsigned char *bin_uv_at(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static inline void bin_put_u8(rt_buf *o, unsigned v)
{
    unsigned char c = (unsigned char)v;
    rt_buf_put(o, &c, 1);
}

static inline void bin_put_uv(rt_buf *o, uint64_t v)
{
    unsigned char b[10];
    rt_buf_put(o, b, (size_t)(bin_uv_at(b, v) - b));
}

static inline void bin_put_str(rt_buf *o, const char *s, size_t len)
{
    bin_put_uv(o, len);
    rt_buf_put(o, s, len);
    bin_put_u8(o, 0);
}

#endif
