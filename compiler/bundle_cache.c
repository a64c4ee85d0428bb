/*
 * bundle_cache.c - the last committed bundles as pieces (bundle_cache.h).
 *
 * An index, <git dir>/struere/bundles/<blob id>.idx:
 *   "STRBIDX3" | the compiler's build (32: the SHA-256 of
 *   cache_file_compiler_id's text) | blob id (40 hex digits) | the
 *   bytes' SHA-256 (32) | u64 total | u32 count |
 *   count x (u32 length | sha256[32]) | seal
 * in host byte order (the file never leaves the machine); the seal is
 * cache_file_seal's, under the key of <git dir>/struere (as every cache
 * there). Each piece's bytes are the file <git dir>/struere/chunks/<its
 * SHA-256 in hex>.
 *
 * Why a seal, and the blob's id and SHA-256 inside it, when the bundle
 * is used only if its pieces laid end to end have the manifest's
 * SHA-256: that check vouches for the bytes whole, not for each piece's
 * SHA-256 as the index gives it, and those are handed on (loose_known)
 * so that the next blob's equal segments are not hashed again. With the
 * seal, the index is one this store's key holder wrote, for this blob,
 * from bytes of that SHA-256 cut at those lengths; the index is used
 * only when that SHA-256 is also the manifest's, and the bytes found
 * have it, so they are the bytes indexed and each piece is the one its
 * SHA-256 was taken of. Without the seal, an index whose names were
 * changed (the pieces' bytes copied under them) would pass the whole
 * check with SHA-256s that are not its pieces'; without the id, another
 * blob's sealed index renamed; without the SHA-256, a commit made by
 * hand whose tree names a blob kept here and whose manifest gives the
 * SHA-256 of other bytes, cut alike and written over the pieces. The
 * build is there because where the pieces are cut is this build's rule
 * (loose_deflate.c): the pieces but the last are handed on as cut by it,
 * so that the next blob takes their lengths without scanning for its
 * cuts; another build's index is not read (the bundle then comes from
 * git once).
 *
 * Both directories are opened without following a link and only when
 * they are directories of this user: every piece and index is read,
 * written and removed relative to them, so that a link put in place of
 * either (or of struere/) cannot make the bundle cache read, write or
 * delete files elsewhere.
 */
#include "bundle_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "bundle_trust.h"
#include "cache_file.h"
#include "hex.h"
#include "../runtime/src/rt_limits.h"
#include "sha256.h"
#include "source.h"
#include "struere.h"

#define IDX_MAGIC "STRBIDX3"
#define IDX_HEAD (8 + 32 + 40 + 32 + 8 + 4)
#define IDX_ENTRY (4 + 32)
/* The most pieces a bundle of the runtime's largest size is cut into
 * (each but the last at least LOOSE_SEGMENT_MIN bytes), and so the
 * largest index read. */
#define IDX_MAX_COUNT (RT_LIMIT_BUNDLE_BYTES / LOOSE_SEGMENT_MIN + 1)
#define IDX_MAX_BYTES (IDX_HEAD + IDX_ENTRY * IDX_MAX_COUNT + CACHE_SEAL_BYTES)
/* Bundles kept at once (dev's three and the production branch's), with
 * room to spare. */
#define KEPT_MAX 8

/* ---- the directories ------------------------------------------------------
 */

/* The caches' directories, opened as cache_file_dir_open_at does: this
 * user's, never through a link. */
struct dirs {
    int bundles, chunks; /* -1 when not there or not usable */
};

