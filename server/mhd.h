/*
 * mhd.h - libmicrohttpd, loaded when a server starts.
 *
 * Only `struere serve` speaks HTTP, yet linking libmicrohttpd maps it and
 * its TLS chain (GnuTLS, nettle, GMP, p11-kit: ten libraries, whose
 * constructors run) into every command: about 2.4 ms of each run of
 * `struere check`, a third of starting the process. So the server finds
 * the library when it starts (dlopen of the soname it was built against)
 * and calls it through this table, filled from the library's own
 * declarations (<microhttpd.h>), so a mismatched signature does not
 * compile.
 */
#ifndef STRUERE_MHD_H
#define STRUERE_MHD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <microhttpd.h>

struct mhd_api {
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_get_daemon_info) *get_daemon_info;
    __typeof__(MHD_quiesce_daemon) *quiesce_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_get_connection_info) *get_connection_info;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_suspend_connection) *suspend_connection;
    __typeof__(MHD_resume_connection) *resume_connection;
};

/* The library's functions, once mhd_load has succeeded. */
extern struct mhd_api mhd;

/* Loads libmicrohttpd (once per process; later calls return the first
 * answer). false, with what is missing in err, when it cannot. */
bool mhd_load(char *err, size_t errsize);

#endif
