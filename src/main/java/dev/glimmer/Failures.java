package dev.glimmer;

import static dev.glimmer.GlimmerException.hex;

import dev.glimmer.internal.GlimmerNative;

/** Turns native statuses into precise exceptions. Not on any fast path. */
final class Failures {

    private Failures() {
    }

    /** The {@code GL_E_*} name of a status, for messages. */
    static String statusName(int status) {
        return switch (status) {
            case GlimmerNative.GL_OK -> "GL_OK";
            case GlimmerNative.GL_E_DOUBLE_FREE -> "GL_E_DOUBLE_FREE";
            case GlimmerNative.GL_E_NOT_OURS -> "GL_E_NOT_OURS";
            case GlimmerNative.GL_E_CORRUPT -> "GL_E_CORRUPT";
            case GlimmerNative.GL_E_NOMEM -> "GL_E_NOMEM";
            case GlimmerNative.GL_E_SIZE -> "GL_E_SIZE";
            case GlimmerNative.GL_E_ALIGN -> "GL_E_ALIGN";
            case GlimmerNative.GL_E_BAD_HEAP -> "GL_E_BAD_HEAP";
            default -> "status " + status;
        };
    }

    /** A failed {@code gl_heap_free(heap, address)}. */
    static GlimmerException freeFailed(long heap, int status, long address) {
        String where = "free(" + hex(address) + ") on heap " + hex(heap);
        return switch (status) {
            case GlimmerNative.GL_E_DOUBLE_FREE -> new DoubleFreeException(address,
                    "double free: " + where + ": the block at " + hex(address) + " is already free");
            case GlimmerNative.GL_E_NOT_OURS -> new InvalidPointerException(address,
                    where + ": " + hex(address) + " is not a block of this heap"
                            + " (foreign, interior or misaligned pointer); the heap is unchanged");
            case GlimmerNative.GL_E_CORRUPT -> new HeapCorruptionException(
                    HeapCorruptionException.Invariant.BLOCK_METADATA, address, 0,
                    where + ": the header of the block at " + hex(address)
                            + " is damaged (a write past the end of the block before it,"
                            + " or a write after free)");
            default -> new GlimmerException(status, address,
                    where + " failed with " + statusName(status));
        };
    }

    /**
     * A NULL from an allocating call; {@code status} is what gl_heap_last_error said.
     *
     * @param call    the call as it should appear in the message, e.g. {@code malloc(100 bytes)}
     * @param address the pointer argument (realloc), else 0
     * @param size    the requested size in bytes
     */
    static GlimmerException allocationFailed(long heap, int status, String call, long address, long size) {
        String where = call + " on heap " + hex(heap);
        return switch (status) {
            case GlimmerNative.GL_E_NOMEM -> new NativeOutOfMemoryException(size,
                    where + ": the operating system refused memory for " + size + " bytes");
            case GlimmerNative.GL_E_SIZE -> new SizeOverflowException(address,
                    where + ": impossible size " + Long.toUnsignedString(size)
                            + " bytes (overflow, or above GL_MAX_SIZE = " + GlimmerNative.GL_MAX_SIZE + ")");
            case GlimmerNative.GL_E_ALIGN -> new InvalidAlignmentException(
                    where + ": the alignment is not a power of two");
            case GlimmerNative.GL_E_DOUBLE_FREE -> new DoubleFreeException(address,
                    where + ": the block at " + hex(address) + " was already freed");
            case GlimmerNative.GL_E_NOT_OURS -> new InvalidPointerException(address,
                    where + ": " + hex(address) + " is not a block of this heap"
                            + " (foreign, interior or misaligned pointer); the heap is unchanged");
            case GlimmerNative.GL_E_CORRUPT -> new HeapCorruptionException(
                    HeapCorruptionException.Invariant.BLOCK_METADATA, address, 0,
                    where + ": the header of the block at " + hex(address) + " is damaged");
            case GlimmerNative.GL_OK -> new GlimmerException(0, address,
                    where + " returned NULL but recorded no status"
                            + " (on a shared heap another thread may have consumed it)");
            default -> new GlimmerException(status, address, where + " failed with " + statusName(status));
        };
    }

    static SizeOverflowException negativeSize(String call, long size) {
        return new SizeOverflowException(0, call + ": negative size " + size + " bytes");
    }

    static InvalidAlignmentException badAlignment(String call, long alignment) {
        return new InvalidAlignmentException(call + ": alignment " + alignment
                + " is not a positive power of two");
    }

    static HeapCorruptionException checkFailed(long heap, long code, long address, long detail, long blocks) {
        HeapCorruptionException.Invariant inv = HeapCorruptionException.Invariant.ofCode(code);
        String name = inv == HeapCorruptionException.Invariant.UNKNOWN ? "GL_CHECK code " + code : inv.name();
        return new HeapCorruptionException(inv, address, detail,
                "heap " + hex(heap) + " is corrupt: " + name + " (" + inv.description() + ") at "
                        + hex(address) + ", found " + hex(detail) + ", after " + blocks + " blocks checked");
    }
}
