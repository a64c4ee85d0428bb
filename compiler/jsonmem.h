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

#endif
