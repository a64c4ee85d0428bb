/*
 * rt_harness.h - the runtime tests' tiny harness: CHECK counts a result and
 * names the failing line; main prints "runtime: N passed, M failed".
 */
#ifndef RT_HARNESS_H
#define RT_HARNESS_H

#include <stdio.h>

extern int rt_passed, rt_failed;

/* test_state.c: what a runtime remembers (rt_state.h) */
void test_state(void);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            rt_passed++;                                                       \
        } else {                                                               \
            rt_failed++;                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#endif
