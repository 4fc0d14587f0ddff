/*
 * stats.S - gl_heap_stats and gl_heap_trim.
 *
 * The fast paths keep no statistics of their own: the core counts blocks as
 * live while they sit in the recently-freed cache, and gl_heap_stats takes
 * the cache's contents (H_CTOP - H_CBASE) back out when it reports.  So a
 * malloc+free pair through the cache costs no counter updates beyond
 * H_HITS.
 *
 * gl_heap_trim flushes the cache and unmaps its slot arrays, gives empty
 * segments back to the OS, and madvises away the interior pages of free
 * blocks and of the top.
 */
#include "gl_layout.h"

        .text

/*
 * void gl_heap_stats(gl_heap *h, gl_stats *s)
 */
ENTRY(gl_heap_stats)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__stats_owned
        DEFAULT_OR_LOCKED gl__stats_default, gl__stats_front
        CFI_PUSH %rdi
        CFI_PUSH %rsi
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    gl__stats_locked
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %rsi
        CFI_POP %rdi
        /* after the call: a call by a second thread has revoked the bias */
        xorl    %eax, %eax
        cmpq    $0, LK_OWNER(%rdi)
        setne   %al
        movq    %rax, ST_LOCK_BIASED(%rsi)
        ret
END(gl_heap_stats)

        .p2align 4
gl__stats_locked:
        .cfi_startproc
        LOCKED_FORWARD gl__stats_owned
        .cfi_endproc
        .size gl__stats_locked, .-gl__stats_locked

/*
 * gl__stats_owned(heap, s).  Leaf.  Clobbers rax, rcx, rdx, r8-r11.
 */
HIDDEN_ENTRY(gl__stats_owned)
        /* copy the per-class counts, then take the cached blocks out */
        xorl    %r8d, %r8d                      /* cached blocks */
        xorl    %r9d, %r9d                      /* cached usable bytes */
        xorl    %ecx, %ecx
1:      movq    H_CTOP(%rdi,%rcx,8), %rdx
        subq    H_CBASE(%rdi,%rcx,8), %rdx
        shrq    $3, %rdx                        /* cached blocks of the class */
        movq    H_CLASS_LIVE(%rdi,%rcx,8), %rax
        subq    %rdx, %rax
        movq    %rax, ST_CLASS_LIVE(%rsi,%rcx,8)
        addq    %rdx, %r8
        movq    %rcx, %rax
        shlq    $4, %rax
        subq    $8, %rax                        /* usable bytes of the class */
        imulq   %rdx, %rax
        addq    %rax, %r9
        incl    %ecx
        cmpl    $GL_SMALL_CLASSES_N, %ecx
        jb      1b
        /* medium stacks: their blocks' sizes are summed in H_MEDIUM_CACHED */
        addq    H_MEDIUM_CACHED(%rdi), %r9
2:      movq    H_CTOP(%rdi,%rcx,8), %rdx
        subq    H_CBASE(%rdi,%rcx,8), %rdx
        shrq    $3, %rdx
        addq    %rdx, %r8
        shlq    $3, %rdx                        /* their headers are not usable */
        subq    %rdx, %r9
        incl    %ecx
        cmpl    $CACHE_CLASSES_N, %ecx
        jb      2b
        movq    H_LIVE_BYTES(%rdi), %rax
        subq    %r9, %rax
        movq    %rax, ST_LIVE_BYTES(%rsi)
        movq    H_LIVE_BLOCKS(%rdi), %rax
        subq    %r8, %rax
        movq    %rax, ST_LIVE_BLOCKS(%rsi)
        movq    %r8, ST_CACHED_BLOCKS(%rsi)
        movq    H_PEAK_LIVE(%rdi), %rax
        movq    %rax, ST_PEAK_LIVE(%rsi)
        movq    H_FOOTPRINT(%rdi), %rax
        movq    %rax, ST_FOOTPRINT(%rsi)
        movq    H_PEAK_FOOTPRINT(%rdi), %rax
        movq    %rax, ST_PEAK_FOOTPRINT(%rsi)
        movq    H_NSEG(%rdi), %rax
        movq    %rax, ST_SEGMENTS(%rsi)
        movq    H_NLARGE(%rdi), %rax
        movq    %rax, ST_LARGE_BLOCKS(%rsi)
        movq    H_FREE_BYTES(%rdi), %rax
        movq    %rax, ST_FREE_BYTES(%rsi)
        movq    H_HITS(%rdi), %rax
        movq    %rax, ST_CACHE_HITS(%rsi)
        movq    H_SEARCH_STEPS(%rdi), %rax
        movq    %rax, ST_SEARCH_STEPS(%rsi)
        movq    H_OS_MAPS(%rdi), %rax
        movq    %rax, ST_OS_MAPS(%rsi)
        movq    H_OS_UNMAPS(%rdi), %rax
        movq    %rax, ST_OS_UNMAPS(%rsi)
        movq    H_OS_ADVISES(%rdi), %rax
        movq    %rax, ST_OS_ADVISES(%rsi)
        movq    $0, ST_LOCK_BIASED(%rsi)        /* an owned heap takes no lock */
        movq    $0, ST_ARENAS(%rsi)             /* only the default heap has arenas (arena.S) */
        xorl    %ecx, %ecx
