package dev.glimmer;

import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static dev.glimmer.TestMemory.blockSize;
import static dev.glimmer.TestMemory.hex;
import static dev.glimmer.TestMemory.touchEveryPage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** blocks() shows every block with its state; stats() counts what the heap holds. */
class HeapWalkAndStatsTest {

    static BlockInfo find(List<BlockInfo> walk, long address) {
        return walk.stream().filter(b -> b.address() == address).findFirst()
                .orElseThrow(() -> new AssertionError("no block at " + hex(address) + " in " + walk));
    }

    @Test
    void theWalkListsEveryLiveBlockWithItsState() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            List<Long> used = new ArrayList<>();
            long[] sizes = {0, 8, 24, 64, 100, 1000, 2000, 70_000};
            for (long s : sizes) {
                used.add(heap.malloc(s));
            }
            long cached = heap.malloc(48);
            heap.free(cached);
            long large = heap.malloc(3 * MiB);

            List<BlockInfo> walk = heap.blocks();
            for (int i = 0; i < sizes.length; i++) {
                BlockInfo b = find(walk, used.get(i));
                assertEquals(BlockInfo.State.USED, b.state(), b.toString());
                assertEquals(blockSize(sizes[i]), b.size(), "block of malloc(" + sizes[i] + ")");
            }
            assertEquals(BlockInfo.State.CACHED, find(walk, cached).state());
            BlockInfo lb = find(walk, large);
            assertEquals(BlockInfo.State.LARGE, lb.state());
            assertTrue(lb.size() >= 3 * MiB, lb.toString());
            assertTrue(walk.stream().anyMatch(b -> b.state() == BlockInfo.State.FREE), "the top is free: " + walk);
            assertEquals(sizes.length + 1, walk.stream().filter(b -> b.state() == BlockInfo.State.USED
                    || b.state() == BlockInfo.State.LARGE).count(), walk.toString());

            heap.check();   // flushes the cache
            List<BlockInfo> flushed = heap.blocks();
            assertTrue(flushed.stream().noneMatch(b -> b.state() == BlockInfo.State.CACHED), flushed.toString());
        }
    }

    @Test
    void theBlocksOfASegmentTileItWithoutGapsOrOverlaps() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            List<Long> live = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                live.add(heap.malloc(16 + (i * 37) % 3000));
            }
            for (int i = 0; i < live.size(); i += 3) {
                heap.free(live.get(i));
            }
            Map<Long, List<BlockInfo>> bySegment = heap.blocks().stream()
                    .filter(b -> b.state() != BlockInfo.State.LARGE)
                    .collect(Collectors.groupingBy(b -> (b.address() - 8) & -SEGMENT));
            for (List<BlockInfo> blocks : bySegment.values()) {
                blocks.sort(Comparator.comparingLong(BlockInfo::address));
                for (int i = 1; i < blocks.size(); i++) {
                    BlockInfo a = blocks.get(i - 1);
                    BlockInfo b = blocks.get(i);
                    assertEquals(hex(a.address() + a.size()), hex(b.address()),
                            "block " + b + " must follow " + a + " directly");
                }
            }
            heap.check();
        }
    }

    @Test
    void statsCountLiveBlocksAndBytesAsTheirUsableSizes() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            HeapStats empty = heap.stats();
            assertEquals(0, empty.liveBlocks());
            assertEquals(0, empty.liveBytes());
            long usable = 0;
            List<Long> blocks = new ArrayList<>();
            for (long s : new long[] {1, 24, 100, 1000, 5000, 2 * MiB}) {
                long p = heap.malloc(s);
                blocks.add(p);
                usable += heap.usableSize(p);
            }
            HeapStats s = heap.stats();
            assertEquals(6, s.liveBlocks(), s.toString());
            assertEquals(usable, s.liveBytes(), s.toString());
            assertEquals(1, s.largeBlocks(), s.toString());
            assertTrue(s.footprint() >= s.liveBytes(), s.toString());
            assertTrue(s.peakFootprint() >= s.footprint(), s.toString());
            assertTrue(s.peakLiveBytes() >= s.liveBytes(), s.toString());
            assertTrue(s.osMaps() >= 2, "a segment and a large block were mapped: " + s);
            for (long p : blocks) {
                heap.free(p);
            }
            heap.check();
            HeapStats after = heap.stats();
            assertEquals(0, after.liveBlocks(), after.toString());
            assertEquals(0, after.liveBytes(), after.toString());
            assertTrue(after.osUnmaps() >= 1, "the large block was unmapped: " + after);
        }
    }

    @Test
    void statsCountLiveBlocksPerSmallClassWithoutTheCache() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long[] p = new long[5];
            for (int i = 0; i < 5; i++) {
                p[i] = heap.malloc(24);        // 32-byte blocks: class 2
            }
            heap.malloc(100);                  // 112-byte block: class 7
            assertEquals(5, heap.stats().classLive()[2]);
            assertEquals(1, heap.stats().classLive()[7]);
            long spares = heap.stats().cachedBlocks(); // of the runs the carves brought
            heap.free(p[0]);
            heap.free(p[1]);
            HeapStats s = heap.stats();
            assertEquals(spares + 2, s.cachedBlocks(), s.toString());
            assertEquals(3, s.classLive()[2], "class_live excludes cached blocks: " + s);
            heap.check();
            assertEquals(0, heap.stats().cachedBlocks(), "check() flushes the cache");
        }
    }

    @Test
    void trimGivesBackEmptySegmentsAndSaysHowMuch() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 40_000; i++) {
                blocks.add(heap.malloc(200));    // about 9 MB: several segments
            }
            long full = heap.stats().footprint();
            blocks.forEach(heap::free);
            long returned = heap.trim();
            HeapStats s = heap.stats();
            assertTrue(returned > 0, "trim() returned " + returned + "; " + s);
            assertTrue(s.footprint() < full, "footprint " + s.footprint() + ", was " + full
                    + " before the empty segments were trimmed; trim() said " + returned);
            heap.check();
        }
    }

    @Test
    void aSecondTrimWithNothingFreedSinceGivesBackNothing() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long keep = heap.malloc(64);         // the first segment stays, with its top
            List<Long> blocks = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                long p = heap.malloc(40_000);
                touchEveryPage(p, 40_000);           // resident
                blocks.add(p);
            }
            blocks.forEach(heap::free);
            long first = heap.trim();
            long second = heap.trim();
            assertTrue(first > 0, "the first trim() returned " + first);
            assertEquals(0, second, "the first trim() gave back " + first
                    + " bytes; the second, with nothing freed since, says it gave back more");
            heap.free(keep);
            heap.check();
        }
    }

    @Test
    void heapStatsIsAValueWithCopiedArrays() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            HeapStats a = heap.stats();
            HeapStats b = heap.stats();
            assertEquals(a, b);
            a.errors()[1] = 99;
            assertEquals(0, a.errorCount(-1), "errors() returns a copy");
            assertEquals(8, a.errors().length);
            assertEquals(64, a.classLive().length);
            Function<HeapStats, String> show = HeapStats::toString;
            assertTrue(show.apply(a).contains("liveBlocks=0"), show.apply(a));
        }
    }
}
