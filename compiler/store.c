/*
 * store.c - libgit2 calls. libgit2 1.5 returns 0 or negative codes and
 * git_error_last() may be NULL: every failure goes through fail(). Ref
 * updates go through git's lock files, so a crash at any point leaves
 * each ref at a complete commit (objects are written and fsynced first).
 */
#include "store.h"

#include "env.h"

#include "gitlib.h"
#include "loose_deflate.h"
#include "../runtime/src/gitread.h"
#include "../runtime/src/rt_crypto.h"
#include "pool.h"
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store {
    git_repository *repo;
    git_signature *signature; /* store_take_signature's committer, or NULL */
    git_signature *author;    /* and author, or NULL */
    char error[1024];
    char path[4096];
};

static int fail(struct store *s, const char *what)
{
    const git_error *e = git_error_last();
    snprintf(s->error, sizeof(s->error), "%.400s: %.500s", what,
             e && e->message ? e->message : "unknown error");
    return STORE_ERROR;
}

const char *store_error(const struct store *s)
{
    return s->error;
}

const char *store_path(const struct store *s)
{
    return s->path;
}

const char *store_git_dir(const struct store *s)
{
    return git_repository_path(s->repo);
}

/* libgit2 counts its users and shuts down when the last one is done;
 * its start loads the system's CA certificates (mbedTLS, about 6 ms),
 * and a command opens and closes stores several times (dev, status: a
 * fetch, the cache, the branches). The first store keeps one use for the
 * rest of the process, so libgit2 starts once. */
static pthread_once_t libgit2_held = PTHREAD_ONCE_INIT;

static void hold_libgit2(void)
{
    git_libgit2_init();
}

/* libgit2 opened (gitlib.h) and started, or false with why in err. */
static bool libgit2_start(char *err, size_t errsize)
{
    if (!gitlib_load(err, errsize))
        return false;
    pthread_once(&libgit2_held, hold_libgit2);
    git_libgit2_init();
    return true;
}

bool store_available(char *err, size_t errsize)
{
    return gitlib_load(err, errsize);
}

/* `git init` on dir (libgit2 started): 0 and *created, or -1 with a
 * message. */
static int init_at(const char *dir, bool *created, char *err, size_t errsize)
{
    git_repository *repo = NULL;
    if (git_repository_init(&repo, dir, 0) < 0) {
        const git_error *e = git_error_last();
        snprintf(err, errsize, "git init failed: %s",
                 e && e->message ? e->message : "unknown error");
        return -1;
    }
    git_repository_free(repo);
    *created = true;
    return 0;
}

int store_ensure_repository(const char *dir, bool *created, char *err,
                            size_t errsize)
{
    git_buf found = GIT_BUF_INIT;
    *created = false;
    if (!libgit2_start(err, errsize))
        return -1;
    int rc = git_repository_discover(&found, dir, 0, NULL) == 0
                 ? 0
                 : init_at(dir, created, err, errsize);
    git_buf_dispose(&found);
    git_libgit2_shutdown();
    return rc;
}

int store_ensure_repository_at(const char *dir, bool *created, char *err,
                               size_t errsize)
{
    git_repository *repo = NULL;
    *created = false;
    if (!libgit2_start(err, errsize))
        return -1;
    int rc = git_repository_open_ext(&repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH,
                                     NULL);
    git_repository_free(repo);
    if (rc == GIT_ENOTFOUND) {
        rc = init_at(dir, created, err, errsize);
    } else if (rc < 0) {
        /* there, but not to be opened: never made again over it */
        const git_error *e = git_error_last();
        snprintf(err, errsize, "%s",
                 e && e->message ? e->message : "cannot open");
        rc = -1;
    }
    git_libgit2_shutdown();
    return rc;
}

static void set_reflog_ident(struct store *s);

/* ---- loose objects written next to a running git gc -----------------------
 * libgit2 1.5 writes a loose object to objects/tmp_object_git2_*, then
 * makes objects/xx/, fsyncs the file and links it into objects/xx/. Git's
 * own writers make their temporary inside objects/xx/ instead, because
 * `git prune-packed` (part of every `git gc`, which `git commit` starts in
 * the background once 6,700 objects are loose) removes each objects/xx/
 * it finds empty. Under libgit2 it can remove it between the mkdir and
 * the link, and the write fails: "failed to rename lockfile to
 * '.git/objects/xx/...': No such file or directory". So every repository
 * the store opens writes through a backend placed before libgit2's own:
 * it keeps a file in each objects/xx/ it writes to while the repository
 * is open (named tmp_obj_*, git's name for its temporaries: fsck ignores
 * them and `git prune` removes stale ones), so that directory is never
 * empty while an object is linked into it, and hands the write to a
 * loose backend of its own. Two processes (or threads) writing the same
 * object is safe without it: each writes its own temporary and links
 * or renames it into place. */

/* Makes pin names unique within the process (with the pid, across). */
static atomic_uint pin_serial;

struct pinned_odb {
    git_odb_backend parent;
    git_odb_backend *loose;
    char *pins[256]; /* objects/xx/tmp_obj_... made, by xx; NULL: none */
    size_t dirlen;
    char dir[]; /* the objects directory, with a trailing slash */
};

/* Keeps a file in objects/xx/ for id's xx. Best effort: when it cannot,
 * the write goes ahead (and reports whatever fails). */
static void pin_dir(struct pinned_odb *p, const git_oid *id)
{
    unsigned x = id->id[0];
    if (p->pins[x])
        return;
    size_t size = p->dirlen + 64;
    char *path = malloc(size);
    if (!path)
        return;
    /* Another process may remove objects/xx/ between the mkdir and the
     * open (ENOENT: again), or hold the name (EEXIST: another name). */
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(path, size, "%s%02x", p->dir, x);
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            break;
        snprintf(path + p->dirlen + 2, size - p->dirlen - 2,
                 "/tmp_obj_struere_%ld_%u", (long)getpid(),
                 atomic_fetch_add(&pin_serial, 1));
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd >= 0) {
            close(fd);
            p->pins[x] = path;
            return;
        }
        if (errno != ENOENT && errno != EEXIST)
            break;
    }
    free(path);
}

static int pinned_write(git_odb_backend *b, const git_oid *id, const void *data,
                        size_t len, git_object_t type)
{
    struct pinned_odb *p = (struct pinned_odb *)b;
    pin_dir(p, id);
    return p->loose->write(p->loose, id, data, len, type);
}

/* Holds no objects of its own: the repository's backends list them. */
static int pinned_foreach(git_odb_backend *b, git_odb_foreach_cb cb,
                          void *payload)
{
    (void)b;
    (void)cb;
    (void)payload;
    return 0;
}

static void pinned_free(git_odb_backend *b)
{
    struct pinned_odb *p = (struct pinned_odb *)b;
    for (size_t x = 0; x < 256; x++)
        if (p->pins[x]) {
            unlink(p->pins[x]);
            free(p->pins[x]);
        }
    p->loose->free(p->loose);
    free(p);
}

/* Puts the pinning backend in front of repo's loose objects (above). */
static int pin_objects(git_repository *repo)
{
    git_odb *odb = NULL;
    git_buf dir = GIT_BUF_INIT;
    struct pinned_odb *p = NULL;
    int rc = -1;
    if (git_repository_odb(&odb, repo) < 0 ||
        git_repository_item_path(&dir, repo, GIT_REPOSITORY_ITEM_OBJECTS) < 0)
        goto cleanup;
    size_t len = strlen(dir.ptr);
    p = calloc(1, sizeof(*p) + len + 2);
    if (!p) {
        git_error_set_oom();
        goto cleanup;
    }
    memcpy(p->dir, dir.ptr, len);
    if (len && p->dir[len - 1] != '/')
        p->dir[len++] = '/';
    p->dirlen = len;
    /* libgit2's defaults, as the repository's own loose backend has
     * them; fsync as store_open asks of every write. */
    if (git_odb_init_backend(&p->parent, GIT_ODB_BACKEND_VERSION) < 0 ||
        git_odb_backend_loose(&p->loose, p->dir, -1, 1, 0, 0) < 0)
        goto cleanup;
    p->parent.write = pinned_write;
    p->parent.foreach = pinned_foreach;
    p->parent.free = pinned_free;
    /* Above the loose (1) and pack (2) backends: writes come here. */
    if (git_odb_add_backend(odb, &p->parent, 100) < 0)
        goto cleanup;
    p = NULL; /* the odb owns it */
    rc = 0;
cleanup:
    if (p) {
        if (p->loose)
            p->loose->free(p->loose);
        free(p);
    }
    git_buf_dispose(&dir);
    git_odb_free(odb);
    return rc;
}

