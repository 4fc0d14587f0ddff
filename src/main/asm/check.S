/*
 * check.S - gl_heap_check: verify every invariant of a heap.
 *
 * After flushing the recently-freed cache, the check walks every segment
 * block by block, then every bin, then every large block, and compares what
 * it counted with the statistics.  It stops at the first violation and
 * reports its GL_CHECK_* code, the address where it was found and the value
 * seen there.  Invariants, in the order they are checked:
 *   segment   registered, magic and owner right, fenceposts intact;
 *   blocks    tag matches the address, size >= 32 and inside the segment,
 *             headers tile the segment exactly up to the end fencepost,
 *             PREV_FREE equals the previous block's FREE, no two adjacent
 *             free blocks, free blocks (except the top) carry a footer equal
 *             to their size (the top, which is in no bin, needs none);
 *   starts    the segment's bitmap of block starts has the bit of every
 *             block set, and no other;
 *   bins      every entry is ours, free, of the bin's size range, not the
 *             top, and its back link agrees; the bitmap bit is set exactly
 *             for non-empty bins; the bins hold exactly the free blocks;
 *   large     every large block is registered and its descriptor intact;
 *   registry  the sets hold exactly the listed segments and large blocks;
 *   stats     live blocks/bytes, free bytes, per-class counts, segment and
 *             large counts equal what the walk found.
 * The walk never leaves memory the registry says is the heap's.
 */
#include "gl_layout.h"

#define CK_CLASS        0                       /* u64[64] */
#define CK_LIVE_BYTES   512
#define CK_LIVE_BLOCKS  520
#define CK_FREE_BYTES   528
#define CK_NFREE        536                     /* binned free blocks seen by the walk */
#define CK_NSEG         544
#define CK_BLOCKS       552
#define CK_TOP_SEEN     560
#define CK_BIN_ENTRIES  568
#define CK_NLARGE       576
#define CK_SEG_BLOCKS   584                     /* blocks of the segment being walked */
#define CK_FRAME        592

/* report code at address with detail, then stop */
.macro FAIL code, addr, detail
        movl    $\code, %eax
        movq    \addr, %rcx
        movq    \detail, %rdx
        jmp     .Lck_fail
.endm


        .text

/*
 * int gl_heap_check(gl_heap *h, gl_check_report *r)
 *   0 when every invariant holds, else the GL_CHECK_* code of the first
 *   violation (also in r->code, with r->address and r->detail).  r may be
 *   NULL.  Flushes the recently-freed cache.
 */
ENTRY(gl_heap_check)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__check_owned
        DEFAULT_OR_LOCKED gl__check_default, gl__check_locked
        LOCKED_FORWARD gl__check_owned
END(gl_heap_check)

HIDDEN_ENTRY(gl__check_owned)
        SAVE_ALL
        subq    $CK_FRAME, %rsp
        .cfi_adjust_cfa_offset CK_FRAME
        movq    %rdi, %rbx
        movq    %rsi, %r12                      /* report, may be NULL */
        movq    %rsp, %rdi
        movl    $CK_FRAME / 8, %ecx
        xorl    %eax, %eax
        rep stosq
        movq    %rbx, %rdi
        call    gl__flush_all

        /* ---- segments ---------------------------------------------- */
        movq    H_SEG_LIST(%rbx), %r13
.Lck_seg:
        testq   %r13, %r13
        jz      .Lck_segs_done
        incq    CK_NSEG(%rsp)
        movq    CK_NSEG(%rsp), %rax
        cmpq    H_NSEG(%rbx), %rax              /* a cycle in the list */
        ja      .Lck_fail_registry_list
        leaq    H_SEGSET(%rbx), %rdi
        movq    %r13, %rsi
        shrq    $SEG_SHIFT, %rsi
        call    gl__set_find
        testq   %rax, %rax
        jz      .Lck_fail_registry_seg
        movq    H_SECRET(%rbx), %rax
        xorq    %r13, %rax
        cmpq    %rax, SEG_MAGIC(%r13)
        jne     .Lck_fail_seg_magic
        cmpq    %rbx, SEG_HEAP(%r13)
        jne     .Lck_fail_seg_magic
        leaq    SEG_START_FENCE(%r13), %r14
        movq    (%r14), %r15
        TAG_OK  %rbx, %r14, %r15, %rax, %rdx
        jnz     .Lck_fail_fence
        btq     $HDR_FENCE_BIT, %r15
        jnc     .Lck_fail_fence
        HSIZE   %r15, %rax
        cmpq    $START_FENCE_SIZE, %rax
        jne     .Lck_fail_fence
        /* blocks */
        movq    $0, CK_SEG_BLOCKS(%rsp)
        leaq    SEG_FIRST(%r13), %r14           /* cursor */
        leaq    SEG_END_FENCE(%r13), %rbp       /* limit */
        xorl    %r8d, %r8d                      /* previous block free? */
