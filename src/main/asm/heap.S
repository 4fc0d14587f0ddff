/*
 * heap.S - heap handles: create, destroy, reset, locking, the default heap.
 *
 * An owned heap is one mapping of HEAP_MAP_SIZE bytes holding the whole state
 * (gl_layout.h, H_*): cache stack pointers, bin sentinels, bitmaps, registry,
 * statistics.  Its secrets (tag key, link key, segment secret) come from
 * getrandom at creation.
 *
 * A locked heap is a *front*: a two-page struct whose fast-path fields stay
 * empty (every size class 0, no cache, an empty segment table), so gl_heap_malloc and
 * gl_heap_free always fall to their slow paths.  Those see HF_LOCKED, take the
 * spinlock LK_LOCK and run the same code on the owned heap H_INNER.  One
 * implementation serves both kinds; an owned heap pays nothing for locking.
 *
 * A locked heap is biased to the thread that created it (LK_OWNER, a slot
 * naming the thread): that thread's calls announce themselves in the slot's
 * SLOT_BUSY with plain stores instead of taking the lock, until another
 * thread takes the lock and revokes the bias with membarrier
 * (gl__revoke_bias; the handshake is in LOCKED_FORWARD, gl_layout.h, and
 * design.md).
 *
 * The default heap behind gl_malloc & co. is a locked heap created on first
 * use; a race between two first users is settled with cmpxchg.
 */
#include "gl_layout.h"

/* the struct's arrays must not overlap and the struct must fit its mapping */
.if H_CBASE != H_CTOP + 8 * CACHE_CLASSES_N || H_CLIM != H_CBASE + 8 * CACHE_CLASSES_N || H_CLASS_OF != H_CLIM + 8 * CACHE_CLASSES_N
        .error "gl_layout.h: the cache stacks overlap"
.endif
.if H_STRUCT_END > HEAP_MAP_SIZE || LK_END > LOCKED_MAP_SIZE
        .error "gl_layout.h: a heap struct outgrew its mapping"
.endif
.if LK_SLOTS < LK_SLOTS_USED + 4 || BIAS_SLOT_SIZE != 8 || (LK_SLOTS & 63) != 0 || (SLOT_BUSY & 63) != 0
        .error "gl_layout.h: the bias slots overlap the front's fields, are not 8 bytes (gl__lock shifts by 3) or not line-aligned"
.endif

        .text

/*
 * gl__spin_lock(word)
 *   rdi = address of a u32 lock word (0 free, 1 held).  Test-and-test-and-set
 *   with pause; yields the CPU after 1024 spins.  Released by a plain store of
 *   0.  Preserves every register but rax and flags.
 */
HIDDEN_ENTRY(gl__spin_lock)
        movl    $1, %eax
        xchgl   %eax, (%rdi)
        testl   %eax, %eax
        jnz     .Lspin_contended
        ret
.Lspin_contended:
        CFI_PUSH %rcx
        CFI_PUSH %r11
        movl    $1024, %ecx
.Lspin_wait:
        pause
        cmpl    $0, (%rdi)
        jne     .Lspin_busy
        movl    $1, %eax
        xchgl   %eax, (%rdi)
        testl   %eax, %eax
        jz      .Lspin_taken
.Lspin_busy:
        decl    %ecx
        jnz     .Lspin_wait
        call    gl__os_yield                    /* clobbers rcx, r11 only */
        movl    $1024, %ecx
        jmp     .Lspin_wait
.Lspin_taken:
        CFI_POP %r11
        CFI_POP %rcx
        ret
END(gl__spin_lock)

/*
 * gl__lock(front)
 *   rdi = front of a locked heap.  Takes its spinlock LK_LOCK (gl__spin_lock).
 *   Holding the lock, a thread that is not the heap's bias owner revokes the
 *   bias (gl__revoke_bias) before it goes on, so nothing runs on the heap
 *   without the lock from then on.
 *   On a heap with no bias, counts the taker's acquisitions in a row
 *   (LK_LAST, LK_RUN): a thread that takes the lock LK_REBIAS_AT times with
 *   no other thread in between gets the bias, still holding the lock, as the
 *   creator got it (its next calls take no atomic instruction, and the next
 *   other thread revokes it as usual); the run asked for doubles each time.
 *   Each bias takes a slot never used before (LK_SLOTS), so at most
 *   BIAS_SLOTS biases in a heap's life, the creator's included.
 *   A heap whose creator could not bias it (LK_REBIAS_AT 0) never counts, so
 *   %fs:0 is read only where a thread pointer was seen.
 *   Preserves every register but rax and flags, so callers can forward their
 *   arguments untouched.
 */
