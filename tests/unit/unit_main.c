/*
 * unit_main.c - runs every unit test table, names each test that records a
 * CHECK failure, and counts the CHECKs (assertions), not the tests.
 */
#include <stdio.h>

#include "harness.h"

int harness_failures, harness_checks;

static const char *skipped[16];
static int nskipped;

void harness_skip(const char *why)
{
    if (nskipped < 16)
        skipped[nskipped++] = why;
}

int main(void)
{
    const struct test *tables[] = {
        text_tests,       yaml_tests,    schema_tests,        sha256_tests,
        crc_tests,        project_tests, loose_deflate_tests, blob_id_tests,
        cache_file_tests, arena_tests,   pool_tests,          sha1_tests,
        index_tests,      handler_tests, body_tests,          json_tree_tests};
    int tests = 0, failing = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const struct test *c = tables[t]; c->name; c++) {
            int before = harness_failures;
            c->fn();
            tests++;
            if (harness_failures != before) {
                failing++;
                printf("FAIL %s\n", c->name);
            }
        }
    }
    for (int i = 0; i < nskipped; i++)
        printf("1 skipped: %s\n", skipped[i]);
    printf("unit: %d tests, %d failing\n", tests, failing);
    printf("unit: %d passed, %d failed\n", harness_checks - harness_failures,
           harness_failures);
    return harness_failures ? 1 : 0;
}
