/*
 * gl_layout.h - every layout, constant and macro of Glimmer's assembly, once.
 *
 * Included (through cpp) by every .S file.  Nothing here emits code except the
 * macros; the numbers are the single definition of the heap's memory format.
 *
 * ------------------------------------------------------------------------
 * Block header (8 bytes, at an address = 8 mod 16, user pointer = header + 8)
 *
 *   63     62      61    60    59 ............ 20 19..17  16         15 ... 0
 *  +------+-------+-----+-----+------------------+-------+-----------+--------+
 *  |LARGE |CACHED |FREE |FENCE|  block size (multiple of 16)  << 16  |PREV_FREE|  tag  |
 *  +------+-------+-----+-----+------------------+-------+-----------+--------+
 *
 *   tag        = ((key - size/16) XOR user pointer) & 0xffff, the user
 *                pointer being header address + 8; checked as
 *                ((tag XOR pointer) + size/16) == key (mod 2^16): a keyed,
 *                non-linear check of both the address and the size (a header
 *                with every bit inverted cannot pass: the key is odd and
 *                never 0x7fff or 0xffff mod 2^16).  It sits in the lowest
 *                bytes, which a forward overflow from the block before hits first,
 *                so any overflow that reaches the size also breaks the tag.
 *   size       = whole block, header included; in bits 20..59 as (size << 16).
 *   PREV_FREE  = the block before this one is free (its footer is valid).
 *   w >> 20    = size/16 when no high flag is set: the small class, and a
 *                number > 63 for fenceposts, free, cached and large blocks, so
 *                one compare accepts exactly "in-use small block".
 *
 * Free block:  [hdr][next ^ linkkey][prev ^ linkkey] ... [footer = size]
 * Cached block (recently-freed cache): header with CACHED set, contents
 *              untouched; the pointer lives in the heap's cache stack.
 * ------------------------------------------------------------------------
 * Segment (SEG_SIZE bytes, SEG_SIZE-aligned)
 *
 *   +0      segment header (SEG_*)
 *   +64     block starts: SEG_SIZE/16 bits, bit k set exactly when a block
 *           (in use, cached, free or the top; not a fencepost) has its user
 *           pointer at segment + 16k.  A word is taken for a header only
 *           where its bit is set, so data inside a block that happens to
 *           pass the tag check is never mistaken for one.
 *   +16456  start fencepost: header, size 16, FENCE (never free)
 *   +16472  first block ...                   ... last block
 *   +SEG_SIZE-8  end fencepost: header, size 0, FENCE (+PREV_FREE)
 * ------------------------------------------------------------------------
 */
#ifndef GL_LAYOUT_H
#define GL_LAYOUT_H

/* ---- blocks -------------------------------------------------------------- */
#define HDR_TAG_MASK        0xffff
#define HDR_PREV_FREE       0x10000          /* bit 16 */
#define HDR_SIZE_SHIFT      16
#define HDR_CLASS_SHIFT     20               /* w >> 20 == size/16 for plain in-use blocks */
#define HDR_FENCE_BIT       60
#define HDR_FREE_BIT        61
#define HDR_CACHED_BIT      62
#define HDR_LARGE_BIT       63
#define HDR_FLAG_BITS       (0xf << HDR_FENCE_BIT)   /* fence, free, cached, large */
#define HDR_NEVER_SET       0xe0000          /* bits 17..19: sizes are multiples of 16 */
/* the same flags as bits of the header's top byte (offset 7) */
#define HDR_B7_FENCE        0x10
#define HDR_B7_FREE         0x20
#define HDR_B7_CACHED       0x40
#define HDR_B7_LARGE        0x80

#define ALIGNMENT           16
#define MIN_BLOCK           32               /* header + next + prev + footer */
#define SMALL_MIN_CLASS     2
#define SMALL_MAX_CLASS     63               /* classes 2..63: blocks of 32..1008 bytes */
#define SMALL_MAX_BLOCK     1008
#define SMALL_MAX_REQUEST   1000             /* SMALL_MAX_BLOCK - 8 */
#define CACHE_MAX           65536            /* recently-freed blocks per class, at most */
#define CACHE_DEFAULT       65536
#define CACHE_FIRST_BYTES   4096             /* a class's first mapped slot array: one page */
#define INLINE_SLOTS        16               /* a small class's first slot array, inside the heap struct */
/* realloc's copy and calloc's clearing move up to this many bytes in
 * 16-byte vectors, longer runs with rep movsb/stosb (copy.S) */
#define VECTOR_MOVE_MAX     1024
/* a small block carved from the top brings a run of blocks of its class,
 * up to this many bytes in all, whose spares wait on the class's stack in
 * address order: a class's blocks sit together, as on a size-segregated
 * page (malloc.S) */
#define CARVE_RUN_BYTES     16384
/* medium blocks (range bins 64..91: 1 KiB <= size < 128 KiB) that realloc
 * moves away from are cached too, in stacks indexed by their bin, while the
 * cached medium bytes stay within a budget (cache.S) */
#define CACHE_CLASSES_N     92               /* cache classes: small 2..63, medium 64..91 */
#define MEDIUM_MAX_BLOCK    131056           /* the largest block of bin 91 */
#define MEDIUM_MAX_REQUEST  (MEDIUM_MAX_BLOCK - 8)
#define MEDIUM_CACHE_BYTES  (1 << 18)        /* cached medium blocks, bytes, at most */
#define MEDIUM_FIT_SLACK    64               /* a cached medium block serves requests up to this much smaller */
#define DEPTH_DEFAULT       16

