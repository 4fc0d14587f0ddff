package dev.glimmer;

import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.blockSize;
import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Regressions of Glimmer-Weave's coalescing bugs. */
class CoalescingTest {

    /** How a test gets its freed blocks out of the recently-freed cache and into the coalescer. */
    static Stream<Arguments> flushes() {
        Supplier<GlimmerHeap> cached = GlimmerHeap::ofConfined;
        Supplier<GlimmerHeap> uncached = () -> GlimmerHeap.builder().disableCache().build();
        Consumer<GlimmerHeap> check = GlimmerHeap::check;
        Consumer<GlimmerHeap> trim = GlimmerHeap::trim;
        Consumer<GlimmerHeap> nothing = h -> { };
        return Stream.of(
                Arguments.of("no cache", uncached, nothing),
                Arguments.of("cache flushed by check()", cached, check),
                Arguments.of("cache flushed by trim()", cached, trim));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("flushes")
    void threeAdjacentBlocksFreedInTheOrder213BecomeOneFreeBlock(
            String how, Supplier<GlimmerHeap> make, Consumer<GlimmerHeap> flush) {
        try (GlimmerHeap heap = make.get()) {
            // five 64-byte requests: 80-byte blocks (8-byte header, rounded to 16), one after another;
            // the outer two are guards so the middle three cannot merge with anything else
            long[] p = new long[5];
            for (int i = 0; i < 5; i++) {
                p[i] = heap.malloc(64);
            }
            Arrays.sort(p);
            List<BlockInfo> walk = heap.blocks();
            for (int i = 0; i < 5; i++) {
                long a = p[i];
                BlockInfo b = walk.stream().filter(x -> x.address() == a).findFirst().orElseThrow();
                assertEquals(new BlockInfo(a, 80, BlockInfo.State.USED), b);
                if (i > 0) {
                    assertEquals(hex(p[i - 1] + 80), hex(p[i]), "blocks must be adjacent: " + walk);
                }
            }
            long first = p[1];
            long second = p[2];
            long third = p[3];

            heap.free(second);
            heap.free(first);
            heap.free(third);
            flush.accept(heap);

            List<BlockInfo> after = heap.blocks();
            assertTrue(after.contains(new BlockInfo(first, 240, BlockInfo.State.FREE)),
                    "one free block of 3 * 80 bytes at " + hex(first) + " expected in " + after);
            assertTrue(after.stream().noneMatch(b -> b.address() == second || b.address() == third),
                    "no block may start inside the merged one: " + after);
            heap.check();
            assertEquals(hex(first), hex(heap.malloc(192)), "malloc(192) needs 208 bytes: the merged block");
            heap.check();
        }
    }

    /**
     * The power-of-two sweep. For each i < 27: allocate four blocks of 2^i bytes, free them,
     * then allocate one block as large as all that was freed, 4 * 2^i bytes.
     *
     * <p>Interpretation of "must not grow the footprint": the footprint right after the big
     * allocation must not exceed the peak footprint seen before it (stats().peakFootprint()
     * read just before the big malloc), i.e. the freed memory was reused or given back, never
     * kept beside a new mapping. Where the four blocks and the big one live in the same kind of
     * memory this is demanded as is: below 1 MiB the four freed blocks coalesce (the cache is
     * flushed with check(), as the heap does itself before it grows) and the big block is carved
     * from exactly that space; from 1 MiB on every block is its own mapping and free unmaps it.
     * Where the four blocks sit in a segment but the big request (>= 1 MiB) needs a mapping of
     * its own (i = 18, 19), memory in a segment can only be reused by a large block after it
     * went back to the OS, so the test calls trim() first, as a program would between phases.
     */
    @Test
    void aPowerOfTwoSweepNeverGrowsTheFootprintBeyondItsPeak() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            for (int i = 0; i < 27; i++) {
                long size = 1L << i;
                long[] p = new long[4];
                for (int k = 0; k < 4; k++) {
                    p[k] = heap.malloc(size);
                }
                Arrays.sort(p);
                for (long q : p) {
                    heap.free(q);
                }
                heap.check();    // flushes the cache and verifies the coalescing
                long big = 4 * size;
                boolean blocksInSegment = size < MiB;
                boolean bigInSegment = big < MiB;
                if (blocksInSegment && !bigInSegment) {
                    heap.trim();
                }
                HeapStats before = heap.stats();
                long peak = before.peakFootprint();
                long q = heap.malloc(big);
                HeapStats s = heap.stats();
                assertTrue(s.footprint() <= peak, "i=" + i + ": malloc(" + big + ") grew the footprint to "
                        + s.footprint() + " beyond the peak " + peak + " seen before it: " + s);
                if (bigInSegment) {
                    // (the peak also counts the transient over-mapping that aligns a new segment, so
                    // "no new segment" is asserted directly as well)
                    assertEquals(before.segments(), s.segments(), "i=" + i + ": malloc(" + big
                            + ") mapped a new segment instead of reusing the freed blocks: " + s);
                    long start = p[0];
                    long end = p[3] - 8 + blockSize(size);
                    assertTrue(q >= start && q - 8 + blockSize(big) <= end, "i=" + i + ": malloc(" + big
                            + ") = " + hex(q) + " must reuse the coalesced blocks at " + hex(start) + ".." + hex(end));
                }
                heap.free(q);
                heap.check();
            }
        }
    }

    @ParameterizedTest(name = "freed {0} bytes, then asked for a little more")
    @ValueSource(longs = {1100, 5000, 70_000, 300_000, 900_000, 2 * MiB, 50 * MiB})
    void aRequestSlightlyLargerThanAFreedBlockGetsEnoughRoom(long size) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(size);
            long guard = heap.malloc(64);
            TestMemory.fill(guard, 64, 7);
            heap.free(p);
            heap.check();
            long larger = size + 16;
            long q = heap.malloc(larger);
            assertTrue(heap.usableSize(q) >= larger,
                    "usableSize(" + hex(q) + ") = " + heap.usableSize(q) + " < the " + larger + " requested");
            TestMemory.fill(q, larger, 9);   // every requested byte is ours to write...
            assertEquals(-1, TestMemory.firstMismatch(guard, 64, 7), "...without reaching the guard block");
            assertEquals(-1, TestMemory.firstMismatch(q, larger, 9));
            heap.free(q);
            heap.free(guard);
            heap.check();
        }
    }

    @Test
    void freeingEveryOtherBlockThenTheRestLeavesNoTwoAdjacentFreeBlocks() {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long[] p = new long[1000];
            for (int i = 0; i < p.length; i++) {
                p[i] = heap.malloc(24 + 16 * (i % 40));
            }
            for (int i = 0; i < p.length; i += 2) {
                heap.free(p[i]);
            }
            heap.check();
            for (int i = 1; i < p.length; i += 2) {
                heap.free(p[i]);
            }
            heap.check();
            List<BlockInfo> walk = heap.blocks();
            for (int i = 1; i < walk.size(); i++) {
                BlockInfo a = walk.get(i - 1);
                BlockInfo b = walk.get(i);
                boolean adjacent = a.address() + a.size() == b.address();
                assertFalse(adjacent && a.state() == BlockInfo.State.FREE && b.state() == BlockInfo.State.FREE,
                        "adjacent free blocks " + a + " and " + b);
            }
            assertEquals(0, heap.stats().liveBlocks());
        }
    }
}
