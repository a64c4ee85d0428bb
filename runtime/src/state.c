/*
 * state.c - what a runtime remembers of the stores it accepted, in memory
 * and in a state file (rt_state.h, runtime/TRUST.md §6). The file is text,
 * one record per line:
 *
 *     development 12           highest promotion sequence accepted
 *     trust 3 <sha256 hex>     the trust policy in force: version, digest
 *     revoked <sha256 hex>     a key seen revoked (one line per key)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"
#include "rt_env.h"
#include "rt_state.h"

void rt_state_clear(struct rt_state *s)
{
    free(s->revoked);
    memset(s, 0, sizeof(*s));
}

void rt_state_trust(struct rt_state *s, unsigned version,
                    const unsigned char digest[32])
{
    if (version > s->trust_version) {
        s->trust_version = version;
        memcpy(s->trust_digest, digest, 32);
    }
}

/* Room for `more` revocations at the end of the list. */
static int reserve(struct rt_state *s, size_t more)
{
    if (s->cap - s->nrevoked >= more)
        return 0;
    size_t cap = s->cap ? s->cap : 16;
    while (cap - s->nrevoked < more)
        cap *= 2;
    void *p = realloc(s->revoked, cap * sizeof(*s->revoked));
    if (!p)
        return STRUERE_ENOMEM;
    s->revoked = p;
    s->cap = cap;
    return 0;
}

int rt_state_add(struct rt_state *s, const unsigned char digest[32])
{
    if (reserve(s, 1) < 0)
        return STRUERE_ENOMEM;
    memcpy(s->revoked[s->nrevoked++], digest, 32);
    return 0;
}

static int digest_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

void rt_state_sort(struct rt_state *s)
{
    if (s->nrevoked < 2)
        return;
    qsort(s->revoked, s->nrevoked, sizeof(*s->revoked), digest_cmp);
    size_t n = 1;
    for (size_t i = 1; i < s->nrevoked; i++)
        if (memcmp(s->revoked[i], s->revoked[n - 1], 32))
            memcpy(s->revoked[n++], s->revoked[i], 32);
    s->nrevoked = n;
}

int rt_state_revoked(const struct rt_state *s, const unsigned char digest[32])
{
    return s->nrevoked && bsearch(digest, s->revoked, s->nrevoked,
                                  sizeof(*s->revoked), digest_cmp) != NULL;
}

int rt_state_revoke(struct rt_state *s, const unsigned char digest[32])
{
    if (rt_state_revoked(s, digest))
        return 0;
    if (rt_state_add(s, digest) < 0)
        return STRUERE_ENOMEM;
    rt_state_sort(s);
    return 1;
}

int rt_state_merge(struct rt_state *dst, const struct rt_state *src)
{
    for (int e = 0; e < 4; e++)
        if (src->sequence[e] > dst->sequence[e])
            dst->sequence[e] = src->sequence[e];
    rt_state_trust(dst, src->trust_version, src->trust_digest);
    if (reserve(dst, src->nrevoked) < 0)
        return STRUERE_ENOMEM;
    for (size_t i = 0; i < src->nrevoked; i++)
        memcpy(dst->revoked[dst->nrevoked++], src->revoked[i], 32);
    rt_state_sort(dst);
    return 0;
}

int rt_file_read(const char *path, size_t limit, char **out, size_t *len,
                 struere_error *err)
{
    char reason[128];
    *out = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT
                   ? STRUERE_ENOTFOUND
                   : rt_fail(err, STRUERE_EIO, "%s: %s", path,
                             rt_sys_reason(errno, reason, sizeof(reason)));
    struct stat st;
    char *buf = NULL;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = rt_fail(err, STRUERE_EIO, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > limit)
        rc =
            rt_fail(err, STRUERE_EIO, "%s: larger than %zu bytes", path, limit);
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s", path);
    while (rc == 0 && *len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + *len, (size_t)st.st_size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = rt_fail(err, STRUERE_EIO, "%s: cannot be read", path);
        else
            *len += (size_t)n;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        *len = 0;
        return rc;
    }
    buf[*len] = '\0';
    *out = buf;
    return 0;
}

/* A sequence or version: decimal digits, no sign, no leading zero. */
static int number_read(const char *p, const char **end, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = p;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p == s || (*s == '0' && p - s > 1))
        return -1;
    *end = p;
    *out = v;
    return 0;
}

