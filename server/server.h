/*
 * server.h - `struere serve`, the runtime over HTTP (DESIGN §11): what
 * compiler/cmd_serve.c calls, and what the server's modules share. The
 * modules: http.c (libmicrohttpd, limits, signals), deadline.c (the
 * request deadline's 408), request.c (the routes
 * table and the request parsing, fuzzed), api.c (the /v1 answers),
 * envs.c (the loaded bundles, reference counted, and the follower that
 * swaps them), actors.c (the actors a loaded bundle keeps), metrics.c,
 * declog.c (the decision log), dashboard.c, subcommand.c (struere's own
 * commands as a child process: --follow's fetches, the dashboard's
 * access, history and comparison).
 */
#ifndef STRUERE_SERVER_H
#define STRUERE_SERVER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../runtime/src/rt_state.h"
#include "struere.h"

/* Every limit of the server, with its reason. */
/* A request body: the largest answer-worthy request (a batch of
 * SRV_BATCH_MAX questions with records) fits; more is 413. */
#define SRV_BODY_MAX (1024 * 1024)
/* Questions in one POST /v1/authorize/batch: bounds the time one request
 * holds a worker thread (about a millisecond at 1,000). */
#define SRV_BATCH_MAX 1000
/* Per-connection memory for the request line and headers (libmicrohttpd's
 * pool, its default size): a request line and headers of about 32 KiB
 * fit, far more than any client sends; more is 431. libmicrohttpd zeroes
 * the pool between the requests of a connection: at 64 KiB that memset
 * was 6% of serve's time under load, at 32 KiB 2.6%. */
#define SRV_HEADER_MEMORY (32 * 1024)
/* Connections at once (--max-connections): each costs a descriptor and
 * a pool. Capped by the descriptor limit at start. */
#define SRV_CONNECTIONS_MAX 8192
/* Connections past the limit that are still read, so that their request
 * gets 503 with Retry-After (and the connection is closed) instead of a
 * silent close; past these too, libmicrohttpd closes new connections at
 * accept. */
#define SRV_CONNECTIONS_SPARE 64
/* A connection idle (a slow client sending nothing) this many seconds is
 * closed: frees the slot a slowloris would hold. */
#define SRV_IDLE_SECONDS 10
/* A request (line, headers and body) must arrive within this many seconds
 * of its connection opening or the previous answer (--request-timeout);
 * later is 408 (deadline.c): a client sending a byte now and then never
 * trips the idle limit, and would hold its connection for ever. A shorter
 * deadline shortens the idle limit to a second less, so that an idle
 * keep-alive connection is closed quietly rather than answered 408. */
#define SRV_REQUEST_SECONDS 30
/* Seconds SIGTERM waits for requests in flight before stopping anyway. */
#define SRV_DRAIN_SECONDS 20
/* Decision log lines waiting for the writer; beyond, lines are dropped
 * (counted in /metrics) rather than slowing answers. */
#define SRV_DECLOG_QUEUE 65536
/* A fetch of --follow's remote (`struere fetch`, a child process) that
 * takes longer is killed and tried again at the next interval: a remote
 * that stops answering would otherwise stop the follower for good. */
#define SRV_FETCH_SECONDS 300
/* Dashboard answers computed at once, each a child process (the access
 * matrix at 10,000 definitions takes 0.4 s and 29 MB) waited for by a
 * thread of its own, its connection suspended meanwhile (no worker thread
 * is held): the page's three (access, history, compare); more are 503
 * busy (the page asks again) rather than a process each. */
#define SRV_DASHBOARD_CHILDREN 3
/* How often the store's refs are looked at (milliseconds). */
#define SRV_POLL_MS 200
/* A load that ran out of memory is tried again after a round, then after
 * twice as long each time it runs out again, up to this (milliseconds):
 * a server short of memory for good does not spend it reloading five
 * times a second. A ref that moves, or SIGHUP, loads at once. */
#define SRV_RETRY_MAX_MS 10000
/* Requests answered since the last trim of freed memory for a quiet round
 * to trim again (envs.c, trim_if_due): a few requests free too little to
 * be worth a walk of every heap. */
#define SRV_TRIM_REQUESTS 1000
/* Allocations from this size on are mapped on their own and unmapped when
 * freed (glibc's default, made fixed: see srv_run). */
#define SRV_MMAP_THRESHOLD (128 * 1024)

