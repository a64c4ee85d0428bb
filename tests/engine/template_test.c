/*
 * template_test.c - system-prompt templates against the example project's
 * real bundles: each agent's own prompt through struere_prompt_render, and
 * texts the compiler would refuse (unknown names, bad arguments, deep
 * nesting) through the internal rt_template_render_text on the same
 * agents. Fixture expectations come from fixtures/example/fixtures/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/src/rt_template.h"
#include "engine.h"

#define NOW 1791300000123LL /* 2026-10-06T15:20:00.123Z */

/* ---- a tool callback that records its calls ---- */

enum { TOOL_ECHO, TOOL_TEXT, TOOL_FAIL, TOOL_FAIL_SILENT, TOOL_NULL };

static struct {
    int mode;
    const char *text; /* TOOL_TEXT's result, TOOL_FAIL's message */
    int calls;
    char tool[64];
    char args[512];
    size_t args_len;
} cb;

static int tool_fn(void *user, const char *tool, const char *args,
                   size_t args_len, char **result)
{
    (void)user;
    cb.calls++;
    snprintf(cb.tool, sizeof(cb.tool), "%s", tool);
    snprintf(cb.args, sizeof(cb.args), "%s", args);
    cb.args_len = args_len;
    *result = NULL;
    switch (cb.mode) {
    case TOOL_ECHO: {
        size_t n = strlen(tool) + args_len + 4;
        *result = malloc(n);
        snprintf(*result, n, "<%s %s>", tool, args);
        return 0;
    }
    case TOOL_TEXT:
        *result = malloc(strlen(cb.text) + 1);
        strcpy(*result, cb.text);
        return 0;
    case TOOL_FAIL:
        *result = malloc(strlen(cb.text) + 1);
        strcpy(*result, cb.text);
        return -1;
    case TOOL_FAIL_SILENT:
        return -1;
    default:
        return 0;
    }
}

static void cb_reset(int mode, const char *text)
{
    memset(&cb, 0, sizeof(cb));
    cb.mode = mode;
    cb.text = text;
}

/* ---- rendering ---- */

static int last_rc;
static struere_error last_err;

static struere_prompt_context base_ctx(void)
{
    struere_prompt_context c;
    memset(&c, 0, sizeof(c));
    c.now_ms = NOW;
    c.tool = tool_fn;
    return c;
}

/* Checks the invariants of every answer: *out and *len on failure, the
 * NUL and the length on success. */
static char *checked(int rc, char *out, size_t len)
{
    last_rc = rc;
    if (rc < 0) {
        if (out || len) {
            printf("FAIL a failure left out=%p len=%zu\n", (void *)out, len);
            engine_failed++;
        }
        return NULL;
    }
    if (!out || strlen(out) != len) {
        printf("FAIL len %zu does not match the text\n", len);
        engine_failed++;
    }
    return out;
}

/* `text` rendered as agent `agent`'s prompt (malloc'd), or NULL. */
static char *render(struere_runtime *rt, const char *agent, const char *text,
                    const struere_prompt_context *c)
{
    char *out = (char *)"unset";
    size_t len = 99;
    int rc = rt_template_render_text(rt, agent, text, strlen(text), c, &out,
                                     &len, &last_err);
    return checked(rc, out, len);
}

static char *prompt(struere_runtime *rt, const char *agent,
                    const struere_prompt_context *c)
{
    char *out = (char *)"unset";
    size_t len = 99;
    int rc = struere_prompt_render(&out, &len, rt, agent, c, &last_err);
    return checked(rc, out, len);
}

/* Renders `text` and compares the whole result with `want`. */
#define EXPECT(rt, agent, text, c, want)                                       \
    do {                                                                       \
        char *got_ = render(rt, agent, text, c);                               \
        CHECKF(got_ && !strcmp(got_, want), "rc %d (%s)\n got: %s\nwant: %s",  \
               last_rc, last_err.message, got_ ? got_ : "(null)", want);       \
        free(got_);                                                            \
    } while (0)

/* Renders `text` and checks that the result contains `part`. */
#define CONTAINS(rt, agent, text, c, part)                                     \
    do {                                                                       \
        char *got_ = render(rt, agent, text, c);                               \
        CHECKF(got_ &&strstr(got_, part),                                      \
               "rc %d (%s)\n got: %.600s\nwant: %s", last_rc,                  \
               last_err.message, got_ ? got_ : "(null)", part);                \
        free(got_);                                                            \
    } while (0)

