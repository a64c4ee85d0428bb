/*
 * slug.c - slug derivation (Struere: name.lower().replace(/[^a-z0-9]+/g,
 * '-') trimmed of '-').
 */
#include "slug.h"

#include <ctype.h>
#include <string.h>

#include "arena.h"

char *slug_from_name(struct arena *a, const char *name)
{
    size_t n = strlen(name);
    char *out = arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    int pending_dash = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x80 && isalnum(c)) {
            if (pending_dash && k > 0)
                out[k++] = '-';
            pending_dash = 0;
            out[k++] = (char)tolower(c);
        } else {
            pending_dash = 1;
        }
    }
    out[k] = '\0';
    return out;
}

char *slug_display_name(struct arena *a, const char *slug)
{
    char *out = arena_strdup(a, slug);
    if (!out)
        return NULL;
    int start = 1;
    for (char *p = out; *p; p++) {
        if (*p == '-' || *p == '_') {
            *p = ' ';
            start = 1;
        } else if (start) {
            *p = (char)toupper((unsigned char)*p);
            start = 0;
        }
    }
    return out;
}
