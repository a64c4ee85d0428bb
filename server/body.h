/*
 * body.h - a request's JSON body, checked whole before any member is read:
 * JSON's grammar (RFC 8259), UTF-8 in shortest form without surrogates,
 * no \u0000, no lone surrogate escape, no key named twice in one object
 * (compared decoded: "a" and "\u0061" are one key), at most
 * BODY_MAX_DEPTH arrays and objects deep. A checked body is read in
 * place, by counting brackets (a record in it may nest deeper than the
 * runtime's reader follows: the runtime's limit is the record's, and is
 * said as such); its strings are decoded into a scratch area that the
 * body's length bounds, so that an authorize question is read without an
 * allocation.
 * Pure functions over bytes: tests/fuzz/fuzz_serve.c holds body_check to
 * jansson's verdict, and tests/unit/test_body.c to hand-written cases.
 */
#ifndef STRUERE_SERVER_BODY_H
#define STRUERE_SERVER_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "struere.h"

/*
 * 0 when the `len` bytes at `text` are one JSON value as above (white
 * space around it allowed), each number one that jansson reads (an
 * integer within 64 bits, a number within a double's range: JSON sets no
 * range, but the routes that pass a body's parts on read them with
 * jansson, and a decision log's readers with their own parsers); -1 with
 * "body:LINE:COLUMN: what is wrong" in `msg` (LINE and COLUMN count from
 * 1, COLUMN in characters) otherwise; -2, with a message too, when memory
 * for a large object's keys cannot be had.
 */
int body_check(const char *text, size_t len, char *msg, size_t cap);

/* How deep a body may nest: as deep as jansson, which read bodies before,
 * parses. A record's own limit (RT_JSON_MAX_DEPTH) is checked on the
 * record, with a message that names it. */
#define BODY_MAX_DEPTH 2048

/* The checked body's value, without the white space around it. */
struere_json body_root(const char *text, size_t len);

/* The elements of a checked array, or the members of a checked object
 * (with `key`, their keys as JSON strings), in turn: body_iter is false
 * when `v` is neither; body_next is false after the last. */
struct body_it {
    const char *p, *end;
};
bool body_iter(struct body_it *it, struere_json v);
bool body_next(struct body_it *it, struere_json *key, struere_json *val);

/*
 * The decoded strings of one checked body, each NUL-terminated. Every
 * decoded string is shorter than its JSON text, and the JSON texts of
 * distinct strings do not overlap: decoding each string at most once
 * needs at most the body's length, which body_strings_init reserves (in
 * place for bodies up to BODY_STRINGS_INLINE bytes).
 */
#define BODY_STRINGS_INLINE 2048
struct body_strings {
    char *next, *end;
    char *heap;
    char inline_buf[BODY_STRINGS_INLINE];
};
/* false when the memory cannot be had. */
bool body_strings_init(struct body_strings *s, size_t body_len);
void body_strings_free(struct body_strings *s);
/* The string `v` decoded; NULL when `v` is not a string (or the scratch
 * is spent: a string decoded twice). */
const char *body_string(struct body_strings *s, struere_json v);

/* The member `key` of the checked object `o`: its value, or {NULL, 0}
 * when absent (or `o` is not an object). */
struere_json body_member(struere_json o, const char *key);
/* The members `keys[0..n)` (n at most 16) of `o` at once, into out[],
 * as body_member gives each: one walk over the object. */
void body_members(struere_json o, const char *const *keys, size_t n,
                  struere_json *out);

/* The JSON type of `v` in words, as rtout_json_type says it: "an object",
 * "an array", "a string", "a number", "a boolean", "null" (also for an
 * absent value, {NULL, 0}). */
const char *body_type_name(struere_json v);

/* The STRUERE_JSON_* type of the checked value `v`; 0 when absent. */
int body_type(struere_json v);

/* Writes the checked value `v` to `f` without the white space between
 * its tokens (strings as they were sent). */
void body_write_compact(FILE *f, struere_json v);

#endif
