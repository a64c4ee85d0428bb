/*
 * fuzz_statement.c - libFuzzer target for the promotion statement reader
 * (struere_statement_read, runtime/TRUST.md §4) with a fixed trusted
 * policy (trust_policy.h: alice and bob).
 *
 * Input: a statement document, read with the policy and with none. An
 * input starting with '!' is instead a payload: the target signs it with
 * alice's and bob's keys (the fixed test seeds) and wraps it in a
 * document, so the fuzzer reaches the payload's fields behind valid
 * signatures; such a statement, when read, must count exactly 2.
 * Checked on every call: the code is one the header allows, *err agrees
 * with it, a success gives fields within their rules and a count that is
 * the bits of signed_by, none without a policy.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "struere.h"
#include "trust_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struere_trust *policy;
static unsigned char sk[2][64];
static char pub[2][64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0 ||
        struere_trust_load(&policy, fixed_policy, sizeof(fixed_policy) - 1,
                           NULL, 0, NULL) != 0 ||
        struere_trust_required(policy, STRUERE_ENV_PRODUCTION) != 2)
        abort();
    for (int i = 0; i < 2; i++) {
        unsigned char seed[32], pk[32];
        memset(seed, i ? 0x22 : 0x11, sizeof(seed));
        crypto_sign_seed_keypair(pk, sk[i], seed);
        strcpy(pub[i], "ed25519:");
        sodium_bin2base64(pub[i] + 8, 56, pk, 32,
                          sodium_base64_VARIANT_ORIGINAL);
    }
    return 0;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]) || !s[i])
            return 0;
    return s[n] == '\0';
}

/* Reads `len` bytes with trust `t`; returns the number of signatures
 * counted, or -1 when the statement was refused. */
static int check(const void *json, size_t len, const struere_trust *t)
{
    struere_statement st;
    struere_error err;
    int rc = struere_statement_read(&st, json, len, t, &err);
    if (rc < 0) {
        if ((rc != STRUERE_EUNAPPROVED && rc != STRUERE_ESIGNATURE &&
             rc != STRUERE_ENOMEM) ||
            err.code != rc || !err.message[0] ||
            !memchr(err.message, '\0', sizeof(err.message)))
            abort();
        return -1;
    }
    unsigned bits = 0;
    for (uint64_t x = st.signed_by; x; x &= x - 1)
        bits++;
    if (rc != 0 || err.code != 0 || st.environment < STRUERE_ENV_DEVELOPMENT ||
        st.environment > STRUERE_ENV_EVAL || !is_hex(st.commit, 40) ||
        (st.replaces[0] && !is_hex(st.replaces, 40)) || st.sequence < 1 ||
        st.time < 0 || !memchr(st.who, '\0', sizeof(st.who)) ||
        (strcmp(st.action, "deploy") && strcmp(st.action, "rollback") &&
         strcmp(st.action, "dev")) ||
        bits != st.signatures ||
        (st.signed_by >> struere_trust_key_count(t)) != 0 ||
        (!t && st.signatures != 0))
        abort();
    return (int)st.signatures;
}

/* `s` (n bytes) as a JSON string's content, escaped, into out. */
static size_t escape(char *out, const uint8_t *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            out[o++] = '\\';
            out[o++] = (char)s[i];
        } else if (s[i] < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", s[i]);
        } else {
            out[o++] = (char)s[i];
        }
    }
    return o;
}

static void signed_payload(const uint8_t *p, size_t n)
{
    static const char domain[] = "struere-promotion/1\n";
    size_t d = sizeof(domain) - 1;
    unsigned char *msg = malloc(d + n + 1);
    char *doc = malloc(6 * n + 512);
    if (!msg || !doc)
        goto done;
    memcpy(msg, domain, d);
    memcpy(msg + d, p, n);
    size_t o = (size_t)sprintf(doc, "{\"statement\":\"");
    o += escape(doc + o, p, n);
    o += (size_t)sprintf(doc + o, "\",\"signatures\":[");
    for (int i = 0; i < 2; i++) {
        unsigned char sig[64];
        char b64[100];
        crypto_sign_detached(sig, NULL, msg, d + n, sk[i]);
        sodium_bin2base64(b64, sizeof(b64), sig, 64,
                          sodium_base64_VARIANT_ORIGINAL);
        o += (size_t)sprintf(doc + o, "%s{\"key\":\"%s\",\"signature\":\"%s\"}",
                             i ? "," : "", pub[i], b64);
    }
    o += (size_t)sprintf(doc + o, "]}");
    /* Two valid signatures of two trusted keys: all or nothing. A payload
     * whose bytes are not valid UTF-8 may be refused as a document. */
    int got = check(doc, o, policy);
    if (got != -1 && got != 2)
        abort();
    check(doc, o, NULL);
done:
    free(msg);
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == '!') {
        signed_payload(data + 1, size - 1);
        return 0;
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check(copy, size, policy);
    check(copy, size, NULL);
    free(copy);
    return 0;
}
