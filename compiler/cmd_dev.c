/*
 * cmd_dev.c - `struere dev [--watch] [--push REMOTE] [-v]`: check,
 * compile and commit to the development branch (development and
 * production bundles) and the eval branch (eval bundle), each with
 * manifest.json and review/. No commit when nothing changed. --watch
 * re-runs on every change. Unchanged files and definitions come from
 * dev's caches (defcache.h, bundle_cache.h); -v times each phase.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "bundle_cache.h"
#include "cli.h"
#include "defcache.h"
#include "compile.h"
#include "kinds.h"
#include "pool.h"
#include "sha256.h"
#include "store.h"
#include "struere.h"
#include "trust.h"
#include "verify.h"
#include "arena.h"

static const char dev_usage[] =
    "usage: struere dev [--watch] [--sign FILE]... [--push REMOTE] [-v]\n"
    "\n"
    "Checks and compiles the project, then commits\n"
    "  refs/heads/struere/development  bundles/development.stb,\n"
    "                                  bundles/production.stb, manifest.json,\n"
    "                                  review/development/, "
    "review/production/\n"
    "  refs/heads/struere/eval         bundles/eval.stb, manifest.json,\n"
    "                                  review/eval/\n"
    "in the git repository enclosing the project (or struere.yaml's store:).\n"
    "Makes no commit when nothing changed; SOURCE_DATE_EPOCH sets commit\n"
    "times. Each ref moves with compare-and-swap.\n"
    "\n"
    "A run after a small change is fast: definition files that did not\n"
    "change are restored from a cache in the store's git directory\n"
    "(.git/struere/), and unchanged definitions keep their compiled form\n"
    "from the last commit. The result is the same as without the cache\n"
    "(delete .git/struere/ at any time).\n"
    "\n"
    "  --watch        keep running: re-check and re-commit on every change,\n"
    "                 printing problems instead of exiting\n"
    "  --sign FILE    sign the promotion statements of development and\n"
    "                 eval with this key (repeatable; default\n"
    "                 STRUERE_SIGNING_KEY): needed only when the trust\n"
    "                 policy requires signatures there; with fewer than it\n"
    "                 requires, the branch waits for 'struere approve'\n"
    "  --push REMOTE  push the moved refs to a git remote (name or URL)\n"
    "  -v, --verbose  say on stderr what each phase took\n";

/* A commit message lists at most this many definitions (then "... and N
 * more"): every deploy and log reads the commit objects, so their size
 * must not grow with the project, whatever one commit changed. */
#define MESSAGE_LINES 200

/* "1 agent changed, 2 roles added" + per-definition lines, comparing the
 * review files about to be committed with those of the parent. */
