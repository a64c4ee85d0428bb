/*
 * index.c - open addressing with linear probing, FNV-1a hashing.
 */
#include "index.h"

#include <stdint.h>
#include <string.h>

#include "arena.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct index *index_new(struct arena *a, size_t expected)
{
    struct index *ix = arena_alloc(a, sizeof(*ix));
    if (!ix)
        return NULL;
    size_t cap = 16;
    while (cap < expected * 2 + 1)
        cap *= 2;
    ix->cap = cap;
    ix->arena = a;
    ix->keys = arena_alloc(a, cap * sizeof(*ix->keys));
    ix->values = arena_alloc(a, cap * sizeof(*ix->values));
    return ix->keys && ix->values ? ix : NULL;
}

/* Doubles the table; -1 out of memory (the table unchanged). */
static int grow(struct index *ix)
{
    size_t old_cap = ix->cap;
    const char **keys = ix->keys;
    void **values = ix->values;
    const char **nkeys = arena_alloc(ix->arena, 2 * old_cap * sizeof(*nkeys));
    void **nvalues = arena_alloc(ix->arena, 2 * old_cap * sizeof(*nvalues));
    if (!nkeys || !nvalues)
        return -1;
    ix->cap *= 2;
    ix->keys = nkeys;
    ix->values = nvalues;
    for (size_t i = 0; i < old_cap; i++) {
        if (!keys[i])
            continue;
        size_t j = hash(keys[i]) & (ix->cap - 1);
        while (ix->keys[j])
            j = (j + 1) & (ix->cap - 1);
        ix->keys[j] = keys[i];
        ix->values[j] = values[i];
    }
    return 0;
}

void *index_put(struct index *ix, const char *key, void *d)
{
    /* Out of memory (no table, or it cannot grow) the key is not added:
     * the arena remembers the failure for the driver. */
    if (!ix || !key || (2 * (ix->n + 1) > ix->cap && grow(ix) < 0))
        return NULL;
    size_t i = hash(key) & (ix->cap - 1);
    while (ix->keys[i]) {
        if (!strcmp(ix->keys[i], key))
            return ix->values[i];
        i = (i + 1) & (ix->cap - 1);
    }
    ix->keys[i] = key;
    ix->values[i] = d;
    ix->n++;
    return NULL;
}

void *index_get(const struct index *ix, const char *key)
{
    if (!ix || !key)
        return NULL;
    size_t i = hash(key) & (ix->cap - 1);
    while (ix->keys[i]) {
        if (!strcmp(ix->keys[i], key))
            return ix->values[i];
        i = (i + 1) & (ix->cap - 1);
    }
    return NULL;
}

const char *index_next(const struct index *ix, size_t *at)
{
    for (; ix && *at < ix->cap; (*at)++)
        if (ix->keys[*at])
            return ix->keys[(*at)++];
    return NULL;
}
