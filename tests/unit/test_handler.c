/*
 * test_handler.c - what a custom tool's handler may do to records
 * (handler.h), on handler texts written by hand: each expectation is the
 * set of actions the text's `struere` calls name, or all five where
 * struere is used otherwise or reachable without its name.
 */
#include <string.h>

#include "handler.h"
#include "harness.h"

enum {
    C = HANDLER_CREATE,
    R = HANDLER_READ,
    U = HANDLER_UPDATE,
    D = HANDLER_DELETE,
    L = HANDLER_LIST,
    ANY = HANDLER_ANY
};

static const struct {
    const char *text;
    unsigned want;
} cases[] = {
    /* nothing to records */
    {"", 0},
    {"return { ok: true }", 0},
    {"const r = await fetch(url)\nreturn r.json()", 0},
    {"const mystruere = 1, struereX = 2, _struere = 3, $struere = 4", 0},
    {"const medieval = 1, argumentsList = []", 0},
    {"const structure = {entity: 1}", 0},
    /* each method its action */
    {"return struere.entity.create({ type: 'a', data: {} })", C},
    {"return struere.entity.get({ id: args.id })", R},
    {"return struere.entity.update({ id: 'x', type: 'a', data: {} })", U},
    {"return struere.entity.delete({ id: args.id })", D},
    {"return struere.entity.query({ type: 'a' })", L},
    {"await struere.entity.get({id})\nawait struere.entity.query({type})",
     R | L},
    /* white space and optional chaining between the parts */
    {"await struere\n  .entity\n  .get({ id })", R},
    {"await struere?.entity?.delete?.({ id })", D},
    {"await struere . entity . update ({ id })", U},
    /* any other use: all five */
    {"const api = struere\nreturn api.entity.delete({ id })", ANY},
    {"return helper(struere)", ANY},
    {"return struere['entity'].get({ id })", ANY},
    {"return struere.entity['delete']({ id })", ANY},
    {"return struere.entity.remove({ id })", ANY},
    {"return struere.entity.get", ANY},
    {"return struere.entity.getAll({})", ANY},
    {"return struere.events.emit({})", ANY},
    {"const { entity } = struere", ANY},
    {"await struere.entity.get({id}); const s = struere", ANY},
    {"// calls struere later\nreturn 1", ANY},
    /* struere reached without its name */
    {"return eval('stru' + 'ere').entity.get({})", ANY},
    {"return arguments[2].entity.delete({ id })", ANY},
    {"const e = eval\nreturn 1", ANY},
    /* names written with escapes are the same names in JavaScript */
    {"return str\\u0075ere.entity.delete({ id })", D},
    {"return \\u{73}truere.entity.create({})", C},
    {"return \\u{0000073}truere.entity.create({})", C},
    {"return struere.entity.d\\u0065lete({ id })", D},
    {"return str\\u0075ere['entity'].get({ id })", ANY},
    {"return \\u0065val('stru' + 'ere')", ANY},
    {"return ev\\u{61}l('x')", ANY},
    {"return \\u0061rguments[2]", ANY},
    /* not escapes of a name's letters: left as they are */
    {"const s = '\\u00e9t\\u00e9'", 0},
    {"const s = 'str\\u{110000}ere'", 0},
    {"const s = 'str\\u007'", 0},
    {"const s = 'str\\u{}ere'", 0},
};

/* A NUL is a character of the text (JavaScript allows one in a comment),
 * not its end: what follows it counts. */
static void test_nul(void)
{
    static const char text[] = "// a \0 here\nawait struere.entity.update({})";
    CHECK(handler_actions(text, sizeof(text) - 1) == U);
    static const char nul_only[] = "return 1\0";
    CHECK(handler_actions(nul_only, sizeof(nul_only) - 1) == 0);
    /* the length decides where the text ends */
    static const char cut[] = "return 1 // struere";
    CHECK(handler_actions(cut, 8) == 0);
    CHECK(handler_actions(cut, sizeof(cut) - 1) == ANY);
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = handler_actions(cases[i].text, strlen(cases[i].text));
        if (got != cases[i].want)
            fprintf(stderr, "handler case %zu: got %u want %u: %s\n", i, got,
                    cases[i].want, cases[i].text);
        CHECK(got == cases[i].want);
    }
    CHECK(handler_actions(NULL, 0) == 0);
}

const struct test handler_tests[] = {
    {"handler: the actions a handler's struere calls name", test_cases},
    {"handler: a NUL is a character, the length the end", test_nul},
    {0, 0},
};
