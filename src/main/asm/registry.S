/*
 * registry.S - the heap's registry of its own memory.
 *
 * Before Glimmer reads a header behind a pointer it was handed, it must know
 * that the memory is its own: a foreign pointer may point at unmapped memory.
 * Two hash sets per heap answer that without touching the pointer:
 *   H_SEGSET   segment numbers (address >> SEG_SHIFT) of the heap's segments;
 *   H_LARGESET user pointers of the heap's large blocks.
 * The fast path of free uses H_SEGTAB, a 256-entry direct-mapped copy of
 * H_SEGSET; whatever misses there is decided here.
 *
 * A set is open addressing with linear probing over a mapped array of 8-byte
 * keys (0 = empty), kept at most half full, grown by doubling; removal shifts
 * the following entries back (no tombstones).  Fibonacci hashing.
 */
#include "gl_layout.h"

        .text

/*
 * gl__set_find(set, key) -> slot address or 0
 *   rdi = set (SET_* struct), rsi = key (nonzero).
 *   Leaf.  Clobbers rax, rcx, rdx, r8.
 */
HIDDEN_ENTRY(gl__set_find)
        movq    SET_TABLE(%rdi), %r8
        testq   %r8, %r8
        jz      .Lfind_none
        movq    SET_CAP(%rdi), %rdx
        decq    %rdx                            /* mask */
        movabsq $HASH_MULT, %rax
        imulq   %rsi, %rax
        movl    SET_SHIFT(%rdi), %ecx
        shrq    %cl, %rax
        .p2align 4
.Lfind_probe:
        movq    (%r8,%rax,8), %rcx
        testq   %rcx, %rcx                      /* empty first: key 0 is never stored */
        jz      .Lfind_none
        cmpq    %rsi, %rcx
        je      .Lfind_hit
        incq    %rax
        andq    %rdx, %rax
        jmp     .Lfind_probe
.Lfind_hit:
        leaq    (%r8,%rax,8), %rax
        ret
.Lfind_none:
        xorl    %eax, %eax
        ret
END(gl__set_find)

/*
 * gl__set_place(table, mask, shift, key)   (internal to this file)
 *   Stores key in the first empty slot of its probe sequence.
 *   rdi = table, rsi = mask, rdx = shift, rcx = key.  Leaf.
 *   Clobbers rax, r8, r9.
 */
        .p2align 4
gl__set_place:
        .cfi_startproc
        movq    %rcx, %r9
        movabsq $HASH_MULT, %rax
        imulq   %rcx, %rax
        movl    %edx, %ecx
        shrq    %cl, %rax
        movq    %r9, %rcx
1:      cmpq    $0, (%rdi,%rax,8)
        je      2f
        incq    %rax
        andq    %rsi, %rax
        jmp     1b
2:      movq    %rcx, (%rdi,%rax,8)
        ret
        .cfi_endproc
        .size gl__set_place, .-gl__set_place

/*
 * gl__set_insert(heap, set, key) -> 0, or -1 when the table cannot grow
 *   rdi = heap (for OS accounting), rsi = set, rdx = key (nonzero, absent).
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__set_insert)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %rbx
        movq    %rsi, %r12
        movq    %rdx, %r13
        movq    SET_COUNT(%rsi), %rax
        leaq    2(%rax,%rax), %rax              /* 2 * (count + 1) */
        cmpq    SET_CAP(%rsi), %rax
        jbe     .Lins_place
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__set_grow
        testq   %rax, %rax
        jnz     .Lins_out
.Lins_place:
        movq    SET_TABLE(%r12), %rdi
        movq    SET_CAP(%r12), %rsi
        decq    %rsi
        movl    SET_SHIFT(%r12), %edx
        movq    %r13, %rcx
        call    gl__set_place
        incq    SET_COUNT(%r12)
        xorl    %eax, %eax
.Lins_out:
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__set_insert)

/*
 * gl__set_grow(heap, set) -> 0, or -1 when the OS refuses memory
 *   Doubles the table (or makes the first one) and rehashes every key.
 *   The old table stays valid if the new mapping fails.
 */
        .p2align 4
