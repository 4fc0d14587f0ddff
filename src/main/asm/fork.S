/*
 * fork.S - locked heaps across fork(): the process's list of them, and the
 * three handlers a program registers with pthread_atfork.
 *
 * fork() copies one thread.  A lock that another thread held at that moment
 * stays held in the child, by a thread the child does not have, and the
 * child's first malloc spins on it for ever; the heap behind it may be
 * half-way through an operation.  So, as glibc, jemalloc and tcmalloc do for
 * their own locks, every locked heap is locked around the fork:
 *
 *   gl_fork_prepare   takes the list's lock, then the lock of every locked
 *                     heap on it (gl__lock: a heap biased to another thread
 *                     loses its bias there, after that thread's call ends;
 *                     one biased to the forking thread keeps it, and so does
 *                     the child, whose one thread has the same thread pointer);
 *   gl_fork_parent    releases them all, in the parent;
 *   gl_fork_child     releases them all, in the child, whose heaps are then
 *                     as consistent as they were between two calls.
 *
 * The list's lock is taken before any heap's lock, and nothing that holds a
 * heap's lock takes the list's (gl_heap_create links a new front holding no
 * lock, gl_heap_destroy unlinks one before it locks it), so the handlers
 * cannot deadlock with a create or a destroy on another thread.
 *
 * The library has no libc, so it cannot register the handlers itself: a
 * program that forks while other threads may use a locked heap calls
 * pthread_atfork(gl_fork_prepare, gl_fork_parent, gl_fork_child) once.
 * libglimmer-preload.so does.  Registering them twice is harmless: a second
 * prepare by the thread that already holds everything does nothing, and so
 * does a parent or child handler called by a thread that did not prepare.
 */
#include "gl_layout.h"

        .text

/* takes the list's lock, rdi kept; clobbers rax */
.macro LOCK_FRONTS_LIST
        CFI_PUSH %rdi
        leaq    gl__fronts_lock(%rip), %rdi
        call    gl__spin_lock
        CFI_POP %rdi
.endm

/*
 * gl__fork_self() -> rax = the calling thread's identity for gl__fork_holder
 *   Its thread pointer (which a child of fork() shares with the thread that
 *   forked), or 1 in a process without one.  Clobbers rcx, rdx, rsi, rdi, r11.
 */
        .p2align 4
gl__fork_self:
        .cfi_startproc
        call    gl__os_thread_pointer
        movl    $1, %ecx
        testq   %rax, %rax
        cmovzq  %rcx, %rax
        ret
        .cfi_endproc
        .size gl__fork_self, .-gl__fork_self

/*
 * gl__fronts_link(front)
 *   rdi = the front of a new locked heap, not yet seen by any other thread.
 *   Puts it at the head of the list.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__fronts_link)
        LOCK_FRONTS_LIST
        movq    gl__fronts(%rip), %rax
        movq    %rax, LK_NEXT(%rdi)
        movq    $0, LK_PREV(%rdi)
        testq   %rax, %rax
        jz      1f
        movq    %rdi, LK_PREV(%rax)
1:      movq    %rdi, gl__fronts(%rip)
        movl    $0, gl__fronts_lock(%rip)      /* a plain store releases on x86 */
        ret
END(gl__fronts_link)

/*
 * gl__fronts_unlink(front)
 *   rdi = the front of a locked heap on the list, about to be destroyed.
 *   Takes it off.  Clobbers rax, rcx.
 */
HIDDEN_ENTRY(gl__fronts_unlink)
        LOCK_FRONTS_LIST
        movq    LK_NEXT(%rdi), %rax
        movq    LK_PREV(%rdi), %rcx
        testq   %rax, %rax
        jz      1f
        movq    %rcx, LK_PREV(%rax)
1:      testq   %rcx, %rcx
        jz      2f
        movq    %rax, LK_NEXT(%rcx)
        jmp     3f
2:      movq    %rax, gl__fronts(%rip)         /* it was the head */
3:      movq    $0, LK_NEXT(%rdi)
        movq    $0, LK_PREV(%rdi)
        movl    $0, gl__fronts_lock(%rip)
        ret
END(gl__fronts_unlink)

/*
 * void gl_fork_prepare(void)
 *   pthread_atfork's prepare handler: holds the list and every locked heap
 *   until gl_fork_parent or gl_fork_child.  Does nothing when the calling
 *   thread holds them already.  Clobbers caller-saved registers.
 */
ENTRY(gl_fork_prepare)
        CFI_PUSH %rbx
        call    gl__fork_self
        cmpq    gl__fork_holder(%rip), %rax
        je      .Lprepare_out                   /* registered twice: held already */
        movq    %rax, %rbx
        leaq    gl__arena_lock(%rip), %rdi      /* the order of arena.S: arenas being made, */
        call    gl__spin_lock
        leaq    gl__fronts_lock(%rip), %rdi     /* the list, */
        call    gl__spin_lock
        movq    %rbx, gl__fork_holder(%rip)
        movq    gl__fronts(%rip), %rbx
.Lprepare_each:
        testq   %rbx, %rbx
        jz      .Lprepare_large
        movq    %rbx, %rdi
        call    gl__lock                        /* each heap (preserves all but rax), */
        movq    LK_NEXT(%rbx), %rbx
        jmp     .Lprepare_each
.Lprepare_large:
        leaq    gl__arena_large_lock(%rip), %rdi    /* the arenas' large blocks */
        call    gl__spin_lock
.Lprepare_out:
        CFI_POP %rbx
        ret
END(gl_fork_prepare)

/*
 * void gl_fork_parent(void), void gl_fork_child(void)
 *   pthread_atfork's parent and child handlers: release what gl_fork_prepare
 *   took, every heap's lock and then the list's.  A call by a thread that
 *   does not hold them (no prepare before it, or a second registration's
 *   handler after the first released them) does nothing.  The child needs
 *   nothing more: its one thread is the preparer, no heap was in the middle
 *   of a call, and a bias the preparer kept is the child's thread's too.
 *   Clobbers caller-saved registers.
 */
ENTRY(gl_fork_parent)
        call    gl__fork_self
        cmpq    gl__fork_holder(%rip), %rax
        jne     .Lrelease_out
        movq    $0, gl__fork_holder(%rip)
        movq    gl__fronts(%rip), %rax
.Lrelease_each:
        testq   %rax, %rax
        jz      .Lrelease_list
        movl    $0, LK_LOCK(%rax)
        movq    LK_NEXT(%rax), %rax
        jmp     .Lrelease_each
.Lrelease_list:
        movl    $0, gl__arena_large_lock(%rip)
        movl    $0, gl__fronts_lock(%rip)
        movl    $0, gl__arena_lock(%rip)
.Lrelease_out:
        ret
END(gl_fork_parent)
INTERNAL_ALIAS(gl_fork_parent, gl__fork_parent)

ENTRY(gl_fork_child)
        jmp     gl__fork_parent
END(gl_fork_child)

        .bss
        .p2align 3
gl__fronts:                                     /* the newest live locked heap's front */
        .zero   8
gl__fork_holder:                                /* the thread inside prepare..parent/child, or 0 */
        .zero   8
gl__fronts_lock:                                /* u32, gl__spin_lock */
        .zero   4

        .section .note.GNU-stack, "", @progbits
