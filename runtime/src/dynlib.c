/*
 * dynlib.c - a shared library opened when first needed (rt_dynlib.h).
 */
#include "rt_dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

bool rt_dynlib_open(const char *soname, const char *need,
                    const struct rt_dynlib_symbol *symbols, size_t n, char *err,
                    size_t errsize)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        /* Not there at all, or there with a library of its own that
         * could not be loaded: only the first is cured by installing. */
        const char *e = dlerror();
        bool absent = !e || strstr(e, "cannot open shared object file");
        snprintf(err, errsize, "%s needs %s%s: %s", need, soname,
                 absent ? " (install the package that provides it)" : "",
                 e ? e : "not found");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        void *sym = dlsym(lib, symbols[i].name);
        if (!sym) {
            snprintf(err, errsize,
                     "%s has no %s: it is not the library %s was built "
                     "against",
                     soname, symbols[i].name, need);
            while (i-- > 0)
                memset(symbols[i].slot, 0, sizeof(void *));
            dlclose(lib);
            return false;
        }
        /* dlsym's object pointer into a function pointer: POSIX allows
         * it; ISO C has no word for it, hence the copy. */
        memcpy(symbols[i].slot, &sym, sizeof(sym));
    }
    return true;
}
