/*
 * keys.c - API keys and their records (rt_keys.h), shared by the
 * runtime's keystore and the `struere keys` command: a key's form and
 * generation, a record's fields and dates, its signed text.
 */
#include "rt_keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_env.h"
#include "rt_json.h"

#define KEYS_WHERE "refs/struere/keys: keys.json"

/* ---- the key ---- */

static int base62(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

void rt_key_label(char *buf, size_t size, const char *key, size_t prefix_len)
{
    snprintf(buf, size, "%.*s\xe2\x80\xa6", (int)(prefix_len + RT_KEY_SHOWN),
             key);
}

int rt_key_parse(const char *key, int *env, size_t *prefix_len, size_t *len,
                 struere_error *err)
{
    if (!key || !*key)
        return rt_fail(err, STRUERE_EKEY, "no API key given");
    const char *prefix = NULL;
    int kind_env = 0;
    for (int i = 0; i < RT_ENV_COUNT; i++)
        if (!strncmp(key, rt_env_key_prefixes[i],
                     strlen(rt_env_key_prefixes[i]))) {
            prefix = rt_env_key_prefixes[i];
            kind_env = i + 1; /* STRUERE_ENV_* */
        }
    if (!prefix)
        return rt_fail(err, STRUERE_EKEY,
                       "the API key does not start with sk_dev_, sk_prod_ "
                       "or sk_eval_");
    size_t plen = strlen(prefix);
    size_t n = strnlen(key + plen, RT_KEY_RANDOM_MAX + 1);
    if (n < RT_KEY_RANDOM_MIN)
        return rt_fail(err, STRUERE_EKEY,
                       "the API key is too short: %zu characters after %s, "
                       "at least %d needed",
                       n, prefix, RT_KEY_RANDOM_MIN);
    if (n > RT_KEY_RANDOM_MAX)
        return rt_fail(err, STRUERE_EKEY,
                       "the API key is too long: more than %d characters "
                       "after %s",
                       RT_KEY_RANDOM_MAX, prefix);
    for (size_t i = 0; i < n; i++)
        if (!base62((unsigned char)key[plen + i]))
            return rt_fail(err, STRUERE_EKEY,
                           "the API key has a character that is not base62 "
                           "(0-9, A-Z, a-z) at position %zu",
                           plen + i + 1);
    *env = kind_env;
    *prefix_len = plen;
    *len = plen + n;
    return 0;
}

void rt_key_kept(char buf[RT_KEY_LABEL_MAX], const char *key, size_t prefix_len)
{
    snprintf(buf, RT_KEY_LABEL_MAX, "%.*s",
             (int)(prefix_len + RT_KEY_PREFIX_KEPT), key);
}

void rt_key_generate(char key[RT_KEY_MAX], int env)
{
    static const char alphabet[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t k =
        (size_t)snprintf(key, RT_KEY_MAX, "%s", rt_env_key_prefixes[env - 1]);
    for (int i = 0; i < RT_KEY_RANDOM; i++)
        key[k++] = alphabet[randombytes_uniform(62)];
    key[k] = '\0';
}

/* ---- dates ---- */

static int digits(const char *s, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int rt_key_date_parse(const char *s, size_t n, int64_t *t, char canon[21])
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!(n == 10 || n == 20) || !digits(s, 4, &y) || s[4] != '-' ||
        !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d))
        return 0;
    if (n == 20 && (s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
                    !digits(s + 14, 2, &mi) || s[16] != ':' ||
                    !digits(s + 17, 2, &se) || s[19] != 'Z'))
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
        h > 23 || mi > 59 || se > 59)
        return 0;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    if (canon) {
        char full[64]; /* what the compiler cannot tell the ranges allow */
        snprintf(full, sizeof(full), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d,
                 h, mi, se);
        memcpy(canon, full, 21);
    }
    return 1;
}

/* ---- records ---- */

/* Decodes the JSON string `v` into `buf`: 1, or 0 when `v` is not a
 * string, does not fit (with its NUL) in `cap` bytes or holds a NUL. */
static int json_text(struere_json v, char *buf, size_t cap, size_t *len)
{
    if (rt_json_kind(v) != STRUERE_JSON_STRING || rt_json_str_len(v) >= cap)
        return 0;
    *len = rt_json_str_decode(v, buf);
    return strlen(buf) == *len;
}

