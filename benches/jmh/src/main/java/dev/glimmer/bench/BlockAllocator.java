package dev.glimmer.bench;

import dev.glimmer.GlimmerHeap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Allocation through an object API: every allocator of {@link SegmentBench} behind the
 * same two calls. A block is whatever object the API hands out and takes back.
 */
public interface BlockAllocator extends AutoCloseable {

    /** Names accepted by {@link #open}. */
    List<String> NAMES = List.of("glimmer-segment", "arena");

    Object allocate(long size);

    void free(Object block);

    @Override
    default void close() {
    }

    static BlockAllocator open(String name) {
        return switch (name) {
            case "glimmer-segment" -> new GlimmerSegments();
            case "arena" -> new ConfinedArenas();
            default -> throw new IllegalArgumentException("no block allocator named " + name + "; known: " + NAMES);
        };
    }

    /** GlimmerHeap's segment API: allocate(size) returns a MemorySegment, free(segment). */
    final class GlimmerSegments implements BlockAllocator {
        private final GlimmerHeap heap = GlimmerHeap.ofConfined();

        @Override
        public Object allocate(long size) {
            return heap.allocate(size);
        }

        @Override
        public void free(Object block) {
            heap.free((MemorySegment) block);
        }

        @Override
        public void close() {
            heap.close();
        }
    }

    /** The JDK's own way: a confined arena per block, Arena.ofConfined().allocate(size), close(). */
    final class ConfinedArenas implements BlockAllocator {
        @Override
        public Object allocate(long size) {
            Arena arena = Arena.ofConfined();
            arena.allocate(size);
            return arena;
        }

        @Override
        public void free(Object block) {
            ((Arena) block).close();
        }
    }
}
