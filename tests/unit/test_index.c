/*
 * test_index.c - the string -> pointer tables (compiler/index.c): every
 * key put is found with its value through growth from the smallest table,
 * keys never put are not found (also keys that share a prefix, a length
 * or all but one byte with one put, and the empty key), a second put of
 * a key keeps and returns the first value, and index_next lists each key
 * once. Then suggest_best: of candidates as close, the same answer in
 * whatever order they are offered (kinds.c offers an index's keys in the
 * order of its slots).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "arena.h"
#include "index.h"
#include "suggest.h"

enum { KEYS = 20000 };

/* Keys of lengths 1 to 45, distinct by construction: the number, written
 * after a padding of i % 41 letters that no number contains. */
static void key_of(char *buf, size_t size, int i)
{
    int pad = i % 41;
    memset(buf, 'k', (size_t)pad);
    snprintf(buf + pad, size - (size_t)pad, "%d", i);
}

static void test_put_get_grow(void)
{
    struct arena a;
    arena_init(&a);
    static char keys[KEYS][64];
    static int values[KEYS];
    struct index *ix = index_new(&a, 0); /* grows from 16 slots */
    CHECK(ix != NULL);
    int put_new = 0;
    for (int i = 0; i < KEYS; i++) {
        key_of(keys[i], sizeof(keys[i]), i);
        values[i] = i;
        put_new += index_put(ix, keys[i], &values[i]) == NULL;
    }
    CHECK(put_new == KEYS);
    CHECK(ix->n == KEYS);
    CHECK(ix->cap >= 2 * (size_t)KEYS);
    int found = 0;
    for (int i = 0; i < KEYS; i++) {
        char copy[64]; /* looked up by its bytes, not its address */
        memcpy(copy, keys[i], sizeof(copy));
        found += index_get(ix, copy) == &values[i];
    }
    CHECK(found == KEYS);
    /* near misses: one byte changed, one more, one fewer, empty */
    int missed = 0;
    for (int i = 0; i < KEYS; i++) {
        char k[72];
        size_t n = strlen(keys[i]);
        memcpy(k, keys[i], n + 1);
        k[n - 1] = 'x';
        missed += index_get(ix, k) == NULL;
        memcpy(k, keys[i], n);
        k[n] = '0';
        k[n + 1] = '\0';
        /* may be another key put (key 41 is "41", and "410" is key
         * 410): then with its own value, never i's */
        missed += index_get(ix, k) != &values[i];
        memcpy(k, keys[i], n - 1);
        k[n - 1] = '\0';
        missed += index_get(ix, k) != &values[i];
    }
    CHECK(missed == 3 * KEYS);
    CHECK(index_get(ix, "") == NULL);
    CHECK(index_get(ix, NULL) == NULL);
    CHECK(index_get(NULL, "k") == NULL);
    /* a second put of a key: the first value stays and is returned */
    int other = -1;
    char again[64];
    memcpy(again, keys[123], sizeof(again));
    CHECK(index_put(ix, again, &other) == &values[123]);
    CHECK(index_get(ix, keys[123]) == &values[123]);
    CHECK(ix->n == KEYS);
    /* the empty key is a key like any other */
    CHECK(index_put(ix, "", &other) == NULL);
    CHECK(index_get(ix, "") == &other);
    /* index_next: every key once */
    static unsigned char seen[KEYS];
    memset(seen, 0, sizeof(seen));
    size_t at = 0, listed = 0;
    int unknown = 0, empty = 0;
    const char *k;
    while ((k = index_next(ix, &at))) {
        listed++;
        if (!*k) {
            empty++;
            continue;
        }
        int *v = index_get(ix, k);
        if (!v || v < values || v >= values + KEYS || strcmp(keys[*v], k))
            unknown++;
        else
            seen[*v]++;
    }
    int once = 0;
    for (int i = 0; i < KEYS; i++)
        once += seen[i] == 1;
    CHECK(listed == (size_t)KEYS + 1 && unknown == 0 && empty == 1 &&
          once == KEYS);
    CHECK(!a.failed);
    arena_free(&a);
}

/* Keys that differ only past their first 8 bytes, only in their last
 * byte, only in case, or only in length. */
static void test_close_keys(void)
{
    struct arena a;
    arena_init(&a);
    struct index *ix = index_new(&a, 4);
    static const char *const keys[] = {"agents/a.md",
                                       "agents/b.md",
                                       "agents/a.mdx",
                                       "agents/a.m",
                                       "agents/aaaaaaaa",
                                       "agents/aaaaaaab",
                                       "agents/aaaaaaaaa",
                                       "tools/x",
                                       "tools/x ",
                                       "Tools/x",
                                       "a",
                                       "b",
                                       "ab",
                                       "ba"};
    enum { N = sizeof(keys) / sizeof(*keys) };
    static int values[N];
    for (int i = 0; i < N; i++)
        CHECK(index_put(ix, keys[i], &values[i]) == NULL);
    for (int i = 0; i < N; i++)
        CHECK(index_get(ix, keys[i]) == &values[i]);
    CHECK(index_get(ix, "agents/a.md ") == NULL);
    CHECK(index_get(ix, "agents/aaaaaaac") == NULL);
    CHECK(index_get(ix, "tools/") == NULL);
    CHECK(ix->n == N);
    CHECK(!a.failed);
    arena_free(&a);
}

/* The best of n candidates offered in order (or reversed); "" for none. */
static const char *best_of(const char *word, const char *const *c, int n,
                           bool reversed)
{
    struct suggest s;
    suggest_init(&s, word);
    for (int i = 0; i < n; i++)
        suggest_offer(&s, c[reversed ? n - 1 - i : i]);
    return suggest_best(&s) ? suggest_best(&s) : "";
}

static void test_suggest_ties(void)
{
    /* "cat" is one edit from each of "bat", "cut", "cats" and "at" */
    static const char *const c[] = {"cut", "cats", "bat", "at", "dog"};
    CHECK(!strcmp(best_of("cat", c, 5, false), "at"));
    CHECK(!strcmp(best_of("cat", c, 5, true), "at"));
    /* a closer one wins whatever its bytes */
    static const char *const d[] = {"zebra", "zebras", "aebrax"};
    CHECK(!strcmp(best_of("zebra", d, 3, true), "zebra"));
    CHECK(!strcmp(best_of("zebra", d, 3, false), "zebra"));
    /* none close enough */
    CHECK(!strcmp(best_of("cat", d, 3, false), ""));
}

const struct test index_tests[] = {
    {"index: 20,000 keys put, found, near misses not, first value kept, "
     "each listed once",
     test_put_get_grow},
    {"index: keys alike but for a byte or a length", test_close_keys},
    {"suggest: of candidates as close, the same in any order",
     test_suggest_ties},
    {0, 0},
};
