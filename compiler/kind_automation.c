/*
 * kind_automation.c - automations: schedule and condition rules, the
 * {{trigger.*}} / {{steps.*}} templates in arguments, references to data
 * types, fields and tools, and cascade cycles between automations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
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
    MAYBE_CASCADE, /* cascade is one {{path}}: the value it names */
    MAYBE_TYPE,    /* the type written is a template */
    MAYBE_DELETE,  /* a delete takes an id alone: a record of any type */
};

struct cascade_graph {
    struct def **autos;
    size_t n;
    int *color; /* 0 new, 1 on the path, 2 done */
    /* The path: path[k], entered from path[k - 1] by its action
     * via[k] (index via_index[k]), maybe[k] when that edge is a maybe. */
    size_t *path;
    const struct node **via;
    size_t *via_index;
    bool *maybe;
    size_t depth;
    bool maybes;  /* this pass follows maybe edges too */
    bool *warned; /* an automation's possible cycle is told once */
};

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

/* The path of a string that is exactly one {{path}} (spaces around it
 * allowed), into buf; NULL for anything else. The runtime gives such a
 * string the value it names (struere-model §2.4). */
static const char *one_path(const struct node *n, char *buf, size_t size)
{
    if (!n || n->type != NODE_STRING || n->len < 4 ||
        strncmp(n->str, "{{", 2) || strcmp(n->str + n->len - 2, "}}"))
        return NULL;
    const char *p = n->str + 2, *end = n->str + n->len - 2;
    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    size_t len = (size_t)(end - p);
    if (!len || len >= size || memchr(p, '{', len) || memchr(p, '}', len))
        return NULL;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

/* The edge from u's action act to the automation triggered by `on`; why
 * says why when it is a maybe. */
static enum edge edge_to(const struct node *act, const struct node *u_on,
                         const struct node *on, enum why_maybe *why)
{
    const struct node *args = node_get(act, "args");
    const struct node *cascade = node_get(args, "cascade");
    const struct node *type = node_get(args, "type");
    const char *tool = node_get_str(act, "tool");
    const char *ev = tool ? event_of(tool) : NULL;
    char path[128];
    bool sure = cascade && cascade->type == NODE_BOOL && cascade->b;
    if (!ev || !(sure || one_path(cascade, path, sizeof(path))) ||
        !node_is_str(node_get(on, "action"), ev))
        return EDGE_NONE;
    /* {{trigger.entityType}} is u's own trigger type */
    const char *t = type && type->type == NODE_STRING ? type->str : NULL;
    if (one_path(type, path, sizeof(path)) &&
        !strcmp(path, "trigger.entityType"))
        t = node_get_str(u_on, "entityType");
    else if (t && strstr(t, "{{"))
        t = NULL;
    bool same = t && node_is_str(node_get(on, "entityType"), t);
    if (same && sure)
        return EDGE_SURE;
    *why = !sure                    ? MAYBE_CASCADE
           : !strcmp(ev, "deleted") ? MAYBE_DELETE
                                    : MAYBE_TYPE;
    if (same || !strcmp(ev, "deleted") ||
        (!t && type && type->type == NODE_STRING))
        return EDGE_MAYBE;
    return EDGE_NONE;
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

static const char *why_text(enum why_maybe why)
{
    switch (why) {
    case MAYBE_CASCADE:
        return "its cascade is a {{path}}: the record decides";
    case MAYBE_TYPE:
        return "the type it writes is a template: the record decides";
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
    default:
        return "remove 'cascade: true' from the delete, unless what it "
               "deletes never sets this cycle off";
    }
}

/* The cycle that u's action act (index ai), an edge of kind `edge`, closes
 * back to v on the path: an error in the first pass (every edge sure), a
 * warning in the second when an edge is a maybe (at the first such edge,
 * once per automation). */
static void report_cycle(struct check_ctx *c, struct cascade_graph *g, size_t v,
                         const struct node *act, size_t ai, enum edge edge)
{
    size_t start = 0;
    while (g->path[start] != v)
        start++;
    /* The first maybe edge: from path[k - 1] by via[k], else the last. */
    size_t from = g->path[g->depth - 1], at_index = ai;
    const struct node *at = act;
    bool maybe = false;
    for (size_t k = start + 1; k < g->depth && !maybe; k++)
        if (g->maybe[k]) {
            maybe = true;
            from = g->path[k - 1];
            at = g->via[k];
            at_index = g->via_index[k];
        }
    maybe |= edge == EDGE_MAYBE;
    if (maybe != g->maybes || (maybe && g->warned[from]))
        return;
    char chain[600];
    size_t used = 0;
    chain[0] = '\0';
    for (size_t k = start; k < g->depth; k++) {
        chain_add(chain, sizeof(chain), &used, g->autos[g->path[k]]->slug);
        chain_add(chain, sizeof(chain), &used, " -> ");
    }
    chain_add(chain, sizeof(chain), &used, g->autos[v]->slug);
    if (!maybe) {
        diag_error(c->diags, node_get_key(node_get(act, "args"), "cascade"),
                   "cascade-cycle",
                   "remove 'cascade: true' from one action of the cycle",
                   "automations cascade in a cycle: %s", chain);
        return;
    }
    g->warned[from] = true;
    /* why, and where: the cascade, the type, or the tool */
    size_t next = g->path[start];
    for (size_t k = start + 1; k < g->depth; k++)
        if (g->path[k - 1] == from)
            next = g->path[k];
    enum why_maybe why = MAYBE_DELETE;
    edge_to(at, node_get(g->autos[from]->view[c->env], "on"),
            node_get(g->autos[next]->view[c->env], "on"), &why);
    const struct node *args = node_get(at, "args");
    const struct node *where = why == MAYBE_CASCADE
                                   ? node_get_key(args, "cascade")
                               : why == MAYBE_TYPE ? node_get_key(args, "type")
                                                   : node_get_key(at, "tool");
    diag_warning(c->diags, where, "cascade-cycle-possible", why_hint(why),
                 "automations may cascade in a cycle: %s (%s's actions[%zu]: "
                 "%s)",
                 chain, g->autos[from]->slug, at_index, why_text(why));
}

static void visit_auto(struct check_ctx *c, struct cascade_graph *g, size_t u)
{
    g->color[u] = 1;
    g->path[g->depth++] = u;
    const struct node *view = g->autos[u]->view[c->env];
    const struct node *acts = node_get(view, "actions");
    const struct node *u_on = node_get(view, "on");
    size_t nacts = acts && acts->type == NODE_SEQ ? acts->n : 0;
    for (size_t v = 0; v < g->n; v++) {
        /* the surest edge of u's actions to v */
        const struct node *on = node_get(g->autos[v]->view[c->env], "on");
        enum edge best = EDGE_NONE;
        size_t bi = 0;
        for (size_t i = 0; i < nacts && best != EDGE_SURE; i++) {
            enum why_maybe why;
            enum edge edge = edge_to(&acts->kids[i], u_on, on, &why);
            if (edge == EDGE_SURE ||
                (edge == EDGE_MAYBE && best == EDGE_NONE)) {
                best = edge;
                bi = i;
            }
        }
        if (best == EDGE_NONE || (best == EDGE_MAYBE && !g->maybes))
            continue;
        if (g->color[v] == 1) {
            report_cycle(c, g, v, &acts->kids[bi], bi, best);
        } else if (g->color[v] == 0) {
            g->via[g->depth] = &acts->kids[bi];
            g->via_index[g->depth] = bi;
            g->maybe[g->depth] = best == EDGE_MAYBE;
            visit_auto(c, g, v);
        }
    }
    g->color[u] = 2;
    g->depth--;
}

/* Two passes: the sure edges alone (errors), then with the maybe edges
 * too (warnings for the cycles only these close). A project with neither
 * has no cycle. */
void automation_check_cascades(struct check_ctx *c)
{
    struct project *p = c->project;
    struct cascade_graph g = {0};
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
    g.color = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.color));
    g.path = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.path));
    g.via = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.via));
    g.via_index = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.via_index));
    g.maybe = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.maybe));
    g.warned = arena_alloc(c->arena, (g.n + 1) * sizeof(*g.warned));
    if (!g.color || !g.path || !g.via || !g.via_index || !g.maybe || !g.warned)
        return; /* out of memory: the arena says so */
    memset(g.warned, 0, (g.n + 1) * sizeof(*g.warned));
    for (int pass = 0; pass < 2; pass++) {
        g.maybes = pass == 1;
        memset(g.color, 0, (g.n + 1) * sizeof(*g.color));
        for (size_t i = 0; i < g.n; i++)
            if (g.color[i] == 0) {
                g.maybe[0] = false;
                visit_auto(c, &g, i);
            }
    }
}
