/*
 * cmd_diff.c - `struere diff` (the semantic difference between two
 * bundles) and `struere status` (local definitions against each
 * environment's committed bundle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "report.h"
#include "semdiff.h"
#include "store.h"
#include "struere.h"

static const char diff_usage[] =
    "usage: struere diff [FROM] [TO] [--env ENV] [--format text|md|html|json]\n"
    "                    [--exit-code]\n"
    "\n"
    "The semantic difference between two bundles: definitions added,\n"
    "removed and changed, fields changed from what to what, and for roles\n"
    "the permissions gained and lost as (role, action, resource) and the\n"
    "scope rules and field masks added or removed. FROM and TO are\n"
    "environments (development, production, eval), any git revision of\n"
    "the store, or .stb files; default production development. ENV picks\n"
    "which bundle of a commit (default production; eval for the eval\n"
    "branch). md is a review-ready report for a pull request; html is it\n"
    "rendered. --exit-code: exit 1 when they differ.\n";

static const char status_usage[] =
    "usage: struere status [--env ENV] [--json] [--exit-code]\n"
    "\n"
    "For each environment, the definitions that are new (+), changed (~) or\n"
    "removed (-) between the local files and the environment's committed\n"
    "bundle (development and eval: their branches; production: what is\n"
    "deployed). --exit-code: exit 1 when any differ.\n";

int cmd_diff(const struct cli *g, int argc, char **argv)
{
    const char *side[2] = {NULL, NULL};
    int nside = 0, env = -1;
    enum semdiff_format fmt = SEMDIFF_TEXT;
    bool exit_code = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_wants_help(a)) {
            fputs(diff_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--format") && i + 1 < argc) {
            int f = semdiff_format_parse(argv[++i]);
            if (f < 0) {
                cli_error("--format takes text, md, html or json");
                return EXIT_USAGE;
            }
            fmt = (enum semdiff_format)f;
        } else if (!strcmp(a, "--json")) {
            fmt = SEMDIFF_JSON;
        } else if (!strcmp(a, "--env") && i + 1 < argc) {
            if (cli_env_arg(argv[++i], &env) != EXIT_OK)
                return EXIT_USAGE;
        } else if (!strcmp(a, "--exit-code")) {
            exit_code = true;
        } else if (a[0] != '-' && nside < 2) {
            side[nside++] = a;
        } else {
            cli_error("diff: unknown argument '%s'\n", a);
            fputs(diff_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!side[0])
        side[0] = "production";
    if (!side[1])
        side[1] = "development";
    if (env < 0)
        env = !strcmp(side[0], "eval") || !strcmp(side[1], "eval")
                  ? ENV_EVAL
                  : ENV_PRODUCTION;
    struct store *s = cli_store_if_any(g);
    struere_bundle *b[2] = {NULL, NULL};
    char label[2][300];
    int rc = EXIT_OK;
    for (int k = 0; k < 2 && rc == EXIT_OK; k++) {
        /* Production before the first deploy is an empty environment. */
        char id[41];
        if (s && !strcmp(side[k], "production") &&
            store_ref_id(s, STORE_PRODUCTION, id) == STORE_NOTFOUND) {
            snprintf(label[k], sizeof(label[k]), "production (never deployed)");
            continue;
        }
        rc = cli_load_bundle(g, s, side[k], env, &b[k], label[k],
                             sizeof(label[k]));
    }
    if (rc == EXIT_OK) {
        json_t *diff = semdiff_bundles(b[0], b[1], label[0], label[1]);
        semdiff_print(stdout, diff, fmt, report_use_color(stdout));
        if (exit_code && semdiff_count(diff))
            rc = EXIT_INVALID;
        json_decref(diff);
    }
    struere_bundle_free(b[0]);
    struere_bundle_free(b[1]);
    store_close(s);
    return rc;
}

int cmd_status(const struct cli *g, int argc, char **argv)
{
    int only = -1;
    bool json = false, exit_code = false;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(status_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--exit-code")) {
            exit_code = true;
        } else if (!strcmp(argv[i], "--env") && i + 1 < argc) {
            if (cli_env_arg(argv[++i], &only) != EXIT_OK)
                return EXIT_USAGE;
        } else {
            cli_error("status: unknown argument '%s'\n", argv[i]);
            fputs(status_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct project p;
    struct compiled c;
    struct store *s = NULL;
    int rc = cli_compile(g, &p, &c);
    if (rc == EXIT_OK)
        rc = cli_open_store(g, &p, &s);
    json_t *all = json_object();
    size_t differing = 0;
    static const char *const refs[ENV_COUNT] = {"development", "production",
                                                "eval"};
    for (int e = 0; e < ENV_COUNT && rc == EXIT_OK; e++) {
        if (only >= 0 && e != only)
            continue;
        struere_bundle *committed = NULL, *local = NULL;
        char label[300], id[41];
        char full[100];
        snprintf(full, sizeof(full), "refs/heads/struere/%s", refs[e]);
        if (store_ref_id(s, full, id) == STORE_OK)
            rc = cli_load_bundle(g, s, refs[e], e, &committed, label,
                                 sizeof(label));
        struere_error err;
        if (rc == EXIT_OK && struere_bundle_open_memory(
                                 &local, c.bundle[e].data, c.bundle[e].len,
                                 e + 1, &err) != STRUERE_OK) {
            cli_error("internal error: the compiled %s bundle does not "
                      "verify: %s",
                      env_names[e], err.message);
            rc = EXIT_IO;
        }
        if (rc == EXIT_OK) {
            json_t *d = semdiff_bundles(committed, local, refs[e], "local");
            differing += semdiff_count(d);
            if (!json) {
                size_t n = semdiff_count(d);
                if (!committed)
                    printf("%s: nothing committed yet (%zu definitions "
                           "to add)\n",
                           env_names[e], n);
                else if (n)
                    printf("%s: %zu definition%s differ%s from %s\n",
                           env_names[e], n, n == 1 ? "" : "s",
                           n == 1 ? "s" : "", label);
                else
                    printf("%s: up to date with %s\n", env_names[e], label);
                size_t i;
                json_t *ch;
                json_array_foreach(json_object_get(d, "changes"), i, ch)
                {
                    const char *what =
                        json_string_value(json_object_get(ch, "change"));
                    printf("  %c %s %s\n",
                           what[0] == 'a'   ? '+'
                           : what[0] == 'r' ? '-'
                                            : '~',
                           json_string_value(json_object_get(ch, "kind")),
                           json_string_value(json_object_get(ch, "slug")));
                }
            }
            json_object_set_new(all, env_names[e], d);
        }
        struere_bundle_free(committed);
        struere_bundle_free(local);
    }
    if (rc == EXIT_OK && json) {
        json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    }
    if (rc == EXIT_OK && exit_code && differing)
        rc = EXIT_INVALID;
    json_decref(all);
    store_close(s);
    compiled_free(&c);
    project_free(&p);
    return rc;
}