static bool open_dirs(const char *git_dir, bool create, struct dirs *d)
{
    d->bundles = d->chunks = -1;
    int git = open(git_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int top = git >= 0 ? cache_file_dir_open_at(git, "struere", create) : -1;
    if (top >= 0) {
        d->bundles = cache_file_dir_open_at(top, "bundles", create);
        d->chunks = cache_file_dir_open_at(top, "chunks", create);
    }
    if (git >= 0)
        close(git);
    if (top >= 0)
        close(top);
    return d->bundles >= 0 && d->chunks >= 0;
}

static void close_dirs(struct dirs *d)
{
    if (d->bundles >= 0)
        close(d->bundles);
    if (d->chunks >= 0)
        close(d->chunks);
}

static bool is_blob_id(const char *s)
{
    return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- opening --------------------------------------------------------------
 */

/* The seal of an index's n bytes, under the key of <git dir>/struere:
 * cache_file_seal takes the key of the directory holding the path it is
 * given, and struere/bundles is in struere/. */
static bool seal_index(const char *git_dir, bool create, const unsigned char *p,
                       size_t n, unsigned char tag[CACHE_SEAL_BYTES])
{
    char path[4400];
    return cache_file_path(git_dir, "bundles", path, sizeof(path)) &&
           cache_file_seal(path, create, p, n, tag);
}

/* The running compiler's build, as an index names it. */
static bool this_build(unsigned char build[32])
{
    char id[200];
    if (!cache_file_compiler_id(id, sizeof(id)))
        return false;
    rt_sha256(id, strlen(id), build);
    return true;
}

/* The pieces of blob id's index d (len bytes, its seal included): count
 * entries from the result, each checked (1 to LOOSE_SEGMENT_MAX bytes),
 * adding up to total, at most the runtime's largest bundle. NULL when
 * malformed, another build's or blob's, of bytes whose SHA-256 is not
 * sha256 (NULL: any), or not sealed under this store's key. */
static const unsigned char *parse_index(const char *git_dir, const char *id,
                                        const unsigned char *sha256,
                                        const unsigned char *d, size_t len,
                                        uint64_t *total, uint32_t *count)
{
    unsigned char tag[CACHE_SEAL_BYTES], build[32];
    if (len < IDX_HEAD + CACHE_SEAL_BYTES || memcmp(d, IDX_MAGIC, 8) != 0 ||
        !this_build(build) || memcmp(d + 8, build, 32) != 0 ||
        memcmp(d + 40, id, 40) != 0 ||
        (sha256 && memcmp(d + 80, sha256, 32) != 0))
        return NULL;
    len -= CACHE_SEAL_BYTES;
    if (!seal_index(git_dir, false, d, len, tag) ||
        sodium_memcmp(tag, d + len, CACHE_SEAL_BYTES) != 0)
        return NULL;
    memcpy(total, d + 112, 8);
    *count = get_u32(d + 120);
    if (*count == 0 || (len - IDX_HEAD) % IDX_ENTRY != 0 ||
        (len - IDX_HEAD) / IDX_ENTRY != *count ||
        *total > RT_LIMIT_BUNDLE_BYTES)
        return NULL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < *count; i++) {
        uint32_t n = get_u32(d + IDX_HEAD + (size_t)i * IDX_ENTRY);
        if (n == 0 || n > LOOSE_SEGMENT_MAX)
            return NULL;
        sum += n;
    }
    return sum == *total ? d + IDX_HEAD : NULL;
}

enum piece { PIECE_READ, PIECE_BAD, PIECE_FAILED };

/* Reads the piece named by sha256 into to (n bytes): a regular file of
 * exactly n bytes, never followed through a link nor waited on (a FIFO
 * put there would hang the run). PIECE_BAD: something else is there, or
 * nothing, or a file this user cannot read; PIECE_FAILED: a failure that
 * says nothing of the file (out of descriptors, an I/O error). */
static enum piece read_piece(int chunks, const unsigned char sha256[32],
                             unsigned char *to, size_t n)
{
    char hex[65];
    rt_hex_encode(sha256, 32, hex);
    int fd =
        openat(chunks, hex, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT || errno == ELOOP || errno == ENXIO ||
                       errno == EACCES
                   ? PIECE_BAD
                   : PIECE_FAILED;
    struct stat st;
    enum piece r = PIECE_FAILED;
    if (fstat(fd, &st) == 0)
        r = !S_ISREG(st.st_mode) || (uint64_t)st.st_size != n ? PIECE_BAD
            : read_all(fd, to, n) == n                        ? PIECE_READ
                                                              : PIECE_FAILED;
    close(fd);
    return r;
}

static void remove_piece(int chunks, const unsigned char sha256[32])
{
    char hex[65];
    rt_hex_encode(sha256, 32, hex);
    unlinkat(chunks, hex, 0);
}

struct struere_bundle *bundle_cache_open(const char *git_dir, const char *id,
                                         int env,
                                         const unsigned char sha256_want[32],
                                         bool recorded,
                                         struct loose_known *known)
{
    struct dirs d = {-1, -1};
    char idx[64];
    if (!is_blob_id(id) || !open_dirs(git_dir, false, &d)) {
        close_dirs(&d);
        return NULL;
    }
    snprintf(idx, sizeof(idx), "%s.idx", id);
    size_t ilen = 0;
    bool bad;
    unsigned char *index =
        cache_file_read_at(d.bundles, idx, IDX_MAX_BYTES, &ilen, &bad);
    uint64_t total = 0;
    uint32_t count = 0;
    const unsigned char *e = index ? parse_index(git_dir, id, sha256_want,
                                                 index, ilen, &total, &count)
                                   : NULL;
    unsigned char *data = e ? malloc(total) : NULL;
    unsigned char *state = e ? calloc(count, 1) : NULL;
    if (!data || !state) {
        if (bad || (index && !e))
            unlinkat(d.bundles, idx, 0); /* not an index */
        free(data);
        free(state);
        free(index);
        close_dirs(&d);
        return NULL;
    }
    rt_advise_huge(data, (size_t)total);
    /* Every piece, also after one fails: each bad one is found now. */
    size_t at = 0;
    bool whole = true;
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *p = e + (size_t)i * IDX_ENTRY;
        uint32_t n = get_u32(p);
        state[i] = (unsigned char)read_piece(d.chunks, p + 4, data + at, n);
        whole = whole && state[i] == PIECE_READ;
        at += n;
    }
    /* The bytes, not only their CRCs: those are easily recomputed after
     * an edit. */
    unsigned char got[32];
    if (whole)
        rt_sha256(data, (size_t)total, got);
    struere_bundle *b = NULL;
    if (whole && memcmp(got, sha256_want, 32) == 0) {
        struere_error err;
        int rc =
            recorded
                ? rt_bundle_open_recorded(&b, data, (size_t)total, env, &err)
                : rt_bundle_open_taking(&b, data, (size_t)total, env, &err);
        if (rc != STRUERE_OK) {
            free(data);
            b = NULL;
            if (rc != STRUERE_ENOMEM)
                unlinkat(d.bundles, idx, 0); /* a bad commit's bundle */
        }
        /* Each piece is the bytes its SHA-256 was taken of, and all but
         * the last were cut by this build's rule (the seal); they stay in
         * place, the bundle's, while it is open. */
        at = 0;
        for (uint32_t i = 0; b && known && i < count; i++) {
            const unsigned char *p = e + (size_t)i * IDX_ENTRY;
            uint32_t n = get_u32(p);
            (void)loose_known_add(known, data + at, n, p + 4, i + 1 < count);
            at += n;
        }
    } else {
        /* Not this bundle: the pieces that are not their names' bytes (or
         * not files of their length) go, so that the next keep writes
         * them again instead of finding them there; so does the index,
         * unless all that failed was reading (no piece was found wrong). */
        bool wrong = whole;
        at = 0;
        for (uint32_t i = 0; i < count; i++) {
            const unsigned char *p = e + (size_t)i * IDX_ENTRY;
            uint32_t n = get_u32(p);
            if (state[i] == PIECE_READ) {
                rt_sha256(data + at, n, got);
                if (memcmp(got, p + 4, 32) != 0) {
                    remove_piece(d.chunks, p + 4);
                    wrong = true;
                }
            } else if (state[i] == PIECE_BAD) {
                remove_piece(d.chunks, p + 4);
                wrong = true;
            }
            at += n;
        }
        free(data);
        if (wrong)
            unlinkat(d.bundles, idx, 0);
    }
    free(state);
    free(index);
    close_dirs(&d);
    return b;
}

/* ---- keeping --------------------------------------------------------------
 */

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* The pieces to keep: the digests of the streams' segments and of the
 * pieces of the index `also` (when it parses), sorted. */
struct kept {
    unsigned char (*d)[32];
    size_t n, cap;
    bool failed; /* out of memory: the list is short, nothing removed */
};

static bool kept_add(struct kept *k, const unsigned char d[32])
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        void *p = realloc(k->d, cap * 32);
        if (!p) {
            k->failed = true;
            return false;
        }
        k->d = p;
        k->cap = cap;
    }
    memcpy(k->d[k->n++], d, 32);
    return true;
}

