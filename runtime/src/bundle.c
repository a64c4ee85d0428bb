/*
 * bundle.c - reads and verifies bundles (runtime/BUNDLE.md) and answers
 * lookups from the loaded bytes. A bundle is untrusted: every field is read
 * with bounds-checked little-endian loads, and every rule of BUNDLE.md is
 * checked, in its order, before any byte is used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "rt.h"
#include "rt_bundle_trust.h"
#include "rt_env.h"
#include "rt_crc.h"
#include "rt_limits.h"

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* The layout of BUNDLE.md, version 1.0. */
#define HEADER_SIZE 64u
#define ENTRY_SIZE 24u  /* one section table entry */
#define REF_SIZE 8u     /* a string reference: u32 offset, u32 length */
#define RECORD_SIZE 16u /* a table entry: slug and body references */
#define TABLE_HEAD 8u   /* a table section's u32 count, u32 zero */
#define META_REFS 5u
#define MAX_SECTIONS 32u
#define FORMAT_MAJOR 1u

static const unsigned char magic[8] = {0x53, 0x54, 0x52, 0x42,
                                       0x55, 0x4E, 0x44, 0x00};

/* Table section ids by STRUERE_KIND_*, and in which environments each is
 * present (bit 1 << env). */
static const char kind_ids[STRUERE_KIND_COUNT][5] = {
    "AGNT", "DATA", "ROLE", "TOOL", "AUTO", "EVAL", "FIXT"};
#define ENV_BIT(e) (1u << (e))
#define ALL_ENVS                                                               \
    (ENV_BIT(STRUERE_ENV_DEVELOPMENT) | ENV_BIT(STRUERE_ENV_PRODUCTION) |      \
     ENV_BIT(STRUERE_ENV_EVAL))
static const unsigned kind_envs[STRUERE_KIND_COUNT] = {
    ALL_ENVS,
    ALL_ENVS,
    ALL_ENVS,
    ALL_ENVS,
    ENV_BIT(STRUERE_ENV_DEVELOPMENT) | ENV_BIT(STRUERE_ENV_PRODUCTION),
    ENV_BIT(STRUERE_ENV_EVAL),
    ENV_BIT(STRUERE_ENV_EVAL)};

/* Where the sections a reader uses are, found by the verifier. Offsets
 * and sizes fit in size_t: they were checked against the buffer length. */
struct layout {
    unsigned major, minor;
    int env;
    /* The caller vouched for these exact bytes as verified whole before
     * (rt_bundle_open_recorded): the layout is read and bounds-checked as
     * always, the CRCs, strings' NULs and UTF-8 are not computed again. */
    bool recorded;
    size_t strs_off, strs_size;
    size_t meta_off;
    int present[STRUERE_KIND_COUNT];
    size_t table_off[STRUERE_KIND_COUNT]; /* of the first record */
    size_t count[STRUERE_KIND_COUNT];
};

struct struere_bundle {
    unsigned char *bytes;
    size_t len;
    void (*release)(void *); /* frees bytes when set (else free()) */
    void *release_arg;
    struct layout lay;
    const char *meta[META_REFS];
    /* Whether each entry's body was found to be one well-formed JSON
     * value (BODY_*), checked when it is first returned: a bundle's
     * structure is verified whole at open, the JSON of its bodies when a
     * caller asks for one, so opening stays as cheap as reading. Entries
     * of kind k start at first[k]. Written with relaxed atomics: two
     * threads checking the same body store the same answer. */
    unsigned char *body_state;
    size_t first[STRUERE_KIND_COUNT];
};

enum { BODY_UNCHECKED = 0, BODY_VALID = 1, BODY_INVALID = 2 };

const char *struere_strerror(int code)
{
    switch (code) {
    case STRUERE_OK:
        return "success";
    case STRUERE_ENOMEM:
        return "out of memory";
    case STRUERE_EIO:
        return "input/output error";
    case STRUERE_EFORMAT:
        return "not a bundle";
    case STRUERE_EVERSION:
        return "unsupported bundle format version";
    case STRUERE_ETRUNCATED:
        return "bundle truncated or with trailing bytes";
    case STRUERE_ECHECKSUM:
        return "checksum mismatch";
    case STRUERE_EENV:
        return "wrong or invalid environment";
    case STRUERE_ECORRUPT:
        return "corrupt bundle";
    case STRUERE_ENOTFOUND:
        return "not found";
    case STRUERE_EINVAL:
        return "invalid argument";
    case STRUERE_EKEY:
        return "malformed or unknown API key";
    case STRUERE_EREVOKED:
        return "API key revoked";
    case STRUERE_EEXPIRED:
        return "API key expired";
    case STRUERE_ESTORE:
        return "not a readable struere store";
    case STRUERE_EJSON:
        return "invalid JSON";
    case STRUERE_ERANGE:
        return "buffer too small or limit exceeded";
    case STRUERE_EDIGEST:
        return "bundle digest does not match its manifest";
    case STRUERE_EUNAPPROVED:
        return "commit not approved by a promotion statement";
    case STRUERE_ESIGNATURE:
        return "missing or invalid signatures";
    case STRUERE_EREPLAY:
        return "promotion statement older than one already seen";
    case STRUERE_ETRUST:
        return "trust policy not trusted";
    }
    return "unknown error";
}

