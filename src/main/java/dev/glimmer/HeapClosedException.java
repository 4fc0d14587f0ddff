package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * A method of a {@link GlimmerHeap} was called after {@link GlimmerHeap#close()}.
 * Its status is {@code GL_E_BAD_HEAP} (the native heap is gone) and its address the
 * former native heap handle. (Segments of a closed heap throw the JDK's own
 * {@link IllegalStateException} on access.)
 */
public final class HeapClosedException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    public HeapClosedException(long heap, String message) {
        super(GlimmerNative.GL_E_BAD_HEAP, heap, message);
    }
}