/* Writes the pieces of one bundle that are not there as files of their
 * length, then its index (36 bytes a piece: on every run); adds its
 * pieces to k. False when the index is not written: the bundle is not
 * cut as its bytes say, or out of memory. */
static bool keep_one(const char *git_dir, const struct dirs *d, const char *id,
                     const unsigned char sha256[32], const unsigned char *data,
                     size_t len, const struct loose_stream *s, struct kept *k)
{
    size_t at = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        if (!kept_add(k, s->seg[i].sha256))
            return false;
        at += s->seg[i].raw_len;
    }
    if (!is_blob_id(id) || s->nseg == 0 || at != len)
        return false; /* not these bytes' cuts: nothing to index */
    rt_buf o;
    rt_buf_grow_init(&o);
    uint64_t total = len;
    uint32_t count = (uint32_t)s->nseg;
    unsigned char build[32];
    if (!this_build(build))
        return false;
    rt_buf_put(&o, IDX_MAGIC, 8);
    rt_buf_put(&o, build, 32);
    rt_buf_put(&o, id, 40);
    rt_buf_put(&o, sha256, 32);
    rt_buf_put(&o, &total, 8);
    rt_buf_put(&o, &count, 4);
    at = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        const struct loose_segment *g = &s->seg[i];
        rt_buf_put(&o, &g->raw_len, 4);
        rt_buf_put(&o, g->sha256, 32);
        char hex[65];
        rt_hex_encode(g->sha256, 32, hex);
        struct stat st;
        /* anything else there (a link, a FIFO, a file cut short) is
         * replaced when the new piece is renamed over it */
        if (fstatat(d->chunks, hex, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || (uint64_t)st.st_size != g->raw_len)
            cache_file_write_at(d->chunks, hex, data + at, g->raw_len);
        at += g->raw_len;
    }
    char name[64];
    snprintf(name, sizeof(name), "%s.idx", id);
    unsigned char tag[CACHE_SEAL_BYTES];
    bool ok = !o.failed &&
              seal_index(git_dir, true, (unsigned char *)o.p, o.len, tag);
    if (ok)
        rt_buf_put(&o, tag, sizeof(tag));
    ok = ok && !o.failed &&
         cache_file_write_at(d->bundles, name, o.p, o.len) == 0;
    free(o.p);
    return ok;
}

