/*
 * cedar_request.h - reads the lines of tests/runtime/cedar/decisions.jsonl
 * (header only): used by the differential test (cedar_test.c) and by the
 * decision benchmark (bench/decide/decide.c), which time the same
 * requests. A line: {"actor":{"type","id"?,"roles"?,"entity"?},
 * "action","resource","record"|null,"decision"}.
 */
#ifndef CEDAR_REQUEST_H
#define CEDAR_REQUEST_H

#include <stdio.h>
#include <string.h>

#include "struere.h"

/* A JSON string at `path` of the line, decoded into buf; 0 when absent. */
static inline int cedar_str(const char *line, size_t len, const char *path,
                            char *buf, size_t cap)
{
    struere_json v;
    if (struere_json_get(&v, line, len, path, NULL) < 0 ||
        struere_json_type(v, NULL) != STRUERE_JSON_STRING)
        return 0;
    return struere_json_string(buf, cap, NULL, v, NULL) == 0;
}

/* The actor of the line's "actor" object (NULL with the reason in `why`
 * when the line has none or the runtime refuses it). */
static inline struere_actor *cedar_actor(struere_runtime *rt, const char *line,
                                         size_t len, char *why, size_t why_cap)
{
    char type[32], id[256], entity[256], roles[16][128];
    const char *role_ptrs[16];
    struere_actor_spec spec = {0};
    struere_actor *a = NULL;
    struere_error err;
    if (!cedar_str(line, len, "actor.type", type, sizeof(type))) {
        snprintf(why, why_cap, "no actor.type");
        return NULL;
    }
    if (!strcmp(type, "system"))
        spec.type = STRUERE_ACTOR_SYSTEM;
    else if (!strcmp(type, "admin"))
        spec.type = STRUERE_ACTOR_ADMIN;
    else if (!strcmp(type, "agent"))
        spec.type = STRUERE_ACTOR_AGENT;
    else
        spec.type = STRUERE_ACTOR_USER;
    if (cedar_str(line, len, "actor.id", id, sizeof(id)))
        spec.id = id;
    if (cedar_str(line, len, "actor.entity", entity, sizeof(entity)))
        spec.entity_id = entity;
    for (size_t i = 0; i < 16; i++) {
        char path[64];
        snprintf(path, sizeof(path), "actor.roles.%zu", i);
        if (!cedar_str(line, len, path, roles[i], sizeof(roles[i])))
            break;
        role_ptrs[i] = roles[i];
        spec.role_count = i + 1;
    }
    spec.roles = role_ptrs;
    if (struere_actor_new(&a, rt, &spec, &err) < 0)
        snprintf(why, why_cap, "actor: %.280s", err.message);
    return a;
}

#endif
