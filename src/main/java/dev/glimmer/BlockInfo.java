package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * One block of a heap walk ({@link GlimmerHeap#blocks()}).
 *
 * @param address the user pointer (header + 8)
 * @param size    for blocks inside a segment, the whole block, 8-byte header included
 *                (so the next block's user pointer is {@code address + size}); for
 *                {@link State#LARGE} blocks, the usable size
 * @param state   what the block is
 */
public record BlockInfo(long address, long size, State state) {

    /** The state of a block, as {@code GL_BLOCK_*} of glimmer.h. */
    public enum State {
        /** In use, inside a segment. */
        USED,
        /** Free: in a bin, or the top (wilderness) of a segment. */
        FREE,
        /** Freed and parked in the recently-freed cache (in use for the coalescer). */
        CACHED,
        /** In use, in a mapping of its own. */
        LARGE;

        static State ofCode(long code) {
            return switch ((int) code) {
                case GlimmerNative.GL_BLOCK_USED -> USED;
                case GlimmerNative.GL_BLOCK_FREE -> FREE;
                case GlimmerNative.GL_BLOCK_CACHED -> CACHED;
                case GlimmerNative.GL_BLOCK_LARGE -> LARGE;
                default -> throw new GlimmerException(0, 0, "heap walk produced an unknown block state " + code);
            };
        }
    }

    @Override
    public String toString() {
        return state + "@" + GlimmerException.hex(address) + "[" + size + "]";
    }
}
