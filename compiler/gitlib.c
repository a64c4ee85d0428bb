/*
 * gitlib.c - libgit2, opened by the first call into it (gitlib.h).
 */
#include "gitlib.h"

#include "../runtime/src/rt_dynlib.h"

#include <pthread.h>
#include <stdio.h>

/* The soname the build found (Makefile); the Debian 12 one otherwise. */
#ifndef GIT_SONAME
#define GIT_SONAME "libgit2.so.1.5"
#endif

static struct gitlib table;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char why[512];

static void load(void)
{
    static const struct rt_dynlib_symbol symbols[] = {
#define GITLIB_SYMBOL(name) {(void **)&table.name, #name},
        GITLIB_FUNCTIONS(GITLIB_SYMBOL)
#undef GITLIB_SYMBOL
    };
    loaded =
        rt_dynlib_open(GIT_SONAME, "struere's store", symbols,
                       sizeof(symbols) / sizeof(symbols[0]), why, sizeof(why));
}

bool gitlib_load(char *err, size_t errsize)
{
    pthread_once(&once, load);
    if (!loaded)
        snprintf(err, errsize, "%s", why);
    return loaded;
}

const struct gitlib *gitlib(void)
{
    pthread_once(&once, load);
    return &table;
}
