/*
 * store.h - the git store (DESIGN.md §4): the only compiler module that
 * calls libgit2 (gitlib.h: opened by the first store opened). Commits whole
 * trees to the environment branches, moves refs with compare-and-swap, reads
 * blobs back, walks history and reflogs, pushes and fetches. Object ids are
 * passed as 40-char hex.
 */
#ifndef STRUERE_STORE_H
#define STRUERE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_DEVELOPMENT "refs/heads/struere/development"
#define STORE_PRODUCTION "refs/heads/struere/production"
#define STORE_EVAL "refs/heads/struere/eval"
#define STORE_KEYS "refs/struere/keys"

enum store_status {
    STORE_OK = 0,
    STORE_ERROR = -1,    /* message in store_error() */
    STORE_MOVED = -2,    /* compare-and-swap lost: the ref moved */
    STORE_NOTFOUND = -3, /* ref, revision or path absent */
};

struct store;

struct store_file {
    const char *path; /* in the tree, e.g. "bundles/eval.stb" */
    const void *data; /* NULL: the blob already exists as `id` */
    size_t len;
    const char *id; /* with data NULL: the existing blob's id */
};

struct store_reflog_entry {
    char old_id[41], new_id[41];
    int64_t time; /* seconds since the epoch */
    int offset;   /* minutes from UTC */
    char who[200];
    char message[300];
};

struct store_commit_info {
    char id[41];
    int64_t time;
    int offset;
    char author[200];
    char *message; /* malloc'd: free with store_log_free */
};

/* Whether libgit2 can be opened (gitlib.h), for a command that would
 * write something before it first opens a store; false with why in err. */
bool store_available(char *err, size_t errsize);
/* Ensures dir is inside a git repository, running `git init` on dir when
 * it is not. *created tells which. Returns 0, or -1 with a message. */
int store_ensure_repository(const char *dir, bool *created, char *err,
                            size_t errsize);
/* Ensures dir itself is a git repository (its work tree or git
 * directory), never one found above it: `git init` on dir when it is not.
 * Returns 0, or -1 with a message. */
int store_ensure_repository_at(const char *dir, bool *created, char *err,
                               size_t errsize);

/* Opens the repository enclosing path. Returns STORE_OK, or STORE_ERROR
 * with the reason in err. */
int store_open(struct store **out, const char *path, char *err, size_t errsize);
void store_close(struct store *s);
/* The message of the last failure on s. */
const char *store_error(const struct store *s);
/* The repository's working directory (or git dir when bare). */
const char *store_path(const struct store *s);
/* The repository's git directory ("/repo/.git/"; the repository itself
 * when bare): where struere keeps its caches. */
const char *store_git_dir(const struct store *s);

/* The commit id a ref points at: STORE_OK, or STORE_NOTFOUND. */
int store_ref_id(struct store *s, const char *ref, char id[41]);
/* A revision (ref, branch, id, id prefix, "production"...) to a commit. */
int store_resolve(struct store *s, const char *rev, char id[41]);
/* The bytes of path in commit id (malloc'd; free()). */
int store_read(struct store *s, const char *id, const char *path,
               unsigned char **data, size_t *len);
/* Commits files as the complete tree of ref, on top of the commit the ref
 * points at (expected_parent, "" when the ref must not exist yet). With a
 * parent, only the entries that differ from its tree are written (the
 * tree is updated, not rebuilt), so a small change costs little. When
 * the tree equals the parent's, nothing is written and *committed is
 * false. The ref moves with compare-and-swap: STORE_MOVED if it is no
 * longer expected_parent. Commit time from SOURCE_DATE_EPOCH when set. */
int store_commit(struct store *s, const char *ref, const char *expected_parent,
                 const struct store_file *files, size_t n, const char *message,
                 char new_id[41], bool *committed);
struct store_blob;
/* Writes a blob that is written again and again with small changes (a
 * bundle, a branch's sources list), its id to id, from worker w of a pool
 * (pool.h): worker 0 is the calling thread and uses s's repository, the others
 * open their own. Its loose object is made by loose_deflate_blob into out
 * (zeroed by the caller; free with loose_stream_free), reusing the segments of
 * prev (may be NULL) and the SHA-256 of pieces in known (may be NULL), and
 * written into place by hand, as libgit2 writes one; an object already there is
 * freshened (its stream is made all the same: its segments are the next run's).
 * The id is store_fast_blob_id's: when *existed says the object was already
 * there, nothing was written and the caller must confirm that the object holds
 * these bytes (a record of them, or store_hash_blob's collision-detecting id)
 * before it commits the id. STORE_ERROR with the reason in err. */
struct loose_segments;
struct loose_known;
struct loose_stream;
int store_write_blob(struct store *s, unsigned w, const void *data, size_t len,
                     const struct loose_segments *prev,
                     const struct loose_known *known, struct loose_stream *out,
                     char id[41], bool *existed, char *err, size_t errsize);
/* Reads blobs ids[0..n) in parallel and hands each to fn (on the thread
 * that read it; the bytes are valid during the call only), without
 * libgit2's re-hashing of each object: for contents that carry their own
 * checksums, which fn verifies (bundles). */
