package dev.glimmer.bench;

/**
 * The JMH workloads' request streams. The batch is the native driver's row
 * "small-1000-fifo": the same generator (splitmix64 seeded with the driver's default
 * seed XOR the FNV-1a hash of the row's id), so Java and C see the same sizes.
 */
public final class Workload {

    /** Size of the pair workloads' blocks. */
    public static final int PAIR_SIZE = 32;

    /** Blocks in a batch. */
    public static final int BATCH = 1000;

    /** The driver's default seed: "glimmer" in ASCII. */
    static final long SEED = 0x676c696d6d6572L;

    private Workload() {
    }

    /** BATCH sizes of 8..64 bytes, freed in allocation order. */
    public static long[] batchSizes() {
        return sizes("small-1000-fifo", BATCH, 8, 64);
    }

    static long[] sizes(String rowId, int n, long lo, long hi) {
        long h = 0xcbf29ce484222325L;
        for (byte b : rowId.getBytes(java.nio.charset.StandardCharsets.US_ASCII)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long[] state = {SEED ^ h};
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = lo + Long.remainderUnsigned(next(state), hi - lo + 1);
        }
        return out;
    }

    private static long next(long[] s) {
        long z = (s[0] += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
