/*
 * test_loose_deflate.c - a large blob's loose object made of reusable
 * deflated segments (compiler/loose_deflate.c): whatever was reused, zlib's
 * own inflate (which checks the Adler-32) gives back "blob <len>\0" and
 * the data; a small change recompresses only a few segments; a segments
 * file that does not verify is not used.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cache_file.h"
#include "harness.h"
#include "loose_deflate.h"

static char git_dir[64];

/* Bundle-like bytes: JSON bodies that repeat their keys and one of 200
 * descriptions (as agents repeat their tools'), with numbers that make
 * each differ (a fixed generator: the same bytes every run). */
static unsigned char *make_data(size_t n)
{
    static char desc[200][121];
    unsigned char *d = malloc(n);
    if (!d)
        abort();
    unsigned x = 12345;
    for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 120; j++) {
            x = x * 1103515245u + 12345u;
            desc[i][j] = (char)('a' + (x >> 16) % 26);
        }
        desc[i][120] = '\0';
    }
    size_t at = 0;
    while (at < n) {
        char body[400];
        x = x * 1103515245u + 12345u;
        int k = snprintf(
            body, sizeof(body),
            "{\"slug\":\"agent-%u\",\"model\":{\"name\":\"gpt-%u\","
            "\"temperature\":0.%u},\"description\":\"%s\"}",
            x % 100000, (x >> 8) % 7, (x >> 4) % 1000, desc[(x >> 12) % 200]);
        for (int i = 0; i < k && at < n; i++)
            d[at++] = (unsigned char)body[i];
    }
    return d;
}

/* Whether z is a zlib stream of exactly "blob <len>\0" and data. */
static int inflates_to(const rt_buf *z, const unsigned char *data, size_t len)
{
    char head[40];
    int hlen = snprintf(head, sizeof(head), "blob %zu", len) + 1;
    size_t want = (size_t)hlen + len;
    unsigned char *out = malloc(want + 1);
    if (!out)
        abort();
    uLongf got = (uLongf)want + 1;
    int rc = uncompress(out, &got, (const Bytef *)z->p, (uLong)z->len);
    int ok = rc == Z_OK && got == want && !memcmp(out, head, (size_t)hlen) &&
             !memcmp(out + hlen, data, len);
    free(out);
    return ok;
}

static void make_git_dir(void)
{
    snprintf(git_dir, sizeof(git_dir), "/tmp/struere-unit-loose.XXXXXX");
    if (!mkdtemp(git_dir))
        abort();
}

static void remove_git_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", git_dir);
    if (system(cmd) != 0)
        abort();
}

/* Writes data as the previous run would have, and opens what it kept. */
static struct loose_segments *after_run(const unsigned char *data, size_t len)
{
    struct loose_stream s = {0};
    CHECK(loose_deflate_blob(NULL, NULL, data, len, &s) == 0);
    loose_segments_save(git_dir, LOOSE_SEGMENTS_BUNDLES, NULL, &s, 1);
    loose_stream_free(&s);
    return loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
}

/* Small and odd sizes: whole, valid streams. */
static void test_sizes(void)
{
    size_t sizes[] = {0,
                      1,
                      LOOSE_SEGMENT_MIN,
                      LOOSE_SEGMENT_MIN + 64,
                      LOOSE_SEGMENT_MIN + 65,
                      LOOSE_SEGMENT_MAX,
                      LOOSE_SEGMENT_MAX * 3 + 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *d = make_data(sizes[i] ? sizes[i] : 1);
        struct loose_stream s = {0};
        CHECK(loose_deflate_blob(NULL, NULL, d, sizes[i], &s) == 0);
        CHECK(inflates_to(&s.z, d, sizes[i]));
        CHECK(s.reused == 0);
        size_t sum = 0;
        for (size_t j = 0; j < s.nseg; j++) {
            sum += s.seg[j].raw_len;
            CHECK(s.seg[j].raw_len <= LOOSE_SEGMENT_MAX);
        }
        CHECK(sum == sizes[i]);
        /* The cuts cost (almost) nothing: each segment has the end of the
         * one before as its dictionary. Against zlib's level 1 over the
         * whole, as libgit2 writes a loose object. */
        char head[40];
        int hlen = snprintf(head, sizeof(head), "blob %zu", sizes[i]) + 1;
        unsigned char *whole = malloc((size_t)hlen + sizes[i]);
        uLongf zlen = compressBound((uLong)(hlen + sizes[i]));
        unsigned char *z = malloc(zlen);
        if (!whole || !z)
            abort();
        memcpy(whole, head, (size_t)hlen);
        memcpy(whole + hlen, d, sizes[i]);
        CHECK(compress2(z, &zlen, whole, (uLong)(hlen + sizes[i]), 1) == Z_OK);
        CHECK(s.z.len <= zlen + zlen / 100 + 16);
        free(whole);
        free(z);
        loose_stream_free(&s);
        free(d);
    }
}

