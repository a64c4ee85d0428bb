/*
 * fail_threads.c - preloaded into `struere serve` by serve_test.py
 * (LD_PRELOAD): while the file named by STRUERE_TEST_FAIL_THREADS exists,
 * pthread_create fails with EAGAIN, as it does past a thread limit
 * (RLIMIT_NPROC, a cgroup's pids.max). Serve's worker threads are made
 * before the test creates the file; a dashboard answer's thread is made
 * after, so the test sees what serve does when it cannot have one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                      void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg)
{
    const char *flag = getenv("STRUERE_TEST_FAIL_THREADS");
    if (flag && access(flag, F_OK) == 0)
        return EAGAIN;
    create_fn *real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
    return real ? real(t, attr, start, arg) : EAGAIN;
}
