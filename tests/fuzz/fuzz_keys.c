/*
 * fuzz_keys.c - libFuzzer target for the API key checks of an open: the
 * key's form, its record in keys.json (found by SHA-256 in constant
 * time), prefix against record, the record's label against the key,
 * revoked, expired (rt_key_check, the very functions
 * struere_runtime_open_key runs on the store's keys.json). The planted
 * records carry the planted keys' labels ("sk_dev_012345"), so that the
 * checks after the label's are reached.
 *
 * Input: the key, a newline, then keys.json. Byte 0 of the key, when it
 * is one of '0'..'2', is replaced by a well-formed key whose digest is
 * planted in the records' first "sha256" (so the fuzzer reaches the
 * record checks, not only "no record matches"). Checked on every call:
 * the code is one the header allows, *err agrees with it, a success names
 * a valid environment, and no message ever quotes more than the key's
 * prefix and 4 characters.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const planted[] = {
    "sk_dev_0123456789abcdefghijABCDEFGHIJklmnopqrst",
    "sk_prod_0123456789abcdefghijABCDEFGHIJklmnopqrst",
    "sk_eval_0123456789abcdefghijABCDEFGHIJklmnopqrst"};

/* Replaces the first "sha256":"…64 hex…" value with the key's digest. */
static void plant(char *json, size_t len, const char *key)
{
    static const char tag[] = "\"sha256\":\"";
    unsigned char d[32];
    char hex[65];
    char *at = memmem(json, len, tag, sizeof(tag) - 1);
    if (!at || (size_t)(json + len - at) < sizeof(tag) - 1 + 64)
        return;
    crypto_hash_sha256(d, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
    memcpy(at + sizeof(tag) - 1, hex, 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t klen = nl ? (size_t)(nl - data) : size;
    char *key = malloc(klen + 1), *json = NULL;
    size_t jlen = nl ? size - klen - 1 : 0;
    if (!key)
        return 0;
    memcpy(key, data, klen);
    key[klen] = 0;
    json = malloc(jlen + 1);
    if (!json) {
        free(key);
        return 0;
    }
    memcpy(json, nl ? (const char *)nl + 1 : "", jlen);
    json[jlen] = 0;
    if (klen >= 1 && key[0] >= '0' && key[0] <= '2') {
        const char *k = planted[key[0] - '0'];
        free(key);
        key = strdup(k);
        if (!key) {
            free(json);
            return 0;
        }
        plant(json, jlen, key);
    }
    struere_error err;
    int env = -1;
    int rc = rt_key_check(json, jlen, key, 1800000000, &env, &err);
    switch (rc) {
    case 0:
        if (env < STRUERE_ENV_DEVELOPMENT || env > STRUERE_ENV_EVAL)
            abort();
        break;
    case STRUERE_EKEY:
    case STRUERE_EREVOKED:
    case STRUERE_EEXPIRED:
    case STRUERE_ESTORE:
    case STRUERE_ENOMEM:
        if (err.code != rc || !err.message[0])
            abort();
        break;
    default:
        abort();
    }
    /* Never more of the key than its prefix and 4 characters. */
    const char *u = strchr(key, '_') ? strchr(strchr(key, '_') + 1, '_') : NULL;
    if (rc < 0 && u && strlen(u + 1) > 4) {
        size_t shown = (size_t)(u + 1 - key) + 5;
        if (strlen(key) >= shown &&
            memmem(err.message, strlen(err.message), key, shown))
            abort();
    }
    free(key);
    free(json);
    return 0;
}
