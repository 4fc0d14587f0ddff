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
 * allocate+free through an object API: GlimmerHeap.allocate(size)/free(segment), and
 * Arena.ofConfined().allocate(size) + close(). Scores are nanoseconds per pair; the
 * workloads are RawBench's.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SegmentBench {

    @State(Scope.Thread)
    public static class Api {
        @Param({"glimmer-segment", "arena"})
        public String api;

        BlockAllocator a;
        long[] sizes;
        Object[] blocks;

        @Setup
        public void open() {
            a = BlockAllocator.open(api);
            sizes = Workload.batchSizes();
            blocks = new Object[sizes.length];
        }

        @TearDown
        public void close() {
            a.close();
        }
    }

    @State(Scope.Thread)
    public static class ApiWithLiveBlock {
        @Param({"glimmer-segment", "arena"})
        public String api;

        BlockAllocator a;
        Object kept;

        @Setup
        public void open() {
            a = BlockAllocator.open(api);
            kept = a.allocate(Workload.PAIR_SIZE);
        }

        @TearDown
        public void close() {
            a.free(kept);
            a.close();
        }
    }

    @Benchmark
    public void pair(Api s) {
        BlockAllocator a = s.a;
        a.free(a.allocate(Workload.PAIR_SIZE));
    }

    @Benchmark
    public void pairKeep(ApiWithLiveBlock s) {
        BlockAllocator a = s.a;
        a.free(a.allocate(Workload.PAIR_SIZE));
    }

    @Benchmark
    @OperationsPerInvocation(Workload.BATCH)
    public void batch(Api s) {
        BlockAllocator a = s.a;
        long[] sizes = s.sizes;
        Object[] blocks = s.blocks;
        for (int i = 0; i < sizes.length; i++) {
            blocks[i] = a.allocate(sizes[i]);
        }
        for (int i = 0; i < blocks.length; i++) {
            a.free(blocks[i]);
            blocks[i] = null;
        }
    }
}
