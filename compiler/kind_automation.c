/*
 * kind_automation.c - automations: schedule and condition rules, the
 * {{trigger.*}} / {{steps.*}} templates in arguments, references to data
 * types, fields and tools, and cascade cycles between automations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "handler.h"
#include "kinds.h"
#include "node.h"
#include "suggest.h"
#include "template.h"

static const char *action_of(const struct node *view)
{
    return node_get_str(node_get(view, "on"), "action");
}

struct args_scan {
    struct check_ctx *c;
    const struct node *view;
    const struct node *at;   /* the string being scanned */
    size_t action_index;     /* steps may name earlier actions only */
    const struct node *data; /* the watched data type's view, or NULL */
    bool refs;               /* second pass: field references */
};

static bool earlier_step(const struct node *view, const char *name, size_t len,
                         size_t before)
{
    const struct node *acts = node_get(view, "actions");
    for (size_t i = 0;
         acts && acts->type == NODE_SEQ && i < acts->n && i < before; i++) {
        const char *as = node_get_str(&acts->kids[i], "as");
        if (as && strlen(as) == len && !strncmp(as, name, len))
            return true;
    }
    return false;
}

static void visit_arg(void *ctx, const struct tmpl_expr *e)
{
    struct args_scan *s = ctx;
    char var[256];
    snprintf(var, sizeof(var), "%.*s",
             (int)(e->name_len < 200 ? e->name_len : 200), e->name);
    if (e->is_call) {
        if (!s->refs)
            diag_error(s->c->diags, s->at, "template-unknown-variable",
                       "automation arguments take {{trigger.*}} and "
                       "{{steps.*}} variables; call tools as actions",
                       "function call '%s(...)' is not available in "
                       "automation arguments",
                       var);
        return;
    }
    static const char *const fixed[] = {
        "trigger.entityId", "trigger.entityType",   "trigger.action",
        "trigger.data",     "trigger.previousData", NULL};
    for (const char *const *f = fixed; *f; f++)
        if (!strcmp(var, *f))
            goto previous;
    if (!strncmp(var, "trigger.data.", 13) ||
        !strncmp(var, "trigger.previousData.", 21)) {
        const char *field = strchr(var + 8, '.') + 1;
        if (s->refs && s->data && !data_field(s->data, field))
            diag_error(
                s->c->diags, s->at, "unknown-field",
                "name a field declared in the watched data type's "
                "schema",
                "'{{%s}}': '%s' is not a field of data type '%s'", var, field,
                node_get_str(s->data, "slug") ? node_get_str(s->data, "slug")
                                              : "?");
        goto previous;
    }
    if (!strncmp(var, "steps.", 6)) {
        const char *name = var + 6;
        size_t n = strcspn(name, ".");
        if (!s->refs && !earlier_step(s->view, name, n, s->action_index))
            diag_error(s->c->diags, s->at, "unknown-step",
                       "give an earlier action 'as: NAME' to use its "
                       "result",
                       "'{{%s}}' names step '%.*s', which no earlier action "
                       "defines with 'as'",
                       var, (int)n, name);
        return;
    }
    if (!s->refs) {
        struct suggest sg;
        suggest_init(&sg, var);
        for (const char *const *f = fixed; *f; f++)
            suggest_offer(&sg, *f);
        char hint[300];
        if (suggest_best(&sg))
            snprintf(hint, sizeof(hint), "did you mean '%s'?",
                     suggest_best(&sg));
        else
            snprintf(hint, sizeof(hint),
                     "automation arguments take trigger.entityId, "
                     "trigger.entityType, trigger.action, trigger.data.*, "
                     "trigger.previousData.* and steps.NAME.*");
        diag_error(s->c->diags, s->at, "template-unknown-variable", hint,
                   "unknown template variable '%s'", var);
    }
    return;
previous:
    if (!s->refs && !strncmp(var, "trigger.previousData", 20)) {
        const char *act = action_of(s->view);
        if (act && strcmp(act, "updated"))
            diag_error(s->c->diags, s->at, "previous-data-action",
                       "previousData exists only for on.action: updated",
                       "'{{%s}}' is used in an automation on '%s'", var, act);
    }
}

