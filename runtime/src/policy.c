/*
 * policy.c - the permission engine of DESIGN.md §6: actors, decisions,
 * row scope and field masks. An actor is prepared once (roles resolved to
 * the model's indexes, its values copied); a decision then compares
 * integers over the actor's roles' precompiled policies and allocates
 * nothing. Scope rules and masks are read from the model and applied to
 * the caller's JSON in place.
 */
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_output.h"

/* ---- actors ---- */

/* The strings an actor copies, laid out in one allocation. */
typedef struct copier {
    char *at;
} copier;

static rt_str copy_str(copier *c, const char *s, size_t n)
{
    rt_str out = {c->at, (uint32_t)n};
    memcpy(c->at, s, n);
    c->at[n] = 0;
    c->at += n + 1;
    return out;
}

/* The agent's role slugs, from its body: 0, or an error. */
static int agent_roles(const struere_runtime *rt, const char *slug,
                       struere_actor *a, struere_error *err)
{
    const char *body;
    size_t len;
    struere_json v, roles, r;
    rt_json_it it;
    int rc;
    if (struere_bundle_lookup(&body, &len, rt->bundle, STRUERE_KIND_AGENT, slug,
                              NULL) < 0)
        return rt_fail(err, STRUERE_ENOTFOUND, "no agent '%s' in the %s bundle",
                       slug, struere_env_name(rt->env));
    if (rt_json_value(body, len, &v) < 0 ||
        (rc = rt_json_member(v, "roles", 5, &roles)) < 0)
        return rt_fail(err, STRUERE_ECORRUPT, "agent '%s': invalid JSON", slug);
    if (rc == 0)
        return 0; /* an agent without roles has no data access */
    if (rt_json_iter(roles, STRUERE_JSON_ARRAY, &it) < 0)
        return rt_fail(err, STRUERE_ECORRUPT, "agent '%s': roles is not a list",
                       slug);
    while ((rc = rt_json_next(&it, NULL, &r)) == 1) {
        size_t index, n;
        char name[256];
        if (rt_json_kind(r) != STRUERE_JSON_STRING ||
            (n = rt_json_str_len(r)) >= sizeof(name))
            return rt_fail(err, STRUERE_ECORRUPT,
                           "agent '%s': a role is not a short string", slug);
        rt_json_str_decode(r, name);
        if (!rt_bundle_find(rt->bundle, STRUERE_KIND_ROLE, name, n, &index))
            return rt_fail(err, STRUERE_ENOTFOUND,
                           "agent '%s' holds role '%s', which the %s bundle "
                           "does not have",
                           slug, name, struere_env_name(rt->env));
        if (a->nroles == STRUERE_MAX_ACTOR_ROLES)
            return rt_fail(err, STRUERE_EINVAL,
                           "agent '%s' holds more than %d roles", slug,
                           STRUERE_MAX_ACTOR_ROLES);
        a->roles[a->nroles++] = (uint32_t)index;
    }
    if (rc < 0)
        return rt_fail(err, STRUERE_ECORRUPT, "agent '%s': invalid JSON", slug);
    return 0;
}

static int holds_role(const struere_actor *a, uint32_t role)
{
    for (size_t i = 0; i < a->nroles; i++)
        if (a->roles[i] == role)
            return 1;
    return 0;
}

/* In eval, a user's bound record: among the data types bound to one of
 * the user's roles (in slug order), the record whose data[userIdField]
 * equals the user id; the smallest id when several do. */
static const rt_record *find_entity(const rt_model *m, const struere_actor *a)
{
    for (size_t t = 0; t < m->ntypes; t++) {
        const rt_type *ty = &m->types[t];
        const rt_record *best = NULL;
        if (ty->bound_role == UINT32_MAX || !holds_role(a, ty->bound_role))
            continue;
        for (uint32_t i = 0; i < ty->nrecords; i++) {
            const rt_record *r = &m->records[m->by_type[ty->record0 + i]];
            struere_json v;
            if (!r->data.ptr || rt_json_member(r->data, ty->user_id_field.p,
                                               ty->user_id_field.n, &v) != 1)
                continue;
            if (rt_json_str_eq(v, a->user_id.p, a->user_id.n) &&
                (!best || rt_str_cmp(r->id, best->id) < 0))
                best = r;
        }
        if (best)
            return best;
    }
    return NULL;
}