/* bins: 0..63 exact small classes (index = class), 64..127 range bins */
#define NBINS               128
#define RANGE_BIN0          64
#define RANGE_MIN_BLOCK     1024             /* range bin 64 starts here */
#define RANGE_FL_MIN        10               /* log2(RANGE_MIN_BLOCK) */
#define RANGE_SL_SHIFT      2                /* 4 sub-bins per power of two */

/* large blocks: a mapping of their own */
#define LARGE_MIN_REQUEST   (1 << 20)        /* requests of 1 MiB and more */
#define MAX_REQUEST         ((1 << 44) - (1 << 20))   /* GL_MAX_SIZE */

/* ---- segments ------------------------------------------------------------ */
#define SEG_SHIFT           21
#define SEG_SIZE            (1 << SEG_SHIFT) /* 2 MiB */
#define SEG_OFFSET_MASK     (SEG_SIZE - 1)
#define SEG_MAGIC           0                /* segment address XOR heap secret */
#define SEG_HEAP            8                /* owning (owned) heap */
#define SEG_NEXT            16               /* heap's segment list */
#define SEG_PREV            24
#define SEG_STARTS          64               /* the bitmap of block starts */
#define SEG_STARTS_BYTES    (SEG_SIZE / 128) /* one bit per 16 bytes: 16 KiB */
#define SEG_STARTS_WORD_MASK ((SEG_OFFSET_MASK >> 7) & ~7)  /* (p >> 7) & this: p's word, in bytes */
#define START_FENCE_SIZE    16
#define SEG_START_FENCE     (SEG_STARTS + SEG_STARTS_BYTES + 8)
#define SEG_FIRST           (SEG_START_FENCE + START_FENCE_SIZE)   /* first block header */
#define SEG_END_FENCE       (SEG_SIZE - 8)
#define SEG_USABLE          (SEG_END_FENCE - SEG_FIRST)  /* bytes between the fenceposts */
/* fast-path registry entry for a segment: what (hdr ror 4) >> (SEG_SHIFT - 4)
 * gives for a 16-aligned user pointer inside it: segment number | 1 << the
 * bit where the header's bit 3 (set: hdr = p - 8) lands, 63 - (SEG_SHIFT - 4) */
#define SEGTAB_ALIGN_BIT    (67 - SEG_SHIFT)
#define SEGTAB_ENTRIES      256
#define SEGTAB_EMPTY        (-1)             /* no key is -1 (keys are < 2^(68 - SEG_SHIFT)) */

/* ---- large blocks: a descriptor just below the user pointer -------------- */
#define LG_MAGIC            (-64)            /* user pointer XOR heap secret */
#define LG_BASE             (-56)            /* mapping address */
#define LG_LEN              (-48)            /* mapping length */
#define LG_NEXT             (-40)            /* heap's large list (user pointers) */
#define LG_PREV             (-32)
#define LG_USABLE           (-24)            /* usable bytes from the user pointer */
#define LG_HDR              (-8)             /* header word: tag | usable << 16 | LARGE */
#define LG_DESC_SIZE        64

/* ---- a hash set of 8-byte keys (segment numbers, large user pointers) ---- */
#define SET_TABLE           0                /* mmapped array of keys, 0 = empty */
#define SET_SHIFT           8                /* 64 - log2(capacity) */
#define SET_COUNT           16
#define SET_CAP             24
#define SET_SIZE            32
#define SET_INITIAL_CAP     512
#define HASH_MULT           0x9E3779B97F4A7C15

/* ---- the heap ------------------------------------------------------------ */
/* the carve's line: what gl__malloc_slow reads and gl__account_alloc writes
 * when a batch of fresh blocks comes from the top */
#define H_BITMAP            0                /* u64[2]: word 0 small classes, word 1 range bins */
#define H_TOP               16               /* top (wilderness) block header, 0 = none */
#define H_TOP_CLEAN         24               /* memory at and above this in the top segment is untouched */
#define H_TOP_READY         32               /* the top segment is populated below this; -1: not a fresh top */
#define H_LIVE_BYTES        40               /* usable bytes of in-use blocks, cached ones included */
#define H_LIVE_BLOCKS       48
#define H_PEAK_LIVE         56
/* slow-path fields */
#define H_LOCK              64               /* spinlock word (locked heaps) */
#define H_MAGIC             72               /* HEAP_MAGIC ^ heap address while live */
#define H_SEG_LIST          80               /* first segment */
#define H_LARGE_LIST        88               /* first large block (user pointer) */
#define H_DEPTH             96               /* max search depth */
#define H_LAST_ERROR        104              /* last GL_E_* */
#define H_SECRET            112              /* 64-bit secret for segment/large magics */
#define H_LINK_KEY          120              /* free-list link encoding key */
/* fast-path fields: what gl_heap_malloc/gl_heap_free read */
#define H_KEY               128              /* tag key (low 16 bits used) */
#define H_LIMIT             136              /* u32: cache slots per class, at most; 0 = no cache */
#define H_FLAGS             140              /* u32: HF_* */
#define H_HITS              144              /* cache hits (HF_COUNT_HITS) */
#define H_INNER             152              /* locked heap: its owned heap */
#define H_SEGTAB            160              /* u64[256] direct-mapped segment registry */
/* the recently-freed cache: per cache class a stack of user pointers;
 * TOP == BASE: empty, TOP == LIM: full.  Cache classes 2..63 are the small
 * classes, whose stacks start in their INLINE_SLOTS at H_INLINE_SLOTS and
 * move to a mapping of their own when they outgrow it; 64..CACHE_CLASSES_N-1
 * the range bins of medium blocks, whose stacks are all 0 until the bin
 * first caches a block. */
