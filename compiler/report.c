/*
 * report.c - diagnostics renderers.
 */
#include "report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "limits.h"
#include "source.h"
#include "version.h"

int report_format_parse(const char *s)
{
    static const char *const names[] = {"text", "json", "github", "sarif"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

bool report_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    return isatty(fileno(f));
}

static const char *sev_name(enum severity s)
{
    return s == SEV_ERROR ? "error" : "warning";
}

/* The escape of the character at s (n > 0 bytes left), written to buf
 * (NUL-terminated), or 0 when it prints as itself; *used is its length
 * in bytes. Control characters (C0, DEL, C1) and bytes that are not
 * UTF-8 never reach a terminal raw: a file name could move the cursor,
 * recolour or rewrite the screen. Tabs are kept when keep_tab. */
static size_t escape_at(const char *s, size_t n, bool keep_tab, char buf[8],
                        size_t *used)
{
    unsigned char c = (unsigned char)s[0];
    *used = 1;
    if (c == '\t' && keep_tab)
        return 0;
    if (c < 0x20 || c == 0x7f) {
        const char *named = c == '\n'   ? "\\n"
                            : c == '\r' ? "\\r"
                            : c == '\t' ? "\\t"
                                        : NULL;
        if (named)
            return (size_t)snprintf(buf, 8, "%s", named);
        return (size_t)snprintf(buf, 8, "\\x%02x", c);
    }
    if (c < 0x80)
        return 0;
    size_t window = n < 4 ? n : 4;
    if (utf8_first_invalid(s, window) == 0)
        return (size_t)snprintf(buf, 8, "\\x%02x", c);
    *used = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    if (c == 0xC2 && (unsigned char)s[1] < 0xA0) /* U+0080..U+009F */
        return (size_t)snprintf(buf, 8, "\\u%04x", (unsigned char)s[1]);
    return 0;
}

/* Prints the character at s (of the n bytes left), escaped when
 * escape_at says so; returns how many bytes it took. */
static size_t put_char(FILE *out, const char *s, size_t n, bool keep_tab)
{
    char buf[8];
    size_t used;
    size_t w = escape_at(s, n, keep_tab, buf, &used);
    if (used > n)
        used = n;
    if (w)
        fputs(buf, out);
    else
        fwrite(s, 1, used, out);
    return used;
}

/* Prints n bytes of s with control characters escaped (escape_at). */
static void put_escaped(FILE *out, const char *s, size_t n, bool keep_tab)
{
    while (n > 0) {
        size_t used = put_char(out, s, n, keep_tab);
        s += used;
        n -= used;
    }
}

void report_put_escaped(FILE *out, const char *s)
{
    put_escaped(out, s, strlen(s), false);
}

static void print_caret(FILE *out, const struct diag *d)
{
    size_t len;
    const char *line = d->src ? source_line(d->src, d->line, &len) : NULL;
    if (!line)
        return;
    /* Long lines: show a window that contains the caret. */
    int col = 1;
    size_t start = 0;
    while (d->col - col > 120 && start < len) {
        if (((unsigned char)line[++start] & 0xC0) != 0x80)
            col++;
    }
    line += start;
    len -= start;
    if (len > 200)
        len = 200;
    fprintf(out, "    %s", start ? "..." : "");
    put_escaped(out, line, len, true);
    fprintf(out, "\n    %s", start ? "   " : "");
    /* Columns count characters (source_position): each byte that does not
     * continue a sequence; the caret moves by what was printed. */
    char buf[8];
    size_t used;
    for (size_t i = 0; i < len && col < d->col; i += used) {
        size_t w = escape_at(line + i, len - i, true, buf, &used);
        if (used > len - i)
            used = len - i;
        if (w == 0 && line[i] == '\t')
            fputc('\t', out);
        else
            for (size_t k = 0; k < (w ? w : 1); k++)
                fputc(' ', out);
        for (size_t k = 0; k < used; k++)
            if (((unsigned char)line[i + k] & 0xC0) != 0x80)
                col++;
    }
    fputs("^\n", out);
}

static void print_text(FILE *out, const struct diag_list *l, size_t n,
                       bool color)
{
    const char *bold = color ? "\033[1m" : "";
    const char *reset = color ? "\033[0m" : "";
    for (size_t i = 0; i < n; i++) {
        const struct diag *d = &l->items[i];
        const char *sc = !color                     ? ""
                         : d->severity == SEV_ERROR ? "\033[1;31m"
                                                    : "\033[1;35m";
        fputs(bold, out);
        if (d->file && d->line > 0) {
            report_put_escaped(out, d->file);
            fprintf(out, ":%d:%d:%s ", d->line, d->col, reset);
        } else if (d->file) {
            report_put_escaped(out, d->file);
            fprintf(out, ":%s ", reset);
        } else {
            fprintf(out, "struere:%s ", reset);
        }
        fprintf(out, "%s%s:%s ", sc, sev_name(d->severity), reset);
        report_put_escaped(out, d->message);
        fprintf(out, " [%s]\n", d->code);
        if (d->line > 0)
            print_caret(out, d);
        if (d->hint) {
            fprintf(out, "    %shint:%s ", color ? "\033[36m" : "", reset);
            report_put_escaped(out, d->hint);
            fputc('\n', out);
        }
    }
}

static json_t *json_diag(const struct diag *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "severity", json_string(sev_name(d->severity)));
    json_object_set_new(o, "code", json_string(d->code));
    json_object_set_new(o, "file",
                        d->file ? json_string(d->file) : json_null());
    json_object_set_new(o, "line", json_integer(d->line));
    json_object_set_new(o, "column", json_integer(d->col));
    json_object_set_new(o, "message", json_string(d->message));
    json_object_set_new(o, "hint",
                        d->hint ? json_string(d->hint) : json_null());
    return o;
}

