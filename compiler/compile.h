/*
 * compile.h - check, then compile a project into what the store commits
 * and `build` writes: the three bundles, manifest.json and the review/
 * renderings (one canonical, sorted text per definition per environment).
 */
#ifndef STRUERE_COMPILE_H
#define STRUERE_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "bundle_write.h"
#include "project.h"

/* One definition as an environment receives it. */
struct compiled_file {
    char *path; /* its review rendering: compile_review_path */
    char *data; /* that rendering: JSON, indented, keys sorted */
    size_t len;
    const char *body; /* the bundle body: the same JSON, compact */
    size_t body_len;
    char *canonical; /* body when emitted here (owned); NULL when body
                        is borrowed from the previous bundle */
    enum kind kind;
    const char *slug;
    char *blob_id; /* reused from the parent commit: data is NULL */
};

struct struere_bundle;
struct index;
struct arena;

/* A parent's review blobs: paths and ids, sorted by path (strcmp). */
struct store_blob_list {
    const char *const *paths;
    const char *const *ids;
    size_t n;
};

/* What an incremental compile may take from the previous commit of an
 * environment's branch instead of emitting again: the definitions whose
 * source file is unchanged (and, for agents, no custom tool changed)
 * keep their body (from the old bundle) and their review blob. */
struct compile_reuse {
    struct struere_bundle *old[ENV_COUNT];    /* NULL: emit everything */
    struct index *unchanged[ENV_COUNT];       /* source path -> (void *)1 */
    struct store_blob_list review[ENV_COUNT]; /* the parent's blobs */
    bool tools_changed[ENV_COUNT];
};

struct compiled {
    struct bundle_bytes bundle[ENV_COUNT];
    unsigned char source_digest[32];         /* every source file */
    unsigned char env_digest[ENV_COUNT][32]; /* the files an env reads */
    struct compiled_file *review[ENV_COUNT]; /* per env, sorted by path */
    size_t nreview[ENV_COUNT];
};

/* Compiles a project that checked clean (p->diags has no errors), taking
 * what reuse allows from a previous commit (reuse may be NULL; its old
 * bundles must outlive out, whose bodies may point into them). Returns 0,
 * or -1 when out of memory. Same output either way. */
int compile_project(const struct project *p, const struct compile_reuse *reuse,
                    struct compiled *out);
/* The `sources` file committed beside the bundles: the compiler and
 * schemas it was compiled with, then "<sha256> <path>" for every source
 * file the environments of env_mask read, sorted. An incremental compile
 * compares it with the files now. */
char *compile_sources(const struct project *p, unsigned env_mask);
/* Whether a previous commit's sources text was written by this compiler
 * (with these schemas): only then can its definitions be reused. */
bool compile_sources_compatible(const char *old_sources);
/* Fills reuse for the environments of env_mask from the sources text and
 * review blobs of their previous commit (the caller loads those and the
 * old bundles). Allocates from a. */
void compile_reuse_prepare(const struct project *p, struct arena *a,
                           const char *old_sources,
                           const struct store_blob_list *old_review,
                           unsigned env_mask, struct compile_reuse *reuse);
void compiled_free(struct compiled *c);
/* manifest.json for the bundles in env_mask (bit per env), as text the
 * caller frees. Keys sorted; no time, so it is reproducible. Its
 * sourceDigest covers the files those environments read, so a branch
 * gets no commit for a change that does not concern it. */
char *compile_manifest(const struct project *p, struct compiled *c,
                       unsigned env_mask);
/* The SHA-256 of each bundle for the manifest (compile_manifest computes
 * what is missing; a caller may compute them earlier, e.g. on another
 * thread while the bundles are written to the store). */
void compile_digests(struct compiled *c);
/* The same for one environment's bundle. */
void compile_digest(struct compiled *c, enum env e);
/* The file name of an environment's bundle: "bundles/<env>.stb". */
const char *compile_bundle_path(enum env e);
/* Where a definition's review rendering goes:
 * review/<env>/<dir>/<first character of slug>/<slug>.json. The directory
 * of a kind is split by first character so that no git tree grows with
 * the project (deploy reads only the small trees that changed), and a
 * reviewer still finds a definition by its name. Writes at most size
 * bytes; returns the length it needs. */
size_t compile_review_path(char *buf, size_t size, enum env e, enum kind k,
                           const char *slug);
/* Reads a review path back (any environment): its kind (-1 when it is
 * not a review rendering) and its slug, copied to slug (size bytes). */
int compile_review_parse(const char *path, char *slug, size_t size);

#endif
