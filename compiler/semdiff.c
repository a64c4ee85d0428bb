/*
 * semdiff.c - compares the canonical JSON bodies of two bundles, kind by
 * kind in slug order; field changes are found by walking both bodies.
 */
#include "semdiff.h"

#include <stdio.h>
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
    return json_loadb(body, len, JSON_ALLOW_NUL, &e);
}

/* Longest value shown in text and Markdown, in bytes (JSON keeps them
 * whole); where two long values differ is shown, not their common start. */
#define SHOW_MAX 120
#define SHOW_BEFORE 40 /* bytes kept before the first difference */

static char *dump(const json_t *v)
{
    if (!v)
        return strdup("(none)");
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(15));
    return s ? s : strdup("?");
}

/* A UTF-8 character boundary at or before n in s. */
static size_t boundary(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

/* s from byte `from` (after "..." when from > 0), cut to SHOW_MAX bytes
 * with "..." at the end when longer; in place. */
static char *cut(char *s, size_t from)
{
    if (!s)
        return NULL;
    from = boundary(s, from);
    size_t len = strlen(s), lead = from ? 3 : 0;
    if (from) {
        memmove(s + 3, s + from, len - from + 1);
        memcpy(s, "...", 3);
        len = len - from + 3;
    }
    if (len > SHOW_MAX) {
        size_t end = boundary(s, SHOW_MAX - 3);
        if (end < lead)
            end = lead;
        memcpy(s + end, "...", 4);
    }
    return s;
}

static int by_key(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The keys of object a and those of object b (NULL: none) that a lacks,
 * sorted, borrowed from the objects; NULL when out of memory. The caller
 * frees the array. */
static const char **sorted_keys(const json_t *a, const json_t *b, size_t *n)
{
    size_t cap = json_object_size(a) + (b ? json_object_size(b) : 0);
    const char **keys = malloc((cap + 1) * sizeof(*keys));
    const char *key;
    json_t *v;
    *n = 0;
    if (!keys)
        return NULL;
    json_object_foreach((json_t *)a, key, v) keys[(*n)++] = key;
    if (b)
        json_object_foreach((json_t *)b, key, v) if (!json_object_get(a, key))
            keys[(*n)++] = key;
    qsort(keys, *n, sizeof(*keys), by_key);
    return keys;
}

/* A member of a long object or array in its summary: a string of at most
 * SHOW_MEMBER bytes, other scalars whole, objects and arrays elided. */
#define SHOW_MEMBER 32

static void summary_member(FILE *out, const json_t *v)
{
    if (json_is_object(v) || json_is_array(v)) {
        bool empty =
            json_is_object(v) ? !json_object_size(v) : !json_array_size(v);
        fputs(json_is_object(v) ? (empty ? "{}" : "{...}")
                                : (empty ? "[]" : "[...]"),
              out);
        return;
    }
    char *s = dump(v);
    if (s && json_is_string(v) && strlen(s) > SHOW_MEMBER)
        memcpy(s + boundary(s, SHOW_MEMBER - 4), "...\"", 5);
    fputs(s ? s : "?", out);
    free(s);
}

/* An object or array too long to show whole: each member in a few bytes
 * (summary_member), so that what tells one element from another (a
 * name, a resource) stays in sight; NULL when out of memory. */
static char *summary(const json_t *v)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    if (json_is_object(v)) {
        /* keys in order, as dump sorts them */
        size_t n;
        const char **keys = sorted_keys(v, NULL, &n);
        fputc('{', out);
        for (size_t i = 0; keys && i < n; i++) {
            json_t *name = json_string(keys[i]);
            char *q = name ? dump(name) : NULL;
            fprintf(out, "%s%s:", i ? "," : "", q ? q : "?");
            free(q);
            json_decref(name);
            summary_member(out, json_object_get(v, keys[i]));
        }
        fputc('}', out);
        free(keys);
    } else {
        size_t i;
        json_t *m;
        fputc('[', out);
        json_array_foreach((json_t *)v, i, m)
        {
            fputs(i ? "," : "", out);
            summary_member(out, m);
        }
        fputc(']', out);
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* The two sides of a change as shown (caller frees both), each at most
 * SHOW_MAX bytes: an object or array too long as its summary; two long
 * scalars (texts) from SHOW_BEFORE bytes before the first byte that
 * differs, when their common start would fill most of the space. */
static void show_pair(const json_t *a, const json_t *b, char **sa, char **sb)
{
    *sa = dump(a);
    *sb = dump(b);
    const json_t *side[2] = {a, b};
    char **shown[2] = {sa, sb};
    bool texts = true;
    for (int k = 0; k < 2; k++) {
        const json_t *v = side[k];
        if (!v || (!json_is_object(v) && !json_is_array(v)))
            continue;
        texts = false;
        if (*shown[k] && strlen(*shown[k]) > SHOW_MAX) {
            free(*shown[k]);
            *shown[k] = summary(v);
        }
    }
    size_t from = 0;
    if (texts && a && b && *sa && *sb) {
        size_t same = 0;
        while ((*sa)[same] && (*sa)[same] == (*sb)[same])
            same++;
        if (same > SHOW_MAX - SHOW_BEFORE &&
            (strlen(*sa) > SHOW_MAX || strlen(*sb) > SHOW_MAX))
            from = same - SHOW_BEFORE;
    }
    cut(*sa, from);
    cut(*sb, from);
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

static void diff_values(json_t *fields, const char *path, json_t *a, json_t *b,
                        int depth);

/* Most cells of the tables that align the middles of two arrays (what is
 * left once their common start and end are set aside): past it, the
 * middles are compared index by index. */
#define ALIGN_CELLS 65536u

/* How alike two elements that differ are, from 0 (not the same element
 * changed: listed as one removed and one added) to 1: objects by the
 * share of their members that are equal, two scalars or two arrays of a
 * kind as half alike. */
static double alike(json_t *a, json_t *b)
{
    if (json_typeof(a) != json_typeof(b) &&
        !(json_is_number(a) && json_is_number(b)) &&
        !(json_is_boolean(a) && json_is_boolean(b)))
        return 0;
    if (!json_is_object(a))
        return 0.5;
    size_t na = json_object_size(a), nb = json_object_size(b), same = 0;
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) same +=
        json_equal(v, json_object_get(b, key));
    return na + nb ? 2.0 * (double)same / (double)(na + nb) : 0;
}

/* A run of elements a[i..i+nd) and b[j..j+ni) between equal ones (or the
 * whole middles, unaligned): pairs of alike elements, in order, the most
 * alike in all (`align`; else the first with the first), compared member
 * by member; the others listed as removed or added. An element of a is
 * named by its index in a, an added one by its index in b. */
static void diff_run(json_t *fields, const char *path, json_t *a, size_t i,
                     size_t nd, json_t *b, size_t j, size_t ni, bool align,
                     int depth)
{
    char sub[512];
    double *w = NULL; /* w[x][y]: the best pairing of a[x..], b[y..] */
    if (align && nd && ni)
        w = calloc((nd + 1) * (ni + 1), sizeof(*w));
#define W(x, y) w[(x) * (ni + 1) + (y)]
    for (size_t x = nd; w && x-- > 0;)
        for (size_t y = ni; y-- > 0;) {
            double pair =
                alike(json_array_get(a, i + x), json_array_get(b, j + y));
            double best = W(x + 1, y) > W(x, y + 1) ? W(x + 1, y) : W(x, y + 1);
            if (pair > 0 && pair + W(x + 1, y + 1) > best)
                best = pair + W(x + 1, y + 1);
            W(x, y) = best;
        }
    size_t x = 0, y = 0;
    while (x < nd || y < ni) {
        json_t *ea = x < nd ? json_array_get(a, i + x) : NULL;
        json_t *eb = y < ni ? json_array_get(b, j + y) : NULL;
        bool pair =
            ea && eb &&
            (w ? alike(ea, eb) > 0 && W(x, y) == alike(ea, eb) + W(x + 1, y + 1)
               : true);
        bool removed = !pair && ea && (!eb || !w || W(x, y) == W(x + 1, y));
        snprintf(sub, sizeof(sub), "%s[%zu]", path,
                 pair || removed ? i + x : j + y);
        if (pair)
            diff_values(fields, sub, ea, eb, depth + 1);
        else
            add_field(fields, sub, removed ? ea : NULL, removed ? NULL : eb);
        x += pair || removed;
        y += pair || !removed;
    }
#undef W
    free(w);
}

/* Two arrays element by element: the elements kept (a longest common
 * subsequence of the middles, ALIGN_CELLS permitting) are not listed;
 * between them, diff_run. So a removed or added element is listed alone,
 * whatever the arrays' lengths, and one changed in place is compared
 * member by member. An element of `from` is named by its index there, an
 * added one by its index in `to`. */
static void diff_arrays(json_t *fields, const char *path, json_t *a, json_t *b,
                        int depth)
{
    size_t n = json_array_size(a), m = json_array_size(b), head = 0, tail = 0;
    while (head < n && head < m &&
           json_equal(json_array_get(a, head), json_array_get(b, head)))
        head++;
    while (tail < n - head && tail < m - head &&
           json_equal(json_array_get(a, n - 1 - tail),
                      json_array_get(b, m - 1 - tail)))
        tail++;
    size_t na = n - head - tail, nb = m - head - tail;
    /* len[x][y]: the longest common subsequence of the middles from x, y */
    unsigned *len = NULL;
    if (na && nb && na <= ALIGN_CELLS / nb)
        len = calloc((na + 1) * (nb + 1), sizeof(*len));
    if (!len) {
        diff_run(fields, path, a, head, na, b, head, nb, false, depth);
        return;
    }
#define LEN(x, y) len[(x) * (nb + 1) + (y)]
    for (size_t x = na; x-- > 0;)
        for (size_t y = nb; y-- > 0;) {
            unsigned skip =
                LEN(x + 1, y) > LEN(x, y + 1) ? LEN(x + 1, y) : LEN(x, y + 1);
            LEN(x, y) = json_equal(json_array_get(a, head + x),
                                   json_array_get(b, head + y))
                            ? LEN(x + 1, y + 1) + 1
                            : skip;
        }
    size_t x = 0, y = 0, rx = 0, ry = 0; /* the run starts at rx, ry */
    while (x < na || y < nb) {
        if (x < na && y < nb && LEN(x, y) == LEN(x + 1, y + 1) + 1 &&
            json_equal(json_array_get(a, head + x),
                       json_array_get(b, head + y))) {
            diff_run(fields, path, a, head + rx, x - rx, b, head + ry, y - ry,
                     true, depth);
            rx = ++x;
            ry = ++y;
        } else if (y == nb || (x < na && LEN(x + 1, y) >= LEN(x, y + 1))) {
            x++;
        } else {
            y++;
        }
    }
#undef LEN
    diff_run(fields, path, a, head + rx, x - rx, b, head + ry, y - ry, true,
             depth);
    free(len);
}

/* Field-level differences: objects key by key, arrays element by element
 * (diff_arrays); other values, and anything nested deeper than 16, whole
 * at their path. */
static void diff_values(json_t *fields, const char *path, json_t *a, json_t *b,
                        int depth)
{
    if (json_equal(a, b))
        return;
    if (depth < 16 && json_is_object(a) && json_is_object(b)) {
        /* Sorted walk over the union of keys. */
        size_t n;
        const char **sorted = sorted_keys(a, b, &n);
        for (size_t i = 0; sorted && i < n; i++) {
            char sub[512];
            snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
                     sorted[i]);
            diff_values(fields, sub, json_object_get(a, sorted[i]),
                        json_object_get(b, sorted[i]), depth + 1);
        }
        free(sorted);
        return;
    }
    if (depth < 16 && json_is_array(a) && json_is_array(b)) {
        diff_arrays(fields, path, a, b, depth);
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
        char *a, *b;
        show_pair(
            json_object_get(f, "added") ? NULL : json_object_get(f, "from"),
            json_object_get(f, "removed") ? NULL : json_object_get(f, "to"), &a,
            &b);
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
    bool one = json_array_size(changes) == 1;
    fprintf(out, "%s..%s: %zu definition%s\n",
            json_string_value(json_object_get(diff, "from")),
            json_string_value(json_object_get(diff, "to")),
            json_array_size(changes), one ? " differs" : "s differ");
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
