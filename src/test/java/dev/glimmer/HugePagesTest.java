package dev.glimmer;

import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static dev.glimmer.TestMemory.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A heap built with {@code hugePages()} advises its segments MADV_HUGEPAGE; the kernel shows
 * the advice as "THPeligible: 1" on the segment's mapping in /proc/self/smaps.
 */
class HugePagesTest {

    private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    /** The kernel's THP mode, the bracketed word: always, madvise or never; null without THP. */
    private static String thpMode() throws IOException {
        if (!Files.isReadable(THP_MODE)) {
            return null;
        }
        String line = Files.readString(THP_MODE);
        int a = line.indexOf('['), b = line.indexOf(']');
        return a >= 0 && b > a ? line.substring(a + 1, b) : null;
    }

    /** The THPeligible value of the mapping that holds address, or -1 if smaps does not say. */
    private static int thpEligible(long address) throws IOException {
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
            } else if (inside && line.startsWith("THPeligible:")) {
                return Integer.parseInt(line.substring("THPeligible:".length()).trim());
            }
        }
        return -1;
    }

    private static long segmentOf(GlimmerHeap heap, List<Long> blocks) {
        long p = heap.malloc(64);
        blocks.add(p);
        return (p - 8) & ~(SEGMENT - 1);
    }

    @Test
    void theSegmentsOfAHugePageHeapAreAdvisedForTransparentHugePages() throws IOException {
        String mode = thpMode();
        assumeTrue(mode != null && !mode.equals("never"), "no transparent huge pages here (" + mode + ")");
        try (GlimmerHeap huge = GlimmerHeap.builder().hugePages().build();
             GlimmerHeap plain = GlimmerHeap.ofConfined()) {
            List<Long> blocks = new ArrayList<>();
            long first = segmentOf(huge, blocks);
            for (long bytes = 0; bytes < 6 * MiB; bytes += 1024) {     // a second segment too
                blocks.add(huge.malloc(1000));
            }
            long second = (blocks.get(blocks.size() - 1) - 8) & ~(SEGMENT - 1);
            int eligible = thpEligible(first);
            assumeTrue(eligible >= 0, "/proc/self/smaps has no THPeligible line");
            assertEquals(1, eligible, "the first segment " + hex(first) + " is advised");
            assertEquals(1, thpEligible(second), "a later segment " + hex(second) + " is advised");
            if (mode.equals("madvise")) {
                long other = segmentOf(plain, new ArrayList<>());
                assertEquals(0, thpEligible(other), "a heap without hugePages() is not advised: " + hex(other));
            }
            for (long p : blocks) {
                huge.free(p);
            }
            huge.check();
        }
    }
}
