/*
 * malloc.S - gl_heap_malloc: the fast path and the core allocator.
 *
 * Fast path (leaf, no frame, no callee-saved registers): a request of at
 * most SMALL_MAX_REQUEST bytes is mapped to its class by one byte load
 * (H_CLASS_OF, indexed by the size itself), and the class's recently-freed
 * stack (H_CTOP, cache.S) is popped: ten instructions and the return.
 * Anything else tail-jumps to the slow path with the arguments untouched.
 * A heap that counts cache hits, and the front of a locked heap, map every
 * size to class 0, whose stack is always empty: their fast path always
 * misses, so the common one carries no flag test.
 *
 * Core (gl__malloc_core), for a block size R = max(32, round16(size + 8)):
 *   1. R <= 1008: the bitmap of small bins from class R/16 upwards; its first
 *      set bit is the exact class when that bin is non-empty, else the
 *      smallest larger class (split if the rest is >= 32 bytes).
 *   2. R > 1008: best fit among at most H_DEPTH blocks of R's own range bin
 *      (an exact fit ends the search at once).
 *   3. The first block of the next non-empty range bin: always fits.
 *   4. The top (wilderness) block: bump-pointer carving.  A small block
 *      carved there (gl__malloc_slow) brings a run of its class, up to
 *      CARVE_RUN_BYTES in all, when the class's stack has free slots: the
 *      spares are pushed cached, highest first, so the stack hands them out
 *      in address order and a class's blocks sit together, as on a
 *      size-segregated page.
 *   5. Flush the recently-freed caches (coalescing them) and retry once,
 *      then map a new segment and carve from its top.
 * Requests of LARGE_MIN_REQUEST bytes and more get a mapping of their own.
 *
 * Every path is O(1): a bounded bin search, two bitmap words, no list walk
 * longer than H_DEPTH.
 */
#include "gl_layout.h"

        .text

/*
 * void *gl_heap_malloc(gl_heap *h, size_t size)
 *   rdi = heap, rsi = size.  Returns rax = 16-aligned block of at least size
 *   bytes, or NULL (gl_heap_last_error tells why).
 *   Fast path clobbers rax, rcx, rdx.
 */
        .p2align 6                              /* a hot path: one cache line to itself */
ENTRY(gl_heap_malloc)
        cmpq    $SMALL_MAX_REQUEST, %rsi
        ja      gl__malloc_slow
        movzbl  H_CLASS_OF(%rdi,%rsi), %ecx
        CACHE_POP %rdi, %rcx, %rdx, %rax, gl__malloc_slow
        ret
END(gl_heap_malloc)
INTERNAL_ALIAS(gl_heap_malloc, gl__heap_malloc)

/*
 * gl__malloc_slow(heap, size): a front takes its lock and runs the owned
 * heap.  On an owned heap, a small request whose cache stack was empty and
 * for which no small bin can serve carves the top right here -- leaf code,
 * no frame (a run's loop keeps its invariants in four saved registers) --
 * which is what batches of fresh allocations do, with the class's run
 * when its stack has free slots; everything else goes to the core.
 * Clobbers rax, rcx, rdx, rsi, r8-r11.
 */
HIDDEN_ENTRY(gl__malloc_slow)
        testl   $HF_LOCKED | HF_COUNT_HITS, H_FLAGS(%rdi)
        jnz     .Lslow_front_or_counting
        cmpq    $SMALL_MAX_REQUEST, %rsi
        ja      gl__malloc_core
        movzbl  H_CLASS_OF(%rdi,%rsi), %ecx     /* class */
