/*
 * freshmem.c - what fresh memory costs on this machine: a 100 MiB
 * anonymous mapping made, touched page by page or populated at once
 * (MADV_POPULATE_WRITE), with 4 KiB pages or advised to 2 MiB ones
 * (MADV_HUGEPAGE), four rounds each, then unmapped. Every buffer a run of
 * struere fills for the first time pays this (bench/RESULTS.md, issue
 * 12, fourteenth session).
 *
 * Build and run from the repository's root:
 *   cc -O2 -o build/freshmem bench/freshmem/freshmem.c && build/freshmem
 */
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* AnonHugePages of this process, KiB (-1 when unknown): how much of the
 * buffer the kernel gave in 2 MiB pages. */
static long huge_kib(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    const size_t n = (size_t)100 << 20;
    for (int huge = 0; huge < 2; huge++)
        for (int round = 0; round < 4; round++) {
            int populate = round % 2;
            double t = now();
            char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                return 1;
            if (huge && madvise(p, n, MADV_HUGEPAGE) != 0)
                perror("madvise(MADV_HUGEPAGE)");
            int populated = populate && madvise(p, n, MADV_POPULATE_WRITE) == 0;
            if (!populated)
                for (size_t i = 0; i < n; i += 4096)
                    p[i] = 1;
            double ms = (now() - t) * 1e3;
            printf("%s pages asked, %s: %.1f ms for 100 MiB (%ld KiB in 2 "
                   "MiB pages)\n",
                   huge ? "2 MiB" : "4 KiB",
                   populated ? "populated" : "touched", ms, huge_kib());
            munmap(p, n);
        }
    return 0;
}
