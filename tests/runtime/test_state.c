/*
 * test_state.c - what a runtime remembers (runtime/src/rt_state.h,
 * TRUST.md §6): merging, the state file's lines as TRUST.md writes them,
 * every malformed line refused with its line number, files that are not
 * files, and runs sharing one file losing nothing of each other's.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_harness.h"
#include "struere.h"

#include "../../runtime/src/rt_state.h"

static void digest_of(unsigned char d[32], int n)
{
    memset(d, 0, 32);
    d[0] = (unsigned char)(n >> 8);
    d[1] = (unsigned char)n;
    d[31] = 0xab;
}

static int write_text(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static char *read_text(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void test_merge(void)
{
    struct rt_state a = {0}, b = {0};
    unsigned char d1[32], d2[32], d3[32];
    digest_of(d1, 1);
    digest_of(d2, 2);
    digest_of(d3, 3);
    a.sequence[STRUERE_ENV_PRODUCTION] = 7;
    b.sequence[STRUERE_ENV_PRODUCTION] = 5;
    b.sequence[STRUERE_ENV_EVAL] = 2;
    rt_state_trust(&a, 2, d1);
    rt_state_trust(&b, 3, d2);
    rt_state_trust(&b, 1, d3); /* older: ignored */
    CHECK(b.trust_version == 3 && !memcmp(b.trust_digest, d2, 32));
    CHECK(rt_state_revoke(&a, d3) == 1);
    CHECK(rt_state_revoke(&a, d3) == 0);
    CHECK(rt_state_revoke(&b, d1) == 1);
    CHECK(rt_state_revoke(&b, d3) == 1);
    CHECK(rt_state_merge(&a, &b) == 0);
    CHECK(a.sequence[STRUERE_ENV_PRODUCTION] == 7);
    CHECK(a.sequence[STRUERE_ENV_EVAL] == 2);
    CHECK(a.trust_version == 3 && !memcmp(a.trust_digest, d2, 32));
    CHECK(a.nrevoked == 2 && rt_state_revoked(&a, d1) &&
          rt_state_revoked(&a, d3) && !rt_state_revoked(&a, d2));
    /* many, in any order: each found, none twice */
    struct rt_state m = {0};
    int ok = 1;
    for (int i = 0; i < 500; i++) {
        unsigned char d[32];
        digest_of(d, (i * 7919) % 500);
        ok &= rt_state_revoke(&m, d) == 1;
    }
    for (int i = 0; i < 500; i++) {
        unsigned char d[32];
        digest_of(d, i);
        ok &= rt_state_revoked(&m, d);
    }
    CHECK(ok && m.nrevoked == 500);
    rt_state_clear(&m);
    rt_state_clear(&a);
    rt_state_clear(&b);
}

