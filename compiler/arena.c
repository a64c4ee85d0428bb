/*
 * arena.c - bump allocator with geometrically growing blocks, and the
 * sharing of short texts among everything one arena holds.
 */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels say EINVAL */
#endif

/* Objects are taken from a block's start upwards (aligned), text from
 * its end downwards (byte by byte): neither pays for the other's
 * alignment. The block is full where they meet. */
struct arena_block {
    struct arena_block *next;
    size_t used; /* objects: data[0, used), a multiple of sizeof(void *) */
    size_t top;  /* text: data[top, size) */
    size_t size;
    /* Made resident ahead of use (see make_ready): data[0, lo_ready)
     * and data[hi_ready, size), each edge on a page boundary; a small
     * block is left to fault in. */
    size_t lo_ready, hi_ready;
    max_align_t data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *);
    void *arg;
};

enum { MIN_BLOCK = 64 * 1024 };

/* A large block usually comes fresh from mmap, and on this kind of
 * machine (a virtual one) taking its pages one fault at a time costs
 * about twenty times what asking the kernel for many at once does
 * (bench/freshmem/freshmem.c: 4 KiB pages touched 251-259 ms per 100
 * MiB, populated 12 ms). So each end of a block is made resident a
 * window at a time, just before it is reached: at most a window (and a
 * page) beyond what each end uses, two per block (making the whole block
 * resident at once cost `check` 15 MB more at 10,000 definitions; 512
 * KiB windows 0.4 MB more than these, for no time measurably saved). Where
 * the block came from memory already resident (glibc's heap), or the
 * kernel has no MADV_POPULATE_WRITE (before Linux 5.14), this asks for
 * nothing new. With transparent huge pages set to "always" the kernel
 * may make a whole 2 MiB page resident at once, as it would on a fault. */
enum { READY_WINDOW = 128 * 1024 };

static uintptr_t page_size(void)
{
    static uintptr_t size; /* the same value whichever thread sets it */
    uintptr_t n = __atomic_load_n(&size, __ATOMIC_RELAXED);
    if (!n) {
        long s = sysconf(_SC_PAGESIZE);
        n = s > 0 ? (uintptr_t)s : 4096;
        __atomic_store_n(&size, n, __ATOMIC_RELAXED);
    }
    return n;
}

/* Makes data[from, to) of b resident in whole pages: the page holding
 * data[from] from its start (it holds the block's own fields, or a
 * neighbour's, when from is 0: making it resident changes nothing in
 * it), the one holding data[to - 1] to its end, unless that passes the
 * block's end. *from_out and *to_out get the offsets covered, the
 * block's last partial page counted as covered (it faults in). */
static void populate(struct arena_block *b, size_t from, size_t to,
                     size_t *from_out, size_t *to_out)
{
    uintptr_t page = page_size(), d = (uintptr_t)b->data;
    uintptr_t lo = (d + from) & ~(page - 1);
    uintptr_t hi = (d + to + page - 1) & ~(page - 1);
    if (hi > d + b->size) /* past the block: its last partial page stays */
        hi = (d + b->size) & ~(page - 1);
    if (hi > lo) /* a failure only leaves the pages to fault in */
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
    *from_out = lo > d ? lo - d : 0;
    *to_out = hi > d + from ? hi - d : from;
    if (*to_out < to && hi == ((d + b->size) & ~(page - 1)))
        *to_out = to; /* only the unpopulatable tail left: counted done */
}

/* Makes the window past b->used (objects) and below b->top (text)
 * resident, where they are not yet. */
static void make_ready(struct arena_block *b)
{
    size_t lo, hi;
    if (b->used > b->lo_ready && b->lo_ready < b->hi_ready) {
        size_t to = b->used + READY_WINDOW;
        if (to > b->hi_ready)
            to = b->hi_ready;
        populate(b, b->lo_ready, to, &lo, &hi);
        b->lo_ready = hi;
    }
    if (b->top < b->hi_ready && b->lo_ready < b->hi_ready) {
        size_t from = b->top > READY_WINDOW ? b->top - READY_WINDOW : 0;
        if (from < b->lo_ready)
            from = b->lo_ready;
        populate(b, from, b->hi_ready, &lo, &hi);
        b->hi_ready = lo;
    }
    if (b->lo_ready >= b->hi_ready) { /* resident whole: never again */
        b->lo_ready = b->size;
        b->hi_ready = 0;
    }
}

/* The short texts arena_strndup_shared copied last: TEXT_SETS sets of two,
 * the one used last first (a table of 128 KiB, however many files share
 * one arena). A new text takes the place of the set's other one; two
 * texts that alternate in a file (the keys of a list's items) both stay.
 * Longer texts rarely repeat. */
enum { TEXT_SETS = 4096, SHARED_TEXT_MAX = 64 };
struct shared_text {
    const char *s; /* NULL: empty */
    unsigned len, hash;
};
struct arena_texts {
    struct shared_text set[TEXT_SETS][2];
};

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->total = 0;
    a->failed = 0;
    a->cleanups = NULL;
    a->texts = NULL;
}

