/*
 * template.c - system prompts (struere_prompt_render): Struere's template
 * language (reference §2.8) over an agent's prompt. A scanner finds each
 * top-level {{ }} with nesting counted; a variable is looked up in a
 * context built from the bundle and the caller; a call of one of the
 * agent's tools is answered from eval fixtures (entity.query, entity.get)
 * or by the caller's callback.
 *
 * Decisions where Struere's code leaves room:
 *  - One pass, left to right. Struere replaces variables first and then
 *    scans the result again for calls; here a substituted value is opaque
 *    text, never scanned again, so a user's message or a data type's
 *    description containing "{{" can neither inject a tool call nor hide
 *    a later one. Without braces in values the output is the same.
 *  - Call arguments must parse as a JSON object (what the compiler
 *    requires); JSON.parse is the runtime's validator (rt_json.h): strict
 *    RFC 8259, valid UTF-8, paired surrogate escapes, at most 128 levels.
 *    Anything else gives "invalid JSON arguments". Of duplicate keys the
 *    last counts, as in JSON.parse.
 *  - A value that is not a string is inserted as its JSON text as it is in
 *    the bundle (canonical JSON) or as this file builds it (compact, keys
 *    in the order JSON.stringify would give them). Paths walk object
 *    members and array indexes only (no JavaScript "length").
 *  - threadContext.params holds the parameters the agent declares, as
 *    Struere keeps only those; a number or boolean parameter written as
 *    one is that JSON value, anything else a string.
 *  - entity.query takes type, filters and limit (a positive integer; none
 *    means all); entity.get takes id. A denial renders [] (Struere's
 *    permission error); an unknown type or record is a TEMPLATE_ERROR.
 *  - A callback's result text is inserted as it is (it is the tool's
 *    stringified result); NULL renders as null. A custom tool without a
 *    handler in the bundle has "no handler", as in Struere.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt.h"
#include "rt_template.h"
#include "rt_tmpl_scan.h"

/* `n` bytes at `p`, not NUL-terminated. */
typedef struct span {
    const char *p;
    size_t n;
} span;

/* One top-level {{ }} expression. */
typedef struct expr {
    size_t open;  /* offset of its "{{" */
    size_t end;   /* offset just past its closing "}}" */
    span content; /* between the braces, trimmed as JavaScript's trim() */
} expr;

/* The context's top-level names. */
enum {
    ROOT_CURRENT_TIME,
    ROOT_DATETIME,
    ROOT_TIMESTAMP,
    ROOT_ORG_NAME,
    ROOT_ORG_ID,
    ROOT_AGENT_NAME,
    ROOT_AGENT,
    ROOT_USER_ID,
    ROOT_THREAD_ID,
    ROOT_MESSAGE,
    ROOT_THREAD_CONTEXT,
    ROOT_ENTITY_TYPES,
    ROOT_ROLES,
    ROOT_COUNT
};

static const char *const root_names[ROOT_COUNT] = {
    "currentTime",    "datetime",  "timestamp",     "organizationName",
    "organizationId", "agentName", "agent",         "userId",
    "threadId",       "message",   "threadContext", "entityTypes",
    "roles",
};

/* A context value: JSON text, or (json == 0) the bytes of a string.
 * `s.p` NULL: the value is absent (undefined in Struere). */
typedef struct value {
    int json;
    span s;
} value;

/* One of the agent's tools. */
typedef struct tool_ref {
    struere_json name;
    int builtin;
} tool_ref;

/* One rendering's state. */
typedef struct render {
    const struere_runtime *rt;
    const struere_bundle *b;
    struere_prompt_context ctx; /* the caller's, or all zero */
    const char *slug;           /* the agent's */
    /* Members of its body (ptr NULL: absent), read in one pass. */
    struere_json name, prompt;
    struere_json tools;  /* an array; len 0: none */
    struere_json params; /* threadContextParams, an array; len 0: none */
    tool_ref *tool_list; /* the tools' names, read on the first call */
    size_t ntools;
    int tools_read;
    struere_bundle_info info;
    char now[40];   /* currentTime, as Date.prototype.toISOString */
    char stamp[24]; /* timestamp, in milliseconds */
    rt_buf out;     /* the rendering */
    rt_buf args;    /* one call's arguments, nested variables resolved */
    rt_buf built[ROOT_COUNT]; /* object values, built on first use */
    unsigned char have[ROOT_COUNT];
    struere_actor *actor; /* the agent's, made by the first entity.* call */
    struere_error *err;
    int rc; /* the first failure, which ends the rendering */
} render;

static const char truncated_suffix[] = "...[truncated]";

/* ---- text: JavaScript white space, UTF-8, UTF-16 lengths ---- */

/* Trimmed as JavaScript's trim(), by the shared scanner's definition of
 * white space (rt_tmpl_scan.h). */
static span js_trim(span s)
{
    rt_tmpl_trim(&s.p, &s.n);
    return s;
}

/* Length of the valid UTF-8 sequence at `p`, or 1 for a byte that does
 * not start one (counted as one unit, as a replacement character). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t k = rt_utf8_seq(p, p + n);
    return k ? k : 1;
}

/*
 * How many bytes of the `n` at `s` to keep so that the text has at most
 * `limit` UTF-16 code units (JavaScript's length): `n` when it already
 * fits. A character outside the BMP that would be split is left out
 * whole (JavaScript would keep a lone high surrogate, which UTF-8 cannot
 * hold).
 */
