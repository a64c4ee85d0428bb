/*
 * bundle_trust.h - bundles whose bodies the compiler knows to be JSON
 * without reading them: the runtime's (runtime/src/rt_bundle_trust.h).
 */
#ifndef STRUERE_BUNDLE_TRUST_H
#define STRUERE_BUNDLE_TRUST_H

#include "../runtime/src/rt_bundle_trust.h"

#endif
