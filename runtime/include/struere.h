/*
 * struere.h - the whole public API of libstruere, the struere runtime.
 *
 * The runtime loads a compiled bundle (runtime/BUNDLE.md), verifies every
 * byte of it, and answers lookups from the loaded bytes. Nothing here
 * prints, exits or keeps global error state.
 *
 * Conventions, the same for every call:
 *  - a call that can fail returns int: 0 (or, where said, a non-negative
 *    answer such as a JSON type or 1/0) on success, a negative
 *    STRUERE_E* code on failure;
 *  - what a call produces comes first in its arguments (the handle or
 *    struct it fills, or a caller's buffer `buf, cap, len`), then what it
 *    reads, and `struere_error *err` comes last (NULL when the caller does
 *    not want the details);
 *  - text written to a caller's buffer is written as snprintf would, the
 *    length needed in `*len`, STRUERE_ERANGE when it did not fit;
 *  - getters that cannot fail return the value, NULL or 0 for a NULL
 *    handle; every *_free takes NULL as a no-op;
 *  - structs the caller owns hold no private fields (a decision keeps
 *    the library's state in opaque bytes).
 */
#ifndef STRUERE_H
#define STRUERE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Return codes. Every function that can fail returns STRUERE_OK (0) or one
 * of these negative codes.
 */
#define STRUERE_OK 0
#define STRUERE_ENOMEM (-1)     /* out of memory */
#define STRUERE_EIO (-2)        /* a file could not be read */
#define STRUERE_EFORMAT (-3)    /* not a bundle (bad magic) */
#define STRUERE_EVERSION (-4)   /* a format major version not known */
#define STRUERE_ETRUNCATED (-5) /* length differs from the header's size */
#define STRUERE_ECHECKSUM (-6)  /* a CRC-32 does not match */
#define STRUERE_EENV (-7)       /* invalid or unexpected environment */
#define STRUERE_ECORRUPT (-8)   /* bad structure: offsets, padding, ... */
#define STRUERE_ENOTFOUND (-9)  /* no such entry */
#define STRUERE_EINVAL (-10)    /* invalid argument */
#define STRUERE_EKEY (-11)      /* an API key that is malformed or unknown */
#define STRUERE_EREVOKED (-12)  /* an API key that was revoked */
#define STRUERE_EEXPIRED (-13)  /* an API key past its expiry date */
#define STRUERE_ESTORE (-14)  /* the store cannot be read as a struere store */
#define STRUERE_EJSON (-15)   /* a JSON input that is not valid JSON */
#define STRUERE_ERANGE (-16)  /* an output buffer too small, or a limit */
#define STRUERE_EDIGEST (-17) /* a bundle's SHA-256 is not its manifest's */
/* Signed promotions (runtime/TRUST.md): */
#define STRUERE_EUNAPPROVED                                                    \
    (-18) /* no complete promotion statement names the branch's commit */
#define STRUERE_ESIGNATURE                                                     \
    (-19)                     /* too few valid signatures by trusted keys      \
                               */
#define STRUERE_EREPLAY (-20) /* a statement older than one already seen */
#define STRUERE_ETRUST (-21)  /* the trust policy cannot be trusted */

/*
 * A short, static description of a return code ("checksum mismatch").
 * Never returns NULL; unknown codes give "unknown error".
 */
const char *struere_strerror(int code);

/*
 * The details of a failure, filled by the functions that take one (the
 * pointer may be NULL when the caller does not want them). `message` is a
 * complete, NUL-terminated sentence naming what is wrong and where;
 * `offset` is the offset in the bundle of the offending byte or field (0
 * when the failure is not about a place in the bundle). On success the
 * struct is left with code 0 and an empty message.
 */
typedef struct struere_error {
    int code;
    uint64_t offset;
    char message[512];
} struere_error;

/* Environments, as stored in a bundle's header. */
#define STRUERE_ENV_DEVELOPMENT 1
#define STRUERE_ENV_PRODUCTION 2
#define STRUERE_ENV_EVAL 3

/* "development", "production", "eval"; NULL for any other value. */
const char *struere_env_name(int env);

/* Definition kinds. Automations exist only in development and production
 * bundles; eval suites and fixtures only in eval bundles. */
#define STRUERE_KIND_AGENT 0
#define STRUERE_KIND_DATA 1
#define STRUERE_KIND_ROLE 2
#define STRUERE_KIND_TOOL 3
#define STRUERE_KIND_AUTOMATION 4
#define STRUERE_KIND_EVAL 5
#define STRUERE_KIND_FIXTURE 6
#define STRUERE_KIND_COUNT 7

/* "agent", "data", "role", "tool", "automation", "eval", "fixture";
 * NULL for any other value. */
const char *struere_kind_name(int kind);

/* A loaded, verified bundle. Opaque; freed with struere_bundle_free. */
typedef struct struere_bundle struere_bundle;

/*
 * Checks `len` bytes at `bytes` against every rule of BUNDLE.md, in the
 * order it gives, without allocating. `expected_env` is one of the
 * STRUERE_ENV_* values, or 0 to accept any environment.
 *
 * Returns 0 when the bundle is valid; otherwise the code of the first
 * problem found, with the details in `*err` when `err` is not NULL.
 * STRUERE_EINVAL when `bytes` is NULL (and `len` is not 0) or
 * `expected_env` is not 0 or a valid environment.
 */
int struere_bundle_verify(const void *bytes, size_t len, int expected_env,
                          struere_error *err);