HIDDEN_ENTRY(gl__lock)
        movl    $1, %eax
        xchgl   %eax, LK_LOCK(%rdi)
        testl   %eax, %eax
        jnz     .Llock_contended
.Llock_held:
        movq    LK_OWNER(%rdi), %rax
        testq   %rax, %rax
        jnz     .Llock_biased
        cmpl    $0, LK_REBIAS_AT(%rdi)
        je      .Llock_out                      /* never biasable */
        movq    %fs:0, %rax
        cmpq    %rax, LK_LAST(%rdi)
        jne     .Llock_new_run
        incl    LK_RUN(%rdi)
        movl    LK_RUN(%rdi), %eax
        cmpl    LK_REBIAS_AT(%rdi), %eax
        jae     .Llock_rebias
.Llock_out:
        ret
.Llock_new_run:
        movq    %rax, LK_LAST(%rdi)
        movl    $1, LK_RUN(%rdi)
        ret
.Llock_rebias:
        /* Holding the lock: nobody else runs on the heap, and whoever takes
         * the lock next sees LK_OWNER set and revokes the bias first.  The
         * bias gets a slot never used before, so no thread that held an
         * earlier bias can touch its flag (BIAS_ENTER). */
        movq    $0, LK_LAST(%rdi)
        movl    $0, LK_RUN(%rdi)
        movl    LK_SLOTS_USED(%rdi), %eax
        cmpl    $BIAS_SLOTS, %eax
        jae     .Llock_out                      /* every slot used: no more re-biasing */
        incl    LK_SLOTS_USED(%rdi)
        shll    $3, %eax
        leaq    LK_SLOTS(%rdi,%rax), %rax       /* the new slot (BIAS_SLOT_SIZE 8) */
        pushq   %fs:0
        .cfi_adjust_cfa_offset 8
        popq    SLOT_TID(%rax)
        .cfi_adjust_cfa_offset -8
        movl    $0, SLOT_BUSY(%rax)
        movq    %rax, LK_OWNER(%rdi)
        cmpl    $REBIAS_MAX_RUN, LK_REBIAS_AT(%rdi)
        jae     .Llock_out
        shll    LK_REBIAS_AT(%rdi)
        ret
.Llock_biased:
        movq    SLOT_TID(%rax), %rax
        cmpq    %fs:0, %rax                     /* the owner itself (destroy, fork): it */
        jne     gl__revoke_bias                 /* cannot be inside a call meanwhile */
        ret
.Llock_contended:
        CFI_PUSH %rdi
        leaq    LK_LOCK(%rdi), %rdi
        call    gl__spin_lock
        CFI_POP %rdi
        jmp     .Llock_held
END(gl__lock)

/*
 * gl__revoke_bias(front)
 *   rdi = front, its lock held by a thread other than LK_OWNER.  Clears
 *   LK_OWNER, makes every thread of the process execute a full fence
 *   (membarrier), then waits while the owner is still inside a call it began
 *   without the lock.  After the fence the owner's next call either sees
 *   LK_OWNER cleared and takes the lock, or has raised SLOT_BUSY where this
 *   thread sees it in its slot's SLOT_BUSY (LOCKED_FORWARD).  A thread that
 *   later runs alone long enough gets a new bias, in a new slot (gl__lock).
 *   membarrier(PRIVATE_EXPEDITED) needs the process registered, which
 *   gl__bias_owner did; should it be refused all the same (a child of fork()
 *   on a kernel that does not pass the registration on, a seccomp filter
 *   installed since), the process registers and tries again, then falls back
 *   to the slow global command.  If every command is refused, two
 *   sched_yields stand in for the fence: the owner's store of SLOT_BUSY has
 *   left its store buffer long before, but that is not a guarantee --
 *   design.md, Biased locking.
 *   Preserves every register but rax and flags.
 */
