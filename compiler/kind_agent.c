/*
 * kind_agent.c - agents: the system prompt's templates (variables,
 * function calls naming the agent's own tools, JSON arguments), and the
 * references to tools and roles.
 */
#include <stdio.h>
#include <string.h>

#include "kinds.h"
#include "markdown.h"
#include "node.h"
#include "source.h"
#include "suggest.h"
#include "template.h"

static const char *const prompt_variables[] = {
    "currentTime",
    "datetime",
    "timestamp",
    "organizationName",
    "organizationId",
    "agentName",
    "agent.name",
    "agent.slug",
    "agent",
    "userId",
    "threadId",
    "message",
    "threadContext",
    "threadContext.channel",
    "threadContext.params",
    "entityTypes",
    "roles",
    NULL,
};

struct prompt_scan {
    struct check_ctx *c;
    const struct node *view;
    const struct node *at; /* the prompt node */
    size_t base;           /* source offset of the prompt text, or -1 */
};

/* Reports at the expression's exact position when the prompt came from a
 * Markdown body or a literal block scalar ('|', node.h's block_indent),
 * else at the prompt's node: a plain, quoted or folded ('>') scalar's
 * text does not map exactly onto its source (escapes, folding), so its
 * start is the honest position. */
static void report(struct prompt_scan *ps, size_t offset, const char *code,
                   const char *hint, const char *msg)
{
    const struct node *at = ps->at;
    const struct source *src = node_source(at);
    size_t src_offset = (size_t)-1;
    if (ps->base != (size_t)-1) {
        src_offset = ps->base + offset;
    } else if (at->block_indent && src && !src->unread &&
               offset <= node_len(at)) {
        size_t k = 0, line_start = 0, len;
        for (size_t i = 0; i < offset; i++)
            if (at->str[i] == '\n')
                k++, line_start = i + 1;
        const char *t = source_line(src, at->line + 1 + (int)k, &len);
        if (t)
            src_offset = (size_t)(t - src->text) + at->block_indent +
                         (offset - line_start);
    }
    if (src_offset != (size_t)-1) {
        int line, col;
        source_position(src, src_offset, &line, &col);
        diag_add(ps->c->diags, SEV_ERROR, code, src, line, col, hint, "%s",
                 msg);
    } else {
        diag_error(ps->c->diags, at, code, hint, "%s", msg);
    }
}

static bool declared_param(const struct node *view, const char *name,
                           size_t len)
{
    const struct node *params = node_get(view, "threadContextParams");
    for (size_t i = 0; params && params->type == NODE_SEQ && i < params->n;
         i++) {
        const char *n = node_get_str(&params->kids[i], "name");
        if (n && strlen(n) == len && !strncmp(n, name, len))
            return true;
    }
    return false;
}

static void check_variable(struct prompt_scan *ps, const char *name, size_t len,
                           size_t offset)
{
    char var[256], msg[400], hint[400];
    snprintf(var, sizeof(var), "%.*s", (int)(len < 200 ? len : 200), name);
    for (const char *const *v = prompt_variables; *v; v++)
        if (!strcmp(var, *v))
            return;
    if (!*var) {
        report(ps, offset, "template-unknown-variable",
               "write a variable between the braces, e.g. {{agentName}}",
               "empty template expression '{{}}'");
        return;
    }
    const char *prefix = "threadContext.params.";
    if (!strncmp(var, prefix, strlen(prefix))) {
        const char *param = var + strlen(prefix);
        size_t plen = strcspn(param, ".");
        if (declared_param(ps->view, param, plen))
            return;
        snprintf(msg, sizeof(msg),
                 "template variable '%s' uses undeclared thread context "
                 "parameter '%.*s'",
                 var, (int)plen, param);
        snprintf(hint, sizeof(hint),
                 "declare it: threadContextParams: [{name: %.*s, type: "
                 "string}]",
                 (int)plen, param);
        report(ps, offset, "template-unknown-variable", hint, msg);
        return;
    }
    if (var[0] == '#' || var[0] == '/') {
        snprintf(msg, sizeof(msg),
                 "'{{%s}}' is a block helper, which templates do not "
                 "support",
                 var);
        report(ps, offset, "template-unknown-variable",
               "use {{entity.query(...)}} or a custom tool to build lists",
               msg);
        return;
    }
    struct suggest sg;
    suggest_init(&sg, var);
    for (const char *const *v = prompt_variables; *v; v++)
        suggest_offer(&sg, *v);
    snprintf(msg, sizeof(msg), "unknown template variable '%s'", var);
    if (suggest_best(&sg))
        snprintf(hint, sizeof(hint), "did you mean '%s'?", suggest_best(&sg));
    else
        snprintf(hint, sizeof(hint),
                 "it would render as [TEMPLATE_ERROR: %s not found]", var);
    report(ps, offset, "template-unknown-variable", hint, msg);
}