.Lck_block:
        cmpq    %rbp, %r14
        jae     .Lck_seg_end
        incq    CK_BLOCKS(%rsp)
        movq    (%r14), %r15
        TAG_OK  %rbx, %r14, %r15, %rax, %rdx
        jnz     .Lck_fail_tag
        btq     $HDR_FENCE_BIT, %r15
        jc      .Lck_fail_fence_inside
        btq     $HDR_LARGE_BIT, %r15
        jc      .Lck_fail_size
        HSIZE   %r15, %r9
        cmpq    $MIN_BLOCK, %r9
        jb      .Lck_fail_size
        leaq    (%r14,%r9), %rax
        cmpq    %rbp, %rax
        ja      .Lck_fail_size
        leaq    8(%r14), %rcx
        STARTS_TEST %rcx, %rax, %rdx
        jnc     .Lck_fail_starts
        incq    CK_SEG_BLOCKS(%rsp)
        /* PREV_FREE must say what the previous block is */
        xorl    %eax, %eax
        testq   $HDR_PREV_FREE, %r15
        setnz   %al
        cmpl    %r8d, %eax
        jne     .Lck_fail_prev_free
        btq     $HDR_FREE_BIT, %r15
        jnc     .Lck_used
        btq     $HDR_CACHED_BIT, %r15
        jc      .Lck_fail_size
        testl   %r8d, %r8d
        jnz     .Lck_fail_adjacent
        addq    %r9, CK_FREE_BYTES(%rsp)
        movl    $1, %r8d
        cmpq    H_TOP(%rbx), %r14
        jne     .Lck_binned_free
        incq    CK_TOP_SEEN(%rsp)
        jmp     .Lck_next
.Lck_binned_free:
        incq    CK_NFREE(%rsp)
        cmpq    -8(%r14,%r9), %r9
        jne     .Lck_fail_footer
        jmp     .Lck_next
.Lck_used:
        btq     $HDR_CACHED_BIT, %r15           /* the cache was flushed */
        jc      .Lck_fail_stats_cached
        xorl    %r8d, %r8d
        incq    CK_LIVE_BLOCKS(%rsp)
        leaq    -8(%r9), %rax
        addq    %rax, CK_LIVE_BYTES(%rsp)
        cmpq    $SMALL_MAX_BLOCK, %r9
        ja      .Lck_next
        movq    %r9, %rax
        shrq    $4, %rax
        incq    CK_CLASS(%rsp,%rax,8)
.Lck_next:
        addq    %r9, %r14
        jmp     .Lck_block
.Lck_seg_end:
        cmpq    %rbp, %r14
        jne     .Lck_fail_size
        movq    (%r14), %r15
        TAG_OK  %rbx, %r14, %r15, %rax, %rdx
        jnz     .Lck_fail_fence
        btq     $HDR_FENCE_BIT, %r15
        jnc     .Lck_fail_fence
        xorl    %eax, %eax
        testq   $HDR_PREV_FREE, %r15
        setnz   %al
        cmpl    %r8d, %eax
        jne     .Lck_fail_prev_free
        /* every block's bit was set; no other may be: count them */
        leaq    SEG_STARTS(%r13), %rsi
        leaq    SEG_STARTS + SEG_STARTS_BYTES(%r13), %rdi
        xorl    %ecx, %ecx
1:      movq    (%rsi), %rax
2:      testq   %rax, %rax
        jz      3f
        leaq    -1(%rax), %rdx
        andq    %rdx, %rax                      /* the lowest bit goes */
        incq    %rcx
        jmp     2b