#define H_CTOP              2208             /* u64[CACHE_CLASSES_N]: next free slot */
#define H_CBASE             2944             /* u64[CACHE_CLASSES_N]: first slot */
#define H_CLIM              3680             /* u64[CACHE_CLASSES_N]: end of the slot array */
#define H_CLASS_OF          4416             /* u8[1008]: class of an n-byte request, n <= SMALL_MAX_REQUEST */
/* the coalescer */
#define H_BINS              5424             /* {next,prev}[128]: bin sentinels */
#define H_SEGSET            7472             /* SET_SIZE: all segments, by number */
#define H_LARGESET          7504             /* SET_SIZE: all large blocks, by user pointer */
/* statistics */
#define H_FOOTPRINT         7536
#define H_PEAK_FOOTPRINT    7544
#define H_NSEG              7552
#define H_NLARGE            7560
#define H_FREE_BYTES        7568             /* bytes of free blocks in segments, top included */
#define H_SEARCH_STEPS      7576
#define H_OS_MAPS           7584
#define H_OS_UNMAPS         7592
#define H_OS_ADVISES        7600
#define H_ERRORS            7608             /* u64[8]: errors[k] counts status -k */
#define H_CLASS_LIVE        7672             /* u64[64]: in-use blocks per class, cached included */
#define H_LARGE_GONE        8184             /* u64[16]: ring of recently unmapped large blocks */
#define H_LARGE_GONE_POS    8312             /* next ring slot */
#define LARGE_GONE_SLOTS    16
#define H_MEDIUM_CACHED     8320             /* bytes of the medium blocks in the cache (whole blocks) */
#define H_ARENA             8328             /* the default heap's arena number of this heap (1..), 0: not an extra arena */
#define H_INLINE_SLOTS      8384             /* u64[INLINE_SLOTS] per small class 2..63: the stacks' first arrays */
#define H_STRUCT_END        (H_INLINE_SLOTS + 8 * INLINE_SLOTS * (SMALL_MAX_CLASS - SMALL_MIN_CLASS + 1))
#define HEAP_MAP_SIZE       16384            /* the heap struct's own mapping */
#define LOCKED_MAP_SIZE     8192             /* a locked heap's front struct (its fast-path fields end at H_BINS) */

/* the front of a locked heap: a small struct whose fast-path fields stay
 * empty (every request of class 0, whose stack is empty; no segment), so
 * gl_heap_malloc/free fall to the slow path, which takes the lock and runs
 * the owned heap H_INNER.  Its own fields sit past the fast-path ones. */
#define LK_LOCK             (H_BINS + 64)    /* u32 spinlock word */
#define LK_MAGIC            (H_BINS + 72)    /* LOCKED_MAGIC ^ front address while live */
#define LK_OWNER            (H_BINS + 80)    /* the bias: its slot (in LK_SLOTS); 0: none */
#define LK_NEXT             (H_BINS + 96)    /* the process's list of live locked heaps (fork.S) */
#define LK_PREV             (H_BINS + 104)
#define LK_LAST             (H_BINS + 112)   /* thread pointer of the last thread that took the lock */
#define LK_RUN              (H_BINS + 120)   /* u32: its lock acquisitions in a row since */
#define LK_REBIAS_AT        (H_BINS + 124)   /* u32: a run this long re-biases; 0: never (not biasable) */
#define LK_SLOTS_USED       (H_BINS + 128)   /* u32: bias slots handed out */
#define LK_SLOTS            (H_BINS + 208)   /* BIAS_SLOTS slots, 64-byte aligned in the front */
#define BIAS_SLOTS          64
#define BIAS_SLOT_SIZE      8
/* A slot is its thread pointer; its busy flag sits SLOT_BUSY bytes further,
 * in a parallel array on other cache lines: every thread that calls the
 * heap reads the owner's SLOT_TID (BIAS_ENTER), the owner writes SLOT_BUSY
 * twice per call, and on one line the two would bounce between the cores
 * (the default heap's owner and a thread on an arena running pairs at once
 * managed 64 M pairs/s together, 160-188 M with the flags apart; design.md,
 * Biased locking). */
#define SLOT_TID            0                /* the owner's thread pointer (%fs:0), set once */
#define SLOT_BUSY           (BIAS_SLOTS * BIAS_SLOT_SIZE)   /* u32: the owner is inside a call without the lock */
#define LK_END              (LK_SLOTS + 2 * BIAS_SLOTS * BIAS_SLOT_SIZE)   /* the front's fields end here */
 /* the default heap's arenas (arena.S): the default heap itself is arena 0 */
#define ARENAS_MAX          16               /* the default heap and at most 15 more */
#define ARENA_THREAD_BITS   10               /* threads find their arena in a table of 2^this, by thread pointer */
#define ARENA_MAP_BITS      (47 - SEG_SHIFT) /* a byte per segment number of the user address space */
#define ARENA_MAP_BYTES     (1 << ARENA_MAP_BITS)   /* 64 MiB, reserved (MAP_NORESERVE), touched sparsely */
#define ARENA_KEY_MASK      15               /* a large block's key: user pointer | arena (both 16-aligned free) */
#define REBIAS_FIRST_RUN    8192             /* the run that first re-biases an unbiased heap */
#define REBIAS_MAX_RUN      (1 << 24)        /* each re-bias doubles the next run, up to this */
#define LOCKED_MAGIC        0x476c696d6d65724c   /* "Glimmer L" */

