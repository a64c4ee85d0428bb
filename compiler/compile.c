/*
 * compile.c - from a checked project to bundles, manifest and review
 * renderings. The source digest hashes every definition file in path
 * order, so it changes exactly when an input changes.
 */
#include "compile.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "jsonmem.h"
#include "kinds.h"
#include "index.h"
#include "pool.h"
#include "progress.h"
#include "sha256.h"
#include "struere.h"
#include "arena.h"
#include "embedded.h"
#include "node.h"
#include "source.h"
#include "version.h"

const char *compile_bundle_path(enum env e)
{
    static const char *const paths[ENV_COUNT] = {"bundles/development.stb",
                                                 "bundles/production.stb",
                                                 "bundles/eval.stb"};
    return paths[e];
}

size_t compile_review_path(char *buf, size_t size, enum env e, enum kind k,
                           const char *slug)
{
    /* review/<env>/<dir>/<c>/<slug>.json, put together without printf:
     * it runs once per definition per environment. */
    const char *parts[] = {"review/", env_names[e], "/", kind_table[k].dir,
                           "/"};
    char first[3] = {slug[0] ? slug[0] : '_', '/', '\0'};
    const char *rest[] = {first, slug, ".json"};
    size_t n = 0;
    for (size_t i = 0; i < 8; i++) {
        const char *p = i < 5 ? parts[i] : rest[i - 5];
        size_t len = strlen(p);
        if (n + len < size)
            memcpy(buf + n, p, len);
        n += len;
    }
    if (size)
        buf[n < size ? n : size - 1] = '\0';
    return n;
}

int compile_review_parse(const char *path, char *slug, size_t size)
{
    /* review/<env>/<dir>/<c>/<slug>.json */
    const char *p = path;
    if (strncmp(p, "review/", 7))
        return -1;
    p = strchr(p + 7, '/');
    if (!p)
        return -1;
    const char *dir = p + 1, *shard = strchr(dir, '/');
    const char *file = shard ? strchr(shard + 1, '/') : NULL;
    if (!file || strchr(file + 1, '/'))
        return -1;
    file++;
    size_t dlen = (size_t)(shard - dir), flen = strlen(file);
    if (flen < 6 || strcmp(file + flen - 5, ".json"))
        return -1;
    for (int k = 0; k < KIND_COUNT; k++)
        if (strlen(kind_table[k].dir) == dlen &&
            !strncmp(kind_table[k].dir, dir, dlen)) {
            snprintf(slug, size, "%.*s", (int)(flen - 5), file);
            return k;
        }
    return -1;
}

static int cmp_def_path(const void *a, const void *b)
{
    return strcmp((*(const struct def *const *)a)->path,
                  (*(const struct def *const *)b)->path);
}

/* struere.yaml and the definitions of the kinds the environments of
 * env_mask receive, sorted by path (malloc'd; free()); *n is set. */
/* The kinds in the order of their directories' names: definitions taken
 * kind by kind in this order (each kind's files are discovered sorted)
 * come out in path order. */
static void kinds_by_dir(int order[KIND_COUNT])
{
    for (int k = 0; k < KIND_COUNT; k++) {
        int j = k;
        for (; j > 0 &&
               strcmp(kind_table[order[j - 1]].dir, kind_table[k].dir) > 0;
             j--)
            order[j] = order[j - 1];
        order[j] = k;
    }
}

static const struct def **sources_of(const struct project *p, unsigned env_mask,
                                     size_t *n)
{
    size_t cap = 1;
    for (int k = 0; k < KIND_COUNT; k++)
        cap += p->ndefs[k];
    const struct def **all = malloc(cap * sizeof(*all));
    size_t m = 0;
    if (!all) {
        *n = 0;
        return NULL;
    }
    if (p->config)
        all[m++] = p->config;
    int order[KIND_COUNT];
    kinds_by_dir(order);
    for (int o = 0; o < KIND_COUNT; o++) {
        int k = order[o];
        if (kind_table[k].envs & env_mask)
            for (size_t i = 0; i < p->ndefs[k]; i++)
                all[m++] = &p->defs[k][i];
    }
    bool in_order = true; /* struere.yaml may sit among the directories */
    for (size_t i = 1; i < m && in_order; i++)
        in_order = cmp_def_path(&all[i - 1], &all[i]) < 0;
    if (!in_order)
        qsort(all, m, sizeof(*all), cmp_def_path);
    *n = m;
    return all;
}

