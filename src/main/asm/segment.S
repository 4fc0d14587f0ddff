/*
 * segment.S - 2 MiB segments: map, format, register, release.
 *
 * A segment is SEG_SIZE bytes at a SEG_SIZE-aligned address, so a block's
 * segment is one AND away.  It starts with a header (magic = address XOR the
 * heap secret, owner, list links) and is bracketed by two fenceposts,
 * permanently in-use pseudo-blocks, so coalescing never leaves the segment.
 *
 * The heap has one top (wilderness) block: the free tail of the newest
 * segment, carved by bumping a pointer and not kept in any bin.  When a new
 * segment arrives, the old top is retired into its bin.
 */
#include "gl_layout.h"

        .text

/*
 * gl__segment_format(heap, seg)
 *   Writes the fenceposts and one free block spanning the segment.  The block
 *   becomes the top if the heap has none, else it goes to its bin.  Adds
 *   SEG_USABLE to H_FREE_BYTES.  rdi = owned heap, rsi = segment.
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__segment_format)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        movq    %rsi, %r12
        /* start fencepost */
        leaq    SEG_START_FENCE(%r12), %rsi
        movl    $START_FENCE_SIZE, %edx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FENCE_BIT, %rax
        movq    %rax, (%rsi)
        /* end fencepost: size 0, the block before it is free */
        leaq    SEG_END_FENCE(%r12), %rsi
        xorl    %edx, %edx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FENCE_BIT, %rax
        orq     $HDR_PREV_FREE, %rax
        movq    %rax, (%rsi)
        /* one free block between them (the bitmap of block starts is zero:
         * a fresh mapping, or cleared by gl__segment_clear_starts) */
        leaq    SEG_FIRST(%r12), %rsi
        movl    $SEG_USABLE, %edx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        STARTS_UPDATE btsq, %rsi, %rax, %rcx, %r8
        addq    $SEG_USABLE, H_FREE_BYTES(%rbx)
        cmpq    $0, H_TOP(%rbx)
        jne     1f
        movq    %rsi, H_TOP(%rbx)
        leaq    8(%rsi), %rax
        movq    %rax, H_TOP_CLEAN(%rbx)
        leaq    SEG_FIRST & -PAGE_SIZE(%r12), %rax
        movq    %rax, H_TOP_READY(%rbx)         /* nothing populated ahead yet (the pages below: header, bitmap) */
        jmp     2f
1:      movq    %rdx, SEG_END_FENCE-8(%r12)     /* footer */
        movq    %rbx, %rdi
        call    gl__bin_insert                  /* rsi = block, rdx = size */
2:      addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__segment_format)

/*
 * gl__segment_clear_starts(seg)
 *   Clears the segment's bitmap of block starts: no block starts anywhere in
 *   it until gl__segment_format makes one free block again.  A pointer from
 *   before then is looked for in the bitmap, never behind its header word
 *   (which may still pass its tag), so it reads as a pointer into free
 *   memory.  rdi = segment.  Leaf.  Clobbers rax, rcx, rdi.
 */
HIDDEN_ENTRY(gl__segment_clear_starts)
        addq    $SEG_STARTS, %rdi
        movl    $SEG_STARTS_BYTES / 8, %ecx
        xorl    %eax, %eax
        rep stosq
        ret
END(gl__segment_clear_starts)

/*
 * gl__mark_start: STARTS_UPDATE btsq for the header address at 8(%rsp)
 * (MARK_START pushes it), for callers whose registers are all taken.
 * Every register is kept; flags are clobbered.  Leaf.
 */
HIDDEN_ENTRY(gl__mark_start)
        CFI_PUSH %rax
        CFI_PUSH %rcx
        CFI_PUSH %rdx
        CFI_PUSH %r8
        movq    40(%rsp), %r8
        STARTS_UPDATE btsq, %r8, %rax, %rcx, %rdx
        CFI_POP %r8
        CFI_POP %rdx
        CFI_POP %rcx
        CFI_POP %rax
        ret
END(gl__mark_start)

/* the layout comment of gl_layout.h gives these offsets in numbers */
.if SEG_START_FENCE != 16456 || SEG_FIRST != 16472
        .error "gl_layout.h: the segment layout comment needs the new offsets"
