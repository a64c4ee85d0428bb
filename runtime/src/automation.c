/*
 * automation.c - which automations an event fires (reference §2.4): each
 * automation's `on` is matched against the event, and those that fire are
 * written out as JSON with their {{trigger.*}} templates resolved and their
 * {{steps.*}} templates kept for the executor (struere.h).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_tmpl_scan.h"

/* retry's defaults when the definition leaves them out (reference §2.4;
 * the compiler writes `retry` only when the source has it). */
#define DEFAULT_MAX_ATTEMPTS "1"
#define DEFAULT_BACKOFF_MS "60000"

/* ---- output (rt_buf, buf.c) and scratch ---- */

static void ob_ch(rt_buf *b, char c)
{
    rt_buf_put(b, &c, 1);
}

/* Room for `n` bytes in a scratch buffer: 0, or -1 when out of memory. */
static int scratch_reserve(char **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    size_t want = *cap ? *cap : 256;
    while (want < n) {
        if (want > SIZE_MAX / 2)
            return -1;
        want *= 2;
    }
    char *q = realloc(*p, want);
    if (!q)
        return -1;
    *p = q;
    *cap = want;
    return 0;
}

/* ---- JSON strings out ---- */

static void put_string(rt_buf *b, struere_json s)
{
    ob_ch(b, '"');
    rt_json_str_rewrite(b, s);
    ob_ch(b, '"');
}

/* ---- numbers as JavaScript writes them ---- */

/* Significant digits kept when a number needs the floating-point route;
 * one more "sticky" digit stands for all dropped ones, which keeps the
 * rounding exact (a double's exact decimal expansion needs at most 767). */
#define NUM_KEEP 800

/* A JSON number as value = 0.DIGITS x 10^n, DIGITS without leading or
 * trailing zeros (k of them; none for zero). */
typedef struct jsnum {
    int neg;
    int more; /* nonzero digits were dropped after the kept ones */
    size_t k;
    long long n;
    char d[NUM_KEEP + 1];
} jsnum;

/* Reads the valid JSON number `v`, without floating point and without the
 * locale. */
static void num_read(struere_json v, jsnum *x)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    long long intdigits = 0, lead = 0, ex = 0;
    int seen = 0, exneg = 0;
    x->neg = 0, x->more = 0, x->k = 0;
    if (p < end && *p == '-')
        x->neg = 1, p++;
    for (int frac = 0; p < end; p++) {
        if (*p == '.') {
            frac = 1;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        if (!frac)
            intdigits++;
        if (!seen && *p == '0') {
            lead++; /* a leading zero moves the point, nothing else */
            continue;
        }
        seen = 1;
        if (x->k < NUM_KEEP)
            x->d[x->k++] = *p;
        else if (*p != '0')
            x->more = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            exneg = *p++ == '-';
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (ex < 1000000000LL) /* far past any double's range */
                ex = ex * 10 + (*p - '0');
    }
    while (!x->more && x->k && x->d[x->k - 1] == '0')
        x->k--;
    x->n = intdigits - lead + (exneg ? -ex : ex);
}

/* The double nearest to `x` (C locale independent: no radix character). */
static double num_double(const jsnum *x)
{
    char buf[NUM_KEEP + 40];
    long long e = x->n - (long long)x->k - x->more;
    if (e > 100000000LL)
        e = 100000000LL;
    if (e < -100000000LL)
        e = -100000000LL;
    memcpy(buf, x->d, x->k);
    size_t m = x->k;
    if (x->more)
        buf[m++] = '1';
    snprintf(buf + m, sizeof(buf) - m, "e%lld", e);
    return strtod(buf, NULL);
}

/* Rewrites `x` (more than 15 digits, or far exponents) as the shortest
 * digits that give back its double, as JavaScript prints numbers. Returns
 * 0, or -1 when the double is infinite. */
static int num_shortest(jsnum *x)
{
    double d = num_double(x);
    if (isinf(d))
        return -1;
    if (d == 0) {
        x->k = 0;
        return 0;
    }
    for (int prec = 1; prec <= 17; prec++) {
        char s[64], cand[64], dig[20];
        size_t k = 0;
        snprintf(s, sizeof(s), "%.*e", prec - 1, d);
        const char *e = strchr(s, 'e');
        if (!e)
            return -1;
        for (const char *q = s; q < e; q++)
            if (*q >= '0' && *q <= '9' && k < sizeof(dig))
                dig[k++] = *q;
        long e10 = strtol(e + 1, NULL, 10);
        snprintf(cand, sizeof(cand), "%.*se%ld", (int)k, dig, e10 - prec + 1);
        if (strtod(cand, NULL) != d && prec < 17)
            continue;
        while (k > 1 && dig[k - 1] == '0')
            k--;
        memcpy(x->d, dig, k);
        x->k = k;
        x->more = 0;
        x->n = e10 + 1;
        return 0;
    }
    return -1;
}

/*
 * Writes the JSON number `v` as JavaScript's Number#toString does: the
 * shortest round-trip digits, exponent form below 1e-6 and from 1e21.
 * `json`: an infinite value (1e999) is written as JSON.stringify does
 * (null) rather than as String does (Infinity).
 */