static char *change_message(const struct store_blob *old, size_t nold,
                            const struct compiled *c, unsigned env_mask,
                            size_t *changes)
{
    /* added, changed, removed per environment; the summary counts a
     * definition once per branch (the largest count over its envs). */
    size_t counts[ENV_COUNT][KIND_COUNT][3] = {{{0}}};
    size_t cap = 4096, used = 0, lines = 0;
    char *body = malloc(cap);
    if (!body)
        return NULL;
    body[0] = '\0';
    *changes = 0;
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "review/%s/", env_names[e]);
        size_t plen = strlen(prefix);
        bool header = false;
        /* Merge the two sorted lists of review paths. */
        size_t i = 0, j = 0;
        while (i < c->nreview[e] || j < nold) {
            if (j < nold && strncmp(old[j].path, prefix, plen)) {
                j++;
                continue;
            }
            const struct compiled_file *nf =
                i < c->nreview[e] ? &c->review[e][i] : NULL;
            int cmp = !nf ? 1 : j >= nold ? -1 : strcmp(nf->path, old[j].path);
            char mark;
            const char *path;
            if (cmp < 0) {
                mark = '+';
                path = nf->path;
                i++;
            } else if (cmp > 0) {
                mark = '-';
                path = old[j].path;
                j++;
            } else {
                char id[41];
                if (nf->data)
                    store_hash_blob(nf->data, nf->len, id);
                else
                    snprintf(id, sizeof(id), "%s", nf->blob_id);
                bool same = !strcmp(id, old[j].id);
                path = nf->path;
                i++;
                j++;
                if (same)
                    continue;
                mark = '~';
            }
            char slug[512];
            int k = compile_review_parse(path, slug, sizeof(slug));
            if (k < 0)
                continue;
            counts[e][k][mark == '+' ? 0 : mark == '~' ? 1 : 2]++;
            (*changes)++;
            if (used + 300 > cap) {
                char *bigger = realloc(body, cap * 2);
                if (!bigger)
                    break;
                body = bigger;
                cap *= 2;
            }
            if (!header) {
                used += (size_t)snprintf(body + used, cap - used, "\n%s:\n",
                                         env_names[e]);
                header = true;
            }
            if (lines++ < MESSAGE_LINES)
                used +=
                    (size_t)snprintf(body + used, cap - used, "  %c %s %s\n",
                                     mark, kind_table[k].label, slug);
        }
    }
    if (lines > MESSAGE_LINES)
        used += (size_t)snprintf(body + used, cap - used,
                                 "  ... and %zu more\n", lines - MESSAGE_LINES);
    char first[600] = "struere dev:";
    size_t fl = strlen(first);
    static const char *const verbs[3] = {"added", "changed", "removed"};
    bool any = false;
    for (int k = 0; k < KIND_COUNT; k++)
        for (int v = 0; v < 3; v++) {
            size_t n = 0;
            for (int e = 0; e < ENV_COUNT; e++)
                if (counts[e][k][v] > n)
                    n = counts[e][k][v];
            if (!n)
                continue;
            fl += (size_t)snprintf(
                first + fl, sizeof(first) - fl, "%s %zu %s %s", any ? "," : "",
                n, n == 1 ? kind_table[k].label : kind_table[k].plural,
                verbs[v]);
            any = true;
            if (fl >= sizeof(first) - 80)
                break;
        }
    if (!any)
        snprintf(first + fl, sizeof(first) - fl, " no definition changed");
    size_t total = strlen(first) + used + 4;
    char *msg = malloc(total);
    if (msg)
        snprintf(msg, total, "%s\n%s", first, body);
    free(body);
    return msg;
}

/* ---- one branch -----------------------------------------------------------
 * development (development and production bundles) and eval each have
 * their own store handle (a libgit2 repository is used by one thread at a
 * time). Their previous commits are fetched on one thread while the
 * project is checked; their new trees and commits are made on a thread
 * each. Refs move afterwards, development first, and eval only if
 * development did. */

struct branch {
    const char *ref;   /* refs/heads/struere/... */
    const char *label; /* "development", "eval" */
    unsigned env_mask;
    struct store *s;
    struct arena arena;
    /* What its previous commit lets the compile reuse. */
    char parent[41];
    char *old_sources;
    struct store_blob *blobs; /* the parent's tree, sorted by path */
    size_t nblobs;
    /* The SHA-256 of its bundles, as its manifest.json gives them: a
     * previous bundle is reused only when its bytes have that digest,
     * whether it comes from the cache or from git. */
    unsigned char digest[ENV_COUNT][32];
    bool has_digest[ENV_COUNT];
    struct struere_bundle *cached[ENV_COUNT]; /* its bundles, if cached */
    size_t bundles_cached; /* previous bundles taken from the cache */
    /* The commit. */
    char *sources;
    char *message;
    char new_id[41];
    bool changed; /* new_id is a new commit (else the parent) */
    int rc;
    char error[1200]; /* why rc is not EXIT_OK */
};

static int cmp_blob_path(const void *key, const void *elem)
{
    return strcmp(key, ((const struct store_blob *)elem)->path);
}

/* The blob at path in a tree listing (sorted by path), or NULL. */
static const struct store_blob *find_blob(const struct store_blob *blobs,
                                          size_t n, const char *path)
{
    return n ? bsearch(path, blobs, n, sizeof(*blobs), cmp_blob_path) : NULL;
}

static void branch_fail(struct branch *b, int rc, const char *msg)
{
    snprintf(b->error, sizeof(b->error), "%s", msg);
    b->rc = rc;
}

/* Reads what the branch's previous commit offers (on its own store
 * handle, while the project is being checked): its tree, its sources
 * list, its bundles' digests from its manifest.json, and its bundles from
 * the bundle cache when the sources say the same compiler made them.
 * Failures are kept for branch_prepare. */
