/*
 * jsonmem.c - jansson's allocations, watched (jsonmem.h).
 */
#include "jsonmem.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_bool failed;
static _Thread_local unsigned long thread_failures;

static void *watched_malloc(size_t size)
{
    void *p = malloc(size);
    if (!p) {
        atomic_store(&failed, true);
        thread_failures++;
    }
    return p;
}

void json_mem_install(void)
{
    json_set_alloc_funcs(watched_malloc, free);
}

bool json_mem_failed(void)
{
    return atomic_load(&failed);
}

void json_mem_note_failure(void)
{
    atomic_store(&failed, true);
    thread_failures++;
}

unsigned long json_mem_thread_failures(void)
{
    return thread_failures;
}

void json_mem_answered(void)
{
    atomic_store(&failed, false);
}
