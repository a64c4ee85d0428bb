/*
 * json_blob.h - what the fuzz targets over dev's bundle caches share
 * (fuzz_segments.c, fuzz_bundle_cache.c): bytes like a bundle's bodies,
 * repeating JSON whose numbers differ, so that loose_deflate cuts them
 * into pieces of every size.
 */
#ifndef STRUERE_FUZZ_JSON_BLOB_H
#define STRUERE_FUZZ_JSON_BLOB_H

#include <stdio.h>
#include <stdlib.h>

/* n such bytes (malloc'd, never NULL: aborts when out of memory). */
static unsigned char *json_blob(size_t n)
{
    unsigned char *b = malloc(n);
    if (!b)
        abort();
    unsigned x = 7;
    for (size_t at = 0; at < n;) {
        char body[160];
        x = x * 1103515245u + 12345u;
        int k = snprintf(body, sizeof(body),
                         "{\"slug\":\"role-%u\",\"policies\":[{\"effect\":"
                         "\"allow\",\"actions\":[\"read\"],\"n\":%u}]}",
                         x % 9973, x >> 20);
        for (int i = 0; i < k && at < n; i++)
            b[at++] = (unsigned char)body[i];
    }
    return b;
}

#endif
