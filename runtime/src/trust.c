/*
 * trust.c - the reader and verifier of runtime/TRUST.md: trust policies
 * (a chain, each change signed by the keys the policy before it trusted),
 * promotion statements (who approved which commit of an environment) and
 * the signatures of API key records. Ed25519 through libsodium. The
 * struere command verifies with these functions too; it only writes.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "sha256.h"

#define TRUST_LIMIT ((size_t)1 << 20) /* trust.json, a statement */
#define CHAIN_MAX 1000
#define SIGNATURES_MAX 64
#define NAME_MAX_LEN 64
#define PUBKEY_PREFIX "ed25519:"

static const char domain_policy[] = "struere-trust-policy/1\n";
static const char domain_statement[] = "struere-promotion/1\n";
static const char domain_record[] = "struere-key-record/1\n";

struct trust_key {
    char name[NAME_MAX_LEN + 1];
    char text[64]; /* "ed25519:" + 44 base64 characters */
    unsigned char pk[32];
};

struct struere_trust {
    unsigned version;
    int require[4]; /* by STRUERE_ENV_* */
    size_t nkeys;
    struct trust_key keys[STRUERE_TRUST_MAX_KEYS];
    unsigned char digest[32]; /* SHA-256 of the policy's payload */
};

/* ---- small readers ---- */

/* A JSON string decoded into a new NUL-terminated buffer (*out, *n), or
 * -1 when `v` is not a string or memory runs out. */
static int str_dup(struere_json v, char **out, size_t *n)
{
    if (rt_json_kind(v) != STRUERE_JSON_STRING)
        return -1;
    size_t len = rt_json_str_len(v);
    char *p = malloc(len + 1);
    if (!p)
        return -1;
    *n = rt_json_str_decode(v, p);
    *out = p;
    return 0;
}

/* A JSON string decoded into `buf` (`cap` bytes with the NUL): 0, or -1
 * when it is not a string, too long or holds a NUL. */
static int str_get(struere_json v, char *buf, size_t cap)
{
    if (rt_json_kind(v) != STRUERE_JSON_STRING || rt_json_str_len(v) >= cap)
        return -1;
    size_t n = rt_json_str_decode(v, buf);
    return strlen(buf) == n ? 0 : -1;
}

/* A non-negative integer written in plain digits, at most 2^53. */
static int uint_get(struere_json v, uint64_t *out)
{
    if (rt_json_kind(v) != STRUERE_JSON_NUMBER || v.len == 0 || v.len > 16)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    if (v.len > 1 && v.ptr[0] == '0')
        return -1;
    if (x > ((uint64_t)1 << 53))
        return -1;
    *out = x;
    return 0;
}

/* The member `key` of obj, which must be there once: a trust document
 * whose key is named twice is read one way here and another by jansson
 * (which keeps the last), so that what a signer was shown is not what
 * the runtime reads; it is refused as malformed. */
static int member(struere_json obj, const char *key, struere_json *out)
{
    rt_json_it it;
    struere_json k, v;
    size_t n = strlen(key);
    int found = 0, rc;
    if (rt_json_iter(obj, STRUERE_JSON_OBJECT, &it) < 0)
        return -1;
    while ((rc = rt_json_next(&it, &k, &v)) == 1)
        if (rt_json_str_eq(k, key, n)) {
            if (found++)
                return -1;
            *out = v;
        }
    return rc < 0 || !found ? -1 : 0;
}

