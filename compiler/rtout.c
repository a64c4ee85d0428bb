/*
 * rtout.c - the runtime commands' answers written to a FILE: shared by
 * compiler/cmd_runtime.c (stdout) and server/ (a memory stream per
 * request), so that `struere serve` answers byte for byte what the
 * commands print. Built from the library's JSON texts as they are.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json_tree.h"
#include "jsonmem.h"
#include "rtout.h"

#include "../runtime/src/rt_json.h"
#include "../runtime/src/rt_output.h"

void rtout_json(FILE *f, const char *text, size_t len, bool compact)
{
    if (compact) {
        fwrite(text, 1, len, f);
        putc('\n', f);
        return;
    }
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            putc(c, f);
            if (c == '\\' && i + 1 < len)
                putc(text[++i], f);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        switch (c) {
        case '"':
            in_str = 1;
            putc(c, f);
            break;
        case '{':
        case '[':
            putc(c, f);
            if (i + 1 < len && (text[i + 1] == '}' || text[i + 1] == ']')) {
                putc(text[++i], f); /* {} and [] stay on one line */
                break;
            }
            fprintf(f, "\n%*s", 2 * ++depth, "");
            break;
        case '}':
        case ']':
            fprintf(f, "\n%*s%c", 2 * (depth > 0 ? --depth : 0), "", c);
            break;
        case ',':
            fprintf(f, ",\n%*s", 2 * depth, "");
            break;
        case ':':
            fputs(": ", f);
            break;
        case ' ':
        case '\n':
        case '\t':
        case '\r':
            break;
        default:
            putc(c, f);
        }
    }
    putc('\n', f);
}

const char *rtout_json_type(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        break;
    }
    return "null";
}

/* How many arrays and objects deep v nests (0 for a scalar), counted no
 * further than limit + 1. */
static size_t nesting(const json_t *v, size_t limit)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    size_t deepest = 0, i;
    const char *k;
    json_t *m;
    if (limit > 0 && json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            size_t d = nesting(m, limit - 1);
            deepest = d > deepest ? d : deepest;
            if (deepest >= limit)
                break;
        }
    } else if (limit > 0) {
        json_object_foreach((json_t *)v, k, m)
        {
            size_t d = nesting(m, limit - 1);
            deepest = d > deepest ? d : deepest;
            if (deepest >= limit)
                break;
        }
    }
    return 1 + deepest;
}

const char *rtout_record_problem(const json_t *v, char *msg, size_t size)
{
    static const struct {
        const char *key;
        json_type type;
        const char *text;
    } members[] = {{"_id", JSON_STRING, "a string"},
                   {"type", JSON_STRING, "a string"},
                   {"status", JSON_STRING, "a string"},
                   {"data", JSON_OBJECT, "an object"}};
    if (!json_is_object(v)) {
        snprintf(msg, size, ": must be a JSON object, not %s",
                 rtout_json_type(v));
        return msg;
    }
    for (size_t i = 0; i < sizeof(members) / sizeof(*members); i++) {
        json_t *m = json_object_get(v, members[i].key);
        if (m && json_typeof(m) != members[i].type) {
            snprintf(msg, size, ": the record's \"%s\" must be %s, not %s",
                     members[i].key, members[i].text, rtout_json_type(m));
            return msg;
        }
    }
    /* The runtime reads each member's value on its own, as JSON nested at
     * most RT_JSON_MAX_DEPTH deep: deeper, it would refuse the record. */
    const char *k;
    json_t *m;
    json_object_foreach((json_t *)v, k, m)
    {
        if (nesting(m, RT_JSON_MAX_DEPTH) > RT_JSON_MAX_DEPTH) {
            snprintf(msg, size,
                     ": the record's \"%.100s\" nests arrays and objects more "
                     "than %d deep (the runtime's limit)",
                     k, RT_JSON_MAX_DEPTH);
            return msg;
        }
    }
    return NULL;
}

int rtout_json_line(FILE *f, const json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!text)
        return STRUERE_ENOMEM;
    fputs(text, f);
    putc('\n', f);
    free(text);
    return 0;
}

int rtout_fixture_record(char **out, const struere_runtime *rt, const char *id)
{
    rt_buf b;
    *out = NULL;
    rt_buf_grow_init(&b);
    int rc = rt_fixture_record(&b, rt, id);
    if (rc < 0) {
        free(b.p);
        return rc;
    }
    if ((rc = rt_buf_finish(&b)) < 0)
        return rc; /* freed */
    *out = b.p;
    return 0;
}

