/*
 * lastrun.c - the record of the last dev run's inputs and bundles
 * (lastrun.h).
 *
 * File layout (host byte order; the byte-order mark rejects a file from
 * another architecture):
 *
 *   "STRLAST1" | u32 0x01020304 | str compiler | str project
 *   ENV_COUNT x 40 bytes: the bundles' blob ids (hex)
 *   2 x 41 bytes: the branches' commits (hex, NUL-padded) | u64 count
 *   count entries | CACHE_SEAL_BYTES: the seal (cache_file_seal)
 *
 *   entry: str path (relative to the project; "." is the project)
 *          u8 type (0 absent, 1 directory, 2 file)
 *          u64 dev, ino, size | i64 mtime_ns, ctime_ns
 *   str:   u32 length | bytes | NUL
 */
#include "lastrun.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binio.h"
#include "buf.h"
#include "cache_file.h"
#include "kinds.h"
#include "project.h"

#define MAGIC "STRLAST1"
#define BOM 0x01020304u
#define PATH_BYTES 4200

enum entry_type { ENTRY_ABSENT, ENTRY_DIR, ENTRY_FILE };

/* One entry as stat() sees it now: its type, and its stat when present.
 * A symbolic link (or anything else) is ENTRY_ABSENT with *ok false. */
static enum entry_type entry_stat(const char *dir, const char *rel,
                                  struct file_stat *fs, bool *ok)
{
    char full[PATH_BYTES];
    *ok = true;
    memset(fs, 0, sizeof(*fs));
    int n = snprintf(full, sizeof(full), "%s/%s", dir, rel);
    struct stat st;
    if (n < 0 || (size_t)n >= sizeof(full)) {
        *ok = false;
        return ENTRY_ABSENT;
    }
    if (lstat(full, &st) != 0) {
        *ok = errno == ENOENT;
        return ENTRY_ABSENT;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        *ok = false;
        return ENTRY_ABSENT;
    }
    file_stat_set(fs, &st);
    return S_ISDIR(st.st_mode) ? ENTRY_DIR : ENTRY_FILE;
}

bool lastrun_path(const char *git_dir, const char *project_dir, char *buf,
                  size_t size)
{
    return cache_file_project_path(git_dir, "lastrun", project_dir, buf, size);
}

void lastrun_forget(const char *path)
{
    /* One that cannot be removed does no harm: a record vouches only
     * for stats that are still the same, and refs are read live. */
    unlink(path);
}

/* ---- writing --------------------------------------------------------------
 */

static void put_str(rt_buf *o, const char *s)
{
    uint32_t len = (uint32_t)strlen(s);
    rt_buf_put(o, &len, 4);
    rt_buf_put(o, s, len + 1);
}

/* Appends rel's entry; false when the record cannot vouch for it: a
 * link, a stat taken within the racy margin of the run's start, or (for
 * a file read by the run, *read known) a stat that moved since. */
static bool put_entry(rt_buf *o, const char *dir, const char *rel,
                      const struct file_stat *read, int64_t started)
{
    struct file_stat fs;
    bool ok;
    enum entry_type t = entry_stat(dir, rel, &fs, &ok);
    if (!ok || (read && t != ENTRY_FILE))
        return false;
    if ((t != ENTRY_ABSENT && cache_file_racy(&fs, started)) ||
        (read && read->known && !file_stat_same(read, &fs)))
        return false;
    put_str(o, rel);
    unsigned char type = (unsigned char)t;
    rt_buf_put(o, &type, 1);
    rt_buf_put(o, &fs.dev, 8);
    rt_buf_put(o, &fs.ino, 8);
    rt_buf_put(o, &fs.size, 8);
    rt_buf_put(o, &fs.mtime_ns, 8);
    rt_buf_put(o, &fs.ctime_ns, 8);
    return true;
}

/* The entries: the project directory, each kind's directory (once),
 * struere.yaml, every definition file. */
static bool put_entries(rt_buf *o, const struct project *p, int64_t started,
                        uint64_t *count)
{
    if (!put_entry(o, p->dir, ".", NULL, started))
        return false;
    (*count)++;
    for (int k = 0; k < KIND_COUNT; k++) {
        bool seen = false;
        for (int j = 0; j < k; j++)
            seen = seen || !strcmp(kind_table[j].dir, kind_table[k].dir);
        if (seen)
            continue;
        if (!put_entry(o, p->dir, kind_table[k].dir, NULL, started))
            return false;
        (*count)++;
    }
    if (!put_entry(o, p->dir, p->config->path, &p->config->stat, started))
        return false;
    (*count)++;
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++) {
            const struct def *d = &p->defs[k][i];
            if (!put_entry(o, p->dir, d->path, &d->stat, started))
                return false;
            (*count)++;
        }
    return true;
}