.Lslow_class_known:
        movq    $-1, %rax
        shlq    %cl, %rax
        testq   H_BITMAP(%rdi), %rax
        jnz     gl__malloc_core                 /* a small bin can serve */
        movq    H_TOP(%rdi), %rax
        testq   %rax, %rax
        jz      gl__malloc_core
        movl    %ecx, %edx                      /* class */
        shlq    $4, %rcx                        /* R */
        TAG_OK  %rdi, %rax, (%rax), %r8, %r9
        jnz     gl__malloc_core                 /* a damaged top: the core reports it */
        HSIZE   (%rax), %r8                     /* top size */
        subq    %rcx, %r8                       /* rest */
        jb      gl__malloc_core
        cmpq    $MIN_BLOCK, %r8
        jb      gl__malloc_core                 /* taking it whole: the core's job */
        /* a run when the class's stack has free slots (a run never maps a
         * slot page: a class never freed fills its inline slots) */
        movq    H_CLIM(%rdi,%rdx,8), %r9
        subq    H_CTOP(%rdi,%rdx,8), %r9        /* free slots, bytes */
        jnz     .Lslow_run
        xorl    %esi, %esi                      /* no spares */
.Lslow_carve:
        /* rsi = the bytes of the run's spare blocks, r8 = top size - R */
        subq    %rsi, %r8                       /* rest */
        /* the new top */
        leaq    (%rax,%rcx), %r9
        addq    %rsi, %r9
        leaq    8(%r9), %r10
        PREFAULT_TOP %rdi, %r10
        MKHDR   %rdi, %r9, %r8, %r10, %r11
        btsq    $HDR_FREE_BIT, %r10
        movq    %r10, (%r9)
        movq    %r9, H_TOP(%rdi)
        STARTS_UPDATE btsq, %r9, %r8, %r10, %r11
        /* the clean mark moves past what may now be written */
        leaq    8(%r9), %r10
        RAISE_CLEAN %rdi, %r10
        testq   %rsi, %rsi
        jnz     .Lslow_spares
.Lslow_block:
        /* the block */
        MKHDR   %rdi, %rax, %rcx, %r10, %r11
        movq    %r10, (%rax)
        /* gl__account_alloc for a small block of class rdx, inline */
        ACCOUNT_ALLOC %rdi, %rcx, %r8
        incq    H_CLASS_LIVE(%rdi,%rdx,8)
        addq    $8, %rax
        ret
.Lslow_run:
        /* the run: as many spare blocks as CARVE_RUN_BYTES holds besides
         * the block, when the top has that room, and the stack that many
         * free slots */
        xorl    %esi, %esi
        cmpq    $CARVE_RUN_BYTES + MIN_BLOCK, %r8
        jb      .Lslow_carve                    /* the top's last bytes: one at a time */
        shrq    $3, %r9                         /* free slots */
        leaq    gl__run_spares(%rip), %r10
        movzwl  (%r10,%rdx,2), %esi
        cmpq    %r9, %rsi
        cmova   %r9, %rsi
        imulq   %rcx, %rsi
        jmp     .Lslow_carve
.Lslow_spares:
        /* the spares, cached, pushed highest first: the stack hands them
         * out in address order.  What their headers share (MKHDR's terms
         * but the address), the segment's bitmap and where the run ends
         * are worked out once; r9 walks down their user pointers. */
        CFI_PUSH %rbx
        CFI_PUSH %rbp
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    H_CTOP(%rdi,%rdx,8), %rsi       /* the stack's top slot */
        movq    H_KEY(%rdi), %rbx
        movq    %rcx, %r8
        shrq    $4, %r8
        subq    %r8, %rbx                       /* key - size/16: the tag, but for ^ p */
        movq    %rcx, %rbp
        shlq    $HDR_SIZE_SHIFT, %rbp
        btsq    $HDR_CACHED_BIT, %rbp           /* size and CACHED */
        leaq    8(%rax,%rcx), %r12              /* the lowest spare's user pointer */
        movq    %rax, %r11
        andq    $-SEG_SIZE, %r11
        addq    $SEG_STARTS, %r11               /* the segment's bitmap of block starts */
        addq    $8, %r9                         /* the new top's user pointer */
        .p2align 4
