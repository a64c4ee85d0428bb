/*
 * open.c - the cost of opening a runtime by API key against its floor,
 * reading the same bundle blob through libgit2, in one process, on the
 * same store.
 *
 * usage: open STORE KEY ENV [ROUNDS]
 *
 * floor: open the repository, resolve refs/heads/struere/ENV to its tree,
 *        read bundles/ENV.stb with git_odb_read (what any reader of the
 *        blob must do);
 * open:  struere_runtime_open_key (the same reads, plus the key check,
 *        the bundle's full verification and the precomputed model).
 * Rounds alternate the two; medians are printed, with the resident
 * memory the runtime keeps (VmRSS after open minus before, in the last
 * round, and in the first, which also pays libgit2's and libsodium's
 * one-time setup) against the bundle's size.
 */
#include <git2.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "struere.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* The floor: the blob through libgit2. Returns its size, or 0. */
static size_t read_blob(const char *store, const char *env)
{
    git_repository *repo = NULL;
    git_object *tree = NULL;
    git_tree_entry *entry = NULL;
    git_odb *odb = NULL;
    git_odb_object *blob = NULL;
    char spec[128], path[64];
    size_t size = 0;
    /* the commit and tree (small), then the blob read once */
    snprintf(spec, sizeof(spec), "refs/heads/struere/%s^{tree}", env);
    snprintf(path, sizeof(path), "bundles/%s.stb", env);
    if (git_repository_open_ext(&repo, store, 0, NULL) == 0 &&
        git_revparse_single(&tree, repo, spec) == 0 &&
        git_tree_entry_bypath(&entry, (git_tree *)tree, path) == 0 &&
        git_repository_odb(&odb, repo) == 0 &&
        git_odb_read(&blob, odb, git_tree_entry_id(entry)) == 0)
        size = git_odb_object_size(blob);
    git_odb_object_free(blob);
    git_odb_free(odb);
    git_tree_entry_free(entry);
    git_object_free(tree);
    git_repository_free(repo);
    return size;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: open STORE KEY ENV [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 4 ? atoi(argv[4]) : 15;
    if (rounds < 1)
        rounds = 1;
    /* Fixed mmap threshold: big blocks are mapped and unmapped, so a
     * round's resident memory is not hidden by blocks freed before it. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    git_libgit2_init();
    double *tf = calloc(rounds, sizeof(double));
    double *to = calloc(rounds, sizeof(double));
    size_t size = 0;
    long kept_kb = 0, first_kb = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ms();
        size = read_blob(argv[1], argv[3]);
        tf[r] = now_ms() - t0;
        if (!size) {
            fprintf(stderr, "open: cannot read the %s bundle blob\n", argv[3]);
            return 1;
        }
        struere_runtime *rt;
        struere_error err;
        long before = rss_kb();
        t0 = now_ms();
        int rc = struere_runtime_open_key(&rt, argv[1], argv[2], 0, &err);
        to[r] = now_ms() - t0;
        if (rc < 0) {
            fprintf(stderr, "open: %s\n", err.message);
            return 1;
        }
        long kept = rss_kb() - before;
        if (r == 0)
            first_kb = kept;
        kept_kb = kept; /* the last round: libgit2's one-time state is
                           already in `before` */
        struere_runtime_free(rt);
    }
    qsort(tf, rounds, sizeof(double), cmp);
    qsort(to, rounds, sizeof(double), cmp);
    printf("bundle %zu bytes; %d rounds\n", size, rounds);
    printf("floor (libgit2 blob read): median %.2f ms\n", tf[rounds / 2]);
    printf("struere_runtime_open_key:  median %.2f ms = %.2fx the floor\n",
           to[rounds / 2], to[rounds / 2] / tf[rounds / 2]);
    printf("resident memory kept by the runtime: %ld KiB = bundle + %ld KiB "
           "(limit: bundle + 1024 KiB); first open in the process: bundle + "
           "%ld KiB\n",
           kept_kb, kept_kb - (long)(size / 1024),
           first_kb - (long)(size / 1024));
    /* What compiling every role adds (actors holding them, 64 at a
     * time): the memory a service that uses all of them keeps. */
    struere_runtime *rt;
    struere_error err;
    if (struere_runtime_open_key(&rt, argv[1], argv[2], 0, &err) == 0) {
        const struere_bundle *b = struere_runtime_bundle(rt);
        size_t n = struere_bundle_count(b, STRUERE_KIND_ROLE), made = 0;
        long before = rss_kb();
        for (size_t i = 0; i < n; i += 64) {
            const char *roles[64];
            size_t k = 0;
            for (; k < 64 && i + k < n; k++)
                struere_bundle_entry(&roles[k], NULL, NULL, b,
                                     STRUERE_KIND_ROLE, i + k, NULL);
            struere_actor_spec spec = {.type = STRUERE_ACTOR_USER,
                                       .id = "bench",
                                       .roles = roles,
                                       .role_count = k};
            struere_actor *a;
            if (struere_actor_new(&a, rt, &spec, NULL) == 0) {
                made += k;
                struere_actor_free(a);
            }
        }
        printf("every role compiled (%zu of %zu): + %ld KiB resident\n", made,
               n, rss_kb() - before);
        struere_runtime_free(rt);
    }
    free(tf);
    free(to);
    git_libgit2_shutdown();
    return 0;
}
