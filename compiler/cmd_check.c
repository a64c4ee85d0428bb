/*
 * cmd_check.c - `struere check`: validate everything, report every
 * problem in one pass, write nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "kinds.h"
#include "markdown.h"
#include "node.h"
#include "report.h"

static const char check_usage[] =
    "usage: struere check [--format text|json|github|sarif] [--json]\n"
    "                     [--summary] [--threads N]\n"
    "\n"
    "Validates struere.yaml and every definition against the schemas and\n"
    "against each other, in every environment, and prints all problems:\n"
    "  path:line:col: error: message [code]\n"
    "with the source line, a caret and a hint. Writes nothing.\n"
    "\n"
    "  --format F    text (default), json, github (workflow commands),\n"
    "                sarif (SARIF 2.1.0, for code scanning)\n"
    "  --json        same as --format json\n"
    "  --summary     after a clean check, list what each definition holds\n"
    "  --threads N   worker threads (default: one per core; also\n"
    "                STRUERE_THREADS)\n"
    "\n"
    "exit: 0 no errors (warnings allowed), 1 errors, 2 usage, 3 I/O\n";

static const char *model_of(const struct node *view)
{
    const char *m = node_get_str(node_get(view, "model"), "model");
    return m ? m : "openai/gpt-5-mini";
}

static size_t count(const struct node *n)
{
    return n && (n->type == NODE_SEQ || n->type == NODE_MAP) ? n->n : 0;
}

/* The headings of every Markdown agent's prompt, which the summary
 * lists; false when out of memory. */
static bool outline_prompts(struct project *p)
{
    for (size_t i = 0; i < p->ndefs[KIND_AGENT]; i++) {
        struct def *d = &p->defs[KIND_AGENT][i];
        if (d->root && d->md && !markdown_outline(&p->arena, d->md, d->src))
            return false;
    }
    return true;
}

static void print_summary(FILE *out, const struct project *p)
{
    /* the prompts' outlines were made (cmd_check) before anything is
     * printed */
    for (size_t i = 0; i < p->ndefs[KIND_AGENT]; i++) {
        const struct def *d = &p->defs[KIND_AGENT][i];
        if (!d->root)
            continue;
        fprintf(out, "agent %s: %zu tools, %zu roles; model", d->slug,
                count(node_get(d->root, "tools")),
                count(node_get(d->root, "roles")));
        for (int e = 0; e < ENV_COUNT; e++)
            fprintf(out, "%s %s=%s", e ? "," : "", env_names[e],
                    model_of(d->view[e]));
        fputc('\n', out);
        for (size_t h = 0; d->md && h < d->md->nheadings; h++)
            fprintf(out, "  %*s%s\n", 2 * (d->md->headings[h].level - 1), "",
                    d->md->headings[h].text);
    }
    for (size_t i = 0; i < p->ndefs[KIND_DATA]; i++) {
        const struct def *d = &p->defs[KIND_DATA][i];
        if (!d->root)
            continue;
        const char *bound = node_get_str(d->root, "boundToRole");
        fprintf(out, "data %s: %zu fields%s%s\n", d->slug,
                count(node_get(node_get(d->root, "schema"), "properties")),
                bound ? ", bound to role " : "", bound ? bound : "");
    }
    for (size_t i = 0; i < p->ndefs[KIND_ROLE]; i++) {
        const struct def *d = &p->defs[KIND_ROLE][i];
        if (!d->root)
            continue;
        fprintf(out, "role %s: %zu policies, %zu scope rules, %zu masks\n",
                d->slug, count(node_get(d->root, "policies")),
                count(node_get(d->root, "scopeRules")),
                count(node_get(d->root, "fieldMasks")));
    }
    for (size_t i = 0; i < p->ndefs[KIND_AUTOMATION]; i++) {
        const struct def *d = &p->defs[KIND_AUTOMATION][i];
        if (!d->root)
            continue;
        const struct node *on = node_get(d->root, "on");
        fprintf(out, "automation %s: on %s.%s, %zu actions%s\n", d->slug,
                node_get_str(on, "entityType") ? node_get_str(on, "entityType")
                                               : "?",
                node_get_str(on, "action") ? node_get_str(on, "action") : "?",
                count(node_get(d->root, "actions")),
                node_get(d->root, "schedule") ? ", scheduled" : "");
    }
    for (size_t i = 0; i < p->ndefs[KIND_EVAL]; i++) {
        const struct def *d = &p->defs[KIND_EVAL][i];
        if (d->root)
            fprintf(out, "eval %s: agent %s, %zu cases\n", d->slug,
                    node_get_str(d->root, "agent")
                        ? node_get_str(d->root, "agent")
                        : "?",
                    count(node_get(d->root, "cases")));
    }
    for (size_t i = 0; i < p->ndefs[KIND_FIXTURE]; i++) {
        const struct def *d = &p->defs[KIND_FIXTURE][i];
        if (d->root)
            fprintf(out, "fixture %s: %zu records, %zu relations\n", d->slug,
                    count(node_get(d->root, "entities")),
                    count(node_get(d->root, "relations")));
    }
    for (size_t i = 0; i < p->ndefs[KIND_TEST]; i++) {
        const struct def *d = &p->defs[KIND_TEST][i];
        if (d->root)
            fprintf(out, "test %s: %zu cases\n", d->slug,
                    count(node_get(d->root, "cases")));
    }
}

