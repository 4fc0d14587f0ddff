package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;
import dev.glimmer.internal.NativeLibrary;

/** Entry points that are not tied to one heap. */
public final class Glimmer {

    /** The version of this binding when no jar manifest says otherwise. */
    private static final String VERSION = "0.1.0-SNAPSHOT";

    private Glimmer() {
    }

    private static final class DefaultHeap {
        static final GlimmerHeap INSTANCE = create();

        private static GlimmerHeap create() {
            long handle = GlimmerNative.defaultHeap();
            if (handle == 0) {
                throw new NativeOutOfMemoryException(0,
                        "gl_default_heap() failed: the operating system refused memory for the default heap");
            }
            return GlimmerHeap.wrapDefault(handle);
        }
    }

    /**
     * The process-wide default heap ({@code gl_default_heap()}, the one behind
     * {@code gl_malloc}): locked, usable from any thread, never closed. A thread other than
     * the one it is biased to allocates from an arena of its own behind it, so threads that
     * allocate at once do not take turns on one lock; any thread frees any block, and
     * {@link GlimmerHeap#stats()}, {@link GlimmerHeap#check()} and {@link GlimmerHeap#blocks()}
     * see every arena ({@link HeapStats#arenas()}). Its segments live in the global scope;
     * {@link GlimmerHeap#close()} and {@link GlimmerHeap#reset()} throw
     * {@link UnsupportedOperationException}.
     */
    public static GlimmerHeap defaultHeap() {
        return DefaultHeap.INSTANCE;
    }

    /** The version of this library (the jar's Implementation-Version when it has one). */
    public static String version() {
        String v = Glimmer.class.getPackage().getImplementationVersion();
        return v != null ? v : VERSION;
    }

    /** Where libglimmer.so was loaded from (a file path or a jar URL). Loads it if needed. */
    public static String libraryOrigin() {
        return NativeLibrary.origin();
    }
}
