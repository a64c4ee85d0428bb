/*
 * access.h - effective access: for a subject (an agent with its roles, or
 * a role alone, held by a user), every (resource, action) it may do, with
 * the policies that allow it, the row scope and the field masks; and the
 * difference in effective access between two bundles, each change marked
 * as widening access or not. Every answer comes from libstruere's engine
 * (struere_decide and the calls that explain a decision) on a runtime
 * opened over the bundle; nothing here reads a role's rules.
 *
 * Documents are JSON (jansson), as `struere access --format json` and the
 * "access" list of `struere diff --format json` print them.
 */
#ifndef STRUERE_ACCESS_H
#define STRUERE_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "struere.h"

/* A role subject is a user holding that role alone; its user id is this,
 * so that a rule on actor.userId prints as what it compares with. */
#define ACCESS_ROLE_USER_ID "actor.userId"

enum access_status {
    ACCESS_OK = 0,
    ACCESS_INVALID = 1, /* an unknown agent or role, a bad bundle */
    ACCESS_FAILED = 3   /* out of memory, or the engine failed */
};

/*
 * What each automation of `rt`'s bundle does when it runs, as the system
 * actor (every row, no mask), parsed once for access_subject and
 * access_changes. Its list (access_automations_list) is, in slug order,
 * {"automation": SLUG, "when": {"resource", "action", "condition"},
 * "does": [{"resource", "action", "by": "SLUG#actions[i]"}]}, where
 * "when" is the write that sets it off (its trigger: the data type, and
 * create, update or delete for created, updated, deleted; the condition
 * as written, or null) and "does" every record tool its actions call
 * (entity.create, .get, .query, .update, .delete: create, read, list,
 * update, delete) on the data type its args name ("*": any, for a get or
 * a delete, which take an id alone, and where a template names it), then
 * what the automations its cascading writes (cascade: true, or a
 * template that may resolve to it) set off do (and what agent.chat and
 * custom tools do: access.c). Each (resource, action) is listed once,
 * "by" the first way a breadth-first walk over the automations set off
 * meets (the fewest automations; README, "Reviewing a promotion"): the
 * list grows with the automations, not with the ways. Empty where the
 * environment has no automations (eval). NULL when out of memory or an
 * automation's body is not what the compiler writes.
 */
struct access_automations;
struct access_automations *access_automations_new(const struere_runtime *rt);
const json_t *access_automations_list(const struct access_automations *au);
void access_automations_free(struct access_automations *au);

/*
 * The effective access of one subject of `rt` (agent: the agent `slug`
 * with its roles; else the role `slug` alone) as
 * {"subject": "agent:SLUG"|"role:SLUG", "roles": [...], "allowed":
 * [{"resource", "action", "by", "scope", "rules", "masks"}], "denied":
 * [{"resource", "action", "by"}], "automations": [...]}, in `*out`
 * (caller owns it): "scope" with the subject's values resolved, "rules"
 * as the rules are written (struere_predicate_written_json); "denied"
 * holds, for an agent, what an explicit deny removes from what its roles
 * allow, and for a role alone every pair an explicit deny of it covers (a
 * user may hold it with roles that allow it); "automations" (only when
 * `automations`, access_automations_new of `rt`, is not NULL) the
 * entries of its list whose trigger's write the subject is allowed, in
 * slug order: it sets them off, and through them does what they do. Resources
 * in bundle order then "users", actions create, read, update, delete, list.
 * Returns an access_status; `err` says why when it is not ACCESS_OK.
 */
int access_subject(const struere_runtime *rt,
                   const struct access_automations *automations, bool agent,
                   const char *slug, json_t **out, char *err, size_t errlen);

/*
 * The access changes from the bundle of runtime `from` to that of `to`
 * (NULL: an empty environment), in `*out` (caller owns it): an array of
 * {"subject", "resource", "action", "change", "widens", "from", "to"}, subject
 * by subject (agents, then roles, in slug order), then the roles'
 * binding-changed entries, then "roles:R+S": a user holding two roles,
 * listed only where a grant of R that carried a row scope or masks was
 * revoked, or R removed: the widening changes of such a user, decided by
 * the engine on both sides. change is one of
 * granted, revoked, scope-widened, scope-narrowed, scope-changed,
 * mask-removed, mask-added, mask-changed, for a role deny-removed
 * (widens), deny-added or binding-changed (the data type bound to the
 * role changed, and with it what actor.entityId stands for in the rules
 * of that pair; from, to: {"type","userIdField"} or null; widens unless
 * the role is no longer bound and no such rule compares with neq), and
 * automation-granted (widens) or
 * automation-revoked. granted: from null, to {"by","scope","masks"};
 * revoked: the reverse; scope-*: the scopes (null: every row); mask-*:
 * {"field","type","replacement"} or null; deny-*: {"by"} or null;
 * automation-*: {"automation","when","by"} (access_automations) or null:
 * the subject now sets off (no longer sets off) that automation, which
 * does the action on the resource ("*": any data type) as the system
 * actor; listed per automation (a renamed one: its routes revoked, and
 * granted under the new slug), and widening even where the subject may
 * already do the same itself (the automation does it on every row, with
 * no mask) or through another automation. Scopes
 * are shown as the rules are written (resolved when those are the same
 * on both sides) and compared both so and resolved (a new organization
 * id, or project name without one, changes the rows of a rule on
 * actor.organizationId). Only subjects whose access can differ are
 * computed (the agent or role, its roles' definitions, the set of data
 * types or the organization id changed), and routes through automations
 * for those and for the automations whose trigger or reach changed; a
 * change where effective access is identical is never listed. Returns an
 * access_status.
 */
int access_changes(const struere_runtime *from, const struere_runtime *to,
                   json_t **out, char *err, size_t errlen);

/* Does any change of an access_changes list widen access? */
bool access_widens(const json_t *changes);

/* The changes as text: widened first, then narrowed, one sentence each,
 * indented by `indent` spaces. `only_widening` leaves the rest out. */
void access_print_text(FILE *out, const json_t *changes, int indent,
                       bool only_widening, bool color);

/* The changes as Markdown sections "Access widened", "Access narrowed"
 * (level `level` headings), or a sentence saying access is unchanged. */
void access_print_md(FILE *out, const json_t *changes, int level);

#endif
