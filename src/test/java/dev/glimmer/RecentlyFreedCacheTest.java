package dev.glimmer;

import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The recently-freed cache defers coalescing: freed small blocks, and medium blocks that
 * realloc moved away from, wait on their class's stack (a slot array outside the blocks) until
 * a malloc of the class takes them back, the stack reaches its limit, or the heap is about to
 * grow.
 */
class RecentlyFreedCacheTest {

    /** A small class's first slots, inside the heap struct (gl_layout.h INLINE_SLOTS). */
    private static final long INLINE_SLOTS = 16;

    private static long[] mallocAll(GlimmerHeap heap, int n, long size) {
        long[] p = new long[n];
        for (int i = 0; i < n; i++) {
            p[i] = heap.malloc(size);
            TestMemory.fill(p[i], size, i);
        }
        return p;
    }

    private static long metadata(HeapStats s) {
        return s.footprint() - s.segments() * SEGMENT;
    }

    @Test
    void aBatchOfFreedBlocksComesBackInLifoOrderFromTheCache() {
        try (GlimmerHeap heap = GlimmerHeap.builder().countCacheHits().build()) {
            long[] p = mallocAll(heap, 20_000, 40);
            long spares = heap.stats().cachedBlocks(); // what is left of the last run carved
            for (long q : p) {
                heap.free(q);
            }
            assertEquals(spares + p.length, heap.stats().cachedBlocks(), "all of them wait in the cache");
            long hitsBefore = heap.stats().cacheHits();
            for (int i = p.length - 1; i >= 0; i--) {
                assertEquals(p[i], heap.malloc(40), "the most recently freed block comes back first");
            }
            assertEquals(hitsBefore + p.length, heap.stats().cacheHits());
            assertEquals(spares, heap.stats().cachedBlocks());
            heap.check();
        }
    }

