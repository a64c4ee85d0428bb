/*
 * access.c - effective access per subject from libstruere's engine, and
 * its difference between two bundles.
 *
 * A subject's access is decided on the resources its policies name
 * (struere_actor_resources; every other resource has no policy for any
 * action), for the five actions; each allowed pair is explained with the
 * engine's granting policies, row predicate and field mask. The
 * difference compares two subjects' allowed pairs: scopes by containment
 * of their OR-of-AND predicates, masks field by field.
 */
#include "access.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "markdown.h"

static const char *const actions[] = {"create", "read", "update", "delete",
                                      "list"};
#define NACTIONS 5

static int fail(char *err, size_t n, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return status;
}

/* ---- one subject ---- */

/* What lib_json reads of a decision. */
enum lib_what {
    LIB_PREDICATE, /* the rows, with the actor's values */
    LIB_MASK,      /* the field masks */
    LIB_WRITTEN,   /* the rows, with the rules' values as written */
    LIB_WHATS
};

static int lib_text(const struere_runtime *rt, const struere_decision *d,
                    enum lib_what what, char *buf, size_t cap, size_t *need)
{
    return what == LIB_MASK ? struere_mask_json(buf, cap, need, rt, d, NULL)
           : what == LIB_WRITTEN
               ? struere_predicate_written_json(buf, cap, need, rt, d, NULL)
               : struere_predicate_json(buf, cap, need, rt, d, NULL);
}

/* The last text of each kind of a subject, and what it became: the
 * actions on one resource mostly share them, and are parsed once. */
struct memo {
    char *text[LIB_WHATS];
    size_t len[LIB_WHATS];
    json_t *value[LIB_WHATS];
};

static void memo_free(struct memo *m)
{
    for (int i = 0; i < LIB_WHATS; i++) {
        free(m->text[i]);
        json_decref(m->value[i]);
    }
}

static json_t *masks_of(json_t *lib);

/* Decision d's predicate (`true` for every row, else the engine's JSON)
 * or masks ({"field","type","replacement"} list) from libstruere's JSON
 * text, through the memo. NULL when out of memory or the text does not
 * parse. */
static json_t *lib_json(const struere_runtime *rt, const struere_decision *d,
                        enum lib_what mask, struct memo *m)
{
    size_t need = 0;
    char small[256], *text = small;
    int rc = lib_text(rt, d, mask, small, sizeof(small), &need);
    if (rc == STRUERE_ERANGE) {
        if (!(text = malloc(need + 1)))
            return NULL;
        rc = lib_text(rt, d, mask, text, need + 1, &need);
    }
    json_t *v = NULL;
    if (rc == 0 && m->text[mask] && m->len[mask] == need &&
        !memcmp(m->text[mask], text, need)) {
        v = json_incref(m->value[mask]);
    } else if (rc == 0) {
        v = json_loadb(text, need, JSON_DECODE_ANY, NULL);
        if (v && mask == LIB_MASK) {
            json_t *l = masks_of(v);
            json_decref(v);
            v = l;
        }
        char *copy = v ? malloc(need + 1) : NULL;
        if (copy) {
            memcpy(copy, text, need);
            free(m->text[mask]);
            json_decref(m->value[mask]);
            m->text[mask] = copy;
            m->len[mask] = need;
            m->value[mask] = json_incref(v);
        }
    }
    if (text != small)
        free(text);
    return v;
}

