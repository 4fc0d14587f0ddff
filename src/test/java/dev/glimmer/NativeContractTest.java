package dev.glimmer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glimmer.internal.GlimmerNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * glimmer.h's promises, called directly through the binding (no Java-side checks in the
 * way): statuses, last_error, the native overflow checks, the default-heap functions.
 */
class NativeContractTest {

    private long heap;

    @BeforeEach
    void create() {
        heap = GlimmerNative.heapCreate(0);     // NULL options: an owned heap with defaults
        assertNotEquals(0, heap);
    }

    @AfterEach
    void destroy() {
        GlimmerNative.heapDestroy(heap);
    }

    @Test
    void freeOfNullReturnsOk() {
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapFree(heap, 0));
    }

    @Test
    void lastErrorReportsTheStatusOnceThenIsCleared() {
        assertEquals(0, GlimmerNative.heapMalloc(heap, -1L));          // SIZE_MAX
        assertEquals(GlimmerNative.GL_E_SIZE, GlimmerNative.heapLastError(heap));
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapLastError(heap));
    }

    @Test
    void theNativeCallocCatchesAProductThatOverflows64Bits() {
        assertEquals(0, GlimmerNative.heapCalloc(heap, 1L << 33, 1L << 33));
        assertEquals(GlimmerNative.GL_E_SIZE, GlimmerNative.heapLastError(heap));
        assertEquals(0, GlimmerNative.heapCalloc(heap, -1L, 2));
        assertEquals(GlimmerNative.GL_E_SIZE, GlimmerNative.heapLastError(heap));
        assertEquals(0, GlimmerNative.heapCalloc(heap, 3, 0x5555_5555_5555_5556L));   // 3 * that = 2^64 + 2
        assertEquals(GlimmerNative.GL_E_SIZE, GlimmerNative.heapLastError(heap));
    }

    @Test
    void theNativeAlignedAllocRejectsAlignmentsThatAreNotPowersOfTwo() {
        for (long alignment : new long[] {0, 3, 24, -16L}) {
            assertEquals(0, GlimmerNative.heapAlignedAlloc(heap, alignment, 64), "alignment " + alignment);
            assertEquals(GlimmerNative.GL_E_ALIGN, GlimmerNative.heapLastError(heap), "alignment " + alignment);
        }
    }

    @Test
    void freeReturnsTheStatusOfTheMisuseAndCountsItByKind() {
        long p = GlimmerNative.heapMalloc(heap, 64);
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapFree(heap, p));
        assertEquals(GlimmerNative.GL_E_DOUBLE_FREE, GlimmerNative.heapFree(heap, p));
        assertEquals(GlimmerNative.GL_E_NOT_OURS, GlimmerNative.heapFree(heap, 0x1000));
        assertEquals(GlimmerNative.GL_E_NOT_OURS, GlimmerNative.heapFree(heap, p + 1));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(GlimmerNative.GL_STATS);
            GlimmerNative.heapStats(heap, st.address());
            long errors = GlimmerNative.ST_ERRORS;
            assertEquals(1, st.get(JAVA_LONG, errors + 8), "errors[1]: double frees");
            assertEquals(2, st.get(JAVA_LONG, errors + 16), "errors[2]: not ours");
        }
    }

    /** What a failed realloc's pointer is, asked without touching the heap's one last-error word. */
    @Test
    void pointerStatusAnswersAsFreeWouldAndLeavesTheLastErrorAlone() {
        long live = GlimmerNative.heapMalloc(heap, 64);
        long freed = GlimmerNative.heapMalloc(heap, 64);
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapFree(heap, freed));
        assertEquals(0, GlimmerNative.heapMalloc(heap, -1L));          // records GL_E_SIZE
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapPointerStatus(heap, live));
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapPointerStatus(heap, 0));
        assertEquals(GlimmerNative.GL_E_DOUBLE_FREE, GlimmerNative.heapPointerStatus(heap, freed));
        assertEquals(GlimmerNative.GL_E_NOT_OURS, GlimmerNative.heapPointerStatus(heap, live + 16));
        assertEquals(GlimmerNative.GL_E_NOT_OURS, GlimmerNative.heapPointerStatus(heap, 0x1000));
        assertEquals(GlimmerNative.GL_E_SIZE, GlimmerNative.heapLastError(heap), "the earlier failure's status");
        assertEquals(GlimmerNative.GL_OK, GlimmerNative.heapFree(heap, live));
    }

    @Test
    void mallocOfZeroReturnsAUniqueValidPointerEachTime() {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            long p = GlimmerNative.heapMalloc(heap, 0);
            assertNotEquals(0, p);
            assertTrue(seen.add(p), "malloc(0) returned " + Long.toHexString(p) + " twice while live");
        }
        for (long p : seen) {
            assertEquals(0, GlimmerNative.heapFree(heap, p));
        }
        assertEquals(0, GlimmerNative.heapCheck(heap, 0));
    }

    @Test
    void reallocToZeroReturnsAValidMinimumBlock() {
        long p = GlimmerNative.heapMalloc(heap, 100);
        long q = GlimmerNative.heapRealloc(heap, p, 0);
        assertNotEquals(0, q);
        assertEquals(0, GlimmerNative.heapFree(heap, q));
        assertEquals(0, GlimmerNative.heapCheck(heap, 0));
    }

    @Test
    void reallocOfNullIsMalloc() {
        long p = GlimmerNative.heapRealloc(heap, 0, 100);
        assertNotEquals(0, p);
        assertTrue(GlimmerNative.heapUsableSize(heap, p) >= 100);
        assertEquals(0, GlimmerNative.heapFree(heap, p));
    }

    @Test
    void checkAcceptsANullReport() {
        GlimmerNative.heapMalloc(heap, 10);
        assertEquals(0, GlimmerNative.heapCheck(heap, 0));
    }

    @Test
    void theDefaultHeapFunctionsWorkAndSurviveMisuse() {
        long p = GlimmerNative.malloc(100);
        assertNotEquals(0, p);
        assertEquals(0, p % 16);
        assertTrue(GlimmerNative.usableSize(p) >= 100);
        long q = GlimmerNative.realloc(p, 5000);
        assertNotEquals(0, q);
        assertTrue(GlimmerNative.usableSize(q) >= 5000);
        long z = GlimmerNative.calloc(10, 10);
        assertEquals(-1, TestMemory.firstNonZero(z, 100));
        long a = GlimmerNative.alignedAlloc(256, 10);
        assertEquals(0, a % 256);
        GlimmerNative.free(q);
        GlimmerNative.free(z);
        GlimmerNative.free(a);
        GlimmerNative.free(0);
        GlimmerNative.free(a);        // a double free: counted, never fatal
        GlimmerNative.free(0x1000);   // not ours: counted, never fatal
        assertEquals(0, GlimmerNative.calloc(1L << 40, 1L << 40));
        long h = GlimmerNative.defaultHeap();
        assertNotEquals(0, h);
        assertEquals(0, GlimmerNative.heapCheck(h, 0));
    }
}