struct srv_config {
    const char *host; /* listen address (numeric IPv4/IPv6) */
    unsigned port;    /* 0: any free port (printed) */
    const char *store;
    const char *follow; /* a remote to fetch from, or NULL */
    unsigned interval;  /* --follow: seconds between fetches */
    const char *decision_log;
    bool dashboard;
    const char *dashboard_token; /* when dashboard */
    const char *trust;
    const char *state; /* --state FILE: what runs accepted (TRUST.md §6) */
    unsigned threads;
    unsigned max_connections; /* 0: SRV_CONNECTIONS_MAX */
    unsigned request_timeout; /* seconds; 0: SRV_REQUEST_SECONDS */
};

/* Serves until SIGTERM or SIGINT (then drains and returns 0). Prints
 * "listening on http://ADDR:PORT" on stderr once ready. Returns 0, or -1
 * with a message in err. */
int srv_run(const struct srv_config *cfg, char *err, size_t errsize);

/* ---- the loaded bundles (envs.c) ---- */

/* One environment's bundle as loaded: freed when the last request that
 * holds it releases it. */
struct srv_loaded {
    struere_runtime *rt;
    struct srv_actors *actors; /* made on rt, kept (actors.h) */
    atomic_int refs;
    int env;
    char commit[41];
    int64_t loaded_at; /* seconds since the epoch */
};

struct srv_keys {
    struere_keyring *kr;
    atomic_int refs;
    char commit[41];
};

struct srv_env {
    pthread_mutex_t mu;
    struct srv_loaded *cur; /* NULL until a bundle loaded */
    char seen[41];          /* the ref's commit last tried */
    char error[512];        /* why the last try failed, "" if it did not */
    atomic_ulong reloads, failed;
};

struct srv_metrics;
struct srv_declog;
struct srv_deadline;

struct srv {
    struct srv_config cfg;
    struere_open_options opts;
    char store_path[4096];
    struct srv_env envs[4]; /* by STRUERE_ENV_* */
    pthread_mutex_t keys_mu;
    /* bumped under keys_mu whenever `keys` is replaced (envs.c's memo of
     * keys let in holds only for one generation) */
    uint64_t keys_gen;
    struct srv_keys *keys;
    char keys_error[512];
    void *refs; /* envs.c: the ids of the refs last looked at */
    /* What this run accepted (runtime/src/rt_state.h): no environment,
     * trust policy or key record goes back to an older one. Used by the
     * loads, which run on one thread at a time (envs_init, then the
     * follower). */
    struct rt_state seen;
    atomic_int reload_now, stopping;
    pthread_t follower;
    bool follower_started;
    struct srv_metrics *metrics;
    struct srv_declog *declog;
    atomic_long inflight;
    atomic_int trim_now;      /* a large dashboard answer: trim this round */
    atomic_int children;      /* dashboard answers being computed */
    atomic_int job_threads;   /* their threads, until done with them */
    atomic_llong stop_at_ms;  /* CLOCK_MONOTONIC: child processes killed
                                 from then on (SIGTERM's drain); 0 none */
    atomic_long connections;  /* open now */
    unsigned max_connections; /* answered beyond: 503 */
    struct srv_deadline *deadline;
    unsigned request_seconds; /* the request deadline */
};

/* Loads what the store holds now (every environment, the keys). */
void envs_init(struct srv *s);
/* Starts the thread that follows the refs (and fetches with --follow). */
int envs_start(struct srv *s, char *err, size_t errsize);
void envs_stop(struct srv *s);
void envs_free(struct srv *s);
/* The environment's loaded bundle, held until srv_release; NULL when
 * none is loaded. */
struct srv_loaded *envs_acquire(struct srv *s, int env);
void envs_release(struct srv_loaded *l);
/* The key check: 0 and *env, or the library's code: STRUERE_ESTORE only
 * when the last load of the key records failed (no key is accepted then,
 * not even one the records before it let in); STRUERE_EKEY when none were
 * ever loaded or the store has none. */
int envs_check_key(struct srv *s, const char *key, int *env);
/* Whether the environment has a bundle loaded and its last try did not
 * fail; a copy of its error. */
bool envs_ready(struct srv *s, int env, char *error, size_t size);

/* ---- metrics (metrics.c) ---- */

int metrics_new(struct srv_metrics **out);
void metrics_free(struct srv_metrics *m);
/* One answered request: its route label (request.c's), status, seconds. */
void metrics_request(struct srv_metrics *m, int route, int status,
                     double seconds);
void metrics_decision(struct srv_metrics *m, int env, bool allowed);
void metrics_declog_dropped(struct srv_metrics *m);
/* Requests answered so far (every route and status). */
unsigned long metrics_requests(struct srv_metrics *m);
/* The Prometheus text exposition, malloc'd. */
char *metrics_render(struct srv *s, size_t *len);

