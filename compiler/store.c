/*
 * store.c - libgit2 calls. libgit2 1.5: git_error_last() may be NULL.
 */
#include "store.h"

#include <git2.h>
#include <stdio.h>

static void git_message(char *err, size_t size, const char *what)
{
    const git_error *e = git_error_last();
    snprintf(err, size, "%s: %s", what, e && e->message ? e->message
                                                        : "unknown error");
}

int store_ensure_repository(const char *dir, bool *created, char *err,
                            size_t errsize)
{
    int rc = -1;
    git_buf found = GIT_BUF_INIT;
    git_repository *repo = NULL;
    *created = false;
    git_libgit2_init();
    if (git_repository_discover(&found, dir, 0, NULL) == 0) {
        rc = 0;
        goto cleanup;
    }
    if (git_repository_init(&repo, dir, 0) < 0) {
        git_message(err, errsize, "git init failed");
        goto cleanup;
    }
    *created = true;
    rc = 0;
cleanup:
    git_buf_dispose(&found);
    git_repository_free(repo);
    git_libgit2_shutdown();
    return rc;
}
