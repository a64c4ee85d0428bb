/*
 * test_schema.c - the embedded schemas load, and the validator reports
 * each keyword's violation with the right code.
 */
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "harness.h"
#include "node.h"
#include "schema.h"
#include "source.h"
#include "yaml_load.h"

static struct node *load(struct arena *a, const char *text)
{
    struct diag_list d;
    diag_list_init(&d, a);
    struct source *s = source_from_bytes(a, "t.yaml", text, strlen(text));
    int failed;
    return yaml_load(a, s, 0, s->len, 1, &d, &failed);
}

/* The codes reported for doc against the named embedded schema. */
static const char *first_code(const struct schema_set *set, const char *kind,
                              const char *doc, struct arena *a, size_t *n)
{
    struct diag_list d;
    diag_list_init(&d, a);
    schema_validate(schema_set_get(set, kind), load(a, doc), kind, &d);
    *n = d.n;
    return d.n ? d.items[0].code : "";
}

static void test_embedded(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    diag_list_init(&d, &a);
    struct schema_set set;
    CHECK(schema_set_load(&set, &a, &d) == 0 && d.n == 0);
    const char *kinds[] = {"project",    "agent", "data", "role",
                           "automation", "tool",  "eval", "fixture"};
    for (size_t i = 0; i < 8; i++)
        CHECK(schema_set_get(&set, kinds[i]) != NULL);
    CHECK(schema_set_file(&set, "builtin-tools") != NULL);
    CHECK(
        schema_default(schema_set_get(&set, "data"), "userIdField") &&
        node_is_str(schema_default(schema_set_get(&set, "data"), "userIdField"),
                    "userId"));
    schema_set_free(&set);
    arena_free(&a);
}

static void test_codes(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    diag_list_init(&d, &a);
    struct schema_set set;
    schema_set_load(&set, &a, &d);
    size_t n;
    const char *role_ok = "name: R\npolicies:\n  - {resource: x, actions: "
                          "[list], effect: allow}\n";
    CHECK(!strcmp(first_code(&set, "role", role_ok, &a, &n), "") && n == 0);
    CHECK(!strcmp(first_code(&set, "role",
                             "name: R\npolicies:\n  - {resource: x, "
                             "actions: [list], effect: alow}\n",
                             &a, &n),
                  "bad-enum"));
    CHECK(!strcmp(first_code(&set, "role",
                             "name: R\npolicies:\n  - {resource: x, "
                             "actions: [list], effect: allow, priority: "
                             "1}\n",
                             &a, &n),
                  "policy-priority"));
    CHECK(!strcmp(first_code(&set, "role", "name: R\npolicies: []\n", &a, &n),
                  "too-few-items"));
    CHECK(!strcmp(first_code(&set, "role",
                             "name: R\npolicis: []\npolicies:\n  - "
                             "{resource: x, actions: [list], effect: "
                             "allow}\n",
                             &a, &n),
                  "unknown-key"));
    CHECK(!strcmp(first_code(&set, "role", "policies: 3\n", &a, &n),
                  "wrong-type"));
    CHECK(!strcmp(first_code(&set, "agent",
                             "name: A\nslug: a\nversion: '1'\nsystemPrompt: "
                             "p\nmodel: {model: gpt-5}\n",
                             &a, &n),
                  "model-provider"));
    CHECK(!strcmp(first_code(&set, "agent",
                             "name: A\nslug: a\nversion: '1'\nsystemPrompt: "
                             "p\nmodel: {model: openai/x, temperature: 9}\n",
                             &a, &n),
                  "out-of-range"));
    CHECK(!strcmp(first_code(&set, "agent",
                             "name: A\nslug: A_b\nversion: '1'\n"
                             "systemPrompt: p\n",
                             &a, &n),
                  "bad-slug"));
    CHECK(!strcmp(first_code(&set, "agent", "name: A\n", &a, &n),
                  "missing-field"));
    /* oneOf: the assertion's type picks the branch that is reported */
    const char *eval = "suite: S\nslug: s\nagent: a\ncases:\n  - name: c\n"
                       "    turns:\n      - user: hi\n        assertions:\n"
                       "          - {type: llm_judge}\n";
    const char *code = first_code(&set, "eval", eval, &a, &n);
    CHECK(!strcmp(code, "missing-field") && n == 1);
    schema_set_free(&set);
    arena_free(&a);
}

const struct test schema_tests[] = {
    {"embedded schemas", test_embedded},
    {"validator codes", test_codes},
    {0, 0},
};