const char *const rt_env_names[RT_ENV_COUNT] = {"development", "production",
                                                "eval"};
const char *const rt_env_key_prefixes[RT_ENV_COUNT] = {"sk_dev_", "sk_prod_",
                                                       "sk_eval_"};

const char *struere_env_name(int env)
{
    return env >= STRUERE_ENV_DEVELOPMENT && env <= STRUERE_ENV_EVAL
               ? rt_env_names[env - 1]
               : NULL;
}

const char *struere_kind_name(int kind)
{
    static const char *const names[STRUERE_KIND_COUNT] = {
        "agent", "data", "role", "tool", "automation", "eval", "fixture"};
    if (kind < 0 || kind >= STRUERE_KIND_COUNT)
        return NULL;
    return names[kind];
}

/* Little-endian loads; the caller has checked that the bytes exist. */
static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void clear_error(struere_error *err)
{
    if (err) {
        err->code = STRUERE_OK;
        err->offset = 0;
        err->message[0] = '\0';
    }
}

static int fail(struere_error *err, int code, uint64_t offset, const char *fmt,
                ...) PRINTF_LIKE(4, 5);

/* Records a failure in *err (when given) and returns its code. */
static int fail(struere_error *err, int code, uint64_t offset, const char *fmt,
                ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->offset = offset;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A section id as printable text: non-printing bytes become '?'. */
static const char *id_text(const unsigned char *id, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (id[i] >= 0x20 && id[i] < 0x7f) ? (char)id[i] : '?';
    out[4] = '\0';
    return out;
}

/* A string (already checked to be UTF-8) for a message: control bytes
 * become '?', and a long one is cut, on a character boundary, with "...". */
static const char *quote(const unsigned char *s, size_t n, char *out,
                         size_t cap)
{
    size_t max = cap - 4, i;
    int cut = n > max;
    if (cut) {
        n = max;
        while (n > 0 && (s[n] & 0xC0) == 0x80)
            n--;
    }
    for (i = 0; i < n; i++)
        out[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
    if (cut) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* The offset of the first byte of s[0..n) that breaks UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included), or n. */
static size_t utf8_invalid_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII, the common case, eight bytes at a time */
        uint64_t w;
        while (n - i >= 8 && (memcpy(&w, s + i, 8), !(w & 0x8080808080808080u)))
            i += 8;
        if (i >= n)
            break;
        unsigned c = s[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return i;
        }
        if (n - i <= need)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

/* Names a string reference in messages: "META project name" (index < 0)
 * or "AGNT entry 3 slug". Only formatted when a check fails. */
struct ref_name {
    const char *section;
    long index;
    const char *field;
    char text[64];
};

static const char *ref_text(struct ref_name *n)
{
    if (n->index < 0)
        snprintf(n->text, sizeof(n->text), "%s %s", n->section, n->field);
    else
        snprintf(n->text, sizeof(n->text), "%s entry %ld %s", n->section,
                 n->index, n->field);
    return n->text;
}

/*
 * Checks the string reference at bundle offset `at` against the STRS
 * section and stores where its bytes are. `name` says which reference it
 * is, for messages.
 */
static int check_ref(const unsigned char *b, const struct layout *lay,
                     size_t at, struct ref_name name, size_t *s_off,
                     size_t *s_len, struere_error *err)
{
    uint32_t off = rd32(b + at), len = rd32(b + at + 4);
    const unsigned char *strs = b + lay->strs_off;
    if ((uint64_t)off + len >= lay->strs_size)
        return fail(err, STRUERE_ECORRUPT, at,
                    "%s at offset %zu: string (offset %lu, length %lu) runs "
                    "past the end of STRS (%zu bytes)",
                    ref_text(&name), at, (unsigned long)off, (unsigned long)len,
                    lay->strs_size);
    if (strs[off + (size_t)len] != 0)
        return fail(err, STRUERE_ECORRUPT, lay->strs_off + off + (size_t)len,
                    "%s at offset %zu: string (offset %lu, length %lu) is "
                    "not followed by a NUL byte",
                    ref_text(&name), at, (unsigned long)off,
                    (unsigned long)len);
    if (lay->recorded) {
        *s_off = lay->strs_off + off;
        *s_len = len;
        return 0;
    }
    const unsigned char *nul = memchr(strs + off, 0, len);
    if (nul)
        return fail(err, STRUERE_ECORRUPT, (uint64_t)(nul - b),
                    "%s at offset %zu: string (offset %lu, length %lu) "
                    "contains a NUL byte at offset %zu",
                    ref_text(&name), at, (unsigned long)off, (unsigned long)len,
                    (size_t)(nul - b));
    size_t bad = utf8_invalid_at(strs + off, len);
    if (bad < len)
        return fail(err, STRUERE_ECORRUPT, lay->strs_off + off + bad,
                    "%s at offset %zu: invalid UTF-8 (byte 0x%02x at offset "
                    "%zu)",
                    ref_text(&name), at, strs[off + bad],
                    lay->strs_off + off + bad);
    *s_off = lay->strs_off + off;
    *s_len = len;
    return 0;
}

/* Steps 1 to 4 of BUNDLE.md: the header and the section table. */
static int check_header(const unsigned char *b, size_t len, int expected_env,
                        struct layout *lay, struere_error *err)
{
    if (len < HEADER_SIZE) {
        for (size_t i = 0; i < len && i < sizeof(magic); i++)
            if (b[i] != magic[i])
                return fail(err, STRUERE_EFORMAT, i,
                            "not a bundle: bad magic at offset %zu", i);
        return fail(err, STRUERE_ETRUNCATED, len,
                    "truncated: %zu bytes, less than the %u-byte header", len,
                    HEADER_SIZE);
    }
    for (size_t i = 0; i < sizeof(magic); i++)
        if (b[i] != magic[i])
            return fail(err, STRUERE_EFORMAT, i,
                        "not a bundle: bad magic at offset %zu (byte 0x%02x, "
                        "expected 0x%02x)",
                        i, b[i], magic[i]);
    lay->major = rd16(b + 8);
    lay->minor = rd16(b + 10);
    if (lay->major != FORMAT_MAJOR)
        return fail(err, STRUERE_EVERSION, 8,
                    "unsupported format version %u.%u (this reader knows "
                    "major version %u)",
                    lay->major, lay->minor, FORMAT_MAJOR);

    uint64_t total = rd64(b + 24);
    if (total > len)
        return fail(err, STRUERE_ETRUNCATED, len,
                    "truncated: header says %llu bytes, got %zu",
                    (unsigned long long)total, len);
    if (total < len)
        return fail(err, STRUERE_ETRUNCATED, total,
                    "trailing bytes: header says %llu bytes, got %zu",
                    (unsigned long long)total, len);

    unsigned env = b[12];
    if (!struere_env_name((int)env))
        return fail(err, STRUERE_EENV, 12,
                    "invalid environment %u at offset 12 (1 development, 2 "
                    "production, 3 eval)",
                    env);
    if (expected_env && (int)env != expected_env)
        return fail(err, STRUERE_EENV, 12,
                    "bundle is for the %s environment, expected %s",
                    struere_env_name((int)env), struere_env_name(expected_env));
    lay->env = (int)env;
    for (size_t i = 13; i < 16; i++)
        if (b[i] != 0)
            return fail(err, STRUERE_ECORRUPT, i,
                        "reserved header byte at offset %zu is 0x%02x, not "
                        "zero",
                        i, b[i]);

    uint32_t count = rd32(b + 16);
    if (count < 1 || count > MAX_SECTIONS)
        return fail(err, STRUERE_ECORRUPT, 16,
                    "section count %lu out of range (1 to %u)",
                    (unsigned long)count, MAX_SECTIONS);
    size_t table_end = HEADER_SIZE + (size_t)count * ENTRY_SIZE;
    if (table_end > len)
        return fail(err, STRUERE_ECORRUPT, 16,
                    "section table of %lu entries ends at offset %zu, past "
                    "the end of the bundle (%zu bytes)",
                    (unsigned long)count, table_end, len);

    static const unsigned char zero4[4] = {0};
    uint32_t crc = rt_crc32(0, b, 20);
    crc = rt_crc32(crc, zero4, 4);
    crc = rt_crc32(crc, b + 24, HEADER_SIZE - 24);
    crc = rt_crc32(crc, b + HEADER_SIZE, table_end - HEADER_SIZE);
    uint32_t stored = rd32(b + 20);
    if (crc != stored)
        return fail(err, STRUERE_ECHECKSUM, 20,
                    "header CRC mismatch (stored 0x%08lx, computed 0x%08lx)",
                    (unsigned long)stored, (unsigned long)crc);
    return 0;
}

/* Checks that b[from..to) is zero padding of fewer than 8 bytes. */
static int check_padding(const unsigned char *b, size_t from, size_t to,
                         const char *where, struere_error *err)
{
    if (to - from >= 8)
        return fail(err, STRUERE_ECORRUPT, from,
                    "%zu unused bytes at offset %zu %s (padding is at most 7 "
                    "bytes)",
                    to - from, from, where);
    for (size_t i = from; i < to; i++)
        if (b[i] != 0)
            return fail(err, STRUERE_ECORRUPT, i,
                        "padding byte at offset %zu %s is 0x%02x, not zero", i,
                        where, b[i]);
    return 0;
}

/* Step 5: each section's place, padding and CRC. */
static int check_sections(const unsigned char *b, size_t len, bool recorded,
                          struere_error *err)
{
    uint32_t count = rd32(b + 16);
    size_t prev_end = HEADER_SIZE + (size_t)count * ENTRY_SIZE;
    char name[5], other[5], where[64];
    int rc;

    for (uint32_t i = 0; i < count; i++) {
        size_t e = HEADER_SIZE + (size_t)i * ENTRY_SIZE;
        const unsigned char *id = b + e;
        uint64_t off = rd64(b + e + 8), size = rd64(b + e + 16);
        id_text(id, name);
        for (int k = 0; k < 4; k++)
            if (id[k] < 0x20 || id[k] > 0x7e)
                return fail(err, STRUERE_ECORRUPT, e + (size_t)k,
                            "section %lu at offset %zu: id byte 0x%02x is "
                            "not printable ASCII",
                            (unsigned long)i, e, id[k]);
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(b + HEADER_SIZE + (size_t)j * ENTRY_SIZE, id, 4) == 0)
                return fail(err, STRUERE_ECORRUPT, e,
                            "section %s appears twice in the section table",
                            name);
        if (off % 8 != 0)
            return fail(err, STRUERE_ECORRUPT, e + 8,
                        "section %s: offset %llu is not a multiple of 8", name,
                        (unsigned long long)off);
        if (off > len || size > len - off)
            return fail(err, STRUERE_ECORRUPT, e + 16,
                        "section %s at offset %llu: size %llu runs past the "
                        "end of the bundle (%zu bytes)",
                        name, (unsigned long long)off, (unsigned long long)size,
                        len);
        if (off < prev_end) {
            if (i == 0)
                return fail(err, STRUERE_ECORRUPT, e + 8,
                            "section %s at offset %llu starts inside the "
                            "section table (which ends at %zu)",
                            name, (unsigned long long)off, prev_end);
            size_t p = e - ENTRY_SIZE;
            id_text(b + p, other);
            if (off < rd64(b + p + 8))
                return fail(err, STRUERE_ECORRUPT, e + 8,
                            "section %s at offset %llu comes before section "
                            "%s at offset %llu: the table is not sorted by "
                            "offset",
                            name, (unsigned long long)off, other,
                            (unsigned long long)rd64(b + p + 8));
            return fail(err, STRUERE_ECORRUPT, e + 8,
                        "section %s at offset %llu overlaps section %s "
                        "(which ends at %zu)",
                        name, (unsigned long long)off, other, prev_end);
        }
        snprintf(where, sizeof(where), "before section %s", name);
        rc = check_padding(b, prev_end, (size_t)off, where, err);
        if (rc < 0)
            return rc;
        uint32_t stored = rd32(b + e + 4);
        uint32_t crc = recorded ? stored : rt_crc32(0, b + off, (size_t)size);
        if (crc != stored)
            return fail(err, STRUERE_ECHECKSUM, off,
                        "section %s at offset %llu: CRC mismatch (stored "
                        "0x%08lx, computed 0x%08lx)",
                        name, (unsigned long long)off, (unsigned long)stored,
                        (unsigned long)crc);
        prev_end = (size_t)(off + size);
    }
    rc = check_padding(b, prev_end, len, "after the last section", err);
    if (rc < 0)
        return rc;
    if (len % 8 != 0)
        return fail(err, STRUERE_ECORRUPT, 24,
                    "bundle size %zu is not padded to a multiple of 8", len);
    return 0;
}

/* Finds the section `id` in the table: its entry's offset, or 0. */
static size_t find_section(const unsigned char *b, const char *id)
{
    uint32_t count = rd32(b + 16);
    for (uint32_t i = 0; i < count; i++) {
        size_t e = HEADER_SIZE + (size_t)i * ENTRY_SIZE;
        if (memcmp(b + e, id, 4) == 0)
            return e;
    }
    return 0;
}

/* Step 6 for one table section: size, count, references, slug order. */
static int check_table(const unsigned char *b, struct layout *lay, int kind,
                       size_t e, struere_error *err)
{
    const char *id = kind_ids[kind];
    size_t off = (size_t)rd64(b + e + 8), size = (size_t)rd64(b + e + 16);
    char q1[48], q2[48];
    if (size < TABLE_HEAD)
        return fail(err, STRUERE_ECORRUPT, e + 16,
                    "section %s at offset %zu: size %zu is too small for a "
                    "table (at least %u bytes)",
                    id, off, size, TABLE_HEAD);
    uint32_t count = rd32(b + off);
    if (rd32(b + off + 4) != 0)
        return fail(err, STRUERE_ECORRUPT, off + 4,
                    "section %s at offset %zu: reserved field is not zero", id,
                    off);
    uint64_t want = TABLE_HEAD + (uint64_t)count * RECORD_SIZE;
    if (want != size)
        return fail(err, STRUERE_ECORRUPT, off,
                    "section %s at offset %zu: size %zu does not match its "
                    "count %lu (expected %llu bytes)",
                    id, off, size, (unsigned long)count,
                    (unsigned long long)want);

    size_t prev_off = 0, prev_len = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t r = off + TABLE_HEAD + (size_t)i * RECORD_SIZE;
        size_t s_off, s_len, b_off, b_len;
        int rc;
        struct ref_name slug = {id, (long)i, "slug", ""};
        struct ref_name body = {id, (long)i, "body", ""};
        if ((rc = check_ref(b, lay, r, slug, &s_off, &s_len, err)) < 0)
            return rc;
        if ((rc = check_ref(b, lay, r + REF_SIZE, body, &b_off, &b_len, err)) <
            0)
            return rc;
        if (i > 0) {
            size_t n = s_len < prev_len ? s_len : prev_len;
            int c = memcmp(b + prev_off, b + s_off, n);
            if (c > 0 || (c == 0 && prev_len >= s_len))
                return fail(err, STRUERE_ECORRUPT, r,
                            "%s entry %lu at offset %zu: slug \"%s\" does not "
                            "sort after \"%s\"",
                            id, (unsigned long)i, r,
                            quote(b + s_off, s_len, q1, sizeof(q1)),
                            quote(b + prev_off, prev_len, q2, sizeof(q2)));
        }
        prev_off = s_off;
        prev_len = s_len;
    }
    lay->present[kind] = 1;
    lay->table_off[kind] = off + TABLE_HEAD;
    lay->count[kind] = count;
    return 0;
}

