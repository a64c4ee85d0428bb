/*
 * decision_test.c - the permission engine's decision table: runs every line
 * of tests/engine/decisions.table (decisions, row scope, field masks, row
 * predicates, masked records, fixture queries) against the example's real
 * bundles and a variant of the example this test compiles, plus the checks
 * a table cannot state (buffer sizes, stale actors, environments).
 * Expectations were written by hand from DESIGN.md §6 and the example's
 * files; a line marked "bug: " is a known engine bug, reported apart.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

#define TABLE_REL "/../../tests/engine/decisions.table"
#define MAX_LINE 4096
#define MAX_TOK 16
#define MAX_ACTORS 64
#define MAX_ROLES 8
#define MAX_RELATED 8
#define MAX_RECORDS 64

/* ---- results ---- */

static int known_bugs;

/* Counts one table line: a pass, a failure, or a known bug. A line marked
 * as a bug that passes is a failure too: its mark must go. */
__attribute__((format(printf, 4, 5))) static void
result(int ok, int bug, int line, const char *fmt, ...)
{
    va_list ap;
    if (ok && !bug) {
        engine_passed++;
        return;
    }
    if (ok) {
        engine_failed++;
        printf("FAIL line %d: marked bug: but the engine now agrees\n", line);
        return;
    }
    if (bug) {
        known_bugs++;
        printf("KNOWN BUG line %d: ", line);
    } else {
        engine_failed++;
        printf("FAIL line %d: ", line);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---- names of codes ---- */

struct name {
    const char *name;
    int value;
};

static const struct name codes[] = {
    {"OK", STRUERE_OK},         {"ENOMEM", STRUERE_ENOMEM},
    {"EENV", STRUERE_EENV},     {"ENOTFOUND", STRUERE_ENOTFOUND},
    {"EINVAL", STRUERE_EINVAL}, {"EJSON", STRUERE_EJSON},
    {"ERANGE", STRUERE_ERANGE}, {NULL, 0},
};

static const struct name reasons[] = {
    {"ADMIN", STRUERE_REASON_ADMIN},
    {"SYSTEM", STRUERE_REASON_SYSTEM},
    {"NO_ROLES", STRUERE_REASON_NO_ROLES},
    {"DENIED", STRUERE_REASON_DENIED},
    {"ALLOWED", STRUERE_REASON_ALLOWED},
    {"NO_POLICY", STRUERE_REASON_NO_POLICY},
    {"OUT_OF_SCOPE", STRUERE_REASON_OUT_OF_SCOPE},
    {NULL, 0},
};

/* The value named `s` in `t`, or `dflt` when it is not there. */
static int value_of(const struct name *t, const char *s, int dflt)
{
    for (; t->name; t++)
        if (!strcmp(t->name, s))
            return t->value;
    return dflt;
}

static const char *name_of(const struct name *t, int v)
{
    for (; t->name; t++)
        if (t->value == v)
            return t->name;
    return "?";
}

/* ---- bundles and fixture records ---- */

enum { B_EVAL, B_PROD, B_DEV, B_VEVAL, B_VPROD, B_VDEV, B_COUNT };

static const char *const bundle_names[B_COUNT] = {"eval",  "prod",  "dev",
                                                  "veval", "vprod", "vdev"};
static struere_runtime *runtimes[B_COUNT];

struct record {
    char id[128];
    char *json; /* {"_id","type","status","data"}, malloc'd */
};

/* Fixture records of the example (set 0) and of the variant (set 1). */
static struct record records[2][MAX_RECORDS];
static size_t record_count[2];

static int bundle_index(const char *s)
{
    for (int i = 0; i < B_COUNT; i++)
        if (!strcmp(bundle_names[i], s))
            return i;
    return -1;
}

/* A raw JSON value of `body` at `path`, or NULL. */
static int raw_at(const char *body, size_t len, const char *path,
                  struere_json *v)
{
    return struere_json_get(v, body, len, path, NULL) == 0;
}

/* Reads the records of every fixture of an eval bundle into `set`, each
 * rebuilt as the engine's record shape from the fixture's own JSON. */
static void load_records(const struere_runtime *rt, int set)
{
    const struere_bundle *b = struere_runtime_bundle(rt);
    size_t n = struere_bundle_count(b, STRUERE_KIND_FIXTURE);
    for (size_t f = 0; f < n; f++) {
        const char *body;
        size_t len;
        if (struere_bundle_entry(NULL, &body, &len, b, STRUERE_KIND_FIXTURE, f,
                                 NULL) < 0)
            continue;
        for (size_t i = 0; record_count[set] < MAX_RECORDS; i++) {
            char p[4][64];
            struere_json v[4];
            static const char *const keys[4] = {"_id", "type", "status",
                                                "data"};
            int ok = 1;
            for (int k = 0; k < 4; k++) {
                snprintf(p[k], sizeof(p[k]), "entities.%zu.%s", i, keys[k]);
                ok = ok && raw_at(body, len, p[k], &v[k]);
            }
            if (!ok)
                break;
            struct record *r = &records[set][record_count[set]++];
            struere_json_string(r->id, sizeof(r->id), NULL, v[0], NULL);
            size_t cap = v[0].len + v[1].len + v[2].len + v[3].len + 64;
            r->json = malloc(cap);
            if (!r->json) {
                record_count[set]--;
                return;
            }
            snprintf(r->json, cap,
                     "{\"_id\":%.*s,\"type\":%.*s,\"status\":%.*s,"
                     "\"data\":%.*s}",
                     (int)v[0].len, v[0].ptr, (int)v[1].len, v[1].ptr,
                     (int)v[2].len, v[2].ptr, (int)v[3].len, v[3].ptr);
        }
    }
}

/* The record text a table field names: "-" none, json:TEXT, or a fixture
 * ref of the bundle's project. */
static const char *record_text(int bundle, const char *field)
{
    if (!strcmp(field, "-"))
        return NULL;
    if (!strncmp(field, "json:", 5))
        return field + 5;
    int set = bundle >= B_VEVAL;
    for (size_t i = 0; i < record_count[set]; i++)
        if (!strcmp(records[set][i].id, field))
            return records[set][i].json;
    return NULL;
}

/* ---- actors ---- */

struct actor_def {
    char name[64];
    int type;
    char id[128];
    char roles[MAX_ROLES][64];
    size_t role_count;
    char entity[128];
    char related[MAX_RELATED][2][64];
    size_t related_count;
    int related_set; /* related= given (possibly empty) */
    char org[128];
    struere_actor *made[B_COUNT];
    int tried[B_COUNT];
};

static struct actor_def actors[MAX_ACTORS];
static size_t actor_count;

static int actor_type(const char *s)
{
    if (!strcmp(s, "user"))
        return STRUERE_ACTOR_USER;
    if (!strcmp(s, "agent"))
        return STRUERE_ACTOR_AGENT;
    if (!strcmp(s, "system"))
        return STRUERE_ACTOR_SYSTEM;
    if (!strcmp(s, "admin"))
        return STRUERE_ACTOR_ADMIN;
    return 0;
}

/* Fills `d` from TYPE ID ROLES [opts] (tok[0..n-1]); 0 on a bad line. */
static int parse_actor(struct actor_def *d, char **tok, int n)
{
    memset(d, 0, sizeof(*d));
    if (n < 3)
        return 0;
    d->type = actor_type(tok[0]);
    if (strcmp(tok[1], "-"))
        snprintf(d->id, sizeof(d->id), "%s", tok[1]);
    if (strcmp(tok[2], "-")) {
        char buf[512], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", tok[2]);
        for (char *r = strtok_r(buf, ",", &save);
             r && d->role_count < MAX_ROLES; r = strtok_r(NULL, ",", &save))
            snprintf(d->roles[d->role_count++], 64, "%s", r);
    }
    for (int i = 3; i < n; i++) {
        if (!strncmp(tok[i], "entity=", 7)) {
            snprintf(d->entity, sizeof(d->entity), "%s", tok[i] + 7);
        } else if (!strncmp(tok[i], "org=", 4)) {
            snprintf(d->org, sizeof(d->org), "%s", tok[i] + 4);
        } else if (!strncmp(tok[i], "related=", 8)) {
            char buf[512], *save = NULL;
            snprintf(buf, sizeof(buf), "%s", tok[i] + 8);
            d->related_set = 1;
            for (char *r = strtok_r(buf, ",", &save);
                 r && d->related_count < MAX_RELATED;
                 r = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(r, ':');
                if (!colon)
                    return 0;
                *colon = 0;
                snprintf(d->related[d->related_count][0], 64, "%s", r);
                snprintf(d->related[d->related_count][1], 64, "%s", colon + 1);
                d->related_count++;
            }
        } else {
            return 0;
        }
    }
    return 1;
}

/* Makes the actor `d` on runtime `rt`. */
static int make_actor(const struere_runtime *rt, const struct actor_def *d,
                      struere_actor **out, struere_error *err)
{
    const char *roles[MAX_ROLES];
    struere_related rel[MAX_RELATED];
    struere_actor_spec spec = {0};
    for (size_t i = 0; i < d->role_count; i++)
        roles[i] = d->roles[i];
    for (size_t i = 0; i < d->related_count; i++) {
        rel[i].type = d->related[i][0];
        rel[i].id = d->related[i][1];
    }
    spec.type = d->type;
    spec.id = d->id[0] ? d->id : NULL;
    spec.roles = d->role_count ? roles : NULL;
    spec.role_count = d->role_count;
    spec.entity_id = d->entity[0] ? d->entity : NULL;
    spec.related = d->related_set ? rel : NULL;
    spec.related_count = d->related_count;
    spec.organization_id = d->org[0] ? d->org : NULL;
    return struere_actor_new(out, rt, &spec, err);
}

/* The actor named `name` on bundle `b`, made on first use; NULL (with a
 * failure counted) when it cannot be made. */
static const struere_actor *actor_on(const char *name, int b, int line)
{
    for (size_t i = 0; i < actor_count; i++) {
        struct actor_def *d = &actors[i];
        if (strcmp(d->name, name))
            continue;
        if (!d->tried[b]) {
            struere_error err = {0};
            d->tried[b] = 1;
            int rc = make_actor(runtimes[b], d, &d->made[b], &err);
            if (rc < 0)
                result(0, 0, line, "actor %s on %s: %s (%s)", name,
                       bundle_names[b], name_of(codes, rc), err.message);
        }
        return d->made[b];
    }
    result(0, 0, line, "no actor named %s in the table", name);
    return NULL;
}

/* ---- one table line ---- */

/* How a line is marked: not, "bug: " (the whole line is known wrong) or
 * "bug:role " (a case whose role and policy are known wrong). */
enum { BUG_NONE, BUG_LINE, BUG_ROLE };

struct line {
    int no;
    int bug;
    char *tok[MAX_TOK];
    int n;        /* tokens before "->" */
    char *expect; /* the text after "->", trimmed */
};

/* Splits `text` (modified in place) into tokens and the expectation. */
static int split_line(char *text, struct line *l)
{
    char *arrow = strstr(text, " -> ");
    l->n = 0;
    l->expect = NULL;
    if (arrow) {
        *arrow = 0;
        l->expect = arrow + 4;
        while (*l->expect == ' ')
            l->expect++;
        size_t e = strlen(l->expect);
        while (e && (l->expect[e - 1] == ' ' || l->expect[e - 1] == '\n' ||
                     l->expect[e - 1] == '\r'))
            l->expect[--e] = 0;
    }
    char *save = NULL;
    for (char *t = strtok_r(text, " \t\r\n", &save); t && l->n < MAX_TOK;
         t = strtok_r(NULL, " \t\r\n", &save))
        l->tok[l->n++] = t;
    return l->n > 0;
}

/* The expectation's words (split in place). */
static int split_words(char *s, char **w, int cap)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " ", &save); t && n < cap;
         t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    return n;
}