static void scan_value(struct args_scan *s, const struct node *n, int depth)
{
    if (!n || depth > 64)
        return;
    if (n->type == NODE_STRING) {
        s->at = n;
        size_t eo;
        const char *err;
        if (template_scan(n->str, node_len(n), visit_arg, s, &eo, &err) < 0 &&
            !s->refs)
            diag_error(s->c->diags, n, "template-unbalanced",
                       strstr(err, "deep")
                           ? "templates may nest at most 16 levels of {{ }}"
                           : "close it with '}}'",
                       "template in argument: %s", err);
        return;
    }
    if (n->type == NODE_MAP)
        for (size_t i = 0; i < n->n; i++)
            scan_value(s, &n->kids[2 * i + 1], depth + 1);
    if (n->type == NODE_SEQ)
        for (size_t i = 0; i < n->n; i++)
            scan_value(s, &n->kids[i], depth + 1);
}

static void scan_templates(struct check_ctx *c, const struct node *view,
                           const struct node *data, bool refs)
{
    struct args_scan s = {.c = c, .view = view, .data = data, .refs = refs};
    const struct node *acts = node_get(view, "actions");
    for (size_t i = 0; acts && acts->type == NODE_SEQ && i < acts->n; i++) {
        s.action_index = i;
        scan_value(&s, node_get(&acts->kids[i], "args"), 0);
    }
    s.action_index = (size_t)-1;
    scan_value(&s, node_get(node_get(view, "schedule"), "at"), 0);
}

void automation_check_file(struct check_ctx *c, struct def *d,
                           const struct node *view)
{
    (void)d;
    const struct node *sched = node_get(view, "schedule");
    if (node_get(sched, "delay") && node_get(sched, "at"))
        diag_error(c->diags, node_get_key(sched, "at"), "schedule-delay-at",
                   "use 'delay' (ms after the event) or 'at' (a time, with "
                   "'offset'), not both",
                   "schedule cannot have both \"delay\" and \"at\"");
    if (node_get(sched, "offset") && !node_get(sched, "at"))
        diag_warning(c->diags, node_get_key(sched, "offset"),
                     "offset-without-at", "add 'at', or remove 'offset'",
                     "'offset' applies only to 'at'");
    const char *act = action_of(view);
    const struct node *cond = node_get(node_get(view, "on"), "condition");
    for (size_t i = 0; cond && cond->type == NODE_MAP && i < cond->n; i++) {
        const struct node *k = &cond->kids[2 * i];
        if (!strncmp(k->str, "previousData.", 13)) {
            if (act && strcmp(act, "updated"))
                diag_error(c->diags, k, "previous-data-action",
                           "previousData exists only for on.action: "
                           "updated",
                           "condition on '%s' in an automation on '%s'", k->str,
                           act);
        } else if (strncmp(k->str, "data.", 5)) {
            diag_error(c->diags, k, "bad-condition",
                       "condition keys are 'data.<field>' or, for updated, "
                       "'previousData.<field>'",
                       "condition key '%s' must start with 'data.' or "
                       "'previousData.'",
                       k->str);
        }
        const struct node *v = &cond->kids[2 * i + 1];
        if (v->type == NODE_MAP || v->type == NODE_SEQ)
            diag_error(c->diags, v, "bad-condition",
                       "conditions compare with strict equality: use a "
                       "string, number, boolean or null",
                       "condition value for '%s' must be a scalar", k->str);
    }
    const struct node *acts = node_get(view, "actions");
    for (size_t i = 0; acts && acts->type == NODE_SEQ && i < acts->n; i++) {
        const struct node *as = node_get(&acts->kids[i], "as");
        if (!as || as->type != NODE_STRING)
            continue;
        for (size_t j = 0; j < i; j++)
            if (node_equal(node_get(&acts->kids[j], "as"), as)) {
                diag_error(c->diags, as, "duplicate-entry",
                           "give each action a different 'as'",
                           "step name '%s' is already used by action %zu",
                           as->str, j + 1);
                break;
            }
    }
    scan_templates(c, view, NULL, false);
}

