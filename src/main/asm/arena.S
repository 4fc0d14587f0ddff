/*
 * arena.S - the default heap's arenas: a locked heap for each thread.
 *
 * The default heap (gl_malloc & co., and gl_default_heap() through the
 * gl_heap_* functions) was one locked heap, so threads that allocate at the
 * same time took turns on its lock (design.md, Many threads on one locked
 * heap).  Now a thread that is not the default heap's bias owner gets an
 * arena of its own the first time it allocates past the default heap's fast
 * path: a locked heap made with the default heap's options, and so biased to
 * that thread, which runs it with plain loads and stores for as long as no
 * other thread touches it.  The default heap itself is arena 0, kept by the
 * thread it is biased to.  Every arena is a locked heap, so which arena a
 * thread uses is only a matter of speed, never of safety.
 *
 * A thread's arena: gl__arena_of_thread[hash(%fs:0)], filled on first need
 * (gl__arena_assign).  Threads whose pointers hash alike share one; past
 * ARENAS_MAX arenas, new threads share the ones there are, in turn.
 *
 * A block's arena (free, realloc, usable_size, pointer_status):
 *   - a segment's blocks: gl__arena_map, a byte per segment number (64 MiB
 *     reserved with MAP_NORESERVE; only the pages written are backed), set
 *     by an arena when it maps a segment and cleared before it unmaps one;
 *   - an arena's large blocks: the set gl__arena_large of keys p | arena,
 *     under a spinlock of its own, entered and left with the arena's own set
 *     (large.S), and left before the address goes back to the kernel;
 *   - anything else goes to the default heap, whose own checks decide it:
 *     its own blocks, or misuse reported as before.  An arena's large block
 *     that is gone (unmapped, or moved by a resize) is also put in a ring of
 *     the arenas' own, gl__arena_gone, which the default heap reads: a second
 *     free of it is a double free there, not a foreign pointer.
 * The map is read without a lock.  A live block's segment stays mapped, and
 * its byte set, for as long as the block lives, so a live block always finds
 * its arena; a pointer that is not live may be sent to any arena, whose
 * locked path (lock, registry, bitmap, tag) reports it.
 *
 * The whole heap (gl_heap_stats, trim, check, walk, reset, last_error on
 * the default heap) is every arena in turn, each through its locked path.
 *
 * Arenas are never destroyed: a thread's death leaves its arena to the next
 * thread whose pointer hashes to its slot, and its blocks to whoever frees
 * them.  A process whose default heap cannot be biased (no membarrier, or no
 * thread pointer) makes no arenas: everything stays on the default heap.
 *
 * Lock order: gl__arena_lock (making an arena), then the list of locked
 * heaps (gl_heap_create links the arena), then a heap's lock, then
 * gl__arena_large_lock (taken inside an arena's large-block calls).
 * gl_fork_prepare takes them in that order (fork.S).
 */
#include "gl_layout.h"

        .text

/* rax = the address of the calling thread's slot in gl__arena_of_thread.
 * Only where the default heap can be biased (its threads have a thread
 * pointer).  Clobbers rcx. */
.macro THREAD_SLOT
        movq    %fs:0, %rax
        movabsq $HASH_MULT, %rcx
        imulq   %rcx, %rax
        shrq    $64 - ARENA_THREAD_BITS, %rax
        leaq    gl__arena_of_thread(%rip), %rcx
        leaq    (%rcx,%rax,8), %rax
.endm

/* dst = the front of arena number k (a register) */
.macro ARENA_AT k, dst
        leaq    gl__arenas(%rip), \dst
        movq    (\dst,\k,8), \dst
.endm

/*
 * gl__thread_arena() -> rax = the calling thread's arena (a front)
 *   What its slot holds, filled on its first call: the default heap (which
 *   must exist) for the thread it is biased to and where no arena could be
 *   made, else the thread's own.  The default heap in a process without
 *   arenas.  Preserves rdi, rsi, rdx, r9;
 *   clobbers rcx, r8, r10, r11.
 */
HIDDEN_ENTRY(gl__thread_arena)
        movq    gl__default(%rip), %rax
        cmpl    $0, LK_REBIAS_AT(%rax)          /* never biasable: no arenas, and */
        je      .Lta_out                        /* perhaps no thread pointer */
        THREAD_SLOT
        movq    (%rax), %rcx
        testq   %rcx, %rcx
        jz      gl__arena_assign
        movq    %rcx, %rax
