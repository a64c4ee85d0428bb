/*
 * envs.c - the bundles `struere serve` answers from, one runtime per
 * environment shared by every key of it, and the follower thread that
 * swaps them. A new bundle is opened (and so verified whole, with its
 * manifest digest and, where the trust policy requires, its promotion)
 * before it replaces the old; the old is freed when the last request that
 * took it releases it. struere_runtime_reload is never used: it swaps in
 * place under requests in flight.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../runtime/src/gitread.h"
#include "../runtime/src/rt_bundle_trust.h"
#include "actors.h"
#include "server.h"

/* [0]: the trust policy; [1]: the promotion statements. */
static const char *const watched_refs[] = {"refs/struere/trust",
                                           "refs/struere/promotions"};

static void loaded_put(struct srv_loaded *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
        actors_free(l->actors); /* before the runtime they were made on */
        struere_runtime_free(l->rt);
        free(l);
    }
}

static void keys_put(struct srv_keys *k)
{
    if (k && atomic_fetch_sub(&k->refs, 1) == 1) {
        struere_keyring_free(k->kr);
        free(k);
    }
}

struct srv_loaded *envs_acquire(struct srv *s, int env)
{
    struct srv_env *e = &s->envs[env];
    pthread_mutex_lock(&e->mu);
    struct srv_loaded *l = e->cur;
    if (l)
        atomic_fetch_add(&l->refs, 1);
    pthread_mutex_unlock(&e->mu);
    return l;
}

void envs_release(struct srv_loaded *l)
{
    loaded_put(l);
}

/*
 * The keys this worker thread let in during the current second, with the
 * key records they were checked against (s->keys_gen): a client on a
 * kept-alive connection sends its key with every request, and checking it
 * (its SHA-256, a constant-time search of the records) was a twentieth of
 * an authorize answer's time. A key found here with the same records and
 * the same second is let in as the check would: the records decide
 * revocation (a reload of the keys ref is a new generation), the second
 * decides expiry (the check compares whole seconds). Only keys that
 * passed are kept, compared in constant time. The kept keys are the
 * requests' own bytes: a slot is wiped when it is replaced, when the
 * thread's next check finds it stale, and when the thread ends; until
 * then a key stays in the memory of the thread that let it in (as in
 * libmicrohttpd's buffers of the connection that sent it).
 */
enum { KEY_MEMO_SLOTS = 4, KEY_MEMO_MAX = 255 };
struct key_memo {
    uint64_t gen;
    time_t second;
    int env;
    size_t len; /* 0: empty */
    char key[KEY_MEMO_MAX];
};
static _Thread_local struct key_memo key_memo[KEY_MEMO_SLOTS];
static _Thread_local unsigned key_memo_next;
static _Thread_local bool key_memo_registered;
static pthread_key_t key_memo_wipe_at_exit;
static bool key_memo_wipes;
static pthread_once_t key_memo_once = PTHREAD_ONCE_INIT;

static void key_memo_wipe(void *slots)
{
    sodium_memzero(slots, sizeof(key_memo));
}

static void key_memo_init(void)
{
    key_memo_wipes =
        pthread_key_create(&key_memo_wipe_at_exit, key_memo_wipe) == 0;
}

static int key_memo_find(uint64_t gen, time_t now, const char *key, size_t len)
{
    for (int i = 0; i < KEY_MEMO_SLOTS; i++) {
        struct key_memo *m = &key_memo[i];
        if (!m->len)
            continue;
        if (m->gen != gen || m->second != now) {
            sodium_memzero(m, sizeof(*m));
            continue;
        }
        if (m->len == len && sodium_memcmp(m->key, key, len) == 0)
            return m->env;
    }
    return 0;
}

static void key_memo_keep(uint64_t gen, time_t now, const char *key, size_t len,
                          int env)
{
    if (len > KEY_MEMO_MAX)
        return;
    if (!key_memo_registered) {
        /* wiped when the thread ends; kept only where that is arranged */
        pthread_once(&key_memo_once, key_memo_init);
        if (!key_memo_wipes ||
            pthread_setspecific(key_memo_wipe_at_exit, key_memo) != 0)
            return;
        key_memo_registered = true;
    }
    struct key_memo *m = &key_memo[key_memo_next++ % KEY_MEMO_SLOTS];
    sodium_memzero(m, sizeof(*m));
    memcpy(m->key, key, len);
    m->len = len;
    m->gen = gen;
    m->second = now;
    m->env = env;
}

