/*
 * semdiff.h - the semantic difference between two bundles: per
 * definition, added, removed or changed, and which fields changed from
 * what to what; with the changes in effective access (access.h) when they
 * are set. Rendered as text, review-ready Markdown, HTML or JSON.
 */
#ifndef STRUERE_SEMDIFF_H
#define STRUERE_SEMDIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "struere.h"

enum semdiff_format { SEMDIFF_TEXT, SEMDIFF_MD, SEMDIFF_HTML, SEMDIFF_JSON };

/* The difference from `from` (NULL: an empty environment) to `to`, as a
 * JSON document {"from", "to", "changes": [...]} (caller owns it). */
json_t *semdiff_bundles(const struere_bundle *from, const struere_bundle *to,
                        const char *from_label, const char *to_label);
/* An empty semdiff document, and adding one definition's change to it
 * (a: the old body or NULL when added; b: the new body or NULL when
 * removed; kind as struere_kind_name gives it). Changes are kept in the
 * order they are added. */
json_t *semdiff_new(const char *from_label, const char *to_label);
void semdiff_add(json_t *doc, const char *kind, const char *slug, json_t *a,
                 json_t *b);
/* Sets the document's "access" (an access_changes list, which the
 * document takes a reference to) and "widens". */
void semdiff_set_access(json_t *doc, json_t *access);
/* Number of changed definitions in a semdiff document. */
size_t semdiff_count(const json_t *diff);
/* Prints a semdiff document; color only applies to text. */
void semdiff_print(FILE *out, const json_t *diff, enum semdiff_format fmt,
                   bool color);
/* Parses "text", "md", "html", "json"; -1 otherwise. */
int semdiff_format_parse(const char *s);

#endif
