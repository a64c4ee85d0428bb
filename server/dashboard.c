/*
 * dashboard.c - the JSON API of `struere serve --dashboard`'s page
 * (server/README.md documents each answer): the environments as loaded,
 * their definitions, effective access (compiler/access.c, the runtime's
 * engine), the history (compiler/history.c, as `struere log --json`) and
 * production against development (as `struere diff --format json`).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "env.h"
#include "history.h"
#include "request.h"
#include "rtout.h"
#include "semdiff.h"
#include "server.h"
#include "store.h"
#include "trust.h"
#include "verify.h"

static void put(struct srv_reply *r, json_t *j)
{
    if (rtout_json_line(r->f, j) < 0)
        reply_error(r, 500, "internal", "out of memory");
    json_decref(j);
}

static json_t *iso(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static void environments(struct srv *s, struct srv_reply *r)
{
    json_t *a = json_array();
    for (int env = 1; env <= 3; env++) {
        char err[512];
        bool ok = envs_ready(s, env, err, sizeof(err));
        struct srv_loaded *l = envs_acquire(s, env);
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:o, s:b, s:o}", "environment",
                         struere_env_name(env), "commit",
                         l ? json_string(l->commit) : json_null(), "loadedAt",
                         l ? iso(l->loaded_at) : json_null(), "ready", ok,
                         "error", err[0] ? json_string(err) : json_null()));
        envs_release(l);
    }
    put(r, json_pack("{s:o}", "environments", a));
}

static json_t *slugs(const struere_bundle *b, int kind)
{
    json_t *a = json_array();
    size_t n = struere_bundle_count(b, kind);
    for (size_t i = 0; i < n; i++) {
        const char *slug;
        if (struere_bundle_entry(&slug, NULL, NULL, b, kind, i, NULL) == 0)
            json_array_append_new(a, json_string(slug));
    }
    return a;
}

static void definitions(const struct srv_loaded *l, struct srv_reply *r)
{
    const struere_bundle *b = struere_runtime_bundle(l->rt);
    static const struct {
        const char *key;
        int kind;
    } kinds[] = {{"agents", STRUERE_KIND_AGENT},
                 {"dataTypes", STRUERE_KIND_DATA},
                 {"roles", STRUERE_KIND_ROLE},
                 {"automations", STRUERE_KIND_AUTOMATION},
                 {"tools", STRUERE_KIND_TOOL},
                 {"evals", STRUERE_KIND_EVAL},
                 {"fixtures", STRUERE_KIND_FIXTURE}};
    json_t *o = json_pack("{s:s, s:s}", "environment", struere_env_name(l->env),
                          "commit", l->commit);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
        json_object_set_new(o, kinds[i].key, slugs(b, kinds[i].kind));
    put(r, o);
}

/* As `struere access --json` for the loaded bundle: every agent, then
 * every role. */
static void access(const struct srv_loaded *l, struct srv_reply *r)
{
    const struere_bundle *b = struere_runtime_bundle(l->rt);
    json_t *subjects = json_array();
    for (int pass = 0; pass < 2; pass++) {
        int kind = pass ? STRUERE_KIND_ROLE : STRUERE_KIND_AGENT;
        for (size_t i = 0; i < struere_bundle_count(b, kind); i++) {
            const char *slug;
            json_t *sj;
            char err[512];
            struere_bundle_entry(&slug, NULL, NULL, b, kind, i, NULL);
            if (access_subject(l->rt, !pass, slug, &sj, err, sizeof(err)) !=
                ACCESS_OK) {
                json_decref(subjects);
                reply_error(r, 500, "access_failed", "%s", err);
                return;
            }
            json_array_append_new(subjects, sj);
        }
    }
    put(r, json_pack("{s:s, s:s, s:o}", "environment", struere_env_name(l->env),
                     "commit", l->commit, "subjects", subjects));
}

