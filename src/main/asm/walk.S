/*
 * walk.S - gl_heap_walk: visit every block of a heap, for heap maps and tests.
 *
 * A cursor-based walk: the caller zeroes a gl_block_info and calls
 * gl_heap_walk until it returns 0.  The cursor (BI_CURSOR) holds a phase
 * (0 start, 1 in segments, 2 in large blocks, 3 done), the next header or
 * large block to visit, and the current segment.  Nothing in the cursor is
 * trusted: the segment must be registered and the header inside it, the large
 * block must be registered, before anything behind them is read.  The walk
 * leaves the heap untouched (the recently-freed cache shows as CACHED).
 */
#include "gl_layout.h"


        .text

ENTRY(gl_heap_walk)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__walk_owned
        DEFAULT_OR_LOCKED gl__walk_default, gl__walk_locked
        LOCKED_FORWARD gl__walk_owned
END(gl_heap_walk)

/*
 * gl__walk_owned(heap, info) -> 1 block produced, 0 end, GL_E_* bad cursor
 */
HIDDEN_ENTRY(gl__walk_owned)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        CFI_PUSH %r14
        CFI_PUSH %r15
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    WALK_PHASE(%r12), %rax
        cmpq    $1, %rax
        je      .Lwk_segment
        cmpq    $2, %rax
        je      .Lwk_large
        cmpq    $3, %rax
        je      .Lwk_end
        testq   %rax, %rax
        jnz     .Lwk_bad_cursor
        /* start */
        movq    H_SEG_LIST(%rbx), %r13
        testq   %r13, %r13
        jz      .Lwk_to_large
        leaq    SEG_FIRST(%r13), %r14
        jmp     .Lwk_visit
.Lwk_segment:
        movq    WALK_SEGMENT(%r12), %r13
        movq    WALK_NEXT(%r12), %r14
        leaq    H_SEGSET(%rbx), %rdi
        movq    %r13, %rsi
        shrq    $SEG_SHIFT, %rsi
        call    gl__set_find
        testq   %rax, %rax
        jz      .Lwk_bad_cursor
        testl   $SEG_OFFSET_MASK, %r13d
        jnz     .Lwk_bad_cursor
        movq    %r14, %rax
        subq    %r13, %rax
        cmpq    $SEG_FIRST, %rax
        jb      .Lwk_bad_cursor
        cmpq    $SEG_END_FENCE, %rax
        ja      .Lwk_bad_cursor
        andl    $15, %eax
        cmpl    $8, %eax
        jne     .Lwk_bad_cursor
.Lwk_visit:
        /* r13 = segment, r14 = header to visit (may be the end fencepost) */
        leaq    SEG_END_FENCE(%r13), %rax
        cmpq    %rax, %r14
        jb      .Lwk_block
        movq    SEG_NEXT(%r13), %r13
        testq   %r13, %r13
        jz      .Lwk_to_large
        leaq    SEG_FIRST(%r13), %r14
        jmp     .Lwk_visit
.Lwk_block:
        movq    (%r14), %r15
        TAG_OK  %rbx, %r14, %r15, %rax, %rcx
        jnz     .Lwk_corrupt
        HSIZE   %r15, %rcx
        cmpq    $MIN_BLOCK, %rcx
        jb      .Lwk_corrupt
        leaq    (%r14,%rcx), %rdx
        leaq    SEG_END_FENCE(%r13), %rax
        cmpq    %rax, %rdx
        ja      .Lwk_corrupt
        movl    $GL_BLOCK_USED, %eax
        movl    $GL_BLOCK_FREE, %r8d
        btq     $HDR_FREE_BIT, %r15
        cmovcl  %r8d, %eax
        movl    $GL_BLOCK_CACHED, %r8d
        btq     $HDR_CACHED_BIT, %r15
        cmovcl  %r8d, %eax
        movq    %rax, BI_STATE(%r12)
        leaq    8(%r14), %rax
        movq    %rax, BI_ADDRESS(%r12)
        movq    %rcx, BI_SIZE(%r12)
        movq    $1, WALK_PHASE(%r12)
        movq    %rdx, WALK_NEXT(%r12)
        movq    %r13, WALK_SEGMENT(%r12)
        movl    $1, %eax
        jmp     .Lwk_out
.Lwk_to_large:
        movq    H_LARGE_LIST(%rbx), %r14
        movq    $2, WALK_PHASE(%r12)
        movq    %r14, WALK_NEXT(%r12)
.Lwk_large:
        movq    WALK_NEXT(%r12), %r14
        testq   %r14, %r14
        jz      .Lwk_finish
        leaq    H_LARGESET(%rbx), %rdi
        movq    %r14, %rsi
        call    gl__set_find
        testq   %rax, %rax
        jz      .Lwk_bad_cursor
        movq    %r14, BI_ADDRESS(%r12)
        movq    LG_USABLE(%r14), %rax
        movq    %rax, BI_SIZE(%r12)
        movq    $GL_BLOCK_LARGE, BI_STATE(%r12)
        movq    LG_NEXT(%r14), %rax
        movq    %rax, WALK_NEXT(%r12)
        movl    $1, %eax
        jmp     .Lwk_out
.Lwk_finish:
        movq    $3, WALK_PHASE(%r12)
.Lwk_end:
        xorl    %eax, %eax
        jmp     .Lwk_out
.Lwk_corrupt:
        movl    $GL_E_CORRUPT, %eax
        jmp     .Lwk_out
.Lwk_bad_cursor:
        movl    $GL_E_NOT_OURS, %eax
.Lwk_out:
        CFI_POP %r15
        CFI_POP %r14
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__walk_owned)

        .section .note.GNU-stack, "", @progbits