#define GL_HEAP_LOCKED_FLAG 1                /* gl_options.flags: GL_HEAP_LOCKED */
#define GL_HEAP_COUNT_HITS_FLAG 2            /* gl_options.flags: GL_HEAP_COUNT_HITS */
#define GL_HEAP_HUGE_PAGES_FLAG 4            /* gl_options.flags: GL_HEAP_HUGE_PAGES */
#define GL_HEAP_FLAGS_KNOWN (GL_HEAP_LOCKED_FLAG | GL_HEAP_COUNT_HITS_FLAG | GL_HEAP_HUGE_PAGES_FLAG)
#define GL_SMALL_CLASSES_N  64
#define GL_ERROR_KINDS_N    8
#define HF_LOCKED           1                /* front of a locked heap: H_INNER is the owned heap */
#define HF_NO_CACHE         2
#define HF_COUNT_HITS       4                /* the malloc fast path counts cache hits (H_HITS) */
#define HF_HUGE_PAGES       8                /* new segments are advised MADV_HUGEPAGE */
#define HEAP_MAGIC          0x476c696d6d657248   /* "Glimmer H" */

/* ---- public structs (glimmer.h), byte offsets ---------------------------- */
#define OPT_FLAGS           0
#define OPT_DEPTH           8
#define OPT_CACHE_LIMIT     16
#define OPT_DISABLE_CACHE   24
#define OPT_RESERVED        32               /* 4 words, must be zero */

#define ST_LIVE_BYTES       0
#define ST_LIVE_BLOCKS      8
#define ST_PEAK_LIVE        16
#define ST_FOOTPRINT        24
#define ST_PEAK_FOOTPRINT   32
#define ST_SEGMENTS         40
#define ST_LARGE_BLOCKS     48
#define ST_FREE_BYTES       56
#define ST_CACHED_BLOCKS    64
#define ST_CACHE_HITS       72
#define ST_SEARCH_STEPS     80
#define ST_OS_MAPS          88
#define ST_OS_UNMAPS        96
#define ST_OS_ADVISES       104
#define ST_ERRORS           112              /* u64[8] */
#define ST_CLASS_LIVE       176              /* u64[64] */
#define ST_LOCK_BIASED      688              /* 1: a locked heap still biased to one thread */
#define ST_ARENAS           696              /* the default heap's arenas besides itself */
#define ST_SIZE             704

#define CR_CODE             0
#define CR_ADDRESS          8
#define CR_DETAIL           16
#define CR_BLOCKS           24

#define BI_ADDRESS          0
#define BI_SIZE             8
#define BI_STATE            16
#define BI_CURSOR           24               /* u64[3] */
#define WALK_PHASE          (BI_CURSOR + 0)  /* 0 start, 1 segments, 2 large, 3 done; the default heap: arena << 8 */
#define WALK_NEXT           (BI_CURSOR + 8)  /* the next header or large block */
#define WALK_SEGMENT        (BI_CURSOR + 16) /* the current segment */
#define WALK_ARENA_SHIFT    8

/* gl_heap_check codes (glimmer.h) */
#define GL_CHECK_OK              0
#define GL_CHECK_BAD_TAG         1
#define GL_CHECK_BAD_SIZE        2
#define GL_CHECK_BAD_FOOTER      3
#define GL_CHECK_PREV_FREE       4
#define GL_CHECK_ADJACENT_FREE   5
#define GL_CHECK_NOT_IN_BIN      6
#define GL_CHECK_BIN_ENTRY       7
#define GL_CHECK_BIN_LINKS       8
#define GL_CHECK_BITMAP          9
#define GL_CHECK_FENCEPOST      10
#define GL_CHECK_STATS          11
#define GL_CHECK_LARGE          12
#define GL_CHECK_REGISTRY       13
#define GL_CHECK_TOP            14
#define GL_CHECK_STARTS         15

/* block states (glimmer.h) */
#define GL_BLOCK_USED            1
#define GL_BLOCK_FREE            2
#define GL_BLOCK_CACHED          3
#define GL_BLOCK_LARGE           4

/* status codes (glimmer.h) */
#define GL_OK               0
#define GL_E_DOUBLE_FREE    (-1)
#define GL_E_NOT_OURS       (-2)
#define GL_E_CORRUPT        (-3)
#define GL_E_NOMEM          (-4)
#define GL_E_SIZE           (-5)
#define GL_E_ALIGN          (-6)
#define GL_E_BAD_HEAP       (-7)

/* ---- Linux system calls ------------------------------------------------- */
#define SYS_mmap            9
#define SYS_munmap          11
#define SYS_madvise         28
#define SYS_mincore         27
#define SYS_mremap          25
#define MREMAP_MAYMOVE      1
#define SYS_sched_yield     24
#define SYS_getrandom       318
#define SYS_membarrier      324
#define SYS_arch_prctl      158
#define ARCH_GET_FS         0x1003
#define MEMBARRIER_CMD_GLOBAL                       1    /* Linux 4.3; slow (an RCU grace period) */
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED            8    /* Linux 4.14; after registering */
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED  16
#define PROT_RW             3
#define MAP_PRIVATE_ANON    0x22
#define MAP_POPULATE        0x8000
#define MAP_NORESERVE       0x4000
#define MADV_DONTNEED       4
#define MADV_HUGEPAGE       14
#define MADV_POPULATE_WRITE 23               /* Linux 5.14; older kernels refuse it (EINVAL) */
/* A fresh top is populated a window at a time: 16 KiB windows in the first
 * 128 KiB of a heap's only segment, so that a small heap's resident set
 * stays within 16 KiB of what it has carved; 64 KiB windows past them and
 * in a heap of several segments, where a growing heap saves system calls
 * (segment.S, gl__top_prefault). */
#define PREFAULT_WINDOW     65536
#define PREFAULT_FIRST_WINDOW 16384
#define PREFAULT_FIRST_BYTES 131072
#define PAGE_SIZE           4096
#define PAGE_SHIFT          12
/* gl__os_resident asks mincore() about this many pages at a time, through a
 * vector of as many bytes on the stack */
