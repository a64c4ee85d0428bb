/*
 * diag.h - diagnostics: located errors and warnings with a stable code and
 * an optional hint. Phases add to a list and keep going, so one run
 * reports every problem; the driver decides when to stop.
 */
#ifndef STRUERE_DIAG_H
#define STRUERE_DIAG_H

#include <stddef.h>

struct arena;
struct source;
struct node;

enum severity { SEV_ERROR, SEV_WARNING };

struct diag {
    enum severity severity;
    const char *code; /* stable, kebab-case, documented in DIAGNOSTICS.md */
    const char *file; /* display path, or NULL for project-wide */
    const struct source *src; /* for the source line and caret; may be NULL */
    int line, col;            /* 1-based; 0 when unknown */
    const char *message;
    const char *hint; /* may be NULL */
};

struct diag_list {
    struct arena *arena; /* where messages are allocated */
    struct diag *items;
    size_t n, cap;
    size_t errors, warnings;
};

void diag_list_init(struct diag_list *l, struct arena *a);
/* Adds a diagnostic at a source position. message is printf-formatted.
 * A NULL list records nothing and formats nothing. */
void diag_add(struct diag_list *l, enum severity sev, const char *code,
              const struct source *src, int line, int col, const char *hint,
              const char *fmt, ...) __attribute__((format(printf, 8, 9)));
/* Shorthands locating the diagnostic at a node (node may be NULL). */
void diag_error(struct diag_list *l, const struct node *at, const char *code,
                const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_warning(struct diag_list *l, const struct node *at, const char *code,
                  const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Appends all of src's diagnostics to dst (pointers are shared). */
void diag_append(struct diag_list *dst, const struct diag_list *src);
/* Sorts by file, line, column, code and message, and drops exact
 * duplicates (the same problem seen in several environments). */
void diag_sort_unique(struct diag_list *l);

#endif