int store_open(struct store **out, const char *path, char *err, size_t errsize)
{
    *out = NULL;
    if (!libgit2_start(err, errsize))
        return STORE_ERROR;
    /* Objects and refs reach the disk before a ref points at them. */
    git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
    struct store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errsize, "out of memory");
        git_libgit2_shutdown();
        return STORE_ERROR;
    }
    if (git_repository_open_ext(&s->repo, path, 0, NULL) < 0 ||
        pin_objects(s->repo) < 0) {
        const git_error *e = git_error_last();
        if (e && e->klass == GIT_ERROR_NOMEMORY)
            snprintf(err, errsize, "out of memory opening the store at %s",
                     path);
        else
            snprintf(err, errsize,
                     "%s is not inside a git repository (%s); run 'git init' "
                     "or 'struere init', or set store: in struere.yaml",
                     path, e && e->message ? e->message : "not found");
        git_repository_free(s->repo);
        free(s);
        git_libgit2_shutdown();
        return STORE_ERROR;
    }
    const char *wd = git_repository_workdir(s->repo);
    snprintf(s->path, sizeof(s->path), "%s",
             wd ? wd : git_repository_path(s->repo));
    set_reflog_ident(s);
    *out = s;
    return STORE_OK;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    git_signature_free(s->signature);
    git_signature_free(s->author);
    git_repository_free(s->repo);
    free(s);
    git_libgit2_shutdown();
}

int store_ref_id(struct store *s, const char *ref, char id[41])
{
    git_oid oid;
    int rc = git_reference_name_to_id(&oid, s->repo, ref);
    if (rc == GIT_ENOTFOUND) {
        id[0] = '\0';
        return STORE_NOTFOUND;
    }
    if (rc < 0)
        return fail(s, ref);
    git_oid_tostr(id, 41, &oid);
    return STORE_OK;
}

int store_resolve(struct store *s, const char *rev, char id[41])
{
    char full[300];
    for (size_t i = 0; i < ENV_COUNT; i++)
        if (!strcmp(rev, env_names[i])) {
            snprintf(full, sizeof(full), "refs/heads/struere/%s", rev);
            return store_ref_id(s, full, id);
        }
    git_object *obj = NULL;
    git_object *commit = NULL;
    int rc = git_revparse_single(&obj, s->repo, rev);
    if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC) {
        snprintf(s->error, sizeof(s->error), "unknown revision '%s'", rev);
        return STORE_NOTFOUND;
    }
    if (rc < 0)
        return fail(s, rev);
    rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
    git_object_free(obj);
    if (rc < 0) {
        snprintf(s->error, sizeof(s->error), "'%s' is not a commit", rev);
        return STORE_NOTFOUND;
    }
    git_oid_tostr(id, 41, git_object_id(commit));
    git_object_free(commit);
    return STORE_OK;
}

/* The tree of commit id (caller frees it). */
static int tree_of(struct store *s, const char *id, git_tree **out)
{
    git_oid oid;
    git_commit *c = NULL;
    *out = NULL;
    if (git_oid_fromstr(&oid, id) < 0 ||
        git_commit_lookup(&c, s->repo, &oid) < 0 ||
        git_commit_tree(out, c) < 0) {
        git_commit_free(c);
        return fail(s, id);
    }
    git_commit_free(c);
    return STORE_OK;
}

/* The libgit2 type of a tree entry of mode `mode` (octal digits), as
 * git_tree_entry_type gives it: a folder, a submodule, else a blob. */
static git_object_t mode_type(const char *mode)
{
    unsigned long m = strtoul(mode, NULL, 8);
    return (m & 0170000) == 0040000   ? GIT_OBJECT_TREE
           : (m & 0170000) == 0160000 ? GIT_OBJECT_COMMIT
                                      : GIT_OBJECT_BLOB;
}

/*
 * The id and type of the entry at path in commit id; STORE_NOTFOUND with
 * a message when the commit has no such path. Each tree on the way is
 * read by the runtime's rt_git_tree_entry on its own bytes, not by
 * libgit2's lookup: a tree that names an entry twice or is out of git's
 * order is refused here as the runtime refuses it, and an entry found is
 * the one the runtime reads (libgit2 bisects, and on such a tree may find
 * another one, or none).
 */
static int entry_at(struct store *s, const char *id, const char *path,
                    git_oid *out, git_object_t *type)
{
    git_oid oid;
    git_commit *c = NULL;
    git_odb *odb = NULL;
    if (git_oid_fromstr(&oid, id) < 0 ||
        git_commit_lookup(&c, s->repo, &oid) < 0) {
        git_commit_free(c);
        return fail(s, id);
    }
    git_oid_cpy(out, git_commit_tree_id(c));
    git_commit_free(c);
    *type = GIT_OBJECT_TREE;
    if (git_repository_odb(&odb, s->repo) < 0)
        return fail(s, "opening the object database");
    int rc = STORE_OK;
    for (const char *name = path; rc == STORE_OK;) {
        size_t n = strcspn(name, "/");
        git_odb_object *o = NULL;
        unsigned char at[RT_GIT_ID];
        char mode[8];
        int found = RT_GIT_TREE_ABSENT;
        if (*type != GIT_OBJECT_TREE) {
            /* a file where a folder would be */
        } else if (git_odb_read(&o, odb, out) < 0) {
            rc = fail(s, path);
            break;
        } else if (git_odb_object_type(o) != GIT_OBJECT_TREE) {
            snprintf(s->error, sizeof(s->error),
                     "commit %.12s: a tree of %s is not a tree", id, path);
            rc = STORE_ERROR;
        } else if (n) {
            found =
                rt_git_tree_entry(git_odb_object_data(o),
                                  git_odb_object_size(o), name, n, at, mode);
        }
        git_odb_object_free(o);
        if (rc != STORE_OK)
            break;
        if (found == RT_GIT_TREE_TWICE) {
            snprintf(s->error, sizeof(s->error),
                     "commit %.12s: a tree of %s names %.*s twice (git fsck: "
                     "duplicateEntries): which one counts is not defined",
                     id, path, (int)n, name);
            rc = STORE_ERROR;
        } else if (found == RT_GIT_TREE_UNSORTED) {
            snprintf(s->error, sizeof(s->error),
                     "commit %.12s: a tree of %s has entries out of git's "
                     "order or one name twice (git fsck: treeNotSorted, "
                     "duplicateEntries)",
                     id, path);
            rc = STORE_ERROR;
        } else if (found < 0) {
            snprintf(s->error, sizeof(s->error),
                     "commit %.12s: a tree of %s is damaged", id, path);
            rc = STORE_ERROR;
        } else if (found == RT_GIT_TREE_ABSENT) {
            snprintf(s->error, sizeof(s->error), "commit %.12s has no %s", id,
                     path);
            rc = STORE_NOTFOUND;
        } else {
            git_oid_fromraw(out, at);
            *type = mode_type(mode);
            if (!name[n])
                break;
            name += n + 1;
        }
    }
    git_odb_free(odb);
    return rc;
}

int store_read(struct store *s, const char *id, const char *path,
               unsigned char **data, size_t *len)
{
    git_oid entry;
    git_object_t type;
    *data = NULL;
    *len = 0;
    int rc = entry_at(s, id, path, &entry, &type);
    if (rc == STORE_OK) {
        char blob[41];
        git_oid_tostr(blob, 41, &entry);
        rc = store_read_blob(s, blob, data, len);
    }
    return rc;
}

/* Who makes commits and moves refs, as git decides it: the committer from
 * GIT_COMMITTER_NAME/_EMAIL, the author from GIT_AUTHOR_NAME/_EMAIL, each
 * else the repository's user.name/user.email, else $EMAIL for the email,
 * else struere. Times: SOURCE_DATE_EPOCH when set (reproducible commits,
 * for both), else GIT_COMMITTER_DATE/GIT_AUTHOR_DATE, else now. */
