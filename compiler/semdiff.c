/*
 * semdiff.c - compares the canonical JSON bodies of two bundles, kind by
 * kind in slug order; field changes are found by walking both bodies.
 */
#include "semdiff.h"

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "markdown.h"

static const char *const kind_label[STRUERE_KIND_COUNT] = {
    "agent",      "data type",  "role",   "tool",
    "automation", "eval suite", "fixture"};

static json_t *load_body(const char *body, size_t len)
{
    json_error_t e;
    return json_loadb(body, len, 0, &e);
}

static char *show(const json_t *v)
{
    if (!v)
        return strdup("(none)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(15));
    if (s && strlen(s) > 120) {
        s[117] = '.';
        s[118] = '.';
        s[119] = '.';
        s[120] = '\0';
    }
    return s ? s : strdup("?");
}

static void add_field(json_t *fields, const char *path, json_t *a, json_t *b)
{
    json_t *f = json_object();
    json_object_set_new(f, "path", json_string(path[0] ? path : "(whole)"));
    json_object_set(f, "from", a ? a : json_null());
    json_object_set(f, "to", b ? b : json_null());
    if (!a)
        json_object_set_new(f, "added", json_true());
    if (!b)
        json_object_set_new(f, "removed", json_true());
    json_array_append_new(fields, f);
}

/* Field-level differences; arrays of different length or of objects whose
 * items changed are reported whole at their path. */
static void diff_values(json_t *fields, const char *path, json_t *a, json_t *b,
                        int depth)
{
    if (json_equal(a, b))
        return;
    if (depth < 16 && json_is_object(a) && json_is_object(b)) {
        const char *key;
        json_t *v;
        /* Sorted walk over the union of keys. */
        json_t *keys = json_array();
        json_object_foreach(a, key, v)
            json_array_append_new(keys, json_string(key));
        json_object_foreach(b, key, v) if (!json_object_get(a, key))
            json_array_append_new(keys, json_string(key));
        size_t n = json_array_size(keys);
        const char **sorted = malloc((n + 1) * sizeof(*sorted));
        for (size_t i = 0; sorted && i < n; i++)
            sorted[i] = json_string_value(json_array_get(keys, i));
        for (size_t i = 1; sorted && i < n; i++)
            for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0;
                 j--) {
                const char *t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        for (size_t i = 0; sorted && i < n; i++) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
                     sorted[i]);
            diff_values(fields, sub, json_object_get(a, sorted[i]),
                        json_object_get(b, sorted[i]), depth + 1);
        }
        free(sorted);
        json_decref(keys);
        return;
    }
    if (depth < 16 && json_is_array(a) && json_is_array(b) &&
        json_array_size(a) == json_array_size(b)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            diff_values(fields, sub, json_array_get(a, i), json_array_get(b, i),
                        depth + 1);
        }
        return;
    }
    add_field(fields, path, a, b);
}

void semdiff_set_access(json_t *doc, json_t *access)
{
    json_object_set(doc, "access", access);
    json_object_set_new(doc, "widens", json_boolean(access_widens(access)));
}

json_t *semdiff_new(const char *from_label, const char *to_label)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "from", json_string(from_label));
    json_object_set_new(doc, "to", json_string(to_label));
    json_object_set_new(doc, "changes", json_array());
    return doc;
}

void semdiff_add(json_t *doc, const char *kind, const char *slug, json_t *a,
                 json_t *b)
{
    if (!a && !b)
        return;
    json_t *c = json_object();
    json_object_set_new(c, "kind", json_string(kind));
    json_object_set_new(c, "slug", json_string(slug));
    json_object_set_new(c, "change",
                        json_string(!a   ? "added"
                                    : !b ? "removed"
                                         : "changed"));
    if (a && b) {
        json_t *fields = json_array();
        diff_values(fields, "", a, b, 0);
        json_object_set_new(c, "fields", fields);
    }
    json_array_append_new(json_object_get(doc, "changes"), c);
}

json_t *semdiff_bundles(const struere_bundle *from, const struere_bundle *to,
                        const char *from_label, const char *to_label)
{
    json_t *doc = semdiff_new(from_label, to_label);
    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        size_t na = struere_bundle_count(from, k);
        size_t nb = struere_bundle_count(to, k);
        size_t i = 0, j = 0;
        while (i < na || j < nb) {
            const char *sa = NULL, *sb = NULL, *ba = NULL, *bb = NULL;
            size_t la = 0, lb = 0;
            if (i < na)
                struere_bundle_entry(&sa, &ba, &la, from, k, i, NULL);
            if (j < nb)
                struere_bundle_entry(&sb, &bb, &lb, to, k, j, NULL);
            int cmp = !sa ? 1 : !sb ? -1 : strcmp(sa, sb);
            json_t *a = NULL, *b = NULL;
            const char *slug;
            if (cmp < 0) {
                slug = sa;
                a = load_body(ba, la);
                i++;
            } else if (cmp > 0) {
                slug = sb;
                b = load_body(bb, lb);
                j++;
            } else {
                slug = sa;
                i++;
                j++;
                if (la == lb && !memcmp(ba, bb, la))
                    continue;
                a = load_body(ba, la);
                b = load_body(bb, lb);
            }
            semdiff_add(doc, struere_kind_name(k), slug, a, b);
            json_decref(a);
            json_decref(b);
        }
    }
    return doc;
}