void automation_check_refs(struct check_ctx *c, struct def *d,
                           const struct node *view)
{
    (void)d;
    const struct node *type = node_get(node_get(view, "on"), "entityType");
    struct def *data = NULL;
    if (type && type->type == NODE_STRING) {
        data = check_lookup(c, KIND_DATA, type->str);
        if (!data)
            check_unknown_ref(c, type, KIND_DATA, "unknown-data-type",
                              "watched data type", NULL);
    }
    const struct node *dview = data && data->root ? data->view[c->env] : NULL;
    const struct node *cond = node_get(node_get(view, "on"), "condition");
    for (size_t i = 0; dview && cond && cond->type == NODE_MAP && i < cond->n;
         i++) {
        const struct node *k = &cond->kids[2 * i];
        const char *dot = strchr(k->str, '.');
        if (dot && !data_field(dview, dot + 1))
            diag_error(c->diags, k, "unknown-field",
                       "name a field declared in the data type's schema",
                       "condition: '%s' is not a field of data type '%s'",
                       dot + 1, type->str);
    }
    const struct node *acts = node_get(view, "actions");
    for (size_t i = 0; acts && acts->type == NODE_SEQ && i < acts->n; i++) {
        const struct node *tool = node_get(&acts->kids[i], "tool");
        if (tool && tool->type == NODE_STRING &&
            !check_tool_exists(c, tool->str))
            check_unknown_tool(c, tool, "action uses");
        const struct node *chat =
            node_get(node_get(&acts->kids[i], "args"), "agent");
        if (node_is_str(tool, "agent.chat") && chat &&
            chat->type == NODE_STRING && !strstr(chat->str, "{{") &&
            !check_lookup(c, KIND_AGENT, chat->str))
            check_unknown_ref(c, chat, KIND_AGENT, "unknown-agent", "agent",
                              NULL);
        const struct node *t =
            node_get(node_get(&acts->kids[i], "args"), "type");
        if (tool && tool->type == NODE_STRING &&
            !strncmp(tool->str, "entity.", 7) && t && t->type == NODE_STRING &&
            !strstr(t->str, "{{") && !check_lookup(c, KIND_DATA, t->str))
            check_unknown_ref(c, t, KIND_DATA, "unknown-data-type", "data type",
                              NULL);
    }
    scan_templates(c, view, dview, true);
}

/* ---- cascades -------------------------------------------------------------
 */

/* How an action's write sets off an automation: not at all; surely
 * (cascade: true, and the write's type and event are the automation's
 * trigger); or maybe, when the record decides (why_maybe). */
enum edge { EDGE_NONE, EDGE_SURE, EDGE_MAYBE };
enum why_maybe {
    MAYBE_CASCADE, /* cascade is a template: the value it gives */
    MAYBE_TYPE,    /* the type written is a template */
    MAYBE_DELETE,  /* a delete takes an id alone: a record of any type */
    MAYBE_AGENT,   /* an agent asked (agent.chat) may write any record */
    MAYBE_HANDLER, /* a custom tool's handler may write any record */
};

struct cascade_graph {
    struct check_ctx *c;
    struct def **autos;
    size_t n;
    /* the sure edges' walk (errors) */
    int *color; /* 0 new, 1 on the path, 2 done */
    size_t *path;
    size_t depth;
    /* the strongly connected parts over every edge (Tarjan) */
    size_t *index, *low, *part, *stack, counter, sp;
    bool *on_stack;
    size_t *from; /* a path back, found breadth first */
    /* cascades[u]: u has an action that may set automations off (most
     * have none: their edges are not looked for) */
    bool *cascades;
    /* the automations by trigger (event, type, then position): what a
     * write sets off is a range of it */
    struct trigger *by_trigger;
    /* indirect[u][i]: the events u's action i may write through an agent
     * it asks or a custom tool it calls (NULL: u has no such action) */
    unsigned char **indirect;
    unsigned every_agent; /* what any agent may write, once known */
    bool every_agent_known;
    /* what each tool's handler and each agent's tools may write, by the
     * definition's position, read once: 0 not yet, else MEMO_KNOWN with
     * the event bits (and MEMO_CHATS: the agent may ask agents) */
    unsigned char *tool_memo, *agent_memo;
};

enum { MEMO_CHATS = 1u << 3, MEMO_KNOWN = 1u << 7 };

/* The events a write may set off, as bits in by_trigger's order. */
static const char *const event_names[] = {"created", "deleted", "updated"};

static unsigned event_bit(const char *event)
{
    for (unsigned k = 0; event && k < 3; k++)
        if (!strcmp(event, event_names[k]))
            return 1u << k;
    return 0;
}

struct trigger {
    const char *event, *type; /* "" when not given */
    size_t u;
};

