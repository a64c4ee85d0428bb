/*
 * test_yaml.c - the YAML adapter: scalar resolution, positions, duplicate
 * keys, anchors and aliases, limits; and the overlay merge.
 */
#include <stdint.h>
#include <math.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "harness.h"
#include "limits.h"
#include "node.h"
#include "source.h"
#include "yaml_load.h"

static struct node *load(struct arena *a, const char *text, struct diag_list *d,
                         int *failed)
{
    struct source *s = source_from_bytes(a, "t.yaml", text, strlen(text));
    diag_list_init(d, a);
    return yaml_load(a, s, 0, s->len, 1, d, failed);
}

static bool has_code(const struct diag_list *d, const char *code)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->items[i].code, code))
            return true;
    return false;
}

static void test_scalars(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r = load(&a,
                          "a: 1\nb: -2.5\nc: true\nd: ~\ne: '1'\nf: on\n"
                          "g: 0x1F\nh: 1e3\ni: .inf\nj: \"x\"\nk: 1.0.0\n",
                          &d, &failed);
    CHECK(r && !failed && d.n == 0);
    CHECK(node_get(r, "a")->type == NODE_INT &&
          node_int(node_get(r, "a")) == 1);
    CHECK(node_get(r, "b")->type == NODE_FLOAT);
    CHECK(node_get(r, "c")->type == NODE_BOOL && node_get(r, "c")->b);
    CHECK(node_get(r, "d")->type == NODE_NULL);
    CHECK(node_get(r, "e")->type == NODE_STRING);
    CHECK(node_get(r, "f")->type == NODE_STRING); /* YAML 1.2: not a bool */
    CHECK(node_get(r, "g")->type == NODE_INT &&
          node_int(node_get(r, "g")) == 31);
    CHECK(node_get(r, "h")->type == NODE_FLOAT);
    CHECK(node_get(r, "i")->type == NODE_FLOAT);
    CHECK(node_get(r, "k")->type == NODE_STRING);
    CHECK(node_float(node_get(r, "b")) == -2.5);
    CHECK(node_float(node_get(r, "h")) == 1000.0);
    CHECK(isinf(node_float(node_get(r, "i"))) &&
          node_float(node_get(r, "i")) > 0);
    arena_free(&a);
}

/* A number's value is read from its text: every form the loader types
 * as a number reads back as that number. */
static void test_number_values(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r = load(&a,
                          "a: 0o17\nb: +12\nc: -0\nd: -.INF\ne: +.Inf\n"
                          "f: .NaN\ng: .5\nh: -1.5e-3\ni: 007\nj: 2.\n",
                          &d, &failed);
    CHECK(r && !failed && d.n == 0);
    if (!r) {
        arena_free(&a);
        return;
    }
    CHECK(node_get(r, "a")->type == NODE_INT &&
          node_int(node_get(r, "a")) == 15);
    CHECK(node_get(r, "b")->type == NODE_INT &&
          node_int(node_get(r, "b")) == 12);
    CHECK(node_get(r, "c")->type == NODE_INT &&
          node_int(node_get(r, "c")) == 0);
    CHECK(node_get(r, "d")->type == NODE_FLOAT &&
          isinf(node_float(node_get(r, "d"))) &&
          node_float(node_get(r, "d")) < 0);
    CHECK(node_get(r, "e")->type == NODE_FLOAT &&
          isinf(node_float(node_get(r, "e"))) &&
          node_float(node_get(r, "e")) > 0);
    CHECK(node_get(r, "f")->type == NODE_FLOAT &&
          isnan(node_float(node_get(r, "f"))));
    CHECK(node_get(r, "g")->type == NODE_FLOAT &&
          node_float(node_get(r, "g")) == 0.5);
    CHECK(node_get(r, "h")->type == NODE_FLOAT &&
          node_float(node_get(r, "h")) == -0.0015);
    CHECK(node_get(r, "i")->type == NODE_INT &&
          node_int(node_get(r, "i")) == 7);
    CHECK(node_get(r, "j")->type == NODE_FLOAT &&
          node_float(node_get(r, "j")) == 2.0);
    double v;
    CHECK(node_number(node_get(r, "a"), &v) && v == 15.0);
    arena_free(&a);
}