.Lta_out:
        ret
END(gl__thread_arena)

/*
 * gl__arena_assign(slot) -> rax = the arena now in the slot
 *   gl__thread_arena's slow half: rax = the calling thread's empty slot.
 *   Under gl__arena_lock: the default heap for the thread it is biased to,
 *   else a new arena while there are fewer than ARENAS_MAX,
 *   else the existing ones in turn; the default heap when the map or the
 *   arena cannot be made (the OS refused memory).  Same registers as
 *   gl__thread_arena.
 */
        .p2align 4
gl__arena_assign:
        .cfi_startproc
        CFI_PUSH %rdi
        CFI_PUSH %rsi
        CFI_PUSH %rdx
        CFI_PUSH %r9
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rax, %rbx                      /* the slot */
        leaq    gl__arena_lock(%rip), %rdi
        call    gl__spin_lock
        movq    (%rbx), %rax
        testq   %rax, %rax
        jnz     .Las_unlock                     /* a thread of the same slot was first */
        movq    gl__default(%rip), %r12         /* what the thread gets if nothing else */
        movq    LK_OWNER(%r12), %rcx
        testq   %rcx, %rcx
        jz      1f
        movq    SLOT_TID(%rcx), %rcx
        cmpq    %fs:0, %rcx
        je      .Las_store                      /* the default heap's own thread keeps it */
1:      movl    gl__arena_count(%rip), %r13d
        cmpl    $ARENAS_MAX - 1, %r13d
        jae     .Las_share
        cmpq    $0, gl__arena_map(%rip)
        jne     .Las_create
        xorl    %edi, %edi                      /* the map is no heap's memory */
        movl    $ARENA_MAP_BYTES, %esi
        call    gl__os_reserve
        testq   %rax, %rax
        jz      .Las_store
        movq    %rax, gl__arena_map(%rip)
        movq    %r12, gl__arenas(%rip)          /* arena 0 */
.Las_create:
        leaq    gl__default_options(%rip), %rdi
        call    gl__heap_create                 /* biased to this thread */
        testq   %rax, %rax
        jz      .Las_store
        incl    %r13d                           /* its number */
        movq    H_INNER(%rax), %rcx
        movq    %r13, H_ARENA(%rcx)             /* before it maps anything */
        leaq    gl__arenas(%rip), %rcx
        movq    %rax, (%rcx,%r13,8)
        movl    %r13d, gl__arena_count(%rip)    /* after the arena: x86 keeps stores in order */
        movq    %rax, %r12
        jmp     .Las_store
.Las_share:
        movl    gl__arena_turn(%rip), %eax
        leal    1(%rax), %ecx
        movl    %ecx, gl__arena_turn(%rip)
        xorl    %edx, %edx
        movl    $ARENAS_MAX - 1, %ecx
        divl    %ecx
        leaq    gl__arenas(%rip), %rcx
        movq    8(%rcx,%rdx,8), %r12            /* arenas 1..ARENAS_MAX-1 in turn */
.Las_store:
        movq    %r12, (%rbx)
        movq    %r12, %rax
.Las_unlock:
        movl    $0, gl__arena_lock(%rip)        /* a plain store releases on x86 */
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        CFI_POP %r9
        CFI_POP %rdx
        CFI_POP %rsi
        CFI_POP %rdi
        ret
        .cfi_endproc
        .size gl__arena_assign, .-gl__arena_assign

/*
 * gl__arena_of_block(p) -> rax = the arena p belongs to, or the default heap
 *   rsi = p.  The map for a segment's blocks, the large set for an arena's
 *   large blocks; the default heap for anything else.  Preserves rdi, rsi,
 *   rdx, r9; clobbers rcx, r8, r10, r11.
 */
HIDDEN_ENTRY(gl__arena_of_block)
        movq    gl__default(%rip), %rax
        cmpl    $0, gl__arena_count(%rip)
        je      .Lob_out                        /* no arenas: no map */
        movq    %rsi, %r8
        shrq    $SEG_SHIFT, %r8
        cmpq    $ARENA_MAP_BYTES, %r8
        jae     .Lob_large
        movq    gl__arena_map(%rip), %rcx
        movzbl  (%rcx,%r8), %r8d
        testl   %r8d, %r8d
        jz      .Lob_large
        ARENA_AT %r8, %rax
