/*
 * schema.h - the definition schemas (schemas/<kind>.yaml, a JSON-Schema subset
 * described in schemas/README.md), compiled once from their node trees and
 * then used read-only, from every worker thread, to validate definitions.
 */
#ifndef STRUERE_SCHEMA_H
#define STRUERE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct node;
struct diag_list;
struct schema;

struct schema_file {
    const char *name;      /* "agent", "builtin-tools", ... */
    struct node *root;     /* the parsed file */
    struct schema *schema; /* NULL for non-schema files (builtin-tools) */
};

struct schema_set {
    struct schema_file *files;
    size_t nfiles;
    void **patterns; /* compiled regexes, released by schema_set_free */
    size_t npatterns, patterns_cap;
};

/* Parses and compiles the embedded schema files into set (allocated from
 * a). Problems in the schema files themselves go to diags; returns 0 on
 * success, -1 when a schema is unusable. */
int schema_set_load(struct schema_set *set, struct arena *a,
                    struct diag_list *diags);
/* Compiles a data type's `schema` (the field schema records are checked
 * against): objects accept only their declared properties; keywords the
 * validator does not use (references, format) are ignored. */
const struct schema *schema_compile_data(struct arena *a,
                                         const struct node *field_schema,
                                         struct diag_list *diags);
/* Releases what the arena does not own (compiled regexes). */
void schema_set_free(struct schema_set *set);
/* The compiled schema for a file name ("agent"), or NULL. */
const struct schema *schema_set_get(const struct schema_set *set,
                                    const char *name);
/* The parsed file for a name, or NULL. */
const struct node *schema_set_file(const struct schema_set *set,
                                   const char *name);

/* Validates n against s, adding a diagnostic for every violation;
 * what names the document in messages about its root ("agent").
 * Returns the number of errors added. Thread-safe for distinct lists. */
size_t schema_validate(const struct schema *s, const struct node *n,
                       const char *what, struct diag_list *diags);

/* The same, naming `what` in every message ("'title' in the data of
 * record 'x'"), for values nested in a larger document. */
size_t schema_validate_within(const struct schema *s, const struct node *n,
                              const char *what, struct diag_list *diags);

/* The schema of property key of an object schema (following $ref), or
 * NULL. */
const struct schema *schema_property(const struct schema *s, const char *key);
/* The default value of property key, or NULL. */
const struct node *schema_default(const struct schema *s, const char *key);
/* Walking a schema (for emitting definitions with their defaults): the
 * properties of an object schema, an array's item schema, the schema of
 * additional properties, a schema's own default, and for a oneOf the
 * branch whose constants select n (the schema itself when not a oneOf,
 * NULL when no branch does). */
size_t schema_prop_count(const struct schema *s);
const char *schema_prop_name(const struct schema *s, size_t i);
const struct schema *schema_prop_at(const struct schema *s, size_t i);
const struct schema *schema_items(const struct schema *s);
const struct schema *schema_additional(const struct schema *s);
const struct node *schema_own_default(const struct schema *s);
const struct schema *schema_branch(const struct schema *s,
                                   const struct node *n);
/* Whether the schema takes integers and not other numbers: an integral
 * float there (`1e3`) is accepted and emitted as the integer. */
bool schema_wants_integer(const struct schema *s);
/* Whether float f is integral and within the int64 range. */
bool schema_float_is_int64(double f);
/* The description of a schema, or NULL. */
const char *schema_description(const struct schema *s);

#endif