int envs_check_key(struct srv *s, const char *key, int *env)
{
    pthread_mutex_lock(&s->keys_mu);
    struct srv_keys *k = s->keys;
    uint64_t gen = s->keys_gen;
    if (k)
        atomic_fetch_add(&k->refs, 1);
    bool failed = !k && s->keys_error[0];
    pthread_mutex_unlock(&s->keys_mu);
    if (!k)
        return failed ? STRUERE_ESTORE : STRUERE_EKEY;
    time_t now = time(NULL);
    size_t len = strlen(key);
    int rc = 0;
    if (!(*env = key_memo_find(gen, now, key, len))) {
        rc = struere_keyring_check(env, k->kr, key, (int64_t)now, NULL);
        if (rc == 0)
            key_memo_keep(gen, now, key, len, *env);
    }
    keys_put(k);
    /* A store with no key records: the key is unknown (401), not the
     * records unavailable (503, which only a failed load gives). */
    return rc == STRUERE_ESTORE ? STRUERE_EKEY : rc;
}

bool envs_ready(struct srv *s, int env, char *error, size_t size)
{
    struct srv_env *e = &s->envs[env];
    pthread_mutex_lock(&e->mu);
    bool ok = e->cur && !e->error[0];
    if (error)
        snprintf(error, size, "%s", e->error);
    pthread_mutex_unlock(&e->mu);
    return ok;
}

/* Opens environment env's bundle as the store holds it now and swaps it
 * in when it verifies; else keeps the old and records why. True when it
 * failed for want of memory (to be tried again). */
static bool env_load(struct srv *s, int env, const char *ref_id,
                     bool policy_moved)
{
    struct srv_env *e = &s->envs[env];
    struere_runtime *rt = NULL;
    struere_error err = {0};
    /* A signed environment never goes back to an older statement than
     * one this process accepted (with --state, than one any run
     * accepted): a ref and the promotions ref moved back together are a
     * replay (STRUERE_EREPLAY). Nor does the trust policy go back. */
    int rc = rt_runtime_open_env(&rt, env, &s->opts, &s->seen, &err);
    /* opening reads a role's body only when an actor first holds it: a
     * role that does not compile would fail every decision needing it,
     * so a bundle holding one does not replace the one served */
    if (rc == 0 &&
        (rc = rt_bundle_roles_check(struere_runtime_bundle(rt), &err)) < 0) {
        struere_runtime_free(rt);
        rt = NULL;
    }
    struct srv_loaded *l = NULL;
    if (rc == 0 && !(l = calloc(1, sizeof(*l)))) {
        struere_runtime_free(rt);
        rc = STRUERE_ENOMEM;
        snprintf(err.message, sizeof(err.message), "out of memory");
    }
    pthread_mutex_lock(&e->mu);
    snprintf(e->seen, sizeof(e->seen), "%s", ref_id);
    if (rc < 0) {
        snprintf(e->error, sizeof(e->error), "%s",
                 err.message[0] ? err.message : struere_strerror(rc));
        atomic_fetch_add(&e->failed, 1);
        /* A bundle that was approved stays served when a new one fails
         * under the same trust policy: also while a deploy has written
         * its statement and not yet moved the branch (EUNAPPROVED for a
         * moment). But when the policy itself moved (one put in force,
         * its K raised) and the approval failed, or the signatures of
         * the very commit being served fail, what is served may no
         * longer be approved: it goes. */
        struct srv_loaded *gone = NULL;
        bool signatures = rc == STRUERE_ESIGNATURE || rc == STRUERE_ETRUST;
        if (e->cur && ((signatures &&
                        (policy_moved || !strcmp(e->cur->commit, ref_id))) ||
                       (rc == STRUERE_EUNAPPROVED && policy_moved))) {
            gone = e->cur;
            e->cur = NULL;
        }
        pthread_mutex_unlock(&e->mu);
        fprintf(stderr, "struere serve: %s: %s: %s\n", struere_env_name(env),
                gone ? "no longer served" : "not loaded", e->error);
        loaded_put(gone);
        return rc == STRUERE_ENOMEM;
    }
    l->rt = rt;
    l->actors = actors_new(); /* NULL: actors made per request */
    l->env = env;
    atomic_init(&l->refs, 1);
    snprintf(l->commit, sizeof(l->commit), "%s", struere_runtime_commit(rt));
    l->loaded_at = (int64_t)time(NULL);
    struct srv_loaded *old = e->cur;
    bool same = old && !strcmp(old->commit, l->commit);
    e->cur = l;
    e->error[0] = 0;
    if (!same)
        atomic_fetch_add(&e->reloads, 1);
    pthread_mutex_unlock(&e->mu);
    if (!same)
        fprintf(stderr, "struere serve: %s: serving %.12s\n",
                struere_env_name(env), l->commit);
    loaded_put(old);
    return false;
}