static int digest_read(const char *p, const char **end, unsigned char out[32])
{
    for (int i = 0; i < 64; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return -1;
    if (rt_hex_decode(p, 64, out, 32) < 0)
        return -1;
    *end = p + 64;
    return 0;
}

/* One line of a state file (without its newline) into `s`: 0, 1 when
 * it is none of the records, STRUERE_ENOMEM. */
static int line_read(const char *p, struct rt_state *s)
{
    uint64_t n;
    unsigned char d[32];
    if (!strncmp(p, "trust ", 6)) {
        if (number_read(p + 6, &p, &n) || n < 1 || n > 0xffffffffu ||
            *p++ != ' ' || digest_read(p, &p, d) || *p)
            return 1;
        rt_state_trust(s, (unsigned)n, d);
        return 0;
    }
    if (!strncmp(p, "revoked ", 8)) {
        if (digest_read(p + 8, &p, d) || *p)
            return 1;
        return rt_state_add(s, d); /* sorted once the file is read */
    }
    for (int e = STRUERE_ENV_DEVELOPMENT; e <= STRUERE_ENV_EVAL; e++) {
        size_t len = strlen(struere_env_name(e));
        if (!strncmp(p, struere_env_name(e), len) && p[len] == ' ') {
            if (number_read(p + len + 1, &p, &n) || *p)
                return 1;
            if (n > s->sequence[e])
                s->sequence[e] = n;
            return 0;
        }
    }
    return 1;
}

int rt_state_load(const char *path, struct rt_state *s, struere_error *err)
{
    char *text;
    size_t len;
    struct stat st;
    /* A symbolic link would be replaced by the first update, not
     * followed: the file it names would stop being kept. */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return rt_fail(err, STRUERE_EIO,
                       "%s: a symbolic link: give the state file's own path",
                       path);
    int rc = rt_file_read(path, RT_STATE_LIMIT, &text, &len, err);
    if (rc == STRUERE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    size_t line = 1;
    for (char *p = text; rc == 0 && p < text + len; line++) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (!nl) {
            rc = rt_fail(err, STRUERE_ESTORE,
                         "state file %s:%zu: the last line has no newline "
                         "(a cut write?)",
                         path, line);
            break;
        }
        *nl = '\0';
        int r = strlen(p) != (size_t)(nl - p) ? 1 : line_read(p, s);
        if (r == STRUERE_ENOMEM)
            rc = rt_fail(err, r, "out of memory reading %s", path);
        else if (r > 0)
            rc = rt_fail(err, STRUERE_ESTORE,
                         "state file %s:%zu: \"%.80s\"%s is not a record "
                         "(ENV SEQUENCE, trust VERSION SHA256, revoked "
                         "SHA256)",
                         path, line, p,
                         strlen(p) != (size_t)(nl - p) ? " (with a NUL byte)"
                                                       : "");
        p = nl + 1;
    }
    free(text);
    rt_state_sort(s);
    return rc;
}

/* The text of `s` as a state file: a new buffer, or NULL. */
static char *state_text(const struct rt_state *s, size_t *len)
{
    size_t cap = 256 + s->nrevoked * 73, n = 0;
    char *t = malloc(cap), hex[65];
    if (!t)
        return NULL;
    for (int e = STRUERE_ENV_DEVELOPMENT; e <= STRUERE_ENV_EVAL; e++)
        if (s->sequence[e])
            n += (size_t)snprintf(t + n, cap - n, "%s %llu\n",
                                  struere_env_name(e),
                                  (unsigned long long)s->sequence[e]);
    if (s->trust_version) {
        rt_hex_encode(s->trust_digest, 32, hex);
        n += (size_t)snprintf(t + n, cap - n, "trust %u %s\n", s->trust_version,
                              hex);
    }
    for (size_t i = 0; i < s->nrevoked; i++) {
        rt_hex_encode(s->revoked[i], 32, hex);
        n += (size_t)snprintf(t + n, cap - n, "revoked %s\n", hex);
    }
    *len = n;
    return t;
}

int rt_state_adds(const struct rt_state *file, const struct rt_state *s)
{
    for (int e = 0; e < 4; e++)
        if (s->sequence[e] > file->sequence[e])
            return 1;
    if (s->trust_version > file->trust_version)
        return 1;
    for (size_t i = 0; i < s->nrevoked; i++)
        if (!rt_state_revoked(file, s->revoked[i]))
            return 1;
    return 0;
}

/* The directory of `path`, synced so that a rename in it is kept. */
static void dir_sync(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : NULL;
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Writes `text` to `path` whole: beside it (a name this process owns,
 * created afresh, never followed), synced, renamed over it, with the
 * mode of the file it replaces (0600 for a new one). */
static int replace_file(const char *path, const char *text, size_t len,
                        struere_error *err)
{
    char reason[128];
    size_t tl = strlen(path) + 32;
    char *tmp = malloc(tl);
    if (!tmp)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory writing %s", path);
    snprintf(tmp, tl, "%s.%ld.tmp", path, (long)getpid());
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 0777) : 0600;
    unlink(tmp); /* left by an earlier run of this pid, killed */
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int e = errno;
    if (fd >= 0 && !f)
        close(fd);
    int ok = f && fwrite(text, 1, len, f) == len && fflush(f) == 0 &&
             fchmod(fileno(f), mode) == 0 && fsync(fileno(f)) == 0;
    if (f && !ok)
        e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        e = errno;
    }
    if (ok)
        dir_sync(path);
    else if (fd >= 0)
        unlink(tmp);
    free(tmp);
    return ok ? 0
              : rt_fail(err, STRUERE_EIO, "%s: %s", path,
                        rt_sys_reason(e, reason, sizeof(reason)));
}

