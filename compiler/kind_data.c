/*
 * kind_data.c - data types: the field schema's own rules (object fields
 * declare properties, references only on strings, required/search/display
 * fields exist), role binding, and field-path resolution for the other
 * kinds (scope rules, masks, automation conditions, fixture records).
 */
#include <stdio.h>
#include <string.h>

#include "index.h"
#include "kinds.h"
#include "node.h"

/* Record fields outside `data` that paths may name. */
static const char *const record_fields[] = {
    "_id",       "type",      "status",      "organizationId", "createdAt",
    "updatedAt", "deletedAt", "environment", "entityTypeId",   NULL,
};

const struct node *data_field(const struct node *data_view, const char *path)
{
    const struct node *schema = node_get(data_view, "schema");
    const struct node *field = NULL;
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ".");
        const struct node *props = node_get(schema, "properties");
        field = NULL;
        for (size_t i = 0; props && props->type == NODE_MAP && i < props->n;
             i++)
            if (node_len(&props->kids[2 * i]) == n &&
                !strncmp(props->kids[2 * i].str, p, n))
                field = &props->kids[2 * i + 1];
        if (!field)
            return NULL;
        schema = field;
        p += n;
        if (*p == '.')
            p++;
        else
            break;
    }
    return field;
}

bool data_record_path(const struct node *data_view, const char *path,
                      const char **why)
{
    for (const char *const *f = record_fields; *f; f++)
        if (!strcmp(path, *f))
            return true;
    if (!strcmp(path, "data"))
        return true;
    if (strncmp(path, "data.", 5)) {
        *why = "record paths start with 'data.' (or name a record field "
               "such as _id or status)";
        return false;
    }
    if (!data_field(data_view, path + 5)) {
        *why = NULL;
        return false;
    }
    return true;
}

static void schema_rules(struct check_ctx *c, const struct node *schema,
                         char *path, size_t used, size_t size, int depth)
{
    const struct node *props = node_get(schema, "properties");
    if (!props || props->type != NODE_MAP || depth > 64)
        return;
    for (size_t i = 0; i < props->n; i++) {
        const struct node *key = &props->kids[2 * i];
        const struct node *f = &props->kids[2 * i + 1];
        int w = snprintf(path + used, size - used, "%s%s", used ? "." : "",
                         key->str);
        size_t u = w > 0 && (size_t)w < size - used ? used + (size_t)w : used;
        const struct node *item = f;
        /* arrays: the item schema, path a[] */
        while (node_is_str(node_get(item, "type"), "array") &&
               node_get(item, "items") && u + 3 < size) {
            strcpy(path + u, "[]");
            u += 2;
            item = node_get(item, "items");
        }
        if (node_is_str(node_get(item, "type"), "object") &&
            !node_get(item, "properties"))
            diag_error(c->diags, node_get_key(item, "type"),
                       "object-without-properties",
                       "add 'properties:' listing its fields",
                       "schema field \"%s\" has type \"object\" but is "
                       "missing \"properties\"; all object fields must "
                       "declare their properties",
                       path);
        const struct node *ref = node_get(item, "references");
        if (ref && !node_is_str(node_get(item, "type"), "string"))
            diag_error(c->diags, node_get_key(item, "references"),
                       "references-not-string",
                       "make the field type: string, holding the record id",
                       "schema field \"%s\" has \"references\" but is not "
                       "type \"string\"; references can only be used on "
                       "string fields",
                       path);
        const struct node *req = node_get(item, "required");
        for (size_t r = 0; req && req->type == NODE_SEQ && r < req->n; r++)
            if (req->kids[r].type == NODE_STRING &&
                !node_get(node_get(item, "properties"), req->kids[r].str))
                diag_error(c->diags, &req->kids[r], "unknown-field",
                           "list only fields declared under 'properties'",
                           "required field '%s' is not a property of \"%s\"",
                           req->kids[r].str, path);
        schema_rules(c, item, path, u, size, depth + 1);
        path[used] = '\0';
    }
}

