/*
 * bench_automation.c - times struere_automations_fire.
 *
 *   bench_automation example BUNDLE   the example project's events (what
 *                                     each of its automations fires on,
 *                                     and near misses), one row each
 *   bench_automation scan BUNDLE      data types of any bundle (up to 100,
 *                                     spread over its table) x the three
 *                                     actions, data {}: the cost of walking
 *                                     all automations per event
 *
 * Each event is timed in batches (the median of ROUNDS batches, per call)
 * after a warm-up; the answer of each call is freed inside the timing, as
 * a caller would. Prints a Markdown table.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "struere.h"

#define ROUNDS 31

typedef struct bench_event {
    const char *label;
    struere_event ev;
} bench_event;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One call, its answer freed; the number of automations it fired in
 * `*fired` (counted outside the timing). -1 when the call fails. */
static int call(const struere_runtime *rt, const struere_event *ev,
                size_t *out_len)
{
    char *out;
    size_t len;
    struere_error err;
    if (struere_automations_fire(&out, &len, rt, ev, &err) < 0) {
        fprintf(stderr, "fire failed: %s\n", err.message);
        return -1;
    }
    *out_len = len;
    struere_free(out);
    return 0;
}

/* Calls per batch so that a batch takes about 2 ms. */
static size_t batch_size(const struere_runtime *rt, const struere_event *ev)
{
    size_t n = 1, len;
    for (;;) {
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            call(rt, ev, &len);
        if (now_ns() - t0 > 2e6 || n >= (1u << 24))
            return n;
        n *= 2;
    }
}

/* Median and minimum ns per call over ROUNDS batches. */
static int time_event(const struere_runtime *rt, const struere_event *ev,
                      double *median, double *best)
{
    double per[ROUNDS];
    size_t len;
    if (call(rt, ev, &len) < 0)
        return -1;
    size_t n = batch_size(rt, ev);
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_ns();
        for (size_t i = 0; i < n; i++)
            call(rt, ev, &len);
        per[r] = (now_ns() - t0) / (double)n;
    }
    qsort(per, ROUNDS, sizeof(per[0]), cmp_double);
    *median = per[ROUNDS / 2];
    *best = per[0];
    return 0;
}

