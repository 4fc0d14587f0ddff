/*
 * contract.c - what a C program may rely on from libglimmer.so (glimmer.h).
 *
 * Built and run by src/test/java/dev/glimmer/nativelib/CContractTest.java
 * (mvn test) and by `make test-native` (against target/native):
 *
 *   gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -I src/main/asm \
 *       src/test/c/contract.c -L <libdir> -lglimmer -Wl,-rpath,<libdir> -o contract
 *   ./contract [seed]
 *
 * Prints one line per group of checks and exits 1 at the first failure, with
 * the file, line, condition and the values involved.  The last line on
 * success is "contract: all <n> checks passed".
 */
#define _GNU_SOURCE
#include "glimmer.h"
#include "gl_layout.h"                /* its constants; the assembler part is not for C */

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* ---- reporting ------------------------------------------------------------ */
static unsigned long checks;
static const char *current = "start";

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("FAIL [%s] %s:%d: %s: ", current, __FILE__, __LINE__, #cond); \
            printf(__VA_ARGS__);                                               \
            printf("\n");                                                      \
            fflush(stdout);                                                    \
            exit(1);                                                           \
        }                                                                      \
        __atomic_add_fetch(&checks, 1, __ATOMIC_RELAXED);                      \
    } while (0)

static const char *volatile doing = "";   /* the call under way, for the crash report */

static void begin(const char *what) { current = what; doing = ""; }

/* A crash is a failure too: say where, then die of the same signal. */
static void put(const char *s) { if (write(1, s, strlen(s)) < 0) _exit(2); }
static void on_crash(int sig)
{
    put("CRASH [");
    put(current);
    put("] ");
    put(strsignal(sig));
    if (*doing) { put(" during: "); put(doing); }
    put("\n");
    signal(sig, SIG_DFL);
    raise(sig);
}
static void ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ok(const char *fmt, ...)
{
    va_list ap;
    printf("ok   %-34s ", current);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* ---- helpers -------------------------------------------------------------- */
static uint64_t rng_state;
static uint64_t rnd(uint64_t *s)          /* splitmix64: reproducible */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint8_t pat(uint64_t key, size_t i) { return (uint8_t)(key * 31 + i * 7 + (i >> 8)); }

static void fill(void *p, size_t n, uint64_t key)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) b[i] = pat(key, i);
}

/* index of the first byte that differs from the pattern, or n */
static size_t verify(const void *p, size_t n, uint64_t key)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pat(key, i)) return i;
    return n;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

static int aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static gl_stats stats_of(gl_heap *h)
{
    gl_stats s;
    memset(&s, 0xA5, sizeof s);              /* the library must fill every field */
    gl_heap_stats(h, &s);
    return s;
}

#define CHECK_HEAP(h)                                                          \
    do {                                                                       \
        gl_check_report r_;                                                    \
        memset(&r_, 0, sizeof r_);                                             \
        int c_ = gl_heap_check((h), &r_);                                      \
        CHECK(c_ == 0, "gl_heap_check = %d: code %" PRIu64 " at 0x%" PRIx64    \
              " detail 0x%" PRIx64 " after %" PRIu64 " blocks",                \
              c_, r_.code, r_.address, r_.detail, r_.blocks_checked);          \
    } while (0)

/* The block right behind p's, to keep p from growing in place.  A small
 * request pops its class's stack before it carves, so blocks are taken
 * until one comes from the top that p was carved from (the others go
 * back); the wall is the largest small class, whose runs are shortest. */
static void *wall_behind(gl_heap *h, const void *p)
{
    const char *behind = (const char *)p + gl_heap_usable_size(h, (void *)p) + 8;
    static void *aside[4096];                     /* the class's cached blocks, and a run's spares */
    int n = 0;
    void *w = gl_heap_malloc(h, 1000);
    while (w != NULL && w != behind && n < 4096) {
        aside[n++] = w;
        w = gl_heap_malloc(h, 1000);
    }
    CHECK(w == behind, "a wall right behind %p (got %p after %d others)", p, w, n);
    while (n > 0)
        gl_heap_free(h, aside[--n]);
    return w;
}

/* VmSize of this process, in KiB */
static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

/* ---- 1. many sizes, patterns, no overlap ----------------------------------- */
struct blk { char *p; size_t n; uint64_t key; };

static int by_addr(const void *a, const void *b)
{
    const struct blk *x = a, *y = b;
    return (x->p > y->p) - (x->p < y->p);
}

static const size_t big_sizes[] = {
    1500, 2000, 4000, 4096, 8192, 10000, 65536, 100000, 262144,
    (1u << 20) - 8, 1u << 20, (1u << 20) + 1, 3u << 20, 5u << 20,
};
#define NBIG (sizeof big_sizes / sizeof big_sizes[0])
#define NSMALL 1100                        /* sizes 1..1100 */
#define NSIZES (NSMALL + NBIG)

static void sizes_round(gl_heap *h, int round)
{
    static struct blk b[NSIZES];
    size_t n = 0, sum = 0;

    for (size_t i = 0; i < NSIZES; i++) {
        size_t idx = round ? NSIZES - 1 - i : i;          /* round 1: reverse order */
        size_t sz = idx < NSMALL ? idx + 1 : big_sizes[idx - NSMALL];
        char *p = gl_heap_malloc(h, sz);
        CHECK(p != NULL, "gl_heap_malloc(%zu) = NULL, last error %d", sz, gl_heap_last_error(h));
        CHECK(aligned(p, 16), "gl_heap_malloc(%zu) = %p is not 16-byte aligned", sz, (void *)p);
        size_t us = gl_heap_usable_size(h, p);
        CHECK(us >= sz, "gl_heap_usable_size = %zu < requested %zu", us, sz);
        b[n].p = p; b[n].n = sz; b[n].key = i * 2654435761u + round;
        fill(p, sz, b[n].key);
        n++; sum += sz;
    }
    gl_stats s = stats_of(h);
    CHECK(s.live_blocks == n, "live_blocks = %" PRIu64 ", expected %zu", s.live_blocks, n);
    CHECK(s.live_bytes >= sum, "live_bytes = %" PRIu64 " < %zu requested", s.live_bytes, sum);
    CHECK(s.footprint >= s.live_bytes, "footprint %" PRIu64 " < live_bytes %" PRIu64, s.footprint, s.live_bytes);
    CHECK(s.peak_live_bytes >= s.live_bytes, "peak_live_bytes %" PRIu64 " < live %" PRIu64, s.peak_live_bytes, s.live_bytes);
    CHECK(s.peak_footprint >= s.footprint, "peak_footprint < footprint");
    CHECK(s.segments >= 1, "segments = %" PRIu64, s.segments);
    CHECK(s.large_blocks >= 1, "large_blocks = %" PRIu64 " with a 5 MiB block live", s.large_blocks);

    for (size_t i = 0; i < n; i++) {
        size_t at = verify(b[i].p, b[i].n, b[i].key);
        CHECK(at == b[i].n, "block %p (%zu bytes) damaged at byte %zu", (void *)b[i].p, b[i].n, at);
    }
    struct blk *sorted = malloc(n * sizeof *sorted);
    memcpy(sorted, b, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_addr);
    for (size_t i = 0; i + 1 < n; i++)
        CHECK(sorted[i].p + sorted[i].n <= sorted[i + 1].p,
              "blocks overlap: %p+%zu and %p", (void *)sorted[i].p, sorted[i].n, (void *)sorted[i + 1].p);
    free(sorted);
    CHECK_HEAP(h);

    for (size_t i = 1; i < n; i += 2) {                    /* odd ones first: holes everywhere */
        int rc = gl_heap_free(h, b[i].p);
        CHECK(rc == GL_OK, "gl_heap_free(%p) [%zu bytes] = %d", (void *)b[i].p, b[i].n, rc);
    }
    CHECK_HEAP(h);
    for (size_t i = 0; i < n; i += 2) {
        size_t at = verify(b[i].p, b[i].n, b[i].key);
        CHECK(at == b[i].n, "block %p (%zu bytes) damaged at byte %zu after freeing its neighbours",
              (void *)b[i].p, b[i].n, at);
        int rc = gl_heap_free(h, b[i].p);
        CHECK(rc == GL_OK, "gl_heap_free(%p) [%zu bytes] = %d", (void *)b[i].p, b[i].n, rc);
    }
    s = stats_of(h);
    CHECK(s.live_blocks == 0, "live_blocks = %" PRIu64 " after freeing everything", s.live_blocks);
    CHECK(s.live_bytes == 0, "live_bytes = %" PRIu64 " after freeing everything", s.live_bytes);
    CHECK(s.large_blocks == 0, "large_blocks = %" PRIu64 " after freeing everything", s.large_blocks);
    CHECK_HEAP(h);
    ok("%zu blocks of 1..%zu bytes, %zu bytes in all", n, (size_t)(5u << 20), sum);
}

/* ---- 2. a random workload: malloc, calloc, realloc, free ------------------- */
#define SLOTS 2048

static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s) % 1000;
    if (r < 700) return 1 + rnd(s) % 128;
    if (r < 900) return 1 + rnd(s) % 1024;
    if (r < 990) return 1 + rnd(s) % 16384;
    if (r < 998) return 1 + rnd(s) % 262144;
    return (1u << 20) + rnd(s) % (1u << 20);                    /* large blocks */
}

static void random_workload(gl_heap *h, uint64_t seed, long ops, int check_every)
{
    static struct blk slot[SLOTS];
    uint64_t s = seed;
    long nm = 0, nc = 0, nr = 0, nf = 0;
    memset(slot, 0, sizeof slot);

    for (long op = 0; op < ops; op++) {
        struct blk *b = &slot[rnd(&s) % SLOTS];
        uint64_t kind = rnd(&s) % 10;
        if (b->p == NULL) {
            size_t sz = random_size(&s);
            if (kind == 0) {
                size_t k = 1 + rnd(&s) % 8;
                b->p = gl_heap_calloc(h, k, (sz + k - 1) / k);
                CHECK(b->p != NULL, "gl_heap_calloc(%zu, %zu) = NULL", k, (sz + k - 1) / k);
                CHECK(all_zero(b->p, sz), "gl_heap_calloc(%zu, %zu) = %p is not zeroed", k, (sz + k - 1) / k, (void *)b->p);
                nc++;
            } else {
                b->p = gl_heap_malloc(h, sz);
                CHECK(b->p != NULL, "gl_heap_malloc(%zu) = NULL (op %ld)", sz, op);
                nm++;
            }
            CHECK(aligned(b->p, 16), "%p not 16-byte aligned", (void *)b->p);
            b->n = sz; b->key = rnd(&s);
            fill(b->p, sz, b->key);
        } else {
            size_t at = verify(b->p, b->n, b->key);
            CHECK(at == b->n, "block %p (%zu bytes) damaged at byte %zu (op %ld, seed %" PRIu64 ")",
                  (void *)b->p, b->n, at, op, seed);
            if (kind < 3) {
                size_t sz = random_size(&s);
                char *q = gl_heap_realloc(h, b->p, sz);
                CHECK(q != NULL, "gl_heap_realloc(%p, %zu) = NULL", (void *)b->p, sz);
                size_t keep = sz < b->n ? sz : b->n;
                at = verify(q, keep, b->key);
                CHECK(at == keep, "gl_heap_realloc(%zu -> %zu) lost byte %zu", b->n, sz, at);
                b->p = q; b->n = sz; b->key = rnd(&s);
                fill(q, sz, b->key);
                nr++;
            } else {
                int rc = gl_heap_free(h, b->p);
                CHECK(rc == GL_OK, "gl_heap_free(%p) = %d (op %ld)", (void *)b->p, rc, op);
                b->p = NULL;
                nf++;
            }
        }
        if (check_every && op % check_every == 0) CHECK_HEAP(h);
    }
    CHECK_HEAP(h);
    for (int i = 0; i < SLOTS; i++)
        if (slot[i].p) {
            size_t at = verify(slot[i].p, slot[i].n, slot[i].key);
            CHECK(at == slot[i].n, "block damaged at byte %zu", at);
            CHECK(gl_heap_free(h, slot[i].p) == GL_OK, "final free");
            nf++;
        }
    gl_stats st = stats_of(h);
    CHECK(st.live_blocks == 0 && st.live_bytes == 0, "live %" PRIu64 " blocks, %" PRIu64 " bytes at the end",
          st.live_blocks, st.live_bytes);
    CHECK_HEAP(h);
    ok("%ld ops (seed %" PRIu64 "): %ld malloc, %ld calloc, %ld realloc, %ld free",
       ops, seed, nm, nc, nr, nf);
}

/* ---- 3. misuse is a status code, never a crash ------------------------------ */
static char static_buf[256] __attribute__((aligned(64)));

static void double_free_between_guards(gl_heap *h, size_t sz)
{
    void *g1 = gl_heap_malloc(h, sz), *p = gl_heap_malloc(h, sz), *g2 = gl_heap_malloc(h, sz);
    CHECK(g1 && p && g2, "malloc(%zu)", sz);
    CHECK(gl_heap_free(h, p) == GL_OK, "first free of a %zu-byte block", sz);
    int rc = gl_heap_free(h, p);
    CHECK(rc == GL_E_DOUBLE_FREE, "second free of a %zu-byte block = %d, expected GL_E_DOUBLE_FREE", sz, rc);
    rc = gl_heap_free(h, p);
    CHECK(rc == GL_E_DOUBLE_FREE, "third free of a %zu-byte block = %d, expected GL_E_DOUBLE_FREE", sz, rc);
    CHECK(gl_heap_free(h, g1) == GL_OK && gl_heap_free(h, g2) == GL_OK, "guards");
}

static void misuse(gl_heap *h, gl_heap *other, const char *kind)
{
    gl_stats before = stats_of(h);
    long dbl = 0, foreign = 0;

    CHECK(gl_heap_free(h, NULL) == GL_OK, "gl_heap_free(h, NULL)");

    static const size_t dsz[] = { 1, 24, 48, 100, 1000, 3000, 50000 };
    for (size_t i = 0; i < sizeof dsz / sizeof dsz[0]; i++) {
        double_free_between_guards(h, dsz[i]);
        dbl += 2;
    }

    char *p = gl_heap_malloc(h, 256);
    CHECK(p != NULL, "malloc(256)");
    fill(p, 256, 77);
    static const int off[] = { 1, 8, 15, 16, 32, 64, 128 };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        doing = "gl_heap_free of an interior pointer";
        int rc = gl_heap_free(h, p + off[i]);
        CHECK(rc == GL_E_NOT_OURS, "gl_heap_free(p + %d) (interior pointer) = %d, expected GL_E_NOT_OURS", off[i], rc);
        doing = "gl_heap_usable_size of an interior pointer";
        CHECK(gl_heap_usable_size(h, p + off[i]) == 0, "gl_heap_usable_size(p + %d) != 0", off[i]);
        foreign++;
    }
    doing = "";
    CHECK(verify(p, 256, 77) == 256, "block damaged by the rejected frees");

    /* Data inside p that passes the tag check in front of p + 16, as one
     * random word in 65536 does (white-box: the tag formula of gl_layout.h,
     * the key learned from p's own header): still no block starts there. */
    static const uint64_t forged_size[] = { 32, 48, 1008, 240 };   /* 240: ends at p's end */
    uint64_t w = ((const uint64_t *)p)[-1];
    uint64_t key = ((w ^ (uintptr_t)p) + (w >> 20)) & 0xffff;
    for (size_t i = 0; i < sizeof forged_size / sizeof forged_size[0]; i++) {
        uint64_t fp = (uintptr_t)(p + 16), sz = forged_size[i];
        ((uint64_t *)(p + 16))[-1] = (sz << 16) | (((key - sz / 16) ^ fp) & 0xffff);
        doing = "gl_heap_free behind a forged header";
        int rc = gl_heap_free(h, p + 16);
        CHECK(rc == GL_E_NOT_OURS, "gl_heap_free(p + 16) behind a forged header of size %llu = %d, "
              "expected GL_E_NOT_OURS", (unsigned long long)sz, rc);
        doing = "gl_heap_realloc behind a forged header";
        CHECK(gl_heap_realloc(h, p + 16, 8) == NULL, "gl_heap_realloc(p + 16) behind a forged header");
        CHECK(gl_heap_usable_size(h, p + 16) == 0, "gl_heap_usable_size(p + 16) behind a forged header");
        foreign += 2;
    }
    doing = "";
    fill(p, 256, 77);
    gl_check_report cr;
    CHECK(gl_heap_check(h, &cr) == GL_CHECK_OK, "check after forged headers: code %llu at %#llx",
          (unsigned long long)cr.code, (unsigned long long)cr.address);

    char *q = gl_heap_malloc(other, 64);
    CHECK(q != NULL, "malloc on the other heap");
    int rc = gl_heap_free(h, q);
    CHECK(rc == GL_E_NOT_OURS, "freeing another heap's block = %d, expected GL_E_NOT_OURS", rc);
    CHECK(gl_heap_usable_size(h, q) == 0, "usable_size of another heap's block");
    CHECK(gl_heap_free(other, q) == GL_OK, "its own heap frees it");
    foreign++;

    char local[64] __attribute__((aligned(16)));
    void *libc = malloc(64);
    void *foreigners[] = { static_buf, static_buf + 16, static_buf + 8, local, libc, (char *)libc + 8,
                           (void *)(uintptr_t)0x10000, (void *)(uintptr_t)16, (void *)(uintptr_t)8,
                           (void *)(uintptr_t)0x10008, (void *)(uintptr_t)1 };
    const char *names[] = { "a static array", "inside a static array", "a static array + 8", "a stack array",
                            "a libc malloc block", "a libc malloc block + 8", "address 0x10000", "address 16",
                            "address 8", "address 0x10008", "address 1" };
    for (size_t i = 0; i < sizeof foreigners / sizeof foreigners[0]; i++) {
        static char what[128];
        snprintf(what, sizeof what, "gl_heap_free(h, %p), %s", foreigners[i], names[i]);
        doing = what;
        rc = gl_heap_free(h, foreigners[i]);
        CHECK(rc == GL_E_NOT_OURS, "gl_heap_free(%s) = %d, expected GL_E_NOT_OURS", names[i], rc);
        snprintf(what, sizeof what, "gl_heap_usable_size(h, %p), %s", foreigners[i], names[i]);
        CHECK(gl_heap_usable_size(h, foreigners[i]) == 0, "gl_heap_usable_size(%s) != 0", names[i]);
        foreign++;
    }
    doing = "";
    free(libc);

    /* a large block is unmapped on free: a second free must still be an error, not a crash */
    char *big = gl_heap_malloc(h, 3u << 20);
    CHECK(big != NULL, "malloc(3 MiB)");
    CHECK(gl_heap_free(h, big) == GL_OK, "free(3 MiB)");
    rc = gl_heap_free(h, big);
    CHECK(rc == GL_E_DOUBLE_FREE || rc == GL_E_NOT_OURS,
          "second free of an unmapped large block = %d, expected GL_E_DOUBLE_FREE or GL_E_NOT_OURS", rc);
    CHECK(gl_heap_usable_size(h, big) == 0, "usable_size of a freed large block");
    /* its page mapped again by someone else: live memory, not ours; unmapped
     * once more, a double free again (free.S asks mincore) */
    char *big_page = (char *)((uintptr_t)big & ~(uintptr_t)4095);
    void *over = mmap(big_page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (over == big_page) {
        CHECK(gl_heap_free(h, big) == GL_E_NOT_OURS && gl_heap_pointer_status(h, big) == GL_E_NOT_OURS,
              "a gone large block's address, mapped again by another: not ours");
        CHECK(*(volatile char *)over == 0, "and its new owner's page is not written");
        foreign++;
        munmap(over, 4096);
        CHECK(gl_heap_free(h, big) == GL_E_DOUBLE_FREE && gl_heap_pointer_status(h, big) == GL_E_DOUBLE_FREE,
              "unmapped again: a double free again");
        dbl++;
    } else if (over != MAP_FAILED) {
        munmap(over, 4096);                         /* a kernel without MAP_FIXED_NOREPLACE */
    }

    CHECK(gl_heap_usable_size(h, p) >= 256, "the block survived");
    CHECK(gl_heap_free(h, p) == GL_OK, "the block is still freeable after the rejected frees");
    CHECK(gl_heap_usable_size(h, p) == 0, "gl_heap_usable_size of a freed block = %zu", gl_heap_usable_size(h, p));

    gl_stats after = stats_of(h);
    CHECK(after.errors[1] - before.errors[1] >= (uint64_t)dbl, "errors[1] (double free) grew by %" PRIu64 ", expected %ld",
          after.errors[1] - before.errors[1], dbl);
    CHECK(after.errors[2] - before.errors[2] >= (uint64_t)foreign, "errors[2] (not ours) grew by %" PRIu64 ", expected %ld",
          after.errors[2] - before.errors[2], foreign);
    CHECK(after.live_blocks == before.live_blocks, "live_blocks %" PRIu64 " -> %" PRIu64, before.live_blocks, after.live_blocks);
    CHECK_HEAP(h);
    ok("%s: %ld double frees, %ld foreign/interior pointers refused", kind, dbl, foreign);
}

