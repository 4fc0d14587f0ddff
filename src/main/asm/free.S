/*
 * free.S - gl_heap_free: validation, the recently-freed cache, coalescing.
 *
 * Fast path (leaf, no frame): the pointer must be 16-aligned and in a
 * segment of this heap according to the direct-mapped table H_SEGTAB -- one
 * compare decides both, through (header ror 4) >> (SEG_SHIFT - 4) -- before
 * anything behind it is read.  Then it must be a block start (its bit in
 * the segment's SEG_STARTS bitmap), the header's tag must match its address,
 * and header >> 20 must be a small class (any FREE/CACHED/FENCE/LARGE bit
 * makes it huge).  The block is pushed on its class's cache stack and marked
 * CACHED.  A full stack, a table miss or any doubt goes to the slow path
 * with the arguments untouched; a header that passed the tests but is no
 * small in-use block (a medium block, or a misuse) to gl__free_unsmall,
 * which takes it from there instead of asking the registry again.
 *
 * Slow path: the full registry (gl__classify) decides what the pointer is
 * without reading foreign memory, and the bitmap of block starts whether
 * there is a header to read at all; misuse is reported, never followed.
 * A valid small block goes to the cache (cache.S grows or flushes a full
 * stack); any other block, or any block with caching off, to the
 * coalescer, which merges it with free neighbours found through the
 * boundary tags (PREV_FREE + footer behind, header ahead), or into the top.
 * (A medium block that realloc moves away from is cached by realloc.S.)
 */
#include "gl_layout.h"

        .text

/*
 * int gl_heap_free(gl_heap *h, void *p)
 *   rdi = heap, rsi = pointer.  Returns eax = 0, or a negative GL_E_*.
 *   Fast path clobbers rax, rcx, rdx.
 */
        .p2align 6                              /* a hot path: one cache line to itself */
ENTRY(gl_heap_free)
        OWNED_BLOCK_TEST gl__free_slow
        cmpq    $SMALL_MAX_CLASS, %rax
        ja      gl__free_unsmall                /* medium, or a flagged header */
        movq    H_CTOP(%rdi,%rax,8), %rcx
        cmpq    H_CLIM(%rdi,%rax,8), %rcx
        jae     gl__free_slow                   /* full, or no slot array yet */
        CACHE_PUSH %rdi, %rsi, %rax, %rcx
        xorl    %eax, %eax
        ret
END(gl_heap_free)
INTERNAL_ALIAS(gl_heap_free, gl__heap_free)

/*
 * gl__free_slow(heap, p)
 */
HIDDEN_ENTRY(gl__free_slow)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__free_owned
        jmp     gl__free_front
END(gl__free_slow)

/*
 * gl__free_locked(front, p) -> eax = status: free on a locked heap: its
 * fast path (LOCKED_FREE_FAST), then gl__free_forward.  Also the front's
 * gl_heap_free, whose own fast path only misses.
 */
        .p2align 4
HIDDEN_ENTRY(gl__free_locked)
        movq    %rdi, %r9
        LOCKED_FREE_FAST .Lfree_locked_forward
.Lfree_locked_forward:
        movq    %r9, %rdi
        jmp     gl__free_forward
END(gl__free_locked)

/*
 * gl__free_forward(front, p) -> eax = status: free on a locked heap through
 * LOCKED_FORWARD (the lock, or the bias, and the owned heap's whole path,
 * which reports misuse).
 */
HIDDEN_ENTRY(gl__free_forward)
        LOCKED_FORWARD gl__heap_free
END(gl__free_forward)

/*
 * gl__classify(heap, p) -> eax = kind, rdx = header, rcx = header word
 *   Decides what p is without reading memory the heap does not own.
 *   kind 0: an in-use block in a segment (rdx = its header, rcx = word);
 *   kind 1: a live large block (rdx = header address p - 8);
 *   negative: GL_E_NOT_OURS, GL_E_DOUBLE_FREE or GL_E_CORRUPT.
 *   rdi = owned heap, rsi = p (not NULL).  Leaf, no frame (the lookups it
 *   calls are leaves too; rdi and rsi wait in r10 and r11 meanwhile).
 *   Clobbers rax, rcx, rdx, r8-r11.
 */
