package dev.glimmer;

import static dev.glimmer.GlimmerException.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glimmer.internal.GlimmerNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * A Glimmer heap: native memory from the assembly allocator, as a
 * {@link SegmentAllocator} and through a raw {@code malloc}/{@code free} API.
 *
 * <h2>Kinds</h2>
 * <ul>
 *   <li>{@link #ofConfined() Confined}: an owned (unlocked) native heap. Only the thread
 *       that created it may call its methods; any other thread gets a
 *       {@link WrongThreadException} before anything reaches native code. Its segments
 *       belong to a confined arena of the same thread.</li>
 *   <li>{@link #ofShared() Shared}: a locked native heap ({@code GL_HEAP_LOCKED}, a
 *       spinlock inside the heap); any thread may allocate and free.</li>
 *   <li>{@link Glimmer#defaultHeap()}: the process-wide locked heap behind
 *       {@code gl_malloc}; it cannot be closed or reset.</li>
 * </ul>
 *
 * <h2>Segments and their lifetime</h2>
 * {@link #allocate(long, long)} returns a segment of exactly the requested size,
 * associated with an arena the heap owns. {@link #close()} (and {@link #reset()}, which
 * frees every block at once) closes that arena first, so every segment handed out
 * before becomes inaccessible: the JDK's scope checks throw
 * {@link IllegalStateException} instead of touching freed memory. Freeing one segment
 * with {@link #free(MemorySegment)} cannot invalidate that segment object; using it
 * afterwards is a use after free, as in C. Memory from {@link #allocate} is not
 * zeroed (use {@link #calloc} or {@link #asArena()}, whose segments are).
 *
 * <h2>Errors</h2>
 * Misuse is reported as a {@link GlimmerException} with the address in hex and the
 * size: {@link DoubleFreeException}, {@link InvalidPointerException},
 * {@link HeapCorruptionException}, {@link NativeOutOfMemoryException},
 * {@link SizeOverflowException}, {@link InvalidAlignmentException},
 * {@link HeapClosedException}. The native heap itself never aborts and is left
 * consistent by a rejected free. Following {@link SegmentAllocator}'s contract,
 * {@link #allocate(long, long)} throws {@link IllegalArgumentException} for a negative
 * size or an alignment that is not a power of two; the raw methods throw
 * {@link SizeOverflowException} and {@link InvalidAlignmentException}.
 *
 * <h2>Rules for shared heaps</h2>
 * Allocation and free are thread-safe. The whole-heap operations {@link #close()},
 * {@link #reset()} and {@link #blocks()} are <em>exclusive</em>: each one stops new calls
 * from starting, waits until the calls in flight on other threads have returned from native
 * code (single native calls: microseconds), runs alone, and then lets the held calls
 * proceed — on the emptied heap after {@code reset()}, with {@link HeapClosedException}
 * after {@code close()}. So the native heap is never reset or destroyed under a call that is
 * still inside it, and a walk sees one consistent heap. What no allocator can make safe is
 * a block's <em>contents</em>: raw addresses another thread still holds are dangling after
 * reset or close (segments are not: the arena is closed first, a JDK handshake, so their
 * accesses throw {@link IllegalStateException}). docs/safety.md has the full list of misuses
 * and what the heap guarantees after each.
 *
 * <h2>Cost</h2>
 * {@link #malloc(long)} and {@link #free(long)} do one access check, one exact downcall and
 * one compare of the result (malloc also tests the sign of the size, so negative sizes never
 * reach native code); everything else happens only on failure. The access check of a
 * confined heap is the owner-thread compare and the closed flag; that of a shared heap marks
 * the call in flight in a slot of the calling thread (a thread-local lookup and a fenced
 * store), reads the gate's mode, and clears the slot after the call (see OperationGate).
 */
@SuppressWarnings("restricted") // reinterpret: the heap knows each block's size and lifetime
public final class GlimmerHeap implements SegmentAllocator, AutoCloseable {

    /** Largest request any call accepts: 16 TiB - 1 MiB ({@code GL_MAX_SIZE}). */
    public static final long MAX_SIZE = GlimmerNative.GL_MAX_SIZE;

    /** Alignment of every pointer malloc returns. */
    public static final long MALLOC_ALIGNMENT = 16;

    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(GlimmerHeap.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The native {@code gl_heap *}; valid while {@code closed} is false. */
    private final long heap;
    /** The owner thread of a confined heap; null for shared heaps. */
    private final Thread owner;
    /** False for the process-wide default heap. */
    private final boolean closeable;
    /** Set once, by close(). */
    private volatile boolean closed;
    /** The scope of the segments handed out; replaced by reset(). Global for the default heap. */
    private volatile Arena arena;
    /**
     * Admission of a shared heap's operations: close, reset and blocks wait for the calls in
     * flight and run alone. Null for confined heaps (one thread: nothing can be in flight
     * while the owner closes) and for the default heap (never closed or reset).
     */
    private final OperationGate gate;
    /**
     * The fast paths' admission in one field, so that they read one field: the owner of an
     * open confined heap, {@link #ANY_THREAD} for the default heap (never closed), null for a
     * shared heap (its calls go through the gate) and for a closed one. Null is also what a
     * thread that reads this field racily may see before the constructor's store, so every
     * value that can be seen stale sends the call the slow way: {@link #enter} admits it or
     * throws. Written only by the owner thread (confined) or in the constructor.
     */
    private Thread admitted;
    /** The default heap's {@link #admitted}: a thread that never runs, so it names no caller. */
    private static final Thread ANY_THREAD = Thread.ofVirtual().unstarted(() -> { });

    private GlimmerHeap(long heap, Thread owner, boolean closeable, Arena arena) {
        this.heap = heap;
        this.owner = owner;
        this.closeable = closeable;
        this.arena = arena;
        this.gate = owner == null && closeable ? new OperationGate() : null;
        this.admitted = owner != null ? owner : closeable ? null : ANY_THREAD;
    }

    // ---- creation ------------------------------------------------------------------------

    /** A new owned heap for the calling thread only, with default options. */
    public static GlimmerHeap ofConfined() {
        return builder().build();
    }

    /** A new locked heap that any thread may use, with default options. */
    public static GlimmerHeap ofShared() {
        return builder().shared(true).build();
    }

    /** A builder for a heap with options ({@code struct gl_options}). */
    public static Builder builder() {
        return new Builder();
    }

    /** The process-wide default heap (see {@link Glimmer#defaultHeap()}). */
    static GlimmerHeap wrapDefault(long handle) {
        return new GlimmerHeap(handle, null, false, Arena.global());
    }

    /** Options for a new heap; {@link #build()} creates it on (and, if confined, for) the calling thread. */
    public static final class Builder {
        private boolean shared;
        private int maxSearchDepth;           // 0 = the native default (16)
        private int cacheLimit = GlimmerNative.GL_CACHE_DEFAULT;
        private boolean disableCache;
        private boolean countCacheHits;
        private boolean hugePages;

        private Builder() {
        }

        /** A locked heap any thread may use (true), or a confined one (false, the default). */
        public Builder shared(boolean shared) {
            this.shared = shared;
            return this;
        }

        /**
         * Blocks examined in a range bin for a best fit before the next larger bin is used;
         * 0 means the native default (16).
         */
        public Builder maxSearchDepth(int depth) {
            if (depth < 0) {
                throw new IllegalArgumentException("maxSearchDepth must be >= 0 (0 = default): " + depth);
            }
            this.maxSearchDepth = depth;
            return this;
        }

        /**
         * Recently-freed blocks kept per small class, 0..65536 (default 65536). Freed small
         * blocks wait there, uncoalesced, for the next allocation of their class; a class
         * whose stack reaches the limit is flushed into the coalescer, and every stack is
         * flushed before the heap maps more memory. Medium blocks (1..128 KiB) that
         * {@code realloc} moves away from are kept the same way, per size range, up to
         * 256 KiB of them. 0 keeps none, which is the same as {@link #disableCache()}.
         */
        public Builder cacheLimit(int limit) {
            if (limit < 0 || limit > GlimmerNative.GL_CACHE_MAX) {
                throw new IllegalArgumentException("cacheLimit must be 0.." + GlimmerNative.GL_CACHE_MAX
                        + ": " + limit);
            }
            this.cacheLimit = limit;
            return this;
        }

        /**
         * Count {@link HeapStats#cacheHits()}: every small malloc then leaves the fast path for
         * one that pops the recently-freed cache and counts the hit, which costs 20-30 % of
         * malloc+free pair throughput. Off by default (cacheHits() stays 0); the default heap
         * counts them.
         */
        public Builder countCacheHits() {
            this.countCacheHits = true;
            return this;
        }

        /**
         * Advise every 2 MiB segment of the heap {@code MADV_HUGEPAGE}, so the kernel may back it
         * with transparent huge pages: far fewer page faults when fresh memory is first touched,
         * fewer TLB misses; but resident memory grows in 2 MiB steps and a fault may wait for
         * the kernel to compact memory. Off by default. Where the kernel has no transparent huge
         * pages the advice changes nothing.
         */
        public Builder hugePages() {
            this.hugePages = true;
            return this;
        }

        /** No recently-freed cache: every free goes straight to the coalescer. */
        public Builder disableCache() {
            this.disableCache = true;
            return this;
        }

        /** Creates the native heap. */
        public GlimmerHeap build() {
            long handle;
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment opts = tmp.allocate(GlimmerNative.GL_OPTIONS);   // zeroed: reserved[] = 0
                opts.set(JAVA_LONG, GlimmerNative.OPT_FLAGS, (shared ? GlimmerNative.GL_HEAP_LOCKED : 0)
                        | (countCacheHits ? GlimmerNative.GL_HEAP_COUNT_HITS : 0)
                        | (hugePages ? GlimmerNative.GL_HEAP_HUGE_PAGES : 0));
                opts.set(JAVA_LONG, GlimmerNative.OPT_MAX_SEARCH_DEPTH, maxSearchDepth);
                opts.set(JAVA_LONG, GlimmerNative.OPT_CACHE_LIMIT, cacheLimit);
                opts.set(JAVA_LONG, GlimmerNative.OPT_DISABLE_CACHE, disableCache || cacheLimit == 0 ? 1 : 0);
                handle = GlimmerNative.heapCreate(opts.address());
            }
            if (handle == 0) {
                throw new NativeOutOfMemoryException(0, "gl_heap_create failed: the operating system"
                        + " refused memory for a new " + (shared ? "shared" : "confined") + " heap");
            }
            Thread thread = shared ? null : Thread.currentThread();
            return new GlimmerHeap(handle, thread, true, shared ? Arena.ofShared() : Arena.ofConfined());
        }
    }

    // ---- the access check (the only Java work on the fast path) ---------------------------

    /**
     * Admits a call: the owner check of a confined heap, the closed check, and for a shared
     * heap the in-flight mark that close/reset/blocks wait for.
     *
     * @return the gate slot to hand to {@link #exit}, or null when there is no gate
     */
    private OperationGate.Slot enter() {
        OperationGate g = gate;
        if (g == null) {
            checkAccess();
            return null;
        }
        OperationGate.Slot slot = g.enter();
        if (slot == null) {
            throw accessDenied();
        }
        return slot;
    }

    /**
     * The fast paths' whole access check: true when the calling thread may call this heap
     * without the gate (the owner of an open confined heap; any thread on the default heap).
     * False sends the call through {@link #enter}, which admits it (a shared heap) or throws.
     */
    private boolean admittedWithoutGate() {
        Thread t = admitted;
        return t == Thread.currentThread() || t == ANY_THREAD;
    }

    private static void exit(OperationGate.Slot slot) {
        if (slot != null) {
            slot.exit();
        }
    }

    /**
     * Runs {@code body} as one call of this heap: admitted like malloc (owner and closed checks,
     * and on a shared heap counted in flight, so close/reset/blocks wait for it). For tests: a
     * call that lasts as long as the test wants.
     */
    void asOneCall(Runnable body) {
        OperationGate.Slot cell = enter();
        try {
            body.run();
        } finally {
            exit(cell);
        }
    }

    /** Threads inside a call of this (shared) heap right now; 0 without a gate. For tests. */
    int inFlight() {
        OperationGate g = gate;
        return g == null ? 0 : g.inFlight();
    }

    private void checkAccess() {
        Thread o = owner;
        if ((o != null && o != Thread.currentThread()) || closed) {
            throw accessDenied();
        }
    }

    private RuntimeException accessDenied() {
        Thread current = Thread.currentThread();
        if (owner != null && owner != current) {
            return new WrongThreadException("confined GlimmerHeap " + hex(heap) + " belongs to thread '"
                    + owner.getName() + "' (id " + owner.threadId() + "); called from thread '"
                    + current.getName() + "' (id " + current.threadId() + ")");
        }
        return new HeapClosedException(heap, "GlimmerHeap " + hex(heap) + " is closed");
    }

    // ---- raw API -------------------------------------------------------------------------

    /**
     * Allocates {@code size} bytes, 16-byte aligned, uninitialised. {@code malloc(0)}
     * returns a unique pointer.
     *
     * @return the address, never 0
     * @throws SizeOverflowException      if {@code size < 0} or {@code size > MAX_SIZE}
     * @throws NativeOutOfMemoryException if the OS refuses memory
     */
    public long malloc(long size) {
        if (admittedWithoutGate()) {
            return mallocChecked(size);
        }
        OperationGate.Slot cell = enter();
        try {
            return mallocChecked(size);
        } finally {
            exit(cell);
        }
    }

    private long mallocChecked(long size) {
        long p = size >= 0 ? GlimmerNative.heapMalloc(heap, size) : 0;
        if (p == 0) {
            throw mallocFailed(size);
        }
        return p;
    }

    private GlimmerException mallocFailed(long size) {
        return size < 0 ? Failures.negativeSize("malloc", size)
                : allocationFailed("malloc(" + size + " bytes)", 0, size, 1);
    }

    /**
     * Frees a block from {@link #malloc}, {@link #calloc}, {@link #realloc} or
     * {@link #alignedAlloc}. {@code free(0)} does nothing.
     *
     * @throws DoubleFreeException      if the block is already free
     * @throws InvalidPointerException  if {@code address} is not a block of this heap
     * @throws HeapCorruptionException  if the block's header is damaged
     */
    public void free(long address) {
        if (admittedWithoutGate()) {
            freeChecked(address);
            return;
        }
        OperationGate.Slot cell = enter();
        try {
            freeChecked(address);
        } finally {
            exit(cell);
        }
    }

    private void freeChecked(long address) {
        int status = GlimmerNative.heapFree(heap, address);
        if (status != 0) {
            throw Failures.freeFailed(heap, status, address);
        }
    }

    /**
     * Allocates {@code n * size} zeroed bytes.
     *
     * @throws SizeOverflowException if either is negative, or the product overflows or
     *                               exceeds {@code MAX_SIZE}
     */
    public long calloc(long n, long size) {
        OperationGate.Slot cell = enter();
        try {
            if (n < 0 || size < 0) {
                throw new SizeOverflowException(0, "calloc(" + n + ", " + size + "): negative count or size");
            }
            if (Math.multiplyHigh(n, size) != 0 || n * size < 0) {
                throw new SizeOverflowException(0, "calloc(" + n + ", " + size + "): " + n + " * " + size
                        + " bytes overflows 64 bits");
            }
            long p = GlimmerNative.heapCalloc(heap, n, size);
            if (p == 0) {
                throw allocationFailed("calloc(" + n + ", " + size + " bytes)", 0, n * size, 1);
            }
            return p;
        } finally {
            exit(cell);
        }
    }

    /**
     * Resizes a block, keeping its contents up to the smaller size; may move it.
     * {@code realloc(0, size)} is {@code malloc(size)}; {@code realloc(p, 0)} returns a
     * minimum block. On failure the original block is unchanged and still owned by
     * the caller.
     */
    public long realloc(long address, long size) {
        OperationGate.Slot cell = enter();
        try {
            if (size < 0) {
                throw Failures.negativeSize("realloc(" + hex(address) + ", " + size + ")", size);
            }
            long p = GlimmerNative.heapRealloc(heap, address, size);
            if (p == 0) {
                throw reallocFailed("realloc(" + hex(address) + ", " + size + " bytes)", address, size);
            }
            return p;
        } finally {
            exit(cell);
        }
    }

    /**
     * Allocates {@code size} bytes at an address that is a multiple of {@code alignment}.
     *
     * @throws InvalidAlignmentException if {@code alignment} is not a positive power of two
     */
    public long alignedAlloc(long alignment, long size) {
        OperationGate.Slot cell = enter();
        try {
            if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
                throw Failures.badAlignment("alignedAlloc(" + alignment + ", " + size + ")", alignment);
            }
            if (size < 0) {
                throw Failures.negativeSize("alignedAlloc(" + alignment + ", " + size + ")", size);
            }
            long p = GlimmerNative.heapAlignedAlloc(heap, alignment, size);
            if (p == 0) {
                throw allocationFailed("alignedAlloc(" + alignment + ", " + size + " bytes)", 0, size, alignment);
            }
            return p;
        } finally {
            exit(cell);
        }
    }

    /** The usable bytes of the live block at {@code address}; 0 if it is not a live block of this heap. */
    public long usableSize(long address) {
        OperationGate.Slot cell = enter();
        try {
            return GlimmerNative.heapUsableSize(heap, address);
        } finally {
            exit(cell);
        }
    }

    /*
     * Why failures are not simply reported with gl_heap_last_error: it is one word per heap,
     * so on a shared heap a call that fails at the same time in another thread can overwrite
     * (or, by reading it, clear) this call's status. What the arguments decide is therefore
     * decided here: the size limit (GL_E_SIZE), the alignment limit of docs/design.md
     * (GL_E_ALIGN above 2^40). Past those, an allocation can only fail for want of memory
     * (GL_E_NOMEM), or on a heap found damaged (GL_E_CORRUPT, which last_error then says).
     */

    /** Largest alignment gl_heap_aligned_alloc accepts (docs/design.md); above it GL_E_ALIGN. */
    private static final long MAX_ALIGNMENT = 1L << 40;

    /**
     * A NULL from malloc, calloc or aligned_alloc.
     *
     * @param size      the requested size (calloc: the product, known not to overflow)
     * @param alignment the requested alignment, 1 for plain malloc/calloc
     */
    private GlimmerException allocationFailed(String call, long address, long size, long alignment) {
        int reported = GlimmerNative.heapLastError(heap);
        int status;
        if (Long.compareUnsigned(alignment, MAX_ALIGNMENT) > 0) {
            status = GlimmerNative.GL_E_ALIGN;
        } else if (Long.compareUnsigned(size, MAX_SIZE) > 0) {
            status = GlimmerNative.GL_E_SIZE;
        } else {
            status = reported == GlimmerNative.GL_E_CORRUPT ? reported : GlimmerNative.GL_E_NOMEM;
        }
        return Failures.allocationFailed(heap, status, call, address, size);
    }

    /**
     * A NULL from realloc: the size (decided here), the pointer (double free, not ours,
     * damaged), or memory (then the block is still live). The pointer's kind comes from
     * gl_heap_pointer_status, which answers the caller alone; last_error, which another
     * thread's failure may have replaced, only adds a damaged heap found on the way.
     */
    private GlimmerException reallocFailed(String call, long address, long size) {
        int reported = GlimmerNative.heapLastError(heap);
        int status;
        if (Long.compareUnsigned(size, MAX_SIZE) > 0) {
            status = GlimmerNative.GL_E_SIZE;
        } else {
            status = GlimmerNative.heapPointerStatus(heap, address);
            if (status == GlimmerNative.GL_OK) {        // a live block (or NULL): memory, or damage met
                status = reported == GlimmerNative.GL_E_CORRUPT ? reported : GlimmerNative.GL_E_NOMEM;
            }
        }
        return Failures.allocationFailed(heap, status, call, address, size);
    }

    // ---- segments ------------------------------------------------------------------------

    /**
     * A segment of exactly {@code byteSize} bytes (not zeroed), aligned to
     * {@code byteAlignment}, which dies when this heap is closed or reset.
     *
     * @throws IllegalArgumentException   if {@code byteSize < 0}, or {@code byteAlignment}
     *                                    is not a positive power of two (SegmentAllocator's contract)
     * @throws SizeOverflowException      if {@code byteSize > MAX_SIZE}
     * @throws NativeOutOfMemoryException if the OS refuses memory
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        if (admittedWithoutGate()) {
            return allocateSegment(byteSize, byteAlignment);
        }
        OperationGate.Slot cell = enter();
        try {
            return allocateSegment(byteSize, byteAlignment);
        } finally {
            exit(cell);
        }
    }

    private MemorySegment allocateSegment(long byteSize, long byteAlignment) {
        long p = allocateRaw(byteSize, byteAlignment);
        return MemorySegment.ofAddress(p).reinterpret(byteSize, arena, null);
    }

    private long allocateRaw(long byteSize, long byteAlignment) {
        if (byteSize < 0) {
            throw new IllegalArgumentException("allocate(" + byteSize + ", " + byteAlignment
                    + "): negative size " + byteSize + " bytes");
        }
        if (byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException("allocate(" + byteSize + ", " + byteAlignment
                    + "): alignment " + byteAlignment + " is not a positive power of two");
        }
        long p = byteAlignment <= MALLOC_ALIGNMENT
                ? GlimmerNative.heapMalloc(heap, byteSize)
                : GlimmerNative.heapAlignedAlloc(heap, byteAlignment, byteSize);
        if (p == 0) {
            throw allocationFailed("allocate(" + byteSize + " bytes, alignment " + byteAlignment + ")",
                    0, byteSize, byteAlignment <= MALLOC_ALIGNMENT ? 1 : byteAlignment);
        }
        return p;
    }

    /** As {@link #allocate(long, long)}, zero-filled (the {@link #asArena()} view's allocation). */
    MemorySegment allocateZeroed(long byteSize, long byteAlignment) {
        OperationGate.Slot cell = enter();
        try {
            boolean plain = byteSize >= 0 && byteAlignment > 0 && byteAlignment <= MALLOC_ALIGNMENT
                    && (byteAlignment & (byteAlignment - 1)) == 0;
            if (!plain) {
                // over-aligned (or invalid: allocateRaw throws) - no aligned calloc in glimmer.h
                return MemorySegment.ofAddress(allocateRaw(byteSize, byteAlignment))
                        .reinterpret(byteSize, arena, null)
                        .fill((byte) 0);
            }
            long p = GlimmerNative.heapCalloc(heap, 1, byteSize);
            if (p == 0) {
                throw allocationFailed("allocate(" + byteSize + " bytes, alignment " + byteAlignment + ")",
                        0, byteSize, 1);
            }
            return MemorySegment.ofAddress(p).reinterpret(byteSize, arena, null);
        } finally {
            exit(cell);
        }
    }

    /**
     * Frees a segment returned by {@link #allocate} or {@link #reallocate}.
     *
     * @throws InvalidPointerException if the segment was not allocated by this heap
     *                                 (another heap or arena, a heap segment, a segment
     *                                 from before {@link #reset()}), or is a slice of one
     * @throws DoubleFreeException     if it was already freed
     */
    public void free(MemorySegment segment) {
        if (admittedWithoutGate()) {
            freeSegment(segment);
            return;
        }
        OperationGate.Slot cell = enter();
        try {
            freeSegment(segment);
        } finally {
            exit(cell);
        }
    }

    private void freeSegment(MemorySegment segment) {
        checkOwnSegment(segment, "free");
        long address = segment.address();
        int status = GlimmerNative.heapFree(heap, address);
        if (status != 0) {
            throw Failures.freeFailed(heap, status, address);
        }
    }

    /**
     * Resizes a segment's block to {@code newSize} bytes, keeping the contents up to the
     * smaller size, and returns a segment of exactly {@code newSize} bytes, 16-byte aligned (a
     * segment allocated with a larger alignment may lose it, as with C's realloc). The old
     * segment must not be used afterwards (it stays accessible until close/reset: a use after
     * free).
     *
     * @throws SizeOverflowException   if {@code newSize < 0} or {@code newSize > MAX_SIZE}
     * @throws InvalidPointerException if the segment was not allocated by this heap
     */
    public MemorySegment reallocate(MemorySegment segment, long newSize) {
        OperationGate.Slot cell = enter();
        try {
            checkOwnSegment(segment, "reallocate");
            long address = segment.address();
            if (newSize < 0) {
                throw Failures.negativeSize("reallocate(" + hex(address) + ", " + newSize + ")", newSize);
            }
            long p = GlimmerNative.heapRealloc(heap, address, newSize);
            if (p == 0) {
                throw reallocFailed("reallocate(" + hex(address) + ", " + newSize + " bytes)", address, newSize);
            }
            return MemorySegment.ofAddress(p).reinterpret(newSize, arena, null);
        } finally {
            exit(cell);
        }
    }

    private void checkOwnSegment(MemorySegment segment, String call) {
        Arena a = arena;
        if (!segment.isNative() || !segment.scope().equals(a.scope())) {
            long address = segment.isNative() ? segment.address() : 0;
            String why = !segment.isNative() ? "a heap (Java array) segment"
                    : !segment.scope().isAlive() ? "a segment whose scope is closed (from before reset(),"
                    + " or from a closed arena)"
                    : "a segment of another arena or heap";
            throw new InvalidPointerException(address, call + "(segment " + hex(address) + " of "
                    + segment.byteSize() + " bytes) on heap " + hex(heap) + ": " + why
                    + ", not one allocated by this heap");
        }
    }

    // ---- inspection ----------------------------------------------------------------------

    /** A snapshot of the heap's statistics. */
    public HeapStats stats() {
        OperationGate.Slot cell = enter();
        try {
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment s = tmp.allocate(GlimmerNative.GL_STATS);
                GlimmerNative.heapStats(heap, s.address());
                long[] errors = new long[GlimmerNative.GL_ERROR_KINDS];
                long[] classLive = new long[GlimmerNative.GL_SMALL_CLASSES];
                MemorySegment.copy(s, JAVA_LONG, GlimmerNative.ST_ERRORS, errors, 0, errors.length);
                MemorySegment.copy(s, JAVA_LONG, GlimmerNative.ST_CLASS_LIVE, classLive, 0, classLive.length);
                return new HeapStats(
                        s.get(JAVA_LONG, GlimmerNative.ST_LIVE_BYTES),
                        s.get(JAVA_LONG, GlimmerNative.ST_LIVE_BLOCKS),
                        s.get(JAVA_LONG, GlimmerNative.ST_PEAK_LIVE_BYTES),
                        s.get(JAVA_LONG, GlimmerNative.ST_FOOTPRINT),
                        s.get(JAVA_LONG, GlimmerNative.ST_PEAK_FOOTPRINT),
                        s.get(JAVA_LONG, GlimmerNative.ST_SEGMENTS),
                        s.get(JAVA_LONG, GlimmerNative.ST_LARGE_BLOCKS),
                        s.get(JAVA_LONG, GlimmerNative.ST_FREE_BYTES),
                        s.get(JAVA_LONG, GlimmerNative.ST_CACHED_BLOCKS),
                        s.get(JAVA_LONG, GlimmerNative.ST_CACHE_HITS),
                        s.get(JAVA_LONG, GlimmerNative.ST_SEARCH_STEPS),
                        s.get(JAVA_LONG, GlimmerNative.ST_OS_MAPS),
                        s.get(JAVA_LONG, GlimmerNative.ST_OS_UNMAPS),
                        s.get(JAVA_LONG, GlimmerNative.ST_OS_ADVISES),
                        errors, classLive,
                        s.get(JAVA_LONG, GlimmerNative.ST_LOCK_BIASED) != 0,
                        s.get(JAVA_LONG, GlimmerNative.ST_ARENAS));
            }
        } finally {
            exit(cell);
        }
    }

    /**
     * Verifies every invariant of the heap (and flushes the recently-freed cache, as
     * gl_heap_check does).
     *
     * @throws HeapCorruptionException naming the first violated invariant, its address
     *                                 and the value found there
     */
    public void check() {
        OperationGate.Slot cell = enter();
        try {
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment r = tmp.allocate(GlimmerNative.GL_CHECK_REPORT);
                int rc = GlimmerNative.heapCheck(heap, r.address());
                if (rc == 0) {
                    return;
                }
                if (rc < 0) {
                    throw new GlimmerException(rc, heap, "gl_heap_check(" + hex(heap) + ") failed with "
                            + Failures.statusName(rc));
                }
                long code = r.get(JAVA_LONG, GlimmerNative.CR_CODE);
                throw Failures.checkFailed(heap, code != 0 ? code : rc,
                        r.get(JAVA_LONG, GlimmerNative.CR_ADDRESS),
                        r.get(JAVA_LONG, GlimmerNative.CR_DETAIL),
                        r.get(JAVA_LONG, GlimmerNative.CR_BLOCKS_CHECKED));
            }
        } finally {
            exit(cell);
        }
    }

    /**
     * Every block of the heap, in walk order (segments, then large blocks): used, free,
     * cached and large. On a shared heap the walk is exclusive: it waits for the calls in
     * flight and holds new ones off until it is done, so it sees one consistent heap. On the
     * default heap (no such gate) a walk while other threads allocate may fail with a
     * {@link GlimmerException} (the native walk validates its cursor; it never crashes).
     */
    public List<BlockInfo> blocks() {
        OperationGate g = gate;
        if (g == null) {
            checkAccess();
            return walk();
        }
        if (!g.lockExclusive()) {
            throw accessDenied();
        }
        try {
            return walk();
        } finally {
            g.unlockExclusive(false);
        }
    }

    private List<BlockInfo> walk() {
        List<BlockInfo> out = new ArrayList<>();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment b = tmp.allocate(GlimmerNative.GL_BLOCK_INFO);   // zeroed: start of the walk
            long info = b.address();
            while (true) {
                int rc = GlimmerNative.heapWalk(heap, info);
                if (rc == 0) {
                    return out;
                }
                if (rc != 1) {
                    throw new GlimmerException(rc, b.get(JAVA_LONG, GlimmerNative.BI_ADDRESS),
                            "gl_heap_walk(" + hex(heap) + ") failed with " + Failures.statusName(rc)
                                    + " after " + out.size() + " blocks");
                }
                out.add(new BlockInfo(b.get(JAVA_LONG, GlimmerNative.BI_ADDRESS),
                        b.get(JAVA_LONG, GlimmerNative.BI_SIZE),
                        BlockInfo.State.ofCode(b.get(JAVA_LONG, GlimmerNative.BI_STATE))));
            }
        }
    }

    // ---- whole-heap operations -----------------------------------------------------------

    /**
     * Frees every block at once. Segments handed out before become inaccessible (their
     * arena is closed and replaced), raw addresses become dangling.
     *
     * <p>On a shared heap, reset is exclusive: it waits until every call in flight on other
     * threads has returned, holds new calls off while it runs (they proceed afterwards, on
     * the emptied heap), and then reopens the heap. A block another thread allocated is
     * freed by the reset like every other block: using its raw address afterwards is a use
     * after free, and its segment throws {@link IllegalStateException}.
     *
     * @throws UnsupportedOperationException on the default heap (its blocks belong to
     *                                       everyone in the process)
     * @throws IllegalStateException         if a segment of the heap is in use by a native
     *                                       call elsewhere (the JDK refuses to close its
     *                                       arena); nothing is reset then
     */
    public void reset() {
        OperationGate g = gate;
        if (g == null) {
            checkAccess();
            if (!closeable) {
                throw new UnsupportedOperationException("the default heap cannot be reset: its blocks"
                        + " belong to the whole process");
            }
            resetNow();
            return;
        }
        if (!g.lockExclusive()) {
            throw accessDenied();
        }
        try {
            resetNow();
        } finally {
            g.unlockExclusive(false);
        }
    }

    private void resetNow() {
        Arena old = arena;
        Arena fresh = owner != null ? Arena.ofConfined() : Arena.ofShared();
        try {
            old.close();    // first: no segment of the old blocks can be accessed any more
        } catch (RuntimeException e) {
            // a shared arena in use by a downcall elsewhere cannot close: reset nothing
            fresh.close();
            throw e;
        }
        arena = fresh;
        GlimmerNative.heapReset(heap);
    }

    /**
     * Returns memory to the OS: empty segments and the interior pages of large free
     * blocks (and flushes the recently-freed cache). Only pages still resident count, so a
     * second call with nothing freed in between returns 0.
     *
     * @return bytes given back
     */
    public long trim() {
        OperationGate.Slot cell = enter();
        try {
            return GlimmerNative.heapTrim(heap);
        } finally {
            exit(cell);
        }
    }

    /**
     * Closes the heap: its segments become inaccessible and every mapping is returned to
     * the OS. Idempotent; afterwards every method throws {@link HeapClosedException}.
     *
     * <p>On a shared heap, close is exclusive: calls that start after it began throw
     * {@link HeapClosedException}; calls already in flight on other threads are waited for
     * (they are single native calls), so the native heap is never destroyed under one.
     *
     * @throws WrongThreadException          for a confined heap, from another thread
     * @throws UnsupportedOperationException on the default heap
     * @throws IllegalStateException         if a segment of the heap is in use by a native
     *                                       call elsewhere (the JDK refuses to close its
     *                                       arena); the heap stays open then
     */
    @Override
    public void close() {
        if (!closeable) {
            throw new UnsupportedOperationException("the default heap cannot be closed");
        }
        OperationGate g = gate;
        if (g == null) {
            Thread o = owner;
            if (o != null && o != Thread.currentThread()) {
                throw accessDenied();
            }
            if (!CLOSED.compareAndSet(this, false, true)) {
                return;
            }
            admitted = null;
            try {
                closeNow();
            } catch (RuntimeException e) {
                admitted = o;                   // still open
                throw e;
            }
            return;
        }
        if (!g.lockExclusive()) {
            return;                             // closed already
        }
        boolean done = false;
        try {
            closed = true;
            closeNow();
            done = true;
        } finally {
            g.unlockExclusive(done);
        }
    }

    /** With {@code closed} set: closes the arena, then destroys the native heap. */
    private void closeNow() {
        try {
            arena.close();  // first: once it returns, no thread can touch a segment of this heap
        } catch (RuntimeException e) {
            // a shared arena in use by a downcall elsewhere cannot close: the heap stays open
            closed = false;
            throw e;
        }
        GlimmerNative.heapDestroy(heap);
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return closed;
    }

    /** Whether any thread may use this heap (a locked native heap). */
    public boolean isShared() {
        return owner == null;
    }

    /** Whether this is the process-wide default heap. */
    public boolean isDefault() {
        return !closeable;
    }

    /** The native {@code gl_heap *} handle (for diagnostics and native interop). */
    public long handle() {
        return heap;
    }

    /**
     * An {@link Arena} view of this heap: {@code allocate} takes zeroed memory from the heap
     * (like the JDK's arenas), {@code scope()} is the heap's, and {@code close()} closes the
     * heap, so every segment dies with it.
     */
    public Arena asArena() {
        return new HeapArena(this);
    }

    @Override
    public String toString() {
        return "GlimmerHeap[" + (!closeable ? "default" : owner == null ? "shared" : "confined to '"
                + owner.getName() + "'") + ", " + hex(heap) + (closed ? ", closed" : "") + "]";
    }

    /** The view behind {@link #asArena()}: the JDK's Arena contract on top of a heap. */
    private static final class HeapArena implements Arena {
        private final GlimmerHeap heap;

        HeapArena(GlimmerHeap heap) {
            this.heap = heap;
        }

        @Override
        public MemorySegment allocate(long byteSize, long byteAlignment) {
            if (heap.closed) {
                // Arena's contract: IllegalStateException once closed
                throw new IllegalStateException("Already closed: " + heap, heap.accessDenied());
            }
            try {
                return heap.allocateZeroed(byteSize, byteAlignment);
            } catch (HeapClosedException e) {
                // closed by another thread in between
                throw new IllegalStateException("Already closed: " + heap, e);
            }
        }

        @Override
        public MemorySegment.Scope scope() {
            return heap.arena.scope();
        }

        @Override
        public void close() {
            if (!heap.closeable) {
                throw new UnsupportedOperationException("the default heap's arena cannot be closed");
            }
            if (heap.closed) {
                throw new IllegalStateException("Already closed: " + heap);   // Arena's contract
            }
            heap.close();
        }

        @Override
        public String toString() {
            return "Arena view of " + heap;
        }
    }
}
