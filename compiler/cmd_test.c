/*
 * cmd_test.c - `struere test`: runs the project's policy tests
 * (tests/<slug>.test.yaml, kind_test.c) through libstruere on the bundle the
 * project compiles to (or one given), and reports each case, with
 * coverage of the roles' policies, scope rules and field masks. Every
 * answer is the engine's (struere_decide, struere_decide_record,
 * struere_record_mask, struere_query; struere_decision_policy, _rule and
 * _mask for what decided): nothing here reads a rule.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "compile.h"
#include "emit.h"
#include "node.h"
#include "project.h"
#include "struere.h"

/* The user id of a `role:` actor: a user holding exactly those roles. */
#define ROLE_USER_ID "test-user"
/* The _id and status of an inline record when the case gives none. */
#define INLINE_ID "test-record"

static const char test_usage[] =
    "usage: struere test [--env eval|development|production] [--bundle FILE]\n"
    "                    [--format text|json|junit] [--json] [--coverage]\n"
    "                    [--threshold PERCENT]\n"
    "\n"
    "Checks and compiles the project, then runs every case of its policy\n"
    "tests (tests/*.test.yaml; other files in tests/ are ignored) through\n"
    "libstruere's permission engine, on the --env bundle it compiles to\n"
    "(default eval: fixture records exist only there), or on the bundle\n"
    "FILE given (a .stb of any environment; the tests and fixture records\n"
    "still come from the project).\n"
    "\n"
    "A request case (action, resource, optional record) passes when the\n"
    "decision is the one expected (with a record, row scope included:\n"
    "struere_decide_record) and the record as the actor sees it\n"
    "(struere_record_mask) has the visible paths, lacks the hidden ones and\n"
    "holds the masked values. A query case (query: TYPE) passes when the\n"
    "fixture records the actor may list are exactly the ids expected (any\n"
    "order), each with the field expectations. Outside eval, query cases\n"
    "are skipped (no fixture records), a user's actor.entityId is only the\n"
    "entity the case names and actor.relatedIds are empty (fixture\n"
    "relations exist only in eval). A role: actor is a user whose id is\n"
    "\"" ROLE_USER_ID "\"; an inline record's _id is \"" INLINE_ID "\" unless\n"
    "given. A failure is reported at the expectation's\n"
    "file:line:col with what was expected and what the runtime answered.\n"
    "\n"
    "--coverage: per role of the bundle, which policies, scope rules and\n"
    "field masks decided at least one case, and the total percentage. A\n"
    "policy counts when it matched a request whose decision took its\n"
    "effect (a deny that denied; an allow that granted, even if the record\n"
    "then fell outside the row scope); a scope rule when it was applied to\n"
    "a record (a request with a record, or a query); a field mask when it\n"
    "applied to a record shown. With --format junit the coverage goes to\n"
    "stderr.\n"
    "--threshold PERCENT (0 to 100): fail when the total coverage is below.\n"
    "\n"
    "Formats: text (one line per case, failures with details); json\n"
    "{\"environment\", \"passed\", \"failed\", \"errors\", \"skipped\",\n"
    "\"cases\": [{\"file\", \"line\", \"column\", \"suite\", \"case\", "
    "\"status\":\n"
    "\"pass\"|\"fail\"|\"error\"|\"skip\", \"failures\": [{\"file\", "
    "\"line\",\n"
    "\"column\", \"expectation\", \"expected\", \"actual\", \"message\"}]}],\n"
    "\"coverage\": null|{\"roles\": [{\"role\", \"policies\", \"scopeRules\",\n"
    "\"fieldMasks\" (each [{\"index\", \"what\", \"covered\"}]), \"covered\",\n"
    "\"total\", \"percent\"}], \"covered\", \"total\", \"percent\"}} "
    "(coverage\n"
    "with --coverage or --threshold); junit: JUnit XML, one testsuite per\n"
    "file, a testcase per case (failure, error or skipped).\n"
    "\n"
    "Exit 0 every case passed (and coverage reached the threshold); 1 a\n"
    "case failed or could not run, the project or a test file is invalid\n"
    "(diagnostics on stderr), or coverage is below the threshold; 2 usage;\n"
    "3 I/O or internal error.\n";

enum format { FMT_TEXT, FMT_JSON, FMT_JUNIT };

/* ---- coverage ---- */

struct cov_role {
    const char *slug; /* borrowed from the bundle */
    size_t n[3];      /* policies, scopeRules, fieldMasks */
    unsigned char *hit[3];
    json_t *body;
};

struct coverage {
    struct cov_role *roles; /* in slug order, as the bundle lists them */
    size_t nroles;
};