/* Text from a buffer-filling call of the library (snprintf-style): in
 * `small` when it fits (most answers: the call runs once, nothing is
 * allocated), else in `big`, of the size the first call said it needs. */
struct filled {
    const char *s;
    size_t len;
    char *big;
    char small[2048];
};
typedef int (*fill_fn)(const struere_runtime *, const struere_decision *,
                       const char *record, char *, size_t, size_t *);
static bool fill(struct filled *o, const struere_runtime *rt,
                 const struere_decision *d, const char *record, fill_fn fn)
{
    o->big = NULL;
    o->s = o->small;
    int rc = fn(rt, d, record, o->small, sizeof(o->small), &o->len);
    if (rc >= 0)
        return true;
    if (rc != STRUERE_ERANGE || !(o->big = malloc(o->len + 1)))
        return false;
    if (fn(rt, d, record, o->big, o->len + 1, &o->len) < 0) {
        free(o->big);
        o->big = NULL;
        return false;
    }
    o->s = o->big;
    return true;
}

static int mask_fill(const struere_runtime *rt, const struere_decision *d,
                     const char *record, char *b, size_t cap, size_t *n)
{
    (void)record;
    return struere_mask_json(b, cap, n, rt, d, NULL);
}

static int pred_fill(const struere_runtime *rt, const struere_decision *d,
                     const char *record, char *b, size_t cap, size_t *n)
{
    (void)record;
    return struere_predicate_json(b, cap, n, rt, d, NULL);
}

static int record_fill(const struere_runtime *rt, const struere_decision *d,
                       const char *record, char *b, size_t cap, size_t *n)
{
    /* jansson's text or a fixture record (rtout.h): valid */
    return rt_record_mask_valid(b, cap, n, rt, d, record, strlen(record));
}

