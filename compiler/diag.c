/*
 * diag.c - the diagnostics list.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "node.h"
#include "source.h"

void diag_list_init(struct diag_list *l, struct arena *a)
{
    memset(l, 0, sizeof(*l));
    l->arena = a;
}

/* Out of memory the diagnostic is dropped: the arena remembers the
 * failure, and the driver reports that instead of a partial list. */
static void push(struct diag_list *l, const struct diag *d)
{
    if (arena_grow(l->arena, (void **)&l->items, &l->cap, l->n + 1,
                   sizeof(*l->items)) < 0)
        return;
    l->items[l->n++] = *d;
    if (d->severity == SEV_ERROR)
        l->errors++;
    else
        l->warnings++;
}

__attribute__((format(printf, 8, 0))) static void
vadd(struct diag_list *l, enum severity sev, const char *code,
     const struct source *src, int line, int col, const char *hint,
     const char *fmt, va_list ap)
{
    if (!l)
        return; /* a validation that only counts (schema.c's oneOf trials) */
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    struct diag d = {
        .severity = sev,
        .code = code,
        .file = src ? src->path : NULL,
        .src = src,
        .line = line,
        .col = col,
        .message = arena_strdup(l->arena, buf),
        .hint = hint ? arena_strdup(l->arena, hint) : NULL,
    };
    if (!d.message || (hint && !d.hint))
        return;
    push(l, &d);
}

void diag_add(struct diag_list *l, enum severity sev, const char *code,
              const struct source *src, int line, int col, const char *hint,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(l, sev, code, src, line, col, hint, fmt, ap);
    va_end(ap);
}

void diag_error(struct diag_list *l, const struct node *at, const char *code,
                const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(l, SEV_ERROR, code, at ? node_source(at) : NULL, at ? at->line : 0,
         at ? at->col : 0, hint, fmt, ap);
    va_end(ap);
}

void diag_warning(struct diag_list *l, const struct node *at, const char *code,
                  const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vadd(l, SEV_WARNING, code, at ? node_source(at) : NULL, at ? at->line : 0,
         at ? at->col : 0, hint, fmt, ap);
    va_end(ap);
}

void diag_append(struct diag_list *dst, const struct diag_list *src)
{
    for (size_t i = 0; i < src->n; i++)
        push(dst, &src->items[i]);
}

static int strcmp0(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp(const void *pa, const void *pb)
{
    const struct diag *a = pa, *b = pb;
    int c = strcmp0(a->file, b->file);
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    if ((c = strcmp(a->code, b->code)))
        return c;
    if ((c = strcmp(a->message, b->message)))
        return c;
    return strcmp0(a->hint, b->hint);
}

void diag_sort_unique(struct diag_list *l)
{
    if (l->n == 0)
        return;
    qsort(l->items, l->n, sizeof(*l->items), cmp);
    size_t k = 0;
    l->errors = l->warnings = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (k > 0 && cmp(&l->items[k - 1], &l->items[i]) == 0)
            continue;
        l->items[k++] = l->items[i];
        if (l->items[i].severity == SEV_ERROR)
            l->errors++;
        else
            l->warnings++;
    }
    l->n = k;
}