#define RESIDENT_STEP_PAGES 256

/* ---- assembler macros ---------------------------------------------------- */
#ifdef __ASSEMBLER__

/* An exported function. */
#define ENTRY(name)             \
        .globl name;            \
        .type name, @function;  \
        .p2align 4;             \
name:                           \
        .cfi_startproc

/* A function shared between Glimmer's files but not exported. */
#define HIDDEN_ENTRY(name)      \
        .hidden name;           \
        ENTRY(name)

#define END(name)               \
        .cfi_endproc;           \
        .size name, .-name

/* A hidden second name for an exported function, so calls from inside the
 * library bind directly (no PLT) whatever the link flags. */
#define INTERNAL_ALIAS(name, alias) \
        .globl alias;           \
        .hidden alias;          \
        .set alias, name

/* CFI-annotated push/pop for functions with a frame */
.macro CFI_PUSH reg
        pushq   \reg
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset \reg, 0
.endm
.macro CFI_POP reg
        popq    \reg
        .cfi_adjust_cfa_offset -8
        .cfi_restore \reg
.endm
/* save/restore all callee-saved registers (6 pushes + 8 bytes pad = aligned) */
.macro SAVE_ALL
        CFI_PUSH   %rbx
        CFI_PUSH   %rbp
        CFI_PUSH   %r12
        CFI_PUSH   %r13
        CFI_PUSH   %r14
        CFI_PUSH   %r15
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
.endm
.macro RESTORE_ALL
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        CFI_POP    %r15
        CFI_POP    %r14
        CFI_POP    %r13
        CFI_POP    %r12
        CFI_POP    %rbp
        CFI_POP    %rbx
.endm

/* call fn(rdi = owned heap, ...), or counting_fn when given and the heap
 * counts cache hits */
.macro CALL_INNER fn, counting_fn
.ifnb \counting_fn
        testl   $HF_COUNT_HITS, H_FLAGS(%rdi)
        jz      .Lci_plain\@
        call    \counting_fn
        jmp     .Lci_done\@
.Lci_plain\@:
.endif
        call    \fn
.Lci_done\@:
.endm

/*
 * DEFAULT_OR_LOCKED default_fn, locked_name: in a public entry point, past
 * the test that sent owned heaps to their own code.  The default heap goes
 * to default_fn (arena.S: the arena of the block, of the thread, or each
 * arena in turn); any other front falls through into locked_name, a hidden
 * name for the rest of the entry point (the locked path), which arena.S
 * calls on one arena.
 */
.macro DEFAULT_OR_LOCKED default_fn, locked_name
        cmpq    gl__default(%rip), %rdi
        je      \default_fn
        .globl  \locked_name
        .hidden \locked_name
\locked_name:
.endm

/*
 * BIAS_ENTER front, slot, tmp, other, revoked: the biased way into a front
 * (see LOCKED_FORWARD).  Falls through with `slot` = the bias's slot and its
 * SLOT_BUSY raised when the calling thread is the front's bias owner; goes
 * to `other`, having touched nothing, when the front is not biased or biased
 * to another thread, and to `revoked`, with SLOT_BUSY(slot) raised (to be
 * lowered), when the bias was taken away meanwhile.  Each bias has a slot of
 * its own, never reused, so a thread that lost the bias while it was
 * between the two reads of LK_OWNER below raises and lowers its old slot's
 * flag, never the flag of whoever holds the bias now (design.md,
 * Re-biasing).  slot and tmp are clobbered.
 */
.macro BIAS_ENTER front, slot, tmp, other, revoked
        movq    LK_OWNER(\front), \slot
        testq   \slot, \slot                    /* %fs:0 is read only on a biased */
        jz      \other                          /* heap: its owner had a thread pointer */
        movq    SLOT_TID(\slot), \tmp
        cmpq    %fs:0, \tmp                     /* this thread? (its TCB's self pointer) */
        jne     \other
        movl    $1, SLOT_BUSY(\slot)
        cmpq    \slot, LK_OWNER(\front)
        jne     \revoked
.endm

/*
 * LOCKED_FORWARD fn [, counting_fn]: the body of a public entry point called
 * on a front.  Runs fn(inner, same arguments) -- or counting_fn when given
 * and the owned heap counts cache hits -- and returns rax/rdx, either
 *   - biased: the calling thread is LK_OWNER.  It raises LK_BUSY with a plain
 *     store and reads LK_OWNER again; no atomic instruction.  x86 may let
 *     that load pass the store (the store buffer), so a thread that takes
 *     the bias away (gl__lock) clears LK_OWNER, then has membarrier() run a
 *     full fence on every CPU of the process before it reads LK_BUSY: the
 *     owner either sees LK_OWNER cleared or is seen busy.
 *   - locked: any other thread, under the spinlock LK_LOCK (gl__lock, which
 *     revokes the bias first).
 * The two exits release what their path took and nothing else.
 */
.macro LOCKED_FORWARD fn, counting_fn
        CFI_PUSH %rbx
        movq    %rdi, %rbx
        BIAS_ENTER %rdi, %rax, %r11, .Llf_locked\@, .Llf_revoked\@
        pushq   %rax                            /* the slot, to lower its flag after the call */
        .cfi_adjust_cfa_offset 8
        subq    $8, %rsp
        .cfi_adjust_cfa_offset 8
        movq    H_INNER(%rdi), %rdi
        CALL_INNER \fn, \counting_fn
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
        popq    %r11
        .cfi_adjust_cfa_offset -8
        movl    $0, SLOT_BUSY(%r11)
        .cfi_remember_state
        CFI_POP %rbx
        ret
        .cfi_restore_state
