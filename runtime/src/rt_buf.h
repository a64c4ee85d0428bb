/*
 * rt_buf.h - the one growable (or fixed) output buffer of libstruere and
 * the compiler (compiler/buf.h includes it): JSON and prompt text, bundle
 * and cache bytes, commit messages.
 */
#ifndef STRUERE_RT_BUF_H
#define STRUERE_RT_BUF_H

#include <stddef.h>

/*
 * Text being written: into a caller's fixed buffer (the length needed is
 * still counted past its end, as snprintf does) or into a malloc'd one
 * that grows. `failed` is set when growing fails; writers ignore errors
 * and the caller checks once at the end.
 */
typedef struct rt_buf {
    char *p;
    size_t len, cap;
    int growable;
    int failed;
} rt_buf;

void rt_buf_fixed(rt_buf *b, char *buf, size_t cap);
void rt_buf_grow_init(rt_buf *b);
void rt_buf_put(rt_buf *b, const void *s, size_t n);
void rt_buf_puts(rt_buf *b, const char *s);
/* printf into the buffer (counted past a fixed buffer's end too). */
void rt_buf_printf(rt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Asks the kernel to back the whole 2 MiB pages inside [p, p + n) with
 * huge pages, when n is at least RT_HUGE_MIN (transparent huge pages in
 * "madvise" mode, the usual default). For large buffers about to be
 * filled whole (bundles, caches): one page fault per 2 MiB instead of per
 * 4 KiB. Not the compiler's arenas: a block filled from both ends would
 * keep the 2 MiB around each end resident. On a virtual machine, faults were a
 * sixth of check's samples and a fifth of an incremental dev's. Only advice:
 * where the kernel has none, nothing changes; pages never touched are never
 * resident.
 */
#define RT_HUGE_MIN ((size_t)4 << 20)
void rt_advise_huge(void *p, size_t n);
/* Room for `n` more bytes at once in a growable buffer, allocated
 * exactly when the sizes are known (no regrowth); no-op otherwise. */
void rt_buf_reserve(rt_buf *b, size_t n);
/* The runtime's one JSON string writer, escaping as JavaScript's
 * JSON.stringify does: '"', '\\' and the bytes below 0x20 only, the short
 * escapes where JSON has them, else \u00xx in lowercase hex. */
static inline int rt_json_escapes(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}
/* One byte rt_json_escapes says must be escaped, escaped. */
void rt_buf_json_char(rt_buf *b, unsigned char c);
/* `s` (`n` bytes of UTF-8) as the inside of a JSON string, escaped. */
void rt_buf_json_escaped(rt_buf *b, const char *s, size_t n);
/* `s` (`n` bytes of UTF-8) as a JSON string, quoted and escaped. */
void rt_buf_json_str(rt_buf *b, const char *s, size_t n);
/* The length rt_buf_json_escaped writes for `s`. */
size_t rt_json_escaped_len(const char *s, size_t n);
/* NUL-terminates. Fixed: 0, or STRUERE_ERANGE when it did not fit.
 * Growable: 0, or STRUERE_ENOMEM (and the memory is freed). */
int rt_buf_finish(rt_buf *b);

#endif
