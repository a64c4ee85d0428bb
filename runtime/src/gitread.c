/*
 * gitread.c - a git store read without libgit2 (gitread.h). The formats
 * are git's own (Documentation/gitformat-pack.txt, gitrepository-layout):
 * loose objects are zlib streams of "TYPE LEN\0" and the bytes; a pack
 * index (version 2) sorts the ids of its pack's objects, each with the
 * offset of its entry; an entry is a type and a length, then zlib data,
 * or a delta against another entry (by offset or by id): copies from the
 * base and inserted bytes.
 */
#include "gitread.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "rt.h"
#include "rt_hex.h"
#include "rt_limits.h"
#include "sha1.h"

/* How many symbolic refs a ref may go through. */
#define REF_DEPTH 5
/* A loose ref is an id or "ref: NAME": far shorter than this. */
#define REF_FILE_LIMIT 4096
/* packed-refs holds a line per ref. */
#define PACKED_REFS_LIMIT ((size_t)256 << 20)
/* Trees and commits on the way to a file: far larger than any store's. */
#define TREE_LIMIT ((size_t)64 << 20)
/* Deltas on deltas: git makes chains of 50 by default and never more
 * than 4095 (pack-objects' limit); longer is a damaged or hostile pack. */
#define DELTA_DEPTH 4095
/* Stores whose objects/info/alternates lend objects, in a chain: git's
 * own limit. */
#define ALTERNATE_DEPTH 5
/* Absent (a file, a pack, a loose object): never a STRUERE_E* code. */
#define ABSENT (-1000)
/* The largest object a delta chain may build on the way to the one read. */
#define BASE_LIMIT RT_LIMIT_BUNDLE_BYTES

struct pack {
    unsigned char *idx, *data; /* both mapped whole */
    size_t idx_len, data_len;
    uint32_t count;     /* objects */
    size_t large_count; /* 64-bit offsets */
    char name[64];      /* pack-HEX.pack, for messages */
};

struct rt_git {
    char *dir;    /* the git directory, ending with '/' */
    char *common; /* refs and objects: dir, or the one commondir names */
    char *name;
    char **odirs; /* objects directories: the store's, then alternates' */
    size_t nodirs;
    bool odirs_read;
    struct pack *packs;
    size_t npacks;
    bool packs_read;
    char pack_error[256]; /* a pack skipped as damaged, "" when none */
    char *packed;         /* packed-refs, read once per rt_git */
    size_t packed_len;
    int packed_state; /* 0 not read, ABSENT, 1 read */
};

static const char *const type_names[] = {"", "commit", "tree", "blob", "tag"};

/* ---- files ---- */

/* Opens the regular file `path` and gives its size: the descriptor, or
 * ABSENT when there is none (or a directory, or a directory on the way
 * is a file), or STRUERE_ESTORE (a FIFO or a device is never waited on). */
