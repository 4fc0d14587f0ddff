package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * A pointer that this heap did not hand out: foreign memory (another allocator,
 * another heap, the stack), a pointer into the middle of a block, or a misaligned
 * one ({@code GL_E_NOT_OURS}). The heap is left untouched.
 */
public final class InvalidPointerException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    public InvalidPointerException(long address, String message) {
        super(GlimmerNative.GL_E_NOT_OURS, address, message);
    }
}