HIDDEN_ENTRY(gl__classify)
        /* aligned, in a segment of the fast table?  The test of gl_heap_free */
        leaq    -8(%rsi), %rdx
        rorq    $4, %rdx
        shrq    $SEG_SHIFT - 4, %rdx            /* segment number | aligned bit */
        movzbl  %dl, %ecx
        cmpq    %rdx, H_SEGTAB(%rdi,%rcx,8)
        jne     .Lcls_lookup
        .p2align 4
.Lcls_segment:
        leaq    -8(%rsi), %rdx                  /* header */
        movl    %edx, %eax
        andl    $SEG_OFFSET_MASK, %eax
        cmpl    $SEG_FIRST, %eax
        jb      .Lcls_not_ours
        cmpl    $SEG_END_FENCE, %eax
        jae     .Lcls_not_ours
        STARTS_TEST %rsi, %rax, %r8
        jnc     .Lcls_not_a_start
        movq    (%rdx), %rcx
        TAG_OK  %rdi, %rdx, %rcx, %rax, %r8
        jnz     .Lcls_corrupt                   /* a block's header, damaged */
        jmp     gl__classify_header
.Lcls_lookup:
        /* not in the fast table: misaligned, or ask the full segment set */
        testl   $15, %esi
        jnz     .Lcls_not_ours
        movq    %rdi, %r10
        movq    %rsi, %r11
        leaq    H_SEGSET(%rdi), %rdi
        leaq    -8(%rsi), %rsi
        shrq    $SEG_SHIFT, %rsi
        call    gl__set_find                    /* leaf: rax, rcx, rdx, r8 */
        movq    %r10, %rdi
        movq    %r11, %rsi
        testq   %rax, %rax
        jnz     .Lcls_segment
        /* a large block? */
        leaq    H_LARGESET(%rdi), %rdi
        call    gl__set_find
        movq    %r10, %rdi
        testq   %rax, %rax
        jz      .Lcls_large_gone
        call    gl__large_valid                 /* leaf: rax, rcx, rdx, r8; eax = 1 if intact */
        testl   %eax, %eax
        jz      .Lcls_corrupt
        leaq    -8(%rsi), %rdx
        movq    (%rdx), %rcx
        movl    $1, %eax
        ret
.Lcls_not_a_start:
        /* No block starts at p, whatever the word before it says: a stale
         * pointer into freed memory, or a pointer into a block. */
        call    gl__inside_free                 /* leaf: rax, rcx, rdx, r8, r9 */
        testl   %eax, %eax
        jnz     .Lcls_double                    /* points into freed memory */
        jmp     .Lcls_not_ours
.Lcls_large_gone:
        /* a large block this heap unmapped lately: a double free */
        xorl    %ecx, %ecx
1:      cmpq    %rsi, H_LARGE_GONE(%rdi,%rcx,8)
        je      .Lcls_gone_hit
        incl    %ecx
        cmpl    $LARGE_GONE_SLOTS, %ecx
        jb      1b
        /* the default heap answers for pointers no arena knows, an arena's
         * large block gone lately among them (arena.S, gl__arena_gone; read
         * without its lock: p is live nowhere, and the ring only says
         * which report fits) */
        movq    gl__default(%rip), %rax
        testq   %rax, %rax
        jz      .Lcls_not_ours
        cmpq    H_INNER(%rax), %rdi
        jne     .Lcls_not_ours
        leaq    gl__arena_gone(%rip), %rax
        xorl    %ecx, %ecx
2:      cmpq    %rsi, (%rax,%rcx,8)
        je      .Lcls_gone_hit
        incl    %ecx
        cmpl    $LARGE_GONE_SLOTS, %ecx
        jb      2b
.Lcls_not_ours:
        movl    $GL_E_NOT_OURS, %eax
        ret
.Lcls_double:
        movl    $GL_E_DOUBLE_FREE, %eax
        ret
.Lcls_corrupt:
        movl    $GL_E_CORRUPT, %eax
        ret
