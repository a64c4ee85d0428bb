/* TEMPORARY shim of the lead's key API (see keyring_shim.h). */
#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyring_shim.h"

struct struere_keyring {
    char store[4096];
    char commit[41];
};

static int ref_hex(const char *store, const char *ref, char hex[41])
{
    git_repository *repo;
    git_oid id;
    hex[0] = 0;
    git_libgit2_init();
    if (git_repository_open_ext(&repo, store, 0, NULL) < 0)
        return -1;
    int rc = git_reference_name_to_id(&id, repo, ref);
    if (rc == 0)
        git_oid_tostr(hex, 41, &id);
    git_repository_free(repo);
    return rc;
}

int struere_keyring_open(struere_keyring **out,
                         const struere_open_options *options,
                         struere_error *err)
{
    (void)err;
    struere_keyring *k = calloc(1, sizeof(*k));
    if (!k)
        return STRUERE_ENOMEM;
    snprintf(k->store, sizeof(k->store), "%s", options->store);
    ref_hex(k->store, "refs/struere/keys", k->commit);
    *out = k;
    return 0;
}

int struere_keyring_check(int *env, const struere_keyring *kr, const char *key,
                          int64_t now, struere_error *err)
{
    struere_runtime *rt;
    int rc = struere_runtime_open_key(&rt, kr->store, key, now, err);
    if (rc < 0 && rc != STRUERE_EKEY && rc != STRUERE_EREVOKED &&
        rc != STRUERE_EEXPIRED) {
        /* the key is good, the bundle not: the prefix names the env */
        *env = !strncmp(key, "sk_dev_", 7)    ? STRUERE_ENV_DEVELOPMENT
               : !strncmp(key, "sk_prod_", 8) ? STRUERE_ENV_PRODUCTION
                                              : STRUERE_ENV_EVAL;
        return 0;
    }
    if (rc < 0)
        return rc;
    *env = struere_runtime_env(rt);
    struere_runtime_free(rt);
    return 0;
}

const char *struere_keyring_commit(const struere_keyring *kr)
{
    return kr->commit;
}

void struere_keyring_free(struere_keyring *kr)
{
    free(kr);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const struere_runtime *rt;
    char hex[41];
} table[64];

#undef struere_runtime_commit
const char *shim_runtime_commit(const struere_runtime *rt)
{
    const char *r = "";
    pthread_mutex_lock(&lock);
    for (int i = 0; i < 64; i++)
        if (table[i].rt == rt)
            r = table[i].hex;
    pthread_mutex_unlock(&lock);
    return r;
}

int struere_runtime_open_env(struere_runtime **out, int env,
                             const struere_open_options *options,
                             struere_error *err)
{
    char ref[100], hex[41], path[64];
    const char *name = struere_env_name(env);
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", name);
    snprintf(path, sizeof(path), "bundles/%s.stb", name);
    *out = NULL;
    git_repository *repo;
    git_libgit2_init();
    if (git_repository_open_ext(&repo, options->store, 0, NULL) < 0)
        return STRUERE_ESTORE;
    git_oid id;
    git_commit *c = NULL;
    git_tree *t = NULL;
    git_tree_entry *e = NULL;
    git_blob *b = NULL;
    int rc = STRUERE_ENOTFOUND;
    if (git_reference_name_to_id(&id, repo, ref) < 0 ||
        git_commit_lookup(&c, repo, &id) < 0 || git_commit_tree(&t, c) < 0 ||
        git_tree_entry_bypath(&e, t, path) < 0 ||
        git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0) {
        if (err)
            snprintf(err->message, sizeof(err->message), "no %s bundle", name);
        goto done;
    }
    git_oid_tostr(hex, 41, &id);
    git_tree_entry *me = NULL;
    git_blob *mb = NULL;
    if (git_tree_entry_bypath(&me, t, "manifest.json") < 0 ||
        git_blob_lookup(&mb, repo, git_tree_entry_id(me)) < 0 ||
        struere_manifest_check(
            git_blob_rawcontent(mb), (size_t)git_blob_rawsize(mb), env,
            git_blob_rawcontent(b), (size_t)git_blob_rawsize(b), err) < 0) {
        git_blob_free(mb);
        git_tree_entry_free(me);
        rc = STRUERE_EDIGEST;
        goto done;
    }
    git_blob_free(mb);
    git_tree_entry_free(me);
    rc = struere_runtime_open_memory(out, git_blob_rawcontent(b),
                                     (size_t)git_blob_rawsize(b), env, err);
    if (rc == 0) {
        static int next;
        pthread_mutex_lock(&lock);
        int slot = -1;
        for (int j = 0; j < 64 && slot < 0; j++)
            if (table[j].rt == *out)
                slot = j;
        for (int j = 0; j < 64 && slot < 0; j++)
            if (!table[j].rt)
                slot = j;
        if (slot < 0)
            slot = next++ % 64;
        table[slot].rt = *out;
        memcpy(table[slot].hex, hex, 41);
        pthread_mutex_unlock(&lock);
    }
done:
    git_blob_free(b);
    git_tree_entry_free(e);
    git_tree_free(t);
    git_commit_free(c);
    git_repository_free(repo);
    return rc;
}
