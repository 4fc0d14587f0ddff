/*
 * cache.S - the recently-freed cache: deferred coalescing per size class.
 *
 * A freed small block (classes 2..63, blocks of 32..1008 bytes) is not
 * merged with its neighbours at once: its header is marked CACHED and its
 * user pointer pushed on its class's stack; the next malloc of that class
 * pops it (gl_heap_malloc and gl_heap_free do the push and pop inline, see
 * malloc.S and free.S).  The coalescer sees a cached block as in use.
 *
 * A medium block (1 KiB <= size < 128 KiB) that realloc moves away from is
 * cached the same way, in one stack per range bin (cache classes 64..91):
 * a runtime growing many buffers by doubling frees each size on its way up
 * and the next buffer asks for it again.  A medium block given to free
 * still coalesces at once (cached too, batches of random 1..64 KiB sizes
 * ran 7-41 % slower in quick driver runs: cached blocks kept the freed
 * memory from merging back into the top; design.md).  The cached medium bytes (H_MEDIUM_CACHED) stay
 * within MEDIUM_CACHE_BYTES; a push past it first flushes every medium
 * stack, so a size nobody asks for again waits only until the budget turns
 * over.  A bin holds sizes up to 25 % apart, so any medium request (from
 * malloc, calloc, realloc or aligned_alloc) takes the top of its bin's
 * stack only when it is a near fit (at most MEDIUM_FIT_SLACK bytes larger
 * than needed; the whole block, no split) with its tag intact; otherwise
 * the core serves it from the bins.
 *
 * Each class's stack is an array of pointers (H_CBASE .. H_CLIM), never
 * inside the freed blocks: a write after free can change a cached block's
 * contents but not the cache.  A small class's stack starts in INLINE_SLOTS
 * slots inside the heap struct, there from the heap's creation, so that a
 * class's first carve from the top already finds slots for its run
 * (malloc.S) without mapping anything; outgrown, it moves to a mapping of
 * its own, a page, which doubles up to the heap's limit (H_LIMIT slots,
 * gl_options.cache_limit).  A medium bin's stack is mapped on its first
 * push.  A push onto a stack at the limit first flushes the whole stack
 * into the coalescer, oldest first.
 *
 * Deferral never costs footprint: the core flushes every stack before it
 * maps a new segment (malloc.S), and check and trim flush too, so with the
 * cache flushed no two free blocks of a heap are adjacent.  Trim and reset
 * give the mapped slot arrays back (the small stacks return to their inline
 * slots); their pages count in the heap's footprint.
 */
#include "gl_layout.h"

        .text

/*
 * gl__cache_push(heap, p, class) -> eax = 0 (cached) or 1 (not cached)
 *   rdi = owned heap with caching on (H_LIMIT > 0), rsi = user pointer of a
 *   valid in-use small block, rdx = its class.  Makes room when the stack is
 *   full (grows the slot array, or flushes the stack at the limit), then
 *   pushes p and marks its header CACHED.  Returns 1, p untouched, only when
 *   the class has no slot array and none can be mapped: the caller coalesces
 *   p instead.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__cache_push)
        movq    H_CTOP(%rdi,%rdx,8), %rax
        cmpq    H_CLIM(%rdi,%rdx,8), %rax
        jb      .Lpush_store
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    %rdx, %r13
        movq    %rdx, %rsi
        call    gl__cache_make_room
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movq    %r13, %rdx
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        testl   %eax, %eax
        jnz     .Lpush_no_room
        movq    H_CTOP(%rdi,%rdx,8), %rax
.Lpush_store:
        CACHE_PUSH %rdi, %rsi, %rdx, %rax
        xorl    %eax, %eax
        ret
.Lpush_no_room:
        movl    $1, %eax
        ret
END(gl__cache_push)

/*
 * gl__medium_push(heap, p, size) -> eax = 0 (cached) or 1 (not cached)
 *   rdi = owned heap, rsi = user pointer of a valid in-use block of `size`
 *   bytes, size > SMALL_MAX_BLOCK, that realloc has just copied elsewhere.
 *   Caches p when caching is on and the block is medium, first flushing every medium stack if p would take the
 *   cached medium bytes past the budget; otherwise returns 1 with p
 *   untouched and the caller coalesces it.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__medium_push)
        cmpq    $MEDIUM_MAX_BLOCK, %rdx
        ja      .Lmpush_no
        cmpl    $0, H_LIMIT(%rdi)
        je      .Lmpush_no
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %r13
        movq    %rdx, %r12
        movq    H_MEDIUM_CACHED(%rdi), %rax
        addq    %rdx, %rax
        cmpq    $MEDIUM_CACHE_BYTES, %rax
        jbe     1f
        /* over budget: what sits in the medium stacks has waited longest
         * for a request of its size; it goes to the coalescer, this block
         * takes its place */
        call    gl__flush_medium
        movq    %rbx, %rdi
        movq    %r13, %rsi
        movq    %r12, %rdx