static size_t utf16_prefix(const char *s, size_t n, size_t limit)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, units = 0;
    if (n <= limit)
        return n; /* each byte is at most one unit */
    while (i < n) {
        size_t len = utf8_len(p + i, n - i);
        size_t u = len == 4 ? 2 : 1;
        if (units + u > limit)
            return i;
        units += u;
        i += len;
    }
    return n;
}

/* ---- the scanner ---- */

/*
 * Finds the next top-level expression at or after `*pos` in the `n` bytes
 * at `s` with the shared scanner (rt_tmpl_next, as Struere's parser does).
 * Returns 1 with `*e` filled and `*pos` past it; 0 when there is none (an
 * expression never closed ends the search: the rest is text);
 * STRUERE_ERANGE when one nests deeper than RT_TEMPLATE_MAX_DEPTH (its
 * offset in e->open).
 */
static int scan_next(const char *s, size_t n, size_t *pos, expr *e)
{
    rt_tmpl_expr x;
    int rc = rt_tmpl_next(s, n, pos, RT_TEMPLATE_MAX_DEPTH, &x);
    e->open = x.open;
    if (rc == RT_TMPL_TOO_DEEP)
        return STRUERE_ERANGE;
    if (rc != RT_TMPL_FOUND)
        return 0;
    e->end = x.end;
    e->content = (span){x.text, x.len};
    return 1;
}

/* Whether `c` reads NAME(ARGS) (rt_tmpl_call_name: Struere's
 * /^([a-zA-Z_][\w.]*)\(([\s\S]*)\)$/, with '-' in NAME so that every
 * valid tool name can be called); then the two parts are in `*name` and
 * `*args`. */
static int split_call(span c, span *name, span *args)
{
    size_t i = rt_tmpl_call_name(c.p, c.n);
    if (!i)
        return 0;
    *name = (span){c.p, i};
    *args = (span){c.p + i + 1, c.n - i - 2};
    return 1;
}

/* ---- output ---- */

/* Appends to one of the rendering's buffers, within the output limit.
 * Returns 0, or the failure that ends the rendering. */
static int put(render *r, rt_buf *b, const char *s, size_t n)
{
    if (r->rc)
        return r->rc;
    if (n > RT_TEMPLATE_OUTPUT_MAX - b->len) {
        r->rc = rt_fail(r->err, STRUERE_ERANGE,
                        "the system prompt of agent '%s' renders to more "
                        "than %zu bytes",
                        r->slug, RT_TEMPLATE_OUTPUT_MAX);
        return r->rc;
    }
    rt_buf_put(b, s, n);
    if (b->failed)
        r->rc = rt_fail(r->err, STRUERE_ENOMEM,
                        "out of memory rendering the prompt of agent '%s'",
                        r->slug);
    return r->rc;
}

static int puts_(render *r, rt_buf *b, const char *s)
{
    return put(r, b, s, strlen(s));
}

/* A JSON string's decoded bytes. */
static int put_decoded(render *r, rt_buf *b, struere_json s)
{
    if (!memchr(s.ptr, '\\', s.len))
        return put(r, b, s.ptr + 1, s.len - 2);
    char *tmp = malloc(rt_json_str_len(s) + 1);
    if (!tmp)
        return r->rc = rt_fail(r->err, STRUERE_ENOMEM, "out of memory");
    size_t n = rt_json_str_decode(s, tmp);
    put(r, b, tmp, n);
    free(tmp);
    return r->rc;
}

/* `s` as a JSON string, escaped as JSON.stringify escapes (control
 * characters, '"' and '\\'), its length checked before it is written. */
static int put_json_str(render *r, rt_buf *b, const char *s, size_t n)
{
    size_t need = rt_json_escaped_len(s, n) + 2;
    if (r->rc || need > RT_TEMPLATE_OUTPUT_MAX - b->len)
        return put(r, b, s, need); /* reports the limit */
    rt_buf_json_str(b, s, n);
    return put(r, b, "", 0);
}

static int put_error(render *r, span name, const char *what)
{
    puts_(r, &r->out, "[TEMPLATE_ERROR: ");
    put(r, &r->out, name.p, name.n);
    puts_(r, &r->out, " - ");
    puts_(r, &r->out, what);
    return puts_(r, &r->out, "]");
}

/* A tool's result, cut at RT_TEMPLATE_RESULT_UNITS. */
static int put_result(render *r, const char *s, size_t n)
{
    size_t keep = utf16_prefix(s, n, RT_TEMPLATE_RESULT_UNITS);
    put(r, &r->out, s, keep);
    if (keep < n)
        puts_(r, &r->out, truncated_suffix);
    return r->rc;
}

/* ---- JSON helpers over validated text ---- */

/* The last member `key` of `obj` (JSON.parse keeps the last of duplicate
 * keys): 1 found, 0 absent. `obj` was validated. */
static int last_member(struere_json obj, const char *key, struere_json *out)
{
    rt_json_it it;
    struere_json k, v;
    int found = 0;
    if (rt_json_iter(obj, STRUERE_JSON_OBJECT, &it) < 0)
        return 0;
    while (rt_json_next(&it, &k, &v) == 1)
        if (rt_json_str_eq(k, key, strlen(key))) {
            *out = v;
            found = 1;
        }
    return found;
}