static void branch_fetch(struct branch *b, const char *store_at)
{
    char err[600];
    if (store_open(&b->s, store_at, err, sizeof(err)) != STORE_OK) {
        branch_fail(b, EXIT_IO, err);
        return;
    }
    int rc = store_ref_id(b->s, b->ref, b->parent);
    if (rc == STORE_ERROR) {
        branch_fail(b, EXIT_IO, store_error(b->s));
        return;
    }
    if (rc == STORE_NOTFOUND)
        return;
    if (store_tree_blobs(b->s, b->parent, "", &b->blobs, &b->nblobs) !=
        STORE_OK) {
        b->blobs = NULL;
        b->nblobs = 0;
        return;
    }
    unsigned char *data;
    size_t len;
    if (store_read(b->s, b->parent, "sources", &data, &len) != STORE_OK)
        return; /* an older commit: compile everything */
    b->old_sources = (char *)data;
    if (!compile_sources_compatible(b->old_sources))
        return;
    if (store_read(b->s, b->parent, "manifest.json", &data, &len) != STORE_OK)
        return; /* no digests: nothing is reused */
    for (int e = 0; e < ENV_COUNT; e++)
        b->has_digest[e] =
            (b->env_mask & (1u << e)) &&
            struere_manifest_digest(data, len, e + 1, b->digest[e], NULL) == 0;
    free(data);
    for (int e = 0; e < ENV_COUNT; e++) {
        const struct store_blob *blob =
            find_blob(b->blobs, b->nblobs, compile_bundle_path((enum env)e));
        if (!b->has_digest[e] || !blob)
            continue;
        b->cached[e] = bundle_cache_open(store_git_dir(b->s), blob->id, e + 1,
                                         b->digest[e]);
        b->bundles_cached += b->cached[e] != NULL;
    }
}

/* What the compile may reuse from the previous commit: the unchanged
 * definitions (compared with the sources list) and their bundles. */
static void branch_prepare(struct branch *b, const struct project *p,
                           struct compile_reuse *reuse)
{
    if (!b->old_sources)
        return;
    const char **paths =
        arena_alloc(&b->arena, (b->nblobs + 1) * sizeof(char *));
    const char **ids = arena_alloc(&b->arena, (b->nblobs + 1) * sizeof(char *));
    if (!paths || !ids)
        return; /* out of memory: nothing reused */
    for (size_t i = 0; i < b->nblobs; i++) {
        paths[i] = b->blobs[i].path;
        ids[i] = b->blobs[i].id;
    }
    struct store_blob_list list = {paths, ids, b->nblobs};
    compile_reuse_prepare(p, &b->arena, b->old_sources, &list, b->env_mask,
                          reuse);
    for (int e = 0; e < ENV_COUNT; e++)
        if ((b->env_mask & (1u << e)) && b->cached[e] && reuse->unchanged[e]) {
            reuse->old[e] = b->cached[e];
            b->cached[e] = NULL;
        }
}

struct old_bundles {
    int envs[ENV_COUNT];
    const unsigned char *digests[ENV_COUNT];
    struct compile_reuse *reuse;
};

/* Used only when its bytes have the manifest's SHA-256 and it verifies as
 * the runtime would: a bad one is not used (everything is emitted again).
 * (The blob was read without libgit2's hash check.) */
static void open_old_bundle(void *ctx, size_t i, const void *data, size_t len)
{
    struct old_bundles *o = ctx;
    int e = o->envs[i];
    struere_error err;
    unsigned char got[32];
    rt_sha256(data, len, got);
    if (memcmp(got, o->digests[i], 32) != 0 ||
        struere_bundle_open_memory(&o->reuse->old[e], data, len, e + 1, &err) !=
            STRUERE_OK)
        o->reuse->old[e] = NULL;
}

/* The previous bundles the bundle cache did not have, read out of git in
 * parallel. A bundle that cannot be read is not used: its definitions
 * are emitted again. */
static void load_missing_bundles(struct store *s, struct branch *br,
                                 struct compile_reuse *reuse)
{
    const char *ids[ENV_COUNT];
    struct old_bundles o = {.reuse = reuse};
    size_t n = 0;
    for (int e = 0; e < ENV_COUNT; e++) {
        const struct branch *b = &br[e == ENV_EVAL];
        const struct store_blob *blob =
            find_blob(b->blobs, b->nblobs, compile_bundle_path((enum env)e));
        if (reuse->unchanged[e] && blob && !reuse->old[e] && b->has_digest[e]) {
            o.envs[n] = e;
            o.digests[n] = b->digest[e];
            ids[n++] = blob->id;
        }
    }
    if (n)
        store_read_blobs_trusted(s, ids, n, open_old_bundle, &o);
}

