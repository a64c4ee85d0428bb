/*
 * engine.h - the engine tests' harness (header only: each test is its own
 * program). A test's main(argc, argv) gets the directory of the example's
 * bundles (argv[1]: development.stb, production.stb, eval.stb), the
 * struere binary (argv[2]) and the example project (argv[3]); it ends with
 * ENGINE_DONE("name"), printing "name: N passed, M failed".
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stdio.h>
#include <stdlib.h>

#include "struere.h"

static int engine_passed, engine_failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            engine_passed++;                                                   \
        } else {                                                               \
            engine_failed++;                                                   \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                      \
    } while (0)

/* CHECK with a message printed on failure. */
#define CHECKF(cond, ...)                                                      \
    do {                                                                       \
        if (cond) {                                                            \
            engine_passed++;                                                   \
        } else {                                                               \
            engine_failed++;                                                   \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);             \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
        }                                                                      \
    } while (0)

#define ENGINE_DONE(name)                                                      \
    (printf("%s: %d passed, %d failed\n", (name), engine_passed,               \
            engine_failed),                                                    \
     engine_failed ? 1 : 0)

/* Writes `text` to the file `name` in directory `dir`: 0, or -1. */
static inline int engine_write_file(const char *dir, const char *name,
                                    const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Opens the example's bundle of `env` ("development", "production",
 * "eval") from the directory `dir`; exits the test on failure. */
static inline struere_runtime *engine_open(const char *dir, const char *env)
{
    char path[4096];
    struere_error err;
    struere_runtime *rt = NULL;
    snprintf(path, sizeof(path), "%s/%s.stb", dir, env);
    int rc = struere_runtime_open_file(&rt, path, 0, &err);
    if (rc < 0) {
        printf("FAIL cannot open %s: %s\n", path, err.message);
        printf("engine: 0 passed, 1 failed\n");
        exit(1);
    }
    return rt;
}

/* A user with id "u1" holding `roles` (n of them) in `rt`; NULL, said
 * with a FAIL line, when it cannot be made. */
static inline struere_actor *engine_user(const struere_runtime *rt,
                                         const char *const *roles, size_t n)
{
    struere_actor_spec spec = {.type = STRUERE_ACTOR_USER,
                               .id = "u1",
                               .roles = roles,
                               .role_count = n};
    struere_actor *a = NULL;
    if (struere_actor_new(&a, rt, &spec, NULL) < 0)
        printf("FAIL cannot make a user\n");
    return a;
}

#endif
