/*
 * cmd_dev.c - `struere dev [--watch] [--push REMOTE]`: check, compile and
 * commit to the development branch (development and production bundles)
 * and the eval branch (eval bundle), each with manifest.json and review/.
 * No commit when nothing changed. --watch re-runs on every change.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cli.h"
#include "compile.h"
#include "kinds.h"
#include "store.h"

static const char dev_usage[] =
    "usage: struere dev [--watch] [--push REMOTE]\n"
    "\n"
    "Checks and compiles the project, then commits\n"
    "  refs/heads/struere/development  bundles/development.stb,\n"
    "                                  bundles/production.stb, manifest.json,\n"
    "                                  review/development/, review/production/\n"
    "  refs/heads/struere/eval         bundles/eval.stb, manifest.json,\n"
    "                                  review/eval/\n"
    "in the git repository enclosing the project (or struere.yaml's store:).\n"
    "Makes no commit when nothing changed; SOURCE_DATE_EPOCH sets commit\n"
    "times. Each ref moves with compare-and-swap.\n"
    "\n"
    "  --watch        keep running: re-check and re-commit on every change,\n"
    "                 printing problems instead of exiting\n"
    "  --push REMOTE  push the moved refs to a git remote (name or URL)\n";

/* "1 agent changed, 2 roles added" + per-definition lines, comparing the
 * review files about to be committed with those of the parent. */
static char *change_message(struct store *s, const char *parent,
                            const struct compiled *c, unsigned env_mask,
                            size_t *changes)
{
    struct store_blob *old = NULL;
    size_t nold = 0;
    if (parent[0])
        store_tree_blobs(s, parent, "review/", &old, &nold);
    /* added, changed, removed per environment; the summary counts a
     * definition once per branch (the largest count over its envs). */
    size_t counts[ENV_COUNT][KIND_COUNT][3] = {{{0}}};
    size_t cap = 4096, used = 0;
    char *body = malloc(cap);
    if (!body) {
        free(old);
        return NULL;
    }
    body[0] = '\0';
    *changes = 0;
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "review/%s/", env_names[e]);
        size_t plen = strlen(prefix);
        bool header = false;
        /* Merge the two sorted lists of review paths. */
        size_t i = 0, j = 0;
        while (i < c->nreview[e] || j < nold) {
            if (j < nold && strncmp(old[j].path, prefix, plen)) {
                j++;
                continue;
            }
            const struct compiled_file *nf =
                i < c->nreview[e] ? &c->review[e][i] : NULL;
            int cmp = !nf ? 1 : j >= nold ? -1 : strcmp(nf->path, old[j].path);
            char mark;
            const char *path;
            if (cmp < 0) {
                mark = '+';
                path = nf->path;
                i++;
            } else if (cmp > 0) {
                mark = '-';
                path = old[j].path;
                j++;
            } else {
                char id[41];
                store_hash_blob(nf->data, nf->len, id);
                bool same = !strcmp(id, old[j].id);
                path = nf->path;
                i++;
                j++;
                if (same)
                    continue;
                mark = '~';
            }
            /* review/<env>/<dir>/<slug>.json */
            const char *rest = path + plen;
            size_t dlen = strcspn(rest, "/");
            int k = 0;
            while (k < KIND_COUNT && (strlen(kind_table[k].dir) != dlen ||
                                      strncmp(kind_table[k].dir, rest, dlen)))
                k++;
            if (k == KIND_COUNT)
                continue;
            const char *slug = rest + dlen + 1;
            int slen = (int)(strlen(slug) > 5 ? strlen(slug) - 5 : 0);
            counts[e][k][mark == '+' ? 0 : mark == '~' ? 1 : 2]++;
            (*changes)++;
            if (used + 300 > cap) {
                char *bigger = realloc(body, cap * 2);
                if (!bigger)
                    break;
                body = bigger;
                cap *= 2;
            }
            if (!header) {
                used += (size_t)snprintf(body + used, cap - used, "\n%s:\n",
                                         env_names[e]);
                header = true;
            }
            used += (size_t)snprintf(body + used, cap - used,
                                     "  %c %s %.*s\n", mark,
                                     kind_table[k].label, slen, slug);
        }
    }
    free(old);
    char first[600] = "struere dev:";
    size_t fl = strlen(first);
    static const char *const verbs[3] = {"added", "changed", "removed"};
    bool any = false;
    for (int k = 0; k < KIND_COUNT; k++)
        for (int v = 0; v < 3; v++) {
            size_t n = 0;
            for (int e = 0; e < ENV_COUNT; e++)
                if (counts[e][k][v] > n)
                    n = counts[e][k][v];
            if (!n)
                continue;
            fl += (size_t)snprintf(first + fl, sizeof(first) - fl,
                                   "%s %zu %s %s", any ? "," : "", n,
                                   n == 1 ? kind_table[k].label
                                          : kind_table[k].plural,
                                   verbs[v]);
            any = true;
            if (fl >= sizeof(first) - 80)
                break;
        }
    if (!any)
        snprintf(first + fl, sizeof(first) - fl, " no definition changed");
    size_t total = strlen(first) + used + 4;
    char *msg = malloc(total);
    if (msg)
        snprintf(msg, total, "%s\n%s", first, body);
    free(body);
    return msg;
}

