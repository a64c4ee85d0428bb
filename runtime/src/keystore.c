/*
 * keystore.c - opening a runtime by API key, and reloading it. The key's
 * SHA-256 is looked up, in constant time, in the key records of the git
 * store (refs/struere/keys, keys.json, as compiler/cmd_keys.c writes them);
 * the record's environment picks refs/heads/struere/ENV, whose
 * bundles/ENV.stb is read (gitread.h, without libgit2) and opened on the
 * object's own bytes. The only runtime module that reads stores, and
 * calls libsodium.
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gitread.h"
#include "rt.h"
#include "rt_env.h"
#include "rt_keys.h"
#include "rt_limits.h"
#include "rt_state.h"
#include "sha256.h"

/* keys.json holds one short record per key: 16 MiB is far more than any
 * store needs, and keeps a damaged store from exhausting memory. */
#define KEYS_JSON_LIMIT ((size_t)16 << 20)

#define KEYS_REF "refs/struere/keys"
#define KEYS_FILE "keys.json"

/*
 * What a runtime opened by key keeps of its store and key: the key's
 * digest, never the key; the repository's path, not the open repository,
 * which each open and reload opens and closes again - an open repository
 * keeps its pack files mapped, resident memory a runtime should not carry
 * between reloads (DESIGN §7).
 */
struct rt_keystore {
    char *path;               /* the git directory (rt_git_dir) */
    char *trust_file;         /* a pinned trust policy, or NULL */
    char *state_file;         /* what runs accepted (rt_state.h), or NULL */
    int env;                  /* the key's environment */
    unsigned char digest[32]; /* SHA-256 of the key text */
    char label[24]; /* "sk_prod_abcd…", for messages; "" without a key */
    /* The SHA-256 of the loaded bundle and of its manifest.json: a
     * reload that finds the same commit checks its promotion against
     * the trust policy of then without reading the bundle again. */
    unsigned char loaded_bundle[32], loaded_manifest[32];
    int have_loaded;
    /* The label its record must carry (rt_key_kept): no more of the key
     * than keys.json shows. */
    char kept[RT_KEY_LABEL_MAX];
    /* What this runtime accepted (with the state file's, at each open
     * and reload): a reload never goes back to an older promotion,
     * trust policy or key record. */
    struct rt_state seen;
};

/* ---- keys.json ---- */

/* Copies `n` bytes of `src` over `dst` when `mask` is 0xff, and leaves
 * `dst` as it is when `mask` is 0, taking the same time either way. */
static void ct_copy(void *dst, const void *src, size_t n, unsigned char mask)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++)
        d[i] ^= (unsigned char)((d[i] ^ s[i]) & mask);
}

/*
 * Finds the record of the key whose SHA-256 is `digest` among `count`
 * records. Every record is compared, with sodium_memcmp, whether or not
 * an earlier one matched: the time taken does not depend on where, or how
 * nearly, the digest matches.
 */
static int records_find(const struct rt_key_record *records, size_t count,
                        const unsigned char digest[32], const char *label,
                        struct rt_key_record *found, struere_error *err)
{
    size_t matches = 0;
    memset(found, 0, sizeof(*found));
    for (size_t i = 0; i < count; i++) {
        unsigned eq = sodium_memcmp(records[i].digest, digest, 32) == 0;
        matches += eq;
        ct_copy(found, &records[i], sizeof(*found), (unsigned char)(0u - eq));
    }
    if (matches == 0)
        return rt_fail(err, STRUERE_EKEY, "no key record matches this key (%s)",
                       label);
    if (matches > 1)
        return rt_fail(err, STRUERE_ESTORE,
                       KEYS_REF ": %zu records of " KEYS_FILE
                                " have the digest of key %s",
                       matches, label);
    return 0;
}

/*
 * The checks on a found record, in the header's order: the key's prefix
 * must name the record's environment, the record's "prefix" must be the
 * key's own label `kept` (rt_key_kept), then not revoked, then not
 * expired (expiry before `now`). The label is not signed: were it not
 * checked, two records' labels swapped in keys.json would leave `keys
 * revoke LABEL` revoking the other key while the key named stayed good.
 */
static int record_check(const struct rt_key_record *r, int key_env,
                        const char *kept, const char *label, int64_t now,
                        struere_error *err)
{
    if (r->env != key_env)
        return rt_fail(err, STRUERE_EKEY,
                       "the key's prefix says %s but its record says %s "
                       "(%s)",
                       struere_env_name(key_env), struere_env_name(r->env),
                       label);
    if (strcmp(r->prefix, kept) != 0)
        return rt_fail(err, STRUERE_EKEY,
                       "the record of key %s has a \"prefix\" that is not "
                       "this key's (keys.json was edited: `struere keys "
                       "revoke` picks a record by that label, and would "
                       "pick the wrong one)",
                       label);
    if (r->revoked)
        return r->revoked_at[0]
                   ? rt_fail(err, STRUERE_EREVOKED, "key %s was revoked on %s",
                             label, r->revoked_at)
                   : rt_fail(err, STRUERE_EREVOKED, "key %s was revoked",
                             label);
    if (r->revoked_before)
        return rt_fail(err, STRUERE_EREVOKED,
                       "key %s was seen revoked before (the runtime's state "
                       "remembers it) but keys.json says it is not: "
                       "refs/struere/keys was moved back to before the "
                       "revocation",
                       label);
    if (r->expires_set && r->expires < now)
        return rt_fail(err, STRUERE_EEXPIRED, "key %s expired on %s", label,
                       r->expires_text);
    return 0;
}