static int has(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* How many times `part` occurs in `s`. */
static int count(const char *s, const char *part)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, part)); p += strlen(part))
        n++;
    return n;
}

/* The raw JSON text of `path` in the body of entry `i` of `kind`. */
static void member(struere_runtime *rt, int kind, size_t i, const char *path,
                   char *buf, size_t cap)
{
    const char *body;
    size_t len;
    struere_json v;
    buf[0] = 0;
    if (struere_bundle_entry(NULL, &body, &len, struere_runtime_bundle(rt),
                             kind, i, NULL) == 0 &&
        struere_json_get(&v, body, len, path, NULL) == 0)
        snprintf(buf, cap, "%.*s", (int)v.len, v.ptr);
}

/* ---- the tests ---- */

/* Every variable of the context, as the billing assistant's. */
static void test_variables(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    const char *names[] = {"guardianPhone", "preferredLanguage",
                           "isReturningFamily", "undeclared"};
    const char *values[] = {"+15125550142", "es", "true", "dropped"};
    c.user_id = "user_office_1";
    c.thread_id = "thread_42";
    c.message = "Which invoices are overdue?";
    c.channel = "dashboard";
    c.param_names = names;
    c.param_values = values;
    c.param_count = 4;
    const char *a = "front-desk";
    EXPECT(ev, a, "{{currentTime}}", &c, "2026-10-06T15:20:00.123Z");
    EXPECT(ev, a, "{{datetime}}", &c, "2026-10-06T15:20:00.123Z");
    EXPECT(ev, a, "{{timestamp}}", &c, "1791300000123");
    EXPECT(ev, a, "{{organizationName}}", &c, "Acme Tutoring");
    EXPECT(ev, a, "{{organizationId}}", &c, "org_acme_tutoring");
    EXPECT(ev, a, "{{agentName}}", &c, "Front Desk");
    EXPECT(ev, a, "{{agent.name}}/{{agent.slug}}", &c, "Front Desk/front-desk");
    EXPECT(ev, a, "{{agent}}", &c,
           "{\"name\":\"Front Desk\",\"slug\":\"front-desk\"}");
    EXPECT(ev, a, "{{userId}} {{threadId}}", &c, "user_office_1 thread_42");
    EXPECT(ev, a, "{{message}}", &c, "Which invoices are overdue?");
    EXPECT(ev, a, "{{threadContext.channel}}", &c, "dashboard");
    EXPECT(ev, a, "{{threadContext.params.guardianPhone}}", &c, "+15125550142");
    /* Declared parameters only, in declaration order; a boolean as one. */
    EXPECT(ev, a, "{{threadContext.params}}", &c,
           "{\"guardianPhone\":\"+15125550142\",\"preferredLanguage\":\"es\","
           "\"isReturningFamily\":true}");
    EXPECT(ev, a, "{{threadContext.params.undeclared}}", &c,
           "[TEMPLATE_ERROR: threadContext.params.undeclared not found]");
    EXPECT(ev, a, "{{threadContext}}", &c,
           "{\"channel\":\"dashboard\",\"params\":{\"guardianPhone\":"
           "\"+15125550142\",\"preferredLanguage\":\"es\","
           "\"isReturningFamily\":true}}");
    /* Paths into arrays and objects of the context. */
    EXPECT(ev, a, "{{entityTypes.0.slug}} {{entityTypes.5.name}}", &c,
           "guardian Teacher");
    EXPECT(ev, a, "{{entityTypes.0.searchFields}}", &c,
           "[\"name\",\"email\",\"phone\"]");
    EXPECT(ev, a, "{{roles.3.name}}", &c, "Office Staff");
    EXPECT(ev, a, "{{entityTypes.01.slug}}|{{entityTypes.6}}", &c,
           "[TEMPLATE_ERROR: entityTypes.01.slug not found]|"
           "[TEMPLATE_ERROR: entityTypes.6 not found]");
    /* A string has no members; a missing context value is not found. */
    EXPECT(ev, a, "{{message.length}}", &c,
           "[TEMPLATE_ERROR: message.length not found]");
    struere_prompt_context bare = base_ctx();
    EXPECT(ev, a, "{{userId}}{{threadId}}{{message}}{{threadContext.channel}}",
           &bare,
           "[TEMPLATE_ERROR: userId not found][TEMPLATE_ERROR: threadId not "
           "found][TEMPLATE_ERROR: message not found][TEMPLATE_ERROR: "
           "threadContext.channel not found]");
    EXPECT(ev, a, "{{threadContext}}", &bare, "{\"params\":{}}");
    /* NULL context: the clock; the same shape of time. */
    char *t = render(ev, a, "{{currentTime}}", NULL);
    CHECKF(t && strlen(t) == 24 && t[10] == 'T' && t[23] == 'Z', "%s",
           t ? t : last_err.message);
    free(t);
}