static int open_regular(const char *path, off_t *size, struere_error *err)
{
    char reason[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? ABSENT
                   : rt_fail(err, STRUERE_ESTORE, "%s: %s", path,
                             rt_sys_reason(errno, reason, sizeof(reason)));
    struct stat st;
    int rc = fstat(fd, &st) != 0
                 ? rt_fail(err, STRUERE_ESTORE, "%s: %s", path,
                           rt_sys_reason(errno, reason, sizeof(reason)))
             : S_ISDIR(st.st_mode) ? ABSENT
             : !S_ISREG(st.st_mode)
                 ? rt_fail(err, STRUERE_ESTORE, "%s: not a regular file", path)
                 : fd;
    if (rc != fd)
        close(fd);
    else
        *size = st.st_size;
    return rc;
}

/* The regular file `path` whole, at most `limit` bytes, malloc'd with a
 * NUL after it; as open_regular when it cannot be. */
static int slurp(const char *path, size_t limit, char **out, size_t *len,
                 struere_error *err)
{
    char reason[128];
    off_t size = 0;
    *out = NULL;
    int fd = open_regular(path, &size, err);
    if (fd < 0)
        return fd;
    char *buf = NULL;
    int rc = 0;
    if ((uint64_t)size > limit)
        rc = rt_fail(err, STRUERE_ESTORE, "%s: larger than %zu bytes", path,
                     limit);
    else if (!(buf = malloc((size_t)size + 1)))
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s", path);
    size_t n = 0;
    while (rc == 0 && n < (size_t)size) {
        ssize_t got = read(fd, buf + n, (size_t)size - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            rc = rt_fail(err, STRUERE_ESTORE, "%s: %s", path,
                         got < 0 ? rt_sys_reason(errno, reason, sizeof(reason))
                                 : "shorter than its size");
        else
            n += (size_t)got;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Maps the regular file `path` read-only; as open_regular when it cannot
 * be. */
static int map_file(const char *path, unsigned char **out, size_t *len,
                    struere_error *err)
{
    char reason[128];
    off_t size = 0;
    int fd = open_regular(path, &size, err);
    if (fd < 0)
        return fd;
    int rc = 0;
    void *p = MAP_FAILED;
    if (size == 0)
        rc = rt_fail(err, STRUERE_ESTORE, "%s: empty", path);
    else if ((p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
             MAP_FAILED)
        rc = rt_fail(err, STRUERE_ESTORE, "%s: %s", path,
                     rt_sys_reason(errno, reason, sizeof(reason)));
    close(fd);
    if (rc < 0)
        return rc;
    *out = p;
    *len = (size_t)size;
    return 0;
}

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, na);
    size_t at = na;
    if (at && s[at - 1] != '/')
        s[at++] = '/';
    memcpy(s + at, b, nb + 1);
    return s;
}

static bool is_kind(const char *dir, const char *name, mode_t kind)
{
    /* on the stack: a failed allocation must not read as "not there" */
    char p[4096];
    size_t n = strlen(dir);
    int w = snprintf(p, sizeof(p), "%s%s%s", dir,
                     n && dir[n - 1] != '/' ? "/" : "", name);
    struct stat st;
    return w > 0 && (size_t)w < sizeof(p) && stat(p, &st) == 0 &&
           (st.st_mode & S_IFMT) == kind;
}

/* A git directory: HEAD, and objects and refs (here or in commondir). */
static bool is_git_dir(const char *dir)
{
    return is_kind(dir, "HEAD", S_IFREG) &&
           (is_kind(dir, "commondir", S_IFREG) ||
            (is_kind(dir, "objects", S_IFDIR) &&
             is_kind(dir, "refs", S_IFDIR)));
}

/* `path` made absolute (and its links resolved), with a '/' at the end
 * when `slash`; NULL when it cannot be. */
static char *absolute(const char *path, bool slash)
{
    char *real = realpath(path, NULL);
    if (!real || !slash)
        return real;
    char *s = join(real, "");
    free(real);
    return s;
}

/* The directory a "gitdir: X" file or a commondir file names, relative to
 * `base`; NULL when the file does not hold one, or (*oom set) when memory
 * ran out. */
static char *named_dir(const char *base, const char *file, bool *oom)
{
    char *text, *path = join(base, file), *out = NULL;
    size_t len;
    int rc =
        path ? slurp(path, REF_FILE_LIMIT, &text, &len, NULL) : STRUERE_ENOMEM;
    *oom = rc == STRUERE_ENOMEM;
    if (rc != 0) {
        free(path);
        return NULL;
    }
    free(path);
    char *s = text;
    if (!strcmp(file, ".git")) {
        if (strncmp(s, "gitdir:", 7)) {
            free(text);
            return NULL;
        }
        s += 7;
        while (*s == ' ')
            s++;
    }
    s[strcspn(s, "\r\n")] = '\0';
    if (*s) {
        char *full = s[0] == '/' ? strdup(s) : join(base, s);
        errno = 0;
        out = full ? absolute(full, true) : NULL;
        *oom = !full || (!out && errno == ENOMEM);
        free(full);
    }
    free(text);
    return out;
}

/*
 * The store at the absolute path `real`, as git opens one: a .git entry
 * first (a directory that is a git directory, or a file naming one), else
 * `real` itself as a git directory. ABSENT when there is neither;
 * STRUERE_ESTORE when a .git file names no git directory (git stops
 * there, rather than look further up; a .git directory that is not one
 * it passes over).
 */
static int open_at(struct rt_git *g, const char *real, const char *path,
                   struere_error *err)
{
    struct stat st;
    char *dotgit = join(real, ".git");
    if (!dotgit)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store");
    bool is_dir = stat(dotgit, &st) == 0 && S_ISDIR(st.st_mode);
    bool is_file = !is_dir && stat(dotgit, &st) == 0 && S_ISREG(st.st_mode);
    if (is_dir && is_git_dir(dotgit)) {
        if (!(g->dir = join(dotgit, ""))) {
            free(dotgit);
            return rt_fail(err, STRUERE_ENOMEM,
                           "out of memory opening a store");
        }
    } else if (is_file) {
        bool oom;
        g->dir = named_dir(real, ".git", &oom);
        if (!g->dir && oom) {
            free(dotgit);
            return rt_fail(err, STRUERE_ENOMEM,
                           "out of memory opening a store");
        }
        if (!g->dir || !is_git_dir(g->dir)) {
            free(dotgit);
            return rt_fail(err, STRUERE_ESTORE,
                           "store %s is not a git repository: its .git file "
                           "names no git directory",
                           path);
        }
    }
    free(dotgit);
    if (!g->dir && !is_git_dir(real))
        return ABSENT;
    const char *base = strrchr(real, '/');
    if (!g->dir) {
        g->dir = join(real, "");
        /* a .git directory opened itself: its work tree is around it */
        g->name = base && !strcmp(base, "/.git") && base > real
                      ? strndup(real, (size_t)(base - real))
                      : strdup(real);
    } else {
        g->name = strdup(real);
    }
    return g->dir && g->name
               ? 0
               : rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store");
}

/* rt_git_open at the absolute path `real`; ABSENT when nothing there is a
 * store. */
static int open_real(struct rt_git **out, const char *real, const char *path,
                     struere_error *err)
{
    struct rt_git *g = calloc(1, sizeof(*g));
    if (!g)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store");
    int rc = open_at(g, real, path, err);
    bool oom = false;
    if (rc == 0 && !(g->common = is_kind(g->dir, "commondir", S_IFREG)
                                     ? named_dir(g->dir, "commondir", &oom)
                                     : strdup(g->dir)))
        rc = oom || !is_kind(g->dir, "commondir", S_IFREG)
                 ? rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store")
                 : rt_fail(err, STRUERE_ESTORE,
                           "store %s is not a git repository: its commondir "
                           "names no directory",
                           path);
    if (rc < 0) {
        rt_git_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

int rt_git_open(struct rt_git **out, const char *path, struere_error *err)
{
    char reason[128];
    *out = NULL;
    char *real = absolute(path, false);
    if (!real)
        return rt_fail(err, STRUERE_ESTORE,
                       "store %s is not a git repository: %s", path,
                       rt_sys_reason(errno, reason, sizeof(reason)));
    int rc = open_real(out, real, path, err);
    free(real);
    if (rc == ABSENT)
        rc = rt_fail(err, STRUERE_ESTORE,
                     "store %s is not a git repository: it is neither a "
                     "work tree with a .git directory nor a git directory",
                     path);
    return rc;
}

/* Whether GIT_CEILING_DIRECTORIES lists `dir` (`n` bytes; resolved):
 * git does not go up into one. Its entries are resolved as git resolves
 * them; relative ones are ignored, as git ignores them. */
static bool is_ceiling(const char *dir, size_t n)
{
    const char *list = getenv("GIT_CEILING_DIRECTORIES");
    bool hit = false;
    while (!hit && list && *list) {
        size_t len = strcspn(list, ":");
        char *entry = strndup(list, len);
        char *real = entry && entry[0] == '/' ? realpath(entry, NULL) : NULL;
        hit = real && strlen(real) == n && !memcmp(real, dir, n);
        free(real);
        free(entry);
        list += len;
        list += *list == ':';
    }
    return hit;
}

/* A boolean of git's configuration syntax in the environment. */
static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
                 !strcasecmp(v, "on") || (v[0] >= '1' && v[0] <= '9'));
}

/* A store found by searching must belong to the user searching, as git
 * and libgit2 require (CVE-2022-24765): else another user's .git in a
 * shared folder above (/tmp/.git) would decide what is served. */
static int owner_check(struct rt_git *g, const char *found, struere_error *err)
{
    struct stat a, b;
    if (stat(found, &a) != 0 || stat(g->dir, &b) != 0)
        return rt_fail(err, STRUERE_ESTORE, "store %s cannot be examined",
                       found);
    uid_t me = geteuid();
    if (a.st_uid == me && b.st_uid == me)
        return 0;
    return rt_fail(err, STRUERE_ESTORE,
                   "the git repository at %s belongs to uid %u, not to the "
                   "user searching for a store (uid %u): git refuses such a "
                   "repository too (safe.directory); name the store "
                   "explicitly to use it",
                   found, (unsigned)(a.st_uid != me ? a.st_uid : b.st_uid),
                   (unsigned)me);
}

int rt_git_discover(struct rt_git **out, const char *path, bool any_owner,
                    struere_error *err)
{
    char reason[128];
    struct stat st;
    *out = NULL;
    char *dir = absolute(path, false);
    if (!dir || stat(dir, &st) != 0) {
        int e = errno;
        free(dir);
        return rt_fail(err, STRUERE_ESTORE, "%s: %s", path,
                       rt_sys_reason(e, reason, sizeof(reason)));
    }
    /* not across file systems, as git unless told otherwise */
    dev_t dev = st.st_dev;
    bool cross = env_true("GIT_DISCOVERY_ACROSS_FILESYSTEM");
    for (;;) {
        int rc = open_real(out, dir, path, err);
        if (rc == 0 && !any_owner && (rc = owner_check(*out, dir, err)) < 0) {
            rt_git_close(*out);
            *out = NULL;
        }
        if (rc != ABSENT) {
            free(dir);
            return rc;
        }
        char *slash = strrchr(dir, '/');
        size_t up = slash == dir ? 1 : (size_t)(slash - dir);
        if (!slash || !dir[1] || is_ceiling(dir, up))
            break;
        dir[up] = '\0';
        if (!cross && (stat(dir, &st) != 0 || st.st_dev != dev))
            break;
    }
    free(dir);
    return rt_fail(err, STRUERE_ESTORE,
                   "no git repository at %s or in a folder above it", path);
}

static void packs_free(struct rt_git *g)
{
    for (size_t i = 0; i < g->npacks; i++) {
        munmap(g->packs[i].idx, g->packs[i].idx_len);
        munmap(g->packs[i].data, g->packs[i].data_len);
    }
    free(g->packs);
    g->packs = NULL;
    g->npacks = 0;
    g->packs_read = false;
}

void rt_git_close(struct rt_git *g)
{
    if (!g)
        return;
    packs_free(g);
    for (size_t i = 0; i < g->nodirs; i++)
        free(g->odirs[i]);
    free(g->odirs);
    free(g->packed);
    free(g->dir);
    free(g->common);
    free(g->name);
    free(g);
}

const char *rt_git_dir(const struct rt_git *g)
{
    return g->dir;
}

const char *rt_git_name(const struct rt_git *g)
{
    return g->name;
}

void rt_git_id_hex(const unsigned char id[RT_GIT_ID], char hex[41])
{
    rt_hex_encode(id, RT_GIT_ID, hex);
}

int rt_git_id_parse(const char *hex, unsigned char id[RT_GIT_ID])
{
    return rt_hex_decode(hex, strlen(hex), id, RT_GIT_ID);
}

/* ---- refs ---- */

/* A ref name git would write: "refs/" and components that are not empty,
 * "." or "..", of printable characters. */
static bool ref_name_ok(const char *name)
{
    if (strncmp(name, "refs/", 5) || strlen(name) > 1024)
        return false;
    for (const char *c = name; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '\\')
            return false;
    return !strstr(name, "//") && !strstr(name, "/./") &&
           !strstr(name, "/../") && name[strlen(name) - 1] != '/' &&
           strcmp(name + strlen(name) - 3, "/..") &&
           strcmp(name + strlen(name) - 2, "/.");
}

/* 40 hex digits at `text` and then nothing, or whitespace (as git reads
 * a ref): 0, or -1. */
static int id_text(const char *text, size_t len, unsigned char id[RT_GIT_ID])
{
    char hex[41];
    if (len < 40 || (len > 40 && !strchr(" \t\r\n", text[40])))
        return -1;
    for (size_t i = 41; i < len; i++)
        if (!strchr(" \t\r\n", text[i]))
            return -1;
    memcpy(hex, text, 40);
    hex[40] = '\0';
    return rt_git_id_parse(hex, id);
}

/* The id of `name` in packed-refs (read once per rt_git): 0,
 * STRUERE_ENOTFOUND, or an error. */
static int packed_ref(struct rt_git *g, const char *name,
                      unsigned char id[RT_GIT_ID], struere_error *err)
{
    size_t n = strlen(name);
    if (!g->packed_state) {
        char *path = join(g->common, "packed-refs");
        if (!path)
            return rt_fail(err, STRUERE_ENOMEM, "out of memory reading a ref");
        int rc =
            slurp(path, PACKED_REFS_LIMIT, &g->packed, &g->packed_len, err);
        free(path);
        if (rc < 0 && rc != ABSENT)
            return rc;
        g->packed_state = rc == ABSENT ? ABSENT : 1;
    }
    if (g->packed_state == ABSENT)
        return rt_fail(err, STRUERE_ENOTFOUND, "no ref %s", name);
    /* "ID NAME" lines; "# ..." and peeled "^ID" lines never match */
    const char *text = g->packed, *end = g->packed + g->packed_len;
    for (const char *line = text; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t l = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (l && line[l - 1] == '\r')
            l--;
        if (l == 41 + n && line[40] == ' ' && !memcmp(line + 41, name, n))
            return id_text(line, 40, id) == 0
                       ? 0
                       : rt_fail(err, STRUERE_ESTORE,
                                 "packed-refs: %s holds no object id", name);
        line += (nl ? (size_t)(nl - line) : l) + 1;
    }
    return rt_fail(err, STRUERE_ENOTFOUND, "no ref %s", name);
}

int rt_git_ref(struct rt_git *g, const char *name, unsigned char id[RT_GIT_ID],
               struere_error *err)
{
    char ref[1100];
    snprintf(ref, sizeof(ref), "%s", name);
    for (int depth = 0; depth <= REF_DEPTH; depth++) {
        if (!ref_name_ok(ref))
            return rt_fail(err, STRUERE_ESTORE, "%s: not a valid ref name",
                           ref);
        char *path = join(g->common, ref), *text;
        size_t len;
        if (!path)
            return rt_fail(err, STRUERE_ENOMEM, "out of memory reading a ref");
        int rc = slurp(path, REF_FILE_LIMIT, &text, &len, err);
        free(path);
        if (rc == ABSENT)
            return packed_ref(g, ref, id, err);
        if (rc < 0)
            return rc;
        if (!strncmp(text, "ref:", 4)) {
            char *to = text + 4;
            to += strspn(to, " \t");
            size_t n = strlen(to);
            while (n && strchr(" \t\r\n", to[n - 1]))
                n--;
            snprintf(ref, sizeof(ref), "%.*s", (int)n, to);
            free(text);
            continue;
        }
        rc = id_text(text, strlen(text), id) == 0
                 ? 0
                 : rt_fail(err, STRUERE_ESTORE, "%s holds no object id", ref);
        free(text);
        return rc;
    }
    return rt_fail(err, STRUERE_ESTORE,
                   "%s: more than %d symbolic refs in a row", name, REF_DEPTH);
}

/* ---- zlib ---- */

/*
 * Inflates the zlib stream at `in` (at most `in_len` bytes) into exactly
 * `out_len` bytes at `out`: -1 when the stream is damaged, or ends before
 * or after that many bytes.
 */
static int inflate_exact(const unsigned char *in, size_t in_len,
                         unsigned char *out, size_t out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return -1;
    unsigned char extra;
    size_t done = 0;
    int ret = Z_OK;
    /* One byte of room past the end: a stream longer than `out_len`
     * writes it, and fails. */
    while (ret == Z_OK) {
        size_t in_chunk = in_len > UINT32_MAX ? UINT32_MAX : in_len;
        z.next_in = (unsigned char *)in;
        z.avail_in = (unsigned)in_chunk;
        if (done < out_len) {
            size_t room = out_len - done;
            z.next_out = out + done;
            z.avail_out = room > UINT32_MAX ? UINT32_MAX : (unsigned)room;
        } else {
            z.next_out = &extra;
            z.avail_out = 1;
        }
        unsigned before_out = z.avail_out;
        ret = inflate(&z, Z_NO_FLUSH);
        size_t produced = before_out - z.avail_out;
        size_t used = in_chunk - z.avail_in;
        in += used;
        in_len -= used;
        if (done >= out_len && produced) {
            inflateEnd(&z);
            return -1;
        }
        done += produced;
        if (ret == Z_OK && !produced && !used)
            break; /* no progress: the input ran out */
    }
    inflateEnd(&z);
    return ret == Z_STREAM_END && done == out_len ? 0 : -1;
}

/* The first up to `want` bytes the zlib stream at `in` inflates to:
 * how many (0 when damaged). */
static size_t inflate_head(const unsigned char *in, size_t in_len,
                           unsigned char *out, size_t want)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return 0;
    z.next_in = (unsigned char *)in;
    z.avail_in = in_len > UINT32_MAX ? UINT32_MAX : (unsigned)in_len;
    z.next_out = out;
    z.avail_out = (unsigned)want;
    int ret = Z_OK;
    while (z.avail_out && ret == Z_OK) {
        unsigned before = z.avail_out, in_before = z.avail_in;
        ret = inflate(&z, Z_SYNC_FLUSH);
        if (ret == Z_OK && z.avail_out == before && z.avail_in == in_before)
            break;
    }
    size_t got = want - z.avail_out;
    inflateEnd(&z);
    return ret == Z_OK || ret == Z_STREAM_END || ret == Z_BUF_ERROR ? got : 0;
}

/* ---- objects directories ---- */

/* Adds `dir` (an objects directory) and, from its info/alternates, the
 * directories that lend it objects, `depth` deep at most. */
static int odirs_add(struct rt_git *g, const char *dir, int depth,
                     struere_error *err)
{
    char *real = absolute(dir, false);
    if (!real)
        return 0; /* a borrowed directory that is gone lends nothing */
    for (size_t i = 0; i < g->nodirs; i++)
        if (!strcmp(g->odirs[i], real)) {
            free(real);
            return 0;
        }
    char **grown = realloc(g->odirs, (g->nodirs + 1) * sizeof(*g->odirs));
    if (!grown) {
        free(real);
        return rt_fail(err, STRUERE_ENOMEM, "out of memory opening a store");
    }
    g->odirs = grown;
    g->odirs[g->nodirs++] = real;
    char *path = join(real, "info/alternates"), *text;
    size_t len;
    int rc = path ? slurp(path, REF_FILE_LIMIT * 16, &text, &len, err)
                  : rt_fail(err, STRUERE_ENOMEM, "out of memory");
    free(path);
    if (rc == ABSENT)
        return 0;
    if (rc < 0)
        return rc;
    if (depth > ALTERNATE_DEPTH) { /* git ignores them too, warning */
        free(text);
        return 0;
    }
    char *base = strdup(real);
    for (char *line = text; rc == 0 && base && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (n && line[0] != '#') {
            char *full = line[0] == '/' ? strdup(line) : join(base, line);
            rc = full ? odirs_add(g, full, depth + 1, err)
                      : rt_fail(err, STRUERE_ENOMEM, "out of memory");
            free(full);
        }
        line = nl ? nl + 1 : NULL;
    }
    if (!base)
        rc = rt_fail(err, STRUERE_ENOMEM, "out of memory");
    free(base);
    free(text);
    return rc;
}

static int odirs_read(struct rt_git *g, struere_error *err)
{
    if (g->odirs_read)
        return 0;
    char *dir = join(g->common, "objects");
    int rc = dir ? odirs_add(g, dir, 0, err)
                 : rt_fail(err, STRUERE_ENOMEM, "out of memory");
    free(dir);
    g->odirs_read = rc == 0;
    if (rc < 0) { /* read again, whole, by the next object asked for */
        for (size_t i = 0; i < g->nodirs; i++)
            free(g->odirs[i]);
        g->nodirs = 0;
    }
    return rc;
}

/* ---- loose objects ---- */

static int type_code(const char *name, size_t n)
{
    for (int t = RT_GIT_COMMIT; t <= RT_GIT_TAG; t++)
        if (strlen(type_names[t]) == n && !memcmp(type_names[t], name, n))
            return t;
    return 0;
}

/* Reads the loose object `hex` of the objects directory `odir` (no type
 * check, no hash check): 0, ABSENT when it is not there, STRUERE_ERANGE
 * (its length in o->len), or an error. */
static int loose_read(const char *odir, const char *hex, size_t limit,
                      struct rt_git_object *o, struere_error *err)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "%.2s/%s", hex, hex + 2);
    char *path = join(odir, rel);
    unsigned char *map, head[64];
    size_t map_len;
    if (!path)
        return rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s", hex);
    int rc = map_file(path, &map, &map_len, err);
    free(path);
    if (rc < 0)
        return rc;
    size_t got = inflate_head(map, map_len, head, sizeof(head));
    unsigned char *nul = memchr(head, '\0', got);
    unsigned char *sp = nul ? memchr(head, ' ', (size_t)(nul - head)) : NULL;
    uint64_t size = 0;
    bool digits = sp && sp + 1 < nul && (sp[1] != '0' || sp + 2 == nul);
    for (unsigned char *c = sp ? sp + 1 : head; digits && c < nul; c++) {
        if (*c < '0' || *c > '9' || size > (UINT64_MAX - 9) / 10)
            digits = false;
        else
            size = size * 10 + (uint64_t)(*c - '0');
    }
    o->type = digits ? type_code((char *)head, (size_t)(sp - head)) : 0;
    size_t hlen = nul ? (size_t)(nul - head) + 1 : 0;
    if (!o->type) {
        rc = rt_fail(err, STRUERE_ESTORE,
                     "object %s: not a loose object (damaged header)", hex);
    } else if (size > limit) {
        o->len = size > SIZE_MAX ? SIZE_MAX : (size_t)size;
        rc = STRUERE_ERANGE;
    } else {
        unsigned char *all = malloc(hlen + (size_t)size + 1);
        if (!all)
            rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s", hex);
        else if (inflate_exact(map, map_len, all, hlen + (size_t)size) != 0)
            rc = rt_fail(err, STRUERE_ESTORE,
                         "object %s: its zlib data is damaged or not of the "
                         "length its header gives",
                         hex);
        if (rc == 0) {
            memmove(all, all + hlen, (size_t)size);
            all[size] = '\0';
            o->data = all;
            o->len = (size_t)size;
        } else {
            free(all);
        }
    }
    munmap(map, map_len);
    return rc;
}

