/*
 * file_only.c - the build check that libstruere's core stands alone: this
 * program opens a bundle file, prepares actors and decides, and is linked
 * against libstruere-core.a with zlib only (runtime/runtime.mk). Should
 * the core come to need libgit2 or libsodium, the link fails.
 *
 * usage: core-check EVAL_BUNDLE
 */
#include <stdio.h>

#include "struere.h"

/* Decides as a service holding only bundle files would: 0 when the
 * system actor may read the bundle's first data type and a user with no
 * role may not. */
static int decide_two(const struere_runtime *rt, struere_error *err)
{
    struere_actor *sys = NULL, *nobody = NULL;
    struere_decision d;
    const char *type = NULL;
    int ok = 0;
    struere_actor_spec sys_spec = {.type = STRUERE_ACTOR_SYSTEM};
    struere_actor_spec user_spec = {.type = STRUERE_ACTOR_USER, .id = "u1"};

    if (struere_bundle_entry(&type, NULL, NULL, struere_runtime_bundle(rt),
                             STRUERE_KIND_DATA, 0, err) == 0 &&
        struere_actor_new(&sys, rt, &sys_spec, err) == 0 &&
        struere_actor_new(&nobody, rt, &user_spec, err) == 0)
        ok = struere_decide(&d, rt, sys, "read", type, err) == 0 && d.allowed &&
             d.reason == STRUERE_REASON_SYSTEM &&
             struere_decide(&d, rt, nobody, "read", type, err) == 0 &&
             !d.allowed && d.reason == STRUERE_REASON_NO_ROLES;
    struere_actor_free(nobody);
    struere_actor_free(sys);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    struere_runtime *rt = NULL;
    struere_error err = {0};
    const char *path = argc == 2 ? argv[1] : NULL;

    if (!path) {
        fputs("usage: core-check EVAL_BUNDLE\n", stderr);
        return 2;
    }
    int rc = struere_runtime_open_file(&rt, path, 0, &err);
    if (rc == 0)
        rc = decide_two(rt, &err);
    struere_runtime_free(rt);
    if (rc < 0) {
        fprintf(stderr, "core-check: %s: %s\n", path,
                err.message[0] ? err.message : "a decision is not as expected");
        return 1;
    }
    printf("core-check: %s opened and decided with the core alone\n", path);
    return 0;
}
