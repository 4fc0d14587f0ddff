package dev.glimmer.internal;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

/**
 * Exact downcall handles for every function of {@code glimmer.h}, resolved once.
 *
 * <h2>Binding choices</h2>
 * <ul>
 *   <li>{@code size_t} and every pointer ({@code gl_heap *}, {@code void *}, struct
 *       pointers) are bound as {@link java.lang.foreign.ValueLayout#JAVA_LONG JAVA_LONG}.
 *       On x86-64 System V both travel in a 64-bit integer register, so this is exact;
 *       it is also the fastest binding: an {@code ADDRESS} return would make the linker
 *       wrap every result in a fresh zero-length {@code MemorySegment}, and an
 *       {@code ADDRESS} argument costs a segment-to-address conversion (and a scope
 *       acquire) per call. {@code int} results are {@code JAVA_INT}.</li>
 *   <li>{@link Linker.Option#critical(boolean) critical(false)} for the calls that never
 *       run long: malloc, calloc, realloc, aligned_alloc, free, usable_size, last_error,
 *       pointer_status
 *       and stats. A critical call skips the Java-to-native thread-state transition (about
 *       1 ns of a 3.7 ns downcall here); the price is that a safepoint waits for it,
 *       which is harmless for calls of nanoseconds to microseconds. (A realloc of a
 *       very large block copies it; that is the one slow case, accepted.)</li>
 *   <li>Plain (non-critical) downcalls for the calls that make system calls or walk a
 *       whole heap: create, destroy, reset, trim, check, walk, and gl_default_heap
 *       (which creates the default heap on first use).</li>
 * </ul>
 * Struct arguments are native memory described by the layouts below, which mirror
 * {@code glimmer.h} field by field (every field is a {@code uint64_t}, read as a
 * Java {@code long}).
 *
 * <p>Every wrapper calls {@code invokeExact} on a {@code static final} handle, so the
 * JIT inlines it into the caller.
 */
@SuppressWarnings("restricted") // downcallHandle: the binding itself
public final class GlimmerNative {

    // ---- status codes (glimmer.h) ----------------------------------------------
    public static final int GL_OK = 0;
    public static final int GL_E_DOUBLE_FREE = -1;
    public static final int GL_E_NOT_OURS = -2;
    public static final int GL_E_CORRUPT = -3;
    public static final int GL_E_NOMEM = -4;
    public static final int GL_E_SIZE = -5;
    public static final int GL_E_ALIGN = -6;
    public static final int GL_E_BAD_HEAP = -7;
    public static final int GL_ERROR_KINDS = 8;

    /** Largest request any call accepts: 16 TiB - 1 MiB. */
    public static final long GL_MAX_SIZE = (1L << 44) - (1L << 20);

    public static final long GL_HEAP_LOCKED = 1;
    /** gl_options.flags: count cache hits (small mallocs then pop the cache off the fast path). */
    public static final long GL_HEAP_COUNT_HITS = 2;
    /** gl_options.flags: every segment is advised MADV_HUGEPAGE. */
    public static final long GL_HEAP_HUGE_PAGES = 4;
    public static final int GL_SMALL_CLASSES = 64;
    /** Most recently-freed blocks a heap may keep per small class (gl_options.cache_limit). */
    public static final int GL_CACHE_MAX = 65536;
    /** Recently-freed blocks kept per small class when the options say 0 (the default). */
    public static final int GL_CACHE_DEFAULT = 65536;

    // ---- gl_heap_check codes ----------------------------------------------------
    public static final int GL_CHECK_OK = 0;
    public static final int GL_CHECK_BAD_TAG = 1;
    public static final int GL_CHECK_BAD_SIZE = 2;
    public static final int GL_CHECK_BAD_FOOTER = 3;
    public static final int GL_CHECK_PREV_FREE = 4;
    public static final int GL_CHECK_ADJACENT_FREE = 5;
    public static final int GL_CHECK_NOT_IN_BIN = 6;
    public static final int GL_CHECK_BIN_ENTRY = 7;
    public static final int GL_CHECK_BIN_LINKS = 8;
    public static final int GL_CHECK_BITMAP = 9;
    public static final int GL_CHECK_FENCEPOST = 10;
    public static final int GL_CHECK_STATS = 11;
    public static final int GL_CHECK_LARGE = 12;
    public static final int GL_CHECK_REGISTRY = 13;
    public static final int GL_CHECK_TOP = 14;
    public static final int GL_CHECK_STARTS = 15;

