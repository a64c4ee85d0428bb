/*
 * rt_state.h - what a runtime remembers of the stores it accepted
 * (runtime/TRUST.md §6), so that a ref moved back to an older signed
 * state is refused: the highest promotion sequence per environment, the
 * trust policy in force (its version and digest: a policy removed, moved
 * back or replaced is refused) and the keys seen revoked (a revocation
 * stays, whatever keys.json says later). Kept in memory for the life of a
 * runtime (and of `struere serve`), and in a state file across runs.
 */
#ifndef STRUERE_RT_STATE_H
#define STRUERE_RT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "struere.h"

/* A state file holds one record per line; 16 MiB is room for some 200,000
 * revoked keys, and keeps a damaged file from exhausting memory. */
#define RT_STATE_LIMIT ((size_t)16 << 20)

struct rt_state {
    uint64_t sequence[4];           /* highest promotion, by STRUERE_ENV_* */
    unsigned trust_version;         /* 0: no trust policy accepted */
    unsigned char trust_digest[32]; /* SHA-256 of its payload */
    unsigned char (*revoked)[32];   /* SHA-256 of revoked keys, sorted */
    size_t nrevoked, cap;
};

/* Frees what `s` holds and zeroes it. */
void rt_state_clear(struct rt_state *s);

/* Adds what `src` remembers to `dst` (highest sequences, the later trust
 * policy, every revocation): 0, or STRUERE_ENOMEM. */
int rt_state_merge(struct rt_state *dst, const struct rt_state *src);

/* Remembers that the key whose SHA-256 is `digest` was revoked: 1 when it
 * was new, 0 when known, STRUERE_ENOMEM. */
int rt_state_revoke(struct rt_state *s, const unsigned char digest[32]);

/* Many at once: rt_state_add appends (0, or STRUERE_ENOMEM), leaving
 * the list unsorted, and rt_state_sort sorts it and drops repeats; no
 * other call may see `s` in between. */
int rt_state_add(struct rt_state *s, const unsigned char digest[32]);
void rt_state_sort(struct rt_state *s);

/* 1 when the key whose SHA-256 is `digest` was seen revoked. */
int rt_state_revoked(const struct rt_state *s, const unsigned char digest[32]);

/* Remembers the trust policy `version` (payload digest `digest`) as in
 * force, unless a later version already is. */
void rt_state_trust(struct rt_state *s, unsigned version,
                    const unsigned char digest[32]);

/* Whether `s` remembers anything `file` does not. */
int rt_state_adds(const struct rt_state *file, const struct rt_state *s);

/*
 * Adds what the state file `path` records to `s`. A missing file records
 * nothing. Anything else than the lines rt_state_save writes (a damaged
 * or foreign file) is STRUERE_ESTORE with the file and line; a path that
 * is not a regular file (a FIFO, a directory, a symbolic link) or cannot
 * be read, STRUERE_EIO.
 */
int rt_state_load(const char *path, struct rt_state *s, struere_error *err);

/*
 * Adds what `s` remembers to the state file `path`, under a lock (the file
 * `path`.lock, waited for at most 10 s) so that runs sharing the file lose
 * nothing of each other's: the file is read again, merged, and replaced
 * whole (written beside it, synced and renamed, with the old file's mode)
 * when that adds anything. STRUERE_EIO when it would grow beyond
 * RT_STATE_LIMIT (the file is left as it was).
 */
int rt_state_save(const char *path, const struct rt_state *s,
                  struere_error *err);

/*
 * Reads the regular file `path` whole (at most `limit` bytes) into a new
 * NUL-terminated buffer: 0, STRUERE_ENOTFOUND when it does not exist,
 * STRUERE_EIO (not a regular file - never blocking on a FIFO -, too
 * large, unreadable), STRUERE_ENOMEM.
 */
int rt_file_read(const char *path, size_t limit, char **out, size_t *len,
                 struere_error *err);

/*
 * struere_runtime_open_env and struere_keyring_open that also refuse what
 * `memory` remembers was accepted before, and add to it what they accept
 * (`struere serve`, which opens each environment and the keyring anew on
 * every move of a ref, remembers across them). `memory` NULL: none. Not
 * for concurrent use of one `memory`.
 */
int rt_runtime_open_env(struere_runtime **out, int env,
                        const struere_open_options *options,
                        struct rt_state *memory, struere_error *err);
int rt_keyring_open(struere_keyring **out, const struere_open_options *options,
                    struct rt_state *memory, struere_error *err);

#endif
