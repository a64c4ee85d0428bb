/*
 * handler.c - what a custom tool's handler may do to records (handler.h).
 */
#include "handler.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

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

/* The code point of the escape whose hex digits start at p (n bytes
 * there): XXXX, or {X...} of any number of digits (leading zeros too)
 * up to 10FFFF. The bytes it takes, 0 for no escape. */
static size_t escape_at(const char *p, size_t n, unsigned long *cp)
{
    size_t i, digits = 0;
    bool braced = n > 0 && p[0] == '{', big = false;
    *cp = 0;
    for (i = braced; i < n && (braced || digits < 4); i++) {
        int v = rt_hex_digit(p[i]);
        if (v < 0)
            break;
        *cp = *cp * 16 + (unsigned long)v;
        big |= *cp > 0x10FFFF;
        if (big)
            *cp = 0x110000; /* stays too big, never wraps */
        digits++;
    }
    if (braced)
        return digits >= 1 && !big && i < n && p[i] == '}' ? i + 1 : 0;
    return digits == 4 ? 4 : 0;
}

/* h as the scan reads it: each escape of an ASCII character (but NUL)
 * as that character, each NUL as a space; a new string, or NULL. */
static char *as_read(const char *h, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < len;) {
        unsigned long cp;
        size_t used = h[i] == '\\' && i + 1 < len && h[i + 1] == 'u'
                          ? escape_at(h + i + 2, len - i - 2, &cp)
                          : 0;
        if (used && cp > 0 && cp < 0x80) {
            out[o++] = (char)cp;
            i += 2 + used;
            continue;
        }
        out[o++] = h[i] ? h[i] : ' ';
        i++;
    }
    if (out)
        out[o] = '\0';
    return out;
}

unsigned handler_actions(const char *text, size_t len)
{
    if (!text)
        return 0;
    char *h = as_read(text, len);
    if (!h)
        return HANDLER_ANY;
    unsigned out = 0;
    for (const char *p = h; *p && out != HANDLER_ANY; p++) {
        if (js_word(h, p, "eval") || js_word(h, p, "arguments"))
            out = HANDLER_ANY;
        else if (js_word(h, p, "struere"))
            out |= entity_call(h, p + 7, &p);
    }
    free(h);
    return out;
}
