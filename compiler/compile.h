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

struct compiled_file {
    char *path; /* e.g. "review/production/roles/teacher.json" */
    char *data;
    size_t len;
};

struct compiled {
    struct bundle_bytes bundle[ENV_COUNT];
    unsigned char source_digest[32]; /* every source file */
    unsigned char env_digest[ENV_COUNT][32]; /* the files an env reads */
    struct compiled_file *review[ENV_COUNT]; /* per env, sorted by path */
    size_t nreview[ENV_COUNT];
};

/* Compiles a project that checked clean (p->diags has no errors).
 * Returns 0, or -1 when out of memory. */
int compile_project(const struct project *p, struct compiled *out);
void compiled_free(struct compiled *c);
/* manifest.json for the bundles in env_mask (bit per env), as text the
 * caller frees. Keys sorted; no time, so it is reproducible. Its
 * sourceDigest covers the files those environments read, so a branch
 * gets no commit for a change that does not concern it. */
char *compile_manifest(const struct project *p, const struct compiled *c,
                       unsigned env_mask);
/* The file name of an environment's bundle: "bundles/<env>.stb". */
const char *compile_bundle_path(enum env e);

#endif
