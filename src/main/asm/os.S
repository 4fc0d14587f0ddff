/*
 * os.S - memory from the operating system, without libc.
 *
 * Glimmer talks to Linux with raw system calls only (mmap, munmap, madvise,
 * mincore, getrandom, sched_yield, membarrier, arch_prctl), so the library links with
 * -nostdlib and works in a JVM, a C program or a process with no libc at
 * all.  Every failure is an ordinary result (NULL / nonzero), never a retry
 * loop or an abort.
 *
 * Aligned mappings (segments) are made by mapping size + alignment and
 * unmapping the excess on both sides: no address hints, no MAP_FIXED, which
 * WSL1 rejects at 4 KiB granularity.
 *
 * Every function here that maps, unmaps or advises counts its calls in the
 * heap passed in %rdi (H_OS_*)
 * and keeps H_FOOTPRINT/H_PEAK_FOOTPRINT; %rdi may be 0 before a heap exists.
 */
#include "gl_layout.h"

        .text

/* a mapping of `bytes` more was made for `heap` (0: none to count): one
 * more map, footprint and its peak up.  Clobbers bytes. */
.macro COUNT_MAP heap, bytes
        testq   \heap, \heap
        jz      .Lcm_done\@
        incq    H_OS_MAPS(\heap)
        ADD_RAISING_PEAK H_FOOTPRINT(\heap), H_PEAK_FOOTPRINT(\heap), \bytes
.Lcm_done\@:
.endm

/*
 * gl__os_map(heap, length) -> address or 0
 *   rdi = heap (or 0), rsi = length (multiple of PAGE_SIZE)
 *   Returns rax = fresh zeroed read/write mapping, 0 on failure.
 *   Clobbers rcx, rdx, rsi, r8-r11.
 */
HIDDEN_ENTRY(gl__os_map)
        movl    $MAP_PRIVATE_ANON, %ecx
        jmp     .Lmap_flags
END(gl__os_map)

/*
 * gl__os_reserve(heap, length) -> address or 0
 *   gl__os_map without a commitment of swap (MAP_NORESERVE), for a large
 *   table of which only the pages written are ever backed (arena.S's map of
 *   segments).  Same registers.
 */
HIDDEN_ENTRY(gl__os_reserve)
        movl    $MAP_PRIVATE_ANON | MAP_NORESERVE, %ecx
        jmp     .Lmap_flags
END(gl__os_reserve)

/*
 * gl__os_map_populated(heap, length) -> address or 0
 *   gl__os_map for memory that is about to be written: MAP_POPULATE has the
 *   mmap fault every page in, which costs a page about half of what a first
 *   touch does here (no trap per page).  Population is best effort: the
 *   mapping is made whether or not the pages could be.  Same registers.
 */
HIDDEN_ENTRY(gl__os_map_populated)
        movl    $MAP_PRIVATE_ANON | MAP_POPULATE, %ecx
.Lmap_flags:
        pushq   %rdi                            /* the heap, kept across the syscall */
        .cfi_adjust_cfa_offset 8
        pushq   %rsi
        .cfi_adjust_cfa_offset 8
        xorl    %edi, %edi                      /* addr = NULL: the kernel chooses */
        movl    $PROT_RW, %edx
        movl    %ecx, %r10d
        movq    $-1, %r8                        /* fd */
        xorl    %r9d, %r9d                      /* offset */
        movl    $SYS_mmap, %eax
        syscall
        popq    %rsi
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        cmpq    $-4096, %rax                    /* -errno in [-4095, -1] */
        ja      .Lmap_failed
        COUNT_MAP %rdi, %rsi
        ret
.Lmap_failed:
        xorl    %eax, %eax
        ret
END(gl__os_map_populated)

/*
 * gl__os_unmap(heap, address, length) -> 0 or -errno
 *   rdi = heap (or 0), rsi = address, rdx = length.
 *   Clobbers rcx, r8-r11.
 */