/* ---- the request deadline (deadline.c) ---- */

struct srv_conn;
/* Starts the thread that answers 408 to connections whose request is late
 * (a late head is counted in metrics there; a late body when its request
 * completes). */
int deadline_start(struct srv_deadline **out, unsigned seconds,
                   struct srv_metrics *metrics, char *err, size_t errsize);
/* Stops the thread; after the daemon has stopped. NULL is a no-op. */
void deadline_stop(struct srv_deadline *d);
/* A connection opened on socket fd (its clock starts), or closed (before
 * its descriptor is). NULL (out of memory) is a connection without one. */
struct srv_conn *deadline_conn_open(struct srv_deadline *d, int fd);
void deadline_conn_close(struct srv_deadline *d, struct srv_conn *c);
/* The handler's first call (the headers are in; the body follows): false
 * when the request was answered 408 already (close the connection). */
bool deadline_request_begins(struct srv_conn *c);
/* Before an answer is queued: false when the request was answered 408
 * meanwhile (close the connection instead). */
bool deadline_answering(struct srv_conn *c);
/* Whether the request in progress is past the deadline (a late piece of
 * body). */
bool deadline_expired(const struct srv_deadline *d, struct srv_conn *c);
/* Answers the request in its body 408 on its socket, unless that was
 * done already; the handler then closes the connection. */
void deadline_answer(struct srv_deadline *d, struct srv_conn *c);
/* Whether the connection's request was answered 408 (for the metrics). */
bool deadline_was_answered(const struct srv_conn *c);
/* The answer went out: the next request's clock starts. */
void deadline_request_ends(struct srv_conn *c);

/* ---- decision log (declog.c) ---- */

int declog_open(struct srv_declog **out, const char *path, char *err,
                size_t errsize);
/* Queues one line (copied; a newline is added); false when the queue is
 * full and the line dropped. */
bool declog_write(struct srv_declog *d, const char *line, size_t len);
/* Writes what is queued, stops the writer, closes. NULL is a no-op. */
void declog_close(struct srv_declog *d);

/* ---- answers ---- */

/* What a handler answers: status, body (a memory stream), headers. */
struct subcommand_job;
struct srv_reply {
    int status;
    FILE *f;
    char *body;
    size_t len;
    const char *ctype;
    const char *allow; /* for 405 */
    int env;           /* Struere-Environment, 0 none */
    char commit[41];   /* Struere-Commit */
    bool close;        /* Connection: close after the answer */
    bool oom;          /* answered as out of memory (reply_oom) */
    /* A child to run before the answer (subcommand_answer): http.c runs
     * it on a thread of its own, its connection suspended meanwhile. */
    struct subcommand_job *job;
};

/* A stream that writes into *body (malloc'd, NUL-terminated; NULL until
 * something is written) and *len, growing as it is written, as
 * open_memstream's does; but when memory to grow cannot be had, *failed
 * is set and that write and every later one fail (stream.c). NULL, with
 * *failed set, when the stream cannot be opened. */
FILE *srv_stream(char **body, size_t *len, bool *failed);
/* Closes f: true when everything written is in the body. */
bool srv_stream_close(FILE *f, const bool *failed);