enum role { COMMITTER, AUTHOR };

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The name and email of role (pointers into def, the environment or
 * static strings); def is the repository's default signature or NULL. */
static void ident_of(enum role r, const git_signature *def, const char **name,
                     const char **email)
{
    const char *n =
        env_nonempty(r == AUTHOR ? "GIT_AUTHOR_NAME" : "GIT_COMMITTER_NAME");
    const char *e =
        env_nonempty(r == AUTHOR ? "GIT_AUTHOR_EMAIL" : "GIT_COMMITTER_EMAIL");
    *name = n ? n : def ? def->name : "struere";
    *email = e                                     ? e
             : def                                 ? def->email
             : getenv("EMAIL") && *getenv("EMAIL") ? getenv("EMAIL")
                                                   : "struere@localhost";
}

/* Reflog entries (libgit2 writes them when a ref moves) name the
 * committer: tell libgit2 who that is when the environment says so, or
 * when the configuration names no one (libgit2 would write "unknown
 * <unknown>" where the commits and promotion statements say struere's
 * fallback). */
static void set_reflog_ident(struct store *s)
{
    git_signature *def = NULL;
    if (git_signature_default(&def, s->repo) < 0)
        def = NULL;
    if (def && !env_nonempty("GIT_COMMITTER_NAME") &&
        !env_nonempty("GIT_COMMITTER_EMAIL")) {
        git_signature_free(def);
        return; /* libgit2 uses the configuration, as git does */
    }
    const char *name, *email;
    ident_of(COMMITTER, def, &name, &email);
    git_repository_set_ident(s->repo, name, email);
    git_signature_free(def);
}

/* Reads a git date: "@SECONDS [+-HHMM]", "SECONDS +-HHMM" (git's own
 * form) or ISO 8601 "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+-HH[:]MM]".
 * Returns 0, or -1 when s is none of these. */
static int parse_git_date(const char *s, long long *t, int *offset_min)
{
    char *end;
    const char *p = s[0] == '@' ? s + 1 : s;
    *offset_min = 0;
    if (*p >= '0' && *p <= '9') {
        long long v = strtoll(p, &end, 10);
        if (end != p && (*end == '\0' || *end == ' ')) {
            while (*end == ' ')
                end++;
            if (*end == '\0' && (s[0] == '@' || v > 99999999)) {
                *t = v;
                return 0;
            }
            int sign = *end == '-' ? -1 : *end == '+' ? 1 : 0;
            if (sign && strlen(end + 1) == 4 &&
                strspn(end + 1, "0123456789") == 4) {
                int hhmm = atoi(end + 1);
                *t = v;
                *offset_min = sign * (hhmm / 100 * 60 + hhmm % 100);
                return 0;
            }
        }
    }
    struct tm tm = {0};
    int n = 0;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
               &n) != 7 ||
        (sep != 'T' && sep != ' '))
        return -1;
    const char *z = s + n;
    if (*z == '.')
        for (z++; *z >= '0' && *z <= '9';)
            z++;
    int off = 0;
    if (*z == 'Z') {
        z++;
    } else if (*z == '+' || *z == '-') {
        int sign = *z == '-' ? -1 : 1, hh, mm;
        if (sscanf(z + 1, "%2d:%2d", &hh, &mm) == 2 && strlen(z + 1) == 5)
            z += 6;
        else if (sscanf(z + 1, "%2d%2d", &hh, &mm) == 2 && strlen(z + 1) == 4)
            z += 5;
        else
            return -1;
        off = sign * (hh * 60 + mm);
    }
    if (*z)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *t = (long long)timegm(&tm) - (long long)off * 60;
    *offset_min = off;
    return 0;
}

static int make_signature_for(struct store *s, enum role r, git_signature **out)
{
    git_signature *taken = r == AUTHOR ? s->author : s->signature;
    if (taken)
        return git_signature_dup(out, taken) < 0
                   ? fail(s, "making the commit signature")
                   : STORE_OK;
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    const char *date_var =
        r == AUTHOR ? "GIT_AUTHOR_DATE" : "GIT_COMMITTER_DATE";
    const char *gdate = env_nonempty(date_var);
    git_signature *def = NULL;
    if (git_signature_default(&def, s->repo) < 0)
        def = NULL;
    const char *name, *email;
    ident_of(r, def, &name, &email);
    int rc;
    if (sde && *sde) {
        char *end;
        long long t = strtoll(sde, &end, 10);
        if (*end || t < 0) {
            git_signature_free(def);
            snprintf(s->error, sizeof(s->error),
                     "SOURCE_DATE_EPOCH must be a number of seconds, not "
                     "'%s'",
                     sde);
            return STORE_ERROR;
        }
        rc = git_signature_new(out, name, email, (git_time_t)t, 0);
    } else if (gdate) {
        long long t;
        int off;
        if (parse_git_date(gdate, &t, &off) < 0) {
            git_signature_free(def);
            snprintf(s->error, sizeof(s->error),
                     "%s: cannot read the date '%.200s' (write @SECONDS "
                     "+HHMM or YYYY-MM-DDTHH:MM:SS+HH:MM)",
                     date_var, gdate);
            return STORE_ERROR;
        }
        rc = git_signature_new(out, name, email, (git_time_t)t, off);
    } else {
        rc = git_signature_now(out, name, email);
    }
    git_signature_free(def);
    return rc < 0 ? fail(s, "making the commit signature") : STORE_OK;
}

/* The committer's signature (commits and reflog entries). */
static int make_signature(struct store *s, git_signature **out)
{
    return make_signature_for(s, COMMITTER, out);
}

int store_take_signature(struct store *s)
{
    git_signature *sig = NULL, *author = NULL;
    int rc = make_signature(s, &sig);
    if (rc == STORE_OK)
        rc = make_signature_for(s, AUTHOR, &author);
    if (rc == STORE_OK) {
        git_signature_free(s->signature);
        git_signature_free(s->author);
        s->signature = sig;
        s->author = author;
    } else {
        git_signature_free(sig);
    }
    return rc;
}

/* Bare repositories keep no reflogs by default (git's
 * core.logAllRefUpdates), but log and rollback read production's history
 * from its reflog: record the update there ourselves. */
static void append_reflog(struct store *s, const char *ref, const git_oid *id,
                          const char *msg)
{
    git_reflog *log = NULL;
    git_signature *sig = NULL;
    if (make_signature(s, &sig) == STORE_OK &&
        git_reflog_read(&log, s->repo, ref) == 0 &&
        git_reflog_append(log, id, sig, msg) == 0)
        git_reflog_write(log);
    git_reflog_free(log);
    git_signature_free(sig);
}

static int update_ref(struct store *s, const char *ref, const git_oid *id,
                      const char *expected, const char *msg)
{
    git_reference *r = NULL;
    int rc;
    /* Keep a reflog even where git would not (bare repositories): log
     * and rollback read the history of production from it. */
    /* No expected id: the ref must not exist. The zero id says so under
     * the ref's lock; git_reference_create without force looks before
     * it takes the lock, so two runs creating the ref at once could both
     * succeed, the second overwriting the first. */
    git_oid old;
    memset(&old, 0, sizeof(old));
    if (expected && *expected && git_oid_fromstr(&old, expected) < 0)
        return fail(s, "expected id");
    /* A lock held by a command running now is released within moments:
     * wait for it (up to about 2 s) and then compare-and-swap; a lock
     * that outlives that was left by a killed command. */
    for (int attempt = 0;; attempt++) {
        rc = git_reference_create_matching(&r, s->repo, ref, id, 1, &old, msg);
        git_reference_free(r);
        r = NULL;
        if (rc != GIT_ELOCKED || attempt >= 200)
            break;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (rc == 0 && git_repository_is_bare(s->repo))
        append_reflog(s, ref, id, msg);
    if (rc == GIT_ELOCKED) {
        snprintf(s->error, sizeof(s->error),
                 "%s is locked by %s%s.lock: another struere or git "
                 "command is updating it, or one was killed; if none is "
                 "running, delete that lock file. %s was left unchanged",
                 ref, git_repository_path(s->repo), ref, ref);
        return STORE_MOVED;
    }
    if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
        snprintf(s->error, sizeof(s->error),
                 "%s moved while this command ran (another command won the "
                 "race); it was left unchanged: run the command again",
                 ref);
        return STORE_MOVED;
    }
    return rc < 0 ? fail(s, ref) : STORE_OK;
}