static int record_signed(const struct rt_key_record *r, const struere_trust *t,
                         const char *label, struere_error *err);

/*
 * A key against `count` records read from keys.json: its form, its
 * record (found in constant time), the record's checks and, where the
 * trust policy `trust` (NULL: none) requires it, the record's signature.
 * `now` 0 means the clock. `*env` receives the key's environment.
 * `no_records` (NULL: none) is the store's reason it holds no records,
 * told once the key's form is known to be right. libsodium is initialised
 * (by the caller: its sodium_init takes a process-wide lock).
 */
static int key_check(const struct rt_key_record *records, size_t count,
                     const char *no_records, const struere_trust *trust,
                     const char *key, int64_t now, int *env, struere_error *err)
{
    int key_env;
    size_t prefix_len, key_len;
    unsigned char digest[32];
    char label[64], kept[RT_KEY_LABEL_MAX];
    struct rt_key_record rec;
    int rc = rt_key_parse(key, &key_env, &prefix_len, &key_len, err);
    if (rc < 0)
        return rc;
    if (no_records)
        return rt_fail(err, STRUERE_ESTORE, "%s", no_records);
    rt_sha256(key, key_len, digest);
    rt_key_label(label, sizeof(label), key, prefix_len);
    rt_key_kept(kept, key, prefix_len);
    rc = records_find(records, count, digest, label, &rec, err);
    if (rc == 0)
        rc = record_check(&rec, key_env, kept, label, now ? now : time(NULL),
                          err);
    if (rc == 0)
        rc = record_signed(&rec, trust, label, err);
    if (rc == 0)
        *env = rec.env;
    sodium_memzero(&rec, sizeof(rec));
    sodium_memzero(digest, sizeof(digest));
    return rc;
}

int rt_key_check(const char *keys_json, size_t len, const char *key,
                 int64_t now, int *env, struere_error *err)
{
    struct rt_key_record *records;
    size_t count;
    rt_clear(err);
    if (sodium_init() < 0)
        return rt_fail(err, STRUERE_EIO, "libsodium cannot be initialised");
    int rc = rt_key_records_read(keys_json, len, &records, &count, err);
    if (rc == 0)
        rc = key_check(records, count, NULL, NULL, key, now, env, err);
    free(records);
    return rc;
}

/* ---- the git store ---- */

static int store_open(struct rt_git **g, const char *store, struere_error *err)
{
    /* No search upwards: a store path that is not a repository must not
     * quietly open the repository around it. */
    return rt_git_open(g, store ? store : ".", err);
}

/* What a failure `rc` on the way to a reading is reported as: `as`,
 * except running out of memory, which says nothing of the store and
 * stays STRUERE_ENOMEM (a server tries that again). */
static int failed_as(int rc, int as)
{
    return rc == STRUERE_ENOMEM ? rc : as;
}

/* The commit `ref` names; `hint` says how to create a missing ref. */
static int ref_commit(struct rt_git *g, const char *ref, const char *hint,
                      unsigned char id[RT_GIT_ID], struere_error *err)
{
    struere_error e;
    int rc = rt_git_ref(g, ref, id, &e);
    if (rc == STRUERE_ENOTFOUND)
        return rt_fail(err, STRUERE_ESTORE, "store %s has no %s (%s)",
                       rt_git_name(g), ref, hint);
    if (rc < 0)
        return rt_fail(err, failed_as(rc, STRUERE_ESTORE),
                       "%s cannot be read: %.400s", ref, e.message);
    return 0;
}

/*
 * Reads the file `path` of the tree of commit `id` (the ref `ref` names)
 * into `out` (its bytes for the caller to free), refusing one larger than
 * `limit` before reading it.
 */
static int commit_file(struct rt_git *g, const char *ref,
                       const unsigned char id[RT_GIT_ID], const char *path,
                       size_t limit, struct rt_git_object *out,
                       struere_error *err)
{
    unsigned char blob[RT_GIT_ID];
    int file, rc = STRUERE_ESTORE;
    struere_error e;
    memset(out, 0, sizeof(*out));
    int found = rt_git_commit_path(g, id, path, blob, &file, &e);
    if (found == STRUERE_ENOTFOUND)
        return rt_fail(err, rc, "%s has no %s", ref, path);
    if (found < 0) /* the commit, or a tree on the way (its reason) */
        return rt_fail(err, failed_as(found, rc),
                       "%s: %s cannot be read: %.400s", ref, path, e.message);
    if (!file)
        return rt_fail(err, rc, "%s: %s is not a file", ref, path);
    found = rt_git_read(g, blob, RT_GIT_BLOB, limit, out, &e);
    if (found == STRUERE_ERANGE) {
        size_t size = out->len;
        memset(out, 0, sizeof(*out));
        return rt_fail(err, rc,
                       "%s: %s is %zu bytes, more than the %zu allowed", ref,
                       path, size, limit);
    }
    if (found == STRUERE_ENOMEM)
        return rt_fail(err, found, "%s: %s: %.400s", ref, path, e.message);
    if (found < 0)
        return rt_fail(err, rc, "%s: %s cannot be read: %.400s", ref, path,
                       e.message);
    return 0;
}

static int key_record_signed(const struere_trust *t, const void *record,
                             size_t len)
{
    struere_json v, twice;
    struct rt_key_record r;
    char payload[256];
    if (!record || rt_json_value(record, len, &v) < 0 ||
        rt_key_named_twice(v, &twice) || rt_key_record_read(v, &r))
        return STRUERE_ESTORE;
    if (!r.signature.ptr)
        return STRUERE_ENOTFOUND;
    int n = rt_key_record_payload(&r, payload, sizeof(payload));
    return n >= 0 && rt_record_signed(t, r.signature, payload, (size_t)n)
               ? 0
               : STRUERE_ESIGNATURE;
}

