/*
 * kind_test.c - policy tests (tests/<slug>.test.yaml): what the schema
 * cannot say about a case. Its actor is one agent, role set or user; it
 * asks either a request (action on resource, maybe on a record) or a
 * query; and every agent, role, data type, fixture record and field path
 * it names exists. Checked in eval's view, where the fixtures are.
 */
#include <stdio.h>
#include <string.h>

#include "index.h"
#include "kinds.h"
#include "node.h"
#include "schema.h"

/* The role slugs of `v`: one string, or a list of them. */
static void check_roles(struct check_ctx *c, const struct node *v)
{
    if (v && v->type == NODE_STRING) {
        if (!check_lookup(c, KIND_ROLE, v->str))
            check_unknown_ref(c, v, KIND_ROLE, "unknown-role", "role", NULL);
        return;
    }
    for (size_t i = 0; v && v->type == NODE_SEQ && i < v->n; i++)
        check_roles(c, &v->kids[i]);
}

static void check_actor(struct check_ctx *c, const struct node *actor)
{
    if (!actor || actor->type != NODE_MAP)
        return;
    const struct node *agent = node_get(actor, "agent");
    const struct node *role = node_get(actor, "role");
    const struct node *user = node_get(actor, "user");
    int kinds = !!agent + !!role + !!user;
    if (kinds != 1) {
        diag_error(c->diags, actor, "test-actor",
                   "write agent: SLUG, role: [SLUG, ...], or user: ID with "
                   "roles: [SLUG, ...]",
                   kinds ? "the actor must be one of agent, role or user, "
                           "not several"
                         : "the actor names no agent, role or user");
        return;
    }
    const char *const with_user[] = {"roles", "entity"};
    for (size_t i = 0; i < 2; i++) {
        const struct node *k = node_get_key(actor, with_user[i]);
        if (k && !user)
            diag_error(c->diags, k, "test-actor",
                       agent ? "an agent acts with the roles its definition "
                               "lists"
                             : "write user: ID to give a user roles and an "
                               "entity",
                       "'%s' is for a user actor", with_user[i]);
    }
    if (user && !node_get(actor, "roles"))
        diag_error(c->diags, actor, "test-actor",
                   "list the user's roles (roles: [] for a user without any)",
                   "a user actor needs 'roles'");
    if (agent && agent->type == NODE_STRING &&
        !check_lookup(c, KIND_AGENT, agent->str))
        check_unknown_ref(c, agent, KIND_AGENT, "unknown-agent", "agent", NULL);
    check_roles(c, role);
    check_roles(c, node_get(actor, "roles"));
    check_role_count(c, role ? role : node_get(actor, "roles"), "test actor");
    const struct node *entity = node_get(actor, "entity");
    if (user && entity && entity->type == NODE_STRING &&
        !check_fixture_ref(c, entity->str))
        diag_error(c->diags, entity, "unknown-fixture-ref",
                   "an entity is the ref of a fixture record",
                   "entity '%s' is a record no fixture defines", entity->str);
}

/* A field path of `paths` (a list, or a map's keys) on records of type
 * `data`. */
static void check_paths(struct check_ctx *c, const struct node *paths,
                        const struct def *data, const char *type)
{
    if (!paths || !data || !data->root)
        return;
    bool map = paths->type == NODE_MAP;
    if (!map && paths->type != NODE_SEQ)
        return;
    for (size_t i = 0; i < paths->n; i++) {
        const struct node *p = map ? &paths->kids[2 * i] : &paths->kids[i];
        const char *why = NULL;
        if (p->type != NODE_STRING ||
            data_record_path(data->view[c->env], p->str, &why))
            continue;
        diag_error(c->diags, p, "unknown-field",
                   why ? why
                       : "paths are on the whole record: 'data.<field>' "
                         "(dots for nested fields)",
                   "'%s' is not a field of data type '%s'", p->str, type);
    }
}

/* The record of a request on data type `data` (NULL: users, or an
 * unknown type). */
static void check_record(struct check_ctx *c, const struct node *rec,
                         const struct node *resource, struct def *data)
{
    if (!rec || rec->type != NODE_MAP)
        return;
    const struct node *ref = node_get(rec, "ref");
    const struct node *inline_data = node_get(rec, "data");
    if (!!ref == !!inline_data) {
        diag_error(c->diags, rec, "test-record",
                   "write ref: FIXTURE-REF, or data: {...} (with optional id "
                   "and status)",
                   ref ? "the record is either a fixture ref or inline data, "
                         "not both"
                       : "the record names no fixture ref and no data");
        return;
    }
    if (ref) {
        const struct node *k = node_get_key(rec, "id");
        if (!k)
            k = node_get_key(rec, "status");
        if (k)
            diag_error(c->diags, k, "test-record",
                       "a fixture record has its own id and status",
                       "'%s' is for inline data, not a fixture ref", k->str);
    }
    if (resource && resource->type == NODE_STRING &&
        !strcmp(resource->str, "users")) {
        diag_error(c->diags, rec, "test-record",
                   "users are not records: remove the record",
                   "a request on users takes no record");
        return;
    }
    if (ref && ref->type == NODE_STRING) {
        const struct node *target = check_fixture_ref(c, ref->str);
        if (!target) {
            diag_error(c->diags, ref, "unknown-fixture-ref",
                       "a record ref names a record of a fixture",
                       "record '%s' is defined by no fixture", ref->str);
            return;
        }
        const char *ttype = node_get_str(target, "type");
        if (data && ttype && strcmp(ttype, data->slug))
            diag_error(c->diags, ref, "fixture-ref-type",
                       "test a record of the resource's type",
                       "the request is on '%s', but record '%s' is a '%s'",
                       data->slug, ref->str, ttype);
    } else if (data && data->root && inline_data->type == NODE_MAP) {
        const struct schema *s = index_get(c->record_schemas, data->slug);
        if (s)
            schema_validate_within(s, inline_data, "inline record data",
                                   c->diags);
    }
}

