package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/** An alignment that is not a positive power of two ({@code GL_E_ALIGN}). */
public final class InvalidAlignmentException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    public InvalidAlignmentException(String message) {
        super(GlimmerNative.GL_E_ALIGN, 0, message);
    }
}
