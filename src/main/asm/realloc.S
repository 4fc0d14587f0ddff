/*
 * realloc.S - gl_heap_realloc, gl_heap_calloc, gl_heap_aligned_alloc,
 * gl_heap_usable_size.
 *
 * realloc works in place whenever the boundary tags allow: a shrink splits
 * the tail off and frees it (it coalesces with what follows); a growth
 * absorbs a free neighbour or the top.  Only when neither fits does it
 * allocate, copy (copy.S) and free.  A large block is resized by mremap
 * (large.S): its pages move, its bytes are not copied.  A failed realloc
 * leaves the block as it was.  realloc(p, 0) shrinks p to the smallest block and returns it.
 * A small block asked for a small size is served without a frame when it
 * stays where it is or when both caches can serve its move (one validation,
 * free's, instead of three: gl__realloc_owned's fast path).
 *
 * calloc checks n * size for overflow and skips the clearing when the block
 * is known to be untouched memory (a fresh large mapping, or top memory never
 * written since its segment was mapped).
 *
 * aligned_alloc over-allocates by the alignment, frees the leading fragment
 * (>= MIN_BLOCK, so it is a real free block) and the tail; large or very
 * aligned requests get an aligned mapping of their own.
 */
#include "gl_layout.h"

        .text

/*
 * gl__account_resize(heap, old size, new size)
 *   An in-use block changes size in place: live bytes and class counts move
 *   by the difference (free bytes are the caller's).  rdi = heap, rsi = old,
 *   rdx = new.  Leaf.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__account_resize)
        movq    %rdx, %rax
        subq    %rsi, %rax
        ADD_RAISING_PEAK H_LIVE_BYTES(%rdi), H_PEAK_LIVE(%rdi), %rax
        cmpq    $SMALL_MAX_BLOCK, %rsi
        ja      2f
        movq    %rsi, %rcx
        shrq    $4, %rcx
        decq    H_CLASS_LIVE(%rdi,%rcx,8)
2:      cmpq    $SMALL_MAX_BLOCK, %rdx
        ja      3f
        movq    %rdx, %rcx
        shrq    $4, %rcx
        incq    H_CLASS_LIVE(%rdi,%rcx,8)
3:      ret
END(gl__account_resize)

/*
 * gl__shrink_block(heap, header, R)
 *   Cuts an in-use block down to R bytes when at least MIN_BLOCK bytes would
 *   be left over; the tail becomes a block of its own and is freed (so it
 *   merges with a free successor or the top).  rdi = heap, rsi = header,
 *   rdx = R (multiple of 16, >= MIN_BLOCK).  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__shrink_block)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        CFI_PUSH %r14
        CFI_PUSH %r15
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    %rdx, %r13                      /* R */
        movq    (%rsi), %r15                    /* header word */
        HSIZE   %r15, %r14                      /* current size */
        movq    %r14, %rax
        subq    %r13, %rax
        cmpq    $MIN_BLOCK, %rax
        jb      .Lshrink_out
        /* the block: R bytes, PREV_FREE kept */
        MKHDR   %rbx, %r12, %r13, %rax, %rcx
        andq    $HDR_PREV_FREE, %r15
        orq     %r15, %rax
        movq    %rax, (%r12)
        movq    %rbx, %rdi
        movq    %r14, %rsi
        movq    %r13, %rdx
        call    gl__account_resize
        /* the tail: an in-use block of its own, counted live, then freed */
        leaq    (%r12,%r13), %rsi
        movq    %r14, %rdx
        subq    %r13, %rdx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        movq    %rax, (%rsi)
        MARK_START %rsi
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        movq    %rbx, %rdi
        movq    %rdx, %rsi
        call    gl__account_alloc               /* live +1 ... */
        movq    (%rsp), %rax
        movq    (%rax), %rax
        HSIZE   %rax, %rax
        addq    %rax, H_FREE_BYTES(%rbx)        /* ... without taking free bytes */
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        movq    %rbx, %rdi
        call    gl__free_block
.Lshrink_out:
        CFI_POP %r15
        CFI_POP %r14
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__shrink_block)

/*
 * void *gl_heap_realloc(gl_heap *h, void *p, size_t size)
 */
ENTRY(gl_heap_realloc)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__realloc_owned
        DEFAULT_OR_LOCKED gl__realloc_default, gl__realloc_locked
        LOCKED_FORWARD gl__realloc_owned
END(gl_heap_realloc)
INTERNAL_ALIAS(gl_heap_realloc, gl__heap_realloc)

