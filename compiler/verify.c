/*
 * verify.c - a commit's bundle verified whole before a command uses or
 * promotes it (verify.h), and the records of verified blobs that keep
 * promotions constant-time.
 */
#include "verify.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_trust.h"
#include "cache_file.h"
#include "compile.h"
#include "hex.h"
#include "kinds.h"
#include "sha256.h"
#include "store.h"
#include "struere.h"

/* The directory of the records: <git dir>/struere/verified. */
static bool records_dir(struct store *s, char *buf, size_t size)
{
    return cache_file_path(store_git_dir(s), "verified", buf, size);
}

/* The HMAC, in hex, of `what` under the store's cache key
 * (cache_file.h): a record written by anyone who cannot read the key, or
 * copied to another name, does not match. False when there is no key
 * (made when `create`). */
static bool record_mac(struct store *s, const char *what, bool create,
                       char mac_hex[65])
{
    char dir[4200];
    unsigned char key[CACHE_KEY_BYTES], mac[32];
    if (!cache_file_path(store_git_dir(s), "", dir, sizeof(dir)))
        return false;
    dir[strlen(dir) - 1] = '\0'; /* <git dir>/struere, without its '/' */
    if (!cache_file_key(dir, create, key))
        return false;
    crypto_auth_hmacsha256(mac, (const unsigned char *)what, strlen(what), key);
    sodium_memzero(key, sizeof(key));
    rt_sha256_hex(mac, mac_hex);
    return true;
}

/* What a verification checks, named in each record's MAC: a record made
 * by a struere that checked less (before every role was compiled: v2) is
 * not believed, and the bundle is verified again. */
#define VERIFY_RECORD_VERSION "v2"

/* A record's text: the SHA-256 in hex, the environment, and the MAC of
 * the version, blob id, digest and environment. */
static bool record_text(struct store *s, const char *blob, int env,
                        const unsigned char sha256[32], bool create,
                        char buf[256])
{
    char h[65], signed_part[160], mac_hex[65];
    rt_sha256_hex(sha256, h);
    snprintf(signed_part, sizeof(signed_part),
             VERIFY_RECORD_VERSION " %s %s %s", blob, h, env_names[env]);
    if (!record_mac(s, signed_part, create, mac_hex))
        return false;
    snprintf(buf, 256, "%s %s %s\n", h, env_names[env], mac_hex);
    return true;
}

/* Reads the record `name` of the records directory into buf (at most
 * size - 1 bytes, NUL-terminated): never through a link, never waiting
 * on a FIFO. False when there is none. */
