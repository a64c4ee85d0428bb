/*
 * probe.c - drives struere_runtime_open_key and struere_runtime_reload for
 * tests/keys/run.sh, printing one line per step that the script compares:
 * what was opened (environment, commit, SHA-256 of the bundle's bytes) or
 * the error's code name and message. It also measures the cost of an open
 * against reading the bundle blob through libgit2 alone (--bench).
 *
 *   probe STORE KEY [NOW]              open by key (STORE "-": NULL), and
 *                                      the same through a keyring and
 *                                      struere_runtime_open_env
 *   probe --reload STORE KEY CMD [NOW] open, run CMD (sh -c), cd /, reload
 *                                      twice
 *   probe --file BUNDLE                reload a runtime opened from a file
 *   probe --bench N STORE KEY          resident memory of an open runtime;
 *                                      N opens against N blob reads
 */
#include <git2.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "struere.h"
#include "code_name.h"

/* Prints "error CODE: message", checking that the struct agrees. */
static int report_error(const char *step, int rc, const struere_error *err)
{
    printf("%s error %s: %s\n", step, code_name(rc), err->message);
    if (err->offset)
        printf("%s offset %llu\n", step, (unsigned long long)err->offset);
    if (err->code != rc || !err->message[0])
        printf("BUG %s: err.code %d, return %d, message '%s'\n", step,
               err->code, rc, err->message);
    return rc;
}

/* Reads every entry of every kind, by index and by slug: a loaded bundle
 * answers, or this says which entry did not. Returns the entry count. */
static long read_all(const struere_runtime *rt)
{
    const struere_bundle *b = struere_runtime_bundle(rt);
    long n = 0;
    for (int k = 0; k < STRUERE_KIND_COUNT; k++)
        for (size_t i = 0; i < struere_bundle_count(b, k); i++) {
            const char *slug, *body, *found;
            size_t len, flen;
            if (struere_bundle_entry(&slug, &body, &len, b, k, i, NULL) != 0 ||
                struere_bundle_lookup(&found, &flen, b, k, slug, NULL) != 0 ||
                found != body || flen != len) {
                printf("BUG entry %zu of %s does not answer\n", i,
                       struere_kind_name(k));
                return -1;
            }
            n++;
        }
    return n;
}

/* "env=E commit=C bundle_env=E sha256=H entries=N" of an open runtime. */
static void describe(const char *step, const struere_runtime *rt)
{
    struere_bundle_info info;
    unsigned char h[32];
    char hex[65];
    size_t len;
    const void *bytes = struere_bundle_bytes(struere_runtime_bundle(rt), &len);
    crypto_hash_sha256(h, bytes, len);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    struere_bundle_get_info(&info, struere_runtime_bundle(rt), NULL);
    printf("%s ok env=%s commit=%s bundle_env=%s sha256=%s entries=%ld\n", step,
           struere_env_name(struere_runtime_env(rt)),
           struere_runtime_commit(rt), struere_env_name(info.environment), hex,
           read_all(rt));
}

static int64_t arg_now(const char *s)
{
    return s ? strtoll(s, NULL, 10) : 0;
}

static int open_one(const char *store, const char *key, int64_t now)
{
    static char sentinel;
    struere_runtime *rt = (struere_runtime *)&sentinel; /* becomes NULL */
    struere_error err;
    int rc = struere_runtime_open_key(&rt, store, key, now, &err);
    /* The same call without a place for details must agree. */
    struere_runtime *quiet;
    int quiet_rc = struere_runtime_open_key(&quiet, store, key, now, NULL);
    if (quiet_rc != rc)
        printf("BUG open with no error struct gave %d, not %d\n", quiet_rc, rc);
    struere_runtime_free(quiet);
    if (rc < 0) {
        report_error("open", rc, &err);
        if (rt)
            printf("BUG open failed but left a runtime\n");
        return 1;
    }
    if (err.code != 0 || err.message[0])
        printf("BUG open succeeded with error '%s'\n", err.message);
    describe("open", rt);
    struere_runtime_free(rt);
    return 0;
}

/*
 * The same question asked as `struere serve` asks it: the key checked in
 * a keyring, then its environment opened without a key. It must end as
 * the open by key did - the same code and message on a failure, the same
 * environment, commit and bundle bytes on success; anything else is
 * printed as a BUG line (which the script fails on).
 */
