/*
 * test_text.c - suggestions, slugs, UTF-8 validation, line maps and the
 * template scanner.
 */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "harness.h"
#include "slug.h"
#include "source.h"
#include "suggest.h"
#include "template.h"

static void test_distance(void)
{
    CHECK(suggest_distance("effect", "effect", 3) == 0);
    CHECK(suggest_distance("efect", "effect", 3) == 1);
    CHECK(suggest_distance("ab", "ba", 3) == 1); /* transposition */
    CHECK(suggest_distance("systemprompt", "systemPrompt", 3) == 0);
    CHECK(suggest_distance("abc", "xyzuvw", 2) == 3); /* capped */
}

static void test_suggest(void)
{
    struct suggest s;
    suggest_init(&s, "sytemPrompt");
    suggest_offer(&s, "name");
    suggest_offer(&s, "systemPrompt");
    suggest_offer(&s, "slug");
    CHECK(suggest_best(&s) && !strcmp(suggest_best(&s), "systemPrompt"));
    suggest_init(&s, "zzz");
    suggest_offer(&s, "systemPrompt");
    CHECK(suggest_best(&s) == NULL);
}

static void test_slug(void)
{
    struct arena a;
    arena_init(&a);
    CHECK(!strcmp(slug_from_name(&a, "Support Agent"), "support-agent"));
    CHECK(!strcmp(slug_from_name(&a, "  --Hello,  World!! "), "hello-world"));
    CHECK(!strcmp(slug_from_name(&a, "ÉTÉ 2024"), "t-2024"));
    CHECK(!strcmp(slug_from_name(&a, "!!!"), ""));
    CHECK(!strcmp(slug_display_name(&a, "support-agent"), "Support Agent"));
    arena_free(&a);
}

static void test_utf8(void)
{
    CHECK(utf8_first_invalid("plain", 5) == (size_t)-1);
    CHECK(utf8_first_invalid("caf\xc3\xa9", 5) == (size_t)-1);
    CHECK(utf8_first_invalid("ab\xff", 3) == 2);
    CHECK(utf8_first_invalid("a\xc3", 2) == 1);            /* truncated */
    CHECK(utf8_first_invalid("\xc0\xaf", 2) == 0);         /* overlong */
    CHECK(utf8_first_invalid("\xed\xa0\x80", 3) == 0);     /* surrogate */
    CHECK(utf8_first_invalid("\xf4\x90\x80\x80", 4) == 0); /* > U+10FFFF */
    CHECK(utf8_first_invalid("\xf0\x9f\x98\x80", 4) == (size_t)-1);
    /* long ASCII runs (read eight bytes at a time): a bad byte at every
     * position is found there; a valid 2-byte character at every position
     * (across word boundaries) is accepted, and truncated at the end */
    char buf[40];
    for (size_t at = 0; at < 33; at++) {
        memset(buf, 'a', sizeof(buf));
        buf[at] = (char)0xff;
        CHECK(utf8_first_invalid(buf, 33) == at);
        memset(buf, 'a', sizeof(buf));
        buf[at] = (char)0xc3;
        buf[at + 1] = (char)0xa9;
        CHECK(utf8_first_invalid(buf, 34) == (size_t)-1);
        CHECK(utf8_first_invalid(buf, at + 1) == at);
    }
    memset(buf, 'a', sizeof(buf));
    CHECK(utf8_first_invalid(buf, 0) == (size_t)-1);
    CHECK(utf8_first_invalid(buf, 40) == (size_t)-1);
}

static void test_positions(void)
{
    struct arena a;
    arena_init(&a);
    struct source *s = source_from_bytes(&a, "f",
                                         "ab\nc\xc3\xa9"
                                         "d\n",
                                         8);
    int line, col;
    source_position(s, 0, &line, &col);
    CHECK(line == 1 && col == 1);
    source_position(s, 3, &line, &col);
    CHECK(line == 2 && col == 1);
    source_position(s, 6, &line, &col); /* 'd' after a 2-byte char */
    CHECK(line == 2 && col == 3);
    size_t len;
    const char *l = source_line(s, 2, &len);
    CHECK(l && len == 4);
    CHECK(source_line(s, 9, &len) == NULL);
    /* lines end at \n, \r\n and a lone \r, as YAML counts them */
    const char mixed[] = "a\r\nbb\rc\r\r\nd\r";
    s = source_from_bytes(&a, "g", mixed, sizeof(mixed) - 1);
    CHECK(s && s->nlines == 6);
    l = source_line(s, 1, &len);
    CHECK(l && len == 1 && l[0] == 'a');
    l = source_line(s, 2, &len);
    CHECK(l && len == 2 && !memcmp(l, "bb", 2));
    l = source_line(s, 3, &len);
    CHECK(l && len == 1 && l[0] == 'c');
    l = source_line(s, 4, &len);
    CHECK(l && len == 0);
    l = source_line(s, 5, &len);
    CHECK(l && len == 1 && l[0] == 'd');
    l = source_line(s, 6, &len);
    CHECK(l && len == 0);
    source_position(s, 6, &line, &col); /* 'c' */
    CHECK(line == 3 && col == 1);
    source_position(s, 10, &line, &col); /* 'd' */
    CHECK(line == 5 && col == 1);
    arena_free(&a);
}

