/*
 * deadline.c - the request deadline: a request (its line, headers and
 * body, chunked framing and trailers included) must arrive within a time
 * limit, counted from the moment its connection opened or its previous
 * answer went out. libmicrohttpd's own timeout only closes a connection
 * that sends nothing at all; a client that sends one byte every few
 * seconds would otherwise hold its connection for ever (a slowloris).
 *
 * libmicrohttpd calls the server only once the headers are in, then for
 * pieces of body, and it queues no answer before the body is in. So a
 * thread of this module looks at every connection once a second and
 * answers a late one itself, a 408 written to its socket and the socket
 * shut down (libmicrohttpd sees the end and closes the connection); the
 * handler answers the same way when a piece of body comes late.
 *
 * A connection is in one of four states: waiting for its headers, in its
 * body (libmicrohttpd reads; nothing is being written), answering (the
 * handler queued or is queueing an answer), expired (answered 408; the
 * handler closes it). Only the first two may be expired. The state and
 * the time the clock started are one word changed by compare-and-swap,
 * so a 408 and the handler's answer exclude each other, and a clock
 * restarted meanwhile makes the thread's swap fail.
 *
 * The thread touches a socket only under the lock that the close notice
 * takes to unlink the connection, and libmicrohttpd sends that notice
 * before it closes the descriptor: a descriptor number reused by a later
 * connection is never written to.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "server.h"

enum { CONN_WAITING, CONN_IN_BODY, CONN_ANSWERING, CONN_EXPIRED };

/* A connection's word: the millisecond its clock started, shifted left
 * by 2, and its state in the low 2 bits. */
#define WORD(ms, state) ((long long)(ms) << 2 | (state))
#define STATE(w) ((int)((w)&3))
#define SINCE(w) ((w) >> 2)

struct srv_conn {
    int fd;
    atomic_llong word;
    struct srv_conn *prev, *next;
};

struct srv_deadline {
    unsigned seconds;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    struct srv_conn *head; /* the open connections */
    bool stopping, started;
    pthread_t thread;
    struct srv_metrics *metrics;
    char answer[512]; /* the whole 408, status line to body */
    size_t answer_len;
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The 408 on c's socket, and the socket shut down both ways. Best
 * effort: a client that reads nothing gets the close only. */
static void answer(const struct srv_deadline *d, const struct srv_conn *c)
{
    (void)send(c->fd, d->answer, d->answer_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(c->fd, SHUT_RDWR);
}

/* c from state `from` to `to`, its clock kept: false when it was in
 * another state. A connection without a record (NULL) always swaps. */
static bool swap_state(struct srv_conn *c, int from, int to)
{
    if (!c)
        return true;
    long long w = atomic_load(&c->word);
    while (STATE(w) == from)
        if (atomic_compare_exchange_weak(&c->word, &w, WORD(SINCE(w), to)))
            return true;
    return false;
}

/* Answers every connection past the deadline that is waiting for its
 * headers or in its body. */
static void sweep(struct srv_deadline *d)
{
    long long limit = now_ms() - (long long)d->seconds * 1000;
    pthread_mutex_lock(&d->mu);
    for (struct srv_conn *c = d->head; c; c = c->next) {
        long long w = atomic_load(&c->word);
        if ((STATE(w) != CONN_WAITING && STATE(w) != CONN_IN_BODY) ||
            SINCE(w) > limit ||
            !atomic_compare_exchange_strong(&c->word, &w,
                                            WORD(SINCE(w), CONN_EXPIRED)))
            continue;
        answer(d, c);
        /* a request in its body is counted under its route when
         * libmicrohttpd closes it (deadline_expired_answer) */
        if (STATE(w) == CONN_WAITING)
            metrics_request(d->metrics, 0, 408, (double)d->seconds);
    }
    pthread_mutex_unlock(&d->mu);
}

static void *sweeper(void *arg)
{
    struct srv_deadline *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += 1;
        pthread_cond_timedwait(&d->wake, &d->mu, &t);
        if (d->stopping)
            break;
        pthread_mutex_unlock(&d->mu);
        sweep(d);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int deadline_start(struct srv_deadline **out, unsigned seconds,
                   struct srv_metrics *metrics, char *err, size_t errsize)
{
    struct srv_deadline *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    d->seconds = seconds;
    d->metrics = metrics;
    pthread_mutex_init(&d->mu, NULL);
    /* a clock stepped back would stretch a wall-clock wait */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    char body[256];
    int bn = snprintf(body, sizeof(body),
                      "{\"error\":{\"code\":\"request_timeout\",\"message\":"
                      "\"a request (its line, headers and body) must arrive "
                      "within %u s\"}}\n",
                      seconds);
    d->answer_len = (size_t)snprintf(
        d->answer, sizeof(d->answer),
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\nContent-Length: %d\r\n\r\n%s",
        bn, body);
    int rc = pthread_create(&d->thread, NULL, sweeper, d);
    if (rc) {
        snprintf(err, errsize, "cannot start a thread: %s", strerror(rc));
        deadline_stop(d);
        return -1;
    }
    d->started = true;
    *out = d;
    return 0;
}

void deadline_stop(struct srv_deadline *d)
{
    if (!d)
        return;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        d->stopping = true;
        pthread_cond_signal(&d->wake);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL);
    }
    /* connections still listed belong to a daemon already stopped */
    while (d->head) {
        struct srv_conn *c = d->head;
        d->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

struct srv_conn *deadline_conn_open(struct srv_deadline *d, int fd)
{
    struct srv_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL; /* that connection goes without a deadline */
    c->fd = fd;
    atomic_init(&c->word, WORD(now_ms(), CONN_WAITING));
    pthread_mutex_lock(&d->mu);
    c->next = d->head;
    if (d->head)
        d->head->prev = c;
    d->head = c;
    pthread_mutex_unlock(&d->mu);
    return c;
}

void deadline_conn_close(struct srv_deadline *d, struct srv_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&d->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        d->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&d->mu);
    free(c);
}

bool deadline_request_begins(struct srv_conn *c)
{
    return swap_state(c, CONN_WAITING, CONN_IN_BODY);
}

bool deadline_answering(struct srv_conn *c)
{
    return swap_state(c, CONN_IN_BODY, CONN_ANSWERING);
}

bool deadline_expired(const struct srv_deadline *d, struct srv_conn *c)
{
    return c && now_ms() - SINCE(atomic_load(&c->word)) >
                    (long long)d->seconds * 1000;
}

void deadline_answer(struct srv_deadline *d, struct srv_conn *c)
{
    if (swap_state(c, CONN_IN_BODY, CONN_EXPIRED) && c)
        answer(d, c);
}

bool deadline_was_answered(const struct srv_conn *c)
{
    return c && STATE(atomic_load(&c->word)) == CONN_EXPIRED;
}

void deadline_request_ends(struct srv_conn *c)
{
    if (!c)
        return;
    long long w = atomic_load(&c->word);
    while (STATE(w) != CONN_EXPIRED &&
           !atomic_compare_exchange_weak(&c->word, &w,
                                         WORD(now_ms(), CONN_WAITING)))
        ;
}
