/*
 * model.c - precomputes, once per opened bundle, what answers need: each
 * role's policies, scope rules and masks with resources and entity types
 * resolved to data type indexes; each data type's role binding; in eval,
 * the fixture records indexed by id and by type, and their relations.
 * Strings point into the bundle; only strings whose JSON has escapes are
 * decoded into the model's own memory. Bodies are canonical JSON with
 * sorted keys, so members are found with rt_json_member_sorted, which
 * stops at the first key past the one wanted (a body with unsorted keys
 * reads as missing members: refused or ignored, never read out of
 * bounds). Bodies are untrusted (a bundle can
 * be crafted with valid checksums): a body that is not what the compiler
 * writes is refused, naming it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_bundle_trust.h"

/* Decoded strings, and the arrays of compiled roles, live in blocks that
 * never move, freed with the model. */
typedef struct text_block {
    struct text_block *next;
    size_t used, cap;
    max_align_t data[];
} text_block;

typedef struct builder {
    const struere_bundle *b;
    rt_model *m;
    text_block **blocks; /* the model's blocks (decoded strings, roles) */
    /* the role being compiled */
    rt_policy *policies;
    rt_rule *rules;
    rt_mask *masks;
    size_t npolicies, cap_policies;
    size_t nrules, cap_rules;
    size_t nmasks, cap_masks;
    uint32_t seen_rules, seen_masks; /* read so far, dropped ones too */
    size_t cap_records, cap_relations;
    struere_error *err;
    const char *kind, *slug; /* the body being read, for messages */
} builder;

static int corrupt(builder *bd, const char *what)
{
    return rt_fail(bd->err, STRUERE_ECORRUPT, "%s '%s' in the bundle: %s",
                   bd->kind, bd->slug, what);
}

static int nomem(builder *bd)
{
    return rt_fail(bd->err, STRUERE_ENOMEM, "out of memory reading %s '%s'",
                   bd->kind, bd->slug);
}

