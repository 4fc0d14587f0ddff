/*
 * bins.S - the segregated free lists.
 *
 * 128 bins, each a circular doubly linked list through a sentinel that lives
 * in the heap struct (H_BINS), so insertion and removal never branch on
 * "first" or "last".  Bins 2..63 hold exactly one size each (16 * index);
 * bins 64..111 are a two-level segregated fit: 4 sub-bins per power of two
 * from 1 KiB up.  H_BITMAP has one bit per non-empty bin, so the next bin
 * that can serve a request is one tzcnt away.
 *
 * Links are stored XOR H_LINK_KEY, so a use-after-free write cannot plant a
 * chosen address.  Every link read from a free block is checked before it is
 * followed: it must be a sentinel or a header slot inside one of the heap's
 * segments (gl__link_ok), and on unlink the neighbours must point back.
 */
#include "gl_layout.h"

        .text

/*
 * gl__bin_index(size) -> bin
 *   rdx = block size (multiple of 16, >= 32, < SEG_SIZE).  Returns rax.
 *   Leaf.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__bin_index)
        BIN_INDEX %rdx, %rax
        ret
END(gl__bin_index)

/*
 * gl__bin_insert(heap, block, size)
 *   Pushes a free block (header and footer already written) at the head of
 *   its bin and marks the bin non-empty.  rdi = heap, rsi = block header,
 *   rdx = size.  Leaf.  Clobbers rax, rcx, rdx, r8, r9.
 */
HIDDEN_ENTRY(gl__bin_insert)
        call    gl__bin_index
        movl    %eax, %ecx
        shrl    $6, %ecx
        movq    H_BITMAP(%rdi,%rcx,8), %r8
        btsq    %rax, %r8
        movq    %r8, H_BITMAP(%rdi,%rcx,8)
        shlq    $4, %rax
        leaq    H_BINS-8(%rdi,%rax), %r8        /* sentinel */
        movq    H_LINK_KEY(%rdi), %r9
        movq    8(%r8), %rdx                    /* encoded first */
        movq    %rdx, 8(%rsi)                   /* block.next = first */
        movq    %r8, %rax
        xorq    %r9, %rax
        movq    %rax, 16(%rsi)                  /* block.prev = sentinel */
        xorq    %r9, %rdx                       /* first */
        movq    %rsi, %rax
        xorq    %r9, %rax
        movq    %rax, 16(%rdx)                  /* first.prev = block */
        movq    %rax, 8(%r8)                    /* sentinel.next = block */
        ret
END(gl__bin_insert)

/*
 * gl__link_ok(heap, x) -> ZF clear (nz) when x may be followed
 *   x is a link target read from a free block: it must be a bin sentinel, or
 *   a header slot (8 mod 16) between the fenceposts of one of the heap's
 *   segments.  Nothing at x is read.  rdi = heap, rsi = x.
 *   Returns eax = 1 (ok) or 0.  Clobbers rax, rcx, rdx, r8.
 */
HIDDEN_ENTRY(gl__link_ok)
        leaq    H_BINS-8(%rdi), %rax
        movq    %rsi, %rcx
        subq    %rax, %rcx
        cmpq    $NBINS * 16, %rcx
        jae     1f
        testl   $15, %ecx
        jnz     .Llink_bad
        movl    $1, %eax
        ret
1:      LINK_SLOT_OK .Llink_bad
        /* the fast table first, then the full set */
        LINK_IN_SEGTAB %rdi, .Llink_set
        jmp     .Llink_good
.Llink_set:
        CFI_PUSH %rdi
        CFI_PUSH %rsi
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        shrq    $SEG_SHIFT, %rsi
        leaq    H_SEGSET(%rdi), %rdi
        call    gl__set_find
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %rsi
        CFI_POP %rdi
        testq   %rax, %rax
        jz      .Llink_bad
.Llink_good:
        movl    $1, %eax
        testl   %eax, %eax
        ret
.Llink_bad:
        xorl    %eax, %eax
        ret
END(gl__link_ok)

/*
 * LINK_CHECK x, bad: may the link x, read from the free block at (%rsp), be
 * followed?  Cheap cases inline -- same segment as that block (so the memory
 * is ours), or a bin sentinel -- else gl__link_ok.  rdi = heap.
 * Clobbers rax, rcx, rdx, r8.
 */
.macro LINK_CHECK x, bad
        movq    \x, %rax
        xorq    (%rsp), %rax
        shrq    $SEG_SHIFT, %rax
        jz      .Llc_ok\@
        leaq    H_BINS-8(%rdi), %rax
        movq    \x, %rsi
        subq    %rax, %rsi
        cmpq    $NBINS * 16, %rsi
        jae     .Llc_slow\@
        testl   $15, %esi
        jz      .Llc_ok\@
.Llc_slow\@:
        movq    \x, %rsi
        call    gl__link_ok
        movq    (%rsp), %rsi
        testl   %eax, %eax
        jz      \bad
.Llc_ok\@:
.endm


/*
 * gl__bin_linked(heap, block) -> 0 if block sits in a list whose neighbours
 * are ours and point back at it, else GL_E_CORRUPT.  Changes nothing.
 *   rdi = heap, rsi = block header.  Clobbers rax, rcx, rdx, r8-r11.
 */
HIDDEN_ENTRY(gl__bin_linked)
        movq    H_LINK_KEY(%rdi), %r11
        movq    8(%rsi), %r9
        xorq    %r11, %r9                       /* next */
        movq    16(%rsi), %r10
        xorq    %r11, %r10                      /* prev */
        CFI_PUSH %rsi
        LINK_CHECK %r9, .Llinked_bad
        LINK_CHECK %r10, .Llinked_bad
        CFI_POP %rsi
        movq    H_LINK_KEY(%rdi), %r11
        movq    16(%r9), %rax
        xorq    %r11, %rax
        cmpq    %rsi, %rax
        jne     .Llinked_corrupt
        movq    8(%r10), %rax
        xorq    %r11, %rax
        cmpq    %rsi, %rax
        jne     .Llinked_corrupt
        xorl    %eax, %eax
        ret
