package dev.xtree;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads the native library {@code xtree} once per class loader. {@link IndexDetails} calls
 * {@link #load()} itself; applications only need this class to load early or to see where the
 * library came from.
 *
 * <p>Places tried, in order, until one loads:
 *
 * <ol>
 *   <li>the file named by the system property {@value #LIBRARY_PATH_PROPERTY}, if set;
 *   <li>{@code System.loadLibrary("xtree")}, i.e. a directory of {@code java.library.path};
 *   <li>the jar resource {@code native/<os>-<arch>/<file>} (for example {@code
 *       native/linux-x86_64/libxtree.so}), copied to a fresh private temporary directory under a
 *       name carrying the library version, then loaded from there.
 * </ol>
 *
 * <p>If none works, {@link UnsatisfiedLinkError} lists every place tried and why it failed.
 */
public final class NativeLibrary {
    /** System property naming the native library file to load before anything else. */
    public static final String LIBRARY_PATH_PROPERTY = "xtree.library.path";

    private static final String NAME = "xtree";
    private static final System.Logger LOG = System.getLogger("dev.xtree");

    private static String loadedFrom;

    private NativeLibrary() {}

    /**
     * Loads the native library if this class loader has not loaded it yet. Thread-safe.
     *
     * @throws UnsatisfiedLinkError if no place worked; the message lists each place and its error
     */
    public static synchronized void load() {
        if (loadedFrom != null) {
            return;
        }
        List<String> tried = new ArrayList<>();

        String explicit = System.getProperty(LIBRARY_PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            String place = "system property " + LIBRARY_PATH_PROPERTY + "=" + explicit;
            try {
                System.load(Paths.get(explicit).toAbsolutePath().toString());
                loadedFrom = place;
                return;
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                tried.add(place + ": " + e);
                LOG.log(System.Logger.Level.WARNING,
                        "cannot load the xtree library named by {0}; trying other places: {1}",
                        LIBRARY_PATH_PROPERTY, e);
            }
        } else {
            tried.add("system property " + LIBRARY_PATH_PROPERTY + ": not set");
        }

        String libraryPath = System.getProperty("java.library.path", "");
        try {
            System.loadLibrary(NAME);
            loadedFrom = "java.library.path=" + libraryPath;
            return;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            tried.add("System.loadLibrary(\"" + NAME + "\") with java.library.path="
                    + libraryPath + ": " + e);
        }

        String resource = resourcePath();
        try {
            Path file = extract(resource);
            System.load(file.toString());
            loadedFrom = "jar resource " + resource + " extracted to " + file;
            deleteIfPosix(file);
            return;
        } catch (IOException | UnsatisfiedLinkError | RuntimeException e) {
            tried.add("jar resource " + resource + ": " + e);
        }

        throw new UnsatisfiedLinkError("cannot load the xtree native library; tried:\n  - "
                + String.join("\n  - ", tried));
    }

    /**
     * Where the native library was loaded from, for diagnostics.
     *
     * @return a description of the place that worked, or {@code null} if not loaded yet
     */
    public static synchronized String loadedFrom() {
        return loadedFrom;
    }

    /**
     * The platform directory of the jar resource for the running JVM, {@code <os>-<arch>} with
     * os in {@code linux, macos, windows} and arch in {@code x86_64, aarch64} (other values pass
     * through, lower-cased). The Gradle build computes the same name.
     *
     * @return for example {@code "linux-x86_64"}
     */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName;
        if (os.startsWith("linux")) {
            osName = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            osName = "macos";
        } else if (os.startsWith("windows")) {
            osName = "windows";
        } else {
            osName = os.replaceAll("[^a-z0-9]", "");
        }
        String archName;
        if (arch.equals("amd64") || arch.equals("x86_64") || arch.equals("x64")) {
            archName = "x86_64";
        } else if (arch.equals("aarch64") || arch.equals("arm64")) {
            archName = "aarch64";
        } else {
            archName = arch.replaceAll("[^a-z0-9_]", "");
        }
        return osName + "-" + archName;
    }

    /**
     * The class-path resource holding the native library for this platform.
     *
     * @return for example {@code "native/linux-x86_64/libxtree.so"} (no leading slash)
     */
    public static String resourcePath() {
        return "native/" + platform() + "/" + System.mapLibraryName(NAME);
    }

    /** The library version from the jar manifest, or "dev" when running from class files. */
    private static String version() {
        Package p = NativeLibrary.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return v == null ? "dev" : v.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /**
     * Copies the resource into a new directory only this user can read (createTempDirectory),
     * so no other process can swap the file between the copy and the load.
     */
    private static Path extract(String resource) throws IOException {
        try (InputStream in = NativeLibrary.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("not on the class path");
            }
            String version = version();
            Path dir = Files.createTempDirectory("xtree-" + version + "-");
            dir.toFile().deleteOnExit();
            String file = System.mapLibraryName(NAME + "-" + version);
            Path target = dir.resolve(file);
            Files.copy(in, target);
            target.toFile().deleteOnExit();
            return target;
        }
    }

    /** On POSIX systems a loaded library can be unlinked at once; Windows keeps it locked. */
    private static void deleteIfPosix(Path file) {
        if (platform().startsWith("windows")) {
            return;
        }
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(file.getParent());
        } catch (IOException e) {
            // deleteOnExit is registered as well; a leftover temp file is harmless.
        }
    }
}
