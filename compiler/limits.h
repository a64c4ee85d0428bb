/*
 * limits.h - every limit the compiler enforces, in one place.
 *
 * Each limit protects against a real hazard (memory, stack, time) while
 * staying far above what a real project needs. Going past one is reported
 * as an error at the offending place, never a crash. Each has a test at the
 * limit and just past it (tests/limits/).
 */
#ifndef STRUERE_LIMITS_H
#define STRUERE_LIMITS_H

#include "struere.h"

/* Largest definition file read, in bytes. Fixture files are the largest
 * real inputs; 4 MiB holds tens of thousands of records. */
#define LIMIT_FILE_BYTES (4u * 1024u * 1024u)

/* Deepest nesting of YAML collections in one file. libyaml 0.2.5 has no
 * limit of its own; the validator and the overlay merge recurse once per
 * level, so this bounds their stack use. */
#define LIMIT_DEPTH 64

/* Most YAML nodes in one file, counting each alias as the size of the
 * node it repeats, so that an "alias bomb" cannot blow up validation. */
#define LIMIT_NODES 1000000u

/* Longest scalar (string) value, in bytes. A system prompt is the longest
 * legitimate string; 256 KiB is ~60,000 words. */
#define LIMIT_STRING_BYTES (256u * 1024u)

/* Most definitions of one kind in a project. Keeps slug indexes and
 * bundle tables bounded; 20,000 agents or data types is far beyond any
 * team's project. */
#define LIMIT_DEFINITIONS_PER_KIND 20000u

/* Most diagnostics reported in one run; past this the run says how many
 * were left out, so a broken generator cannot flood a CI log. */
#define LIMIT_DIAGNOSTICS 1000u

/* Longest slug (a role's slug derived from its name too), in bytes. A
 * slug names files: the definition (agents/<slug>.fixture.yaml at most
 * adds 13 bytes) and its review rendering in every bundle commit
 * (review/<env>/<kind>/<c>/<slug>.json adds 5), and git, ext4, XFS, APFS
 * and NTFS refuse a path component over 255 bytes; a store with one
 * cannot be checked out. 128 leaves room for any suffix, and is still far
 * longer than a slug anyone reads or types. */
#define LIMIT_SLUG_BYTES 128u

/* Longest custom tool name, in bytes (a tool's name is its slug): model
 * providers refuse function names over 64 characters (DESIGN.md §2). */
#define LIMIT_TOOL_NAME_BYTES 64u

/* Most roles an agent (or a policy test's user) lists: the runtime's own
 * limit on the roles one actor holds (STRUERE_MAX_ACTOR_ROLES: a decision
 * keeps its granting roles in one 64-bit mask). The runtime counts the
 * entries as listed, repeats too, so this does; checking it here keeps a
 * bundle whose agent the runtime refuses from being committed. */
#define LIMIT_ACTOR_ROLES STRUERE_MAX_ACTOR_ROLES

/* Deepest nesting of {{ }} inside one template expression. */
#define LIMIT_TEMPLATE_DEPTH 16

/* Deepest path named in a message (segments); deeper paths are cut. */
#define LIMIT_PATH_SEGMENTS (2 * LIMIT_DEPTH + 2)

#endif
