/*
 * rt_dynlib.h - a shared library opened when it is first needed, by the
 * soname the build found, its functions looked up into a table.
 *
 * A library named at link time is mapped, with every library it needs in
 * turn, and its constructors run, before main(): in every run of every
 * command, whether it calls the library or not. libgit2 (with its TLS,
 * SSH and Kerberos chain: thirteen libraries), libcrypto and
 * libmicrohttpd are opened here instead, by the code that calls them
 * (compiler/gitlib.h, sha256.c, server/mhd.c), so that `struere check` starts
 * with none of them.
 */
#ifndef STRUERE_RT_DYNLIB_H
#define STRUERE_RT_DYNLIB_H

#include <stdbool.h>
#include <stddef.h>

/* One function: where its address goes, and its name in the library. */
struct rt_dynlib_symbol {
    void **slot;
    const char *name;
};

/* Opens `soname` (never closed) and fills every slot. On failure no
 * slot is written and err says what is missing, naming `need` (who
 * needs the library). Not thread-safe: callers run it under
 * pthread_once. */
bool rt_dynlib_open(const char *soname, const char *need,
                    const struct rt_dynlib_symbol *symbols, size_t n, char *err,
                    size_t errsize);

#endif
