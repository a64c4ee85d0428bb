/*
 * cmd_deploy.c - promotion: `struere deploy` moves production to the
 * development commit, `struere rollback` moves it back, both with a
 * compare-and-swap ref update and a reflog message; `struere fetch`
 * brings a remote's environment and key refs in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "cli.h"
#include "compile.h"
#include "kinds.h"
#include "report.h"
#include "semdiff.h"
#include "sha256.h"
#include "store.h"
#include "struere.h"
#include "trust.h"
#include "verify.h"

static const char deploy_usage[] =
    "usage: struere deploy [--dry-run] [--yes] [--allow-widening]\n"
    "                      [--sign FILE]... [--push REMOTE]\n"
    "\n"
    "Shows what changes in production (the semantic diff from production\n"
    "to the development commit's production bundle), asks for\n"
    "confirmation on a terminal, then moves refs/heads/struere/production\n"
    "to the development commit: nothing is recompiled. If production moved\n"
    "meanwhile, nothing is changed and the command fails.\n"
    "\n"
    "The bundle is verified whole first (every section, the SHA-256\n"
    "against the commit's manifest.json, well-formed bodies); one that\n"
    "does not verify is refused (exit 3). Every deploy writes a promotion\n"
    "statement to refs/struere/promotions; when the trust policy requires\n"
    "K signatures for production and fewer are given, the promotion waits\n"
    "for 'struere approve' and production does not move.\n"
    "\n"
    "A deploy that widens access (what `struere diff` lists under \"Access\n"
    "widened\": access granted, more rows, a mask removed or relaxed) shows\n"
    "that first; at a terminal it asks with the widening shown, and with\n"
    "--yes it is refused (exit 1, nothing moved) unless --allow-widening\n"
    "is given. The first deploy (production empty) shows all its access as\n"
    "granted and is not refused.\n"
    "\n"
    "  --dry-run      only show the diff\n"
    "  --yes          do not ask (required when not on a terminal, e.g. CI)\n"
    "  --allow-widening  deploy under --yes even when access widens\n"
    "  --sign FILE    sign the promotion with this signing key (repeatable;\n"
    "                 default: STRUERE_SIGNING_KEY)\n"
    "  --push REMOTE  push refs/heads/struere/production to a git remote\n";

static const char rollback_usage[] =
    "usage: struere rollback [--to REV] [--dry-run] [--yes]\n"
    "                        [--allow-widening] [--sign FILE]...\n"
    "                        [--push REMOTE]\n"
    "\n"
    "Moves production back to the commit it had before the deploy that\n"
    "brought its current commit (from the reflog, else from production's\n"
    "promotion statements, which a clone fetches), or to REV; either must\n"
    "be a commit of the development branch. Same compare-and-swap rule as\n"
    "deploy; the same verification, promotion statement and signatures.\n"
    "The access it changes is shown first, as for deploy. Rolling back to\n"
    "the previous production commit restores what production had and is\n"
    "never refused for widening access; with --to, a commit production\n"
    "may never have had, it is gated as deploy is (--allow-widening).\n"
    "\n"
    "  --to REV       roll back to this development commit instead\n"
    "  --dry-run      only show the diff\n"
    "  --yes          do not ask (required when not on a terminal, e.g. CI)\n"
    "  --allow-widening  roll back under --yes (with --to) even when\n"
    "                 access widens\n"
    "  --sign FILE    sign the promotion with this signing key (repeatable;\n"
    "                 default: STRUERE_SIGNING_KEY)\n"
    "  --push REMOTE  push refs/heads/struere/production to a git remote\n";

static const char fetch_usage[] =
    "usage: struere fetch [--init] REMOTE\n"
    "\n"
    "Brings the remote's refs/heads/struere/* and refs/struere/* (keys,\n"
    "trust policy, promotion statements) into\n"
    "the local store (for runtime hosts following a published store).\n"
    "\n"
    "--init: when the store's place (--store PATH, or the project's) is not\n"
    "itself a git repository, make one there first, even inside another\n"
    "repository's work tree (a host that only follows a remote; serve\n"
    "--follow keeps its mirror so).\n";

static json_t *read_json(struct store *s, const char *id)
{
    unsigned char *data;
    size_t len;
    if (!id[0] || store_read_blob(s, id, &data, &len) != STORE_OK)
        return NULL;
    json_error_t e;
    json_t *v = json_loadb((const char *)data, len, JSON_ALLOW_NUL, &e);
    free(data);
    return v;
}

/* The semantic diff of production between commits a and b, from their
 * review/production/ trees: git skips identical subtrees, so this costs
 * what changed, not the project's size (deploy stays constant-time).
 * *unread: a definition of either side could not be read (then the diff
 * lacks it, and must not be believed). */
