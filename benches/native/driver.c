/*
 * driver.c - Glimmer's native side-by-side benchmark driver.
 *
 * Every allocator is called through function pointers to its own entry
 * points (malloc, free, realloc) by the same kernels, on the same precomputed
 * request streams:
 *
 *   glimmer          Glimmer's owned heap: gl_heap_malloc/free/realloc, called
 *                    at their own entry points with the gl_heap * first
 *   glimmer-default  Glimmer's default (locked) heap: gl_malloc/gl_free/gl_realloc
 *   glibc            the process's own malloc/free/realloc
 *   jemalloc         libjemalloc.so.2        malloc/free/realloc     } dlopen(RTLD_LOCAL|RTLD_NOW):
 *   mimalloc         libmimalloc.so.2        mi_malloc/mi_free/...   } they never replace the
 *   tcmalloc         libtcmalloc_minimal.so.4 tc_malloc/tc_free/...  } driver's own malloc
 *
 * A missing peer is skipped with the apt-get line that installs it;
 * GLIMMER_BENCH_PEERS=none (or a comma list such as "mimalloc,tcmalloc")
 * pretends the others are absent.  Debian's jemalloc needs more static TLS
 * than glibc leaves for dlopen: the driver re-executes itself with
 * GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536 when that is not set.
 *
 * The driver's own data (request streams, pointer tables) lives in anonymous
 * mappings, never in glibc's heap, so glibc is measured on its own blocks.
 *
 * Usage:
 *   driver [--mode smoke|quick|bench] [--out DIR] [--only ROW,ROW] [--seed N]
 *          run every workload row (steady state, interleaved), the cold rows
 *          (each in a fresh process) and the churn footprint (one fresh process
 *          per allocator); write DIR/native.csv, DIR/footprint.csv,
 *          DIR/native-meta.csv and print the tables
 *   driver --pairs ALLOC N [keep]  (for callgrind) 1,000 warm-up pairs, then N
 *                               malloc(32)+free pairs (keep: with one other
 *                               block live); ALLOC may be "noop"
 *   driver --row ROW ALLOC R    (for callgrind) one warm-up round of a row, then R
 *                               rounds (a round: PAIR_ROUND pairs, one batch, or
 *                               one pass over a trace)
 *   driver --list               available allocators, one per line
 *   driver --rows               the workload rows
 *   driver --peers              which peers are installed; the apt-get line
 *   driver --child KIND ...     internal: one cold run / one footprint run / one run of
 *                               a row of several threads
 *
 * Every failure - NULL from an allocator, a block whose bytes changed while it
 * was live, an error counted by a Glimmer heap, a failed heap check - stops
 * the driver with a message and exit status 1.
 */
#define _GNU_SOURCE
#include "glimmer.h"
#include "listed.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PEER_PACKAGES "libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4"
#define TLS_TUNABLE   "glibc.rtld.optional_static_tls=65536"
#define PAGE          4096u
#define MAX_REPS      15
#define PAIR_SIZE     32u
#define PAIR_ROUND    1000u        /* pairs per round of the pair kernel */

/* ======================================================================== */
/* errors                                                                   */
/* ======================================================================== */

static const char *progname = "driver";

static _Noreturn __attribute__((cold, format(printf, 1, 2))) void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: error: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ======================================================================== */
/* memory for the driver itself: anonymous mappings, prefaulted             */
/* ======================================================================== */

static void *xmap(size_t bytes)
{
    if (bytes == 0)
        bytes = 1;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
        die("mmap of %zu bytes for the driver's own data failed: %s", bytes, strerror(errno));
    return p;
}

static void xunmap(void *p, size_t bytes)
{
    if (p != NULL && munmap(p, bytes ? bytes : 1) != 0)
        die("munmap: %s", strerror(errno));
}

/* ======================================================================== */
/* deterministic random numbers (splitmix64)                                */
/* ======================================================================== */

static uint64_t global_seed = 0x676c696d6d6572ull;   /* "glimmer" */

struct rng { uint64_t s; };

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rng_next(r) % ((uint64_t)hi - lo + 1));
}

/* every stream's generator is seeded from the global seed and the row's id,
 * so a row's stream does not depend on which other rows run */
static struct rng rng_for(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ull;                /* FNV-1a */
    for (const char *c = id; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    return (struct rng){ global_seed ^ h };
}

static void shuffle(uint32_t *a, uint32_t n, struct rng *r)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)(rng_next(r) % i);
        uint32_t t = a[i - 1]; a[i - 1] = a[j]; a[j] = t;
    }
}

/* ======================================================================== */
/* allocators                                                               */
/* ======================================================================== */

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*heap_malloc_fn)(gl_heap *, size_t);
typedef int (*heap_free_fn)(gl_heap *, void *);
typedef void *(*heap_realloc_fn)(gl_heap *, void *, size_t);

/* How an allocator is called: as malloc(n), or - Glimmer's owned heap, when
 * `heap` is set - at gl_heap_malloc(heap, n) and its siblings.  Every kernel
 * is compiled once for each way (TWO_WAYS), so neither pays for an adapter;
 * the heap's way costs the one register move its API asks for.
 * gl_heap_free's status is not looked at in a kernel: a misuse is counted in
 * the heap's statistics, which are verified after every measured run. */
struct calls {
    malloc_fn malloc;
    free_fn free;
    realloc_fn realloc;
    gl_heap *heap;
    heap_malloc_fn heap_malloc;
    heap_free_fn heap_free;
    heap_realloc_fn heap_realloc;
};

static inline __attribute__((always_inline))
void *call_malloc(const struct calls *c, const int by_heap, size_t n)
{
    return by_heap ? c->heap_malloc(c->heap, n) : c->malloc(n);
}

static inline __attribute__((always_inline))
void call_free(const struct calls *c, const int by_heap, void *p)
{
    if (by_heap)
        (void)c->heap_free(c->heap, p);
    else
        c->free(p);
}

static inline __attribute__((always_inline))
void *call_realloc(const struct calls *c, const int by_heap, void *p, size_t n)
{
    return by_heap ? c->heap_realloc(c->heap, p, n) : c->realloc(p, n);
}

struct allocator {
    const char *name;            /* id on the command line and in the CSV files */
    const char *soname;          /* peers: the library dlopen()ed; NULL otherwise */
    const char *package;         /* peers: the Debian package holding it */
    const char *sym[3];          /* peers: names of malloc, free, realloc */
    struct calls calls;
    gl_heap *(*glimmer)(void);   /* Glimmer: the heap whose statistics are verified */
    int available;
    char why[320];               /* why it is not available */
};

static gl_heap *owned_heap;
static gl_heap *owned_heap_of(void) { return owned_heap; }

/* ---- the no-op allocator: the driver loop's own cost, for callgrind ------- */
static unsigned char noop_block[PAIR_SIZE] __attribute__((aligned(16)));
static __attribute__((noinline)) void *noop_malloc(size_t n) { (void)n; return noop_block; }
static __attribute__((noinline)) void noop_free(void *p) { (void)p; }

enum { A_GLIMMER, A_GLIMMER_DEFAULT, A_GLIBC, A_JEMALLOC, A_MIMALLOC, A_TCMALLOC, A_COUNT };

static struct allocator allocators[A_COUNT] = {
    [A_GLIMMER]         = { .name = "glimmer" },
    [A_GLIMMER_DEFAULT] = { .name = "glimmer-default" },
    [A_GLIBC]           = { .name = "glibc" },
    [A_JEMALLOC] = { .name = "jemalloc", .soname = "libjemalloc.so.2", .package = "libjemalloc2",
                     .sym = { "malloc", "free", "realloc" } },
    [A_MIMALLOC] = { .name = "mimalloc", .soname = "libmimalloc.so.2", .package = "libmimalloc2.0",
                     .sym = { "mi_malloc", "mi_free", "mi_realloc" } },
    [A_TCMALLOC] = { .name = "tcmalloc", .soname = "libtcmalloc_minimal.so.4",
                     .package = "libtcmalloc-minimal4", .sym = { "tc_malloc", "tc_free", "tc_realloc" } },
};

static struct allocator noop_allocator = { .name = "noop", .calls = { .malloc = noop_malloc, .free = noop_free },
                                           .available = 1 };

