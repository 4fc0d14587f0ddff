package dev.glimmer;

import static dev.glimmer.TestMemory.SEGMENT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glimmer.internal.GlimmerNative;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rule for {@code close()}, {@code reset()} and {@code blocks()} of a shared heap while
 * other threads use it: they are exclusive. Each stops new calls from starting, waits for the
 * calls in flight (single native calls) to return, runs alone, then lets the held calls go on —
 * on the emptied heap after a reset, with {@link HeapClosedException} after a close. So the
 * native heap is never destroyed or reset under a call that is still inside it.
 */
class SharedHeapLifecycleTest {

    /** A thread that records what its body threw. */
    private static final class Worker extends Thread {
        final AtomicReference<Throwable> thrown = new AtomicReference<>();
        private final Runnable body;

        Worker(String name, Runnable body) {
            super(name);
            this.body = body;
            setDaemon(true);
        }

        @Override
        public void run() {
            try {
                body.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
        }

        /**
         * Whether the thread is still busy 300 ms after it started its call: calls that are not
         * held take microseconds, so a thread still alive then is waiting.
         */
        boolean blocks() throws InterruptedException {
            join(300);
            return isAlive();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("timed out");
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void closeWaitsForTheCallInFlightAndLaterCallsThrowHeapClosedException() throws Exception {
        GlimmerHeap heap = GlimmerHeap.ofShared();
        long handle = heap.handle();
        CountDownLatch inCall = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong nativeResult = new AtomicLong();
        Worker a = new Worker("in-flight", () -> heap.asOneCall(() -> {
            inCall.countDown();
            await(release);
            // still inside the call: the native heap must be alive
            long p = GlimmerNative.heapMalloc(handle, 64);
            TestMemory.fill(p, 64, 1);
            nativeResult.set(p);
            GlimmerNative.heapFree(handle, p);
        }));
        a.start();
        await(inCall);
        assertEquals(1, heap.inFlight());
        Worker closer = new Worker("closer", heap::close);
        closer.start();
        assertTrue(closer.blocks(), "close() waits for the call in flight");
        Worker late = new Worker("late", () -> heap.malloc(8));
        late.start();
        assertTrue(late.blocks(), "a call that starts while close() waits is held off");
        release.countDown();
        for (Worker w : List.of(a, closer, late)) {
            w.join(60_000);
            assertFalse(w.isAlive(), w.getName() + " finished");
        }
        assertNull(a.thrown.get());
        assertNotEquals(0, nativeResult.get(), "the call in flight ran on a live heap");
        assertNull(closer.thrown.get());
        assertInstanceOf(HeapClosedException.class, late.thrown.get(), "the held call fails once the heap is closed");
        assertTrue(heap.isClosed());
        assertThrows(HeapClosedException.class, () -> heap.malloc(8));
        assertThrows(HeapClosedException.class, heap::stats);
        heap.close();                          // idempotent
    }

    @Test
    void resetWaitsForTheCallInFlightAndHoldsNewCallsOffUntilItIsDone() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            long handle = heap.handle();
            MemorySegment before = heap.allocate(100);
            CountDownLatch inCall = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicLong freeStatus = new AtomicLong(-99);
            Worker a = new Worker("in-flight", () -> heap.asOneCall(() -> {
                long p = GlimmerNative.heapMalloc(handle, 64);
                inCall.countDown();
                await(release);
                TestMemory.fill(p, 64, 2);
                // reset has not happened yet: this is still a live block
                freeStatus.set(GlimmerNative.heapFree(handle, p));
            }));
            a.start();
            await(inCall);
            Worker resetter = new Worker("resetter", heap::reset);
            resetter.start();
            assertTrue(resetter.blocks(), "reset() waits for the call in flight");
            AtomicLong lateBlock = new AtomicLong();
            Worker late = new Worker("late", () -> lateBlock.set(heap.malloc(48)));
            late.start();
            assertTrue(late.blocks(), "a call that starts while reset() waits is held off");
            release.countDown();
            for (Worker w : List.of(a, resetter, late)) {
                w.join(60_000);
                assertFalse(w.isAlive(), w.getName() + " finished");
                assertNull(w.thrown.get(), w.getName() + " threw " + w.thrown.get());
            }
            assertEquals(0, freeStatus.get(), "the block of the call in flight was freed before the reset");
            // the held call ran after the reset: its block is the only live one
            assertNotEquals(0, lateBlock.get());
            HeapStats s = heap.stats();
            assertEquals(1, s.liveBlocks(), s.toString());
            assertEquals(0, s.totalErrors(), s.toString());
            assertTrue(heap.usableSize(lateBlock.get()) >= 48);
            assertThrows(IllegalStateException.class, () -> before.get(JAVA_LONG, 0), "segments die with reset");
            heap.check();
            heap.free(lateBlock.get());
        }
    }

