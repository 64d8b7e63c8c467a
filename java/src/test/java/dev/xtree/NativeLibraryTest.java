package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Assume;
import org.junit.Test;

/**
 * How {@link NativeLibrary} finds the library. The property path is what the test JVM uses;
 * jar extraction and the failure reports run in child JVMs, since a library loads once per JVM.
 */
public class NativeLibraryTest {
    @Test
    public void platformNamesMatchTheBuild() {
        String os = System.getProperty("os.name").toLowerCase();
        String arch = System.getProperty("os.arch");
        if (os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64"))) {
            assertEquals("linux-x86_64", NativeLibrary.platform());
            assertEquals("native/linux-x86_64/libxtree.so", NativeLibrary.resourcePath());
        }
        assertTrue(NativeLibrary.resourcePath().startsWith("native/" + NativeLibrary.platform()));
    }

    @Test
    public void loadIsIdempotentAndReportsThePlace() {
        NativeLibrary.load();
        NativeLibrary.load();
        String from = NativeLibrary.loadedFrom();
        assertNotNull(from);
        if (System.getProperty(NativeLibrary.LIBRARY_PATH_PROPERTY) != null) {
            assertTrue(from, from.contains(NativeLibrary.LIBRARY_PATH_PROPERTY));
        }
    }

    /** Without the property or java.library.path, the library is extracted from a resource. */
    @Test
    public void extractsTheLibraryFromTheClassPath() throws Exception {
        Path resources = resourcesWith(realLibrary());
        try {
            ChildJvm.Result r = runProbe(null, resources, null, "query");
            assertEquals(r.output, 0, r.exit);
            assertTrue(r.output, r.output.contains("loaded from: jar resource "
                    + NativeLibrary.resourcePath() + " extracted to "));
            assertTrue(r.output, r.output.contains("search: [7]"));
        } finally {
            deleteTree(resources);
        }
    }

    /**
     * Regression (issue 7, item 15): with a relative {@code java.io.tmpdir} the extracted copy
     * had a relative path, and {@code System.load} refused it ("Expecting an absolute path of
     * the library"), so loading from the jar failed.
     */
    @Test
    public void extractsWithARelativeTmpdir() throws Exception {
        Path resources = resourcesWith(realLibrary());
        Path work = Files.createTempDirectory("xtree-test-work");
        try {
            Files.createDirectory(work.resolve("relative-tmp"));
            ChildJvm.Result r = runProbe(work, resources, null, "query",
                    "-Djava.io.tmpdir=relative-tmp");
            assertEquals(r.output, 0, r.exit);
            assertTrue(r.output, r.output.contains("extracted to "
                    + work.toRealPath().resolve("relative-tmp")));
            assertTrue(r.output, r.output.contains("search: [7]"));
        } finally {
            deleteTree(resources);
            deleteTree(work);
        }
    }

    /** When nothing works, the error names every place tried and why it failed. */
    @Test
    public void failureListsEveryPlaceTried() throws Exception {
        ChildJvm.Result r = runProbe(null, null, "/nonexistent/libxtree.so", "query");
        assertEquals(r.output, 3, r.exit);
        assertTrue(r.output, r.output.contains("system property xtree.library.path="
                + "/nonexistent/libxtree.so: "));
        assertTrue(r.output, r.output.contains("System.loadLibrary(\"xtree\") with"
                + " java.library.path=/nonexistent-dir: "));
        assertTrue(r.output, r.output.contains("jar resource " + NativeLibrary.resourcePath()
                + ": java.io.IOException: not on the class path"));
        assertTrue(r.output, r.output.contains("set the system property xtree.library.path"));
    }

    /**
     * Regression (issue 7, item 15): after a failed load, the first {@code new IndexDetails}
     * threw the {@link UnsatisfiedLinkError} from the class initialiser and every later use a
     * bare {@link NoClassDefFoundError} ("Could not initialize class"), hiding the places tried.
     * Now every use throws an {@link UnsatisfiedLinkError} with the list, caused by the first.
     */
    @Test
    public void failedLoadKeepsItsCauseForEveryLaterUse() throws Exception {
        ChildJvm.Result r = runProbe(null, null, "/nonexistent/libxtree.so", "reuse");
        assertEquals(r.output, 0, r.exit);
        assertFalse(r.output, r.output.contains("NoClassDefFoundError"));
        assertFalse(r.output, r.output.contains("ExceptionInInitializerError"));
        String[] uses = {"IndexDetails 1", "IndexDetails 2", "DurableRuntime", "NativeLibrary",
            "IndexDetails 3"};
        for (int i = 0; i < uses.length; i++) {
            String line = lineStarting(r.output, uses[i] + ": ");
            assertTrue(line, line.contains(": java.lang.UnsatisfiedLinkError: cannot load the"
                    + " xtree native library; tried:"));
            assertTrue(line, line.contains("/nonexistent/libxtree.so"));
            if (i > 0) {
                assertTrue(line, line.contains("caused by java.lang.UnsatisfiedLinkError: cannot"
                        + " load the xtree native library; tried:"));
            }
        }
        assertTrue(r.output, r.output.contains("options: nodeSize 0"));
    }

