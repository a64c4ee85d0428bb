/*
 * schema.c - compiles schemas/<kind>.yaml into struct schema and validates node
 * trees against them. The keywords and x- extensions are documented in
 * schemas/README.md; anything else in a schema file is a schema error.
 */
#include "schema.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "embedded.h"
#include "node.h"
#include "nodebin.h"
#include "source.h"
#include "suggest.h"
#include "limits.h"

enum {
    T_OBJECT = 1 << 0,
    T_ARRAY = 1 << 1,
    T_STRING = 1 << 2,
    T_NUMBER = 1 << 3,
    T_INTEGER = 1 << 4,
    T_BOOLEAN = 1 << 5,
    T_NULL = 1 << 6,
};

struct xdiag {
    const char *code, *message, *hint;
};

struct schema_prop {
    const char *name;
    struct schema *schema;
};

struct xenum {
    const char *value;
    struct xdiag diag;
};

struct schema_rare {
    const struct node *constv;
    regex_t pattern;
    const char *pattern_src; /* NULL: no pattern */
    bool slug_shape;         /* pattern_src is SLUG_PATTERN */
    bool has_min, has_max;
    double min, max;
    long min_len, max_len, min_items, max_items; /* -1: none */
    const struct node *default_value;
    struct xdiag *x_error, *x_pattern_error;
    struct xenum *x_enum;
    size_t nx_enum;
};

/* The shape of a slug: 14 of the 20 patterns of the built-in schemas,
 * matched against every definition's slug and most references. Matched by
 * hand instead of by regexec (about 3,200 instructions a match in glibc,
 * 3.5% of check's at 1,000 definitions); the same strings match (the unit
 * test compares the two over every short string of its alphabet). All
 * len bytes are read: a NUL is a byte the pattern does not allow. */
#define SLUG_PATTERN "^[a-z0-9]+(-[a-z0-9]+)*$"

static bool slug_shaped(const char *s, size_t len)
{
    bool want_alnum = true; /* at the start, and after a '-' */
    for (const char *end = s + len; s < end; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
            want_alnum = false;
        else if (*s == '-' && !want_alnum)
            want_alnum = true;
        else
            return false;
    }
    return !want_alnum;
}

static const struct schema_rare rare_none = {
    .min_len = -1, .max_len = -1, .min_items = -1, .max_items = -1};

struct schema {
    unsigned types; /* 0: any */
    const char *description;
    struct schema_prop *props;
    size_t nprops;
    enum { ADD_ANY, ADD_NONE, ADD_SCHEMA } additional;
    struct schema *additional_schema;
    const char **required;
    size_t nrequired;
    const struct node *enums; /* a SEQ node */
    struct schema *items;
    struct schema **one_of;
    size_t none_of;
    const char *ref;
    struct schema *target;
    /* What few schemas say (rare_none when none of it): apart, so that a
     * schema without it (most fields of a data type) stays small. */
    const struct schema_rare *rare;
};

static int discriminates(const struct schema *b, const struct node *n);

/* ---- compiling ---------------------------------------------------------- */

struct compiler {
    struct arena *a;
    struct diag_list *diags;
    const struct node *definitions;
    struct schema_prop *defs; /* compiled definitions, by name */
    size_t ndefs;
    int failed;
    bool data_mode;         /* compiling a data type's field schema */
    struct schema_set *set; /* owns compiled patterns (regfree) */
};

static void bad(struct compiler *C, const struct node *at, const char *msg)
{
    diag_error(C->diags, at, "schema", NULL, "invalid schema: %s", msg);
    C->failed = 1;
}

static struct schema *compile(struct compiler *C, const struct node *n);

static unsigned type_bit(const struct node *n)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        {"object", T_OBJECT}, {"array", T_ARRAY},     {"string", T_STRING},
        {"number", T_NUMBER}, {"integer", T_INTEGER}, {"boolean", T_BOOLEAN},
        {"null", T_NULL},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (node_is_str(n, names[i].name))
            return names[i].bit;
    return 0;
}

static struct xdiag *compile_xdiag(struct compiler *C, const struct node *n)
{
    if (!n || n->type != NODE_MAP || !node_get_str(n, "code") ||
        !node_get_str(n, "message")) {
        bad(C, n, "an x- diagnostic needs 'code' and 'message' strings");
        return NULL;
    }
    struct xdiag *x = arena_alloc(C->a, sizeof(*x));
    if (!x)
        return NULL;
    x->code = node_get_str(n, "code");
    x->message = node_get_str(n, "message");
    x->hint = node_get_str(n, "hint");
    return x;
}

static long get_count(struct compiler *C, const struct node *n)
{
    if (!n)
        return -1;
    if (n->type != NODE_INT || node_int(n) < 0) {
        bad(C, n, "expected a non-negative integer");
        return -1;
    }
    return (long)node_int(n);
}

static int cmp_prop(const void *a, const void *b)
{
    return strcmp(((const struct schema_prop *)a)->name,
                  ((const struct schema_prop *)b)->name);
}

/* s's own rare part, made on first use; NULL out of memory. */
static struct schema_rare *own_rare(struct compiler *C, struct schema *s)
{
    if (s->rare != &rare_none)
        return (struct schema_rare *)s->rare;
    struct schema_rare *r = arena_alloc(C->a, sizeof(*r));
    if (!r)
        return NULL;
    *r = rare_none;
    s->rare = r;
    return r;
}