static void keyring_agrees(const char *store, const char *key, int64_t now)
{
    struere_open_options o = {0};
    struere_runtime *by_key = NULL, *by_env = NULL;
    struere_keyring *kr = NULL;
    struere_error ek, er, ee;
    int env = -1;
    o.store = store;
    o.now = now;
    int rc_key = struere_runtime_open(&by_key, key, &o, &ek);
    int rc = struere_keyring_open(&kr, &o, &er);
    if (rc == 0)
        rc = struere_keyring_check(&env, kr, key, now, &er);
    if (rc < 0) {
        if (rc != rc_key || strcmp(er.message, ek.message))
            printf("BUG keyring: %s '%s' where the open by key gave %s '%s'\n",
                   code_name(rc), er.message, code_name(rc_key), ek.message);
        if (env != 0 && kr)
            printf("BUG keyring: a refused key has environment %d\n", env);
    } else {
        int rc_env = struere_runtime_open_env(&by_env, env, &o, &ee);
        if (rc_env != rc_key || (rc_env < 0 && strcmp(ee.message, ek.message)))
            printf("BUG keyring: open_env gave %s '%s' where the open by key "
                   "gave %s '%s'\n",
                   code_name(rc_env), rc_env ? ee.message : "",
                   code_name(rc_key), rc_key ? ek.message : "");
        if (rc_env == 0 && rc_key == 0) {
            size_t a, b;
            const void *x =
                struere_bundle_bytes(struere_runtime_bundle(by_env), &a);
            const void *y =
                struere_bundle_bytes(struere_runtime_bundle(by_key), &b);
            if (struere_runtime_env(by_env) != struere_runtime_env(by_key) ||
                strcmp(struere_runtime_commit(by_env),
                       struere_runtime_commit(by_key)) ||
                a != b || memcmp(x, y, a))
                printf("BUG keyring: open_env loaded another bundle than the "
                       "open by key\n");
        }
    }
    struere_runtime_free(by_env);
    struere_runtime_free(by_key);
    struere_keyring_free(kr);
}

static void reload_step(const char *step, struere_runtime *rt, int64_t now)
{
    struere_error err;
    int changed = -1;
    int rc = struere_runtime_reload(&changed, rt, now, &err);
    if (rc < 0) {
        report_error(step, rc, &err);
        if (changed != 0)
            printf("BUG %s failed with changed=%d\n", step, changed);
    } else {
        printf("%s changed=%d\n", step, changed);
    }
    describe("state", rt);
}

static int reload(const char *store, const char *key, const char *cmd,
                  int64_t now)
{
    struere_runtime *rt;
    struere_error err;
    int rc = struere_runtime_open_key(&rt, store, key, now, &err);
    if (rc < 0) {
        report_error("open", rc, &err);
        return 1;
    }
    describe("open", rt);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("BUG command failed: %s\n", cmd);
    /* The store must be found again from anywhere, even when it was
     * given relative to the directory the runtime was opened in. */
    if (chdir("/") != 0)
        printf("BUG cannot change to /\n");
    reload_step("reload", rt, now);
    reload_step("again", rt, now);
    struere_runtime_free(rt);
    return 0;
}

static int file_reload(const char *path)
{
    struere_runtime *rt;
    struere_error err;
    int changed;
    int rc = struere_runtime_open_file(&rt, path, 0, &err);
    if (rc < 0) {
        report_error("open", rc, &err);
        return 1;
    }
    rc = struere_runtime_reload(&changed, rt, 0, &err);
    if (rc < 0)
        report_error("reload", rc, &err);
    else
        printf("reload changed=%d\n", changed);
    printf("commit='%s'\n", struere_runtime_commit(rt));
    rc = struere_runtime_reload(NULL, NULL, 0, &err);
    report_error("reload-null", rc, &err);
    struere_runtime_free(rt);
    return 0;
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A line of /proc/self/status ("VmRSS:", "RssAnon:", "RssFile:") in KiB,
 * or -1. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, field, strlen(field)))
            kib = strtol(line + strlen(field), NULL, 10);
    fclose(f);
    return kib;
}

/* The baseline: open the repository, resolve the ref to the blob's id,
 * read the blob once with git_odb_read. */