/* The git id of a blob: the SHA-1 of "blob <length>\0" and its bytes,
 * computed by OpenSSL's libcrypto (the CPU's SHA extensions) instead of
 * libgit2's collision-detecting SHA-1 (sha1dc), which is four to five
 * times slower: 75-100 ms for the 35 MB of a 10,000-definition project's
 * bundles against 20 (measured side by side, bench/RESULTS.md). Only for
 * a blob about to be written (store_write_blob: a bundle, or a branch's
 * sources list): when the object is new, it is stored under the id of
 * its own bytes, colliding or not; what the trust records and signatures
 * bind is a bundle's SHA-256 (DESIGN.md §9). When an object of that id
 * is already there, nothing is written and the caller confirms the id
 * with the collision-detecting SHA-1 unless the store's record already
 * binds it to these bytes, and two blobs written in one run under one id
 * must be the same bytes (dev.c). Every other id that decides whether
 * two blobs are the same (store_hash_blob, file_blob) is libgit2's.
 * libgit2 computes it when libcrypto cannot. */
static int fast_blob_oid(git_oid *id, const void *data, size_t len)
{
    const struct rt_crypto *c = rt_crypto();
    char head[40];
    int n = snprintf(head, sizeof(head), "blob %zu", len);
    EVP_MD_CTX *ctx = c && c->sha1 ? c->ctx_new() : NULL;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int got = 0;
    bool ok = ctx && c->init(ctx, c->sha1, NULL) == 1 &&
              c->update(ctx, head, (size_t)n + 1) == 1 &&
              (len == 0 || c->update(ctx, data, len) == 1) &&
              c->final(ctx, out, &got) == 1 && got == GIT_OID_RAWSZ;
    if (ctx)
        c->ctx_free(ctx);
    if (!ok)
        return git_odb_hash(id, data, len, GIT_OBJECT_BLOB);
    return git_oid_fromraw(id, out);
}

bool store_fast_blob_id(const void *data, size_t len, char id[41])
{
    git_oid oid;
    const struct rt_crypto *c = rt_crypto();
    if (fast_blob_oid(&oid, data, len) < 0) {
        id[0] = '\0';
        return false;
    }
    git_oid_tostr(id, 41, &oid);
    return c && c->sha1;
}

/* The id of a file's blob, writing the blob when it is given as data
 * and not already the same as `existing`. */
static int file_blob(struct store *s, const struct store_file *f,
                     const char *existing, git_oid *id, bool *same)
{
    *same = false;
    if (!f->data) {
        if (git_oid_fromstr(id, f->id) < 0)
            return fail(s, f->path);
    } else if (git_odb_hash(id, f->data, f->len, GIT_OBJECT_BLOB) < 0) {
        return fail(s, f->path);
    }
    if (existing) {
        git_oid old;
        if (git_oid_fromstr(&old, existing) == 0 && git_oid_equal(&old, id)) {
            *same = true;
            return STORE_OK;
        }
    }
    if (f->data &&
        git_blob_create_from_buffer(id, s->repo, f->data, f->len) < 0)
        return fail(s, f->path);
    return STORE_OK;
}

/* Blobs read and written from a pool: worker 0 is the calling thread
 * and uses the store's repository; the others open their own (a libgit2
 * repository is used by one thread at a time). */
static git_repository *worker_repo(struct store *s, unsigned w,
                                   git_repository **own)
{
    *own = NULL;
    if (w == 0)
        return s->repo;
    if (git_repository_open(own, git_repository_path(s->repo)) < 0 ||
        pin_objects(*own) < 0) {
        git_repository_free(*own);
        *own = NULL;
        return NULL;
    }
    return *own;
}

struct blob_job {
    struct store *s;
    const char *const *ids;
    store_blob_fn fn;
    void *ctx;
    char (*errors)[300]; /* per item, "" when done */
};

static void blob_error(struct blob_job *j, size_t i, const char *what)
{
    const git_error *e = git_error_last();
    snprintf(j->errors[i], sizeof(j->errors[i]), "%.100s: %.190s", what,
             e && e->message ? e->message : "unknown error");
}

/* Writes the loose object of id, whose bytes z are made, into its
 * place as libgit2 does (a temporary in objects/xx/, fsynced, linked to
 * its name; the directory fsynced), with objects/xx/ pinned (above).
 * Returns 0, or an errno value with the path it concerns in path. */
static int write_loose(struct pinned_odb *p, const git_oid *id, const void *z,
                       size_t zlen, char *path, size_t size)
{
    char hex[GIT_OID_HEXSZ + 1], tmp[4400];
    git_oid_tostr(hex, sizeof(hex), id);
    pin_dir(p, id);
    snprintf(path, size, "%s%.2s", p->dir, hex);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return errno;
    /* A temporary of that name may be left by a killed run (same pid in
     * a container): another name. objects/xx/ removed meanwhile (by git
     * gc, when it could not be pinned): made again. */
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(tmp, sizeof(tmp), "%s%.2s/tmp_obj_struere_z_%ld_%u", p->dir,
                 hex, (long)getpid(), atomic_fetch_add(&pin_serial, 1));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0 && errno == ENOENT)
            mkdir(path, 0777);
        else if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        snprintf(path, size, "%s", tmp);
        return e;
    }
    errno = 0;
    int e = write_all(fd, z, zlen) == zlen && fsync(fd) == 0 ? 0
            : errno                                          ? errno
                                                             : EIO;
    if (close(fd) != 0 && !e)
        e = errno;
    /* An object of that name is the same object: keep it. Where there are
     * no hard links, renamed (as libgit2 and git do). */
    snprintf(path, size, "%s%.2s/%s", p->dir, hex, hex + 2);
    if (!e && link(tmp, path) != 0 && errno != EEXIST && rename(tmp, path) != 0)
        e = errno;
    unlink(tmp);
    if (e)
        return e;
    snprintf(path, size, "%s%.2s", p->dir, hex);
    int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    e = d >= 0 && fsync(d) == 0 ? 0 : errno;
    if (d >= 0)
        close(d);
    return e;
}

/* What git_odb_write does for an object that exists: its file's time is
 * made now, so that git gc does not prune it as long unreferenced while
 * the commit that references it is being made. Best effort. */
static void freshen(git_odb *odb, const git_oid *id)
{
    for (size_t i = 0; i < git_odb_num_backends(odb); i++) {
        git_odb_backend *be;
        if (git_odb_get_backend(&be, odb, i) == 0 && be->freshen &&
            be->freshen(be, id) == 0)
            return;
    }
}

static struct pinned_odb *pinned_backend(git_odb *odb)
{
    for (size_t i = 0; i < git_odb_num_backends(odb); i++) {
        git_odb_backend *be;
        if (git_odb_get_backend(&be, odb, i) == 0 && be->write == pinned_write)
            return (struct pinned_odb *)be;
    }
    return NULL;
}

int store_write_blob(struct store *s, unsigned w, const void *data, size_t len,
                     const struct loose_segments *prev,
                     const struct loose_known *known, struct loose_stream *out,
                     char id[41], bool *existed, char *err, size_t errsize)
{
    git_repository *own, *repo = worker_repo(s, w, &own);
    git_odb *odb = NULL;
    struct pinned_odb *p;
    git_oid oid;
    int rc = STORE_ERROR;
    char why[4500] = "";
    *existed = false;
    if (!repo || git_repository_odb(&odb, repo) < 0 ||
        fast_blob_oid(&oid, data, len) < 0)
        goto done;
    /* The stream is made even for an object already there (a bundle that
     * did not change, an earlier content come back): its segments are
     * the next run's. */
    if (!(p = pinned_backend(odb)) ||
        loose_deflate_blob(prev, known, data, len, out) < 0) {
        if (git_odb_write(&oid, odb, data, len, GIT_OBJECT_BLOB) == 0)
            rc = STORE_OK;
        goto done;
    }
    if (git_odb_exists(odb, &oid)) {
        freshen(odb, &oid);
        *existed = true;
        rc = STORE_OK;
        goto done;
    }
    char path[4400];
    int fail = write_loose(p, &oid, out->z.p, out->z.len, path, sizeof(path));
    if (fail == 0)
        rc = STORE_OK;
    else
        snprintf(why, sizeof(why), "%s: %s", path, strerror(fail));
done:
    if (rc == STORE_OK) {
        git_oid_tostr(id, 41, &oid);
        err[0] = '\0';
    } else {
        const git_error *e = git_error_last();
        snprintf(err, errsize, "%s",
                 why[0]            ? why
                 : e && e->message ? e->message
                                   : "unknown error");
    }
    git_odb_free(odb);
    git_repository_free(own);
    return rc;
}

