/*
 * rt_bundle_trust.h - for the compiler (compiler/bundle_trust.h) only:
 * bundles opened on what the caller vouches for. The runtime checks each
 * body when a caller first asks for it (struere_bundle_entry); the
 * compiler reads whole bundles it compiled itself, or whose exact bytes
 * this store recorded as verified (compiler/verify.h), and need not read
 * 35 MB of JSON again to compare or reuse them; nor copy a bundle it
 * holds in memory to open it. Not part of the public API: a library user
 * cannot vouch for bytes this way.
 */
#ifndef STRUERE_RT_BUNDLE_TRUST_H
#define STRUERE_RT_BUNDLE_TRUST_H

#include "struere.h"

/* Marks every body of b as checked and valid. NULL is a no-op. */
void rt_bundle_bodies_known_valid(struere_bundle *b);

/* Verifies `bytes` (as struere_bundle_open_memory) and opens the bundle
 * on them in place, without a copy: the caller keeps them alive and
 * unchanged until it frees the bundle, and frees them itself after. */
int rt_bundle_open_borrowed(struere_bundle **out, const void *bytes, size_t len,
                            int expected_env, struere_error *err);
/* The same on malloc'd `bytes` that the bundle takes on success (freed
 * with it); on failure they stay the caller's. */
int rt_bundle_open_taking(struere_bundle **out, void *bytes, size_t len,
                          int expected_env, struere_error *err);

/* The same on malloc'd `bytes` whose exact bytes the caller found this
 * store to have recorded as a bundle verified whole (their SHA-256
 * against compiler/verify.h's record): the header, the section table and
 * every string reference are read and bounds-checked as always, so no
 * byte outside the bundle is ever read; what the record vouches for is
 * not computed again: the sections' CRCs, strings free of NULs and valid
 * UTF-8, every body one JSON value (marked valid). */
int rt_bundle_open_recorded(struere_bundle **out, void *bytes, size_t len,
                            int expected_env, struere_error *err);

/* Compiles every role of b as the runtime does when an actor first holds
 * one (a role's body is read then, not when the bundle is opened), and
 * drops them: 0, or the first failure (STRUERE_ECORRUPT naming the role,
 * STRUERE_ENOMEM). What verification before a promotion adds to what
 * opening a bundle checks. */
int rt_bundle_roles_check(const struere_bundle *b, struere_error *err);

#endif
