package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * An impossible size: negative, above {@link GlimmerHeap#MAX_SIZE} (16 TiB - 1 MiB),
 * or an {@code n * size} product of calloc that overflows ({@code GL_E_SIZE}).
 */
public final class SizeOverflowException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    public SizeOverflowException(long address, String message) {
        super(GlimmerNative.GL_E_SIZE, address, message);
    }
}
