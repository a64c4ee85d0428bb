/*
 * test_blob_id.c - the git blob ids the store computes: the fast one
 * (OpenSSL's SHA-1, for bundles about to be written) and the
 * collision-detecting one (libgit2's), against ids git itself gives
 * (`git hash-object`) and against each other at every length around the
 * block and padding boundaries, where the "blob <length>\0" header's own
 * length changes too, from unaligned starts.
 */
#include "gitlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "store.h"

/* libgit2 opened (gitlib.h) and started, as the store's entry points do:
 * a failed check, with the reason, when it cannot be. */
bool libgit2_opened(void)
{
    char why[512];
    bool ok = gitlib_load(why, sizeof(why));
    if (!ok)
        fprintf(stderr, "test_blob_id: %s\n", why);
    CHECK(ok);
    if (ok)
        git_libgit2_init();
    return ok;
}

static void test_known_ids(void)
{
    static const struct {
        const char *data, *id;
    } cases[] = {
        /* printf '' | git hash-object --stdin, and so on */
        {"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"},
        {"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"},
    };
    if (!libgit2_opened())
        return;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char fast[41], safe[41];
        size_t len = strlen(cases[i].data);
        /* true: the fast id came from libcrypto, not from the fallback */
        CHECK(store_fast_blob_id(cases[i].data, len, fast));
        store_hash_blob(cases[i].data, len, safe);
        CHECK(!strcmp(fast, cases[i].id));
        CHECK(!strcmp(safe, cases[i].id));
    }
    git_libgit2_shutdown();
}

static void test_fast_against_libgit2(void)
{
    const size_t max = (size_t)3 << 20, slack = 16;
    unsigned char *buf = malloc(max + slack);
    if (!buf) {
        CHECK(buf != NULL);
        return;
    }
    uint32_t x = 4242;
    for (size_t i = 0; i < max + slack; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    if (!libgit2_opened()) {
        free(buf);
        return;
    }
    static const size_t lens[] = {1000,    4095,    4096,   65536,
                                  1000000, 1 << 20, 3 << 20};
    size_t n_lens = sizeof(lens) / sizeof(lens[0]), bad = 0, fast_path = 0;
    for (size_t n = 0; n < 200 + n_lens; n++) {
        size_t len = n < 200 ? n : lens[n - 200];
        const unsigned char *at = buf + n % slack; /* len + at <= max + slack */
        char mine[41], theirs[41];
        fast_path += store_fast_blob_id(at, len, mine);
        store_hash_blob(at, len, theirs);
        bad += !theirs[0] || strcmp(mine, theirs) != 0;
    }
    git_libgit2_shutdown();
    CHECK(bad == 0);
    CHECK(fast_path == 200 + n_lens);
    free(buf);
}

const struct test blob_id_tests[] = {

    {"blob id: the ids git hash-object gives", test_known_ids},
    {"blob id: the fast id is libgit2's at every length",
     test_fast_against_libgit2},
    {0, 0},
};
