/*
 * env.h - the environments (development, production, eval): the enum the
 * compiler indexes by, and their names from libstruere's one table
 * (runtime/src/rt_env.h), so that the two never list them apart.
 */
#ifndef STRUERE_ENV_H
#define STRUERE_ENV_H

#include "../runtime/src/rt_env.h"

enum env { ENV_DEVELOPMENT, ENV_PRODUCTION, ENV_EVAL, ENV_COUNT };

/* "development", "production", "eval", by enum env. */
#define env_names rt_env_names

#endif