.Llf_revoked\@:
        movl    $0, SLOT_BUSY(%rax)
.Llf_locked\@:
        call    gl__lock
        movq    H_INNER(%rbx), %rdi
        CALL_INNER \fn, \counting_fn
        movl    $0, LK_LOCK(%rbx)               /* a plain store releases on x86 */
        CFI_POP %rbx
        ret
.endm

/*
 * LOCKED_MALLOC_FAST front, size, fail: the fast path of malloc on a locked
 * heap (gl__malloc_locked, and gl_malloc on the default heap).  For the
 * thread the heap is biased to, a small request pops its class's stack in
 * the owned heap, counted as a hit when that heap counts them, and returns
 * (ret) the block in rax: gl_heap_malloc's fast path and
 * gl__malloc_counting's pop inside the bias handshake, without the calls of
 * LOCKED_FORWARD.  Anything else goes to `fail` having changed nothing
 * (the slot's flag lowered), front and size intact.  Clobbers rax, rcx, r8,
 * r9, r10.
 */
.macro LOCKED_MALLOC_FAST front, size, fail
        cmpq    $SMALL_MAX_REQUEST, \size
        ja      \fail
        BIAS_ENTER \front, %r10, %rax, \fail, .Llmf_leave\@
        movq    H_INNER(\front), %r8
        CLASS_OF_REQUEST \size, %ecx, %rax      /* a counting heap's table is all class 0 */
        CACHE_POP %r8, %rcx, %r9, %rax, .Llmf_leave\@
        testl   $HF_COUNT_HITS, H_FLAGS(%r8)
        jz      .Llmf_counted\@
        incq    H_HITS(%r8)
.Llmf_counted\@:
        movl    $0, SLOT_BUSY(%r10)
        ret
.Llmf_leave\@:
        movl    $0, SLOT_BUSY(%r10)
        jmp     \fail
.endm

/*
 * LOCKED_FREE_FAST fail: the fast path of free on a locked heap
 * (gl__free_locked, and gl_free on the default heap).  r9 = front, rsi = p.
 * For the thread the heap is biased to, a pointer that passes gl_heap_free's
 * test (OWNED_BLOCK_TEST) and whose class's stack has room is pushed, and
 * it returns (ret) GL_OK in eax; anything else goes to `fail` having
 * changed nothing (the slot's flag lowered), r9 and rsi intact, for the
 * locked path to free or report.  Clobbers rax, rcx, rdx, rdi, r10.
 */
.macro LOCKED_FREE_FAST fail
        BIAS_ENTER %r9, %r10, %rax, \fail, .Llff_leave\@
        movq    H_INNER(%r9), %rdi
        OWNED_BLOCK_TEST .Llff_leave\@
        cmpq    $SMALL_MAX_CLASS, %rax
        ja      .Llff_leave\@
        movq    H_CTOP(%rdi,%rax,8), %rcx
        cmpq    H_CLIM(%rdi,%rax,8), %rcx
        jae     .Llff_leave\@                   /* full, or no cache */
        CACHE_PUSH %rdi, %rsi, %rax, %rcx
        movl    $0, SLOT_BUSY(%r10)
        xorl    %eax, %eax
        ret
.Llff_leave\@:
        movl    $0, SLOT_BUSY(%r10)
        jmp     \fail
.endm

/* out = range bin of block size `size` > SMALL_MAX_BLOCK (also the cache
 * class of a medium block).  Clobbers rcx. */
.macro RANGE_BIN_INDEX size, out
        bsrq    \size, %rcx
        subl    $RANGE_SL_SHIFT, %ecx
        movq    \size, \out
        shrq    %cl, \out
        andq    $3, \out
        leaq    RANGE_BIN0 - 4 * (RANGE_FL_MIN - RANGE_SL_SHIFT)(\out,%rcx,4), \out
.endm

/* out = bin of block size `size` (gl__bin_index, inline).  Clobbers rcx. */
.macro BIN_INDEX size, out
        cmpq    $SMALL_MAX_BLOCK, \size
        ja      .Lbi_range\@
        movq    \size, \out
        shrq    $4, \out
        jmp     .Lbi_done\@
.Lbi_range\@:
        RANGE_BIN_INDEX \size, \out
.Lbi_done\@:
.endm

/* A link read from a free block (rsi, kept) may be followed when it is a
 * bin sentinel or a header slot in one of the heap's segments
 * (gl__link_ok).  The two halves of the second test, for callers that
 * inline its common case:
 *   LINK_SLOT_OK fail: rsi is a header slot (8 mod 16) between the
 *     fenceposts of the segment it points into, else jump to fail;
 *   LINK_IN_SEGTAB heap, fail: rsi's segment is in the heap's fast table
 *     H_SEGTAB, else jump to fail (the full set may still know it).
 * Both clobber rax and rcx. */
#if (SEG_FIRST & 15) != 8
#error "LINK_SLOT_OK takes header slots for 0 mod 16 from SEG_FIRST"
#endif
.macro LINK_SLOT_OK fail
        movl    %esi, %ecx
        andl    $SEG_OFFSET_MASK, %ecx
        subl    $SEG_FIRST, %ecx
        cmpl    $SEG_END_FENCE - SEG_FIRST, %ecx
        jae     \fail
        testl   $15, %ecx
        jnz     \fail
.endm

.macro LINK_IN_SEGTAB heap, fail
        movq    %rsi, %rax
        shrq    $SEG_SHIFT, %rax
        movzbl  %al, %ecx
        btsq    $SEGTAB_ALIGN_BIT, %rax
        cmpq    %rax, H_SEGTAB(\heap,%rcx,8)
        jne     \fail