/* The object `hex` loose in any objects directory: as loose_read. */
static int loose_find(struct rt_git *g, const char *hex, size_t limit,
                      struct rt_git_object *o, struere_error *err)
{
    for (size_t i = 0; i < g->nodirs; i++) {
        int rc = loose_read(g->odirs[i], hex, limit, o, err);
        if (rc != ABSENT)
            return rc;
    }
    return ABSENT;
}

/* ---- pack files ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

#define IDX_HEAD (8 + 256 * 4)

/* Checks a version 2 index against its pack: -1 (reason in `why`). */
static int pack_check(struct pack *p, char *why, size_t n)
{
    static const unsigned char magic[4] = {0xff, 't', 'O', 'c'};
    if (p->idx_len < IDX_HEAD + 40 || memcmp(p->idx, magic, 4) ||
        be32(p->idx + 4) != 2) {
        snprintf(why, n, "its index is not a version 2 pack index");
        return -1;
    }
    uint32_t prev = 0;
    for (int i = 0; i < 256; i++) {
        uint32_t f = be32(p->idx + 8 + 4 * i);
        if (f < prev) {
            snprintf(why, n, "its index's fan-out table is not sorted");
            return -1;
        }
        prev = f;
    }
    p->count = prev;
    size_t fixed = IDX_HEAD + (size_t)p->count * 28 + 40;
    if (p->idx_len < fixed || (p->idx_len - fixed) % 8) {
        snprintf(why, n, "its index is not as long as its %u objects need",
                 p->count);
        return -1;
    }
    p->large_count = (p->idx_len - fixed) / 8;
    if (p->data_len < 32 || memcmp(p->data, "PACK", 4) ||
        (be32(p->data + 4) != 2 && be32(p->data + 4) != 3) ||
        be32(p->data + 8) != p->count) {
        snprintf(why, n,
                 "the pack is not a version 2 or 3 pack of the %u objects "
                 "its index lists",
                 p->count);
        return -1;
    }
    /* the index names its pack by the pack's trailing checksum */
    if (memcmp(p->idx + p->idx_len - 40, p->data + p->data_len - 20, 20)) {
        snprintf(why, n, "its index is not the index of this pack");
        return -1;
    }
    return 0;
}

