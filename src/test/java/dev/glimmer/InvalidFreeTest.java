package dev.glimmer;

import static dev.glimmer.TestMemory.ALL;
import static dev.glimmer.TestMemory.MiB;
import static dev.glimmer.TestMemory.SEGMENT;
import static dev.glimmer.TestMemory.hex;
import static dev.glimmer.internal.GlimmerNative.GL_E_NOT_OURS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Frees (and reallocs) of pointers the heap never handed out: interior pointers of small,
 * range, large and aligned blocks, the heap's own metadata, segment headers and fenceposts,
 * glibc's blocks, other Glimmer heaps' blocks — and, each in a child JVM because reading them
 * would crash the process, small integers, addresses 64 MiB and 1 GiB away from a block, the
 * stack, the library's own code. Every one is {@code GL_E_NOT_OURS} /
 * {@link InvalidPointerException} with the address, {@code usableSize} says 0, nothing in
 * the heap changes but the error counter, and foreign memory is not written.
 */
class InvalidFreeTest {

    /** free(bad), realloc(bad, n) and usableSize(bad) are all refused and change nothing. */
    static void assertNotOurs(HeapDriver h, long bad, String what) {
        HeapStats before = h.stats();
        assertEquals("GL_E_NOT_OURS", Failures.statusName(h.free(bad)), h + ": free(" + what + " " + hex(bad) + ")");
        h.assertRejected(GL_E_NOT_OURS, before, "free(" + what + ")");
        HeapStats mid = h.stats();
        assertEquals(0, h.realloc(bad, 100), h + ": realloc(" + what + ")");
        h.assertRejected(GL_E_NOT_OURS, mid, "realloc(" + what + ")");
        assertEquals(0, h.usableSize(bad), h + ": usableSize(" + what + ")");
        HeapDriver.assertUnchangedButErrors(before, h.stats(), h + ": " + what);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void interiorPointersOfEveryKindOfBlockAreNotOurs(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            long[][] blocks = {
                    {h.keep(h.mustMalloc(64)), 64}, {h.keep(h.mustMalloc(1000)), 1000},
                    {h.keep(h.mustMalloc(2000)), 2000}, {h.keep(h.mustMalloc(300_000)), 300_000},
                    {h.keep(h.mustMalloc(2 * MiB)), 2 * MiB},
                    {h.keep(h.alignedAlloc(4096, 256)), 256}, {h.keep(h.alignedAlloc(2 * MiB, 100)), 100}};
            for (long[] b : blocks) {
                long p = b[0];
                long size = b[1];
                TestMemory.fill(p, size, p);
                for (long off : new long[] {1, 4, 8, 15, 16, 24, 32, size / 2, (size / 2) & ~15L, size - 16, size - 8,
                        -8, -1, -4}) {
                    if (passesTheTagByChance(victim[0], p, p + off)) {
                        continue;   // one pattern word in 65536: the case of interiorPointersBehindDataThatPasses...
                    }
                    assertNotOurs(h, p + off, "p + " + off + " of a " + size + "-byte block");
                }
                // p - 16 and p - 32 lie in the block before (or its header): refused as not ours when
                // that block is in use, as a double free when it is free memory (the leading
                // fragment of an aligned block, a reused bin block on the default heap)
                for (long off : new long[] {-16, -32}) {
                    DoubleFreeTest.assertStaleRefused(h, p + off, "p + " + off + " of a " + size + "-byte block");
                }
                assertEquals(-1, TestMemory.firstMismatch(p, size, p), "the block itself is untouched");
            }
            h.assertSurvived(victim);
        }
    }

    /**
     * Whether the word in front of interior pointer q (16-aligned, inside live block p) passes
     * the header's tag check by chance, as one random word in 65536 does: a known defect with
     * a test of its own, kept out of the tests of ordinary interior pointers so that they do not
     * fail at random. {@code a} and {@code p} are small live blocks of the heap (the formula
     * is checked against them).
     */
    static boolean passesTheTagByChance(long a, long p, long q) {
        if ((q & 15) != 0 || q - 8 < p || !TestMemory.tagFormulaHolds(a, p)) {
            return false;
        }
        return TestMemory.tagValid(TestMemory.tagKey(a), q, ALL.get(JAVA_LONG, q - 8));
    }