HIDDEN_ENTRY(gl__revoke_bias)
        CFI_PUSH %rcx
        CFI_PUSH %rdx
        CFI_PUSH %rsi
        CFI_PUSH %rdi
        CFI_PUSH %r8
        CFI_PUSH %r9
        CFI_PUSH %r11
        movq    %rdi, %r8
        movq    LK_OWNER(%r8), %r9              /* the bias's slot: its flag is the one to wait on */
        movq    $0, LK_OWNER(%r8)
        movl    $MEMBARRIER_CMD_PRIVATE_EXPEDITED, %edi
        call    gl__os_membarrier
        testl   %eax, %eax
        jz      .Lrevoke_fenced
        movl    $MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, %edi
        call    gl__os_membarrier
        movl    $MEMBARRIER_CMD_PRIVATE_EXPEDITED, %edi
        call    gl__os_membarrier
        testl   %eax, %eax
        jz      .Lrevoke_fenced
        movl    $MEMBARRIER_CMD_GLOBAL, %edi
        call    gl__os_membarrier
        testl   %eax, %eax
        jz      .Lrevoke_fenced
        call    gl__os_yield
        call    gl__os_yield
.Lrevoke_fenced:
        movl    $1024, %ecx
.Lrevoke_wait:
        cmpl    $0, SLOT_BUSY(%r9)
        je      .Lrevoke_out
        pause
        decl    %ecx
        jnz     .Lrevoke_wait
        call    gl__os_yield                    /* the owner may be descheduled mid-call */
        movl    $1024, %ecx
        jmp     .Lrevoke_wait
.Lrevoke_out:
        CFI_POP %r11
        CFI_POP %r9
        CFI_POP %r8
        CFI_POP %rdi
        CFI_POP %rsi
        CFI_POP %rdx
        CFI_POP %rcx
        ret
END(gl__revoke_bias)

/*
 * gl__bias_owner() -> rax = the calling thread's identity to bias a new
 * locked heap to, or 0 when biasing is not possible here
 *   Possible when the process could register for membarrier(PRIVATE_
 *   EXPEDITED) (Linux 4.14; tried once per process) and the thread has a
 *   thread pointer whose first word points to itself (the x86-64 TLS ABI, so
 *   %fs:0 names the thread).  Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__bias_owner)
        movl    gl__membarrier_state(%rip), %eax
        testl   %eax, %eax
        jnz     1f
        /* first locked heap of the process: register, and see it work (two
         * threads racing here store the same answer) */
        movl    $MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, %edi
        call    gl__os_membarrier
        testl   %eax, %eax
        jnz     2f
        movl    $MEMBARRIER_CMD_PRIVATE_EXPEDITED, %edi
        call    gl__os_membarrier
        testl   %eax, %eax
        jnz     2f
        movl    $1, %eax
        jmp     3f
2:      movl    $-1, %eax
3:      movl    %eax, gl__membarrier_state(%rip)
1:      testl   %eax, %eax
        js      .Lbias_none
        call    gl__os_thread_pointer
        testq   %rax, %rax
        jz      .Lbias_none
        cmpq    %fs:0, %rax
        jne     .Lbias_none
        ret
.Lbias_none:
        xorl    %eax, %eax
        ret
END(gl__bias_owner)


/*
 * gl__init_owned(heap, opts)
 *   Fills a freshly mapped (zeroed) owned heap.  rdi = heap, rsi = opts or 0.
 *   Clobbers caller-saved registers.
 */
        .p2align 4
gl__init_owned:
        .cfi_startproc
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        movq    %rsi, %r12
        call    gl__new_tag_key
        movq    %rax, H_KEY(%rbx)
        call    gl__os_random
        movq    %rax, H_SECRET(%rbx)
        call    gl__os_random
        movq    %rax, H_LINK_KEY(%rbx)
        movabsq $HEAP_MAGIC, %rax
        xorq    %rbx, %rax
        movq    %rax, H_MAGIC(%rbx)
        /* an empty fast segment table */
        leaq    H_SEGTAB(%rbx), %rdi
        movl    $SEGTAB_ENTRIES, %ecx
        movq    $SEGTAB_EMPTY, %rax
        rep stosq
        movq    %rbx, %rdi
        call    gl__bins_empty
        /* options */
        movl    $CACHE_DEFAULT, %eax
        movl    $DEPTH_DEFAULT, %edx
        testq   %r12, %r12
        jz      3f
        movq    OPT_CACHE_LIMIT(%r12), %rcx
        testq   %rcx, %rcx
        cmovnzl %ecx, %eax
        movq    OPT_DEPTH(%r12), %rcx
        testq   %rcx, %rcx
        cmovnzl %ecx, %edx
        testq   $GL_HEAP_COUNT_HITS_FLAG, OPT_FLAGS(%r12)
        jz      4f
        orl     $HF_COUNT_HITS, H_FLAGS(%rbx)
