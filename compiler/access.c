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
 *
 * Automations run as the system actor, which the engine lets do anything:
 * a subject allowed the write an automation's trigger names sets it off,
 * and through it does what its actions do (and the automations its
 * cascading writes set off do), on every row and with no mask. Those
 * routes are read from the automations' bodies (their tools and the data
 * type each names); whether the subject sets one off is the engine's
 * decision on the trigger's write.
 */
#include "access.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
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
    json_t *def = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    json_t *r = json_object_get(def, "roles");
    if (json_is_array(r))
        json_array_extend(roles, r);
    json_decref(def);
    return roles;
}

/* ---- what automations do ---- */

/* The action a record tool does (NULL: not a record tool), and the event
 * a write of it sets off. */
static const char *tool_action(const char *tool)
{
    static const char *const tools[][2] = {{"entity.create", "create"},
                                           {"entity.get", "read"},
                                           {"entity.query", "list"},
                                           {"entity.update", "update"},
                                           {"entity.delete", "delete"}};
    for (size_t i = 0; tool && i < sizeof(tools) / sizeof(tools[0]); i++)
        if (!strcmp(tool, tools[i][0]))
            return tools[i][1];
    return NULL;
}

/* "created" -> "create", ...; NULL for anything else. */
static const char *event_action(const char *event)
{
    return !event                      ? NULL
           : !strcmp(event, "created") ? "create"
           : !strcmp(event, "updated") ? "update"
           : !strcmp(event, "deleted") ? "delete"
                                       : NULL;
}

/* The data type a record tool's call reaches: its args' "type" when it
 * is a slug written out, else "*" (any type: a template names a type only
 * when the automation runs). entity.get and entity.delete take an id
 * alone (schemas/builtin-tools.yaml): a "type" beside it is not read, and
 * the record may be of any type. */
static const char *action_type(const char *what, const json_t *args)
{
    if (!strcmp(what, "read") || !strcmp(what, "delete"))
        return "*";
    const char *t = json_string_value(json_object_get(args, "type"));
    return t && *t && !strstr(t, "{{") ? t : "*";
}

/* Whether a write's args may set off the automations on it: cascade is
 * true, or a template that may resolve to true when the automation runs
 * (a string that is one {{path}} becomes the value it names). */
static bool may_cascade(const json_t *args)
{
    const json_t *c = json_object_get(args, "cascade");
    const char *t = json_string_value(c);
    return json_is_true(c) || (t && strstr(t, "{{"));
}

/* "RESOURCE\tACTION" into key (at least 600 bytes). */
static const char *pair_key(char *key, size_t cap, const char *res,
                            const char *act)
{
    snprintf(key, cap, "%s\t%s", res ? res : "?", act ? act : "?");
    return key;
}

/* The automations of a bundle, parsed once, and what their routes read
 * of its agents and tools. */
struct auto_set {
    const struere_bundle *b;
    size_t n;
    json_t **bodies;
    const char **slugs;
    json_t *by_trigger; /* "TYPE\tACTION" -> [indexes] */
    char *seen;
    /* the agents, parsed when an action first asks one (agent.chat) */
    size_t nagents;
    json_t **agents;
    const char **agent_slugs;
    json_t *tool_actions; /* custom tool name -> its HANDLER_* bits */
    bool agents_read, ok;
    /* reach's walk: the automations set off, in the order they are met,
     * and the actions whose writes of any type (*) set them off already */
    size_t *queue, tail;
    unsigned any_type_set_off;
};

/* Automation v is set off: it is walked once, after those met before. */
static void set_off_one(struct auto_set *set, size_t v)
{
    if (set->seen[v])
        return;
    set->seen[v] = 1;
    set->queue[set->tail++] = v;
}

/* Adds `what` on `type` to what a route does, by `by` when it is the
 * first way to it (the walk meets the nearest first: reach). A write
 * that `cascades` also sets off the automations on it: on a type written
 * out, those on that write of it; on any type (*), those on that write
 * of every type. */
static void does_add(struct auto_set *set, const char *type, const char *what,
                     const char *by, bool cascades, json_t *does, json_t *keys)
{
    char key[1200];
    pair_key(key, sizeof(key), type, what);
    if (!json_object_get(keys, key)) {
        json_t *e = pair(type, what);
        json_object_set_new(e, "by", json_string(by));
        json_array_append_new(does, e);
        json_object_set_new(keys, key, json_true());
    }
    if (!cascades || !strcmp(what, "read") || !strcmp(what, "list"))
        return;
    if (strcmp(type, "*") != 0) {
        json_t *v;
        size_t k;
        json_array_foreach(json_object_get(set->by_trigger, key), k, v)
            set_off_one(set, (size_t)json_integer_value(v));
        return;
    }
    int x = 0;
    while (x < NACTIONS && strcmp(actions[x], what))
        x++;
    unsigned bit = x < NACTIONS ? 1u << x : 0;
    if (set->any_type_set_off & bit)
        return; /* every automation on that write is set off already */
    set->any_type_set_off |= bit;
    for (size_t v = 0; v < set->n; v++) {
        const json_t *on = json_object_get(set->bodies[v], "on");
        const char *a =
            event_action(json_string_value(json_object_get(on, "action")));
        if (a && !strcmp(a, what))
            set_off_one(set, v);
    }
}

