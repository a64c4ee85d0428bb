/*
 * rt_keys.h - API key records (keys.json on refs/struere/keys): what the
 * runtime's keystore reads and `struere keys` (compiler/cmd_keys.c)
 * writes share this module, so the two cannot drift. So far: the one
 * parser of a record's dates.
 */
#ifndef STRUERE_RT_KEYS_H
#define STRUERE_RT_KEYS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads a key record's date: YYYY-MM-DDTHH:MM:SSZ as `struere keys`
 * writes it, or YYYY-MM-DD (midnight UTC) as a person might, a real date
 * (proleptic Gregorian, years 0000-9999). Returns 1 with the seconds
 * since the epoch in `*t` and, when `canon` is not NULL, the full form
 * (20 characters and a NUL); 0 when the `n` bytes at `s` are not such a
 * date.
 */
int rt_key_date_parse(const char *s, size_t n, int64_t *t, char canon[21]);

#endif
