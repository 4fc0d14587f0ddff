/*
 * default.S - gl_malloc & co.: the C malloc family on the default heap.
 *
 * The default heap is a locked heap created on first use (heap.S).  Each
 * function here loads it, shifts its arguments right by one register and
 * tail-calls the heap entry point, so the only cost over gl_heap_* is one
 * load and a test; gl_malloc, gl_free and gl_realloc(NULL, n) go straight
 * to the locked paths, past the front's fast paths, which could only miss.
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

ENTRY(gl_malloc)
        LOAD_DEFAULT .Lnone_malloc
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__malloc_locked
.Lnone_malloc:
        xorl    %eax, %eax
        ret
END(gl_malloc)

ENTRY(gl_free)
        testq   %rdi, %rdi
        jz      1f
        LOAD_DEFAULT .Lnone_free
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__free_locked
.Lnone_free:
1:      ret
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
        /* realloc(NULL, n) is malloc(n): gl_malloc's way, straight to the
         * locked path (a runtime like Lua allocates only through realloc) */
        movq    %rax, %rdi
        jmp     gl__malloc_locked
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
