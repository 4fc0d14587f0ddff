package dev.glimmer;

import static dev.glimmer.TestMemory.hex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random malloc/calloc/realloc/aligned/free sequences checked against a Java model of the
 * live blocks.
 *
 * <p>Every block is filled with a pattern derived from (its address, a serial number) and
 * verified before it is freed or reallocated (realloc must keep the prefix); calloc memory
 * must read zero; new blocks must not overlap live ones, must be aligned, and their usable
 * size must cover the request. Every {@value #CHECK_EVERY} operations the heap is checked
 * and its live block and byte counts compared with the model.
 *
 * <p>Sizes mix the seed's and interpreters' distributions: mostly 8..64 bytes, some up to
 * 256, a few up to 4 KiB and 64 KiB, rare ones up to 2 MiB (past the 1 MiB large-block
 * threshold), and a few under 8. The live set grows and shrinks in phases.
 *
 * <p>Reproducible: {@code -Dglimmer.seed=S} fixes the seed (printed on failure),
 * {@code -Dglimmer.ops=N} the number of operations of the first configuration (default
 * 10^6; the others run a quarter of it).
 */
class DifferentialTest {

    static final int CHECK_EVERY = 4096;
    static final long MAX_RARE = 2L << 20;

    static Stream<Arguments> configurations() {
        int ops = Integer.getInteger("glimmer.ops", 1_000_000);
        Supplier<GlimmerHeap> confined = GlimmerHeap::ofConfined;
        Supplier<GlimmerHeap> shared = GlimmerHeap::ofShared;
        Supplier<GlimmerHeap> noCacheDepth1 = () -> GlimmerHeap.builder().disableCache().maxSearchDepth(1).build();
        Supplier<GlimmerHeap> smallCache = () -> GlimmerHeap.builder().cacheLimit(2).maxSearchDepth(64).build();
        return Stream.of(
                Arguments.of("confined, default options", confined, ops),
                Arguments.of("shared (locked)", shared, Math.max(1, ops / 4)),
                Arguments.of("no cache, search depth 1", noCacheDepth1, Math.max(1, ops / 4)),
                Arguments.of("cache limit 2, search depth 64", smallCache, Math.max(1, ops / 4)));
    }

    @ParameterizedTest(name = "{0}, {2} operations")
    @MethodSource("configurations")
    void randomOperationsAgreeWithAModelOfTheLiveBlocks(String name, Supplier<GlimmerHeap> make, int ops) {
        long seed = TestMemory.seed();
        try (GlimmerHeap heap = make.get()) {
            new Run(heap, new SplittableRandom(seed), ops).run(name, seed);
        }
    }

    /** One run: the heap, the model and the random stream. */
    static final class Run {
        private final GlimmerHeap heap;
        private final SplittableRandom random;
        private final int ops;

        // the model: live blocks in parallel arrays (swap-remove), and by address for overlap checks
        private long[] addr = new long[1024];
        private long[] size = new long[1024];
        private long[] key = new long[1024];
        private long[] usable = new long[1024];
        private int live;
        private long liveUsable;
        private final TreeMap<Long, Long> byAddress = new TreeMap<>();
        private long serial;

        // the last operations, for the failure message
        private final String[] recentFormat = new String[24];
        private final long[][] recentArgs = new long[24][];
        private final int[] recentOp = new int[24];
        private int recentNext;
        private int op;

        Run(GlimmerHeap heap, SplittableRandom random, int ops) {
            this.heap = heap;
            this.random = random;
            this.ops = ops;
        }

        void run(String name, long seed) {
            try {
                int target = 1024;
                for (op = 0; op < ops; op++) {
                    if (op % 100_000 == 0) {
                        target = new int[] {64, 1024, 8192, 30_000}[random.nextInt(4)];
                    }
                    boolean allocate = live == 0 || random.nextInt(100) < (live < target ? 60 : 40);
                    if (allocate) {
                        int kind = random.nextInt(100);
                        if (kind < 60) {
                            doMalloc();
                        } else if (kind < 80) {
                            doCalloc();
                        } else if (kind < 95) {
                            doAligned();
                        } else {
                            doReallocOfNull();
                        }
                    } else {
                        int kind = random.nextInt(100);
                        if (kind < 72) {
                            doFree();
                        } else if (kind < 99) {
                            doRealloc();
                        } else {
                            doFreeNull();
                        }
                    }
                    if (op % CHECK_EVERY == CHECK_EVERY - 1) {
                        verifyHeap();
                    }
                }
                while (live > 0) {
                    doFree();
                }
                verifyHeap();
                HeapStats s = heap.stats();
                expect(s.liveBytes() == 0, "all freed, yet stats say " + s);
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(name + ", " + TestMemory.reproduce(seed) + ", at operation " + op
                        + " of " + ops + ": " + e.getMessage() + "\nlast operations (oldest first):\n"
                        + recentOps(), e);
            }
        }

        // ---- sizes --------------------------------------------------------------------

        long drawSize() {
            int u = random.nextInt(10_000);
            if (u < 100) {
                return random.nextInt(0, 8);
            }
            if (u < 7_000) {
                return random.nextInt(8, 65);
            }
            if (u < 9_400) {
                return random.nextInt(65, 257);
            }
            if (u < 9_890) {
                return random.nextInt(257, 4097);
            }
            if (u < 9_995) {
                return random.nextInt(4097, 65_537);
            }
            return random.nextLong(65_537, MAX_RARE + 1);
        }

        // ---- operations ---------------------------------------------------------------

        void doMalloc() {
            long s = drawSize();
            long p = heap.malloc(s);
            log("malloc(%d) = 0x%x", s, p);
            adopt(p, s, 16);
        }

        void doCalloc() {
            long total = drawSize();
            long n = random.nextInt(1, 5);
            long each = total / n;
            long p = heap.calloc(n, each);
            log("calloc(%d, %d) = 0x%x", n, each, p);
            long bytes = n * each;
            long nz = TestMemory.firstNonZero(p, bytes);
            expect(nz < 0, "calloc(" + n + ", " + each + ") = " + hex(p) + " is not zero at offset " + nz);
            adopt(p, bytes, 16);
        }

        void doAligned() {
            long alignment = random.nextInt(50) == 0 ? 1L << random.nextInt(13, 17) : 1L << random.nextInt(4, 13);
            long s = drawSize();
            long p = heap.alignedAlloc(alignment, s);
            log("alignedAlloc(%d, %d) = 0x%x", alignment, s, p);
            adopt(p, s, alignment);
        }

        void doReallocOfNull() {
            long s = drawSize();
            long p = heap.realloc(0, s);
            log("realloc(0, %d) = 0x%x", s, p);
            adopt(p, s, 16);
        }

        void doFree() {
            int i = random.nextInt(live);
            long p = addr[i];
            verifyBlock(i, size[i], "before free");
            heap.free(p);
            log("free(0x%x) [%d bytes]", p, size[i]);
            forget(i);
        }

        void doFreeNull() {
            heap.free(0);
            log("free(0)");
        }

        void doRealloc() {
            int i = random.nextInt(live);
            long p = addr[i];
            long old = size[i];
            long oldKey = key[i];
            int how = random.nextInt(100);
            long s = how < 40 ? Math.max(0, old + random.nextInt(-64, 129))   // small grow/shrink: in place?
                    : how < 42 ? 0 : drawSize();
            verifyBlock(i, old, "before realloc");
            forget(i);
            long q = heap.realloc(p, s);
            log("realloc(0x%x [%d bytes], %d) = 0x%x", p, old, s, q);
            long keep = Math.min(old, s);
            long bad = TestMemory.firstMismatch(q, keep, oldKey);
            expect(bad < 0, "realloc(" + hex(p) + ", " + s + ") = " + hex(q) + " lost the old contents at offset "
                    + bad + " of the " + keep + " bytes it must keep");
            adopt(q, s, 16);
        }

        // ---- the model ------------------------------------------------------------------

        /** Records a new block after checking it against the live ones, and fills it. */
        void adopt(long p, long s, long alignment) {
            expect(p != 0, "a successful allocation returned 0");
            expect(p % Math.max(16, alignment) == 0, hex(p) + " is not aligned to " + Math.max(16, alignment));
            long u = heap.usableSize(p);
            expect(u >= s, "usableSize(" + hex(p) + ") = " + u + " is less than the " + s + " bytes requested");
            long len = Math.max(1, s);
            Map.Entry<Long, Long> below = byAddress.floorEntry(p);
            if (below != null) {
                expect(below.getKey() + below.getValue() <= p, hex(p) + " (" + s + " bytes) overlaps the live block "
                        + hex(below.getKey()) + " (" + below.getValue() + " bytes)");
            }
            Map.Entry<Long, Long> above = byAddress.ceilingEntry(p);
            if (above != null) {
                expect(p + len <= above.getKey(), hex(p) + " (" + s + " bytes) overlaps the live block "
                        + hex(above.getKey()) + " (" + above.getValue() + " bytes)");
            }
            if (live == addr.length) {
                int cap = live * 2;
                addr = java.util.Arrays.copyOf(addr, cap);
                size = java.util.Arrays.copyOf(size, cap);
                key = java.util.Arrays.copyOf(key, cap);
                usable = java.util.Arrays.copyOf(usable, cap);
            }
            long k = p * 31 + ++serial;
            addr[live] = p;
            size[live] = s;
            key[live] = k;
            usable[live] = u;
            live++;
            liveUsable += u;
            byAddress.put(p, len);
            TestMemory.fill(p, s, k);
        }

        void forget(int i) {
            byAddress.remove(addr[i]);
            liveUsable -= usable[i];
            live--;
            addr[i] = addr[live];
            size[i] = size[live];
            key[i] = key[live];
            usable[i] = usable[live];
        }

        void verifyBlock(int i, long s, String when) {
            long bad = TestMemory.firstMismatch(addr[i], s, key[i]);
            expect(bad < 0, "the block " + hex(addr[i]) + " (" + s + " bytes) was overwritten at offset " + bad
                    + ", found " + when);
        }

        void verifyHeap() {
            heap.check();
            HeapStats s = heap.stats();
            expect(s.liveBlocks() == live, "stats().liveBlocks() = " + s.liveBlocks() + " but the model has "
                    + live + " live blocks; " + s);
            expect(s.liveBytes() == liveUsable, "stats().liveBytes() = " + s.liveBytes()
                    + " but the live blocks' usable sizes add up to " + liveUsable + "; " + s);
            expect(s.totalErrors() == 0, "no misuse happened, yet errors were counted: " + s);
        }

        // ---- reporting ------------------------------------------------------------------

        /** Records an operation; formatted only when a failure is reported. */
        private void log(String format, long... args) {
            recentFormat[recentNext] = format;
            recentArgs[recentNext] = args;
            recentOp[recentNext] = op;
            recentNext = (recentNext + 1) % recentFormat.length;
        }

        private String recentOps() {
            List<String> out = new ArrayList<>();
            for (int k = 0; k < recentFormat.length; k++) {
                int at = (recentNext + k) % recentFormat.length;
                if (recentFormat[at] != null) {
                    Object[] args = java.util.Arrays.stream(recentArgs[at]).boxed().toArray();
                    out.add("  #" + recentOp[at] + " " + String.format(recentFormat[at], args));
                }
            }
            return String.join("\n", out);
        }

        private static void expect(boolean condition, String message) {
            if (!condition) {
                throw new AssertionError(message);
            }
        }
    }
}
