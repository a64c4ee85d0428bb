/*
 * test_schema.c - the embedded schemas load, and the validator reports
 * each keyword's violation with the right code.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "embedded.h"
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

/* The first code reported for tree root against the named embedded
 * schema ("" for none), and how many are reported, in *n. */
static const char *first_code_of(const struct schema_set *set, const char *kind,
                                 struct node *root, struct arena *a, size_t *n)
{
    struct diag_list d;
    diag_list_init(&d, a);
    schema_validate(schema_set_get(set, kind), root, kind, &d);
    *n = d.n;
    return d.n ? d.items[0].code : "";
}

/* The same for the tree of doc. */
static const char *first_code(const struct schema_set *set, const char *kind,
                              const char *doc, struct arena *a, size_t *n)
{
    return first_code_of(set, kind, load(a, doc), a, n);
}

/* Gives each scalar under n that holds a '~' a copy with each '~' a NUL
 * (the loader's strings may be shared: never written). */
static void tilde_to_nul(struct arena *a, struct node *n)
{
    if (n->type == NODE_MAP || n->type == NODE_SEQ) {
        unsigned kids = n->type == NODE_MAP ? 2 * n->n : n->n;
        for (unsigned k = 0; k < kids; k++)
            tilde_to_nul(a, &n->kids[k]);
        return;
    }
    if (!n->str || !memchr(n->str, '~', n->len))
        return;
    char *copy = arena_strndup(a, n->str, n->len);
    for (char *c = copy; c && c < copy + n->len; c++)
        if (*c == '~')
            *c = '\0';
    if (copy)
        n->str = copy;
}

/* As first_code, with each '~' of doc's strings made a NUL once loaded. */
static const char *first_code_nul(const struct schema_set *set,
                                  const char *kind, const char *doc,
                                  struct arena *a, size_t *n)
{
    struct node *root = load(a, doc);
    if (root)
        tilde_to_nul(a, root);
    return first_code_of(set, kind, root, a, n);
}

/* The first code schema s reports for a string node of text (NULL: none
 * reported), and how many it reports, in *n. */
