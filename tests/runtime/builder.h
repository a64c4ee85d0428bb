/*
 * builder.h - a small bundle writer for the runtime tests, written from
 * runtime/BUNDLE.md alone (not from the compiler's writer), so the reader
 * is tested against the document. It can also write broken bundles on
 * purpose: unsorted slugs, missing or forbidden sections, extra sections.
 */
#ifndef RT_BUILDER_H
#define RT_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#define TB_KINDS 7

struct tb_entry {
    const char *slug;
    const char *body;
};

struct tb_spec {
    int env;               /* 1 development, 2 production, 3 eval */
    unsigned major, minor; /* 0, 0 means 1.0 */
    const char *meta[5];   /* NULL means "" */
    const struct tb_entry *entries[TB_KINDS]; /* written in the order given */
    size_t counts[TB_KINDS];
    int omit_kind[TB_KINDS];  /* leave out a table the environment needs */
    int force_kind[TB_KINDS]; /* write a table the environment forbids */
    int omit_strs, omit_meta;
    const char *extra_id; /* an extra section (a newer minor's) */
    const char *extra_data;
};

/* Writes the bundle `spec` describes into a malloc'd buffer the caller
 * frees; its length in *len. NULL when out of memory. */
unsigned char *tb_build(const struct tb_spec *spec, size_t *len);

/* Recomputes every section CRC the table points at (when inside the
 * buffer) and then the header CRC, so a test can break one rule alone. */
void tb_fix_crcs(unsigned char *b, size_t len);

void tb_put32(unsigned char *p, uint32_t v);
void tb_put64(unsigned char *p, uint64_t v);
uint32_t tb_get32(const unsigned char *p);
uint64_t tb_get64(const unsigned char *p);

/* The offset of section `id`'s table entry, or 0 when absent. */
size_t tb_find(const unsigned char *b, const char *id);

#endif
