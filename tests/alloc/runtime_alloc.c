/*
 * runtime_alloc.c - libstruere under allocation failure: each scenario
 * (open a bundle; prepare an actor and decide; an actor whose role failed
 * to compile, made again; render a system prompt; match an automation) runs
 * once to count its allocations and record its answer, then once for every N
 * from 1 to that count with the Nth allocation failing. Each run must end
 * either with the same answer (the failure was absorbed) or with STRUERE_ENOMEM
 * and nothing returned; ASan (make check) catches crashes and leaks. Ends
 * "alloc-runtime: N passed, M failed", one assertion per run.
 *
 *   failalloc-runtime BUNDLE_DIR   (eval.stb and development.stb)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"
#include "struere.h"

static const char *dir;

/* What one run answered. */
struct answer {
    int rc;
    char text[4096];
};

static int open_env(struere_runtime **rt, const char *name)
{
    char path[4096];
    struere_error err;
    snprintf(path, sizeof(path), "%s/%s.stb", dir, name);
    return struere_runtime_open_file(rt, path, 0, &err);
}

static void keep(struct answer *a, int rc, const char *text, size_t len)
{
    a->rc = rc;
    snprintf(a->text, sizeof(a->text), "%.*s", (int)len, text ? text : "");
}

static void s_open(struct answer *a)
{
    struere_runtime *rt = NULL;
    int rc = open_env(&rt, "eval");
    if (rc < 0 && rt)
        rc = 1000; /* a failed open returned a handle */
    keep(a, rc, rt ? struere_runtime_commit(rt) : "", rt ? 40 : 0);
    struere_runtime_free(rt);
}

/* A user holding `roles` on the eval bundle, asking to read a student;
 * with `again`, an actor whose making failed for want of memory is made
 * again on the same runtime (the failure happens once, so it must be
 * made). */
static void decide_as(struct answer *a, const char *const *roles, size_t nroles,
                      bool again)
{
    struere_runtime *rt = NULL;
    struere_actor *actor = NULL;
    struere_error err;
    struere_decision d;
    struere_actor_spec spec = {
        STRUERE_ACTOR_USER, "u1", roles, nroles, NULL, NULL, 0, NULL};
    int rc = open_env(&rt, "eval");
    if (rc == 0) {
        rc = struere_actor_new(&actor, rt, &spec, &err);
        if (rc < 0 && actor)
            rc = 1000;
        if (again && rc == STRUERE_ENOMEM &&
            (rc = struere_actor_new(&actor, rt, &spec, &err)) == STRUERE_ENOMEM)
            rc = 1001;
    }
    if (rc == 0)
        rc = struere_decide(&d, rt, actor, "read", "student", &err);
    char text[64] = "";
    if (rc == 0)
        snprintf(text, sizeof(text), "%d %d", d.allowed, d.reason);
    keep(a, rc, text, strlen(text));
    struere_actor_free(actor);
    struere_runtime_free(rt);
}

static void s_decide(struct answer *a)
{
    static const char *const roles[] = {"guardian", "staff"};
    decide_as(a, roles, 2, false);
}

/* A role whose compiling failed is compiled again by the next actor that
 * holds it: made again on the same runtime, the actor decides as if
 * nothing had failed. guardian alone, so that no other role's policy
 * answers for it. */
static void s_recompile(struct answer *a)
{
    static const char *const roles[] = {"guardian"};
    decide_as(a, roles, 1, true);
}

static void s_render(struct answer *a)
{
    struere_runtime *rt = NULL;
    struere_error err;
    struere_prompt_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.now_ms = 1791300000123LL;
    ctx.user_id = "user_office_1";
    ctx.message = "hello";
    char *out = NULL;
    size_t len = 0;
    int rc = open_env(&rt, "eval");
    if (rc == 0)
        rc = struere_prompt_render(&out, &len, rt, "front-desk", &ctx, &err);
    if (rc < 0 && out)
        rc = 1000;
    keep(a, rc, out, len);
    struere_free(out);
    struere_runtime_free(rt);
}

static void s_automation(struct answer *a)
{
    static const char data[] =
        "{\"studentId\":\"stu_1\",\"teacherId\":\"tch_1\",\"guardianId\":"
        "\"gua_1\",\"status\":\"completed\",\"isTrial\":false}";
    static const char prev[] = "{\"status\":\"scheduled\",\"isTrial\":false}";
    struere_runtime *rt = NULL;
    struere_error err;
    struere_event ev = {"session",        "updated", "ses_42",        data,
                        sizeof(data) - 1, prev,      sizeof(prev) - 1};
    char *out = NULL;
    size_t len = 0;
    int rc = open_env(&rt, "development");
    if (rc == 0)
        rc = struere_automations_fire(&out, &len, rt, &ev, &err);
    if (rc < 0 && out)
        rc = 1000;
    keep(a, rc, out, len);
    struere_free(out);
    struere_runtime_free(rt);
}

static const struct {
    const char *name;
    void (*run)(struct answer *);
} scenarios[] = {{"open", s_open},
                 {"decision", s_decide},
                 {"role compiled again", s_recompile},
                 {"render", s_render},
                 {"automation", s_automation}};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s BUNDLE_DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    int passed = 0, failed = 0;
    static struct answer want, got;
    for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++) {
        failalloc_set(0);
        scenarios[s].run(&want);
        long total = failalloc_count();
        if (want.rc != 0) {
            printf("FAIL %s: rc %d without a failure\n", scenarios[s].name,
                   want.rc);
            failed++;
            continue;
        }
        int enomem = 0;
        for (long n = 1; n <= total; n++) {
            failalloc_set(n);
            scenarios[s].run(&got);
            int same = got.rc == want.rc && !strcmp(got.text, want.text);
            if (same || got.rc == STRUERE_ENOMEM) {
                passed++;
                enomem += got.rc == STRUERE_ENOMEM;
            } else {
                printf("FAIL %s: allocation %ld of %ld failing gives rc %d "
                       "'%.200s'\n",
                       scenarios[s].name, n, total, got.rc, got.text);
                failed++;
            }
        }
        failalloc_set(0);
        printf("%s: %ld allocations, each failed in turn: %d ENOMEM, %ld "
               "absorbed\n",
               scenarios[s].name, total, enomem, total - enomem);
    }
    printf("alloc-runtime: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
