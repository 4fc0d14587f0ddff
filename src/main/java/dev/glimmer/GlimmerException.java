package dev.glimmer;

/**
 * A misuse or failure reported by Glimmer, with the native status code and the
 * address involved.
 *
 * <p>Subclasses name the kind: {@link DoubleFreeException}, {@link InvalidPointerException},
 * {@link HeapCorruptionException}, {@link NativeOutOfMemoryException},
 * {@link SizeOverflowException}, {@link InvalidAlignmentException},
 * {@link HeapClosedException}. Messages carry addresses in hex and sizes in bytes.
 */
public class GlimmerException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final long address;

    /**
     * @param status  the {@code GL_E_*} status of {@code glimmer.h} (0 when there is none)
     * @param address the address involved (0 when there is none)
     * @param message what happened, with the address and size
     */
    public GlimmerException(int status, long address, String message) {
        super(message);
        this.status = status;
        this.address = address;
    }

    /** The native status code ({@code GL_E_*}, negative), or 0 when the error was found in Java. */
    public int status() {
        return status;
    }

    /** The address the error is about, or 0. */
    public long address() {
        return address;
    }

    /** {@code 0x}-prefixed lower-case hex, the form every message uses. */
    static String hex(long address) {
        return "0x" + Long.toHexString(address);
    }
}