/*
 * Checks only what the first bytes of a bundle allow: magic, version,
 * environment, the header's size against `total` (the bundle's length),
 * and the header and section-table CRC. `prefix` holds the first `avail`
 * bytes (at least 64 + 24 * section count, or the whole bundle). For
 * tools that must not read a whole bundle (a deploy); a runtime opening a
 * bundle verifies all of it. Returns 0 or the code of the problem, with
 * details in `*err`; STRUERE_EINVAL when `avail` is too short.
 */
int struere_bundle_verify_header(const void *prefix, size_t avail,
                                 uint64_t total, int expected_env,
                                 struere_error *err);

/*
 * Verifies the bundle at `bytes` (as struere_bundle_verify) and, when it
 * is valid, opens a private copy of it: the caller may free `bytes`
 * afterwards. On success `*out` is a new handle the caller owns and must
 * give to struere_bundle_free. On failure `*out` is NULL, nothing stays
 * allocated, and the return value and `*err` say why.
 */
int struere_bundle_open_memory(struere_bundle **out, const void *bytes,
                               size_t len, int expected_env,
                               struere_error *err);

/*
 * As struere_bundle_open_memory, reading the bundle from the file at
 * `path`. STRUERE_EIO (with the system's reason in `*err`) when the file
 * cannot be opened or read.
 */
int struere_bundle_open_file(struere_bundle **out, const char *path,
                             int expected_env, struere_error *err);

/* Frees a bundle and everything borrowed from it. NULL is a no-op. */
void struere_bundle_free(struere_bundle *b);

/* What a bundle's header and META section say. */
typedef struct struere_bundle_info {
    unsigned major, minor;           /* format version */
    int environment;                 /* a STRUERE_ENV_* value */
    uint64_t size;                   /* the bundle's length in bytes */
    unsigned char source_digest[32]; /* SHA-256 of the sources */
    const char *project_name;
    const char *project_version; /* "" when absent */
    const char *organization_id; /* "" when absent */
    const char *organization_name;
    const char *compiler_version;
    size_t counts[STRUERE_KIND_COUNT]; /* entries per STRUERE_KIND_* */
} struere_bundle_info;

/*
 * Fills `*out` with the bundle's header and META details. The strings are
 * borrowed from the bundle, NUL-terminated, and valid until it is freed.
 * Returns 0, or STRUERE_EINVAL when `b` or `out` is NULL.
 */
int struere_bundle_get_info(struere_bundle_info *out, const struere_bundle *b,
                            struere_error *err);

/*
 * The number of entries of `kind` in the bundle: 0 when the kind is absent
 * from the bundle's environment, is not a valid kind, or `b` is NULL.
 */
size_t struere_bundle_count(const struere_bundle *b, int kind);

/*
 * The `index`th entry of `kind`, in slug order. Each of `slug`, `body`
 * and `body_len` may be NULL when not wanted; the strings are borrowed,
 * NUL-terminated, and valid until the bundle is freed. `body` is the
 * definition as canonical JSON.
 *
 * A body is checked to be one well-formed JSON object the first time it
 * is asked for (the rest of the bundle was verified when it was opened).
 *
 * Returns 0; STRUERE_ENOTFOUND when `index` is past the end or the kind is
 * absent from the bundle's environment; STRUERE_ECORRUPT when the body
 * (asked for through `body` or `body_len`) is not a JSON object;
 * STRUERE_EINVAL when `b` is NULL or `kind` is not a STRUERE_KIND_* value.
 */
int struere_bundle_entry(const char **slug, const char **body, size_t *body_len,
                         const struere_bundle *b, int kind, size_t index,
                         struere_error *err);

/*
 * Finds the entry of `kind` whose slug is `slug` (a binary search over
 * the loaded bytes; nothing is allocated). `body` and `body_len` may be
 * NULL; the body is borrowed as in struere_bundle_entry.
 *
 * Returns 0; STRUERE_ENOTFOUND when there is no such entry or the kind is
 * absent from the bundle's environment; STRUERE_ECORRUPT when its body is
 * not a JSON object; STRUERE_EINVAL when `b` or `slug`
 * is NULL or `kind` is not a STRUERE_KIND_* value.
 */
int struere_bundle_lookup(const char **body, size_t *body_len,
                          const struere_bundle *b, int kind, const char *slug,
                          struere_error *err);

/*
 * The bundle's bytes, borrowed until the bundle is freed; their length is
 * stored in `*len` when `len` is not NULL. NULL when `b` is NULL.
 */
const void *struere_bundle_bytes(const struere_bundle *b, size_t *len);

/*
 * The SHA-256 that a manifest.json (as the compiler writes it beside the
 * bundles, in each commit and with `struere build`) records for the
 * bundle of environment `env` (a STRUERE_ENV_* value), into `out`.
 * Returns 0; STRUERE_EDIGEST when the manifest is not JSON or has no such
 * digest; STRUERE_EINVAL for NULL arguments or an invalid `env`.
 */
int struere_manifest_digest(unsigned char out[32], const void *manifest,
                            size_t len, int env, struere_error *err);

/*
 * Checks that the `bundle_len` bytes at `bundle` have the SHA-256 the
 * manifest records for environment `env`. Returns 0; STRUERE_EDIGEST
 * (the message naming the bundle, the found and the expected digest)
 * when they differ or the manifest has none; STRUERE_EINVAL for NULL
 * arguments. The runtime does this itself when it opens by key.
 */
int struere_manifest_check(const void *manifest, size_t manifest_len, int env,
                           const void *bundle, size_t bundle_len,
                           struere_error *err);

/* ------------------------------------------------------------------ */
/* Trust: policies and promotion statements (runtime/TRUST.md)          */
/* ------------------------------------------------------------------ */

/* The most keys a trust policy may name. */
#define STRUERE_TRUST_MAX_KEYS 64

