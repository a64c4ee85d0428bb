/*
 * actors.c - the actors of one loaded bundle, made once (actors.h).
 */
#include "actors.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* The key being written: bytes past `cap` are counted, not written. */
struct keybuf {
    char *p;
    size_t n, cap;
};

static void put(struct keybuf *k, const char *s, size_t n)
{
    if (k->n < k->cap)
        memcpy(k->p + k->n, s, k->n + n <= k->cap ? n : k->cap - k->n);
    k->n += n;
}

static void put_number(struct keybuf *k, size_t v, char end)
{
    char d[24];
    size_t i = sizeof(d);
    d[--i] = end;
    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10));
    put(k, d + i, sizeof(d) - i);
}

/* A string field of the key: '-' when absent (NULL), else its length, ':'
 * and its bytes, so that an absent field and an empty one, or bytes moved
 * from one field to the next, never make the same key. */
static void key_field(struct keybuf *k, const char *v)
{
    if (!v) {
        put(k, "-", 1);
        return;
    }
    size_t n = strlen(v);
    put_number(k, n, ':');
    put(k, v, n);
}

/* The spec as one string, into buf (cap bytes) as snprintf writes: every
 * field, absent or not, in order; the key of two specs is the same only
 * when every field is (an absent entity is looked up in eval, an empty one
 * is not). Returns the key's length. Written without printf: it is made
 * for every request that names an actor. */
static size_t spec_key(char *buf, size_t cap, const struere_actor_spec *s)
{
    struct keybuf k = {buf, 0, cap ? cap - 1 : 0};
    put_number(&k, (size_t)s->type, ';');
    key_field(&k, s->id);
    key_field(&k, s->entity_id);
    key_field(&k, s->organization_id);
    put_number(&k, s->role_count, ';');
    for (size_t i = 0; i < s->role_count; i++)
        key_field(&k, s->roles[i]);
    if (cap)
        buf[k.n < k.cap ? k.n : k.cap] = 0;
    return k.n;
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
    if (!c || spec->related)
        return struere_actor_new(out, rt, spec, err);
    /* the key: in place for most, else on the heap */
    char small[256], *key = small;
    size_t n = spec_key(small, sizeof(small), spec);
    if (n >= sizeof(small)) {
        if (!(key = malloc(n + 1)))
            return struere_actor_new(out, rt, spec, err);
        spec_key(key, n + 1, spec);
    }
    uint64_t h = hash_of(key);
    pthread_rwlock_rdlock(&c->lock);
    struct slot *s = find(c, key, h);
    struere_actor *kept = s->key ? s->actor : NULL;
    pthread_rwlock_unlock(&c->lock);
    int rc = 0;
    if (kept) {
        *out = kept;
        *owned = false;
        goto done;
    }
    if ((rc = struere_actor_new(out, rt, spec, err)) < 0)
        goto done;
    pthread_rwlock_wrlock(&c->lock);
    s = find(c, key, h);
    if (s->key) { /* another request made it meanwhile: use that one */
        struere_actor_free(*out);
        *out = s->actor;
        *owned = false;
    } else if (c->count < SRV_ACTORS_MAX &&
               (s->key = key == small ? strdup(key) : key)) {
        s->hash = h;
        s->actor = *out;
        c->count++;
        if (key != small)
            key = small; /* kept */
        *owned = false;
    }
    pthread_rwlock_unlock(&c->lock);
done:
    if (key != small)
        free(key);
    return rc;
}