int rt_pubkey_parse(const char *text, unsigned char pk[32])
{
    size_t n = strlen(PUBKEY_PREFIX), bin_len = 0;
    if (strncmp(text, PUBKEY_PREFIX, n) || strlen(text + n) != 44)
        return -1;
    if (sodium_base642bin(pk, 32, text + n, 44, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 32)
        return -1;
    return 0;
}

static int env_index(const char *name, size_t n)
{
    for (int e = STRUERE_ENV_DEVELOPMENT; e <= STRUERE_ENV_EVAL; e++)
        if (strlen(struere_env_name(e)) == n &&
            !memcmp(name, struere_env_name(e), n))
            return e;
    return 0;
}

/* Ed25519 over `domain` followed by the `n` bytes of `payload`. */
static int sig_ok(const char *domain, const char *payload, size_t n,
                  const unsigned char pk[32], const unsigned char sig[64])
{
    size_t d = strlen(domain);
    unsigned char *msg = malloc(d + n + 1);
    if (!msg)
        return 0;
    memcpy(msg, domain, d);
    memcpy(msg + d, payload, n);
    int ok = crypto_sign_verify_detached(sig, msg, d + n, pk) == 0;
    free(msg);
    return ok;
}

/*
 * Counts the signatures of the array `sigs` that verify over domain +
 * payload with distinct keys among `keys` (nkeys); `*which` receives a
 * bit per counted key. STRUERE_ESIGNATURE when `sigs` is not an array of
 * signature objects (a malformed one is refused, not skipped).
 */
/* A signature object {"key": "ed25519:...", "signature": "<base64>"}
 * into its public key and 64 bytes: 0, or -1 when it is not one. */
static int sig_parse(struere_json s, unsigned char pk[32],
                     unsigned char sig[64])
{
    struere_json k, v;
    char key_text[80], sig_text[100];
    size_t bin_len = 0;
    if (rt_json_kind(s) != STRUERE_JSON_OBJECT || member(s, "key", &k) ||
        str_get(k, key_text, sizeof(key_text)) ||
        rt_pubkey_parse(key_text, pk) || member(s, "signature", &v) ||
        str_get(v, sig_text, sizeof(sig_text)) ||
        sodium_base642bin(sig, 64, sig_text, strlen(sig_text), NULL, &bin_len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 64)
        return -1;
    return 0;
}

/* The index of the key `pk` among `keys`, or -1 when it is not there. */
static int key_index(const struct trust_key *keys, size_t nkeys,
                     const unsigned char pk[32])
{
    for (size_t i = 0; i < nkeys; i++)
        if (sodium_memcmp(keys[i].pk, pk, 32) == 0)
            return (int)i;
    return -1;
}

static int count_signatures(struere_json sigs, const char *domain,
                            const char *payload, size_t n,
                            const struct trust_key *keys, size_t nkeys,
                            uint64_t *which, struere_error *err)
{
    rt_json_it it;
    struere_json s;
    size_t index = 0;
    int rc;
    *which = 0;
    if (rt_json_iter(sigs, STRUERE_JSON_ARRAY, &it) < 0)
        return rt_fail(err, STRUERE_ESIGNATURE, "signatures is not a list");
    while ((rc = rt_json_next(&it, NULL, &s)) == 1) {
        unsigned char pk[32], sig[64];
        if (++index > SIGNATURES_MAX)
            return rt_fail(err, STRUERE_ESIGNATURE, "more than %d signatures",
                           SIGNATURES_MAX);
        if (sig_parse(s, pk, sig) < 0)
            return rt_fail(err, STRUERE_ESIGNATURE,
                           "signature %zu is not {\"key\": \"ed25519:...\", "
                           "\"signature\": \"<base64 of 64 bytes>\"}",
                           index);
        int i = key_index(keys, nkeys, pk);
        uint64_t bit = i < 0 ? 0 : (uint64_t)1 << i;
        if (bit && !(*which & bit) && sig_ok(domain, payload, n, pk, sig))
            *which |= bit;
    }
    if (rc < 0)
        return rt_fail(err, STRUERE_ESIGNATURE, "signatures is not valid JSON");
    return 0;
}

static unsigned popcount64(uint64_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* ---- trust policies ---- */

/* Parses one policy payload (`n` bytes) into `t`. */
static int policy_parse(const char *payload, size_t n, struct struere_trust *t,
                        unsigned char previous[32], int *has_previous,
                        size_t at, struere_error *err)
{
    struere_json doc, v, it_v, k, req;
    rt_json_it it;
    uint64_t x;
    memset(t, 0, sizeof(*t));
    *has_previous = 0;
    if (rt_json_value(payload, n, &doc) < 0 ||
        rt_json_kind(doc) != STRUERE_JSON_OBJECT)
        return rt_fail(err, STRUERE_ETRUST,
                       "trust policy %zu is not a JSON object", at);
    if (member(doc, "version", &v) || uint_get(v, &x) || x < 1 ||
        x > 0xffffffffu)
        return rt_fail(err, STRUERE_ETRUST,
                       "trust policy %zu has no version (a positive integer)",
                       at);
    t->version = (unsigned)x;
    if (member(doc, "previous", &v))
        return rt_fail(err, STRUERE_ETRUST,
                       "trust policy %zu has no previous (null or a SHA-256)",
                       at);
    if (rt_json_kind(v) != STRUERE_JSON_NULL) {
        if (rt_json_kind(v) != STRUERE_JSON_STRING || v.len != 66 ||
            rt_hex_decode(v.ptr + 1, 64, previous, 32) < 0)
            return rt_fail(err, STRUERE_ETRUST,
                           "trust policy %zu: previous is not null or 64 hex "
                           "digits",
                           at);
        *has_previous = 1;
    }
    if (member(doc, "keys", &v) || rt_json_iter(v, STRUERE_JSON_ARRAY, &it) < 0)
        return rt_fail(err, STRUERE_ETRUST, "trust policy %zu has no keys list",
                       at);
    while (rt_json_next(&it, NULL, &it_v) == 1) {
        if (t->nkeys == STRUERE_TRUST_MAX_KEYS)
            return rt_fail(err, STRUERE_ETRUST,
                           "trust policy %zu has more than %d keys", at,
                           STRUERE_TRUST_MAX_KEYS);
        struct trust_key *key = &t->keys[t->nkeys];
        if (rt_json_kind(it_v) != STRUERE_JSON_OBJECT ||
            member(it_v, "name", &k) ||
            str_get(k, key->name, sizeof(key->name)) || !key->name[0] ||
            strspn(key->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                              "vwxyz0123456789._-") != strlen(key->name) ||
            member(it_v, "key", &k) ||
            str_get(k, key->text, sizeof(key->text)) ||
            rt_pubkey_parse(key->text, key->pk))
            return rt_fail(err, STRUERE_ETRUST,
                           "trust policy %zu: key %zu is not {\"name\": "
                           "NAME, \"key\": \"ed25519:...\"}",
                           at, t->nkeys + 1);
        for (size_t i = 0; i < t->nkeys; i++)
            if (!strcmp(t->keys[i].name, key->name) ||
                !memcmp(t->keys[i].pk, key->pk, 32))
                return rt_fail(err, STRUERE_ETRUST,
                               "trust policy %zu lists key '%s' twice", at,
                               key->name);
        t->nkeys++;
    }
    if (member(doc, "require", &req) ||
        rt_json_iter(req, STRUERE_JSON_OBJECT, &it) < 0)
        return rt_fail(err, STRUERE_ETRUST,
                       "trust policy %zu has no require object", at);
    while (rt_json_next(&it, &k, &v) == 1) {
        int e = k.len >= 2 ? env_index(k.ptr + 1, k.len - 2) : 0;
        if (!e || uint_get(v, &x) || x > STRUERE_TRUST_MAX_KEYS)
            return rt_fail(err, STRUERE_ETRUST,
                           "trust policy %zu: require maps development, "
                           "production and eval to 0 to %d",
                           at, STRUERE_TRUST_MAX_KEYS);
        t->require[e] = (int)x;
    }
    rt_sha256(payload, n, t->digest);
    return 0;
}

static int max_required(const struct struere_trust *t)
{
    int k = 0;
    for (int e = STRUERE_ENV_DEVELOPMENT; e <= STRUERE_ENV_EVAL; e++)
        if (t->require[e] > k)
            k = t->require[e];
    return k;
}

/* One entry of a chain: its decoded payload (malloc'd) and signatures. */
struct entry {
    char *payload;
    size_t n;
    struere_json sigs;
};

/* The entries of the chain of trust.json text `json`. */
static int chain_read(const char *json, size_t len, struct entry **out,
                      size_t *count, const char *what, struere_error *err)
{
    struere_json doc, v, e, p;
    rt_json_it it;
    *out = NULL;
    *count = 0;
    if (len > TRUST_LIMIT)
        return rt_fail(err, STRUERE_ETRUST, "%s is larger than %zu bytes", what,
                       TRUST_LIMIT);
    if (rt_json_value(json, len, &doc) < 0 ||
        rt_json_kind(doc) != STRUERE_JSON_OBJECT || member(doc, "format", &v) ||
        !rt_json_str_eq(v, "struere-trust/1", 15))
        return rt_fail(err, STRUERE_ETRUST,
                       "%s is not a trust policy (format struere-trust/1)",
                       what);
    if (member(doc, "chain", &v) ||
        rt_json_iter(v, STRUERE_JSON_ARRAY, &it) < 0)
        return rt_fail(err, STRUERE_ETRUST, "%s has no chain", what);
    struct entry *list = calloc(CHAIN_MAX, sizeof(*list));
    if (!list)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s", what);
    size_t n = 0;
    while (rt_json_next(&it, NULL, &e) == 1) {
        if (n == CHAIN_MAX) {
            rt_fail(err, STRUERE_ETRUST, "%s has more than %d policies", what,
                    CHAIN_MAX);
            goto fail;
        }
        if (rt_json_kind(e) != STRUERE_JSON_OBJECT || member(e, "policy", &p) ||
            str_dup(p, &list[n].payload, &list[n].n) ||
            member(e, "signatures", &list[n].sigs)) {
            rt_fail(err, STRUERE_ETRUST,
                    "%s: chain entry %zu is not {\"policy\": STRING, "
                    "\"signatures\": [...]}",
                    what, n + 1);
            goto fail;
        }
        n++;
    }
    if (n == 0) {
        rt_fail(err, STRUERE_ETRUST, "%s has an empty chain", what);
        goto fail;
    }
    *out = list;
    *count = n;
    return 0;
fail:
    for (size_t i = 0; i < CHAIN_MAX && list[i].payload; i++)
        free(list[i].payload);
    free(list);
    return err ? err->code : STRUERE_ETRUST;
}

static void chain_free(struct entry *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i].payload);
    free(list);
}

/* Verifies entries [from + 1, n) of the chain against entry `from`,
 * leaving the policy in force in *t. */
static int chain_verify(const struct entry *list, size_t n, size_t from,
                        struct struere_trust *t, struere_error *err)
{
    unsigned char previous[32];
    int has_previous;
    struct struere_trust next;
    int rc = policy_parse(list[from].payload, list[from].n, t, previous,
                          &has_previous, from + 1, err);
    if (rc < 0)
        return rc;
    if (from == 0 && (t->version != 1 || has_previous))
        return rt_fail(err, STRUERE_ETRUST,
                       "the first trust policy must have version 1 and "
                       "previous null");
    for (size_t i = from + 1; i < n; i++) {
        uint64_t which;
        rc = policy_parse(list[i].payload, list[i].n, &next, previous,
                          &has_previous, i + 1, err);
        if (rc < 0)
            return rc;
        if (next.version != t->version + 1 || !has_previous ||
            memcmp(previous, t->digest, 32))
            return rt_fail(err, STRUERE_ETRUST,
                           "trust policy %zu (version %u) does not follow "
                           "version %u: its version or previous digest is "
                           "wrong",
                           i + 1, next.version, t->version);
        rc = count_signatures(list[i].sigs, domain_policy, list[i].payload,
                              list[i].n, t->keys, t->nkeys, &which, err);
        if (rc < 0) {
            char why[sizeof(err->message)] = "bad signatures";
            if (err)
                memcpy(why, err->message, sizeof(why));
            return rt_fail(err, STRUERE_ETRUST, "trust policy %zu: %.400s",
                           i + 1, why);
        }
        unsigned need = (unsigned)max_required(t);
        if (popcount64(which) < need)
            return rt_fail(err, STRUERE_ETRUST,
                           "trust policy version %u is signed by %u trusted "
                           "key(s) of version %u, which requires %u to "
                           "change it",
                           next.version, popcount64(which), t->version, need);
        *t = next;
    }
    return 0;
}

int rt_trust_load(struere_trust **out, const void *json, size_t len,
                  const void *pinned, size_t pinned_len,
                  unsigned anchor_version, const unsigned char *anchor,
                  const char *where, struere_error *err)
{
    struct entry *chain = NULL, *pin = NULL;
    size_t n = 0, npin = 0, from = 0;
    rt_clear(err);
    if (!out || (!json && len))
        return rt_fail(err, STRUERE_EINVAL,
                       "no trust policy or no place "
                       "for it");
    *out = NULL;
    if (sodium_init() < 0)
        return rt_fail(err, STRUERE_EIO, "libsodium cannot be initialised");
    int rc =
        chain_read(json, len, &chain, &n, "refs/struere/trust:trust.json", err);
    if (rc == 0 && pinned) {
        rc = chain_read(pinned, pinned_len, &pin, &npin,
                        "the pinned trust "
                        "policy",
                        err);
        if (rc == 0) {
            /* its first place: every entry after it is checked, so a
             * copy of it appended later is refused, not put in force */
            const struct entry *a = &pin[npin - 1];
            size_t i;
            for (i = 0; i < n; i++)
                if (chain[i].n == a->n &&
                    !memcmp(chain[i].payload, a->payload, a->n))
                    break;
            if (i == n)
                rc = rt_fail(err, STRUERE_ETRUST,
                             "the store's trust policy does not descend from "
                             "the pinned one");
            else
                from = i;
        }
    }
    if (rc == 0 && anchor && anchor_version) {
        /* The policy in force when the store was last accepted: a chain
         * without it was moved back to an older policy, or replaced. */
        unsigned char d[32];
        size_t i;
        for (i = 0; i < n; i++) {
            rt_sha256(chain[i].payload, chain[i].n, d);
            if (!memcmp(d, anchor, 32))
                break;
        }
        if (i == n)
            rc = rt_fail(err, STRUERE_ETRUST,
                         "the store's trust policy does not contain version "
                         "%u, in force when it was accepted before (%s): "
                         "refs/struere/trust was moved back to an older "
                         "policy or replaced",
                         anchor_version, where);
        else if (!pinned || i < from)
            /* both: checked from the older, so that the newer is proven
             * to follow it (a copy of the pinned policy appended after
             * the remembered one is then refused, its version wrong) */
            from = i;
    }
    struct struere_trust *t = NULL;
    if (rc == 0 && !(t = malloc(sizeof(*t))))
        rc = rt_fail(err, STRUERE_ENOMEM,
                     "out of memory reading the trust "
                     "policy");
    if (rc == 0 && (rc = chain_verify(chain, n, from, t, err)) == 0) {
        *out = t;
        t = NULL;
    }
    free(t);
    chain_free(chain, n);
    chain_free(pin, npin);
    return rc;
}

int struere_trust_load(struere_trust **out, const void *json, size_t len,
                       const void *pinned, size_t pinned_len,
                       struere_error *err)
{
    return rt_trust_load(out, json, len, pinned, pinned_len, 0, NULL, NULL,
                         err);
}

void struere_trust_free(struere_trust *t)
{
    free(t);
}

unsigned struere_trust_version(const struere_trust *t)
{
    return t ? t->version : 0;
}

int struere_trust_required(const struere_trust *t, int env)
{
    if (!t || !struere_env_name(env))
        return 0;
    return t->require[env];
}

size_t struere_trust_key_count(const struere_trust *t)
{
    return t ? t->nkeys : 0;
}

static int trust_key(const struere_trust *t, size_t i, const char **name,
                     const char **key)
{
    if (!t || i >= t->nkeys)
        return STRUERE_ENOTFOUND;
    if (name)
        *name = t->keys[i].name;
    if (key)
        *key = t->keys[i].text;
    return 0;
}

int struere_trust_key(const char **name, const char **key,
                      const struere_trust *t, size_t i, struere_error *err)
{
    return rt_result(err, trust_key(t, i, name, key), "struere_trust_key");
}

void struere_trust_digest(unsigned char out[32], const struere_trust *t)
{
    if (t)
        memcpy(out, t->digest, 32);
    else
        memset(out, 0, 32);
}

/* ---- promotion statements ---- */

static int hex_field(struere_json doc, const char *name, unsigned char *out,
                     size_t size)
{
    struere_json v;
    return member(doc, name, &v) || rt_json_kind(v) != STRUERE_JSON_STRING ||
                   v.len != 2 * size + 2 ||
                   rt_hex_decode(v.ptr + 1, 2 * size, out, size) < 0
               ? -1
               : 0;
}

/* The statement payload's fields into *st. */
static int statement_parse(const char *payload, size_t n, struere_statement *st,
                           struere_error *err)
{
    struere_json doc, v;
    uint64_t x;
    char env[16];
    unsigned char id[20];
    if (rt_json_value(payload, n, &doc) < 0 ||
        rt_json_kind(doc) != STRUERE_JSON_OBJECT)
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement is not a JSON object");
    if (member(doc, "environment", &v) || str_get(v, env, sizeof(env)) ||
        !(st->environment = env_index(env, strlen(env))))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no valid environment");
    if (hex_field(doc, "commit", id, 20))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no commit (40 hex digits)");
    rt_hex_encode(id, 20, st->commit);
    if (member(doc, "replaces", &v))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no replaces (null or a commit)");
    st->replaces[0] = '\0';
    if (rt_json_kind(v) != STRUERE_JSON_NULL) {
        if (hex_field(doc, "replaces", id, 20))
            return rt_fail(err, STRUERE_EUNAPPROVED,
                           "the statement's replaces is not null or 40 hex "
                           "digits");
        rt_hex_encode(id, 20, st->replaces);
    }
    if (hex_field(doc, "bundleSha256", st->bundle_sha256, 32) ||
        hex_field(doc, "manifestSha256", st->manifest_sha256, 32))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no bundleSha256 or manifestSha256 "
                       "(64 hex digits)");
    if (member(doc, "sequence", &v) || uint_get(v, &x) || x < 1)
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no sequence (a positive integer)");
    st->sequence = x;
    if (member(doc, "time", &v) || uint_get(v, &x))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no time (seconds since the epoch)");
    st->time = (int64_t)x;
    if (member(doc, "who", &v) || str_get(v, st->who, sizeof(st->who)))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no who (at most %zu bytes)",
                       sizeof(st->who) - 1);
    if (member(doc, "action", &v) ||
        str_get(v, st->action, sizeof(st->action)) ||
        (strcmp(st->action, "deploy") && strcmp(st->action, "rollback") &&
         strcmp(st->action, "dev")))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement has no action (deploy, rollback or "
                       "dev)");
    return 0;
}