1:      RANGE_BIN_INDEX %rdx, %rdx
        call    gl__cache_push                  /* may flush the bin's stack first */
        testl   %eax, %eax
        jnz     1f
        addq    %r12, H_MEDIUM_CACHED(%rbx)
1:      CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
.Lmpush_no:
        movl    $1, %eax
        ret
END(gl__medium_push)

/*
 * gl__medium_pop(heap, n) -> rax = user pointer of a cached block of at
 * least R = n + 8 rounded up to 16 bytes, or 0
 *   rdi = owned heap, rsi = n, SMALL_MAX_REQUEST < n <= MEDIUM_MAX_REQUEST.
 *   Takes the top of R's bin's stack when it is a near fit (R .. R +
 *   MEDIUM_FIT_SLACK bytes) and its header intact (a damaged one stays for the next flush to report).  The block
 *   was counted live when it was cached, so nothing is accounted here.
 *   Leaf.  Keeps rdi and rsi; clobbers rax, rcx, rdx, r8, r9, r10.
 */
HIDDEN_ENTRY(gl__medium_pop)
        leaq    23(%rsi), %r9
        andq    $-16, %r9                       /* R */
        RANGE_BIN_INDEX %r9, %rdx
        movq    H_CTOP(%rdi,%rdx,8), %r8
        cmpq    H_CBASE(%rdi,%rdx,8), %r8
        je      .Lmpop_none
        movq    -8(%r8), %rax                   /* the most recently freed */
        HSIZE   -8(%rax), %rcx
        subq    %r9, %rcx
        cmpq    $MEDIUM_FIT_SLACK, %rcx
        ja      .Lmpop_none                     /* too small, or larger than a near fit */
        addq    %r9, %rcx                       /* the block's size again */
        leaq    -8(%rax), %r9
        TAG_OK  %rdi, %r9, -8(%rax), %r9, %r10
        jnz     .Lmpop_none
        subq    $8, %r8
        movq    %r8, H_CTOP(%rdi,%rdx,8)
        btrq    $HDR_CACHED_BIT, -8(%rax)
        subq    %rcx, H_MEDIUM_CACHED(%rdi)
        testl   $HF_COUNT_HITS, H_FLAGS(%rdi)
        jz      1f
        incq    H_HITS(%rdi)
1:      ret
.Lmpop_none:
        xorl    %eax, %eax
        ret
END(gl__medium_pop)

/*
 * gl__cache_make_room(heap, class) -> eax = 0 (the stack has a free slot)
 *   or 1 (no slot array and the OS gave none).
 *   A stack below the limit grows to twice its capacity (the first mapped
 *   array at least a page), capped at the limit: out of the inline slots by
 *   copying them into a new mapping, then by mremap, which moves or extends
 *   the mapping with its pages, so nothing is copied and no slot page faults
 *   twice.  The pages a stack grows by are populated at once, by the mmap
 *   or by one madvise after the mremap: a stack grows because it is full,
 *   and its next pushes write them (a first touch costs a page about twice
 *   as much here).  A stack at the limit -- or one the OS would not grow --
 *   is flushed.
 *   rdi = owned heap, rsi = class.  Clobbers caller-saved registers.
 */
        .p2align 4
gl__cache_make_room:
        .cfi_startproc
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        CFI_PUSH %r14
        CFI_PUSH %r15
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    H_CLIM(%rbx,%r12,8), %r13
        subq    H_CBASE(%rbx,%r12,8), %r13      /* capacity, bytes */
        movl    H_LIMIT(%rbx), %r14d
        shlq    $3, %r14                        /* limit, bytes */
        cmpq    %r14, %r13
        jae     .Lroom_flush
        /* new capacity: double, a page at least, at most the limit */
        leaq    (%r13,%r13), %r15
        movl    $CACHE_FIRST_BYTES, %eax
        cmpq    %rax, %r15
        cmovbq  %rax, %r15
        cmpq    %r14, %r15
        cmovaq  %r14, %r15
        leaq    PAGE_SIZE-1(%r15), %rcx
        andq    $-PAGE_SIZE, %rcx               /* new mapping length */
        movq    %rbx, %rdi
        testq   %r13, %r13
        jz      .Lroom_first
        movq    H_CBASE(%rbx,%r12,8), %rax
        subq    %rbx, %rax
        cmpq    $HEAP_MAP_SIZE, %rax
        jae     .Lroom_grow                     /* a mapped array */
        /* out of the inline slots: a mapping, and the stack copied into it */
        movq    %rcx, %rsi
        call    gl__os_map_populated
        testq   %rax, %rax
        jz      .Lroom_flush
        movq    H_CBASE(%rbx,%r12,8), %rsi
        movq    H_CTOP(%rbx,%r12,8), %rcx
        subq    %rsi, %rcx                      /* the stack, bytes */
        leaq    (%rax,%rcx), %rdx
        movq    %rdx, H_CTOP(%rbx,%r12,8)
        movq    %rax, %rdi
        rep movsb
        jmp     .Lroom_mapped
