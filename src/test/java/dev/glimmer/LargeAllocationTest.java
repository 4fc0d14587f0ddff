package dev.glimmer;

import static dev.glimmer.TestMemory.GiB;
import static dev.glimmer.TestMemory.KiB;
import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Big requests succeed, are backed end to end, and their memory goes back to the OS. */
class LargeAllocationTest {

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {128 * KiB, 1 * MiB, 100 * MiB, 1 * GiB})
    void aBigBlockIsWritableOnEveryPageAndItsMemoryIsReturned(long size) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long before = heap.stats().footprint();
            long p = heap.malloc(size);
            assertEquals(0, p % 16, hex(p));
            assertTrue(heap.usableSize(p) >= size, "usableSize " + heap.usableSize(p) + " < " + size);
            assertTrue(heap.stats().footprint() >= size,
                    "footprint " + heap.stats().footprint() + " must include the " + size + "-byte block");
            TestMemory.touchEveryPage(p, size);
            heap.free(p);
            if (size >= MiB) {
                // a block of its own mapping is unmapped by free itself
                HeapStats s = heap.stats();
                assertEquals(0, s.largeBlocks(), s.toString());
                assertEquals(before, s.footprint(), "free must unmap the " + size + "-byte block: " + s);
            } else {
                // a block inside a segment goes back to the OS with its (now empty) segment on trim()
                heap.trim();
                HeapStats s = heap.stats();
                assertTrue(s.footprint() <= before, "after trim() the footprint " + s.footprint()
                        + " must fall back to " + before + ": " + s);
            }
            heap.check();
        }
    }

    @Test
    void requestsOfOneMebibyteAndMoreGetAMappingOfTheirOwn() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(MiB);
            HeapStats s = heap.stats();
            assertEquals(1, s.largeBlocks(), s.toString());
            BlockInfo b = heap.blocks().stream().filter(x -> x.address() == p).findFirst().orElseThrow();
            assertEquals(BlockInfo.State.LARGE, b.state());
            assertTrue(b.size() >= MiB, b.toString());
            heap.free(p);
            assertEquals(0, heap.stats().largeBlocks());
        }
    }

    @Test
    void closingAHeapReturnsEveryMappingEvenWithLiveBlocks() {
        GlimmerHeap heap = GlimmerHeap.ofConfined();
        for (int i = 0; i < 4; i++) {
            heap.malloc(3 * MiB);
            heap.malloc(100 * KiB);
        }
        heap.close();    // unmaps; the test is that this neither crashes nor leaks into the next heap
        try (GlimmerHeap next = GlimmerHeap.ofConfined()) {
            assertEquals(0, next.stats().liveBlocks());
        }
    }
}