/* `n` hex digits of either case into `out` (n / 2 bytes): 1, or 0. */
static int hex_read(const char *s, size_t n, unsigned char *out, size_t size)
{
    if (n != 2 * size)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int v = rt_hex_digit(s[i]);
        if (v < 0)
            return 0;
        out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return 1;
}

const char *rt_key_record_read(struere_json obj, struct rt_key_record *r)
{
    struere_json v;
    char text[80];
    size_t n;
    int64_t ignored;
    memset(r, 0, sizeof(*r));
    if (rt_json_kind(obj) != STRUERE_JSON_OBJECT)
        return "is not an object";
    if (rt_json_member(obj, "sha256", 6, &v) != 1 ||
        !json_text(v, text, sizeof(text), &n) ||
        !hex_read(text, n, r->digest, sizeof(r->digest)))
        return "has no valid \"sha256\" (64 hex digits)";
    r->env = 0;
    if (rt_json_member(obj, "environment", 11, &v) == 1 &&
        json_text(v, text, sizeof(text), &n))
        for (int e = 0; e < RT_ENV_COUNT; e++)
            if (!strcmp(text, rt_env_names[e]))
                r->env = e + 1;
    if (!r->env)
        return "has no valid \"environment\" (development, production or "
               "eval)";
    int kind = rt_json_member(obj, "revoked", 7, &v) == 1 ? rt_json_kind(v) : 0;
    if (kind != STRUERE_JSON_TRUE && kind != STRUERE_JSON_FALSE)
        return "has no \"revoked\" flag (true or false)";
    r->revoked = kind == STRUERE_JSON_TRUE;
    if (rt_json_member(obj, "expires", 7, &v) == 1 &&
        rt_json_kind(v) != STRUERE_JSON_NULL) {
        if (!json_text(v, r->expires_text, sizeof(r->expires_text), &n) ||
            !rt_key_date_parse(r->expires_text, n, &r->expires, NULL))
            return "has an \"expires\" that is not null or a date "
                   "(YYYY-MM-DDTHH:MM:SSZ)";
        r->expires_set = 1;
    }
    if (rt_json_member(obj, "prefix", 6, &v) != 1 ||
        rt_json_kind(v) != STRUERE_JSON_STRING)
        return "has no \"prefix\" (a string)";
    if (!json_text(v, r->prefix, sizeof(r->prefix), &n))
        r->prefix[0] = '\0'; /* longer than a key's label: it names none */
    static const char *const texts[] = {"name", "created", "revokedAt"};
    static const char *const problems[] = {
        "has a \"name\" that is not a string",
        "has a \"created\" that is not a string",
        "has a \"revokedAt\" that is not a string"};
    for (size_t i = 0; i < 3; i++)
        if (rt_json_member(obj, texts[i], strlen(texts[i]), &v) == 1 &&
            rt_json_kind(v) != STRUERE_JSON_STRING &&
            rt_json_kind(v) != STRUERE_JSON_NULL)
            return problems[i];
    if (rt_json_member(obj, "signature", 9, &v) == 1)
        r->signature = v;
    /* Only for messages: shown when it reads as a date. */
    if (rt_json_member(obj, "revokedAt", 9, &v) == 1 &&
        (!json_text(v, r->revoked_at, sizeof(r->revoked_at), &n) ||
         !rt_key_date_parse(r->revoked_at, n, &ignored, NULL)))
        r->revoked_at[0] = '\0';
    return NULL;
}

/* ---- members named twice ---- */

/* Objects of up to this many members are checked without allocating (a
 * record as `struere keys` writes it has 7 to 9). */
#define SMALL_OBJECT 16

static int name_order(const void *a, const void *b)
{
    return rt_json_str_cmp(*(const struere_json *)a, *(const struere_json *)b);
}

/* Sorting the names keeps a record of a million members (keys.json may
 * hold 16 MiB) from taking a million squared comparisons. */
