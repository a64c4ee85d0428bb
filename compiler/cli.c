/*
 * cli.c - what every command of the program shares: paths given on the
 * command line (taken from -C DIR), --help, error messages. Part of the
 * struere program, never of the compiler's library (which returns errors
 * and results for the commands to print).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *cli_path(const struct cli *g, const char *path, char *buf,
                     size_t size)
{
    if (!path || path[0] == '/' || !strcmp(g->dir, "."))
        return path;
    snprintf(buf, size, "%s/%s", g->dir, path);
    return buf;
}

int cli_wants_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help");
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("struere: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
