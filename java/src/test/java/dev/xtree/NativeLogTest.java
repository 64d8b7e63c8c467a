package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Native log records reach the {@code java.util.logging} logger {@code dev.xtree} (see {@link
 * NativeLog}): checkpoint and recovery records at INFO, the poisoning of a runtime at SEVERE
 * from the native background sync thread, and every level mapped from a native thread the JVM
 * does not know; the native level follows the logger's.
 */
public class NativeLogTest {
    private static final String[] XY = {"x", "y"};
    private static final long WAIT_MILLIS = 20_000;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private final Logger logger = Logger.getLogger(NativeLog.LOGGER_NAME);
    private final Collector records = new Collector();
    private Level savedLevel;

    /** A handler that keeps every record it is given. */
    private static final class Collector extends Handler {
        private final List<LogRecord> seen = new ArrayList<>();

        @Override
        public synchronized void publish(LogRecord r) {
            seen.add(r);
            notifyAll();
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}

        /** The first record matching {@code p}, waiting for it up to {@link #WAIT_MILLIS}. */
        synchronized LogRecord await(String what, Predicate<LogRecord> p)
                throws InterruptedException {
            long deadline = System.currentTimeMillis() + WAIT_MILLIS;
            while (true) {
                for (LogRecord r : seen) {
                    if (p.test(r)) {
                        return r;
                    }
                }
                long left = deadline - System.currentTimeMillis();
                if (left <= 0) {
                    throw new AssertionError("no log record " + what + " among " + describe());
                }
                wait(left);
            }
        }

        synchronized List<LogRecord> all() {
            return new ArrayList<>(seen);
        }

        synchronized String describe() {
            StringBuilder b = new StringBuilder();
            for (LogRecord r : seen) {
                b.append("\n  ").append(r.getLevel()).append(' ').append(r.getSourceClassName())
                        .append(" [").append(r.getSourceMethodName()).append("] ")
                        .append(r.getMessage());
            }
            return b.toString();
        }
    }

    @Before
    public void attach() {
        NativeLibrary.load();
        savedLevel = logger.getLevel();
        records.setLevel(Level.ALL);
        logger.addHandler(records);
    }

    @After
    public void detach() {
        logger.removeHandler(records);
        logger.setLevel(savedLevel);
        NativeLog.refreshLevel();
    }

    private static Predicate<LogRecord> message(Level level, String part) {
        return r -> r.getLevel().equals(level) && r.getMessage() != null
                && r.getMessage().contains(part);
    }