/* A copy of d (len bytes) with n bytes 'x' inserted at `at` (malloc'd). */
static unsigned char *with_inserted(const unsigned char *d, size_t len,
                                    size_t at, size_t n)
{
    unsigned char *out = malloc(len + n);
    if (!out)
        abort();
    memcpy(out, d, at);
    memset(out + at, 'x', n);
    memcpy(out + at + n, d + at, len - at);
    return out;
}

/* A byte changed, bytes inserted, bytes removed: the stream is still
 * exactly the data, and only the segments around the change are
 * compressed again. */
static void test_reuse_after_edits(void)
{
    make_git_dir();
    size_t len = 8u << 20;
    unsigned char *d = make_data(len);
    struct loose_segments *prev = after_run(d, len);
    struct loose_stream s = {0};

    /* The same bytes: everything reused, and the very same stream. */
    struct loose_stream first = {0};
    CHECK(loose_deflate_blob(NULL, NULL, d, len, &first) == 0);
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(s.nseg > 20 && s.reused == s.nseg);
    CHECK(s.z.len == first.z.len && !memcmp(s.z.p, first.z.p, s.z.len));
    CHECK(inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    loose_stream_free(&first);

    /* One byte changed in the middle. */
    d[len / 2] ^= 0x20;
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(inflates_to(&s.z, d, len));
    CHECK(s.reused > 0 && s.nseg - s.reused <= 2);
    loose_stream_free(&s);
    d[len / 2] ^= 0x20;

    /* The end of a segment overwritten (its last 64 bytes, which place
     * the cut, kept): the next segment's matches reach back into those
     * bytes, so it is compressed again too, not copied. */
    struct loose_stream base = {0};
    CHECK(loose_deflate_blob(prev, NULL, d, len, &base) == 0);
    size_t cut = 0;
    for (size_t j = 0; j < base.nseg / 2; j++)
        cut += base.seg[j].raw_len;
    unsigned char *saved = malloc(8000);
    if (!saved)
        abort();
    memcpy(saved, d + cut - 8064, 8000);
    memset(d + cut - 8064, 'x', 8000);
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(inflates_to(&s.z, d, len));
    CHECK(s.nseg == base.nseg && s.nseg - s.reused == 2);
    loose_stream_free(&s);
    memcpy(d + cut - 8064, saved, 8000);
    free(saved);
    loose_stream_free(&base);

    /* 100 bytes inserted: the cuts after them move with the bytes. */
    unsigned char *ins = with_inserted(d, len, len / 3, 100);
    CHECK(loose_deflate_blob(prev, NULL, ins, len + 100, &s) == 0);
    CHECK(inflates_to(&s.z, ins, len + 100));
    CHECK(s.reused > 0 && s.nseg - s.reused <= 3);
    loose_stream_free(&s);

    /* 5,000 bytes removed. */
    CHECK(loose_deflate_blob(prev, NULL, d + 5000, len - 5000, &s) == 0);
    CHECK(inflates_to(&s.z, d + 5000, len - 5000));
    CHECK(s.reused > 0 && s.nseg - s.reused <= 2);
    loose_stream_free(&s);

    free(ins);
    loose_segments_free(prev);
    free(d);
    remove_git_dir();
}

/* The bundles' and the sources lists' segments are kept apart: what one
 * name keeps is not found under the other, and keeping one leaves the
 * other's files as they were. */
static void test_names_apart(void)
{
    make_git_dir();
    size_t len = 1u << 20, olen = 600u << 10;
    unsigned char *d = make_data(len), *o = make_data(olen + 7);
    for (size_t i = 0; i < olen + 7; i++) /* bytes of no segment of d */
        if (o[i] >= 'a' && o[i] <= 'z')
            o[i] = (unsigned char)(o[i] - 'a' + 'A');
    struct loose_stream s = {0}, t = {0};
    CHECK(loose_deflate_blob(NULL, NULL, d, len, &s) == 0);
    loose_segments_save(git_dir, LOOSE_SEGMENTS_BUNDLES, NULL, &s, 1);
    loose_stream_free(&s);
    /* other bytes under the other name */
    CHECK(loose_deflate_blob(NULL, NULL, o + 7, olen, &t) == 0);
    loose_segments_save(git_dir, LOOSE_SEGMENTS_SOURCES, NULL, &t, 1);
    loose_stream_free(&t);
    char path[128], other[128];
    snprintf(path, sizeof(path), "%s/struere/segments", git_dir);
    snprintf(other, sizeof(other), "%s/struere/sources-segments", git_dir);
    struct stat a, b;
    CHECK(stat(path, &a) == 0 && stat(other, &b) == 0);

    struct loose_segments *bundles =
        loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
    struct loose_segments *sources =
        loose_segments_open(git_dir, LOOSE_SEGMENTS_SOURCES);
    CHECK(bundles != NULL && sources != NULL);
    CHECK(loose_deflate_blob(bundles, NULL, d, len, &s) == 0);
    CHECK(s.nseg > 1 && s.reused == s.nseg && inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    CHECK(loose_deflate_blob(sources, NULL, d, len, &s) == 0);
    CHECK(s.reused == 0 && inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    CHECK(loose_deflate_blob(sources, NULL, o + 7, olen, &t) == 0);
    CHECK(t.nseg > 1 && t.reused == t.nseg && inflates_to(&t.z, o + 7, olen));
    CHECK(loose_deflate_blob(bundles, NULL, o + 7, olen, &s) == 0);
    CHECK(s.reused == 0);
    loose_stream_free(&s);

    /* Keeping the sources lists again does not touch the bundles' file. */
    loose_segments_save(git_dir, LOOSE_SEGMENTS_SOURCES, sources, &t, 1);
    loose_stream_free(&t);
    struct stat a2;
    CHECK(stat(path, &a2) == 0 && a2.st_ino == a.st_ino &&
          a2.st_mtim.tv_nsec == a.st_mtim.tv_nsec && a2.st_size == a.st_size);
    loose_segments_free(bundles);
    loose_segments_free(sources);
    free(d);
    free(o);
    remove_git_dir();
}

/* A segments file with any byte changed (or cut short) fails its seal and
 * is not used: nothing reused, the stream still right. */
static void test_damaged_file_unused(void)
{
    make_git_dir();
    size_t len = 1u << 20;
    unsigned char *d = make_data(len);
    loose_segments_free(after_run(d, len));
    char path[128];
    snprintf(path, sizeof(path), "%s/struere/segments", git_dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        /* A byte inside the first segment's deflated bytes. */
        fseek(f, 12 + 44 + 10, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 12 + 44 + 10, SEEK_SET);
        fputc(c ^ 1, f);
        fclose(f);
    }
    struct loose_segments *prev =
        loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
    struct loose_stream s = {0};
    CHECK(prev != NULL);
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(s.reused == 0 && inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    loose_segments_free(prev);

    /* Cut short. */
    loose_segments_free(after_run(d, len));
    CHECK(truncate(path, 100) == 0);
    prev = loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(s.reused == 0 && inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    loose_segments_free(prev);

    /* No file at all, and no key to seal one with: nothing reused. */
    CHECK(unlink(path) == 0);
    prev = loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(s.reused == 0 && inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    loose_segments_free(prev);
    free(d);
    remove_git_dir();
}

/* The file's bytes before the seal, and sealed again with the store's
 * key (as the key's holder could): so that what is tested below is the
 * parser and the build check, not the seal. */
static void write_resealed(const char *path, const unsigned char *body,
                           size_t n)
{
    char keypath[128];
    unsigned char key[32], digest[32], tag[32];
    size_t klen = 0;
    snprintf(keypath, sizeof(keypath), "%s/struere/key", git_dir);
    unsigned char *k = cache_file_read(keypath, &klen);
    if (!k || klen != 32)
        abort();
    memcpy(key, k, 32);
    free(k);
    crypto_hash_sha256(digest, body, n);
    crypto_auth_hmacsha256(tag, digest, sizeof(digest), key);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(body, 1, n, f) != n || fwrite(tag, 1, 32, f) != 32)
        abort();
    fclose(f);
}

static size_t reused_with_file(const unsigned char *d, size_t len)
{
    struct loose_segments *prev =
        loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
    struct loose_stream s = {0};
    CHECK(prev != NULL);
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(inflates_to(&s.z, d, len));
    size_t reused = s.reused;
    loose_stream_free(&s);
    loose_segments_free(prev);
    return reused;
}

/* Sealed again after an edit: a file from another build of struere is
 * not used, nor is one whose lengths lie; one left as it was is. */
static void test_resealed_file(void)
{
    make_git_dir();
    size_t len = 1u << 20, n = 0;
    unsigned char *d = make_data(len);
    loose_segments_free(after_run(d, len));
    char path[128];
    snprintf(path, sizeof(path), "%s/struere/segments", git_dir);
    unsigned char *file = cache_file_read(path, &n);
    CHECK(file && n > 100);
    if (!file) {
        free(d);
        remove_git_dir();
        return;
    }
    size_t body = n - 32;
    write_resealed(path, file, body);
    CHECK(reused_with_file(d, len) > 0); /* the resealing is right */

    /* Another build: one byte of the build id changed. */
    file[12 + 20] ^= 1;
    write_resealed(path, file, body);
    CHECK(reused_with_file(d, len) == 0);
    file[12 + 20] ^= 1;

    /* The first entry's deflated length past the end of the file. */
    uint32_t idlen;
    memcpy(&idlen, file + 8, 4);
    size_t first = 8 + 4 + idlen + 4;
    uint32_t big = (uint32_t)body;
    unsigned char saved[4];
    memcpy(saved, file + first + 40, 4);
    memcpy(file + first + 40, &big, 4);
    write_resealed(path, file, body);
    CHECK(reused_with_file(d, len) == 0);
    memcpy(file + first + 40, saved, 4);

    /* A count larger than the entries there. */
    uint32_t count;
    memcpy(&count, file + first - 4, 4);
    count++;
    memcpy(file + first - 4, &count, 4);
    write_resealed(path, file, body);
    CHECK(reused_with_file(d, len) == 0);
    free(file);
    free(d);
    remove_git_dir();
}

/* The file at path whole (malloc'd), or NULL when there is none. */
static unsigned char *file_bytes(const char *path, size_t *n)
{
    *n = 0;
    return cache_file_read(path, n);
}

static bool same_file(const unsigned char *a, size_t an, const char *path)
{
    size_t n;
    unsigned char *b = file_bytes(path, &n);
    bool same = a && b && n == an && !memcmp(a, b, n);
    free(b);
    return same;
}

/* What a run keeps, given the segments kept before (prev, freed here) and
 * its data: the segments as the next run opens them. */
static struct loose_segments *run_with(struct loose_segments *prev,
                                       const unsigned char *d, size_t len,
                                       size_t *reused)
{
    struct loose_stream s = {0};
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    CHECK(inflates_to(&s.z, d, len));
    if (reused)
        *reused = s.reused;
    loose_segments_save(git_dir, LOOSE_SEGMENTS_BUNDLES, prev, &s, 1);
    loose_stream_free(&s);
    loose_segments_free(prev);
    return loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES);
}

/* Segments kept in a base and a delta: a small change leaves the base as
 * it was and writes what it lacks beside it; the next run finds both; a
 * delta that does not verify or names another base is not read; a large
 * change, or a base mostly unused, writes the base again, without the
 * delta. */
static void test_delta(void)
{
    make_git_dir();
    size_t len = 4u << 20, n0, reused = 0, nseg;
    unsigned char *d = make_data(len);
    char path[128], dpath[160];
    snprintf(path, sizeof(path), "%s/struere/segments", git_dir);
    snprintf(dpath, sizeof(dpath), "%s/struere/segments.delta", git_dir);
    struct loose_segments *prev = after_run(d, len);
    unsigned char *base0 = file_bytes(path, &n0);
    CHECK(base0 != NULL && access(dpath, F_OK) != 0);

    /* A byte changed: the base stays byte for byte, the delta holds the
     * segments around the change, and the next run reuses every one. */
    d[len / 2] ^= 0x20;
    prev = run_with(prev, d, len, &reused);
    CHECK(same_file(base0, n0, path));
    size_t dn;
    unsigned char *delta = file_bytes(dpath, &dn);
    CHECK(delta != NULL && dn < n0 / 8);
    struct loose_stream s = {0};
    CHECK(loose_deflate_blob(prev, NULL, d, len, &s) == 0);
    nseg = s.nseg;
    CHECK(nseg > 20 && s.reused == nseg && inflates_to(&s.z, d, len));
    loose_stream_free(&s);
    loose_segments_free(prev);

    /* The delta with a byte changed: not read (the base's segments still
     * are); sealed again with the store's key, it is read (the seal was
     * the reason). */
    if (delta && dn > 100) {
        delta[dn / 2] ^= 1;
        FILE *f = fopen(dpath, "wb");
        CHECK(f && fwrite(delta, 1, dn, f) == dn);
        if (f)
            fclose(f);
        size_t r = reused_with_file(d, len);
        CHECK(r > 0 && r < nseg);
        delta[dn / 2] ^= 1;
        write_resealed(dpath, delta, dn - 32);
        CHECK(reused_with_file(d, len) == nseg);
    }

    /* The delta's lengths lying, sealed again: a count one more or one
     * less than its entries, the last entry's deflated length one more,
     * the file shorter than its head. Not read; the base still is. */
    if (delta && dn > 200) {
        size_t body = dn - 32, at = 8 + 32 + 4, last = at;
        uint32_t count, z_len;
        memcpy(&count, delta + at - 4, 4);
        for (uint32_t i = 0; i < count && at + 44 <= body; i++) {
            last = at;
            memcpy(&z_len, delta + at + 40, 4);
            at += 44 + z_len;
        }
        CHECK(count > 0 && at == body);
        unsigned char *lie = malloc(dn);
        if (!lie)
            abort();
        for (int k = 0; k < 3; k++) {
            memcpy(lie, delta, dn);
            uint32_t v = k == 0 ? count + 1 : count - 1;
            if (k < 2) {
                memcpy(lie + 8 + 32, &v, 4);
            } else {
                memcpy(&z_len, lie + last + 40, 4);
                z_len++;
                memcpy(lie + last + 40, &z_len, 4);
            }
            write_resealed(dpath, lie, body);
            size_t r = reused_with_file(d, len);
            CHECK(r > 0 && r < nseg);
        }
        for (size_t cut = 40; cut <= 43; cut += 3) {
            write_resealed(dpath, delta, cut);
            size_t r = reused_with_file(d, len);
            CHECK(r > 0 && r < nseg);
        }
        free(lie);
        write_resealed(dpath, delta, body);
        CHECK(reused_with_file(d, len) == nseg);
    }

    /* Sound in every way but larger than any delta is ever written (an
     * eighth of the base's entries, and its head): not read, not even
     * hashed. Its entries repeated and one more entry (of a key already
     * there: ignored) filling it to exactly that size: read; one byte
     * longer: not read. */
    if (delta && base0 && dn > 100) {
        uint32_t idlen, count;
        memcpy(&idlen, base0 + 8, 4);
        memcpy(&count, delta + 8 + 32, 4);
        size_t head = 8 + 32 + 4, entries = dn - 32 - head;
        size_t cap = (n0 - 32 - (12 + idlen + 4)) / 8;
        size_t k = cap / entries, slack = cap - k * entries;
        if (slack < 44 && k) {
            k--;
            slack += entries;
        }
        CHECK(k >= 1 && slack >= 44);
        for (size_t extra = 0; extra <= 1 && k >= 1 && slack >= 44; extra++) {
            size_t body = head + cap + extra;
            unsigned char *big = calloc(1, body);
            if (!big)
                abort();
            uint32_t c = (uint32_t)(k * count + 1);
            uint32_t z_len = (uint32_t)(slack - 44 + extra);
            memcpy(big, delta, head);
            memcpy(big + head - 4, &c, 4);
            for (size_t j = 0; j < k; j++)
                memcpy(big + head + j * entries, delta + head, entries);
            unsigned char *filler = big + head + k * entries;
            memcpy(filler, delta + head, 40); /* the first entry's key */
            memcpy(filler + 40, &z_len, 4);
            write_resealed(dpath, big, body);
            size_t r = reused_with_file(d, len);
            CHECK(extra == 0 ? r == nseg : r > 0 && r < nseg);
            free(big);
        }
        write_resealed(dpath, delta, dn - 32);
        CHECK(reused_with_file(d, len) == nseg);
    }

    /* Named for another base: the base written again for other data, the
     * old delta put back. Applied, it would give its segments. */
    unsigned char *other = make_data(len);
    for (size_t i = 0; i < len; i += 4096)
        other[i] = '#'; /* every segment differs */
    loose_segments_free(after_run(other, len));
    CHECK(access(dpath, F_OK) != 0);
    if (delta) {
        FILE *f = fopen(dpath, "wb");
        CHECK(f && fwrite(delta, 1, dn, f) == dn);
        if (f)
            fclose(f);
    }
    CHECK(reused_with_file(d, len) == 0);

    /* Back to d's base; then the same data again: nothing the base lacks,
     * so no delta is left. */
    loose_segments_free(after_run(d, len));
    unsigned char *base1 = file_bytes(path, &n0);
    d[len / 3] ^= 0x20;
    prev = run_with(loose_segments_open(git_dir, LOOSE_SEGMENTS_BUNDLES), d,
                    len, NULL);
    CHECK(access(dpath, F_OK) == 0);
    d[len / 3] ^= 0x20;
    prev = run_with(prev, d, len, &reused);
    CHECK(reused == nseg && access(dpath, F_OK) != 0);
    CHECK(same_file(base1, n0, path));

    /* Data grown by a quarter, its start as it was: nothing of the base
     * unused, but more than an eighth new, so the base is written again
     * (a delta would grow with every such run) and the delta goes. */
    {
        unsigned char *grown = make_data(len + len / 4);
        memcpy(grown, d, len);
        for (size_t i = len; i < len + len / 4; i += 4096)
            grown[i] = '#';
        d[len / 5] ^= 0x20; /* one segment new: a delta first */
        memcpy(grown, d, len);
        prev = run_with(prev, d, len, NULL);
        CHECK(access(dpath, F_OK) == 0 && same_file(base1, n0, path));
        prev = run_with(prev, grown, len + len / 4, NULL);
        CHECK(!same_file(base1, n0, path) && access(dpath, F_OK) != 0);
        CHECK(loose_deflate_blob(NULL, NULL, grown, len + len / 4, &s) == 0);
        CHECK(reused_with_file(grown, len + len / 4) == s.nseg);
        loose_stream_free(&s);
        free(grown);
        d[len / 5] ^= 0x20;
    }

    /* A quarter of the data changed: the base written again (it now
     * holds that data's segments alone), the delta gone. */
    for (size_t i = len / 4; i < len / 2; i += 4096)
        d[i] = '#';
    prev = run_with(prev, d, len, NULL);
    CHECK(!same_file(base1, n0, path) && access(dpath, F_OK) != 0);
    CHECK(loose_deflate_blob(NULL, NULL, d, len, &s) == 0);
    CHECK(reused_with_file(d, len) == s.nseg);
    loose_stream_free(&s);

    /* A base more than a quarter unused (the data halved): written again
     * too, with exactly the segments of the half. */
    unsigned char *base2 = file_bytes(path, &n0);
    prev = run_with(prev, d, len / 2, NULL);
    size_t n2;
    unsigned char *base3 = file_bytes(path, &n2);
    CHECK(base3 && n2 < n0 * 3 / 4 && access(dpath, F_OK) != 0);
    CHECK(reused_with_file(d, len / 2) > 0);
    loose_segments_free(prev);
    free(base0);
    free(base1);
    free(base2);
    free(base3);
    free(delta);
    free(other);
    free(d);
    remove_git_dir();
}

/* Whether two streams are the same bytes with the same segments (cuts,
 * SHA-256s, keys). */
static bool same_stream(const struct loose_stream *a,
                        const struct loose_stream *b)
{
    if (a->z.len != b->z.len || memcmp(a->z.p, b->z.p, a->z.len) != 0 ||
        a->nseg != b->nseg)
        return false;
    for (size_t i = 0; i < a->nseg; i++)
        if (a->seg[i].raw_len != b->seg[i].raw_len ||
            memcmp(a->seg[i].sha256, b->seg[i].sha256, 32) != 0 ||
            memcmp(a->seg[i].key, b->seg[i].key, 32) != 0)
            return false;
    return true;
}

/* The pieces of data as s cut it, each with its SHA-256 computed here
 * (not s's), added to k; all but the last as cut by the rule. */
static void know_pieces(struct loose_known *k, const unsigned char *data,
                        const struct loose_stream *s)
{
    size_t at = 0;
    for (size_t i = 0; i < s->nseg; i++) {
        unsigned char sha[32];
        crypto_hash_sha256(sha, data + at, s->seg[i].raw_len);
        CHECK(loose_known_add(k, data + at, s->seg[i].raw_len, sha,
                              i + 1 < s->nseg));
        at += s->seg[i].raw_len;
    }
}

/* The stream of data (len bytes) made with k and without: the same bytes,
 * segments and keys; *known and *skipped from the one made with k. */
static bool same_with_known(const struct loose_segments *prev,
                            const struct loose_known *k,
                            const unsigned char *data, size_t len,
                            size_t *known, size_t *skipped)
{
    struct loose_stream with = {0}, without = {0};
    bool same = loose_deflate_blob(prev, k, data, len, &with) == 0 &&
                loose_deflate_blob(prev, NULL, data, len, &without) == 0 &&
                same_stream(&with, &without) && inflates_to(&with.z, data, len);
    *known = with.known;
    *skipped = with.skipped;
    loose_stream_free(&with);
    loose_stream_free(&without);
    return same;
}

/* A blob's segments equal to known pieces take the pieces' SHA-256, and
 * where the bytes go on as a piece the rule cut, its cut; the stream and
 * every segment's SHA-256 and key are what they are without them; a
 * piece that only looks the same (length, first and last bytes, first 32
 * bytes) gives nothing. */
static void test_known_pieces(void)
{
    make_git_dir();
    size_t len = 4u << 20;
    unsigned char *old = make_data(len);
    struct loose_stream first = {0}, plain = {0}, s = {0};
    CHECK(loose_deflate_blob(NULL, NULL, old, len, &first) == 0);
    CHECK(first.nseg > 10 && first.known == 0);
    struct loose_known *k = loose_known_new();
    CHECK(k != NULL);
    know_pieces(k, old, &first);
    CHECK(loose_known_count(k) == first.nseg);
    /* the same pieces again (another bundle that shares them): once */
    know_pieces(k, old, &first);
    CHECK(loose_known_count(k) == first.nseg);
    CHECK(!loose_known_add(k, old, 0, first.seg[0].sha256, false));
    CHECK(!loose_known_add(k, old, LOOSE_SEGMENT_MAX + 1, first.seg[0].sha256,
                           false));
    /* no piece of the rule's is that short */
    CHECK(
        !loose_known_add(k, old, LOOSE_SEGMENT_MIN, first.seg[0].sha256, true));

    /* The same bytes, in another buffer: every segment known. */
    unsigned char *copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, old, len);
    CHECK(loose_deflate_blob(NULL, k, copy, len, &s) == 0);
    CHECK(s.known == s.nseg && same_stream(&s, &first));
    /* every cut taken from the pieces but the last (its blob's end) */
    CHECK(s.skipped == s.nseg - 1);
    loose_stream_free(&s);

    /* The bytes cut short just after the second piece, or a few bytes
     * into the third, or fewer than its length into it: the first two
     * cuts taken from the pieces, the rest as the rule cuts (a piece
     * longer than what is left is not taken); cut short inside the first
     * piece: none taken. */
    size_t known, skipped, two = first.seg[0].raw_len + first.seg[1].raw_len;
    CHECK(first.seg[1].raw_len > LOOSE_SEGMENT_MIN + 64 &&
          first.seg[2].raw_len > LOOSE_SEGMENT_MIN + 65);
    size_t ends[] = {two, two + 100, two + LOOSE_SEGMENT_MIN + 65};
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        CHECK(same_with_known(NULL, k, copy, ends[i], &known, &skipped));
        CHECK(skipped == 2);
    }
    CHECK(same_with_known(NULL, k, copy, first.seg[0].raw_len - 1, &known,
                          &skipped));
    CHECK(skipped == 0);
    CHECK(same_with_known(NULL, k, copy, len - 5000, &known, &skipped));
    CHECK(skipped + 2 >= first.nseg);

    /* Bytes changed, inserted and removed: the segments around them are
     * hashed, the rest known, and the result is the same as hashing all
     * (the segments file too: prev). */
    struct loose_segments *prev = after_run(old, len);
    unsigned char *edit = with_inserted(old, len, len / 3, 300);
    edit[len / 2] ^= 0x20;
    size_t elen = len + 300 - 7000;
    memmove(edit + len * 3 / 4, edit + len * 3 / 4 + 7000,
            len + 300 - len * 3 / 4 - 7000);
    CHECK(loose_deflate_blob(prev, NULL, edit, elen, &plain) == 0);
    CHECK(loose_deflate_blob(prev, k, edit, elen, &s) == 0);
    CHECK(same_stream(&s, &plain) && inflates_to(&s.z, edit, elen));
    CHECK(s.known > 0 && s.known + 8 >= s.nseg && s.known < s.nseg);
    CHECK(s.skipped > 0 && s.skipped <= s.known);
    loose_stream_free(&s);
    loose_stream_free(&plain);
    loose_segments_free(prev);

    /* A decoy: a piece of a segment's length whose first and last 16
     * bytes are the segment's, with other bytes between and a SHA-256
     * that is nobody's. Never taken: the bytes are compared. */
    struct loose_known *decoy = loose_known_new();
    CHECK(decoy != NULL);
    size_t n1 = first.seg[1].raw_len, at1 = first.seg[0].raw_len;
    unsigned char *fake = malloc(n1);
    if (!fake)
        abort();
    memcpy(fake, old + at1, n1);
    memset(fake + 16, 'q', n1 - 32);
    unsigned char nobody[32];
    memset(nobody, 0xAA, sizeof(nobody));
    CHECK(loose_known_add(decoy, fake, n1, nobody, true));
    CHECK(loose_known_find(decoy, old + at1, n1) == NULL);
    CHECK(loose_known_find(decoy, fake, n1) != NULL);
    CHECK(loose_deflate_blob(NULL, decoy, old, len, &s) == 0);
    CHECK(s.known == 0 && s.skipped == 0 && same_stream(&s, &first));
    loose_stream_free(&s);
    /* nor one whose first 32 bytes (where a cut is looked up) and all but
     * one byte in the middle are the segment's */
    struct loose_known *near = loose_known_new();
    CHECK(near != NULL);
    memcpy(fake, old + at1, n1);
    fake[n1 / 2] ^= 1;
    CHECK(loose_known_add(near, fake, n1, nobody, true));
    CHECK(same_with_known(NULL, near, old, len, &known, &skipped));
    CHECK(known == 0 && skipped == 0);
    loose_known_free(near);
    /* nor one handed on as cut by the rule that was not (the caller's
     * error: the bundle cache vouches only for its own build's pieces)
     * that ends a byte short of a segment: the rule's first hit is at the
     * segment's end, so there is none where the piece ends (the one look
     * made at a piece's end) */
    struct loose_known *moved = loose_known_new();
    CHECK(moved != NULL);
    CHECK(loose_known_add(moved, old + at1, n1 - 1, nobody, true));
    CHECK(same_with_known(NULL, moved, old, len, &known, &skipped));
    CHECK(known == 0 && skipped == 0);
    loose_known_free(moved);
    loose_known_free(decoy);
    free(fake);

    /* The pieces known first as not cut by the rule, then as cut by it
     * (another bundle's): their cuts taken. */
    struct loose_known *later = loose_known_new();
    CHECK(later != NULL);
    size_t at = 0;
    for (size_t i = 0; i < first.nseg; i++) {
        CHECK(loose_known_add(later, old + at, first.seg[i].raw_len,
                              first.seg[i].sha256, false));
        at += first.seg[i].raw_len;
    }
    CHECK(same_with_known(NULL, later, old, len, &known, &skipped));
    CHECK(known == first.nseg && skipped == 0);
    know_pieces(later, old, &first);
    CHECK(loose_known_count(later) == first.nseg);
    CHECK(same_with_known(NULL, later, old, len, &known, &skipped));
    CHECK(known == first.nseg && skipped == first.nseg - 1);
    loose_known_free(later);

    /* Bytes the rule cuts at the longest a segment may be (zeros: no
     * cut found), pieces of the same bytes kept once. */
    size_t zlen = 3 * LOOSE_SEGMENT_MAX + 5000;
    unsigned char *zeros = calloc(1, zlen);
    if (!zeros)
        abort();
    struct loose_stream zs = {0};
    CHECK(loose_deflate_blob(NULL, NULL, zeros, zlen, &zs) == 0);
    CHECK(zs.nseg == 4 && zs.seg[0].raw_len == LOOSE_SEGMENT_MAX &&
          zs.seg[2].raw_len == LOOSE_SEGMENT_MAX);
    struct loose_known *zk = loose_known_new();
    CHECK(zk != NULL);
    know_pieces(zk, zeros, &zs);
    CHECK(loose_known_count(zk) == 2);
    CHECK(same_with_known(NULL, zk, zeros, zlen, &known, &skipped));
    CHECK(known == 4 && skipped == 3);
    loose_known_free(zk);
    loose_stream_free(&zs);
    free(zeros);

    /* No table, an empty one: everything hashed. */
    struct loose_known *none = loose_known_new();
    CHECK(none != NULL);
    CHECK(loose_deflate_blob(NULL, none, old, len, &s) == 0);
    CHECK(s.known == 0 && same_stream(&s, &first));
    loose_stream_free(&s);
    loose_known_free(none);
    CHECK(loose_known_find(NULL, old, 100) == NULL);
    loose_known_free(NULL);

    loose_stream_free(&first);
    loose_known_free(k);
    free(edit);
    free(copy);
    free(old);
    remove_git_dir();
}

/* Two threads adding at once (dev's fetch adds pieces while nothing
 * looks up): every piece is there once. */
struct adder {
    struct loose_known *k;
    const unsigned char *data;
    size_t from, n, piece;
};

static void *add_pieces(void *arg)
{
    struct adder *a = arg;
    for (size_t i = a->from; i < a->from + a->n; i++) {
        unsigned char sha[32];
        crypto_hash_sha256(sha, a->data + i * a->piece, a->piece);
        if (!loose_known_add(a->k, a->data + i * a->piece, a->piece, sha,
                             false))
            abort();
    }
    return NULL;
}

static void test_known_threads(void)
{
    size_t piece = 1000, n = 4000;
    unsigned char *d = make_data(piece * n);
    struct loose_known *k = loose_known_new();
    CHECK(k != NULL);
    /* overlapping halves: pieces 1,500 to 2,500 added by both */
    struct adder a = {k, d, 0, 2500, piece}, b = {k, d, 1500, 2500, piece};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, add_pieces, &b) == 0);
    add_pieces(&a);
    pthread_join(t, NULL);
    CHECK(loose_known_count(k) == n);
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char sha[32];
        crypto_hash_sha256(sha, d + i * piece, piece);
        const unsigned char *got = loose_known_find(k, d + i * piece, piece);
        all = all && got && memcmp(got, sha, 32) == 0;
    }
    CHECK(all);
    loose_known_free(k);
    free(d);
}

const struct test loose_deflate_tests[] = {
    {"streams of any size inflate to the blob", test_sizes},
    {"an edit recompresses only the segments around it",
     test_reuse_after_edits},
    {"the bundles' and the sources lists' segments are kept apart",
     test_names_apart},
    {"a damaged segments file is not used", test_damaged_file_unused},
    {"segments kept in a base and a delta", test_delta},
    {"a resealed file of another build, or whose lengths lie, is not used",
     test_resealed_file},
    {"segments equal to known pieces take their SHA-256 and cut, nothing "
     "else",
     test_known_pieces},
    {"known pieces added from two threads at once", test_known_threads},
    {0, 0}};