/* {{roles}} and {{entityTypes}} against the bundle's own bodies. */
static void test_lists(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    char want[65536], name[512], desc[2048], schema[16384], sf[512];
    size_t n =
        struere_bundle_count(struere_runtime_bundle(ev), STRUERE_KIND_ROLE);
    strcpy(want, "[");
    for (size_t i = 0; i < n; i++) {
        member(ev, STRUERE_KIND_ROLE, i, "name", name, sizeof(name));
        member(ev, STRUERE_KIND_ROLE, i, "description", desc, sizeof(desc));
        snprintf(want + strlen(want), sizeof(want) - strlen(want),
                 "%s{\"name\":%s,\"description\":%s}", i ? "," : "", name,
                 desc);
    }
    strcat(want, "]");
    CHECK(n == 5);
    EXPECT(ev, "billing-assistant", "{{roles}}", &c, want);

    n = struere_bundle_count(struere_runtime_bundle(ev), STRUERE_KIND_DATA);
    strcpy(want, "[");
    for (size_t i = 0; i < n; i++) {
        const char *slug;
        struere_bundle_entry(&slug, NULL, NULL, struere_runtime_bundle(ev),
                             STRUERE_KIND_DATA, i, NULL);
        member(ev, STRUERE_KIND_DATA, i, "name", name, sizeof(name));
        member(ev, STRUERE_KIND_DATA, i, "description", desc, sizeof(desc));
        member(ev, STRUERE_KIND_DATA, i, "schema", schema, sizeof(schema));
        member(ev, STRUERE_KIND_DATA, i, "searchFields", sf, sizeof(sf));
        snprintf(want + strlen(want), sizeof(want) - strlen(want),
                 "%s{\"name\":%s,\"slug\":\"%s\",\"description\":%s,"
                 "\"schema\":%s,\"searchFields\":%s}",
                 i ? "," : "", name, slug, desc, schema, sf);
    }
    strcat(want, "]");
    CHECK(n == 6);
    EXPECT(ev, "scheduler", "{{entityTypes}}", &c, want);
}