static int is_string(struere_json v)
{
    return v.len && rt_json_kind(v) == STRUERE_JSON_STRING;
}

/* A JSON string decoded into a malloc'd C string; NULL when out of memory
 * or when it holds a NUL (no C name can match it). `*nul` says which. */
static char *json_cstr(struere_json s, int *nul)
{
    size_t n = rt_json_str_len(s);
    char *c = malloc(n + 1);
    *nul = 0;
    if (!c)
        return NULL;
    if (rt_json_str_decode(s, c) != strlen(c)) {
        *nul = 1;
        free(c);
        return NULL;
    }
    return c;
}

/* Appends `,"key":value` (the raw JSON of `v`), or nothing when `v` is
 * absent (ptr NULL). `*first` handles the commas. */
static int put_member(render *r, rt_buf *b, const char *key, struere_json v,
                      int *first)
{
    if (!v.ptr)
        return r->rc;
    puts_(r, b, *first ? "\"" : ",\"");
    puts_(r, b, key);
    puts_(r, b, "\":");
    *first = 0;
    return put(r, b, v.ptr, v.len);
}

/* ---- the context ---- */

/*
 * The members `keys` of a bundle body, in one pass over it that also
 * checks that it is one valid JSON object (bodies are untrusted like the
 * rest of a bundle): out[i] is the value of keys[i] (ptr NULL when
 * absent). 0, or STRUERE_ECORRUPT naming the definition.
 */
static int body_members(render *r, int kind, const char *slug, const char *body,
                        size_t len, const char *const *keys, struere_json *out,
                        size_t nkeys)
{
    const char *p = body, *end = body + len;
    rt_json_it it;
    struere_json k, v;
    int rc;
    for (size_t i = 0; i < nkeys; i++)
        out[i] = (struere_json){NULL, 0};
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (rt_json_iter((struere_json){p, (size_t)(end - p)}, STRUERE_JSON_OBJECT,
                     &it) < 0)
        goto corrupt;
    while ((rc = rt_json_next(&it, &k, &v)) == 1)
        for (size_t i = 0; i < nkeys; i++)
            if (rt_json_str_eq(k, keys[i], strlen(keys[i])))
                out[i] = v;
    if (rc < 0)
        goto corrupt;
    for (p = it.p + 1; p < end; p++) /* after the closing brace */
        if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            goto corrupt;
    return 0;
corrupt:
    return r->rc = rt_fail(r->err, STRUERE_ECORRUPT,
                           "the body of %s '%s' is not a JSON object",
                           struere_kind_name(kind), slug);
}

/* agent: {"name", "slug"}. */
static int build_agent(render *r, rt_buf *b)
{
    int first = 1;
    puts_(r, b, "{");
    put_member(r, b, "name", r->name, &first);
    puts_(r, b, first ? "\"slug\":" : ",\"slug\":");
    put_json_str(r, b, r->slug, strlen(r->slug));
    return puts_(r, b, "}");
}

/* The value a declared thread context parameter has in JSON: a number or
 * boolean when declared so and written so, else the caller's string. */
static int put_param(render *r, rt_buf *b, struere_json decl, const char *v)
{
    struere_json type, num;
    size_t n = strlen(v);
    if (rt_json_member(decl, "type", 4, &type) == 1) {
        if (rt_json_str_eq(type, "number", 6) &&
            rt_json_value(v, n, &num) == 0 && num.len == n &&
            rt_json_kind(num) == STRUERE_JSON_NUMBER)
            return put(r, b, v, n);
        if (rt_json_str_eq(type, "boolean", 7) &&
            (!strcmp(v, "true") || !strcmp(v, "false")))
            return put(r, b, v, n);
    }
    return put_json_str(r, b, v, n);
}

/* The caller's value for the declared parameter `name`: the first given
 * with that name, or NULL. */
static const char *param_value(const render *r, struere_json name)
{
    for (size_t i = 0; i < r->ctx.param_count; i++) {
        const char *pn = r->ctx.param_names[i];
        if (pn && r->ctx.param_values[i] &&
            rt_json_str_eq(name, pn, strlen(pn)))
            return r->ctx.param_values[i];
    }
    return NULL;
}

/* Whether an earlier declaration than `upto` has the name `name`. */
static int declared_before(struere_json params, struere_json upto,
                           struere_json name)
{
    rt_json_it it;
    struere_json d, n;
    rt_json_iter(params, STRUERE_JSON_ARRAY, &it);
    while (rt_json_next(&it, NULL, &d) == 1 && d.ptr < upto.ptr)
        if (rt_json_member(d, "name", 4, &n) == 1 && rt_json_scalar_eq(n, name))
            return 1;
    return 0;
}

/*
 * threadContext: {"channel", "params"}. As Struere keeps only the
 * parameters an agent declares (threadContextParams) when they arrive,
 * params holds the declared ones the caller gave, in declaration order.
 */
static int build_thread_context(render *r, rt_buf *b)
{
    rt_json_it it;
    struere_json d, name;
    int first = 1;
    puts_(r, b, "{");
    if (r->ctx.channel) {
        puts_(r, b, "\"channel\":");
        put_json_str(r, b, r->ctx.channel, strlen(r->ctx.channel));
        puts_(r, b, ",");
    }
    puts_(r, b, "\"params\":{");
    if (r->params.len && rt_json_iter(r->params, STRUERE_JSON_ARRAY, &it) == 0)
        while (rt_json_next(&it, NULL, &d) == 1 && !r->rc) {
            if (rt_json_member(d, "name", 4, &name) != 1 || !is_string(name) ||
                declared_before(r->params, d, name))
                continue;
            const char *v = param_value(r, name);
            if (!v)
                continue;
            puts_(r, b, first ? "" : ",");
            put(r, b, name.ptr, name.len);
            puts_(r, b, ":");
            put_param(r, b, d, v);
            first = 0;
        }
    return puts_(r, b, "}}");
}