/* Compiles `key: v` into s's rare part when key is one of its keywords
 * (the part is made then): 1 done (a bad value reported), 0 not one of
 * them, -1 out of memory. */
static int compile_rare(struct compiler *C, struct schema *s, const char *key,
                        const struct node *v)
{
    enum rare_key {
        CONST,
        PATTERN,
        MINIMUM,
        MAXIMUM,
        MIN_LENGTH,
        MAX_LENGTH,
        MIN_ITEMS,
        MAX_ITEMS,
        DEFAULT,
        X_ERROR,
        X_PATTERN_ERROR,
        X_ENUM_ERRORS,
        RARE_KEYS
    };
    static const char *const names[RARE_KEYS] = {
        [CONST] = "const",
        [PATTERN] = "pattern",
        [MINIMUM] = "minimum",
        [MAXIMUM] = "maximum",
        [MIN_LENGTH] = "minLength",
        [MAX_LENGTH] = "maxLength",
        [MIN_ITEMS] = "minItems",
        [MAX_ITEMS] = "maxItems",
        [DEFAULT] = "default",
        [X_ERROR] = "x-error",
        [X_PATTERN_ERROR] = "x-pattern-error",
        [X_ENUM_ERRORS] = "x-enum-errors",
    };
    /* By their first letters: the common keys ("type", "items", "enum",
     * "required") are none of them, and skip the comparisons. */
    enum rare_key k = strchr("cpmdx", key[0]) ? CONST : RARE_KEYS;
    while (k < RARE_KEYS && strcmp(key, names[k]))
        k++;
    /* Records are not matched against patterns (data types' own). */
    if (k == RARE_KEYS || (k == PATTERN && C->data_mode))
        return 0;
    struct schema_rare *R = own_rare(C, s);
    if (!R)
        return -1;
    double d;
    switch (k) {
    case CONST:
        R->constv = v;
        break;
    case PATTERN:
        if (v->type != NODE_STRING ||
            regcomp(&R->pattern, v->str, REG_EXTENDED | REG_NOSUB)) {
            bad(C, v, "'pattern' must be a POSIX extended regex");
            break;
        }
        R->pattern_src = v->str;
        R->slug_shape = !strcmp(v->str, SLUG_PATTERN);
        struct schema_set *set = C->set;
        if (arena_grow(C->a, (void **)&set->patterns, &set->patterns_cap,
                       set->npatterns + 1, sizeof(*set->patterns)) < 0) {
            regfree(&R->pattern);
            return -1;
        }
        set->patterns[set->npatterns++] = &R->pattern;
        break;
    case MINIMUM:
    case MAXIMUM:
        if (!node_number(v, &d)) {
            bad(C, v, "bounds must be numbers");
        } else if (k == MINIMUM) {
            R->has_min = true;
            R->min = d;
        } else {
            R->has_max = true;
            R->max = d;
        }
        break;
    case MIN_LENGTH:
        R->min_len = get_count(C, v);
        break;
    case MAX_LENGTH:
        R->max_len = get_count(C, v);
        break;
    case MIN_ITEMS:
        R->min_items = get_count(C, v);
        break;
    case MAX_ITEMS:
        R->max_items = get_count(C, v);
        break;
    case DEFAULT:
        R->default_value = v;
        break;
    case X_ERROR:
        R->x_error = compile_xdiag(C, v);
        if (C->a->failed)
            return -1;
        break;
    case X_PATTERN_ERROR:
        R->x_pattern_error = compile_xdiag(C, v);
        if (C->a->failed)
            return -1;
        break;
    case X_ENUM_ERRORS:
        if (v->type != NODE_MAP) {
            bad(C, v, "'x-enum-errors' must be a map");
            break;
        }
        R->nx_enum = v->n;
        R->x_enum = arena_alloc(C->a, (v->n + 1) * sizeof(*R->x_enum));
        if (!R->x_enum)
            return -1;
        for (size_t j = 0; j < v->n; j++) {
            struct xdiag *x = compile_xdiag(C, &v->kids[2 * j + 1]);
            if (C->a->failed)
                return -1;
            R->x_enum[j].value = v->kids[2 * j].str;
            if (x)
                R->x_enum[j].diag = *x;
        }
        break;
    case RARE_KEYS:
        break;
    }
    return 1;
}

