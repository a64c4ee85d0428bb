/*
 * cmd_serve.c - `struere serve`: parses the options, prepares the store
 * (a local mirror of the remote with --follow) and the dashboard token,
 * and runs the server (server/, which does the work).
 */
#include <errno.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/src/gitread.h"
#include "cli.h"
#include "jsonmem.h"
#include "server.h"

static const char serve_usage[] =
    "usage: struere serve [--listen ADDR:PORT] [--store PATH | --follow "
    "REMOTE\n"
    "                     [--interval SECONDS]] [--decision-log FILE]\n"
    "                     [--dashboard [--dashboard-token-file FILE]]\n"
    "                     [--trust FILE] [--state FILE] [--threads N]\n"
    "                     [--max-connections N]\n"
    "                     [--request-timeout SECONDS]\n"
    "\n"
    "Serves the runtime over HTTP: one process for all three environments,\n"
    "the API key of each request (Authorization: Bearer sk_...) picks one.\n"
    "Routes: GET /v1/{agents,data-types,roles,tools,automations}[/SLUG],\n"
    "POST /v1/authorize, /v1/authorize/batch, /v1/agents/SLUG/prompt,\n"
    "/v1/agents/SLUG/model-request, /v1/events; with an eval key\n"
    "POST /v1/entities/query, /v1/entities/get, GET /v1/evals[/SUITE/plan];\n"
    "GET /health, /ready, /metrics (server/README.md has them all).\n"
    "\n"
    "  --listen ADDR:PORT    where to listen (default 127.0.0.1:8080; port 0:\n"
    "                        any free port, printed)\n"
    "  --store PATH          the git store to serve from (default: the\n"
    "                        repository around -C DIR); a moved ref (a dev,\n"
    "                        deploy, rollback, keys revoke) is served within\n"
    "                        a second, once its bundle verifies\n"
    "  --follow REMOTE       serve a remote's refs (fetched into a private\n"
    "                        mirror) every --interval seconds (default 5)\n"
    "  --decision-log FILE   append one JSON line per authorization decision\n"
    "  --dashboard           serve the dashboard page at / and its API; the\n"
    "                        token to sign in is printed on stderr at start\n"
    "  --dashboard-token-file FILE\n"
    "                        read the dashboard token from FILE instead\n"
    "  --trust FILE          pin the trust policy (as for struere get)\n"
    "  --state FILE          remember what was accepted across runs (as for\n"
    "                        struere get); within a run an older promotion,\n"
    "                        trust policy or key record is always refused\n"
    "  --threads N           worker threads (default 4)\n"
    "  --max-connections N   connections at once (default 8192, less when the\n"
    "                        descriptor limit is lower); a request on one "
    "more\n"
    "                        gets 503 with Retry-After\n"
    "  --request-timeout SECONDS\n"
    "                        a request (line, headers and body) must arrive\n"
    "                        within this time (default 30), else 408; the\n"
    "                        idle limit (10 s) is kept a second under it\n"
    "\n"
    "SIGHUP reloads at once; SIGTERM stops accepting, finishes the requests\n"
    "in flight and exits 0.\n";

/* Splits ADDR:PORT ([V6]:PORT) into cfg. */
static int parse_listen(const char *v, struct srv_config *cfg, char *host,
                        size_t size)
{
    const char *colon = strrchr(v, ':');
    char *end;
    if (!colon || colon == v)
        goto bad;
    size_t hl = (size_t)(colon - v);
    if (v[0] == '[') {
        if (hl < 3 || v[hl - 1] != ']')
            goto bad;
        v++;
        hl -= 2;
    }
    if (hl >= size)
        goto bad;
    memcpy(host, v, hl);
    host[hl] = 0;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port > 65535)
        goto bad;
    cfg->host = host;
    cfg->port = (unsigned)port;
    return 0;
bad:
    cli_error("--listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:8080", v);
    return -1;
}

