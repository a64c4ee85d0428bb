/*
 * emit.c - definitions to canonical JSON. The schema walk adds defaults
 * for absent keys at every level a value is present; everything else is
 * the user's data, converted type for type.
 */
#include "emit.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "index.h"
#include "kinds.h"
#include "node.h"
#include "schema.h"
#include "slug.h"

json_t *emit_node(const struct node *n)
{
    if (!n)
        return json_null();
    switch (n->type) {
    case NODE_NULL:
        return json_null();
    case NODE_BOOL:
        return json_boolean(n->b);
    case NODE_INT:
        return json_integer(node_int(n));
    case NODE_FLOAT: {
        /* JSON has no NaN or infinities; they have no meaning here. */
        double f = node_float(n);
        return isfinite(f) ? json_real(f) : json_null();
    }
    case NODE_STRING:
        return json_stringn(n->str, node_len(n));
    case NODE_SEQ: {
        json_t *a = json_array();
        for (size_t i = 0; i < n->n; i++)
            json_array_append_new(a, emit_node(&n->kids[i]));
        return a;
    }
    case NODE_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; i < n->n; i++)
            json_object_setn_new(o, n->kids[2 * i].str,
                                 node_len(&n->kids[2 * i]),
                                 emit_node(&n->kids[2 * i + 1]));
        return o;
    }
    }
    return json_null();
}

/* The value n under schema s, with defaults of absent properties. */
static json_t *with_defaults(const struct schema *s, const struct node *n,
                             int depth)
{
    if (!s || !n || depth > 128)
        return emit_node(n);
    s = schema_branch(s, n);
    if (!s)
        return emit_node(n);
    if (n->type == NODE_SEQ) {
        const struct schema *items = schema_items(s);
        json_t *a = json_array();
        for (size_t i = 0; i < n->n; i++)
            json_array_append_new(a,
                                  with_defaults(items, &n->kids[i], depth + 1));
        return a;
    }
    if (n->type == NODE_FLOAT && schema_wants_integer(s)) {
        double f = node_float(n);
        if (schema_float_is_int64(f))
            return json_integer((json_int_t)f); /* `1e3`: 1000 */
    }
    if (n->type != NODE_MAP)
        return emit_node(n);
    json_t *o = json_object();
    for (size_t i = 0; i < n->n; i++) {
        const struct node *k = &n->kids[2 * i];
        const struct schema *ps = schema_property(s, k->str);
        if (!ps)
            ps = schema_additional(s);
        json_object_setn_new(o, k->str, node_len(k),
                             with_defaults(ps, &n->kids[2 * i + 1], depth + 1));
    }
    for (size_t i = 0; i < schema_prop_count(s); i++) {
        const char *name = schema_prop_name(s, i);
        const struct schema *ps = schema_prop_at(s, i);
        const struct node *def = schema_own_default(ps);
        if (def && !node_get_key(n, name))
            json_object_set_new(o, name, with_defaults(ps, def, depth + 1));
    }
    return o;
}

/* A tool agents may list: a built-in (its node in builtin-tools.yaml) or
 * a custom tool, and its summary once an agent has needed it. */
struct tool_entry {
    const struct node *builtin;
    const struct def *custom;
    json_t *summary; /* {name, description, parameters, ...}, or NULL */
};

struct emit_env {
    const struct project *p;
    enum env e;
    struct arena arena;
    /* name -> struct tool_entry: indexed when the first agent is emitted
     * and summarised tool by tool as agents list them, so that a compile
     * that emits one agent summarises only that agent's tools. */
    pthread_mutex_t lock;
    struct index *tools;
};

static json_t *tool_summary(json_t *body, bool builtin)
{
    json_t *out = json_object();
    const char *keep[] = {"name", "description", "parameters", "templateOnly"};
    for (size_t k = 0; k < 4; k++) {
        json_t *v = json_object_get(body, keep[k]);
        if (v)
            json_object_set_new(out, keep[k], json_deep_copy(v));
    }
    json_object_set_new(out, "builtin", json_boolean(builtin));
    return out;
}