/* SHA-256 over the source files that feed the environments of env_mask:
 * struere.yaml and the definitions of the kinds those environments
 * receive, in path order: "path NUL sha256-of-file NUL" for each file,
 * hashed in one piece by the one SHA-256 entry point. False when out of
 * memory (no digest is made up). */
static bool digest(const struct project *p, unsigned env_mask,
                   unsigned char out[32])
{
    size_t m, len = 0;
    const struct def **all = sources_of(p, env_mask, &m);
    if (!all)
        return false;
    for (size_t i = 0; i < m; i++) {
        /* Never a digest over a file not hashed (its text let go without
         * check_options.hash_sources): no compile at all. */
        if (!all[i]->sha256[0]) {
            free(all);
            return false;
        }
        len += strlen(all[i]->path) + 1 + strlen(all[i]->sha256) + 1;
    }
    char *text = malloc(len ? len : 1), *at = text;
    if (!text) {
        free(all);
        return false;
    }
    for (size_t i = 0; i < m; i++) {
        size_t n = strlen(all[i]->path) + 1;
        memcpy(at, all[i]->path, n);
        at += n;
        n = strlen(all[i]->sha256) + 1;
        memcpy(at, all[i]->sha256, n);
        at += n;
    }
    rt_sha256(text, len, out);
    free(text);
    free(all);
    return true;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct compiled_file *)a)->path,
                  ((const struct compiled_file *)b)->path);
}

struct emit_job {
    const struct emit_env *x;
    enum env e;
    struct compiled_file *files;
    const struct def **defs;
    const struct compile_reuse *reuse;
    int failed;
};

/* The runtime's kind numbers (STRUERE_KIND_*) for the compiler's kinds. */
static const int runtime_kind[KIND_COUNT] = {
    [KIND_AGENT] = STRUERE_KIND_AGENT,
    [KIND_DATA] = STRUERE_KIND_DATA,
    [KIND_ROLE] = STRUERE_KIND_ROLE,
    [KIND_TOOL] = STRUERE_KIND_TOOL,
    [KIND_AUTOMATION] = STRUERE_KIND_AUTOMATION,
    [KIND_EVAL] = STRUERE_KIND_EVAL,
    [KIND_FIXTURE] = STRUERE_KIND_FIXTURE,
};

