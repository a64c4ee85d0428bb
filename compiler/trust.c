/*
 * trust.c - signing keys, the trust policy and promotion statements: the
 * writing side of runtime/TRUST.md (trust.h). What is written is checked
 * with libstruere's reader before it is committed, so the command never
 * writes what the runtime would refuse without saying so.
 */
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "keys.h"
#include "sha256.h"
#include "store.h"
#include "verify.h"

const char trust_domain_policy[] = "struere-trust-policy/1\n";
const char trust_domain_statement[] = "struere-promotion/1\n";
const char trust_domain_record[] = "struere-key-record/1\n";

#define SEED_PREFIX "struere-signing-key ed25519-seed:"

static void pub_text(const unsigned char pk[32], char out[64])
{
    char b64[64];
    sodium_bin2base64(b64, sizeof(b64), pk, 32, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, 64, "ed25519:%.44s", b64);
}

/* ---- signing keys ---- */

int signer_create(const char *path, char pub[64], char *err, size_t errsize)
{
    unsigned char seed[32], pk[32], sk[64];
    char b64[64], line[128];
    if (sodium_init() < 0) {
        snprintf(err, errsize, "libsodium cannot be initialised");
        return TRUST_IO;
    }
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errsize, "%s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (a key file is never overwritten)" : "");
        return errno == EEXIST ? TRUST_INVALID : TRUST_IO;
    }
    randombytes_buf(seed, sizeof(seed));
    crypto_sign_seed_keypair(pk, sk, seed);
    sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed),
                      sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(line, sizeof(line), SEED_PREFIX "%s\n", b64);
    int ok = fchmod(fd, 0600) == 0 && write(fd, line, (size_t)n) == n &&
             fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(line, sizeof(line));
    sodium_memzero(b64, sizeof(b64));
    if (!ok) {
        unlink(path);
        snprintf(err, errsize, "%s: %s", path, strerror(e));
        return TRUST_IO;
    }
    pub_text(pk, pub);
    return TRUST_OK;
}

int signer_load(const char *path, struct signer *s, char *err, size_t errsize)
{
    unsigned char seed[32], pk[32];
    char text[256];
    struct stat st;
    size_t bin_len = 0;
    if (sodium_init() < 0) {
        snprintf(err, errsize, "libsodium cannot be initialised");
        return TRUST_IO;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsize, "signing key %s: %s", path, strerror(errno));
        return TRUST_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errsize, "signing key %s: not a regular file", path);
        return TRUST_INVALID;
    }
    if (st.st_mode & 077) {
        close(fd);
        snprintf(err, errsize,
                 "signing key %s: permissions %04o let others read it; "
                 "make it private with: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        return TRUST_INVALID;
    }
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0)
        n = 0;
    text[n] = '\0';
    size_t plen = strlen(SEED_PREFIX);
    size_t blen = strcspn(text + (n >= (ssize_t)plen ? plen : 0), "\n");
    int bad =
        strncmp(text, SEED_PREFIX, plen) ||
        sodium_base642bin(seed, sizeof(seed), text + plen, blen, NULL, &bin_len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != sizeof(seed);
    sodium_memzero(text, sizeof(text));
    if (bad) {
        snprintf(err, errsize,
                 "signing key %s: not a key made by 'struere signing-key "
                 "create'",
                 path);
        return TRUST_INVALID;
    }
    crypto_sign_seed_keypair(pk, s->sk, seed);
    sodium_memzero(seed, sizeof(seed));
    pub_text(pk, s->pub);
    return TRUST_OK;
}

json_t *signer_sign(const struct signer *s, const char *domain,
                    const void *payload, size_t n)
{
    size_t d = strlen(domain);
    unsigned char sig[64], *msg = malloc(d + n + 1);
    char b64[100];
    if (!msg)
        return NULL;
    memcpy(msg, domain, d);
    memcpy(msg + d, payload, n);
    crypto_sign_detached(sig, NULL, msg, d + n, s->sk);
    free(msg);
    sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
                      sodium_base64_VARIANT_ORIGINAL);
    return json_pack("{s:s, s:s}", "key", s->pub, "signature", b64);
}

