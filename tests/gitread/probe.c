/*
 * probe.c - reads a git store through the runtime's reader
 * (runtime/src/gitread.h) and prints what it read in the formats git's
 * own commands print, so that tests/gitread/run.sh compares the two
 * byte for byte.
 *
 *   gitread-probe [--portable] STORE ref NAME     the id, as git rev-parse
 *   gitread-probe [--portable] STORE path COMMIT PATH
 *                                     "file ID" or "other ID", as git ls-tree
 *   gitread-probe [--portable] PATH discover      the store found from
 *                                     PATH up, as serve finds it: its name
 *   gitread-probe [--portable] STORE batch  < "ID TYPE" lines
 *       each object as git cat-file --batch prints it ("ID TYPE SIZE",
 *       the bytes, a newline), or "ID error: REASON"
 *
 * --portable: the SHA-1 of sha1.c, libcrypto not opened. Exit 0 when
 * every read succeeded, 1 when one failed (its reason printed), 2 on
 * usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitread.h"
#include "rt_crypto.h"

static const char *const types[] = {"", "commit", "tree", "blob", "tag"};

static int type_of(const char *name)
{
    for (int t = 1; t <= 4; t++)
        if (!strcmp(types[t], name))
            return t;
    return 0;
}

static int batch(struct rt_git *g)
{
    char line[256];
    int failed = 0;
    while (fgets(line, sizeof(line), stdin)) {
        char hex[64], type[16];
        unsigned char id[RT_GIT_ID];
        if (sscanf(line, "%63s %15s", hex, type) != 2 ||
            rt_git_id_parse(hex, id) != 0 || !type_of(type)) {
            fprintf(stderr, "gitread-probe: bad batch line: %s", line);
            return 2;
        }
        struct rt_git_object o;
        struere_error e;
        int rc = rt_git_read(g, id, type_of(type), (size_t)1 << 30, &o, &e);
        if (rc == STRUERE_ERANGE) {
            printf("%s error: %zu bytes, more than 1 GiB\n", hex, o.len);
            failed = 1;
            continue;
        }
        if (rc < 0) {
            printf("%s error: %s\n", hex, e.message);
            failed = 1;
            continue;
        }
        printf("%s %s %zu\n", hex, type, o.len);
        fwrite(o.data, 1, o.len, stdout);
        putchar('\n');
        free(o.data);
    }
    return failed;
}

int main(int argc, char **argv)
{
    int a = 1;
    if (a < argc && !strcmp(argv[a], "--portable")) {
        rt_crypto_forgo();
        a++;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: gitread-probe [--portable] STORE "
                        "{ref NAME | path COMMIT PATH | batch | discover}\n");
        return 2;
    }
    struct rt_git *g;
    struere_error e;
    if (!strcmp(argv[a + 1], "discover") && argc - a == 2) {
        if (rt_git_discover(&g, argv[a], false, &e) < 0) {
            printf("error: %s\n", e.message);
            return 1;
        }
        printf("%s\n", rt_git_name(g));
        rt_git_close(g);
        return 0;
    }
    if (rt_git_open(&g, argv[a], &e) < 0) {
        printf("error: %s\n", e.message);
        return 1;
    }
    const char *cmd = argv[a + 1];
    unsigned char id[RT_GIT_ID];
    char hex[41];
    int rc = 0;
    if (!strcmp(cmd, "ref") && argc - a == 3) {
        rc = rt_git_ref(g, argv[a + 2], id, &e);
        if (rc == 0) {
            rt_git_id_hex(id, hex);
            printf("%s\n", hex);
        } else {
            printf("%s: %s\n", rc == STRUERE_ENOTFOUND ? "notfound" : "error",
                   e.message);
        }
    } else if (!strcmp(cmd, "path") && argc - a == 4) {
        unsigned char commit[RT_GIT_ID];
        int file;
        if (rt_git_id_parse(argv[a + 2], commit) != 0) {
            fprintf(stderr, "gitread-probe: %s is not an id\n", argv[a + 2]);
            rt_git_close(g);
            return 2;
        }
        rc = rt_git_commit_path(g, commit, argv[a + 3], id, &file, &e);
        if (rc == 0) {
            rt_git_id_hex(id, hex);
            printf("%s %s\n", file ? "file" : "other", hex);
        } else {
            printf("%s: %s\n", rc == STRUERE_ENOTFOUND ? "notfound" : "error",
                   rc == STRUERE_ENOTFOUND ? argv[a + 3] : e.message);
        }
    } else if (!strcmp(cmd, "batch") && argc - a == 2) {
        rc = batch(g);
        rt_git_close(g);
        return rc;
    } else {
        fprintf(stderr, "gitread-probe: unknown command %s\n", cmd);
        rc = 2;
    }
    rt_git_close(g);
    return rc == 0 ? 0 : rc == 2 ? 2 : 1;
}
