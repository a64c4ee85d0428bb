/*
 * http.c - `struere serve`'s HTTP layer on libmicrohttpd: the daemon and
 * its limits, one request's life (route, key or dashboard token, body,
 * answer, metrics), the probes (/health, /ready, /metrics), and the
 * signals (SIGTERM/SIGINT drain and exit, SIGHUP reloads now).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/src/rt_crypto.h"
#include "embedded.h"
#include "jsonmem.h"
#include "mhd.h"

extern const struct embedded_file embedded_dashboard[];
#include "request.h"
#include "rtout.h"
#include "server.h"
#include "utf8.h"

/* One request in progress. */
struct req {
    struct srv_route route;
    int parsed; /* route_parse's status */
    const char *allow;
    struct timespec start;
    char *body;
    size_t len, cap;
    bool too_big, answered;
    bool oom;     /* memory for its body could not be had */
    bool claimed; /* the deadline clock stopped: the request is in */
    int status;
    int env;
    struct srv_conn *conn; /* its connection's deadline clock */
    /* A dashboard answer computed by a child (subcommand.h): the
     * connection is suspended until it is done. */
    struct subcommand_job *job;
};

/* The request of a connection whose own could not be allocated: already
 * answered (500 out of memory), never written. */
static struct req oom_request;

/* The deadline clock libmicrohttpd keeps for c (connection_notify's). */
static struct srv_conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        mhd.get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* s with every byte that is not part of valid UTF-8 (or a control
 * character) replaced by '?', in place: a message may quote a client's
 * bytes. */
static void utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        size_t n = rt_utf8_seq(p, end);
        if (!n || (n == 1 && *p < 0x20)) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void reply_error(struct srv_reply *r, int status, const char *code,
                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_clean(msg);
    /* a fresh body: whatever was written before is not the answer */
    if (r->f)
        fclose(r->f);
    free(r->body);
    r->body = NULL;
    r->len = 0;
    r->f = srv_stream(&r->body, &r->len, &r->oom);
    r->status = status;
    if (!r->f)
        return;
    /* written as jansson writes it ({"error":{"code":..,"message":..}}),
     * without building a tree that could lose a member */
    fputs("{\"error\":{\"code\":", r->f);
    rtout_json_string(r->f, code);
    fputs(",\"message\":", r->f);
    rtout_json_string(r->f, msg);
    fputs("}}\n", r->f);
}

/* What is answered when memory runs out: from memory of its own. */
static const char oom_body[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}\n";

void reply_oom(struct srv_reply *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
    free(r->body);
    r->body = NULL;
    r->len = 0;
    r->status = 500;
    r->ctype = NULL;
    r->env = 0;
    r->oom = true;
}

/* Failures to allocate on this thread that the request's code saw
 * (srv_out_of_memory) or jansson's (jsonmem.h): a request during which
 * either count moves is answered as out of memory, whatever it built. */
static _Thread_local unsigned long oom_seen;

void srv_out_of_memory(void)
{
    oom_seen++;
}