/* A verified trust policy. Opaque; freed with struere_trust_free. */
typedef struct struere_trust struere_trust;

/*
 * Reads a trust.json (`len` bytes) and verifies its chain: each policy
 * after the first must follow the one before it and be signed by as many
 * of its keys as it required anywhere. With `pinned` (another trust.json,
 * `pinned_len` bytes; NULL for trust on first use) the chain must contain
 * the pinned file's last policy, and only what follows it is checked.
 * On success `*out` is the policy in force (free it with
 * struere_trust_free). STRUERE_ETRUST (with the reason) when anything
 * does not verify; STRUERE_EINVAL for NULL arguments.
 */
int struere_trust_load(struere_trust **out, const void *json, size_t len,
                       const void *pinned, size_t pinned_len,
                       struere_error *err);
void struere_trust_free(struere_trust *t);
/* The policy's version (1 for the first), 0 for NULL. */
unsigned struere_trust_version(const struere_trust *t);
/* K, the signatures environment `env` requires (0 for NULL). */
int struere_trust_required(const struere_trust *t, int env);
/* The policy's keys: how many, and the name and public key
 * ("ed25519:<base64>") of key `i`, borrowed until `t` is freed. */
size_t struere_trust_key_count(const struere_trust *t);
int struere_trust_key(const char **name, const char **key,
                      const struere_trust *t, size_t i, struere_error *err);
/* SHA-256 of the policy's payload (what the next policy names). */
void struere_trust_digest(unsigned char out[32], const struere_trust *t);

/*
 * Whether one API key record (a JSON object of keys.json, `len` bytes)
 * carries a valid signature by a key `t` trusts (TRUST.md §5): 0 when it
 * does; STRUERE_ENOTFOUND when it carries none; STRUERE_ESIGNATURE when
 * its signature does not verify with a trusted key; STRUERE_ESTORE when
 * it is not a well-formed record (one with a member named twice is not).
 * For tools that list key records.
 */
int struere_key_record_signed(const struere_trust *t, const void *record,
                              size_t len, struere_error *err);

/* A promotion statement, as read by struere_statement_read. */
typedef struct struere_statement {
    int environment;   /* STRUERE_ENV_* */
    char commit[41];   /* the commit the branch moves to */
    char replaces[41]; /* the one it pointed at; "" for none */
    unsigned char bundle_sha256[32], manifest_sha256[32];
    uint64_t sequence; /* grows with each statement of the environment */
    int64_t time;      /* seconds since the epoch */
    char who[256];
    char action[16];     /* "deploy", "rollback" or "dev" */
    unsigned signatures; /* valid signatures of distinct trusted keys */
    uint64_t signed_by;  /* bit i set: key i of the policy signed */
} struere_statement;

/*
 * Reads a statement document (`len` bytes) and counts its valid
 * signatures by distinct keys of `t` (NULL: none count). Returns 0;
 * STRUERE_EUNAPPROVED when it is not a well-formed statement;
 * STRUERE_ESIGNATURE when a signature entry is malformed (an entry that
 * is well-formed but does not verify, or is by an untrusted key, is only
 * not counted).
 */
int struere_statement_read(struere_statement *out, const void *json, size_t len,
                           const struere_trust *t, struere_error *err);

/*
 * Whether the statement document `json` (`len` bytes), the latest
 * complete statement of environment `env`, lets a runtime serve `commit`
 * (40 hex digits) whose bundle and manifest.json have the SHA-256s
 * given: it must be a well-formed statement of `env` naming exactly
 * `commit` (STRUERE_EUNAPPROVED), with those digests (STRUERE_EDIGEST),
 * valid signatures of at least struere_trust_required(t, env) distinct
 * keys `t` trusts (STRUERE_ESIGNATURE), and a sequence not below
 * `min_sequence` (STRUERE_EREPLAY). Returns 0 with `*out` (may be NULL)
 * filled; the code and `*err` say why not. What opening by key checks;
 * for tools that show what a runtime would decide.
 */
int struere_promotion_check(struere_statement *out, const void *json,
                            size_t len, const struere_trust *t, int env,
                            const char *commit,
                            const unsigned char bundle_sha256[32],
                            const unsigned char manifest_sha256[32],
                            uint64_t min_sequence, struere_error *err);

/* ------------------------------------------------------------------ */
/* JSON values                                                          */
/* ------------------------------------------------------------------ */

/*
 * Bundle bodies are canonical JSON (BUNDLE.md). These read them, and the
 * caller's records, in place: nothing is allocated.
 *
 * A struere_json is `len` bytes of JSON text at `ptr`, borrowed from the
 * buffer it was found in (not NUL-terminated).
 */
typedef struct struere_json {
    const char *ptr;
    size_t len;
} struere_json;

#define STRUERE_JSON_NULL 1
#define STRUERE_JSON_FALSE 2
#define STRUERE_JSON_TRUE 3
#define STRUERE_JSON_NUMBER 4
#define STRUERE_JSON_STRING 5
#define STRUERE_JSON_ARRAY 6
#define STRUERE_JSON_OBJECT 7

/*
 * Finds the value at `path` in the JSON text `json` (`len` bytes): a dot
 * path of object keys, where an all-digit segment indexes an array
 * ("tools.0.parameters"); "" is the whole text. Returns 0 with the value
 * in `*out`; STRUERE_ENOTFOUND when a segment is absent; STRUERE_EJSON
 * when the text on the way is not valid JSON; STRUERE_EINVAL for NULL
 * arguments.
 */
int struere_json_get(struere_json *out, const char *json, size_t len,
                     const char *path, struere_error *err);

