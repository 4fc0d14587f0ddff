package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.KiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static dev.glimmer.TestMemory.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A million live blocks, freed in random order, leave a consistent, small heap. */
class ScaleTest {

    static final int BLOCKS = 1_000_000;

    @Test
    void aMillionSmallBlocksFreedInRandomOrderLeaveAtMostOneSegmentAfterTrim() {
        long seed = TestMemory.seed();
        try {
            run(seed);
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError(TestMemory.reproduce(seed) + ": " + e.getMessage(), e);
        }
    }

    private static void run(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long[] p = new long[BLOCKS];
            for (int i = 0; i < BLOCKS; i++) {
                p[i] = heap.malloc(random.nextInt(8, 65));
                ALL.set(JAVA_LONG, p[i], p[i] ^ seed);     // every block carries its own address
            }
            HeapStats full = heap.stats();
            assertEquals(BLOCKS, full.liveBlocks(), full.toString());
            heap.check();

            for (int i = BLOCKS - 1; i > 0; i--) {          // Fisher-Yates: a random free order
                int j = random.nextInt(i + 1);
                long t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            for (int i = 0; i < BLOCKS; i++) {
                long got = ALL.get(JAVA_LONG, p[i]);
                if (got != (p[i] ^ seed)) {
                    fail("block " + hex(p[i]) + " was overwritten before its free (" + i + " freed so far):"
                            + " found " + hex(got));
                }
                heap.free(p[i]);
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());

            heap.trim();
            HeapStats s = heap.stats();
            assertTrue(s.footprint() <= SEGMENT + 64 * KiB,
                    "after trim() the footprint " + s.footprint() + " must be at most one segment"
                            + " plus the heap's metadata (" + SEGMENT + " + 64 KiB); " + s);
            assertTrue(s.peakFootprint() >= full.footprint(), s.toString());
            heap.check();
        }
    }
}