/* Room for `n` more items of `size` in *arr (holding *len of *cap). */
static int grow(void **arr, size_t *cap, size_t len, size_t n, size_t size)
{
    if (len + n <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < len + n)
        c *= 2;
    void *p = realloc(*arr, c * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

/* n bytes aligned to `align` (a power of two, at most a block's own
 * alignment) in the model's blocks, or NULL when out of memory. What a
 * model keeps for its life is taken here rather than malloc'd one piece
 * at a time: a role compiled while a request's transient memory is in
 * the heap would otherwise leave its few small arrays among freed pages,
 * and keep those pages resident (serve at 10,000 definitions: 6.7 MiB
 * more resident after the dashboard's access matrix had compiled every
 * role of one bundle, freed memory returned; the allocations still live
 * had grown by 0.4 MB). */
static void *block_take(builder *bd, size_t n, size_t align)
{
    text_block *t = *bd->blocks;
    size_t at = t ? (t->used + align - 1) & ~(align - 1) : 0;
    if (!t || at > t->cap || t->cap - at < n) {
        size_t cap = n > 65536 ? n : 65536;
        t = malloc(sizeof(*t) + cap);
        if (!t)
            return NULL;
        t->used = 0;
        t->cap = cap;
        t->next = *bd->blocks;
        *bd->blocks = t;
        at = 0;
    }
    t->used = at + n;
    return (char *)t->data + at;
}

/* The JSON string `s` as an rt_str: in place when it has no escape, else
 * decoded into the model's blocks (NUL-terminated there). */
static int str_of(builder *bd, struere_json s, rt_str *out)
{
    if (rt_json_kind(s) != STRUERE_JSON_STRING)
        return corrupt(bd, "a string was expected");
    if (!memchr(s.ptr + 1, '\\', s.len - 2)) {
        if (s.len - 2 > UINT32_MAX)
            return corrupt(bd, "a string is too long");
        out->p = s.ptr + 1;
        out->n = (uint32_t)(s.len - 2);
        return 0;
    }
    size_t n = rt_json_str_len(s);
    char *p = block_take(bd, n + 1, 1);
    if (!p)
        return nomem(bd);
    rt_json_str_decode(s, p);
    if (memchr(p, 0, n) || n > UINT32_MAX)
        return corrupt(bd, "a string holds a NUL");
    out->p = p;
    out->n = (uint32_t)n;
    return 0;
}

/* The member `key` of `obj` that must be a string. */
static int member_str(builder *bd, struere_json obj, const char *key,
                      rt_str *out)
{
    struere_json v;
    int rc = rt_json_member_sorted(obj, key, strlen(key), &v);
    if (rc < 0)
        return corrupt(bd, "invalid JSON");
    if (rc == 0) {
        char what[80];
        snprintf(what, sizeof(what), "'%s' is missing", key);
        return corrupt(bd, what);
    }
    return str_of(bd, v, out);
}

/* The body of entry `i` of `kind` as one valid JSON object. */
static int body_of(builder *bd, int kind, size_t i, struere_json *out)
{
    const char *slug, *body;
    size_t len;
    rt_bundle_body(bd->b, kind, i, &slug, &body, &len);
    bd->kind = struere_kind_name(kind);
    bd->slug = slug;
    /* Not validated whole here (data type schemas are large): what is
     * read is validated as it is read. */
    if (len < 2 || body[0] != '{')
        return corrupt(bd, "the body is not a JSON object");
    out->ptr = body;
    out->len = len;
    return 0;
}

uint32_t rt_model_type(const struere_bundle *b, const char *slug, size_t n)
{
    size_t index;
    if (rt_bundle_find(b, STRUERE_KIND_DATA, slug, n, &index) &&
        index < RT_RES_NONE)
        return (uint32_t)index;
    return RT_RES_NONE;
}

static uint32_t type_of(builder *bd, rt_str s)
{
    return rt_model_type(bd->b, s.p, s.n);
}

static int str_is(rt_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* An array member of `obj` (absent: empty). */
static int member_array(builder *bd, struere_json obj, const char *key,
                        rt_json_it *it)
{
    struere_json v;
    int rc = rt_json_member_sorted(obj, key, strlen(key), &v);
    if (rc < 0)
        return corrupt(bd, "invalid JSON");
    if (rc == 0)
        v = (struere_json){"[]", 2};
    if (rt_json_iter(v, STRUERE_JSON_ARRAY, it) < 0) {
        char what[80];
        snprintf(what, sizeof(what), "'%s' is not an array", key);
        return corrupt(bd, what);
    }
    return 0;
}

static int read_policy(builder *bd, struere_json p)
{
    rt_str res, effect, a;
    rt_json_it it;
    struere_json v;
    int rc;
    if (rt_json_kind(p) != STRUERE_JSON_OBJECT)
        return corrupt(bd, "a policy is not an object");
    if (member_str(bd, p, "resource", &res) < 0 ||
        member_str(bd, p, "effect", &effect) < 0 ||
        member_array(bd, p, "actions", &it) < 0)
        return STRUERE_ECORRUPT;
    rt_policy pol = {0};
    if (str_is(res, "*"))
        pol.resource = RT_RES_ANY;
    else if (str_is(res, "users"))
        pol.resource = RT_RES_USERS;
    else
        pol.resource = type_of(bd, res);
    if (str_is(effect, "allow"))
        pol.allow = 1;
    else if (!str_is(effect, "deny"))
        return corrupt(bd, "a policy's effect is neither allow nor deny");
    static const char *const names[] = {"create", "read", "update", "delete",
                                        "list"};
    while ((rc = rt_json_next(&it, NULL, &v)) == 1) {
        if (str_of(bd, v, &a) < 0)
            return STRUERE_ECORRUPT;
        if (str_is(a, "*"))
            pol.actions |= RT_ACTION_ALL;
        for (unsigned k = 0; k < 5; k++)
            if (str_is(a, names[k]))
                pol.actions |= (uint8_t)(1u << k);
    }
    if (rc < 0)
        return corrupt(bd, "invalid JSON in a policy");
    if (grow((void **)&bd->policies, &bd->cap_policies, bd->npolicies, 1,
             sizeof(rt_policy)) < 0)
        return nomem(bd);
    bd->policies[bd->npolicies++] = pol;
    return 0;
}

static int read_rule(builder *bd, struere_json r)
{
    rt_str type, op, value;
    rt_rule rule = {0};
    rule.index = bd->seen_rules++;
    if (rt_json_kind(r) != STRUERE_JSON_OBJECT)
        return corrupt(bd, "a scope rule is not an object");
    if (member_str(bd, r, "entityType", &type) < 0 ||
        member_str(bd, r, "field", &rule.field) < 0 ||
        member_str(bd, r, "operator", &op) < 0 ||
        member_str(bd, r, "value", &value) < 0)
        return STRUERE_ECORRUPT;
    rule.type = type_of(bd, type);
    if (rule.type == RT_RES_NONE)
        return 0; /* a rule for a type the bundle lacks applies to nothing */
    if (str_is(op, "eq"))
        rule.op = RT_OP_EQ;
    else if (str_is(op, "neq"))
        rule.op = RT_OP_NEQ;
    else if (str_is(op, "in"))
        rule.op = RT_OP_IN;
    else if (str_is(op, "contains"))
        rule.op = RT_OP_CONTAINS;
    else
        return corrupt(bd, "a scope rule has an unknown operator");
    rule.raw = value;
    static const char related[] = "actor.relatedIds:";
    static const char literal[] = "literal:";
    if (str_is(value, "actor.userId")) {
        rule.value = RT_VAL_USER_ID;
    } else if (str_is(value, "actor.organizationId")) {
        rule.value = RT_VAL_ORG_ID;
    } else if (str_is(value, "actor.entityId")) {
        rule.value = RT_VAL_ENTITY_ID;
    } else if (value.n >= sizeof(related) - 1 &&
               memcmp(value.p, related, sizeof(related) - 1) == 0) {
        rule.value = RT_VAL_RELATED;
        rule.text.p = value.p + sizeof(related) - 1;
        rule.text.n = value.n - (uint32_t)(sizeof(related) - 1);
    } else if (value.n >= sizeof(literal) - 1 &&
               memcmp(value.p, literal, sizeof(literal) - 1) == 0) {
        rule.value = RT_VAL_LITERAL;
        rule.text.p = value.p + sizeof(literal) - 1;
        rule.text.n = value.n - (uint32_t)(sizeof(literal) - 1);
    } else {
        /* Struere uses any other value verbatim as a literal. */
        rule.value = RT_VAL_LITERAL;
        rule.text = value;
    }
    if (grow((void **)&bd->rules, &bd->cap_rules, bd->nrules, 1,
             sizeof(rt_rule)) < 0)
        return nomem(bd);
    bd->rules[bd->nrules++] = rule;
    return 0;
}

static int read_mask(builder *bd, struere_json f)
{
    rt_str type, kind;
    rt_mask mask = {0};
    struere_json cfg, rep;
    mask.index = bd->seen_masks++;
    if (rt_json_kind(f) != STRUERE_JSON_OBJECT)
        return corrupt(bd, "a field mask is not an object");
    if (member_str(bd, f, "entityType", &type) < 0 ||
        member_str(bd, f, "fieldPath", &mask.path) < 0 ||
        member_str(bd, f, "maskType", &kind) < 0)
        return STRUERE_ECORRUPT;
    mask.type = type_of(bd, type);
    if (mask.type == RT_RES_NONE)
        return 0;
    if (str_is(kind, "hide"))
        mask.hide = 1;
    else if (!str_is(kind, "redact"))
        return corrupt(bd, "a field mask has an unknown maskType");
    mask.replacement.p = "[redacted]";
    mask.replacement.n = 10;
    int rc = rt_json_member_sorted(f, "maskConfig", 10, &cfg);
    if (rc < 0)
        return corrupt(bd, "invalid JSON in a field mask");
    if (rc == 1) {
        rc = rt_json_member_sorted(cfg, "replacement", 11, &rep);
        if (rc < 0)
            return corrupt(bd, "invalid JSON in a field mask");
        if (rc == 1 && str_of(bd, rep, &mask.replacement) < 0)
            return STRUERE_ECORRUPT;
    }
    if (grow((void **)&bd->masks, &bd->cap_masks, bd->nmasks, 1,
             sizeof(rt_mask)) < 0)
        return nomem(bd);
    bd->masks[bd->nmasks++] = mask;
    return 0;
}

/* Calls fn on each element of the array `key` of `obj`. */
/* Calls fn on each element of the array `arr`. */
static int each_of(builder *bd, struere_json arr, const char *key,
                   int (*fn)(builder *, struere_json))
{
    rt_json_it it;
    struere_json v;
    int rc;
    if (rt_json_iter(arr, STRUERE_JSON_ARRAY, &it) < 0) {
        char what[80];
        snprintf(what, sizeof(what), "'%s' is not an array", key);
        return corrupt(bd, what);
    }
    while ((rc = rt_json_next(&it, NULL, &v)) == 1)
        if ((rc = fn(bd, v)) < 0)
            return rc;
    if (rc < 0)
        return corrupt(bd, "invalid JSON");
    return 0;
}

/* Calls fn on each element of the array `key` of `obj` (absent: none). */
static int each(builder *bd, struere_json obj, const char *key,
                int (*fn)(builder *, struere_json))
{
    struere_json v;
    int rc = rt_json_member_sorted(obj, key, strlen(key), &v);
    if (rc < 0)
        return corrupt(bd, "invalid JSON");
    return rc == 0 ? 0 : each_of(bd, v, key, fn);
}

/* A role's policies, scope rules and masks, in one pass over its body. */
static int read_role_body(builder *bd, struere_json body)
{
    static const struct {
        const char *key;
        int (*fn)(builder *, struere_json);
    } parts[] = {{"fieldMasks", read_mask},
                 {"policies", read_policy},
                 {"scopeRules", read_rule}};
    rt_json_it it;
    struere_json k, v;
    int rc;
    rt_json_iter(body, STRUERE_JSON_OBJECT, &it);
    while ((rc = rt_json_next(&it, &k, &v)) == 1)
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
            if (rt_json_str_eq(k, parts[i].key, strlen(parts[i].key)) &&
                (rc = each_of(bd, v, parts[i].key, parts[i].fn)) < 0)
                return rc;
    return rc < 0 ? corrupt(bd, "invalid JSON") : 0;
}

/* The array `p` of `n` items of `size` (aligned to `align`), moved into
 * the model's blocks (NULL when empty); *failed set when out of memory.
 * p is freed. */
static void *keep(builder *bd, void *p, size_t n, size_t align, size_t size,
                  bool *failed)
{
    void *q = n ? block_take(bd, n * size, align) : NULL;
    if (q)
        memcpy(q, p, n * size);
    else if (n)
        *failed = true;
    free(p);
    return q;
}

/* Compiles role `index`: its policies, scope rules and masks. Called
 * with the model's lock held. */
static int compile_role(builder *bd, size_t index)
{
    struere_json body;
    int rc = body_of(bd, STRUERE_KIND_ROLE, index, &body);
    if (rc == 0)
        rc = read_role_body(bd, body);
    if (rc < 0) {
        free(bd->policies);
        free(bd->rules);
        free(bd->masks);
        return rc;
    }
    /* A role lives as long as the runtime: keep exactly what it holds.
     * Nothing of the role changes unless all of it is kept (it is then
     * compiled again by the next actor that holds it). */
    bool failed = false;
    rt_policy *policies = keep(bd, bd->policies, bd->npolicies,
                               _Alignof(rt_policy), sizeof(rt_policy), &failed);
    rt_rule *rules = keep(bd, bd->rules, bd->nrules, _Alignof(rt_rule),
                          sizeof(rt_rule), &failed);
    rt_mask *masks = keep(bd, bd->masks, bd->nmasks, _Alignof(rt_mask),
                          sizeof(rt_mask), &failed);
    if (failed)
        return nomem(bd);
    rt_role *r = &bd->m->roles[index];
    r->policies = policies;
    r->npolicies = (uint32_t)bd->npolicies;
    r->rules = rules;
    r->nrules = (uint32_t)bd->nrules;
    r->masks = masks;
    r->nmasks = (uint32_t)bd->nmasks;
    return 0;
}

int rt_model_role(const struere_bundle *b, rt_model *m, uint32_t index,
                  struere_error *err)
{
    rt_role *r = &m->roles[index];
    if (__atomic_load_n(&r->compiled, __ATOMIC_ACQUIRE))
        return 0;
    pthread_mutex_lock(&m->lock);
    int rc = 0;
    if (!r->compiled) {
        builder bd = {0};
        bd.b = b;
        bd.m = m;
        bd.err = err;
        bd.blocks = (text_block **)&m->priv_blocks;
        rc = compile_role(&bd, index);
        if (rc == 0)
            __atomic_store_n(&r->compiled, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int read_types(builder *bd)
{
    rt_model *m = bd->m;
    for (size_t i = 0; i < m->ntypes; i++) {
        struere_json body, v;
        int rc = body_of(bd, STRUERE_KIND_DATA, i, &body);
        if (rc < 0)
            return rc;
        rt_type *t = &m->types[i];
        t->slug = bd->slug;
        t->bound_role = UINT32_MAX;
        t->user_id_field.p = "userId";
        t->user_id_field.n = 6;
        rc = rt_json_member_sorted(body, "boundToRole", 11, &v);
        if (rc < 0)
            return corrupt(bd, "invalid JSON");
        if (rc == 1) {
            rt_str role;
            size_t index;
            if (str_of(bd, v, &role) < 0)
                return STRUERE_ECORRUPT;
            if (rt_bundle_find(bd->b, STRUERE_KIND_ROLE, role.p, role.n,
                               &index))
                t->bound_role = (uint32_t)index;
            rc = rt_json_member_sorted(body, "userIdField", 11, &v);
            if (rc < 0)
                return corrupt(bd, "invalid JSON");
            if (rc == 1 && str_of(bd, v, &t->user_id_field) < 0)
                return STRUERE_ECORRUPT;
        }
    }
    return 0;
}

static int read_entity(builder *bd, struere_json e)
{
    rt_model *m = bd->m;
    rt_str type;
    rt_record rec;
    if (rt_json_kind(e) != STRUERE_JSON_OBJECT)
        return corrupt(bd, "an entity is not an object");
    if (member_str(bd, e, "_id", &rec.id) < 0 ||
        member_str(bd, e, "type", &type) < 0)
        return STRUERE_ECORRUPT;
    rec.type = type_of(bd, type);
    if (rec.type == RT_RES_NONE)
        return corrupt(bd, "an entity's type is not a data type");
    rec.json = e;
    rec.status = rec.data = (struere_json){NULL, 0};
    if (rt_json_member(e, "status", 6, &rec.status) < 0 ||
        rt_json_member(e, "data", 4, &rec.data) < 0)
        return corrupt(bd, "invalid JSON");
    if (grow((void **)&m->records, &bd->cap_records, m->nrecords, 1,
             sizeof(rt_record)) < 0)
        return nomem(bd);
    m->records[m->nrecords++] = rec;
    return 0;
}

static int read_relation(builder *bd, struere_json r)
{
    rt_model *m = bd->m;
    rt_relation rel;
    if (rt_json_kind(r) != STRUERE_JSON_OBJECT)
        return corrupt(bd, "a relation is not an object");
    if (member_str(bd, r, "from", &rel.from) < 0 ||
        member_str(bd, r, "to", &rel.to) < 0 ||
        member_str(bd, r, "type", &rel.type) < 0)
        return STRUERE_ECORRUPT;
    if (grow((void **)&m->relations, &bd->cap_relations, m->nrelations, 1,
             sizeof(rt_relation)) < 0)
        return nomem(bd);
    m->relations[m->nrelations++] = rel;
    return 0;
}

/* A record's id with its index: what the id index is sorted from. */
typedef struct id_at {
    rt_str id;
    uint32_t at;
} id_at;

static int id_at_cmp(const void *x, const void *y)
{
    const id_at *a = x, *b = y;
    int c = rt_str_cmp(a->id, b->id);
    return c ? c : (a->at > b->at) - (a->at < b->at);
}

static int read_fixtures(builder *bd)
{
    rt_model *m = bd->m;
    size_t n = struere_bundle_count(bd->b, STRUERE_KIND_FIXTURE);
    for (size_t i = 0; i < n; i++) {
        struere_json body;
        int rc = body_of(bd, STRUERE_KIND_FIXTURE, i, &body);
        if (rc < 0 || (rc = each(bd, body, "entities", read_entity)) < 0 ||
            (rc = each(bd, body, "relations", read_relation)) < 0)
            return rc;
    }
    bd->kind = "fixture";
    bd->slug = "*";
    size_t nr = m->nrecords ? m->nrecords : 1;
    m->by_id = malloc(nr * sizeof(uint32_t));
    m->by_type = malloc(nr * sizeof(uint32_t));
    if (!m->by_id || !m->by_type)
        return nomem(bd);
    id_at *ids = malloc(nr * sizeof(id_at));
    if (!ids)
        return nomem(bd);
    for (size_t i = 0; i < m->nrecords; i++) {
        ids[i].id = m->records[i].id;
        ids[i].at = (uint32_t)i;
        m->types[m->records[i].type].nrecords++;
    }
    qsort(ids, m->nrecords, sizeof(id_at), id_at_cmp);
    for (size_t i = 0; i < m->nrecords; i++)
        m->by_id[i] = ids[i].at;
    free(ids);
    uint32_t at = 0;
    for (size_t t = 0; t < m->ntypes; t++) {
        m->types[t].record0 = at;
        at += m->types[t].nrecords;
        m->types[t].nrecords = 0;
    }
    for (size_t i = 0; i < m->nrecords; i++) {
        rt_type *t = &m->types[m->records[i].type];
        m->by_type[t->record0 + t->nrecords++] = (uint32_t)i;
    }
    return 0;
}

const rt_record *rt_model_record(const rt_model *m, const char *id, size_t n)
{
    rt_str want = {id, (uint32_t)n};
    size_t lo = 0, hi = m->nrecords;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const rt_record *r = &m->records[m->by_id[mid]];
        int c = rt_str_cmp(r->id, want);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->nrecords && rt_str_cmp(m->records[m->by_id[lo]].id, want) == 0)
        return &m->records[m->by_id[lo]];
    return NULL;
}

/* rt_model_build; an eval bundle's fixtures only when `fixtures`. */
static int model_build(const struere_bundle *b, rt_model **out,
                       struere_error *err, bool fixtures)
{
    builder bd = {0};
    struere_bundle_info info;
    *out = NULL;
    rt_model *m = calloc(1, sizeof(*m));
    if (!m)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory opening a bundle");
    bd.b = b;
    bd.m = m;
    bd.err = err;
    m->ntypes = struere_bundle_count(b, STRUERE_KIND_DATA);
    m->nroles = struere_bundle_count(b, STRUERE_KIND_ROLE);
    m->types = calloc(m->ntypes ? m->ntypes : 1, sizeof(rt_type));
    m->roles = calloc(m->nroles ? m->nroles : 1, sizeof(rt_role));
    struere_bundle_get_info(&info, b, NULL);
    m->org_id.p =
        info.organization_id[0] ? info.organization_id : info.project_name;
    m->org_id.n = (uint32_t)strlen(m->org_id.p);
    int rc = 0;
    bd.blocks = (text_block **)&m->priv_blocks;
    pthread_mutex_init(&m->lock, NULL);
    if (!m->types || !m->roles)
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory opening a bundle");
    /* Roles are compiled when an actor first holds one (rt_model_role):
     * opening costs the same whatever the number of roles. */
    for (size_t i = 0; rc == 0 && i < m->nroles; i++)
        struere_bundle_entry(&m->roles[i].slug, NULL, NULL, b,
                             STRUERE_KIND_ROLE, i, NULL);
    if (rc == 0)
        rc = read_types(&bd);
    if (rc == 0 && fixtures && info.environment == STRUERE_ENV_EVAL)
        rc = read_fixtures(&bd);
    if (rc < 0) {
        rt_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int rt_model_build(const struere_bundle *b, rt_model **out, struere_error *err)
{
    return model_build(b, out, err, true);
}

int rt_bundle_roles_check(const struere_bundle *b, struere_error *err)
{
    rt_model *m;
    /* roles name data types, never fixture records */
    int rc = model_build(b, &m, err, false);
    for (size_t i = 0; rc == 0 && i < m->nroles; i++)
        rc = rt_model_role(b, m, (uint32_t)i, err);
    rt_model_free(m);
    return rc;
}

void rt_model_free(rt_model *m)
{
    if (!m)
        return;
    for (text_block *t = m->priv_blocks, *next; t; t = next) {
        next = t->next;
        free(t);
    }
    free(m->autos);
    free(m->autos_always);
    pthread_mutex_destroy(&m->lock);
    free(m->types);
    free(m->roles);
    free(m->records);
    free(m->by_id);
    free(m->by_type);
    free(m->relations);
    free(m);
}
