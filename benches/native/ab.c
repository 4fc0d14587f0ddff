/*
 * ab.c - A/B comparison of two builds of libglimmer.so in one process.
 *
 *   ab A.so B.so [rounds]
 *
 * On a shared, noisy machine two separate benchmark runs differ by more than
 * most fast-path changes gain or lose.  This tool loads both builds with
 * dlopen(RTLD_LOCAL) into one process, alternates them round by round on the
 * same loops, and keeps the best round of each: noise then hits both alike.
 * Run it with the same file twice to see its resolution (the ratio stays
 * within about 1 % here).
 *
 * Loops (owned heap from gl_heap_create(NULL), every block written once):
 *   pairs    malloc(32) + free
 *   batch    1,000 blocks of 8..64 B allocated, then freed in order
 *   grow     64 buffers grown by realloc x2 from 16 B to 256 B..64 KiB, Lua style
 *   fresh    a new heap (fresh memory: page faults, carving, the cache's first
 *            slot arrays), 100,000 blocks of 8..64 B allocated and freed in
 *            order, the heap destroyed -- the driver's cold row, in one process
 *   rand10k  10,000 blocks of 8..64 B allocated, then freed in a random order
 *   rand     the same with 100,000 blocks
 *   aged     100,000 blocks of 8..64 B freed in allocation order, timed after
 *            three untimed rounds that free them in a random order: what a
 *            random phase leaves to the next one (the driver's aged-heap row)
 *   randt    rand, and
 *   agedt    aged, with every block touched as the driver touches it (its
 *            first and last byte written after malloc and checked before
 *            free): where blocks lie shows more than with one byte written
 * Prints Mops/s (ops = mallocs + frees + reallocs) and B/A per loop.  A
 * fourth argument, a comma-separated list of loop names, runs only those.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "listed.h"

typedef void *(*create_fn)(const void *);
typedef void (*destroy_fn)(void *);
typedef void *(*malloc_fn)(void *, size_t);
typedef int (*free_fn)(void *, void *);
typedef void *(*realloc_fn)(void *, void *, size_t);

struct build {
    const char *path;
    void *heap;
    create_fn create;
    destroy_fn destroy;
    malloc_fn malloc;
    free_fn free;
    realloc_fn realloc;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void load(struct build *b, const char *path)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "ab: %s\n", dlerror());
        exit(1);
    }
    create_fn create = (create_fn)dlsym(lib, "gl_heap_create");
    b->create = create;
    b->destroy = (destroy_fn)dlsym(lib, "gl_heap_destroy");
    b->path = path;
    b->malloc = (malloc_fn)dlsym(lib, "gl_heap_malloc");
    b->free = (free_fn)dlsym(lib, "gl_heap_free");
    b->realloc = (realloc_fn)dlsym(lib, "gl_heap_realloc");
    if (create == NULL || b->destroy == NULL || b->malloc == NULL || b->free == NULL || b->realloc == NULL) {
        fprintf(stderr, "ab: %s does not export the glimmer.h heap functions\n", path);
        exit(1);
    }
    b->heap = create(NULL);
    if (b->heap == NULL) {
        fprintf(stderr, "ab: gl_heap_create failed in %s\n", path);
        exit(1);
    }
}

static void *must(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "ab: allocation failed\n");
        exit(1);
    }
    return p;
}

/* the request size of a batch's i-th block: 8..64 bytes */
static size_t batch_size(int i)
{
    return 8 + (size_t)(i * 7919) % 57;
}

static double pairs(struct build *b)
{
    const long n = 5000000;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        char *p = must(b->malloc(b->heap, 32));
        *(volatile char *)p = 1;
        b->free(b->heap, p);
    }
    return 2.0 * (double)n / (now() - t0) / 1e6;
}

static double batch(struct build *b)
{
    enum { N = 1000, R = 5000 };
    static void *v[N];
    double t0 = now();
    for (int r = 0; r < R; r++) {
        for (int i = 0; i < N; i++) {
            v[i] = must(b->malloc(b->heap, batch_size(i)));
            *(volatile char *)v[i] = 1;
        }
        for (int i = 0; i < N; i++)
            b->free(b->heap, v[i]);
    }
    return 2.0 * N * R / (now() - t0) / 1e6;
}

/* rounds of n blocks of 8..64 B, freed in the order `order` (NULL: as
 * allocated); touch: each block's first and last byte written and checked
 * (else one byte written); returns Mops/s */