.Lcls_gone_hit:
        /* p is a gone large block's address, and no heap of ours knows it:
         * a second free of that block while its pages stay unmapped.  Once
         * anyone maps them again -- this heap's own segment or large block
         * over the hole, an arena's, another heap's, libc's, the JVM's --
         * p is an interior pointer of live memory, or the start of memory
         * someone else handed out: not ours (the CI run of 1db9e5f met it
         * by chance, p + 1 MiB of a new 2 MiB block).  mincore says which,
         * failing with ENOMEM on an unmapped page; a kernel that refuses it
         * leaves the answer a double free.  Misuse only, so the system call
         * costs no free. */
        movq    %rdi, %r10
        movq    %rsi, %r9
        movq    %rsi, %rdi
        andq    $-PAGE_SIZE, %rdi
        movl    $PAGE_SIZE, %esi
        call    gl__os_resident                 /* rcx, rdx, rsi, rdi, r8, r11 */
        movq    %r10, %rdi
        movq    %r9, %rsi
        testq   %rax, %rax
        jns     .Lcls_not_ours                  /* mapped again */
        jmp     .Lcls_double
END(gl__classify)

/*
 * gl__classify_header(heap, p, header, word) -> eax = 0 (an in-use block)
 * or GL_E_NOT_OURS, GL_E_DOUBLE_FREE, GL_E_CORRUPT
 *   gl__classify's second half, for a p already known to be a block start
 *   in a segment of the heap whose header carries its tag: what the header
 *   says.  rdi = owned heap, rsi = p, rdx = header (p - 8), rcx = its word;
 *   all four kept.  Leaf.  Clobbers rax, r8, r9.
 */
HIDDEN_ENTRY(gl__classify_header)
        /* no flag (fence, large, free, cached) and bits 17..19 clear: one test */
        movabsq $HDR_FLAG_BITS | HDR_NEVER_SET, %rax
        testq   %rax, %rcx
        jnz     .Lch_flagged
        /* the size must stay inside the segment and land on a header with
         * a valid tag */
        HSIZE   %rcx, %rax
        cmpq    $MIN_BLOCK, %rax
        jb      .Lch_corrupt
        movl    %edx, %r8d
        andl    $SEG_OFFSET_MASK, %r8d
        addq    %rax, %r8
        cmpq    $SEG_END_FENCE, %r8
        ja      .Lch_corrupt
        leaq    (%rdx,%rax), %r8                /* the next header */
        TAG_OK  %rdi, %r8, (%r8), %rax, %r9
        jnz     .Lch_corrupt
        xorl    %eax, %eax
        ret
.Lch_flagged:
        btq     $HDR_FENCE_BIT, %rcx
        jc      .Lch_not_ours
        btq     $HDR_LARGE_BIT, %rcx
        jc      .Lch_corrupt
        btq     $HDR_FREE_BIT, %rcx
        jc      .Lch_double
        btq     $HDR_CACHED_BIT, %rcx
        jc      .Lch_double
.Lch_corrupt:
        movl    $GL_E_CORRUPT, %eax             /* bits 17..19, a size out of bounds */
        ret
.Lch_not_ours:
        movl    $GL_E_NOT_OURS, %eax
        ret
.Lch_double:
        movl    $GL_E_DOUBLE_FREE, %eax
        ret
END(gl__classify_header)

/*
 * gl__free_unsmall(heap, p) -> eax = 0 or GL_E_*
 *   gl_heap_free's fast path found p at a block start in a segment of this
 *   heap (an owned one: a front's table is empty) with its tag, and a header
 *   that is no small in-use block: a medium block, which goes to the
 *   coalescer without the registry's lookups again, or a flagged header
 *   (a misuse), which gl__free_owned classifies from the start and reports.
 *   Standard calling convention.
 */
HIDDEN_ENTRY(gl__free_unsmall)
        leaq    -8(%rsi), %rdx
        movq    (%rdx), %rcx
        call    gl__classify_header
        testl   %eax, %eax
        jnz     gl__free_owned
        CFI_PUSH %rbx
        movq    %rdi, %rbx
        movq    %rdx, %rsi
        call    gl__free_block
        testl   %eax, %eax
        jnz     1f
        CFI_POP %rbx
        ret
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
1:      movq    %rbx, %rdi
        movl    %eax, %esi
        call    gl__record_error
        CFI_POP %rbx
        ret
END(gl__free_unsmall)

/*
 * int gl_heap_pointer_status(gl_heap *h, const void *p)
 *   What gl_heap_free(h, p) would return, with nothing freed, recorded or
 *   counted: 0 for a live block of h (or NULL), else GL_E_NOT_OURS,
 *   GL_E_DOUBLE_FREE or GL_E_CORRUPT.  Unlike H_LAST_ERROR, the answer
 *   cannot be taken by another thread of a shared heap.
 */