int struere_actor_new(struere_actor **out, const struere_runtime *rt,
                      const struere_actor_spec *spec, struere_error *err)
{
    rt_clear(err);
    if (!out)
        return rt_fail(err, STRUERE_EINVAL, "no place for the actor");
    *out = NULL;
    if (!rt || !spec)
        return rt_fail(err, STRUERE_EINVAL, "no runtime or no actor spec");
    int type = spec->type;
    if (type < STRUERE_ACTOR_USER || type > STRUERE_ACTOR_ADMIN)
        return rt_fail(err, STRUERE_EINVAL, "unknown actor type %d", type);
    if ((type == STRUERE_ACTOR_USER || type == STRUERE_ACTOR_AGENT) &&
        (!spec->id || !spec->id[0]))
        return rt_fail(err, STRUERE_EINVAL, "a %s actor needs an id",
                       type == STRUERE_ACTOR_USER ? "user" : "agent");
    if (spec->role_count > STRUERE_MAX_ACTOR_ROLES)
        return rt_fail(err, STRUERE_EINVAL, "an actor holds at most %d roles",
                       STRUERE_MAX_ACTOR_ROLES);
    if (spec->role_count && !spec->roles)
        return rt_fail(err, STRUERE_EINVAL, "role_count without roles");
    if (spec->related_count && !spec->related)
        return rt_fail(err, STRUERE_EINVAL, "related_count without related");

    struere_actor *a = calloc(1, sizeof(*a));
    if (!a)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory");
    a->rt = rt;
    a->generation = rt->generation;
    a->type = type;
    int rc = 0;
    if (type == STRUERE_ACTOR_USER) {
        for (size_t i = 0; i < spec->role_count && rc == 0; i++) {
            size_t index;
            const char *r = spec->roles[i];
            if (!r || !rt_bundle_find(rt->bundle, STRUERE_KIND_ROLE, r,
                                      strlen(r), &index))
                rc = rt_fail(err, STRUERE_ENOTFOUND,
                             "no role '%s' in the %s bundle", r ? r : "(null)",
                             struere_env_name(rt->env));
            else if (!holds_role(a, (uint32_t)index))
                a->roles[a->nroles++] = (uint32_t)index;
        }
    } else if (type == STRUERE_ACTOR_AGENT) {
        rc = agent_roles(rt, spec->id, a, err);
    }
    /* Each role is compiled the first time an actor holds it; from then
     * on decisions only read it. */
    for (size_t i = 0; rc == 0 && i < a->nroles; i++)
        rc = rt_model_role(rt->bundle, rt->model, a->roles[i], err);
    if (rc < 0) {
        free(a);
        return rc;
    }

    /* Copy the strings: id, organization, entity, related pairs. */
    const rt_model *m = rt->model;
    const char *id = spec->id ? spec->id : "";
    const char *org = spec->organization_id;
    const rt_record *ent = NULL; /* the entity found, in eval */
    rt_str rel_from = {NULL, 0}; /* whose fixture relations are related */
    if (!spec->entity_id && type == STRUERE_ACTOR_USER &&
        rt->env == STRUERE_ENV_EVAL) {
        a->user_id.p = id; /* find_entity compares against it */
        a->user_id.n = (uint32_t)strlen(id);
        ent = find_entity(m, a);
        if (ent)
            rel_from = ent->id;
    } else if (spec->entity_id && rt->env == STRUERE_ENV_EVAL) {
        rel_from.p = spec->entity_id;
        rel_from.n = (uint32_t)strlen(spec->entity_id);
    }
    size_t need = strlen(id) + 1 + (org ? strlen(org) : m->org_id.n) + 1;
    if (spec->entity_id)
        need += strlen(spec->entity_id) + 1;
    else if (ent)
        need += ent->id.n + 1;
    size_t nrel = 0;
    if (spec->related) {
        for (size_t i = 0; i < spec->related_count; i++) {
            if (!spec->related[i].type || !spec->related[i].id) {
                free(a);
                return rt_fail(err, STRUERE_EINVAL,
                               "a related id without "
                               "type or id");
            }
            need +=
                strlen(spec->related[i].type) + strlen(spec->related[i].id) + 2;
        }
        nrel = spec->related_count;
    } else if (rel_from.p) {
        for (size_t i = 0; i < m->nrelations; i++)
            if (rt_str_eq(m->relations[i].from, rel_from)) {
                need += m->relations[i].type.n + m->relations[i].to.n + 2;
                nrel++;
            }
    }
    a->text = malloc(need);
    a->related = calloc(nrel ? nrel : 1, sizeof(struere_related));
    if (!a->text || !a->related) {
        free(a->text);
        free(a->related);
        free(a);
        return rt_fail(err, STRUERE_ENOMEM, "out of memory");
    }
    copier c = {a->text};
    a->user_id = copy_str(&c, id, strlen(id));
    a->org_id = org ? copy_str(&c, org, strlen(org))
                    : copy_str(&c, m->org_id.p, m->org_id.n);
    if (spec->entity_id) {
        a->has_entity = 1;
        a->entity_id = copy_str(&c, spec->entity_id, strlen(spec->entity_id));
    } else if (ent) {
        a->has_entity = 1;
        a->entity_id = copy_str(&c, ent->id.p, ent->id.n);
    }
    if (spec->related) {
        for (size_t i = 0; i < nrel; i++) {
            const struere_related *r = &spec->related[i];
            a->related[i].type = copy_str(&c, r->type, strlen(r->type)).p;
            a->related[i].id = copy_str(&c, r->id, strlen(r->id)).p;
        }
    } else if (rel_from.p) {
        size_t k = 0;
        for (size_t i = 0; i < m->nrelations; i++) {
            const rt_relation *r = &m->relations[i];
            if (!rt_str_eq(r->from, rel_from))
                continue;
            a->related[k].type = copy_str(&c, r->type.p, r->type.n).p;
            a->related[k].id = copy_str(&c, r->to.p, r->to.n).p;
            k++;
        }
    }
    a->nrelated = nrel;
    *out = a;
    return 0;
}

void struere_actor_free(struere_actor *a)
{
    if (!a)
        return;
    free(a->text);
    free(a->related);
    free(a);
}

const char *struere_actor_entity(const struere_actor *a)
{
    return a && a->has_entity ? a->entity_id.p : NULL;
}

const char *struere_actor_role(const struere_actor *a, size_t index)
{
    if (!a || index >= a->nroles || a->generation != a->rt->generation)
        return NULL;
    return a->rt->model->roles[a->roles[index]].slug;
}

/* ---- decisions ---- */

static int action_bit(const char *action)
{
    static const char *const names[] = {"create", "read", "update", "delete",
                                        "list"};
    for (int k = 0; k < 5; k++)
        if (strcmp(action, names[k]) == 0)
            return 1 << k;
    return 0;
}

static void decision_init(struere_decision *d, rt_dstate *st,
                          const struere_actor *a)
{
    d->allowed = 0;
    d->reason = 0;
    d->role = NULL;
    d->policy = -1;
    memset(st, 0, sizeof(*st));
    st->actor = a;
    st->generation = a ? a->generation : 0;
}

