/*
 * cmd_build.c - `struere build [--out DIR]`: check, then write the three
 * bundles and manifest.json as files (CI artefacts); no git.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "compile.h"

static const char build_usage[] =
    "usage: struere build [--out DIR]\n"
    "\n"
    "Checks the project, then writes DIR/development.stb, production.stb,\n"
    "eval.stb and manifest.json (default DIR: dist). Same sources, same\n"
    "bytes. Nothing is written when the project has errors.\n";

/* Writes a file atomically: a temporary beside it, then rename. */
static int write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    if (w != len || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        fclose(f);
        unlink(tmp);
        return -1;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cmd_build(const struct cli *g, int argc, char **argv)
{
    const char *out = "dist";
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            fputs(build_usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else {
            cli_error("build: unknown argument '%s'\n", argv[i]);
            fputs(build_usage, stderr);
            return EXIT_USAGE;
        }
    }
    struct project p;
    struct compiled c;
    char *manifest = NULL;
    int rc = cli_compile(g, &p, &c);
    if (rc != EXIT_OK)
        goto done;
    /* Made before anything is written: a run out of memory writes
     * nothing. */
    if (!(manifest = compile_manifest(&p, &c, (1u << ENV_COUNT) - 1))) {
        cli_error("out of memory");
        rc = EXIT_IO;
        goto done;
    }
    char dir[4096];
    if (out[0] == '/' || !strcmp(g->dir, "."))
        snprintf(dir, sizeof(dir), "%s", out);
    else
        snprintf(dir, sizeof(dir), "%s/%s", g->dir, out);
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        cli_error("cannot create %s: %s", dir, strerror(errno));
        rc = EXIT_IO;
        goto done;
    }
    for (int e = 0; e < ENV_COUNT; e++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s.stb", dir, env_names[e]);
        if (write_atomic(path, c.bundle[e].data, c.bundle[e].len) < 0) {
            cli_error("cannot write %s: %s", path, strerror(errno));
            rc = EXIT_IO;
            goto done;
        }
        printf("wrote %s (%zu bytes)\n", path, c.bundle[e].len);
    }
    char path[4200];
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if (write_atomic(path, manifest, strlen(manifest)) < 0) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        rc = EXIT_IO;
    } else {
        printf("wrote %s\n", path);
    }
done:
    free(manifest);
    compiled_free(&c);
    project_free(&p);
    return rc;
}
