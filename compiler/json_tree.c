/*
 * json_tree.c - jansson's tree of JSON text already checked (json_tree.h).
 */
#include "json_tree.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/src/rt_json.h"

struct cursor {
    const char *p, *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end &&
           (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* The length of the escape at q (a backslash) when it is one JSON has,
 * a \u escape of a surrogate with its pair; 0 otherwise (the decoder
 * then never reads past what is checked here). */
static size_t escape_len(const char *q, const char *end)
{
    if (end - q < 2)
        return 0;
    if (q[1] != 'u')
        return strchr("\"\\/bfnrt", q[1]) && q[1] ? 2 : 0;
    long u = end - q >= 6 ? rt_json_hex4(q + 2) : -1;
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return 0;
    if (u < 0xD800 || u > 0xDBFF)
        return 6;
    long low =
        end - q >= 12 && q[6] == '\\' && q[7] == 'u' ? rt_json_hex4(q + 8) : -1;
    return low >= 0xDC00 && low <= 0xDFFF ? 12 : 0;
}

/* The string token at c->p (its quotes included), c->p moved past it. */
static bool string_token(struct cursor *c, struere_json *s)
{
    const char *q = c->p + 1;
    while (q < c->end && *q != '"') {
        size_t n = *q == '\\' ? escape_len(q, c->end) : 1;
        if (!n)
            return false;
        q += n;
    }
    if (q >= c->end)
        return false;
    *s = (struere_json){c->p, (size_t)(q + 1 - c->p)};
    c->p = q + 1;
    return true;
}

/* Memory of jansson's allocator (jsonmem.h counts its failures). */
static void *scratch(size_t n)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    return m(n);
}

static void scratch_free(void *p)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    if (p)
        f(p);
}

/* The string at c->p decoded: into `small` when it fits, else into a
 * buffer of its own (*heap, to free). NULL when memory runs out. */
static const char *decoded(struct cursor *c, char *small, size_t cap,
                           char **heap, size_t *n)
{
    struere_json s;
    *heap = NULL;
    if (c->p >= c->end || *c->p != '"' || !string_token(c, &s))
        return NULL;
    size_t need = rt_json_str_len(s) + 1;
    char *to = need <= cap ? small : (*heap = scratch(need));
    if (!to)
        return NULL;
    *n = rt_json_str_decode(s, to);
    return to;
}

static json_t *string_value(struct cursor *c)
{
    char small[256], *heap;
    size_t n;
    const char *s = decoded(c, small, sizeof(small), &heap, &n);
    json_t *v = s ? json_stringn_nocheck(s, n) : NULL;
    scratch_free(heap);
    return v;
}

static json_t *number_value(struct cursor *c)
{
    const char *start = c->p;
    bool integer = true;
    while (c->p < c->end && *c->p && strchr("+-0123456789.eE", *c->p)) {
        if (*c->p == '.' || *c->p == 'e' || *c->p == 'E')
            integer = false;
        c->p++;
    }
    size_t n = (size_t)(c->p - start);
    char small[64], *heap = NULL;
    char *t = n < sizeof(small) ? small : (heap = scratch(n + 1));
    if (!n || !t)
        return NULL;
    memcpy(t, start, n);
    t[n] = 0;
    char *stop;
    json_t *v = NULL;
    errno = 0;
    if (integer) {
        long long i = strtoll(t, &stop, 10);
        if (!errno && stop == t + n)
            v = json_integer(i);
    } else {
        double d = strtod(t, &stop);
        /* an underflow reads as jansson reads it: zero or a subnormal */
        if ((!errno || (errno == ERANGE && d > -1 && d < 1)) && stop == t + n)
            v = json_real(d);
    }
    scratch_free(heap);
    return v;
}

static json_t *value(struct cursor *c);

static json_t *array_value(struct cursor *c)
{
    json_t *a = json_array();
    c->p++; /* [ */
    skip_space(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return a;
    }
    while (a) {
        json_t *v = value(c);
        if (!v || json_array_append_new(a, v) < 0)
            break;
        skip_space(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

/* One member "key": value into o. */
static bool member(struct cursor *c, json_t *o)
{
    char small[256], *heap;
    size_t n;
    skip_space(c);
    const char *key = decoded(c, small, sizeof(small), &heap, &n);
    bool ok = false;
    if (key) {
        skip_space(c);
        if (c->p < c->end && *c->p == ':') {
            c->p++;
            json_t *v = value(c);
            ok = v && json_object_setn_new_nocheck(o, key, n, v) == 0;
        }
    }
    scratch_free(heap);
    return ok;
}

static json_t *object_value(struct cursor *c)
{
    json_t *o = json_object();
    c->p++; /* { */
    skip_space(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return o;
    }
    while (o && member(c, o)) {
        skip_space(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static bool word(struct cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
        return false;
    c->p += n;
    return true;
}

static json_t *value(struct cursor *c)
{
    skip_space(c);
    if (c->p >= c->end)
        return NULL;
    switch (*c->p) {
    case '{':
        return object_value(c);
    case '[':
        return array_value(c);
    case '"':
        return string_value(c);
    case 't':
        return word(c, "true") ? json_true() : NULL;
    case 'f':
        return word(c, "false") ? json_false() : NULL;
    case 'n':
        return word(c, "null") ? json_null() : NULL;
    default:
        return number_value(c);
    }
}

json_t *json_tree(const char *text, size_t len)
{
    if (!text)
        return NULL;
    struct cursor c = {text, text + len};
    json_t *v = value(&c);
    skip_space(&c);
    if (v && c.p != c.end) {
        json_decref(v);
        return NULL;
    }
    return v;
}
