/*
 * bundle_cache.h - the last bundles `struere dev` committed, kept as files
 * in the store's git directory, so that the next run takes its unchanged
 * definitions from them without inflating the blobs back out of git (and
 * `status` compares with production's without reading it from git while
 * it stays kept).
 *
 * A bundle is kept in pieces, cut where its loose object's segments are
 * cut (loose_deflate.h), each piece a file named by its SHA-256
 * (<git dir>/struere/chunks/<hex>), with an index per bundle naming its
 * pieces in order (<git dir>/struere/bundles/<blob id>.idx), sealed as
 * the other caches are: the pieces and their SHA-256 are handed to the
 * next blob's writing (loose_known), which then hashes, and scans for a
 * cut, only where its bytes are not a previous bundle's pieces. A change of
 * one definition changes a few pieces: a run writes those and the
 * indexes, not every bundle whole (35 MB at 10,000 definitions, 355 MB at
 * 100,000), and the three bundles, which share most of their bytes,
 * share their pieces; each bundle's index (36 bytes a piece) is written
 * on every run. Every file is written whole before it is renamed into
 * place.
 *
 * Anyone who can write the git directory can write these files, and a
 * bundle's CRCs are no seal (they can be recomputed after an edit): a
 * bundle is used only when its pieces, laid end to end, have the SHA-256
 * that the commit's manifest.json gives for that blob, and it is opened
 * as any bundle (verified: checksums, bounds), or, when the store's
 * record of verified blobs vouches for those bytes, with its bounds
 * checked and what the record vouches for not computed again. An index
 * that is not a regular file, is malformed (or claims more than the
 * runtime's largest bundle), is not sealed under this store's key (or
 * there is no key), names another build of the compiler, another blob or
 * other bytes than the manifest's SHA-256, or whose bundle does not
 * match is removed,
 * and so is each of its pieces that is not a regular file of its length
 * or whose bytes are not its name's (a directory put at such a name
 * stays, and that bundle is read from git): the next run writes them
 * again. A piece that could not be read for a reason that says nothing
 * of it (out of descriptors) leaves the index in place. The caller then
 * reads the blob from git. The directories are used only when they are
 * this user's and not links (bundle_cache.c).
 */
#ifndef STRUERE_BUNDLE_CACHE_H
#define STRUERE_BUNDLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "loose_deflate.h"

struct struere_bundle;

/* The bundle of blob id for environment env (STRUERE_ENV_*), when the
 * cache has it (its index sealed under this store's key), its bytes have
 * the SHA-256 sha256 (the manifest's digest of that blob) and it
 * verifies; else NULL (and a file that did not match or verify is
 * removed). recorded: the store's record of verified blobs (verify.h)
 * vouches for blob id with that SHA-256 in env, so the matching bytes
 * are opened without computing again what the record vouches for
 * (rt_bundle_open_recorded: CRCs, strings, bodies' JSON); without a
 * record they are verified as any bundle. known (may be NULL) gets the
 * bundle's pieces with their SHA-256, all but the last as cut by this
 * build's rule, pointing into the bundle's bytes: it must not be used
 * after the bundle is freed. */
struct struere_bundle *bundle_cache_open(const char *git_dir, const char *id,
                                         int env,
                                         const unsigned char sha256[32],
                                         bool recorded,
                                         struct loose_known *known);
/* Keeps exactly the n given bundles (blob ids, their bytes' SHA-256, the
 * bytes, and their loose objects' streams, whose segments say where the
 * pieces are cut and their SHA-256), and the index of blob `also` with its
 * pieces when there
 * is one (NULL: none; the bundle the production branch holds, which
 * `status` compares with): writes the pieces not there as files of
 * their length and the n indexes, and removes every other index and
 * piece. Failures are ignored (the
 * cache is only a shortcut). */
void bundle_cache_keep(const char *git_dir, const char *const *ids,
                       const unsigned char *const *sha256,
                       const void *const *data, const size_t *lens,
                       const struct loose_stream *streams, size_t n,
                       const char *also);

#endif
