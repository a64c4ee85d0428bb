/*
 * yaml_load.c - libyaml event stream to node tree. libyaml reports 0-based
 * marks and 1/0 success codes; both are converted here and nowhere else.
 */
#include "yaml_load.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "arena.h"
#include "diag.h"
#include "limits.h"
#include "node.h"
#include "source.h"

/* Nodes are built by value: a collection's children wait on the
 * loader's scratch and are copied, once it closes, into one array of
 * exactly their number (node.h), so no node is allocated on its own. */
struct frame {
    struct node coll;
    size_t base;     /* where its children start in the loader's scratch */
    struct node key; /* map: key waiting for its value */
    bool has_key;
    /* The collection's subtree so far: nodes (aliases count as the nodes
     * they repeat) and levels. Kept here, not in the node, which stays
     * small. */
    size_t weight;
    int height;
};

/* What an alias repeats: the anchored node and its subtree's size. */
struct anchor {
    const char *name;
    struct node node; /* a copy: its children are shared */
    size_t weight;
    int height;
};

struct loader {
    struct arena *a;
    const struct source *src;
    struct diag_list *diags;
    int line_base;
    struct frame stack[LIMIT_DEPTH + 1];
    int depth;
    struct anchor *anchors;
    size_t nanchors, anchors_cap;
    /* anchors of collections still open: name and frame index */
    const char *open_anchor[LIMIT_DEPTH + 1];
    /* The children of the open collections, innermost last: a closed
     * collection gets an array of exactly its own, so the arena holds no
     * outgrown copies. */
    struct node *scratch;
    size_t top, scratch_cap;
    size_t budget;
    struct node root;
    bool has_root;
    int failed;        /* an error was reported */
    int fatal;         /* parsing cannot go on */
    int has_nul;       /* a string holds a NUL: the tree is not given out */
    const char *input; /* what the parser reads (marks count from it) */
    size_t input_len;
    int documents;
};

static int line_of(const struct loader *L, yaml_mark_t m)
{
    return (int)m.line + 1 + L->line_base;
}

static int col_of(yaml_mark_t m)
{
    return (int)m.column + 1;
}

static void error_at(struct loader *L, yaml_mark_t m, const char *code,
                     const char *hint, const char *msg)
{
    diag_add(L->diags, SEV_ERROR, code, L->src, line_of(L, m), col_of(m), hint,
             "%s", msg);
    L->failed = 1;
}

static bool match_all(const char *s, size_t n, const char *accept)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(accept, s[i]))
            return false;
    return true;
}

/* YAML 1.2 core schema resolution of a plain scalar. Integers stay
 * integers, exactly: one outside the int64 range JSON consumers can hold
 * is not rounded to a float; resolve_plain returns false for it (the
 * node is then an INT clamped to the range, and the caller reports it). */
