package dev.glimmer;

import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.glimmer.internal.GlimmerNative;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * One heap, driven either through the Java API ({@link GlimmerHeap}: exceptions) or straight
 * through glimmer.h ({@link GlimmerNative}: NULL plus {@code gl_heap_last_error}, and the
 * status that {@code gl_heap_free} returns). Either way every call reports the native status,
 * so one test body asserts both contracts:
 * <ul>
 *   <li>Java: a failed call throws the exception type of its status
 *       ({@link DoubleFreeException} for {@code GL_E_DOUBLE_FREE}, ...), carrying the status,
 *       and for pointer misuse the address, which the message names in hex;</li>
 *   <li>native: {@code gl_heap_free} returns the status, allocating calls return 0 and
 *       {@code gl_heap_last_error} says why (once, then 0).</li>
 * </ul>
 * Inspection (stats, check, blocks) always goes through the Java API.
 */
abstract class HeapDriver implements AutoCloseable {

    /** The heap kinds every misuse test runs on. */
    enum Kind {
        CONFINED, CONFINED_NO_CACHE, SHARED, DEFAULT;

        GlimmerHeap open() {
            return switch (this) {
                case CONFINED -> GlimmerHeap.ofConfined();
                case CONFINED_NO_CACHE -> GlimmerHeap.builder().disableCache().build();
                case SHARED -> GlimmerHeap.ofShared();
                case DEFAULT -> Glimmer.defaultHeap();
            };
        }

        boolean cached() {
            return this != CONFINED_NO_CACHE;
        }
    }

    /** Something a parameterized test can open: a heap kind and an API. */
    record Factory(Kind kind, boolean javaApi) {
        HeapDriver open() {
            GlimmerHeap heap = kind.open();
            return javaApi ? new JavaApi(heap) : new NativeApi(heap);
        }

        @Override
        public String toString() {
            return kind.name().toLowerCase().replace('_', ' ') + " heap, " + (javaApi ? "Java API" : "glimmer.h");
        }
    }

    /** Every kind through both APIs. */
    static Stream<Factory> all() {
        List<Factory> out = new ArrayList<>();
        for (Kind k : Kind.values()) {
            out.add(new Factory(k, true));
            out.add(new Factory(k, false));
        }
        return out.stream();
    }

    /** Every kind through both APIs, as JUnit arguments. */
    static Stream<Arguments> allArguments() {
        return all().map(Arguments::of);
    }

    /** The heaps that can be reset (not the default heap), through both APIs. */
    static Stream<Factory> resettable() {
        return all().filter(f -> f.kind() != Kind.DEFAULT);
    }

    final GlimmerHeap heap;
    /** Blocks this driver handed out and the test did not free: freed by close(), so the default heap stays clean. */
    private final List<Long> leftovers = new ArrayList<>();
    int lastStatus;
    /** Whether the last failing call reached native code (the Java API rejects some arguments itself). */
    boolean lastReachedNative;

    HeapDriver(GlimmerHeap heap) {
        this.heap = heap;
    }

    abstract String api();

    abstract long malloc(long size);

    abstract long calloc(long n, long size);

    abstract long realloc(long p, long size);

    abstract long alignedAlloc(long alignment, long size);

    /** GL_OK, or the GL_E_* status of the misuse. */
    abstract int free(long p);

    abstract long usableSize(long p);

    long handle() {
        return heap.handle();
    }

    HeapStats stats() {
        return heap.stats();
    }

    /** check(): passes, or fails the test naming the invariant and the address. */
    void check() {
        try {
            heap.check();
        } catch (HeapCorruptionException e) {
            fail(this + ": the heap is corrupt: " + e.getMessage(), e);
        }
    }

    /** malloc that must succeed. */
    long mustMalloc(long size) {
        long p = malloc(size);
        assertTrue(p != 0, this + ": malloc(" + size + ") failed with " + lastStatus);
        return p;
    }

    /** free that must succeed. */
    void mustFree(long p) {
        assertEquals(GlimmerNative.GL_OK, free(p), this + ": free(" + hex(p) + ")");
    }

    /** A block kept until close() (on the default heap it must not outlive the test). */
    long keep(long p) {
        leftovers.add(p);
        return p;
    }

