/*
 * markdown.c - front matter split of agent prompts, and their outline
 * (cmark) when asked for; HTML; values as code spans in the reports.
 */
#include "markdown.h"

#include <cmark.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "source.h"

/* Length of the line starting at s (up to len), and of its line break
 * (source_break_len). */
static size_t line_len(const char *s, size_t len, size_t *eol)
{
    size_t n = 0;
    while (n < len && !source_break_len(s + n, s + len))
        n++;
    *eol = source_break_len(s + n, s + len);
    return n;
}

static int is_fence(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return (n == 3 && !memcmp(s, "---", 3)) || (n == 3 && !memcmp(s, "...", 3));
}

static void collect_text(cmark_node *n, char *buf, size_t size, size_t *used)
{
    for (cmark_node *c = cmark_node_first_child(n); c; c = cmark_node_next(c)) {
        const char *lit = cmark_node_get_literal(c);
        if (lit) {
            size_t l = strlen(lit);
            if (*used + l >= size)
                l = size - *used - 1;
            memcpy(buf + *used, lit, l);
            *used += l;
            buf[*used] = '\0';
        }
        collect_text(c, buf, size, used);
    }
}

bool markdown_outline(struct arena *a, struct markdown *md,
                      const struct source *src)
{
    if (md->outlined)
        return true;
    if (!src->text || src->len < md->body_offset + md->body_len)
        return true; /* not held (a restored file): nothing to outline */
    cmark_node *doc = cmark_parse_document(src->text + md->body_offset,
                                           md->body_len, CMARK_OPT_DEFAULT);
    if (!doc)
        return false;
    size_t cap = 0;
    bool ok = true;
    for (cmark_node *b = cmark_node_first_child(doc); b && ok;
         b = cmark_node_next(b)) {
        if (cmark_node_get_type(b) != CMARK_NODE_HEADING)
            continue;
        char buf[256];
        size_t used = 0;
        buf[0] = '\0';
        collect_text(b, buf, sizeof(buf), &used);
        if (arena_grow(a, (void **)&md->headings, &cap, md->nheadings + 1,
                       sizeof(*md->headings)) < 0) {
            ok = false;
            break;
        }
        struct md_heading *h = &md->headings[md->nheadings];
        h->level = cmark_node_get_heading_level(b);
        h->line = cmark_node_get_start_line(b) + md->body_line - 1;
        h->text = arena_strdup(a, buf);
        ok = h->text != NULL;
        md->nheadings += ok;
    }
    cmark_node_free(doc);
    md->outlined = ok;
    return ok;
}

struct markdown *markdown_load(struct arena *a, const struct source *src,
                               struct diag_list *diags)
{
    const char *t = src->text;
    size_t len = src->len;
    size_t eol;
    size_t first = line_len(t, len, &eol);
    if (!is_fence(t, first) || t[0] != '-') {
        diag_add(diags, SEV_ERROR, "missing-front-matter", src, 1, 1,
                 "start the file with a line '---', the agent's YAML "
                 "fields, then another '---' line; the prompt follows",
                 "a Markdown agent must start with YAML front matter");
        return NULL;
    }
    size_t pos = first + eol;
    int line = 2;
    size_t fm_start = pos;
    while (pos < len) {
        size_t n = line_len(t + pos, len - pos, &eol);
        if (is_fence(t + pos, n)) {
            struct markdown *md = arena_alloc(a, sizeof(*md));
            if (!md)
                return NULL; /* out of memory: the arena says so */
            md->fm_offset = fm_start;
            md->fm_len = pos - fm_start;
            md->fm_line = 2;
            md->body_offset = pos + n + eol;
            md->body_len = len - md->body_offset;
            md->body_line = line + 1;
            md->headings = NULL;
            md->nheadings = 0;
            md->outlined = false;
            return md;
        }
        pos += n + eol;
        line++;
    }
    diag_add(diags, SEV_ERROR, "missing-front-matter", src, 1, 1,
             "close the front matter with a line '---' before the prompt",
             "the front matter opened on line 1 is never closed");
    return NULL;
}

char *markdown_to_html(const char *text, size_t len)
{
    return cmark_markdown_to_html(text, len, CMARK_OPT_DEFAULT);
}

void markdown_print_code(FILE *out, const char *text, unsigned flags)
{
    size_t run = 0, longest = 0, n = strlen(text);
    for (const char *p = text; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    /* An empty span cannot be written: a space shows as nothing. */
    bool blank = !n || strspn(text, " ") == n;
    bool pad = !blank && (text[0] == '`' || text[n - 1] == '`' ||
                          (text[0] == ' ' && text[n - 1] == ' '));
    for (size_t i = 0; i <= longest; i++)
        fputc('`', out);
    fputs(pad || !n ? " " : "", out);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else if (*p == '|' && (flags & MARKDOWN_IN_TABLE))
            fputs("\\|", out);
        else
            fputc(*p, out);
    }
    fputs(pad ? " " : "", out);
    for (size_t i = 0; i <= longest; i++)
        fputc('`', out);
}