/* Writes the branch's next commit (manifest.json, sources, its bundles,
 * already written as bundle_ids, and its review/ renderings) without
 * moving its ref: branch_finish does, in order. */
static void branch_build(struct branch *b, const struct project *p,
                         struct compiled *c, char bundle_ids[][41])
{
    size_t n = 2;
    for (int e = 0; e < ENV_COUNT; e++)
        if (b->env_mask & (1u << e))
            n += 1 + c->nreview[e];
    struct store_file *files = calloc(n, sizeof(*files));
    char *manifest = compile_manifest(p, c, b->env_mask);
    size_t changes;
    b->message = change_message(b->blobs, b->nblobs, c, b->env_mask, &changes);
    if (!files || !manifest || !b->message) {
        free(files);
        free(manifest);
        branch_fail(b, EXIT_IO, "out of memory");
        return;
    }
    /* In path order (bundles/, manifest.json, review/, sources), as the
     * tree lists them: the store then has nothing to sort. */
    size_t k = 0;
    for (int e = 0; e < ENV_COUNT; e++)
        if (b->env_mask & (1u << e))
            files[k++] =
                (struct store_file){compile_bundle_path((enum env)e), NULL,
                                    c->bundle[e].len, bundle_ids[e]};
    files[k++] =
        (struct store_file){"manifest.json", manifest, strlen(manifest), NULL};
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(b->env_mask & (1u << e)))
            continue;
        for (size_t i = 0; i < c->nreview[e]; i++)
            files[k++] = (struct store_file){
                c->review[e][i].path, c->review[e][i].data, c->review[e][i].len,
                c->review[e][i].blob_id};
    }
    files[k++] =
        (struct store_file){"sources", b->sources, strlen(b->sources), NULL};
    if (store_commit_objects(b->s, b->parent, b->parent[0] ? b->blobs : NULL,
                             b->nblobs, files, k, b->message, b->new_id,
                             &b->changed) != STORE_OK)
        branch_fail(b, EXIT_IO, store_error(b->s));
    free(manifest);
    free(files);
}

/* The signing keys of --sign, for branches whose environment the trust
 * policy wants signed. */
struct dev_signers {
    const struct signer *list;
    size_t n;
};

/* When the trust policy requires signatures for the branch's
 * environment, the branch moves through a promotion statement
 * (trust.h): at once with enough --sign keys, else after `struere
 * approve`. 1 when it took care of the branch, 0 when the policy
 * requires nothing, or an exit code < 0 negated. */
static int branch_promote(struct branch *b, int env,
                          const struct dev_signers *sig, bool *pending)
{
    char err[1024];
    int k = trust_required(b->s, env, err, sizeof(err));
    if (k < 0) {
        branch_fail(b, EXIT_INVALID, err);
        return 1;
    }
    if (k == 0 || (!b->changed && !promotion_missing(b->s, env, b->new_id)))
        return 0;
    struct verified v;
    struct promotion_result r;
    int vrc = verify_for_promotion(b->s, b->new_id, env, &v, err, sizeof(err));
    if (vrc != VERIFY_OK) {
        branch_fail(b, EXIT_IO, err);
        return 1;
    }
    const char *from = b->changed ? b->parent : b->new_id;
    int trc =
        promotion_propose(b->s, env, "dev", b->new_id, from, &v, sig->list,
                          sig->n, b->message, &r, err, sizeof(err));
    if (trc != TRUST_OK) {
        branch_fail(b, trc == TRUST_INVALID ? EXIT_INVALID : EXIT_IO, err);
        return 1;
    }
    cli_promotion_report(env, &r);
    *pending = !r.complete;
    return 1;
}

/* Moves the branch's ref to the commit branch_build made (compare-and-
 * swap), or proposes the move when the trust policy wants it signed, and
 * says what it did. */
