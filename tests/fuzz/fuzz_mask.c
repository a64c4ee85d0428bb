/*
 * fuzz_mask.c - libFuzzer target for decisions on records and record
 * masking: struere_decide_record, struere_record_visible,
 * struere_record_mask, struere_predicate_json and struere_mask_json on
 * arbitrary record text, for the actors of the example's eval bundle
 * (read once from STRUERE_FUZZ_BUNDLE: `struere -C fixtures/example build
 * --out DIR`, DIR/eval.stb).
 *
 * Byte 0 picks the actor, byte 1 the action and the resource; the rest is
 * the record. Checked on every call: a decision on a record that is not
 * JSON is a deny; a mask of a valid JSON object is a valid JSON object
 * (when not nested past the reader's depth) and the same with an exact
 * buffer as with a large one; a buffer too small gives STRUERE_ERANGE
 * with the length needed; predicates and masks are valid JSON; a masked
 * record masked again by rt_record_mask_valid (which copies a record it
 * is told is valid) is what struere_record_mask makes of it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_output.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struere_runtime *rt;
static struere_actor *actors[8];
static size_t nactors;
static const char *const actions[] = {"create", "read", "update", "delete",
                                      "list"};
static const char *types[16];
static size_t ntypes;

static void add_actor(int type, const char *id, const char *role1,
                      const char *role2)
{
    const char *roles[2] = {role1, role2};
    struere_actor_spec spec = {.type = type,
                               .id = id,
                               .roles = roles,
                               .role_count = role2   ? 2
                                             : role1 ? 1
                                                     : 0};
    if (struere_actor_new(&actors[nactors], rt, &spec, NULL) == 0)
        nactors++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("STRUERE_FUZZ_BUNDLE");
    struere_error err;
    (void)argc, (void)argv;
    if (!path ||
        struere_runtime_open_file(&rt, path, STRUERE_ENV_EVAL, &err) < 0) {
        fprintf(stderr, "fuzz_mask: set STRUERE_FUZZ_BUNDLE to the example's "
                        "eval bundle\n");
        exit(1);
    }
    add_actor(STRUERE_ACTOR_USER, "user_maria_martinez", "guardian", NULL);
    add_actor(STRUERE_ACTOR_USER, "user_alice_chen", "teacher", NULL);
    add_actor(STRUERE_ACTOR_USER, "user_alice_chen", "teacher", "guardian");
    add_actor(STRUERE_ACTOR_AGENT, "front-desk", NULL, NULL);
    add_actor(STRUERE_ACTOR_AGENT, "homework-helper", NULL, NULL);
    add_actor(STRUERE_ACTOR_USER, "x", "staff", "learning-assistant");
    add_actor(STRUERE_ACTOR_ADMIN, NULL, NULL, NULL);
    add_actor(STRUERE_ACTOR_USER, "nobody", NULL, NULL);
    const struere_bundle *b = struere_runtime_bundle(rt);
    for (size_t i = 0;
         i < struere_bundle_count(b, STRUERE_KIND_DATA) && ntypes < 15; i++)
        struere_bundle_entry(&types[ntypes++], NULL, NULL, b, STRUERE_KIND_DATA,
                             i, NULL);
    types[ntypes++] = "users";
    return 0;
}

/* Is `s` valid JSON (or nested too deep for the reader to say)? */
static int json_ok(const char *s, size_t n, int want_type)
{
    struere_json v = {s, n};
    int t = struere_json_type(v, NULL);
    if (t < 0) {
        size_t d = 0, max = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] == '{' || s[i] == '[')
                max = ++d > max ? d : max;
        return max > RT_JSON_MAX_DEPTH - 2;
    }
    return !want_type || t == want_type;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || !nactors)
        return 0;
    const struere_actor *a = actors[data[0] % nactors];
    const char *action = actions[data[1] % 5];
    const char *resource = types[(data[1] / 5) % ntypes];
    const char *rec = (const char *)data + 2;
    size_t len = size - 2;
    struere_decision d;
    int rc = struere_decide_record(&d, rt, a, action, resource, rec, len, NULL);
    if (rc < 0 && (rc != STRUERE_EJSON || d.allowed))
        abort(); /* an error is never an allow */
    struere_json whole = {rec, len};
    int valid_object = struere_json_type(whole, NULL) == STRUERE_JSON_OBJECT;
    if (rc == 0 && d.allowed) {
        if (struere_record_visible(rt, &d, rec, len, NULL) != 1)
            abort();
        static char big[1 << 16];
        size_t need = 0, need2 = 0;
        int m = struere_record_mask(big, sizeof(big), &need, rt, &d, rec, len,
                                    NULL);
        if (valid_object && m == 0 && !json_ok(big, need, STRUERE_JSON_OBJECT))
            abort();
        if (!valid_object && m == 0) {
            /* leading/trailing white space aside, only valid objects mask */
            size_t i = 0;
            while (i < len && strchr(" \t\r\n", rec[i]))
                i++;
            if (i == len)
                abort();
        }
        if (m == 0 && need > 0) {
            char *exact = malloc(need + 1), small[1];
            if (exact) {
                if (struere_record_mask(exact, need + 1, &need2, rt, &d, rec,
                                        len, NULL) != 0 ||
                    need2 != need || memcmp(exact, big, need) != 0)
                    abort();
                free(exact);
            }
            if (struere_record_mask(small, sizeof(small), &need2, rt, &d, rec,
                                    len, NULL) != STRUERE_ERANGE ||
                need2 != need)
                abort();
        }
        if (m == 0 && valid_object) {
            /* a masked record is valid text: masked again, the call that
             * trusts it (rt_output.h) gives what the one that reads it
             * does */
            static char again[1 << 16], trusted[1 << 16];
            size_t n1 = 0, n2 = 0;
            int r1 = struere_record_mask(again, sizeof(again), &n1, rt, &d, big,
                                         need, NULL);
            int r2 = rt_record_mask_valid(trusted, sizeof(trusted), &n2, rt, &d,
                                          big, need);
            if (r1 != r2 ||
                (r1 == 0 && (n1 != n2 || memcmp(again, trusted, n1) != 0)))
                abort();
        }
    }
    if (rc == 0) {
        char buf[8192];
        size_t n;
        if (struere_predicate_json(buf, sizeof(buf), &n, rt, &d, NULL) == 0 &&
            !json_ok(buf, n, 0))
            abort();
        if (struere_mask_json(buf, sizeof(buf), &n, rt, &d, NULL) == 0 &&
            !json_ok(buf, n, STRUERE_JSON_ARRAY))
            abort();
    }
    return 0;
}
