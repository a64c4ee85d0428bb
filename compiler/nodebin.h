/*
 * nodebin.h - a node tree as bytes and back. The definition cache keeps
 * parsed definitions in this form, and the build compiles the schemas
 * into the struere binary in it (scripts/pack_schemas.c), so that no run
 * parses their YAML.
 *
 *   node: u8 type | uv line | uv col, then
 *         scalar: str (its text; a number's value is read from it)
 *                 | bool: 1 byte
 *         map: uv pairs | 2 x pairs nodes (key, value, ...)
 *         seq: uv items | items nodes
 *   uv and str as in binio.h.
 */
#ifndef STRUERE_NODEBIN_H
#define STRUERE_NODEBIN_H

#include <stdbool.h>
#include <stddef.h>

#include "binio.h"

struct arena;
struct node;
struct source;

/* Appends the tree under n. */
void nodebin_put(rt_buf *o, const struct node *n);

/* Reads a tree from r into n (a child's place in an array, or a root):
 * children arrays from a, scalars pointing at their text in the bytes
 * themselves (which must outlive the tree), positions in src. At most
 * *budget nodes (counted down) and LIMIT_DEPTH levels. False when the
 * bytes are not a tree (r->bad then says so too); what was allocated
 * stays in a. */
bool nodebin_get(struct bin_in *r, struct arena *a, const struct source *src,
                 size_t *budget, struct node *n);

#endif
