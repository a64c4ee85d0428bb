/*
 * main.c - the struere command: global options, dispatch to a
 * subcommand, exit codes. The commands are cmd_*.c (with cli*.c, what
 * they share); all the work is in the library modules.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "jsonmem.h"
#include "version.h"

static const char usage[] =
    "usage: struere [-C DIR] [--quiet] COMMAND [ARGS...]\n"
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
    "  build [--out DIR]     check, then write the three bundles as files\n"
    "  dev [--watch]         check, compile, commit to the development and\n"
    "                        eval branches of the git store\n"
    "  deploy [--dry-run]    promote the development commit to production\n"
    "                        (refuses to widen access under --yes unless\n"
    "                        --allow-widening)\n"
    "  rollback [--to REV]   move production back\n"
    "  status [--env ENV]    local definitions against each environment\n"
    "  diff [FROM] [TO]      what changes: effective access first (granted,\n"
    "                        revoked, rows, masks), then the definitions;\n"
    "                        --check no-new-access: the CI gate\n"
    "  log [--env ENV]       history: commits, deploys, rollbacks\n"
    "  inspect [REV|FILE]    verify a bundle and print what it holds\n"
    "  access [REV|FILE]     effective access: per agent and role, what it\n"
    "                        may do, on which rows, with which masks\n"
    "  test [--coverage]     run the policy tests (tests/*.test.yaml)\n"
    "                        through the runtime, with coverage\n"
    "  keys create|list|revoke  API keys (hashes only are stored)\n"
    "  fetch [--init] REMOTE bring a remote's environment and key refs in\n"
    "  signing-key create --out FILE   a new Ed25519 signing key\n"
    "  trust add|remove|require|show   the trust policy (who must sign)\n"
    "  approve [ENV] --sign FILE       sign a promotion that waits for it\n"
    "\n"
    "runtime commands (libstruere; key from STRUERE_API_KEY or --key):\n"
    "  get KIND SLUG         one definition as the key's environment has it\n"
    "  can ACTION RESOURCE   a permission decision, its reason, row scope\n"
    "                        and field mask (--as ACTOR, --record FILE)\n"
    "  prompt AGENT          render an agent's system prompt\n"
    "  query TYPE            eval fixture records as an actor sees them\n"
    "  fire TYPE ACTION      which automations a change fires\n"
    "  eval list|plan        eval suites; their cases as JSON lines\n"
    "\n"
    "the runtime over HTTP (each request's API key picks its environment):\n"
    "  serve [--listen ADDR:PORT]  one process for all three environments;\n"
    "                        follows the store (or a remote), optional\n"
    "                        dashboard\n"
    "\n"
    "options:\n"
    "  -C DIR                run as if started in DIR\n"
    "  -q, --quiet           no progress line (shown on a terminal when\n"
    "                        check, build, dev or status take a second)\n"
    "  --store PATH          the git store (default: struere.yaml's store:,\n"
    "                        else the repository enclosing the project)\n"
    "  -h, --help            show help (also: struere COMMAND --help)\n"
    "  --version             print the version\n"
    "\n"
    "exit codes: 0 ok, 1 invalid input, 2 usage error, 3 I/O or internal "
    "error\n";

static const struct {
    const char *name;
    int (*fn)(const struct cli *, int, char **);
} commands[] = {
    {"build", cmd_build},   {"dev", cmd_dev},
    {"deploy", cmd_deploy}, {"rollback", cmd_rollback},
    {"status", cmd_status}, {"diff", cmd_diff},
    {"log", cmd_log},       {"inspect", cmd_inspect},
    {"access", cmd_access}, {"keys", cmd_keys},
    {"fetch", cmd_fetch},   {"get", cmd_get},
    {"can", cmd_can},       {"query", cmd_query},
    {"prompt", cmd_prompt}, {"fire", cmd_fire},
    {"eval", cmd_eval},     {"signing-key", cmd_signing_key},
    {"trust", cmd_trust},   {"approve", cmd_approve},
    {"test", cmd_test},     {"serve", cmd_serve},
};

static int dispatch(int argc, char **argv)
{
    struct cli g = {.dir = ".", .prog = "struere"};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--store")) {
            if (++i >= argc) {
                cli_error("--store needs a path");
                return EXIT_USAGE;
            }
            g.store = argv[i];
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            g.quiet = 1;
        } else if (!strcmp(argv[i], "-C")) {
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
    /* As git does, relative paths given with -C DIR (--store, bundle
     * files, --out) are taken from DIR: see cli_path. */
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
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
        if (!strcmp(cmd, commands[c].name))
            return commands[c].fn(&g, sub_argc, sub_argv);
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
            for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (!strcmp(c, commands[k].name))
                    return commands[k].fn(&g, 2, args);
            cli_error("unknown command '%s' (see 'struere --help')", c);
            return EXIT_USAGE;
        }
        fputs(usage, stdout);
        return EXIT_OK;
    }
    cli_error("unknown command '%s' (see 'struere --help')", cmd);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    json_mem_install();
    int rc = dispatch(argc, argv);
    /* What a command built with jansson may have lost a part: a run
     * that says it succeeded must not rest on it. */
    if (rc == EXIT_OK && json_mem_failed()) {
        cli_error("out of memory");
        rc = EXIT_IO;
    }
    return rc;
}