static void check_case(struct check_ctx *c, const struct node *cs)
{
    check_actor(c, node_get(cs, "actor"));
    const struct node *action = node_get(cs, "action");
    const struct node *resource = node_get(cs, "resource");
    const struct node *query = node_get(cs, "query");
    const struct node *expect = node_get(cs, "expect");
    const struct node *record = node_get(cs, "record");
    static const char *const extra[] = {"users", NULL};
    if (query && (action || resource)) {
        diag_error(c->diags, node_get_key(cs, action ? "action" : "resource"),
                   "test-request",
                   "split it into two cases: a query, and a request",
                   "a case is a query or a request (action and resource), "
                   "not both");
        return;
    }
    if (!query && (!action || !resource)) {
        diag_error(c->diags, action ? node_get_key(cs, "action") : cs,
                   "test-request",
                   "write action: and resource:, or query: TYPE",
                   action     ? "the request has an action but no resource"
                   : resource ? "the request has a resource but no action"
                              : "the case asks nothing: no action and "
                                "resource, and no query");
        return;
    }
    const struct node *filters = node_get_key(cs, "filters");
    if (!query && filters)
        diag_error(c->diags, filters, "test-request",
                   "filters narrow a query: use query: TYPE",
                   "'filters' is for a query");
    if (query && record)
        diag_error(c->diags, node_get_key(cs, "record"), "test-request",
                   "a query lists the fixture records of its type",
                   "'record' is for a request, not a query");
    const struct node *type = query ? query : resource;
    struct def *data = NULL;
    if (type->type == NODE_STRING && (query || strcmp(type->str, "users"))) {
        data = check_lookup(c, KIND_DATA, type->str);
        if (!data)
            check_unknown_ref(c, type, KIND_DATA, "unknown-data-type",
                              query ? "query type" : "resource",
                              query ? NULL : extra);
    }
    if (!query)
        check_record(c, record, resource, data);
    if (!expect || expect->type != NODE_MAP)
        return;
    const struct node *decision = node_get(expect, "decision");
    const struct node *ids = node_get(expect, "ids");
    if (query && decision)
        diag_error(c->diags, node_get_key(expect, "decision"), "test-expect",
                   "expect ids: [...] (a denied query returns none)",
                   "'decision' is for a request, not a query");
    if (query && !ids)
        diag_error(c->diags, expect, "test-expect",
                   "list the fixture refs the actor sees: ids: [] for none",
                   "a query case needs 'ids'");
    if (!query && ids)
        diag_error(c->diags, node_get_key(expect, "ids"), "test-expect",
                   "ids are what a query returns: use query: TYPE",
                   "'ids' is for a query, not a request");
    if (!query && !decision)
        diag_error(c->diags, expect, "test-expect",
                   "write decision: allow or decision: deny",
                   "a request case needs 'decision'");
    const char *const fields[] = {"visible", "hidden", "masked"};
    for (size_t i = 0; i < 3; i++) {
        const struct node *k = node_get_key(expect, fields[i]);
        if (!k)
            continue;
        if (!query && !record)
            diag_error(c->diags, k, "test-expect",
                       "give the case a record: ref or inline data",
                       "'%s' needs a record to look at", fields[i]);
        else if (!query && node_is_str(decision, "deny"))
            diag_error(c->diags, k, "test-expect",
                       "a denied request shows no record: expect allow, or "
                       "drop the field expectations",
                       "'%s' with decision deny", fields[i]);
        else if (data)
            check_paths(c, node_get(expect, fields[i]), data, data->slug);
    }
    for (size_t i = 0; ids && ids->type == NODE_SEQ && i < ids->n; i++) {
        const struct node *id = &ids->kids[i];
        if (id->type != NODE_STRING)
            continue;
        const struct node *target = check_fixture_ref(c, id->str);
        const char *ttype = target ? node_get_str(target, "type") : NULL;
        if (!target)
            diag_error(c->diags, id, "unknown-fixture-ref",
                       "ids are refs of fixture records",
                       "record '%s' is defined by no fixture", id->str);
        else if (data && ttype && strcmp(ttype, data->slug))
            diag_error(c->diags, id, "fixture-ref-type",
                       "a query returns records of its type only",
                       "the query lists '%s', but record '%s' is a '%s'",
                       data->slug, id->str, ttype);
        for (size_t j = 0; j < i; j++)
            if (node_equal(&ids->kids[j], id)) {
                diag_error(c->diags, id, "duplicate-entry",
                           "list each record once",
                           "record '%s' is listed twice", id->str);
                break;
            }
    }
}

void test_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    (void)d;
    const struct node *cases = node_get(view, "cases");
    for (size_t i = 0; cases && cases->type == NODE_SEQ && i < cases->n; i++) {
        const struct node *cs = &cases->kids[i];
        if (cs->type != NODE_MAP)
            continue;
        check_case(c, cs);
        const struct node *name = node_get(cs, "name");
        for (size_t j = 0; name && j < i; j++)
            if (node_equal(node_get(&cases->kids[j], "name"), name)) {
                diag_error(c->diags, name, "duplicate-entry",
                           "give each case its own name: failures are "
                           "reported by name",
                           "case name '%s' is used twice",
                           name->type == NODE_STRING ? name->str : "?");
                break;
            }
    }
}
