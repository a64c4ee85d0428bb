/*
 * cmd_diff.c - `struere diff` (the semantic difference between two
 * bundles) and `struere status` (local definitions against each
 * environment's committed bundle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "bundle_cache.h"
#include "bundle_trust.h"
#include "cli.h"
#include "compile.h"
#include "dev.h"
#include "lastrun.h"
#include "report.h"
#include "semdiff.h"
#include "sha256.h"
#include "store.h"
#include "verify.h"
#include "struere.h"

static const char diff_usage[] =
    "usage: struere diff [FROM] [TO] [--env ENV] [--format text|md|html|json]\n"
    "                    [--exit-code] [--check no-new-access]\n"
    "\n"
    "What changes from FROM to TO: first the effective access (computed\n"
    "by libstruere's engine on both bundles, as `struere access` shows\n"
    "it), per subject (every agent with its roles, every role alone) and\n"
    "(resource, action): granted, revoked, scope-widened, scope-narrowed,\n"
    "scope-changed, mask-removed, mask-added, mask-changed, each marked as\n"
    "widening access or not (granted, a wider row scope, a mask removed or\n"
    "relaxed from hide to redact, and a scope change that cannot be\n"
    "proven narrower widen access); automation-granted (widens) and\n"
    "automation-revoked: an automation the subject now sets off (or no\n"
    "longer does) by a write it may do, with what the automation does as\n"
    "the system actor (every row, no mask; with what the automations its\n"
    "cascading writes set off do), one change per automation and\n"
    "(resource, action), \"*\" for any data type; for a role, deny-removed\n"
    "(widens), deny-added and binding-changed (what actor.entityId stands\n"
    "for in its rules changed); and roles:R+S, a user holding two\n"
    "roles, where a masked grant of one was revoked; then the definitions\n"
    "added, removed\n"
    "and changed, field by field, and lists element by element: an\n"
    "element of FROM removed, or changed (compared field by field), by its\n"
    "index in FROM, one added by its index in TO. Text and md show a value\n"
    "in at most 120 bytes (a long object member by member, shortened; two\n"
    "long texts from just before where they differ); json whole.\n"
    "\n"
    "FROM and TO are environments (development, production, eval), any\n"
    "git revision of the store, or .stb files; default production\n"
    "development. ENV picks which bundle of a commit; without it, eval's\n"
    "for eval, production's for development and production (what a\n"
    "deploy promotes), and for another revision production's when its\n"
    "commit holds one, else eval's. A file is the environment it was\n"
    "built for, whatever ENV. An eval bundle compared with another\n"
    "environment's is warned about on stderr (eval holds other kinds).\n"
    "md is a review-ready report for a pull request (\"Access widened\"\n"
    "first); html is it rendered.\n"
    "\n"
    "JSON: {\"from\", \"to\", \"changes\": [...], \"access\": [{\"subject\",\n"
    "\"resource\", \"action\", \"change\", \"widens\", \"from\", \"to\"}],\n"
    "\"widens\": BOOL}.\n"
    "\n"
    "  --exit-code             exit 1 when they differ\n"
    "  --check no-new-access   a CI gate: exit 1 when access widens, 0\n"
    "                          otherwise; the text format then prints only\n"
    "                          what widens, the others the whole report\n"
    "\n"
    "Exit 0; 1 differ (--exit-code) or access widens (--check), or a bad\n"
    "bundle; 2 usage; 3 I/O.\n";

static const char status_usage[] =
    "usage: struere status [--env ENV] [--json] [--exit-code] [-v]\n"
    "\n"
    "For each environment, the definitions that are new (+), changed (~) or\n"
    "removed (-) between the local files and the environment's committed\n"
    "bundle (development and eval: their branches; production: what is\n"
    "deployed). --exit-code: exit 1 when any differ.\n"
    "\n"
    "It checks and compiles the project as 'struere dev' does, with dev's\n"
    "caches in .git/struere/ (the result is the same without them), and\n"
    "writes nothing. When no file or directory of the project has changed\n"
    "since the last 'struere dev' (their stat, as that run recorded it),\n"
    "nothing is read or compiled: each environment whose branch holds the\n"
    "bundle that run compiled is up to date.\n"
    "\n"
    "  -v, --verbose   say on stderr what each phase took\n";

/* Without --env, the bundle a side names: eval's for eval, production's
 * for development and production (what a deploy promotes), and for a
 * revision -1: cli_load_bundle reads production's when its commit holds
 * one, else eval's, from the commit it resolves (once). A file is what
 * it is. */
static int side_env(const char *side)
{
    if (!strcmp(side, "eval"))
        return ENV_EVAL;
    if (!strcmp(side, "production") || !strcmp(side, "development"))
        return ENV_PRODUCTION;
    return -1;
}

