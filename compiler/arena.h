/*
 * arena.h - bump allocator. Each compilation (and each worker thread)
 * allocates from its own arena and frees it whole at the end, so the
 * phases never free individual objects.
 */
#ifndef STRUERE_ARENA_H
#define STRUERE_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;
    size_t total; /* bytes handed out, for statistics */
};

void arena_init(struct arena *a);
/* Releases every block; the arena may be reused after arena_init. */
void arena_free(struct arena *a);
/* Returns zeroed memory aligned for any type; aborts only when the
 * system is out of memory (there is no recovery from that in a CLI). */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "dir/name" (what arena_printf(a, "%s/%s", ...) gives, without the
 * formatting machinery: it runs once per file). */
char *arena_path(struct arena *a, const char *dir, const char *name);
/* Grows *items (of *cap elements of size elem) to hold at least need. */
void arena_grow(struct arena *a, void **items, size_t *cap, size_t need,
                size_t elem);

#endif