HIDDEN_ENTRY(gl__os_unmap)
        movq    %rdi, %r8
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movl    $SYS_munmap, %eax
        pushq   %r8
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        syscall
        popq    %rdx
        .cfi_adjust_cfa_offset -8
        popq    %r8
        .cfi_adjust_cfa_offset -8
        testq   %r8, %r8
        jz      1f
        incq    H_OS_UNMAPS(%r8)
        testq   %rax, %rax
        jnz     1f
        subq    %rdx, H_FOOTPRINT(%r8)
1:      ret
END(gl__os_unmap)

/*
 * gl__os_remap(heap, address, length, new length) -> new address or 0
 *   mremap(MREMAP_MAYMOVE): a mapping grows in place or moves, its pages
 *   carried over by the kernel (no copy, no fault); the added part is fresh
 *   zeroed memory.  A mapping that shrinks keeps its address and loses its
 *   tail.  On failure (0) the old mapping is unchanged.
 *   rdi = heap (or 0), rsi = address, rdx = length, rcx = new length (page
 *   multiples, not equal).  Counted as one map; the footprint moves by the
 *   difference.  Clobbers rcx, rdx, rsi, r8-r11.
 */
HIDDEN_ENTRY(gl__os_remap)
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movq    %rcx, %rdx
        movl    $MREMAP_MAYMOVE, %r10d
        movl    $SYS_mremap, %eax
        syscall
        popq    %rdx                            /* old length */
        .cfi_adjust_cfa_offset -8
        popq    %rsi                            /* new length */
        .cfi_adjust_cfa_offset -8
        popq    %rdi
        .cfi_adjust_cfa_offset -8
        cmpq    $-4096, %rax
        ja      .Lgrow_failed
        subq    %rdx, %rsi                      /* added bytes (negative: removed) */
        COUNT_MAP %rdi, %rsi
        ret
.Lgrow_failed:
        xorl    %eax, %eax
        ret
END(gl__os_remap)

/*
 * gl__os_map_aligned(heap, length, alignment) -> address or 0
 *   rdi = heap, rsi = length (page multiple), rdx = alignment (power of two,
 *   >= PAGE_SIZE).  Maps length + alignment, unmaps the unaligned head and the
 *   tail.  Footprint ends up counting exactly `length`.
 *   Clobbers caller-saved registers.
 */
HIDDEN_ENTRY(gl__os_map_aligned)
        CFI_PUSH   %rbx
        CFI_PUSH   %r12
        CFI_PUSH   %r13
        CFI_PUSH   %r14
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    %rdi, %rbx                      /* heap */
        movq    %rsi, %r12                      /* length */
        movq    %rdx, %r13                      /* alignment */
        addq    %rdx, %rsi                      /* over-map by the alignment */
        jc      .Lal_fail
        xorl    %edi, %edi                      /* the over-map is transient: */
        call    gl__os_map                      /* footprint counts `length` below */
        testq   %rax, %rax
        jz      .Lal_fail
        movq    %rax, %r14                      /* raw base */
        /* aligned = (raw + align - 1) & -align */
        leaq    -1(%rax,%r13), %rcx
        movq    %r13, %rdx
        negq    %rdx
        andq    %rdx, %rcx
        pushq   %rcx
        .cfi_adjust_cfa_offset 8
        /* head: [raw, aligned) */
        movq    %rcx, %rdx
        subq    %r14, %rdx
        jz      1f
        xorl    %edi, %edi
        movq    %r14, %rsi
        call    gl__os_unmap
        incq    H_OS_UNMAPS(%rbx)
1:      /* tail: [aligned + length, raw + length + align) */
        movq    (%rsp), %rcx
        leaq    (%rcx,%r12), %rsi
        leaq    (%r14,%r12), %rdx
        addq    %r13, %rdx
        subq    %rsi, %rdx
        jz      2f
        xorl    %edi, %edi
        call    gl__os_unmap
        incq    H_OS_UNMAPS(%rbx)
2:      incq    H_OS_MAPS(%rbx)
        movq    %r12, %rax
        ADD_RAISING_PEAK H_FOOTPRINT(%rbx), H_PEAK_FOOTPRINT(%rbx), %rax
        popq    %rax
        .cfi_adjust_cfa_offset -8
        jmp     .Lal_out