/* Decides into `out`, and how into `*st` (struere_decide stores it in
 * `out` once, on every return). */
static int decide(const struere_runtime *rt, const struere_actor *actor,
                  const char *action, const char *resource,
                  struere_decision *out, rt_dstate *st)
{
    decision_init(out, st, actor);
    if (!rt || !actor || !action || !resource || actor->rt != rt ||
        actor->generation != rt->generation)
        return STRUERE_EINVAL;
    int bit = action_bit(action);
    if (!bit)
        return STRUERE_EINVAL;
    st->action = bit;
    uint32_t res;
    if (strcmp(resource, "users") == 0) {
        res = RT_RES_USERS;
    } else {
        res = rt_model_type(rt->bundle, resource, strlen(resource));
        if (res == RT_RES_NONE)
            return STRUERE_ENOTFOUND;
    }
    st->resource = res;
    if (actor->type == STRUERE_ACTOR_ADMIN ||
        actor->type == STRUERE_ACTOR_SYSTEM) {
        out->allowed = 1;
        out->reason = actor->type == STRUERE_ACTOR_ADMIN
                          ? STRUERE_REASON_ADMIN
                          : STRUERE_REASON_SYSTEM;
        return 0;
    }
    if (actor->nroles == 0) {
        out->reason = STRUERE_REASON_NO_ROLES;
        return 0;
    }
    const rt_model *m = rt->model;
    const char *first_role = NULL;
    int first_policy = -1;
    uint64_t granting = 0;
    for (size_t i = 0; i < actor->nroles; i++) {
        const rt_role *r = &m->roles[actor->roles[i]];
        const rt_policy *p = r->policies;
        for (uint32_t k = 0; k < r->npolicies; k++) {
            if (!(p[k].actions & bit) ||
                (p[k].resource != res && p[k].resource != RT_RES_ANY))
                continue;
            if (!p[k].allow) {
                out->reason = STRUERE_REASON_DENIED;
                out->role = r->slug;
                out->policy = (int)k;
                return 0;
            }
            if (!(granting & ((uint64_t)1 << i))) {
                granting |= (uint64_t)1 << i;
                if (!first_role) {
                    first_role = r->slug;
                    first_policy = (int)k;
                }
            }
        }
    }
    if (!granting) {
        out->reason = STRUERE_REASON_NO_POLICY;
        return 0;
    }
    out->allowed = 1;
    out->reason = STRUERE_REASON_ALLOWED;
    out->role = first_role;
    out->policy = first_policy;
    st->granting = granting;
    return 0;
}

int struere_decide(struere_decision *out, const struere_runtime *rt,
                   const struere_actor *actor, const char *action,
                   const char *resource, struere_error *err)
{
    rt_dstate st;
    if (!out)
        return rt_result(err, STRUERE_EINVAL, "struere_decide");
    int rc = decide(rt, actor, action, resource, out, &st);
    rt_dstate_put(out, &st);
    return rt_result(err, rc, "struere_decide");
}

/* The decision's actor, when it is still valid for `rt`. */
static const struere_actor *actor_of(const struere_runtime *rt,
                                     const struere_decision *d)
{
    const rt_dstate ds = rt_dstate_get(d);
    const struere_actor *a = ds.actor;
    if (!rt || !a || a->rt != rt || a->generation != rt->generation ||
        ds.generation != rt->generation)
        return NULL;
    return a;
}

static int decision_policy(const struere_runtime *rt, const struere_decision *d,
                           size_t index, const char **role, int *policy,
                           int *allow)
{
    const rt_dstate ds = rt_dstate_get(d);
    const struere_actor *a = actor_of(rt, d);
    if (!a || !ds.action)
        return STRUERE_EINVAL;
    if (a->type != STRUERE_ACTOR_USER && a->type != STRUERE_ACTOR_AGENT)
        return STRUERE_ENOTFOUND;
    const rt_model *m = rt->model;
    size_t seen = 0;
    /* The same walk and the same match as struere_decide. */
    for (size_t i = 0; i < a->nroles; i++) {
        const rt_role *r = &m->roles[a->roles[i]];
        const rt_policy *p = r->policies;
        for (uint32_t k = 0; k < r->npolicies; k++) {
            if (!(p[k].actions & ds.action) ||
                (p[k].resource != ds.resource && p[k].resource != RT_RES_ANY))
                continue;
            if (seen++ != index)
                continue;
            if (role)
                *role = r->slug;
            if (policy)
                *policy = (int)k;
            if (allow)
                *allow = p[k].allow ? 1 : 0;
            return 0;
        }
    }
    return STRUERE_ENOTFOUND;
}