static unsigned long oom_count(void)
{
    return oom_seen + json_mem_thread_failures();
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) +
           (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Sends r (its body handed to libmicrohttpd). */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct req *q,
                                  struct srv_reply *r)
{
    /* a stream that could not grow holds less than was written */
    if (r->f) {
        bool whole = srv_stream_close(r->f, &r->oom);
        r->f = NULL;
        if (!whole)
            reply_oom(r);
    }
    if (!q->claimed && !deadline_answering(q->conn)) {
        free(r->body); /* answered 408 meanwhile (deadline.c) */
        return MHD_NO;
    }
    if (r->oom) { /* also set by a stream that could not be opened */
        reply_oom(r);
        r->len = sizeof(oom_body) - 1;
    }
    struct MHD_Response *resp = mhd.create_response_from_buffer(
        r->len, r->body ? r->body : (void *)(r->oom ? oom_body : ""),
        r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    r->body = NULL;
    mhd.add_response_header(resp, "Content-Type",
                            r->ctype ? r->ctype : "application/json");
    mhd.add_response_header(resp, "Cache-Control", "no-store");
    mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->ctype && !strncmp(r->ctype, "text/html", 9)) {
        /* The page: no framing (clickjacking), nothing loaded from
         * elsewhere, its API on this origin only (as its meta tag says,
         * which cannot forbid framing). */
        mhd.add_response_header(resp, "X-Frame-Options", "DENY");
        mhd.add_response_header(
            resp, "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src "
            "'unsafe-inline'; connect-src 'self'; img-src data:; base-uri "
            "'none'; form-action 'none'; frame-ancestors 'none'");
    }
    if (r->env) {
        mhd.add_response_header(resp, "Struere-Environment",
                                struere_env_name(r->env));
        mhd.add_response_header(resp, "Struere-Commit", r->commit);
    }
    if (r->allow)
        mhd.add_response_header(resp, "Allow", r->allow);
    if (r->status == 401)
        mhd.add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (r->status == 503)
        mhd.add_response_header(resp, "Retry-After", "1");
    if (r->close)
        mhd.add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = mhd.queue_response(c, (unsigned)r->status, resp);
    mhd.destroy_response(resp);
    q->status = r->status;
    q->env = r->env;
    q->answered = true;
    return ok;
}

/* A reply begun: 200 and an empty body, or (no memory for its stream)
 * the answer to running out of memory. */
static void reply_open(struct srv_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 200;
    r->f = srv_stream(&r->body, &r->len, &r->oom);
    if (!r->f)
        reply_oom(r);
}

/* /ready: every environment whose branch exists is loaded and its last
 * try verified; the keys are loaded. */
static void ready(struct srv *s, struct srv_reply *r)
{
    json_t *envs = json_object();
    bool all = true, any = false;
    for (int env = 1; env <= 3; env++) {
        char err[512];
        struct srv_env *e = &s->envs[env];
        bool ok = envs_ready(s, env, err, sizeof(err));
        pthread_mutex_lock(&e->mu);
        bool branch = e->seen[0] != 0;
        pthread_mutex_unlock(&e->mu);
        struct srv_loaded *l = envs_acquire(s, env);
        any |= l != NULL;
        if (branch && !ok)
            all = false;
        json_object_set_new(envs, struere_env_name(env),
                            json_pack("{s:o, s:b, s:o}", "commit",
                                      l ? json_string(l->commit) : json_null(),
                                      "ready", branch ? ok : 0, "error",
                                      err[0] ? json_string(err) : json_null()));
        envs_release(l);
    }
    pthread_mutex_lock(&s->keys_mu);
    bool keys = s->keys != NULL;
    json_t *kerr = s->keys_error[0] ? json_string(s->keys_error) : json_null();
    pthread_mutex_unlock(&s->keys_mu);
    bool ok = all && any && keys;
    json_t *j =
        json_pack("{s:b, s:o, s:{s:b, s:o}}", "ready", ok, "environments", envs,
                  "keys", "loaded", keys, "error", kerr);
    rtout_json_line(r->f, j);
    json_decref(j);
    r->status = ok ? 200 : 503;
}

/* Constant-time comparison of the dashboard token. */
static bool token_ok(const char *want, const char *got, size_t n)
{
    size_t wn = strlen(want);
    unsigned char d = (unsigned char)(wn != n);
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(got[i] ^ want[i % (wn ? wn : 1)]);
    return !d && wn;
}

static const char *key_code(int rc)
{
    switch (rc) {
    case STRUERE_EREVOKED:
        return "revoked_key";
    case STRUERE_EEXPIRED:
        return "expired_key";
    default:
        return "invalid_key";
    }
}

/* Answers the request q into r: the headers are in, and the body when
 * the route takes one. */
