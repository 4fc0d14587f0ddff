package dev.glimmer.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the JMH benchmarks the way benches/Makefile wants them:
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp target/classes:target/lib/* \
 *        dev.glimmer.bench.Run --mode smoke|quick|bench --out results.json [--include REGEX]
 * </pre>
 *
 * Peers that cannot be loaded (or that GLIMMER_BENCH_PEERS leaves out) are skipped with
 * the apt-get line that adds them. Forks get {@code --enable-native-access=ALL-UNNAMED}
 * and {@code --sun-misc-unsafe-memory-access=allow} (unless they inherit them from this
 * JVM's own options) and inherit the environment (GLIBC_TUNABLES for jemalloc). Exits
 * with status 1 when a benchmark fails or produces no result.
 *
 * <p>With jemalloc loaded under GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536, the
 * static TLS block that glibc puts on every thread's stack no longer fits the JDK's small
 * "process reaper" thread stack, and starting a fork dies with a StackOverflowError in
 * that thread: {@code jdk.lang.processReaperUseDefaultStackSize=true} gives the reaper a
 * normal stack. It is set here, before the first fork starts.
 */
public final class Run {

    record Mode(String name, int forks, int warmups, int warmupMs, int iterations, int iterationMs) {
    }

    static final List<Mode> MODES = List.of(
            new Mode("smoke", 1, 1, 100, 1, 100),
            new Mode("quick", 1, 2, 500, 3, 500),
            new Mode("bench", 2, 3, 1000, 4, 1000));

    private Run() {
    }

    public static void main(String[] args) throws RunnerException {
        System.setProperty("jdk.lang.processReaperUseDefaultStackSize", "true");
        String modeName = "bench";
        String out = "jmh.json";
        String include = "dev\\.glimmer\\.bench\\.(Raw|Segment)Bench\\.";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mode" -> modeName = args[++i];
                case "--out" -> out = args[++i];
                case "--include" -> include = args[++i];
                default -> usage("unknown argument " + args[i]);
            }
        }
        final String wanted = modeName;
        Mode mode = MODES.stream().filter(m -> m.name().equals(wanted)).findFirst()
                .orElseGet(() -> usage("--mode " + wanted + ": expected smoke, quick or bench"));

        List<String> raw = new ArrayList<>(List.of("glimmer", "glimmer-default", "glibc"));
        raw.addAll(Peers.available());
        raw.addAll(List.of("unsafe", "floor"));

        ChainedOptionsBuilder opts = new OptionsBuilder()
                .include(include)
                .param("allocator", raw.toArray(String[]::new))
                .param("api", BlockAllocator.NAMES.toArray(String[]::new))
                .forks(mode.forks())
                .warmupIterations(mode.warmups())
                .warmupTime(TimeValue.milliseconds(mode.warmupMs()))
                .measurementIterations(mode.iterations())
                .measurementTime(TimeValue.milliseconds(mode.iterationMs()))
                .jvmArgsAppend(forkArgs())
                .shouldFailOnError(true)
                .resultFormat(ResultFormatType.JSON)
                .result(out);
        System.out.println("JMH: mode " + mode.name() + ", raw allocators " + raw + ", object APIs "
                + BlockAllocator.NAMES);
        Collection<RunResult> results = new Runner(opts.build()).run();
        if (results.isEmpty()) {
            System.err.println("JMH: no benchmark produced a result");
            System.exit(1);
        }
        for (RunResult r : results) {
            double score = r.getPrimaryResult().getScore();
            if (!(score > 0)) {
                System.err.println("JMH: " + r.getParams().getBenchmark() + " has no valid score: " + score);
                System.exit(1);
            }
        }
        System.out.println("JMH: " + results.size() + " results written to " + out);
    }

    /** The flags every fork needs that it does not inherit from this JVM's options. */
    static String[] forkArgs() {
        List<String> own = ManagementFactory.getRuntimeMXBean().getInputArguments();
        return List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow").stream()
                .filter(a -> !own.contains(a))
                .toArray(String[]::new);
    }

    private static Mode usage(String why) {
        System.err.println("Run: " + why);
        System.err.println("usage: Run [--mode smoke|quick|bench] [--out FILE.json] [--include REGEX]");
        System.exit(2);
        return null;
    }
}