static bool resolve_plain(struct node *n)
{
    const char *s = n->str;
    size_t len = n->len; /* a STRING as yet */
    /* The words of the core schema, told apart by length and first byte
     * (keys such as "name" and "type" meet one group, not all three). */
    if (len == 0 || (len == 1 && s[0] == '~') ||
        (len == 4 && (s[0] == 'n' || s[0] == 'N') &&
         (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) ||
          !memcmp(s, "NULL", 4)))) {
        n->type = NODE_NULL;
        return true;
    }
    if (len == 4 && (s[0] == 't' || s[0] == 'T') &&
        (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) ||
         !memcmp(s, "TRUE", 4))) {
        n->type = NODE_BOOL;
        n->b = true;
        return true;
    }
    if (len == 5 && (s[0] == 'f' || s[0] == 'F') &&
        (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) ||
         !memcmp(s, "FALSE", 5))) {
        n->type = NODE_BOOL;
        n->b = false;
        return true;
    }
    /* Every number starts with a digit, a sign or a dot. */
    if (!(s[0] == '-' || s[0] == '+' || s[0] == '.' ||
          (s[0] >= '0' && s[0] <= '9')))
        return true;
    const char *d = s;
    size_t dl = len;
    if (*d == '-' || *d == '+') {
        d++;
        dl--;
    }
    long long v; /* node_int reads it again when it is wanted */
    if (match_all(d, dl, "0123456789")) {
        n->type = NODE_INT;
        return node_parse_int(s, &v);
    }
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        const char *digits =
            s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567";
        if (match_all(s + 2, len - 2, digits)) {
            n->type = NODE_INT;
            return node_parse_int(s, &v);
        }
    }
    /* [-+]? ( \.inf | \.Inf | \.INF ) */
    const char *inf = s + (s[0] == '-' || s[0] == '+');
    if (!strcmp(inf, ".inf") || !strcmp(inf, ".Inf") || !strcmp(inf, ".INF")) {
        n->type = NODE_FLOAT;
        return true;
    }
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        n->type = NODE_FLOAT;
        return true;
    }
    /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
    size_t i = 0;
    if (s[i] == '-' || s[i] == '+')
        i++;
    size_t int_digits = 0, frac_digits = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        int_digits++;
    }
    bool dot = false;
    if (i < len && s[i] == '.') {
        dot = true;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            frac_digits++;
        }
    }
    if (int_digits + frac_digits == 0 || (!int_digits && !dot))
        return true;
    bool exp = false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < len && (s[j] == '-' || s[j] == '+'))
            j++;
        size_t ed = 0;
        while (j < len && s[j] >= '0' && s[j] <= '9') {
            j++;
            ed++;
        }
        if (!ed)
            return true;
        exp = true;
        i = j;
    }
    if (i != len || (!dot && !exp))
        return true;
    n->type = NODE_FLOAT;
    return true;
}

static bool spend(struct loader *L, size_t weight, yaml_mark_t m)
{
    L->budget += weight;
    if (L->budget > LIMIT_NODES) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "document is too large: more than %u nodes (aliases "
                 "count as the nodes they repeat)",
                 LIMIT_NODES);
        error_at(L, m, "too-many-nodes",
                 "split the data over several files, or avoid repeating "
                 "large anchors",
                 msg);
        L->fatal = 1;
        return false;
    }
    return true;
}

/* Keys by their whole text (a NUL included: a file holding one is
 * refused, but its keys must not be reported duplicates of each other). */