/* The compiled schema, or NULL out of memory (C->a->failed). */
static struct schema *compile(struct compiler *C, const struct node *n)
{
    struct schema *s = arena_alloc(C->a, sizeof(*s));
    if (!s)
        return NULL;
    s->rare = &rare_none;
    if (n && n->type == NODE_BOOL) {
        /* true: anything; false: nothing (used as x-error carriers) */
        if (!n->b)
            s->types = T_NULL & 0; /* matches nothing via x_error below */
        return s;
    }
    if (!n || n->type != NODE_MAP) {
        bad(C, n, "a schema must be a map");
        return s;
    }
    for (size_t i = 0; i < n->n; i++) {
        const struct node *k = &n->kids[2 * i];
        const struct node *v = &n->kids[2 * i + 1];
        const char *key = k->str;
        int rare = compile_rare(C, s, key, v);
        if (rare < 0)
            return NULL;
        if (rare > 0)
            continue;
        if (!strcmp(key, "type")) {
            if (v->type == NODE_SEQ) {
                for (size_t j = 0; j < v->n; j++)
                    s->types |= type_bit(&v->kids[j]);
            } else {
                s->types = type_bit(v);
            }
            if (!s->types)
                bad(C, v, "unknown type");
        } else if (!strcmp(key, "properties")) {
            if (v->type != NODE_MAP) {
                bad(C, v, "'properties' must be a map");
                continue;
            }
            s->nprops = v->n;
            s->props = arena_alloc(C->a, (v->n + 1) * sizeof(*s->props));
            if (!s->props)
                return NULL;
            for (size_t j = 0; j < v->n; j++) {
                s->props[j].name = v->kids[2 * j].str;
                s->props[j].schema = compile(C, &v->kids[2 * j + 1]);
                if (!s->props[j].schema)
                    return NULL;
            }
            qsort(s->props, s->nprops, sizeof(*s->props), cmp_prop);
        } else if (!strcmp(key, "additionalProperties")) {
            if (v->type == NODE_BOOL) {
                s->additional = v->b ? ADD_ANY : ADD_NONE;
            } else {
                s->additional = ADD_SCHEMA;
                s->additional_schema = compile(C, v);
                if (!s->additional_schema)
                    return NULL;
            }
        } else if (!strcmp(key, "required")) {
            if (v->type != NODE_SEQ) {
                bad(C, v, "'required' must be a list");
                continue;
            }
            s->required = arena_alloc(C->a, (v->n + 1) * sizeof(char *));
            if (!s->required)
                return NULL;
            /* Only names: anything else in a data type's list is its
             * own error (kind_data.c), not a key records must have. */
            s->nrequired = 0;
            for (size_t j = 0; j < v->n; j++)
                if (v->kids[j].type == NODE_STRING)
                    s->required[s->nrequired++] = v->kids[j].str;
        } else if (!strcmp(key, "enum")) {
            if (v->type != NODE_SEQ)
                bad(C, v, "'enum' must be a list");
            else
                s->enums = v;
        } else if (!strcmp(key, "items")) {
            s->items = compile(C, v);
            if (!s->items)
                return NULL;
        } else if (!strcmp(key, "oneOf")) {
            if (v->type != NODE_SEQ || v->n == 0) {
                bad(C, v, "'oneOf' must be a non-empty list");
                continue;
            }
            s->none_of = v->n;
            s->one_of = arena_alloc(C->a, v->n * sizeof(*s->one_of));
            if (!s->one_of)
                return NULL;
            for (size_t j = 0; j < v->n; j++)
                if (!(s->one_of[j] = compile(C, &v->kids[j])))
                    return NULL;
        } else if (!strcmp(key, "description")) {
            s->description = v->type == NODE_STRING ? v->str : NULL;
        } else if (!strcmp(key, "$ref")) {
            const char *prefix = "#/definitions/";
            if (v->type != NODE_STRING ||
                strncmp(v->str, prefix, strlen(prefix))) {
                bad(C, v, "'$ref' must be \"#/definitions/NAME\"");
                continue;
            }
            s->ref = v->str + strlen(prefix);
        } else if (C->data_mode) {
            /* references, format, ...: meaningful elsewhere, not here */
        } else if (!strcmp(key, "title") || !strcmp(key, "$id") ||
                   !strcmp(key, "$schema") || !strcmp(key, "definitions") ||
                   !strcmp(key, "examples")) {
            /* documentation, or handled by the caller */
        } else {
            char msg[160];
            snprintf(msg, sizeof(msg), "unsupported keyword '%.100s'", key);
            bad(C, k, msg);
        }
    }
    /* Records may hold only the fields their data type declares. */
    if (C->data_mode && (s->types & T_OBJECT) &&
        !node_get_key(n, "additionalProperties"))
        s->additional = ADD_NONE;
    return s;
}

static void resolve_refs(struct compiler *C, struct schema *s,
                         const struct node *at, int depth)
{
    if (!s || depth > 64)
        return;
    if (s->ref && !s->target) {
        for (size_t i = 0; i < C->ndefs; i++)
            if (!strcmp(C->defs[i].name, s->ref))
                s->target = C->defs[i].schema;
        if (!s->target) {
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown definition '%.100s'", s->ref);
            bad(C, at, msg);
        }
        return;
    }
    for (size_t i = 0; i < s->nprops; i++)
        resolve_refs(C, s->props[i].schema, at, depth + 1);
    resolve_refs(C, s->additional_schema, at, depth + 1);
    resolve_refs(C, s->items, at, depth + 1);
    for (size_t i = 0; i < s->none_of; i++)
        resolve_refs(C, s->one_of[i], at, depth + 1);
}

static struct schema *compile_file(struct compiler *C, const struct node *root)
{
    C->defs = NULL;
    C->ndefs = 0;
    const struct node *defs = node_get(root, "definitions");
    if (defs && defs->type == NODE_MAP) {
        C->ndefs = defs->n;
        C->defs = arena_alloc(C->a, (defs->n + 1) * sizeof(*C->defs));
        if (!C->defs)
            return NULL;
        for (size_t i = 0; i < defs->n; i++) {
            C->defs[i].name = defs->kids[2 * i].str;
            C->defs[i].schema = compile(C, &defs->kids[2 * i + 1]);
            if (!C->defs[i].schema)
                return NULL;
        }
    }
    struct schema *s = compile(C, root);
    if (!s)
        return NULL;
    resolve_refs(C, s, root, 0);
    for (size_t i = 0; i < C->ndefs; i++)
        resolve_refs(C, C->defs[i].schema, root, 0);
    return s;
}