.Lob_out:
        ret
.Lob_large:
        testq   %rsi, %rsi
        jz      .Lob_out
        testl   $ARENA_KEY_MASK, %esi
        jnz     .Lob_out                        /* no block of ours */
        cmpq    $0, gl__arena_large+SET_COUNT(%rip)
        je      .Lob_out
        jmp     gl__arena_of_large
END(gl__arena_of_block)

/*
 * gl__arena_of_large(p) -> rax = the arena whose large block p is, or the
 *   default heap.  gl__arena_of_block's slow half: rsi = p, rax = the
 *   default heap.  Same registers.
 */
        .p2align 4
gl__arena_of_large:
        .cfi_startproc
        CFI_PUSH %rdi
        CFI_PUSH %rdx
        CFI_PUSH %r9
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rax, %r12                      /* the answer if no key is p's */
        movq    %rsi, %r13
        leaq    gl__arena_large_lock(%rip), %rdi
        call    gl__spin_lock
        movl    $1, %ebx
.Lol_each:
        cmpl    gl__arena_count(%rip), %ebx
        ja      .Lol_done
        leaq    gl__arena_large(%rip), %rdi
        movq    %r13, %rsi
        orq     %rbx, %rsi                      /* p | arena */
        call    gl__set_find
        testq   %rax, %rax
        jnz     .Lol_found
        incl    %ebx
        jmp     .Lol_each
.Lol_found:
        ARENA_AT %rbx, %r12
.Lol_done:
        movl    $0, gl__arena_large_lock(%rip)
        movq    %r12, %rax
        movq    %r13, %rsi
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        CFI_POP %r9
        CFI_POP %rdx
        CFI_POP %rdi
        ret
        .cfi_endproc
        .size gl__arena_of_large, .-gl__arena_of_large

/*
 * gl__arena_large_gone(heap, p)
 *   rdi = owned heap, rsi = the user pointer of one of its large blocks that
 *   is no more (unmapped by free, or moved by a resize), already out of the
 *   arenas' large set.  gl__large_remember_gone's tail: puts p in
 *   gl__arena_gone, the arenas' ring of gone large blocks, beside the
 *   arena's own: a second free of p finds no arena and goes to the
 *   default heap, which looks there (free.S, gl__classify) to tell a
 *   double free from a foreign pointer.  Nothing for a heap that is no extra arena.  Clobbers
 *   caller-saved registers.
 */
HIDDEN_ENTRY(gl__arena_large_gone)
        cmpq    $0, H_ARENA(%rdi)
        je      1f
        CFI_PUSH %rbx
        movq    %rsi, %rbx
        leaq    gl__arena_large_lock(%rip), %rdi
        call    gl__spin_lock
        movl    gl__arena_gone_pos(%rip), %eax
        leaq    gl__arena_gone(%rip), %rcx
        movq    %rbx, (%rcx,%rax,8)
        incl    %eax
        andl    $LARGE_GONE_SLOTS - 1, %eax
        movl    %eax, gl__arena_gone_pos(%rip)
        movl    $0, gl__arena_large_lock(%rip)
        CFI_POP %rbx
1:      ret
END(gl__arena_large_gone)

/*
 * gl__arena_segment_mapped(heap, seg) -> eax = 0, or -1 when the map cannot
 *   name the segment (an address past 2^47, which Linux hands out only when
 *   asked for); gl__arena_segment_unmapped(heap, seg).
 *   rdi = owned heap, rsi = segment.  Write the arena's number, or 0, to the
 *   segment's byte of the map; nothing for a heap that is no extra arena.
 *   Leaf.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__arena_segment_mapped)
        movq    H_ARENA(%rdi), %rax
        jmp     .Lmap_write
END(gl__arena_segment_mapped)

HIDDEN_ENTRY(gl__arena_segment_unmapped)
        xorl    %eax, %eax
.Lmap_write:
        cmpq    $0, H_ARENA(%rdi)
        je      1f
        movq    %rsi, %rcx
        shrq    $SEG_SHIFT, %rcx
        cmpq    $ARENA_MAP_BYTES, %rcx
        jae     2f
        addq    gl__arena_map(%rip), %rcx
        movb    %al, (%rcx)
1:      xorl    %eax, %eax
        ret
2:      movl    $-1, %eax
        ret
END(gl__arena_segment_unmapped)

/*
 * gl__arena_large_add(heap, p) -> eax = 0, or -1 when the set cannot grow
 * gl__arena_large_remove(heap, p)
 *   rdi = owned heap, rsi = a large block's user pointer.  Enter the key
 *   p | arena into the arenas' large set, or take it out; nothing for a heap
 *   that is no extra arena.  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__arena_large_add)
        movq    H_ARENA(%rdi), %rdx
        testq   %rdx, %rdx
        jz      1f
        CFI_PUSH %rbx
        orq     %rsi, %rdx
        movq    %rdx, %rbx                      /* the key */
        leaq    gl__arena_large_lock(%rip), %rdi
        call    gl__spin_lock
        xorl    %edi, %edi                      /* the set's table is no heap's memory */
        leaq    gl__arena_large(%rip), %rsi
        movq    %rbx, %rdx
        call    gl__set_insert
        movl    $0, gl__arena_large_lock(%rip)
        CFI_POP %rbx
        ret
