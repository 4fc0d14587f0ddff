package dev.glimmer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The randomized misuse mode ({@link MisuseFuzzer}): valid operations on four heaps interleaved
 * with injected faults, and isolated corrupting episodes, in a child JVM (a crash fails this
 * test, with the seed, instead of the run).
 *
 * <p>Settings (system properties, e.g. {@code make test MVNFLAGS="-Dtest=RandomizedMisuseTest
 * -Dglimmer.misuse.seconds=7200"}):
 * <ul>
 *   <li>{@code glimmer.misuse.ops}: operations (default 10^6, about 5 s);</li>
 *   <li>{@code glimmer.misuse.seconds}: run for this long instead (hours are fine: it prints
 *       progress every minute);</li>
 *   <li>{@code glimmer.misuse.episode}: operations between corrupting episodes (default 50,000);</li>
 *   <li>{@code glimmer.misuse.resetStale=false}: no frees of pointers from before a reset
 *       (on by default);</li>
 *   <li>{@code glimmer.seed}: the seed (printed, and in every failure message).</li>
 * </ul>
 * The same runs without Maven: {@code java --enable-native-access=ALL-UNNAMED -cp <test class
 * path> dev.glimmer.MisuseFuzzer --seed 42 --seconds 3600}.
 */
class RandomizedMisuseTest {

    @Test
    void validOperationsInterleavedWithInjectedFaultsNeverHarmTheHeap() throws Exception {
        long seed = TestMemory.seed();
        List<String> args = new ArrayList<>(List.of("--seed", Long.toString(seed)));
        Long seconds = Long.getLong("glimmer.misuse.seconds");
        if (seconds != null) {
            args.addAll(List.of("--seconds", seconds.toString()));
        } else {
            args.addAll(List.of("--ops", Long.toString(Long.getLong("glimmer.misuse.ops", 1_000_000))));
        }
        args.addAll(List.of("--episode", Long.toString(Long.getLong("glimmer.misuse.episode", 50_000))));
        if (!Boolean.parseBoolean(System.getProperty("glimmer.misuse.resetStale", "true"))) {
            args.add("--no-reset-stale");
        }
        ChildJvm.Result r = ChildJvm.run(MisuseFuzzer.class, args.toArray(String[]::new));
        String out = r.cleanOutput();
        System.out.println("randomized misuse mode: " + out.lines().filter(l -> l.startsWith("done:") || l.startsWith("faults:"))
                .reduce((a, b) -> a + "\n" + b).orElse(""));
        assertEquals(0, r.exitCode(), TestMemory.reproduce(seed) + ":\n" + r.describe());
        assertTrue(out.lines().anyMatch(l -> l.startsWith("done: ")), r.describe());
    }
}
