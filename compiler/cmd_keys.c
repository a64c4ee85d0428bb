/*
 * cmd_keys.c - API keys: `keys create` prints a new key once, `keys
 * list`, `keys revoke PREFIX`. Only records are stored - the SHA-256 of
 * the key, never the key - as keys.json in commits of refs/struere/keys,
 * each change moved with compare-and-swap.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "env.h"
#include "keys.h"
#include "sha256.h"
#include "store.h"
#include "trust.h"

static const char keys_usage[] =
    "usage: struere keys create --env ENV [--name NAME] [--expires DATE]\n"
    "       struere keys list [--json]\n"
    "       struere keys revoke PREFIX\n"
    "       struere keys sign [PREFIX]\n"
    "       (create, revoke and sign take --sign FILE and --push REMOTE)\n"
    "\n"
    "API keys select an environment: sk_dev_ (development), sk_prod_\n"
    "(production), sk_eval_ (eval), then 40 random base62 characters. A\n"
    "key is printed once, at creation; the store keeps only its SHA-256,\n"
    "prefix, name, environment, creation and expiry times and whether it\n"
    "is revoked (refs/struere/keys, keys.json). DATE is YYYY-MM-DD or\n"
    "YYYY-MM-DDTHH:MM:SSZ (UTC), the last second the key opens anything\n"
    "(a key expires once its expiry is before now); a date alone means its\n"
    "first second, so --expires 2027-01-01 opens nothing from\n"
    "2027-01-01T00:00:01Z on.\n"
    "\n"
    "While the trust policy requires signatures for an environment, its\n"
    "key records must be signed by a trusted key (runtime/TRUST.md): create\n"
    "and revoke sign the record they write with --sign FILE (default\n"
    "STRUERE_SIGNING_KEY); 'keys sign' signs existing records (all, or the\n"
    "one PREFIX names). 'keys list' says whether each record's signature\n"
    "verifies with a trusted key (SIGNED: yes, - for none, INVALID).\n";

#define env_prefix rt_env_key_prefixes

static void now_iso(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Accepts exactly YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC), a real date;
 * writes the full form. */
static bool parse_date(const char *s, char *out, size_t size, int64_t *t)
{
    char canon[21];
    if (!rt_key_date_parse(s, strlen(s), t, canon) || *t < 0) /* < 1970 */
        return false;
    snprintf(out, size, "%s", canon);
    return true;
}

/* Refuses keys.json (`len` bytes) unless every record reads as the
 * runtime reads it (rt_key_records_read: the one reader) and no two share
 * a digest (the runtime refuses such a key too): the runtime refuses
 * every key of a store with a bad record, so these commands refuse to
 * list or extend one. */
static int check_records(const char *json, size_t len)
{
    struct rt_key_record *r;
    size_t n;
    struere_error e;
    int rc = rt_key_records_read(json, len, &r, &n, &e);
    if (rc == STRUERE_ENOMEM) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    if (rc < 0) {
        cli_error("%s; the runtime refuses every key of this store until "
                  "it is repaired, and nothing was changed",
                  e.message);
        return EXIT_IO;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!memcmp(r[i].digest, r[j].digest, sizeof(r[i].digest))) {
                cli_error("refs/struere/keys: keys.json records %zu and %zu "
                          "have the same \"sha256\"; the runtime refuses "
                          "that key, and nothing was changed",
                          j + 1, i + 1);
                free(r);
                return EXIT_IO;
            }
    free(r);
    return EXIT_OK;
}

/* Reads keys.json of refs/struere/keys (an empty list when absent). */
static int load(struct store *s, char parent[41], json_t **records)
{
    *records = NULL;
    int rc = store_ref_id(s, STORE_KEYS, parent);
    if (rc == STORE_NOTFOUND) {
        *records = json_array();
        return EXIT_OK;
    }
    if (rc != STORE_OK) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    unsigned char *data;
    size_t len;
    if (store_read(s, parent, "keys.json", &data, &len) != STORE_OK) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    if (check_records((const char *)data, len) != EXIT_OK) {
        free(data);
        return EXIT_IO;
    }
    json_error_t e;
    /* check_records refused a member named twice already; jansson is told
     * to refuse one too, rather than keep the last one quietly. */
    *records = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &e);
    free(data);
    if (!json_is_array(*records)) { /* read above: memory ran out */
        json_decref(*records);
        *records = NULL;
        cli_error("refs/struere/keys: keys.json cannot be read: %s", e.text);
        return EXIT_IO;
    }
    return EXIT_OK;
}

