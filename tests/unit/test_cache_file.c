/*
 * test_cache_file.c - the cache files' writer (compiler/cache_file.c)
 * under threads of one process: each write goes through a temporary
 * renamed over the name, so a reader sees one writer's bytes whole or the
 * file as it was, and no temporary is left; a new cache key made by
 * several threads at once is one key that every thread reads back. A
 * sealed file mapped (cache_file_map_sealed) is taken only whole, sealed
 * under the directory's key and a regular file; a mapping keeps the
 * bytes it verified when the file is replaced meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cache_file.h"
#include "harness.h"

#define WRITERS 6
#define ROUNDS 150
#define BYTES (256 * 1024)

static char dir[64];
static atomic_bool writing;
/* The writers (and, in the key test, the threads) start together. */
static pthread_barrier_t start;
static int failed_writes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Writer w writes BYTES bytes of the value 'a' + w, ROUNDS times. */
static void *writer(void *arg)
{
    int w = (int)(long)arg;
    unsigned char *data = malloc(BYTES);
    if (!data)
        abort();
    memset(data, 'a' + w, BYTES);
    pthread_barrier_wait(&start);
    for (int r = 0; r < ROUNDS; r++)
        if (cache_file_write(dir, "shared", data, BYTES) != 0) {
            pthread_mutex_lock(&lock);
            failed_writes++;
            pthread_mutex_unlock(&lock);
        }
    free(data);
    return NULL;
}

/* Whether bytes are one writer's whole. */
static bool whole(const unsigned char *p, size_t n)
{
    if (n != BYTES || p[0] < 'a' || p[0] >= 'a' + WRITERS)
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] != p[0])
            return false;
    return true;
}

static int torn_reads, reads;

static void *reader(void *arg)
{
    (void)arg;
    char path[128];
    snprintf(path, sizeof(path), "%s/shared", dir);
    /* until the writers are done, and at least once after */
    for (bool more = true; more;) {
        more = writing;
        size_t n = 0;
        unsigned char *p = cache_file_read(path, &n);
        if (p) {
            reads++;
            torn_reads += !whole(p, n);
        }
        free(p);
    }
    return NULL;
}

static int temporaries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void remove_dir(const char *path)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
    CHECK(system(cmd) == 0);
}

/* Starts n threads of fn (argument: their number); aborts when one
 * cannot start (joining it would be undefined). */
static void start_all(pthread_t *t, int n, void *(*fn)(void *))
{
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)i) != 0)
            abort();
}

