/*
 * test_sha1.c - the runtime's SHA-1 (runtime/src/sha1.c), with which its
 * git reader checks every object it reads: the FIPS 180 examples, and
 * object ids equal to libgit2's at every length around the block and
 * padding boundaries. Run last (unit_main.c): libgit2 started and stopped
 * once more leaves glibc's heap so that test_arena's residency probe
 * cannot tell (it skips).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/rt_hex.h"
#include "../../runtime/src/sha1.h"
#include "gitlib.h"
#include "harness.h"
#include "store.h"

/* The runtime's SHA-1 (sha1.c, for the objects its reader reads) on the
 * FIPS 180 examples, whole and fed in pieces at every split. */
static void test_sha1_vectors(void)
{
    static const struct {
        const char *data, *digest;
    } cases[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].data);
        for (size_t split = 0; split <= len; split++) {
            struct rt_sha1 s;
            unsigned char d[20];
            char hex[41];
            rt_sha1_init(&s);
            rt_sha1_update(&s, cases[i].data, split);
            rt_sha1_update(&s, cases[i].data + split, len - split);
            rt_sha1_final(&s, d);
            rt_hex_encode(d, 20, hex);
            CHECK(!strcmp(hex, cases[i].digest));
        }
    }
    /* a million 'a's, fed 1,000 at a time */
    char a[1000];
    memset(a, 'a', sizeof(a));
    struct rt_sha1 s;
    unsigned char d[20];
    char hex[41];
    rt_sha1_init(&s);
    for (int i = 0; i < 1000; i++)
        rt_sha1_update(&s, a, sizeof(a));
    rt_sha1_final(&s, d);
    rt_hex_encode(d, 20, hex);
    CHECK(!strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
}

/* The runtime's object ids (libcrypto's SHA-1, and its own when libcrypto
 * is not used) are libgit2's at every length around the block and
 * padding boundaries. */
static void test_runtime_ids_against_libgit2(void)
{
    const size_t max = 70000;
    unsigned char *buf = malloc(max);
    if (!buf || !libgit2_opened()) {
        CHECK(buf != NULL);
        free(buf);
        return;
    }
    uint32_t x = 77;
    for (size_t i = 0; i < max; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    size_t bad = 0;
    for (size_t n = 0; n < 240; n++) {
        size_t len = n < 200 ? n : 65536 + (n - 200) * 97;
        char theirs[41], mine[41], portable[41];
        unsigned char d[20];
        store_hash_blob(buf, len, theirs);
        rt_sha1_object("blob", buf, len, d);
        rt_hex_encode(d, 20, mine);
        struct rt_sha1 s;
        char head[32];
        int h = snprintf(head, sizeof(head), "blob %zu", len) + 1;
        rt_sha1_init(&s);
        rt_sha1_update(&s, head, (size_t)h);
        rt_sha1_update(&s, buf, len);
        rt_sha1_final(&s, d);
        rt_hex_encode(d, 20, portable);
        bad += strcmp(mine, theirs) != 0 || strcmp(portable, theirs) != 0;
    }
    git_libgit2_shutdown();
    CHECK(bad == 0);
    free(buf);
}

const struct test sha1_tests[] = {
    {"sha1: the FIPS 180 examples", test_sha1_vectors},
    {"sha1: the runtime's object ids are libgit2's at every length",
     test_runtime_ids_against_libgit2},
    {0, 0},
};
