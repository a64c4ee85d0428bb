/*
 * report.h - printing diagnostics: text (with source line, caret and
 * hint, coloured on a terminal), JSON, GitHub Actions workflow commands
 * and SARIF 2.1.0.
 */
#ifndef STRUERE_REPORT_H
#define STRUERE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

struct diag_list;

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_GITHUB, REPORT_SARIF };

/* Parses "text", "json", "github" or "sarif"; returns -1 otherwise. */
int report_format_parse(const char *s);
/* Whether to colour output on f (a terminal, and NO_COLOR unset). */
bool report_use_color(FILE *f);
/* Prints every diagnostic of l (at most LIMIT_DIAGNOSTICS, then a count
 * of the rest) in the given format. */
void report_print(FILE *out, const struct diag_list *l, enum report_format fmt,
                  bool color);
/* Prints s for a terminal: control characters escaped (\x1b, \n, \t,
 * \u009b) and bytes that are not UTF-8 as \xNN, so that a file name
 * cannot drive the terminal. */
void report_put_escaped(FILE *out, const char *s);

#endif