static int cmp_trigger(const void *a, const void *b)
{
    const struct trigger *x = a, *y = b;
    int d = strcmp(x->event, y->event);
    if (!d)
        d = strcmp(x->type, y->type);
    return d ? d : x->u < y->u ? -1 : x->u > y->u;
}

static const char *event_of(const char *tool)
{
    if (!strcmp(tool, "entity.create"))
        return "created";
    if (!strcmp(tool, "entity.update"))
        return "updated";
    if (!strcmp(tool, "entity.delete"))
        return "deleted";
    return NULL;
}

/* Whether a string value is a template: as the access analysis takes it
 * (access.c), a cascade written so may be true when the automation runs
 * (a string that is one {{path}} becomes the value it names). */
static bool is_template(const struct node *n)
{
    return n && n->type == NODE_STRING && strstr(n->str, "{{");
}

/* Whether n is the string {{trigger.entityType}} (spaces inside the
 * braces allowed): the automation's own trigger type. */
static bool is_trigger_type(const struct node *n)
{
    if (!n || n->type != NODE_STRING || strncmp(n->str, "{{", 2))
        return false;
    const char *p = n->str + 2;
    p += strspn(p, " ");
    if (strncmp(p, "trigger.entityType", 18))
        return false;
    p += 18;
    p += strspn(p, " ");
    return !strcmp(p, "}}");
}

/* ---- writes through an agent or a custom tool ----
 * An agent's record writes set automations off whatever `cascade` says
 * (struere-model §2.4: triggers fire from agent tool calls), on any type
 * (the model picks it); so may a custom tool's writes through `struere`
 * (handler.h). So an action that asks an agent or calls such a tool is
 * a maybe edge to every automation on an event it may write. */

/* Where def d is among its kind's definitions (memo's index), or -1. */
static long def_position(const struct cascade_graph *g, enum kind k,
                         const struct def *d)
{
    const struct project *p = g->c->project;
    return d && d >= p->defs[k] && d < p->defs[k] + p->ndefs[k]
               ? (long)(d - p->defs[k])
               : -1;
}

/* The events custom tool `name`'s handler may write (0: no such tool). */
static unsigned tool_events(struct cascade_graph *g, const char *name)
{
    const struct check_ctx *c = g->c;
    const struct def *t = check_lookup(c, KIND_TOOL, name);
    long at = def_position(g, KIND_TOOL, t);
    if (at >= 0 && g->tool_memo[at])
        return g->tool_memo[at] & ~(unsigned)MEMO_KNOWN;
    const struct node *h =
        t && t->root ? node_get(t->view[c->env], "handler") : NULL;
    unsigned acts =
        h && h->type == NODE_STRING ? handler_actions(h->str, node_len(h)) : 0;
    unsigned ev = (acts & HANDLER_CREATE ? event_bit("created") : 0) |
                  (acts & HANDLER_DELETE ? event_bit("deleted") : 0) |
                  (acts & HANDLER_UPDATE ? event_bit("updated") : 0);
    if (at >= 0)
        g->tool_memo[at] = (unsigned char)(ev | MEMO_KNOWN);
    return ev;
}

/* The events agent a may write with its own tools; *chats: whether it
 * may ask other agents (agent.chat), which may write theirs. */
static unsigned agent_events(struct cascade_graph *g, const struct def *a,
                             bool *chats)
{
    long at = def_position(g, KIND_AGENT, a);
    if (at >= 0 && g->agent_memo[at]) {
        *chats = g->agent_memo[at] & MEMO_CHATS;
        return g->agent_memo[at] & 7u;
    }
    const struct node *tools =
        a && a->root ? node_get(a->view[g->c->env], "tools") : NULL;
    unsigned ev = 0;
    *chats = false;
    for (size_t i = 0; tools && tools->type == NODE_SEQ && i < tools->n; i++) {
        const struct node *t = &tools->kids[i];
        if (t->type != NODE_STRING)
            continue;
        if (event_of(t->str))
            ev |= event_bit(event_of(t->str));
        else if (!strcmp(t->str, "agent.chat"))
            *chats = true;
        else
            ev |= tool_events(g, t->str);
    }
    if (at >= 0)
        g->agent_memo[at] =
            (unsigned char)(ev | (*chats ? MEMO_CHATS : 0) | MEMO_KNOWN);
    return ev;
}

