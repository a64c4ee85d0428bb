/*
 * rt_tmpl_scan.h - the one {{ }} scanner: where a template starts and ends,
 * what white space inside the braces is trimmed, and when an expression
 * reads as a call NAME(ARGS). Internal to libstruere; the compiler includes
 * it too (compiler/tmpl_scan.h), so `struere check` and the runtime agree on
 * what a template is, byte for byte.
 *
 * White space is JavaScript's trim() (ECMA-262 WhiteSpace and
 * LineTerminator: tab, LF, VT, FF, CR, space, U+00A0, U+1680,
 * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF), as
 * Struere trims: so {{<NBSP>agentName}} is {{agentName}} on both sides.
 */
#ifndef STRUERE_RT_TMPL_SCAN_H
#define STRUERE_RT_TMPL_SCAN_H

#include <stddef.h>

/* rt_tmpl_next's results. */
#define RT_TMPL_NONE 0      /* no "{{" left */
#define RT_TMPL_FOUND 1     /* *e filled */
#define RT_TMPL_UNCLOSED -1 /* a "{{" is never closed (at e->open) */
#define RT_TMPL_TOO_DEEP -2 /* nesting deeper than max_depth (at e->open) */

/* One top-level {{ }} expression. */
typedef struct rt_tmpl_expr {
    size_t open;      /* offset of its "{{" */
    size_t end;       /* offset just past its closing "}}" */
    const char *text; /* between the braces, trimmed (rt_tmpl_trim) */
    size_t len;
} rt_tmpl_expr;

/* Length of the white space character at `p` (`n` bytes there), or 0. */
size_t rt_tmpl_space_at(const char *p, size_t n);

/* Trims white space from both ends of the `*n` bytes at `*p`. */
void rt_tmpl_trim(const char **p, size_t *n);

/*
 * The next top-level expression at or after `*pos` in the `n` bytes at `s`
 * (system prompts, call arguments): "{{" opens one, then each "{{" adds a
 * level and each "}}" closes one. RT_TMPL_FOUND with `*e` filled and `*pos`
 * past it; RT_TMPL_NONE; RT_TMPL_UNCLOSED or RT_TMPL_TOO_DEEP with e->open
 * set (`*pos` is then n).
 */
int rt_tmpl_next(const char *s, size_t n, size_t *pos, size_t max_depth,
                 rt_tmpl_expr *e);

/*
 * The next {{path}} in the `n` bytes at `s` from `from` on, without
 * nesting, as Struere's automation regex /\{\{([^}]+)\}\}/ finds it: 1 with
 * the match at [*start, *stop), 0 when there is none.
 */
int rt_tmpl_next_flat(const char *s, size_t n, size_t from, size_t *start,
                      size_t *stop);

/*
 * Whether the trimmed content `n` bytes at `p` reads NAME(ARGS): NAME is
 * [A-Za-z_][A-Za-z0-9_.-]* (Struere's [a-zA-Z_][\w.]* plus '-', so every
 * valid custom tool name, e.g. lookup-insurance, can be called). Returns
 * the length of NAME (the arguments are p[len+1 .. n-2]), or 0 for a
 * variable.
 */
size_t rt_tmpl_call_name(const char *p, size_t n);

#endif