static void describe(const struere_decision *d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s %s %d", d->allowed ? "allow" : "deny",
             name_of(reasons, d->reason), d->role ? d->role : "-", d->policy);
}

/* Decides the line's request: with a record when one is named. */
static int decide(int b, const struere_actor *a, const char *action,
                  const char *resource, const char *rec, struere_decision *d)
{
    if (!rec)
        return struere_decide(d, runtimes[b], a, action, resource, NULL);
    return struere_decide_record(d, runtimes[b], a, action, resource, rec,
                                 strlen(rec), NULL);
}

/* case BUNDLE ACTOR ACTION RESOURCE RECORD -> EXPECT */
static void run_case(struct line *l, int b, const struere_actor *a)
{
    char *w[8], got[256];
    int nw = split_words(l->expect, w, 8);
    const char *rec = record_text(b, l->tok[5]);
    if (strcmp(l->tok[5], "-") && !rec) {
        result(0, 0, l->no, "no record %s", l->tok[5]);
        return;
    }
    struere_decision d;
    memset(&d, 0, sizeof(d));
    int rc = decide(b, a, l->tok[3], l->tok[4], rec, &d);
    if (nw == 2 && !strcmp(w[0], "err")) {
        int want = value_of(codes, w[1], 1);
        if (rc >= 0)
            describe(&d, got, sizeof(got));
        result(rc == want, l->bug, l->no, "%s %s %s %s: want err %s, got %s",
               l->tok[2], l->tok[3], l->tok[4], l->tok[5], w[1],
               rc < 0 ? name_of(codes, rc) : got);
        return;
    }
    if (nw != 4) {
        result(0, 0, l->no, "bad expectation");
        return;
    }
    int allowed = !strcmp(w[0], "allow");
    int reason = value_of(reasons, w[1], -1);
    const char *role = strcmp(w[2], "-") ? w[2] : NULL;
    int policy = atoi(w[3]);
    describe(&d, got, sizeof(got));
    int ok_decision = rc == 0 && d.allowed == allowed && d.reason == reason;
    int ok_role = d.policy == policy &&
                  (role ? d.role && !strcmp(d.role, role) : !d.role);
    /* "bug:role" knows only the role and policy to be wrong: the decision
     * and its reason must still be right. */
    int bug = l->bug == BUG_ROLE ? ok_decision : l->bug;
    result(ok_decision && ok_role, bug, l->no,
           "%s %s %s %s: want %s %s %s %s, got %s%s", l->tok[2], l->tok[3],
           l->tok[4], l->tok[5], w[0], w[1], w[2], w[3], rc < 0 ? "error " : "",
           rc < 0 ? name_of(codes, rc) : got);
}