static const char *const part_key[3] = {"policies", "scopeRules", "fieldMasks"};

static int coverage_init(struct coverage *cv, const struere_bundle *b)
{
    size_t n = struere_bundle_count(b, STRUERE_KIND_ROLE);
    cv->nroles = 0;
    cv->roles = calloc(n + 1, sizeof(*cv->roles));
    if (!cv->roles)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct cov_role *r = &cv->roles[cv->nroles];
        const char *body;
        size_t len;
        if (struere_bundle_entry(&r->slug, &body, &len, b, STRUERE_KIND_ROLE, i,
                                 NULL) < 0)
            return -1;
        r->body = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
        if (!r->body)
            return -1;
        cv->nroles++;
        for (int p = 0; p < 3; p++) {
            r->n[p] = json_array_size(json_object_get(r->body, part_key[p]));
            r->hit[p] = calloc(r->n[p] + 1, 1);
            if (!r->hit[p])
                return -1;
        }
    }
    return 0;
}

static void coverage_free(struct coverage *cv)
{
    for (size_t i = 0; i < cv->nroles; i++) {
        for (int p = 0; p < 3; p++)
            free(cv->roles[i].hit[p]);
        json_decref(cv->roles[i].body);
    }
    free(cv->roles);
}

static int cmp_role(const void *key, const void *elem)
{
    return strcmp(key, ((const struct cov_role *)elem)->slug);
}

static void mark(struct coverage *cv, const char *role, int part, int index)
{
    struct cov_role *r =
        bsearch(role, cv->roles, cv->nroles, sizeof(*cv->roles), cmp_role);
    if (r && index >= 0 && (size_t)index < r->n[part])
        r->hit[part][index] = 1;
}

/* Marks what decided d: its policies of the effect taken; its scope
 * rules when a record was judged by them; its masks when a record was
 * shown. */
static void cover(struct coverage *cv, const struere_runtime *rt,
                  const struere_decision *d, int judged, int shown)
{
    const char *role;
    int at, allow;
    int granted = d->reason == STRUERE_REASON_ALLOWED ||
                  d->reason == STRUERE_REASON_OUT_OF_SCOPE;
    for (size_t i = 0;
         struere_decision_policy(&role, &at, &allow, rt, d, i, NULL) == 0; i++)
        if ((d->reason == STRUERE_REASON_DENIED && !allow) ||
            (granted && allow))
            mark(cv, role, 0, at);
    for (size_t i = 0;
         judged && struere_decision_rule(&role, &at, rt, d, i, NULL) == 0; i++)
        mark(cv, role, 1, at);
    for (size_t i = 0;
         shown && struere_decision_mask(&role, &at, rt, d, i, NULL) == 0; i++)
        mark(cv, role, 2, at);
}

static double percent(size_t hit, size_t total)
{
    return total ? 100.0 * (double)hit / (double)total : 100.0;
}

/* x rounded to one decimal, as printed. */
static double tenths(double x)
{
    return (double)(long long)(x * 10 + 0.5) / 10;
}

/* What item `i` of part p of role r says, in a few words. */
static char *describe(const struct cov_role *r, int p, size_t i)
{
    json_t *o = json_array_get(json_object_get(r->body, part_key[p]), i);
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    if (p == 0) {
        json_t *acts = json_object_get(o, "actions"), *a;
        size_t k;
        fprintf(f, "%s ", json_string_value(json_object_get(o, "effect")));
        json_array_foreach(acts, k, a)
            fprintf(f, "%s%s", k ? "," : "", json_string_value(a));
        fprintf(f, " on %s", json_string_value(json_object_get(o, "resource")));
    } else if (p == 1) {
        fprintf(f, "%s: %s %s %s",
                json_string_value(json_object_get(o, "entityType")),
                json_string_value(json_object_get(o, "field")),
                json_string_value(json_object_get(o, "operator")),
                json_string_value(json_object_get(o, "value")));
    } else {
        fprintf(f, "%s: %s %s",
                json_string_value(json_object_get(o, "entityType")),
                json_string_value(json_object_get(o, "maskType")),
                json_string_value(json_object_get(o, "fieldPath")));
    }
    fclose(f);
    return s;
}

