/*
 * crc.h - the bundle format's CRC-32 over any length: the runtime's
 * (runtime/src/crc.c), so that what the compiler writes and what the
 * runtime verifies are computed by the one function.
 */
#ifndef STRUERE_CRC_H
#define STRUERE_CRC_H

#include "../runtime/src/rt_crc.h"

#endif