1:      xorl    %eax, %eax
        ret
END(gl__arena_large_add)

HIDDEN_ENTRY(gl__arena_large_remove)
        movq    H_ARENA(%rdi), %rdx
        testq   %rdx, %rdx
        jz      1f
        CFI_PUSH %rbx
        orq     %rsi, %rdx
        movq    %rdx, %rbx
        leaq    gl__arena_large_lock(%rip), %rdi
        call    gl__spin_lock
        leaq    gl__arena_large(%rip), %rdi
        movq    %rbx, %rsi
        call    gl__set_remove
        movl    $0, gl__arena_large_lock(%rip)
        CFI_POP %rbx
1:      ret
END(gl__arena_large_remove)

/*
 * gl__malloc_arena(n): gl_malloc past the default heap's fast path.
 *   rdi = n.  The calling thread's arena: its fast path, then its locked
 *   path (the default heap's fast path has missed already).
 */
        .p2align 4
HIDDEN_ENTRY(gl__malloc_arena)
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    gl__thread_arena
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        cmpq    gl__default(%rip), %rax
        je      .Lma_forward
        movq    %rax, %rdx
        LOCKED_MALLOC_FAST %rdx, %rdi, .Lma_arena_forward
.Lma_arena_forward:
        movq    %rdx, %rax
.Lma_forward:
        movq    %rdi, %rsi
        movq    %rax, %rdi
        jmp     gl__malloc_forward
END(gl__malloc_arena)

/*
 * gl__malloc_front(front, n): a locked front's malloc slow path.  The
 *   default heap's is gl_malloc's (its fast path, then the thread's arena);
 *   any other front's, gl__malloc_locked.
 */
HIDDEN_ENTRY(gl__malloc_front)
        cmpq    gl__default(%rip), %rdi
        jne     gl__malloc_locked
        movq    %rsi, %rdi
        jmp     gl__malloc
END(gl__malloc_front)

/*
 * gl__free_arena(p) -> eax = status: gl_free past the default heap's fast
 *   path.  r9 = the default heap, rsi = p.  The fast path of the calling
 *   thread's arena if it has one (a thread that only frees makes none), then
 *   the locked path of p's arena.
 */
        .p2align 4
HIDDEN_ENTRY(gl__free_arena)
        cmpl    $0, gl__arena_count(%rip)
        je      .Lfa_forward                    /* no arenas: the default heap's */
        THREAD_SLOT                             /* arenas exist: threads have pointers */
        movq    (%rax), %rax
        testq   %rax, %rax
        jz      .Lfa_route
        cmpq    %r9, %rax
        je      .Lfa_route                      /* the default heap: tried already */
        movq    %rax, %r9
        LOCKED_FREE_FAST .Lfa_route
.Lfa_route:
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    gl__arena_of_block
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        movq    %rax, %r9
.Lfa_forward:
        movq    %r9, %rdi
        jmp     gl__free_forward
END(gl__free_arena)

/*
 * gl__free_front(front, p) -> eax = status: a locked front's free slow
 *   path.  The default heap's is gl_free's (with the status); any other
 *   front's, gl__free_locked.
 */
HIDDEN_ENTRY(gl__free_front)
        cmpq    gl__default(%rip), %rdi
        jne     gl__free_locked
        movq    %rdi, %r9
        LOCKED_FREE_FAST gl__free_arena
END(gl__free_front)