/* The STRUERE_JSON_* type of `v`, or STRUERE_EJSON when it is not one
 * valid JSON value. */
int struere_json_type(struere_json v, struere_error *err);

/*
 * Decodes the JSON string `v` (escapes resolved) into `buf` (`cap` bytes)
 * with a terminating NUL; `*len` (when not NULL) receives the decoded
 * length. STRUERE_ERANGE when `cap` is too small (`*len` then says how
 * many bytes are needed, without the NUL); STRUERE_EINVAL when `v` is not
 * a string. A decoded NUL (\u0000) is refused with STRUERE_EJSON.
 */
int struere_json_string(char *buf, size_t cap, size_t *len, struere_json v,
                        struere_error *err);

/* Frees a string or list the library allocated for the caller (prompt
 * renderings, query results). NULL is a no-op. */
void struere_free(void *p);

/* ------------------------------------------------------------------ */
/* The runtime: one environment's bundle, opened by key or by file       */
/* ------------------------------------------------------------------ */

/*
 * A runtime answers from one verified bundle, and precomputes what its
 * answers need: at open, the data types and, in eval, the fixture records
 * indexed; each role when an actor first holds it (so opening costs the
 * same whatever the number of roles). Opaque; freed with
 * struere_runtime_free. Queries and actor creation on one runtime may run
 * from many threads at once; opening, reloading and freeing must not
 * overlap with them.
 */
typedef struct struere_runtime struere_runtime;

/*
 * Opens the bundle of the environment the API key `key` belongs to, from
 * the git store at `store` (a repository: its work tree or its .git or a
 * bare repository; NULL means the current directory). In order:
 *  - `key` must have the form sk_dev_|sk_prod_|sk_eval_ followed by 32 to
 *    128 base62 characters (STRUERE_EKEY otherwise);
 *  - its SHA-256 is looked up in the key records (refs/struere/keys,
 *    keys.json) with a constant-time comparison (STRUERE_EKEY when no
 *    record has it; STRUERE_ESTORE, whatever the key, when a record is
 *    damaged or has a member named twice, or a tree on the way names an
 *    entry twice or is out of git's order);
 *  - the record's environment decides the environment; the key's prefix
 *    must name the same one (STRUERE_EKEY);
 *  - the record's "prefix" label must be the key's own: its prefix and
 *    next 6 characters (STRUERE_EKEY: the label is not signed, and
 *    `struere keys revoke` picks a record by it);
 *  - a revoked record gives STRUERE_EREVOKED, an expired one (expiry
 *    before `now`, seconds since the epoch; 0 means the clock)
 *    STRUERE_EEXPIRED;
 *  - the bundle bundles/ENV.stb of refs/heads/struere/ENV is read,
 *    verified whole, and its own environment must be the key's
 *    (STRUERE_EENV).
 * On success `*out` is a new runtime; on failure `*out` is NULL, nothing
 * stays allocated, and the code and `*err` say why.
 */
int struere_runtime_open_key(struere_runtime **out, const char *store,
                             const char *key, int64_t now, struere_error *err);

/*
 * Opens a bundle file directly, without a key (for tools). `expected_env`
 * is a STRUERE_ENV_* value, or 0 to accept any.
 */
int struere_runtime_open_file(struere_runtime **out, const char *path,
                              int expected_env, struere_error *err);

/*
 * As struere_runtime_open_file, from `len` bytes of bundle in memory (a
 * bundle a tool already holds, e.g. one read from a commit). The bytes
 * are verified and copied: the caller may free them afterwards.
 */
int struere_runtime_open_memory(struere_runtime **out, const void *bytes,
                                size_t len, int expected_env,
                                struere_error *err);

/*
 * A runtime on a bundle the caller opened (struere_bundle_open_file or
 * _memory verified it then), without verifying or copying it again: the
 * runtime takes `b` and frees it with itself, or at once when this fails.
 */
int struere_runtime_open_bundle(struere_runtime **out, struere_bundle *b,
                                struere_error *err);

/*
 * For a runtime opened by key: checks the key's record again and, when the
 * environment's ref names a commit other than the loaded one, reads,
 * verifies and precomputes the new bundle, and only then swaps it in
 * (verified whole: every checksum and string; a role's body is read when
 * an actor first holds it, see struere_actor_new). `*changed` (when not
 * NULL) is set to 1 when a new bundle was swapped in.
 * On any failure (a revoked key included) the runtime keeps the bundle it
 * had and the code says why. A swap invalidates everything borrowed from
 * the runtime and every actor made on it (they then give STRUERE_EINVAL).
 * A reload never goes back on what this runtime accepted (TRUST.md §6):
 * an older promotion, a trust policy without the one in force then, its
 * key's record from before a revocation it saw. STRUERE_EINVAL for a
 * runtime opened from a file.
 */
int struere_runtime_reload(int *changed, struere_runtime *rt, int64_t now,
                           struere_error *err);

/*
 * How struere_runtime_open opens a store (runtime/TRUST.md). Zero it and
 * set what you need.
 */
typedef struct struere_open_options {
    const char *store; /* the git store; NULL: the current directory */
    int64_t now;       /* for key expiry, seconds since the epoch; 0: clock */
    /* A pinned trust policy (a trust.json file, e.g. from `struere trust
     * show --json`): the store's policy must descend from its last policy.
     * NULL: the store's first policy is trusted on first use. */
    const char *trust_file;
    /* A file where the runtime remembers what it accepted (TRUST.md §6)
     * and refuses to go back on it: a promotion statement older than the
     * highest accepted per environment (STRUERE_EREPLAY), a trust policy
     * that does not contain the one in force when last accepted - the
     * trust ref moved back, replaced or deleted - (STRUERE_ETRUST), a key
     * seen revoked, by a revocation that counted, whose record no longer
     * says so (STRUERE_EREVOKED). NULL: none kept across opens; a
     * runtime still remembers for its own reloads. */
    const char *state_file;
} struere_open_options;