.Lslow_spare:
        subq    %rcx, %r9
        movq    %r9, %r8
        xorq    %rbx, %r8
        andl    $HDR_TAG_MASK, %r8d
        orq     %rbp, %r8
        movq    %r8, -8(%r9)                    /* its header, CACHED */
        movq    %r9, %r8                        /* STARTS_UPDATE btsq, with the base known */
        shrq    $7, %r8
        andl    $SEG_STARTS_WORD_MASK, %r8d
        movq    (%r11,%r8), %r13
        movq    %r9, %r10
        shrq    $4, %r10
        btsq    %r10, %r13
        movq    %r13, (%r11,%r8)
        movq    %r9, (%rsi)
        addq    $8, %rsi
        cmpq    %r12, %r9
        jne     .Lslow_spare
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbp
        CFI_POP %rbx
        /* a cached block counts as live: the spares go from free to live */
        movq    %rsi, %r8
        subq    H_CTOP(%rdi,%rdx,8), %r8
        shrq    $3, %r8                         /* spares */
        movq    %rsi, H_CTOP(%rdi,%rdx,8)
        addq    %r8, H_LIVE_BLOCKS(%rdi)
        addq    %r8, H_CLASS_LIVE(%rdi,%rdx,8)
        movq    %r8, %r9
        imulq   %rcx, %r9
        subq    %r9, H_FREE_BYTES(%rdi)
        shlq    $3, %r8
        subq    %r8, %r9                        /* their usable bytes */
        addq    %r9, H_LIVE_BYTES(%rdi)
        jmp     .Lslow_block
.Lslow_front_or_counting:
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jnz     gl__malloc_front
        /* gl__malloc_counting(heap, size): malloc on a heap that counts cache
         * hits, whose fast path never pops (a locked front calls it directly).
         * Same registers as gl__malloc_slow. */
        .globl  gl__malloc_counting
        .hidden gl__malloc_counting
gl__malloc_counting:
        cmpq    $SMALL_MAX_REQUEST, %rsi
        ja      gl__malloc_core
        CLASS_OF_REQUEST %rsi, %ecx, %rdx
        CACHE_POP %rdi, %rcx, %rdx, %rax, .Lslow_class_known
        incq    H_HITS(%rdi)
        ret
END(gl__malloc_slow)

/*
 * gl__run_spares[class]: the blocks besides the one asked for that a run of
 * CARVE_RUN_BYTES carves for a small class (class 0 and 1: none).
 */
        .section .rodata
        .p2align 6
        .type   gl__run_spares, @object
gl__run_spares:
        .short  0, 0
        .set    .Lrun_class, 2
        .rept   SMALL_MAX_CLASS - 1
        .short  CARVE_RUN_BYTES / (16 * .Lrun_class) - 1
        .set    .Lrun_class, .Lrun_class + 1
        .endr
        .size   gl__run_spares, . - gl__run_spares

/*
 * gl__class_of_request[n], n <= SMALL_MAX_REQUEST: the class of an n-byte
 * request, max(ceil((n + 8) / 16), SMALL_MIN_CLASS) -- its block is n plus
 * the header rounded up to 16, at least MIN_BLOCK.  The one definition:
 * each heap's H_CLASS_OF starts as a copy (heap.S), CLASS_OF_REQUEST reads
 * it where that copy cannot serve.
 */
        .p2align 6
        .globl  gl__class_of_request
        .hidden gl__class_of_request
        .type   gl__class_of_request, @object
gl__class_of_request:
        .set    .Lrequest, 0
        .rept   SMALL_MAX_REQUEST + 1
        .if     (.Lrequest + 8 + 15) >> 4 < SMALL_MIN_CLASS
        .byte   SMALL_MIN_CLASS
        .else
        .byte   (.Lrequest + 8 + 15) >> 4
        .endif
        .set    .Lrequest, .Lrequest + 1
        .endr
        .size   gl__class_of_request, . - gl__class_of_request
        .text