ENTRY(gl_heap_pointer_status)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__pointer_status_owned
        DEFAULT_OR_LOCKED gl__pointer_status_default, gl__pointer_status_locked
        LOCKED_FORWARD gl__pointer_status_owned
END(gl_heap_pointer_status)

/*
 * gl__pointer_status_owned(heap, p) -> eax: gl_heap_pointer_status on an
 * owned heap.  Leaf (gl__classify's clobbers).
 */
HIDDEN_ENTRY(gl__pointer_status_owned)
        xorl    %eax, %eax
        testq   %rsi, %rsi
        jz      .Lps_out
        call    gl__classify                    /* kind 0 or 1 (live), or a status */
        testl   %eax, %eax
        js      .Lps_out
        xorl    %eax, %eax
.Lps_out:
        ret
END(gl__pointer_status_owned)

/*
 * gl__inside_free(heap, p) -> eax = 1 if p lies inside a free block (or the
 * top) of its segment, else 0
 *   p is in a segment of the heap and is no block start.  The block holding
 *   p is the nearest block start below it in the segment's bitmap (searched
 *   a word at a time); a header there that fails its tag, or whose block
 *   ends before p, counts as not free.  Error path only.  rdi = heap,
 *   rsi = p.  Leaf.  Clobbers rax, rcx, rdx, r8, r9.
 */
HIDDEN_ENTRY(gl__inside_free)
        STARTS_WORD %rsi, %r8, %rax             /* p's word */
        movq    %rsi, %rcx
        shrq    $4, %rcx
        andl    $63, %ecx
        movq    $1, %rax
        shlq    %cl, %rax
        decq    %rax                            /* the bits below p's */
        andq    (%r8), %rax
        movq    %rsi, %r9
        andq    $-SEG_SIZE, %r9
        addq    $SEG_STARTS, %r9                /* the first word */
1:      testq   %rax, %rax
        jnz     2f
        subq    $8, %r8
        cmpq    %r9, %r8
        jb      .Lif_no
        movq    (%r8), %rax
        jmp     1b
2:      bsrq    %rax, %rax                      /* the start: bit rax of word r8 */
        subq    %r9, %r8
        shlq    $3, %r8                         /* bits before word r8 */
        addq    %r8, %rax
        shlq    $4, %rax                        /* its offset in the segment */
        leaq    -SEG_STARTS-8(%r9,%rax), %rdx   /* its header */
        movq    (%rdx), %r8
        TAG_OK  %rdi, %rdx, %r8, %rax, %rcx
        jnz     .Lif_no
        btq     $HDR_FREE_BIT, %r8
        jnc     .Lif_no
        HSIZE   %r8, %rax
        addq    %rdx, %rax                      /* its end */
        cmpq    %rsi, %rax
        jbe     .Lif_no
        movl    $1, %eax
        ret
.Lif_no:
        xorl    %eax, %eax
        ret
END(gl__inside_free)

/*
 * gl__free_owned(heap, p) -> eax = 0 or GL_E_*
 *   The slow path of free on an owned heap.  Standard calling convention.
 */
HIDDEN_ENTRY(gl__free_owned)
        testq   %rsi, %rsi
        jz      .Lfo_null
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %r12
        call    gl__classify
        testl   %eax, %eax
        js      .Lfo_error
        jnz     .Lfo_large
        movq    %rdx, %r13                      /* header */
        /* small and caching on: push, flushing a full stack first */
        movq    %rcx, %rax
        shrq    $HDR_CLASS_SHIFT, %rax
        cmpq    $SMALL_MAX_CLASS, %rax
        ja      .Lfo_coalesce
        cmpl    $0, H_LIMIT(%rbx)
        je      .Lfo_coalesce
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movq    %rax, %rdx
        call    gl__cache_push
        testl   %eax, %eax
        jz      .Lfo_out                        /* cached */
.Lfo_coalesce:
        movq    %rbx, %rdi
        movq    %r13, %rsi
        call    gl__free_block
        testl   %eax, %eax
        jz      .Lfo_out
        jmp     .Lfo_record
.Lfo_large:
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__large_free
        xorl    %eax, %eax
        jmp     .Lfo_out
.Lfo_error:
.Lfo_record:
        movq    %rbx, %rdi
        movl    %eax, %esi
        call    gl__record_error