/* How long an update waits for another run's lock on the file. */
#define LOCK_WAIT_MS 10000

/* The lock of the state file `path`, taken: its descriptor, or < 0. */
static int lock_take(const char *path, struere_error *err)
{
    char reason[128];
    size_t ll = strlen(path) + 8;
    char *lock = malloc(ll);
    if (!lock)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory writing %s", path);
    snprintf(lock, ll, "%s.lock", path);
    /* Readable only by who may write the state file: flock needs no
     * more than a read-only descriptor, so a lock others could read
     * could be held by anyone, stalling every update. */
    struct stat sf;
    mode_t m = stat(path, &sf) == 0 ? sf.st_mode : 0600;
    mode_t mode = 0600 | ((m & 020) ? 060 : 0) | ((m & 002) ? 006 : 0);
    int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  mode);
    int e = errno;
    struct stat st;
    int rc = 0;
    if (fd < 0 && e == ENOENT)
        rc = rt_fail(err, STRUERE_EIO,
                     "state file %s: its directory does not exist", path);
    else if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = rt_fail(err, STRUERE_EIO, "%s: %s", lock,
                     fd < 0 ? rt_sys_reason(e, reason, sizeof(reason))
                            : "not a regular file");
    else if ((st.st_mode & 0777) != mode && st.st_uid == geteuid())
        fchmod(fd, mode); /* the umask's, or one made more open */
    for (int waited = 0; rc == 0 && flock(fd, LOCK_EX | LOCK_NB) != 0;
         waited += 10) {
        if (errno != EWOULDBLOCK && errno != EINTR)
            rc = rt_fail(err, STRUERE_EIO, "%s: %s", lock,
                         rt_sys_reason(errno, reason, sizeof(reason)));
        else if (waited >= LOCK_WAIT_MS)
            rc = rt_fail(err, STRUERE_EIO,
                         "%s: held by another run for %d s: not updated", lock,
                         LOCK_WAIT_MS / 1000);
        else
            usleep(10000);
    }
    free(lock);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return fd;
}

int rt_state_save(const char *path, const struct rt_state *s,
                  struere_error *err)
{
    struct rt_state file = {0};
    int fd = lock_take(path, err), rc = fd < 0 ? fd : 0;
    if (rc == 0)
        rc = rt_state_load(path, &file, err);
    if (rc == 0 && rt_state_adds(&file, s)) {
        size_t len = 0;
        char *text = NULL;
        if (rt_state_merge(&file, s) < 0 || !(text = state_text(&file, &len)))
            rc = rt_fail(err, STRUERE_ENOMEM, "out of memory writing %s", path);
        else if (len > RT_STATE_LIMIT)
            rc = rt_fail(err, STRUERE_EIO,
                         "%s: would be %zu bytes, more than the %zu a state "
                         "file may hold: not updated",
                         path, len, RT_STATE_LIMIT);
        else
            rc = replace_file(path, text, len, err);
        free(text);
    }
    if (fd >= 0)
        close(fd); /* releases the lock */
    rt_state_clear(&file);
    return rc;
}