static bool record_read(struct store *s, const char *name, char *buf,
                        size_t size)
{
    char dir[4200];
    int at =
        records_dir(s, dir, sizeof(dir)) ? cache_file_dir_open(dir, false) : -1;
    int fd = at >= 0 ? openat(at, name,
                              O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                     : -1;
    if (at >= 0)
        close(at);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return false;
    buf[n] = '\0';
    return true;
}

static bool is_object_id(const char *id)
{
    return strlen(id) == 40 && strspn(id, "0123456789abcdef") == 40;
}

void verify_record(struct store *s, const char *blob, int env,
                   const unsigned char sha256[32])
{
    char dir[4200], text[256];
    if (!is_object_id(blob) || !records_dir(s, dir, sizeof(dir)) ||
        !record_text(s, blob, env, sha256, true, text))
        return;
    cache_file_write(dir, blob, text, strlen(text));
}

/* Anything unreadable or different is no record. */
bool verify_recorded(struct store *s, const char *blob, int env,
                     const unsigned char sha256[32])
{
    char want[256], got[256];
    if (!is_object_id(blob) ||
        !record_text(s, blob, env, sha256, false, want) ||
        !record_read(s, blob, got, sizeof(got)))
        return false;
    size_t w = strlen(want);
    return strlen(got) == w && sodium_memcmp(got, want, w) == 0;
}

/* A review record's text: the bundle's blob id, the SHA-256 of its
 * organization id in hex, the environment, and the MAC of all of them
 * with the tree id and the commit's sources list's blob id. */
static bool review_text(struct store *s, const char *tree, int env,
                        const char *blob, const char *sources,
                        const char *org_hex, bool create, char buf[256])
{
    char signed_part[240], mac_hex[65];
    snprintf(signed_part, sizeof(signed_part), "review %s %s %s %s %s", tree,
             blob, sources, org_hex, env_names[env]);
    if (!record_mac(s, signed_part, create, mac_hex))
        return false;
    snprintf(buf, 256, "%s %s %s %s\n", blob, org_hex, env_names[env], mac_hex);
    return true;
}

void verify_record_review(struct store *s, const char *tree, int env,
                          const char *blob, const char *sources,
                          const char *organization)
{
    char dir[4200], name[128], text[256], org_hex[65];
    unsigned char org[32];
    if (!is_object_id(tree) || !is_object_id(blob) || !is_object_id(sources) ||
        !records_dir(s, dir, sizeof(dir)))
        return;
    rt_sha256(organization, strlen(organization), org);
    rt_sha256_hex(org, org_hex);
    if (!review_text(s, tree, env, blob, sources, org_hex, true, text))
        return;
    /* named by the sources too: two commits whose sources differ but
     * whose review trees are the same keep a record each */
    snprintf(name, sizeof(name), "%s.%s.%s.review", tree, sources,
             env_names[env]);
    cache_file_write(dir, name, text, strlen(text));
}

bool verify_review_recorded(struct store *s, const char *tree, int env,
                            const char *blob, const char *sources,
                            unsigned char organization[32])
{
    char name[128], got[256], want[256], org_hex[65];
    if (!is_object_id(tree) || !is_object_id(blob) || !is_object_id(sources))
        return false;
    /* named by the sources too: two commits whose sources differ but
     * whose review trees are the same keep a record each */
    snprintf(name, sizeof(name), "%s.%s.%s.review", tree, sources,
             env_names[env]);
    /* "<blob> <organization digest> <env> <mac>" */
    if (!record_read(s, name, got, sizeof(got)) || strlen(got) < 41 + 65 ||
        got[40] != ' ' || got[105] != ' ')
        return false;
    memcpy(org_hex, got + 41, 64);
    org_hex[64] = '\0';
    if (strspn(org_hex, "0123456789abcdef") != 64 ||
        !review_text(s, tree, env, blob, sources, org_hex, false, want))
        return false;
    size_t w = strlen(want);
    if (strlen(got) != w || sodium_memcmp(got, want, w) != 0)
        return false;
    return rt_hex_decode(org_hex, 64, organization, 32) == 0;
}

int verify_bodies(const struct struere_bundle *b, char *err, size_t errsize)
{
    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        size_t n = struere_bundle_count(b, k);
        for (size_t i = 0; i < n; i++) {
            const char *slug, *body;
            if (struere_bundle_entry(&slug, &body, NULL, b, k, i, NULL) != 0) {
                struere_bundle_entry(&slug, NULL, NULL, b, k, i, NULL);
                snprintf(err, errsize,
                         "the body of %s '%s' is not a JSON object",
                         struere_kind_name(k), slug);
                return VERIFY_INVALID;
            }
        }
    }
    /* a role's body is read when an actor first holds it: one that the
     * runtime cannot compile would fail every decision that needs it */
    struere_error e;
    int rc = rt_bundle_roles_check(b, &e);
    if (rc < 0) {
        snprintf(err, errsize, "%s", e.message);
        return rc == STRUERE_ENOMEM ? VERIFY_IO : VERIFY_INVALID;
    }
    return VERIFY_OK;
}

