package dev.glimmer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Addresses that point at nothing (unmapped, kernel space, the first pages, misaligned)
 * are rejected without being read: free and realloc throw {@link InvalidPointerException},
 * usableSize says 0, and every kind of heap stays consistent.
 *
 * <p>Each address runs in a child JVM ({@link WildPointerProbe}), because reading such an
 * address crashes the process: a regression then fails this test, naming the native frame,
 * instead of killing the whole test run.
 */
class WildPointerTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"0x1000", "0x10", "0x400000", "0x400008", "0x7ffffffff000", "0x7ffffffffff0",
            "-16", "0x8000000000000000", "0x400000000000"})
    void aWildAddressIsRejectedWithoutBeingRead(String address) throws Exception {
        assertRejectedEverywhere(address);
    }

    /**
     * Regression: an address that is 8 mod 16 and below one segment (2 MiB) + 8 maps to
     * segment-registry key 0, which is also what an empty registry slot held, so the free fast
     * path took it for a registered segment and read its "header" at address - 8 (SIGSEGV in
     * gl_heap_free). 0x3ffff8 is the same case for the 4 MiB segments Glimmer had before.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"0x8", "0x18", "0x1008", "0x1ffff8", "0x3ffff8"})
    void anAddressInTheFirstSegmentThatIs8Mod16IsRejectedWithoutBeingRead(String address) throws Exception {
        assertRejectedEverywhere(address);
    }

    private static void assertRejectedEverywhere(String address) throws Exception {
        ChildJvm.Result r = ChildJvm.run(WildPointerProbe.class, address);
        if (r.exitCode() != 0 || !r.output().contains("survived")) {
            fail("the JVM did not survive the wild pointer " + address + ": " + r.describe());
        }
        List<String> expected = new ArrayList<>();
        for (String kind : List.of("confined", "shared", "default")) {
            expected.add(kind + " free: InvalidPointerException -2");
            expected.add(kind + " realloc: InvalidPointerException -2");
            expected.add(kind + " usableSize: 0");
            expected.add(kind + " check ok");
        }
        expected.add("survived");
        assertEquals(String.join("\n", expected), r.cleanOutput(), "outcomes for " + address);
    }
}