/* Step 6: the sections a reader needs, and their contents. */
static int check_contents(const unsigned char *b, struct layout *lay,
                          struere_error *err)
{
    static const char *const meta_names[META_REFS] = {
        "project name", "project version", "organization id",
        "organization name", "compiler version"};
    const char *env = struere_env_name(lay->env);
    size_t strs = find_section(b, "STRS"), meta = find_section(b, "META");
    if (!strs)
        return fail(err, STRUERE_ECORRUPT, HEADER_SIZE,
                    "missing section STRS (the string pool)");
    if (!meta)
        return fail(err, STRUERE_ECORRUPT, HEADER_SIZE, "missing section META");
    lay->strs_off = (size_t)rd64(b + strs + 8);
    lay->strs_size = (size_t)rd64(b + strs + 16);
    lay->meta_off = (size_t)rd64(b + meta + 8);
    if (rd64(b + meta + 16) != META_REFS * REF_SIZE)
        return fail(err, STRUERE_ECORRUPT, meta + 16,
                    "section META at offset %zu: size %llu, expected %u",
                    lay->meta_off, (unsigned long long)rd64(b + meta + 16),
                    META_REFS * REF_SIZE);

    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        size_t e = find_section(b, kind_ids[k]);
        int allowed = (kind_envs[k] & ENV_BIT(lay->env)) != 0;
        lay->present[k] = 0;
        lay->table_off[k] = 0;
        lay->count[k] = 0;
        if (e && !allowed)
            return fail(err, STRUERE_ECORRUPT, e,
                        "section %s is not allowed in %s bundles", kind_ids[k],
                        env);
        if (!e && allowed)
            return fail(err, STRUERE_ECORRUPT, HEADER_SIZE,
                        "missing section %s (required in %s bundles)",
                        kind_ids[k], env);
    }
    for (unsigned i = 0; i < META_REFS; i++) {
        size_t s_off, s_len;
        struct ref_name name = {"META", -1, meta_names[i], ""};
        int rc = check_ref(b, lay, lay->meta_off + i * REF_SIZE, name, &s_off,
                           &s_len, err);
        if (rc < 0)
            return rc;
    }
    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        size_t e = find_section(b, kind_ids[k]);
        if (!e)
            continue;
        int rc = check_table(b, lay, k, e, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The whole verification, keeping what it learnt of the layout. */
static int verify(const unsigned char *b, size_t len, int expected_env,
                  bool recorded, struct layout *lay, struere_error *err)
{
    int rc;
    clear_error(err);
    lay->recorded = recorded;
    if (!b && len > 0)
        return fail(err, STRUERE_EINVAL, 0, "no bytes given");
    if (expected_env != 0 && !struere_env_name(expected_env))
        return fail(err, STRUERE_EINVAL, 0,
                    "invalid expected environment %d (0 for any, or 1 to 3)",
                    expected_env);
    if ((rc = check_header(b, len, expected_env, lay, err)) < 0)
        return rc;
    if ((rc = check_sections(b, len, recorded, err)) < 0)
        return rc;
    return check_contents(b, lay, err);
}

int struere_bundle_verify_header(const void *prefix, size_t avail,
                                 uint64_t total, int expected_env,
                                 struere_error *err)
{
    clear_error(err);
    if ((!prefix && avail) || avail > total ||
        (expected_env && !struere_env_name(expected_env)))
        return fail(err, STRUERE_EINVAL, 0, "invalid argument");
    const unsigned char *b = prefix;
    if (total > SIZE_MAX)
        return fail(err, STRUERE_ECORRUPT, 24, "bundle too large");
    size_t need = HEADER_SIZE;
    if (avail >= HEADER_SIZE) {
        uint32_t count = rd32(b + 16);
        if (count >= 1 && count <= MAX_SECTIONS)
            need = HEADER_SIZE + (size_t)count * ENTRY_SIZE;
    }
    if (avail < need && avail < total)
        return fail(err, STRUERE_EINVAL, avail,
                    "need the first %zu bytes of the bundle, got %zu", need,
                    avail);
    struct layout lay;
    memset(&lay, 0, sizeof(lay));
    /* check_header reads no further than the section table; the length it
     * compares with the header's size is the whole bundle's. */
    return check_header(b, (size_t)total < avail ? avail : (size_t)total,
                        expected_env, &lay, err);
}

int struere_bundle_verify(const void *bytes, size_t len, int expected_env,
                          struere_error *err)
{
    struct layout lay;
    return verify(bytes, len, expected_env, false, &lay, err);
}

void rt_bundle_bodies_known_valid(struere_bundle *b)
{
    if (!b)
        return;
    size_t entries = 0;
    for (int k = 0; k < STRUERE_KIND_COUNT; k++)
        entries += b->lay.count[k];
    memset(b->body_state, BODY_VALID, entries);
}

static void noop_release(void *arg)
{
    (void)arg;
}

/*
 * Opens the verified bundle `bytes` (with its layout), taking ownership of
 * `bytes` on success only. Returns 0 or STRUERE_ENOMEM.
 */
static int adopt(struere_bundle **out, unsigned char *bytes, size_t len,
                 const struct layout *lay, struere_error *err)
{
    struere_bundle *b = malloc(sizeof(*b));
    size_t entries = 0;
    for (int k = 0; k < STRUERE_KIND_COUNT; k++)
        entries += lay->count[k];
    unsigned char *state = b ? calloc(entries ? entries : 1, 1) : NULL;
    if (!state) {
        free(b);
        return fail(err, STRUERE_ENOMEM, 0,
                    "out of memory opening a %zu-byte bundle", len);
    }
    b->body_state = state;
    entries = 0;
    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        b->first[k] = entries;
        entries += lay->count[k];
    }
    b->bytes = bytes;
    b->len = len;
    b->release = NULL;
    b->release_arg = NULL;
    b->lay = *lay;
    for (unsigned i = 0; i < META_REFS; i++) {
        size_t ref = lay->meta_off + i * REF_SIZE;
        b->meta[i] = (const char *)bytes + lay->strs_off + rd32(bytes + ref);
    }
    *out = b;
    return 0;
}