int lastrun_save(const char *path, const struct project *p,
                 const struct lastrun_made *m, int64_t started)
{
    char id[200], real[PATH_BYTES];
    if (!p->config || p->diags.n || !cache_file_compiler_id(id, sizeof(id)) ||
        !realpath(p->dir, real)) {
        lastrun_forget(path);
        return -1;
    }
    rt_buf o;
    rt_buf_grow_init(&o);
    rt_buf_put(&o, MAGIC, 8);
    uint32_t bom = BOM;
    rt_buf_put(&o, &bom, 4);
    put_str(&o, id);
    put_str(&o, real);
    for (int e = 0; e < ENV_COUNT; e++)
        rt_buf_put(&o, m->bundle[e], 40);
    for (int i = 0; i < 2; i++)
        rt_buf_put(&o, m->branch[i], 41);
    uint64_t count = 0;
    size_t count_at = o.len;
    rt_buf_put(&o, &count, 8);
    bool vouched = put_entries(&o, p, started, &count);
    int rc = -1;
    if (vouched && !o.failed) {
        memcpy(o.p + count_at, &count, 8);
        rc = cache_file_seal_write(path, &o);
    }
    free(o.p);
    if (rc != 0)
        lastrun_forget(path);
    return rc;
}

/* ---- reading --------------------------------------------------------------
 */

static const char *get_str(struct bin_in *r)
{
    uint32_t len;
    bin_bytes(r, &len, 4);
    if (r->bad || (size_t)(r->end - r->p) <= len || r->p[len] != 0 ||
        memchr(r->p, 0, len)) {
        r->bad = true;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p += len + 1;
    return s;
}

/* Whether the entry at r (read past) still has its stat under dir. */
static bool entry_same(struct bin_in *r, const char *dir)
{
    const char *rel = get_str(r);
    unsigned char type;
    struct file_stat was = {0}, now;
    bin_bytes(r, &type, 1);
    bin_bytes(r, &was.dev, 8);
    bin_bytes(r, &was.ino, 8);
    bin_bytes(r, &was.size, 8);
    bin_bytes(r, &was.mtime_ns, 8);
    bin_bytes(r, &was.ctime_ns, 8);
    /* Paths stay below the project: no absolute path, no ".." (a name
     * with two dots in a row is refused too: the long way then). */
    if (r->bad || !rel[0] || rel[0] == '/' || strstr(rel, ".."))
        return false;
    bool ok;
    enum entry_type t = entry_stat(dir, rel, &now, &ok);
    return ok && t == type && file_stat_same(&now, &was);
}

bool lastrun_unchanged(const char *path, const char *project_dir,
                       struct lastrun_made *m, size_t *files)
{
    char id[200], real[PATH_BYTES];
    if (!cache_file_compiler_id(id, sizeof(id)) || !realpath(project_dir, real))
        return false;
    size_t len = 0;
    unsigned char *data = cache_file_read(path, &len);
    unsigned char tag[CACHE_SEAL_BYTES];
    bool same =
        data && len > 8 + 4 + CACHE_SEAL_BYTES &&
        cache_file_seal(path, false, data, len - CACHE_SEAL_BYTES, tag) &&
        sodium_memcmp(tag, data + len - CACHE_SEAL_BYTES, CACHE_SEAL_BYTES) ==
            0;
    struct bin_in r = {NULL, NULL, false};
    char magic[8];
    uint32_t bom;
    uint64_t count = 0;
    if (same) {
        r.p = data;
        r.end = data + len - CACHE_SEAL_BYTES;
        bin_bytes(&r, magic, 8);
        bin_bytes(&r, &bom, 4);
        const char *rid = get_str(&r), *rdir = get_str(&r);
        for (int e = 0; e < ENV_COUNT; e++) {
            bin_bytes(&r, m->bundle[e], 40);
            m->bundle[e][40] = '\0';
        }
        for (int i = 0; i < 2; i++) {
            bin_bytes(&r, m->branch[i], 41);
            m->branch[i][40] = '\0';
        }
        bin_bytes(&r, &count, 8);
        same = !r.bad && !memcmp(magic, MAGIC, 8) && bom == BOM &&
               !strcmp(rid, id) && !strcmp(rdir, real);
        for (int e = 0; same && e < ENV_COUNT; e++)
            same = strspn(m->bundle[e], "0123456789abcdef") == 40;
    }
    for (uint64_t i = 0; same && i < count; i++)
        same = entry_same(&r, project_dir);
    same = same && count > 0 && r.p == r.end;
    free(data);
    if (same && files)
        *files = (size_t)count;
    return same;
}