.Lfo_out:
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
.Lfo_null:
        xorl    %eax, %eax
        ret
END(gl__free_owned)

/*
 * gl__free_block(heap, header) -> 0, or GL_E_CORRUPT (block left in use)
 *   Returns an in-use block (valid, not cached) to the free memory of its
 *   segment, merging it with a free block before it (PREV_FREE and footer),
 *   a free block after it, and the top.  The merged block gets a header and a
 *   footer and sits in its bin, or becomes the top.  When the merged block
 *   stays in the bin of one of the neighbours it absorbed, that neighbour's
 *   list node is kept (updated in place, or moved to the new start) instead
 *   of an unlink and an insert: freeing next to a long free run costs no
 *   list operations at all.
 *   rdi = heap, rsi = header.  Clobbers caller-saved registers.
 */
#define FB_PREV         0                       /* free predecessor header, or 0 */
#define FB_PREV_SIZE    8
#define FB_NEXT         16                      /* free successor header, or 0 */
#define FB_NEXT_SIZE    24
#define FB_PREV_TOP     32                      /* the predecessor is the top */
#define FB_SELF         40                      /* the block being freed */
#define FB_FRAME        48
HIDDEN_ENTRY(gl__free_block)
        SAVE_ALL
        subq    $FB_FRAME, %rsp
        .cfi_adjust_cfa_offset FB_FRAME
        movq    %rdi, %rbx
        movq    %rsi, %r12                      /* the freed block */
        movq    (%rsi), %r15                    /* its header word */
        HSIZE   %r15, %rbp                      /* its size */
        leaq    (%r12,%rbp), %r14               /* next header */
        xorl    %eax, %eax
        movq    %rax, FB_PREV(%rsp)
        movq    %rax, FB_PREV_SIZE(%rsp)
        movq    %rax, FB_NEXT(%rsp)
        movq    %rax, FB_NEXT_SIZE(%rsp)
        movq    %rax, FB_PREV_TOP(%rsp)
        movq    %r12, FB_SELF(%rsp)
        /* the predecessor, if PREV_FREE says it is free: validate, don't touch */
        testq   $HDR_PREV_FREE, %r15
        jz      .Lfb_next
        /* the top has no footer: is the predecessor the top?  (Its header is
         * ours to read; it is checked only when it is the one.) */
        movq    H_TOP(%rbx), %rsi
        testq   %rsi, %rsi
        jz      .Lfb_footer
        HSIZE   (%rsi), %rdx
        leaq    (%rsi,%rdx), %rax
        cmpq    %r12, %rax
        jne     .Lfb_footer
        movq    %rbx, %rdi
        call    gl__top_checked
        testq   %rsi, %rsi
        jz      .Lfb_corrupt                    /* a damaged top: leave the block in use */
        movq    %rsi, FB_PREV(%rsp)
        movq    %rdx, FB_PREV_SIZE(%rsp)
        movq    $1, FB_PREV_TOP(%rsp)
        jmp     .Lfb_next
.Lfb_footer:
        movq    -8(%r12), %rdx                  /* its footer */
        movq    %r12, %rsi
        subq    %rdx, %rsi                      /* its header */
        movl    %esi, %eax
        andl    $SEG_OFFSET_MASK, %eax
        cmpl    $SEG_FIRST, %eax                /* must stay in this segment */
        jb      .Lfb_corrupt
        movq    %rsi, %rax
        xorq    %r12, %rax
        shrq    $SEG_SHIFT, %rax
        jnz     .Lfb_corrupt
        movq    (%rsi), %rax
        TAG_OK  %rbx, %rsi, %rax, %rcx, %r8
        jnz     .Lfb_corrupt
        btq     $HDR_FREE_BIT, %rax
        jnc     .Lfb_corrupt
        HSIZE   %rax, %rcx
        cmpq    %rdx, %rcx
        jne     .Lfb_corrupt
        cmpq    H_TOP(%rbx), %rsi               /* the top is always last */
        je      .Lfb_corrupt
        movq    %rsi, FB_PREV(%rsp)
        movq    %rdx, FB_PREV_SIZE(%rsp)
.Lfb_next:
        /* the successor: the top, a free block, or in use */
        cmpq    H_TOP(%rbx), %r14
        jne     1f
        movq    %rbx, %rdi
        call    gl__top_checked
        testq   %rsi, %rsi
        jnz     .Lfb_into_top
        jmp     .Lfb_merge                      /* a damaged top is not merged */