int struere_bundle_open_memory(struere_bundle **out, const void *bytes,
                               size_t len, int expected_env, struere_error *err)
{
    struct layout lay;
    if (!out) {
        clear_error(err);
        return fail(err, STRUERE_EINVAL, 0, "no place to store the bundle");
    }
    *out = NULL;
    int rc = verify(bytes, len, expected_env, false, &lay, err);
    if (rc < 0)
        return rc;
    unsigned char *copy = malloc(len);
    if (!copy)
        return fail(err, STRUERE_ENOMEM, 0,
                    "out of memory copying a %zu-byte bundle", len);
    rt_advise_huge(copy, len);
    memcpy(copy, bytes, len);
    rc = adopt(out, copy, len, &lay, err);
    if (rc < 0)
        free(copy);
    return rc;
}

/* The system's reason for errno `e`, thread-safely. */
const char *rt_sys_reason(int e, char *buf, size_t n)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(e, buf, n);
#else
    if (strerror_r(e, buf, n) != 0)
        snprintf(buf, n, "error %d", e);
    return buf;
#endif
}

int struere_bundle_open_file(struere_bundle **out, const char *path,
                             int expected_env, struere_error *err)
{
    char reason[128];
    clear_error(err);
    if (!out)
        return fail(err, STRUERE_EINVAL, 0, "no place to store the bundle");
    *out = NULL;
    if (!path)
        return fail(err, STRUERE_EINVAL, 0, "no path given");

    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, STRUERE_EIO, 0, "%s: %s", path,
                    rt_sys_reason(errno, reason, sizeof(reason)));
    /* A regular file is read in one go into a buffer of its size (one
     * byte more, to see the end); anything else grows as it comes. */
    size_t cap = 1 << 16, len = 0;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size < RT_LIMIT_BUNDLE_BYTES)
        cap = (size_t)st.st_size + 1;
    unsigned char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        rc = fail(err, STRUERE_ENOMEM, 0, "out of memory reading %s", path);
        goto cleanup;
    }
    rt_advise_huge(buf, cap);
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || len < cap) {
            if (ferror(f)) {
                rc = fail(err, STRUERE_EIO, 0, "%s: %s", path,
                          rt_sys_reason(errno, reason, sizeof(reason)));
                goto cleanup;
            }
            if (feof(f))
                break;
            continue;
        }
        if (cap >= RT_LIMIT_BUNDLE_BYTES) {
            unsigned char extra;
            if (fread(&extra, 1, 1, f) == 0 && feof(f))
                break;
            rc = fail(err, STRUERE_EIO, 0,
                      "%s: larger than %zu bytes, the most a bundle may be",
                      path, (size_t)RT_LIMIT_BUNDLE_BYTES);
            goto cleanup;
        }
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            rc = fail(err, STRUERE_ENOMEM, 0, "out of memory reading %s", path);
            goto cleanup;
        }
        buf = bigger;
        cap *= 2;
        rt_advise_huge(buf, cap);
    }
    /* The buffer read becomes the bundle's own: no second copy. */
    struct layout lay;
    rc = verify(buf, len, expected_env, false, &lay, err);
    if (rc == 0 && len < cap) {
        unsigned char *fit = realloc(buf, len); /* len >= 64 once valid */
        if (fit)
            buf = fit;
    }
    if (rc == 0 && (rc = adopt(out, buf, len, &lay, err)) == 0)
        buf = NULL;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