static int is_peer(const struct allocator *a) { return a->soname != NULL || a == &allocators[A_GLIBC]; }

/* GLIMMER_BENCH_PEERS: unset or "all" = every peer; "none"; or a comma list */
static int peer_wanted(const char *name, char *why, size_t whylen)
{
    const char *env = getenv("GLIMMER_BENCH_PEERS");
    if (env == NULL || *env == '\0' || strcmp(env, "all") == 0)
        return 1;
    if (listed(env, name))
        return 1;
    snprintf(why, whylen, "GLIMMER_BENCH_PEERS=%s: treated as not installed", env);
    return 0;
}

/* A heap for the allocator "glimmer".  GLIMMER_BENCH_HEAP_FLAGS: its
 * gl_options.flags (e.g. 4 = GL_HEAP_HUGE_PAGES), to measure an option; the
 * report's runs leave it unset. */
static gl_heap *create_owned_heap(int quiet)
{
    const char *flags = getenv("GLIMMER_BENCH_HEAP_FLAGS");
    gl_options opts = { .flags = flags ? strtoull(flags, NULL, 0) : 0 };
    gl_heap *h = gl_heap_create(&opts);
    if (h == NULL)
        die("gl_heap_create(flags %#llx) failed", (unsigned long long)opts.flags);
    if (flags && !quiet)
        fprintf(stderr, "note: Glimmer's owned heap has gl_options.flags %#llx (GLIMMER_BENCH_HEAP_FLAGS)\n",
                (unsigned long long)opts.flags);
    return h;
}

/* Makes every allocator ready (or marks it unavailable, saying why).
 * quiet: no messages (child processes, --list); only: load no peer but this
 * one (a run that measures one allocator keeps the others out of its process). */
static void open_allocators(int quiet, const char *only)
{
    struct allocator *a;

    a = &allocators[A_GLIMMER];
    owned_heap = create_owned_heap(quiet);
    a->calls = (struct calls){ .heap = owned_heap, .heap_malloc = gl_heap_malloc, .heap_free = gl_heap_free,
                               .heap_realloc = gl_heap_realloc };
    a->glimmer = owned_heap_of; a->available = 1;

    a = &allocators[A_GLIMMER_DEFAULT];
    a->calls = (struct calls){ .malloc = gl_malloc, .free = gl_free, .realloc = gl_realloc };
    a->glimmer = gl_default_heap; a->available = 1;

    a = &allocators[A_GLIBC];
    a->calls = (struct calls){ .malloc = malloc, .free = free, .realloc = realloc };
    a->available = 1;

    char missing[128] = "";
    for (int i = A_JEMALLOC; i <= A_TCMALLOC; i++) {
        a = &allocators[i];
        a->available = 0;
        if (only != NULL && strcmp(only, a->name) != 0) {
            snprintf(a->why, sizeof a->why, "not loaded in this run");
            continue;
        }
        if (!peer_wanted(a->name, a->why, sizeof a->why))
            goto skip;
        void *h = dlopen(a->soname, RTLD_LOCAL | RTLD_NOW);
        if (h == NULL) {
            const char *err = dlerror();
            snprintf(a->why, sizeof a->why, "%s", err ? err : "dlopen failed");
            if (err && strstr(err, "static TLS"))
                snprintf(a->why + strlen(a->why), sizeof a->why - strlen(a->why),
                         " (start the driver with GLIBC_TUNABLES=" TLS_TUNABLE ")");
            goto skip;
        }
        void *f[3];
        for (int k = 0; k < 3; k++) {
            f[k] = dlsym(h, a->sym[k]);
            if (f[k] == NULL)
                die("%s is installed but does not export %s", a->soname, a->sym[k]);
        }
        a->calls = (struct calls){ .malloc = (malloc_fn)f[0], .free = (free_fn)f[1],
                                   .realloc = (realloc_fn)f[2] };
        a->available = 1;
        continue;
    skip:
        if (!quiet)
            fprintf(stderr, "skip %s: %s\n", a->name, a->why);
        snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s", a->package);
    }
    if (!quiet && missing[0])
        fprintf(stderr, "to add the missing peers:  apt-get install -y%s\n", missing);
}

static struct allocator *find_allocator(const char *name)
{
    if (strcmp(name, "noop") == 0)
        return &noop_allocator;
    for (int i = 0; i < A_COUNT; i++)
        if (strcmp(allocators[i].name, name) == 0) {
            if (!allocators[i].available)
                die("allocator %s is not available: %s", name, allocators[i].why);
            return &allocators[i];
        }
    die("no allocator named %s", name);
}

/* Puts the allocator into its initial state: one malloc(1)+free, so that
 * library initialisation is not part of a measured (cold) run. */
static void warm_allocator(const struct allocator *a)
{
    const int by_heap = a->calls.heap != NULL;
    void *p = call_malloc(&a->calls, by_heap, 1);
    if (p == NULL)
        die("%s: malloc(1) returned NULL", a->name);
    call_free(&a->calls, by_heap, p);
}

/* ======================================================================== */
/* workloads: one description per row, generated once, same for everyone    */
/* ======================================================================== */

enum kind { K_PAIR, K_BATCH, K_TRACE };
enum order { O_FIFO, O_RANDOM };
enum gen { G_CHURN, G_GROW };

/* one operation of a trace: size 0 frees the slot; otherwise the slot is
 * allocated (when empty) or reallocated to `size` (when live) */
struct op { uint32_t slot, size; };

/* a live block of a trace */
struct live { unsigned char *p; uint32_t size; unsigned char tag; };

struct workload {
    char id[32];                 /* e.g. "small-1000-random" */
    char family[16];             /* rows drawn as one curve: "small", "mixed", "large" */
    char label[96];              /* for humans */
    enum kind kind;
    uint32_t lo, hi;             /* request sizes, bytes, inclusive */
    uint32_t big_permille;       /* churn: this many requests in 1000 are big_lo..big_hi */
    uint32_t big_lo, big_hi;
    uint32_t n;                  /* batch: blocks; trace: slots (live blocks) */
    enum order order;            /* batch: order of the frees */
    int aged;                    /* batch: the heap first serves AGING_ROUNDS rounds of the same
                                    blocks freed in a random order (untimed) */
    int keep;                    /* pair: one other block kept live */
    uint32_t threads;            /* pair, batch: > 1: this many threads run the row at once, each on
                                    blocks of its own (run_threads) */
    enum gen gen;                /* trace: which generator */
    uint32_t steps;              /* trace: steps of the generator (set from the mode) */
    int realloc_alloc;           /* trace: allocate with realloc(NULL, n), Lua style */
    int cold;                    /* also measured cold, in fresh processes */
    uint32_t budget_div;         /* budget / this = operations per measured run */

    /* generated by prepare() */
    uint32_t *sizes;             /* batch: n sizes */
    uint32_t *order_idx;         /* batch: n slot indices, in free order */
    uint32_t *aging_idx;         /* aged batch: the random free order of the aging rounds */
    void **ptrs;                 /* batch: n pointers */
    struct op *ops;              /* trace */
    size_t nops;
    struct live *live;           /* trace: n slots */
    uint64_t peak_live;          /* trace: peak of the requested bytes live at once */
    uint64_t ops_per_round;
};

struct mode {
    const char *name;
    uint64_t budget;             /* operations per measured run */
    int reps, cold_reps;
    uint32_t churn_steps, lua_steps, grow_steps;
};

static const struct mode modes[] = {
    { "smoke",    20000, 1, 1,    5000,   2000,   2000 },
    { "quick",  1000000, 3, 5,  200000, 100000, 100000 },
    { "bench",  4000000, 7, 15, 1000000, 300000, 300000 },
};
static const struct mode *mode = &modes[2];

#define MAX_ROWS 48
static struct workload rows[MAX_ROWS];
static int nrows;

static struct workload *add_row(const char *id, const char *family, const char *label)
{
    if (nrows == MAX_ROWS)
        die("too many rows");
    struct workload *w = &rows[nrows++];
    memset(w, 0, sizeof *w);
    snprintf(w->id, sizeof w->id, "%s", id);
    snprintf(w->family, sizeof w->family, "%s", family);
    snprintf(w->label, sizeof w->label, "%s", label);
    w->budget_div = 1;
    return w;
}

