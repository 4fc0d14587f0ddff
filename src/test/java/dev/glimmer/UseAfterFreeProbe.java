package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Child-JVM side of {@link UseAfterFreeTest}: damages a free block the way a write after
 * free does, then keeps using the heap, printing each outcome before the next step.
 *
 * <p>Usage: {@code UseAfterFreeProbe <scenario>} with scenario {@code small} (a 64-byte
 * block in an exact bin) or {@code range} (a 2000-byte block in a range bin).
 */
public final class UseAfterFreeProbe {

    private UseAfterFreeProbe() {
    }

    public static void main(String[] args) {
        long size = args[0].equals("range") ? 2000 : 64;
        try (GlimmerHeap heap = GlimmerHeap.builder().disableCache().build()) {
            long x = heap.malloc(size);
            long p = heap.malloc(size);
            long y = heap.malloc(size);
            TestMemory.fill(x, size, 1);
            TestMemory.fill(y, size, 2);
            heap.free(p);
            // a write after free over the free block's list links
            ALL.set(JAVA_LONG, p, 0x4141414141414140L);
            ALL.set(JAVA_LONG, p + 8, 0x4242424242424240L);
            say("damaged");
            try {
                long q = heap.malloc(size);
                boolean overlaps = q < y + size && x < q + size && q != p;
                say(overlaps ? "malloc: overlaps a live block" : "malloc: ok");
            } catch (GlimmerException e) {
                say("malloc: " + e.getClass().getSimpleName());
            }
            boolean intact = TestMemory.firstMismatch(x, size, 1) < 0 && TestMemory.firstMismatch(y, size, 2) < 0;
            say(intact ? "live blocks intact" : "live blocks overwritten");
            try {
                heap.check();
                say("check: ok");
            } catch (HeapCorruptionException e) {
                say("check: " + e.invariant() + " at 0x" + Long.toHexString(e.address()));
            }
            // freeing the neighbours of the damaged block may be refused (the coalescer meets the
            // damage); either way it must not crash
            say("free x: " + outcome(() -> heap.free(x)));
            say("free y: " + outcome(() -> heap.free(y)));
        }
        say("survived");
    }

    private static String outcome(Runnable call) {
        try {
            call.run();
            return "ok";
        } catch (GlimmerException e) {
            return e.getClass().getSimpleName();
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
