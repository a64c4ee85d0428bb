/*
 * subcommand.c - struere's own commands run as a child process of this
 * very binary (/proc/self/exe): `--follow`'s fetches (`struere fetch`)
 * and three dashboard answers that are, by their contract, what a command
 * prints: the access matrix (`struere access`), the history (`struere log
 * --json`) and the comparison (`struere diff --format json production
 * development`). They read commits, reflogs and bundles through libgit2,
 * compile every role of a bundle and build megabytes of JSON; run in
 * serve, they loaded libgit2 and the libraries it brings (libcrypto,
 * mbedcrypto, krb5) and left memory behind for good, in a process whose
 * memory DESIGN §11 bounds. The child exits and takes all of it with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

extern char **environ;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: stdin /dev/null, stdout and stderr the pipes, no other
 * descriptor of serve's (sockets, the decision log), the signals as a
 * fresh process has them (serve blocks them for sigwait), when own_group
 * in a process group of its own (a Ctrl-C or a service manager's SIGTERM
 * to serve's group does not cut an answer short; a kill reaches whatever
 * the child started), in / (nothing in serve's working directory is taken for a
 * revision or a bundle file: every path it is given is absolute). */
static int spawn(pid_t *pid, const char *const argv[], int out, int err,
                 bool own_group)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, deflt;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return rc;
    if ((rc = posix_spawnattr_init(&at))) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    sigemptyset(&none);
    sigfillset(&deflt);
    sigdelset(&deflt, SIGKILL);
    sigdelset(&deflt, SIGSTOP);
    if (!(rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
                                                0)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, out, 1)) &&
        !(rc = posix_spawn_file_actions_adddup2(&fa, err, 2)) &&
        !(rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) &&
        !(rc = posix_spawn_file_actions_addchdir_np(&fa, "/")) &&
        !(rc = posix_spawnattr_setsigmask(&at, &none)) &&
        !(rc = posix_spawnattr_setsigdefault(&at, &deflt)) &&
        !(rc = posix_spawnattr_setpgroup(&at, 0)) &&
        !(rc = posix_spawnattr_setflags(
              &at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                       (own_group ? POSIX_SPAWN_SETPGROUP : 0))))
        rc = posix_spawn(pid, "/proc/self/exe", &fa, &at, (char *const *)argv,
                         environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* JSON text without the whitespace between its tokens (the commands
 * indent theirs: the access matrix at 10,000 definitions is 10.9 MB
 * indented, 4.7 MB without); whitespace inside strings is kept. The state
 * carries over from one piece of output to the next. */
struct compact {
    bool in_string, escaped;
};

static size_t compact(struct compact *c, char *text, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];
        if (c->in_string) {
            if (c->escaped)
                c->escaped = false;
            else if (ch == '\\')
                c->escaped = true;
            else if (ch == '"')
                c->in_string = false;
        } else if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') {
            continue;
        } else if (ch == '"') {
            c->in_string = true;
        }
        text[w++] = ch;
    }
    return w;
}

/* Appends to b. Its first block is SUBCOMMAND_FIRST_BLOCK, above glibc's
 * mmap threshold (SRV_MMAP_THRESHOLD, fixed): the answer is mapped on its
 * own, grown by mremap and unmapped when freed, and never leaves pages in
 * the worker thread's heap (glibc trims a thread's heap only past its
 * trim threshold: 136-140 KiB stayed resident per worker thread after a
 * matrix written to a memory stream). */