int struere_decision_policy(const char **role, int *policy, int *allow,
                            const struere_runtime *rt,
                            const struere_decision *d, size_t index,
                            struere_error *err)
{
    return rt_result(err, decision_policy(rt, d, index, role, policy, allow),
                     "struere_decision_policy");
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int actor_resources(const struere_runtime *rt, const struere_actor *a,
                           const char **out, size_t cap, size_t *count)
{
    if (!count || !rt || !a || a->rt != rt || a->generation != rt->generation)
        return STRUERE_EINVAL;
    const rt_model *m = rt->model;
    int every =
            a->type == STRUERE_ACTOR_ADMIN || a->type == STRUERE_ACTOR_SYSTEM,
        users = every;
    size_t total = 0, n = 0;
    for (size_t i = 0; i < a->nroles; i++)
        total += m->roles[a->roles[i]].npolicies;
    uint32_t *named = malloc((total ? total : 1) * sizeof(*named));
    if (!named)
        return STRUERE_ENOMEM;
    /* The same resources struere_decide matches policies against. */
    for (size_t i = 0; i < a->nroles && !every; i++) {
        const rt_role *r = &m->roles[a->roles[i]];
        for (uint32_t k = 0; k < r->npolicies; k++) {
            uint32_t res = r->policies[k].resource;
            if (res == RT_RES_ANY)
                every = users = 1;
            else if (res == RT_RES_USERS)
                users = 1;
            else if (res < m->ntypes)
                named[n++] = res;
        }
    }
    size_t found = 0;
    if (every) {
        for (size_t t = 0; t < m->ntypes; t++, found++)
            if (found < cap)
                out[found] = m->types[t].slug;
    } else {
        qsort(named, n, sizeof(*named), cmp_u32);
        for (size_t i = 0; i < n; i++) {
            if (i && named[i] == named[i - 1])
                continue;
            if (found < cap)
                out[found] = m->types[named[i]].slug;
            found++;
        }
    }
    if (users) {
        if (found < cap)
            out[found] = "users";
        found++;
    }
    free(named);
    *count = found;
    return 0;
}

int struere_actor_resources(const char **out, size_t cap, size_t *count,
                            const struere_runtime *rt, const struere_actor *a,
                            struere_error *err)
{
    return rt_result(err, actor_resources(rt, a, out, cap, count),
                     "struere_actor_resources");
}

/* Does one rule accept the record? 1, 0, or STRUERE_EJSON. */
static int rule_accepts(const rt_rule *rule, const struere_actor *a,
                        struere_json record)
{
    struere_json v;
    int found = rt_json_path(record, rule->field.p, rule->field.n, &v);
    if (found < 0)
        return STRUERE_EJSON;
    int is_str = found && rt_json_kind(v) == STRUERE_JSON_STRING;
    int eq = 0;
    switch (rule->value) {
    case RT_VAL_LITERAL:
        eq = is_str && rt_json_str_eq(v, rule->text.p, rule->text.n);
        if (rule->op == RT_OP_CONTAINS)
            return is_str &&
                   rt_json_str_contains(v, rule->text.p, rule->text.n);
        break;
    case RT_VAL_USER_ID:
    case RT_VAL_ORG_ID:
    case RT_VAL_ENTITY_ID: {
        rt_str s;
        if (rule->value == RT_VAL_ENTITY_ID) {
            if (!a->has_entity)
                return rule->op == RT_OP_NEQ; /* unresolved matches nothing */
            s = a->entity_id;
        } else {
            s = rule->value == RT_VAL_USER_ID ? a->user_id : a->org_id;
        }
        if (rule->op == RT_OP_CONTAINS)
            return is_str && rt_json_str_contains(v, s.p, s.n);
        eq = is_str && rt_json_str_eq(v, s.p, s.n);
        break;
    }
    case RT_VAL_RELATED:
        /* an array: never equal to a field, never a substring */
        if (rule->op == RT_OP_IN) {
            if (!is_str)
                return 0;
            for (size_t i = 0; i < a->nrelated; i++) {
                const struere_related *r = &a->related[i];
                if (strlen(r->type) == rule->text.n &&
                    memcmp(r->type, rule->text.p, rule->text.n) == 0 &&
                    rt_json_str_eq(v, r->id, strlen(r->id)))
                    return 1;
            }
            return 0;
        }
        eq = 0;
        if (rule->op == RT_OP_CONTAINS)
            return 0;
        break;
    }
    switch (rule->op) {
    case RT_OP_EQ:
        return eq;
    case RT_OP_NEQ:
        return !eq;
    default: /* `in` needs an array value; contains was answered above */
        return 0;
    }
}

/* The record as a JSON object value, validated as it is read. */
static int record_value(const char *record, size_t len, struere_json *out)
{
    if (!record)
        return STRUERE_EJSON;
    size_t i = 0;
    while (i < len && (record[i] == ' ' || record[i] == '\n' ||
                       record[i] == '\t' || record[i] == '\r'))
        i++;
    if (i >= len || record[i] != '{')
        return STRUERE_EJSON;
    out->ptr = record + i;
    out->len = len - i;
    return 0;
}

/* Whether the record passes the row scope of one of the decision's
 * granting roles: 1 (*admitting, when not NULL, the first such role's
 * index in the actor's roles; SIZE_MAX for an admin or system actor),
 * 0, or an error. */
static int visible(const struere_runtime *rt, const struere_actor *a,
                   const struere_decision *d, const rt_dstate *dsp,
                   struere_json rec, size_t *admitting)
{
    const rt_dstate ds = *dsp;
    if (!d->allowed)
        return 0;
    if (admitting)
        *admitting = SIZE_MAX;
    if (a->type == STRUERE_ACTOR_ADMIN || a->type == STRUERE_ACTOR_SYSTEM)
        return 1;
    const rt_model *m = rt->model;
    int res_is_type = ds.resource < m->ntypes;
    for (size_t i = 0; i < a->nroles; i++) {
        if (!(ds.granting & ((uint64_t)1 << i)))
            continue;
        const rt_role *r = &m->roles[a->roles[i]];
        int all = 1;
        for (uint32_t k = 0; k < r->nrules && all; k++) {
            const rt_rule *rule = &r->rules[k];
            if (!res_is_type || rule->type != ds.resource)
                continue;
            int ok = rule_accepts(rule, a, rec);
            if (ok < 0)
                return ok;
            all = ok;
        }
        if (all) {
            if (admitting)
                *admitting = i;
            return 1;
        }
    }
    return 0;
}

static int record_visible(const struere_runtime *rt, const struere_decision *d,
                          const char *record, size_t len)
{
    const struere_actor *a = actor_of(rt, d);
    struere_json rec;
    if (!a)
        return STRUERE_EINVAL;
    if (record_value(record, len, &rec) < 0)
        return STRUERE_EJSON;
    const rt_dstate ds = rt_dstate_get(d);
    return visible(rt, a, d, &ds, rec, NULL);
}

int struere_record_visible(const struere_runtime *rt, const struere_decision *d,
                           const char *record, size_t len, struere_error *err)
{
    return rt_result(err, record_visible(rt, d, record, len),
                     "struere_record_visible");
}

static int decide_record(const struere_runtime *rt, const struere_actor *actor,
                         const char *action, const char *resource,
                         const char *record, size_t len, struere_decision *out)
{
    struere_json rec;
    rt_dstate st;
    if (!out)
        return STRUERE_EINVAL;
    int rc = decide(rt, actor, action, resource, out, &st);
    rt_dstate_put(out, &st);
    if (rc < 0 || !out->allowed)
        return rc;
    size_t admitting = SIZE_MAX;
    if (record_value(record, len, &rec) < 0)
        rc = STRUERE_EJSON;
    else
        rc = visible(rt, actor, out, &st, rec, &admitting);
    if (rc < 0) { /* never leave an allow behind an error */
        out->allowed = 0;
        out->role = NULL;
        out->policy = -1;
        return rc;
    }
    if (!rc) {
        out->allowed = 0;
        out->reason = STRUERE_REASON_OUT_OF_SCOPE;
        out->role = NULL; /* no one role decided: every granting one refused */
        out->policy = -1;
    } else if (admitting != SIZE_MAX) {
        /* The role whose scope admitted the record decided, not merely
         * the first that grants the action: its first granting policy. */
        const rt_role *r = &rt->model->roles[actor->roles[admitting]];
        for (uint32_t k = 0; k < r->npolicies; k++) {
            const rt_policy *p = &r->policies[k];
            if (p->allow && (p->actions & st.action) &&
                (p->resource == st.resource || p->resource == RT_RES_ANY)) {
                out->role = r->slug;
                out->policy = (int)k;
                break;
            }
        }
    }
    return 0;
}

int struere_decide_record(struere_decision *out, const struere_runtime *rt,
                          const struere_actor *actor, const char *action,
                          const char *resource, const char *record, size_t len,
                          struere_error *err)
{
    return rt_result(
        err, decide_record(rt, actor, action, resource, record, len, out),
        "struere_decide_record");
}

/* ---- explaining a decision ---- */

static const char *resource_name(const struere_runtime *rt, size_t res)
{
    if (res == RT_RES_USERS)
        return "users";
    if (res < rt->model->ntypes)
        return rt->model->types[res].slug;
    return "?";
}

/* What the deciding policy says: "deny delete on *", into `b`. */
static void policy_text(const struere_runtime *rt, const struere_decision *d,
                        rt_buf *b)
{
    static const char *const names[] = {"create", "read", "update", "delete",
                                        "list"};
    size_t index;
    const rt_policy *p = NULL;
    if (rt && d->role && d->policy >= 0 &&
        rt_bundle_find(rt->bundle, STRUERE_KIND_ROLE, d->role, strlen(d->role),
                       &index)) {
        const rt_role *r = &rt->model->roles[index];
        /* A decision of this runtime compiled its role; one of another
         * runtime may name a role this one has not compiled (or is
         * compiling now): its arrays are read only once published. */
        if (__atomic_load_n(&r->compiled, __ATOMIC_ACQUIRE) &&
            (uint32_t)d->policy < r->npolicies)
            p = &r->policies[d->policy];
    }
    if (!p) {
        rt_buf_puts(b, "?");
        return;
    }
    rt_buf_puts(b, p->allow ? "allow " : "deny ");
    if (p->actions == RT_ACTION_ALL) {
        rt_buf_puts(b, "*");
    } else {
        const char *sep = "";
        for (int k = 0; k < 5; k++)
            if (p->actions & (1 << k)) {
                rt_buf_puts(b, sep);
                rt_buf_puts(b, names[k]);
                sep = ", ";
            }
    }
    rt_buf_puts(b, " on ");
    rt_buf_puts(b, p->resource == RT_RES_ANY ? "*"
                                             : resource_name(rt, p->resource));
}

/* An int in decimal, as "%d" writes it. */
static void put_int(rt_buf *b, int v)
{
    char digits[3 * sizeof(int) + 2]; /* digits and a sign, at most */
    size_t n = sizeof(digits);
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do
        digits[--n] = (char)('0' + u % 10);
    while ((u /= 10));
    if (v < 0)
        digits[--n] = '-';
    rt_buf_put(b, digits + n, sizeof(digits) - n);
}

/* Written without printf: it is part of every decision's answer. */
int struere_reason_text(char *buf, size_t cap, size_t *len,
                        const struere_runtime *rt, const struere_decision *d,
                        struere_error *err)
{
    const char *res =
        rt && d ? resource_name(rt, rt_dstate_get(d).resource) : "?";
    rt_buf b;
    rt_buf_fixed(&b, buf, cap);
    switch (d ? d->reason : 0) {
    case STRUERE_REASON_ADMIN:
        rt_buf_puts(&b, "Organization admin has full access");
        break;
    case STRUERE_REASON_SYSTEM:
        rt_buf_puts(&b, "The system actor has full access");
        break;
    case STRUERE_REASON_NO_ROLES:
        rt_buf_puts(&b, "Actor has no roles assigned");
        break;
    case STRUERE_REASON_DENIED:
    case STRUERE_REASON_ALLOWED: {
        /* the policy's text as it always was: at most 159 bytes */
        char what[160];
        rt_buf w;
        rt_buf_fixed(&w, what, sizeof(what));
        policy_text(rt, d, &w);
        rt_buf_finish(&w);
        rt_buf_puts(&b,
                    d->reason == STRUERE_REASON_DENIED ? "Denied" : "Allowed");
        rt_buf_puts(&b, " by role '");
        rt_buf_puts(&b, d->role ? d->role : "(null)");
        rt_buf_puts(&b, "', policies[");
        put_int(&b, d->policy);
        rt_buf_puts(&b, "] (");
        rt_buf_puts(&b, what);
        rt_buf_puts(&b, ")");
        break;
    }
    case STRUERE_REASON_NO_POLICY:
        rt_buf_puts(&b, "No policy grants this action on ");
        rt_buf_puts(&b, res);
        break;
    case STRUERE_REASON_OUT_OF_SCOPE:
        rt_buf_puts(&b, "The record is outside the row scope of every role "
                        "granting this action on ");
        rt_buf_puts(&b, res);
        break;
    default:
        rt_buf_puts(&b, "No decision");
    }
    if (len)
        *len = b.len;
    return rt_result(err, rt_buf_finish(&b) < 0 ? STRUERE_ERANGE : 0,
                     "struere_reason_text");
}

static void put_rstr(rt_buf *b, rt_str s)
{
    rt_buf_json_str(b, s.p, s.n);
}

/* A rule's value as the role writes it, as JSON: a literal as a string,
 * an actor reference as {"actor": NAME} (and "relation": TYPE). */
static void put_written(rt_buf *b, const rt_rule *rule)
{
    switch (rule->value) {
    case RT_VAL_USER_ID:
        rt_buf_puts(b, "{\"actor\":\"userId\"}");
        return;
    case RT_VAL_ORG_ID:
        rt_buf_puts(b, "{\"actor\":\"organizationId\"}");
        return;
    case RT_VAL_ENTITY_ID:
        rt_buf_puts(b, "{\"actor\":\"entityId\"}");
        return;
    case RT_VAL_RELATED:
        rt_buf_puts(b, "{\"actor\":\"relatedIds\",\"relation\":");
        put_rstr(b, rule->text);
        rt_buf_puts(b, "}");
        return;
    default:
        put_rstr(b, rule->text);
    }
}

/* A rule's value as the actor resolves it, as JSON. */
static void put_value(rt_buf *b, const rt_rule *rule, const struere_actor *a)
{
    switch (rule->value) {
    case RT_VAL_USER_ID:
        put_rstr(b, a->user_id);
        return;
    case RT_VAL_ORG_ID:
        put_rstr(b, a->org_id);
        return;
    case RT_VAL_ENTITY_ID:
        if (a->has_entity)
            put_rstr(b, a->entity_id);
        else
            rt_buf_puts(b, "null");
        return;
    case RT_VAL_RELATED: {
        int first = 1;
        rt_buf_puts(b, "[");
        for (size_t i = 0; i < a->nrelated; i++) {
            const struere_related *r = &a->related[i];
            if (strlen(r->type) != rule->text.n ||
                memcmp(r->type, rule->text.p, rule->text.n) != 0)
                continue;
            if (!first)
                rt_buf_puts(b, ",");
            first = 0;
            rt_buf_json_str(b, r->id, strlen(r->id));
        }
        rt_buf_puts(b, "]");
        return;
    }
    default:
        put_rstr(b, rule->text);
    }
}

static const char *op_name(int op)
{
    switch (op) {
    case RT_OP_EQ:
        return "eq";
    case RT_OP_NEQ:
        return "neq";
    case RT_OP_IN:
        return "in";
    default:
        return "contains";
    }
}

static int finish_fixed(rt_buf *b, size_t *len)
{
    if (len)
        *len = b->len;
    return rt_buf_finish(b);
}

static int predicate_json(const struere_runtime *rt, const struere_decision *d,
                          int written, char *buf, size_t cap, size_t *len)
{
    const rt_dstate ds = rt_dstate_get(d);
    const struere_actor *a = actor_of(rt, d);
    rt_buf b;
    if (!a)
        return STRUERE_EINVAL;
    rt_buf_fixed(&b, buf, cap);
    if (!d->allowed) {
        rt_buf_puts(&b, "false");
        return finish_fixed(&b, len);
    }
    if (a->type == STRUERE_ACTOR_ADMIN || a->type == STRUERE_ACTOR_SYSTEM) {
        rt_buf_puts(&b, "true");
        return finish_fixed(&b, len);
    }
    const rt_model *m = rt->model;
    /* A granting role without rules for the type: every record. */
    for (size_t i = 0; i < a->nroles; i++) {
        if (!(ds.granting & ((uint64_t)1 << i)))
            continue;
        const rt_role *r = &m->roles[a->roles[i]];
        int rules = 0;
        for (uint32_t k = 0; k < r->nrules; k++)
            rules += r->rules[k].type == ds.resource;
        if (!rules) {
            rt_buf_puts(&b, "true");
            return finish_fixed(&b, len);
        }
    }
    rt_buf_puts(&b, "{\"anyOf\":[");
    int first_role = 1;
    for (size_t i = 0; i < a->nroles; i++) {
        if (!(ds.granting & ((uint64_t)1 << i)))
            continue;
        const rt_role *r = &m->roles[a->roles[i]];
        if (!first_role)
            rt_buf_puts(&b, ",");
        first_role = 0;
        rt_buf_puts(&b, "{\"role\":");
        rt_buf_json_str(&b, r->slug, strlen(r->slug));
        rt_buf_puts(&b, ",\"allOf\":[");
        int first = 1;
        for (uint32_t k = 0; k < r->nrules; k++) {
            const rt_rule *rule = &r->rules[k];
            if (rule->type != ds.resource)
                continue;
            if (!first)
                rt_buf_puts(&b, ",");
            first = 0;
            rt_buf_puts(&b, "{\"field\":");
            put_rstr(&b, rule->field);
            rt_buf_puts(&b, ",\"operator\":\"");
            rt_buf_puts(&b, op_name(rule->op));
            rt_buf_puts(&b, "\",\"value\":");
            if (written)
                put_written(&b, rule);
            else
                put_value(&b, rule, a);
            rt_buf_puts(&b, "}");
        }
        rt_buf_puts(&b, "]}");
    }
    rt_buf_puts(&b, "]}");
    return finish_fixed(&b, len);
}

int struere_predicate_json(char *buf, size_t cap, size_t *len,
                           const struere_runtime *rt, const struere_decision *d,
                           struere_error *err)
{
    return rt_result(err, predicate_json(rt, d, 0, buf, cap, len),
                     "struere_predicate_json");
}

int struere_predicate_written_json(char *buf, size_t cap, size_t *len,
                                   const struere_runtime *rt,
                                   const struere_decision *d,
                                   struere_error *err)
{
    return rt_result(err, predicate_json(rt, d, 1, buf, cap, len),
                     "struere_predicate_written_json");
}

/* ---- field masks ---- */

/* The masks of a decision: those of its granting roles for its resource.
 * Returns how many (at most `cap` are stored). */
static size_t masks_of(const struere_runtime *rt, const struere_actor *a,
                       const struere_decision *d, const rt_mask **out,
                       size_t cap)
{
    const rt_dstate ds = rt_dstate_get(d);
    size_t n = 0;
    if (!d->allowed || a->type == STRUERE_ACTOR_ADMIN ||
        a->type == STRUERE_ACTOR_SYSTEM)
        return 0;
    const rt_model *m = rt->model;
    for (size_t i = 0; i < a->nroles; i++) {
        if (!(ds.granting & ((uint64_t)1 << i)))
            continue;
        const rt_role *r = &m->roles[a->roles[i]];
        for (uint32_t k = 0; k < r->nmasks; k++) {
            const rt_mask *mk = &r->masks[k];
            if (mk->type != ds.resource)
                continue;
            if (n < cap)
                out[n] = mk;
            n++;
        }
    }
    return n;
}

/* The mask for exactly `path` (`n` bytes): a hide if any, else the first
 * redact; NULL when none. */
static const rt_mask *mask_at(const rt_mask *const *ms, size_t count,
                              const char *path, size_t n)
{
    const rt_mask *found = NULL;
    for (size_t i = 0; i < count; i++) {
        if (ms[i]->path.n != n || memcmp(ms[i]->path.p, path, n) != 0)
            continue;
        if (ms[i]->hide)
            return ms[i];
        if (!found)
            found = ms[i];
    }
    return found;
}

/* Is some mask below `path` (`n` bytes)? */
static int mask_below(const rt_mask *const *ms, size_t count, const char *path,
                      size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (ms[i]->path.n > n && memcmp(ms[i]->path.p, path, n) == 0 &&
            ms[i]->path.p[n] == '.')
            return 1;
    return 0;
}

#define MAX_MASKS 256
#define MAX_PATH 1024

static int mask_json(const struere_runtime *rt, const struere_decision *d,
                     char *buf, size_t cap, size_t *len)
{
    const struere_actor *a = actor_of(rt, d);
    const rt_mask *ms[MAX_MASKS];
    rt_buf b;
    if (!a)
        return STRUERE_EINVAL;
    size_t n = masks_of(rt, a, d, ms, MAX_MASKS);
    if (n > MAX_MASKS)
        return STRUERE_ERANGE;
    rt_buf_fixed(&b, buf, cap);
    rt_buf_puts(&b, "[");
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        /* once per path: the winning mask, where it first appears */
        const rt_mask *win = mask_at(ms, n, ms[i]->path.p, ms[i]->path.n);
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= rt_str_eq(ms[j]->path, ms[i]->path);
        if (seen)
            continue;
        if (!first)
            rt_buf_puts(&b, ",");
        first = 0;
        rt_buf_puts(&b, "{\"field\":");
        put_rstr(&b, win->path);
        if (win->hide) {
            rt_buf_puts(&b, ",\"mask\":\"hide\"}");
        } else {
            rt_buf_puts(&b, ",\"mask\":\"redact\",\"replacement\":");
            put_rstr(&b, win->replacement);
            rt_buf_puts(&b, "}");
        }
    }
    rt_buf_puts(&b, "]");
    return finish_fixed(&b, len);
}