static json_t *coverage_json(const struct coverage *cv)
{
    json_t *out = json_object(), *roles = json_array();
    size_t hit = 0, total = 0;
    for (size_t i = 0; i < cv->nroles; i++) {
        const struct cov_role *r = &cv->roles[i];
        json_t *o = json_object();
        size_t rh = 0, rt = 0;
        json_object_set_new(o, "role", json_string(r->slug));
        for (int p = 0; p < 3; p++) {
            json_t *items = json_array();
            for (size_t k = 0; k < r->n[p]; k++) {
                json_t *it = json_object();
                char *what = describe(r, p, k);
                json_object_set_new(it, "index", json_integer((json_int_t)k));
                json_object_set_new(it, "what", json_string(what ? what : ""));
                json_object_set_new(it, "covered", json_boolean(r->hit[p][k]));
                free(what);
                json_array_append_new(items, it);
                rh += r->hit[p][k];
            }
            rt += r->n[p];
            json_object_set_new(o, part_key[p], items);
        }
        json_object_set_new(o, "covered", json_integer((json_int_t)rh));
        json_object_set_new(o, "total", json_integer((json_int_t)rt));
        json_object_set_new(o, "percent", json_real(tenths(percent(rh, rt))));
        json_array_append_new(roles, o);
        hit += rh;
        total += rt;
    }
    json_object_set_new(out, "roles", roles);
    json_object_set_new(out, "covered", json_integer((json_int_t)hit));
    json_object_set_new(out, "total", json_integer((json_int_t)total));
    json_object_set_new(out, "percent", json_real(tenths(percent(hit, total))));
    return out;
}

static void coverage_print(FILE *out, const json_t *cov)
{
    json_t *r;
    size_t i;
    fprintf(out, "coverage of policies, scope rules and field masks:\n");
    json_array_foreach(json_object_get(cov, "roles"), i, r)
    {
        fprintf(out, "  role %s: %lld/%lld (%.1f%%)\n",
                json_string_value(json_object_get(r, "role")),
                json_integer_value(json_object_get(r, "covered")),
                json_integer_value(json_object_get(r, "total")),
                json_real_value(json_object_get(r, "percent")));
        for (int p = 0; p < 3; p++) {
            json_t *it;
            size_t k;
            json_array_foreach(json_object_get(r, part_key[p]), k, it) fprintf(
                out, "    %s %s[%lld] %s\n",
                json_is_true(json_object_get(it, "covered")) ? "+" : "-",
                part_key[p], json_integer_value(json_object_get(it, "index")),
                json_string_value(json_object_get(it, "what")));
        }
    }
    fprintf(out, "coverage: %lld/%lld (%.1f%%)\n",
            json_integer_value(json_object_get(cov, "covered")),
            json_integer_value(json_object_get(cov, "total")),
            json_real_value(json_object_get(cov, "percent")));
}

/* ---- fixture records ---- */

/* ref -> the record as {"_id","type","status","data"}, from the eval
 * bundle's fixtures. */
static json_t *fixture_records(const struere_bundle *eval)
{
    json_t *out = json_object();
    size_t n = struere_bundle_count(eval, STRUERE_KIND_FIXTURE);
    for (size_t i = 0; i < n; i++) {
        const char *body;
        size_t len;
        if (struere_bundle_entry(NULL, &body, &len, eval, STRUERE_KIND_FIXTURE,
                                 i, NULL) < 0)
            continue;
        json_t *f = json_loadb(body, len, 0, NULL), *e;
        size_t k;
        json_array_foreach(json_object_get(f, "entities"), k, e)
        {
            json_t *rec = json_object();
            json_t *status = json_object_get(e, "status");
            json_object_set(rec, "_id", json_object_get(e, "_id"));
            json_object_set(rec, "type", json_object_get(e, "type"));
            json_object_set_new(rec, "status",
                                status ? json_incref(status)
                                       : json_string("active"));
            json_t *data = json_object_get(e, "data");
            json_object_set_new(rec, "data",
                                data ? json_incref(data) : json_object());
            const char *id = json_string_value(json_object_get(e, "_id"));
            if (id)
                json_object_set_new(out, id, rec);
            else
                json_decref(rec);
        }
        json_decref(f);
    }
    return out;
}

/* ---- running a case ---- */

struct run {
    const struere_runtime *rt;
    json_t *fixtures;
    struct coverage *cv; /* NULL: no coverage asked */
    const struct def *def;
    json_t *failures; /* of the case being run */
    int error;        /* it could not run */
};

static void failure(struct run *r, const struct node *at,
                    const char *expectation, json_t *expected, json_t *actual,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void failure(struct run *r, const struct node *at,
                    const char *expectation, json_t *expected, json_t *actual,
                    const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *f = json_object();
    json_object_set_new(f, "file", json_string(r->def->path));
    json_object_set_new(f, "line", json_integer(at ? at->line : 0));
    json_object_set_new(f, "column", json_integer(at ? at->col : 0));
    json_object_set_new(f, "expectation", json_string(expectation));
    json_object_set_new(f, "expected", expected ? expected : json_null());
    json_object_set_new(f, "actual", actual ? actual : json_null());
    json_object_set_new(f, "message", json_string(msg));
    json_array_append_new(r->failures, f);
}

/* The value at dot path `path` of `rec`, or NULL. */
static json_t *at_path(json_t *rec, const char *path)
{
    char seg[512];
    json_t *v = rec;
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(seg) || !json_is_object(v))
            return NULL;
        memcpy(seg, path, n);
        seg[n] = 0;
        v = json_object_get(v, seg);
        path += n + (path[n] == '.');
    }
    return v;
}

