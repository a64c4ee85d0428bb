/*
 * request.c - the routes table of `struere serve` and the parsing of
 * paths and Authorization headers. No allocation, no I/O: fuzzed.
 */
#include <string.h>
#include <strings.h>

#include "request.h"

static const struct {
    const char *name;
    int kind;
} url_kinds[] = {
    {"agents", STRUERE_KIND_AGENT},
    {"data-types", STRUERE_KIND_DATA},
    {"roles", STRUERE_KIND_ROLE},
    {"tools", STRUERE_KIND_TOOL},
    {"automations", STRUERE_KIND_AUTOMATION},
    {"evals", STRUERE_KIND_EVAL},
    {"fixtures", STRUERE_KIND_FIXTURE},
};

int route_kind(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(url_kinds) / sizeof(*url_kinds); i++)
        if (strlen(url_kinds[i].name) == n && !memcmp(s, url_kinds[i].name, n))
            return url_kinds[i].kind;
    return -1;
}

const char *route_kind_name(int kind)
{
    for (size_t i = 0; i < sizeof(url_kinds) / sizeof(*url_kinds); i++)
        if (url_kinds[i].kind == kind)
            return url_kinds[i].name;
    return "?";
}

static const char *const labels[ROUTE_COUNT] = {
    [ROUTE_NONE] = "other",
    [ROUTE_HEALTH] = "/health",
    [ROUTE_READY] = "/ready",
    [ROUTE_METRICS] = "/metrics",
    [ROUTE_ROOT] = "/",
    [ROUTE_LIST] = "/v1/{kind}",
    [ROUTE_GET] = "/v1/{kind}/{slug}",
    [ROUTE_AUTHORIZE] = "/v1/authorize",
    [ROUTE_BATCH] = "/v1/authorize/batch",
    [ROUTE_PROMPT] = "/v1/agents/{slug}/prompt",
    [ROUTE_MODEL] = "/v1/agents/{slug}/model-request",
    [ROUTE_EVENTS] = "/v1/events",
    [ROUTE_QUERY] = "/v1/entities/query",
    [ROUTE_ENTITY] = "/v1/entities/get",
    [ROUTE_EVALS] = "/v1/evals",
    [ROUTE_PLAN] = "/v1/evals/{suite}/plan",
    [ROUTE_D_ENVS] = "/dashboard/api/environments",
    [ROUTE_D_DEFS] = "/dashboard/api/env/{env}/definitions",
    [ROUTE_D_DEF] = "/dashboard/api/env/{env}/{kind}/{slug}",
    [ROUTE_D_ACCESS] = "/dashboard/api/env/{env}/access",
    [ROUTE_D_HISTORY] = "/dashboard/api/history",
    [ROUTE_D_COMPARE] = "/dashboard/api/compare",
};

const char *route_label(enum srv_route_id id)
{
    return id < ROUTE_COUNT && labels[id] ? labels[id] : "other";
}

bool route_is_v1(enum srv_route_id id)
{
    return id >= ROUTE_LIST && id <= ROUTE_PLAN;
}

bool route_is_dashboard(enum srv_route_id id)
{
    return id >= ROUTE_D_ENVS && id <= ROUTE_D_COMPARE;
}

bool route_eval_only(enum srv_route_id id)
{
    return id == ROUTE_QUERY || id == ROUTE_ENTITY || id == ROUTE_EVALS ||
           id == ROUTE_PLAN;
}

/* Splits path (after the leading '/') into at most `max` segments; the
 * count, or -1 for an empty segment, a segment too long, or too many. */
static int split(const char *path, const char **seg, size_t *len, int max)
{
    int n = 0;
    if (path[0] != '/')
        return -1;
    const char *p = path + 1;
    if (!*p)
        return 0;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (!l || l > SRV_SLUG_MAX || n == max)
            return -1;
        seg[n] = p;
        len[n++] = l;
        if (!e)
            return n;
        p = e + 1;
    }
}

static bool is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(s, lit, n);
}

/* A slug from a path segment: printable ASCII and UTF-8 bytes, no
 * control characters. */
static bool take_slug(struct srv_route *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(r->slug, s, n);
    r->slug[n] = 0;
    return true;
}

static int env_of(const char *s, size_t n)
{
    if (is(s, n, "development"))
        return STRUERE_ENV_DEVELOPMENT;
    if (is(s, n, "production"))
        return STRUERE_ENV_PRODUCTION;
    if (is(s, n, "eval"))
        return STRUERE_ENV_EVAL;
    return 0;
}