    /**
     * Regression (issue 7, item 15): when the extracted copy cannot be loaded (as from a
     * {@code java.io.tmpdir} mounted noexec; here the resource is not a library at all), the
     * error did not say what to do. It now names the copy and suggests {@code
     * xtree.library.path}.
     */
    @Test
    public void extractedCopyThatCannotLoadSuggestsTheProperty() throws Exception {
        Path resources = resourcesWith("not a shared library".getBytes(StandardCharsets.UTF_8));
        try {
            ChildJvm.Result r = runProbe(null, resources, null, "query");
            assertEquals(r.output, 3, r.exit);
            assertTrue(r.output, r.output.contains("jar resource " + NativeLibrary.resourcePath()
                    + " extracted to "));
            assertTrue(r.output, r.output.contains("noexec"));
            assertTrue(r.output, r.output.contains("-D" + NativeLibrary.LIBRARY_PATH_PROPERTY
                    + "="));
        } finally {
            deleteTree(resources);
        }
    }

    private static byte[] realLibrary() throws IOException {
        String lib = System.getProperty(NativeLibrary.LIBRARY_PATH_PROPERTY);
        Assume.assumeNotNull(lib);
        return Files.readAllBytes(Paths.get(lib));
    }

    /** A new class path directory holding {@code library} as the platform's jar resource. */
    private static Path resourcesWith(byte[] library) throws IOException {
        Path resources = Files.createTempDirectory("xtree-test-resources");
        Path target = resources.resolve(NativeLibrary.resourcePath());
        Files.createDirectories(target.getParent());
        Files.write(target, library);
        return resources;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    private static String lineStarting(String output, String prefix) {
        for (String line : output.split("\n")) {
            if (line.startsWith(prefix)) {
                return line;
            }
        }
        throw new AssertionError("no line starts with \"" + prefix + "\" in:\n" + output);
    }

    /**
     * Runs {@link Probe} in a child JVM whose java.library.path has no library, with {@code
     * resources} on the class path and {@code libraryProperty} as xtree.library.path if given.
     */
    private static ChildJvm.Result runProbe(Path workDir, Path resources,
            String libraryProperty, String mode, String... jvmArgs) throws Exception {
        List<String> options = new ArrayList<>(Arrays.asList(jvmArgs));
        options.add("-Djava.library.path=/nonexistent-dir");
        if (libraryProperty != null) {
            options.add("-D" + NativeLibrary.LIBRARY_PATH_PROPERTY + "=" + libraryProperty);
        }
        return ChildJvm.run(Probe.class, workDir,
                resources == null ? null : resources.toString(), options, mode);
    }

    /** The child JVM's main: load, use an index, print what happened. */
    public static final class Probe {
        private Probe() {}

        /**
         * {@code query}: loads the library and runs one query (exit 3 if loading fails);
         * {@code reuse}: uses the API several times after a failed load and prints each error.
         *
         * @param args the mode
         */
        public static void main(String[] args) throws Exception {
            if (args[0].equals("reuse")) {
                reuse();
                return;
            }
            try {
                NativeLibrary.load();
            } catch (UnsatisfiedLinkError e) {
                System.out.println(e.getMessage());
                System.exit(3);
            }
            System.out.println("loaded from: " + NativeLibrary.loadedFrom());
            try (IndexDetails index = new IndexDetails(1, 64, new String[] {"t"},
                    PersistenceMode.IN_MEMORY, null)) {
                index.insert(7L, new double[] {1});
                System.out.println("search: " + Arrays.toString(index.search(
                        SearchType.INTERSECTS, new double[] {0}, new double[] {2})));
            }
        }

        private static void reuse() throws IOException {
            for (int i = 1; i <= 2; i++) {
                report("IndexDetails " + i, () -> new IndexDetails(1, 64, new String[] {"t"},
                        PersistenceMode.IN_MEMORY, null).close());
            }
            Path dir = Files.createTempDirectory("xtree-probe");
            report("DurableRuntime", () -> DurableRuntime.open(dir.toString()).close());
            Files.delete(dir);
            report("NativeLibrary", NativeLibrary::load);
            report("IndexDetails 3", () -> new IndexDetails(1, 64, new String[] {"t"},
                    PersistenceMode.IN_MEMORY, null).close());
            // Classes that need no native code stay usable.
            System.out.println("options: nodeSize " + new IndexDetails.Options().nodeSize());
        }

        private static void report(String use, Runnable r) {
            try {
                r.run();
                System.out.println(use + ": no error");
            } catch (Throwable t) {
                Throwable c = t.getCause();
                System.out.println(use + ": " + oneLine(t)
                        + (c == null ? "" : " caused by " + oneLine(c)));
            }
        }

        private static String oneLine(Throwable t) {
            return (t.getClass().getName() + ": " + t.getMessage()).replace('\n', ' ');
        }
    }
}
