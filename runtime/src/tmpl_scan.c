/*
 * tmpl_scan.c - the one {{ }} scanner (rt_tmpl_scan.h), shared by the
 * prompt renderer (template.c), the automation firer (automation.c) and
 * the compiler's template checks, so that they cannot disagree on where a
 * template is or what white space inside its braces means.
 */
#include "rt_tmpl_scan.h"

#include <string.h>

size_t rt_tmpl_space_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0)
        return 0;
    switch (p[0]) {
    case '\t':
    case '\n':
    case 0x0B:
    case 0x0C:
    case '\r':
    case ' ':
        return 1;
    case 0xC2: /* U+00A0 */
        return n >= 2 && p[1] == 0xA0 ? 2 : 0;
    case 0xE1: /* U+1680 */
        return n >= 3 && p[1] == 0x9A && p[2] == 0x80 ? 3 : 0;
    case 0xE2: /* U+2000..U+200A, U+2028, U+2029, U+202F, U+205F */
        if (n < 3)
            return 0;
        if (p[1] == 0x80 &&
            (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
            return p[2] >= 0x80 ? 3 : 0;
        return p[1] == 0x81 && p[2] == 0x9F ? 3 : 0;
    case 0xE3: /* U+3000 */
        return n >= 3 && p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;
    case 0xEF: /* U+FEFF */
        return n >= 3 && p[1] == 0xBB && p[2] == 0xBF ? 3 : 0;
    default:
        return 0;
    }
}

/* Length of the white space that ends the `n` bytes at `p`, or 0. */
static size_t space_before(const char *p, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (rt_tmpl_space_at(p + n - k, k) == k)
            return k;
    return 0;
}

void rt_tmpl_trim(const char **p, size_t *n)
{
    size_t k;
    while ((k = rt_tmpl_space_at(*p, *n)) > 0)
        *p += k, *n -= k;
    while ((k = space_before(*p, *n)) > 0)
        *n -= k;
}

int rt_tmpl_next(const char *s, size_t n, size_t *pos, size_t max_depth,
                 rt_tmpl_expr *e)
{
    size_t i = *pos;
    while (i + 1 < n) {
        const char *brace = memchr(s + i, '{', n - i - 1);
        if (!brace)
            break;
        i = (size_t)(brace - s);
        if (s[i + 1] != '{') {
            i++;
            continue;
        }
        size_t open = i, depth = 1, close = 0;
        i += 2;
        while (i + 1 < n && depth > 0) {
            if (s[i] == '{' && s[i + 1] == '{') {
                if (++depth > max_depth) {
                    e->open = open;
                    *pos = n;
                    return RT_TMPL_TOO_DEEP;
                }
                i += 2;
            } else if (s[i] == '}' && s[i + 1] == '}') {
                if (--depth == 0)
                    close = i;
                i += 2;
            } else {
                i++;
            }
        }
        *pos = n;
        if (depth > 0) {
            e->open = open;
            return RT_TMPL_UNCLOSED;
        }
        e->open = open;
        e->end = i;
        e->text = s + open + 2;
        e->len = close - open - 2;
        rt_tmpl_trim(&e->text, &e->len);
        *pos = i;
        return RT_TMPL_FOUND;
    }
    *pos = n;
    return RT_TMPL_NONE;
}

int rt_tmpl_next_flat(const char *s, size_t n, size_t from, size_t *start,
                      size_t *stop)
{
    size_t j = from;
    while (j + 1 < n) {
        const char *o = memchr(s + j, '{', n - j - 1);
        if (!o)
            return 0;
        j = (size_t)(o - s);
        if (s[j + 1] != '{') {
            j++;
            continue;
        }
        const char *c = memchr(s + j + 2, '}', n - j - 2);
        if (!c)
            return 0; /* no '}' left: no later "{{" can match either */
        size_t k = (size_t)(c - s);
        if (k > j + 2 && k + 1 < n && s[k + 1] == '}') {
            *start = j;
            *stop = k + 2;
            return 1;
        }
        /* Linear: every start before this '}' fails alike. */
        j = k + 1;
    }
    return 0;
}

static int name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

size_t rt_tmpl_call_name(const char *p, size_t n)
{
    size_t i = 1;
    if (n == 0 || !name_start(p[0]))
        return 0;
    while (i < n && name_char(p[i]))
        i++;
    if (i >= n || p[i] != '(' || p[n - 1] != ')')
        return 0;
    return i;
}
