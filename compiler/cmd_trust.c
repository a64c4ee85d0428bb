/*
 * cmd_trust.c - signed promotions (runtime/TRUST.md): `struere
 * signing-key create`, `struere trust add|remove|require|show` and
 * `struere approve`. The work is in trust.c; this parses, prints and
 * returns exit codes.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile.h"
#include "store.h"
#include "trust.h"
#include "verify.h"

static const char signing_key_usage[] =
    "usage: struere signing-key create --out FILE\n"
    "\n"
    "Makes a new Ed25519 signing key: the secret key is written to FILE\n"
    "(mode 0600; an existing file is never overwritten; keep it out of the\n"
    "repository) and the public key is printed as one line,\n"
    "ed25519:<base64>, to give to 'struere trust add'.\n";

static const char trust_usage[] =
    "usage: struere trust add PUBLIC-KEY --name NAME [--sign FILE]...\n"
    "       struere trust remove NAME [--sign FILE]...\n"
    "       struere trust require ENV K [--sign FILE]...\n"
    "       struere trust show [--json]\n"
    "       (add, remove and require also take --push REMOTE)\n"
    "\n"
    "The trust policy in refs/struere/trust: named public keys, and per\n"
    "environment how many distinct trusted signatures (K) a promotion to\n"
    "it needs (0 by default). The first policy is trusted on first use;\n"
    "once a policy requires K signatures anywhere, changing it needs K\n"
    "signatures of the keys it already trusts (--sign, repeatable;\n"
    "STRUERE_SIGNING_KEY is the default). 'show --json' prints trust.json,\n"
    "which a runtime host can pin with --trust FILE.\n";

static const char approve_usage[] =
    "usage: struere approve [ENV] [--sign FILE] [--allow-widening]\n"
    "                       [--push REMOTE]\n"
    "\n"
    "Signs the promotion of ENV (default production) that waits for\n"
    "approval. The signature that reaches the number the trust policy\n"
    "requires moves the branch (compare-and-swap). The bundle is verified\n"
    "again before it is signed, and what it changes is shown first (as\n"
    "deploy shows it for production, as diff for development and eval): a\n"
    "production promotion that widens access is signed only with\n"
    "--allow-widening; one that names a commit development never had (for\n"
    "development and eval: not made on the branch's commit), that a later\n"
    "proposal superseded, or that is not newer than the latest statement,\n"
    "never.\n"
    "--sign defaults to STRUERE_SIGNING_KEY.\n";

/* Loads the signing keys named by --sign (or STRUERE_SIGNING_KEY when
 * none is named and `use_default`). Prints why on failure. */
int cli_signers_load(const char *const *paths, size_t n, bool use_default,
                     struct signer **out, size_t *count)
{
    const char *def = getenv("STRUERE_SIGNING_KEY");
    *out = NULL;
    *count = 0;
    if (n == 0 && use_default && def && *def) {
        paths = &def;
        n = 1;
    }
    if (n == 0)
        return EXIT_OK;
    struct signer *list = calloc(n, sizeof(*list));
    if (!list) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    for (size_t i = 0; i < n; i++) {
        char err[600];
        int rc = signer_load(paths[i], &list[i], err, sizeof(err));
        if (rc != TRUST_OK) {
            cli_error("%s", err);
            free(list);
            return rc == TRUST_IO ? EXIT_IO : EXIT_INVALID;
        }
    }
    *out = list;
    *count = n;
    return EXIT_OK;
}

void cli_signers_free(struct signer *list, size_t n)
{
    if (list)
        sodium_memzero(list, n * sizeof(*list));
    free(list);
}