int struere_statement_read(struere_statement *out, const void *json, size_t len,
                           const struere_trust *t, struere_error *err)
{
    struere_json doc, p, sigs;
    char *payload = NULL;
    size_t n = 0;
    rt_clear(err);
    if (!out || (!json && len))
        return rt_fail(err, STRUERE_EINVAL, "no statement or no place for it");
    memset(out, 0, sizeof(*out));
    if (sodium_init() < 0)
        return rt_fail(err, STRUERE_EIO, "libsodium cannot be initialised");
    if (len > TRUST_LIMIT)
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the statement is larger than %zu bytes", TRUST_LIMIT);
    if (rt_json_value(json, len, &doc) < 0 ||
        rt_json_kind(doc) != STRUERE_JSON_OBJECT ||
        member(doc, "statement", &p) || str_dup(p, &payload, &n) ||
        member(doc, "signatures", &sigs)) {
        free(payload); /* decoded when only "signatures" is missing */
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "not a statement document ({\"statement\": STRING, "
                       "\"signatures\": [...]})");
    }
    int rc = statement_parse(payload, n, out, err);
    if (rc == 0)
        rc = count_signatures(sigs, domain_statement, payload, n,
                              t ? t->keys : NULL, t ? t->nkeys : 0,
                              &out->signed_by, err);
    if (rc == 0)
        out->signatures = popcount64(out->signed_by);
    free(payload);
    return rc;
}

