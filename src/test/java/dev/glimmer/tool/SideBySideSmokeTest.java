package dev.glimmer.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The main job runs (quickly) and prints its side-by-side table. */
class SideBySideSmokeTest {

    @Test
    void aQuickRunPrintsTheTableWithEveryWorkload() {
        String previous = System.getProperty("glimmer.run.quick");
        PrintStream out = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setProperty("glimmer.run.quick", "true");
        try {
            System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
            SideBySide.main(new String[0]);
        } finally {
            System.setOut(out);
            if (previous == null) {
                System.clearProperty("glimmer.run.quick");
            } else {
                System.setProperty("glimmer.run.quick", previous);
            }
        }
        String text = buffer.toString(StandardCharsets.UTF_8);
        out.println(text);
        assertTrue(text.contains(SideBySide.TABLE_HEADER), text);
        assertTrue(text.contains("machine: "), text);
        assertTrue(text.contains("JDK: "), text);
        List<String> rows = text.lines().filter(l -> l.startsWith("| ") && !l.equals(SideBySide.TABLE_HEADER)).toList();
        assertEquals(7, rows.size(), text);
        for (String workload : List.of("malloc(32)+free pairs |", "8..64, N=100 |", "8..64, N=1,000 |",
                "8..64, N=10,000 |", "8..64, N=100,000 |", "8..256, N=10,000 |", "1 KiB..64 KiB blocks, N=100 |")) {
            assertTrue(rows.stream().anyMatch(r -> r.contains(workload)), workload + " missing in\n" + text);
        }
        for (String row : rows) {
            String[] cells = row.split("\\|");
            double glimmer = Double.parseDouble(cells[2].trim());
            double glibc = Double.parseDouble(cells[3].trim());
            assertTrue(glimmer > 0 && glibc > 0, row);
        }
    }

    @Test
    void theOptionsComeFromArgumentsOrProperties() {
        SideBySide.Options o = SideBySide.Options.parse(new String[] {"--quick", "--reps=3", "--seed=5"});
        assertTrue(o.quick());
        assertEquals(3, o.reps());
        assertEquals(5, o.seed());
    }
}