    @Test
    void blocksWaitsForTheCallInFlight() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            long p = heap.malloc(100);
            CountDownLatch inCall = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Worker a = new Worker("in-flight", () -> heap.asOneCall(() -> {
                inCall.countDown();
                await(release);
                GlimmerNative.heapFree(heap.handle(), p);
            }));
            a.start();
            await(inCall);
            AtomicReference<List<BlockInfo>> walked = new AtomicReference<>();
            Worker walker = new Worker("walker", () -> walked.set(heap.blocks()));
            walker.start();
            assertTrue(walker.blocks(), "blocks() waits for the call in flight");
            release.countDown();
            a.join(60_000);
            walker.join(60_000);
            assertNull(walker.thrown.get());
            assertTrue(walked.get().stream().noneMatch(b -> b.address() == p && b.state() == BlockInfo.State.USED),
                    "the walk ran after the free in flight: " + walked.get());
        }
    }

    /**
     * blocks() walks the heap with many native calls; on a shared heap it is exclusive, so it
     * sees one consistent heap while other threads allocate and free: every segment is tiled
     * exactly by its blocks, from the first block to the end fencepost, and no two free blocks
     * touch (a walk interleaved with a coalescing free could see a block and, after it, the
     * header the coalescer just absorbed).
     */
    @Test
    void blocksSeesAConsistentHeapWhileOtherThreadsAllocateAndFree() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofShared()) {
            AtomicBoolean stop = new AtomicBoolean();
            List<Worker> workers = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                SplittableRandom random = new SplittableRandom(t);
                Worker w = new Worker("churn-" + t, () -> {
                    List<Long> mine = new ArrayList<>();
                    while (!stop.get()) {
                        if (mine.size() < 300 && (mine.isEmpty() || random.nextBoolean())) {
                            mine.add(heap.malloc(random.nextLong(1, random.nextInt(20) == 0 ? 200_000 : 20_000)));
                        } else {
                            heap.free(mine.remove(random.nextInt(mine.size())));
                        }
                    }
                    mine.forEach(heap::free);
                });
                workers.add(w);
                w.start();
            }
            try {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(800);
                int walks = 0;
                while (System.nanoTime() < deadline || walks < 20) {
                    assertTiled(heap.blocks());
                    walks++;
                }
            } finally {
                stop.set(true);
                for (Worker w : workers) {
                    w.join(60_000);
                    assertNull(w.thrown.get(), w.getName() + " threw " + w.thrown.get());
                }
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    /** Blocks of each segment, in walk order, cover it from the first block to the end fencepost. */
    private static void assertTiled(List<BlockInfo> blocks) {
        Map<Long, Long> next = new HashMap<>();
        Map<Long, Boolean> previousFree = new HashMap<>();
        for (BlockInfo b : blocks) {
            if (b.state() == BlockInfo.State.LARGE) {
                continue;
            }
            long seg = (b.address() - 8) & ~(SEGMENT - 1);
            long expected = next.getOrDefault(seg, seg + TestMemory.FIRST_BLOCK);
            if (b.address() != expected) {
                fail("walk is inconsistent: " + b + " where a block at 0x" + Long.toHexString(expected)
                        + " was expected");
            }
            boolean free = b.state() == BlockInfo.State.FREE;
            if (free && previousFree.getOrDefault(seg, false)) {
                fail("walk is inconsistent: two free blocks touch at " + b);
            }
            previousFree.put(seg, free);
            next.put(seg, b.address() + b.size());
        }
        for (Map.Entry<Long, Long> e : next.entrySet()) {
            assertEquals(e.getKey() + SEGMENT, e.getValue(), "the last block of a segment ends at its end fencepost");
        }
    }

    /**
     * Many rounds of: threads use a shared heap flat out (raw malloc/free, segments allocated,
     * written, read, resized, freed), the main thread closes it at a random moment. In a child
     * JVM: a call on a destroyed heap would crash it.
     */
    @Test
    void closingASharedHeapUnderFullUseNeverCrashes() throws Exception {
        ChildJvm.Result r = ChildJvm.run(LifecycleRaceProbe.class, "close", "150", "4", Long.toString(TestMemory.seed()));
        assertEquals(0, r.exitCode(), r.describe());
        String out = r.cleanOutput();
        assertTrue(out.endsWith("survived"), r.describe());
        assertFalse(out.contains("unexpected"), r.describe());
        assertTrue(out.contains("HeapClosedException: 600"), "every worker of every round ended with"
                + " HeapClosedException:\n" + out);
    }

    /** Threads use segments of a shared heap while the main thread resets it again and again. */
    @ParameterizedTest(name = "{0} threads")
    @ValueSource(ints = {2, 4})
    void resettingASharedHeapUnderFullUseNeverCrashes(int threads) throws Exception {
        ChildJvm.Result r = ChildJvm.run(LifecycleRaceProbe.class, "reset", "300", Integer.toString(threads),
                Long.toString(TestMemory.seed()));
        assertEquals(0, r.exitCode(), r.describe());
        String out = r.cleanOutput();
        assertTrue(out.endsWith("survived"), r.describe());
        assertFalse(out.contains("unexpected"), r.describe());
        assertTrue(out.contains("check after the resets: ok"), r.describe());
        assertTrue(out.contains("IllegalStateException"), "some segments died with a reset:\n" + out);
    }

    @Test
    void theDefaultHeapCanBeNeitherClosedNorResetFromAnyThread() throws Exception {
        GlimmerHeap heap = Glimmer.defaultHeap();
        assertInstanceOf(UnsupportedOperationException.class, ThreadingTest.inAnotherThread(heap::close));
        assertInstanceOf(UnsupportedOperationException.class, ThreadingTest.inAnotherThread(heap::reset));
        long p = heap.malloc(16);
        heap.free(p);
    }

    @Test
    void aSharedHeapClosedTwiceFromTwoThreadsIsClosedOnce() throws Exception {
        for (int i = 0; i < 50; i++) {
            GlimmerHeap heap = GlimmerHeap.ofShared();
            heap.malloc(100);
            CountDownLatch go = new CountDownLatch(1);
            Worker a = new Worker("a", () -> {
                await(go);
                heap.close();
            });
            Worker b = new Worker("b", () -> {
                await(go);
                heap.close();
            });
            a.start();
            b.start();
            go.countDown();
            a.join();
            b.join();
            assertNull(a.thrown.get());
            assertNull(b.thrown.get());
            assertTrue(heap.isClosed());
        }
    }
}
