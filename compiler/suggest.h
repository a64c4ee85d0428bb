/*
 * suggest.h - "did you mean" for misspelt keys, enum values and names.
 */
#ifndef STRUERE_SUGGEST_H
#define STRUERE_SUGGEST_H

#include <stddef.h>

/* Edit distance (with transpositions) between a and b, capped at limit+1. */
size_t suggest_distance(const char *a, const char *b, size_t limit);

/* Incremental best-match search: feed candidates, then read best. */
struct suggest {
    const char *word;
    const char *best;
    size_t best_distance;
};

void suggest_init(struct suggest *s, const char *word);
void suggest_offer(struct suggest *s, const char *candidate);
/* The closest candidate if it is close enough to be a likely typo; of
 * several as close, the first in byte order (strcmp), whatever the order
 * they were offered in. */
const char *suggest_best(const struct suggest *s);

#endif
