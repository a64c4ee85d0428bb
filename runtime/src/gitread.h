/*
 * gitread.h - a git store read without libgit2: what opening by key
 * needs, and no more. Refs (loose and packed, symbolic ones followed),
 * objects (loose, and in pack files with their deltas), a commit's tree
 * and a path in it. Every object read is hashed and must have the id it
 * was asked by (sha1.h).
 *
 * The runtime reads stores only (the compiler writes them with libgit2),
 * so a program that opens by key maps neither libgit2 nor the TLS, SSH
 * and Kerberos libraries it brings, nor parses the system's CA
 * certificates as libgit2's initialisation does. In `struere serve`
 * (which forgoes libcrypto too) that is 7.4-7.7 MiB less resident at
 * 10,000 definitions (bench/RESULTS.md, serve run 5; DESIGN §11).
 *
 * An rt_git is used by one thread at a time. Pack files are mapped from
 * the first object not found loose until rt_git_close: open, read and
 * close, rather than keep a store open (a repack or gc between two reads
 * is seen by the next open).
 */
#ifndef STRUERE_GITREAD_H
#define STRUERE_GITREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "struere.h"

#define RT_GIT_ID 20

enum rt_git_type {
    RT_GIT_COMMIT = 1,
    RT_GIT_TREE = 2,
    RT_GIT_BLOB = 3,
    RT_GIT_TAG = 4,
};

struct rt_git;

/*
 * Opens the store at `path`: a work tree (with a .git directory, or a
 * .git file naming one), or a git directory itself; never a repository
 * around `path`. STRUERE_ESTORE ("store PATH is not a git repository:
 * ...") when it is none of these; STRUERE_ENOMEM.
 */
int rt_git_open(struct rt_git **out, const char *path, struere_error *err);
/* As rt_git_open at `path`, else at each directory above it in turn, as
 * git finds the repository a command runs in: not across file systems
 * (unless GIT_DISCOVERY_ACROSS_FILESYSTEM), not into a directory of
 * GIT_CEILING_DIRECTORIES, and, unless `any_owner`, only a repository of
 * the user running (git's safe.directory rule: another user's .git in a
 * folder above is refused). STRUERE_ESTORE when there is none. */
int rt_git_discover(struct rt_git **out, const char *path, bool any_owner,
                    struere_error *err);
void rt_git_close(struct rt_git *g);

/* The git directory, absolute, ending with '/' (as libgit2 gives it). */
const char *rt_git_dir(const struct rt_git *g);
/* The store as its user knows it: the work tree, else the git directory;
 * absolute, no '/' at the end. */
const char *rt_git_name(const struct rt_git *g);

/*
 * The commit id the ref `name` ("refs/...") holds, following symbolic
 * refs. STRUERE_ENOTFOUND when there is no such ref; STRUERE_ESTORE when
 * it cannot be read or holds no id (the reason in *err).
 */
int rt_git_ref(struct rt_git *g, const char *name, unsigned char id[RT_GIT_ID],
               struere_error *err);

/* An object's bytes, malloc'd (a NUL after them), for the caller to
 * free. */
struct rt_git_object {
    unsigned char *data;
    size_t len;
    int type; /* enum rt_git_type */
};

/*
 * Reads the object `id`, which must be of `type`, and at most `limit`
 * bytes long: STRUERE_ERANGE (its size in out->len, nothing read) when it
 * is longer; STRUERE_ENOTFOUND when the store has no such object;
 * STRUERE_ESTORE when it is damaged, of another type, or its bytes do
 * not hash to `id`; STRUERE_ENOMEM.
 */
int rt_git_read(struct rt_git *g, const unsigned char id[RT_GIT_ID], int type,
                size_t limit, struct rt_git_object *out, struere_error *err);

/*
 * The entry `path` ("a/b/c") of the tree of commit `commit`: its id, and
 * whether it is a regular file (*file 1) or something else (a tree, a
 * symbolic link, a submodule: *file 0). STRUERE_ENOTFOUND when the tree
 * has no such path; STRUERE_ESTORE when the commit or a tree on the way
 * cannot be read, or a tree on the way is one rt_git_tree_entry refuses
 * (the reason in *err).
 */
int rt_git_commit_path(struct rt_git *g, const unsigned char commit[RT_GIT_ID],
                       const char *path, unsigned char id[RT_GIT_ID], int *file,
                       struere_error *err);

/* What rt_git_tree_entry finds. */
enum rt_git_tree_found {
    RT_GIT_TREE_FOUND = 1,
    RT_GIT_TREE_ABSENT = 0,
    RT_GIT_TREE_DAMAGED = -1,  /* not a tree's entries */
    RT_GIT_TREE_UNSORTED = -2, /* entries out of git's order, or one twice */
    RT_GIT_TREE_TWICE = -3,    /* the name looked up is there twice */
};

/*
 * The entry `name` (`n` bytes) of a tree, from its `len` bytes as git
 * stores them (each entry "MODE NAME", a NUL, a 20-byte id): its id and
 * its mode (up to 7 octal digits, NUL-ended). Every entry is read, and a
 * tree that two readers could read differently is read by neither: one
 * whose entries are not in git's strict order, which also puts one name
 * twice side by side (git fsck: treeNotSorted, duplicateEntries), or
 * that names `name` twice anywhere (a file and a folder of one name need
 * not be neighbours). libgit2 looks a name up by bisection and this by
 * scanning; the compiler's store (store.c) looks up paths with this
 * function too, so that `struere` and the runtime read the same entry.
 */
int rt_git_tree_entry(const unsigned char *data, size_t len, const char *name,
                      size_t n, unsigned char id[RT_GIT_ID], char mode[8]);

/* `id` as 40 lowercase hex digits and a NUL; 40 of them back to 20
 * bytes (0, or -1 when not 40 lowercase hex digits). */
void rt_git_id_hex(const unsigned char id[RT_GIT_ID], char hex[41]);
int rt_git_id_parse(const char *hex, unsigned char id[RT_GIT_ID]);

#endif
