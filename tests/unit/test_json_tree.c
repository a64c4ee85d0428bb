/*
 * test_json_tree.c - compiler/json_tree.c, jansson's tree of JSON text
 * already checked. Expectations are written by hand from RFC 8259 and
 * jansson's documented types (an integer is a json_integer, a number with
 * a fraction or an exponent a json_real); jansson's own loader is the
 * independent reference for the texts it reads.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json_tree.h"

/* The tree of s written compactly, keys in their order (NULL: none). */
static char *tree_text(const char *s, size_t n)
{
    json_t *t = json_tree(s, n);
    char *out =
        t ? json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
          : NULL;
    json_decref(t);
    return out;
}

static json_t *tree_of(const char *s)
{
    return json_tree(s, strlen(s));
}

static bool builds(const char *s, const char *want)
{
    char *got = tree_text(s, strlen(s));
    bool ok = got && !strcmp(got, want);
    if (!ok)
        fprintf(stderr, "  %s: got %s, want %s\n", s, got ? got : "(none)",
                want);
    free(got);
    return ok;
}

static void test_json_tree_values(void)
{
    CHECK(builds("null", "null"));
    CHECK(builds(" true ", "true"));
    CHECK(builds("false", "false"));
    CHECK(builds("0", "0"));
    CHECK(builds("-0", "0"));
    CHECK(builds("-9223372036854775808", "-9223372036854775808"));
    CHECK(builds("9223372036854775807", "9223372036854775807"));
    CHECK(builds("1.5", "1.5"));
    CHECK(builds("1e2", "100.0"));
    CHECK(builds("-2.5E-1", "-0.25"));
    CHECK(builds("\"\"", "\"\""));
    CHECK(builds("[]", "[]"));
    CHECK(builds("{}", "{}"));
    CHECK(builds("\t[ 1 , \"a\" ,null,[{}]]\r\n", "[1,\"a\",null,[{}]]"));
    /* members in the order written, not sorted */
    CHECK(builds("{\"b\": 1, \"a\": {\"d\": [true], \"c\": 2.0}}",
                 "{\"b\":1,\"a\":{\"d\":[true],\"c\":2.0}}"));
}

static void test_json_tree_types(void)
{
    json_t *t = tree_of("{\"i\": 3, \"r\": 3.0, \"e\": 3e0}");
    CHECK(t != NULL);
    CHECK(json_is_integer(json_object_get(t, "i")));
    CHECK(json_is_real(json_object_get(t, "r")));
    CHECK(json_is_real(json_object_get(t, "e")));
    CHECK(json_integer_value(json_object_get(t, "i")) == 3);
    json_decref(t);
}

static void test_json_tree_strings(void)
{
    /* escapes decoded: é, a surrogate pair (U+1F600), the short ones */
    CHECK(builds("\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\"",
                 "\"\xc3\xa9\xf0\x9f\x98\x80\\n\\t\\\"\\\\/\""));
    /* a key with an escape is the decoded key */
    json_t *t = tree_of("{\"\\u0061b\": 1}");
    CHECK(t && json_object_get(t, "ab"));
    json_decref(t);
    /* \u0000 (a bundle body may hold it): kept, with its length */
    t = tree_of("[\"a\\u0000b\"]");
    json_t *s = json_array_get(t, 0);
    CHECK(s && json_string_length(s) == 3 &&
          !memcmp(json_string_value(s), "a\0b", 3));
    json_decref(t);
    t = tree_of("{\"k\\u0000\": true}");
    CHECK(t && json_object_size(t) == 1);
    json_decref(t);
}

/* Strings and numbers longer than the builder keeps on its stack. */
static void test_json_tree_long(void)
{
    size_t n = 5000;
    char *text = malloc(n + 64), *want = malloc(n + 64);
    CHECK(text && want);
    if (!text || !want) {
        free(text);
        free(want);
        return;
    }
    strcpy(text, "{\"");
    memset(text + 2, 'k', n);
    strcpy(text + 2 + n, "\":\"v\"}");
    CHECK(builds(text, text));
    /* 0.000...0001 with 300 zeros: 1e-301 */
    strcpy(text, "0.");
    memset(text + 2, '0', 300);
    strcpy(text + 302, "1");
    json_t *t = json_tree(text, strlen(text));
    CHECK(t && json_is_real(t) && json_real_value(t) > 0.99e-301 &&
          json_real_value(t) < 1.01e-301);
    json_decref(t);
    free(text);
    free(want);
}

/* Text that is not what the caller promised: NULL, never read past its
 * end (the sanitizers of make check watch the reads). */
static void test_json_tree_not_json(void)
{
    static const char *const bad[] = {
        "", " ", "\"abc", "[1,", "[1 2]", "{\"a\"", "{\"a\":}", "{\"a\":1,",
        "{1:2}", "tru", "nul", "1 2", "-", "[", "{", "\"\\", "[\"a\"\"b\"]",
        "9223372036854775808", "1e999",
        /* escapes cut short or unpaired:
         * refused before decoding */
        "\"\\u12\"", "\"\\u12", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ud83d\\u0041\"", "\"\\x\"", "\"\\ud83d\\ude0\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        size_t n = strlen(bad[i]);
        char *exact = malloc(n ? n : 1); /* no NUL after it */
        if (!exact)
            continue;
        memcpy(exact, bad[i], n);
        json_t *t = json_tree(exact, n);
        CHECK(t == NULL);
        if (t)
            fprintf(stderr, "  built a tree of %s\n", bad[i]);
        json_decref(t);
        free(exact);
    }
    CHECK(json_tree(NULL, 0) == NULL);
}

/* The same trees as jansson's loader, on texts it reads. */
static void test_json_tree_as_jansson(void)
{
    static const char *const texts[] = {
        "{\"actor\":{\"type\":\"user\",\"id\":\"u1\",\"roles\":[\"a\",\"b\"]},"
        "\"action\":\"read\",\"resource\":\"student\",\"record\":{\"_id\":"
        "\"r1\",\"data\":{\"n\":-12.75,\"big\":123456789012,\"ok\":false,"
        "\"none\":null,\"list\":[[],[{}],[1e-5]]}}}",
        "[0.1, 2.5e10, -0, 7, \"\\u20ac\", {\"z\": [], \"a\": {}}]",
        "\"\\ud800\\udc00 and \\u001f\""};
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        json_t *j = json_loads(texts[i], JSON_DECODE_ANY, NULL);
        json_t *t = json_tree(texts[i], strlen(texts[i]));
        char *a =
            j ? json_dumps(j, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
        char *b =
            t ? json_dumps(t, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
        CHECK(j && t && json_equal(j, t) && a && b && !strcmp(a, b));
        free(a);
        free(b);
        json_decref(j);
        json_decref(t);
    }
}

const struct test json_tree_tests[] = {
    {"json_tree: values", test_json_tree_values},
    {"json_tree: integers and reals", test_json_tree_types},
    {"json_tree: strings, escapes, \\u0000", test_json_tree_strings},
    {"json_tree: long strings and numbers", test_json_tree_long},
    {"json_tree: text that is not JSON", test_json_tree_not_json},
    {"json_tree: the trees jansson's loader builds", test_json_tree_as_jansson},
    {0, 0}};
