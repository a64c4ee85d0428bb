/*
 * failalloc_arena.c - makes each call of the compiler's arena (arena.h)
 * from another module an allocation failalloc.c counts and can fail, as a
 * malloc is: an arena takes memory from the system in large blocks, so
 * without this only the calls that start a block could fail. A failed
 * call does what arena.c does out of memory (NULL, a->failed set).
 * Linked into struere-failalloc with -Wl,--wrap for each function.
 */
#include <stdarg.h>
#include <stdio.h>

#include "arena.h"
#include "failalloc.h"

void *__real_arena_alloc(struct arena *a, size_t size);
char *__real_arena_strndup(struct arena *a, const char *s, size_t n);
char *__real_arena_strdup(struct arena *a, const char *s);
const char *__real_arena_strndup_shared(struct arena *a, const char *s,
                                        size_t n);
char *__real_arena_path(struct arena *a, const char *dir, const char *name);
int __real_arena_grow(struct arena *a, void **items, size_t *cap, size_t need,
                      size_t elem);
char *__real_arena_vprintf(struct arena *a, const char *fmt, va_list ap);

/* The __wrap_ functions are declared by nothing but the linker's --wrap. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

/* Whether this call fails (counted as one allocation). */
static int fails(struct arena *a)
{
    if (!failalloc_next())
        return 0;
    a->failed = 1;
    return 1;
}

void *__wrap_arena_alloc(struct arena *a, size_t size)
{
    return fails(a) ? NULL : __real_arena_alloc(a, size);
}

char *__wrap_arena_strndup(struct arena *a, const char *s, size_t n)
{
    return fails(a) ? NULL : __real_arena_strndup(a, s, n);
}

const char *__wrap_arena_strndup_shared(struct arena *a, const char *s,
                                        size_t n)
{
    return fails(a) ? NULL : __real_arena_strndup_shared(a, s, n);
}

char *__wrap_arena_strdup(struct arena *a, const char *s)
{
    return fails(a) ? NULL : __real_arena_strdup(a, s);
}

char *__wrap_arena_path(struct arena *a, const char *dir, const char *name)
{
    return fails(a) ? NULL : __real_arena_path(a, dir, name);
}

int __wrap_arena_grow(struct arena *a, void **items, size_t *cap, size_t need,
                      size_t elem)
{
    if (need <= *cap)
        return 0;
    return fails(a) ? -1 : __real_arena_grow(a, items, cap, need, elem);
}

__attribute__((format(printf, 2, 0))) char *
__wrap_arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    return fails(a) ? NULL : __real_arena_vprintf(a, fmt, ap);
}

/* arena_printf is arena_vprintf's caller: wrapped, it goes through the
 * wrapped arena_vprintf, counted once. */
__attribute__((format(printf, 2, 3))) char *
__wrap_arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = __wrap_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}