/* {"field","type","replacement"} from the engine's mask list. */
static json_t *masks_of(json_t *lib)
{
    json_t *out = json_array(), *m;
    size_t i;
    json_array_foreach(lib, i, m)
    {
        json_t *o = json_object();
        json_object_set(o, "field", json_object_get(m, "field"));
        json_object_set(o, "type", json_object_get(m, "mask"));
        json_t *r = json_object_get(m, "replacement");
        json_object_set(o, "replacement", r ? r : json_null());
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *pair(const char *res, const char *act)
{
    json_t *e = json_object();
    json_object_set_new(e, "resource", json_string(res));
    json_object_set_new(e, "action", json_string(act));
    return e;
}

/* Decides (res, act) and appends it to allowed or denied: denied when
 * an explicit deny removes what an allow grants, or (every_deny: a role
 * alone, which a user may hold with others that allow it) when an
 * explicit deny covers it at all. */
static int decide_one(const struere_runtime *rt, const struere_actor *a,
                      const char *res, const char *act, bool every_deny,
                      json_t *allowed, json_t *denied, struct memo *m,
                      char *err, size_t errlen)
{
    struere_decision d;
    int rc = struere_decide(&d, rt, a, act, res, NULL);
    if (rc < 0)
        return fail(err, errlen, ACCESS_FAILED, "%s on %s: %s", act, res,
                    struere_strerror(rc));
    json_t *allows = json_array(), *denies = json_array();
    const char *role;
    int policy, allow;
    for (size_t i = 0;
         struere_decision_policy(&role, &policy, &allow, rt, &d, i, NULL) == 0;
         i++) {
        char by[300];
        snprintf(by, sizeof(by), "%s#policies[%d]", role, policy);
        json_array_append_new(allow ? allows : denies, json_string(by));
    }
    rc = ACCESS_OK;
    if (d.allowed) {
        json_t *pred = lib_json(rt, &d, LIB_PREDICATE, m);
        json_t *mask = lib_json(rt, &d, LIB_MASK, m);
        json_t *rules = lib_json(rt, &d, LIB_WRITTEN, m);
        if (pred && mask && rules) {
            json_t *e = pair(res, act);
            json_object_set(e, "by", allows);
            json_object_set_new(e, "scope",
                                json_is_true(pred) ? json_null()
                                                   : json_incref(pred));
            json_object_set_new(e, "rules",
                                json_is_true(rules) ? json_null()
                                                    : json_incref(rules));
            json_object_set(e, "masks", mask);
            json_array_append_new(allowed, e);
        } else {
            rc = fail(err, errlen, ACCESS_FAILED,
                      "%s on %s: cannot read the engine's predicate or mask",
                      act, res);
        }
        json_decref(pred);
        json_decref(mask);
        json_decref(rules);
    } else if (d.reason == STRUERE_REASON_DENIED &&
               (every_deny || json_array_size(allows))) {
        json_t *e = pair(res, act);
        json_object_set(e, "by", denies);
        json_array_append_new(denied, e);
    }
    json_decref(allows);
    json_decref(denies);
    return rc;
}

/* A set of resource names (a JSON object), or NULL for all. */
static bool wanted(const json_t *only, const char *res)
{
    return !only || json_object_get(only, res);
}

/* The allowed and denied lists of actor a, into subject s, over the
 * resources in `only` (NULL: all). */
static int fill_access(const struere_runtime *rt, const struere_actor *a,
                       bool every_deny, const json_t *only, json_t *s,
                       char *err, size_t errlen)
{
    json_t *allowed = json_array(), *denied = json_array();
    json_object_set_new(s, "allowed", allowed);
    json_object_set_new(s, "denied", denied);
    size_t n = 0;
    int rc = struere_actor_resources(NULL, 0, &n, rt, a, NULL);
    const char **res = rc == 0 ? malloc((n ? n : 1) * sizeof(*res)) : NULL;
    if (!res || struere_actor_resources(res, n, &n, rt, a, NULL) < 0) {
        free(res);
        return fail(err, errlen, ACCESS_FAILED, "out of memory");
    }
    rc = ACCESS_OK;
    struct memo m;
    memset(&m, 0, sizeof(m));
    for (size_t i = 0; i < n && rc == ACCESS_OK; i++)
        for (size_t k = 0;
             k < NACTIONS && rc == ACCESS_OK && wanted(only, res[i]); k++)
            rc = decide_one(rt, a, res[i], actions[k], every_deny, allowed,
                            denied, &m, err, errlen);
    memo_free(&m);
    free(res);
    return rc;
}

/* The roles an agent's body lists (a new array; empty when none). */
static json_t *agent_roles(const struere_bundle *b, const char *slug)
{
    const char *body;
    size_t len;
    json_t *roles = json_array();
    if (struere_bundle_lookup(&body, &len, b, STRUERE_KIND_AGENT, slug, NULL) <
        0)
        return roles;
    json_t *def = json_loadb(body, len, 0, NULL);
    json_t *r = json_object_get(def, "roles");
    if (json_is_array(r))
        json_array_extend(roles, r);
    json_decref(def);
    return roles;
}

/* access_subject over the resources in `only` (NULL: all). */
static int subject_on(const struere_runtime *rt, bool agent, const char *slug,
                      const json_t *only, json_t **out, char *err,
                      size_t errlen)
{
    const struere_bundle *b = struere_runtime_bundle(rt);
    struere_actor_spec spec = {0};
    *out = NULL;
    if (struere_bundle_lookup(NULL, NULL, b,
                              agent ? STRUERE_KIND_AGENT : STRUERE_KIND_ROLE,
                              slug, NULL) < 0)
        return fail(err, errlen, ACCESS_INVALID, "no %s '%s' in the bundle",
                    agent ? "agent" : "role", slug);
    if (agent) {
        spec.type = STRUERE_ACTOR_AGENT;
        spec.id = slug;
    } else {
        spec.type = STRUERE_ACTOR_USER;
        spec.id = ACCESS_ROLE_USER_ID;
        spec.roles = &slug;
        spec.role_count = 1;
    }
    struere_actor *a;
    struere_error e;
    int rc = struere_actor_new(&a, rt, &spec, &e);
    if (rc < 0)
        return fail(err, errlen,
                    rc == STRUERE_ENOMEM ? ACCESS_FAILED : ACCESS_INVALID,
                    "%.400s", e.message);
    char name[300];
    snprintf(name, sizeof(name), "%s:%s", agent ? "agent" : "role", slug);
    json_t *s = json_object(), *roles = json_array();
    json_object_set_new(s, "subject", json_string(name));
    json_object_set_new(s, "roles", roles);
    const char *r;
    for (size_t i = 0; (r = struere_actor_role(a, i)); i++)
        json_array_append_new(roles, json_string(r));
    rc = fill_access(rt, a, !agent, only, s, err, errlen);
    struere_actor_free(a);
    if (rc != ACCESS_OK) {
        json_decref(s);
        return rc;
    }
    *out = s;
    return ACCESS_OK;
}

int access_subject(const struere_runtime *rt, bool agent, const char *slug,
                   json_t **out, char *err, size_t errlen)
{
    return subject_on(rt, agent, slug, NULL, out, err, errlen);
}

/* ---- the difference ---- */

/* A predicate as a list of terms, each the set (a JSON object keyed by
 * canonical text) of its conditions; every row is one empty term. */
static json_t *terms_of(const json_t *scope)
{
    json_t *terms = json_array(), *t;
    size_t i;
    if (json_is_null(scope) || !scope) {
        json_array_append_new(terms, json_object());
        return terms;
    }
    json_array_foreach(json_object_get(scope, "anyOf"), i, t)
    {
        json_t *set = json_object(), *c;
        size_t j;
        json_array_foreach(json_object_get(t, "allOf"), j, c)
        {
            char *key = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
            if (key)
                json_object_set_new(set, key, json_true());
            free(key);
        }
        json_array_append_new(terms, set);
    }
    return terms;
}

static bool subset(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k,
                        v) if (!json_object_get(b, k)) return false;
    return true;
}

/* Is every row of `inner` a row of `outer`? Proven when each term of
 * inner has every condition of some term of outer (an AND with more
 * conditions selects fewer rows). False when it cannot be proven. */
static bool contains(const json_t *outer, const json_t *inner)
{
    size_t i, j;
    json_t *ti, *to;
    json_array_foreach(inner, i, ti)
    {
        bool covered = false;
        json_array_foreach(outer, j, to) if (subset(to, ti)) covered = true;
        if (!covered)
            return false;
    }
    return true;
}

static void add_change(json_t *list, const char *subject, const char *res,
                       const char *act, const char *change, bool widens,
                       json_t *from, json_t *to)
{
    json_t *c = json_object();
    json_object_set_new(c, "subject", json_string(subject));
    json_object_set_new(c, "resource", json_string(res));
    json_object_set_new(c, "action", json_string(act));
    json_object_set_new(c, "change", json_string(change));
    json_object_set_new(c, "widens", json_boolean(widens));
    json_object_set(c, "from", from ? from : json_null());
    json_object_set(c, "to", to ? to : json_null());
    json_array_append_new(list, c);
}

/* The mask on `field` in a masks list, or NULL. */
static json_t *mask_on(const json_t *masks, const char *field)
{
    size_t i;
    json_t *m;
    json_array_foreach(
        masks, i, m) if (!strcmp(json_string_value(json_object_get(m, "field")),
                                 field)) return m;
    return NULL;
}

/* Is some proper ancestor of `field` masked? Then the whole value above
 * it is hidden or replaced, and its own mask decides nothing. */
static bool covered(const json_t *masks, const char *field)
{
    size_t i;
    json_t *m;
    size_t n = strlen(field);
    json_array_foreach(masks, i, m)
    {
        const char *f = json_string_value(json_object_get(m, "field"));
        size_t k = strlen(f);
        if (k < n && !strncmp(f, field, k) && field[k] == '.')
            return true;
    }
    return false;
}

static void mask_changes(json_t *list, const char *subject, const char *res,
                         const char *act, const json_t *ma, const json_t *mb)
{
    /* every field masked on either side, in the order the masks come */
    const json_t *sides[2] = {ma, mb};
    for (int s = 0; s < 2; s++) {
        size_t i;
        json_t *m;
        json_array_foreach(sides[s], i, m)
        {
            const char *f = json_string_value(json_object_get(m, "field"));
            json_t *x = mask_on(ma, f), *y = mask_on(mb, f);
            if ((s == 1 && x) || covered(ma, f) || covered(mb, f) ||
                json_equal(x, y))
                continue;
            if (!y) {
                add_change(list, subject, res, act, "mask-removed", true, x,
                           NULL);
            } else if (!x) {
                add_change(list, subject, res, act, "mask-added", false, NULL,
                           y);
            } else {
                /* hide to redact shows that the field is there */
                bool widens =
                    !strcmp(json_string_value(json_object_get(x, "type")),
                            "hide") &&
                    strcmp(json_string_value(json_object_get(y, "type")),
                           "hide");
                add_change(list, subject, res, act, "mask-changed", widens, x,
                           y);
            }
        }
    }
}

/* {"by","scope","masks"} of an allowed entry, its scope as the rules
 * are written. */
static json_t *grant_of(const json_t *e)
{
    json_t *g = json_object();
    json_object_set(g, "by", json_object_get(e, "by"));
    json_object_set(g, "scope", json_object_get(e, "rules"));
    json_object_set(g, "masks", json_object_get(e, "masks"));
    return g;
}

/* Whether scope a contains scope b (every row of b is one of a), and b
 * contains a, proven on both forms of the entries' scopes: as the rules
 * are written (a rule that compares with another actor value, or with a
 * literal instead of one, is another rule) and with the subject's values
 * resolved (the same rule selects other rows when the bundle's
 * organization id changed). */
static void scopes_compare(const json_t *ea, const json_t *eb, bool *a_has_b,
                           bool *b_has_a)
{
    static const char *const forms[2] = {"rules", "scope"};
    *a_has_b = *b_has_a = true;
    for (int f = 0; f < 2; f++) {
        json_t *ta = terms_of(json_object_get(ea, forms[f]));
        json_t *tb = terms_of(json_object_get(eb, forms[f]));
        *a_has_b = *a_has_b && contains(ta, tb);
        *b_has_a = *b_has_a && contains(tb, ta);
        json_decref(ta);
        json_decref(tb);
    }
}

static void pair_changes(json_t *list, const char *subject, const json_t *ea,
                         const json_t *eb)
{
    const json_t *e = ea ? ea : eb;
    const char *res = json_string_value(json_object_get(e, "resource"));
    const char *act = json_string_value(json_object_get(e, "action"));
    if (!ea || !eb) {
        json_t *g = grant_of(e);
        add_change(list, subject, res, act, ea ? "revoked" : "granted", !ea,
                   ea ? g : NULL, ea ? NULL : g);
        json_decref(g);
        return;
    }
    bool narrower, wider;
    scopes_compare(ea, eb, &narrower, &wider);
    /* The rules as written, unless they are the same on both sides (the
     * organization id changed): then the values that changed are shown */
    const char *form =
        json_equal(json_object_get(ea, "rules"), json_object_get(eb, "rules"))
            ? "scope"
            : "rules";
    if (!(narrower && wider))
        add_change(list, subject, res, act,
                   narrower ? "scope-narrowed"
                   : wider  ? "scope-widened"
                            : "scope-changed",
                   !narrower, json_object_get(ea, form),
                   json_object_get(eb, form));
    mask_changes(list, subject, res, act, json_object_get(ea, "masks"),
                 json_object_get(eb, "masks"));
}

/* A list ("allowed" or "denied") of a subject keyed "RESOURCE\tACTION". */
static json_t *by_pair(const json_t *subject, const char *list)
{
    json_t *map = json_object(), *e;
    size_t i;
    json_array_foreach(json_object_get(subject, list), i, e)
    {
        char key[600];
        snprintf(key, sizeof(key), "%s\t%s",
                 json_string_value(json_object_get(e, "resource")),
                 json_string_value(json_object_get(e, "action")));
        json_object_set(map, key, e);
    }
    return map;
}

/* A role's explicit denies that one side has and the other lacks, where
 * the pair is not allowed on the side that lacks it (else it is granted or
 * revoked already): a deny removed lets a user who holds the role with
 * one that allows the pair do it (widens); a deny added stops that. */
static void deny_changes(json_t *list, const char *name, const json_t *a,
                         const json_t *b, const json_t *removed,
                         const json_t *added)
{
    json_t *da = by_pair(a, "denied"), *db = by_pair(b, "denied");
    json_t *aa = by_pair(a, "allowed"), *ab = by_pair(b, "allowed");
    const json_t *sides[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        json_t *other = s ? da : db, *other_allowed = s ? aa : ab, *e;
        const json_t *one_side = s ? added : removed;
        size_t i;
        json_array_foreach(json_object_get(sides[s], "denied"), i, e)
        {
            char key[600];
            const char *res = json_string_value(json_object_get(e, "resource"));
            snprintf(key, sizeof(key), "%s\t%s", res,
                     json_string_value(json_object_get(e, "action")));
            /* a type one side lacks: nobody does anything with it there,
             * a deny on it neither lets through nor stops anything */
            if (json_object_get(other, key) ||
                json_object_get(other_allowed, key) ||
                json_object_get(one_side, res))
                continue;
            json_t *by = json_object();
            json_object_set(by, "by", json_object_get(e, "by"));
            add_change(list, name,
                       json_string_value(json_object_get(e, "resource")),
                       json_string_value(json_object_get(e, "action")),
                       s ? "deny-added" : "deny-removed", !s, s ? NULL : by,
                       s ? by : NULL);
            json_decref(by);
        }
    }
    json_decref(da);
    json_decref(db);
    json_decref(aa);
    json_decref(ab);
}

/* Changes of one subject, given its access on each side (NULL: absent);
 * a role's explicit denies too (role: its denied lists hold every pair
 * an explicit deny covers), on the data types both sides have (removed,
 * added: those only the old, only the new side has). */
static void subject_changes(json_t *list, const char *name, bool role,
                            const json_t *a, const json_t *b,
                            const json_t *removed, const json_t *added)
{
    json_t *ma = by_pair(a, "allowed"), *mb = by_pair(b, "allowed");
    /* pairs in the new side's order, then those only the old side has */
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(b, "allowed"), i, e)
    {
        char key[600];
        snprintf(key, sizeof(key), "%s\t%s",
                 json_string_value(json_object_get(e, "resource")),
                 json_string_value(json_object_get(e, "action")));
        pair_changes(list, name, json_object_get(ma, key), e);
    }
    json_array_foreach(json_object_get(a, "allowed"), i, e)
    {
        char key[600];
        snprintf(key, sizeof(key), "%s\t%s",
                 json_string_value(json_object_get(e, "resource")),
                 json_string_value(json_object_get(e, "action")));
        if (!json_object_get(mb, key))
            pair_changes(list, name, e, NULL);
    }
    json_decref(ma);
    json_decref(mb);
    if (role)
        deny_changes(list, name, a, b, removed, added);
}