static int open_owned(struere_bundle **out, const void *bytes, size_t len,
                      int expected_env, bool recorded, void (*release)(void *),
                      void *release_arg, struere_error *err)
{
    struct layout lay;
    *out = NULL;
    int rc = verify(bytes, len, expected_env, recorded, &lay, err);
    if (rc < 0)
        return rc;
    rc = adopt(out, (unsigned char *)bytes, len, &lay, err);
    if (rc < 0)
        return rc;
    (*out)->release = release;
    (*out)->release_arg = release_arg;
    if (!release)
        (*out)->release = noop_release;
    return 0;
}

int rt_bundle_open_owned(struere_bundle **out, const void *bytes, size_t len,
                         int expected_env, void (*release)(void *),
                         void *release_arg, struere_error *err)
{
    return open_owned(out, bytes, len, expected_env, false, release,
                      release_arg, err);
}

int rt_bundle_open_borrowed(struere_bundle **out, const void *bytes, size_t len,
                            int expected_env, struere_error *err)
{
    clear_error(err);
    return rt_bundle_open_owned(out, bytes, len, expected_env, NULL, NULL, err);
}

int rt_bundle_open_taking(struere_bundle **out, void *bytes, size_t len,
                          int expected_env, struere_error *err)
{
    clear_error(err);
    return rt_bundle_open_owned(out, bytes, len, expected_env, free, bytes,
                                err);
}

