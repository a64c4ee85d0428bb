/*
 * tmpl_scan.h - the {{ }} scanner. It lives in libstruere
 * (runtime/src/tmpl_scan.c), which renders prompts and fires automations
 * with it; the compiler links it from there so that `check` reports a
 * template exactly when the runtime would not resolve it.
 */
#include "../runtime/src/rt_tmpl_scan.h"
