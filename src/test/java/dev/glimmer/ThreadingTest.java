package dev.glimmer;

import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Confined heaps belong to one thread; shared heaps to all. */
class ThreadingTest {

    /** Runs {@code body} in a new thread and returns what it threw, or null. */
    static Throwable inAnotherThread(Runnable body) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
        }, "intruder");
        t.start();
        t.join();
        return thrown.get();
    }

    @Test
    void anotherThreadGetsWrongThreadExceptionFromEveryMethodOfAConfinedHeap() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(64);
            MemorySegment seg = heap.allocate(64);
            Map<String, Consumer<GlimmerHeap>> calls = Map.ofEntries(
                    Map.entry("malloc", h -> h.malloc(16)), Map.entry("free", h -> h.free(p)),
                    Map.entry("calloc", h -> h.calloc(1, 16)), Map.entry("realloc", h -> h.realloc(p, 128)),
                    Map.entry("alignedAlloc", h -> h.alignedAlloc(64, 16)),
                    Map.entry("usableSize", h -> h.usableSize(p)), Map.entry("allocate", h -> h.allocate(16)),
                    Map.entry("free(segment)", h -> h.free(seg)), Map.entry("reallocate", h -> h.reallocate(seg, 8)),
                    Map.entry("stats", GlimmerHeap::stats), Map.entry("check", GlimmerHeap::check),
                    Map.entry("blocks", GlimmerHeap::blocks), Map.entry("reset", GlimmerHeap::reset),
                    Map.entry("trim", GlimmerHeap::trim), Map.entry("close", GlimmerHeap::close));
            for (var call : calls.entrySet()) {
                Throwable t = inAnotherThread(() -> call.getValue().accept(heap));
                assertInstanceOf(WrongThreadException.class, t, call.getKey() + " from another thread");
                assertTrue(t.getMessage().contains("intruder"), t.getMessage());
            }
            // nothing reached the native heap: p and seg are still live, nothing was allocated
            assertFalse(heap.isClosed());
            HeapStats s = heap.stats();
            assertEquals(2, s.liveBlocks(), s.toString());
            assertEquals(0, s.totalErrors(), s.toString());
            assertTrue(heap.usableSize(p) >= 64, "p was not freed or moved by the other thread");
            heap.free(p);
            heap.free(seg);
            heap.check();
        }
    }

    /**
     * The owner check comes before anything else — argument checks included — and before any
     * native code: calls from another thread that would be misuse natively (a wild pointer, a
     * double free, impossible sizes) leave no trace in the heap's statistics.
     */
    @Test
    void callsFromAnotherThreadThrowWrongThreadExceptionBeforeReachingNativeCode() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(64);
            long freed = heap.malloc(64);
            heap.free(freed);
            HeapStats before = heap.stats();
            List<Runnable> calls = List.of(
                    () -> heap.free(0x1000), () -> heap.free(freed), () -> heap.free(p + 8),
                    () -> heap.realloc(0x1000, 8), () -> heap.realloc(p, -1), () -> heap.malloc(-1),
                    () -> heap.malloc(GlimmerHeap.MAX_SIZE + 1), () -> heap.calloc(1L << 40, 1L << 40),
                    () -> heap.alignedAlloc(3, 8), () -> heap.usableSize(0x1000), () -> heap.allocate(-1),
                    () -> heap.asArena().allocate(16), () -> heap.free(heap.allocate(8)));
            for (Runnable call : calls) {
                Throwable t = inAnotherThread(call);
                assertInstanceOf(WrongThreadException.class, t, "from another thread: " + t);
            }
            HeapStats after = heap.stats();
            assertEquals(before, after, "nothing reached the native heap");
            assertEquals(0, after.totalErrors(), after.toString());
            heap.free(p);
            heap.check();
        }
    }

    @Test
    void aConfinedHeapKeepsWorkingForItsOwnerAfterAnIntrusion() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            inAnotherThread(() -> heap.malloc(8));
            long p = heap.malloc(8);
            heap.free(p);
            heap.check();
        }
    }

    @Test
    void aSharedHeapServesManyThreadsAtOnce() throws Exception {
        long seed = TestMemory.seed();
        int threads = 4;
        int opsPerThread = 100_000;
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            assertTrue(heap.isShared());
            // blocks handed from thread to thread, so frees also happen on threads that did not allocate
            ConcurrentLinkedQueue<long[]> handoff = new ConcurrentLinkedQueue<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int w = 0; w < threads; w++) {
                SplittableRandom random = new SplittableRandom(seed + w);
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        List<long[]> mine = new ArrayList<>();
                        for (int i = 0; i < opsPerThread; i++) {
                            if (mine.isEmpty() || random.nextInt(100) < 55) {
                                long size = random.nextInt(8, 300);
                                long p = heap.malloc(size);
                                long key = p ^ random.nextLong();
                                TestMemory.fill(p, size, key);
                                long[] block = {p, size, key};
                                if (random.nextInt(10) == 0) {
                                    handoff.add(block);
                                } else {
                                    mine.add(block);
                                }
                            } else {
                                long[] block = random.nextInt(4) == 0 && !handoff.isEmpty() ? handoff.poll() : null;
                                if (block == null) {
                                    block = mine.remove(random.nextInt(mine.size()));
                                }
                                long bad = TestMemory.firstMismatch(block[0], block[1], block[2]);
                                if (bad >= 0) {
                                    throw new AssertionError("block " + hex(block[0]) + " overwritten at " + bad);
                                }
                                heap.free(block[0]);
                            }
                        }
                        for (long[] block : mine) {
                            heap.free(block[0]);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                workers.add(t);
                t.start();
            }
            start.countDown();
            for (Thread t : workers) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(TestMemory.reproduce(seed) + ": " + failure.get(), failure.get());
            }
            long[] block;
            while ((block = handoff.poll()) != null) {
                heap.free(block[0]);
            }
            heap.check();
            HeapStats s = heap.stats();
            assertEquals(0, s.liveBlocks(), s.toString());
            assertEquals(0, s.totalErrors(), s.toString());
        }
    }

    @Test
    void segmentsOfASharedHeapAreAccessibleFromAnyThread() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            MemorySegment s = heap.allocate(8);
            assertNull(inAnotherThread(() -> s.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 5)));
            assertEquals(5, s.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0));
            assertNull(inAnotherThread(() -> heap.free(s)));
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /**
     * gl_heap_last_error is one word per heap: on a shared heap, two threads whose calls fail
     * at the same time can read each other's status. Each failure must still be reported as
     * its own kind: an impossible size as {@link SizeOverflowException}, a realloc of a foreign
     * pointer as {@link InvalidPointerException}, a bad alignment as
     * {@link InvalidAlignmentException}, an impossible mapping as {@link NativeOutOfMemoryException}.
     */
    @Test
    void concurrentFailuresOnASharedHeapAreEachReportedAsTheirOwnKind() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            long foreign = TestMemory.glibcMalloc(64);
            try {
                int rounds = 100_000;
                List<Map.Entry<Class<? extends GlimmerException>, Runnable>> calls = List.of(
                        Map.entry(SizeOverflowException.class, () -> heap.malloc(GlimmerHeap.MAX_SIZE + 1)),
                        Map.entry(InvalidPointerException.class, () -> heap.realloc(foreign, 64)),
                        Map.entry(InvalidAlignmentException.class, () -> heap.alignedAlloc(1L << 50, 64)),
                        Map.entry(NativeOutOfMemoryException.class, () -> heap.calloc(1, GlimmerHeap.MAX_SIZE)),
                        Map.entry(SizeOverflowException.class, () -> heap.calloc(1L << 22, 1L << 22)));
                AtomicReference<Throwable> failure = new AtomicReference<>();
                List<Thread> threads = new ArrayList<>();
                CountDownLatch go = new CountDownLatch(1);
                for (var call : calls) {
                    Thread t = new Thread(() -> {
                        try {
                            go.await();
                            for (int i = 0; i < rounds && failure.get() == null; i++) {
                                try {
                                    call.getValue().run();
                                    throw new AssertionError("the call succeeded");
                                } catch (GlimmerException e) {
                                    if (e.getClass() != call.getKey()) {
                                        throw new AssertionError("round " + i + ": expected " + call.getKey()
                                                .getSimpleName() + ", got " + e, e);
                                    }
                                }
                            }
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                    });
                    threads.add(t);
                    t.start();
                }
                go.countDown();
                for (Thread t : threads) {
                    t.join();
                }
                if (failure.get() != null) {
                    throw new AssertionError(failure.get().getMessage(), failure.get());
                }
            } finally {
                TestMemory.glibcFree(foreign);
            }
            heap.check();
        }
    }

    /**
     * A shared heap is biased to the thread that built it, where the kernel lets the library
     * take the bias back (membarrier): that thread's calls take no atomic instruction. The
     * first call from another thread ends the bias, and a few calls do not bring it back;
     * every block survives it.
     */
    /**
     * Threads that allocate from the default heap at once do not take turns on one lock: each
     * thread but the one the default heap is biased to gets an arena, a heap of its own behind
     * the same handle. Its blocks are still the default heap's: any thread frees them, and the
     * statistics, the check and the walk see every arena.
     */
    @Test
    void threadsOnTheDefaultHeapGetArenasThatTheWholeHeapStillSees() throws Exception {
        assumeTrue(TestMemory.membarrierExpedited(), "no membarrier here: the default heap is never biased, and makes no arenas");
        GlimmerHeap heap = Glimmer.defaultHeap();
        HeapStats before = heap.stats();
        int threads = 4;
        int perThread = 300;
        long[][] blocks = new long[threads][perThread];
        List<Thread> workers = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int w = 0; w < threads; w++) {
            long[] mine = blocks[w];
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        mine[i] = heap.malloc(16 + i);
                        TestMemory.fill(mine[i], 16 + i, mine[i]);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "arena-" + w);
            workers.add(t);
            t.start();
        }
        start.countDown();
        for (Thread t : workers) {
            t.join();
        }
        assertNull(failure.get());
        HeapStats mid = heap.stats();
        assertTrue(mid.arenas() >= 1 && mid.arenas() <= 15, mid.toString());
        assertEquals(before.liveBlocks() + threads * perThread, mid.liveBlocks(), mid.toString());
        heap.check();
        Set<Long> walked = new HashSet<>();
        for (BlockInfo b : heap.blocks()) {
            walked.add(b.address());
        }
        for (long[] mine : blocks) {
            for (int i = 0; i < perThread; i++) {
                assertTrue(walked.contains(mine[i]), "the walk shows " + hex(mine[i]));
                assertEquals(-1, TestMemory.firstMismatch(mine[i], 16 + i, mine[i]));
                heap.free(mine[i]);                      // this thread frees every arena's blocks
            }
        }
        HeapStats after = heap.stats();
        assertEquals(before.liveBlocks(), after.liveBlocks(), after.toString());
        assertEquals(before.totalErrors(), after.totalErrors(), after.toString());
        heap.check();
    }

    /**
     * An arena's large block, once unmapped, is remembered where the default heap looks for
     * pointers no arena knows, so that a second free of it is a double free. When a new mapping
     * covers its address, a pointer there is an interior pointer of a live block, refused as
     * foreign; CI once saw such a pointer reported as a double free. The gone block is 64 MiB,
     * a size few holes fit, so that the kernel puts it below every mapping, and a larger mapping
     * then takes its hole and the free space under it; the new mapping grows a MiB at a time
     * until one covers the address.
     */
    @Test
    void anArenasGoneLargeBlockIsNoDoubleFreeOnceANewMappingCoversItsAddress() throws Exception {
        assumeTrue(TestMemory.membarrierExpedited(), "no membarrier here: the default heap is never biased, and makes no arenas");
        GlimmerHeap heap = Glimmer.defaultHeap();
        long[] gone = new long[1];
        assertNull(inAnotherThread(() -> {
            gone[0] = heap.malloc(64 * TestMemory.MiB);
            heap.free(gone[0]);
        }));
        assertThrows(DoubleFreeException.class, () -> heap.free(gone[0]), "a second free of the gone block");
        long errors = heap.stats().totalErrors();
        boolean covered = false;
        for (long size = 65 * TestMemory.MiB; size <= 96 * TestMemory.MiB && !covered; size += TestMemory.MiB) {
            long q = heap.malloc(size);
            covered = gone[0] > q && gone[0] < q + size;
            if (covered) {
                InvalidPointerException e = assertThrows(InvalidPointerException.class, () -> heap.free(gone[0]),
                        "the gone block's address, " + (gone[0] - q) + " bytes into a live " + size + "-byte block");
                assertEquals(gone[0], e.address());
                assertEquals(errors + 1, heap.stats().totalErrors());
            }
            heap.free(q);
        }
        assumeTrue(covered, "no new mapping of 65..96 MiB covered the gone block's address");
        heap.check();
    }

    @Test
    void aSharedHeapIsBiasedToItsCreatorUntilAnotherThreadCallsIt() throws Exception {
        boolean biasable = TestMemory.membarrierExpedited();
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            long p = heap.malloc(48);
            TestMemory.fill(p, 48, 11);
            assertEquals(biasable, heap.stats().lockBiased(), "before another thread called");
            assertNull(inAnotherThread(() -> heap.free(heap.malloc(100))));
            assertFalse(heap.stats().lockBiased(), "after another thread called");
            long q = heap.malloc(48);
            assertFalse(heap.stats().lockBiased(), "a few calls of the creator's do not bring the bias back");
            assertEquals(-1, TestMemory.firstMismatch(p, 48, 11));
            heap.free(p);
            heap.free(q);
            heap.check();
        }
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            assertFalse(heap.stats().lockBiased(), "a confined heap takes no lock at all");
        }
    }

    /**
     * A thread that uses a shared heap alone for a while gets the bias, though it did not
     * build the heap: a worker that takes over from the thread that set things up does not
     * pay the lock on every call for the rest of its life. The builder's next call takes the
     * bias back; the blocks survive both moves.
     */
    @Test
    void aThreadThatUsesASharedHeapAloneForAWhileGetsTheBias() throws Exception {
        boolean biasable = TestMemory.membarrierExpedited();
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            long p = heap.malloc(64);
            TestMemory.fill(p, 64, 23);
            AtomicReference<Boolean> early = new AtomicReference<>();
            AtomicReference<Boolean> late = new AtomicReference<>();
            assertNull(inAnotherThread(() -> {
                heap.free(heap.malloc(16));
                early.set(heap.stats().lockBiased());
                for (int i = 0; i < 20_000; i++) {
                    heap.free(heap.malloc(16 + i % 300));
                }
                late.set(heap.stats().lockBiased());
            }));
            assertFalse(early.get(), "the worker's first calls revoke the builder's bias");
            assertEquals(biasable, late.get(), "after 40,000 calls alone, the worker holds the bias");
            assertFalse(heap.stats().lockBiased(), "the builder's call takes it back");
            assertEquals(-1, TestMemory.firstMismatch(p, 64, 23));
            heap.free(p);
            heap.check();
        }
    }

    @Test
    void aSharedHeapClosedByOneThreadRejectsTheOthers() throws Exception {
        GlimmerHeap heap = GlimmerHeap.ofShared();
        long p = heap.malloc(32);
        assertNull(inAnotherThread(heap::close));
        Throwable t = inAnotherThread(() -> heap.free(p));
        assertInstanceOf(HeapClosedException.class, t);
        assertThrows(HeapClosedException.class, () -> heap.malloc(8));
    }
}
