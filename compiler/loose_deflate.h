/*
 * loose_deflate.h - the compressed bytes of a large blob's loose object,
 * made so that the next write of a slightly different blob compresses
 * only what changed.
 *
 * A loose object is the zlib stream of "blob <length>\0" and the data.
 * Compressing a bundle whole (35 MB at 10,000 definitions, zlib's
 * fastest level as libgit2 uses) was most of an incremental dev's time
 * spent writing, although one definition had changed. Here the data is
 * cut into segments where its content says (a rolling hash over the last
 * 64 bytes: an insertion moves the cuts after it along with the bytes),
 * and each segment is deflated on its own: its dictionary is the end of
 * the segment before (the window deflate would have had), and it ends
 * with a sync flush on a byte boundary, so that the deflated segments
 * laid end to end form one valid stream; Adler-32 is combined from the
 * segments'. The segments of the last bundles written are kept in
 * <git dir>/struere/segments (and segments.delta: loose_deflate.c), those
 * of the last sources lists in sources-segments (and its .delta), each
 * pair sized by its own blobs, sealed as every cache is (cache_file.h),
 * keyed by the SHA-256 of their bytes and of the bytes before: a segment
 * found there is copied, not compressed, and a change costs the segment
 * it is in and the one after. The stream is as valid as libgit2's own.
 */
#ifndef STRUERE_LOOSE_DEFLATE_H
#define STRUERE_LOOSE_DEFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Segments are cut between these lengths, at about 64 KiB past the
 * minimum on average. */
#define LOOSE_SEGMENT_MIN ((size_t)16 << 10)
#define LOOSE_SEGMENT_MAX ((size_t)256 << 10)

/* The segments of the previous run, read once and shared (read only) by
 * the threads writing blobs. */
struct loose_segments;

/* The names of the segments files in <git dir>/struere/: the bundles',
 * and the branches' sources lists' (which change with every file). */
#define LOOSE_SEGMENTS_BUNDLES "segments"
#define LOOSE_SEGMENTS_SOURCES "sources-segments"

/* One blob's stream and the segments it is made of. */
struct loose_stream {
    rt_buf z; /* the loose object's bytes */
    struct loose_segment {
        /* SHA-256 of its raw bytes, and its key in the segments file:
         * the SHA-256 of the segment before's SHA-256 and its own */
        unsigned char sha256[32], key[32];
        uint32_t raw_len, adler, z_len;
        size_t z_at; /* where its deflated bytes are in z */
    } * seg;
    size_t nseg, cap;
    size_t reused;  /* segments copied from the previous run */
    size_t known;   /* segments whose SHA-256 a known piece gave */
    size_t skipped; /* ... and whose cut it gave too (no scan) */
};

/* The segments kept by earlier runs in the store at git_dir under name
 * (LOOSE_SEGMENTS_*): the base, which may hold a quarter of segments no
 * longer used, and the delta beside it; an empty set when there is no
 * base, it does not verify or there is no seal key; the base alone when
 * the delta does not verify or names another base. NULL only when out of
 * memory. */
struct loose_segments *loose_segments_open(const char *git_dir,
                                           const char *name);
void loose_segments_free(struct loose_segments *s);

/* Pieces of bytes in memory whose SHA-256 is known: the pieces of the
 * previous bundles, whose bytes were found to be those bundles' and whose
 * SHA-256 their sealed index gives (bundle_cache.h). A segment of a new
 * blob whose bytes are those of a known piece (compared byte for byte,
 * after a match of length, first and last bytes) takes its SHA-256
 * instead of hashing its bytes again; where the bytes at a cut go on as
 * a known piece that this build's rule cut (looked up by its first 32
 * bytes, then compared byte for byte), the piece's length is the
 * segment's, without scanning for the cut. At 10,000 definitions the
 * unchanged segments are 35 MB of the bundles, hashed and scanned again
 * on every run until then. The table does not copy the bytes: they must stay in
 * place and unchanged until it is freed. Adding is safe from several threads at
 * once; looking up, once every add is done (after a join). */
struct loose_known;
/* NULL when out of memory. */
struct loose_known *loose_known_new(void);
/* Adds the n bytes at p (1 to LOOSE_SEGMENT_MAX), whose SHA-256 the
 * caller vouches is sha256; a piece with the same bytes there already is
 * kept once. by_rule: the caller also vouches that this build's rule cut
 * the piece where it ends (a segment of a blob this build wrote, not its
 * last): a blob whose bytes go on as the piece's then gets a segment of
 * exactly those bytes without a scan for where to cut (the same cut).
 * False when out of memory (the piece is then only hashed when met), or
 * for a piece of no such length. */
bool loose_known_add(struct loose_known *k, const unsigned char *p, size_t n,
                     const unsigned char sha256[32], bool by_rule);
/* The SHA-256 of the n bytes at p when a known piece has exactly those
 * bytes; NULL otherwise (k may be NULL). */
const unsigned char *loose_known_find(const struct loose_known *k,
                                      const unsigned char *p, size_t n);
size_t loose_known_count(const struct loose_known *k);
void loose_known_free(struct loose_known *k);

/* Makes the loose object bytes of the blob data (len bytes) into out
 * (zeroed by the caller), taking segments from prev (may be NULL) and
 * the SHA-256 of segments equal to a known piece from known (may be
 * NULL). The same bytes either way. Returns 0, or -1 when out of memory
 * or zlib fails (out is freed). */
int loose_deflate_blob(const struct loose_segments *prev,
                       const struct loose_known *known, const void *data,
                       size_t len, struct loose_stream *out);
void loose_stream_free(struct loose_stream *out);

/* Keeps the segments of the n streams for the next run under name
 * (LOOSE_SEGMENTS_*), sealed and renamed into place: those the base file
 * (opened as prev, may be NULL)
 * has not go to the delta beside it while they are few and the base's
 * unused ones not many; otherwise the base is written again with exactly
 * these, and the delta removed. Failures are ignored: the files are only
 * a shortcut. */
void loose_segments_save(const char *git_dir, const char *name,
                         const struct loose_segments *prev,
                         const struct loose_stream *out, size_t n);

#endif