/* n with thousands separators, for labels (static buffer: use one at a time) */
static const char *thousands(uint32_t n)
{
    static char buf[16];
    if (n >= 1000000)
        snprintf(buf, sizeof buf, "%u,%03u,%03u", n / 1000000, n / 1000 % 1000, n % 1000);
    else if (n >= 1000)
        snprintf(buf, sizeof buf, "%u,%03u", n / 1000, n % 1000);
    else
        snprintf(buf, sizeof buf, "%u", n);
    return buf;
}

/* The rows, in report order.  Everything a kernel or generator needs is here. */
static void define_rows(void)
{
    struct workload *w;
    char id[32], label[96];

    w = add_row("pair", "pair", "malloc(32)+free pairs");
    w->kind = K_PAIR; w->lo = w->hi = PAIR_SIZE;
    w = add_row("pair-keep", "pair", "malloc(32)+free pairs, one other block kept live");
    w->kind = K_PAIR; w->lo = w->hi = PAIR_SIZE; w->keep = 1;

    static const struct {
        const char *family, *what;
        uint32_t lo, hi, budget_div, nn, n[4];
        uint32_t cold_n[2];          /* N measured cold: fifo, random (0 = none) */
    } fam[] = {
        { "small", "8..64 B",   8,    64,    1, 4, { 100, 1000, 10000, 100000 }, { 100000, 1000 } },
        { "mixed", "8..256 B",  8,    256,   1, 4, { 100, 1000, 10000, 100000 }, { 0, 10000 } },
        { "large", "1..64 KiB", 1024, 65536, 8, 2, { 100, 1000 },                { 1000, 0 } },
    };
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++)
        for (int o = O_FIFO; o <= O_RANDOM; o++)
            for (uint32_t k = 0; k < fam[f].nn; k++) {
                uint32_t n = fam[f].n[k];
                snprintf(id, sizeof id, "%s-%u-%s", fam[f].family, n, o == O_FIFO ? "fifo" : "random");
                snprintf(label, sizeof label, "batch of %s, %s, freed %s", thousands(n), fam[f].what,
                         o == O_FIFO ? "in allocation order" : "in random order");
                w = add_row(id, fam[f].family, label);
                w->kind = K_BATCH; w->lo = fam[f].lo; w->hi = fam[f].hi; w->n = n;
                w->order = (enum order)o; w->budget_div = fam[f].budget_div;
                w->cold = fam[f].cold_n[o] == n;
            }

    w = add_row("churn", "churn", "churn: 10,000 live, 8..512 B + 2 % 4..64 KiB");
    w->kind = K_TRACE; w->gen = G_CHURN; w->n = 10000; w->lo = 8; w->hi = 512;
    w->big_permille = 20; w->big_lo = 4096; w->big_hi = 65536; w->cold = 1;
    w->steps = mode->churn_steps;

    w = add_row("lua-alloc", "lua", "Lua style: realloc(NULL,n) 16..128 B, 1,000 live, free");
    w->kind = K_TRACE; w->gen = G_CHURN; w->n = 1000; w->lo = 16; w->hi = 128;
    w->realloc_alloc = 1; w->cold = 1; w->steps = mode->lua_steps;

    w = add_row("lua-grow", "lua", "Lua style: 64 buffers grown by realloc x2, 16 B..64 KiB");
    w->kind = K_TRACE; w->gen = G_GROW; w->n = 64; w->lo = 16; w->hi = 65536; w->realloc_alloc = 1;
    w->steps = mode->grow_steps;

    /* Threads at once, each running the row's kernel on blocks of its own.  Glimmer's owned heap
     * is one heap per thread (an owned heap serves one thread at a time); its default heap is one
     * heap the threads share; the peers give each thread a cache of its own. */
    w = add_row("threads2-pair", "threads", "2 threads at once, each: malloc(32)+free pairs");
    w->kind = K_PAIR; w->lo = w->hi = PAIR_SIZE; w->threads = 2;
    w = add_row("threads2-mixed-1000", "threads",
                "2 threads at once, each: batch of 1,000, 8..256 B, freed in random order");
    w->kind = K_BATCH; w->lo = 8; w->hi = 256; w->n = 1000; w->order = O_RANDOM; w->threads = 2;

    /* last, so that its aging reaches no other row: what a heap does after a phase of frees in a
     * random order (a table torn down, a collector's sweep) to the next phase's locality */
    w = add_row("small-100000-aged", "aged",
                "aged heap: batch of 100,000, 8..64 B, in allocation order");
    w->kind = K_BATCH; w->lo = 8; w->hi = 64; w->n = 100000; w->order = O_FIFO; w->aged = 1;
}

static struct workload *find_row(const char *id)
{
    for (int i = 0; i < nrows; i++)
        if (strcmp(rows[i].id, id) == 0)
            return &rows[i];
    die("no workload row named %s (see --rows)", id);
}

/* ---- trace generators ------------------------------------------------------ */

struct tracegen { struct workload *w; size_t cap; uint64_t live_bytes; };

static void emit(struct tracegen *t, uint32_t slot, uint32_t size, uint32_t old_size)
{
    struct workload *w = t->w;
    if (w->nops == t->cap)
        die("%s: trace generator overflow", w->id);
    w->ops[w->nops++] = (struct op){ slot, size };
    t->live_bytes += size;
    t->live_bytes -= old_size;
    if (t->live_bytes > w->peak_live)
        w->peak_live = t->live_bytes;
}

static uint32_t churn_size(const struct workload *w, struct rng *r)
{
    if (w->big_permille && rng_range(r, 0, 999) < w->big_permille)
        return rng_range(r, w->big_lo, w->big_hi);
    return rng_range(r, w->lo, w->hi);
}

/* n live blocks: fill, then `steps` times free a random one and allocate a new
 * one in its place, then free them all in random order */
static void gen_churn(struct workload *w, struct rng *r, uint32_t steps)
{
    uint32_t n = w->n;
    uint32_t *size = xmap(n * sizeof *size), *perm = xmap(n * sizeof *perm);
    struct tracegen t = { w, 2 * (size_t)n + 2 * (size_t)steps, 0 };
    w->ops = xmap(t.cap * sizeof *w->ops);
    for (uint32_t s = 0; s < n; s++) {
        size[s] = churn_size(w, r);
        emit(&t, s, size[s], 0);
    }
    for (uint32_t i = 0; i < steps; i++) {
        uint32_t v = rng_range(r, 0, n - 1);
        emit(&t, v, 0, size[v]);
        size[v] = churn_size(w, r);
        emit(&t, v, size[v], 0);
    }
    for (uint32_t s = 0; s < n; s++)
        perm[s] = s;
    shuffle(perm, n, r);
    for (uint32_t s = 0; s < n; s++)
        emit(&t, perm[s], 0, size[perm[s]]);
    xunmap(size, n * sizeof *size);
    xunmap(perm, n * sizeof *perm);
}

/* n buffers, each born at lo bytes and doubled by realloc up to a cap drawn
 * from lo*16 .. hi (a power of two), then freed and born again; each step
 * acts on a random buffer; at the end every live buffer is freed */
static void gen_grow(struct workload *w, struct rng *r, uint32_t steps)
{
    uint32_t n = w->n;
    uint32_t *size = xmap(n * sizeof *size), *cap = xmap(n * sizeof *cap);
    struct tracegen t = { w, (size_t)steps + n, 0 };
    w->ops = xmap(t.cap * sizeof *w->ops);
    uint32_t lg_lo = (uint32_t)__builtin_ctz(w->lo) + 4, lg_hi = (uint32_t)__builtin_ctz(w->hi);
    for (uint32_t i = 0; i < steps; i++) {
        uint32_t v = rng_range(r, 0, n - 1);
        if (size[v] == 0) {                              /* born */
            cap[v] = 1u << rng_range(r, lg_lo, lg_hi);
            size[v] = w->lo;
            emit(&t, v, size[v], 0);
        } else if (size[v] < cap[v]) {                   /* grows */
            emit(&t, v, size[v] * 2, size[v]);
            size[v] *= 2;
        } else {                                         /* dies */
            emit(&t, v, 0, size[v]);
            size[v] = 0;
        }
    }
    for (uint32_t v = 0; v < n; v++)
        if (size[v])
            emit(&t, v, 0, size[v]);
    xunmap(size, n * sizeof *size);
    xunmap(cap, n * sizeof *cap);
}

