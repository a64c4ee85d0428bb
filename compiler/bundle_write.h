/*
 * bundle_write.h - the bundle writer: one environment's compiled
 * definitions as the bytes of runtime/BUNDLE.md (format 1.0).
 */
#ifndef STRUERE_BUNDLE_WRITE_H
#define STRUERE_BUNDLE_WRITE_H

#include <stdbool.h>
#include <stddef.h>

#include "project.h"

#define BUNDLE_MAJOR 1
#define BUNDLE_MINOR 0

struct bundle_bytes {
    unsigned char *data; /* malloc'd; free() it */
    size_t len;
    size_t counts[KIND_COUNT]; /* definitions per kind */
    unsigned char sha256[32];  /* of data, once digested */
    bool digested;             /* compile_digests has filled sha256 */
};

/* One compiled definition: its kind, slug and canonical JSON body. */
struct bundle_entry {
    enum kind kind;
    const char *slug;
    const char *body;
    size_t body_len;
};

/* Writes the bundle of environment e from its n compiled definitions (in
 * any order; slugs unique per kind). source_digest is the 32-byte SHA-256
 * of the sources. Returns 0, or -1 when out of memory. */
/* The organization id a bundle of p carries in its META ("" when
 * struere.yaml names none). */
const char *bundle_organization_id(const struct project *p);
/* The project name it carries ("" when none); without an organization id
 * the runtime gives actor.organizationId the project name. */
const char *bundle_project_name(const struct project *p);
int bundle_write(const struct project *p, enum env e,
                 const unsigned char source_digest[32],
                 const struct bundle_entry *entries, size_t n,
                 struct bundle_bytes *out);

#endif
