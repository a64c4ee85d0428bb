/*
 * kind_tool.c - custom tool declarations: reserved name prefixes, no
 * shadowing of built-ins, and parameters whose required keys exist.
 */
#include <string.h>

#include "kinds.h"
#include "node.h"

void tool_check_file(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    const struct node *name = node_get(view, "name");
    if (name && name->type == NODE_STRING) {
        const struct node *list = node_get(c->builtin_tools, "tools");
        for (size_t i = 0; list && list->type == NODE_SEQ && i < list->n; i++)
            if (node_is_str(node_get(&list->kids[i], "name"), name->str))
                diag_error(c->diags, name, "tool-shadows-builtin",
                           "choose another name; custom and built-in tools "
                           "share one namespace",
                           "'%s' is a built-in tool", name->str);
        static const char *const reserved[] = {"entity.", "event.", "agent.",
                                               NULL};
        for (const char *const *r = reserved; *r; r++)
            if (!strncmp(name->str, *r, strlen(*r)))
                diag_warning(c->diags, name, "reserved-prefix",
                             "custom tools should not use the built-in "
                             "prefixes entity., event. and agent.",
                             "tool name '%s' uses the reserved prefix '%s'",
                             name->str, *r);
    }
    (void)d;
    const struct node *params = node_get(view, "parameters");
    const struct node *props = node_get(params, "properties");
    const struct node *req = node_get(params, "required");
    for (size_t i = 0; req && req->type == NODE_SEQ && i < req->n; i++)
        if (req->kids[i].type == NODE_STRING &&
            !node_get(props, req->kids[i].str))
            diag_error(c->diags, &req->kids[i], "unknown-field",
                       "list only parameters declared under 'properties'",
                       "required parameter '%s' is not declared",
                       req->kids[i].str);
}