/* ---- 4. impossible requests ------------------------------------------------- */
static void bad_requests(gl_heap *h)
{
    int e;
    gl_heap_last_error(h);                                   /* clear */
    CHECK(gl_heap_malloc(h, GL_MAX_SIZE + 1) == NULL, "malloc(GL_MAX_SIZE + 1) != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_SIZE, "last error %d after malloc(GL_MAX_SIZE + 1)", e);
    CHECK((e = gl_heap_last_error(h)) == 0, "last error %d not cleared by reading it", e);
    CHECK(gl_heap_malloc(h, SIZE_MAX) == NULL, "malloc(SIZE_MAX) != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_SIZE, "last error %d after malloc(SIZE_MAX)", e);
    CHECK(gl_heap_malloc(h, SIZE_MAX - 7) == NULL, "malloc(SIZE_MAX - 7) != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_SIZE, "last error %d after malloc(SIZE_MAX - 7)", e);
    CHECK(gl_heap_calloc(h, SIZE_MAX / 8, 16) == NULL, "calloc overflow != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_SIZE, "last error %d after calloc(SIZE_MAX/8, 16)", e);
    CHECK(gl_heap_calloc(h, (size_t)1 << 32, (size_t)1 << 32) == NULL, "calloc(2^32, 2^32) != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_SIZE, "last error %d after calloc(2^32, 2^32)", e);
    CHECK(gl_heap_aligned_alloc(h, 24, 64) == NULL, "aligned_alloc(24, 64) != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_ALIGN, "last error %d after aligned_alloc(24, 64)", e);
    CHECK(gl_heap_aligned_alloc(h, 3, 64) == NULL, "aligned_alloc(3, 64) != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_ALIGN, "last error %d after aligned_alloc(3, 64)", e);

    char *p = gl_heap_malloc(h, 100);
    CHECK(p != NULL, "malloc(100)");
    fill(p, 100, 5);
    CHECK(gl_heap_realloc(h, p, GL_MAX_SIZE + 1) == NULL, "realloc to GL_MAX_SIZE + 1 != NULL");
    CHECK((e = gl_heap_last_error(h)) == GL_E_SIZE, "last error %d after a too large realloc", e);
    CHECK(verify(p, 100, 5) == 100, "a failed realloc damaged the block");
    CHECK(gl_heap_free(h, p) == GL_OK, "a failed realloc leaves the block allocated");

    /* 8 TiB: below GL_MAX_SIZE, so either the OS refuses it (NULL, GL_E_NOMEM) or it works */
    void *huge = gl_heap_malloc(h, (size_t)1 << 43);
    if (huge == NULL) {
        CHECK((e = gl_heap_last_error(h)) == GL_E_NOMEM, "malloc(8 TiB) = NULL with last error %d, expected GL_E_NOMEM", e);
    } else {
        CHECK(gl_heap_free(h, huge) == GL_OK, "free(8 TiB)");
    }
    gl_stats s = stats_of(h);
    CHECK(s.errors[5] >= 6, "errors[5] (size) = %" PRIu64, s.errors[5]);
    CHECK(s.errors[6] >= 2, "errors[6] (align) = %" PRIu64, s.errors[6]);
    CHECK(s.live_blocks == 0, "live_blocks %" PRIu64, s.live_blocks);
    CHECK_HEAP(h);
    ok("too large, overflowing and misaligned requests: NULL + status (8 TiB: %s)",
       huge ? "mapped" : "GL_E_NOMEM");
}

/* ---- 5. calloc, realloc, aligned_alloc, usable_size ------------------------- */
/* realloc that has to move a block frees the old one: a small one (into the
 * cache), a medium one (into the coalescer) -- the old pointer is no block
 * any more, the bytes moved, the counts stay right.  (A large block is
 * remapped instead: realloc_remaps_large_blocks.) */
static void realloc_frees_what_it_moves(void)
{
    static const size_t from[] = { 200, 3000, 40000 };
    gl_heap *h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create");
    if (h == NULL)
        return;
    for (size_t k = 0; k < sizeof from / sizeof from[0]; k++) {
        size_t n = from[k];
        unsigned char *p = gl_heap_malloc(h, n);
        void *wall = gl_heap_malloc(h, 64);
        CHECK(p != NULL && wall != NULL, "malloc(%zu) and its neighbour", n);
        if (p == NULL || wall == NULL)
            break;
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)(i * 7 + k);
        size_t to = 4 * gl_heap_usable_size(h, p);
        if (to < (1u << 20))
            to = 1u << 20;                               /* a mapping of its own: never in place */
        (void)gl_heap_last_error(h);                     /* cleared */
        gl_stats before = stats_of(h);
        unsigned char *q = gl_heap_realloc(h, p, to);
        CHECK(q != NULL && q != p, "realloc(%zu -> %zu) moved the block", n, to);
        if (q == NULL)
            break;
        size_t bad = n;
        for (size_t i = 0; i < n && bad == n; i++)
            if (q[i] != (unsigned char)(i * 7 + k))
                bad = i;
        CHECK(bad == n, "realloc(%zu -> %zu): byte %zu did not move", n, to, bad);
        gl_stats after = stats_of(h);
        CHECK(after.live_blocks == before.live_blocks, "realloc(%zu -> %zu): live blocks %llu -> %llu", n, to,
              (unsigned long long)before.live_blocks, (unsigned long long)after.live_blocks);
        uint64_t errors = 0;
        for (int e = 0; e < GL_ERROR_KINDS; e++)
            errors += after.errors[e] - before.errors[e];
        int last = gl_heap_last_error(h);
        CHECK(errors == 0 && last == 0, "realloc(%zu -> %zu) recorded an error (%d)", n, to, last);
        CHECK(gl_heap_usable_size(h, p) == 0, "realloc(%zu -> %zu): the old block is still live", n, to);
        CHECK(gl_heap_free(h, p) == GL_E_DOUBLE_FREE, "free of the moved-from block is a double free");
        CHECK_HEAP(h);
        CHECK(gl_heap_free(h, q) == GL_OK && gl_heap_free(h, wall) == GL_OK, "free after realloc(%zu)", n);
    }
    CHECK_HEAP(h);
    gl_heap_destroy(h);
}

/* the live large blocks a walk finds, and whether p is one of them */
static int large_blocks_walked(gl_heap *h, const void *p, int *found)
{
    gl_block_info b;
    int n = 0;
    *found = 0;
    memset(&b, 0, sizeof b);
    while (gl_heap_walk(h, &b) == 1)
        if (b.state == GL_BLOCK_LARGE) {
            n++;
            if (b.address == (uintptr_t)p)
                *found = 1;
        }
    return n;
}

/* realloc resizes a large block by remapping its pages (mremap), never by
 * copying it: a buffer grown a page at a time costs one remap per step and
 * no unmap; a growth with no room after the mapping moves it, and the
 * descriptor, the large list and the registry follow (its neighbours in the
 * list are freed after the move, which reads their links); the old pointer
 * is then a double free.  A shrink to half or less keeps the pointer and
 * gives the pages back; one below LARGE_MIN_REQUEST moves into a segment. */
static void realloc_remaps_large_blocks(void)
{
    const size_t n = 1u << 20, steps = 256, page = 4096;
    gl_heap *h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create");
    if (h == NULL)
        return;
    doing = "grown a page at a time";
    unsigned char *a = gl_heap_malloc(h, n), *p = gl_heap_malloc(h, n), *c = gl_heap_malloc(h, n);
    CHECK(a != NULL && p != NULL && c != NULL, "three large blocks");
    if (a == NULL || p == NULL || c == NULL)
        return;
    fill(p, n, 41);
    gl_stats s0 = stats_of(h);
    size_t usable0 = gl_heap_usable_size(h, p), size = n;
    for (size_t k = 0; k < steps; k++) {
        size += page;
        unsigned char *q = gl_heap_realloc(h, p, size);
        CHECK(q != NULL, "realloc(%zu) in step %zu", size, k);
        if (q == NULL)
            return;
        p = q;
    }
    size_t usable = gl_heap_usable_size(h, p);
    gl_stats s1 = stats_of(h);
    CHECK(usable >= size && usable < size + page, "usable %zu for %zu bytes", usable, size);
    CHECK(verify(p, n, 41) == n, "byte %zu lost on the way", verify(p, n, 41));
    CHECK(s1.os_unmaps == s0.os_unmaps, "%llu unmaps in %zu growths: copied, not remapped",
          (unsigned long long)(s1.os_unmaps - s0.os_unmaps), steps);
    CHECK(s1.os_maps == s0.os_maps + steps, "%llu maps in %zu growths: one remap each expected",
          (unsigned long long)(s1.os_maps - s0.os_maps), steps);
    CHECK(s1.footprint == s0.footprint + steps * page, "footprint %llu -> %llu",
          (unsigned long long)s0.footprint, (unsigned long long)s1.footprint);
    CHECK(s1.live_bytes == s0.live_bytes + (usable - usable0) && s1.live_blocks == s0.live_blocks,
          "live bytes %llu -> %llu for a block of %zu -> %zu usable bytes", (unsigned long long)s0.live_bytes,
          (unsigned long long)s1.live_bytes, usable0, usable);
    CHECK_HEAP(h);

    doing = "moved: no room after the mapping";
    /* the page after the block's mapping (p + usable is its end) taken by a
     * mapping of the test's own, or by whatever already lies there */
    void *wall = mmap(p + usable, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (wall != MAP_FAILED && wall != p + usable) {
        munmap(wall, page);                             /* a kernel without MAP_FIXED_NOREPLACE */
        wall = MAP_FAILED;
    }
    size += 16 * page;
    unsigned char *q = gl_heap_realloc(h, p, size);
    CHECK(q != NULL && q != p, "realloc(%zu) with the next page taken: %p -> %p", size, (void *)p, (void *)q);
    if (q == NULL || q == p)
        return;
    CHECK(verify(q, n, 41) == n, "byte %zu lost in the move", verify(q, n, 41));
    CHECK(gl_heap_usable_size(h, q) >= size, "usable %zu after the move", gl_heap_usable_size(h, q));
    CHECK(gl_heap_usable_size(h, p) == 0, "the old pointer is still a block");
    int found;
    CHECK(large_blocks_walked(h, q, &found) == 3 && found, "the walk does not find three large blocks, the moved one"
          " among them");
    CHECK_HEAP(h);
    CHECK(gl_heap_free(h, p) == GL_E_DOUBLE_FREE, "free of the moved-from pointer: %d", gl_heap_free(h, p));
    CHECK(gl_heap_free(h, a) == GL_OK && gl_heap_free(h, c) == GL_OK, "free of the moved block's neighbours");
    CHECK(large_blocks_walked(h, q, &found) == 1 && found, "the moved block is not the one large block left");
    CHECK_HEAP(h);
    if (wall != MAP_FAILED)
        munmap(wall, page);

    doing = "shrunk";
    const size_t big = 8u << 20, half = 3u << 20;
    p = gl_heap_realloc(h, q, big);
    CHECK(p != NULL, "realloc(%zu)", big);
    if (p == NULL)
        return;
    fill(p, big, 43);
    size_t usable_big = gl_heap_usable_size(h, p);
    gl_stats s2 = stats_of(h);
    q = gl_heap_realloc(h, p, half);
    gl_stats s3 = stats_of(h);
    CHECK(q == p, "realloc(%zu -> %zu) moved the block", big, half);
    CHECK(gl_heap_usable_size(h, q) >= half && gl_heap_usable_size(h, q) < half + page, "usable %zu after the shrink",
          gl_heap_usable_size(h, q));
    CHECK(verify(q, half, 43) == half, "byte %zu lost in the shrink", verify(q, half, 43));
    CHECK(s3.footprint + (big - half) - page <= s2.footprint && s3.os_unmaps == s2.os_unmaps,
          "footprint %llu -> %llu, unmaps %llu -> %llu", (unsigned long long)s2.footprint,
          (unsigned long long)s3.footprint, (unsigned long long)s2.os_unmaps, (unsigned long long)s3.os_unmaps);
    CHECK(s3.live_bytes == s2.live_bytes - (usable_big - gl_heap_usable_size(h, q)), "live bytes %llu -> %llu",
          (unsigned long long)s2.live_bytes, (unsigned long long)s3.live_bytes);
    const size_t medium = 500000;
    p = gl_heap_realloc(h, q, medium);
    gl_stats s4 = stats_of(h);
    CHECK(p != NULL && p != q, "realloc(%zu -> %zu) stayed a large block", half, medium);
    if (p == NULL)
        return;
    CHECK(verify(p, medium, 43) == medium, "byte %zu lost in the move to a segment", verify(p, medium, 43));
    CHECK(large_blocks_walked(h, q, &found) == 0 && s4.os_unmaps > s3.os_unmaps,
          "the large mapping stays after the move to a segment");
    CHECK(gl_heap_free(h, q) == GL_E_DOUBLE_FREE, "free of the large pointer moved from");
    CHECK(gl_heap_free(h, p) == GL_OK, "free of the medium block");
    gl_stats s5 = stats_of(h);
    CHECK(s5.live_blocks == 0 && s5.live_bytes == 0, "live blocks %llu, bytes %llu at the end",
          (unsigned long long)s5.live_blocks, (unsigned long long)s5.live_bytes);

    doing = "an aligned block";
    const size_t align = 2u << 20;
    p = gl_heap_aligned_alloc(h, align, n);
    CHECK(p != NULL && aligned(p, align), "aligned_alloc(%zu, %zu) = %p", align, n, (void *)p);
    if (p == NULL)
        return;
    fill(p, n, 47);
    q = gl_heap_realloc(h, p, 3 * n);
    CHECK(q != NULL && verify(q, n, 47) == n && gl_heap_usable_size(h, q) >= 3 * n, "realloc of an aligned block");
    CHECK(q != NULL && gl_heap_free(h, q) == GL_OK, "free of the grown aligned block");
    CHECK_HEAP(h);
    gl_heap_destroy(h);
    ok("large blocks resized by remapping: %zu growths a page at a time with no unmap, a move when the next page"
       " is taken (wall %s), a shrink in place, a move down into a segment, an aligned block", steps,
       wall != MAP_FAILED ? "mapped" : "already there");
}

/* medium blocks in the recently-freed cache, by a walk (the small ones, a
 * run's spares among them, are not counted) */
static uint64_t medium_cached(gl_heap *h, uint64_t *bytes)
{
    gl_block_info b;
    uint64_t n = 0, sum = 0;
    memset(&b, 0, sizeof b);
    while (gl_heap_walk(h, &b) == 1)
        if (b.state == GL_BLOCK_CACHED && b.size > SMALL_MAX_BLOCK) {
            n++;
            sum += b.size;
        }
    if (bytes != NULL)
        *bytes = sum;
    return n;
}

/* A medium block (1 KiB .. 128 KiB) that realloc moves away from waits in
 * the cache for the next request of its size; free still coalesces. */
static void realloc_caches_medium_blocks(void)
{
    gl_heap *h = gl_heap_create(NULL);
    gl_options nocache = { .disable_cache = 1 };
    gl_heap *nc = gl_heap_create(&nocache);
    CHECK(h != NULL && nc != NULL, "gl_heap_create");
    if (h == NULL || nc == NULL)
        return;

    /* moved by realloc: cached, neither live nor free */
    unsigned char *p = gl_heap_malloc(h, 3000);
    void *wall = wall_behind(h, p);               /* keeps p from growing in place */
    CHECK(p != NULL && wall != NULL, "malloc(3000) and its neighbour");
    fill(p, 3000, 41);
    gl_stats before = stats_of(h);
    unsigned char *q = gl_heap_realloc(h, p, 6000);
    CHECK(q != NULL && q != p, "realloc(3000 -> 6000) moved the block");
    CHECK(verify(q, 3000, 41) == 3000, "realloc(3000 -> 6000) moved the bytes");
    gl_stats after = stats_of(h);
    CHECK(after.cached_blocks == before.cached_blocks + 1, "the moved-from block is cached (%llu -> %llu)",
          (unsigned long long)before.cached_blocks, (unsigned long long)after.cached_blocks);
    CHECK(after.live_blocks == before.live_blocks, "live blocks %llu -> %llu",
          (unsigned long long)before.live_blocks, (unsigned long long)after.live_blocks);
    CHECK(after.live_bytes == before.live_bytes - 3000 + gl_heap_usable_size(h, q),   /* 3008-byte block */
          "live bytes %llu -> %llu count the new block, not the cached one",
          (unsigned long long)before.live_bytes, (unsigned long long)after.live_bytes);
    CHECK(after.free_bytes == before.free_bytes - 6016, "free bytes %llu -> %llu: the cached block is not free",
          (unsigned long long)before.free_bytes, (unsigned long long)after.free_bytes);
    CHECK(gl_heap_usable_size(h, p) == 0, "a cached block has no usable size");
    CHECK(gl_heap_free(h, p) == GL_E_DOUBLE_FREE, "free of the cached block is a double free");
    CHECK(gl_heap_realloc(h, p, 100) == NULL && gl_heap_last_error(h) == GL_E_DOUBLE_FREE,
          "realloc of the cached block is refused as a double free");

    /* reused only by a request it fits closely */
    void *other = gl_heap_malloc(h, 2600);               /* the same bin, 400 bytes smaller */
    CHECK(other != NULL && other != p, "malloc(2600) does not take the 3008-byte cached block");
    void *again = gl_heap_malloc(h, 3000);
    CHECK(again == p, "malloc(3000) takes the cached block back (%p, expected %p)", again, (void *)p);
    CHECK(gl_heap_usable_size(h, again) >= 3000, "usable size of the reused block");
    fill(again, 3000, 42);
    CHECK(stats_of(h).cached_blocks == before.cached_blocks, "the cache gave its block back");
    gl_heap_free(h, again);
    gl_heap_free(h, other);

    /* freed, not moved: coalesced at once, as before */
    void *f = gl_heap_malloc(h, 3000);
    void *wall2 = gl_heap_malloc(h, 64);
    gl_stats b2 = stats_of(h);
    CHECK(gl_heap_free(h, f) == GL_OK, "free(3000)");
    CHECK(stats_of(h).cached_blocks == b2.cached_blocks, "a medium block given to free is not cached");
    gl_heap_free(h, wall2);
    CHECK_HEAP(h);

    /* the budget: 256 KiB of moved-from blocks, then the medium stacks turn
     * over.  Sizes 128 bytes apart: no block is a near fit for the next. */
    enum { MOVES = 20 };
    void *grown[MOVES], *walls[MOVES];
    uint64_t most = 0, cached_bytes = 0, most_bytes = 0;
    int turned_over = 0;
    for (int k = 0; k < MOVES; k++) {
        size_t n = 30000 + 128 * (size_t)k;
        void *b = gl_heap_malloc(h, n);
        void *w = walls[k] = wall_behind(h, b);
        CHECK(b != NULL && w != NULL, "malloc(%zu)", n);
        uint64_t was = medium_cached(h, NULL);
        grown[k] = gl_heap_realloc(h, b, 80000);
        CHECK(grown[k] != NULL && grown[k] != b, "realloc(%zu -> 80000) moved", n);
        uint64_t now = medium_cached(h, &cached_bytes);
        if (now < was)
            turned_over = 1;
        if (now > most)
            most = now;
        if (cached_bytes > most_bytes)
            most_bytes = cached_bytes;
    }
    CHECK(most_bytes <= (1u << 18) && most >= 5, "at most 256 KiB of medium blocks cached (%llu blocks, %llu bytes)",
          (unsigned long long)most, (unsigned long long)most_bytes);
    CHECK(turned_over, "a push past the budget flushed the medium stacks");
    CHECK_HEAP(h);
    for (int k = 0; k < MOVES; k++)
        CHECK(gl_heap_free(h, grown[k]) == GL_OK && gl_heap_free(h, walls[k]) == GL_OK, "free %d", k);
    CHECK_HEAP(h);

    /* no cache, no caching */
    unsigned char *n1 = gl_heap_malloc(nc, 3000);
    void *nw = gl_heap_malloc(nc, 64);
    unsigned char *n2 = gl_heap_realloc(nc, n1, 6000);
    CHECK(n2 != NULL && n2 != n1 && stats_of(nc).cached_blocks == 0, "a heap without cache caches nothing");
    gl_heap_free(nc, n2);
    gl_heap_free(nc, nw);
    CHECK_HEAP(nc);

    /* a cached block whose header is overwritten is not handed out again;
     * the flush reports it and leaves it alone (on a heap of its own, so
     * that the block comes from the top and its wall right behind it) */
    gl_heap_destroy(h);
    h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create");
    if (h == NULL)
        return;
    unsigned char *d = gl_heap_malloc(h, 3000);
    void *dw = wall_behind(h, d);
    unsigned char *dq = gl_heap_realloc(h, d, 6000);
    CHECK(dq != NULL && dq != d, "realloc moved the block to damage");
    d[-8] ^= 0x5a;                                       /* the tag: a write after free */
    void *taken = gl_heap_malloc(h, 3000);
    CHECK(taken != NULL && taken != d, "malloc does not take a cached block whose header is damaged");
    uint64_t corrupt_before = stats_of(h).errors[-GL_E_CORRUPT];
    gl_check_report r;
    memset(&r, 0, sizeof r);
    CHECK(gl_heap_check(h, &r) != 0, "check reports the damaged cached block");
    CHECK(stats_of(h).errors[-GL_E_CORRUPT] > corrupt_before, "the flush recorded the damage");
    gl_heap_destroy(h);
    gl_heap_destroy(nc);
    (void)dw;
    (void)taken;
    ok("a medium block realloc moves away from is cached (near fit only, 256 KiB at most, "
       "damage refused); free still coalesces medium blocks");
}

/* A small block that realloc grows while its successor is in use moves into
 * the most recently freed block of its new class and leaves its own block on
 * its class's stack; a shrink that would leave less than 32 bytes keeps the
 * block as it is; a free successor lets it grow in place. */
/* A small block carved from the top brings a run of its class: up to
 * CARVE_RUN_BYTES in all, the spares cached on the class's stack, which
 * hands them out in address order.  A run only fills slots the stack
 * already has: a class never freed, and a heap without cache, carve one
 * block at a time. */
static void small_carves_come_in_runs(void)
{
    gl_heap *h = gl_heap_create(NULL);
    gl_heap *nc = gl_heap_create(&(gl_options){ .disable_cache = 1 });
    gl_heap *two = gl_heap_create(&(gl_options){ .cache_limit = 2 });
    CHECK(h != NULL && nc != NULL && two != NULL, "gl_heap_create");
    if (h == NULL || nc == NULL || two == NULL)
        return;
    enum { BLOCK = 48, RUN = 16384 / BLOCK - 1 };        /* requests of 33..40 bytes */

    /* a fresh heap's first request maps its first segment, and the core
     * carves that block alone */
    char *a = gl_heap_malloc(h, 40);
    CHECK(a != NULL && stats_of(h).cached_blocks == 0, "the first block of a fresh heap is carved alone");
    /* the class was never freed: its stack is its inline slots, and the
     * run fills them without mapping anything */
    gl_stats before = stats_of(h);
    char *b = gl_heap_malloc(h, 40);
    gl_stats after = stats_of(h);
    CHECK(b == a + BLOCK, "the run starts at the top (%p, expected %p)", (void *)b, (void *)(a + BLOCK));
    CHECK(after.footprint == before.footprint && after.os_maps == before.os_maps,
          "a class's first run maps nothing (footprint %llu -> %llu)", (unsigned long long)before.footprint,
          (unsigned long long)after.footprint);
    CHECK(after.cached_blocks == before.cached_blocks + INLINE_SLOTS, "the run cached %llu spares, expected %d",
          (unsigned long long)(after.cached_blocks - before.cached_blocks), INLINE_SLOTS);
    CHECK(after.live_blocks == before.live_blocks + 1 && after.live_bytes == before.live_bytes + 40,
          "only the block asked for is live (%llu -> %llu blocks)", (unsigned long long)before.live_blocks,
          (unsigned long long)after.live_blocks);
    CHECK(after.free_bytes == before.free_bytes - (INLINE_SLOTS + 1) * BLOCK, "free bytes %llu -> %llu",
          (unsigned long long)before.free_bytes, (unsigned long long)after.free_bytes);
    /* (gl_heap_check would flush the run: checked once it is handed out) */
    CHECK(gl_heap_free(h, b + BLOCK) == GL_E_DOUBLE_FREE && gl_heap_usable_size(h, b + BLOCK) == 0,
          "a spare not handed out yet is cached, not live");
    for (int i = 1; i <= INLINE_SLOTS; i++) {
        char *s = gl_heap_malloc(h, 33 + (size_t)(i % 8));
        CHECK(s == b + (size_t)i * BLOCK, "spare %d at %p, expected %p", i, (void *)s,
              (void *)(b + (size_t)i * BLOCK));
        s[0] = (char)i;
        s[39] = (char)i;
    }
    CHECK(stats_of(h).cached_blocks == before.cached_blocks, "the run is handed out");
    char *next = gl_heap_malloc(h, 40);
    CHECK(next == b + (INLINE_SLOTS + 1) * (size_t)BLOCK && stats_of(h).cached_blocks == INLINE_SLOTS,
          "the next run starts behind the last");
    CHECK_HEAP(h);                                       /* flushes the second run's spares */

    /* frees past the inline slots move the stack to a page of its own,
     * keeping what it holds */
    before = stats_of(h);
    CHECK(gl_heap_free(h, next) == GL_OK, "free of the second run's block");
    for (int i = INLINE_SLOTS; i >= 0; i--)
        CHECK(gl_heap_free(h, b + (size_t)i * BLOCK) == GL_OK, "free of run block %d", i);
    after = stats_of(h);
    CHECK(after.cached_blocks == INLINE_SLOTS + 2 && after.footprint == before.footprint + CACHE_FIRST_BYTES,
          "%d frees cached on a stack moved to a page (%llu cached, footprint %llu -> %llu)", INLINE_SLOTS + 2,
          (unsigned long long)after.cached_blocks, (unsigned long long)before.footprint,
          (unsigned long long)after.footprint);
    for (int i = 0; i <= INLINE_SLOTS; i++)
        CHECK(gl_heap_malloc(h, 40) == b + (size_t)i * BLOCK, "the moved stack hands back run block %d", i);
    CHECK(gl_heap_malloc(h, 40) == next, "and the second run's block last");
    /* an empty stack of a page: a run of all that CARVE_RUN_BYTES holds */
    before = stats_of(h);
    char *c = gl_heap_malloc(h, 40);
    after = stats_of(h);
    CHECK(c != NULL && after.cached_blocks == before.cached_blocks + RUN && after.footprint == before.footprint,
          "a run of %d spares on a stack of a page (%llu)", RUN,
          (unsigned long long)(after.cached_blocks - before.cached_blocks));
    gl_heap_free(h, c);
    gl_heap_free(h, next);
    for (int i = INLINE_SLOTS; i >= 0; i--)
        CHECK(gl_heap_free(h, b + (size_t)i * BLOCK) == GL_OK, "free of run block %d", i);
    CHECK_HEAP(h);

    /* no cache: no stack, no run */
    char *n1 = gl_heap_malloc(nc, 40);
    gl_heap_free(nc, gl_heap_malloc(nc, 40));
    char *n2 = gl_heap_malloc(nc, 40);
    char *n3 = gl_heap_malloc(nc, 40);
    CHECK(n2 == n1 + BLOCK && n3 == n2 + BLOCK && stats_of(nc).cached_blocks == 0,
          "a heap without cache carves one block at a time");
    CHECK_HEAP(nc);

    /* a run fills the slots the stack has: a limit of 2 leaves room for 2 */
    char *t = gl_heap_malloc(two, 40);
    gl_heap_free(two, t);
    CHECK(gl_heap_malloc(two, 40) == t, "the cached block first");
    char *t2 = gl_heap_malloc(two, 40);
    CHECK(stats_of(two).cached_blocks == 2 && gl_heap_malloc(two, 40) == t2 + BLOCK &&
          gl_heap_malloc(two, 40) == t2 + 2 * BLOCK, "a stack limited to 2 gets a run of 2 spares");
    CHECK_HEAP(two);

    gl_heap_destroy(h);
    gl_heap_destroy(nc);
    gl_heap_destroy(two);
}

static void realloc_moves_small_blocks_through_the_cache(void)
{
    gl_heap *h = gl_heap_create(NULL);
    gl_heap *counting = gl_heap_create(&(gl_options){ .flags = GL_HEAP_COUNT_HITS });
    gl_heap *one = gl_heap_create(&(gl_options){ .cache_limit = 1 });
    CHECK(h != NULL && counting != NULL && one != NULL, "gl_heap_create");
    if (h == NULL || counting == NULL || one == NULL)
        return;

    unsigned char *a = gl_heap_malloc(h, 40);            /* a 48-byte block */
    void *wall = gl_heap_malloc(h, 40);                  /* keeps a from growing in place */
    void *c = gl_heap_malloc(h, 100);                    /* a 112-byte block */
    void *wall2 = gl_heap_malloc(h, 40);
    CHECK(a && wall && c && wall2, "four small blocks");
    fill(a, 40, 51);
    CHECK(gl_heap_free(h, c) == GL_OK, "free(c): cached");
    gl_stats before = stats_of(h);
    unsigned char *q = gl_heap_realloc(h, a, 100);
    CHECK(q == c, "realloc(40 -> 100) takes the cached 112-byte block (%p, expected %p)", (void *)q, c);
    CHECK(q != NULL && verify(q, 40, 51) == 40, "realloc(40 -> 100) moved the bytes");
    gl_stats after = stats_of(h);
    CHECK(after.cached_blocks == before.cached_blocks, "one block left the cache, one went in (%llu -> %llu)",
          (unsigned long long)before.cached_blocks, (unsigned long long)after.cached_blocks);
    CHECK(after.live_blocks == before.live_blocks && after.live_bytes == before.live_bytes - 40 + 104
          && after.free_bytes == before.free_bytes,
          "live %llu -> %llu blocks, %llu -> %llu bytes; free bytes %llu -> %llu",
          (unsigned long long)before.live_blocks, (unsigned long long)after.live_blocks,
          (unsigned long long)before.live_bytes, (unsigned long long)after.live_bytes,
          (unsigned long long)before.free_bytes, (unsigned long long)after.free_bytes);
    CHECK(gl_heap_usable_size(h, a) == 0 && gl_heap_free(h, a) == GL_E_DOUBLE_FREE,
          "the old block is cached: free of it is a double free");
    CHECK(gl_heap_malloc(h, 40) == a, "malloc(40) takes the old block back from its class's stack");
    CHECK_HEAP(h);

    /* shrinks: in place, split only when 32 bytes or more are left over */
    CHECK(gl_heap_realloc(h, q, 88) == q && gl_heap_usable_size(h, q) == 104,
          "realloc(100 -> 88) keeps the 112-byte block whole (16 bytes would be left)");
    CHECK(gl_heap_realloc(h, q, 72) == q && gl_heap_usable_size(h, q) == 72,
          "realloc(88 -> 72) splits a 32-byte tail off");
    CHECK(gl_heap_realloc(h, q, 40) == q && gl_heap_usable_size(h, q) == 40,
          "realloc(72 -> 40) splits the next 32 bytes off");
    CHECK(verify(q, 40, 51) == 40, "the shrinks kept the bytes");
    /* the tail is free now: growth takes it back in place, though the cache
     * holds a block of the new size */
    void *spare = gl_heap_malloc(h, 100);
    CHECK(spare && gl_heap_free(h, spare) == GL_OK, "a 112-byte block cached");
    CHECK(gl_heap_realloc(h, q, 100) == q && gl_heap_usable_size(h, q) == 104,
          "realloc(40 -> 100) grows in place into the free successor");
    CHECK(verify(q, 40, 51) == 40, "growth in place kept the bytes");
    CHECK_HEAP(h);

    /* a heap counting hits: the cached block is taken and counted */
    unsigned char *ca = gl_heap_malloc(counting, 40);
    void *cw = gl_heap_malloc(counting, 40);
    void *cc = gl_heap_malloc(counting, 100);
    void *cw2 = gl_heap_malloc(counting, 40);
    fill(ca, 40, 52);
    gl_heap_free(counting, cc);
    uint64_t hits = stats_of(counting).cache_hits;
    unsigned char *cq = gl_heap_realloc(counting, ca, 100);
    CHECK(cq == cc && verify(cq, 40, 52) == 40, "a counting heap moves the block into the cached one");
    CHECK(stats_of(counting).cache_hits == hits + 1, "and counts the hit (%llu -> %llu)",
          (unsigned long long)hits, (unsigned long long)stats_of(counting).cache_hits);
    CHECK_HEAP(counting);

    /* the old class's stack full (limit 1): the move still caches nothing twice */
    unsigned char *oa = gl_heap_malloc(one, 40);
    void *ow = gl_heap_malloc(one, 40);
    void *oc = gl_heap_malloc(one, 100);
    void *ow2 = gl_heap_malloc(one, 40);
    void *ox = gl_heap_malloc(one, 40);
    fill(oa, 40, 53);
    gl_heap_free(one, oc);
    gl_heap_free(one, ox);                               /* class 3's one slot taken */
    unsigned char *oq = gl_heap_realloc(one, oa, 100);
    CHECK(oq == oc && verify(oq, 40, 53) == 40, "with the old class's stack full the block still moves");
    CHECK(gl_heap_free(one, oa) == GL_E_DOUBLE_FREE, "and the old block is freed once");
    CHECK(stats_of(one).cached_blocks == 1, "the full stack was flushed before the old block went on it "
          "(%llu cached)", (unsigned long long)stats_of(one).cached_blocks);
    CHECK_HEAP(one);

    gl_heap_destroy(h);
    gl_heap_destroy(counting);
    gl_heap_destroy(one);
    (void)wall; (void)wall2; (void)cw; (void)cw2; (void)ow; (void)ow2;
    ok("realloc moves a small block into the cached block of its new class and caches the old one; "
       "shrinks stay in place, growth takes a free successor");
}

/* index of the first byte in [from, to) of p that is not `byte`, or to */
static size_t first_not(const unsigned char *p, size_t from, size_t to, unsigned char byte)
{
    while (from < to && p[from] == byte)
        from++;
    return from;
}

/* The bytes realloc copies and calloc clears (copy.S: 16-byte vectors up to
 * VECTOR_MOVE_MAX bytes, rep movsb/stosb beyond), for every length from 1 to
 * past that bound: the first n bytes arrive (or are zero) and not one byte of
 * the destination behind them changes.  The destination is known in advance:
 * a block of the new size freed just before sits on top of its class's
 * stack, filled with SLACK, and the move or calloc takes it. */
static void moves_and_clears_exact_lengths(void)
{
    enum { SLACK = 0x5A, BIG = LARGE_MIN_REQUEST, LONGEST = VECTOR_MOVE_MAX + 100 };
    gl_heap *h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create");
    if (h == NULL)
        return;
    int exact = 0;
    for (size_t n = 1; n <= LONGEST; n++) {
        /* a large block shrunk to n bytes moves and copies exactly n */
        unsigned char *d = gl_heap_malloc(h, n);
        size_t room = gl_heap_usable_size(h, d);
        memset(d, SLACK, room);
        gl_heap_free(h, d);
        unsigned char *big = gl_heap_malloc(h, BIG);
        CHECK(big != NULL, "malloc(%d)", BIG);
        if (big == NULL)
            break;
        fill(big, n + 64, n);
        unsigned char *q = gl_heap_realloc(h, big, n);
        CHECK(q != NULL && q != big && verify(q, n, n) == n,
              "realloc(large -> %zu) moved the first %zu bytes (%p -> %p, first bad byte %zu)", n, n,
              (void *)big, (void *)q, q ? verify(q, n, n) : 0);
        if (q == d) {                       /* small sizes: the block freed above, its tail untouched */
            size_t i = first_not(q, n, room, SLACK);
            CHECK(i == room, "realloc(large -> %zu) wrote byte %zu of %zu behind the copy", n, i, room);
            exact++;
        }
        gl_heap_free(h, q);

        /* calloc of n bytes clears exactly n of a reused block */
        d = gl_heap_malloc(h, n);
        room = gl_heap_usable_size(h, d);
        memset(d, SLACK, room);
        gl_heap_free(h, d);
        unsigned char *c = gl_heap_calloc(h, 1, n);
        CHECK(c != NULL && all_zero(c, n), "calloc(1, %zu) is zero", n);
        if (c == d) {
            size_t i = first_not(c, n, room, SLACK);
            CHECK(i == room, "calloc(1, %zu) wrote byte %zu of %zu behind the clearing", n, i, room);
        }
        gl_heap_free(h, c);
    }
    CHECK(exact >= SMALL_MAX_REQUEST, "every small length was checked to the byte (%d of %d)", exact,
          SMALL_MAX_REQUEST);
    CHECK_HEAP(h);
    gl_heap_destroy(h);

    /* the realloc fast path: a small block whose successor is in use (the
     * next block of its run, cached) moves into the cached block of the next
     * class, copying all its usable bytes (24, 40, ... 984) */
    for (size_t k = 24; k + 16 <= SMALL_MAX_REQUEST; k += 16) {
        gl_heap *f = gl_heap_create(NULL);
        CHECK(f != NULL, "gl_heap_create");
        if (f == NULL)
            return;
        unsigned char *d = gl_heap_malloc(f, k + 16);
        size_t room = gl_heap_usable_size(f, d);
        memset(d, SLACK, room);
        gl_heap_free(f, d);
        unsigned char *a = gl_heap_malloc(f, k);
        CHECK(a != NULL && gl_heap_usable_size(f, a) == k, "malloc(%zu) has %zu usable bytes", k, k);
        if (a == NULL)
            break;
        fill(a, k, k);
        unsigned char *q = gl_heap_realloc(f, a, k + 16);
        CHECK(q == d, "realloc(%zu -> %zu) took the cached block %p (got %p)", k, k + 16, (void *)d, (void *)q);
        if (q == d) {
            CHECK(verify(q, k, k) == k, "realloc(%zu -> %zu) copied %zu bytes", k, k + 16, k);
            size_t i = first_not(q, k, room, SLACK);
            CHECK(i == room, "realloc(%zu -> %zu) wrote byte %zu of %zu behind the copy", k, k + 16, i, room);
        }
        CHECK_HEAP(f);
        gl_heap_destroy(f);
    }
    ok("realloc copies and calloc clears exactly n bytes, n = 1..%d (vectors up to %d, strings beyond), "
       "in the fast path and the full one", (int)LONGEST, VECTOR_MOVE_MAX);
}

static void api_semantics(gl_heap *h)
{
    /* calloc on dirty, reused memory */
    static const size_t csz[] = { 8, 200, 1000, 5000, 70000, 2u << 20 };
    for (size_t k = 0; k < sizeof csz / sizeof csz[0]; k++) {
        void *d[64];
        for (int i = 0; i < 64; i++) {
            d[i] = gl_heap_malloc(h, csz[k]);
            CHECK(d[i] != NULL, "malloc(%zu)", csz[k]);
            memset(d[i], 0xAA, csz[k]);
        }
        for (int i = 0; i < 64; i++) CHECK(gl_heap_free(h, d[i]) == GL_OK, "free");
        for (int i = 0; i < 64; i++) {
            d[i] = gl_heap_calloc(h, 1, csz[k]);
            CHECK(d[i] != NULL, "calloc(1, %zu)", csz[k]);
            CHECK(all_zero(d[i], csz[k]), "calloc(1, %zu) returned dirty memory", csz[k]);
            memset(d[i], 0x55, csz[k]);
        }
        for (int i = 0; i < 64; i++) CHECK(gl_heap_free(h, d[i]) == GL_OK, "free");
    }
    void *z = gl_heap_calloc(h, 0, 16);
    if (z) CHECK(gl_heap_free(h, z) == GL_OK, "free(calloc(0, 16))");
    ok("calloc zeroes reused memory (8 B .. 2 MiB)");

    /* realloc keeps the contents through every size regime */
    char *p = gl_heap_realloc(h, NULL, 40);
    CHECK(p != NULL, "realloc(NULL, 40) acts as malloc");
    fill(p, 40, 9);
    static const size_t rsz[] = { 41, 100, 1000, 1008, 1009, 4000, 100000, 2u << 20, 5u << 20, 3000, 64, 16, 1 };
    size_t cur = 40;
    for (size_t i = 0; i < sizeof rsz / sizeof rsz[0]; i++) {
        char *q = gl_heap_realloc(h, p, rsz[i]);
        CHECK(q != NULL, "realloc(%zu -> %zu) = NULL", cur, rsz[i]);
        size_t keep = cur < rsz[i] ? cur : rsz[i];
        size_t at = verify(q, keep, 9);
        CHECK(at == keep, "realloc(%zu -> %zu) lost byte %zu", cur, rsz[i], at);
        CHECK(gl_heap_usable_size(h, q) >= rsz[i], "usable_size after realloc");
        fill(q, rsz[i], 9);
        p = q; cur = rsz[i];
    }
    CHECK(gl_heap_free(h, p) == GL_OK, "free after reallocs");
    ok("realloc keeps contents: 40 B -> 5 MiB -> 1 B");

    /* aligned_alloc */
    int n = 0;
    for (size_t a = 1; a <= ((size_t)1 << 21); a <<= 1) {
        static const size_t asz[] = { 1, 100, 5000, 300000 };
        for (size_t k = 0; k < sizeof asz / sizeof asz[0]; k++) {
            char *x = gl_heap_aligned_alloc(h, a, asz[k]);
            CHECK(x != NULL, "aligned_alloc(%zu, %zu) = NULL, last error %d", a, asz[k], gl_heap_last_error(h));
            CHECK(aligned(x, a < 16 ? 16 : a), "aligned_alloc(%zu, %zu) = %p", a, asz[k], (void *)x);
            CHECK(gl_heap_usable_size(h, x) >= asz[k], "usable_size(aligned_alloc(%zu, %zu))", a, asz[k]);
            fill(x, asz[k], a + k);
            char *y = gl_heap_malloc(h, 48);             /* a neighbour, to catch overlap */
            CHECK(y != NULL, "malloc(48)");
            fill(y, 48, 3);
            CHECK(verify(x, asz[k], a + k) == asz[k], "aligned block overlapped");
            CHECK(gl_heap_free(h, x) == GL_OK, "free(aligned_alloc(%zu, %zu))", a, asz[k]);
            CHECK(verify(y, 48, 3) == 48, "freeing an aligned block damaged its neighbour");
            CHECK(gl_heap_free(h, y) == GL_OK, "free(neighbour)");
            n++;
        }
    }
    CHECK_HEAP(h);
    ok("%d aligned_alloc calls, alignments 1 .. 2 MiB", n);
}

/* ---- 6. walk, reset, trim ---------------------------------------------------- */
static void walk_reset_trim(gl_heap *h)
{
    enum { N = 40 };
    void *mine[N];
    int seen[N];
    for (int i = 0; i < N; i++) {
        mine[i] = gl_heap_malloc(h, i == N - 1 ? (2u << 20) : (size_t)(16 + 97 * i));
        CHECK(mine[i] != NULL, "malloc");
        seen[i] = 0;
    }
    gl_block_info bi;
    memset(&bi, 0, sizeof bi);
    long used = 0, total = 0;
    int rc;
    while ((rc = gl_heap_walk(h, &bi)) == 1) {
        CHECK(bi.state >= GL_BLOCK_USED && bi.state <= GL_BLOCK_LARGE, "block state %" PRIu64, bi.state);
        if (bi.state == GL_BLOCK_USED || bi.state == GL_BLOCK_LARGE) used++;
        for (int i = 0; i < N; i++)
            if ((uint64_t)(uintptr_t)mine[i] == bi.address) {
                CHECK(bi.state == (i == N - 1 ? GL_BLOCK_LARGE : GL_BLOCK_USED), "state %" PRIu64 " of a live block", bi.state);
                seen[i]++;
            }
        CHECK(++total < 10000000, "the walk does not end");
    }
    CHECK(rc == 0, "gl_heap_walk ended with %d", rc);
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1, "block %d seen %d times in the walk", i, seen[i]);
    gl_stats s = stats_of(h);
    CHECK((uint64_t)used == s.live_blocks, "walk found %ld used blocks, stats say %" PRIu64, used, s.live_blocks);
    ok("walk: %ld blocks, every live block once", total);

    for (int i = 0; i < 2000; i++) CHECK(gl_heap_malloc(h, 1 + i % 3000) != NULL, "malloc");
    gl_heap_reset(h);
    s = stats_of(h);
    CHECK(s.live_blocks == 0 && s.live_bytes == 0, "after reset: %" PRIu64 " blocks, %" PRIu64 " bytes live",
          s.live_blocks, s.live_bytes);
    CHECK(s.large_blocks == 0, "after reset: %" PRIu64 " large blocks", s.large_blocks);
    CHECK_HEAP(h);
    random_workload(h, 42, 20000, 0);
    ok("reset frees everything at once; the heap works after it");

    void *keep = gl_heap_malloc(h, 64);
    CHECK(keep != NULL, "malloc(64)");
    for (int round = 0; round < 3; round++) {
        void *d[300];
        for (int i = 0; i < 300; i++) CHECK((d[i] = gl_heap_malloc(h, 40000)) != NULL, "malloc(40000)");
        for (int i = 0; i < 300; i++) CHECK(gl_heap_free(h, d[i]) == GL_OK, "free");
        gl_stats b = stats_of(h);
        size_t got = gl_heap_trim(h);
        gl_stats a = stats_of(h);
        CHECK(a.footprint <= b.footprint, "trim grew the footprint");
        CHECK(got > 0, "trim after freeing 12 MB returned %zu bytes", got);
        size_t again = gl_heap_trim(h);
        CHECK(again == 0, "a second trim, nothing freed since, says it gave back %zu bytes more", again);
        CHECK_HEAP(h);
        if (round == 2) ok("trim after freeing 12 MB: %zu bytes returned, footprint %" PRIu64 " -> %" PRIu64
                           "; a second trim: %zu", got, b.footprint, a.footprint, again);
    }
    CHECK(gl_heap_free(h, keep) == GL_OK, "free");
}

/* ---- 7. memory goes back to the OS ------------------------------------------ */
static void returns_memory(void)
{
    long base = vm_size_kib();
    CHECK(base > 0, "VmSize from /proc/self/status");

    gl_heap *h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create(NULL)");
    void *big = gl_heap_malloc(h, 64u << 20);
    CHECK(big != NULL, "malloc(64 MiB)");
    memset(big, 1, 64u << 20);
    long with = vm_size_kib();
    CHECK(with - base >= 60 * 1024, "VmSize grew by only %ld KiB for a 64 MiB block", with - base);
    CHECK(gl_heap_free(h, big) == GL_OK, "free(64 MiB)");
    long without = vm_size_kib();
    CHECK(with - without >= 60 * 1024, "free(64 MiB) returned only %ld KiB to the OS", with - without);

    for (int i = 0; i < 40000; i++) CHECK(gl_heap_malloc(h, 1000 + i % 2000) != NULL, "malloc");
    for (int i = 0; i < 10; i++) CHECK(gl_heap_malloc(h, 2u << 20) != NULL, "malloc(2 MiB)");
    long full = vm_size_kib();
    gl_heap_destroy(h);
    long after = vm_size_kib();
    CHECK(full - base >= 80 * 1024, "VmSize grew by %ld KiB for ~80 MiB", full - base);
    CHECK(after - base <= 1024, "after gl_heap_destroy VmSize is %ld KiB above where it started (%ld KiB mapped before)",
          after - base, full - base);
    ok("large free and gl_heap_destroy unmap (VmSize %ld -> %ld -> %ld KiB)", base, full, after);
}

/* ---- 8. locked heap and default heap from many threads ---------------------- */
#define THREADS 4
#define THREAD_OPS 40000
#define HANDOFF 512

struct targ { gl_heap *h; int use_default; uint64_t seed; void *handoff[HANDOFF]; uint64_t key[HANDOFF]; size_t n[HANDOFF]; };

static void *t_malloc(struct targ *a, size_t n) { return a->use_default ? gl_malloc(n) : gl_heap_malloc(a->h, n); }
static void t_free(struct targ *a, void *p)
{
    if (a->use_default) gl_free(p);
    else CHECK(gl_heap_free(a->h, p) == GL_OK, "free in a thread");
}

static void *worker(void *arg)
{
    struct targ *a = arg;
    struct blk slot[256];
    uint64_t s = a->seed;
    memset(slot, 0, sizeof slot);
    for (int op = 0; op < THREAD_OPS; op++) {
        struct blk *b = &slot[rnd(&s) % 256];
        if (b->p) {
            CHECK(verify(b->p, b->n, b->key) == b->n, "block damaged in a thread (another thread got the same memory?)");
            t_free(a, b->p);
            b->p = NULL;
        } else {
            size_t sz = 1 + rnd(&s) % (rnd(&s) % 16 ? 256 : 20000);
            CHECK((b->p = t_malloc(a, sz)) != NULL, "malloc(%zu) in a thread", sz);
            b->n = sz; b->key = rnd(&s);
            fill(b->p, sz, b->key);
        }
    }
    for (int i = 0; i < 256; i++)
        if (slot[i].p) t_free(a, slot[i].p);
    for (int i = 0; i < HANDOFF; i++) {                       /* freed by another thread */
        a->n[i] = 1 + rnd(&s) % 600;
        a->key[i] = rnd(&s);
        CHECK((a->handoff[i] = t_malloc(a, a->n[i])) != NULL, "malloc");
        fill(a->handoff[i], a->n[i], a->key[i]);
    }
    return NULL;
}

static void *freer(void *arg)
{
    struct targ *a = arg;
    for (int i = 0; i < HANDOFF; i++) {
        CHECK(verify(a->handoff[i], a->n[i], a->key[i]) == a->n[i], "handed-off block damaged");
        t_free(a, a->handoff[i]);
    }
    return NULL;
}

static void threads(gl_heap *h, int use_default, const char *what)
{
    static struct targ a[THREADS];
    pthread_t t[THREADS];
    gl_heap *target = use_default ? gl_default_heap() : h;
    gl_stats before = stats_of(target);
    for (int i = 0; i < THREADS; i++) {
        a[i].h = h; a[i].use_default = use_default; a[i].seed = rng_state + 1000 * i;
        CHECK(pthread_create(&t[i], NULL, worker, &a[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)                         /* thread i frees what thread i+1 allocated */
        CHECK(pthread_create(&t[i], NULL, freer, &a[(i + 1) % THREADS]) == 0, "pthread_create");
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    gl_stats after = stats_of(target);
    CHECK(after.live_blocks == before.live_blocks, "live_blocks %" PRIu64 " -> %" PRIu64, before.live_blocks, after.live_blocks);
    CHECK(after.errors[1] == before.errors[1] && after.errors[2] == before.errors[2] && after.errors[3] == before.errors[3],
          "errors were counted during a correct multi-threaded run");
    CHECK_HEAP(target);
    ok("%s: %d threads x %d ops, cross-thread frees", what, THREADS, THREAD_OPS);
}

/* ---- 8a. the default heap's arenas ------------------------------------------- */
/* A thread other than the default heap's bias owner allocates from an arena
 * of its own (arena.S); every entry point of the default heap finds a block
 * in whichever arena holds it, and the whole-heap ones see every arena. */
#define ARENA_BLOCKS 500
#define ARENA_THREADS 24                               /* more than ARENAS_MAX: some share */

struct arena_blocks { struct blk b[ARENA_BLOCKS + 2]; uint64_t seed; };
static void race_ops(gl_heap *h, uint64_t seed);

static void *allocate_and_keep(void *arg)
{
    struct arena_blocks *a = arg;
    for (int i = 0; i < ARENA_BLOCKS + 2; i++) {
        struct blk *b = &a->b[i];
        b->n = i == ARENA_BLOCKS ? 100000                 /* a medium block */
             : i == ARENA_BLOCKS + 1 ? 2u << 20          /* a large one */
             : 1 + rnd(&a->seed) % 3000;
        b->key = rnd(&a->seed);
        CHECK((b->p = gl_malloc(b->n)) != NULL, "gl_malloc(%zu) in a second thread", b->n);
        fill(b->p, b->n, b->key);
    }
    return NULL;
}

static void *race_on_own_arena(void *arg)
{
    race_ops(NULL, *(uint64_t *)arg);
    return NULL;
}

static int walk_count(gl_heap *h, const void *p)
{
    gl_block_info bi;
    memset(&bi, 0, sizeof bi);
    int seen = 0, rc;
    while ((rc = gl_heap_walk(h, &bi)) == 1)
        seen += (const void *)(uintptr_t)bi.address == p;
    CHECK(rc == 0, "gl_heap_walk of the default heap ended with %d", rc);
    return seen;
}

static void *free_one(void *p)
{
    gl_free(p);
    return NULL;
}

/* a second thread that frees one of the default heap's own blocks takes
 * the lock and ends the bias: the later sections run its locked paths */
static void revoke_default_bias(void)
{
    gl_heap *d = gl_default_heap();
    if (stats_of(d).lock_biased == 0)
        return;
    void *p = gl_malloc(48);
    CHECK(p != NULL, "gl_malloc(48)");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_one, p) == 0, "pthread_create");
    pthread_join(t, NULL);
    gl_stats st = stats_of(d);
    CHECK(st.lock_biased == 0, "a second thread's free of its block ends the default heap's bias");
    ok("a second thread's free of one of the default heap's own blocks ends its bias");
}

/* The kernel may hand the address of an arena's gone large block out again,
 * inside a new mapping: then a pointer there is no second free of the gone
 * block but an interior pointer of a live one (the CI run of 1db9e5f saw
 * it: p + 1 MiB of a new 2 MiB block refused as a double free).  A second
 * thread (an arena) maps and frees 64 MiB, a size few holes fit, so that it
 * lies below every mapping; this thread then maps large blocks of the
 * default heap from 65 MiB up, a MiB larger each time, until one covers the
 * gone block's address, and frees that address.  1 when a mapping covered
 * it (an error counted), 0 when none did. */
static void *map_and_unmap_64mib(void *arg)
{
    char *p = gl_malloc(64u << 20);
    CHECK(p != NULL, "gl_malloc(64 MiB) in a second thread");
    gl_free(p);
    *(char **)arg = p;
    return NULL;
}

static int default_heap_covers_gone(void)
{
    gl_heap *d = gl_default_heap();
    char *gone = NULL;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, map_and_unmap_64mib, &gone) == 0, "pthread_create");
    pthread_join(t, NULL);
    for (size_t n = 65u << 20; n <= 96u << 20; n += 1u << 20) {
        char *q = gl_malloc(n);
        CHECK(q != NULL, "gl_malloc(%zu)", n);
        if (gone > q && gone < q + n) {
            CHECK(gl_heap_free(d, gone) == GL_E_NOT_OURS,
                  "a pointer %td bytes into a live %zu-byte block, where an arena's large block lay "
                  "before it was unmapped, is no double free", gone - q, n);
            CHECK(gl_heap_last_error(d) == GL_E_NOT_OURS, "the default heap's last error");
            gl_free(q);
            ok("a new mapping of %zu bytes covers an arena's gone large block: a pointer %td bytes in is foreign",
               n, gone - q);
            return 1;
        }
        gl_free(q);
    }
    ok("skipped: no new mapping of 65..96 MiB covered the arena's gone large block");
    return 0;
}

static void default_heap_arenas(void)
{
    gl_heap *d = gl_default_heap();
    if (stats_of(d).lock_biased == 0) {
        ok("skipped: the default heap is not biased (no membarrier), so it makes no arenas");
        return;
    }
    gl_stats before = stats_of(d);
    static struct arena_blocks a;
    a.seed = rng_state ^ 0xa5e7a;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, allocate_and_keep, &a) == 0, "pthread_create");
    pthread_join(t, NULL);
    gl_stats mid = stats_of(d);
    CHECK(mid.arenas >= 1 && mid.arenas <= ARENAS_MAX - 1, "%" PRIu64 " arenas after a second thread allocated", mid.arenas);
    CHECK(mid.lock_biased == 1, "a thread on an arena of its own leaves the default heap's bias alone");
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *other = gl_heap_create(&lo);
    CHECK(other != NULL && stats_of(other).arenas == 0, "a heap other than the default heap has no arenas");
    gl_heap_destroy(other);
    CHECK(mid.live_blocks == before.live_blocks + ARENA_BLOCKS + 2 && mid.large_blocks == before.large_blocks + 1,
          "the default heap's statistics count the arena's blocks: %" PRIu64 " -> %" PRIu64 " live",
          before.live_blocks, mid.live_blocks);
    CHECK_HEAP(d);
    for (int i = 0; i < ARENA_BLOCKS + 2; i += 50)
        CHECK(walk_count(d, a.b[i].p) == 1, "the default heap's walk shows block %d of the arena once", i);
    CHECK(walk_count(d, a.b[ARENA_BLOCKS + 1].p) == 1, "the walk shows the arena's large block");

    /* this thread (the default heap's) works on the arena's blocks */
    for (int i = 0; i < ARENA_BLOCKS + 2; i++) {
        struct blk *b = &a.b[i];
        CHECK(gl_heap_pointer_status(d, b->p) == GL_OK, "block %d: pointer status", i);
        CHECK(gl_usable_size(b->p) >= b->n && gl_heap_usable_size(d, b->p) >= b->n, "block %d: usable size", i);
        CHECK(gl_heap_free(d, b->p + 16) == GL_E_NOT_OURS, "block %d: an interior pointer refused", i);
        if (i % 3 == 0) {                                /* grow it: inside its arena, or moved */
            size_t n2 = b->n * 2 + 1;
            char *q = gl_realloc(b->p, n2);
            CHECK(q != NULL && verify(q, b->n, b->key) == b->n, "block %d: realloc(%zu) keeps its bytes", i, n2);
            b->p = q;
            b->n = n2;
            fill(b->p, b->n, b->key);
        }
    }
    CHECK(gl_heap_last_error(d) == GL_E_NOT_OURS && gl_heap_last_error(d) == 0,
          "the refusals are the default heap's last error, once");
    for (int i = 0; i < ARENA_BLOCKS + 2; i++) {
        CHECK(verify(a.b[i].p, a.b[i].n, a.b[i].key) == a.b[i].n, "block %d intact", i);
        CHECK((i % 2 ? gl_heap_free(d, a.b[i].p) : (gl_free(a.b[i].p), GL_OK)) == GL_OK, "block %d freed by another thread", i);
    }
    CHECK(gl_heap_free(d, a.b[0].p) == GL_E_DOUBLE_FREE, "a second free of an arena's block is a double free");
    CHECK(gl_heap_last_error(d) == GL_E_DOUBLE_FREE, "and the default heap's last error");
    CHECK(gl_heap_free(d, a.b[ARENA_BLOCKS + 1].p) == GL_E_DOUBLE_FREE,
          "a second free of an arena's large block, unmapped by the first, is a double free");
    CHECK(gl_heap_pointer_status(d, a.b[ARENA_BLOCKS + 1].p) == GL_E_DOUBLE_FREE, "and its pointer status says so");
    CHECK(gl_heap_last_error(d) == GL_E_DOUBLE_FREE, "and the default heap's last error");
    CHECK(gl_heap_free(d, (char *)a.b[ARENA_BLOCKS + 1].p + 4096) == GL_E_NOT_OURS,
          "a pointer a page into that gone block is foreign");
    gl_heap_last_error(d);
    int covered = default_heap_covers_gone();
    gl_stats after = stats_of(d);
    CHECK(after.live_blocks == before.live_blocks && after.large_blocks == before.large_blocks,
          "every block back: %" PRIu64 " -> %" PRIu64 " live", before.live_blocks, after.live_blocks);
    CHECK(after.errors[1] == before.errors[1] + 2 && after.errors[2] == before.errors[2] + (ARENA_BLOCKS + 2) + 1 + covered,
          "the errors counted: %" PRIu64 " double frees, %" PRIu64 " foreign", after.errors[1] - before.errors[1],
          after.errors[2] - before.errors[2]);
    CHECK_HEAP(d);

    /* more threads at once than there are arenas: they share, in turn */
    pthread_t many[ARENA_THREADS];
    uint64_t seeds[ARENA_THREADS];
    for (int i = 0; i < ARENA_THREADS; i++) {
        seeds[i] = rng_state + 7919 * (uint64_t)i;
        CHECK(pthread_create(&many[i], NULL, race_on_own_arena, &seeds[i]) == 0, "pthread_create");
    }
    race_ops(NULL, rng_state ^ 0x77);
    for (int i = 0; i < ARENA_THREADS; i++)
        pthread_join(many[i], NULL);
    gl_stats last = stats_of(d);
    CHECK(last.arenas <= ARENAS_MAX - 1, "%" PRIu64 " arenas for %d threads: at most %d", last.arenas, ARENA_THREADS, ARENAS_MAX - 1);
    CHECK(last.live_blocks == before.live_blocks, "%d threads at once: %" PRIu64 " -> %" PRIu64 " live",
          ARENA_THREADS, before.live_blocks, last.live_blocks);
    CHECK(last.errors[1] == after.errors[1] && last.errors[2] == after.errors[2] && last.errors[3] == after.errors[3],
          "no errors counted by %d threads", ARENA_THREADS);
    CHECK_HEAP(d);
    gl_heap_trim(d);
    CHECK(gl_heap_trim(d) == 0, "a second trim of every arena gives back nothing");
    ok("a second thread's %d blocks (a medium, a large) live in an arena (%" PRIu64 " now): statistics, walk and "
       "check see them; this thread frees, reallocates and sizes them; %d threads at once share at most %d arenas",
       ARENA_BLOCKS + 2, last.arenas, ARENA_THREADS, ARENAS_MAX - 1);
}

/* ---- 8b. a locked heap biased to its creator --------------------------------- */
/* Whether this kernel lets a process fence every one of its threads
 * (membarrier PRIVATE_EXPEDITED, Linux 4.14): a locked heap is biased only then. */
static int membarrier_expedited(void)
{
    long cmds = syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0);
    return cmds > 0 && (cmds & 8 /* MEMBARRIER_CMD_PRIVATE_EXPEDITED */) != 0;
}

static void *touch_once(void *arg)
{
    gl_heap *h = arg;
    void *p = gl_heap_malloc(h, 40);
    CHECK(p != NULL, "malloc from a second thread");
    fill(p, 40, 7);
    CHECK(gl_heap_free(h, p) == GL_OK, "free from a second thread");
    return NULL;
}

static void bias_is_taken_and_revoked(void)
{
    int expect = membarrier_expedited();
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *h = gl_heap_create(&lo);
    CHECK(h != NULL, "gl_heap_create(GL_HEAP_LOCKED)");
    CHECK(stats_of(h).lock_biased == (uint64_t)expect, "a new locked heap: lock_biased %" PRIu64 ", membarrier %s",
          stats_of(h).lock_biased, expect ? "available" : "unavailable");
    void *p = gl_heap_malloc(h, 100);
    CHECK(p != NULL && gl_heap_free(h, p) == GL_OK, "the creator allocates and frees");
    CHECK(stats_of(h).lock_biased == (uint64_t)expect, "the creator's own calls keep the bias");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, touch_once, h) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(stats_of(h).lock_biased == 0, "a second thread's call revokes the bias");
    p = gl_heap_malloc(h, 100);
    CHECK(p != NULL && gl_heap_free(h, p) == GL_OK, "the creator goes on under the lock");
    CHECK(stats_of(h).lock_biased == 0, "the bias is not given back for a few calls");
    CHECK_HEAP(h);
    gl_heap_destroy(h);
    gl_heap *owned = gl_heap_create(NULL);
    CHECK(stats_of(owned).lock_biased == 0, "an owned heap reports lock_biased 0");
    gl_heap_destroy(owned);
    ok("a locked heap is biased to its creator (%s) until a second thread calls", expect ? "membarrier available" : "never: no membarrier");
}

/* The owner runs calls back to back while a second thread arrives: its first
 * call revokes the bias in the middle of the owner's stream.  Every block
 * carries a pattern checked before it is freed, so a block handed to both
 * threads at once, or a list link torn by two writers, shows as a damaged
 * block or a failed heap check. */
#define RACE_ROUNDS 300
#define RACE_OPS 4000
/* handoff: blocks of the default heap another thread allocated, which the
 * second thread frees (the first of them revokes the default heap's bias:
 * its own gl_malloc calls go to an arena of its own) */
struct racer { gl_heap *h; uint64_t seed; volatile int *go; struct blk *handoff; int handoff_n; };

/* h, or the default heap through gl_malloc and gl_free when h is NULL */
static void *any_malloc(gl_heap *h, size_t n) { return h ? gl_heap_malloc(h, n) : gl_malloc(n); }
static int any_free(gl_heap *h, void *p)
{
    if (h)
        return gl_heap_free(h, p);
    gl_free(p);
    return GL_OK;                                  /* misuse would show in the error counts */
}

static void race_ops(gl_heap *h, uint64_t seed)
{
    struct blk slot[64];
    memset(slot, 0, sizeof slot);
    for (int op = 0; op < RACE_OPS; op++) {
        struct blk *b = &slot[rnd(&seed) % 64];
        if (b->p) {
            CHECK(verify(b->p, b->n, b->key) == b->n, "block damaged while the bias was revoked");
            CHECK(any_free(h, b->p) == GL_OK, "free while the bias was revoked");
            b->p = NULL;
        } else {
            b->n = 1 + rnd(&seed) % (rnd(&seed) % 8 ? 200 : 3000);
            b->key = rnd(&seed);
            CHECK((b->p = any_malloc(h, b->n)) != NULL, "malloc(%zu)", b->n);
            fill(b->p, b->n, b->key);
        }
    }
    for (int i = 0; i < 64; i++)
        if (slot[i].p) CHECK(any_free(h, slot[i].p) == GL_OK, "free");
}

static void free_handoff(struct blk *b)
{
    CHECK(verify(b->p, b->n, b->key) == b->n, "a handed-off block damaged");
    gl_free(b->p);
}

static void *race_second(void *arg)
{
    struct racer *r = arg;
    while (!*r->go) ;
    if (r->handoff_n > 0)
        free_handoff(&r->handoff[0]);
    race_ops(r->h, r->seed);
    for (int i = 1; i < r->handoff_n; i++)
        free_handoff(&r->handoff[i]);
    return NULL;
}

static void revocation_races_the_owner(void)
{
    int revoked = 0;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        gl_options lo = { .flags = GL_HEAP_LOCKED };
        gl_heap *h = gl_heap_create(&lo);
        CHECK(h != NULL, "gl_heap_create(GL_HEAP_LOCKED)");
        int biased = (int)stats_of(h).lock_biased;
        volatile int go = 0;
        struct racer r = { h, rng_state + 77 * (uint64_t)round, &go, NULL, 0 };
        pthread_t t;
        CHECK(pthread_create(&t, NULL, race_second, &r) == 0, "pthread_create");
        go = 1;
        race_ops(h, r.seed ^ 0x5bd1e995u);
        pthread_join(t, NULL);
        gl_stats st = stats_of(h);
        CHECK(st.live_blocks == 0, "round %d: %" PRIu64 " blocks still live", round, st.live_blocks);
        CHECK(st.lock_biased == 0, "round %d: still biased after a second thread's calls", round);
        CHECK_HEAP(h);
        revoked += biased;
        gl_heap_destroy(h);
    }
    ok("%d rounds: a second thread revokes the bias while its owner runs %d calls (%d rounds began biased)",
       RACE_ROUNDS, RACE_OPS, revoked);
}

