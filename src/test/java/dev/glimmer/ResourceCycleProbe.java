package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.KiB;
import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static dev.glimmer.TestMemory.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glimmer.internal.GlimmerNative;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Child-JVM side of {@link ResourceCycleTest}: create / allocate / reset / allocate / destroy,
 * many times, through the Java API ({@code java}: confined and shared heaps in turn) or
 * glimmer.h alone ({@code native}: owned and locked heaps in turn). Each cycle checks:
 * <ul>
 *   <li>after reset, through the statistics: nothing live, the large block unmapped, and the
 *       footprint is the segments plus the same metadata every cycle (a heap leaking inside
 *       itself would grow);</li>
 *   <li>after destroy: every mapping the heap had — its struct (and a locked heap's front),
 *       each segment, each large block — is unmapped (msync of its page fails).</li>
 * </ul>
 * Over all cycles (after a warm-up of 300): the lines of /proc/self/maps and the resident
 * memory of /proc/self/statm, before and after. Each cycle touches about 1.6 MiB, so a leak
 * of even one block's pages per cycle would show as tens of MiB.
 *
 * <p>Usage: {@code ResourceCycleProbe <java|native> <cycles> [seed]}. Prints {@code cycles: n},
 * {@code still mapped after destroy: k [addresses]}, {@code maps lines: a -> b},
 * {@code rss KiB: x -> y}; on a failed check, the failure and exit code 1.
 */
public final class ResourceCycleProbe {
    /** gl_layout.h H_INNER: a locked heap's front points at its owned heap here. */
    private static final long H_INNER = 152;

    private ResourceCycleProbe() {
    }

    private static final List<String> REMAPPED = new ArrayList<>();
    private static final Long[] METADATA = new Long[2];

    public static void main(String[] args) throws IOException {
        boolean java = args[0].equals("java");
        int cycles = Integer.parseInt(args[1]);
        SplittableRandom random = new SplittableRandom(args.length > 2 ? Long.parseLong(args[2]) : 1);
        try {
            for (int i = 0; i < 300; i++) {
                cycle(java, i, random);
            }
            REMAPPED.clear();
            long maps0 = mapsLines();
            long rss0 = rssKiB();
            for (int i = 0; i < cycles; i++) {
                cycle(java, i, random);
            }
            long maps1 = mapsLines();
            long rss1 = rssKiB();
            say("cycles: " + cycles);
            say("still mapped after destroy: " + REMAPPED.size() + " " + REMAPPED);
            say("maps lines: " + maps0 + " -> " + maps1);
            say("rss KiB: " + rss0 + " -> " + rss1);
        } catch (AssertionError e) {
            say("failed: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void cycle(boolean java, int i, SplittableRandom random) {
        if (java) {
            javaCycle(i, random);
        } else {
            nativeCycle(i, random);
        }
    }

    private static void javaCycle(int i, SplittableRandom random) {
        boolean shared = i % 2 == 1;
        GlimmerHeap heap = shared ? GlimmerHeap.ofShared() : GlimmerHeap.ofConfined();
        TreeSet<Long> mappings = new TreeSet<>();
        mappings.add(heap.handle());
        if (shared) {
            mappings.add(innerHeap(heap.handle(), i));
        }
        List<Long> blocks = new ArrayList<>();
        for (int k = 0; k < 200; k++) {
            long size = random.nextLong(16, 500);
            long p = heap.malloc(size);
            TestMemory.fill(p, size, k);
            blocks.add(p);
        }
        for (int k = 0; k < 20; k++) {
            long size = random.nextLong(KiB, 30 * KiB);
            long p = heap.malloc(size);
            TestMemory.fill(p, size, k);
            blocks.add(p);
        }
        long large = heap.malloc(MiB + random.nextLong(64 * KiB));
        TestMemory.touchEveryPage(large, MiB);
        mappings.add(large);
        MemorySegment segment = heap.allocate(100);
        segment.fill((byte) 1);
        for (int k = 0; k < blocks.size(); k += 3) {
            heap.free(blocks.get(k));
        }
        for (BlockInfo b : heap.blocks()) {
            if (b.state() != BlockInfo.State.LARGE) {
                mappings.add((b.address() - 8) & ~(SEGMENT - 1));
            }
        }
        HeapStats used = heap.stats();
        require(used.largeBlocks() == 1, "cycle " + i + ": one large block: " + used);
        heap.reset();
        HeapStats s = heap.stats();
        require(s.liveBlocks() == 0 && s.liveBytes() == 0, "cycle " + i + ": nothing is live after reset: " + s);
        require(s.largeBlocks() == 0, "cycle " + i + ": reset unmapped the large block: " + s);
        require(!TestMemory.isMapped(large), "cycle " + i + ": the large block " + hex(large) + " is unmapped by reset");
        sameMetadata(shared ? 1 : 0, s, i);
        heap.check();
        long p = heap.malloc(1000);                 // the heap works after reset
        TestMemory.fill(p, 1000, i);
        heap.free(p);
        heap.close();
        for (long m : mappings) {
            if (TestMemory.isMapped(m)) {
                REMAPPED.add("cycle " + i + " " + hex(m));
            }
        }
    }

    private static void nativeCycle(int i, SplittableRandom random) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(GlimmerNative.GL_OPTIONS);
            boolean locked = i % 2 == 1;
            opts.set(JAVA_LONG, GlimmerNative.OPT_FLAGS, locked ? GlimmerNative.GL_HEAP_LOCKED : 0);
            long h = GlimmerNative.heapCreate(opts.address());
            TreeSet<Long> mappings = new TreeSet<>();
            mappings.add(h);
            if (locked) {
                mappings.add(innerHeap(h, i));
            }
            long a = GlimmerNative.heapMalloc(h, 300);
            long b = GlimmerNative.heapMalloc(h, 2 * MiB);
            TestMemory.touchEveryPage(b, 2 * MiB);
            long c = GlimmerNative.heapCalloc(h, 100, 100 + random.nextInt(100));
            TestMemory.fill(c, 10_000, i);
            mappings.add(a & ~(SEGMENT - 1));
            mappings.add(b);
            GlimmerNative.heapReset(h);
            require(!TestMemory.isMapped(b), "cycle " + i + ": the large block " + hex(b) + " is unmapped by reset");
            MemorySegment st = arena.allocate(GlimmerNative.GL_STATS);
            GlimmerNative.heapStats(h, st.address());
            require(st.get(JAVA_LONG, GlimmerNative.ST_LIVE_BLOCKS) == 0, "cycle " + i + ": nothing live after reset");
            long d = GlimmerNative.heapMalloc(h, 64);
            require(d != 0 && GlimmerNative.heapCheck(h, 0) == 0, "cycle " + i + ": the heap works after reset");
            GlimmerNative.heapDestroy(h);
            for (long m : mappings) {
                if (TestMemory.isMapped(m)) {
                    REMAPPED.add("cycle " + i + " " + hex(m));
                }
            }
        }
    }

    /** The owned heap behind a locked heap's front: a mapped page of its own. */
    private static long innerHeap(long front, int i) {
        long inner = ALL.get(JAVA_LONG, front + H_INNER);
        require(inner != 0 && (inner & 4095) == 0 && TestMemory.isMapped(inner),
                "cycle " + i + ": H_INNER of the front " + hex(front) + " holds a heap: " + hex(inner));
        return inner;
    }

    private static void sameMetadata(int kind, HeapStats s, int i) {
        long beyondSegments = s.footprint() - s.segments() * SEGMENT;
        if (METADATA[kind] == null) {
            METADATA[kind] = beyondSegments;
        }
        require(METADATA[kind] == beyondSegments, "cycle " + i + ": the footprint beyond the segments is the same"
                + " metadata every cycle (" + METADATA[kind] + " bytes before, now " + beyondSegments + "): " + s);
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    private static long mapsLines() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        }
    }

    private static long rssKiB() throws IOException {
        String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(f[1]) * TestMemory.PAGE / KiB;
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
