package dev.glimmer.bench;

import dev.glimmer.Glimmer;
import dev.glimmer.GlimmerHeap;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * malloc/free on raw addresses: every allocator of {@link RawBench} behind the
 * same two calls.
 *
 * <p>Each implementation keeps its method handles in {@code static final} fields of
 * its own class, so the JIT sees them as constants and only the allocator in use is
 * ever loaded (a JMH fork measures one). The native peers are bound exactly as
 * Glimmer binds {@code gl_heap_malloc}/{@code gl_heap_free}: {@code JAVA_LONG}
 * arguments and results, {@link Linker.Option#critical(boolean) critical(false)}.
 * A 0 from a native malloc is an error, as {@link GlimmerHeap#malloc} makes it.
 */
public interface RawAllocator extends AutoCloseable {

    /** Names accepted by {@link #open}, in report order. */
    List<String> NAMES = List.of("glimmer", "glimmer-default", "glibc", "jemalloc", "mimalloc",
            "tcmalloc", "unsafe", "floor");

    long malloc(long size);

    void free(long address);

    @Override
    default void close() {
    }

    static RawAllocator open(String name) {
        return switch (name) {
            case "glimmer" -> new OfGlimmer(GlimmerHeap.ofConfined(), true);
            case "glimmer-default" -> new OfGlimmer(Glimmer.defaultHeap(), false);
            case "glibc" -> new Glibc();
            case "jemalloc" -> new Jemalloc();
            case "mimalloc" -> new Mimalloc();
            case "tcmalloc" -> new Tcmalloc();
            case "unsafe" -> new OfUnsafe();
            case "floor" -> new Floor();
            default -> throw new IllegalArgumentException("no raw allocator named " + name + "; known: " + NAMES);
        };
    }

    /** GlimmerHeap's raw API: an owned heap, or the default (locked) heap. */
    final class OfGlimmer implements RawAllocator {
        private final GlimmerHeap heap;
        private final boolean owned;

        OfGlimmer(GlimmerHeap heap, boolean owned) {
            this.heap = heap;
            this.owned = owned;
        }

        @Override
        public long malloc(long size) {
            return heap.malloc(size);
        }

        @Override
        public void free(long address) {
            heap.free(address);
        }

        @Override
        public void close() {
            if (owned) {
                heap.close();
            }
        }
    }

    // The peers below repeat the same shape on purpose: each needs its own static final
    // method handles, which the JIT constant-folds into direct downcalls. One shared class
    // holding the handles in instance fields would make every peer's call slower than
    // Glimmer's and skew the comparison.

    /** glibc: the JVM's own malloc. */
    final class Glibc implements RawAllocator {
        private static final MethodHandle MALLOC = Ffm.malloc(Ffm.LIBC, "malloc");
        private static final MethodHandle FREE = Ffm.free(Ffm.LIBC, "free");

        @Override
        public long malloc(long size) {
            try {
                return Ffm.checked((long) MALLOC.invokeExact(size), "glibc", size);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }

        @Override
        public void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }
    }

    /** jemalloc from libjemalloc.so.2 (needs GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536). */
    final class Jemalloc implements RawAllocator {
        private static final SymbolLookup LIB = Ffm.library("jemalloc");
        private static final MethodHandle MALLOC = Ffm.malloc(LIB, "malloc");
        private static final MethodHandle FREE = Ffm.free(LIB, "free");

        @Override
        public long malloc(long size) {
            try {
                return Ffm.checked((long) MALLOC.invokeExact(size), "jemalloc", size);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }

        @Override
        public void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }
    }

    /** mimalloc from libmimalloc.so.2: mi_malloc/mi_free. */
    final class Mimalloc implements RawAllocator {
        private static final SymbolLookup LIB = Ffm.library("mimalloc");
        private static final MethodHandle MALLOC = Ffm.malloc(LIB, "mi_malloc");
        private static final MethodHandle FREE = Ffm.free(LIB, "mi_free");

        @Override
        public long malloc(long size) {
            try {
                return Ffm.checked((long) MALLOC.invokeExact(size), "mimalloc", size);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }

        @Override
        public void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }
    }

    /** tcmalloc from libtcmalloc_minimal.so.4: tc_malloc/tc_free. */
    final class Tcmalloc implements RawAllocator {
        private static final SymbolLookup LIB = Ffm.library("tcmalloc");
        private static final MethodHandle MALLOC = Ffm.malloc(LIB, "tc_malloc");
        private static final MethodHandle FREE = Ffm.free(LIB, "tc_free");

        @Override
        public long malloc(long size) {
            try {
                return Ffm.checked((long) MALLOC.invokeExact(size), "tcmalloc", size);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }

        @Override
        public void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }
    }

    /**
     * sun.misc.Unsafe.allocateMemory/freeMemory, found by reflection: static final method
     * handles bound to {@code theUnsafe}, which the JIT inlines like direct calls (and the
     * source never names sun.misc.Unsafe, so javac has nothing to warn about).
     */
    final class OfUnsafe implements RawAllocator {
        private static final MethodHandle ALLOCATE;
        private static final MethodHandle FREE;

        static {
            try {
                Class<?> unsafe = Class.forName("sun.misc.Unsafe");
                Field f = unsafe.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                Object u = f.get(null);
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                ALLOCATE = lookup.findVirtual(unsafe, "allocateMemory", MethodType.methodType(long.class, long.class))
                        .bindTo(u);
                FREE = lookup.findVirtual(unsafe, "freeMemory", MethodType.methodType(void.class, long.class))
                        .bindTo(u);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @Override
        public long malloc(long size) {
            try {
                return (long) ALLOCATE.invokeExact(size);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }

        @Override
        public void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }
    }

    /**
     * The floor: "malloc" and "free" are each one bare critical downcall to libc's
     * {@code labs}, bound like the others - what a pair costs before any allocator work.
     */
    final class Floor implements RawAllocator {
        private static final MethodHandle LABS = Ffm.malloc(Ffm.LIBC, "labs");

        @Override
        public long malloc(long size) {
            try {
                return (long) LABS.invokeExact(size);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }

        @Override
        public void free(long address) {
            try {
                long ignored = (long) LABS.invokeExact(address);
            } catch (Throwable t) {
                throw Ffm.unchecked(t);
            }
        }
    }

    /** Binding helpers shared by the implementations. */
    final class Ffm {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIBC = LINKER.defaultLookup();
        private static final Linker.Option[] CRITICAL = {Linker.Option.critical(false)};

        private Ffm() {
        }

        /** The peer's library, or an error saying how to install it. */
        @SuppressWarnings("restricted")
        static SymbolLookup library(String peer) {
            Peers.Peer p = Peers.byName(peer);
            try {
                return SymbolLookup.libraryLookup(p.soname(), Arena.global());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(p.soname() + " cannot be loaded (" + e.getMessage()
                        + "); install it with: " + Peers.APT_GET, e);
            }
        }

        static MethodHandle malloc(SymbolLookup lib, String name) {
            return downcall(lib, name, FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        }

        static MethodHandle free(SymbolLookup lib, String name) {
            return downcall(lib, name, FunctionDescriptor.ofVoid(JAVA_LONG));
        }

        @SuppressWarnings("restricted")
        private static MethodHandle downcall(SymbolLookup lib, String name, FunctionDescriptor fd) {
            MemorySegment symbol = lib.find(name)
                    .orElseThrow(() -> new IllegalStateException("symbol " + name + " not found"));
            return LINKER.downcallHandle(symbol, fd, CRITICAL);
        }

        static long checked(long address, String who, long size) {
            if (address == 0) {
                throw new OutOfMemoryError(who + ": malloc(" + size + ") returned NULL");
            }
            return address;
        }

        static RuntimeException unchecked(Throwable t) {
            if (t instanceof RuntimeException r) {
                throw r;
            }
            if (t instanceof Error e) {
                throw e;
            }
            return new IllegalStateException(t);
        }
    }
}