.Lroom_first:
        movq    %rcx, %rsi
        call    gl__os_map_populated
        testq   %rax, %rax
        jz      .Lroom_none
        movq    %rax, H_CTOP(%rbx,%r12,8)
        jmp     .Lroom_mapped
.Lroom_grow:
        /* the kernel moves the slots' pages; the stack keeps its depth */
        movq    H_CBASE(%rbx,%r12,8), %rsi
        leaq    PAGE_SIZE-1(%r13), %rdx
        andq    $-PAGE_SIZE, %rdx
        call    gl__os_remap
        testq   %rax, %rax
        jz      .Lroom_flush
        /* the pages added: the pushes that fill them come next */
        pushq   %rax
        .cfi_adjust_cfa_offset 8
        leaq    PAGE_SIZE-1(%r13), %rdx
        andq    $-PAGE_SIZE, %rdx               /* old length */
        leaq    (%rax,%rdx), %rdi
        leaq    PAGE_SIZE-1(%r15), %rsi
        andq    $-PAGE_SIZE, %rsi
        subq    %rdx, %rsi
        call    gl__os_populate
        popq    %rax
        .cfi_adjust_cfa_offset -8
        movq    H_CTOP(%rbx,%r12,8), %rcx
        subq    H_CBASE(%rbx,%r12,8), %rcx
        addq    %rax, %rcx
        movq    %rcx, H_CTOP(%rbx,%r12,8)
.Lroom_mapped:
        movq    %rax, H_CBASE(%rbx,%r12,8)
        addq    %rax, %r15
        movq    %r15, H_CLIM(%rbx,%r12,8)
        jmp     .Lroom_ok
.Lroom_flush:
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__flush_class
.Lroom_ok:
        xorl    %eax, %eax
        jmp     .Lroom_out
.Lroom_none:
        movl    $1, %eax
.Lroom_out:
        CFI_POP %r15
        CFI_POP %r14
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
        .cfi_endproc
        .size gl__cache_make_room, .-gl__cache_make_room

/*
 * gl__flush_class(heap, class) -> blocks flushed
 *   Empties one class's stack into the coalescer, oldest first: blocks
 *   freed in address order then merge with the run freed before them,
 *   which usually keeps its bin (no list work).  A block whose header was
 *   overwritten while it sat in the cache is left alone (check names it)
 *   and the damage recorded.
 *   rdi = owned heap, rsi = class.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__flush_class)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    H_CBASE(%rbx,%r12,8), %r13      /* cursor */
.Lflush_next:
        cmpq    H_CTOP(%rbx,%r12,8), %r13
        jae     .Lflush_done
        movq    (%r13), %rsi
        subq    $8, %rsi
        TAG_OK  %rbx, %rsi, (%rsi), %rax, %rcx
        movl    $GL_E_CORRUPT, %eax
        jnz     .Lflush_failed
        btrq    $HDR_CACHED_BIT, (%rsi)
        cmpq    $RANGE_BIN0, %r12
        jb      1f
        HSIZE   (%rsi), %rax                    /* a medium block leaves the budget */
        subq    %rax, H_MEDIUM_CACHED(%rbx)
1:      movq    %rbx, %rdi
        call    gl__free_block
        testl   %eax, %eax
        jz      .Lflush_step
.Lflush_failed:
        movq    %rbx, %rdi
        movl    %eax, %esi
        call    gl__record_error
.Lflush_step:
        addq    $8, %r13
        jmp     .Lflush_next
.Lflush_done:
        movq    H_CBASE(%rbx,%r12,8), %rax
        movq    %rax, H_CTOP(%rbx,%r12,8)
        movq    %r13, %rax
        subq    H_CBASE(%rbx,%r12,8), %rax
        shrq    $3, %rax
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__flush_class)

