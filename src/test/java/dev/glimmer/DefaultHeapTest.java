package dev.glimmer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The process-wide default heap. */
class DefaultHeapTest {

    @Test
    void theDefaultHeapIsOneSharedHeapThatCannotBeClosedOrReset() {
        GlimmerHeap heap = Glimmer.defaultHeap();
        assertSame(heap, Glimmer.defaultHeap());
        assertTrue(heap.isShared());
        assertTrue(heap.isDefault());
        assertThrows(UnsupportedOperationException.class, heap::close);
        assertThrows(UnsupportedOperationException.class, heap::reset);
        assertThrows(UnsupportedOperationException.class, () -> heap.asArena().close());
        assertFalse(heap.isClosed());
        long p = heap.malloc(64);
        heap.free(p);
    }

    @Test
    void theDefaultHeapServesOtherThreadsAndItsSegmentsAreGlobal() throws Exception {
        GlimmerHeap heap = Glimmer.defaultHeap();
        MemorySegment s = heap.allocate(16);
        assertNull(ThreadingTest.inAnotherThread(() -> s.set(JAVA_LONG, 0, 3)));
        assertEquals(3, s.get(JAVA_LONG, 0));
        assertNull(ThreadingTest.inAnotherThread(() -> heap.free(s)));
        assertThrows(DoubleFreeException.class, () -> heap.free(s.address()));
    }

    @Test
    void theVersionAndLibraryOriginAreKnown() {
        assertFalse(Glimmer.version().isBlank());
        assertTrue(Glimmer.libraryOrigin().contains("libglimmer"), Glimmer.libraryOrigin());
    }
}
