package dev.glimmer.tool;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.glimmer.Glimmer;
import dev.glimmer.GlimmerHeap;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The main job ({@code make run}): the seed's allocation workloads through the Java API,
 * for Glimmer (a confined {@link GlimmerHeap}, raw {@code malloc(long)}/{@code free(long)})
 * and for glibc's {@code malloc}/{@code free} bound through FFM the same way (exact
 * {@code JAVA_LONG} handles, {@code critical(false)}), side by side in one run.
 *
 * <p>Both allocators get the identical request stream (sizes precomputed from a seeded
 * random stream); every block is touched (one byte written at its start and one at its
 * end) so neither can win by handing out memory it never backs. Each workload is
 * warmed up, then timed several times per allocator, interleaved; the table shows the
 * <b>median</b> of the timed runs in Mops/s, where ops = mallocs + frees.
 *
 * <p>Options (arguments override system properties):
 * <pre>
 *   --quick        | -Dglimmer.run.quick=true   a run of a second or two (tests use it)
 *   --reps=N       | -Dglimmer.run.reps=N       timed runs per allocator (default 7, quick 2)
 *   --seed=S       | -Dglimmer.run.seed=S       seed of the size streams (default 42)
 * </pre>
 */
@SuppressWarnings("restricted") // downcalls to glibc, and the all-of-memory segment for touching
public final class SideBySide {

    /** All of memory, for touching raw addresses with bounds checks that never fail. */
    private static final MemorySegment MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** The table header, also what the smoke test looks for. */
    public static final String TABLE_HEADER = "| workload | Glimmer Mops/s | glibc Mops/s | ratio |";

    private SideBySide() {
    }

    // ---- the two allocators, same shape ---------------------------------------------

    /** An allocator as the workloads see it: raw addresses, exceptions on failure. */
    interface Allocator {
        long malloc(long size);

        void free(long address);
    }

    /** Glimmer through its public Java API. */
    static final class GlimmerAllocator implements Allocator {
        private final GlimmerHeap heap;

        GlimmerAllocator(GlimmerHeap heap) {
            this.heap = heap;
        }

        @Override
        public long malloc(long size) {
            return heap.malloc(size);
        }

        @Override
        public void free(long address) {
            heap.free(address);
        }
    }

    /** glibc malloc/free bound through FFM exactly as Glimmer is: JAVA_LONG, critical(false). */
    static final class GlibcAllocator implements Allocator {
        private static final MethodHandle MALLOC;
        private static final MethodHandle FREE;