int rt_bundle_open_recorded(struere_bundle **out, void *bytes, size_t len,
                            int expected_env, struere_error *err)
{
    clear_error(err);
    int rc = open_owned(out, bytes, len, expected_env, true, free, bytes, err);
    if (rc == 0)
        rt_bundle_bodies_known_valid(*out);
    return rc;
}

void struere_bundle_free(struere_bundle *b)
{
    if (!b)
        return;
    if (b->release)
        b->release(b->release_arg);
    else
        free(b->bytes);
    free(b->body_state);
    free(b);
}

static int bundle_get_info(const struere_bundle *b, struere_bundle_info *out)
{
    if (!b || !out)
        return STRUERE_EINVAL;
    memset(out, 0, sizeof(*out));
    out->major = b->lay.major;
    out->minor = b->lay.minor;
    out->environment = b->lay.env;
    out->size = b->len;
    memcpy(out->source_digest, b->bytes + 32, sizeof(out->source_digest));
    out->project_name = b->meta[0];
    out->project_version = b->meta[1];
    out->organization_id = b->meta[2];
    out->organization_name = b->meta[3];
    out->compiler_version = b->meta[4];
    for (int k = 0; k < STRUERE_KIND_COUNT; k++)
        out->counts[k] = b->lay.count[k];
    return 0;
}

