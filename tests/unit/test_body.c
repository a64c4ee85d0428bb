/*
 * test_body.c - server/body.c, the check of a request's JSON body and its
 * reading. Every expectation is written from RFC 8259 (the grammar),
 * RFC 3629 (UTF-8) and body.h (no \u0000, no key twice, the depth limit,
 * "body:LINE:COLUMN:" with COLUMN in characters); none is output of the
 * code copied back.
 */
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "harness.h"

/* 0 when body_check accepts the n bytes at s; else -1 with its message. */
static int check_n(const char *s, size_t n, char *msg, size_t cap)
{
    msg[0] = 0;
    return body_check(s, n, msg, cap);
}

static bool valid(const char *s)
{
    char msg[300];
    int rc = check_n(s, strlen(s), msg, sizeof(msg));
    if (rc)
        fprintf(stderr, "  %s: %s\n", s, msg);
    return rc == 0;
}

/* Refused, with a message that begins with `where` ("body:L:C: ") and
 * contains `what`. */
static bool refused_n(const char *s, size_t n, const char *where,
                      const char *what)
{
    char msg[300];
    if (check_n(s, n, msg, sizeof(msg)) == 0)
        return false;
    bool ok = !strncmp(msg, where, strlen(where)) && strstr(msg, what);
    if (!ok)
        fprintf(stderr, "  %.60s: got \"%s\", want \"%s...%s\"\n", s, msg,
                where, what);
    return ok;
}

static bool refused(const char *s, const char *where, const char *what)
{
    return refused_n(s, strlen(s), where, what);
}

static void test_body_valid(void)
{
    CHECK(valid("{}"));
    CHECK(valid("[]"));
    CHECK(valid(" \t\r\n{\"a\":1} \n"));
    CHECK(valid("{\"a\":[1,-0,0.5,1e10,1E+2,-1.5e-3,0e0,true,false,null,"
                "\"x\",{},[]]}"));
    CHECK(valid("\"\\u00e9\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t\""));
    CHECK(valid("{\"k\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"));
    /* one key in two objects is not one key named twice */
    CHECK(valid("{\"a\":{\"a\":1},\"b\":{\"a\":2}}"));
    /* keys that differ in length only, or only past an escape */
    CHECK(valid("{\"a\":1,\"ab\":2,\"\\u0061b\\u0063\":3}"));
    CHECK(valid("123"));
    CHECK(valid("null"));
}

static void test_body_grammar(void)
{
    CHECK(refused("", "body:1:1: ", "the end of the body where a value"));
    CHECK(refused("   ", "body:1:4: ", "the end of the body where a value"));
    CHECK(refused("{\"a\":1,}", "body:1:8: ", "'}' where a key (a string)"));
    CHECK(refused("{,}", "body:1:2: ", "',' where a key (a string)"));
    CHECK(refused("{a:1}", "body:1:2: ", "'a' where a key (a string)"));
    CHECK(refused("{\"a\" 1}", "body:1:6: ", "'1' where ':' after the key"));
    CHECK(refused("{\"a\":}", "body:1:6: ", "'}' where a value"));
    CHECK(
        refused("[1,2", "body:1:5: ", "the end of the body where ',' or ']'"));
    CHECK(refused("[1 2]", "body:1:4: ", "'2' where ',' or ']'"));
    CHECK(refused("[1,]", "body:1:4: ", "']' where a value"));
    CHECK(refused("{\"a\":1 \"b\":2}", "body:1:8: ", "'\"' where ',' or '}'"));
    CHECK(refused("{} {}", "body:1:4: ", "'{' where the end of the body"));
    CHECK(refused("tru", "body:1:1: ", "'t' where a value"));
    CHECK(refused("nul", "body:1:1: ", "'n' where a value"));
    CHECK(refused("True", "body:1:1: ", "'T' where a value"));
    CHECK(refused("01", "body:1:2: ", "'1' where the end of the body"));
    CHECK(refused("+1", "body:1:1: ", "'+' where a value"));
    CHECK(refused(".5", "body:1:1: ", "'.' where a value"));
    CHECK(refused("-", "body:1:1: ", "'-' where a value"));
    CHECK(refused("1.", "body:1:3: ", "without digits after its '.'"));
    CHECK(refused("1.e5", "body:1:3: ", "without digits after its '.'"));
    CHECK(refused("1e", "body:1:3: ", "without digits in its exponent"));
    CHECK(refused("1e+", "body:1:4: ", "without digits in its exponent"));
    CHECK(refused("NaN", "body:1:1: ", "'N' where a value"));
    CHECK(refused("[Infinity]", "body:1:2: ", "'I' where a value"));
    /* a byte order mark is not JSON text */
    CHECK(refused("\xef\xbb\xbf{}", "body:1:1: ", "byte 0xEF where a value"));
    /* lines and columns: the column counts characters, not bytes */
    CHECK(
        refused("{\n  \"a\": 1,\n  \"b\" 2\n}", "body:3:7: ", "'2' where ':'"));
    CHECK(
        refused("[\"\xc3\xa9\xc3\xa9\",x]", "body:1:7: ", "'x' where a value"));
    CHECK(refused_n("[1,\0]", 5, "body:1:4: ", "byte 0x00 where a value"));
}