/* The field expectations of `expect` on one record as the actor sees
 * it; `which` names the record in messages. */
static void check_fields(struct run *r, const struct node *expect, json_t *rec,
                         const char *which)
{
    const struct node *vis = node_get(expect, "visible");
    const struct node *hid = node_get(expect, "hidden");
    const struct node *msk = node_get(expect, "masked");
    for (size_t i = 0; vis && vis->type == NODE_SEQ && i < vis->n; i++)
        if (!at_path(rec, vis->kids[i].str))
            failure(r, &vis->kids[i], "visible", json_string(vis->kids[i].str),
                    NULL, "visible: expected %s in %s, but it is absent",
                    vis->kids[i].str, which);
    for (size_t i = 0; hid && hid->type == NODE_SEQ && i < hid->n; i++) {
        json_t *v = at_path(rec, hid->kids[i].str);
        if (v) {
            char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            failure(r, &hid->kids[i], "hidden", json_string(hid->kids[i].str),
                    json_incref(v),
                    "hidden: expected %s absent from %s, but it is %s",
                    hid->kids[i].str, which, txt ? txt : "?");
            free(txt);
        }
    }
    for (size_t i = 0; msk && msk->type == NODE_MAP && i < msk->n; i++) {
        const struct node *k = &msk->kids[2 * i], *want = &msk->kids[2 * i + 1];
        json_t *w = emit_node(want);
        json_t *got = at_path(rec, k->str);
        if (got && json_equal(w, got)) {
            json_decref(w);
            continue;
        }
        char *ws = json_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT);
        char *gs = got ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        failure(r, want, "masked", w, got ? json_incref(got) : NULL,
                "masked: expected %s = %s in %s, but it is %s", k->str,
                ws ? ws : "?", which, gs ? gs : "absent");
        free(ws);
        free(gs);
    }
}

static int has_fields(const struct node *expect)
{
    return node_get(expect, "visible") || node_get(expect, "hidden") ||
           node_get(expect, "masked");
}

/* Makes the case's actor; NULL (with a failure recorded) when the
 * runtime refuses it. */
static struere_actor *make_actor(struct run *r, const struct node *actor)
{
    struere_actor_spec spec = {0};
    const char *roles[STRUERE_MAX_ACTOR_ROLES];
    size_t n = 0;
    const struct node *agent = node_get(actor, "agent");
    const struct node *role = node_get(actor, "role");
    const struct node *list = role ? role : node_get(actor, "roles");
    if (list && list->type == NODE_STRING) {
        roles[n++] = list->str;
    } else {
        for (size_t i = 0; list && list->type == NODE_SEQ && i < list->n &&
                           n < STRUERE_MAX_ACTOR_ROLES;
             i++)
            roles[n++] = list->kids[i].str;
    }
    if (agent) {
        spec.type = STRUERE_ACTOR_AGENT;
        spec.id = agent->str;
    } else {
        spec.type = STRUERE_ACTOR_USER;
        spec.id = role ? ROLE_USER_ID : node_get_str(actor, "user");
        spec.roles = roles;
        spec.role_count = n;
        spec.entity_id = node_get_str(actor, "entity");
    }
    struere_actor *a = NULL;
    struere_error err;
    int rc = struere_actor_new(&a, r->rt, &spec, &err);
    if (rc < 0) {
        failure(r, actor, "actor", NULL, NULL,
                "the runtime refused the "
                "actor: %s",
                err.message);
        r->error = 1;
        return NULL;
    }
    return a;
}

static const char *decision_word(int allowed)
{
    return allowed ? "allow" : "deny";
}

