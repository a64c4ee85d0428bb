/* TEMPORARY: the lead's key API (struere_keyring_*, struere_runtime_open_env)
 * until it lands on main; deleted at the merge. */
#ifndef STRUERE_KEYRING_SHIM_H
#define STRUERE_KEYRING_SHIM_H
#include "struere.h"
typedef struct struere_keyring struere_keyring;
int struere_keyring_open(struere_keyring **out,
                         const struere_open_options *options,
                         struere_error *err);
int struere_keyring_check(int *env, const struere_keyring *kr, const char *key,
                          int64_t now, struere_error *err);
const char *struere_keyring_commit(const struere_keyring *kr);
void struere_keyring_free(struere_keyring *kr);
int struere_runtime_open_env(struere_runtime **out, int env,
                             const struere_open_options *options,
                             struere_error *err);
const char *shim_runtime_commit(const struere_runtime *rt);
#define struere_runtime_commit shim_runtime_commit
#endif
