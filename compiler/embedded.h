/*
 * embedded.h - data files compiled into the struere binary by
 * scripts/embed.sh: the schemas (schemas/<kind>.yaml) and the scaffolding
 * templates of `init` and `add` (compiler/scaffold/); and by
 * scripts/pack_schemas.c, the schemas parsed.
 */
#ifndef STRUERE_EMBEDDED_H
#define STRUERE_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *name; /* file name; ".yaml" dropped for schemas */
    const char *text; /* NUL-terminated */
    size_t len;
};

extern const struct embedded_file embedded_schemas[];
extern const size_t embedded_schemas_count;
/* The schemas' node trees in nodebin.h's form, named and ordered as
 * embedded_schemas (scripts/pack_schemas.c): text is the bytes, len
 * their number. */
extern const struct embedded_file embedded_schema_trees[];
extern const size_t embedded_schema_trees_count;
extern const struct embedded_file embedded_scaffold[];
extern const size_t embedded_scaffold_count;

/* The embedded file with this name in a table, or NULL. */
const struct embedded_file *embedded_find(const struct embedded_file *table,
                                          const char *name);

#endif