int verify_locate(struct store *s, const char *id, int env, struct verified *v,
                  char *err, size_t errsize)
{
    const char *path = compile_bundle_path((enum env)env);
    unsigned char *manifest;
    size_t mlen;
    /* One path looked up, not the tree listed: constant time. */
    int rc = store_blob_id(s, id, path, v->blob);
    if (rc == STORE_NOTFOUND) {
        snprintf(err, errsize, "commit %.12s has no %s", id, path);
        return VERIFY_INVALID;
    }
    if (rc != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return VERIFY_IO;
    }
    rc = store_read(s, id, "manifest.json", &manifest, &mlen);
    if (rc == STORE_NOTFOUND) {
        snprintf(err, errsize,
                 "commit %.12s has no manifest.json: the digest of %s "
                 "cannot be checked",
                 id, path);
        return VERIFY_INVALID;
    }
    if (rc != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return VERIFY_IO;
    }
    struere_error e;
    rt_sha256(manifest, mlen, v->manifest_sha256);
    rc = struere_manifest_digest(v->sha256, manifest, mlen, env + 1, &e);
    free(manifest);
    if (rc != STRUERE_OK) {
        snprintf(err, errsize, "commit %.12s: %s", id, e.message);
        return VERIFY_INVALID;
    }
    return VERIFY_OK;
}

/* Reads the bundle blob and verifies all of it against v->sha256. */
static int verify_whole(struct store *s, const char *id, int env,
                        struct struere_bundle **out, struct verified *v,
                        char *err, size_t errsize)
{
    const char *path = compile_bundle_path((enum env)env);
    unsigned char *data, got[32];
    size_t len;
    struere_error e;
    struct struere_bundle *b = NULL;
    if (store_read_blob(s, v->blob, &data, &len) != STORE_OK) {
        snprintf(err, errsize, "%s", store_error(s));
        return VERIFY_IO;
    }
    /* opened on the bytes read, which it then owns: no second copy */
    int rc = rt_bundle_open_taking(&b, data, len, env + 1, &e);
    if (rc == STRUERE_OK) {
        rt_sha256(data, len, got);
        if (memcmp(got, v->sha256, 32)) {
            char want_hex[65], got_hex[65];
            rt_sha256_hex(v->sha256, want_hex);
            rt_sha256_hex(got, got_hex);
            snprintf(e.message, sizeof(e.message),
                     "SHA-256 is %s but manifest.json says %s: it is not "
                     "the bundle that was compiled",
                     got_hex, want_hex);
            rc = STRUERE_EDIGEST;
        }
    } else {
        free(data); /* not taken */
    }
    if (rc != STRUERE_OK) {
        snprintf(err, errsize, "%.12s:%s: %s", id, path, e.message);
        struere_bundle_free(b);
        return VERIFY_INVALID;
    }
    /* Bytes this store already verified (their SHA-256 just checked)
     * need not have their bodies read again. */
    char why[600];
    if (verify_recorded(s, v->blob, env, v->sha256)) {
        rt_bundle_bodies_known_valid(b);
    } else if ((rc = verify_bodies(b, why, sizeof(why))) != VERIFY_OK) {
        snprintf(err, errsize, "%.12s:%s: %s", id, path, why);
        struere_bundle_free(b);
        return rc;
    } else {
        verify_record(s, v->blob, env, v->sha256);
    }
    if (out)
        *out = b;
    else
        struere_bundle_free(b);
    return VERIFY_OK;
}

int verify_commit_bundle(struct store *s, const char *id, int env,
                         struct struere_bundle **out, struct verified *v,
                         char *err, size_t errsize)
{
    if (out)
        *out = NULL;
    memset(v, 0, sizeof(*v));
    int rc = verify_locate(s, id, env, v, err, errsize);
    if (rc != VERIFY_OK)
        return rc;
    return verify_whole(s, id, env, out, v, err, errsize);
}

int verify_for_promotion(struct store *s, const char *id, int env,
                         struct verified *v, char *err, size_t errsize)
{
    memset(v, 0, sizeof(*v));
    int rc = verify_locate(s, id, env, v, err, errsize);
    if (rc != VERIFY_OK)
        return rc;
    if (verify_recorded(s, v->blob, env, v->sha256)) {
        v->from_record = true;
        return VERIFY_OK;
    }
    return verify_whole(s, id, env, NULL, v, err, errsize);
}
