/*
 * cmd_dev.c - `struere dev [--watch] [--push REMOTE] [-v]`: arguments,
 * the watch loop, and printing what the pipeline (dev.h: check, compile,
 * commit to the development and eval branches, caches) tells as it runs.
 * --watch re-runs on every change; -v prints what each phase took.
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
#include "dev.h"
#include "kinds.h"
#include "trust.h"

static const char dev_usage[] =
    "usage: struere dev [--watch] [--sign FILE]... [--push REMOTE] [-v]\n"
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
    "A run after a small change is fast: definition files that did not\n"
    "change are restored from a cache in the store's git directory\n"
    "(.git/struere/), and unchanged definitions keep their compiled form\n"
    "from the last commit. When no file or directory of the project changed\n"
    "since the last run (by stat, recorded by that run) and both branches\n"
    "are where it left them, nothing is read at all. The result is the\n"
    "same as without the cache (delete .git/struere/ at any time).\n"
    "\n"
    "  --watch        keep running: re-check and re-commit on every change,\n"
    "                 printing problems instead of exiting\n"
    "  --sign FILE    sign the promotion statements of development and\n"
    "                 eval with this key (repeatable; default\n"
    "                 STRUERE_SIGNING_KEY): needed only when the trust\n"
    "                 policy requires signatures there; with fewer than it\n"
    "                 requires, the branch waits for 'struere approve'\n"
    "  --push REMOTE  push the moved refs to a git remote (name or URL)\n"
    "  -v, --verbose  say on stderr what each phase took\n";

/* ---- printing what the pipeline (dev.c) tells ---------------------------
 */

/* What the hooks print with: -v, and the progress line, which goes
 * before anything is printed (and comes back after the check's report:
 * compiling and committing may take a while too). */
struct dev_out {
    bool verbose;
    const struct cli *g;
    struct cli_progress progress;
};

static int on_checked(void *arg, const struct project *p, int rc)
{
    struct dev_out *out = arg;
    cli_progress_stop(&out->progress);
    rc = cli_report_check(p, rc);
    if (!out->verbose)
        cli_progress_start(&out->progress, out->g);
    return rc;
}

static void on_phase(void *arg, double seconds, const char *what)
{
    const struct dev_out *out = arg;
    if (out->verbose)
        fprintf(stderr, "dev: %6.3f s  %s\n", seconds, what);
}

/* What a branch did: its promotion, if the trust policy wanted one; its
 * commit's summary and at most 24 of its per-definition lines. */
static void on_branch(void *arg, const struct dev_branch *b)
{
    cli_progress_stop(&((struct dev_out *)arg)->progress);
    if (b->promotion)
        cli_promotion_report(b->env, b->promotion);
    if (!b->changed) {
        printf("%s: up to date at %.12s\n", b->label, b->id);
        return;
    }
    bool pending = b->promotion && !b->promotion->complete;
    const char *summary = b->message + strlen("struere dev: ");
    printf("%s: %s %.12s: %.*s\n", b->label,
           pending ? "proposed (waits for approval)" : "committed", b->id,
           (int)strcspn(summary, "\n"), summary);
    const char *line = strchr(b->message, '\n');
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
}

static void on_pushed(void *arg, const char *remote, bool with_promotions)
{
    cli_progress_stop(&((struct dev_out *)arg)->progress);
    printf("pushed struere/development and struere/eval%s to %s\n",
           with_promotions ? " and the promotion statements" : "", remote);
}

static void on_error(void *arg, const char *message)
{
    cli_progress_stop(&((struct dev_out *)arg)->progress);
    cli_error("%s", message);
}

/* Said once a process: dev --watch would say it on every run. */
static void on_warning(void *arg, const char *message)
{
    static bool said;
    cli_progress_stop(&((struct dev_out *)arg)->progress);
    if (!said)
        cli_error("warning: %s", message);
    said = true;
}

/* The signing keys of --sign, for branches whose environment the trust
 * policy wants signed. */
struct dev_signers {
    const struct signer *list;
    size_t n;
};

static int dev_once(const struct cli *g, const char *push, bool verbose,
                    const struct dev_signers *sig)
{
    char sbuf[4096];
    struct dev_options o = {
        .dir = g->dir,
        .store = cli_path(g, g->store, sbuf, sizeof(sbuf)),
        .signers = sig->list,
        .nsigners = sig->n,
        .push = push,
    };
    struct dev_out out = {.verbose = verbose, .g = g};
    struct dev_hooks h = {.checked = on_checked,
                          .phase = on_phase,
                          .branch = on_branch,
                          .pushed = on_pushed,
                          .error = on_error,
                          .warning = on_warning,
                          .arg = &out};
    o.progress = verbose ? NULL : cli_progress_start(&out.progress, g);
    int rc = dev_run(&o, &h);
    cli_progress_stop(&out.progress);
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

static int watch(const struct cli *g, const char *push, bool verbose,
                 const struct dev_signers *sig)
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
        dev_once(g, push, verbose, sig);
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
    bool watching = false, verbose = false;
    const char *push = NULL, *signs[16];
    size_t nsigns = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(dev_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--watch")) {
            watching = true;
        } else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
            verbose = true;
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc) {
            push = argv[++i];
        } else if (!strcmp(argv[i], "--sign") && i + 1 < argc && nsigns < 16) {
            signs[nsigns++] = argv[++i];
        } else {
            cli_error("dev: unknown argument '%s'\n", argv[i]);
            fputs(dev_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct signer *signers = NULL;
    size_t nsigners = 0;
    int rc = cli_signers_load(signs, nsigns, true, &signers, &nsigners);
    if (rc != EXIT_OK)
        return rc;
    struct dev_signers sig = {signers, nsigners};
    rc = watching ? watch(g, push, verbose, &sig)
                  : dev_once(g, push, verbose, &sig);
    cli_signers_free(signers, nsigners);
    return rc;
}
