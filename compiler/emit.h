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

/* What emitting an environment needs beyond the project: its custom
 * tools and the built-in tools, indexed by name, as the JSON that agents'
 * `tools` expand to. Made once per environment, when the first agent is
 * emitted; definitions can be emitted from several threads. */
struct emit_env;
struct emit_env *emit_env_new(const struct project *p, enum env e);
void emit_env_free(struct emit_env *x);
/* Whether memory ran out in x's own tables (what was emitted through it
 * may then lack a tool's summary: the caller fails instead). */
bool emit_env_failed(const struct emit_env *x);

/* The compiled body of d in x's environment, as a new JSON object (caller
 * owns the reference). The project must have checked clean. */
json_t *emit_definition(const struct emit_env *x, const struct def *d);
/* Compact canonical text of a body (sorted keys, no spaces); the caller
 * frees it with free(). */
char *emit_canonical(const json_t *body);
/* Node tree to JSON without schema (free-form values). */
json_t *emit_node(const struct node *n);

#endif