/*
 * struere_runtime_open_key with options. Besides the checks listed there,
 * when the store's trust policy (refs/struere/trust) requires K >= 1
 * signatures for the key's environment: the key's record must be signed
 * by a trusted key (STRUERE_ESIGNATURE); the latest complete promotion
 * statement of the environment must name exactly the branch's commit
 * (STRUERE_EUNAPPROVED), with the bundle's and manifest's SHA-256
 * (STRUERE_EDIGEST) and K valid signatures of distinct trusted keys
 * (STRUERE_ESIGNATURE); with a state file, nothing older than what was
 * accepted before (`state_file` above). A trust policy that does not
 * verify is STRUERE_ETRUST. The options are kept for reloads (the
 * strings are copied).
 */
int struere_runtime_open(struere_runtime **out, const char *key,
                         const struere_open_options *options,
                         struere_error *err);

/*
 * Opens environment `env`'s bundle (STRUERE_ENV_*) from the store without
 * a key, for a process that serves every key of the store (`struere
 * serve`, which checks each request's key with a keyring): the bundle of
 * refs/heads/struere/ENV, verified whole against the commit's manifest,
 * and, where the store's trust policy requires signatures for `env`, its
 * promotion statement, as for struere_runtime_open. STRUERE_EINVAL for an
 * `env` that is not one. struere_runtime_reload re-reads the branch.
 */
int struere_runtime_open_env(struere_runtime **out, int env,
                             const struere_open_options *options,
                             struere_error *err);

/*
 * A keyring: every key record of a store (refs/struere/keys, keys.json),
 * read once, with the store's trust policy, so that many keys are checked
 * without reading the store again. A record that does not read refuses
 * the whole keyring (STRUERE_ESTORE), as it refuses an open by key; a
 * store without refs/struere/keys gives an empty keyring, whose checks
 * say so (STRUERE_ESTORE, as an open by key does). Options: `store`,
 * `trust_file` and `state_file` as for struere_runtime_open (with a state
 * file, the revocations read are remembered, and a record seen revoked
 * before checks as revoked). Read again (a new keyring) to see
 * revocations made since.
 */
typedef struct struere_keyring struere_keyring;
int struere_keyring_open(struere_keyring **out,
                         const struere_open_options *options,
                         struere_error *err);

/*
 * Checks the API key `key` as struere_runtime_open does, without reading
 * the store: its form (STRUERE_EKEY), its record found in constant time
 * (STRUERE_EKEY when none), the prefix against the record's environment
 * and the record's "prefix" label against the key (STRUERE_EKEY), revoked
 * (STRUERE_EREVOKED), expired before `now`
 * (seconds since the epoch, 0: the clock; STRUERE_EEXPIRED), and the
 * record's signature where the trust policy requires signatures for its
 * environment (STRUERE_ESIGNATURE). On success `*env` is the key's
 * STRUERE_ENV_*; otherwise 0. Safe from many threads at once.
 */
int struere_keyring_check(int *env, const struere_keyring *kr, const char *key,
                          int64_t now, struere_error *err);

/* How many records the keyring holds (0 when `kr` is NULL). */
size_t struere_keyring_count(const struere_keyring *kr);

/* The commit of refs/struere/keys the records were read from (40 hex
 * digits), "" when the store has none, NULL when `kr` is NULL. */
const char *struere_keyring_commit(const struere_keyring *kr);

/* Frees a keyring. NULL is a no-op. */
void struere_keyring_free(struere_keyring *kr);

/* The sequence number of the promotion statement the loaded bundle was
 * accepted under, or 0 when its environment requires no signature (or
 * `rt` is NULL or was opened from a file). */
uint64_t struere_runtime_sequence(const struere_runtime *rt);

/* Frees a runtime and everything borrowed from it. NULL is a no-op. */
void struere_runtime_free(struere_runtime *rt);

/* The runtime's environment (STRUERE_ENV_*), or 0 when `rt` is NULL. */
int struere_runtime_env(const struere_runtime *rt);

/* The loaded bundle, borrowed: use the struere_bundle_* lookups on it.
 * NULL when `rt` is NULL. */
const struere_bundle *struere_runtime_bundle(const struere_runtime *rt);

/* The commit the bundle was read from (40 hex digits), "" for a runtime
 * opened from a file, NULL when `rt` is NULL. */
const char *struere_runtime_commit(const struere_runtime *rt);

/* ------------------------------------------------------------------ */
/* Actors and permission decisions                                      */
/* ------------------------------------------------------------------ */

#define STRUERE_ACTOR_USER 1   /* a user holding roles */
#define STRUERE_ACTOR_AGENT 2  /* an agent: the agent definition's roles */
#define STRUERE_ACTOR_SYSTEM 3 /* automations, webhooks: full access */
#define STRUERE_ACTOR_ADMIN 4  /* an organization admin: full access */

/* The most roles one actor may hold. */
#define STRUERE_MAX_ACTOR_ROLES 64

/* One of an actor's relations: `actor.relatedIds:TYPE` holds the `id`s
 * of the actor's relations of relation type `type`. */
typedef struct struere_related {
    const char *type;
    const char *id;
} struere_related;