static int cmp_path_key(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

/* The blob id of a review path in the parent's (sorted) list, or NULL. */
static const char *review_id(const struct store_blob_list *l, const char *path)
{
    if (!l->n)
        return NULL;
    const char *const *at =
        bsearch(path, l->paths, l->n, sizeof(*l->paths), cmp_path_key);
    return at ? l->ids[at - l->paths] : NULL;
}

/* Takes d's body and review blob from the previous commit when allowed. */
static bool reuse_one(const struct emit_job *j, const struct def *d,
                      struct compiled_file *f)
{
    const struct compile_reuse *r = j->reuse;
    enum env e = j->e;
    if (!r || !r->old[e] || !index_get(r->unchanged[e], d->path) ||
        (d->kind == KIND_AGENT && r->tools_changed[e]))
        return false;
    const char *body;
    size_t len;
    if (struere_bundle_lookup(&body, &len, r->old[e], runtime_kind[d->kind],
                              d->slug, NULL) != STRUERE_OK)
        return false;
    size_t plen = compile_review_path(NULL, 0, e, d->kind, d->slug) + 1;
    char *path = malloc(plen);
    if (!path)
        return false;
    compile_review_path(path, plen, e, d->kind, d->slug);
    const char *id = review_id(&r->review[e], path);
    char *blob = id ? strdup(id) : NULL;
    if (!blob) {
        free(path);
        return false;
    }
    f->kind = d->kind;
    f->slug = d->slug;
    f->path = path;
    f->body = body; /* borrowed: the old bundle outlives the compile */
    f->body_len = len;
    f->blob_id = blob;
    return true;
}

static void emit_one(void *ctx, size_t i, unsigned w)
{
    (void)w;
    struct emit_job *j = ctx;
    const struct def *d = j->defs[i];
    struct compiled_file *f = &j->files[i];
    if (reuse_one(j, d, f))
        return;
    json_t *body = emit_definition(j->x, d);
    f->kind = d->kind;
    f->slug = d->slug;
    f->canonical = emit_canonical(body);
    f->body = f->canonical;
    f->body_len = f->canonical ? strlen(f->canonical) : 0;
    char *text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS |
                                      JSON_REAL_PRECISION(15));
    json_decref(body);
    size_t len = text ? strlen(text) : 0;
    f->data = text ? malloc(len + 2) : NULL;
    size_t plen = compile_review_path(NULL, 0, j->e, d->kind, d->slug) + 1;
    f->path = malloc(plen);
    if (!f->canonical || !f->data || !f->path) {
        free(text);
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    memcpy(f->data, text, len);
    f->data[len] = '\n';
    f->data[len + 1] = '\0';
    f->len = len + 1;
    free(text);
    compile_review_path(f->path, plen, j->e, d->kind, d->slug);
}

/* Emits every definition of environment e (on the worker pool), then
 * sorts them by review path. */
static int emit_env(const struct project *p, enum env e,
                    const struct compile_reuse *reuse, struct compiled *c)
{
    size_t n = 0;
    for (int k = 0; k < KIND_COUNT; k++)
        if (kind_table[k].envs & (1u << e))
            n += p->ndefs[k];
    const struct def **defs = calloc(n + 1, sizeof(*defs));
    c->review[e] = calloc(n + 1, sizeof(struct compiled_file));
    struct emit_env *x = emit_env_new(p, e);
    if (!defs || !c->review[e] || !x) {
        free(defs);
        emit_env_free(x);
        return -1;
    }
    /* Kinds in the order of their review directories' names, so that the
     * review paths come out sorted when the files are named after their
     * slugs. */
    int order[KIND_COUNT];
    kinds_by_dir(order);
    size_t m = 0;
    for (int o = 0; o < KIND_COUNT; o++) {
        int k = order[o];
        if (kind_table[k].envs & (1u << e))
            for (size_t i = 0; i < p->ndefs[k]; i++)
                if (p->defs[k][i].root && p->defs[k][i].slug)
                    defs[m++] = &p->defs[k][i];
    }
    struct emit_job job = {x, e, c->review[e], defs, reuse, 0};
    pool_run(pool_threads(m), m, emit_one, &job);
    c->nreview[e] = m;
    free(defs);
    if (emit_env_failed(x))
        job.failed = 1;
    emit_env_free(x);
    if (job.failed)
        return -1;
    bool in_order = true; /* definitions mostly come in path order */
    for (size_t i = 1; i < m && in_order; i++)
        in_order = cmp_file(&c->review[e][i - 1], &c->review[e][i]) < 0;
    if (!in_order)
        qsort(c->review[e], m, sizeof(struct compiled_file), cmp_file);
    return 0;
}

/* Writing the environments' bundles, one per worker. */
struct bundle_job {
    const struct project *p;
    struct compiled *c;
    int failed;
};

/* Lays out environment i's bundle from its sorted definitions: the three
 * environments are independent. */
static void bundle_one(void *ctx, size_t i, unsigned w)
{
    (void)w;
    struct bundle_job *j = ctx;
    struct compiled *c = j->c;
    size_t n = c->nreview[i];
    struct bundle_entry *entries = malloc((n + 1) * sizeof(*entries));
    if (!entries) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (size_t k = 0; k < n; k++)
        entries[k] = (struct bundle_entry){
            c->review[i][k].kind, c->review[i][k].slug, c->review[i][k].body,
            c->review[i][k].body_len};
    int rc = bundle_write(j->p, (enum env)i, c->env_digest[i], entries, n,
                          &c->bundle[i]);
    free(entries);
    if (rc < 0)
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
}

void compile_digest(struct compiled *c, enum env e)
{
    struct bundle_bytes *b = &c->bundle[e];
    if (b->digested || !b->data)
        return;
    rt_sha256(b->data, b->len, b->sha256);
    b->digested = true;
}

static void digest_one(void *ctx, size_t i, unsigned w)
{
    (void)w;
    compile_digest(ctx, (enum env)i);
}

void compile_digests(struct compiled *c)
{
    pool_run(pool_threads_large(ENV_COUNT), ENV_COUNT, digest_one, c);
}

int compile_project(const struct project *p, const struct compile_reuse *reuse,
                    struct compiled *out)
{
    memset(out, 0, sizeof(*out));
    if (sodium_init() < 0)
        return -1;
    progress_phase(p->progress, PROGRESS_COMPILE, 0);
    project_hash_sources((struct project *)p);
    if (!digest(p, (1u << ENV_COUNT) - 1, out->source_digest))
        return -1;
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!digest(p, 1u << e, out->env_digest[e]) ||
            emit_env(p, (enum env)e, reuse, out) < 0) {
            compiled_free(out);
            return -1;
        }
    }
    struct bundle_job job = {p, out, 0};
    pool_run(pool_threads_large(ENV_COUNT), ENV_COUNT, bundle_one, &job);
    if (job.failed || json_mem_failed()) { /* a body may have lost a part */
        compiled_free(out);
        return -1;
    }
    return 0;
}

