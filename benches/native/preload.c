/*
 * preload.c - libglimmer-preload.so: the C allocation functions of a whole
 * process served by Glimmer's default heap, for running a real program
 * (Debian's lua5.4 in benches/tools/interp.py) on Glimmer with LD_PRELOAD,
 * the way jemalloc, mimalloc and tcmalloc are run with theirs.
 *
 * Every entry point glibc's malloc exports and a program may call with a
 * pointer another one returned is replaced, so no block crosses between
 * the two allocators.  A pointer the default heap does not own (one the
 * dynamic loader's own allocator handed out before this library was
 * bound, say) is refused by gl_free and counted, never followed: it leaks.
 * fork() in a threaded process is safe: the fork handlers are registered
 * when the library is loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "glimmer.h"

#define EXPORT __attribute__((visibility("default")))

/* A thread that forks while another is inside malloc would leave the child
 * the default heap's lock held for ever: lock every locked heap around
 * fork(), as glibc does for its arenas (glimmer.h, fork.S). */
__attribute__((constructor)) static void register_fork_handlers(void)
{
    pthread_atfork(gl_fork_prepare, gl_fork_parent, gl_fork_child);
}

EXPORT void *malloc(size_t size)
{
    void *p = gl_malloc(size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

EXPORT void free(void *p)
{
    gl_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
    void *p = gl_calloc(n, size);
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

EXPORT void *realloc(void *p, size_t size)
{
    void *q = gl_realloc(p, size);
    if (q == NULL)
        errno = ENOMEM;
    return q;
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, bytes);
}

EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    void *p = gl_aligned_alloc(alignment, size);
    if (p == NULL)
        errno = alignment == 0 || (alignment & (alignment - 1)) != 0 ? EINVAL : ENOMEM;
    return p;
}

EXPORT void *memalign(size_t alignment, size_t size)
{
    return aligned_alloc(alignment, size);
}

EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    void *p = gl_aligned_alloc(alignment, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

static size_t page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

EXPORT void *valloc(size_t size)
{
    return aligned_alloc(page_size(), size);
}

EXPORT void *pvalloc(size_t size)
{
    size_t page = page_size();
    if (size > SIZE_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned_alloc(page, (size + page - 1) & ~(page - 1));
}

EXPORT size_t malloc_usable_size(void *p)
{
    return gl_usable_size(p);
}

/* glibc's own names for its allocation functions, which it exports for
 * programs and interposers that want them: a block from malloc given to
 * __libc_free would reach glibc's free, which aborts the process on a
 * pointer it did not hand out ("free(): invalid size").  jemalloc, mimalloc
 * and tcmalloc replace them too.  copy(): the attributes of the function
 * each one names. */
EXPORT void *__libc_malloc(size_t size) __attribute__((alias("malloc"), copy(malloc)));
EXPORT void __libc_free(void *p) __attribute__((alias("free"), copy(free)));
EXPORT void *__libc_calloc(size_t n, size_t size) __attribute__((alias("calloc"), copy(calloc)));
EXPORT void *__libc_realloc(void *p, size_t size) __attribute__((alias("realloc"), copy(realloc)));
EXPORT void *__libc_memalign(size_t alignment, size_t size) __attribute__((alias("memalign"), copy(memalign)));
EXPORT void *__libc_valloc(size_t size) __attribute__((alias("valloc"), copy(valloc)));
EXPORT void *__libc_pvalloc(size_t size) __attribute__((alias("pvalloc"), copy(pvalloc)));

/* glibc's malloc_trim, which programs call to hand freed memory back (the
 * JVM's -XX:TrimNativeHeapInterval, jcmd System.trim_native_heap): left to
 * glibc, it would trim glibc's own arenas, which hold nothing here.  1 when
 * memory went back to the OS.  gl_heap_trim keeps no pad: the argument only
 * says how much glibc may keep. */
EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    gl_heap *h = gl_default_heap();
    return h != NULL && gl_heap_trim(h) > 0;
}