/* Maps the pack of the index `name` in `dir`: 0, ABSENT (removed
 * meanwhile), STRUERE_ESTORE when it is damaged (the reason in `why`),
 * STRUERE_ENOMEM. */
static int pack_open(const char *dir, const char *name, struct pack *p,
                     char *why, size_t whysize)
{
    size_t n = strlen(name);
    char pname[64], *ipath = join(dir, name), *ppath;
    struere_error e;
    snprintf(pname, sizeof(pname), "%.*s.pack", (int)(n - 4), name);
    ppath = join(dir, pname);
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", pname);
    int a = ipath && ppath ? map_file(ipath, &p->idx, &p->idx_len, &e)
                           : STRUERE_ENOMEM;
    int b = a == 0 ? map_file(ppath, &p->data, &p->data_len, &e) : a;
    free(ipath);
    free(ppath);
    int rc = a == STRUERE_ENOMEM          ? STRUERE_ENOMEM
             : a == ABSENT || b == ABSENT ? ABSENT
             : a < 0 || b < 0             ? STRUERE_ESTORE
                                          : 0;
    if (rc == STRUERE_ESTORE)
        snprintf(why, whysize, "%.150s", e.message);
    if (rc == 0 && pack_check(p, why, whysize) < 0)
        rc = STRUERE_ESTORE;
    if (rc != 0) {
        if (a == 0)
            munmap(p->idx, p->idx_len);
        if (a == 0 && b == 0)
            munmap(p->data, p->data_len);
    }
    return rc;
}

