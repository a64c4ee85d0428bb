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

int main(int argc, char **argv)
{
    struere_runtime *rt = NULL;
    struere_actor *sys = NULL, *nobody = NULL;
    struere_error err;
    struere_decision d;
    const char *type = NULL;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: core-check EVAL_BUNDLE\n");
        return 2;
    }
    if (struere_runtime_open_file(&rt, argv[1], 0, &err) < 0) {
        fprintf(stderr, "core-check: %s: %s\n", argv[1], err.message);
        return 1;
    }
    const struere_bundle *b = struere_runtime_bundle(rt);
    if (struere_bundle_entry(&type, NULL, NULL, b, STRUERE_KIND_DATA, 0, NULL) <
        0) {
        fprintf(stderr, "core-check: %s has no data type\n", argv[1]);
        goto cleanup;
    }
    struere_actor_spec sys_spec = {.type = STRUERE_ACTOR_SYSTEM};
    struere_actor_spec user_spec = {.type = STRUERE_ACTOR_USER, .id = "u1"};
    if (struere_actor_new(&sys, rt, &sys_spec, &err) < 0 ||
        struere_actor_new(&nobody, rt, &user_spec, &err) < 0) {
        fprintf(stderr, "core-check: actor: %s\n", err.message);
        goto cleanup;
    }
    /* The system actor may read anything; a user with no role nothing. */
    if (struere_decide(&d, rt, sys, "read", type, NULL) < 0 || !d.allowed ||
        d.reason != STRUERE_REASON_SYSTEM) {
        fprintf(stderr, "core-check: the system actor may not read %s\n", type);
        goto cleanup;
    }
    if (struere_decide(&d, rt, nobody, "read", type, NULL) < 0 || d.allowed ||
        d.reason != STRUERE_REASON_NO_ROLES) {
        fprintf(stderr, "core-check: a user with no role may read %s\n", type);
        goto cleanup;
    }
    printf("core-check: %s opened and decided with the core alone\n", argv[1]);
    rc = 0;
cleanup:
    struere_actor_free(nobody);
    struere_actor_free(sys);
    struere_runtime_free(rt);
    return rc;
}