bool trust_pubkey_ok(const char *text)
{
    unsigned char pk[32];
    size_t bin_len = 0, n = strlen("ed25519:");
    return !strncmp(text, "ed25519:", n) && strlen(text + n) == 44 &&
           sodium_base642bin(pk, sizeof(pk), text + n, 44, NULL, &bin_len, NULL,
                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
           bin_len == 32;
}

/* ---- the trust policy ---- */

void trust_state_free(struct trust_state *st)
{
    json_decref(st->doc);
    struere_trust_free(st->t);
    memset(st, 0, sizeof(*st));
}

int trust_read(struct store *s, struct trust_state *st, char *err,
               size_t errsize)
{
    unsigned char *data;
    size_t len;
    struere_error e;
    memset(st, 0, sizeof(*st));
    int rc = store_ref_id(s, TRUST_REF, st->commit);
    if (rc == STORE_NOTFOUND) {
        st->commit[0] = '\0';
        return TRUST_OK;
    }
    if (rc != STORE_OK ||
        store_read(s, st->commit, "trust.json", &data, &len) != STORE_OK) {
        snprintf(err, errsize, TRUST_REF ": %s", store_error(s));
        return TRUST_IO;
    }
    json_error_t je;
    st->doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
    rc = struere_trust_load(&st->t, data, len, NULL, 0, &e);
    free(data);
    if (rc != STRUERE_OK || !st->doc) {
        snprintf(err, errsize, "the trust policy does not verify: %s",
                 rc != STRUERE_OK ? e.message : je.text);
        trust_state_free(st);
        return TRUST_INVALID;
    }
    return TRUST_OK;
}

void trust_change_begin(const struct trust_state *st, struct trust_change *c)
{
    c->keys = json_array();
    c->require = json_pack("{s:i, s:i, s:i}", "development", 0, "eval", 0,
                           "production", 0);
    if (!st->t)
        return;
    for (size_t i = 0; i < struere_trust_key_count(st->t); i++) {
        const char *name, *key;
        struere_trust_key(&name, &key, st->t, i, NULL);
        json_array_append_new(
            c->keys, json_pack("{s:s, s:s}", "key", key, "name", name));
    }
    for (int e = 0; e < ENV_COUNT; e++)
        json_object_set_new(c->require, env_names[e],
                            json_integer(struere_trust_required(st->t, e + 1)));
}

void trust_change_free(struct trust_change *c)
{
    json_decref(c->keys);
    json_decref(c->require);
    memset(c, 0, sizeof(*c));
}

/* The text a document is committed as: sorted keys, two-space indent, a
 * final newline (one line per field in `git diff`). */
static char *doc_text(json_t *doc)
{
    char *t = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!t)
        return NULL;
    size_t n = strlen(t);
    char *out = realloc(t, n + 2);
    if (!out) {
        free(t);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = '\0';
    return out;
}

static json_t *signatures(const struct signer *signers, size_t n,
                          const char *domain, const char *payload)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup |= !strcmp(signers[i].pub, signers[j].pub);
        if (!dup)
            json_array_append_new(list, signer_sign(&signers[i], domain,
                                                    payload, strlen(payload)));
    }
    return list;
}

int trust_change_commit(struct store *s, struct trust_state *st,
                        const struct trust_change *c,
                        const struct signer *signers, size_t nsigners,
                        const char *message, char *err, size_t errsize)
{
    unsigned char digest[32];
    char prev[65];
    unsigned version = st->t ? struere_trust_version(st->t) + 1 : 1;
    json_t *payload = json_pack("{s:O, s:O, s:i}", "keys", c->keys, "require",
                                c->require, "version", (json_int_t)version);
    if (st->t) {
        struere_trust_digest(digest, st->t);
        rt_sha256_hex(digest, prev);
        json_object_set_new(payload, "previous", json_string(prev));
    } else {
        json_object_set_new(payload, "previous", json_null());
    }
    char *ptext = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    json_t *doc = st->doc ? json_deep_copy(st->doc)
                          : json_pack("{s:s, s:[]}", "format",
                                      "struere-trust/1", "chain");
    json_array_append_new(
        json_object_get(doc, "chain"),
        json_pack("{s:s, s:o}", "policy", ptext, "signatures",
                  signatures(signers, nsigners, trust_domain_policy, ptext)));
    free(ptext);
    char *text = doc_text(doc);
    json_decref(doc);
    struere_trust *t = NULL;
    struere_error e;
    int rc = TRUST_OK;
    if (!text) {
        snprintf(err, errsize, "out of memory");
        return TRUST_IO;
    }
    if (struere_trust_load(&t, text, strlen(text), NULL, 0, &e) != STRUERE_OK) {
        snprintf(err, errsize, "%s", e.message);
        rc = TRUST_INVALID;
    }
    struere_trust_free(t);
    if (rc == TRUST_OK) {
        struct store_file f = {"trust.json", text, strlen(text), NULL};
        char id[41];
        bool committed;
        int src = store_commit(s, TRUST_REF, st->commit, &f, 1, message, id,
                               &committed);
        if (src == STORE_MOVED) {
            snprintf(err, errsize,
                     TRUST_REF " moved meanwhile: nothing changed; try again");
            rc = TRUST_MOVED;
        } else if (src != STORE_OK) {
            snprintf(err, errsize, "%s", store_error(s));
            rc = TRUST_IO;
        }
    }
    free(text);
    return rc;
}