/* Who asks. Strings are copied by struere_actor_new. */
typedef struct struere_actor_spec {
    int type;                 /* STRUERE_ACTOR_* */
    const char *id;           /* user id; agent slug; NULL otherwise */
    const char *const *roles; /* a user's role slugs */
    size_t role_count;
    /* The actor's bound record (actor.entityId). NULL: in eval, the
     * fixture record of a type bound to one of the user's roles whose
     * userIdField equals `id`; elsewhere none. */
    const char *entity_id;
    /* actor.relatedIds. NULL: in eval, the fixture relations from the
     * entity; elsewhere none. */
    const struere_related *related;
    size_t related_count;
    const char *organization_id; /* NULL: the bundle's organization */
} struere_actor_spec;

/* An actor prepared against a runtime: its roles resolved, its values
 * (user id, entity, related ids) ready, so that a decision allocates
 * nothing. Decisions, queries and renderings only read it: one actor may
 * be used from many threads at once (and kept for as long as its runtime
 * is neither freed nor reloaded). Opaque; freed with struere_actor_free. */
typedef struct struere_actor struere_actor;

/*
 * Prepares an actor (compiling its roles the first time any actor holds
 * them). STRUERE_ENOTFOUND (with the slug in `*err`) for a role or agent
 * the bundle does not have; STRUERE_EINVAL for a bad type, a missing id
 * or more than STRUERE_MAX_ACTOR_ROLES roles; STRUERE_ECORRUPT for a role
 * body that is not what the compiler writes.
 */
int struere_actor_new(struere_actor **out, const struere_runtime *rt,
                      const struere_actor_spec *spec, struere_error *err);
void struere_actor_free(struere_actor *a);

/* The actor's resolved entity id (actor.entityId), or NULL. */
const char *struere_actor_entity(const struere_actor *a);

/* The `index`th role the actor holds (a user's in the order given,
 * duplicates dropped; an agent's as its definition lists them), or NULL
 * past the last; borrowed until the runtime is freed or reloaded. */
const char *struere_actor_role(const struere_actor *a, size_t index);

/* Why a decision is what it is. */
#define STRUERE_REASON_ADMIN 1     /* allow: organization admin */
#define STRUERE_REASON_SYSTEM 2    /* allow: system actor */
#define STRUERE_REASON_NO_ROLES 3  /* deny: the actor holds no role */
#define STRUERE_REASON_DENIED 4    /* deny: a deny policy matched */
#define STRUERE_REASON_ALLOWED 5   /* allow: an allow policy matched */
#define STRUERE_REASON_NO_POLICY 6 /* deny: no policy grants it */
#define STRUERE_REASON_OUT_OF_SCOPE                                            \
    7 /* deny: the record is outside the                                       \
         row scope of every granting role */

/* A decision, filled by struere_decide. The caller owns the struct (on
 * the stack is fine); nothing in it is allocated. */
typedef struct struere_decision {
    int allowed; /* 1 allow, 0 deny */
    int reason;  /* STRUERE_REASON_* */
    /* The role and policy that decided (REASON_DENIED, REASON_ALLOWED:
     * the first matching deny, or the first granting allow, in role
     * order then policy order); NULL and -1 otherwise. */
    const char *role;
    int policy;
    /* What the calls that take a decision need of how it was made: not
     * API, its content may change from one version to the next; only its
     * size is fixed (by the soname). */
    union {
        const void *align_p;
        uint64_t align_u;
        unsigned char bytes[40];
    } opaque;
} struere_decision;

/*
 * Decides whether `actor` may do `action` (create, read, update, delete,
 * list) on `resource` (a data type slug, or "users"), as DESIGN.md §6
 * says: admin and system allow everything; no role denies; a matching deny
 * policy of any role denies; else a matching allow policy allows; else
 * deny. `*` in a policy matches any action or resource. Allocates nothing.
 * STRUERE_EINVAL for an unknown action or a stale actor, STRUERE_ENOTFOUND
 * for an unknown resource.
 */
int struere_decide(struere_decision *out, const struere_runtime *rt,
                   const struere_actor *actor, const char *action,
                   const char *resource, struere_error *err);

/*
 * The policies of the decision's actor that match its action and
 * resource, allow and deny alike, in role order then policy order (what
 * the decision was made from: a deny decision's deny policies, an allow
 * decision's granting policies). Sets `*role` (borrowed until the runtime
 * is freed or reloaded), `*policy` (the index in the role's policies)
 * and `*allow` (1 allow, 0 deny) of the `index`th; each may be NULL.
 * Returns 0; STRUERE_ENOTFOUND past the last one (an admin, system or
 * role-less actor has none); STRUERE_EINVAL for a stale or unfilled
 * decision. For tools that list every policy behind a decision
 * (`struere access`) without re-deriving the rules.
 */
int struere_decision_policy(const char **role, int *policy, int *allow,
                            const struere_runtime *rt,
                            const struere_decision *d, size_t index,
                            struere_error *err);

/*
 * The resources some policy of the actor's roles names, allow or deny:
 * every data type when one names `*`, and for admin and system actors;
 * "users" when one names it (or `*`). Data type slugs come in bundle
 * order, then "users", each once. Every other resource is denied to the
 * actor for every action with STRUERE_REASON_NO_POLICY, so a tool that
 * enumerates what an actor may do (`struere access`, `struere diff`)
 * decides only on these. Stores the first `cap` in `out` (borrowed until
 * the runtime is freed or reloaded) and the number there are in
 * `*count`. Returns 0; STRUERE_EINVAL for a stale actor or a NULL count;
 * STRUERE_ENOMEM.
 */
int struere_actor_resources(const char **out, size_t cap, size_t *count,
                            const struere_runtime *rt, const struere_actor *a,
                            struere_error *err);