/* entityTypes: [{name, slug, description?, schema, searchFields}] of every
 * data type, in slug order; roles: [{name, description?}]. */
static int build_list(render *r, rt_buf *b, int kind)
{
    static const char *const keys[] = {"name", "description", "schema",
                                       "searchFields"};
    size_t n = struere_bundle_count(r->b, kind);
    puts_(r, b, "[");
    for (size_t i = 0; i < n && !r->rc; i++) {
        const char *slug, *text;
        size_t len;
        struere_json m[4];
        int first = 1;
        if (struere_bundle_entry(&slug, &text, &len, r->b, kind, i, NULL) < 0 ||
            body_members(r, kind, slug, text, len, keys, m, 4) < 0)
            break;
        puts_(r, b, i ? ",{" : "{");
        put_member(r, b, "name", m[0], &first);
        if (kind == STRUERE_KIND_DATA) {
            puts_(r, b, first ? "\"slug\":" : ",\"slug\":");
            put_json_str(r, b, slug, strlen(slug));
            first = 0;
        }
        put_member(r, b, "description", m[1], &first);
        if (kind == STRUERE_KIND_DATA) {
            put_member(r, b, "schema", m[2], &first);
            put_member(r, b, "searchFields", m[3], &first);
        }
        puts_(r, b, "}");
    }
    return puts_(r, b, "]");
}

/* The value of the context's top-level name `root`. */
static int root_value(render *r, int root, value *v)
{
    const char *s = NULL;
    *v = (value){0, {NULL, 0}};
    switch (root) {
    case ROOT_CURRENT_TIME:
    case ROOT_DATETIME:
        s = r->now;
        break;
    case ROOT_TIMESTAMP:
        *v = (value){1, {r->stamp, strlen(r->stamp)}};
        return 0;
    case ROOT_ORG_NAME:
        s = *r->info.organization_name ? r->info.organization_name
                                       : r->info.project_name;
        break;
    case ROOT_ORG_ID:
        s = *r->info.organization_id ? r->info.organization_id
                                     : r->info.project_name;
        break;
    case ROOT_AGENT_NAME:
        *v = (value){1, {r->name.ptr, r->name.len}};
        return 0;
    case ROOT_USER_ID:
        s = r->ctx.user_id;
        break;
    case ROOT_THREAD_ID:
        s = r->ctx.thread_id;
        break;
    case ROOT_MESSAGE:
        s = r->ctx.message;
        break;
    default: { /* the object values, built once per rendering */
        rt_buf *b = &r->built[root];
        if (!r->have[root]) {
            r->have[root] = 1;
            if (root == ROOT_AGENT)
                build_agent(r, b);
            else if (root == ROOT_THREAD_CONTEXT)
                build_thread_context(r, b);
            else
                build_list(r, b,
                           root == ROOT_ROLES ? STRUERE_KIND_ROLE
                                              : STRUERE_KIND_DATA);
        }
        if (r->rc)
            return r->rc;
        *v = (value){1, {b->p, b->len}};
        return 0;
    }
    }
    if (s)
        v->s = (span){s, strlen(s)};
    return 0;
}

/* Struere's lookup of `seg` on a value: an object's member, or an array's
 * element at a canonical decimal index. 1 found (in `*v`), 0 not. */
static int step(struere_json *v, const char *seg, size_t n)
{
    int kind = rt_json_kind(*v);
    if (kind == STRUERE_JSON_OBJECT)
        return rt_json_member(*v, seg, n, v) == 1;
    if (kind != STRUERE_JSON_ARRAY || n == 0 || n > 10 ||
        (seg[0] == '0' && n > 1))
        return 0;
    size_t want = 0;
    for (size_t i = 0; i < n; i++) {
        if (seg[i] < '0' || seg[i] > '9')
            return 0;
        want = want * 10 + (size_t)(seg[i] - '0');
    }
    rt_json_it it;
    struere_json e;
    rt_json_iter(*v, STRUERE_JSON_ARRAY, &it);
    for (size_t i = 0; rt_json_next(&it, NULL, &e) == 1; i++)
        if (i == want) {
            *v = e;
            return 1;
        }
    return 0;
}

/*
 * The leaves of threadContext that prompts use, read straight from the
 * caller's strings: the same text a walk over the built object gives,
 * without building and escaping all of it. 1 handled (v->s.p NULL when
 * absent), 0 for any other path.
 */
