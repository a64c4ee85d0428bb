/*
 * test_arena.c - the arena's promises: memory handed out is zero and
 * never shared between two allocations, objects and texts alike; a large
 * block is made resident a window ahead of use at each end, and never
 * much further (arena.c, make_ready): mincore says which pages are.
 */
#include <malloc.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "arena.h"
#include "harness.h"

enum { KIB = 1024, MIB = 1024 * 1024 };

/* Whether the page holding p is resident; never touches it. */
static bool resident(const void *p)
{
    uintptr_t page = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    unsigned char v = 0;
    if (mincore((void *)page, 1, &v) != 0)
        return false;
    return v & 1;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Objects and texts taken in turn, of many sizes, through several blocks:
 * each is zero (objects) or holds exactly what was copied (texts), and
 * writing every byte of each does not change any other. */
static void test_zero_and_disjoint(void)
{
    struct arena a;
    arena_init(&a);
    enum { N = 3000 };
    static unsigned char *obj[N];
    static char *txt[N];
    static size_t olen[N], tlen[N];
    static char text[9000];
    memset(text, 'x', sizeof(text) - 1);
    bool zero = true, same = true, kept = true;
    for (size_t i = 0; i < N; i++) {
        olen[i] = 1 + (i * 7919) % 6000;
        tlen[i] = (i * 104729) % 8000;
        obj[i] = arena_alloc(&a, olen[i]);
        txt[i] = arena_strndup(&a, text, tlen[i]);
        if (!obj[i] || !txt[i])
            break;
        zero = zero && all_zero(obj[i], olen[i]);
        same = same && strlen(txt[i]) == tlen[i];
        memset(obj[i], (int)(i & 0x7f) + 1, olen[i]);
        memset(txt[i], (int)(i & 0x7f) + 1, tlen[i]);
    }
    CHECK(!a.failed);
    CHECK(zero);
    CHECK(same);
    for (size_t i = 0; i < N && obj[i] && txt[i]; i++) {
        unsigned char want = (unsigned char)((i & 0x7f) + 1);
        for (size_t j = 0; j < olen[i]; j++)
            kept = kept && obj[i][j] == want;
        for (size_t j = 0; j < tlen[i]; j++)
            kept = kept && (unsigned char)txt[i][j] == want;
        kept = kept && txt[i][tlen[i]] == '\0';
    }
    CHECK(kept);
    arena_free(&a);
}

/* The first allocation of the arena's first 8 MiB block: blocks double
 * from 64 KiB, so 64 KiB objects reach it after 8,128 KiB; the object
 * that does not follow the previous one opens a block. */
static unsigned char *first_of_large_block(struct arena *a)
{
    unsigned char *prev = NULL;
    size_t total = 0;
    for (int i = 0; i < 200; i++) {
        unsigned char *p = arena_alloc(a, 64 * KIB);
        if (!p)
            return NULL;
        if (prev && p != prev + 64 * KIB && total >= 4 * MIB)
            return p;
        prev = p;
        total += 64 * KIB;
    }
    return NULL;
}

/* Why residency cannot be told apart here, or NULL: an allocator that
 * writes its zeros (valgrind, MALLOC_PERTURB_) makes every page resident,
 * and a kernel without MADV_POPULATE_WRITE makes none ready. */
static const char *residency_unknowable(void)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *probe = calloc(1, 4 * MIB);
    bool written = probe && resident(probe + 2 * MIB);
    free(probe);
    if (written)
        return "arena residency: calloc writes its zeros here (valgrind or "
               "MALLOC_PERTURB_), every page is resident";
    void *m = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool populates = m != MAP_FAILED &&
                     madvise(m, (size_t)page, 23 /* POPULATE_WRITE */) == 0;
    if (m != MAP_FAILED)
        munmap(m, (size_t)page);
    return populates ? NULL
                     : "arena residency: the kernel has no "
                       "MADV_POPULATE_WRITE (Linux 5.14)";
}

enum { WINDOW = 128 * KIB }; /* arena.c's READY_WINDOW */

static void test_ready_ahead_of_use(void)
{
    long page = sysconf(_SC_PAGESIZE);
    /* Large blocks from mmap, as in a fresh process: the threshold
     * glibc would otherwise raise after earlier tests' frees set back,
     * and the free top of the heap, which would serve them (zeroing it
     * by hand), given back. Small pages only, so that residency is
     * exact where the kernel would otherwise give 2 MiB pages to any
     * large mapping. */
    mallopt(M_MMAP_THRESHOLD, 128 * KIB);
    malloc_trim(0);
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    const char *why = residency_unknowable();
    struct arena a;
    arena_init(&a);
    unsigned char *p = why ? NULL : first_of_large_block(&a);
    if (why)
        harness_skip(why);
    else
        CHECK(p != NULL);
    if (p) {
        /* 64 KiB of the 8 MiB block used, and nothing of it touched
         * here: the next window is resident already, the rest not. */
        CHECK(resident(p + 64 * KIB + WINDOW / 2));
        CHECK(resident(p + 64 * KIB + WINDOW - 1));
        CHECK(!resident(p + 64 * KIB + WINDOW + 2 * page));
        CHECK(!resident(p + 6 * MIB));
        /* Text is taken from the block's end: the window below the end
         * is ready before the first text is copied, and no more. */
        char *t = arena_strndup(&a, "z", 1);
        CHECK(t != NULL && (unsigned char *)t > p + 7 * MIB);
        if (t) {
            CHECK(resident(t - WINDOW / 2));
            CHECK(resident(t - WINDOW + 2 * page));
            CHECK(!resident(t - WINDOW - 2 * page));
        }
        /* Objects reach 3 MiB into the block, made ready a window at a
         * time as they pass the last: resident without being touched
         * here, and nothing a window past them. */
        for (int i = 0; i < 47; i++)
            CHECK(arena_alloc(&a, 64 * KIB) != NULL);
        CHECK(resident(p + 2 * MIB));
        CHECK(resident(p + 3 * MIB - 64 * KIB - 1));
        CHECK(!resident(p + 3 * MIB + WINDOW + 2 * page));
        CHECK(all_zero(p + 3 * MIB - 64 * KIB, 64 * KIB));
        /* The two ends meet: texts until one no longer fits in the
         * block (the objects' 3 MiB and the texts' about 5), each
         * intact, the objects below them still zero. */
        size_t taken = 0;
        bool intact = true;
        static char big[60 * 1024];
        memset(big, 'y', sizeof(big));
        for (;;) {
            char *s = arena_strndup(&a, big, sizeof(big));
            if (!s || (unsigned char *)s < p ||
                (unsigned char *)s >= p + 8 * MIB)
                break;
            intact = intact && !memcmp(s, big, sizeof(big)) && !s[sizeof(big)];
            taken += sizeof(big) + 1;
        }
        CHECK(taken > 5 * MIB - 128 * KIB && taken <= 5 * MIB);
        CHECK(intact);
        CHECK(all_zero(p + 64 * KIB, 3 * MIB - 128 * KIB));
        CHECK(!a.failed);
    }
    arena_free(&a);
    prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
}

const struct test arena_tests[] = {
    {"arena: memory zero and never shared", test_zero_and_disjoint},
    {"arena: large blocks ready a window ahead", test_ready_ahead_of_use},
    {0, 0},
};
