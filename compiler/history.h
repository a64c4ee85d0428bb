/*
 * history.h - an environment's history as `struere log --json` gives it
 * (the commits of struere/development and struere/eval, every move of
 * struere/production from its reflog, newest first, with the promotion
 * statements that approved them): built once, printed by `struere log`
 * as text or JSON and served by `struere serve --dashboard`.
 */
#ifndef STRUERE_HISTORY_H
#define STRUERE_HISTORY_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"
#include "struere.h"
#include "trust.h"

/* A promotion still waiting for signatures (production only). */
struct history_pending {
    bool pending;
    uint64_t sequence;
    char commit[41];
    char who[256];
    unsigned signatures;
};

/*
 * The history of env (ENV_*) in s, at most max entries, as a JSON array
 * of {"promotion"?, "commit", "previous", "time", "action", "who",
 * "message"} (production) or {"promotion"?, "commit", "time", "author",
 * "message"} (the others); `pending` (when not NULL) says whether a
 * promotion waits for signatures. t may be NULL (no trust policy).
 */
json_t *history_branch(struct store *s, int env, size_t max,
                       const struere_trust *t, struct history_pending *pending);

/* A time as ISO 8601 in its UTC offset (minutes). */
void history_iso_time(int64_t t, int offset, char *buf, size_t size);

#endif
