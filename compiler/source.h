/*
 * source.h - a definition file's bytes, its display path, and the map from
 * byte offsets to 1-based line and column used by every diagnostic.
 */
#ifndef STRUERE_SOURCE_H
#define STRUERE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct stat;

/* What stat() said of a definition file when it was read: the cache of
 * parsed definitions (defcache.c) trusts an entry while it still holds. */
struct file_stat {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
    bool known; /* false: not read from a file (the fuzzer, errors) */
};
/* What of st a file_stat keeps. */
void file_stat_set(struct file_stat *fs, const struct stat *st);
/* Whether a and b say the same of a file (known aside). */
bool file_stat_same(const struct file_stat *a, const struct file_stat *b);

struct source {
    const char *path; /* as shown to the user, relative to the project */
    const char *text; /* NUL-terminated copy of the file, after its BOM */
    size_t len;
    unsigned skipped; /* bytes of a UTF-8 byte order mark before text */
    /* Offsets of each line's first byte: 32 bits, as sources are far
     * smaller than 4 GiB (LIMIT_FILE_BYTES; source_adopt refuses more). */
    uint32_t *line_starts;
    size_t nlines;
    /* text not read (a definition restored from the cache), or let go
     * once parsed (source_release): report.c's quotes read it back */
    bool unread;
    bool owned;  /* text and line_starts are on the heap (source_release) */
    unsigned id; /* names this source in a node (source_get) */
    /* The file's stat when it was read (or, restored, when its tree was
     * cached): a quote is read back only from the same file. NULL:
     * unknown. */
    const struct file_stat *stat;
};

/* Makes a source from bytes already in memory (copied into the arena). */
struct source *source_from_bytes(struct arena *a, const char *path,
                                 const char *bytes, size_t len);
/* Makes a source that takes over text (arena memory, NUL-terminated).
 * Both skip a leading UTF-8 byte order mark: it is not content, and
 * line 1's columns count from after it. */
struct source *source_adopt(struct arena *a, const char *path, char *text,
                            size_t len);
/* As source_adopt, for text on the heap (malloc'd, NUL-terminated), which
 * it takes over whatever happens: source_release lets it go. NULL out of
 * memory. */
struct source *source_adopt_owned(struct arena *a, const char *path, char *text,
                                  size_t len);
/* Frees the text and line table of a source made by source_adopt_owned
 * and marks it unread; diagnostics keep their positions, and a report
 * reads the lines it quotes back from the file. Does nothing to others. */
void source_release(struct source *s);
/* The source of id (struct source's id), or NULL for 0. Ids let a tree
 * node name its file in 4 bytes instead of a pointer; an id is valid until
 * the arena its source was made in is freed, and is then reused. */
const struct source *source_get(unsigned id);
/* The length of the line break at p (before end): 2 for \r\n, 1 for \n
 * or a lone \r, 0 when p starts none. Lines end so in the line table, as
 * YAML and CommonMark end them. */
static inline size_t source_break_len(const char *p, const char *end)
{
    if (p >= end || (*p != '\n' && *p != '\r'))
        return 0;
    return *p == '\r' && p + 1 < end && p[1] == '\n' ? 2 : 1;
}
/* Byte offset to 1-based line and column (columns count characters). */
void source_position(const struct source *s, size_t offset, int *line,
                     int *col);
/* The text of 1-based line, without its line break; *len receives its length.
 * Returns NULL when the line does not exist. */
const char *source_line(const struct source *s, int line, size_t *len);
/* Reads up to len bytes from fd into buf, retrying when interrupted;
 * returns how many it read (fewer at the end of the file or an error). */
size_t read_all(int fd, void *buf, size_t len);
/* Writes len bytes of buf to fd, retrying when interrupted; returns how
 * many it wrote (fewer on an error). */
size_t write_all(int fd, const void *buf, size_t len);
/* Returns the offset of the first invalid UTF-8 sequence, or (size_t)-1
 * when the whole buffer is valid. */
size_t utf8_first_invalid(const char *s, size_t len);

#endif