void cli_promotion_report(int env, const struct promotion_result *r)
{
    if (r->complete) {
        if (r->required > 0)
            printf("promotion #%llu of %s approved: %u of %d required "
                   "signature(s)\n",
                   (unsigned long long)r->sequence, env_names[env],
                   r->signatures, r->required);
        else
            printf("promotion #%llu of %s recorded (%u signature(s); the "
                   "trust policy requires none)\n",
                   (unsigned long long)r->sequence, env_names[env],
                   r->signatures);
        printf("%s: now at %.12s\n", env_names[env], r->commit);
    } else {
        printf("promotion #%llu of %s to %.12s is pending: %u of %d "
               "required signature(s); %s has not moved\n",
               (unsigned long long)r->sequence, env_names[env], r->commit,
               r->signatures, r->required, env_names[env]);
        printf("next approver: struere approve %s --sign FILE\n",
               env_names[env]);
    }
    if (r->untrusted[0])
        printf("not counted (not in the trust policy): %s\n", r->untrusted);
}

int cli_push_env(struct store *s, int env, const char *remote)
{
    char ref[64];
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", env_names[env]);
    const char *refs[] = {ref, PROMOTIONS_REF};
    if (store_push(s, remote, refs, 2) != STORE_OK) {
        cli_error("%s moved, but the push failed: %s", env_names[env],
                  store_error(s));
        return EXIT_IO;
    }
    printf("pushed struere/%s and the promotion statements to %s\n",
           env_names[env], remote);
    return EXIT_OK;
}

int cmd_signing_key(const struct cli *g, int argc, char **argv)
{
    const char *out = NULL;
    if (argc >= 2 && cli_wants_help(argv[1])) {
        fputs(signing_key_usage, stdout);
        return EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "create")) {
        fputs(signing_key_usage, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(signing_key_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc && !out) {
            out = argv[++i];
        } else {
            cli_error("signing-key create: unknown argument '%s'\n", argv[i]);
            fputs(signing_key_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!out) {
        cli_error("signing-key create: --out FILE is required (the secret "
                  "key is never printed)");
        return EXIT_USAGE;
    }
    char buf[4096], pub[64], err[600];
    int rc = signer_create(cli_path(g, out, buf, sizeof(buf)), pub, err,
                           sizeof(err));
    if (rc != TRUST_OK) {
        cli_error("%s", err);
        return rc == TRUST_INVALID ? EXIT_INVALID : EXIT_IO;
    }
    printf("%s\n", pub);
    return EXIT_OK;
}

/* ---- trust ---- */

static void show_text(const struct trust_state *st)
{
    if (!st->t) {
        printf("no trust policy: promotions need no signature\n");
        return;
    }
    printf("trust policy version %u (%s)\n", struere_trust_version(st->t),
           TRUST_REF);
    printf("required signatures:");
    for (int e = 0; e < ENV_COUNT; e++)
        printf(" %s %d%s", env_names[e], struere_trust_required(st->t, e + 1),
               e + 1 < ENV_COUNT ? "," : "\n");
    size_t n = struere_trust_key_count(st->t);
    printf("keys (%zu):%s\n", n, n ? "" : " none");
    for (size_t i = 0; i < n; i++) {
        const char *name, *key;
        struere_trust_key(&name, &key, st->t, i, NULL);
        printf("  %-20s %s\n", name, key);
    }
}

static int key_index(json_t *keys, const char *field, const char *value)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *v = json_string_value(json_object_get(k, field));
        if (v && !strcmp(v, value))
            return (int)i;
    }
    return -1;
}

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= 64 &&
           strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") == n;
}

