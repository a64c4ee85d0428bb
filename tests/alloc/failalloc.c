/*
 * failalloc.c - fails the Nth allocation, the way SQLite tests itself.
 * Linked only into test programs, with -Wl,--wrap for malloc, calloc,
 * realloc, aligned_alloc, strdup and strndup, so every such call in struere's
 * own code (the compiler's and the runtime's static libraries, main) comes
 * here; the shared dependencies (libyaml, cmark, jansson, libgit2, zlib,
 * libsodium) allocate as usual.
 *
 * A whole program reads STRUERE_FAILALLOC=N at start (the Nth allocation
 * fails) and, with STRUERE_FAILALLOC_REPORT set, prints at exit
 * "failalloc: COUNT allocations, failed: 0|1" on stderr.
 */
#include "failalloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_long counted;
static atomic_long fail_at;
static atomic_int failed;

void failalloc_set(long n)
{
    atomic_store(&fail_at, 0);
    atomic_store(&counted, 0);
    atomic_store(&failed, 0);
    atomic_store(&fail_at, n);
}

long failalloc_count(void)
{
    return atomic_load(&counted);
}

int failalloc_failed(void)
{
    return atomic_load(&failed);
}

int failalloc_next(void)
{
    long n = atomic_fetch_add(&counted, 1) + 1;
    if (n != atomic_load(&fail_at))
        return 0;
    atomic_store(&failed, 1);
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t size)
{
    return failalloc_next() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return failalloc_next() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return failalloc_next() ? NULL : __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    return failalloc_next() ? NULL : __real_aligned_alloc(align, size);
}

char *__wrap_strdup(const char *s)
{
    return failalloc_next() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return failalloc_next() ? NULL : __real_strndup(s, n);
}

__attribute__((constructor)) static void failalloc_from_env(void)
{
    const char *n = getenv("STRUERE_FAILALLOC");
    failalloc_set(n ? atol(n) : 0);
}

__attribute__((destructor)) static void failalloc_report(void)
{
    if (getenv("STRUERE_FAILALLOC_REPORT"))
        fprintf(stderr, "failalloc: %ld allocations, failed: %d\n",
                failalloc_count(), failalloc_failed());
}