/* As `struere log --json`: each environment's history, newest first. */
static void history(struct srv *s, struct srv_reply *r)
{
    struct store *st;
    char err[1024];
    if (store_open(&st, s->store_path, err, sizeof(err)) != STORE_OK) {
        reply_error(r, 500, "store", "%s", err);
        return;
    }
    struct trust_state ts;
    if (trust_read(st, &ts, err, sizeof(err)) != TRUST_OK)
        memset(&ts, 0, sizeof(ts));
    json_t *out = json_object();
    for (int e = 0; e < ENV_COUNT; e++)
        json_object_set_new(out, env_names[e],
                            history_branch(st, e, 50, ts.t, NULL));
    trust_state_free(&ts);
    store_close(st);
    put(r, out);
}

/* The production bundle of the commit `ref` names, verified; NULL with
 * `label` saying "never deployed" when the ref does not exist. */
static int side(struct store *st, const char *name, struere_runtime **rt,
                char *label, size_t size, char *err, size_t errsize)
{
    char ref[100], id[41];
    struct verified v;
    struere_bundle *b;
    *rt = NULL;
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", name);
    if (store_ref_id(st, ref, id) != STORE_OK) {
        snprintf(label, size, "%s (never deployed)", name);
        return 0;
    }
    if (verify_commit_bundle(st, id, ENV_PRODUCTION, &b, &v, err, errsize) !=
        VERIFY_OK)
        return -1;
    struere_error e;
    if (struere_runtime_open_bundle(rt, b, &e) < 0) {
        snprintf(err, errsize, "%s", e.message);
        return -1;
    }
    snprintf(label, size, "%s (%.12s)", name, id);
    return 0;
}

/* As `struere diff --format json production development`. */
static void compare(struct srv *s, struct srv_reply *r)
{
    struct store *st;
    char err[1024], label[2][300];
    struere_runtime *rt[2] = {NULL, NULL};
    json_t *access_doc = NULL;
    if (store_open(&st, s->store_path, err, sizeof(err)) != STORE_OK) {
        reply_error(r, 500, "store", "%s", err);
        return;
    }
    static const char *const names[2] = {"production", "development"};
    for (int k = 0; k < 2; k++)
        if (side(st, names[k], &rt[k], label[k], sizeof(label[k]), err,
                 sizeof(err)) < 0) {
            reply_error(r, 500, "bundle", "%s: %s", names[k], err);
            goto done;
        }
    if (!rt[1]) {
        reply_error(r, 404, "not_found",
                    "struere/development does not exist yet");
        goto done;
    }
    if (access_changes(rt[0], rt[1], &access_doc, err, sizeof(err)) !=
        ACCESS_OK) {
        reply_error(r, 500, "access_failed", "%s", err);
        goto done;
    }
    json_t *diff =
        semdiff_bundles(struere_runtime_bundle(rt[0]),
                        struere_runtime_bundle(rt[1]), label[0], label[1]);
    semdiff_set_access(diff, access_doc);
    semdiff_print(r->f, diff, SEMDIFF_JSON, false);
    json_decref(diff);
done:
    json_decref(access_doc);
    struere_runtime_free(rt[0]);
    struere_runtime_free(rt[1]);
    store_close(st);
}

void dashboard_answer(struct srv *s, const struct srv_route *rt,
                      struct srv_reply *r)
{
    if (rt->id == ROUTE_D_ENVS) {
        environments(s, r);
        return;
    }
    if (rt->id == ROUTE_D_HISTORY) {
        history(s, r);
        return;
    }
    if (rt->id == ROUTE_D_COMPARE) {
        compare(s, r);
        return;
    }
    struct srv_loaded *l = envs_acquire(s, rt->env);
    if (!l) {
        reply_error(r, 503, "not_loaded", "no %s bundle is loaded",
                    struere_env_name(rt->env));
        return;
    }
    const char *body;
    size_t len;
    if (rt->id == ROUTE_D_DEFS)
        definitions(l, r);
    else if (rt->id == ROUTE_D_ACCESS)
        access(l, r);
    else if (struere_bundle_lookup(&body, &len, struere_runtime_bundle(l->rt),
                                   rt->kind, rt->slug, NULL) < 0)
        reply_error(r, 404, "not_found", "no %s '%s' in the %s bundle",
                    struere_kind_name(rt->kind), rt->slug,
                    struere_env_name(l->env));
    else
        rtout_json(r->f, body, len, true);
    r->env = l->env;
    memcpy(r->commit, l->commit, sizeof(r->commit));
    envs_release(l);
}
