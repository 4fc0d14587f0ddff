/*
 * class_pages.c - a prototype, not Glimmer: what serving small blocks from
 * pages of one size class would give on `ab`'s loops, before anyone builds
 * it in assembly.  design.md (*What the stacks' order costs*) has the
 * figures and the conclusions; `make -C benches experiment-pages` runs it.
 *
 * It exports the five functions of glimmer.h that `ab` calls
 * (gl_heap_create, gl_heap_destroy, gl_heap_malloc, gl_heap_free,
 * gl_heap_realloc), for requests of at most 1000 bytes, and
 * class_pages_in_segment and class_pages_usable_size for
 * class_pages_preload.c; nothing else of
 * Glimmer is here (no medium or large blocks, no coalescing, no check, no
 * limit on segments, no error status beyond a negative return).
 *
 * The design measured.  Memory comes in 2 MiB aligned segments found
 * through a direct-mapped table, as in Glimmer.  A segment is cut into
 * 64 KiB pages; the first ones hold the segment's metadata, each other page
 * takes blocks of one class, all carved when the page is taken.  Which
 * blocks of a page are free is one bit per granule in a map of the same
 * geometry as the bitmap of block starts, so free finds its bit with the
 * index it computed for the start check.  A class is served from one word
 * of that map at a time, lowest address first (curw, curbase); the slow
 * path moves on through the page, then to a page of the class that a free
 * made non-full (listed on that free), then to a new page.  Blocks handed
 * out one after another are therefore neighbours, whatever order they were
 * freed in -- what Glimmer's per-class stacks do not give.
 *
 * Variants (compile-time):
 *   default         blocks as Glimmer's: an 8-byte header with a keyed tag,
 *                   16-byte granules, at least 32 bytes; free validates as
 *                   Glimmer's does (segment table, start bit, tag, state)
 *   -DFRONT_LIFO=N  the same, with a LIFO of N slots per class in front (the
 *                   blocks in it marked CACHED, as on Glimmer's stacks): a
 *                   free pushes while there is room, a malloc pops while
 *                   there is something; the pages take the rest
 *   -DHEADERLESS    no header: 8-byte granules and classes, as mimalloc's
 *                   small sizes; free validates the segment, the start bit
 *                   and that the block is not free already
 *   -DMAP_ONLY      a block in the free map is marked there only: its
 *                   header stays as it was in use, so the map's paths write
 *                   no header, and free tells a double free by the map bit
 *                   (as HEADERLESS does); no LIFO
 *   -DMAP_ONLY -DFRONT_SLOT
 *                   and one slot per class in front: a free puts the block
 *                   there when it is empty (a block in it is marked
 *                   nowhere: free compares with it), a malloc takes it
 *   -DWORD_LISTED   (with FAST_ASM and MAP_ONLY) whether a page is listed
 *                   is also kept for each of its map words, where free
 *                   finds it with the word's own offset; and the assembly's
 *                   malloc moves on to the next word of the page itself
 *   -DFAST_ASM -DPAGE_SHIFT=14, and -DFRONT_LIFO=N or -DMAP_ONLY
 *                   with class_pages_fast.S: malloc's and free's fast paths
 *                   in assembly, these C functions their slow paths
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#if defined(FRONT_LIFO) && defined(HEADERLESS)
#error "FRONT_LIFO marks blocks CACHED in their headers: not with HEADERLESS"
#endif
#if defined(MAP_ONLY) && (defined(FRONT_LIFO) || defined(HEADERLESS))
#error "MAP_ONLY: a header variant without a LIFO (whose pushes would have to test the map too)"
#endif
#if defined(FRONT_SLOT) && !defined(MAP_ONLY)
#error "FRONT_SLOT goes with MAP_ONLY"
#endif
#if defined(WORD_LISTED) && !(defined(MAP_ONLY) && defined(FAST_ASM))
#error "WORD_LISTED is for the assembly's MAP_ONLY free"
#endif

#ifdef FAST_ASM
/* class_pages_fast.S has gl_heap_malloc and gl_heap_free; the C ones below
 * become their slow paths */
#include <stddef.h>
#include "class_pages_layout.h"
#if defined(HEADERLESS) || !(defined(FRONT_LIFO) || defined(MAP_ONLY)) || \
    !defined(PAGE_SHIFT) || PAGE_SHIFT != CP_PAGE_SHIFT