/* JSON sets no range; jansson, which reads what the other routes and a
 * record pass on, holds integers in 64 bits and other numbers in a
 * double: past those a body is refused, at the number. */
static void test_body_number_range(void)
{
    CHECK(valid("[9223372036854775807,-9223372036854775808]"));
    CHECK(valid("[1.7976931348623157e308,-1.7976931348623157e308]"));
    CHECK(valid("[1e-400,4.9e-324,0.0000000000000000000000000001]"));
    CHECK(valid("[123456789012345678901234567890.5]"));
    CHECK(refused("[1,9223372036854775808]",
                  "body:1:4: ", "an integer beyond 64 bits"));
    CHECK(refused("{\"n\":-9223372036854775809}",
                  "body:1:6: ", "an integer beyond 64 bits"));
    CHECK(refused("[1e400]", "body:1:2: ", "a number beyond a double's range"));
    CHECK(refused("[-1.8e308]",
                  "body:1:2: ", "a number beyond a double's range"));
    /* a number longer than the copy kept in place */
    char s[200] = "[1";
    for (int i = 0; i < 100; i++)
        strcat(s, "0");
    strcat(s, "]");
    CHECK(refused(s, "body:1:2: ", "an integer beyond 64 bits"));
    s[strlen(s) - 1] = 0;
    strcat(s, ".5]");
    CHECK(valid(s));
}

static void test_body_strings_checked(void)
{
    CHECK(refused("\"abc", "body:1:1: ", "a string that the body ends inside"));
    CHECK(
        refused("\"abc\\", "body:1:5: ", "a string that the body ends inside"));
    CHECK(refused("[\"a\x01\"]", "body:1:4: ", "control character U+0001"));
    CHECK(refused("[\"a\nb\"]", "body:1:4: ", "control character U+000A"));
    CHECK(refused_n("[\"a\0b\"]", 7, "body:1:4: ", "control character U+0000"));
    CHECK(refused("[\"\\x\"]", "body:1:3: ", "an invalid escape"));
    CHECK(refused("[\"\\'\"]", "body:1:3: ", "an invalid escape"));
    CHECK(refused("[\"\\u12\"]", "body:1:3: ", "four hex digits"));
    CHECK(refused("[\"\\u12G4\"]", "body:1:3: ", "four hex digits"));
    CHECK(refused("[\"\\u0000\"]", "body:1:3: ", "\\u0000"));
    CHECK(refused("[\"\\uD800\"]", "body:1:3: ", "a high surrogate"));
    CHECK(refused("[\"\\ud800\\u0041\"]", "body:1:3: ", "a high surrogate"));
    CHECK(refused("[\"\\uDC00\"]", "body:1:3: ", "a low surrogate"));
    CHECK(refused("[\"\\ud83d\\ude00\\ude00\"]",
                  "body:1:15: ", "a low surrogate"));
    /* RFC 3629: bytes that never appear, an overlong form, an encoded
     * surrogate, past U+10FFFF, a sequence cut short */
    CHECK(refused("[\"\xff\"]", "body:1:3: ", "invalid UTF-8"));
    CHECK(refused("[\"\xc0\xaf\"]", "body:1:3: ", "invalid UTF-8"));
    CHECK(refused("[\"\xe0\x80\xaf\"]", "body:1:3: ", "invalid UTF-8"));
    CHECK(refused("[\"\xed\xa0\x80\"]", "body:1:3: ", "invalid UTF-8"));
    CHECK(refused("[\"\xf4\x90\x80\x80\"]", "body:1:3: ", "invalid UTF-8"));
    CHECK(refused("[\"\xe2\x82\"]", "body:1:3: ", "invalid UTF-8"));
    CHECK(refused("[\"\x80\"]", "body:1:3: ", "invalid UTF-8"));
}

