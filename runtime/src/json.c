/*
 * json.c - validates and walks JSON text in place (rt_json.h), and the
 * public struere_json_* accessors built on it. Every read is bounds-checked
 * against the end of the text; nothing is allocated.
 */
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static const char *ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

long rt_json_hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = rt_hex_digit(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

size_t rt_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Whether any of the 8 bytes of w needs a look: a quote, a backslash, a
 * control character or a non-ASCII byte. (The usual "has a zero byte"
 * tests: no false negatives; a false positive only means the byte-wise
 * path looks.) */
static int special8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t ctl = (w - ones * 0x20) & ~w;
    uint64_t quote = (q - ones) & ~q, bslash = (b - ones) & ~b;
    return ((w | ctl | quote | bslash) & high) != 0;
}

/* The end of the string whose opening quote is at p, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    p++;
    while (p < end) {
        uint64_t w;
        while (end - p >= 8 && (memcpy(&w, p, 8), !special8(w)))
            p += 8;
        if (p >= end)
            break;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (end - p < 2)
                return NULL;
            char e = p[1];
            if (e == 'u') {
                if (end - p < 6)
                    return NULL;
                long u = rt_json_hex4(p + 2);
                if (u < 0)
                    return NULL;
                p += 6;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    /* a high surrogate must be followed by a low one */
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                        return NULL;
                    long lo = rt_json_hex4(p + 2);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return NULL;
                    p += 6;
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    return NULL;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0)
                return NULL;
            p += 2;
            continue;
        }
        size_t n =
            rt_utf8_seq((const unsigned char *)p, (const unsigned char *)end);
        if (!n)
            return NULL;
        p += n;
    }
    return NULL;
}

static const char *skip_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *skip_word(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n || memcmp(p, w, n) != 0)
        return NULL;
    return p + n;
}

static const char *skip_value(const char *p, const char *end, int depth)
{
    p = ws(p, end);
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        return skip_string(p, end);
    case 't':
        return skip_word(p, end, "true");
    case 'f':
        return skip_word(p, end, "false");
    case 'n':
        return skip_word(p, end, "null");
    case '[':
    case '{': {
        int object = *p == '{';
        char close = object ? '}' : ']';
        if (depth >= RT_JSON_MAX_DEPTH)
            return NULL;
        p = ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = ws(p, end);
                if (p >= end || *p != '"' || !(p = skip_string(p, end)))
                    return NULL;
                p = ws(p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p++;
            }
            if (!(p = skip_value(p, end, depth + 1)))
                return NULL;
            p = ws(p, end);
            if (p >= end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    default:
        return skip_number(p, end);
    }
}

const char *rt_json_skip(const char *p, const char *end)
{
    if (!p)
        return NULL;
    return skip_value(p, end, 0);
}

int rt_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        size_t k = rt_utf8_seq(p, end);
        if (!k)
            return 0;
        p += k;
    }
    return 1;
}

int rt_json_value(const char *p, size_t len, struere_json *v)
{
    if (!p)
        return STRUERE_EJSON;
    const char *end = p + len, *s = ws(p, end);
    const char *e = rt_json_skip(s, end);
    if (!e || ws(e, end) != end)
        return STRUERE_EJSON;
    v->ptr = s;
    v->len = (size_t)(e - s);
    return 0;
}

int rt_json_kind(struere_json v)
{
    if (!v.len)
        return STRUERE_EJSON;
    switch (v.ptr[0]) {
    case 'n':
        return STRUERE_JSON_NULL;
    case 'f':
        return STRUERE_JSON_FALSE;
    case 't':
        return STRUERE_JSON_TRUE;
    case '"':
        return STRUERE_JSON_STRING;
    case '[':
        return STRUERE_JSON_ARRAY;
    case '{':
        return STRUERE_JSON_OBJECT;
    default:
        return STRUERE_JSON_NUMBER;
    }
}

