/*
 * check.c - cross-definition checks, once per environment, over each
 * environment's view of every definition. Findings that are the same in
 * several environments are reported once (diag_sort_unique).
 */
#include "check.h"

#include <string.h>

#include "arena.h"
#include "index.h"
#include "kinds.h"
#include "node.h"
#include "project.h"

static void build_index(struct check_ctx *c, enum kind k)
{
    struct project *p = c->project;
    c->index[k] = index_new(c->arena, p->ndefs[k]);
    c->broken[k] = index_new(c->arena, 4);
    if (!(kind_table[k].envs & (1u << c->env)))
        return;
    for (size_t i = 0; i < p->ndefs[k]; i++) {
        struct def *d = &p->defs[k][i];
        if (!d->root || !d->slug) {
            /* Known by its file name only: references to it are not
             * errors of their own. */
            const char *base = strrchr(d->path, '/');
            base = base ? base + 1 : d->path;
            index_put(c->broken[k],
                      arena_strndup(c->arena, base, strcspn(base, ".")), d);
            continue;
        }
        struct def *first = index_put(c->index[k], d->slug, d);
        if (first)
            diag_error(c->diags, d->slug_node, "duplicate-slug",
                       "slugs are identities: give each definition its own",
                       "%s '%s' is already defined in %s:%d",
                       kind_table[k].name, d->slug, first->path,
                       first->slug_node ? first->slug_node->line : 0);
    }
}

static void check_env(struct project *p, enum env e)
{
    struct check_ctx c = {
        .project = p,
        .env = e,
        .diags = &p->diags,
        .arena = &p->arena,
        .builtin_tools = schema_set_file(&p->schemas, "builtin-tools"),
    };
    for (int k = 0; k < KIND_COUNT; k++)
        build_index(&c, (enum kind)k);
    if (e == ENV_EVAL)
        fixture_index_refs(&c);
    for (int k = 0; k < KIND_COUNT; k++) {
        const struct kind_ops *ops = &kind_table[k];
        if (!ops->check_refs || !(ops->envs & (1u << e)))
            continue;
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            struct def *d = &p->defs[k][i];
            if (d->root)
                ops->check_refs(&c, d, d->view[e]);
        }
    }
    data_check_bindings(&c);
    if (kind_table[KIND_AUTOMATION].envs & (1u << e))
        automation_check_cascades(&c);
}

void check_definitions(struct project *p)
{
    for (int e = 0; e < ENV_COUNT; e++)
        check_env(p, (enum env)e);
    diag_sort_unique(&p->diags);
}

int check_project(struct project *p, const char *dir, unsigned threads)
{
    if (project_load(p, dir, threads) < 0)
        return -1;
    if (p->config)
        check_definitions(p);
    else
        diag_sort_unique(&p->diags);
    return 0;
}
