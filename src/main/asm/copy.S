/*
 * copy.S - byte moves: realloc's copy of a block it moves, calloc's clearing.
 *
 * The blocks are small more often than not (a runtime grows its tables and
 * buffers a doubling at a time, from a few dozen bytes), and there
 * rep movsb/stosb costs more in start-up than the move itself: 4 ns for
 * 24 bytes and 19 ns for 504, against 2 ns and 9 ns in 16-byte vectors
 * (measured on this machine kind; design.md).  So up to VECTOR_MOVE_MAX
 * bytes move in unaligned 16-byte SSE2 vectors, 32 bytes a step from the
 * start, and the last 32 (or 16) bytes as one unit that may overlap the
 * step before it -- no tail loop, no byte moves, and never a byte outside
 * [dst, dst + n).  Fewer than 16 bytes, and longer runs, where the string
 * instructions stream at full width, use rep movsb/stosb.  SSE2 is part of
 * x86-64, so there is nothing to detect.
 */
#include "gl_layout.h"

        .text

/*
 * gl__copy(dst, src, n): copies n bytes; the two ranges do not overlap.
 *   rdi = dst, rsi = src, rcx = n.  Leaf.  Keeps rax and r8-r11.
 *   Clobbers rcx, rdx, rsi, rdi, xmm0-xmm3.
 */
        .p2align 4
HIDDEN_ENTRY(gl__copy)
        cmpq    $16, %rcx
        jb      .Lcopy_string
        cmpq    $32, %rcx
        ja      .Lcopy_over_32
        movups  (%rsi), %xmm0                   /* 16..32: head and tail */
        movups  -16(%rsi,%rcx), %xmm1
        movups  %xmm0, (%rdi)
        movups  %xmm1, -16(%rdi,%rcx)
        ret
.Lcopy_over_32:
        cmpq    $VECTOR_MOVE_MAX, %rcx
        ja      .Lcopy_string
        movups  -32(%rsi,%rcx), %xmm2           /* the last 32 bytes */
        movups  -16(%rsi,%rcx), %xmm3
        subq    $32, %rcx                       /* where they go: n - 32 > 0 */
        xorl    %edx, %edx
        .p2align 4
.Lcopy_step:
        movups  (%rsi,%rdx), %xmm0
        movups  16(%rsi,%rdx), %xmm1
        movups  %xmm0, (%rdi,%rdx)
        movups  %xmm1, 16(%rdi,%rdx)
        addq    $32, %rdx
        cmpq    %rcx, %rdx
        jb      .Lcopy_step
        movups  %xmm2, (%rdi,%rcx)
        movups  %xmm3, 16(%rdi,%rcx)
        ret
.Lcopy_string:
        rep movsb
        ret
END(gl__copy)

/*
 * gl__zero(dst, n): clears n bytes.
 *   rdi = dst, rcx = n.  Leaf.  Keeps rsi and r8-r11.
 *   Clobbers rax, rcx, rdx, rdi, xmm0.
 */
        .p2align 4
HIDDEN_ENTRY(gl__zero)
        cmpq    $16, %rcx
        jb      .Lzero_string
        cmpq    $VECTOR_MOVE_MAX, %rcx
        ja      .Lzero_string
        pxor    %xmm0, %xmm0
        movups  %xmm0, -16(%rdi,%rcx)           /* the last 16 bytes */
        cmpq    $32, %rcx
        jbe     .Lzero_head
        movups  %xmm0, -32(%rdi,%rcx)           /* the last 32 */
        subq    $32, %rcx                       /* n - 32 > 0 */
        xorl    %edx, %edx
        .p2align 4
.Lzero_step:
        movups  %xmm0, (%rdi,%rdx)
        movups  %xmm0, 16(%rdi,%rdx)
        addq    $32, %rdx
        cmpq    %rcx, %rdx
        jb      .Lzero_step
        ret
.Lzero_head:
        movups  %xmm0, (%rdi)                   /* 16..32: head and tail */
        ret
.Lzero_string:
        xorl    %eax, %eax
        rep stosb
        ret
END(gl__zero)

        .section .note.GNU-stack, "", @progbits