/* Removes from dir every file but the dot files (another run's
 * temporaries) and those keep() says to keep. */
static void remove_others(int dir, bool (*keep)(const char *, void *),
                          void *arg)
{
    DIR *dp = cache_file_list(dir);
    if (!dp)
        return;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (e->d_name[0] != '.' && !keep(e->d_name, arg))
            unlinkat(dir, e->d_name, 0);
    closedir(dp);
}

struct kept_ids {
    const char *const *ids;
    size_t n;
};

static bool is_kept_index(const char *name, void *arg)
{
    const struct kept_ids *k = arg;
    for (size_t i = 0; i < k->n; i++)
        if (strlen(name) == 44 && !strncmp(name, k->ids[i], 40) &&
            !strcmp(name + 40, ".idx"))
            return true;
    return false;
}

static bool is_kept_piece(const char *name, void *arg)
{
    const struct kept *k = arg;
    unsigned char dg[32];
    return rt_hex_decode(name, strlen(name), dg, 32) == 0 &&
           bsearch(dg, k->d, k->n, 32, cmp_digest) != NULL;
}

/* Adds the pieces of the index of blob id (when it parses) to k. */
static bool keep_indexed(const char *git_dir, const struct dirs *d,
                         const char *id, struct kept *k)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.idx", id);
    size_t len = 0;
    bool bad;
    unsigned char *index =
        cache_file_read_at(d->bundles, name, IDX_MAX_BYTES, &len, &bad);
    uint64_t total;
    uint32_t count;
    const unsigned char *e =
        index ? parse_index(git_dir, id, NULL, index, len, &total, &count)
              : NULL;
    bool ok = e != NULL;
    for (uint32_t i = 0; ok && i < count; i++)
        ok = kept_add(k, e + (size_t)i * IDX_ENTRY + 4);
    free(index);
    return ok;
}

void bundle_cache_keep(const char *git_dir, const char *const *ids,
                       const unsigned char *const *sha256,
                       const void *const *data, const size_t *lens,
                       const struct loose_stream *streams, size_t n,
                       const char *also)
{
    struct dirs d = {-1, -1};
    if (n > KEPT_MAX || !open_dirs(git_dir, true, &d)) {
        close_dirs(&d);
        return;
    }
    struct kept k = {0};
    const char *keep_ids[KEPT_MAX + 1];
    size_t nids = 0;
    for (size_t i = 0; i < n; i++)
        if (keep_one(git_dir, &d, ids[i], sha256[i], data[i], lens[i],
                     &streams[i], &k))
            keep_ids[nids++] = ids[i];
    if (also && is_blob_id(also) && keep_indexed(git_dir, &d, also, &k))
        keep_ids[nids++] = also;
    cache_file_sweep_at(d.bundles);
    cache_file_sweep_at(d.chunks);
    /* Older indexes (and the whole bundles of older versions) go; then
     * every piece no kept index names. Out of memory, pieces stay. */
    struct kept_ids ki = {keep_ids, nids};
    remove_others(d.bundles, is_kept_index, &ki);
    if (!k.failed) {
        qsort(k.d, k.n, 32, cmp_digest);
        remove_others(d.chunks, is_kept_piece, &k);
    }
    free(k.d);
    close_dirs(&d);
}