static void run_request(struct run *r, const struct node *cs, struere_actor *a)
{
    const char *action = node_get_str(cs, "action");
    const char *resource = node_get_str(cs, "resource");
    const struct node *expect = node_get(cs, "expect");
    const struct node *want = node_get(expect, "decision");
    const struct node *recn = node_get(cs, "record");
    json_t *rec = NULL;
    if (recn) {
        const char *ref = node_get_str(recn, "ref");
        if (ref) {
            rec = json_incref(json_object_get(r->fixtures, ref));
            if (!rec) {
                failure(r, node_get(recn, "ref"), "record", NULL, NULL,
                        "no fixture record '%s' in the project", ref);
                r->error = 1;
                return;
            }
        } else {
            const char *id = node_get_str(recn, "id");
            const char *status = node_get_str(recn, "status");
            rec = json_object();
            json_object_set_new(rec, "_id", json_string(id ? id : INLINE_ID));
            json_object_set_new(rec, "type", json_string(resource));
            json_object_set_new(rec, "status",
                                json_string(status ? status : "active"));
            json_object_set_new(rec, "data", emit_node(node_get(recn, "data")));
        }
    }
    char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    struere_decision d;
    int rc = text ? struere_decide_record(&d, r->rt, a, action, resource, text,
                                          strlen(text), NULL)
                  : struere_decide(&d, r->rt, a, action, resource, NULL);
    if (rc < 0) {
        failure(r, node_get(cs, "resource"), "decision", NULL, NULL,
                "the runtime cannot decide %s on %s: %s", action, resource,
                struere_strerror(rc));
        r->error = 1;
        goto done;
    }
    char reason[512];
    struere_reason_text(reason, sizeof(reason), NULL, r->rt, &d, NULL);
    if (want && want->type == NODE_STRING &&
        strcmp(want->str, decision_word(d.allowed)))
        failure(r, want, "decision", json_string(want->str),
                json_string(decision_word(d.allowed)),
                "decision: expected %s, got %s (%s)", want->str,
                decision_word(d.allowed), reason);
    int shown = 0;
    if (text && d.allowed) {
        size_t need = 0;
        char small[1];
        rc = struere_record_mask(small, sizeof(small), &need, r->rt, &d, text,
                                 strlen(text), NULL);
        char *masked =
            rc == 0 || rc == STRUERE_ERANGE ? malloc(need + 1) : NULL;
        if (masked && struere_record_mask(masked, need + 1, &need, r->rt, &d,
                                          text, strlen(text), NULL) == 0) {
            shown = 1;
            json_t *seen = json_loadb(masked, need, 0, NULL);
            if (has_fields(expect))
                check_fields(r, expect, seen, "the record");
            json_decref(seen);
        } else {
            failure(r, recn, "record", NULL, NULL,
                    "the runtime cannot mask the record: %s",
                    struere_strerror(rc < 0 ? rc : STRUERE_ENOMEM));
            r->error = 1;
        }
        free(masked);
    }
    if (r->cv)
        cover(r->cv, r->rt, &d, text != NULL, shown);
done:
    free(text);
    json_decref(rec);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a, b, c" of a sorted list of ids (malloc'd). */
static char *id_list(const char **ids, size_t n)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", ids[i]);
    fputc(']', f);
    fclose(f);
    return s;
}

