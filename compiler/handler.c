/*
 * handler.c - what a custom tool's handler may do to records (handler.h).
 */
#include "handler.h"

#include <stdbool.h>
#include <string.h>

/* Whether text at p is `word` as a whole identifier. */
static bool js_word(const char *text, const char *p, const char *word)
{
    static const char id[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$";
    size_t n = strlen(word);
    return !strncmp(p, word, n) && (p == text || !strchr(id, p[-1])) &&
           (!p[n] || !strchr(id, p[n]));
}

/* Past white space and one "." or "?." at p; NULL when there is none. */
static const char *js_dot(const char *p)
{
    p += strspn(p, " \t\r\n");
    if (*p == '?' && p[1] == '.')
        p++;
    if (*p != '.')
        return NULL;
    return p + 1 + strspn(p + 1, " \t\r\n");
}

/* The action bit of struere.entity.METHOD( at p (just past "struere"),
 * and in *end where the call's "(" is; HANDLER_ANY for any other use. */
static unsigned entity_call(const char *text, const char *p, const char **end)
{
    static const struct {
        const char *method;
        unsigned bit;
    } methods[] = {{"create", HANDLER_CREATE},
                   {"get", HANDLER_READ},
                   {"update", HANDLER_UPDATE},
                   {"delete", HANDLER_DELETE},
                   {"query", HANDLER_LIST}};
    const char *q = js_dot(p);
    if (!q || !js_word(text, q, "entity") || !(q = js_dot(q + 6)))
        return HANDLER_ANY;
    for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
        if (!js_word(text, q, methods[m].method))
            continue;
        q += strlen(methods[m].method);
        q += strspn(q, " \t\r\n");
        if (*q == '?' && q[1] == '.')
            q += 2 + strspn(q + 2, " \t\r\n");
        if (*q != '(')
            return HANDLER_ANY;
        *end = q;
        return methods[m].bit;
    }
    return HANDLER_ANY;
}

unsigned handler_actions(const char *h)
{
    unsigned out = 0;
    for (const char *p = h; p && *p && out != HANDLER_ANY; p++) {
        if (js_word(h, p, "eval") || js_word(h, p, "arguments"))
            return HANDLER_ANY;
        if (js_word(h, p, "struere"))
            out |= entity_call(h, p + 7, &p);
    }
    return out;
}
