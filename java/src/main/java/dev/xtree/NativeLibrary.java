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
 *       native/linux-x86_64/libxtree.so}), copied to a fresh private directory under {@code
 *       java.io.tmpdir} (made absolute if it is relative) under a name carrying the library
 *       version, then loaded from there.
 * </ol>
 *
 * <p>If none works, {@link UnsatisfiedLinkError} lists every place tried and why it failed, and
 * how to name the library file with {@value #LIBRARY_PATH_PROPERTY}; if the extracted copy
 * could not be loaded, it names the copy and the likely cause (a {@code java.io.tmpdir} on a file
 * system mounted {@code noexec}). The failure is remembered: every later {@link #load()} (and so
 * every constructor of {@link IndexDetails}, {@link DurableRuntime#open}) throws a new {@link
 * UnsatisfiedLinkError} with the same message whose cause is the first one, without trying again.
 * Classes of the API load without the library; only creating the native objects needs it.
 */
public final class NativeLibrary {
    /** System property naming the native library file to load before anything else. */
    public static final String LIBRARY_PATH_PROPERTY = "xtree.library.path";

    private static final String NAME = "xtree";
    private static final System.Logger LOG = System.getLogger("dev.xtree");

    /** Where the library came from; null until loaded. Volatile for the lock-free fast path. */
    private static volatile String loadedFrom;

    /** The error of the one failed attempt, thrown again (as a cause) by every later load. */
    private static UnsatisfiedLinkError failure;

    private NativeLibrary() {}

    /**
     * Loads the native library if this class loader has not loaded it yet. Thread-safe; once
     * loaded, a call costs one volatile read.
     *
     * @throws UnsatisfiedLinkError if no place worked; the message lists each place and its
     *     error. After a failure every call throws a new error with the same message, caused by
     *     the first.
     */
    public static void load() {
        if (loadedFrom == null) {
            loadOnce();
        }
    }

    private static synchronized void loadOnce() {
        if (loadedFrom != null) {
            return;
        }
        if (failure != null) {
            UnsatisfiedLinkError again = new UnsatisfiedLinkError(failure.getMessage());
            again.initCause(failure);
            throw again;
        }
        failure = tryEveryPlace();
        if (failure != null) {
            throw failure;
        }
        // Native log records go to java.util.logging from now on (see NativeLog).
        NativeLog.start();
    }

    /** Tries each place in order; sets {@link #loadedFrom}, or returns the error to throw. */
    private static UnsatisfiedLinkError tryEveryPlace() {
        List<String> tried = new ArrayList<>();

        String explicit = System.getProperty(LIBRARY_PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            String place = "system property " + LIBRARY_PATH_PROPERTY + "=" + explicit;
            try {
                System.load(Paths.get(explicit).toAbsolutePath().toString());
                loadedFrom = place;
                return null;
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
            return null;
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            tried.add("System.loadLibrary(\"" + NAME + "\") with java.library.path="
                    + libraryPath + ": " + e);
        }

        String resource = resourcePath();
        Path file = null;
        try {
            file = extract(resource);
            System.load(file.toString());
            loadedFrom = "jar resource " + resource + " extracted to " + file;
            deleteIfPosix(file);
            return null;
        } catch (UnsatisfiedLinkError e) {
            if (file == null) {
                tried.add("jar resource " + resource + ": " + e);
            } else {
                // The copy exists but the OS would not map it; the usual cause is a noexec
                // mount, which Java cannot see.
                tried.add("jar resource " + resource + " extracted to " + file + ": " + e
                        + " (if java.io.tmpdir=" + file.getParent().getParent() + " is on a file system mounted noexec, start the JVM with -D"
                        + LIBRARY_PATH_PROPERTY + "=/path/to/" + System.mapLibraryName(NAME)
                        + " on a file system that allows executing, or with -Djava.io.tmpdir"
                        + " pointing to one)");
                deleteIfPosix(file);
            }
        } catch (IOException | RuntimeException e) {
            tried.add("jar resource " + resource + ": " + e);
        }

        return new UnsatisfiedLinkError("cannot load the xtree native library; tried:\n  - "
                + String.join("\n  - ", tried) + "\nTo name the library file, set the system"
                + " property " + LIBRARY_PATH_PROPERTY + " (-D" + LIBRARY_PATH_PROPERTY
                + "=/path/to/" + System.mapLibraryName(NAME) + ").");
    }

    /**
     * Where the native library was loaded from, for diagnostics.
     *
     * @return a description of the place that worked, or {@code null} if not loaded yet
     */
    public static String loadedFrom() {
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
            // System.load needs an absolute path; java.io.tmpdir may be relative.
            Path dir = Files.createTempDirectory("xtree-" + version + "-").toAbsolutePath();
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
