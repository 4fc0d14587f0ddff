/*
 * class_pages_fast.S - the class-pages prototype's malloc and free fast
 * paths in assembly (built with class_pages.c -DFAST_ASM -DPAGE_SHIFT=14
 * and -DFRONT_LIFO=N, -DMAP_ONLY or -DMAP_ONLY -DFRONT_SLOT, whose C
 * malloc and free become the slow paths): what the design costs per call
 * when it is written the way Glimmer's fast paths are, so that `ab` can
 * put it beside them.  Not Glimmer.
 *
 * malloc: a request of at most 1000 bytes pops its class's LIFO (or takes
 * its slot); an empty LIFO (or none) takes the lowest free block of the
 * class's current free-map word.
 * free: Glimmer's own checks (OWNED_BLOCK_TEST from src/main/asm/gl_layout.h:
 * the segment table, the start bit, the tag; the prototype's heap and
 * segments keep what it reads where Glimmer's do), a small class, then a
 * push on the LIFO, or, when it is full (or there is none), the block's bit
 * in the free map (and its page onto the class's list if the page was
 * full).  Anything else goes to the C functions, with the arguments
 * untouched.
 *
 * A block in the free map is marked FREE in its header, except with
 * MAP_ONLY: then only its bit says so -- malloc's map path writes no
 * header, and free tells a double free by finding the bit set (the slow
 * path reports it).  Without a LIFO, free runs OWNED_BLOCK_TEST's steps
 * inline, keeping the segment and the word's offset for the free map.
 *
 * FRONT_SLOT: one slot per class in front of the map, marked nowhere: free
 * fills it when it is empty (after the map bit said the block is not free
 * already) and refuses the block that is in it; malloc empties it first.
 *
 * WORD_LISTED (MAP_ONLY): free reads whether the page is listed at the
 * offset of the block's own map word (one compare, no page_info address),
 * and malloc moves on through the rest of the page's words itself, the C
 * slow path only when the page has none left.
 */
#undef PAGE_SHIFT                       /* -DPAGE_SHIFT is class_pages.c's; gl_layout.h's is the OS page */
#include "gl_layout.h"
#include "class_pages_layout.h"

#if CP_H_KEY != H_KEY || CP_H_SEGTAB != H_SEGTAB || CP_S_STARTS != SEG_STARTS || \
    CP_SEG_SHIFT != SEG_SHIFT || CP_S_FREE_MAP != CP_S_STARTS + SEG_STARTS_BYTES || \
    CP_FREE_BIT != HDR_FREE_BIT || CP_CACHED_BIT != HDR_CACHED_BIT
#error "class_pages_layout.h no longer matches gl_layout.h"
#endif

        .text

/* void *gl_heap_malloc(heap *h, size_t n); clobbers rax, rcx, rdx, r8 */
        .p2align 6
ENTRY(gl_heap_malloc)
        cmpq    $CP_MAX_REQUEST, %rsi
        ja      .Lmalloc_slow
        movzbl  CP_H_CLASS_OF(%rdi,%rsi), %ecx
#ifdef FRONT_LIFO
        movq    CP_H_TOP(%rdi,%rcx,8), %rax
        cmpq    CP_H_FLOOR(%rdi,%rcx,8), %rax
        je      .Lmalloc_map
        movq    -8(%rax), %rdx                  /* pop */
        subq    $8, %rax
        movq    %rax, CP_H_TOP(%rdi,%rcx,8)
        btrq    $HDR_CACHED_BIT, -8(%rdx)
        movq    %rdx, %rax
        ret
        .p2align 4
.Lmalloc_map:
#endif
#ifdef FRONT_SLOT
        movq    CP_H_SLOT(%rdi,%rcx,8), %rax
        testq   %rax, %rax
        jz      .Lmalloc_map
        movq    $0, CP_H_SLOT(%rdi,%rcx,8)
        ret
        .p2align 4
.Lmalloc_map:
#endif
        movq    CP_H_CURW(%rdi,%rcx,8), %r8
        movq    (%r8), %rax
        blsrq   %rax, %rdx                      /* CF: the word was used up */
#ifdef WORD_LISTED
        jc      .Lmalloc_next_word
#else
        jc      .Lmalloc_slow
#endif
        movq    %rdx, (%r8)                     /* its lowest free block taken */
        tzcntq  %rax, %rax
        shlq    $4, %rax
        addq    CP_H_CURBASE(%rdi,%rcx,8), %rax
#ifndef MAP_ONLY
        btrq    $HDR_FREE_BIT, -8(%rax)
#endif
        ret
#ifdef WORD_LISTED
        .p2align 4
.Lmalloc_next_word:
        /* the following words of the same page, 1 KiB of blocks each */
        leaq    CP_H_EMPTY_WORD(%rdi), %rdx
        cmpq    %rdx, %r8
        je      .Lmalloc_slow                   /* no page yet */
        movq    CP_H_CURBASE(%rdi,%rcx,8), %r9
