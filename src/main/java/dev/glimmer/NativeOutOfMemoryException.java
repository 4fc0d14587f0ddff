package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * The operating system refused memory ({@code GL_E_NOMEM}). Unlike
 * {@link OutOfMemoryError} this is about native memory and is recoverable: the heap
 * is unchanged and smaller requests may still succeed.
 */
public final class NativeOutOfMemoryException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    private final long requestedBytes;

    public NativeOutOfMemoryException(long requestedBytes, String message) {
        super(GlimmerNative.GL_E_NOMEM, 0, message);
        this.requestedBytes = requestedBytes;
    }

    /** The size of the request that failed, in bytes. */
    public long requestedBytes() {
        return requestedBytes;
    }
}
