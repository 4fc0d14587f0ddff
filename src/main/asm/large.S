/*
 * large.S - blocks of LARGE_MIN_REQUEST bytes and more: one mapping each.
 *
 * A large block is a fresh mapping (so it reads as zero) with a 64-byte
 * descriptor right below the user pointer (LG_*): magic (pointer XOR heap
 * secret), mapping base and length, list links, usable size, and a block
 * header with the LARGE bit, which the free fast path rejects in the same
 * compare that accepts small blocks.  The heap finds a large block only
 * through H_LARGESET (by exact user pointer) before reading its descriptor,
 * and unmaps it on free, so its memory goes straight back to the OS.
 * realloc resizes it with mremap, so growing a buffer a page at a time
 * costs a system call per step, not a copy of the whole buffer per step.
 */
#include "gl_layout.h"

        .text

/*
 * gl__large_alloc(heap, size, alignment) -> rax = user pointer or 0, rdx = 1
 *   rdi = owned heap, rsi = size (<= MAX_REQUEST), rdx = alignment (power of
 *   two >= 16, <= 2^40).  Records GL_E_NOMEM on failure.
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__large_alloc)
        SAVE_ALL
        movq    %rdi, %rbx
        movq    %rdx, %r13                      /* alignment */
        leaq    15+LG_DESC_SIZE(%rsi), %r12
        andq    $-16, %r12                      /* descriptor + usable */
        cmpq    $LG_DESC_SIZE, %r13
        jbe     1f
        addq    %r13, %r12                      /* room to slide up to the alignment */
1:      addq    $PAGE_SIZE-1, %r12
        andq    $-PAGE_SIZE, %r12               /* mapping length */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__os_map
        testq   %rax, %rax
        jz      .Llarge_nomem
        movq    %rax, %r14                      /* base */
        /* p = align_up(base + 64, alignment) */
        leaq    LG_DESC_SIZE-1(%rax,%r13), %r15
        movq    %r13, %rax
        negq    %rax
        andq    %rax, %r15                      /* p */
        movq    %rbx, %rdi
        leaq    H_LARGESET(%rbx), %rsi
        movq    %r15, %rdx
        call    gl__set_insert
        testq   %rax, %rax
        jnz     .Llarge_unmap
        movq    %rbx, %rdi
        movq    %r15, %rsi
        call    gl__arena_large_add             /* an arena's: findable from any thread */
        testl   %eax, %eax
        jnz     .Llarge_unlist
        movq    %rbx, %rdi
        movq    %r14, %rsi
        movq    %r12, %rdx
        call    gl__large_forget_gone
        /* descriptor */
        movq    H_SECRET(%rbx), %rax
        xorq    %r15, %rax
        movq    %rax, LG_MAGIC(%r15)
        movq    %r14, LG_BASE(%r15)
        movq    %r12, LG_LEN(%r15)
        leaq    (%r14,%r12), %rbp
        subq    %r15, %rbp                      /* usable */
        movq    %rbp, LG_USABLE(%r15)
        leaq    LG_HDR(%r15), %rsi
        MKHDR   %rbx, %rsi, %rbp, %rax, %rcx
        btsq    $HDR_LARGE_BIT, %rax
        movq    %rax, LG_HDR(%r15)
        LIST_PUSH_FRONT H_LARGE_LIST(%rbx), %r15, LG_NEXT, LG_PREV, %rax
        incq    H_NLARGE(%rbx)
        incq    H_LIVE_BLOCKS(%rbx)
        ADD_RAISING_PEAK H_LIVE_BYTES(%rbx), H_PEAK_LIVE(%rbx), %rbp
        movq    %r15, %rax
        movl    $1, %edx
        jmp     .Llarge_out
.Llarge_unlist:
        leaq    H_LARGESET(%rbx), %rdi
        movq    %r15, %rsi
        call    gl__set_remove
.Llarge_unmap:
        movq    %rbx, %rdi
        movq    %r14, %rsi
        movq    %r12, %rdx
        call    gl__os_unmap
.Llarge_nomem:
        movq    %rbx, %rdi
        movl    $GL_E_NOMEM, %esi
        call    gl__record_error
        xorl    %eax, %eax
        xorl    %edx, %edx
.Llarge_out:
        RESTORE_ALL
        ret
END(gl__large_alloc)

