/*
 * failalloc.c - fails the Nth allocation, the way SQLite tests itself.
 * Linked only into test programs, with -Wl,--wrap for malloc, calloc,
 * realloc, aligned_alloc, strdup and strndup, so every such call in struere's
 * own code (the compiler's and the runtime's static libraries, main) comes
 * here; the shared dependencies (libyaml, cmark, jansson, libgit2, zlib,
 * libsodium) allocate as usual.
 *
 * A whole program reads STRUERE_FAILALLOC=N at start (the Nth allocation
 * fails) and, with STRUERE_FAILALLOC_REPORT set, prints at exit
 * "failalloc: COUNT allocations, failed: 0|1" on stderr.
 *
 * A long-running program (`struere serve`) is armed while it runs: with
 * STRUERE_FAILALLOC_ARM=FILE set, each SIGUSR2 first writes FILE.status,
 * "SEQ FAILED COUNT\n" of the arming it ends (FAILED 0 or 1, COUNT the
 * allocations since), then arms what FILE says, "SEQ N" (from now on, the
 * Nth allocation fails; 0: none, only counting) or "SEQ N P" (the Nth
 * and every Pth after it: memory short for good). The test waits for
 * FILE.status to name its SEQ before it goes on.
 */
#include "failalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_long counted;
static atomic_long fail_at;
static atomic_long fail_every; /* 0: only the fail_at'th */
static atomic_int failed;

/* From now on the nth allocation fails (0: none), and with every > 0
 * every `every`th after it. */
static void failalloc_set_every(long n, long every)
{
    atomic_store(&fail_at, 0);
    atomic_store(&counted, 0);
    atomic_store(&failed, 0);
    atomic_store(&fail_every, every);
    atomic_store(&fail_at, n);
}

void failalloc_set(long n)
{
    failalloc_set_every(n, 0);
}

long failalloc_count(void)
{
    return atomic_load(&counted);
}

int failalloc_failed(void)
{
    return atomic_load(&failed);
}

int failalloc_next(void)
{
    long n = atomic_fetch_add(&counted, 1) + 1;
    long at = atomic_load(&fail_at), every = atomic_load(&fail_every);
    if (!at || (n != at && (every <= 0 || n < at || (n - at) % every)))
        return 0;
    atomic_store(&failed, 1);
    errno = ENOMEM;
    return 1;
}

void *__wrap_malloc(size_t size)
{
    return failalloc_next() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return failalloc_next() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    return failalloc_next() ? NULL : __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    return failalloc_next() ? NULL : __real_aligned_alloc(align, size);
}

char *__wrap_strdup(const char *s)
{
    return failalloc_next() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return failalloc_next() ? NULL : __real_strndup(s, n);
}

/* The arming by signal: only what a signal handler may call. */
static char arm_path[512], status_path[520];

static size_t put_num(char *to, unsigned long v)
{
    char d[24];
    size_t n = 0, k = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof(d));
    while (n)
        to[k++] = d[--n];
    return k;
}

static int get_num(const char **p, const char *end, unsigned long *v)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p == end || **p < '0' || **p > '9')
        return 0;
    for (*v = 0; *p < end && **p >= '0' && **p <= '9'; (*p)++)
        *v = *v * 10 + (unsigned long)(**p - '0');
    return 1;
}

static void failalloc_arm(int sig)
{
    (void)sig;
    int saved = errno;
    char in[64];
    unsigned long seq = 0, n = 0, every = 0;
    int fd = open(arm_path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, in, sizeof(in)) : -1;
    if (fd >= 0)
        close(fd);
    const char *p = in, *end = in + (got > 0 ? got : 0);
    if (!get_num(&p, end, &seq) || !get_num(&p, end, &n)) {
        errno = saved;
        return;
    }
    if (!get_num(&p, end, &every))
        every = 0;
    char out[80];
    size_t k = put_num(out, seq);
    out[k++] = ' ';
    k += put_num(out + k, (unsigned long)atomic_load(&failed));
    out[k++] = ' ';
    k += put_num(out + k, (unsigned long)atomic_load(&counted));
    out[k++] = '\n';
    failalloc_set_every((long)n, (long)every);
    fd = open(status_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (write(fd, out, k) != (ssize_t)k)
            (void)0; /* the test then waits in vain and says so */
        close(fd);
    }
    errno = saved;
}

__attribute__((constructor)) static void failalloc_from_env(void)
{
    const char *n = getenv("STRUERE_FAILALLOC");
    failalloc_set(n ? atol(n) : 0);
    const char *arm = getenv("STRUERE_FAILALLOC_ARM");
    if (arm && strlen(arm) < sizeof(arm_path)) {
        memcpy(arm_path, arm, strlen(arm) + 1);
        memcpy(status_path, arm, strlen(arm));
        memcpy(status_path + strlen(arm), ".status", 8);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = failalloc_arm;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
    }
}

__attribute__((destructor)) static void failalloc_report(void)
{
    if (getenv("STRUERE_FAILALLOC_REPORT"))
        fprintf(stderr, "failalloc: %ld allocations, failed: %d\n",
                failalloc_count(), failalloc_failed());
}