/* Generates a row's stream (deterministic: seeded from the row's id). */
static void prepare(struct workload *w)
{
    struct rng r = rng_for(w->id);
    switch (w->kind) {
    case K_PAIR:
        w->ops_per_round = 2 * PAIR_ROUND;
        break;
    case K_BATCH:
        w->sizes = xmap(w->n * sizeof *w->sizes);
        w->order_idx = xmap(w->n * sizeof *w->order_idx);
        w->ptrs = xmap(w->n * sizeof *w->ptrs);
        for (uint32_t i = 0; i < w->n; i++) {
            w->sizes[i] = rng_range(&r, w->lo, w->hi);
            w->order_idx[i] = i;
        }
        if (w->order == O_RANDOM)
            shuffle(w->order_idx, w->n, &r);
        if (w->aged) {
            w->aging_idx = xmap(w->n * sizeof *w->aging_idx);
            for (uint32_t i = 0; i < w->n; i++)
                w->aging_idx[i] = i;
            shuffle(w->aging_idx, w->n, &r);
        }
        w->ops_per_round = 2 * (uint64_t)w->n;
        break;
    case K_TRACE:
        if (w->gen == G_CHURN)
            gen_churn(w, &r, w->steps);
        else
            gen_grow(w, &r, w->steps);
        w->live = xmap(w->n * sizeof *w->live);
        w->ops_per_round = w->nops;
        break;
    }
}

static void release(struct workload *w)
{
    if (w->kind == K_BATCH) {
        xunmap(w->sizes, w->n * sizeof *w->sizes);
        xunmap(w->order_idx, w->n * sizeof *w->order_idx);
        xunmap(w->ptrs, w->n * sizeof *w->ptrs);
        if (w->aging_idx)
            xunmap(w->aging_idx, w->n * sizeof *w->aging_idx);
    } else if (w->kind == K_TRACE) {
        xunmap(w->ops, w->nops * sizeof *w->ops);     /* the mapping was rounded to pages anyway */
        xunmap(w->live, w->n * sizeof *w->live);
    }
    w->sizes = w->order_idx = w->aging_idx = NULL; w->ptrs = NULL; w->ops = NULL; w->live = NULL;
    w->nops = 0; w->peak_live = 0;
}

/* Rounds of a row that make up one measured run in the current mode. */
static uint64_t rounds_for(const struct workload *w)
{
    if (w->kind == K_TRACE)
        return 1;                                     /* a trace is long by itself */
    uint64_t r = mode->budget / w->budget_div / w->ops_per_round / (w->threads > 1 ? w->threads : 1);
    return r ? r : 1;
}

/* ======================================================================== */
/* kernels: the only code that runs while the clock runs                    */
/* ======================================================================== */

/* Every block is touched: first byte, last byte, and one byte in every page
 * in between; the same bytes are checked when it is freed. */
static inline void touch(unsigned char *p, size_t n, unsigned char tag)
{
    for (size_t off = PAGE; off < n; off += PAGE)
        p[off] = tag;
    p[0] = tag;
    p[n - 1] = tag;
}

static inline int intact(const unsigned char *p, size_t n, unsigned char tag)
{
    if (p[0] != tag || p[n - 1] != tag)
        return 0;
    for (size_t off = PAGE; off < n; off += PAGE)
        if (p[off] != tag)
            return 0;
    return 1;
}

/* After realloc from `old` to `size` bytes, the touched bytes below
 * min(old, size) must have moved with the block: the first byte, the page
 * bytes, and the old last byte when the block grew. */
static inline int kept_by_realloc(const unsigned char *p, size_t old, size_t size, unsigned char tag)
{
    size_t kept = size < old ? size : old;
    if (p[0] != tag || (size >= old && p[old - 1] != tag))
        return 0;
    for (size_t off = PAGE; off < kept; off += PAGE)
        if (p[off] != tag)
            return 0;
    return 1;
}

/* the block is "used" between malloc and free: the compiler may not assume
 * that the bytes it wrote are still there */
#define USE(p) __asm__ volatile("" : : "r"(p) : "memory")

static _Noreturn __attribute__((cold, noinline))
void fail_null(const struct allocator *a, const struct workload *w, size_t size, uint64_t at)
{
    die("%s returned NULL for %zu bytes (workload %s, operation %" PRIu64 ")", a->name, size, w->id, at);
}

static _Noreturn __attribute__((cold, noinline))
void fail_corrupt(const struct allocator *a, const struct workload *w, const unsigned char *p,
                  size_t n, unsigned char tag, uint64_t at)
{
    size_t bad = n - 1;                          /* the first checked byte that differs */
    if (p[0] != tag)
        bad = 0;
    else
        for (size_t off = PAGE; off < n; off += PAGE)
            if (p[off] != tag) {
                bad = off;
                break;
            }
    die("%s: block %p of %zu bytes changed while it was live (workload %s, operation %" PRIu64
        "): byte %zu is 0x%02x, expected 0x%02x", a->name, (const void *)p, n, w->id, at, bad,
        p[bad], tag);
}

/* TWO_WAYS(ret, name, (params), args...): from name_body(args..., by_heap),
 * an always_inline kernel body, makes name_plain and name_heap (each compiled
 * with by_heap a constant) and name, which calls the one for the allocator */
#define TWO_WAYS(ret, name, params, ...)                                                          \
    static __attribute__((noinline)) ret name##_plain params { return name##_body(__VA_ARGS__, 0); } \
    static __attribute__((noinline)) ret name##_heap params { return name##_body(__VA_ARGS__, 1); }  \
    static ret name params                                                                        \
    {                                                                                             \
        return a->calls.heap != NULL ? name##_heap(__VA_ARGS__) : name##_plain(__VA_ARGS__);       \
    }

/* the pair loop; `n` is a constant where it is inlined with one, so the
 * loop carries no size and no page loop */
static inline __attribute__((always_inline))
uint64_t pair_loop(const struct allocator *a, const struct workload *w, uint64_t pairs, const size_t n,
                   const int by_heap)
{
    const struct calls c = a->calls;
    for (uint64_t i = 0; i < pairs; i++) {
        const unsigned char tag = (unsigned char)i;
        unsigned char *p = call_malloc(&c, by_heap, n);
        if (__builtin_expect(p == NULL, 0))
            fail_null(a, w, n, 2 * i);
        touch(p, n, tag);
        USE(p);
        if (__builtin_expect(!intact(p, n, tag), 0))
            fail_corrupt(a, w, p, n, tag, 2 * i + 1);
        call_free(&c, by_heap, p);
    }
    return pairs;
}

static inline __attribute__((always_inline))
uint64_t pair_loop_fixed_body(const struct allocator *a, const struct workload *w, uint64_t pairs,
                              const int by_heap)
{
    return pair_loop(a, w, pairs, PAIR_SIZE, by_heap);
}
TWO_WAYS(uint64_t, pair_loop_fixed, (const struct allocator *a, const struct workload *w, uint64_t pairs),
         a, w, pairs)

static inline __attribute__((always_inline))
uint64_t pair_loop_any_body(const struct allocator *a, const struct workload *w, uint64_t pairs, size_t n,
                            const int by_heap)
{
    return pair_loop(a, w, pairs, n, by_heap);
}
TWO_WAYS(uint64_t, pair_loop_any, (const struct allocator *a, const struct workload *w, uint64_t pairs,
                                   size_t n), a, w, pairs, n)

/* malloc(n)+free, `rounds` x PAIR_ROUND times, with one other block of n
 * bytes live throughout when the row says so; returns operations done */
static __attribute__((noinline))
uint64_t kernel_pair(const struct allocator *a, const struct workload *w, uint64_t rounds)
{
    const size_t n = w->lo;
    const uint64_t pairs = rounds * PAIR_ROUND;
    unsigned char *kept = NULL;

    const int by_heap = a->calls.heap != NULL;
    if (w->keep) {
        kept = call_malloc(&a->calls, by_heap, n);
        if (kept == NULL)
            fail_null(a, w, n, 0);
        touch(kept, n, 0xA5);
    }
    if (n == PAIR_SIZE)
        pair_loop_fixed(a, w, pairs);
    else
        pair_loop_any(a, w, pairs, n);
    if (kept != NULL) {
        if (!intact(kept, n, 0xA5))
            fail_corrupt(a, w, kept, n, 0xA5, 2 * pairs);
        call_free(&a->calls, by_heap, kept);
    }
    return 2 * pairs + (kept ? 2 : 0);
}