static void dump(FILE *out, json_t *root)
{
    json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(root);
}

static void print_json(FILE *out, const struct diag_list *l, size_t n)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_diag(&l->items[i]));
    json_object_set_new(root, "diagnostics", arr);
    json_object_set_new(root, "errors", json_integer((json_int_t)l->errors));
    json_object_set_new(root, "warnings",
                        json_integer((json_int_t)l->warnings));
    if (n < l->n)
        json_object_set_new(root, "omitted",
                            json_integer((json_int_t)(l->n - n)));
    dump(out, root);
}

/* Workflow command escaping: data escapes %, CR, LF; properties also
 * : and ,; other control characters as in text (escape_at). */
static void gh_escape(FILE *out, const char *s, bool property)
{
    size_t used, n = strlen(s);
    for (; n > 0; s += used, n -= used) {
        switch (*s) {
        case '%':
            fputs("%25", out);
            used = 1;
            continue;
        case '\r':
            fputs("%0D", out);
            used = 1;
            continue;
        case '\n':
            fputs("%0A", out);
            used = 1;
            continue;
        case ':':
            fputs(property ? "%3A" : ":", out);
            used = 1;
            continue;
        case ',':
            fputs(property ? "%2C" : ",", out);
            used = 1;
            continue;
        }
        used = put_char(out, s, n, false);
    }
}

static void print_github(FILE *out, const struct diag_list *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct diag *d = &l->items[i];
        fprintf(out, "::%s ", sev_name(d->severity));
        if (d->file) {
            fputs("file=", out);
            gh_escape(out, d->file, true);
            if (d->line > 0)
                fprintf(out, ",line=%d,col=%d", d->line, d->col);
            fputc(',', out);
        }
        fputs("title=", out);
        gh_escape(out, d->code, true);
        fputs("::", out);
        gh_escape(out, d->message, false);
        if (d->hint) {
            fputs("%0Ahint: ", out);
            gh_escape(out, d->hint, false);
        }
        fputc('\n', out);
    }
}