/* ---- 8b'. the bias moves to a thread that runs alone ------------------------ */
/* An unbiased heap counts each thread's lock acquisitions in a row: a run of
 * REBIAS_FIRST_RUN gives that thread the bias, and each later re-bias asks
 * for a run twice as long.  Every gl_heap_* call on a locked heap that does
 * not take the biased way takes the lock once: gl_heap_stats too, so a loop
 * of malloc, free and stats counts three a turn.  Returns the acquisitions
 * the run took (or -1 if none gave the bias within `most`). */
static long run_until_biased(gl_heap *h, long most)
{
    for (long turn = 1; 3 * turn <= most; turn++) {
        void *p = gl_heap_malloc(h, 24 + (size_t)(turn % 200));
        CHECK(p != NULL && gl_heap_free(h, p) == GL_OK, "a call in a run");
        if (stats_of(h).lock_biased)
            return 3 * turn;
    }
    return -1;
}

struct rebias { gl_heap *h; long run; volatile int *go; uint64_t seed; };

static void *run_alone(void *arg)
{
    struct rebias *r = arg;
    CHECK(gl_heap_free(r->h, gl_heap_malloc(r->h, 8)) == GL_OK, "the call that revokes the creator's bias");
    r->run = run_until_biased(r->h, 4L * REBIAS_FIRST_RUN);
    if (r->go) {                                   /* the race: go on while the creator comes back */
        *r->go = 1;
        race_ops(r->h, r->seed);
    }
    return NULL;
}