void compiled_free(struct compiled *c)
{
    for (int e = 0; e < ENV_COUNT; e++) {
        free(c->bundle[e].data);
        for (size_t i = 0; c->review[e] && i < c->nreview[e]; i++) {
            free(c->review[e][i].path);
            free(c->review[e][i].data);
            free(c->review[e][i].canonical);
            free(c->review[e][i].blob_id);
        }
        free(c->review[e]);
    }
    memset(c, 0, sizeof(*c));
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

char *compile_manifest(const struct project *p, struct compiled *c,
                       unsigned env_mask)
{
    compile_digests(c);
    json_t *m = json_object();
    json_t *fmt = json_object();
    json_object_set_new(fmt, "major", json_integer(BUNDLE_MAJOR));
    json_object_set_new(fmt, "minor", json_integer(BUNDLE_MINOR));
    json_object_set_new(m, "format", fmt);
    json_object_set_new(m, "compiler", json_string("struere " STRUERE_VERSION));
    const struct node *cfg = p->config ? p->config->root : NULL;
    json_t *proj = json_object();
    json_object_set_new(proj, "name",
                        json_string(node_get_str(cfg, "name")
                                        ? node_get_str(cfg, "name")
                                        : ""));
    json_object_set_new(proj, "version",
                        json_string(node_get_str(cfg, "version")
                                        ? node_get_str(cfg, "version")
                                        : ""));
    json_object_set_new(m, "project", proj);
    char h[65];
    unsigned char branch[32];
    if (!digest(p, env_mask, branch)) {
        json_decref(m);
        return NULL;
    }
    hex(branch, 32, h);
    json_object_set_new(m, "sourceDigest", json_string(h));
    json_t *bundles = json_object();
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        json_t *b = json_object();
        hex(c->bundle[e].sha256, 32, h);
        json_object_set_new(b, "path", json_string(compile_bundle_path(e)));
        json_object_set_new(b, "sha256", json_string(h));
        json_object_set_new(b, "size",
                            json_integer((json_int_t)c->bundle[e].len));
        json_t *counts = json_object();
        for (int k = 0; k < KIND_COUNT; k++)
            if (kind_table[k].envs & (1u << e))
                json_object_set_new(
                    counts, kind_table[k].name,
                    json_integer((json_int_t)c->bundle[e].counts[k]));
        json_object_set_new(b, "definitions", counts);
        json_object_set_new(bundles, env_names[e], b);
    }
    json_object_set_new(m, "bundles", bundles);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(m);
    if (!text || json_mem_failed()) { /* a member may be missing */
        free(text);
        return NULL;
    }
    size_t len = strlen(text);
    char *out = realloc(text, len + 2);
    if (!out) {
        free(text);
        return NULL;
    }
    out[len] = '\n';
    out[len + 1] = '\0';
    return out;
}

