/*
 * rt.h - what the runtime's modules share: the runtime handle, the model
 * precomputed from a bundle at open (model.c), and the few bundle
 * internals the other modules need. Not installed; struere.h is the API.
 *
 * The core, which links without libgit2 or libsodium (libstruere-core.a):
 * bundle.c (verify, tables), json.c (JSON in place), model.c (precompute
 * at open), runtime.c (the handle, open by file, swap), policy.c (actors,
 * decisions, scope, masks), records.c (eval fixture queries), template.c
 * (system prompts), automation.c (which automations fire). On top of it:
 * keystore.c (open by key, reload: libgit2 + libsodium), trust.c,
 * integrity.c and sha256.c.
 */
#ifndef STRUERE_RT_H
#define STRUERE_RT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rt_json.h"
#include "struere.h"
#include "rt_buf.h"
#include "rt_hex.h"

/* ---- bundle internals (bundle.c) ---- */

/*
 * Verifies `bytes` and opens the bundle on them in place, without a copy.
 * On success the bundle owns them: struere_bundle_free calls
 * release(release_arg) (or nothing when `release` is NULL). On failure
 * nothing is taken and the caller still owns `bytes`.
 */
int rt_bundle_open_owned(struere_bundle **out, const void *bytes, size_t len,
                         int expected_env, void (*release)(void *),
                         void *release_arg, struere_error *err);

/* struere_bundle_entry without checking that the body is well-formed
 * JSON: for the runtime's own readers, which validate what they read as
 * they read it (the model's large data type schemas, the automation
 * index). `kind` must be valid. */
int rt_bundle_body(const struere_bundle *b, int kind, size_t index,
                   const char **slug, const char **body, size_t *body_len);

/* The table index of the entry of `kind` whose slug is the `n` bytes at
 * `slug`: 1 found (index in `*index`), 0 absent. */
int rt_bundle_find(const struere_bundle *b, int kind, const char *slug,
                   size_t n, size_t *index);