#error "FAST_ASM: build with -DFRONT_LIFO=N or -DMAP_ONLY, and -DPAGE_SHIFT=14 (class_pages_layout.h)"
#endif
#define gl_heap_malloc cp_malloc_slow
#define gl_heap_free cp_free_slow
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define SEG_SHIFT   21
#define SEG_SIZE    (1ul << SEG_SHIFT)
#ifndef PAGE_SHIFT
#define PAGE_SHIFT  16                     /* -DPAGE_SHIFT=14: 16 KiB pages */
#endif
#define PAGE_SIZE_  (1ul << PAGE_SHIFT)
#define PAGES       (SEG_SIZE / PAGE_SIZE_)
#define MAX_REQUEST 1000
#define CLASSES     128

#ifdef HEADERLESS
#define GRANULE_SHIFT 3
#define HEADER        0
#define MIN_BLOCK     8
#else
#define GRANULE_SHIFT 4
#define HEADER        8
#define MIN_BLOCK     32
#endif
#define WORD_SPAN       (64ul << GRANULE_SHIFT)          /* bytes one map word covers */
#define MAP_WORDS       (SEG_SIZE / WORD_SPAN)
#define WORDS_PER_PAGE  (PAGE_SIZE_ / WORD_SPAN)
#define FREE_BIT        61
#define CACHED_BIT      62

struct page_info {
    struct page_info *next;                /* the class's list of non-full pages */
    uint8_t cls, listed;                   /* listed: on that list, or the class's current page */
};

struct segment {
#ifdef FAST_ASM
    uint64_t glimmer_header[8];            /* the start bitmap at Glimmer's SEG_STARTS */
#endif
    uint64_t starts[MAP_WORDS];            /* block starts, by user pointer */
    uint64_t free_map[MAP_WORDS];          /* free blocks, same geometry */
    struct page_info pages[PAGES];
#ifdef WORD_LISTED
    uint64_t listed_w[MAP_WORDS];          /* a page's listed, once per map word of it */
#endif
};
#define FIRST_PAGE ((sizeof(struct segment) + PAGE_SIZE_ - 1) / PAGE_SIZE_)

#ifdef FAST_ASM
/* Glimmer's table entry: (p - 8) ror 4 >> (SEG_SHIFT - 4) for a 16-aligned
 * p, the segment number with bit 67 - SEG_SHIFT set; -1 is no entry */
#define SEGTAB_KEY(number)  ((number) | 1ull << (67 - SEG_SHIFT))
#define SEGTAB_NUMBER(key)  ((key) & ~(1ull << (67 - SEG_SHIFT)))
#define SEGTAB_EMPTY        (~0ull)
#else
#define SEGTAB_KEY(number)  (number)
#define SEGTAB_NUMBER(key)  (key)
#define SEGTAB_EMPTY        0ull
#endif

typedef struct heap {
#ifdef FAST_ASM
    /* the key and the segment table where Glimmer's heap has them (H_KEY,
     * H_SEGTAB), so that class_pages_fast.S checks a pointer with Glimmer's
     * own OWNED_BLOCK_TEST */
    uint8_t unused[128];
    uint64_t key;
    uint64_t unused_too[3];
    uintptr_t segtab[256];                 /* SEGTAB_KEY(segment number), by its low 8 bits */
#endif
    uint64_t *curw[CLASSES];               /* the class's current map word (or &empty_word) */
    uintptr_t curbase[CLASSES];            /* the address that word's bit 0 stands for */
#ifndef FAST_ASM
    uintptr_t segtab[256];                 /* segment number, by its low 8 bits */
#endif
    struct page_info *nonfull[CLASSES];
#ifndef FAST_ASM
    uint64_t key;
#endif
    struct segment *seg;                   /* the segment pages are taken from */
    uint32_t next_page;
    uint64_t empty_word;                   /* always 0: a class without a page misses once */
    uint8_t class_of[MAX_REQUEST + 1];
#ifdef FRONT_SLOT
    void *slot[CLASSES];                   /* the class's last freed block, or NULL */
#endif
#ifdef FRONT_LIFO
    void **top[CLASSES];
#ifdef FAST_ASM
    void **floor[CLASSES];                 /* slots[c], slots[c] + FRONT_LIFO: no arithmetic */
    void **lim[CLASSES];                   /* in the assembly's fast paths */
#endif
    void *slots[CLASSES][FRONT_LIFO];
#endif
} heap;

