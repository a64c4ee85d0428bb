/*
 * rtout.h - the runtime commands' answers as text: what `struere can`,
 * `get`, `fire`, `query` and `eval list|plan` print, written to any FILE
 * (stdout for the commands, a memory stream for `struere serve`), so the
 * command and the HTTP server answer byte for byte the same. Library
 * code: it never prints to the terminal on its own and never exits.
 */
#ifndef STRUERE_RTOUT_H
#define STRUERE_RTOUT_H

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>

#include "struere.h"

/* Writes JSON text: as given on one line (compact) or indented by two
 * spaces, token by token (never re-encoded: numbers and strings print
 * exactly as the bundle holds them); a newline ends it. */
void rtout_json(FILE *f, const char *text, size_t len, bool compact);

/* `s` as a JSON string, quoted, as jansson writes it (null when it is not
 * UTF-8); without jansson when there is nothing to escape. */
void rtout_json_string(FILE *f, const char *s);

/* Decides (actor, action, resource), on `record` when given (NULL or a
 * JSON object's text as jansson writes it compact, or as
 * rtout_fixture_record gives it: valid, so it is masked without being
 * read again when no mask applies), and writes the answer: with `json` the one
 * line
 * {"decision","reason","role","predicate","mask","record"}, else the
 * text form. Returns the library's code (< 0, nothing written:
 * STRUERE_EINVAL an unknown action, STRUERE_ENOTFOUND an unknown
 * resource), else 1 when allowed and 0 when denied; *d (when not NULL)
 * receives the decision. */
int rtout_can(FILE *f, const struere_runtime *rt, const struere_actor *actor,
              const char *action, const char *resource, const char *record,
              bool json, struere_decision *d);

/* Writes v as one compact line (members in their order). STRUERE_ENOMEM
 * (nothing written) when v is NULL or cannot be encoded. */
int rtout_json_line(FILE *f, const json_t *v);

/* "an object", "an array", "a string", "a number", "a boolean" or "null"
 * (also for NULL): what a JSON value is, for messages. */
const char *rtout_json_type(const json_t *v);

/* What is wrong with v as a record {"_id","type","status","data"} (each
 * optional, of its type; every member's value nested at most as deep as
 * the runtime reads, 128 arrays and objects, whether or not the decision
 * will read that member): NULL when nothing, else msg
 * filled with ": the record's \"K\" must be T, not U" (or ": must be a JSON
 * object", or ": the record's \"K\" nests ... deep"). */
const char *rtout_record_problem(const json_t *v, char *msg, size_t size);

/* The eval fixture record `id` unmasked (as the system actor reads it),
 * malloc'd, in *out. Returns 0 or the library's code (STRUERE_EENV: not
 * the eval bundle; STRUERE_ENOTFOUND: no such record). */
int rtout_fixture_record(char **out, const struere_runtime *rt, const char *id);

/* Writes the cases of the eval suite `slug` (its bundle body) as JSON
 * lines, as `struere eval plan` prints them. STRUERE_ECORRUPT when the
 * suite holds no case list, STRUERE_ENOMEM when memory runs out. */
int rtout_plan_suite(FILE *f, const char *slug, const char *body, size_t len);

/* Writes the eval suites of bundle b as `struere eval list` prints them:
 * one JSON array line {"slug","name","agent","cases"} with `json`, else
 * a table. */
void rtout_eval_list(FILE *f, const struere_bundle *b, bool json);

#endif