/* mask|pred BUNDLE ACTOR ACTION RESOURCE -> JSON */
static void run_json_out(struct line *l, int b, const struere_actor *a,
                         int is_mask)
{
    struere_decision d;
    char buf[4096];
    size_t len = 0;
    int rc = struere_decide(&d, runtimes[b], a, l->tok[3], l->tok[4], NULL);
    if (rc == 0)
        rc = is_mask ? struere_mask_json(buf, sizeof(buf), &len, runtimes[b],
                                         &d, NULL)
                     : struere_predicate_json(buf, sizeof(buf), &len,
                                              runtimes[b], &d, NULL);
    if (rc < 0)
        snprintf(buf, sizeof(buf), "error %s", name_of(codes, rc));
    int ok = rc == 0 && !strcmp(buf, l->expect) && len == strlen(buf);
    result(ok, l->bug, l->no, "%s %s %s %s:\n  want %s\n  got  %s", l->tok[0],
           l->tok[2], l->tok[3], l->tok[4], l->expect, buf);
}

/* One CHECK on `out`: PATH=JSON, PATH!, =SAME, =TEXT. Describes a
 * mismatch in `why`. */
static int check_one(const char *out, size_t len, const char *input,
                     const char *check, char *why, size_t cap)
{
    struere_json v;
    if (!strcmp(check, "=SAME")) {
        snprintf(why, cap, "output differs from its input");
        return input && !strcmp(out, input);
    }
    if (check[0] == '=') {
        snprintf(why, cap, "want %s", check + 1);
        return !strcmp(out, check + 1);
    }
    size_t cl = strlen(check);
    if (cl && check[cl - 1] == '!') {
        char path[256];
        snprintf(path, sizeof(path), "%.*s", (int)(cl - 1), check);
        int rc = struere_json_get(&v, out, len, path, NULL);
        snprintf(why, cap, "%s should be absent: %s", path,
                 rc == 0 ? "present" : name_of(codes, rc));
        return rc == STRUERE_ENOTFOUND;
    }
    const char *eq = strchr(check, '=');
    if (!eq) {
        snprintf(why, cap, "bad check %s", check);
        return 0;
    }
    char path[256];
    snprintf(path, sizeof(path), "%.*s", (int)(eq - check), check);
    int rc = struere_json_get(&v, out, len, path, NULL);
    if (rc < 0) {
        snprintf(why, cap, "%s: %s", path, name_of(codes, rc));
        return 0;
    }
    snprintf(why, cap, "%s is %.*s, want %s", path, (int)v.len, v.ptr, eq + 1);
    return strlen(eq + 1) == v.len && !memcmp(v.ptr, eq + 1, v.len);
}

/* Runs the " | "-separated checks of `checks` on `out`. */
static int check_all(const char *out, const char *input, char *checks,
                     char *why, size_t cap)
{
    size_t len = strlen(out);
    char *c = checks;
    while (c && *c) {
        char *bar = strstr(c, " | ");
        if (bar)
            *bar = 0;
        while (*c == ' ')
            c++;
        if (*c && !check_one(out, len, input, c, why, cap))
            return 0;
        c = bar ? bar + 3 : NULL;
    }
    return 1;
}

/* recmask BUNDLE ACTOR ACTION RESOURCE RECORD -> CHECKS | err CODE */
static void run_recmask(struct line *l, int b, const struere_actor *a)
{
    const char *rec = record_text(b, l->tok[5]);
    struere_decision d;
    char buf[8192], why[512] = "";
    size_t len = 0;
    if (!rec) {
        result(0, 0, l->no, "no record %s", l->tok[5]);
        return;
    }
    int rc = struere_decide(&d, runtimes[b], a, l->tok[3], l->tok[4], NULL);
    if (rc == 0)
        rc = struere_record_mask(buf, sizeof(buf), &len, runtimes[b], &d, rec,
                                 strlen(rec), NULL);
    if (!strncmp(l->expect, "err ", 4)) {
        int want = value_of(codes, l->expect + 4, 1);
        result(rc == want, l->bug, l->no, "recmask %s %s %s: want %s, got %s",
               l->tok[2], l->tok[3], l->tok[5], l->expect,
               rc < 0 ? name_of(codes, rc) : buf);
        return;
    }
    if (rc < 0) {
        result(0, l->bug, l->no, "recmask %s %s %s: error %s", l->tok[2],
               l->tok[3], l->tok[5], name_of(codes, rc));
        return;
    }
    int ok =
        len == strlen(buf) && check_all(buf, rec, l->expect, why, sizeof(why));
    result(ok, l->bug, l->no, "recmask %s %s %s: %s\n  got %s", l->tok[2],
           l->tok[3], l->tok[5], why, buf);
}

/* The "_id"s of a JSON array of records, comma-separated ("-": none). */
static void ids_of(const char *out, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0;; i++) {
        char path[32], id[128];
        struere_json v;
        snprintf(path, sizeof(path), "%d._id", i);
        if (struere_json_get(&v, out, strlen(out), path, NULL) < 0 ||
            struere_json_string(id, sizeof(id), NULL, v, NULL) < 0)
            break;
        int w = snprintf(buf + used, cap - used, "%s%s", i ? "," : "", id);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(buf, cap, "-");
}

