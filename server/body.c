/*
 * body.c - a request's JSON body: the check of the whole text (body.h),
 * then reading it in place with the runtime's reader.
 */
#include "body.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/src/rt_json.h"

/* A key of an object being checked: its JSON text, quotes included. */
struct key {
    const char *p;
    size_t n;
};

/* Objects with more keys than this are checked for a key named twice by
 * sorting them; smaller ones by comparing each pair. */
#define PAIRWISE_MAX 8
#define KEYS_INLINE 64

struct chk {
    const char *start, *p, *end;
    int depth;
    bool oom;
    /* the keys of the objects open at the moment, outermost first */
    struct key *keys;
    size_t nkeys, cap;
    struct key inline_keys[KEYS_INLINE];
    /* the error: where, and what */
    const char *at;
    char why[200];
};

static bool fail(struct chk *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct chk *c, const char *at, const char *fmt, ...)
{
    if (c->at)
        return false;
    c->at = at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof(c->why), fmt, ap);
    va_end(ap);
    return false;
}

/* What is at p, for a message: the character, or that the body ended. */
static void describe(char *out, size_t cap, const char *p, const char *end)
{
    if (p >= end)
        snprintf(out, cap, "the end of the body");
    else if ((unsigned char)*p >= 0x21 && (unsigned char)*p < 0x7f)
        snprintf(out, cap, "'%c'", *p);
    else
        snprintf(out, cap, "byte 0x%02X", (unsigned char)*p);
}

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static bool expected(struct chk *c, const char *what)
{
    char got[32];
    describe(got, sizeof(got), c->p, c->end);
    return fail(c, c->p, "%s where %s was expected", got, what);
}

static bool string(struct chk *c)
{
    const char *p = c->p + 1, *end = c->end;
    for (;;) {
        if (p >= end)
            return fail(c, c->p, "a string that the body ends inside");
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            break;
        if (ch == '\\') {
            if (end - p < 2)
                return fail(c, p, "a string that the body ends inside");
            if (p[1] != 'u') {
                if (!strchr("\"\\/bfnrt", p[1]) || !p[1])
                    return fail(c, p, "an invalid escape in a string");
                p += 2;
                continue;
            }
            long u = end - p >= 6 ? rt_json_hex4(p + 2) : -1;
            if (u < 0)
                return fail(c, p, "a \\u escape without four hex digits");
            if (u == 0)
                return fail(c, p, "\\u0000 in a string (not allowed)");
            if (u >= 0xDC00 && u <= 0xDFFF)
                return fail(c, p, "a low surrogate \\u%04lX without a high one",
                            u);
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u'
                              ? rt_json_hex4(p + 8)
                              : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(
                        c, p, "a high surrogate \\u%04lX without a low one", u);
                p += 6;
            }
            p += 6;
            continue;
        }
        if (ch < 0x20)
            return fail(c, p,
                        "control character U+%04X in a string (write it as "
                        "an escape)",
                        ch);
        if (ch < 0x80) {
            p++;
            continue;
        }
        size_t n =
            rt_utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (!n)
            return fail(c, p, "invalid UTF-8 in a string");
        p += n;
    }
    c->p = p + 1;
    return true;
}

static bool digits(const char **p, const char *end)
{
    const char *s = *p;
    while (*p < end && **p >= '0' && **p <= '9')
        (*p)++;
    return *p > s;
}

/* Whether the number text at p (n bytes, grammar checked) is one a
 * 64-bit integer (without fraction or exponent) or a double holds; -1
 * when memory to read a long one cannot be had. */
static int number_fits(const char *p, size_t n, bool integer)
{
    char small[64], *t = n < sizeof(small) ? small : malloc(n + 1);
    if (!t)
        return -1;
    memcpy(t, p, n);
    t[n] = 0;
    errno = 0;
    bool fits;
    if (integer) {
        (void)strtoll(t, NULL, 10);
        fits = errno != ERANGE;
    } else {
        double d = strtod(t, NULL);
        fits = !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL));
    }
    if (t != small)
        free(t);
    return fits;
}

