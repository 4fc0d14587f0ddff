package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.hex;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Metadata integrity: damage to the heap's metadata — a write one (or four) bytes past the end
 * of a block into the next header, a stray write into a size, a write after free over a free
 * block's footer or list links — is detected by free, malloc or check where it is, is never
 * followed (no block handed out overlaps a live one, live blocks keep their contents), and the
 * process survives. Each scenario runs in a child JVM ({@link CorruptionProbe}): following
 * damaged metadata could crash, and a crash must fail one test, not the run.
 *
 * <p>And the other side: writes after free into a block parked in the recently-freed cache
 * touch no metadata at all (the cache lives in the heap struct, the block keeps only its
 * header), so they are harmless to the heap: tested in-process, on every kind of heap.
 */
class MetadataIntegrityTest {

    private static List<String> probe(String scenario) throws Exception {
        ChildJvm.Result r = ChildJvm.run(CorruptionProbe.class, scenario);
        if (r.exitCode() != 0 || !r.output().contains("survived")) {
            fail("the JVM did not survive " + scenario + ": " + r.describe());
        }
        return r.cleanOutput().lines().toList();
    }

    /** The address of the damaged word ("damaged ... at 0x..."). */
    private static String damagedAt(List<String> lines) {
        String d = lines.stream().filter(l -> l.startsWith("damaged ")).findFirst().orElseThrow();
        return d.substring(d.lastIndexOf(" at ") + 4);
    }

    private static String firstCheck(List<String> lines) {
        return lines.stream().filter(l -> l.startsWith("check: ")).findFirst().orElse("no check");
    }

    /** Nothing the damage did reached a live block: no overlap, contents intact. */
    private static void assertNotFollowed(List<String> lines) {
        String all = String.join("\n", lines);
        assertTrue(lines.contains("overlap: none"), "a block handed out overlapped a live block or a damaged header:\n" + all);
        assertTrue(lines.contains("live blocks intact"), "live blocks were overwritten:\n" + all);
    }