static int grow(struct subcommand_output *b, const char *p, size_t n)
{
    if (b->len + n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : SUBCOMMAND_FIRST_BLOCK;
        while (cap < b->len + n + 2)
            cap *= 2;
        char *q = realloc(b->data, cap);
        if (!q)
            return -1;
        b->data = q;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* Whether the child is to be killed now: SUBCOMMAND_LATE past `until`,
 * SUBCOMMAND_STOPPED past *stop_at_ms, else 0. */
static int cut(const struct subcommand *c, int64_t until)
{
    int64_t now = now_ms();
    long long at = c->stop_at_ms ? atomic_load(c->stop_at_ms) : 0;
    return at && now >= at ? SUBCOMMAND_STOPPED
           : now >= until  ? SUBCOMMAND_LATE
                           : 0;
}

/* Whether the client of c's request is gone, poll having said revents of
 * its connection (watched for POLLRDHUP alone): the peer shut its side
 * down (an end of file, after any bytes still unread: requests it
 * pipelined behind this one cannot be followed by more, and a client that
 * only shut down writing is treated as gone, server/README.md), or the
 * connection failed (reset). Bytes arriving on an open connection say
 * nothing and do not wake poll. *watch goes false when fd is no
 * descriptor (never so while suspended). */
static bool client_gone(short revents, bool *watch)
{
    if (revents & POLLNVAL)
        *watch = false;
    return *watch && (revents & (POLLRDHUP | POLLHUP | POLLERR));
}

int subcommand_run(const struct subcommand *c, char *diag, size_t dsize)
{
    /* struere --quiet --store PATH ARGS... */
    const char *argv[16] = {"struere", "--quiet", "--store", c->store};
    size_t n = 4;
    for (size_t i = 0; c->args[i]; i++) {
        if (n == sizeof(argv) / sizeof(*argv) - 1) {
            snprintf(diag, dsize, "too many arguments for struere");
            return SUBCOMMAND_FAILED;
        }
        argv[n++] = c->args[i];
    }
    argv[n] = NULL;
    diag[0] = '\0';
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    pid_t pid;
    int rc;
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
        rc = errno;
    else
        rc = spawn(&pid, argv, po[1], pe[1], c->own_group);
    if (po[1] >= 0)
        close(po[1]);
    if (pe[1] >= 0)
        close(pe[1]);
    if (rc) {
        if (po[0] >= 0)
            close(po[0]);
        if (pe[0] >= 0)
            close(pe[0]);
        snprintf(diag, dsize, "cannot run struere: %s", strerror(rc));
        return SUBCOMMAND_FAILED;
    }
    /* both pipes read until the child closes them, then the child waited
     * for, within `seconds`; a child that takes longer, or still runs when
     * serve is about to stop, is killed */
    size_t dlen = 0, written = 0;
    char buf[16384];
    int64_t until = now_ms() + 1000 * (int64_t)c->seconds;
    bool watch = c->watch_client && c->client_fd >= 0;
    struct pollfd p[3] = {{po[0], POLLIN, 0},
                          {pe[0], POLLIN, 0},
                          {watch ? c->client_fd : -1, POLLRDHUP, 0}};
    const char *why = NULL; /* why the child was killed */
    int result = 0;
    struct compact json = {false, false};
    while (!why && (p[0].fd >= 0 || p[1].fd >= 0)) {
        if ((result = cut(c, until))) {
            why = result == SUBCOMMAND_LATE ? "late" : "serve is stopping";
            break;
        }
        p[2].fd = watch ? c->client_fd : -1;
        int k = poll(p, 3, 200);
        if (k < 0 && errno != EINTR) {
            why = "cannot wait for its output";
            result = SUBCOMMAND_FAILED;
            break;
        }
        if (k > 0 && watch && client_gone(p[2].revents, &watch)) {
            why = "its client went away";
            result = SUBCOMMAND_GONE;
            break;
        }
        for (int i = 0; i < 2 && k > 0 && !why; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t got = read(p[i].fd, buf, sizeof(buf));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
            } else if (i == 0) {
                size_t len = c->compact_json ? compact(&json, buf, (size_t)got)
                                             : (size_t)got;
                written += len;
                if (written > SUBCOMMAND_OUTPUT_MAX) {
                    why = "its output is larger than the limit";
                    result = SUBCOMMAND_FAILED;
                } else if (c->out && grow(c->out, buf, len) < 0) {
                    why = "out of memory";
                    result = SUBCOMMAND_NOMEM;
                }
            } else if (dsize > 1) {
                size_t room = dsize - 1 - dlen;
                size_t take = (size_t)got < room ? (size_t)got : room;
                memcpy(diag + dlen, buf, take);
                dlen += take;
                diag[dlen] = '\0';
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    /* a child that closed its output may still run: waited for within
     * the same time */
    int status = 0;
    pid_t w = 0;
    while (!why) {
        w = waitpid(pid, &status, WNOHANG);
        if (w != 0 && !(w < 0 && errno == EINTR))
            break;
        if ((result = cut(c, until))) {
            why = result == SUBCOMMAND_LATE ? "late" : "serve is stopping";
            break;
        }
        p[2].fd = watch ? c->client_fd : -1;
        if (poll(&p[2], 1, 20) > 0 && watch &&
            client_gone(p[2].revents, &watch)) {
            why = "its client went away";
            result = SUBCOMMAND_GONE;
        }
    }
    if (why) {
        /* its group: whatever it started too */
        kill(c->own_group ? -pid : pid, SIGKILL);
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
    }
    if (why) {
        if (result == SUBCOMMAND_LATE)
            snprintf(diag, dsize, "took more than %u s", c->seconds);
        else
            snprintf(diag, dsize, "%s", why);
        return result;
    }
    if (w < 0) {
        snprintf(diag, dsize, "cannot wait for struere: %s", strerror(errno));
        return SUBCOMMAND_FAILED;
    }
    if (WIFSIGNALED(status)) {
        snprintf(diag, dsize, "struere stopped by signal %d", WTERMSIG(status));
        return SUBCOMMAND_FAILED;
    }
    if (WEXITSTATUS(status)) {
        /* the first line, without the program's name: the message */
        char *nl = strchr(diag, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(diag, "struere: ", 9))
            memmove(diag, diag + 9, strlen(diag + 9) + 1);
        if (!diag[0])
            snprintf(diag, dsize, "struere exited %d", WEXITSTATUS(status));
    } else if (c->out && !written) {
        snprintf(diag, dsize, "struere printed nothing");
        return SUBCOMMAND_FAILED;
    }
    return WEXITSTATUS(status);
}

/* A dashboard answer to compute (server.h): the command, copied, and the
 * answer once it ran. */
#define JOB_ARGS 12
struct subcommand_job {
    struct srv *s;
    char what[16];
    char *args[JOB_ARGS]; /* NULL-terminated */
    struct srv_reply reply;
    int client_fd; /* the request's connection; -1: not watched */
    bool gone;     /* its client went away: the child killed, no answer */
    void (*done)(void *);
    void *arg;
};

void subcommand_job_free(struct subcommand_job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < JOB_ARGS && j->args[i]; i++)
        free(j->args[i]);
    if (j->reply.f)
        fclose(j->reply.f);
    free(j->reply.body);
    free(j);
}

void subcommand_job_cancel(struct subcommand_job *j)
{
    struct srv *s = j->s;
    subcommand_job_free(j);
    atomic_fetch_sub(&s->job_threads, 1);
    atomic_fetch_sub(&s->children, 1);
}

struct srv_reply *subcommand_job_reply(struct subcommand_job *j)
{
    return &j->reply;
}

bool subcommand_job_gone(const struct subcommand_job *j)
{
    return j->gone;
}

void subcommand_answer(struct srv *s, struct srv_reply *r, const char *what,
                       const char *const args[])
{
    /* a few at once, each a process */
    if (atomic_fetch_add(&s->children, 1) >= SRV_DASHBOARD_CHILDREN) {
        atomic_fetch_sub(&s->children, 1);
        reply_error(r, 503, "busy",
                    "%d dashboard answers are being computed; ask again "
                    "in a moment",
                    SRV_DASHBOARD_CHILDREN);
        return;
    }
    /* Once the drain began, no job: the main thread waits for the job
     * threads (job_threads, counted from here on) before it stops
     * libmicrohttpd, and a job begun after that wait would resume its
     * connection on a daemon gone. It stores stop_at_ms before it reads
     * the count, this thread counts before it reads stop_at_ms: one of
     * the two sees the other. */
    atomic_fetch_add(&s->job_threads, 1);
    if (atomic_load(&s->stop_at_ms)) {
        atomic_fetch_sub(&s->job_threads, 1);
        atomic_fetch_sub(&s->children, 1);
        reply_error(r, 503, "stopping", "%s: serve is stopping", what);
        return;
    }
    struct subcommand_job *j = calloc(1, sizeof(*j));
    bool ok = j != NULL;
    for (size_t i = 0; ok && args[i]; i++)
        ok = i + 1 < JOB_ARGS && (j->args[i] = strdup(args[i]));
    if (!ok) {
        subcommand_job_free(j);
        atomic_fetch_sub(&s->job_threads, 1);
        atomic_fetch_sub(&s->children, 1);
        srv_out_of_memory();
        return;
    }
    j->s = s;
    snprintf(j->what, sizeof(j->what), "%s", what);
    j->reply = *r; /* its status, type and headers; a body of its own */
    j->reply.f = NULL;
    j->reply.body = NULL;
    j->reply.len = 0;
    j->reply.job = NULL;
    r->job = j;
}

/* Runs j's command and makes its answer (no stream left open). */
static void job_run(struct subcommand_job *j)
{
    struct srv *s = j->s;
    struct srv_reply *r = &j->reply;
    const char *what = j->what;
    char diag[1024] = "";
    struct subcommand_output out = {NULL, 0, 0};
    struct subcommand c = {.store = s->store_path,
                           .args = (const char *const *)j->args,
                           .seconds = s->request_seconds,
                           .stop_at_ms = &s->stop_at_ms,
                           .out = &out,
                           .compact_json = true,
                           .own_group = true,
                           .watch_client = j->client_fd >= 0,
                           .client_fd = j->client_fd};
    int rc = atomic_load(&s->stop_at_ms)
                 ? SUBCOMMAND_STOPPED
                 : subcommand_run(&c, diag, sizeof(diag));
    if (rc == SUBCOMMAND_STOPPED && !diag[0])
        snprintf(diag, sizeof(diag), "serve is stopping");
    if (rc == 0) {
        /* the answer is the output's block itself (freed by
         * libmicrohttpd once sent), not a copy in the memory stream */
        out.data[out.len++] = '\n';
        if (r->f)
            fclose(r->f);
        r->f = NULL;
        free(r->body);
        r->body = out.data;
        r->len = out.len;
        return;
    }
    free(out.data);
    if (rc == SUBCOMMAND_GONE) {
        j->gone = true; /* no answer: nothing is sent (http.c) */
        return;
    }
    if (rc == SUBCOMMAND_NOMEM)
        reply_oom(r);
    else if (rc == SUBCOMMAND_LATE)
        reply_error(r, 503, "timeout", "%s %s", what, diag);
    else if (rc == SUBCOMMAND_STOPPED)
        reply_error(r, 503, "stopping", "%s: %s", what, diag);
    else if (rc == SUBCOMMAND_FAILED)
        reply_error(r, 500, "internal", "%s: %s", what, diag);
    else if (rc == 1) /* what the store holds is refused */
        reply_error(r, 500, "invalid", "%s: %s", what, diag);
    else if (rc)
        reply_error(r, 500, "store", "%s: %s", what, diag);
    if (r->f) { /* the body complete, its address stable */
        bool whole = srv_stream_close(r->f, &r->oom);
        r->f = NULL;
        if (!whole)
            reply_oom(r);
    }
}

/* The job, then done; j is not touched after done (its caller may have
 * freed it). The child is gone before done: a request asked again as soon
 * as this one is answered is not busy. The count of job threads goes down
 * last: serve's drain waits for it before it stops libmicrohttpd. */
static void job_finish(struct subcommand_job *j)
{
    struct srv *s = j->s;
    job_run(j);
    atomic_fetch_sub(&s->children, 1);
    j->done(j->arg);
    atomic_fetch_sub(&s->job_threads, 1);
}

static void *job_thread(void *arg)
{
    job_finish(arg);
    return NULL;
}

void subcommand_job_start(struct subcommand_job *j, int client_fd,
                          void (*done)(void *), void *arg)
{
    j->client_fd = client_fd;
    j->done = done;
    j->arg = arg;
    pthread_attr_t at;
    pthread_t t;
    bool started = false;
    if (pthread_attr_init(&at) == 0) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &at, job_thread, j) == 0;
        pthread_attr_destroy(&at);
    }
    if (!started) /* as before there were threads for it: here */
        job_finish(j);
}
