/*
 * arena.h - bump allocator. Each compilation (and each worker thread)
 * allocates from its own arena and frees it whole at the end, so the
 * phases never free individual objects. Out of memory is an error, not an
 * abort: an allocation returns NULL and the arena remembers it (failed),
 * so a phase can stop and its driver report it.
 */
#ifndef STRUERE_ARENA_H
#define STRUERE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_block;
struct arena_cleanup;
struct arena_texts;

struct arena {
    struct arena_block *head;
    size_t total;                   /* bytes handed out, for statistics */
    int failed;                     /* an allocation failed since arena_init */
    struct arena_cleanup *cleanups; /* run by arena_free, newest first */
    struct arena_texts *texts;      /* arena_strndup_shared's, or NULL */
};

void arena_init(struct arena *a);
/* Releases every block; the arena may be reused after arena_init. */
void arena_free(struct arena *a);
/* Has arena_free call fn(arg) before it releases the memory: for what the
 * arena's objects hold outside it. 0, or -1 out of memory (fn not
 * registered; a->failed is set). */
int arena_on_free(struct arena *a, void (*fn)(void *), void *arg);
/* Returns zeroed memory aligned to a pointer (nothing the compiler
 * allocates needs more: no long double), or NULL (and sets
 * a->failed) when the system is out of memory. The string functions below
 * return NULL the same way. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* The same as arena_strndup for a text that is never written to: a short
 * one (a key, an enum value, a type name) equal to one copied recently
 * into this arena, by any file, is not copied again but shared. */
const char *arena_strndup_shared(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* "dir/name" (what arena_printf(a, "%s/%s", ...) gives, without the
 * formatting machinery: it runs once per file). */
char *arena_path(struct arena *a, const char *dir, const char *name);
/* Grows *items (of *cap elements of size elem) to hold at least need.
 * 0, or -1 out of memory (*items and *cap unchanged). */
int arena_grow(struct arena *a, void **items, size_t *cap, size_t need,
               size_t elem);

#endif
