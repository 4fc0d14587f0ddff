package dev.glimmer.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * The figures of issue 4's Java targets, measured so that the machine's noise hits the
 * allocators compared alike:
 *
 * <pre>
 *   java --enable-native-access=ALL-UNNAMED -cp target/classes:target/lib/* \
 *        dev.glimmer.bench.Targets --mode smoke|quick|bench --out targets.json
 * </pre>
 *
 * {@link RawBench#pair} for GlimmerHeap, the floor (two bare critical downcalls), glibc
 * through the same binding and Unsafe, in rounds: each round runs one fork of each, one
 * after the other, the first of the round rotating. A target's ratio is then taken within
 * each round, between runs seconds apart, and its median over the rounds is what the
 * report holds against the target. On these shared machines the scores of one JMH run of
 * all allocators in a row (Run) moved between two reports by 18-26 %, and not alike
 * (GlimmerHeap 9.52 to 11.99 ns, glibc 14.48 to 11.86, the floor 7.04 to 8.28): a ratio of
 * two such scores was decided by when each ran.
 *
 * <p>Writes {@code {"mode": ..., "rounds": [{"glimmer": ns, "floor": ns, ...}, ...]}},
 * nanoseconds per malloc+free pair. Exits with status 1 when a run fails.
 */
public final class Targets {

    /** The allocators the targets compare, in the order of the first round. */
    static final List<String> ALLOCATORS = List.of("glimmer", "floor", "glibc", "unsafe");

    private record Plan(int rounds, int warmups, int warmupMs, int iterations, int iterationMs) {
    }

    private static Plan plan(String mode) {
        return switch (mode) {
            case "smoke" -> new Plan(1, 1, 100, 1, 100);
            case "quick" -> new Plan(3, 2, 300, 3, 300);
            case "bench" -> new Plan(5, 3, 500, 5, 500);
            default -> usage("--mode " + mode + ": expected smoke, quick or bench");
        };
    }

    private Targets() {
    }

    public static void main(String[] args) throws RunnerException {
        System.setProperty("jdk.lang.processReaperUseDefaultStackSize", "true");
        String mode = "bench";
        String out = "targets.json";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mode" -> mode = args[++i];
                case "--out" -> out = args[++i];
                default -> usage("unknown argument " + args[i]);
            }
        }
        Plan plan = plan(mode);
        List<Map<String, Double>> rounds = new ArrayList<>();
        for (int r = 0; r < plan.rounds(); r++) {
            Map<String, Double> round = new LinkedHashMap<>();
            for (int j = 0; j < ALLOCATORS.size(); j++) {
                String allocator = ALLOCATORS.get((j + r) % ALLOCATORS.size());
                double ns = pair(allocator, plan);
                round.put(allocator, ns);
                System.out.printf(Locale.ROOT, "targets: round %d/%d  %-8s %8.2f ns per pair%n", r + 1,
                        plan.rounds(), allocator, ns);
            }
            rounds.add(round);
        }
        write(Path.of(out), mode, plan, rounds);
        System.out.println("targets: " + rounds.size() + " rounds written to " + out);
    }

    /** One fork of RawBench.pair on one allocator: its score, ns per pair. */
    private static double pair(String allocator, Plan plan) throws RunnerException {
        var options = new OptionsBuilder()
                .include("dev\\.glimmer\\.bench\\.RawBench\\.pair$")
                .param("allocator", allocator)
                .forks(1)
                .warmupIterations(plan.warmups())
                .warmupTime(TimeValue.milliseconds(plan.warmupMs()))
                .measurementIterations(plan.iterations())
                .measurementTime(TimeValue.milliseconds(plan.iterationMs()))
                .jvmArgsAppend(Run.forkArgs())
                .shouldFailOnError(true)
                .build();
        Collection<RunResult> results =
                new Runner(options, OutputFormatFactory.createFormatInstance(System.out, VerboseMode.SILENT)).run();
        double score = results.isEmpty() ? Double.NaN : results.iterator().next().getPrimaryResult().getScore();
        if (results.size() != 1 || !(score > 0)) {
            System.err.println("targets: RawBench.pair on " + allocator + " produced no valid score ("
                    + results.size() + " results)");
            System.exit(1);
        }
        return score;
    }

    private static void write(Path out, String mode, Plan plan, List<Map<String, Double>> rounds) {
        StringBuilder json = new StringBuilder();
        json.append(String.format(Locale.ROOT,
                "{\"mode\": \"%s\", \"benchmark\": \"RawBench.pair\", \"forks_per_run\": 1, "
                        + "\"warmups\": %d, \"warmup_ms\": %d, \"iterations\": %d, \"iteration_ms\": %d, "
                        + "\"rounds\": [",
                mode, plan.warmups(), plan.warmupMs(), plan.iterations(), plan.iterationMs()));
        for (int r = 0; r < rounds.size(); r++) {
            json.append(r == 0 ? "\n  {" : ",\n  {");
            int k = 0;
            for (Map.Entry<String, Double> e : rounds.get(r).entrySet()) {
                json.append(k++ == 0 ? "" : ", ")
                        .append(String.format(Locale.ROOT, "\"%s\": %.4f", e.getKey(), e.getValue()));
            }
            json.append('}');
        }
        json.append("\n]}\n");
        try {
            Files.writeString(out, json);
        } catch (IOException e) {
            throw new UncheckedIOException("targets: cannot write " + out, e);
        }
    }

    private static Plan usage(String why) {
        System.err.println("Targets: " + why);
        System.err.println("usage: Targets [--mode smoke|quick|bench] [--out FILE.json]");
        System.exit(2);
        return null;
    }
}