/* Applies `trust add|remove|require` to the change; prints why not. */
static int trust_edit(struct trust_change *c, const char *verb,
                      const char *const *args, size_t nargs, const char *name)
{
    if (!strcmp(verb, "add")) {
        if (nargs != 1 || !name) {
            cli_error("usage: struere trust add PUBLIC-KEY --name NAME");
            return EXIT_USAGE;
        }
        if (!trust_pubkey_ok(args[0])) {
            cli_error("'%s' is not a public key (ed25519:<base64 of 32 "
                      "bytes>, as 'struere signing-key create' prints)",
                      args[0]);
            return EXIT_INVALID;
        }
        if (!name_ok(name)) {
            cli_error("key name '%s': 1 to 64 letters, digits, '.', '_' or "
                      "'-'",
                      name);
            return EXIT_INVALID;
        }
        if (key_index(c->keys, "name", name) >= 0 ||
            key_index(c->keys, "key", args[0]) >= 0) {
            cli_error("the trust policy already has this %s",
                      key_index(c->keys, "name", name) >= 0 ? "name" : "key");
            return EXIT_INVALID;
        }
        if (json_array_size(c->keys) >= STRUERE_TRUST_MAX_KEYS) {
            cli_error("the trust policy has %d keys, the most it may have",
                      STRUERE_TRUST_MAX_KEYS);
            return EXIT_INVALID;
        }
        json_array_append_new(
            c->keys, json_pack("{s:s, s:s}", "key", args[0], "name", name));
        return EXIT_OK;
    }
    if (!strcmp(verb, "remove")) {
        if (nargs != 1) {
            cli_error("usage: struere trust remove NAME");
            return EXIT_USAGE;
        }
        int i = key_index(c->keys, "name", args[0]);
        if (i < 0) {
            cli_error("the trust policy has no key named '%s'", args[0]);
            return EXIT_INVALID;
        }
        json_array_remove(c->keys, (size_t)i);
        return EXIT_OK;
    }
    /* require ENV K */
    int env;
    char *end;
    if (nargs != 2) {
        cli_error("usage: struere trust require ENV K");
        return EXIT_USAGE;
    }
    if (cli_env_arg(args[0], &env) != EXIT_OK)
        return EXIT_USAGE;
    long k = strtol(args[1], &end, 10);
    if (*end || end == args[1] || k < 0 || k > STRUERE_TRUST_MAX_KEYS) {
        cli_error("K must be a number from 0 to %d, not '%s'",
                  STRUERE_TRUST_MAX_KEYS, args[1]);
        return EXIT_USAGE;
    }
    json_object_set_new(c->require, env_names[env], json_integer(k));
    return EXIT_OK;
}

/* A policy no promotion could satisfy is refused before it is written. */
static int trust_sane(const struct trust_change *c)
{
    size_t nkeys = json_array_size(c->keys);
    for (int e = 0; e < ENV_COUNT; e++) {
        json_int_t k =
            json_integer_value(json_object_get(c->require, env_names[e]));
        if ((size_t)k > nkeys) {
            cli_error("%s would require %lld signatures but the policy has "
                      "%zu key(s): add keys first",
                      env_names[e], (long long)k, nkeys);
            return EXIT_INVALID;
        }
    }
    return EXIT_OK;
}

/* After a change: the branches the runtime would now refuse for want of
 * an approved statement, and what to do about it. */
static void warn_unapproved(struct store *s)
{
    for (int e = 0; e < ENV_COUNT; e++) {
        char ref[64], id[41], err[1024];
        bool missing;
        snprintf(ref, sizeof(ref), "refs/heads/struere/%s", env_names[e]);
        if (store_ref_id(s, ref, id) != STORE_OK)
            continue;
        if (promotion_missing(s, e, id, &missing, err, sizeof(err)) !=
            TRUST_OK) {
            printf("note: %s (%.12s) is refused by the runtime: %s\n",
                   env_names[e], id, err);
            continue;
        }
        if (!missing)
            continue;
        printf("note: %s (%.12s) has no approved promotion statement: its "
               "keys are refused until one is approved (struere %s --sign "
               "FILE, then struere approve %s)\n",
               env_names[e], id, e == ENV_PRODUCTION ? "deploy --yes" : "dev",
               env_names[e]);
    }
}