/* n blocks of the row's sizes, then freed in the row's order, `rounds` times */
static inline __attribute__((always_inline))
uint64_t kernel_batch_body(const struct allocator *a, const struct workload *w, uint64_t rounds,
                           const int by_heap)
{
    const struct calls c = a->calls;
    const uint32_t n = w->n, *size = w->sizes, *order = w->order_idx;
    unsigned char **ptr = (unsigned char **)w->ptrs;

    for (uint64_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < n; i++) {
            unsigned char *p = call_malloc(&c, by_heap, size[i]);
            if (__builtin_expect(p == NULL, 0))
                fail_null(a, w, size[i], r * 2 * n + i);
            touch(p, size[i], (unsigned char)(i + r));
            ptr[i] = p;
        }
        for (uint32_t j = 0; j < n; j++) {
            const uint32_t i = order[j];
            unsigned char *p = ptr[i];
            if (__builtin_expect(!intact(p, size[i], (unsigned char)(i + r)), 0))
                fail_corrupt(a, w, p, size[i], (unsigned char)(i + r), r * 2 * n + n + j);
            call_free(&c, by_heap, p);
        }
    }
    return rounds * 2 * n;
}
TWO_WAYS(uint64_t, kernel_batch, (const struct allocator *a, const struct workload *w, uint64_t rounds),
         a, w, rounds)

/* operations [from, to) of the row's trace; `round` varies the tags */
static inline __attribute__((always_inline))
uint64_t kernel_trace_body(const struct allocator *a, const struct workload *w, size_t from, size_t to,
                           uint64_t round, const int by_heap)
{
    const struct calls c = a->calls;
    const int by_realloc = w->realloc_alloc;
    const struct op *ops = w->ops;
    struct live *live = w->live;

    for (size_t k = from; k < to; k++) {
        struct live *s = &live[ops[k].slot];
        const uint32_t size = ops[k].size;
        const unsigned char tag = (unsigned char)(k + round * 0x55);
        if (size == 0) {                                          /* free */
            if (__builtin_expect(!intact(s->p, s->size, s->tag), 0))
                fail_corrupt(a, w, s->p, s->size, s->tag, k);
            call_free(&c, by_heap, s->p);
            s->p = NULL;
            continue;
        }
        unsigned char *p;
        if (s->p == NULL) {                                       /* allocate */
            p = by_realloc ? call_realloc(&c, by_heap, NULL, size) : call_malloc(&c, by_heap, size);
            if (__builtin_expect(p == NULL, 0))
                fail_null(a, w, size, k);
        } else {                                                  /* resize: contents kept */
            const unsigned char old_tag = s->tag;
            const uint32_t old = s->size;
            if (__builtin_expect(!intact(s->p, old, old_tag), 0))
                fail_corrupt(a, w, s->p, old, old_tag, k);
            p = call_realloc(&c, by_heap, s->p, size);
            if (__builtin_expect(p == NULL, 0))
                fail_null(a, w, size, k);
            if (__builtin_expect(!kept_by_realloc(p, old, size, old_tag), 0))
                fail_corrupt(a, w, p, size < old ? size : old, old_tag, k);
        }
        touch(p, size, tag);
        s->p = p;
        s->size = size;
        s->tag = tag;
    }
    return to - from;
}
TWO_WAYS(uint64_t, kernel_trace, (const struct allocator *a, const struct workload *w, size_t from,
                                  size_t to, uint64_t round), a, w, from, to, round)

static uint64_t run_threads(const struct allocator *a, const struct workload *w, uint64_t rounds);

/* One run of a row (`rounds` on each of its threads): returns the operations done. */
static uint64_t run_row(const struct allocator *a, const struct workload *w, uint64_t rounds)
{
    if (w->threads > 1)
        return run_threads(a, w, rounds);
    switch (w->kind) {
    case K_PAIR:  return kernel_pair(a, w, rounds);
    case K_BATCH: return kernel_batch(a, w, rounds);
    case K_TRACE: {
        uint64_t ops = 0;
        for (uint64_t r = 0; r < rounds; r++)
            ops += kernel_trace(a, w, 0, w->nops, r);
        return ops;
    }
    }
    return 0;
}

/* ---- rows run by several threads at once ----------------------------------- */

/* A pool of threads, started at the first such row and kept for the
 * process (a row runs in processes of its own: measure_threads), so that
 * every run after the warm-up finds each thread's caches as the last run
 * left them.  Thread 0 is the caller. */
#define MAX_THREADS 8
struct worker {
    pthread_t tid;
    struct allocator a;          /* the row's allocator; Glimmer's owned heap: this thread's own */
    struct workload w;           /* the row, run on this thread: a pointer table of its own */
    uint64_t rounds, ops;
};
static struct worker workers[MAX_THREADS];
static gl_heap *thread_heaps[MAX_THREADS];    /* Glimmer's owned heap: one per thread */
static int pool_threads;                      /* threads of the pool, the caller included */
static pthread_barrier_t pool_start, pool_done;

static void *worker_main(void *arg)
{
    struct worker *me = arg;
    for (;;) {
        pthread_barrier_wait(&pool_start);
        me->ops = run_row(&me->a, &me->w, me->rounds);
        pthread_barrier_wait(&pool_done);
    }
    return NULL;
}

static void start_pool(int threads)
{
    if (pool_threads == threads)
        return;
    if (pool_threads != 0 || threads > MAX_THREADS)
        die("a pool of %d threads asked for, with %d running (at most %d)", threads, pool_threads,
            MAX_THREADS);
    if (pthread_barrier_init(&pool_start, NULL, (unsigned)threads) != 0 ||
        pthread_barrier_init(&pool_done, NULL, (unsigned)threads) != 0)
        die("pthread_barrier_init failed");
    for (int t = 1; t < threads; t++) {
        int rc = pthread_create(&workers[t].tid, NULL, worker_main, &workers[t]);
        if (rc != 0)
            die("pthread_create: %s", strerror(rc));
    }
    pool_threads = threads;
}

/* `rounds` of the row's kernel on each of w->threads threads at once */
static uint64_t run_threads(const struct allocator *a, const struct workload *w, uint64_t rounds)
{
    const int n = (int)w->threads;
    start_pool(n);
    for (int t = 0; t < n; t++) {
        struct worker *k = &workers[t];
        if (strcmp(k->w.id, w->id) != 0) {
            if (k->w.ptrs != NULL)
                xunmap(k->w.ptrs, k->w.n * sizeof *k->w.ptrs);
            k->w = *w;
            k->w.threads = 0;
            k->w.ptrs = w->kind == K_BATCH ? xmap(w->n * sizeof *w->ptrs) : NULL;
        }
        k->a = *a;
        if (a->calls.heap != NULL) {
            if (thread_heaps[t] == NULL)
                thread_heaps[t] = create_owned_heap(1);
            k->a.calls.heap = thread_heaps[t];
        }
        k->rounds = rounds;
    }
    pthread_barrier_wait(&pool_start);
    workers[0].ops = run_row(&workers[0].a, &workers[0].w, rounds);
    pthread_barrier_wait(&pool_done);
    uint64_t ops = 0;
    for (int t = 0; t < n; t++)
        ops += workers[t].ops;
    return ops;
}

/* An aged row's heap first serves AGING_ROUNDS rounds of the row's blocks
 * freed in a random order; the row's own rounds then run on what that left.
 * Untimed, before the warm-up. */
#define AGING_ROUNDS 3
static void age(const struct allocator *a, struct workload *w)
{
    if (!w->aged)
        return;
    uint32_t *order = w->order_idx;
    w->order_idx = w->aging_idx;
    run_row(a, w, AGING_ROUNDS);
    w->order_idx = order;
}

/* ======================================================================== */
/* verification between runs (never timed)                                  */
/* ======================================================================== */