static int save(struct store *s, const char *parent, json_t *records,
                const char *message, const char *push)
{
    char *text = json_dumps(records, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    struct store_file f = {"keys.json", text, strlen(text), NULL};
    char id[41];
    bool committed;
    int rc =
        store_commit(s, STORE_KEYS, parent, &f, 1, message, id, &committed);
    free(text);
    if (rc != STORE_OK) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    if (push) {
        const char *refs[] = {STORE_KEYS};
        if (store_push(s, push, refs, 1) != STORE_OK) {
            cli_error("saved, but the push failed: %s", store_error(s));
            return EXIT_IO;
        }
    }
    return EXIT_OK;
}

/* Signs record r with signer when the trust policy requires signatures
 * for its environment (or whenever a signer is given). Prints why not. */
static int sign_record(struct store *s, json_t *r, const struct signer *signer)
{
    struct trust_state ts;
    char err[1024], payload[512];
    if (trust_read(s, &ts, err, sizeof(err)) != TRUST_OK) {
        cli_error("%s", err);
        return EXIT_INVALID;
    }
    const char *env_name = json_string_value(json_object_get(r, "environment"));
    int env = env_name ? cli_env_parse(env_name) : -1;
    int k = env >= 0 ? struere_trust_required(ts.t, env + 1) : 0;
    int rc = EXIT_OK;
    bool trusted = false;
    for (size_t i = 0; signer && i < struere_trust_key_count(ts.t); i++) {
        const char *key;
        struere_trust_key(NULL, &key, ts.t, i, NULL);
        trusted |= !strcmp(key, signer->pub);
    }
    if (k > 0 && !signer) {
        cli_error("the trust policy requires signatures for %s: key "
                  "records must be signed (pass --sign FILE or set "
                  "STRUERE_SIGNING_KEY)",
                  env_name);
        rc = EXIT_INVALID;
    } else if (k > 0 && !trusted) {
        cli_error("signing key %s is not in the trust policy: the runtime "
                  "would refuse the record",
                  signer->pub);
        rc = EXIT_INVALID;
    } else if (signer) {
        json_object_del(r, "signature");
        if (!trust_record_payload(r, payload, sizeof(payload))) {
            cli_error("key record %s lacks the fields it is signed over",
                      json_string_value(json_object_get(r, "prefix")));
            rc = EXIT_INVALID;
        } else {
            json_object_set_new(r, "signature",
                                signer_sign(signer, trust_domain_record,
                                            payload, strlen(payload)));
        }
    } else {
        json_object_del(r, "signature"); /* a changed record's is void */
    }
    trust_state_free(&ts);
    return rc;
}

static int create(struct store *s, int env, const char *name,
                  const char *expires, int64_t expires_at, const char *push,
                  const struct signer *signer)
{
    char parent[41];
    json_t *records;
    int rc = load(s, parent, &records);
    if (rc != EXIT_OK)
        return rc;
    char key[RT_KEY_MAX], prefix[RT_KEY_LABEL_MAX];
    for (int attempt = 0;; attempt++) {
        rt_key_generate(key, env + 1);
        rt_key_kept(prefix, key, strlen(env_prefix[env]));
        bool clash = false;
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r)
        {
            const char *p = json_string_value(json_object_get(r, "prefix"));
            if (p && !strcmp(p, prefix))
                clash = true;
        }
        if (!clash)
            break;
        if (attempt > 100) {
            cli_error("cannot find an unused key prefix");
            json_decref(records);
            return EXIT_IO;
        }
    }
    unsigned char hash[32];
    rt_sha256(key, strlen(key), hash);
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
    char created[32];
    now_iso(created, sizeof(created));
    json_t *r = json_object();
    json_object_set_new(r, "prefix", json_string(prefix));
    json_object_set_new(r, "name", json_string(name ? name : ""));
    json_object_set_new(r, "environment", json_string(env_names[env]));
    json_object_set_new(r, "created", json_string(created));
    json_object_set_new(r, "expires",
                        expires ? json_string(expires) : json_null());
    json_object_set_new(r, "revoked", json_false());
    json_object_set_new(r, "sha256", json_string(hex));
    json_array_append_new(records, r);
    if ((rc = sign_record(s, r, signer)) != EXIT_OK) {
        json_decref(records);
        sodium_memzero(key, sizeof(key));
        return rc;
    }
    char message[200];
    snprintf(message, sizeof(message), "struere keys: create %s (%s)", prefix,
             name ? name : "unnamed");
    rc = save(s, parent, records, message, push);
    json_decref(records);
    if (rc == EXIT_OK) {
        printf("%s\n", key);
        fprintf(stderr,
                "created key %s for %s; this is the only time it is shown\n",
                prefix, env_names[env]);
        if (expires && expires_at < (int64_t)time(NULL))
            cli_error("warning: key %s expired on %s, before it was created: "
                      "it opens nothing (--expires is in the past)",
                      prefix, expires);
    }
    sodium_memzero(key, sizeof(key));
    return rc;
}

