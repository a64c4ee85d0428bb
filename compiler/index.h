/*
 * index.h - string -> pointer hash tables (slug -> definition, ref -> record).
 */
#ifndef STRUERE_INDEX_H
#define STRUERE_INDEX_H

#include <stddef.h>

struct arena;
struct def;

struct index {
    const char **keys;
    void **values;
    size_t cap, n;
    struct arena *arena; /* grows from here when half full */
};

struct index *index_new(struct arena *a, size_t expected);
/* Inserts key; returns the definition already there (a duplicate), or
 * NULL when key was new. */
void *index_put(struct index *ix, const char *key, void *value);
void *index_get(const struct index *ix, const char *key);
/* The keys in no particular order: *at starts at 0; returns the next key,
 * or NULL after the last. */
const char *index_next(const struct index *ix, size_t *at);

#endif