static void run_query(struct run *r, const struct node *cs, struere_actor *a)
{
    const char *type = node_get_str(cs, "query");
    const struct node *expect = node_get(cs, "expect");
    const struct node *want = node_get(expect, "ids");
    const struct node *fn = node_get(cs, "filters");
    json_t *filters = fn ? emit_node(fn) : NULL;
    char *ftext = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
    json_decref(filters);
    char *out = NULL;
    size_t len = 0;
    struere_decision d;
    int rc = struere_query(&out, &len, &d, r->rt, a, type, ftext,
                           ftext ? strlen(ftext) : 0, 0, NULL);
    free(ftext);
    if (rc < 0) {
        failure(r, node_get(cs, "query"), "ids", NULL, NULL,
                "the runtime cannot run the query on %s: %s", type,
                struere_strerror(rc));
        r->error = 1;
        struere_free(out);
        return;
    }
    json_t *got = json_loadb(out, len, 0, NULL), *rec;
    struere_free(out);
    size_t n = json_array_size(got), k;
    const char **gids = calloc(n + 1, sizeof(*gids));
    const char **wids = calloc(
        (want && want->type == NODE_SEQ ? want->n : 0) + 1, sizeof(*wids));
    size_t nw = 0;
    json_array_foreach(got, k, rec) gids[k] =
        json_string_value(json_object_get(rec, "_id"));
    for (size_t i = 0; want && want->type == NODE_SEQ && i < want->n; i++)
        wids[nw++] = want->kids[i].str;
    qsort(gids, n, sizeof(*gids), cmp_str);
    qsort(wids, nw, sizeof(*wids), cmp_str);
    int same = n == nw;
    for (size_t i = 0; same && i < n; i++)
        same = gids[i] && !strcmp(gids[i], wids[i]);
    if (want && !same) {
        char *ws = id_list(wids, nw), *gs = id_list(gids, n);
        json_t *wj = json_array(), *gj = json_array();
        for (size_t i = 0; i < nw; i++)
            json_array_append_new(wj, json_string(wids[i]));
        for (size_t i = 0; i < n; i++)
            json_array_append_new(gj, json_string(gids[i] ? gids[i] : ""));
        char reason[512] = "";
        if (!d.allowed)
            struere_reason_text(reason, sizeof(reason), NULL, r->rt, &d, NULL);
        failure(r, want, "ids", wj, gj, "ids: expected %s, got %s%s%s%s",
                ws ? ws : "?", gs ? gs : "?", reason[0] ? " (" : "", reason,
                reason[0] ? ")" : "");
        free(ws);
        free(gs);
    }
    if (has_fields(expect))
        json_array_foreach(got, k, rec)
        {
            char which[300];
            snprintf(which, sizeof(which), "record '%s'",
                     json_string_value(json_object_get(rec, "_id")));
            check_fields(r, expect, rec, which);
        }
    if (r->cv)
        cover(r->cv, r->rt, &d, d.allowed, n > 0);
    free(gids);
    free(wids);
    json_decref(got);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one case into a result object. */
static json_t *run_case(struct run *r, const struct node *cs)
{
    json_t *res = json_object();
    const struct node *name = node_get(cs, "name");
    json_object_set_new(res, "file", json_string(r->def->path));
    json_object_set_new(res, "line", json_integer(cs->line));
    json_object_set_new(res, "column", json_integer(cs->col));
    json_object_set_new(res, "suite", json_string(r->def->slug));
    json_object_set_new(res, "case", json_string(name ? name->str : "?"));
    r->failures = json_array();
    r->error = 0;
    double t0 = now_seconds();
    const char *status;
    if (node_get(cs, "query") &&
        struere_runtime_env(r->rt) != STRUERE_ENV_EVAL) {
        status = "skip";
        json_object_set_new(res, "skipped",
                            json_string("a query needs the eval bundle's "
                                        "fixture records"));
    } else {
        struere_actor *a = make_actor(r, node_get(cs, "actor"));
        if (a) {
            if (node_get(cs, "query"))
                run_query(r, cs, a);
            else
                run_request(r, cs, a);
        }
        struere_actor_free(a);
        status = r->error                       ? "error"
                 : json_array_size(r->failures) ? "fail"
                                                : "pass";
    }
    json_object_set_new(res, "status", json_string(status));
    json_object_set_new(res, "time", json_real(now_seconds() - t0));
    json_object_set_new(res, "failures", r->failures);
    r->failures = NULL;
    return res;
}

/* ---- output ---- */

/* XML text: the five entities escaped; characters XML 1.0 cannot hold
 * (controls other than tab and newline) as '?'. */
static void xml(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n')
                fputc('?', out);
            else
                fputc(c, out);
        }
    }
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_junit(FILE *out, const json_t *doc)
{
    json_t *cases = json_object_get(doc, "cases"), *c;
    size_t i;
    double total_time = 0;
    json_array_foreach(cases, i, c) total_time +=
        json_real_value(json_object_get(c, "time"));
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<testsuites name=\"struere test\" tests=\"%zu\" failures=\"%lld\" "
            "errors=\"%lld\" skipped=\"%lld\" time=\"%.6f\">\n",
            json_array_size(cases),
            json_integer_value(json_object_get(doc, "failed")),
            json_integer_value(json_object_get(doc, "errors")),
            json_integer_value(json_object_get(doc, "skipped")), total_time);
    /* One testsuite per file: cases of a file are consecutive. */
    for (i = 0; i < json_array_size(cases);) {
        const char *file = str_of(json_array_get(cases, i), "file");
        size_t end = i, counts[3] = {0};
        double t = 0;
        for (; end < json_array_size(cases) &&
               !strcmp(str_of(json_array_get(cases, end), "file"), file);
             end++) {
            const char *st = str_of(json_array_get(cases, end), "status");
            counts[0] += !strcmp(st, "fail");
            counts[1] += !strcmp(st, "error");
            counts[2] += !strcmp(st, "skip");
            t += json_real_value(
                json_object_get(json_array_get(cases, end), "time"));
        }
        c = json_array_get(cases, i);
        fputs("  <testsuite name=\"", out);
        xml(out, str_of(c, "suite"));
        fprintf(out,
                "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
                "skipped=\"%zu\" time=\"%.6f\" file=\"",
                end - i, counts[0], counts[1], counts[2], t);
        xml(out, file);
        fputs("\">\n", out);
        for (; i < end; i++) {
            c = json_array_get(cases, i);
            const char *st = str_of(c, "status");
            fputs("    <testcase name=\"", out);
            xml(out, str_of(c, "case"));
            fputs("\" classname=\"", out);
            xml(out, str_of(c, "suite"));
            fputs("\" file=\"", out);
            xml(out, file);
            fprintf(out, "\" line=\"%lld\" time=\"%.6f\"",
                    json_integer_value(json_object_get(c, "line")),
                    json_real_value(json_object_get(c, "time")));
            if (!strcmp(st, "pass")) {
                fputs("/>\n", out);
                continue;
            }
            fputs(">\n", out);
            if (!strcmp(st, "skip")) {
                fputs("      <skipped message=\"", out);
                xml(out, str_of(c, "skipped"));
                fputs("\"/>\n", out);
            } else {
                json_t *fs = json_object_get(c, "failures"), *f;
                size_t k;
                const char *tag = !strcmp(st, "error") ? "error" : "failure";
                fprintf(out, "      <%s message=\"", tag);
                xml(out, str_of(json_array_get(fs, 0), "message"));
                fprintf(out, "\" type=\"%s\">",
                        !strcmp(st, "error") ? "error" : "policy-test");
                json_array_foreach(fs, k, f)
                {
                    char where[64];
                    snprintf(where, sizeof(where), ":%lld:%lld: ",
                             json_integer_value(json_object_get(f, "line")),
                             json_integer_value(json_object_get(f, "column")));
                    xml(out, str_of(f, "file"));
                    xml(out, where);
                    xml(out, str_of(f, "message"));
                    fputc('\n', out);
                }
                fprintf(out, "</%s>\n", tag);
            }
            fputs("    </testcase>\n", out);
        }
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
}

