/*
 * class_pages_fast.S - the class-pages prototype's malloc and free fast
 * paths in assembly (built with class_pages.c -DFAST_ASM -DFRONT_LIFO=64
 * -DPAGE_SHIFT=14, whose C malloc and free become the slow paths): what the
 * design costs per call when it is written the way Glimmer's fast paths are,
 * so that `ab` can put it beside them.  Not Glimmer.
 *
 * malloc: a request of at most 1000 bytes pops its class's LIFO; an empty
 * LIFO takes the lowest free block of the class's current free-map word.
 * free: the checks of Glimmer's fast path (segment table, start bit, tag,
 * small class), then a push on the LIFO, or, when it is full, the block's
 * bit in the free map (and its page onto the class's list if it was full).
 * Anything else goes to the C functions, with the arguments untouched.
 */
#include "class_pages_layout.h"

        .text

/* void *gl_heap_malloc(heap *h, size_t n); clobbers rax, rcx, rdx, r8 */
        .globl  gl_heap_malloc
        .type   gl_heap_malloc, @function
        .p2align 6
gl_heap_malloc:
        .cfi_startproc
        cmpq    $CP_MAX_REQUEST, %rsi
        ja      .Lmalloc_slow
        movzbl  CP_H_CLASS_OF(%rdi,%rsi), %ecx
        movq    CP_H_TOP(%rdi,%rcx,8), %rax
        cmpq    CP_H_FLOOR(%rdi,%rcx,8), %rax
        je      .Lmalloc_map
        movq    -8(%rax), %rdx
        subq    $8, %rax
        movq    %rax, CP_H_TOP(%rdi,%rcx,8)
        btrq    $CP_CACHED_BIT, -8(%rdx)
        movq    %rdx, %rax
        ret
        .p2align 4
.Lmalloc_map:
        movq    CP_H_CURW(%rdi,%rcx,8), %r8
        movq    (%r8), %rax
        testq   %rax, %rax
        jz      .Lmalloc_slow
        leaq    -1(%rax), %rdx
        andq    %rax, %rdx
        movq    %rdx, (%r8)
        tzcntq  %rax, %rax
        shlq    $4, %rax
        addq    CP_H_CURBASE(%rdi,%rcx,8), %rax
        btrq    $CP_FREE_BIT, -8(%rax)
        ret
.Lmalloc_slow:
        jmp     cp_malloc_slow
        .cfi_endproc
        .size   gl_heap_malloc, .-gl_heap_malloc

/* int gl_heap_free(heap *h, void *p); clobbers rax, rcx, rdx, r8-r11 */
        .globl  gl_heap_free
        .type   gl_heap_free, @function
        .p2align 6
gl_heap_free:
        .cfi_startproc
        movq    %rsi, %rax
        shrq    $CP_SEG_SHIFT, %rax
        testq   $15, %rsi
        jnz     .Lfree_slow                     /* misaligned */
        movzbl  %al, %edx
        cmpq    %rax, CP_H_SEGTAB(%rdi,%rdx,8)
        jne     .Lfree_slow                     /* not in a segment of h (NULL too) */
        testq   %rsi, %rsi
        jz      .Lfree_slow
        movq    %rsi, %rdx
        andq    $-(1 << CP_SEG_SHIFT), %rdx     /* the segment */
        movl    %esi, %ecx
        andl    $((1 << CP_SEG_SHIFT) - 1), %ecx /* offset in it */
        movl    %ecx, %r8d
        shrl    $10, %r8d                       /* its map word */
        movl    %ecx, %r9d
        shrl    $4, %r9d                        /* its bit (bt takes it mod 64) */
        movq    (%rdx,%r8,8), %r10
        btq     %r9, %r10
        jnc     .Lfree_slow                     /* no block starts there */
        movq    -8(%rsi), %r10                  /* header */
        movq    %r10, %r11
        shrq    $20, %r11                       /* its class; a flag makes it > 63 */
        cmpq    $63, %r11
        ja      .Lfree_slow
        movq    CP_H_KEY(%rdi), %rax
        subq    %r11, %rax
        xorq    %rsi, %rax
        xorq    %r10, %rax
        testl   $0xffff, %eax
        jnz     .Lfree_slow                     /* tag */
        movq    CP_H_TOP(%rdi,%r11,8), %rax
        cmpq    CP_H_LIM(%rdi,%r11,8), %rax
        je      .Lfree_map
        movq    %rsi, (%rax)
        addq    $8, %rax
        movq    %rax, CP_H_TOP(%rdi,%r11,8)
        btsq    $CP_CACHED_BIT, -8(%rsi)
        xorl    %eax, %eax
        ret
        .p2align 4
.Lfree_map:
        btsq    $CP_FREE_BIT, -8(%rsi)
        xorl    %eax, %eax
        btsq    %r9, %rax
        orq     %rax, CP_S_FREE_MAP(%rdx,%r8,8)
        shrl    $CP_PAGE_SHIFT, %ecx
        shll    $CP_PI_SHIFT, %ecx
        leaq    CP_S_PAGES(%rdx,%rcx), %rsi     /* the block's page_info */
        cmpb    $0, CP_PI_LISTED(%rsi)
        je      .Lfree_list
        xorl    %eax, %eax
        ret
.Lfree_list:
        jmp     cp_list_page                    /* (h, page_info) -> 0 */
.Lfree_slow:
        jmp     cp_free_slow
        .cfi_endproc
        .size   gl_heap_free, .-gl_heap_free

        .section .note.GNU-stack, "", @progbits
