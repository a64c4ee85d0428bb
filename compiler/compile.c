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
#include "kinds.h"
#include "node.h"
#include "source.h"
#include "version.h"

const char *compile_bundle_path(enum env e)
{
    static const char *const paths[ENV_COUNT] = {
        "bundles/development.stb", "bundles/production.stb",
        "bundles/eval.stb"};
    return paths[e];
}

static int cmp_def_path(const void *a, const void *b)
{
    return strcmp((*(const struct def *const *)a)->path,
                  (*(const struct def *const *)b)->path);
}

/* SHA-256 over the source files that feed the environments of env_mask:
 * struere.yaml and the definitions of the kinds those environments
 * receive, in path order. */
static void digest(const struct project *p, unsigned env_mask,
                   unsigned char out[32])
{
    size_t n = 1;
    for (int k = 0; k < KIND_COUNT; k++)
        n += p->ndefs[k];
    const struct def **all = malloc(n * sizeof(*all));
    size_t m = 0;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    if (all) {
        if (p->config)
            all[m++] = p->config;
        for (int k = 0; k < KIND_COUNT; k++)
            if (kind_table[k].envs & env_mask)
                for (size_t i = 0; i < p->ndefs[k]; i++)
                    all[m++] = &p->defs[k][i];
        if (m > 1)
            qsort(all, m, sizeof(*all), cmp_def_path);
        for (size_t i = 0; i < m; i++) {
            const struct source *s = all[i]->src;
            unsigned char len[8];
            size_t l = s ? s->len : 0;
            for (int b = 0; b < 8; b++)
                len[b] = (unsigned char)((uint64_t)l >> (8 * b));
            crypto_hash_sha256_update(&st, (const unsigned char *)all[i]->path,
                                      strlen(all[i]->path) + 1);
            crypto_hash_sha256_update(&st, len, 8);
            if (s)
                crypto_hash_sha256_update(&st, (const unsigned char *)s->text,
                                          s->len);
        }
        free(all);
    }
    crypto_hash_sha256_final(&st, out);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct compiled_file *)a)->path,
                  ((const struct compiled_file *)b)->path);
}

static int review(const struct project *p, enum env e, struct compiled *c)
{
    size_t n = 0;
    for (int k = 0; k < KIND_COUNT; k++)
        if (kind_table[k].envs & (1u << e))
            n += p->ndefs[k];
    c->review[e] = calloc(n + 1, sizeof(struct compiled_file));
    if (!c->review[e])
        return -1;
    for (int k = 0; k < KIND_COUNT; k++) {
        if (!(kind_table[k].envs & (1u << e)))
            continue;
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            if (!d->root || !d->slug)
                continue;
            json_t *body = emit_definition(p, d, e);
            char *text = json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS |
                                              JSON_REAL_PRECISION(15));
            json_decref(body);
            if (!text)
                return -1;
            size_t len = strlen(text);
            char *data = malloc(len + 2);
            if (!data) {
                free(text);
                return -1;
            }
            memcpy(data, text, len);
            data[len] = '\n';
            data[len + 1] = '\0';
            free(text);
            struct compiled_file *f = &c->review[e][c->nreview[e]++];
            f->data = data;
            f->len = len + 1;
            size_t plen = strlen(d->slug) + 64;
            f->path = malloc(plen);
            if (!f->path)
                return -1;
            snprintf(f->path, plen, "review/%s/%s/%s.json", env_names[e],
                     kind_table[k].dir, d->slug);
        }
    }
    qsort(c->review[e], c->nreview[e], sizeof(struct compiled_file),
          cmp_file);
    return 0;
}

int compile_project(const struct project *p, struct compiled *out)
{
    memset(out, 0, sizeof(*out));
    if (sodium_init() < 0)
        return -1;
    digest(p, (1u << ENV_COUNT) - 1, out->source_digest);
    for (int e = 0; e < ENV_COUNT; e++) {
        digest(p, 1u << e, out->env_digest[e]);
        if (bundle_write(p, (enum env)e, out->env_digest[e],
                         &out->bundle[e]) < 0 ||
            review(p, (enum env)e, out) < 0) {
            compiled_free(out);
            return -1;
        }
    }
    return 0;
}

void compiled_free(struct compiled *c)
{
    for (int e = 0; e < ENV_COUNT; e++) {
        free(c->bundle[e].data);
        for (size_t i = 0; i < c->nreview[e]; i++) {
            free(c->review[e][i].path);
            free(c->review[e][i].data);
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

char *compile_manifest(const struct project *p, const struct compiled *c,
                       unsigned env_mask)
{
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
    digest(p, env_mask, branch);
    hex(branch, 32, h);
    json_object_set_new(m, "sourceDigest", json_string(h));
    json_t *bundles = json_object();
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        json_t *b = json_object();
        unsigned char sum[32];
        crypto_hash_sha256(sum, c->bundle[e].data, c->bundle[e].len);
        hex(sum, 32, h);
        json_object_set_new(b, "path", json_string(compile_bundle_path(e)));
        json_object_set_new(b, "sha256", json_string(h));
        json_object_set_new(b, "size", json_integer((json_int_t)c->bundle[e].len));
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
    if (!text)
        return NULL;
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