static const char *text_code(const struct schema *s, const char *text,
                             size_t *n)
{
    static char code[64];
    struct arena scratch;
    arena_init(&scratch);
    struct diag_list got;
    diag_list_init(&got, &scratch);
    struct node t;
    node_init(&t, NODE_STRING, NULL, 1, 1);
    t.str = text;
    t.len = (unsigned)strlen(text);
    schema_validate(s, &t, "value", &got);
    *n = got.n;
    if (got.n)
        snprintf(code, sizeof(code), "%s", got.items[0].code);
    arena_free(&scratch);
    return got.n ? code : NULL;
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

/* Whether two trees have the same nodes, of the same types and texts,
 * at the same positions. (Not block_indent: the packed form has no
 * place for it, and nothing reports inside a schema's text.) */
static bool same_tree(const struct node *x, const struct node *y)
{
    if (!node_equal(x, y) || x->type != y->type || x->line != y->line ||
        x->col != y->col || x->n != y->n)
        return false;
    if (x->type != NODE_MAP && x->type != NODE_SEQ &&
        (node_len(x) != node_len(y) || memcmp(x->str, y->str, node_len(x) + 1)))
        return false;
    size_t kids = x->type == NODE_MAP   ? 2 * (size_t)x->n
                  : x->type == NODE_SEQ ? x->n
                                        : 0;
    for (size_t i = 0; i < kids; i++)
        if (!same_tree(&x->kids[i], &y->kids[i]))
            return false;
    return true;
}

/* The trees the build packed (scripts/pack_schemas.c) are what the YAML
 * adapter makes of each embedded schema's text now. */
static void test_packed_trees(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    diag_list_init(&d, &a);
    struct schema_set set;
    CHECK(schema_set_load(&set, &a, &d) == 0 && d.n == 0);
    CHECK(embedded_schemas_count > 0 &&
          embedded_schema_trees_count == embedded_schemas_count);
    for (size_t i = 0; i < embedded_schemas_count; i++) {
        const struct embedded_file *e = &embedded_schemas[i];
        struct node *parsed = load(&a, e->text);
        const struct node *packed = schema_set_file(&set, e->name);
        CHECK(parsed && packed && parsed->type == NODE_MAP);
        CHECK(packed && parsed && same_tree(packed, parsed));
    }
    /* the comparison sees a change */
    struct node *agent = load(&a, embedded_schemas[0].text);
    CHECK(agent && agent->n > 1);
    if (agent && agent->n > 1) {
        agent->kids[1].col++;
        CHECK(
            !same_tree(schema_set_file(&set, embedded_schemas[0].name), agent));
    }
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
    /* the loader refuses a NUL (YAML "\0"): nul-character, and no tree */
    {
        struct diag_list nd;
        diag_list_init(&nd, &a);
        const char *doc = "name: A\nslug: \"a\\0b\"\n";
        struct source *s = source_from_bytes(&a, "t.yaml", doc, strlen(doc));
        int failed = 0;
        CHECK(!yaml_load(&a, s, 0, s->len, 1, &nd, &failed) && failed &&
              nd.n == 1 && !strcmp(nd.items[0].code, "nul-character") &&
              nd.items[0].line == 2 && nd.items[0].col == 9);
        /* keys that differ after a NUL are not duplicates (more than 16
         * keys: the sorted comparison), and only the first NUL is told */
        char big[600];
        size_t at = (size_t)snprintf(big, sizeof(big), "model:\n");
        for (int k = 0; k < 16; k++)
            at += (size_t)snprintf(big + at, sizeof(big) - at, "  k%d: 1\n", k);
        snprintf(big + at, sizeof(big) - at,
                 "  \"q\\0x\": 1\n  \"q\\0y\": 2\n");
        struct diag_list kd;
        diag_list_init(&kd, &a);
        s = source_from_bytes(&a, "t.yaml", big, strlen(big));
        failed = 0;
        CHECK(!yaml_load(&a, s, 0, s->len, 1, &kd, &failed) && failed &&
              kd.n == 1 && !strcmp(kd.items[0].code, "nul-character") &&
              kd.items[0].line == 18 && kd.items[0].col == 5);
    }
    /* yet a pattern sees the whole string of a tree made another way: a
     * NUL is a byte no pattern allows, not the string's end (it was:
     * "a\0b" passed as "a", by hand for slugs, by regexec for the
     * others); '~' below is made a NUL after loading */
    CHECK(!strcmp(first_code_nul(&set, "agent",
                                 "name: A\nslug: a~b\nversion: '1'\n"
                                 "systemPrompt: p\n",
                                 &a, &n),
                  "bad-slug"));
    CHECK(!strcmp(first_code_nul(&set, "fixture",
                                 "name: F\nslug: f\nentities:\n  - {ref: "
                                 "a~b, type: t, data: {}}\n",
                                 &a, &n),
                  "bad-ref"));
    CHECK(!strcmp(first_code_nul(&set, "agent",
                                 "name: A\nslug: a\nversion: '1'\n"
                                 "systemPrompt: p~q\n",
                                 &a, &n),
                  "") &&
          n == 0);
    CHECK(!strcmp(first_code(&set, "fixture",
                             "name: F\nslug: f\nentities:\n  - {ref: "
                             "a.b, type: t, data: {}}\n",
                             &a, &n),
                  "") &&
          n == 0);
    /* oneOf: the assertion's type picks the branch that is reported */
    const char *eval = "suite: S\nslug: s\nagent: a\ncases:\n  - name: c\n"
                       "    turns:\n      - user: hi\n        assertions:\n"
                       "          - {type: llm_judge}\n";
    const char *code = first_code(&set, "eval", eval, &a, &n);
    CHECK(!strcmp(code, "missing-field") && n == 1);
    schema_set_free(&set);
    arena_free(&a);
}

/* A slug is matched against its pattern by hand (schema.c): over every
 * string of up to 4 bytes of an alphabet that has each kind of byte the
 * pattern cares about and the bytes on either side of its ranges, the
 * validator accepts exactly what glibc's regexec matches with the pattern
 * the built-in schemas give. */
static void test_slug_shape(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    diag_list_init(&d, &a);
    struct schema_set set;
    CHECK(schema_set_load(&set, &a, &d) == 0);
    const struct schema *slug =
        schema_property(schema_set_get(&set, "agent"), "slug");
    regex_t re;
    bool compiled =
        regcomp(&re, "^[a-z0-9]+(-[a-z0-9]+)*$", REG_EXTENDED | REG_NOSUB) == 0;
    CHECK(slug && compiled);
    if (!slug || !compiled) {
        if (compiled)
            regfree(&re);
        schema_set_free(&set);
        arena_free(&a);
        return;
    }
    static const char alphabet[] = "az09-`{/:@[Z_.\n\xc3\xff";
    const size_t k = sizeof(alphabet) - 1;
    size_t accepted = 0, refused = 0, differ = 0;
    char text[5];
    for (size_t len = 0; len <= 4; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= k;
        for (size_t x = 0; x < total; x++) {
            size_t v = x;
            for (size_t i = 0; i < len; i++, v /= k)
                text[i] = alphabet[v % k];
            text[len] = '\0';
            size_t n;
            text_code(slug, text, &n);
            bool ok = n == 0, want = regexec(&re, text, 0, NULL, 0) == 0;
            accepted += ok;
            refused += !ok;
            differ += ok != want;
        }
    }
    CHECK(differ == 0);
    /* slugs of a, z, 0, 9: 4 + 16 + (64 + 16) + (256 + 64 + 64) */
    CHECK(accepted == 484 && refused > 60000);
    regfree(&re);
    schema_set_free(&set);
    arena_free(&a);
}

/* minLength and maxLength count characters, not bytes: every text of up
 * to five characters, each of one to four UTF-8 bytes, against bounds
 * around them; the number of characters is known by construction. */
static void test_text_lengths(void)
{
    static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80"};
    const long mins[] = {-1, 0, 1, 2, 3, 5, 6};
    const long maxs[] = {-1, 0, 1, 3, 4, 5, 8};
    struct arena a;
    arena_init(&a);
    size_t wrong = 0, short_seen = 0, long_seen = 0, texts = 0;
    for (size_t mi = 0; mi < sizeof(mins) / sizeof(*mins); mi++)
        for (size_t xi = 0; xi < sizeof(maxs) / sizeof(*maxs); xi++) {
            char doc[96] = "type: string\n";
            if (mins[mi] >= 0)
                snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc),
                         "minLength: %ld\n", mins[mi]);
            if (maxs[xi] >= 0)
                snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc),
                         "maxLength: %ld\n", maxs[xi]);
            struct diag_list d;
            diag_list_init(&d, &a);
            const struct schema *sc =
                schema_compile_data(&a, load(&a, doc), &d);
            CHECK(sc && d.n == 0);
            if (!sc)
                continue;
            /* n characters: the digits of k in base 4 pick them */
            for (long n = 0; n <= 5; n++)
                for (long k = 0, end = 1L << (2 * n); k < end; k++) {
                    char text[32] = "";
                    for (long i = 0, v = k; i < n; i++, v /= 4)
                        strcat(text, chars[v % 4]);
                    size_t got;
                    const char *code = text_code(sc, text, &got);
                    const char *want =
                        mins[mi] >= 0 && n < mins[mi]   ? "too-short"
                        : maxs[xi] >= 0 && n > maxs[xi] ? "too-long"
                                                        : "";
                    wrong += got > 1 || strcmp(code ? code : "", want) != 0;
                    short_seen += !strcmp(want, "too-short");
                    long_seen += !strcmp(want, "too-long");
                    texts++;
                }
        }
    CHECK(wrong == 0);
    CHECK(texts == 49 * 1365 && short_seen > 0 && long_seen > 0);
    arena_free(&a);
}

const struct test schema_tests[] = {
    {"embedded schemas", test_embedded},
    {"packed schema trees", test_packed_trees},
    {"validator codes", test_codes},
    {"slug pattern by hand", test_slug_shape},
    {"text lengths in characters", test_text_lengths},
    {0, 0},
};