/*
 * gl__flush_all(heap) -> blocks flushed
 *   Empties every stack, small and medium (before the heap grows, on trim
 *   and check).  After it, no two free blocks of the heap are adjacent.
 *   rdi = owned heap.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__flush_all)
        movl    $SMALL_MIN_CLASS, %esi
        jmp     gl__flush_from
END(gl__flush_all)

/*
 * gl__flush_medium(heap) -> blocks flushed
 *   Empties the medium stacks (a push past the medium budget).
 *   rdi = owned heap.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__flush_medium)
        movl    $RANGE_BIN0, %esi
        jmp     gl__flush_from
END(gl__flush_medium)

/*
 * gl__flush_from(heap, first) -> blocks flushed
 *   Empties the stacks of cache classes first .. CACHE_CLASSES_N - 1 into
 *   the coalescer, which takes in every medium stack: H_MEDIUM_CACHED is 0
 *   after it.  rdi = owned heap, esi = first class.  Clobbers caller-saved
 *   registers.
 */
HIDDEN_ENTRY(gl__flush_from)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movl    %esi, %r12d
        xorl    %r13d, %r13d
.Lflush_from_class:
        movq    H_CTOP(%rbx,%r12,8), %rax
        cmpq    H_CBASE(%rbx,%r12,8), %rax
        je      .Lflush_from_step
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__flush_class
        addq    %rax, %r13
.Lflush_from_step:
        incl    %r12d
        cmpl    $CACHE_CLASSES_N, %r12d
        jb      .Lflush_from_class
        /* the medium stacks are empty: a medium block whose damaged header
         * kept it from the coalescer is no longer in the cache either */
        movq    $0, H_MEDIUM_CACHED(%rbx)
        movq    %r13, %rax
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__flush_from)

/*
 * gl__cache_release(heap) -> bytes unmapped
 *   Unmaps every class's mapped slot array, forgetting whatever the stacks
 *   hold: trim (after a flush), reset (which frees every block anyway) and
 *   destroy.  The small classes' stacks start over, empty, in their inline
 *   slots; a medium bin's next push maps a page again.
 *   rdi = owned heap.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__cache_release)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        xorl    %r12d, %r12d                    /* class */
        xorl    %r13d, %r13d                    /* bytes */
.Lrelease_class:
        movq    H_CBASE(%rbx,%r12,8), %rsi
        testq   %rsi, %rsi
        jz      .Lrelease_step
        movq    %rsi, %rax
        subq    %rbx, %rax
        cmpq    $HEAP_MAP_SIZE, %rax
        jb      .Lrelease_step                  /* inline slots */
        movq    H_CLIM(%rbx,%r12,8), %rdx
        subq    %rsi, %rdx
        addq    $PAGE_SIZE-1, %rdx
        andq    $-PAGE_SIZE, %rdx
        addq    %rdx, %r13
        movq    %rbx, %rdi
        call    gl__os_unmap
        xorl    %eax, %eax
        movq    %rax, H_CBASE(%rbx,%r12,8)
        movq    %rax, H_CTOP(%rbx,%r12,8)
        movq    %rax, H_CLIM(%rbx,%r12,8)
.Lrelease_step:
        incl    %r12d
        cmpl    $CACHE_CLASSES_N, %r12d
        jb      .Lrelease_class
        movq    $0, H_MEDIUM_CACHED(%rbx)
        movq    %rbx, %rdi
        call    gl__cache_inline
        movq    %r13, %rax
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__cache_release)

/*
 * gl__cache_inline(heap)
 *   Puts every small class's stack, empty, in its inline slots: min(limit,
 *   INLINE_SLOTS) of them, none (always full) on a heap without a cache.
 *   rdi = owned heap, H_LIMIT set.  Leaf.  Clobbers rax, rcx, rdx, rsi.
 */
HIDDEN_ENTRY(gl__cache_inline)
        movl    H_LIMIT(%rdi), %edx
        movl    $INLINE_SLOTS, %eax
        cmpl    %eax, %edx
        cmoval  %eax, %edx
        shll    $3, %edx                        /* capacity, bytes */
        leaq    H_INLINE_SLOTS(%rdi), %rax
        movl    $SMALL_MIN_CLASS, %ecx
.Linline_class:
        movq    %rax, H_CBASE(%rdi,%rcx,8)
        movq    %rax, H_CTOP(%rdi,%rcx,8)
        leaq    (%rax,%rdx), %rsi
        movq    %rsi, H_CLIM(%rdi,%rcx,8)
        addq    $8 * INLINE_SLOTS, %rax
        incl    %ecx
        cmpl    $SMALL_MAX_CLASS, %ecx
        jbe     .Linline_class
        ret
END(gl__cache_inline)

        .section .note.GNU-stack,"",@progbits
