/*
 * source.c - line maps and UTF-8 validation for definition files, and the
 * loops that read and write a whole file.
 */
#include "source.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "utf8.h"

/*
 * Source ids: a table of pointers in chunks that never move, so reading
 * one needs no lock (a node's id was handed out before the node was
 * shared). Ids come back when their arena is freed, so a long `dev`
 * session does not grow the table; the free ids are chained through the
 * chunks, so giving one back allocates nothing.
 */
enum { CHUNK_BITS = 12, CHUNK = 1u << CHUNK_BITS, CHUNKS = 1u << 16 };

struct chunk {
    const struct source *src[CHUNK];
    unsigned next_free[CHUNK];
};

static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk *chunks[CHUNKS];
static unsigned next_id = 1; /* 0 is "no source" */
static unsigned free_id;     /* the chain of free ids; 0 ends it */

static void release_id(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    struct chunk *c = chunks[id >> CHUNK_BITS];
    pthread_mutex_lock(&ids_lock);
    c->src[id & (CHUNK - 1)] = NULL;
    c->next_free[id & (CHUNK - 1)] = free_id;
    free_id = id;
    pthread_mutex_unlock(&ids_lock);
}

/* Gives s an id, released when a is freed. 0, or -1 (out of memory, or
 * more sources alive than ids). */
static int register_source(struct arena *a, struct source *s)
{
    unsigned id = 0;
    pthread_mutex_lock(&ids_lock);
    if (free_id) {
        id = free_id;
        free_id = chunks[id >> CHUNK_BITS]->next_free[id & (CHUNK - 1)];
    } else if (next_id < CHUNK * CHUNKS) {
        unsigned c = next_id >> CHUNK_BITS;
        if (!chunks[c])
            chunks[c] = calloc(1, sizeof(*chunks[c]));
        if (chunks[c])
            id = next_id++;
    }
    if (id)
        chunks[id >> CHUNK_BITS]->src[id & (CHUNK - 1)] = s;
    pthread_mutex_unlock(&ids_lock);
    if (!id) {
        a->failed = 1;
        return -1;
    }
    if (arena_on_free(a, release_id, (void *)(uintptr_t)id) < 0) {
        release_id((void *)(uintptr_t)id);
        return -1;
    }
    s->id = id;
    return 0;
}

const struct source *source_get(unsigned id)
{
    return id ? chunks[id >> CHUNK_BITS]->src[id & (CHUNK - 1)] : NULL;
}

struct source *source_from_bytes(struct arena *a, const char *path,
                                 const char *bytes, size_t len)
{
    char *text = arena_strndup(a, bytes, len);
    return text ? source_adopt(a, path, text, len) : NULL;
}

/* source_adopt; the line table on the heap when owned. */
static struct source *adopt(struct arena *a, const char *path, char *text,
                            size_t len, bool owned)
{
    struct source *s = arena_alloc(a, sizeof(*s));
    if (!s || !(s->path = arena_strdup(a, path)) || register_source(a, s) < 0)
        return NULL;
    s->skipped = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        text += 3;
        len -= 3;
        s->skipped = 3;
    }
    if (len > UINT32_MAX)
        return NULL;
    const char *end = text + len, *p;
    s->text = text;
    s->len = len;
    /* Lines end as source_break_len says (so the parsers' line numbers
     * are ours, except after the U+0085, U+2028 and U+2029 that libyaml
     * also counts: rare, and no editor shows them so). memchr is
     * vectorised: the passes run at memory speed; a lone \r (a rare
     * file) costs a byte-by-byte one. */
    size_t n = 1, lone_cr = 0;
    for (p = text; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    for (p = text; (p = memchr(p, '\r', (size_t)(end - p))); p++)
        if (source_break_len(p, end) == 1)
            lone_cr++;
    n += lone_cr;
    s->line_starts = owned ? malloc(n * sizeof(*s->line_starts))
                           : arena_alloc(a, n * sizeof(*s->line_starts));
    if (!s->line_starts) {
        a->failed = 1;
        return NULL;
    }
    s->owned = owned;
    s->nlines = n;
    size_t k = 0;
    s->line_starts[k++] = 0;
    if (!lone_cr)
        for (p = text; (p = memchr(p, '\n', (size_t)(end - p))); p++)
            s->line_starts[k++] = (uint32_t)(p - text) + 1;
    else
        for (p = text; p < end;) {
            size_t b = source_break_len(p, end);
            p += b ? b : 1;
            if (b)
                s->line_starts[k++] = (uint32_t)(p - text);
        }
    return s;
}

struct source *source_adopt(struct arena *a, const char *path, char *text,
                            size_t len)
{
    return adopt(a, path, text, len, false);
}

struct source *source_adopt_owned(struct arena *a, const char *path, char *text,
                                  size_t len)
{
    struct source *s = adopt(a, path, text, len, true);
    if (!s)
        free(text);
    return s;
}

void source_release(struct source *s)
{
    if (!s || !s->owned)
        return;
    free((char *)s->text - s->skipped);
    free(s->line_starts);
    s->owned = false;
    s->text = "";
    s->len = 0;
    s->skipped = 0;
    s->line_starts = NULL;
    s->nlines = 0;
    s->unread = true;
}

size_t read_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

size_t write_all(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    return done;
}

void source_position(const struct source *s, size_t offset, int *line, int *col)
{
    if (offset > s->len)
        offset = s->len;
    size_t lo = 0, hi = s->nlines;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->line_starts[mid] <= offset)
            lo = mid;
        else
            hi = mid;
    }
    int c = 1;
    for (size_t i = s->line_starts[lo]; i < offset; i++)
        if (((unsigned char)s->text[i] & 0xC0) != 0x80)
            c++;
    *line = (int)lo + 1;
    *col = c;
}

const char *source_line(const struct source *s, int line, size_t *len)
{
    if (line < 1 || (size_t)line > s->nlines)
        return NULL;
    size_t start = s->line_starts[line - 1];
    size_t end = start;
    while (end < s->len && !source_break_len(s->text + end, s->text + s->len))
        end++;
    *len = end - start;
    return s->text + start;
}

size_t utf8_first_invalid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII, eight bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        size_t n = rt_utf8_seq(s + i, s + len);
        if (!n)
            return i;
        i += n;
    }
    return (size_t)-1;
}

bool file_stat_same(const struct file_stat *a, const struct file_stat *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

void file_stat_set(struct file_stat *fs, const struct stat *st)
{
    *fs = (struct file_stat){
        .dev = (uint64_t)st->st_dev,
        .ino = (uint64_t)st->st_ino,
        .size = (uint64_t)st->st_size,
        .mtime_ns =
            (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
        .ctime_ns =
            (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
        .known = true,
    };
}