    @Test
    public void checkpointAndRecoveryAreLoggedAtInfo() throws Exception {
        String dir = tmp.newFolder().getPath();
        try (DurableRuntime runtime = DurableRuntime.open(dir, Durability.STRICT);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            LogRecord open = records.await("of the recovery", message(Level.INFO,
                    "xtree recovery of " + dir));
            assertEquals("xtree::engine::runtime", open.getSourceClassName());
            assertEquals(NativeLog.LOGGER_NAME, open.getLoggerName());
            geo.insertBatch(new long[] {1, 2, 3}, new double[] {1, 1, 2, 2, 3, 3});
            long epoch = runtime.commit();
            assertTrue(runtime.checkpoint());
            LogRecord ckpt = records.await("of the checkpoint", message(Level.INFO,
                    "xtree checkpoint at epoch " + epoch + ": "));
            assertEquals("xtree::engine::coordinator", ckpt.getSourceClassName());
            assertTrue(ckpt.getMessage(), ckpt.getMessage().contains("pages written"));
            assertNotNull(ckpt.getInstant());
        }
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            records.await("of the reopen", message(Level.INFO,
                    "replayed 0 transactions (0 records)"));
            assertEquals(0, runtime.stats().replayedTransactions());
        }
    }

    /**
     * Under EVENTUAL the log is synced by a native background thread; its failed fsync poisons
     * the runtime, which is logged at SEVERE from that thread.
     */
    @Test
    public void poisoningByTheBackgroundSyncIsLoggedAtSevere() throws Exception {
        String dir = baseDirectory();
        long openSyncs;
        // The fsyncs of opening such a directory (nothing is written after: no more follow).
        try (FaultPlan counting = FaultPlan.counting()) {
            DurableRuntime runtime = DurableRuntime.openWithFaults(dir, Durability.EVENTUAL,
                    counting);
            openSyncs = counting.syncs();
            runtime.close();
        }
        String fresh = baseDirectory();
        try (FaultPlan plan = new FaultPlan(openSyncs + 1, 0, FaultPlan.EIO);
                DurableRuntime runtime = DurableRuntime.openWithFaults(fresh,
                        Durability.EVENTUAL, plan);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            assertEquals(openSyncs, plan.syncs());
            geo.insert(50L, new double[] {5, 5});
            runtime.commit(); // returns at once; the background sync fails
            LogRecord poisoned = records.await("of the poisoning", message(Level.SEVERE,
                    "xtree runtime poisoned"));
            assertEquals("xtree-sync", poisoned.getSourceMethodName());
            assertTrue(poisoned.getMessage(), poisoned.getMessage().contains("os error 5"));
            // The record is published once the poisoning is in force.
            IndexDetailsTest.assertMessage(assertThrows(XTreePoisonedException.class,
                    () -> geo.insert(51L, new double[] {5, 5})), "poisoned", "os error 5");
            IndexDetailsTest.assertMessage(assertThrows(XTreePoisonedException.class,
                    runtime::commit), "poisoned");
        }
    }

    /** A directory with field "geo", committed and closed. */
    private String baseDirectory() throws IOException {
        String dir = tmp.newFolder().getPath();
        try (DurableRuntime runtime = DurableRuntime.open(dir, Durability.STRICT);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            geo.insert(1L, new double[] {1, 1});
            runtime.commit();
        }
        return dir;
    }

    @Test
    public void everyLevelIsMappedFromAnUnattachedNativeThread() throws Exception {
        logger.setLevel(Level.ALL);
        NativeLog.refreshLevel();
        Level[] expected = {Level.SEVERE, Level.WARNING, Level.INFO, Level.FINE, Level.FINER};
        String tag = "level test " + System.nanoTime();
        for (int code = 1; code <= 5; code++) {
            NativeBridgeTest.nativeLogFromThread(code, tag + " " + code);
        }
        for (int code = 1; code <= 5; code++) {
            LogRecord r = records.await("at code " + code, message(expected[code - 1],
                    tag + " " + code));
            assertEquals("xtree::jni::test", r.getSourceClassName());
            assertEquals("xtree-test-logger", r.getSourceMethodName());
        }

        // Back at WARNING: info and below are filtered natively; error still arrives, after
        // (the queue keeps order) the info record would have.
        logger.setLevel(Level.WARNING);
        NativeLog.refreshLevel();
        String quiet = "filtered " + System.nanoTime();
        NativeBridgeTest.nativeLogFromThread(3, quiet + " info");
        NativeBridgeTest.nativeLogFromThread(5, quiet + " trace");
        NativeBridgeTest.nativeLogFromThread(1, quiet + " error");
        records.await("of the error", message(Level.SEVERE, quiet + " error"));
        for (LogRecord r : records.all()) {
            String m = String.valueOf(r.getMessage());
            assertTrue(records.describe(), !m.startsWith(quiet + " info")
                    && !m.startsWith(quiet + " trace"));
        }
        assertEquals(2, NativeLog.levelCode(logger));
    }

    @Test
    public void levelCodesFollowTheEffectiveLevel() {
        Logger child = Logger.getLogger(NativeLog.LOGGER_NAME + ".levelCodes");
        Level[] levels = {Level.OFF, Level.SEVERE, Level.WARNING, Level.INFO, Level.CONFIG,
            Level.FINE, Level.FINER, Level.FINEST, Level.ALL};
        int[] codes = {0, 1, 2, 3, 3, 4, 5, 5, 5};
        for (int i = 0; i < levels.length; i++) {
            logger.setLevel(levels[i]);
            assertEquals(levels[i].getName(), codes[i], NativeLog.levelCode(logger));
            assertEquals("inherited " + levels[i].getName(), codes[i],
                    NativeLog.levelCode(child));
        }
    }

    /**
     * A handler that throws an {@link Error} (here an {@link AssertionError}, as a failing
     * assertion in a test handler or a {@code NoClassDefFoundError} would) loses that record
     * only: the drain thread {@code xtree-log} must survive it and forward later records.
     */
    @Test
    public void aHandlerThrowingAnErrorDoesNotEndTheForwarding() throws Exception {
        String tag = "thrower " + System.nanoTime();
        Handler thrower = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (String.valueOf(r.getMessage()).startsWith(tag)) {
                    throw new AssertionError("handler failure on " + r.getMessage());
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(thrower); // after the collector: it sees the record first
        try {
            NativeBridgeTest.nativeLogFromThread(1, tag + " first");
            records.await("before the failing handler", message(Level.SEVERE, tag + " first"));
        } finally {
            logger.removeHandler(thrower);
        }
        NativeBridgeTest.nativeLogFromThread(1, tag + " second");
        records.await("after the failing handler", message(Level.SEVERE, tag + " second"));
    }
}
