/*
 * jsonmem.h - jansson's allocations, watched. jansson reports a failed
 * allocation only as a NULL inside a value being built, which
 * json_object_set_new and json_array_append_new drop: a compiled body or
 * a manifest could lose a member without a word. The program routes
 * jansson's allocations through json_mem_install; a failure then sets a
 * flag, kept for the run, that check, compile and the manifest test
 * before they use what jansson built (they fail as out of memory).
 */
#ifndef STRUERE_JSONMEM_H
#define STRUERE_JSONMEM_H

#include <stdbool.h>

/* Makes jansson allocate through this module (process-wide: the program
 * calls it once, before any thread starts; the library never does). */
void json_mem_install(void);

/* Whether an allocation of jansson has failed in this process since
 * json_mem_install (always false without it). */
bool json_mem_failed(void);

/* How many of jansson's allocations have failed on the calling thread:
 * a server compares it before and after a request, and answers one
 * whose count moved as out of memory, whatever jansson built. */
unsigned long json_mem_thread_failures(void);

/* Counts a failure of another writer of JSON text (rtout.c's, whose text
 * then misses a part) as one of jansson's: json_mem_failed and
 * json_mem_thread_failures then say it. */
void json_mem_note_failure(void);

/* Clears the flag of json_mem_failed, for a program that answered each
 * failure where it happened (serve: a 500, a reload that kept the last
 * bundle), so that its exit does not report them again. */
void json_mem_answered(void);

#endif