static void print_sarif(FILE *out, const struct diag_list *l, size_t n)
{
    json_t *rules = json_array();
    json_t *seen = json_object();
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct diag *d = &l->items[i];
        if (!json_object_get(seen, d->code)) {
            json_object_set_new(seen, d->code, json_true());
            json_t *rule = json_object();
            json_object_set_new(rule, "id", json_string(d->code));
            json_array_append_new(rules, rule);
        }
        json_t *r = json_object();
        json_object_set_new(r, "ruleId", json_string(d->code));
        json_object_set_new(r, "level", json_string(sev_name(d->severity)));
        json_t *msg = json_object();
        if (d->hint) {
            size_t len = strlen(d->message) + strlen(d->hint) + 16;
            char *text = malloc(len);
            if (text) {
                snprintf(text, len, "%s\nhint: %s", d->message, d->hint);
                json_object_set_new(msg, "text", json_string(text));
                free(text);
            }
        } else {
            json_object_set_new(msg, "text", json_string(d->message));
        }
        json_object_set_new(r, "message", msg);
        if (d->file) {
            json_t *phys = json_object();
            json_t *art = json_object();
            json_object_set_new(art, "uri", json_string(d->file));
            json_object_set_new(phys, "artifactLocation", art);
            if (d->line > 0) {
                json_t *region = json_object();
                json_object_set_new(region, "startLine", json_integer(d->line));
                json_object_set_new(region, "startColumn",
                                    json_integer(d->col > 0 ? d->col : 1));
                json_object_set_new(phys, "region", region);
            }
            json_t *loc = json_object();
            json_object_set_new(loc, "physicalLocation", phys);
            json_t *locs = json_array();
            json_array_append_new(locs, loc);
            json_object_set_new(r, "locations", locs);
        }
        json_array_append_new(results, r);
    }
    json_decref(seen);
    json_t *driver = json_object();
    json_object_set_new(driver, "name", json_string("struere"));
    json_object_set_new(driver, "version", json_string(STRUERE_VERSION));
    json_object_set_new(driver, "informationUri",
                        json_string("https://docs.struere.dev"));
    json_object_set_new(driver, "rules", rules);
    json_t *tool = json_object();
    json_object_set_new(tool, "driver", driver);
    json_t *run = json_object();
    json_object_set_new(run, "tool", tool);
    json_object_set_new(run, "results", results);
    if (n < l->n) {
        json_t *props = json_object();
        json_object_set_new(props, "omitted",
                            json_integer((json_int_t)(l->n - n)));
        json_object_set_new(run, "properties", props);
    }
    json_t *runs = json_array();
    json_array_append_new(runs, run);
    json_t *root = json_object();
    json_object_set_new(
        root, "$schema",
        json_string("https://json.schemastore.org/sarif-2.1.0.json"));
    json_object_set_new(root, "version", json_string("2.1.0"));
    json_object_set_new(root, "runs", runs);
    dump(out, root);
}

void report_print(FILE *out, const struct diag_list *l, enum report_format fmt,
                  bool color)
{
    size_t n = l->n < LIMIT_DIAGNOSTICS ? l->n : LIMIT_DIAGNOSTICS;
    switch (fmt) {
    case REPORT_TEXT:
        print_text(out, l, n, color);
        if (n < l->n)
            fprintf(out,
                    "struere: note: %zu more diagnostic%s not shown (the "
                    "limit is %u)\n",
                    l->n - n, l->n - n == 1 ? "" : "s", LIMIT_DIAGNOSTICS);
        break;
    case REPORT_JSON:
        print_json(out, l, n);
        break;
    case REPORT_GITHUB:
        print_github(out, l, n);
        if (n < l->n)
            fprintf(out,
                    "::warning title=omitted::%zu more diagnostic%s not "
                    "shown (the limit is %u)\n",
                    l->n - n, l->n - n == 1 ? "" : "s", LIMIT_DIAGNOSTICS);
        break;
    case REPORT_SARIF:
        print_sarif(out, l, n);
        break;
    }
}