/*
 * gl__realloc_owned(heap, p, size) -> block or 0 (p unchanged then)
 *   rdi = owned heap, rsi = p, rdx = size.
 *
 *   Fast path (leaf, no frame): a small block that p names by free's own
 *   test (OWNED_BLOCK_TEST), asked for a small size, either stays where it
 *   is -- the new size needs no more room and would leave less than
 *   MIN_BLOCK to split off -- or, when its successor is in use (so no
 *   growth in place is possible) and both caches can serve, moves: the new
 *   class's stack gives a block, the old block's bytes are copied into it,
 *   and the old block goes on its class's stack, as malloc, copy and free
 *   would do with three validations fewer.  Cached blocks count as live, so
 *   neither step is accounted; a heap that counts hits counts the pop.
 *   Clobbers rax, rcx, rdx, rsi, rdi, r8-r11, xmm0-xmm3.
 *   Anything else takes the full path with the arguments restored.
 */
HIDDEN_ENTRY(gl__realloc_owned)
        testq   %rsi, %rsi
        jz      .Lre_malloc
        cmpq    $SMALL_MAX_REQUEST, %rdx
        ja      .Lre_full
        movq    %rdx, %r8                       /* size */
        OWNED_BLOCK_TEST .Lre_full_size_in_r8
        cmpq    $SMALL_MAX_CLASS, %rax
        ja      .Lre_full_size_in_r8            /* medium, large, or not in use */
        CLASS_OF_REQUEST %r8, %ecx, %rdx        /* new class (not from H_CLASS_OF: a heap
                                                   that counts hits has a table of zeros) */
        cmpl    %eax, %ecx
        ja      .Lre_fast_grow
        subl    %ecx, %eax
        cmpl    $MIN_BLOCK / 16, %eax
        jae     .Lre_full_size_in_r8            /* a tail worth splitting off */
        movq    %rsi, %rax                      /* the block stays as it is */
        ret
        .p2align 4
.Lre_fast_grow:
        movq    %rax, %r9
        shlq    $4, %r9                         /* old size */
        leal    -8(%rsi), %edx
        andl    $SEG_OFFSET_MASK, %edx
        addl    %r9d, %edx
        cmpl    $SEG_END_FENCE, %edx
        ja      .Lre_full_size_in_r8            /* a size no block here can have */
        btq     $HDR_FREE_BIT, -8(%rsi,%r9)
        jc      .Lre_full_size_in_r8            /* a free successor or the top: grow in place */
        movq    H_CTOP(%rdi,%rax,8), %r11
        cmpq    H_CLIM(%rdi,%rax,8), %r11
        jae     .Lre_full_size_in_r8            /* the old class's stack is full */
        CACHE_POP %rdi, %rcx, %rdx, %r10, .Lre_full_size_in_r8
        CACHE_PUSH %rdi, %rsi, %rax, %r11
        testl   $HF_COUNT_HITS, H_FLAGS(%rdi)
        jz      1f
        incq    H_HITS(%rdi)                    /* a malloc the cache served */
1:
        leaq    -8(%r9), %rcx                   /* old usable bytes, fewer than the new */
        movq    %r10, %rdi
        movq    %r10, %rax
        jmp     gl__copy                        /* keeps rax */
.Lre_malloc:
        movq    %rdx, %rsi
        jmp     gl__heap_malloc                 /* realloc(NULL, n) = malloc(n) */
.Lre_full_size_in_r8:
        movq    %r8, %rdx
.Lre_full:
        SAVE_ALL
        movq    %rdi, %rbx
        movq    %rsi, %r12                      /* p */
        movq    %rdx, %r13                      /* size */
        movabsq $MAX_REQUEST, %rax
        cmpq    %rax, %rdx
        ja      .Lre_too_big
        call    gl__classify
        testl   %eax, %eax
        js      .Lre_error
        jnz     .Lre_large
        movq    %rdx, %r14                      /* header */
        HSIZE   %rcx, %r15                      /* current size */
        cmpq    $LARGE_MIN_REQUEST, %r13
        jae     .Lre_move
        leaq    23(%r13), %rbp
        andq    $-16, %rbp
        movl    $MIN_BLOCK, %eax
        cmpq    %rax, %rbp
        cmovbq  %rax, %rbp                      /* R */
        cmpq    %r15, %rbp
        ja      .Lre_grow
        /* shrink (or same size) in place */
        movq    %rbx, %rdi
        movq    %r14, %rsi
        movq    %rbp, %rdx
        call    gl__shrink_block
        movq    %r12, %rax
        jmp     .Lre_out