/*
 * gl__large_valid(heap, p) -> eax = 1 if p's descriptor is intact
 *   The caller found p in H_LARGESET, so the descriptor is ours to read.
 *   Leaf.  Clobbers rax, rcx, rdx, r8.
 */
HIDDEN_ENTRY(gl__large_valid)
        movq    H_SECRET(%rdi), %rax
        xorq    %rsi, %rax
        cmpq    %rax, LG_MAGIC(%rsi)
        jne     1f
        movq    LG_HDR(%rsi), %rax
        btq     $HDR_LARGE_BIT, %rax
        jnc     1f
        leaq    LG_HDR(%rsi), %rdx
        TAG_OK  %rdi, %rdx, %rax, %rcx, %r8
        jnz     1f
        HSIZE   %rax, %rcx
        cmpq    LG_USABLE(%rsi), %rcx
        jne     1f
        movq    LG_BASE(%rsi), %rax
        addq    LG_LEN(%rsi), %rax
        subq    %rsi, %rax
        cmpq    %rcx, %rax
        jne     1f
        movl    $1, %eax
        ret
1:      xorl    %eax, %eax
        ret
END(gl__large_valid)

/*
 * gl__large_free(heap, p)
 *   Unlinks, unregisters and unmaps a large block the caller has validated.
 *   rdi = owned heap, rsi = p.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__large_free)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    LG_NEXT(%rsi), %rax
        movq    LG_PREV(%rsi), %rdx
        LIST_REPOINT H_LARGE_LIST(%rbx), LG_NEXT, LG_PREV, %rdx, %rax, %rdx, %rax
        leaq    H_LARGESET(%rbx), %rdi
        movq    %r12, %rsi
        call    gl__set_remove
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_large_remove          /* before the address can be mapped again */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__large_remember_gone
        decq    H_NLARGE(%rbx)
        decq    H_LIVE_BLOCKS(%rbx)
        movq    LG_USABLE(%r12), %rax
        subq    %rax, H_LIVE_BYTES(%rbx)
        movq    %rbx, %rdi
        movq    LG_BASE(%r12), %rsi
        movq    LG_LEN(%r12), %rdx
        movq    $0, LG_MAGIC(%r12)
        call    gl__os_unmap
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__large_free)

/*
 * gl__large_remember_gone(heap, p)
 *   Puts the user pointer of a large block that is no more (unmapped, or
 *   moved by gl__large_resize) in the ring H_LARGE_GONE, so that a second
 *   free of it is told apart from a foreign pointer; an arena's also in the
 *   arenas' ring, which the default heap reads (gl__arena_large_gone).
 *   rdi = heap, rsi = p.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__large_remember_gone)
        movq    H_LARGE_GONE_POS(%rdi), %rax
        movq    %rsi, H_LARGE_GONE(%rdi,%rax,8)
        incl    %eax
        andl    $LARGE_GONE_SLOTS - 1, %eax
        movq    %rax, H_LARGE_GONE_POS(%rdi)
        jmp     gl__arena_large_gone
END(gl__large_remember_gone)

/*
 * gl__large_forget_gone(heap, base, length)
 *   Drops from H_LARGE_GONE every address inside [base, base + length): a
 *   new or grown mapping made it live memory again.  rdi = heap, rsi = base,
 *   rdx = length.  Leaf.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__large_forget_gone)
        xorl    %ecx, %ecx
1:      movq    H_LARGE_GONE(%rdi,%rcx,8), %rax
        subq    %rsi, %rax
        cmpq    %rdx, %rax                      /* inside [base, base + length)? */
        jae     2f
        movq    $0, H_LARGE_GONE(%rdi,%rcx,8)
2:      incl    %ecx
        cmpl    $LARGE_GONE_SLOTS, %ecx
        jb      1b
        ret
END(gl__large_forget_gone)

