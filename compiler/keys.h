/*
 * keys.h - API key records: the runtime's keys module
 * (runtime/src/keys.c), so that `struere keys` writes what the runtime's
 * keystore reads with the same code.
 */
#ifndef STRUERE_KEYS_H
#define STRUERE_KEYS_H

#include "../runtime/src/rt_keys.h"

#endif
