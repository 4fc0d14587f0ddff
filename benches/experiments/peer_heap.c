/*
 * peer_heap.c - the five functions of glimmer.h that `ab` calls, served by a
 * peer allocator's own entry points, so that `ab` can put a peer beside a
 * build of Glimmer (or beside benches/experiments/class_pages.c) in one
 * process.  Built per peer: -DPEER_PREFIX=mi_ (mimalloc) or tc_ (tcmalloc),
 * linked against that peer's library.  The peers have one heap per thread,
 * not heaps one creates, so gl_heap_create returns a token and
 * gl_heap_destroy does nothing: `ab`'s `fresh` loop, which destroys its heap
 * each round, measures a peer on memory it has used before, not fresh memory.
 */
#include <stddef.h>

#ifndef PEER_PREFIX
#error "build with -DPEER_PREFIX=mi_ or -DPEER_PREFIX=tc_"
#endif
#define JOIN2(a, b) a##b
#define JOIN(a, b) JOIN2(a, b)
#define PEER(name) JOIN(PEER_PREFIX, name)

void *PEER(malloc)(size_t n);
void PEER(free)(void *p);
void *PEER(realloc)(void *p, size_t n);

static char token;

void *gl_heap_create(const void *options)
{
    (void)options;
    return &token;
}

void gl_heap_destroy(void *heap)
{
    (void)heap;
}

void *gl_heap_malloc(void *heap, size_t n)
{
    (void)heap;
    return PEER(malloc)(n);
}

int gl_heap_free(void *heap, void *p)
{
    (void)heap;
    PEER(free)(p);
    return 0;
}

void *gl_heap_realloc(void *heap, void *p, size_t n)
{
    (void)heap;
    return PEER(realloc)(p, n);
}
