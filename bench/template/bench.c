/*
 * bench.c - renders per second of each example agent's system prompt
 * (struere_prompt_render), in the eval bundle (entity.query and
 * entity.get answered from fixtures with the agent's permissions) and in
 * the development bundle (every tool call goes to a callback returning a
 * constant text). Beside each, the floor: looking the agent up and
 * decoding its systemPrompt string, which every rendering must do.
 *
 * Usage: template-bench BUNDLE_DIR [SECONDS_PER_CASE]   (default 1)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "struere.h"

static const char *const names[] = {"guardianPhone",     "preferredLanguage",
                                    "isReturningFamily", "studentId",
                                    "subject",           "timezone"};
static const char *const values[] = {
    "+15125550142", "es", "false", "student-sofia", "math", "America/Chicago"};

static int constant_tool(void *user, const char *tool, const char *args,
                         size_t args_len, char **result)
{
    static const char text[] = "| Subject | Online | In person |";
    (void)user, (void)tool, (void)args, (void)args_len;
    *result = malloc(sizeof(text));
    if (!*result)
        return -1;
    memcpy(*result, text, sizeof(text));
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One rendering; its length, or 0 on failure (printed). */
static size_t render_once(const struere_runtime *rt, const char *agent,
                          const struere_prompt_context *c)
{
    char *out;
    size_t len;
    struere_error err;
    if (struere_prompt_render(&out, &len, rt, agent, c, &err) < 0) {
        fprintf(stderr, "%s: %s\n", agent, err.message);
        return 0;
    }
    struere_free(out);
    return len;
}

/* The floor: find the agent, decode its prompt. */
static size_t floor_once(const struere_runtime *rt, const char *agent)
{
    const char *body;
    size_t blen, n = 0;
    struere_json v;
    static char buf[1 << 16];
    if (struere_bundle_lookup(&body, &blen, struere_runtime_bundle(rt),
                              STRUERE_KIND_AGENT, agent, NULL) < 0 ||
        struere_json_get(&v, body, blen, "systemPrompt", NULL) < 0 ||
        struere_json_string(buf, sizeof(buf), &n, v, NULL) < 0)
        return 0;
    return n;
}

/* Runs `what` for `secs` seconds (in batches); renders per second. */
static double rate(const struere_runtime *rt, const char *agent,
                   const struere_prompt_context *c, int floor, double secs,
                   size_t *bytes)
{
    double t0 = now_s(), t;
    long long n = 0;
    do {
        for (int i = 0; i < 100; i++) {
            *bytes = floor ? floor_once(rt, agent) : render_once(rt, agent, c);
            if (!*bytes)
                return 0;
        }
        n += 100;
        t = now_s() - t0;
    } while (t < secs);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    static const char *const envs[] = {"eval", "development"};
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    if (argc < 2 || secs <= 0) {
        fprintf(stderr, "usage: template-bench BUNDLE_DIR [SECONDS]\n");
        return 2;
    }
    struere_prompt_context c;
    memset(&c, 0, sizeof(c));
    c.now_ms = 1791300000123LL;
    c.user_id = "user_office_1";
    c.thread_id = "thread_42";
    c.message = "When is my child's next lesson?";
    c.channel = "whatsapp";
    c.param_names = names;
    c.param_values = values;
    c.param_count = sizeof(names) / sizeof(names[0]);
    c.tool = constant_tool;

    printf("| bundle | agent | output bytes | renders/s | us/render | "
           "floor renders/s | render/floor |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t e = 0; e < 2; e++) {
        char path[4096];
        struere_runtime *rt;
        struere_error err;
        snprintf(path, sizeof(path), "%s/%s.stb", argv[1], envs[e]);
        if (struere_runtime_open_file(&rt, path, 0, &err) < 0) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            return 1;
        }
        const struere_bundle *b = struere_runtime_bundle(rt);
        for (size_t i = 0; i < struere_bundle_count(b, STRUERE_KIND_AGENT);
             i++) {
            const char *slug;
            size_t bytes = 0, fbytes = 0;
            struere_bundle_entry(&slug, NULL, NULL, b, STRUERE_KIND_AGENT, i,
                                 NULL);
            rate(rt, slug, &c, 0, secs / 4, &bytes); /* warm up */
            double r = rate(rt, slug, &c, 0, secs, &bytes);
            double f = rate(rt, slug, &c, 1, secs, &fbytes);
            if (!r || !f)
                return 1;
            printf("| %s | %s | %zu | %.0f | %.2f | %.0f | %.1fx |\n", envs[e],
                   slug, bytes, r, 1e6 / r, f, f / r);
        }
        struere_runtime_free(rt);
    }
    return 0;
}