/* ---- promotion statements ---- */

void promotions_free(struct promotions *p)
{
    json_decref(p->latest);
    json_decref(p->pending);
    free(p->latest_text);
    free(p->pending_text);
    memset(p, 0, sizeof(*p));
}

static int read_doc(struct store *s, const char *commit, const char *path,
                    json_t **doc, char **text, size_t *len, char *err,
                    size_t errsize)
{
    unsigned char *data;
    int rc = store_read(s, commit, path, &data, len);
    if (rc == STORE_NOTFOUND)
        return TRUST_OK;
    if (rc != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return TRUST_IO;
    }
    json_error_t je;
    /* a key named twice would be read one way here and another by the
     * runtime: refused (the runtime refuses it too) */
    *doc = json_loadb((const char *)data, *len, JSON_REJECT_DUPLICATES, &je);
    *text = (char *)data;
    if (!*doc) {
        snprintf(err, errsize, PROMOTIONS_REF ":%s: %s", path, je.text);
        return TRUST_INVALID;
    }
    return TRUST_OK;
}

int promotions_read(struct store *s, int env, struct promotions *p, char *err,
                    size_t errsize)
{
    char path[64];
    memset(p, 0, sizeof(*p));
    int rc = store_ref_id(s, PROMOTIONS_REF, p->commit);
    if (rc == STORE_NOTFOUND) {
        p->commit[0] = '\0';
        return TRUST_OK;
    }
    if (rc != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return TRUST_IO;
    }
    snprintf(path, sizeof(path), "%s.json", env_names[env]);
    rc = read_doc(s, p->commit, path, &p->latest, &p->latest_text,
                  &p->latest_len, err, errsize);
    snprintf(path, sizeof(path), "pending/%s.json", env_names[env]);
    if (rc == TRUST_OK)
        rc = read_doc(s, p->commit, path, &p->pending, &p->pending_text,
                      &p->pending_len, err, errsize);
    if (rc != TRUST_OK)
        promotions_free(p);
    return rc;
}

static uint64_t sequence_of(const char *text, size_t len)
{
    struere_statement st;
    if (!text || struere_statement_read(&st, text, len, NULL, NULL) != 0)
        return 0;
    return st.sequence;
}

/*
 * Commits refs/struere/promotions with `latest` as env's latest statement
 * (NULL: kept as it is) and `pending` as its pending one (NULL: removed),
 * keeping every other file; on success new_id is the new commit.
 */
