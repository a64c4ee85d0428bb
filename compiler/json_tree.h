/*
 * json_tree.h - jansson's tree of JSON text that was already checked: a
 * request body that passed body_check (server/body.h), a bundle's body
 * (verified when the bundle was opened), the runtime's own answers.
 *
 * jansson's own loader is not safe when memory runs out: an allocation
 * that fails inside its scanner lets it write past a string's buffer (a
 * crash found by tests/alloc/serve_alloc.py, failing each allocation of
 * a request in turn). This builds the same tree (members in the order
 * written, integers as json_integer and other numbers as json_real, as
 * jansson reads them; strings may hold \u0000) with jansson's
 * constructors, each checked: NULL, and nothing kept, when one fails.
 */
#ifndef STRUERE_JSON_TREE_H
#define STRUERE_JSON_TREE_H

#include <jansson.h>
#include <stddef.h>

/* The tree of the one JSON value in the `len` bytes at `text` (white
 * space around it allowed), which the caller has checked is valid JSON
 * whose numbers jansson reads (an integer within 64 bits, a number
 * within a double's range). NULL when memory runs out, or when the text
 * is not such JSON after all (it is never read out of bounds). */
json_t *json_tree(const char *text, size_t len);

#endif
