/*
 * cli_bundle.c - finding a bundle for the commands that read them: a
 * .stb file, or an environment's bundle in a commit of the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "compile.h"
#include "store.h"
#include "struere.h"

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

int cli_load_bundle(const struct cli *g, struct store *s, const char *spec,
                    int env, struere_bundle **out, char *label,
                    size_t label_size)
{
    struct stat st;
    struere_error err;
    char buf[4096];
    const char *file = cli_path(g, spec, buf, sizeof(buf));
    *out = NULL;
    if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
        int rc = struere_bundle_open_file(out, file, 0, &err);
        if (rc != STRUERE_OK) {
            cli_error("%s: %s", spec, err.message);
            return rc == STRUERE_EIO ? EXIT_IO : EXIT_INVALID;
        }
        snprintf(label, label_size, "%s", spec);
        return EXIT_OK;
    }
    if (!s) {
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
    unsigned char *data;
    size_t len;
    const char *path = compile_bundle_path((enum env)env);
    rc = store_read(s, id, path, &data, &len);
    if (rc != STORE_OK) {
        cli_error("%s", store_error(s));
        return rc == STORE_NOTFOUND ? EXIT_INVALID : EXIT_IO;
    }
    rc = struere_bundle_open_memory(out, data, len, env + 1, &err);
    free(data);
    if (rc != STRUERE_OK) {
        cli_error("%s:%s in %.12s: %s", spec, path, id, err.message);
        return EXIT_INVALID;
    }
    snprintf(label, label_size, "%s (%.12s)", spec, id);
    return EXIT_OK;
}
