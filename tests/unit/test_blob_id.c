/*
 * test_blob_id.c - the git blob ids the store computes (OpenSSL's SHA-1)
 * against ids git itself gives (`git hash-object`) and against libgit2's
 * collision-detecting SHA-1 at every length around the block and padding
 * boundaries, where the "blob <length>\0" header's own length changes too.
 */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "store.h"

static void test_known_ids(void)
{
    char id[41];
    store_hash_blob("", 0, id); /* printf '' | git hash-object --stdin */
    CHECK(!strcmp(id, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"));
    store_hash_blob("hello\n", 6, id);
    CHECK(!strcmp(id, "ce013625030ba8dba906f756967f9e9ca394464a"));
}

static void test_against_libgit2(void)
{
    size_t max = (size_t)3 << 20;
    unsigned char *buf = malloc(max);
    if (!buf) {
        CHECK(buf != NULL);
        return;
    }
    uint32_t x = 4242;
    for (size_t i = 0; i < max; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    git_libgit2_init();
    static const size_t lens[] = {1000,    4095,    4096,         65536,
                                  1000000, 1 << 20, (3 << 20) - 1};
    size_t n_lens = sizeof(lens) / sizeof(lens[0]), bad = 0;
    for (size_t n = 0; n < 200 + n_lens; n++) {
        size_t len = n < 200 ? n : lens[n - 200];
        char mine[41], theirs[41];
        git_oid oid;
        store_hash_blob(buf + n % 3, len, mine);
        if (git_odb_hash(&oid, buf + n % 3, len, GIT_OBJECT_BLOB) < 0) {
            bad++;
            continue;
        }
        git_oid_tostr(theirs, sizeof(theirs), &oid);
        bad += strcmp(mine, theirs) != 0;
    }
    git_libgit2_shutdown();
    CHECK(bad == 0);
    free(buf);
}

const struct test blob_id_tests[] = {
    {"blob id: the ids git hash-object gives", test_known_ids},
    {"blob id: same id as libgit2 at every length", test_against_libgit2},
    {0, 0},
};