.Lal_fail:
        xorl    %eax, %eax
.Lal_out:
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP    %r14
        CFI_POP    %r13
        CFI_POP    %r12
        CFI_POP    %rbx
        ret
END(gl__os_map_aligned)

/*
 * gl__os_advise_free(heap, address, length) -> 0 or -errno
 *   madvise(MADV_DONTNEED): the pages read back as zero and stop counting in
 *   the resident set.  Clobbers rcx, r8-r11.
 */
HIDDEN_ENTRY(gl__os_advise_free)
        movq    %rdi, %r8
        movq    %rsi, %rdi
        movq    %rdx, %rsi
        movl    $MADV_DONTNEED, %edx
        movl    $SYS_madvise, %eax
        pushq   %r8
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        syscall
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r8
        .cfi_adjust_cfa_offset -8
        testq   %r8, %r8
        jz      1f
        incq    H_OS_ADVISES(%r8)
1:      ret
END(gl__os_advise_free)

/*
 * gl__os_resident(address, length) -> rax = bytes of the range resident in
 *   memory, or -errno (a kernel or a seccomp filter that refuses mincore)
 *   mincore() RESIDENT_STEP_PAGES pages at a time, through a vector on the
 *   stack.  address and length page-aligned.  Counts no system call in a
 *   heap: it changes nothing.  Clobbers rcx, rdx, rsi, rdi, r8, r11.
 */
HIDDEN_ENTRY(gl__os_resident)
        subq    $RESIDENT_STEP_PAGES, %rsp
        .cfi_adjust_cfa_offset RESIDENT_STEP_PAGES
        movq    %rsi, %r8                       /* bytes left */
        xorl    %edx, %edx
        pushq   %rdx                            /* resident pages so far */
        .cfi_adjust_cfa_offset 8
.Lres_step:
        testq   %r8, %r8
        jz      .Lres_done
        movl    $RESIDENT_STEP_PAGES * PAGE_SIZE, %esi
        cmpq    %rsi, %r8
        cmovbq  %r8, %rsi                       /* this step's length */
        leaq    8(%rsp), %rdx                   /* the vector */
        movl    $SYS_mincore, %eax
        syscall                                 /* keeps rdi, rsi, rdx, r8 */
        testq   %rax, %rax
        js      .Lres_out                       /* -errno */
        movq    %rsi, %rcx
        shrq    $PAGE_SHIFT, %rcx               /* pages in this step: bytes of the vector */
1:      movzbl  7(%rsp,%rcx), %eax
        andl    $1, %eax                        /* bit 0: resident; the others are reserved */
        addq    %rax, (%rsp)
        decq    %rcx
        jnz     1b
        addq    %rsi, %rdi
        subq    %rsi, %r8
        jmp     .Lres_step
.Lres_done:
        movq    (%rsp), %rax
        shlq    $PAGE_SHIFT, %rax
.Lres_out:
        addq    $RESIDENT_STEP_PAGES + 8, %rsp
        .cfi_adjust_cfa_offset -(RESIDENT_STEP_PAGES + 8)
        ret
END(gl__os_resident)

/*
 * gl__os_populate(address, length)
 *   madvise(MADV_POPULATE_WRITE): faults the range in, writable, in one
 *   system call -- about half the cost per page of touching the pages one by
 *   one here.  Advice only: an older kernel refuses it and the pages fault
 *   in as they are touched.  Clobbers rax, rcx, rdx, r11.
 */
HIDDEN_ENTRY(gl__os_populate)
        movl    $MADV_POPULATE_WRITE, %edx
        movl    $SYS_madvise, %eax
        syscall
        ret
END(gl__os_populate)

/*
 * gl__os_advise_huge(address, length)
 *   madvise(MADV_HUGEPAGE): the kernel may back the range with transparent
 *   huge pages (fewer page faults and TLB misses; resident in 2 MiB steps).
 *   Advice only: a kernel without THP refuses it and nothing changes.
 *   Clobbers rax, rcx, rdx, r11.
 */
