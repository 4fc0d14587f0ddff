package dev.glimmer.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * malloc+free through raw addresses: GlimmerHeap.malloc(long)/free(long), the native
 * peers through FFM, Unsafe, and the floor (two bare critical downcalls).
 * Scores are nanoseconds per malloc+free pair.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RawBench {

    /** One allocator per fork (the runner passes the available ones). */
    @State(Scope.Thread)
    public static class Heap {
        @Param({"glimmer", "glimmer-default", "glibc", "jemalloc", "mimalloc", "tcmalloc", "unsafe", "floor"})
        public String allocator;

        RawAllocator a;
        long[] sizes;
        long[] blocks;

        @Setup
        public void open() {
            a = RawAllocator.open(allocator);
            sizes = Workload.batchSizes();
            blocks = new long[sizes.length];
        }

        @TearDown
        public void close() {
            a.close();
        }
    }

    /** As Heap, with one other block of PAIR_SIZE bytes live for the whole trial. */
    @State(Scope.Thread)
    public static class HeapWithLiveBlock {
        @Param({"glimmer", "glimmer-default", "glibc", "jemalloc", "mimalloc", "tcmalloc", "unsafe", "floor"})
        public String allocator;

        RawAllocator a;
        long kept;

        @Setup
        public void open() {
            a = RawAllocator.open(allocator);
            kept = a.malloc(Workload.PAIR_SIZE);
        }

        @TearDown
        public void close() {
            a.free(kept);
            a.close();
        }
    }

    @Benchmark
    public void pair(Heap h) {
        RawAllocator a = h.a;
        a.free(a.malloc(Workload.PAIR_SIZE));
    }

    @Benchmark
    public void pairKeep(HeapWithLiveBlock h) {
        RawAllocator a = h.a;
        a.free(a.malloc(Workload.PAIR_SIZE));
    }

    /** BATCH blocks of 8..64 B, then freed in allocation order; score per pair. */
    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public void batch(Heap h) {
        RawAllocator a = h.a;
        long[] sizes = h.sizes;
        long[] blocks = h.blocks;
        for (int i = 0; i < sizes.length; i++) {
            blocks[i] = a.malloc(sizes[i]);
        }
        for (int i = 0; i < blocks.length; i++) {
            a.free(blocks[i]);
        }
    }
}