/* One side of the difference: a runtime and its bundle (NULL: an empty
 * environment). */
struct side {
    const struere_bundle *b;
    const struere_runtime *rt;
};

static bool same_body(const struct side *x, const struct side *y, int kind,
                      const char *slug)
{
    const char *ba, *bb;
    size_t la, lb;
    if (!x->b || !y->b ||
        struere_bundle_lookup(&ba, &la, x->b, kind, slug, NULL) < 0 ||
        struere_bundle_lookup(&bb, &lb, y->b, kind, slug, NULL) < 0)
        return false;
    return la == lb && !memcmp(ba, bb, la);
}

/* The data types of side x that side y lacks, as a set. */
static json_t *types_only_in(const struct side *x, const struct side *y)
{
    json_t *set = json_object();
    size_t n = struere_bundle_count(x->b, STRUERE_KIND_DATA);
    for (size_t i = 0; i < n; i++) {
        const char *slug;
        struere_bundle_entry(&slug, NULL, NULL, x->b, STRUERE_KIND_DATA, i,
                             NULL);
        if (!y->b || struere_bundle_lookup(NULL, NULL, y->b, STRUERE_KIND_DATA,
                                           slug, NULL) < 0)
            json_object_set_new(set, slug, json_true());
    }
    return set;
}