int cmd_trust(const struct cli *g, int argc, char **argv)
{
    const char *verb = argc >= 2 ? argv[1] : "";
    const char *args[4], *name = NULL, *signs[64], *push = NULL;
    size_t nargs = 0, nsigns = 0;
    bool json = false;
    if (argc >= 2 && cli_wants_help(argv[1])) {
        fputs(trust_usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "add") && strcmp(verb, "remove") &&
        strcmp(verb, "require") && strcmp(verb, "show")) {
        fputs(trust_usage, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(trust_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--json") && !strcmp(verb, "show")) {
            json = true;
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc &&
                   strcmp(verb, "show")) {
            push = argv[++i];
        } else if (!strcmp(argv[i], "--sign") && i + 1 < argc && nsigns < 64) {
            signs[nsigns++] = argv[++i];
        } else if (argv[i][0] != '-' && nargs < 4) {
            args[nargs++] = argv[i];
        } else {
            cli_error("trust %s: unknown argument '%s'\n", verb, argv[i]);
            fputs(trust_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct store *s;
    int rc = cli_open_store(g, NULL, &s);
    if (rc != EXIT_OK)
        return rc;
    struct trust_state st;
    char err[1024];
    int trc = trust_read(s, &st, err, sizeof(err));
    if (trc != TRUST_OK) {
        cli_error("%s", err);
        store_close(s);
        return trc == TRUST_IO ? EXIT_IO : EXIT_INVALID;
    }
    if (!strcmp(verb, "show")) {
        if (nargs) {
            cli_error("trust show takes no argument");
            rc = EXIT_USAGE;
        } else if (json && st.doc) {
            json_dumpf(st.doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
            fputc('\n', stdout);
        } else if (json) {
            printf("null\n");
        } else {
            show_text(&st);
        }
        trust_state_free(&st);
        store_close(s);
        return rc;
    }
    struct trust_change c;
    struct signer *signers = NULL;
    size_t nsigners = 0;
    trust_change_begin(&st, &c);
    rc = trust_edit(&c, verb, args, nargs, name);
    if (rc == EXIT_OK)
        rc = trust_sane(&c);
    if (rc == EXIT_OK)
        rc = cli_signers_load(signs, nsigns, true, &signers, &nsigners);
    if (rc == EXIT_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "struere trust %s%s%s%s%s", verb,
                 nargs ? " " : "", nargs ? args[0] : "", nargs > 1 ? " " : "",
                 nargs > 1 ? args[1] : "");
        trc = trust_change_commit(s, &st, &c, signers, nsigners, msg, err,
                                  sizeof(err));
        if (trc == TRUST_INVALID) {
            cli_error("the trust policy was not changed: %s", err);
            rc = EXIT_INVALID;
        } else if (trc != TRUST_OK) {
            cli_error("%s", err);
            rc = EXIT_IO;
        } else {
            struct trust_state now;
            if (trust_read(s, &now, err, sizeof(err)) == TRUST_OK) {
                show_text(&now);
                trust_state_free(&now);
            }
            warn_unapproved(s);
            const char *refs[] = {TRUST_REF};
            if (push && store_push(s, push, refs, 1) != STORE_OK) {
                cli_error("the policy changed, but the push failed: %s",
                          store_error(s));
                rc = EXIT_IO;
            } else if (push) {
                printf("pushed %s to %s\n", TRUST_REF, push);
            }
        }
    }
    cli_signers_free(signers, nsigners);
    trust_change_free(&c);
    trust_state_free(&st);
    store_close(s);
    return rc;
}

/* ---- approve ---- */

/* What a development or eval promotion changes: `struere diff REPLACES
 * COMMIT --env ENV` (the definitions, access first; both bundles
 * verified). An exit status. */
static int show_change(const struct cli *g, int env,
                       const struere_statement *st)
{
    if (!st->replaces[0] || !strcmp(st->replaces, st->commit))
        return EXIT_OK; /* the first commit, or the one it has */
    char from[41], to[41], name[16];
    snprintf(from, sizeof(from), "%s", st->replaces);
    snprintf(to, sizeof(to), "%s", st->commit);
    snprintf(name, sizeof(name), "%s", env_names[env]);
    char *argv[] = {"diff", from, to, "--env", name, NULL};
    return cmd_diff(g, 5, argv);
}

/* Shows env's pending promotion before it is signed: for production, what
 * it changes as deploy shows it, refused (*rc) when it widens access
 * without allow_widening. *payload: the statement shown, for
 * promotion_approve to hold the signature to. TRUST_OK with *rc EXIT_OK
 * when it may be signed; otherwise the reason is printed. */
static int review_pending(const struct cli *g, struct store *s, int env,
                          bool allow_widening, char **payload, int *rc)
{
    struere_statement st;
    char err[1024];
    *rc = EXIT_OK;
    int trc = promotion_pending(s, env, &st, payload, err, sizeof(err));
    if (trc != TRUST_OK) {
        cli_error("%s", err);
        *rc = trc == TRUST_INVALID ? EXIT_INVALID : EXIT_IO;
        return trc;
    }
    printf("promotion #%llu of %s: %.12s (replaces %.12s), %s, proposed by "
           "%s as the statement says, %u valid signature(s) so far\n",
           (unsigned long long)st.sequence, env_names[env], st.commit,
           st.replaces[0] ? st.replaces : "none", st.action, st.who,
           st.signatures);
    if (env != ENV_PRODUCTION) {
        *rc = show_change(g, env, &st);
        return TRUST_OK;
    }
    struct verified v;
    bool widens = false;
    *rc = cli_review_production(s, st.replaces, st.commit, "approve", &v,
                                &widens);
    if (*rc == EXIT_OK && widens && st.replaces[0] && !allow_widening) {
        cli_error("approve: refusing to sign promotion #%llu: it widens "
                  "access (above); pass --allow-widening to approve it "
                  "anyway",
                  (unsigned long long)st.sequence);
        *rc = EXIT_INVALID;
    }
    return TRUST_OK;
}

int cmd_approve(const struct cli *g, int argc, char **argv)
{
    const char *signs[1], *push = NULL;
    size_t nsigns = 0;
    int env = ENV_PRODUCTION;
    bool env_given = false, allow_widening = false;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(approve_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--allow-widening")) {
            allow_widening = true;
        } else if (!strcmp(argv[i], "--sign") && i + 1 < argc && !nsigns) {
            signs[nsigns++] = argv[++i];
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc) {
            push = argv[++i];
        } else if (argv[i][0] != '-' && !env_given) {
            if (cli_env_arg(argv[i], &env) != EXIT_OK)
                return EXIT_USAGE;
            env_given = true;
        } else {
            cli_error("approve: unknown argument '%s'\n", argv[i]);
            fputs(approve_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct signer *signer;
    size_t n;
    int rc = cli_signers_load(signs, nsigns, true, &signer, &n);
    if (rc != EXIT_OK)
        return rc;
    if (n == 0) {
        cli_error("approve: no signing key: pass --sign FILE or set "
                  "STRUERE_SIGNING_KEY");
        return EXIT_USAGE;
    }
    struct store *s;
    if ((rc = cli_open_store(g, NULL, &s)) != EXIT_OK) {
        cli_signers_free(signer, n);
        return rc;
    }
    struct promotion_result r;
    char err[1024], *payload = NULL;
    int trc = review_pending(g, s, env, allow_widening, &payload, &rc);
    if (trc == TRUST_OK && rc == EXIT_OK)
        trc = promotion_approve(s, env, signer, payload, &r, err, sizeof(err));
    else
        err[0] = '\0'; /* said */
    if (trc != TRUST_OK || rc != EXIT_OK) {
        if (err[0])
            cli_error("%s", err);
        if (rc == EXIT_OK)
            rc = trc == TRUST_INVALID ? EXIT_INVALID : EXIT_IO;
    } else {
        cli_promotion_report(env, &r);
        if (r.complete && push)
            rc = cli_push_env(s, env, push);
    }
    free(payload);
    cli_signers_free(signer, n);
    store_close(s);
    return rc;
}
