/*
 * node.h - the document tree every definition is checked on: maps,
 * sequences and typed scalars, each with its file position. Built by the
 * YAML adapter (yaml_load.c), read by the validator and the kind checks.
 */
#ifndef STRUERE_NODE_H
#define STRUERE_NODE_H

#include <stdbool.h>
#include <stddef.h>

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

/* Laid out to stay small: a project of 10,000 definitions has a few
 * million nodes. */
struct node {
    unsigned char type;   /* enum node_type */
    unsigned char height; /* collection levels below (scalars: 0) */
    /* A literal block scalar ('|') whose text maps line for line onto the
     * source: line k of str is source line (line + 1 + k) from column
     * block_indent + 1. 0 for every other scalar (plain, quoted, folded
     * '>', or an indentation over 255), whose positions inside the text
     * are not exact: report those at the scalar's start. */
    unsigned char block_indent;
    int line, col;            /* 1-based position of the node's start */
    unsigned len;             /* length of str (<= LIMIT_STRING_BYTES) */
    unsigned n;               /* MAP: pairs; SEQ: items */
    unsigned weight;          /* nodes in this subtree (<= LIMIT_NODES) */
    const struct source *src; /* NULL for nodes made by the compiler */
    const char *str;          /* scalar text, NUL-terminated (all scalars) */
    /* A scalar has a value, a collection children: they share the
     * space (a project of 10,000 definitions has a million nodes). */
    union {
        union {
            long long i;
            double f;
            bool b;
        } v; /* BOOL, INT, FLOAT */
        /* MAP: kids[2k] is the key (a scalar), kids[2k+1] its value.
         * SEQ: kids[k] is item k. */
        struct node **kids;
    };
};

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

/* Constructors used by the adapter and the overlay merge. */
struct node *node_new(struct arena *a, enum node_type t,
                      const struct source *src, int line, int col);
struct node *node_new_string(struct arena *a, const char *s, size_t len,
                             const struct source *src, int line, int col);
/* Deep-merges overlay over base: maps merge key by key (recursively),
 * anything else is replaced. Returns base itself when overlay is NULL.
 * Nodes are shared, never copied, so positions stay those of the files. */
struct node *node_merge(struct arena *a, struct node *base,
                        struct node *overlay);
/* A copy of map m without key (shallow). */
struct node *node_without(struct arena *a, const struct node *m,
                          const char *key);
/* Structural equality of two trees (positions ignored). */
bool node_equal(const struct node *a, const struct node *b);

#endif
