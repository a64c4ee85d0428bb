/*
 * metrics.c - the counters of `struere serve` and their Prometheus text
 * exposition (GET /metrics): requests by route and status, a latency
 * histogram, decisions by environment and result, and per environment the
 * loaded commit, its load time, readiness, reloads and failed reloads.
 * Lock-free: relaxed atomics, read without stopping the writers.
 */
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "server.h"
#include "../runtime/src/rt_utf8.h"

static const int statuses[] = {200, 400, 401, 403, 404, 405, 408,
                               413, 415, 422, 431, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(*statuses) + 1) /* + other */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                0.005,  0.01,    0.025,  0.05,  0.1,
                                0.25,   0.5,     1,      2.5,   10};
#define NBUCKET (sizeof(bounds) / sizeof(*bounds))

struct srv_metrics {
    atomic_ulong requests[ROUTE_COUNT][NSTATUS];
    atomic_ulong buckets[NBUCKET + 1];
    atomic_ulong latency_us, count;
    atomic_ulong decisions[4][2];
    atomic_ulong dropped;
};

int metrics_new(struct srv_metrics **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -1;
}

void metrics_free(struct srv_metrics *m)
{
    free(m);
}

void metrics_request(struct srv_metrics *m, int route, int status,
                     double seconds)
{
    size_t si = NSTATUS - 1;
    for (size_t i = 0; i < NSTATUS - 1; i++)
        if (statuses[i] == status)
            si = i;
    if (route < 0 || route >= ROUTE_COUNT)
        route = ROUTE_NONE;
    atomic_fetch_add_explicit(&m->requests[route][si], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < NBUCKET && seconds > bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_us,
                              (unsigned long)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

unsigned long metrics_requests(struct srv_metrics *m)
{
    return atomic_load_explicit(&m->count, memory_order_relaxed);
}

void metrics_decision(struct srv_metrics *m, int env, bool allowed)
{
    if (env >= 1 && env <= 3)
        atomic_fetch_add_explicit(&m->decisions[env][allowed], 1,
                                  memory_order_relaxed);
}

void metrics_declog_dropped(struct srv_metrics *m)
{
    atomic_fetch_add_explicit(&m->dropped, 1, memory_order_relaxed);
}

/* A label value: backslash, quote and newline escaped, and every byte
 * that is not part of valid UTF-8 or is another control character written
 * as '?' (the text is UTF-8, and a load error may quote a bundle's bytes,
 * cut anywhere). */
static void label(FILE *f, const char *v)
{
    const unsigned char *p = (const unsigned char *)v, *end = p + strlen(v);
    while (p < end) {
        size_t n = rt_utf8_seq(p, end);
        if (n == 1 && (*p == '\\' || *p == '"'))
            fprintf(f, "\\%c", *p);
        else if (n == 1 && *p == '\n')
            fputs("\\n", f);
        else if (!n || (n == 1 && (*p < 0x20 || *p == 0x7f)))
            putc('?', f);
        else
            fwrite(p, 1, n, f);
        p += n ? n : 1;
    }
}

/* A family's HELP and TYPE lines, written before its samples (each
 * family's samples together after them, as the text format wants). */
static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sample of family name per environment, v[env] its value. */
static void per_env(FILE *f, const char *name, const unsigned long v[4])
{
    for (int env = 1; env <= 3; env++)
        fprintf(f, "%s{environment=\"%s\"} %lu\n", name, struere_env_name(env),
                v[env]);
}

char *metrics_render(struct srv *s, size_t *len)
{
    struct srv_metrics *m = s->metrics;
    char *buf = NULL;
    bool short_of_memory = false;
    FILE *f = srv_stream(&buf, len, &short_of_memory);
    if (!f)
        return NULL;
    family(f, "struere_http_requests_total", "counter",
           "HTTP requests answered, by route and status.");
    for (int r = 0; r < ROUTE_COUNT; r++)
        for (size_t i = 0; i < NSTATUS; i++) {
            unsigned long n = atomic_load(&m->requests[r][i]);
            if (!n)
                continue;
            fprintf(f, "struere_http_requests_total{route=\"%s\",",
                    route_label((enum srv_route_id)r));
            if (i < NSTATUS - 1)
                fprintf(f, "status=\"%d\"} %lu\n", statuses[i], n);
            else
                fprintf(f, "status=\"other\"} %lu\n", n);
        }
    family(f, "struere_http_request_duration_seconds", "histogram",
           "Time from the request's headers to its answer.");
    unsigned long cum = 0;
    for (size_t b = 0; b <= NBUCKET; b++) {
        cum += atomic_load(&m->buckets[b]);
        if (b < NBUCKET)
            fprintf(f,
                    "struere_http_request_duration_seconds_bucket{le=\"%g\"} "
                    "%lu\n",
                    bounds[b], cum);
        else
            fprintf(f,
                    "struere_http_request_duration_seconds_bucket{le=\"+Inf\"}"
                    " %lu\n",
                    cum);
    }
    fprintf(f, "struere_http_request_duration_seconds_sum %.6f\n",
            (double)atomic_load(&m->latency_us) / 1e6);
    /* the +Inf bucket's count, read once above: the two always agree */
    fprintf(f, "struere_http_request_duration_seconds_count %lu\n", cum);
    family(f, "struere_decisions_total", "counter",
           "Authorization decisions, by environment and result.");
    for (int env = 1; env <= 3; env++)
        for (int a = 0; a < 2; a++)
            fprintf(
                f,
                "struere_decisions_total{environment=\"%s\",decision=\"%s\"}"
                " %lu\n",
                struere_env_name(env), a ? "allow" : "deny",
                atomic_load(&m->decisions[env][a]));
    /* Each environment read once, then printed family by family: the
     * text format wants all of a family's samples together. */
    struct {
        bool loaded;
        char commit[41], err[512];
        long long loaded_at;
    } e[4];
    unsigned long ready[4], reloads[4], failed[4];
    for (int env = 1; env <= 3; env++) {
        struct srv_loaded *l = envs_acquire(s, env);
        e[env].loaded = l != NULL;
        if (l) {
            snprintf(e[env].commit, sizeof(e[env].commit), "%s", l->commit);
            e[env].loaded_at = (long long)l->loaded_at;
        }
        envs_release(l);
        ready[env] = envs_ready(s, env, e[env].err, sizeof(e[env].err));
        reloads[env] = atomic_load(&s->envs[env].reloads);
        failed[env] = atomic_load(&s->envs[env].failed);
    }
    family(f, "struere_bundle_info", "gauge",
           "The commit each environment serves (1).");
    for (int env = 1; env <= 3; env++)
        if (e[env].loaded)
            fprintf(f,
                    "struere_bundle_info{environment=\"%s\",commit=\"%s\"} 1\n",
                    struere_env_name(env), e[env].commit);
    family(f, "struere_bundle_loaded_timestamp_seconds", "gauge",
           "When each environment's bundle was loaded (Unix time).");
    for (int env = 1; env <= 3; env++)
        if (e[env].loaded)
            fprintf(f,
                    "struere_bundle_loaded_timestamp_seconds{environment=\"%s\""
                    "} %lld\n",
                    struere_env_name(env), e[env].loaded_at);
    family(f, "struere_ready", "gauge",
           "Whether the environment is ready (1): its branch loaded and "
           "verified, as /ready says.");
    per_env(f, "struere_ready", ready);
    family(f, "struere_bundle_error", "gauge",
           "Why the environment's last load failed (1), while it did.");
    for (int env = 1; env <= 3; env++)
        if (e[env].err[0]) {
            fprintf(f, "struere_bundle_error{environment=\"%s\",error=\"",
                    struere_env_name(env));
            label(f, e[env].err);
            fputs("\"} 1\n", f);
        }
    family(
        f, "struere_reloads_total", "counter",
        "Bundles of a new commit loaded (the first included), by environment.");
    per_env(f, "struere_reloads_total", reloads);
    family(f, "struere_reload_failures_total", "counter",
           "Loads refused (the old bundle kept), by environment.");
    per_env(f, "struere_reload_failures_total", failed);
    family(f, "struere_decision_log_dropped_total", "counter",
           "Decision log lines dropped (the log could not keep up, or out of "
           "memory).");
    fprintf(f, "struere_decision_log_dropped_total %lu\n",
            atomic_load(&m->dropped));
    family(f, "struere_http_requests_in_flight", "gauge",
           "Requests being answered.");
    fprintf(f, "struere_http_requests_in_flight %ld\n",
            atomic_load(&s->inflight));
    if (!srv_stream_close(f, &short_of_memory)) {
        free(buf);
        return NULL;
    }
    return buf;
}
