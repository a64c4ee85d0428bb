/*
 * harness.h - a minimal unit-test harness: CHECK counts an assertion,
 * records a failure with its location and goes on; main (unit_main.c) runs
 * every test and ends with "N passed, M failed" over the assertions.
 */
#ifndef STRUERE_HARNESS_H
#define STRUERE_HARNESS_H

#include <stdbool.h>
#include <stdio.h>

extern int harness_failures, harness_checks;

#define CHECK(cond)                                                            \
    do {                                                                       \
        harness_checks++;                                                      \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            harness_failures++;                                                \
        }                                                                      \
    } while (0)

/* A test that cannot check something here says why: unit_main prints
 * each reason on a line of its own ("1 skipped: WHY"), never as passed. */
void harness_skip(const char *why);

/* libgit2 opened and started (test_blob_id.c), or a failed check with the
 * reason: the caller stops it with git_libgit2_shutdown. */
bool libgit2_opened(void);

typedef void (*test_fn)(void);
struct test {
    const char *name;
    test_fn fn;
};

/* Each test file exports its table, terminated by {0, 0}. */
extern const struct test text_tests[];
extern const struct test yaml_tests[];
extern const struct test schema_tests[];
extern const struct test sha256_tests[];
extern const struct test crc_tests[];
extern const struct test blob_id_tests[];
extern const struct test project_tests[];
extern const struct test loose_deflate_tests[];
extern const struct test cache_file_tests[];
extern const struct test arena_tests[];
extern const struct test pool_tests[];
extern const struct test sha1_tests[];
extern const struct test index_tests[];
extern const struct test handler_tests[];
extern const struct test body_tests[];
extern const struct test json_tree_tests[];

#endif
