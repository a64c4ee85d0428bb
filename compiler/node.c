/*
 * node.c - accessors, constructors and the deep merge used by overlays.
 */
#include "node.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "source.h"

long node_find(const struct node *m, const char *key, size_t len)
{
    if (!m || m->type != NODE_MAP)
        return -1;
    /* The first byte before the call: most keys of the same length as
     * the one sought differ there. */
    for (size_t i = 0; i < m->n; i++) {
        const struct node *k = &m->kids[2 * i];
        if (node_len(k) == len &&
            (len == 0 || (k->str[0] == key[0] && !memcmp(k->str, key, len))))
            return (long)i;
    }
    return -1;
}

bool node_is_str(const struct node *n, const char *s)
{
    return n && n->type == NODE_STRING && strcmp(n->str, s) == 0;
}

bool node_number(const struct node *n, double *out)
{
    if (!n)
        return false;
    if (n->type == NODE_INT) {
        *out = (double)node_int(n);
        return true;
    }
    if (n->type == NODE_FLOAT) {
        *out = node_float(n);
        return true;
    }
    return false;
}

bool node_parse_int(const char *s, long long *v)
{
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        unsigned long long u = strtoull(s + 2, NULL, s[1] == 'x' ? 16 : 8);
        bool ok = errno == 0 && u <= (unsigned long long)INT64_MAX;
        *v = ok ? (long long)u : INT64_MAX;
        return ok;
    }
    *v = strtoll(s, NULL, 10); /* clamped when out of range */
    return errno == 0;
}

long long node_int(const struct node *n)
{
    long long v;
    node_parse_int(n->str, &v);
    return v;
}

double node_float(const struct node *n)
{
    const char *s = n->str;
    size_t sign = s[0] == '-' || s[0] == '+';
    if (s[sign] == '.' && (s[sign + 1] == 'i' || s[sign + 1] == 'I'))
        return s[0] == '-' ? -INFINITY : INFINITY;
    if (s[sign] == '.' && (s[sign + 1] == 'n' || s[sign + 1] == 'N'))
        return NAN;
    return strtod(s, NULL);
}

const char *node_type_name(enum node_type t)
{
    switch (t) {
    case NODE_NULL:
        return "null";
    case NODE_BOOL:
        return "a boolean";
    case NODE_INT:
        return "an integer";
    case NODE_FLOAT:
        return "a number";
    case NODE_STRING:
        return "a string";
    case NODE_MAP:
        return "a map";
    case NODE_SEQ:
        return "a list";
    }
    return "?";
}

void node_init(struct node *n, enum node_type t, const struct source *src,
               int line, int col)
{
    memset(n, 0, sizeof(*n));
    n->type = t;
    n->src = src ? src->id : 0;
    n->line = line < 0 ? 0 : line > NODE_LINE_MAX ? NODE_LINE_MAX : line;
    n->col = col < 0 ? 0 : col > NODE_POS_MAX ? NODE_POS_MAX : col;
    n->str = "";
}

void node_init_string(struct node *n, const char *s, size_t len,
                      const struct source *src, int line, int col)
{
    node_init(n, NODE_STRING, src, line, col);
    n->str = s;
    n->len = (unsigned)len;
}

struct node *node_new(struct arena *a, enum node_type t,
                      const struct source *src, int line, int col)
{
    struct node *n = arena_alloc(a, sizeof(*n));
    if (n)
        node_init(n, t, src, line, col);
    return n;
}

const struct source *node_source(const struct node *n)
{
    return source_get(n->src);
}

struct node *node_merge(struct arena *a, struct node *base,
                        struct node *overlay)
{
    if (!overlay)
        return base;
    if (!base || base->type != NODE_MAP || overlay->type != NODE_MAP)
        return overlay;
    struct node *m =
        node_new(a, NODE_MAP, node_source(base), base->line, base->col);
    if (!m || !(m->kids = arena_alloc(a, 2 * (base->n + overlay->n) *
                                             sizeof(*m->kids))))
        return NULL;
    for (size_t i = 0; i < base->n; i++) {
        const struct node *k = &base->kids[2 * i];
        struct node *ov = node_get(overlay, k->str);
        struct node *v = node_merge(a, &base->kids[2 * i + 1], ov);
        if (!v)
            return NULL; /* out of memory */
        m->kids[2 * m->n] = *k;
        m->kids[2 * m->n + 1] = *v;
        m->n++;
    }
    for (size_t i = 0; i < overlay->n; i++) {
        const struct node *k = &overlay->kids[2 * i];
        if (node_get_key(base, k->str))
            continue;
        m->kids[2 * m->n] = *k;
        m->kids[2 * m->n + 1] = overlay->kids[2 * i + 1];
        m->n++;
    }
    return m;
}

struct node *node_without(struct arena *a, const struct node *m,
                          const char *key)
{
    struct node *c = node_new(a, NODE_MAP, node_source(m), m->line, m->col);
    if (!c || !(c->kids = arena_alloc(a, 2 * (m->n + 1) * sizeof(*c->kids))))
        return NULL;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->kids[2 * i].str, key) == 0)
            continue;
        c->kids[2 * c->n] = m->kids[2 * i];
        c->kids[2 * c->n + 1] = m->kids[2 * i + 1];
        c->n++;
    }
    return c;
}

bool node_equal(const struct node *a, const struct node *b)
{
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    double x, y;
    if (node_number(a, &x) && node_number(b, &y))
        return x == y;
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case NODE_NULL:
        return true;
    case NODE_BOOL:
        return a->b == b->b;
    case NODE_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case NODE_SEQ:
        if (a->n != b->n)
            return false;
        for (size_t i = 0; i < a->n; i++)
            if (!node_equal(&a->kids[i], &b->kids[i]))
                return false;
        return true;
    case NODE_MAP:
        if (a->n != b->n)
            return false;
        for (size_t i = 0; i < a->n; i++) {
            struct node *bv = node_get(b, a->kids[2 * i].str);
            if (!bv || !node_equal(&a->kids[2 * i + 1], bv))
                return false;
        }
        return true;
    default:
        return false;
    }
}