/* The events any agent of the project may write, found once. */
static unsigned every_agent(struct cascade_graph *g)
{
    const struct project *p = g->c->project;
    for (size_t i = 0; !g->every_agent_known && i < p->ndefs[KIND_AGENT]; i++) {
        bool chats = false;
        g->every_agent |= agent_events(g, &p->defs[KIND_AGENT][i], &chats);
    }
    g->every_agent_known = true;
    return g->every_agent;
}

/* The events action act may write through an agent it asks (the one it
 * names, every agent for a template) or a custom tool it calls; 0 for a
 * record tool (cascade_write says) or a tool that writes nothing. */
static unsigned indirect_events(struct cascade_graph *g, const struct node *act)
{
    const char *tool = node_get_str(act, "tool");
    if (!tool || event_of(tool))
        return 0;
    if (strcmp(tool, "agent.chat") != 0)
        return tool_events(g, tool);
    const struct node *who = node_get(node_get(act, "args"), "agent");
    if (!who || who->type != NODE_STRING || is_template(who))
        return every_agent(g);
    bool chats = false;
    unsigned ev =
        agent_events(g, check_lookup(g->c, KIND_AGENT, who->str), &chats);
    return chats ? ev | every_agent(g) : ev;
}

/* What an action's write is to the cascades: its event, whether it
 * cascades surely (cascade: true) or maybe (a template), and the type it
 * writes, NULL for any (a delete, which takes an id alone; a type written
 * as a template). False when it sets nothing off (u_on: the automation's
 * own trigger, whose type {{trigger.entityType}} is). */
struct cascade_write {
    const char *event, *type;
    bool sure;
};

static bool cascade_write(const struct node *act, const struct node *u_on,
                          struct cascade_write *w)
{
    const struct node *args = node_get(act, "args");
    const struct node *cascade = node_get(args, "cascade");
    const struct node *type = node_get(args, "type");
    const char *tool = node_get_str(act, "tool");
    w->event = tool ? event_of(tool) : NULL;
    w->sure = cascade && cascade->type == NODE_BOOL && cascade->b;
    w->type = NULL;
    if (!w->event || !(w->sure || is_template(cascade)))
        return false;
    if (!strcmp(w->event, "deleted") ||
        (is_template(type) && !is_trigger_type(type)))
        return true;
    w->type = is_trigger_type(type) ? node_get_str(u_on, "entityType")
              : type && type->type == NODE_STRING ? type->str
                                                  : NULL;
    return w->type != NULL;
}

/* The edge from u's action i to the automation triggered by `on`; why
 * says why when it is a maybe. */
static enum edge edge_to(const struct cascade_graph *g, size_t u, size_t i,
                         const struct node *on, enum why_maybe *why)
{
    const struct node *view = g->autos[u]->view[g->c->env];
    const struct node *act = &node_get(view, "actions")->kids[i];
    const struct node *u_on = node_get(view, "on");
    unsigned ev = g->indirect[u] ? g->indirect[u][i] : 0;
    if (ev) {
        if (!(ev & event_bit(node_get_str(on, "action"))))
            return EDGE_NONE;
        *why = node_is_str(node_get(act, "tool"), "agent.chat") ? MAYBE_AGENT
                                                                : MAYBE_HANDLER;
        return EDGE_MAYBE;
    }
    struct cascade_write w;
    if (!cascade_write(act, u_on, &w) ||
        !node_is_str(node_get(on, "action"), w.event))
        return EDGE_NONE;
    if (!w.type) {
        *why = !strcmp(w.event, "deleted") ? MAYBE_DELETE
               : w.sure                    ? MAYBE_TYPE
                                           : MAYBE_CASCADE;
        return EDGE_MAYBE;
    }
    if (!node_is_str(node_get(on, "entityType"), w.type))
        return EDGE_NONE;
    *why = MAYBE_CASCADE;
    return w.sure ? EDGE_SURE : EDGE_MAYBE;
}

