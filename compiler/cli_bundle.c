/*
 * cli_bundle.c - finding a bundle for the commands that read them: a
 * .stb file, or an environment's bundle in a commit of the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "compile.h"
#include "store.h"
#include "struere.h"
#include "verify.h"

int cli_env_parse(const char *name)
{
    for (int e = 0; e < ENV_COUNT; e++)
        if (!strcmp(name, env_names[e]))
            return e;
    return -1;
}

int cli_env_arg(const char *value, int *env)
{
    *env = cli_env_parse(value);
    if (*env < 0) {
        cli_error("--env takes development, production or eval, not '%s'",
                  value);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* A bundle file's bodies, and its digest against the manifest.json
 * beside it when there is one (as `struere build` writes them). */
static int file_checks(const char *file, const struere_bundle *b,
                       const char *spec)
{
    char why[600], mpath[4200];
    int vrc = verify_bodies(b, why, sizeof(why));
    if (vrc != VERIFY_OK) {
        cli_error("%s: %s", spec, why);
        return vrc == VERIFY_IO ? EXIT_IO : EXIT_INVALID;
    }
    const char *slash = strrchr(file, '/');
    int dirlen = slash ? (int)(slash - file) : 1;
    snprintf(mpath, sizeof(mpath), "%.*s/manifest.json", dirlen,
             slash ? file : ".");
    struct stat st;
    FILE *f = NULL;
    if (stat(mpath, &st) != 0 || !S_ISREG(st.st_mode) ||
        !(f = fopen(mpath, "rb")))
        return EXIT_OK; /* no manifest beside it (a FIFO is none) */
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    size_t len;
    const void *bytes = struere_bundle_bytes(b, &len);
    struere_bundle_info info;
    struere_bundle_get_info(&info, b, NULL);
    struere_error err;
    if (struere_manifest_check(buf, n, info.environment, bytes, len, &err) !=
        STRUERE_OK) {
        cli_error("%s: %s (%s)", spec, err.message, mpath);
        return EXIT_INVALID;
    }
    return EXIT_OK;
}

/* Without --env, the bundle a revision's commit id names: production's
 * when the commit holds one (what a deploy promotes), else eval's when it
 * holds one (a commit of the eval branch holds eval's alone). */
static int commit_env(struct store *s, const char *id)
{
    char blob[41];
    if (store_blob_id(s, id, compile_bundle_path(ENV_PRODUCTION), blob) ==
            STORE_NOTFOUND &&
        store_blob_id(s, id, compile_bundle_path(ENV_EVAL), blob) == STORE_OK)
        return ENV_EVAL;
    return ENV_PRODUCTION;
}

int cli_load_bundle(const struct cli *g, struct store *s, const char *spec,
                    int env, struere_bundle **out, char *label,
                    size_t label_size, char commit[41])
{
    struct stat st;
    struere_error err;
    char buf[4096];
    const char *file = cli_path(g, spec, buf, sizeof(buf));
    *out = NULL;
    if (commit)
        commit[0] = '\0';
    int st_rc = stat(file, &st), st_errno = errno;
    size_t n = strlen(spec);
    /* a revision never starts so, nor ends in .stb: a file that is not
     * there (git's "unknown revision" would mislead) */
    if (st_rc != 0 && (spec[0] == '/' || !strncmp(spec, "./", 2) ||
                       !strncmp(spec, "../", 3) ||
                       (n > 4 && !strcmp(spec + n - 4, ".stb")))) {
        cli_error("%s: %s", spec, strerror(st_errno));
        return EXIT_IO;
    }
    if (st_rc == 0 && S_ISREG(st.st_mode)) {
        int rc = struere_bundle_open_file(out, file, 0, &err);
        if (rc != STRUERE_OK) {
            cli_error("%s: %s", spec, err.message);
            return rc == STRUERE_EIO ? EXIT_IO : EXIT_INVALID;
        }
        if ((rc = file_checks(file, *out, spec)) != EXIT_OK) {
            struere_bundle_free(*out);
            *out = NULL;
            return rc;
        }
        snprintf(label, label_size, "%s", spec);
        return EXIT_OK;
    }
    if (!s) {
        if (*cli_no_store_reason())
            cli_error("'%s' is not a bundle file, and no store could be "
                      "opened to read it from: %s",
                      spec, cli_no_store_reason());
        else
            cli_error("'%s' is not a bundle file", spec);
        return EXIT_USAGE;
    }
    char id[41];
    int rc = store_resolve(s, spec, id);
    if (rc == STORE_NOTFOUND) {
        if (cli_env_parse(spec) >= 0)
            cli_error("struere/%s does not exist yet: run 'struere %s' "
                      "first",
                      spec, strcmp(spec, "production") ? "dev" : "deploy");
        else
            cli_error("%s", store_error(s));
        return EXIT_INVALID;
    }
    if (rc != STORE_OK) {
        cli_error("%s", store_error(s));
        return EXIT_IO;
    }
    /* The revision is resolved once: what is read, and the commit named
     * beside it, are the same commit however its ref moves meanwhile. */
    if (env < 0)
        env = commit_env(s, id);
    /* A bundle read from a commit is verified whole, its SHA-256 against
     * the commit's manifest.json included. */
    struct verified v;
    char why[1024];
    rc = verify_commit_bundle(s, id, env, out, &v, why, sizeof(why));
    if (rc != VERIFY_OK) {
        cli_error("%s: %s", spec, why);
        return rc == VERIFY_IO ? EXIT_IO : EXIT_INVALID;
    }
    snprintf(label, label_size, "%s (%.12s)", spec, id);
    if (commit)
        memcpy(commit, id, 41);
    return EXIT_OK;
}

int cli_load_runtime(const struct cli *g, struct store *s, const char *spec,
                     int env, struere_runtime **out, char *label,
                     size_t label_size, char commit[41])
{
    struere_bundle *b;
    struere_error err;
    *out = NULL;
    int rc = cli_load_bundle(g, s, spec, env, &b, label, label_size, commit);
    if (rc != EXIT_OK)
        return rc;
    int orc = struere_runtime_open_bundle(out, b, &err);
    if (orc < 0) {
        cli_error("%s: %s", spec, err.message);
        return orc == STRUERE_ENOMEM ? EXIT_IO : EXIT_INVALID;
    }
    return EXIT_OK;
}