/*
 * Row scope: 1 when the record (`len` bytes of JSON, shaped {"_id",
 * "type", "status", "data"}) is visible under an allow decision — some
 * granting role has no scope rule for the resource, or all of one
 * granting role's rules for it accept the record — 0 when it is not (or
 * the decision is a deny). Allocates nothing. For speed the record is
 * validated only as far as the rules read it (STRUERE_EJSON when that part
 * is not valid JSON, or the text does not start with an object); a
 * service taking records from untrusted callers checks them once with
 * struere_json_type, or masks them (struere_record_mask validates all).
 */
int struere_record_visible(const struere_runtime *rt, const struere_decision *d,
                           const char *record, size_t len, struere_error *err);

/*
 * Decides for one record: struere_decide, then, when allowed, the row
 * scope (as struere_record_visible); a record outside it turns the
 * decision into a deny with STRUERE_REASON_OUT_OF_SCOPE (role NULL,
 * policy -1). An allow names the role that admitted the record: the first
 * of the actor's roles, in order, that grants the action and whose scope
 * accepts the record, with its first granting policy (not necessarily
 * struere_decide's, whose role's scope may refuse the record).
 * Allocates nothing.
 */
int struere_decide_record(struere_decision *out, const struere_runtime *rt,
                          const struere_actor *actor, const char *action,
                          const char *resource, const char *record, size_t len,
                          struere_error *err);

/*
 * The decision's reason as a sentence ("Denied by role 'guardian',
 * policies[6] (deny delete on *)": the role, the index of the policy in
 * its list, what the policy says), written to `buf` as snprintf would;
 * `*len` (when not NULL) receives the length needed. Returns 0, or
 * STRUERE_ERANGE when `cap` was too small.
 */
int struere_reason_text(char *buf, size_t cap, size_t *len,
                        const struere_runtime *rt, const struere_decision *d,
                        struere_error *err);

/*
 * The row predicate of an allow decision as JSON, with the actor's values
 * resolved: `true` (every record), `false` (a deny), or
 * {"anyOf":[{"role":R,"allOf":[{"field":F,"operator":O,"value":V},...]}]}.
 * Written to `buf` as snprintf would; `*len` receives the length needed.
 * Returns 0, or STRUERE_ERANGE when `cap` was too small.
 */
int struere_predicate_json(char *buf, size_t cap, size_t *len,
                           const struere_runtime *rt, const struere_decision *d,
                           struere_error *err);

/*
 * The same predicate with each rule's value as the role writes it, not as
 * the actor resolves it: a literal as a JSON string (without "literal:"),
 * an actor reference as {"actor":"userId"}, {"actor":"organizationId"},
 * {"actor":"entityId"} or {"actor":"relatedIds","relation":TYPE}. Two
 * rules that compare with different things never look alike here,
 * whatever one actor's values are (access analysis compares these).
 */
int struere_predicate_written_json(char *buf, size_t cap, size_t *len,
                                   const struere_runtime *rt,
                                   const struere_decision *d,
                                   struere_error *err);

/*
 * The field mask of a decision as JSON: [] when nothing is masked, else
 * [{"field":F,"mask":"hide"}|{"field":F,"mask":"redact","replacement":R}]
 * (the masks of every granting role for the resource; hide wins over
 * redact on one field). Written as struere_predicate_json writes.
 */
int struere_mask_json(char *buf, size_t cap, size_t *len,
                      const struere_runtime *rt, const struere_decision *d,
                      struere_error *err);

/*
 * Applies the decision's field mask to a record (JSON, `len` bytes):
 * writes the record with hidden fields removed and redacted values
 * replaced, at any depth of their dot paths (through objects; arrays are
 * copied as they are), to `buf` as snprintf would (`*out_len` receives the
 * length needed). The whole record is validated: STRUERE_EJSON when it is
 * not one valid JSON object; STRUERE_ERANGE when `cap` was too small; a
 * deny decision masks nothing out of a record it never shows:
 * STRUERE_EINVAL.
 */
int struere_record_mask(char *buf, size_t cap, size_t *out_len,
                        const struere_runtime *rt, const struere_decision *d,
                        const char *record, size_t len, struere_error *err);

/*
 * The scope rules behind a decision: for the decision's resource, the
 * rules of each role that granted its action (those struere_record_visible
 * evaluates), for an allow and for a deny that struere_decide_record
 * turned out of scope; in role order then rule order. Sets `*role`
 * (borrowed until the runtime is freed or reloaded) and `*rule` (the
 * index in the role's scopeRules, as written) of the `index`th; either
 * may be NULL. Returns 0; STRUERE_ENOTFOUND past the last one (no role
 * granted, an admin or system actor, no rule); STRUERE_EINVAL for a stale
 * or unfilled decision. For coverage (`struere test`).
 */
int struere_decision_rule(const char **role, int *rule,
                          const struere_runtime *rt, const struere_decision *d,
                          size_t index, struere_error *err);

/*
 * The field masks behind an allow decision: for its resource, the masks
 * of each granting role (those struere_mask_json merges and
 * struere_record_mask applies), in role order then mask order; `*mask` is
 * the index in the role's fieldMasks, as written. Returns as
 * struere_decision_rule (STRUERE_ENOTFOUND for every deny).
 */
int struere_decision_mask(const char **role, int *mask,
                          const struere_runtime *rt, const struere_decision *d,
                          size_t index, struere_error *err);

/* ------------------------------------------------------------------ */
/* Eval data: fixture records as an actor sees them                     */
/* ------------------------------------------------------------------ */