int rt_json_iter(struere_json v, int type, rt_json_it *it)
{
    if (rt_json_kind(v) != type ||
        (type != STRUERE_JSON_ARRAY && type != STRUERE_JSON_OBJECT))
        return STRUERE_EJSON;
    it->p = v.ptr + 1;
    it->end = v.ptr + v.len;
    it->object = type == STRUERE_JSON_OBJECT;
    it->first = 1;
    return 0;
}

int rt_json_next(rt_json_it *it, struere_json *key, struere_json *val)
{
    const char *p = ws(it->p, it->end);
    char close = it->object ? '}' : ']';
    if (p >= it->end)
        return STRUERE_EJSON;
    if (*p == close) {
        it->p = p;
        return 0;
    }
    if (!it->first) {
        if (*p != ',')
            return STRUERE_EJSON;
        p = ws(p + 1, it->end);
    }
    it->first = 0;
    if (it->object) {
        const char *k = p;
        if (p >= it->end || *p != '"' || !(p = skip_string(p, it->end)))
            return STRUERE_EJSON;
        if (key) {
            key->ptr = k;
            key->len = (size_t)(p - k);
        }
        p = ws(p, it->end);
        if (p >= it->end || *p != ':')
            return STRUERE_EJSON;
        p = ws(p + 1, it->end);
    }
    const char *e = rt_json_skip(p, it->end);
    if (!e)
        return STRUERE_EJSON;
    val->ptr = p;
    val->len = (size_t)(e - p);
    it->p = e;
    return 1;
}

/* Decoding a JSON string one byte at a time, so that comparisons need no
 * buffer. */
typedef struct strdec {
    const char *p, *end; /* raw text after the opening quote */
    unsigned char pend[4];
    int npend, ipend;
} strdec;

static void dec_init(strdec *d, struere_json s)
{
    d->p = s.ptr + 1;
    d->end = s.ptr + s.len - 1; /* the closing quote */
    d->npend = d->ipend = 0;
}