static void test_file(const char *dir)
{
    char path[512], fifo[512], lock[512];
    struere_error err;
    snprintf(path, sizeof(path), "%s/state", dir);
    struct rt_state s = {0}, r = {0};
    /* no file yet: nothing remembered */
    CHECK(rt_state_load(path, &r, &err) == 0 && r.trust_version == 0 &&
          r.nrevoked == 0 && r.sequence[STRUERE_ENV_PRODUCTION] == 0);
    unsigned char t[32], k[32];
    memset(t, 0x5a, 32);
    memset(k, 0x0f, 32);
    s.sequence[STRUERE_ENV_PRODUCTION] = 12;
    rt_state_trust(&s, 4, t);
    rt_state_revoke(&s, k);
    CHECK(rt_state_save(path, &s, &err) == 0);
    /* the lines TRUST.md §6 gives, written by hand */
    const char *want = "production 12\n"
                       "trust 4 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                       "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n"
                       "revoked 0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
                       "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n";
    const char *got = read_text(path);
    CHECK(got && !strcmp(got, want));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(rt_state_load(path, &r, &err) == 0 &&
          r.sequence[STRUERE_ENV_PRODUCTION] == 12 && r.trust_version == 4 &&
          !memcmp(r.trust_digest, t, 32) && rt_state_revoked(&r, k));
    rt_state_clear(&r);
    /* a save with less than the file holds changes nothing */
    struct rt_state less = {0};
    less.sequence[STRUERE_ENV_PRODUCTION] = 3;
    CHECK(rt_state_save(path, &less, &err) == 0);
    got = read_text(path);
    CHECK(got && !strcmp(got, want));
    less.sequence[STRUERE_ENV_DEVELOPMENT] = 1;
    CHECK(rt_state_save(path, &less, &err) == 0);
    got = read_text(path);
    CHECK(got && !strncmp(got, "development 1\nproduction 12\ntrust 4 ", 36));
    rt_state_clear(&less);
    rt_state_clear(&s);

    /* every line that is not a record: refused, with its line number */
    static const char *const badlines[] = {
        "production -1\n",
        "production 01\n",
        "production 18446744073709551616\n",
        "production 1 \n",
        "production\n",
        "Production 1\n",
        "staging 1\n",
        "trust 0 "
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n",
        "trust 4294967296 "
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n",
        "trust 1 "
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n",
        "trust 1 "
        "5A5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\n",
        "trust 1\n",
        "revoked 0f0f\n",
        "revoked "
        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0fX\n",
        "revoked  "
        "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n",
        "\n",
        "production 2", /* no newline: a cut write */
    };
    for (size_t i = 0; i < sizeof(badlines) / sizeof(*badlines); i++) {
        char text[300];
        int n = snprintf(text, sizeof(text), "eval 3\n%s", badlines[i]);
        struct rt_state x = {0};
        CHECK(write_text(path, text, (size_t)n) == 0);
        int rc = rt_state_load(path, &x, &err);
        int located = strstr(err.message, ":2:") != NULL;
        if (rc != STRUERE_ESTORE || !located)
            fprintf(stderr, "bad line %zu: rc %d: %s\n", i, rc, err.message);
        CHECK(rc == STRUERE_ESTORE && located);
        /* a save over a damaged file refuses too, and leaves it */
        struct rt_state y = {0};
        y.sequence[STRUERE_ENV_EVAL] = 9;
        CHECK(rt_state_save(path, &y, &err) == STRUERE_ESTORE);
        got = read_text(path);
        CHECK(got && !strcmp(got, text));
        rt_state_clear(&x);
    }
    /* a NUL byte, located */
    CHECK(write_text(path, "eval 3\nprod\0uction 4\n", 22) == 0);
    struct rt_state x = {0};
    CHECK(rt_state_load(path, &x, &err) == STRUERE_ESTORE &&
          strstr(err.message, ":2:") && strstr(err.message, "NUL"));
    rt_state_clear(&x);

    /* a temporary file of this pid left in the way (a FIFO: a kill, or
     * a trap): removed, never opened */
    char tmp[600];
    CHECK(unlink(path) == 0);
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    CHECK(mkfifo(tmp, 0600) == 0);
    struct rt_state w = {0};
    w.sequence[STRUERE_ENV_EVAL] = 4;
    CHECK(rt_state_save(path, &w, &err) == 0);
    got = read_text(path);
    CHECK(got && !strcmp(got, "eval 4\n") && access(tmp, F_OK) != 0);
    /* the mode of the file replaced is kept */
    CHECK(chmod(path, 0640) == 0);
    w.sequence[STRUERE_ENV_EVAL] = 5;
    CHECK(rt_state_save(path, &w, &err) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    rt_state_clear(&w);

    /* more than a state file may hold: refused, the file left */
    struct rt_state big = {0};
    size_t many = RT_STATE_LIMIT / 73 + 10;
    int added = 1;
    for (size_t i = 0; i < many && added; i++) {
        unsigned char d[32] = {0};
        memcpy(d, &i, sizeof(i));
        added = rt_state_add(&big, d) == 0;
    }
    rt_state_sort(&big);
    CHECK(added && big.nrevoked == many);
    CHECK(rt_state_save(path, &big, &err) == STRUERE_EIO &&
          strstr(err.message, "more than"));
    got = read_text(path);
    CHECK(got && !strcmp(got, "eval 5\n"));
    rt_state_clear(&big);

    /* the lock is readable only by who may write the state file (any
     * reader could hold it): 0640 gives a 0600 lock, 0664 a 0660 one, and
     * a lock of ours made more open is closed again */
    char lockp[600];
    snprintf(lockp, sizeof(lockp), "%s.lock", path);
    struct rt_state u = {0};
    unlink(lockp);
    u.sequence[STRUERE_ENV_EVAL] = 7;
    CHECK(rt_state_save(path, &u, &err) == 0);
    CHECK(stat(lockp, &st) == 0 && (st.st_mode & 0777) == 0600);
    unlink(lockp);
    CHECK(chmod(path, 0664) == 0);
    u.sequence[STRUERE_ENV_EVAL] = 8;
    CHECK(rt_state_save(path, &u, &err) == 0);
    CHECK(stat(lockp, &st) == 0 && (st.st_mode & 0777) == 0660);
    CHECK(chmod(path, 0640) == 0 && chmod(lockp, 0644) == 0);
    u.sequence[STRUERE_ENV_EVAL] = 9;
    CHECK(rt_state_save(path, &u, &err) == 0);
    CHECK(stat(lockp, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(write_text(path, "eval 5\n", 7) == 0);
    rt_state_clear(&u);
    /* a state file whose directory does not exist: said so */
    char nodir[600];
    snprintf(nodir, sizeof(nodir), "%s/missing/state", dir);
    u.sequence[STRUERE_ENV_EVAL] = 1;
    CHECK(rt_state_save(nodir, &u, &err) == STRUERE_EIO &&
          strstr(err.message, "its directory does not exist"));
    rt_state_clear(&u);

    /* a state file that is a symbolic link: refused, not replaced */
    char link[600];
    snprintf(link, sizeof(link), "%s/link", dir);
    CHECK(symlink(path, link) == 0);
    struct rt_state z = {0};
    z.sequence[STRUERE_ENV_EVAL] = 6;
    CHECK(rt_state_load(link, &x, &err) == STRUERE_EIO &&
          strstr(err.message, "symbolic link"));
    CHECK(rt_state_save(link, &z, &err) == STRUERE_EIO);
    struct stat lst;
    CHECK(lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode));
    got = read_text(path);
    CHECK(got && !strcmp(got, "eval 5\n"));
    rt_state_clear(&z);

    /* not a regular file: refused at once, never waiting on a FIFO */
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(rt_state_load(fifo, &x, &err) == STRUERE_EIO &&
          strstr(err.message, "not a regular file"));
    CHECK(rt_state_load(dir, &x, &err) == STRUERE_EIO);
    /* a lock file that is a symbolic link is not followed */
    char other[512];
    snprintf(path, sizeof(path), "%s/linked", dir);
    snprintf(lock, sizeof(lock), "%s/linked.lock", dir);
    snprintf(other, sizeof(other), "%s/elsewhere", dir);
    CHECK(symlink(other, lock) == 0);
    struct rt_state y = {0};
    y.sequence[STRUERE_ENV_EVAL] = 1;
    CHECK(rt_state_save(path, &y, &err) == STRUERE_EIO);
    CHECK(access(other, F_OK) != 0 && access(path, F_OK) != 0);
}

/* Runs sharing one state file: each adds its own revocation and
 * sequence at once; the file ends with all of them. */
static void test_shared(const char *dir)
{
    enum { RUNS = 8, EACH = 10 };
    char path[512];
    snprintf(path, sizeof(path), "%s/shared", dir);
    pid_t pids[RUNS];
    for (int i = 0; i < RUNS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            int failed = 0;
            for (int j = 0; j < EACH; j++) {
                struct rt_state s = {0};
                unsigned char d[32];
                digest_of(d, i * EACH + j);
                rt_state_revoke(&s, d);
                s.sequence[STRUERE_ENV_PRODUCTION] =
                    (uint64_t)(i * EACH + j + 1);
                failed |= rt_state_save(path, &s, NULL) != 0;
                rt_state_clear(&s);
            }
            _exit(failed);
        }
    }
    int all_ok = 1;
    for (int i = 0; i < RUNS; i++) {
        int status = 1;
        waitpid(pids[i], &status, 0);
        all_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK(all_ok);
    struct rt_state r = {0};
    struere_error err;
    CHECK(rt_state_load(path, &r, &err) == 0);
    int found = 1;
    for (int n = 0; n < RUNS * EACH; n++) {
        unsigned char d[32];
        digest_of(d, n);
        found &= rt_state_revoked(&r, d);
    }
    CHECK(found && r.nrevoked == RUNS * EACH);
    CHECK(r.sequence[STRUERE_ENV_PRODUCTION] == RUNS * EACH);
    rt_state_clear(&r);
}

/* TRUST.md §6: "a kill at any moment leaves the old file or the new
 * one". A run saving a large state is killed at varied moments; the file
 * then reads, and is whole: the old state or the new. */
static void test_killed(const char *dir)
{
    enum { ROUNDS = 12, MANY = 150000 };
    char path[512];
    snprintf(path, sizeof(path), "%s/killed", dir);
    struct rt_state big = {0};
    for (size_t i = 0; i < MANY; i++) {
        unsigned char d[32] = {1};
        memcpy(d + 1, &i, sizeof(i));
        rt_state_add(&big, d);
    }
    rt_state_sort(&big);
    big.sequence[STRUERE_ENV_EVAL] = 2;
    int whole = 1, olds = 0, news = 0;
    for (int r = 0; r < ROUNDS; r++) {
        CHECK(write_text(path, "eval 1\n", 7) == 0);
        pid_t pid = fork();
        if (pid == 0)
            _exit(rt_state_save(path, &big, NULL) != 0);
        usleep((useconds_t)(r * r * 3000)); /* 0 to 363 ms into it */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        struct rt_state got = {0};
        struere_error err;
        if (rt_state_load(path, &got, &err) != 0)
            whole = 0;
        else if (got.sequence[STRUERE_ENV_EVAL] == 1 && got.nrevoked == 0)
            olds++;
        else if (got.sequence[STRUERE_ENV_EVAL] == 2 && got.nrevoked == MANY &&
                 !rt_state_adds(&got, &big))
            news++;
        else
            whole = 0;
        rt_state_clear(&got);
    }
    printf("  killed saves: %d left the old file, %d the new one\n", olds,
           news);
    CHECK(whole && olds + news == ROUNDS);
    rt_state_clear(&big);
}

void test_state(void)
{
    char dir[] = "/tmp/struere-state-test.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    test_merge();
    test_file(dir);
    test_shared(dir);
    test_killed(dir);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}