static int branch_finish(struct branch *b, int env,
                         const struct dev_signers *sig)
{
    bool pending = false;
    if (b->rc == EXIT_OK && !branch_promote(b, env, sig, &pending) &&
        b->changed &&
        store_commit_move(b->s, b->ref, b->parent, b->new_id, b->message) !=
            STORE_OK)
        branch_fail(b, EXIT_IO, store_error(b->s));
    if (b->rc != EXIT_OK) {
        cli_error("%s", b->error);
        return b->rc;
    }
    if (!b->changed) {
        printf("%s: up to date at %.12s\n", b->label, b->new_id);
        return EXIT_OK;
    }
    const char *summary = b->message + strlen("struere dev: ");
    printf("%s: %s %.12s: %.*s\n", b->label,
           pending ? "proposed (waits for approval)" : "committed", b->new_id,
           (int)strcspn(summary, "\n"), summary);
    /* The per-definition lines, at most 24 of them. */
    const char *line = strchr(b->message, '\n');
    int shown = 0, more = 0;
    while (line && *++line) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        if (len > 0) {
            if (shown++ < 24)
                printf("  %.*s\n", len, line);
            else
                more++;
        }
        line = end;
    }
    if (more)
        printf("  ... and %d more\n", more);
    return EXIT_OK;
}

static void branch_free(struct branch *b)
{
    for (int e = 0; e < ENV_COUNT; e++)
        struere_bundle_free(b->cached[e]);
    free(b->message);
    free(b->old_sources);
    free(b->blobs);
    free(b->sources);
    store_close(b->s);
    arena_free(&b->arena);
}

/* Runs fn on both branches at once (the second on a thread of its own). */
struct branch_job {
    void (*fn)(struct branch *b, void *arg);
    struct branch *b;
    void *arg;
};

static void *branch_thread(void *arg)
{
    struct branch_job *j = arg;
    j->fn(j->b, j->arg);
    return NULL;
}

static void both_branches(struct branch br[2],
                          void (*fn)(struct branch *b, void *arg), void *arg)
{
    struct branch_job j = {fn, &br[1], arg};
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, branch_thread, &j) == 0;
    fn(&br[0], arg);
    if (threaded)
        pthread_join(t, NULL);
    else
        fn(&br[1], arg);
}

struct dev_ctx {
    const struct project *p;
    struct compile_reuse *reuse;
    struct compiled *c;
    char (*bundle_ids)[41];
};

static void prepare_fn(struct branch *b, void *arg)
{
    struct dev_ctx *x = arg;
    branch_prepare(b, x->p, x->reuse);
}

static void build_fn(struct branch *b, void *arg)
{
    struct dev_ctx *x = arg;
    branch_build(b, x->p, x->c, x->bundle_ids);
}

/* ---- writing and hashing the bundles --------------------------------------
 * Six independent jobs: each bundle's git blob (SHA-1 and compression)
 * and its SHA-256 for the manifests, largest first, on every core. */

struct bundle_jobs {
    struct store *s;
    struct compiled *c;
    char (*ids)[41];
    int order[2 * ENV_COUNT]; /* job k: env order[k] % ENV_COUNT, blob
                                 when < ENV_COUNT, digest otherwise */
    char errors[ENV_COUNT][300];
};

static void bundle_job(void *ctx, size_t k, unsigned w)
{
    struct bundle_jobs *j = ctx;
    int job = j->order[k], e = job % ENV_COUNT;
    struct bundle_bytes *b = &j->c->bundle[e];
    if (job < ENV_COUNT)
        store_write_blob(j->s, w, b->data, b->len, j->ids[e], j->errors[e],
                         sizeof(j->errors[e]));
    else
        compile_digest(j->c, (enum env)e);
}

static int write_bundles(struct store *s, struct compiled *c, char ids[][41])
{
    struct bundle_jobs j = {.s = s, .c = c, .ids = ids};
    /* Writing costs about twice hashing; larger bundles first. */
    size_t cost[2 * ENV_COUNT];
    for (int k = 0; k < 2 * ENV_COUNT; k++) {
        j.order[k] = k;
        cost[k] = c->bundle[k % ENV_COUNT].len * (k < ENV_COUNT ? 2 : 1);
    }
    for (int a = 1; a < 2 * ENV_COUNT; a++)
        for (int b = a; b > 0 && cost[j.order[b]] > cost[j.order[b - 1]]; b--) {
            int t = j.order[b];
            j.order[b] = j.order[b - 1];
            j.order[b - 1] = t;
        }
    pool_run(pool_threads_large(2 * ENV_COUNT), 2 * ENV_COUNT, bundle_job, &j);
    for (int e = 0; e < ENV_COUNT; e++)
        if (j.errors[e][0]) {
            cli_error("%s: %s", compile_bundle_path((enum env)e), j.errors[e]);
            return EXIT_IO;
        }
    return EXIT_OK;
}