/* The route of the segments, ignoring the method; ROUTE_NONE. */
static enum srv_route_id match(struct srv_route *r, const char **g, size_t *l,
                               int n)
{
    if (n == 0)
        return ROUTE_ROOT;
    if (n == 1 && is(g[0], l[0], "health"))
        return ROUTE_HEALTH;
    if (n == 1 && is(g[0], l[0], "ready"))
        return ROUTE_READY;
    if (n == 1 && is(g[0], l[0], "metrics"))
        return ROUTE_METRICS;
    if (n >= 2 && is(g[0], l[0], "v1")) {
        if (n == 2 && is(g[1], l[1], "authorize"))
            return ROUTE_AUTHORIZE;
        if (n == 3 && is(g[1], l[1], "authorize") && is(g[2], l[2], "batch"))
            return ROUTE_BATCH;
        if (n == 2 && is(g[1], l[1], "events"))
            return ROUTE_EVENTS;
        if (n == 3 && is(g[1], l[1], "entities") && is(g[2], l[2], "query"))
            return ROUTE_QUERY;
        if (n == 3 && is(g[1], l[1], "entities") && is(g[2], l[2], "get"))
            return ROUTE_ENTITY;
        if (n == 2 && is(g[1], l[1], "evals"))
            return ROUTE_EVALS;
        if (n == 4 && is(g[1], l[1], "evals") && is(g[3], l[3], "plan"))
            return take_slug(r, g[2], l[2]) ? ROUTE_PLAN : ROUTE_NONE;
        if (n == 4 && is(g[1], l[1], "agents") &&
            (is(g[3], l[3], "prompt") || is(g[3], l[3], "model-request")))
            return !take_slug(r, g[2], l[2]) ? ROUTE_NONE
                   : g[3][0] == 'p'          ? ROUTE_PROMPT
                                             : ROUTE_MODEL;
        int kind = route_kind(g[1], l[1]);
        if (kind < 0 || kind == STRUERE_KIND_EVAL ||
            kind == STRUERE_KIND_FIXTURE)
            return ROUTE_NONE;
        r->kind = kind;
        if (n == 2)
            return ROUTE_LIST;
        if (n == 3)
            return take_slug(r, g[2], l[2]) ? ROUTE_GET : ROUTE_NONE;
        return ROUTE_NONE;
    }
    if (n >= 3 && is(g[0], l[0], "dashboard") && is(g[1], l[1], "api")) {
        if (n == 3 && is(g[2], l[2], "environments"))
            return ROUTE_D_ENVS;
        if (n == 3 && is(g[2], l[2], "history"))
            return ROUTE_D_HISTORY;
        if (n == 3 && is(g[2], l[2], "compare"))
            return ROUTE_D_COMPARE;
        if (n >= 5 && is(g[2], l[2], "env")) {
            if (!(r->env = env_of(g[3], l[3])))
                return ROUTE_NONE;
            if (n == 5 && is(g[4], l[4], "definitions"))
                return ROUTE_D_DEFS;
            if (n == 5 && is(g[4], l[4], "access"))
                return ROUTE_D_ACCESS;
            if (n == 6 && (r->kind = route_kind(g[4], l[4])) >= 0)
                return take_slug(r, g[5], l[5]) ? ROUTE_D_DEF : ROUTE_NONE;
        }
    }
    return ROUTE_NONE;
}

int route_parse(struct srv_route *out, const char **allow, const char *method,
                const char *path)
{
    const char *seg[8];
    size_t len[8];
    memset(out, 0, sizeof(*out));
    *allow = NULL;
    int n = split(path, seg, len, 8);
    if (n < 0)
        return 404;
    enum srv_route_id id = match(out, seg, len, n);
    if (id == ROUTE_NONE)
        return 404;
    out->id = id;
    bool post = id == ROUTE_AUTHORIZE || id == ROUTE_BATCH ||
                id == ROUTE_PROMPT || id == ROUTE_MODEL || id == ROUTE_EVENTS ||
                id == ROUTE_QUERY || id == ROUTE_ENTITY;
    const char *want = post ? "POST" : "GET";
    if (!strcmp(method, want) || (!post && !strcmp(method, "HEAD")))
        return 200;
    *allow = post ? "POST" : "GET, HEAD";
    return 405;
}

const char *auth_bearer(const char *h, size_t *len)
{
    if (!h || strncasecmp(h, "Bearer ", 7))
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = 0;
    while (h[n] && h[n] != ' ' && h[n] != '\t') {
        if ((unsigned char)h[n] < 0x21 || (unsigned char)h[n] > 0x7e)
            return NULL;
        n++;
    }
    const char *t = h + n;
    while (*t == ' ' || *t == '\t')
        t++;
    if (!n || *t)
        return NULL;
    *len = n;
    return h;
}
