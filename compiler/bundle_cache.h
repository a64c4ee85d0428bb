/*
 * bundle_cache.h - the last bundles `struere dev` committed, kept as plain
 * files in the store's git directory (<git dir>/struere/bundles/<blob
 * id>.stb), so that the next run takes its unchanged definitions from
 * them without inflating the blobs back out of git (and `status` compares
 * with production's without reading it from git while it stays kept). A file is
 * named by the git blob it holds and written whole before it is renamed into
 * place. Anyone who can write the git directory can write these files,
 * and a bundle's CRCs are no seal (they can be recomputed after an edit):
 * a file is used only when its bytes have the SHA-256 that the commit's
 * manifest.json gives for that blob, and is opened as any bundle
 * (verified: checksums, bounds), or, when the store's record of verified
 * blobs vouches for those bytes, with its bounds checked and what the
 * record vouches for not computed again. Any other file is removed; the
 * caller then reads the blob from git.
 */
#ifndef STRUERE_BUNDLE_CACHE_H
#define STRUERE_BUNDLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

struct struere_bundle;

/* The bundle of blob id for environment env (STRUERE_ENV_*), when the
 * cache has it, its bytes have the SHA-256 sha256 (the manifest's digest
 * of that blob) and it verifies; else NULL (and a file that did not
 * match or verify is removed). recorded: the store's record of verified
 * blobs (verify.h) vouches for blob id with that SHA-256 in env, so the
 * matching bytes are opened without computing again what the record
 * vouches for (rt_bundle_open_recorded: CRCs, strings, bodies' JSON);
 * without a record they are verified as any bundle. */
struct struere_bundle *bundle_cache_open(const char *git_dir, const char *id,
                                         int env,
                                         const unsigned char sha256[32],
                                         bool recorded);
/* Keeps exactly the n given bundles (blob ids and bytes), and the file of
 * blob `also` when there is one (NULL: none; the bundle the production
 * branch holds, which `status` compares with): writes those not there yet
 * and removes every other file. Failures are ignored (the cache is only a
 * shortcut). */
void bundle_cache_keep(const char *git_dir, const char *const *ids,
                       const void *const *data, const size_t *lens, size_t n,
                       const char *also);

#endif
