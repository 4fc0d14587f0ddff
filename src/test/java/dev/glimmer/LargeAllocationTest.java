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

    /**
     * The block's memory is returned: by free itself for a block in a mapping of its own, by
     * trim() (with its then empty segment) for one inside a segment. The first time a heap
     * sees a large block or a segment it may also create lazily allocated metadata (the
     * registries), which stays: the first round allows 64 KiB of it; a second round, with the
     * metadata in place, must bring the footprint back to exactly what it was.
     */
    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {128 * KiB, 1 * MiB, 100 * MiB, 1 * GiB})
    void aBigBlockIsWritableOnEveryPageAndItsMemoryIsReturned(long size) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long fresh = heap.stats().footprint();
            allocateWriteAndReturn(heap, size, fresh + 64 * KiB, "first round");
            long before = heap.stats().footprint();
            allocateWriteAndReturn(heap, size, before, "second round");
            assertEquals(before, heap.stats().footprint());
            heap.check();
        }
    }

    private static void allocateWriteAndReturn(GlimmerHeap heap, long size, long limit, String round) {
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
            assertTrue(s.footprint() <= limit, round + ": free must unmap the " + size
                    + "-byte block; footprint " + s.footprint() + " > " + limit + ": " + s);
        } else {
            // a block inside a segment goes back to the OS with its (now empty) segment on trim()
            heap.trim();
            HeapStats s = heap.stats();
            assertTrue(s.footprint() <= limit, round + ": after trim() the footprint " + s.footprint()
                    + " must fall back to " + limit + ": " + s);
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

    /**
     * A buffer grown by realloc a page at a time (what an interpreter's growing string or array
     * does) is remapped, not copied: no step unmaps anything, each is one remap, and the bytes
     * written before the first step are all still there.
     */
    @Test
    void growingALargeBlockAPageAtATimeRemapsItInsteadOfCopyingIt() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(MiB);
            TestMemory.fill(p, MiB, 7);
            HeapStats before = heap.stats();
            long size = MiB;
            for (int step = 0; step < 200; step++) {
                size += 4 * KiB;
                p = heap.realloc(p, size);
                assertTrue(heap.usableSize(p) >= size, "usableSize " + heap.usableSize(p) + " < " + size);
            }
            HeapStats after = heap.stats();
            assertEquals(before.osUnmaps(), after.osUnmaps(), "a growth unmapped the old copy: " + after);
            assertEquals(before.osMaps() + 200, after.osMaps(), "one remap per growth: " + after);
            assertEquals(-1, TestMemory.firstMismatch(p, MiB, 7), "the block's first bytes");
            heap.check();
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