struct seen {
    int n;
    char names[8][64];
    int calls;
};

static void collect(void *ctx, const struct tmpl_expr *e)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->names[s->n++], 64, "%.*s", (int)e->name_len, e->name);
    if (e->is_call)
        s->calls++;
}

static void test_template_scan(void)
{
    struct seen s = {0};
    size_t eo;
    const char *err;
    const char *t = "Hi {{ userId }}, {{entity.query({\"type\": "
                    "\"{{agent.slug}}\"})}} and }} stray";
    CHECK(template_scan(t, strlen(t), collect, &s, &eo, &err) == 0);
    CHECK(s.n == 2);
    CHECK(!strcmp(s.names[0], "userId"));
    CHECK(!strcmp(s.names[1], "entity.query"));
    CHECK(s.calls == 1);
    struct seen u = {0};
    CHECK(template_scan("a {{b", 5, collect, &u, &eo, &err) < 0);
    CHECK(eo == 2 && strstr(err, "unclosed"));
    char deep[64] = "";
    for (int i = 0; i < 17; i++)
        strcat(deep, "{{");
    CHECK(template_scan(deep, strlen(deep), collect, &u, &eo, &err) < 0);
    CHECK(strstr(err, "deep"));
}

/* The compiler sees each template as the runtime does (the shared scanner,
 * tests/engine/template_test.c checks the rendering side): white space is
 * JavaScript's trim(), so a space, tab, newline, U+00A0 or U+3000 around
 * the name is trimmed, and U+200B (not white space to JavaScript) is kept,
 * so check reports it as the runtime would fail to resolve it. */
static void test_template_space(void)
{
    static const char *const same[] = {
        "{{ agentName }}",
        "{{\xc2\xa0"
        "agentName}}",
        "{{\tagentName\t}}",
        "{{\n agentName\r\n}}",
        "{{agentName\xe3\x80\x80\xef\xbb\xbf}}",
    };
    size_t eo;
    const char *err;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        struct seen s = {0};
        CHECK(template_scan(same[i], strlen(same[i]), collect, &s, &eo, &err) ==
              0);
        CHECK(s.n == 1 && !strcmp(s.names[0], "agentName"));
    }
    struct seen z = {0};
    const char *zw = "{{\xe2\x80\x8b"
                     "agentName}}";
    CHECK(template_scan(zw, strlen(zw), collect, &z, &eo, &err) == 0);
    CHECK(z.n == 1 && strcmp(z.names[0], "agentName"));
    /* A hyphenated tool name is a call, as for the runtime. */
    struct seen h = {0};
    const char *hy = "{{ lookup-insurance({\"patientId\": \"p1\"}) }}";
    CHECK(template_scan(hy, strlen(hy), collect, &h, &eo, &err) == 0);
    CHECK(h.n == 1 && h.calls == 1 && !strcmp(h.names[0], "lookup-insurance"));
}

static void test_template_args(void)
{
    char buf[256];
    const char *why;
    CHECK(template_args_json("", 0, buf, sizeof(buf), &why));
    const char *ok = "{\"id\": \"{{userId}}\", \"limit\": {{n}}}";
    CHECK(template_args_json(ok, strlen(ok), buf, sizeof(buf), &why));
    const char *bad = "{type: session}";
    CHECK(!template_args_json(bad, strlen(bad), buf, sizeof(buf), &why));
    const char *arr = "[1, 2]";
    CHECK(!template_args_json(arr, strlen(arr), buf, sizeof(buf), &why));
    CHECK(strstr(why, "object"));
}

/* Strings are packed byte by byte; everything else stays aligned, and
 * nothing overlaps (every string reads back whole at the end). */
