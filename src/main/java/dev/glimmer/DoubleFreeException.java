package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/** A block was freed (or reallocated) after it had already been freed ({@code GL_E_DOUBLE_FREE}). */
public final class DoubleFreeException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    public DoubleFreeException(long address, String message) {
        super(GlimmerNative.GL_E_DOUBLE_FREE, address, message);
    }
}