typedef void (*store_blob_fn)(void *ctx, size_t i, const void *data,
                              size_t len);
int store_read_blobs_trusted(struct store *s, const char *const *ids, size_t n,
                             store_blob_fn fn, void *ctx);
/* Takes the signature of the commits s makes from now on (who, and when:
 * now or SOURCE_DATE_EPOCH), so that commits made later on other threads
 * do not read the clock and time zone at the same time. */
int store_take_signature(struct store *s);
/* store_commit in two steps, for callers that build several commits at
 * once and move their refs in an order of their own: the objects (tree
 * and commit; *changed false and new_id = the parent when the tree is the
 * parent's; parent_blobs, when given, is the parent's complete blob list
 * from store_tree_blobs, which the caller already read), then the ref,
 * with compare-and-swap and the message's first line in the reflog. */
int store_commit_objects(struct store *s, const char *expected_parent,
                         const struct store_blob *parent_blobs, size_t nparent,
                         const struct store_file *files, size_t n,
                         const char *message, char new_id[41], bool *changed);
int store_commit_move(struct store *s, const char *ref,
                      const char *expected_parent, const char *new_id,
                      const char *message);
/* Moves ref to new_id if it still points at expected ("" : must not
 * exist), recording reflog_message. STORE_MOVED when it moved. */
int store_move_ref(struct store *s, const char *ref, const char *new_id,
                   const char *expected, const char *reflog_message);
/* The reflog of ref, newest first (malloc'd array; free()). */
int store_reflog(struct store *s, const char *ref,
                 struct store_reflog_entry **out, size_t *n);
/* The commits of ref, newest first, at most max; free with
 * store_log_free. */
int store_log(struct store *s, const char *ref, size_t max,
              struct store_commit_info **out, size_t *n);
void store_log_free(struct store_commit_info *log, size_t n);
/* Commit id's first parent in `parent` ("" for a root commit). */
int store_first_parent(struct store *s, const char *id, char parent[41]);
/* Whether commit id is ref's commit or one of its ancestors. */
int store_on_branch(struct store *s, const char *id, const char *ref,
                    bool *yes);
struct store_blob {
    const char *path; /* inside the list's own block */
    char id[41];
};

/* Every blob under prefix ("review/") in commit id, sorted by path: one
 * malloc'd block holding the entries and their paths (free() it). A
 * missing prefix gives an empty list. */
int store_tree_blobs(struct store *s, const char *id, const char *prefix,
                     struct store_blob **out, size_t *n);
struct store_change {
    char path[512];
    char old_id[41], new_id[41]; /* "" when added / removed */
};

/* The blobs under prefix that differ between commits a and b (a may be
 * ""), by comparing their trees: unchanged subtrees are skipped, so the
 * cost follows the size of the change, not of the trees. Sorted by path
 * (malloc'd; free()). */
int store_changes(struct store *s, const char *a, const char *b,
                  const char *prefix, struct store_change **out, size_t *n);
/* The first bytes of path in commit id, without reading the whole blob
 * when git can stream it: up to max bytes into buf (*got), and the blob's
 * whole size (*total). */
int store_read_head(struct store *s, const char *id, const char *path,
                    unsigned char *buf, size_t max, size_t *got,
                    uint64_t *total);
/* The bytes of blob id (malloc'd; free()). */
int store_read_blob(struct store *s, const char *id, unsigned char **data,
                    size_t *len);
/* The git blob id data would have, by libgit2's collision-detecting
 * SHA-1: "" when it finds the bytes crafted to collide (or fails). The
 * id to decide by whether two blobs are the same. */
void store_hash_blob(const void *data, size_t len, char id[41]);
/* The same id by OpenSSL's SHA-1, four to five times faster, without the
 * detection (store.c says where it is used). false when it could not use
 * libcrypto (the id, if any, is then libgit2's); "" on failure. */
bool store_fast_blob_id(const void *data, size_t len, char id[41]);
/* Pushes refs (full names) to a remote name or URL. */
int store_push(struct store *s, const char *remote, const char *const *refs,
               size_t n);
/* The blob id of path in commit id, without listing the tree:
 * STORE_NOTFOUND when there is no such file. */
int store_blob_id(struct store *s, const char *id, const char *path,
                  char blob[41]);
/* The same for a directory: the tree id of path in commit id. */
int store_tree_id(struct store *s, const char *id, const char *path,
                  char tree[41]);
/* Deletes ref if it still points at expected (40 hex). STORE_MOVED when
 * it moved, STORE_NOTFOUND when it is gone. */
int store_delete_ref(struct store *s, const char *ref, const char *expected);
/* Who commits through s, as "Name <email>" (the GIT_COMMITTER_* and
 * GIT_AUTHOR_* variables, else the configuration), and when (now, or
 * SOURCE_DATE_EPOCH): for promotion statements. */
int store_identity(struct store *s, char *buf, size_t size, int64_t *when);
/* Fetches the environment and key refs of a remote name or URL. */
int store_fetch(struct store *s, const char *remote);

#endif