.endif

/*
 * gl__segment_new(heap) -> segment or 0
 *   Maps an aligned segment, registers it (H_SEGSET and, when its slot is
 *   free, the fast table H_SEGTAB), links it first in H_SEG_LIST.  Does not
 *   format it.  rdi = owned heap.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__segment_new)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        movl    $SEG_SIZE, %esi
        movl    $SEG_SIZE, %edx
        call    gl__os_map_aligned
        testq   %rax, %rax
        jz      .Lnew_out
        movq    %rax, %r12
        testl   $HF_HUGE_PAGES, H_FLAGS(%rbx)
        jz      3f
        movq    %rax, %rdi
        movl    $SEG_SIZE, %esi
        call    gl__os_advise_huge
3:      movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_segment_mapped        /* an arena's: the map names it */
        testl   %eax, %eax
        jnz     .Lnew_unmap
        movq    %rbx, %rdi
        leaq    H_SEGSET(%rbx), %rsi
        movq    %r12, %rdx
        shrq    $SEG_SHIFT, %rdx
        call    gl__set_insert
        testq   %rax, %rax
        jnz     .Lnew_unmap
        /* fast table */
        movq    %r12, %rax
        shrq    $SEG_SHIFT, %rax
        movzbl  %al, %ecx
        cmpq    $SEGTAB_EMPTY, H_SEGTAB(%rbx,%rcx,8)
        jne     1f
        btsq    $SEGTAB_ALIGN_BIT, %rax
        movq    %rax, H_SEGTAB(%rbx,%rcx,8)
1:      /* header */
        movq    H_SECRET(%rbx), %rax
        xorq    %r12, %rax
        movq    %rax, SEG_MAGIC(%r12)
        movq    %rbx, SEG_HEAP(%r12)
        LIST_PUSH_FRONT H_SEG_LIST(%rbx), %r12, SEG_NEXT, SEG_PREV, %rax
        incq    H_NSEG(%rbx)
        movq    %r12, %rax
        jmp     .Lnew_out
.Lnew_unmap:
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_segment_unmapped
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movl    $SEG_SIZE, %edx
        call    gl__os_unmap
        xorl    %eax, %eax
.Lnew_out:
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__segment_new)

/*
 * gl__segment_release(heap, seg)
 *   Gives an empty segment back to the OS.  The caller has checked that its
 *   one block is free and has taken it out of its bin (or off the top).
 *   Unregisters it, unlinks it, unmaps it; subtracts SEG_USABLE from
 *   H_FREE_BYTES.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__segment_release)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        movq    %rsi, %r12
        leaq    H_SEGSET(%rbx), %rdi
        movq    %r12, %rsi
        shrq    $SEG_SHIFT, %rsi
        call    gl__set_remove
        movq    %r12, %rax
        shrq    $SEG_SHIFT, %rax
        movzbl  %al, %ecx
        btsq    $SEGTAB_ALIGN_BIT, %rax
        cmpq    %rax, H_SEGTAB(%rbx,%rcx,8)
        jne     1f
        movq    $SEGTAB_EMPTY, H_SEGTAB(%rbx,%rcx,8)
1:      movq    SEG_NEXT(%r12), %rax
        movq    SEG_PREV(%r12), %rdx
        LIST_REPOINT H_SEG_LIST(%rbx), SEG_NEXT, SEG_PREV, %rdx, %rax, %rdx, %rax
        decq    H_NSEG(%rbx)
        subq    $SEG_USABLE, H_FREE_BYTES(%rbx)
        movq    $0, SEG_MAGIC(%r12)
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_segment_unmapped      /* before the address can be mapped again */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movl    $SEG_SIZE, %edx
        call    gl__os_unmap
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__segment_release)

/*
 * gl__top_prefault -- called by PREFAULT_TOP with two words on the stack:
 *   8(%rsp) = addr, 16(%rsp) = heap; the caller pops them.  The top of a
 *   fresh segment is about to be written below addr, past H_TOP_READY:
 *   populates the window holding addr - 1 -- PREFAULT_FIRST_WINDOW bytes in
 *   the first PREFAULT_FIRST_BYTES of a heap's only segment, PREFAULT_WINDOW
 *   past them and in a heap of several segments, aligned to its size -- and
 *   moves H_TOP_READY to its end.  When the window starts at most one
 *   small window past the mark, the carve was a run of small blocks, whose
 *   headers are all written now: the populated range starts at the mark.
 *   Windows that a large carve jumped over are the block's own and are
 *   left to fault in if the caller touches them.
 *   Keeps every register (flags clobbered).
 */