4:      testq   $GL_HEAP_HUGE_PAGES_FLAG, OPT_FLAGS(%r12)
        jz      5f
        orl     $HF_HUGE_PAGES, H_FLAGS(%rbx)
5:      cmpq    $0, OPT_DISABLE_CACHE(%r12)
        je      3f
        xorl    %eax, %eax
        orl     $HF_NO_CACHE, H_FLAGS(%rbx)
3:      movl    %eax, H_LIMIT(%rbx)
        movq    %rdx, H_DEPTH(%rbx)
        movq    %rbx, %rdi
        call    gl__cache_inline                /* the small stacks' first slots */
        /* the class of every small request -- except on a heap that counts
         * cache hits, whose table stays all class 0 (an empty stack), so that
         * its fast path always misses and the slow path pops and counts */
        testl   $HF_COUNT_HITS, H_FLAGS(%rbx)
        jnz     2f
        leaq    H_CLASS_OF(%rbx), %rdi
        leaq    gl__class_of_request(%rip), %rsi
        movl    $SMALL_MAX_REQUEST + 1, %ecx
        rep movsb
2:
        movq    $HEAP_MAP_SIZE, H_FOOTPRINT(%rbx)
        movq    $HEAP_MAP_SIZE, H_PEAK_FOOTPRINT(%rbx)
        movq    $1, H_OS_MAPS(%rbx)
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
        .cfi_endproc
        .size gl__init_owned, .-gl__init_owned

/*
 * gl_heap *gl_heap_create(const gl_options *opts)
 *   NULL opts: an owned heap with defaults.  Returns NULL when the options are
 *   invalid (unknown flags, cache_limit > CACHE_MAX, reserved words set) or the OS
 *   refuses memory.
 */
ENTRY(gl_heap_create)
        CFI_PUSH %rbx
        CFI_PUSH %r12
        CFI_PUSH %r13
        movq    %rdi, %r12                      /* opts */
        testq   %rdi, %rdi
        jz      .Lcreate_valid
        testq   $~GL_HEAP_FLAGS_KNOWN, OPT_FLAGS(%rdi)
        jnz     .Lcreate_invalid
        cmpq    $CACHE_MAX, OPT_CACHE_LIMIT(%rdi)
        ja      .Lcreate_invalid
        movq    OPT_RESERVED(%rdi), %rax
        orq     OPT_RESERVED+8(%rdi), %rax
        orq     OPT_RESERVED+16(%rdi), %rax
        orq     OPT_RESERVED+24(%rdi), %rax
        jnz     .Lcreate_invalid
.Lcreate_valid:
        xorl    %edi, %edi
        movl    $HEAP_MAP_SIZE, %esi
        call    gl__os_map
        testq   %rax, %rax
        jz      .Lcreate_invalid
        movq    %rax, %rbx
        movq    %rax, %rdi
        movq    %r12, %rsi
        call    gl__init_owned
        movq    %rbx, %rax
        testq   %r12, %r12
        jz      .Lcreate_out
        testq   $GL_HEAP_LOCKED_FLAG, OPT_FLAGS(%r12)
        jz      .Lcreate_out
        /* a locked heap: a front struct in front of the owned heap */
        xorl    %edi, %edi
        movl    $LOCKED_MAP_SIZE, %esi
        call    gl__os_map
        testq   %rax, %rax
        jz      .Lcreate_front_failed
        movq    %rax, %rdx
        leaq    H_SEGTAB(%rax), %rdi
        movl    $SEGTAB_ENTRIES, %ecx
        movq    $SEGTAB_EMPTY, %rax
        rep stosq                               /* the fast path of free must miss */
        movq    %rdx, %rax
        movq    %rbx, H_INNER(%rax)
        movl    $HF_LOCKED, H_FLAGS(%rax)
        movabsq $LOCKED_MAGIC, %rcx
        xorq    %rax, %rcx
        movq    %rcx, LK_MAGIC(%rax)
        movq    %rax, %r13
        call    gl__bias_owner
        testq   %rax, %rax
        jz      1f
        movq    %rax, LK_SLOTS + SLOT_TID(%r13) /* biased to its creator, in the first slot */
        movl    $1, LK_SLOTS_USED(%r13)
        leaq    LK_SLOTS(%r13), %rax
        movq    %rax, LK_OWNER(%r13)
        movl    $REBIAS_FIRST_RUN, LK_REBIAS_AT(%r13)   /* and later to threads that run alone */