/* Sets an error answer {"error":{"code","message"}}. */
void reply_error(struct srv_reply *r, int status, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sets the answer to running out of memory: 500 {"error":{"code":
 * "internal","message":"out of memory"}}, from memory of its own,
 * whatever was written before. */
void reply_oom(struct srv_reply *r);
/* Says that the request being answered on this thread ran out of memory
 * somewhere (a call that returned STRUERE_ENOMEM, an allocation that
 * failed): its answer is then reply_oom's, whatever was built. jansson's
 * failures are counted without it (jsonmem.h). */
void srv_out_of_memory(void);

struct srv_route;
/* The /v1 answers (api.c): the key already checked, `l` the key's
 * environment's bundle. */
void api_answer(struct srv *s, const struct srv_route *rt, struct srv_loaded *l,
                const char *body, size_t len, struct srv_reply *r);
/* The dashboard's answers (dashboard.c), token already checked. */
void dashboard_answer(struct srv *s, const struct srv_route *rt,
                      struct srv_reply *r);
/* ---- struere's own commands, run as a child process (subcommand.c) ---- */
/* An answer a child prints: the access matrix at 10,000 definitions is
 * 4.7 MB (compacted); more than fifty times that is a store no dashboard
 * page can show. */
#define SUBCOMMAND_OUTPUT_MAX (256u * 1024 * 1024)
#define SUBCOMMAND_FAILED (-1)
#define SUBCOMMAND_LATE (-2)
#define SUBCOMMAND_STOPPED (-3)
#define SUBCOMMAND_GONE (-4)
#define SUBCOMMAND_NOMEM (-5) /* no memory for its output: killed */
/* A child's output, malloc'd (data may be NULL when len is 0). */
struct subcommand_output {
    char *data;
    size_t len, cap;
};
/* The output's first block: above SRV_MMAP_THRESHOLD (subcommand.c). */
#define SUBCOMMAND_FIRST_BLOCK (256 * 1024)
/* `struere --quiet --store STORE ARGS...`, run in / (STORE and every path
 * in ARGS absolute). */
struct subcommand {
    const char *store;
    const char *const *args; /* NULL-terminated, at most 11 */
    unsigned seconds;        /* then it is killed: SUBCOMMAND_LATE */
    /* CLOCK_MONOTONIC milliseconds from which it is killed
     * (SUBCOMMAND_STOPPED) when not 0; NULL: none */
    const atomic_llong *stop_at_ms;
    struct subcommand_output *out; /* appended to (room for one byte
                                      more); NULL: dropped */
    bool compact_json; /* its JSON without the whitespace between tokens */
    bool own_group;    /* in a process group of its own (killed with it) */
    /* The connection of the request it answers (watch_client): when its
     * client has closed it (its end of the stream has come, behind any
     * bytes not read yet, or the connection was reset), the child is
     * killed (SUBCOMMAND_GONE), its answer having no one to go to. A
     * client that half-closes its connection after its request (shutdown
     * for writing) counts as gone too. */
    bool watch_client;
    int client_fd;
};
/* Runs c: its output appended to c->out, its diagnostics' first line (without
 * "struere: ") to diag (dsize >= 1). Returns its exit status; or
 * SUBCOMMAND_LATE, SUBCOMMAND_STOPPED, SUBCOMMAND_GONE or SUBCOMMAND_NOMEM
 * (killed); or SUBCOMMAND_FAILED:
 * not run, stopped by a signal, output past SUBCOMMAND_OUTPUT_MAX, or none
 * at all when c->out wants some (diag says which). */
int subcommand_run(const struct subcommand *c, char *diag, size_t dsize);
/* The answer is what the command prints, computed once the request is in,
 * within --request-timeout: its JSON when it exits 0; else 500, "invalid"
 * when it exits 1 (what the store holds does not verify), "store" for
 * another exit status, "internal" when it did not run, was stopped by a
 * signal or printed nothing, with `what` and its first diagnostic; 503
 * "timeout" when it takes longer (it is killed), "stopping" when it still
 * runs two seconds before SIGTERM's drain ends, "busy" at once when
 * SRV_DASHBOARD_CHILDREN are running.
 *
 * It is not run here: r->job is set (or r answered at once: busy,
 * stopping once SIGTERM's drain began, out of memory), and the caller
 * hands the job to subcommand_job_start. A child takes up to
 * --request-timeout; run by the worker thread that read the request, it
 * held up every other connection of that thread (libmicrohttpd gives each
 * connection to one thread): an API client's kept-alive connections, the
 * page's other requests. */
void subcommand_answer(struct srv *s, struct srv_reply *r, const char *what,
                       const char *const args[]);
/* Runs j on a thread of its own: done(arg) is called there once j's
 * answer is in subcommand_job_reply (its body complete, no stream open),
 * or once its client has gone (subcommand_job_gone). client_fd: the
 * request's connection, watched meanwhile (libmicrohttpd does not watch
 * a suspended connection, and a page closed would otherwise hold one of
 * the SRV_DASHBOARD_CHILDREN places until --request-timeout); -1: not
 * watched. When no thread can be started, j runs here and done is called
 * before this returns. j is the caller's to free (subcommand_job_free)
 * once done has been called, and never before. */
void subcommand_job_start(struct subcommand_job *j, int client_fd,
                          void (*done)(void *), void *arg);
struct srv_reply *subcommand_job_reply(struct subcommand_job *j);
/* Whether j's client closed its connection before the answer was ready
 * (the child killed): there is nothing to send. */
bool subcommand_job_gone(const struct subcommand_job *j);
/* Frees j and its answer's body (NULL: nothing). */
void subcommand_job_free(struct subcommand_job *j);
/* Frees j, made by subcommand_answer but never started (the request ran
 * out of memory meanwhile), and gives back its places. */
void subcommand_job_cancel(struct subcommand_job *j);
/* server/dashboard/index.html is embedded_dashboard[0] (embedded.h),
 * written at build time by scripts/embed.sh. */

#endif
