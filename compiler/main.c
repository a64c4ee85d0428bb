/*
 * main.c - the struere command: global options, dispatch to a
 * subcommand, exit codes. All the work is in the library modules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const char usage[] =
    "usage: struere [-C DIR] COMMAND [ARGS...]\n"
    "\n"
    "Checks and compiles AI-agent definitions (agents, data types, roles,\n"
    "automations, tools, eval suites, fixtures).\n"
    "\n"
    "commands:\n"
    "  init [DIR]            scaffold a project with one definition of each "
    "kind\n"
    "  add KIND NAME         scaffold one definition (agent, data, role,\n"
    "                        automation, tool, eval, fixture)\n"
    "  check                 validate every definition; report all problems\n"
    "  schema export DIR     write the schemas as JSON Schema, for editors\n"
    "\n"
    "options:\n"
    "  -C DIR                run as if started in DIR\n"
    "  -h, --help            show help (also: struere COMMAND --help)\n"
    "  --version             print the version\n"
    "\n"
    "exit codes: 0 ok, 1 invalid input, 2 usage error, 3 I/O or internal "
    "error\n";

int cli_wants_help(const char *arg)
{
    return !strcmp(arg, "-h") || !strcmp(arg, "--help") ||
           !strcmp(arg, "help");
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

int main(int argc, char **argv)
{
    struct cli g = {.dir = ".", .prog = "struere"};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-C")) {
            if (++i >= argc) {
                cli_error("-C needs a directory");
                return EXIT_USAGE;
            }
            g.dir = argv[i];
        } else if (cli_wants_help(argv[i])) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--version")) {
            printf("struere %s\n", STRUERE_VERSION);
            return EXIT_OK;
        } else {
            cli_error("unknown option '%s'\n\n%s", argv[i], usage);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (!strcmp(cmd, "check"))
        return cmd_check(&g, sub_argc, sub_argv);
    if (!strcmp(cmd, "init"))
        return cmd_init(&g, sub_argc, sub_argv);
    if (!strcmp(cmd, "add"))
        return cmd_add(&g, sub_argc, sub_argv);
    if (!strcmp(cmd, "schema"))
        return cmd_schema(&g, sub_argc, sub_argv);
    if (cli_wants_help(cmd)) {
        if (sub_argc >= 2) { /* struere help COMMAND */
            char help[] = "--help";
            char *args[] = {sub_argv[1], help, NULL};
            const char *c = sub_argv[1];
            if (!strcmp(c, "check"))
                return cmd_check(&g, 2, args);
            if (!strcmp(c, "init"))
                return cmd_init(&g, 2, args);
            if (!strcmp(c, "add"))
                return cmd_add(&g, 2, args);
            if (!strcmp(c, "schema"))
                return cmd_schema(&g, 2, args);
            cli_error("unknown command '%s' (see 'struere --help')", c);
            return EXIT_USAGE;
        }
        fputs(usage, stdout);
        return EXIT_OK;
    }
    cli_error("unknown command '%s' (see 'struere --help')", cmd);
    return EXIT_USAGE;
}
