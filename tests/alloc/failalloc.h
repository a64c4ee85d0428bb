/*
 * failalloc.h - allocation-failure injection for the tests: programs
 * linked with failalloc.o and FAILALLOC_LDFLAGS (tests/alloc/alloc.mk)
 * count every allocation struere's own code makes and can make one fail.
 */
#ifndef STRUERE_FAILALLOC_H
#define STRUERE_FAILALLOC_H

/* From now on, counting from 1, the nth allocation fails (once); 0: none.
 * Resets the count. */
void failalloc_set(long n);
/* Allocations since the last failalloc_set. */
long failalloc_count(void);
/* Whether the armed allocation has been reached (and failed). */
int failalloc_failed(void);
/* Counts one allocation: whether it is the one to fail (for wrappers of
 * allocators other than malloc's family). */
int failalloc_next(void);

#endif