int struere_promotion_check(struere_statement *out, const void *json,
                            size_t len, const struere_trust *t, int env,
                            const char *commit,
                            const unsigned char bundle_sha256[32],
                            const unsigned char manifest_sha256[32],
                            uint64_t min_sequence, struere_error *err)
{
    struere_statement local;
    struere_statement *st = out ? out : &local;
    const char *name = struere_env_name(env);
    int k = struere_trust_required(t, env);
    rt_clear(err);
    if (!name || !commit || !bundle_sha256 || !manifest_sha256)
        return rt_fail(err, STRUERE_EINVAL, "invalid argument");
    struere_error e;
    int rc = struere_statement_read(st, json, len, t, &e);
    if (rc < 0)
        return rt_fail(err, rc, "the latest promotion statement of %s: %.400s",
                       name, e.message);
    if (st->environment != env)
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "the latest promotion statement of %s is a statement "
                       "for %s",
                       name, struere_env_name(st->environment));
    if (strcmp(st->commit, commit))
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "refs/heads/struere/%s points to %.12s but its latest "
                       "approved promotion (#%llu) names %.12s: the branch "
                       "was moved without an approved statement",
                       name, commit, (unsigned long long)st->sequence,
                       st->commit);
    if (memcmp(st->bundle_sha256, bundle_sha256, 32) ||
        memcmp(st->manifest_sha256, manifest_sha256, 32))
        return rt_fail(err, STRUERE_EDIGEST,
                       "promotion #%llu of %s names commit %.12s but other "
                       "%s digests than the commit holds",
                       (unsigned long long)st->sequence, name, st->commit,
                       memcmp(st->bundle_sha256, bundle_sha256, 32)
                           ? "bundle"
                           : "manifest");
    if (st->signatures < (unsigned)k)
        return rt_fail(err, STRUERE_ESIGNATURE,
                       "promotion #%llu of %s has %u valid signature(s) of "
                       "trusted keys; the trust policy requires %d",
                       (unsigned long long)st->sequence, name, st->signatures,
                       k);
    if (st->sequence < min_sequence)
        return rt_fail(err, STRUERE_EREPLAY,
                       "promotion #%llu of %s is older than #%llu, already "
                       "accepted: a replayed statement",
                       (unsigned long long)st->sequence, name,
                       (unsigned long long)min_sequence);
    return 0;
}

/* ---- key records ---- */

int rt_record_signed(const struere_trust *t, struere_json sig,
                     const char *payload, size_t n)
{
    unsigned char pk[32], s[64];
    return t && sig_parse(sig, pk, s) == 0 &&
           key_index(t->keys, t->nkeys, pk) >= 0 &&
           sig_ok(domain_record, payload, n, pk, s);
}