.Lre_grow:
        leaq    (%r14,%r15), %rsi               /* next header */
        cmpq    H_TOP(%rbx), %rsi
        jne     1f
        movq    %rbx, %rdi
        call    gl__top_checked
        testq   %rsi, %rsi
        jz      .Lre_move
        jmp     .Lre_grow_top
1:
        movq    (%rsi), %rax
        btq     $HDR_FREE_BIT, %rax
        jnc     .Lre_move
        TAG_OK  %rbx, %rsi, %rax, %rcx, %r8
        jnz     .Lre_move
        HSIZE   %rax, %rcx
        leaq    (%r15,%rcx), %rdx               /* combined size */
        cmpq    %rbp, %rdx
        jb      .Lre_move
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        movq    %rbx, %rdi
        call    gl__bin_unlink
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        testl   %eax, %eax
        jnz     .Lre_move
        /* the neighbour's bytes now belong to the block */
        leaq    (%r14,%r15), %rsi
        STARTS_UPDATE btrq, %rsi, %rax, %rcx, %r8
        movq    %rdx, %rax
        subq    %r15, %rax
        subq    %rax, H_FREE_BYTES(%rbx)
        movq    %rdx, %rax
        subq    %rbp, %rax                      /* rest */
        cmpq    $MIN_BLOCK, %rax
        jb      .Lre_grow_whole
        leaq    (%r14,%rbp), %rsi
        movq    %rax, %rdx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        movq    %rdx, -8(%rsi,%rdx)
        STARTS_UPDATE btsq, %rsi, %rax, %rcx, %r8
        addq    %rdx, H_FREE_BYTES(%rbx)
        movq    %rbx, %rdi
        call    gl__bin_insert
        jmp     .Lre_grow_header
.Lre_grow_whole:
        movq    %rdx, %rbp
        andq    $~HDR_PREV_FREE, (%r14,%rbp)
        jmp     .Lre_grow_header
.Lre_grow_top:
        movq    (%rsi), %rax
        HSIZE   %rax, %rcx
        leaq    (%r15,%rcx), %rdx               /* combined size */
        cmpq    %rbp, %rdx
        jb      .Lre_move
        STARTS_UPDATE btrq, %rsi, %rax, %rcx, %r8   /* the old top */
        movq    %rdx, %rax
        subq    %r15, %rax
        subq    %rax, H_FREE_BYTES(%rbx)
        movq    %rdx, %rax
        subq    %rbp, %rax                      /* rest of the top */
        cmpq    $MIN_BLOCK, %rax
        jb      .Lre_top_whole
        leaq    (%r14,%rbp), %rsi
        movq    %rax, %rdx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        movq    %rsi, H_TOP(%rbx)
        STARTS_UPDATE btsq, %rsi, %rax, %rcx, %r8
        addq    %rdx, H_FREE_BYTES(%rbx)
        jmp     .Lre_grow_header
.Lre_top_whole:
        movq    %rdx, %rbp
        movq    $0, H_TOP(%rbx)
        andq    $~HDR_PREV_FREE, (%r14,%rbp)
.Lre_grow_header:
        /* the block may now be written up to its end (and the top's header
         * after it): calloc must not take that memory for untouched */
        leaq    8(%r14,%rbp), %rax
        RAISE_CLEAN %rbx, %rax
        movq    (%r14), %r8
        andq    $HDR_PREV_FREE, %r8
        MKHDR   %rbx, %r14, %rbp, %rax, %rcx
        orq     %r8, %rax
        movq    %rax, (%r14)
        movq    %rbx, %rdi
        movq    %r15, %rsi
        movq    %rbp, %rdx
        call    gl__account_resize
        movq    %r12, %rax
        jmp     .Lre_out
.Lre_large:
        /* large: keep it while the new size fits and uses at least half */
        movq    LG_USABLE(%r12), %r15
        cmpq    %r15, %r13
        ja      .Lre_resize_large
        movq    %r15, %rax
        shrq    $1, %rax
        cmpq    %rax, %r13
        jae     .Lre_large_kept
.Lre_resize_large:
        cmpq    $LARGE_MIN_REQUEST, %r13
        jb      .Lre_move_large                 /* down to a block of a segment */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movq    %r13, %rdx
        call    gl__large_resize                /* its pages remapped, not copied */
        testq   %rax, %rax
        jnz     .Lre_out
        /* the kernel refused to remap: a copy may still find room */
.Lre_move_large:
        addq    $8, %r15                        /* usable = size - 8 below */
        xorl    %r14d, %r14d                    /* no segment header: a large block */