int rt_key_named_twice(struere_json v, struere_json *name)
{
    rt_json_it it;
    struere_json k, val, small[SMALL_OBJECT], *names = small;
    size_t n = 0, cap = SMALL_OBJECT;
    int kind = rt_json_kind(v), rc = 0;
    if (kind != STRUERE_JSON_OBJECT && kind != STRUERE_JSON_ARRAY)
        return 0;
    rt_json_iter(v, kind, &it);
    while (rc == 0 && rt_json_next(&it, &k, &val) == 1) {
        rc = rt_key_named_twice(val, name);
        if (rc || kind != STRUERE_JSON_OBJECT)
            continue;
        if (n == cap) {
            struere_json *more =
                realloc(names == small ? NULL : names, 2 * cap * sizeof(k));
            if (!more) {
                rc = STRUERE_ENOMEM;
                break;
            }
            if (names == small)
                memcpy(more, small, sizeof(small));
            names = more;
            cap *= 2;
        }
        names[n++] = k;
    }
    if (rc == 0 && n > 1) {
        qsort(names, n, sizeof(*names), name_order);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (name_order(&names[i - 1], &names[i]) == 0) {
                *name =
                    names[i].ptr > names[i - 1].ptr ? names[i] : names[i - 1];
                rc = 1;
            }
    }
    if (names != small)
        free(names);
    return rc;
}

/* The line (from 1) of `at` in `text`. */
static size_t line_of(const char *text, const char *at)
{
    size_t line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

int rt_key_records_read(const char *json, size_t len,
                        struct rt_key_record **out, size_t *count,
                        struere_error *err)
{
    struere_json all, v;
    rt_json_it it;
    size_t n = 0, cap = 0;
    struct rt_key_record *records = NULL;
    int rc;
    *out = NULL;
    *count = 0;
    if (rt_json_value(json, len, &all) < 0 ||
        rt_json_iter(all, STRUERE_JSON_ARRAY, &it) < 0)
        return rt_fail(err, STRUERE_ESTORE,
                       KEYS_WHERE " is not a JSON list of key records");
    while ((rc = rt_json_next(&it, NULL, &v)) == 1) {
        if (n == cap) {
            size_t grown = cap ? 2 * cap : 16;
            struct rt_key_record *more =
                realloc(records, grown * sizeof(*records));
            if (!more) {
                free(records);
                return rt_fail(err, STRUERE_ENOMEM,
                               "out of memory reading " KEYS_WHERE);
            }
            records = more;
            cap = grown;
        }
        struere_json twice;
        int dup = rt_key_named_twice(v, &twice);
        const char *why = dup ? NULL : rt_key_record_read(v, &records[n]);
        if (dup) {
            sodium_memzero(records, n * sizeof(*records));
            free(records);
            if (dup < 0)
                return rt_fail(err, dup, "out of memory reading " KEYS_WHERE);
            return rt_fail(err, STRUERE_ESTORE,
                           KEYS_WHERE " record %zu has the member %.*s twice "
                                      "(line %zu)",
                           n + 1, (int)(twice.len < 64 ? twice.len : 64),
                           twice.ptr, line_of(json, twice.ptr));
        }
        if (why) {
            sodium_memzero(records, n * sizeof(*records));
            free(records);
            return rt_fail(err, STRUERE_ESTORE, KEYS_WHERE " record %zu %s",
                           n + 1, why);
        }
        n++;
    }
    if (rc < 0) { /* unreachable: rt_json_value validated the whole text */
        free(records);
        return rt_fail(err, STRUERE_ESTORE, KEYS_WHERE " is not valid JSON");
    }
    *out = records;
    *count = n;
    return 0;
}

int rt_key_record_payload(const struct rt_key_record *r, char *payload,
                          size_t size)
{
    char hex[65];
    rt_hex_encode(r->digest, 32, hex);
    int n = snprintf(payload, size,
                     "sha256=%s\nenvironment=%s\nrevoked=%s\nexpires=%s\n", hex,
                     rt_env_names[r->env - 1], r->revoked ? "true" : "false",
                     r->expires_set ? r->expires_text : "null");
    return n >= 0 && (size_t)n < size ? n : -1;
}

int rt_key_record_text_payload(const char *json, size_t len, char *payload,
                               size_t size)
{
    struere_json v, twice;
    struct rt_key_record r;
    if (rt_json_value(json, len, &v) < 0 || rt_key_named_twice(v, &twice) ||
        rt_key_record_read(v, &r))
        return -1;
    return rt_key_record_payload(&r, payload, size);
}
