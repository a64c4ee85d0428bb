/*
 * kind_fixture.c - eval fixtures: record refs unique across all fixture
 * files, record data valid against its data type's schema, `references`
 * fields and relations naming records (of the right type).
 */
#include <stdio.h>
#include <string.h>

#include "index.h"
#include "kinds.h"
#include "pool.h"
#include "node.h"
#include "schema.h"
#include "source.h"

void fixture_check_file(struct check_ctx *c, struct def *d,
                        const struct node *view)
{
    (void)c;
    (void)d;
    (void)view;
}

static const struct schema *compile_record(struct check_ctx *c,
                                           struct def *data);

void fixture_index_refs(struct check_ctx *c)
{
    struct project *p = c->project;
    size_t total = 0;
    for (size_t i = 0; i < p->ndefs[KIND_FIXTURE]; i++) {
        const struct node *ents =
            node_get(p->defs[KIND_FIXTURE][i].view[c->env], "entities");
        total += ents && ents->type == NODE_SEQ ? ents->n : 0;
    }
    c->fixture_refs = index_new(c->arena, total);
    for (size_t i = 0; i < p->ndefs[KIND_FIXTURE]; i++) {
        struct def *d = &p->defs[KIND_FIXTURE][i];
        if (!d->root)
            continue;
        const struct node *ents = node_get(d->view[c->env], "entities");
        for (size_t e = 0; ents && ents->type == NODE_SEQ && e < ents->n; e++) {
            const struct node *ref = node_get(&ents->kids[e], "ref");
            if (!ref || ref->type != NODE_STRING)
                continue;
            const struct node *first =
                index_put(c->fixture_refs, ref->str, &ents->kids[e]);
            if (first) {
                const struct node *fref = node_get(first, "ref");
                diag_error(c->diags, ref, "duplicate-ref",
                           "refs name records across all fixture files; "
                           "make this one unique",
                           "record ref '%s' is already used at %s:%d", ref->str,
                           node_source(fref) ? node_source(fref)->path : "?",
                           fref->line);
            }
        }
    }
}

struct schemas_job {
    struct check_ctx *c;
    const struct schema **out;
};

static void compile_one(void *ctx, size_t i, unsigned w)
{
    struct schemas_job *j = ctx;
    struct project *p = j->c->project;
    struct def *d = &p->defs[KIND_DATA][i];
    struct check_ctx mine = *j->c;
    mine.arena = p->nworkers ? &p->worker_arenas[w].a : j->c->arena;
    if (d->root && d->slug)
        j->out[i] = compile_record(&mine, d);
}

/* Compiles the record schema of every data type of the environment (on
 * the worker pool), so that the parallel reference checks only read
 * them. The first data type of a slug is the one records are checked
 * against (a duplicate slug is an error of its own). */
void fixture_prepare_schemas(struct check_ctx *c)
{
    struct project *p = c->project;
    size_t n = p->ndefs[KIND_DATA];
    c->record_schemas = index_new(c->arena, n);
    struct schemas_job job = {
        c, arena_alloc(c->arena, (n + 1) * sizeof(*job.out))};
    if (!job.out)
        return; /* out of memory: the arena says so */
    unsigned workers = p->nworkers ? (unsigned)p->nworkers : 1;
    pool_run(workers, n, compile_one, &job);
    for (size_t i = 0; i < n; i++) {
        struct def *d = &p->defs[KIND_DATA][i];
        if (d->root && d->slug && !index_get(c->record_schemas, d->slug))
            index_put(c->record_schemas, d->slug, (void *)job.out[i]);
    }
}

static const struct schema *record_schema(struct check_ctx *c, struct def *data)
{
    return index_get(c->record_schemas, data->slug);
}

static const struct schema *compile_record(struct check_ctx *c,
                                           struct def *data)
{
    const struct schema *s;
    /* The data type's own errors are reported on its file; compiling it
     * again for records must not repeat them. */
    struct diag_list scratch;
    diag_list_init(&scratch, c->arena);
    s = schema_compile_data(c->arena, node_get(data->view[c->env], "schema"),
                            &scratch);
    return s;
}

/* A field's dotted path in a record ("address.city"), kept as the chain
 * of its names and written out only for a report: most records have no
 * problem, and each of their fields would otherwise format its path. */