/* A Glimmer heap must have counted no error and hold no block after a run
 * (kernels free everything); with full = 1 the heap is checked too. */
static void verify_heap(const struct allocator *a, gl_heap *h, const struct workload *w, int full)
{
    gl_stats st;
    gl_heap_stats(h, &st);
    for (int k = 1; k < GL_ERROR_KINDS; k++)
        if (st.errors[k])
            die("%s: the heap counted %" PRIu64 " error(s) of status %d during %s", a->name,
                st.errors[k], -k, w->id);
    if (st.live_blocks != 0)
        die("%s: %" PRIu64 " block(s) still live after %s freed everything", a->name, st.live_blocks, w->id);
    if (full) {
        gl_check_report rep;
        int rc = gl_heap_check(h, &rep);
        if (rc != GL_CHECK_OK)
            die("%s: gl_heap_check after %s: code %" PRIu64 " at 0x%" PRIx64 " (found 0x%" PRIx64 ")",
                a->name, w->id, rep.code, rep.address, rep.detail);
    }
}

/* The allocator's heap; and for the owned heap, each thread's of a row of
 * several threads. */
static void verify(const struct allocator *a, const struct workload *w, int full)
{
    if (a->glimmer == NULL)
        return;
    verify_heap(a, a->glimmer(), w, full);
    if (a->glimmer == owned_heap_of)
        for (int t = 0; t < MAX_THREADS; t++)
            if (thread_heaps[t] != NULL)
                verify_heap(a, thread_heaps[t], w, full);
}

/* ======================================================================== */
/* measurement                                                              */
/* ======================================================================== */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Mops/s of one run */
static double timed_run(const struct allocator *a, const struct workload *w, uint64_t rounds)
{
    uint64_t t0 = now_ns();
    uint64_t ops = run_row(a, w, rounds);
    uint64_t t1 = now_ns();
    return (double)ops * 1e3 / (double)(t1 - t0 ? t1 - t0 : 1);
}

struct result {
    const struct workload *w;
    const struct allocator *a;
    const char *section;         /* "steady" or "cold" */
    double median, min, max;
    int runs;
    uint64_t ops;                /* operations per run */
    double run[MAX_REPS];        /* Mops/s of each run, in the order of the rounds: run[i] of every
                                    allocator of a row comes from the same round of turns */
};

#define MAX_RESULTS (2 * MAX_ROWS * A_COUNT)
static struct result results[MAX_RESULTS];
static int nresults;

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void add_result(const char *section, const struct workload *w, const struct allocator *a,
                       double *mops, int n, uint64_t ops)
{
    if (nresults == MAX_RESULTS)
        die("too many results");
    struct result *r = &results[nresults++];
    *r = (struct result){ w, a, section, 0, 0, 0, n, ops, { 0 } };
    memcpy(r->run, mops, (size_t)n * sizeof *mops);
    qsort(mops, (size_t)n, sizeof *mops, cmp_double);
    r->median = n % 2 ? mops[n / 2] : (mops[n / 2 - 1] + mops[n / 2]) / 2;
    r->min = mops[0];
    r->max = mops[n - 1];
}

/* The rounds in which a ran faster than b: the allocators of a row take
 * turns round by round, so each round compares runs made close together in
 * time, which a shared machine's slow minutes hit alike. */
static int rounds_ahead(const struct result *a, const struct result *b)
{
    int ahead = 0;
    for (int i = 0; i < a->runs && i < b->runs; i++)
        ahead += a->run[i] > b->run[i];
    return ahead;
}

static struct allocator *avail[A_COUNT];
static int navail;

/* Steady state: every allocator warms up on the row, then `reps` runs each,
 * interleaved (the starting allocator rotates), median kept. */
static void measure_steady(struct workload *w)
{
    double mops[A_COUNT][MAX_REPS];
    uint64_t rounds = rounds_for(w);

    for (int k = 0; k < navail; k++) {                /* warm-up: one untimed run */
        age(avail[k], w);
        run_row(avail[k], w, rounds > 4 ? rounds / 4 : 1);
        verify(avail[k], w, 0);
    }
    for (int rep = 0; rep < mode->reps; rep++)
        for (int j = 0; j < navail; j++) {
            int k = (j + rep) % navail;
            mops[k][rep] = timed_run(avail[k], w, rounds);
            verify(avail[k], w, 0);
        }
    for (int k = 0; k < navail; k++) {
        verify(avail[k], w, 1);
        add_result("steady", w, avail[k], mops[k], mode->reps, rounds * w->ops_per_round
                   + (w->keep ? 2 : 0));
    }
}

/* ---- child processes: cold runs and footprint ----------------------------- */

static char self_exe[4096];

/* Runs this driver with `args`, returns its stdout (one line) in out. */
static void run_child(char *const args[], char *out, size_t outlen)
{
    int fd[2];
    if (pipe(fd) != 0)
        die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fd[0]);
        if (dup2(fd[1], 1) < 0)
            _exit(127);
        close(fd[1]);
        execv(self_exe, args);
        fprintf(stderr, "%s: exec %s: %s\n", progname, self_exe, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t got;
    while ((got = read(fd[0], out + len, outlen - 1 - len)) > 0 && len + (size_t)got < outlen - 1)
        len += (size_t)got;
    if (got > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(fd[0]);
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFSIGNALED(status))
            die("child run (%s %s %s) died of signal %d (%s)", args[2], args[3], args[4],
                WTERMSIG(status), strsignal(WTERMSIG(status)));
        die("child run (%s %s %s) failed (exit status %d; its message is above)", args[2], args[3],
            args[4], WEXITSTATUS(status));
    }
}

static char seed_arg[32];

/* `reps` runs of the row per allocator, each one a fresh process running
 * `--child KIND` (the allocators taking turns, as in the steady state); the
 * medians go to `section` with `ops` operations per run. */
static void measure_in_children(struct workload *w, const char *kind, const char *section, int reps,
                                uint64_t ops)
{
    double mops[A_COUNT][MAX_REPS];
    char line[256];
    for (int rep = 0; rep < reps; rep++)
        for (int j = 0; j < navail; j++) {
            int k = (j + rep) % navail;
            char *args[] = { self_exe, "--child", (char *)kind, w->id, (char *)avail[k]->name,
                             "--mode", (char *)mode->name, "--seed", seed_arg, NULL };
            run_child(args, line, sizeof line);
            if (sscanf(line, "%lf", &mops[k][rep]) != 1)
                die("%s run of %s on %s printed \"%s\"", kind, w->id, avail[k]->name, line);
        }
    for (int k = 0; k < navail; k++)
        add_result(section, w, avail[k], mops[k], reps, ops);
}

/* Cold: each run in a fresh process, so the allocator's memory is first
 * touched by the run itself (library loaded and initialised before). */
static void measure_cold(struct workload *w)
{
    measure_in_children(w, "cold", "cold", mode->cold_reps, w->ops_per_round);
}

/* A row of several threads: each run in a fresh process, which warms the
 * row up on every thread first (child_threads), so that no row after it
 * meets a heap its threads shared and no thread outlives its row. */
static void measure_threads(struct workload *w)
{
    measure_in_children(w, "threads", "steady", mode->reps, w->threads * rounds_for(w) * w->ops_per_round);
}

static void child_threads(struct workload *w, struct allocator *a)
{
    prepare(w);
    warm_allocator(a);
    uint64_t rounds = rounds_for(w);
    run_row(a, w, rounds > 4 ? rounds / 4 : 1);                /* warm-up, on every thread */
    verify(a, w, 0);
    double mops = timed_run(a, w, rounds);
    verify(a, w, 1);
    printf("%.6f\n", mops);
}

static void child_cold(struct workload *w, struct allocator *a)
{
    prepare(w);
    warm_allocator(a);
    double mops = timed_run(a, w, 1);
    verify(a, w, 1);
    printf("%.6f\n", mops);
}

/* resident set size, bytes */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, resident;
    if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2)
        die("cannot read /proc/self/statm");
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Glimmer's heap between two chunks of the trace (from gl_heap_stats and a walk) */
struct heap_snapshot {
    uint64_t segments, live_bytes, free_bytes, free_blocks, largest_free, cached_bytes;
};

