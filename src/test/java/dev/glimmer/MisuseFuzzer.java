package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static dev.glimmer.TestMemory.hex;
import static dev.glimmer.internal.GlimmerNative.GL_E_ALIGN;
import static dev.glimmer.internal.GlimmerNative.GL_E_DOUBLE_FREE;
import static dev.glimmer.internal.GlimmerNative.GL_E_NOT_OURS;
import static dev.glimmer.internal.GlimmerNative.GL_E_SIZE;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.IntSupplier;

/**
 * The randomized misuse mode: valid operations (malloc, calloc, realloc, aligned_alloc, free,
 * usable_size, check, trim, reset) on four heaps at once — confined, confined without cache,
 * shared, default — through the Java API and glimmer.h at random, interleaved with injected
 * faults that the heap must detect without being harmed:
 * <ul>
 *   <li>double frees and reallocs of freed blocks (recently freed, cached, coalesced, trimmed
 *       away, from before a reset), but never of an address that is the start of a live block
 *       again (there the heap cannot know, see docs/safety.md);</li>
 *   <li>frees and reallocs of interior and misaligned pointers, glibc's blocks, other heaps'
 *       blocks, the heap struct, segment headers and fenceposts, small integers;</li>
 *   <li>impossible sizes, calloc overflows, bad alignments (and a failed realloc must leave its
 *       block as it was);</li>
 *   <li>usable_size of all of those (0);</li>
 *   <li>writes after free into a block in the recently-freed cache (harmless by design).</li>
 * </ul>
 * After every fault: the status (or exception) is the expected one, the error counter of that
 * kind moved by exactly one, nothing else in the heap's statistics moved. Throughout: every block
 * handed out is aligned, big enough and overlaps no live block of any heap; every block keeps its
 * pattern until it is freed; the statistics agree with the model; check() passes.
 *
 * <p>Separately isolated, every {@code episode} operations: a scratch heap gets one
 * <em>corrupting</em> fault (an overflow of 1 or 4 bytes into a used, free, cached or top header,
 * a write after free over a free block's links or footer), then random valid operations; the
 * process must survive, and no block handed out may overlap a live one or its contents change.
 *
 * <p>Frees of pointers from before a {@code reset} are injected too ({@code --no-reset-stale}
 * turns them off: before reset cleared the headers it frees, 1 reset in 65536 gave old headers
 * valid tags again, see DoubleFreeTest).
 *
 * <p>Usage: {@code MisuseFuzzer [--seed S] [--ops N | --seconds T] [--episode E] [--no-reset-stale]}.
 * Prints progress, then {@code done: ...}; on a finding, {@code FAILURE ...} with the seed, the
 * operation number and the last operations, and exits with 1.
 */
public final class MisuseFuzzer {

    /** A live block: the heap it belongs to, where, how much was asked and is usable, its pattern. */
    record Block(Fh heap, long address, long size, long usable, long key) {
    }

    /** One heap under test, its drivers and its model. */
    static final class Fh {
        final String name;
        final GlimmerHeap heap;
        final HeapDriver java;
        final HeapDriver raw;
        final boolean cache;
        final boolean resettable;
        final List<Block> list = new ArrayList<>();
        final Map<Long, Integer> index = new HashMap<>();
        long usableSum;
        /** Recently freed addresses (stale pointers). */
        final long[] stale = new long[64];
        int staleCount;
        /** Addresses of blocks that were live when the heap was reset (unless --no-reset-stale). */
        final List<Long> resetStale = new ArrayList<>();

        Fh(String name, GlimmerHeap heap, boolean cache, boolean resettable) {
            this.name = name;
            this.heap = heap;
            this.java = new HeapDriver.JavaApi(heap);
            this.raw = new HeapDriver.NativeApi(heap);
            this.cache = cache;
            this.resettable = resettable;
        }

        void add(Block b) {
            index.put(b.address(), list.size());
            list.add(b);
            usableSum += b.usable();
        }

        Block remove(long address) {
            int i = index.remove(address);
            Block b = list.get(i);
            Block last = list.remove(list.size() - 1);
            if (i < list.size()) {
                list.set(i, last);
                index.put(last.address(), i);
            }
            usableSum -= b.usable();
            return b;
        }