HIDDEN_ENTRY(gl__os_advise_huge)
        movl    $MADV_HUGEPAGE, %edx
        movl    $SYS_madvise, %eax
        syscall
        ret
END(gl__os_advise_huge)

/*
 * gl__os_membarrier(cmd) -> 0 or -errno
 *   membarrier(cmd, 0, 0).  edi = cmd.  Clobbers rax, rcx, rdx, rsi, r11.
 */
HIDDEN_ENTRY(gl__os_membarrier)
        xorl    %esi, %esi
        xorl    %edx, %edx
        movl    $SYS_membarrier, %eax
        syscall
        ret
END(gl__os_membarrier)

/*
 * gl__os_thread_pointer() -> the calling thread's %fs base, 0 if it has none
 *   arch_prctl(ARCH_GET_FS).  A thread of any libc has one (its TCB, whose
 *   first word points to itself); a process without libc may not, and then
 *   %fs:0 must not be read.  Clobbers rcx, rdx, rsi, rdi, r11.
 */
HIDDEN_ENTRY(gl__os_thread_pointer)
        subq    $24, %rsp
        .cfi_adjust_cfa_offset 24
        movq    $0, (%rsp)
        movl    $ARCH_GET_FS, %edi
        movq    %rsp, %rsi
        movl    $SYS_arch_prctl, %eax
        syscall
        testq   %rax, %rax
        movl    $0, %eax
        jnz     1f
        movq    (%rsp), %rax
1:      addq    $24, %rsp
        .cfi_adjust_cfa_offset -24
        ret
END(gl__os_thread_pointer)

/*
 * gl__os_random() -> 64 random bits
 *   getrandom(GRND_NONBLOCK); if the kernel refuses (old kernel, seccomp),
 *   falls back to rdtsc mixed with the stack address.  Never fails.
 *   Clobbers rcx, rdx, rsi, rdi, r8-r11.
 */
HIDDEN_ENTRY(gl__os_random)
        subq    $24, %rsp
        .cfi_adjust_cfa_offset 24
        movq    $0, (%rsp)
        movq    %rsp, %rdi
        movl    $8, %esi
        movl    $1, %edx                        /* GRND_NONBLOCK */
        movl    $SYS_getrandom, %eax
        syscall
        cmpq    $8, %rax
        movq    (%rsp), %rax
        je      1f
        rdtsc
        shlq    $32, %rdx
        orq     %rdx, %rax
        xorq    %rsp, %rax
1:      /* one multiply-xorshift round so a weak source still spreads */
        movabsq $HASH_MULT, %rcx
        imulq   %rcx, %rax
        movq    %rax, %rdx
        shrq    $29, %rdx
        xorq    %rdx, %rax
        orq     $1, %rax                        /* never zero */
        addq    $24, %rsp
        .cfi_adjust_cfa_offset -24
        ret
END(gl__os_random)

/*
 * gl__new_tag_key() -> a random header-tag key
 *   Odd (so a zeroed header, whose pointer is even, never passes) and never
 *   0x7fff or 0xffff in its low 16 bits (so a header with every bit inverted
 *   never passes).  Clobbers rcx, rdx, rsi, rdi, r8-r11.
 */
HIDDEN_ENTRY(gl__new_tag_key)
        call    gl__os_random                   /* odd */
        movl    %eax, %ecx
        andl    $0x7fff, %ecx
        cmpl    $0x7fff, %ecx
        jne     1f
        xorl    $2, %eax
1:      ret
END(gl__new_tag_key)

/*
 * gl__os_yield()
 *   sched_yield, for a spinlock that has spun long enough.  Clobbers rcx, r11.
 */
HIDDEN_ENTRY(gl__os_yield)
        pushq   %rax
        .cfi_adjust_cfa_offset 8
        movl    $SYS_sched_yield, %eax
        syscall
        popq    %rax
        .cfi_adjust_cfa_offset -8
        ret
END(gl__os_yield)

        .section .note.GNU-stack, "", @progbits
