/*
 * markdown.h - agents written as Markdown: YAML front matter between ---
 * lines, then the system prompt. The only module that uses cmark: the
 * prompt's outline (its headings) when asked for, and HTML. And values
 * written into the Markdown reports (diff, access) as code.
 */
#ifndef STRUERE_MARKDOWN_H
#define STRUERE_MARKDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct arena;
struct source;
struct diag_list;

struct md_heading {
    int level;
    int line; /* file line */
    const char *text;
};

struct markdown {
    size_t fm_offset, fm_len; /* front matter, without the --- lines */
    int fm_line;              /* file line where it starts */
    size_t body_offset, body_len;
    int body_line; /* file line where the prompt starts */
    /* The prompt's headings, once markdown_outline has run. */
    struct md_heading *headings;
    size_t nheadings;
    bool outlined;
};

/* Splits src into front matter and body. Returns NULL after reporting a
 * diagnostic when there is no front matter. */
struct markdown *markdown_load(struct arena *a, const struct source *src,
                               struct diag_list *diags);
/* Parses the prompt with cmark for its headings (`check --summary` lists
 * them), once: no check reads them, so no run pays for it unasked. src is
 * the file md was split from; its text is kept (the prompt points into
 * it). false when out of memory. */
bool markdown_outline(struct arena *a, struct markdown *md,
                      const struct source *src);

/* Markdown text to HTML (cmark, safe mode: raw HTML is not passed
 * through). The caller frees the result with free(). */
char *markdown_to_html(const char *text, size_t len);

/* markdown_print_code's flags. */
#define MARKDOWN_IN_TABLE 1u /* in a GitHub table cell: '|' as '\|' */

/*
 * Writes text as one CommonMark code span that shows it as it is, so that
 * nothing in a value (a backtick, '*', '[', '<', a URL) is taken as
 * Markdown: fenced by a backtick run longer than any in the text, with a
 * space inside each fence when the text starts or ends with a backtick, or
 * starts and ends with a space (a renderer strips one of each). A line end
 * would end the span's paragraph or table row, so control characters are
 * written as escapes (\n, \t, \x01). In a table cell (MARKDOWN_IN_TABLE),
 * '|' is written '\|', which GitHub's tables read as a '|' of the cell,
 * code spans included.
 */
void markdown_print_code(FILE *out, const char *text, unsigned flags);

#endif