/* query BUNDLE ACTOR TYPE FILTERS LIMIT -> IDS [reason=R] [| CHECKS] */
static void run_query(struct line *l, int b, const struere_actor *a)
{
    const char *filters = strcmp(l->tok[4], "-") ? l->tok[4] : NULL;
    size_t limit = strtoul(l->tok[5], NULL, 10);
    char *out = NULL, got[2048], why[4096] = "";
    size_t len = 0;
    struere_decision d;
    memset(&d, 0, sizeof(d));
    int rc = struere_query(&out, &len, &d, runtimes[b], a, l->tok[3], filters,
                           filters ? strlen(filters) : 0, limit, NULL);
    char *checks = strstr(l->expect, " | ");
    if (checks) {
        *checks = 0;
        checks += 3;
    }
    char *w[4];
    int nw = split_words(l->expect, w, 4);
    if (nw >= 2 && !strcmp(w[0], "err")) {
        result(rc == value_of(codes, w[1], 1) && !out, l->bug, l->no,
               "query %s %s %s: want %s, got %s", l->tok[2], l->tok[3],
               l->tok[4], w[1], rc < 0 ? name_of(codes, rc) : out);
        struere_free(out);
        return;
    }
    if (rc < 0 || !out) {
        result(0, l->bug, l->no, "query %s %s %s: error %s", l->tok[2],
               l->tok[3], l->tok[4], name_of(codes, rc));
        return;
    }
    ids_of(out, got, sizeof(got));
    int ok = nw >= 1 && !strcmp(got, w[0]) && len == strlen(out);
    if (nw > 2 || (nw == 2 && strncmp(w[1], "reason=", 7))) {
        result(0, 0, l->no, "bad expectation");
        struere_free(out);
        return;
    }
    if (!ok)
        snprintf(why, sizeof(why), "want %s, got %s", nw ? w[0] : "?", got);
    if (ok && nw >= 2 && !strncmp(w[1], "reason=", 7) &&
        d.reason != value_of(reasons, w[1] + 7, -1)) {
        ok = 0;
        snprintf(why, sizeof(why), "want %s, got reason %s", w[1],
                 name_of(reasons, d.reason));
    }
    if (ok && checks)
        ok = check_all(out, NULL, checks, why, sizeof(why));
    result(ok, l->bug, l->no, "query %s %s %s %s: %s", l->tok[2], l->tok[3],
           l->tok[4], l->tok[5], why);
    struere_free(out);
}

/* get BUNDLE ACTOR ID -> ok [| CHECKS] | err CODE [reason=R] */
static void run_get(struct line *l, int b, const struere_actor *a)
{
    char *out = NULL, why[512] = "";
    size_t len = 0;
    struere_decision d;
    memset(&d, 0, sizeof(d));
    int rc =
        struere_get_record(&out, &len, &d, runtimes[b], a, l->tok[3], NULL);
    if (!strncmp(l->expect, "err ", 4)) {
        char *w[4];
        int nw = split_words(l->expect, w, 4);
        if (nw < 2 || nw > 3 || (nw == 3 && strncmp(w[2], "reason=", 7))) {
            result(0, 0, l->no, "bad expectation");
            struere_free(out);
            return;
        }
        int ok = rc == value_of(codes, w[1], 1) && !out;
        if (ok && nw == 3)
            ok = d.reason == value_of(reasons, w[2] + 7, -1);
        result(ok, l->bug, l->no, "get %s %s: want %s %s, got %s reason %s",
               l->tok[2], l->tok[3], w[1], nw >= 3 ? w[2] : "",
               rc < 0 ? name_of(codes, rc) : "a record",
               name_of(reasons, d.reason));
        struere_free(out);
        return;
    }
    if (rc < 0 || !out) {
        result(0, l->bug, l->no, "get %s %s: error %s reason %s", l->tok[2],
               l->tok[3], name_of(codes, rc), name_of(reasons, d.reason));
        return;
    }
    char *checks = strstr(l->expect, " | ");
    int ok = len == strlen(out) &&
             (!checks || check_all(out, NULL, checks + 3, why, sizeof(why)));
    result(ok, l->bug, l->no, "get %s %s: %s\n  got %s", l->tok[2], l->tok[3],
           why, out);
    struere_free(out);
}

/* actorerr BUNDLE TYPE ID ROLES [opts] -> CODE */
static void run_actorerr(struct line *l, int b)
{
    struct actor_def d;
    struere_actor *a = NULL;
    struere_error err = {0};
    if (!parse_actor(&d, l->tok + 2, l->n - 2)) {
        result(0, 0, l->no, "bad actorerr line");
        return;
    }
    int rc = make_actor(runtimes[b], &d, &a, &err);
    int want = value_of(codes, l->expect, 1);
    result(rc == want && !a, l->bug, l->no, "actor %s %s: want %s, got %s",
           l->tok[2], l->tok[3], l->expect, name_of(codes, rc));
    struere_actor_free(a);
}

/* entity BUNDLE ACTOR -> ID|- (struere_actor_entity) */
static void run_entity(struct line *l, const struere_actor *a)
{
    const char *e = struere_actor_entity(a);
    const char *want = strcmp(l->expect, "-") ? l->expect : NULL;
    int ok = want ? e && !strcmp(e, want) : !e;
    result(ok, l->bug, l->no, "entity of %s on %s: want %s, got %s", l->tok[2],
           l->tok[1], l->expect, e ? e : "(null)");
}

/* Runs one parsed line. */
static void run_line(struct line *l)
{
    const char *kind = l->tok[0];
    static const struct {
        const char *kind;
        int tokens;
    } shapes[] = {{"case", 6},  {"mask", 5}, {"pred", 5},  {"recmask", 6},
                  {"query", 6}, {"get", 4},  {"entity", 3}};
    if (!strcmp(kind, "actor")) {
        if (actor_count < MAX_ACTORS && l->n >= 5 &&
            parse_actor(&actors[actor_count], l->tok + 2, l->n - 2)) {
            snprintf(actors[actor_count].name, 64, "%s", l->tok[1]);
            actor_count++;
        } else {
            result(0, 0, l->no, "bad actor line");
        }
        return;
    }
    int b = l->n > 1 ? bundle_index(l->tok[1]) : -1;
    if (b < 0 || !l->expect) {
        result(0, 0, l->no, "bad line (bundle or \"->\")");
        return;
    }
    if (!runtimes[b]) {
        result(0, l->bug, l->no, "bundle %s could not be opened", l->tok[1]);
        return;
    }
    if (!strcmp(kind, "actorerr")) {
        run_actorerr(l, b);
        return;
    }
    size_t i;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (!strcmp(kind, shapes[i].kind))
            break;
    if (i == sizeof(shapes) / sizeof(shapes[0]) || l->n != shapes[i].tokens) {
        result(0, 0, l->no, "bad line (kind or field count)");
        return;
    }
    const struere_actor *a = actor_on(l->tok[2], b, l->no);
    if (!a)
        return;
    if (!strcmp(kind, "case"))
        run_case(l, b, a);
    else if (!strcmp(kind, "mask") || !strcmp(kind, "pred"))
        run_json_out(l, b, a, !strcmp(kind, "mask"));
    else if (!strcmp(kind, "recmask"))
        run_recmask(l, b, a);
    else if (!strcmp(kind, "query"))
        run_query(l, b, a);
    else if (!strcmp(kind, "get"))
        run_get(l, b, a);
    else
        run_entity(l, a);
}