/* Reads blob id from repo's object backends directly (highest priority
 * first, as git_odb_read does), without the odb's re-hashing of the
 * object: that check is libgit2's process-wide strict hash verification,
 * which other threads' reads and writes rely on, so it is skipped per call
 * here instead of switched off. 0 with *data (free with
 * git_odb_backend_data_free(*from, *data)), or a negative libgit2 code. */
static int read_blob_raw(git_repository *repo, const git_oid *id, void **data,
                         size_t *len, git_odb_backend **from)
{
    git_odb *odb = NULL;
    int rc = git_repository_odb(&odb, repo);
    if (rc < 0)
        return rc;
    for (int pass = 0; pass < 2; pass++) {
        /* A pack written since the repository was opened: look again. */
        if (pass == 1 && (rc = git_odb_refresh(odb)) < 0)
            break;
        rc = GIT_ENOTFOUND;
        size_t n = git_odb_num_backends(odb);
        for (size_t b = 0; b < n && rc == GIT_ENOTFOUND; b++) {
            git_odb_backend *be;
            git_object_t type;
            if (git_odb_get_backend(&be, odb, b) < 0 || !be->read)
                continue;
            rc = be->read(data, len, &type, be, id);
            if (rc == GIT_PASSTHROUGH) /* as git_odb_read: the next one */
                rc = GIT_ENOTFOUND;
            if (rc == 0 && type != GIT_OBJECT_BLOB) {
                git_odb_backend_data_free(be, *data);
                git_error_set_str(GIT_ERROR_ODB, "the object is not a blob");
                rc = GIT_EINVALID;
            } else if (rc == 0) {
                *from = be;
            }
        }
        if (rc != GIT_ENOTFOUND)
            break;
    }
    if (rc == GIT_ENOTFOUND)
        git_error_set_str(GIT_ERROR_ODB, "object not found");
    git_odb_free(odb);
    return rc;
}

static void read_blob_one(void *ctx, size_t i, unsigned w)
{
    struct blob_job *j = ctx;
    git_repository *own, *repo = worker_repo(j->s, w, &own);
    git_oid oid;
    git_odb_backend *from = NULL;
    void *data = NULL;
    size_t len = 0;
    if (!repo || git_oid_fromstr(&oid, j->ids[i]) < 0 ||
        read_blob_raw(repo, &oid, &data, &len, &from) < 0) {
        blob_error(j, i, j->ids[i]);
    } else {
        j->fn(j->ctx, i, data, len);
        git_odb_backend_data_free(from, data);
    }
    git_repository_free(own);
}

/* Runs fn over n items on one thread per item (up to the cores); the
 * first failure becomes the store's error. */
static int run_blob_job(struct blob_job *j, size_t n, pool_fn fn)
{
    j->errors = calloc(n + 1, sizeof(*j->errors));
    if (!j->errors) {
        snprintf(j->s->error, sizeof(j->s->error), "out of memory");
        return STORE_ERROR;
    }
    pool_run(pool_threads_large(n), n, fn, j);
    int rc = STORE_OK;
    for (size_t i = 0; i < n && rc == STORE_OK; i++)
        if (j->errors[i][0]) {
            snprintf(j->s->error, sizeof(j->s->error), "%s", j->errors[i]);
            rc = STORE_ERROR;
        }
    free(j->errors);
    return rc;
}

int store_read_blobs_trusted(struct store *s, const char *const *ids, size_t n,
                             store_blob_fn fn, void *ctx)
{
    struct blob_job job = {.s = s, .ids = ids, .fn = fn, .ctx = ctx};
    return run_blob_job(&job, n, read_blob_one);
}

static int cmp_file_path(const void *a, const void *b)
{
    return strcmp(((const struct store_file *)a)->path,
                  ((const struct store_file *)b)->path);
}

/* The new tree from scratch (no parent). */
static int build_tree(struct store *s, const struct store_file *files, size_t n,
                      git_oid *tree_id)
{
    git_index *index = NULL;
    int rc = STORE_OK;
    if (git_index_new(&index) < 0)
        return fail(s, "creating an index");
    for (size_t i = 0; i < n && rc == STORE_OK; i++) {
        git_index_entry e;
        bool same;
        memset(&e, 0, sizeof(e));
        e.path = files[i].path;
        e.mode = GIT_FILEMODE_BLOB;
        e.file_size = (uint32_t)files[i].len;
        rc = file_blob(s, &files[i], NULL, &e.id, &same);
        if (rc == STORE_OK && git_index_add(index, &e) < 0)
            rc = fail(s, files[i].path);
    }
    if (rc == STORE_OK && git_index_write_tree_to(tree_id, index, s->repo) < 0)
        rc = fail(s, "writing the tree");
    git_index_free(index);
    return rc;
}

/* The parent's tree with only what differs updated. */
static int update_tree(struct store *s, git_commit *parent,
                       const struct store_blob *known, size_t nknown,
                       const struct store_file *files, size_t n,
                       git_oid *tree_id)
{
    char pid[41];
    git_oid_tostr(pid, 41, git_commit_id(parent));
    struct store_blob *owned = NULL;
    const struct store_blob *old = known;
    size_t nold = nknown;
    git_tree *base = NULL;
    git_tree_update *up = NULL;
    struct store_file *sorted = NULL;
    int rc = STORE_OK;
    if (!known) {
        rc = store_tree_blobs(s, pid, "", &owned, &nold);
        old = owned;
    }
    if (rc != STORE_OK)
        goto cleanup;
    up = calloc(n + nold + 1, sizeof(*up));
    sorted = malloc((n + 1) * sizeof(*sorted));
    if (!up || !sorted) {
        snprintf(s->error, sizeof(s->error), "out of memory");
        rc = STORE_ERROR;
        goto cleanup;
    }
    memcpy(sorted, files, n * sizeof(*sorted));
    bool in_order = true; /* callers usually give them sorted */
    for (size_t i = 1; i < n && in_order; i++)
        in_order = cmp_file_path(&sorted[i - 1], &sorted[i]) < 0;
    if (!in_order)
        qsort(sorted, n, sizeof(*sorted), cmp_file_path);
    size_t nup = 0, i = 0, j = 0;
    while (rc == STORE_OK && (i < n || j < nold)) {
        int cmp = i >= n      ? 1
                  : j >= nold ? -1
                              : strcmp(sorted[i].path, old[j].path);
        if (cmp > 0) { /* gone */
            up[nup].action = GIT_TREE_UPDATE_REMOVE;
            up[nup++].path = old[j++].path;
            continue;
        }
        bool same;
        git_oid id;
        rc = file_blob(s, &sorted[i], cmp == 0 ? old[j].id : NULL, &id, &same);
        if (rc == STORE_OK && !same) {
            up[nup].action = GIT_TREE_UPDATE_UPSERT;
            up[nup].id = id;
            up[nup].filemode = GIT_FILEMODE_BLOB;
            up[nup++].path = sorted[i].path;
        }
        i++;
        if (cmp == 0)
            j++;
    }
    if (rc != STORE_OK)
        goto cleanup;
    if (git_commit_tree(&base, parent) < 0) {
        rc = fail(s, "reading the parent tree");
        goto cleanup;
    }
    if (nup == 0) {
        git_oid_cpy(tree_id, git_tree_id(base));
    } else if (git_tree_create_updated(tree_id, s->repo, base, nup, up) < 0) {
        rc = fail(s, "updating the tree");
    }
cleanup:
    git_tree_free(base);
    free(up);
    free(sorted);
    free(owned);
    return rc;
}