/* Every spelling of the YAML 1.2 core schema's words and number forms,
 * and near misses that stay strings (written from the YAML 1.2 spec,
 * 10.3.2 "Tag Resolution"). */
static void test_core_schema(void)
{
    static const struct {
        const char *text;
        enum node_type type;
    } cases[] = {
        {"~", NODE_NULL},        {"null", NODE_NULL},
        {"Null", NODE_NULL},     {"NULL", NODE_NULL},
        {"nULL", NODE_STRING},   {"nul", NODE_STRING},
        {"nulls", NODE_STRING},  {"~~", NODE_STRING},
        {"true", NODE_BOOL},     {"True", NODE_BOOL},
        {"TRUE", NODE_BOOL},     {"tRUE", NODE_STRING},
        {"false", NODE_BOOL},    {"False", NODE_BOOL},
        {"FALSE", NODE_BOOL},    {"fALSE", NODE_STRING},
        {"yes", NODE_STRING},    {"off", NODE_STRING},
        {".inf", NODE_FLOAT},    {".Inf", NODE_FLOAT},
        {".INF", NODE_FLOAT},    {"+.inf", NODE_FLOAT},
        {"-.inf", NODE_FLOAT},   {".iNF", NODE_STRING},
        {"-.Inf", NODE_FLOAT},   {"+.INF", NODE_FLOAT},
        {"-.iNF", NODE_STRING},  {"+.nan", NODE_STRING},
        {"-.NaN", NODE_STRING},  {"+-.inf", NODE_STRING},
        {".nan", NODE_FLOAT},    {".NaN", NODE_FLOAT},
        {".NAN", NODE_FLOAT},    {".nAN", NODE_STRING},
        {"0", NODE_INT},         {"-7", NODE_INT},
        {"+7", NODE_INT},        {"0o17", NODE_INT},
        {"0x1f", NODE_INT},      {"0x", NODE_STRING},
        {"1.5", NODE_FLOAT},     {".5", NODE_FLOAT},
        {"-.5", NODE_FLOAT},     {"5.", NODE_FLOAT},
        {"1e3", NODE_FLOAT},     {"1E-3", NODE_FLOAT},
        {"+", NODE_STRING},      {"-x", NODE_STRING},
        {".", NODE_STRING},      {"1e", NODE_STRING},
        {"x1", NODE_STRING},     {"tru", NODE_STRING},
        {"Falsey", NODE_STRING},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct arena a;
        arena_init(&a);
        struct diag_list d;
        int failed;
        char text[64];
        snprintf(text, sizeof(text), "v: %s\n", cases[i].text);
        struct node *r = load(&a, text, &d, &failed);
        const struct node *v = r ? node_get(r, "v") : NULL;
        harness_checks++;
        if (!v || v->type != cases[i].type) {
            fprintf(stderr, "core schema: '%s' is %d, want %d\n", cases[i].text,
                    v ? (int)v->type : -1, (int)cases[i].type);
            harness_failures++;
        }
        arena_free(&a);
    }
}

static void test_positions(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r =
        load(&a, "name: x\nmodel:\n  temperature: 3\n", &d, &failed);
    struct node *t = node_get(node_get(r, "model"), "temperature");
    CHECK(t && t->line == 3 && t->col == 16);
    CHECK(node_get_key(r, "model")->line == 2);
    arena_free(&a);
}

/* A literal block scalar records the indentation its lines map onto; a
 * folded or quoted one, or one the source does not match line for line,
 * records 0 (template diagnostics then point at the scalar's start). */
