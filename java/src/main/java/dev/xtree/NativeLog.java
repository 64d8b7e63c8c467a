package dev.xtree;

import java.time.Instant;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Forwards the native library's log records (Rust {@code log} crate) to the {@code
 * java.util.logging} logger {@value #LOGGER_NAME}.
 *
 * <p>The native side queues records (bounded; see native/jni/logging.rs) and never calls into
 * the JVM from the thread that logs, which may be a native background thread (the checkpoint
 * coordinator, the EVENTUAL sync thread) that the JVM does not know, and may hold engine locks.
 * The daemon thread {@code xtree-log} started here waits for records in a native call and
 * publishes them: levels error, warn, info, debug, trace become {@link Level#SEVERE}, {@link
 * Level#WARNING}, {@link Level#INFO}, {@link Level#FINE}, {@link Level#FINER}; the record's
 * source class is the Rust module ({@code xtree::engine::coordinator}), its source method the
 * native thread's name ({@code xtree-checkpoint}, empty if unnamed), its instant the time it
 * was emitted. Records therefore reach handlers asynchronously, a few milliseconds later.
 *
 * <p>Native code checks the level before it formats anything: the drain thread keeps the native
 * maximum level equal to the effective level of the {@value #LOGGER_NAME} logger, looked up
 * again every {@value #POLL_MILLIS} ms (or at once by {@link #refreshLevel()}).
 */
final class NativeLog {
    /** The JUL logger that receives the native records. */
    static final String LOGGER_NAME = "dev.xtree";

    /** How long one native wait for records lasts, and so how often the level is looked up. */
    static final long POLL_MILLIS = 250;

    /** Records taken per native call at most. */
    private static final int BATCH = 256;

    private static final Logger LOGGER = Logger.getLogger(LOGGER_NAME);

    /** JUL levels by native level code (1 error .. 5 trace). */
    private static final Level[] LEVELS = {
        Level.OFF, Level.SEVERE, Level.WARNING, Level.INFO, Level.FINE, Level.FINER
    };

    private static boolean started;
    /** The level code last given to the native side. */
    private static int nativeLevel = -1;

    private NativeLog() {}

    /**
     * Installs the native logger and starts the drain thread; called by {@link NativeLibrary}
     * once the library is loaded. Later calls do nothing. If another Rust logger already owns
     * this process (the {@code log} crate allows one), logs a warning and forwards nothing.
     */
    static synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        int level = levelCode(LOGGER);
        boolean installed;
        try {
            installed = nativeInstall(level);
        } catch (UnsatisfiedLinkError e) {
            LOGGER.log(Level.WARNING, "native log records are not forwarded: the xtree library"
                    + " lacks its logging entry points (" + e + ")");
            return;
        }
        if (!installed) {
            LOGGER.warning("native log records are not forwarded: another Rust logger is"
                    + " already installed in this process");
            return;
        }
        nativeLevel = level;
        Thread drain = new Thread(NativeLog::drainLoop, "xtree-log");
        drain.setDaemon(true);
        drain.start();
    }

    /**
     * Gives the native side the current effective level of the {@value #LOGGER_NAME} logger,
     * if it changed. The drain thread calls this before every wait; tests call it after
     * changing the level, so that native records of the new level are not filtered out
     * meanwhile.
     */
    static synchronized void refreshLevel() {
        if (nativeLevel < 0) {
            return; // not installed
        }
        int level = levelCode(LOGGER);
        if (level != nativeLevel) {
            nativeSetLevel(level);
            nativeLevel = level;
        }
    }

    /**
     * The native level code (0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace) that lets
     * through exactly the records {@code logger} would publish.
     */
    static int levelCode(Logger logger) {
        Logger l = logger;
        Level level = null;
        while (l != null && (level = l.getLevel()) == null) {
            l = l.getParent();
        }
        int v = level == null ? Level.INFO.intValue() : level.intValue();
        for (int code = LEVELS.length - 1; code >= 1; code--) {
            if (LEVELS[code].intValue() >= v) {
                // The most verbose native level whose records the logger publishes.
                return code;
            }
        }
        return 0;
    }

    private static void drainLoop() {
        long[] meta = new long[2 * BATCH];
        while (true) {
            try {
                refreshLevel();
                String[] texts = nativeDrain(POLL_MILLIS, meta);
                for (int i = 0; i < texts.length / 3; i++) {
                    publish((int) meta[2 * i], meta[2 * i + 1], texts[3 * i], texts[3 * i + 1],
                            texts[3 * i + 2]);
                }
            } catch (RuntimeException | Error e) {
                // A failing handler or a full heap must not end the forwarding: records are
                // bounded on the native side, and the next round tries again. Errors too: a
                // handler may throw AssertionError, NoClassDefFoundError, StackOverflowError
                // (one that logs back into dev.xtree); a dead drain thread would silently stop
                // every native record and the level sync for the rest of the process.
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException stop) {
                    return;
                }
            }
        }
    }

    private static void publish(int code, long micros, String target, String thread,
            String message) {
        Level level = code >= 1 && code < LEVELS.length ? LEVELS[code] : Level.INFO;
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName(LOGGER_NAME);
        r.setSourceClassName(target);
        r.setSourceMethodName(thread);
        if (micros > 0) {
            r.setInstant(Instant.ofEpochSecond(micros / 1_000_000, (micros % 1_000_000) * 1000));
        }
        try {
            LOGGER.log(r);
        } catch (RuntimeException | LinkageError | AssertionError | StackOverflowError e) {
            // A handler threw: this record is lost, the others are not.
        }
    }

    // The native bridge (native/jni/logging.rs).

    private static native boolean nativeInstall(int level);

    private static native void nativeSetLevel(int level);

    private static native String[] nativeDrain(long timeoutMillis, long[] meta);
}