    /**
     * Interior pointers whose preceding 8 bytes hold a perfect copy of the block's real header
     * (tags depend on the address, so a copy elsewhere does not pass), or of the header of the
     * block's successor.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void interiorPointersBehindCopiedHeadersAreNotOurs(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            long p = h.keep(h.mustMalloc(512));
            long next = h.keep(h.mustMalloc(64));
            long header = ALL.get(JAVA_LONG, p - 8);
            long nextHeader = ALL.get(JAVA_LONG, next - 8);
            for (long off = 16; off < 512; off += 16) {
                ALL.set(JAVA_LONG, p + off - 8, (off & 16) == 0 ? header : nextHeader);
            }
            for (long off = 16; off < 512; off += 16) {
                assertNotOurs(h, p + off, "a pointer behind a copied header at p + " + (off - 8));
            }
            h.check();
            h.assertSurvived(victim);
        }
    }

    /**
     * Interior pointers whose preceding word is live data that passes the header's tag check —
     * as one random word in 65536 does — with flags or a size that make no block (LARGE, FENCE,
     * FREE or CACHED set, a reserved bit, a size below the minimum or beyond the segment, a
     * size whose end is user data), and finally with exactly the size that ends at the real
     * next header (a complete plausible block). The pointer is an interior pointer of a live
     * block: not ours — and above all not a block to free, which would release a phantom block
     * in the middle of the live one. On every kind of heap, in a child JVM
     * ({@link CorruptionProbe}, scenario forged-interior), since an accepted free corrupts the
     * heap. White-box: the tag formula of gl_layout.h (checked against real blocks first).
     */
    @org.junit.jupiter.api.Test
    void interiorPointersBehindDataThatPassesTheTagCheckAreNotOurs() throws Exception {
        ChildJvm.Result r = ChildJvm.run(CorruptionProbe.class, "forged-interior");
        if (r.exitCode() != 0 || !r.output().contains("survived")) {
            fail("the JVM did not survive: " + r.describe());
        }
        List<String> lines = r.cleanOutput().lines().toList();
        org.junit.jupiter.api.Assumptions.assumeFalse(lines.contains("tag formula changed"), r.describe());
        List<String> expected = new ArrayList<>();
        for (String kind : List.of("confined", "confined-nocache", "shared", "default")) {
            for (String word : CorruptionProbe.FORGED) {
                expected.add(kind + " " + word + ": GL_E_NOT_OURS");
            }
        }
        List<String> got = lines.stream().filter(l -> l.contains(": GL_") || l.contains(": skipped")).toList();
        assertEquals(String.join("\n", expected), String.join("\n", got),
                "free(p + 16) behind live data that passes the tag check:\n" + r.cleanOutput());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void segmentHeadersFencepostsAndTheHeapStructAreNotOurs(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            long base = victim[0] & ~(SEGMENT - 1);
            // segment header (+0..56), start fencepost (header at +56: "block" at +64), end fencepost
            for (long off : new long[] {0, 8, 16, 32, 48, 56, 64, SEGMENT - 8, SEGMENT}) {
                assertNotOurs(h, base + off, "segment base + " + off);
            }
            for (long off : new long[] {0, 16, 64, 256, 2048, 4096, 8192}) {
                assertNotOurs(h, h.handle() + off, "the heap handle + " + off);
            }
            h.assertSurvived(victim);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void glibcPointersAreNotOurs(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            List<Long> foreign = new ArrayList<>();
            try {
                for (long size : new long[] {16, 64, 1000, 100_000, 2 * MiB}) {   // >= 128 KiB: glibc mmaps it
                    long g = TestMemory.glibcMalloc(size);
                    foreign.add(g);
                    TestMemory.fill(g, size, 8);
                    for (long off : new long[] {0, 16, 8}) {
                        assertNotOurs(h, g + off, "glibc malloc(" + size + ") + " + off);
                    }
                    assertEquals(-1, TestMemory.firstMismatch(g, size, 8), "glibc's block was not written");
                }
            } finally {
                foreign.forEach(TestMemory::glibcFree);
            }
            h.assertSurvived(victim);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.glimmer.HeapDriver#all")
    void blocksOfAnotherGlimmerHeapAreNotOurs(HeapDriver.Factory f) {
        try (HeapDriver h = f.open()) {
            long[] victim = h.victim(64, 1);
            List<GlimmerHeap> others = new ArrayList<>(List.of(GlimmerHeap.ofConfined(), GlimmerHeap.ofShared()));
            if (!h.heap.isDefault()) {
                others.add(Glimmer.defaultHeap());
            }
            for (GlimmerHeap other : others) {
                for (long size : new long[] {64, 2000, 2 * MiB}) {
                    long theirs = other.malloc(size);
                    TestMemory.fill(theirs, Math.min(size, 4096), 4);
                    // also a large block of the other heap where this heap unmapped one of its own
                    // lately: its page is mapped, so it is no second free of this heap's block
                    assertNotOurs(h, theirs, "a block of " + other);
                    assertNotOurs(h, theirs + 16, "an interior pointer of " + other);
                    assertEquals(-1, TestMemory.firstMismatch(theirs, Math.min(size, 4096), 4));
                    assertTrue(other.usableSize(theirs) >= size, "the other heap's block is still live");
                    other.free(theirs);
                    other.check();
                }
                if (!other.isDefault()) {
                    other.close();
                }
            }
            h.assertSurvived(victim);
        }
    }

    // ---- addresses that would crash the process if read: a child JVM each ----------------

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "1 2 7 8 15 16 24 32 48 64 255 256 4095 4096 4104 65536 65544 0x100000",
            "block+0x4000000 block-0x4000000 block+0x4000008 block-0x3fffff8",
            "block+0x40000000 block-0x40000000 block+0x40000008 block-0x3ffffff8",
            "stack stack+8 stack-4096 belowstack belowstack+8",
            "code code+16 code+8 heap+0x3000 heap-4096 heap-16",
            "0x7ffffffff000 0xffff800000000000 0xfffffffffffffff0 0x8000000000000008 -8"})
    void addressesThatWouldCrashIfReadAreNotOurs(String addresses) throws Exception {
        String[] specs = addresses.split(" ");
        ChildJvm.Result r = ChildJvm.run(WildPointerProbe.class, specs);
        if (r.exitCode() != 0 || !r.output().contains("survived")) {
            fail("the JVM did not survive the addresses " + addresses + ": " + r.describe());
        }
        List<String> expected = new ArrayList<>();
        for (String kind : List.of("confined", "shared", "default")) {
            for (String spec : specs) {
                String at = specs.length == 1 ? kind : kind + " " + spec;
                expected.add(at + " free: InvalidPointerException -2");
                expected.add(at + " realloc: InvalidPointerException -2");
                expected.add(at + " usableSize: 0");
                expected.add(at + " check ok");
            }
        }
        expected.add("survived");
        assertEquals(String.join("\n", expected), r.cleanOutput(), "outcomes for " + addresses);
    }
}