int struere_key_record_signed(const struere_trust *t, const void *record,
                              size_t len, struere_error *err)
{
    return rt_result(err, key_record_signed(t, record, len),
                     "struere_key_record_signed");
}

/* While the trust policy requires signatures for the record's
 * environment, the record must be signed by a trusted key over its
 * fields (TRUST.md §5): a record added by hand, or a revoked flag flipped
 * back, does not verify. */
static int record_signed(const struct rt_key_record *r, const struere_trust *t,
                         const char *label, struere_error *err)
{
    char payload[256];
    if (struere_trust_required(t, r->env) < 1)
        return 0;
    int n = rt_key_record_payload(r, payload, sizeof(payload));
    if (!r->signature.ptr)
        return rt_fail(err, STRUERE_ESIGNATURE,
                       "the record of key %s is not signed, and the trust "
                       "policy requires signatures for %s (sign it with: "
                       "struere keys sign --sign FILE)",
                       label, struere_env_name(r->env));
    if (n < 0 || !rt_record_signed(t, r->signature, payload, (size_t)n))
        return rt_fail(err, STRUERE_ESIGNATURE,
                       "the signature of key %s's record does not verify "
                       "with a trusted key: the record was changed after it "
                       "was signed, or signed by an untrusted key",
                       label);
    return 0;
}

/*
 * Whether the revocation in record `r` counts, to be remembered (TRUST.md
 * §6): its record signed by a key the policy trusts, whatever environment
 * the record names (whoever writes keys.json can change that field). An
 * unsigned one is not remembered even where no signature is required:
 * whoever can write keys.json there can clear the flag without a replay,
 * and could fill the state with made-up revocations.
 */
static int revocation_counts(const struct rt_key_record *r,
                             const struere_trust *t)
{
    char payload[256];
    int n = rt_key_record_payload(r, payload, sizeof(payload));
    return r->signature.ptr && n >= 0 &&
           rt_record_signed(t, r->signature, payload, (size_t)n);
}

/*
 * Adds to `st` the revocations among `count` records that count and `st`
 * does not know yet (a signature is checked only for those), then marks
 * each record that is not revoked but that `st` saw revoked before. 0, or
 * STRUERE_ENOMEM.
 */
static int revocations_note(struct rt_key_record *records, size_t count,
                            const struere_trust *trust, struct rt_state *st)
{
    size_t known = st->nrevoked;
    unsigned char(*fresh)[32] = NULL;
    size_t nfresh = 0;
    for (size_t i = 0; i < count; i++) {
        const struct rt_key_record *r = &records[i];
        if (!r->revoked || rt_state_revoked(st, r->digest) ||
            !revocation_counts(r, trust))
            continue;
        if (!fresh && !(fresh = malloc(count * sizeof(*fresh))))
            return STRUERE_ENOMEM;
        memcpy(fresh[nfresh++], r->digest, 32);
    }
    for (size_t i = 0; i < nfresh; i++)
        if (rt_state_add(st, fresh[i]) < 0) {
            st->nrevoked = known; /* still sorted */
            free(fresh);
            return STRUERE_ENOMEM;
        }
    free(fresh);
    rt_state_sort(st);
    for (size_t i = 0; i < count; i++)
        records[i].revoked_before =
            !records[i].revoked && rt_state_revoked(st, records[i].digest);
    return 0;
}

/* Finds and checks the record of the keystore's key in the store,
 * noting its revocation in `st`. */
static int key_lookup(struct rt_git *repo, const struct rt_keystore *ks,
                      const struere_trust *trust, int64_t now,
                      struct rt_state *st, struere_error *err)
{
    unsigned char id[RT_GIT_ID];
    struct rt_git_object obj = {0};
    struct rt_key_record rec, *records = NULL;
    size_t count = 0;
    if (!ks->label[0]) /* opened for an environment, without a key */
        return 0;
    int rc =
        ref_commit(repo, KEYS_REF,
                   "create a key with: struere keys create --env ENV", id, err);
    if (rc == 0)
        rc = commit_file(repo, KEYS_REF, id, KEYS_FILE, KEYS_JSON_LIMIT, &obj,
                         err);
    if (rc == 0)
        rc = rt_key_records_read((const char *)obj.data, obj.len, &records,
                                 &count, err);
    if (rc == 0)
        rc = records_find(records, count, ks->digest, ks->label, &rec, err);
    if (rc == 0 && revocations_note(&rec, 1, trust, st) < 0)
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading key records");
    if (rc == 0)
        rc = record_check(&rec, ks->env, ks->kept, ks->label,
                          now ? now : time(NULL), err);
    if (rc == 0)
        rc = record_signed(&rec, trust, ks->label, err);
    free(obj.data);
    if (records)
        sodium_memzero(records, count * sizeof(*records));
    free(records);
    sodium_memzero(&rec, sizeof(rec));
    return rc;
}

/* The commit of the environment's branch. */
static int env_commit(struct rt_git *repo, int env, unsigned char *id,
                      struere_error *err)
{
    char ref[64];
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", struere_env_name(env));
    return ref_commit(repo, ref,
                      env == STRUERE_ENV_PRODUCTION
                          ? "promote development with: struere deploy"
                          : "compile it with: struere dev",
                      id, err);
}