/* Adds what custom tool `name`'s handler may do (handler.h), on any
 * type: its writes set off the automations on them, as a write through
 * the API does. The HANDLER_* bits are in the order of actions[]. */
static void custom_tool(struct auto_set *set, const char *name, const char *by,
                        json_t *does, json_t *keys)
{
    /* each tool's handler is read once (a route may pass it often) */
    const json_t *memo = json_object_get(set->tool_actions, name);
    unsigned acts = 0;
    if (memo) {
        acts = (unsigned)json_integer_value(memo);
    } else {
        const char *body;
        size_t len;
        if (struere_bundle_lookup(&body, &len, set->b, STRUERE_KIND_TOOL, name,
                                  NULL) == 0) {
            json_t *tool = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
            const json_t *h = json_object_get(tool, "handler");
            if (!tool)
                set->ok = false;
            acts = handler_actions(json_string_value(h), json_string_length(h));
            json_decref(tool);
        }
        if (json_object_set_new(set->tool_actions, name, json_integer(acts)))
            set->ok = false;
    }
    for (int a = 0; a < NACTIONS; a++)
        if (acts & (1u << a))
            does_add(set, "*", actions[a], by, true, does, keys);
}

/* Reads the bundle's agents, once. */
static void agents_read(struct auto_set *set)
{
    if (set->agents_read)
        return;
    set->agents_read = true;
    size_t n = set->nagents = struere_bundle_count(set->b, STRUERE_KIND_AGENT);
    set->agents = calloc(n ? n : 1, sizeof(*set->agents));
    set->agent_slugs = calloc(n ? n : 1, sizeof(*set->agent_slugs));
    if (!set->agents || !set->agent_slugs) {
        set->nagents = 0;
        set->ok = false;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *body;
        size_t len;
        if (struere_bundle_entry(&set->agent_slugs[i], &body, &len, set->b,
                                 STRUERE_KIND_AGENT, i, NULL) != 0 ||
            !(set->agents[i] = json_loadb(body, len, JSON_ALLOW_NUL, NULL)))
            set->ok = false;
    }
}

/* "ORIGIN via agent a, agent b" into buf: the way to agent x, back
 * through from[] to an agent asked first (its own from). */
static void agent_way(const struct auto_set *set, const size_t *from, size_t x,
                      const char *origin, char *buf, size_t size)
{
    size_t depth = 0, at = x;
    while (from[at] != at && depth < set->nagents) {
        at = from[at];
        depth++;
    }
    size_t used = (size_t)snprintf(buf, size, "%s via", origin);
    for (size_t d = depth + 1; d-- > 0 && used < size;) {
        at = x;
        for (size_t k = 0; k < d; k++)
            at = from[at];
        used += (size_t)snprintf(buf + used, size - used, "%s agent %s",
                                 d == depth ? "" : ",", set->agent_slugs[at]);
    }
}

/*
 * Adds what the agents an agent.chat action asks may do (the one named,
 * or every agent when the name is a template): whatever their tools do,
 * on any type, since the model picks the type and the record. The model
 * does not say which actor a chat an automation starts runs as; the
 * automation's own (the system actor, which may do anything) is assumed.
 * Their record writes set off the automations on them, as every agent's
 * do; an agent with agent.chat may ask any agent in turn. The agents are
 * taken nearest first, so that each entry's `by` names a shortest way
 * ("A#actions[i] via agent a, agent b, tool X").
 */
static void chat_action(struct auto_set *set, const json_t *args,
                        const char *origin, json_t *does, json_t *keys)
{
    agents_read(set);
    size_t n = set->nagents, head = 0, tail = 0;
    size_t *queue = malloc((n ? n : 1) * sizeof(*queue));
    size_t *from = malloc((n ? n : 1) * sizeof(*from)); /* SIZE_MAX: not yet */
    if (!queue || !from) {
        free(queue);
        free(from);
        set->ok = false;
        return;
    }
    const char *a = json_string_value(json_object_get(args, "agent"));
    for (size_t x = 0; x < n; x++) {
        from[x] = SIZE_MAX;
        if (!a || strstr(a, "{{") || !strcmp(a, set->agent_slugs[x])) {
            from[x] = x;
            queue[tail++] = x;
        }
    }
    while (head < tail) {
        size_t x = queue[head++];
        char path[900], by[1000];
        agent_way(set, from, x, origin, path, sizeof(path));
        json_t *t;
        size_t i;
        json_array_foreach(json_object_get(set->agents[x], "tools"), i, t)
        {
            const char *name = json_string_value(json_object_get(t, "name"));
            const char *what = tool_action(name);
            snprintf(by, sizeof(by), "%s, tool %s", path, name ? name : "?");
            if (what) {
                does_add(set, "*", what, by, true, does, keys);
            } else if (name && !strcmp(name, "agent.chat")) {
                for (size_t y = 0; y < n; y++)
                    if (from[y] == SIZE_MAX) {
                        from[y] = x;
                        queue[tail++] = y;
                    }
            } else if (name && !json_is_true(json_object_get(t, "builtin"))) {
                custom_tool(set, name, by, does, keys);
            }
        }
    }
    free(queue);
    free(from);
}

