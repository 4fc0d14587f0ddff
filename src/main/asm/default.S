/*
 * default.S - gl_malloc & co.: the C malloc family on the default heap.
 *
 * The default heap is a locked heap created on first use (heap.S).  Each
 * function here loads it, shifts its arguments right by one register and
 * tail-calls the heap entry point, so the only cost over gl_heap_* is one
 * load and a test -- except gl_malloc and gl_free, the calls a C program
 * makes most, which run the locked heaps' fast paths (LOCKED_MALLOC_FAST,
 * LOCKED_FREE_FAST) themselves and, when those miss, go to the calling
 * thread's arena (arena.S: gl__malloc_arena, gl__free_arena), past the
 * front's fast paths, which could only miss.  The other functions reach the
 * arenas through the default heap's gl_heap_* entry points (the thread's
 * arena, or the block's).  gl_realloc(NULL, n) is gl_malloc(n).
 * gl_free drops the status: misuse is still counted in the default heap's
 * statistics and readable with gl_heap_last_error.
 */
#include "gl_layout.h"

        .text

/* rax = the default heap, created if needed; preserves rdi, rsi, rdx */
.macro LOAD_DEFAULT none
        movq    gl__default(%rip), %rax
        testq   %rax, %rax
        jnz     .Lhave\@
        CFI_PUSH %rdi
        CFI_PUSH %rsi
        CFI_PUSH %rdx
        call    gl__default_heap
        CFI_POP %rdx
        CFI_POP %rsi
        CFI_POP %rdi
        testq   %rax, %rax
        jz      \none
.Lhave\@:
.endm

/*
 * void *gl_malloc(size_t n)
 *   Fast path: rdx = the default heap; clobbers rax, rcx, rdx, r8, r9.
 */
        .p2align 6                              /* a hot path: one cache line to itself */
ENTRY(gl_malloc)
        movq    gl__default(%rip), %rdx
        testq   %rdx, %rdx
        jz      .Lmalloc_first                  /* not created yet */
        LOCKED_MALLOC_FAST %rdx, %rdi, gl__malloc_arena
.Lmalloc_first:
        LOAD_DEFAULT .Lnone_malloc
        jmp     gl__malloc                      /* again, with the heap made */
.Lnone_malloc:
        xorl    %eax, %eax
        ret
END(gl_malloc)
INTERNAL_ALIAS(gl_malloc, gl__malloc)

/*
 * void gl_free(void *p)
 *   Fast path: r9 = the default heap, rsi = p; clobbers rax, rcx, rdx, rsi,
 *   rdi, r9.
 */
        .p2align 6                              /* a hot path: one cache line to itself */
ENTRY(gl_free)
        testq   %rdi, %rdi
        jz      .Lnone_free
        movq    gl__default(%rip), %r9
        movq    %rdi, %rsi
        testq   %r9, %r9
        jz      .Lfree_first                    /* not created yet: p is not ours */
        LOCKED_FREE_FAST gl__free_arena
.Lfree_first:
        LOAD_DEFAULT .Lnone_free
        movq    %rax, %rdi
        jmp     gl__free_locked
.Lnone_free:
        ret
END(gl_free)

ENTRY(gl_calloc)
        LOAD_DEFAULT .Lnone_calloc
        movq    %rsi, %rdx
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__heap_calloc
.Lnone_calloc:
        xorl    %eax, %eax
        ret
END(gl_calloc)

ENTRY(gl_realloc)
        LOAD_DEFAULT .Lnone_realloc
        testq   %rdi, %rdi
        jz      .Lrealloc_null
        movq    %rsi, %rdx
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__heap_realloc
.Lrealloc_null:
        /* realloc(NULL, n) is malloc(n), fast path included (a runtime like
         * Lua allocates only through realloc) */
        movq    %rsi, %rdi
        jmp     gl__malloc
.Lnone_realloc:
        xorl    %eax, %eax
        ret
END(gl_realloc)

ENTRY(gl_aligned_alloc)
        LOAD_DEFAULT .Lnone_aligned
        movq    %rsi, %rdx
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__heap_aligned_alloc
.Lnone_aligned:
        xorl    %eax, %eax
        ret
END(gl_aligned_alloc)

ENTRY(gl_usable_size)
        testq   %rdi, %rdi
        jz      1f
        LOAD_DEFAULT .Lnone_usable
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__heap_usable_size
.Lnone_usable:
1:      xorl    %eax, %eax
        ret
END(gl_usable_size)

        .section .note.GNU-stack, "", @progbits
