/*
 * rt_limits.h - every limit the runtime enforces, in one place, each with
 * the reason for it. The format's own bounds (section count, field sizes)
 * are in runtime/BUNDLE.md and checked in bundle.c.
 */
#ifndef STRUERE_RT_LIMITS_H
#define STRUERE_RT_LIMITS_H

/* Largest bundle file struere_bundle_open_file reads, in bytes. The file
 * is read whole into memory, so a wrong path (a device, an endless pipe)
 * must not exhaust it; real bundles are a few megabytes. */
#define RT_LIMIT_BUNDLE_BYTES ((size_t)1 << 30)

#endif