/* `s` as a JSON string, as jansson writes it (rtout.h), into `b`. */
static void put_json_string(rt_buf *b, const char *s)
{
    size_t n = strlen(s);
    bool plain = rt_utf8_valid(s, n);
    for (size_t i = 0; plain && i < n; i++)
        plain = (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\';
    if (plain) {
        rt_buf_puts(b, "\"");
        rt_buf_put(b, s, n);
        rt_buf_puts(b, "\"");
        return;
    }
    json_t *js = json_string(s);
    char *t = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    rt_buf_puts(b, t ? t : "null");
    free(t);
    json_decref(js);
}

/* What `build` writes from `arg`, handed to f in one call: built in 4 KiB
 * on the stack when it fits, else in one allocation of the size the first
 * pass counted. False (nothing written) when memory runs out. */
static bool write_built(FILE *f, void (*build)(rt_buf *, const void *),
                        const void *arg)
{
    char small[4096];
    rt_buf b;
    rt_buf_fixed(&b, small, sizeof(small));
    build(&b, arg);
    if (b.len < sizeof(small)) {
        fwrite(small, 1, b.len, f);
        return true;
    }
    size_t need = b.len;
    rt_buf_grow_init(&b);
    rt_buf_reserve(&b, need);
    build(&b, arg);
    bool ok = rt_buf_finish(&b) == 0; /* frees on failure */
    if (ok)
        fwrite(b.p, 1, b.len, f);
    else /* the text is not written: what reads the stream must know */
        json_mem_note_failure();
    free(b.p);
    return ok;
}

static void json_string_built(rt_buf *b, const void *s)
{
    put_json_string(b, s);
}

void rtout_json_string(FILE *f, const char *s)
{
    write_built(f, json_string_built, s);
}

/* `struere can --json`'s line. */
struct can_line {
    const struere_decision *d;
    const char *reason;
    const struct filled *pred, *mask, *masked; /* masked: NULL, none */
};

static void can_json(rt_buf *b, const void *arg)
{
    const struct can_line *l = arg;
    rt_buf_puts(b, l->d->allowed ? "{\"decision\":\"allow\",\"reason\":"
                                 : "{\"decision\":\"deny\",\"reason\":");
    put_json_string(b, l->reason);
    if (l->d->role) { /* slugs need no escaping */
        rt_buf_puts(b, ",\"role\":\"");
        rt_buf_puts(b, l->d->role);
        rt_buf_puts(b, "\"");
    } else {
        rt_buf_puts(b, ",\"role\":null");
    }
    rt_buf_puts(b, ",\"predicate\":");
    rt_buf_put(b, l->pred->s, l->pred->len);
    rt_buf_puts(b, ",\"mask\":");
    rt_buf_put(b, l->mask->s, l->mask->len);
    rt_buf_puts(b, ",\"record\":");
    if (l->masked)
        rt_buf_put(b, l->masked->s, l->masked->len);
    else
        rt_buf_puts(b, "null");
    rt_buf_puts(b, "}\n");
}

int rtout_can(FILE *f, const struere_runtime *rt, const struere_actor *actor,
              const char *action, const char *resource, const char *record,
              bool json, struere_decision *dout)
{
    struere_decision d;
    int rc = record ? struere_decide_record(&d, rt, actor, action, resource,
                                            record, strlen(record), NULL)
                    : struere_decide(&d, rt, actor, action, resource, NULL);
    if (rc < 0)
        return rc;
    char reason[300];
    struere_reason_text(reason, sizeof(reason), NULL, rt, &d, NULL);
    struct filled pred, mask, masked = {.big = NULL};
    bool shown = record && d.allowed;
    bool ok = fill(&pred, rt, &d, NULL, pred_fill);
    if (!fill(&mask, rt, &d, NULL, mask_fill))
        ok = false;
    if (shown && !fill(&masked, rt, &d, record, record_fill))
        ok = false;
    if (ok && json) {
        /* one write: the line is most of an answer of serve's */
        struct can_line line = {&d, reason, &pred, &mask,
                                shown ? &masked : NULL};
        ok = write_built(f, can_json, &line);
    } else if (ok) {
        fprintf(f, "%s: %s\n", d.allowed ? "allow" : "deny", reason);
        fprintf(f, "predicate: %.*s\n", (int)pred.len, pred.s);
        fprintf(f, "mask: %.*s\n", (int)mask.len, mask.s);
        if (shown) {
            fprintf(f, "record:\n");
            rtout_json(f, masked.s, masked.len, false);
        }
    }
    free(pred.big);
    free(mask.big);
    free(masked.big);
    if (!ok)
        return STRUERE_ENOMEM;
    if (dout)
        *dout = d;
    return d.allowed ? 1 : 0;
}

int rtout_plan_suite(FILE *f, const char *slug, const char *body, size_t len)
{
    json_t *s = json_tree(body, len); /* a verified bundle's body */
    if (!s)
        return STRUERE_ENOMEM;
    json_t *cases = json_object_get(s, "cases");
    if (!json_is_array(cases)) {
        json_decref(s);
        return STRUERE_ECORRUPT;
    }
    static const char *const suite_keys[] = {"judgeModel", "judgePrompt",
                                             "judgeContext"};
    static const char *const case_keys[] = {"description", "tags",
                                            "channel",     "contextParams",
                                            "turns",       "finalAssertions"};
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        json_t *line = json_object();
        json_object_set_new(line, "suite", json_string(slug));
        json_object_set(line, "agent", json_object_get(s, "agent"));
        json_object_set(line, "case", json_object_get(c, "name"));
        json_object_set_new(line, "index", json_integer((json_int_t)i));
        for (size_t k = 0; k < sizeof(case_keys) / sizeof(*case_keys); k++) {
            json_t *v = json_object_get(c, case_keys[k]);
            if (v)
                json_object_set(line, case_keys[k], v);
        }
        for (size_t k = 0; k < sizeof(suite_keys) / sizeof(*suite_keys); k++) {
            json_t *v = json_object_get(s, suite_keys[k]);
            if (v)
                json_object_set(line, suite_keys[k], v);
        }
        rtout_json_line(f, line);
        json_decref(line);
    }
    json_decref(s);
    return 0;
}

void rtout_eval_list(FILE *f, const struere_bundle *b, bool json)
{
    size_t n = struere_bundle_count(b, STRUERE_KIND_EVAL);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *slug, *body;
        size_t len;
        if (struere_bundle_entry(&slug, &body, &len, b, STRUERE_KIND_EVAL, i,
                                 NULL) < 0)
            continue;
        json_t *s = json_tree(body, len); /* a verified bundle's body */
        json_t *item = json_object();
        size_t ncases = json_array_size(json_object_get(s, "cases"));
        json_object_set_new(item, "slug", json_string(slug));
        json_object_set(item, "name", json_object_get(s, "suite"));
        json_object_set(item, "agent", json_object_get(s, "agent"));
        json_object_set_new(item, "cases", json_integer((json_int_t)ncases));
        if (!json)
            fprintf(f, "%-28s agent %-20s %zu case%s\n", slug,
                    json_string_value(json_object_get(s, "agent")), ncases,
                    ncases == 1 ? "" : "s");
        json_array_append_new(list, item);
        json_decref(s);
    }
    if (json)
        rtout_json_line(f, list);
    json_decref(list);
}
