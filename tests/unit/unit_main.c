/*
 * unit_main.c - runs every unit test table; a test passes when it records
 * no CHECK failure.
 */
#include <stdio.h>

#include "harness.h"

int harness_failures;

int main(void)
{
    const struct test *tables[] = {text_tests, yaml_tests, schema_tests,
                                   sha256_tests};
    int passed = 0, failed = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (const struct test *c = tables[t]; c->name; c++) {
            int before = harness_failures;
            c->fn();
            if (harness_failures == before) {
                passed++;
            } else {
                failed++;
                printf("FAIL %s\n", c->name);
            }
        }
    }
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
