/*
 * fuzz_automation.c - libFuzzer target for struere_automations_fire. It
 * fires inputs against a real development or production bundle, read
 * once from the file named by STRUERE_FUZZ_BUNDLE (the example's
 * development.stb: `struere -C fixtures/example build --out DIR`).
 *
 * Input byte 0 picks what is fuzzed:
 *  - even: the event. The rest is split at NUL bytes into type, action,
 *    data and previous data (and entity id). A type or action of at most
 *    one byte stands for one of the bundle's data types or one of the
 *    three actions, so that the fuzzer reaches matching automations.
 *  - odd: an automation's body. Byte 1 picks the automation; the rest, up
 *    to a NUL, replaces its body in a copy of the bundle (padded with
 *    spaces or cut to the old length, CRCs recomputed), and what follows
 *    the NUL is the data of an event on that automation's own `on`.
 *
 * Checked on every call: a failure leaves *out NULL and *len 0 with a code
 * and a message; a success gives NUL-terminated text of *len bytes that
 * is a JSON array (when not nested past the reader's depth), the same on a
 * second call. `make fuzz` builds and runs it (build/fuzz/fuzz-automation,
 * seeds and dictionary in tests/fuzz/); `make test` replays its corpus
 * (tests/fuzz/replay-runtime.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/builder.h"
#include "rt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *bundle_bytes;
static size_t bundle_len;
static struere_runtime *runtime;

static const char *const actions[] = {"created", "updated", "deleted"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("STRUERE_FUZZ_BUNDLE");
    struere_error err;
    (void)argc, (void)argv;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        fprintf(stderr, "fuzz_automation: set STRUERE_FUZZ_BUNDLE to a "
                        "development or production bundle\n");
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    bundle_len = (size_t)ftell(f);
    rewind(f);
    bundle_bytes = malloc(bundle_len);
    if (!bundle_bytes || fread(bundle_bytes, 1, bundle_len, f) != bundle_len)
        exit(1);
    fclose(f);
    if (struere_runtime_open_file(&runtime, path, 0, &err) < 0 ||
        struere_runtime_env(runtime) == STRUERE_ENV_EVAL) {
        fprintf(stderr, "fuzz_automation: %s: %s\n", path,
                runtime ? "an eval bundle" : err.message);
        exit(1);
    }
    return 0;
}

/* The deepest nesting of brackets outside strings. */
static size_t depth_of(const char *s, size_t n)
{
    size_t d = 0, max = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        if (in) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in = 0;
        } else if (s[i] == '"') {
            in = 1;
        } else if (s[i] == '[' || s[i] == '{') {
            if (++d > max)
                max = d;
        } else if (s[i] == ']' || s[i] == '}') {
            d--;
        }
    }
    return max;
}

/* Fires `ev` twice and checks every promise of the header. */
static void check_fire(const struere_runtime *rt, const struere_event *ev)
{
    char *out = (char *)&out, *again = NULL;
    size_t len = 99, len2 = 0;
    struere_error err;
    int rc = struere_automations_fire(&out, &len, rt, ev, &err);
    if (rc < 0) {
        if (out || len || err.code != rc || !err.message[0] ||
            (rc != STRUERE_EINVAL && rc != STRUERE_EJSON &&
             rc != STRUERE_ECORRUPT && rc != STRUERE_ENOMEM))
            abort();
        return;
    }
    if (rc != 0 || !out || strlen(out) != len || err.code != 0)
        abort();
    struere_json v;
    if (rt_json_value(out, len, &v) < 0) {
        if (depth_of(out, len) <= RT_JSON_MAX_DEPTH)
            abort();
    } else if (rt_json_kind(v) != STRUERE_JSON_ARRAY) {
        abort();
    }
    if (struere_automations_fire(&again, &len2, rt, ev, NULL) != 0 ||
        len2 != len || memcmp(again, out, len) != 0)
        abort();
    struere_free(out);
    struere_free(again);
}

/* The next NUL-separated part of the `size` bytes at `in`, from `*pos`,
 * as a malloc'd NUL-terminated copy (exact size, so that ASan sees
 * overreads), or NULL when the parts are used up. */
