/*
 * dev.h - the pipeline of `struere dev`: check the project (unchanged
 * files restored from the cache of parsed definitions), read what the
 * branches' previous commits offer, compile reusing it, write and commit
 * the bundles to the development and eval branches, move their refs (or
 * propose the moves the trust policy wants signed), push, save the
 * caches. It prints nothing: it tells its caller what happened, as it
 * happens, through hooks, and the command prints (cmd_dev.c).
 */
#ifndef STRUERE_DEV_H
#define STRUERE_DEV_H

#include <stdbool.h>
#include <stddef.h>

#include "env.h"

struct compiled;
struct project;
struct signer;
struct store;
struct lastrun_made;
struct promotion_result;

/* How a run ends: the same numbers as the command's exit codes. */
enum dev_status { DEV_OK = 0, DEV_INVALID = 1, DEV_IO = 3 };
/* The unchanged hook's answer when the shortcut does not apply: the run
 * takes the whole way. */
#define DEV_AGAIN (-1)

/* What became of one branch. Borrowed: valid during the hook. */
struct dev_branch {
    const char *label; /* "development" or "eval" */
    int env;           /* the environment its promotions name (ENV_*) */
    const char *id;    /* the commit it is at, or is proposed to move to */
    bool changed;      /* id is a new commit (else the branch was at it) */
    /* When the trust policy wants the move signed: the promotion
     * statement made (pending unless --sign keys reached its K); NULL
     * when the ref moved as it is. */
    const struct promotion_result *promotion;
    /* The commit message: a summary line ("struere dev: 1 agent
     * changed"), then the definitions added (+), changed (~) and removed
     * (-) per environment, a line each. */
    const char *message;
};

/* What a dry run hands its compiled hook, borrowed for the call. */
struct dev_bundles {
    /* Each environment's bundle as compiled, opened (verified) on the
     * compiled bytes, without a copy. */
    struct struere_bundle *compiled[ENV_COUNT];
    /* The bundle its branch's commit holds (production's: the
     * development branch's), as the run read it to reuse what did not
     * change: its SHA-256 checked against that commit's manifest.json and
     * its sections opened (verified), its bodies not read (verify.h's
     * verify_bodies). NULL when not read. */
    const struct struere_bundle *previous[ENV_COUNT];
    const char *previous_commit[ENV_COUNT]; /* that commit's id, or "" */
};

/* The caller's side: each may be NULL except checked. */
struct dev_hooks {
    /* The check is done (rc: check_project's result; p's diagnostics are
     * sorted): report them. Returns DEV_OK to go on, or the status to
     * end the run with (nothing is committed then). */
    int (*checked)(void *arg, const struct project *p, int rc);
    /* A phase ended after `seconds` (what each took: dev -v). */
    void (*phase)(void *arg, double seconds, const char *what);
    /* A branch has moved, been proposed, or is up to date. */
    void (*branch)(void *arg, const struct dev_branch *b);
    /* The refs were pushed to remote (with the promotion statements when
     * with_promotions). */
    void (*pushed)(void *arg, const char *remote, bool with_promotions);
    /* Why the run stops: its first failure. */
    void (*error)(void *arg, const char *message);
    /* Something the user should know that does not stop the run (NULL:
     * not told): the caches' directory refused (the run is a whole one). */
    void (*warning)(void *arg, const char *message);
    /* A dry run's end: the bundles compiled (and verified) as a run would
     * commit them, c, and opened, b. Returns the status to end the run
     * with. */
    int (*compiled)(void *arg, const struct project *p,
                    const struct compiled *c, const struct dev_bundles *b);
    /* A dry run's shortcut, tried first: no file or directory changed
     * since the last run, which made m (lastrun.h); s is the store.
     * Returns the status to end the run with, or DEV_AGAIN to check and
     * compile the whole way (nothing may have been printed then). */
    int (*unchanged)(void *arg, struct store *s, const struct lastrun_made *m);
    void *arg;
};

struct dev_options {
    const char *dir; /* the project directory */
    /* The store as given (--store, a path usable as it is), or NULL:
     * struere.yaml's store:, else the repository enclosing dir. */
    const char *store;
    const struct signer *signers; /* for the trust policy (--sign) */
    size_t nsigners;
    const char *push;          /* a remote to push the moved refs to, or NULL */
    struct progress *progress; /* how far the run is (progress.h), or NULL */
    /* Check and compile as a run would, with its caches, then hand the
     * bundles to the compiled hook and stop: nothing is written (not
     * the caches either). `struere status` runs so. */
    bool dry;
};

/* Runs the pipeline once. First, when the last run's record (lastrun.h)
 * vouches that no input changed: a dry run asks the unchanged hook, and a
 * run with both branches still at that run's commits (no push, no
 * signer, no trust policy) reports them up to date; neither reads a
 * definition then. Returns DEV_OK, DEV_INVALID (the project has
 * errors, or the trust policy refused) or DEV_IO (the store, the file
 * system, memory); the hooks have been told why. */
int dev_run(const struct dev_options *o, const struct dev_hooks *h);

#endif
