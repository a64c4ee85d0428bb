/*
 * dev.c - the pipeline of `struere dev` (dev.h): the check with dev's
 * cache, the branches' previous commits fetched meanwhile, the compile
 * reusing them, the bundles written and hashed in parallel, the two
 * branches committed on a thread each, the caches saved in the
 * background, and the commit messages.
 */
#include "dev.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "bundle_cache.h"
#include "bundle_trust.h"
#include "bundle_write.h"
#include "cache_file.h"
#include "check.h"
#include "compile.h"
#include "defcache.h"
#include "lastrun.h"
#include "loose_deflate.h"
#include "kinds.h"
#include "node.h"
#include "pool.h"
#include "progress.h"
#include "project.h"
#include "sha256.h"
#include "store.h"
#include "struere.h"
#include "trust.h"
#include "verify.h"

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
    size_t lines = 0;
    rt_buf body;
    rt_buf_grow_init(&body);
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
            if (!header) {
                rt_buf_printf(&body, "\n%s:\n", env_names[e]);
                header = true;
            }
            if (lines++ < MESSAGE_LINES)
                rt_buf_printf(&body, "  %c %s %s\n", mark, kind_table[k].label,
                              slug);
        }
    }
    if (lines > MESSAGE_LINES)
        rt_buf_printf(&body, "  ... and %zu more\n", lines - MESSAGE_LINES);
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
    rt_buf msg;
    rt_buf_grow_init(&msg);
    rt_buf_printf(&msg, "%s\n", first);
    rt_buf_put(&msg, body.p, body.len);
    msg.failed |= body.failed;
    free(body.p);
    return rt_buf_finish(&msg) == 0 ? msg.p : NULL;
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
    /* Shared by both branches: the cached bundles' pieces with their
     * SHA-256 (bundle_cache_open), for the new bundles' writing. */
    struct loose_known *known;
    /* The commit. */
    char *sources;
    char sources_id[41]; /* its blob, written with the bundles */
    char *message;
    char new_id[41];
    bool changed;  /* new_id is a new commit (else the parent) */
    bool proposed; /* its move is the promotion statement below */
    struct promotion_result promotion;
    int rc;
    char error[1200]; /* why rc is not DEV_OK */
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