struct field_path {
    const struct field_path *up; /* NULL at the record's top level */
    const char *name;
};

static void path_text(const struct field_path *f, char *buf, size_t size)
{
    if (!f) {
        buf[0] = '\0';
        return;
    }
    path_text(f->up, buf, size);
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s%s", used ? "." : "", f->name);
}

static void check_ref_to(struct check_ctx *c, const struct node *v,
                         const char *type, const struct field_path *field)
{
    if (!v || v->type != NODE_STRING)
        return;
    const struct node *target = check_fixture_ref(c, v->str);
    const char *ttype = target ? node_get_str(target, "type") : NULL;
    if (target && (!ttype || !strcmp(ttype, type)))
        return;
    char path[256];
    path_text(field, path, sizeof(path));
    if (!target)
        diag_error(c->diags, v, "unknown-fixture-ref",
                   "reference fields hold the ref of a fixture record",
                   "'%s' references record '%s', which no fixture defines",
                   path, v->str);
    else
        diag_error(c->diags, v, "fixture-ref-type",
                   "point it at a record of the referenced type",
                   "'%s' must reference a '%s' record, but '%s' is a '%s'",
                   path, type, v->str, ttype);
}

/* Follows the data type's field schema through the record's data,
 * checking every `references` field. */
static void check_references(struct check_ctx *c, const struct node *schema,
                             const struct node *data,
                             const struct field_path *path, int depth)
{
    const struct node *props = node_get(schema, "properties");
    if (!props || props->type != NODE_MAP || !data || data->type != NODE_MAP ||
        depth > 64)
        return;
    for (size_t i = 0; i < props->n; i++) {
        const char *name = props->kids[2 * i].str;
        const struct node *f = &props->kids[2 * i + 1];
        const struct node *v = node_get(data, name);
        if (!v)
            continue;
        const struct field_path sub_path = {path, name}, *sub = &sub_path;
        const char *ref = node_get_str(f, "references");
        if (ref) {
            check_ref_to(c, v, ref, sub);
            continue;
        }
        const struct node *items = node_get(f, "items");
        if (v->type == NODE_SEQ && items) {
            const char *iref = node_get_str(items, "references");
            for (size_t k = 0; k < v->n; k++) {
                if (iref)
                    check_ref_to(c, &v->kids[k], iref, sub);
                else
                    check_references(c, items, &v->kids[k], sub, depth + 1);
            }
            continue;
        }
        check_references(c, f, v, sub, depth + 1);
    }
}

void fixture_check_refs(struct check_ctx *c, struct def *d,
                        const struct node *view)
{
    (void)d;
    const struct node *ents = node_get(view, "entities");
    for (size_t e = 0; ents && ents->type == NODE_SEQ && e < ents->n; e++) {
        const struct node *ent = &ents->kids[e];
        const struct node *type = node_get(ent, "type");
        if (!type || type->type != NODE_STRING)
            continue;
        struct def *data = check_lookup(c, KIND_DATA, type->str);
        if (!data) {
            check_unknown_ref(c, type, KIND_DATA, "unknown-data-type",
                              "data type", NULL);
            continue;
        }
        if (!data->root || !data->slug)
            continue;
        const struct node *rec = node_get(ent, "data");
        if (!rec)
            continue;
        char what[200];
        snprintf(what, sizeof(what), "data of record '%s'",
                 node_get_str(ent, "ref") ? node_get_str(ent, "ref") : "?");
        schema_validate_within(record_schema(c, data), rec, what, c->diags);
        check_references(c, node_get(data->view[c->env], "schema"), rec, NULL,
                         0);
    }
    const struct node *rels = node_get(view, "relations");
    for (size_t r = 0; rels && rels->type == NODE_SEQ && r < rels->n; r++) {
        const char *ends[] = {"from", "to"};
        for (int k = 0; k < 2; k++) {
            const struct node *v = node_get(&rels->kids[r], ends[k]);
            if (v && v->type == NODE_STRING && !check_fixture_ref(c, v->str))
                diag_error(c->diags, v, "unknown-fixture-ref",
                           "relations connect records by their ref",
                           "relation '%s' names record '%s', which no "
                           "fixture defines",
                           ends[k], v->str);
        }
    }
}