static void put_number(rt_buf *b, struere_json v, int json)
{
    jsnum x;
    num_read(v, &x);
    /* Up to 15 digits a decimal and its double map one to one (DBL_DIG),
     * so the digits already are the shortest; the exponent must stay in
     * the normal range for that. */
    if ((x.k > 15 || x.more || x.n > 300 || x.n < -290) && x.k &&
        num_shortest(&x) < 0) {
        rt_buf_puts(b, json ? "null" : x.neg ? "-Infinity" : "Infinity");
        return;
    }
    if (!x.k) {
        ob_ch(b, '0'); /* -0 too */
        return;
    }
    long long k = (long long)x.k, n = x.n;
    if (x.neg)
        ob_ch(b, '-');
    if (k <= n && n <= 21) {
        rt_buf_put(b, x.d, x.k);
        for (long long i = k; i < n; i++)
            ob_ch(b, '0');
    } else if (0 < n && n <= 21) {
        rt_buf_put(b, x.d, (size_t)n);
        ob_ch(b, '.');
        rt_buf_put(b, x.d + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        rt_buf_put(b, "0.", 2);
        for (long long i = n; i < 0; i++)
            ob_ch(b, '0');
        rt_buf_put(b, x.d, x.k);
    } else {
        char e[24];
        ob_ch(b, x.d[0]);
        if (k > 1) {
            ob_ch(b, '.');
            rt_buf_put(b, x.d + 1, x.k - 1);
        }
        snprintf(e, sizeof(e), "e%c%lld", n - 1 < 0 ? '-' : '+',
                 n - 1 < 0 ? 1 - n : n - 1);
        rt_buf_puts(b, e);
    }
}

/* ---- walking JSON by its brackets and quotes only ---- */

/* The end of the string whose opening quote is at `p`, by its quotes
 * alone (a quote after an odd run of backslashes is escaped); NULL when
 * it runs past `end`. (memchr beats a byte loop even on short keys.) */
static const char *quick_string(const char *p, const char *end)
{
    const char *q = p + 1;
    for (;;) {
        q = memchr(q, '"', (size_t)(end - q));
        if (!q)
            return NULL;
        size_t bs = 0;
        while (q - bs > p + 1 && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return q + 1;
        q++;
    }
}

/*
 * The end of the value at `p`, found by matching brackets and quotes
 * only, without validating: for bodies of automations that do not match
 * an event (they need not be read closely), and for text validated
 * already. Bounds-checked; NULL when the value runs past `end`.
 */
static const char *quick_skip(const char *p, const char *end)
{
    size_t depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            if (!(p = quick_string(p, end)))
                return NULL;
            if (!depth)
                return p;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (!depth)
                return NULL;
            if (!--depth)
                return p + 1;
        } else if (!depth) { /* a number or a word: up to a delimiter */
            while (p < end && !strchr(",:]} \t\r\n", *p))
                p++;
            return p;
        }
        p++;
    }
    return NULL;
}

static const char *quick_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/*
 * rt_json_next and rt_json_member for JSON validated already (the event's
 * data once when read, a body once when it fires): values are skipped by
 * their brackets and quotes only, so a walk does not validate the same
 * bytes again at every step.
 */
static int vnext(rt_json_it *it, struere_json *key, struere_json *val)
{
    const char *p = quick_ws(it->p, it->end);
    if (p >= it->end || *p == (it->object ? '}' : ']')) {
        it->p = p;
        return 0;
    }
    if (!it->first)
        p = quick_ws(p + 1, it->end); /* the comma */
    it->first = 0;
    if (it->object) {
        const char *k = p;
        p = quick_string(p, it->end);
        if (!p)
            return 0;
        if (key) {
            key->ptr = k;
            key->len = (size_t)(p - k);
        }
        p = quick_ws(quick_ws(p, it->end) + 1, it->end); /* the colon */
    }
    const char *e = quick_skip(p, it->end);
    if (!e)
        return 0;
    val->ptr = p;
    val->len = (size_t)(e - p);
    it->p = e;
    return 1;
}

