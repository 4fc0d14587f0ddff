package dev.glimmer.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Finds and opens {@code libglimmer.so}, once per class loader.
 *
 * <p>Where the library comes from, in this order:
 * <ol>
 *   <li>the system property {@value #LIBRARY_PROPERTY}, naming a {@code .so} file;</li>
 *   <li>the class-path resource {@value #RESOURCE}: when it is a plain file (running
 *       from {@code target/classes}) it is opened where it lies;</li>
 *   <li>otherwise (running from the jar) the resource is copied once to a temporary
 *       file, opened with {@link SymbolLookup#libraryLookup(Path, Arena)} in the global
 *       arena, and the file is deleted right after: the mapping stays valid.</li>
 * </ol>
 *
 * <p>The library is x86-64 Linux code and the binding needs the final FFM API, so
 * anything else fails early with a message saying what is wrong.
 */
@SuppressWarnings("restricted") // libraryLookup: loading the native core is the point
public final class NativeLibrary {

    /** System property naming an explicit library file. */
    public static final String LIBRARY_PROPERTY = "glimmer.library";

    /** Where the jar (and {@code target/classes}) carries the library. */
    public static final String RESOURCE = "/linux-x86_64/libglimmer.so";

    /** The smallest JDK feature release the binding is written for. */
    public static final int MINIMUM_JDK = 25;

    private static final SymbolLookup LOOKUP;
    private static final String ORIGIN;

    static {
        checkPlatform(System.getProperty("os.name", "?"), System.getProperty("os.arch", "?"),
                Runtime.version().feature());
        String explicit = System.getProperty(LIBRARY_PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            Path path = Path.of(explicit).toAbsolutePath();
            if (!Files.isRegularFile(path)) {
                throw new IllegalStateException("-D" + LIBRARY_PROPERTY + "=" + explicit
                        + " does not name a file (resolved to " + path + ")");
            }
            LOOKUP = SymbolLookup.libraryLookup(path, Arena.global());
            ORIGIN = path.toString();
        } else {
            URL url = NativeLibrary.class.getResource(RESOURCE);
            if (url == null) {
                throw new IllegalStateException("libglimmer.so is not on the class path (resource "
                        + RESOURCE + "); build it with `make` (or `mvn compile`), or name a library"
                        + " file with -D" + LIBRARY_PROPERTY + "=/path/to/libglimmer.so");
            }
            if ("file".equals(url.getProtocol())) {
                Path path = toPath(url);
                LOOKUP = SymbolLookup.libraryLookup(path, Arena.global());
                ORIGIN = path.toString();
            } else {
                LOOKUP = openCopy(url);
                ORIGIN = url.toString();
            }
        }
    }

    private NativeLibrary() {
    }

    /** The symbols of {@code libglimmer.so}; the library stays loaded for the life of the process. */
    public static SymbolLookup lookup() {
        return LOOKUP;
    }

    /** Where the library was loaded from (a path or a jar URL), for diagnostics. */
    public static String origin() {
        return ORIGIN;
    }

    /** The address of {@code name}, or an error naming the symbol and the library. */
    public static MemorySegment symbol(String name) {
        return LOOKUP.find(name).orElseThrow(() -> new IllegalStateException(
                "libglimmer.so (" + ORIGIN + ") does not export " + name
                        + "; is it older than glimmer.h?"));
    }

    /**
     * Throws when the binding cannot work here: Linux on x86-64 only, JDK 25 or newer.
     * The inputs are parameters so the rule can be tested without another machine.
     */
    public static void checkPlatform(String osName, String osArch, int jdkFeature) {
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = osArch.toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnsupportedOperationException("Glimmer's native core is x86-64 Linux code;"
                    + " this JVM runs on " + osName + "/" + osArch
                    + " (supported: Linux amd64/x86_64, including WSL)");
        }
        if (jdkFeature < MINIMUM_JDK) {
            throw new UnsupportedOperationException("Glimmer needs JDK " + MINIMUM_JDK
                    + " or newer (java.lang.foreign); this is JDK " + jdkFeature);
        }
    }

    private static Path toPath(URL url) {
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot turn " + url + " into a path", e);
        }
    }

    private static SymbolLookup openCopy(URL url) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("libglimmer-", ".so");
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            // dlopen maps the file; deleting the name afterwards leaves the mapping intact
            return SymbolLookup.libraryLookup(tmp, Arena.global());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + url + " to a temporary file"
                    + (tmp == null ? "" : " (" + tmp + ")"), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    tmp.toFile().deleteOnExit();
                }
            }
        }
    }
}