/*
 * gl__malloc_locked(front, size): malloc on a locked heap: its fast path
 * (LOCKED_MALLOC_FAST), then gl__malloc_forward.  The front's own fast
 * path (gl_heap_malloc) only misses and comes here.
 */
        .p2align 4
HIDDEN_ENTRY(gl__malloc_locked)
        LOCKED_MALLOC_FAST %rdi, %rsi, gl__malloc_forward
END(gl__malloc_locked)

/*
 * gl__malloc_forward(front, size): malloc on a locked heap through
 * LOCKED_FORWARD: under the lock, or the bias, the owned heap's whole path.
 */
HIDDEN_ENTRY(gl__malloc_forward)
        LOCKED_FORWARD gl__heap_malloc, gl__malloc_counting
END(gl__malloc_forward)

/* SCAN_STEPS: the nodes the walk followed, H_DEPTH - r10, go to the
 * heap's search-step count.  Clobbers rax. */
.macro SCAN_STEPS
        movq    H_DEPTH(%rbx), %rax
        subq    %r10, %rax
        addq    %rax, H_SEARCH_STEPS(%rbx)
.endm

/*
 * gl__malloc_core(heap, size) -> rax = block or 0, rdx = 1 if known zeroed
 *   rdi = owned heap, rsi = size.  Records GL_E_SIZE / GL_E_NOMEM on failure.
 *   A medium request is served from the cache when its bin's last freed
 *   block is large enough (cache.S), before anything is saved.
 *   Standard calling convention.
 */
HIDDEN_ENTRY(gl__malloc_core)
        leaq    -(SMALL_MAX_REQUEST + 1)(%rsi), %rax
        cmpq    $MEDIUM_MAX_REQUEST - SMALL_MAX_REQUEST - 1, %rax
        ja      .Lcore_enter                    /* not medium */
        cmpq    $0, H_MEDIUM_CACHED(%rdi)
        je      .Lcore_enter                    /* every medium stack is empty */
        call    gl__medium_pop                  /* leaf: keeps rdi, rsi */
        testq   %rax, %rax
        jz      .Lcore_enter
        xorl    %edx, %edx                      /* used memory: not zeroed */
        ret
.Lcore_enter:
        SAVE_ALL
        movq    %rdi, %rbx
        movabsq $MAX_REQUEST, %rax
        cmpq    %rax, %rsi
        ja      .Lcore_too_big
        cmpq    $LARGE_MIN_REQUEST, %rsi
        jae     .Lcore_large
        leaq    23(%rsi), %r12
        andq    $-16, %r12
        movl    $MIN_BLOCK, %eax
        cmpq    %rax, %r12
        cmovbq  %rax, %r12                      /* R */
        xorl    %r15d, %r15d                    /* caches not flushed yet */
.Lcore_search:
        cmpq    $SMALL_MAX_BLOCK, %r12
        ja      .Lcore_range
        /* 1. small: first non-empty class >= R/16 */
        movq    %r12, %rcx
        shrq    $4, %rcx
        movq    $-1, %rax
        shlq    %cl, %rax
        andq    H_BITMAP(%rbx), %rax
        jz      .Lcore_small_top
        tzcntq  %rax, %rax
        jmp     .Lcore_take_head
.Lcore_small_top:
        /* small requests carve the top before they split a range block */
        movq    %rbx, %rdi
        call    gl__top_checked
        testq   %rsi, %rsi
        jz      .Lcore_any_range
        cmpq    %r12, %rdx
        jb      .Lcore_any_range
        movq    %rbx, %rdi
        movq    %r12, %rcx
        call    gl__carve_top
        jmp     .Lcore_out
.Lcore_any_range:
        movq    $-1, %rax
        jmp     .Lcore_next_bins