1:
        movq    %r13, %rdi
        call    gl__fronts_link                 /* for gl_fork_prepare (fork.S) */
        movq    %r13, %rax
        addq    $LOCKED_MAP_SIZE, H_FOOTPRINT(%rbx)
        addq    $LOCKED_MAP_SIZE, H_PEAK_FOOTPRINT(%rbx)
        incq    H_OS_MAPS(%rbx)
        jmp     .Lcreate_out
.Lcreate_front_failed:
        movq    %rbx, %rdi
        call    gl__destroy_owned
.Lcreate_invalid:
        xorl    %eax, %eax
.Lcreate_out:
        CFI_POP %r13
        CFI_POP %r12
        CFI_POP %rbx
        ret
END(gl_heap_create)

/*
 * gl__destroy_owned(heap)
 *   Unmaps every segment, every large block, the registry and the heap.
 *   Clobbers caller-saved registers.
 */
        .p2align 4
gl__destroy_owned:
        .cfi_startproc
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        movq    $0, H_MAGIC(%rbx)
        call    gl__large_release_all
        /* segments */
1:      movq    H_SEG_LIST(%rbx), %rsi
        testq   %rsi, %rsi
        jz      2f
        movq    SEG_NEXT(%rsi), %rax
        movq    %rax, H_SEG_LIST(%rbx)
        movq    %rbx, %rdi
        movl    $SEG_SIZE, %edx
        call    gl__os_unmap
        jmp     1b
2:      movq    %rbx, %rdi
        call    gl__cache_release
        movq    %rbx, %rdi
        leaq    H_SEGSET(%rbx), %rsi
        call    gl__set_release
        movq    %rbx, %rdi
        leaq    H_LARGESET(%rbx), %rsi
        call    gl__set_release
        xorl    %edi, %edi
        movq    %rbx, %rsi
        movl    $HEAP_MAP_SIZE, %edx
        call    gl__os_unmap
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
        .cfi_endproc
        .size gl__destroy_owned, .-gl__destroy_owned

/*
 * void gl_heap_destroy(gl_heap *h)
 *   Unmaps everything the heap holds.  NULL is ignored.  The default heap is
 *   never destroyed (the call is ignored).
 */
INTERNAL_ALIAS(gl_heap_create, gl__heap_create)

ENTRY(gl_heap_destroy)
        testq   %rdi, %rdi
        jz      .Ldestroy_out
        cmpq    gl__default(%rip), %rdi
        je      .Ldestroy_out
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__destroy_owned
        CFI_PUSH %rbx
        movq    %rdi, %rbx
        call    gl__fronts_unlink               /* first: the list's lock before a heap's */
        movq    %rbx, %rdi
        call    gl__lock
        movq    $0, LK_MAGIC(%rbx)
        movq    H_INNER(%rbx), %rdi
        call    gl__destroy_owned
        xorl    %edi, %edi
        movq    %rbx, %rsi
        movl    $LOCKED_MAP_SIZE, %edx
        call    gl__os_unmap
        CFI_POP %rbx
.Ldestroy_out:
        ret
END(gl_heap_destroy)
INTERNAL_ALIAS(gl_heap_destroy, gl__heap_destroy)

/*
 * gl__reset_owned(heap)
 *   Frees every block at once: large blocks are unmapped, every segment
 *   becomes one free block again, the cache and the bins are emptied.  The
 *   first segment's space becomes the top; the others go to their bins.
 */
        .p2align 4
gl__reset_owned:
        .cfi_startproc
        CFI_PUSH %rbx
        CFI_PUSH %r12
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx
        call    gl__large_release_all
        /* No block starts anywhere any more, so a pointer from before the
         * reset is refused as a double free (it points into free memory),
         * whatever its old header says. */
        movq    H_SEG_LIST(%rbx), %r12
4:      testq   %r12, %r12
        jz      5f
        movq    %r12, %rdi
        call    gl__segment_clear_starts
        movq    SEG_NEXT(%r12), %r12
        jmp     4b