#ifdef FAST_ASM
_Static_assert(offsetof(heap, curw) == CP_H_CURW, "curw");
_Static_assert(offsetof(heap, curbase) == CP_H_CURBASE, "curbase");
_Static_assert(offsetof(heap, segtab) == CP_H_SEGTAB, "segtab");
_Static_assert(offsetof(heap, key) == CP_H_KEY, "key");
_Static_assert(offsetof(heap, class_of) == CP_H_CLASS_OF, "class_of");
#ifdef FRONT_SLOT
_Static_assert(offsetof(heap, slot) == CP_H_SLOT, "slot");
#endif
#ifdef FRONT_LIFO
_Static_assert(offsetof(heap, top) == CP_H_TOP, "top");
_Static_assert(offsetof(heap, floor) == CP_H_FLOOR, "floor");
_Static_assert(offsetof(heap, lim) == CP_H_LIM, "lim");
#endif
_Static_assert(offsetof(struct segment, free_map) == CP_S_FREE_MAP, "free_map");
_Static_assert(offsetof(struct segment, pages) == CP_S_PAGES, "pages");
_Static_assert(sizeof(struct page_info) == 1 << CP_PI_SHIFT, "page_info");
_Static_assert(offsetof(struct page_info, listed) == CP_PI_LISTED, "listed");
_Static_assert(SEG_SHIFT == CP_SEG_SHIFT && MAX_REQUEST == CP_MAX_REQUEST, "geometry");
_Static_assert(offsetof(struct segment, starts) == CP_S_STARTS, "starts");
_Static_assert(FREE_BIT == CP_FREE_BIT && CACHED_BIT == CP_CACHED_BIT, "bits");
__attribute__((visibility("hidden"))) void *cp_malloc_slow(heap *h, size_t n);
__attribute__((visibility("hidden"))) int cp_free_slow(heap *h, void *ptr);
__attribute__((visibility("hidden"))) int cp_list_page(heap *h, struct page_info *pi);
_Static_assert(offsetof(heap, empty_word) == CP_H_EMPTY_WORD, "empty_word");
#ifdef WORD_LISTED
_Static_assert(offsetof(struct segment, listed_w) == CP_S_LISTED, "listed_w");
_Static_assert(WORD_SPAN == 1024 && WORDS_PER_PAGE == 16, "the assembly's word steps");
#endif
#endif

void *gl_heap_malloc(heap *h, size_t n);

static inline uint64_t header_of(const heap *h, uintptr_t p, unsigned cls)
{
    return ((uint64_t)cls << 20) | (((h->key - cls) ^ p) & 0xffff);
}

static inline struct segment *segment_of(uintptr_t p)
{
    return (struct segment *)(p & ~(SEG_SIZE - 1));
}

heap *gl_heap_create(const void *options)
{
    (void)options;
    heap *h = mmap(NULL, sizeof(heap), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED)
        return NULL;
    h->key = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < 256; i++)
        h->segtab[i] = SEGTAB_EMPTY;
    for (unsigned n = 0; n <= MAX_REQUEST; n++) {
        unsigned b = (unsigned)((n + HEADER + (1u << GRANULE_SHIFT) - 1) & ~((1u << GRANULE_SHIFT) - 1));
        h->class_of[n] = (uint8_t)((b < MIN_BLOCK ? MIN_BLOCK : b) >> GRANULE_SHIFT);
    }
    for (unsigned c = 0; c < CLASSES; c++) {
        h->curw[c] = &h->empty_word;
#ifdef FRONT_LIFO
        h->top[c] = h->slots[c];
#ifdef FAST_ASM
        h->floor[c] = h->slots[c];
        h->lim[c] = h->slots[c] + FRONT_LIFO;
#endif
#endif
    }
    h->next_page = PAGES;
    return h;
}

void gl_heap_destroy(heap *h)
{
    for (unsigned i = 0; i < 256; i++)
        if (h->segtab[i] != SEGTAB_EMPTY)
            munmap((void *)(SEGTAB_NUMBER(h->segtab[i]) << SEG_SHIFT), SEG_SIZE);
    munmap(h, sizeof(heap));
}

static struct segment *map_segment(heap *h)
{
    char *m = mmap(NULL, 2 * SEG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)m + SEG_SIZE - 1) & ~(SEG_SIZE - 1);
    if (a > (uintptr_t)m)
        munmap(m, a - (uintptr_t)m);
    munmap((void *)(a + SEG_SIZE), (uintptr_t)m + SEG_SIZE - a);
    uintptr_t number = a >> SEG_SHIFT;
    if (h->segtab[number & 255] != SEGTAB_EMPTY) {   /* the prototype has no full registry */
        munmap((void *)a, SEG_SIZE);
        return NULL;
    }
    h->segtab[number & 255] = SEGTAB_KEY(number);
    return (struct segment *)a;
}