    // ---- gl_block_info.state ----------------------------------------------------
    public static final int GL_BLOCK_USED = 1;
    public static final int GL_BLOCK_FREE = 2;
    public static final int GL_BLOCK_CACHED = 3;
    public static final int GL_BLOCK_LARGE = 4;

    // ---- struct layouts ---------------------------------------------------------

    /** {@code struct gl_options}, 64 bytes. */
    public static final StructLayout GL_OPTIONS = MemoryLayout.structLayout(
            JAVA_LONG.withName("flags"),
            JAVA_LONG.withName("max_search_depth"),
            JAVA_LONG.withName("cache_limit"),
            JAVA_LONG.withName("disable_cache"),
            MemoryLayout.sequenceLayout(4, JAVA_LONG).withName("reserved"))
            .withName("gl_options");

    /** {@code struct gl_stats}, 704 bytes. */
    public static final StructLayout GL_STATS = MemoryLayout.structLayout(
            JAVA_LONG.withName("live_bytes"),
            JAVA_LONG.withName("live_blocks"),
            JAVA_LONG.withName("peak_live_bytes"),
            JAVA_LONG.withName("footprint"),
            JAVA_LONG.withName("peak_footprint"),
            JAVA_LONG.withName("segments"),
            JAVA_LONG.withName("large_blocks"),
            JAVA_LONG.withName("free_bytes"),
            JAVA_LONG.withName("cached_blocks"),
            JAVA_LONG.withName("cache_hits"),
            JAVA_LONG.withName("search_steps"),
            JAVA_LONG.withName("os_maps"),
            JAVA_LONG.withName("os_unmaps"),
            JAVA_LONG.withName("os_advises"),
            MemoryLayout.sequenceLayout(GL_ERROR_KINDS, JAVA_LONG).withName("errors"),
            MemoryLayout.sequenceLayout(GL_SMALL_CLASSES, JAVA_LONG).withName("class_live"),
            JAVA_LONG.withName("lock_biased"),
            JAVA_LONG.withName("arenas"))
            .withName("gl_stats");

    /** {@code struct gl_check_report}, 32 bytes. */
    public static final StructLayout GL_CHECK_REPORT = MemoryLayout.structLayout(
            JAVA_LONG.withName("code"),
            JAVA_LONG.withName("address"),
            JAVA_LONG.withName("detail"),
            JAVA_LONG.withName("blocks_checked"))
            .withName("gl_check_report");