static int vmember(struere_json obj, const char *key, size_t klen,
                   struere_json *out)
{
    rt_json_it it;
    struere_json k, v;
    if (rt_json_iter(obj, STRUERE_JSON_OBJECT, &it) < 0)
        return 0;
    while (vnext(&it, &k, &v) == 1) {
        if (rt_json_str_eq(k, key, klen)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Writes the valid JSON value `v` compactly, strings and numbers as
 * JSON.stringify writes them. Depth is bounded by the reader's. */
static void put_value(rt_buf *b, struere_json v)
{
    rt_json_it it;
    struere_json key, val;
    int first = 1;
    switch (rt_json_kind(v)) {
    case STRUERE_JSON_STRING:
        put_string(b, v);
        return;
    case STRUERE_JSON_NUMBER:
        put_number(b, v, 1);
        return;
    case STRUERE_JSON_ARRAY:
    case STRUERE_JSON_OBJECT:
        rt_json_iter(v, rt_json_kind(v), &it);
        ob_ch(b, it.object ? '{' : '[');
        while (vnext(&it, &key, &val) == 1) {
            if (!first)
                ob_ch(b, ',');
            first = 0;
            if (it.object) {
                put_string(b, key);
                ob_ch(b, ':');
            }
            put_value(b, val);
        }
        ob_ch(b, it.object ? '}' : ']');
        return;
    default: /* null, true, false */
        rt_buf_put(b, v.ptr, v.len);
    }
}

/* ---- the event ---- */

typedef struct trig {
    const char *type, *action, *id; /* id NULL: no trigger.entityId */
    size_t type_len, action_len, id_len;
    int updated;
    struere_json data;
    int has_prev; /* trigger.previousData exists (updated events only) */
    struere_json prev;
} trig;

static const char *kind_word(int kind)
{
    static const char *const words[] = {"",        "null",   "boolean",
                                        "boolean", "number", "string",
                                        "array",   "object"};
    return kind > 0 && kind <= STRUERE_JSON_OBJECT ? words[kind] : "value";
}

/* Reads one of the event's data objects (`what` names it in errors). */
static int read_object(const char *p, size_t len, const char *what,
                       struere_json *out, struere_error *err)
{
    if (!p)
        return rt_fail(err, STRUERE_EINVAL, "the event's %s is NULL", what);
    if (rt_json_value(p, len, out) < 0)
        return rt_fail(err, STRUERE_EJSON,
                       "the event's %s is not valid JSON (%zu bytes)", what,
                       len);
    if (rt_json_kind(*out) != STRUERE_JSON_OBJECT)
        return rt_fail(err, STRUERE_EJSON,
                       "the event's %s is a JSON %s, not an object", what,
                       kind_word(rt_json_kind(*out)));
    return 0;
}

static int read_event(const struere_event *e, trig *t, struere_error *err)
{
    static const char *const actions[] = {"created", "updated", "deleted"};
    int known = 0;
    memset(t, 0, sizeof(*t));
    if (!e->type || !e->action)
        return rt_fail(err, STRUERE_EINVAL, "the event's %s is NULL",
                       e->type ? "action" : "type");
    for (size_t i = 0; i < 3; i++)
        known |= strcmp(e->action, actions[i]) == 0;
    if (!known)
        return rt_fail(err, STRUERE_EINVAL,
                       "unknown event action '%.40s': it must be created, "
                       "updated or deleted",
                       e->action);
    t->type = e->type;
    t->type_len = strlen(e->type);
    t->action = e->action;
    t->action_len = strlen(e->action);
    t->updated = strcmp(e->action, "updated") == 0;
    if (!rt_utf8_valid(t->type, t->type_len))
        return rt_fail(err, STRUERE_EINVAL,
                       "the event's type is not valid UTF-8");
    if (e->entity_id) {
        t->id = e->entity_id;
        t->id_len = strlen(e->entity_id);
        if (!rt_utf8_valid(t->id, t->id_len))
            return rt_fail(err, STRUERE_EINVAL,
                           "the event's entity id is not valid UTF-8");
    }
    int rc = read_object(e->data, e->data_len, "data", &t->data, err);
    if (rc < 0)
        return rc;
    /* previousData exists for updates only (reference §2.4); what a
     * caller passes with another action is not looked at. */
    if (t->updated && e->previous) {
        rc = read_object(e->previous, e->previous_len, "previous data",
                         &t->prev, err);
        if (rc < 0)
            return rc;
        t->has_prev = 1;
    }
    return 0;
}

/* ---- one call's state ---- */

typedef struct fire {
    const trig *t;
    rt_buf out;      /* the answer */
    rt_buf tmp;      /* a value stringified to be interpolated */
    rt_buf deferred; /* this automation's deferred paths: size_t + bytes */
    size_t ndeferred;
    size_t *slots; /* a hash set over `deferred`: offset + 1, 0 empty */
    size_t nslots; /* a power of two, or 0 */
    char *text;    /* a body string decoded, when it had escapes */
    size_t text_cap;
    int oom;          /* the scratch text could not grow: the call fails */
    const char *base; /* the bundle's bytes, for error offsets */
    const char *slug;
    struere_error *err;
} fire;

static int corrupt(fire *f, const char *at, const char *what)
{
    rt_fail(f->err, STRUERE_ECORRUPT, "automation '%.60s': %s", f->slug, what);
    if (f->err)
        f->err->offset = (uint64_t)(at - f->base);
    return STRUERE_ECORRUPT;
}

/* FNV-1a, for the deferred paths' hash set. */
static size_t hash_path(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return (size_t)h;
}

/* The deferred path stored at `off`, its length in `*n`. */
static const char *deferred_at(const fire *f, size_t off, size_t *n)
{
    memcpy(n, f->deferred.p + off, sizeof(*n));
    return f->deferred.p + off + sizeof(*n);
}

/* Doubles the hash set, placing every stored path again. */
static int slots_grow(fire *f)
{
    size_t cap = f->nslots ? f->nslots * 2 : 16, off = 0;
    size_t *slots =
        cap < SIZE_MAX / sizeof(size_t) ? calloc(cap, sizeof(size_t)) : NULL;
    if (!slots)
        return -1;
    for (size_t i = 0; i < f->ndeferred; i++) {
        size_t n, h;
        const char *p = deferred_at(f, off, &n);
        for (h = hash_path(p, n) & (cap - 1); slots[h]; h = (h + 1) & (cap - 1))
            ;
        slots[h] = off + 1;
        off += sizeof(n) + n;
    }
    free(f->slots);
    f->slots = slots;
    f->nslots = cap;
    return 0;
}

/* Adds `path` to the deferred list unless it is there already (a hash
 * set: a body may hold many {{steps.*}}). */
static void defer(fire *f, const char *path, size_t n)
{
    if (f->deferred.failed)
        return;
    if ((f->ndeferred + 1) * 2 > f->nslots && slots_grow(f) < 0) {
        f->oom = 1;
        return;
    }
    size_t mask = f->nslots - 1, h = hash_path(path, n) & mask, m;
    for (; f->slots[h]; h = (h + 1) & mask) {
        const char *p = deferred_at(f, f->slots[h] - 1, &m);
        if (m == n && memcmp(p, path, n) == 0)
            return;
    }
    size_t off = f->deferred.len;
    rt_buf_put(&f->deferred, (const char *)&n, sizeof(n));
    rt_buf_put(&f->deferred, path, n);
    if (f->deferred.failed)
        return;
    f->slots[h] = off + 1;
    f->ndeferred++;
}

static void put_deferred(fire *f)
{
    const char *p = f->deferred.p;
    rt_buf_puts(&f->out, "\"deferred\":[");
    for (size_t i = 0; i < f->ndeferred; i++) {
        size_t m;
        memcpy(&m, p, sizeof(m));
        if (i)
            ob_ch(&f->out, ',');
        rt_buf_json_str(&f->out, p + sizeof(m), m);
        p += sizeof(m) + m;
    }
    ob_ch(&f->out, ']');
}

/* ---- paths over the event ---- */

/* An all-digit segment without leading zeros, as JavaScript accepts for
 * an array index; its value in `*index`. */
static int array_index(const char *s, size_t n, size_t *index)
{
    size_t v = 0;
    if (!n || n > 15 || (s[0] == '0' && n > 1))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *index = v;
    return 1;
}

/* One step of a path: the member `seg` of an object or the element of an
 * array; 1 found, 0 absent (as JavaScript's obj[seg] on anything else). */
static int path_step(struere_json v, const char *seg, size_t n,
                     struere_json *out)
{
    rt_json_it it;
    size_t index, i = 0;
    switch (rt_json_kind(v)) {
    case STRUERE_JSON_OBJECT:
        return vmember(v, seg, n, out) == 1;
    case STRUERE_JSON_ARRAY:
        if (!array_index(seg, n, &index))
            return 0;
        rt_json_iter(v, STRUERE_JSON_ARRAY, &it);
        while (vnext(&it, NULL, out) == 1)
            if (i++ == index)
                return 1;
        return 0;
    default:
        return 0;
    }
}

/* The value at the dot path `path` (`n` bytes) in `v`: every segment,
 * empty ones too, as JavaScript's path.split("."); NULL `path` is `v`
 * itself. */
static int path_get(struere_json v, const char *path, size_t n,
                    struere_json *out)
{
    if (!path) {
        *out = v;
        return 1;
    }
    const char *p = path, *end = path + n;
    while (p) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *seg_end = dot ? dot : end;
        if (!path_step(v, p, (size_t)(seg_end - p), &v))
            return 0;
        p = dot ? dot + 1 : NULL;
    }
    *out = v;
    return 1;
}

/* Splits off the first segment of `path`: 1 when it is `word`, with the
 * rest (after the dot, or NULL when there is none) in `*rest`. */
static int first_seg(const char *path, size_t n, const char *word,
                     const char **rest, size_t *rest_n)
{
    size_t w = strlen(word);
    if (n < w || memcmp(path, word, w) != 0 || (n > w && path[w] != '.'))
        return 0;
    *rest = n > w ? path + w + 1 : NULL;
    *rest_n = n > w ? n - w - 1 : 0;
    return 1;
}

/* What a template path names. */
enum { V_MISSING, V_JSON, V_TEXT, V_TRIGGER, V_STEPS };

typedef struct tval {
    int kind;
    struere_json json; /* V_JSON */
    const char *s;     /* V_TEXT */
    size_t n;
} tval;

/* Looks up {{path}} in {trigger: {entityId, entityType, action, data,
 * previousData}}; steps.* are the executor's. */
static tval resolve(const trig *t, const char *path, size_t n)
{
    tval r = {V_MISSING, {NULL, 0}, NULL, 0};
    const char *rest;
    size_t rn;
    if (first_seg(path, n, "steps", &rest, &rn)) {
        r.kind = V_STEPS;
        return r;
    }
    if (!first_seg(path, n, "trigger", &rest, &rn))
        return r;
    if (!rest) {
        r.kind = V_TRIGGER;
        return r;
    }
    const char *sub;
    size_t sn;
    if (first_seg(rest, rn, "data", &sub, &sn)) {
        r.kind = path_get(t->data, sub, sn, &r.json) ? V_JSON : V_MISSING;
    } else if (first_seg(rest, rn, "previousData", &sub, &sn)) {
        if (t->has_prev && path_get(t->prev, sub, sn, &r.json))
            r.kind = V_JSON;
    } else if (rn == 8 && !memcmp(rest, "entityId", 8)) {
        if (t->id)
            r.kind = V_TEXT, r.s = t->id, r.n = t->id_len;
    } else if (rn == 10 && !memcmp(rest, "entityType", 10)) {
        r.kind = V_TEXT, r.s = t->type, r.n = t->type_len;
    } else if (rn == 6 && !memcmp(rest, "action", 6)) {
        r.kind = V_TEXT, r.s = t->action, r.n = t->action_len;
    }
    return r;
}

/* The trigger object as JSON.stringify writes it (undefined members
 * left out). */
static void put_trigger(rt_buf *b, const trig *t)
{
    ob_ch(b, '{');
    if (t->id) {
        rt_buf_puts(b, "\"entityId\":");
        rt_buf_json_str(b, t->id, t->id_len);
        ob_ch(b, ',');
    }
    rt_buf_puts(b, "\"entityType\":");
    rt_buf_json_str(b, t->type, t->type_len);
    rt_buf_puts(b, ",\"action\":");
    rt_buf_json_str(b, t->action, t->action_len);
    rt_buf_puts(b, ",\"data\":");
    put_value(b, t->data);
    if (t->has_prev) {
        rt_buf_puts(b, ",\"previousData\":");
        put_value(b, t->prev);
    }
    ob_ch(b, '}');
}

/* A string that is exactly one {{path}}: its raw value (null and
 * undefined become ""). */
static void put_raw(rt_buf *b, const trig *t, tval v)
{
    switch (v.kind) {
    case V_JSON:
        if (rt_json_kind(v.json) == STRUERE_JSON_NULL)
            rt_buf_puts(b, "\"\"");
        else
            put_value(b, v.json);
        return;
    case V_TEXT:
        rt_buf_json_str(b, v.s, v.n);
        return;
    case V_TRIGGER:
        put_trigger(b, t);
        return;
    default:
        rt_buf_puts(b, "\"\"");
    }
}

/* {{path}} inside a longer string: strings as they are, null and
 * undefined as nothing, objects and arrays as JSON, the rest as
 * JavaScript's String() writes them. */
static void put_interpolated(fire *f, tval v)
{
    rt_buf *b = &f->out;
    int kind = v.kind == V_JSON ? rt_json_kind(v.json) : 0;
    switch (v.kind) {
    case V_TEXT:
        rt_buf_json_escaped(b, v.s, v.n);
        return;
    case V_TRIGGER:
        f->tmp.len = 0;
        put_trigger(&f->tmp, f->t);
        if (!f->tmp.failed)
            rt_buf_json_escaped(b, f->tmp.p, f->tmp.len);
        return;
    case V_JSON:
        break;
    default:
        return;
    }
    switch (kind) {
    case STRUERE_JSON_STRING:
        rt_json_str_rewrite(b, v.json);
        return;
    case STRUERE_JSON_NUMBER:
        put_number(b, v.json, 0);
        return;
    case STRUERE_JSON_ARRAY:
    case STRUERE_JSON_OBJECT:
        f->tmp.len = 0;
        put_value(&f->tmp, v.json);
        if (!f->tmp.failed)
            rt_buf_json_escaped(b, f->tmp.p, f->tmp.len);
        return;
    case STRUERE_JSON_NULL:
        return;
    default: /* true, false */
        rt_buf_put(b, v.json.ptr, v.json.len);
    }
}

/* ---- templates ---- */

/* White space inside the braces is trimmed, and {{path}} found, by the
 * shared scanner (rt_tmpl_scan.h): the same definition of a template as
 * the prompt renderer and the compiler. */
static void trim(const char **p, size_t *n)
{
    rt_tmpl_trim(p, n);
}

/* The next {{path}}, as Struere's automation regex /\{\{([^}]+)\}\}/
 * finds it (rt_tmpl_next_flat). */
static int next_template(const char *s, size_t n, size_t from, size_t *start,
                         size_t *stop)
{
    return rt_tmpl_next_flat(s, n, from, start, stop);
}

/*
 * Writes the body string `s` with its templates resolved: a string that
 * is exactly one {{path}} becomes the value; otherwise each {{path}} is
 * interpolated. {{steps.*}} stay as written and are listed as deferred.
 */
static void put_template(fire *f, struere_json s)
{
    const char *c = s.ptr + 1;
    size_t n = s.len - 2, start, stop, at = 0;
    if (memchr(c, '\\', n)) { /* work on the text the escapes stand for */
        if (scratch_reserve(&f->text, &f->text_cap, rt_json_str_len(s) + 1) <
            0) {
            f->oom = 1;
            return;
        }
        n = rt_json_str_decode(s, f->text);
        c = f->text;
    }
    if (!next_template(c, n, 0, &start, &stop)) {
        put_string(&f->out, s);
        return;
    }
    if (start == 0 && stop == n) {
        const char *path = c + 2;
        size_t pn = n - 4;
        trim(&path, &pn);
        tval v = resolve(f->t, path, pn);
        if (v.kind == V_STEPS) {
            defer(f, path, pn);
            put_string(&f->out, s);
        } else {
            put_raw(&f->out, f->t, v);
        }
        return;
    }
    ob_ch(&f->out, '"');
    do {
        const char *path = c + start + 2;
        size_t pn = stop - start - 4;
        rt_buf_json_escaped(&f->out, c + at, start - at);
        trim(&path, &pn);
        tval v = resolve(f->t, path, pn);
        if (v.kind == V_STEPS) {
            defer(f, path, pn);
            rt_buf_json_escaped(&f->out, c + start, stop - start);
        } else {
            put_interpolated(f, v);
        }
        at = stop;
    } while (next_template(c, n, at, &start, &stop));
    rt_buf_json_escaped(&f->out, c + at, n - at);
    ob_ch(&f->out, '"');
}

/* Writes the body value `v` (validated) with the templates of its strings
 * resolved, at any depth; object keys are never templates. */
static void put_resolved(fire *f, struere_json v)
{
    rt_json_it it;
    struere_json key, val;
    int first = 1, kind = rt_json_kind(v);
    if (kind == STRUERE_JSON_STRING) {
        put_template(f, v);
        return;
    }
    if (kind != STRUERE_JSON_ARRAY && kind != STRUERE_JSON_OBJECT) {
        put_value(&f->out, v);
        return;
    }
    rt_json_iter(v, kind, &it);
    ob_ch(&f->out, it.object ? '{' : '[');
    while (vnext(&it, &key, &val) == 1) {
        if (!first)
            ob_ch(&f->out, ',');
        first = 0;
        if (it.object) {
            put_string(&f->out, key);
            ob_ch(&f->out, ':');
        }
        put_resolved(f, val);
    }
    ob_ch(&f->out, it.object ? '}' : ']');
}

/* ---- matching: the fast path over bodies not yet validated ---- */

/* The top-level member `key` of the body object `obj` (keys compared as
 * written: the compiler writes these without escapes): 1 found, 0 absent,
 * -1 when the body does not hold together. */
static int quick_member(struere_json obj, const char *key, struere_json *out)
{
    const char *p = obj.ptr, *end = obj.ptr + obj.len, *k, *v;
    size_t klen = strlen(key);
    if (p >= end || *p != '{')
        return -1;
    p = quick_ws(p + 1, end);
    if (p < end && *p == '}')
        return 0;
    for (;;) {
        if (p >= end || *p != '"' || !(v = quick_string(p, end)))
            return -1;
        k = p;
        p = quick_ws(v, end);
        if (p >= end || *p != ':')
            return -1;
        p = quick_ws(p + 1, end);
        if (!(v = quick_skip(p, end)))
            return -1;
        if ((size_t)(end - k) > klen + 1 && k[klen + 1] == '"' &&
            !memcmp(k + 1, key, klen)) {
            out->ptr = p;
            out->len = (size_t)(v - p);
            return 1;
        }
        p = quick_ws(v, end);
        if (p < end && *p == '}')
            return 0;
        if (p >= end || *p != ',')
            return -1;
        p = quick_ws(p + 1, end);
    }
}

/* 1 when the members after a value ending at `p` run to the end of the
 * object that holds it, and that object ends the body: then the value is
 * a member of the body's top-level object (in valid JSON). */
static int ends_body(const char *p, const char *end)
{
    for (;;) {
        p = quick_ws(p, end);
        if (p < end && *p == '}')
            return quick_ws(p + 1, end) == end;
        if (p >= end || *p != ',')
            return 0;
        p = quick_ws(p + 1, end);
        if (p >= end || *p != '"' || !(p = quick_string(p, end)))
            return 0;
        p = quick_ws(p, end);
        if (p >= end || *p != ':')
            return 0;
        if (!(p = quick_skip(quick_ws(p + 1, end), end)))
            return 0;
    }
}

/*
 * The top-level `on` of a body, found from its end, not validated: the
 * compiler sorts keys, so `on` comes after the long `actions`,
 * `description` and `name`, and only `retry`, `schedule` and `slug`
 * follow it. A "on":{ elsewhere (a key inside args) is told apart by what
 * follows it (ends_body); in valid JSON the bytes "on":{ cannot be inside
 * a string. 1 found, 0 when this way finds nothing.
 */
static int tail_on(struere_json body, struere_json *on)
{
    const char *end = body.ptr + body.len, *p = end;
    /* In the compiler's bodies the first candidate is the one; a few
     * more are tried, not all (each costs a walk to the end). */
    int tries = 4;
    while (p > body.ptr + 5 && tries > 0) {
        const char *brace =
            memrchr(body.ptr + 5, '{', (size_t)(p - body.ptr - 5));
        if (!brace)
            return 0;
        p = brace;
        if (memcmp(brace - 5, "\"on\":", 5) != 0)
            continue;
        tries--;
        const char *v = quick_skip(brace, end);
        if (v && ends_body(v, end)) {
            on->ptr = brace;
            on->len = (size_t)(v - brace);
            return 1;
        }
    }
    return 0;
}

/* Whether the string member `key` of the (not yet validated) `on` equals
 * the `n` bytes at `want`: 1 yes, 0 no, or ECORRUPT. Compares the bytes
 * as written when they hold no escape; otherwise validates and decodes. */
static int on_is(fire *f, struere_json on, const char *key, const char *want,
                 size_t n)
{
    struere_json w, v;
    if (quick_member(on, key, &w) == 1 && w.len >= 2 && w.ptr[0] == '"' &&
        w.ptr[w.len - 1] == '"' && !memchr(w.ptr + 1, '\\', w.len - 2))
        return w.len - 2 == n && !memcmp(w.ptr + 1, want, n);
    if (rt_json_value(on.ptr, on.len, &v) < 0 ||
        rt_json_kind(v) != STRUERE_JSON_OBJECT)
        return corrupt(f, on.ptr, "'on' is not a valid JSON object");
    if (vmember(v, key, strlen(key), &w) != 1 ||
        rt_json_kind(w) != STRUERE_JSON_STRING) {
        char what[64];
        snprintf(what, sizeof(what), "'on.%s' is not a string", key);
        return corrupt(f, on.ptr, what);
    }
    return rt_json_str_eq(w, want, n);
}

/* A condition's path, evaluated over {data, previousData}. */
static int condition_value(const trig *t, const char *path, size_t n,
                           struere_json *out)
{
    const char *rest;
    size_t rn;
    if (first_seg(path, n, "data", &rest, &rn))
        return path_get(t->data, rest, rn, out);
    if (first_seg(path, n, "previousData", &rest, &rn) && t->has_prev)
        return path_get(t->prev, rest, rn, out);
    return 0;
}

/* 1 when every key of the condition holds (strictly equal, as ===), 0
 * when one does not. */
static int condition_holds(fire *f, struere_json cond)
{
    rt_json_it it;
    struere_json key, want, have;
    rt_json_iter(cond, STRUERE_JSON_OBJECT, &it);
    while (vnext(&it, &key, &want) == 1) {
        const char *path = key.ptr + 1;
        size_t n = key.len - 2;
        if (memchr(path, '\\', n)) {
            if (scratch_reserve(&f->text, &f->text_cap,
                                rt_json_str_len(key) + 1) < 0) {
                f->oom = 1; /* the call fails at its end */
                return 0;
            }
            n = rt_json_str_decode(key, f->text);
            path = f->text;
        }
        if (!condition_value(f->t, path, n, &have) ||
            !rt_json_scalar_eq(have, want))
            return 0;
    }
    return 1;
}

/* 1 when the automation `body` fires on the event, 0 when it does not.
 * Most automations do not match an event: `on.action` and
 * `on.entityType` are compared first, reading as little as can be. */
static int fires(fire *f, struere_json body)
{
    struere_json on, cond;
    int rc = tail_on(body, &on);
    if (!rc) /* not laid out as the compiler writes: read from the start */
        rc = quick_member(body, "on", &on);
    if (rc < 0)
        return corrupt(f, body.ptr, "the body is not valid JSON");
    if (rc == 0)
        return corrupt(f, body.ptr, "the body has no 'on'");
    if ((rc = on_is(f, on, "action", f->t->action, f->t->action_len)) <= 0 ||
        (rc = on_is(f, on, "entityType", f->t->type, f->t->type_len)) <= 0)
        return rc;
    /* It matches: from here on, everything read is validated. */
    if (rt_json_value(on.ptr, on.len, &on) < 0 ||
        rt_json_kind(on) != STRUERE_JSON_OBJECT)
        return corrupt(f, on.ptr, "'on' is not a valid JSON object");
    if (vmember(on, "condition", 9, &cond) != 1)
        return 1;
    if (rt_json_kind(cond) != STRUERE_JSON_OBJECT)
        return corrupt(f, cond.ptr, "'on.condition' is not an object");
    return condition_holds(f, cond);
}

/* ---- the answer for one automation ---- */

/* Writes one action {"tool","args","as"?}. */
static int put_action(fire *f, struere_json act)
{
    struere_json tool, args, as;
    if (rt_json_kind(act) != STRUERE_JSON_OBJECT ||
        vmember(act, "tool", 4, &tool) != 1 ||
        rt_json_kind(tool) != STRUERE_JSON_STRING)
        return corrupt(f, act.ptr, "an action has no 'tool' string");
    rt_buf_puts(&f->out, "{\"tool\":");
    put_string(&f->out, tool);
    rt_buf_puts(&f->out, ",\"args\":");
    if (vmember(act, "args", 4, &args) != 1) {
        rt_buf_puts(&f->out, "{}"); /* the schema's default */
    } else if (rt_json_kind(args) != STRUERE_JSON_OBJECT) {
        return corrupt(f, args.ptr, "an action's 'args' is not an object");
    } else {
        put_resolved(f, args);
    }
    if (vmember(act, "as", 2, &as) == 1) {
        if (rt_json_kind(as) != STRUERE_JSON_STRING)
            return corrupt(f, as.ptr, "an action's 'as' is not a string");
        rt_buf_puts(&f->out, ",\"as\":");
        put_string(&f->out, as);
    }
    ob_ch(&f->out, '}');
    return 0;
}

static int put_actions(fire *f, struere_json body)
{
    struere_json acts, act;
    rt_json_it it;
    int first = 1, rc;
    if (vmember(body, "actions", 7, &acts) != 1 ||
        rt_json_kind(acts) != STRUERE_JSON_ARRAY)
        return corrupt(f, body.ptr, "'actions' is not an array");
    rt_buf_puts(&f->out, ",\"actions\":[");
    rt_json_iter(acts, STRUERE_JSON_ARRAY, &it);
    while (vnext(&it, NULL, &act) == 1) {
        if (!first)
            ob_ch(&f->out, ',');
        first = 0;
        if ((rc = put_action(f, act)) < 0)
            return rc;
    }
    ob_ch(&f->out, ']');
    return 0;
}

/* "schedule" as written, with `at` resolved when it is a template. */
static int put_schedule(fire *f, struere_json body)
{
    struere_json sched, key, val;
    rt_json_it it;
    int first = 1;
    if (vmember(body, "schedule", 8, &sched) != 1)
        return 0;
    if (rt_json_kind(sched) != STRUERE_JSON_OBJECT)
        return corrupt(f, sched.ptr, "'schedule' is not an object");
    rt_buf_puts(&f->out, ",\"schedule\":{");
    rt_json_iter(sched, STRUERE_JSON_OBJECT, &it);
    while (vnext(&it, &key, &val) == 1) {
        if (!first)
            ob_ch(&f->out, ',');
        first = 0;
        put_string(&f->out, key);
        ob_ch(&f->out, ':');
        if (rt_json_str_eq(key, "at", 2))
            put_resolved(f, val);
        else
            put_value(&f->out, val);
    }
    ob_ch(&f->out, '}');
    return 0;
}

/* "retry" with its defaults filled in. */
static int put_retry(fire *f, struere_json body)
{
    struere_json retry, v;
    int has = vmember(body, "retry", 5, &retry) == 1;
    if (has && rt_json_kind(retry) != STRUERE_JSON_OBJECT)
        return corrupt(f, retry.ptr, "'retry' is not an object");
    static const char *const keys[] = {"maxAttempts", "backoffMs"};
    static const char *const defaults[] = {DEFAULT_MAX_ATTEMPTS,
                                           DEFAULT_BACKOFF_MS};
    for (int i = 0; i < 2; i++) {
        rt_buf_puts(&f->out, i ? ",\"" : ",\"retry\":{\"");
        rt_buf_puts(&f->out, keys[i]);
        rt_buf_puts(&f->out, "\":");
        if (!has || vmember(retry, keys[i], strlen(keys[i]), &v) != 1)
            rt_buf_puts(&f->out, defaults[i]);
        else if (rt_json_kind(v) != STRUERE_JSON_NUMBER)
            return corrupt(f, v.ptr, "a 'retry' value is not a number");
        else
            put_value(&f->out, v);
    }
    ob_ch(&f->out, '}');
    return 0;
}

/* Writes the fired automation `slug` ({"automation",...}). */
static int put_automation(fire *f, const char *slug, struere_json body)
{
    struere_json name;
    int rc;
    if (rt_json_value(body.ptr, body.len, &body) < 0 ||
        rt_json_kind(body) != STRUERE_JSON_OBJECT)
        return corrupt(f, body.ptr, "the body is not a valid JSON object");
    if (vmember(body, "name", 4, &name) != 1 ||
        rt_json_kind(name) != STRUERE_JSON_STRING)
        return corrupt(f, body.ptr, "'name' is not a string");
    f->deferred.len = 0;
    f->ndeferred = 0;
    if (f->slots)
        memset(f->slots, 0, f->nslots * sizeof(size_t));
    rt_buf_puts(&f->out, "{\"automation\":");
    rt_buf_json_str(&f->out, slug, strlen(slug));
    rt_buf_puts(&f->out, ",\"name\":");
    put_string(&f->out, name);
    if ((rc = put_actions(f, body)) < 0 || (rc = put_schedule(f, body)) < 0 ||
        (rc = put_retry(f, body)) < 0)
        return rc;
    ob_ch(&f->out, ',');
    put_deferred(f);
    ob_ch(&f->out, '}');
    return 0;
}

static int key_cmp(const void *x, const void *y)
{
    const rt_auto_key *a = x, *b = y;
    int c = rt_str_cmp(a->type, b->type);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Indexes the automations by the entity type they watch, so that an
 * event looks only at its type's (the walk over the whole table cost
 * ~90 ns an automation). A body whose on.entityType is not a plain
 * string found fast is put with those always looked at, where fires()
 * reads it fully (and reports it when it is corrupt). */
static int build_index(rt_model *m, const struere_bundle *b)
{
    size_t n = struere_bundle_count(b, STRUERE_KIND_AUTOMATION);
    rt_auto_key *keys = malloc((n ? n : 1) * sizeof(*keys));
    uint32_t *always = malloc((n ? n : 1) * sizeof(*always));
    size_t nk = 0, na = 0;
    if (!keys || !always) {
        free(keys);
        free(always);
        return STRUERE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text;
        size_t len;
        struere_json body, on, w;
        rt_bundle_body(b, STRUERE_KIND_AUTOMATION, i, NULL, &text, &len);
        body = (struere_json){text, len};
        if (tail_on(body, &on) == 1 &&
            quick_member(on, "entityType", &w) == 1 && w.len >= 2 &&
            w.ptr[0] == '"' && w.ptr[w.len - 1] == '"' &&
            !memchr(w.ptr + 1, '\\', w.len - 2)) {
            keys[nk].type = (rt_str){w.ptr + 1, (uint32_t)(w.len - 2)};
            keys[nk++].index = (uint32_t)i;
        } else {
            always[na++] = (uint32_t)i;
        }
    }
    qsort(keys, nk, sizeof(*keys), key_cmp);
    m->autos = keys;
    m->nautos = nk;
    m->autos_always = always;
    m->nalways = na;
    return 0;
}

/* The model's index, built once (thread-safe). */
static int index_of(const struere_runtime *rt, struere_error *err)
{
    rt_model *m = rt->model;
    if (__atomic_load_n(&m->autos_ready, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&m->lock);
    int rc = 0;
    if (!m->autos_ready && (rc = build_index(m, rt->bundle)) == 0)
        __atomic_store_n(&m->autos_ready, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        return rt_fail(err, rc, "out of memory indexing the automations");
    return 0;
}

/* The table indexes of the automations an event of `type` may fire, in
 * table (slug) order, into *out (malloc'd). */
static int candidates(const rt_model *m, const char *type, size_t n,
                      uint32_t **out, size_t *count)
{
    size_t lo = 0, hi = m->nautos;
    rt_auto_key want = {{type, (uint32_t)n}, 0};
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(&m->autos[mid], &want) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < m->nautos && m->autos[end].type.n == n &&
           !memcmp(m->autos[end].type.p, type, n))
        end++;
    size_t total = end - lo + m->nalways;
    uint32_t *c = malloc((total ? total : 1) * sizeof(*c));
    if (!c)
        return STRUERE_ENOMEM;
    for (size_t i = lo; i < end; i++)
        c[i - lo] = m->autos[i].index;
    memcpy(c + (end - lo), m->autos_always, m->nalways * sizeof(*c));
    if (m->nalways)
        qsort(c, total, sizeof(*c), u32_cmp);
    *out = c;
    *count = total;
    return 0;
}

static int fire_all(fire *f, const struere_runtime *rt)
{
    const struere_bundle *b = rt->bundle;
    uint32_t *cand;
    size_t n;
    int any = 0;
    if (index_of(rt, f->err) < 0)
        return STRUERE_ENOMEM;
    if (candidates(rt->model, f->t->type, f->t->type_len, &cand, &n) < 0)
        return rt_fail(f->err, STRUERE_ENOMEM, "out of memory");
    ob_ch(&f->out, '[');
    for (size_t c = 0; c < n; c++) {
        size_t i = cand[c];
        const char *slug, *text;
        size_t len;
        int rc = struere_bundle_entry(&slug, &text, &len, b,
                                      STRUERE_KIND_AUTOMATION, i, NULL);
        if (rc < 0) {
            free(cand);
            return rt_fail(f->err, rc, "automation %zu cannot be read", i);
        }
        struere_json body = {text, len};
        f->slug = slug;
        if ((rc = fires(f, body)) > 0) {
            if (any)
                ob_ch(&f->out, ',');
            any = 1;
            rc = put_automation(f, slug, body);
        }
        if (rc < 0) {
            free(cand);
            return rc;
        }
    }
    free(cand);
    ob_ch(&f->out, ']');
    return 0;
}

int struere_automations_fire(char **out, size_t *len, const struere_runtime *rt,
                             const struere_event *event, struere_error *err)
{
    trig t;
    fire f;
    int rc;
    rt_clear(err);
    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!rt || !event || !out)
        return rt_fail(err, STRUERE_EINVAL,
                       "struere_automations_fire needs a runtime, an event "
                       "and an output pointer");
    if (rt->env == STRUERE_ENV_EVAL)
        return rt_fail(err, STRUERE_EENV,
                       "the eval environment has no automations");
    if ((rc = read_event(event, &t, err)) < 0)
        return rc;
    memset(&f, 0, sizeof(f));
    rt_buf_grow_init(&f.out);
    rt_buf_grow_init(&f.tmp);
    rt_buf_grow_init(&f.deferred);
    f.t = &t;
    f.err = err;
    f.base = struere_bundle_bytes(rt->bundle, NULL);
    rc = fire_all(&f, rt);
    if (rc == 0 && (f.oom || f.tmp.failed || f.deferred.failed))
        f.out.failed = 1;
    free(f.text);
    free(f.tmp.p);
    free(f.deferred.p);
    free(f.slots);
    if (rc < 0) {
        free(f.out.p);
        return rc;
    }
    if (rt_buf_finish(&f.out) < 0) /* frees the text */
        return rt_fail(err, STRUERE_ENOMEM,
                       "out of memory writing the automations that fire");
    *out = f.out.p;
    if (len)
        *len = f.out.len;
    return 0;
}