    void forget(long p) {
        leftovers.remove(p);
    }

    /**
     * The heap survived a misuse: check() passes, the victims kept their contents and are
     * still live, malloc/calloc/free still work.
     *
     * @param victims triples {address, size, key}: blocks filled with {@link TestMemory#fill}
     */
    void assertSurvived(long[]... victims) {
        check();
        for (long[] v : victims) {
            long bad = TestMemory.firstMismatch(v[0], v[1], v[2]);
            assertEquals(-1, bad, this + ": live block " + hex(v[0]) + " was disturbed at offset " + bad);
            assertTrue(usableSize(v[0]) >= v[1], this + ": live block " + hex(v[0]) + " is no longer live");
        }
        long p = mustMalloc(48);
        TestMemory.fill(p, 48, 77);
        long q = calloc(3, 100);
        assertTrue(q != 0, this + ": calloc failed after the misuse");
        assertEquals(-1, TestMemory.firstNonZero(q, 300), "calloc memory is zeroed");
        mustFree(p);
        mustFree(q);
        check();
    }

    /** A live block filled with a pattern: {address, size, key}. */
    long[] victim(long size, long key) {
        long p = keep(mustMalloc(size));
        TestMemory.fill(p, size, key);
        return new long[] {p, size, key};
    }

    /**
     * The failing call before this one was rejected with {@code status}, and the heap's error
     * counter of that kind moved by one (when the call reached native code).
     */
    void assertRejected(int status, HeapStats before, String what) {
        assertEquals(Failures.statusName(status), Failures.statusName(lastStatus), this + ": " + what);
        HeapStats after = stats();
        long expected = lastReachedNative ? 1 : 0;
        assertEquals(expected, after.errorCount(status) - before.errorCount(status),
                this + ": errors[" + -status + "] counts the misuse " + what + " (reached native code: "
                        + lastReachedNative + ")");
    }

    /**
     * Nothing but the error counters changed between two snapshots (no block, byte, mapping,
     * cache entry or search step moved).
     */
    static void assertUnchangedButErrors(HeapStats before, HeapStats after, String what) {
        String b = withoutErrors(before);
        String a = withoutErrors(after);
        assertEquals(b, a, what + ": the heap changed");
        assertTrue(Arrays.equals(before.classLive(), after.classLive()), what + ": class counts changed");
    }

    private static String withoutErrors(HeapStats s) {
        return "live " + s.liveBytes() + " B / " + s.liveBlocks() + " blocks, peak live " + s.peakLiveBytes()
                + ", footprint " + s.footprint() + ", peak footprint " + s.peakFootprint() + ", segments "
                + s.segments() + ", large " + s.largeBlocks() + ", free " + s.freeBytes() + ", cached "
                + s.cachedBlocks() + ", cache hits " + s.cacheHits() + ", search steps " + s.searchSteps()
                + ", maps " + s.osMaps() + ", unmaps " + s.osUnmaps() + ", advises " + s.osAdvises();
    }

    /** Frees what the test kept, then closes the heap (not the default heap). */
    @Override
    public void close() {
        try {
            for (long p : leftovers) {
                free(p);
            }
            leftovers.clear();
        } finally {
            if (!heap.isDefault()) {
                heap.close();
            }
        }
    }

    @Override
    public String toString() {
        return (heap.isDefault() ? "default heap" : heap.isShared() ? "shared heap" : "confined heap") + " via "
                + api();
    }

    // ---- the Java API --------------------------------------------------------------------

    static final class JavaApi extends HeapDriver {
        JavaApi(GlimmerHeap heap) {
            super(heap);
        }

        @Override
        String api() {
            return "Java API";
        }

        private long call(Supplier<Long> c, long pointer, boolean reachesNative) {
            try {
                long r = c.get();
                lastStatus = 0;
                return r;
            } catch (GlimmerException e) {
                record(e, pointer, reachesNative);
                return 0;
            }
        }