static int read_token(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("--dashboard-token-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    if (strlen(buf) < 16) {
        cli_error("--dashboard-token-file %s: the token must be at least 16 "
                  "characters on the first line",
                  path);
        return -1;
    }
    return 0;
}

static int new_token(char *buf, size_t size)
{
    unsigned char raw[24];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        cli_error("cannot make a dashboard token: %s", strerror(errno));
        return -1;
    }
    int n = snprintf(buf, size, "sdt_");
    for (size_t i = 0; i < sizeof(raw); i++)
        n += snprintf(buf + n, size - (size_t)n, "%02x", raw[i]);
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int cmd_serve(const struct cli *g, int argc, char **argv)
{
    struct srv_config cfg = {.host = "127.0.0.1", .port = 8080, .interval = 5};
    const char *token_file = NULL, *store_opt = NULL;
    char host[256], token[256], tbuf[4096], dbuf[4096], sbuf[4096];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_wants_help(a)) {
            fputs(serve_usage, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--dashboard")) {
            cfg.dashboard = true;
            continue;
        }
        if (a[0] != '-' || i + 1 >= argc) {
            cli_error("serve: %s '%s'\n\n%s",
                      a[0] == '-' ? "missing value after" : "unexpected", a,
                      serve_usage);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        char *end;
        if (!strcmp(a, "--listen")) {
            if (parse_listen(v, &cfg, host, sizeof(host)) < 0)
                return EXIT_USAGE;
        } else if (!strcmp(a, "--store")) {
            store_opt = v;
        } else if (!strcmp(a, "--follow")) {
            cfg.follow = v;
        } else if (!strcmp(a, "--interval") || !strcmp(a, "--threads") ||
                   !strcmp(a, "--request-timeout")) {
            errno = 0;
            unsigned long n = strtoul(v, &end, 10);
            if (!v[0] || *end || errno || n < 1 || n > 3600) {
                cli_error("%s '%s': expected a number from 1 to 3600", a, v);
                return EXIT_USAGE;
            }
            *(a[2] == 'i'   ? &cfg.interval
              : a[2] == 't' ? &cfg.threads
                            : &cfg.request_timeout) = (unsigned)n;
        } else if (!strcmp(a, "--max-connections")) {
            errno = 0;
            unsigned long n = strtoul(v, &end, 10);
            if (!v[0] || *end || errno || n < 1 || n > 1000000) {
                cli_error("%s '%s': expected a number from 1 to 1000000", a, v);
                return EXIT_USAGE;
            }
            cfg.max_connections = (unsigned)n;
        } else if (!strcmp(a, "--decision-log")) {
            cfg.decision_log = cli_path(g, v, dbuf, sizeof(dbuf));
        } else if (!strcmp(a, "--dashboard-token-file")) {
            token_file = v;
        } else if (!strcmp(a, "--trust")) {
            cfg.trust = cli_path(g, v, tbuf, sizeof(tbuf));
        } else if (!strcmp(a, "--state")) {
            cfg.state = cli_path(g, v, sbuf, sizeof(sbuf));
        } else {
            cli_error("serve: unknown option '%s'\n\n%s", a, serve_usage);
            return EXIT_USAGE;
        }
    }
    if (cfg.follow && store_opt) {
        cli_error("serve: --store and --follow are exclusive (--follow keeps "
                  "a private mirror of the remote)");
        return EXIT_USAGE;
    }
    if (token_file && !cfg.dashboard) {
        cli_error("serve: --dashboard-token-file needs --dashboard");
        return EXIT_USAGE;
    }
    if (cfg.threads > 64) {
        cli_error("serve: --threads: at most 64");
        return EXIT_USAGE;
    }
    if (cfg.dashboard) {
        char pbuf[4096];
        if (token_file ? read_token(cli_path(g, token_file, pbuf, sizeof(pbuf)),
                                    token, sizeof(token)) < 0
                       : new_token(token, sizeof(token)) < 0)
            return EXIT_USAGE;
        cfg.dashboard_token = token;
    }
    char path[4096], mirror[4096] = "", remote[4096];
    int rc;
    signal(SIGCHLD, SIG_DFL); /* children reaped by subcommand.c */
    if (cfg.follow) {
        /* a private mirror, made and fetched into before serving by
         * `struere fetch --init` as a child process, as each later fetch
         * (server/subcommand.c): serve never maps libgit2. The child runs
         * in /: a remote that is a local path, and the mirror, are given
         * to it absolute. */
        const char *tmp = getenv("TMPDIR");
        struct stat st_remote;
        struct rt_git *repo;
        struere_error e;
        char made[4096];
        if (stat(cfg.follow, &st_remote) == 0 && realpath(cfg.follow, remote))
            cfg.follow = remote;
        snprintf(made, sizeof(made), "%s/struere-serve.XXXXXX",
                 tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(made)) {
            cli_error("serve --follow: cannot make a mirror in %s: %s",
                      tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
            return EXIT_IO;
        }
        if (!realpath(made, mirror)) {
            cli_error("serve --follow: the mirror %s: %s", made,
                      strerror(errno));
            rmdir(made);
            return EXIT_IO;
        }
        /* made exactly there by `fetch --init`, even inside a work tree */
        const char *const args[] = {"fetch", "--init", cfg.follow, NULL};
        /* in serve's process group: a Ctrl-C now stops it too */
        struct subcommand c = {
            .store = mirror, .args = args, .seconds = SRV_FETCH_SECONDS};
        char diag[1024];
        int frc = subcommand_run(&c, diag, sizeof(diag));
        if (frc) {
            cli_error("serve --follow %s: %s", cfg.follow, diag);
            rc = EXIT_IO;
            goto done;
        }
        /* fetch --init made it exactly there: opened there, not searched
         * for above */
        if (rt_git_open(&repo, mirror, &e) < 0) {
            cli_error("serve --follow: the mirror %s: %s", mirror, e.message);
            rc = EXIT_IO;
            goto done;
        }
        snprintf(path, sizeof(path), "%s", rt_git_name(repo));
        rt_git_close(repo);
    } else {
        /* Found as the other commands find it, but by the runtime's own
         * reader: serve never maps libgit2 for a local store (its
         * libraries, its CA certificates and the libcrypto they bring
         * were 7.4-7.7 MiB of the 8 MiB budget, DESIGN §11; the
         * dashboard's history and comparison run struere log and diff as
         * a child process, server/subcommand.c). */
        struct cli g2 = *g;
        struct rt_git *repo;
        struere_error e;
        char buf[4096];
        if (store_opt)
            g2.store = store_opt;
        const char *where = cli_store_location(&g2, NULL, buf, sizeof(buf));
        /* a store named (--store) is the user's choice whoever owns it;
         * one found from the folder must be the user's own */
        if (rt_git_discover(&repo, where, g2.store != NULL, &e) < 0) {
            cli_error("%s is not inside a git repository (%s); run 'git init' "
                      "or 'struere init', or set store: in struere.yaml",
                      where, e.message);
            return EXIT_IO;
        }
        snprintf(path, sizeof(path), "%s", rt_git_name(repo));
        rt_git_close(repo);
    }
    cfg.store = path;
    if (cfg.dashboard && !token_file) {
        fprintf(stderr, "struere serve: dashboard token: %s\n", token);
    }
    char err[1024];
    rc = srv_run(&cfg, err, sizeof(err)) < 0 ? EXIT_IO : EXIT_OK;
    if (rc)
        cli_error("serve: %s", err);
    /* each of jansson's failed allocations was answered where it
     * happened: a request's 500, a reload that kept the last bundle */
    json_mem_answered();
done:
    if (mirror[0])
        nftw(mirror, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
