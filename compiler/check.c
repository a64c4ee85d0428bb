/*
 * check.c - cross-definition checks, once per environment, over each
 * environment's view of every definition. Findings that are the same in
 * several environments are reported once (diag_sort_unique).
 */
#include "check.h"

#include <string.h>

#include "arena.h"
#include "defcache.h"
#include "index.h"
#include "kinds.h"
#include "node.h"
#include "pool.h"
#include "progress.h"
#include "project.h"
#include "xcheck.h"

static void build_index(struct check_ctx *c, enum kind k)
{
    struct project *p = c->project;
    c->index[k] = index_new(c->arena, p->ndefs[k]);
    c->broken[k] = index_new(c->arena, 4);
    if (!(kind_checked_envs(&kind_table[k]) & (1u << c->env)))
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

/* What one worker of check_parallel writes as it checks, alone on its
 * cache lines (as struct worker_arena, project.h). */
struct refs_worker {
    _Alignas(64) struct check_ctx c;
    struct diag_list list;
    struct xcheck_rec rec;
};

struct refs_job {
    struct refs_worker *per_worker;
    struct def **defs;
};

static void check_one(void *ctx, size_t i, unsigned w)
{
    struct refs_job *j = ctx;
    struct check_ctx *c = &j->per_worker[w].c;
    struct def *d = j->defs[i];
    size_t reported = c->diags->n;
    if (c->rec)
        xcheck_rec_begin(c->rec);
    kind_table[d->kind].check_refs(c, d, d->view[c->env]);
    /* A check that reported nothing keeps what it read (xcheck.h). */
    if (c->rec && c->diags->n == reported)
        d->xcheck[c->env] =
            xcheck_rec_end(c->rec, c->arena, &d->xcheck_len[c->env]);
}

/* Runs the kinds' reference checks over defs on the worker pool; each
 * worker reports into its own list, appended in order afterwards. */
static void check_parallel(struct check_ctx *c, struct def **defs, size_t n)
{
    struct project *p = c->project;
    unsigned workers = p->nworkers ? (unsigned)p->nworkers : 1;
    struct refs_worker per[POOL_MAX_THREADS];
    if (workers > POOL_MAX_THREADS)
        workers = POOL_MAX_THREADS;
    for (unsigned w = 0; w < workers; w++) {
        struct refs_worker *r = &per[w];
        struct arena *a = p->nworkers ? &p->worker_arenas[w].a : c->arena;
        r->c = *c;
        memset(&r->rec, 0, sizeof(r->rec));
        diag_list_init(&r->list, a);
        r->c.diags = &r->list;
        r->c.arena = a;
        r->c.rec = p->keep_xchecks ? &r->rec : NULL;
    }
    struct refs_job job = {per, defs};
    pool_run(workers, n, check_one, &job);
    for (unsigned w = 0; w < workers; w++) {
        diag_append(c->diags, &per[w].list);
        xcheck_rec_free(&per[w].rec);
    }
}

/* Whether d's result in environment e can be taken from the cache: its
 * file unchanged, and every read of the result finding the same now. */
static bool reuse_xcheck(struct check_ctx *c, struct def *d)
{
    struct project *p = c->project;
    const unsigned char *bytes;
    size_t len;
    if (!p->keep_xchecks || !d->restored ||
        !defcache_xcheck(p->cache, p, d, c->env, &bytes, &len) ||
        !xcheck_holds(c, bytes, len))
        return false;
    d->xcheck[c->env] = bytes;
    d->xcheck_len[c->env] = (uint32_t)len;
    p->xchecks_reused++;
    return true;
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
    /* Without overlays in this environment or in development, every view
     * is development's: kinds checked there need no second pass (and an
     * environment with no kind of its own needs no pass at all). */
    unsigned dev = 1u << ENV_DEVELOPMENT;
    bool same_as_dev =
        e != ENV_DEVELOPMENT && !(p->overlay_envs & ((1u << e) | dev));
    bool own_kinds = false;
    for (int k = 0; k < KIND_COUNT; k++)
        own_kinds =
            own_kinds || ((kind_checked_envs(&kind_table[k]) & (1u << e)) &&
                          !(kind_checked_envs(&kind_table[k]) & dev));
    if (same_as_dev && !own_kinds)
        return;
    for (int k = 0; k < KIND_COUNT; k++)
        build_index(&c, (enum kind)k);
    if (e == ENV_EVAL) {
        fixture_index_refs(&c);
        /* the fixture records are read in eval's checks alone */
        if (p->keep_xchecks)
            c.fixtures_known = xcheck_fixture_digest(p, c.fixtures_digest);
    }
    size_t total = 0;
    for (int k = 0; k < KIND_COUNT; k++)
        total += p->ndefs[k];
    struct def **todo = arena_alloc(&p->arena, (total + 1) * sizeof(*todo));
    if (!todo)
        return; /* out of memory: the arena says so */
    size_t n = 0;
    for (int k = 0; k < KIND_COUNT; k++) {
        const struct kind_ops *ops = &kind_table[k];
        unsigned checked = kind_checked_envs(ops);
        if (!ops->check_refs || !(checked & (1u << e)))
            continue;
        if (same_as_dev && (checked & dev))
            continue;
        for (size_t i = 0; i < p->ndefs[k]; i++)
            if (p->defs[k][i].root && !reuse_xcheck(&c, &p->defs[k][i]))
                todo[n++] = &p->defs[k][i];
    }
    /* Records are checked against their data types' schemas only by
     * fixtures and policy tests: none to check, none compiled. */
    bool records = false;
    for (size_t i = 0; i < n && !records; i++)
        records = todo[i]->kind == KIND_FIXTURE || todo[i]->kind == KIND_TEST;
    if (e == ENV_EVAL && records)
        fixture_prepare_schemas(&c);
    check_parallel(&c, todo, n);
    if (same_as_dev)
        return;
    data_check_bindings(&c);
    if (kind_table[KIND_AUTOMATION].envs & (1u << e))
        automation_check_cascades(&c);
}

void check_definitions(struct project *p)
{
    progress_phase(p->progress, PROGRESS_CHECK, 0);
    for (int e = 0; e < ENV_COUNT; e++)
        check_env(p, (enum env)e);
    diag_sort_unique(&p->diags);
}

int check_project(struct project *p, const char *dir,
                  const struct check_options *opt)
{
    static const struct check_options none;
    if (!opt)
        opt = &none;
    int rc = project_load_config(p, dir);
    p->progress = opt->progress;
    p->hash_on_read = opt->hash_sources;
    if (project_out_of_memory(p))
        return CHECK_ENOMEM;
    if (rc < 0)
        return -1;
    if (p->config && opt->cache) {
        p->cache = opt->cache(p, opt->arg);
        p->keep_xchecks = opt->hash_sources;
    }
    rc = project_load_defs(p, opt->threads, p->cache);
    if (project_out_of_memory(p))
        return CHECK_ENOMEM;
    if (rc < 0)
        return -1;
    if (p->config && p->keep_xchecks)
        project_hash_sources(p); /* struere.yaml's too: results key on it */
    if (p->config)
        check_definitions(p);
    else
        diag_sort_unique(&p->diags);
    /* Restored definitions were not read: the lines a report quotes are. */
    project_read_quoted_sources(p);
    return project_out_of_memory(p) ? CHECK_ENOMEM : 0;
}