/*
 * gl__large_resize(heap, p, size) -> rax = the block's user pointer, or 0
 *   Gives a large block the caller has validated room for `size` bytes with
 *   mremap: the kernel moves its pages, not its bytes, so a buffer grown a
 *   page at a time costs a system call per step instead of a copy of all of
 *   it.  The block keeps its offset in its mapping (the descriptor, and the
 *   slide of an aligned block).  A mapping that moves takes the descriptor
 *   with it: magic, tag, the large list's links and the registry follow the
 *   new pointer, and the old one joins the ring of released blocks, so that
 *   freeing it again is a double free.  0: the kernel refused and the block
 *   is as it was.
 *   rdi = owned heap, rsi = p, rdx = size (LARGE_MIN_REQUEST..MAX_REQUEST).
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__large_resize)
        SAVE_ALL
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    LG_BASE(%rsi), %r14
        movq    LG_LEN(%rsi), %r15
        movq    LG_USABLE(%rsi), %r13           /* old usable */
        movq    %rsi, %rbp
        subq    %r14, %rbp                      /* offset of p in its mapping */
        leaq    PAGE_SIZE-1(%rbp,%rdx), %rcx
        andq    $-PAGE_SIZE, %rcx               /* new mapping length */
        movq    %r12, %rax
        cmpq    %r15, %rcx
        je      .Lresize_out                    /* the pages it has already fit */
        movq    %rcx, (%rsp)
        /* an arena's block leaves the arenas' set while its mapping may
         * move, so that the set never names an address the kernel may
         * hand to another arena meanwhile; it comes back below */
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_large_remove
        movq    %rbx, %rdi
        movq    %r14, %rsi
        movq    %r15, %rdx
        movq    (%rsp), %rcx
        call    gl__os_remap
        testq   %rax, %rax
        jz      .Lresize_refused                /* refused: nothing changed */
        movq    %rax, %r14                      /* new base */
        movq    (%rsp), %r15                    /* new length */
        addq    %rax, %rbp                      /* new p */
        movq    %r14, LG_BASE(%rbp)
        movq    %r15, LG_LEN(%rbp)
        leaq    (%r14,%r15), %rdx
        subq    %rbp, %rdx                      /* new usable */
        movq    %rdx, LG_USABLE(%rbp)
        leaq    LG_HDR(%rbp), %rsi
        MKHDR   %rbx, %rsi, %rdx, %rax, %rcx
        btsq    $HDR_LARGE_BIT, %rax
        movq    %rax, LG_HDR(%rbp)
        subq    %r13, %rdx
        ADD_RAISING_PEAK H_LIVE_BYTES(%rbx), H_PEAK_LIVE(%rbx), %rdx
        cmpq    %r12, %rbp
        je      .Lresize_forget
        /* moved: everything that names the block by its pointer follows it */
        movq    H_SECRET(%rbx), %rax
        xorq    %rbp, %rax
        movq    %rax, LG_MAGIC(%rbp)
        movq    LG_PREV(%rbp), %rax
        movq    LG_NEXT(%rbp), %rdx
        LIST_REPOINT H_LARGE_LIST(%rbx), LG_NEXT, LG_PREV, %rax, %rdx, %rbp, %rbp
        leaq    H_LARGESET(%rbx), %rdi
        movq    %r12, %rsi
        call    gl__set_remove
        /* one key out, one in: the set is where it was when it took the
         * old pointer, at most half full, so the insert never has to grow
         * the table, the one way it can fail */
        movq    %rbx, %rdi
        leaq    H_LARGESET(%rbx), %rsi
        movq    %rbp, %rdx
        call    gl__set_insert
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__large_remember_gone
.Lresize_forget:
        /* the key just taken out makes room: this insert cannot fail */
        movq    %rbx, %rdi
        movq    %rbp, %rsi
        call    gl__arena_large_add
        movq    %rbx, %rdi
        movq    %r14, %rsi
        movq    %r15, %rdx
        call    gl__large_forget_gone
        movq    %rbp, %rax
        jmp     .Lresize_out
.Lresize_refused:
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_large_add
        xorl    %eax, %eax
.Lresize_out:
        RESTORE_ALL
        ret
END(gl__large_resize)

/*
 * gl__large_release_all(heap)
 *   Unmaps every large block and empties H_LARGESET (destroy, reset).
 *   Live statistics are the caller's business.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__large_release_all)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
1:      movq    H_LARGE_LIST(%rbx), %r12
        testq   %r12, %r12
        jz      2f
        movq    LG_NEXT(%r12), %rcx
        movq    %rcx, H_LARGE_LIST(%rbx)
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__arena_large_remove
        movq    %rbx, %rdi
        movq    LG_BASE(%r12), %rsi
        movq    LG_LEN(%r12), %rdx
        call    gl__os_unmap
        jmp     1b
2:      movq    $0, H_NLARGE(%rbx)
        movq    %rbx, %rdi
        leaq    H_LARGESET(%rbx), %rsi
        call    gl__set_release
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__large_release_all)

        .section .note.GNU-stack, "", @progbits
