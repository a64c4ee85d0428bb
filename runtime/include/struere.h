/*
 * struere.h - the whole public API of libstruere, the struere runtime.
 *
 * The runtime loads a compiled bundle (runtime/BUNDLE.md), verifies every
 * byte of it, and answers lookups from the loaded bytes. Nothing here
 * prints, exits or keeps global error state.
 */
#ifndef STRUERE_H
#define STRUERE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Return codes. Every function that can fail returns STRUERE_OK (0) or one
 * of these negative codes.
 */
#define STRUERE_OK 0
#define STRUERE_ENOMEM (-1)     /* out of memory */
#define STRUERE_EIO (-2)        /* a file could not be read */
#define STRUERE_EFORMAT (-3)    /* not a bundle (bad magic) */
#define STRUERE_EVERSION (-4)   /* a format major version not known */
#define STRUERE_ETRUNCATED (-5) /* length differs from the header's size */
#define STRUERE_ECHECKSUM (-6)  /* a CRC-32 does not match */
#define STRUERE_EENV (-7)       /* invalid or unexpected environment */
#define STRUERE_ECORRUPT (-8)   /* bad structure: offsets, padding, ... */
#define STRUERE_ENOTFOUND (-9)  /* no such entry */
#define STRUERE_EINVAL (-10)    /* invalid argument */

/*
 * A short, static description of a return code ("checksum mismatch").
 * Never returns NULL; unknown codes give "unknown error".
 */
const char *struere_strerror(int code);

/*
 * The details of a failure, filled by the functions that take one (the
 * pointer may be NULL when the caller does not want them). `message` is a
 * complete, NUL-terminated sentence naming what is wrong and where;
 * `offset` is the offset in the bundle of the offending byte or field (0
 * when the failure is not about a place in the bundle). On success the
 * struct is left with code 0 and an empty message.
 */
typedef struct struere_error {
    int code;
    uint64_t offset;
    char message[200];
} struere_error;

/* Environments, as stored in a bundle's header. */
#define STRUERE_ENV_DEVELOPMENT 1
#define STRUERE_ENV_PRODUCTION 2
#define STRUERE_ENV_EVAL 3

/* "development", "production", "eval"; NULL for any other value. */
const char *struere_env_name(int env);

/* Definition kinds. Automations exist only in development and production
 * bundles; eval suites and fixtures only in eval bundles. */
#define STRUERE_KIND_AGENT 0
#define STRUERE_KIND_DATA 1
#define STRUERE_KIND_ROLE 2
#define STRUERE_KIND_TOOL 3
#define STRUERE_KIND_AUTOMATION 4
#define STRUERE_KIND_EVAL 5
#define STRUERE_KIND_FIXTURE 6
#define STRUERE_KIND_COUNT 7

/* "agent", "data", "role", "tool", "automation", "eval", "fixture";
 * NULL for any other value. */
const char *struere_kind_name(int kind);

/* A loaded, verified bundle. Opaque; freed with struere_bundle_free. */
typedef struct struere_bundle struere_bundle;

/*
 * Checks `len` bytes at `bytes` against every rule of BUNDLE.md, in the
 * order it gives, without allocating. `expected_env` is one of the
 * STRUERE_ENV_* values, or 0 to accept any environment.
 *
 * Returns 0 when the bundle is valid; otherwise the code of the first
 * problem found, with the details in `*err` when `err` is not NULL.
 * STRUERE_EINVAL when `bytes` is NULL (and `len` is not 0) or
 * `expected_env` is not 0 or a valid environment.
 */
int struere_bundle_verify(const void *bytes, size_t len, int expected_env,
                          struere_error *err);

/*
 * Checks only what the first bytes of a bundle allow: magic, version,
 * environment, the header's size against `total` (the bundle's length),
 * and the header and section-table CRC. `prefix` holds the first `avail`
 * bytes (at least 64 + 24 * section count, or the whole bundle). For
 * tools that must not read a whole bundle (a deploy); a runtime opening a
 * bundle verifies all of it. Returns 0 or the code of the problem, with
 * details in `*err`; STRUERE_EINVAL when `avail` is too short.
 */
