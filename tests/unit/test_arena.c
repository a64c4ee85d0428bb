/*
 * test_arena.c - the arena's promises: memory handed out is zero and
 * never shared between two allocations, objects and texts alike; a large
 * block is made resident a window ahead of use at each end, and never
 * much further (arena.c, make_ready): mincore says which pages are.
 */
#include <malloc.h>
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

static void test_ready_ahead_of_use(void)
{
    /* Large blocks from mmap, as in a fresh process (the threshold
     * glibc would otherwise raise after earlier tests' frees), and 4 KiB
     * pages only, so that residency is exact where the kernel would
     * otherwise give 2 MiB pages to any large mapping. */
    mallopt(M_MMAP_THRESHOLD, 128 * KIB);
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    struct arena a;
    arena_init(&a);
    unsigned char *p = first_of_large_block(&a);
    CHECK(p != NULL);
    if (!p) {
        arena_free(&a);
        prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
        return;
    }
    /* 64 KiB of the 8 MiB block used, and nothing of it touched here:
     * the next pages are resident already, the far ones not. */
    CHECK(resident(p + 100 * KIB));
    CHECK(resident(p + 400 * KIB));
    CHECK(!resident(p + 6 * MIB));
    /* Text is taken from the block's end: the pages below the end are
     * ready before the first text is copied, a window deep. */
    char *t = arena_strndup(&a, "z", 1);
    CHECK(t != NULL && (unsigned char *)t > p + 7 * MIB);
    if (t) {
        CHECK(resident(t - 300 * KIB));
        CHECK(!resident(t - 3 * MIB));
    }
    /* Objects reach 3 MiB into the block: ready past them, not to 6. */
    for (int i = 0; i < 47; i++)
        CHECK(arena_alloc(&a, 64 * KIB) != NULL);
    CHECK(resident(p + 3 * MIB + 200 * KIB));
    CHECK(!resident(p + 6 * MIB));
    CHECK(all_zero(p + 3 * MIB - 64 * KIB, 64 * KIB));
    arena_free(&a);
    prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
}

const struct test arena_tests[] = {
    {"arena: memory zero and never shared", test_zero_and_disjoint},
    {"arena: large blocks ready a window ahead", test_ready_ahead_of_use},
    {0, 0},
};
