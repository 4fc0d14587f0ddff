/*
 * default.S - gl_malloc & co.: the C malloc family on the default heap.
 *
 * The default heap is a locked heap created on first use (heap.S), which
 * counts cache hits.  Each function here loads it, shifts its arguments
 * right by one register and tail-calls the heap entry point, so the only
 * cost over gl_heap_* is one load and a test -- except gl_malloc and
 * gl_free, the calls a C program makes most, which first try a fast path
 * of their own on the owned heap inside: for the thread the heap is biased
 * to, a small request popped from its class's stack (counted as a hit), a
 * valid small block pushed on its stack -- the owned heap's fast paths with
 * the bias handshake of LOCKED_FORWARD around them, in one function instead
 * of four.  Anything else (another thread, an empty or full stack, a large
 * request, a pointer that fails the test) leaves the fast path having
 * changed nothing and takes the locked path.  gl_realloc(NULL, n) is
 * gl_malloc(n).  gl_free drops the status: misuse is still counted in the
 * default heap's statistics and readable with gl_heap_last_error.
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
 *   Fast path: rdx = front, r8 = owned heap; clobbers rax, rcx, rdx, r8, r9.
 */
        .p2align 6                              /* a hot path: one cache line to itself */
ENTRY(gl_malloc)
        movq    gl__default(%rip), %rdx
        testq   %rdx, %rdx
        jz      .Lmalloc_locked                 /* not created yet */
        cmpq    $SMALL_MAX_REQUEST, %rdi
        ja      .Lmalloc_locked
        BIAS_ENTER %rdx, %rax, .Lmalloc_locked, .Lmalloc_leave
        movq    H_INNER(%rdx), %r8
        CLASS_OF_REQUEST %rdi, %ecx, %eax       /* a counting heap's table is all class 0 */
        CACHE_POP %r8, %rcx, %r9, %rax, .Lmalloc_leave
        incq    H_HITS(%r8)
        movl    $0, LK_BUSY(%rdx)
        ret
.Lmalloc_leave:
        movl    $0, LK_BUSY(%rdx)
.Lmalloc_locked:
        LOAD_DEFAULT .Lnone_malloc
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__malloc_locked
.Lnone_malloc:
        xorl    %eax, %eax
        ret
END(gl_malloc)
INTERNAL_ALIAS(gl_malloc, gl__malloc)

/*
 * void gl_free(void *p)
 *   Fast path: r9 = front, rdi = owned heap, rsi = p (OWNED_BLOCK_TEST's
 *   registers); clobbers rax, rcx, rdx, rsi, rdi, r9.
 */
        .p2align 6                              /* a hot path: one cache line to itself */
ENTRY(gl_free)
        testq   %rdi, %rdi
        jz      .Lnone_free
        movq    gl__default(%rip), %r9
        movq    %rdi, %rsi
        testq   %r9, %r9
        jz      .Lfree_locked                   /* not created yet: p is not ours */
        BIAS_ENTER %r9, %rax, .Lfree_locked, .Lfree_leave
        movq    H_INNER(%r9), %rdi
        OWNED_BLOCK_TEST .Lfree_leave
        cmpq    $SMALL_MAX_CLASS, %rax
        ja      .Lfree_leave
        movq    H_CTOP(%rdi,%rax,8), %rcx
        cmpq    H_CLIM(%rdi,%rax,8), %rcx
        jae     .Lfree_leave                    /* full */
        CACHE_PUSH %rdi, %rsi, %rax, %rcx
        movl    $0, LK_BUSY(%r9)
        ret
.Lfree_leave:
        movl    $0, LK_BUSY(%r9)
.Lfree_locked:
        movq    %rsi, %rdi
        LOAD_DEFAULT .Lnone_free
        movq    %rdi, %rsi
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