static int read_blob(const char *store, int env, size_t *size)
{
    char spec[96];
    git_repository *repo = NULL;
    git_object *tree = NULL;
    git_tree_entry *entry = NULL;
    git_odb *odb = NULL;
    git_odb_object *blob = NULL;
    const char *name = struere_env_name(env);
    snprintf(spec, sizeof(spec), "refs/heads/struere/%s^{tree}", name);
    char path[64];
    snprintf(path, sizeof(path), "bundles/%s.stb", name);
    int rc = git_repository_open_ext(&repo, store,
                                     GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
    if (rc == 0)
        rc = git_revparse_single(&tree, repo, spec);
    if (rc == 0)
        rc = git_tree_entry_bypath(&entry, (git_tree *)tree, path);
    if (rc == 0)
        rc = git_repository_odb(&odb, repo);
    if (rc == 0)
        rc = git_odb_read(&blob, odb, git_tree_entry_id(entry));
    if (rc == 0)
        *size = git_odb_object_size(blob);
    git_odb_object_free(blob);
    git_odb_free(odb);
    git_tree_entry_free(entry);
    git_object_free(tree);
    git_repository_free(repo);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench(int n, const char *store, const char *key)
{
    struere_runtime *rt;
    struere_error err;
    size_t size = 0;
#ifdef __GLIBC__
    /* A fixed threshold: every large block is its own mapping, returned
     * when freed, so that resident memory shows what is live (glibc's
     * moving threshold would keep a freed bundle's pages in the heap). */
    mallopt(M_MMAP_THRESHOLD, 1 << 17);
#endif
    /* A first open faults in the libraries' code and data: the second
     * shows what a runtime itself keeps. */
    if (struere_runtime_open_key(&rt, store, key, 0, &err) < 0)
        return report_error("open", err.code, &err), 1;
    struere_runtime_free(rt);
    long rss = status_kib("VmRSS:"), anon = status_kib("RssAnon:");
    long file = status_kib("RssFile:");
    if (struere_runtime_open_key(&rt, store, key, 0, &err) < 0)
        return report_error("open", err.code, &err), 1;
    rss = status_kib("VmRSS:") - rss;
    anon = status_kib("RssAnon:") - anon;
    file = status_kib("RssFile:") - file;
    int env = struere_runtime_env(rt);
    struere_bundle_info info;
    struere_bundle_get_info(&info, struere_runtime_bundle(rt), NULL);
    printf("bundle %llu KiB; an open runtime keeps %ld KiB resident (%ld "
           "anonymous, %ld file-backed)\n",
           (unsigned long long)info.size / 1024, rss, anon, file);
    struere_runtime_free(rt);
    /* Rounds alternate the two, so that a busy machine slows both alike;
     * medians are compared. */
    double *floor_s = calloc((size_t)n, sizeof(double));
    double *open_s = calloc((size_t)n, sizeof(double));
    int rc = floor_s && open_s ? 0 : 1;
    git_libgit2_init();
    for (int i = 0; i < n && rc == 0; i++) {
        double t0 = seconds();
        if (read_blob(store, env, &size) < 0) {
            printf("baseline read failed\n");
            rc = 1;
        }
        double t1 = seconds();
        if (struere_runtime_open_key(&rt, store, key, 0, &err) < 0)
            rc = report_error("open", err.code, &err) < 0;
        else
            struere_runtime_free(rt);
        double t2 = seconds();
        floor_s[i] = t1 - t0;
        open_s[i] = t2 - t1;
    }
    git_libgit2_shutdown();
    if (rc == 0) {
        qsort(floor_s, (size_t)n, sizeof(double), cmp_double);
        qsort(open_s, (size_t)n, sizeof(double), cmp_double);
        printf("median of %d: one libgit2 read of the blob %.0f us; open by "
               "key %.0f us (ratio %.2f)\n",
               n, floor_s[n / 2] * 1e6, open_s[n / 2] * 1e6,
               open_s[n / 2] / floor_s[n / 2]);
    }
    free(floor_s);
    free(open_s);
    return rc;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* "-" stands for no store: the current directory. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-"))
            argv[i] = NULL;
    if (argc >= 3 && argc <= 4 && (!argv[1] || argv[1][0] != '-')) {
        int64_t now = arg_now(argc > 3 ? argv[3] : NULL);
        keyring_agrees(argv[1], argv[2], now);
        return open_one(argv[1], argv[2], now);
    }
    if (argv[1] && argc >= 5 && argc <= 6 && !strcmp(argv[1], "--reload"))
        return reload(argv[2], argv[3], argv[4],
                      arg_now(argc > 5 ? argv[5] : NULL));
    if (argv[1] && argc == 3 && !strcmp(argv[1], "--file"))
        return file_reload(argv[2]);
    if (argv[1] && argc == 5 && !strcmp(argv[1], "--bench") &&
        atoi(argv[2]) > 0)
        return bench(atoi(argv[2]), argv[3], argv[4]);
    fprintf(stderr, "usage: probe STORE KEY [NOW]\n"
                    "       probe --reload STORE KEY CMD [NOW]\n"
                    "       probe --file BUNDLE\n"
                    "       probe --bench N STORE KEY\n");
    return 2;
}
