/*
 * api.c - the /v1 answers of `struere serve`, from the bundle of the
 * key's environment. Each says what the matching command prints (rtout.c
 * writes both): GET /v1/{kind}/{slug} as `struere get KIND SLUG --json`,
 * authorize as `struere can --json`, events as `struere fire --json`,
 * entities/query as `struere query --json`, evals as `struere eval list
 * --json` and `eval plan`. A body is checked whole by body.c and read in
 * place (authorize reads nothing else); the routes that pass parts of it
 * on as JSON text also parse it with jansson, which writes that text as
 * the commands do.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/src/rt_json.h"
#include "actors.h"
#include "body.h"
#include "json_tree.h"
#include "request.h"
#include "rtout.h"
#include "server.h"

/* The body checked (body.h) and of JSON type `want` (STRUERE_JSON_OBJECT
 * or _ARRAY): true with *root set, or false with the error answer set. */
static bool body_open(struct srv_reply *r, const char *body, size_t len,
                      int want, struere_json *root)
{
    char msg[300];
    if (!len) {
        reply_error(r, 400, "invalid_json", "the request needs a JSON body");
        return false;
    }
    int rc = body_check(body, len, msg, sizeof(msg));
    if (rc < 0) {
        if (rc == -2)
            srv_out_of_memory();
        else
            reply_error(r, 400, "invalid_json", "%s", msg);
        return false;
    }
    *root = body_root(body, len);
    if (body_type(*root) != want) {
        reply_error(r, 400, "invalid_request", "the body must be %s, not %s",
                    want == STRUERE_JSON_ARRAY ? "an array" : "an object",
                    body_type_name(*root));
        return false;
    }
    return true;
}

/* The body, an object, as body_open checks it, also parsed by jansson (for
 * the routes that pass parts of it on as jansson writes JSON): NULL with
 * the error answer set. */
static json_t *body_json(struct srv_reply *r, const char *body, size_t len,
                         struere_json *root)
{
    if (!body_open(r, body, len, STRUERE_JSON_OBJECT, root))
        return NULL;
    /* checked: the tree fails only for want of memory */
    json_t *v = json_tree(body, len);
    if (!v)
        srv_out_of_memory();
    return v;
}

/* Member `key` of o as a string: NULL (and the error answer set when
 * `required` or present with another type). */
