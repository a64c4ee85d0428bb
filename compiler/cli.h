/*
 * cli.h - the subcommands of the struere command. main.c parses the
 * global options and dispatches; each cmd_* parses its own arguments,
 * prints, and returns the exit code (0 ok, 1 invalid input or
 * differences, 2 usage, 3 I/O or internal).
 */
#ifndef STRUERE_CLI_H
#define STRUERE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "progress.h"

enum exit_code { EXIT_OK = 0, EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

struct cli {
    const char *dir;   /* -C DIR, or "." */
    int quiet;         /* --quiet: no progress line */
    const char *store; /* --store PATH, or NULL: struere.yaml's store:, or
                          the repository enclosing dir */
    const char *prog;
};

struct project;
struct compiled;
struct store;

/* The progress line of a long run (cli_progress.c): start gives the
 * counters to hand to the pipeline (check_options, dev_options); stop
 * erases the line. Shown only on a terminal, after a second, without
 * --quiet. */
struct cli_progress {
    struct progress pr;
    pthread_t thread;
    atomic_int stop;
    atomic_int shown;
    int running;
};
struct progress *cli_progress_start(struct cli_progress *cp,
                                    const struct cli *g);
void cli_progress_stop(struct cli_progress *cp);

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
 * (s may be NULL for files only) whose `env` bundle is read (env -1:
 * production's when the commit holds one, else eval's). label receives
 * a description for headings; commit (when not NULL) the commit id the
 * revision named when the bundle was read, resolved once ("" for a
 * file). Returns an exit code (errors printed). */
struct struere_bundle;
struct struere_runtime;
int cli_load_bundle(const struct cli *g, struct store *s, const char *spec,
                    int env, struct struere_bundle **out, char *label,
                    size_t label_size, char commit[41]);
/* cli_load_bundle, then a runtime over the bundle (not verified again);
 * the bundle is struere_runtime_bundle(*out). */
int cli_load_runtime(const struct cli *g, struct store *s, const char *spec,
                     int env, struct struere_runtime **out, char *label,
                     size_t label_size, char commit[41]);
/* Checks the project of g, printing its problems to stderr. Returns an
 * exit code (EXIT_OK when it may be compiled). */
int cli_check(const struct cli *g, struct project *p);
/* Prints what the check of p found (rc: check_project's result) to
 * stderr. Returns an exit code (EXIT_OK when it may be compiled). */
int cli_report_check(const struct project *p, int rc);
/* The store of g, or NULL when there is none (for commands that also
 * work on bundle files alone). Close it with store_close. */
struct store *cli_store_if_any(const struct cli *g);
/* Why the last cli_store_if_any gave NULL ("" when it has not). */
const char *cli_no_store_reason(void);
/* Opens the store of the project (p may be NULL). Returns an exit code. */
/* Where the store is looked for (the path, or a folder inside it): the
 * --store option, the project's store:, else the project folder. */
const char *cli_store_location(const struct cli *g, const struct project *p,
                               char *buf, size_t size);
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
/* Effective access (cmd_access.c), from libstruere's engine. */
int cmd_access(const struct cli *g, int argc, char **argv);
/* Policy tests (cmd_test.c), run through libstruere. */
int cmd_test(const struct cli *g, int argc, char **argv);
/* The runtime over HTTP (cmd_serve.c, on server/). */
int cmd_serve(const struct cli *g, int argc, char **argv);
/* The runtime-facing commands (cmd_runtime.c): libstruere, opened by key. */
int cmd_get(const struct cli *g, int argc, char **argv);
int cmd_can(const struct cli *g, int argc, char **argv);
int cmd_query(const struct cli *g, int argc, char **argv);
int cmd_prompt(const struct cli *g, int argc, char **argv);
int cmd_fire(const struct cli *g, int argc, char **argv);
int cmd_eval(const struct cli *g, int argc, char **argv);

/* Signed promotions (cmd_trust.c). */
int cmd_signing_key(const struct cli *g, int argc, char **argv);
int cmd_trust(const struct cli *g, int argc, char **argv);
int cmd_approve(const struct cli *g, int argc, char **argv);
struct signer;
struct promotion_result;
/* Loads the signing keys named by --sign (paths[0..n)), or the one
 * STRUERE_SIGNING_KEY names when n is 0 and use_default. Prints why and
 * returns an exit code on failure; free with cli_signers_free. */
int cli_signers_load(const char *const *paths, size_t n, bool use_default,
                     struct signer **out, size_t *count);
void cli_signers_free(struct signer *list, size_t n);
/* Prints what a promotion did (moved, or pending and who is next). */
void cli_promotion_report(int env, const struct promotion_result *r);
/* Before production moves from `from` ("" for none) to `to` (deploy,
 * rollback, approve): verifies to's production bundle and prints what
 * changes, access first; *widens when access widens. An exit status,
 * the reason printed (`verb` names the command). */
struct verified;
int cli_review_production(struct store *s, const char *from, const char *to,
                          const char *verb, struct verified *v, bool *widens);
/* Pushes env's branch and the promotion statements. */
int cli_push_env(struct store *s, int env, const char *remote);

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