HIDDEN_ENTRY(gl__top_prefault)
        CFI_PUSH %rax
        CFI_PUSH %rcx
        CFI_PUSH %rdx
        CFI_PUSH %rsi
        CFI_PUSH %rdi
        CFI_PUSH %r11
        movq    56(%rsp), %rdi                  /* addr */
        movq    64(%rsp), %rax                  /* heap */
        decq    %rdi
        movl    $PREFAULT_WINDOW, %esi
        cmpq    $1, H_NSEG(%rax)
        ja      2f                              /* a heap of several segments: large windows */
        movl    %edi, %ecx
        andl    $SEG_OFFSET_MASK, %ecx
        movl    $PREFAULT_FIRST_WINDOW, %edx
        cmpl    $PREFAULT_FIRST_BYTES, %ecx
        cmovbl  %edx, %esi                      /* the window's size */
2:      movq    %rsi, %rcx
        negq    %rcx
        andq    %rcx, %rdi                      /* the window */
        addq    %rdi, %rsi                      /* its end */
        /* a run of small blocks may have jumped a small window, and it
         * writes every spare's header: populate from the mark then */
        movq    %rdi, %rcx
        subq    H_TOP_READY(%rax), %rcx
        cmpq    $PREFAULT_FIRST_WINDOW, %rcx
        ja      1f
        movq    H_TOP_READY(%rax), %rdi
1:      movq    %rsi, H_TOP_READY(%rax)
        subq    %rdi, %rsi                      /* the length */
        call    gl__os_populate
        CFI_POP %r11
        CFI_POP %rdi
        CFI_POP %rsi
        CFI_POP %rdx
        CFI_POP %rcx
        CFI_POP %rax
        ret
END(gl__top_prefault)

/*
 * gl__top_checked(heap) -> rsi = top header or 0, rdx = its size
 *   The top's header is checked (tag, FREE) before anyone carves it or
 *   merges with it.  A damaged top is given up -- H_TOP = 0, GL_E_CORRUPT
 *   recorded, the header left as it is for gl_heap_check to name -- and 0 is
 *   returned.  rdi = heap.  Leaf.  Clobbers rax, rcx, rdx, rsi, r8.
 */
HIDDEN_ENTRY(gl__top_checked)
        movq    H_TOP(%rdi), %rsi
        testq   %rsi, %rsi
        jz      1f
        TAG_OK  %rdi, %rsi, (%rsi), %rax, %rcx
        jnz     2f
        btq     $HDR_FREE_BIT, (%rsi)
        jnc     2f
        HSIZE   (%rsi), %rdx
        ret
1:      xorl    %edx, %edx
        ret
2:      movq    $0, H_TOP(%rdi)
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        movl    $GL_E_CORRUPT, %esi
        call    gl__record_error
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        xorl    %esi, %esi
        xorl    %edx, %edx
        ret
END(gl__top_checked)

/*
 * gl__grow(heap) -> 0, or -1 when the OS refuses memory
 *   Adds a segment and makes its space the top.  The old top, if any, is
 *   retired into its bin first (with a footer, as every binned block has).
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__grow)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        call    gl__segment_new
        testq   %rax, %rax
        jz      .Lgrow_nomem
        movq    %rax, %r12
        movq    H_TOP(%rbx), %rsi
        testq   %rsi, %rsi
        jz      1f
        movq    (%rsi), %rax
        HSIZE   %rax, %rdx
        movq    %rdx, -8(%rsi,%rdx)             /* footer */
        movq    $0, H_TOP(%rbx)
        movq    %rbx, %rdi
        call    gl__bin_insert
1:      movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__segment_format
        xorl    %eax, %eax
        jmp     2f
.Lgrow_nomem:
        movq    $-1, %rax
2:      addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__grow)

        .section .note.GNU-stack, "", @progbits