/* The slugs the event fires, comma-separated (untimed). */
static void fired(const struere_runtime *rt, const struere_event *ev, char *buf,
                  size_t cap)
{
    char *out;
    size_t len, used = 0;
    buf[0] = 0;
    if (struere_automations_fire(&out, &len, rt, ev, NULL) < 0)
        return;
    for (int i = 0;; i++) {
        char path[32], s[96];
        struere_json v;
        snprintf(path, sizeof(path), "%d.automation", i);
        if (struere_json_get(&v, out, len, path, NULL) < 0 ||
            struere_json_string(s, sizeof(s), NULL, v, NULL) < 0)
            break;
        used +=
            (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", s);
        if (used >= cap)
            break;
    }
    struere_free(out);
}

static void event(bench_event *e, const char *label, const char *type,
                  const char *action, const char *data, const char *prev)
{
    e->label = label;
    e->ev.type = type;
    e->ev.action = action;
    e->ev.entity_id = "rec_0001";
    e->ev.data = data;
    e->ev.data_len = strlen(data);
    e->ev.previous = prev;
    e->ev.previous_len = prev ? strlen(prev) : 0;
}

#define SESSION                                                                \
    "{\"studentId\":\"stu_7\",\"teacherId\":\"tch_3\",\"subject\":\"math\","   \
    "\"startTime\":\"2026-03-02T15:00:00Z\",\"durationMinutes\":60,"           \
    "\"price\":45.5,\"location\":{\"mode\":\"online\",\"meetingUrl\":"         \
    "\"https://meet.example/x\"},\"notes\":\"Fractions, then word "            \
    "problems.\",\"isTrial\":false,\"status\":"

static size_t example_events(bench_event *e)
{
    size_t n = 0;
    event(&e[n++], "session updated, completed (bill)", "session", "updated",
          SESSION "\"completed\"}", "{\"status\":\"scheduled\"}");
    event(&e[n++], "session updated, scheduled (reminder)", "session",
          "updated", SESSION "\"scheduled\"}", "{\"status\":\"scheduled\"}");
    event(&e[n++], "session deleted, scheduled (cancel)", "session", "deleted",
          SESSION "\"scheduled\"}", NULL);
    event(&e[n++], "payment created, pending (invoice)", "payment", "created",
          "{\"guardianId\":\"gdn_2\",\"sessionId\":\"ses_42\",\"amount\":45.5,"
          "\"currency\":\"USD\",\"status\":\"pending\",\"description\":\"math "
          "lesson\",\"checkoutUrl\":\"https://pay.example/c/1\"}",
          NULL);
    event(&e[n++], "guardian created, whatsapp (welcome)", "guardian",
          "created",
          "{\"name\":\"Ana Ruiz\",\"phone\":\"+15125550100\","
          "\"preferredChannel\":\"whatsapp\"}",
          NULL);
    event(&e[n++], "session updated, requested (condition fails)", "session",
          "updated", SESSION "\"requested\"}", "{\"status\":\"requested\"}");
    event(&e[n++], "student updated (no automation)", "student", "updated",
          "{\"name\":\"Sofia\"}", "{\"name\":\"Sofía\"}");
    event(&e[n++], "teacher created (no automation)", "teacher", "created",
          "{\"name\":\"Tom\"}", NULL);
    return n;
}

/* The data types most events are timed on in scan mode: spread evenly
 * over the table, so that the run stays within a minute or so. */
#define SCAN_TYPES 100

/* Up to SCAN_TYPES data types x created/updated/deleted. */
static size_t scan_events(const struere_runtime *rt, bench_event **out)
{
    static const char *const actions[] = {"created", "updated", "deleted"};
    const struere_bundle *b = struere_runtime_bundle(rt);
    size_t all = struere_bundle_count(b, STRUERE_KIND_DATA), n = 0;
    size_t types = all < SCAN_TYPES ? all : SCAN_TYPES;
    bench_event *e = calloc(types * 3 + 1, sizeof(*e));
    if (!e)
        return 0;
    for (size_t i = 0; i < types; i++) {
        const char *slug;
        struere_bundle_entry(&slug, NULL, NULL, b, STRUERE_KIND_DATA,
                             i * all / types, NULL);
        for (int a = 0; a < 3; a++)
            event(&e[n++], slug, slug, actions[a], "{}", "{}");
    }
    *out = e;
    return n;
}

int main(int argc, char **argv)
{
    struere_runtime *rt;
    struere_error err;
    bench_event example[16], *events = example;
    size_t n;
    if (argc != 3 || (strcmp(argv[1], "example") && strcmp(argv[1], "scan"))) {
        fprintf(stderr, "usage: bench_automation example|scan BUNDLE\n");
        return 2;
    }
    if (struere_runtime_open_file(&rt, argv[2], 0, &err) < 0) {
        fprintf(stderr, "%s: %s\n", argv[2], err.message);
        return 1;
    }
    const struere_bundle *b = struere_runtime_bundle(rt);
    printf("bundle %s: %zu automations, %zu data types\n\n", argv[2],
           struere_bundle_count(b, STRUERE_KIND_AUTOMATION),
           struere_bundle_count(b, STRUERE_KIND_DATA));
    int scan = !strcmp(argv[1], "scan");
    n = scan ? scan_events(rt, &events) : example_events(example);
    if (!n) {
        fprintf(stderr, "no events\n");
        return 1;
    }

    double total = 0, *medians = calloc(n, sizeof(double));
    size_t fires = 0;
    if (!scan)
        printf("| event | fires | answer bytes | median µs | min µs |\n"
               "| --- | --- | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < n; i++) {
        double med, best;
        size_t len;
        char which[512];
        if (time_event(rt, &events[i].ev, &med, &best) < 0 ||
            call(rt, &events[i].ev, &len) < 0)
            return 1;
        medians[i] = med;
        total += med;
        fired(rt, &events[i].ev, which, sizeof(which));
        fires += which[0] != 0;
        if (!scan)
            printf("| %s | %s | %zu | %.3f | %.3f |\n", events[i].label,
                   which[0] ? which : "-", len, med / 1e3, best / 1e3);
    }
    qsort(medians, n, sizeof(double), cmp_double);
    printf("\n%zu events (%zu fire something): median of the per-event "
           "medians %.3f µs, mean %.3f µs, %.0f events/s on one thread\n",
           n, fires, medians[n / 2] / 1e3, total / (double)n / 1e3,
           1e9 * (double)n / total);
    if (scan)
        printf("slowest event %.3f µs, fastest %.3f µs\n", medians[n - 1] / 1e3,
               medians[0] / 1e3);
    free(medians);
    if (events != example)
        free(events);
    struere_runtime_free(rt);
    return 0;
}