static int list(struct store *s, bool json)
{
    char parent[41];
    json_t *records;
    int rc = load(s, parent, &records);
    if (rc != EXIT_OK)
        return rc;
    if (json) {
        json_dumpf(records, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
    } else if (!json_array_size(records)) {
        printf("no keys (create one with: struere keys create --env ENV)\n");
    } else {
        char now[32], err[1024];
        now_iso(now, sizeof(now));
        /* Whether each record's signature verifies with the policy in
         * force, as the runtime checks it (TRUST.md §5). */
        struct trust_state ts;
        if (trust_read(s, &ts, err, sizeof(err)) != TRUST_OK) {
            cli_error("warning: %s", err);
            memset(&ts, 0, sizeof(ts));
        }
        printf("%-16s %-12s %-20s %-21s %-21s %-8s %s\n", "PREFIX", "ENV",
               "NAME", "CREATED", "EXPIRES", "STATE", "SIGNED");
        size_t i;
        json_t *r;
        json_array_foreach(records, i, r)
        {
            const char *exp = json_string_value(json_object_get(r, "expires"));
            const char *state = json_is_true(json_object_get(r, "revoked"))
                                    ? "revoked"
                                : exp && strcmp(exp, now) < 0 ? "expired"
                                                              : "active";
            const char *name = json_string_value(json_object_get(r, "name"));
            const char *made = json_string_value(json_object_get(r, "created"));
            char *text = json_dumps(r, JSON_COMPACT);
            int sig =
                text ? struere_key_record_signed(ts.t, text, strlen(text), NULL)
                     : STRUERE_ENOMEM;
            free(text);
            printf("%-16s %-12s %-20s %-21s %-21s %-8s %s\n",
                   json_string_value(json_object_get(r, "prefix")),
                   json_string_value(json_object_get(r, "environment")),
                   name ? name : "-", made ? made : "-", exp ? exp : "never",
                   state,
                   sig == STRUERE_OK          ? "yes"
                   : sig == STRUERE_ENOTFOUND ? "-"
                                              : "INVALID");
        }
        trust_state_free(&ts);
    }
    json_decref(records);
    return EXIT_OK;
}

static int revoke(struct store *s, const char *prefix, const char *push,
                  const struct signer *signer)
{
    char parent[41];
    json_t *records;
    int rc = load(s, parent, &records);
    if (rc != EXIT_OK)
        return rc;
    /* The record is picked by its "prefix", a label that is not signed
     * (TRUST.md §5): one moved to another record by hand cannot be seen
     * here, since only the key, which this command never has, tells
     * which record is its. The runtime checks the label against the key:
     * a key whose record carries another label opens nothing, so after
     * two labels are swapped neither key opens, whichever is revoked. */
    json_t *found = NULL;
    size_t matches = 0, i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        const char *p = json_string_value(json_object_get(r, "prefix"));
        if (p && !strncmp(p, prefix, strlen(prefix))) {
            found = r;
            matches++;
        }
    }
    if (matches != 1) {
        cli_error(matches ? "'%s' matches %zu keys; give more of the prefix"
                          : "no key with prefix '%s'%.0zu",
                  prefix, matches);
        json_decref(records);
        return EXIT_INVALID;
    }
    if (json_is_true(json_object_get(found, "revoked"))) {
        printf("%s was already revoked\n",
               json_string_value(json_object_get(found, "prefix")));
        json_decref(records);
        return EXIT_OK;
    }
    char now[32];
    now_iso(now, sizeof(now));
    json_object_set_new(found, "revoked", json_true());
    json_object_set_new(found, "revokedAt", json_string(now));
    if ((rc = sign_record(s, found, signer)) != EXIT_OK) {
        json_decref(records);
        return rc;
    }
    char message[200];
    snprintf(message, sizeof(message), "struere keys: revoke %s",
             json_string_value(json_object_get(found, "prefix")));
    rc = save(s, parent, records, message, push);
    if (rc == EXIT_OK)
        printf("revoked %s\n",
               json_string_value(json_object_get(found, "prefix")));
    json_decref(records);
    return rc;
}