/* a page of class cls, every block carved and free */
__attribute__((noinline)) static struct page_info *take_page(heap *h, unsigned cls)
{
    if (h->next_page >= PAGES) {
        if ((h->seg = map_segment(h)) == NULL)
            return NULL;
        h->next_page = (uint32_t)FIRST_PAGE;
    }
    struct segment *s = h->seg;
    unsigned k = h->next_page++;
    uintptr_t page = (uintptr_t)s + k * PAGE_SIZE_;
    madvise((void *)page, PAGE_SIZE_, MADV_POPULATE_WRITE);   /* as Glimmer populates its top */
    uintptr_t size = (uintptr_t)cls << GRANULE_SHIFT;
    for (uintptr_t p = page + HEADER + (HEADER ? 8 : 0); p - HEADER + size <= page + PAGE_SIZE_; p += size) {
#if defined(MAP_ONLY)
        *(uint64_t *)(p - HEADER) = header_of(h, p, cls);
#elif !defined(HEADERLESS)
        *(uint64_t *)(p - HEADER) = header_of(h, p, cls) | (1ull << FREE_BIT);
#endif
        uintptr_t g = (p & (SEG_SIZE - 1)) >> GRANULE_SHIFT;
        s->starts[g >> 6] |= 1ull << (g & 63);
        s->free_map[g >> 6] |= 1ull << (g & 63);
    }
    s->pages[k].cls = (uint8_t)cls;
    return &s->pages[k];
}

static inline void set_listed(struct page_info *pi, uint8_t listed)
{
    pi->listed = listed;
#ifdef WORD_LISTED
    struct segment *s = segment_of((uintptr_t)pi);
    uintptr_t first = (uintptr_t)(pi - s->pages) * WORDS_PER_PAGE;
    for (uintptr_t v = first; v < first + WORDS_PER_PAGE; v++)
        s->listed_w[v] = listed;
#endif
}

static inline void make_current(heap *h, unsigned c, struct segment *s, uintptr_t w)
{
    h->curw[c] = &s->free_map[w];
    h->curbase[c] = (uintptr_t)s + w * WORD_SPAN;
}

/* points the class at a map word with a free block: further on in the
 * current page, then behind it, then another page; 0 when out of memory */
__attribute__((noinline)) static int refill(heap *h, unsigned c)
{
    uint64_t *wp = h->curw[c];
    if (wp != &h->empty_word) {
        struct segment *s = segment_of((uintptr_t)wp);
        uintptr_t w = (uintptr_t)(wp - s->free_map), first = w & ~(WORDS_PER_PAGE - 1);
        for (uintptr_t v = w + 1; v < first + WORDS_PER_PAGE; v++)
            if (s->free_map[v]) {
                make_current(h, c, s, v);
                return 1;
            }
        for (uintptr_t v = first; v <= w; v++)
            if (s->free_map[v]) {
                make_current(h, c, s, v);
                return 1;
            }
        set_listed(&s->pages[w / WORDS_PER_PAGE], 0);  /* full: listed again at its next free */
    }
    struct page_info *pi = h->nonfull[c];
    if (pi != NULL)
        h->nonfull[c] = pi->next;
    else if ((pi = take_page(h, c)) == NULL)
        return 0;
    set_listed(pi, 1);
    struct segment *s = segment_of((uintptr_t)pi);
    uintptr_t first = (uintptr_t)(pi - s->pages) * WORDS_PER_PAGE;
    for (uintptr_t v = first; v < first + WORDS_PER_PAGE; v++)
        if (s->free_map[v]) {
            make_current(h, c, s, v);
            return 1;
        }
    return 0;
}

/* the lowest free block of the class's current word */
static inline void *page_malloc(heap *h, unsigned c)
{
    for (;;) {
        uint64_t *wp = h->curw[c];
        uint64_t bits = *wp;
        if (__builtin_expect(bits != 0, 1)) {
            *wp = bits & (bits - 1);
            uintptr_t p = h->curbase[c] + ((uintptr_t)__builtin_ctzll(bits) << GRANULE_SHIFT);
#if !defined(HEADERLESS) && !defined(MAP_ONLY)
            __asm__ volatile("btrq %1, -8(%0)" : : "r"(p), "i"(FREE_BIT) : "memory", "cc");
#endif
            return (void *)p;
        }
        if (!refill(h, c))
            return NULL;
    }
}