static bool agent_lists_tool(const struct node *view, const char *name,
                             size_t len)
{
    const struct node *tools = node_get(view, "tools");
    for (size_t i = 0; tools && tools->type == NODE_SEQ && i < tools->n; i++)
        if (tools->kids[i].type == NODE_STRING &&
            node_len(&tools->kids[i]) == len &&
            !strncmp(tools->kids[i].str, name, len))
            return true;
    return false;
}

struct nested {
    struct prompt_scan *ps;
    size_t base; /* offset of the args within the prompt */
};

static void visit_nested(void *ctx, const struct tmpl_expr *e)
{
    struct nested *n = ctx;
    if (!e->is_call)
        check_variable(n->ps, e->name, e->name_len, n->base + e->offset);
}

static void visit(void *ctx, const struct tmpl_expr *e)
{
    struct prompt_scan *ps = ctx;
    char msg[400], hint[400];
    if (!e->is_call) {
        check_variable(ps, e->name, e->name_len, e->offset);
        return;
    }
    int nl = (int)(e->name_len < 200 ? e->name_len : 200);
    if (!agent_lists_tool(ps->view, e->name, e->name_len)) {
        snprintf(msg, sizeof(msg),
                 "template calls tool '%.*s', which this agent does not list "
                 "in 'tools'",
                 nl, e->name);
        snprintf(hint, sizeof(hint),
                 "add '%.*s' to tools; otherwise it renders as "
                 "[TEMPLATE_ERROR: %.*s - tool not found]",
                 nl, e->name, nl, e->name);
        report(ps, e->offset, "template-unknown-tool", hint, msg);
    }
    struct nested n = {ps, (size_t)(e->args - ps->at->str)};
    size_t eo;
    const char *err;
    template_scan(e->args, e->args_len, visit_nested, &n, &eo, &err);
    char buf[4096];
    const char *why;
    if (!template_args_json(e->args, e->args_len, buf, sizeof(buf), &why)) {
        snprintf(msg, sizeof(msg), "arguments of '%.*s' are not JSON: %s", nl,
                 e->name, why);
        report(ps, e->offset, "template-bad-args",
               "write the arguments as a JSON object, e.g. "
               "{{entity.query({\"type\": \"session\", \"limit\": 5})}}",
               msg);
    }
}

void agent_check_file(struct check_ctx *c, struct def *d,
                      const struct node *view)
{
    /* In each environment's view: an overlay may replace the list. */
    check_role_count(c, node_get(view, "roles"), "agent");
    const struct node *prompt = node_get(view, "systemPrompt");
    if (!prompt || prompt->type != NODE_STRING)
        return;
    struct prompt_scan ps = {c, view, prompt, (size_t)-1};
    if (d->md && node_source(prompt) == d->src && prompt->line >= 1 &&
        (size_t)prompt->line <= d->src->nlines && prompt->col == 1 &&
        prompt->line >= d->md->body_line)
        ps.base = d->src->line_starts[prompt->line - 1];
    size_t eo;
    const char *err;
    if (template_scan(prompt->str, node_len(prompt), visit, &ps, &eo, &err) <
        0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "system prompt template: %s", err);
        report(&ps, eo, "template-unbalanced",
               strstr(err, "deep")
                   ? "templates may nest at most 16 levels of {{ }}"
                   : "close it with '}}', or write the braces apart if "
                     "they are text",
               msg);
    }
    /* The same tool or role twice is a copy-paste slip. */
    const char *lists[] = {"tools", "roles"};
    for (int l = 0; l < 2; l++) {
        const struct node *seq = node_get(view, lists[l]);
        for (size_t i = 0; seq && seq->type == NODE_SEQ && i < seq->n; i++)
            for (size_t j = 0; j < i; j++)
                if (node_equal(&seq->kids[i], &seq->kids[j]) &&
                    seq->kids[i].type == NODE_STRING) {
                    diag_warning(c->diags, &seq->kids[i], "duplicate-entry",
                                 "remove the repeated entry",
                                 "'%s' is listed twice in %s", seq->kids[i].str,
                                 lists[l]);
                    break;
                }
    }
}

void agent_check_refs(struct check_ctx *c, struct def *d,
                      const struct node *view)
{
    (void)d;
    const struct node *tools = node_get(view, "tools");
    for (size_t i = 0; tools && tools->type == NODE_SEQ && i < tools->n; i++) {
        const struct node *t = &tools->kids[i];
        if (t->type == NODE_STRING && !check_tool_exists(c, t->str))
            check_unknown_tool(c, t, "agent lists");
    }
    const struct node *roles = node_get(view, "roles");
    for (size_t i = 0; roles && roles->type == NODE_SEQ && i < roles->n; i++) {
        const struct node *r = &roles->kids[i];
        if (r->type == NODE_STRING && !check_lookup(c, KIND_ROLE, r->str))
            check_unknown_ref(c, r, KIND_ROLE, "unknown-role", "role", NULL);
    }
}
