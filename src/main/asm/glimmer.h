/*
 * glimmer.h - the C contract of libglimmer.so.
 *
 * Glimmer is a segregated-fit, boundary-tag coalescing allocator written in
 * x86-64 assembly.  It needs no libc: link with -lglimmer (or dlopen it).
 *
 * Two kinds of heap:
 *   owned  (the default): no locking, one thread at a time;
 *   locked (GL_HEAP_LOCKED): a spinlock inside the heap, any thread.
 * The process-wide default heap behind gl_malloc & co. is locked.
 * A locked heap starts biased to the thread that created it (the default
 * heap: its first caller): that thread's calls take no atomic instruction
 * until another thread calls, which revokes the bias with membarrier(2);
 * from then on calls take the spinlock, until one thread takes it 8192
 * times in a row with no other in between: that thread gets the bias (the
 * next re-bias asks for twice the run; 64 biases at most in a heap's life).
 * Where membarrier is not available (Linux < 4.14, WSL1) or the creating
 * thread has no thread pointer, the heap is never biased.  Callers of a heap
 * that can be biased must be threads with a thread pointer of their own
 * (every thread of a libc; not a raw clone() sharing its parent's).
 *
 * Misuse never aborts: gl_heap_free returns a negative GL_E_* status, every
 * other entry point returns NULL (or 0) and records the status, readable with
 * gl_heap_last_error and counted per kind in gl_stats.errors.
 *
 * Every struct below is made of 64-bit fields only, so its layout is the same
 * for every compiler and for java.lang.foreign.
 */
#ifndef GLIMMER_H
#define GLIMMER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */
#define GL_OK              0
#define GL_E_DOUBLE_FREE  (-1)   /* block is already free (or in the recently-freed cache) */
#define GL_E_NOT_OURS     (-2)   /* not a pointer this heap handed out (foreign, interior, misaligned) */
#define GL_E_CORRUPT      (-3)   /* the block's metadata is damaged (overflow, use after free) */
#define GL_E_NOMEM        (-4)   /* the OS refused memory */
#define GL_E_SIZE         (-5)   /* impossible size: overflow or above GL_MAX_SIZE */
#define GL_E_ALIGN        (-6)   /* alignment is not a power of two */
#define GL_E_BAD_HEAP     (-7)   /* the gl_heap pointer is not a live heap */
#define GL_ERROR_KINDS      8    /* gl_stats.errors[k] counts status -k, k = 1..7 */

/* Largest request any call accepts (16 TiB - 1 MiB); above it: NULL, GL_E_SIZE. */
#define GL_MAX_SIZE  (((size_t)1 << 44) - ((size_t)1 << 20))

/* ---- heaps ------------------------------------------------------------- */
typedef struct gl_heap gl_heap;

#define GL_HEAP_LOCKED     1u    /* spinlock: callable from any thread */
#define GL_HEAP_COUNT_HITS 2u    /* count cache_hits (the default heap does): every small malloc then
                                    takes the slow path's pop, 20-30 % of malloc+free pair throughput */
#define GL_HEAP_HUGE_PAGES 4u    /* advise every 2 MiB segment MADV_HUGEPAGE: transparent huge pages where
                                    the kernel allows them (fewer page faults on first touch; resident
                                    memory grows in 2 MiB steps; possible compaction stalls) */

typedef struct gl_options {
    uint64_t flags;              /* GL_HEAP_* */
    uint64_t max_search_depth;   /* blocks examined in a range bin for a best fit; 0 = default (16) */
    uint64_t cache_limit;        /* recently-freed blocks kept per small class (and per medium bin, for
                                    blocks realloc moved away from), 0..65536; 0 = default (65536) */
    uint64_t disable_cache;      /* nonzero: no recently-freed cache at all */
    uint64_t reserved[4];        /* must be zero */
} gl_options;

gl_heap *gl_heap_create(const gl_options *opts);   /* NULL = defaults: an owned (unlocked) heap */
void     gl_heap_destroy(gl_heap *h);               /* unmaps everything */
void     gl_heap_reset(gl_heap *h);                 /* frees every block at once */
size_t   gl_heap_trim(gl_heap *h);                  /* returns bytes given back to the OS */
void    *gl_heap_malloc(gl_heap *h, size_t size);
void    *gl_heap_calloc(gl_heap *h, size_t n, size_t size);
void    *gl_heap_realloc(gl_heap *h, void *p, size_t size);
void    *gl_heap_aligned_alloc(gl_heap *h, size_t alignment, size_t size);
int      gl_heap_free(gl_heap *h, void *p);         /* 0 ok; negative GL_E_* on misuse; free(NULL) is 0 */
size_t   gl_heap_usable_size(gl_heap *h, void *p);  /* 0 for a pointer that is not a live block */
int      gl_heap_last_error(gl_heap *h);            /* the last GL_E_* recorded, then cleared to 0 */
int      gl_heap_pointer_status(gl_heap *h, const void *p); /* what gl_heap_free(h, p) would return;
                                                       nothing freed or recorded (0: a live block, or NULL) */

/* ---- statistics -------------------------------------------------------- */
#define GL_SMALL_CLASSES 64      /* class c holds blocks of 16*c bytes (header included), c = 2..63 */

