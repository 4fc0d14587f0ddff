package dev.glimmer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Resources: 10^4 cycles of create / allocate / reset / allocate / destroy give every mapping
 * back (see {@link ResourceCycleProbe} for what each cycle checks). The cycles run in a child
 * JVM whose Java heap is fixed and pre-touched, so that resident memory measures native
 * memory, not the growth of the test JVM's young generation.
 *
 * <p>Cycles: {@code -Dglimmer.resource.cycles} (default 10^4).
 */
class ResourceCycleTest {

    static final int CYCLES = Integer.getInteger("glimmer.resource.cycles", 10_000);

    /** Lines of /proc/self/maps the JVM itself may add meanwhile (a thread, a code heap chunk). */
    static final long MAPS_SLACK = 32;
    /** Resident KiB the JVM itself may add meanwhile (JIT code, metaspace, thread stacks). */
    static final long RSS_SLACK_KIB = 32 * 1024;
    /**
     * Addresses found mapped again right after their heap was destroyed: another thread of the
     * JVM may map memory at a just-freed address in that instant. A leak shows in every cycle.
     */
    static final long REMAPPED_SLACK = 3;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "native"})
    void createAllocateResetDestroyCyclesGiveEveryMappingBack(String api) throws Exception {
        ChildJvm.Result r = ChildJvm.run(List.of("-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch", "-XX:+UseSerialGC"),
                ResourceCycleProbe.class, api, Integer.toString(CYCLES), Long.toString(TestMemory.seed()));
        assertEquals(0, r.exitCode(), r.describe());
        Map<String, String> out = r.cleanOutput().lines().filter(l -> l.contains(": "))
                .collect(Collectors.toMap(l -> l.substring(0, l.indexOf(": ")), l -> l.substring(l.indexOf(": ") + 2),
                        (a, b) -> a + "; " + b));
        assertEquals(Integer.toString(CYCLES), out.get("cycles"), r.describe());
        long remapped = Long.parseLong(out.get("still mapped after destroy").split(" ")[0]);
        assertTrue(remapped <= REMAPPED_SLACK, "mappings of destroyed heaps still mapped: " + out.get("still mapped after destroy"));
        long[] maps = pair(out.get("maps lines"));
        assertTrue(maps[1] - maps[0] <= MAPS_SLACK, "the process's mappings grew over " + CYCLES + " cycles: "
                + out.get("maps lines") + "\n" + r.describe());
        long[] rss = pair(out.get("rss KiB"));
        assertTrue(rss[1] - rss[0] <= RSS_SLACK_KIB, "resident memory grew over " + CYCLES + " cycles: "
                + out.get("rss KiB") + "\n" + r.describe());
    }

    private static long[] pair(String s) {
        String[] f = s.split(" -> ");
        return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
    }
}