/* The roles whose definitions differ between the sides (present on one
 * only, or with other bodies), as a set. */
static json_t *changed_roles(const struct side *x, const struct side *y)
{
    json_t *set = json_object();
    const struct side *sides[2] = {x, y};
    for (int s = 0; s < 2; s++) {
        size_t n = struere_bundle_count(sides[s]->b, STRUERE_KIND_ROLE);
        for (size_t i = 0; i < n; i++) {
            const char *slug;
            struere_bundle_entry(&slug, NULL, NULL, sides[s]->b,
                                 STRUERE_KIND_ROLE, i, NULL);
            if (!same_body(x, y, STRUERE_KIND_ROLE, slug))
                json_object_set_new(set, slug, json_true());
        }
    }
    return set;
}

/* Can the agent's body name a changed role? Its body holds each role as
 * a JSON string; one that contains none of the changed roles' slugs as
 * "SLUG" cannot hold one (slugs need no escaping). Only consulted for a
 * few changed roles; otherwise the body is parsed. */
static bool may_name(const struct side *s, const char *slug,
                     const json_t *changed)
{
    const char *body;
    size_t len;
    if (json_object_size(changed) > 16 ||
        struere_bundle_lookup(&body, &len, s->b, STRUERE_KIND_AGENT, slug,
                              NULL) < 0)
        return true;
    const char *role;
    json_t *v;
    json_object_foreach((json_t *)changed, role, v)
    {
        char quoted[300];
        int n = snprintf(quoted, sizeof(quoted), "\"%s\"", role);
        if (n < 0 || (size_t)n >= sizeof(quoted) ||
            memmem(body, len, quoted, (size_t)n))
            return true;
    }
    return false;
}