static int promotions_commit(struct store *s, int env,
                             const struct promotions *p, const char *latest,
                             const char *pending, const char *message,
                             char new_id[41], char *err, size_t errsize)
{
    char lpath[64], ppath[64];
    struct store_blob *blobs = NULL;
    size_t n = 0, k = 0;
    snprintf(lpath, sizeof(lpath), "%s.json", env_names[env]);
    snprintf(ppath, sizeof(ppath), "pending/%s.json", env_names[env]);
    if (p->commit[0] &&
        store_tree_blobs(s, p->commit, "", &blobs, &n) != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return TRUST_IO;
    }
    struct store_file *files = calloc(n + 2, sizeof(*files));
    if (!files) {
        free(blobs);
        snprintf(err, errsize, "out of memory");
        return TRUST_IO;
    }
    for (size_t i = 0; i < n; i++)
        if ((!latest || strcmp(blobs[i].path, lpath)) &&
            strcmp(blobs[i].path, ppath))
            files[k++] =
                (struct store_file){blobs[i].path, NULL, 0, blobs[i].id};
    if (latest)
        files[k++] = (struct store_file){lpath, latest, strlen(latest), NULL};
    if (pending)
        files[k++] = (struct store_file){ppath, pending, strlen(pending), NULL};
    bool committed;
    int rc = store_commit(s, PROMOTIONS_REF, p->commit, files, k, message,
                          new_id, &committed);
    free(files);
    free(blobs);
    if (rc == STORE_MOVED) {
        snprintf(err, errsize,
                 PROMOTIONS_REF " moved meanwhile (another promotion?): "
                                "nothing changed; try again");
        return TRUST_MOVED;
    }
    if (rc != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return TRUST_IO;
    }
    if (!committed)
        memcpy(new_id, p->commit, 41);
    return TRUST_OK;
}

/* Counts the document's valid signatures against the policy and lists
 * the signers the policy does not trust. */
static int count(const struere_trust *t, const char *text,
                 struct promotion_result *r, char *err, size_t errsize)
{
    struere_statement st;
    struere_error e;
    if (struere_statement_read(&st, text, strlen(text), t, &e) != 0) {
        snprintf(err, errsize, "%s", e.message);
        return TRUST_INVALID;
    }
    r->signatures = st.signatures;
    r->sequence = st.sequence;
    r->untrusted[0] = '\0';
    json_t *doc = json_loads(text, 0, NULL);
    json_t *sig;
    size_t i;
    json_array_foreach(json_object_get(doc, "signatures"), i, sig)
    {
        const char *key = json_string_value(json_object_get(sig, "key"));
        bool trusted = false;
        for (size_t j = 0; key && j < struere_trust_key_count(t); j++) {
            const char *k;
            struere_trust_key(NULL, &k, t, j, NULL);
            trusted |= !strcmp(k, key);
        }
        if (key && !trusted) {
            size_t used = strlen(r->untrusted);
            snprintf(r->untrusted + used, sizeof(r->untrusted) - used, "%s%s",
                     used ? ", " : "", key);
        }
    }
    json_decref(doc);
    return TRUST_OK;
}

/* Completes a promotion whose statement (`text`) has K signatures: the
 * statement becomes env's latest, then the branch moves from `replaces`
 * to `commit`; if the branch moved meanwhile the statement is
 * withdrawn. */
static int complete(struct store *s, int env, const struct promotions *p,
                    const char *text, const char *commit, const char *replaces,
                    const char *reflog_message,
                    const struct promotion_result *r, char *err, size_t errsize)
{
    char ref[64], id[41], msg[200];
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", env_names[env]);
    snprintf(msg, sizeof(msg), "%s: %.12s, promotion #%llu (%u signature(s))",
             env_names[env], commit, (unsigned long long)r->sequence,
             r->signatures);
    int rc = promotions_commit(s, env, p, text, NULL, msg, id, err, errsize);
    if (rc != TRUST_OK)
        return rc;
    int src = store_move_ref(s, ref, commit, replaces, reflog_message);
    if (src == STORE_OK)
        return TRUST_OK;
    snprintf(err, errsize, "%s: nothing changed (the statement was withdrawn)",
             store_error(s));
    /* The branch did not move: put the statements back as they were (or
     * remove the ref this promotion created). */
    if (p->commit[0])
        store_move_ref(s, PROMOTIONS_REF, p->commit, id,
                       "struere: promotion withdrawn");
    else
        store_delete_ref(s, PROMOTIONS_REF, id);
    return src == STORE_MOVED ? TRUST_MOVED : TRUST_IO;
}

/* The policy in force and env's statements, both read (or neither, with
 * the reason in err). */
static int promotion_state(struct store *s, int env, struct trust_state *ts,
                           struct promotions *p, char *err, size_t errsize)
{
    int rc = trust_read(s, ts, err, errsize);
    if (rc == TRUST_OK &&
        (rc = promotions_read(s, env, p, err, errsize)) != TRUST_OK)
        trust_state_free(ts);
    return rc;
}

