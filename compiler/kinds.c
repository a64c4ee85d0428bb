/*
 * kinds.c - the kind table and the lookups every kind's checks share.
 */
#include "kinds.h"

#include <stdio.h>
#include <string.h>

#include "index.h"
#include "limits.h"
#include "xcheck.h"
#include "node.h"
#include "suggest.h"

#define DEV_PROD ((1u << ENV_DEVELOPMENT) | (1u << ENV_PRODUCTION))
#define ALL_ENVS (DEV_PROD | (1u << ENV_EVAL))
#define EVAL_ONLY (1u << ENV_EVAL)

const struct kind_ops kind_table[KIND_COUNT] = {
    [KIND_AGENT] = {"agent", "agent", "agents", "agents", ".yaml", "slug",
                    ALL_ENVS, agent_check_file, agent_check_refs},
    [KIND_DATA] = {"data", "data type", "data types", "data", ".yaml", "slug",
                   ALL_ENVS, data_check_file, data_check_refs},
    [KIND_ROLE] = {"role", "role", "roles", "roles", ".yaml", "slug", ALL_ENVS,
                   role_check_file, role_check_refs},
    [KIND_AUTOMATION] = {"automation", "automation", "automations",
                         "automations", ".yaml", "slug", DEV_PROD,
                         automation_check_file, automation_check_refs},
    [KIND_TOOL] = {"tool", "tool", "tools", "tools", ".yaml", "name", ALL_ENVS,
                   tool_check_file, NULL},
    [KIND_EVAL] = {"eval", "eval suite", "eval suites", "evals", ".eval.yaml",
                   "slug", EVAL_ONLY, NULL, eval_check_refs},
    [KIND_FIXTURE] = {"fixture", "fixture", "fixtures", "fixtures",
                      ".fixture.yaml", "slug", EVAL_ONLY, fixture_check_file,
                      fixture_check_refs},
    /* Policy tests are run by `struere test` from the project, never
     * shipped: no bundle holds them; they are checked against eval's
     * view, where the fixture records they name exist. */
    [KIND_TEST] = {"test", "policy test", "policy tests", "tests", ".test.yaml",
                   "slug", 0, NULL, test_check_refs, EVAL_ONLY},
};

struct def *check_lookup(const struct check_ctx *c, enum kind k,
                         const char *slug)
{
    struct def *d = index_get(c->index[k], slug);
    if (c->rec)
        xcheck_note(c->rec, k, slug, d);
    return d;
}

const struct node *check_fixture_ref(const struct check_ctx *c, const char *ref)
{
    if (c->rec) {
        if (c->fixtures_known)
            xcheck_note_fixtures(c->rec, c->fixtures_digest);
        else
            c->rec->failed = true; /* nothing to compare it with later */
    }
    return c->fixture_refs ? index_get(c->fixture_refs, ref) : NULL;
}

bool check_is_broken(const struct check_ctx *c, enum kind k, const char *slug)
{
    bool broken = index_get(c->broken[k], slug) != NULL;
    /* A reference to a broken file is not reported (its file's errors
     * are): a check that read that keeps no result, or it would stand
     * once the file is gone (xcheck.h). */
    if (broken && c->rec)
        c->rec->failed = true;
    return broken;
}

void check_unknown_ref(struct check_ctx *c, const struct node *at, enum kind k,
                       const char *code, const char *what,
                       const char *const *extra)
{
    const char *name = at->str;
    if (!*name || check_is_broken(c, k, name))
        return; /* empty (reported by the schema) or its file is broken */
    struct suggest sg, other;
    suggest_init(&sg, name);
    suggest_init(&other, name);
    const struct index *ix = c->index[k];
    for (size_t i = 0; ix && i < ix->cap; i++)
        if (ix->keys[i])
            suggest_offer(&sg, ix->keys[i]);
    for (; extra && *extra; extra++)
        suggest_offer(&other, *extra);
    /* a name the project defines before a word that is allowed too, when
     * they are as close: `t` is as close to a data type `tg` as to `*`,
     * and a grant on every resource is the worse guess */
    const char *best = suggest_best(&sg);
    if (suggest_best(&other) &&
        (!best || other.best_distance < sg.best_distance))
        best = suggest_best(&other);
    char hint[300];
    const char *h = NULL;
    if (best) {
        snprintf(hint, sizeof(hint), "did you mean '%s'?", best);
        h = hint;
    } else if (!ix || ix->n == 0) {
        snprintf(hint, sizeof(hint), "the project has no %s",
                 kind_table[k].plural);
        h = hint;
    } else {
        snprintf(hint, sizeof(hint), "define it in %s/%s%s", kind_table[k].dir,
                 name, kind_table[k].suffix);
        h = hint;
    }
    diag_error(c->diags, at, code, h, "%s '%s' does not exist", what, name);
}