/* Runs every line of the table at `path`; the number of lines run. */
static int run_table(const char *path)
{
    FILE *f = fopen(path, "r");
    char text[MAX_LINE];
    int no = 0, run = 0;
    if (!f) {
        result(0, 0, 0, "cannot open %s", path);
        return 0;
    }
    while (fgets(text, sizeof(text), f)) {
        struct line l;
        char *t = text;
        no++;
        while (*t == ' ' || *t == '\t')
            t++;
        if (*t == '#' || *t == '\n' || !*t)
            continue;
        l.no = no;
        l.bug = BUG_NONE;
        if (!strncmp(t, "bug: ", 5)) {
            l.bug = BUG_LINE;
            t += 5;
        } else if (!strncmp(t, "bug:role ", 9)) {
            l.bug = BUG_ROLE;
            t += 9;
        }
        if (!split_line(t, &l))
            continue;
        run_line(&l);
        run += strcmp(l.tok[0], "actor") != 0;
    }
    fclose(f);
    return run;
}

/* ---- the variant project ---- */

static const char auditor_role[] =
    "name: Auditor\n"
    "slug: auditor\n"
    "description: Decision-table test role.\n"
    "policies:\n"
    "  - {resource: guardian, actions: [list, read], effect: allow}\n"
    "  - {resource: teacher, actions: [list, read], effect: allow}\n"
    "  - {resource: session, actions: [list, read], effect: allow}\n"
    "  - {resource: users, actions: [list, read], effect: allow}\n"
    "scopeRules:\n"
    "  - {entityType: guardian, field: data.userId, operator: eq,\n"
    "     value: actor.userId}\n"
    "  - {entityType: session, field: _id, operator: neq,\n"
    "     value: \"literal:session-lucas-oct07\"}\n"
    "  - {entityType: session, field: status, operator: eq, value: active}\n"
    "  - {entityType: teacher, field: data.bio, operator: contains,\n"
    "     value: PhD}\n"
    "fieldMasks:\n"
    "  - {entityType: teacher, fieldPath: data.phone, maskType: hide}\n"
    "  - {entityType: guardian, fieldPath: data.notes, maskType: redact}\n"
    "  - {entityType: session, fieldPath: data.location.address,\n"
    "     maskType: hide}\n"
    "environments:\n"
    "  production:\n"
    "    policies:\n"
    "      - {resource: teacher, actions: [list, read], effect: allow}\n"
    "      - {resource: guardian, actions: [\"*\"], effect: deny}\n"
    "  eval:\n"
    "    policies:\n"
    "      - {resource: guardian, actions: [list, read], effect: allow}\n"
    "      - {resource: teacher, actions: [list, read], effect: allow}\n"
    "      - {resource: session, actions: [list, read], effect: allow}\n"
    "      - {resource: users, actions: [list, read], effect: allow}\n"
    "      - {resource: progress-report, actions: [list, read],\n"
    "         effect: allow}\n";

static const char auditor_agent[] = "name: Auditor Bot\n"
                                    "slug: auditor-bot\n"
                                    "version: 1.0.0\n"
                                    "description: Decision-table test agent.\n"
                                    "model:\n"
                                    "  model: openai/gpt-5-mini\n"
                                    "tools: [entity.query]\n"
                                    "roles: [auditor]\n"
                                    "systemPrompt: You audit records.\n";

static const char audit_fixture[] = "name: Audit\n"
                                    "slug: audit\n"
                                    "entities:\n"
                                    "  - ref: guardian-bot\n"
                                    "    type: guardian\n"
                                    "    status: active\n"
                                    "    data:\n"
                                    "      userId: auditor-bot\n"
                                    "      name: Bot Family\n"
                                    "      phone: \"+15125550100\"\n"
                                    "      preferredChannel: email\n"
                                    "      notes: Test family.\n";

/* A data type whose slug is as long as a slug may be (128 bytes:
 * compiler/limits.h), and a role granting four actions on it: the
 * policy's text in a reason is then longer than the 159 bytes it is cut
 * to (struere_reason_text). */
#define LONG_SLUG                                                              \
    "long-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"  \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
static const char long_type[] = "name: Long\n"
                                "slug: " LONG_SLUG "\n"
                                "description: The longest slug.\n"
                                "schema:\n"
                                "  type: object\n"
                                "  properties:\n"
                                "    note: {type: string}\n";
static const char long_role[] =
    "name: Long Writer\n"
    "slug: long-writer\n"
    "description: Writes the long type.\n"
    "policies:\n"
    "  - {resource: " LONG_SLUG ",\n"
    "     actions: [create, list, read, update], effect: allow}\n";

/* Copies the example to `tmp`/p, adds the auditor role, agent and fixture
 * and the long type and role, and builds its bundles into `tmp`/out. 0 on
 * success. */
static int build_variant(const char *tmp, const char *example,
                         const char *struere)
{
    char cmd[8192], p[4096];
    snprintf(cmd, sizeof(cmd), "cp -R '%s' '%s/p'", example, tmp);
    if (system(cmd) != 0)
        return -1;
    snprintf(p, sizeof(p), "%s/p", tmp);
    if (engine_write_file(p, "roles/auditor.yaml", auditor_role) < 0 ||
        engine_write_file(p, "agents/auditor-bot.yaml", auditor_agent) < 0 ||
        engine_write_file(p, "fixtures/audit.fixture.yaml", audit_fixture) <
            0 ||
        engine_write_file(p, "data/" LONG_SLUG ".yaml", long_type) < 0 ||
        engine_write_file(p, "roles/long-writer.yaml", long_role) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "'%s' -C '%s/p' build --out '%s/out' >'%s/build.log' 2>&1",
             struere, tmp, tmp, tmp);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "cat '%s/build.log'", tmp);
        if (system(cmd) != 0)
            return -1;
        return -1;
    }
    return 0;
}

/* ---- checks a table line cannot state ---- */

/* A fresh actor on bundle b from the table's definitions. */
static const struere_actor *named(const char *name, int b)
{
    return actor_on(name, b, 0);
}

