/*
 * cmd_log.c - `struere log` (each environment's history: commits,
 * promotions and rollbacks, with times and who) and `struere inspect`
 * (verify a bundle and print what it holds).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "compile.h"
#include "history.h"
#include "sha256.h"
#include "store.h"
#include "struere.h"
#include "trust.h"

static const char log_usage[] =
    "usage: struere log [--env ENV] [--json] [-n N]\n"
    "\n"
    "The history of each environment (or ENV): the commits of\n"
    "struere/development and struere/eval, and every move of\n"
    "struere/production (deploys and rollbacks, from the reflog), newest\n"
    "first, with times and who.\n";

static const char inspect_usage[] =
    "usage: struere inspect [REV|FILE] [--env ENV] [--json]\n"
    "\n"
    "Verifies a bundle and prints its header and contents. REV is an\n"
    "environment or any revision of the store (default development); ENV\n"
    "picks the commit's bundle (default: the environment named, else\n"
    "development). Exit 1 when the bundle does not verify.\n";

/* Prints env's history as text, from its JSON (history.c). */
static void log_text(int e, const json_t *list, const struct history_pending *p,
                     const struere_trust *t)
{
    size_t n = json_array_size(list), i;
    json_t *o;
#define S(k) json_string_value(json_object_get(o, k))
    if (e == ENV_PRODUCTION)
        printf("production%s\n", n ? ":" : ": never deployed");
    else
        printf("%s%s\n", env_names[e], n ? ":" : ": no commits yet");
    json_array_foreach(list, i, o)
    {
        if (e == ENV_PRODUCTION) {
            printf("  %.12s %s %-8s %s (was %.12s)", S("commit"), S("time"),
                   S("action"), S("who"), S("previous"));
        } else {
            const char *m = S("message");
            printf("  %.12s %s %s %.*s", S("commit"), S("time"), S("author"),
                   (int)strcspn(m, "\n"), m);
        }
        json_t *pr = json_object_get(o, "promotion");
        if (pr) {
            const char *signers =
                json_string_value(json_object_get(pr, "signers"));
            printf(" [#%llu%s%s]",
                   (unsigned long long)json_integer_value(
                       json_object_get(pr, "sequence")),
                   signers[0] ? ", signed by " : ", unsigned", signers);
        }
        putchar('\n');
    }
#undef S
    if (p->pending)
        printf("  pending: #%llu to %.12s by %s, %u of %d signature(s) "
               "(struere approve %s --sign FILE)\n",
               (unsigned long long)p->sequence, p->commit, p->who,
               p->signatures, struere_trust_required(t, e + 1), env_names[e]);
}