static bool holds_changed(const json_t *roles, const json_t *changed)
{
    size_t i;
    json_t *r;
    json_array_foreach(
        (json_t *)roles, i,
        r) if (json_object_get(changed, json_string_value(r))) return true;
    return false;
}

/* Can the subject's access differ between the sides on the resources
 * both have? A decision reads the subject's roles' policies, scope rules
 * and masks; so it can only when the subject is on one side only, an
 * agent's role list differs, or one of its roles' definitions does.
 * (Data types added or removed are looked at on their own.) */
static bool may_differ(const struct side *x, const struct side *y, bool agent,
                       const char *slug, const json_t *changed)
{
    if (!x->b || !y->b)
        return true;
    if (!agent)
        return json_object_get(changed, slug) != NULL;
    bool same = same_body(x, y, STRUERE_KIND_AGENT, slug);
    if (same && (!json_object_size(changed) || !may_name(x, slug, changed)))
        return false;
    if (!same && (struere_bundle_lookup(NULL, NULL, x->b, STRUERE_KIND_AGENT,
                                        slug, NULL) < 0 ||
                  struere_bundle_lookup(NULL, NULL, y->b, STRUERE_KIND_AGENT,
                                        slug, NULL) < 0))
        return true;
    json_t *ra = agent_roles(x->b, slug);
    json_t *rb = same ? json_incref(ra) : agent_roles(y->b, slug);
    bool differ = !json_equal(ra, rb) || holds_changed(ra, changed);
    json_decref(ra);
    json_decref(rb);
    return differ;
}

