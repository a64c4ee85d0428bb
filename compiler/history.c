/*
 * history.c - an environment's history as JSON (history.h): the store's
 * commits and production's reflog, each with the promotion statement
 * that approved it when there is one. `struere log` prints it, `struere
 * serve --dashboard` serves it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "env.h"
#include "history.h"

void history_iso_time(int64_t t, int offset, char *buf, size_t size)
{
    time_t tt = (time_t)(t + offset * 60);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char z[8];
    offset %= 24 * 60;
    if (offset)
        snprintf(z, sizeof(z), "%c%02d:%02d", offset < 0 ? '-' : '+',
                 abs(offset) / 60, abs(offset) % 60);
    else
        snprintf(z, sizeof(z), "Z");
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, z);
}

/* The statement of a promotion from old_id to new_id, if any. */
static const struct promotion_entry *
statement_for(const struct promotion_entry *h, size_t n, const char *new_id,
              const char *old_id)
{
    bool from_none = strspn(old_id, "0") == 40;
    for (size_t i = 0; i < n; i++)
        if (!h[i].pending && !strcmp(h[i].st.commit, new_id) &&
            (from_none ? !h[i].st.replaces[0]
                       : !strcmp(h[i].st.replaces, old_id)))
            return &h[i];
    return NULL;
}

/* {"promotion": {...}} on o for statement p, if any. */
static void annotate(const struct promotion_entry *p, json_t *o)
{
    if (!p)
        return;
    json_t *pr = json_object();
    json_object_set_new(pr, "sequence",
                        json_integer((json_int_t)p->st.sequence));
    json_object_set_new(pr, "signatures", json_integer(p->st.signatures));
    json_object_set_new(pr, "signers", json_string(p->signers));
    json_object_set_new(pr, "who", json_string(p->st.who));
    json_object_set_new(o, "promotion", pr);
}

json_t *history_branch(struct store *s, int e, size_t max,
                       const struere_trust *t, struct history_pending *pending)
{
    struct promotion_entry *hist = NULL;
    size_t nhist = 0;
    char herr[600];
    if (promotion_history(s, e, t, 1000, &hist, &nhist, herr, sizeof(herr)) !=
        TRUST_OK)
        nhist = 0;
    char ref[100];
    snprintf(ref, sizeof(ref), "refs/heads/struere/%s", env_names[e]);
    json_t *list = json_array();
    if (pending)
        memset(pending, 0, sizeof(*pending));
    if (e == ENV_PRODUCTION) {
        struct store_reflog_entry *log;
        size_t n;
        char id[41];
        if (store_ref_id(s, ref, id) != STORE_OK ||
            store_reflog(s, ref, &log, &n) != STORE_OK) {
            n = 0;
            log = NULL;
        }
        for (size_t i = 0; i < n && i < max; i++) {
            char when[64];
            history_iso_time(log[i].time, log[i].offset, when, sizeof(when));
            const char *what =
                !strncmp(log[i].message, "struere rollback", 16) ? "rollback"
                : !strncmp(log[i].message, "struere deploy", 14) ? "deploy"
                                                                 : "update";
            json_t *o = json_object();
            annotate(statement_for(hist, nhist, log[i].new_id, log[i].old_id),
                     o);
            json_object_set_new(o, "commit", json_string(log[i].new_id));
            json_object_set_new(o, "previous", json_string(log[i].old_id));
            json_object_set_new(o, "time", json_string(when));
            json_object_set_new(o, "action", json_string(what));
            json_object_set_new(o, "who", json_string(log[i].who));
            json_object_set_new(o, "message", json_string(log[i].message));
            json_array_append_new(list, o);
        }
        free(log);
        if (pending && nhist && hist[0].pending) {
            pending->pending = true;
            pending->sequence = hist[0].st.sequence;
            snprintf(pending->commit, sizeof(pending->commit), "%s",
                     hist[0].st.commit);
            snprintf(pending->who, sizeof(pending->who), "%s", hist[0].st.who);
            pending->signatures = hist[0].st.signatures;
        }
    } else {
        struct store_commit_info *c;
        size_t n;
        if (store_log(s, ref, max, &c, &n) != STORE_OK) {
            n = 0;
            c = NULL;
        }
        for (size_t i = 0; i < n; i++) {
            char when[64];
            history_iso_time(c[i].time, c[i].offset, when, sizeof(when));
            json_t *o = json_object();
            const struct promotion_entry *pe = NULL;
            for (size_t h = 0; h < nhist && !pe; h++)
                if (!hist[h].pending && !strcmp(hist[h].st.commit, c[i].id))
                    pe = &hist[h];
            annotate(pe, o);
            json_object_set_new(o, "commit", json_string(c[i].id));
            json_object_set_new(o, "time", json_string(when));
            json_object_set_new(o, "author", json_string(c[i].author));
            json_object_set_new(o, "message", json_string(c[i].message));
            json_array_append_new(list, o);
        }
        store_log_free(c, n);
    }
    free(hist);
    return list;
}