/* The SHA-256 of a commit's bundle and of its manifest.json. */
struct digests {
    unsigned char bundle[32], manifest[32];
};

/* Checks bundles/ENV.stb (whose SHA-256 the caller put in d->bundle)
 * against manifest.json of the same commit (TRUST.md §1),
 * keeping the manifest's own SHA-256 in d->manifest. */
static int manifest_match(struct rt_git *repo, const char *ref,
                          const unsigned char *id, int env, struct digests *d,
                          struere_error *err)
{
    struct rt_git_object manifest;
    struere_error e;
    unsigned char want[32];
    char short_id[41], want_hex[65], got_hex[65];
    rt_git_id_hex(id, short_id);
    short_id[12] = '\0';
    int rc = commit_file(repo, ref, id, "manifest.json", (size_t)1 << 20,
                         &manifest, &e);
    if (rc < 0)
        return rt_fail(err, failed_as(rc, STRUERE_EDIGEST),
                       "%s (commit %s): the bundle's digest cannot be "
                       "checked: %s",
                       ref, short_id, e.message);
    rc = struere_manifest_digest(want, manifest.data, manifest.len, env, &e);
    rt_sha256(manifest.data, manifest.len, d->manifest);
    free(manifest.data);
    if (rc < 0)
        return rt_fail(err, rc, "%s (commit %s): %s", ref, short_id, e.message);
    if (memcmp(want, d->bundle, 32) == 0)
        return 0;
    rt_hex_encode(want, 32, want_hex);
    rt_hex_encode(d->bundle, 32, got_hex);
    return rt_fail(err, STRUERE_EDIGEST,
                   "%s (commit %s): bundles/%s.stb has SHA-256 %s but "
                   "manifest.json says %s: it is not the bundle that was "
                   "compiled",
                   ref, short_id, struere_env_name(env), got_hex, want_hex);
}

/* A bundle's bytes are the blob's, read into memory of their own (the
 * store is closed once read): freeing the bundle frees them. */
static void blob_release(void *data)
{
    free(data);
}

/*
 * Reads bundles/ENV.stb of commit `id` and opens it on the object's bytes
 * (no copy), verified whole and required to be of the key's environment.
 */
/* The SHA-256 of `len` bytes at `data`, for a thread. */
struct hash_job {
    const void *data;
    size_t len;
    unsigned char digest[32];
};

static void *hash_run(void *arg)
{
    struct hash_job *j = arg;
    rt_sha256(j->data, j->len, j->digest);
    return NULL;
}

