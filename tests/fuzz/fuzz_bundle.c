/*
 * fuzz_bundle.c - libFuzzer target for the bundle verifier and reader: the
 * input is opened as a bundle, expecting the environment its length picks
 * (0 to 3; a valid bundle's length is a multiple of 8, hence size / 8), and
 * verified for any environment; an opened bundle is walked whole: every
 * entry read, every slug looked up again, and the answers compared (a body
 * that is not a JSON object refused by both alike).
 * Random bytes rarely carry right CRCs, so each input is also tried with
 * its CRCs recomputed: that lets the fuzzer reach the structural checks.
 * Each input is also opened as the compiler opens bytes a store recorded
 * as verified (rt_bundle_open_recorded: bounds checked, CRCs, strings and
 * bodies not): whatever it accepts is walked whole without a crash, and
 * it accepts whatever the full verification accepts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "struere.h"
/* the compiler's internal opens (not public API) */
#include "../../runtime/src/rt_bundle_trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the section CRCs the table points at, then the header CRC. */
static void fix_crcs(uint8_t *b, size_t len)
{
    size_t n = (size_t)(b[16] | b[17] << 8 | b[18] << 16) | (size_t)b[19] << 24;
    if (n > (len - 64) / 24)
        return;
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = b + 64 + 24 * i;
        uint64_t off = get64(e + 8), sz = get64(e + 16);
        if (off <= len && sz <= len - off)
            put32(e + 4, (uint32_t)crc32(0, b + off, (uInt)sz));
    }
    memset(b + 20, 0, 4);
    put32(b + 20, (uint32_t)crc32(0, b, (uInt)(64 + 24 * n)));
}

/* The recorded open: accepts what the full open accepted (ok), and what it
 * opens reads without a crash (slugs and bodies may hold anything). */
static void exercise_recorded(const uint8_t *data, size_t size, int env,
                              bool ok)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return;
    if (size)
        memcpy(copy, data, size);
    struere_bundle *b = NULL;
    struere_error err;
    int rc = rt_bundle_open_recorded(&b, copy, size, env, &err);
    if (rc != STRUERE_OK) {
        if (ok || b != NULL || err.code != rc || !err.message[0])
            abort();
        free(copy);
        return;
    }
    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        size_t n = struere_bundle_count(b, k);
        for (size_t i = 0; i < n; i++) {
            const char *slug, *body, *found;
            size_t len, found_len;
            if (struere_bundle_entry(&slug, &body, &len, b, k, i, NULL) != 0)
                abort(); /* bodies are marked valid */
            (void)struere_bundle_lookup(&found, &found_len, b, k, slug, NULL);
        }
    }
    struere_bundle_free(b); /* frees copy */
}

static void exercise(const uint8_t *data, size_t size)
{
    struere_bundle *b = (struere_bundle *)&b;
    struere_error err;
    struere_error any;
    int env = (int)(size / 8 % 4);
    /* The header check must agree with the full verifier: a bundle that
     * verifies whole passes it, whatever prefix of it is given. */
    int hrc = struere_bundle_verify_header(data, size, size, env, &err);
    int rc = struere_bundle_open_memory(&b, data, size, env, &err);
    if (rc == STRUERE_OK && hrc != STRUERE_OK)
        abort();
    exercise_recorded(data, size, env, rc == STRUERE_OK);
    int any_rc = struere_bundle_verify(data, size, 0, &any);
    /* The library's promises: a code, a message, nothing half-open, and
     * the expected environment the only difference. */
    if (any_rc != any.code || (any_rc < 0 && !any.message[0]))
        abort();
    if (rc < 0) {
        if (b != NULL || err.code != rc || !err.message[0] ||
            strlen(err.message) >= sizeof(err.message))
            abort();
        if (any_rc == 0 && rc != STRUERE_EENV)
            abort();
        return;
    }
    if (rc != 0 || !b || err.code != 0 || any_rc != 0)
        abort();

    struere_bundle_info info;
    if (struere_bundle_get_info(&info, b, NULL) != 0 || info.size != size ||
        strlen(info.project_name) + strlen(info.project_version) +
                strlen(info.organization_id) + strlen(info.organization_name) +
                strlen(info.compiler_version) >
            size)
        abort();
    for (int k = 0; k < STRUERE_KIND_COUNT; k++) {
        size_t n = struere_bundle_count(b, k);
        if (n != info.counts[k])
            abort();
        for (size_t i = 0; i < n; i++) {
            const char *slug, *body, *found;
            size_t len, found_len;
            if (struere_bundle_entry(&slug, NULL, NULL, b, k, i, NULL) != 0)
                abort();
            /* a body that is not a JSON object is refused when read, by
             * index and by slug alike */
            int erc = struere_bundle_entry(NULL, &body, &len, b, k, i, NULL);
            int lrc =
                struere_bundle_lookup(&found, &found_len, b, k, slug, NULL);
            if (erc != lrc || (erc != 0 && erc != STRUERE_ECORRUPT))
                abort();
            if (erc == 0 &&
                (strlen(body) != len || found != body || found_len != len))
                abort();
        }
        if (struere_bundle_entry(NULL, NULL, NULL, b, k, n, NULL) !=
            STRUERE_ENOTFOUND)
            abort();
    }
    struere_bundle_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exercise(data, size);
    if (size < 64 || size > (1u << 20))
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    if (memcmp(copy, data, size) != 0)
        exercise(copy, size);
    free(copy);
    return 0;
}
