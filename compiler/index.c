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
    size_t cap = 16;
    while (cap < expected * 2 + 1)
        cap *= 2;
    ix->cap = cap;
    ix->arena = a;
    ix->keys = arena_alloc(a, cap * sizeof(*ix->keys));
    ix->values = arena_alloc(a, cap * sizeof(*ix->values));
    return ix;
}

static void grow(struct index *ix)
{
    size_t old_cap = ix->cap;
    const char **keys = ix->keys;
    void **values = ix->values;
    ix->cap *= 2;
    ix->keys = arena_alloc(ix->arena, ix->cap * sizeof(*ix->keys));
    ix->values = arena_alloc(ix->arena, ix->cap * sizeof(*ix->values));
    for (size_t i = 0; i < old_cap; i++) {
        if (!keys[i])
            continue;
        size_t j = hash(keys[i]) & (ix->cap - 1);
        while (ix->keys[j])
            j = (j + 1) & (ix->cap - 1);
        ix->keys[j] = keys[i];
        ix->values[j] = values[i];
    }
}

void *index_put(struct index *ix, const char *key, void *d)
{
    if (2 * (ix->n + 1) > ix->cap)
        grow(ix);
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