/*
 * ROUTE name, finder, locked: a default-heap entry point (rdi = the default
 * heap; rsi, rdx = its arguments, which finder keeps) that runs the locked
 * path of the arena finder names: the block's (gl__arena_of_block, for the
 * entry points that take one, rsi = p) or the calling thread's
 * (gl__thread_arena, for those that allocate without one).
 */
.macro ROUTE name, finder, locked
HIDDEN_ENTRY(\name)
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    \finder
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        movq    %rax, %rdi
        jmp     \locked
END(\name)
.endm

ROUTE gl__usable_default, gl__arena_of_block, gl__usable_locked
ROUTE gl__pointer_status_default, gl__arena_of_block, gl__pointer_status_locked
ROUTE gl__realloc_block, gl__arena_of_block, gl__realloc_locked

/* realloc(NULL, n) allocates, in the calling thread's arena */
HIDDEN_ENTRY(gl__realloc_default)
        testq   %rsi, %rsi
        jnz     gl__realloc_block
        movq    %rdx, %rdi
        jmp     gl__malloc
END(gl__realloc_default)

ROUTE gl__calloc_default, gl__thread_arena, gl__calloc_locked
ROUTE gl__aligned_default, gl__thread_arena, gl__aligned_locked

/*
 * The default heap's whole-heap entry points: each arena's locked path in
 * turn, arena 0 (the default heap itself) first.  With no arenas, the
 * default heap's alone.
 */

/* size_t gl__trim_default(heap): the bytes every arena gave back */
HIDDEN_ENTRY(gl__trim_default)
        cmpl    $0, gl__arena_count(%rip)
        je      gl__trim_locked
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        xorl    %ebx, %ebx                      /* arena number */
        xorl    %r12d, %r12d                    /* bytes */
1:      ARENA_AT %rbx, %rdi
        call    gl__trim_locked
        addq    %rax, %r12
        incl    %ebx
        cmpl    gl__arena_count(%rip), %ebx
        jbe     1b
        movq    %r12, %rax
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__trim_default)

/* void gl__reset_default(heap): every arena's blocks freed */
HIDDEN_ENTRY(gl__reset_default)
        cmpl    $0, gl__arena_count(%rip)
        je      gl__reset_locked
        CFI_PUSH %rbx
        xorl    %ebx, %ebx
1:      ARENA_AT %rbx, %rdi
        call    gl__reset_locked
        incl    %ebx
        cmpl    gl__arena_count(%rip), %ebx
        jbe     1b
        CFI_POP %rbx
        ret
END(gl__reset_default)

/* int gl__last_error_default(heap): the first arena's last error, every
 * arena's cleared */
HIDDEN_ENTRY(gl__last_error_default)
        cmpl    $0, gl__arena_count(%rip)
        je      gl__last_error_locked
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        xorl    %ebx, %ebx
        xorl    %r12d, %r12d                    /* the answer */
1:      ARENA_AT %rbx, %rdi
        call    gl__last_error_locked
        testl   %r12d, %r12d
        cmovzl  %eax, %r12d
        incl    %ebx
        cmpl    gl__arena_count(%rip), %ebx
        jbe     1b
        movslq  %r12d, %rax
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__last_error_default)

/* int gl__check_default(heap, r): the first arena's violation, or 0 with
 * r->blocks the blocks of them all */
HIDDEN_ENTRY(gl__check_default)
        cmpl    $0, gl__arena_count(%rip)
        je      gl__check_locked
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rsi, %r12                      /* r, or NULL */
        xorl    %ebx, %ebx
        xorl    %r13d, %r13d                    /* blocks */
1:      ARENA_AT %rbx, %rdi
        movq    %r12, %rsi
        call    gl__check_locked
        testl   %eax, %eax
        jnz     3f
        testq   %r12, %r12
        jz      2f
        addq    CR_BLOCKS(%r12), %r13
2:      incl    %ebx
        cmpl    gl__arena_count(%rip), %ebx
        jbe     1b
        testq   %r12, %r12
        jz      3f
        movq    %r13, CR_BLOCKS(%r12)
3:      CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__check_default)

/* void gl__stats_default(heap, s): every counter summed over the arenas
 * (peaks too: the sum of the arenas' peaks, at least the heap's); the bias
 * flag is the default heap's own; s->arenas their number */