.Lcore_range:
        /* 2. bounded best fit in R's own bin.  The walk keeps its cursor
         * in r9, the depth left in r10 and the best size in r11, which
         * gl__link_ok keeps; the link check's common case (a header slot
         * in a segment of the fast table) is inline, the rest asks it. */
        movq    %r12, %rdx
        call    gl__bin_index
        movq    %rax, %r13                      /* bin */
        shlq    $4, %rax
        leaq    H_BINS-8(%rbx,%rax), %r14       /* sentinel */
        xorl    %ebp, %ebp                      /* best */
        movq    $-1, %r11                       /* best size */
        movq    H_DEPTH(%rbx), %r10             /* depth left */
        movq    %r14, %r9                       /* cursor */
        movq    %rbx, %rdi
        .p2align 4
.Lcore_scan:
        movq    8(%r9), %rsi
        xorq    H_LINK_KEY(%rbx), %rsi          /* next block */
        cmpq    %r14, %rsi
        je      .Lcore_scan_done
        LINK_SLOT_OK .Lcore_scan_ask
        LINK_IN_SEGTAB %rbx, .Lcore_scan_ask
.Lcore_scan_follow:
        movq    %rsi, %r9
        movq    (%rsi), %rax
        HSIZE   %rax, %rdx
        cmpq    %r12, %rdx
        je      .Lcore_scan_exact
        jb      .Lcore_scan_step
        cmpq    %r11, %rdx
        jae     .Lcore_scan_step
        movq    %rdx, %r11
        movq    %rsi, %rbp
.Lcore_scan_step:
        decq    %r10
        jnz     .Lcore_scan
        jmp     .Lcore_scan_done
.Lcore_scan_ask:
        call    gl__link_ok                     /* a sentinel, another segment */
        testl   %eax, %eax
        jnz     .Lcore_scan_follow
        /* a link that may not be followed: the bin is dropped */
        SCAN_STEPS
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__bin_drop
        movq    %rbx, %rdi
        movl    $GL_E_CORRUPT, %esi
        call    gl__record_error
        jmp     .Lcore_search
.Lcore_scan_exact:
        movq    %rsi, %rbp
        decq    %r10                            /* followed, like the others */
.Lcore_scan_done:
        SCAN_STEPS
        testq   %rbp, %rbp
        jz      .Lcore_above
        movq    %rbp, %rsi
        jmp     .Lcore_take
.Lcore_above:
        /* 3. the next non-empty range bin above R's */
        leal    1 - RANGE_BIN0(%r13), %ecx
        xorl    %eax, %eax
        cmpl    $64, %ecx
        jae     .Lcore_top
        movq    $-1, %rax
        shlq    %cl, %rax
.Lcore_next_bins:
        andq    H_BITMAP+8(%rbx), %rax
        jz      .Lcore_top
        tzcntq  %rax, %rax
        addl    $RANGE_BIN0, %eax
.Lcore_take_head:
        movq    %rax, %r13
        shlq    $4, %rax
        movq    H_BINS(%rbx,%rax), %rsi         /* sentinel.next */
        xorq    H_LINK_KEY(%rbx), %rsi
.Lcore_take:
        /* a small request splitting a range block makes the rest the top */
        xorl    %ecx, %ecx
        cmpq    $SMALL_MAX_BLOCK, %r12
        ja      1f
        cmpq    $RANGE_BIN0, %r13
        setae   %cl
1:      movq    %rbx, %rdi
        movq    %r12, %rdx
        call    gl__take
        testq   %rax, %rax
        jz      .Lcore_broken_bin
        xorl    %edx, %edx
        jmp     .Lcore_out
.Lcore_broken_bin:
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__bin_drop
        movq    %rbx, %rdi
        movl    $GL_E_CORRUPT, %esi
        call    gl__record_error
        jmp     .Lcore_search

.Lcore_top:
        /* 4. carve from the top */
        movq    %rbx, %rdi
        call    gl__top_checked
        testq   %rsi, %rsi
        jz      .Lcore_grow
        cmpq    %r12, %rdx
        jb      .Lcore_grow
        movq    %rbx, %rdi
        movq    %r12, %rcx
        call    gl__carve_top
        jmp     .Lcore_out
