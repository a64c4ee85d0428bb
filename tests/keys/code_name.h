/*
 * code_name.h - the STRUERE_E* name of a return code, for the test
 * programs that print what libstruere answered (tests/keys/probe.c,
 * tests/trust/tool.c), so that the scripts can match codes by name.
 */
#ifndef STRUERE_TEST_CODE_NAME_H
#define STRUERE_TEST_CODE_NAME_H

#include "struere.h"

static const char *code_name(int code)
{
    static const char *const names[] = {
        "OK",         "ENOMEM",    "EIO",      "EFORMAT",     "EVERSION",
        "ETRUNCATED", "ECHECKSUM", "EENV",     "ECORRUPT",    "ENOTFOUND",
        "EINVAL",     "EKEY",      "EREVOKED", "EEXPIRED",    "ESTORE",
        "EJSON",      "ERANGE",    "EDIGEST",  "EUNAPPROVED", "ESIGNATURE",
        "EREPLAY",    "ETRUST"};
    /* A code added to struere.h must be named here too. */
    _Static_assert(sizeof(names) / sizeof(names[0]) == 1 - STRUERE_ETRUST,
                   "a STRUERE_E* code has no name");
    if (code > 0 || -code >= (int)(sizeof(names) / sizeof(names[0])))
        return "E?";
    return names[-code];
}

#endif
