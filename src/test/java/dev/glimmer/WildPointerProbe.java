package dev.glimmer;

/**
 * Child-JVM side of {@link WildPointerTest}: hands one wild address to every entry point
 * of a confined, a shared and the default heap, printing each outcome before the next
 * call, so that if the native code crashes the output says which call did it.
 *
 * <p>Usage: {@code WildPointerProbe <address>}; prints one line per call and "survived"
 * at the end.
 */
public final class WildPointerProbe {

    private WildPointerProbe() {
    }

    public static void main(String[] args) {
        String a = args[0];
        long address = a.startsWith("0x") ? Long.parseUnsignedLong(a.substring(2), 16) : Long.parseLong(a);
        try (GlimmerHeap confined = GlimmerHeap.ofConfined(); GlimmerHeap shared = GlimmerHeap.ofShared()) {
            probe("confined", confined, address);
            probe("shared", shared, address);
            probe("default", Glimmer.defaultHeap(), address);
        }
        System.out.println("survived");
    }

    private static void probe(String kind, GlimmerHeap heap, long address) {
        long victim = heap.malloc(64);
        TestMemory.fill(victim, 64, 3);
        say(kind + " free: " + outcome(() -> heap.free(address)));
        say(kind + " realloc: " + outcome(() -> heap.realloc(address, 64)));
        say(kind + " usableSize: " + heap.usableSize(address));
        heap.check();
        if (TestMemory.firstMismatch(victim, 64, 3) >= 0) {
            say(kind + " victim overwritten");
        }
        heap.free(victim);
        heap.check();
        say(kind + " check ok");
    }

    private static String outcome(Runnable call) {
        try {
            call.run();
            return "accepted";
        } catch (GlimmerException e) {
            return e.getClass().getSimpleName() + " " + e.status();
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