static void bias_moves_to_a_thread_running_alone(void)
{
    if (!membarrier_expedited()) {
        ok("skipped: no membarrier here, so no heap is ever biased");
        return;
    }
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *h = gl_heap_create(&lo);
    CHECK(h != NULL, "gl_heap_create(GL_HEAP_LOCKED)");
    void *keep = gl_heap_malloc(h, 300);
    fill(keep, 300, 41);
    struct rebias r = { h, 0, NULL, 0 };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run_alone, &r) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(r.run >= REBIAS_FIRST_RUN && r.run < REBIAS_FIRST_RUN + 3,
          "a second thread alone got the bias after %ld acquisitions in a row (expected %d)", r.run, REBIAS_FIRST_RUN);
    CHECK(stats_of(h).lock_biased == 0, "the creator's call took the bias back from the thread");
    long again = run_until_biased(h, 4L * REBIAS_FIRST_RUN);
    CHECK(again >= 2 * REBIAS_FIRST_RUN && again < 2 * REBIAS_FIRST_RUN + 3,
          "the creator's run back to the bias: %ld acquisitions (expected twice %d)", again, REBIAS_FIRST_RUN);
    CHECK(verify(keep, 300, 41) == 300 && gl_heap_free(h, keep) == GL_OK, "a block kept through three owners");
    CHECK(stats_of(h).live_blocks == 0 && stats_of(h).lock_biased == 1, "the creator's own calls keep the new bias");
    CHECK_HEAP(h);
    gl_heap_destroy(h);

    /* the re-biased thread races the creator coming back, as the creator's
     * own bias is raced in revocation_races_the_owner */
    int rebiased = 0;
    for (int round = 0; round < 50; round++) {
        h = gl_heap_create(&lo);
        CHECK(h != NULL, "gl_heap_create(GL_HEAP_LOCKED)");
        volatile int go = 0;
        struct rebias rr = { h, 0, &go, rng_state + 313 * (uint64_t)round };
        CHECK(pthread_create(&t, NULL, run_alone, &rr) == 0, "pthread_create");
        while (!go) ;
        race_ops(h, rr.seed ^ 0x2545f491u);
        pthread_join(t, NULL);
        rebiased += rr.run > 0;
        gl_stats st = stats_of(h);
        CHECK(st.live_blocks == 0, "round %d: %" PRIu64 " blocks still live", round, st.live_blocks);
        CHECK(st.errors[1] == 0 && st.errors[2] == 0 && st.errors[3] == 0, "round %d: errors counted", round);
        CHECK_HEAP(h);
        gl_heap_destroy(h);
    }
    CHECK(rebiased == 50, "%d of 50 rounds re-biased the second thread", rebiased);
    ok("a thread that takes an unbiased heap's lock %d times in a row gets the bias (then twice as many); "
       "50 rounds race its revocation", REBIAS_FIRST_RUN);
}

