/*
 * kind_eval.c - eval suites: the agent under test exists, and the tools
 * and context parameters the cases name are the agent's own.
 */
#include <stdio.h>
#include <string.h>

#include "kinds.h"
#include "node.h"

static bool lists(const struct node *seq, const char *key, const char *v)
{
    for (size_t i = 0; seq && seq->type == NODE_SEQ && i < seq->n; i++) {
        const struct node *x =
            key ? node_get(&seq->kids[i], key) : &seq->kids[i];
        if (node_is_str(x, v))
            return true;
    }
    return false;
}

static void check_assertions(struct check_ctx *c, const struct node *agent,
                             const char *agent_slug, const struct node *as)
{
    for (size_t i = 0; as && as->type == NODE_SEQ && i < as->n; i++) {
        const char *type = node_get_str(&as->kids[i], "type");
        const struct node *v = node_get(&as->kids[i], "value");
        if (!type || !v || v->type != NODE_STRING ||
            (strcmp(type, "tool_called") && strcmp(type, "tool_not_called")))
            continue;
        if (!check_tool_exists(c, v->str))
            check_unknown_tool(c, v, "assertion names");
        else if (!lists(node_get(agent, "tools"), NULL, v->str))
            diag_warning(c->diags, v, "assertion-tool",
                         "add the tool to the agent, or fix the assertion",
                         "agent '%s' does not list tool '%s', so this "
                         "assertion %s",
                         agent_slug, v->str,
                         strcmp(type, "tool_called") ? "always passes"
                                                     : "always fails");
    }
}

void eval_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    (void)d;
    const struct node *a = node_get(view, "agent");
    if (!a || a->type != NODE_STRING)
        return;
    struct def *agent = check_lookup(c, KIND_AGENT, a->str);
    if (!agent) {
        check_unknown_ref(c, a, KIND_AGENT, "unknown-agent", "agent", NULL);
        return;
    }
    if (!agent->root)
        return;
    const struct node *aview = agent->view[c->env];
    const struct node *cases = node_get(view, "cases");
    for (size_t i = 0; cases && cases->type == NODE_SEQ && i < cases->n; i++) {
        const struct node *cs = &cases->kids[i];
        const struct node *turns = node_get(cs, "turns");
        for (size_t t = 0; turns && turns->type == NODE_SEQ && t < turns->n;
             t++)
            check_assertions(c, aview, a->str,
                             node_get(&turns->kids[t], "assertions"));
        check_assertions(c, aview, a->str, node_get(cs, "finalAssertions"));
        const struct node *params = node_get(cs, "contextParams");
        for (size_t p = 0; params && params->type == NODE_MAP && p < params->n;
             p++) {
            const struct node *k = &params->kids[2 * p];
            if (!lists(node_get(aview, "threadContextParams"), "name", k->str))
                diag_warning(c->diags, k, "unknown-param",
                             "declare it in the agent's threadContextParams",
                             "agent '%s' declares no thread context "
                             "parameter '%s'",
                             a->str, k->str);
        }
        for (size_t j = 0; j < i; j++)
            if (node_equal(node_get(&cases->kids[j], "name"),
                           node_get(cs, "name")) &&
                node_get(cs, "name")) {
                diag_warning(c->diags, node_get(cs, "name"), "duplicate-entry",
                             "give each case its own name",
                             "case name '%s' is used twice",
                             node_get_str(cs, "name") ? node_get_str(cs, "name")
                                                      : "?");
                break;
            }
    }
}