static void print_text(FILE *out, const json_t *doc)
{
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(doc, "cases"), i, c)
    {
        const char *st = str_of(c, "status");
        fprintf(out, "%-5s %s:%lld:%lld: %s\n",
                !strcmp(st, "pass")   ? "ok"
                : !strcmp(st, "fail") ? "FAIL"
                : !strcmp(st, "skip") ? "skip"
                                      : "ERROR",
                str_of(c, "file"),
                json_integer_value(json_object_get(c, "line")),
                json_integer_value(json_object_get(c, "column")),
                str_of(c, "case"));
        if (!strcmp(st, "skip"))
            fprintf(out, "      skipped: %s\n", str_of(c, "skipped"));
        json_t *f;
        size_t k;
        json_array_foreach(json_object_get(c, "failures"), k, f)
            fprintf(out, "      %s:%lld:%lld: %s\n", str_of(f, "file"),
                    json_integer_value(json_object_get(f, "line")),
                    json_integer_value(json_object_get(f, "column")),
                    str_of(f, "message"));
    }
    fprintf(out,
            "policy tests (%s): %lld passed, %lld failed, %lld errors, "
            "%lld skipped\n",
            str_of(doc, "environment"),
            json_integer_value(json_object_get(doc, "passed")),
            json_integer_value(json_object_get(doc, "failed")),
            json_integer_value(json_object_get(doc, "errors")),
            json_integer_value(json_object_get(doc, "skipped")));
}

/* ---- the command ---- */

static int parse_threshold(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 100))
        return -1;
    *out = v;
    return 0;
}

