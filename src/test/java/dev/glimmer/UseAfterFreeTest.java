package dev.glimmer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A write after free over a free block's list links (encoded with a per-heap key) is
 * detected, not followed: malloc never hands out memory of a live block, live blocks keep
 * their contents, check() names the damage with its address, and the process survives.
 * In a child JVM ({@link UseAfterFreeProbe}), since following a damaged link would crash.
 */
class UseAfterFreeTest {

    @ParameterizedTest(name = "{0} bin")
    @ValueSource(strings = {"small", "range"})
    void damagedFreeListLinksAreDetectedNotFollowed(String scenario) throws Exception {
        ChildJvm.Result r = ChildJvm.run(UseAfterFreeProbe.class, scenario);
        assertEquals(0, r.exitCode(), r.describe());
        List<String> lines = r.cleanOutput().lines().toList();
        assertTrue(lines.contains("survived"), r.describe());
        assertTrue(lines.contains("malloc: ok") || lines.contains("malloc: HeapCorruptionException"), r.describe());
        assertTrue(lines.contains("live blocks intact"), r.describe());
        String check = lines.stream().filter(l -> l.startsWith("check: ")).findFirst().orElseThrow();
        assertFalse(check.endsWith(" at 0x0"),
                "check() must name the offending header, not address 0 (glimmer.h: gl_check_report.address): "
                        + check + "\n" + r.describe());
    }
}