int struere_bundle_get_info(struere_bundle_info *out, const struere_bundle *b,
                            struere_error *err)
{
    return rt_result(err, bundle_get_info(b, out), "struere_bundle_get_info");
}

size_t struere_bundle_count(const struere_bundle *b, int kind)
{
    if (!b || kind < 0 || kind >= STRUERE_KIND_COUNT)
        return 0;
    return b->lay.count[kind];
}

/* The string referenced at bundle offset `at` (checked when opened). */
static const char *string_at(const struere_bundle *b, size_t at, size_t *len)
{
    *len = rd32(b->bytes + at + 4);
    return (const char *)b->bytes + b->lay.strs_off + rd32(b->bytes + at);
}

/* Whether the body of entry `index` of `kind` (`n` bytes at `body`) is
 * one well-formed JSON object, checked once per entry. */
static int body_valid(const struere_bundle *b, int kind, size_t index,
                      const char *body, size_t n)
{
    unsigned char *state = &b->body_state[b->first[kind] + index];
    unsigned char st = __atomic_load_n(state, __ATOMIC_RELAXED);
    if (st == BODY_UNCHECKED) {
        struere_json v;
        st = rt_json_value(body, n, &v) == 0 &&
                     rt_json_kind(v) == STRUERE_JSON_OBJECT
                 ? BODY_VALID
                 : BODY_INVALID;
        __atomic_store_n(state, st, __ATOMIC_RELAXED);
    }
    return st == BODY_VALID;
}