/* gl_malloc and gl_free run the owned heap's fast paths with the bias
 * handshake of their own.  A default heap loses its bias once, so each
 * round runs in a child of fork(), whose main thread still owns the bias
 * (its thread pointer is the parent's): a second thread arrives while the
 * owner runs calls back to back.  The child's exit status names what broke:
 * 3 still biased, 4 blocks lost or gained, 5 errors counted, 6 a failed
 * heap check (a damaged block fails its CHECK, status 1; a hang, SIGALRM). */
#define DEFAULT_RACE_ROUNDS 100

static void default_fast_paths_race_a_revocation(void)
{
    gl_heap *d = gl_default_heap();
    if (stats_of(d).lock_biased == 0) {
        ok("skipped: the default heap is not biased (no membarrier)");
        return;
    }
    for (int round = 0; round < DEFAULT_RACE_ROUNDS; round++) {
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            alarm(30);                             /* a revoker left waiting on LK_BUSY: killed, not hung */
            gl_stats before = stats_of(d);
            volatile int go = 0;
            struct blk handoff[64];
            uint64_t hseed = rng_state + 17 * (uint64_t)round;
            for (int i = 0; i < 64; i++) {
                handoff[i].n = 1 + rnd(&hseed) % 300;
                handoff[i].key = rnd(&hseed);
                if ((handoff[i].p = gl_malloc(handoff[i].n)) == NULL)
                    _exit(2);
                fill(handoff[i].p, handoff[i].n, handoff[i].key);
            }
            struct racer r = { NULL, rng_state + 131 * (uint64_t)round, &go, handoff, 64 };
            pthread_t t;
            if (pthread_create(&t, NULL, race_second, &r) != 0)
                _exit(2);
            go = 1;
            race_ops(NULL, r.seed ^ 0x9e3779b9u);
            pthread_join(t, NULL);
            gl_stats after = stats_of(d);
            gl_check_report rep;
            if (after.lock_biased != 0)
                _exit(3);
            if (after.live_blocks != before.live_blocks)
                _exit(4);
            for (int k = 1; k < GL_ERROR_KINDS; k++)
                if (after.errors[k] != before.errors[k])
                    _exit(5);
            _exit(gl_heap_check(d, &rep) == 0 ? 0 : 6);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: the child's race: status 0x%x", round, status);
    }
    CHECK(stats_of(d).lock_biased == 1, "the parent's default heap is still biased");
    ok("%d children: a second thread revokes the default heap's bias while gl_malloc/gl_free run %d calls",
       DEFAULT_RACE_ROUNDS, RACE_OPS);
}