.Lcore_grow:
        /* 5. flush the caches once, then a new segment */
        testl   %r15d, %r15d
        jnz     .Lcore_new_segment
        incl    %r15d
        movq    %rbx, %rdi
        call    gl__flush_all
        testq   %rax, %rax
        jnz     .Lcore_search
.Lcore_new_segment:
        movq    %rbx, %rdi
        call    gl__grow
        testq   %rax, %rax
        jnz     .Lcore_nomem
        jmp     .Lcore_top

.Lcore_large:
        movq    %rbx, %rdi
        movl    $ALIGNMENT, %edx
        call    gl__large_alloc                 /* records its own errors */
        jmp     .Lcore_out
.Lcore_too_big:
        movq    %rbx, %rdi
        movl    $GL_E_SIZE, %esi
        call    gl__record_error
        xorl    %eax, %eax
        xorl    %edx, %edx
        jmp     .Lcore_out
.Lcore_nomem:
        movq    %rbx, %rdi
        movl    $GL_E_NOMEM, %esi
        call    gl__record_error
        xorl    %eax, %eax
        xorl    %edx, %edx
.Lcore_out:
        RESTORE_ALL
        ret
END(gl__malloc_core)

/*
 * gl__account_alloc(heap, size)
 *   Statistics for a block of `size` bytes leaving the free memory of a
 *   segment: live bytes/blocks, peak, per-class count, free bytes.
 *   rdi = heap, rsi = block size.  Leaf.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__account_alloc)
        ACCOUNT_ALLOC %rdi, %rsi, %rax
        cmpq    $SMALL_MAX_BLOCK, %rsi
        ja      2f
        movq    %rsi, %rcx
        shrq    $4, %rcx
        incq    H_CLASS_LIVE(%rdi,%rcx,8)
2:      ret
END(gl__account_alloc)

/*
 * gl__take(heap, block, R, designate) -> user pointer, or 0 if the block or
 * its bin is damaged (nothing changed then)
 *   Takes a free block out of its bin and makes its first R bytes an in-use
 *   block; a remainder of MIN_BLOCK bytes or more becomes a free block in its
 *   bin, a smaller one stays with the block (exact fit, no split).
 *   With designate set, a rest of MIN_BLOCK bytes or more becomes the top
 *   (the old top is retired to its bin): later small requests carve it.
 *   rdi = heap, rsi = block header, rdx = R, rcx = designate.
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__take)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        CFI_PUSH %r14
        CFI_PUSH %r15
        movq    %rcx, %r15                      /* designate the rest as top? */
        movq    %rdi, %rbx
        movq    %rsi, %r12                      /* block */
        movq    %rdx, %r13                      /* R */
        movq    (%r12), %rax                    /* callers checked the link to it */
        TAG_OK  %rbx, %r12, %rax, %rcx, %r8
        jnz     .Ltake_bad
        btq     $HDR_FREE_BIT, %rax
        jnc     .Ltake_bad
        HSIZE   %rax, %r14                      /* block size */
        cmpq    %r13, %r14
        jb      .Ltake_bad
        /* a rest that stays in the same bin keeps the list node */
        movq    %r14, %rdx
        subq    %r13, %rdx
        cmpq    $MIN_BLOCK, %rdx
        jb      1f
        testq   %r15, %r15
        jnz     .Ltake_designate
        call    gl__bin_index
        movq    %rax, %r8
        movq    %r14, %rdx
        pushq   %r8
        .cfi_adjust_cfa_offset 8
        call    gl__bin_index
        popq    %r8
        .cfi_adjust_cfa_offset -8
        cmpq    %rax, %r8
        je      .Ltake_in_place
1:      movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__bin_unlink
        testl   %eax, %eax
        jnz     .Ltake_bad
        movq    %r14, %rdx
        subq    %r13, %rdx                      /* remainder */
        cmpq    $MIN_BLOCK, %rdx
        jb      .Ltake_whole
        /* split: [block, R) in use, [block + R, size) free */
        leaq    (%r12,%r13), %rsi
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        movq    %rdx, -8(%rsi,%rdx)             /* footer */
        MARK_START %rsi
        movq    %rbx, %rdi
        call    gl__bin_insert
        jmp     .Ltake_header
