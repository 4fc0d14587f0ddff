package dev.glimmer.nativelib;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shape of libglimmer.so that C users, dlopen and the JVM rely on, read
 * with readelf from the library the jar carries: a self-contained x86-64
 * shared object (no libc, no text relocations, no executable stack) that
 * exports exactly the functions of glimmer.h.
 */
class LibraryFormatTest {
    private static Path lib;
    private static Path dir;

    @BeforeAll
    static void locate() throws Exception {
        lib = Tools.library();
        dir = Tools.workDir();
    }

    private static String readelf(String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("readelf", "-W"));
        cmd.addAll(List.of(options));
        cmd.add(lib.toString());
        return Tools.runOk(dir, 60, cmd.toArray(String[]::new));
    }

    @Test
    void isAnX86_64SharedObject() throws Exception {
        String h = readelf("-h");
        assertTrue(h.matches("(?s).*Class:\\s+ELF64\\b.*"), h);
        assertTrue(h.matches("(?s).*Type:\\s+DYN\\b.*"), h);
        assertTrue(h.matches("(?s).*Machine:\\s+Advanced Micro Devices X86-64.*"), h);
    }

    @Test
    void needsNoOtherLibrary() throws Exception {
        String d = readelf("-d");
        List<String> needed = d.lines().filter(l -> l.contains("(NEEDED)")).toList();
        assertTrue(needed.isEmpty(), "libglimmer.so must not depend on any library (no libc), but has:\n"
                + String.join("\n", needed));
    }

    @Test
    void hasItsSoname() throws Exception {
        String d = readelf("-d");
        assertTrue(d.contains("Library soname: [libglimmer.so]"), "no SONAME libglimmer.so:\n" + d);
    }

    @Test
    void hasNoTextRelocations() throws Exception {
        String d = readelf("-d");
        List<String> textrel = d.lines().filter(l -> l.contains("TEXTREL")).toList();
        assertTrue(textrel.isEmpty(), "text relocations (code that is not position-independent):\n"
                + String.join("\n", textrel));
    }

    @Test
    void importsNothing() throws Exception {
        List<Sym> undefined = dynamicSymbols().stream()
                .filter(s -> !s.defined() && !s.name().isEmpty()).toList();
        assertTrue(undefined.isEmpty(), "undefined (imported) symbols: " + undefined);
    }

    /** program headers: the flags column sits between MemSiz and Align */
    private static Map<String, List<String>> segmentFlags() throws Exception {
        String l = readelf("-l");
        Map<String, List<String>> flags = new LinkedHashMap<>();
        Pattern p = Pattern.compile("^\\s*([A-Z_]+)\\s+0x\\p{XDigit}+\\s+0x\\p{XDigit}+\\s+0x\\p{XDigit}+"
                + "\\s+0x\\p{XDigit}+\\s+0x\\p{XDigit}+\\s+([RWE ]+?)\\s+0x\\p{XDigit}+\\s*$");
        for (String line : l.lines().toList()) {
            Matcher m = p.matcher(line);
            if (m.matches()) flags.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2).replace(" ", ""));
        }
        assertFalse(flags.isEmpty(), "no program headers parsed from:\n" + l);
        return flags;
    }

    @Test
    void stackIsNotExecutable() throws Exception {
        Map<String, List<String>> flags = segmentFlags();
        List<String> stack = flags.get("GNU_STACK");
        assertNotNull(stack, "no GNU_STACK program header: the loader would make the stack executable"
                + " (every .S needs .note.GNU-stack, or assemble with -Wa,--noexecstack); headers: " + flags.keySet());
        assertEquals(1, stack.size(), "GNU_STACK headers: " + stack);
        assertFalse(stack.getFirst().contains("E"), "GNU_STACK is executable: " + stack.getFirst());
    }

    @Test
    void noSegmentIsWritableAndExecutable() throws Exception {
        List<String> load = segmentFlags().getOrDefault("LOAD", List.of());
        assertFalse(load.isEmpty(), "no LOAD segments");
        for (String f : load)
            assertFalse(f.contains("W") && f.contains("E"), "a LOAD segment is writable and executable: " + load);
    }

    record Sym(String name, String type, String bind, String vis, boolean defined, long size) {}

    private static List<Sym> dynamicSymbols() throws Exception {
        String out = readelf("--dyn-syms");
        //    Num:    Value          Size Type    Bind   Vis      Ndx Name
        //      1: 0000000000001100     3 FUNC    GLOBAL DEFAULT    5 gl_heap_usable_size
        Pattern p = Pattern.compile("^\\s*\\d+:\\s+\\p{XDigit}+\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s+(\\S+)\\s*(\\S*).*$");
        List<Sym> syms = new ArrayList<>();
        for (String line : out.lines().toList()) {
            Matcher m = p.matcher(line);
            if (!m.matches()) continue;
            String sizeText = m.group(1);
            long size = sizeText.startsWith("0x") ? Long.parseLong(sizeText.substring(2), 16) : Long.parseLong(sizeText);
            String name = m.group(6);
            int at = name.indexOf('@');
            if (at >= 0) name = name.substring(0, at);
            syms.add(new Sym(name, m.group(2), m.group(3), m.group(4), !m.group(5).equals("UND"), size));
        }
        assertFalse(syms.isEmpty(), "no dynamic symbols parsed from:\n" + out);
        return syms;
    }

    /** every gl_* function declared in glimmer.h (comments removed first) */
    static Set<String> declaredFunctions() throws Exception {
        String text = Files.readString(Tools.header())
                .replaceAll("(?s)/\\*.*?\\*/", " ")
                .replaceAll("//[^\n]*", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("\\b(gl_[a-z_]+)\\s*\\(").matcher(text);
        while (m.find()) names.add(m.group(1));
        assertTrue(names.size() >= 20, "parsed only " + names + " from glimmer.h");
        return names;
    }

    @Test
    void exportsEveryFunctionOfTheHeader() throws Exception {
        Map<String, Sym> byName = new LinkedHashMap<>();
        for (Sym s : dynamicSymbols()) byName.put(s.name(), s);
        List<String> problems = new ArrayList<>();
        for (String f : declaredFunctions()) {
            Sym s = byName.get(f);
            if (s == null || !s.defined()) problems.add(f + ": not exported");
            else if (!s.type().equals("FUNC") || !s.bind().equals("GLOBAL") || !s.vis().equals("DEFAULT"))
                problems.add(f + ": exported as " + s.type() + " " + s.bind() + " " + s.vis()
                        + ", expected FUNC GLOBAL DEFAULT (.globl + .type @function)");
            else if (s.size() == 0)
                problems.add(f + ": size 0 (missing .size, so debuggers and profilers cannot see it)");
        }
        assertTrue(problems.isEmpty(), "glimmer.h functions in libglimmer.so:\n  " + String.join("\n  ", problems));
    }

    @Test
    void exportsNoInternalSymbol() throws Exception {
        Set<String> declared = declaredFunctions();
        List<String> leaks = dynamicSymbols().stream()
                .filter(Sym::defined)
                .filter(s -> !s.bind().equals("LOCAL"))
                .filter(s -> !s.vis().equals("HIDDEN") && !s.vis().equals("INTERNAL"))
                .map(Sym::name)
                .filter(n -> n.toLowerCase().startsWith("gl_") || n.toLowerCase().startsWith("__gl"))
                .filter(n -> !declared.contains(n))
                .toList();
        assertTrue(leaks.isEmpty(), "internal symbols exported (mark them .hidden, e.g. HIDDEN_ENTRY): " + leaks);
    }
}
