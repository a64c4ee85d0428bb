/*
 * keyhash.c - the SHA-256 of an API key, as serve computes it on every
 * request: OpenSSL's (the algorithm fetched once, as runtime/src/crypto.c
 * does) against libsodium's (what serve uses since it forgoes libcrypto).
 * Rounds alternate the two; the best of each is printed.
 *
 *   cc -O2 bench/serve/keyhash.c -lcrypto -lsodium -o build/bench/keyhash
 *   build/bench/keyhash
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const char *key = "sk_prod_0123456789abcdefghijABCDEFGHIJklmnopqrst";
    size_t n = strlen(key);
    unsigned char out[32];
    unsigned len;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    const int calls = 2000000;
    double best_o = 1e9, best_s = 1e9;
    if (!md)
        return 1;
    for (int r = 0; r < 7; r++) {
        double t0 = now();
        for (int i = 0; i < calls; i++)
            EVP_Digest(key, n, out, &len, md, NULL);
        double t1 = now();
        for (int i = 0; i < calls; i++)
            crypto_hash_sha256(out, (const unsigned char *)key, n);
        double t2 = now();
        best_o = t1 - t0 < best_o ? t1 - t0 : best_o;
        best_s = t2 - t1 < best_s ? t2 - t1 : best_s;
        printf("round %d: libcrypto %.0f ns, libsodium %.0f ns\n", r,
               (t1 - t0) / calls * 1e9, (t2 - t1) / calls * 1e9);
    }
    printf("best: libcrypto %.0f ns, libsodium %.0f ns per %zu-byte key\n",
           best_o / calls * 1e9, best_s / calls * 1e9, n);
    EVP_MD_free(md);
    return 0;
}