int cmd_diff(const struct cli *g, int argc, char **argv)
{
    const char *side[2] = {NULL, NULL};
    int nside = 0, env = -1;
    enum semdiff_format fmt = SEMDIFF_TEXT;
    bool exit_code = false, gate = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_wants_help(a)) {
            fputs(diff_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--check") && i + 1 < argc) {
            if (strcmp(argv[++i], "no-new-access")) {
                cli_error("diff: --check '%s': the only check is "
                          "no-new-access",
                          argv[i]);
                return EXIT_USAGE;
            }
            gate = true;
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
    struct store *s = cli_store_if_any(g);
    int side_of[2] = {env, env};
    for (int k = 0; k < 2 && env < 0; k++)
        side_of[k] = side_env(side[k]);
    struere_runtime *rt[2] = {NULL, NULL};
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
        rc = cli_load_runtime(g, s, side[k], side_of[k], &rt[k], label[k],
                              sizeof(label[k]), NULL);
    }
    /* Eval's bundle holds other kinds than the others' (eval suites and
     * fixtures, no automations), by design: say so, as what follows is
     * no promotion's difference. A side with no bundle is production
     * never deployed, as empty as the bundle asked for would be. */
    int env_of[2];
    for (int k = 0; k < 2; k++)
        env_of[k] = rt[k] ? struere_runtime_env(rt[k]) : side_of[k] + 1;
    if (rc == EXIT_OK &&
        (env_of[0] == STRUERE_ENV_EVAL) != (env_of[1] == STRUERE_ENV_EVAL)) {
        int ev = env_of[0] == STRUERE_ENV_EVAL ? 0 : 1;
        fprintf(stderr,
                "struere: warning: %s is an eval bundle and %s a %s bundle: "
                "eval holds eval suites and fixtures and no automations, so "
                "they differ by design; no deploy makes this difference\n",
                label[ev], label[1 - ev], struere_env_name(env_of[1 - ev]));
    }
    json_t *access = NULL;
    if (rc == EXIT_OK) {
        char err[512];
        int arc = access_changes(rt[0], rt[1], &access, err, sizeof(err));
        if (arc != ACCESS_OK) {
            cli_error("diff: access: %s", err);
            rc = arc == ACCESS_INVALID ? EXIT_INVALID : EXIT_IO;
        }
    }
    if (rc == EXIT_OK && gate && fmt == SEMDIFF_TEXT) {
        bool widens = access_widens(access);
        printf("%s..%s: %s\n", label[0], label[1],
               widens ? "access widens" : "no new access");
        access_print_text(stdout, access, 2, true, report_use_color(stdout));
        rc = widens ? EXIT_INVALID : EXIT_OK;
    } else if (rc == EXIT_OK) {
        json_t *diff =
            semdiff_bundles(struere_runtime_bundle(rt[0]),
                            struere_runtime_bundle(rt[1]), label[0], label[1]);
        semdiff_set_access(diff, access);
        semdiff_print(stdout, diff, fmt, report_use_color(stdout));
        if (gate)
            rc = access_widens(access) ? EXIT_INVALID : EXIT_OK;
        else if (exit_code && (semdiff_count(diff) || json_array_size(access)))
            rc = EXIT_INVALID;
        json_decref(diff);
    }
    json_decref(access);
    struere_runtime_free(rt[0]);
    struere_runtime_free(rt[1]);
    store_close(s);
    return rc;
}

/* What status prints, and how: its options, filled by the dry run's
 * hooks. */
struct status_run {
    const struct cli *g;
    int only; /* one environment (ENV_*), or -1 */
    bool json, exit_code, verbose;
    struct cli_progress progress;
};

static int status_checked(void *arg, const struct project *p, int rc)
{
    struct status_run *r = arg;
    cli_progress_stop(&r->progress);
    rc = cli_report_check(p, rc);
    cli_progress_start(&r->progress, r->g);
    return rc;
}

static void status_error(void *arg, const char *message)
{
    struct status_run *r = arg;
    cli_progress_stop(&r->progress);
    cli_error("%s", message);
}

static void status_warning(void *arg, const char *message)
{
    struct status_run *r = arg;
    cli_progress_stop(&r->progress);
    cli_error("warning: %s", message);
}

/* Environment e's branch: the commit it is at (id) and, when that
 * commit holds the environment's bundle, its git blob id (blob, else "").
 * STORE_OK, STORE_NOTFOUND (no branch) or STORE_ERROR. */
static int branch_blob(struct store *s, int e, char id[41], char blob[41])
{
    char full[100];
    blob[0] = '\0';
    snprintf(full, sizeof(full), "refs/heads/struere/%s", env_names[e]);
    int rc = store_ref_id(s, full, id);
    if (rc == STORE_OK && store_blob_id(s, id, compile_bundle_path((enum env)e),
                                        blob) != STORE_OK)
        blob[0] = '\0';
    return rc;
}