/* A subject's access on one side over the resources in `only` (NULL:
 * all), or NULL when the side lacks the subject. */
static int side_access(const struct side *s, bool agent, const char *slug,
                       const json_t *only, json_t **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (!s->b ||
        struere_bundle_lookup(NULL, NULL, s->b,
                              agent ? STRUERE_KIND_AGENT : STRUERE_KIND_ROLE,
                              slug, NULL) < 0)
        return ACCESS_OK;
    return subject_on(s->rt, agent, slug, only, out, err, errlen);
}

/* Whether both bundles exist and actor.organizationId can resolve
 * otherwise in them: another organization id, or another project name
 * (which the runtime takes when there is no organization id). */
static bool organization_changed(const struere_bundle *a,
                                 const struere_bundle *b)
{
    struere_bundle_info ia, ib;
    return a && b && struere_bundle_get_info(&ia, a, NULL) == 0 &&
           struere_bundle_get_info(&ib, b, NULL) == 0 &&
           (strcmp(ia.organization_id, ib.organization_id) != 0 ||
            strcmp(ia.project_name, ib.project_name) != 0);
}

int access_changes(const struere_runtime *rfrom, const struere_runtime *rto,
                   json_t **out, char *err, size_t errlen)
{
    const struere_bundle *from = struere_runtime_bundle(rfrom),
                         *to = struere_runtime_bundle(rto);
    struct side x = {from, rfrom}, y = {to, rto};
    *out = NULL;
    int rc = ACCESS_OK;
    /* the data types one side has and the other lacks: every subject's
     * access to them is compared, even when nothing else of it can
     * differ */
    json_t *removed = types_only_in(&x, &y), *added = types_only_in(&y, &x);
    bool types_same = !json_object_size(removed) && !json_object_size(added);
    json_t *changed = changed_roles(&x, &y);
    /* rules that compare with actor.organizationId select other rows
     * when it changed: every subject is computed */
    bool org_changed = organization_changed(from, to);
    json_t *list = json_array();
    static const int kinds[2] = {STRUERE_KIND_AGENT, STRUERE_KIND_ROLE};
    for (int k = 0; k < 2 && rc == ACCESS_OK; k++) {
        bool agent = kinds[k] == STRUERE_KIND_AGENT;
        size_t na = struere_bundle_count(from, kinds[k]);
        size_t nb = struere_bundle_count(to, kinds[k]);
        size_t i = 0, j = 0;
        /* the union of the two sorted slug lists */
        while (rc == ACCESS_OK && (i < na || j < nb)) {
            const char *sa = NULL, *sb = NULL;
            if (i < na)
                struere_bundle_entry(&sa, NULL, NULL, from, kinds[k], i, NULL);
            if (j < nb)
                struere_bundle_entry(&sb, NULL, NULL, to, kinds[k], j, NULL);
            int cmp = !sa ? 1 : !sb ? -1 : strcmp(sa, sb);
            const char *slug = cmp <= 0 ? sa : sb;
            i += cmp <= 0;
            j += cmp >= 0;
            bool whole =
                org_changed || may_differ(&x, &y, agent, slug, changed);
            if (!whole && types_same)
                continue;
            json_t *a = NULL, *b = NULL;
            rc = side_access(&x, agent, slug, whole ? NULL : removed, &a, err,
                             errlen);
            if (rc == ACCESS_OK)
                rc = side_access(&y, agent, slug, whole ? NULL : added, &b, err,
                                 errlen);
            if (rc == ACCESS_OK) {
                char name[300];
                snprintf(name, sizeof(name), "%s:%s", agent ? "agent" : "role",
                         slug);
                subject_changes(list, name, !agent, a, b, removed, added);
            }
            json_decref(a);
            json_decref(b);
        }
    }
    json_decref(changed);
    json_decref(removed);
    json_decref(added);
    if (rc != ACCESS_OK) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return ACCESS_OK;
}