/* The first failure of a run, told to the caller. */
static void fail(const struct dev_hooks *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(const struct dev_hooks *h, const char *fmt, ...)
{
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (h->error)
        h->error(h->arg, msg);
}

static void branch_fail(struct branch *b, int rc, const char *msg)
{
    snprintf(b->error, sizeof(b->error), "%s", msg);
    b->rc = rc;
}

/* A previous bundle whose bytes (SHA-256 sha256, checked by the caller)
 * this store recorded as the verified blob `id` of env: its bodies are
 * not read again to be reused or compared (verify.h). */
static void trust_bodies(struct store *s, struere_bundle *b, const char *id,
                         int env, const unsigned char sha256[32])
{
    if (b && verify_recorded(s, id, env, sha256))
        rt_bundle_bodies_known_valid(b);
}

/* Whether this store's dev wrote the branch's previous commit: each of
 * its environments' review trees recorded as its bundle's
 * (record_review). */
static bool parent_ours(const struct branch *b)
{
    const struct store_blob *sources =
        find_blob(b->blobs, b->nblobs, "sources");
    for (int e = 0; e < ENV_COUNT; e++) {
        char path[64], tree[41];
        unsigned char org[32];
        snprintf(path, sizeof(path), "review/%s", env_names[e]);
        const struct store_blob *blob =
            find_blob(b->blobs, b->nblobs, compile_bundle_path((enum env)e));
        if ((b->env_mask & (1u << e)) &&
            (!blob || !sources ||
             store_tree_id(b->s, b->parent, path, tree) != STORE_OK ||
             !verify_review_recorded(b->s, tree, e, blob->id, sources->id,
                                     org)))
            return false;
    }
    return true;
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
        branch_fail(b, DEV_IO, err);
        return;
    }
    int rc = store_ref_id(b->s, b->ref, b->parent);
    if (rc == STORE_ERROR) {
        branch_fail(b, DEV_IO, store_error(b->s));
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
    if (!parent_ours(b)) {
        /* Anyone who can push the branch can put compiled bodies and
         * review renderings there that its sources list does not
         * produce: only a commit this store's dev wrote is reused. */
        free(b->old_sources);
        b->old_sources = NULL;
        return;
    }
    if (store_read(b->s, b->parent, "manifest.json", &data, &len) != STORE_OK)
        return; /* no digests: nothing is reused */
    for (int e = 0; e < ENV_COUNT; e++)
        b->has_digest[e] =
            (b->env_mask & (1u << e)) &&
            struere_manifest_digest(b->digest[e], data, len, e + 1, NULL) == 0;
    free(data);
    for (int e = 0; e < ENV_COUNT; e++) {
        const struct store_blob *blob =
            find_blob(b->blobs, b->nblobs, compile_bundle_path((enum env)e));
        if (!b->has_digest[e] || !blob)
            continue;
        b->cached[e] = bundle_cache_open(
            store_git_dir(b->s), blob->id, e + 1, b->digest[e],
            verify_recorded(b->s, blob->id, e, b->digest[e]), b->known);
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
    const char *ids[ENV_COUNT];
    struct store *s;
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
    else
        trust_bodies(o->s, o->reuse->old[e], o->ids[i], e, o->digests[i]);
}

/* The previous bundles the bundle cache did not have, read out of git in
 * parallel. A bundle that cannot be read is not used: its definitions
 * are emitted again. */
static void load_missing_bundles(struct store *s, struct branch *br,
                                 struct compile_reuse *reuse)
{
    const char *ids[ENV_COUNT];
    struct old_bundles o = {.s = s, .reuse = reuse};
    size_t n = 0;
    for (int e = 0; e < ENV_COUNT; e++) {
        const struct branch *b = &br[e == ENV_EVAL];
        const struct store_blob *blob =
            find_blob(b->blobs, b->nblobs, compile_bundle_path((enum env)e));
        if (reuse->unchanged[e] && blob && !reuse->old[e] && b->has_digest[e]) {
            o.envs[n] = e;
            o.digests[n] = b->digest[e];
            o.ids[n] = blob->id;
            ids[n++] = blob->id;
        }
    }
    if (n)
        store_read_blobs_trusted(s, ids, n, open_old_bundle, &o);
}

/* Writes the branch's next commit (manifest.json, its bundles and its
 * sources list, already written as bundle_ids and sources_id, and its
 * review/ renderings) without moving its ref: branch_finish does, in
 * order. */
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
        branch_fail(b, DEV_IO, "out of memory");
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
        (struct store_file){"sources", NULL, strlen(b->sources), b->sources_id};
    if (store_commit_objects(b->s, b->parent, b->parent[0] ? b->blobs : NULL,
                             b->nblobs, files, k, b->message, b->new_id,
                             &b->changed) != STORE_OK)
        branch_fail(b, DEV_IO, store_error(b->s));
    free(manifest);
    free(files);
}

/* When the trust policy requires signatures for the branch's
 * environment, the branch moves through a promotion statement
 * (trust.h): at once with enough --sign keys, else after `struere
 * approve`. 1 when it took care of the branch, 0 when the policy
 * requires nothing, or an exit code < 0 negated. */
static int branch_promote(struct branch *b, int env,
                          const struct dev_options *o)
{
    char err[1024];
    int k = trust_required(b->s, env, err, sizeof(err));
    if (k < 0) {
        branch_fail(b, DEV_INVALID, err);
        return 1;
    }
    bool missing = true;
    if (k > 0 && !b->changed &&
        promotion_missing(b->s, env, b->new_id, &missing, err, sizeof(err)) !=
            TRUST_OK) {
        branch_fail(b, DEV_INVALID, err);
        return 1;
    }
    if (k == 0 || !missing)
        return 0;
    struct verified v;
    struct promotion_result r;
    int vrc = verify_for_promotion(b->s, b->new_id, env, &v, err, sizeof(err));
    if (vrc != VERIFY_OK) {
        branch_fail(b, DEV_IO, err);
        return 1;
    }
    const char *from = b->changed ? b->parent : b->new_id;
    int trc =
        promotion_propose(b->s, env, "dev", b->new_id, from, &v, o->signers,
                          o->nsigners, b->message, &r, err, sizeof(err));
    if (trc != TRUST_OK) {
        branch_fail(b, trc == TRUST_INVALID ? DEV_INVALID : DEV_IO, err);
        return 1;
    }
    b->promotion = r;
    b->proposed = true;
    return 1;
}

/* Moves the branch's ref to the commit branch_build made (compare-and-
 * swap), or proposes the move when the trust policy wants it signed, and
 * tells the caller what it did. */
static int branch_finish(struct branch *b, int env, const struct dev_options *o,
                         const struct dev_hooks *h)
{
    if (b->rc == DEV_OK && !branch_promote(b, env, o) && b->changed &&
        store_commit_move(b->s, b->ref, b->parent, b->new_id, b->message) !=
            STORE_OK)
        branch_fail(b, DEV_IO, store_error(b->s));
    if (b->rc != DEV_OK) {
        fail(h, "%s", b->error);
        return b->rc;
    }
    struct dev_branch r = {
        .label = b->label,
        .env = env,
        .id = b->new_id,
        .changed = b->changed,
        .promotion = b->proposed ? &b->promotion : NULL,
        .message = b->message,
    };
    if (h->branch)
        h->branch(h->arg, &r);
    return DEV_OK;
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
 * Eight independent jobs: each bundle's git blob (SHA-1 and compression)
 * and its SHA-256 for the manifests, and each branch's sources list
 * (which changes with every file, and at 100,000 definitions is 7 MB),
 * largest first, on every core. The sources lists go through the same
 * writer as the bundles, so that only the segments around a changed line
 * are compressed again. */

/* Where the blobs of one run are in its streams and blob ids: the
 * bundles by environment, then the branches' sources lists. */
enum { BLOB_SOURCES = ENV_COUNT, BLOB_COUNT = ENV_COUNT + 2 };

struct bundle_jobs {
    struct store *s;
    struct compiled *c;
    const struct branch *br; /* their sources lists */
    char (*ids)[41];         /* this run's, per blob */
    /* the last run's compressed pieces: the bundles', the sources lists' */
    const struct loose_segments *prev, *prev_sources;
    const struct loose_known *known; /* the previous bundles' pieces */
    struct loose_stream *streams;    /* this run's, per blob */
    bool existed[BLOB_COUNT];        /* the object was there: nothing written */
    int order[BLOB_COUNT + ENV_COUNT]; /* job k: blob order[k] when below
                                          BLOB_COUNT, else the digest of
                                          environment order[k] - BLOB_COUNT */
    char errors[BLOB_COUNT][300];
};

/* Blob i's bytes (a bundle, or a branch's sources list). */
static const void *blob_data(const struct bundle_jobs *j, int i, size_t *len)
{
    if (i < BLOB_SOURCES) {
        *len = j->c->bundle[i].len;
        return j->c->bundle[i].data;
    }
    const char *text = j->br[i - BLOB_SOURCES].sources;
    *len = strlen(text);
    return text;
}

static const char *blob_path(int i)
{
    return i < BLOB_SOURCES ? compile_bundle_path((enum env)i) : "sources";
}

static void bundle_job(void *ctx, size_t k, unsigned w)
{
    struct bundle_jobs *j = ctx;
    int job = j->order[k];
    size_t len;
    if (job < BLOB_COUNT) {
        const void *data = blob_data(j, job, &len);
        /* the known pieces are the previous bundles' */
        bool bundle = job < BLOB_SOURCES;
        store_write_blob(j->s, w, data, len, bundle ? j->prev : j->prev_sources,
                         bundle ? j->known : NULL, &j->streams[job],
                         j->ids[job], &j->existed[job], j->errors[job],
                         sizeof(j->errors[job]));
    } else {
        compile_digest(j->c, (enum env)(job - BLOB_COUNT));
    }
}

static int write_bundles(struct store *s, struct compiled *c,
                         const struct branch br[2], char ids[][41],
                         const struct loose_segments *prev,
                         const struct loose_segments *prev_sources,
                         const struct loose_known *known,
                         struct loose_stream streams[BLOB_COUNT],
                         const struct dev_hooks *h)
{
    struct bundle_jobs j = {.s = s,
                            .c = c,
                            .br = br,
                            .ids = ids,
                            .prev = prev,
                            .prev_sources = prev_sources,
                            .known = known,
                            .streams = streams};
    /* Writing costs about twice hashing; larger blobs first. */
    enum { JOBS = BLOB_COUNT + ENV_COUNT };
    size_t cost[JOBS];
    for (int k = 0; k < JOBS; k++) {
        size_t len;
        j.order[k] = k;
        if (k < BLOB_COUNT)
            (void)blob_data(&j, k, &len);
        else
            len = c->bundle[k - BLOB_COUNT].len;
        cost[k] = len * (k < BLOB_COUNT ? 2 : 1);
    }
    for (int a = 1; a < JOBS; a++)
        for (int b = a; b > 0 && cost[j.order[b]] > cost[j.order[b - 1]]; b--) {
            int t = j.order[b];
            j.order[b] = j.order[b - 1];
            j.order[b - 1] = t;
        }
    pool_run(pool_threads_large(JOBS), JOBS, bundle_job, &j);
    for (int i = 0; i < BLOB_COUNT; i++)
        if (j.errors[i][0]) {
            fail(h, "%s%s%s: %s", blob_path(i), i < BLOB_SOURCES ? "" : " of ",
                 i < BLOB_SOURCES ? "" : br[i - BLOB_SOURCES].label,
                 j.errors[i]);
            return DEV_IO;
        }
    /* An object already there under a bundle's fast id (store.h) holds
     * these bytes when this store recorded that id with their SHA-256;
     * otherwise the collision-detecting SHA-1 must give the same id. */
    for (int e = 0; e < ENV_COUNT; e++) {
        char check[41];
        if (!j.existed[e] || verify_recorded(s, ids[e], e, c->bundle[e].sha256))
            continue;
        store_hash_blob(c->bundle[e].data, c->bundle[e].len, check);
        if (strcmp(check, ids[e])) {
            fail(h,
                 "%s: the store already holds an object %s that is not this "
                 "bundle (its bytes collide with another's SHA-1): nothing "
                 "was committed",
                 compile_bundle_path((enum env)e), ids[e]);
            return DEV_IO;
        }
    }
    /* No record binds a sources list: an object already there under its
     * fast id is confirmed by the collision-detecting SHA-1; and the two
     * branches' lists, written at once, share an id only when they are
     * the same list (else one would have found the other's object there
     * unchecked). */
    if (!strcmp(ids[BLOB_SOURCES], ids[BLOB_SOURCES + 1]) &&
        strcmp(br[0].sources, br[1].sources)) {
        fail(h,
             "sources: the %s and %s lists are other bytes under one SHA-1 "
             "%s (a collision): nothing was committed",
             br[0].label, br[1].label, ids[BLOB_SOURCES]);
        return DEV_IO;
    }
    for (int i = BLOB_SOURCES; i < BLOB_COUNT; i++) {
        char check[41];
        size_t len;
        const void *data = blob_data(&j, i, &len);
        if (!j.existed[i])
            continue;
        store_hash_blob(data, len, check);
        if (strcmp(check, ids[i])) {
            fail(h,
                 "sources of %s: the store already holds an object %s that "
                 "is not this list (its bytes collide with another's "
                 "SHA-1): nothing was committed",
                 br[i - BLOB_SOURCES].label, ids[i]);
            return DEV_IO;
        }
    }
    return DEV_OK;
}

/* The new bundles, verified as the runtime verifies them, in parallel. */
struct verify_job {
    const struct compiled *c;
    int rc[ENV_COUNT];
    struere_error err[ENV_COUNT];
    /* A dry run keeps the bundles opened (the same verification) for its
     * compiled hook: NULL otherwise. */
    struere_bundle **opened;
};

static void verify_bundle(void *ctx, size_t e, unsigned w)
{
    (void)w;
    struct verify_job *j = ctx;
    const struct bundle_bytes *b = &j->c->bundle[e];
    j->rc[e] =
        j->opened
            ? rt_bundle_open_borrowed(&j->opened[e], b->data, b->len,
                                      (int)e + 1, &j->err[e])
            : struere_bundle_verify(b->data, b->len, (int)e + 1, &j->err[e]);
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

/* The check with dev's cache of parsed definitions, and what it says. */
struct check_run {
    const struct dev_options *o;
    struct fetch *fetch;
    const struct project *p;
    char cache_path[4600];          /* "" when there is no cache to save */
    int64_t started;                /* CLOCK_REALTIME ns before reading */
    enum cache_dir_refusal refusal; /* the caches' directory holds none */
    char refused[4700];             /* ... why, in words */
    char cache_dir[4400];           /* that directory */
};

static void *save_defcache(void *arg)
{
    struct check_run *j = arg;
    defcache_save(j->cache_path, j->p, j->p->cache, j->started);
    return NULL;
}

struct bundle_cache_job {
    const char *git_dir;
    const char *ids[ENV_COUNT];
    const unsigned char *sha256[ENV_COUNT];
    const void *data[ENV_COUNT];
    size_t lens[ENV_COUNT];
    /* The loose objects of the bundles and sources lists as written
     * (BLOB_*), whose segments the next run's may reuse (loose_deflate.h),
     * and the segments kept before (the bundles', the sources lists'). */
    struct loose_stream streams[BLOB_COUNT];
    const struct loose_segments *segments, *source_segments;
    /* The production branch's bundle, kept too when its file is there. */
    char production[41];
};

static void *keep_bundles(void *arg)
{
    struct bundle_cache_job *j = arg;
    bundle_cache_keep(j->git_dir, j->ids, j->sha256, j->data, j->lens,
                      j->streams, ENV_COUNT,
                      j->production[0] ? j->production : NULL);
    loose_segments_save(j->git_dir, LOOSE_SEGMENTS_BUNDLES, j->segments,
                        j->streams, ENV_COUNT);
    loose_segments_save(j->git_dir, LOOSE_SEGMENTS_SOURCES, j->source_segments,
                        j->streams + BLOB_SOURCES, BLOB_COUNT - BLOB_SOURCES);
    return NULL;
}

/* ---- -v: what each phase took ---------------------------------------------
 */

struct phases {
    const struct dev_hooks *h;
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
    if (!ph->h->phase)
        return;
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    ph->h->phase(ph->h->arg, s, what);
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

/* check_project's hook, once struere.yaml is read: the cache is in the
 * store's git directory, found quietly here (a missing store is reported
 * after the check). As soon as the store is known, the branches' previous
 * commits are fetched on a thread of their own while the definitions are
 * read and checked. */
static struct defcache *open_cache(const struct project *p, void *arg)
{
    struct check_run *j = arg;
    struct fetch *f = j->fetch;
    char buf[4096], err[600];
    struct store *s = NULL;
    struct defcache *cache = NULL;
    const char *at =
        project_store_path(p, j->o->dir, j->o->store, buf, sizeof(buf));
    if (store_open(&s, at, err, sizeof(err)) == STORE_OK) {
        snprintf(f->store_at, sizeof(f->store_at), "%s", at);
        f->running = pthread_create(&f->thread, NULL, fetch_branches, f) == 0;
        if (cache_file_path(store_git_dir(s), "", j->cache_dir,
                            sizeof(j->cache_dir)))
            j->refusal = cache_file_dir_refused(j->cache_dir, j->refused,
                                                sizeof(j->refused));
        if (defcache_path(store_git_dir(s), j->o->dir, j->cache_path,
                          sizeof(j->cache_path)))
            cache = defcache_open(j->cache_path, p);
    }
    store_close(s);
    return cache;
}

static void branches_init(struct branch br[2])
{
    static const char *const refs[2] = {STORE_DEVELOPMENT, STORE_EVAL};
    const char *const labels[2] = {env_names[ENV_DEVELOPMENT],
                                   env_names[ENV_EVAL]};
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
static int branches_failed(struct branch br[2], const struct dev_hooks *h)
{
    for (int i = 0; i < 2; i++)
        if (br[i].rc != DEV_OK) {
            fail(h, "%s", br[i].error);
            return br[i].rc;
        }
    return DEV_OK;
}

/* A run with nothing to do (no push, no signer: dev_run): both branches
 * are at the commits the last run left them at, and it proposed nothing;
 * no trust policy can want a signature. Reports them up to date. */
static int dev_unchanged(const struct dev_hooks *h, struct store *s,
                         const struct lastrun_made *m)
{
    static const char *const refs[2] = {STORE_DEVELOPMENT, STORE_EVAL};
    static const int envs[2] = {ENV_DEVELOPMENT, ENV_EVAL};
    char id[41];
    if (store_ref_id(s, TRUST_REF, id) != STORE_NOTFOUND)
        return DEV_AGAIN;
    for (int i = 0; i < 2; i++)
        if (!m->branch[i][0] || store_ref_id(s, refs[i], id) != STORE_OK ||
            strcmp(id, m->branch[i]))
            return DEV_AGAIN;
    /* The whole way reads the committer's identity and time even when it
     * commits nothing: one it refuses is refused here too. */
    if (store_take_signature(s) != STORE_OK)
        return DEV_AGAIN;
    for (int i = 0; i < 2 && h->branch; i++) {
        struct dev_branch r = {.label = env_names[envs[i]],
                               .env = envs[i],
                               .id = m->branch[i],
                               .message = ""};
        h->branch(h->arg, &r);
    }
    return DEV_OK;
}

/* The shortcut of a run when no input changed: struere.yaml alone is
 * read, to find the store; when the last run's record vouches that no
 * file or directory changed since, a dry run's unchanged hook answers
 * from what that run made, and a run answers itself (dev_unchanged).
 * DEV_AGAIN when it does not apply. */
static int try_unchanged(const struct dev_options *o, const struct dev_hooks *h,
                         struct phases *ph)
{
    struct project q;
    struct store *s = NULL;
    char buf[4096], err[600], path[4200];
    struct lastrun_made m;
    size_t files = 0;
    int rc = DEV_AGAIN;
    memset(&q, 0, sizeof(q));
    if (project_load_config(&q, o->dir) == 0 && q.config && !q.diags.n &&
        store_open(&s,
                   project_store_path(&q, o->dir, o->store, buf, sizeof(buf)),
                   err, sizeof(err)) == STORE_OK &&
        lastrun_path(store_git_dir(s), o->dir, path, sizeof(path)) &&
        lastrun_unchanged(path, o->dir, &m, &files)) {
        rc = o->dry ? h->unchanged(h->arg, s, &m) : dev_unchanged(h, s, &m);
        if (rc != DEV_AGAIN)
            phase(ph,
                  "nothing changed since the last run (%zu files and "
                  "directories compared by stat)",
                  files);
    }
    store_close(s);
    project_free(&q);
    return rc;
}

/* After a branch committed (or kept its commit, whose tree is then this
 * run's): each of its review/<env>/ trees is the rendering of the bundle
 * blob of env this run wrote (ids), which a promotion may then read its
 * difference from, and the next run reuse definitions from (verify.h). */
static void record_review(const struct branch *b, const struct project *p,
                          char (*ids)[41])
{
    /* what actor.organizationId resolves to comes from both */
    char org[1024];
    snprintf(org, sizeof(org), "%s\n%s", bundle_organization_id(p),
             bundle_project_name(p));
    char sources[41];
    if (store_blob_id(b->s, b->new_id, "sources", sources) != STORE_OK)
        return;
    for (int e = 0; b->rc == DEV_OK && e < ENV_COUNT; e++) {
        char path[64], tree[41], in_commit[41];
        snprintf(path, sizeof(path), "review/%s", env_names[e]);
        if ((b->env_mask & (1u << e)) &&
            store_tree_id(b->s, b->new_id, path, tree) == STORE_OK &&
            store_blob_id(b->s, b->new_id, compile_bundle_path((enum env)e),
                          in_commit) == STORE_OK &&
            !strcmp(in_commit, ids[e]))
            verify_record_review(b->s, tree, e, ids[e], sources, org);
    }
}

/* After a run that committed (ids: its bundles' blob ids) or failed (ids
 * NULL): the record the shortcut relies on, written or removed. */
static void remember_run(const struct project *p, const struct dev_options *o,
                         const struct branch br[2], char (*ids)[41],
                         int64_t started)
{
    char path[4200];
    if (!br[0].s ||
        !lastrun_path(store_git_dir(br[0].s), o->dir, path, sizeof(path)))
        return;
    struct lastrun_made m;
    memset(&m, 0, sizeof(m));
    if (ids) {
        memcpy(m.bundle, ids, sizeof(m.bundle));
        for (int i = 0; i < 2; i++)
            if (br[i].rc == DEV_OK && !br[i].proposed)
                memcpy(m.branch[i], br[i].new_id, sizeof(m.branch[i]));
        lastrun_save(path, p, &m, started);
    } else {
        lastrun_forget(path);
    }
}

int dev_run(const struct dev_options *o, const struct dev_hooks *h)
{
    struct project p;
    struct compiled c;
    struct compile_reuse reuse;
    struct branch br[2];
    struct background saver = {0}, keeper = {0};
    struct phases ph = {.h = h};
    char bundle_ids[BLOB_COUNT][41]; /* and the sources lists' (BLOB_*) */
    const char *push = o->push;
    clock_gettime(CLOCK_MONOTONIC, &ph.last);
    memset(&reuse, 0, sizeof(reuse));
    memset(&c, 0, sizeof(c));
    memset(br, 0, sizeof(br));
    /* Pushing and signing are work a run with nothing changed still has
     * to do: the whole way. */
    if (o->dry ? h->unchanged != NULL : !o->push && !o->nsigners) {
        int quick = try_unchanged(o, h, &ph);
        if (quick != DEV_AGAIN)
            return quick;
    }
    struct fetch fetch = {.br = br};
    branches_init(br);
    /* Out of memory, NULL: every segment is hashed. */
    struct loose_known *known = loose_known_new();
    br[0].known = br[1].known = known;
    struct check_run cr = {.o = o, .fetch = &fetch, .p = &p};
    cr.started = defcache_now();
    struct check_options copt = {.cache = open_cache,
                                 .arg = &cr,
                                 .progress = o->progress,
                                 .hash_sources = true};
    int checked = check_project(&p, o->dir, &copt);
    if (cr.refusal != CACHE_DIR_USABLE && h->warning) {
        /* Nothing is lost but time: say why runs do more than they
         * would. */
        char w[14000];
        bool by_mode = cr.refusal == CACHE_DIR_UNWRITABLE ||
                       cr.refusal == CACHE_DIR_UNREADABLE;
        bool part = cr.refusal == CACHE_DIR_IN_THE_WAY ||
                    cr.refusal == CACHE_DIR_PART_OTHER_USER;
        const char *fix = "remove it", *quoted = "", *after = "";
        if (cr.refusal == CACHE_DIR_OTHER_USER ||
            cr.refusal == CACHE_DIR_PART_OTHER_USER) {
            fix = "have its owner or root remove it: sudo rm -rf '";
            quoted = cr.cache_dir;
            after = "'";
        } else if (by_mode) {
            fix = "restore its mode: chmod -R u+rwX '";
            quoted = cr.cache_dir;
            after = "'";
        }
        snprintf(w, sizeof(w), "%s, so %s (%s%s%s%s)", cr.refused,
                 cr.refusal == CACHE_DIR_UNWRITABLE
                     ? "the caches in it are not kept up to date: every run "
                       "does again what they would have saved (reading, "
                       "checking and compiling what changed since)"
                 : part ? "the caches that belong there are never kept: "
                          "every run does again what they would have saved"
                        : "no cache is used: every definition is read, "
                          "checked and compiled again on every run",
                 fix, quoted, after,
                 by_mode ? "" : "; the next run makes it again");
        h->warning(h->arg, w);
    }
    size_t definitions = 0, restored = 0;
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p.ndefs[k]; i++) {
            definitions++;
            restored += p.defs[k][i].restored;
        }
    /* The cache keys on the files' digests, and compile reads them while
     * the saver runs: made now, before either. */
    project_hash_sources(&p);
    if (checked == 0 && cr.cache_path[0] && !p.io_error && !o->dry)
        background_start(&saver, save_defcache, &cr);
    int rc = h->checked(h->arg, &p, checked);
    phase(&ph,
          "checked %zu definitions (%zu restored from the cache), %zu "
          "results of the checks between them reused",
          definitions, restored, p.xchecks_reused);

    struct dev_ctx x = {&p, &reuse, &c, NULL};
    if (fetch.running)
        pthread_join(fetch.thread, NULL);
    if (rc == DEV_OK && !fetch.running) {
        /* No store was found before the check: say why now. */
        char buf[4096], err[600];
        struct store *s = NULL;
        const char *at =
            project_store_path(&p, o->dir, o->store, buf, sizeof(buf));
        if (store_open(&s, at, err, sizeof(err)) != STORE_OK) {
            fail(h, "%s", err);
            rc = DEV_IO;
        }
        store_close(s);
        if (rc == DEV_OK) { /* it appeared meanwhile */
            snprintf(fetch.store_at, sizeof(fetch.store_at), "%s", at);
            fetch_branches(&fetch);
        }
    }
    if (rc == DEV_OK)
        rc = branches_failed(br, h);
    if (rc == DEV_OK)
        both_branches(br, prepare_fn, &x);
    if (rc == DEV_OK)
        load_missing_bundles(br[0].s, br, &reuse);
    size_t old = 0;
    for (int e = 0; e < ENV_COUNT; e++)
        old += reuse.old[e] != NULL;
    phase(&ph,
          "read the previous commits (%zu bundles to reuse, %zu from the "
          "cache)",
          old, br[0].bundles_cached + br[1].bundles_cached);

    if (rc == DEV_OK &&
        (!(br[0].sources = compile_sources(&p, br[0].env_mask)) ||
         !(br[1].sources = compile_sources(&p, br[1].env_mask)) ||
         compile_project(&p, &reuse, &c) < 0)) {
        fail(h, "out of memory while compiling");
        rc = DEV_IO;
    }
    /* What is committed has verified: deploy relies on it. */
    struct dev_bundles opened = {0};
    struct verify_job vj = {&c, {0}, {{0}}, o->dry ? opened.compiled : NULL};
    if (rc == DEV_OK)
        pool_run(pool_threads_large(ENV_COUNT), ENV_COUNT, verify_bundle, &vj);
    if (!o->dry)
        progress_phase(o->progress, PROGRESS_COMMIT, 0);
    for (int e = 0; rc == DEV_OK && e < ENV_COUNT; e++)
        if (vj.rc[e] != STRUERE_OK) {
            fail(h, "internal error: the %s bundle does not verify: %s",
                 env_names[e], vj.err[e].message);
            rc = DEV_IO;
        }
    size_t emitted = 0, reused = 0;
    for (int e = 0; e < ENV_COUNT; e++)
        for (size_t i = 0; i < c.nreview[e]; i++) {
            emitted += c.review[e][i].canonical != NULL;
            reused += c.review[e][i].canonical == NULL;
        }
    phase(&ph, "compiled the bundles (%zu definitions emitted, %zu reused)",
          emitted, reused);
    if (o->dry) {
        for (int e = 0; e < ENV_COUNT; e++) {
            /* compiled here: canonical JSON, or bodies reused from a
             * previous bundle that were checked or recorded verified */
            rt_bundle_bodies_known_valid(opened.compiled[e]);
            opened.previous[e] = reuse.old[e];
            opened.previous_commit[e] = br[e == ENV_EVAL].parent;
        }
        if (rc == DEV_OK)
            rc = h->compiled ? h->compiled(h->arg, &p, &c, &opened) : DEV_OK;
        for (int e = 0; e < ENV_COUNT; e++)
            struere_bundle_free(opened.compiled[e]);
        goto done;
    }

    /* The bundles are the large blobs: written (and hashed for the
     * manifests) first, in parallel; then both branches commit. */
    x.bundle_ids = bundle_ids;
    struct bundle_cache_job bj = {.git_dir =
                                      br[0].s ? store_git_dir(br[0].s) : NULL};
    struct loose_segments *segments = NULL, *source_segments = NULL;
    if (rc == DEV_OK) {
        segments = loose_segments_open(bj.git_dir, LOOSE_SEGMENTS_BUNDLES);
        source_segments =
            loose_segments_open(bj.git_dir, LOOSE_SEGMENTS_SOURCES);
        bj.segments = segments;
        bj.source_segments = source_segments;
        rc = write_bundles(br[0].s, &c, br, bundle_ids, segments,
                           source_segments, known, bj.streams, h);
        for (int i = 0; rc == DEV_OK && i < 2; i++)
            memcpy(br[i].sources_id, bundle_ids[BLOB_SOURCES + i], 41);
        size_t kept = 0, pieces = 0, hashed = 0, scanned = 0;
        for (int e = 0; e < ENV_COUNT; e++) {
            kept += bj.streams[e].reused;
            pieces += bj.streams[e].nseg;
            hashed += bj.streams[e].nseg - bj.streams[e].known;
            scanned += bj.streams[e].nseg - bj.streams[e].skipped;
        }
        phase(&ph,
              "wrote and hashed the bundles (%zu of %zu pieces reused, %zu "
              "hashed, %zu scanned for their cut) and the sources lists "
              "(%zu of %zu pieces reused)",
              kept, pieces, hashed, scanned,
              bj.streams[BLOB_SOURCES].reused +
                  bj.streams[BLOB_SOURCES + 1].reused,
              bj.streams[BLOB_SOURCES].nseg +
                  bj.streams[BLOB_SOURCES + 1].nseg);
    }
    /* They verified above: a promotion of these blobs need not read
     * them again (verify.h). */
    for (int e = 0; rc == DEV_OK && e < ENV_COUNT; e++)
        verify_record(br[0].s, bundle_ids[e], e, c.bundle[e].sha256);
    /* The next run takes its unchanged definitions from these bundles:
     * they are kept as files while the branches commit. */
    if (rc == DEV_OK) {
        for (int e = 0; e < ENV_COUNT; e++) {
            bj.ids[e] = bundle_ids[e];
            bj.sha256[e] = c.bundle[e].sha256;
            bj.data[e] = c.bundle[e].data;
            bj.lens[e] = c.bundle[e].len;
        }
        char prod[41];
        if (store_ref_id(br[0].s, STORE_PRODUCTION, prod) != STORE_OK ||
            store_blob_id(br[0].s, prod, compile_bundle_path(ENV_PRODUCTION),
                          bj.production) != STORE_OK)
            bj.production[0] = '\0';
        background_start(&keeper, keep_bundles, &bj);
    }
    /* The branches' commits are made on two threads at once: each is
     * signed here first (the clock and time zone are read once). */
    for (int i = 0; rc == DEV_OK && i < 2; i++)
        if (store_take_signature(br[i].s) != STORE_OK) {
            fail(h, "%s", store_error(br[i].s));
            rc = DEV_IO;
        }
    if (rc == DEV_OK)
        both_branches(br, build_fn, &x);
    for (int i = 0; rc == DEV_OK && i < 2; i++)
        rc = branch_finish(&br[i], i == 0 ? ENV_DEVELOPMENT : ENV_EVAL, o, h);
    if (rc == DEV_OK) {
        for (int i = 0; i < 2; i++)
            record_review(&br[i], &p, bundle_ids);
        phase(&ph, "committed");
    }
    if (rc == DEV_OK && push) {
        /* The promotion statements too, when there are any: a runtime
         * host following the remote needs them to open a signed
         * environment. */
        const char *refs[] = {STORE_DEVELOPMENT, STORE_EVAL, PROMOTIONS_REF};
        char id[41];
        size_t n =
            store_ref_id(br[0].s, PROMOTIONS_REF, id) == STORE_OK ? 3 : 2;
        if (store_push(br[0].s, push, refs, n) != STORE_OK) {
            fail(h, "%s", store_error(br[0].s));
            rc = DEV_IO;
        } else if (h->pushed) {
            h->pushed(h->arg, push, n == 3);
        }
    }
    background_wait(&keeper);
    loose_segments_free(segments);
    loose_segments_free(source_segments);
    for (int i = 0; i < BLOB_COUNT; i++)
        loose_stream_free(&bj.streams[i]);
    remember_run(&p, o, br, rc == DEV_OK && checked == 0 ? bundle_ids : NULL,
                 cr.started);
done:
    background_wait(&saver);
    if (!o->dry)
        phase(&ph, "saved the caches");
    for (int e = 0; e < ENV_COUNT; e++)
        struere_bundle_free(reuse.old[e]);
    for (int i = 0; i < 2; i++)
        branch_free(&br[i]);
    loose_known_free(known); /* its pieces were the bundles' just freed */
    compiled_free(&c);
    project_free(&p);
    return rc;
}