/* The next decoded byte, or -1 at the end. The text was validated. */
static int dec_next(strdec *d)
{
    if (d->ipend < d->npend)
        return d->pend[d->ipend++];
    if (d->p >= d->end)
        return -1;
    unsigned char c = (unsigned char)*d->p;
    if (c != '\\') {
        d->p++;
        return c;
    }
    char e = d->p[1];
    d->p += 2;
    switch (e) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u': {
        unsigned long cp = (unsigned long)rt_json_hex4(d->p);
        d->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned long lo = (unsigned long)rt_json_hex4(d->p + 2);
            d->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        d->npend = d->ipend = 0;
        if (cp < 0x80) {
            d->pend[d->npend++] = (unsigned char)cp;
        } else if (cp < 0x800) {
            d->pend[d->npend++] = (unsigned char)(0xC0 | (cp >> 6));
            d->pend[d->npend++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            d->pend[d->npend++] = (unsigned char)(0xE0 | (cp >> 12));
            d->pend[d->npend++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            d->pend[d->npend++] = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            d->pend[d->npend++] = (unsigned char)(0xF0 | (cp >> 18));
            d->pend[d->npend++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            d->pend[d->npend++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            d->pend[d->npend++] = (unsigned char)(0x80 | (cp & 0x3F));
        }
        return d->pend[d->ipend++];
    }
    default: /* " \ / */
        return (unsigned char)e;
    }
}

static int has_escape(struere_json s)
{
    return memchr(s.ptr + 1, '\\', s.len - 2) != NULL;
}

int rt_json_str_eq(struere_json s, const char *x, size_t n)
{
    if (s.len < 2 || s.ptr[0] != '"')
        return 0;
    if (!has_escape(s))
        return s.len - 2 == n && memcmp(s.ptr + 1, x, n) == 0;
    strdec d;
    dec_init(&d, s);
    for (size_t i = 0; i < n; i++)
        if (dec_next(&d) != (unsigned char)x[i])
            return 0;
    return dec_next(&d) < 0;
}

int rt_json_str_contains(struere_json s, const char *x, size_t n)
{
    if (s.len < 2 || s.ptr[0] != '"')
        return 0;
    if (n == 0)
        return 1;
    if (!has_escape(s)) {
        const char *h = s.ptr + 1;
        size_t hn = s.len - 2;
        if (hn < n)
            return 0;
        for (size_t i = 0; i + n <= hn; i++)
            if (h[i] == x[0] && memcmp(h + i, x, n) == 0)
                return 1;
        return 0;
    }
    /* Restart the decoder at each decoded position: O(len * n), on the
     * rare strings with escapes. */
    strdec start;
    dec_init(&start, s);
    for (;;) {
        strdec d = start;
        size_t i = 0;
        int c;
        while (i < n && (c = dec_next(&d)) == (unsigned char)x[i])
            i++;
        if (i == n)
            return 1;
        if (dec_next(&start) < 0)
            return 0;
    }
}

int rt_json_str_cmp(struere_json a, struere_json b)
{
    if (!has_escape(a) && !has_escape(b)) {
        size_t na = a.len - 2, nb = b.len - 2;
        int c = memcmp(a.ptr + 1, b.ptr + 1, na < nb ? na : nb);
        return c ? c : (na > nb) - (na < nb);
    }
    strdec da, db;
    int ca, cb;
    dec_init(&da, a);
    dec_init(&db, b);
    do {
        ca = dec_next(&da);
        cb = dec_next(&db);
    } while (ca == cb && ca >= 0);
    return (ca > cb) - (ca < cb);
}

size_t rt_json_str_len(struere_json s)
{
    if (!has_escape(s))
        return s.len - 2;
    strdec d;
    size_t n = 0;
    dec_init(&d, s);
    while (dec_next(&d) >= 0)
        n++;
    return n;
}

size_t rt_json_str_decode(struere_json s, char *out)
{
    size_t n = 0;
    if (!has_escape(s)) {
        n = s.len - 2;
        memcpy(out, s.ptr + 1, n);
    } else {
        strdec d;
        int c;
        dec_init(&d, s);
        while ((c = dec_next(&d)) >= 0)
            out[n++] = (char)c;
    }
    out[n] = 0;
    return n;
}

void rt_json_str_rewrite(rt_buf *b, struere_json s)
{
    if (!has_escape(s)) { /* nothing in it JSON.stringify would escape */
        rt_buf_put(b, s.ptr + 1, s.len - 2);
        return;
    }
    char chunk[256];
    size_t n = 0;
    strdec d;
    int c;
    dec_init(&d, s);
    while ((c = dec_next(&d)) >= 0) {
        chunk[n++] = (char)c;
        if (n == sizeof(chunk)) {
            rt_buf_json_escaped(b, chunk, n);
            n = 0;
        }
    }
    rt_buf_json_escaped(b, chunk, n);
}

/* The member `key` of `obj`; when `sorted`, stops at the first key past
 * it in byte order (keys with escapes are not compared that way). */
static int member_of(struere_json obj, const char *key, size_t klen, int sorted,
                     struere_json *out)
{
    rt_json_it it;
    struere_json k, v;
    int rc;
    if (rt_json_iter(obj, STRUERE_JSON_OBJECT, &it) < 0)
        return 0;
    while ((rc = rt_json_next(&it, &k, &v)) == 1) {
        if (rt_json_str_eq(k, key, klen)) {
            *out = v;
            return 1;
        }
        if (sorted && !has_escape(k)) {
            size_t n = k.len - 2 < klen ? k.len - 2 : klen;
            int c = memcmp(k.ptr + 1, key, n);
            if (c > 0 || (c == 0 && k.len - 2 > klen))
                return 0;
        }
    }
    return rc;
}

int rt_json_member(struere_json obj, const char *key, size_t klen,
                   struere_json *out)
{
    return member_of(obj, key, klen, 0, out);
}

int rt_json_member_sorted(struere_json obj, const char *key, size_t klen,
                          struere_json *out)
{
    return member_of(obj, key, klen, 1, out);
}

int rt_json_path(struere_json v, const char *path, size_t plen,
                 struere_json *out)
{
    const char *p = path, *end = path + plen;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *seg_end = dot ? dot : end;
        if (rt_json_kind(v) != STRUERE_JSON_OBJECT)
            return 0;
        int rc = rt_json_member(v, p, (size_t)(seg_end - p), &v);
        if (rc <= 0)
            return rc;
        if (!dot)
            break;
        p = dot + 1;
    }
    *out = v;
    return 1;
}

static locale_t the_c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    the_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The "C" locale, made once (NULL if it cannot be made). */
static locale_t c_locale(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    return the_c_locale;
}

int rt_json_scalar_eq(struere_json a, struere_json b)
{
    int ka = rt_json_kind(a), kb = rt_json_kind(b);
    if (ka != kb || ka < 0)
        return 0;
    switch (ka) {
    case STRUERE_JSON_NULL:
    case STRUERE_JSON_TRUE:
    case STRUERE_JSON_FALSE:
        return 1;
    case STRUERE_JSON_STRING:
        return rt_json_str_cmp(a, b) == 0;
    case STRUERE_JSON_NUMBER: {
        char ba[64], bb[64];
        if (a.len >= sizeof(ba) || b.len >= sizeof(bb))
            return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
        memcpy(ba, a.ptr, a.len);
        ba[a.len] = 0;
        memcpy(bb, b.ptr, b.len);
        bb[b.len] = 0;
        /* JSON numbers have a '.' whatever the caller's locale is */
        locale_t c = c_locale();
        if (!c)
            return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
        return strtod_l(ba, NULL, c) == strtod_l(bb, NULL, c);
    }
    default:
        return 0;
    }
}

/* ---- the public accessors ---- */

static int json_get(const char *json, size_t len, const char *path,
                    struere_json *out)
{
    struere_json v;
    if (!json || !path || !out)
        return STRUERE_EINVAL;
    if (rt_json_value(json, len, &v) < 0)
        return STRUERE_EJSON;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        int k = rt_json_kind(v), rc;
        size_t digits = strspn(p, "0123456789");
        if (k == STRUERE_JSON_ARRAY && n > 0 && digits >= n) {
            size_t want = strtoul(p, NULL, 10), i = 0;
            rt_json_it it;
            rt_json_iter(v, STRUERE_JSON_ARRAY, &it);
            while ((rc = rt_json_next(&it, NULL, &v)) == 1 && i < want)
                i++;
            if (rc < 0)
                return STRUERE_EJSON;
            if (rc == 0)
                return STRUERE_ENOTFOUND;
        } else if (k == STRUERE_JSON_OBJECT) {
            rc = rt_json_member(v, p, n, &v);
            if (rc < 0)
                return STRUERE_EJSON;
            if (rc == 0)
                return STRUERE_ENOTFOUND;
        } else {
            return STRUERE_ENOTFOUND;
        }
        if (!dot)
            break;
        p = dot + 1;
    }
    *out = v;
    return 0;
}