static void test_block_indent(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r = load(&a,
                          "a: |  # c\n  x {{y}}\n\n    z\nb: >\n  x\n  y\n"
                          "c: \"x\\ny\"\nd: |\r\n  x\r\n  y\r\ne: |2\n   x\n",
                          &d, &failed);
    CHECK(r && !failed && d.n == 0);
    CHECK(node_get(r, "a")->block_indent == 2);
    CHECK(node_get(r, "a")->line == 1);
    CHECK(node_get(r, "b")->block_indent == 0);
    CHECK(node_get(r, "c")->block_indent == 0);
    CHECK(node_get(r, "d")->block_indent == 2); /* CR LF lines map too */
    CHECK(node_get(r, "e")->block_indent == 0); /* indicator: not derived */
    arena_free(&a);
}

static void test_errors(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    CHECK(load(&a, "a: 1\na: 2\n", &d, &failed) != NULL);
    CHECK(failed && has_code(&d, "duplicate-key") && d.items[0].line == 2);
    CHECK(load(&a, "a:\n\t- b\n", &d, &failed) == NULL);
    CHECK(failed && has_code(&d, "yaml-syntax") && d.items[0].hint);
    CHECK(load(&a, "a: 1\n---\nb: 2\n", &d, &failed) == NULL);
    CHECK(has_code(&d, "yaml-syntax"));
    CHECK(load(&a, "a: *nope\n", &d, &failed) == NULL);
    CHECK(has_code(&d, "yaml-syntax"));
    CHECK(load(&a, "", &d, &failed) == NULL && !failed && d.n == 0);
    arena_free(&a);
}

static void test_aliases(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r = load(&a, "base: &b {x: 1}\nuse: *b\n", &d, &failed);
    CHECK(r && !failed);
    /* The alias is the anchored map again: its children are shared, not
     * copied (a copy of the node itself sits in its parent's array). */
    CHECK(node_get(r, "use") && node_get(r, "base") &&
          node_get(r, "use")->kids == node_get(r, "base")->kids);
    CHECK(node_equal(node_get(r, "use"), node_get(r, "base")));
    /* An alias bomb: each level doubles; 30 levels is 2^30 nodes. */
    char bomb[4096] = "l0: &l0 [a, a]\n";
    for (int i = 1; i < 30; i++) {
        char line[64];
        snprintf(line, sizeof(line), "l%d: &l%d [*l%d, *l%d]\n", i, i, i - 1,
                 i - 1);
        strcat(bomb, line);
    }
    CHECK(load(&a, bomb, &d, &failed) == NULL);
    CHECK(has_code(&d, "too-many-nodes"));
    arena_free(&a);
}

static void test_depth(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    char text[LIMIT_DEPTH * 2 + 8];
    size_t k = 0;
    for (int i = 0; i < LIMIT_DEPTH; i++)
        text[k++] = '[';
    for (int i = 0; i < LIMIT_DEPTH; i++)
        text[k++] = ']';
    text[k] = '\0';
    CHECK(load(&a, text, &d, &failed) != NULL && !failed);
    k = 0;
    for (int i = 0; i <= LIMIT_DEPTH; i++)
        text[k++] = '[';
    for (int i = 0; i <= LIMIT_DEPTH; i++)
        text[k++] = ']';
    text[k] = '\0';
    CHECK(load(&a, text, &d, &failed) == NULL && has_code(&d, "too-deep"));
    arena_free(&a);
}

static void test_merge(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *base = load(&a,
                             "model: {model: openai/x, temperature: 0.5}\n"
                             "tools: [a, b]\nname: n\n",
                             &d, &failed);
    struct node *over =
        load(&a, "model: {temperature: 1}\ntools: [c]\n", &d, &failed);
    struct node *m = node_merge(&a, base, over);
    CHECK(node_is_str(node_get(node_get(m, "model"), "model"), "openai/x"));
    CHECK(node_int(node_get(node_get(m, "model"), "temperature")) == 1);
    CHECK(node_get(m, "tools")->n == 1); /* lists are replaced */
    CHECK(node_is_str(node_get(m, "name"), "n"));
    CHECK(node_get(base, "tools")->n == 2); /* base untouched */
    CHECK(node_merge(&a, base, NULL) == base);
    arena_free(&a);
}