5:      /* New keys as well: the old headers fail their tags, and free-list
         * links written before the reset do not decode. */
        call    gl__new_tag_key
        movq    %rax, H_KEY(%rbx)
        call    gl__os_random
        movq    %rax, H_LINK_KEY(%rbx)
        /* forget the caches (their slot arrays go back to the OS), empty the
         * bins and bitmaps */
        movq    %rbx, %rdi
        call    gl__cache_release
        movq    %rbx, %rdi
        call    gl__bins_empty
        /* statistics of live blocks */
        movq    $0, H_LIVE_BYTES(%rbx)
        movq    $0, H_LIVE_BLOCKS(%rbx)
        movq    $0, H_FREE_BYTES(%rbx)
        leaq    H_CLASS_LIVE(%rbx), %rdi
        movl    $GL_SMALL_CLASSES_N, %ecx
        xorl    %eax, %eax
        rep stosq
        movq    $0, H_TOP(%rbx)
        /* every segment: one free block */
        movq    H_SEG_LIST(%rbx), %r12
2:      testq   %r12, %r12
        jz      3f
        movq    %rbx, %rdi
        movq    %r12, %rsi
        call    gl__segment_format
        movq    SEG_NEXT(%r12), %r12
        jmp     2b
3:      movq    $-1, H_TOP_CLEAN(%rbx)          /* reused memory is not clean */
        movq    $-1, H_TOP_READY(%rbx)
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP %r12
        CFI_POP %rbx
        ret
        .cfi_endproc
        .size gl__reset_owned, .-gl__reset_owned

/*
 * void gl_heap_reset(gl_heap *h)
 */
ENTRY(gl_heap_reset)
        testq   %rdi, %rdi
        jz      1f
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jz      gl__reset_owned
        DEFAULT_OR_LOCKED gl__reset_default, gl__reset_locked
        LOCKED_FORWARD gl__reset_owned
1:      ret
END(gl_heap_reset)

/*
 * int gl_heap_last_error(gl_heap *h)
 *   The last GL_E_* recorded on the heap, then cleared.
 */
ENTRY(gl_heap_last_error)
        testl   $HF_LOCKED, H_FLAGS(%rdi)
        jnz     1f
        xorl    %eax, %eax
        xchgq   %rax, H_LAST_ERROR(%rdi)
        ret
1:      DEFAULT_OR_LOCKED gl__last_error_default, gl__last_error_locked
        LOCKED_FORWARD gl__heap_last_error
END(gl_heap_last_error)
INTERNAL_ALIAS(gl_heap_last_error, gl__heap_last_error)

/*
 * gl__record_error(heap, status) -> status (sign-extended in rax)
 *   rdi = owned heap, esi = negative GL_E_*.  Sets H_LAST_ERROR, counts it in
 *   H_ERRORS[-status].  Leaf; clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__record_error)
        movslq  %esi, %rax
        movq    %rax, H_LAST_ERROR(%rdi)
        movq    %rax, %rcx
        negq    %rcx
        andl    $7, %ecx
        incq    H_ERRORS(%rdi,%rcx,8)
        ret
END(gl__record_error)

/*
 * gl_heap *gl_default_heap(void)
 *   The process-wide locked heap, created on first use; NULL only if the OS
 *   refuses the first page.
 */
ENTRY(gl_default_heap)
        movq    gl__default(%rip), %rax
        testq   %rax, %rax
        jz      .Ldefault_create
        ret
.Ldefault_create:
        CFI_PUSH %rbx
        leaq    gl__default_options(%rip), %rdi
        call    gl__heap_create
        testq   %rax, %rax
        jz      .Ldefault_out
        movq    %rax, %rbx
        xorl    %eax, %eax
        lock cmpxchgq %rbx, gl__default(%rip)
        jz      .Ldefault_won
        /* another thread won the race: keep its heap, drop ours */
        pushq   %rax
        .cfi_adjust_cfa_offset 8
        movq    %rbx, %rdi
        call    gl__heap_destroy
        popq    %rax
        .cfi_adjust_cfa_offset -8
        jmp     .Ldefault_out
.Ldefault_won:
        movq    %rbx, %rax
.Ldefault_out:
        CFI_POP %rbx
        ret
END(gl_default_heap)
INTERNAL_ALIAS(gl_default_heap, gl__default_heap)

        .section .rodata
        .p2align 3
        .globl  gl__default_options             /* the default heap's and its arenas' */
        .hidden gl__default_options
gl__default_options:
        .quad   GL_HEAP_LOCKED_FLAG | GL_HEAP_COUNT_HITS_FLAG, 0, 0, 0, 0, 0, 0, 0

        .bss
        .p2align 2
        .hidden gl__membarrier_state
gl__membarrier_state:                           /* 0 untried, 1 registered, -1 refused */
        .zero   4

        .p2align 6
        .hidden gl__default
        .globl gl__default
gl__default:
        .zero   64

        .section .note.GNU-stack, "", @progbits