int schema_set_load(struct schema_set *set, struct arena *a,
                    struct diag_list *diags)
{
    memset(set, 0, sizeof(*set));
    struct compiler C = {.a = a, .diags = diags, .set = set};
    set->nfiles = embedded_schemas_count;
    set->files = arena_alloc(a, (set->nfiles + 1) * sizeof(*set->files));
    if (!set->files) {
        set->nfiles = 0;
        return -1;
    }
    /* Both tables come from the same list of files (Makefile). */
    if (embedded_schema_trees_count != embedded_schemas_count)
        return -1;
    for (size_t i = 0; i < embedded_schemas_count && !a->failed; i++) {
        const struct embedded_file *e = &embedded_schemas[i];
        char path[128];
        snprintf(path, sizeof(path), "schemas/%s.yaml", e->name);
        /* The text stays the source of the tree's positions; the tree
         * is the one the build parsed (embedded.h). */
        struct source *src = source_from_bytes(a, path, e->text, e->len);
        if (!src)
            return -1;
        const struct embedded_file *t = &embedded_schema_trees[i];
        struct bin_in r = {(const unsigned char *)t->text,
                           (const unsigned char *)t->text + t->len, false};
        size_t budget = LIMIT_NODES;
        struct node *root = arena_alloc(a, sizeof(*root));
        set->files[i].name = e->name;
        if (!root || strcmp(t->name, e->name) ||
            !nodebin_get(&r, a, src, &budget, root) || r.p != r.end) {
            diag_add(diags, SEV_ERROR, "schema", src, 0, 0,
                     "rebuild struere (make clean all)",
                     "the built-in schema %s does not decode from its packed "
                     "form",
                     e->name);
            C.failed = 1;
            continue;
        }
        set->files[i].root = root;
        if (node_get(root, "$id"))
            set->files[i].schema = compile_file(&C, root);
    }
    return C.failed || a->failed ? -1 : 0;
}

void schema_set_free(struct schema_set *set)
{
    for (size_t i = 0; i < set->npatterns; i++)
        regfree(set->patterns[i]);
    set->npatterns = 0;
}

const struct schema *schema_compile_data(struct arena *a,
                                         const struct node *field_schema,
                                         struct diag_list *diags)
{
    struct compiler C = {.a = a, .diags = diags, .data_mode = true};
    return compile(&C, field_schema);
}

const struct schema *schema_set_get(const struct schema_set *set,
                                    const char *name)
{
    for (size_t i = 0; i < set->nfiles; i++)
        if (!strcmp(set->files[i].name, name))
            return set->files[i].schema;
    return NULL;
}

const struct node *schema_set_file(const struct schema_set *set,
                                   const char *name)
{
    for (size_t i = 0; i < set->nfiles; i++)
        if (!strcmp(set->files[i].name, name))
            return set->files[i].root;
    return NULL;
}

static const struct schema *deref(const struct schema *s)
{
    for (int i = 0; s && s->target && i < 16; i++)
        s = s->target;
    return s;
}

static const struct schema_prop *find_prop(const struct schema *s,
                                           const char *key)
{
    struct schema_prop probe = {.name = key};
    if (!s->nprops)
        return NULL;
    return bsearch(&probe, s->props, s->nprops, sizeof(*s->props), cmp_prop);
}

const struct schema *schema_property(const struct schema *s, const char *key)
{
    s = deref(s);
    if (!s)
        return NULL;
    const struct schema_prop *p = find_prop(s, key);
    return p ? deref(p->schema) : NULL;
}

const struct node *schema_default(const struct schema *s, const char *key)
{
    const struct schema *p = schema_property(s, key);
    return p ? p->rare->default_value : NULL;
}

size_t schema_prop_count(const struct schema *s)
{
    s = deref(s);
    return s ? s->nprops : 0;
}

const char *schema_prop_name(const struct schema *s, size_t i)
{
    return deref(s)->props[i].name;
}

const struct schema *schema_prop_at(const struct schema *s, size_t i)
{
    return deref(deref(s)->props[i].schema);
}

const struct schema *schema_items(const struct schema *s)
{
    s = deref(s);
    return s ? deref(s->items) : NULL;
}

const struct schema *schema_additional(const struct schema *s)
{
    s = deref(s);
    return s && s->additional == ADD_SCHEMA ? deref(s->additional_schema)
                                            : NULL;
}

const struct node *schema_own_default(const struct schema *s)
{
    s = deref(s);
    return s ? s->rare->default_value : NULL;
}

bool schema_wants_integer(const struct schema *s)
{
    s = deref(s);
    return s && (s->types & T_INTEGER) && !(s->types & T_NUMBER);
}

bool schema_float_is_int64(double f)
{
    /* 2^63 is exact as a double; every integral double below it fits. */
    return isfinite(f) && f == floor(f) && f >= -9223372036854775808.0 &&
           f < 9223372036854775808.0;
}

const struct schema *schema_branch(const struct schema *s, const struct node *n)
{
    s = deref(s);
    if (!s || !s->none_of)
        return s;
    for (size_t i = 0; i < s->none_of; i++)
        if (discriminates(s->one_of[i], n) == 1)
            return deref(s->one_of[i]);
    return NULL;
}

const char *schema_description(const struct schema *s)
{
    s = deref(s);
    return s ? s->description : NULL;
}

/* ---- validating --------------------------------------------------------- */

struct vpath {
    const struct vpath *up;
    const char *key; /* NULL: index */
    size_t index;
};

struct vctx {
    struct diag_list *diags;
    const char *what;
    bool qualify; /* name `what` after every path, not only for the root */
    size_t errors;
};