    /** {@code struct gl_block_info}, 48 bytes. */
    public static final StructLayout GL_BLOCK_INFO = MemoryLayout.structLayout(
            JAVA_LONG.withName("address"),
            JAVA_LONG.withName("size"),
            JAVA_LONG.withName("state"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("cursor"))
            .withName("gl_block_info");

    // byte offsets, derived from the layouts (not typed twice)
    public static final long OPT_FLAGS = offset(GL_OPTIONS, "flags");
    public static final long OPT_MAX_SEARCH_DEPTH = offset(GL_OPTIONS, "max_search_depth");
    public static final long OPT_CACHE_LIMIT = offset(GL_OPTIONS, "cache_limit");
    public static final long OPT_DISABLE_CACHE = offset(GL_OPTIONS, "disable_cache");

    public static final long ST_LIVE_BYTES = offset(GL_STATS, "live_bytes");
    public static final long ST_LIVE_BLOCKS = offset(GL_STATS, "live_blocks");
    public static final long ST_PEAK_LIVE_BYTES = offset(GL_STATS, "peak_live_bytes");
    public static final long ST_FOOTPRINT = offset(GL_STATS, "footprint");
    public static final long ST_PEAK_FOOTPRINT = offset(GL_STATS, "peak_footprint");
    public static final long ST_SEGMENTS = offset(GL_STATS, "segments");
    public static final long ST_LARGE_BLOCKS = offset(GL_STATS, "large_blocks");
    public static final long ST_FREE_BYTES = offset(GL_STATS, "free_bytes");
    public static final long ST_CACHED_BLOCKS = offset(GL_STATS, "cached_blocks");
    public static final long ST_CACHE_HITS = offset(GL_STATS, "cache_hits");
    public static final long ST_SEARCH_STEPS = offset(GL_STATS, "search_steps");
    public static final long ST_OS_MAPS = offset(GL_STATS, "os_maps");
    public static final long ST_OS_UNMAPS = offset(GL_STATS, "os_unmaps");
    public static final long ST_OS_ADVISES = offset(GL_STATS, "os_advises");
    public static final long ST_ERRORS = offset(GL_STATS, "errors");
    public static final long ST_CLASS_LIVE = offset(GL_STATS, "class_live");
    public static final long ST_LOCK_BIASED = offset(GL_STATS, "lock_biased");
    public static final long ST_ARENAS = offset(GL_STATS, "arenas");

    public static final long CR_CODE = offset(GL_CHECK_REPORT, "code");
    public static final long CR_ADDRESS = offset(GL_CHECK_REPORT, "address");
    public static final long CR_DETAIL = offset(GL_CHECK_REPORT, "detail");
    public static final long CR_BLOCKS_CHECKED = offset(GL_CHECK_REPORT, "blocks_checked");

    public static final long BI_ADDRESS = offset(GL_BLOCK_INFO, "address");
    public static final long BI_SIZE = offset(GL_BLOCK_INFO, "size");
    public static final long BI_STATE = offset(GL_BLOCK_INFO, "state");

    static {
        // the sizes glimmer.h implies (gl_layout.h: ST_SIZE 704)
        if (GL_OPTIONS.byteSize() != 64 || GL_STATS.byteSize() != 704
                || GL_CHECK_REPORT.byteSize() != 32 || GL_BLOCK_INFO.byteSize() != 48) {
            throw new AssertionError("struct layouts disagree with glimmer.h");
        }
    }

    // ---- descriptors ------------------------------------------------------------
    private static final FunctionDescriptor L_L = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor L_LL = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor L_LLL =
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor I_L = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
    private static final FunctionDescriptor I_LL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor V_L = FunctionDescriptor.ofVoid(JAVA_LONG);
    private static final FunctionDescriptor V_LL = FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor L_ = FunctionDescriptor.of(JAVA_LONG);

    private static final Linker.Option[] CRITICAL = {Linker.Option.critical(false)};
    private static final Linker.Option[] PLAIN = {};

    // ---- heaps ------------------------------------------------------------------
    private static final MethodHandle HEAP_CREATE = bind("gl_heap_create", L_L, PLAIN);
    private static final MethodHandle HEAP_DESTROY = bind("gl_heap_destroy", V_L, PLAIN);
    private static final MethodHandle HEAP_RESET = bind("gl_heap_reset", V_L, PLAIN);
    private static final MethodHandle HEAP_TRIM = bind("gl_heap_trim", L_L, PLAIN);
    private static final MethodHandle HEAP_MALLOC = bind("gl_heap_malloc", L_LL, CRITICAL);
    private static final MethodHandle HEAP_CALLOC = bind("gl_heap_calloc", L_LLL, CRITICAL);
    private static final MethodHandle HEAP_REALLOC = bind("gl_heap_realloc", L_LLL, CRITICAL);
    private static final MethodHandle HEAP_ALIGNED_ALLOC = bind("gl_heap_aligned_alloc", L_LLL, CRITICAL);
    private static final MethodHandle HEAP_FREE = bind("gl_heap_free", I_LL, CRITICAL);
    private static final MethodHandle HEAP_USABLE_SIZE = bind("gl_heap_usable_size", L_LL, CRITICAL);
    private static final MethodHandle HEAP_LAST_ERROR = bind("gl_heap_last_error", I_L, CRITICAL);
    private static final MethodHandle HEAP_POINTER_STATUS = bind("gl_heap_pointer_status", I_LL, CRITICAL);
    private static final MethodHandle HEAP_STATS = bind("gl_heap_stats", V_LL, CRITICAL);
    private static final MethodHandle HEAP_CHECK = bind("gl_heap_check", I_LL, PLAIN);
    private static final MethodHandle HEAP_WALK = bind("gl_heap_walk", I_LL, PLAIN);

    // ---- the process-wide default heap --------------------------------------------
    private static final MethodHandle MALLOC = bind("gl_malloc", L_L, CRITICAL);
    private static final MethodHandle FREE = bind("gl_free", V_L, CRITICAL);
    private static final MethodHandle CALLOC = bind("gl_calloc", L_LL, CRITICAL);
    private static final MethodHandle REALLOC = bind("gl_realloc", L_LL, CRITICAL);
    private static final MethodHandle ALIGNED_ALLOC = bind("gl_aligned_alloc", L_LL, CRITICAL);
    private static final MethodHandle USABLE_SIZE = bind("gl_usable_size", L_L, CRITICAL);
    private static final MethodHandle DEFAULT_HEAP = bind("gl_default_heap", L_, PLAIN);

    private GlimmerNative() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option[] options) {
        return Linker.nativeLinker().downcallHandle(NativeLibrary.symbol(name), fd, options);
    }