        void staleAdd(long p) {
            stale[staleCount++ % stale.length] = p;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private final SplittableRandom random;
    private final long seed;
    private final boolean resetStaleFaults;
    private final long episodeEvery;
    private final List<Fh> heaps = new ArrayList<>();
    /** Every live block of every heap, by address: for overlap checks. */
    private final TreeMap<Long, Block> all = new TreeMap<>();
    private final long[] glibc = new long[32];
    private final ArrayDeque<String> log = new ArrayDeque<>();
    private final Map<String, Long> faults = new TreeMap<>();
    private long op;
    private long episodes;

    MisuseFuzzer(long seed, boolean resetStaleFaults, long episodeEvery) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
        this.resetStaleFaults = resetStaleFaults;
        this.episodeEvery = episodeEvery;
    }

    public static void main(String[] args) {
        long seed = System.nanoTime();
        long ops = 1_000_000;
        long seconds = 0;
        long episode = 50_000;
        boolean resetStale = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--ops" -> ops = Long.parseLong(args[++i]);
                case "--seconds" -> seconds = Long.parseLong(args[++i]);
                case "--episode" -> episode = Long.parseLong(args[++i]);
                case "--reset-stale" -> resetStale = true;
                case "--no-reset-stale" -> resetStale = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        MisuseFuzzer f = new MisuseFuzzer(seed, resetStale, episode);
        long start = System.nanoTime();
        long deadline = seconds > 0 ? start + seconds * 1_000_000_000L : Long.MAX_VALUE;
        long limit = seconds > 0 ? Long.MAX_VALUE : ops;
        say("seed: " + seed);
        try {
            f.setUp();
            long nextReport = System.nanoTime() + 60_000_000_000L;
            while (f.op < limit && ((f.op & 1023) != 0 || System.nanoTime() < deadline)) {
                f.step();
                if ((f.op & 0xffff) == 0 && System.nanoTime() > nextReport) {
                    nextReport = System.nanoTime() + 60_000_000_000L;
                    say("progress: " + f.op + " ops, " + f.totalFaults() + " faults, " + f.episodes + " episodes, "
                            + (System.nanoTime() - start) / 1_000_000_000L + " s");
                }
            }
            f.finish();
        } catch (Throwable e) {
            say("FAILURE at op " + f.op + ", seed " + seed + " (rerun: --seed " + seed + "): " + e);
            for (StackTraceElement el : e.getStackTrace()) {
                if (el.getClassName().startsWith("dev.glimmer")) {
                    say("    at " + el);
                }
            }
            say("last operations:");
            f.log.forEach(l -> say("  " + l));
            System.exit(1);
        }
        say("faults: " + f.faults);
        say("done: " + f.op + " ops, " + f.totalFaults() + " faults, " + f.episodes + " corrupting episodes, seed "
                + seed + ", " + (System.nanoTime() - start) / 1_000_000 + " ms");
        System.exit(0);
    }

    long totalFaults() {
        return faults.values().stream().mapToLong(Long::longValue).sum();
    }

    void setUp() {
        heaps.add(new Fh("confined", GlimmerHeap.ofConfined(), true, true));
        heaps.add(new Fh("confined-nocache", GlimmerHeap.builder().disableCache().build(), false, true));
        heaps.add(new Fh("shared", GlimmerHeap.ofShared(), true, true));
        heaps.add(new Fh("default", Glimmer.defaultHeap(), true, false));
        for (int i = 0; i < glibc.length; i++) {
            glibc[i] = TestMemory.glibcMalloc(i < 24 ? 16 + 40L * i : 200_000 + i);
        }
    }

    void finish() {
        for (Fh h : heaps) {
            for (Block b : new ArrayList<>(h.list)) {
                free(h, b, h.raw);
            }
            h.heap.check();
            verifyStats(h);
            if (!h.heap.isDefault()) {
                h.heap.close();
            }
        }
        for (long g : glibc) {
            TestMemory.glibcFree(g);
        }
    }

