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

int cli_check(const struct cli *g, struct project *p)
{
    int rc = check_project(p, g->dir, 0);
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

int cli_open_store(const struct cli *g, const struct project *p,
                   struct store **out)
{
    char err[600];
    char sbuf[4096];
    const char *where = cli_path(g, g->store, sbuf, sizeof(sbuf));
    char buf[4096];
    const char *cfg_store =
        p && p->config ? node_get_str(p->config->root, "store") : NULL;
    if (!where && cfg_store) {
        if (cfg_store[0] == '/')
            where = cfg_store;
        else {
            snprintf(buf, sizeof(buf), "%s/%s", g->dir, cfg_store);
            where = buf;
        }
    }
    if (!where)
        where = g->dir;
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