static bool number(struct chk *c)
{
    const char *p = c->p, *end = c->end;
    bool integer = true;
    if (*p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (p >= end || *p < '1' || *p > '9' || !digits(&p, end))
        return expected(c, "a value");
    if (p < end && *p == '.') {
        integer = false;
        p++;
        if (!digits(&p, end))
            return fail(c, p, "a number without digits after its '.'");
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integer = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!digits(&p, end))
            return fail(c, p, "a number without digits in its exponent");
    }
    /* JSON sets no range, but what reads a body does: jansson (the other
     * routes, a record) and the decision log's readers */
    int fits = number_fits(c->p, (size_t)(p - c->p), integer);
    if (fits < 0) {
        c->oom = true;
        return fail(c, c->p, "out of memory for a long number");
    }
    if (!fits)
        return fail(c, c->p,
                    integer ? "an integer beyond 64 bits"
                            : "a number beyond a double's range");
    c->p = p;
    return true;
}

static bool word(struct chk *c, const char *w, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
        return expected(c, "a value");
    c->p += n;
    return true;
}

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    return rt_json_str_cmp((struere_json){x->p, x->n},
                           (struere_json){y->p, y->n});
}

/* The keys from `base` on, one object's, named twice? */
static bool keys_distinct(struct chk *c, size_t base)
{
    struct key *k = c->keys + base;
    size_t n = c->nkeys - base;
    const struct key *dup = NULL;
    if (n <= PAIRWISE_MAX) {
        for (size_t i = 1; i < n && !dup; i++)
            for (size_t j = 0; j < i && !dup; j++)
                if (!key_cmp(&k[i], &k[j]))
                    dup = &k[i];
    } else {
        qsort(k, n, sizeof(*k), key_cmp);
        for (size_t i = 1; i < n && !dup; i++)
            if (!key_cmp(&k[i], &k[i - 1]))
                dup = k[i].p > k[i - 1].p ? &k[i] : &k[i - 1];
    }
    if (!dup)
        return true;
    /* at most 60 bytes of the key, never a character nor an escape cut
     * in two */
    size_t show = 0, inner = dup->n - 2;
    const char *t = dup->p + 1;
    while (show < inner) {
        size_t step = t[show] == '\\' ? (t[show + 1] == 'u' ? 6 : 2)
                      : (unsigned char)t[show] < 0x80
                          ? 1
                          : rt_utf8_seq((const unsigned char *)t + show,
                                        (const unsigned char *)t + inner);
        if (!step || show + step > 60)
            break;
        show += step;
    }
    return fail(c, dup->p, "the key %.*s%s appears twice in one object",
                (int)show + 1, dup->p, show < dup->n - 2 ? "...\"" : "\"");
}

static bool push_key(struct chk *c, const char *p, size_t n)
{
    if (c->nkeys == c->cap) {
        size_t cap = c->cap * 2;
        struct key *k = c->keys == c->inline_keys
                            ? malloc(cap * sizeof(*k))
                            : realloc(c->keys, cap * sizeof(*k));
        if (!k) {
            c->oom = true;
            return fail(c, p, "out of memory for the body's keys");
        }
        if (c->keys == c->inline_keys)
            memcpy(k, c->inline_keys, sizeof(c->inline_keys));
        c->keys = k;
        c->cap = cap;
    }
    c->keys[c->nkeys++] = (struct key){p, n};
    return true;
}

static bool value(struct chk *c);

