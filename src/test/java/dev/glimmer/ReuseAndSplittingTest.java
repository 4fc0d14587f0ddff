package dev.glimmer;

import static dev.glimmer.TestMemory.blockSize;
import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Freed blocks come back, and big free blocks are split for small requests. */
class ReuseAndSplittingTest {

    @ParameterizedTest(name = "malloc({0})")
    @ValueSource(longs = {0, 1, 8, 24, 32, 40, 64, 100, 256, 512, 1000})
    void aFreedSmallBlockComesBackForTheNextRequestOfItsSize(long size) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(size);
            heap.free(p);
            assertEquals(hex(p), hex(heap.malloc(size)));
        }
    }

    @Test
    void aFreedBlockServesAnyRequestOfTheSameSizeClass() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(40);          // block of 48 bytes
            heap.free(p);
            assertEquals(hex(p), hex(heap.malloc(33)), "33 bytes also need a 48-byte block");
        }
    }

    @Test
    void theRecentlyFreedCacheIsLastInFirstOut() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long a = heap.malloc(48);
            long b = heap.malloc(48);
            long c = heap.malloc(48);
            heap.free(a);
            heap.free(b);
            heap.free(c);
            assertEquals(List.of(hex(c), hex(b), hex(a)),
                    List.of(hex(heap.malloc(48)), hex(heap.malloc(48)), hex(heap.malloc(48))));
        }
    }

    @Test
    void aMallocServedFromTheCacheIsCountedAsACacheHitWhenTheHeapCountsThem() {
        try (GlimmerHeap heap = GlimmerHeap.builder().countCacheHits().build()) {
            long p = heap.malloc(32);
            heap.free(p);
            long before = heap.stats().cacheHits();
            assertEquals(p, heap.malloc(32));
            assertEquals(before + 1, heap.stats().cacheHits());
        }
    }

    @Test
    void theDefaultHeapCountsCacheHits() {
        GlimmerHeap heap = Glimmer.defaultHeap();
        long p = heap.malloc(32);
        heap.free(p);
        long before = heap.stats().cacheHits();
        long q = heap.malloc(32);
        try {
            assertTrue(heap.stats().cacheHits() > before, "the default heap was created with GL_HEAP_COUNT_HITS");
        } finally {
            heap.free(q);
        }
    }

    @Test
    void aHeapThatDoesNotCountCacheHitsReportsNone() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(32);
            heap.free(p);
            assertEquals(p, heap.malloc(32), "served by the cache");
            assertEquals(0, heap.stats().cacheHits());
        }
    }

    @ParameterizedTest(name = "malloc({0})")
    @ValueSource(longs = {16, 64, 1000, 1024, 5000, 70_000, 500_000})
    void withoutTheCacheAFreedBlockIsReusedFromItsBin(long size) {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long p = heap.malloc(size);
            long guard = heap.malloc(16);      // keeps p from merging into the top of the heap
            heap.free(p);
            assertEquals(hex(p), hex(heap.malloc(size)));
            heap.free(guard);
            heap.check();
        }
    }

    @Test
    void aLargeFreeBlockIsSplitAndTheRemainderStaysFree() {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long p = heap.malloc(1000);                 // a 1008-byte block
            long guard = heap.malloc(16);
            heap.free(p);
            long a = heap.malloc(100);                  // needs 112 bytes
            long start = p - 8;
            long end = start + blockSize(1000);
            assertTrue(a - 8 >= start && a - 8 + blockSize(100) <= end,
                    "the 112-byte block " + hex(a) + " must be carved from the freed block " + hex(p));
            List<BlockInfo> inside = heap.blocks().stream()
                    .filter(b -> b.address() - 8 >= start && b.address() - 8 < end).toList();
            assertEquals(2, inside.size(), "the freed block is now two blocks: " + inside);
            assertEquals(blockSize(1000), inside.get(0).size() + inside.get(1).size(), inside.toString());
            BlockInfo used = inside.stream().filter(b -> b.address() == a).findFirst().orElseThrow();
            BlockInfo rest = inside.stream().filter(b -> b.address() != a).findFirst().orElseThrow();
            assertEquals(BlockInfo.State.USED, used.state());
            assertEquals(blockSize(100), used.size());
            assertEquals(BlockInfo.State.FREE, rest.state());
            assertEquals(blockSize(1000) - blockSize(100), rest.size());

            long b = heap.malloc(100);                  // the remainder serves the next request
            assertTrue(b - 8 >= start && b - 8 + blockSize(100) <= end,
                    "the next 112-byte block " + hex(b) + " comes from the remainder, not the top");
            heap.free(guard);
            heap.check();
        }
    }

    @Test
    void aBlockWhoseRemainderWouldBeTooSmallIsHandedOutWhole() {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long p = heap.malloc(100);                  // a 112-byte block
            long guard = heap.malloc(16);
            heap.free(p);
            long q = heap.malloc(88);                   // needs 96: the 16 left over cannot be a block
            assertEquals(hex(p), hex(q));
            BlockInfo block = heap.blocks().stream().filter(b -> b.address() == q).findFirst().orElseThrow();
            assertEquals(blockSize(100), block.size(), "taken whole, not split");
            assertTrue(heap.usableSize(q) >= 100, "usable size " + heap.usableSize(q) + " covers the whole block");
            heap.free(guard);
            heap.check();
        }
    }
}
