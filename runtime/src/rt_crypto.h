/*
 * rt_crypto.h - OpenSSL's libcrypto digests, opened by the first digest
 * (rt_dynlib.h): SHA-256 for sha256.c, SHA-1 for the compiler's blob ids
 * (store.c). Each caller has its own fallback when the library cannot be
 * opened: libsodium's SHA-256, libgit2's SHA-1.
 */
#ifndef STRUERE_RT_CRYPTO_H
#define STRUERE_RT_CRYPTO_H

#include <openssl/evp.h>

struct rt_crypto {
    __typeof__(EVP_Digest) *digest;
    __typeof__(EVP_MD_CTX_new) *ctx_new;
    __typeof__(EVP_MD_CTX_free) *ctx_free;
    __typeof__(EVP_DigestInit_ex) *init;
    __typeof__(EVP_DigestUpdate) *update;
    __typeof__(EVP_DigestFinal_ex) *final;
    /* Fetched once: OpenSSL 3 looks up EVP_sha256() again on every
     * digest, which cost a short input (an API key, on every request of
     * `serve`) 580 ns instead of 190. NULL when the library has none. */
    EVP_MD *sha256;
    EVP_MD *sha1;
};

/* The library's digests, opened once per process; NULL when libcrypto
 * cannot be opened, or was forgone. */
const struct rt_crypto *rt_crypto(void);

/* From now on rt_crypto() gives NULL without opening the library, unless
 * it was opened already: the callers' fallbacks compute the digests.
 * `struere serve` forgoes it, whose memory budget (DESIGN §11) the 4 MiB
 * libcrypto maps and initialises do not fit. */
void rt_crypto_forgo(void);

#endif