1:
        movq    (%r14), %rax
        btq     $HDR_FREE_BIT, %rax
        jnc     .Lfb_merge
        TAG_OK  %rbx, %r14, %rax, %rcx, %r8
        jnz     .Lfb_merge                      /* damaged: leave it alone */
        HSIZE   %rax, %rcx
        movq    %r14, FB_NEXT(%rsp)
        movq    %rcx, FB_NEXT_SIZE(%rsp)
.Lfb_merge:
        cmpq    $0, FB_PREV_TOP(%rsp)
        jne     .Lfb_grow_top
        /* r12 = start, r13 = total size */
        movq    %rbp, %r13
        movq    FB_PREV(%rsp), %rax
        testq   %rax, %rax
        jz      1f
        movq    %rax, %r12
        addq    FB_PREV_SIZE(%rsp), %r13
1:      addq    FB_NEXT_SIZE(%rsp), %r13        /* 0 when no successor */
        BIN_INDEX %r13, %r15                    /* the merged block's bin */
        /* Only the neighbours whose links get rewritten are validated (a
         * damaged one is not merged; the block is then freed on its own). */
        /* keep the predecessor's node, updated in place? */
        movq    FB_PREV(%rsp), %rax
        testq   %rax, %rax
        jz      .Lfb_try_next
        movq    FB_PREV_SIZE(%rsp), %rdx
        BIN_INDEX %rdx, %rax
        cmpq    %r15, %rax
        jne     .Lfb_try_next
        movq    FB_NEXT(%rsp), %rsi
        testq   %rsi, %rsi
        jz      .Lfb_absorbed
        movq    %rbx, %rdi
        call    gl__bin_linked
        testl   %eax, %eax
        jnz     .Lfb_alone
        movq    FB_NEXT(%rsp), %rsi
        call    gl__bin_unlink_raw
        jmp     .Lfb_absorbed
.Lfb_try_next:
        /* keep the successor's node, moved to the start? */
        movq    FB_NEXT(%rsp), %rsi
        testq   %rsi, %rsi
        jz      .Lfb_relink
        movq    FB_NEXT_SIZE(%rsp), %rdx
        BIN_INDEX %rdx, %rax
        cmpq    %r15, %rax
        jne     .Lfb_relink
        call    .Lfb_validate_both
        jnz     .Lfb_alone
        movq    FB_PREV(%rsp), %rsi
        testq   %rsi, %rsi
        jz      1f
        movq    %rbx, %rdi
        call    gl__bin_unlink_raw
1:      movq    %rbx, %rdi
        movq    FB_NEXT(%rsp), %rsi
        movq    %r12, %rdx
        call    gl__bin_replace_raw
        jmp     .Lfb_absorbed
.Lfb_relink:
        /* neither: unlink what was merged, insert the result */
        call    .Lfb_validate_both
        jnz     .Lfb_alone
        movq    FB_PREV(%rsp), %rsi
        testq   %rsi, %rsi
        jz      1f
        movq    %rbx, %rdi
        call    gl__bin_unlink_raw
1:      movq    FB_NEXT(%rsp), %rsi
        testq   %rsi, %rsi
        jz      2f
        movq    %rbx, %rdi
        call    gl__bin_unlink_raw
2:      movq    %rbx, %rdi
        movq    %r12, %rsi
        movq    %r13, %rdx
        call    gl__bin_insert
.Lfb_absorbed:
        /* what was merged no longer starts a block: the freed block when it
         * went into its predecessor, the successor */
        movq    FB_SELF(%rsp), %rsi
        cmpq    %r12, %rsi
        je      1f
        STARTS_UPDATE btrq, %rsi, %rax, %rcx, %rdx
1:      movq    FB_NEXT(%rsp), %rsi
        testq   %rsi, %rsi
        jz      .Lfb_write
        STARTS_UPDATE btrq, %rsi, %rax, %rcx, %rdx
        jmp     .Lfb_write
.Lfb_alone:
        /* a neighbour's links are damaged: free the block by itself */
        movq    %rbx, %rdi
        movl    $GL_E_CORRUPT, %esi
        call    gl__record_error
        movq    FB_SELF(%rsp), %r12
        movq    %rbp, %r13
        movq    %rbx, %rdi
        movq    %r12, %rsi
        movq    %r13, %rdx
        call    gl__bin_insert