static int thread_leaf(const render *r, span rest, value *v)
{
    rt_json_it it;
    struere_json d, n;
    *v = (value){0, {NULL, 0}};
    if (rest.n == 7 && !memcmp(rest.p, "channel", 7)) {
        if (r->ctx.channel)
            v->s = (span){r->ctx.channel, strlen(r->ctx.channel)};
        return 1;
    }
    if (rest.n <= 7 || memcmp(rest.p, "params.", 7) ||
        memchr(rest.p + 7, '.', rest.n - 7))
        return 0;
    span pn = {rest.p + 7, rest.n - 7};
    if (!r->params.len || rt_json_iter(r->params, STRUERE_JSON_ARRAY, &it) < 0)
        return 1;
    while (rt_json_next(&it, NULL, &d) == 1)
        if (rt_json_member(d, "name", 4, &n) == 1 && is_string(n) &&
            rt_json_str_eq(n, pn.p, pn.n)) {
            const char *val = param_value(r, n);
            if (val)
                v->s = (span){val, strlen(val)};
            return 1;
        }
    return 1; /* not declared: dropped */
}

/*
 * Resolves the variable `name` as Struere does (split on ".", walk the
 * context, a missing or null value is not found) and appends its value to
 * `dst`: a string's bytes, any other value's JSON text. Returns 1 found,
 * 0 not found, or the failure that ends the rendering.
 */
static int resolve(render *r, span name, rt_buf *dst)
{
    const char *dot = memchr(name.p, '.', name.n);
    size_t rn = dot ? (size_t)(dot - name.p) : name.n;
    int root = 0;
    value v;
    while (root < ROOT_COUNT && !(strlen(root_names[root]) == rn &&
                                  !memcmp(root_names[root], name.p, rn)))
        root++;
    if (root == ROOT_COUNT)
        return 0;
    if (root == ROOT_THREAD_CONTEXT && dot &&
        thread_leaf(r, (span){dot + 1, (size_t)(name.p + name.n - dot - 1)},
                    &v)) {
        if (!v.s.p)
            return 0;
        return put(r, dst, v.s.p, v.s.n) < 0 ? r->rc : 1;
    }
    if (root_value(r, root, &v) < 0)
        return r->rc;
    if (!v.s.p)
        return 0;
    if (!v.json) {
        if (dot) /* a string has no members */
            return 0;
        return put(r, dst, v.s.p, v.s.n) < 0 ? r->rc : 1;
    }
    struere_json j = {v.s.p, v.s.n};
    for (const char *p = dot ? dot + 1 : NULL, *end = name.p + name.n; p;) {
        const char *next = memchr(p, '.', (size_t)(end - p));
        if (!step(&j, p, (size_t)((next ? next : end) - p)))
            return 0;
        p = next ? next + 1 : NULL;
    }
    switch (rt_json_kind(j)) {
    case STRUERE_JSON_NULL:
        return 0;
    case STRUERE_JSON_STRING:
        return put_decoded(r, dst, j) < 0 ? r->rc : 1;
    default:
        return put(r, dst, j.ptr, j.len) < 0 ? r->rc : 1;
    }
}

/* ---- calls ---- */

/* Reads the names of the agent's tools once per rendering, so that each
 * call compares names instead of walking the tools' schemas again. */
static int read_tools(render *r)
{
    rt_json_it it;
    struere_json t, v;
    size_t n = 0;
    r->tools_read = 1;
    if (!r->tools.len)
        return 0;
    rt_json_iter(r->tools, STRUERE_JSON_ARRAY, &it);
    while (rt_json_next(&it, NULL, &t) == 1)
        n++;
    r->tool_list = malloc((n ? n : 1) * sizeof(tool_ref));
    if (!r->tool_list)
        return r->rc = rt_fail(r->err, STRUERE_ENOMEM, "out of memory");
    rt_json_iter(r->tools, STRUERE_JSON_ARRAY, &it);
    while (rt_json_next(&it, NULL, &t) == 1) {
        tool_ref *ref = &r->tool_list[r->ntools];
        if (rt_json_member(t, "name", 4, &ref->name) != 1 ||
            !is_string(ref->name))
            continue; /* not a tool a template can name */
        ref->builtin = rt_json_member(t, "builtin", 7, &v) == 1 &&
                       rt_json_kind(v) == STRUERE_JSON_TRUE;
        r->ntools++;
    }
    return 0;
}

/* The agent's tool named `name`, or NULL. */
static const tool_ref *find_tool(render *r, span name)
{
    if (!r->tools_read && read_tools(r) < 0)
        return NULL;
    for (size_t i = 0; i < r->ntools; i++)
        if (rt_json_str_eq(r->tool_list[i].name, name.p, name.n))
            return &r->tool_list[i];
    return NULL;
}

/* Whether the custom tool `name` has a handler in the bundle's tools (a
 * custom tool without one renders "no handler", as in Struere). */
static int has_handler(const render *r, const char *name)
{
    const char *body;
    size_t len;
    struere_json obj, h;
    if (struere_bundle_lookup(&body, &len, r->b, STRUERE_KIND_TOOL, name,
                              NULL) < 0 ||
        rt_json_value(body, len, &obj) < 0)
        return 0;
    return rt_json_member(obj, "handler", 7, &h) == 1 && is_string(h) &&
           h.len > 2;
}

/* Substitutes the variables nested in a call's arguments into r->args, as
 * Struere does before JSON.parse: found ones by their value (raw, not
 * JSON-escaped), the others and nested calls left as written. */
