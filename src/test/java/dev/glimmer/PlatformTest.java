package dev.glimmer;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.glimmer.internal.NativeLibrary;
import org.junit.jupiter.api.Test;

/** The loader refuses platforms the x86-64 Linux library cannot run on, with a clear message. */
class PlatformTest {

    @Test
    void linuxOnX8664WithJdk25IsAccepted() {
        assertDoesNotThrow(() -> NativeLibrary.checkPlatform("Linux", "amd64", 25));
        assertDoesNotThrow(() -> NativeLibrary.checkPlatform("Linux", "x86_64", 26));
    }

    @Test
    void otherOperatingSystemsAreRefusedByName() {
        var e = assertThrows(UnsupportedOperationException.class,
                () -> NativeLibrary.checkPlatform("Windows 11", "amd64", 25));
        assertTrue(e.getMessage().contains("Windows 11/amd64"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> NativeLibrary.checkPlatform("Mac OS X", "x86_64", 25));
    }

    @Test
    void otherArchitecturesAreRefusedByName() {
        var e = assertThrows(UnsupportedOperationException.class,
                () -> NativeLibrary.checkPlatform("Linux", "aarch64", 25));
        assertTrue(e.getMessage().contains("aarch64"), e.getMessage());
    }

    @Test
    void jdksBefore25AreRefusedWithTheirVersion() {
        var e = assertThrows(UnsupportedOperationException.class,
                () -> NativeLibrary.checkPlatform("Linux", "amd64", 21));
        assertTrue(e.getMessage().contains("JDK 25") && e.getMessage().contains("21"), e.getMessage());
    }
}