/* The surest edge of u's actions to v; *action: the action giving it. */
static enum edge best_edge(const struct cascade_graph *g, size_t u, size_t v,
                           size_t *action)
{
    enum env env = g->c->env;
    const struct node *acts = node_get(g->autos[u]->view[env], "actions");
    const struct node *on = node_get(g->autos[v]->view[env], "on");
    enum edge best = EDGE_NONE;
    for (size_t i = 0; g->cascades[u] && acts && acts->type == NODE_SEQ &&
                       i < acts->n && best != EDGE_SURE;
         i++) {
        enum why_maybe why;
        enum edge edge = edge_to(g, u, i, on, &why);
        if (edge == EDGE_SURE || (edge == EDGE_MAYBE && best == EDGE_NONE)) {
            best = edge;
            *action = i;
        }
    }
    return best;
}

/* The first position in by_trigger whose trigger is not before (event,
 * type); type NULL: whose event is after event. */
static size_t trigger_bound(const struct cascade_graph *g, const char *event,
                            const char *type, bool after)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct trigger *t = &g->by_trigger[mid];
        int d = strcmp(t->event, event);
        if (!d && type)
            d = strcmp(t->type, type);
        if (d < 0 || (d == 0 && after))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The automations that u's action i may set off, a superset of those
 * edge_to finds an edge to: by_trigger[*lo, *hi). */
static void action_range(const struct cascade_graph *g, size_t u, size_t i,
                         size_t *lo, size_t *hi)
{
    const struct node *view = g->autos[u]->view[g->c->env];
    unsigned ev = g->indirect[u] ? g->indirect[u][i] : 0;
    struct cascade_write w;
    *lo = *hi = 0;
    if (ev) { /* from the first event's automations to the last's */
        unsigned first = 0, last = 2;
        while (!(ev & (1u << first)))
            first++;
        while (!(ev & (1u << last)))
            last--;
        *lo = trigger_bound(g, event_names[first], "", false);
        *hi = trigger_bound(g, event_names[last], NULL, true);
        return;
    }
    if (!cascade_write(&node_get(view, "actions")->kids[i],
                       node_get(view, "on"), &w))
        return;
    *lo = trigger_bound(g, w.event, w.type ? w.type : "", false);
    *hi = trigger_bound(g, w.event, w.type, true);
}

/* Walks the automations u's actions may set off, in order (one may come
 * more than once): each call gives the next in *v, false at the end. */
struct targets {
    size_t action, at, end;
};

static bool next_target(const struct cascade_graph *g, size_t u,
                        struct targets *it, size_t *v)
{
    if (!g->cascades[u])
        return false;
    const struct node *acts = node_get(g->autos[u]->view[g->c->env], "actions");
    size_t n = acts && acts->type == NODE_SEQ ? acts->n : 0;
    while (it->at >= it->end) {
        if (it->action >= n)
            return false;
        action_range(g, u, it->action++, &it->at, &it->end);
    }
    *v = g->by_trigger[it->at++].u;
    return true;
}

/* Appends s to chain (size bytes, used so far): "..." instead once it
 * does not fit, and nothing after that. */
static void chain_add(char *chain, size_t size, size_t *used, const char *s)
{
    size_t len = strlen(s);
    if (*used >= size - 4)
        return; /* cut already */
    if (*used + len < size - 4) {
        memcpy(chain + *used, s, len + 1);
        *used += len;
    } else {
        memcpy(chain + *used, "...", 4);
        *used = size - 4;
    }
}

/* ---- sure cycles: errors, from a walk over the sure edges ---- */

static void visit_sure(struct cascade_graph *g, size_t u)
{
    g->color[u] = 1;
    g->path[g->depth++] = u;
    struct targets it = {0};
    for (size_t v; next_target(g, u, &it, &v);) {
        size_t a = 0;
        if (best_edge(g, u, v, &a) != EDGE_SURE)
            continue;
        if (g->color[v] == 0) {
            visit_sure(g, v);
            continue;
        }
        if (g->color[v] != 1)
            continue;
        size_t start = 0, used = 0;
        char chain[600] = "";
        while (g->path[start] != v)
            start++;
        for (size_t k = start; k < g->depth; k++) {
            chain_add(chain, sizeof(chain), &used, g->autos[g->path[k]]->slug);
            chain_add(chain, sizeof(chain), &used, " -> ");
        }
        chain_add(chain, sizeof(chain), &used, g->autos[v]->slug);
        const struct node *acts =
            node_get(g->autos[u]->view[g->c->env], "actions");
        diag_error(g->c->diags,
                   node_get_key(node_get(&acts->kids[a], "args"), "cascade"),
                   "cascade-cycle",
                   "remove 'cascade: true' from one action of the cycle",
                   "automations cascade in a cycle: %s", chain);
    }
    g->color[u] = 2;
    g->depth--;
}