int store_commit_objects(struct store *s, const char *expected_parent,
                         const struct store_blob *parent_blobs, size_t nparent,
                         const struct store_file *files, size_t n,
                         const char *message, char new_id[41], bool *changed)
{
    git_tree *tree = NULL;
    git_commit *parent = NULL;
    git_signature *sig = NULL, *author = NULL;
    git_oid tree_id, commit_id, parent_id;
    int rc = STORE_ERROR;
    *changed = false;
    new_id[0] = '\0';
    bool has_parent = expected_parent && *expected_parent;
    if (has_parent) {
        if (git_oid_fromstr(&parent_id, expected_parent) < 0 ||
            git_commit_lookup(&parent, s->repo, &parent_id) < 0) {
            rc = fail(s, "reading the parent commit");
            goto cleanup;
        }
        rc = update_tree(s, parent, parent_blobs, nparent, files, n, &tree_id);
    } else {
        rc = build_tree(s, files, n, &tree_id);
    }
    if (rc != STORE_OK)
        goto cleanup;
    if (has_parent && git_oid_equal(git_commit_tree_id(parent), &tree_id)) {
        git_oid_tostr(new_id, 41, &parent_id);
        rc = STORE_OK; /* nothing changed: no commit */
        goto cleanup;
    }
    if (git_tree_lookup(&tree, s->repo, &tree_id) < 0) {
        rc = fail(s, "reading the tree");
        goto cleanup;
    }
    if ((rc = make_signature(s, &sig)) != STORE_OK ||
        (rc = make_signature_for(s, AUTHOR, &author)) != STORE_OK)
        goto cleanup;
    const git_commit *parents[1] = {parent};
    if (git_commit_create(&commit_id, s->repo, NULL, author, sig, "UTF-8",
                          message, tree, has_parent ? 1 : 0, parents) < 0) {
        rc = fail(s, "creating the commit");
        goto cleanup;
    }
    git_oid_tostr(new_id, 41, &commit_id);
    *changed = true;
    rc = STORE_OK;
cleanup:
    git_signature_free(sig);
    git_signature_free(author);
    git_commit_free(parent);
    git_tree_free(tree);
    return rc;
}

int store_commit_move(struct store *s, const char *ref,
                      const char *expected_parent, const char *new_id,
                      const char *message)
{
    char reflog[200];
    snprintf(reflog, sizeof(reflog), "%.190s", message);
    reflog[strcspn(reflog, "\n")] = '\0';
    return store_move_ref(s, ref, new_id, expected_parent, reflog);
}

int store_commit(struct store *s, const char *ref, const char *expected_parent,
                 const struct store_file *files, size_t n, const char *message,
                 char new_id[41], bool *committed)
{
    bool changed;
    int rc = store_commit_objects(s, expected_parent, NULL, 0, files, n,
                                  message, new_id, &changed);
    *committed = false;
    if (rc != STORE_OK || !changed)
        return rc;
    rc = store_commit_move(s, ref, expected_parent, new_id, message);
    if (rc != STORE_OK)
        new_id[0] = '\0';
    *committed = rc == STORE_OK;
    return rc;
}

int store_move_ref(struct store *s, const char *ref, const char *new_id,
                   const char *expected, const char *reflog_message)
{
    git_oid id;
    if (git_oid_fromstr(&id, new_id) < 0)
        return fail(s, new_id);
    return update_ref(s, ref, &id, expected, reflog_message);
}

static void copy_signature(char *buf, size_t size, const git_signature *sig)
{
    if (sig)
        snprintf(buf, size, "%s <%s>", sig->name, sig->email);
    else
        snprintf(buf, size, "?");
}

int store_reflog(struct store *s, const char *ref,
                 struct store_reflog_entry **out, size_t *n)
{
    git_reflog *log = NULL;
    *out = NULL;
    *n = 0;
    if (git_reflog_read(&log, s->repo, ref) < 0)
        return fail(s, ref);
    size_t count = git_reflog_entrycount(log);
    struct store_reflog_entry *e = calloc(count + 1, sizeof(*e));
    if (!e) {
        git_reflog_free(log);
        snprintf(s->error, sizeof(s->error), "out of memory");
        return STORE_ERROR;
    }
    for (size_t i = 0; i < count; i++) { /* index 0 is the newest */
        const git_reflog_entry *r = git_reflog_entry_byindex(log, i);
        git_oid_tostr(e[i].old_id, 41, git_reflog_entry_id_old(r));
        git_oid_tostr(e[i].new_id, 41, git_reflog_entry_id_new(r));
        const git_signature *sig = git_reflog_entry_committer(r);
        copy_signature(e[i].who, sizeof(e[i].who), sig);
        e[i].time = sig ? (int64_t)sig->when.time : 0;
        e[i].offset = sig ? sig->when.offset : 0;
        const char *m = git_reflog_entry_message(r);
        snprintf(e[i].message, sizeof(e[i].message), "%s", m ? m : "");
    }
    git_reflog_free(log);
    *out = e;
    *n = count;
    return STORE_OK;
}

int store_log(struct store *s, const char *ref, size_t max,
              struct store_commit_info **out, size_t *n)
{
    git_revwalk *walk = NULL;
    git_oid oid;
    *out = NULL;
    *n = 0;
    if (git_revwalk_new(&walk, s->repo) < 0)
        return fail(s, "walking history");
    git_revwalk_sorting(walk, GIT_SORT_TIME | GIT_SORT_TOPOLOGICAL);
    if (git_revwalk_push_ref(walk, ref) < 0) {
        git_revwalk_free(walk);
        snprintf(s->error, sizeof(s->error), "%s does not exist yet", ref);
        return STORE_NOTFOUND;
    }
    size_t cap = 64, count = 0;
    struct store_commit_info *info = calloc(cap, sizeof(*info));
    while (info && count < max && git_revwalk_next(&oid, walk) == 0) {
        git_commit *c = NULL;
        if (git_commit_lookup(&c, s->repo, &oid) < 0)
            break;
        if (count == cap) {
            struct store_commit_info *bigger =
                realloc(info, 2 * cap * sizeof(*info));
            if (!bigger) {
                git_commit_free(c);
                break;
            }
            info = bigger;
            cap *= 2;
        }
        struct store_commit_info *ci = &info[count++];
        memset(ci, 0, sizeof(*ci));
        git_oid_tostr(ci->id, 41, &oid);
        ci->time = (int64_t)git_commit_time(c);
        ci->offset = git_commit_time_offset(c);
        copy_signature(ci->author, sizeof(ci->author), git_commit_author(c));
        ci->message =
            strdup(git_commit_message(c) ? git_commit_message(c) : "");
        git_commit_free(c);
    }
    git_revwalk_free(walk);
    if (!info) {
        snprintf(s->error, sizeof(s->error), "out of memory");
        return STORE_ERROR;
    }
    *out = info;
    *n = count;
    return STORE_OK;
}

int store_on_branch(struct store *s, const char *id, const char *ref, bool *yes)
{
    git_oid a, head;
    *yes = false;
    if (git_oid_fromstr(&a, id) < 0)
        return fail(s, id);
    if (git_reference_name_to_id(&head, s->repo, ref) < 0)
        return STORE_NOTFOUND;
    if (git_oid_equal(&a, &head)) {
        *yes = true;
        return STORE_OK;
    }
    int rc = git_graph_descendant_of(s->repo, &head, &a);
    if (rc < 0)
        return fail(s, "comparing history");
    *yes = rc == 1;
    return STORE_OK;
}

int store_first_parent(struct store *s, const char *id, char parent[41])
{
    git_oid oid;
    git_commit *c;
    parent[0] = '\0';
    if (git_oid_fromstr(&oid, id) < 0 ||
        git_commit_lookup(&c, s->repo, &oid) < 0)
        return fail(s, id);
    const git_oid *p =
        git_commit_parentcount(c) ? git_commit_parent_id(c, 0) : NULL;
    if (p)
        git_oid_tostr(parent, 41, p);
    git_commit_free(c);
    return STORE_OK;
}