static void test_body_keys_twice(void)
{
    CHECK(refused("{\"a\":1,\"a\":2}",
                  "body:1:8: ", "the key \"a\" appears twice"));
    /* compared decoded */
    CHECK(refused("{\"a\":1,\"\\u0061\":2}", "body:1:8: ", "appears twice"));
    CHECK(refused("{\"\\u00e9\":1,\"\xc3\xa9\":2}",
                  "body:1:13: ", "appears twice"));
    /* in a nested object, after the same key in the outer one */
    CHECK(refused("{\"x\":1,\"o\":{\"x\":1,\"y\":2,\"x\":3}}",
                  "body:1:25: ", "the key \"x\" appears twice"));
    /* an object of more keys than compared pairwise: found by sorting,
     * the later of the two named */
    char big[512];
    size_t n = (size_t)snprintf(big, sizeof(big), "{");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%02d\":%d,", i, i);
    snprintf(big + n, sizeof(big) - n, "\"k07\":0}");
    CHECK(refused(big, "body:1:172: ", "the key \"k07\" appears twice"));
    big[n - 1] = '}';
    big[n] = 0;
    CHECK(valid(big));
    /* a long key is shown cut, whole characters only */
    char longkey[400] = "{\"";
    for (int i = 0; i < 40; i++)
        strcat(longkey, "\xc3\xa9");
    strcat(longkey, "\":1,\"");
    for (int i = 0; i < 40; i++)
        strcat(longkey, "\xc3\xa9");
    strcat(longkey, "\":2}");
    char msg[300];
    CHECK(check_n(longkey, strlen(longkey), msg, sizeof(msg)) == -1);
    CHECK(strstr(msg, "...\" appears twice") != NULL);
    CHECK(strstr(msg, "\xc3\xa9\xc3\xa9...") != NULL);
    /* nor an escape */
    char esc[300] = "{\"";
    for (int i = 0; i < 58; i++)
        strcat(esc, "a");
    strcat(esc, "\\u00e9zz\":1,\"");
    for (int i = 0; i < 58; i++)
        strcat(esc, "a");
    strcat(esc, "\\u00e9zz\":2}");
    CHECK(check_n(esc, strlen(esc), msg, sizeof(msg)) == -1);
    CHECK(strstr(msg, "aaaa...\" appears twice") != NULL);
    CHECK(strchr(msg, '\\') == NULL);
}

/* Objects past the keys kept in place: 10,000 keys (and one named twice
 * at the end); objects nested in them keep their own. */
static void test_body_many_keys(void)
{
    size_t cap = 10000 * 16 + 64, n = 0;
    char *s = malloc(cap);
    CHECK(s != NULL);
    if (!s)
        return;
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"inner\":{\"k00001\":1,\"k00002\":2}");
    for (int i = 0; i < 10000; i++)
        n += (size_t)snprintf(s + n, cap - n, ",\"k%05d\":%d", i, i);
    snprintf(s + n, cap - n, "}");
    CHECK(valid(s));
    snprintf(s + n, cap - n, ",\"k09999\":0}");
    char msg[300];
    CHECK(check_n(s, strlen(s), msg, sizeof(msg)) == -1);
    CHECK(strstr(msg, "the key \"k09999\" appears twice") != NULL);
    free(s);
}

