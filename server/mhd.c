/*
 * mhd.c - libmicrohttpd, loaded when a server starts (mhd.h).
 */
#include "mhd.h"

#include "../runtime/src/rt_dynlib.h"

#include <pthread.h>
#include <stdio.h>

/* The soname the build found (Makefile); the Debian 12 one otherwise. */
#ifndef MHD_SONAME
#define MHD_SONAME "libmicrohttpd.so.12"
#endif

struct mhd_api mhd;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;
static char why[256];

static void load(void)
{
#define ENTRY(field, name)                                                     \
    {                                                                          \
        (void **)&mhd.field, #name                                             \
    }
    static const struct rt_dynlib_symbol symbols[] = {
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
        ENTRY(suspend_connection, MHD_suspend_connection),
        ENTRY(resume_connection, MHD_resume_connection),
    };
#undef ENTRY
    /* Never closed: the server runs until the process ends. */
    loaded =
        rt_dynlib_open(MHD_SONAME, "serve", symbols,
                       sizeof(symbols) / sizeof(symbols[0]), why, sizeof(why));
}

bool mhd_load(char *err, size_t errsize)
{
    pthread_once(&once, load);
    if (!loaded)
        snprintf(err, errsize, "%s", why);
    return loaded;
}