int cmd_test(const struct cli *g, int argc, char **argv)
{
    int env = ENV_EVAL, env_given = 0, coverage = 0;
    double threshold = -1;
    const char *bundle_file = NULL;
    enum format fmt = FMT_TEXT;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int has = i + 1 < argc;
        if (cli_wants_help(arg)) {
            fputs(test_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(arg, "--env") && has) {
            if (cli_env_arg(argv[++i], &env) != EXIT_OK)
                return EXIT_USAGE;
            env_given = 1;
        } else if (!strcmp(arg, "--bundle") && has) {
            bundle_file = argv[++i];
        } else if (!strcmp(arg, "--format") && has) {
            const char *f = argv[++i];
            if (!strcmp(f, "text"))
                fmt = FMT_TEXT;
            else if (!strcmp(f, "json"))
                fmt = FMT_JSON;
            else if (!strcmp(f, "junit"))
                fmt = FMT_JUNIT;
            else {
                cli_error("test: --format '%s': expected text, json or junit",
                          f);
                return EXIT_USAGE;
            }
        } else if (!strcmp(arg, "--json")) {
            fmt = FMT_JSON;
        } else if (!strcmp(arg, "--coverage")) {
            coverage = 1;
        } else if (!strcmp(arg, "--threshold") && has) {
            if (parse_threshold(argv[++i], &threshold) < 0) {
                cli_error("test: --threshold '%s': expected a percentage "
                          "from 0 to 100",
                          argv[i]);
                return EXIT_USAGE;
            }
        } else {
            int takes = !strcmp(arg, "--env") || !strcmp(arg, "--bundle") ||
                        !strcmp(arg, "--format") || !strcmp(arg, "--threshold");
            cli_error("test: %s '%s'",
                      takes ? "missing value for" : "unknown argument", arg);
            fputs(test_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct project p;
    struct compiled c;
    struct coverage cv = {0};
    struere_runtime *rt = NULL;
    json_t *doc = NULL, *fixtures = NULL;
    int rc = cli_compile(g, &p, &c);
    if (rc != EXIT_OK)
        goto cleanup;
    struere_error err;
    int lrc;
    if (bundle_file) {
        char buf[4096];
        lrc = struere_runtime_open_file(
            &rt, cli_path(g, bundle_file, buf, sizeof(buf)),
            env_given ? env + 1 : 0, &err);
    } else {
        lrc = struere_runtime_open_memory(&rt, c.bundle[env].data,
                                          c.bundle[env].len, env + 1, &err);
    }
    if (lrc < 0) {
        cli_error("test: %s", err.message);
        rc = lrc == STRUERE_EIO || lrc == STRUERE_ENOMEM ? EXIT_IO
                                                         : EXIT_INVALID;
        goto cleanup;
    }
    struere_bundle *eval = NULL;
    lrc = struere_bundle_open_memory(&eval, c.bundle[ENV_EVAL].data,
                                     c.bundle[ENV_EVAL].len, STRUERE_ENV_EVAL,
                                     &err);
    if (lrc < 0) {
        cli_error("test: the eval bundle: %s", err.message);
        rc = EXIT_IO;
        goto cleanup;
    }
    fixtures = fixture_records(eval);
    struere_bundle_free(eval);
    if ((coverage || threshold >= 0) &&
        coverage_init(&cv, struere_runtime_bundle(rt)) < 0) {
        cli_error("test: a role of the bundle cannot be read");
        rc = EXIT_IO;
        goto cleanup;
    }
    struct run run = {.rt = rt,
                      .fixtures = fixtures,
                      .cv = coverage || threshold >= 0 ? &cv : NULL};
    json_t *cases = json_array();
    long long counts[4] = {0}; /* pass, fail, error, skip */
    for (size_t i = 0; i < p.ndefs[KIND_TEST]; i++) {
        const struct def *d = &p.defs[KIND_TEST][i];
        const struct node *list = node_get(d->root, "cases");
        run.def = d;
        for (size_t k = 0; list && list->type == NODE_SEQ && k < list->n; k++) {
            json_t *res = run_case(&run, &list->kids[k]);
            const char *st = str_of(res, "status");
            counts[!strcmp(st, "pass")    ? 0
                   : !strcmp(st, "fail")  ? 1
                   : !strcmp(st, "error") ? 2
                                          : 3]++;
            json_array_append_new(cases, res);
        }
    }
    doc = json_object();
    json_object_set_new(doc, "environment",
                        json_string(struere_env_name(struere_runtime_env(rt))));
    json_object_set_new(doc, "passed", json_integer(counts[0]));
    json_object_set_new(doc, "failed", json_integer(counts[1]));
    json_object_set_new(doc, "errors", json_integer(counts[2]));
    json_object_set_new(doc, "skipped", json_integer(counts[3]));
    json_object_set_new(doc, "cases", cases);
    json_t *cov = run.cv ? coverage_json(&cv) : json_null();
    json_object_set_new(doc, "coverage", cov);
    if (fmt == FMT_JSON) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (fmt == FMT_JUNIT) {
        print_junit(stdout, doc);
        if (coverage)
            coverage_print(stderr, cov);
    } else {
        if (!p.ndefs[KIND_TEST])
            printf("no policy tests: write them in tests/<slug>.test.yaml\n");
        print_text(stdout, doc);
        if (coverage)
            coverage_print(stdout, cov);
    }
    rc = counts[1] || counts[2] ? EXIT_INVALID : EXIT_OK;
    if (threshold >= 0) {
        double got = json_real_value(json_object_get(cov, "percent"));
        if (got < threshold) {
            cli_error("test: coverage %.1f%% is below the threshold %g%%", got,
                      threshold);
            rc = EXIT_INVALID;
        }
    }
    if (fflush(stdout) != 0)
        rc = EXIT_IO;
cleanup:
    json_decref(doc);
    json_decref(fixtures);
    coverage_free(&cv);
    struere_runtime_free(rt);
    compiled_free(&c);
    project_free(&p);
    return rc;
}