.Lre_move:
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__heap_malloc
        testq   %rax, %rax
        jz      .Lre_out                        /* error recorded; p intact */
        movq    %rax, %rbp
        leaq    -8(%r15), %rcx                  /* old usable bytes */
        cmpq    %r13, %rcx
        cmovaq  %r13, %rcx
        movq    %rax, %rdi
        movq    %r12, %rsi
        call    gl__copy
        /* free the old block: gl__classify vouched for it above, and nothing
         * since can have made it anything but an in-use block, so only a
         * small one goes through gl_heap_free (whose fast path caches it);
         * a medium one is cached or coalesced here */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        testq   %r14, %r14
        jz      .Lre_free_large
        cmpq    $SMALL_MAX_BLOCK, %r15
        jbe     .Lre_free_small
        movq    %r15, %rdx
        call    gl__medium_push                 /* cached, if medium and within budget */
        testl   %eax, %eax
        jz      .Lre_moved
        movq    %rbx, %rdi
        movq    %r14, %rsi
        call    gl__free_block
        testl   %eax, %eax
        jz      .Lre_moved
        movq    %rbx, %rdi                      /* a damaged neighbour: recorded, */
        movl    %eax, %esi                      /* the old block stays in use */
        call    gl__record_error
        jmp     .Lre_moved
.Lre_free_large:
        call    gl__large_free
        jmp     .Lre_moved
.Lre_free_small:
        call    gl__heap_free
.Lre_moved:
        movq    %rbp, %rax
        jmp     .Lre_out
.Lre_large_kept:
        movq    %r12, %rax
        jmp     .Lre_out
.Lre_too_big:
        movl    $GL_E_SIZE, %eax
.Lre_error:
        movq    %rbx, %rdi
        movl    %eax, %esi
        call    gl__record_error
        xorl    %eax, %eax
.Lre_out:
        RESTORE_ALL
        ret
END(gl__realloc_owned)

/*
 * void *gl_heap_calloc(gl_heap *h, size_t n, size_t size)
 */
ENTRY(gl_heap_calloc)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__calloc_owned
        DEFAULT_OR_LOCKED gl__calloc_default, gl__calloc_locked
        LOCKED_FORWARD gl__calloc_owned
END(gl_heap_calloc)
INTERNAL_ALIAS(gl_heap_calloc, gl__heap_calloc)

HIDDEN_ENTRY(gl__calloc_owned)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %rax
        mulq    %rdx                            /* rdx:rax = n * size */
        jo      .Lcalloc_overflow
        movq    %rax, %r12                      /* bytes */
        movq    %rbx, %rdi
        movq    %rax, %rsi
        cmpq    $SMALL_MAX_REQUEST, %rax
        ja      .Lcalloc_core
        call    gl__heap_malloc                 /* small: the cache is fine, clear it */
        xorl    %edx, %edx
        jmp     .Lcalloc_clear
.Lcalloc_core:
        call    gl__malloc_core                 /* tells whether memory is fresh */
.Lcalloc_clear:
        testq   %rax, %rax
        jz      .Lcalloc_out
        testl   %edx, %edx
        jnz     .Lcalloc_out
        movq    %rax, %r13
        movq    %rax, %rdi
        movq    %r12, %rcx
        call    gl__zero
        movq    %r13, %rax
        jmp     .Lcalloc_out
.Lcalloc_overflow:
        movq    %rbx, %rdi
        movl    $GL_E_SIZE, %esi
        call    gl__record_error
        xorl    %eax, %eax
.Lcalloc_out:
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__calloc_owned)

/*
 * void *gl_heap_aligned_alloc(gl_heap *h, size_t alignment, size_t size)
 *   alignment must be a power of two (GL_E_ALIGN otherwise), at most 2^40.
 */
ENTRY(gl_heap_aligned_alloc)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__aligned_owned
        DEFAULT_OR_LOCKED gl__aligned_default, gl__aligned_locked
        LOCKED_FORWARD gl__aligned_owned
END(gl_heap_aligned_alloc)
INTERNAL_ALIAS(gl_heap_aligned_alloc, gl__heap_aligned_alloc)

HIDDEN_ENTRY(gl__aligned_owned)
        SAVE_ALL
        movq    %rdi, %rbx
        movq    %rsi, %r13                      /* alignment */
        movq    %rdx, %r12                      /* size */
        testq   %rsi, %rsi
        jz      .Lal_bad_align
        leaq    -1(%rsi), %rax
        testq   %rax, %rsi
        jnz     .Lal_bad_align
        movabsq $1 << 40, %rax
        cmpq    %rax, %rsi
        ja      .Lal_bad_align
        movabsq $MAX_REQUEST, %rax
        cmpq    %rax, %rdx
        ja      .Lal_too_big
        cmpq    $ALIGNMENT, %rsi
        ja      1f
        movq    %rdx, %rsi
        call    gl__heap_malloc
        jmp     .Lal_out
