/*
 * fuzz_trust.c - libFuzzer target for the trust policy reader
 * (struere_trust_load, runtime/TRUST.md §3): the input as the store's
 * trust.json, trusted on first use and against a pinned policy
 * (trust_policy.h), and the input as the pinned file against that policy
 * as the store's. Checked on every call: the code is one the header
 * allows, *err agrees with it, a failure leaves no policy, a success
 * gives a policy within the document's limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "struere.h"
#include "trust_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const void *json, size_t len, const void *pinned,
                  size_t pinned_len)
{
    struere_trust *t = (struere_trust *)&t; /* must become NULL or a policy */
    struere_error err;
    int rc = struere_trust_load(&t, json, len, pinned, pinned_len, &err);
    if (rc < 0) {
        if ((rc != STRUERE_ETRUST && rc != STRUERE_ENOMEM) || t ||
            err.code != rc || !err.message[0] ||
            !memchr(err.message, '\0', sizeof(err.message)))
            abort();
        return;
    }
    if (rc != 0 || !t || err.code != 0 || struere_trust_version(t) < 1 ||
        struere_trust_key_count(t) > STRUERE_TRUST_MAX_KEYS)
        abort();
    for (int env = STRUERE_ENV_DEVELOPMENT; env <= STRUERE_ENV_EVAL; env++) {
        int k = struere_trust_required(t, env);
        if (k < 0 || k > STRUERE_TRUST_MAX_KEYS)
            abort();
    }
    for (size_t i = 0; i < struere_trust_key_count(t); i++) {
        const char *name, *key;
        if (struere_trust_key(&name, &key, t, i, NULL) != 0 || !name[0] ||
            strlen(name) > 64 || strncmp(key, "ed25519:", 8) ||
            strlen(key) != 52)
            abort();
    }
    if (struere_trust_key(NULL, NULL, t, struere_trust_key_count(t), NULL) !=
        STRUERE_ENOTFOUND)
        abort();
    unsigned char d[32];
    struere_trust_digest(d, t);
    struere_trust_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so that a read past the end is
     * seen by ASan. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check(copy, size, NULL, 0);
    check(copy, size, fixed_policy, sizeof(fixed_policy) - 1);
    check(fixed_policy, sizeof(fixed_policy) - 1, copy, size);
    free(copy);
    return 0;
}
