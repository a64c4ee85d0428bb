/*
 * suggest.c - Damerau-Levenshtein distance (optimal string alignment) and
 * a threshold that accepts typos but not unrelated words.
 */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

enum { MAX_WORD = 64 };

size_t suggest_distance(const char *a, const char *b, size_t limit)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > MAX_WORD || m > MAX_WORD)
        return limit + 1;
    if ((n > m ? n - m : m - n) > limit)
        return limit + 1;
    size_t d[MAX_WORD + 1][MAX_WORD + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int same = tolower((unsigned char)a[i - 1]) ==
                       tolower((unsigned char)b[j - 1]);
            size_t cost = same ? 0 : 1;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m] > limit ? limit + 1 : d[n][m];
}

void suggest_init(struct suggest *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->best_distance = (size_t)-1;
}

static size_t threshold(const char *word)
{
    size_t n = strlen(word);
    return n <= 3 ? 1 : n <= 6 ? 2 : 3;
}

void suggest_offer(struct suggest *s, const char *candidate)
{
    size_t limit = threshold(s->word);
    size_t d = suggest_distance(s->word, candidate, limit);
    /* of candidates as close, the first in byte order: the same answer
     * whatever order they come in (a hash table's slots) */
    if (d <= limit &&
        (d < s->best_distance ||
         (d == s->best_distance && strcmp(candidate, s->best) < 0))) {
        s->best = candidate;
        s->best_distance = d;
    }
}

const char *suggest_best(const struct suggest *s)
{
    return s->best;
}