static int key_text_cmp(const struct node *a, const struct node *b)
{
    size_t la = node_len(a), lb = node_len(b);
    int c = memcmp(a->str, b->str, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int cmp_key(const void *pa, const void *pb)
{
    const struct node *a = *(struct node *const *)pa;
    const struct node *b = *(struct node *const *)pb;
    int c = key_text_cmp(a, b);
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    return a->col < b->col ? -1 : (a->col > b->col);
}

/* Out of memory: the load stops (the arena remembers why; the driver
 * reports it). */
static void out_of_memory(struct loader *L)
{
    L->a->failed = 1;
    L->failed = 1;
    L->fatal = 1;
}

static void report_duplicate(struct loader *L, const struct node *first,
                             const struct node *dup)
{
    diag_add(L->diags, SEV_ERROR, "duplicate-key", L->src, dup->line, dup->col,
             "remove one of them; YAML keeps only one value",
             "duplicate key '%s' (first defined at line %d)", dup->str,
             first->line);
    L->failed = 1;
}

static void check_duplicates(struct loader *L, struct node *m)
{
    if (m->n < 2)
        return;
    if (m->n <= 16) {
        for (size_t i = 1; i < m->n; i++)
            for (size_t j = 0; j < i; j++)
                if (node_len(&m->kids[2 * i]) == node_len(&m->kids[2 * j]) &&
                    m->kids[2 * i].str[0] == m->kids[2 * j].str[0] &&
                    !memcmp(m->kids[2 * i].str, m->kids[2 * j].str,
                            node_len(&m->kids[2 * i]))) {
                    report_duplicate(L, &m->kids[2 * j], &m->kids[2 * i]);
                    break;
                }
        return;
    }
    struct node **keys = malloc(m->n * sizeof(*keys));
    if (!keys) {
        out_of_memory(L);
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        keys[i] = &m->kids[2 * i];
    qsort(keys, m->n, sizeof(*keys), cmp_key);
    for (size_t i = 1; i < m->n; i++) {
        if (key_text_cmp(keys[i], keys[i - 1]))
            continue;
        size_t first = i - 1;
        while (first > 0 && !key_text_cmp(keys[first - 1], keys[i]))
            first--;
        report_duplicate(L, keys[first], keys[i]);
    }
    free(keys);
}

static void register_anchor(struct loader *L, const char *name,
                            const struct node *n, size_t weight, int height)
{
    if (!name || arena_grow(L->a, (void **)&L->anchors, &L->anchors_cap,
                            L->nanchors + 1, sizeof(*L->anchors)) < 0) {
        out_of_memory(L);
        return;
    }
    L->anchors[L->nanchors].name = name;
    L->anchors[L->nanchors].node = *n;
    L->anchors[L->nanchors].weight = weight;
    L->anchors[L->nanchors].height = height;
    L->nanchors++;
}

/* Pushes a child of the innermost open collection onto the scratch. */
static bool push(struct loader *L, const struct node *n)
{
    if (L->top == L->scratch_cap) {
        size_t cap = L->scratch_cap ? 2 * L->scratch_cap : 256;
        struct node *more = realloc(L->scratch, cap * sizeof(*more));
        if (!more)
            return false;
        L->scratch = more;
        L->scratch_cap = cap;
    }
    L->scratch[L->top++] = *n;
    return true;
}

/* Gives the collection of frame f, now closed, its children. */
static bool close_frame(struct loader *L, struct frame *f)
{
    struct node *c = &f->coll;
    size_t k = L->top - f->base;
    if (k) {
        c->kids = arena_alloc(L->a, k * sizeof(*c->kids));
        if (!c->kids)
            return false;
        memcpy(c->kids, L->scratch + f->base, k * sizeof(*c->kids));
    }
    L->top = f->base;
    return true;
}

/* Attaches a finished node, whose subtree has weight nodes and height
 * levels, to the open collection (or makes it the root). */
static void attach(struct loader *L, const struct node *n, size_t weight,
                   int height, yaml_mark_t m)
{
    if (L->depth == 0) {
        L->root = *n;
        L->has_root = true;
        return;
    }
    struct frame *f = &L->stack[L->depth - 1];
    struct node *c = &f->coll;
    if (height + 1 > f->height)
        f->height = height + 1;
    if (c->type == NODE_SEQ) {
        if (!push(L, n)) {
            out_of_memory(L);
            return;
        }
        c->n++;
        f->weight += weight;
        return;
    }
    if (!f->has_key) {
        f->key = *n;
        f->has_key = true;
        if (n->type == NODE_MAP || n->type == NODE_SEQ) {
            error_at(L, m, "yaml-syntax", "keys must be plain strings",
                     "a map key must be a scalar, not a collection");
            node_init_string(&f->key, "?", 1, L->src, n->line, n->col);
        }
        return;
    }
    if (!push(L, &f->key) || !push(L, n)) {
        out_of_memory(L);
        return;
    }
    c->n++;
    f->weight += weight + 1;
    f->has_key = false;
}

/*
 * The indentation of literal block scalar n's content when each of its
 * lines is the source line below the header at that indentation, byte for
 * byte; 0 otherwise. Checked against the source rather than derived from
 * the header, so anything unusual (an explicit indentation indicator,
 * tabs, a file not read) falls back to the scalar's
 * start. Trailing empty lines (chomping) hold nothing and are not checked.
 */
static unsigned char literal_indent(const struct loader *L,
                                    const struct node *n)
{
    const char *s = n->str, *end = n->str + n->len;
    while (end > s && end[-1] == '\n')
        end--;
    if (end == s || !L->src || L->src->unread)
        return 0;
    size_t indent = 0, len;
    int line = n->line + 1;
    for (int l = line;; l++) { /* the first line with content */
        const char *t = source_line(L->src, l, &len);
        if (!t)
            return 0;
        size_t sp = strspn(t, " ");
        if (sp < len) {
            indent = sp;
            break;
        }
    }
    if (indent == 0 || indent > 255)
        return 0;
    for (const char *p = s; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t want = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *t = source_line(L->src, line, &len);
        if (!t)
            return 0;
        if (want == 0) {
            if (strspn(t, " ") != len || len > indent)
                return 0;
        } else if (len != indent + want || strspn(t, " ") < indent ||
                   memcmp(t + indent, p, want)) {
            return 0;
        }
        p += want + 1;
    }
    return (unsigned char)indent;
}

/* The byte of the input where the parser's mark m is, or NULL: libyaml
 * counts a mark's index in characters from the input's start (which is
 * also right where its lines are not ours: after a U+2028 or U+0085). */
static const char *mark_byte(const struct loader *L, yaml_mark_t m)
{
    const char *p = L->input, *end = L->input + L->input_len;
    for (size_t c = 0; c < m.index && p < end; c++)
        for (p++; p < end && ((unsigned char)*p & 0xC0) == 0x80; p++)
            ;
    return p < end ? p : NULL;
}

/* The escape (\0, \x00, \u0000, \U00000000) that wrote a NUL into the
 * double-quoted scalar starting at m (at its anchor or tag when it has
 * one), or NULL when the source cannot show it; *n receives its length. */
static const char *nul_escape_at(const struct loader *L, yaml_mark_t m, int *n)
{
    const char *p = mark_byte(L, m), *end = L->input + L->input_len;
    if (!p)
        return NULL;
    while (p < end && (*p == '&' || *p == '!')) { /* "&a !!str "x\0"" */
        while (p < end && !strchr(" \t\r\n", *p))
            p++;
        while (p < end && *p && strchr(" \t\r\n", *p))
            p++;
    }
    if (p >= end || *p != '"')
        return NULL;
    static const struct {
        char letter;
        size_t zeros;
    } forms[] = {{'0', 0}, {'x', 2}, {'u', 4}, {'U', 8}};
    for (p++; p < end && *p != '"'; p++) {
        if (*p != '\\')
            continue;
        for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++)
            if (end - p >= (ptrdiff_t)(2 + forms[f].zeros) &&
                p[1] == forms[f].letter &&
                strspn(p + 2, "0") >= forms[f].zeros) {
                *n = (int)(2 + forms[f].zeros);
                return p;
            }
        p++; /* the escaped character, a quote or a backslash included */
    }
    return NULL;
}

/* Reports the first NUL in a scalar of the file (written with an escape:
 * a raw NUL byte never reaches the parser), the file being refused as a
 * whole (a report per NUL string would also cost a walk of the text
 * each). Names, slugs, keys and references are compared as C strings by
 * too many readers of a bundle (git, shells, the runtime's callers) for
 * one to be trusted to hold a NUL, and no text needs one, so no string
 * of a definition may. */
static void refuse_nul(struct loader *L, yaml_event_t *ev)
{
    if (L->has_nul)
        return;
    L->failed = 1;
    L->has_nul = 1;
    yaml_mark_t m = ev->start_mark;
    int line = line_of(L, m), col = col_of(m);
    int n = 0;
    const char *at = nul_escape_at(L, m, &n);
    if (at)
        source_position(L->src, (size_t)(at - L->src->text), &line, &col);
    diag_add(L->diags, SEV_ERROR, "nul-character", L->src, line, col,
             "no name, key or text of a definition may hold a NUL; for a "
             "backslash and a 0, write \\\\0 or use single quotes",
             "%s%.*s writes a NUL character into a string",
             at ? "the escape " : "an escape such as \\0", at ? n : 0,
             at ? at : "");
}

/* Fills n with the scalar of ev; false when out of memory. */
static bool scalar_node(struct loader *L, yaml_event_t *ev, struct node *n)
{
    yaml_mark_t m = ev->start_mark;
    size_t len = ev->data.scalar.length;
    node_init(n, NODE_STRING, L->src, line_of(L, m), col_of(m));
    if (len > LIMIT_STRING_BYTES) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "string is too long: %zu bytes (the limit is %u)", len,
                 LIMIT_STRING_BYTES);
        error_at(L, m, "string-too-long",
                 "move large content out of the definition", msg);
        return true; /* the empty string */
    }
    if (!(n->str = arena_strndup_shared(
              L->a, (const char *)ev->data.scalar.value, len)))
        return false;
    n->len = (unsigned)len;
    if (memchr(n->str, '\0', len))
        refuse_nul(L, ev);
    if (ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE)
        n->block_indent = literal_indent(L, n);
    const char *tag = (const char *)ev->data.scalar.tag;
    bool str_tag = tag && (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!"));
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !str_tag &&
        !resolve_plain(n)) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "integer %.60s%s is out of range: integers are kept exactly, "
                 "from -9223372036854775808 to 9223372036854775807",
                 n->str, node_len(n) > 60 ? "..." : "");
        diag_add(L->diags, SEV_ERROR, "integer-out-of-range", L->src,
                 line_of(L, m), col_of(m),
                 "use a smaller number, or quote it if it is text", "%s", msg);
        L->failed = 1;
    }
    return true;
}