int promotion_propose(struct store *s, int env, const char *action,
                      const char *commit, const char *replaces,
                      const struct verified *v, const struct signer *signers,
                      size_t nsigners, const char *reflog_message,
                      struct promotion_result *r, char *err, size_t errsize)
{
    struct trust_state ts;
    struct promotions p;
    char who[256], bundle_hex[65], manifest_hex[65];
    int64_t when;
    memset(r, 0, sizeof(*r));
    int rc = promotion_state(s, env, &ts, &p, err, errsize);
    if (rc != TRUST_OK)
        return rc;
    if (store_identity(s, who, sizeof(who), &when) != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        rc = TRUST_IO;
        goto done;
    }
    uint64_t a = sequence_of(p.latest_text, p.latest_len),
             b = sequence_of(p.pending_text, p.pending_len);
    rt_sha256_hex(v->sha256, bundle_hex);
    rt_sha256_hex(v->manifest_sha256, manifest_hex);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "action", action,
                  "bundleSha256", bundle_hex, "commit", commit, "environment",
                  env_names[env], "manifestSha256", manifest_hex, "sequence",
                  (json_int_t)((a > b ? a : b) + 1), "time", (json_int_t)when,
                  "who", who);
    json_object_set_new(payload, "replaces",
                        replaces[0] ? json_string(replaces) : json_null());
    char *ptext = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(payload);
    json_t *doc =
        json_pack("{s:s, s:o}", "statement", ptext, "signatures",
                  signatures(signers, nsigners, trust_domain_statement, ptext));
    free(ptext);
    char *text = doc_text(doc);
    json_decref(doc);
    r->required = struere_trust_required(ts.t, env + 1);
    snprintf(r->commit, sizeof(r->commit), "%s", commit);
    rc = count(ts.t, text, r, err, errsize);
    if (rc == TRUST_OK && r->signatures >= (unsigned)r->required) {
        r->complete = true;
        rc = complete(s, env, &p, text, commit, replaces, reflog_message, r,
                      err, errsize);
    } else if (rc == TRUST_OK) {
        char id[41], msg[200];
        snprintf(msg, sizeof(msg),
                 "%s: %.12s, promotion #%llu proposed (%u of %d signatures)",
                 env_names[env], commit, (unsigned long long)r->sequence,
                 r->signatures, r->required);
        rc = promotions_commit(s, env, &p, NULL, text, msg, id, err, errsize);
    }
    free(text);
done:
    promotions_free(&p);
    trust_state_free(&ts);
    return rc;
}

/* Each statement of env in the history of refs/struere/promotions,
 * newest commit first: its pending statement (every commit's with
 * all_pending, else only the newest's), then its complete one, read with
 * t counting signatures, given to fn(arg, st, pending) until it returns
 * false. */
typedef bool (*statement_fn)(void *arg, const struere_statement *st,
                             bool pending);
static int statements_walk(struct store *s, int env, const struere_trust *t,
                           bool all_pending, statement_fn fn, void *arg,
                           char *err, size_t errsize)
{
    struct store_commit_info *log = NULL;
    size_t nlog = 0;
    char paths[2][64];
    int rc = store_log(s, PROMOTIONS_REF, 100000, &log, &nlog);
    if (rc == STORE_NOTFOUND)
        return TRUST_OK;
    if (rc != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return TRUST_IO;
    }
    snprintf(paths[0], sizeof(paths[0]), "pending/%s.json", env_names[env]);
    snprintf(paths[1], sizeof(paths[1]), "%s.json", env_names[env]);
    bool more = true;
    for (size_t i = 0; i < nlog && more; i++)
        for (int which = 0; which < 2 && more; which++) {
            unsigned char *data;
            size_t len;
            struere_statement st;
            if ((which == 0 && i > 0 && !all_pending) ||
                store_read(s, log[i].id, paths[which], &data, &len) != STORE_OK)
                continue;
            int ok = struere_statement_read(&st, data, len, t, NULL) == 0;
            free(data);
            if (ok)
                more = fn(arg, &st, which == 0);
        }
    store_log_free(log, nlog);
    return TRUST_OK;
}

/* What supersedes statement `mine`: a statement of its environment with
 * a higher sequence, or its sequence for another commit (the highest). */
struct superseding {
    const struere_statement *mine;
    uint64_t seq;
    char commit[41];
};

