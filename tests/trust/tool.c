/*
 * tool.c - the test side of runtime/TRUST.md for tests/trust/run.sh,
 * written from the document alone (libsodium directly, nothing of the
 * struere command): it signs what an attacker or a second approver would
 * sign by hand, and drives struere_runtime_open with its options and
 * struere_runtime_reload, printing one line per step for the script.
 *
 *   tool pubkey KEYFILE                  the key's public key
 *   tool sign KIND KEYFILE PAYLOADFILE   {"key", "signature"} over the
 *                                        domain of KIND (policy,
 *                                        statement, record) + the payload
 *   tool open STORE KEY [--trust F] [--state F]
 *   tool reload STORE KEY CMD [--trust F] [--state F]
 *                                        open, run CMD (sh -c), reload
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "struere.h"
#include "../keys/code_name.h"

/* The whole of a file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    if (!f)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap = 2 * cap + 8192);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        r = fread(buf + n, 1, 4096, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* TRUST.md §2: "struere-signing-key ed25519-seed:<base64 of 32 bytes>". */
static int key_load(const char *path, unsigned char pk[32],
                    unsigned char sk[64], char pub[64])
{
    static const char prefix[] = "struere-signing-key ed25519-seed:";
    unsigned char seed[32];
    size_t len, bin_len = 0;
    char *text = slurp(path, &len);
    if (!text || strncmp(text, prefix, sizeof(prefix) - 1)) {
        fprintf(stderr, "tool: %s is not a signing key file\n", path);
        free(text);
        return -1;
    }
    char *b64 = text + sizeof(prefix) - 1;
    if (sodium_base642bin(seed, 32, b64, strcspn(b64, "\n"), NULL, &bin_len,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 32) {
        fprintf(stderr, "tool: %s: bad seed\n", path);
        free(text);
        return -1;
    }
    free(text);
    crypto_sign_seed_keypair(pk, sk, seed);
    strcpy(pub, "ed25519:");
    sodium_bin2base64(pub + 8, 56, pk, 32, sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

static int sign(const char *kind, const char *keyfile, const char *payload_file)
{
    const char *domain = !strcmp(kind, "policy") ? "struere-trust-policy/1\n"
                         : !strcmp(kind, "statement") ? "struere-promotion/1\n"
                         : !strcmp(kind, "record")    ? "struere-key-record/1\n"
                                                      : NULL;
    unsigned char pk[32], sk[64], sig[64];
    char pub[64], sig_text[100];
    size_t n;
    if (!domain || key_load(keyfile, pk, sk, pub) < 0)
        return 2;
    char *payload = slurp(payload_file, &n);
    if (!payload)
        return 2;
    size_t d = strlen(domain);
    unsigned char *msg = malloc(d + n);
    if (!msg)
        return 2;
    memcpy(msg, domain, d);
    memcpy(msg + d, payload, n);
    crypto_sign_detached(sig, NULL, msg, d + n, sk);
    sodium_bin2base64(sig_text, sizeof(sig_text), sig, 64,
                      sodium_base64_VARIANT_ORIGINAL);
    printf("{\"key\":\"%s\",\"signature\":\"%s\"}\n", pub, sig_text);
    free(msg);
    free(payload);
    return 0;
}

static void describe(const char *step, const struere_runtime *rt)
{
    printf("%s commit=%s env=%s seq=%llu\n", step, struere_runtime_commit(rt),
           struere_env_name(struere_runtime_env(rt)),
           (unsigned long long)struere_runtime_sequence(rt));
}

static int failed(const char *step, int rc, const struere_error *err)
{
    printf("%s error %s: %s\n", step, code_name(rc), err->message);
    if (err->code != rc)
        printf("BUG %s: err.code %d, return %d\n", step, err->code, rc);
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (sodium_init() < 0)
        return 2;
    if (argc == 3 && !strcmp(argv[1], "pubkey")) {
        unsigned char pk[32], sk[64];
        char pub[64];
        if (key_load(argv[2], pk, sk, pub) < 0)
            return 2;
        puts(pub);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "sign"))
        return sign(argv[2], argv[3], argv[4]);
    int is_reload = argc >= 5 && !strcmp(argv[1], "reload");
    if (argc < 4 || (!is_reload && strcmp(argv[1], "open"))) {
        fprintf(stderr, "usage: tool pubkey KEYFILE\n"
                        "       tool sign policy|statement|record KEYFILE "
                        "PAYLOADFILE\n"
                        "       tool open STORE KEY [--trust F] [--state F]\n"
                        "       tool reload STORE KEY CMD [--trust F] "
                        "[--state F]\n");
        return 2;
    }
    struere_open_options o = {0};
    o.store = argv[2];
    for (int i = is_reload ? 5 : 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--trust"))
            o.trust_file = argv[i + 1];
        else if (!strcmp(argv[i], "--state"))
            o.state_file = argv[i + 1];
    }
    struere_runtime *rt = NULL;
    struere_error err;
    int rc = struere_runtime_open(&rt, argv[3], &o, &err);
    if (rc < 0) {
        if (rt)
            printf("BUG open failed but left a runtime\n");
        return failed("open", rc, &err);
    }
    describe("open", rt);
    if (is_reload) {
        int changed = -1;
        if (system(argv[4]) != 0)
            printf("BUG command failed: %s\n", argv[4]);
        rc = struere_runtime_reload(&changed, rt, 0, &err);
        if (rc < 0) {
            failed("reload", rc, &err);
            if (changed != 0)
                printf("BUG reload failed with changed=%d\n", changed);
        } else {
            printf("reload changed=%d\n", changed);
        }
        describe("state", rt);
    }
    struere_runtime_free(rt);
    return 0;
}