static void test_arena_packing(void)
{
    enum { N = 3000 };
    struct arena a;
    arena_init(&a);
    static char *strs[N];
    bool aligned = true, made = true;
    for (size_t i = 0; i < N && made; i++) {
        strs[i] = arena_strndup(&a, "abcdefg", i % 8);
        long long *x = arena_alloc(&a, i % 3 == 0 ? 1 : 24);
        made = strs[i] && x;
        if (made) {
            aligned = aligned && (uintptr_t)x % sizeof(void *) == 0;
            memset(x, 0xff, i % 3 == 0 ? 1 : 24); /* ASan: all handed out */
        }
    }
    CHECK(made && aligned);
    bool whole = made;
    for (size_t i = 0; i < N && whole; i++)
        whole = strlen(strs[i]) == i % 8 && !memcmp(strs[i], "abcdefg", i % 8);
    CHECK(whole);
    char *a1 = arena_strndup(&a, "x", 1), *a2 = arena_strndup(&a, "yz", 2);
    /* side by side, no padding: text is taken from the block's end
     * downwards */
    CHECK(a1 && a2 && a2 + 3 == a1 && !strcmp(a1, "x") && !strcmp(a2, "yz"));
    CHECK(!a.failed);
    arena_free(&a);
}

static void test_arena_shared_text(void)
{
    struct arena a;
    arena_init(&a);
    const char *n1 = arena_strndup_shared(&a, "name: x", 4);
    const char *n2 = arena_strndup_shared(&a, "name", 4);
    CHECK(n1 && n1 == n2 && !strcmp(n1, "name"));
    /* a prefix, an extension and an empty text are texts of their own */
    const char *p = arena_strndup_shared(&a, "nam", 3);
    const char *l = arena_strndup_shared(&a, "names", 5);
    const char *e1 = arena_strndup_shared(&a, "", 0);
    const char *e2 = arena_strndup_shared(&a, "", 0);
    CHECK(p && l && p != n1 && l != n1 && !strcmp(p, "nam") &&
          !strcmp(l, "names"));
    CHECK(e1 && e1 == e2 && !*e1);
    /* 64 bytes are shared, 65 are not (longer texts rarely repeat) */
    char big[66];
    memset(big, 'b', sizeof(big));
    big[65] = '\0';
    const char *b1 = arena_strndup_shared(&a, big, 64);
    const char *b2 = arena_strndup_shared(&a, big, 64);
    const char *c1 = arena_strndup_shared(&a, big, 65);
    const char *c2 = arena_strndup_shared(&a, big, 65);
    CHECK(b1 && b1 == b2 && strlen(b1) == 64);
    CHECK(c1 && c2 && c1 != c2 && !strcmp(c1, big) && !strcmp(c2, big));
    /* far more texts than the table holds: each reads back whole, and
     * two that alternate keep one copy each */
    enum { N = 20000 };
    static const char *got[N];
    bool whole = true, kept = true;
    for (size_t i = 0; i < N; i++) {
        char t[16], u[16];
        int tl = snprintf(t, sizeof(t), "k%zu", i);
        int ul = snprintf(u, sizeof(u), "v%zu", i);
        got[i] = arena_strndup_shared(&a, t, (size_t)tl);
        const char *v = arena_strndup_shared(&a, u, (size_t)ul);
        kept = kept && got[i] == arena_strndup_shared(&a, t, (size_t)tl) &&
               v == arena_strndup_shared(&a, u, (size_t)ul);
    }
    for (size_t i = 0; i < N && whole; i++) {
        char t[16];
        snprintf(t, sizeof(t), "k%zu", i);
        whole = got[i] && !strcmp(got[i], t);
    }
    CHECK(whole && kept);
    CHECK(!a.failed);
    arena_free(&a);
    /* reusable after arena_free: nothing remembered points into freed
     * blocks */
    arena_init(&a);
    const char *again = arena_strndup_shared(&a, "name", 4);
    CHECK(again && !strcmp(again, "name") &&
          again == arena_strndup_shared(&a, "name", 4));
    arena_free(&a);
}

const struct test text_tests[] = {
    {"arena packing", test_arena_packing},
    {"arena shared text", test_arena_shared_text},
    {"suggest distance", test_distance},
    {"suggest best", test_suggest},
    {"slug", test_slug},
    {"utf8", test_utf8},
    {"source positions", test_positions},
    {"template scan", test_template_scan},
    {"template white space", test_template_space},
    {"template args", test_template_args},
    {0, 0},
};