int cmd_log(const struct cli *g, int argc, char **argv)
{
    int only = -1;
    bool json = false;
    size_t max = 50;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(log_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (n <= 0 || *end) {
                cli_error("-n takes a positive number");
                return EXIT_USAGE;
            }
            max = (size_t)n;
        } else if (!strcmp(argv[i], "--env") && i + 1 < argc) {
            if (cli_env_arg(argv[++i], &only) != EXIT_OK)
                return EXIT_USAGE;
        } else {
            cli_error("log: unknown argument '%s'\n", argv[i]);
            fputs(log_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct store *s;
    int rc = cli_open_store(g, NULL, &s);
    if (rc != EXIT_OK)
        return rc;
    json_t *out = json_object();
    struct trust_state ts;
    char terr[1024];
    if (trust_read(s, &ts, terr, sizeof(terr)) != TRUST_OK) {
        cli_error("warning: %s", terr);
        memset(&ts, 0, sizeof(ts));
    }
    for (int e = 0; e < ENV_COUNT; e++) {
        if (only >= 0 && e != only)
            continue;
        struct history_pending p;
        json_t *list = history_branch(s, e, max, ts.t, &p);
        if (!json)
            log_text(e, list, &p, ts.t);
        json_object_set_new(out, env_names[e], list);
    }
    trust_state_free(&ts);
    if (json) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    }
    json_decref(out);
    store_close(s);
    return rc;
}

/* What a runtime would decide about commit `id` of env as the branch's
 * commit (struere_promotion_check, the check opening by key makes, on the
 * latest complete statement), as inspect shows it. */
static void inspect_statement(struct store *s, const char *id, int env,
                              const struere_bundle *b, json_t *o, bool json)
{
    char err[1024];
    if (!s || !id[0])
        return; /* a bundle file: no commit */
    struct trust_state ts;
    if (trust_read(s, &ts, err, sizeof(err)) != TRUST_OK) {
        if (!json)
            printf("  trust policy: does not verify: %s\n", err);
        json_object_set_new(o, "trust", json_string(err));
        return;
    }
    int k = struere_trust_required(ts.t, env + 1);
    json_t *pr = json_object();
    json_object_set_new(pr, "required", json_integer(k));
    struct promotions p;
    unsigned char sha[32], msha[32], *manifest = NULL;
    size_t len, mlen;
    struere_statement st;
    struere_error e;
    int rc = STRUERE_EUNAPPROVED;
    snprintf(e.message, sizeof(e.message),
             "no complete promotion statement of %s", env_names[env]);
    const void *bytes = struere_bundle_bytes(b, &len);
    rt_sha256(bytes, len, sha);
    if (promotions_read(s, env, &p, err, sizeof(err)) == TRUST_OK) {
        if (p.latest_text &&
            store_read(s, id, "manifest.json", &manifest, &mlen) == STORE_OK) {
            rt_sha256(manifest, mlen, msha);
            rc = struere_promotion_check(&st, p.latest_text, p.latest_len, ts.t,
                                         env + 1, id, sha, msha, 0, &e);
            free(manifest);
        }
        promotions_free(&p);
    } else {
        snprintf(e.message, sizeof(e.message), "%.500s", err);
    }
    bool serves = rc == STRUERE_OK || k == 0;
    if (rc == STRUERE_OK) {
        char when[64], names[300];
        history_iso_time(st.time, 0, when, sizeof(when));
        trust_signer_names(ts.t, st.signed_by, names, sizeof(names));
        if (!json)
            printf("  promotion: #%llu, %s by %s at %s; %u of %d required "
                   "signature(s)%s%s: verifies\n",
                   (unsigned long long)st.sequence, st.action, st.who, when,
                   st.signatures, k, names[0] ? " by " : "", names);
        json_object_set_new(pr, "sequence",
                            json_integer((json_int_t)st.sequence));
        json_object_set_new(pr, "action", json_string(st.action));
        json_object_set_new(pr, "who", json_string(st.who));
        json_object_set_new(pr, "time", json_string(when));
        json_object_set_new(pr, "signatures", json_integer(st.signatures));
        json_object_set_new(pr, "signers", json_string(names));
    } else {
        if (!json)
            printf("  promotion: %s%s\n", e.message,
                   k ? " (a runtime would not serve this commit)"
                     : " (none is required)");
        json_object_set_new(pr, "error", json_string(e.message));
    }
    json_object_set_new(pr, "verifies", json_boolean(rc == STRUERE_OK));
    json_object_set_new(pr, "served", json_boolean(serves));
    json_object_set_new(o, "promotion", pr);
    trust_state_free(&ts);
}

int cmd_inspect(const struct cli *g, int argc, char **argv)
{
    const char *spec = NULL;
    int env = -1;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(inspect_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--env") && i + 1 < argc) {
            if (cli_env_arg(argv[++i], &env) != EXIT_OK)
                return EXIT_USAGE;
        } else if (argv[i][0] != '-' && !spec) {
            spec = argv[i];
        } else {
            cli_error("inspect: unknown argument '%s'\n", argv[i]);
            fputs(inspect_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!spec)
        spec = "development";
    if (env < 0)
        env = cli_env_parse(spec) >= 0 ? cli_env_parse(spec) : ENV_DEVELOPMENT;
    struct store *s = cli_store_if_any(g);
    struere_bundle *b = NULL;
    char label[300], id[41];
    int rc = cli_load_bundle(g, s, spec, env, &b, label, sizeof(label), id);
    if (rc == EXIT_OK) {
        struere_bundle_info info;
        struere_bundle_get_info(&info, b, NULL);
        char digest[65];
        for (int i = 0; i < 32; i++)
            snprintf(digest + 2 * i, 3, "%02x", info.source_digest[i]);
        json_t *o = json_object();
        json_object_set_new(o, "bundle", json_string(label));
        json_object_set_new(o, "valid", json_true());
        char ver[32];
        snprintf(ver, sizeof(ver), "%u.%u", info.major, info.minor);
        json_object_set_new(o, "format", json_string(ver));
        json_object_set_new(o, "environment",
                            json_string(struere_env_name(info.environment)));
        json_object_set_new(o, "size", json_integer((json_int_t)info.size));
        json_object_set_new(o, "sourceDigest", json_string(digest));
        json_object_set_new(o, "project", json_string(info.project_name));
        json_object_set_new(o, "projectVersion",
                            json_string(info.project_version));
        json_object_set_new(o, "organization",
                            json_string(info.organization_name));
        json_object_set_new(o, "compiler", json_string(info.compiler_version));
        json_t *defs = json_object();
        for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
            json_t *slugs = json_array();
            for (size_t i = 0; i < info.counts[k]; i++) {
                const char *slug;
                struere_bundle_entry(&slug, NULL, NULL, b, k, i, NULL);
                json_array_append_new(slugs, json_string(slug));
            }
            json_object_set_new(defs, struere_kind_name(k), slugs);
        }
        json_object_set_new(o, "definitions", defs);
        if (!json)
            printf("bundle %s: valid\n", label);
        inspect_statement(s, id, env, b, o, json);
        if (json) {
            json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            printf("  format %s, environment %s, %llu bytes\n", ver,
                   struere_env_name(info.environment),
                   (unsigned long long)info.size);
            printf("  project %s %s (%s), compiled by %s\n", info.project_name,
                   info.project_version, info.organization_name,
                   info.compiler_version);
            printf("  source digest %s\n", digest);
            for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
                if (!info.counts[k])
                    continue;
                printf("  %s (%zu):", struere_kind_name(k), info.counts[k]);
                for (size_t i = 0; i < info.counts[k] && i < 50; i++) {
                    const char *slug;
                    struere_bundle_entry(&slug, NULL, NULL, b, k, i, NULL);
                    printf(" %s", slug);
                }
                printf("%s\n", info.counts[k] > 50 ? " ..." : "");
            }
        }
        json_decref(o);
    }
    struere_bundle_free(b);
    store_close(s);
    return rc;
}