/* keys sign [PREFIX]: (re-)signs every record, or the one PREFIX names. */
static int sign_all(struct store *s, const char *prefix, const char *push,
                    const struct signer *signer)
{
    char parent[41];
    json_t *records, *r;
    size_t i, signed_n = 0;
    if (!signer) {
        cli_error("keys sign: no signing key: pass --sign FILE or set "
                  "STRUERE_SIGNING_KEY");
        return EXIT_USAGE;
    }
    int rc = load(s, parent, &records);
    if (rc != EXIT_OK)
        return rc;
    json_array_foreach(records, i, r)
    {
        const char *p = json_string_value(json_object_get(r, "prefix"));
        if (prefix && (!p || strncmp(p, prefix, strlen(prefix))))
            continue;
        if ((rc = sign_record(s, r, signer)) != EXIT_OK)
            break;
        signed_n++;
    }
    if (rc == EXIT_OK && signed_n == 0) {
        cli_error(prefix ? "no key with prefix '%s'" : "no keys to sign%s",
                  prefix ? prefix : "");
        rc = EXIT_INVALID;
    }
    if (rc == EXIT_OK)
        rc = save(s, parent, records, "struere keys: sign", push);
    if (rc == EXIT_OK)
        printf("signed %zu key record(s) with %s\n", signed_n, signer->pub);
    json_decref(records);
    return rc;
}

int cmd_keys(const struct cli *g, int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;
    const char *name = NULL, *expires = NULL, *push = NULL, *target = NULL;
    int64_t expires_at = 0;
    int env = -1;
    bool json = false;
    char exp[64];
    for (int i = 1; i < argc; i++)
        if (cli_wants_help(argv[i])) {
            fputs(keys_usage, stdout);
            return EXIT_OK;
        }
    const char *sign_path = NULL;
    if (!sub || (strcmp(sub, "create") && strcmp(sub, "list") &&
                 strcmp(sub, "revoke") && strcmp(sub, "sign"))) {
        fputs(keys_usage, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--env") && i + 1 < argc) {
            if (cli_env_arg(argv[++i], &env) != EXIT_OK)
                return EXIT_USAGE;
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(argv[i], "--expires") && i + 1 < argc) {
            if (!parse_date(argv[++i], exp, sizeof(exp), &expires_at)) {
                cli_error("--expires takes YYYY-MM-DD or "
                          "YYYY-MM-DDTHH:MM:SSZ, not '%s'",
                          argv[i]);
                return EXIT_USAGE;
            }
            expires = exp;
        } else if (!strcmp(argv[i], "--push") && i + 1 < argc) {
            push = argv[++i];
        } else if (!strcmp(argv[i], "--sign") && i + 1 < argc) {
            sign_path = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] != '-' && !target) {
            target = argv[i];
        } else {
            cli_error("keys: unknown argument '%s'\n", argv[i]);
            fputs(keys_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!strcmp(sub, "create") && (env < 0 || target)) {
        cli_error("keys create needs --env development|production|eval");
        return EXIT_USAGE;
    }
    if (!strcmp(sub, "revoke") && !target) {
        cli_error("keys revoke needs the key's PREFIX");
        return EXIT_USAGE;
    }
    if (sodium_init() < 0) {
        cli_error("cannot initialise libsodium");
        return EXIT_IO;
    }
    struct signer *signer = NULL;
    size_t nsigner = 0;
    int rc = strcmp(sub, "list")
                 ? cli_signers_load(&sign_path, sign_path != NULL, true,
                                    &signer, &nsigner)
                 : EXIT_OK;
    if (rc != EXIT_OK)
        return rc;
    struct store *s;
    rc = cli_open_store(g, NULL, &s);
    if (rc != EXIT_OK) {
        cli_signers_free(signer, nsigner);
        return rc;
    }
    if (!strcmp(sub, "create"))
        rc = create(s, env, name, expires, expires_at, push, signer);
    else if (!strcmp(sub, "list"))
        rc = list(s, json);
    else if (!strcmp(sub, "sign"))
        rc = sign_all(s, target, push, signer);
    else
        rc = revoke(s, target, push, signer);
    cli_signers_free(signer, nsigner);
    store_close(s);
    return rc;
}