int struere_mask_json(char *buf, size_t cap, size_t *len,
                      const struere_runtime *rt, const struere_decision *d,
                      struere_error *err)
{
    return rt_result(err, mask_json(rt, d, buf, cap, len), "struere_mask_json");
}

/* Writes the object `obj` found at `path` (`plen` bytes; "" at the top)
 * with the masks applied below it; validates it as it goes, and stores
 * where it ends in `*end` when not NULL. */
static int write_masked(rt_buf *b, struere_json obj, char *path, size_t plen,
                        const rt_mask *const *ms, size_t count,
                        const char **end)
{
    rt_json_it it;
    struere_json k, v;
    int rc, first = 1;
    rt_json_iter(obj, STRUERE_JSON_OBJECT, &it);
    rt_buf_puts(b, "{");
    while ((rc = rt_json_next(&it, &k, &v)) == 1) {
        size_t kn = rt_json_str_len(k), n = plen + (plen ? 1 : 0) + kn;
        const rt_mask *mk = NULL;
        int below = 0;
        if (n < MAX_PATH) {
            char *at = path + plen;
            if (plen)
                *at++ = '.';
            rt_json_str_decode(k, at);
            mk = mask_at(ms, count, path, n);
            below = !mk && rt_json_kind(v) == STRUERE_JSON_OBJECT &&
                    mask_below(ms, count, path, n);
        }
        if (mk && mk->hide)
            continue;
        if (!first)
            rt_buf_puts(b, ",");
        first = 0;
        rt_buf_put(b, k.ptr, k.len);
        rt_buf_puts(b, ":");
        if (mk) {
            put_rstr(b, mk->replacement);
        } else if (below) {
            if ((rc = write_masked(b, v, path, n, ms, count, NULL)) < 0)
                return rc;
        } else {
            rt_buf_put(b, v.ptr, v.len);
        }
    }
    path[plen] = 0;
    if (rc < 0)
        return STRUERE_EJSON;
    rt_buf_puts(b, "}");
    if (end)
        *end = it.p + 1; /* past the closing brace */
    return 0;
}