static void test_threads_write_one_name(void)
{
    snprintf(dir, sizeof(dir), "/tmp/struere-unit-cache.XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    pthread_t w[WRITERS], r;
    writing = true;
    pthread_barrier_init(&start, NULL, WRITERS);
    start_all(&r, 1, reader);
    start_all(w, WRITERS, writer);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    writing = false;
    pthread_join(r, NULL);
    pthread_barrier_destroy(&start);
    char path[128];
    snprintf(path, sizeof(path), "%s/shared", dir);
    size_t n = 0;
    unsigned char *p = cache_file_read(path, &n);
    CHECK(p && whole(p, n));
    free(p);
    CHECK(failed_writes == 0);
    CHECK(torn_reads == 0);
    CHECK(reads > 0);
    CHECK(temporaries() == 0);
    remove_dir(dir);
}

/* Threads making the store's first key at once: one key, every thread's. */
static unsigned char keys[WRITERS][CACHE_KEY_BYTES];
static bool got[WRITERS];
static char key_dir[64];

static void *make_key(void *arg)
{
    int i = (int)(long)arg;
    pthread_barrier_wait(&start);
    got[i] = cache_file_key(key_dir, true, keys[i]);
    return NULL;
}

static void test_threads_make_one_key(void)
{
    for (int round = 0; round < 20; round++) {
        snprintf(key_dir, sizeof(key_dir), "/tmp/struere-unit-key.XXXXXX");
        if (!mkdtemp(key_dir)) {
            CHECK(!"mkdtemp");
            return;
        }
        pthread_t t[WRITERS];
        pthread_barrier_init(&start, NULL, WRITERS);
        start_all(t, WRITERS, make_key);
        for (int i = 0; i < WRITERS; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        bool same = true;
        for (int i = 0; i < WRITERS; i++)
            same = same && got[i] && !memcmp(keys[i], keys[0], CACHE_KEY_BYTES);
        CHECK(same);
        char path[128];
        snprintf(path, sizeof(path), "%s/key", key_dir);
        struct stat st;
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
              st.st_size == CACHE_KEY_BYTES);
        snprintf(dir, sizeof(dir), "%s", key_dir);
        CHECK(temporaries() == 0);
        remove_dir(key_dir);
    }
}

/* Writes n bytes of value v at path, sealed under the key of its
 * directory (made). */
static bool write_sealed(const char *path, int v, size_t n)
{
    rt_buf o;
    rt_buf_grow_init(&o);
    unsigned char *b = malloc(n + 1);
    if (!b)
        return false;
    memset(b, v, n);
    rt_buf_put(&o, b, n);
    free(b);
    bool ok = cache_file_seal_write(path, &o) == 0;
    free(o.p);
    return ok;
}

static bool all(const unsigned char *p, size_t n, int v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* Flips byte `at` of the file at path in place. */
static void flip(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c = 0;
    CHECK(fd >= 0 && pread(fd, &c, 1, at) == 1);
    c ^= 0x40;
    CHECK(fd >= 0 && pwrite(fd, &c, 1, at) == 1);
    if (fd >= 0)
        close(fd);
}

static void test_map_sealed(void)
{
    snprintf(dir, sizeof(dir), "/tmp/struere-unit-map.XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[128], other[128], link_path[128], fifo[128];
    snprintf(path, sizeof(path), "%s/sealed", dir);
    snprintf(other, sizeof(other), "%s/other", dir);
    snprintf(link_path, sizeof(link_path), "%s/link", dir);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    struct cache_map m;
    /* Whole: the bytes before the seal, the seal after them. */
    CHECK(write_sealed(path, 'x', 100000));
    CHECK(cache_file_map_sealed(path, SIZE_MAX, &m));
    CHECK(m.data && m.len == 100000 && all(m.data, m.len, 'x') &&
          m.mapped == 100000 + CACHE_SEAL_BYTES);
    /* Replaced by rename while mapped: the mapping keeps what verified. */
    CHECK(write_sealed(other, 'y', 50000) && rename(other, path) == 0);
    CHECK(m.data && m.len == 100000 && all(m.data, m.len, 'x'));
    cache_file_unmap(&m);
    CHECK(m.data == NULL && m.len == 0);
    cache_file_unmap(&m); /* twice: nothing */
    CHECK(cache_file_map_sealed(path, SIZE_MAX, &m) && m.len == 50000 &&
          all(m.data, m.len, 'y'));
    cache_file_unmap(&m);
    /* Larger than max: not mapped. Exactly max: mapped. */
    CHECK(!cache_file_map_sealed(path, 50000 + CACHE_SEAL_BYTES - 1, &m) &&
          !m.data);
    CHECK(cache_file_map_sealed(path, 50000 + CACHE_SEAL_BYTES, &m));
    cache_file_unmap(&m);
    /* A byte changed, in the bytes or in the seal: refused. */
    flip(path, 1234);
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    flip(path, 1234);
    CHECK(cache_file_map_sealed(path, SIZE_MAX, &m));
    cache_file_unmap(&m);
    flip(path, 50000 + 3);
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    flip(path, 50000 + 3);
    /* No key, then another key (the key file removed, then made again). */
    char key[128];
    snprintf(key, sizeof(key), "%s/key", dir);
    CHECK(unlink(key) == 0);
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    unsigned char other_key[CACHE_KEY_BYTES];
    CHECK(cache_file_key(dir, true, other_key)); /* a new one, made now */
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    /* Only the seal, or shorter: refused. */
    CHECK(write_sealed(path, 'z', 0));
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    CHECK(truncate(path, 5) == 0);
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    /* A link to a sealed file, a FIFO (never blocked on), a directory,
     * nothing: refused. */
    CHECK(write_sealed(other, 'w', 4096));
    CHECK(symlink("other", link_path) == 0);
    CHECK(cache_file_map_sealed(other, SIZE_MAX, &m));
    cache_file_unmap(&m);
    CHECK(!cache_file_map_sealed(link_path, SIZE_MAX, &m) && !m.data);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(!cache_file_map_sealed(fifo, SIZE_MAX, &m) && !m.data);
    CHECK(!cache_file_map_sealed(dir, SIZE_MAX, &m) && !m.data);
    snprintf(path, sizeof(path), "%s/none", dir);
    CHECK(!cache_file_map_sealed(path, SIZE_MAX, &m) && !m.data);
    remove_dir(dir);
}

/* Threads writing one sealed name while others map it: every mapping
 * that verifies is one writer's bytes whole. */
static atomic_int maps, torn_maps;

static void *sealed_writer(void *arg)
{
    int w = (int)(long)arg;
    char path[128];
    snprintf(path, sizeof(path), "%s/shared", dir);
    pthread_barrier_wait(&start);
    for (int r = 0; r < ROUNDS / 3; r++)
        if (!write_sealed(path, 'a' + w, BYTES)) {
            pthread_mutex_lock(&lock);
            failed_writes++;
            pthread_mutex_unlock(&lock);
        }
    return NULL;
}

static void *mapper(void *arg)
{
    (void)arg;
    char path[128];
    snprintf(path, sizeof(path), "%s/shared", dir);
    for (bool more = true; more;) {
        more = writing;
        struct cache_map m;
        if (cache_file_map_sealed(path, SIZE_MAX, &m)) {
            maps++;
            torn_maps += !whole(m.data, m.len);
        }
        cache_file_unmap(&m);
    }
    return NULL;
}

static void test_threads_map_one_name(void)
{
    snprintf(dir, sizeof(dir), "/tmp/struere-unit-mapw.XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/shared", dir);
    CHECK(write_sealed(path, 'a', BYTES)); /* the key, made before */
    failed_writes = 0;
    maps = torn_maps = 0;
    writing = true;
    pthread_t w[WRITERS], r[2];
    pthread_barrier_init(&start, NULL, WRITERS);
    start_all(r, 2, mapper);
    start_all(w, WRITERS, sealed_writer);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    writing = false;
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    pthread_barrier_destroy(&start);
    CHECK(failed_writes == 0);
    CHECK(torn_maps == 0);
    CHECK(maps > 0);
    CHECK(temporaries() == 0);
    remove_dir(dir);
}

const struct test cache_file_tests[] = {
    {"cache_file: a sealed file mapped", test_map_sealed},
    {"cache_file: threads mapping a name being written",
     test_threads_map_one_name},
    {"cache_file: threads writing one name", test_threads_write_one_name},
    {"cache_file: threads making the first key", test_threads_make_one_key},
    {0, 0}};