1:      /* request R + alignment + MIN_BLOCK from a segment, if that is small */
        leaq    23(%r12), %rbp
        andq    $-16, %rbp
        movl    $MIN_BLOCK, %eax
        cmpq    %rax, %rbp
        cmovbq  %rax, %rbp                      /* R */
        leaq    MIN_BLOCK-8(%rbp,%r13), %rsi    /* user size to ask for */
        cmpq    $LARGE_MIN_REQUEST, %rsi
        jae     .Lal_large
        movq    %rbx, %rdi
        call    gl__malloc_core
        testq   %rax, %rax
        jz      .Lal_out
        movq    %rax, %r14                      /* p0 */
        /* p1 = align_up(p0, alignment); the lead must be 0 or >= MIN_BLOCK */
        leaq    -1(%rax,%r13), %r15
        movq    %r13, %rcx
        negq    %rcx
        andq    %rcx, %r15
        movq    %r15, %rax
        subq    %r14, %rax
        jz      .Lal_trim
        cmpq    $MIN_BLOCK, %rax
        jae     2f
        addq    %r13, %r15
2:      /* split [p0 - 8, p1 - 8) off as a block of its own and free it */
        leaq    -8(%r14), %rsi                  /* header 0 */
        movq    (%rsi), %r8
        HSIZE   %r8, %r9                        /* total */
        movq    %r15, %rdx
        subq    %r14, %rdx                      /* lead */
        pushq   %r9
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        andq    $HDR_PREV_FREE, %r8
        orq     %r8, %rax
        movq    %rax, (%rsi)
        /* the aligned block: header at p1 - 8, size total - lead */
        movq    8(%rsp), %rdx
        subq    (%rsp), %rdx
        leaq    -8(%r15), %rsi
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        movq    %rax, (%rsi)
        STARTS_UPDATE btsq, %rsi, %rax, %rcx, %r8
        /* statistics: total -> lead, plus a new live block of total - lead */
        movq    %rbx, %rdi
        movq    8(%rsp), %rsi
        movq    (%rsp), %rdx
        call    gl__account_resize
        movq    %rbx, %rdi
        movq    8(%rsp), %rsi
        subq    (%rsp), %rsi
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        call    gl__account_alloc
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        addq    %rsi, H_FREE_BYTES(%rbx)        /* it did not come from free memory */
        addq    $16, %rsp
        .cfi_adjust_cfa_offset -16
        movq    %rbx, %rdi
        leaq    -8(%r14), %rsi
        call    gl__free_block
.Lal_trim:
        movq    %rbx, %rdi
        leaq    -8(%r15), %rsi
        movq    %rbp, %rdx
        call    gl__shrink_block
        movq    %r15, %rax
        jmp     .Lal_out
.Lal_large:
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movq    %r13, %rdx
        call    gl__large_alloc
        jmp     .Lal_out
.Lal_bad_align:
        movl    $GL_E_ALIGN, %esi
        jmp     .Lal_fail
.Lal_too_big:
        movl    $GL_E_SIZE, %esi
.Lal_fail:
        movq    %rbx, %rdi
        call    gl__record_error
        xorl    %eax, %eax
.Lal_out:
        RESTORE_ALL
        ret
END(gl__aligned_owned)

/*
 * size_t gl_heap_usable_size(gl_heap *h, void *p)
 *   Bytes usable at p; 0 (and the error recorded) when p is not a live block.
 */
ENTRY(gl_heap_usable_size)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__usable_owned
        DEFAULT_OR_LOCKED gl__usable_default, gl__usable_locked
        LOCKED_FORWARD gl__usable_owned
END(gl_heap_usable_size)
INTERNAL_ALIAS(gl_heap_usable_size, gl__heap_usable_size)

HIDDEN_ENTRY(gl__usable_owned)
        xorl    %eax, %eax
        testq   %rsi, %rsi
        jz      3f
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    gl__classify
        testl   %eax, %eax
        js      2f
        jnz     1f
        HSIZE   %rcx, %rax
        subq    $8, %rax
        jmp     4f
1:      movq    LG_USABLE(%rsi), %rax
        jmp     4f
2:      movl    %eax, %esi
        call    gl__record_error
        xorl    %eax, %eax
4:      addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
3:      ret
END(gl__usable_owned)

        .section .note.GNU-stack, "", @progbits