static double batch_rounds(struct build *b, int n, int rounds, const uint32_t *order, int touch)
{
    static void *v[100000];
    double t0 = now();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++) {
            char *p = must(b->malloc(b->heap, batch_size(i)));
            v[i] = p;
            if (touch) {
                p[0] = (char)i;
                p[batch_size(i) - 1] = (char)(i >> 8);
            } else {
                *(volatile char *)p = 1;
            }
        }
        for (int i = 0; i < n; i++) {
            int k = order ? (int)order[i] : i;
            const char *p = v[k];
            if (touch && (p[0] != (char)k || p[batch_size(k) - 1] != (char)(k >> 8))) {
                fprintf(stderr, "ab: %s: block %d of a batch changed while it was live\n", b->path, k);
                exit(1);
            }
            b->free(b->heap, v[k]);
        }
    }
    return 2.0 * n * rounds / (now() - t0) / 1e6;
}

/* a random permutation of 0 .. n-1, the same every run */
static const uint32_t *shuffled(int n)
{
    static uint32_t perm[100000];
    static int made;
    if (made != n) {
        uint64_t x = 0x2545F4914F6CDD1Dull;
        for (int i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        for (int i = n - 1; i > 0; i--) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            int j = (int)(x % (uint64_t)(i + 1));
            uint32_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
        }
        made = n;
    }
    return perm;
}

static double rand10k(struct build *b)
{
    return batch_rounds(b, 10000, 50, shuffled(10000), 0);
}

static double rand100k(struct build *b)
{
    return batch_rounds(b, 100000, 5, shuffled(100000), 0);
}

static double rand100k_touched(struct build *b)
{
    return batch_rounds(b, 100000, 5, shuffled(100000), 1);
}

static double aged(struct build *b)
{
    batch_rounds(b, 100000, 3, shuffled(100000), 0);
    return batch_rounds(b, 100000, 5, NULL, 0);
}

static double aged_touched(struct build *b)
{
    batch_rounds(b, 100000, 3, shuffled(100000), 1);
    return batch_rounds(b, 100000, 5, NULL, 1);
}

static double grow(struct build *b)
{
    enum { BUFFERS = 64, STEPS = 200000 };
    void *buf[BUFFERS] = { 0 };
    uint32_t size[BUFFERS] = { 0 }, cap[BUFFERS] = { 0 };
    uint64_t x = 88172645463325252ull;              /* xorshift64: the same steps each round */
    double t0 = now();
    for (int i = 0; i < STEPS; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int v = (int)(x % BUFFERS);
        if (size[v] == 0) {
            cap[v] = 1u << (8 + (x >> 32) % 9);
            size[v] = 16;
            buf[v] = must(b->realloc(b->heap, NULL, 16));
            memset(buf[v], v, 16);
        } else if (size[v] < cap[v]) {
            buf[v] = must(b->realloc(b->heap, buf[v], 2 * (size_t)size[v]));
            memset((char *)buf[v] + size[v], v, size[v]);
            size[v] *= 2;
        } else {
            b->free(b->heap, buf[v]);
            size[v] = 0;
        }
    }
    for (int v = 0; v < BUFFERS; v++)
        if (size[v])
            b->free(b->heap, buf[v]);
    return STEPS / (now() - t0) / 1e6;
}

static double fresh(struct build *b)
{
    enum { N = 100000 };
    static void *v[N];
    void *heap = b->create(NULL);
    if (heap == NULL) {
        fprintf(stderr, "ab: gl_heap_create failed in %s\n", b->path);
        exit(1);
    }
    double t0 = now();
    for (int i = 0; i < N; i++) {
        size_t n = batch_size(i);
        v[i] = must(b->malloc(heap, n));
        memset(v[i], i, n);
    }
    for (int i = 0; i < N; i++)
        b->free(heap, v[i]);
    double mops = 2.0 * N / (now() - t0) / 1e6;
    b->destroy(heap);
    return mops;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ab A.so B.so [rounds [loop,...]]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 15;
    struct build b[2];
    load(&b[0], argv[1]);
    load(&b[1], argv[2]);
    const char *only = argc > 4 ? argv[4] : NULL;
    static const struct { const char *name; double (*run)(struct build *); } loops[] = {
        { "pairs", pairs }, { "batch", batch }, { "grow", grow }, { "fresh", fresh },
        { "rand10k", rand10k }, { "rand", rand100k }, { "aged", aged },
        { "randt", rand100k_touched }, { "agedt", aged_touched },
    };
    printf("%-8s %12s %12s %8s   (best of %d rounds, Mops/s)\n", "loop", "A", "B", "B/A", rounds);
    for (size_t l = 0; l < sizeof loops / sizeof loops[0]; l++) {
        if (only != NULL && !listed(only, loops[l].name))
            continue;
        double best[2] = { 0, 0 };
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < 2; k++) {
                double m = loops[l].run(&b[k]);
                if (m > best[k])
                    best[k] = m;
            }
        printf("%-8s %12.1f %12.1f %8.3f\n", loops[l].name, best[0], best[1], best[1] / best[0]);
    }
    return 0;
}