size_t semdiff_count(const json_t *diff)
{
    return json_array_size(json_object_get(diff, "changes"));
}

int semdiff_format_parse(const char *s)
{
    static const char *const names[] = {"text", "md", "html", "json"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* A string member's value, "?" when it is none. */
static const char *str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "?";
}

static const char *label_of(const char *kind)
{
    for (int k = 0; k < STRUERE_KIND_COUNT; k++)
        if (!strcmp(struere_kind_name(k), kind))
            return kind_label[k];
    return kind;
}

static void print_change_details(FILE *out, json_t *c, bool md)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c, "fields"), i, f)
    {
        const char *path = json_string_value(json_object_get(f, "path"));
        char *a = show(
            json_object_get(f, "added") ? NULL : json_object_get(f, "from"));
        char *b = show(
            json_object_get(f, "removed") ? NULL : json_object_get(f, "to"));
        if (md) {
            fputs("- ", out);
            markdown_print_code(out, path ? path : "?", 0);
            fputs(": ", out);
            markdown_print_code(out, a ? a : "?", 0);
            fputs(" → ", out);
            markdown_print_code(out, b ? b : "?", 0);
            fputc('\n', out);
        } else
            fprintf(out, "    %s: %s -> %s\n", path, a, b);
        free(a);
        free(b);
    }
}

/* table: a Markdown table (GitHub renders it in a pull request); else a
 * list, for renderers without tables (cmark's HTML). Access changes, when
 * the document has them, come first: widened, then narrowed. */
static void print_md(FILE *out, const json_t *diff, bool table)
{
    json_t *changes = json_object_get(diff, "changes");
    json_t *access = json_object_get(diff, "access");
    /* The labels are revisions or file names as given: values too. */
    fputs("## struere: ", out);
    markdown_print_code(out, str(json_object_get(diff, "from")), 0);
    fputs(" → ", out);
    markdown_print_code(out, str(json_object_get(diff, "to")), 0);
    fputs("\n\n", out);
    if (access) {
        if (access_widens(access))
            fprintf(out, "**This change widens access.**\n\n");
        access_print_md(out, access, 3);
        fprintf(out, "### Definitions\n\n");
    }
    if (!json_array_size(changes)) {
        fprintf(out, "No definition changes.\n");
        return;
    }
    if (table)
        fprintf(out, "| change | kind | definition |\n| --- | --- | --- |\n");
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        fprintf(out, table ? "| %s | %s | " : "- %s %s ",
                str(json_object_get(c, "change")),
                label_of(str(json_object_get(c, "kind"))));
        markdown_print_code(out, str(json_object_get(c, "slug")),
                            table ? MARKDOWN_IN_TABLE : 0);
        fputs(table ? " |\n" : "\n", out);
    }
    json_array_foreach(changes, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "change")), "changed"))
            continue;
        fprintf(out, "\n%s %s ", access ? "####" : "###",
                label_of(str(json_object_get(c, "kind"))));
        markdown_print_code(out, str(json_object_get(c, "slug")), 0);
        fprintf(out, " (%s)\n\n", str(json_object_get(c, "change")));
        print_change_details(out, c, true);
    }
}

void semdiff_print(FILE *out, const json_t *diff, enum semdiff_format fmt,
                   bool color)
{
    if (fmt == SEMDIFF_JSON) {
        json_dumpf(diff, out,
                   JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                       JSON_REAL_PRECISION(15));
        fputc('\n', out);
        return;
    }
    if (fmt == SEMDIFF_MD) {
        print_md(out, diff, true);
        return;
    }
    if (fmt == SEMDIFF_HTML) {
        char *md = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&md, &len);
        if (!mem)
            return;
        print_md(mem, diff, false);
        fclose(mem);
        char *html = markdown_to_html(md, len);
        fputs(html ? html : "", out);
        free(html);
        free(md);
        return;
    }
    json_t *changes = json_object_get(diff, "changes");
    fprintf(out, "%s..%s: %zu definition%s differ\n",
            json_string_value(json_object_get(diff, "from")),
            json_string_value(json_object_get(diff, "to")),
            json_array_size(changes), json_array_size(changes) == 1 ? "" : "s");
    json_t *access = json_object_get(diff, "access");
    if (access && !json_array_size(access))
        fprintf(out, "Effective access: unchanged\n");
    else if (access)
        access_print_text(out, access, 0, false, color);
    size_t i;
    json_t *c;
    json_array_foreach(changes, i, c)
    {
        const char *ch = json_string_value(json_object_get(c, "change"));
        char mark = ch[0] == 'a' ? '+' : ch[0] == 'r' ? '-' : '~';
        const char *col = !color        ? ""
                          : mark == '+' ? "\033[32m"
                          : mark == '-' ? "\033[31m"
                                        : "\033[33m";
        fprintf(out, "%s%c %s %s%s\n", col, mark,
                label_of(json_string_value(json_object_get(c, "kind"))),
                json_string_value(json_object_get(c, "slug")),
                color ? "\033[0m" : "");
        print_change_details(out, c, false);
    }
}