.Llinked_bad:
        CFI_POP %rsi
.Llinked_corrupt:
        movl    $GL_E_CORRUPT, %eax
        ret
END(gl__bin_linked)

/*
 * gl__bin_unlink(heap, block) -> 0, or GL_E_CORRUPT (links broken, nothing
 * changed)
 *   Removes a free block from its bin after gl__bin_linked has checked that
 *   both neighbours are ours and point back at it.
 *   rdi = heap, rsi = block header.  Clobbers rax, rcx, rdx, r8-r11.
 */
HIDDEN_ENTRY(gl__bin_unlink)
        call    gl__bin_linked
        testl   %eax, %eax
        jz      gl__bin_unlink_raw
        ret
END(gl__bin_unlink)

/*
 * gl__bin_unlink_raw(heap, block) -> 0
 *   Removes a free block whose links the caller has validated
 *   (gl__bin_linked); clears the bin's bitmap bit when the bin empties.
 *   rdi = heap, rsi = block header.  Leaf.  Clobbers rax, rcx, r9-r11.
 */
HIDDEN_ENTRY(gl__bin_unlink_raw)
        movq    H_LINK_KEY(%rdi), %r11
        movq    8(%rsi), %rax                   /* next, encoded */
        movq    16(%rsi), %rcx                  /* prev, encoded */
        movq    %rax, %r9
        xorq    %r11, %r9                       /* next */
        movq    %rcx, %r10
        xorq    %r11, %r10                      /* prev */
        movq    %rax, 8(%r10)                   /* prev.next = next */
        movq    %rcx, 16(%r9)                   /* next.prev = prev */
        cmpq    %r9, %r10
        jne     1f
        /* the bin is empty now: r9 is its sentinel */
        leaq    H_BINS-8(%rdi), %rax
        subq    %rax, %r9
        shrq    $4, %r9
        movl    %r9d, %ecx
        shrl    $6, %ecx
        movq    H_BITMAP(%rdi,%rcx,8), %rax
        btrq    %r9, %rax
        movq    %rax, H_BITMAP(%rdi,%rcx,8)
1:      xorl    %eax, %eax
        ret
END(gl__bin_unlink_raw)

/*
 * gl__bin_replace(heap, old, new) -> 0, or GL_E_CORRUPT (nothing changed)
 *   The free block at `new` takes the place of the free block at `old` in its
 *   list (same bin), after gl__bin_linked has checked old's neighbours.
 *   rdi = heap, rsi = old, rdx = new.  Clobbers rax, rcx, rdx, r8-r11.
 */
HIDDEN_ENTRY(gl__bin_replace)
        CFI_PUSH %rdx
        call    gl__bin_linked
        CFI_POP %rdx
        testl   %eax, %eax
        jz      gl__bin_replace_raw
        ret
END(gl__bin_replace)

/*
 * gl__bin_replace_raw(heap, old, new) -> 0
 *   As gl__bin_replace, for links the caller has validated.  Leaf.
 *   Clobbers rax, rcx, r9-r11.
 */
HIDDEN_ENTRY(gl__bin_replace_raw)
        movq    H_LINK_KEY(%rdi), %r11
        movq    8(%rsi), %rax
        movq    %rax, 8(%rdx)                   /* new.next = old.next (encoded) */
        movq    %rax, %r9
        xorq    %r11, %r9                       /* next */
        movq    16(%rsi), %rax
        movq    %rax, 16(%rdx)
        movq    %rax, %r10
        xorq    %r11, %r10                      /* prev */
        movq    %rdx, %rax
        xorq    %r11, %rax
        movq    %rax, 8(%r10)                   /* prev.next = new */
        movq    %rax, 16(%r9)                   /* next.prev = new */
        xorl    %eax, %eax
        ret
END(gl__bin_replace_raw)

/*
 * gl__bins_empty(heap)
 *   Every bin empty: each sentinel points at itself (links encoded with the
 *   heap's current link key), the bitmaps cleared.  Leaf.
 *   Clobbers rax, rcx, rdx, rsi.
 */
HIDDEN_ENTRY(gl__bins_empty)
        xorl    %esi, %esi
1:      call    gl__bin_drop
        incl    %esi
        cmpl    $NBINS, %esi
        jb      1b
        ret
END(gl__bins_empty)

/*
 * gl__bin_drop(heap, bin)
 *   Forgets a bin whose links are broken: the sentinel points at itself and
 *   the bitmap bit is cleared.  The blocks in it are lost (leaked), the heap
 *   stays usable.  rdi = heap, rsi = bin index.  Leaf.  Clobbers rax, rcx, rdx.
 */
HIDDEN_ENTRY(gl__bin_drop)
        movq    %rsi, %rax
        shlq    $4, %rax
        leaq    H_BINS-8(%rdi,%rax), %rax
        movq    %rax, %rdx
        xorq    H_LINK_KEY(%rdi), %rdx
        movq    %rdx, 8(%rax)
        movq    %rdx, 16(%rax)
        movl    %esi, %ecx
        shrl    $6, %ecx
        movq    H_BITMAP(%rdi,%rcx,8), %rax
        btrq    %rsi, %rax
        movq    %rax, H_BITMAP(%rdi,%rcx,8)
        ret
END(gl__bin_drop)

        .section .note.GNU-stack, "", @progbits