/* Each error text, and the scanner's edge cases. */
static void test_errors(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    const char *a = "front-desk";
    cb_reset(TOOL_ECHO, NULL);
    EXPECT(ev, a, "{{nope}}", &c, "[TEMPLATE_ERROR: nope not found]");
    EXPECT(ev, a, "{{agent.nope}}", &c,
           "[TEMPLATE_ERROR: agent.nope not found]");
    EXPECT(ev, a, "{{}}|{{   }}", &c,
           "[TEMPLATE_ERROR:  not found]|[TEMPLATE_ERROR:  not found]");
    /* Handlebars blocks are not supported: each tag is an unknown name. */
    EXPECT(ev, a, "{{#each roles}}x{{/each}}", &c,
           "[TEMPLATE_ERROR: #each roles not found]x"
           "[TEMPLATE_ERROR: /each not found]");
    /* Trimmed as JavaScript trims: tabs, newlines, U+00A0, U+3000. */
    EXPECT(ev, a, "{{ \t\n agentName \xc2\xa0\xe3\x80\x80}}", &c, "Front Desk");
    /* The same texts the compiler's unit test (test_text.c, "template
     * white space") reads as {{agentName}}: one scanner on both sides. */
    EXPECT(ev, a,
           "{{ agentName }}|{{\xc2\xa0"
           "agentName}}|{{\tagentName\t}}",
           &c, "Front Desk|Front Desk|Front Desk");
    EXPECT(ev, a, "{{\n agentName\r\n}}", &c, "Front Desk");
    /* U+200B is not white space to JavaScript: not resolved (and check
     * reports it: tests/golden/template-unknown-variable-zero-width). */
    EXPECT(ev, a,
           "{{\xe2\x80\x8b"
           "agentName}}",
           &c,
           "[TEMPLATE_ERROR: \xe2\x80\x8b"
           "agentName not found]");
    EXPECT(ev, a, "{{web.fetch({\"url\":\"x\"})}}", &c,
           "[TEMPLATE_ERROR: web.fetch - tool not found]");
    /* A '-' in the name is still a call (valid tool names take it). */
    EXPECT(ev, a, "{{ lookup-insurance({}) }}", &c,
           "[TEMPLATE_ERROR: lookup-insurance - tool not found]");
    EXPECT(ev, a, "{{price_list({currency: 'USD'})}}", &c,
           "[TEMPLATE_ERROR: price_list - invalid JSON arguments]");
    EXPECT(ev, a, "{{price_list([\"USD\"])}}", &c,
           "[TEMPLATE_ERROR: price_list - invalid JSON arguments]");
    /* Arguments are parsed before the tool is looked up, as in Struere. */
    EXPECT(ev, a, "{{unknown.tool({)}}", &c,
           "[TEMPLATE_ERROR: unknown.tool - invalid JSON arguments]");
    /* Not a call: a name must start with a letter or _, and end in ")". */
    EXPECT(ev, a, "{{9tool()}}{{price_list() x}}", &c,
           "[TEMPLATE_ERROR: 9tool() not found]"
           "[TEMPLATE_ERROR: price_list() x not found]");
    /* Never closed: the rest is text, as Struere leaves it. */
    EXPECT(ev, a, "{{agentName}} and {{agentName", &c,
           "Front Desk and {{agentName");
    EXPECT(ev, a, "{{{agentName}}}", &c,
           "[TEMPLATE_ERROR: {agentName not found]}");
    CHECK(cb.calls == 0);

    /* No callback: every tool the runtime does not answer has no handler;
     * and outside eval, that includes entity.query. */
    c.tool = NULL;
    EXPECT(ev, a, "{{price_list({\"currency\":\"USD\"})}}", &c,
           "[TEMPLATE_ERROR: price_list - no handler]");
    EXPECT(ev, a, "{{agent.chat({\"agent\":\"scheduler\"})}}", &c,
           "[TEMPLATE_ERROR: agent.chat - no handler]");
}

/* The callback: what it is given, and each of its answers. */
static void test_callback(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    const char *names[] = {"guardianPhone"};
    const char *values[] = {"+15125550199"};
    c.param_names = names;
    c.param_values = values;
    c.param_count = 1;
    const char *a = "front-desk";

    cb_reset(TOOL_ECHO, NULL);
    EXPECT(ev, a, "{{price_list( {\"currency\": \"USD\"} )}}", &c,
           "<price_list {\"currency\": \"USD\"}>");
    CHECK(cb.calls == 1 && !strcmp(cb.tool, "price_list") &&
          cb.args_len == strlen(cb.args));
    /* Empty arguments are {}. */
    EXPECT(ev, a, "{{price_list()}}|{{price_list(  \n )}}", &c,
           "<price_list {}>|<price_list {}>");
    /* Nested variables resolve in the arguments, raw; unknown ones stay. */
    EXPECT(
        ev, a,
        "{{check_availability({\"teacherId\":\"{{threadContext.params."
        "guardianPhone}}\",\"who\":\"{{agent.slug}}\",\"x\":\"{{nope}}\"})}}",
        &c,
        "<check_availability {\"teacherId\":\"+15125550199\",\"who\":"
        "\"front-desk\",\"x\":\"{{nope}}\"}>");
    /* A value that breaks the JSON breaks the call, as in Struere. */
    c.message = "say \"hi\"";
    EXPECT(ev, a, "{{price_list({\"m\":\"{{message}}\"})}}", &c,
           "[TEMPLATE_ERROR: price_list - invalid JSON arguments]");

    cb_reset(TOOL_FAIL, "rate limited");
    EXPECT(ev, a, "{{price_list({})}}", &c,
           "[TEMPLATE_ERROR: price_list - rate limited]");
    cb_reset(TOOL_FAIL, "[TEMPLATE_ERROR: price_list - quota]");
    EXPECT(ev, a, "{{price_list({})}}", &c,
           "[TEMPLATE_ERROR: price_list - quota]");
    cb_reset(TOOL_FAIL_SILENT, NULL);
    EXPECT(ev, a, "{{price_list({})}}", &c,
           "[TEMPLATE_ERROR: price_list - execution failed]");
    cb_reset(TOOL_NULL, NULL);
    EXPECT(ev, a, "[{{price_list({})}}]", &c, "[null]");
    /* A permission problem is the callback's to report: it returns []. */
    cb_reset(TOOL_TEXT, "[]");
    EXPECT(ev, a, "{{check_availability({})}}", &c, "[]");
    CHECK(cb.calls == 1);
}