    private static void assertContains(List<String> lines, String line) {
        assertTrue(lines.contains(line), "expected \"" + line + "\" in:\n" + String.join("\n", lines));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-used", "overflow-used-nul", "overflow-used-nocache", "overflow4-used"})
    void anOverflowIntoALiveBlocksHeaderIsDetectedByFreeReallocAndCheck(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        assertContains(lines, "free b: HeapCorruptionException -3");
        assertContains(lines, "realloc b: HeapCorruptionException -3");
        assertContains(lines, "usableSize b: 0");
        assertEquals("check: BAD_TAG at " + hit, firstCheck(lines), String.join("\n", lines));
        assertContains(lines, "repaired check: ok");
        assertContains(lines, "free damaged block: HeapCorruptionException -3");
        assertNotFollowed(lines);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-free", "overflow4-free"})
    void anOverflowIntoAFreeBlocksHeaderIsDetectedAndTheBlockIsNeverHandedOut(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        assertEquals("check: BAD_TAG at " + hit, firstCheck(lines), String.join("\n", lines));
        assertContains(lines, "repaired check: ok");
        assertContains(lines, "damaged word reused: no");
        assertNotFollowed(lines);
    }

    /**
     * A block in the recently-freed cache keeps its header (marked CACHED); an overflow from
     * the block before damages it. check() flushes the cache: it must meet the damage and
     * report it, not rewrite the header as if nothing happened (that would hide the overflow,
     * and with a damaged size, follow it).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-cached", "overflow4-cached"})
    void anOverflowIntoACachedBlocksHeaderIsDetectedWhenCheckFlushesTheCache(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        assertEquals("check: BAD_TAG at " + hit, firstCheck(lines), String.join("\n", lines));
        assertNotFollowed(lines);
    }

    /** The same damage, met first by malloc taking the block back from the cache, then by its free. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-cached-malloc", "overflow4-cached-malloc"})
    void anOverflowIntoACachedBlocksHeaderIsDetectedWhenTheBlockIsReused(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        if (lines.contains("malloc returned b: true")) {
            assertContains(lines, "free it: HeapCorruptionException -3");
        }
        assertEquals("check: BAD_TAG at " + hit, firstCheck(lines), String.join("\n", lines));
        assertNotFollowed(lines);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-top", "overflow4-top"})
    void anOverflowIntoTheTopsHeaderIsDetectedByCheck(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        assertEquals("check: BAD_TAG at " + hit, firstCheck(lines), String.join("\n", lines));
        assertContains(lines, "repaired check: ok");
        assertNotFollowed(lines);
    }

    /**
     * The top (the free tail of the newest segment) is carved by malloc through its header. A
     * malloc that meets a damaged top header must detect it (and leave it for check to name),
     * not carve with the damaged size nor rewrite the header as if it were intact.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-top-malloc", "overflow4-top-malloc"})
    void anOverflowIntoTheTopsHeaderIsDetectedWhenMallocCarvesTheTop(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        assertEquals("check: BAD_TAG at " + hit, firstCheck(lines), "the damage must still be there, where it"
                + " was, after the mallocs:\n" + String.join("\n", lines));
        assertNotFollowed(lines);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"overflow-fence", "overflow4-fence"})
    void anOverflowIntoASegmentsEndFencepostIsDetected(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        String hit = damagedAt(lines);
        assertEquals("check: FENCEPOST at " + hit, firstCheck(lines), String.join("\n", lines));
        assertContains(lines, "repaired check: ok");
        assertContains(lines, "free a: HeapCorruptionException -3");
        assertNotFollowed(lines);
    }

    /**
     * A stray write into a header's size bits (the tag bytes untouched) that makes a block
     * appear to span its live successor exactly: freeing it must not free the successor too.
     * This needs check bits over the size as well as the address ("a keyed hash of size and
     * address", as the issue puts it); a tag over the address alone lets it through.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"stray-size"})
    void aStrayWriteIntoABlocksSizeDoesNotMakeFreeReleaseItsLiveNeighbour(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        assertContains(lines, "free b: HeapCorruptionException -3");
        assertContains(lines, "c still live: true");
        assertNotFollowed(lines);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"uaf-footer"})
    void aWriteAfterFreeOverAFreeBlocksFooterIsDetectedNotFollowed(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        assertContains(lines, "free b: HeapCorruptionException -3");
        String check = firstCheck(lines);
        assertTrue(check.startsWith("check: BAD_FOOTER at "), String.join("\n", lines));
        assertNotFollowed(lines);
    }

    /**
     * Links of a free block overwritten after free — with the address of a live block's header
     * (an attacker's choice), with a valid encoded pair copied from another free block, with
     * zeros, with ones: malloc never hands out the live block (no overlap), check names the
     * damaged block, nothing crashes.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"uaf-links-live", "uaf-links-copy", "uaf-links-zero", "uaf-links-ones"})
    void aWriteAfterFreeOverFreeListLinksIsDetectedNotFollowed(String scenario) throws Exception {
        List<String> lines = probe(scenario);
        long links = Long.parseUnsignedLong(damagedAt(lines).substring(2), 16);
        String check = firstCheck(lines);
        assertTrue(check.endsWith(" at " + hex(links - 8)), "check must name the damaged free block's header "
                + hex(links - 8) + ":\n" + String.join("\n", lines));
        assertNotFollowed(lines);
    }

    // ---- writes after free into cached blocks: harmless, in-process ---------------------------

    /**
     * The usable size of the largest small block (class 63, 1008 bytes; SMALL_MAX_REQUEST in
     * gl_layout.h). A request of 985..1000 bytes may be served by a whole 1024-byte free block,
     * since the 16 bytes left over cannot form a block of their own: with 1016 usable bytes it
     * is a medium block, which free coalesces at once, so writing into it after its free is the
     * caller's bug as with any allocator.
     */
    private static final long LARGEST_SMALL_USABLE = 1000;

    /** Kinds whose small frees go to the recently-freed cache. */
    static java.util.stream.Stream<HeapDriver.Factory> cachedKinds() {
        return HeapDriver.all().filter(f -> f.kind().cached());
    }

    /**
     * A small block in the recently-freed cache is scribbled over entirely after its free — with
     * 0xff, zeros, copies of its own header and of a free block's links, random bytes. The
     * allocator keeps none of its state there: malloc and calloc keep returning valid,
     * non-overlapping blocks (calloc's zeroed), live blocks keep their contents, check passes.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cachedKinds")
    void writesAfterFreeIntoACachedBlockAreHarmless(HeapDriver.Factory f) {
        long seed = TestMemory.seed();
        SplittableRandom random = new SplittableRandom(seed);
        try (HeapDriver h = f.open()) {
            TreeMap<Long, long[]> live = new TreeMap<>();
            List<Long> order = new ArrayList<>();
            long freeBlock = h.mustMalloc(2000);             // a free range block whose links we copy
            h.keep(h.mustMalloc(16));
            h.mustFree(freeBlock);
            long linkNext = ALL.get(JAVA_LONG, freeBlock);
            long linkPrev = ALL.get(JAVA_LONG, freeBlock + 8);
            long frees = 0;
            long scribbled = 0;
            for (int round = 0; round < 20_000; round++) {
                if (live.size() < 50 || random.nextInt(100) < 50) {
                    long size = random.nextLong(1, 1001);
                    boolean zeroed = random.nextInt(4) == 0;
                    long p = zeroed ? h.calloc(1, size) : h.malloc(size);
                    assertTrue(p != 0 && p % 16 == 0, TestMemory.reproduce(seed) + ": " + hex(p));
                    if (zeroed) {
                        assertEquals(-1, TestMemory.firstNonZero(p, size), TestMemory.reproduce(seed)
                                + ": calloc returned a scribbled block " + hex(p));
                    }
                    assertTrue(h.usableSize(p) >= size);
                    var below = live.floorEntry(p + size - 1);
                    if (below != null && p < below.getKey() + below.getValue()[0]) {
                        fail(TestMemory.reproduce(seed) + ": " + hex(p) + " overlaps live " + hex(below.getKey()));
                    }
                    TestMemory.fill(p, size, p ^ round);
                    live.put(p, new long[] {size, p ^ round});
                    order.add(p);
                } else {
                    long p = order.remove(random.nextInt(order.size()));
                    long[] v = live.remove(p);
                    assertEquals(-1, TestMemory.firstMismatch(p, v[0], v[1]), TestMemory.reproduce(seed)
                            + ": live block " + hex(p) + " was overwritten");
                    long usable = h.usableSize(p);
                    h.mustFree(p);
                    frees++;
                    if (usable <= LARGEST_SMALL_USABLE) {
                        // the write after free, over the whole of the (now cached) block
                        scribble(p, usable, random.nextInt(5), random, linkNext, linkPrev);
                        scribbled++;
                    }
                }
                if (round % 5000 == 4999) {
                    h.check();
                }
            }
            for (long p : order) {
                long[] v = live.get(p);
                assertEquals(-1, TestMemory.firstMismatch(p, v[0], v[1]), TestMemory.reproduce(seed));
                h.mustFree(p);
            }
            h.check();
            h.assertSurvived();
            assertTrue(scribbled * 100 >= frees * 95, TestMemory.reproduce(seed) + ": only " + scribbled
                    + " of " + frees + " freed blocks were small");
        }
    }

    private static void scribble(long p, long usable, int how, SplittableRandom random, long linkNext, long linkPrev) {
        long header = ALL.get(JAVA_LONG, p - 8);
        for (long off = 0; off + 8 <= usable; off += 8) {
            long w = switch (how) {
                case 0 -> -1L;
                case 1 -> 0L;
                case 2 -> header;                              // looks like its own header
                case 3 -> (off & 8) == 0 ? linkNext : linkPrev; // looks like valid free-list links
                default -> random.nextLong();
            };
            ALL.set(JAVA_LONG, p + off, w);
        }
    }
}