int arena_on_free(struct arena *a, void (*fn)(void *), void *arg)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    if (!c)
        return -1;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

void arena_free(struct arena *a)
{
    for (struct arena_cleanup *c = a->cleanups; c; c = c->next)
        c->fn(c->arg);
    a->cleanups = NULL;
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->total = 0;
    a->failed = 0;
    free(a->texts);
    a->texts = NULL;
}

/* A new block with room for size bytes at least; NULL out of memory. */
static struct arena_block *new_block(struct arena *a, size_t size)
{
    if (size > SIZE_MAX / 2 - sizeof(struct arena_block)) {
        a->failed = 1;
        return NULL;
    }
    struct arena_block *b = a->head;
    size_t want = b ? b->size * 2 : MIN_BLOCK;
    if (want > 8u * 1024 * 1024)
        want = 8u * 1024 * 1024;
    if (want < size)
        want = (size + 7) & ~(size_t)7;
    /* calloc: fresh blocks are zero (large ones come zeroed from mmap),
     * so allocations need no memset of their own. Not advised to 2 MiB
     * pages: a block is filled from both ends, and each end's aligned
     * 2 MiB page became resident whole (about 2.5 MB more at 10,000
     * definitions, for no time measurably saved). */
    b = calloc(1, sizeof(*b) + want);
    if (!b) {
        a->failed = 1;
        return NULL;
    }
    b->size = b->top = want;
    b->used = 0;
    /* Below two windows: left to fault in, nothing made ready. */
    b->lo_ready = want < 2 * READY_WINDOW ? want : 0;
    b->hi_ready = want < 2 * READY_WINDOW ? 0 : want;
    b->next = a->head;
    a->head = b;
    return b;
}

void *arena_alloc(struct arena *a, size_t size)
{
    /* nothing here needs long double */
    size_t align = sizeof(void *);
    if (size > SIZE_MAX / 2) {
        a->failed = 1;
        return NULL;
    }
    size = size ? (size + align - 1) & ~(align - 1) : align;
    struct arena_block *b = a->head;
    if ((!b || b->top - b->used < size) && !(b = new_block(a, size)))
        return NULL;
    void *p = (char *)b->data + b->used;
    b->used += size;
    if (b->used > b->lo_ready)
        make_ready(b);
    a->total += size;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    /* Text needs no alignment: a string takes its length and a NUL (a
     * project's keys and scalars are a few bytes each). */
    struct arena_block *b = a->head;
    if (n >= SIZE_MAX / 2) {
        a->failed = 1;
        return NULL;
    }
    if ((!b || b->top - b->used < n + 1) && !(b = new_block(a, n + 1)))
        return NULL;
    b->top -= n + 1;
    if (b->top < b->hi_ready)
        make_ready(b);
    char *p = (char *)b->data + b->top;
    a->total += n + 1;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* A word at a time: most texts are one or two words long. */
static unsigned hash_text(const char *s, size_t len)
{
    const uint64_t k = 0x9E3779B97F4A7C15u; /* 2^64 / golden ratio */
    uint64_t h = len * k, w;
    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * k;
    }
    for (w = 0; len; len--) /* a short tail: no call to memcpy */
        w = w << 8 | (unsigned char)*s++;
    h = (h ^ w) * k;
    return (unsigned)(h >> 32);
}

const char *arena_strndup_shared(struct arena *a, const char *s, size_t n)
{
    /* Without room for the table, texts are copied unshared. */
    if (n > SHARED_TEXT_MAX ||
        (!a->texts && !(a->texts = calloc(1, sizeof(*a->texts)))))
        return arena_strndup(a, s, n);
    unsigned h = hash_text(s, n);
    struct shared_text *set = a->texts->set[h % TEXT_SETS];
    for (int i = 0; i < 2; i++)
        if (set[i].s && set[i].hash == h && set[i].len == n &&
            !memcmp(set[i].s, s, n)) {
            struct shared_text hit = set[i];
            set[i] = set[0]; /* the one used last first */
            set[0] = hit;
            return hit.s;
        }
    char *c = arena_strndup(a, s, n);
    if (c) {
        set[1] = set[0];
        set[0] = (struct shared_text){c, (unsigned)n, h};
    }
    return c;
}

char *arena_path(struct arena *a, const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = arena_alloc(a, dl + nl + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *p = n < 0 ? arena_strdup(a, "") : arena_alloc(a, (size_t)n + 1);
    if (p && n >= 0)
        vsnprintf(p, (size_t)n + 1, fmt, again);
    va_end(again);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

int arena_grow(struct arena *a, void **items, size_t *cap, size_t need,
               size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = arena_alloc(a, ncap * elem);
    if (!p)
        return -1;
    if (*items)
        memcpy(p, *items, *cap * elem);
    *items = p;
    *cap = ncap;
    return 0;
}
