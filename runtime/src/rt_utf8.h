/*
 * rt_utf8.h - the one UTF-8 rule (runtime/src/json.c): what the runtime
 * accepts in JSON, the compiler in definition files and the server in
 * what it quotes back.
 */
#ifndef STRUERE_RT_UTF8_H
#define STRUERE_RT_UTF8_H

#include <stddef.h>

/* Length of the UTF-8 sequence at `p` (before `end`): valid, shortest
 * form, no surrogates, at most U+10FFFF; 0 when there is none. */
size_t rt_utf8_seq(const unsigned char *p, const unsigned char *end);

/* 1 when the `n` bytes at `s` are valid UTF-8. */
int rt_utf8_valid(const char *s, size_t n);

#endif
