/* bench/serve/floor.c - the HTTP floor for bench/serve.sh: libmicrohttpd
 * in the configuration struere serve starts it with (server/http.c: an
 * internal polling thread pool on epoll, the same pool size, connection
 * limit, idle timeout, per-connection memory and completion callback)
 * answering every request with one constant JSON body after reading the
 * request body, as serve does before it decides, with serve's headers
 * (Content-Type, Cache-Control, Struere-Environment, Struere-Commit). No
 * JSON parsing, no key, no decision: what serve costs above this is
 * struere's own work. bench/serve.sh gives it, as BODYFILE, one of serve's
 * own answers of about their mean size, so both send as many bytes.
 *
 *   cc -O2 floor.c $(pkg-config --cflags --libs libmicrohttpd) -o floor
 *   floor PORT [THREADS [BODYFILE]]   (THREADS: default 4, serve's default)
 * Runs until SIGTERM or SIGINT. */
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* serve's limits (server/server.h) */
#define FLOOR_BODY_MAX (1024 * 1024)
#define FLOOR_HEADER_MEMORY (32 * 1024)
#define FLOOR_CONNECTIONS_MAX 8192
#define FLOOR_IDLE_SECONDS 10

/* the answer without BODYFILE: a short authorize answer */
static const char *body_text =
    "{\"decision\":\"allow\",\"reason\":\"Allowed by role 'guardian', "
    "policies[1] (allow read on session)\",\"role\":\"guardian\","
    "\"predicate\":true,\"mask\":[],\"record\":null}\n";
static size_t body_len;

struct upload {
    size_t len;
    int too_big;
};

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    struct upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof(*u));
        if (!u)
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_data_size) {
        u->len += *upload_data_size;
        if (u->len > FLOOR_BODY_MAX)
            u->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        body_len, (void *)body_text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Struere-Environment", "eval");
    MHD_add_response_header(r, "Struere-Commit",
                            "0123456789abcdef0123456789abcdef01234567");
    enum MHD_Result ret = MHD_queue_response(c, u->too_big ? 413 : 200, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: floor PORT [THREADS [BODYFILE]]\n");
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 4;
    body_len = strlen(body_text);
    if (argc > 3) {
        static char buf[65536];
        FILE *f = fopen(argv[3], "rb");
        if (!f) {
            perror(argv[3]);
            return 1;
        }
        body_len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        body_text = buf;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
            MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)FLOOR_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)FLOOR_IDLE_SECONDS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FLOOR_HEADER_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "floor: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    fprintf(stderr,
            "floor: listening on 127.0.0.1:%u, %u threads, %zu-byte body\n",
            port, threads, body_len);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