struct emit_env *emit_env_new(const struct project *p, enum env e)
{
    struct emit_env *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    x->p = p;
    x->e = e;
    arena_init(&x->arena);
    pthread_mutex_init(&x->lock, NULL);
    return x;
}

/* The summary of tool `name` as agents carry it, or NULL for a name that
 * is no tool (thread-safe; made once per environment). */
static json_t *tool_for_agent(const struct emit_env *cx, const char *name)
{
    struct emit_env *x = (struct emit_env *)cx;
    const struct project *p = x->p;
    pthread_mutex_lock(&x->lock);
    if (!x->tools) {
        const struct node *list =
            node_get(schema_set_file(&p->schemas, "builtin-tools"), "tools");
        size_t nb = list && list->type == NODE_SEQ ? list->n : 0;
        x->tools = index_new(&x->arena, nb + p->ndefs[KIND_TOOL]);
        for (size_t i = 0; i < nb; i++) {
            const char *tname = node_get_str(&list->kids[i], "name");
            if (!tname || index_get(x->tools, tname))
                continue;
            struct tool_entry *t = arena_alloc(&x->arena, sizeof(*t));
            if (!t)
                break; /* out of memory: emit_env_failed says so */
            t->builtin = &list->kids[i];
            index_put(x->tools, tname, t);
        }
        for (size_t i = 0; i < p->ndefs[KIND_TOOL]; i++) {
            const struct def *d = &p->defs[KIND_TOOL][i];
            if (!d->root || !d->slug || index_get(x->tools, d->slug))
                continue;
            struct tool_entry *t = arena_alloc(&x->arena, sizeof(*t));
            if (!t)
                break;
            t->custom = d;
            index_put(x->tools, d->slug, t);
        }
    }
    struct tool_entry *t = index_get(x->tools, name);
    if (t && !t->summary) {
        json_t *body =
            t->builtin ? emit_node(t->builtin) : emit_definition(x, t->custom);
        t->summary = tool_summary(body, t->builtin != NULL);
        json_decref(body);
    }
    json_t *summary = t ? t->summary : NULL;
    pthread_mutex_unlock(&x->lock);
    return summary;
}

bool emit_env_failed(const struct emit_env *x)
{
    return x->arena.failed != 0;
}

void emit_env_free(struct emit_env *x)
{
    if (!x)
        return;
    for (size_t i = 0; x->tools && i < x->tools->cap; i++)
        if (x->tools->keys[i])
            json_decref(((struct tool_entry *)x->tools->values[i])->summary);
    pthread_mutex_destroy(&x->lock);
    arena_free(&x->arena);
    free(x);
}

json_t *emit_definition(const struct emit_env *x, const struct def *d)
{
    const struct project *p = x->p;
    const char *sname = kind_table[d->kind].name;
    const struct schema *s = schema_set_get(&p->schemas, sname);
    const struct node *view = d->view[x->e] ? d->view[x->e] : d->root;
    json_t *o = with_defaults(s, view, 0);
    json_object_del(o, "environments");
    switch (d->kind) {
    case KIND_ROLE:
        json_object_set_new(o, "slug", json_string(d->slug));
        break;
    case KIND_DATA:
        /* userIdField means something only for a bound data type. */
        if (!json_object_get(o, "boundToRole"))
            json_object_del(o, "userIdField");
        break;
    case KIND_AGENT: {
        json_t *names = json_object_get(o, "tools");
        json_t *tools = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(names, i, v)
        {
            const char *name = json_string_value(v);
            json_t *t = name ? tool_for_agent(x, name) : NULL;
            if (t)
                json_array_append_new(tools, json_deep_copy(t));
        }
        json_object_set_new(o, "tools", tools);
        break;
    }
    case KIND_FIXTURE: {
        json_t *ents = json_object_get(o, "entities");
        size_t i;
        json_t *v;
        json_array_foreach(ents, i, v)
        {
            json_t *ref = json_object_get(v, "ref");
            if (ref)
                json_object_set(v, "_id", ref);
        }
        break;
    }
    default:
        break;
    }
    return o;
}

char *emit_canonical(const json_t *body)
{
    return json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(15));
}