static void test_body_depth(void)
{
    size_t n = BODY_MAX_DEPTH + 1;
    char *s = malloc(6 * n + 8);
    CHECK(s != NULL);
    if (!s)
        return;
    memset(s, '[', n - 1);
    memset(s + n - 1, ']', n - 1);
    s[2 * n - 2] = 0;
    CHECK(valid(s));
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    char where[32];
    snprintf(where, sizeof(where), "body:1:%zu: ", n);
    CHECK(refused(s, where, "nested more than 2048 deep"));
    /* objects count as arrays do */
    s[0] = 0;
    for (size_t i = 0; i < n; i++)
        memcpy(s + 5 * i, "{\"a\":", 5);
    s[5 * n] = '1';
    memset(s + 5 * n + 1, '}', n);
    s[6 * n + 1] = 0;
    snprintf(where, sizeof(where), "body:1:%zu: ", 5 * (n - 1) + 1);
    CHECK(refused(s, where, "nested more than 2048 deep"));
    /* read past a value deeper than the runtime's reader follows (the
     * record of a question may be; its own limit is said on it) */
    size_t d = 1000, k = 0;
    k += (size_t)sprintf(s + k, "{\"record\":");
    memset(s + k, '[', d);
    k += d;
    k += (size_t)sprintf(s + k, "\"]}\\\"[{\"");
    memset(s + k, ']', d);
    k += d;
    sprintf(s + k, ",\"after\":[1,{\"x\":[2]},\"]\"]}");
    char msg[300];
    CHECK(body_check(s, strlen(s), msg, sizeof(msg)) == 0);
    struere_json root = body_root(s, strlen(s));
    struere_json rec = body_member(root, "record");
    CHECK(rec.ptr && rec.len == 2 * d + 8);
    struere_json after = body_member(root, "after");
    CHECK(after.len == 17 && !memcmp(after.ptr, "[1,{\"x\":[2]},\"]\"]", 17));
    struct body_it it;
    struere_json v;
    CHECK(body_iter(&it, after));
    CHECK(body_next(&it, NULL, &v) && v.len == 1 && v.ptr[0] == '1');
    CHECK(body_next(&it, NULL, &v) && v.len == 9 && v.ptr[0] == '{');
    CHECK(body_next(&it, NULL, &v) && v.len == 3 && v.ptr[1] == ']');
    CHECK(!body_next(&it, NULL, &v));
    free(s);
}

