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
#include "diag.h"
#include "report.h"
#include "store.h"

/* check_project with the progress line (which p keeps pointing at), and
 * its report once the line is gone. */
static int check_with_progress(const struct cli *g, struct project *p,
                               struct cli_progress *progress)
{
    struct check_options opt = {.hash_sources = true};
    opt.progress = cli_progress_start(progress, g);
    int rc = check_project(p, g->dir, &opt);
    cli_progress_stop(progress);
    return cli_report_check(p, rc);
}

int cli_compile(const struct cli *g, struct project *p, struct compiled *c)
{
    struct cli_progress progress;
    memset(c, 0, sizeof(*c));
    int rc = check_with_progress(g, p, &progress);
    if (rc != EXIT_OK) {
        p->progress = NULL;
        return rc;
    }
    cli_progress_start(&progress, g); /* the same counters, a new line */
    int compiled = compile_project(p, NULL, c);
    cli_progress_stop(&progress);
    p->progress = NULL; /* the counters end here */
    if (compiled < 0) {
        cli_error("out of memory while compiling");
        return EXIT_IO;
    }
    return EXIT_OK;
}

int cli_report_check(const struct project *p, int rc)
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
    struct cli_progress progress;
    int rc = check_with_progress(g, p, &progress);
    p->progress = NULL; /* the counters end here */
    return rc;
}

/* Where the store of the project is: --store, struere.yaml's store:, or
 * the repository enclosing -C DIR. buf holds a joined path if needed. */
const char *cli_store_location(const struct cli *g, const struct project *p,
                               char *buf, size_t size)
{
    char sbuf[4096];
    return project_store_path(
        p, g->dir, cli_path(g, g->store, sbuf, sizeof(sbuf)), buf, size);
}

int cli_open_store(const struct cli *g, const struct project *p,
                   struct store **out)
{
    char err[600];
    char buf[4096];
    const char *where = cli_store_location(g, p, buf, sizeof(buf));
    if (store_open(out, where, err, sizeof(err)) != STORE_OK) {
        cli_error("%s", err);
        return EXIT_IO;
    }
    return EXIT_OK;
}

static char no_store[600];

struct store *cli_store_if_any(const struct cli *g)
{
    struct store *s = NULL;
    char buf[4096];
    const char *where =
        g->store ? cli_path(g, g->store, buf, sizeof(buf)) : g->dir;
    if (store_open(&s, where, no_store, sizeof(no_store)) != STORE_OK)
        return NULL;
    no_store[0] = '\0';
    return s;
}

const char *cli_no_store_reason(void)
{
    return no_store;
}
