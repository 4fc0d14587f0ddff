/*
 * class_pages_preload.c - the class-pages prototype (class_pages.c, linked
 * into the same library) as a process's malloc, for LD_PRELOAD under a
 * single-threaded interpreter: what the design would do to lua5.4, where
 * the order in which blocks are handed out decides how close the objects a
 * program creates one after another lie.
 *
 * Requests of at most 1000 bytes go to one prototype heap; larger ones, and
 * the aligned allocation functions, to the next malloc in the search order
 * (glibc's), as do frees and reallocs of pointers outside the heap's
 * segments.  A pointer inside them that no block starts at (interior,
 * stale) is refused there -- free ignores it, realloc returns NULL --
 * rather than handed to glibc, which would abort.  No lock: only for
 * programs with one thread.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PROTOTYPE_MAX 1000

void *gl_heap_create(const void *options);
void *gl_heap_malloc(void *heap, size_t n);
int gl_heap_free(void *heap, void *p);
int class_pages_in_segment(void *heap, const void *p);
size_t class_pages_usable_size(void *heap, const void *p);   /* 0: no block starts at p */

static void *heap;
static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_realloc)(void *, size_t);
static size_t (*next_usable_size)(void *);

/* dlsym may allocate: those requests are small and served by the heap */
static void resolve(void)
{
    if (next_malloc != NULL)
        return;
    next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    next_usable_size = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
}

static void *own_heap(void)
{
    if (heap == NULL)
        heap = gl_heap_create(NULL);
    return heap;
}

void *malloc(size_t n)
{
    if (n <= PROTOTYPE_MAX)
        return gl_heap_malloc(own_heap(), n);
    resolve();
    return next_malloc(n);
}

void free(void *p)
{
    if (p == NULL)
        return;
    if (heap != NULL && class_pages_in_segment(heap, p)) {
        gl_heap_free(heap, p);                  /* a misuse gets a status, ignored here */
        return;
    }
    resolve();
    next_free(p);
}

void *calloc(size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n))
        return NULL;
    void *p = malloc(n);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (p == NULL)
        return malloc(n);
    if (heap == NULL || !class_pages_in_segment(heap, p)) {
        resolve();
        return next_realloc(p, n);
    }
    size_t old = class_pages_usable_size(heap, p);
    if (old == 0)
        return NULL;                            /* no block starts at p */
    if (n <= old)
        return p;
    void *q = malloc(n);
    if (q != NULL) {
        memcpy(q, p, old);
        gl_heap_free(heap, p);
    }
    return q;
}

size_t malloc_usable_size(void *p)
{
    if (p == NULL)
        return 0;
    if (heap != NULL && class_pages_in_segment(heap, p))
        return class_pages_usable_size(heap, p);
    resolve();
    return next_usable_size(p);
}
