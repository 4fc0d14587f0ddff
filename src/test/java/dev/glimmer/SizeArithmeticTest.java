package dev.glimmer;

import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.hex;
import static dev.glimmer.internal.GlimmerNative.GL_E_ALIGN;
import static dev.glimmer.internal.GlimmerNative.GL_E_NOMEM;
import static dev.glimmer.internal.GlimmerNative.GL_E_SIZE;
import static dev.glimmer.internal.GlimmerNative.GL_MAX_SIZE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glimmer.internal.GlimmerNative;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Size arithmetic: requests of SIZE_MAX, SIZE_MAX - k, PTRDIFF_MAX + k, just above
 * GL_MAX_SIZE, calloc products that overflow, aligned allocations with alignments that are not
 * powers of two or whose padding overflows. Each returns NULL with {@code GL_E_SIZE} /
 * {@code GL_E_ALIGN} ({@link SizeOverflowException} / {@link InvalidAlignmentException} in
 * Java), and the heap is exactly as it was: statistics equal before and after, but for the
 * error counter. A failed realloc leaves the block valid, in place, with its contents.
 *
 * <p>Sizes are C's {@code size_t}: a Java {@code long} read as unsigned. The Java API rejects
 * negative longs (sizes of 2^63 and more) itself, with the same exception and status, without
 * reaching native code; glimmer.h gets them as they are.
 */
class SizeArithmeticTest {

    static final long SIZE_MAX = -1L;
    static final long PTRDIFF_MAX = Long.MAX_VALUE;

    /** Sizes no call may accept. */
    static final long[] IMPOSSIBLE = {
            SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 7, SIZE_MAX - 8, SIZE_MAX - 15, SIZE_MAX - 16, SIZE_MAX - 23,
            SIZE_MAX - 24, SIZE_MAX - 31, SIZE_MAX - 32, SIZE_MAX - 4095, SIZE_MAX - 4096, SIZE_MAX - MiB,
            SIZE_MAX - GL_MAX_SIZE,
            PTRDIFF_MAX + 1, PTRDIFF_MAX + 2, PTRDIFF_MAX + 8, PTRDIFF_MAX + 16, PTRDIFF_MAX + 4096,
            PTRDIFF_MAX, PTRDIFF_MAX - 7, PTRDIFF_MAX - 15,
            GL_MAX_SIZE + 1, GL_MAX_SIZE + 8, GL_MAX_SIZE + 15, GL_MAX_SIZE + 16, GL_MAX_SIZE + MiB,
            1L << 44, 1L << 48, 1L << 62, 1L << 63};

    /** {@code call} returns NULL with {@code status}, and nothing in the heap changes but that counter. */
    static void assertRefused(HeapDriver h, int status, String what, LongSupplier call) {
        HeapStats before = h.stats();
        long p = call.getAsLong();
        assertEquals(0, p, h + ": " + what + " returned " + hex(p));
        h.assertRejected(status, before, what);
        HeapDriver.assertUnchangedButErrors(before, h.stats(), h + ": " + what);
    }

