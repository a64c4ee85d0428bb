/*
 * fuzz_template.c - libFuzzer target for the system-prompt renderer. The
 * first input byte picks the options (eval or development, callback and
 * its answer, a user actor, no context, or the public entry point on one
 * of the bundle's agents, some of them malformed); the rest, up to a NUL,
 * is the prompt text, and what follows the NUL is the caller's message,
 * channel and parameter value. It is rendered twice as the agent of a
 * small bundle written in memory with tests/runtime/builder.c (data
 * types, roles with scope and masks, fixtures, custom tools), and the
 * answers are checked: same bytes twice, NUL-terminated at `len`, within
 * the limit; the malformed agents must give STRUERE_ECORRUPT.
 *
 * `make fuzz` builds and runs it (build/fuzz/fuzz-template); `make test`
 * replays its corpus (tests/fuzz/replay-runtime.sh).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../runtime/src/rt_template.h"
#include "../runtime/builder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char agent_body[] =
    "{\"name\":\"Fuzz \\\"Agent\\\"\",\"roles\":[\"reader\"],"
    "\"slug\":\"fuzzer\",\"systemPrompt\":\"{{agentName}}\","
    "\"threadContextParams\":[{\"name\":\"p\",\"type\":\"string\"},"
    "{\"name\":\"n\",\"type\":\"number\"},{\"name\":\"b\",\"type\":"
    "\"boolean\"},{\"name\":\"p\",\"type\":\"number\"}],"
    "\"tools\":[{\"builtin\":true,\"name\":\"entity.query\"},"
    "{\"builtin\":true,\"name\":\"entity.get\"},"
    "{\"builtin\":true,\"name\":\"web.search\"},"
    "{\"builtin\":false,\"name\":\"echo\"},"
    "{\"builtin\":false,\"name\":\"bare\"},"
    "{\"builtin\":false,\"name\":\"missing\"}]}";

static const char note_body[] =
    "{\"description\":\"A note \\u00e9\\n{{agentName}}\",\"name\":\"Note\","
    "\"schema\":{\"properties\":{\"owner\":{\"type\":\"string\"},"
    "\"text\":{\"type\":\"string\"},\"n\":{\"type\":\"number\"}},"
    "\"type\":\"object\"},\"searchFields\":[\"text\"],\"slug\":\"note\"}";

static const char person_body[] =
    "{\"boundToRole\":\"reader\",\"name\":\"Person\",\"schema\":{\"type\":"
    "\"object\"},\"slug\":\"person\",\"userIdField\":\"userId\"}";

static const char reader_body[] =
    "{\"description\":\"Reads notes\",\"fieldMasks\":[{\"entityType\":"
    "\"note\",\"fieldPath\":\"data.secret\",\"maskConfig\":{\"replacement\":"
    "\"***\"},\"maskType\":\"redact\"}],\"name\":\"Reader\",\"policies\":["
    "{\"actions\":[\"list\",\"read\"],\"effect\":\"allow\",\"resource\":"
    "\"note\"},{\"actions\":[\"*\"],\"effect\":\"deny\",\"resource\":"
    "\"person\"}],\"scopeRules\":[{\"entityType\":\"note\",\"field\":"
    "\"data.owner\",\"operator\":\"neq\",\"value\":\"literal:hidden\"}],"
    "\"slug\":\"reader\"}";

static const char nobody_body[] =
    "{\"name\":\"Nobody\",\"policies\":[],\"scopeRules\":[],"
    "\"fieldMasks\":[],\"slug\":\"nobody\"}";

static const char fixture_body[] =
    "{\"entities\":["
    "{\"_id\":\"n1\",\"data\":{\"owner\":\"u1\",\"secret\":\"s\",\"text\":"
    "\"hello }} {{agentName}}\",\"n\":1.5},\"status\":\"active\",\"type\":"
    "\"note\"},"
    "{\"_id\":\"n2\",\"data\":{\"owner\":\"hidden\",\"text\":\"x\"},"
    "\"status\":\"active\",\"type\":\"note\"},"
    "{\"_id\":\"p1\",\"data\":{\"userId\":\"u1\"},\"status\":\"active\","
    "\"type\":\"person\"}],\"name\":\"F\",\"relations\":[],\"slug\":\"f\"}";

static const char echo_body[] =
    "{\"description\":\"d\",\"handler\":\"return args\",\"name\":\"echo\","
    "\"parameters\":{\"type\":\"object\"}}";

static const char bare_body[] = "{\"description\":\"d\",\"name\":\"bare\","
                                "\"parameters\":{\"type\":\"object\"}}";

/* Agents the model does not check, which the renderer must refuse. */
static const char broken_tools_body[] =
    "{\"name\":\"B\",\"systemPrompt\":\"x{{agentName}}\",\"tools\":5}";
static const char no_prompt_body[] = "{\"name\":\"N\",\"tools\":[]}";

/* In slug order, as a bundle table is. */
static const char *const agent_slugs[] = {"broken-body", "broken-tools",
                                          "fuzzer", "no-prompt"};

static struere_runtime *runtimes[2]; /* eval, development */
static struere_actor *user;