/* Integers are kept exactly over the whole int64 range, in decimal, hex
 * and octal; past it they are an error at the scalar, not a float. */
static void test_integers(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r = load(&a,
                          "a: 9223372036854775807\nb: -9223372036854775808\n"
                          "c: 0x7fffffffffffffff\nd: 0o777777777777777777777\n"
                          "e: 0x00000000000000000001\n",
                          &d, &failed);
    CHECK(r && !failed && d.n == 0);
    CHECK(node_get(r, "a")->type == NODE_INT &&
          node_int(node_get(r, "a")) == INT64_MAX);
    CHECK(node_get(r, "b")->type == NODE_INT &&
          node_int(node_get(r, "b")) == INT64_MIN);
    CHECK(node_get(r, "c")->type == NODE_INT &&
          node_int(node_get(r, "c")) == INT64_MAX);
    CHECK(node_get(r, "d")->type == NODE_INT &&
          node_int(node_get(r, "d")) == INT64_MAX);
    CHECK(node_get(r, "e")->type == NODE_INT &&
          node_int(node_get(r, "e")) == 1);
    static const char *const past[] = {
        "x: 9223372036854775808\n", "x: -9223372036854775809\n",
        "x: 0x8000000000000000\n", "x: 0o1000000000000000000000\n",
        "x: 99999999999999999999999999\n"};
    for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
        r = load(&a, past[i], &d, &failed);
        CHECK(r && failed && d.n == 1 && has_code(&d, "integer-out-of-range") &&
              d.items[0].line == 1 && d.items[0].col == 4);
        CHECK(r && node_get(r, "x")->type == NODE_INT);
    }
    arena_free(&a);
}

/* A UTF-8 byte order mark is skipped: line 1's columns count after it. */
static void test_bom(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d;
    int failed;
    struct node *r = load(&a, "\xEF\xBB\xBFname: x\nb: 2\n", &d, &failed);
    CHECK(r && !failed && d.n == 0);
    CHECK(r && node_get(r, "name") && node_get(r, "name")->col == 7 &&
          node_get(r, "name")->line == 1);
    struct source *s = source_from_bytes(&a, "t",
                                         "\xEF\xBB\xBF"
                                         "ab",
                                         5);
    CHECK(s->len == 2 && s->skipped == 3 && !strcmp(s->text, "ab"));
    arena_free(&a);
}

/* Two files loaded into one arena share their short texts: a key is
 * stored once for the project, not once per file. Each tree still reads
 * its own values and positions. */
static void test_shared_texts(void)
{
    struct arena a;
    arena_init(&a);
    struct diag_list d1, d2;
    int f1, f2;
    struct node *r1 = load(&a, "name: x\ntype: string\n", &d1, &f1);
    struct node *r2 = load(&a, "kind: y\n\nname: x\ntype: number\n", &d2, &f2);
    CHECK(r1 && r2 && !f1 && !f2 && r1->n == 2 && r2->n == 3);
    if (r1 && r2 && r1->n == 2 && r2->n == 3) {
        CHECK(r1->kids[0].str == r2->kids[2].str); /* "name" */
        CHECK(r1->kids[1].str == r2->kids[3].str); /* "x" */
        CHECK(r1->kids[2].str == r2->kids[4].str); /* "type" */
        CHECK(!strcmp(node_get_str(r1, "type"), "string") &&
              !strcmp(node_get_str(r2, "type"), "number"));
        CHECK(r2->kids[2].line == 3 && r1->kids[0].line == 1);
    }
    arena_free(&a);
}

const struct test yaml_tests[] = {
    {"yaml texts shared between files", test_shared_texts},
    {"number values", test_number_values},
    {"core schema spellings", test_core_schema},
    {"yaml scalars", test_scalars},
    {"yaml integers", test_integers},
    {"yaml byte order mark", test_bom},
    {"yaml positions", test_positions},
    {"yaml block indent", test_block_indent},
    {"yaml errors", test_errors},
    {"yaml aliases", test_aliases},
    {"yaml depth", test_depth},
    {"overlay merge", test_merge},
    {0, 0},
};