/* Adds what automation u does, and what the automations its cascading
 * writes set off do, to `does`: each (resource, action) once (keyed
 * "RESOURCE\tACTION" in keys), by the first way the walk meets. The
 * walk takes the automations breadth first (u, then those u sets off,
 * then those they set off, each once: `seen`, so a cascade cycle, which
 * check refuses, ends), and each one's actions in order, so `by` names a
 * way through the fewest automations. An action does what its record
 * tool does; an agent.chat, what the agent asked may do (chat_action); a
 * custom tool, what its handler may (custom_tool). One entry per pair
 * keeps a subject's listing in proportion to the automations it sets
 * off, not to the ways between them. */
static void reach(struct auto_set *set, size_t u, json_t *does, json_t *keys)
{
    memset(set->seen, 0, set->n);
    set->tail = 0;
    set->any_type_set_off = 0;
    set_off_one(set, u);
    for (size_t head = 0; head < set->tail; head++) {
        size_t v = set->queue[head];
        json_t *act;
        size_t i;
        json_array_foreach(json_object_get(set->bodies[v], "actions"), i, act)
        {
            const char *tool = json_string_value(json_object_get(act, "tool"));
            const char *what = tool_action(tool);
            const json_t *args = json_object_get(act, "args");
            char by[300];
            snprintf(by, sizeof(by), "%s#actions[%zu]", set->slugs[v], i);
            if (what) {
                does_add(set, action_type(what, args), what, by,
                         may_cascade(args), does, keys);
            } else if (tool && !strcmp(tool, "agent.chat")) {
                chat_action(set, args, by, does, keys);
            } else if (tool) {
                char via[900];
                snprintf(via, sizeof(via), "%s via tool %s", by, tool);
                custom_tool(set, tool, via, does, keys);
            }
        }
    }
}

struct access_automations {
    json_t *list;       /* the entries, in slug order */
    json_t *by_trigger; /* "RESOURCE\tACTION" of "when" -> [entries] */
};

void access_automations_free(struct access_automations *au)
{
    if (!au)
        return;
    json_decref(au->list);
    json_decref(au->by_trigger);
    free(au);
}

const json_t *access_automations_list(const struct access_automations *au)
{
    return au ? au->list : NULL;
}

struct access_automations *access_automations_new(const struere_runtime *rt)
{
    const struere_bundle *b = rt ? struere_runtime_bundle(rt) : NULL;
    struct auto_set set = {.b = b, .ok = true, .tool_actions = json_object()};
    set.n = struere_bundle_count(b, STRUERE_KIND_AUTOMATION);
    size_t n = set.n ? set.n : 1;
    struct access_automations *out = calloc(1, sizeof(*out));
    set.bodies = calloc(n, sizeof(*set.bodies));
    set.slugs = calloc(n, sizeof(*set.slugs));
    set.seen = malloc(n);
    set.queue = malloc(n * sizeof(*set.queue));
    set.by_trigger = json_object();
    bool ok = out && set.bodies && set.slugs && set.seen && set.queue &&
              set.by_trigger && (out->list = json_array()) &&
              (out->by_trigger = json_object());
    char key[600];
    for (size_t i = 0; ok && i < set.n; i++) {
        const char *body;
        size_t len;
        if (struere_bundle_entry(&set.slugs[i], &body, &len, b,
                                 STRUERE_KIND_AUTOMATION, i, NULL) == 0)
            set.bodies[i] = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
        const json_t *on = json_object_get(set.bodies[i], "on");
        const char *t = json_string_value(json_object_get(on, "entityType"));
        const char *a =
            event_action(json_string_value(json_object_get(on, "action")));
        /* a bundle verified as this compiler writes it has none without */
        ok = set.bodies[i] && t && a;
        if (!ok)
            break;
        pair_key(key, sizeof(key), t, a);
        json_t *l = json_object_get(set.by_trigger, key);
        if (!l)
            json_object_set_new(set.by_trigger, key, l = json_array());
        json_array_append_new(l, json_integer((json_int_t)i));
    }
    for (size_t i = 0; ok && i < set.n; i++) {
        const json_t *on = json_object_get(set.bodies[i], "on");
        const char *t = json_string_value(json_object_get(on, "entityType"));
        const char *a =
            event_action(json_string_value(json_object_get(on, "action")));
        json_t *au = json_object(), *when = pair(t, a);
        json_t *does = json_array(), *keys = json_object();
        const json_t *cond = json_object_get(on, "condition");
        json_object_set(when, "condition", cond ? (json_t *)cond : json_null());
        json_object_set_new(au, "automation", json_string(set.slugs[i]));
        json_object_set_new(au, "when", when);
        reach(&set, i, does, keys);
        json_object_set_new(au, "does", does);
        json_decref(keys);
        json_array_append(out->list, au);
        pair_key(key, sizeof(key), t, a);
        json_t *l = json_object_get(out->by_trigger, key);
        if (!l)
            json_object_set_new(out->by_trigger, key, l = json_array());
        json_array_append_new(l, au);
    }
    for (size_t i = 0; set.bodies && i < set.n; i++)
        json_decref(set.bodies[i]);
    free(set.bodies);
    free(set.slugs);
    free(set.seen);
    free(set.queue);
    json_decref(set.by_trigger);
    for (size_t i = 0; set.agents && i < set.nagents; i++)
        json_decref(set.agents[i]);
    free(set.agents);
    free(set.agent_slugs);
    json_decref(set.tool_actions);
    if (!ok || !set.ok || !set.tool_actions) {
        access_automations_free(out);
        return NULL;
    }
    return out;
}