/*
 * The fixture records of data type `type` that `actor` may list, in
 * fixture order, masked, as a JSON array of {"_id","type","status","data"}
 * in `*out` (`*len` bytes, NUL-terminated, freed with struere_free).
 * `filters` (`filters_len` bytes; NULL for none) is entity.query's filter
 * object: a record is kept when, for every key K, its data's value at dot
 * path K strictly equals the filter's value (JSON ===, before masking).
 * `limit` 0 means all. STRUERE_EENV outside eval; STRUERE_ENOTFOUND for
 * an unknown type; STRUERE_EJSON for filters that are not a JSON object; a
 * deny gives an empty array (and `*decision`, when not NULL, says why).
 */
int struere_query(char **out, size_t *len, struere_decision *decision,
                  const struere_runtime *rt, const struere_actor *actor,
                  const char *type, const char *filters, size_t filters_len,
                  size_t limit, struere_error *err);

/*
 * The fixture record `id` as `actor` may read it (read permission, row
 * scope, mask), as struere_query gives records. STRUERE_ENOTFOUND when
 * there is no such record or the actor may not see it (the decision, when
 * not NULL, tells which: its reason is 0 when there is no such record).
 * STRUERE_EENV outside eval.
 */
int struere_get_record(char **out, size_t *len, struere_decision *decision,
                       const struere_runtime *rt, const struere_actor *actor,
                       const char *id, struere_error *err);

/* ------------------------------------------------------------------ */
/* System-prompt templates                                              */
/* ------------------------------------------------------------------ */

/*
 * A tool call in a template that the runtime cannot answer itself (any
 * tool outside eval's entity.query/entity.get; custom tools only when the
 * bundle gives them a handler). `args` is the call's JSON object,
 * NUL-terminated, nested variables resolved. Sets `*result` to a malloc'd
 * NUL-terminated text (JSON or plain), inserted as it is, which the
 * library frees with free(), and returns 0 (a NULL result renders as
 * null; return "[]" for a permission denial, as Struere does); or returns
 * a negative value with `*result` an optional malloc'd message, rendered
 * "[TEMPLATE_ERROR: NAME - MESSAGE]" (a message that is already a
 * [TEMPLATE_ERROR: ...] text is inserted unchanged).
 */
typedef int (*struere_tool_fn)(void *user, const char *tool, const char *args,
                               size_t args_len, char **result);

/* What a rendering knows of the conversation. Every field may be 0/NULL. */
typedef struct struere_prompt_context {
    int64_t now_ms; /* currentTime, datetime, timestamp; 0: the clock */
    const char *user_id;
    const char *thread_id;
    const char *message;
    const char *channel; /* threadContext.channel */
    /* threadContext.params.NAME: only the parameters the agent declares
     * (threadContextParams) are visible, as in Struere. */
    const char *const *param_names;
    const char *const *param_values;
    size_t param_count;
    /* Whose permissions embedded entity queries use; NULL: the agent's. */
    const struere_actor *actor;
    struere_tool_fn tool; /* for other tools; NULL: "no handler" */
    void *tool_user;
} struere_prompt_context;

/*
 * Renders the system prompt of agent `agent` with Struere's template
 * semantics (reference §2.8): variables and function calls of the
 * agent's tools; unresolved names, bad arguments and unknown tools become
 * the [TEMPLATE_ERROR: ...] texts; each result is cut at 10 KiB with
 * "...[truncated]". In eval, entity.query and entity.get run against the
 * fixture records with the actor's permissions (a denial gives []).
 * Unlike Struere, the text is scanned once, left to right: a value
 * inserted by a variable (a user's message, say) is never scanned again,
 * so it cannot call a tool. `*out` (NUL-terminated, `*len` bytes) is freed
 * with struere_free. STRUERE_ENOTFOUND for an unknown agent;
 * STRUERE_EINVAL for NULL arguments, parameter arrays NULL with a count,
 * or `now_ms` outside JavaScript's dates (+-8.64e15); STRUERE_ERANGE for
 * a rendering over 1 MiB or {{ }} nested deeper than 16; STRUERE_ECORRUPT
 * for an agent, data type or role body that is not what the compiler
 * writes; STRUERE_ENOMEM.
 */
int struere_prompt_render(char **out, size_t *len, const struere_runtime *rt,
                          const char *agent, const struere_prompt_context *ctx,
                          struere_error *err);

/* ------------------------------------------------------------------ */
/* Automations                                                          */
/* ------------------------------------------------------------------ */

/* A change to a record. `data` and `previous` are the record's data
 * objects as JSON (`previous` only for "updated"; may be NULL). */
typedef struct struere_event {
    const char *type;      /* data type slug */
    const char *action;    /* "created", "updated" or "deleted" */
    const char *entity_id; /* the record's id (trigger.entityId) */
    const char *data;
    size_t data_len;
    const char *previous;
    size_t previous_len;
} struere_event;

/*
 * The automations that `event` fires, in slug order, as a JSON array in
 * `*out` (freed with struere_free):
 * [{"automation":SLUG,"name":N,"actions":[{"tool":T,"args":A,"as":S?}],
 *   "schedule":{...}?,"retry":{"maxAttempts":N,"backoffMs":N},
 *   "deferred":["steps.NAME.X",...]}]
 * where `args` (and schedule.at) have {{trigger.*}} resolved and every
 * {{steps.*}} left as written for the executor (listed in "deferred").
 * STRUERE_EENV in eval (which has no automations); STRUERE_EJSON for
 * event data that is not a JSON object; STRUERE_EINVAL for an unknown
 * action.
 */
int struere_automations_fire(char **out, size_t *len, const struere_runtime *rt,
                             const struere_event *event, struere_error *err);

#ifdef __cplusplus
}
#endif

#endif