typedef struct gl_stats {
    uint64_t live_bytes;         /* usable bytes of blocks handed out and not freed */
    uint64_t live_blocks;
    uint64_t peak_live_bytes;    /* peak of live_bytes + bytes parked in the recently-freed cache */
    uint64_t footprint;          /* bytes mapped from the OS, metadata included */
    uint64_t peak_footprint;
    uint64_t segments;           /* 2 MiB segments mapped */
    uint64_t large_blocks;       /* blocks in a mapping of their own */
    uint64_t free_bytes;         /* bytes in free blocks inside segments (headers included) */
    uint64_t cached_blocks;      /* blocks in the recently-freed cache */
    uint64_t cache_hits;         /* mallocs served by the recently-freed cache: counted only by heaps
                                    created with GL_HEAP_COUNT_HITS (and the default heap), else 0 */
    uint64_t search_steps;       /* range-bin blocks examined for a best fit */
    uint64_t os_maps;            /* mmap and mremap calls */
    uint64_t os_unmaps;          /* munmap calls */
    uint64_t os_advises;         /* madvise(MADV_DONTNEED) calls */
    uint64_t errors[GL_ERROR_KINDS];          /* errors[k]: times status -k was reported */
    uint64_t class_live[GL_SMALL_CLASSES];    /* live blocks per small class (cache excluded) */
    uint64_t lock_biased;        /* 1: a locked heap biased to a thread (its creator, or one that ran alone) */
    uint64_t arenas;             /* the default heap: its arenas besides itself (threads' heaps), summed
                                    into every field above but lock_biased; 0 for any other heap */
} gl_stats;

void gl_heap_stats(gl_heap *h, gl_stats *s);

/* ---- consistency check ------------------------------------------------- */
#define GL_CHECK_OK              0
#define GL_CHECK_BAD_TAG         1   /* a header's check bits do not match its address */
#define GL_CHECK_BAD_SIZE        2   /* a size is not a multiple of 16, too small, or runs past the segment */
#define GL_CHECK_BAD_FOOTER      3   /* a free block's footer differs from its header */
#define GL_CHECK_PREV_FREE       4   /* a PREV_FREE bit disagrees with the previous block */
#define GL_CHECK_ADJACENT_FREE   5   /* two free blocks touch (the coalescer missed them) */
#define GL_CHECK_NOT_IN_BIN      6   /* a free block is missing from the bin of its size */
#define GL_CHECK_BIN_ENTRY       7   /* a bin holds a block that is not free, or of another size */
#define GL_CHECK_BIN_LINKS       8   /* a bin's next/prev links disagree */
#define GL_CHECK_BITMAP          9   /* the bitmap of non-empty bins disagrees with the bins */
#define GL_CHECK_FENCEPOST      10   /* a segment fencepost or segment header is damaged */
#define GL_CHECK_STATS          11   /* the statistics disagree with a walk of the heap */
#define GL_CHECK_LARGE          12   /* a large block's descriptor is damaged */
#define GL_CHECK_REGISTRY       13   /* the segment/large-block registry disagrees with the lists */
#define GL_CHECK_TOP            14   /* the top (wilderness) block is not where it should be */
#define GL_CHECK_STARTS         15   /* a segment's bitmap of block starts disagrees with its blocks */

typedef struct gl_check_report {
    uint64_t code;               /* GL_CHECK_* */
    uint64_t address;            /* the offending header (or segment) address */
    uint64_t detail;             /* the value found there */
    uint64_t blocks_checked;
} gl_check_report;

int gl_heap_check(gl_heap *h, gl_check_report *r);   /* 0 consistent; r may be NULL */

/* ---- heap walk (heap maps, tests) -------------------------------------- */
#define GL_BLOCK_USED    1
#define GL_BLOCK_FREE    2       /* in a bin, or the top of the heap */
#define GL_BLOCK_CACHED  3       /* freed, parked in the recently-freed cache */
#define GL_BLOCK_LARGE   4       /* in use, in a mapping of its own */

typedef struct gl_block_info {
    uint64_t address;            /* user pointer (header + 8) */
    uint64_t size;               /* block size, header included; usable size for large blocks */
    uint64_t state;              /* GL_BLOCK_* */
    uint64_t cursor[3];          /* private; zero the whole struct to start a walk */
} gl_block_info;

/* Fills *b with the block after the one it describes (the first when *b is
 * zeroed).  Returns 1 while a block was produced, 0 at the end, GL_E_* on a bad
 * cursor.  The heap must not change during a walk. */
int gl_heap_walk(gl_heap *h, gl_block_info *b);

/* ---- the process-wide default heap (locked, created on first use) ------- */
/* Biased to its first caller; any other thread allocates from an arena of
 * its own (a locked heap biased to that thread) behind the same handle.  Any
 * thread frees any block, and gl_heap_* on gl_default_heap() sees every
 * arena (gl_stats.arenas counts them). */
void  *gl_malloc(size_t size);
void   gl_free(void *p);                          /* misuse is counted, never fatal */
void  *gl_calloc(size_t n, size_t size);
void  *gl_realloc(void *p, size_t size);
void  *gl_aligned_alloc(size_t alignment, size_t size);
size_t gl_usable_size(void *p);
gl_heap *gl_default_heap(void);

/* ---- fork() in a process whose threads use locked heaps ----------------- */
/* A thread that forks while another holds a locked heap's lock (the default
 * heap's included) would leave the child a lock nobody releases.  Register
 * these once, before threads fork:
 *     pthread_atfork(gl_fork_prepare, gl_fork_parent, gl_fork_child);
 * prepare locks every live locked heap, parent and child release them.
 * libglimmer-preload.so registers them itself; a second registration is
 * harmless (prepare by the holder, or parent/child by another thread, does
 * nothing).  Only a prepare that forks next may call them: not signal-safe. */
void gl_fork_prepare(void);
void gl_fork_parent(void);
void gl_fork_child(void);

#ifdef __cplusplus
}
#endif
#endif /* GLIMMER_H */