/* Fills `*err` (when not NULL) and returns `code`. */
int rt_fail(struere_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void rt_clear(struere_error *err);
/* `rc` as a public call returns it: `*err` cleared when it is not
 * negative, else filled with the code and "NAME: reason". */
static inline int rt_result(struere_error *err, int rc, const char *name)
{
    if (rc >= 0) {
        if (err)
            rt_clear(err);
        return rc;
    }
    return rt_fail(err, rc, "%s: %s", name, struere_strerror(rc));
}
/* The system's reason for errno `e` (thread-safe), in `buf` or static. */
const char *rt_sys_reason(int e, char *buf, size_t n);

/* ---- trust (trust.c) ---- */

/* struere_trust_load, and with `anchor` (the digest of the payload of
 * trust policy `anchor_version` - rt_state.h -; NULL or version 0: none)
 * the chain must contain that policy, and only what follows the later
 * of it and the pinned one is checked. `where` says where the anchor was
 * remembered, for the message. */
int rt_trust_load(struere_trust **out, const void *json, size_t len,
                  const void *pinned, size_t pinned_len,
                  unsigned anchor_version, const unsigned char *anchor,
                  const char *where, struere_error *err);
/* "ed25519:<base64>" into its 32 bytes: 0, or -1 when malformed. */
int rt_pubkey_parse(const char *text, unsigned char pk[32]);
/* 1 when `sig` (a signature object of TRUST.md) is by a key `t` trusts
 * and verifies over the key-record domain and the `n` bytes of
 * `payload`; 0 otherwise. */
int rt_record_signed(const struere_trust *t, struere_json sig,
                     const char *payload, size_t n);

/* ---- output text: rt_buf.h (buf.c) ---- */

/* ---- the model: what answers need, precomputed at open (model.c) ---- */

/* A string of the bundle, decoded when its JSON had escapes (then held in
 * the model's memory). Not NUL-terminated unless said. */
typedef struct rt_str {
    const char *p;
    uint32_t n;
} rt_str;

/* Byte-wise order of two strings (shorter first on a tie), and equality. */
static inline int rt_str_cmp(rt_str a, rt_str b)
{
    int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return c ? c : (a.n > b.n) - (a.n < b.n);
}

static inline int rt_str_eq(rt_str a, rt_str b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

#define RT_ACTION_CREATE 0x01
#define RT_ACTION_READ 0x02
#define RT_ACTION_UPDATE 0x04
#define RT_ACTION_DELETE 0x08
#define RT_ACTION_LIST 0x10
#define RT_ACTION_ALL 0x1f

/* A policy's resource: a data type's table index, or one of these. */
#define RT_RES_ANY ((uint32_t)-1)   /* "*" */
#define RT_RES_USERS ((uint32_t)-2) /* the built-in "users" */
#define RT_RES_NONE ((uint32_t)-3)  /* a slug the bundle has no type for */

typedef struct rt_policy {
    uint32_t resource;
    uint8_t actions; /* RT_ACTION_* bits */
    uint8_t allow;   /* 1 allow, 0 deny */
} rt_policy;

#define RT_OP_EQ 1
#define RT_OP_NEQ 2
#define RT_OP_IN 3
#define RT_OP_CONTAINS 4

#define RT_VAL_LITERAL 1   /* literal:X or any other string: `text` */
#define RT_VAL_USER_ID 2   /* actor.userId */
#define RT_VAL_ORG_ID 3    /* actor.organizationId */
#define RT_VAL_ENTITY_ID 4 /* actor.entityId */
#define RT_VAL_RELATED 5   /* actor.relatedIds:TYPE, `text` = TYPE */

typedef struct rt_rule {
    uint32_t type;  /* data type index (rules for unknown types dropped) */
    uint32_t index; /* in the role's scopeRules, as written */
    uint8_t op;     /* RT_OP_* */
    uint8_t value;  /* RT_VAL_* */
    rt_str field;   /* dot path on the whole record */
    rt_str text;    /* the literal, or the relation type */
    rt_str raw;     /* the value as written, for predicates */
} rt_rule;

typedef struct rt_mask {
    uint32_t type;
    uint32_t index;     /* in the role's fieldMasks, as written */
    uint8_t hide;       /* 1 hide, 0 redact */
    rt_str path;        /* dot path on the whole record */
    rt_str replacement; /* redact: the replacement text (decoded) */
} rt_mask;

/* A role. Compiled when an actor first holds it (rt_model_role); once
 * `compiled` is set the arrays never change until the model is freed. */
typedef struct rt_role {
    const char *slug; /* NUL-terminated, in the bundle */
    int compiled;     /* read and set atomically */
    uint32_t npolicies, nrules, nmasks;
    rt_policy *policies;
    rt_rule *rules;
    rt_mask *masks;
} rt_role;

/* A data type: what actors and records need of it. */
typedef struct rt_type {
    const char *slug;           /* NUL-terminated, in the bundle */
    uint32_t bound_role;        /* role index of boundToRole, or UINT32_MAX */
    rt_str user_id_field;       /* userIdField (default "userId") */
    uint32_t record0, nrecords; /* eval: its records in model->by_type */
} rt_type;

/* An eval fixture record: the entity object of its fixture's body, which
 * holds _id, type, status and data. Its status and data are found once,
 * at open: answers and filters read them on every request. */
typedef struct rt_record {
    rt_str id;           /* _id */
    uint32_t type;       /* data type index */
    struere_json json;   /* the entity object, in the bundle */
    struere_json status; /* its "status" member ({NULL, 0}: none) */
    struere_json data;   /* its "data" member ({NULL, 0}: none) */
} rt_record;

typedef struct rt_relation {
    rt_str from, to, type;
} rt_relation;

/* An automation by the entity type it watches. */
typedef struct rt_auto_key {
    rt_str type;
    uint32_t index; /* in the AUTO table */
} rt_auto_key;

typedef struct rt_model {
    size_t ntypes, nroles;
    rt_type *types;       /* by DATA table index */
    rt_role *roles;       /* by ROLE table index */
    pthread_mutex_t lock; /* compiling roles, from many threads */
    /* automation.c's index, built at the first event (under `lock`):
     * automations by on.entityType (the raw JSON string's bytes), and
     * those whose type could not be read fast (always looked at). */
    int autos_ready; /* read and set atomically */
    struct rt_auto_key *autos;
    size_t nautos;
    uint32_t *autos_always;
    size_t nalways;
    rt_str org_id; /* META organization id (project name when absent) */
    /* eval only */
    size_t nrecords, nrelations;
    rt_record *records; /* fixture order (fixture slug, then entity) */
    uint32_t *by_id;    /* record indexes sorted by id */
    uint32_t *by_type;  /* record indexes grouped by type, fixture order */
    rt_relation *relations;
    void *priv_blocks; /* model.c: decoded strings, compiled roles */
} rt_model;

/* Precomputes the model of a verified bundle. A body that is not what the
 * compiler writes is refused with STRUERE_ECORRUPT naming it. */
int rt_model_build(const struere_bundle *b, rt_model **out, struere_error *err);
void rt_model_free(rt_model *m);

/* Compiles role `index` of the model, once (thread-safe): 0, or
 * STRUERE_ECORRUPT/STRUERE_ENOMEM naming the role. */
int rt_model_role(const struere_bundle *b, rt_model *m, uint32_t index,
                  struere_error *err);

/* The data type index of `slug` (`n` bytes), or RT_RES_NONE. */
uint32_t rt_model_type(const struere_bundle *b, const char *slug, size_t n);

/* The record with id `id` (`n` bytes), or NULL. */
const rt_record *rt_model_record(const rt_model *m, const char *id, size_t n);

/* ---- the runtime handle (runtime.c) ---- */

struct rt_keystore; /* keystore.c: the store and key a runtime came from */

/*
 * The core (this handle, bundle, model, policy, records, templates,
 * automations, JSON) links without libgit2 or libsodium; opening by key
 * (keystore.c, trust.c) sits on top of it and attaches its part, `ks`,
 * with the function that frees it, so the core never calls up into it.
 */
struct struere_runtime {
    struere_bundle *bundle;
    rt_model *model;
    int env;
    unsigned generation;    /* bumped by each swap; actors remember theirs */
    char commit[41];        /* "" when opened from a file */
    uint64_t sequence;      /* the promotion statement's, 0 when none needed */
    struct rt_keystore *ks; /* owned; NULL from a file */
    void (*ks_free)(struct rt_keystore *ks); /* keystore.c's, frees `ks` */
};

/* A runtime on the verified bundle `b` (taken on success only). */
int rt_runtime_new(struere_runtime **out, struere_bundle *b,
                   struere_error *err);

/* Builds the model of `b` and, only when that succeeds, swaps it in place
 * of the runtime's bundle (taken on success only). */
int rt_runtime_swap(struere_runtime *rt, struere_bundle *b, struere_error *err);

/* The key checks of an open, on keys.json text in memory: the key's form,
 * its record found by SHA-256 (constant time), prefix against record,
 * revoked, expired at `now`. The environment in `*env`. For the key
 * parser's fuzz target; opening a store runs the same functions. */
int rt_key_check(const char *keys_json, size_t len, const char *key,
                 int64_t now, int *env, struere_error *err);

/* ---- actors (policy.c), shared with records.c and template.c ---- */

struct struere_actor {
    const struere_runtime *rt;
    unsigned generation;
    int type;
    size_t nroles;
    uint32_t roles[STRUERE_MAX_ACTOR_ROLES]; /* role indexes */
    rt_str user_id;
    rt_str org_id;
    int has_entity;
    rt_str entity_id;
    size_t nrelated;
    struere_related *related; /* owned copies */
    char *text;               /* the copied strings */
};

/* How a decision was made, kept in struere_decision's opaque bytes
 * (copied in and out: the bytes are not a declared rt_dstate). */
typedef struct rt_dstate {
    const struere_actor *actor;
    uint64_t granting;   /* bit i: the actor's role i granted */
    uint32_t resource;   /* data type index or RT_RES_* */
    unsigned generation; /* the actor's, when decided */
    int action;          /* RT_ACTION_* bit; 0 when not decided */
} rt_dstate;

_Static_assert(sizeof(rt_dstate) <= sizeof(((struere_decision *)0)->opaque),
               "struere_decision's opaque bytes hold an rt_dstate");

/* The state of `d` (zeros when `d` is NULL), and storing one in `d`. */
static inline rt_dstate rt_dstate_get(const struere_decision *d)
{
    rt_dstate s = {0};
    if (d)
        memcpy(&s, d->opaque.bytes, sizeof(s));
    return s;
}

static inline void rt_dstate_put(struere_decision *d, const rt_dstate *s)
{
    memcpy(d->opaque.bytes, s, sizeof(*s));
}

/* The record `rec` (a JSON object the runtime made from its bundle, so
 * valid) with the decision's field masks applied, appended to `b`
 * (policy.c; used by records.c). */
int rt_mask_record(const struere_runtime *rt, const struere_actor *a,
                   const struere_decision *d, struere_json rec, rt_buf *b);

#endif