/* Writes a bundle for `env` to a temporary file and opens it. */
static struere_runtime *open_env(int env)
{
    static const struct tb_entry agents[] = {
        {"broken-body", "[1,2]"},
        {"broken-tools", broken_tools_body},
        {"fuzzer", agent_body},
        {"no-prompt", no_prompt_body}};
    static const struct tb_entry types[] = {{"note", note_body},
                                            {"person", person_body}};
    static const struct tb_entry roles[] = {{"nobody", nobody_body},
                                            {"reader", reader_body}};
    static const struct tb_entry tools[] = {{"bare", bare_body},
                                            {"echo", echo_body}};
    static const struct tb_entry fixtures[] = {{"f", fixture_body}};
    struct tb_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.env = env;
    spec.meta[0] = "fuzz-project";
    spec.meta[3] = "Fuzz Org";
    spec.entries[0] = agents;
    spec.counts[0] = 4;
    spec.entries[1] = types;
    spec.counts[1] = 2;
    spec.entries[2] = roles;
    spec.counts[2] = 2;
    spec.entries[3] = tools;
    spec.counts[3] = 2;
    if (env == STRUERE_ENV_EVAL) {
        spec.entries[6] = fixtures;
        spec.counts[6] = 1;
    }
    size_t len;
    unsigned char *bytes = tb_build(&spec, &len);
    char path[] = "/tmp/fuzz-template-XXXXXX";
    int fd = mkstemp(path);
    struere_runtime *rt = NULL;
    struere_error err;
    if (!bytes || fd < 0 || write(fd, bytes, len) != (ssize_t)len ||
        struere_runtime_open_file(&rt, path, env, &err) < 0) {
        fprintf(stderr, "fuzz_template: cannot open the bundle\n");
        abort();
    }
    close(fd);
    unlink(path);
    free(bytes);
    return rt;
}

static void setup(void)
{
    runtimes[0] = open_env(STRUERE_ENV_EVAL);
    runtimes[1] = open_env(STRUERE_ENV_DEVELOPMENT);
    const char *roles[] = {"reader"};
    struere_actor_spec spec;
    memset(&spec, 0, sizeof(spec));
    spec.type = STRUERE_ACTOR_USER;
    spec.id = "u1";
    spec.roles = roles;
    spec.role_count = 1;
    struere_error err;
    if (struere_actor_new(&user, runtimes[0], &spec, &err) < 0)
        abort();
}

/* The callback: bits 2..3 of the options pick its answer. */
static int tool(void *user_data, const char *name, const char *args,
                size_t args_len, char **result)
{
    unsigned mode = *(const unsigned *)user_data;
    if (strlen(args) != args_len || !*name)
        abort(); /* the library promised a NUL-terminated text */
    switch (mode) {
    case 0: { /* echo the arguments */
        *result = malloc(args_len + strlen(name) + 4);
        sprintf(*result, "%s(%s)", name, args);
        return 0;
    }
    case 1: { /* past the 10 KiB cut */
        size_t n = RT_TEMPLATE_RESULT_UNITS + 7;
        *result = malloc(n + 1);
        memset(*result, 'x', n);
        memcpy(*result + n - 4, "\xf0\x9f\x98\x80", 4);
        (*result)[n] = 0;
        return 0;
    }
    case 2:
        *result = malloc(strlen(args) + 1);
        strcpy(*result, args);
        return -1;
    default:
        *result = NULL;
        return -1;
    }
}

/* struere_prompt_render on one of the bundle's agents: the good one
 * renders its name, the malformed ones are refused. */
static void public_entry(const struere_runtime *rt, const char *agent,
                         const struere_prompt_context *c)
{
    char *out = NULL;
    size_t len = 0;
    struere_error err;
    int rc = struere_prompt_render(&out, &len, rt, agent, c, &err);
    if (!strcmp(agent, "fuzzer")) {
        if (rc != 0 || strcmp(out, "Fuzz \"Agent\"") || len != 12)
            abort();
    } else if (rc != STRUERE_ECORRUPT || out || len || !err.message[0]) {
        abort();
    }
    struere_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!runtimes[0])
        setup();
    if (size < 1)
        return 0;
    unsigned opt = data[0], mode = (opt >> 2) & 3;
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    const char *nul = memchr(text, 0, n);
    char *value = NULL;
    if (nul) {
        size_t vn = n - (size_t)(nul + 1 - text);
        value = malloc(vn + 1);
        memcpy(value, nul + 1, vn);
        value[vn] = 0;
        n = (size_t)(nul - text);
    }
    const char *names[] = {"p", "n", "b", "undeclared"};
    const char *values[] = {value, value, value, value};
    struere_prompt_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.now_ms = 1791300000123LL;
    ctx.user_id = "u1";
    ctx.message = value;
    ctx.channel = value;
    ctx.param_names = names;
    ctx.param_values = values;
    ctx.param_count = value ? 4 : 0;
    if (opt & 1) {
        ctx.tool = tool;
        ctx.tool_user = &mode;
    }
    struere_runtime *rt = runtimes[(opt >> 4) & 1];
    if ((opt & 0x20) && rt == runtimes[0])
        ctx.actor = user;
    const struere_prompt_context *c = (opt & 0x40) ? NULL : &ctx;
    if ((opt & 0xC0) == 0x40) { /* the public entry, the bundle's prompts */
        public_entry(rt, agent_slugs[n % 4], &ctx);
        free(value);
        return 0;
    }

    char *out[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    struere_error err;
    int rc[2];
    for (int i = 0; i < 2; i++) {
        rc[i] = rt_template_render_text(rt, "fuzzer", text, n, c, &out[i],
                                        &len[i], &err);
        if (rc[i] == 0 &&
            (strlen(out[i]) != len[i] || len[i] > RT_TEMPLATE_OUTPUT_MAX))
            abort();
        if (rc[i] < 0 && (out[i] || len[i] || !err.message[0]))
            abort();
        if (!c)
            break;
    }
    if (c && (rc[0] != rc[1] || len[0] != len[1] ||
              (rc[0] == 0 && memcmp(out[0], out[1], len[0]))))
        abort(); /* a fixed clock gives the same bytes */
    struere_free(out[0]);
    struere_free(out[1]);
    free(value);
    return 0;
}
