/*
 * actors.h - the actors of one loaded bundle, made once. Making an actor
 * reads its agent's or roles' definitions (more than a decision costs),
 * while an actor is never changed by what is asked with it: each loaded
 * bundle keeps the actors its requests named, up to SRV_ACTORS_MAX, and
 * hands the same one to every request that names the same actor.
 */
#ifndef STRUERE_SERVER_ACTORS_H
#define STRUERE_SERVER_ACTORS_H

#include <stdbool.h>

#include "struere.h"

/* Actors one loaded bundle keeps: bounds the memory a client inventing
 * user ids can make it hold (a few hundred bytes each); past it, actors
 * are made per request as before. */
#define SRV_ACTORS_MAX 4096

struct srv_actors;

/* A new, empty set (NULL when memory runs out: then none are kept). */
struct srv_actors *actors_new(void);
/* Frees the set and its actors (after the last request on its bundle). */
void actors_free(struct srv_actors *c);

/*
 * The actor `spec` names, on `rt` (the bundle the set belongs to): one
 * kept, or a new one kept from now on. `*owned` is set when the caller
 * must free it (the set is NULL or full). Fails as struere_actor_new.
 * Safe from many threads at once.
 */
int actors_get(struere_actor **out, bool *owned, struct srv_actors *c,
               const struere_runtime *rt, const struere_actor_spec *spec,
               struere_error *err);

#endif