gl__set_grow:
        .cfi_startproc
        SAVE_ALL
        movq    %rdi, %rbx                      /* heap */
        movq    %rsi, %r12                      /* set */
        movq    SET_CAP(%rsi), %r13             /* old capacity */
        movl    $SET_INITIAL_CAP, %r14d
        leaq    (%r13,%r13), %rax
        testq   %r13, %r13
        cmovnzq %rax, %r14                      /* new capacity */
        movq    %rbx, %rdi
        leaq    (,%r14,8), %rsi
        call    gl__os_map
        testq   %rax, %rax
        jz      .Lgrow_fail
        movq    %rax, %r15                      /* new table */
        /* shift = 64 - log2(new capacity) */
        bsrq    %r14, %rcx
        movl    $64, %ebp
        subl    %ecx, %ebp
        /* rehash: for each old key */
        movq    SET_TABLE(%r12), %rax
        movq    %rax, (%rsp)                    /* old table */
        xorl    %r8d, %r8d
        pushq   %r8
        .cfi_adjust_cfa_offset 8
        pushq   %r8
        .cfi_adjust_cfa_offset 8
.Lgrow_loop:
        movq    (%rsp), %r8                     /* index */
        cmpq    %r13, %r8
        jae     .Lgrow_done
        incq    (%rsp)
        movq    16(%rsp), %rax
        movq    (%rax,%r8,8), %rcx
        testq   %rcx, %rcx
        jz      .Lgrow_loop
        movq    %r15, %rdi
        leaq    -1(%r14), %rsi
        movl    %ebp, %edx
        call    gl__set_place
        jmp     .Lgrow_loop
.Lgrow_done:
        addq    $16, %rsp
        .cfi_adjust_cfa_offset -16
        movq    (%rsp), %rsi                    /* old table */
        movq    %r15, SET_TABLE(%r12)
        movq    %r14, SET_CAP(%r12)
        movq    %rbp, SET_SHIFT(%r12)
        testq   %rsi, %rsi
        jz      1f
        movq    %rbx, %rdi
        leaq    (,%r13,8), %rdx
        call    gl__os_unmap
1:      xorl    %eax, %eax
        jmp     .Lgrow_out
.Lgrow_fail:
        movq    $-1, %rax
.Lgrow_out:
        RESTORE_ALL
        ret
        .cfi_endproc
        .size gl__set_grow, .-gl__set_grow

/*
 * gl__set_remove(set, key) -> 1 if it was there, else 0
 *   rdi = set, rsi = key.  Backward-shift deletion keeps every remaining key
 *   reachable from its home slot.  Leaf.  Clobbers rax, rcx, rdx, r8-r11.
 */
HIDDEN_ENTRY(gl__set_remove)
        movq    %rdi, %r11
        call    gl__set_find
        testq   %rax, %rax
        jz      .Lrm_none
        movq    SET_TABLE(%r11), %r8
        movq    SET_CAP(%r11), %r9
        decq    %r9                             /* mask */
        subq    %r8, %rax
        shrq    $3, %rax                        /* i: the hole */
        movq    %rax, %r10                      /* j */
.Lrm_next:
        incq    %r10
        andq    %r9, %r10
        movq    (%r8,%r10,8), %rdx
        testq   %rdx, %rdx
        jz      .Lrm_close
        /* k = home slot of table[j] */
        movabsq $HASH_MULT, %rcx
        imulq   %rdx, %rcx
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        movl    SET_SHIFT(%r11), %ecx
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        shrq    %cl, %rdx                       /* k */
        /* the entry stays iff k lies cyclically in (i, j] */
        movq    %r10, %rcx
        subq    %rdx, %rcx
        andq    %r9, %rcx                       /* (j - k) & mask */
        movq    %r10, %rdx
        subq    %rax, %rdx
        andq    %r9, %rdx                       /* (j - i) & mask */
        cmpq    %rdx, %rcx
        jb      .Lrm_next                       /* k in (i, j]: leave it */
        movq    (%r8,%r10,8), %rdx
        movq    %rdx, (%r8,%rax,8)              /* move it into the hole */
        movq    %r10, %rax                      /* the hole moves to j */
        jmp     .Lrm_next
.Lrm_close:
        movq    $0, (%r8,%rax,8)
        decq    SET_COUNT(%r11)
        movl    $1, %eax
        ret
.Lrm_none:
        xorl    %eax, %eax
        ret
END(gl__set_remove)

/*
 * gl__set_release(heap, set)
 *   Unmaps the table and empties the set.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__set_release)
        CFI_PUSH %rbx
        movq    %rsi, %rbx
        movq    SET_TABLE(%rsi), %rsi
        testq   %rsi, %rsi
        jz      1f
        movq    SET_CAP(%rbx), %rdx
        shlq    $3, %rdx
        call    gl__os_unmap
1:      movq    $0, SET_TABLE(%rbx)
        movq    $0, SET_CAP(%rbx)
        movq    $0, SET_COUNT(%rbx)
        movq    $0, SET_SHIFT(%rbx)
        CFI_POP %rbx
        ret
END(gl__set_release)

        .section .note.GNU-stack, "", @progbits