    @Test
    void aSmallBlockCarvedFromTheTopBringsARunOfItsClassHandedOutInAddressOrder() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long block = 48; // requests of 33..40 bytes
            heap.malloc(40); // a fresh heap's first block: the core carves it alone
            long first = heap.malloc(40);
            assertEquals(INLINE_SLOTS, heap.stats().cachedBlocks(),
                    "a class never freed: the run fills the stack's inline slots, mapping nothing");
            handedOutInAddressOrder(heap, first, block, INLINE_SLOTS);
            // frees past the inline slots move the stack to a page of its own
            for (long i = INLINE_SLOTS; i >= 0; i--) {
                heap.free(first + i * block);
            }
            for (long i = 0; i <= INLINE_SLOTS; i++) {
                assertEquals(first + i * block, heap.malloc(40), "the moved stack hands block " + i + " back");
            }
            long spares = 16384 / block - 1;
            long next = heap.malloc(40);
            assertEquals(spares, heap.stats().cachedBlocks(), "on a stack of a page, a run of all 16 KiB holds");
            handedOutInAddressOrder(heap, next, block, spares);
            heap.check();
        }
    }

    private static void handedOutInAddressOrder(GlimmerHeap heap, long first, long block, long spares) {
        for (long i = 1; i <= spares; i++) {
            long p = heap.malloc(33 + i % 8);
            assertEquals(first + i * block, p, "spare " + i + " of the run");
            TestMemory.fill(p, 40, (int) i);
        }
        assertEquals(0, heap.stats().cachedBlocks(), "the run is handed out");
    }

    @Test
    void aStackAtTheLimitIsFlushedIntoTheCoalescerBeforeItTakesTheNextBlock() {
        try (GlimmerHeap heap = GlimmerHeap.builder().cacheLimit(100).build()) {
            long[] p = mallocAll(heap, 101, 64);
            long spares = heap.stats().cachedBlocks(); // what is left of the last run carved
            assertTrue(spares < 100, "a run fits the stack: " + spares);
            for (int i = 0; i < 100 - spares; i++) {
                heap.free(p[i]);
            }
            assertEquals(100, heap.stats().cachedBlocks());
            heap.free(p[100]);
            HeapStats s = heap.stats();
            assertEquals(1, s.cachedBlocks(), "the hundred were coalesced, the last one cached: " + s);
            assertTrue(s.freeBytes() >= 100 * 80, "the flushed blocks are free memory: " + s);
            heap.check();
        }
    }

    @Test
    void cachedBlocksNeverMakeTheHeapGrow() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            // blocks of 96 bytes filling two thirds of a segment, all freed into the cache
            int n = (int) (SEGMENT * 2 / 3 / 96);
            long[] small = mallocAll(heap, n, 88);
            assertEquals(1, heap.stats().segments());
            long spares = heap.stats().cachedBlocks();
            for (long q : small) {
                heap.free(q);
            }
            assertEquals(spares + n, heap.stats().cachedBlocks());
            // the same bytes again in another class: the top runs out, the cache is flushed
            // and coalesced, and its memory serves the new class without a new segment
            List<Long> big = new ArrayList<>();
            for (long bytes = 0; bytes < n * 96L; bytes += 512) {
                big.add(heap.malloc(504));
            }
            HeapStats s = heap.stats();
            assertEquals(1, s.segments(), "no segment was added while the cache held enough memory: " + s);
            // (blocks of 512 bytes carved from the merged memory may bring runs of their own)
            long cachedSmall = heap.blocks().stream()
                    .filter(b -> b.state() == BlockInfo.State.CACHED && b.size() == 96).count();
            assertEquals(0, cachedSmall, "the cache was flushed before the heap would have grown: " + s);
            heap.check();
        }
    }

    @Test
    void aMediumBlockThatReallocMovesAwayFromWaitsInTheCacheForItsSize() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(3000);
            long wall = heap.malloc(64);     // p cannot grow in place
            long spares = heap.stats().cachedBlocks(); // the rest of the wall's run
            long q = heap.realloc(p, 6000);
            assertTrue(q != p, "realloc moved the block");
            assertEquals(spares + 1, heap.stats().cachedBlocks(), "the 3 KiB block it left is cached");
            assertThrows(DoubleFreeException.class, () -> heap.free(p), "a cached block is not live");
            assertTrue(heap.malloc(2600) != p, "a request 400 bytes smaller does not take it");
            assertEquals(p, heap.malloc(3000), "the next request of its size does");
            assertEquals(spares, heap.stats().cachedBlocks());
            heap.free(wall);
            heap.check();
        }
    }

    @Test
    void aSmallBlockThatReallocGrowsMovesIntoTheCachedBlockOfItsNewSizeAndLeavesItsOwnInTheCache() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(40);
            long wall = heap.malloc(40);     // p cannot grow in place
            long cached = heap.malloc(100);
            long wall2 = heap.malloc(40);
            TestMemory.fill(p, 40, 7);
            heap.free(cached);
            long before = heap.stats().cachedBlocks(); // cached, and the spares of the runs carved
            long q = heap.realloc(p, 100);
            assertEquals(cached, q, "the most recently freed block of the new size");
            assertEquals(-1, TestMemory.firstMismatch(q, 40, 7), "the bytes moved");
            assertEquals(before, heap.stats().cachedBlocks(), "the 48-byte block it left took its place in the cache");
            assertThrows(DoubleFreeException.class, () -> heap.free(p), "a cached block is not live");
            assertEquals(p, heap.malloc(40), "the next request of its size takes it back");
            heap.free(wall);
            heap.free(wall2);
            heap.check();
        }
    }

    @Test
    void aMediumBlockGivenToFreeIsCoalescedAtOnce() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(3000);
            long wall = heap.malloc(64);     // p cannot merge into the top
            long freeBefore = heap.stats().freeBytes();
            long cachedBefore = heap.stats().cachedBlocks(); // the rest of the wall's run
            heap.free(p);
            HeapStats s = heap.stats();
            assertEquals(cachedBefore, s.cachedBlocks(), "free does not cache medium blocks: " + s);
            assertEquals(freeBefore + 3008, s.freeBytes(), "its 3008 bytes are free memory: " + s);
            heap.free(wall);
            heap.check();
        }
    }

    @Test
    void buffersGrownByDoublingKeepTheirBytesWhileTheirOldBlocksAreRecycled() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            int buffers = 64;
            long[] p = new long[buffers];
            long[] size = new long[buffers];
            for (int i = 0; i < buffers; i++) {
                size[i] = 16;
                p[i] = heap.realloc(0, 16);
                TestMemory.fill(p[i], 16, i);
            }
            // round-robin doubling up to 64 KiB: every size on the way is freed by one
            // buffer's realloc and asked for by the next buffer's
            for (int step = 0; step < 12; step++) {
                for (int i = 0; i < buffers; i++) {
                    long grown = heap.realloc(p[i], size[i] * 2);
                    assertEquals(-1, TestMemory.firstMismatch(grown, size[i], i),
                            "buffer " + i + " grown to " + size[i] * 2 + " kept its bytes");
                    size[i] *= 2;
                    TestMemory.fill(grown, size[i], i);
                    p[i] = grown;
                }
                heap.check();
            }
            for (int i = 0; i < buffers; i++) {
                assertEquals(-1, TestMemory.firstMismatch(p[i], size[i], i), "buffer " + i);
                heap.free(p[i]);
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void trimAndResetGiveTheSlotArraysBack() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            heap.free(heap.malloc(16));
            heap.trim();
            long bare = metadata(heap.stats());

            long[] p = mallocAll(heap, 30_000, 24);
            for (long q : p) {
                heap.free(q);
            }
            long withSlots = metadata(heap.stats());
            assertTrue(withSlots >= bare + 30_000 * 8, "30,000 cached pointers take slot pages: "
                    + bare + " -> " + withSlots);
            heap.trim();
            assertEquals(0, heap.stats().cachedBlocks());
            assertEquals(bare, metadata(heap.stats()), "trim unmapped the slot arrays");

            p = mallocAll(heap, 30_000, 24);
            for (long q : p) {
                heap.free(q);
            }
            heap.reset();
            assertEquals(bare, metadata(heap.stats()), "reset unmapped the slot arrays");
            long q = heap.malloc(24);       // and the cache works again afterwards
            long cached = heap.stats().cachedBlocks();
            heap.free(q);
            assertEquals(cached + 1, heap.stats().cachedBlocks());
        }
    }
}