/* Results are cut at 10 KiB of UTF-16 code units. */
static void test_truncation(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    size_t cap = 4 * 10241 + 64;
    char *text = malloc(cap), *want = malloc(cap + 64);
    const char *a = "front-desk", *call = "{{price_list({})}}";

    memset(text, 'a', 10240);
    text[10240] = 0;
    cb_reset(TOOL_TEXT, text);
    EXPECT(ev, a, call, &c, text); /* exactly 10 KiB: whole */

    memset(text, 'a', 10241);
    text[10241] = 0;
    memcpy(want, text, 10240);
    strcpy(want + 10240, "...[truncated]");
    cb_reset(TOOL_TEXT, text);
    EXPECT(ev, a, call, &c, want);

    /* U+00E9 is one unit in two bytes: 10241 of them keep 10240. */
    for (int i = 0; i < 10241; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2);
    text[2 * 10241] = 0;
    memcpy(want, text, 2 * 10240);
    strcpy(want + 2 * 10240, "...[truncated]");
    cb_reset(TOOL_TEXT, text);
    EXPECT(ev, a, call, &c, want);

    /* U+1F600 is two units: 5120 fit exactly, and "x" then overflows. */
    for (int i = 0; i < 5120; i++)
        memcpy(text + 4 * i, "\xf0\x9f\x98\x80", 4);
    text[4 * 5120] = 0;
    cb_reset(TOOL_TEXT, text);
    EXPECT(ev, a, call, &c, text);
    memcpy(want, text, 4 * 5120);
    strcpy(want + 4 * 5120, "...[truncated]");
    strcpy(text + 4 * 5120, "x");
    cb_reset(TOOL_TEXT, text);
    EXPECT(ev, a, call, &c, want);
    /* "x" then 5120 of them: the last would split, so it is left out. */
    text[0] = 'x';
    for (int i = 0; i < 5120; i++)
        memcpy(text + 1 + 4 * i, "\xf0\x9f\x98\x80", 4);
    text[1 + 4 * 5120] = 0;
    memcpy(want, text, 1 + 4 * 5119);
    strcpy(want + 1 + 4 * 5119, "...[truncated]");
    cb_reset(TOOL_TEXT, text);
    EXPECT(ev, a, call, &c, want);
    free(text);
    free(want);
}

/* Nesting at the limit and past it, and the output limit. */
static void test_limits(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    char deep[256] = "", want[256] = "[TEMPLATE_ERROR: ";
    const char *a = "front-desk";
    for (int i = 0; i < RT_TEMPLATE_MAX_DEPTH; i++)
        strcat(deep, "{{");
    for (int i = 0; i < RT_TEMPLATE_MAX_DEPTH; i++)
        strcat(deep, "}}");
    /* 16 levels: one expression whose content is the 15 inner levels. */
    memcpy(want + strlen(want), deep + 2, strlen(deep) - 4);
    want[17 + strlen(deep) - 4] = 0;
    strcat(want, " not found]");
    EXPECT(ev, a, deep, &c, want);
    char deeper[256] = "x{{";
    strcat(deeper, deep);
    strcat(deeper, "}}");
    char *out = render(ev, a, deeper, &c);
    CHECKF(!out && last_rc == STRUERE_ERANGE && has(last_err.message, "16"),
           "rc %d %s", last_rc, last_err.message);

    /* A message that would pass 1 MiB fails the whole rendering. */
    size_t big = RT_TEMPLATE_OUTPUT_MAX - 8;
    char *msg = malloc(big + 1);
    memset(msg, 'm', big);
    msg[big] = 0;
    c.message = msg;
    out = render(ev, a, "12345678{{message}}", &c);
    CHECKF(out && strlen(out) == RT_TEMPLATE_OUTPUT_MAX, "rc %d %s", last_rc,
           last_err.message);
    free(out);
    out = render(ev, a, "123456789{{message}}", &c);
    CHECKF(!out && last_rc == STRUERE_ERANGE, "rc %d", last_rc);
    /* Inside arguments too, and in a JSON-escaped context value. */
    out =
        render(ev, a, "{{price_list({\"m\":\"{{message}}{{message}}\"})}}", &c);
    CHECKF(!out && last_rc == STRUERE_ERANGE, "rc %d", last_rc);
    memset(msg, '\n', big / 2);
    msg[big / 2] = 0;
    c.message = NULL;
    c.channel = msg; /* fits as text, not JSON-escaped */
    out = render(ev, a, "{{threadContext.channel}}", &c);
    CHECKF(out && strlen(out) == big / 2, "rc %d", last_rc);
    free(out);
    out = render(ev, a, "{{threadContext}}", &c);
    CHECKF(!out && last_rc == STRUERE_ERANGE, "rc %d", last_rc);
    free(msg);
}

