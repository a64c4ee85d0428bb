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

/* Laid out in 32 bytes: a project of 10,000 definitions has a few million
 * nodes. A node names its file by source id (source_get), and a scalar's
 * length is read with node_len: it shares the value's space. */
struct node {
    /* line and col: the 1-based position of the node's start. A file
     * holds at most LIMIT_FILE_BYTES (4 MiB), so 24 bits hold either
     * exactly; node_new stores anything larger as NODE_POS_MAX. */
    unsigned type : 8; /* enum node_type */
    unsigned line : 24;
    /* A literal block scalar ('|') whose text maps line for line onto the
     * source: line k of str is source line (line + 1 + k) from column
     * block_indent + 1. 0 for every other scalar (plain, quoted, folded
     * '>', or an indentation over 255), whose positions inside the text
     * are not exact: report those at the scalar's start. */
    unsigned block_indent : 8;
    unsigned col : 24;
    unsigned src;    /* source id (source_get); 0 for compiler nodes */
    unsigned n;      /* MAP: pairs; SEQ: items; scalars: 0 */
    const char *str; /* scalar text, NUL-terminated (all scalars) */
    /* A scalar has a value, a collection children: they share the
     * space. */
    union {
        union {
            long long i; /* INT */
            double f;    /* FLOAT */
            struct {
                unsigned len; /* STRING, NULL, BOOL: length of str */
                bool b;       /* BOOL */
            };
        } v;
        /* The children, side by side in one array of exactly their
         * number (no pointer per child): MAP: kids[2k] is the key (a
         * scalar), kids[2k+1] its value. SEQ: kids[k] is item k. */
        struct node *kids;
    };
};
_Static_assert(sizeof(struct node) == 32, "a node is 32 bytes");

/* Positions past this are stored as it (files are smaller: limits.h). */
#define NODE_POS_MAX 0xFFFFFF

/* Length of a scalar's str (numbers keep theirs in the value's place, so
 * it is counted); 0 for collections. */
static inline size_t node_len(const struct node *n)
{
    if (n->type == NODE_STRING) /* most often, map keys first */
        return n->v.len;
    if (n->type == NODE_INT || n->type == NODE_FLOAT)
        return strlen(n->str);
    return n->type == NODE_MAP || n->type == NODE_SEQ ? 0 : n->v.len;
}
/* The file n was read from, or NULL (a node made by the compiler). */
const struct source *node_source(const struct node *n);

/* Value for key in a map, or NULL (also when m is not a map). */
struct node *node_get(const struct node *m, const char *key);
/* The key node for key in a map, or NULL. */
struct node *node_get_key(const struct node *m, const char *key);
/* String value for key, or NULL when absent or not a string. */
const char *node_get_str(const struct node *m, const char *key);
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