/* One changed rendering of the review trees. */
struct review_change {
    int order; /* its kind's place in a bundle (STRUERE_KIND_*) */
    int kind;  /* enum kind */
    const struct store_change *change;
    char slug[512];
};

/* The place of compiler kind k among a bundle's kinds. */
static int bundle_order(int k)
{
    for (int r = 0; r < STRUERE_KIND_COUNT; r++)
        if (!strcmp(struere_kind_name(r), kind_table[k].name))
            return r;
    return STRUERE_KIND_COUNT;
}

static int review_change_cmp(const void *pa, const void *pb)
{
    const struct review_change *a = pa, *b = pb;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return strcmp(a->slug, b->slug);
}

static json_t *production_diff(struct store *s, const char *a, const char *b,
                               const char *la, const char *lb, bool *unread)
{
    struct store_change *ch;
    size_t n, m = 0;
    const char *prefix = "review/production/";
    if (store_changes(s, a, b, prefix, &ch, &n) != STORE_OK)
        return NULL;
    /* listed as semdiff_bundles lists two bundles' changes, not in the
     * trees' path order: deploy says the same whichever way it found
     * them */
    struct review_change *rc = calloc(n ? n : 1, sizeof(*rc));
    json_t *doc = rc ? semdiff_new(la, lb) : NULL;
    for (size_t i = 0; doc && i < n; i++) {
        int k =
            compile_review_parse(ch[i].path, rc[m].slug, sizeof(rc[m].slug));
        if (k < 0)
            continue;
        rc[m].kind = k;
        rc[m].order = bundle_order(k);
        rc[m++].change = &ch[i];
    }
    if (doc)
        qsort(rc, m, sizeof(*rc), review_change_cmp);
    for (size_t i = 0; doc && i < m; i++) {
        json_t *x = read_json(s, rc[i].change->old_id);
        json_t *y = read_json(s, rc[i].change->new_id);
        *unread |=
            (rc[i].change->old_id[0] && !x) || (rc[i].change->new_id[0] && !y);
        semdiff_add(doc, kind_table[rc[i].kind].name, rc[i].slug, x, y);
        json_decref(x);
        json_decref(y);
    }
    free(rc);
    free(ch);
    return doc;
}

/* Production only takes a commit whose production bundle verifies whole
 * (verify.h): every section, the environment, the SHA-256 against the
 * commit's manifest.json, well-formed bodies. A bundle blob this store
 * verified before is not read again, which keeps deploy constant-time.
 * Anything else is refused with exit 3 and production is not moved. */
static int verified_production(struct store *s, const char *id,
                               struct verified *v)
{
    char err[1024];
    int rc = verify_for_promotion(s, id, ENV_PRODUCTION, v, err, sizeof(err));
    if (rc != VERIFY_OK) {
        cli_error("%s", err);
        cli_error("refusing to move production to %.12s: its bundle does "
                  "not verify",
                  id);
        return EXIT_IO;
    }
    return EXIT_OK;
}

struct options {
    bool dry_run, yes, allow_widening;
    const char *push, *to;
    const char *signs[16]; /* --sign FILE */
    size_t nsigns;
};

/* Opens the production bundle of commit id (verified whole) as a
 * runtime; *rt stays NULL for "" (never deployed). */
static int open_production(struct store *s, const char *id,
                           struere_runtime **rt)
{
    struct verified v;
    struere_bundle *bundle;
    struere_error e;
    char err[1024];
    *rt = NULL;
    if (!id[0])
        return EXIT_OK;
    int vrc = verify_commit_bundle(s, id, ENV_PRODUCTION, &bundle, &v, err,
                                   sizeof(err));
    if (vrc != VERIFY_OK) {
        cli_error("%s", err);
        return vrc == VERIFY_IO ? EXIT_IO : EXIT_INVALID;
    }
    if ((vrc = struere_runtime_open_bundle(rt, bundle, &e)) < 0) {
        cli_error("%s: %s", id, e.message);
        return vrc == STRUERE_ENOMEM ? EXIT_IO : EXIT_INVALID;
    }
    return EXIT_OK;
}