/* In a forked child: a second thread calls h, which must end the bias and
 * leave the heap whole, with keep (64 bytes of pattern) intact and freeable.
 * Returns the child's exit status: 0, or first_code + 0..3 naming the step
 * that failed (thread, bias, check, block). */
static int revoke_in_child(gl_heap *h, void *keep, int pattern, int first_code)
{
    pthread_t t;
    if (pthread_create(&t, NULL, touch_once, h) != 0) return first_code;
    pthread_join(t, NULL);
    gl_check_report r;
    if (stats_of(h).lock_biased != 0) return first_code + 1;
    if (gl_heap_check(h, &r) != 0) return first_code + 2;
    if (verify(keep, 64, pattern) != 64 || gl_heap_free(h, keep) != GL_OK) return first_code + 3;
    return 0;
}

/* A child of fork() revokes a bias its parent took.  The library does not
 * count on the child inheriting the membarrier registration (this kernel,
 * 6.18, keeps it; were it refused, the revoker registers again). */
static void revocation_after_fork(void)
{
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *h = gl_heap_create(&lo);
    CHECK(h != NULL, "gl_heap_create(GL_HEAP_LOCKED)");
    void *keep = gl_heap_malloc(h, 64);
    fill(keep, 64, 99);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        _exit(revoke_in_child(h, keep, 99, 3));
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's revocation: status 0x%x", status);
    CHECK(verify(keep, 64, 99) == 64 && gl_heap_free(h, keep) == GL_OK, "the parent's block");
    CHECK_HEAP(h);
    gl_heap_destroy(h);
    ok("after fork(), a child's second thread revokes the parent's bias and the heap stays whole");
}

/* A process may lose membarrier after a heap was biased (a seccomp filter
 * installed later).  Revoking must then still end the bias and leave the heap
 * whole, with whatever fence is left: the global command when only the
 * expedited one is refused, two sched_yields when every command is.  Each
 * case runs in a child, which installs the filter on itself. */
static int install_filter(struct sock_filter *f, size_t n)
{
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* The status of a child that installs a seccomp filter on itself, or -1
 * (reported as skipped) when it could not: its exit status 4. */
static int filtered_child_status(pid_t pid)
{
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 4) {
        ok("skipped: this process may not install a seccomp filter (a container's own profile?)");
        return -1;
    }
    return status;
}

static int refuse_membarrier(int only_expedited)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 2),        /* else allow */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 8 /* MEMBARRIER_CMD_PRIVATE_EXPEDITED */, 1, only_expedited ? 0 : 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
    };
    return install_filter(f, sizeof f / sizeof f[0]);
}

static void revocation_without_membarrier(void)
{
    if (!membarrier_expedited()) {
        ok("skipped: no membarrier here, so no heap is ever biased");
        return;
    }
    for (int only_expedited = 1; only_expedited >= 0; only_expedited--) {
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            gl_options lo = { .flags = GL_HEAP_LOCKED };
            gl_heap *h = gl_heap_create(&lo);
            if (!h || stats_of(h).lock_biased != 1) _exit(3);
            void *keep = gl_heap_malloc(h, 64);
            fill(keep, 64, 5);
            if (refuse_membarrier(only_expedited) != 0) _exit(4);
            if (syscall(SYS_membarrier, 8, 0, 0) != -1) _exit(5);          /* the filter works */
            if ((syscall(SYS_membarrier, 1, 0, 0) == 0) != only_expedited) _exit(6);
            _exit(revoke_in_child(h, keep, 5, 7));
        }
        int status = filtered_child_status(pid);
        if (status < 0)
            return;
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s refused: the child's revocation: status 0x%x",
              only_expedited ? "expedited membarrier" : "every membarrier", status);
    }
    ok("with expedited membarrier refused (global fence) and with every membarrier refused (yields), "
       "a second thread still revokes the bias and the heap stays whole");
}

/* trim counts only the pages mincore() says are resident.  Where a seccomp
 * filter refuses mincore, it must still give memory back: it advises and
 * counts whole ranges, as it did before it asked, so a second trim counts
 * them again.  In a child, which installs the filter on itself. */
static void trim_without_mincore(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mincore, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        gl_heap *h = gl_heap_create(NULL);
        if (h == NULL) _exit(3);
        void *keep = gl_heap_malloc(h, 64), *d[200];
        if (install_filter(f, sizeof f / sizeof f[0]) != 0) _exit(4);
        unsigned char v;
        if (syscall(SYS_mincore, (uintptr_t)keep & ~(uintptr_t)4095, 1, &v) != -1 || errno != EPERM) _exit(5);    /* the filter works */
        for (int i = 0; i < 200; i++) {
            if ((d[i] = gl_heap_malloc(h, 40000)) == NULL) _exit(6);
            fill(d[i], 40000, 9);
        }
        for (int i = 0; i < 200; i++)
            if (gl_heap_free(h, d[i]) != GL_OK) _exit(7);
        size_t first = gl_heap_trim(h), second = gl_heap_trim(h);
        if (first == 0) _exit(8);                   /* nothing given back */
        if (second == 0) _exit(9);                  /* the refusal was not seen: counted as resident */
        gl_check_report rep;
        if (gl_heap_free(h, keep) != GL_OK || gl_heap_check(h, &rep) != GL_CHECK_OK) _exit(10);
        /* a second free of a gone large block: mincore cannot say whether
         * its page was mapped again, and the answer stays a double free */
        char *big = gl_heap_malloc(h, 2u << 20);
        if (big == NULL || gl_heap_free(h, big) != GL_OK) _exit(11);
        if (gl_heap_free(h, big) != GL_E_DOUBLE_FREE) _exit(12);
        _exit(0);
    }
    int status = filtered_child_status(pid);
    if (status < 0)
        return;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "trim with mincore refused: the child's status 0x%x",
          status);
    ok("with mincore refused, trim still gives back the free ranges, and counts them whole each time; a gone large "
       "block's second free is still a double free");
}

/* ---- 8c. fork() while other threads allocate -------------------------------- */
/* fork() copies the calling thread only: a lock another thread held at that
 * moment would stay held in the child for ever.  With gl_fork_prepare/parent/
 * child registered (pthread_atfork), every child must find the default heap,
 * a shared locked heap and the workers' own locked heaps unlocked and whole,
 * while workers allocate, free, and create and destroy locked heaps
 * throughout.  Runs in a child of its own: handlers cannot be unregistered. */
#define FORK_ROUNDS 100
#define FORK_WORKERS 3
#define FORK_SLOTS 64

struct forker {
    gl_heap *shared;
    gl_heap *volatile own;              /* created by the worker: biased to it */
    volatile int *stop;
    uint64_t seed;
    int churns_heaps;                   /* creates and destroys locked heaps too */
};

static gl_heap *fork_pick(struct forker *f, uint64_t r)
{
    switch (r % 3) {
    case 0: return NULL;                /* the default heap */
    case 1: return f->shared;
    default: return f->own;
    }
}

static void *fork_worker(void *arg)
{
    struct forker *f = arg;
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    struct blk slot[FORK_SLOTS];
    gl_heap *from[FORK_SLOTS];
    uint64_t s = f->seed;
    memset(slot, 0, sizeof slot);
    CHECK((f->own = gl_heap_create(&lo)) != NULL, "a worker's gl_heap_create(GL_HEAP_LOCKED)");
    while (!*f->stop) {
        int i = (int)(rnd(&s) % FORK_SLOTS);
        if (slot[i].p) {
            CHECK(verify(slot[i].p, slot[i].n, slot[i].key) == slot[i].n, "a worker's block damaged");
            CHECK(any_free(from[i], slot[i].p) == GL_OK, "a worker's free");
            slot[i].p = NULL;
        } else {
            from[i] = fork_pick(f, rnd(&s));
            slot[i].n = 1 + rnd(&s) % (rnd(&s) % 8 ? 512 : 40000);
            slot[i].key = rnd(&s);
            CHECK((slot[i].p = any_malloc(from[i], slot[i].n)) != NULL, "a worker's malloc");
            fill(slot[i].p, slot[i].n, slot[i].key);
        }
        if (f->churns_heaps && rnd(&s) % 64 == 0) {
            gl_heap *t = gl_heap_create(&lo);
            CHECK(t != NULL, "gl_heap_create(GL_HEAP_LOCKED) while others fork");
            CHECK(gl_heap_free(t, gl_heap_malloc(t, 100)) == GL_OK, "a short-lived heap");
            gl_heap_destroy(t);
        }
    }
    for (int i = 0; i < FORK_SLOTS; i++)
        if (slot[i].p) CHECK(any_free(from[i], slot[i].p) == GL_OK, "a worker's last frees");
    return NULL;
}

/* In a child: every heap takes calls and checks whole; the child can fork
 * again (the handlers left the list unlocked).  Exit status: 0, 3 a call
 * failed, 4 a heap check failed, 5 a biased heap of another thread, 6 the
 * child's own fork failed, 7 the preparer's heap lost its bias. */