static const struct anchor *find_anchor(struct loader *L, const char *name)
{
    for (size_t i = L->nanchors; i-- > 0;)
        if (!strcmp(L->anchors[i].name, name))
            return &L->anchors[i];
    return NULL;
}

static const char *hint_for(const struct loader *L, const yaml_parser_t *p)
{
    const char *at = mark_byte(L, p->problem_mark); /* not its index: bytes */
    if (at && *at == '\t')
        return "YAML indentation must use spaces, not tabs";
    if (p->problem && strstr(p->problem, "mapping values are not allowed"))
        return "quote values that contain ': ', or check the indentation "
               "of this line";
    if (p->problem && strstr(p->problem, "did not find expected key"))
        return "check the indentation: items of one map must line up";
    return NULL;
}

struct node *yaml_load(struct arena *a, const struct source *src, size_t offset,
                       size_t len, int first_line, struct diag_list *diags,
                       int *failed)
{
    struct loader L;
    memset(&L, 0, sizeof(L));
    L.a = a;
    L.src = src;
    L.diags = diags;
    L.line_base = first_line - 1;
    L.input = src->text + offset;
    L.input_len = len;

    yaml_parser_t p;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&p)) {
        diag_add(diags, SEV_ERROR, "internal", src, 0, 0, NULL,
                 "cannot initialise the YAML parser");
        *failed = 1;
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)src->text + offset,
                                 len);
    yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

    bool done = false;
    while (!done && !L.fatal) {
        if (!yaml_parser_parse(&p, &ev)) {
            if (p.error == YAML_MEMORY_ERROR) {
                out_of_memory(&L);
                break;
            }
            char msg[512];
            if (p.context)
                snprintf(msg, sizeof(msg), "invalid YAML: %s (%s at line %d)",
                         p.problem ? p.problem : "syntax error", p.context,
                         line_of(&L, p.context_mark));
            else
                snprintf(msg, sizeof(msg), "invalid YAML: %s",
                         p.problem ? p.problem : "syntax error");
            if (p.error == YAML_READER_ERROR) {
                /* found before the text is read into tokens: no mark,
                 * but the offset of the byte (libyaml's problem_offset) */
                int line, col;
                source_position(src, offset + p.problem_offset, &line, &col);
                char code[40] = "";
                if (p.problem_value >= 0) /* -1: no character to name */
                    snprintf(code, sizeof(code), " (character 0x%02x)",
                             (unsigned)p.problem_value);
                diag_add(diags, SEV_ERROR, "yaml-syntax", src, line, col,
                         p.problem_value >= 0
                             ? "remove it, or write it as an escape in a "
                               "double-quoted string"
                             : NULL,
                         "%s%s", msg, code);
                L.failed = 1;
            } else {
                error_at(&L, p.problem_mark, "yaml-syntax", hint_for(&L, &p),
                         msg);
            }
            L.fatal = 1;
            break;
        }
        yaml_mark_t m = ev.start_mark;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++L.documents > 1) {
                error_at(&L, m, "yaml-syntax",
                         "put each definition in its own file",
                         "a definition file must hold one YAML document");
                L.fatal = 1;
            }
            break;
        case YAML_SCALAR_EVENT: {
            if (!spend(&L, 1, m))
                break;
            struct node n;
            if (!scalar_node(&L, &ev, &n)) {
                out_of_memory(&L);
                break;
            }
            if (ev.data.scalar.anchor)
                register_anchor(
                    &L, arena_strdup(a, (const char *)ev.data.scalar.anchor),
                    &n, 1, 0);
            if (!L.fatal)
                attach(&L, &n, 1, 0, m);
            break;
        }
        case YAML_ALIAS_EVENT: {
            const struct anchor *an =
                find_anchor(&L, (const char *)ev.data.alias.anchor);
            if (!an) {
                char msg[300];
                snprintf(msg, sizeof(msg), "unknown anchor '*%.200s'",
                         (const char *)ev.data.alias.anchor);
                error_at(&L, m, "yaml-syntax",
                         "an alias must refer to an anchor (&name) defined "
                         "earlier and outside of it",
                         msg);
                L.fatal = 1;
                break;
            }
            if (!spend(&L, an->weight, m))
                break;
            /* An alias repeats its anchor's depth where it is used. */
            if (L.depth + an->height > LIMIT_DEPTH) {
                char msg[160];
                snprintf(msg, sizeof(msg),
                         "nesting is too deep: this alias reaches more "
                         "than %d levels",
                         LIMIT_DEPTH);
                error_at(&L, m, "too-deep", "flatten the structure", msg);
                L.fatal = 1;
                break;
            }
            struct node copy = an->node; /* anchors may move as they grow */
            attach(&L, &copy, an->weight, an->height, m);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (L.depth >= LIMIT_DEPTH) {
                char msg[128];
                snprintf(msg, sizeof(msg),
                         "nesting is too deep: more than %d levels",
                         LIMIT_DEPTH);
                error_at(&L, m, "too-deep", "flatten the structure", msg);
                L.fatal = 1;
                break;
            }
            if (!spend(&L, 1, m))
                break;
            bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
            const yaml_char_t *anchor = seq ? ev.data.sequence_start.anchor
                                            : ev.data.mapping_start.anchor;
            node_init(&L.stack[L.depth].coll, seq ? NODE_SEQ : NODE_MAP, src,
                      line_of(&L, m), col_of(m));
            L.open_anchor[L.depth] =
                anchor ? arena_strdup(a, (const char *)anchor) : NULL;
            if (anchor && !L.open_anchor[L.depth]) {
                out_of_memory(&L);
                break;
            }
            L.stack[L.depth].base = L.top;
            L.stack[L.depth].has_key = false;
            L.stack[L.depth].weight = 1;
            L.stack[L.depth].height = 1;
            L.depth++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            L.depth--;
            struct node *n = &L.stack[L.depth].coll;
            size_t weight = L.stack[L.depth].weight;
            int height = L.stack[L.depth].height;
            if (!close_frame(&L, &L.stack[L.depth])) {
                out_of_memory(&L);
                break;
            }
            if (n->type == NODE_MAP)
                check_duplicates(&L, n);
            if (L.open_anchor[L.depth])
                register_anchor(&L, L.open_anchor[L.depth], n, weight, height);
            if (!L.fatal)
                attach(&L, n, weight, height, m);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    free(L.scratch);
    *failed = L.failed;
    if (L.fatal || L.has_nul || !L.has_root)
        return NULL;
    struct node *root = arena_alloc(a, sizeof(*root));
    if (!root) {
        a->failed = 1;
        *failed = 1;
        return NULL;
    }
    *root = L.root;
    return root;
}