/* The actor a subject stands for: the agent, or a user holding the role
 * alone. */
static int subject_actor(const struere_runtime *rt, bool agent,
                         const char *slug, struere_actor **a, char *err,
                         size_t errlen)
{
    const struere_bundle *b = struere_runtime_bundle(rt);
    struere_actor_spec spec = {0};
    *a = NULL;
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
    struere_error e;
    int rc = struere_actor_new(a, rt, &spec, &e);
    if (rc < 0)
        return fail(err, errlen,
                    rc == STRUERE_ENOMEM ? ACCESS_FAILED : ACCESS_INVALID,
                    "%.400s", e.message);
    return ACCESS_OK;
}

/* Orders automation entries by slug. */
static int by_slug(const void *x, const void *y)
{
    const json_t *a = *(const json_t *const *)x, *b = *(const json_t *const *)y;
    return strcmp(json_string_value(json_object_get(a, "automation")),
                  json_string_value(json_object_get(b, "automation")));
}

/* The automations whose trigger's write the subject s is allowed (its
 * "allowed" list), each with what it does, in slug order. */
static json_t *set_off(const json_t *s, const struct access_automations *autos)
{
    json_t *out = json_array(), *e;
    size_t i;
    json_array_foreach(json_object_get(s, "allowed"), i, e)
    {
        char key[600];
        json_t *au;
        size_t k;
        json_array_foreach(
            json_object_get(
                autos->by_trigger,
                pair_key(key, sizeof(key),
                         json_string_value(json_object_get(e, "resource")),
                         json_string_value(json_object_get(e, "action")))),
            k, au) json_array_append(out, au);
    }
    size_t n = json_array_size(out);
    json_t **v = malloc((n ? n : 1) * sizeof(*v));
    if (!v)
        return out;
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(out, i));
    qsort(v, n, sizeof(*v), by_slug);
    json_array_clear(out);
    for (i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    return out;
}

/* access_subject over the resources in `only` (NULL: all), with the
 * automations it sets off among `autos` (NULL: none listed). */
static int subject_on(const struere_runtime *rt, bool agent, const char *slug,
                      const json_t *only,
                      const struct access_automations *autos, json_t **out,
                      char *err, size_t errlen)
{
    struere_actor *a;
    *out = NULL;
    int rc = subject_actor(rt, agent, slug, &a, err, errlen);
    if (rc != ACCESS_OK)
        return rc;
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
    if (autos)
        json_object_set_new(s, "automations", set_off(s, autos));
    *out = s;
    return ACCESS_OK;
}

