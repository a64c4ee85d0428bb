/*
 * template.h - the {{ }} template language of system prompts and
 * automation arguments (reference §2.8): a scanner that finds each
 * top-level expression with nesting counted, and a check that a function
 * call's arguments are JSON once nested variables are substituted.
 */
#ifndef STRUERE_TEMPLATE_H
#define STRUERE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

struct tmpl_expr {
    size_t offset;    /* of the opening "{{" in the scanned text */
    const char *text; /* content between the braces, trimmed */
    size_t len;
    bool is_call;     /* name(args) */
    const char *name; /* variable path, or function name */
    size_t name_len;
    const char *args; /* call arguments (between the parentheses) */
    size_t args_len;
};

typedef void (*tmpl_visit)(void *ctx, const struct tmpl_expr *e);

/* Calls visit for every top-level expression. Returns 0, or -1 when the
 * text has an unclosed "{{" (its offset in *err_offset) or nests deeper
 * than LIMIT_TEMPLATE_DEPTH (*err says which). */
int template_scan(const char *s, size_t len, tmpl_visit visit, void *ctx,
                  size_t *err_offset, const char **err);

/* Whether call arguments parse as a JSON object (empty means {}), after
 * replacing each nested {{variable}} with a placeholder of the right kind.
 * On failure *why receives a short reason (static or in buf). */
bool template_args_json(const char *args, size_t len, char *buf, size_t size,
                        const char **why);

#endif
