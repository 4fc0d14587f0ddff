package dev.glimmer.nativelib;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Paths the build hands to the tests, and running external tools (readelf, gcc). */
final class Tools {
    private Tools() {}

    /** target/classes/linux-x86_64/libglimmer.so, the library the jar carries (set by the pom). */
    static Path library() {
        Path lib = Path.of(System.getProperty("glimmer.test.lib", "target/classes/linux-x86_64/libglimmer.so"));
        assertTrue(Files.isRegularFile(lib), () -> lib.toAbsolutePath() + " does not exist: the native build"
                + " (native-maven-plugin in the compile phase) did not produce it; run `make` and look for assembler errors");
        return lib.toAbsolutePath();
    }

    /** src/main/asm/glimmer.h, the C contract. */
    static Path header() {
        Path h = Path.of(System.getProperty("glimmer.test.header", "src/main/asm/glimmer.h"));
        assertTrue(Files.isRegularFile(h), () -> h.toAbsolutePath() + " does not exist");
        return h.toAbsolutePath();
    }

    /** src/test/c */
    static Path cSources() {
        return Path.of(System.getProperty("glimmer.test.csrc", "src/test/c")).toAbsolutePath();
    }

    /** a scratch folder under target/ */
    static Path workDir() throws IOException {
        Path d = Path.of(System.getProperty("glimmer.test.workdir", "target/c-contract")).toAbsolutePath();
        Files.createDirectories(d);
        return d;
    }

    record Result(List<String> command, int exitCode, String output, boolean timedOut) {
        String describe() {
            String how = timedOut ? "timed out and was killed"
                    : exitCode > 128 ? "was killed by signal " + (exitCode - 128) + signalName(exitCode - 128)
                    : "exited with " + exitCode;
            return String.join(" ", command) + "\n  " + how + "; its output:\n" + output.indent(4);
        }
    }

    private static String signalName(int sig) {
        return switch (sig) {
            case 4 -> " (SIGILL)";
            case 6 -> " (SIGABRT)";
            case 7 -> " (SIGBUS)";
            case 8 -> " (SIGFPE)";
            case 9 -> " (SIGKILL)";
            case 11 -> " (SIGSEGV)";
            default -> "";
        };
    }

    /** Runs a command with stdout and stderr merged into a file (so a hung child cannot block us). */
    static Result run(Path dir, long timeoutSeconds, String... command) throws IOException, InterruptedException {
        List<String> cmd = List.of(command);
        Path log = Files.createTempFile(dir, "run-", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(cmd))
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().put("LC_ALL", "C");
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                fail("cannot run " + command[0] + " (" + e.getMessage() + "); is it installed? "
                        + "On Debian: apt-get install gcc libc6-dev binutils");
                throw e;
            }
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                p.waitFor();
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            return new Result(cmd, done ? p.exitValue() : -1, out, !done);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Like run, but the command must succeed. */
    static String runOk(Path dir, long timeoutSeconds, String... command) throws IOException, InterruptedException {
        Result r = run(dir, timeoutSeconds, command);
        if (r.timedOut() || r.exitCode() != 0) fail(r.describe());
        return r.output();
    }
}