/* ---- possible cycles: warnings, from the strongly connected parts ----
 * A maybe edge u -> v is on a cycle exactly when v reaches u, i.e. when
 * both are in one strongly connected part of the graph of every edge:
 * whatever the order of the files, each automation with such an edge is
 * told, once, at the first (its own loop first). */

static void strong(struct cascade_graph *g, size_t u)
{
    g->index[u] = g->low[u] = ++g->counter;
    g->stack[g->sp++] = u;
    g->on_stack[u] = true;
    struct targets it = {0};
    for (size_t v; next_target(g, u, &it, &v);) {
        size_t a;
        if (best_edge(g, u, v, &a) == EDGE_NONE)
            continue;
        if (!g->index[v]) {
            strong(g, v);
            if (g->low[v] < g->low[u])
                g->low[u] = g->low[v];
        } else if (g->on_stack[v] && g->index[v] < g->low[u]) {
            g->low[u] = g->index[v];
        }
    }
    if (g->low[u] != g->index[u])
        return;
    size_t w;
    do {
        w = g->stack[--g->sp];
        g->on_stack[w] = false;
        g->part[w] = u;
    } while (w != u);
}

/* The chain u -> v -> ... -> u, v's way back to u found breadth first in
 * their part (g->from: each one's predecessor). */
static void chain_back(struct cascade_graph *g, size_t u, size_t v, char *chain,
                       size_t size)
{
    size_t used = 0, *queue = g->stack, head = 0, tail = 0;
    for (size_t i = 0; i < g->n; i++)
        g->from[i] = SIZE_MAX;
    g->from[v] = v;
    queue[tail++] = v;
    while (head < tail && g->from[u] == SIZE_MAX) {
        size_t x = queue[head++], a;
        struct targets it = {0};
        for (size_t y; g->from[u] == SIZE_MAX && next_target(g, x, &it, &y);)
            if (g->part[y] == g->part[u] && g->from[y] == SIZE_MAX &&
                best_edge(g, x, y, &a) != EDGE_NONE) {
                g->from[y] = x;
                queue[tail++] = y;
            }
    }
    /* the way back, reversed into path (u last) */
    size_t n = 0;
    for (size_t x = u; u != v && x != v && x != SIZE_MAX && n < g->n;
         x = g->from[x])
        g->path[n++] = x;
    chain_add(chain, size, &used, g->autos[u]->slug);
    chain_add(chain, size, &used, " -> ");
    chain_add(chain, size, &used, g->autos[v]->slug);
    while (n-- > 0) {
        chain_add(chain, size, &used, " -> ");
        chain_add(chain, size, &used, g->autos[g->path[n]]->slug);
    }
}

static const char *why_text(enum why_maybe why)
{
    switch (why) {
    case MAYBE_CASCADE:
        return "its cascade is a template: the record decides";
    case MAYBE_TYPE:
        return "the type it writes is a template: the record decides";
    case MAYBE_AGENT:
        return "it asks an agent whose tools may write a record of any "
               "type, and an agent's writes set automations off";
    case MAYBE_HANDLER:
        return "the custom tool's handler may write a record of any type "
               "through struere";
    default:
        return "a delete takes an id alone: the record it deletes may be "
               "of any type";
    }
}

static const char *why_hint(enum why_maybe why)
{
    switch (why) {
    case MAYBE_CASCADE:
        return "write 'cascade' as true or false";
    case MAYBE_TYPE:
        return "name the type written instead of a template, or remove "
               "'cascade'";
    case MAYBE_AGENT:
        return "ask an agent without tools that write here, unless what it "
               "writes never sets this cycle off";
    case MAYBE_HANDLER:
        return "call a tool whose handler does not write here, unless what "
               "it writes never sets this cycle off";
    default:
        return "remove 'cascade' from the delete, unless what it deletes "
               "never sets this cycle off";
    }
}

