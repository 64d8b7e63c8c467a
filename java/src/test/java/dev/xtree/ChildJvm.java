package dev.xtree;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code main} class of the tests in a child JVM with the main and test classes on its
 * class path, under {@code -Xcheck:jni}: for what one JVM can do only once (load the library,
 * fail to load it) or only under other settings (a small heap, another {@code java.io.tmpdir}).
 */
final class ChildJvm {
    /** What the child did: its exit status and its stdout and stderr, interleaved. */
    static final class Result {
        final int exit;
        final String output;

        Result(int exit, String output) {
            this.exit = exit;
            this.output = output;
        }
    }

    private ChildJvm() {}

    /**
     * Runs {@code main} in a child JVM and waits for it (at most 5 minutes).
     *
     * @param main the class whose {@code main} to run
     * @param workDir the child's working directory, or null for this JVM's
     * @param extraClassPath one more class path entry, or null
     * @param jvmArgs JVM options ({@code -Xmx16m}, {@code -Dname=value})
     * @param args the arguments of {@code main}
     */
    static Result run(Class<?> main, Path workDir, String extraClassPath, List<String> jvmArgs,
            String... args) throws IOException, InterruptedException, URISyntaxException {
        List<String> cp = new ArrayList<>(Arrays.asList(
                location(NativeLibrary.class), location(ChildJvm.class)));
        if (extraClassPath != null) {
            cp.add(extraClassPath);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xcheck:jni");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, cp));
        cmd.add(main.getName());
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (workDir != null) {
            pb.directory(workDir.toFile());
        }
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue("child JVM timed out", p.waitFor(5, TimeUnit.MINUTES));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** The {@code -Dxtree.library.path=...} of this JVM, for a child that should load it. */
    static List<String> libraryPathOption() {
        String lib = System.getProperty(NativeLibrary.LIBRARY_PATH_PROPERTY);
        List<String> options = new ArrayList<>();
        if (lib != null) {
            options.add("-D" + NativeLibrary.LIBRARY_PATH_PROPERTY + "=" + lib);
        }
        return options;
    }

    private static String location(Class<?> c) throws URISyntaxException {
        return Paths.get(c.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
    }
}