static char *next_part(const uint8_t *in, size_t size, size_t *pos, size_t *len)
{
    if (*pos > size)
        return NULL;
    const uint8_t *nul = memchr(in + *pos, 0, size - *pos);
    size_t n = nul ? (size_t)(nul - in) - *pos : size - *pos;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, in + *pos, n);
    s[n] = 0;
    *len = n;
    *pos += n + 1;
    return s;
}

static void fuzz_event(const uint8_t *in, size_t size)
{
    size_t tn = 0, an = 0, dn = 0, pn = 0, idn = 0, pos = 0;
    char *type = next_part(in, size, &pos, &tn);
    char *action = next_part(in, size, &pos, &an);
    char *data = next_part(in, size, &pos, &dn);
    char *prev = next_part(in, size, &pos, &pn);
    char *id = next_part(in, size, &pos, &idn);
    const struere_bundle *b = struere_runtime_bundle(runtime);
    size_t ntypes = struere_bundle_count(b, STRUERE_KIND_DATA);
    struere_event ev = {type, action, id, data, dn, prev, pn};
    if (type && tn <= 1 && ntypes)
        struere_bundle_entry(&ev.type, NULL, NULL, b, STRUERE_KIND_DATA,
                             (tn ? (unsigned char)type[0] : 0) % ntypes, NULL);
    if (action && an <= 1)
        ev.action = actions[(an ? (unsigned char)action[0] : 0) % 3];
    if (data) {
        /* the data without its NUL, to catch reads past data_len */
        char *exact = malloc(dn ? dn : 1);
        if (exact) {
            memcpy(exact, data, dn);
            ev.data = exact;
            check_fire(runtime, &ev);
            free(exact);
        }
    } else {
        check_fire(runtime, &ev);
    }
    free(type), free(action), free(data), free(prev), free(id);
}

/* A JSON string's text (no escapes expected: slugs and actions) copied
 * into buf; "" when absent. */
static void get_str(const char *json, size_t len, const char *path, char *buf,
                    size_t cap)
{
    struere_json v;
    buf[0] = 0;
    if (struere_json_get(&v, json, len, path, NULL) == 0)
        struere_json_string(buf, cap, NULL, v, NULL);
}

static void fuzz_body(const uint8_t *p, const uint8_t *end)
{
    const struere_bundle *b = struere_runtime_bundle(runtime);
    size_t n = struere_bundle_count(b, STRUERE_KIND_AUTOMATION), len;
    const char *body;
    char type[128], action[32];
    if (!n || p >= end)
        return;
    struere_bundle_entry(NULL, &body, &len, b, STRUERE_KIND_AUTOMATION,
                         *p++ % n, NULL);
    get_str(body, len, "on.entityType", type, sizeof(type));
    get_str(body, len, "on.action", action, sizeof(action));

    /* the new body: its bytes up to a NUL, in the old body's place */
    const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
    size_t bn = (size_t)((nul ? nul : end) - p);
    size_t at = (size_t)(body - (const char *)struere_bundle_bytes(b, NULL));
    unsigned char *copy = malloc(bundle_len);
    if (!copy)
        return;
    memcpy(copy, bundle_bytes, bundle_len);
    memset(copy + at, ' ', len);
    memcpy(copy + at, p, bn < len ? bn : len);
    tb_fix_crcs(copy, bundle_len);

    struere_bundle *nb = NULL;
    struere_runtime *rt = NULL;
    if (struere_bundle_open_memory(&nb, copy, bundle_len, 0, NULL) == 0 &&
        rt_runtime_new(&rt, nb, NULL) < 0)
        struere_bundle_free(nb);
    free(copy);
    if (!rt)
        return; /* not valid UTF-8, or a NUL: the verifier refused it */

    const char *data = nul ? (const char *)nul + 1 : "{}";
    size_t dn = nul ? (size_t)(end - nul - 1) : 2;
    struere_event ev = {
        type, action[0] ? action : "created", "rec_1", data, dn, "{}", 2};
    check_fire(rt, &ev);
    ev.data = "{}";
    ev.data_len = 2;
    check_fire(rt, &ev);
    struere_runtime_free(rt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 20))
        return 0;
    if (data[0] % 2 == 0)
        fuzz_event(data + 1, size - 1);
    else
        fuzz_body(data + 1, data + size);
    return 0;
}
