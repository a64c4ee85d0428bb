/*
 * crypto.c - libcrypto's digests, opened by the first digest
 * (rt_crypto.h).
 */
#include "rt_crypto.h"

#include "rt_dynlib.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* The soname the build found (Makefile); the Debian 12 one otherwise. */
#ifndef CRYPTO_SONAME
#define CRYPTO_SONAME "libcrypto.so.3"
#endif

static struct rt_crypto table;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_bool loaded;
static atomic_bool forgone;

static void load(void)
{
    __typeof__(EVP_MD_fetch) *fetch = NULL;
    const struct rt_dynlib_symbol symbols[] = {
        {(void **)&table.digest, "EVP_Digest"},
        {(void **)&table.ctx_new, "EVP_MD_CTX_new"},
        {(void **)&table.ctx_free, "EVP_MD_CTX_free"},
        {(void **)&table.init, "EVP_DigestInit_ex"},
        {(void **)&table.update, "EVP_DigestUpdate"},
        {(void **)&table.final, "EVP_DigestFinal_ex"},
        {(void **)&fetch, "EVP_MD_fetch"},
    };
    char why[256];
    /* Not there: the callers' fallbacks compute the same digests. */
    if (!rt_dynlib_open(CRYPTO_SONAME, "struere's digests", symbols,
                        sizeof(symbols) / sizeof(symbols[0]), why, sizeof(why)))
        return;
    table.sha256 = fetch(NULL, "SHA256", NULL);
    table.sha1 = fetch(NULL, "SHA1", NULL);
    atomic_store(&loaded, true);
}

void rt_crypto_forgo(void)
{
    atomic_store(&forgone, true);
}

const struct rt_crypto *rt_crypto(void)
{
    if (atomic_load(&forgone) && !atomic_load(&loaded))
        return NULL;
    pthread_once(&once, load);
    return atomic_load(&loaded) ? &table : NULL;
}
