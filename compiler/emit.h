/*
 * emit.h - a checked definition as its environment receives it: canonical
 * JSON with the overlay merged, `environments` dropped, schema defaults
 * applied, and the compiler's resolutions (role slugs, agents' tools
 * expanded, fixture record ids). Bundles, review renderings and the
 * semantic diff are all made from this one form.
 */
#ifndef STRUERE_EMIT_H
#define STRUERE_EMIT_H

#include <jansson.h>

#include "project.h"

/* The compiled body of d in environment e, as a new JSON object (caller
 * owns the reference). p must have checked clean. */
json_t *emit_definition(const struct project *p, const struct def *d,
                        enum env e);
/* Compact canonical text of a body (sorted keys, no spaces); the caller
 * frees it with free(). */
char *emit_canonical(const json_t *body);
/* Node tree to JSON without schema (free-form values). */
json_t *emit_node(const struct node *n);

#endif