/* The new bundles, verified as the runtime verifies them, in parallel. */
struct verify_job {
    const struct compiled *c;
    int rc[ENV_COUNT];
    struere_error err[ENV_COUNT];
};

static void verify_bundle(void *ctx, size_t e, unsigned w)
{
    (void)w;
    struct verify_job *j = ctx;
    j->rc[e] = struere_bundle_verify(j->c->bundle[e].data, j->c->bundle[e].len,
                                     (int)e + 1, &j->err[e]);
}

/* ---- work on other threads while dev goes on ------------------------------
 * Saving the caches overlaps everything after the check. */

struct background {
    pthread_t thread;
    bool running;
};

static void background_start(struct background *b, void *(*fn)(void *),
                             void *arg)
{
    b->running = pthread_create(&b->thread, NULL, fn, arg) == 0;
    if (!b->running)
        fn(arg); /* no thread: do it now */
}

static void background_wait(struct background *b)
{
    if (b->running)
        pthread_join(b->thread, NULL);
    b->running = false;
}

struct defcache_job {
    const struct cli_check_stats *stats;
    const struct project *p;
};

static void *save_defcache(void *arg)
{
    struct defcache_job *j = arg;
    defcache_save(j->stats->cache_path, j->p, j->p->cache, j->stats->started);
    return NULL;
}

struct bundle_cache_job {
    const char *git_dir;
    const char *ids[ENV_COUNT];
    const void *data[ENV_COUNT];
    size_t lens[ENV_COUNT];
};

static void *keep_bundles(void *arg)
{
    struct bundle_cache_job *j = arg;
    bundle_cache_keep(j->git_dir, j->ids, j->data, j->lens, ENV_COUNT);
    return NULL;
}

/* ---- -v: what each phase took ---------------------------------------------
 */

struct phases {
    bool verbose;
    struct timespec last;
};