struct footprint {
    const struct allocator *a;
    uint64_t peak_live, rss_peak, rss_end, mapped_peak;
    struct heap_snapshot before_growth;        /* Glimmer: just before it mapped its last segment */
};

static struct heap_snapshot snapshot(gl_heap *h)
{
    gl_stats st;
    gl_heap_stats(h, &st);
    struct heap_snapshot s = { .segments = st.segments, .live_bytes = st.live_bytes };
    gl_block_info b;
    memset(&b, 0, sizeof b);
    while (gl_heap_walk(h, &b) == 1) {
        if (b.state == GL_BLOCK_FREE) {
            s.free_bytes += b.size;
            s.free_blocks++;
            if (b.size > s.largest_free)
                s.largest_free = b.size;
        } else if (b.state == GL_BLOCK_CACHED) {
            s.cached_bytes += b.size;
        }
    }
    return s;
}
static struct footprint footprints[A_COUNT];
static int nfootprints;

/* Footprint of the churn row: the trace runs once in a fresh process; the
 * RSS above the process's RSS before the first allocation is sampled every
 * 1,000 operations; Glimmer also reports the bytes it has mapped, and its
 * heap as it was just before it mapped its last segment (what did not fit). */
static void child_footprint(struct workload *w, struct allocator *a)
{
    prepare(w);
    warm_allocator(a);
    uint64_t base = rss_bytes(), peak = 0, before_drain = 0;
    struct heap_snapshot last = { 0 }, before_growth = { 0 };
    size_t drain_at = w->nops - w->n;                /* the trace ends by freeing all n slots */
    for (size_t k = 0; k < w->nops; ) {
        size_t to = k + 1000 < w->nops ? k + 1000 : w->nops;
        if (k < drain_at && to > drain_at)
            to = drain_at;
        kernel_trace(a, w, k, to, 0);
        k = to;
        uint64_t rss = rss_bytes();
        rss = rss > base ? rss - base : 0;
        if (rss > peak)
            peak = rss;
        if (k == drain_at)
            before_drain = rss;
        if (a->glimmer) {
            struct heap_snapshot now = snapshot(a->glimmer());
            if (now.segments > last.segments && last.segments > 0)
                before_growth = last;
            last = now;
        }
    }
    uint64_t mapped = 0;
    if (a->glimmer) {
        gl_stats st;
        gl_heap_stats(a->glimmer(), &st);
        mapped = st.peak_footprint;
    }
    verify(a, w, 1);
    const struct heap_snapshot *g = &before_growth;
    printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
           " %" PRIu64 " %" PRIu64 "\n", w->peak_live, peak, before_drain, mapped, g->segments, g->live_bytes,
           g->free_bytes, g->free_blocks, g->largest_free, g->cached_bytes);
}

static void measure_footprint(struct workload *w)
{
    char line[256];
    for (int k = 0; k < navail; k++) {
        char *args[] = { self_exe, "--child", "footprint", w->id, (char *)avail[k]->name,
                         "--mode", (char *)mode->name, "--seed", seed_arg, NULL };
        run_child(args, line, sizeof line);
        struct footprint *fp = &footprints[nfootprints++];
        fp->a = avail[k];
        struct heap_snapshot *g = &fp->before_growth;
        if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %" SCNu64 " %" SCNu64, &fp->peak_live, &fp->rss_peak, &fp->rss_end,
                   &fp->mapped_peak, &g->segments, &g->live_bytes, &g->free_bytes, &g->free_blocks,
                   &g->largest_free, &g->cached_bytes) != 10)
            die("footprint run on %s printed \"%s\"", avail[k]->name, line);
    }
}

/* ======================================================================== */
/* output                                                                   */
/* ======================================================================== */

static FILE *open_out(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("cannot write %s: %s", path, strerror(errno));
    return f;
}

static void close_out(FILE *f, const char *file)
{
    if (ferror(f) || fclose(f) != 0)
        die("writing %s failed", file);
}

static void write_csv(const char *dir, const char *started)
{
    FILE *f = open_out(dir, "native.csv");
    fprintf(f, "section,row,family,label,n,order,allocator,mops_median,mops_min,mops_max,runs,ops_per_run,"
               "mops_runs\n");
    for (int i = 0; i < nresults; i++) {
        const struct result *r = &results[i];
        fprintf(f, "%s,%s,%s,\"%s\",%u,%s,%s,%.3f,%.3f,%.3f,%d,%" PRIu64 ",", r->section, r->w->id,
                r->w->family, r->w->label, r->w->n,
                r->w->kind == K_BATCH ? (r->w->order == O_FIFO ? "fifo" : "random") : "",
                r->a->name, r->median, r->min, r->max, r->runs, r->ops);
        for (int k = 0; k < r->runs; k++)          /* in round order; ';' keeps it one CSV field */
            fprintf(f, "%s%.3f", k ? ";" : "", r->run[k]);
        fputc('\n', f);
    }
    close_out(f, "native.csv");

    f = open_out(dir, "footprint.csv");
    fprintf(f, "allocator,peak_live_bytes,rss_peak_bytes,rss_before_drain_bytes,glimmer_mapped_peak_bytes,"
               "glimmer_segments_before_growth,glimmer_live_before_growth,glimmer_free_before_growth,"
               "glimmer_free_blocks_before_growth,glimmer_largest_free_before_growth,"
               "glimmer_cached_before_growth\n");
    for (int i = 0; i < nfootprints; i++) {
        const struct footprint *fp = &footprints[i];
        const struct heap_snapshot *g = &fp->before_growth;
        fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", fp->a->name, fp->peak_live, fp->rss_peak, fp->rss_end,
                fp->mapped_peak, g->segments, g->live_bytes, g->free_bytes, g->free_blocks, g->largest_free,
                g->cached_bytes);
    }
    close_out(f, "footprint.csv");

    f = open_out(dir, "native-meta.csv");
    fprintf(f, "key,value\nstarted,%s\nmode,%s\nseed,%s\nreps,%d\ncold_reps,%d\nbudget_ops,%" PRIu64
            "\nchurn_steps,%u\n", started, mode->name, seed_arg, mode->reps, mode->cold_reps,
            mode->budget, mode->churn_steps);
    for (int i = 0; i < A_COUNT; i++)
        fprintf(f, "allocator.%s,%s\n", allocators[i].name,
                allocators[i].available ? "measured" : "skipped");
    close_out(f, "native-meta.csv");
}

static const struct result *find_result(const char *section, const struct workload *w,
                                        const struct allocator *a)
{
    for (int i = 0; i < nresults; i++)
        if (results[i].w == w && results[i].a == a && strcmp(results[i].section, section) == 0)
            return &results[i];
    return NULL;
}

/* One line per row: median Mops/s per allocator (* = fastest of all), the best
 * peer, Glimmer's owned heap against it, and the rounds in which Glimmer ran
 * faster than that peer. */
static void print_table(const char *section, const char *title)
{
    int any = 0;
    for (int i = 0; i < nresults; i++)
        any |= strcmp(results[i].section, section) == 0;
    if (!any)
        return;
    printf("\n%s (Mops/s, median of %d; ops = mallocs + frees + reallocs; * = fastest)\n", title,
           strcmp(section, "cold") == 0 ? mode->cold_reps : mode->reps);
    printf("%-56s", "workload");
    for (int k = 0; k < navail; k++)
        printf(" %10s", strcmp(avail[k]->name, "glimmer-default") == 0 ? "gl-default" : avail[k]->name);
    printf("  %-9s %8s %7s\n", "best peer", "gl/best", "ahead");
    for (int i = 0; i < nrows; i++) {
        const struct workload *w = &rows[i];
        const struct result *best = NULL, *best_peer = NULL, *gl = NULL;
        for (int k = 0; k < navail; k++) {
            const struct result *r = find_result(section, w, avail[k]);
            if (r == NULL)
                continue;
            if (best == NULL || r->median > best->median)
                best = r;
            if (is_peer(avail[k]) && (best_peer == NULL || r->median > best_peer->median))
                best_peer = r;
            if (avail[k] == &allocators[A_GLIMMER])
                gl = r;
        }
        if (best == NULL)
            continue;
        printf("%-56s", w->label);
        for (int k = 0; k < navail; k++) {
            const struct result *r = find_result(section, w, avail[k]);
            /* three significant digits for the slow rows (1..64 KiB cold runs are below 1) */
            printf(" %9.*f%c", r->median >= 10 ? 1 : r->median >= 1 ? 2 : 3, r->median, r == best ? '*' : ' ');
        }
        if (best_peer && gl)
            printf("  %-9s %8.2f %4d/%-2d\n", best_peer->a->name, gl->median / best_peer->median,
                   rounds_ahead(gl, best_peer), gl->runs);
        else
            printf("\n");
    }
}

