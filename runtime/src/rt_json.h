/*
 * rt_json.h - the runtime's JSON reader: validates and walks JSON text in
 * place, bounds-checked, allocating nothing. Used on bundle bodies (which
 * are untrusted like the rest of a bundle) and on the caller's records.
 */
#ifndef STRUERE_RT_JSON_H
#define STRUERE_RT_JSON_H

#include <stddef.h>

#include "rt_buf.h"
#include "rt_utf8.h"
#include "struere.h"

/* Deepest nesting the reader follows; deeper text is invalid. */
#define RT_JSON_MAX_DEPTH 128

/* The four hex digits at `p` (a \u escape's) as a number, or -1 when one
 * is not a hex digit. */
long rt_json_hex4(const char *p);

/*
 * The end of the one JSON value starting at `p` (after leading white
 * space), or NULL when the text up to `end` is not one valid value. Trailing
 * text is not looked at.
 */
const char *rt_json_skip(const char *p, const char *end);

/* `v` with white space trimmed, checked to be exactly one valid value.
 * Returns 0 or STRUERE_EJSON. */
int rt_json_value(const char *p, size_t len, struere_json *v);

/* The STRUERE_JSON_* type of a value known to be valid (first byte). */
int rt_json_kind(struere_json v);

/*
 * Iteration over an array's elements or an object's members. rt_json_iter
 * returns 0 on a value of the right type (STRUERE_EJSON otherwise);
 * rt_json_next gives 1 with the next element (and, for objects, its key as
 * a JSON string), 0 at the end, STRUERE_EJSON on invalid text.
 */
typedef struct rt_json_it {
    const char *p, *end;
    int object;
    int first;
} rt_json_it;
int rt_json_iter(struere_json v, int type, rt_json_it *it);
int rt_json_next(rt_json_it *it, struere_json *key, struere_json *val);

/* The member `key` (`klen` bytes, compared with the decoded key) of the
 * object `obj`: 1 found, 0 absent, STRUERE_EJSON. */
int rt_json_member(struere_json obj, const char *key, size_t klen,
                   struere_json *out);

/* As rt_json_member, for objects whose keys are sorted byte-wise (bundle
 * bodies are canonical JSON): stops at the first key past `key`. On an
 * object that is not sorted it may miss a member, never read out of
 * bounds. */
int rt_json_member_sorted(struere_json obj, const char *key, size_t klen,
                          struere_json *out);

/*
 * The value at a dot path (`path`, `plen` bytes) in `v`, walking object
 * members only (DESIGN §6 field paths): 1 found, 0 absent (or a non-object
 * on the way), STRUERE_EJSON.
 */
int rt_json_path(struere_json v, const char *path, size_t plen,
                 struere_json *out);

/* 1 when the JSON string `s` decodes to exactly the `n` bytes at `x`. */
int rt_json_str_eq(struere_json s, const char *x, size_t n);

/* 1 when the JSON string `s`, decoded, contains the `n` bytes at `x`. */
int rt_json_str_contains(struere_json s, const char *x, size_t n);

/* The two JSON strings' decoded bytes compared as memcmp compares them
 * (a prefix first): negative, 0 or positive. */
int rt_json_str_cmp(struere_json a, struere_json b);

/* Decoded length of the JSON string `s`. */
size_t rt_json_str_len(struere_json s);

/* Decodes the JSON string `s` into `out` (rt_json_str_len(s) + 1 bytes
 * available), NUL-terminated; returns the length. */
size_t rt_json_str_decode(struere_json s, char *out);

/* The JSON string `s` decoded, then escaped again into `b` (without the
 * quotes) as JavaScript's JSON.stringify writes it: "\u00e9" and "é"
 * give the same output. */
void rt_json_str_rewrite(rt_buf *b, struere_json s);

/* 1 when the two values are equal as JSON scalars (strict, as
 * JavaScript's ===: same type and value; numbers by value; arrays and
 * objects never equal). */
int rt_json_scalar_eq(struere_json a, struere_json b);

#endif