    private void note(String s) {
        if (log.size() == 40) {
            log.removeFirst();
        }
        log.addLast(op + ": " + s);
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    // ---- one step ----------------------------------------------------------------------------

    void step() {
        op++;
        Fh h = heaps.get(random.nextInt(heaps.size()));
        HeapDriver d = random.nextBoolean() ? h.java : h.raw;
        int r = random.nextInt(1000);
        if (r < 880 || h.list.isEmpty()) {
            valid(h, d, random.nextInt(100));
        } else {
            fault(h, d, random.nextInt(100));
        }
        if (op % 4096 == 0) {
            Fh c = heaps.get(random.nextInt(heaps.size()));
            note("check " + c);
            c.heap.check();
            verifyStats(c);
        }
        if (op % 100_000 == 0) {
            for (Block b : all.values()) {
                verify(b);
            }
            if (DEBUG) {
                for (Fh x : heaps) {
                    String dw = describeWord(x, x.list.isEmpty() ? 16 : x.list.get(0).address());
                    if (dw.contains("another key")) {
                        say("DEBUG " + x + " op " + op + dw);
                    }
                }
            }
        }
        if (episodeEvery > 0 && op % episodeEvery == 0) {
            episode(random.split());
        }
    }

    private long size() {
        int r = random.nextInt(10_000);
        if (r < 7000) {
            return random.nextLong(0, 257);
        }
        if (r < 9500) {
            return random.nextLong(257, 1025);
        }
        if (r < 9990) {
            return random.nextLong(1025, 40_000);
        }
        return random.nextLong(MiB, 3 * MiB);
    }

    private void valid(Fh h, HeapDriver d, int r) {
        if (h.list.isEmpty() || (r < 40 && h.list.size() < 1500)) {
            long size = size();
            long p;
            long alignment = 16;
            boolean zeroed = false;
            if (r < 6) {
                long n = 1 + random.nextLong(6);
                size = n * (size / n + 1);
                p = d.calloc(n, size / n);
                zeroed = true;
                note(h + " " + d.api() + " calloc(" + n + ", " + size / n + ") = " + hex(p));
            } else if (r < 9) {
                alignment = 32L << random.nextInt(10);
                p = d.alignedAlloc(alignment, size);
                note(h + " " + d.api() + " aligned_alloc(" + alignment + ", " + size + ") = " + hex(p));
            } else {
                p = d.malloc(size);
                note(h + " " + d.api() + " malloc(" + size + ") = " + hex(p));
            }
            require(p != 0, h + ": allocation of " + size + " failed with " + d.lastStatus);
            require(p % alignment == 0, h + ": " + hex(p) + " is not aligned to " + alignment);
            if (zeroed) {
                long at = TestMemory.firstNonZero(p, size);
                require(at < 0, h + ": calloc returned " + hex(p) + " not zeroed at offset " + at);
            }
            adopt(h, p, size);
        } else if (r < 55) {
            Block b = pick(h);
            verify(b);
            long size = random.nextInt(10) == 0 ? 0 : size();
            long q = d.realloc(b.address(), size);
            note(h + " " + d.api() + " realloc(" + hex(b.address()) + ", " + size + ") = " + hex(q));
            require(q != 0, h + ": realloc(" + hex(b.address()) + ", " + size + ") failed with " + d.lastStatus);
            long kept = Math.min(size, b.size());
            long bad = TestMemory.firstMismatch(q, kept, b.key());
            require(bad < 0, h + ": realloc moved " + hex(b.address()) + " to " + hex(q) + " and lost byte " + bad);
            drop(h, b);
            if (q != b.address()) {
                h.staleAdd(b.address());
            }
            adopt(h, q, size);
        } else if (r < 95) {
            Block b = pick(h);
            free(h, b, d);
            // writes after free into a block the cache now holds: harmless by design
            if (h.cache && b.usable() <= 1000 && random.nextInt(8) == 0) {
                fault("write after free into a cached block");
                scribble(b.address(), b.usable());
            }
        } else if (r < 97) {
            Block b = pick(h);
            require(d.usableSize(b.address()) == b.usable(), h + ": usable size of " + hex(b.address()) + " changed");
        } else if (r < 98) {
            note(h + " trim");
            h.heap.trim();
        } else if (h.resettable && random.nextInt(200) == 0) {
            note(h + " reset");
            for (Block b : new ArrayList<>(h.list)) {
                drop(h, b);
                if (resetStaleFaults && h.resetStale.size() < 256) {
                    h.resetStale.add(b.address());
                }
            }
            if (!resetStaleFaults) {
                h.staleCount = 0;
            }
            h.heap.reset();
            h.heap.check();
            verifyStats(h);
        }
    }

    private Block pick(Fh h) {
        return h.list.get(random.nextInt(h.list.size()));
    }

    private void adopt(Fh h, long p, long size) {
        long usable = h.heap.usableSize(p);
        require(usable >= size, h + ": " + hex(p) + " has " + usable + " usable bytes, asked " + size);
        long end = p + Math.max(usable, 1);
        var below = all.floorEntry(end - 1);
        if (below != null && p < below.getKey() + Math.max(below.getValue().usable(), 1)) {
            throw new AssertionError(h + ": " + hex(p) + "[" + usable + "] overlaps live " + hex(below.getKey()) + "["
                    + below.getValue().usable() + "] of " + below.getValue().heap());
        }
        long key = random.nextLong();
        TestMemory.fill(p, size, key);
        Block b = new Block(h, p, size, usable, key);
        h.add(b);
        all.put(p, b);
    }

    private void drop(Fh h, Block b) {
        h.remove(b.address());
        all.remove(b.address());
    }

    private void free(Fh h, Block b, HeapDriver d) {
        verify(b);
        note(h + " " + d.api() + " free(" + hex(b.address()) + ")");
        int status = d.free(b.address());
        require(status == 0, h + ": free(" + hex(b.address()) + ") of a live block returned " + status);
        drop(h, b);
        h.staleAdd(b.address());
    }

    private static void verify(Block b) {
        long bad = TestMemory.firstMismatch(b.address(), b.size(), b.key());
        require(bad < 0, b.heap() + ": live block " + hex(b.address()) + " of " + b.size() + " bytes overwritten at "
                + bad);
    }

    private void verifyStats(Fh h) {
        HeapStats s = h.heap.stats();
        require(s.liveBlocks() == h.list.size(), h + ": " + s.liveBlocks() + " live blocks, the model has "
                + h.list.size() + ": " + s);
        require(s.liveBytes() == h.usableSum, h + ": " + s.liveBytes() + " live bytes, the model has " + h.usableSum
                + ": " + s);
    }

    private void scribble(long p, long usable) {
        long w = switch (random.nextInt(4)) {
            case 0 -> -1L;
            case 1 -> 0L;
            case 2 -> ALL.get(JAVA_LONG, p - 8);
            default -> random.nextLong();
        };
        for (long off = 0; off + 8 <= usable; off += 8) {
            ALL.set(JAVA_LONG, p + off, w);
        }
    }

    // ---- faults ------------------------------------------------------------------------------

    private void fault(String kind) {
        faults.merge(kind, 1L, Long::sum);
    }

    /** The misuse {@code call} is refused with one of {@code allowed}; nothing but the counter moved. */
    private void refused(Fh h, HeapDriver d, String what, Set<Integer> allowed, IntSupplier call) {
        HeapStats before = h.heap.stats();
        note(h + " " + d.api() + " FAULT " + what);
        int status = call.getAsInt();
        require(allowed.contains(status), h + " via " + d.api() + ": " + what + " gave "
                + Failures.statusName(status) + ", expected one of " + allowed + lastWord);
        lastWord = "";
        HeapStats after = h.heap.stats();
        long moved = d.lastReachedNative ? 1 : 0;
        require(after.errorCount(status) - before.errorCount(status) == moved, h + ": " + what + ": errors["
                + -status + "] moved by " + (after.errorCount(status) - before.errorCount(status)));
        require(after.totalErrors() - before.totalErrors() == moved, h + ": " + what + ": other error counters moved");
        HeapDriver.assertUnchangedButErrors(before, after, h + ": " + what);
    }

    private static final boolean DEBUG = Boolean.getBoolean("glimmer.fuzz.debug");
    /** Whether two live blocks of one heap gave the same tag key (the formula of gl_layout.h holds). */
    private boolean formulaChecked;
    private int debugCount;

    /** For failure messages: the word in front of the bad pointer, when it is known to be readable. */
    private String lastWord = "";

    private String describeWord(Fh h, long p) {
        if ((p & 15) != 0) {
            return "";
        }
        boolean readable = false;
        long key = -1;
        for (Block b : h.list) {
            if (b.usable() < 1000) {
                key = TestMemory.tagKey(b.address());
                readable |= ((b.address() - 8) & ~(SEGMENT - 1)) == ((p - 8) & ~(SEGMENT - 1));
            }
        }
        var owner = all.floorEntry(p - 8);
        readable |= owner != null && p <= owner.getKey() + owner.getValue().size();
        if (!readable) {
            return " (the word before it: not known to be readable)";
        }
        long w = ALL.get(JAVA_LONG, p - 8);
        StringBuilder odd = new StringBuilder();
        Map<Long, Integer> keys = new HashMap<>();
        for (Block b : h.list) {
            if (b.usable() < 1000) {
                keys.merge(TestMemory.tagKey(b.address()), 1, Integer::sum);
            }
        }
        if (keys.size() > 1) {
            long major = keys.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            for (Block b : h.list) {
                if (b.usable() < 1000 && TestMemory.tagKey(b.address()) != major && odd.length() < 400) {
                    odd.append(" ").append(hex(b.address())).append(" usable ").append(b.usable()).append(" size ")
                            .append(b.size()).append(" header ").append(hex(ALL.get(JAVA_LONG, b.address() - 8)));
                }
            }
            odd.insert(0, "; blocks whose header gives another key (" + keys + "):");
        }
        return " (the word before it: " + hex(w) + odd + ", tag " + (key >= 0 && TestMemory.tagValid(key, p, w) ? "valid" : "invalid")
                + (owner != null && p <= owner.getKey() + owner.getValue().size() ? ", live data of " + hex(owner.getKey()) : "")
                + ")";
    }

    private static final Set<Integer> ANY_REFUSAL = Set.of(GL_E_DOUBLE_FREE, GL_E_NOT_OURS,
            dev.glimmer.internal.GlimmerNative.GL_E_CORRUPT);

    /**
     * The statuses a bad pointer may get. One random word in 65536 passes the header's tag
     * check: when the word in front of p is such a word (live data, or what a freed block left
     * behind), without the FREE or CACHED flag, the heap takes it for a damaged header and
     * reports GL_E_CORRUPT instead of GL_E_NOT_OURS / GL_E_DOUBLE_FREE — a known imprecision
     * with a test of its own (InvalidFreeTest). It must still be refused. White-box: the tag
     * formula of gl_layout.h, learned from live blocks of the heap.
     */
    private Set<Integer> allowedFor(Fh h, long p, Set<Integer> allowed) {
        if ((p & 15) != 0) {
            return allowed;
        }
        long[] known = new long[2];
        int n = 0;
        boolean sameSegment = false;                       // p - 8 is in a segment of h that is mapped
        for (Block b : h.list) {
            if (b.usable() < 1000) {
                if (n < 2) {
                    known[n++] = b.address();
                }
                sameSegment |= ((b.address() - 8) & ~(SEGMENT - 1)) == ((p - 8) & ~(SEGMENT - 1));
            }
            if (n == 2 && sameSegment) {
                break;
            }
        }
        var owner = all.floorEntry(p - 8);
        boolean liveData = owner != null && p <= owner.getKey() + owner.getValue().size();
        if (n == 2 && !formulaChecked) {
            formulaChecked = TestMemory.tagFormulaHolds(known);   // once: the formula, not the key, is checked
        }
        if (n == 0 || !formulaChecked || !(liveData || sameSegment)) {
            return allowed;                                // only memory known to be readable is read
        }
        long w = ALL.get(JAVA_LONG, p - 8);
        // live data of a block (whatever its bits), or, in free memory, a word that is not a
        // real header of a freed block (those must still give GL_E_DOUBLE_FREE): leftover data
        long size = ((w << 4) >>> 24) << 4;
        boolean plain = (w >>> 63) == 0 && ((w >>> 17) & 7) == 0;
        boolean realFreedHeader = plain && ((w >>> 60) & 1) == 0 && size >= 32 && size < SEGMENT
                && (w & (3L << 61)) != 0;
        boolean fencepost = plain && ((w >>> 60) & 1) == 1 && (w & (3L << 61)) == 0 && size <= 16;
        if ((liveData || !(realFreedHeader || fencepost))
                && TestMemory.tagValid(TestMemory.tagKey(known[0]), p, w)) {
            fault("bad pointer behind a word with a valid tag");
            if (DEBUG && debugCount++ < 30) {
                say("DEBUG valid tag at " + hex(p) + ": word " + hex(w) + " liveData " + liveData + " realFreed " + realFreedHeader + " fence " + fencepost + " h " + h);
            }
            return ANY_REFUSAL;
        }
        return allowed;
    }

    /** A free, a realloc or a usable_size of a bad pointer. */
    private void badPointer(Fh h, HeapDriver d, String what, long p, Set<Integer> expected) {
        require(!all.containsKey(p) || all.get(p).heap() != h, "fuzzer: " + hex(p) + " is live");
        Set<Integer> allowed = allowedFor(h, p, expected);
        lastWord = describeWord(h, p);
        switch (random.nextInt(3)) {
            case 0 -> refused(h, d, "free(" + what + " " + hex(p) + ")", allowed, () -> d.free(p));
            case 1 -> {
                long size = random.nextLong(0, 5000);
                refused(h, d, "realloc(" + what + " " + hex(p) + ", " + size + ")", allowed, () -> {
                    long q = d.realloc(p, size);
                    require(q == 0, h + ": realloc of " + what + " " + hex(p) + " returned " + hex(q));
                    return d.lastStatus;
                });
            }
            default -> {
                note(h + " " + d.api() + " FAULT usable_size(" + what + " " + hex(p) + ")");
                require(d.usableSize(p) == 0, h + ": usable_size(" + what + " " + hex(p) + ") is not 0");
            }
        }
    }

    private static final Set<Integer> STALE = Set.of(GL_E_DOUBLE_FREE, GL_E_NOT_OURS);
    private static final Set<Integer> NOT_OURS = Set.of(GL_E_NOT_OURS);

    private void fault(Fh h, HeapDriver d, int r) {
        if (r < 25) {
            // a stale pointer: freed before, not the start of a live block now
            int n = Math.min(h.staleCount, h.stale.length);
            long p = n == 0 ? 0 : h.stale[random.nextInt(n)];
            if (p == 0 || all.containsKey(p)) {
                return;
            }
            fault("stale pointer (double free)");
            badPointer(h, d, "stale pointer", p, STALE);
        } else if (r < 30) {
            // free right after free: the block is in the cache or a free block
            Block b = pick(h);
            free(h, b, d);
            fault("immediate double free");
            refused(h, d, "free(" + hex(b.address()) + ") twice", Set.of(GL_E_DOUBLE_FREE), () -> d.free(b.address()));
        } else if (r < 45) {
            // an interior or misaligned pointer of a live block
            Block b = pick(h);
            long off = 1 + random.nextLong(Math.max(1, b.usable() - 1));
            if (random.nextBoolean()) {
                off = Math.min(off, 16) | (random.nextBoolean() ? 8 : 0);
            }
            long p = b.address() + off;
            if (all.containsKey(p)) {
                return;
            }
            boolean headerInPattern = off % 16 != 0 || off + 8 <= b.size() && off >= 16;
            fault("interior pointer");
            badPointer(h, d, "p + " + off + " of a " + b.usable() + "-byte block", p, headerInPattern ? NOT_OURS : STALE);
        } else if (r < 55) {
            // somebody else's memory
            int k = random.nextInt(6);
            long p;
            Set<Integer> allowed = NOT_OURS;
            String what;
            switch (k) {
                case 0 -> {
                    p = glibc[random.nextInt(glibc.length)] + (random.nextInt(4) == 0 ? 16 : 0);
                    what = "glibc's block";
                }
                case 1 -> {
                    Fh other = heaps.get(random.nextInt(heaps.size()));
                    if (other == h || other.list.isEmpty()) {
                        return;
                    }
                    Block b = pick(other);
                    p = b.address();
                    what = "a block of the " + other + " heap";
                    if (b.usable() >= MiB) {
                        allowed = STALE;    // may sit where this heap unmapped a large block lately
                    }
                }
                case 2 -> {
                    p = h.heap.handle() + 16L * random.nextInt(600);
                    what = "the heap struct";
                }
                case 3 -> {
                    Block b = pick(h);
                    long base = (b.address() - 8) & ~(SEGMENT - 1);
                    p = base + new long[] {0, 16, 32, 48, 64, SEGMENT - 8, SEGMENT}[random.nextInt(7)];
                    what = "a segment header or fencepost";
                    if (b.usable() >= MiB || all.containsKey(p)) {
                        return;             // a large block has no segment
                    }
                }
                case 4 -> {
                    p = random.nextLong(1, 4096 * 4);
                    what = "a small integer";
                }
                default -> {
                    p = h.resetStale.isEmpty() ? 0 : h.resetStale.get(random.nextInt(h.resetStale.size()));
                    what = "a pointer from before reset";
                    allowed = STALE;
                    if (p == 0 || all.containsKey(p)) {
                        return;
                    }
                }
            }
            fault(what);
            badPointer(h, d, what, p, allowed);
        } else if (r < 85) {
            // impossible sizes and alignments
            long size = SizeArithmeticTest.IMPOSSIBLE[random.nextInt(SizeArithmeticTest.IMPOSSIBLE.length)];
            switch (random.nextInt(5)) {
                case 0 -> {
                    fault("impossible size");
                    refused(h, d, "malloc(" + Long.toUnsignedString(size) + ")", Set.of(GL_E_SIZE), () -> {
                        require(d.malloc(size) == 0, "malloc of an impossible size succeeded");
                        return d.lastStatus;
                    });
                }
                case 1 -> {
                    long n = 1L << (20 + random.nextInt(40));
                    long each = Long.divideUnsigned(-1L, n) + 1 + random.nextInt(1000);
                    fault("calloc overflow");
                    refused(h, d, "calloc(" + n + ", " + Long.toUnsignedString(each) + ")", Set.of(GL_E_SIZE), () -> {
                        require(d.calloc(n, each) == 0, "calloc overflow succeeded");
                        return d.lastStatus;
                    });
                }
                case 2 -> {
                    long alignment = random.nextBoolean() ? 16 + 16L * random.nextInt(100) + 8 : 1L << (41 + random.nextInt(22));
                    fault("bad alignment");
                    refused(h, d, "aligned_alloc(" + alignment + ", 100)", Set.of(GL_E_ALIGN), () -> {
                        require(d.alignedAlloc(alignment, 100) == 0, "a bad alignment succeeded");
                        return d.lastStatus;
                    });
                }
                default -> {
                    Block b = pick(h);
                    fault("realloc to an impossible size");
                    refused(h, d, "realloc(" + hex(b.address()) + ", " + Long.toUnsignedString(size) + ")",
                            Set.of(GL_E_SIZE), () -> {
                                require(d.realloc(b.address(), size) == 0, "realloc to an impossible size succeeded");
                                return d.lastStatus;
                            });
                    verify(b);
                    require(h.heap.usableSize(b.address()) == b.usable(), h + ": a failed realloc changed the block");
                }
            }
        }
    }

    // ---- corrupting faults, each in a scratch heap of its own ----------------------------------

    private void episode(SplittableRandom r) {
        episodes++;
        int kind = r.nextInt(10);
        note("EPISODE " + kind);
        try (GlimmerHeap heap = r.nextBoolean() ? GlimmerHeap.ofConfined() : GlimmerHeap.builder().disableCache().build()) {
            TreeMap<Long, long[]> live = new TreeMap<>();
            List<Long> order = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                long size = r.nextInt(5) == 0 ? r.nextLong(1024, 5000) : r.nextLong(16, 500);
                long p = heap.malloc(size);
                TestMemory.fill(p, size, p);
                live.put(p, new long[] {size, p});
                order.add(p);
            }
            // the victim: a block and its successor
            long a = order.get(r.nextInt(order.size() - 1));
            long next = a + heap.usableSize(a) + 8;
            switch (kind) {
                case 0, 1, 2 -> {                       // overflow into the next header: used, free, cached
                    if (kind > 0 && live.containsKey(next)) {
                        live.remove(next);
                        order.remove(next);
                        heap.free(next);
                    }
                    overflow(a + heap.usableSize(a), r);
                }
                case 3 -> {                              // overflow into the top's header
                    long last = heap.malloc(64);
                    TestMemory.fill(last, 64, last);
                    live.put(last, new long[] {64, last});
                    order.add(last);
                    overflow(last + heap.usableSize(last), r);
                }
                case 4, 5, 6, 7 -> {                     // write after free over a free block's links
                    long p = heap.malloc(3000);
                    long guard = heap.malloc(1100);      // medium: carved right behind p, no run between
                    live.put(guard, new long[] {0, guard});
                    order.add(guard);
                    heap.free(p);
                    long w = switch (kind) {
                        case 4 -> 0L;
                        case 5 -> -1L;
                        case 6 -> order.get(0) - 8;      // an attacker's choice: a live block's header
                        default -> r.nextLong();
                    };
                    ALL.set(JAVA_LONG, p, w);
                    ALL.set(JAVA_LONG, p + 8, kind == 6 ? order.get(1) - 8 : w);
                }
                default -> {                             // write after free over a free block's footer
                    long p = heap.malloc(3000);
                    long q = heap.malloc(1100);          // medium: carved right behind p, no run between
                    TestMemory.fill(q, 1100, q);
                    live.put(q, new long[] {1100, q});
                    order.add(q);
                    heap.free(p);
                    ALL.set(JAVA_LONG, q - 16, ALL.get(JAVA_LONG, q - 16) + 16L * (1 + r.nextInt(1000)));
                }
            }
            for (int i = 0; i < 3000; i++) {
                try {
                    if (order.isEmpty() || r.nextBoolean()) {
                        long size = r.nextInt(5) == 0 ? r.nextLong(1024, 5000) : r.nextLong(1, 500);
                        long p = heap.malloc(size);
                        var below = live.floorEntry(p + size - 1);
                        require(below == null || p >= below.getKey() + Math.max(below.getValue()[0], 1),
                                "episode " + kind + ": " + hex(p) + " overlaps live " + (below == null ? "" : hex(below.getKey())));
                        TestMemory.fill(p, size, p);
                        live.put(p, new long[] {size, p});
                        order.add(p);
                    } else {
                        long p = order.remove(r.nextInt(order.size()));
                        long[] v = live.remove(p);
                        require(TestMemory.firstMismatch(p, v[0], v[1]) < 0, "episode " + kind + ": live block "
                                + hex(p) + " overwritten");
                        heap.free(p);
                    }
                } catch (GlimmerException e) {
                    // damage met and reported: fine
                }
            }
            for (var e : live.entrySet()) {
                require(TestMemory.firstMismatch(e.getKey(), e.getValue()[0], e.getValue()[1]) < 0,
                        "episode " + kind + ": live block " + hex(e.getKey()) + " overwritten");
            }
            try {
                heap.check();
            } catch (HeapCorruptionException e) {
                // expected: the damage is there
            }
        }
    }

    private static void overflow(long hit, SplittableRandom r) {
        int width = r.nextBoolean() ? 1 : 4;
        for (int i = 0; i < width; i++) {
            byte old = ALL.get(JAVA_BYTE, hit + i);
            ALL.set(JAVA_BYTE, hit + i, width == 1 ? (byte) ~old : (byte) 'A');
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
