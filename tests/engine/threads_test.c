/*
 * threads_test.c - one runtime, many threads: roles are compiled when an
 * actor first holds them (rt_model_role, under the model's lock), and
 * decisions read them without a lock. Eight threads make actors for every
 * role combination of the example's eval bundle at the same moment and
 * decide every action on every type; every answer must equal the one a
 * single thread gets on a fresh runtime.
 */
#include <pthread.h>
#include <string.h>

#include "engine.h"

#define THREADS 8
#define MAXR 8

static const char *dir;
static struere_runtime *shared;
static const char *roles[MAXR];
static size_t nroles;
static const char *types[16];
static size_t ntypes;
static const char *const actions[] = {"create", "read", "update", "delete",
                                      "list"};

/* Every decision of every pair of roles, as allow bits, into out. */
static size_t decide_all(struere_runtime *rt, unsigned char *out)
{
    size_t n = 0;
    for (size_t a = 0; a < nroles; a++)
        for (size_t b = a; b < nroles; b++) {
            const char *rs[2] = {roles[a], roles[b]};
            struere_actor_spec spec = {.type = STRUERE_ACTOR_USER,
                                       .id = "user_maria_martinez",
                                       .roles = rs,
                                       .role_count = a == b ? 1 : 2};
            struere_actor *actor;
            if (struere_actor_new(&actor, rt, &spec, NULL) < 0) {
                out[n++] = 9;
                continue;
            }
            for (size_t t = 0; t < ntypes; t++)
                for (size_t k = 0; k < 5; k++) {
                    struere_decision d;
                    int rc = struere_decide(&d, rt, actor, actions[k], types[t],
                                            NULL);
                    out[n++] =
                        rc < 0 ? 8 : (unsigned char)(d.allowed | d.reason << 1);
                }
            struere_actor_free(actor);
        }
    return n;
}

/* Automations: eight threads fire the same events on a runtime whose
 * index is built by whichever thread comes first. */
static struere_runtime *dev_rt;
static char *fired_want;
static int fired_ok[THREADS];
static const char session_data[] =
    "{\"status\":\"completed\",\"isTrial\":false,\"studentId\":\"s\","
    "\"price\":55}";
static const char session_prev[] = "{\"status\":\"scheduled\"}";

static char *fire_once(const struere_runtime *rt)
{
    struere_event ev = {"session",
                        "updated",
                        "s1",
                        session_data,
                        strlen(session_data),
                        session_prev,
                        strlen(session_prev)};
    char *out = NULL;
    size_t len;
    if (struere_automations_fire(&out, &len, rt, &ev, NULL) < 0)
        return NULL;
    return out;
}

static void *run_fire(void *arg)
{
    size_t i = (size_t)arg;
    char *out = fire_once(dev_rt);
    fired_ok[i] = out && fired_want && !strcmp(out, fired_want);
    struere_free(out);
    return NULL;
}

static unsigned char want[1 << 14];
static size_t nwant;
static unsigned char got[THREADS][1 << 14];
static size_t ngot[THREADS];
static pthread_barrier_t start;

static void *run(void *arg)
{
    size_t i = (size_t)arg;
    pthread_barrier_wait(&start);
    ngot[i] = decide_all(shared, got[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    dir = argv[1];
    struere_runtime *single = engine_open(dir, "eval");
    const struere_bundle *b = struere_runtime_bundle(single);
    for (size_t i = 0;
         i < struere_bundle_count(b, STRUERE_KIND_ROLE) && nroles < MAXR; i++)
        struere_bundle_entry(&roles[nroles++], NULL, NULL, b, STRUERE_KIND_ROLE,
                             i, NULL);
    for (size_t i = 0;
         i < struere_bundle_count(b, STRUERE_KIND_DATA) && ntypes < 15; i++)
        struere_bundle_entry(&types[ntypes++], NULL, NULL, b, STRUERE_KIND_DATA,
                             i, NULL);
    types[ntypes++] = "users";
    nwant = decide_all(single, want);
    CHECK(nwant > 100);

    shared = engine_open(dir, "eval"); /* no role compiled yet */
    pthread_t tids[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (size_t i = 0; i < THREADS; i++)
        pthread_create(&tids[i], NULL, run, (void *)i);
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(tids[i], NULL);
    pthread_barrier_destroy(&start);
    for (size_t i = 0; i < THREADS; i++)
        CHECKF(ngot[i] == nwant && memcmp(got[i], want, nwant) == 0,
               "thread %zu: %zu answers differ from one thread's", i, ngot[i]);
    struere_runtime_free(shared);
    struere_runtime_free(single);

    struere_runtime *dev_single = engine_open(dir, "development");
    fired_want = fire_once(dev_single);
    CHECK(fired_want && strstr(fired_want, "bill-completed-session"));
    dev_rt = engine_open(dir, "development"); /* no index built yet */
    for (size_t i = 0; i < THREADS; i++)
        pthread_create(&tids[i], NULL, run_fire, (void *)i);
    for (size_t i = 0; i < THREADS; i++)
        pthread_join(tids[i], NULL);
    for (size_t i = 0; i < THREADS; i++)
        CHECKF(fired_ok[i], "thread %zu: automations differ", i);
    struere_free(fired_want);
    struere_runtime_free(dev_rt);
    struere_runtime_free(dev_single);
    return ENGINE_DONE("threads");
}
