/*
 * yaml_load.h - the YAML adapter: the only module that includes <yaml.h>.
 * Turns a YAML document into a node tree with 1-based positions, resolving
 * plain scalars by the YAML 1.2 core schema, and reports syntax errors,
 * duplicate keys and the limits of limits.h as diagnostics.
 */
#ifndef STRUERE_YAML_LOAD_H
#define STRUERE_YAML_LOAD_H

#include <stddef.h>

struct arena;
struct source;
struct node;
struct diag_list;

/* Parses len bytes of src->text starting at offset; first_line is the
 * 1-based file line where that region starts. Returns the document's root,
 * or NULL after reporting why (empty documents return NULL and report
 * nothing: the caller decides whether emptiness is an error). *failed is
 * set when an error was reported. */
struct node *yaml_load(struct arena *a, const struct source *src, size_t offset,
                       size_t len, int first_line, struct diag_list *diags,
                       int *failed);

#endif
