package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * The heap's metadata is damaged: found by {@link GlimmerHeap#check()}, which names
 * the first violated {@link Invariant} and where, or by free/realloc on a block
 * whose header is damaged ({@code GL_E_CORRUPT}, {@link Invariant#BLOCK_METADATA}).
 * Typical causes are writes past the end of a block and writes after free.
 */
public final class HeapCorruptionException extends GlimmerException {

    private static final long serialVersionUID = 1L;

    /** The invariants of {@code gl_heap_check} ({@code GL_CHECK_*}), plus the free-time finding. */
    public enum Invariant {
        /** free/realloc found the block's own header damaged ({@code GL_E_CORRUPT}). */
        BLOCK_METADATA(0, "the block's header is damaged (found by free/realloc)"),
        BAD_TAG(GlimmerNative.GL_CHECK_BAD_TAG, "a header's check bits do not match its address"),
        BAD_SIZE(GlimmerNative.GL_CHECK_BAD_SIZE,
                "a size is not a multiple of 16, too small, or runs past the segment"),
        BAD_FOOTER(GlimmerNative.GL_CHECK_BAD_FOOTER, "a free block's footer differs from its header"),
        PREV_FREE(GlimmerNative.GL_CHECK_PREV_FREE, "a PREV_FREE bit disagrees with the previous block"),
        ADJACENT_FREE(GlimmerNative.GL_CHECK_ADJACENT_FREE,
                "two free blocks touch (the coalescer missed them)"),
        NOT_IN_BIN(GlimmerNative.GL_CHECK_NOT_IN_BIN, "a free block is missing from the bin of its size"),
        BIN_ENTRY(GlimmerNative.GL_CHECK_BIN_ENTRY,
                "a bin holds a block that is not free, or of another size"),
        BIN_LINKS(GlimmerNative.GL_CHECK_BIN_LINKS, "a bin's next/prev links disagree"),
        BITMAP(GlimmerNative.GL_CHECK_BITMAP, "the bitmap of non-empty bins disagrees with the bins"),
        FENCEPOST(GlimmerNative.GL_CHECK_FENCEPOST, "a segment fencepost or segment header is damaged"),
        STATS(GlimmerNative.GL_CHECK_STATS, "the statistics disagree with a walk of the heap"),
        LARGE(GlimmerNative.GL_CHECK_LARGE, "a large block's descriptor is damaged"),
        REGISTRY(GlimmerNative.GL_CHECK_REGISTRY,
                "the segment/large-block registry disagrees with the lists"),
        TOP(GlimmerNative.GL_CHECK_TOP, "the top (wilderness) block is not where it should be"),
        STARTS(GlimmerNative.GL_CHECK_STARTS, "a segment's bitmap of block starts disagrees with its blocks"),
        /** A code this binding does not know (a newer library). */
        UNKNOWN(-1, "an invariant this binding does not know");

        private final int code;
        private final String description;

        Invariant(int code, String description) {
            this.code = code;
            this.description = description;
        }

        /** The {@code GL_CHECK_*} code (0 for {@link #BLOCK_METADATA}, -1 for {@link #UNKNOWN}). */
        public int code() {
            return code;
        }

        /** What the invariant says, as glimmer.h puts it. */
        public String description() {
            return description;
        }

        /** The invariant of a {@code GL_CHECK_*} code; {@link #UNKNOWN} for anything else. */
        public static Invariant ofCode(long code) {
            for (Invariant i : values()) {
                if (i.code > 0 && i.code == code) {
                    return i;
                }
            }
            return UNKNOWN;
        }
    }

    private final Invariant invariant;
    private final long detail;

    public HeapCorruptionException(Invariant invariant, long address, long detail, String message) {
        super(GlimmerNative.GL_E_CORRUPT, address, message);
        this.invariant = invariant;
        this.detail = detail;
    }

    /** The violated invariant. */
    public Invariant invariant() {
        return invariant;
    }

    /** The value found at {@link #address()} (for check failures; 0 otherwise). */
    public long detail() {
        return detail;
    }
}