static int fork_child_uses(gl_heap **heaps, int n, gl_heap *mine)
{
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < 200; i++) {
            char *p = any_malloc(heaps[k], 1 + (size_t)i * 37);
            if (!p) return 3;
            memset(p, 0x5a, 1 + (size_t)i * 37);
            if (any_free(heaps[k], p) != GL_OK) return 3;
        }
        gl_heap *h = heaps[k] ? heaps[k] : gl_default_heap();
        if (gl_heap_check(h, NULL) != 0) return 4;
        if (h != mine && stats_of(h).lock_biased != 0) return 5;
    }
    if (mine && membarrier_expedited() && stats_of(mine).lock_biased != 1) return 7;
    pid_t pid = fork();
    if (pid < 0) return 6;
    if (pid == 0) {
        void *p = gl_malloc(100);
        _exit(p && gl_heap_check(gl_default_heap(), NULL) == 0 ? 0 : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 6;
    return 0;
}

struct fork_bystander { volatile int done; };

static void *fork_bystander_run(void *arg)
{
    struct fork_bystander *b = arg;
    gl_fork_parent();                   /* not the preparer: must release nothing */
    gl_fork_child();
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *t = gl_heap_create(&lo);   /* waits for the list's lock */
    gl_heap_destroy(t);
    b->done = t != NULL ? 1 : 2;
    return NULL;
}

static void fork_in_isolation(void)
{
    alarm(120);                                     /* a hang is a failure, not a stuck build */
    /* registered twice, as a program and the preload library might both do */
    CHECK(pthread_atfork(gl_fork_prepare, gl_fork_parent, gl_fork_child) == 0, "pthread_atfork");
    CHECK(pthread_atfork(gl_fork_prepare, gl_fork_parent, gl_fork_child) == 0, "pthread_atfork, again");
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *shared = gl_heap_create(&lo);
    gl_heap *mine = gl_heap_create(&lo);            /* only this thread calls it: it stays biased */
    CHECK(shared && mine, "gl_heap_create(GL_HEAP_LOCKED)");
    int biased = membarrier_expedited();
    CHECK(stats_of(mine).lock_biased == (uint64_t)biased, "a new locked heap is biased to its creator");

    /* misuse first: a parent or child handler on a thread that did not
     * prepare does nothing; a second prepare by the holder does nothing */
    struct fork_bystander by = { 0 };
    pthread_t bt;
    gl_fork_prepare();
    gl_fork_prepare();
    CHECK(pthread_create(&bt, NULL, fork_bystander_run, &by) == 0, "pthread_create");
    usleep(200 * 1000);
    CHECK(by.done == 0, "another thread's gl_fork_parent/child released what this thread's prepare holds");
    gl_fork_parent();
    pthread_join(bt, NULL);
    CHECK(by.done == 1, "gl_heap_create after the preparer's gl_fork_parent: %d", by.done);
    gl_fork_parent();                               /* the second registration's: nothing left to release */
    CHECK(gl_heap_free(mine, gl_heap_malloc(mine, 64)) == GL_OK, "the heaps work after the handlers");

    volatile int stop = 0;
    struct forker f[FORK_WORKERS];
    pthread_t t[FORK_WORKERS];
    for (int i = 0; i < FORK_WORKERS; i++) {
        f[i] = (struct forker){ shared, NULL, &stop, rng_state + 7919 * (uint64_t)i, i == 0 };
        CHECK(pthread_create(&t[i], NULL, fork_worker, &f[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < FORK_WORKERS; i++)
        while (f[i].own == NULL) sched_yield();
    void *keep = gl_heap_malloc(mine, 200);
    fill(keep, 200, 77);
    int hung = 0;
    for (int round = 0; round < FORK_ROUNDS; round++) {
        usleep(100 + (useconds_t)(rnd(&rng_state) % 400));   /* fork at varied points of the workers' calls */
        fflush(stdout);
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            alarm(10);
            gl_heap *heaps[3 + FORK_WORKERS] = { NULL, shared, mine };
            for (int i = 0; i < FORK_WORKERS; i++) heaps[3 + i] = f[i].own;
            if (verify(keep, 200, 77) != 200) _exit(8);
            _exit(fork_child_uses(heaps, 3 + FORK_WORKERS, mine));
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) hung++;
        else CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: the child: status 0x%x", round, status);
    }
    CHECK(hung == 0, "%d of %d children hung on a lock held at the fork", hung, FORK_ROUNDS);
    stop = 1;
    for (int i = 0; i < FORK_WORKERS; i++) pthread_join(t[i], NULL);
    CHECK(stats_of(mine).lock_biased == (uint64_t)biased, "the forking thread's own heap kept its bias");
    CHECK(verify(keep, 200, 77) == 200 && gl_heap_free(mine, keep) == GL_OK, "the parent's block");
    gl_heap *all[3 + FORK_WORKERS] = { gl_default_heap(), shared, mine };
    for (int i = 0; i < FORK_WORKERS; i++) all[3 + i] = f[i].own;
    for (int i = 0; i < 3 + FORK_WORKERS; i++) CHECK_HEAP(all[i]);
    for (int i = 0; i < FORK_WORKERS; i++) gl_heap_destroy(f[i].own);
    gl_heap_destroy(shared);
    gl_heap_destroy(mine);
}

static void fork_while_threads_allocate(void)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        fork_in_isolation();
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forking process: status 0x%x", status);
    ok("%d forks while %d threads allocate on the default heap, a shared and their own locked heaps "
       "(one creating and destroying heaps): every child's heaps unlocked and whole", FORK_ROUNDS, FORK_WORKERS);
}

/* ---- 9. the default heap --------------------------------------------------- */
static void default_heap(const char *how)
{
    gl_heap *d = gl_default_heap();
    CHECK(d != NULL, "gl_default_heap() = NULL");
    CHECK(gl_default_heap() == d, "gl_default_heap() changes");

    char *p = gl_malloc(100);
    CHECK(p != NULL && aligned(p, 16), "gl_malloc(100) = %p", (void *)p);
    CHECK(gl_usable_size(p) >= 100, "gl_usable_size = %zu", gl_usable_size(p));
    fill(p, 100, 1);
    p = gl_realloc(p, 5000);
    CHECK(p != NULL && verify(p, 100, 1) == 100, "gl_realloc keeps the contents");
    CHECK(gl_usable_size(p) >= 5000, "gl_usable_size after gl_realloc");
    gl_free(p);
    CHECK(gl_usable_size(p) == 0, "gl_usable_size of a freed block");

    char *c = gl_calloc(300, 7);
    CHECK(c != NULL && all_zero(c, 2100), "gl_calloc");
    gl_free(c);
    char *al = gl_aligned_alloc(4096, 5000);
    CHECK(al != NULL && aligned(al, 4096), "gl_aligned_alloc(4096, 5000) = %p", (void *)al);
    CHECK(gl_usable_size(al) >= 5000, "gl_usable_size(aligned)");
    gl_free(al);
    CHECK(gl_calloc(SIZE_MAX / 2, 4) == NULL, "gl_calloc overflow");
    CHECK(gl_aligned_alloc(48, 16) == NULL, "gl_aligned_alloc(48, 16)");
    CHECK(gl_malloc(GL_MAX_SIZE + 1) == NULL, "gl_malloc(GL_MAX_SIZE + 1)");

    /* realloc(NULL, n) is malloc(n): the block freed just before comes back,
     * counted as a cache hit; an impossible size is refused and recorded */
    char *m = gl_malloc(72);
    gl_free(m);
    uint64_t hits = stats_of(d).cache_hits;
    char *rn = gl_realloc(NULL, 72);
    CHECK(rn == m, "gl_realloc(NULL, 72) takes the block gl_free just cached (%p, expected %p)",
          (void *)rn, (void *)m);
    CHECK(stats_of(d).cache_hits == hits + 1, "and counts the hit (%" PRIu64 " -> %" PRIu64 ")", hits,
          stats_of(d).cache_hits);
    gl_free(rn);
    gl_heap_last_error(d);
    CHECK(gl_realloc(NULL, GL_MAX_SIZE + 1) == NULL && gl_heap_last_error(d) == GL_E_SIZE,
          "gl_realloc(NULL, GL_MAX_SIZE + 1): NULL, GL_E_SIZE recorded");

    char *q = gl_malloc(64);
    CHECK(gl_heap_free(d, q) == GL_OK, "gl_heap_free(gl_default_heap(), gl_malloc(64))");

    gl_stats before = stats_of(d);
    gl_free(NULL);
    char *r = gl_malloc(64);
    gl_free(r);
    gl_free(r);                                   /* double free: counted, not fatal */
    gl_free(static_buf);                          /* foreign: counted, not fatal */
    gl_stats after = stats_of(d);
    CHECK(after.errors[1] == before.errors[1] + 1, "gl_free double free counted %" PRIu64 " times",
          after.errors[1] - before.errors[1]);
    CHECK(after.errors[2] == before.errors[2] + 1, "gl_free foreign pointer counted %" PRIu64 " times",
          after.errors[2] - before.errors[2]);
    CHECK_HEAP(d);
    ok("gl_malloc, gl_free, gl_calloc, gl_realloc, gl_aligned_alloc, gl_usable_size (%s)", how);
}

/* ---- fresh memory: the top's windows, the cache's slot arrays ----------------- */
#define WINDOW PREFAULT_WINDOW                     /* the largest window */
#define PAGE 4096

/* the start of the window gl__top_prefault populates for the byte at a, and
 * its length: PREFAULT_FIRST_WINDOW in a segment's first PREFAULT_FIRST_BYTES,
 * PREFAULT_WINDOW past them */
static uintptr_t window_of(uintptr_t a, size_t *len)
{
    *len = (a & (SEG_SIZE - 1)) < PREFAULT_FIRST_BYTES ? PREFAULT_FIRST_WINDOW : PREFAULT_WINDOW;
    return a & ~(uintptr_t)(*len - 1);
}

/* resident pages of the page-aligned range [a, a + len), by mincore */
static size_t resident_pages(uintptr_t a, size_t len)
{
    static unsigned char vec[WINDOW / PAGE];
    CHECK(a % PAGE == 0 && len <= WINDOW, "resident_pages(%#lx, %zu): bad range", (unsigned long)a, len);
    if (mincore((void *)a, len, vec) != 0) {
        CHECK(0, "mincore(%#lx, %zu) failed", (unsigned long)a, len);
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < len / PAGE; i++)
        n += vec[i] & 1;
    return n;
}

/* resident pages of this process (/proc/self/statm), read without stdio so
 * that reading it allocates nothing */
static long resident_now(void)
{
    static char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    CHECK(fd >= 0, "open /proc/self/statm");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    CHECK(n > 0, "read /proc/self/statm");
    buf[n > 0 ? n : 0] = 0;
    long size = 0, resident = -1;
    CHECK(sscanf(buf, "%ld %ld", &size, &resident) == 2, "parse /proc/self/statm: %s", buf);
    return resident;
}

static void fresh_memory(void)
{
    /* madvise(MADV_POPULATE_WRITE) is Linux 5.14; older kernels fault page by page */
    void *probe = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(probe != MAP_FAILED, "mmap of a probe page");
    int populate = probe != MAP_FAILED && madvise(probe, PAGE, 23 /* MADV_POPULATE_WRITE */) == 0;
    if (probe != MAP_FAILED)
        munmap(probe, PAGE);

    gl_heap *h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create(NULL)");
    if (h == NULL)
        return;
    unsigned char *p = gl_heap_malloc(h, 32);
    CHECK(p != NULL, "malloc(32) on a fresh heap");
    size_t l0;
    uintptr_t w0 = window_of((uintptr_t)p, &l0);
    CHECK(l0 == PREFAULT_FIRST_WINDOW, "a fresh heap's first block lies in its segment's first %d bytes",
          PREFAULT_FIRST_BYTES);
    if (populate) {
        CHECK(resident_pages(w0, l0) == l0 / PAGE,
              "the first block of a fresh heap populates its %zu KiB window (%zu of %zu pages resident)",
              l0 / 1024, resident_pages(w0, l0), l0 / PAGE);
    }
    /* the first block starts its window, and its class's run of spares
     * (CARVE_RUN_BYTES) ends in the next one: nothing past that */
    CHECK(resident_pages(w0 + 2 * l0, WINDOW) == 0,
          "the %d KiB past the window that holds the end of the first carve's run are populated", WINDOW / 1024);

    /* a 300 KiB block carved from the top: the windows inside it are the
     * caller's to touch; the window holding the new top's header is populated */
    unsigned char *big = gl_heap_malloc(h, 300 * 1024);
    CHECK(big != NULL && big > p, "a 300 KiB block from the top of a fresh heap");
    if (big != NULL && big > p) {
        /* every window inside it, in the first bytes' small windows or past them */
        uintptr_t first = ((uintptr_t)big + WINDOW - 1) & ~(uintptr_t)(WINDOW - 1);
        uintptr_t end = ((uintptr_t)big + 300 * 1024) & ~(uintptr_t)(WINDOW - 1);
        CHECK(end > first, "the block covers whole windows");
        for (uintptr_t w = ((uintptr_t)big + PREFAULT_FIRST_WINDOW - 1) & ~(uintptr_t)(PREFAULT_FIRST_WINDOW - 1);
             w < end; w += PREFAULT_FIRST_WINDOW)
            CHECK(resident_pages(w, PREFAULT_FIRST_WINDOW) == 0, "window %#lx inside the carved block is resident",
                  (unsigned long)w);
        unsigned char *after = gl_heap_malloc(h, 48);
        CHECK(after != NULL && after > big, "the next block comes from the top, after the big one");
        if (populate && after != NULL) {
            size_t lt;
            uintptr_t wt = window_of((uintptr_t)after, &lt);
            CHECK(lt == WINDOW, "a block past the segment's first %d bytes lies in a %d KiB window",
                  PREFAULT_FIRST_BYTES, WINDOW / 1024);
            CHECK(resident_pages(wt, lt) == lt / PAGE, "the top's window after the carve is populated");
        }
        /* small blocks carved across several windows: each is populated */
        for (int i = 0; i < 6000; i++) {
            unsigned char *q = gl_heap_malloc(h, 40);
            CHECK(q != NULL, "small block %d", i);
            if (q == NULL)
                break;
            fill(q, 40, (uint64_t)i);
            if (populate && i % 500 == 0) {
                size_t lq;
                uintptr_t wq = window_of((uintptr_t)q, &lq);
                CHECK(resident_pages(wq, lq) == lq / PAGE, "the window of small block %d is populated", i);
            }
        }
    }
    CHECK_HEAP(h);

    /* a class's slot array grows by mremap: no copy, no unmap, the stack intact */
    enum { DEPTH = 20000 };
    static void *stack[DEPTH];
    for (int i = 0; i < DEPTH; i++)
        stack[i] = gl_heap_malloc(h, 72);
    gl_stats before = stats_of(h);
    /* a stack grows because it is full: the pages it grows by are populated
     * at once (the mmap's MAP_POPULATE, a madvise after the mremap) */
    uint64_t grown_by = 0, resident_by = 0;
    int growths = 0;
    for (int i = 0; i < DEPTH; i++) {
        gl_stats s0 = stats_of(h);
        long r0 = resident_now();
        CHECK(gl_heap_free(h, stack[i]) == GL_OK, "free %d", i);
        gl_stats s1 = stats_of(h);
        if (s1.os_maps != s0.os_maps) {
            growths++;
            grown_by += s1.footprint - s0.footprint;
            long more = resident_now() - r0;
            resident_by += more > 0 ? (uint64_t)more * PAGE : 0;
        }
    }
    CHECK(growths >= 3, "the stack of %d blocks grew %d times", DEPTH, growths);
    if (populate)
        CHECK(resident_by >= grown_by, "a stack grew by %" PRIu64 " bytes in %d steps; %" PRIu64
              " of them were resident when the free that grew it returned", grown_by, growths, resident_by);
    gl_stats grown = stats_of(h);
    CHECK(grown.cached_blocks == before.cached_blocks + DEPTH, "%d frees cached", DEPTH);
    CHECK(grown.os_unmaps == before.os_unmaps, "the slot array grew with %" PRIu64 " unmaps",
          grown.os_unmaps - before.os_unmaps);
    CHECK(grown.os_maps > before.os_maps, "the slot array was mapped and grown");
    int lifo = 1;
    for (int i = DEPTH - 1; i >= 0; i--)
        lifo &= gl_heap_malloc(h, 72) == stack[i];
    CHECK(lifo, "the grown stack gives its %d blocks back last in, first out", DEPTH);
    CHECK_HEAP(h);
    gl_heap_destroy(h);
    ok("a fresh top is populated a 64 KiB window at a time%s; blocks carved across windows leave "
       "them alone; slot arrays grow without unmapping, populated (%d steps, %" PRIu64 " KiB)",
       populate ? "" : " (not on this kernel)", growths, grown_by / 1024);
}

/* ---- main -------------------------------------------------------------------- */
/* cache_hits after one block is freed and handed out again by a heap created
 * with these flags; -1 when something else went wrong (and reported) */
static long long cache_hits_of_one_reuse(uint64_t flags)
{
    gl_options o = { .flags = flags };
    gl_heap *h = gl_heap_create(&o);
    CHECK(h != NULL, "gl_heap_create(flags %#llx)", (unsigned long long)flags);
    if (h == NULL)
        return -1;
    gl_stats st;
    void *q = gl_heap_malloc(h, 40);
    gl_heap_free(h, q);
    int reused = gl_heap_malloc(h, 40) == q;
    CHECK(reused, "the freed block comes back from the cache (flags %#llx)", (unsigned long long)flags);
    gl_heap_stats(h, &st);
    gl_heap_destroy(h);
    return reused ? (long long)st.cache_hits : -1;
}

/* Every small request size, on a heap of the given flags: the block has the
 * size of its class exactly, and once freed it is what the next request of
 * that size gets (the cache stack of the same class), while a request of the
 * next class up does not get it.  With GL_HEAP_COUNT_HITS every reuse is one
 * hit.  Returns the number of sizes checked. */
/* The bounded best fit: a medium request walks its range bin from the most
 * recently freed block, stops at an exact fit, and examines at most
 * max_search_depth blocks, the best of which it takes; search_steps counts
 * the blocks examined. */
static void best_fit_walks_its_bin(void)
{
    enum { K = 6 };
    static const uint64_t depths[] = { 4, 16 };
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        gl_options o = { .max_search_depth = depths[d] };
        gl_heap *h = gl_heap_create(&o);
        CHECK(h != NULL, "gl_heap_create(depth %llu)", (unsigned long long)depths[d]);
        if (!h)
            continue;
        /* blocks of 2,064..2,144 B, one range bin (2,048..2,559), kept apart
         * by live medium guards (small ones would come in a run, together);
         * freed in order, so the bin holds blk[K-1] first */
        void *blk[K], *guard[K];
        for (int i = 0; i < K; i++) {
            blk[i] = gl_heap_malloc(h, 2064 + 16 * i - 8);
            guard[i] = gl_heap_malloc(h, 1100);
            CHECK(blk[i] && guard[i], "depth %llu: block %d", (unsigned long long)depths[d], i);
        }
        for (int i = 0; i < K; i++)
            CHECK(gl_heap_free(h, blk[i]) == GL_OK, "free block %d", i);
        uint64_t examined = depths[d] < K ? depths[d] : K;
        uint64_t before = stats_of(h).search_steps;
        void *p = gl_heap_malloc(h, 2048 - 8);             /* no block fits exactly */
        uint64_t steps = stats_of(h).search_steps - before;
        CHECK(steps == examined, "depth %llu: a request with no exact fit examined %llu blocks, expected %llu",
              (unsigned long long)depths[d], (unsigned long long)steps, (unsigned long long)examined);
        CHECK(p == blk[K - examined], "depth %llu: the best of the blocks examined is the smallest, block %llu",
              (unsigned long long)depths[d], (unsigned long long)(K - examined));
        before = stats_of(h).search_steps;
        void *q = gl_heap_malloc(h, 2064 + 16 * (K - 1) - 8); /* exactly the first block's size */
        steps = stats_of(h).search_steps - before;
        CHECK(steps == 1 && q == blk[K - 1], "depth %llu: an exact fit ends the walk at once (%llu steps)",
              (unsigned long long)depths[d], (unsigned long long)steps);
        gl_heap_free(h, p);
        gl_heap_free(h, q);
        for (int i = 0; i < K; i++)
            gl_heap_free(h, guard[i]);
        CHECK(gl_heap_check(h, NULL) == GL_CHECK_OK, "depth %llu: check after the walks", (unsigned long long)depths[d]);
        gl_heap_destroy(h);
    }
}

static int every_small_size(uint64_t flags, const char *kind)
{
    gl_options o = { .flags = flags };
    gl_heap *h = gl_heap_create(&o);
    CHECK(h != NULL, "gl_heap_create(%s)", kind);
    if (h == NULL)
        return 0;
    int sizes = 0;
    for (size_t n = 0; n <= SMALL_MAX_REQUEST; n++, sizes++) {
        size_t block = (n + 8 + 15) & ~(size_t)15;
        if (block < 32)
            block = 32;
        unsigned char *p = gl_heap_malloc(h, n);
        CHECK(p != NULL, "%s: malloc(%zu)", kind, n);
        if (p == NULL)
            break;
        size_t usable = gl_heap_usable_size(h, p);
        CHECK(usable == block - 8, "%s: malloc(%zu) has %zu usable bytes, its class %zu", kind, n, usable,
              block - 8);
        memset(p, 0x5a, n);
        CHECK(gl_heap_free(h, p) == GL_OK, "%s: free of malloc(%zu)", kind, n);
        if (block - 8 < SMALL_MAX_REQUEST) {
            unsigned char *up = gl_heap_malloc(h, block - 8 + 1);    /* the next class */
            CHECK(up != p, "%s: malloc(%zu) got the freed block of malloc(%zu) (class %zu)", kind,
                  block - 8 + 1, n, block / 16);
            gl_heap_free(h, up);
        }
        gl_stats before = stats_of(h);
        unsigned char *q = gl_heap_malloc(h, n);
        CHECK(q == p, "%s: malloc(%zu) after its free got %p, not the cached %p", kind, n, (void *)q, (void *)p);
        gl_stats after = stats_of(h);
        uint64_t hits = after.cache_hits - before.cache_hits;
        CHECK(hits == ((flags & GL_HEAP_COUNT_HITS) ? 1 : 0),
              "%s: malloc(%zu) reuse counted %llu cache hits", kind, n, (unsigned long long)hits);
        gl_heap_free(h, q);
    }
    CHECK_HEAP(h);
    gl_heap_destroy(h);
    return sizes;
}

/* gl_heap_pointer_status answers what gl_heap_free would, for every kind of
 * pointer, and records nothing: no error counted, H_LAST_ERROR untouched.
 * (On a shared heap another thread's failure can take the last error; this
 * answer it cannot.)  Each misuse is then confirmed by gl_heap_free itself. */
static void pointer_status_answers_as_free_would(uint64_t flags, const char *kind)
{
    gl_options o = { .flags = flags };
    gl_heap *h = gl_heap_create(&o);
    gl_heap *other = gl_heap_create(NULL);
    CHECK(h != NULL && other != NULL, "gl_heap_create");
    if (h == NULL || other == NULL)
        return;
    char *small = gl_heap_malloc(h, 40), *medium = gl_heap_malloc(h, 3000);
    char *large = gl_heap_malloc(h, 3u << 20), *theirs = gl_heap_malloc(other, 40);
    void *libc = malloc(64);
    CHECK(small && medium && large && theirs && libc, "the blocks to ask about");
    gl_heap_last_error(h);                        /* 0 from here on, unless something records */
    gl_stats before = stats_of(h);

    CHECK(gl_heap_pointer_status(h, NULL) == GL_OK, "%s: NULL is what free accepts", kind);
    CHECK(gl_heap_pointer_status(h, small) == GL_OK, "%s: a live small block", kind);
    CHECK(gl_heap_pointer_status(h, medium) == GL_OK, "%s: a live medium block", kind);
    CHECK(gl_heap_pointer_status(h, large) == GL_OK, "%s: a live large block", kind);
    struct { void *p; int status; const char *what; } misuse[] = {
        { small + 16, GL_E_NOT_OURS, "an interior pointer" },
        { small + 8, GL_E_NOT_OURS, "a misaligned pointer" },
        { theirs, GL_E_NOT_OURS, "another heap's block" },
        { libc, GL_E_NOT_OURS, "a libc block" },
        { static_buf, GL_E_NOT_OURS, "a static array" },
        { (void *)(uintptr_t)16, GL_E_NOT_OURS, "address 16" },
    };
    int n = sizeof misuse / sizeof misuse[0];
    for (int i = 0; i < n; i++) {
        int st = gl_heap_pointer_status(h, misuse[i].p);
        CHECK(st == misuse[i].status, "%s: pointer_status(%s) = %d, expected %d", kind, misuse[i].what,
              st, misuse[i].status);
    }
    gl_stats mid = stats_of(h);
    CHECK(memcmp(mid.errors, before.errors, sizeof mid.errors) == 0, "%s: pointer_status counted an error", kind);
    CHECK(gl_heap_last_error(h) == GL_OK, "%s: pointer_status recorded a last error", kind);
    for (int i = 0; i < n; i++) {
        int rc = gl_heap_free(h, misuse[i].p);
        CHECK(rc == misuse[i].status, "%s: gl_heap_free(%s) = %d, pointer_status said %d", kind, misuse[i].what,
              rc, misuse[i].status);
    }

    /* freed blocks: cached (small), coalesced (medium), unmapped (large) */
    CHECK(gl_heap_free(h, small) == GL_OK && gl_heap_free(h, medium) == GL_OK && gl_heap_free(h, large) == GL_OK,
          "%s: the live blocks free", kind);
    gl_heap_last_error(h);
    before = stats_of(h);
    CHECK(gl_heap_pointer_status(h, small) == GL_E_DOUBLE_FREE, "%s: a cached block", kind);
    CHECK(gl_heap_pointer_status(h, medium) == GL_E_DOUBLE_FREE, "%s: a coalesced block", kind);
    int big = gl_heap_pointer_status(h, large);
    CHECK(big == GL_E_DOUBLE_FREE, "%s: an unmapped large block = %d, expected GL_E_DOUBLE_FREE", kind, big);

    CHECK(memcmp(stats_of(h).errors, before.errors, sizeof before.errors) == 0 && gl_heap_last_error(h) == GL_OK,
          "%s: pointer_status of freed blocks recorded an error", kind);
    CHECK(gl_heap_free(h, small) == GL_E_DOUBLE_FREE && gl_heap_free(h, medium) == GL_E_DOUBLE_FREE
          && gl_heap_free(h, large) == GL_E_DOUBLE_FREE, "%s: gl_heap_free agrees on the freed blocks", kind);

    /* a damaged header: a write past the end of the block before it */
    gl_heap_last_error(h);
    before = stats_of(h);
    char *a = gl_heap_malloc(h, 3000);
    char *b = gl_heap_malloc(h, 3000);
    CHECK(a && b, "%s: two medium blocks", kind);
    if (a && b && b == a + gl_heap_usable_size(h, a) + 8) {
        uint64_t saved;
        memcpy(&saved, b - 8, sizeof saved);
        b[-8] ^= 0x5a;
        int st = gl_heap_pointer_status(h, b);
        CHECK(st == GL_E_CORRUPT, "%s: a damaged header = %d, expected GL_E_CORRUPT", kind, st);
        memcpy(b - 8, &saved, sizeof saved);
    } else {
        CHECK(0, "%s: the second medium block is not right behind the first", kind);
    }
    gl_stats after = stats_of(h);
    CHECK(memcmp(after.errors, before.errors, sizeof after.errors) == 0 && gl_heap_last_error(h) == GL_OK,
          "%s: pointer_status of a damaged block recorded an error", kind);
    gl_heap_free(h, a);
    gl_heap_free(h, b);
    CHECK_HEAP(h);
    gl_heap_free(other, theirs);
    free(libc);
    gl_heap_destroy(other);
    gl_heap_destroy(h);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20261121;
    rng_state = seed;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGILL, on_crash);
    signal(SIGFPE, on_crash);
    printf("glimmer C contract, seed %" PRIu64 "\n", seed);

    begin("gl_heap_create(NULL)");
    gl_heap *h = gl_heap_create(NULL);
    CHECK(h != NULL, "gl_heap_create(NULL) = NULL");
    gl_stats s = stats_of(h);
    CHECK(s.live_blocks == 0 && s.live_bytes == 0, "a new heap has live blocks");
    CHECK(s.cached_blocks == 0, "cached_blocks of a new heap");
    for (int k = 0; k < GL_ERROR_KINDS; k++) CHECK(s.errors[k] == 0, "errors[%d] of a new heap", k);
    CHECK_HEAP(h);
    CHECK(gl_heap_check(h, NULL) == 0, "gl_heap_check(h, NULL)");
    ok("an empty heap is consistent");

    begin("sizes 1 B .. 5 MiB");
    sizes_round(h, 0);
    sizes_round(h, 1);

    begin("size classes");
    int n_sizes = every_small_size(0, "owned heap");
    every_small_size(GL_HEAP_COUNT_HITS, "heap counting hits");
    every_small_size(GL_HEAP_LOCKED, "locked heap");
    every_small_size(GL_HEAP_LOCKED | GL_HEAP_COUNT_HITS, "locked heap counting hits");
    ok("each of the %d small request sizes gets its class and reuses its own cache stack, "
       "on owned, counting and locked heaps", n_sizes);

    begin("random workload");
    random_workload(h, seed, 200000, 25000);

    begin("misuse");
    gl_heap *other = gl_heap_create(NULL);
    CHECK(other != NULL, "second heap");
    misuse(h, other, "owned heap");
    gl_options nocache = { .disable_cache = 1 };
    gl_heap *nc = gl_heap_create(&nocache);
    CHECK(nc != NULL, "gl_heap_create(disable_cache)");
    misuse(nc, h, "heap without cache");
    pointer_status_answers_as_free_would(0, "owned heap");
    pointer_status_answers_as_free_would(GL_HEAP_LOCKED, "locked heap");
    ok("gl_heap_pointer_status: live, foreign, interior, freed and damaged pointers as gl_heap_free "
       "answers them, with nothing recorded");

    begin("bad requests");
    bad_requests(h);

    begin("calloc/realloc/aligned_alloc");
    api_semantics(h);
    api_semantics(nc);
    realloc_frees_what_it_moves();
    realloc_remaps_large_blocks();
    realloc_caches_medium_blocks();
    realloc_moves_small_blocks_through_the_cache();
    moves_and_clears_exact_lengths();

    begin("carve runs");
    small_carves_come_in_runs();
    ok("a small carve brings a run of its class, cached in address order (a class's first fills its inline "
       "slots, mapping nothing); none without a cache");

    begin("walk/reset/trim");
    walk_reset_trim(h);
    trim_without_mincore();

    begin("options");
    gl_options o = { .max_search_depth = 1, .cache_limit = 2 };
    gl_heap *ho = gl_heap_create(&o);
    CHECK(ho != NULL, "gl_heap_create(depth 1, cache 2)");
    random_workload(ho, seed + 1, 50000, 10000);
    gl_heap_destroy(ho);
    /* cache limits around the slot arrays' sizes: one page holds 512 slots,
     * the arrays double from there */
    static const uint64_t limits[] = { 1, 511, 512, 513, 1024, 1025 };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        gl_options lim = { .cache_limit = limits[i] };
        gl_heap *hl = gl_heap_create(&lim);
        CHECK(hl != NULL, "gl_heap_create(cache_limit %llu)", (unsigned long long)limits[i]);
        if (hl) {
            /* 1,100 frees of one class: the stack grows through its page and
             * doubling sizes, and is flushed whole each time it is full.  It
             * starts with the spares of the last run the mallocs carved. */
            enum { BURST = 1100 };
            static void *burst[BURST];
            for (int k = 0; k < BURST; k++)
                burst[k] = gl_heap_malloc(hl, 40);
            uint64_t spares = stats_of(hl).cached_blocks;
            CHECK(spares <= limits[i], "cache_limit %llu: %llu spares cached, within the limit",
                  (unsigned long long)limits[i], (unsigned long long)spares);
            for (int k = 0; k < BURST; k++)
                CHECK(gl_heap_free(hl, burst[k]) == GL_OK, "free %d of the burst", k);
            gl_stats st;
            gl_heap_stats(hl, &st);
            uint64_t pushed = spares + BURST;
            uint64_t expect = limits[i] >= pushed ? pushed : (pushed - 1) % limits[i] + 1;
            CHECK(st.cached_blocks == expect, "cache_limit %llu: %llu cached after %d frees, expected %llu",
                  (unsigned long long)limits[i], (unsigned long long)st.cached_blocks, BURST,
                  (unsigned long long)expect);
            void *back = gl_heap_malloc(hl, 40);
            CHECK(back == burst[BURST - 1], "the last block freed comes back first");
            gl_heap_free(hl, back);
            CHECK(gl_heap_check(hl, NULL) == GL_CHECK_OK, "cache_limit %llu: check after the burst",
                  (unsigned long long)limits[i]);
            random_workload(hl, seed + 10 + i, 30000, 5000);
            gl_heap_destroy(hl);
        }
    }
    gl_options bad = { .reserved = { 1 } };
    gl_heap *hb = gl_heap_create(&bad);
    if (hb) gl_heap_destroy(hb);                              /* NULL is the documented answer; never a crash */
    CHECK(cache_hits_of_one_reuse(GL_HEAP_COUNT_HITS) == 1, "a heap created with GL_HEAP_COUNT_HITS counts the hit");
    CHECK(cache_hits_of_one_reuse(0) == 0, "a heap created without GL_HEAP_COUNT_HITS counts no hits");
    gl_options huge = { .flags = GL_HEAP_HUGE_PAGES };
    gl_heap *hp = gl_heap_create(&huge);
    CHECK(hp != NULL, "gl_heap_create(GL_HEAP_HUGE_PAGES)");
    if (hp) {
        random_workload(hp, seed + 2, 20000, 5000);
        gl_heap_destroy(hp);
    }
    gl_options badf = { .flags = 8 };
    CHECK(gl_heap_create(&badf) == NULL, "gl_heap_create(unknown flag 8) refused");
    gl_options badc = { .cache_limit = 65537 };
    gl_heap *hc = gl_heap_create(&badc);
    CHECK(hc == NULL, "gl_heap_create(cache_limit 65537) refused");
    if (hc) gl_heap_destroy(hc);
    ok("max_search_depth 1, cache_limit 2 and 1..1025; bad options do not crash (reserved: %s, cache 65537: refused)",
       hb ? "accepted" : "refused");

    begin("best fit");
    best_fit_walks_its_bin();
    ok("a medium request walks its range bin to max_search_depth blocks (4 and 16), takes the best, stops at an "
       "exact fit; search_steps counts the blocks examined");

    begin("fresh memory");
    fresh_memory();

    begin("threads");
    gl_options lo = { .flags = GL_HEAP_LOCKED };
    gl_heap *locked = gl_heap_create(&lo);
    CHECK(locked != NULL, "gl_heap_create(GL_HEAP_LOCKED)");
    begin("misuse");
    misuse(locked, h, "locked heap");
    begin("threads");
    threads(locked, 0, "locked heap");
    CHECK(stats_of(gl_default_heap()).lock_biased == (uint64_t)membarrier_expedited(),
          "the default heap is biased to its first caller, this thread, until now");
    begin("default heap");
    default_heap(membarrier_expedited() ? "biased: gl_malloc's and gl_free's own fast paths" : "never biased here");
    default_fast_paths_race_a_revocation();
    begin("threads");
    threads(NULL, 1, "default heap");
    begin("arenas");
    default_heap_arenas();
    revoke_default_bias();

    begin("biased locked heaps");
    bias_is_taken_and_revoked();
    revocation_races_the_owner();
    bias_moves_to_a_thread_running_alone();
    revocation_after_fork();
    revocation_without_membarrier();

    begin("fork");
    fork_while_threads_allocate();

    begin("default heap");
    default_heap("locked: the bias is gone");

    begin("destroy");
    gl_heap_destroy(locked);
    gl_heap_destroy(nc);
    gl_heap_destroy(other);
    gl_heap_destroy(h);
    returns_memory();

    printf("contract: all %lu checks passed\n", checks);
    return 0;
}