static void answer(struct srv *s, struct MHD_Connection *c, struct req *q,
                   struct srv_reply *r)
{
    enum srv_route_id id = q->route.id;
    if (q->parsed == 404 ||
        ((id == ROUTE_ROOT || route_is_dashboard(id)) && !s->cfg.dashboard)) {
        reply_error(r, 404, "not_found", "no such route");
        return;
    }
    if (q->parsed == 405) {
        reply_error(r, 405, "method_not_allowed", "this route answers %s only",
                    q->allow);
        r->allow = q->allow;
        return;
    }
    if (id == ROUTE_HEALTH) {
        fputs("{\"status\":\"ok\"}\n", r->f);
        return;
    }
    if (id == ROUTE_READY) {
        ready(s, r);
        return;
    }
    if (id == ROUTE_METRICS) {
        size_t n;
        char *m = metrics_render(s, &n);
        if (!m) {
            reply_error(r, 500, "internal", "out of memory");
            return;
        }
        fwrite(m, 1, n, r->f);
        free(m);
        r->ctype = "text/plain; version=0.0.4; charset=utf-8";
        return;
    }
    if (id == ROUTE_ROOT) {
        fwrite(embedded_dashboard[0].text, 1, embedded_dashboard[0].len, r->f);
        r->ctype = "text/html; charset=utf-8";
        return;
    }
    size_t n;
    const char *tok = auth_bearer(
        mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), &n);
    if (route_is_dashboard(id)) {
        if (!tok || !token_ok(s->cfg.dashboard_token, tok, n)) {
            reply_error(r, 401, "unauthorized",
                        "the dashboard API needs Authorization: Bearer "
                        "<the dashboard token struere serve printed>");
            return;
        }
        dashboard_answer(s, &q->route, r);
        return;
    }
    /* /v1: the key picks the environment */
    if (!tok) {
        reply_error(r, 401, "missing_key",
                    "send Authorization: Bearer sk_... (an API key: struere "
                    "keys create --env ENV)");
        return;
    }
    char key[256];
    if (n >= sizeof(key)) {
        reply_error(r, 401, "invalid_key", "this API key is not valid");
        return;
    }
    memcpy(key, tok, n);
    key[n] = 0;
    int env = 0;
    int rc = envs_check_key(s, key, &env);
    memset(key, 0, sizeof(key));
    if (rc == STRUERE_ESTORE) {
        reply_error(r, 503, "keys_unavailable",
                    "the key records could not be loaded, so no key is "
                    "accepted until they can (see /ready)");
        return;
    }
    if (rc < 0) {
        reply_error(r, 401, key_code(rc), "%s",
                    rc == STRUERE_EREVOKED   ? "this API key was revoked"
                    : rc == STRUERE_EEXPIRED ? "this API key has expired"
                                             : "this API key is not valid");
        return;
    }
    if (route_eval_only(id) && env != STRUERE_ENV_EVAL) {
        reply_error(r, 403, "eval_only",
                    "%s reads the eval bundle's fixtures and suites: this is "
                    "a %s key (use an sk_eval_ key)",
                    route_label(id), struere_env_name(env));
        return;
    }
    struct srv_loaded *l = envs_acquire(s, env);
    if (!l) {
        char err[512];
        envs_ready(s, env, err, sizeof(err));
        reply_error(r, 503, "not_loaded", "no %s bundle is loaded%s%s",
                    struere_env_name(env), err[0] ? ": " : "", err);
        return;
    }
    api_answer(s, &q->route, l, q->body, q->len, r);
    r->env = env;
    memcpy(r->commit, l->commit, sizeof(r->commit));
    envs_release(l);
}

/* A suspended connection's job is done (on the job's thread). */
static void resume(void *c)
{
    mhd.resume_connection(c);
}