    private static long offset(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }

    /** Downcalls declare no checked exceptions; anything else is a bug in the binding. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new AssertionError("unexpected checked exception from a downcall", t);
    }

    // ---- wrappers: one per C function, same names in camel case ----------------

    /** {@code gl_heap_create(opts)}; {@code opts} is the address of a gl_options or 0. */
    public static long heapCreate(long opts) {
        try {
            return (long) HEAP_CREATE.invokeExact(opts);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void heapDestroy(long heap) {
        try {
            HEAP_DESTROY.invokeExact(heap);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void heapReset(long heap) {
        try {
            HEAP_RESET.invokeExact(heap);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long heapTrim(long heap) {
        try {
            return (long) HEAP_TRIM.invokeExact(heap);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long heapMalloc(long heap, long size) {
        try {
            return (long) HEAP_MALLOC.invokeExact(heap, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long heapCalloc(long heap, long n, long size) {
        try {
            return (long) HEAP_CALLOC.invokeExact(heap, n, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long heapRealloc(long heap, long p, long size) {
        try {
            return (long) HEAP_REALLOC.invokeExact(heap, p, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long heapAlignedAlloc(long heap, long alignment, long size) {
        try {
            return (long) HEAP_ALIGNED_ALLOC.invokeExact(heap, alignment, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code gl_heap_free}: 0, or a negative {@code GL_E_*} status. */
    public static int heapFree(long heap, long p) {
        try {
            return (int) HEAP_FREE.invokeExact(heap, p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long heapUsableSize(long heap, long p) {
        try {
            return (long) HEAP_USABLE_SIZE.invokeExact(heap, p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The last {@code GL_E_*} recorded in the heap, which is then cleared. */
    public static int heapLastError(long heap) {
        try {
            return (int) HEAP_LAST_ERROR.invokeExact(heap);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * What {@code gl_heap_free(heap, p)} would return ({@code GL_OK} for a live block or 0),
     * with nothing freed or recorded: unlike the last error, no other thread can take it.
     */
    public static int heapPointerStatus(long heap, long p) {
        try {
            return (int) HEAP_POINTER_STATUS.invokeExact(heap, p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Fills the gl_stats at {@code stats}. */
    public static void heapStats(long heap, long stats) {
        try {
            HEAP_STATS.invokeExact(heap, stats);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** 0 when consistent; {@code report} is the address of a gl_check_report, or 0. */
    public static int heapCheck(long heap, long report) {
        try {
            return (int) HEAP_CHECK.invokeExact(heap, report);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** 1 while a block was produced into the gl_block_info at {@code info}, 0 at the end. */
    public static int heapWalk(long heap, long info) {
        try {
            return (int) HEAP_WALK.invokeExact(heap, info);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long malloc(long size) {
        try {
            return (long) MALLOC.invokeExact(size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void free(long p) {
        try {
            FREE.invokeExact(p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long calloc(long n, long size) {
        try {
            return (long) CALLOC.invokeExact(n, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long realloc(long p, long size) {
        try {
            return (long) REALLOC.invokeExact(p, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long alignedAlloc(long alignment, long size) {
        try {
            return (long) ALIGNED_ALLOC.invokeExact(alignment, size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long usableSize(long p) {
        try {
            return (long) USABLE_SIZE.invokeExact(p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code gl_default_heap()}: the locked process-wide heap, created on first use. */
    public static long defaultHeap() {
        try {
            return (long) DEFAULT_HEAP.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