static void need_field(struct check_ctx *c, const struct node *view,
                       const struct node *at, const char *what)
{
    if (!at || at->type != NODE_STRING)
        return;
    if (!data_field(view, at->str))
        diag_error(c->diags, at, "unknown-field",
                   "name a field declared under schema.properties (use "
                   "dots for nested fields)",
                   "%s '%s' is not a field of this data type", what, at->str);
}

void data_check_file(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    (void)d;
    const struct node *schema = node_get(view, "schema");
    char path[512] = "";
    schema_rules(c, schema, path, 0, sizeof(path), 0);
    const struct node *req = node_get(schema, "required");
    for (size_t r = 0; req && req->type == NODE_SEQ && r < req->n; r++)
        need_field(c, view, &req->kids[r], "required field");
    const struct node *search = node_get(view, "searchFields");
    for (size_t i = 0; search && search->type == NODE_SEQ && i < search->n; i++)
        need_field(c, view, &search->kids[i], "search field");
    const struct node *display = node_get(view, "displayConfig");
    for (size_t i = 0; display && display->type == NODE_MAP && i < display->n;
         i++)
        need_field(c, view, &display->kids[2 * i + 1], "display field");
    const struct node *bound = node_get(view, "boundToRole");
    const struct node *uid = node_get(view, "userIdField");
    if (uid && !bound)
        diag_error(c->diags, node_get_key(view, "userIdField"),
                   "user-id-field-without-role",
                   "add 'boundToRole: <role slug>', or remove userIdField",
                   "userIdField requires boundToRole to be set");
    if (bound && uid)
        need_field(c, view, uid, "userIdField");
    if (bound && !uid && !data_field(view, "userId"))
        diag_error(c->diags, node_get_key(view, "boundToRole"), "unknown-field",
                   "add a string field 'userId', or set userIdField",
                   "boundToRole needs a user id field: 'userId' (the "
                   "default userIdField) is not a field of this data type");
}

static void refs_in(struct check_ctx *c, const struct node *schema, int depth)
{
    const struct node *props = node_get(schema, "properties");
    if (!props || props->type != NODE_MAP || depth > 64)
        return;
    for (size_t i = 0; i < props->n; i++) {
        const struct node *f = &props->kids[2 * i + 1];
        while (node_get(f, "items"))
            f = node_get(f, "items");
        const struct node *ref = node_get(f, "references");
        if (ref && ref->type == NODE_STRING &&
            !check_lookup(c, KIND_DATA, ref->str))
            check_unknown_ref(c, ref, KIND_DATA, "unknown-data-type",
                              "referenced data type", NULL);
        refs_in(c, f, depth + 1);
    }
}

void data_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view)
{
    (void)d;
    refs_in(c, node_get(view, "schema"), 0);
    const struct node *bound = node_get(view, "boundToRole");
    if (bound && bound->type == NODE_STRING &&
        !check_lookup(c, KIND_ROLE, bound->str))
        check_unknown_ref(c, bound, KIND_ROLE, "unknown-role", "bound role",
                          NULL);
}

void data_check_bindings(struct check_ctx *c)
{
    struct project *p = c->project;
    struct index *seen = index_new(c->arena, p->ndefs[KIND_DATA]);
    for (size_t i = 0; i < p->ndefs[KIND_DATA]; i++) {
        struct def *d = &p->defs[KIND_DATA][i];
        const struct node *view = d->view[c->env];
        const struct node *bound = node_get(view, "boundToRole");
        if (!d->root || !bound || bound->type != NODE_STRING)
            continue;
        struct def *other = index_put(seen, bound->str, d);
        if (other && other != d)
            diag_error(c->diags, bound, "duplicate-binding",
                       "a role can be bound to one data type only",
                       "role '%s' is already bound to data type '%s' (%s)",
                       bound->str, other->slug ? other->slug : "?",
                       other->path);
    }
}