static bool takes_body(enum srv_route_id id)
{
    return id == ROUTE_AUTHORIZE || id == ROUTE_BATCH || id == ROUTE_PROMPT ||
           id == ROUTE_MODEL || id == ROUTE_EVENTS || id == ROUTE_QUERY ||
           id == ROUTE_ENTITY;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct srv *s = cls;
    struct req *q = *con_cls;
    struct srv_reply r;
    (void)version;
    if (!q) {
        struct srv_conn *conn = conn_of(c);
        if (!deadline_request_begins(conn))
            return MHD_NO; /* answered 408 already (deadline.c) */
        if (!(q = calloc(1, sizeof(*q)))) {
            /* answered at once, the connection closed after it; a body
             * still coming is read into nothing (oom_request) */
            struct req none = {.claimed = true};
            *con_cls = &oom_request;
            r = (struct srv_reply){0};
            reply_oom(&r);
            r.close = true;
            return send_reply(c, &none, &r);
        }
        q->conn = conn;
        clock_gettime(CLOCK_MONOTONIC, &q->start);
        atomic_fetch_add(&s->inflight, 1);
        *con_cls = q;
        q->parsed = route_parse(&q->route, &q->allow, method, url);
        if (atomic_load(&s->connections) > (long)s->max_connections) {
            reply_open(&r);
            reply_error(&r, 503, "too_many_connections",
                        "the server holds at most %u connections at once; "
                        "retry later",
                        s->max_connections);
            r.close = true;
            return send_reply(c, q, &r);
        }
        const char *cl =
            mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > SRV_BODY_MAX) {
            reply_open(&r);
            reply_error(&r, 413, "body_too_large",
                        "a request body holds at most %d bytes", SRV_BODY_MAX);
            return send_reply(c, q, &r);
        }
        return MHD_YES; /* the body (if any) follows, then the last call */
    }
    if (q == &oom_request) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->job && subcommand_job_gone(q->job)) {
        /* resumed with no answer: the client closed the connection while
         * the child ran (counted as a request whose client went away) */
        subcommand_job_free(q->job);
        q->job = NULL;
        return MHD_NO;
    }
    if (q->job) {
        /* resumed: the child's answer (its thread is done with it) */
        struct srv_reply done = *subcommand_job_reply(q->job);
        subcommand_job_reply(q->job)->body = NULL;
        subcommand_job_free(q->job);
        q->job = NULL;
        return send_reply(c, q, &done);
    }
    if (q->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (deadline_expired(s->deadline, q->conn)) {
            /* libmicrohttpd queues no answer before the body is in: the
             * 408 goes on the socket, and the connection is closed */
            deadline_answer(s->deadline, q->conn);
            return MHD_NO;
        }
        if (q->parsed != 200 || !takes_body(q->route.id))
            return MHD_YES; /* a body where none is wanted: ignored */
        if (q->too_big || q->len + n > SRV_BODY_MAX) {
            q->too_big = true;
            return MHD_YES;
        }
        if (q->oom)
            return MHD_YES; /* read, and answered as out of memory */
        if (q->len + n + 1 > q->cap) {
            size_t cap = q->cap ? q->cap : 4096;
            while (cap < q->len + n + 1)
                cap *= 2;
            char *b = realloc(q->body, cap);
            if (!b) {
                q->oom = true;
                return MHD_YES;
            }
            q->body = b;
            q->cap = cap;
        }
        memcpy(q->body + q->len, upload, n);
        q->len += n;
        q->body[q->len] = 0;
        return MHD_YES;
    }
    /* The request is in: the deadline is for its arrival, not for its
     * answer (a dashboard answer is a child process that may take
     * seconds; answered 408 meanwhile, it would be thrown away). */
    if (!deadline_answering(q->conn))
        return MHD_NO; /* answered 408 already (deadline.c) */
    q->claimed = true;
    unsigned long oom_before = oom_count();
    reply_open(&r);
    if (q->too_big)
        reply_error(&r, 413, "body_too_large",
                    "a request body holds at most %d bytes", SRV_BODY_MAX);
    else if (!q->oom && !r.oom)
        answer(s, c, q, &r);
    if (q->oom || oom_count() != oom_before) {
        if (r.job) { /* not started */
            subcommand_job_cancel(r.job);
            r.job = NULL;
        }
        reply_oom(&r);
    }
    if (r.job) {
        /* computed on a thread of its own, this connection suspended
         * meanwhile: the worker thread goes on with its other
         * connections */
        q->job = r.job;
        if (r.f)
            fclose(r.f);
        free(r.body);
        const union MHD_ConnectionInfo *ci =
            mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        int fd = ci ? ci->connect_fd : -1;
        mhd.suspend_connection(c);
        subcommand_job_start(q->job, fd, resume, c);
        return MHD_YES;
    }
    return send_reply(c, q, &r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct srv *s = cls;
    struct req *q = *con_cls;
    deadline_request_ends(conn_of(c));
    if (!q || q == &oom_request) {
        *con_cls = NULL;
        return;
    }
    /* a request cut off before its answer: 408 when the client was too
     * slow, else (the client went away) "other" */
    int status = q->answered ? q->status
                 : deadline_was_answered(q->conn) ||
                         toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED
                     ? 408
                     : 0;
    metrics_request(s->metrics, q->route.id, status, since(&q->start));
    /* a job done whose answer was not sent (the connection ended once
     * resumed) */
    subcommand_job_free(q->job);
    /* the dashboard's large answers: their memory given back (envs.c) */
    if (status == 200 &&
        (q->route.id == ROUTE_D_ACCESS || q->route.id == ROUTE_D_HISTORY ||
         q->route.id == ROUTE_D_COMPARE))
        atomic_store(&s->trim_now, 1);
    free(q->body);
    free(q);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

/* Counts the connections open, for the limit answered with 503, and
 * keeps each one's deadline clock (deadline.c). */
static void connection_notify(void *cls, struct MHD_Connection *c,
                              void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    struct srv *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&s->connections, 1);
        const union MHD_ConnectionInfo *i =
            mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context =
            i ? deadline_conn_open(s->deadline, i->connect_fd) : NULL;
    } else {
        atomic_fetch_sub(&s->connections, 1);
        deadline_conn_close(s->deadline, *socket_context);
        *socket_context = NULL;
    }
}