.endm

/* ZF set when the header word w, found at address addr, carries its tag.
 * tmp and tmp2 are clobbered. */
.macro TAG_OK heap, addr, w, tmp, tmp2
        movq    \w, \tmp2
        shrq    $HDR_CLASS_SHIFT, \tmp2        /* size / 16 in the low bits */
        leaq    8(\addr), \tmp
        xorq    \w, \tmp                    /* tag ^ user pointer */
        addq    \tmp2, \tmp                 /* + size/16 */
        subq    H_KEY(\heap), \tmp          /* == key (mod 2^16)? */
        testq   $HDR_TAG_MASK, \tmp
.endm

/* dst = the address of the block-start word (SEG_STARTS) that holds the
 * bit of user pointer p, which is bit (p >> 4) mod 64 of it.  p is a
 * register, kept; its header p - 8 must be in a segment of the heap (the
 * segment is the header's: a p at the very end of a segment, behind its
 * end fencepost, gets bit 0 of the segment's own bitmap, which is never
 * set).  tmp is clobbered. */
.macro STARTS_WORD p, dst, tmp
        movq    \p, \tmp
        shrq    $7, \tmp
        andq    $SEG_STARTS_WORD_MASK, \tmp
        leaq    -8(\p), \dst
        andq    $-SEG_SIZE, \dst
        leaq    SEG_STARTS(\dst,\tmp), \dst
.endm

/* CF set when user pointer p (a register, kept) is a block start.  t1 and
 * t2 are clobbered. */
.macro STARTS_TEST p, t1, t2
        STARTS_WORD \p, \t1, \t2
        movq    (\t1), \t1
        movq    \p, \t2
        shrq    $4, \t2
        btq     \t2, \t1
.endm

/* op = btsq: the block whose header is at hdr (a register, kept) starts
 * there from now on; op = btrq: it no longer does (absorbed by a merge).
 * t1, t2, t3 are clobbered.  MARK_START does the btsq keeping every
 * register. */
.macro STARTS_UPDATE op, hdr, t1, t2, t3
        leaq    8(\hdr), \t3
        STARTS_WORD \t3, \t1, \t2
        shrq    $4, \t3
        movq    (\t1), \t2
        \op     \t3, \t2
        movq    \t2, (\t1)
.endm

/* MARK_START hdr: STARTS_UPDATE btsq through a call (gl__mark_start), from
 * code whose registers are all taken.  Flags are clobbered, nothing else. */
.macro MARK_START hdr
        pushq   \hdr
        .cfi_adjust_cfa_offset 8
        call    gl__mark_start
        addq    $8, %rsp
        .cfi_adjust_cfa_offset -8
.endm

/* the neighbours of a node of a doubly linked list whose first node is in
 * memory at head (next/prev: the link offsets) point at new nodes: left's
 * next (or head, when left is 0) becomes to_right, right's prev (when right
 * is not 0) becomes to_left.  Unlinking a node is left = its prev, right =
 * its next, to_right = right, to_left = left; a node that moved is
 * to_right = to_left = its new address.  Changes no register. */
.macro LIST_REPOINT head, next, prev, left, right, to_left, to_right
        testq   \left, \left
        jz      .Llr_first\@
        movq    \to_right, \next(\left)
        jmp     .Llr_right\@
.Llr_first\@:
        movq    \to_right, \head
.Llr_right\@:
        testq   \right, \right
        jz      .Llr_done\@
        movq    \to_left, \prev(\right)
.Llr_done\@:
.endm

/* push node on the front of a doubly linked list whose first node is in
 * memory at head; next/prev are the node's link offsets.  Clobbers tmp. */
.macro LIST_PUSH_FRONT head, node, next, prev, tmp
        movq    \head, \tmp
        movq    \tmp, \next(\node)
        movq    $0, \prev(\node)
        testq   \tmp, \tmp
        jz      .Llpf_empty\@
        movq    \node, \prev(\tmp)
.Llpf_empty\@:
        movq    \node, \head
.endm

/* dst (32-bit) = the class of a small request of `size` bytes (a 64-bit
 * register, <= SMALL_MAX_REQUEST), from gl__class_of_request (malloc.S),
 * of which every heap's H_CLASS_OF is a copy: for the paths that cannot use
 * the copy (a heap that counts hits has a table of zeros).  tmp (64-bit) is
 * clobbered. */
.macro CLASS_OF_REQUEST size, dst, tmp
        leaq    gl__class_of_request(%rip), \tmp
        movzbl  (\tmp,\size), \dst
.endm

/* pop the most recently cached block of `class` into dst (its user pointer)
 * and clear its CACHED mark, or jump to `empty` when the stack is (top is
 * clobbered either way).  The one pop of the cache: the malloc fast path and
 * the slow path of a heap that counts hits. */
.macro CACHE_POP heap, class, top, dst, empty
        movq    H_CTOP(\heap,\class,8), \top
        cmpq    H_CBASE(\heap,\class,8), \top
        je      \empty
        movq    -8(\top), \dst
        subq    $8, \top
        movq    \top, H_CTOP(\heap,\class,8)
        btrq    $HDR_CACHED_BIT, -8(\dst)      /* whole-word RMW: the next load of the header forwards */
.endm

/* push user pointer p on the cache stack of its class, whose top slot
 * (H_CTOP, checked below H_CLIM by the caller) is in register slot; marks
 * p's header CACHED.  Clobbers slot. */