static void warn_possible(struct cascade_graph *g, size_t u)
{
    enum env env = g->c->env;
    struct targets it = {0};
    for (size_t v = u, a = 0, self = 1; self || next_target(g, u, &it, &v);
         self = 0) {
        if ((!self && v == u) || g->part[v] != g->part[u] ||
            best_edge(g, u, v, &a) != EDGE_MAYBE)
            continue;
        const struct node *view = g->autos[u]->view[env];
        const struct node *act = &node_get(view, "actions")->kids[a];
        enum why_maybe why = MAYBE_CASCADE;
        edge_to(g, u, a, node_get(g->autos[v]->view[env], "on"), &why);
        const struct node *args = node_get(act, "args");
        const struct node *at = why == MAYBE_CASCADE
                                    ? node_get_key(args, "cascade")
                                : why == MAYBE_TYPE ? node_get_key(args, "type")
                                                    : node_get_key(act, "tool");
        char chain[600] = "";
        chain_back(g, u, v, chain, sizeof(chain));
        diag_warning(g->c->diags, at, "cascade-cycle-possible", why_hint(why),
                     "automations may cascade in a cycle: %s (%s's "
                     "actions[%zu]: %s)",
                     chain, g->autos[u]->slug, a, why_text(why));
        return;
    }
}

void automation_check_cascades(struct check_ctx *c)
{
    struct project *p = c->project;
    struct cascade_graph g = {.c = c};
    g.n = p->ndefs[KIND_AUTOMATION];
    g.autos = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.autos));
    if (!g.autos)
        return;
    size_t k = 0;
    for (size_t i = 0; i < g.n; i++)
        if (p->defs[KIND_AUTOMATION][i].root &&
            p->defs[KIND_AUTOMATION][i].slug)
            g.autos[k++] = &p->defs[KIND_AUTOMATION][i];
    g.n = k;
    size_t sz = (g.n + 1) * sizeof(size_t);
    g.color = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.color));
    g.on_stack = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.on_stack));
    g.path = arena_alloc(c->arena, sz);
    g.index = arena_alloc(c->arena, sz);
    g.low = arena_alloc(c->arena, sz);
    g.part = arena_alloc(c->arena, sz);
    g.stack = arena_alloc(c->arena, sz);
    g.from = arena_alloc(c->arena, sz);
    if (!g.color || !g.on_stack || !g.path || !g.index || !g.low || !g.part ||
        !g.stack || !g.from)
        return; /* out of memory: the arena says so */
    g.cascades = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.cascades));
    g.indirect = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.indirect));
    g.tool_memo = arena_alloc(c->arena, p->ndefs[KIND_TOOL] + 1);
    g.agent_memo = arena_alloc(c->arena, p->ndefs[KIND_AGENT] + 1);
    if (!g.cascades || !g.indirect || !g.tool_memo || !g.agent_memo)
        return;
    for (size_t u = 0; u < g.n; u++) {
        const struct node *view = g.autos[u]->view[c->env];
        const struct node *acts = node_get(view, "actions");
        struct cascade_write w;
        g.cascades[u] = false;
        g.indirect[u] = NULL;
        for (size_t i = 0; acts && acts->type == NODE_SEQ && i < acts->n; i++) {
            unsigned ev = indirect_events(&g, &acts->kids[i]);
            if (ev && !g.indirect[u] &&
                !(g.indirect[u] = arena_alloc(c->arena, acts->n)))
                return;
            if (ev)
                g.indirect[u][i] = (unsigned char)ev;
            g.cascades[u] |=
                ev || cascade_write(&acts->kids[i], node_get(view, "on"), &w);
        }
    }
    g.by_trigger = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.by_trigger));
    if (!g.by_trigger)
        return;
    for (size_t u = 0; u < g.n; u++) {
        const struct node *on = node_get(g.autos[u]->view[c->env], "on");
        const char *ev = node_get_str(on, "action"),
                   *t = node_get_str(on, "entityType");
        g.by_trigger[u] = (struct trigger){ev ? ev : "", t ? t : "", u};
    }
    qsort(g.by_trigger, g.n, sizeof(*g.by_trigger), cmp_trigger);
    memset(g.color, 0, (g.n + 1) * sizeof(*g.color));
    memset(g.on_stack, 0, (g.n + 1) * sizeof(*g.on_stack));
    memset(g.index, 0, sz);
    for (size_t i = 0; i < g.n; i++)
        if (g.color[i] == 0)
            visit_sure(&g, i);
    for (size_t i = 0; i < g.n; i++)
        if (!g.index[i])
            strong(&g, i);
    for (size_t i = 0; i < g.n; i++)
        warn_possible(&g, i);
}
