/*
 * actors.c - the actors of one loaded bundle, made once (actors.h).
 */
#include "actors.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/src/rt_buf.h"

enum { SLOTS = 2 * SRV_ACTORS_MAX }; /* open addressing, at most half full */

struct slot {
    char *key; /* NULL: empty */
    uint64_t hash;
    struere_actor *actor;
};

struct srv_actors {
    pthread_rwlock_t lock;
    size_t count;
    struct slot slots[SLOTS];
};

struct srv_actors *actors_new(void)
{
    struct srv_actors *c = calloc(1, sizeof(*c));
    if (c && pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void actors_free(struct srv_actors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SLOTS; i++) {
        free(c->slots[i].key);
        struere_actor_free(c->slots[i].actor);
    }
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* A string field of the key: '-' when absent (NULL), else its length, ':'
 * and its bytes, so that an absent field and an empty one, or bytes moved
 * from one field to the next, never make the same key. */
static void key_field(rt_buf *b, const char *v)
{
    if (v)
        rt_buf_printf(b, "%zu:%s", strlen(v), v);
    else
        rt_buf_printf(b, "-");
}

/* The spec as one string: every field, absent or not, in order; the
 * key of two specs is the same only when every field is (an absent
 * entity is looked up in eval, an empty one is not). */
static char *spec_key(const struere_actor_spec *s)
{
    rt_buf b;
    rt_buf_grow_init(&b);
    rt_buf_printf(&b, "%d;", s->type);
    key_field(&b, s->id);
    key_field(&b, s->entity_id);
    key_field(&b, s->organization_id);
    rt_buf_printf(&b, "%zu;", s->role_count);
    for (size_t i = 0; i < s->role_count; i++)
        key_field(&b, s->roles[i]);
    return rt_buf_finish(&b) == 0 ? b.p : NULL;
}

static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of key, or the empty slot where it would go. */
static struct slot *find(struct srv_actors *c, const char *key, uint64_t h)
{
    for (size_t i = h % SLOTS;; i = (i + 1) % SLOTS) {
        struct slot *s = &c->slots[i];
        if (!s->key || (s->hash == h && !strcmp(s->key, key)))
            return s;
    }
}

int actors_get(struere_actor **out, bool *owned, struct srv_actors *c,
               const struere_runtime *rt, const struere_actor_spec *spec,
               struere_error *err)
{
    *out = NULL;
    *owned = true;
    /* Relations given by the caller are not part of the key: such an
     * actor is made per request (serve gives none). */
    char *key = c && !spec->related ? spec_key(spec) : NULL;
    if (!key)
        return struere_actor_new(out, rt, spec, err);
    uint64_t h = hash_of(key);
    pthread_rwlock_rdlock(&c->lock);
    struct slot *s = find(c, key, h);
    struere_actor *kept = s->key ? s->actor : NULL;
    pthread_rwlock_unlock(&c->lock);
    if (kept) {
        free(key);
        *out = kept;
        *owned = false;
        return 0;
    }
    int rc = struere_actor_new(out, rt, spec, err);
    if (rc < 0) {
        free(key);
        return rc;
    }
    pthread_rwlock_wrlock(&c->lock);
    s = find(c, key, h);
    if (s->key) { /* another request made it meanwhile: use that one */
        struere_actor_free(*out);
        *out = s->actor;
        *owned = false;
    } else if (c->count < SRV_ACTORS_MAX) {
        s->key = key;
        s->hash = h;
        s->actor = *out;
        c->count++;
        key = NULL;
        *owned = false;
    }
    pthread_rwlock_unlock(&c->lock);
    free(key);
    return 0;
}
