/*
 * memprobe.c - where serve's resident memory beyond its bundles comes
 * from: a process linked with serve's libraries prints RssAnon and
 * RssFile (from /proc/self/status) at start and after each step that
 * serve takes once (its argument picks them, in this order):
 *   s  sodium_init()
 *   e  SHA-256 through OpenSSL's EVP (as runtime/src/sha256.c)
 *   g  git_libgit2_init()
 *   m  a libmicrohttpd daemon started (4 threads, epoll)
 * Built twice by bench/serve/memprobe.sh: with all of struere's libraries
 * and with only what an HTTP server over bundles would need
 * (libmicrohttpd, libsodium, jansson). A measurement tool, not a test.
 */
#include <git2.h>
#include <openssl/evp.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void show(const char *what)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long anon = -1, file = -1;
    while (f && fgets(line, sizeof(line), f)) {
        sscanf(line, "RssAnon: %ld", &anon);
        sscanf(line, "RssFile: %ld", &file);
    }
    if (f)
        fclose(f);
    printf("%-12s RssAnon %6ld KiB  RssFile %6ld KiB\n", what, anon, file);
}

static enum MHD_Result refuse(void *c, struct MHD_Connection *x,
                              const char *url, const char *method,
                              const char *version, const char *data,
                              size_t *size, void **p)
{
    (void)c, (void)x, (void)url, (void)method, (void)version, (void)data;
    (void)size, (void)p;
    return MHD_NO;
}

int main(int argc, char **argv)
{
    const char *steps = argc > 1 ? argv[1] : "";
    show("start");
#ifndef LEAN
    if (strchr(steps, 'e')) {
        unsigned char out[32];
        unsigned n;
        EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
        EVP_Digest("a", 1, out, &n, md, NULL);
        show("evp sha256");
    }
    if (strchr(steps, 'g')) {
        git_libgit2_init();
        show("libgit2");
    }
#endif
    if (strchr(steps, 's')) {
        if (sodium_init() < 0)
            return 1;
        show("sodium");
    }
    if (strchr(steps, 'm')) {
        struct MHD_Daemon *d = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
            refuse, NULL, MHD_OPTION_THREAD_POOL_SIZE, 4, MHD_OPTION_END);
        show("mhd");
        if (d)
            MHD_stop_daemon(d);
    }
    return 0;
}