/* Buffer sizes: STRUERE_ERANGE with the needed length, then the text. */
static void check_ranges(void)
{
    struere_runtime *rt = runtimes[B_EVAL];
    const struere_actor *maria = named("maria", B_EVAL);
    const struere_actor *fd = named("fd", B_EVAL);
    struere_decision d, dm;
    char full[4096], small[4096];
    size_t len = 0, len2 = 0;
    if (!maria || !fd)
        return;
    CHECK(struere_decide(&d, rt, maria, "read", "teacher", NULL) == 0);
    CHECK(struere_mask_json(full, sizeof(full), &len, rt, &d, NULL) == 0);
    CHECKF(struere_mask_json(NULL, 0, &len2, rt, &d, NULL) == STRUERE_ERANGE &&
               len2 == len,
           "mask_json cap 0: len %zu, want %zu", len2, len);
    CHECKF(struere_mask_json(small, len, &len2, rt, &d, NULL) ==
                   STRUERE_ERANGE &&
               len2 == len,
           "mask_json cap len: len %zu", len2);
    CHECKF(struere_mask_json(small, len + 1, &len2, rt, &d, NULL) == 0 &&
               len2 == len && !strcmp(small, full),
           "mask_json cap len+1: %s", small);

    CHECK(struere_decide(&d, rt, maria, "list", "session", NULL) == 0);
    CHECK(struere_predicate_json(full, sizeof(full), &len, rt, &d, NULL) == 0);
    CHECKF(struere_predicate_json(small, 3, &len2, rt, &d, NULL) ==
                   STRUERE_ERANGE &&
               len2 == len,
           "predicate_json cap 3: len %zu, want %zu", len2, len);
    CHECKF(struere_predicate_json(small, len + 1, &len2, rt, &d, NULL) == 0 &&
               !strcmp(small, full),
           "predicate_json cap len+1: %s", small);

    const char *rec = record_text(B_EVAL, "guardian-maria");
    CHECK(rec && struere_decide(&dm, rt, fd, "read", "guardian", NULL) == 0);
    if (!rec)
        return;
    CHECK(struere_record_mask(full, sizeof(full), &len, rt, &dm, rec,
                              strlen(rec), NULL) == 0);
    CHECKF(struere_record_mask(small, len, &len2, rt, &dm, rec, strlen(rec),
                               NULL) == STRUERE_ERANGE &&
               len2 == len,
           "record_mask cap len: len %zu, want %zu", len2, len);
    CHECKF(struere_record_mask(small, len + 1, &len2, rt, &dm, rec, strlen(rec),
                               NULL) == 0 &&
               len2 == len && !strcmp(small, full),
           "record_mask cap len+1");
    /* The record's length, not its NUL, bounds what is read. */
    char *padded = malloc(strlen(rec) + 16);
    if (padded) {
        memcpy(padded, rec, strlen(rec));
        memcpy(padded + strlen(rec), "garbage{", 8);
        CHECKF(struere_record_mask(small, sizeof(small), &len2, rt, &dm, padded,
                                   strlen(rec), NULL) == 0 &&
                   !strcmp(small, full),
               "record_mask reads past len");
        free(padded);
    }
    CHECKF(struere_record_mask(small, sizeof(small), &len2, rt, &dm,
                               "{\"data\":", 8, NULL) == STRUERE_EJSON,
           "record_mask truncated record");

    /* Every fallible call fills a struere_error, last: the code and a
     * message on failure, cleared on success. */
    {
        struere_error e = {.code = 1, .message = "stale"};
        CHECK(struere_decide(&d, rt, maria, "fly", "teacher", &e) ==
                  STRUERE_EINVAL &&
              e.code == STRUERE_EINVAL && e.message[0] != '\0');
        CHECK(struere_decide(&d, rt, maria, "delete", "nosuchtype", &e) ==
                  STRUERE_ENOTFOUND &&
              e.code == STRUERE_ENOTFOUND);
        CHECK(struere_decide(&d, rt, maria, "delete", "teacher", &e) == 0 &&
              e.code == 0 && e.message[0] == '\0');
    }

    /* Reason text: as snprintf, and the header's own example. */
    CHECK(struere_decide(&d, rt, maria, "delete", "teacher", NULL) == 0);
    size_t need = 0, got = 0;
    CHECK(struere_reason_text(NULL, 0, &need, rt, &d, NULL) == STRUERE_ERANGE);
    CHECK(struere_reason_text(full, sizeof(full), &got, rt, &d, NULL) == 0);
    CHECKF(need == got && need == strlen(full) && need > 0,
           "reason_text lengths %zu %zu", need, got);
    CHECKF(strstr(full, "guardian") && strstr(full, "delete"),
           "reason_text names role and action: %s", full);
    /* struere.h's own example is this very decision: the guardian role's
     * seventh policy (index 6), delete on "*". */
    CHECK(d.policy == 6);
    CHECKF(!strcmp(full, "Denied by role 'guardian', policies[6] (deny "
                         "delete on *)"),
           "reason_text: %s", full);
    /* every buffer too small: the text cut as snprintf cuts it, its
     * length counted all the same, and ERANGE */
    int cut_ok = 1;
    for (size_t cap = 0; cap <= need + 1; cap++) {
        char part[512];
        size_t n = 0, kept = cap ? (cap - 1 < need ? cap - 1 : need) : 0;
        memset(part, 'x', sizeof(part));
        int rc = struere_reason_text(part, cap, &n, rt, &d, NULL);
        if (rc != (cap > need ? 0 : STRUERE_ERANGE) || n != need ||
            (cap && (strlen(part) != kept || strncmp(part, full, kept))) ||
            part[cap] != 'x')
            cut_ok = 0;
    }
    CHECK(cut_ok);
    /* a decision made elsewhere, taken apart: written as "%d" and "%s"
     * write them (a NULL role as glibc's "(null)"; no policy to read) */
    struere_decision odd = d;
    odd.role = NULL;
    odd.policy = INT32_MIN; /* int is 32 bits here */
    CHECK(struere_reason_text(full, sizeof(full), &got, rt, &odd, NULL) == 0);
    CHECKF(!strcmp(full, "Denied by role '(null)', policies[-2147483648] (?)"),
           "reason_text: %s", full);
    odd.reason = STRUERE_REASON_ALLOWED;
    odd.role = "guardian";
    odd.policy = 1234567;
    CHECK(struere_reason_text(full, sizeof(full), &got, rt, &odd, NULL) == 0);
    CHECKF(!strcmp(full, "Allowed by role 'guardian', policies[1234567] (?)"),
           "reason_text: %s", full);
    /* a policy's text over 159 bytes is cut there, as it always was:
     * "allow create, read, update, list on " (the actions in the
     * runtime's order) and the 128-byte slug */
    struere_runtime *vrt = runtimes[B_VEVAL];
    const char *long_roles[] = {"long-writer"};
    struere_actor_spec ls = {.type = STRUERE_ACTOR_USER,
                             .id = "u",
                             .roles = long_roles,
                             .role_count = 1};
    struere_actor *la = NULL;
    struere_decision ld;
    int made = vrt && struere_actor_new(&la, vrt, &ls, NULL) == 0;
    CHECK(made);
    int decided =
        made && struere_decide(&ld, vrt, la, "update", LONG_SLUG, NULL) == 0;
    CHECK(decided && ld.allowed);
    if (decided) {
        char want[512];
        snprintf(want, sizeof(want),
                 "Allowed by role 'long-writer', policies[0] (%.159s)",
                 "allow create, read, update, list on " LONG_SLUG);
        CHECK(struere_reason_text(full, sizeof(full), &got, vrt, &ld, NULL) ==
              0);
        CHECKF(!strcmp(full, want) && strlen(want) == 44 + 159 + 1,
               "reason_text: %s", full);
    }
    struere_actor_free(la);
    odd.policy = 0; /* guardian's first policy */
    CHECK(struere_reason_text(full, sizeof(full), &got, rt, &odd, NULL) == 0);
    CHECKF(!strncmp(full, "Allowed by role 'guardian', policies[0] (", 41) &&
               full[strlen(full) - 1] == ')' && !strstr(full, "(?)"),
           "reason_text: %s", full);
}