static bool container(struct chk *c)
{
    bool object = *c->p == '{';
    char close = object ? '}' : ']';
    const char *open = c->p;
    if (c->depth >= BODY_MAX_DEPTH)
        return fail(c, open, "arrays and objects nested more than %d deep",
                    BODY_MAX_DEPTH);
    c->depth++;
    size_t base = c->nkeys;
    c->p = ws(c->p + 1, c->end);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return true;
    }
    for (;;) {
        if (object) {
            c->p = ws(c->p, c->end);
            if (c->p >= c->end || *c->p != '"')
                return expected(c, "a key (a string)");
            const char *k = c->p;
            if (!string(c) || !push_key(c, k, (size_t)(c->p - k)))
                return false;
            c->p = ws(c->p, c->end);
            if (c->p >= c->end || *c->p != ':')
                return expected(c, "':' after the key");
            c->p++;
        }
        if (!value(c))
            return false;
        c->p = ws(c->p, c->end);
        if (c->p < c->end && *c->p == close)
            break;
        if (c->p >= c->end || *c->p != ',')
            return expected(c, object ? "',' or '}'" : "',' or ']'");
        c->p++;
    }
    c->p++;
    c->depth--;
    if (object && !keys_distinct(c, base))
        return false;
    c->nkeys = base;
    return true;
}

static bool value(struct chk *c)
{
    c->p = ws(c->p, c->end);
    if (c->p >= c->end)
        return expected(c, "a value");
    switch (*c->p) {
    case '"':
        return string(c);
    case '{':
    case '[':
        return container(c);
    case 't':
        return word(c, "true", 4);
    case 'f':
        return word(c, "false", 5);
    case 'n':
        return word(c, "null", 4);
    default:
        return number(c);
    }
}

int body_check(const char *text, size_t len, char *msg, size_t cap)
{
    struct chk c = {.start = text, .p = text, .end = text + len};
    c.keys = c.inline_keys;
    c.cap = KEYS_INLINE;
    bool ok = value(&c);
    if (ok) {
        c.p = ws(c.p, c.end);
        if (c.p < c.end)
            ok = expected(&c, "the end of the body (one JSON value)");
    }
    if (c.keys != c.inline_keys)
        free(c.keys);
    if (ok)
        return 0;
    /* line and column (in characters) of the error */
    size_t line = 1, col = 1;
    for (const char *p = text; p < c.at; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*p & 0xC0) != 0x80) {
            col++;
        }
    }
    snprintf(msg, cap, "body:%zu:%zu: %s", line, col, c.why);
    return c.oom ? -2 : -1;
}

bool body_strings_init(struct body_strings *s, size_t body_len)
{
    s->heap = NULL;
    if (body_len < sizeof(s->inline_buf)) {
        s->next = s->inline_buf;
        s->end = s->inline_buf + sizeof(s->inline_buf);
        return true;
    }
    if (!(s->heap = malloc(body_len + 1)))
        return false;
    s->next = s->heap;
    s->end = s->heap + body_len + 1;
    return true;
}

void body_strings_free(struct body_strings *s)
{
    free(s->heap);
    s->heap = NULL;
}

const char *body_string(struct body_strings *s, struere_json v)
{
    if (body_type(v) != STRUERE_JSON_STRING)
        return NULL;
    size_t n = rt_json_str_len(v);
    if ((size_t)(s->end - s->next) < n + 1)
        return NULL;
    char *out = s->next;
    rt_json_str_decode(v, out);
    s->next += n + 1;
    return out;
}

/* The end of the checked string at p (before end): the first quote after
 * it that an odd run of backslashes does not escape. */
static const char *string_end(const char *p, const char *end)
{
    const char *start = p + 1, *q = start;
    for (;;) {
        const char *e = memchr(q, '"', (size_t)(end - q));
        if (!e)
            return end; /* not a checked string */
        const char *b = e;
        while (b > start && b[-1] == '\\')
            b--;
        if ((e - b) % 2 == 0)
            return e + 1;
        q = e + 1;
    }
}

/* The end of the checked value at p (not at white space): counted
 * brackets, not recursion, so that no depth a check let through stops
 * the reading (the runtime's reader stops at RT_JSON_MAX_DEPTH). */