/* Maps every pack of every objects directory. A damaged one is skipped
 * (as git skips it), its reason kept for an object found nowhere. */
static int packs_read(struct rt_git *g, struere_error *err)
{
    g->packs_read = true;
    g->pack_error[0] = '\0';
    for (size_t k = 0; k < g->nodirs; k++) {
        char *dirpath = join(g->odirs[k], "pack");
        if (!dirpath)
            return rt_fail(err, STRUERE_ENOMEM, "out of memory reading packs");
        DIR *d = opendir(dirpath);
        struct dirent *de;
        int rc = 0;
        while (rc == 0 && d && (de = readdir(d))) {
            size_t n = strlen(de->d_name);
            if (n < 10 || n > 60 || strncmp(de->d_name, "pack-", 5) ||
                strcmp(de->d_name + n - 4, ".idx"))
                continue;
            struct pack p;
            char why[160];
            int got = pack_open(dirpath, de->d_name, &p, why, sizeof(why));
            if (got == STRUERE_ESTORE && !g->pack_error[0])
                snprintf(g->pack_error, sizeof(g->pack_error),
                         "pack %s is damaged: %s", p.name, why);
            if (got == STRUERE_ENOMEM)
                rc = rt_fail(err, got, "out of memory reading packs");
            if (got != 0)
                continue;
            struct pack *grown =
                realloc(g->packs, (g->npacks + 1) * sizeof(*g->packs));
            if (!grown) {
                munmap(p.idx, p.idx_len);
                munmap(p.data, p.data_len);
                rc =
                    rt_fail(err, STRUERE_ENOMEM, "out of memory reading packs");
                break;
            }
            g->packs = grown;
            g->packs[g->npacks++] = p;
        }
        if (d)
            closedir(d);
        free(dirpath);
        if (rc < 0) {
            packs_free(g);
            return rc;
        }
    }
    return 0;
}

/* The offset of `id`'s entry in `p`: 0 when it has none, UINT64_MAX when
 * the index gives one out of its table. */