int struere_bundle_verify_header(const void *prefix, size_t avail,
                                 uint64_t total, int expected_env,
                                 struere_error *err);

/*
 * Verifies the bundle at `bytes` (as struere_bundle_verify) and, when it
 * is valid, opens a private copy of it: the caller may free `bytes`
 * afterwards. On success `*out` is a new handle the caller owns and must
 * give to struere_bundle_free. On failure `*out` is NULL, nothing stays
 * allocated, and the return value and `*err` say why.
 */
int struere_bundle_open_memory(struere_bundle **out, const void *bytes,
                               size_t len, int expected_env,
                               struere_error *err);

/*
 * As struere_bundle_open_memory, reading the bundle from the file at
 * `path`. STRUERE_EIO (with the system's reason in `*err`) when the file
 * cannot be opened or read.
 */
int struere_bundle_open_file(struere_bundle **out, const char *path,
                             int expected_env, struere_error *err);

/* Frees a bundle and everything borrowed from it. NULL is a no-op. */
void struere_bundle_free(struere_bundle *b);

/* What a bundle's header and META section say. */
typedef struct struere_bundle_info {
    unsigned major, minor;           /* format version */
    int environment;                 /* a STRUERE_ENV_* value */
    uint64_t size;                   /* the bundle's length in bytes */
    unsigned char source_digest[32]; /* SHA-256 of the sources */
    const char *project_name;
    const char *project_version; /* "" when absent */
    const char *organization_id; /* "" when absent */
    const char *organization_name;
    const char *compiler_version;
    size_t counts[STRUERE_KIND_COUNT]; /* entries per STRUERE_KIND_* */
} struere_bundle_info;

/*
 * Fills `*out` with the bundle's header and META details. The strings are
 * borrowed from the bundle, NUL-terminated, and valid until it is freed.
 * Returns 0, or STRUERE_EINVAL when `b` or `out` is NULL.
 */
int struere_bundle_get_info(const struere_bundle *b, struere_bundle_info *out);

/*
 * The number of entries of `kind` in the bundle: 0 when the kind is absent
 * from the bundle's environment, is not a valid kind, or `b` is NULL.
 */
size_t struere_bundle_count(const struere_bundle *b, int kind);

/*
 * The `index`th entry of `kind`, in slug order. Each of `slug`, `body`
 * and `body_len` may be NULL when not wanted; the strings are borrowed,
 * NUL-terminated, and valid until the bundle is freed. `body` is the
 * definition as canonical JSON.
 *
 * Returns 0; STRUERE_ENOTFOUND when `index` is past the end or the kind is
 * absent from the bundle's environment; STRUERE_EINVAL when `b` is NULL
 * or `kind` is not a STRUERE_KIND_* value.
 */
int struere_bundle_entry(const struere_bundle *b, int kind, size_t index,
                         const char **slug, const char **body,
                         size_t *body_len);

/*
 * Finds the entry of `kind` whose slug is `slug` (a binary search over
 * the loaded bytes; nothing is allocated). `body` and `body_len` may be
 * NULL; the body is borrowed as in struere_bundle_entry.
 *
 * Returns 0; STRUERE_ENOTFOUND when there is no such entry or the kind is
 * absent from the bundle's environment; STRUERE_EINVAL when `b` or `slug`
 * is NULL or `kind` is not a STRUERE_KIND_* value.
 */
int struere_bundle_lookup(const struere_bundle *b, int kind, const char *slug,
                          const char **body, size_t *body_len);

/*
 * The bundle's bytes, borrowed until the bundle is freed; their length is
 * stored in `*len` when `len` is not NULL. NULL when `b` is NULL.
 */
const void *struere_bundle_bytes(const struere_bundle *b, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