static void print_footprint(void)
{
    if (nfootprints == 0)
        return;
    printf("\nchurn footprint (fresh process each; RSS above the process's RSS before the first"
           " allocation, sampled every 1,000 ops; peak live = the driver's sum of requested bytes)\n");
    printf("%-16s %14s %14s %10s %16s %10s\n", "allocator", "peak live B", "peak RSS B", "RSS/live",
           "mapped (gl) B", "map/live");
    for (int i = 0; i < nfootprints; i++) {
        const struct footprint *f = &footprints[i];
        printf("%-16s %14" PRIu64 " %14" PRIu64 " %10.3f", f->a->name, f->peak_live, f->rss_peak,
               (double)f->rss_peak / (double)f->peak_live);
        if (f->mapped_peak)
            printf(" %16" PRIu64 " %10.3f\n", f->mapped_peak, (double)f->mapped_peak / (double)f->peak_live);
        else
            printf(" %16s %10s\n", "-", "-");
    }
}

/* ======================================================================== */
/* main                                                                     */
/* ======================================================================== */

/* jemalloc needs the static-TLS tunable, which ld.so reads at start-up only:
 * re-execute once with it added */
static void ensure_tls_tunable(char **argv)
{
    const char *cur = getenv("GLIBC_TUNABLES");
    if (cur && strstr(cur, "optional_static_tls"))
        return;
    char value[1024];
    snprintf(value, sizeof value, "%s%s%s", cur ? cur : "", cur && *cur ? ":" : "", TLS_TUNABLE);
    if (setenv("GLIBC_TUNABLES", value, 1) != 0)
        return;
    execv(self_exe, argv);
    fprintf(stderr, "%s: note: could not re-execute with GLIBC_TUNABLES (%s); jemalloc may be skipped\n",
            progname, strerror(errno));
}

static void usage(void)
{
    fprintf(stderr,
            "usage: driver [--mode smoke|quick|bench] [--out DIR] [--only ROW,...] [--seed N]\n"
            "       driver --pairs ALLOC N [keep] | --row ROW ALLOC ROUNDS | --list | --rows | --peers\n");
    exit(2);
}

static int row_selected(const char *only, const char *id)
{
    return only == NULL || listed(only, id);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *only = NULL;
    ssize_t len = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (len <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self_exe[len] = '\0';
    progname = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

    /* options that may come with any command */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            mode = NULL;
            for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
                if (strcmp(modes[k].name, m) == 0)
                    mode = &modes[k];
            if (mode == NULL)
                die("--mode %s: expected smoke, quick or bench", m);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            global_seed = strtoull(argv[++i], NULL, 0);
        }
    }
    snprintf(seed_arg, sizeof seed_arg, "%" PRIu64, global_seed);
    define_rows();

    if (argc >= 2 && strcmp(argv[1], "--rows") == 0) {
        for (int i = 0; i < nrows; i++)
            printf("%-20s %s%s\n", rows[i].id, rows[i].label, rows[i].cold ? "  (also cold)" : "");
        return 0;
    }
    /* --pairs and --row run under valgrind, where a re-executed process would
     * escape the instrumentation: whoever runs them sets GLIBC_TUNABLES */
    if (argc < 2 || (strcmp(argv[1], "--pairs") != 0 && strcmp(argv[1], "--row") != 0))
        ensure_tls_tunable(argv);

    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        if (argc < 5)
            usage();
        open_allocators(1, argv[4]);
        struct workload *w = find_row(argv[3]);
        struct allocator *a = find_allocator(argv[4]);
        if (strcmp(argv[2], "cold") == 0)
            child_cold(w, a);
        else if (strcmp(argv[2], "footprint") == 0)
            child_footprint(w, a);
        else if (strcmp(argv[2], "threads") == 0)
            child_threads(w, a);
        else
            usage();
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
        open_allocators(1, NULL);
        for (int i = 0; i < A_COUNT; i++)
            if (allocators[i].available)
                printf("%s\n", allocators[i].name);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--peers") == 0) {
        open_allocators(1, NULL);
        char missing[128] = "";
        for (int i = A_JEMALLOC; i <= A_TCMALLOC; i++) {
            printf("%-9s %-26s %s\n", allocators[i].name, allocators[i].soname,
                   allocators[i].available ? "installed" : allocators[i].why);
            if (!allocators[i].available)
                snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s",
                         allocators[i].package);
        }
        if (missing[0])
            printf("to add the missing peers:  apt-get install -y%s\n", missing);
        else
            printf("all peers are installed\n");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--row") == 0) {
        if (argc < 5)
            usage();
        open_allocators(1, argv[3]);
        struct workload *w = find_row(argv[2]);
        struct allocator *a = find_allocator(argv[3]);
        prepare(w);
        age(a, w);
        run_row(a, w, 1);                                      /* warm-up: one round */
        verify(a, w, 0);
        run_row(a, w, strtoull(argv[4], NULL, 0));
        verify(a, w, 0);
        printf("%" PRIu64 "\n", w->ops_per_round);             /* operations per round */
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--pairs") == 0) {
        if (argc < 4)
            usage();
        open_allocators(1, argv[2]);
        struct allocator *a = find_allocator(argv[2]);
        struct workload *w = find_row(argc >= 5 && strcmp(argv[4], "keep") == 0 ? "pair-keep" : "pair");
        prepare(w);
        kernel_pair(a, w, 1);                                  /* warm-up: 1,000 pairs */
        uint64_t n = strtoull(argv[3], NULL, 0);
        if (n % PAIR_ROUND)
            die("--pairs: N must be a multiple of %u", PAIR_ROUND);
        kernel_pair(a, w, n / PAIR_ROUND);
        if (a != &noop_allocator)
            verify(a, w, 0);
        return 0;
    }

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if ((strcmp(argv[i], "--mode") == 0 || strcmp(argv[i], "--seed") == 0) && i + 1 < argc)
            i++;
        else
            usage();
    }
    if (mode->reps > MAX_REPS || mode->cold_reps > MAX_REPS)
        die("too many repetitions");

    char started[64];
    time_t t = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%S%z", localtime(&t));

    open_allocators(0, NULL);
    for (int i = 0; i < A_COUNT; i++)
        if (allocators[i].available)
            avail[navail++] = &allocators[i];
    for (int i = 0; i < navail; i++)
        warm_allocator(avail[i]);

    int selected = 0, cold = 0;
    for (int i = 0; i < nrows; i++)
        if (row_selected(only, rows[i].id)) {
            selected++;
            cold += rows[i].cold;
        }
    if (selected == 0)
        die("--only %s selects no row (see --rows)", only);
    fprintf(stderr, "native driver: mode %s, %d rows x %d allocators, %d runs each (+ %d cold rows x %d"
            " fresh processes, churn footprint)\n", mode->name, selected, navail, mode->reps, cold,
            mode->cold_reps);

    int done = 0;
    for (int i = 0; i < nrows; i++) {
        struct workload *w = &rows[i];
        if (!row_selected(only, w->id))
            continue;
        uint64_t t0 = now_ns();
        prepare(w);
        if (w->threads > 1)
            measure_threads(w);
        else
            measure_steady(w);
        release(w);
        if (w->cold)
            measure_cold(w);
        if (strcmp(w->id, "churn") == 0)
            measure_footprint(w);
        fprintf(stderr, "  [%2d/%d] %-20s %-56s %6.1f s\n", ++done, selected, w->id, w->label,
                (double)(now_ns() - t0) / 1e9);
    }

    if (out)
        write_csv(out, started);
    print_table("steady", "steady state, after warm-up");
    print_table("cold", "cold: first run in a fresh process (library initialised, memory untouched)");
    print_footprint();
    return 0;
}
