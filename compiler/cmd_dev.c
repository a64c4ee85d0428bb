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
#include "struere.h"
#include "arena.h"

static const char dev_usage[] =
    "usage: struere dev [--watch] [--push REMOTE]\n"
    "\n"
    "Checks and compiles the project, then commits\n"
    "  refs/heads/struere/development  bundles/development.stb,\n"
    "                                  bundles/production.stb, manifest.json,\n"
    "                                  review/development/, "
    "review/production/\n"
    "  refs/heads/struere/eval         bundles/eval.stb, manifest.json,\n"
    "                                  review/eval/\n"
    "in the git repository enclosing the project (or struere.yaml's store:).\n"
    "Makes no commit when nothing changed; SOURCE_DATE_EPOCH sets commit\n"
    "times. Each ref moves with compare-and-swap.\n"
    "\n"
    "  --watch        keep running: re-check and re-commit on every change,\n"
    "                 printing problems instead of exiting\n"
    "  --push REMOTE  push the moved refs to a git remote (name or URL)\n";

/* A commit message lists at most this many definitions (then "... and N
 * more"): every deploy and log reads the commit objects, so their size
 * must not grow with the project, whatever one commit changed. */
#define MESSAGE_LINES 200

/* "1 agent changed, 2 roles added" + per-definition lines, comparing the
 * review files about to be committed with those of the parent. */
static char *change_message(const struct store_blob *old, size_t nold,
                            const struct compiled *c, unsigned env_mask,
                            size_t *changes)
{
    /* added, changed, removed per environment; the summary counts a
     * definition once per branch (the largest count over its envs). */
    size_t counts[ENV_COUNT][KIND_COUNT][3] = {{{0}}};
    size_t cap = 4096, used = 0, lines = 0;
    char *body = malloc(cap);
    if (!body)
        return NULL;
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
                if (nf->data)
                    store_hash_blob(nf->data, nf->len, id);
                else
                    snprintf(id, sizeof(id), "%s", nf->blob_id);
                bool same = !strcmp(id, old[j].id);
                path = nf->path;
                i++;
                j++;
                if (same)
                    continue;
                mark = '~';
            }
            char slug[512];
            int k = compile_review_parse(path, slug, sizeof(slug));
            if (k < 0)
                continue;
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
            if (lines++ < MESSAGE_LINES)
                used +=
                    (size_t)snprintf(body + used, cap - used, "  %c %s %s\n",
                                     mark, kind_table[k].label, slug);
        }
    }
    if (lines > MESSAGE_LINES)
        used += (size_t)snprintf(body + used, cap - used,
                                 "  ... and %zu more\n", lines - MESSAGE_LINES);
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
            fl += (size_t)snprintf(
                first + fl, sizeof(first) - fl, "%s %zu %s %s", any ? "," : "",
                n, n == 1 ? kind_table[k].label : kind_table[k].plural,
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

static int commit_branch(struct store *s, const char *ref, const char *parent,
                         const struct store_blob *old, size_t nold,
                         const struct project *p, const struct compiled *c,
                         const char *sources, unsigned env_mask,
                         const char *label)
{
    int rc;
    size_t n = 2;
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
    files[k++] =
        (struct store_file){"manifest.json", manifest, strlen(manifest), NULL};
    files[k++] = (struct store_file){"sources", sources, strlen(sources), NULL};
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)))
            continue;
        files[k++] =
            (struct store_file){compile_bundle_path((enum env)e),
                                c->bundle[e].data, c->bundle[e].len, NULL};
        for (size_t i = 0; i < c->nreview[e]; i++)
            files[k++] = (struct store_file){
                c->review[e][i].path, c->review[e][i].data, c->review[e][i].len,
                c->review[e][i].blob_id};
    }
    size_t changes;
    char *message = change_message(old, nold, c, env_mask, &changes);
    char id[41];
    bool committed = false;
    rc = message ? store_commit_known(s, ref, parent, parent[0] ? old : NULL,
                                      nold, files, k, message, id, &committed)
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

/* What the previous commit of a branch lets the compile reuse: its
 * sources list, review blob ids and bundles. */
struct branch_state {
    char parent[41];
    char *sources;
    struct store_blob *blobs;
    size_t nblobs;
    const char **paths, **ids;
};