/* The clock: JavaScript's toISOString for any time in its range. */
static void test_time(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    static const struct {
        int64_t ms;
        const char *iso;
    } cases[] = {
        {-1, "1969-12-31T23:59:59.999Z"},
        {951782400000LL, "2000-02-29T00:00:00.000Z"},
        {253402300800000LL, "+010000-01-01T00:00:00.000Z"},
        {-62198755200000LL, "-000001-01-01T00:00:00.000Z"},
        {-62167219200001LL, "-000001-12-31T23:59:59.999Z"},
        {8640000000000000LL, "+275760-09-13T00:00:00.000Z"},
        {-8640000000000000LL, "-271821-04-20T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c.now_ms = cases[i].ms;
        EXPECT(ev, "scheduler", "{{datetime}}", &c, cases[i].iso);
    }
    c.now_ms = 8640000000000001LL;
    char *out = render(ev, "scheduler", "{{timestamp}}", &c);
    CHECKF(!out && last_rc == STRUERE_EINVAL, "rc %d", last_rc);
}

/* entity.query and entity.get in eval, with the agent's permissions. */
static void test_entities(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    cb_reset(TOOL_ECHO, NULL);
    /* front-desk is an AI assistant: teachers only with an
     * @acmetutoring.com address, hourlyRate hidden, guardians' street
     * redacted. */
    char *out = render(ev, "front-desk",
                       "{{entity.query({\"type\":\"teacher\"})}}", &c);
    CHECK(has(out, "\"_id\":\"teacher-alice\"") &&
          has(out, "\"_id\":\"teacher-carla\""));
    CHECK(!has(out, "teacher-ben") && !has(out, "hourlyRate"));
    free(out);
    /* "}}" inside the arguments closes the expression, as in Struere:
     * nested objects need a space between their closing braces. */
    EXPECT(ev, "front-desk", "{{entity.query({\"filters\":{\"a\":1}})}}", &c,
           "[TEMPLATE_ERROR: entity.query({\"filters\":{\"a\":1 not "
           "found])}}");
    out = render(ev, "front-desk",
                 "{{entity.query({\"type\":\"guardian\",\"filters\":"
                 "{\"phone\":\"+15125550142\"} })}}",
                 &c);
    CHECKF(out && out[0] == '[' && count(out, "\"_id\"") == 1 &&
               has(out, "guardian-maria") && has(out, "\"street\":\"***\""),
           "%s", out ? out : last_err.message);
    free(out);
    /* limit, and JSON.parse's last duplicate key. */
    out = render(ev, "front-desk",
                 "{{entity.query({\"type\":\"teacher\",\"type\":\"student\","
                 "\"limit\":1})}}",
                 &c);
    CHECKF(out && count(out, "\"_id\"") == 1 && has(out, "student-"), "%s",
           out ? out : last_err.message);
    free(out);
    EXPECT(ev, "front-desk", "{{entity.query({\"type\":\"nope\"})}}", &c,
           "[TEMPLATE_ERROR: entity.query - data type \"nope\" not found]");
    EXPECT(ev, "front-desk", "{{entity.query({})}}", &c,
           "[TEMPLATE_ERROR: entity.query - \"type\" must be a string]");
    EXPECT(ev, "front-desk",
           "{{entity.query({\"type\":\"student\",\"limit\":0})}}", &c,
           "[TEMPLATE_ERROR: entity.query - \"limit\" must be a positive "
           "integer]");
    EXPECT(ev, "front-desk",
           "{{entity.query({\"type\":\"student\",\"filters\":[1]})}}", &c,
           "[TEMPLATE_ERROR: entity.query - \"filters\" must be an object]");
    CHECK(cb.calls == 0); /* in eval, entity.* never reach the callback */

    /* The homework helper (learning assistant) may not see payments. */
    EXPECT(ev, "homework-helper", "{{entity.query({\"type\":\"payment\"})}}",
           &c, "[]");
    EXPECT(ev, "homework-helper",
           "{{entity.get({\"id\":\"payment-maria-sep29\"})}}", &c, "[]");
    EXPECT(ev, "homework-helper", "{{entity.get({\"id\":\"no-such\"})}}", &c,
           "[TEMPLATE_ERROR: entity.get - record \"no-such\" not found]");
    EXPECT(ev, "homework-helper", "{{entity.get({\"id\":7})}}", &c,
           "[TEMPLATE_ERROR: entity.get - \"id\" must be a string]");
    /* ... sees only shared reports, and students without their address. */
    out = render(ev, "homework-helper",
                 "{{entity.query({\"type\":\"progress-report\"})}}", &c);
    CHECK(has(out, "report-sofia-weeks1-4") &&
          !has(out, "report-sofia-internal"));
    free(out);
    out = render(ev, "homework-helper",
                 "{{entity.get({\"id\":\"student-sofia\"})}}", &c);
    CHECKF(out && out[0] == '{' && has(out, "\"_id\":\"student-sofia\"") &&
               !has(out, "Cesar Chavez") && !has(out, "\"address\""),
           "%s", out ? out : last_err.message);
    free(out);
    /* entity.get is not a tool of the front desk. */
    EXPECT(ev, "front-desk", "{{entity.get({\"id\":\"student-sofia\"})}}", &c,
           "[TEMPLATE_ERROR: entity.get - tool not found]");

    /* A caller's actor: Maria, a guardian, sees her own children only. */
    struere_actor_spec spec;
    struere_actor *maria = NULL;
    const char *roles[] = {"guardian"};
    memset(&spec, 0, sizeof(spec));
    spec.type = STRUERE_ACTOR_USER;
    spec.id = "user_maria_martinez";
    spec.roles = roles;
    spec.role_count = 1;
    int rc = struere_actor_new(&maria, ev, &spec, &last_err);
    CHECKF(rc == 0, "%s", last_err.message);
    c.actor = maria;
    out = render(ev, "front-desk", "{{entity.query({\"type\":\"student\"})}}",
                 &c);
    CHECKF(has(out, "student-sofia") && has(out, "student-lucas") &&
               !has(out, "student-emma") && !has(out, "student-arjun"),
           "%s", out ? out : last_err.message);
    free(out);
    out = render(ev, "front-desk", "{{entity.query({\"type\":\"payment\"})}}",
                 &c);
    CHECKF(out && count(out, "\"_id\"") == 1 &&
               has(out, "\"_id\":\"payment-maria-sep29\""),
           "%s", out ? out : last_err.message);
    free(out);
    struere_actor_free(maria);
}

/* The agents' own prompts, whole, in eval and outside it. */
static void test_prompts(struere_runtime *ev, struere_runtime *dev,
                         struere_runtime *prod)
{
    struere_prompt_context c = base_ctx();
    const char *names[] = {"guardianPhone",     "preferredLanguage",
                           "isReturningFamily", "studentId",
                           "subject",           "timezone"};
    const char *values[] = {"+15125550142",  "es",   "false",
                            "student-sofia", "math", "America/Chicago"};
    c.user_id = "user_office_1";
    c.thread_id = "thread_42";
    c.message = "hello";
    c.channel = "whatsapp";
    c.param_names = names;
    c.param_values = values;
    c.param_count = 6;
    cb_reset(TOOL_ECHO, NULL);

    char *out = prompt(ev, "billing-assistant", &c);
    CHECK(has(out, "You are Billing Assistant, the billing assistant of Acme "
                   "Tutoring's\nfront office."));
    CHECK(has(out, "(user\nuser_office_1);") &&
          has(out, "It is 2026-10-06T15:20:00.123Z."));
    CHECK(has(out, "[{\"name\":\"AI Assistant\",\"description\":"));
    /* pending invoices: only Priya's; the card number redacted where
     * present. */
    CHECKF(has(out, "right now:\n[{\"_id\":\"payment-priya-oct06\"") &&
               count(out, "\"type\":\"payment\"") == 1,
           "%s", out ? out : last_err.message);
    CHECK(!has(out, "{{") && !has(out, "TEMPLATE_ERROR"));
    /* byte-identical with a fixed clock */
    char *again = prompt(ev, "billing-assistant", &c);
    CHECK(out && again && !strcmp(out, again));
    free(out);
    free(again);

    out = prompt(ev, "front-desk", &c);
    CHECK(has(out, "# Front Desk — Acme Tutoring"));
    CHECK(has(out, "on the **whatsapp**") &&
          has(out, "Phone for this conversation: +15125550142"));
    CHECK(has(out, "\n\n[{\"_id\":\"guardian-maria\""));
    CHECK(has(out, "<price_list {\"currency\": \"USD\"}>") && cb.calls == 1);
    CHECK(has(out, "`locationId` set to `org_acme_tutoring`"));
    CHECK(!has(out, "TEMPLATE_ERROR"));
    free(out);

    /* Without the phone the filter keeps its unresolved variable, which no
     * record matches: an empty list, "a new family". */
    struere_prompt_context anon = c;
    anon.param_count = 0;
    out = prompt(ev, "front-desk", &anon);
    CHECK(has(out, "Phone for this conversation: [TEMPLATE_ERROR: "
                   "threadContext.params.guardianPhone not found]"));
    CHECK(has(out, "(an empty list means a new family):\n\n[]\n"));
    free(out);

    out = prompt(ev, "homework-helper", &c);
    CHECK(has(out, "## The student\n\n{\"_id\":\"student-sofia\""));
    CHECK(has(out, "picked the subject\n\"math\"."));
    CHECK(has(out, "\"_id\":\"session-sofia-oct06\"") &&
          !has(out, "\"_id\":\"session-lucas-oct07\""));
    free(out);

    out = prompt(ev, "scheduler", &c);
    CHECK(has(out, "You are **Scheduler** (`scheduler`)"));
    CHECK(has(out, "## The data you work with\n\n[{\"name\":\"Guardian\","
                   "\"slug\":\"guardian\""));
    CHECK(has(out, "\"_id\":\"session-arjun-chem-request\""));
    free(out);

    /* Outside eval the same calls go to the callback, arguments as
     * written. */
    cb_reset(TOOL_ECHO, NULL);
    out = prompt(dev, "billing-assistant", &c);
    CHECKF(has(out, "<entity.query {\"type\": \"payment\", \"filters\": "
                    "{\"status\": \"pending\"}, \"limit\": 25}>") &&
               cb.calls == 1 && !strcmp(cb.tool, "entity.query"),
           "%s", out ? out : last_err.message);
    free(out);
    cb_reset(TOOL_ECHO, NULL);
    out = prompt(prod, "homework-helper", &c);
    CHECK(has(out, "<entity.get {\"id\": \"student-sofia\"}>") &&
          cb.calls == 3);
    free(out);
    c.tool = NULL;
    out = prompt(prod, "homework-helper", &c);
    CHECK(count(out, "- no handler]") == 3 &&
          has(out, "[TEMPLATE_ERROR: entity.get - no handler]"));
    free(out);
}

static void test_api(struere_runtime *ev)
{
    struere_prompt_context c = base_ctx();
    char *out = prompt(ev, "no-such-agent", &c);
    CHECKF(!out && last_rc == STRUERE_ENOTFOUND &&
               has(last_err.message, "no-such-agent"),
           "rc %d %s", last_rc, last_err.message);
    out = prompt(NULL, "scheduler", &c);
    CHECK(!out && last_rc == STRUERE_EINVAL);
    size_t len;
    CHECK(struere_prompt_render(NULL, &len, ev, "scheduler", &c, NULL) ==
          STRUERE_EINVAL);
    c.param_count = 2;
    out = prompt(ev, "scheduler", &c);
    CHECK(!out && last_rc == STRUERE_EINVAL);
    /* Success clears the error. */
    c.param_count = 0;
    out = prompt(ev, "scheduler", &c);
    CHECK(out && last_err.code == 0 && last_err.message[0] == 0);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: template_test BUNDLE_DIR\n");
        return 2;
    }
    struere_runtime *ev = engine_open(argv[1], "eval");
    struere_runtime *dev = engine_open(argv[1], "development");
    struere_runtime *prod = engine_open(argv[1], "production");
    test_variables(ev);
    test_lists(ev);
    test_errors(ev);
    test_callback(ev);
    test_truncation(ev);
    test_limits(ev);
    test_time(ev);
    test_entities(ev);
    test_prompts(ev, dev, prod);
    test_api(ev);
    struere_runtime_free(ev);
    struere_runtime_free(dev);
    struere_runtime_free(prod);
    return ENGINE_DONE("template");
}