static int bundle_entry(const struere_bundle *b, int kind, size_t index,
                        const char **slug, const char **body, size_t *body_len)
{
    size_t n;
    if (!b || kind < 0 || kind >= STRUERE_KIND_COUNT)
        return STRUERE_EINVAL;
    if (!b->lay.present[kind] || index >= b->lay.count[kind])
        return STRUERE_ENOTFOUND;
    size_t r = b->lay.table_off[kind] + index * RECORD_SIZE;
    const char *body_s = string_at(b, r + REF_SIZE, &n);
    if ((body || body_len) && !body_valid(b, kind, index, body_s, n))
        return STRUERE_ECORRUPT;
    return rt_bundle_body(b, kind, index, slug, body, body_len);
}

int struere_bundle_entry(const char **slug, const char **body, size_t *body_len,
                         const struere_bundle *b, int kind, size_t index,
                         struere_error *err)
{
    return rt_result(err, bundle_entry(b, kind, index, slug, body, body_len),
                     "struere_bundle_entry");
}

int rt_bundle_body(const struere_bundle *b, int kind, size_t index,
                   const char **slug, const char **body, size_t *body_len)
{
    size_t n;
    if (!b->lay.present[kind] || index >= b->lay.count[kind])
        return STRUERE_ENOTFOUND;
    size_t r = b->lay.table_off[kind] + index * RECORD_SIZE;
    const char *s = string_at(b, r, &n);
    const char *body_s = string_at(b, r + REF_SIZE, &n);
    if (slug)
        *slug = s;
    if (body)
        *body = body_s;
    if (body_len)
        *body_len = n;
    return 0;
}

int rt_bundle_find(const struere_bundle *b, int kind, const char *slug,
                   size_t want, size_t *index)
{
    if (!b->lay.present[kind])
        return 0;
    size_t lo = 0, hi = b->lay.count[kind];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, n;
        size_t r = b->lay.table_off[kind] + mid * RECORD_SIZE;
        const char *s = string_at(b, r, &n);
        int c = memcmp(s, slug, n < want ? n : want);
        if (c == 0)
            c = n < want ? -1 : n > want;
        if (c == 0) {
            *index = mid;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int bundle_lookup(const struere_bundle *b, int kind, const char *slug,
                         const char **body, size_t *body_len)
{
    size_t index;
    if (!b || !slug || kind < 0 || kind >= STRUERE_KIND_COUNT)
        return STRUERE_EINVAL;
    if (!rt_bundle_find(b, kind, slug, strlen(slug), &index))
        return STRUERE_ENOTFOUND;
    return struere_bundle_entry(NULL, body, body_len, b, kind, index, NULL);
}

int struere_bundle_lookup(const char **body, size_t *body_len,
                          const struere_bundle *b, int kind, const char *slug,
                          struere_error *err)
{
    return rt_result(err, bundle_lookup(b, kind, slug, body, body_len),
                     "struere_bundle_lookup");
}

const void *struere_bundle_bytes(const struere_bundle *b, size_t *len)
{
    if (!b)
        return NULL;
    if (len)
        *len = b->len;
    return b->bytes;
}

void rt_clear(struere_error *err)
{
    clear_error(err);
}

int rt_fail(struere_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        err->offset = 0;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}