        private void record(GlimmerException e, long pointer, boolean reachesNative) {
            lastStatus = e.status();
            lastReachedNative = reachesNative;
            Class<? extends GlimmerException> expected = switch (e.status()) {
                case GlimmerNative.GL_E_DOUBLE_FREE -> DoubleFreeException.class;
                case GlimmerNative.GL_E_NOT_OURS -> InvalidPointerException.class;
                case GlimmerNative.GL_E_CORRUPT -> HeapCorruptionException.class;
                case GlimmerNative.GL_E_NOMEM -> NativeOutOfMemoryException.class;
                case GlimmerNative.GL_E_SIZE -> SizeOverflowException.class;
                case GlimmerNative.GL_E_ALIGN -> InvalidAlignmentException.class;
                case GlimmerNative.GL_E_BAD_HEAP -> HeapClosedException.class;
                default -> GlimmerException.class;
            };
            assertEquals(expected, e.getClass(), "the exception type of status " + e.status() + ": " + e);
            boolean pointerMisuse = e.status() == GlimmerNative.GL_E_DOUBLE_FREE
                    || e.status() == GlimmerNative.GL_E_NOT_OURS || e.status() == GlimmerNative.GL_E_CORRUPT;
            if (pointerMisuse) {
                assertEquals(hex(pointer), hex(e.address()), "the exception carries the address: " + e);
                assertTrue(e.getMessage().contains(hex(pointer)), "the message names " + hex(pointer) + ": "
                        + e.getMessage());
            }
        }

        @Override
        long malloc(long size) {
            return call(() -> heap.malloc(size), 0, size >= 0);
        }

        @Override
        long calloc(long n, long size) {
            boolean java = n < 0 || size < 0 || Math.multiplyHigh(n, size) != 0 || n * size < 0;
            return call(() -> heap.calloc(n, size), 0, !java);
        }

        @Override
        long realloc(long p, long size) {
            return call(() -> heap.realloc(p, size), p, size >= 0);
        }

        @Override
        long alignedAlloc(long alignment, long size) {
            boolean java = alignment <= 0 || (alignment & (alignment - 1)) != 0 || size < 0;
            return call(() -> heap.alignedAlloc(alignment, size), 0, !java);
        }

        @Override
        int free(long p) {
            try {
                heap.free(p);
                return lastStatus = 0;
            } catch (GlimmerException e) {
                record(e, p, true);
                return lastStatus;
            }
        }

        @Override
        long usableSize(long p) {
            return heap.usableSize(p);
        }
    }

    // ---- glimmer.h -----------------------------------------------------------------------

    static final class NativeApi extends HeapDriver {
        NativeApi(GlimmerHeap heap) {
            super(heap);
        }

        @Override
        String api() {
            return "glimmer.h";
        }

        private long result(long p) {
            int status = GlimmerNative.heapLastError(heap.handle());
            if (p == 0) {
                assertTrue(status < 0, "a NULL result records a GL_E_* status, got " + status);
                assertEquals(0, GlimmerNative.heapLastError(heap.handle()), "last_error is cleared once read");
            } else {
                assertEquals(0, status, "a successful call records no error");
            }
            lastStatus = status;
            lastReachedNative = true;
            return p;
        }

        @Override
        long malloc(long size) {
            GlimmerNative.heapLastError(heap.handle());
            return result(GlimmerNative.heapMalloc(heap.handle(), size));
        }

        @Override
        long calloc(long n, long size) {
            GlimmerNative.heapLastError(heap.handle());
            return result(GlimmerNative.heapCalloc(heap.handle(), n, size));
        }

        @Override
        long realloc(long p, long size) {
            GlimmerNative.heapLastError(heap.handle());
            return result(GlimmerNative.heapRealloc(heap.handle(), p, size));
        }

        @Override
        long alignedAlloc(long alignment, long size) {
            GlimmerNative.heapLastError(heap.handle());
            return result(GlimmerNative.heapAlignedAlloc(heap.handle(), alignment, size));
        }

        @Override
        int free(long p) {
            lastStatus = GlimmerNative.heapFree(heap.handle(), p);
            lastReachedNative = true;
            if (lastStatus != 0) {
                assertEquals(lastStatus, GlimmerNative.heapLastError(heap.handle()),
                        "gl_heap_free records its status as the last error too");
            }
            return lastStatus;
        }

        @Override
        long usableSize(long p) {
            return GlimmerNative.heapUsableSize(heap.handle(), p);
        }
    }
}