bool access_widens(const json_t *changes)
{
    size_t i;
    json_t *c;
    json_array_foreach(
        (json_t *)changes, i,
        c) if (json_is_true(json_object_get(c, "widens"))) return true;
    return false;
}

/* ---- words ---- */

/* Text as Markdown inline code (markdown_print_code), or as it is. */
static void print_code(FILE *out, const char *text, bool md)
{
    if (!text)
        text = "?";
    if (md)
        markdown_print_code(out, text, 0);
    else
        fputs(text, out);
}

/* "ACTION RESOURCE", as code in Markdown. */
static void print_pair(FILE *out, const char *act, const char *res, bool md)
{
    char pair[300];
    snprintf(pair, sizeof(pair), "%s %s", act ? act : "?", res ? res : "?");
    print_code(out, pair, md);
}

static const char *op_word(const char *op)
{
    return !strcmp(op, "eq") ? "=" : !strcmp(op, "neq") ? "!=" : op;
}

/* A rule's value: an actor reference as written (actor.userId,
 * actor.relatedIds:TYPE), anything else (a literal, or a resolved value)
 * as JSON. */
static void print_value(FILE *out, const json_t *v)
{
    const char *actor = json_string_value(json_object_get(v, "actor"));
    const char *rel = json_string_value(json_object_get(v, "relation"));
    if (actor) {
        fprintf(out, "actor.%s%s%s", actor, rel ? ":" : "", rel ? rel : "");
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(text ? text : "?", out);
    free(text);
}

/* A scope in words: "every row", or "rows where a = 1 and b in
 * actor.relatedIds:T or c = 2". */
static void print_scope(FILE *out, const json_t *scope, bool md)
{
    if (json_is_null(scope) || !scope) {
        fputs("every row", out);
        return;
    }
    const json_t *terms = json_object_get(scope, "anyOf");
    size_t i, j;
    json_t *t, *c;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return;
    json_array_foreach((json_t *)terms, i, t)
    {
        const json_t *all = json_object_get(t, "allOf");
        bool paren = json_array_size(terms) > 1 && json_array_size(all) > 1;
        fprintf(mem, "%s%s", i ? " or " : "", paren ? "(" : "");
        json_array_foreach((json_t *)all, j, c)
        {
            const char *op = json_string_value(json_object_get(c, "operator"));
            fprintf(mem, "%s%s %s ", j ? " and " : "",
                    json_string_value(json_object_get(c, "field")),
                    op_word(op ? op : "?"));
            print_value(mem, json_object_get(c, "value"));
        }
        fputs(paren ? ")" : "", mem);
    }
    if (fclose(mem) != 0) {
        free(text);
        return;
    }
    fputs("rows where ", out);
    print_code(out, text, md);
    free(text);
}

/* "agent front-desk" / "role staff" */
static void print_subject(FILE *out, const char *subject, bool md)
{
    const char *colon = strchr(subject, ':');
    int n = colon ? (int)(colon - subject) : 0;
    fprintf(out, md ? "%.*s **%s**" : "%.*s %s", n, subject,
            colon ? colon + 1 : subject);
}

/* A field's state under a mask: "hidden", "redacted as R", or
 * "visible" (m NULL). */
static void print_state(FILE *out, const json_t *m, bool md)
{
    const char *type = m ? json_string_value(json_object_get(m, "type")) : "";
    if (!m || json_is_null(m)) {
        fputs("visible", out);
    } else if (type && !strcmp(type, "hide")) {
        fputs("hidden", out);
    } else {
        char *r = json_dumps(json_object_get(m, "replacement"),
                             JSON_COMPACT | JSON_ENCODE_ANY);
        fputs("redacted as ", out);
        print_code(out, r ? r : "?", md);
        free(r);
    }
}

static void print_field(FILE *out, const json_t *m, bool md)
{
    print_code(out, json_string_value(json_object_get(m, "field")), md);
}

static void print_grant(FILE *out, const json_t *g, bool md)
{
    fputs(" on ", out);
    print_scope(out, json_object_get(g, "scope"), md);
    const json_t *masks = json_object_get(g, "masks");
    size_t i;
    json_t *m;
    json_array_foreach((json_t *)masks, i, m)
    {
        fputs(i ? ", " : ", with ", out);
        print_field(out, m, md);
        fputc(' ', out);
        print_state(out, m, md);
    }
    fputs(" (by ", out);
    json_array_foreach(json_object_get(g, "by"), i, m)
        fprintf(out, "%s%s", i ? ", " : "", json_string_value(m));
    fputc(')', out);
}

/* One change as a sentence. */
static void print_change(FILE *out, const json_t *c, bool md)
{
    const char *ch = json_string_value(json_object_get(c, "change"));
    const char *res = json_string_value(json_object_get(c, "resource"));
    const char *act = json_string_value(json_object_get(c, "action"));
    const json_t *from = json_object_get(c, "from"),
                 *to = json_object_get(c, "to");
    print_subject(out, json_string_value(json_object_get(c, "subject")), md);
    if (!strcmp(ch, "deny-removed") || !strcmp(ch, "deny-added")) {
        bool removed = !strcmp(ch, "deny-removed");
        const json_t *by = json_object_get(removed ? from : to, "by");
        fprintf(out, " %s ", removed ? "no longer denies" : "now denies");
        print_pair(out, act, res, md);
        fputs(" (", out);
        size_t i;
        json_t *p;
        json_array_foreach((json_t *)by, i, p) fprintf(out, "%s%s",
                                                       i         ? ", "
                                                       : removed ? "was "
                                                                 : "by ",
                                                       json_string_value(p));
        fputs(removed ? "): a user who holds it with a role that allows "
                        "this can do it now"
                      : "): a user who holds it cannot do this, whatever "
                        "else they hold",
              out);
    } else if (!strcmp(ch, "granted")) {
        fputs(" can now ", out);
        print_pair(out, act, res, md);
        print_grant(out, to, md);
    } else if (!strcmp(ch, "revoked")) {
        fputs(" can no longer ", out);
        print_pair(out, act, res, md);
    } else if (!strncmp(ch, "scope-", 6)) {
        fputs(" can ", out);
        print_pair(out, act, res, md);
        fprintf(out, " on %s: ",
                !strcmp(ch, "scope-widened")    ? "more rows"
                : !strcmp(ch, "scope-narrowed") ? "fewer rows"
                                                : "other rows (not provably "
                                                  "fewer)");
        print_scope(out, from, md);
        fputs(md ? " → " : " -> ", out);
        print_scope(out, to, md);
    } else {
        const json_t *m = json_is_null(to) ? from : to;
        fputs(" can ", out);
        print_pair(out, act, res, md);
        fputs(" with ", out);
        print_field(out, m, md);
        fputc(' ', out);
        print_state(out, json_is_null(to) ? NULL : to, md);
        fputs(" (was ", out);
        print_state(out, json_is_null(from) ? NULL : from, md);
        fputc(')', out);
    }
}

static size_t count(const json_t *changes, bool widens)
{
    size_t n = 0, i;
    json_t *c;
    json_array_foreach((json_t *)changes, i, c) n +=
        json_is_true(json_object_get(c, "widens")) == widens;
    return n;
}

void access_print_text(FILE *out, const json_t *changes, int indent,
                       bool only_widening, bool color)
{
    for (int w = 1; w >= 0; w--) {
        size_t n = count(changes, w), i;
        json_t *c;
        if (!n || (!w && only_widening))
            continue;
        fprintf(out, "%*s%sAccess %s (%zu change%s):%s\n", indent, "",
                color ? (w ? "\033[31m" : "\033[32m") : "",
                w ? "widened" : "narrowed", n, n == 1 ? "" : "s",
                color ? "\033[0m" : "");
        json_array_foreach((json_t *)changes, i, c)
        {
            if (json_is_true(json_object_get(c, "widens")) != (bool)w)
                continue;
            fprintf(out, "%*s  %c ", indent, "", w ? '+' : '-');
            print_change(out, c, false);
            fputc('\n', out);
        }
    }
}

void access_print_md(FILE *out, const json_t *changes, int level)
{
    if (!json_array_size(changes)) {
        fprintf(out, "Effective access is unchanged.\n\n");
        return;
    }
    for (int w = 1; w >= 0; w--) {
        size_t n = count(changes, w), i;
        json_t *c;
        if (!n)
            continue;
        fprintf(out, "%.*s Access %s (%zu)\n\n", level, "######",
                w ? "widened" : "narrowed", n);
        json_array_foreach((json_t *)changes, i, c)
        {
            if (json_is_true(json_object_get(c, "widens")) != (bool)w)
                continue;
            fputs("- ", out);
            print_change(out, c, true);
            fputc('\n', out);
        }
        fputc('\n', out);
    }
}