static void test_body_read(void)
{
    const char *text =
        "{ \"actor\" : {\"type\":\"user\", \"id\":\"\\u00e9t\\u00e9\","
        " \"roles\":[ \"a\" , \"b\" ]}, \"n\": 1.5, \"z\":null }";
    char msg[300];
    CHECK(body_check(text, strlen(text), msg, sizeof(msg)) == 0);
    struere_json root = body_root(text, strlen(text));
    CHECK(body_type(root) == STRUERE_JSON_OBJECT);
    CHECK(root.ptr == text && root.len == strlen(text));
    struere_json padded = body_root(" \n[ 1 ]\t\r ", 10);
    CHECK(padded.len == 5 && !memcmp(padded.ptr, "[ 1 ]", 5));
    /* an object's members in turn, with their keys */
    struct body_it it;
    struere_json k, v;
    CHECK(body_iter(&it, root));
    CHECK(body_next(&it, &k, &v) && k.len == 7 && v.ptr[0] == '{');
    CHECK(body_next(&it, &k, &v) && k.len == 3 && v.len == 3);
    CHECK(body_next(&it, &k, &v) && k.len == 3 && v.len == 4);
    CHECK(!body_next(&it, &k, &v));
    CHECK(!body_iter(&it, body_member(root, "n")));
    struere_json empty = {"[ ]", 3};
    CHECK(body_iter(&it, empty) && !body_next(&it, NULL, &v));
    struere_json a = body_member(root, "actor");
    CHECK(body_type(a) == STRUERE_JSON_OBJECT);
    CHECK(!strcmp(body_type_name(a), "an object"));
    CHECK(!strcmp(body_type_name(body_member(a, "roles")), "an array"));
    CHECK(!strcmp(body_type_name(body_member(root, "n")), "a number"));
    CHECK(!strcmp(body_type_name(body_member(root, "z")), "null"));
    CHECK(body_type(body_member(root, "z")) == STRUERE_JSON_NULL);
    /* absent: no value at all, named as null */
    CHECK(body_member(root, "missing").ptr == NULL);
    CHECK(body_type(body_member(root, "missing")) == 0);
    CHECK(!strcmp(body_type_name(body_member(root, "missing")), "null"));
    CHECK(body_member(body_member(root, "n"), "x").ptr == NULL);
    /* several members in one walk; keys compared decoded */
    const char *const names[] = {"z", "missing", "actor"};
    struere_json m[3];
    body_members(root, names, 3, m);
    CHECK(m[0].len == 4 && !memcmp(m[0].ptr, "null", 4));
    CHECK(m[1].ptr == NULL && m[1].len == 0);
    CHECK(m[2].ptr == a.ptr && m[2].len == a.len);
    const char *esc = "{\"a\\\\\":1,\"\\u0061b\":2,\"a\":3}";
    CHECK(body_check(esc, strlen(esc), msg, sizeof(msg)) == 0);
    struere_json eroot = body_root(esc, strlen(esc));
    CHECK(body_member(eroot, "ab").len == 1 &&
          body_member(eroot, "ab").ptr[0] == '2');
    CHECK(body_member(eroot, "a").len == 1 &&
          body_member(eroot, "a").ptr[0] == '3');
    CHECK(body_member(eroot, "a\\").len == 1 &&
          body_member(eroot, "a\\").ptr[0] == '1');
    /* strings with escaped quotes and runs of backslashes end where
     * they end */
    const char *q = "{\"s\":\"q\\\"\\\\\",\"t\":[\"\\\\\\\"]\"],\"u\":1}";
    CHECK(body_check(q, strlen(q), msg, sizeof(msg)) == 0);
    struere_json qroot = body_root(q, strlen(q));
    struere_json t = body_member(qroot, "t");
    CHECK(t.len == 9 && !memcmp(t.ptr, "[\"\\\\\\\"]\"]", 9));
    CHECK(body_member(qroot, "u").len == 1 &&
          body_member(qroot, "u").ptr[0] == '1');
    struct body_strings bs;
    CHECK(body_strings_init(&bs, strlen(text)));
    const char *id = body_string(&bs, body_member(a, "id"));
    CHECK(id && !strcmp(id, "\xc3\xa9t\xc3\xa9"));
    const char *type = body_string(&bs, body_member(a, "type"));
    CHECK(type && !strcmp(type, "user"));
    CHECK(body_string(&bs, body_member(root, "n")) == NULL);
    CHECK(!strcmp(id, "\xc3\xa9t\xc3\xa9")); /* still there */
    body_strings_free(&bs);

    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    body_write_compact(f, a);
    fclose(f);
    CHECK(out && !strcmp(out, "{\"type\":\"user\",\"id\":\"\\u00e9t\\u00e9\","
                              "\"roles\":[\"a\",\"b\"]}"));
    free(out);
}

/* A body past the scratch kept in place: its strings are decoded on the
 * heap, all of them, each once. */
static void test_body_long_strings(void)
{
    size_t n = 3 * BODY_STRINGS_INLINE;
    char *text = malloc(2 * n + 64);
    CHECK(text != NULL);
    if (!text)
        return;
    strcpy(text, "{\"a\":\"");
    memset(text + 6, 'x', n);
    strcpy(text + 6 + n, "\",\"b\":\"");
    memset(text + 13 + n, 'y', n);
    strcpy(text + 13 + 2 * n, "\"}");
    size_t len = strlen(text);
    char msg[300];
    CHECK(body_check(text, len, msg, sizeof(msg)) == 0);
    struct body_strings bs;
    CHECK(body_strings_init(&bs, len));
    struere_json root = {text, len};
    const char *a = body_string(&bs, body_member(root, "a"));
    const char *b = body_string(&bs, body_member(root, "b"));
    CHECK(a && strlen(a) == n && a[0] == 'x' && a[n - 1] == 'x');
    CHECK(b && strlen(b) == n && b[0] == 'y' && b[n - 1] == 'y');
    body_strings_free(&bs);
    free(text);
}

const struct test body_tests[] = {
    {"body: valid JSON text", test_body_valid},
    {"body: the grammar, with line and column", test_body_grammar},
    {"body: numbers within what jansson holds", test_body_number_range},
    {"body: strings, escapes and UTF-8", test_body_strings_checked},
    {"body: a key named twice", test_body_keys_twice},
    {"body: 10,000 keys", test_body_many_keys},
    {"body: the depth limit", test_body_depth},
    {"body: reading a checked body", test_body_read},
    {"body: strings past the inline scratch", test_body_long_strings},
    {0, 0}};