/* Loads the key records; true when that failed for want of memory (to
 * be tried again: meanwhile no key is accepted). */
static bool keys_load(struct srv *s)
{
    struct srv_keys *k = calloc(1, sizeof(*k));
    struere_error err = {0};
    /* A key seen revoked stays revoked, and the trust policy does not go
     * back, whatever the refs say later (with --state, across runs). */
    int rc =
        k ? rt_keyring_open(&k->kr, &s->opts, &s->seen, &err) : STRUERE_ENOMEM;
    if (rc < 0) {
        /* Fail closed: the records that could not be read may revoke a
         * key the old ones let in (README: a damaged keys.json makes the
         * runtime refuse every key). */
        pthread_mutex_lock(&s->keys_mu);
        snprintf(s->keys_error, sizeof(s->keys_error), "%s",
                 err.message[0] ? err.message : struere_strerror(rc));
        struct srv_keys *old = s->keys;
        s->keys = NULL;
        s->keys_gen++;
        pthread_mutex_unlock(&s->keys_mu);
        fprintf(stderr, "struere serve: keys not loaded: %s\n", s->keys_error);
        free(k);
        keys_put(old);
        return rc == STRUERE_ENOMEM;
    }
    atomic_init(&k->refs, 1);
    snprintf(k->commit, sizeof(k->commit), "%s", struere_keyring_commit(k->kr));
    pthread_mutex_lock(&s->keys_mu);
    struct srv_keys *old = s->keys;
    s->keys = k;
    s->keys_gen++;
    s->keys_error[0] = 0;
    pthread_mutex_unlock(&s->keys_mu);
    keys_put(old);
    return false;
}

/* The ids of the refs that decide what is served. */
struct ref_state {
    char env[4][41];
    char keys[41];
    char trust[2][41];
};

/* The id `name` holds, in hex; "" when there is none or it cannot be
 * read (the load it leads to says why); `last` (what was read before)
 * when memory to read it could not be had: a ref does not seem to move
 * for want of memory. */
static void ref_hex(struct rt_git *g, const char *name, const char *last,
                    char hex[41])
{
    unsigned char id[RT_GIT_ID];
    int rc = rt_git_ref(g, name, id, NULL);
    if (rc == 0)
        rt_git_id_hex(id, hex);
    else if (rc == STRUERE_ENOMEM)
        memcpy(hex, last, 41);
    else
        hex[0] = 0;
}

/* The refs are read by the runtime's reader (gitread.h): the follower
 * reads them five times a second, without libgit2 mapped. */
static void refs_read(struct rt_git *g, const struct ref_state *last,
                      struct ref_state *r)
{
    memset(r, 0, sizeof(*r));
    for (int env = 1; env <= 3; env++) {
        char ref[100];
        snprintf(ref, sizeof(ref), "refs/heads/struere/%s",
                 struere_env_name(env));
        ref_hex(g, ref, last->env[env], r->env[env]);
    }
    ref_hex(g, "refs/struere/keys", last->keys, r->keys);
    for (int i = 0; i < 2; i++)
        ref_hex(g, watched_refs[i], last->trust[i], r->trust[i]);
}

/* What a load that ran out of memory leaves in the state seen: an id no
 * ref holds, so that the next round loads it again (without waiting for
 * the ref to move). */
static const char not_loaded[41] = "-";

