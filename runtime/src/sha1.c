/*
 * sha1.c - SHA-1 as FIPS 180-4 specifies it (sha1.h).
 */
#include "sha1.h"

#include "rt_crypto.h"

#include <stdio.h>
#include <string.h>

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void compress(uint32_t h[5], const unsigned char *block)
{
    uint32_t w[80];
    for (int t = 0; t < 16; t++)
        w[t] = be32(block + 4 * t);
    for (int t = 16; t < 80; t++)
        w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t tmp = rol(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void rt_sha1_init(struct rt_sha1 *s)
{
    static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe,
                                   0x10325476, 0xc3d2e1f0};
    memcpy(s->h, iv, sizeof(iv));
    s->len = 0;
    s->fill = 0;
}

void rt_sha1_update(struct rt_sha1 *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->len += len;
    if (s->fill) {
        size_t n = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->block + s->fill, p, n);
        s->fill += n;
        p += n;
        len -= n;
        if (s->fill < 64)
            return;
        compress(s->h, s->block);
        s->fill = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        compress(s->h, p);
    memcpy(s->block, p, len);
    s->fill = len;
}

void rt_sha1_final(struct rt_sha1 *s, unsigned char out[20])
{
    uint64_t bits = s->len * 8;
    unsigned char pad[72] = {0x80};
    size_t n = s->fill < 56 ? 56 - s->fill : 120 - s->fill;
    for (int i = 0; i < 8; i++)
        pad[n + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
    rt_sha1_update(s, pad, n + 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(s->h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        out[4 * i + 3] = (unsigned char)s->h[i];
    }
}

void rt_sha1_object(const char *type, const void *data, size_t len,
                    unsigned char out[20])
{
    char head[48];
    int n = snprintf(head, sizeof(head), "%s %zu", type, len) + 1;
    const struct rt_crypto *c = rt_crypto();
    if (c && c->sha1) {
        EVP_MD_CTX *ctx = c->ctx_new();
        unsigned int got = 0;
        int ok = ctx && c->init(ctx, c->sha1, NULL) == 1 &&
                 c->update(ctx, head, (size_t)n) == 1 &&
                 c->update(ctx, data, len) == 1 &&
                 c->final(ctx, out, &got) == 1 && got == 20;
        if (ctx)
            c->ctx_free(ctx);
        if (ok)
            return;
    }
    struct rt_sha1 s;
    rt_sha1_init(&s);
    rt_sha1_update(&s, head, (size_t)n);
    rt_sha1_update(&s, data, len);
    rt_sha1_final(&s, out);
}