static bool supersedes(void *arg, const struere_statement *st, bool pending)
{
    struct superseding *w = arg;
    (void)pending;
    if (st->environment == w->mine->environment &&
        (st->sequence > w->mine->sequence ||
         (st->sequence == w->mine->sequence &&
          strcmp(st->commit, w->mine->commit))) &&
        st->sequence >= w->seq) {
        w->seq = st->sequence;
        memcpy(w->commit, st->commit, 41);
    }
    return true;
}

/* env's pending statement, read under the policy in force (*st; its
 * payload, the signed text, in the document p->pending); TRUST_OK, or the
 * reason in err (ts and p then freed). */
static int pending_read(struct store *s, int env, struct trust_state *ts,
                        struct promotions *p, struere_statement *st,
                        const char **payload, char *err, size_t errsize)
{
    struere_error e;
    int rc = promotion_state(s, env, ts, p, err, errsize);
    if (rc != TRUST_OK)
        return rc;
    rc = TRUST_INVALID;
    if (!p->pending)
        snprintf(err, errsize, "no promotion of %s is waiting for approval",
                 env_names[env]);
    else if (struere_statement_read(st, p->pending_text, p->pending_len, ts->t,
                                    &e) != 0)
        snprintf(err, errsize, PROMOTIONS_REF ":pending/%s.json: %s",
                 env_names[env], e.message);
    else if (!(*payload = json_string_value(
                   json_object_get(p->pending, "statement"))) ||
             !json_is_array(json_object_get(p->pending, "signatures")))
        snprintf(err, errsize, "the pending statement is malformed");
    else if (st->environment != env + 1)
        snprintf(err, errsize,
                 PROMOTIONS_REF ":pending/%s.json is a statement for %s: "
                                "refusing to sign it",
                 env_names[env], struere_env_name(st->environment));
    else
        return TRUST_OK;
    promotions_free(p);
    trust_state_free(ts);
    return rc;
}

int promotion_pending(struct store *s, int env, struere_statement *st,
                      char **payload, char *err, size_t errsize)
{
    struct trust_state ts;
    struct promotions p;
    const char *text;
    *payload = NULL;
    int rc = pending_read(s, env, &ts, &p, st, &text, err, errsize);
    if (rc != TRUST_OK)
        return rc;
    if (!(*payload = strdup(text))) {
        snprintf(err, errsize, "out of memory");
        rc = TRUST_IO;
    }
    promotions_free(&p);
    trust_state_free(&ts);
    return rc;
}