static int lookup_remote(struct store *s, const char *name, git_remote **out)
{
    if (git_remote_lookup(out, s->repo, name) == 0)
        return STORE_OK;
    if (git_remote_create_anonymous(out, s->repo, name) == 0)
        return STORE_OK;
    char what[600];
    snprintf(what, sizeof(what), "remote '%s'", name);
    return fail(s, what);
}

int store_push(struct store *s, const char *remote, const char *const *refs,
               size_t n)
{
    git_remote *r = NULL;
    int rc = lookup_remote(s, remote, &r);
    if (rc != STORE_OK)
        return rc;
    char **specs = calloc(n + 1, sizeof(*specs));
    if (!specs) {
        git_remote_free(r);
        return STORE_ERROR;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        git_oid tmp;
        if (git_reference_name_to_id(&tmp, s->repo, refs[i]) < 0)
            continue; /* not created yet: nothing to push */
        size_t len = 2 * strlen(refs[i]) + 3;
        specs[k] = malloc(len);
        if (specs[k])
            snprintf(specs[k++], len, "+%s:%s", refs[i], refs[i]);
    }
    git_strarray arr = {specs, k};
    git_push_options opts;
    git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
    char what[600];
    snprintf(what, sizeof(what), "push to %s", remote);
    rc = git_remote_push(r, &arr, &opts) < 0 ? fail(s, what) : STORE_OK;
    for (size_t i = 0; i < k; i++)
        free(specs[i]);
    free(specs);
    git_remote_free(r);
    return rc;
}

int store_fetch(struct store *s, const char *remote)
{
    git_remote *r = NULL;
    int rc = lookup_remote(s, remote, &r);
    if (rc != STORE_OK)
        return rc;
    char spec1[] = "+refs/heads/struere/*:refs/heads/struere/*";
    /* keys, and the trust policy and promotion statements a runtime host
     * needs to open a signed environment */
    char spec2[] = "+refs/struere/*:refs/struere/*";
    char *specs[] = {spec1, spec2};
    git_strarray arr = {specs, 2};
    git_fetch_options opts;
    git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
    char what[600];
    snprintf(what, sizeof(what), "fetch from %s", remote);
    rc = git_remote_fetch(r, &arr, &opts, "struere fetch") < 0 ? fail(s, what)
                                                               : STORE_OK;
    git_remote_free(r);
    return rc;
}

struct walk_ctx {
    const char *prefix;
    struct walked {
        size_t path; /* offset in paths */
        git_oid id;
    } * items;
    size_t n, cap;
    char *paths; /* NUL-separated */
    size_t used, room;
    int failed;
};

static int walk_cb(const char *root, const git_tree_entry *entry, void *p)
{
    struct walk_ctx *w = p;
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
        return 0;
    const char *name = git_tree_entry_name(entry);
    size_t rl = strlen(root), nl = strlen(name), pl = strlen(w->prefix);
    /* root + name starts with prefix */
    if (pl && (rl + nl < pl || strncmp(root, w->prefix, rl < pl ? rl : pl) ||
               (rl < pl && strncmp(name, w->prefix + rl, pl - rl))))
        return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        struct walked *bigger = realloc(w->items, cap * sizeof(*bigger));
        if (!bigger) {
            w->failed = 1;
            return -1;
        }
        w->items = bigger;
        w->cap = cap;
    }
    if (w->used + rl + nl + 1 > w->room) {
        size_t room = w->room ? 2 * w->room : 1 << 16;
        while (room < w->used + rl + nl + 1)
            room *= 2;
        char *bigger = realloc(w->paths, room);
        if (!bigger) {
            w->failed = 1;
            return -1;
        }
        w->paths = bigger;
        w->room = room;
    }
    w->items[w->n].path = w->used;
    memcpy(w->paths + w->used, root, rl);
    memcpy(w->paths + w->used + rl, name, nl + 1);
    w->used += rl + nl + 1;
    git_oid_cpy(&w->items[w->n].id, git_tree_entry_id(entry));
    w->n++;
    return 0;
}

static int cmp_blob(const void *a, const void *b)
{
    return strcmp(((const struct store_blob *)a)->path,
                  ((const struct store_blob *)b)->path);
}

int store_tree_blobs(struct store *s, const char *id, const char *prefix,
                     struct store_blob **out, size_t *n)
{
    git_tree *t = NULL;
    struct walk_ctx w = {.prefix = prefix};
    *out = NULL;
    *n = 0;
    int rc = tree_of(s, id, &t);
    if (rc != STORE_OK)
        return rc;
    if (git_tree_walk(t, GIT_TREEWALK_PRE, walk_cb, &w) < 0 || w.failed)
        rc = fail(s, "listing the tree");
    git_tree_free(t);
    /* One block the caller frees: the entries, then their paths. */
    struct store_blob *list = NULL;
    if (rc == STORE_OK &&
        !(list = malloc((w.n + 1) * sizeof(*list) + w.used + 1))) {
        snprintf(s->error, sizeof(s->error), "out of memory");
        rc = STORE_ERROR;
    }
    if (rc == STORE_OK) {
        char *paths = (char *)(list + w.n + 1);
        if (w.used)
            memcpy(paths, w.paths, w.used);
        bool in_order = true;
        for (size_t i = 0; i < w.n; i++) {
            list[i].path = paths + w.items[i].path;
            git_oid_tostr(list[i].id, 41, &w.items[i].id);
            if (i && in_order)
                in_order = strcmp(list[i - 1].path, list[i].path) < 0;
        }
        /* git's pre-order walk is in path order already (a tree sorts a
         * directory as its name + '/'); sorting is the fallback. */
        if (!in_order)
            qsort(list, w.n, sizeof(*list), cmp_blob);
        *out = list;
        *n = w.n;
    }
    free(w.items);
    free(w.paths);
    return rc;
}

void store_hash_blob(const void *data, size_t len, char id[41])
{
    git_oid oid;
    if (git_odb_hash(&oid, data, len, GIT_OBJECT_BLOB) < 0) {
        id[0] = '\0';
        return;
    }
    git_oid_tostr(id, 41, &oid);
}

struct changes_ctx {
    struct store_change *items;
    size_t n, cap;
    int failed;
};

static void add_change(struct changes_ctx *c, const char *path,
                       const git_oid *old, const git_oid *new_id)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct store_change *bigger = realloc(c->items, cap * sizeof(*bigger));
        if (!bigger) {
            c->failed = 1;
            return;
        }
        c->items = bigger;
        c->cap = cap;
    }
    struct store_change *ch = &c->items[c->n++];
    snprintf(ch->path, sizeof(ch->path), "%s", path);
    ch->old_id[0] = ch->new_id[0] = '\0';
    if (old)
        git_oid_tostr(ch->old_id, 41, old);
    if (new_id)
        git_oid_tostr(ch->new_id, 41, new_id);
}

static int compare_trees(struct store *s, const git_oid *a, const git_oid *b,
                         const char *path, struct changes_ctx *c, int depth);

/* Records one entry that differs: blobs directly, trees by comparing
 * their contents (a side may be absent: NULL). */
static int compare_entry(struct store *s, const git_tree_entry *x,
                         const git_tree_entry *y, const char *dir,
                         struct changes_ctx *c, int depth)
{
    const git_tree_entry *e = x ? x : y;
    char path[512];
    snprintf(path, sizeof(path), "%s%s", dir, git_tree_entry_name(e));
    bool tx = x && git_tree_entry_type(x) == GIT_OBJECT_TREE;
    bool ty = y && git_tree_entry_type(y) == GIT_OBJECT_TREE;
    if (tx || ty) {
        strncat(path, "/", sizeof(path) - strlen(path) - 1);
        return compare_trees(s, tx ? git_tree_entry_id(x) : NULL,
                             ty ? git_tree_entry_id(y) : NULL, path, c,
                             depth + 1);
    }
    add_change(c, path, x ? git_tree_entry_id(x) : NULL,
               y ? git_tree_entry_id(y) : NULL);
    return STORE_OK;
}

/* Walks two trees' sorted entries side by side; identical ids (blobs or
 * whole subtrees) are skipped without being read, so the cost follows
 * the change, not the size of the trees. */
