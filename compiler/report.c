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
    fprintf(out, "    %s%.*s\n    %s", start ? "..." : "", (int)len, line,
            start ? "   " : "");
    for (size_t i = 0; i < len && col < d->col; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c & 0xC0) == 0x80)
            continue;
        fputc(c == '\t' ? '\t' : ' ', out);
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
        if (d->file && d->line > 0)
            fprintf(out, "%s%s:%d:%d:%s ", bold, d->file, d->line, d->col,
                    reset);
        else if (d->file)
            fprintf(out, "%s%s:%s ", bold, d->file, reset);
        else
            fprintf(out, "%sstruere:%s ", bold, reset);
        fprintf(out, "%s%s:%s %s [%s]\n", sc, sev_name(d->severity), reset,
                d->message, d->code);
        if (d->line > 0)
            print_caret(out, d);
        if (d->hint)
            fprintf(out, "    %shint:%s %s\n", color ? "\033[36m" : "", reset,
                    d->hint);
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

/* Workflow command escaping: data escapes %, CR, LF; properties also : , */
static void gh_escape(FILE *out, const char *s, bool property)
{
    for (; *s; s++) {
        switch (*s) {
        case '%':
            fputs("%25", out);
            break;
        case '\r':
            fputs("%0D", out);
            break;
        case '\n':
            fputs("%0A", out);
            break;
        case ':':
            fputs(property ? "%3A" : ":", out);
            break;
        case ',':
            fputs(property ? "%2C" : ",", out);
            break;
        default:
            fputc(*s, out);
        }
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
