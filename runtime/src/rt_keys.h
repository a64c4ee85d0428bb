/*
 * rt_keys.h - API keys and their records (keys.json on refs/struere/keys):
 * the one definition of both, which the runtime's keystore reads and
 * `struere keys` (compiler/cmd_keys.c) writes, so the two cannot drift:
 * a key's form and its generation, a record's fields and dates, the text
 * a record is signed over.
 */
#ifndef STRUERE_RT_KEYS_H
#define STRUERE_RT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "struere.h"

/* The random part of a key: `struere keys create` writes 40 base62
 * characters; 32 to 128 are accepted, so longer keys from another issuer
 * still parse. A record keeps the prefix and 6 of them (to name the key
 * in `keys list` and `keys revoke`); a message shows at most 4. */
enum {
    RT_KEY_RANDOM = 40,
    RT_KEY_RANDOM_MIN = 32,
    RT_KEY_RANDOM_MAX = 128,
    RT_KEY_PREFIX_KEPT = 6,
    RT_KEY_SHOWN = 4
};

/* Room for any key the form accepts, with its NUL. */
#define RT_KEY_MAX 144
/* Room for a record's "prefix": a key's prefix and RT_KEY_PREFIX_KEPT
 * characters, with its NUL. */
#define RT_KEY_LABEL_MAX 24

/*
 * Checks the form of `key`: sk_dev_|sk_prod_|sk_eval_ then 32 to 128
 * base62 characters. `*env` receives the prefix's STRUERE_ENV_*, `*len`
 * the key's length. STRUERE_EKEY otherwise; messages never quote the key
 * (a malformed one may be a secret pasted in the wrong place).
 */
int rt_key_parse(const char *key, int *env, size_t *prefix_len, size_t *len,
                 struere_error *err);

/* How messages name a key: its prefix and RT_KEY_SHOWN characters, then
 * an ellipsis (never more of a secret). */
void rt_key_label(char *buf, size_t size, const char *key, size_t prefix_len);

/* The label a record keeps of `key` (its "prefix"): the key's prefix and
 * RT_KEY_PREFIX_KEPT characters. The key's form was checked. */
void rt_key_kept(char buf[RT_KEY_LABEL_MAX], const char *key,
                 size_t prefix_len);

/* A new key of environment `env` (STRUERE_ENV_*) from libsodium's
 * generator: its prefix and RT_KEY_RANDOM base62 characters, NUL-ended
 * in `key`. Call sodium_init first. */
void rt_key_generate(char key[RT_KEY_MAX], int env);

/*
 * Reads a key record's date: YYYY-MM-DDTHH:MM:SSZ as `struere keys`
 * writes it, or YYYY-MM-DD (midnight UTC) as a person might, a real date
 * (proleptic Gregorian, years 0000-9999). Returns 1 with the seconds
 * since the epoch in `*t` and, when `canon` is not NULL, the full form
 * (20 characters and a NUL); 0 when the `n` bytes at `s` are not such a
 * date.
 */
int rt_key_date_parse(const char *s, size_t n, int64_t *t, char canon[21]);

/* One record of keys.json, with what the checks need. */
struct rt_key_record {
    unsigned char digest[32]; /* SHA-256 of the key text */
    int env;                  /* STRUERE_ENV_* */
    int revoked;
    /* Not revoked here, but seen revoked before (rt_state.h): keys.json
     * was moved back to before the revocation. Set by the reader that
     * holds a state, never read from keys.json. */
    int revoked_before;
    int expires_set;
    int64_t expires;
    char expires_text[32];
    char revoked_at[32]; /* "" when the record has none */
    /* Its "prefix": the label `keys list` shows and `keys revoke` picks
     * the record by. It is not signed (TRUST.md §5), so an open checks
     * it against the key itself (rt_key_kept): a label moved to another
     * record opens nothing. "" when too long to be a key's. */
    char prefix[RT_KEY_LABEL_MAX];
    struere_json signature; /* {"key", "signature"}, or empty */
};

/*
 * Reads one record of keys.json: every field `struere keys` writes must
 * be there and sound ("sha256" 64 hex digits, "environment", "revoked"
 * true or false, "expires" null or a date, "prefix" a string (which an
 * open requires to be the key's own label, rt_key_kept); "name",
 * "created", "revokedAt" strings or null when present). NULL when it is, with
 * `*r` filled (its signature borrows from `obj`'s text); otherwise what
 * is wrong, to follow "record N " in a message.
 */
const char *rt_key_record_read(struere_json obj, struct rt_key_record *r);

/*
 * Whether an object in `v`, at any depth, has two members of one name
 * (compared decoded: "a" and "\u0061" are one name): 1 with `*name` the
 * later one's key (its JSON text), 0 when none, STRUERE_ENOMEM. Readers
 * differ on such a member (rt_json_member takes the first, jansson the
 * last), so a record that has one says nothing certain: every reader of
 * records refuses it.
 */
int rt_key_named_twice(struere_json v, struere_json *name);

/*
 * Every record of keys.json (`len` bytes): a new array in `*out` (free
 * it), `*count` records. A record that does not read refuses the whole
 * text, since skipping one could skip a revocation: STRUERE_ESTORE,
 * "refs/struere/keys: keys.json record N has no valid ...". So does a
 * record with a member named twice in one object, at any depth ("record
 * N has the member "revoked" twice (line L)"): readers differ on which
 * one counts (jansson takes the last, rt_json_member the first), and
 * `struere keys` must see what the runtime sees. STRUERE_ENOMEM when
 * memory runs out.
 */
int rt_key_records_read(const char *json, size_t len,
                        struct rt_key_record **out, size_t *count,
                        struere_error *err);

/* The text a record is signed over (runtime/TRUST.md §5), NUL-ended in
 * `payload`; its length, or -1 when it does not fit. */
int rt_key_record_payload(const struct rt_key_record *r, char *payload,
                          size_t size);

/* As rt_key_record_payload, from one record's JSON text (`len` bytes):
 * -1 also when it is not a record that reads (rt_key_record_read) or has
 * a member named twice. */
int rt_key_record_text_payload(const char *json, size_t len, char *payload,
                               size_t size);

#endif
