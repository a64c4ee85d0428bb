/*
 * rt_env.h - the three environments, listed once for libstruere and the
 * compiler (compiler/env.h includes this): their names and the prefixes
 * of their API keys, indexed by STRUERE_ENV_* - 1, which is also the
 * compiler's enum env (development, production, eval).
 */
#ifndef STRUERE_RT_ENV_H
#define STRUERE_RT_ENV_H

#define RT_ENV_COUNT 3

extern const char *const rt_env_names[RT_ENV_COUNT];
extern const char *const rt_env_key_prefixes[RT_ENV_COUNT];

#endif