static int load_branch(struct store *s, const char *ref, unsigned env_mask,
                       const struct project *p, struct arena *a,
                       struct branch_state *b, struct compile_reuse *reuse)
{
    memset(b, 0, sizeof(*b));
    int rc = store_ref_id(s, ref, b->parent);
    if (rc == STORE_ERROR) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    if (rc == STORE_NOTFOUND)
        return EXIT_OK;
    if (store_tree_blobs(s, b->parent, "", &b->blobs, &b->nblobs) != STORE_OK) {
        b->blobs = NULL;
        b->nblobs = 0;
        return EXIT_OK;
    }
    unsigned char *data;
    size_t len;
    if (store_read(s, b->parent, "sources", &data, &len) != STORE_OK)
        return EXIT_OK; /* an older commit: compile everything */
    b->sources = (char *)data;
    b->paths = arena_alloc(a, (b->nblobs + 1) * sizeof(char *));
    b->ids = arena_alloc(a, (b->nblobs + 1) * sizeof(char *));
    for (size_t i = 0; i < b->nblobs; i++) {
        b->paths[i] = b->blobs[i].path;
        b->ids[i] = b->blobs[i].id;
    }
    char *text = arena_strndup(a, b->sources, len);
    struct store_blob_list list = {b->paths, b->ids, b->nblobs};
    compile_reuse_prepare(p, a, text, &list, env_mask, reuse);
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(env_mask & (1u << e)) || !reuse->unchanged[e])
            continue;
        unsigned char *bytes;
        size_t blen;
        if (store_read(s, b->parent, compile_bundle_path((enum env)e), &bytes,
                       &blen) != STORE_OK)
            continue;
        struere_error err;
        if (struere_bundle_open_memory(&reuse->old[e], bytes, blen, e + 1,
                                       &err) != STRUERE_OK)
            reuse->old[e] = NULL; /* a bad old bundle: emit everything */
        free(bytes);
    }
    return EXIT_OK;
}

static void branch_state_free(struct branch_state *b)
{
    free(b->sources);
    free(b->blobs);
}

static int dev_once(const struct cli *g, const char *push)
{
    struct project p;
    struct compiled c;
    struct store *s = NULL;
    struct arena a;
    struct compile_reuse reuse;
    struct branch_state dev, ev;
    char *sources = NULL, *eval_sources = NULL;
    arena_init(&a);
    memset(&reuse, 0, sizeof(reuse));
    memset(&c, 0, sizeof(c));
    memset(&dev, 0, sizeof(dev));
    memset(&ev, 0, sizeof(ev));
    unsigned dev_mask = (1u << ENV_DEVELOPMENT) | (1u << ENV_PRODUCTION);
    int rc = cli_check(g, &p);
    if (rc == EXIT_OK)
        rc = cli_open_store(g, &p, &s);
    if (rc == EXIT_OK)
        rc = load_branch(s, STORE_DEVELOPMENT, dev_mask, &p, &a, &dev, &reuse);
    if (rc == EXIT_OK)
        rc = load_branch(s, STORE_EVAL, 1u << ENV_EVAL, &p, &a, &ev, &reuse);
    if (rc == EXIT_OK &&
        (compile_project(&p, &reuse, &c) < 0 ||
         !(sources = compile_sources(&p, dev_mask)) ||
         !(eval_sources = compile_sources(&p, 1u << ENV_EVAL)))) {
        cli_error("out of memory while compiling");
        rc = EXIT_IO;
    }
    /* What is committed has verified: deploy relies on it. */
    for (int e = 0; rc == EXIT_OK && e < ENV_COUNT; e++) {
        struere_error err;
        if (struere_bundle_verify(c.bundle[e].data, c.bundle[e].len, e + 1,
                                  &err) != STRUERE_OK) {
            cli_error("internal error: the %s bundle does not verify: %s",
                      env_names[e], err.message);
            rc = EXIT_IO;
        }
    }
    if (rc == EXIT_OK)
        rc =
            commit_branch(s, STORE_DEVELOPMENT, dev.parent, dev.blobs,
                          dev.nblobs, &p, &c, sources, dev_mask, "development");
    if (rc == EXIT_OK)
        rc = commit_branch(s, STORE_EVAL, ev.parent, ev.blobs, ev.nblobs, &p,
                           &c, eval_sources, 1u << ENV_EVAL, "eval");
    if (rc == EXIT_OK && push) {
        const char *refs[] = {STORE_DEVELOPMENT, STORE_EVAL};
        if (store_push(s, push, refs, 2) != STORE_OK) {
            cli_error("%s", store_error(s));
            rc = EXIT_IO;
        } else {
            printf("pushed struere/development and struere/eval to %s\n", push);
        }
    }
    for (int e = 0; e < ENV_COUNT; e++)
        struere_bundle_free(reuse.old[e]);
    branch_state_free(&dev);
    branch_state_free(&ev);
    free(sources);
    free(eval_sources);
    store_close(s);
    compiled_free(&c);
    project_free(&p);
    arena_free(&a);
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
        /* Watch before compiling: a file saved while dev runs is an event
         * waiting when it ends, so it is compiled next, never missed. */
        int fd = watch_fd(g);
        if (fd < 0) {
            cli_error("cannot watch %s: %s", g->dir, strerror(errno));
            return EXIT_IO;
        }
        dev_once(g, push);
        fflush(stdout);
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