.macro CACHE_PUSH heap, p, class, slot
        movq    \p, (\slot)
        addq    $8, \slot
        movq    \slot, H_CTOP(\heap,\class,8)
        btsq    $HDR_CACHED_BIT, -8(\p)
.endm

/* The test the free fast path makes of a user pointer (gl_heap_free,
 * gl_heap_realloc): p is 16-aligned and in a segment of this heap by the
 * direct-mapped table H_SEGTAB (one compare decides both, through
 * (header ror 4) >> (SEG_SHIFT - 4)), a block starts at p by the segment's
 * bitmap, and the header's tag matches p -- in that order, so nothing
 * behind p is read before the table vouched for its segment.  Fixed
 * registers: rdi = owned heap, rsi = p (kept).  Out: rax = header >> 20
 * (the class of an in-use small block, its size / 16; above SMALL_MAX_CLASS
 * for a larger or flagged one).  Clobbers rcx, rdx.  Jumps to
 * `fail` with rdi and rsi untouched when any test fails. */
.macro OWNED_BLOCK_TEST fail
        leaq    -8(%rsi), %rdx                  /* header address */
        rorq    $4, %rdx
        /* the rotation's low bits are (p - 8) >> 4, so this is p >> 4
         * (mod 2^32) for a 16-aligned p -- the only kind the table lets
         * through: one instruction fewer than a copy of p and a shift,
         * and pairs ran 4 % faster for it (make -C benches ab) */
        leal    1(%rdx), %ecx
        shrq    $SEG_SHIFT - 4, %rdx            /* segment number | aligned bit */
        movzbl  %dl, %eax
        cmpq    %rdx, H_SEGTAB(%rdi,%rax,8)
        jne     \fail
        /* STARTS_TEST, shorter: the segment number shifted back is the
         * segment (the aligned bit falls off the top) */
        shlq    $SEG_SHIFT, %rdx                /* the header's segment */
        movl    %ecx, %eax                      /* p's bit: rcx mod 64 ... */
        shrl    $3, %eax
        andl    $SEG_STARTS_WORD_MASK, %eax     /* ... of this word */
        movq    SEG_STARTS(%rdx,%rax), %rax
        btq     %rcx, %rax
        jnc     \fail                           /* no block starts at p */
        movq    -8(%rsi), %rdx                  /* header */
        movq    %rdx, %rax
        shrq    $HDR_CLASS_SHIFT, %rax          /* class, or huge if flagged */
        xorw    %si, %dx                        /* (tag ^ pointer) + size/16 ... */
        addw    %ax, %dx
        cmpw    H_KEY(%rdi), %dx                /* ... must be the key */
        jne     \fail
.endm

/* Memory below `addr` may now hold data: move the top's clean mark (the
 * address from which top memory is known to be untouched, -1 for none) up
 * to it.  addr is a register; it is left unchanged. */
.macro RAISE_CLEAN heap, addr
        cmpq    H_TOP_CLEAN(\heap), \addr
        jbe     .Lrc_done\@
        cmpq    $-1, H_TOP_CLEAN(\heap)
        je      .Lrc_done\@
        movq    \addr, H_TOP_CLEAN(\heap)
.Lrc_done\@:
.endm

/* counter += value, and its peak follows: value (a register) ends holding
 * the new count.  counter and peak are memory operands. */
.macro ADD_RAISING_PEAK counter, peak, value
        addq    \counter, \value
        movq    \value, \counter
        cmpq    \peak, \value
        jbe     .Larp_kept\@
        movq    \value, \peak
.Larp_kept\@:
.endm

/* A block of `size` bytes (a register) leaves the free bytes and becomes
 * live: free, live and peak bytes, live blocks (not the class count).
 * tmp is clobbered. */
.macro ACCOUNT_ALLOC heap, size, tmp
        subq    \size, H_FREE_BYTES(\heap)
        leaq    -8(\size), \tmp
        ADD_RAISING_PEAK H_LIVE_BYTES(\heap), H_PEAK_LIVE(\heap), \tmp
        incq    H_LIVE_BLOCKS(\heap)
.endm

/* PREFAULT_TOP heap, addr: the top segment's bytes below addr are about to
 * be written for the first time; when addr passes the populated mark, the
 * window holding addr - 1 is populated in one system call
 * (gl__top_prefault) instead of taking a page fault per page.  Flags are
 * clobbered; every register is kept. */
.macro PREFAULT_TOP heap, addr
        cmpq    H_TOP_READY(\heap), \addr
        jbe     .Lpf_done\@
        pushq   \heap
        .cfi_adjust_cfa_offset 8
        pushq   \addr
        .cfi_adjust_cfa_offset 8
        call    gl__top_prefault
        addq    $16, %rsp
        .cfi_adjust_cfa_offset -16
.Lpf_done\@:
.endm

/* dst = block size of header word w (flags and tag dropped) */
.macro HSIZE w, dst
        movq    \w, \dst
        shlq    $4, \dst
        shrq    $24, \dst
        shlq    $4, \dst
.endm

/* dst = header word for a block at addr of size (flags left clear);
 * tmp is clobbered; heap holds the (owned) heap. */
.macro MKHDR heap, addr, size, dst, tmp
        movq    H_KEY(\heap), \tmp
        movq    \size, \dst
        shrq    $4, \dst
        subq    \dst, \tmp                  /* key - size/16 ... */
        leaq    8(\addr), \dst
        xorq    \dst, \tmp                  /* ... ^ user pointer */
        andq    $HDR_TAG_MASK, \tmp
        movq    \size, \dst
        shlq    $HDR_SIZE_SHIFT, \dst
        orq     \tmp, \dst
.endm

#endif /* __ASSEMBLER__ */
#endif /* GL_LAYOUT_H */
