/*
 * test_sha256.c - the bundles' SHA-256 (hardware when the CPU has the SHA
 * extensions) against the FIPS 180-4 examples and against libsodium for
 * every length around the block and padding boundaries.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sha256.h"

static void hex(const unsigned char *h, char *out)
{
    sodium_bin2hex(out, 65, h, 32);
}

static void test_known_vectors(void)
{
    unsigned char h[32];
    char x[65];
    rt_sha256("abc", 3, h);
    hex(h, x);
    CHECK(!strcmp(
        x, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    rt_sha256("", 0, h);
    hex(h, x);
    CHECK(!strcmp(
        x, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    const char *two =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    rt_sha256(two, strlen(two), h);
    hex(h, x);
    CHECK(!strcmp(
        x, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

static void test_against_libsodium(void)
{
    /* every length to 300 (one to five blocks, each padding case), then
     * larger ones, over pseudo-random bytes */
    size_t max = 1 << 20;
    unsigned char *buf = malloc(max);
    if (!buf) {
        CHECK(buf != NULL);
        return;
    }
    uint32_t x = 12345;
    for (size_t i = 0; i < max; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    size_t lens[] = {1000, 4095, 4096, 65535, 65536, 99999, 1 << 20};
    int bad = 0;
    for (size_t n = 0; n < 300 + sizeof(lens) / sizeof(lens[0]); n++) {
        size_t len = n < 300 ? n : lens[n - 300];
        for (size_t off = 0; off < 3; off++) { /* unaligned starts too */
            if (len + off > max)
                continue;
            unsigned char a[32], b[32];
            rt_sha256(buf + off, len, a);
            rt_sha256_portable(buf + off, len, b);
            bad += memcmp(a, b, 32) != 0;
        }
    }
    CHECK(bad == 0);
    free(buf);
}

const struct test sha256_tests[] = {
    {"sha256: FIPS 180-4 examples", test_known_vectors},
    {"sha256: same digest as libsodium at every length",
     test_against_libsodium},
    {0, 0},
};