        static {
            Linker linker = Linker.nativeLinker();
            Linker.Option critical = Linker.Option.critical(false);
            MALLOC = linker.downcallHandle(linker.defaultLookup().find("malloc").orElseThrow(),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_LONG), critical);
            FREE = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(),
                    FunctionDescriptor.ofVoid(JAVA_LONG), critical);
        }

        @Override
        public long malloc(long size) {
            long p;
            try {
                p = (long) MALLOC.invokeExact(size);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (p == 0) {
                throw new OutOfMemoryError("glibc malloc(" + size + ") returned NULL");
            }
            return p;
        }

        @Override
        public void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
    }

    // ---- workloads ------------------------------------------------------------------

    /**
     * A workload: a batch of {@code sizes.length} mallocs (touched) and then as many frees,
     * repeated {@code rounds} times; or, for pairs, malloc+free one at a time.
     */
    record Workload(String name, long[] sizes, boolean pairs, int rounds) {
        long ops() {
            return 2L * sizes.length * rounds;
        }
    }

    static long[] sizes(SplittableRandom random, int n, int min, int max) {
        long[] s = new long[n];
        for (int i = 0; i < n; i++) {
            s[i] = random.nextInt(min, max + 1);
        }
        return s;
    }

    static List<Workload> workloads(long seed, boolean quick) {
        // ops per timed run: enough for ~50-100 ms per run normally, a few ms when quick
        long target = quick ? 200_000 : 4_000_000;
        SplittableRandom random = new SplittableRandom(seed);
        List<Workload> list = new ArrayList<>();
        long[] pair = new long[4096];
        Arrays.fill(pair, 32);
        list.add(new Workload("malloc(32)+free pairs", pair, true, rounds(target, pair.length)));
        for (int n : new int[] {100, 1_000, 10_000, 100_000}) {
            list.add(new Workload(String.format(Locale.ROOT, "batch of N sizes 8..64, N=%,d", n),
                    sizes(random, n, 8, 64), false, rounds(target, n)));
        }
        list.add(new Workload("batch of N sizes 8..256, N=10,000",
                sizes(random, 10_000, 8, 256), false, rounds(target, 10_000)));
        // 1..64 KiB blocks are far costlier per op (page faults): a tenth of the ops
        list.add(new Workload("1 KiB..64 KiB blocks, N=100",
                sizes(random, 100, 1024, 65536), false, rounds(target / 10, 100)));
        return list;
    }

    private static int rounds(long targetOps, int n) {
        return (int) Math.max(1, targetOps / (2L * n));
    }

    /** Runs one workload once; returns elapsed nanoseconds. */
    static long runOnce(Allocator a, Workload w, long[] ptrs) {
        long[] sizes = w.sizes();
        int n = sizes.length;
        long start = System.nanoTime();
        if (w.pairs()) {
            for (int r = 0; r < w.rounds(); r++) {
                for (int i = 0; i < n; i++) {
                    long size = sizes[i];
                    long p = a.malloc(size);
                    touch(p, size);
                    a.free(p);
                }
            }
        } else {
            for (int r = 0; r < w.rounds(); r++) {
                for (int i = 0; i < n; i++) {
                    long size = sizes[i];
                    long p = a.malloc(size);
                    touch(p, size);
                    ptrs[i] = p;
                }
                for (int i = 0; i < n; i++) {
                    a.free(ptrs[i]);
                }
            }
        }
        return System.nanoTime() - start;
    }

    private static void touch(long p, long size) {
        MEMORY.set(JAVA_BYTE, p, (byte) 1);
        MEMORY.set(JAVA_BYTE, p + size - 1, (byte) 2);
    }

    // ---- the run --------------------------------------------------------------------

    /** One table row. */
    record Row(String workload, double glimmerMops, double glibcMops) {
        double ratio() {
            return glimmerMops / glibcMops;
        }
    }

    /** Options of a run. */
    record Options(boolean quick, int reps, int warmups, long seed) {
        static Options parse(String[] args) {
            boolean quick = Boolean.getBoolean("glimmer.run.quick");
            Integer reps = Integer.getInteger("glimmer.run.reps");
            long seed = Long.getLong("glimmer.run.seed", 42L);
            for (String arg : args) {
                if (arg.equals("--quick")) {
                    quick = true;
                } else if (arg.startsWith("--reps=")) {
                    reps = Integer.parseInt(arg.substring("--reps=".length()));
                } else if (arg.startsWith("--seed=")) {
                    seed = Long.parseLong(arg.substring("--seed=".length()));
                } else if (arg.equals("--help") || arg.equals("-h")) {
                    throw new IllegalArgumentException("usage: SideBySide [--quick] [--reps=N] [--seed=S]");
                } else {
                    throw new IllegalArgumentException("unknown argument " + arg
                            + "; usage: SideBySide [--quick] [--reps=N] [--seed=S]");
                }
            }
            int r = reps != null ? reps : quick ? 2 : 7;
            if (r < 1) {
                throw new IllegalArgumentException("--reps must be >= 1: " + r);
            }
            return new Options(quick, r, quick ? 1 : 3, seed);
        }
    }

    /** Runs every workload for both allocators and prints the report to {@code out}. */
    public static List<Row> run(Options options, PrintStream out) {
        List<Workload> workloads = workloads(options.seed(), options.quick());
        List<Row> rows = new ArrayList<>();
        int maxN = workloads.stream().mapToInt(w -> w.sizes().length).max().orElse(1);
        long[] ptrs = new long[maxN];
        Allocator glibc = new GlibcAllocator();
        try (GlimmerHeap heap = GlimmerHeap.ofConfined()) {
            Allocator glimmer = new GlimmerAllocator(heap);
            // warm up the loops with both receivers, so neither is measured in the interpreter
            // or after a deoptimisation caused by the other
            Workload warm = workloads.get(1);
            for (int i = 0; i < (options.quick() ? 20 : 200); i++) {
                runOnce(glimmer, warm, ptrs);
                runOnce(glibc, warm, ptrs);
            }
            for (Workload w : workloads) {
                for (int i = 0; i < options.warmups(); i++) {
                    runOnce(glimmer, w, ptrs);
                    runOnce(glibc, w, ptrs);
                }
                long[] tGlimmer = new long[options.reps()];
                long[] tGlibc = new long[options.reps()];
                for (int i = 0; i < options.reps(); i++) {   // interleaved: noise hits both
                    tGlimmer[i] = runOnce(glimmer, w, ptrs);
                    tGlibc[i] = runOnce(glibc, w, ptrs);
                }
                rows.add(new Row(w.name(), mops(w.ops(), median(tGlimmer)), mops(w.ops(), median(tGlibc))));
            }
            heap.check();   // the run itself must leave a consistent heap
        }
        print(options, rows, out);
        return rows;
    }

    static long median(long[] times) {
        long[] t = times.clone();
        Arrays.sort(t);
        int n = t.length;
        return n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    }

    static double mops(long ops, long nanos) {
        return ops * 1e3 / Math.max(1, nanos);
    }

    static void print(Options options, List<Row> rows, PrintStream out) {
        out.println("Glimmer side by side: the Java API (FFM downcalls) for Glimmer and glibc, identical requests");
        out.println("machine: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs"
                + ", " + System.getProperty("os.name") + " " + System.getProperty("os.version")
                + (isWsl() ? ", WSL" : ", not WSL"));
        out.println("JDK: " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"
                + ", Glimmer " + Glimmer.version()
                + ", date: " + ZonedDateTime.now().truncatedTo(ChronoUnit.SECONDS).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        out.println("ops = mallocs + frees; every block touched at both ends; median of " + options.reps()
                + " timed runs after warm-up" + (options.quick() ? " (quick mode: indicative only)" : "")
                + "; seed " + options.seed());
        out.println();
        out.println(TABLE_HEADER);
        out.println("|---|---:|---:|---:|");
        for (Row r : rows) {
            out.println(String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f |",
                    r.workload(), r.glimmerMops(), r.glibcMops(), r.ratio()));
        }
        out.println();
        out.println("ratio = Glimmer / glibc (above 1: Glimmer is faster)");
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // fall through
        }
        return System.getProperty("os.arch") + " (cpu model unknown)";
    }

    static boolean isWsl() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease"))
                    .toLowerCase(Locale.ROOT).contains("microsoft");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        run(options, System.out);
    }
}