/* The access changes between the runtimes, set on diff. */
static int set_access(const struere_runtime *a, const struere_runtime *b,
                      json_t *diff)
{
    char err[1024];
    json_t *access = NULL;
    int arc = access_changes(a, b, &access, err, sizeof(err));
    if (arc != ACCESS_OK) {
        cli_error("access: %s", err);
        return arc == ACCESS_INVALID ? EXIT_INVALID : EXIT_IO;
    }
    semdiff_set_access(diff, access);
    json_decref(access);
    return EXIT_OK;
}

/* Whether a difference read from review trees this store recorded can
 * change access: it changes an agent, a role or a data type, or the
 * organization id changed (rules compare with actor.organizationId),
 * which is all a decision reads, or an automation or a custom tool (what
 * a subject sets off, and what an automation does through a tool's
 * handler, access.h). Otherwise the access changes are none without
 * opening a bundle (deploy stays constant-time). */
static bool reaches_access(const json_t *diff, bool org_changed)
{
    bool reads = org_changed;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(diff, "changes"), i, c)
    {
        const char *kind = json_string_value(json_object_get(c, "kind"));
        reads |= !strcmp(kind, "agent") || !strcmp(kind, "role") ||
                 !strcmp(kind, "data") || !strcmp(kind, "automation") ||
                 !strcmp(kind, "tool");
    }
    return reads;
}

/* Whether the review/production/ trees of commits a (may be "") and b
 * are what their production bundles render to, as this store's `dev`
 * recorded when it wrote them (verify.h); *org_changed: the bundles'
 * organization ids differ. A tree written by anyone else is not
 * believed: development takes commits without signatures. */
static bool review_recorded(struct store *s, const char *a, const char *b,
                            bool *org_changed)
{
    const char *ids[2] = {a, b};
    unsigned char org[2][32];
    *org_changed = false;
    for (int k = 0; k < 2; k++) {
        char tree[41], blob[41], sources[41];
        if (!ids[k][0]) {
            rt_sha256("", 0, org[k]);
            continue;
        }
        if (store_tree_id(s, ids[k], "review/production", tree) != STORE_OK ||
            store_blob_id(s, ids[k], compile_bundle_path(ENV_PRODUCTION),
                          blob) != STORE_OK ||
            store_blob_id(s, ids[k], "sources", sources) != STORE_OK ||
            !verify_review_recorded(s, tree, ENV_PRODUCTION, blob, sources,
                                    org[k]))
            return false;
    }
    *org_changed = a[0] && memcmp(org[0], org[1], 32) != 0;
    return true;
}

/* The difference production would see moving from a to b, with its
 * access changes: from the review trees when this store recorded them
 * (what changed, constant time), else from the two bundles themselves.
 * NULL after an error (printed); *rc says which exit. */
static json_t *production_change(struct store *s, const char *a, const char *b,
                                 const char *la, const char *lb, int *rc)
{
    bool org_changed, unread = false;
    json_t *diff = NULL;
    *rc = EXIT_OK;
    if (review_recorded(s, a, b, &org_changed)) {
        if (!(diff = production_diff(s, a, b, la, lb, &unread))) {
            const char *why = store_error(s);
            cli_error("%s", why && why[0] ? why : "out of memory");
            *rc = EXIT_IO;
            return NULL;
        }
        if (unread) { /* the bundles themselves say what differs */
            json_decref(diff);
            diff = NULL;
        } else if (!reaches_access(diff, org_changed)) {
            json_t *none = json_array();
            semdiff_set_access(diff, none);
            json_decref(none);
            return diff;
        }
    }
    struere_runtime *rt[2] = {NULL, NULL};
    *rc = open_production(s, a, &rt[0]);
    if (*rc == EXIT_OK)
        *rc = open_production(s, b, &rt[1]);
    if (*rc == EXIT_OK && !diff)
        diff = semdiff_bundles(struere_runtime_bundle(rt[0]),
                               struere_runtime_bundle(rt[1]), la, lb);
    if (*rc == EXIT_OK)
        *rc = set_access(rt[0], rt[1], diff);
    struere_runtime_free(rt[0]);
    struere_runtime_free(rt[1]);
    if (*rc != EXIT_OK) {
        json_decref(diff);
        return NULL;
    }
    return diff;
}

static bool confirm(const char *question)
{
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    char line[32];
    if (!fgets(line, sizeof(line), stdin))
        return false;
    return line[0] == 'y' || line[0] == 'Y';
}