HIDDEN_ENTRY(gl__stats_default)
        cmpl    $0, gl__arena_count(%rip)
        je      gl__stats_front
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $ST_SIZE + 8, %rsp              /* one arena's stats (the stack stays aligned) */
        .cfi_adjust_cfa_offset ST_SIZE + 8
        movq    %rsi, %r12
        call    gl__stats_front                 /* the default heap's own, into s */
        movl    $1, %ebx
1:      ARENA_AT %rbx, %rdi
        movq    %rsp, %rsi
        call    gl__stats_front
        xorl    %ecx, %ecx
2:      movq    (%rsp,%rcx,8), %rax
        addq    %rax, (%r12,%rcx,8)
        incl    %ecx
        cmpl    $ST_LOCK_BIASED / 8, %ecx
        jb      2b
        incl    %ebx
        cmpl    gl__arena_count(%rip), %ebx
        jbe     1b
        movl    gl__arena_count(%rip), %eax
        movq    %rax, ST_ARENAS(%r12)
        addq    $ST_SIZE + 8, %rsp
        .cfi_adjust_cfa_offset -(ST_SIZE + 8)
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__stats_default)

/*
 * int gl__walk_default(heap, info): the walk of arena 0, then 1, ...; the
 *   cursor's phase word carries the arena's number above WALK_ARENA_SHIFT.
 *   Past the last arena, 0 for good; a number past it, GL_E_NOT_OURS.
 */
HIDDEN_ENTRY(gl__walk_default)
        cmpl    $0, gl__arena_count(%rip)
        je      gl__walk_locked
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rsi, %rbx
        movq    WALK_PHASE(%rbx), %r12
        shrq    $WALK_ARENA_SHIFT, %r12         /* the arena */
        andq    $(1 << WALK_ARENA_SHIFT) - 1, WALK_PHASE(%rbx)
        movl    gl__arena_count(%rip), %eax
        cmpq    %rax, %r12
        ja      .Lwd_bad
1:      ARENA_AT %r12, %rdi
        movq    %rbx, %rsi
        call    gl__walk_locked
        testl   %eax, %eax
        jnz     .Lwd_mark                       /* a block, or a bad cursor */
        movl    gl__arena_count(%rip), %ecx
        cmpq    %rcx, %r12
        jae     .Lwd_mark                       /* the last arena's end (eax 0): stays there */
        incq    %r12                            /* the next arena, from its start */
        xorl    %eax, %eax
        movq    %rax, WALK_PHASE(%rbx)
        movq    %rax, WALK_NEXT(%rbx)
        movq    %rax, WALK_SEGMENT(%rbx)
        jmp     1b
.Lwd_bad:
        movl    $GL_E_NOT_OURS, %eax
        jmp     .Lwd_out
.Lwd_mark:
        shlq    $WALK_ARENA_SHIFT, %r12
        orq     %r12, WALK_PHASE(%rbx)
.Lwd_out:
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl__walk_default)

        .bss
        .p2align 6
        .globl  gl__arena_lock                  /* fork.S holds it across fork() */
        .hidden gl__arena_lock
gl__arena_lock:                                 /* u32, gl__spin_lock: making arenas */
        .zero   4
gl__arena_count:                                /* u32: arenas besides the default heap */
        .zero   4
gl__arena_turn:                                 /* u32: the next arena to share, past ARENAS_MAX */
        .zero   4
        .p2align 3
gl__arena_map:                                  /* u8[ARENA_MAP_BYTES]: arena of a segment number */
        .zero   8
gl__arenas:                                     /* fronts; [0] the default heap */
        .zero   8 * ARENAS_MAX
        .p2align 6
        .globl  gl__arena_large_lock            /* fork.S holds it across fork() */
        .hidden gl__arena_large_lock
gl__arena_large_lock:                           /* u32, gl__spin_lock */
        .zero   8
gl__arena_gone_pos:                             /* u32: gl__arena_gone's next slot */
        .zero   8
gl__arena_large:                                /* SET_*: keys p | arena */
        .zero   SET_SIZE
        .globl  gl__arena_gone                  /* free.S reads it (without the lock: a hint) */
        .hidden gl__arena_gone
gl__arena_gone:                                 /* u64[LARGE_GONE_SLOTS]: the arenas' large blocks gone lately */
        .zero   8 * LARGE_GONE_SLOTS
        .p2align 6
gl__arena_of_thread:                            /* fronts, by hash of the thread pointer */
        .zero   8 << ARENA_THREAD_BITS

        .section .note.GNU-stack, "", @progbits
