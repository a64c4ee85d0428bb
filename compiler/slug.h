/*
 * slug.h - identities: deriving a slug from a display name the way
 * Struere does, and the display name from a slug.
 */
#ifndef STRUERE_SLUG_H
#define STRUERE_SLUG_H

#include <stddef.h>

struct arena;

/* lower-case, runs of non-alphanumerics become '-', trimmed of '-'. */
char *slug_from_name(struct arena *a, const char *name);
/* "support-agent" -> "Support Agent". */
char *slug_display_name(struct arena *a, const char *slug);

#endif