static const char *value_end(const char *p, const char *end)
{
    if (*p == '"')
        return string_end(p, end);
    if (*p != '[' && *p != '{') {
        for (; p < end; p++)
            switch (*p) {
            case ',':
            case ']':
            case '}':
            case ' ':
            case '\t':
            case '\r':
            case '\n':
                return p;
            }
        return p;
    }
    size_t depth = 0;
    do {
        switch (*p) {
        case '"':
            p = string_end(p, end);
            continue;
        case '[':
        case '{':
            depth++;
            break;
        case ']':
        case '}':
            depth--;
            break;
        }
        p++;
    } while (depth);
    return p;
}

bool body_iter(struct body_it *it, struere_json v)
{
    it->p = it->end = NULL;
    int t = body_type(v);
    if (t != STRUERE_JSON_ARRAY && t != STRUERE_JSON_OBJECT)
        return false;
    it->end = v.ptr + v.len - 1; /* the closing bracket */
    it->p = ws(v.ptr + 1, it->end);
    return true;
}

bool body_next(struct body_it *it, struere_json *key, struere_json *val)
{
    if (!it->p || it->p >= it->end)
        return false;
    const char *p = it->p;
    if (key) {
        key->ptr = NULL;
        key->len = 0;
    }
    if (*p == '"' && it->end[0] == '}') {
        const char *k = string_end(p, it->end);
        if (key)
            *key = (struere_json){p, (size_t)(k - p)};
        p = ws(k, it->end) + 1; /* the ':' */
        p = ws(p, it->end);
    }
    const char *e = value_end(p, it->end);
    *val = (struere_json){p, (size_t)(e - p)};
    p = ws(e, it->end);
    it->p = p < it->end ? ws(p + 1, it->end) : p; /* past the ',' */
    return true;
}

/* Whether the JSON string k decodes to key (klen bytes). */
static bool key_is(struere_json k, const char *key, size_t klen)
{
    if (!memchr(k.ptr, '\\', k.len))
        return k.len == klen + 2 && !memcmp(k.ptr + 1, key, klen);
    return rt_json_str_eq(k, key, klen);
}

void body_members(struere_json o, const char *const *keys, size_t n,
                  struere_json *out)
{
    struct body_it it;
    struere_json k, v;
    size_t klen[16];
    for (size_t i = 0; i < n; i++) {
        out[i] = (struere_json){NULL, 0};
        klen[i] = i < 16 ? strlen(keys[i]) : 0;
    }
    if (n > 16 || body_type(o) != STRUERE_JSON_OBJECT || !body_iter(&it, o))
        return;
    while (body_next(&it, &k, &v))
        for (size_t i = 0; i < n; i++)
            if (key_is(k, keys[i], klen[i])) {
                out[i] = v;
                break;
            }
}

struere_json body_member(struere_json o, const char *key)
{
    struere_json v;
    body_members(o, &key, 1, &v);
    return v;
}

struere_json body_root(const char *text, size_t len)
{
    const char *p = ws(text, text + len), *end = text + len;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
                       end[-1] == '\r'))
        end--;
    return (struere_json){p, (size_t)(end - p)};
}

int body_type(struere_json v)
{
    return v.ptr && v.len ? rt_json_kind(v) : 0;
}

const char *body_type_name(struere_json v)
{
    switch (body_type(v)) {
    case STRUERE_JSON_OBJECT:
        return "an object";
    case STRUERE_JSON_ARRAY:
        return "an array";
    case STRUERE_JSON_STRING:
        return "a string";
    case STRUERE_JSON_NUMBER:
        return "a number";
    case STRUERE_JSON_TRUE:
    case STRUERE_JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

void body_write_compact(FILE *f, struere_json v)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        char ch = *p;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            p++;
            continue;
        }
        if (ch != '"') {
            putc(ch, f);
            p++;
            continue;
        }
        const char *s = string_end(p, end);
        fwrite(p, 1, (size_t)(s - p), f);
        p = s;
    }
}
