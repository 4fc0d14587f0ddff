package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.internal.GlimmerNative.GL_E_CORRUPT;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.util.ArrayList;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Child-JVM side of {@link MetadataIntegrityTest}: damages the heap's metadata the way a buggy
 * program does (a write one byte past the end of a block, a stray write into a header, a write
 * after free over a free block's links or footer), then keeps using the heap, printing each
 * outcome before the next step so that a crash names the step.
 *
 * <p>Usage: {@code CorruptionProbe <scenario> [seed]}. Every scenario prints:
 * <ul>
 *   <li>{@code damaged <what> at 0x...}: the header (or word) that was hit;</li>
 *   <li>the outcomes of the calls that meet the damage ({@code free b: HeapCorruptionException},
 *       {@code check: BAD_TAG at 0x...}, ...);</li>
 *   <li>{@code repaired check: ok} when the damage is undone and the heap is whole again (only
 *       for damage that no call has acted upon yet);</li>
 *   <li>{@code churn: <n> ops, <m> refused} after random valid operations on the damaged heap,
 *       then {@code overlap: none} (no block handed out overlapped a live block or the damaged
 *       word) and {@code live blocks intact};</li>
 *   <li>{@code survived}.</li>
 * </ul>
 */
public final class CorruptionProbe {

    private CorruptionProbe() {
    }

    /** Live blocks of the probe: address -> {size, key}. */
    private static final TreeMap<Long, long[]> LIVE = new TreeMap<>();
    /** Addresses no block may ever cover: the damaged words. */
    private static final TreeMap<Long, Long> FORBIDDEN = new TreeMap<>();
    /** Damaged words in free or cached memory. */
    private static final TreeMap<Long, Long> DAMAGED_FREE = new TreeMap<>();
    private static String overlap = "none";
    private static String reused = "no";
    /** Bytes an overflow writes past the end of its block: 1, or 4 ("AAAA"). */
    private static int width = 1;

    public static void main(String[] args) {
        String scenario = args[0];
        long seed = args.length > 1 ? Long.parseLong(args[1]) : 42;
        boolean cache = !scenario.endsWith("-nocache");
        width = scenario.startsWith("overflow4") ? 4 : 1;
        try (GlimmerHeap heap = cache ? GlimmerHeap.ofConfined() : GlimmerHeap.builder().disableCache().build()) {
            run(scenario.replace("-nocache", ""), heap, new SplittableRandom(seed));
        }
        say("survived");
    }

    private static void run(String scenario, GlimmerHeap heap, SplittableRandom random) {
        for (int i = 0; i < 20; i++) {
            live(heap, heap.malloc(16 + 48L * i), i);     // neighbours of every size around
        }
        switch (scenario) {
            case "overflow-used", "overflow4-used" -> overflowUsed(heap, random, false);
            case "overflow-used-nul" -> overflowUsed(heap, random, true);
            case "overflow-free", "overflow4-free" -> overflowFree(heap, random);
            case "overflow-cached", "overflow4-cached" -> overflowCached(heap, random, false);
            case "overflow-cached-malloc", "overflow4-cached-malloc" -> overflowCached(heap, random, true);
            case "overflow-top", "overflow4-top" -> overflowTop(heap, random, false);
            case "overflow-top-malloc", "overflow4-top-malloc" -> overflowTop(heap, random, true);
            case "overflow-fence", "overflow4-fence" -> overflowFence(heap, random);
            case "stray-size" -> straySize(heap, random);
            case "forged-interior" -> forgedInterior(random);
            case "uaf-footer" -> uafFooter(heap, random);
            case "uaf-links-live" -> uafLinks(heap, random, "live");
            case "uaf-links-copy" -> uafLinks(heap, random, "copy");
            case "uaf-links-zero" -> uafLinks(heap, random, "zero");
            case "uaf-links-ones" -> uafLinks(heap, random, "ones");
            default -> throw new IllegalArgumentException("unknown scenario " + scenario);
        }
    }

    // ---- scenarios ---------------------------------------------------------------------------

    /** Overflows the block ending at {@code hit}: writes {@code width} bytes there; returns what was there. */
    private static byte[] overflow(long hit, boolean nul) {
        byte[] old = new byte[width];
        for (int i = 0; i < width; i++) {
            old[i] = ALL.get(JAVA_BYTE, hit + i);
            byte b = width == 4 ? (byte) 'A' : nul ? (old[i] == 0 ? (byte) 1 : 0) : (byte) ~old[i];
            if (b == old[i]) {
                b ^= 0x40;                        // 'A' where an 'A' was: still a change
            }
            ALL.set(JAVA_BYTE, hit + i, b);
        }
        return old;
    }

    private static byte[] bytesAt(long hit) {
        byte[] now = new byte[width];
        for (int i = 0; i < width; i++) {
            now[i] = ALL.get(JAVA_BYTE, hit + i);
        }
        return now;
    }

    private static void put(long hit, byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            ALL.set(JAVA_BYTE, hit + i, bytes[i]);
        }
    }

    /** a's last byte + 1 is b's header byte 0 (its tag): a one-byte overflow, b in use. */
    private static void overflowUsed(GlimmerHeap heap, SplittableRandom random, boolean nul) {
        long a = live(heap, heap.malloc(100), 100);
        long b = live(heap, heap.malloc(100), 101);
        requireAdjacent(heap, a, b);
        long hit = a + heap.usableSize(a);        // = b - 8
        byte[] old = overflow(hit, nul);
        byte[] bad = bytesAt(hit);
        damaged("b's header", hit, 8, true);
        say("free b: " + outcome(() -> heap.free(b)));
        say("realloc b: " + outcome(() -> heap.realloc(b, 200)));
        say("usableSize b: " + heap.usableSize(b));
        check(heap);
        put(hit, old);
        repairedCheck(heap);
        put(hit, bad);
        churn(heap, random, 20_000);
        say("free damaged block: " + outcome(() -> heap.free(b)));
        LIVE.remove(b);
    }

    /** b is a free block in a bin (a range block); a overflows into its header. */
    private static void overflowFree(GlimmerHeap heap, SplittableRandom random) {
        long a = live(heap, heap.malloc(2000), 200);
        long b = heap.malloc(2000);
        live(heap, heap.malloc(64), 202);         // keeps b away from the top
        requireAdjacent(heap, a, b);
        heap.free(b);                             // a range block: straight into its bin
        long hit = a + heap.usableSize(a);
        byte[] old = overflow(hit, false);
        byte[] bad = bytesAt(hit);
        damaged("free block b's header", hit, 8, false);
        check(heap);
        put(hit, old);
        repairedCheck(heap);
        put(hit, bad);
        say("malloc(2000): " + outcome(() -> live(heap, heap.malloc(2000), 203)));
        say("free a: " + outcome(() -> forget(heap, a)));
        churn(heap, random, 20_000);
    }

    /**
     * b sits in the recently-freed cache; a overflows into its header. Then either check()
     * (which flushes the cache, meeting b's header first) or malloc (which takes b back from
     * the cache) and b's free.
     */
    private static void overflowCached(GlimmerHeap heap, SplittableRandom random, boolean mallocFirst) {
        long a = live(heap, heap.malloc(100), 300);
        long b = heap.malloc(100);
        live(heap, heap.malloc(64), 302);
        requireAdjacent(heap, a, b);
        heap.free(b);                             // cached: header marked CACHED, contents untouched
        long hit = a + heap.usableSize(a);
        overflow(hit, false);
        damaged("cached block b's header", hit, 8, false);
        if (mallocFirst) {
            long[] got = new long[1];
            say("malloc(100): " + outcome(() -> got[0] = heap.malloc(100)));
            say("malloc returned b: " + (got[0] == b));
            if (got[0] != 0) {
                say("free it: " + outcome(() -> heap.free(got[0])));
            }
        }
        check(heap);
        say("malloc(100) after check: " + outcome(() -> live(heap, heap.malloc(100), 303)));
        check(heap);
        churn(heap, random, 20_000);
    }

    /**
     * a is the last block before the top: the overflow hits the top's header. Then check(), or
     * first a malloc that carves the top.
     */
    private static void overflowTop(GlimmerHeap heap, SplittableRandom random, boolean mallocFirst) {
        // a medium block: carved from the top with no run of spares behind it
        long a = live(heap, heap.malloc(1100), 400);
        long hit = a + heap.usableSize(a);
        byte[] old = overflow(hit, false);
        damaged("the top's header", hit, 8, false);
        if (!mallocFirst) {
            check(heap);
            byte[] bad = bytesAt(hit);
            put(hit, old);
            repairedCheck(heap);
            put(hit, bad);
        }
        say("malloc(100): " + outcome(() -> live(heap, heap.malloc(100), 401)));
        say("malloc(5000): " + outcome(() -> live(heap, heap.malloc(5000), 402)));
        check(heap);
        churn(heap, random, 20_000);
    }

    /** a is the last block of its segment: the overflow hits the end fencepost. */
    private static void overflowFence(GlimmerHeap heap, SplittableRandom random) {
        for (int i = 0; i < 4; i++) {
            live(heap, heap.malloc(800_000), 500 + i);      // leaves a top below 1 MiB (large blocks start there)
        }
        long segment = LIVE.firstKey() & ~(TestMemory.SEGMENT - 1);
        long end = segment + TestMemory.SEGMENT;
        long top = 0;
        for (BlockInfo blk : heap.blocks()) {
            if (blk.state() == BlockInfo.State.FREE && blk.address() + blk.size() == end) {
                top = blk.size();
            }
        }
        long a = live(heap, heap.malloc(top - 8), 510);    // takes the whole top
        long hit = a + heap.usableSize(a);
        if (hit != end - 8) {
            say("setup: the last block ends at 0x" + Long.toHexString(hit) + ", not at the end fencepost");
            return;
        }
        byte[] old = overflow(hit, false);
        byte[] bad = bytesAt(hit);
        damaged("the end fencepost", hit, 8, true);
        check(heap);
        put(hit, old);
        repairedCheck(heap);
        put(hit, bad);
        say("free a: " + outcome(() -> heap.free(a)));
        LIVE.remove(a);
        check(heap);
        churn(heap, random, 20_000);
    }

    /**
     * A stray write into b's size (byte 2 of the header, tag untouched) that makes b appear to
     * span its live successor c exactly: freeing b must not free c with it.
     */
    private static void straySize(GlimmerHeap heap, SplittableRandom random) {
        long b = live(heap, heap.malloc(56), 600);      // 64-byte blocks: size field 0x40 << 16
        long c = live(heap, heap.malloc(56), 601);
        live(heap, heap.malloc(56), 602);
        requireAdjacent(heap, b, c);
        long hit = b - 8;
        long header = ALL.get(JAVA_LONG, hit);
        long size = ((header << 4) >>> 24) << 4;
        long doubled = (header & ~(((1L << 40) - 1) << 20)) | ((2 * size) << 16);
        ALL.set(JAVA_LONG, hit, doubled);
        damaged("b's size (now " + 2 * size + ", spanning c)", hit, 8, true);
        say("free b: " + outcome(() -> heap.free(b)));
        say("c still live: " + (heap.usableSize(c) > 0));
        check(heap);
        ALL.set(JAVA_LONG, hit, header);
        LIVE.remove(b);
        churn(heap, random, 20_000);
    }

    /** The words of {@code forged-interior}: flags and size of a header at p + 8, for pointer p + 16. */
    static final String[] FORGED = {"LARGE", "FENCE", "FREE", "CACHED", "a reserved bit", "size 16", "a huge size",
        "in use, 48 bytes, its end is user data", "in use, ending exactly at the next real header"};

    /**
     * Live data of p that passes the tag check at p + 8 — as one random word in 65536 does —
     * with each of {@link #FORGED}'s flags and sizes, on every kind of heap: free(p + 16) is an
     * interior pointer's free. Each word on a fresh heap (the default heap: until one is
     * accepted, since an accepted one leaves a phantom block behind); prints
     * {@code <kind> <word>: <status>}, then churns the heap looking for overlaps (a phantom block
     * freed inside p would be handed out again) and reports whether p is still live.
     */
    private static void forgedInterior(SplittableRandom random) {
        boolean defaultHeapHarmed = false;
        for (String kind : new String[] {"confined", "confined-nocache", "shared", "default"}) {
            for (int i = 0; i < FORGED.length; i++) {
                if (kind.equals("default") && defaultHeapHarmed) {
                    say(kind + " " + FORGED[i] + ": skipped (the default heap accepted an earlier word)");
                    continue;
                }
                GlimmerHeap heap = switch (kind) {
                    case "confined" -> GlimmerHeap.ofConfined();
                    case "confined-nocache" -> GlimmerHeap.builder().disableCache().build();
                    case "shared" -> GlimmerHeap.ofShared();
                    default -> Glimmer.defaultHeap();
                };
                LIVE.clear();
                FORBIDDEN.clear();
                overlap = "none";
                long p = live(heap, heap.malloc(200), 650);
                long next = live(heap, heap.malloc(64), 651);
                requireAdjacent(heap, p, next);
                long other = live(heap, heap.malloc(100), 652);
                if (!TestMemory.tagFormulaHolds(p, next, other)) {
                    say("tag formula changed");
                    return;
                }
                long key = TestMemory.tagKey(p);
                long q = p + 16;
                long[] words = {1L << 63 | 64L << 16, 1L << 60 | 64L << 16, 1L << 61 | 64L << 16,
                    1L << 62 | 64L << 16, 1L << 17 | 64L << 16, 16L << 16, 1L << 40, 48L << 16, (next - q) << 16};
                long old = ALL.get(JAVA_LONG, q - 8);
                ALL.set(JAVA_LONG, q - 8, TestMemory.withTag(key, q, words[i]));
                LIVE.get(p)[0] = 8;               // the pattern now covers only p's first word...
                FORBIDDEN.put(p, 200L);           // ... but no block may be handed out inside p
                int status = dev.glimmer.internal.GlimmerNative.heapFree(heap.handle(), q);
                say(kind + " " + FORGED[i] + ": " + Failures.statusName(status));
                if (status == 0) {
                    say(kind + " " + FORGED[i] + ": p still live: " + (heap.usableSize(p) >= 200));
                    defaultHeapHarmed |= heap.isDefault();
                    churn(heap, random, 2_000);   // what the phantom block does to p and its neighbours
                } else {
                    ALL.set(JAVA_LONG, q - 8, old);
                }
                for (long b : new ArrayList<>(LIVE.keySet())) {
                    try {
                        heap.free(b);
                    } catch (GlimmerException e) {
                        // the phantom's consequences: reported above
                    }
                }
                LIVE.clear();
                if (!heap.isDefault()) {
                    heap.close();
                }
            }
        }
    }

    /** A write after free over a free block's footer, then the block after it is freed. */
    private static void uafFooter(GlimmerHeap heap, SplittableRandom random) {
        live(heap, heap.malloc(2000), 699);         // a live predecessor: a's footer stays until b is freed
        long a = heap.malloc(2000);
        long b = live(heap, heap.malloc(2000), 700);
        live(heap, heap.malloc(64), 701);
        requireAdjacent(heap, a, b);
        heap.free(a);                               // a free range block: footer = its size
        long footer = b - 16;
        long old = ALL.get(JAVA_LONG, footer);
        ALL.set(JAVA_LONG, footer, old + 4096);     // now points 4 KiB further back
        damaged("free block a's footer", footer, 8, false);
        say("free b: " + outcome(() -> forget(heap, b)));
        check(heap);
        churn(heap, random, 20_000);
    }

    /** A write after free over the links of a free block in a range bin. */
    private static void uafLinks(GlimmerHeap heap, SplittableRandom random, String how) {
        long x = live(heap, heap.malloc(2000), 800);
        long p = heap.malloc(2000);
        long y = live(heap, heap.malloc(2000), 801);
        long q = heap.malloc(2000);
        live(heap, heap.malloc(64), 802);
        heap.free(p);
        heap.free(q);                               // p and q: two free blocks in the same bin
        long next;
        long prev;
        switch (how) {
            case "live" -> {                        // an attacker-chosen address: a live block's header
                next = y - 8;
                prev = x - 8;
            }
            case "copy" -> {                        // valid encoded links, copied from the other free block
                next = ALL.get(JAVA_LONG, q);
                prev = ALL.get(JAVA_LONG, q + 8);
            }
            case "zero" -> {
                next = 0;
                prev = 0;
            }
            default -> {
                next = -1;
                prev = -1;
            }
        }
        ALL.set(JAVA_LONG, p, next);
        ALL.set(JAVA_LONG, p + 8, prev);
        damaged("free block p's links (" + how + ")", p, 16, false);
        for (int i = 0; i < 4; i++) {
            say("malloc(2000): " + outcome(() -> live(heap, heap.malloc(2000), 810)));
        }
        check(heap);
        churn(heap, random, 20_000);
    }

    // ---- the model -----------------------------------------------------------------------------

    private static long live(GlimmerHeap heap, long p, long key) {
        long size = heap.usableSize(p);
        Map.Entry<Long, long[]> below = LIVE.floorEntry(p + size - 1);
        if (below != null && p < below.getKey() + below.getValue()[0]) {
            overlap = "0x" + Long.toHexString(p) + "[" + size + "] overlaps live 0x" + Long.toHexString(below.getKey());
        }
        Map.Entry<Long, Long> f = FORBIDDEN.floorEntry(p + size - 1);
        if (f != null && f.getKey() + f.getValue() > p - 8) {
            overlap = "0x" + Long.toHexString(p) + "[" + size + "] covers the damaged word 0x" + Long.toHexString(f.getKey());
        }
        Map.Entry<Long, Long> d = DAMAGED_FREE.floorEntry(p + size - 1);
        if (d != null && d.getKey() + d.getValue() > p - 8) {
            reused = "yes";
        }
        key = key * 1_000_003 + p;
        TestMemory.fill(p, size, key);
        LIVE.put(p, new long[] {size, key});
        return p;
    }

    private static void forget(GlimmerHeap heap, long p) {
        heap.free(p);
        LIVE.remove(p);
    }

    /**
     * Records the damaged word. {@code inUse}: it belongs to a live block (or a fencepost), so
     * no block handed out may ever cover it; otherwise (free or cached memory) the heap may
     * legitimately reuse it, and that is only reported ("damaged word reused").
     */
    private static void damaged(String what, long address, long length, boolean inUse) {
        (inUse ? FORBIDDEN : DAMAGED_FREE).put(address, length);
        say("damaged " + what + " at 0x" + Long.toHexString(address));
    }

    private static void requireAdjacent(GlimmerHeap heap, long a, long b) {
        if (a + heap.usableSize(a) + 8 != b) {
            throw new IllegalStateException("setup: 0x" + Long.toHexString(a) + " and 0x" + Long.toHexString(b)
                    + " are not adjacent");
        }
    }

    /** Random valid operations on the damaged heap; refused ones are counted, never crash. */
    private static void churn(GlimmerHeap heap, SplittableRandom random, int ops) {
        say("corrupt errors before churn: " + heap.stats().errorCount(GL_E_CORRUPT));
        int refused = 0;
        java.util.List<Long> mine = new java.util.ArrayList<>();
        for (int i = 0; i < ops; i++) {
            try {
                if (mine.isEmpty() || random.nextInt(100) < 55) {
                    long size = random.nextInt(8) == 0 ? random.nextLong(1000, 20_000) : random.nextLong(1, 300);
                    mine.add(live(heap, heap.malloc(size), i));
                } else {
                    long p = mine.remove(random.nextInt(mine.size()));
                    verify(p);
                    forget(heap, p);
                }
            } catch (GlimmerException e) {
                refused++;
            }
        }
        say("churn: " + ops + " ops, " + (refused > 0 ? "some" : "none") + " refused");
        say("overlap: " + overlap);
        say("damaged word reused: " + reused);
        boolean intact = true;
        for (Map.Entry<Long, long[]> e : LIVE.entrySet()) {
            intact &= TestMemory.firstMismatch(e.getKey(), e.getValue()[0], e.getValue()[1]) < 0;
        }
        say(intact ? "live blocks intact" : "live blocks overwritten");
        check(heap);
        for (long p : mine) {
            try {
                forget(heap, p);
            } catch (GlimmerException e) {
                LIVE.remove(p);
            }
        }
    }

    private static void verify(long p) {
        long[] v = LIVE.get(p);
        if (v != null && TestMemory.firstMismatch(p, v[0], v[1]) >= 0) {
            say("block 0x" + Long.toHexString(p) + " overwritten");
        }
    }

    private static void check(GlimmerHeap heap) {
        try {
            heap.check();
            say("check: ok");
        } catch (HeapCorruptionException e) {
            say("check: " + e.invariant() + " at 0x" + Long.toHexString(e.address()));
        }
    }

    private static void repairedCheck(GlimmerHeap heap) {
        try {
            heap.check();
            say("repaired check: ok");
        } catch (HeapCorruptionException e) {
            say("repaired check: " + e.invariant() + " at 0x" + Long.toHexString(e.address()) + " " + e.getMessage());
        }
    }

    private static String outcome(Runnable call) {
        try {
            call.run();
            return "ok";
        } catch (GlimmerException e) {
            return e.getClass().getSimpleName() + " " + e.status();
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