/* Row visibility under a decision, and decisions refusing bad records. */
static void check_visible(void)
{
    struere_runtime *rt = runtimes[B_EVAL];
    const struere_actor *maria = named("maria", B_EVAL);
    struere_decision d;
    if (!maria)
        return;
    const char *in = record_text(B_EVAL, "session-sofia-sep29");
    const char *out = record_text(B_EVAL, "session-emma-oct01");
    CHECK(struere_decide(&d, rt, maria, "read", "session", NULL) == 0 &&
          d.allowed);
    CHECK(in && struere_record_visible(rt, &d, in, strlen(in), NULL) == 1);
    CHECK(out && struere_record_visible(rt, &d, out, strlen(out), NULL) == 0);
    CHECK(struere_record_visible(rt, &d, "{", 1, NULL) == STRUERE_EJSON);
    CHECK(struere_decide(&d, rt, maria, "delete", "session", NULL) == 0 &&
          !d.allowed);
    CHECK(in && struere_record_visible(rt, &d, in, strlen(in), NULL) == 0);
    CHECK(struere_decide(&d, rt, NULL, "read", "session", NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_decide(&d, rt, maria, NULL, "session", NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_decide(&d, rt, maria, "read", NULL, NULL) == STRUERE_EINVAL);
    CHECK(struere_decide(NULL, rt, maria, "read", "session", NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_decide(&d, rt, maria, "", "session", NULL) == STRUERE_EINVAL);
    CHECK(struere_decide(&d, rt, maria, "read", "", NULL) == STRUERE_ENOTFOUND);
}

/* A record decided out of scope is a deny like any other: nothing to
 * mask, predicate false, nothing visible. */
static void check_out_of_scope(void)
{
    struere_runtime *rt = runtimes[B_EVAL];
    const struere_actor *hh = named("hh", B_EVAL);
    const char *rec = record_text(B_EVAL, "session-emma-oct01");
    struere_decision d;
    char buf[4096];
    size_t len = 0;
    if (!hh || !rec)
        return;
    CHECK(struere_decide_record(&d, rt, hh, "read", "session", rec, strlen(rec),
                                NULL) == 0 &&
          d.reason == STRUERE_REASON_OUT_OF_SCOPE && !d.allowed);
    CHECKF(struere_predicate_json(buf, sizeof(buf), &len, rt, &d, NULL) == 0 &&
               !strcmp(buf, "false"),
           "predicate of an out-of-scope deny: %s", buf);
    CHECKF(struere_mask_json(buf, sizeof(buf), &len, rt, &d, NULL) == 0 &&
               !strcmp(buf, "[]"),
           "mask of an out-of-scope deny: %s", buf);
    CHECK(struere_record_mask(buf, sizeof(buf), &len, rt, &d, rec, strlen(rec),
                              NULL) == STRUERE_EINVAL);
    CHECK(struere_record_visible(rt, &d, rec, strlen(rec), NULL) == 0);
}

/* Records the table cannot write: blanks between tokens, deep nesting. */
static void check_odd_records(void)
{
    struere_runtime *rt = runtimes[B_EVAL];
    const struere_actor *hh = named("hh", B_EVAL);
    const struere_actor *maria = named("maria", B_EVAL);
    struere_decision d;
    char buf[4096];
    size_t len = 0;
    static const char spaced[] = "{ \"data\" : { \"address\" : { \"street\" "
                                 ": \"a\" } ,\n \"name\" : \"n\" } }";
    if (!hh || !maria)
        return;
    CHECK(struere_decide(&d, rt, hh, "read", "student", NULL) == 0);
    int rc = struere_record_mask(buf, sizeof(buf), &len, rt, &d, spaced,
                                 strlen(spaced), NULL);
    struere_json v;
    CHECKF(rc == 0 &&
               struere_json_get(&v, buf, len, "data.address", NULL) ==
                   STRUERE_ENOTFOUND &&
               struere_json_get(&v, buf, len, "data.name", NULL) == 0 &&
               v.len == 3 && !memcmp(v.ptr, "\"n\"", 3),
           "mask of a record with blanks: rc %d, %s", rc, buf);
    static const char spaced_rec[] =
        "{\"_id\": \"g\", \"data\": {\"userId\": \"user_maria_martinez\"}}";
    CHECK(struere_decide_record(&d, rt, maria, "read", "guardian", spaced_rec,
                                strlen(spaced_rec), NULL) == 0 &&
          d.allowed);
    /* 100000 nested arrays: a precise answer, no crash. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    if (!deep)
        return;
    size_t n = (size_t)sprintf(deep, "{\"data\":{\"userId\":");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    memcpy(deep + n + 2 * depth, "}}", 3);
    n += 2 * depth + 2;
    rc =
        struere_decide_record(&d, rt, maria, "read", "guardian", deep, n, NULL);
    CHECKF(rc == STRUERE_EJSON ||
               (rc == 0 && d.reason == STRUERE_REASON_OUT_OF_SCOPE),
           "deep record: rc %d reason %d", rc, d.reason);
    CHECK(struere_decide(&d, rt, hh, "read", "student", NULL) == 0);
    rc = struere_record_mask(buf, sizeof(buf), &len, rt, &d, deep, n, NULL);
    CHECKF(rc == STRUERE_EJSON || rc == STRUERE_ERANGE || rc == 0,
           "deep record mask: rc %d", rc);
    free(deep);
}

/* An actor or decision of one runtime used with another is refused. */
static void check_stale(void)
{
    const struere_actor *alice = named("alice", B_EVAL);
    const struere_actor *fd = named("fd", B_EVAL);
    struere_runtime *prod = runtimes[B_PROD];
    struere_decision d;
    char buf[1024];
    size_t len;
    if (!alice || !fd || !prod)
        return;
    CHECKF(struere_decide(&d, prod, alice, "read", "session", NULL) ==
               STRUERE_EINVAL,
           "an eval actor decided on production");
    const char *rec = record_text(B_EVAL, "session-sofia-sep29");
    CHECKF(rec && struere_decide_record(&d, prod, alice, "read", "session", rec,
                                        strlen(rec), NULL) == STRUERE_EINVAL,
           "an eval actor decided a record on production");
    CHECK(struere_decide(&d, runtimes[B_EVAL], fd, "read", "guardian", NULL) ==
          0);
    CHECKF(struere_mask_json(buf, sizeof(buf), &len, prod, &d, NULL) ==
               STRUERE_EINVAL,
           "mask_json of an eval decision on production");
    CHECKF(struere_predicate_json(buf, sizeof(buf), &len, prod, &d, NULL) ==
               STRUERE_EINVAL,
           "predicate_json of an eval decision on production");
    rec = record_text(B_EVAL, "guardian-maria");
    CHECKF(rec && struere_record_mask(buf, sizeof(buf), &len, prod, &d, rec,
                                      strlen(rec), NULL) == STRUERE_EINVAL,
           "record_mask of an eval decision on production");
    char *out = NULL;
    CHECKF(struere_query(&out, &len, NULL, prod, fd, "guardian", NULL, 0, 0,
                         NULL) < 0 &&
               !out,
           "query with an eval actor on production");
}

/* Fixture data exists only in eval: STRUERE_EENV elsewhere. */
static void check_env(void)
{
    static const char *const who[] = {"office", "admin", "maria"};
    for (int b = B_PROD; b <= B_DEV; b++) {
        for (size_t i = 0; i < 3; i++) {
            const struere_actor *a = named(who[i], b);
            char *out = NULL;
            size_t len = 0;
            if (!a)
                continue;
            int rc = struere_query(&out, &len, NULL, runtimes[b], a, "session",
                                   NULL, 0, 0, NULL);
            CHECKF(rc == STRUERE_EENV && !out, "query on %s by %s: %s",
                   bundle_names[b], who[i], name_of(codes, rc));
            rc = struere_get_record(&out, &len, NULL, runtimes[b], a,
                                    "session-sofia-sep29", NULL);
            CHECKF(rc == STRUERE_EENV && !out, "get_record on %s by %s: %s",
                   bundle_names[b], who[i], name_of(codes, rc));
        }
    }
}

/* Actor specs the table cannot write. */
static void check_actor_specs(void)
{
    struere_runtime *rt = runtimes[B_EVAL];
    const char *roles[STRUERE_MAX_ACTOR_ROLES + 1];
    struere_actor *a = NULL;
    struere_error err;
    for (size_t i = 0; i <= STRUERE_MAX_ACTOR_ROLES; i++)
        roles[i] = "guardian";
    struere_actor_spec s = {STRUERE_ACTOR_USER,
                            "u1",
                            roles,
                            STRUERE_MAX_ACTOR_ROLES + 1,
                            NULL,
                            NULL,
                            0,
                            NULL};
    CHECK(struere_actor_new(&a, rt, &s, &err) == STRUERE_EINVAL && !a);
    s.type = 0;
    s.role_count = 1;
    CHECK(struere_actor_new(&a, rt, &s, &err) == STRUERE_EINVAL && !a);
    s.type = 5;
    CHECK(struere_actor_new(&a, rt, &s, &err) == STRUERE_EINVAL && !a);
    s.type = STRUERE_ACTOR_USER;
    CHECK(struere_actor_new(&a, rt, NULL, &err) == STRUERE_EINVAL);
    CHECK(struere_actor_new(NULL, rt, &s, &err) == STRUERE_EINVAL);
    s.roles = NULL;
    s.role_count = 2;
    CHECK(struere_actor_new(&a, rt, &s, &err) == STRUERE_EINVAL && !a);
    /* The unknown role is named in the error. */
    const char *ghost[] = {"guardian", "ghost-role"};
    s.roles = ghost;
    s.role_count = 2;
    CHECKF(struere_actor_new(&a, rt, &s, &err) == STRUERE_ENOTFOUND &&
               strstr(err.message, "ghost-role"),
           "unknown role: %s", err.message);
}

int main(int argc, char **argv)
{
    char table[4096], tmp[] = "/tmp/decision_test.XXXXXX";
    static const char *const env_of[3] = {"eval", "production", "development"};
    if (argc < 4) {
        printf("usage: decision BUNDLE_DIR STRUERE_BIN EXAMPLE_DIR\n");
        return 2;
    }
    for (int b = 0; b < 3; b++)
        runtimes[b] = engine_open(argv[1], env_of[b]);
    load_records(runtimes[B_EVAL], 0);
    int have_tmp = mkdtemp(tmp) != NULL;
    if (!have_tmp || build_variant(tmp, argv[3], argv[2]) < 0) {
        result(0, 0, 0, "the variant project did not build");
    } else {
        char dir[64];
        snprintf(dir, sizeof(dir), "%s/out", tmp);
        for (int b = 0; b < 3; b++)
            runtimes[B_VEVAL + b] = engine_open(dir, env_of[b]);
        load_records(runtimes[B_VEVAL], 1);
    }
    snprintf(table, sizeof(table), "%s%s", argv[3], TABLE_REL);
    int lines = run_table(table);
    check_ranges();
    check_visible();
    check_out_of_scope();
    check_odd_records();
    check_stale();
    check_env();
    check_actor_specs();
    printf("decision: %d table lines, %d known engine bugs (lines marked "
           "bug:)\n",
           lines, known_bugs);
    for (size_t i = 0; i < actor_count; i++)
        for (int b = 0; b < B_COUNT; b++)
            struere_actor_free(actors[i].made[b]);
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < record_count[s]; i++)
            free(records[s][i].json);
    for (int b = 0; b < B_COUNT; b++)
        struere_runtime_free(runtimes[b]);
    if (have_tmp) {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            printf("note: could not remove %s\n", tmp);
    }
    return ENGINE_DONE("decision");
}
