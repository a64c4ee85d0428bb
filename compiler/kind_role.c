/*
 * kind_role.c - roles: policies (read without list), scope rule values
 * and operators, and the data types and field paths that policies, scope
 * rules and field masks name.
 */
#include <stdio.h>
#include <string.h>

#include "kinds.h"
#include "node.h"
#include "suggest.h"

static const char *const actor_values[] = {
    "actor.userId",
    "actor.organizationId",
    "actor.entityId",
    "actor.relatedIds:",
    NULL,
};

static bool lists_action(const struct node *actions, const char *a)
{
    for (size_t i = 0; actions && actions->type == NODE_SEQ && i < actions->n;
         i++)
        if (node_is_str(&actions->kids[i], a) ||
            node_is_str(&actions->kids[i], "*"))
            return true;
    return false;
}

/* Whether the role's allow policies grant action on resource (directly or
 * through "*"). */
static bool grants(const struct node *view, const char *resource,
                   const char *action)
{
    const struct node *pol = node_get(view, "policies");
    for (size_t i = 0; pol && pol->type == NODE_SEQ && i < pol->n; i++) {
        const struct node *p = &pol->kids[i];
        if (!node_is_str(node_get(p, "effect"), "allow"))
            continue;
        const char *r = node_get_str(p, "resource");
        if (!r || (strcmp(r, resource) && strcmp(r, "*")))
            continue;
        if (!action || lists_action(node_get(p, "actions"), action))
            return true;
    }
    return false;
}

static void check_value(struct check_ctx *c, const struct node *rule)
{
    const struct node *v = node_get(rule, "value");
    const struct node *op = node_get(rule, "operator");
    if (!v || v->type != NODE_STRING)
        return;
    bool related = !strncmp(v->str, "actor.relatedIds:", 17);
    if (!strncmp(v->str, "actor.", 6)) {
        bool known = related && v->str[17];
        for (const char *const *a = actor_values; !known && *a; a++)
            if (!strcmp(v->str, *a) && (*a)[strlen(*a) - 1] != ':')
                known = true;
        if (!known && related) {
            diag_error(c->diags, v, "bad-actor-value",
                       "name the relation type, e.g. actor.relatedIds:teaches",
                       "'%s' needs a relation type after the colon", v->str);
            return;
        }
        if (!known) {
            struct suggest sg;
            suggest_init(&sg, v->str);
            for (const char *const *a = actor_values; *a; a++)
                suggest_offer(&sg, *a);
            char hint[300];
            if (suggest_best(&sg))
                snprintf(hint, sizeof(hint), "did you mean '%s'?",
                         suggest_best(&sg));
            else
                snprintf(hint, sizeof(hint),
                         "actor values are actor.userId, "
                         "actor.organizationId, actor.entityId and "
                         "actor.relatedIds:TYPE; write literal:%s for a "
                         "literal",
                         v->str);
            diag_error(c->diags, v, "bad-actor-value", hint,
                       "unknown actor value '%s' (it would be compared as "
                       "a literal string)",
                       v->str);
            return;
        }
    }
    if (node_is_str(op, "in") && !related)
        diag_error(c->diags, op, "scope-in-needs-list",
                   "use 'eq' to compare with one value, or "
                   "actor.relatedIds:TYPE for a list",
                   "operator 'in' needs a list value, and '%s' is a single "
                   "value: the rule would match nothing",
                   v->str);
    if (related && !node_is_str(op, "in"))
        diag_error(c->diags, v, "scope-list-needs-in", "use operator: in",
                   "'%s' is a list of ids; compare it with operator 'in'",
                   v->str);
}

void role_check_file(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    (void)d;
    const struct node *pol = node_get(view, "policies");
    for (size_t i = 0; pol && pol->type == NODE_SEQ && i < pol->n; i++) {
        const struct node *p = &pol->kids[i];
        const char *r = node_get_str(p, "resource");
        const struct node *actions = node_get(p, "actions");
        if (!r || !node_is_str(node_get(p, "effect"), "allow") ||
            !lists_action(actions, "read") || grants(view, r, "list"))
            continue;
        diag_warning(c->diags, actions, "read-without-list",
                     "add 'list' to actions: queries (entity.query) need "
                     "list, read only fetches one record by id",
                     "role grants 'read' on '%s' without 'list'", r);
    }
    /* A policy whose effect is invalid (reported by the schema) may be
     * meant as an allow: do not also claim its rules are unused. */
    bool effects_known = true;
    for (size_t i = 0; pol && pol->type == NODE_SEQ && i < pol->n; i++)
        if (!node_is_str(node_get(&pol->kids[i], "effect"), "allow") &&
            !node_is_str(node_get(&pol->kids[i], "effect"), "deny"))
            effects_known = false;
    const char *sections[] = {"scopeRules", "fieldMasks"};
    for (int s = 0; s < 2; s++) {
        const struct node *seq = node_get(view, sections[s]);
        for (size_t i = 0; seq && seq->type == NODE_SEQ && i < seq->n; i++) {
            const struct node *rule = &seq->kids[i];
            if (s == 0)
                check_value(c, rule);
            const struct node *t = node_get(rule, "entityType");
            /* "*" is no data type: an error of its own (check_path) */
            if (effects_known && t && t->type == NODE_STRING &&
                strcmp(t->str, "*") != 0 && !grants(view, t->str, NULL))
                diag_warning(c->diags, t, "rule-unused",
                             "add an allow policy for this data type, or "
                             "remove the rule",
                             "this role allows nothing on '%s', so this %s "
                             "never applies",
                             t->str, s == 0 ? "scope rule" : "field mask");
        }
    }
}

