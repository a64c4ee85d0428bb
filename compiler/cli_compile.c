/*
 * cli_compile.c - what build, dev, status and deploy share: check the
 * project (printing every problem to stderr and stopping on errors) and
 * compile it; open the store the project lives in.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "compile.h"
#include "defcache.h"
#include "diag.h"
#include "kinds.h"
#include "node.h"
#include "report.h"
#include "store.h"

int cli_compile(const struct cli *g, struct project *p, struct compiled *c)
{
    memset(c, 0, sizeof(*c));
    int rc = cli_check(g, p);
    if (rc != EXIT_OK)
        return rc;
    if (compile_project(p, NULL, c) < 0) {
        cli_error("out of memory while compiling");
        return EXIT_IO;
    }
    return EXIT_OK;
}

/* Prints what the check of p found; rc is check_project's result. */
static int report_check(struct project *p, int rc)
{
    if (rc == CHECK_ENOMEM) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    if (rc < 0) {
        report_print(stderr, &p->diags, REPORT_TEXT, report_use_color(stderr));
        cli_error("the built-in schemas are invalid");
        return EXIT_IO;
    }
    if (p->diags.errors || p->io_error || !p->config) {
        report_print(stderr, &p->diags, REPORT_TEXT, report_use_color(stderr));
        fprintf(stderr, "%zu error%s: nothing was compiled\n", p->diags.errors,
                p->diags.errors == 1 ? "" : "s");
        return p->io_error ? EXIT_IO : EXIT_INVALID;
    }
    if (p->diags.warnings)
        report_print(stderr, &p->diags, REPORT_TEXT, report_use_color(stderr));
    return EXIT_OK;
}

int cli_check(const struct cli *g, struct project *p)
{
    return report_check(p, check_project(p, g->dir, 0));
}

/* Where the store of the project is: --store, struere.yaml's store:, or
 * the repository enclosing -C DIR. buf holds a joined path if needed. */
static const char *store_location(const struct cli *g, const struct project *p,
                                  char *buf, size_t size)
{
    char sbuf[4096];
    const char *where = cli_path(g, g->store, sbuf, sizeof(sbuf));
    if (where) {
        snprintf(buf, size, "%s", where);
        return buf;
    }
    const char *cfg_store =
        p && p->config ? node_get_str(p->config->root, "store") : NULL;
    if (!cfg_store)
        return g->dir;
    if (cfg_store[0] == '/')
        return cfg_store;
    snprintf(buf, size, "%s/%s", g->dir, cfg_store);
    return buf;
}

int cli_check_cached(const struct cli *g, struct project *p,
                     struct cli_check_stats *stats,
                     void (*store_found)(const char *store_at, void *arg),
                     void *arg)
{
    memset(stats, 0, sizeof(*stats));
    int64_t started = defcache_now();
    int rc = project_load_config(p, g->dir);
    /* The cache is in the store's git directory: found quietly here, from
     * struere.yaml alone (a missing store is reported after the check). */
    char cache_path[4600] = "";
    struct defcache *cache = NULL;
    if (rc == 0 && p->config) {
        char buf[4096], err[600];
        struct store *s = NULL;
        const char *at = store_location(g, p, buf, sizeof(buf));
        if (store_open(&s, at, err, sizeof(err)) == STORE_OK) {
            if (store_found)
                store_found(at, arg);
            if (defcache_path(store_git_dir(s), g->dir, cache_path,
                              sizeof(cache_path)))
                cache = defcache_open(cache_path, p);
        }
        store_close(s);
    }
    if (rc == 0)
        rc = project_load_defs(p, 0, cache);
    if (rc == 0 && p->config)
        check_definitions(p);
    else if (rc == 0)
        diag_sort_unique(&p->diags);
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            stats->definitions++;
            stats->restored += p->defs[k][i].restored;
        }
    if (rc == 0 && cache_path[0] && !p->io_error) {
        snprintf(stats->cache_path, sizeof(stats->cache_path), "%s",
                 cache_path);
        stats->started = started;
    }
    project_read_quoted_sources(p);
    /* The restored trees point into the cache: it lives as long as p. */
    p->cache = cache;
    return report_check(p, rc);
}

int cli_open_store(const struct cli *g, const struct project *p,
                   struct store **out)
{
    char err[600];
    char buf[4096];
    const char *where = store_location(g, p, buf, sizeof(buf));
    if (store_open(out, where, err, sizeof(err)) != STORE_OK) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    return EXIT_OK;
}

struct store *cli_store_if_any(const struct cli *g)
{
    struct store *s = NULL;
    char err[600], buf[4096];
    const char *where =
        g->store ? cli_path(g, g->store, buf, sizeof(buf)) : g->dir;
    if (store_open(&s, where, err, sizeof(err)) != STORE_OK)
        return NULL;
    return s;
}
