package dev.glimmer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.ThreadLocalRandom;

/** Raw memory access, patterns and glibc for the tests. */
@SuppressWarnings("restricted")
final class TestMemory {

    /** All of memory: raw addresses are offsets into it. */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    static final long KiB = 1024;
    static final long MiB = 1024 * KiB;
    static final long GiB = 1024 * MiB;
    static final long SEGMENT = 2 * MiB;        // gl_layout.h SEG_SIZE
    /** A segment's first block's user pointer, from the segment: gl_layout.h SEG_FIRST + 8. */
    static final long FIRST_BLOCK = 16480;
    static final long PAGE = 4096;

    private static final MethodHandle MALLOC;
    private static final MethodHandle FREE;
    private static final MethodHandle MSYNC;
    private static final MethodHandle SYSCALL3;

    static {
        Linker linker = Linker.nativeLinker();
        MALLOC = linker.downcallHandle(linker.defaultLookup().find("malloc").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        FREE = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(),
                FunctionDescriptor.ofVoid(JAVA_LONG));
        MSYNC = linker.downcallHandle(linker.defaultLookup().find("msync").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
        SYSCALL3 = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    /**
     * Whether this kernel fences every thread of a process on request (membarrier
     * PRIVATE_EXPEDITED, Linux 4.14; not WSL1): shared heaps are biased to their creator only
     * then. Asks membarrier(MEMBARRIER_CMD_QUERY) itself, not the library.
     */
    static boolean membarrierExpedited() {
        try {
            long commands = (long) SYSCALL3.invokeExact(324L /* SYS_membarrier */, 0L, 0L, 0L);
            return commands > 0 && (commands & 8 /* PRIVATE_EXPEDITED */) != 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Whether the page holding {@code address} is mapped in this process: msync(MS_ASYNC) of
     * that page fails (ENOMEM) exactly when it is not. Reads nothing at the address.
     */
    static boolean isMapped(long address) {
        try {
            return (int) MSYNC.invokeExact(address & ~(PAGE - 1), PAGE, 1) == 0;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private TestMemory() {
    }

    /** glibc's malloc, for foreign pointers. */
    static long glibcMalloc(long size) {
        try {
            return (long) MALLOC.invokeExact(size);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void glibcFree(long p) {
        try {
            FREE.invokeExact(p);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The block size the heap uses for a request: size + 8-byte header, rounded to 16, at least 32. */
    static long blockSize(long request) {
        return Math.max(32, (request + 8 + 15) & ~15L);
    }

    static String hex(long a) {
        return "0x" + Long.toHexString(a);
    }

    // ---- patterns -----------------------------------------------------------------------

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    /** The pattern word k of a block with key {@code key}. */
    private static long word(long key, long k) {
        return mix(key + k * 0x9E3779B97F4A7C15L);
    }

    /** Fills {@code size} bytes at {@code p} with the pattern of {@code key}. */
    static void fill(long p, long size, long key) {
        long words = size >>> 3;
        for (long k = 0; k < words; k++) {
            ALL.set(JAVA_LONG, p + (k << 3), word(key, k));
        }
        if ((size & 7) != 0) {
            long w = word(key, words);
            for (long i = words << 3; i < size; i++) {
                ALL.set(JAVA_BYTE, p + i, (byte) (w >>> ((i & 7) << 3)));
            }
        }
    }

    /**
     * The offset of the first byte among the first {@code size} bytes at {@code p} that differs
     * from the pattern of {@code key}, or -1 when all match.
     */
    static long firstMismatch(long p, long size, long key) {
        long words = size >>> 3;
        for (long k = 0; k < words; k++) {
            long expect = word(key, k);
            long got = ALL.get(JAVA_LONG, p + (k << 3));
            if (got != expect) {
                return (k << 3) + (Long.numberOfTrailingZeros(got ^ expect) >>> 3);
            }
        }
        long w = word(key, words);
        for (long i = words << 3; i < size; i++) {
            if (ALL.get(JAVA_BYTE, p + i) != (byte) (w >>> ((i & 7) << 3))) {
                return i;
            }
        }
        return -1;
    }

    /** The offset of the first non-zero byte among {@code size} bytes at {@code p}, or -1. */
    static long firstNonZero(long p, long size) {
        long words = size >>> 3;
        for (long k = 0; k < words; k++) {
            if (ALL.get(JAVA_LONG, p + (k << 3)) != 0) {
                long i = k << 3;
                while (ALL.get(JAVA_BYTE, p + i) == 0) {
                    i++;
                }
                return i;
            }
        }
        for (long i = words << 3; i < size; i++) {
            if (ALL.get(JAVA_BYTE, p + i) != 0) {
                return i;
            }
        }
        return -1;
    }

    /** Writes then reads back the first and last byte of every page of [p, p+size). */
    static void touchEveryPage(long p, long size) {
        for (long off = 0; off < size; off += PAGE) {
            long last = Math.min(off + PAGE, size) - 1;
            ALL.set(JAVA_BYTE, p + off, (byte) 0x5a);
            ALL.set(JAVA_BYTE, p + last, (byte) 0xa5);
        }
        for (long off = 0; off < size; off += PAGE) {
            long last = Math.min(off + PAGE, size) - 1;
            if (ALL.get(JAVA_BYTE, p + off) != (byte) 0x5a || ALL.get(JAVA_BYTE, p + last) != (byte) 0xa5) {
                throw new AssertionError("page at offset " + off + " of block " + hex(p) + " lost a write");
            }
        }
    }

    // ---- block starts (white-box: SEG_STARTS of src/main/asm/gl_layout.h) -----------------

    /** Offset of a segment's bitmap of block starts: one bit per 16 bytes of the segment. */
    static final long STARTS = 64;

    /** The address of the byte holding the block-start bit of user pointer {@code p}. */
    static long startByte(long p) {
        long segment = (p - 8) & ~(SEGMENT - 1);
        return segment + STARTS + ((p - segment) >>> 7);
    }

    /** The mask of {@code p}'s bit in {@link #startByte}. */
    static byte startMask(long p) {
        return (byte) (1 << ((p >>> 4) & 7));
    }

    /** Whether the heap has {@code p} for a block start. */
    static boolean isStart(long p) {
        return (ALL.get(JAVA_BYTE, startByte(p)) & startMask(p)) != 0;
    }

    /** Flips {@code p}'s block-start bit: damage only a stray write into the bitmap could do. */
    static void flipStart(long p) {
        ALL.set(JAVA_BYTE, startByte(p), (byte) (ALL.get(JAVA_BYTE, startByte(p)) ^ startMask(p)));
    }

    // ---- header tags (white-box: the formula of src/main/asm/gl_layout.h) -----------------

    /*
     * A header word w in front of user pointer p carries a valid tag when
     * ((p ^ w) + (w >>> 20) - key) & 0xffff == 0, key being the heap's secret: what free checks
     * first. Tests that need data which passes that check by construction (as random data does
     * once in 65536 words) learn the key's low 16 bits from a real block's header, and check the
     * formula against other real blocks first (tagFormulaHolds): if it changed, they skip.
     */

    /** The low 16 bits of the tag key, learned from the header of the live block at {@code p}. */
    static long tagKey(long p) {
        long w = ALL.get(JAVA_LONG, p - 8);
        return ((w ^ p) + (w >>> 20)) & 0xffff;
    }

    /** Whether every live block given yields the same key: the formula above is the heap's. */
    static boolean tagFormulaHolds(long... livePointers) {
        long key = tagKey(livePointers[0]);
        for (long p : livePointers) {
            if (tagKey(p) != key) {
                return false;
            }
        }
        return true;
    }

    /** Whether the word w, in front of pointer p, passes the tag check of a heap with {@code key}. */
    static boolean tagValid(long key, long p, long w) {
        return (((p ^ w) + (w >>> 20) - key) & 0xffff) == 0;
    }

    /** The word w with its tag bits set so that, in front of pointer p, it passes the tag check. */
    static long withTag(long key, long p, long w) {
        w &= ~0xffffL;
        return w | (((key - (w >>> 20)) ^ p) & 0xffff);
    }

    // ---- seeds --------------------------------------------------------------------------

    /** The seed of a randomized test: -Dglimmer.seed, else a fresh random one. */
    static long seed() {
        Long fixed = Long.getLong("glimmer.seed");
        return fixed != null ? fixed : ThreadLocalRandom.current().nextLong();
    }

    /** How to reproduce a randomized test, for failure messages. */
    static String reproduce(long seed) {
        return "seed " + seed + " (rerun with -Dglimmer.seed=" + seed + ")";
    }
}