int access_subject(const struere_runtime *rt,
                   const struct access_automations *automations, bool agent,
                   const char *slug, json_t **out, char *err, size_t errlen)
{
    return subject_on(rt, agent, slug, NULL, automations, out, err, errlen);
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

/* The object of from's members named as[i][1], each under the name
 * as[i][0]: what a change shows of an entry (its from or to). */
static json_t *picked(const json_t *from, const char *const as[3][2])
{
    json_t *g = json_object();
    for (int i = 0; i < 3; i++)
        json_object_set(g, as[i][0], json_object_get(from, as[i][1]));
    return g;
}

/* {"by","scope","masks"} of an allowed entry, its scope as the rules
 * are written. */
static json_t *grant_of(const json_t *e)
{
    static const char *const as[3][2] = {
        {"by", "by"}, {"scope", "rules"}, {"masks", "masks"}};
    return picked(e, as);
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
    return subject_on(s->rt, agent, slug, only, NULL, out, err, errlen);
}

/* Adds the routes through automation au (what it does, keyed
 * "AUTOMATION\tRESOURCE\tACTION" in keys) to list: one {"automation",
 * "resource", "action", "when", "by": [...]} per resource and action. */
static void add_routes(json_t *list, json_t *keys, json_t *au)
{
    const char *name = json_string_value(json_object_get(au, "automation"));
    json_t *when = json_object_get(au, "when"), *e;
    size_t k;
    json_array_foreach(json_object_get(au, "does"), k, e)
    {
        const char *r = json_string_value(json_object_get(e, "resource"));
        const char *x = json_string_value(json_object_get(e, "action"));
        char key[900];
        snprintf(key, sizeof(key), "%s\t%s\t%s", name, r, x);
        json_t *route = json_object_get(keys, key);
        if (!route) {
            route = pair(r, x);
            json_object_set_new(route, "automation", json_string(name));
            json_object_set(route, "when", when);
            json_object_set_new(route, "by", json_array());
            json_object_set_new(keys, key, route);
            json_array_append(list, route);
        }
        json_array_append(json_object_get(route, "by"),
                          json_object_get(e, "by"));
    }
}

/* The routes through automations of a subject on side s, in *list and
 * keyed in *keys (add_routes): with its access `doc` (all of it), through
 * every automation it sets off; without, through those of `candidates`
 * whose trigger's write the engine allows it. Both empty when the side
 * lacks the subject. */
static int side_routes(const struct side *s,
                       const struct access_automations *autos, bool agent,
                       const char *slug, const json_t *doc,
                       const json_t *candidates, json_t **list, json_t **keys,
                       char *err, size_t errlen)
{
    *list = json_array();
    *keys = json_object();
    if (!s->b ||
        struere_bundle_lookup(NULL, NULL, s->b,
                              agent ? STRUERE_KIND_AGENT : STRUERE_KIND_ROLE,
                              slug, NULL) < 0)
        return ACCESS_OK;
    json_t *au;
    size_t i;
    if (doc) {
        json_t *on = set_off(doc, autos);
        json_array_foreach(on, i, au) add_routes(*list, *keys, au);
        json_decref(on);
        return ACCESS_OK;
    }
    struere_actor *a;
    int rc = subject_actor(s->rt, agent, slug, &a, err, errlen);
    json_array_foreach(candidates, i, au)
    {
        if (rc != ACCESS_OK)
            break;
        json_t *when = json_object_get(au, "when");
        const char *res = json_string_value(json_object_get(when, "resource"));
        const char *act = json_string_value(json_object_get(when, "action"));
        struere_decision d;
        int drc = struere_decide(&d, s->rt, a, act, res, NULL);
        if (drc < 0)
            rc = fail(err, errlen, ACCESS_FAILED, "%s on %s: %s", act, res,
                      struere_strerror(drc));
        else if (d.allowed)
            add_routes(*list, *keys, au);
    }
    if (a)
        struere_actor_free(a);
    return rc;
}

/* {"automation", "when", "by"} of a route, for a change's from or to. */
static json_t *route_of(const json_t *r)
{
    static const char *const as[3][2] = {
        {"automation", "automation"}, {"when", "when"}, {"by", "by"}};
    return picked(r, as);
}

/* The routes through automations a subject gains (widens: the
 * automation does it on every row, with no mask, whatever else the
 * subject may do) and loses, between the sides: all of them where the
 * subject's whole access is given on each side (docs, NULL where the side
 * lacks it), else those through the automations in candidates (the
 * changed ones, on each side). */
static int route_changes(json_t *list, const char *name, const struct side *x,
                         const struct side *y,
                         const struct access_automations *const aut[2],
                         bool agent, const char *slug,
                         const json_t *const docs[2],
                         const json_t *const candidates[2], char *err,
                         size_t errlen)
{
    json_t *la, *ka, *lb = NULL, *kb = NULL;
    int rc = side_routes(x, aut[0], agent, slug, docs[0], candidates[0], &la,
                         &ka, err, errlen);
    if (rc == ACCESS_OK)
        rc = side_routes(y, aut[1], agent, slug, docs[1], candidates[1], &lb,
                         &kb, err, errlen);
    /* those of the new side in its order, then those only the old had */
    const json_t *lists[2] = {lb, la}, *other[2] = {ka, kb};
    for (int s = 0; s < 2 && rc == ACCESS_OK; s++) {
        json_t *r;
        size_t i;
        json_array_foreach(lists[s], i, r)
        {
            char key[900];
            snprintf(key, sizeof(key), "%s\t%s\t%s",
                     json_string_value(json_object_get(r, "automation")),
                     json_string_value(json_object_get(r, "resource")),
                     json_string_value(json_object_get(r, "action")));
            if (json_object_get(other[s], key))
                continue;
            json_t *g = route_of(r);
            add_change(list, name,
                       json_string_value(json_object_get(r, "resource")),
                       json_string_value(json_object_get(r, "action")),
                       s ? "automation-revoked" : "automation-granted", !s,
                       s ? g : NULL, s ? NULL : g);
            json_decref(g);
        }
    }
    json_decref(la);
    json_decref(ka);
    json_decref(lb);
    json_decref(kb);
    return rc;
}

/* The automations whose trigger or reach differ between the sides (on
 * one side only, or other), as a set of slugs, and each side's entries
 * of them appended to cx and cy. Both lists are in slug order. */
static json_t *changed_automations(const json_t *ax, const json_t *ay,
                                   json_t *cx, json_t *cy)
{
    json_t *set = json_object();
    size_t i = 0, j = 0, na = json_array_size(ax), nb = json_array_size(ay);
    while (i < na || j < nb) {
        const json_t *a = i < na ? json_array_get(ax, i) : NULL;
        const json_t *b = j < nb ? json_array_get(ay, j) : NULL;
        const char *sa = json_string_value(json_object_get(a, "automation"));
        const char *sb = json_string_value(json_object_get(b, "automation"));
        int cmp = !sa ? 1 : !sb ? -1 : strcmp(sa, sb);
        if (cmp != 0 || !json_equal((json_t *)a, (json_t *)b)) {
            json_object_set_new(set, cmp <= 0 ? sa : sb, json_true());
            if (cmp <= 0)
                json_array_append(cx, (json_t *)a);
            if (cmp >= 0)
                json_array_append(cy, (json_t *)b);
        }
        i += cmp <= 0;
        j += cmp >= 0;
    }
    return set;
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

/* Whether the definitions of `kind` differ between the sides: one has
 * a slug the other lacks, or another body. */
static bool bodies_differ(const struct side *x, const struct side *y, int kind)
{
    size_t n = struere_bundle_count(x->b, kind);
    if (n != struere_bundle_count(y->b, kind))
        return true;
    for (size_t i = 0; i < n; i++) {
        const char *slug;
        if (struere_bundle_entry(&slug, NULL, NULL, x->b, kind, i, NULL) < 0 ||
            !same_body(x, y, kind, slug))
            return true;
    }
    return false;
}

/* ---- what actor.entityId stands for ---- */

static bool has_role(const struct side *s, const char *slug)
{
    return s->b && struere_bundle_lookup(NULL, NULL, s->b, STRUERE_KIND_ROLE,
                                         slug, NULL) == 0;
}

/* Role -> {"type", "userIdField"}: the data type bound to each role on
 * side s (boundToRole; userIdField defaults to userId), as a set. */
static json_t *bindings_of(const struct side *s)
{
    json_t *map = json_object();
    size_t n = s->b ? struere_bundle_count(s->b, STRUERE_KIND_DATA) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *slug, *body;
        size_t len;
        struere_bundle_entry(&slug, &body, &len, s->b, STRUERE_KIND_DATA, i,
                             NULL);
        json_t *def = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
        const char *role =
            json_string_value(json_object_get(def, "boundToRole"));
        const char *field =
            json_string_value(json_object_get(def, "userIdField"));
        if (role && !json_object_get(map, role))
            json_object_set_new(map, role,
                                json_pack("{s:s, s:s}", "type", slug,
                                          "userIdField",
                                          field ? field : "userId"));
        json_decref(def);
    }
    return map;
}

/* Whether an allowed entry's rules, as written, compare with
 * actor.entityId or actor.relatedIds:TYPE (which start from it). */
static bool reads_entity(const json_t *e, bool *neq)
{
    json_t *terms = json_object_get(json_object_get(e, "rules"), "anyOf");
    json_t *term, *cond;
    size_t i, j;
    bool reads = false;
    *neq = false;
    json_array_foreach(terms, i, term)
    {
        json_array_foreach(json_object_get(term, "allOf"), j, cond)
        {
            const char *actor = json_string_value(
                json_object_get(json_object_get(cond, "value"), "actor"));
            const char *op =
                json_string_value(json_object_get(cond, "operator"));
            if (actor &&
                (!strcmp(actor, "entityId") || !strcmp(actor, "relatedIds"))) {
                reads = true;
                *neq |= op && !strcmp(op, "neq");
            }
        }
    }
    return reads;
}

/*
 * actor.entityId is the id of the user's record in the data type bound
 * to one of their roles (boundToRole), found by its userIdField; rules
 * that compare with it, or with actor.relatedIds, select other rows when
 * that binding changes, though they read the same (unbound, `eq` selects
 * none and `neq` every row). For each role bound otherwise on the two
 * sides, each pair it is allowed on the new side with such a rule is
 * listed as "binding-changed" (from, to: {"type","userIdField"} or null),
 * widening where the role is bound on the new side (which rows the rules
 * now select depends on the records) or a rule compares with `neq`
 * (unbound, it admits every row); unbound, the others admit none.
 */
static int binding_changes(json_t *list, const struct side *x,
                           const struct side *y, char *err, size_t errlen)
{
    int rc = ACCESS_OK;
    if (!x->b || !y->b)
        return rc;
    json_t *bx = bindings_of(x), *by = bindings_of(y);
    const json_t *maps[2] = {bx, by};
    for (int m = 0; m < 2 && rc == ACCESS_OK; m++) {
        const char *role;
        json_t *v;
        json_object_foreach((json_t *)maps[m], role, v)
        {
            const json_t *was = json_object_get(bx, role),
                         *now = json_object_get(by, role);
            /* each role once: from the old side's map, or the new's when
             * the old lacks it */
            if ((m == 1 && was) || json_equal(was, now) || !has_role(y, role))
                continue;
            json_t *acc = NULL, *e;
            rc = side_access(y, false, role, NULL, &acc, err, errlen);
            if (rc != ACCESS_OK)
                break;
            char name[300];
            snprintf(name, sizeof(name), "role:%s", role);
            size_t i;
            json_array_foreach(json_object_get(acc, "allowed"), i, e)
            {
                bool neq;
                /* unbound, a rule on it admits nothing, but with neq
                 * every row */
                if (reads_entity(e, &neq))
                    add_change(
                        list, name,
                        json_string_value(json_object_get(e, "resource")),
                        json_string_value(json_object_get(e, "action")),
                        "binding-changed", now || neq, (json_t *)was,
                        (json_t *)now);
            }
            json_decref(acc);
        }
    }
    json_decref(bx);
    json_decref(by);
    return rc;
}

/* ---- a user holding two roles ---- */

/* The entry of (res, act) that a user holding `roles` (n of them) is
 * allowed on side s, or NULL (*out) when not allowed. */
static int roles_entry(const struct side *s, const char *const *roles, size_t n,
                       const char *res, const char *act, json_t **out,
                       char *err, size_t errlen)
{
    struere_actor_spec spec = {0};
    struere_actor *a;
    struere_error e;
    *out = NULL;
    spec.type = STRUERE_ACTOR_USER;
    spec.id = ACCESS_ROLE_USER_ID;
    spec.roles = roles;
    spec.role_count = n;
    int rc = struere_actor_new(&a, s->rt, &spec, &e);
    if (rc < 0)
        return fail(err, errlen,
                    rc == STRUERE_ENOMEM ? ACCESS_FAILED : ACCESS_INVALID,
                    "%.400s", e.message);
    json_t *allowed = json_array(), *denied = json_array();
    struct memo m;
    memset(&m, 0, sizeof(m));
    rc =
        decide_one(s->rt, a, res, act, false, allowed, denied, &m, err, errlen);
    memo_free(&m);
    struere_actor_free(a);
    if (rc == ACCESS_OK && json_array_size(allowed))
        *out = json_incref(json_array_get(allowed, 0));
    json_decref(allowed);
    json_decref(denied);
    return rc;
}

/*
 * A role's grant that carried a row scope or field masks, revoked (or the
 * role gone): for a user who also holds another role that grants the
 * pair, that grant restricted what the other allows (the engine ORs the
 * scope rules of the roles that grant, a role without rules adding none,
 * and applies the masks of each), and no longer does. For each such
 * revocation in `list` and each other role of both sides, a user holding
 * the two is decided by the engine on each side; what widens for that
 * user is added, its subject "roles:R+S".
 */
static int role_pair_changes(json_t *list, const struct side *x,
                             const struct side *y, char *err, size_t errlen)
{
    size_t n = json_array_size(list);
    int rc = ACCESS_OK;
    if (!x->b || !y->b)
        return rc;
    for (size_t i = 0; i < n && rc == ACCESS_OK; i++) {
        const json_t *c = json_array_get(list, i);
        const char *subject = json_string_value(json_object_get(c, "subject"));
        const json_t *from = json_object_get(c, "from");
        if (strncmp(subject, "role:", 5) ||
            strcmp(json_string_value(json_object_get(c, "change")),
                   "revoked") ||
            (json_is_null(json_object_get(from, "scope")) &&
             !json_array_size(json_object_get(from, "masks"))))
            continue;
        const char *r = subject + 5;
        const char *res = json_string_value(json_object_get(c, "resource"));
        const char *act = json_string_value(json_object_get(c, "action"));
        /* a data type gone: nobody does anything with it */
        if (strcmp(res, "users") &&
            struere_bundle_lookup(NULL, NULL, y->b, STRUERE_KIND_DATA, res,
                                  NULL) < 0)
            continue;
        size_t ns = struere_bundle_count(y->b, STRUERE_KIND_ROLE);
        for (size_t k = 0; k < ns && rc == ACCESS_OK; k++) {
            const char *other;
            struere_bundle_entry(&other, NULL, NULL, y->b, STRUERE_KIND_ROLE, k,
                                 NULL);
            if (!strcmp(other, r) || !has_role(x, other))
                continue; /* a role new on this side: nobody held both */
            const char *both[2] = {r, other};
            json_t *ea = NULL, *eb = NULL;
            rc = roles_entry(x, both, 2, res, act, &ea, err, errlen);
            /* the role gone: the user holds the other alone */
            if (rc == ACCESS_OK && ea)
                rc = has_role(y, r)
                         ? roles_entry(y, both, 2, res, act, &eb, err, errlen)
                         : roles_entry(y, both + 1, 1, res, act, &eb, err,
                                       errlen);
            if (rc == ACCESS_OK && ea) {
                char name[600];
                snprintf(name, sizeof(name), "roles:%s+%s",
                         strcmp(r, other) < 0 ? r : other,
                         strcmp(r, other) < 0 ? other : r);
                json_t *found = json_array(), *f;
                size_t j;
                pair_changes(found, name, ea, eb);
                json_array_foreach(
                    found, j, f) if (json_is_true(json_object_get(f, "widens")))
                    json_array_append(list, f);
                json_decref(found);
            }
            json_decref(ea);
            json_decref(eb);
        }
    }
    return rc;
}

/* The automations of both sides (access_automations_new; parsed once
 * when their bodies are the same on both), the changed ones' slugs and
 * each side's entries of them (changed_automations). */
static int parse_automations(const struere_runtime *rfrom,
                             const struere_runtime *rto, bool same,
                             struct access_automations *aut[2], json_t *cand[2],
                             json_t **changed, char *err, size_t errlen)
{
    aut[0] = access_automations_new(rfrom);
    aut[1] = same ? aut[0] : access_automations_new(rto);
    cand[0] = json_array();
    cand[1] = json_array();
    const json_t *ax = access_automations_list(aut[0]),
                 *ay = access_automations_list(aut[1]);
    *changed = ax && ay && cand[0] && cand[1]
                   ? changed_automations(ax, ay, cand[0], cand[1])
                   : NULL;
    if (!*changed)
        return fail(err, errlen, ACCESS_FAILED,
                    "out of memory, or an automation of a bundle is not "
                    "what the compiler writes");
    return ACCESS_OK;
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
    /* what the automations do on each side, parsed when first needed: a
     * subject's routes through them are compared where its access can
     * differ, or an automation's trigger or reach did (only where their
     * bodies differ) */
    bool autos = struere_bundle_count(from, STRUERE_KIND_AUTOMATION) ||
                 struere_bundle_count(to, STRUERE_KIND_AUTOMATION);
    /* an automation's reach reads the agents it asks and the custom
     * tools it calls (their tools, their handlers) too */
    bool autos_differ = bodies_differ(&x, &y, STRUERE_KIND_AUTOMATION) ||
                        (autos && (bodies_differ(&x, &y, STRUERE_KIND_AGENT) ||
                                   bodies_differ(&x, &y, STRUERE_KIND_TOOL)));
    struct access_automations *aut[2] = {NULL, NULL};
    json_t *cand[2] = {NULL, NULL}, *autos_changed = NULL;
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
            char name[300];
            snprintf(name, sizeof(name), "%s:%s", agent ? "agent" : "role",
                     slug);
            json_t *a = NULL, *b = NULL;
            if (whole || !types_same) {
                rc = side_access(&x, agent, slug, whole ? NULL : removed, &a,
                                 err, errlen);
                if (rc == ACCESS_OK)
                    rc = side_access(&y, agent, slug, whole ? NULL : added, &b,
                                     err, errlen);
                if (rc == ACCESS_OK)
                    subject_changes(list, name, !agent, a, b, removed, added);
            }
            /* the whole access on each side gives every automation set off;
             * else only the changed automations can be set off otherwise */
            const json_t *docs[2] = {a, b}, *none[2] = {NULL, NULL};
            if (rc == ACCESS_OK && autos && (whole || autos_differ) && !aut[0])
                rc = parse_automations(rfrom, rto, !autos_differ, aut, cand,
                                       &autos_changed, err, errlen);
            if (rc == ACCESS_OK && autos &&
                (whole || json_object_size(autos_changed)))
                rc =
                    route_changes(list, name, &x, &y,
                                  (const struct access_automations *const *)aut,
                                  agent, slug, whole ? docs : none,
                                  (const json_t *const *)cand, err, errlen);
            json_decref(a);
            json_decref(b);
        }
    }
    if (rc == ACCESS_OK)
        rc = binding_changes(list, &x, &y, err, errlen);
    if (rc == ACCESS_OK)
        rc = role_pair_changes(list, &x, &y, err, errlen);
    if (aut[1] != aut[0])
        access_automations_free(aut[1]);
    access_automations_free(aut[0]);
    json_decref(cand[0]);
    json_decref(cand[1]);
    json_decref(autos_changed);
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

