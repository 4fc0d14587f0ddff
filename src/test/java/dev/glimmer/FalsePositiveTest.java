package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * No false positives: live data that looks like the heap's metadata — copies of the bytes
 * before the block (its own header), of its neighbour's header, words of 0xff or 0x00, a forged
 * header of a free block with a valid tag at every header slot, a footer, valid encoded
 * free-list links — is never mistaken for metadata: every block frees normally (in address
 * order, in reverse, shuffled), reallocs in place and out of place, and check() passes
 * throughout, on every kind of heap, through both APIs.
 */
class FalsePositiveTest {

    enum Pattern {
        /** The 16 bytes before the block (its header and the word before), repeated. */
        BYTES_BEFORE,
        ALL_ONES,
        ALL_ZEROS,
        /** The header of the block after it, in every word. */
        NEXT_HEADER,
        /** At every slot that could be a header (8 mod 16): a FREE header with a valid tag for that address. */
        FORGED_FREE_HEADERS,
        /** Every word: the block's size, as a free block's footer holds it. */
        FOOTERS,
        /** Encoded links copied from a real free block. */
        LINKS
    }

    static List<Object[]> cases() {
        List<Object[]> out = new ArrayList<>();
        HeapDriver.all().forEach(f -> {
            for (Pattern p : Pattern.values()) {
                out.add(new Object[] {f, p});
            }
        });
        return out;
    }

    private static final long[] SIZES = {0, 8, 24, 40, 100, 256, 500, 1000, 1008, 2000, 5000, 60_000, 300_000,
            MiB, 3 * MiB};

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("cases")
    void blocksWhoseContentsLookLikeMetadataFreeNormally(HeapDriver.Factory f, Pattern pattern) {
        try (HeapDriver h = f.open()) {
            HeapStats start = h.stats();
            long linkSource = h.mustMalloc(3000);
            h.keep(h.mustMalloc(16));
            h.mustFree(linkSource);
            long[] links = {ALL.get(JAVA_LONG, linkSource), ALL.get(JAVA_LONG, linkSource + 8)};
            for (String order : List.of("address order", "reverse", "shuffled")) {
                List<Long> blocks = new ArrayList<>();
                for (int rep = 0; rep < 3; rep++) {
                    for (long size : SIZES) {
                        blocks.add(h.mustMalloc(size));
                    }
                }
                blocks.add(h.alignedAlloc(4096, 3000));
                blocks.add(h.calloc(7, 100));
                for (long p : blocks) {
                    paint(h, p, pattern, links);
                }
                h.check();
                List<Long> freeing = new ArrayList<>(blocks);
                switch (order) {
                    case "address order" -> Collections.sort(freeing);
                    case "reverse" -> freeing.sort(Collections.reverseOrder());
                    default -> Collections.shuffle(freeing, new Random(7));
                }
                // every other block is first resized: in place (shrink), or grown
                for (int i = 0; i < freeing.size(); i += 2) {
                    long p = freeing.get(i);
                    long usable = h.usableSize(p);
                    long q = h.realloc(p, i % 4 == 0 ? usable / 2 : usable + 64);
                    assertNotEquals(0, q, h + ": realloc of " + hex(p) + " painted " + pattern);
                    freeing.set(i, q);
                    paint(h, q, pattern, links);
                }
                h.check();
                for (long p : freeing) {
                    h.mustFree(p);
                }
                h.check();
            }
            HeapStats end = h.stats();
            assertEquals(start.liveBlocks() + 1, end.liveBlocks(), "only the kept block is live: " + end);
            assertEquals(0, end.totalErrors() - start.totalErrors(), "no misuse was reported: " + end);
            h.assertSurvived();
        }
    }

    /** Fills the usable bytes of block p with the pattern. */
    private static void paint(HeapDriver h, long p, Pattern pattern, long[] links) {
        long usable = h.usableSize(p);
        assertTrue(usable > 0, hex(p));
        long header = ALL.get(JAVA_LONG, p - 8);
        long before = ALL.get(JAVA_LONG, p - 16);
        long next = usable < MiB ? ALL.get(JAVA_LONG, p + usable) : header;   // the next header (not for large blocks)
        long key16 = TestMemory.tagKey(p);
        long size = usable + 8;
        for (long off = 0; off + 8 <= usable; off += 8) {
            long w = switch (pattern) {
                case BYTES_BEFORE -> (off & 8) == 0 ? before : header;
                case ALL_ONES -> -1L;
                case ALL_ZEROS -> 0L;
                case NEXT_HEADER -> next;
                case FORGED_FREE_HEADERS -> (off & 8) == 0
                        ? 0L
                        : TestMemory.withTag(key16, p + off + 8, (1L << 61) | (32L << 16)); // FREE, 32 bytes, valid tag
                case FOOTERS -> size;
                case LINKS -> links[(int) (off >> 3) & 1];
            };
            ALL.set(JAVA_LONG, p + off, w);
        }
    }
}
