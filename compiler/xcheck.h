/*
 * xcheck.h - the results of the checks between definitions, kept between
 * runs by dev's definition cache (defcache.h), so that a run after a small
 * change checks again only the definitions a change can reach.
 *
 * While a definition's reference checks run (a kind's check_refs), every
 * other definition they read is noted: each check_lookup (kind and slug,
 * and the SHA-256 of the file found and whether it is Markdown, or that
 * none was), and a read of
 * the fixture records by ref (the digest of every fixture file at once:
 * the eval environment's record index is built from all of them). A
 * check that reported nothing keeps that list as its result. The next
 * run takes the result of an unchanged file (restored from the cache)
 * instead of checking it again when every read would find the same: the
 * same file, or none, under each slug, the same fixture files, and the
 * same struere.yaml and compiler (the cache's own key). A check that
 * reported anything keeps no result and runs again on every run, so its
 * warnings are reported as without a cache; so does one that read a
 * broken file (a reference to it is not reported: its own errors are). The
 * checks over the whole project (duplicate slugs, bindings, cascades, fixture
 * refs) always run.
 *
 * The cached/uncached differential test (tests/store/cache_diff.py)
 * edits files that others read and compares every output.
 */
#ifndef STRUERE_XCHECK_H
#define STRUERE_XCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "project.h"

struct arena;
struct check_ctx;

/* Bytes of a file digest kept per read (a SHA-256 prefix). */
#define XCHECK_DIGEST 16
/* The tag of a read of the fixture records (not a kind). */
#define XCHECK_FIXTURES 0xFE

/* What one worker notes for the definition it is checking. */
struct xcheck_rec {
    struct xcheck_read {
        unsigned tag; /* enum kind, or XCHECK_FIXTURES */
        const char *slug;
        unsigned found; /* 0 none, 1 a YAML file, 2 a Markdown file */
        unsigned char digest[XCHECK_DIGEST];
    } * reads;
    size_t n, cap;
    bool failed; /* out of memory: keep no result */
};

void xcheck_rec_begin(struct xcheck_rec *r);
/* A lookup of slug among kind k's definitions that found `found` (may be
 * NULL). */
void xcheck_note(struct xcheck_rec *r, unsigned tag, const char *slug,
                 const struct def *found);
/* A read of the fixture records, whose files have digest `set`. */
void xcheck_note_fixtures(struct xcheck_rec *r,
                          const unsigned char set[XCHECK_DIGEST]);
/* The reads noted since xcheck_rec_begin, as a result kept in a (its
 * length in *len); NULL when out of memory. */
const unsigned char *xcheck_rec_end(struct xcheck_rec *r, struct arena *a,
                                    uint32_t *len);
void xcheck_rec_free(struct xcheck_rec *r);

/* Whether every read of a result (bytes, len) finds the same in c's
 * environment now: then the checks it stands for report nothing again. */
bool xcheck_holds(const struct check_ctx *c, const unsigned char *bytes,
                  size_t len);

/* The digest of every fixture file of p (paths and SHA-256 in order):
 * false when one has no SHA-256. */
bool xcheck_fixture_digest(const struct project *p,
                           unsigned char out[XCHECK_DIGEST]);

#endif