int promotion_approve(struct store *s, int env, const struct signer *signer,
                      const char *reviewed, struct promotion_result *r,
                      char *err, size_t errsize)
{
    struct trust_state ts;
    struct promotions p;
    struere_statement st;
    struct verified v;
    const char *payload;
    char ref[64], current[41] = "", why[1024];
    memset(r, 0, sizeof(*r));
    int rc = pending_read(s, env, &ts, &p, &st, &payload, err, errsize);
    if (rc != TRUST_OK)
        return rc;
    rc = TRUST_INVALID;
    if (reviewed && strcmp(reviewed, payload)) {
        snprintf(err, errsize,
                 "the pending promotion of %s changed since it was shown: "
                 "nothing signed; run approve again",
                 env_names[env]);
        rc = TRUST_MOVED;
        goto done;
    }
    /* the sequence only grows: a statement no newer than the latest is a
     * replay, or a proposal a later promotion superseded */
    uint64_t latest = sequence_of(p.latest_text, p.latest_len);
    if (p.latest_text && !latest) {
        snprintf(err, errsize,
                 PROMOTIONS_REF ":%s.json, the latest statement, does not "
                                "read: refusing to sign after it",
                 env_names[env]);
        goto done;
    }
    if (st.sequence <= latest) {
        snprintf(err, errsize,
                 "promotion #%llu is not newer than %s's latest statement "
                 "#%llu (a replayed or superseded proposal): refusing to "
                 "sign it; propose it again",
                 (unsigned long long)st.sequence, env_names[env],
                 (unsigned long long)latest);
        goto done;
    }
    /* production only ever takes a commit that was development's */
    bool on = true;
    if (env == ENV_PRODUCTION &&
        store_on_branch(s, st.commit, STORE_DEVELOPMENT, &on) != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        rc = TRUST_IO;
        goto done;
    }
    if (!on) {
        snprintf(err, errsize,
                 "promotion #%llu names %.12s, which was never a development "
                 "commit: refusing to sign it (production only takes "
                 "development commits)",
                 (unsigned long long)st.sequence, st.commit);
        goto done;
    }
    /* development and eval move by `dev`: to a commit made on the one
     * they point at (approving the commit they have: to itself) */
    if (env != ENV_PRODUCTION && strcmp(st.commit, st.replaces)) {
        char parent[41];
        if (store_first_parent(s, st.commit, parent) != STORE_OK) {
            snprintf(err, errsize, "%s", store_error(s));
            rc = TRUST_IO;
            goto done;
        }
        if (strcmp(parent, st.replaces)) {
            snprintf(err, errsize,
                     "promotion #%llu names %.12s, which is not a commit made "
                     "on %.12s (the commit it says it replaces): refusing to "
                     "sign it (dev only adds a commit to the branch)",
                     (unsigned long long)st.sequence, st.commit,
                     st.replaces[0] ? st.replaces : "(none)");
            goto done;
        }
    }
    /* a proposal a later one superseded (put back by hand) */
    struct superseding later = {.mine = &st, .seq = 0, .commit = ""};
    if ((rc = statements_walk(s, env, NULL, true, supersedes, &later, err,
                              errsize)) != TRUST_OK)
        goto done;
    rc = TRUST_INVALID;
    if (later.commit[0]) {
        snprintf(err, errsize,
                 "promotion #%llu of %.12s was superseded: the history "
                 "of " PROMOTIONS_REF " holds #%llu for %.12s, proposed since: "
                 "refusing to sign it",
                 (unsigned long long)st.sequence, st.commit,
                 (unsigned long long)later.seq, later.commit);
        goto done;
    }
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", env_names[env]);
    if (store_ref_id(s, ref, current) == STORE_ERROR) {
        snprintf(err, errsize, "%s", store_error(s));
        rc = TRUST_IO;
        goto done;
    }
    if (strcmp(current, st.replaces)) {
        snprintf(err, errsize,
                 "%s moved since promotion #%llu was proposed (it started "
                 "from %.12s, the branch is at %.12s): propose it again",
                 ref, (unsigned long long)st.sequence,
                 st.replaces[0] ? st.replaces : "(none)",
                 current[0] ? current : "(none)");
        goto done;
    }
    int vrc = verify_for_promotion(s, st.commit, env, &v, why, sizeof(why));
    if (vrc != VERIFY_OK) {
        snprintf(err, errsize, "%s", why);
        rc = vrc == VERIFY_IO ? TRUST_IO : TRUST_UNVERIFIED;
        goto done;
    }
    if (memcmp(v.sha256, st.bundle_sha256, 32) ||
        memcmp(v.manifest_sha256, st.manifest_sha256, 32)) {
        snprintf(err, errsize,
                 "promotion #%llu names other digests than commit %.12s "
                 "holds: refusing to sign it",
                 (unsigned long long)st.sequence, st.commit);
        goto done;
    }
    size_t k, nkeys = struere_trust_key_count(ts.t);
    const char *name = NULL;
    for (k = 0; k < nkeys; k++) {
        const char *key;
        struere_trust_key(&name, &key, ts.t, k, NULL);
        if (!strcmp(key, signer->pub))
            break;
    }
    if (k == nkeys) {
        snprintf(err, errsize,
                 "key %s is not in the trust policy: its signature would "
                 "not count (see struere trust show)",
                 signer->pub);
        goto done;
    }
    if (st.signed_by & ((uint64_t)1 << k)) {
        snprintf(err, errsize,
                 "promotion #%llu is already signed by %s: another trusted "
                 "key must approve it",
                 (unsigned long long)st.sequence, name);
        goto done;
    }
    json_t *sigs = json_object_get(p.pending, "signatures");
    json_array_append_new(sigs, signer_sign(signer, trust_domain_statement,
                                            payload, strlen(payload)));
    char *text = doc_text(p.pending);
    r->required = struere_trust_required(ts.t, env + 1);
    snprintf(r->commit, sizeof(r->commit), "%s", st.commit);
    rc = count(ts.t, text, r, err, errsize);
    if (rc == TRUST_OK && r->signatures >= (unsigned)r->required) {
        char msg[200];
        snprintf(msg, sizeof(msg), "struere %s: %.12s (was %.12s), approved",
                 st.action, st.commit, st.replaces[0] ? st.replaces : "none");
        r->complete = true;
        rc = complete(s, env, &p, text, st.commit, st.replaces, msg, r, err,
                      errsize);
    } else if (rc == TRUST_OK) {
        char id[41], msg[200];
        snprintf(msg, sizeof(msg), "%s: %.12s approved by %s (%u of %d)",
                 env_names[env], st.commit, name, r->signatures, r->required);
        rc = promotions_commit(s, env, &p, NULL, text, msg, id, err, errsize);
    }
    free(text);
done:
    promotions_free(&p);
    trust_state_free(&ts);
    return rc;
}

