package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glimmer.internal.GlimmerNative;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Misuse becomes a precise exception, and the heap survives it intact. */
class MisuseTest {

    /** The heap still passes check(), a victim block kept its contents, and malloc/free work. */
    static void assertHeapSurvived(GlimmerHeap heap, long victim, long victimSize, long key) {
        heap.check();
        assertEquals(-1, TestMemory.firstMismatch(victim, victimSize, key), "the live block was disturbed");
        assertTrue(heap.usableSize(victim) >= victimSize, "the live block is still live");
        long p = heap.malloc(48);
        heap.free(p);
        heap.check();
    }

    static <T extends GlimmerException> T assertRejected(Class<T> type, long address, Executable call) {
        T e = assertThrows(type, call);
        assertEquals(address, e.address());
        assertTrue(e.getMessage().contains(hex(address)), "message names the address: " + e.getMessage());
        return e;
    }

    // ---- double free ------------------------------------------------------------------

    @Test
    void freeingABlockTwiceThrowsDoubleFreeException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(64);
            heap.free(p);                          // now in the recently-freed cache
            DoubleFreeException e = assertRejected(DoubleFreeException.class, p, () -> heap.free(p));
            assertEquals(GlimmerNative.GL_E_DOUBLE_FREE, e.status());
            assertEquals(1, heap.stats().errorCount(GlimmerNative.GL_E_DOUBLE_FREE));
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    @Test
    void freeingABlockTwiceWithoutTheCacheThrowsDoubleFreeException() {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(64);
            long guard = heap.malloc(64);
            heap.free(p);                          // now a free block in a bin
            assertRejected(DoubleFreeException.class, p, () -> heap.free(p));
            heap.free(guard);                      // coalesces with p
            assertRejected(DoubleFreeException.class, p, () -> heap.free(p));
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    @Test
    void freeingABlockTwiceAfterTheCacheWasFlushedThrowsDoubleFreeException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(500);
            long guard = heap.malloc(16);
            heap.free(p);
            heap.check();                          // flush: p is now a free block
            assertRejected(DoubleFreeException.class, p, () -> heap.free(p));
            heap.free(guard);
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    @Test
    void freeingAnUnmappedLargeBlockAgainIsRejectedWithoutTouchingIt() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(2 * MiB);
            heap.free(p);                          // unmapped: reading its descriptor would crash
            GlimmerException e = assertThrows(GlimmerException.class, () -> heap.free(p));
            assertTrue(e instanceof DoubleFreeException || e instanceof InvalidPointerException,
                    "double free or not ours, both are right once the mapping is gone: " + e);
            assertEquals(p, e.address());
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    @Test
    void reallocOfAFreedBlockThrowsDoubleFreeException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(64);
            heap.free(p);
            assertRejected(DoubleFreeException.class, p, () -> heap.realloc(p, 128));
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    // ---- pointers that are not ours ---------------------------------------------------

    @Test
    void freeingGlibcMemoryThrowsInvalidPointerException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long foreign = TestMemory.glibcMalloc(64);
            try {
                InvalidPointerException e = assertRejected(InvalidPointerException.class, foreign,
                        () -> heap.free(foreign));
                assertEquals(GlimmerNative.GL_E_NOT_OURS, e.status());
                assertEquals(1, heap.stats().errorCount(GlimmerNative.GL_E_NOT_OURS));
            } finally {
                TestMemory.glibcFree(foreign);
            }
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    // Wild addresses (unmapped, kernel space, first pages) are in WildPointerTest: a child JVM
    // each, so that a native crash fails one test instead of killing the test run.

    @ParameterizedTest(name = "p + {0}")
    @ValueSource(longs = {16, 32, 8, 1, 4, 48, -16})
    void freeingAPointerIntoOrNearABlockThrowsInvalidPointerException(long offset) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(200);
            TestMemory.fill(p, 200, 2);
            long bad = p + offset;
            assertRejected(InvalidPointerException.class, bad, () -> heap.free(bad));
            assertHeapSurvived(heap, victim, 64, 1);
            assertEquals(-1, TestMemory.firstMismatch(p, 200, 2), "the block itself is untouched");
            heap.free(p);
            heap.check();
        }
    }

    @ParameterizedTest(name = "p + {0}")
    @ValueSource(longs = {16, 4096, 1 << 20, 8, -64, -8})
    void freeingAPointerIntoOrBeforeALargeBlockThrowsInvalidPointerException(long offset) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long p = heap.malloc(3 * MiB);
            long bad = p + offset;
            assertRejected(InvalidPointerException.class, bad, () -> heap.free(bad));
            assertHeapSurvived(heap, victim, 64, 1);
            heap.free(p);
            heap.check();
        }
    }

    @Test
    void freeingABlockOfAnotherHeapThrowsInvalidPointerException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined(); GlimmerHeap other = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long theirs = other.malloc(64);
            long theirsLarge = other.malloc(2 * MiB);
            assertRejected(InvalidPointerException.class, theirs, () -> heap.free(theirs));
            assertRejected(InvalidPointerException.class, theirsLarge, () -> heap.free(theirsLarge));
            assertHeapSurvived(heap, victim, 64, 1);
            other.free(theirs);
            other.free(theirsLarge);
            other.check();
        }
    }

    @Test
    void freeingTheHeapsOwnMetadataThrowsInvalidPointerException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            for (long off : new long[] {0, 16, 4096, 8192}) {
                long bad = heap.handle() + off;
                assertRejected(InvalidPointerException.class, bad, () -> heap.free(bad));
            }
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    @Test
    void reallocOfAForeignPointerThrowsInvalidPointerException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            long foreign = TestMemory.glibcMalloc(64);
            try {
                assertRejected(InvalidPointerException.class, foreign, () -> heap.realloc(foreign, 128));
            } finally {
                TestMemory.glibcFree(foreign);
            }
            assertRejected(InvalidPointerException.class, victim + 16, () -> heap.realloc(victim + 16, 8));
            assertHeapSurvived(heap, victim, 64, 1);
        }
    }

    @Test
    void usableSizeOfAPointerThatIsNotALiveBlockIsZero() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p = heap.malloc(64);
            long foreign = TestMemory.glibcMalloc(64);
            try {
                assertEquals(0, heap.usableSize(foreign));
                assertEquals(0, heap.usableSize(p + 16));
                assertEquals(0, heap.usableSize(0x1000));
                assertEquals(0, heap.usableSize(0));
            } finally {
                TestMemory.glibcFree(foreign);
            }
            heap.free(p);
            assertEquals(0, heap.usableSize(p), "a freed block is not live");
            heap.check();
        }
    }

    @Test
    void freeOfZeroDoesNothing() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            heap.free(0);
            HeapStats s = heap.stats();
            assertEquals(0, s.totalErrors(), s.toString());
            heap.check();
        }
    }

    // ---- sizes and alignments ---------------------------------------------------------

    @ParameterizedTest(name = "malloc({0})")
    @ValueSource(longs = {-1, -16, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 44, (1L << 44) - (1L << 20) + 1,
            1L << 62})
    void impossibleSizesThrowSizeOverflowException(long size) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long victim = heap.malloc(64);
            TestMemory.fill(victim, 64, 1);
            SizeOverflowException e = assertThrows(SizeOverflowException.class, () -> heap.malloc(size));
            assertTrue(e.getMessage().contains(Long.toString(size)), "message names the size: " + e.getMessage());
            assertThrows(SizeOverflowException.class, () -> heap.calloc(1, size));
            assertThrows(SizeOverflowException.class, () -> heap.alignedAlloc(64, size));
            assertThrows(SizeOverflowException.class, () -> heap.realloc(victim, size));
            assertThrows(SizeOverflowException.class, () -> heap.realloc(0, size));
            assertHeapSurvived(heap, victim, 64, 1);   // the failed realloc left the block alone
            assertEquals(1, heap.stats().liveBlocks());
        }
    }

    @Test
    void theLargestAcceptedSizeIsEitherMappedOrAnOrdinaryOutOfMemory() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long p;
            try {
                p = heap.malloc(GlimmerHeap.MAX_SIZE);
            } catch (NativeOutOfMemoryException e) {
                assertEquals(GlimmerHeap.MAX_SIZE, e.requestedBytes());
                assertEquals(GlimmerNative.GL_E_NOMEM, e.status());
                heap.check();
                return;
            }
            heap.free(p);    // overcommit allowed 16 TiB of address space
            heap.check();
        }
    }

    @Test
    void callocWhoseProductOverflowsThrowsSizeOverflowException() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long[][] cases = {
                    {1L << 32, 1L << 32}, {Long.MAX_VALUE, 2}, {3, Long.MAX_VALUE / 2}, {-1, 16}, {16, -1},
                    {1L << 22, 1L << 22},          // 2^44: no overflow in 64 bits, but above GL_MAX_SIZE
                    {1L << 31, (1L << 13) + 1}};
            for (long[] c : cases) {
                SizeOverflowException e = assertThrows(SizeOverflowException.class, () -> heap.calloc(c[0], c[1]),
                        "calloc(" + c[0] + ", " + c[1] + ")");
                assertTrue(e.getMessage().contains("calloc(" + c[0]), e.getMessage());
            }
            heap.check();
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @ParameterizedTest(name = "alignment {0}")
    @ValueSource(longs = {0, -16, 3, 24, 48, 100, 4097, Long.MIN_VALUE})
    void alignmentsThatAreNotPowersOfTwoThrowInvalidAlignmentException(long alignment) {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            InvalidAlignmentException e = assertThrows(InvalidAlignmentException.class,
                    () -> heap.alignedAlloc(alignment, 64));
            assertEquals(GlimmerNative.GL_E_ALIGN, e.status());
            assertTrue(e.getMessage().contains(Long.toString(alignment)), e.getMessage());
            heap.check();
        }
    }

    // ---- corruption -------------------------------------------------------------------

    @Test
    void checkNamesTheDamagedHeaderAfterAWritePastTheEndOfABlock() {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long a = heap.malloc(64);
            long b = heap.malloc(64);
            long lo = Math.min(a, b);
            long hi = Math.max(a, b);
            assertEquals(hex(lo + 80), hex(hi), "adjacent blocks");
            long header = hi - 8;
            ALL.set(JAVA_LONG, header, ~ALL.get(JAVA_LONG, header));   // overflow from lo into hi's header
            HeapCorruptionException e = assertThrows(HeapCorruptionException.class, heap::check);
            assertEquals(header, e.address(), e.getMessage());
            assertTrue(e.invariant() == HeapCorruptionException.Invariant.BAD_TAG
                    || e.invariant() == HeapCorruptionException.Invariant.BAD_SIZE, e.getMessage());
            assertTrue(e.getMessage().contains(e.invariant().name()), e.getMessage());
            assertTrue(e.getMessage().contains(hex(header)), e.getMessage());
            assertEquals(GlimmerNative.GL_E_CORRUPT, e.status());
            // freeing the damaged block is refused, not followed into garbage
            GlimmerException f = assertThrows(GlimmerException.class, () -> heap.free(hi));
            assertTrue(f instanceof HeapCorruptionException || f instanceof InvalidPointerException, f.toString());
            ALL.set(JAVA_LONG, header, ~ALL.get(JAVA_LONG, header));   // repair, so close() is clean
            heap.check();
        }
    }

    @Test
    void aBlockWhoseStartBitWasClearedIsRefusedByFreeAndNamedByCheck() {
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long a = heap.malloc(64);
            long b = heap.malloc(64);
            assertTrue(TestMemory.isStart(a) && TestMemory.isStart(b), "live blocks are block starts");
            TestMemory.flipStart(b);
            HeapCorruptionException e = assertThrows(HeapCorruptionException.class, heap::check);
            assertEquals(HeapCorruptionException.Invariant.STARTS, e.invariant(), e.getMessage());
            assertEquals(hex(b - 8), hex(e.address()), e.getMessage());
            // no block starts at b as far as the heap can tell: not its to free, and it stays live
            InvalidPointerException f = assertThrows(InvalidPointerException.class, () -> heap.free(b));
            assertEquals(GlimmerNative.GL_E_NOT_OURS, f.status());
            assertEquals(2, heap.stats().liveBlocks());
            TestMemory.flipStart(b);                                  // repair
            heap.check();
            heap.free(b);
            heap.free(a);
            heap.check();
        }
    }

    @Test
    void aStrayBlockStartBitInsideALiveBlockIsReportedByCheckAndNeverFreed() {
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            long a = heap.malloc(200);
            long inside = a + 96;
            assertTrue(!TestMemory.isStart(inside), "the inside of a block is no block start");
            long segment = (a - 8) & ~(TestMemory.SEGMENT - 1);
            TestMemory.flipStart(inside);
            HeapCorruptionException e = assertThrows(HeapCorruptionException.class, heap::check);
            assertEquals(HeapCorruptionException.Invariant.STARTS, e.invariant(), e.getMessage());
            assertEquals(hex(segment), hex(e.address()), "the segment whose bitmap has a bit too many");
            // the word in front of the stray start is user data: it fails the tag, the block is a's
            ALL.set(JAVA_LONG, inside - 8, 0L);
            GlimmerException f = assertThrows(GlimmerException.class, () -> heap.free(inside));
            assertEquals(GlimmerNative.GL_E_CORRUPT, f.status(), f.toString());
            TestMemory.flipStart(inside);                             // repair
            heap.check();
            heap.free(a);
            heap.check();
        }
    }

    @Test
    void theInvariantCodesOfGlimmerHMapToTheirNames() {
        assertEquals(HeapCorruptionException.Invariant.BAD_TAG,
                HeapCorruptionException.Invariant.ofCode(GlimmerNative.GL_CHECK_BAD_TAG));
        assertEquals(HeapCorruptionException.Invariant.ADJACENT_FREE,
                HeapCorruptionException.Invariant.ofCode(GlimmerNative.GL_CHECK_ADJACENT_FREE));
        assertEquals(HeapCorruptionException.Invariant.TOP,
                HeapCorruptionException.Invariant.ofCode(GlimmerNative.GL_CHECK_TOP));
        assertEquals(HeapCorruptionException.Invariant.UNKNOWN, HeapCorruptionException.Invariant.ofCode(99));
        assertEquals(HeapCorruptionException.Invariant.STARTS,
                HeapCorruptionException.Invariant.ofCode(GlimmerNative.GL_CHECK_STARTS));
        for (int code = 1; code <= 15; code++) {
            assertEquals(code, HeapCorruptionException.Invariant.ofCode(code).code());
        }
    }

    @Test
    void everyGlimmerExceptionIsARuntimeExceptionWithStatusAndAddress() {
        GlimmerException e = new DoubleFreeException(0x1234, "x");
        assertInstanceOf(RuntimeException.class, e);
        assertEquals(GlimmerNative.GL_E_DOUBLE_FREE, e.status());
        assertEquals(0x1234, e.address());
    }
}
