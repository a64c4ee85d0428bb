/*
 * stream.c - the streams answers are written into (server.h): a body
 * that grows as it is written, whose failure to grow is kept.
 *
 * glibc's open_memstream is not used: when it cannot grow, it drops what
 * it cannot hold without setting the stream's error, and fclose still
 * returns 0, so an answer cut short would go out as a 200 (found by a
 * review: a program whose allocator fails them). Here each write that
 * cannot be held fails, sets *failed, and every later write fails too.
 */
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct sink {
    char **body;
    size_t *len;
    size_t cap;
    bool *failed;
};

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
    struct sink *k = cookie;
    if (*k->failed)
        return -1;
    size_t need = *k->len + n + 1;
    if (need > k->cap) {
        size_t cap = k->cap ? k->cap : 512;
        while (cap < need)
            cap *= 2;
        char *grown = realloc(*k->body, cap);
        if (!grown) {
            *k->failed = true;
            return -1;
        }
        *k->body = grown;
        k->cap = cap;
    }
    memcpy(*k->body + *k->len, buf, n);
    *k->len += n;
    (*k->body)[*k->len] = '\0';
    return (ssize_t)n;
}

static int sink_close(void *cookie)
{
    free(cookie);
    return 0;
}

FILE *srv_stream(char **body, size_t *len, bool *failed)
{
    *body = NULL;
    *len = 0;
    struct sink *k = malloc(sizeof(*k));
    FILE *f = NULL;
    if (k) {
        *k = (struct sink){body, len, 0, failed};
        f = fopencookie(
            k, "w",
            (cookie_io_functions_t){NULL, sink_write, NULL, sink_close});
    }
    if (!f) {
        free(k);
        *failed = true;
    }
    return f;
}

bool srv_stream_close(FILE *f, const bool *failed)
{
    bool ok = fclose(f) == 0;
    return ok && !*failed;
}