void trust_signer_names(const struere_trust *t, uint64_t bits, char *buf,
                        size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < struere_trust_key_count(t) && i < 64; i++) {
        const char *name;
        if (!(bits & ((uint64_t)1 << i)))
            continue;
        struere_trust_key(&name, NULL, t, i, NULL);
        int n =
            snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

/* promotion_history's list, filled by statements_walk: one entry per
 * sequence, at most max. */
struct history {
    const struere_trust *t;
    struct promotion_entry *list;
    size_t n, max;
};

static bool history_add(void *arg, const struere_statement *st, bool pending)
{
    struct history *h = arg;
    for (size_t j = 0; j < h->n; j++)
        if (h->list[j].st.sequence == st->sequence)
            return true;
    struct promotion_entry *e = &h->list[h->n++];
    memset(e, 0, sizeof(*e));
    e->st = *st;
    e->pending = pending;
    trust_signer_names(h->t, st->signed_by, e->signers, sizeof(e->signers));
    return h->n < h->max;
}

int promotion_history(struct store *s, int env, const struere_trust *t,
                      size_t max, struct promotion_entry **out, size_t *n,
                      char *err, size_t errsize)
{
    struct history h = {t, NULL, 0, max};
    *out = NULL;
    *n = 0;
    if (!max)
        return TRUST_OK;
    if (!(h.list = calloc(max, sizeof(*h.list)))) {
        snprintf(err, errsize, "out of memory");
        return TRUST_IO;
    }
    int rc = statements_walk(s, env, t, false, history_add, &h, err, errsize);
    if (rc != TRUST_OK) {
        free(h.list);
        return rc;
    }
    *out = h.list;
    *n = h.n;
    return TRUST_OK;
}

int trust_required(struct store *s, int env, char *err, size_t errsize)
{
    struct trust_state ts;
    if (trust_read(s, &ts, err, errsize) != TRUST_OK)
        return -1;
    int k = struere_trust_required(ts.t, env + 1);
    trust_state_free(&ts);
    return k;
}

int promotion_missing(struct store *s, int env, const char *commit,
                      bool *missing, char *err, size_t errsize)
{
    struct trust_state ts;
    struct promotions p;
    struere_statement st;
    struere_error e;
    *missing = false;
    int rc = trust_read(s, &ts, err, errsize);
    if (rc != TRUST_OK)
        return rc;
    int k = struere_trust_required(ts.t, env + 1);
    if (k > 0 && (rc = promotions_read(s, env, &p, err, errsize)) == TRUST_OK) {
        /* a latest statement that is there and does not read is not
         * taken for none: the runtime refuses the branch for it, and a
         * new promotion would be built on it */
        if (p.latest_text &&
            struere_statement_read(&st, p.latest_text, p.latest_len, ts.t,
                                   &e) != 0) {
            snprintf(err, errsize, PROMOTIONS_REF ":%s.json: %s",
                     env_names[env], e.message);
            rc = TRUST_INVALID;
        } else {
            *missing = !p.latest_text || strcmp(st.commit, commit) ||
                       st.signatures < (unsigned)k;
        }
        promotions_free(&p);
    }
    trust_state_free(&ts);
    return rc;
}

bool trust_record_payload(json_t *record, char *buf, size_t size)
{
    char *text = json_dumps(record, JSON_COMPACT);
    int n =
        text ? rt_key_record_text_payload(text, strlen(text), buf, size) : -1;
    free(text);
    return n >= 0;
}
