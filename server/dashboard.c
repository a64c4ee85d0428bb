/*
 * dashboard.c - the JSON API of `struere serve --dashboard`'s page
 * (server/README.md documents each answer): the environments as loaded,
 * their definitions; and what three of struere's own commands print, run
 * as a child process (subcommand.c): effective access (`struere access`),
 * the history (`struere log --json`) and production against development
 * (`struere diff --format json`).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/src/gitread.h"
#include "request.h"
#include "rtout.h"
#include "server.h"

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

/* As `struere access COMMIT --env ENV --format json` for the loaded
 * bundle's commit: every agent, then every role. Run as a child process
 * too: the matrix compiles every role of the bundle and is megabytes of
 * JSON built from small objects, memory serve would keep (the roles) or
 * give back only in part (the objects' pages). The bundle is not held
 * meanwhile (a reload frees the old one as usual): the child reads the
 * commit from the store. */
static void access(struct srv *s, int env, const char *commit,
                   struct srv_reply *r)
{
    const char *const args[] = {
        "access",   commit, "--env", struere_env_name(env),
        "--format", "json", NULL};
    subcommand_answer(s, r, "access", args);
}

/* As `struere log --json`: each environment's history, newest first. */
static void history(struct srv *s, struct srv_reply *r)
{
    static const char *const args[] = {"log", "--json", "-n", "50", NULL};
    subcommand_answer(s, r, "history", args);
}

/* As `struere diff --format json production development`; 404 before the
 * first `dev`. */
static void compare(struct srv *s, struct srv_reply *r)
{
    static const char *const args[] = {"diff",       "--format",    "json",
                                       "production", "development", NULL};
    struct rt_git *g;
    unsigned char id[RT_GIT_ID];
    int found = 0; /* a store or ref that cannot be read: diff says why */
    if (rt_git_open(&g, s->store_path, NULL) == 0) {
        found = rt_git_ref(g, "refs/heads/struere/development", id, NULL);
        rt_git_close(g);
    }
    if (found == STRUERE_ENOTFOUND)
        reply_error(r, 404, "not_found",
                    "struere/development does not exist yet");
    else
        subcommand_answer(s, r, "compare", args);
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
    r->env = l->env;
    memcpy(r->commit, l->commit, sizeof(r->commit));
    if (rt->id == ROUTE_D_ACCESS) {
        envs_release(l);
        access(s, r->env, r->commit, r);
        return;
    }
    if (rt->id == ROUTE_D_DEFS)
        definitions(l, r);
    else if (struere_bundle_lookup(&body, &len, struere_runtime_bundle(l->rt),
                                   rt->kind, rt->slug, NULL) < 0)
        reply_error(r, 404, "not_found", "no %s '%s' in the %s bundle",
                    struere_kind_name(rt->kind), rt->slug,
                    struere_env_name(l->env));
    else
        rtout_json(r->f, body, len, true);
    envs_release(l);
}