/* Loads what changed between *old and *now (everything when force). What
 * failed for want of memory is marked in *now as not seen: the follower
 * tries it again on its next round, and only it; a trust policy that
 * moved is marked so too, so that what is tried again is judged as under
 * a policy that moved. */
static void refs_apply(struct srv *s, const struct ref_state *old,
                       struct ref_state *now, bool force)
{
    bool trust = force || memcmp(old->trust, now->trust, sizeof(now->trust));
    bool policy_moved = strcmp(old->trust[0], now->trust[0]) != 0, oom = false;
    if ((trust || strcmp(old->keys, now->keys)) && keys_load(s)) {
        memcpy(now->keys, not_loaded, 41);
        oom = true;
    }
    for (int env = 1; env <= 3; env++)
        if (now->env[env][0] &&
            (trust || strcmp(old->env[env], now->env[env])) &&
            env_load(s, env, now->env[env], policy_moved)) {
            memcpy(now->env[env], not_loaded, 41);
            oom = true;
        }
    if (oom && policy_moved)
        memcpy(now->trust[0], not_loaded, 41);
}

void envs_init(struct srv *s)
{
    for (int env = 0; env < 4; env++)
        pthread_mutex_init(&s->envs[env].mu, NULL);
    pthread_mutex_init(&s->keys_mu, NULL);
    struct rt_git *g;
    struct ref_state zero = {0}, now;
    if (rt_git_open(&g, s->store_path, NULL) < 0) {
        keys_load(s);
        return;
    }
    refs_read(g, &zero, &now);
    rt_git_close(g);
    refs_apply(s, &zero, &now, true);
    /* without s->refs, the follower's first round loads everything */
    if ((s->refs = malloc(sizeof(now))))
        memcpy(s->refs, &now, sizeof(now));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Memory that answers freed goes back to the system: glibc otherwise
 * keeps freed pages in each thread's heap. serve at 10,000 definitions
 * stayed 9.0-9.6 MiB above its bundles after a load of authorize
 * requests, against 7.3-7.5 at rest (bench/serve/memory-use.sh). The
 * dashboard's large answers are now a child's output in a block mapped
 * on its own, yet without the trim after them serve still ended 7.6-8.3
 * MiB above its bundles, with it 7.7-7.8 (bench/RESULTS.md, twenty-fourth
 * session). A trim walks every heap under its lock, so
 * it is done once per round at most, and only when it may give much
 * back: after one of those dashboard answers (trim_now, set by http.c), a
 * reload, or a round without requests after at least SRV_TRIM_REQUESTS
 * answered since the last trim (never under steady load, nor for a probe
 * now and then). */
struct trim_state {
    unsigned long answered; /* requests answered at the last trim */
    unsigned long seen;     /* ... at the last round */
};

static void trim_if_due(struct srv *s, struct trim_state *t, bool reloaded)
{
    unsigned long n = metrics_requests(s->metrics);
    bool quiet = n == t->seen && n - t->answered >= SRV_TRIM_REQUESTS;
    t->seen = n;
    if (atomic_exchange(&s->trim_now, 0) || reloaded || quiet) {
        malloc_trim(0);
        t->answered = n;
    }
}

_Static_assert(sizeof(struct ref_state) % 41 == 0,
               "struct ref_state is ids of 41 bytes, nothing else");

/* Whether every id that differs between *last and *now is a load that
 * ran out of memory (not_loaded in *last) of the id it was tried with
 * (*tried): nothing moved since, only a retry is due. */
static bool only_retries(const struct ref_state *last,
                         const struct ref_state *now,
                         const struct ref_state *tried)
{
    const char(*l)[41] = (const char(*)[41])last;
    const char(*n)[41] = (const char(*)[41])now;
    const char(*t)[41] = (const char(*)[41])tried;
    bool any = false;
    for (size_t i = 0; i < sizeof(*last) / 41; i++)
        if (strcmp(l[i], n[i])) {
            if (strcmp(l[i], not_loaded) || strcmp(n[i], t[i]))
                return false;
            any = true;
        }
    return any;
}

static bool has_not_loaded(const struct ref_state *r)
{
    const char(*ids)[41] = (const char(*)[41])r;
    for (size_t i = 0; i < sizeof(*r) / 41; i++)
        if (!strcmp(ids[i], not_loaded))
            return true;
    return false;
}

/* When loads that ran out of memory are tried again: after one round,
 * then after twice as long each time they run out again, up to
 * SRV_RETRY_MAX_MS; at once when a ref moves or on SIGHUP. */
struct retry_state {
    struct ref_state tried; /* the ids the last apply was given */
    int64_t at_ms;          /* not before */
    int64_t delay_ms;       /* 0: nothing failed */
};

static void retry_after_apply(struct retry_state *r,
                              const struct ref_state *last)
{
    if (!has_not_loaded(last)) {
        r->delay_ms = 0;
        return;
    }
    r->delay_ms = r->delay_ms ? r->delay_ms * 2 : SRV_POLL_MS;
    if (r->delay_ms > SRV_RETRY_MAX_MS)
        r->delay_ms = SRV_RETRY_MAX_MS;
    r->at_ms = now_ms() + r->delay_ms;
}

static void *follow(void *arg)
{
    struct srv *s = arg;
    struct rt_git *g = NULL;
    char err[512];
    struct ref_state last = {0}, now;
    int64_t next_fetch = 0;
    struct trim_state trim = {0, 0};
    struct retry_state retry = {.delay_ms = 0};
    if (s->refs)
        memcpy(&last, s->refs, sizeof(last));
    while (!atomic_load(&s->stopping)) {
        if (rt_git_open(&g, s->store_path, NULL) < 0) {
            trim_if_due(s, &trim, false);
            poll(NULL, 0, SRV_POLL_MS);
            continue;
        }
        bool force = atomic_exchange(&s->reload_now, 0);
        if (s->cfg.follow && !atomic_load(&s->stop_at_ms) &&
            (force || now_ms() >= next_fetch)) {
            /* fetching is libgit2's: `struere fetch` as a child process
             * (the mirror is a store of its own) */
            const char *const args[] = {"fetch", s->cfg.follow, NULL};
            struct subcommand c = {.store = s->store_path,
                                   .args = args,
                                   .seconds = SRV_FETCH_SECONDS,
                                   .stop_at_ms = &s->stop_at_ms,
                                   .own_group = true};
            if (subcommand_run(&c, err, sizeof(err)))
                fprintf(stderr, "struere serve: fetch %s: %s\n", s->cfg.follow,
                        err);
            next_fetch = now_ms() + 1000 * (int64_t)s->cfg.interval;
        }
        refs_read(g, &last, &now);
        bool moved = force || memcmp(&last, &now, sizeof(now));
        if (moved && !force && only_retries(&last, &now, &retry.tried) &&
            now_ms() < retry.at_ms)
            moved = false; /* a retry, not due yet: last stays as it is */
        else if (moved) {
            retry.tried = now;
            refs_apply(s, &last, &now, force);
            last = now;
            retry_after_apply(&retry, &last);
        } else
            last = now;
        trim_if_due(s, &trim, moved);
        /* the store's packs may change on disk (a repack, a fetch by
         * another process): opened again on each round */
        rt_git_close(g);
        g = NULL;
        for (int i = 0; i < SRV_POLL_MS / 50 && !atomic_load(&s->stopping) &&
                        !atomic_load(&s->reload_now);
             i++)
            poll(NULL, 0, 50);
    }
    return NULL;
}

int envs_start(struct srv *s, char *err, size_t errsize)
{
    int rc = pthread_create(&s->follower, NULL, follow, s);
    if (rc) {
        snprintf(err, errsize, "cannot start the follower thread: %s",
                 strerror(rc));
        return -1;
    }
    s->follower_started = true;
    return 0;
}

void envs_stop(struct srv *s)
{
    atomic_store(&s->stopping, 1);
    if (s->follower_started)
        pthread_join(s->follower, NULL);
    s->follower_started = false;
}

void envs_free(struct srv *s)
{
    for (int env = 0; env < 4; env++) {
        loaded_put(s->envs[env].cur);
        s->envs[env].cur = NULL;
        pthread_mutex_destroy(&s->envs[env].mu);
    }
    keys_put(s->keys);
    s->keys = NULL;
    free(s->refs);
    s->refs = NULL;
    rt_state_clear(&s->seen);
    pthread_mutex_destroy(&s->keys_mu);
}