/* The record masked for `a` under `d`, into `b`. */
/* `trusted`: rec is the runtime's own valid JSON (a bundle's record), so
 * with no mask to apply it is copied as it is, unread. */
static int mask_record(const struere_runtime *rt, const struere_actor *a,
                       const struere_decision *d, struere_json rec, int trusted,
                       rt_buf *b)
{
    const rt_mask *ms[MAX_MASKS];
    char path[MAX_PATH + 1];
    const char *end, *stop = rec.ptr + rec.len;
    size_t n = masks_of(rt, a, d, ms, MAX_MASKS);
    if (n > MAX_MASKS)
        return STRUERE_ERANGE;
    if (n == 0 && trusted) {
        rt_buf_put(b, rec.ptr, rec.len);
        return 0;
    }
    path[0] = 0;
    int rc = write_masked(b, rec, path, 0, ms, n, &end);
    if (rc < 0)
        return rc;
    while (end < stop &&
           (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r'))
        end++;
    return end == stop ? 0 : STRUERE_EJSON; /* text after the record */
}

static int record_mask(const struere_runtime *rt, const struere_decision *d,
                       const char *record, size_t len, int trusted, char *buf,
                       size_t cap, size_t *out_len)
{
    const struere_actor *a = actor_of(rt, d);
    struere_json rec;
    rt_buf b;
    if (!a || !d->allowed)
        return STRUERE_EINVAL;
    if (record_value(record, len, &rec) < 0)
        return STRUERE_EJSON;
    rt_buf_fixed(&b, buf, cap);
    int rc = mask_record(rt, a, d, rec, trusted, &b);
    if (rc < 0)
        return rc;
    return finish_fixed(&b, out_len);
}

int struere_record_mask(char *buf, size_t cap, size_t *out_len,
                        const struere_runtime *rt, const struere_decision *d,
                        const char *record, size_t len, struere_error *err)
{
    return rt_result(err, record_mask(rt, d, record, len, 0, buf, cap, out_len),
                     "struere_record_mask");
}

int rt_record_mask_valid(char *buf, size_t cap, size_t *out_len,
                         const struere_runtime *rt, const struere_decision *d,
                         const char *record, size_t len)
{
    return record_mask(rt, d, record, len, 1, buf, cap, out_len);
}

int rt_mask_record(const struere_runtime *rt, const struere_actor *a,
                   const struere_decision *d, struere_json rec, rt_buf *b)
{
    return mask_record(rt, a, d, rec, 1, b);
}

/* ---- what a decision was made from, for coverage ---- */

/* The `index`th scope rule (masks: 0) or mask (1) of the decision's
 * granting roles for its resource. */
static int decision_part(const struere_runtime *rt, const struere_decision *d,
                         int masks, size_t index, const char **role, int *at)
{
    const rt_dstate ds = rt_dstate_get(d);
    const struere_actor *a = actor_of(rt, d);
    if (!a || !ds.action)
        return STRUERE_EINVAL;
    if (masks && !d->allowed)
        return STRUERE_ENOTFOUND;
    const rt_model *m = rt->model;
    size_t seen = 0;
    for (size_t i = 0; i < a->nroles; i++) {
        if (!(ds.granting & ((uint64_t)1 << i)))
            continue;
        const rt_role *r = &m->roles[a->roles[i]];
        uint32_t n = masks ? r->nmasks : r->nrules;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t type = masks ? r->masks[k].type : r->rules[k].type;
            if (type != ds.resource || seen++ != index)
                continue;
            if (role)
                *role = r->slug;
            if (at)
                *at = (int)(masks ? r->masks[k].index : r->rules[k].index);
            return 0;
        }
    }
    return STRUERE_ENOTFOUND;
}

static int decision_rule(const struere_runtime *rt, const struere_decision *d,
                         size_t index, const char **role, int *rule)
{
    return decision_part(rt, d, 0, index, role, rule);
}

int struere_decision_rule(const char **role, int *rule,
                          const struere_runtime *rt, const struere_decision *d,
                          size_t index, struere_error *err)
{
    return rt_result(err, decision_rule(rt, d, index, role, rule),
                     "struere_decision_rule");
}

static int decision_mask(const struere_runtime *rt, const struere_decision *d,
                         size_t index, const char **role, int *mask)
{
    return decision_part(rt, d, 1, index, role, mask);
}

int struere_decision_mask(const char **role, int *mask,
                          const struere_runtime *rt, const struere_decision *d,
                          size_t index, struere_error *err)
{
    return rt_result(err, decision_mask(rt, d, index, role, mask),
                     "struere_decision_mask");
}