static int commit_branch(struct store *s, const char *ref,
                         const struct project *p, const struct compiled *c,
                         unsigned env_mask, const char *label)
{
    char parent[41];
    int rc = store_ref_id(s, ref, parent);
    if (rc == STORE_ERROR) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    size_t n = 1;
    for (int e = 0; e < ENV_COUNT; e++)
        if (env_mask & (1u << e))
            n += 1 + c->nreview[e];
    struct store_file *files = calloc(n, sizeof(*files));
    char *manifest = compile_manifest(p, c, env_mask);
    if (!files || !manifest) {
        free(files);
        free(manifest);
        cli_error("out of memory");
        return EXIT_IO;
    }
    size_t k = 0;
    files[k++] = (struct store_file){"manifest.json", manifest,
                                     strlen(manifest)};
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        files[k++] = (struct store_file){compile_bundle_path((enum env)e),
                                         c->bundle[e].data, c->bundle[e].len};
        for (size_t i = 0; i < c->nreview[e]; i++)
            files[k++] = (struct store_file){c->review[e][i].path,
                                             c->review[e][i].data,
                                             c->review[e][i].len};
    }
    size_t changes;
    char *message = change_message(s, parent, c, env_mask, &changes);
    char id[41];
    bool committed = false;
    rc = message ? store_commit(s, ref, parent, files, k, message, id,
                                &committed)
                 : STORE_ERROR;
    int code = EXIT_OK;
    if (rc == STORE_MOVED) {
        cli_error("%s", store_error(s));
        code = EXIT_IO;
    } else if (rc != STORE_OK) {
        cli_error("%s", message ? store_error(s) : "out of memory");
        code = EXIT_IO;
    } else if (committed) {
        const char *summary = message + strlen("struere dev: ");
        printf("%s: committed %.12s: %.*s\n", label, id,
               (int)strcspn(summary, "\n"), summary);
        /* The per-definition lines, at most 20 of them. */
        const char *line = strchr(message, '\n');
        int shown = 0, more = 0;
        while (line && *++line) {
            const char *end = strchr(line, '\n');
            int len = end ? (int)(end - line) : (int)strlen(line);
            if (len > 0) {
                if (shown++ < 24)
                    printf("  %.*s\n", len, line);
                else
                    more++;
            }
            line = end;
        }
        if (more)
            printf("  ... and %d more\n", more);
    } else {
        printf("%s: up to date at %.12s\n", label, id);
    }
    free(message);
    free(manifest);
    free(files);
    return code;
}

static int dev_once(const struct cli *g, const char *push)
{
    struct project p;
    struct compiled c;
    struct store *s = NULL;
    int rc = cli_compile(g, &p, &c);
    if (rc == EXIT_OK)
        rc = cli_open_store(g, &p, &s);
    if (rc == EXIT_OK)
        rc = commit_branch(s, STORE_DEVELOPMENT, &p, &c,
                           (1u << ENV_DEVELOPMENT) | (1u << ENV_PRODUCTION),
                           "development");
    if (rc == EXIT_OK)
        rc = commit_branch(s, STORE_EVAL, &p, &c, 1u << ENV_EVAL, "eval");
    if (rc == EXIT_OK && push) {
        const char *refs[] = {STORE_DEVELOPMENT, STORE_EVAL};
        if (store_push(s, push, refs, 2) != STORE_OK) {
            cli_error("%s", store_error(s));
            rc = EXIT_IO;
        } else {
            printf("pushed struere/development and struere/eval to %s\n",
                   push);
        }
    }
    store_close(s);
    compiled_free(&c);
    project_free(&p);
    return rc;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Watches the project directory and each kind's directory. */
static int watch_fd(const struct cli *g)
{
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return -1;
    uint32_t mask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO |
                    IN_MOVED_FROM | IN_DELETE_SELF;
    inotify_add_watch(fd, g->dir, mask);
    for (int k = 0; k < KIND_COUNT; k++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s", g->dir, kind_table[k].dir);
        inotify_add_watch(fd, path, mask); /* absent dirs: skipped */
    }
    return fd;
}

static int watch(const struct cli *g, const char *push)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop) {
        dev_once(g, push);
        fflush(stdout);
        int fd = watch_fd(g);
        if (fd < 0) {
            cli_error("cannot watch %s: %s", g->dir, strerror(errno));
            return EXIT_IO;
        }
        printf("watching %s for changes (Ctrl-C to stop)\n", g->dir);
        fflush(stdout);
        /* Wait for a change, then for 200 ms of quiet (editors write in
         * several steps). */
        struct pollfd pfd = {fd, POLLIN, 0};
        bool changed = false;
        while (!stop) {
            int r = poll(&pfd, 1, changed ? 200 : -1);
            if (r < 0 && errno != EINTR)
                break;
            if (r > 0) {
                char buf[8192];
                while (read(fd, buf, sizeof(buf)) > 0)
                    ;
                changed = true;
            } else if (r == 0 && changed) {
                break;
            }
        }
        close(fd);
    }
    return EXIT_OK;
}

int cmd_dev(const struct cli *g, int argc, char **argv)
{
    bool watching = false;
    const char *push = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(dev_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--watch")) {
            watching = true;
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc) {
            push = argv[++i];
        } else {
            cli_error("dev: unknown argument '%s'\n", argv[i]);
            fputs(dev_usage, stderr);
            return EXIT_USAGE;
        }
    }
    return watching ? watch(g, push) : dev_once(g, push);
}