    static String u(long size) {
        return Long.toUnsignedString(size);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void impossibleSizesAreRefusedByEveryAllocatingCall(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            for (long size : IMPOSSIBLE) {
                assertRefused(h, GL_E_SIZE, "malloc(" + u(size) + ")", () -> h.malloc(size));
                assertRefused(h, GL_E_SIZE, "calloc(1, " + u(size) + ")", () -> h.calloc(1, size));
                assertRefused(h, GL_E_SIZE, "calloc(" + u(size) + ", 1)", () -> h.calloc(size, 1));
                assertRefused(h, GL_E_SIZE, "realloc(NULL, " + u(size) + ")", () -> h.realloc(0, size));
                for (long alignment : new long[] {16, 64, 4096, MiB}) {
                    assertRefused(h, GL_E_SIZE, "aligned_alloc(" + alignment + ", " + u(size) + ")",
                            () -> h.alignedAlloc(alignment, size));
                }
            }
            h.assertSurvived(victim);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void callocProductsThatOverflowAreRefused(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            long[][] cases = {
                    {1L << 32, 1L << 32}, {SIZE_MAX, 2}, {2, SIZE_MAX}, {SIZE_MAX, SIZE_MAX},
                    {3, 0x5555_5555_5555_5556L},         // 2^64 + 2: wraps to 2
                    {0x5555_5555_5555_5556L, 3},
                    {1L << 63, 2},                        // wraps to 0
                    {2, 1L << 63}, {PTRDIFF_MAX, 2}, {16, (1L << 60) + 1}, {(1L << 32) + 1, (1L << 32) - 1},
                    {1L << 22, 1L << 22},                 // 2^44: fits in 64 bits, above GL_MAX_SIZE
                    {GL_MAX_SIZE / 2 + 1, 2}, {1, GL_MAX_SIZE + 1}, {GL_MAX_SIZE + 1, 1},
                    {1L << 31, (1L << 13) + 1}};
            for (long[] c : cases) {
                assertRefused(h, GL_E_SIZE, "calloc(" + u(c[0]) + ", " + u(c[1]) + ")", () -> h.calloc(c[0], c[1]));
            }
            h.assertSurvived(victim);
        }
    }

    /** A zero product is no overflow, whatever the other factor (glimmer.h; Java rejects negative factors). */
    @Test
    void aCallocWithAZeroFactorIsAMinimumBlockNatively() {
        long heap = GlimmerNative.heapCreate(0);
        try {
            for (long[] c : new long[][] {{0, SIZE_MAX}, {SIZE_MAX, 0}, {0, 0}, {0, 1L << 63}}) {
                long p = GlimmerNative.heapCalloc(heap, c[0], c[1]);
                assertNotEquals(0, p, "calloc(" + u(c[0]) + ", " + u(c[1]) + ")");
                assertEquals(0, GlimmerNative.heapLastError(heap));
                assertEquals(0, GlimmerNative.heapFree(heap, p));
            }
            assertEquals(0, GlimmerNative.heapCheck(heap, 0));
        } finally {
            GlimmerNative.heapDestroy(heap);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void alignmentsThatAreNotPowersOfTwoOrTooLargeAreRefused(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            long[] bad = {0, 3, 5, 6, 7, 12, 24, 48, 100, 1000, 4097, 3L << 20, (1L << 40) + 16, PTRDIFF_MAX,
                    SIZE_MAX, SIZE_MAX - 15, 1L << 63,   // 2^63 is a power of two, far above 2^40
                    1L << 41, 1L << 50, 1L << 62};
            for (long alignment : bad) {
                for (long size : new long[] {0, 16, 100, 5000, 2 * MiB}) {
                    assertRefused(h, GL_E_ALIGN, "aligned_alloc(" + u(alignment) + ", " + size + ")",
                            () -> h.alignedAlloc(alignment, size));
                }
            }
            h.assertSurvived(victim);
        }
    }

    /**
     * Sizes that are possible on their own but whose alignment padding (alignment + 32 bytes)
     * overflows, or leaves no address space: GL_E_SIZE when the arithmetic overflows, else the
     * OS refusal (GL_E_NOMEM) — never a wrapped-around small block.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void alignedSizesWhosePaddingOverflowsAreRefused(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            long[][] overflow = {{1L << 40, SIZE_MAX - (1L << 39)}, {1L << 40, SIZE_MAX - (1L << 40) - 16},
                    {16, SIZE_MAX - 8}, {4096, SIZE_MAX - 4096}, {1L << 40, PTRDIFF_MAX + 1}};
            for (long[] c : overflow) {
                assertRefused(h, GL_E_SIZE, "aligned_alloc(" + u(c[0]) + ", " + u(c[1]) + ")",
                        () -> h.alignedAlloc(c[0], c[1]));
            }
            if (!overcommitAlways()) {
                long[][] noRoom = {{1L << 40, GL_MAX_SIZE}, {4096, GL_MAX_SIZE - 1}, {1L << 40, 16}};
                for (long[] c : noRoom) {
                    assertRefused(h, GL_E_NOMEM, "aligned_alloc(" + u(c[0]) + ", " + u(c[1]) + ")",
                            () -> h.alignedAlloc(c[0], c[1]));
                }
            }
            h.assertSurvived(victim);
        }
    }

    /** A failed realloc leaves the block where it was, live, with its contents and usable size. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void aFailedReallocLeavesTheBlockValidAndUnchanged(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            for (long size : new long[] {1, 64, 1000, 5000, 300_000, 2 * MiB}) {
                long p = h.keep(h.mustMalloc(size));
                TestMemory.fill(p, size, size);
                long usable = h.usableSize(p);
                for (long to : IMPOSSIBLE) {
                    assertRefused(h, GL_E_SIZE, "realloc(" + size + "-byte block, " + u(to) + ")", () -> h.realloc(p, to));
                    assertEquals(usable, h.usableSize(p), "usable size after a failed realloc");
                    assertEquals(-1, TestMemory.firstMismatch(p, size, size), "contents after a failed realloc");
                }
                if (!overcommitAlways()) {
                    assertRefused(h, GL_E_NOMEM, "realloc(" + size + "-byte block, GL_MAX_SIZE)",
                            () -> h.realloc(p, GL_MAX_SIZE));
                    assertEquals(usable, h.usableSize(p));
                    assertEquals(-1, TestMemory.firstMismatch(p, size, size));
                }
                // and it still works as a block: grows, keeps its contents, frees
                long q = h.realloc(p, size + 100);
                assertNotEquals(0, q);
                h.forget(p);
                assertEquals(-1, TestMemory.firstMismatch(q, size, size), "realloc copied the contents");
                h.mustFree(q);
            }
            h.assertSurvived(victim);
        }
    }

    /** A request of exactly GL_MAX_SIZE is possible: mapped, or an ordinary out-of-memory. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void theLargestAcceptedSizeIsMappedOrAnOutOfMemory(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            HeapStats before = h.stats();
            long p = h.malloc(GL_MAX_SIZE);
            if (p == 0) {
                h.assertRejected(GL_E_NOMEM, before, "malloc(GL_MAX_SIZE)");
                HeapDriver.assertUnchangedButErrors(before, h.stats(), "malloc(GL_MAX_SIZE) refused by the OS");
                assertTrue(!overcommitAlways(), "with overcommit_memory=1 the mapping should succeed");
            } else {
                h.mustFree(p);
            }
            h.assertSurvived(victim);
        }
    }

    private static boolean overcommitAlways() {
        try {
            return Files.readString(Path.of("/proc/sys/vm/overcommit_memory")).trim().equals("1");
        } catch (IOException e) {
            return false;
        }
    }
}
