/*
 * declog.c - the decision log: one JSON line per authorization decision,
 * appended to a file by a writer thread of its own, so that answering
 * never waits for the disk. Lines are queued (bounded; a full queue drops
 * the line and /metrics counts it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct srv_declog {
    FILE *f;
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **q;
    size_t head, count;
    bool stop;
};

static void *writer(void *arg)
{
    struct srv_declog *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->count && !d->stop)
            pthread_cond_wait(&d->cv, &d->mu);
        if (!d->count && d->stop)
            break;
        /* take what is queued, write it unlocked */
        size_t n = d->count;
        char **batch = malloc(n * sizeof(*batch));
        for (size_t i = 0; i < n; i++) {
            char *line = d->q[(d->head + i) % SRV_DECLOG_QUEUE];
            if (batch)
                batch[i] = line;
            else
                free(line);
        }
        d->head = (d->head + n) % SRV_DECLOG_QUEUE;
        d->count = 0;
        pthread_mutex_unlock(&d->mu);
        for (size_t i = 0; batch && i < n; i++) {
            fputs(batch[i], d->f);
            free(batch[i]);
        }
        free(batch);
        fflush(d->f);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int declog_open(struct srv_declog **out, const char *path, char *err,
                size_t errsize)
{
    struct srv_declog *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (!d || !(d->q = calloc(SRV_DECLOG_QUEUE, sizeof(*d->q)))) {
        free(d);
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    if (!(d->f = fopen(path, "a"))) {
        snprintf(err, errsize, "--decision-log %s: %s", path, strerror(errno));
        free(d->q);
        free(d);
        return -1;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->writer, NULL, writer, d)) {
        snprintf(err, errsize, "cannot start the decision log writer");
        fclose(d->f);
        free(d->q);
        free(d);
        return -1;
    }
    *out = d;
    return 0;
}

bool declog_write(struct srv_declog *d, const char *line, size_t len)
{
    char *copy = malloc(len + 2);
    if (!copy)
        return false;
    memcpy(copy, line, len);
    copy[len] = '\n';
    copy[len + 1] = 0;
    pthread_mutex_lock(&d->mu);
    if (d->count == SRV_DECLOG_QUEUE) {
        pthread_mutex_unlock(&d->mu);
        free(copy);
        return false;
    }
    d->q[(d->head + d->count++) % SRV_DECLOG_QUEUE] = copy;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return true;
}

void declog_close(struct srv_declog *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->writer, NULL);
    fclose(d->f);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d->q);
    free(d);
}