/* The environment's committed bundle when it differs from the local
 * one (*owned when the caller frees it), the branch's label either way;
 * *same when the commit holds the very bytes compiled. Nothing is read
 * that the run or dev's caches already hold:
 *  - the commit the run read its previous bundle from: that bundle (its
 *    SHA-256 checked against the commit's manifest) is compared byte for
 *    byte and borrowed;
 *  - a blob this store recorded as verified with the manifest's digest
 *    (verify.h): same when the compiled bundle has that SHA-256; else the
 *    copy dev's bundle cache keeps (the production branch's among them),
 *    its bytes checked against that digest;
 *  - else by git blob id, and the bundle read from git and verified. */
static int committed_bundle(const struct cli *g, struct store *s, int e,
                            const struct compiled *c,
                            const struct dev_bundles *b,
                            const struere_bundle **out, bool *owned, bool *same,
                            const char **source, char *label, size_t size)
{
    char id[41], blob[41], local[41], why[1024];
    *out = NULL;
    *owned = false;
    *same = false;
    *source = "nothing (no commit yet)";
    int rc = branch_blob(s, e, id, blob);
    if (rc == STORE_NOTFOUND)
        return EXIT_OK; /* nothing committed yet */
    snprintf(label, size, "%s (%.12s)", env_names[e], id);
    struct verified v;
    memset(&v, 0, sizeof(v));
    bool recorded =
        rc == STORE_OK && blob[0] &&
        verify_locate(s, id, e, &v, why, sizeof(why)) == VERIFY_OK &&
        verify_recorded(s, v.blob, e, v.sha256);
    bool read =
        rc == STORE_OK && b->previous[e] && !strcmp(b->previous_commit[e], id);
    if (read) {
        /* Comparing the bytes costs a memcmp; a blob id, a SHA-1. */
        *source = "the bundle this run read from that commit";
        size_t len;
        const void *bytes = struere_bundle_bytes(b->previous[e], &len);
        *same =
            len == c->bundle[e].len && !memcmp(bytes, c->bundle[e].data, len);
    } else if (recorded) {
        *source = "the digest recorded for its verified bundle";
        unsigned char mine[32];
        if (c->bundle[e].digested)
            memcpy(mine, c->bundle[e].sha256, 32);
        else
            rt_sha256(c->bundle[e].data, c->bundle[e].len, mine);
        *same = !memcmp(v.sha256, mine, 32);
    } else if (blob[0]) {
        *source = "its bundle's git blob id";
        store_hash_blob(c->bundle[e].data, c->bundle[e].len, local);
        *same = !strcmp(blob, local);
    }
    if (*same)
        return EXIT_OK;
    if (read && (recorded || verify_bodies(b->previous[e], why, sizeof(why)) ==
                                 VERIFY_OK)) {
        *out = b->previous[e];
        return EXIT_OK;
    }
    if (recorded) {
        struct struere_bundle *kept = bundle_cache_open(
            store_git_dir(s), v.blob, e + 1, v.sha256, true, NULL);
        if (kept) {
            *source = "its bundle kept in the bundle cache";
            *out = kept;
            *owned = true;
            return EXIT_OK;
        }
    }
    *source = "its bundle read from git";
    struere_bundle *loaded = NULL;
    rc = cli_load_bundle(g, s, env_names[e], e, &loaded, label, size, NULL);
    *out = loaded;
    *owned = loaded != NULL;
    return rc;
}

/* Prints environment e's differences d from its committed bundle (label;
 * committed: whether there is one) as text, or keeps d for the JSON
 * (all takes it). Returns how many definitions differ. */
static size_t status_env(const struct status_run *r, json_t *all, int e,
                         json_t *d, bool committed, const char *label)
{
    size_t n = semdiff_count(d);
    if (!r->json) {
        if (!committed)
            printf("%s: nothing committed yet (%zu definitions to add)\n",
                   env_names[e], n);
        else if (n)
            printf("%s: %zu definition%s differ%s from %s\n", env_names[e], n,
                   n == 1 ? "" : "s", n == 1 ? "s" : "", label);
        else
            printf("%s: up to date with %s\n", env_names[e], label);
        size_t i;
        json_t *ch;
        json_array_foreach(json_object_get(d, "changes"), i, ch)
        {
            const char *what = json_string_value(json_object_get(ch, "change"));
            printf("  %c %s %s\n",
                   what[0] == 'a'   ? '+'
                   : what[0] == 'r' ? '-'
                                    : '~',
                   json_string_value(json_object_get(ch, "kind")),
                   json_string_value(json_object_get(ch, "slug")));
        }
    }
    json_object_set_new(all, env_names[e], d);
    return n;
}

/* The JSON (when asked) and the exit status, once every environment is
 * compared. Frees all. */