/* The JSON type a data type's schema gives the record path `path` ("data"
 * itself: object), or NULL when it gives none (any type, or a record
 * field outside data). */
static const char *path_type(const struct node *data_view, const char *path)
{
    if (!strcmp(path, "data"))
        return "object";
    if (strncmp(path, "data.", 5))
        return NULL;
    const struct node *field = data_field(data_view, path + 5);
    const struct node *type = node_get(field, "type");
    return type && type->type == NODE_STRING ? type->str : NULL;
}

/* A scope rule compares the field's value with a string (the runtime's
 * eq, neq, in and contains read strings only): on a field of another
 * type 'neq' admits every record and the others none. Changing a
 * field's type so would silently change who reads what. */
static void check_compared_type(struct check_ctx *c, const struct node *rule,
                                const struct node *data_view,
                                const struct node *f, const char *type_slug)
{
    const char *type = path_type(data_view, f->str);
    if (!type || !strcmp(type, "string"))
        return;
    const struct node *op = node_get(rule, "operator");
    bool neq = node_is_str(op, "neq"), object = !strcmp(type, "object");
    char hint[300];
    if (object)
        snprintf(hint, sizeof(hint),
                 "compare one of its string fields ('%s.<field>')", f->str);
    else
        snprintf(hint, sizeof(hint),
                 "compare a string field, or make this field a string");
    diag_error(c->diags, f, "scope-field-not-string", hint,
               "'%s' is %s %s field of data type '%s', and scope rules "
               "compare strings: this rule %s",
               f->str, type[0] && strchr("aeiou", type[0]) ? "an" : "a", type,
               type_slug,
               neq ? "admits every record (no value is a string equal to "
                     "it)"
                   : "admits no record");
}

static void check_path(struct check_ctx *c, const struct node *rule,
                       const char *key)
{
    const struct node *t = node_get(rule, "entityType");
    const struct node *f = node_get(rule, key);
    if (!t || t->type != NODE_STRING)
        return;
    /* A policy's resource may be "*"; a rule is checked against the
     * schema of the one data type it names. */
    if (!strcmp(t->str, "*")) {
        bool scope = !strcmp(key, "field");
        diag_error(c->diags, t, "unknown-data-type",
                   scope ? "write one scope rule per data type it is for"
                         : "write one field mask per data type it is for",
                   "'*' is not a data type: a %s names the data type "
                   "whose records it applies to, so that its %s is checked "
                   "against that type's schema",
                   scope ? "scope rule" : "field mask",
                   scope ? "field" : "fieldPath");
        return;
    }
    struct def *data = check_lookup(c, KIND_DATA, t->str);
    if (!data) {
        check_unknown_ref(c, t, KIND_DATA, "unknown-data-type", "data type",
                          NULL);
        return;
    }
    if (!f || f->type != NODE_STRING || !data->root)
        return;
    const char *why = NULL;
    if (!data_record_path(data->view[c->env], f->str, &why)) {
        diag_error(c->diags, f, "unknown-field",
                   why ? why
                       : "paths are on the whole record: 'data.<field>' "
                         "(dots for nested fields)",
                   "'%s' is not a field of data type '%s'", f->str, t->str);
        return;
    }
    if (!strcmp(key, "field"))
        check_compared_type(c, rule, data->view[c->env], f, t->str);
}

void role_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    (void)d;
    static const char *const extra[] = {"users", "*", NULL};
    const struct node *pol = node_get(view, "policies");
    for (size_t i = 0; pol && pol->type == NODE_SEQ && i < pol->n; i++) {
        const struct node *r = node_get(&pol->kids[i], "resource");
        if (!r || r->type != NODE_STRING || !strcmp(r->str, "*") ||
            !strcmp(r->str, "users"))
            continue;
        if (!check_lookup(c, KIND_DATA, r->str))
            check_unknown_ref(c, r, KIND_DATA, "unknown-data-type",
                              "policy resource", extra);
    }
    const struct node *access = node_get(view, "agentAccess");
    for (size_t i = 0; access && access->type == NODE_SEQ && i < access->n;
         i++) {
        const struct node *a = &access->kids[i];
        if (a->type == NODE_STRING && !check_lookup(c, KIND_AGENT, a->str))
            check_unknown_ref(c, a, KIND_AGENT, "unknown-agent", "agent", NULL);
    }
    const struct node *rules = node_get(view, "scopeRules");
    for (size_t i = 0; rules && rules->type == NODE_SEQ && i < rules->n; i++)
        check_path(c, &rules->kids[i], "field");
    const struct node *masks = node_get(view, "fieldMasks");
    for (size_t i = 0; masks && masks->type == NODE_SEQ && i < masks->n; i++)
        check_path(c, &masks->kids[i], "fieldPath");
}
