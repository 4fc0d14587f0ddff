package dev.glimmer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs a main class of the test class path in a child JVM, for tests whose failure mode is
 * a native crash: the crash then fails one test, with the JVM's account of it, instead of
 * killing the whole test run.
 */
final class ChildJvm {

    private ChildJvm() {
    }

    /** What the child did: its exit code, its output (stdout and stderr), its crash report. */
    record Result(int exitCode, String output, String hsErr) {

        /** The output without the JVM's crash banner (lines starting with '#') and log lines. */
        String cleanOutput() {
            return output.lines()
                    .filter(l -> !l.startsWith("#") && !l.isBlank() && !l.startsWith("["))
                    .collect(Collectors.joining("\n"));
        }

        boolean crashed() {
            return !hsErr.isEmpty();
        }

        /** The signal, the native frame and the registers of a crash, or "". */
        String crashSummary() {
            return hsErr.lines()
                    .filter(l -> l.startsWith("#  SIGSEGV") || l.startsWith("#  SIGBUS") || l.startsWith("# C ")
                            || l.startsWith("siginfo:") || l.startsWith("RAX=") || l.startsWith("RSI=")
                            || l.startsWith("RDI="))
                    .limit(8).collect(Collectors.joining("\n"));
        }

        /** A description for failure messages. */
        String describe() {
            return "exit code " + exitCode + (crashed() ? ", native crash:\n" + crashSummary() : "")
                    + "\noutput:\n" + output;
        }
    }

    static Result run(Class<?> main, String... args) throws IOException, InterruptedException {
        return run(List.of(), main, args);
    }

    /** As {@link #run(Class, String...)}, with extra options for the child JVM (heap size, ...). */
    static Result run(List<String> jvmOptions, Class<?> main, String... args) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("glimmer-child-");
        Path hsErr = dir.resolve("hs_err.log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-XX:-CreateCoredumpOnCrash");
        cmd.add("-XX:ErrorFile=" + hsErr);
        String lib = System.getProperty("glimmer.library");
        if (lib != null) {
            cmd.add("-Dglimmer.library=" + lib);
        }
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
        String err = Files.exists(hsErr) ? Files.readString(hsErr) : "";
        Files.deleteIfExists(hsErr);
        Files.deleteIfExists(dir);
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), err);
    }
}