3:      addq    $8, %rsi
        cmpq    %rdi, %rsi
        jb      1b
        cmpq    CK_SEG_BLOCKS(%rsp), %rcx
        jne     .Lck_fail_starts_count
        movq    SEG_NEXT(%r13), %r13
        jmp     .Lck_seg
.Lck_segs_done:
        movq    CK_NSEG(%rsp), %rax
        cmpq    H_NSEG(%rbx), %rax
        jne     .Lck_fail_registry_list
        cmpq    H_SEGSET+SET_COUNT(%rbx), %rax
        jne     .Lck_fail_registry_list
        movq    H_TOP(%rbx), %rax
        testq   %rax, %rax
        jz      1f
        cmpq    $1, CK_TOP_SEEN(%rsp)
        jne     .Lck_fail_top_missing
1:
        /* fast table entries must name registered segments */
        xorl    %r14d, %r14d
.Lck_segtab:
        movq    H_SEGTAB(%rbx,%r14,8), %rsi
        cmpq    $SEGTAB_EMPTY, %rsi
        je      2f
        btrq    $SEGTAB_ALIGN_BIT, %rsi
        movq    %rsi, %r15
        leaq    H_SEGSET(%rbx), %rdi
        call    gl__set_find
        testq   %rax, %rax
        jz      .Lck_fail_segtab
        movzbl  %r15b, %eax
        cmpq    %rax, %r14
        jne     .Lck_fail_segtab
2:      incl    %r14d
        cmpl    $SEGTAB_ENTRIES, %r14d
        jb      .Lck_segtab

        /* ---- bins ---------------------------------------------------- */
        xorl    %r13d, %r13d                    /* bin */
.Lck_bin:
        cmpl    $NBINS, %r13d
        jae     .Lck_bins_done
        movq    %r13, %rax
        shlq    $4, %rax
        leaq    H_BINS-8(%rbx,%rax), %rbp       /* sentinel */
        movq    %rbp, %r14                      /* previous node */
        xorl    %r8d, %r8d                      /* entries in this bin */
.Lck_entry:
        movq    8(%r14), %r15
        xorq    H_LINK_KEY(%rbx), %r15          /* node */
        cmpq    %rbp, %r15
        je      .Lck_bin_end
        pushq   %r8
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rbx, %rdi
        movq    %r15, %rsi
        call    gl__link_ok
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r8
        .cfi_adjust_cfa_offset -8
        testl   %eax, %eax
        jz      .Lck_fail_links
        movq    16(%r15), %rax
        xorq    H_LINK_KEY(%rbx), %rax
        cmpq    %r14, %rax                      /* back link */
        jne     .Lck_fail_links
        incq    %r8
        movq    CK_NFREE(%rsp), %rax
        cmpq    %rax, %r8                       /* more entries than free blocks: a cycle */
        ja      .Lck_fail_not_in_bin
        cmpq    H_TOP(%rbx), %r15
        je      .Lck_fail_entry
        movq    (%r15), %rcx
        TAG_OK  %rbx, %r15, %rcx, %rax, %rdx
        jnz     .Lck_fail_entry_rcx
        btq     $HDR_FREE_BIT, %rcx
        jnc     .Lck_fail_entry_rcx
        HSIZE   %rcx, %rdx
        call    gl__bin_index                   /* clobbers rax, rcx */
        cmpq    %r13, %rax
        jne     .Lck_fail_entry
        movq    %r15, %r14
        jmp     .Lck_entry
.Lck_bin_end:
        /* the sentinel's back link closes the circle */
        movq    16(%rbp), %rax
        xorq    H_LINK_KEY(%rbx), %rax
        cmpq    %r14, %rax
        jne     .Lck_fail_links_sentinel
        addq    %r8, CK_BIN_ENTRIES(%rsp)
        movl    %r13d, %ecx
        shrl    $6, %ecx
        movq    H_BITMAP(%rbx,%rcx,8), %rax
        xorl    %edx, %edx
        btq     %r13, %rax
        setc    %dl
        xorl    %eax, %eax
        testq   %r8, %r8
        setnz   %al
        cmpl    %eax, %edx
        jne     .Lck_fail_bitmap
        incl    %r13d
        jmp     .Lck_bin
.Lck_bins_done:
        movq    CK_BIN_ENTRIES(%rsp), %rax
        cmpq    CK_NFREE(%rsp), %rax
        jne     .Lck_find_unbinned

        /* ---- large blocks ------------------------------------------ */
        movq    H_LARGE_LIST(%rbx), %r13
