/*
 * access_test.c - the two calls `struere access` is built on:
 * struere_runtime_open_memory (a runtime over bundle bytes a tool holds),
 * struere_decision_policy (every policy behind a decision) and
 * struere_actor_resources (what an actor's policies name), against
 * the example's bundles. Expectations written from fixtures/example/roles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* The `index`th policy of the decision as "ROLE#i+" (allow) or "ROLE#i-"
 * (deny), "end" past the last, "err" on another code. */
static const char *nth(const struere_runtime *rt, const struere_decision *d,
                       size_t index)
{
    static char buf[300];
    const char *role;
    int policy, allow;
    int rc =
        struere_decision_policy(&role, &policy, &allow, rt, d, index, NULL);
    if (rc == STRUERE_ENOTFOUND)
        return "end";
    if (rc < 0)
        return "err";
    snprintf(buf, sizeof(buf), "%s#%d%c", role, policy, allow ? '+' : '-');
    return buf;
}

#define POLICIES(rt, a, action, resource, ...)                                 \
    do {                                                                       \
        struere_decision d_;                                                   \
        const char *want_[] = {__VA_ARGS__, "end"};                            \
        CHECK(struere_decide(&d_, rt, a, action, resource, NULL) == 0);        \
        for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(*want_); i_++) {       \
            const char *got_ = nth(rt, &d_, i_);                               \
            CHECKF(strcmp(got_, want_[i_]) == 0, "%s %s [%zu]: %s, want %s",   \
                   action, resource, i_, got_, want_[i_]);                     \
        }                                                                      \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: access_test BUNDLE_DIR\n");
        return 2;
    }
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/development.stb", argv[1]);
    char *bytes = read_all(path, &len);
    CHECK(bytes != NULL);
    if (!bytes)
        return ENGINE_DONE("access");

    /* ---- struere_runtime_open_memory ---- */
    struere_runtime *rt = NULL;
    struere_error err;
    CHECK(struere_runtime_open_memory(&rt, bytes, len, 0, &err) == 0);
    CHECK(rt != NULL && err.code == 0);
    free(bytes); /* the runtime holds its own copy */
    CHECK(struere_runtime_env(rt) == STRUERE_ENV_DEVELOPMENT);
    CHECK(strcmp(struere_runtime_commit(rt), "") == 0);
    struere_runtime *bad = (struere_runtime *)1;
    CHECK(struere_runtime_open_memory(&bad, "not a bundle", 12, 0, &err) ==
              STRUERE_EFORMAT &&
          bad == NULL && err.message[0]);
    bad = (struere_runtime *)1;
    snprintf(path, sizeof(path), "%s/eval.stb", argv[1]);
    size_t elen = 0;
    char *ebytes = read_all(path, &elen);
    CHECK(ebytes &&
          struere_runtime_open_memory(&bad, ebytes, elen,
                                      STRUERE_ENV_PRODUCTION,
                                      &err) == STRUERE_EENV &&
          bad == NULL);
    free(ebytes);
    CHECK(struere_runtime_open_memory(NULL, "x", 1, 0, &err) == STRUERE_EINVAL);

    /* ---- struere_runtime_open_bundle: takes the bundle, no copy ---- */
    {
        struere_bundle *ob = NULL;
        struere_runtime *ort = NULL;
        snprintf(path, sizeof(path), "%s/production.stb", argv[1]);
        CHECK(struere_bundle_open_file(&ob, path, 0, &err) == 0);
        CHECK(struere_runtime_open_bundle(&ort, ob, &err) == 0 && ort);
        CHECK(struere_runtime_bundle(ort) == ob);
        CHECK(struere_runtime_env(ort) == STRUERE_ENV_PRODUCTION);
        struere_runtime_free(ort); /* frees ob: ASan would see a leak */
        ort = (struere_runtime *)1;
        CHECK(struere_runtime_open_bundle(&ort, NULL, &err) == STRUERE_EINVAL &&
              err.message[0]);
        CHECK(struere_runtime_open_bundle(NULL, NULL, &err) == STRUERE_EINVAL);
    }

    /* ---- struere_decision_policy ---- */
    /* staff: allow * on * (0), deny delete on payment (1) */
    const char *staff[] = {"staff"};
    struere_actor *a = engine_user(rt, staff, 1);
    POLICIES(rt, a, "delete", "payment", "staff#0+", "staff#1-");
    POLICIES(rt, a, "read", "users", "staff#0+");
    struere_actor_free(a);

    /* roles in the order held: ai-assistant's deny delete on * (6), then
     * staff's allow * on * (0) */
    const char *two[] = {"ai-assistant", "staff"};
    a = engine_user(rt, two, 2);
    POLICIES(rt, a, "delete", "guardian", "ai-assistant#6-", "staff#0+");
    POLICIES(rt, a, "read", "users", "ai-assistant#7-", "staff#0+");
    POLICIES(rt, a, "list", "teacher", "ai-assistant#0+", "staff#0+");
    struere_actor_free(a);

    /* two granting roles: guardian's teacher directory (5), teacher's own
     * profile (2) */
    const char *gt[] = {"guardian", "teacher"};
    a = engine_user(rt, gt, 2);
    POLICIES(rt, a, "read", "teacher", "guardian#5+", "teacher#2+");
    POLICIES(rt, a, "update", "teacher", "teacher#2+");
    POLICIES(rt, a, "create", "payment", "teacher#4-");
    {
        struere_decision d;
        CHECK(struere_decide(&d, rt, a, "create", "guardian", NULL) == 0);
        CHECK(!d.allowed && strcmp(nth(rt, &d, 0), "end") == 0);
        /* an unknown action leaves a decision that names no action */
        CHECK(struere_decide(&d, rt, a, "frob", "guardian", NULL) ==
              STRUERE_EINVAL);
        CHECK(strcmp(nth(rt, &d, 0), "err") == 0);
        CHECK(struere_decision_policy(NULL, NULL, NULL, rt, NULL, 0, NULL) ==
              STRUERE_EINVAL);
    }
    struere_actor_free(a);

    /* an agent: front-desk holds ai-assistant */
    struere_actor_spec as = {.type = STRUERE_ACTOR_AGENT, .id = "front-desk"};
    CHECK(struere_actor_new(&a, rt, &as, NULL) == 0);
    POLICIES(rt, a, "update", "payment", "ai-assistant#4+");
    struere_actor_free(a);

    /* ---- struere_actor_role ---- */
    {
        const char *three[] = {"teacher", "staff", "teacher"};
        a = engine_user(rt, three, 3);
        CHECK(a && !strcmp(struere_actor_role(a, 0), "teacher") &&
              !strcmp(struere_actor_role(a, 1), "staff") &&
              struere_actor_role(a, 2) == NULL); /* duplicates dropped */
        struere_actor_free(a);
        struere_actor_spec fd = {.type = STRUERE_ACTOR_AGENT,
                                 .id = "front-desk"};
        CHECK(struere_actor_new(&a, rt, &fd, NULL) == 0);
        CHECK(!strcmp(struere_actor_role(a, 0), "ai-assistant") &&
              struere_actor_role(a, 1) == NULL);
        struere_actor_free(a);
        CHECK(struere_actor_role(NULL, 0) == NULL);
    }

    /* ---- struere_actor_resources ---- */
    /* learning-assistant names student, session, progress-report and
     * payment; teacher adds teacher; staff names "*"; data types come in
     * slug order, then users. */
    {
        const char *la[] = {"learning-assistant"}, *got[8];
        size_t n = 99;
        a = engine_user(rt, la, 1);
        CHECK(struere_actor_resources(got, 8, &n, rt, a, NULL) == 0 && n == 4);
        CHECK(n == 4 && !strcmp(got[0], "payment") &&
              !strcmp(got[1], "progress-report") &&
              !strcmp(got[2], "session") && !strcmp(got[3], "student"));
        struere_actor_free(a);
        const char *lt[] = {"teacher", "learning-assistant"};
        a = engine_user(rt, lt, 2);
        CHECK(struere_actor_resources(got, 8, &n, rt, a, NULL) == 0 && n == 5);
        CHECK(n == 5 && !strcmp(got[4], "teacher"));
        /* a short array: the first `cap`, the count of all */
        got[2] = NULL;
        CHECK(struere_actor_resources(got, 2, &n, rt, a, NULL) == 0 && n == 5 &&
              !strcmp(got[1], "progress-report") && got[2] == NULL);
        CHECK(struere_actor_resources(NULL, 0, &n, rt, a, NULL) == 0 && n == 5);
        CHECK(struere_actor_resources(got, 8, NULL, rt, a, NULL) ==
              STRUERE_EINVAL);
        CHECK(struere_actor_resources(got, 8, &n, NULL, a, NULL) ==
              STRUERE_EINVAL);
        struere_actor_free(a);
        a = engine_user(rt, staff, 1);
        CHECK(struere_actor_resources(got, 8, &n, rt, a, NULL) == 0 && n == 7);
        CHECK(n == 7 && !strcmp(got[0], "guardian") &&
              !strcmp(got[5], "teacher") && !strcmp(got[6], "users"));
        struere_actor_free(a);
        /* every resource not listed: no policy, for every action */
        a = engine_user(rt, la, 1);
        const char *acts[] = {"create", "read", "update", "delete", "list"};
        const char *others[] = {"guardian", "teacher", "users"};
        for (size_t i = 0; i < 3; i++)
            for (size_t k = 0; k < 5; k++) {
                struere_decision d;
                CHECK(struere_decide(&d, rt, a, acts[k], others[i], NULL) ==
                          0 &&
                      !d.allowed && d.reason == STRUERE_REASON_NO_POLICY);
            }
        struere_actor_free(a);
    }

    /* system: allowed by no policy */
    struere_actor_spec ss = {.type = STRUERE_ACTOR_SYSTEM};
    CHECK(struere_actor_new(&a, rt, &ss, NULL) == 0);
    {
        struere_decision d;
        CHECK(struere_decide(&d, rt, a, "delete", "payment", NULL) == 0 &&
              d.allowed);
        CHECK(strcmp(nth(rt, &d, 0), "end") == 0);
    }
    struere_actor_free(a);
    struere_runtime_free(rt);
    return ENGINE_DONE("access");
}
