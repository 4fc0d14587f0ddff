package dev.glimmer;

import dev.glimmer.internal.GlimmerNative;

/**
 * Child-JVM side of {@link DoubleFreeTest#aFreeAfterResetIsRefusedAfterEveryOneOfManyResets}:
 * frees a pointer from before a reset after each of many resets. The heap re-keys its header
 * tags on reset, so the stale header fails its tag — unless the new key happens to give it the
 * same tag (the tag has 16 bits: one reset in 65536). Then, if nothing else tells the stale
 * block apart, free accepts it and the block is handed out while the top still holds its
 * memory: two owners.
 *
 * <p>Usage: {@code StaleAfterResetProbe <resets>}. Prints {@code refused after <n> resets}, or
 * {@code accepted after <n> resets: ...} followed by what the heap did with the block, then
 * {@code survived}.
 */
public final class StaleAfterResetProbe {

    private StaleAfterResetProbe() {
    }

    public static void main(String[] args) {
        int resets = Integer.parseInt(args[0]);
        long h = GlimmerNative.heapCreate(0);
        GlimmerNative.heapMalloc(h, 64);
        GlimmerNative.heapMalloc(h, 500);
        long q = GlimmerNative.heapMalloc(h, 64);           // an inner block: its header is not rewritten by reset
        GlimmerNative.heapMalloc(h, 64);
        for (int i = 1; i <= resets; i++) {
            GlimmerNative.heapReset(h);
            int status = GlimmerNative.heapFree(h, q);
            if (status == 0) {
                say("accepted after " + i + " resets: free of a pointer from before the reset returned 0");
                say("check: " + GlimmerNative.heapCheck(h, 0));
                long again = GlimmerNative.heapMalloc(h, 64);
                say("malloc(64) returned the stale block: " + (again == q));
                // carve the top up to the stale block: the top still holds its memory
                String twice = "no";
                for (int k = 0; k < 16 && twice.equals("no"); k++) {
                    long p = GlimmerNative.heapMalloc(h, 64);
                    if (p < q + 64 && q < p + 64) {
                        twice = "0x" + Long.toHexString(p) + " overlaps the stale block 0x" + Long.toHexString(q);
                    }
                }
                say("memory handed out twice: " + twice);
                GlimmerNative.heapDestroy(h);
                say("survived");
                return;
            }
            if (status != GlimmerNative.GL_E_DOUBLE_FREE && status != GlimmerNative.GL_E_NOT_OURS) {
                say("unexpected status " + status + " after " + i + " resets");
            }
        }
        say("refused after " + resets + " resets");
        GlimmerNative.heapDestroy(h);
        say("survived");
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
