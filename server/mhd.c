/*
 * mhd.c - libmicrohttpd, loaded when a server starts (mhd.h).
 */
#include "mhd.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The soname the build found (Makefile); the Debian 12 one otherwise. */
#ifndef MHD_SONAME
#define MHD_SONAME "libmicrohttpd.so.12"
#endif

struct mhd_api mhd;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char why[256];

/* Each entry: where its address goes, and its name in the library. */
#define ENTRY(field, name)                                                     \
    {                                                                          \
        (void **)&mhd.field, #name                                             \
    }

static void load(void)
{
    static const struct {
        void **slot;
        const char *name;
    } entries[] = {
        ENTRY(start_daemon, MHD_start_daemon),
        ENTRY(get_daemon_info, MHD_get_daemon_info),
        ENTRY(quiesce_daemon, MHD_quiesce_daemon),
        ENTRY(stop_daemon, MHD_stop_daemon),
        ENTRY(get_connection_info, MHD_get_connection_info),
        ENTRY(lookup_connection_value, MHD_lookup_connection_value),
        ENTRY(create_response_from_buffer, MHD_create_response_from_buffer),
        ENTRY(add_response_header, MHD_add_response_header),
        ENTRY(queue_response, MHD_queue_response),
        ENTRY(destroy_response, MHD_destroy_response),
    };
    /* Never closed: the server runs until the process ends. */
    void *lib = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(why, sizeof(why),
                 "libmicrohttpd is needed (install the package that "
                 "provides %s): %s",
                 MHD_SONAME, e ? e : "not found");
        return;
    }
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        /* dlsym's object pointer into a function pointer: POSIX allows
         * it; ISO C has no word for it, hence the copy. */
        void *sym = dlsym(lib, entries[i].name);
        if (!sym) {
            snprintf(why, sizeof(why),
                     "%s has no %s: not the library "
                     "serve was built against",
                     MHD_SONAME, entries[i].name);
            memset(&mhd, 0, sizeof(mhd));
            return;
        }
        memcpy(entries[i].slot, &sym, sizeof(sym));
    }
    loaded = true;
}

bool mhd_load(char *err, size_t errsize)
{
    pthread_once(&once, load);
    if (!loaded)
        snprintf(err, errsize, "%s", why);
    return loaded;
}