/* The compiler and the schemas it validates against: a different one
 * may compile the same sources differently. */
static void compiler_id(char out[65])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    const char *v = "struere " STRUERE_VERSION;
    crypto_hash_sha256_update(&st, (const unsigned char *)v, strlen(v));
    for (size_t i = 0; i < embedded_schemas_count; i++)
        crypto_hash_sha256_update(
            &st, (const unsigned char *)embedded_schemas[i].text,
            embedded_schemas[i].len);
    unsigned char h[32];
    crypto_hash_sha256_final(&st, h);
    hex(h, 32, out);
}

char *compile_sources(const struct project *p, unsigned env_mask)
{
    size_t m;
    const struct def **all = sources_of(p, env_mask, &m);
    if (!all)
        return NULL;
    size_t cap = 256 + m * 80, used = 0;
    for (size_t i = 0; i < m; i++)
        cap += strlen(all[i]->path);
    char *out = malloc(cap);
    if (!out) {
        free(all);
        return NULL;
    }
    char id[65];
    compiler_id(id);
    used += (size_t)snprintf(out, cap, "struere-sources 1 %s\n", id);
    for (size_t i = 0; i < m; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s %s\n",
                                 all[i]->sha256, all[i]->path);
    free(all);
    return out;
}

bool compile_sources_compatible(const char *old_sources)
{
    char id[65], head[128];
    compiler_id(id);
    snprintf(head, sizeof(head), "struere-sources 1 %s\n", id);
    return old_sources && !strncmp(old_sources, head, strlen(head));
}

void compile_reuse_prepare(const struct project *p, struct arena *a,
                           const char *old_sources,
                           const struct store_blob_list *old_review,
                           unsigned env_mask, struct compile_reuse *reuse)
{
    if (!compile_sources_compatible(old_sources))
        return; /* another compiler, or nothing to compare with */
    const char *lines_at = strchr(old_sources, '\n') + 1; /* past the head */
    /* path -> sha of the previous commit's sources */
    size_t lines = 1, ndefs = 0;
    for (const char *c = old_sources; (c = strchr(c, '\n')); c++)
        lines++;
    for (int k = 0; k < KIND_COUNT; k++)
        ndefs += p->ndefs[k];
    struct index *was = index_new(a, lines);
    for (const char *line = lines_at; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 66 && line[64] == ' ')
            index_put(was, arena_strndup(a, line + 65, len - 65),
                      arena_strndup(a, line, 64));
        line += len + (end ? 1 : 0);
    }
    struct index *same = index_new(a, ndefs);
    if (!was || !same || a->failed)
        return; /* out of memory: nothing reused */
    bool tools_changed = false;
    size_t ntools_before = 0;
    for (size_t i = 0; i < was->cap; i++)
        if (was->keys[i] && !strncmp(was->keys[i], "tools/", 6))
            ntools_before++;
    if (ntools_before != p->ndefs[KIND_TOOL])
        tools_changed = true;
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            const char *old = index_get(was, d->path);
            if (old && !strcmp(old, d->sha256))
                index_put(same, d->path, (void *)1);
            else if (k == KIND_TOOL)
                tools_changed = true;
        }
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        reuse->unchanged[e] = same;
        if (old_review)
            reuse->review[e] = *old_review;
        reuse->tools_changed[e] = tools_changed;
    }
}
