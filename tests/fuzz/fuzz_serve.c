/*
 * fuzz_serve.c - the request parsing of `struere serve` (server/request.c
 * and server/api.c): input is a method selector byte, a path (to the
 * first newline, also tried as an Authorization value) and a body; the
 * route is matched and, for a /v1 route, answered from the eval bundle
 * (STRUERE_FUZZ_BUNDLE, default the committed corpus-bundle/eval.stb)
 * exactly as the server would, without the sockets, with the bundle's
 * set of actors kept (server/actors.c). The body is also held to jansson's
 * verdict: body_check (server/body.c) accepts what jansson accepts and
 * refuses what it refuses, but for a NUL byte right after a number, which
 * jansson lets through (it is not JSON text; body_check refuses any NUL);
 * and a body it accepts is built by json_tree (compiler/json_tree.h) into
 * the tree jansson's loader builds.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "body.h"
#include "json_tree.h"
#include "request.h"
#include "server.h"

static struct srv srv;
static struct srv_loaded loaded;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("STRUERE_FUZZ_BUNDLE");
    if (!path)
        path = "tests/fuzz/corpus-bundle/eval.stb";
    struere_error err;
    if (struere_runtime_open_file(&loaded.rt, path, 0, &err) < 0) {
        fprintf(stderr, "fuzz_serve: %s: %s\n", path, err.message);
        exit(1);
    }
    loaded.env = struere_runtime_env(loaded.rt);
    loaded.actors = actors_new();
    atomic_init(&loaded.refs, 1);
    if (metrics_new(&srv.metrics) < 0)
        exit(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "HEAD", "PUT",
                                          "DELETE"};
    if (!size)
        return 0;
    const char *method = methods[data[0] % 5];
    data++;
    size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    char *path = malloc(plen + 1);
    if (!path)
        return 0;
    memcpy(path, data, plen);
    path[plen] = 0;
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t blen = nl ? size - plen - 1 : 0;
    size_t tlen;
    auth_bearer(path, &tlen);
    char msg[300];
    bool ours = body_check(body, blen, msg, sizeof(msg)) == 0;
    json_error_t je;
    json_t *j =
        json_loadb(body, blen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    bool theirs = j != NULL;
    if (ours && !theirs) {
        fprintf(stderr, "body_check accepts what jansson refuses: %s\n",
                je.text);
        abort();
    }
    if (ours) {
        /* the routes read a checked body as json_tree builds it: the
         * tree jansson's loader builds, member for member */
        json_t *t = json_tree(body, blen);
        char *a = json_dumps(j, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        char *b =
            t ? json_dumps(t, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;
        if (!t || !json_equal(t, j) || !a || !b || strcmp(a, b)) {
            fprintf(stderr, "json_tree differs from jansson: %s\n%s\n",
                    b ? b : "(none)", a ? a : "(none)");
            abort();
        }
        free(a);
        free(b);
        json_decref(t);
    }
    json_decref(j);
    if (!ours && theirs && !memchr(body, 0, blen)) {
        fprintf(stderr, "body_check refuses what jansson accepts: %s\n", msg);
        abort();
    }
    struct srv_route rt;
    const char *allow;
    int st = route_parse(&rt, &allow, method, path);
    if (st == 200 && route_is_v1(rt.id)) {
        struct srv_reply r = {.status = 200};
        r.f = open_memstream(&r.body, &r.len);
        if (r.f) {
            api_answer(&srv, &rt, &loaded, body, blen, &r);
            fclose(r.f);
        }
        free(r.body);
    }
    (void)route_label(rt.id);
    free(path);
    return 0;
}
