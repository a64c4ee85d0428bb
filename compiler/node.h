/*
 * node.h - the document tree every definition is checked on: maps,
 * sequences and typed scalars, each with its file position. Built by the
 * YAML adapter (yaml_load.c), read by the validator and the kind checks.
 */
#ifndef STRUERE_NODE_H
#define STRUERE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct arena;
struct source;

enum node_type {
    NODE_NULL,
    NODE_BOOL,
    NODE_INT,
    NODE_FLOAT,
    NODE_STRING,
    NODE_MAP,
    NODE_SEQ,
};

/* Laid out in 24 bytes: a project of 100,000 definitions has about ten
 * million nodes. A node names its file by source id (source_get). A
 * scalar's text and a collection's children share one place, as do a
 * scalar's length and a collection's count; a number's value is read
 * from its text (node_int, node_float) and a bool's is one bit. */
struct node {
    /* line and col: the 1-based position of the node's start. A file
     * holds at most LIMIT_FILE_BYTES (4 MiB), so 23 and 24 bits hold
     * them exactly; node_init stores anything larger as NODE_LINE_MAX
     * and NODE_POS_MAX. */
    unsigned type : 8; /* enum node_type (a byte of its own: read often) */
    unsigned b : 1;    /* BOOL: its value */
    unsigned line : 23;
    unsigned col : 24;
    /* A literal block scalar ('|') whose text maps line for line onto the
     * source: line k of str is source line (line + 1 + k) from column
     * block_indent + 1. 0 for every other scalar (plain, quoted, folded
     * '>', or an indentation over 255), whose positions inside the text
     * are not exact: report those at the scalar's start. */
    unsigned block_indent : 8;
    union {
        /* A scalar's text, NUL-terminated (every scalar, numbers too). */
        const char *str;
        /* A collection's children, side by side in one array of exactly
         * their number (no pointer per child): MAP: kids[2k] is the key
         * (a scalar), kids[2k+1] its value. SEQ: kids[k] is item k. */
        struct node *kids;
    };
    union {
        unsigned n;   /* MAP: pairs; SEQ: items */
        unsigned len; /* a scalar: the length of str */
    };
    unsigned src; /* source id (source_get); 0 for compiler nodes */
};
_Static_assert(sizeof(struct node) == 24, "a node is 24 bytes");

/* Positions past these are stored as them (files are smaller: a file of
 * LIMIT_FILE_BYTES has at most 4,194,305 lines and columns). */
#define NODE_LINE_MAX 0x7FFFFF
#define NODE_POS_MAX 0xFFFFFF

/* Length of a scalar's str; 0 for collections. */
static inline size_t node_len(const struct node *n)
{
    return n->type == NODE_MAP || n->type == NODE_SEQ ? 0 : n->len;
}
/* A scalar's text; "" for a collection (whose place holds its
 * children): for a node of any type printed or compared as text. */
static inline const char *node_text(const struct node *n)
{
    return n->type == NODE_MAP || n->type == NODE_SEQ ? "" : n->str;
}
/* The value of an INT (clamped to the int64 range, as the loader
 * reported) and of a FLOAT (YAML's .inf and .nan forms included), read
 * from the node's text. */
long long node_int(const struct node *n);
/* An integer's text (decimal with an optional sign, 0x or 0o, as the
 * loader types it) into *v, clamped to the int64 range: false when it
 * had to be clamped. node_int and the loader's typing both read it. */
bool node_parse_int(const char *s, long long *v);
double node_float(const struct node *n);
/* The file n was read from, or NULL (a node made by the compiler). */
const struct source *node_source(const struct node *n);

/* The index of the pair whose key is the len bytes of key in map m, or
 * -1 (also when m is not a map). */
long node_find(const struct node *m, const char *key, size_t len);
/* The lookups below take key's length where they are called: for a
 * literal key, as most are, the compiler does. */
/* Value for key in a map, or NULL (also when m is not a map). */
static inline struct node *node_get(const struct node *m, const char *key)
{
    long i = node_find(m, key, strlen(key));
    return i < 0 ? NULL : &m->kids[2 * i + 1];
}
/* The key node for key in a map, or NULL. */
static inline struct node *node_get_key(const struct node *m, const char *key)
{
    long i = node_find(m, key, strlen(key));
    return i < 0 ? NULL : &m->kids[2 * i];
}
/* String value for key, or NULL when absent or not a string. */
static inline const char *node_get_str(const struct node *m, const char *key)
{
    const struct node *v = node_get(m, key);
    return v && v->type == NODE_STRING ? v->str : NULL;
}
/* Whether n is a string equal to s. */
bool node_is_str(const struct node *n, const char *s);
/* Scalar as a number (int or float); false when not numeric. */
bool node_number(const struct node *n, double *out);
/* Name of a node type for messages: "a string", "a map", ... */
const char *node_type_name(enum node_type t);

/* Constructors used by the adapter and the overlay merge. node_init fills
 * n in place (a child in its parent's array); node_new allocates a node of
 * its own (a root, or a node the compiler makes). */
void node_init(struct node *n, enum node_type t, const struct source *src,
               int line, int col);
/* node_init for a string node whose text is s itself (NUL-terminated at
 * s[len]; it must outlive the node). */
void node_init_string(struct node *n, const char *s, size_t len,
                      const struct source *src, int line, int col);
struct node *node_new(struct arena *a, enum node_type t,
                      const struct source *src, int line, int col);
/* Deep-merges overlay over base: maps merge key by key (recursively),
 * anything else is replaced. Returns base itself when overlay is NULL.
 * A merged map is a new array of its children; the subtrees under them
 * are shared, never copied, so positions stay those of the files. */
struct node *node_merge(struct arena *a, struct node *base,
                        struct node *overlay);
/* A copy of map m without key (shallow). */
struct node *node_without(struct arena *a, const struct node *m,
                          const char *key);
/* Structural equality of two trees (positions ignored). */
bool node_equal(const struct node *a, const struct node *b);

#endif