.Lck_large:
        testq   %r13, %r13
        jz      .Lck_large_done
        incq    CK_NLARGE(%rsp)
        movq    CK_NLARGE(%rsp), %rax
        cmpq    H_NLARGE(%rbx), %rax
        ja      .Lck_fail_large_count
        leaq    H_LARGESET(%rbx), %rdi
        movq    %r13, %rsi
        call    gl__set_find
        testq   %rax, %rax
        jz      .Lck_fail_large_reg
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__large_valid
        testl   %eax, %eax
        jz      .Lck_fail_large
        incq    CK_LIVE_BLOCKS(%rsp)
        movq    LG_USABLE(%r13), %rax
        addq    %rax, CK_LIVE_BYTES(%rsp)
        incq    CK_BLOCKS(%rsp)
        movq    LG_NEXT(%r13), %r13
        jmp     .Lck_large
.Lck_large_done:
        movq    CK_NLARGE(%rsp), %rax
        cmpq    H_NLARGE(%rbx), %rax
        jne     .Lck_fail_large_count
        cmpq    H_LARGESET+SET_COUNT(%rbx), %rax
        jne     .Lck_fail_large_count

        /* ---- statistics --------------------------------------------- */
        movq    CK_LIVE_BLOCKS(%rsp), %rax
        cmpq    H_LIVE_BLOCKS(%rbx), %rax
        jne     .Lck_fail_stats_blocks
        movq    CK_LIVE_BYTES(%rsp), %rax
        cmpq    H_LIVE_BYTES(%rbx), %rax
        jne     .Lck_fail_stats_bytes
        movq    CK_FREE_BYTES(%rsp), %rax
        cmpq    H_FREE_BYTES(%rbx), %rax
        jne     .Lck_fail_stats_free
        xorl    %ecx, %ecx
3:      movq    CK_CLASS(%rsp,%rcx,8), %rax
        cmpq    H_CLASS_LIVE(%rbx,%rcx,8), %rax
        jne     .Lck_fail_stats_class
        incl    %ecx
        cmpl    $GL_SMALL_CLASSES_N, %ecx
        jb      3b
        xorl    %eax, %eax
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        jmp     .Lck_report

.Lck_find_unbinned:
        /* Some free block is in no bin: find the first one, walking every
         * free block's bin (error path only). */
        movq    H_SEG_LIST(%rbx), %r13
.Lub_seg:
        testq   %r13, %r13
        jz      .Lck_fail_not_in_bin_count
        leaq    SEG_FIRST(%r13), %r14
.Lub_block:
        leaq    SEG_END_FENCE(%r13), %rax
        cmpq    %rax, %r14
        jae     .Lub_seg_next
        movq    (%r14), %r15
        HSIZE   %r15, %r9
        btq     $HDR_FREE_BIT, %r15
        jnc     .Lub_step
        cmpq    H_TOP(%rbx), %r14
        je      .Lub_step
        movq    %r9, %rdx
        call    gl__bin_index
        shlq    $4, %rax
        leaq    H_BINS-8(%rbx,%rax), %rbp       /* sentinel */
        movq    %rbp, %rsi
        movq    CK_BIN_ENTRIES(%rsp), %rcx
        incq    %rcx                            /* bound on the steps */
.Lub_search:
        movq    8(%rsi), %rsi
        xorq    H_LINK_KEY(%rbx), %rsi
        cmpq    %r14, %rsi
        je      .Lub_step                       /* found: it is binned */
        cmpq    %rbp, %rsi
        je      .Lub_missing
        decq    %rcx
        jz      .Lub_missing
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        movq    %rbx, %rdi
        call    gl__link_ok
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        testl   %eax, %eax
        jz      .Lub_missing
        jmp     .Lub_search
.Lub_step:
        addq    %r9, %r14
        jmp     .Lub_block
.Lub_seg_next:
        movq    SEG_NEXT(%r13), %r13
        jmp     .Lub_seg
.Lub_missing:
        FAIL    GL_CHECK_NOT_IN_BIN, %r14, %r15

.Lck_fail_registry_list:
        FAIL    GL_CHECK_REGISTRY, %r13, CK_NSEG(%rsp)