int struere_json_get(struere_json *out, const char *json, size_t len,
                     const char *path, struere_error *err)
{
    return rt_result(err, json_get(json, len, path, out), "struere_json_get");
}

static int json_type(struere_json v)
{
    struere_json t;
    if (!v.ptr || rt_json_value(v.ptr, v.len, &t) < 0)
        return STRUERE_EJSON;
    return rt_json_kind(t);
}

int struere_json_type(struere_json v, struere_error *err)
{
    return rt_result(err, json_type(v), "struere_json_type");
}

static int json_string(struere_json v, char *buf, size_t cap, size_t *len)
{
    if (struere_json_type(v, NULL) != STRUERE_JSON_STRING)
        return STRUERE_EINVAL;
    struere_json t;
    rt_json_value(v.ptr, v.len, &t);
    size_t n = rt_json_str_len(t);
    if (len)
        *len = n;
    if (!buf || cap < n + 1)
        return STRUERE_ERANGE;
    rt_json_str_decode(t, buf);
    if (memchr(buf, 0, n))
        return STRUERE_EJSON;
    return 0;
}

int struere_json_string(char *buf, size_t cap, size_t *len, struere_json v,
                        struere_error *err)
{
    return rt_result(err, json_string(v, buf, cap, len), "struere_json_string");
}

void struere_free(void *p)
{
    free(p);
}
