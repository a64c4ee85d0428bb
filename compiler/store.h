/*
 * store.h - the git store (DESIGN.md §4). The only compiler module that
 * includes <git2.h>. For now: making sure a project lives in a git
 * repository; the environment branches come with `struere dev`.
 */
#ifndef STRUERE_STORE_H
#define STRUERE_STORE_H

#include <stdbool.h>
#include <stddef.h>

/* Ensures dir is inside a git repository, running `git init` on dir when
 * it is not. *created tells which. Returns 0, or -1 with a message in
 * err. */
int store_ensure_repository(const char *dir, bool *created, char *err,
                            size_t errsize);

#endif
