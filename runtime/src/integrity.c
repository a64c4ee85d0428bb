/*
 * integrity.c - a bundle against the manifest.json written beside it (in
 * the same commit, or by `struere build`): the SHA-256 the compiler
 * recorded must be the bundle's (DESIGN §9). CRCs catch accidents; this
 * catches a bundle re-crafted with its CRCs recomputed.
 */
#include <stdio.h>
#include <string.h>

#include "rt.h"
#include "sha256.h"

/* A manifest is a few hundred bytes; this bounds what a damaged store can
 * make the runtime read. */
#define MANIFEST_LIMIT ((size_t)1 << 20)

/* A lowercase hex digit's value, or -1. */
static int hex_nibble(char c)
{
    return c >= 'A' && c <= 'F' ? -1 : rt_hex_digit(c);
}

int rt_hex_decode(const char *hex, size_t n, unsigned char *out, size_t size)
{
    if (n != 2 * size)
        return -1;
    for (size_t i = 0; i < size; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

void rt_hex_encode(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int struere_manifest_digest(unsigned char out[32], const void *manifest,
                            size_t len, int env, struere_error *err)
{
    struere_json doc, v;
    char path[64];
    const char *name = struere_env_name(env);
    rt_clear(err);
    if (!manifest || !out || !name)
        return rt_fail(err, STRUERE_EINVAL,
                       "no manifest, no place for the digest or no "
                       "environment");
    if (len > MANIFEST_LIMIT)
        return rt_fail(err, STRUERE_EDIGEST,
                       "manifest.json is %zu bytes, more than the %zu "
                       "allowed",
                       len, MANIFEST_LIMIT);
    if (rt_json_value(manifest, len, &doc) < 0 ||
        rt_json_kind(doc) != STRUERE_JSON_OBJECT)
        return rt_fail(err, STRUERE_EDIGEST,
                       "manifest.json is not a JSON object");
    int n = snprintf(path, sizeof(path), "bundles.%s.sha256", name);
    if (rt_json_path(doc, path, (size_t)n, &v) != 1 ||
        rt_json_kind(v) != STRUERE_JSON_STRING || rt_json_str_len(v) != 64 ||
        v.len != 66 || rt_hex_decode(v.ptr + 1, 64, out, 32) < 0)
        return rt_fail(err, STRUERE_EDIGEST,
                       "manifest.json has no SHA-256 for bundles/%s.stb "
                       "(%s: 64 lowercase hex digits)",
                       name, path);
    return 0;
}

int struere_manifest_check(const void *manifest, size_t manifest_len, int env,
                           const void *bundle, size_t bundle_len,
                           struere_error *err)
{
    unsigned char want[32], got[32];
    char want_hex[65], got_hex[65];
    int rc = struere_manifest_digest(want, manifest, manifest_len, env, err);
    if (rc < 0)
        return rc;
    if (!bundle && bundle_len)
        return rt_fail(err, STRUERE_EINVAL, "no bundle bytes given");
    rt_sha256(bundle, bundle_len, got);
    if (memcmp(want, got, 32) == 0)
        return 0;
    rt_hex_encode(want, 32, want_hex);
    rt_hex_encode(got, 32, got_hex);
    return rt_fail(err, STRUERE_EDIGEST,
                   "bundles/%s.stb has SHA-256 %s but manifest.json says %s: "
                   "it is not the bundle that was compiled",
                   struere_env_name(env), got_hex, want_hex);
}
