package dev.glimmer.nativelib;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The C contract, from C: compiles src/test/c/contract.c against glimmer.h and
 * the libglimmer.so the jar carries, runs it, and requires every group of
 * checks to pass.  The seed of its random parts is -Dglimmer.seed (mvn test
 * -Dglimmer.seed=123), printed in the output.
 */
class CContractTest {
    /** groups contract.c reports on success; a missing one means it stopped early */
    private static final List<String> GROUPS = List.of(
            "gl_heap_create(NULL)", "sizes 1 B .. 5 MiB", "random workload", "misuse", "bad requests",
            "calloc/realloc/aligned_alloc", "walk/reset/trim", "options", "threads", "default heap", "destroy");

    @Test
    void contractHoldsFromC() throws Exception {
        Path lib = Tools.library();
        Path libDir = lib.getParent();
        Path include = Tools.header().getParent();
        Path source = Tools.cSources().resolve("contract.c");
        Path dir = Tools.workDir();
        Path exe = dir.resolve("contract");

        Tools.Result cc = Tools.run(dir, 120, "gcc", "-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-Werror",
                "-pthread", "-I" + include, source.toString(),
                "-L" + libDir, "-lglimmer", "-Wl,-rpath," + libDir, "-o", exe.toString());
        if (cc.timedOut() || cc.exitCode() != 0)
            fail("contract.c does not compile and link against glimmer.h and " + lib + ":\n" + cc.describe());

        String seed = System.getProperty("glimmer.seed", "20261121");
        Tools.Result run = Tools.run(dir, 300, exe.toString(), seed);
        String out = run.output();
        if (run.timedOut() || run.exitCode() != 0)
            fail("the C contract failed (seed " + seed + "; rerun: " + exe + " " + seed + "):\n" + run.describe());
        assertTrue(!out.contains("FAIL"), () -> "a check failed but the program exited 0:\n" + out);
        for (String g : GROUPS)
            assertTrue(out.contains("ok   " + g), () -> "group '" + g + "' did not report:\n" + out);
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.matches("contract: all \\d+ checks passed"), () -> "unexpected end of output:\n" + out);
        System.out.println("[c-contract] " + last + " (seed " + seed + ")");
    }
}