/* Shows the change (what widens access first), asks, then writes the
 * promotion statement of `to` (signed by signers) and moves production
 * from `from` to `to` when the trust policy's signatures are there
 * (trust.h); else the promotion waits for `struere approve`. With `gate`
 * (deploy), a promotion that widens access needs --allow-widening under
 * --yes, and is asked about with the widening shown at a terminal. */
int cli_review_production(struct store *s, const char *from, const char *to,
                          const char *verb, struct verified *v, bool *widens)
{
    int rc = verified_production(s, to, v);
    if (rc != EXIT_OK)
        return rc;
    char la[64], lb[64];
    snprintf(la, sizeof(la), "production %.12s", from[0] ? from : "(empty)");
    snprintf(lb, sizeof(lb), "%.12s", to);
    json_t *diff = production_change(s, from, to, la, lb, &rc);
    *widens = json_is_true(json_object_get(diff, "widens"));
    if (rc == EXIT_OK)
        semdiff_print(stdout, diff, SEMDIFF_TEXT, report_use_color(stdout));
    json_decref(diff);
    if (rc != EXIT_OK)
        /* a bundle recorded verified whose object has since gone bad on
         * disk is found here, where the access changes read it */
        cli_error("%s: refusing to move production to %.12s: the access "
                  "changes could not be computed (above)",
                  verb, to);
    return rc;
}

static int promote(struct store *s, const char *from, const char *to,
                   const char *verb, const struct options *o, bool gate,
                   const struct signer *signers, size_t nsigners)
{
    struct verified v;
    bool widens;
    int rc = cli_review_production(s, from, to, verb, &v, &widens);
    if (rc != EXIT_OK)
        return rc;
    if (o->dry_run) {
        printf("dry run: production not changed\n");
        return EXIT_OK;
    }
    /* The first deploy has no production access to widen: all of it is
     * shown as granted, and it is not refused. */
    widens = widens && gate && !o->allow_widening && from[0];
    if (widens && o->yes) {
        cli_error("%s: refusing to move production to %.12s: it widens "
                  "access (above); pass --allow-widening to %s anyway",
                  verb, to,
                  !strcmp(verb, "rollback") ? "roll back" : "deploy it");
        return EXIT_INVALID;
    }
    if (!o->yes) {
        if (!isatty(STDIN_FILENO)) {
            cli_error("%s: not on a terminal; pass --yes to confirm", verb);
            return EXIT_USAGE;
        }
        char q[160];
        snprintf(q, sizeof(q), "%sMove production to %.12s%s?",
                 widens ? "This WIDENS ACCESS (above). " : "", to,
                 widens ? " anyway" : "");
        if (!confirm(q)) {
            printf("cancelled: production not changed\n");
            return EXIT_OK;
        }
    }
    char msg[200], err[1024];
    snprintf(msg, sizeof(msg), "struere %s: %.12s (was %.12s)", verb, to,
             from[0] ? from : "none");
    struct promotion_result r;
    int trc = promotion_propose(s, ENV_PRODUCTION, verb, to, from, &v, signers,
                                nsigners, msg, &r, err, sizeof(err));
    if (trc != TRUST_OK) {
        cli_error("%s", err);
        return trc == TRUST_INVALID ? EXIT_INVALID : EXIT_IO;
    }
    if (r.complete)
        printf("production: %.12s -> %.12s\n", from[0] ? from : "(none)", to);
    cli_promotion_report(ENV_PRODUCTION, &r);
    if (o->push && r.complete)
        return cli_push_env(s, ENV_PRODUCTION, o->push);
    if (o->push) {
        const char *refs[] = {PROMOTIONS_REF};
        if (store_push(s, o->push, refs, 1) != STORE_OK) {
            cli_error("the push failed: %s", store_error(s));
            return EXIT_IO;
        }
        printf("pushed the pending promotion to %s\n", o->push);
    }
    return EXIT_OK;
}

