/*
 * buf.h - the growable output buffer: the runtime's (runtime/src/buf.c),
 * one for the whole project, used for bundle bytes, the definition cache
 * and commit messages.
 */
#ifndef STRUERE_BUF_H
#define STRUERE_BUF_H

#include "../runtime/src/rt_buf.h"

#endif
