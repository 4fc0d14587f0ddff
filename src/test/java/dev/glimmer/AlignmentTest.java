package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.hex;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every pointer is 16-byte aligned, aligned allocations honour their alignment, nothing overlaps. */
class AlignmentTest {

    @Test
    void everySizeFrom0To4096Is16ByteAlignedUsableAndDisjoint() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            int n = 4097;
            long[] p = new long[n];
            for (int size = 0; size < n; size++) {
                p[size] = heap.malloc(size);
                assertEquals(0, p[size] % 16, "malloc(" + size + ") = " + hex(p[size]));
                assertTrue(heap.usableSize(p[size]) >= size,
                        "usableSize(malloc(" + size + ")) = " + heap.usableSize(p[size]));
                TestMemory.fill(p[size], size, size);
            }
            for (int size = 0; size < n; size++) {
                long bad = TestMemory.firstMismatch(p[size], size, size);
                assertEquals(-1, bad, "block of " + size + " bytes at " + hex(p[size])
                        + " was overwritten at offset " + bad + " (blocks overlap)");
            }
            assertDisjoint(p, size -> Math.max(1, size));
            for (long q : p) {
                heap.free(q);
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest(name = "alignment {0}")
    @ValueSource(longs = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 65536,
            1L << 20, 2L << 20, 4L << 20})
    void alignedAllocationsHonourTheirAlignment(long alignment) {
        long[] sizes = {0, 1, 8, 100, alignment - 1, alignment, alignment + 1, 3000, 70_000};
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            List<Long> live = new ArrayList<>();
            for (long size : sizes) {
                if (size < 0) {
                    continue;
                }
                long p = heap.alignedAlloc(alignment, size);
                assertEquals(0, p % Math.max(16, alignment),
                        "alignedAlloc(" + alignment + ", " + size + ") = " + hex(p));
                assertTrue(heap.usableSize(p) >= size, "usableSize = " + heap.usableSize(p) + " < " + size);
                if (size > 0) {
                    ALL.set(JAVA_BYTE, p, (byte) 1);
                    ALL.set(JAVA_BYTE, p + size - 1, (byte) 2);
                }
                live.add(p);
            }
            heap.check();
            for (long p : live) {
                heap.free(p);
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void alignedSegmentsFromAllocateHonourTheirAlignment() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            for (long alignment = 1; alignment <= 1L << 16; alignment <<= 1) {
                var s = heap.allocate(24, alignment);
                assertEquals(0, s.address() % alignment, "allocate(24, " + alignment + ")");
                assertEquals(24, s.byteSize());
            }
            heap.check();
        }
    }

    interface SizeOf {
        long of(int index);
    }

    /** The blocks [p[i], p[i] + len(i)) do not overlap. */
    static void assertDisjoint(long[] p, SizeOf len) {
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(p[a], p[b]));
        for (int k = 1; k < order.length; k++) {
            int prev = order[k - 1];
            int cur = order[k];
            if (p[prev] + len.of(prev) > p[cur]) {
                fail("block " + prev + " at " + hex(p[prev]) + " (" + len.of(prev) + " bytes) overlaps block "
                        + cur + " at " + hex(p[cur]));
            }
        }
    }
}