static const char *str_member(struct srv_reply *r, const json_t *o,
                              const char *key, bool required, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v && !required)
        return NULL;
    if (!json_is_string(v)) {
        reply_error(r, 400, "invalid_request",
                    "\"%s\" must be a string, not %s", key, rtout_json_type(v));
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

/* As str_member, for the member `key` of a checked body, its value v
 * ({NULL, 0} when absent), the string decoded into bs. */
static const char *str_value(struct srv_reply *r, struct body_strings *bs,
                             struere_json v, const char *key, bool required,
                             bool *bad)
{
    if (!v.ptr && !required)
        return NULL;
    const char *s = body_string(bs, v);
    if (!s) {
        if (body_type(v) == STRUERE_JSON_STRING)
            reply_error(r, 500, "internal", "no room for \"%s\"", key);
        else
            reply_error(r, 400, "invalid_request",
                        "\"%s\" must be a string, not %s", key,
                        body_type_name(v));
        *bad = true;
    }
    return s;
}

static int status_for(int rc)
{
    switch (rc) {
    case STRUERE_ENOMEM:
        srv_out_of_memory();
        return 500;
    case STRUERE_ENOTFOUND:
        return 404;
    case STRUERE_EINVAL:
    case STRUERE_EJSON:
    case STRUERE_ERANGE:
        return 400;
    case STRUERE_EENV:
        return 403;
    default:
        return 500;
    }
}

/* The actor of a request, its "actor" member a ({NULL, 0} when absent),
 * on l's runtime (one l keeps: free it with actor_done); NULL with the
 * error answer set. Its strings are decoded into bs. */
static struere_actor *actor_of(struct srv_reply *r, const struct srv_loaded *l,
                               struere_json a, struct body_strings *bs,
                               bool *owned)
{
    enum { TYPE, SLUG, ID, ENTITY, ROLES, N };
    static const char *const names[N] = {"type", "slug", "id", "entity",
                                         "roles"};
    struere_json m[N];
    bool bad = false;
    if (body_type(a) != STRUERE_JSON_OBJECT) {
        reply_error(r, 400, "invalid_actor",
                    "\"actor\" must be an object {\"type\": \"user\"|\"agent\"|"
                    "\"system\"|\"admin\", ...}, not %s",
                    body_type_name(a));
        return NULL;
    }
    body_members(a, names, N, m);
    const char *type = str_value(r, bs, m[TYPE], "type", true, &bad);
    if (bad)
        return NULL;
    struere_actor_spec spec = {0};
    const char *roles[STRUERE_MAX_ACTOR_ROLES];
    if (!strcmp(type, "system") || !strcmp(type, "admin")) {
        spec.type = type[0] == 's' ? STRUERE_ACTOR_SYSTEM : STRUERE_ACTOR_ADMIN;
    } else if (!strcmp(type, "agent")) {
        spec.type = STRUERE_ACTOR_AGENT;
        spec.id = str_value(r, bs, m[SLUG], "slug", true, &bad);
    } else if (!strcmp(type, "user")) {
        spec.type = STRUERE_ACTOR_USER;
        spec.id = str_value(r, bs, m[ID], "id", true, &bad);
        spec.entity_id =
            bad ? NULL : str_value(r, bs, m[ENTITY], "entity", false, &bad);
        struere_json rs = m[ROLES];
        if (!bad && rs.ptr && body_type(rs) != STRUERE_JSON_ARRAY) {
            reply_error(r, 400, "invalid_actor",
                        "\"roles\" must be an array of role slugs, not %s",
                        body_type_name(rs));
            return NULL;
        }
        struct body_it it;
        struere_json s;
        size_t count = 0;
        for (body_iter(&it, rs); body_next(&it, NULL, &s);)
            count++;
        if (!bad && count > STRUERE_MAX_ACTOR_ROLES) {
            reply_error(r, 400, "invalid_actor", "at most %d roles",
                        STRUERE_MAX_ACTOR_ROLES);
            return NULL;
        }
        if (!bad && rs.ptr && body_iter(&it, rs)) {
            for (size_t i = 0; body_next(&it, NULL, &s); i++) {
                if (!(roles[i] = body_string(bs, s))) {
                    reply_error(r, 400, "invalid_actor",
                                "\"roles\"[%zu] must be a string, not %s", i,
                                body_type_name(s));
                    return NULL;
                }
                spec.role_count++;
            }
        }
        spec.roles = roles;
    } else {
        reply_error(r, 400, "invalid_actor",
                    "actor type '%s': expected user, agent, system or admin",
                    type);
        return NULL;
    }
    if (bad)
        return NULL;
    struere_actor *actor;
    struere_error err = {0};
    int rc = actors_get(&actor, owned, l->actors, l->rt, &spec, &err);
    if (rc < 0) {
        reply_error(r, rc == STRUERE_ENOTFOUND ? 400 : status_for(rc),
                    "invalid_actor", "%s", err.message);
        return NULL;
    }
    return actor;
}

/* Done with an actor of actor_of. */
static void actor_done(struere_actor *actor, bool owned)
{
    if (owned)
        struere_actor_free(actor);
}

/* The decision log line of one decision: who, what, the answer; never the
 * key, never record values. The actor's members are written as they were
 * sent, without white space. */
static void log_decision(struct srv *s, const struct srv_loaded *l,
                         struere_json a, struere_json rid, const char *action,
                         const char *resource, const struere_decision *d)
{
    metrics_decision(s->metrics, l->env, d->allowed);
    if (!s->declog)
        return;
    char reason[300], when[32];
    struere_reason_text(reason, sizeof(reason), NULL, l->rt, d, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    char *text = NULL;
    size_t len = 0;
    bool failed = false;
    FILE *f = srv_stream(&text, &len, &failed);
    if (!f) {
        metrics_declog_dropped(s->metrics);
        return;
    }
    fprintf(f, "{\"time\":\"%s\",\"environment\":\"%s\",\"commit\":", when,
            struere_env_name(l->env));
    rtout_json_string(f, l->commit);
    fputs(",\"actor\":{", f);
    enum { N = 5 };
    static const char *const actor_keys[N] = {"type", "id", "slug", "roles",
                                              "entity"};
    struere_json m[N];
    body_members(a, actor_keys, N, m); /* one walk over the actor */
    bool first = true;
    for (size_t i = 0; i < N; i++) {
        if (!m[i].ptr)
            continue;
        fprintf(f, "%s\"%s\":", first ? "" : ",", actor_keys[i]);
        body_write_compact(f, m[i]);
        first = false;
    }
    fputs("},\"action\":", f);
    rtout_json_string(f, action);
    fputs(",\"resource\":", f);
    rtout_json_string(f, resource);
    fprintf(f,
            ",\"decision\":\"%s\",\"reason\":", d->allowed ? "allow" : "deny");
    rtout_json_string(f, reason);
    if (body_type(rid) == STRUERE_JSON_STRING) {
        fputs(",\"recordId\":", f);
        body_write_compact(f, rid);
    }
    putc('}', f);
    bool ok = srv_stream_close(f, &failed); /* a line cut short: dropped */
    if (!ok || !declog_write(s->declog, text, len))
        metrics_declog_dropped(s->metrics);
    free(text);
}

/* The record of a question, as text the runtime reads: "record" (rec) as
 * jansson writes it (as `struere can --record` passes it on), or the
 * eval fixture "recordId" names. Returns 0 (*out NULL when neither is
 * given) or the error status with the error answer in r. */
static int question_record(char **out, struct srv_reply *r,
                           const struct srv_loaded *l, struere_json rec,
                           struere_json rid, struct body_strings *bs)
{
    *out = NULL;
    if (rec.ptr && rid.ptr) {
        reply_error(r, 400, "invalid_request",
                    "\"record\" and \"recordId\" are exclusive");
        return 400;
    }
    if (rec.ptr) {
        /* a part of the checked body: the tree fails only for want of
         * memory */
        json_t *v = json_tree(rec.ptr, rec.len);
        char msg[300];
        if (!v) {
            srv_out_of_memory();
            return 500;
        }
        if (rtout_record_problem(v, msg, sizeof(msg))) {
            json_decref(v);
            reply_error(r, 400, "invalid_record", "\"record\"%s", msg);
            return 400;
        }
        *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(v);
        if (!*out) {
            srv_out_of_memory();
            return 500;
        }
        return 0;
    }
    if (!rid.ptr)
        return 0;
    const char *id = body_string(bs, rid);
    if (!id) {
        reply_error(r, 400, "invalid_request",
                    "\"recordId\" must be a string, not %s",
                    body_type_name(rid));
        return 400;
    }
    /* unmasked, as `struere can --id` reads it */
    int rc = rtout_fixture_record(out, l->rt, id);
    if (rc == STRUERE_ENOMEM) {
        srv_out_of_memory();
        return 500;
    }
    if (rc == STRUERE_EENV) {
        reply_error(r, 403, "eval_only",
                    "\"recordId\" reads eval fixture records: this key's "
                    "environment is %s; send the \"record\" instead",
                    struere_env_name(l->env));
        return 403;
    }
    if (rc < 0) {
        reply_error(r, 404, "not_found",
                    "no fixture record '%s' in the eval bundle", id);
        return 404;
    }
    return 0;
}

/* One authorization question, the checked object q, answered into f as
 * `struere can --json` prints it. Returns 200, or the error status with
 * the error answer in r (f untouched). */
static int authorize_one(struct srv *s, const struct srv_loaded *l,
                         struere_json q, FILE *f, struct srv_reply *r)
{
    struct body_strings bs;
    if (!body_strings_init(&bs, q.len)) {
        srv_out_of_memory();
        return 500;
    }
    enum { ACTION, RESOURCE, RECORD, RECORD_ID, ACTOR, N };
    static const char *const names[N] = {"action", "resource", "record",
                                         "recordId", "actor"};
    struere_json m[N];
    body_members(q, names, N, m);
    bool bad = false;
    char *record = NULL;
    struere_actor *actor = NULL;
    bool owned = false;
    const char *action = str_value(r, &bs, m[ACTION], "action", true, &bad);
    const char *resource =
        bad ? NULL : str_value(r, &bs, m[RESOURCE], "resource", true, &bad);
    if (bad || question_record(&record, r, l, m[RECORD], m[RECORD_ID], &bs) ||
        !(actor = actor_of(r, l, m[ACTOR], &bs, &owned)))
        goto done;
    struere_decision d;
    int rc = rtout_can(f, l->rt, actor, action, resource, record, true, &d);
    if (rc == STRUERE_EINVAL)
        reply_error(r, 400, "unknown_action",
                    "unknown action '%s' (create, read, update, delete, list)",
                    action);
    else if (rc == STRUERE_ENOTFOUND)
        reply_error(r, 404, "unknown_resource",
                    "unknown resource '%s': not a data type of the %s bundle "
                    "(nor users)",
                    resource, struere_env_name(l->env));
    else if (rc == STRUERE_ENOMEM)
        srv_out_of_memory();
    else if (rc < 0)
        reply_error(r, 500, "internal", "%s", struere_strerror(rc));
    else
        log_decision(s, l, m[ACTOR], m[RECORD_ID], action, resource, &d);
done:
    actor_done(actor, owned);
    free(record);
    body_strings_free(&bs);
    return r->status;
}

static void authorize(struct srv *s, const struct srv_loaded *l,
                      const char *body, size_t len, struct srv_reply *r)
{
    struere_json q;
    if (body_open(r, body, len, STRUERE_JSON_OBJECT, &q))
        authorize_one(s, l, q, r->f, r);
}

/* A batch: an array of questions, answered in order; a question in error
 * gets its {"error"} object (with "status") in its place. */
static void batch(struct srv *s, const struct srv_loaded *l, const char *body,
                  size_t len, struct srv_reply *r)
{
    struere_json a, q;
    struct body_it it;
    if (!body_open(r, body, len, STRUERE_JSON_ARRAY, &a))
        return;
    size_t count = 0;
    body_iter(&it, a);
    while (body_next(&it, NULL, &q))
        count++;
    if (count > SRV_BATCH_MAX) {
        reply_error(r, 413, "batch_too_large",
                    "%zu questions: a batch holds at most %d", count,
                    SRV_BATCH_MAX);
        return;
    }
    fputc('[', r->f);
    body_iter(&it, a);
    for (size_t i = 0; body_next(&it, NULL, &q); i++) {
        struct srv_reply er = {.status = 200};
        er.f = srv_stream(&er.body, &er.len, &er.oom);
        if (!er.f) {
            srv_out_of_memory();
            return;
        }
        if (i)
            fputc(',', r->f);
        if (body_type(q) != STRUERE_JSON_OBJECT)
            reply_error(&er, 400, "invalid_request",
                        "question %zu must be an object, not %s", i,
                        body_type_name(q));
        else
            authorize_one(s, l, q, er.f, &er);
        /* reply_error opened er's stream again: it may have failed */
        if (!er.f || !srv_stream_close(er.f, &er.oom)) {
            free(er.body);
            srv_out_of_memory();
            return;
        }
        size_t n = er.len;
        char *one = er.body;
        if (n && one[n - 1] == '\n')
            n--;
        if (er.status != 200 && n && one[n - 1] == '}')
            /* {"error":{...}} -> {"error":{...},"status":N} */
            fprintf(r->f, "%.*s,\"status\":%d}", (int)n - 1, one, er.status);
        else
            fwrite(one, 1, n, r->f);
        free(one);
    }
    fputs("]\n", r->f);
}

/* The thread context of a prompt request: channel, params (strings, or
 * other JSON as its text), message, now. NULL params on error. */
struct prompt_req {
    struere_prompt_context ctx;
    const char *names[64], *values[64];
    char *owned[64];
    size_t nowned;
};

static bool prompt_req(struct srv_reply *r, const json_t *o,
                       struct prompt_req *p)
{
    bool bad = false;
    p->ctx.channel = str_member(r, o, "channel", false, &bad);
    if (!bad)
        p->ctx.message = str_member(r, o, "message", false, &bad);
    if (!bad)
        p->ctx.user_id = str_member(r, o, "userId", false, &bad);
    if (!bad)
        p->ctx.thread_id = str_member(r, o, "threadId", false, &bad);
    if (bad)
        return false;
    json_t *now = json_object_get(o, "now");
    if (now && !json_is_integer(now)) {
        reply_error(r, 400, "invalid_request",
                    "\"now\" must be milliseconds since 1970 (an integer)");
        return false;
    }
    p->ctx.now_ms = now ? json_integer_value(now) : 0;
    json_t *params = json_object_get(o, "params");
    if (params && !json_is_object(params)) {
        reply_error(r, 400, "invalid_request",
                    "\"params\" must be an object, not %s",
                    rtout_json_type(params));
        return false;
    }
    if (json_object_size(params) > 64) {
        reply_error(r, 400, "invalid_request", "at most 64 params");
        return false;
    }
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach(params, k, v)
    {
        p->names[n] = k;
        if (json_is_string(v)) {
            p->values[n] = json_string_value(v);
        } else {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            p->owned[p->nowned++] = t;
            p->values[n] = t ? t : "";
        }
        n++;
    }
    p->ctx.param_names = p->names;
    p->ctx.param_values = p->values;
    p->ctx.param_count = n;
    return true;
}

static void prompt_req_free(struct prompt_req *p)
{
    for (size_t i = 0; i < p->nowned; i++)
        free(p->owned[i]);
}

/* The rendered prompt of the agent, malloc'd (struere_free), or NULL with
 * the error answer set. */
static char *render(struct srv_reply *r, const struct srv_loaded *l,
                    const char *agent, const json_t *o, struere_json root,
                    size_t *len)
{
    struct prompt_req p = {0};
    struct body_strings bs;
    char *out = NULL;
    if (!prompt_req(r, o, &p)) {
        prompt_req_free(&p);
        return NULL;
    }
    if (!body_strings_init(&bs, root.len)) {
        srv_out_of_memory();
        prompt_req_free(&p);
        return NULL;
    }
    struere_actor *actor = NULL;
    bool owned = true;
    struere_json a = body_member(root, "actor");
    if (a.ptr && !(actor = actor_of(r, l, a, &bs, &owned))) {
        body_strings_free(&bs);
        prompt_req_free(&p);
        return NULL;
    }
    p.ctx.actor = actor;
    struere_error err = {0};
    int rc = struere_prompt_render(&out, len, l->rt, agent, &p.ctx, &err);
    if (rc < 0)
        reply_error(r, status_for(rc),
                    rc == STRUERE_ENOTFOUND ? "not_found" : "prompt_error",
                    "%s", err.message);
    actor_done(actor, owned);
    body_strings_free(&bs);
    prompt_req_free(&p);
    return rc < 0 ? NULL : out;
}

static void prompt(const struct srv_loaded *l, const char *agent,
                   const char *body, size_t len, struct srv_reply *r)
{
    struere_json root;
    json_t *o = body_json(r, body, len, &root);
    if (!o)
        return;
    size_t n;
    char *text = render(r, l, agent, o, root, &n);
    if (text) {
        /* as `struere prompt --json` prints it */
        json_t *j = json_pack("{s:s, s:s%}", "agent", agent, "prompt", text, n);
        rtout_json_line(r->f, j);
        json_decref(j);
    }
    struere_free(text);
    json_decref(o);
}

/* A tool name as OpenAI's function names allow ([A-Za-z0-9_-]): the
 * built-in tools' dots become underscores (entity.query: entity_query). */
static json_t *function_name(const char *name)
{
    char buf[128];
    size_t i = 0;
    for (; name[i] && i < sizeof(buf) - 1; i++)
        buf[i] = name[i] == '.' ? '_' : name[i];
    buf[i] = 0;
    return json_string(buf);
}

/* The OpenAI chat-completions request body the agent would send. */
static void model_request(const struct srv_loaded *l, const char *agent,
                          const char *body, size_t len, struct srv_reply *r)
{
    struere_json root;
    json_t *o = body_json(r, body, len, &root);
    if (!o)
        return;
    bool bad = false;
    const char *message = str_member(r, o, "message", true, &bad);
    const char *def;
    size_t dlen, n;
    char *text = NULL;
    json_t *a = NULL;
    if (bad)
        goto done;
    if (struere_bundle_lookup(&def, &dlen, struere_runtime_bundle(l->rt),
                              STRUERE_KIND_AGENT, agent, NULL) < 0) {
        reply_error(r, 404, "not_found", "no agent '%s' in the %s bundle",
                    agent, struere_env_name(l->env));
        goto done;
    }
    if (!(text = render(r, l, agent, o, root, &n)))
        goto done;
    /* the bundle's body, verified when it was opened */
    if (!(a = json_tree(def, dlen))) {
        srv_out_of_memory();
        goto done;
    }
    json_t *model = json_object_get(a, "model");
    json_t *req = json_object();
    json_object_set(req, "model", json_object_get(model, "model"));
    json_object_set_new(req, "messages",
                        json_pack("[{s:s, s:s%}, {s:s, s:s}]", "role", "system",
                                  "content", text, n, "role", "user", "content",
                                  message));
    json_t *tools = json_array(), *t;
    size_t i;
    json_array_foreach(json_object_get(a, "tools"), i, t)
    {
        if (json_is_true(json_object_get(t, "templateOnly")))
            continue;
        json_t *fn = json_object();
        json_object_set_new(
            fn, "name",
            function_name(json_string_value(json_object_get(t, "name"))
                              ? json_string_value(json_object_get(t, "name"))
                              : ""));
        json_object_set(fn, "description", json_object_get(t, "description"));
        json_object_set(fn, "parameters", json_object_get(t, "parameters"));
        json_array_append_new(
            tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    if (json_array_size(tools))
        json_object_set(req, "tools", tools);
    json_decref(tools);
    json_t *v;
    if ((v = json_object_get(model, "temperature")))
        json_object_set(req, "temperature", v);
    if ((v = json_object_get(model, "maxTokens")))
        json_object_set(req, "max_tokens", v);
    rtout_json_line(r->f, req);
    json_decref(req);
done:
    struere_free(text);
    json_decref(a);
    json_decref(o);
}

static void events(const struct srv_loaded *l, const char *body, size_t len,
                   struct srv_reply *r)
{
    struere_json root;
    json_t *o = body_json(r, body, len, &root);
    if (!o)
        return;
    bool bad = false;
    const char *type = str_member(r, o, "type", true, &bad);
    const char *action = bad ? NULL : str_member(r, o, "action", true, &bad);
    const char *id = bad ? NULL : str_member(r, o, "id", false, &bad);
    json_t *data = json_object_get(o, "data"),
           *prev = json_object_get(o, "previous");
    char *d = NULL, *p = NULL, *out = NULL;
    if (bad)
        goto done;
    if (!json_is_object(data) || (prev && !json_is_object(prev))) {
        reply_error(r, 400, "invalid_request",
                    "\"%s\" must be the record's data object, not %s",
                    json_is_object(data) ? "previous" : "data",
                    rtout_json_type(json_is_object(data) ? prev : data));
        goto done;
    }
    d = json_dumps(data, JSON_COMPACT);
    p = prev ? json_dumps(prev, JSON_COMPACT) : NULL;
    struere_event ev = {
        type, action, id ? id : "", d, d ? strlen(d) : 0, p, p ? strlen(p) : 0};
    size_t n;
    struere_error err = {0};
    int rc = struere_automations_fire(&out, &n, l->rt, &ev, &err);
    if (rc == STRUERE_EENV)
        reply_error(r, 403, "no_automations", "%s", err.message);
    else if (rc < 0)
        reply_error(r, status_for(rc), "invalid_event", "%s", err.message);
    else
        rtout_json(r->f, out, n, true);
done:
    struere_free(out);
    free(d);
    free(p);
    json_decref(o);
}

static void entities(const struct srv_loaded *l, bool get, const char *body,
                     size_t len, struct srv_reply *r)
{
    struere_json root;
    json_t *o = body_json(r, body, len, &root);
    if (!o)
        return;
    struct body_strings bs;
    if (!body_strings_init(&bs, len)) {
        srv_out_of_memory();
        json_decref(o);
        return;
    }
    bool bad = false;
    const char *type = str_member(r, o, "type", true, &bad);
    const char *id = bad || !get ? NULL : str_member(r, o, "id", true, &bad);
    json_t *filter = json_object_get(o, "filter"),
           *limit = json_object_get(o, "limit");
    struere_actor *actor = NULL;
    bool owned = true;
    char *out = NULL, *f = NULL;
    size_t n;
    if (bad)
        goto done;
    if (!get && ((filter && !json_is_object(filter)) ||
                 (limit && (!json_is_integer(limit) ||
                            json_integer_value(limit) < 0)))) {
        reply_error(r, 400, "invalid_request",
                    "\"filter\" must be an object and \"limit\" a "
                    "non-negative integer");
        goto done;
    }
    if (!(actor = actor_of(r, l, body_member(root, "actor"), &bs, &owned)))
        goto done;
    struere_decision d;
    int rc;
    if (get) {
        rc = struere_get_record(&out, &n, &d, l->rt, actor, id, NULL);
        /* the record's "type", read in place (the runtime wrote it) */
        struere_json rec = {out, n}, rt;
        if (rc == 0 && (rt_json_member(rec, "type", 4, &rt) != 1 ||
                        !rt_json_str_eq(rt, type, strlen(type))))
            rc = STRUERE_ENOTFOUND;
        if (rc == STRUERE_ENOTFOUND) {
            reply_error(r, 404, "not_found",
                        "no %s record '%s' this actor may read", type, id);
            goto done;
        }
    } else {
        f = filter ? json_dumps(filter, JSON_COMPACT) : NULL;
        rc = struere_query(&out, &n, &d, l->rt, actor, type, f,
                           f ? strlen(f) : 0,
                           limit ? (size_t)json_integer_value(limit) : 0, NULL);
        if (rc == STRUERE_ENOTFOUND) {
            reply_error(r, 404, "not_found", "unknown data type '%s'", type);
            goto done;
        }
    }
    if (rc < 0)
        reply_error(r, status_for(rc), "query_error", "%s",
                    struere_strerror(rc));
    else
        rtout_json(r->f, out, n, true);
done:
    free(f);
    struere_free(out);
    actor_done(actor, owned);
    body_strings_free(&bs);
    json_decref(o);
}

static void list(const struct srv_loaded *l, int kind, struct srv_reply *r)
{
    const struere_bundle *b = struere_runtime_bundle(l->rt);
    size_t n = struere_bundle_count(b, kind);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *slug, *body;
        size_t len;
        if (struere_bundle_entry(&slug, &body, &len, b, kind, i, NULL) == 0)
            json_array_append_new(a, json_string(slug));
    }
    json_t *o = json_object();
    json_object_set_new(o, route_kind_name(kind), a);
    rtout_json_line(r->f, o);
    json_decref(o);
}

void api_answer(struct srv *s, const struct srv_route *rt, struct srv_loaded *l,
                const char *body, size_t len, struct srv_reply *r)
{
    const struere_bundle *b = struere_runtime_bundle(l->rt);
    const char *def;
    size_t dlen;
    switch (rt->id) {
    case ROUTE_LIST:
        list(l, rt->kind, r);
        break;
    case ROUTE_GET:
        if (struere_bundle_lookup(&def, &dlen, b, rt->kind, rt->slug, NULL) < 0)
            reply_error(r, 404, "not_found", "no %s '%s' in the %s bundle",
                        struere_kind_name(rt->kind), rt->slug,
                        struere_env_name(l->env));
        else
            rtout_json(r->f, def, dlen, true);
        break;
    case ROUTE_AUTHORIZE:
        authorize(s, l, body, len, r);
        break;
    case ROUTE_BATCH:
        batch(s, l, body, len, r);
        break;
    case ROUTE_PROMPT:
        prompt(l, rt->slug, body, len, r);
        break;
    case ROUTE_MODEL:
        model_request(l, rt->slug, body, len, r);
        break;
    case ROUTE_EVENTS:
        events(l, body, len, r);
        break;
    case ROUTE_QUERY:
    case ROUTE_ENTITY:
        entities(l, rt->id == ROUTE_ENTITY, body, len, r);
        break;
    case ROUTE_EVALS:
        rtout_eval_list(r->f, b, true);
        break;
    case ROUTE_PLAN: {
        int rc = STRUERE_ENOTFOUND;
        if (struere_bundle_lookup(&def, &dlen, b, STRUERE_KIND_EVAL, rt->slug,
                                  NULL) < 0)
            reply_error(r, 404, "not_found", "no eval suite '%s'", rt->slug);
        else if ((rc = rtout_plan_suite(r->f, rt->slug, def, dlen)) ==
                 STRUERE_ENOMEM)
            srv_out_of_memory();
        else if (rc < 0)
            reply_error(r, 500, "internal",
                        "eval suite '%s' has no cases in the bundle", rt->slug);
        break;
    }
    default:
        reply_error(r, 404, "not_found", "no such route");
    }
}