.Lck_fail_registry_seg:
        FAIL    GL_CHECK_REGISTRY, %r13, $0
.Lck_fail_segtab:
        FAIL    GL_CHECK_REGISTRY, %r15, %r14
.Lck_fail_seg_magic:
        FAIL    GL_CHECK_FENCEPOST, %r13, SEG_MAGIC(%r13)
.Lck_fail_fence:
        FAIL    GL_CHECK_FENCEPOST, %r14, %r15
.Lck_fail_fence_inside:
        FAIL    GL_CHECK_FENCEPOST, %r14, %r15
.Lck_fail_tag:
        FAIL    GL_CHECK_BAD_TAG, %r14, %r15
.Lck_fail_size:
        FAIL    GL_CHECK_BAD_SIZE, %r14, %r15
.Lck_fail_starts:
        FAIL    GL_CHECK_STARTS, %r14, %r15
.Lck_fail_starts_count:
        movq    %rcx, %rdx
        FAIL    GL_CHECK_STARTS, %r13, %rdx
.Lck_fail_prev_free:
        FAIL    GL_CHECK_PREV_FREE, %r14, %r15
.Lck_fail_adjacent:
        FAIL    GL_CHECK_ADJACENT_FREE, %r14, %r15
.Lck_fail_footer:
        movq    -8(%r14,%r9), %r15
        FAIL    GL_CHECK_BAD_FOOTER, %r14, %r15
.Lck_fail_top_missing:
        FAIL    GL_CHECK_TOP, H_TOP(%rbx), CK_TOP_SEEN(%rsp)
.Lck_fail_stats_cached:
        FAIL    GL_CHECK_STATS, %r14, %r15
.Lck_fail_links:
        FAIL    GL_CHECK_BIN_LINKS, %r14, %r15
.Lck_fail_links_sentinel:
        FAIL    GL_CHECK_BIN_LINKS, %rbp, %r13
.Lck_fail_entry:
        FAIL    GL_CHECK_BIN_ENTRY, %r15, (%r15)
.Lck_fail_entry_rcx:
        FAIL    GL_CHECK_BIN_ENTRY, %r15, %rcx
.Lck_fail_not_in_bin:
        FAIL    GL_CHECK_NOT_IN_BIN, %r15, %r13
.Lck_fail_not_in_bin_count:
        FAIL    GL_CHECK_NOT_IN_BIN, $0, CK_BIN_ENTRIES(%rsp)
.Lck_fail_bitmap:
        FAIL    GL_CHECK_BITMAP, %rbp, %r13
.Lck_fail_large_count:
        FAIL    GL_CHECK_REGISTRY, %r13, CK_NLARGE(%rsp)
.Lck_fail_large_reg:
        FAIL    GL_CHECK_REGISTRY, %r13, $1
.Lck_fail_large:
        FAIL    GL_CHECK_LARGE, %r13, LG_MAGIC(%r13)
.Lck_fail_stats_blocks:
        FAIL    GL_CHECK_STATS, $0, CK_LIVE_BLOCKS(%rsp)
.Lck_fail_stats_bytes:
        FAIL    GL_CHECK_STATS, $0, CK_LIVE_BYTES(%rsp)
.Lck_fail_stats_free:
        FAIL    GL_CHECK_STATS, $0, CK_FREE_BYTES(%rsp)
.Lck_fail_stats_class:
        movq    CK_CLASS(%rsp,%rcx,8), %r15
        FAIL    GL_CHECK_STATS, %rcx, %r15

.Lck_fail:
        pushq   %rax
        .cfi_adjust_cfa_offset 8
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rbx, %rdi
        movl    $GL_E_CORRUPT, %esi
        call    gl__record_error
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        popq    %rax
        .cfi_adjust_cfa_offset -8
.Lck_report:
        testq   %r12, %r12
        jz      1f
        movq    %rax, CR_CODE(%r12)
        movq    %rcx, CR_ADDRESS(%r12)
        movq    %rdx, CR_DETAIL(%r12)
        movq    CK_BLOCKS(%rsp), %rcx
        movq    %rcx, CR_BLOCKS(%r12)
1:      addq    $CK_FRAME, %rsp
        .cfi_adjust_cfa_offset -CK_FRAME
        RESTORE_ALL
        ret
END(gl__check_owned)

        .section .note.GNU-stack, "", @progbits
