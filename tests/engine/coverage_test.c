/*
 * coverage_test.c - struere_decision_rule and struere_decision_mask, the
 * calls `struere test --coverage` counts scope rules and field masks
 * with, against the example's development bundle. Every expectation is
 * written from fixtures/example/roles (indexes as the files list them).
 */
#include <stdio.h>
#include <string.h>

#include "engine.h"

/* The `index`th rule (masks: 0) or mask (1) of the decision as
 * "ROLE#i", "end" past the last, "err" on another code. */
static const char *nth(const struere_runtime *rt, const struere_decision *d,
                       int masks, size_t index)
{
    static char buf[300];
    const char *role = NULL;
    int at = -1;
    int rc = masks ? struere_decision_mask(&role, &at, rt, d, index, NULL)
                   : struere_decision_rule(&role, &at, rt, d, index, NULL);
    if (rc == STRUERE_ENOTFOUND)
        return "end";
    if (rc < 0)
        return "err";
    snprintf(buf, sizeof(buf), "%s#%d", role, at);
    return buf;
}

/* Checks the list (rules or masks) of decision d against want. */
static void expect(const struere_runtime *rt, const struere_decision *d,
                   int masks, const char *what, const char *const *want)
{
    for (size_t i = 0;; i++) {
        const char *got = nth(rt, d, masks, i);
        CHECKF(strcmp(got, want[i]) == 0, "%s %s [%zu]: %s, want %s", what,
               masks ? "mask" : "rule", i, got, want[i]);
        if (!strcmp(want[i], "end") || strcmp(got, want[i]))
            break;
    }
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, "end"})
#define NONE ((const char *const[]){"end"})

/* Decides action on resource and checks its rules and masks. */
static void both(const struere_runtime *rt, const struere_actor *a,
                 const char *action, const char *resource,
                 const char *const *rules, const char *const *masks)
{
    struere_decision d;
    char what[200];
    snprintf(what, sizeof(what), "%s %s", action, resource);
    CHECK(struere_decide(&d, rt, a, action, resource, NULL) == 0);
    expect(rt, &d, 0, what, rules);
    expect(rt, &d, 1, what, masks);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: coverage_test BUNDLE_DIR\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/development.stb", argv[1]);
    struere_runtime *rt = NULL;
    struere_error err;
    CHECK(struere_runtime_open_file(&rt, path, 0, &err) == 0);
    if (!rt)
        return ENGINE_DONE("coverage");

    /* guardian: payment rules 5 and 6, no payment mask; progress-report
     * rules 3 and 4; teacher: no rule, masks 0, 1, 2; a deny has none */
    const char *g[] = {"guardian"};
    struere_actor *a = engine_user(rt, g, 1);
    both(rt, a, "read", "payment", LIST("guardian#5", "guardian#6"), NONE);
    both(rt, a, "list", "progress-report", LIST("guardian#3", "guardian#4"),
         NONE);
    both(rt, a, "read", "teacher", NONE,
         LIST("guardian#0", "guardian#1", "guardian#2"));
    both(rt, a, "delete", "student", NONE, NONE);
    both(rt, a, "create", "guardian", NONE, NONE);
    struere_actor_free(a);

    /* two granting roles, in the order held: guardian's teacher masks,
     * then teacher's own-profile rule 3 (guardian has no teacher rule) */
    const char *gt[] = {"guardian", "teacher"};
    a = engine_user(rt, gt, 2);
    both(rt, a, "read", "teacher", LIST("teacher#3"),
         LIST("guardian#0", "guardian#1", "guardian#2"));
    /* update teacher: teacher alone grants it */
    both(rt, a, "update", "teacher", LIST("teacher#3"), NONE);
    struere_actor_free(a);

    /* teacher on session: rules 0 and 1, mask 0 (price); a record out
     * of scope keeps the rules that refused it, and has no mask */
    const char *t[] = {"teacher"};
    a = engine_user(rt, t, 1);
    both(rt, a, "read", "session", LIST("teacher#0", "teacher#1"),
         LIST("teacher#0"));
    both(rt, a, "read", "student", LIST("teacher#2"), LIST("teacher#1"));
    {
        static const char rec[] =
            "{\"_id\":\"s1\",\"type\":\"session\",\"status\":\"active\","
            "\"data\":{\"teacherId\":\"t9\",\"status\":\"scheduled\"}}";
        struere_decision d;
        CHECK(struere_decide_record(&d, rt, a, "read", "session", rec,
                                    strlen(rec), NULL) == 0);
        CHECK(!d.allowed && d.reason == STRUERE_REASON_OUT_OF_SCOPE);
        expect(rt, &d, 0, "out of scope", LIST("teacher#0", "teacher#1"));
        expect(rt, &d, 1, "out of scope", NONE);
    }
    struere_actor_free(a);

    /* learning-assistant: session rule 1, masks 1 and 2 */
    const char *la[] = {"learning-assistant"};
    a = engine_user(rt, la, 1);
    both(rt, a, "list", "session", LIST("learning-assistant#1"),
         LIST("learning-assistant#1", "learning-assistant#2"));
    both(rt, a, "read", "payment", NONE, NONE);
    struere_actor_free(a);

    /* staff: no rule or mask anywhere */
    const char *st[] = {"staff"};
    a = engine_user(rt, st, 1);
    both(rt, a, "read", "payment", NONE, NONE);
    struere_actor_free(a);

    /* an agent: billing-assistant holds ai-assistant: guardian mask 1,
     * student rule 1 */
    struere_actor_spec as = {.type = STRUERE_ACTOR_AGENT,
                             .id = "billing-assistant"};
    CHECK(struere_actor_new(&a, rt, &as, NULL) == 0);
    both(rt, a, "update", "guardian", NONE, LIST("ai-assistant#1"));
    both(rt, a, "list", "student", LIST("ai-assistant#1"), NONE);
    both(rt, a, "read", "teacher", LIST("ai-assistant#0"),
         LIST("ai-assistant#0"));
    struere_actor_free(a);

    /* system: allowed by no role, so nothing to list */
    struere_actor_spec ss = {.type = STRUERE_ACTOR_SYSTEM};
    CHECK(struere_actor_new(&a, rt, &ss, NULL) == 0);
    both(rt, a, "read", "payment", NONE, NONE);
    struere_actor_free(a);

    /* a decision never filled, or none */
    struere_decision z;
    memset(&z, 0, sizeof(z));
    CHECK(struere_decision_rule(NULL, NULL, rt, &z, 0, NULL) == STRUERE_EINVAL);
    CHECK(struere_decision_mask(NULL, NULL, rt, &z, 0, NULL) == STRUERE_EINVAL);
    CHECK(struere_decision_rule(NULL, NULL, rt, NULL, 0, NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_decision_mask(NULL, NULL, NULL, &z, 0, NULL) ==
          STRUERE_EINVAL);
    struere_runtime_free(rt);
    return ENGINE_DONE("coverage");
}