static const struct node *builtin(const struct check_ctx *c, const char *name)
{
    const struct node *list = node_get(c->builtin_tools, "tools");
    for (size_t i = 0; list && list->type == NODE_SEQ && i < list->n; i++)
        if (node_is_str(node_get(&list->kids[i], "name"), name))
            return &list->kids[i];
    return NULL;
}

bool check_tool_exists(const struct check_ctx *c, const char *name)
{
    return builtin(c, name) || check_lookup(c, KIND_TOOL, name);
}

void check_unknown_tool(struct check_ctx *c, const struct node *at,
                        const char *context)
{
    if (!*at->str || check_is_broken(c, KIND_TOOL, at->str))
        return;
    struct suggest sg;
    suggest_init(&sg, at->str);
    const struct node *list = node_get(c->builtin_tools, "tools");
    for (size_t i = 0; list && list->type == NODE_SEQ && i < list->n; i++) {
        const char *n = node_get_str(&list->kids[i], "name");
        if (n)
            suggest_offer(&sg, n);
    }
    const struct index *ix = c->index[KIND_TOOL];
    for (size_t i = 0; ix && i < ix->cap; i++)
        if (ix->keys[i])
            suggest_offer(&sg, ix->keys[i]);
    char hint[300];
    if (suggest_best(&sg))
        snprintf(hint, sizeof(hint), "did you mean '%s'?", suggest_best(&sg));
    else
        snprintf(hint, sizeof(hint),
                 "use a built-in tool (see schemas/builtin-tools.yaml) or "
                 "declare it in tools/%s.yaml",
                 at->str);
    diag_error(c->diags, at, "unknown-tool", hint, "%s unknown tool '%s'",
               context, at->str);
}

void check_role_count(struct check_ctx *c, const struct node *roles,
                      const char *who)
{
    if (!roles || roles->type != NODE_SEQ || roles->n <= LIMIT_ACTOR_ROLES)
        return;
    /* The runtime counts entries, not distinct slugs: a repeat counts. */
    size_t repeats = 0;
    struct index *seen = index_new(c->arena, roles->n);
    for (size_t i = 0; seen && i < roles->n; i++)
        if (roles->kids[i].type == NODE_STRING &&
            index_put(seen, roles->kids[i].str, (void *)&roles->kids[i]))
            repeats++;
    char hint[200];
    if (repeats && roles->n - repeats <= LIMIT_ACTOR_ROLES)
        snprintf(hint, sizeof(hint),
                 "remove the %zu repeated entr%s: each counts toward the "
                 "limit",
                 repeats, repeats == 1 ? "y" : "ies");
    else if (repeats)
        snprintf(hint, sizeof(hint),
                 "remove the %zu repeated entr%s (each counts), and merge "
                 "roles until at most %d are listed",
                 repeats, repeats == 1 ? "y" : "ies", LIMIT_ACTOR_ROLES);
    else
        snprintf(hint, sizeof(hint),
                 "merge the policies of some roles into one, until at most "
                 "%d are listed",
                 LIMIT_ACTOR_ROLES);
    diag_error(c->diags, &roles->kids[LIMIT_ACTOR_ROLES], "too-many-roles",
               hint,
               "%s lists %zu roles, more than the %d the runtime lets one "
               "actor hold",
               who, (size_t)roles->n, LIMIT_ACTOR_ROLES);
}