void *gl_heap_malloc(heap *h, size_t n)
{
    if (n > MAX_REQUEST)
        return NULL;
    unsigned c = h->class_of[n];
#ifdef FRONT_LIFO
    void **t = h->top[c];
    if (__builtin_expect(t != h->slots[c], 1)) {
        uintptr_t p = (uintptr_t)*--t;
        h->top[c] = t;
        __asm__ volatile("btrq %1, -8(%0)" : : "r"(p), "i"(CACHED_BIT) : "memory", "cc");
        return (void *)p;
    }
#endif
#ifdef FRONT_SLOT
    void *q = h->slot[c];
    if (q != NULL) {
        h->slot[c] = NULL;
        return q;
    }
#endif
    return page_malloc(h, c);
}

__attribute__((noinline)) static void list_page(heap *h, struct page_info *pi)
{
    set_listed(pi, 1);
    pi->next = h->nonfull[pi->cls];
    h->nonfull[pi->cls] = pi;
}

#ifdef FAST_ASM
/* the assembly's free, for a block whose page was full */
int cp_list_page(heap *h, struct page_info *pi)
{
    list_page(h, pi);
    return 0;
}
#endif

int gl_heap_free(heap *h, void *ptr)
{
    uintptr_t p = (uintptr_t)ptr, number = p >> SEG_SHIFT;
    if (p == 0)
        return 0;
    if ((p & ((1u << GRANULE_SHIFT) - 1)) || h->segtab[number & 255] != SEGTAB_KEY(number))
        return -1;                                     /* not ours */
    struct segment *s = segment_of(p);
    uintptr_t offset = p & (SEG_SIZE - 1), w = offset >> (GRANULE_SHIFT + 6);
    uint64_t bit = 1ull << ((offset >> GRANULE_SHIFT) & 63);
    if (!(s->starts[w] & bit))
        return -1;                                     /* no block starts here */
#ifdef HEADERLESS
    if (s->free_map[w] & bit)
        return -2;                                     /* double free */
#else
    uint64_t header = *(uint64_t *)(p - HEADER);
    unsigned cls = (unsigned)(header >> 20);
    if (cls >= CLASSES || ((header ^ header_of(h, p, cls)) & 0xffff))
        return -3;                                     /* free, cached or overwritten */
#ifdef FRONT_LIFO
    void **t = h->top[cls];
    if (__builtin_expect(t != h->slots[cls] + FRONT_LIFO, 1)) {
        *t = ptr;
        h->top[cls] = t + 1;
        *(uint64_t *)(p - HEADER) = header | (1ull << CACHED_BIT);
        return 0;
    }
#endif
#ifdef MAP_ONLY
    if (s->free_map[w] & bit)
        return -2;                                     /* double free */
#ifdef FRONT_SLOT
    if (h->slot[cls] == NULL) {
        h->slot[cls] = ptr;
        return 0;
    }
    if (h->slot[cls] == ptr)
        return -2;                                     /* double free */
#endif
#else
    *(uint64_t *)(p - HEADER) = header | (1ull << FREE_BIT);
#endif
#endif
    s->free_map[w] |= bit;
    struct page_info *pi = &s->pages[offset >> PAGE_SHIFT];
    if (__builtin_expect(!pi->listed, 0))
        list_page(h, pi);
    return 0;
}

/* whether p lies in one of h's segments, block start or not (for
 * class_pages_preload.c: such a pointer is never glibc's to free) */
int class_pages_in_segment(heap *h, const void *ptr)
{
    uintptr_t number = (uintptr_t)ptr >> SEG_SHIFT;
    return h->segtab[number & 255] == SEGTAB_KEY(number);
}

/* the usable bytes of a block that starts at p in one of h's segments, else
 * 0 (for class_pages_preload.c, which sends other pointers to glibc) */
size_t class_pages_usable_size(heap *h, const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr, number = p >> SEG_SHIFT;
    if ((p & ((1u << GRANULE_SHIFT) - 1)) || h->segtab[number & 255] != SEGTAB_KEY(number))
        return 0;
    struct segment *s = segment_of(p);
    uintptr_t g = (p & (SEG_SIZE - 1)) >> GRANULE_SHIFT;
    if (!(s->starts[g >> 6] & (1ull << (g & 63))))
        return 0;
    return ((size_t)s->pages[(p & (SEG_SIZE - 1)) >> PAGE_SHIFT].cls << GRANULE_SHIFT) - HEADER;
}

/* ab's grow loop needs it; the prototype has no block above 1000 bytes */
void *gl_heap_realloc(heap *h, void *p, size_t n)
{
    void *q = gl_heap_malloc(h, n);
    if (q != NULL && p != NULL) {
        size_t old = class_pages_usable_size(h, p);
        memcpy(q, p, old < n ? old : n);
        gl_heap_free(h, p);
    }
    return q;
}