int cmd_check(const struct cli *g, int argc, char **argv)
{
    enum report_format fmt = REPORT_TEXT;
    bool summary = false;
    unsigned threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_wants_help(a)) {
            fputs(check_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            fmt = REPORT_JSON;
        } else if (!strcmp(a, "--summary")) {
            summary = true;
        } else if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
            const char *v =
                a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            int f = v ? report_format_parse(v) : -1;
            if (f < 0) {
                cli_error("--format takes text, json, github or sarif");
                return EXIT_USAGE;
            }
            fmt = (enum report_format)f;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (n <= 0 || n > 256 || *end) {
                cli_error("--threads takes a number from 1 to 256");
                return EXIT_USAGE;
            }
            threads = (unsigned)n;
        } else {
            cli_error("check: unknown argument '%s'\n\n%s", a, check_usage);
            return EXIT_USAGE;
        }
    }
    struct project p;
    struct cli_progress progress;
    struct check_options opt = {.threads = threads};
    opt.progress = cli_progress_start(&progress, g);
    int rc = check_project(&p, g->dir, &opt);
    cli_progress_stop(&progress);
    p.progress = NULL;
    if (rc == CHECK_ENOMEM) {
        cli_error("out of memory");
        project_free(&p);
        return EXIT_IO;
    }
    report_print(stdout, &p.diags, fmt, report_use_color(stdout));
    int code = EXIT_OK;
    if (rc < 0) {
        cli_error("the built-in schemas are invalid (see above)");
        code = EXIT_IO;
    } else if (p.io_error) {
        code = EXIT_IO;
    } else if (p.diags.errors) {
        code = EXIT_INVALID;
    }
    if (fmt == REPORT_TEXT) {
        size_t defs = 0;
        for (int k = 0; k < KIND_COUNT; k++)
            defs += p.ndefs[k];
        const char *s = defs == 1 ? "" : "s";
        if (p.diags.errors || p.diags.warnings)
            printf("%zu error%s, %zu warning%s in %zu definition%s\n",
                   p.diags.errors, p.diags.errors == 1 ? "" : "s",
                   p.diags.warnings, p.diags.warnings == 1 ? "" : "s", defs, s);
        if (!p.diags.errors && p.config) {
            printf("ok: %zu definition%s (", defs, s);
            for (int k = 0; k < KIND_COUNT; k++)
                if (k != KIND_TEST || p.ndefs[k]) /* listed when there */
                    printf("%s%zu %s", k ? ", " : "", p.ndefs[k],
                           p.ndefs[k] == 1 ? kind_table[k].label
                                           : kind_table[k].plural);
            printf(")\n");
            if (summary && !outline_prompts(&p)) {
                cli_error("out of memory");
                code = EXIT_IO;
            } else if (summary) {
                print_summary(stdout, &p);
            }
        }
    }
    project_free(&p);
    return code;
}
