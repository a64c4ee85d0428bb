/*
 * request.h - the routes of `struere serve` and the parsing of what a
 * client sends (method and path, the Authorization header, the JSON
 * bodies' actor): pure functions over bytes, fuzzed by
 * tests/fuzz/fuzz_serve.c.
 */
#ifndef STRUERE_SERVER_REQUEST_H
#define STRUERE_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "struere.h"

enum srv_route_id {
    ROUTE_NONE,
    ROUTE_HEALTH,
    ROUTE_READY,
    ROUTE_METRICS,
    ROUTE_ROOT,
    ROUTE_LIST,      /* GET /v1/{kind} */
    ROUTE_GET,       /* GET /v1/{kind}/{slug} */
    ROUTE_AUTHORIZE, /* POST /v1/authorize */
    ROUTE_BATCH,     /* POST /v1/authorize/batch */
    ROUTE_PROMPT,    /* POST /v1/agents/{slug}/prompt */
    ROUTE_MODEL,     /* POST /v1/agents/{slug}/model-request */
    ROUTE_EVENTS,    /* POST /v1/events */
    ROUTE_QUERY,     /* POST /v1/entities/query (eval) */
    ROUTE_ENTITY,    /* POST /v1/entities/get (eval) */
    ROUTE_EVALS,     /* GET /v1/evals (eval) */
    ROUTE_PLAN,      /* GET /v1/evals/{suite}/plan (eval) */
    ROUTE_D_ENVS,    /* GET /dashboard/api/environments */
    ROUTE_D_DEFS,    /* GET /dashboard/api/env/{env}/definitions */
    ROUTE_D_DEF,     /* GET /dashboard/api/env/{env}/{kind}/{slug} */
    ROUTE_D_ACCESS,  /* GET /dashboard/api/env/{env}/access */
    ROUTE_D_HISTORY, /* GET /dashboard/api/history */
    ROUTE_D_COMPARE, /* GET /dashboard/api/compare */
    ROUTE_COUNT
};

/* The longest slug a path may name (longer is 404: no definition has it). */
#define SRV_SLUG_MAX 255

struct srv_route {
    enum srv_route_id id;
    int kind; /* STRUERE_KIND_* for LIST, GET, D_DEF */
    int env;  /* STRUERE_ENV_* for D_* */
    char slug[SRV_SLUG_MAX + 1];
};

/* The label of a route in /metrics ("/v1/{kind}/{slug}" style). */
const char *route_label(enum srv_route_id id);
/* Whether the route is under /v1 (a key needed), /dashboard (the token),
 * or public. */
bool route_is_v1(enum srv_route_id id);
bool route_is_dashboard(enum srv_route_id id);
/* Whether only eval keys may use it. */
bool route_eval_only(enum srv_route_id id);

/*
 * Matches method and path (percent-decoded, without the query). Returns
 * 200 with *out filled, 404 for no route, 405 for a route that exists with
 * other methods (*allow names them).
 */
int route_parse(struct srv_route *out, const char **allow, const char *method,
                const char *path);

/* The token of an "Authorization: Bearer TOKEN" value: its start and
 * length, or NULL when the header is not that (missing, other scheme,
 * empty, with control characters or spaces inside). */
const char *auth_bearer(const char *header, size_t *len);

/* The kind named in a URL ("agents", "data-types", "roles", "tools",
 * "automations", "evals", "fixtures"); -1. */
int route_kind(const char *s, size_t n);
/* The URL name of a kind. */
const char *route_kind_name(int kind);

#endif
