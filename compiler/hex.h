/*
 * hex.h - digests as lowercase hex: the runtime's (runtime/src/rt_hex.h).
 * dev decodes the SHA-256 of definition files tens of thousands of times
 * a run: this decode takes about 50 ns for one, libsodium's constant-time
 * one (which a digest of a public file does not need) 140-220 ns.
 */
#include "../runtime/src/rt_hex.h"
