/*
 * rt_bundle_trust.h - for the compiler (compiler/bundle_trust.h) only: a
 * bundle whose bodies are already known to be well-formed JSON. The
 * runtime checks each body when a caller first asks for it
 * (struere_bundle_entry); the compiler reads whole bundles it compiled
 * itself, or whose exact bytes this store recorded as verified
 * (compiler/verify.h), and need not read 35 MB of JSON again to compare
 * or reuse them. Not part of the public API: a library user cannot vouch
 * for bytes this way.
 */
#ifndef STRUERE_RT_BUNDLE_TRUST_H
#define STRUERE_RT_BUNDLE_TRUST_H

#include "struere.h"

/* Marks every body of b as checked and valid. NULL is a no-op. */
void rt_bundle_bodies_known_valid(struere_bundle *b);

#endif