/* libmicrohttpd's own errors (bad requests it answers itself) are not
 * ours to print on every request. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap;
}

static int listen_addr(const struct srv_config *cfg,
                       struct sockaddr_storage *ss, bool *v6, char *err,
                       size_t errsize)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, cfg->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->port);
        *v6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, cfg->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->port);
        *v6 = true;
        return 0;
    }
    snprintf(err, errsize,
             "--listen %s: not a numeric IPv4 or IPv6 address (e.g. "
             "127.0.0.1:8080 or [::1]:8080)",
             cfg->host);
    return -1;
}

static void srv_free(struct srv *s)
{
    deadline_stop(s->deadline);
    envs_stop(s);
    declog_close(s->declog);
    envs_free(s);
    metrics_free(s->metrics);
}

int srv_run(const struct srv_config *cfg, char *err, size_t errsize)
{
    static struct srv srv; /* one server per process */
    struct srv *s = &srv;
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    /* SHA-256 by libsodium, SHA-1 by the runtime's own code: libcrypto
     * would add 4 MiB resident (its mapping and initialisation) to a
     * process whose budget is the bundles plus 8 MiB (DESIGN §11). */
    rt_crypto_forgo();
    /* Bundles and the objects they are built from (megabytes each) are
     * mapped and unmapped whole: with glibc's threshold left to adjust
     * itself, a freed one raises it and the next ones stay in the heap,
     * which keeps 15 MiB of them after a load (measured). */
    mallopt(M_MMAP_THRESHOLD, SRV_MMAP_THRESHOLD);
    struct sockaddr_storage ss;
    bool v6;
    if (!mhd_load(err, errsize) || listen_addr(cfg, &ss, &v6, err, errsize) < 0)
        return -1;
    snprintf(s->store_path, sizeof(s->store_path), "%s", cfg->store);
    s->opts.store = s->store_path;
    s->opts.trust_file = cfg->trust;
    s->opts.state_file = cfg->state;
    if (metrics_new(&s->metrics) < 0) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    /* the signals go to sigwait below, in every thread */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD,
           SIG_DFL); /* children reaped by subcommand.c, not by the kernel */
    if (cfg->decision_log &&
        declog_open(&s->declog, cfg->decision_log, err, errsize) < 0) {
        metrics_free(s->metrics);
        return -1;
    }
    s->request_seconds =
        cfg->request_timeout ? cfg->request_timeout : SRV_REQUEST_SECONDS;
    envs_init(s);
    if (deadline_start(&s->deadline, s->request_seconds, s->metrics, err,
                       errsize) < 0 ||
        envs_start(s, err, errsize) < 0) {
        srv_free(s);
        return -1;
    }
    /* connections: what was asked, within what the descriptor limit
     * leaves room for (64 for the store, the log, the listener), and the
     * spare ones that are answered 503 */
    struct rlimit rl;
    unsigned conns =
        cfg->max_connections ? cfg->max_connections : SRV_CONNECTIONS_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)conns + SRV_CONNECTIONS_SPARE + 64)
        conns = rl.rlim_cur > 2 * SRV_CONNECTIONS_SPARE + 64
                    ? (unsigned)rl.rlim_cur - SRV_CONNECTIONS_SPARE - 64
                    : SRV_CONNECTIONS_SPARE;
    s->max_connections = conns;
    conns += SRV_CONNECTIONS_SPARE;
    unsigned threads = cfg->threads ? cfg->threads : 4;
    unsigned idle = s->request_seconds <= SRV_IDLE_SECONDS
                        ? (s->request_seconds > 1 ? s->request_seconds - 1 : 1)
                        : SRV_IDLE_SECONDS;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                     (v6 ? MHD_USE_IPv6 : 0) | MHD_USE_ERROR_LOG;
    /* one thread: libmicrohttpd's own polling thread, without a pool (it
     * warns of a pool of one, or of none) */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)threads, NULL},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_Daemon *d = mhd.start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, handler, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_ARRAY, pool,
        MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT, idle,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_HEADER_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        connection_notify, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errsize, "cannot listen on %s:%u: %s", cfg->host,
                 cfg->port, strerror(errno ? errno : EADDRINUSE));
        srv_free(s);
        return -1;
    }
    const union MHD_DaemonInfo *info =
        mhd.get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info ? info->port : cfg->port;
    fprintf(stderr, "struere serve: listening on http://%s%s%s:%u\n",
            v6 ? "[" : "", cfg->host, v6 ? "]" : "", port);
    fflush(stderr);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig))
            continue;
        if (sig == SIGHUP) {
            fprintf(stderr, "struere serve: SIGHUP: reloading\n");
            atomic_store(&s->reload_now, 1);
            continue;
        }
        break;
    }
    /* stop accepting, let the requests in flight finish, then stop */
    fprintf(stderr, "struere serve: stopping\n");
    MHD_socket ls = mhd.quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* a child process still computing an answer two seconds before the
     * drain ends is killed, so that its request is answered (503
     * stopping) */
    long long t0_ms = (long long)t0.tv_sec * 1000 + t0.tv_nsec / 1000000;
    atomic_store(&s->stop_at_ms, t0_ms + (SRV_DRAIN_SECONDS - 2) * 1000LL);
    while (atomic_load(&s->inflight) > 0 && since(&t0) < SRV_DRAIN_SECONDS)
        usleep(10000);
    /* a request begun since on a kept-alive connection: cut short at once */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    atomic_store(&s->stop_at_ms,
                 (long long)t0.tv_sec * 1000 + t0.tv_nsec / 1000000);
    /* and every job's thread done (its connection resumed) before
     * libmicrohttpd goes: a child is killed within its poll (200 ms);
     * none starts from now on (subcommand_answer) */
    while (atomic_load(&s->job_threads) > 0)
        usleep(10000);
    mhd.stop_daemon(d);
    srv_free(s);
    fprintf(stderr, "struere serve: stopped\n");
    return 0;
}
