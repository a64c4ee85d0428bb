/*
 * decide.c - times libstruere's permission decisions on the requests of
 * tests/runtime/cedar/decisions.jsonl (the Cedar differential's, so that
 * bench/decide.sh compares the same requests with cedar-wasm in one run).
 *
 * usage: decide EVAL_BUNDLE DECISIONS_JSONL
 *
 * For each request: the actor is prepared once (as a service does per
 * session), then struere_decide_record (decision + row scope) is timed
 * two ways, both reported:
 *  - batched: run REPS times back to back and the mean taken (warm
 *    caches, a trained branch predictor: the best case);
 *  - once each: every request timed alone, in a shuffled order, PASSES
 *    times - as bench/cedar/bench.mjs times cedar-wasm, so that the two
 *    sides of the ratio are measured the same way.
 * Also decision + scope + the field mask applied to the record. Prints
 * the median and mean over the requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tests/engine/cedar_request.h"
#include "struere.h"

#define REPS 2000
#define PASSES 3
#define MAX_REQ 20000

struct req {
    struere_actor *actor;
    char action[16], resource[64];
    char *record;
    size_t rlen;
};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *t, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += t[i];
    qsort(t, n, sizeof(double), cmp_double);
    printf("libstruere %s: median %.3f us, mean %.3f us over %zu requests\n",
           what, t[n / 2] / 1000, sum / n / 1000, n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: decide EVAL_BUNDLE DECISIONS_JSONL\n");
        return 2;
    }
    struere_runtime *rt;
    struere_error err;
    if (struere_runtime_open_file(&rt, argv[1], STRUERE_ENV_EVAL, &err) < 0) {
        fprintf(stderr, "decide: %s: %s\n", argv[1], err.message);
        return 1;
    }
    struere_actor_spec sys_spec = {.type = STRUERE_ACTOR_SYSTEM};
    struere_actor *sys;
    struere_actor_new(&sys, rt, &sys_spec, NULL);
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    static struct req reqs[MAX_REQ];
    static char line[8192];
    size_t n = 0;
    while (n < MAX_REQ && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        struct req *r = &reqs[n];
        char rec[128], why[300];
        r->actor = cedar_actor(rt, line, len, why, sizeof(why));
        if (!r->actor ||
            !cedar_str(line, len, "action", r->action, sizeof(r->action)) ||
            !cedar_str(line, len, "resource", r->resource,
                       sizeof(r->resource))) {
            struere_actor_free(r->actor);
            continue;
        }
        r->record = NULL;
        if (cedar_str(line, len, "record", rec, sizeof(rec)))
            struere_get_record(&r->record, &r->rlen, NULL, rt, sys, rec, NULL);
        n++;
    }
    fclose(f);
    double *t1 = malloc(n * sizeof(double)), *t2 = malloc(n * sizeof(double));
    static char out[65536];
    volatile int sink = 0;
    for (size_t i = 0; i < n; i++) {
        struct req *r = &reqs[i];
        struere_decision d;
        double t0 = now_ns();
        for (int k = 0; k < REPS; k++) {
            struere_decide_record(&d, rt, r->actor, r->action, r->resource,
                                  r->record, r->rlen, NULL);
            sink += d.allowed;
        }
        t1[i] = (now_ns() - t0) / REPS;
        t0 = now_ns();
        for (int k = 0; k < REPS; k++) {
            size_t len;
            struere_decide_record(&d, rt, r->actor, r->action, r->resource,
                                  r->record, r->rlen, NULL);
            if (d.allowed && r->record)
                struere_record_mask(out, sizeof(out), &len, rt, &d, r->record,
                                    r->rlen, NULL);
            sink += d.allowed;
        }
        t2[i] = (now_ns() - t0) / REPS;
    }
    /* The same over the requests that end in an allow on a record: the
     * whole path (policies, every granting role's scope rules, masks). */
    double *a1 = malloc(n * sizeof(double)), *a2 = malloc(n * sizeof(double));
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        struere_decision d;
        struere_decide_record(&d, rt, reqs[i].actor, reqs[i].action,
                              reqs[i].resource, reqs[i].record, reqs[i].rlen,
                              NULL);
        if (d.allowed && reqs[i].record) {
            a1[na] = t1[i];
            a2[na++] = t2[i];
        }
    }
    /* Each request once, in an order shuffled per pass (a fixed seed:
     * the same orders every run). */
    size_t *order = malloc(n * sizeof(*order));
    double *o1 = malloc(n * PASSES * sizeof(double));
    double *o2 = malloc(n * PASSES * sizeof(double));
    unsigned long long seed = 0x9e3779b97f4a7c15ULL;
    for (int pass = 0; pass < PASSES; pass++) {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        for (size_t i = n; i > 1; i--) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t j = (size_t)(seed >> 33) % i, k = order[i - 1];
            order[i - 1] = order[j];
            order[j] = k;
        }
        for (size_t i = 0; i < n; i++) {
            struct req *r = &reqs[order[i]];
            struere_decision d;
            size_t len;
            double t0 = now_ns();
            struere_decide_record(&d, rt, r->actor, r->action, r->resource,
                                  r->record, r->rlen, NULL);
            double t = now_ns();
            sink += d.allowed;
            o1[pass * n + i] = t - t0;
            t0 = now_ns();
            struere_decide_record(&d, rt, r->actor, r->action, r->resource,
                                  r->record, r->rlen, NULL);
            if (d.allowed && r->record)
                struere_record_mask(out, sizeof(out), &len, rt, &d, r->record,
                                    r->rlen, NULL);
            o2[pass * n + i] = now_ns() - t0;
            sink += d.allowed;
        }
    }
    report("decision with row scope", t1, n);
    report("decision with row scope + mask applied", t2, n);
    report("once each, shuffled: decision with row scope", o1, n * PASSES);
    report("once each, shuffled: decision with row scope + mask applied", o2,
           n * PASSES);
    free(order);
    free(o1);
    free(o2);
    if (na) {
        report("allowed records only: decision with row scope", a1, na);
        report("allowed records only: decision with row scope + mask applied",
               a2, na);
    }
    free(a1);
    free(a2);
    for (size_t i = 0; i < n; i++) {
        struere_actor_free(reqs[i].actor);
        struere_free(reqs[i].record);
    }
    free(t1);
    free(t2);
    struere_actor_free(sys);
    struere_runtime_free(rt);
    return sink < 0;
}
