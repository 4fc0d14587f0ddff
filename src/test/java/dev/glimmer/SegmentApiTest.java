package dev.glimmer;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GlimmerHeap as a SegmentAllocator, and segment lifetimes. */
class SegmentApiTest {

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {0, 1, 7, 8, 15, 16, 17, 100, 1000, 1001, 4096, 1 << 20, 3 << 20})
    void allocateReturnsASegmentOfExactlyTheRequestedSize(long size) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment s = heap.allocate(size);
            assertEquals(size, s.byteSize());
            assertEquals(0, s.address() % 16);
            assertTrue(s.isNative());
            if (size > 0) {
                s.set(JAVA_BYTE, size - 1, (byte) 1);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> s.get(JAVA_BYTE, size),
                    "one byte past the requested size is out of bounds");
        }
    }

    @Test
    void allocateHonoursAlignmentAndKeepsTheExactSize() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment s = heap.allocate(100, 64);
            assertEquals(100, s.byteSize());
            assertEquals(0, s.address() % 64);
            MemorySegment t = heap.allocate(10, 4096);
            assertEquals(10, t.byteSize());
            assertEquals(0, t.address() % 4096);
        }
    }

    @Test
    void theSegmentAllocatorConvenienceMethodsWork() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment str = heap.allocateFrom("glimmer");
            assertEquals("glimmer", str.getString(0));
            MemorySegment ints = heap.allocateFrom(JAVA_INT, 1, 2, 3);
            assertEquals(12, ints.byteSize());
            assertEquals(3, ints.getAtIndex(JAVA_INT, 2));
            assertEquals(0, ints.address() % JAVA_INT.byteAlignment());
        }
    }

    @Test
    void allocateFollowsTheSegmentAllocatorContractForBadArguments() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> heap.allocate(-1));
            assertThrows(IllegalArgumentException.class, () -> heap.allocate(8, 3));
            assertThrows(IllegalArgumentException.class, () -> heap.allocate(8, 0));
            assertThrows(IllegalArgumentException.class, () -> heap.allocate(8, -16));
            SizeOverflowException e = assertThrows(SizeOverflowException.class,
                    () -> heap.allocate(GlimmerHeap.MAX_SIZE + 1));
            assertTrue(e.getMessage().contains(Long.toString(GlimmerHeap.MAX_SIZE + 1)), e.getMessage());
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void segmentsAreInaccessibleAfterClose() {
        GlimmerHeap heap = GlimmerHeap.ofConfined();
        MemorySegment s = heap.allocate(64);
        s.set(JAVA_LONG, 0, 42);
        heap.close();
        assertFalse(s.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> s.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> s.set(JAVA_LONG, 0, 1));
    }

    @Test
    void everyMethodThrowsHeapClosedExceptionAfterClose() {
        GlimmerHeap heap = GlimmerHeap.ofConfined();
        long p = heap.malloc(16);
        MemorySegment seg = heap.allocate(16);
        heap.close();
        assertTrue(heap.isClosed());
        List<Consumer<GlimmerHeap>> calls = List.of(
                h -> h.malloc(16), h -> h.free(p), h -> h.free(0), h -> h.calloc(1, 16),
                h -> h.realloc(p, 32), h -> h.alignedAlloc(64, 16), h -> h.usableSize(p),
                h -> h.allocate(16), h -> h.free(seg), h -> h.reallocate(seg, 32),
                GlimmerHeap::stats, GlimmerHeap::check, GlimmerHeap::blocks, GlimmerHeap::reset,
                GlimmerHeap::trim);
        for (Consumer<GlimmerHeap> call : calls) {
            HeapClosedException e = assertThrows(HeapClosedException.class, () -> call.accept(heap));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void closeIsIdempotent() {
        GlimmerHeap heap = GlimmerHeap.ofConfined();
        heap.close();
        heap.close();
        assertTrue(heap.isClosed());
    }

    @Test
    void resetFreesEveryBlockAndKillsTheSegmentsHandedOutBefore() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment old = heap.allocate(64);
            for (int i = 0; i < 1000; i++) {
                heap.malloc(100);
            }
            heap.malloc(5 << 20);
            heap.reset();
            assertThrows(IllegalStateException.class, () -> old.get(JAVA_BYTE, 0));
            HeapStats s = heap.stats();
            assertEquals(0, s.liveBlocks(), s.toString());
            assertEquals(0, s.liveBytes(), s.toString());
            assertEquals(0, s.largeBlocks(), s.toString());
            heap.check();
            MemorySegment fresh = heap.allocate(64);
            fresh.set(JAVA_LONG, 0, 7);
            assertEquals(7, fresh.get(JAVA_LONG, 0));
            assertThrows(InvalidPointerException.class, () -> heap.free(old),
                    "a segment from before reset() is not this heap's any more");
        }
    }

    @Test
    void reallocateKeepsTheContentsAndReturnsTheExactNewSize() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment s = heap.allocate(40);
            for (int i = 0; i < 40; i++) {
                s.set(JAVA_BYTE, i, (byte) i);
            }
            MemorySegment grown = heap.reallocate(s, 5000);
            assertEquals(5000, grown.byteSize());
            for (int i = 0; i < 40; i++) {
                assertEquals((byte) i, grown.get(JAVA_BYTE, i));
            }
            MemorySegment shrunk = heap.reallocate(grown, 10);
            assertEquals(10, shrunk.byteSize());
            for (int i = 0; i < 10; i++) {
                assertEquals((byte) i, shrunk.get(JAVA_BYTE, i));
            }
            heap.free(shrunk);
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void freeingASegmentReturnsItsBlock() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment s = heap.allocate(100);
            assertEquals(1, heap.stats().liveBlocks());
            heap.free(s);
            assertEquals(0, heap.stats().liveBlocks());
            assertThrows(DoubleFreeException.class, () -> heap.free(s));
        }
    }

    @Test
    void freeingASegmentOfAnotherHeapOrArenaIsRejectedBeforeTheNativeCall() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined();
             GlimmerHeap other = GlimmerHeap.ofConfined();
             Arena arena = Arena.ofConfined()) {
            MemorySegment theirs = other.allocate(32);
            assertThrows(InvalidPointerException.class, () -> heap.free(theirs));
            assertThrows(InvalidPointerException.class, () -> heap.free(arena.allocate(32)));
            assertThrows(InvalidPointerException.class, () -> heap.free(MemorySegment.ofArray(new byte[32])));
            assertThrows(InvalidPointerException.class, () -> heap.reallocate(theirs, 64));
            assertEquals(0, heap.stats().totalErrors(), "nothing reached the native heap");
            other.free(theirs);
            heap.check();
            other.check();
        }
    }

    @Test
    void theArenaViewAllocatesZeroedSegmentsFromTheHeapAndClosesIt() {
        GlimmerHeap heap = GlimmerHeap.ofConfined();
        // dirty some memory first, so zeroing is really tested
        long dirty = heap.malloc(256);
        TestMemory.fill(dirty, 256, 1);
        heap.free(dirty);
        Arena arena = heap.asArena();
        MemorySegment s = arena.allocate(256);
        MemorySegment aligned = arena.allocate(300, 512);
        assertEquals(0, aligned.address() % 512);
        assertEquals(-1, TestMemory.firstNonZero(s.address(), 256));
        assertEquals(-1, TestMemory.firstNonZero(aligned.address(), 300));
        assertEquals(arena.scope(), s.scope());
        assertEquals(2, heap.stats().liveBlocks(), "the view allocates from the heap");
        arena.close();
        assertTrue(heap.isClosed());
        assertThrows(IllegalStateException.class, () -> s.get(JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> arena.allocate(8), "Arena contract");
        assertThrows(IllegalStateException.class, arena::close, "Arena contract: close is not idempotent");
    }

    @Test
    void theArenaViewOfAConfinedHeapIsConfinedToo() throws Exception {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            MemorySegment s = heap.asArena().allocate(8);
            Throwable[] thrown = new Throwable[1];
            Thread t = new Thread(() -> {
                try {
                    s.get(JAVA_BYTE, 0);
                } catch (Throwable e) {
                    thrown[0] = e;
                }
            });
            t.start();
            t.join();
            assertSame(WrongThreadException.class, thrown[0] == null ? null : thrown[0].getClass());
        }
    }
}