static int resolve_args(render *r, span args)
{
    size_t pos = 0, lit = 0;
    expr e;
    int rc;
    r->args.len = 0;
    while ((rc = scan_next(args.p, args.n, &pos, &e)) == 1) {
        span name, inner;
        put(r, &r->args, args.p + lit, e.open - lit);
        rc = split_call(e.content, &name, &inner)
                 ? 0
                 : resolve(r, e.content, &r->args);
        if (rc < 0)
            return rc;
        if (rc == 0)
            put(r, &r->args, args.p + e.open, e.end - e.open);
        lit = e.end;
    }
    /* Nesting inside arguments is one level less than around them, so
     * the depth limit was already met by the enclosing scan. */
    put(r, &r->args, args.p + lit, args.n - lit);
    return put(r, &r->args, "", 1) < 0 ? r->rc : 0; /* a NUL, for C */
}

/* The actor whose permissions entity calls use: the caller's, or the
 * agent's. NULL with *why set when it cannot be made. */
static const struere_actor *call_actor(render *r, const char **why,
                                       struere_error *e)
{
    if (r->ctx.actor)
        return r->ctx.actor;
    if (!r->actor) {
        struere_actor_spec spec = {0};
        spec.type = STRUERE_ACTOR_AGENT;
        spec.id = r->slug;
        int rc = struere_actor_new(&r->actor, r->rt, &spec, e);
        if (rc == STRUERE_ENOMEM)
            r->rc =
                rt_fail(r->err, rc, "out of memory making agent '%s'", r->slug);
        if (rc < 0) {
            r->actor = NULL;
            *why = e->message[0] ? e->message : struere_strerror(rc);
            return NULL;
        }
    }
    return r->actor;
}

/* A string argument decoded to a C string: 1, 0 with an error rendered. */
static int string_arg(render *r, span name, struere_json args, const char *key,
                      char **out)
{
    struere_json v;
    char msg[64];
    int nul;
    *out = NULL;
    if (!last_member(args, key, &v) || !is_string(v)) {
        snprintf(msg, sizeof(msg), "\"%s\" must be a string", key);
        put_error(r, name, msg);
        return 0;
    }
    *out = json_cstr(v, &nul);
    if (*out)
        return 1;
    if (nul)
        put_error(r, name, "a NUL character in the arguments");
    else
        r->rc = rt_fail(r->err, STRUERE_ENOMEM, "out of memory");
    return 0;
}

/* entity.query's limit: 0 (all) when absent or null, else a positive
 * integer; -1 for anything else. */
static long long query_limit(struere_json args)
{
    struere_json v;
    char num[64];
    if (!last_member(args, "limit", &v) || rt_json_kind(v) == STRUERE_JSON_NULL)
        return 0;
    if (rt_json_kind(v) != STRUERE_JSON_NUMBER || v.len >= sizeof(num))
        return -1;
    memcpy(num, v.ptr, v.len);
    num[v.len] = 0;
    double d = strtod(num, NULL);
    if (!(d >= 1))
        return -1;
    if (d >= 1e15) /* beyond any fixture set: no limit */
        return 0;
    long long n = (long long)d;
    return (double)n == d ? n : -1;
}

/* What every entity tool call ends with, whatever the tool: no actor
 * (why), the result, or running out of memory (doing what to whom).
 * Returns whether it was one of those; the tool reports the rest. */
static int call_done(render *r, span name, const struere_actor *a,
                     const char *why, int rc, const char *res, size_t len,
                     const char *doing, const char *what)
{
    if (!a) {
        if (!r->rc)
            put_error(r, name, why);
    } else if (rc == 0) {
        put_result(r, res, len);
    } else if (rc == STRUERE_ENOMEM) {
        r->rc = rt_fail(r->err, rc, "out of memory %s '%s'", doing, what);
    } else {
        return 0;
    }
    return 1;
}

/* entity.query in eval: the fixture records of a type the actor may list. */
static int entity_query(render *r, span name, struere_json args)
{
    char *type, *res = NULL;
    size_t len = 0;
    const char *why = NULL;
    struere_error e = {0};
    struere_decision d;
    long long limit = query_limit(args);
    if (limit < 0)
        return put_error(r, name, "\"limit\" must be a positive integer");
    if (!string_arg(r, name, args, "type", &type))
        return r->rc;
    /* filters as written (null: none); status is not an argument the
     * runtime's query takes, and Struere's template path ignores it. */
    struere_json f = {NULL, 0};
    if (last_member(args, "filters", &f) &&
        rt_json_kind(f) == STRUERE_JSON_NULL)
        f = (struere_json){NULL, 0};
    const struere_actor *a = call_actor(r, &why, &e);
    int rc = a ? struere_query(&res, &len, &d, r->rt, a, type, f.ptr, f.len,
                               (size_t)limit, NULL)
               : 0;
    if (call_done(r, name, a, why, rc, res, len, "querying", type))
        ;
    else if (rc == STRUERE_ENOTFOUND) {
        char msg[300];
        snprintf(msg, sizeof(msg), "data type \"%.200s\" not found", type);
        put_error(r, name, msg);
    } else if (rc == STRUERE_EJSON) {
        put_error(r, name, "\"filters\" must be an object");
    } else {
        put_error(r, name, struere_strerror(rc));
    }
    free(res);
    free(type);
    return r->rc;
}

/* A deny decision (every reason but 0 — "no such record", as
 * struere_get_record leaves it — and the allows). */
static int is_denial(const struere_decision *d)
{
    return !d->allowed && d->reason != 0;
}

/* entity.get in eval: one fixture record as the actor may read it; a
 * denial renders [] (Struere's permission error). */