static void phase(struct phases *ph, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void phase(struct phases *ph, const char *fmt, ...)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s = (double)(now.tv_sec - ph->last.tv_sec) +
               (double)(now.tv_nsec - ph->last.tv_nsec) / 1e9;
    ph->last = now;
    if (!ph->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dev: %6.3f s  ", s);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The branches, and a thread that fetches their previous commits while
 * the project is checked. */
struct fetch {
    struct branch *br;
    char store_at[4096];
    pthread_t thread;
    bool running;
};

static void *fetch_branches(void *arg)
{
    struct fetch *f = arg;
    for (int i = 0; i < 2; i++)
        branch_fetch(&f->br[i], f->store_at);
    return NULL;
}

static void start_fetch(const char *store_at, void *arg)
{
    struct fetch *f = arg;
    snprintf(f->store_at, sizeof(f->store_at), "%s", store_at);
    f->running = pthread_create(&f->thread, NULL, fetch_branches, f) == 0;
}

static void branches_init(struct branch br[2])
{
    static const char *const refs[2] = {STORE_DEVELOPMENT, STORE_EVAL};
    static const char *const labels[2] = {"development", "eval"};
    static const unsigned masks[2] = {
        (1u << ENV_DEVELOPMENT) | (1u << ENV_PRODUCTION), 1u << ENV_EVAL};
    for (int i = 0; i < 2; i++) {
        br[i].ref = refs[i];
        br[i].label = labels[i];
        br[i].env_mask = masks[i];
        arena_init(&br[i].arena);
    }
}

/* The first failure of a phase run on both branches (reported). */
static int branches_failed(struct branch br[2])
{
    for (int i = 0; i < 2; i++)
        if (br[i].rc != EXIT_OK) {
            cli_error("%s", br[i].error);
            return br[i].rc;
        }
    return EXIT_OK;
}

static int dev_once(const struct cli *g, const char *push, bool verbose,
                    const struct dev_signers *sig)
{
    struct project p;
    struct compiled c;
    struct compile_reuse reuse;
    struct branch br[2];
    struct background saver = {0}, keeper = {0};
    struct phases ph = {.verbose = verbose};
    clock_gettime(CLOCK_MONOTONIC, &ph.last);
    memset(&reuse, 0, sizeof(reuse));
    memset(&c, 0, sizeof(c));
    memset(br, 0, sizeof(br));
    /* The branches' previous commits are fetched on a thread of their own
     * while the project is checked. */
    struct fetch fetch = {.br = br};
    branches_init(br);
    struct cli_check_stats cs;
    int rc = cli_check_cached(g, &p, &cs, start_fetch, &fetch);
    struct defcache_job dj = {&cs, &p};
    if (cs.cache_path[0])
        background_start(&saver, save_defcache, &dj);
    phase(&ph, "checked %zu definitions (%zu restored from the cache)",
          cs.definitions, cs.restored);

    struct dev_ctx x = {&p, &reuse, &c, NULL};
    if (fetch.running)
        pthread_join(fetch.thread, NULL);
    if (rc == EXIT_OK && !fetch.running) {
        /* No store was found before the check: say why now. */
        struct store *s = NULL;
        rc = cli_open_store(g, &p, &s);
        store_close(s);
        if (rc == EXIT_OK)
            fetch_branches(&fetch); /* it appeared meanwhile */
    }
    if (rc == EXIT_OK)
        rc = branches_failed(br);
    if (rc == EXIT_OK)
        both_branches(br, prepare_fn, &x);
    if (rc == EXIT_OK)
        load_missing_bundles(br[0].s, br, &reuse);
    size_t old = 0;
    for (int e = 0; e < ENV_COUNT; e++)
        old += reuse.old[e] != NULL;
    phase(&ph,
          "read the previous commits (%zu bundles to reuse, %zu from the "
          "cache)",
          old, br[0].bundles_cached + br[1].bundles_cached);

    if (rc == EXIT_OK &&
        (!(br[0].sources = compile_sources(&p, br[0].env_mask)) ||
         !(br[1].sources = compile_sources(&p, br[1].env_mask)) ||
         compile_project(&p, &reuse, &c) < 0)) {
        cli_error("out of memory while compiling");
        rc = EXIT_IO;
    }
    /* What is committed has verified: deploy relies on it. */
    struct verify_job vj = {&c, {0}, {{0}}};
    if (rc == EXIT_OK)
        pool_run(pool_threads_large(ENV_COUNT), ENV_COUNT, verify_bundle, &vj);
    for (int e = 0; rc == EXIT_OK && e < ENV_COUNT; e++)
        if (vj.rc[e] != STRUERE_OK) {
            cli_error("internal error: the %s bundle does not verify: %s",
                      env_names[e], vj.err[e].message);
            rc = EXIT_IO;
        }
    size_t emitted = 0, reused = 0;
    for (int e = 0; e < ENV_COUNT; e++)
        for (size_t i = 0; i < c.nreview[e]; i++) {
            emitted += c.review[e][i].canonical != NULL;
            reused += c.review[e][i].canonical == NULL;
        }
    phase(&ph, "compiled the bundles (%zu definitions emitted, %zu reused)",
          emitted, reused);

    /* The bundles are the large blobs: written (and hashed for the
     * manifests) first, in parallel; then both branches commit. */
    char bundle_ids[ENV_COUNT][41];
    x.bundle_ids = bundle_ids;
    struct bundle_cache_job bj = {.git_dir =
                                      br[0].s ? store_git_dir(br[0].s) : NULL};
    if (rc == EXIT_OK) {
        rc = write_bundles(br[0].s, &c, bundle_ids);
        phase(&ph, "wrote and hashed the bundles");
    }
    /* They verified above: a promotion of these blobs need not read
     * them again (verify.h). */
    for (int e = 0; rc == EXIT_OK && e < ENV_COUNT; e++)
        verify_record(br[0].s, bundle_ids[e], e, c.bundle[e].sha256);
    /* The next run takes its unchanged definitions from these bundles:
     * they are kept as files while the branches commit. */
    if (rc == EXIT_OK) {
        for (int e = 0; e < ENV_COUNT; e++) {
            bj.ids[e] = bundle_ids[e];
            bj.data[e] = c.bundle[e].data;
            bj.lens[e] = c.bundle[e].len;
        }
        background_start(&keeper, keep_bundles, &bj);
    }
    /* The branches' commits are made on two threads at once: each is
     * signed here first (the clock and time zone are read once). */
    for (int i = 0; rc == EXIT_OK && i < 2; i++)
        if (store_take_signature(br[i].s) != STORE_OK) {
            cli_error("%s", store_error(br[i].s));
            rc = EXIT_IO;
        }
    if (rc == EXIT_OK)
        both_branches(br, build_fn, &x);
    for (int i = 0; rc == EXIT_OK && i < 2; i++)
        rc = branch_finish(&br[i], i == 0 ? ENV_DEVELOPMENT : ENV_EVAL, sig);
    if (rc == EXIT_OK)
        phase(&ph, "committed");
    if (rc == EXIT_OK && push) {
        /* The promotion statements too, when there are any: a runtime
         * host following the remote needs them to open a signed
         * environment. */
        const char *refs[] = {STORE_DEVELOPMENT, STORE_EVAL, PROMOTIONS_REF};
        char id[41];
        size_t n =
            store_ref_id(br[0].s, PROMOTIONS_REF, id) == STORE_OK ? 3 : 2;
        if (store_push(br[0].s, push, refs, n) != STORE_OK) {
            cli_error("%s", store_error(br[0].s));
            rc = EXIT_IO;
        } else {
            printf("pushed struere/development and struere/eval%s to %s\n",
                   n == 3 ? " and the promotion statements" : "", push);
        }
    }
    background_wait(&keeper);
    background_wait(&saver);
    phase(&ph, "saved the caches");
    for (int e = 0; e < ENV_COUNT; e++)
        struere_bundle_free(reuse.old[e]);
    for (int i = 0; i < 2; i++)
        branch_free(&br[i]);
    compiled_free(&c);
    project_free(&p);
    return rc;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Watches the project directory and each kind's directory. */
static int watch_fd(const struct cli *g)
{
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return -1;
    uint32_t mask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO |
                    IN_MOVED_FROM | IN_DELETE_SELF;
    inotify_add_watch(fd, g->dir, mask);
    for (int k = 0; k < KIND_COUNT; k++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", g->dir, kind_table[k].dir);
        inotify_add_watch(fd, path, mask); /* absent dirs: skipped */
    }
    return fd;
}

static int watch(const struct cli *g, const char *push, bool verbose,
                 const struct dev_signers *sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop) {
        /* Watch before compiling: a file saved while dev runs is an event
         * waiting when it ends, so it is compiled next, never missed. */
        int fd = watch_fd(g);
        if (fd < 0) {
            cli_error("cannot watch %s: %s", g->dir, strerror(errno));
            return EXIT_IO;
        }
        dev_once(g, push, verbose, sig);
        fflush(stdout);
        printf("watching %s for changes (Ctrl-C to stop)\n", g->dir);
        fflush(stdout);
        /* Wait for a change, then for 200 ms of quiet (editors write in
         * several steps). */
        struct pollfd pfd = {fd, POLLIN, 0};
        bool changed = false;
        while (!stop) {
            int r = poll(&pfd, 1, changed ? 200 : -1);
            if (r < 0 && errno != EINTR)
                break;
            if (r > 0) {
                char buf[8192];
                while (read(fd, buf, sizeof(buf)) > 0)
                    ;
                changed = true;
            } else if (r == 0 && changed) {
                break;
            }
        }
        close(fd);
    }
    return EXIT_OK;
}

int cmd_dev(const struct cli *g, int argc, char **argv)
{
    bool watching = false, verbose = false;
    const char *push = NULL, *signs[16];
    size_t nsigns = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(dev_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--watch")) {
            watching = true;
        } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            verbose = true;
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc) {
            push = argv[++i];
        } else if (!strcmp(argv[i], "--sign") && i + 1 < argc && nsigns < 16) {
            signs[nsigns++] = argv[++i];
        } else {
            cli_error("dev: unknown argument '%s'\n", argv[i]);
            fputs(dev_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct signer *signers = NULL;
    size_t nsigners = 0;
    int rc = cli_signers_load(signs, nsigns, true, &signers, &nsigners);
    if (rc != EXIT_OK)
        return rc;
    struct dev_signers sig = {signers, nsigners};
    rc = watching ? watch(g, push, verbose, &sig)
                  : dev_once(g, push, verbose, &sig);
    cli_signers_free(signers, nsigners);
    return rc;
}
