/*
 * rt_output.h - what the answers of `struere can` and `struere serve`
 * (compiler/rtout.c) use beyond the API: calls on text the caller vouches
 * is valid JSON, which the API's own calls read again to check. Not
 * installed; struere.h is the API.
 */
#ifndef STRUERE_RT_OUTPUT_H
#define STRUERE_RT_OUTPUT_H

#include <stddef.h>

#include "rt_buf.h"
#include "struere.h"

/* The eval fixture record `id` unmasked, exactly as struere_get_record
 * gives it to the system actor, appended to `b` (records.c), without a
 * decision or a copy. 0, STRUERE_EINVAL (rt or id NULL), STRUERE_EENV
 * (not an eval runtime) or STRUERE_ENOTFOUND. */
int rt_fixture_record(rt_buf *b, const struere_runtime *rt, const char *id);

/* As struere_record_mask, on `record` (`len` bytes) that the caller
 * vouches is valid JSON without white space around it (as jansson writes
 * it, or rt_fixture_record): with no mask to apply it is copied unread
 * (policy.c), so text that is not valid (or has white space after it)
 * would come back as it was given: never pass text read from elsewhere. */
int rt_record_mask_valid(char *buf, size_t cap, size_t *out_len,
                         const struere_runtime *rt, const struere_decision *d,
                         const char *record, size_t len);

#endif