.Lmalloc_scan:
        addq    $8, %r8
        addq    $1024, %r9
        movl    %r8d, %edx
        subl    $CP_S_FREE_MAP, %edx
        testl   $15 << 3, %edx                  /* the first word of the next page? */
        jz      .Lmalloc_slow
        movq    (%r8), %rax
        blsrq   %rax, %rdx
        jc      .Lmalloc_scan
        movq    %rdx, (%r8)
        movq    %r8, CP_H_CURW(%rdi,%rcx,8)
        movq    %r9, CP_H_CURBASE(%rdi,%rcx,8)
        tzcntq  %rax, %rax
        shlq    $4, %rax
        addq    %r9, %rax
        ret
#endif
.Lmalloc_slow:
        jmp     cp_malloc_slow
END(gl_heap_malloc)

/* int gl_heap_free(heap *h, void *p); clobbers rax, rcx, rdx, rsi, r8-r10 */
        .p2align 6
ENTRY(gl_heap_free)
#ifdef FRONT_LIFO
        OWNED_BLOCK_TEST .Lfree_slow            /* rax = class (huge if flagged), ecx = p >> 4 */
        cmpq    $SMALL_MAX_CLASS, %rax
        ja      .Lfree_slow
        movq    CP_H_TOP(%rdi,%rax,8), %rdx
        cmpq    CP_H_LIM(%rdi,%rax,8), %rdx
        je      .Lfree_map
        movq    %rsi, (%rdx)                    /* push */
        addq    $8, %rdx
        movq    %rdx, CP_H_TOP(%rdi,%rax,8)
        btsq    $HDR_CACHED_BIT, -8(%rsi)
        xorl    %eax, %eax
        ret
        .p2align 4
.Lfree_map:
        movq    %rsi, %rdx
        andq    $-SEG_SIZE, %rdx                /* the segment */
        movl    %ecx, %eax
        shrl    $3, %eax
        andl    $SEG_STARTS_WORD_MASK, %eax     /* p's word of the start bitmap, in bytes */
#else
        /* OWNED_BLOCK_TEST's steps, keeping the segment in rdx and the
         * word's offset in rax */
        leaq    -8(%rsi), %rdx
        rorq    $4, %rdx
        leal    1(%rdx), %ecx                   /* p >> 4: the bit */
        shrq    $SEG_SHIFT - 4, %rdx
        movzbl  %dl, %eax
        cmpq    %rdx, H_SEGTAB(%rdi,%rax,8)
        jne     .Lfree_slow
        shlq    $SEG_SHIFT, %rdx                /* the segment */
        movl    %ecx, %eax
        shrl    $3, %eax
        andl    $SEG_STARTS_WORD_MASK, %eax     /* p's word, in bytes */
        movq    SEG_STARTS(%rdx,%rax), %r8
        btq     %rcx, %r8
        jnc     .Lfree_slow
        movq    -8(%rsi), %r8                   /* header */
        movq    %r8, %r9
        shrq    $HDR_CLASS_SHIFT, %r9           /* class, or huge if flagged */
        xorw    %si, %r8w
        addw    %r9w, %r8w
        cmpw    H_KEY(%rdi), %r8w
        jne     .Lfree_slow
        cmpq    $SMALL_MAX_CLASS, %r9
        ja      .Lfree_slow
#endif
        /* the same word of the free map */
#ifdef MAP_ONLY
        movq    CP_S_FREE_MAP(%rdx,%rax), %r8
        btsq    %rcx, %r8
        jc      .Lfree_slow                     /* free already */
#ifdef FRONT_SLOT
        movq    CP_H_SLOT(%rdi,%r9,8), %r10
        testq   %r10, %r10
        jnz     .Lfree_slot_taken
        movq    %rsi, CP_H_SLOT(%rdi,%r9,8)     /* the class's slot */
        xorl    %eax, %eax
        ret
.Lfree_slot_taken:
        cmpq    %r10, %rsi
        je      .Lfree_slow                     /* in the slot already */
#endif
        movq    %r8, CP_S_FREE_MAP(%rdx,%rax)
#ifdef WORD_LISTED
        cmpb    $0, CP_S_LISTED(%rdx,%rax)
        je      .Lfree_page_info
        xorl    %eax, %eax
        ret
.Lfree_page_info:
#endif
#else
        btsq    $HDR_FREE_BIT, -8(%rsi)
        xorl    %r8d, %r8d
        btsq    %rcx, %r8
        orq     %r8, CP_S_FREE_MAP(%rdx,%rax)
#endif
        andl    $SEG_OFFSET_MASK, %esi
        shrl    $CP_PAGE_SHIFT, %esi
        shll    $CP_PI_SHIFT, %esi
        leaq    CP_S_PAGES(%rdx,%rsi), %rsi     /* the block's page_info */
        cmpb    $0, CP_PI_LISTED(%rsi)
        je      .Lfree_list
        xorl    %eax, %eax
        ret
.Lfree_list:
        jmp     cp_list_page                    /* (h, page_info) -> 0 */
.Lfree_slow:
        jmp     cp_free_slow
END(gl_heap_free)

        .section .note.GNU-stack, "", @progbits