static int parse(int argc, char **argv, const char *usage, bool rollback,
                 struct options *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(usage, stdout);
            return -1;
        } else if (!strcmp(argv[i], "--dry-run")) {
            o->dry_run = true;
        } else if (!strcmp(argv[i], "--yes") || !strcmp(argv[i], "-y")) {
            o->yes = true;
        } else if (!strcmp(argv[i], "--allow-widening")) {
            o->allow_widening = true;
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc) {
            o->push = argv[++i];
        } else if (!strcmp(argv[i], "--sign") && i + 1 < argc &&
                   o->nsigns < 16) {
            o->signs[o->nsigns++] = argv[++i];
        } else if (rollback && !strcmp(argv[i], "--to") && i + 1 < argc) {
            o->to = argv[++i];
        } else {
            cli_error("unknown argument '%s'\n", argv[i]);
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* Parses the options and opens the store. Returns EXIT_OK when the
 * command goes on (*s open); else the exit code (-1 for --help: exit 0). */
static int begin(const struct cli *g, int argc, char **argv, const char *usage,
                 bool rollback, struct options *o, struct store **s,
                 struct signer **signers, size_t *nsigners)
{
    int prc = parse(argc, argv, usage, rollback, o);
    if (prc)
        return prc;
    prc = cli_signers_load(o->signs, o->nsigns, true, signers, nsigners);
    if (prc)
        return prc;
    prc = cli_open_store(g, NULL, s);
    if (prc)
        cli_signers_free(*signers, *nsigners);
    return prc;
}

int cmd_deploy(const struct cli *g, int argc, char **argv)
{
    struct options o;
    struct store *s;
    struct signer *signers = NULL;
    size_t nsigners = 0;
    int rc =
        begin(g, argc, argv, deploy_usage, false, &o, &s, &signers, &nsigners);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    char dev[41], prod[41], err[1024];
    bool missing;
    int trc;
    if (store_ref_id(s, STORE_DEVELOPMENT, dev) != STORE_OK) {
        cli_error("nothing to deploy: struere/development does not exist; "
                  "run 'struere dev' first");
        rc = EXIT_INVALID;
    } else if (store_ref_id(s, STORE_PRODUCTION, prod) == STORE_ERROR) {
        cli_error("%s", store_error(s));
        rc = EXIT_IO;
    } else if ((trc = promotion_missing(s, ENV_PRODUCTION, prod, &missing, err,
                                        sizeof(err))) != TRUST_OK) {
        cli_error("%s", err);
        cli_error("deploy: refusing to promote over statements that do not "
                  "verify; restore " PROMOTIONS_REF " (or " TRUST_REF
                  ") to a commit that does (git log shows them)");
        rc = trc == TRUST_IO ? EXIT_IO : EXIT_INVALID;
    } else if (!strcmp(dev, prod) && !missing) {
        printf("production is already at the development commit %.12s\n", dev);
    } else {
        /* With prod == dev here, production has no approved statement
         * (a trust policy newer than its commit): approving the commit
         * it already has is what makes runtimes serve it again. */
        rc = promote(s, prod, dev, "deploy", &o, true, signers, nsigners);
    }
    cli_signers_free(signers, nsigners);
    store_close(s);
    return rc;
}

/* The commit production had before the latest deploy statement that
 * brought `current` (refs/struere/promotions travels with fetch and
 * push; the reflog is this clone's alone): its `replaces`. Statements
 * of pending promotions and of rollbacks do not count, as in the
 * reflog, nor, under a trust policy, statements it does not approve.
 * EXIT_OK, EXIT_INVALID when there is none, or an error (said:
 * *said). */
static int previous_by_statement(struct store *s, const char *current,
                                 char out[41], bool *said)
{
    struct promotion_entry *list = NULL;
    struct trust_state ts;
    size_t n = 0;
    char err[1024];
    /* under a trust policy, only statements it approves (K signatures of
     * its keys): anyone who can push can write one without */
    int trc = trust_read(s, &ts, err, sizeof(err));
    if (trc == TRUST_OK) {
        trc = promotion_history(s, ENV_PRODUCTION, ts.t, 1000, &list, &n, err,
                                sizeof(err));
        if (trc != TRUST_OK)
            trust_state_free(&ts);
    }
    if (trc != TRUST_OK) {
        cli_error("%s", err);
        *said = true;
        return trc == TRUST_IO ? EXIT_IO : EXIT_INVALID;
    }
    int k = struere_trust_required(ts.t, STRUERE_ENV_PRODUCTION);
    int rc = EXIT_INVALID;
    for (size_t i = 0; i < n && rc != EXIT_OK; i++)
        if (!list[i].pending && !strcmp(list[i].st.action, "deploy") &&
            list[i].st.environment == STRUERE_ENV_PRODUCTION &&
            list[i].st.signatures >= (unsigned)(k > 0 ? k : 0) &&
            !strcmp(list[i].st.commit, current) && list[i].st.replaces[0]) {
            memcpy(out, list[i].st.replaces, 41);
            rc = EXIT_OK;
        }
    free(list);
    trust_state_free(&ts);
    return rc;
}

/* The commit production had before the deploy that brought `current`:
 * from this clone's reflog, else from production's promotion statements
 * (*from says which, for messages). */
static int previous_production(struct store *s, const char *current,
                               char out[41], const char **from)
{
    struct store_reflog_entry *log;
    size_t n;
    bool said = false;
    if (store_reflog(s, STORE_PRODUCTION, &log, &n) != STORE_OK) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    int rc = EXIT_INVALID;
    *from = "its reflog";
    for (size_t i = 0; i < n; i++) {
        if (strncmp(log[i].message, "struere deploy", 14) ||
            strcmp(log[i].new_id, current))
            continue;
        if (strspn(log[i].old_id, "0") == 40)
            break; /* the first deploy: nothing before it */
        memcpy(out, log[i].old_id, 41);
        rc = EXIT_OK;
        break;
    }
    free(log);
    if (rc != EXIT_OK) {
        *from = "its latest deploy statement";
        rc = previous_by_statement(s, current, out, &said);
    }
    if (rc != EXIT_OK && !said)
        cli_error("no earlier production commit to roll back to (use "
                  "--to REV)");
    return rc;
}

int cmd_rollback(const struct cli *g, int argc, char **argv)
{
    struct options o;
    struct store *s;
    struct signer *signers = NULL;
    size_t nsigners = 0;
    int rc =
        begin(g, argc, argv, rollback_usage, true, &o, &s, &signers, &nsigners);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    char prod[41], target[41];
    const char *from;
    if (store_ref_id(s, STORE_PRODUCTION, prod) != STORE_OK) {
        cli_error("nothing to roll back: production was never deployed");
        rc = EXIT_INVALID;
        goto done;
    }
    if (o.to) {
        bool on = false;
        if (store_resolve(s, o.to, target) != STORE_OK) {
            cli_error("%s", store_error(s));
            rc = EXIT_INVALID;
            goto done;
        }
        if (store_on_branch(s, target, STORE_DEVELOPMENT, &on) != STORE_OK ||
            !on) {
            cli_error("%s (%.12s) was never a development commit; "
                      "production only takes development commits",
                      o.to, target);
            rc = EXIT_INVALID;
            goto done;
        }
    } else if ((rc = previous_production(s, prod, target, &from)) != EXIT_OK) {
        goto done;
    } else {
        /* the reflog says where production was, not that it was right
         * there: a ref moved by hand is no development commit */
        bool on = false;
        if (store_on_branch(s, target, STORE_DEVELOPMENT, &on) != STORE_OK) {
            cli_error("%s", store_error(s));
            rc = EXIT_IO;
            goto done;
        }
        if (!on) {
            cli_error("production's previous commit %.12s (%s) was "
                      "never a development commit (was production moved by "
                      "hand?); production only takes development commits: "
                      "name one with --to REV",
                      target, from);
            rc = EXIT_INVALID;
            goto done;
        }
    }
    if (!strcmp(target, prod)) {
        printf("production is already at %.12s\n", prod);
        goto done;
    }
    rc = promote(s, prod, target, "rollback", &o, o.to != NULL, signers,
                 nsigners);
done:
    cli_signers_free(signers, nsigners);
    store_close(s);
    return rc;
}

int cmd_fetch(const struct cli *g, int argc, char **argv)
{
    if (argc == 2 && cli_wants_help(argv[1])) {
        fputs(fetch_usage, stdout);
        return EXIT_OK;
    }
    bool init = argc == 3 && !strcmp(argv[1], "--init");
    const char *remote = argv[argc - 1];
    if ((argc != 2 && !init) || remote[0] == '-') {
        fputs(fetch_usage, stderr);
        return EXIT_USAGE;
    }
    if (init) {
        char buf[4096], err[600];
        bool created;
        const char *where = cli_store_location(g, NULL, buf, sizeof(buf));
        if (store_ensure_repository_at(where, &created, err, sizeof(err)) < 0) {
            cli_error("fetch --init: %s: %s", where, err);
            return EXIT_IO;
        }
    }
    struct store *s;
    int rc = cli_open_store(g, NULL, &s);
    if (rc != EXIT_OK)
        return rc;
    if (store_fetch(s, remote) != STORE_OK) {
        cli_error("%s", store_error(s));
        rc = EXIT_IO;
    } else {
        printf("fetched struere refs from %s\n", remote);
    }
    store_close(s);
    return rc;
}
