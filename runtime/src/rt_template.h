/*
 * rt_template.h - the system-prompt renderer's limits (each with its
 * reason) and its internal entry point, which renders any text as if it
 * were an agent's prompt: for the fuzz target and the engine tests, since
 * the compiler refuses to put most malformed templates into a bundle.
 */
#ifndef STRUERE_RT_TEMPLATE_H
#define STRUERE_RT_TEMPLATE_H

#include <stddef.h>

#include "struere.h"

/* A tool result longer than this many UTF-16 code units (JavaScript string
 * length) is cut to it and "...[truncated]" appended: Struere's
 * MAX_RESULT_SIZE, so one query cannot flood a prompt. */
#define RT_TEMPLATE_RESULT_UNITS (10 * 1024)

/* Largest rendering, in bytes (and largest one call's resolved arguments,
 * and largest context value such as {{entityTypes}}). A prompt has at most
 * a few KiB of text and each call's result is cut at 10 KiB; 1 MiB is far
 * beyond a useful prompt yet bounds what a hostile bundle or a caller's
 * huge message can make the library allocate. Past it: STRUERE_ERANGE. */
#define RT_TEMPLATE_OUTPUT_MAX ((size_t)1 << 20)

/* Deepest nesting of {{ }} in one expression: the compiler's
 * LIMIT_TEMPLATE_DEPTH, so the runtime refuses (STRUERE_ERANGE) exactly
 * the prompts the compiler refuses to compile. */
#define RT_TEMPLATE_MAX_DEPTH 16

/* JavaScript's date range (ECMA-262 time values): currentTime cannot be
 * written for a now_ms beyond it (STRUERE_EINVAL). */
#define RT_TEMPLATE_MAX_TIME_MS 8640000000000000LL

/*
 * Renders the `len` bytes at `text` as the system prompt of agent `agent`
 * (whose name, tools and thread context parameters apply), exactly as
 * struere_prompt_render renders the agent's own prompt. Same arguments,
 * ownership and return codes.
 */
int rt_template_render_text(const struere_runtime *rt, const char *agent,
                            const char *text, size_t len,
                            const struere_prompt_context *ctx, char **out,
                            size_t *out_len, struere_error *err);

#endif