static int entity_get(render *r, span name, struere_json args)
{
    char *id, *res = NULL;
    size_t len = 0;
    const char *why = NULL;
    struere_error e = {0};
    struere_decision d;
    if (!string_arg(r, name, args, "id", &id))
        return r->rc;
    const struere_actor *a = call_actor(r, &why, &e);
    int rc = a ? struere_get_record(&res, &len, &d, r->rt, a, id, NULL) : 0;
    if (call_done(r, name, a, why, rc, res, len, "reading", id))
        ;
    else if (rc == STRUERE_ENOTFOUND && is_denial(&d)) {
        puts_(r, &r->out, "[]");
    } else if (rc == STRUERE_ENOTFOUND) {
        char msg[300];
        snprintf(msg, sizeof(msg), "record \"%.200s\" not found", id);
        put_error(r, name, msg);
    } else {
        put_error(r, name, struere_strerror(rc));
    }
    free(res);
    free(id);
    return r->rc;
}

/*
 * The caller's callback. Its text is the result; on failure its message
 * renders as [TEMPLATE_ERROR: NAME - MESSAGE] ("execution failed" when it
 * gives none), or as it is when it already is such a text.
 */
static int callback(render *r, span name, const char *cname, struere_json args)
{
    char *res = NULL;
    int rc = r->ctx.tool(r->ctx.tool_user, cname, args.ptr, args.len, &res);
    if (rc >= 0) {
        if (res)
            put_result(r, res, strlen(res));
        else
            puts_(r, &r->out, "null");
    } else if (!res) {
        put_error(r, name, "execution failed");
    } else if (!strncmp(res, "[TEMPLATE_ERROR:", 16) &&
               res[strlen(res) - 1] == ']') {
        puts_(r, &r->out, res);
    } else {
        put_error(r, name, res);
    }
    free(res);
    return r->rc;
}

/* A call NAME(ARGS), in Struere's order: arguments (nested variables,
 * JSON), the tool in the agent's list, then who answers it. */
static int call(render *r, span name, span raw)
{
    struere_json args;
    const tool_ref *tool;
    if (resolve_args(r, raw) < 0)
        return r->rc;
    span text = {r->args.p, r->args.len - 1};
    if (js_trim(text).n == 0) {
        args = (struere_json){"{}", 2};
    } else if (rt_json_value(text.p, text.n, &args) < 0 ||
               rt_json_kind(args) != STRUERE_JSON_OBJECT) {
        return put_error(r, name, "invalid JSON arguments");
    } else {
        r->args.p[args.ptr - r->args.p + args.len] = 0; /* for C callers */
    }
    if (!(tool = find_tool(r, name)))
        return r->rc ? r->rc : put_error(r, name, "tool not found");
    int is_builtin = tool->builtin;
    if (is_builtin && r->rt->env == STRUERE_ENV_EVAL) {
        if (name.n == 12 && !memcmp(name.p, "entity.query", 12))
            return entity_query(r, name, args);
        if (name.n == 10 && !memcmp(name.p, "entity.get", 10))
            return entity_get(r, name, args);
    }
    char *cname = malloc(name.n + 1);
    if (!cname)
        return r->rc = rt_fail(r->err, STRUERE_ENOMEM, "out of memory");
    memcpy(cname, name.p, name.n);
    cname[name.n] = 0;
    if (!r->ctx.tool || (!is_builtin && !has_handler(r, cname)))
        put_error(r, name, "no handler");
    else
        callback(r, name, cname, args);
    free(cname);
    return r->rc;
}

static int variable(render *r, span name)
{
    int rc = resolve(r, name, &r->out);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    puts_(r, &r->out, "[TEMPLATE_ERROR: ");
    put(r, &r->out, name.p, name.n);
    return puts_(r, &r->out, " not found]");
}

/* ---- time ---- */

/* Year, month, day of a day count since 1970-01-01 (proleptic Gregorian),
 * by the 400-year-era method. */
static void civil_date(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* `ms` since the epoch as Date.prototype.toISOString writes it:
 * YYYY-MM-DDTHH:mm:ss.sssZ, or a signed six-digit year outside 0..9999. */
static void iso_time(int64_t ms, char *buf, size_t cap)
{
    int64_t day = 86400000, days = ms / day, rem = ms % day, y;
    int m, d;
    if (rem < 0)
        rem += day, days--;
    civil_date(days, &y, &m, &d);
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60),
        s = (int)(rem / 1000 % 60), milli = (int)(rem % 1000);
    if (y >= 0 && y <= 9999)
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m, d,
                 h, mi, s, milli);
    else
        snprintf(buf, cap, "%c%06lld-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 y < 0 ? '-' : '+', (long long)(y < 0 ? -y : y), m, d, h, mi, s,
                 milli);
}