.Ltake_in_place:
        /* the rest stays in the block's bin: move its list node, no unlink */
        leaq    (%r12,%r13), %rdx               /* the rest */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__bin_replace
        testl   %eax, %eax
        jnz     .Ltake_bad
        leaq    (%r12,%r13), %rsi
        movq    %r14, %rdx
        subq    %r13, %rdx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        movq    %rdx, -8(%rsi,%rdx)             /* footer */
        MARK_START %rsi
        jmp     .Ltake_header
.Ltake_designate:
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__bin_unlink
        testl   %eax, %eax
        jnz     .Ltake_bad
        /* retire the old top into its bin (it needs a footer there) */
        movq    H_TOP(%rbx), %rsi
        testq   %rsi, %rsi
        jz      1f
        movq    (%rsi), %rax
        HSIZE   %rax, %rdx
        movq    %rdx, -8(%rsi,%rdx)
        movq    %rbx, %rdi
        call    gl__bin_insert
1:      leaq    (%r12,%r13), %rsi               /* the rest: the new top */
        movq    %r14, %rdx
        subq    %r13, %rdx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        MARK_START %rsi
        movq    %rsi, H_TOP(%rbx)
        movq    $-1, H_TOP_CLEAN(%rbx)          /* recycled memory */
        movq    $-1, H_TOP_READY(%rbx)
        jmp     .Ltake_header
.Ltake_whole:
        movq    %r14, %r13
        andq    $~HDR_PREV_FREE, (%r12,%r13)    /* the next block's prev is in use */
.Ltake_header:
        MKHDR   %rbx, %r12, %r13, %rax, %rcx
        movq    %rax, (%r12)
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__account_alloc
        leaq    8(%r12), %rax
        jmp     .Ltake_out
.Ltake_bad:
        xorl    %eax, %eax
.Ltake_out:
        CFI_POP %r15
        CFI_POP %r14
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__take)

/*
 * gl__carve_top(heap, top, top size, R) -> rax = user pointer, rdx = zeroed
 *   Bump-allocates R bytes from the top.  A rest smaller than MIN_BLOCK goes
 *   with the block and the heap is left without a top.  rdx = 1 when the
 *   block's bytes were never written since the segment was mapped.
 *   rdi = heap, rsi = top header, rdx = top size, rcx = R.
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__carve_top)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %r12                      /* block = old top */
        movq    %rcx, %r13                      /* R */
        leaq    8(%rsi,%rcx), %rax              /* the end of the new top's header */
        PREFAULT_TOP %rbx, %rax
        movq    %rdx, %rax
        subq    %rcx, %rax                      /* rest */
        cmpq    $MIN_BLOCK, %rax
        jb      .Lcarve_all
        leaq    (%r12,%r13), %rsi               /* new top */
        movq    %rax, %rdx
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%rsi)
        movq    %rsi, H_TOP(%rbx)
        STARTS_UPDATE btsq, %rsi, %rax, %rcx, %rdx
        jmp     .Lcarve_header
.Lcarve_all:
        movq    %rdx, %r13
        movq    $0, H_TOP(%rbx)
        andq    $~HDR_PREV_FREE, (%r12,%r13)    /* end fencepost */
.Lcarve_header:
        MKHDR   %rbx, %r12, %r13, %rax, %rcx
        movq    %rax, (%r12)
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__account_alloc
        /* zeroed iff the block's bytes lie above the clean mark */
        xorl    %edx, %edx
        leaq    8(%r12), %rax
        cmpq    H_TOP_CLEAN(%rbx), %rax
        setae   %dl
        leaq    8(%r12,%r13), %rcx
        RAISE_CLEAN %rbx, %rcx
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__carve_top)

        .section .note.GNU-stack, "", @progbits
