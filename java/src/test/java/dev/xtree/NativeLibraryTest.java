package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Assume;
import org.junit.Test;

/**
 * How {@link NativeLibrary} finds the library. The property path is what the test JVM uses;
 * jar extraction and the failure report run in child JVMs, since a library loads once per JVM.
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
        String lib = System.getProperty(NativeLibrary.LIBRARY_PATH_PROPERTY);
        Assume.assumeNotNull(lib);
        Path resources = Files.createTempDirectory("xtree-test-resources");
        Path target = resources.resolve(NativeLibrary.resourcePath());
        try {
            Files.createDirectories(target.getParent());
            Files.copy(Paths.get(lib), target);
            Result r = runProbe(resources.toString(), null);
            assertEquals(r.output, 0, r.exit);
            assertTrue(r.output, r.output.contains("loaded from: jar resource "
                    + NativeLibrary.resourcePath() + " extracted to "));
            assertTrue(r.output, r.output.contains("search: [7]"));
        } finally {
            Files.delete(target);
            for (Path p = target.getParent(); !p.equals(resources.getParent()); p = p.getParent()) {
                Files.delete(p);
            }
        }
    }

    /** When nothing works, the error names every place tried and why it failed. */
    @Test
    public void failureListsEveryPlaceTried() throws Exception {
        Result r = runProbe(null, "/nonexistent/libxtree.so");
        assertEquals(r.output, 3, r.exit);
        assertTrue(r.output, r.output.contains("system property xtree.library.path="
                + "/nonexistent/libxtree.so: "));
        assertTrue(r.output, r.output.contains("System.loadLibrary(\"xtree\") with"
                + " java.library.path=/nonexistent-dir: "));
        assertTrue(r.output, r.output.contains("jar resource " + NativeLibrary.resourcePath()
                + ": java.io.IOException: not on the class path"));
    }

    private static final class Result {
        final int exit;
        final String output;

        Result(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }
    }

    /** Runs {@link Probe} in a child JVM with the main and test classes on its class path. */
    private static Result runProbe(String extraClassPath, String libraryProperty)
            throws IOException, InterruptedException, URISyntaxException {
        List<String> cp = new ArrayList<>(Arrays.asList(
                location(NativeLibrary.class), location(NativeLibraryTest.class)));
        if (extraClassPath != null) {
            cp.add(extraClassPath);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.add("-Djava.library.path=/nonexistent-dir");
        if (libraryProperty != null) {
            cmd.add("-D" + NativeLibrary.LIBRARY_PATH_PROPERTY + "=" + libraryProperty);
        }
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, cp));
        cmd.add(Probe.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue("probe timed out", p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static String location(Class<?> c) throws URISyntaxException {
        return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
    }

    /** The child JVM's main: load, use an index, print what happened. */
    public static final class Probe {
        private Probe() {}

        /**
         * Loads the library and runs one query.
         *
         * @param args unused
         */
        public static void main(String[] args) {
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
    }
}
