/*
 * records.c - eval's fixture data as an actor sees it: entity.query and
 * entity.get against the fixture records, through the permission engine
 * (decision, row scope, field masks).
 */
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_output.h"

/* The record as {"_id","type","status","data"} (status "active" when the
 * fixture has none), unmasked, appended to `b`. */
static void compose(const struere_runtime *rt, const rt_record *r, rt_buf *b)
{
    struere_json status = r->status, data = r->data;
    if (!status.ptr || rt_json_kind(status) != STRUERE_JSON_STRING)
        status = (struere_json){"\"active\"", 8};
    if (!data.ptr || rt_json_kind(data) != STRUERE_JSON_OBJECT)
        data = (struere_json){"{}", 2};
    const rt_type *t = &rt->model->types[r->type];
    rt_buf_puts(b, "{\"_id\":");
    rt_buf_json_str(b, r->id.p, r->id.n);
    rt_buf_puts(b, ",\"type\":");
    rt_buf_json_str(b, t->slug, strlen(t->slug));
    rt_buf_puts(b, ",\"status\":");
    rt_buf_put(b, status.ptr, status.len);
    rt_buf_puts(b, ",\"data\":");
    rt_buf_put(b, data.ptr, data.len);
    rt_buf_puts(b, "}");
}

/* The record composed (compose), masked for the actor, appended to
 * `out`. */
static int put_record(const struere_runtime *rt, const struere_actor *a,
                      const struere_decision *d, const rt_record *r,
                      rt_buf *out)
{
    rt_buf plain;
    rt_buf_grow_init(&plain);
    compose(rt, r, &plain);
    int rc = rt_buf_finish(&plain);
    if (rc < 0)
        return rc;
    rc = rt_mask_record(rt, a, d, (struere_json){plain.p, plain.len}, out);
    free(plain.p);
    return rc;
}

/* Does the record's data match every filter (data path = value)? */
static int filters_match(const rt_record *r, struere_json filters)
{
    rt_json_it it;
    struere_json k, want, data = r->data, have;
    char path[512];
    int rc;
    if (!filters.ptr)
        return 1;
    if (!data.ptr)
        return 0;
    rt_json_iter(filters, STRUERE_JSON_OBJECT, &it);
    while ((rc = rt_json_next(&it, &k, &want)) == 1) {
        size_t n = rt_json_str_len(k);
        if (n >= sizeof(path))
            return 0;
        rt_json_str_decode(k, path);
        /* a dot path under data; all-digit segments index arrays */
        if (struere_json_get(&have, data.ptr, data.len, path, NULL) != 0 ||
            !rt_json_scalar_eq(have, want))
            return 0;
    }
    return rc == 0;
}

/* Gives the text written to `b` to the caller (`rc` 0), or frees it and
 * returns the error. */
static int hand_over(rt_buf *b, int rc, char **out, size_t *len)
{
    if (rc < 0) {
        free(b->p);
        return rc;
    }
    if ((rc = rt_buf_finish(b)) < 0)
        return rc;
    *out = b->p;
    if (len)
        *len = b->len;
    return 0;
}

static int need_eval(const struere_runtime *rt, const struere_actor *actor)
{
    if (!rt || !actor)
        return STRUERE_EINVAL;
    if (rt->env != STRUERE_ENV_EVAL)
        return STRUERE_EENV;
    return 0;
}

static int query(const struere_runtime *rt, const struere_actor *actor,
                 const char *type, const char *filters, size_t filters_len,
                 size_t limit, char **out, size_t *len,
                 struere_decision *decision)
{
    struere_decision local;
    struere_decision *d = decision ? decision : &local;
    struere_json f = {NULL, 0};
    if (!out)
        return STRUERE_EINVAL;
    *out = NULL;
    int rc = need_eval(rt, actor);
    if (rc < 0 || !type)
        return rc < 0 ? rc : STRUERE_EINVAL;
    if (filters && (rt_json_value(filters, filters_len, &f) < 0 ||
                    rt_json_kind(f) != STRUERE_JSON_OBJECT))
        return STRUERE_EJSON;
    rc = struere_decide(d, rt, actor, "list", type, NULL);
    if (rc < 0)
        return rc;
    const rt_dstate ds = rt_dstate_get(d);
    rt_buf b;
    rt_buf_grow_init(&b);
    rt_buf_puts(&b, "[");
    if (d->allowed && ds.resource < rt->model->ntypes) {
        const rt_type *t = &rt->model->types[ds.resource];
        size_t kept = 0;
        for (uint32_t i = 0; i < t->nrecords && (!limit || kept < limit); i++) {
            const rt_record *r =
                &rt->model->records[rt->model->by_type[t->record0 + i]];
            if (!filters_match(r, f))
                continue;
            rc = struere_record_visible(rt, d, r->json.ptr, r->json.len, NULL);
            if (rc < 0)
                break;
            if (!rc)
                continue;
            if (kept++)
                rt_buf_puts(&b, ",");
            if ((rc = put_record(rt, actor, d, r, &b)) < 0)
                break;
        }
    }
    rt_buf_puts(&b, "]");
    return hand_over(&b, rc, out, len);
}

int struere_query(char **out, size_t *len, struere_decision *decision,
                  const struere_runtime *rt, const struere_actor *actor,
                  const char *type, const char *filters, size_t filters_len,
                  size_t limit, struere_error *err)
{
    return rt_result(
        err,
        query(rt, actor, type, filters, filters_len, limit, out, len, decision),
        "struere_query");
}

static int get_record(const struere_runtime *rt, const struere_actor *actor,
                      const char *id, char **out, size_t *len,
                      struere_decision *decision)
{
    struere_decision local;
    struere_decision *d = decision ? decision : &local;
    /* No decision yet: reason 0 tells "no such record" from a denial. */
    memset(d, 0, sizeof(*d));
    d->policy = -1;
    if (!out)
        return STRUERE_EINVAL;
    *out = NULL;
    int rc = need_eval(rt, actor);
    if (rc < 0 || !id)
        return rc < 0 ? rc : STRUERE_EINVAL;
    const rt_record *r = rt_model_record(rt->model, id, strlen(id));
    if (!r)
        return STRUERE_ENOTFOUND;
    const char *type = rt->model->types[r->type].slug;
    rc = struere_decide_record(d, rt, actor, "read", type, r->json.ptr,
                               r->json.len, NULL);
    if (rc < 0)
        return rc;
    if (!d->allowed)
        return STRUERE_ENOTFOUND;
    rt_buf b;
    rt_buf_grow_init(&b);
    return hand_over(&b, put_record(rt, actor, d, r, &b), out, len);
}

int rt_fixture_record(rt_buf *b, const struere_runtime *rt, const char *id)
{
    /* in get_record's order: the environment before the id */
    if (!rt)
        return STRUERE_EINVAL;
    if (rt->env != STRUERE_ENV_EVAL)
        return STRUERE_EENV;
    if (!id)
        return STRUERE_EINVAL;
    const rt_record *r = rt_model_record(rt->model, id, strlen(id));
    if (!r)
        return STRUERE_ENOTFOUND;
    /* The system actor is granted every read, with no row scope and no
     * mask; get_record's decision refuses only a record that is not an
     * object, and model.c opens no bundle holding one. */
    compose(rt, r, b);
    return 0;
}

int struere_get_record(char **out, size_t *len, struere_decision *decision,
                       const struere_runtime *rt, const struere_actor *actor,
                       const char *id, struere_error *err)
{
    return rt_result(err, get_record(rt, actor, id, out, len, decision),
                     "struere_get_record");
}
