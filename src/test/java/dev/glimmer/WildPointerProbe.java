package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glimmer.internal.NativeLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Child-JVM side of {@link WildPointerTest} and {@link InvalidFreeTest}: hands wild addresses
 * to every entry point of a confined, a shared and the default heap, printing each outcome
 * before the next call, so that if the native code crashes the output says which call did it.
 *
 * <p>Usage: {@code WildPointerProbe <address>...}. An address is absolute ({@code 0x1000},
 * {@code -16}), relative to a live 64-byte block of the heap under test ({@code block+0x4000000},
 * {@code block-0x40000000}), or named: {@code stack} (inside the main thread's stack),
 * {@code belowstack} (the unmapped page below its lowest mapped page), {@code code} (the
 * first instruction of gl_malloc: read-only memory of the library itself), {@code heap+N}
 * (the native heap struct plus N). Each is optionally followed by {@code +N} / {@code -N}.
 * When the address is readable, the 32 bytes around it are compared before and after: the
 * heap must not write to memory it does not own ("foreign memory changed" otherwise).
 *
 * <p>Prints, for each heap kind and address, {@code <kind> <address> free: <outcome>},
 * {@code ... realloc: <outcome>}, {@code ... usableSize: <n>}, {@code ... check ok}, and
 * "survived" at the end.
 */
public final class WildPointerProbe {

    private WildPointerProbe() {
    }

    public static void main(String[] args) throws IOException {
        try (GlimmerHeap confined = GlimmerHeap.ofConfined(); GlimmerHeap shared = GlimmerHeap.ofShared()) {
            probe("confined", confined, args);
            probe("shared", shared, args);
            probe("default", Glimmer.defaultHeap(), args);
        }
        System.out.println("survived");
    }

    private static void probe(String kind, GlimmerHeap heap, String[] specs) throws IOException {
        long victim = heap.malloc(64);
        TestMemory.fill(victim, 64, 3);
        for (String spec : specs) {
            long address = resolve(spec, victim, heap);
            String at = specs.length == 1 ? kind : kind + " " + spec;
            long[] around = readable(address) ? snapshot(address) : null;
            say(at + " free: " + outcome(() -> heap.free(address)));
            say(at + " realloc: " + outcome(() -> heap.realloc(address, 64)));
            say(at + " usableSize: " + heap.usableSize(address));
            if (around != null && !java.util.Arrays.equals(around, snapshot(address))) {
                say(at + " foreign memory changed");
            }
            heap.check();
            say(at + " check ok");
        }
        if (TestMemory.firstMismatch(victim, 64, 3) >= 0) {
            say(kind + " victim overwritten");
        }
        heap.free(victim);
        heap.check();
    }

    /** The address a spec names (see the class comment). */
    static long resolve(String spec, long block, GlimmerHeap heap) throws IOException {
        String base = spec;
        long offset = 0;
        int sign = Math.max(spec.lastIndexOf('+'), spec.lastIndexOf('-'));
        if (sign > 0) {
            base = spec.substring(0, sign);
            offset = parse(spec.substring(sign + 1)) * (spec.charAt(sign) == '-' ? -1 : 1);
        }
        long b = switch (base) {
            case "block" -> block;
            case "heap" -> heap.handle();
            case "stack" -> stackRange()[1] - 4096;
            case "belowstack" -> stackRange()[0] - 4096;
            case "code" -> NativeLibrary.symbol("gl_malloc").address() & ~15L;
            default -> parse(base);
        };
        return b + offset;
    }

    private static long parse(String s) {
        if (s.startsWith("0x")) {
            return Long.parseUnsignedLong(s.substring(2), 16);
        }
        return Long.parseLong(s);
    }

    /** [low, high) of the main thread's stack mapping. */
    private static long[] stackRange() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            if (line.endsWith("[stack]")) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                return new long[] {Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16)};
            }
        }
        throw new IllegalStateException("no [stack] in /proc/self/maps");
    }

    /** Whether [address - 16, address + 16) is in readable mappings. */
    private static boolean readable(long address) throws IOException {
        List<String> maps = Files.readAllLines(Path.of("/proc/self/maps"));
        return readable(maps, address - 16) && readable(maps, address + 15);
    }

    private static boolean readable(List<String> maps, long a) {
        for (String line : maps) {
            String[] f = line.split("\\s+");
            String[] range = f[0].split("-");
            long lo = Long.parseUnsignedLong(range[0], 16);
            long hi = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(a, lo) >= 0 && Long.compareUnsigned(a, hi) < 0) {
                return f[1].charAt(0) == 'r' && !line.endsWith("[vvar]") && !line.endsWith("[vvar_vclock]");
            }
        }
        return false;
    }

    private static long[] snapshot(long address) {
        long[] s = new long[4];
        for (int i = 0; i < 4; i++) {
            s[i] = ALL.get(JAVA_LONG.withByteAlignment(1), address - 16 + 8L * i);
        }
        return s;
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