static int compare_trees(struct store *s, const git_oid *a, const git_oid *b,
                         const char *path, struct changes_ctx *c, int depth)
{
    git_tree *ta = NULL, *tb = NULL;
    int rc = STORE_OK;
    if (depth > 32)
        return STORE_OK;
    if ((a && git_tree_lookup(&ta, s->repo, a) < 0) ||
        (b && git_tree_lookup(&tb, s->repo, b) < 0)) {
        rc = fail(s, path);
        goto cleanup;
    }
    size_t na = ta ? git_tree_entrycount(ta) : 0;
    size_t nb = tb ? git_tree_entrycount(tb) : 0;
    size_t i = 0, j = 0;
    while (rc == STORE_OK && !c->failed && (i < na || j < nb)) {
        const git_tree_entry *x = i < na ? git_tree_entry_byindex(ta, i) : NULL;
        const git_tree_entry *y = j < nb ? git_tree_entry_byindex(tb, j) : NULL;
        int cmp = !x ? 1 : !y ? -1 : git_tree_entry_cmp(x, y);
        if (cmp < 0) {
            rc = compare_entry(s, x, NULL, path, c, depth);
            i++;
        } else if (cmp > 0) {
            rc = compare_entry(s, NULL, y, path, c, depth);
            j++;
        } else {
            if (!git_oid_equal(git_tree_entry_id(x), git_tree_entry_id(y)))
                rc = compare_entry(s, x, y, path, c, depth);
            i++;
            j++;
        }
    }
cleanup:
    git_tree_free(ta);
    git_tree_free(tb);
    return rc;
}

/* The id of the tree at dir ("a/b/") in commit id, NULL when absent. */
static int subtree(struct store *s, const char *id, const char *dir,
                   git_oid *out, bool *found)
{
    git_tree *t = NULL;
    git_tree_entry *e = NULL;
    *found = false;
    if (!id || !*id)
        return STORE_OK;
    int rc = tree_of(s, id, &t);
    if (rc != STORE_OK)
        return rc;
    char path[512];
    snprintf(path, sizeof(path), "%s", dir);
    size_t len = strlen(path);
    if (len && path[len - 1] == '/')
        path[len - 1] = '\0';
    if (!path[0]) {
        git_oid_cpy(out, git_tree_id(t));
        *found = true;
    } else if (git_tree_entry_bypath(&e, t, path) == 0 &&
               git_tree_entry_type(e) == GIT_OBJECT_TREE) {
        git_oid_cpy(out, git_tree_entry_id(e));
        *found = true;
    }
    git_tree_entry_free(e);
    git_tree_free(t);
    return STORE_OK;
}

int store_changes(struct store *s, const char *a, const char *b,
                  const char *prefix, struct store_change **out, size_t *n)
{
    struct changes_ctx c = {0};
    git_oid ta, tb;
    bool fa, fb;
    *out = NULL;
    *n = 0;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", prefix);
    int rc = subtree(s, a, dir, &ta, &fa);
    if (rc == STORE_OK)
        rc = subtree(s, b, dir, &tb, &fb);
    if (rc == STORE_OK && (fa || fb) && !(fa && fb && git_oid_equal(&ta, &tb)))
        rc = compare_trees(s, fa ? &ta : NULL, fb ? &tb : NULL, dir, &c, 0);
    if (rc == STORE_OK && c.failed) {
        snprintf(s->error, sizeof(s->error), "out of memory");
        rc = STORE_ERROR;
    }
    if (rc != STORE_OK) {
        free(c.items);
        return rc;
    }
    *out = c.items;
    *n = c.n;
    return STORE_OK;
}

int store_read_blob(struct store *s, const char *id, unsigned char **data,
                    size_t *len)
{
    git_oid oid;
    git_blob *blob = NULL;
    *data = NULL;
    *len = 0;
    if (git_oid_fromstr(&oid, id) < 0 ||
        git_blob_lookup(&blob, s->repo, &oid) < 0)
        return fail(s, id);
    size_t n = (size_t)git_blob_rawsize(blob);
    unsigned char *buf = malloc(n + 1);
    if (!buf) {
        git_blob_free(blob);
        snprintf(s->error, sizeof(s->error), "out of memory");
        return STORE_ERROR;
    }
    memcpy(buf, git_blob_rawcontent(blob), n);
    buf[n] = '\0';
    git_blob_free(blob);
    *data = buf;
    *len = n;
    return STORE_OK;
}

void store_log_free(struct store_commit_info *log, size_t n)
{
    for (size_t i = 0; log && i < n; i++)
        free(log[i].message);
    free(log);
}

int store_read_head(struct store *s, const char *id, const char *path,
                    unsigned char *buf, size_t max, size_t *got,
                    uint64_t *total)
{
    git_oid entry;
    git_object_t type;
    git_odb *odb = NULL;
    git_odb_stream *stream = NULL;
    *got = 0;
    *total = 0;
    int rc = entry_at(s, id, path, &entry, &type);
    if (rc != STORE_OK)
        goto cleanup;
    if (git_repository_odb(&odb, s->repo) < 0) {
        rc = fail(s, "opening the object database");
        goto cleanup;
    }
    size_t len;
    if (git_odb_open_rstream(&stream, &len, &type, odb, &entry) == 0) {
        while (*got < max) {
            int r = stream->read(stream, (char *)buf + *got, max - *got);
            if (r < 0) {
                rc = fail(s, path);
                goto cleanup;
            }
            if (r == 0)
                break;
            *got += (size_t)r;
        }
        *total = len;
        rc = STORE_OK;
        goto cleanup;
    }
    /* Packed objects cannot be streamed: read the blob whole. */
    unsigned char *data;
    size_t n;
    char blob[41];
    git_oid_tostr(blob, 41, &entry);
    if ((rc = store_read_blob(s, blob, &data, &n)) != STORE_OK)
        goto cleanup;
    *got = n < max ? n : max;
    memcpy(buf, data, *got);
    *total = n;
    free(data);
cleanup:
    if (stream)
        git_odb_stream_free(stream);
    git_odb_free(odb);
    return rc;
}

int store_identity(struct store *s, char *buf, size_t size, int64_t *when)
{
    git_signature *sig = NULL;
    int rc = make_signature(s, &sig);
    if (rc != STORE_OK)
        return rc;
    copy_signature(buf, size, sig);
    if (when)
        *when = (int64_t)sig->when.time;
    git_signature_free(sig);
    return STORE_OK;
}

int store_delete_ref(struct store *s, const char *ref, const char *expected)
{
    git_reference *r = NULL;
    int rc = git_reference_lookup(&r, s->repo, ref);
    if (rc == GIT_ENOTFOUND)
        return STORE_NOTFOUND;
    if (rc < 0)
        return fail(s, ref);
    char id[GIT_OID_HEXSZ + 1];
    const git_oid *target = git_reference_target(r);
    git_oid_tostr(id, sizeof(id), target);
    if (!target || strcmp(id, expected)) {
        git_reference_free(r);
        snprintf(s->error, sizeof(s->error), "%s moved", ref);
        return STORE_MOVED;
    }
    rc = git_reference_delete(r);
    git_reference_free(r);
    return rc < 0 ? fail(s, ref) : STORE_OK;
}

/* The id of path in commit id when it is an object of type want. */
static int entry_id(struct store *s, const char *id, const char *path,
                    git_object_t want, char out[41])
{
    git_oid e;
    git_object_t type;
    int rc = entry_at(s, id, path, &e, &type);
    if (rc != STORE_OK)
        return rc;
    if (type != want) {
        snprintf(s->error, sizeof(s->error), "%.12s:%s is not a %s", id, path,
                 want == GIT_OBJECT_BLOB ? "file" : "directory");
        rc = STORE_NOTFOUND;
    } else {
        git_oid_tostr(out, 41, &e);
    }
    return rc;
}

int store_blob_id(struct store *s, const char *id, const char *path,
                  char blob[41])
{
    return entry_id(s, id, path, GIT_OBJECT_BLOB, blob);
}

int store_tree_id(struct store *s, const char *id, const char *path,
                  char tree[41])
{
    return entry_id(s, id, path, GIT_OBJECT_TREE, tree);
}
