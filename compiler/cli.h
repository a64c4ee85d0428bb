/*
 * cli.h - the subcommands of the struere command. main.c parses the
 * global options and dispatches; each cmd_* parses its own arguments,
 * prints, and returns the exit code (0 ok, 1 invalid input or
 * differences, 2 usage, 3 I/O or internal).
 */
#ifndef STRUERE_CLI_H
#define STRUERE_CLI_H

enum exit_code { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

struct cli {
    const char *dir; /* -C DIR, or "." */
    const char *prog;
};

int cmd_check(const struct cli *g, int argc, char **argv);
int cmd_init(const struct cli *g, int argc, char **argv);
int cmd_add(const struct cli *g, int argc, char **argv);
int cmd_schema(const struct cli *g, int argc, char **argv);

/* Whether argv[i] asks for help. */
int cli_wants_help(const char *arg);
/* Prints "struere: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
