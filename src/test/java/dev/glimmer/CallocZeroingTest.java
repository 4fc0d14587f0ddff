package dev.glimmer;

import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.glimmer.internal.GlimmerNative;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * calloc returns zeroed memory whatever happened to that memory before. calloc skips the
 * clearing of memory it knows was never written (fresh large mappings, top memory above the
 * segment's clean mark), so every path that writes memory must keep that knowledge right.
 * (Found by {@link ConcurrencyStressTest}: a realloc that grows in place into the top.)
 */
class CallocZeroingTest {

    /** The minimal sequence: a block grown into the top by realloc, written, freed back into it. */
    @Test
    void callocAfterAReallocGrewIntoTheTopReturnsZeroedMemory() {
        long h = GlimmerNative.heapCreate(0);
        try {
            long p = GlimmerNative.heapMalloc(h, 166);
            long q = GlimmerNative.heapRealloc(h, p, 4804);      // grows in place into the top
            assertEquals(hex(p), hex(q), "grown in place");
            TestMemory.fill(q, 4804, 1);
            assertEquals(0, GlimmerNative.heapFree(h, q));      // back into the top
            long r = GlimmerNative.heapMalloc(h, 589);
            assertNotEquals(0, r);
            long c = GlimmerNative.heapCalloc(h, 4, 477);       // inside what the realloc'd block covered
            assertNotEquals(0, c);
            assertEquals(-1, TestMemory.firstNonZero(c, 4 * 477), "calloc(4, 477) at " + hex(c)
                    + " returned memory the realloc'd block " + hex(q) + " had written");
        } finally {
            GlimmerNative.heapDestroy(h);
        }
    }

    /** Random malloc/realloc/aligned/free with every byte written, and calloc checked every time. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void callocAlwaysReturnsZeroedMemory(HeapDriver.Factory f) {
        long seed = TestMemory.seed();
        SplittableRandom random = new SplittableRandom(seed);
        try (HeapDriver h = f.open()) {
            List<long[]> mine = new ArrayList<>();
            for (int i = 0; i < 30_000; i++) {
                int r = random.nextInt(100);
                long size = random.nextInt(4) == 0 ? random.nextLong(257, 20_000) : random.nextLong(0, 257);
                if (mine.isEmpty() || r < 45) {
                    long p = r < 15 ? h.calloc(1 + size % 7, size / (1 + size % 7) + 1) : r < 18
                            ? h.alignedAlloc(64L << random.nextInt(6), size) : h.malloc(size);
                    assertNotEquals(0, p);
                    long usable = h.usableSize(p);
                    if (r < 15) {
                        long n = (1 + size % 7) * (size / (1 + size % 7) + 1);
                        long at = TestMemory.firstNonZero(p, n);
                        assertEquals(-1, at, TestMemory.reproduce(seed) + ", op " + i + ": calloc returned "
                                + hex(p) + " not zeroed at offset " + at);
                    }
                    TestMemory.fill(p, usable, i);
                    mine.add(new long[] {p});
                } else if (r < 60) {
                    long[] b = mine.get(random.nextInt(mine.size()));
                    long q = h.realloc(b[0], size);
                    assertNotEquals(0, q);
                    TestMemory.fill(q, h.usableSize(q), i);
                    b[0] = q;
                } else {
                    h.mustFree(mine.remove(random.nextInt(mine.size()))[0]);
                }
            }
            for (long[] b : mine) {
                h.mustFree(b[0]);
            }
            h.check();
        }
    }
}