static int64_t clock_ms(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a rendering ---- */

/* The members of the agent's body a rendering uses, in one pass. */
static int agent_parts(render *r, const char *body, size_t len)
{
    static const char *const keys[] = {"name", "systemPrompt", "tools",
                                       "threadContextParams"};
    struere_json m[4];
    if (body_members(r, STRUERE_KIND_AGENT, r->slug, body, len, keys, m, 4) < 0)
        return r->rc;
    r->name = m[0];
    r->prompt = m[1];
    for (int i = 2; i < 4; i++) {
        if (!m[i].ptr)
            continue;
        if (rt_json_kind(m[i]) != STRUERE_JSON_ARRAY)
            return r->rc = rt_fail(r->err, STRUERE_ECORRUPT,
                                   "agent '%s': %s is not an array", r->slug,
                                   keys[i]);
        *(i == 2 ? &r->tools : &r->params) = m[i];
    }
    return 0;
}

/* Checks the arguments and prepares the rendering of agent `agent`. */
static int begin(render *r, const struere_runtime *rt, const char *agent,
                 const struere_prompt_context *ctx, char **out, size_t *len,
                 struere_error *err)
{
    const char *body;
    size_t blen;
    memset(r, 0, sizeof(*r));
    r->err = err;
    r->slug = agent;
    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    if (!rt || !agent || !out)
        return rt_fail(err, STRUERE_EINVAL, "NULL runtime, agent or output");
    if (ctx)
        r->ctx = *ctx;
    if (r->ctx.param_count && (!r->ctx.param_names || !r->ctx.param_values))
        return rt_fail(err, STRUERE_EINVAL,
                       "param_count is %zu but a parameter array is NULL",
                       r->ctx.param_count);
    if (r->ctx.now_ms > RT_TEMPLATE_MAX_TIME_MS ||
        r->ctx.now_ms < -RT_TEMPLATE_MAX_TIME_MS)
        return rt_fail(err, STRUERE_EINVAL,
                       "now_ms %lld is outside JavaScript's date range",
                       (long long)r->ctx.now_ms);
    r->rt = rt;
    r->b = struere_runtime_bundle(rt);
    int rc = struere_bundle_lookup(&body, &blen, r->b, STRUERE_KIND_AGENT,
                                   agent, NULL);
    if (rc < 0)
        return rt_fail(err, rc, "no agent '%s' in the %s bundle", agent,
                       struere_env_name(rt->env) ? struere_env_name(rt->env)
                                                 : "loaded");
    if (agent_parts(r, body, blen) < 0)
        return r->rc;
    struere_bundle_get_info(&r->info, r->b, NULL);
    int64_t now = r->ctx.now_ms ? r->ctx.now_ms : clock_ms();
    iso_time(now, r->now, sizeof(r->now));
    snprintf(r->stamp, sizeof(r->stamp), "%lld", (long long)now);
    rt_buf_grow_init(&r->out);
    rt_buf_grow_init(&r->args);
    for (int i = 0; i < ROOT_COUNT; i++)
        rt_buf_grow_init(&r->built[i]);
    return 0;
}

/* Renders `n` bytes of template text into r->out. */
static int run(render *r, const char *s, size_t n)
{
    size_t pos = 0, lit = 0;
    expr e;
    int rc;
    while ((rc = scan_next(s, n, &pos, &e)) == 1) {
        span name, args;
        put(r, &r->out, s + lit, e.open - lit);
        if (split_call(e.content, &name, &args))
            call(r, name, args);
        else
            variable(r, e.content);
        if (r->rc)
            return r->rc;
        lit = e.end;
    }
    if (rc < 0)
        return r->rc = rt_fail(r->err, STRUERE_ERANGE,
                               "the prompt of agent '%s' nests {{ }} deeper "
                               "than %d levels at byte %zu",
                               r->slug, RT_TEMPLATE_MAX_DEPTH, e.open);
    return put(r, &r->out, s + lit, n - lit);
}

/* Hands the rendering over (on success) and frees the rest. */
static int end(render *r, int rc, char **out, size_t *len)
{
    for (int i = 0; i < ROOT_COUNT; i++)
        free(r->built[i].p);
    free(r->args.p);
    free(r->tool_list);
    struere_actor_free(r->actor);
    if (rc == 0)
        rc = rt_buf_finish(&r->out);
    if (rc < 0) {
        if (rc == STRUERE_ENOMEM && r->err && !r->err->message[0])
            rt_fail(r->err, rc, "out of memory rendering a prompt");
        free(r->out.p);
        return rc;
    }
    *out = r->out.p;
    if (len)
        *len = r->out.len;
    rt_clear(r->err);
    return 0;
}

int rt_template_render_text(const struere_runtime *rt, const char *agent,
                            const char *text, size_t len,
                            const struere_prompt_context *ctx, char **out,
                            size_t *out_len, struere_error *err)
{
    render r;
    int rc = begin(&r, rt, agent, ctx, out, out_len, err);
    if (rc < 0)
        return rc;
    if (!text && len)
        rc = rt_fail(err, STRUERE_EINVAL, "NULL text");
    else
        rc = run(&r, text ? text : "", len);
    return end(&r, rc, out, out_len);
}

int struere_prompt_render(char **out, size_t *len, const struere_runtime *rt,
                          const char *agent, const struere_prompt_context *ctx,
                          struere_error *err)
{
    render r;
    int rc = begin(&r, rt, agent, ctx, out, len, err);
    if (rc < 0)
        return rc;
    if (!r.prompt.ptr || !is_string(r.prompt)) {
        rc = rt_fail(err, STRUERE_ECORRUPT,
                     "agent '%s' has no systemPrompt string", agent);
        return end(&r, rc, out, len);
    }
    /* Decoded, a JSON string is never longer than its text: one pass. */
    char *text = malloc(r.prompt.len);
    if (!text) {
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory");
        return end(&r, rc, out, len);
    }
    size_t n = rt_json_str_decode(r.prompt, text);
    rc = run(&r, text, n);
    free(text);
    return end(&r, rc, out, len);
}