static void render_path(const struct vpath *p, char *buf, size_t size)
{
    const struct vpath *segs[LIMIT_PATH_SEGMENTS];
    size_t n = 0;
    for (; p && n < LIMIT_PATH_SEGMENTS; p = p->up)
        segs[n++] = p;
    size_t used = 0;
    buf[0] = '\0';
    while (n-- > 0 && used < size) {
        int w;
        if (segs[n]->key)
            w = snprintf(buf + used, size - used, "%s%s", used ? "." : "",
                         segs[n]->key);
        else
            w = snprintf(buf + used, size - used, "[%zu]", segs[n]->index);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* "'model.temperature'" or the document's name for the root; nothing
 * while a oneOf branch is only being counted (V->diags NULL). */
static void describe(const struct vctx *V, const struct vpath *p, char *buf,
                     size_t size)
{
    if (!V->diags) {
        buf[0] = '\0';
        return;
    }
    char path[256];
    render_path(p, path, sizeof(path));
    if (path[0] && V->qualify)
        snprintf(buf, size, "'%s' in the %s", path, V->what);
    else if (path[0])
        snprintf(buf, size, "'%s'", path);
    else
        snprintf(buf, size, "the %s", V->what);
}

/* Expands {key} and {value} in an x- diagnostic text. */
static void expand(char *out, size_t size, const char *tmpl, const char *key,
                   const char *value)
{
    size_t used = 0;
    for (const char *t = tmpl; *t && used + 1 < size;) {
        const char *sub = NULL;
        size_t skip = 0;
        if (!strncmp(t, "{key}", 5)) {
            sub = key;
            skip = 5;
        } else if (!strncmp(t, "{value}", 7)) {
            sub = value;
            skip = 7;
        }
        if (sub) {
            int w = snprintf(out + used, size - used, "%s", sub);
            if (w < 0)
                break;
            used += (size_t)w < size - used ? (size_t)w : size - used - 1;
            t += skip;
        } else {
            out[used++] = *t++;
        }
    }
    out[used < size ? used : size - 1] = '\0';
}

static void report_x(struct vctx *V, const struct node *at,
                     const struct xdiag *x, const char *key, const char *value)
{
    char msg[512], hint[512];
    expand(msg, sizeof(msg), x->message, key ? key : "", value ? value : "");
    if (x->hint)
        expand(hint, sizeof(hint), x->hint, key ? key : "", value ? value : "");
    diag_error(V->diags, at, x->code, x->hint ? hint : NULL, "%s", msg);
    V->errors++;
}

/* Scalar node n as a diagnostic quotes it: its text, or where it holds
 * NULs (a YAML "\0"), a copy in buf with each written \0, so that the
 * message shows the whole value rather than its part before the first. */
static const char *shown_value(const struct node *n, char *buf, size_t size)
{
    size_t len = node_len(n), used = 0, i = 0;
    if (!memchr(n->str, '\0', len))
        return n->str;
    for (; i < len && used + 6 < size; i++) { /* room for \0 "..." NUL */
        if (n->str[i] == '\0') {
            buf[used++] = '\\';
            buf[used++] = '0';
        } else {
            buf[used++] = n->str[i];
        }
    }
    if (i < len) /* cut: said, not hidden */
        used += (size_t)snprintf(buf + used, size - used, "...");
    buf[used] = '\0';
    return buf;
}

static void types_text(unsigned types, char *buf, size_t size)
{
    static const char *names[] = {"a map",    "a list",     "a string",
                                  "a number", "an integer", "a boolean",
                                  "null"};
    size_t used = 0;
    buf[0] = '\0';
    int count = 0;
    for (int i = 0; i < 7; i++)
        if (types & (1u << i))
            count++;
    int seen = 0;
    for (int i = 0; i < 7; i++) {
        if (!(types & (1u << i)))
            continue;
        /* number includes integer */
        if ((1u << i) == T_INTEGER && (types & T_NUMBER)) {
            count--;
            continue;
        }
        const char *sep = seen == 0 ? "" : seen == count - 1 ? " or " : ", ";
        int w = snprintf(buf + used, size - used, "%s%s", sep, names[i]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
        seen++;
    }
}

static bool type_ok(unsigned types, const struct node *n)
{
    if (!types)
        return true;
    switch (n->type) {
    case NODE_MAP:
        return types & T_OBJECT;
    case NODE_SEQ:
        return types & T_ARRAY;
    case NODE_STRING:
        return types & T_STRING;
    case NODE_BOOL:
        return types & T_BOOLEAN;
    case NODE_NULL:
        return types & T_NULL;
    case NODE_INT:
        return types & (T_NUMBER | T_INTEGER);
    case NODE_FLOAT:
        if (types & T_NUMBER)
            return true;
        return (types & T_INTEGER) && schema_float_is_int64(node_float(n));
    }
    return false;
}

static void list_values(const struct node *seq, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < seq->n; i++) {
        /* A list or map among a data type's values is that type's own
         * error (kind_data.c): no value to offer. */
        if (seq->kids[i].type == NODE_MAP || seq->kids[i].type == NODE_SEQ)
            continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                         seq->kids[i].str);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

static void validate(const struct schema *s, const struct node *n,
                     const struct vpath *path, struct vctx *V, int depth);

static void check_type(const struct schema *s, const struct node *n,
                       const struct vpath *path, struct vctx *V, bool *ok)
{
    *ok = type_ok(s->types, n);
    if (*ok)
        return;
    char where[300], want[100], hint[300];
    describe(V, path, where, sizeof(where));
    if (n->type == NODE_FLOAT && (s->types & T_INTEGER)) {
        double f = node_float(n);
        if (isfinite(f) && f == floor(f)) {
            /* Integral, but past what an integer is kept exactly as. */
            diag_error(V->diags, n, "integer-out-of-range",
                       "use a smaller number",
                       "%s is out of range: integers are kept exactly, from "
                       "-9223372036854775808 to 9223372036854775807",
                       where);
            V->errors++;
            return;
        }
    }
    types_text(s->types, want, sizeof(want));
    const char *h = NULL;
    if ((s->types & T_STRING) && n->type != NODE_MAP && n->type != NODE_SEQ &&
        n->type != NODE_NULL) {
        snprintf(hint, sizeof(hint), "quote it: \"%s\"", n->str);
        h = hint;
    } else if (n->type == NODE_NULL) {
        h = "give it a value, or remove the key";
    } else if ((s->types & T_ARRAY) && n->type != NODE_SEQ) {
        h = "write a list: [a, b] or one '- item' per line";
    }
    diag_error(V->diags, n, "wrong-type", h, "%s must be %s, not %s", where,
               want, node_type_name(n->type));
    V->errors++;
}

static void check_map(const struct schema *s, const struct node *n,
                      const struct vpath *path, struct vctx *V, int depth)
{
    char where[300];
    for (size_t i = 0; i < n->n; i++) {
        const struct node *k = &n->kids[2 * i];
        const struct node *v = &n->kids[2 * i + 1];
        struct vpath sub = {.up = path, .key = k->str};
        /* No property's name holds a NUL: a key that does ("slug\0x") is
         * not the property its part before the NUL names. */
        const struct schema_prop *p =
            memchr(k->str, '\0', node_len(k)) ? NULL : find_prop(s, k->str);
        if (p) {
            const struct schema *ps = deref(p->schema);
            if (ps && ps->rare->x_error) {
                report_x(V, k, ps->rare->x_error, k->str, node_text(v));
                continue;
            }
            validate(p->schema, v, &sub, V, depth + 1);
            continue;
        }
        if (s->additional == ADD_SCHEMA) {
            validate(s->additional_schema, v, &sub, V, depth + 1);
            continue;
        }
        if (s->additional != ADD_NONE)
            continue;
        struct suggest sg;
        suggest_init(&sg, k->str);
        for (size_t j = 0; j < s->nprops; j++) {
            const struct schema *ps = deref(s->props[j].schema);
            if (!(ps && ps->rare->x_error))
                suggest_offer(&sg, s->props[j].name);
        }
        char hint[600];
        if (suggest_best(&sg)) {
            snprintf(hint, sizeof(hint), "did you mean '%s'?",
                     suggest_best(&sg));
        } else {
            size_t used =
                (size_t)snprintf(hint, sizeof(hint), "allowed keys: ");
            for (size_t j = 0; j < s->nprops && used < sizeof(hint); j++) {
                const struct schema *ps = deref(s->props[j].schema);
                if (ps && ps->rare->x_error)
                    continue;
                int w = snprintf(hint + used, sizeof(hint) - used, "%s%s",
                                 used > 14 ? ", " : "", s->props[j].name);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
        }
        describe(V, path, where, sizeof(where));
        char shown[256];
        diag_error(V->diags, k, "unknown-key", hint, "unknown key '%s' in %s",
                   shown_value(k, shown, sizeof(shown)), where);
        V->errors++;
    }
    for (size_t r = 0; r < s->nrequired; r++) {
        if (node_get_key(n, s->required[r]))
            continue;
        describe(V, path, where, sizeof(where));
        const struct schema *ps = schema_property(s, s->required[r]);
        char hint[400];
        const char *h = NULL;
        if (ps && ps->description) {
            snprintf(hint, sizeof(hint), "add '%s:' (%s)", s->required[r],
                     ps->description);
            h = hint;
        }
        diag_error(V->diags, n, "missing-field", h,
                   "%s is missing required key '%s'", where, s->required[r]);
        V->errors++;
    }
}

static bool enum_has(const struct node *enums, const struct node *n)
{
    for (size_t i = 0; i < enums->n; i++)
        if (node_equal(&enums->kids[i], n))
            return true;
    return false;
}

static void check_scalar(const struct schema *s, const struct node *n,
                         const struct vpath *path, struct vctx *V)
{
    char where[300], hint[400], shown[256];
    const char *key = path && path->key ? path->key : "";
    if (s->enums && !enum_has(s->enums, n)) {
        for (size_t i = 0; i < s->rare->nx_enum; i++) {
            if (n->type == NODE_STRING && !memchr(n->str, '\0', node_len(n)) &&
                !strcmp(s->rare->x_enum[i].value, n->str)) {
                report_x(V, n, &s->rare->x_enum[i].diag, key, n->str);
                return;
            }
        }
        char values[400];
        list_values(s->enums, values, sizeof(values));
        describe(V, path, where, sizeof(where));
        struct suggest sg;
        suggest_init(&sg, n->str);
        for (size_t i = 0; i < s->enums->n; i++)
            if (s->enums->kids[i].type != NODE_MAP &&
                s->enums->kids[i].type != NODE_SEQ)
                suggest_offer(&sg, s->enums->kids[i].str);
        if (suggest_best(&sg))
            snprintf(hint, sizeof(hint), "did you mean '%s'?",
                     suggest_best(&sg));
        diag_error(V->diags, n, "bad-enum", suggest_best(&sg) ? hint : NULL,
                   "%s must be one of %s, not '%s'", where, values,
                   shown_value(n, shown, sizeof(shown)));
        V->errors++;
        return;
    }
    if (s->rare->constv && !node_equal(s->rare->constv, n)) {
        describe(V, path, where, sizeof(where));
        diag_error(V->diags, n, "bad-value", NULL, "%s must be '%s', not '%s'",
                   where, node_text(s->rare->constv),
                   shown_value(n, shown, sizeof(shown)));
        V->errors++;
        return;
    }
    if (n->type == NODE_STRING) {
        /* The whole string, NULs included (a YAML "\0"): regexec alone
         * would stop at the first, so that "a\0b" would pass as "a" and
         * be written cut there. REG_STARTEND bounds it by its length. */
        regmatch_t whole = {.rm_so = 0, .rm_eo = (regoff_t)node_len(n)};
        if (s->rare->pattern_src &&
            (s->rare->slug_shape ? !slug_shaped(n->str, node_len(n))
                                 : regexec(&s->rare->pattern, n->str, 1, &whole,
                                           REG_STARTEND) != 0)) {
            const char *value = shown_value(n, shown, sizeof(shown));
            if (s->rare->x_pattern_error) {
                report_x(V, n, s->rare->x_pattern_error, key, value);
                return;
            }
            describe(V, path, where, sizeof(where));
            diag_error(V->diags, n, "bad-pattern", NULL,
                       "%s value '%s' does not match the pattern %s", where,
                       value, s->rare->pattern_src);
            V->errors++;
            return;
        }
        /* Characters are counted only when the bytes cannot tell: a
         * text (UTF-8, checked when read) has between a quarter of its
         * bytes, rounded up, and all of them. */
        long bytes = (long)node_len(n), fewest = (bytes + 3) / 4;
        if ((s->rare->min_len >= 0 && fewest < s->rare->min_len) ||
            (s->rare->max_len >= 0 && bytes > s->rare->max_len)) {
            long chars = 0;
            for (long i = 0; i < bytes; i++)
                if (((unsigned char)n->str[i] & 0xC0) != 0x80)
                    chars++;
            if (s->rare->min_len >= 0 && chars < s->rare->min_len) {
                describe(V, path, where, sizeof(where));
                diag_error(V->diags, n, "too-short", NULL,
                           s->rare->min_len == 1
                               ? "%s must not be empty"
                               : "%s must be at least %ld characters long",
                           where, s->rare->min_len);
                V->errors++;
            } else if (s->rare->max_len >= 0 && chars > s->rare->max_len) {
                describe(V, path, where, sizeof(where));
                diag_error(V->diags, n, "too-long", NULL,
                           "%s must be at most %ld characters long", where,
                           s->rare->max_len);
                V->errors++;
            }
        }
    }
    double d;
    if (node_number(n, &d)) {
        if ((s->rare->has_min && !(d >= s->rare->min)) ||
            (s->rare->has_max && !(d <= s->rare->max))) {
            describe(V, path, where, sizeof(where));
            if (s->rare->has_min && s->rare->has_max)
                diag_error(V->diags, n, "out-of-range", NULL,
                           "%s must be between %g and %g, not %s", where,
                           s->rare->min, s->rare->max, n->str);
            else if (s->rare->has_min)
                diag_error(V->diags, n, "out-of-range", NULL,
                           "%s must be at least %g, not %s", where,
                           s->rare->min, n->str);
            else
                diag_error(V->diags, n, "out-of-range", NULL,
                           "%s must be at most %g, not %s", where, s->rare->max,
                           n->str);
            V->errors++;
        }
    }
}

/* For oneOf: does branch b's discriminator (const/enum properties) agree
 * with n? Returns 1 yes, 0 no, -1 branch has no discriminator. */
static int discriminates(const struct schema *b, const struct node *n)
{
    b = deref(b);
    int has = -1;
    for (size_t i = 0; i < b->nprops; i++) {
        const struct schema *p = deref(b->props[i].schema);
        if (!p || !(p->rare->constv || p->enums))
            continue;
        const struct node *v = node_get(n, b->props[i].name);
        has = 1;
        if (!v)
            return 0;
        if (p->rare->constv && !node_equal(p->rare->constv, v))
            return 0;
        if (p->enums && !enum_has(p->enums, v))
            return 0;
    }
    return has;
}

static void check_one_of(const struct schema *s, const struct node *n,
                         const struct vpath *path, struct vctx *V, int depth)
{
    /* Fast path: when the branches are told apart by constants and
     * exactly one claims n, it is the only one to validate. */
    int claimed = -1, claims = 0, undecided = 0;
    for (size_t i = 0; i < s->none_of; i++) {
        int d = discriminates(s->one_of[i], n);
        if (d == 1) {
            claimed = (int)i;
            claims++;
        } else if (d < 0) {
            undecided++;
        }
    }
    if (claims == 1 && undecided == 0) {
        validate(s->one_of[claimed], n, path, V, depth + 1);
        return;
    }
    /* Each branch is tried counting its errors only: no message is
     * formatted for a branch that is not reported. */
    struct diag_list *saved = V->diags;
    size_t saved_errors = V->errors;
    size_t matches = 0;
    int chosen = -1;
    for (size_t i = 0; i < s->none_of; i++) {
        V->diags = NULL;
        V->errors = 0;
        validate(s->one_of[i], n, path, V, depth + 1);
        if (V->errors == 0)
            matches++;
        if (discriminates(s->one_of[i], n) == 1)
            chosen = (int)i;
    }
    V->diags = saved;
    V->errors = saved_errors;
    if (matches == 1)
        return;
    char where[300];
    describe(V, path, where, sizeof(where));
    if (matches > 1) {
        diag_error(V->diags, n, "ambiguous", NULL,
                   "%s matches more than one allowed form", where);
        V->errors++;
        return;
    }
    if (chosen >= 0) {
        validate(s->one_of[chosen], n, path, V, depth + 1);
        return;
    }
    /* No branch claims n: report the discriminating key's choices. */
    if (n->type == NODE_MAP) {
        const struct schema *b0 = deref(s->one_of[0]);
        for (size_t i = 0; b0 && i < b0->nprops; i++) {
            const struct schema *p = deref(b0->props[i].schema);
            if (!p || !(p->rare->constv || p->enums))
                continue;
            const char *key = b0->props[i].name;
            const struct node *v = node_get(n, key);
            if (!v) {
                describe(V, path, where, sizeof(where));
                diag_error(V->diags, n, "missing-field",
                           "it decides which other keys are allowed",
                           "%s is missing required key '%s'", where, key);
                V->errors++;
                return;
            }
            char values[400];
            size_t used = 0;
            values[0] = '\0';
            struct suggest sg;
            suggest_init(&sg, node_text(v));
            for (size_t j = 0; j < s->none_of; j++) {
                const struct schema *pj = schema_property(s->one_of[j], key);
                if (!pj)
                    continue;
                const struct node *vals[64];
                size_t nv = 0;
                if (pj->rare->constv)
                    vals[nv++] = pj->rare->constv;
                for (size_t e = 0; pj->enums && e < pj->enums->n && nv < 64;
                     e++)
                    vals[nv++] = &pj->enums->kids[e];
                for (size_t e = 0; e < nv; e++) {
                    suggest_offer(&sg, node_text(vals[e]));
                    int w =
                        snprintf(values + used, sizeof(values) - used, "%s%s",
                                 used ? ", " : "", node_text(vals[e]));
                    if (w > 0 && (size_t)w < sizeof(values) - used)
                        used += (size_t)w;
                }
            }
            struct vpath sub = {.up = path, .key = key};
            describe(V, &sub, where, sizeof(where));
            char hint[200], shown[256];
            if (suggest_best(&sg))
                snprintf(hint, sizeof(hint), "did you mean '%s'?",
                         suggest_best(&sg));
            if (v->type == NODE_MAP || v->type == NODE_SEQ)
                diag_error(V->diags, v, "bad-enum", NULL,
                           "%s must be one of %s, not %s", where, values,
                           node_type_name((enum node_type)v->type));
            else
                diag_error(V->diags, v, "bad-enum",
                           suggest_best(&sg) ? hint : NULL,
                           "%s must be one of %s, not '%s'", where, values,
                           shown_value(v, shown, sizeof(shown)));
            V->errors++;
            return;
        }
    }
    diag_error(V->diags, n, "no-match", NULL,
               "%s does not match any allowed form", where);
    V->errors++;
}

static void validate(const struct schema *s, const struct node *n,
                     const struct vpath *path, struct vctx *V, int depth)
{
    s = deref(s);
    if (!s || !n)
        return;
    if (depth > 2 * LIMIT_DEPTH) { /* unreachable: the adapter limits depth */
        diag_error(V->diags, n, "too-deep", NULL, "nesting is too deep");
        V->errors++;
        return;
    }
    if (s->none_of) {
        check_one_of(s, n, path, V, depth);
        return;
    }
    bool ok;
    check_type(s, n, path, V, &ok);
    if (!ok)
        return;
    if (n->type == NODE_MAP) {
        check_map(s, n, path, V, depth);
        return;
    }
    if (n->type == NODE_SEQ) {
        char where[300];
        if (s->rare->min_items >= 0 && (long)n->n < s->rare->min_items) {
            describe(V, path, where, sizeof(where));
            diag_error(V->diags, n, "too-few-items", NULL,
                       s->rare->min_items == 1
                           ? "%s must have at least one item"
                           : "%s must have at least %ld items",
                       where, s->rare->min_items);
            V->errors++;
        }
        if (s->rare->max_items >= 0 && (long)n->n > s->rare->max_items) {
            describe(V, path, where, sizeof(where));
            diag_error(V->diags, n, "too-many-items", NULL,
                       "%s must have at most %ld items", where,
                       s->rare->max_items);
            V->errors++;
        }
        if (s->items)
            for (size_t i = 0; i < n->n; i++) {
                struct vpath sub = {.up = path, .index = i};
                validate(s->items, &n->kids[i], &sub, V, depth + 1);
            }
        return;
    }
    check_scalar(s, n, path, V);
}

size_t schema_validate(const struct schema *s, const struct node *n,
                       const char *what, struct diag_list *diags)
{
    struct vctx V = {.diags = diags, .what = what};
    validate(s, n, NULL, &V, 0);
    return V.errors;
}

size_t schema_validate_within(const struct schema *s, const struct node *n,
                              const char *what, struct diag_list *diags)
{
    struct vctx V = {.diags = diags, .what = what, .qualify = true};
    validate(s, n, NULL, &V, 0);
    return V.errors;
}