/* "agent front-desk" / "role staff" / "a user with roles staff and
 * teacher" */
static void print_subject(FILE *out, const char *subject, bool md)
{
    const char *colon = strchr(subject, ':');
    int n = colon ? (int)(colon - subject) : 0;
    const char *plus = colon ? strchr(colon, '+') : NULL;
    if (plus && !strncmp(subject, "roles:", 6)) {
        fprintf(out,
                md ? "a user with roles **%.*s** and **%s**"
                   : "a user with roles %.*s and %s",
                (int)(plus - colon - 1), colon + 1, plus + 1);
        return;
    }
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

/* What actor.entityId stands for under a binding ({"type",
 * "userIdField"}, or null). */
static void print_binding(FILE *out, const json_t *b, bool md)
{
    if (!b || json_is_null(b)) {
        fputs("nothing: no data type is bound to the role", out);
        return;
    }
    fputs("the user's record in data type ", out);
    print_code(out, json_string_value(json_object_get(b, "type")), md);
    fputs(", matched by ", out);
    print_code(out, json_string_value(json_object_get(b, "userIdField")), md);
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
    if (!strncmp(ch, "automation-", 11)) {
        bool granted = !strcmp(ch, "automation-granted");
        const json_t *r = granted ? to : from;
        const json_t *when = json_object_get(r, "when");
        fputs(granted ? " now sets off automation "
                      : " no longer sets off "
                        "automation ",
              out);
        print_code(out, json_string_value(json_object_get(r, "automation")),
                   md);
        fputs(" (on ", out);
        print_pair(out, json_string_value(json_object_get(when, "action")),
                   json_string_value(json_object_get(when, "resource")), md);
        fputs("), which does ", out);
        print_pair(out, act, res, md);
        fputs(res && !strcmp(res, "*") ? " (any data type)" : "", out);
        fputs(granted ? " on every row, with no mask, as the system actor (by "
                      : " (was by ",
              out);
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(r, "by"), i, p)
            fprintf(out, "%s%s", i ? ", " : "", json_string_value(p));
        fputc(')', out);
    } else if (!strcmp(ch, "binding-changed")) {
        fputs(": the rules of ", out);
        print_pair(out, act, res, md);
        fputs(" compare with actor.entityId, which now stands for ", out);
        print_binding(out, to, md);
        fputs(" (was ", out);
        print_binding(out, from, md);
        fputc(')', out);
    } else if (!strcmp(ch, "deny-removed") || !strcmp(ch, "deny-added")) {
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
