/*
 * buf.c - output text for the runtime's JSON and prompt writers: into a
 * caller's buffer (snprintf-style: the length needed is counted past the
 * end) or into a growing malloc'd one.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rt.h"

void rt_advise_huge(void *p, size_t n)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || n < RT_HUGE_MIN)
        return;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

void rt_buf_fixed(rt_buf *b, char *buf, size_t cap)
{
    b->p = buf;
    b->len = 0;
    b->cap = cap;
    b->growable = 0;
    b->failed = 0;
}

void rt_buf_grow_init(rt_buf *b)
{
    memset(b, 0, sizeof(*b));
    b->growable = 1;
}

void rt_buf_reserve(rt_buf *b, size_t n)
{
    if (!b->growable || b->failed || b->len + n + 1 <= b->cap)
        return;
    char *p = realloc(b->p, b->len + n + 1);
    if (!p) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = b->len + n + 1;
    rt_advise_huge(b->p, b->cap);
}

void rt_buf_put(rt_buf *b, const void *s, size_t n)
{
    if (n == 0)
        return;
    if (b->growable && !b->failed && b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
        } else {
            b->p = p;
            b->cap = cap;
            rt_advise_huge(b->p, b->cap);
        }
    }
    if (b->len < b->cap) {
        size_t room = b->cap - b->len;
        memcpy(b->p + b->len, s, n < room ? n : room);
    }
    b->len += n;
}

void rt_buf_puts(rt_buf *b, const char *s)
{
    rt_buf_put(b, s, strlen(s));
}

void rt_buf_printf(rt_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        rt_buf_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rt_buf_put(b, big, (size_t)n);
    free(big);
}

void rt_buf_json_char(rt_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', '0', '0', hex[(c >> 4) & 0xf], hex[c & 0xf]};
    static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
    const char *k = c ? memchr(from, c, sizeof(from) - 1) : NULL;
    if (k) {
        e[1] = to[k - from];
        rt_buf_put(b, e, 2);
    } else {
        rt_buf_put(b, e, sizeof(e));
    }
}

void rt_buf_json_escaped(rt_buf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rt_json_escapes((unsigned char)s[i]))
            continue;
        rt_buf_put(b, s + run, i - run);
        rt_buf_json_char(b, (unsigned char)s[i]);
        run = i + 1;
    }
    rt_buf_put(b, s + run, n - run);
}

size_t rt_json_escaped_len(const char *s, size_t n)
{
    size_t need = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' ||
            c == '\r' || c == '\t')
            need += 1;
        else if (c < 0x20)
            need += 5;
    }
    return need;
}

void rt_buf_json_str(rt_buf *b, const char *s, size_t n)
{
    rt_buf_put(b, "\"", 1);
    rt_buf_json_escaped(b, s, n);
    rt_buf_put(b, "\"", 1);
}

int rt_buf_finish(rt_buf *b)
{
    if (b->growable) {
        rt_buf_put(b, "", 1); /* make room for the NUL */
        b->len--;
        if (b->failed) {
            free(b->p);
            b->p = NULL;
            return STRUERE_ENOMEM;
        }
        b->p[b->len] = 0;
        return 0;
    }
    if (b->cap == 0)
        return STRUERE_ERANGE; /* not even room for the NUL */
    if (b->len < b->cap) {
        b->p[b->len] = 0;
        return 0;
    }
    b->p[b->cap - 1] = 0;
    return STRUERE_ERANGE;
}