static int status_end(const struct status_run *r, json_t *all, int rc,
                      size_t differing)
{
    if (rc == EXIT_OK && r->json) {
        json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    }
    if (rc == EXIT_OK && r->exit_code && differing)
        rc = EXIT_INVALID;
    json_decref(all);
    return rc;
}

static void status_phase(void *arg, double seconds, const char *what)
{
    const struct status_run *r = arg;
    if (r->verbose)
        fprintf(stderr, "status: %6.3f s  %s\n", seconds, what);
}

/* Each environment's committed bundle against the one compiled. */
static int status_compiled(void *arg, const struct project *p,
                           const struct compiled *c,
                           const struct dev_bundles *b)
{
    struct status_run *r = arg;
    struct store *s = NULL;
    cli_progress_stop(&r->progress);
    int rc = cli_open_store(r->g, p, &s);
    json_t *all = json_object();
    size_t differing = 0;
    for (int e = 0; e < ENV_COUNT && rc == EXIT_OK; e++) {
        if (r->only >= 0 && e != r->only)
            continue;
        const struere_bundle *committed = NULL;
        char label[300];
        bool same, owned;
        const char *source;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = committed_bundle(r->g, s, e, c, b, &committed, &owned, &same,
                              &source, label, sizeof(label));
        if (rc == EXIT_OK)
            differing +=
                status_env(r, all, e,
                           same ? semdiff_new(env_names[e], "local")
                                : semdiff_bundles(committed, b->compiled[e],
                                                  env_names[e], "local"),
                           committed || same, label);
        if (r->verbose) {
            char what[200];
            clock_gettime(CLOCK_MONOTONIC, &t1);
            snprintf(what, sizeof(what), "compared %s with %s", env_names[e],
                     source);
            status_phase(r,
                         (double)(t1.tv_sec - t0.tv_sec) +
                             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                         what);
        }
        if (owned)
            struere_bundle_free((struere_bundle *)committed);
    }
    rc = status_end(r, all, rc, differing);
    store_close(s);
    return rc;
}

/* Nothing changed since the last dev, which compiled the bundles m names:
 * each environment whose branch holds its bundle is up to date (as
 * status_compiled finds it, with nothing read); any other, and the whole
 * way is taken. */
static int status_unchanged(void *arg, struct store *s,
                            const struct lastrun_made *m)
{
    struct status_run *r = arg;
    char label[ENV_COUNT][300], id[41];
    /* The whole way reads both branches whatever --env says: one that
     * cannot be read is reported there. */
    if (store_ref_id(s, STORE_DEVELOPMENT, id) == STORE_ERROR ||
        store_ref_id(s, STORE_EVAL, id) == STORE_ERROR)
        return DEV_AGAIN;
    for (int e = 0; e < ENV_COUNT; e++) {
        char blob[41];
        if (r->only >= 0 && e != r->only)
            continue;
        if (branch_blob(s, e, id, blob) != STORE_OK ||
            strcmp(blob, m->bundle[e]))
            return DEV_AGAIN;
        snprintf(label[e], sizeof(label[e]), "%s (%.12s)", env_names[e], id);
    }
    cli_progress_stop(&r->progress);
    json_t *all = json_object();
    for (int e = 0; e < ENV_COUNT; e++)
        if (r->only < 0 || e == r->only)
            status_env(r, all, e, semdiff_new(env_names[e], "local"), true,
                       label[e]);
    return status_end(r, all, EXIT_OK, 0);
}

int cmd_status(const struct cli *g, int argc, char **argv)
{
    struct status_run r = {.g = g, .only = -1};
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(status_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            r.json = true;
        } else if (!strcmp(argv[i], "--exit-code")) {
            r.exit_code = true;
        } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            r.verbose = true;
        } else if (!strcmp(argv[i], "--env") && i + 1 < argc) {
            if (cli_env_arg(argv[++i], &r.only) != EXIT_OK)
                return EXIT_USAGE;
        } else {
            cli_error("status: unknown argument '%s'\n", argv[i]);
            fputs(status_usage, stderr);
            return EXIT_USAGE;
        }
    }
    /* dev's check and compile, with its caches (the result is the same
     * without them), committing nothing */
    char sbuf[4096];
    struct dev_options o = {
        .dir = g->dir,
        .store = cli_path(g, g->store, sbuf, sizeof(sbuf)),
        .dry = true,
    };
    struct dev_hooks h = {.checked = status_checked,
                          .error = status_error,
                          .warning = status_warning,
                          .compiled = status_compiled,
                          .unchanged = status_unchanged,
                          .phase = status_phase,
                          .arg = &r};
    o.progress = r.verbose ? NULL : cli_progress_start(&r.progress, g);
    int rc = dev_run(&o, &h);
    cli_progress_stop(&r.progress);
    return rc;
}