static uint64_t pack_find(const struct pack *p, const unsigned char *id)
{
    uint32_t lo = id[0] ? be32(p->idx + 8 + 4 * (id[0] - 1)) : 0;
    uint32_t hi = be32(p->idx + 8 + 4 * id[0]);
    const unsigned char *ids = p->idx + IDX_HEAD;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = memcmp(ids + (size_t)mid * 20, id, 20);
        if (c == 0) {
            const unsigned char *offs = ids + (size_t)p->count * 24;
            uint32_t off = be32(offs + (size_t)mid * 4);
            if (!(off & 0x80000000u))
                return off;
            size_t k = off & 0x7fffffffu;
            if (k >= p->large_count)
                return UINT64_MAX;
            const unsigned char *b = offs + (size_t)p->count * 4 + k * 8;
            return (uint64_t)be32(b) << 32 | be32(b + 4);
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* An entry's type and length, and where its data starts. */
struct entry {
    int type;
    uint64_t size;
    uint64_t data;                /* offset of the zlib data */
    uint64_t back;                /* OFS_DELTA: how far back the base is */
    const unsigned char *base_id; /* REF_DELTA: the base's id */
};

#define OBJ_OFS_DELTA 6
#define OBJ_REF_DELTA 7

static int entry_read(const struct pack *p, uint64_t off, struct entry *e)
{
    const uint64_t end = p->data_len - 20; /* the pack's checksum follows */
    memset(e, 0, sizeof(*e));
    if (off < 12 || off >= end)
        return -1;
    unsigned c = p->data[off++];
    e->type = (int)(c >> 4) & 7;
    e->size = c & 15;
    int shift = 4;
    while (c & 0x80) {
        if (off >= end || shift > 57)
            return -1;
        c = p->data[off++];
        e->size |= (uint64_t)(c & 0x7f) << shift;
        shift += 7;
    }
    if (e->type == OBJ_OFS_DELTA) {
        if (off >= end)
            return -1;
        c = p->data[off++];
        uint64_t back = c & 0x7f;
        while (c & 0x80) {
            if (off >= end || back > (UINT64_MAX >> 8))
                return -1;
            c = p->data[off++];
            back = ((back + 1) << 7) | (c & 0x7f);
        }
        e->back = back;
    } else if (e->type == OBJ_REF_DELTA) {
        if (end - off < 20)
            return -1;
        e->base_id = p->data + off;
        off += 20;
    } else if (e->type < RT_GIT_COMMIT || e->type > RT_GIT_TAG) {
        return -1;
    }
    if (off >= end)
        return -1;
    e->data = off;
    return 0;
}

/* A delta's two lengths (base, result), read from its start. */
static int delta_sizes(const unsigned char **p, const unsigned char *end,
                       uint64_t *base, uint64_t *result)
{
    uint64_t *v[2] = {base, result};
    for (int i = 0; i < 2; i++) {
        *v[i] = 0;
        for (int shift = 0;; shift += 7) {
            if (*p >= end || shift > 63)
                return -1;
            unsigned c = *(*p)++;
            *v[i] |= (uint64_t)(c & 0x7f) << shift;
            if (!(c & 0x80))
                break;
        }
    }
    return 0;
}

/* Applies `delta` to `base`, into `out` of `out_len` bytes: -1 when the
 * delta is damaged. */
static int delta_apply(const unsigned char *base, size_t base_len,
                       const unsigned char *d, const unsigned char *end,
                       unsigned char *out, size_t out_len)
{
    size_t at = 0;
    while (d < end) {
        unsigned op = *d++;
        if (op & 0x80) {
            uint64_t off = 0, n = 0;
            for (int i = 0; i < 4; i++)
                if (op & (1u << i)) {
                    if (d >= end)
                        return -1;
                    off |= (uint64_t)*d++ << (8 * i);
                }
            for (int i = 0; i < 3; i++)
                if (op & (0x10u << i)) {
                    if (d >= end)
                        return -1;
                    n |= (uint64_t)*d++ << (8 * i);
                }
            if (n == 0)
                n = 0x10000;
            if (off > base_len || n > base_len - off || n > out_len - at)
                return -1;
            memcpy(out + at, base + off, (size_t)n);
            at += (size_t)n;
        } else if (op) {
            if (op > (size_t)(end - d) || op > out_len - at)
                return -1;
            memcpy(out + at, d, op);
            d += op;
            at += op;
        } else {
            return -1; /* reserved */
        }
    }
    return at == out_len ? 0 : -1;
}

/* Where an object is: loose (read whole into `o`), or an entry of a pack. */
struct place {
    const struct pack *p;
    uint64_t off;
};

/* Finds `id` (`hex`) in the mapped packs from the `*next`th on: 1 found
 * (*next then past its pack), 0 not, or an error (*next past the pack
 * whose index is damaged). */
static int pack_locate(struct rt_git *g, const unsigned char *id,
                       const char *hex, size_t *next, struct place *at,
                       struere_error *err)
{
    while (*next < g->npacks) {
        const struct pack *p = &g->packs[(*next)++];
        uint64_t off = pack_find(p, id);
        if (off == UINT64_MAX)
            return rt_fail(err, STRUERE_ESTORE,
                           "object %s: pack %s's index gives it an offset out "
                           "of its table",
                           hex, p->name);
        if (off) {
            at->p = p;
            at->off = off;
            return 1;
        }
    }
    return 0;
}

/* A delta of the chain being built. */
struct link {
    struct place at;
    struct entry e;
};

/* The zlib data of an entry inflated into `size` bytes (a NUL after):
 * 0, STRUERE_ENOMEM, or STRUERE_ECORRUPT when the data is damaged. */
static int entry_inflate(const struct link *l, uint64_t size,
                         unsigned char **out)
{
    const struct pack *p = l->at.p;
    unsigned char *buf = malloc((size_t)size + 1);
    *out = NULL;
    if (!buf)
        return STRUERE_ENOMEM;
    if (inflate_exact(p->data + l->e.data,
                      (size_t)(p->data_len - 20 - l->e.data), buf,
                      (size_t)size) != 0) {
        free(buf);
        return STRUERE_ECORRUPT;
    }
    buf[size] = '\0';
    *out = buf;
    return 0;
}

/*
 * The object whose entry is `start`, built: the chain of deltas followed
 * down to its base (an entry that is no delta, or a loose object a delta
 * by id names), then applied upwards, without recursion. 0,
 * STRUERE_ERANGE (the object's length in o->len), or an error naming
 * `hex`.
 */
static int pack_object(struct rt_git *g, struct place start, size_t limit,
                       const char *hex, struct rt_git_object *o,
                       struere_error *err)
{
    struct link *chain = NULL, cur = {start, {0}};
    size_t n = 0;
    struct rt_git_object base = {0};
    int rc = 0;
#define DAMAGED(what)                                                          \
    rt_fail(err, STRUERE_ESTORE, "object %s: %s at offset %llu of %s", hex,    \
            what, (unsigned long long)cur.at.off, cur.at.p->name)
    for (;;) {
        if (entry_read(cur.at.p, cur.at.off, &cur.e) < 0) {
            rc = DAMAGED("a damaged entry");
            break;
        }
        size_t cap = n ? BASE_LIMIT : limit;
        if (cur.e.type <= RT_GIT_TAG) {
            if (cur.e.size > cap) {
                o->len = cur.e.size > SIZE_MAX ? SIZE_MAX : (size_t)cur.e.size;
                rc = n ? DAMAGED("a delta's base too large") : STRUERE_ERANGE;
            } else if ((rc = entry_inflate(&cur, cur.e.size, &base.data))) {
                rc = rc == STRUERE_ENOMEM
                         ? rt_fail(err, rc, "out of memory reading %s", hex)
                         : DAMAGED("damaged zlib data");
            } else {
                base.len = (size_t)cur.e.size;
                base.type = cur.e.type;
            }
            break;
        }
        if (n == 0) {
            /* the result's length first: one too long is refused before
             * its chain is built */
            unsigned char head[32];
            const unsigned char *h = head;
            const struct pack *p = cur.at.p;
            uint64_t base_len, result_len;
            size_t got = inflate_head(p->data + cur.e.data,
                                      (size_t)(p->data_len - 20 - cur.e.data),
                                      head, sizeof(head));
            if (delta_sizes(&h, head + got, &base_len, &result_len) < 0) {
                rc = DAMAGED("a damaged delta");
                break;
            }
            if (result_len > limit) {
                o->len = result_len > SIZE_MAX ? SIZE_MAX : (size_t)result_len;
                rc = STRUERE_ERANGE;
                break;
            }
        }
        if (n >= DELTA_DEPTH) {
            rc = DAMAGED("a chain of more than 4095 deltas");
            break;
        }
        if (cur.e.size > BASE_LIMIT) {
            rc = DAMAGED("a delta too large");
            break;
        }
        if (!(n & (n - 1))) { /* 0, 1, 2, 4, ...: grow */
            struct link *grown =
                realloc(chain, (n ? 2 * n : 1) * sizeof(*chain));
            if (!grown) {
                rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s",
                             hex);
                break;
            }
            chain = grown;
        }
        chain[n++] = cur;
        if (cur.e.type == OBJ_OFS_DELTA) {
            if (cur.e.back == 0 || cur.e.back >= cur.at.off) {
                rc = DAMAGED("a delta whose base is not before it");
                break;
            }
            cur.at.off -= cur.e.back;
            continue;
        }
        char base_hex[41];
        rt_git_id_hex(cur.e.base_id, base_hex);
        int got = loose_find(g, base_hex, BASE_LIMIT, &base, err);
        if (got == 0)
            break;
        if (got != ABSENT) {
            rc = got == STRUERE_ERANGE ? DAMAGED("a delta's base too large")
                                       : got;
            break;
        }
        struct place next;
        size_t from = 0;
        got = pack_locate(g, cur.e.base_id, hex, &from, &next, err);
        if (got == 0)
            rc = rt_fail(err, STRUERE_ESTORE,
                         "object %s: its delta's base %s is not in the store",
                         hex, base_hex);
        if (got <= 0) {
            rc = got < 0 ? got : rc;
            break;
        }
        cur.at = next;
    }
    /* the deltas, from the base up */
    while (rc == 0 && n > 0) {
        struct link *l = &chain[--n];
        unsigned char *delta, *out = NULL;
        int got = entry_inflate(l, l->e.size, &delta);
        const unsigned char *d = delta;
        uint64_t base_len, result_len;
        cur = *l;
        if (got == STRUERE_ENOMEM)
            rc = rt_fail(err, got, "out of memory reading %s", hex);
        else if (got < 0 ||
                 delta_sizes(&d, delta + l->e.size, &base_len, &result_len) <
                     0 ||
                 base_len != base.len || result_len > (n ? BASE_LIMIT : limit))
            rc = DAMAGED("a damaged delta");
        else if (!(out = malloc((size_t)result_len + 1)))
            rc = rt_fail(err, STRUERE_ENOMEM, "out of memory reading %s", hex);
        else if (delta_apply(base.data, base.len, d, delta + l->e.size, out,
                             (size_t)result_len) != 0)
            rc = DAMAGED("a damaged delta");
        free(delta);
        free(base.data);
        base.data = NULL;
        if (rc < 0) {
            free(out);
            break;
        }
        out[result_len] = '\0';
        base.data = out;
        base.len = (size_t)result_len;
    }
#undef DAMAGED
    free(chain);
    if (rc < 0) {
        free(base.data);
        return rc;
    }
    *o = base;
    return 0;
}

/* A copy of an object just read: kept when its bytes hash to `id`, else
 * freed with the reason. */
static int copy_check(const unsigned char *id, const char *hex,
                      struct rt_git_object *o, struere_error *err)
{
    unsigned char got[RT_GIT_ID];
    rt_sha1_object(type_names[o->type], o->data, o->len, got);
    if (!memcmp(got, id, RT_GIT_ID))
        return 0;
    free(o->data);
    memset(o, 0, sizeof(*o));
    return rt_fail(err, STRUERE_ESTORE,
                   "object %s: its bytes do not hash to its id (damaged)", hex);
}

/*
 * Finds `id` in the store and reads it, as git does: in the packs first,
 * then loose; a copy that is damaged or does not hash to `id` is passed
 * over for the next (a crash may leave a loose copy empty beside a packed
 * one). The packs are read again once when no copy is found (a repack or
 * gc may have moved it since they were mapped). 0 with a copy that hashes
 * to `id`; STRUERE_ERANGE; STRUERE_ENOMEM; the first damaged copy's
 * reason; STRUERE_ENOTFOUND.
 */
static int object_read(struct rt_git *g, const unsigned char *id, size_t limit,
                       struct rt_git_object *o, struere_error *err)
{
    char hex[41];
    struere_error first;
    int first_rc = 0;
    rt_git_id_hex(id, hex);
    memset(o, 0, sizeof(*o));
    int rc = odirs_read(g, err);
    if (rc < 0)
        return rc;
    for (int pass = 0; pass < 2 && !first_rc; pass++) {
        if ((!g->packs_read || pass == 1) &&
            (packs_free(g), rc = packs_read(g, err)) < 0)
            return rc;
        size_t next_pack = 0, next_dir = 0;
        for (;;) {
            struct place at;
            int found = pack_locate(g, id, hex, &next_pack, &at, &first);
            if (found > 0)
                rc = pack_object(g, at, limit, hex, o, &first);
            else if (found < 0)
                rc = found;
            else if (next_dir < g->nodirs) {
                rc = loose_read(g->odirs[next_dir++], hex, limit, o, &first);
                if (rc == ABSENT)
                    continue;
            } else
                break;
            if (rc == 0)
                rc = copy_check(id, hex, o, &first);
            if (rc == 0 || rc == STRUERE_ERANGE || rc == STRUERE_ENOMEM) {
                if (rc == STRUERE_ENOMEM && err)
                    *err = first;
                return rc;
            }
            if (!first_rc) {
                first_rc = rc;
                if (err)
                    *err = first;
            }
        }
    }
    if (first_rc)
        return first_rc;
    return g->pack_error[0] ? rt_fail(err, STRUERE_ENOTFOUND,
                                      "object %s is not in the store (%s)", hex,
                                      g->pack_error)
                            : rt_fail(err, STRUERE_ENOTFOUND,
                                      "object %s is not in the store", hex);
}

int rt_git_read(struct rt_git *g, const unsigned char id[RT_GIT_ID], int type,
                size_t limit, struct rt_git_object *out, struere_error *err)
{
    char hex[41];
    int rc =
        object_read(g, id, limit < BASE_LIMIT ? limit : BASE_LIMIT, out, err);
    if (rc < 0) {
        if (rc != STRUERE_ERANGE)
            memset(out, 0, sizeof(*out));
        return rc;
    }
    if (out->type != type) {
        rt_git_id_hex(id, hex);
        rc = rt_fail(err, STRUERE_ESTORE, "object %s is a %s, not a %s", hex,
                     type_names[out->type], type_names[type]);
        free(out->data);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* ---- commits and trees ---- */

/* The kind of object a tree entry's mode names, as git reads the octal
 * number (some tools write "040000" for "40000"): S_IFDIR, S_IFREG (any
 * 100xxx), or 0 for links, submodules and the malformed. */
static unsigned mode_kind(const char *mode)
{
    unsigned long m = 0;
    for (const char *c = mode; *c; c++) {
        if (*c < '0' || *c > '7')
            return 0;
        m = m * 8 + (unsigned long)(*c - '0');
    }
    return (m & 0170000) == 0040000   ? S_IFDIR
           : (m & 0170000) == 0100000 ? S_IFREG
                                      : 0;
}

/* Two entries in git's order (base_name_compare): their names byte by
 * byte, a folder's as if it ended with '/'. */
static int entry_cmp(const unsigned char *a, size_t na, int dir_a,
                     const unsigned char *b, size_t nb, int dir_b)
{
    size_t n = na < nb ? na : nb;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    unsigned ca = na > n ? a[n] : dir_a ? '/' : 0;
    unsigned cb = nb > n ? b[n] : dir_b ? '/' : 0;
    return (ca > cb) - (ca < cb);
}

int rt_git_tree_entry(const unsigned char *data, size_t len, const char *name,
                      size_t n, unsigned char id[RT_GIT_ID], char mode[8])
{
    const unsigned char *p = data, *end = data + len, *last = NULL;
    size_t last_n = 0;
    int last_dir = 0, found = 0, unsorted = 0;
    while (p < end) {
        const unsigned char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp || sp == p || sp - p > 7)
            return RT_GIT_TREE_DAMAGED;
        const unsigned char *nul = memchr(sp + 1, '\0', (size_t)(end - sp - 1));
        if (!nul || nul == sp + 1 || end - nul - 1 < RT_GIT_ID)
            return RT_GIT_TREE_DAMAGED;
        char m[8];
        memcpy(m, p, (size_t)(sp - p));
        m[sp - p] = '\0';
        const unsigned char *at = sp + 1;
        size_t at_n = (size_t)(nul - at);
        int dir = mode_kind(m) == S_IFDIR;
        if (last && (entry_cmp(last, last_n, last_dir, at, at_n, dir) >= 0 ||
                     (last_n == at_n && !memcmp(last, at, at_n))))
            unsorted = 1;
        if (at_n == n && !memcmp(at, name, n) && found++ == 0) {
            memcpy(mode, m, sizeof(m));
            memcpy(id, nul + 1, RT_GIT_ID);
        }
        last = at;
        last_n = at_n;
        last_dir = dir;
        p = nul + 1 + RT_GIT_ID;
    }
    return found > 1  ? RT_GIT_TREE_TWICE
           : unsorted ? RT_GIT_TREE_UNSORTED
           : found    ? RT_GIT_TREE_FOUND
                      : RT_GIT_TREE_ABSENT;
}

int rt_git_commit_path(struct rt_git *g, const unsigned char commit[RT_GIT_ID],
                       const char *path, unsigned char id[RT_GIT_ID], int *file,
                       struere_error *err)
{
    struct rt_git_object o;
    char hex[41];
    unsigned char at[RT_GIT_ID];
    *file = 0;
    int rc = rt_git_read(g, commit, RT_GIT_COMMIT, TREE_LIMIT, &o, err);
    /* not found: the reason says which commit, and why (a damaged pack) */
    if (rc == STRUERE_ENOTFOUND)
        return err ? (err->code = STRUERE_ESTORE) : STRUERE_ESTORE;
    if (rc == STRUERE_ERANGE) {
        rt_git_id_hex(commit, hex);
        return rt_fail(err, STRUERE_ESTORE,
                       "commit %s is larger than a commit can be", hex);
    }
    if (rc < 0)
        return rc;
    rc = o.len >= 46 && !memcmp(o.data, "tree ", 5) && o.data[45] == '\n'
             ? rt_hex_decode((char *)o.data + 5, 40, at, RT_GIT_ID)
             : -1;
    free(o.data);
    if (rc < 0) {
        rt_git_id_hex(commit, hex);
        return rt_fail(err, STRUERE_ESTORE, "commit %s names no tree", hex);
    }
    char mode[8] = "40000";
    for (const char *name = path;;) {
        size_t n = strcspn(name, "/");
        if (mode_kind(mode) != S_IFDIR)
            return STRUERE_ENOTFOUND; /* a file where a folder would be */
        rc = rt_git_read(g, at, RT_GIT_TREE, TREE_LIMIT, &o, err);
        if (rc == STRUERE_ENOTFOUND)
            return err ? (err->code = STRUERE_ESTORE) : STRUERE_ESTORE;
        if (rc == STRUERE_ERANGE) {
            rt_git_id_hex(at, hex);
            return rt_fail(err, STRUERE_ESTORE,
                           "tree %s is larger than %zu bytes", hex, TREE_LIMIT);
        }
        if (rc < 0)
            return rc;
        int found = n ? rt_git_tree_entry(o.data, o.len, name, n, at, mode)
                      : RT_GIT_TREE_ABSENT;
        free(o.data);
        if (found == RT_GIT_TREE_TWICE)
            return rt_fail(err, STRUERE_ESTORE,
                           "a tree of %s names %.*s twice (git fsck: "
                           "duplicateEntries): which one counts is not "
                           "defined",
                           path, (int)n, name);
        if (found == RT_GIT_TREE_UNSORTED)
            return rt_fail(err, STRUERE_ESTORE,
                           "a tree of %s has entries out of git's order or "
                           "one name twice (git fsck: treeNotSorted, "
                           "duplicateEntries)",
                           path);
        if (found < 0)
            return rt_fail(err, STRUERE_ESTORE, "a tree of %s is damaged",
                           path);
        if (!found)
            return STRUERE_ENOTFOUND;
        if (!name[n]) {
            memcpy(id, at, RT_GIT_ID);
            *file = mode_kind(mode) == S_IFREG;
            return 0;
        }
        name += n + 1;
    }
}