static int env_bundle(struct rt_git *repo, int env_code,
                      const unsigned char *id, struere_bundle **out,
                      struct digests *d, struere_error *err)
{
    const char *env = struere_env_name(env_code);
    char ref[64], path[64];
    struct rt_git_object obj;
    struere_error e;
    *out = NULL;
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", env);
    snprintf(path, sizeof(path), "bundles/%s.stb", env);
    int rc = commit_file(repo, ref, id, path, RT_LIMIT_BUNDLE_BYTES, &obj, err);
    if (rc < 0)
        return rc;
    /* The SHA-256 (for the manifest's digest) is computed on a thread of
     * its own while this one verifies the bundle: on two cores the
     * digest then costs close to nothing on top of the verification. */
    struct hash_job job = {obj.data, obj.len, {0}};
    pthread_t thread;
    int threaded = job.len >= ((size_t)1 << 20) &&
                   pthread_create(&thread, NULL, hash_run, &job) == 0;
    rc = rt_bundle_open_owned(out, obj.data, obj.len, env_code, blob_release,
                              obj.data, &e);
    if (threaded)
        pthread_join(thread, NULL);
    else
        hash_run(&job);
    memcpy(d->bundle, job.digest, 32);
    if (rc < 0) {
        blob_release(obj.data);
        rt_fail(err, rc, "%s:%s: %s", ref, path, e.message);
        if (err)
            err->offset = e.offset;
        return rc;
    }
    /* Every rule of BUNDLE.md holds; the bundle must also be the one the
     * commit's manifest describes (one re-crafted with its CRCs
     * recomputed is not). */
    rc = manifest_match(repo, ref, id, env_code, d, err);
    if (rc < 0) {
        struere_bundle_free(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- trust: the policy, promotion statements, the state file ---- */

#define TRUST_REF "refs/struere/trust"
#define PROMOTIONS_REF "refs/struere/promotions"
#define TRUST_LIMIT ((size_t)1 << 20)

/* Where what a runtime accepted before is remembered, for messages. */
static const char *state_where(const char *state_file, char *buf, size_t size)
{
    if (!state_file)
        return "remembered by this runtime";
    snprintf(buf, size, "remembered by this runtime and state file %.400s",
             state_file);
    return buf;
}

/*
 * A state from before policies were remembered (signed promotions, no
 * policy) cannot anchor the chain; but a signed promotion accepted says a
 * policy required a signature then, so neither no policy (t NULL: the
 * trust ref deleted) nor one that requires none for that environment is
 * the one of then: STRUERE_ETRUST.
 */
static int legacy_check(const struct rt_state *st, const struere_trust *t,
                        const char *where, struere_error *err)
{
    for (int env = STRUERE_ENV_DEVELOPMENT;
         !st->trust_version && env <= STRUERE_ENV_EVAL; env++) {
        if (!st->sequence[env] || struere_trust_required(t, env) >= 1)
            continue;
        if (!t)
            return rt_fail(err, STRUERE_ETRUST,
                           "signed promotion #%llu of %s was accepted before "
                           "(%s) but the store has no trust policy (" TRUST_REF
                           "): the ref was deleted",
                           (unsigned long long)st->sequence[env],
                           struere_env_name(env), where);
        return rt_fail(err, STRUERE_ETRUST,
                       "signed promotion #%llu of %s was accepted before "
                       "(%s) but the store's trust policy (version %u) "
                       "requires no signature for %s: " TRUST_REF
                       " was replaced or moved back",
                       (unsigned long long)st->sequence[env],
                       struere_env_name(env), where, struere_trust_version(t),
                       struere_env_name(env));
    }
    return 0;
}

/*
 * The trust policy in force (TRUST.md §3): *t NULL when the store has
 * none and none is pinned. It must contain the policy `st` remembers as
 * in force (TRUST.md §6): a trust ref deleted, moved back or replaced
 * since is STRUERE_ETRUST. The policy read is remembered in `st`.
 */
static int trust_read(struct rt_git *repo, const char *trust_file,
                      struct rt_state *st, const char *where, struere_trust **t,
                      struere_error *err)
{
    unsigned char id[RT_GIT_ID];
    struct rt_git_object obj = {0};
    struere_error e;
    char *pinned = NULL;
    size_t pinned_len = 0;
    *t = NULL;
    int rc = rt_git_ref(repo, TRUST_REF, id, &e);
    if (rc == STRUERE_ENOTFOUND && st->trust_version)
        return rt_fail(err, STRUERE_ETRUST,
                       "the store has no trust policy (" TRUST_REF "), but "
                       "version %u was in force when it was accepted before "
                       "(%s): the ref was deleted",
                       st->trust_version, where);
    if (rc == STRUERE_ENOTFOUND && legacy_check(st, NULL, where, err) < 0)
        return STRUERE_ETRUST;
    if (rc == STRUERE_ENOTFOUND)
        return trust_file
                   ? rt_fail(err, STRUERE_ETRUST,
                             "a trust policy is pinned (%s) but the store "
                             "has none (" TRUST_REF ")",
                             trust_file)
                   : 0;
    if (rc < 0)
        return rt_fail(err, failed_as(rc, STRUERE_ETRUST),
                       TRUST_REF " cannot be read: %.400s", e.message);
    rc = commit_file(repo, TRUST_REF, id, "trust.json", TRUST_LIMIT, &obj, err);
    if (rc < 0)
        return rt_fail(err, failed_as(rc, STRUERE_ETRUST), "%.400s",
                       err ? err->message : "");
    if (trust_file) {
        rc = rt_file_read(trust_file, TRUST_LIMIT, &pinned, &pinned_len, err);
        if (rc == STRUERE_ENOTFOUND)
            rc = rt_fail(err, STRUERE_ETRUST,
                         "the pinned trust policy %s does not exist",
                         trust_file);
    }
    if (rc == 0)
        rc = rt_trust_load(t, (const char *)obj.data, obj.len, pinned,
                           pinned_len, st->trust_version, st->trust_digest,
                           where, err);
    if (rc == 0 && (rc = legacy_check(st, *t, where, err)) < 0) {
        struere_trust_free(*t);
        *t = NULL;
    }
    if (rc == 0) {
        unsigned char digest[32];
        struere_trust_digest(digest, *t);
        rt_state_trust(st, struere_trust_version(*t), digest);
    }
    free(pinned);
    free(obj.data);
    return rc;
}

/*
 * When the policy requires signatures for the environment: the latest
 * complete statement must name the branch's commit `id`, with the
 * digests read, and enough trusted signatures (TRUST.md §4). `*seq`
 * receives its sequence (0 when no signature is required).
 */
static int promotion_check(struct rt_git *repo, const struct rt_keystore *ks,
                           const struere_trust *t, const unsigned char *id,
                           const struct digests *d, const struct rt_state *st,
                           uint64_t *seq, struere_error *err)
{
    int env = ks->env, k = struere_trust_required(t, env);
    const char *name = struere_env_name(env);
    char file[32], branch[41];
    unsigned char pid[RT_GIT_ID];
    struct rt_git_object obj = {0};
    struere_statement statement;
    struere_error e;
    *seq = 0;
    if (k < 1)
        return 0;
    rt_git_id_hex(id, branch);
    snprintf(file, sizeof(file), "%s.json", name);
    int rc = rt_git_ref(repo, PROMOTIONS_REF, pid, &e);
    if (rc < 0)
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "%s requires %d signature(s) but the store has no "
                       "promotion statement (" PROMOTIONS_REF "): "
                       "refs/heads/struere/%s was not promoted by struere",
                       name, k, name);
    rc = commit_file(repo, PROMOTIONS_REF, pid, file, TRUST_LIMIT, &obj, &e);
    if (rc < 0)
        return rt_fail(err, STRUERE_EUNAPPROVED,
                       "%s requires %d signature(s) but no complete "
                       "promotion statement exists for it (%.200s)",
                       name, k, e.message);
    rc = struere_promotion_check(&statement, (const char *)obj.data, obj.len, t,
                                 env, branch, d->bundle, d->manifest,
                                 st->sequence[env], &e);
    free(obj.data);
    char where[512];
    if (rc == STRUERE_EREPLAY)
        return rt_fail(err, rc, "%.400s (%s)", e.message,
                       state_where(ks->state_file, where, sizeof(where)));
    if (rc < 0)
        return rt_fail(err, rc, "%.480s", e.message);
    *seq = statement.sequence;
    return 0;
}

/* What an open and a reload read from the store once the key's form is
 * known: the trust policy, the key's record, the environment's commit,
 * and (unless it is `loaded`) its bundle, verified, with its promotion. */
struct reading {
    unsigned char id[RT_GIT_ID];
    struere_bundle *bundle; /* NULL when the commit is `loaded` */
    struct digests d;       /* the bundle's, when it was read */
    uint64_t sequence;
};

/* Keeps what r read of a bundle for the next reload. */
static void keep_loaded(struct rt_keystore *ks, const struct reading *r)
{
    memcpy(ks->loaded_bundle, r->d.bundle, 32);
    memcpy(ks->loaded_manifest, r->d.manifest, 32);
    ks->have_loaded = 1;
}

/* `st`: what was accepted before, to which what is read is added (the
 * trust policy in force, a revocation, the sequence of a promotion
 * accepted). */
static int store_reading(struct rt_git *repo, const struct rt_keystore *ks,
                         int64_t now, const unsigned char *loaded,
                         struct rt_state *st, struct reading *r,
                         struere_error *err)
{
    struere_trust *trust = NULL;
    r->bundle = NULL;
    r->sequence = 0;
    char where[512];
    int rc = trust_read(repo, ks->trust_file, st,
                        state_where(ks->state_file, where, sizeof(where)),
                        &trust, err);
    if (rc == 0)
        rc = key_lookup(repo, ks, trust, now, st, err);
    if (rc == 0)
        rc = env_commit(repo, ks->env, r->id, err);
    int same = loaded && !memcmp(r->id, loaded, RT_GIT_ID) && ks->have_loaded;
    if (rc == 0 && same) {
        /* The same commit: its promotion is checked again all the same,
         * under the trust policy as it is now (one may have been put in
         * force, or its K raised, since the bundle was loaded). */
        memcpy(r->d.bundle, ks->loaded_bundle, 32);
        memcpy(r->d.manifest, ks->loaded_manifest, 32);
        rc = promotion_check(repo, ks, trust, r->id, &r->d, st, &r->sequence,
                             err);
    } else if (rc == 0) {
        rc = env_bundle(repo, ks->env, r->id, &r->bundle, &r->d, err);
        if (rc == 0)
            rc = promotion_check(repo, ks, trust, r->id, &r->d, st,
                                 &r->sequence, err);
    }
    if (rc == 0 && r->sequence > st->sequence[ks->env])
        st->sequence[ks->env] = r->sequence;
    if (rc < 0) {
        struere_bundle_free(r->bundle);
        r->bundle = NULL;
    }
    struere_trust_free(trust);
    return rc;
}

/* ---- the API ---- */

static void keystore_free(struct rt_keystore *ks)
{
    if (!ks)
        return;
    free(ks->path);
    free(ks->trust_file);
    free(ks->state_file);
    rt_state_clear(&ks->seen);
    sodium_memzero(ks, sizeof(*ks));
    free(ks);
}

/* A new keystore for the key `key` (`len` bytes, of the form checked), or
 * for environment `env` without a key (`key` NULL), in the store `repo`. */
static int keystore_new(struct rt_keystore **out, struct rt_git *repo,
                        const char *key, size_t len, size_t prefix_len, int env,
                        const struere_open_options *o, struere_error *err)
{
    struct rt_keystore *ks = calloc(1, sizeof(*ks));
    *out = NULL;
    if (!ks || !(ks->path = strdup(rt_git_dir(repo))) ||
        (o->trust_file && !(ks->trust_file = strdup(o->trust_file))) ||
        (o->state_file && !(ks->state_file = strdup(o->state_file)))) {
        if (ks) {
            free(ks->path);
            free(ks->trust_file);
        }
        free(ks);
        return rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store");
    }
    ks->env = env;
    if (key) {
        rt_sha256(key, len, ks->digest);
        rt_key_label(ks->label, sizeof(ks->label), key, prefix_len);
        rt_key_kept(ks->kept, key, prefix_len);
    }
    *out = ks;
    return 0;
}

/* ---- what was accepted before (rt_state.h) ---- */

/* What an open or reload starts from, and adds to as it reads. */
struct remembered {
    struct rt_state seen; /* the runtime's, the caller's and the file's */
    struct rt_state file; /* the state file as read (none: empty) */
};

/* What was accepted before an open or reload, into `r`: what the runtime
 * (`own`) and the caller (`memory`) remember, each NULL for none, and the
 * state file (NULL: none). */
static int state_begin(struct remembered *r, const struct rt_state *own,
                       const struct rt_state *memory, const char *state_file,
                       struere_error *err)
{
    memset(r, 0, sizeof(*r));
    int rc = state_file ? rt_state_load(state_file, &r->file, err) : 0;
    if (rc == 0 && (rt_state_merge(&r->seen, &r->file) < 0 ||
                    (own && rt_state_merge(&r->seen, own) < 0) ||
                    (memory && rt_state_merge(&r->seen, memory) < 0)))
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store");
    if (rc < 0) {
        rt_state_clear(&r->seen);
        rt_state_clear(&r->file);
    }
    return rc;
}

/*
 * Keeps what `r` holds once an open or reload has ended with `rc`: in
 * `own` and `memory` (each NULL for none), and in the state file when
 * that adds to what it held (else it is not even locked: a runtime that
 * may only read its state file opens while nothing changes), also when
 * the open failed (a revocation, the trust policy in force, are known all
 * the same). Returns `rc`; when it was 0, a failure to keep (when it was
 * not, a failure to keep is added to err's message). `r` is cleared.
 */
static int state_end(struct remembered *r, struct rt_state *own,
                     struct rt_state *memory, const char *state_file, int rc,
                     struere_error *err)
{
    struere_error unsaved = {0};
    int kept =
        state_file && rt_state_adds(&r->file, &r->seen)
            ? rt_state_save(state_file, &r->seen, rc == 0 ? err : &unsaved)
            : 0;
    /* The open failed, and what it learnt (a revocation, say) is not
     * kept either: both are said. */
    if (rc < 0 && kept < 0 && err) {
        size_t n = strnlen(err->message, sizeof(err->message) - 1);
        snprintf(err->message + n, sizeof(err->message) - n,
                 " (and state file %s was not updated: %s)", state_file,
                 unsaved.message);
    }
    if ((own && rt_state_merge(own, &r->seen) < 0) ||
        (memory && rt_state_merge(memory, &r->seen) < 0))
        kept = rc == 0 ? rt_fail(err, STRUERE_ENOMEM,
                                 "out of memory opening a store")
                       : kept;
    rt_state_clear(&r->seen);
    rt_state_clear(&r->file);
    return rc < 0 ? rc : kept;
}

/* The steps of an open after the key's form is checked: the store, what
 * was accepted before (the caller's `memory`, NULL for none, and the
 * state file), what store_reading reads, the runtime. */
static int open_store(struere_runtime **out, const char *key, size_t len,
                      size_t prefix_len, int env, const struere_open_options *o,
                      struct rt_state *memory, struere_error *err)
{
    struct rt_git *repo = NULL;
    struct rt_keystore *ks = NULL;
    struct reading r = {0};
    struct remembered st;
    int begun = 0;
    int rc = store_open(&repo, o->store, err);
    if (rc == 0)
        rc = keystore_new(&ks, repo, key, len, prefix_len, env, o, err);
    if (rc == 0)
        begun = (rc = state_begin(&st, NULL, memory, ks->state_file, err)) == 0;
    if (rc == 0)
        rc = store_reading(repo, ks, o->now, NULL, &st.seen, &r, err);
    rt_git_close(repo);
    if (rc == 0 && (rc = rt_runtime_new(out, r.bundle, err)) < 0)
        struere_bundle_free(r.bundle);
    if (begun)
        rc = state_end(&st, &ks->seen, memory, ks->state_file, rc, err);
    if (rc < 0) {
        struere_runtime_free(*out); /* the keystore is not attached yet */
        *out = NULL;
        keystore_free(ks);
        return rc;
    }
    keep_loaded(ks, &r);
    (*out)->ks = ks;
    (*out)->ks_free = keystore_free;
    (*out)->sequence = r.sequence;
    rt_git_id_hex(r.id, (*out)->commit);
    return 0;
}

int struere_runtime_open(struere_runtime **out, const char *key,
                         const struere_open_options *options,
                         struere_error *err)
{
    int env = 0;
    size_t len = 0, prefix_len = 0;
    struere_open_options none = {0};
    rt_clear(err);
    if (!out)
        return rt_fail(err, STRUERE_EINVAL, "no place to store the runtime");
    *out = NULL;
    int rc = rt_key_parse(key, &env, &prefix_len, &len, err);
    if (rc < 0)
        return rc;
    if (sodium_init() < 0)
        return rt_fail(err, STRUERE_EIO, "libsodium cannot be initialised");
    return open_store(out, key, len, prefix_len, env, options ? options : &none,
                      NULL, err);
}

int struere_runtime_open_key(struere_runtime **out, const char *store,
                             const char *key, int64_t now, struere_error *err)
{
    struere_open_options o = {0};
    o.store = store;
    o.now = now;
    return struere_runtime_open(out, key, &o, err);
}

int rt_runtime_open_env(struere_runtime **out, int env,
                        const struere_open_options *options,
                        struct rt_state *memory, struere_error *err)
{
    struere_open_options none = {0};
    rt_clear(err);
    if (!out)
        return rt_fail(err, STRUERE_EINVAL, "no place to store the runtime");
    *out = NULL;
    if (env < STRUERE_ENV_DEVELOPMENT || env > STRUERE_ENV_EVAL)
        return rt_fail(err, STRUERE_EINVAL,
                       "environment %d is not one of STRUERE_ENV_*", env);
    if (sodium_init() < 0)
        return rt_fail(err, STRUERE_EIO, "libsodium cannot be initialised");
    return open_store(out, NULL, 0, 0, env, options ? options : &none, memory,
                      err);
}

int struere_runtime_open_env(struere_runtime **out, int env,
                             const struere_open_options *options,
                             struere_error *err)
{
    return rt_runtime_open_env(out, env, options, NULL, err);
}

/* ---- the keyring: every record of a store, for checking many keys ---- */

struct struere_keyring {
    char *json; /* keys.json; the records' signatures borrow from it */
    struct rt_key_record *records;
    size_t count;
    struere_trust *trust; /* NULL: the store has no trust policy */
    char commit[41];      /* of refs/struere/keys, "" without one */
    char *no_keys;        /* without one: what an open by key says */
};

void struere_keyring_free(struere_keyring *kr)
{
    if (!kr)
        return;
    if (kr->records)
        sodium_memzero(kr->records, kr->count * sizeof(*kr->records));
    free(kr->records);
    free(kr->json);
    free(kr->no_keys);
    struere_trust_free(kr->trust);
    free(kr);
}

/* Reads the records (none when the store has no keys ref) and the trust
 * policy of the open store into `kr`, against what was accepted before
 * (`st`, to which the policy and the revocations read are added). */
static int keyring_read(struere_keyring *kr, struct rt_git *repo,
                        const char *trust_file, struct rt_state *st,
                        const char *where, struere_error *err)
{
    unsigned char id[RT_GIT_ID];
    struct rt_git_object obj = {0};
    struere_error e;
    int rc = trust_read(repo, trust_file, st, where, &kr->trust, err);
    if (rc < 0)
        return rc;
    rc = rt_git_ref(repo, KEYS_REF, id, &e);
    if (rc == STRUERE_ENOTFOUND) {
        ref_commit(repo, KEYS_REF,
                   "create a key with: struere keys create --env ENV", id, &e);
        return (kr->no_keys = strdup(e.message))
                   ? 0
                   : rt_fail(err, STRUERE_ENOMEM,
                             "out of memory opening a keyring");
    }
    if (rc < 0)
        return rt_fail(err, failed_as(rc, STRUERE_ESTORE),
                       KEYS_REF " cannot be read: %.400s", e.message);
    rc = commit_file(repo, KEYS_REF, id, KEYS_FILE, KEYS_JSON_LIMIT, &obj, err);
    if (rc < 0)
        return rc;
    kr->json = (char *)obj.data; /* the keyring's, freed with it */
    rc = rt_key_records_read(kr->json, obj.len, &kr->records, &kr->count, err);
    if (rc == 0 && revocations_note(kr->records, kr->count, kr->trust, st) < 0)
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading key records");
    if (rc == 0)
        rt_git_id_hex(id, kr->commit);
    return rc;
}

int rt_keyring_open(struere_keyring **out, const struere_open_options *options,
                    struct rt_state *memory, struere_error *err)
{
    struere_open_options none = {0};
    const struere_open_options *o = options ? options : &none;
    struct rt_git *repo = NULL;
    rt_clear(err);
    if (!out)
        return rt_fail(err, STRUERE_EINVAL, "no place to store the keyring");
    *out = NULL;
    if (sodium_init() < 0)
        return rt_fail(err, STRUERE_EIO, "libsodium cannot be initialised");
    struere_keyring *kr = calloc(1, sizeof(*kr));
    int rc =
        kr ? store_open(&repo, o->store, err)
           : rt_fail(err, STRUERE_ENOMEM, "out of memory opening a keyring");
    struct remembered st;
    if (rc == 0 &&
        (rc = state_begin(&st, NULL, memory, o->state_file, err)) == 0) {
        char where[512];
        rc =
            keyring_read(kr, repo, o->trust_file, &st.seen,
                         state_where(o->state_file, where, sizeof(where)), err);
        rc = state_end(&st, NULL, memory, o->state_file, rc, err);
    }
    rt_git_close(repo);
    if (rc < 0) {
        struere_keyring_free(kr);
        return rc;
    }
    *out = kr;
    return 0;
}

int struere_keyring_open(struere_keyring **out,
                         const struere_open_options *options,
                         struere_error *err)
{
    return rt_keyring_open(out, options, NULL, err);
}

int struere_keyring_check(int *env, const struere_keyring *kr, const char *key,
                          int64_t now, struere_error *err)
{
    int found = 0;
    rt_clear(err);
    if (env)
        *env = 0;
    if (!kr)
        return rt_fail(err, STRUERE_EINVAL, "no keyring to check the key in");
    int rc = key_check(kr->records, kr->count, kr->no_keys, kr->trust, key, now,
                       &found, err);
    if (rc == 0 && env)
        *env = found;
    return rc;
}

size_t struere_keyring_count(const struere_keyring *kr)
{
    return kr ? kr->count : 0;
}

const char *struere_keyring_commit(const struere_keyring *kr)
{
    return kr ? kr->commit : NULL;
}

uint64_t struere_runtime_sequence(const struere_runtime *rt)
{
    return rt ? rt->sequence : 0;
}

int struere_runtime_reload(int *changed, struere_runtime *rt, int64_t now,
                           struere_error *err)
{
    struct rt_git *repo = NULL;
    unsigned char loaded[RT_GIT_ID];
    struct reading r = {0};
    rt_clear(err);
    if (changed)
        *changed = 0;
    if (!rt)
        return rt_fail(err, STRUERE_EINVAL, "no runtime to reload");
    if (!rt->ks)
        return rt_fail(err, STRUERE_EINVAL,
                       "this runtime was opened from a file: it has no "
                       "store to reload from");
    struct rt_keystore *ks = rt->ks;
    struct remembered st;
    int have = rt_git_id_parse(rt->commit, loaded) == 0, begun = 0;
    int rc = store_open(&repo, ks->path, err);
    if (rc == 0)
        begun =
            (rc = state_begin(&st, &ks->seen, NULL, ks->state_file, err)) == 0;
    if (rc == 0)
        rc = store_reading(repo, ks, now, have ? loaded : NULL, &st.seen, &r,
                           err);
    rt_git_close(repo);
    if (begun)
        rc = state_end(&st, &ks->seen, NULL, ks->state_file, rc, err);
    if (rc < 0 || !r.bundle) {
        struere_bundle_free(r.bundle);
        return rc;
    }
    if ((rc = rt_runtime_swap(rt, r.bundle, err)) < 0) {
        struere_bundle_free(r.bundle);
        return rc;
    }
    rt_git_id_hex(r.id, rt->commit);
    rt->sequence = r.sequence;
    keep_loaded(rt->ks, &r);
    if (changed)
        *changed = 1;
    return 0;
}
