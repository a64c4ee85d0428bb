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
    const char *dir;   /* -C DIR, or "." */
    const char *store; /* --store PATH, or NULL: struere.yaml's store:, or
                          the repository enclosing dir */
    const char *prog;
};

struct project;
struct compiled;
struct store;

/* Checks and compiles the project of g (errors printed to stderr).
 * Returns an exit code; on EXIT_OK c holds the result. The caller frees
 * p and c in any case. */
int cli_compile(const struct cli *g, struct project *p, struct compiled *c);
/* The env index (ENV_*) of "development", "production", "eval"; -1. */
int cli_env_parse(const char *name);
/* Parses the value of --env into *env; prints why and returns EXIT_USAGE
 * when it is not an environment. */
int cli_env_arg(const char *value, int *env);
/* Loads a bundle: spec is a .stb file, or a revision of the store s
 * (s may be NULL for files only) whose `env` bundle is read. label
 * receives a description for headings. Returns an exit code (errors
 * printed). */
struct struere_bundle;
int cli_load_bundle(const struct cli *g, struct store *s, const char *spec,
                    int env, struct struere_bundle **out, char *label,
                    size_t label_size);
/* Checks the project of g, printing its problems to stderr. Returns an
 * exit code (EXIT_OK when it may be compiled). */
int cli_check(const struct cli *g, struct project *p);
/* The store of g, or NULL when there is none (for commands that also
 * work on bundle files alone). Close it with store_close. */
struct store *cli_store_if_any(const struct cli *g);
/* Opens the store of the project (p may be NULL). Returns an exit code. */
int cli_open_store(const struct cli *g, const struct project *p,
                   struct store **out);

int cmd_check(const struct cli *g, int argc, char **argv);
int cmd_init(const struct cli *g, int argc, char **argv);
int cmd_add(const struct cli *g, int argc, char **argv);
int cmd_schema(const struct cli *g, int argc, char **argv);
int cmd_build(const struct cli *g, int argc, char **argv);
int cmd_dev(const struct cli *g, int argc, char **argv);
int cmd_deploy(const struct cli *g, int argc, char **argv);
int cmd_rollback(const struct cli *g, int argc, char **argv);
int cmd_status(const struct cli *g, int argc, char **argv);
int cmd_diff(const struct cli *g, int argc, char **argv);
int cmd_log(const struct cli *g, int argc, char **argv);
int cmd_inspect(const struct cli *g, int argc, char **argv);
int cmd_keys(const struct cli *g, int argc, char **argv);
int cmd_fetch(const struct cli *g, int argc, char **argv);
/* The runtime-facing commands (cmd_runtime.c): libstruere, opened by key. */
int cmd_get(const struct cli *g, int argc, char **argv);
int cmd_can(const struct cli *g, int argc, char **argv);
int cmd_query(const struct cli *g, int argc, char **argv);
int cmd_prompt(const struct cli *g, int argc, char **argv);
int cmd_fire(const struct cli *g, int argc, char **argv);
int cmd_eval(const struct cli *g, int argc, char **argv);

/* path as given on the command line, taken relative to -C DIR (buf
 * receives the joined path when one is needed). */
#include <stddef.h>
const char *cli_path(const struct cli *g, const char *path, char *buf,
                     size_t size);
/* Whether argv[i] asks for help. */
int cli_wants_help(const char *arg);
/* Prints "struere: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
