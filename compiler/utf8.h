/*
 * utf8.h - the runtime's UTF-8 rule (runtime/src/rt_utf8.h), so that the
 * compiler accepts in definition files exactly what the runtime accepts.
 */
#ifndef STRUERE_UTF8_H
#define STRUERE_UTF8_H

#include "../runtime/src/rt_utf8.h"

#endif