2:      movq    H_ERRORS(%rdi,%rcx,8), %rax
        movq    %rax, ST_ERRORS(%rsi,%rcx,8)
        incl    %ecx
        cmpl    $GL_ERROR_KINDS_N, %ecx
        jb      2b
        ret
END(gl__stats_owned)

/*
 * size_t gl_heap_trim(gl_heap *h)
 */
ENTRY(gl_heap_trim)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__trim_owned
        DEFAULT_OR_LOCKED gl__trim_default, gl__trim_locked
        LOCKED_FORWARD gl__trim_owned
END(gl_heap_trim)

/*
 * gl__advise_block(heap, block, size) -> bytes given back
 *   madvise(DONTNEED) on the whole pages strictly inside a free block,
 *   keeping its header, links and footer.  Only pages still resident count,
 *   and a block with none is not advised again: a second trim with nothing
 *   freed in between gives back, and reports, nothing.  (Where mincore is
 *   refused, the whole range is advised and counted.)  Clobbers caller-saved
 *   registers.
 */
        .p2align 4
gl__advise_block:
        .cfi_startproc
        leaq    24+PAGE_SIZE-1(%rsi), %rax
        andq    $-PAGE_SIZE, %rax               /* first page after the links */
        leaq    -8(%rsi,%rdx), %rdx
        andq    $-PAGE_SIZE, %rdx               /* last page before the footer */
        subq    %rax, %rdx
        jbe     1f
        movq    %rax, %rsi
        CFI_PUSH %rdi
        CFI_PUSH %rsi
        CFI_PUSH %rdx
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        call    gl__os_resident
        CFI_POP %rdx
        CFI_POP %rsi
        CFI_POP %rdi
        testq   %rax, %rax
        jz      1f                              /* nothing resident: nothing to give back */
        jns     2f
        movq    %rdx, %rax                      /* mincore refused: the whole range */
2:      CFI_PUSH %rax
        call    gl__os_advise_free
        CFI_POP %rax
        ret
1:      xorl    %eax, %eax
        ret
        .cfi_endproc
        .size gl__advise_block, .-gl__advise_block

/*
 * gl__trim_owned(heap) -> bytes given back
 */
HIDDEN_ENTRY(gl__trim_owned)
        SAVE_ALL
        movq    %rdi, %rbx
        xorl    %r15d, %r15d                    /* bytes given back */
        call    gl__flush_all
        movq    %rbx, %rdi
        call    gl__cache_release               /* the slot arrays, mapped again on demand */
        movq    %rax, %r15
        /* 1. empty segments */
        movq    H_SEG_LIST(%rbx), %r12
.Ltrim_seg:
        testq   %r12, %r12
        jz      .Ltrim_advise
        movq    SEG_NEXT(%r12), %r13            /* before the segment goes */
        leaq    SEG_FIRST(%r12), %rsi
        movq    (%rsi), %rax
        btq     $HDR_FREE_BIT, %rax
        jnc     .Ltrim_seg_next
        HSIZE   %rax, %rdx
        cmpq    $SEG_USABLE, %rdx
        jne     .Ltrim_seg_next
        cmpq    H_TOP(%rbx), %rsi
        jne     1f
        movq    $0, H_TOP(%rbx)
        jmp     2f
1:      movq    %rbx, %rdi
        call    gl__bin_unlink
        testl   %eax, %eax
        jnz     .Ltrim_seg_next
2:      movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__segment_release
        addq    $SEG_SIZE, %r15
.Ltrim_seg_next:
        movq    %r13, %r12
        jmp     .Ltrim_seg
.Ltrim_advise:
        /* 2. the interior pages of free blocks of 64 KiB and more */
        movl    $RANGE_BIN0, %r12d
.Ltrim_bin:
        cmpl    $NBINS, %r12d
        jae     .Ltrim_top
        movq    %r12, %rax
        shlq    $4, %rax
        leaq    H_BINS-8(%rbx,%rax), %r13       /* sentinel */
        movq    %r13, %r14                      /* cursor */
.Ltrim_block:
        movq    8(%r14), %rsi
        xorq    H_LINK_KEY(%rbx), %rsi
        cmpq    %r13, %rsi
        je      .Ltrim_bin_next
        movq    %rsi, %r14
        movq    %rbx, %rdi
        call    gl__link_ok
        testl   %eax, %eax
        jz      .Ltrim_bin_next                 /* damaged list: leave it to check */
        movq    (%r14), %rax
        HSIZE   %rax, %rdx
        cmpq    $65536, %rdx
        jb      .Ltrim_block
        movq    %rbx, %rdi
        movq    %r14, %rsi
        call    gl__advise_block
        addq    %rax, %r15
        jmp     .Ltrim_block
.Ltrim_bin_next:
        incl    %r12d
        jmp     .Ltrim_bin
.Ltrim_top:
        movq    H_TOP(%rbx), %rsi
        testq   %rsi, %rsi
        jz      .Ltrim_out
        movq    (%rsi), %rax
        HSIZE   %rax, %rdx
        movq    %rbx, %rdi
        call    gl__advise_block
        addq    %rax, %r15
.Ltrim_out:
        movq    %r15, %rax
        RESTORE_ALL
        ret
END(gl__trim_owned)

        .section .note.GNU-stack, "", @progbits