.Lfb_write:
        MKHDR   %rbx, %r12, %r13, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%r12)
        movq    %r13, -8(%r12,%r13)             /* footer */
        orq     $HDR_PREV_FREE, (%r12,%r13)     /* the block after knows */
        jmp     .Lfb_account
.Lfb_grow_top:
        /* the top absorbs the block (and a free successor) */
        movq    FB_NEXT(%rsp), %rsi
        testq   %rsi, %rsi
        jz      1f
        call    .Lfb_validate_both
        jnz     .Lfb_corrupt
        movq    %rbx, %rdi
        movq    FB_NEXT(%rsp), %rsi
        call    gl__bin_unlink_raw
        movq    FB_NEXT(%rsp), %rsi
        STARTS_UPDATE btrq, %rsi, %rax, %rcx, %rdx
1:      STARTS_UPDATE btrq, %r12, %rax, %rcx, %rdx
        movq    FB_PREV(%rsp), %r12
        movq    FB_PREV_SIZE(%rsp), %r13
        addq    %rbp, %r13
        addq    FB_NEXT_SIZE(%rsp), %r13
        MKHDR   %rbx, %r12, %r13, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%r12)
        orq     $HDR_PREV_FREE, (%r12,%r13)
        jmp     .Lfb_account
.Lfb_into_top:
        /* merge into the top (and the predecessor with it) */
        movq    (%r14), %rax
        HSIZE   %rax, %r13
        addq    %rbp, %r13
        movq    FB_PREV(%rsp), %rsi
        testq   %rsi, %rsi
        jz      1f
        call    .Lfb_validate_both              /* FB_NEXT is 0 here */
        jnz     .Lfb_corrupt
        movq    %rbx, %rdi
        movq    FB_PREV(%rsp), %rsi
        call    gl__bin_unlink_raw
        STARTS_UPDATE btrq, %r12, %rax, %rcx, %rdx
        movq    FB_PREV(%rsp), %r12
        addq    FB_PREV_SIZE(%rsp), %r13
1:      STARTS_UPDATE btrq, %r14, %rax, %rcx, %rdx  /* the old top */
        MKHDR   %rbx, %r12, %r13, %rax, %rcx
        btsq    $HDR_FREE_BIT, %rax
        movq    %rax, (%r12)
        movq    %r12, H_TOP(%rbx)
.Lfb_account:
        addq    %rbp, H_FREE_BYTES(%rbx)
        leaq    -8(%rbp), %rax
        subq    %rax, H_LIVE_BYTES(%rbx)
        decq    H_LIVE_BLOCKS(%rbx)
        cmpq    $SMALL_MAX_BLOCK, %rbp
        ja      1f
        movq    %rbp, %rax
        shrq    $4, %rax
        decq    H_CLASS_LIVE(%rbx,%rax,8)
1:      xorl    %eax, %eax
        jmp     .Lfb_out
.Lfb_corrupt:
        movl    $GL_E_CORRUPT, %eax
.Lfb_out:
        addq    $FB_FRAME, %rsp
        .cfi_adjust_cfa_offset -FB_FRAME
        RESTORE_ALL
        ret
END(gl__free_block)

/*
 * .Lfb_validate_both: gl__free_block's helper.  Checks the links of the
 * free neighbours it recorded (FB_PREV unless it is the top, FB_NEXT).
 * Called with its frame 8 bytes up.  Returns ZF set when both are sound.
 * Clobbers rax, rcx, rdx, rsi, rdi, r8-r11.
 */
        .p2align 4
.Lfb_validate_both:
        .cfi_startproc
        movq    %rbx, %rdi
        movq    8+FB_PREV(%rsp), %rsi
        testq   %rsi, %rsi
        jz      1f
        cmpq    $0, 8+FB_PREV_TOP(%rsp)
        jne     1f
        call    gl__bin_linked
        testl   %eax, %eax
        jnz     2f
1:      movq    %rbx, %rdi
        movq    8+FB_NEXT(%rsp), %rsi
        testq   %rsi, %rsi
        jz      2f                              /* ZF set: ok */
        call    gl__bin_linked
        testl   %eax, %eax
2:      ret
        .cfi_endproc

        .section .note.GNU-stack, "", @progbits
