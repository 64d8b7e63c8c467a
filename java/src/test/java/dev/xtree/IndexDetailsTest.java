package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;

/** The public API of {@link IndexDetails}: construction, validation, lifecycle. */
public class IndexDetailsTest {
    private static final double[] P = {1.0, 2.0};

    private static IndexDetails index2d() {
        return new IndexDetails(2, 64, new String[] {"x", "y"}, PersistenceMode.IN_MEMORY, null);
    }

    /** Asserts that the message of {@code t} contains every one of {@code parts}. */
    static void assertMessage(Throwable t, String... parts) {
        for (String part : parts) {
            assertTrue("message \"" + t.getMessage() + "\" lacks \"" + part + "\"",
                    t.getMessage() != null && t.getMessage().contains(part));
        }
    }

    // ---- construction ----------------------------------------------------------------------

    @Test
    public void constructorKeepsParameters() {
        String[] labels = {"lon", "lat", "t"};
        try (IndexDetails index =
                new IndexDetails(3, 32, labels, PersistenceMode.IN_MEMORY, null)) {
            labels[0] = "changed";
            assertEquals(3, index.dimension());
            assertEquals(32, index.precision());
            assertArrayEquals(new String[] {"lon", "lat", "t"}, index.labels());
            String[] copy = index.labels();
            copy[1] = "changed";
            assertArrayEquals(new String[] {"lon", "lat", "t"}, index.labels());
            assertNotSame(index.labels(), index.labels());
            assertEquals(0, index.size());
            assertFalse(index.isClosed());
        }
    }

    @Test
    public void extremeDimensionsWork() {
        for (int dim : new int[] {1, 255}) {
            try (IndexDetails index = new IndexDetails(dim, 64,
                    IndexDetailsOracleTest.labels(dim), PersistenceMode.IN_MEMORY, null)) {
                double[] p = new double[dim];
                Arrays.fill(p, 3.0);
                index.insert(1L, p);
                assertArrayEquals(new long[] {1L}, index.search(SearchType.INTERSECTS, p, p));
                assertArrayEquals(new long[] {1L}, index.nearest(p, 3));
            }
        }
    }

    @Test
    public void badDimensionIsRejected() {
        for (int dim : new int[] {0, 256, -1, Integer.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new IndexDetails(dim, 64, new String[0], PersistenceMode.IN_MEMORY,
                            null));
            assertMessage(e, "dimension", Integer.toString(dim));
        }
    }

    @Test
    public void badPrecisionIsRejected() {
        for (int precision : new int[] {48, 0, 16, 128, -32}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new IndexDetails(2, precision, new String[] {"x", "y"},
                            PersistenceMode.IN_MEMORY, null));
            assertMessage(e, "precision", Integer.toString(precision));
        }
    }

    @Test
    public void wrongLabelCountIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(3, 64, new String[] {"x", "y"},
                        PersistenceMode.IN_MEMORY, null));
        assertMessage(e, "labels", "2", "3");
    }

    @Test
    public void nullArgumentsAreRejected() {
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> new IndexDetails(2, 64, null, PersistenceMode.IN_MEMORY, null));
        assertMessage(e, "labels");
        e = assertThrows(NullPointerException.class,
                () -> new IndexDetails(2, 64, new String[] {"x", null},
                        PersistenceMode.IN_MEMORY, null));
        assertMessage(e, "labels[1]");
        e = assertThrows(NullPointerException.class,
                () -> new IndexDetails(2, 64, new String[] {"x", "y"}, null, null));
        assertMessage(e, "mode");
        e = assertThrows(NullPointerException.class,
                () -> new IndexDetails(2, 64, new String[] {"x", "y"},
                        PersistenceMode.IN_MEMORY, null, null));
        assertMessage(e, "options");
    }

    /**
     * Regression (issue 7, item 14): the bridge decoded a label with an unpaired surrogate
     * lossily (as U+FFFD), so distinct labels aliased; repeated and blank labels were accepted.
     * Each is now an {@link IllegalArgumentException} naming the label; surrogate pairs are fine.
     */
    @Test
    public void malformedRepeatedAndBlankLabelsAreRejected() {
        String[][] bad = {
            {"\uD800", "y"}, // a lone high surrogate
            {"x", "a\uDC00b"}, // a lone low surrogate
            {"\uDBFF\uD800", "y"}, // two high surrogates
            {"x\uD83D", "y"}, // a high surrogate at the end
            {"\uDE00\uD83D", "y"}, // a pair in the wrong order
            {"x", "x"},
            {"", "y"},
            {"x", " \t"},
        };
        String[] named = {"labels[0]", "labels[1]", "labels[0]", "labels[0]", "labels[0]",
            "labels[1]", "labels[0]", "labels[1]"};
        String[] why = {"surrogate", "surrogate", "surrogate", "surrogate", "surrogate",
            "labels[0]", "blank", "blank"};
        for (int i = 0; i < bad.length; i++) {
            String[] labels = bad[i];
            IllegalArgumentException e = assertThrows("case " + i,
                    IllegalArgumentException.class, () -> new IndexDetails(2, 64, labels,
                            PersistenceMode.IN_MEMORY, null));
            assertMessage(e, named[i], why[i]);
        }
        String[] good = {"\uD83D\uDE00", "\u00e9\u4e16"};
        try (IndexDetails index = new IndexDetails(2, 64, good, PersistenceMode.IN_MEMORY,
                null)) {
            assertArrayEquals(good, index.labels());
        }
    }

    @Test
    public void durableNeedsADataDir() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 64, new String[] {"x", "y"},
                        PersistenceMode.DURABLE, null));
        assertMessage(e, "dataDir", "DURABLE");
    }

    @Test
    public void durabilityOption() {
        IndexDetails.Options options = new IndexDetails.Options();
        assertEquals(Durability.BALANCED, options.durability());
        assertEquals(Durability.STRICT, options.durability(Durability.STRICT).durability());
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> options.durability(null));
        assertMessage(e, "durability");
        assertEquals(Durability.STRICT, options.durability());
        // An in-memory index ignores it.
        try (IndexDetails index = new IndexDetails(2, 64, new String[] {"x", "y"},
                PersistenceMode.IN_MEMORY, null, options)) {
            index.insert(1L, P);
            assertEquals(1, index.size());
        }
    }

    @Test
    public void dataDirIsRejectedInMemory() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 64, new String[] {"x", "y"},
                        PersistenceMode.IN_MEMORY, "/tmp/xtree-data"));
        assertMessage(e, "dataDir");
    }

    @Test
    public void nodeSizeOption() {
        IndexDetails.Options options = new IndexDetails.Options();
        assertEquals(0, options.nodeSize());
        assertEquals(1024, options.nodeSize(1024).nodeSize());
        try (IndexDetails index = new IndexDetails(2, 64, new String[] {"x", "y"},
                PersistenceMode.IN_MEMORY, null, options)) {
            // Small nodes: many splits for few records.
            long[] ids = new long[5000];
            double[] coords = new double[10000];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
                coords[2 * i] = i % 100;
                coords[2 * i + 1] = i / 100;
            }
            for (int i = 0; i < ids.length; i++) {
                index.insert(ids[i], new double[] {coords[2 * i], coords[2 * i + 1]});
            }
            assertEquals(5000, index.size());
            assertEquals(11 * 11, index.count(SearchType.WITHIN,
                    new double[] {10, 10}, new double[] {20, 20}));
        }
        assertThrows(IllegalArgumentException.class, () -> options.nodeSize(-1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 64, new String[] {"x", "y"},
                        PersistenceMode.IN_MEMORY, null, new IndexDetails.Options().nodeSize(8)));
        assertMessage(e, "8");
    }

    // ---- operations ------------------------------------------------------------------------

    @Test
    public void pointsAndBoxesRoundTrip() {
        try (IndexDetails index = index2d()) {
            index.insert(1L, P);
            index.insert(2L, new double[] {0, 0}, new double[] {10, 10});
            index.insertBatch(new long[] {3L, 4L}, new double[] {5, 5, 50, 50});
            index.insertBatch(new long[] {5L}, new double[] {4, 4}, new double[] {6, 6});
            assertEquals(5, index.size());
            double[] lo = {0, 0};
            double[] hi = {10, 10};
            assertArrayEquals(new long[] {1, 2, 3, 5},
                    sorted(index.search(SearchType.WITHIN, lo, hi)));
            assertArrayEquals(new long[] {1, 2, 3, 5},
                    sorted(index.search(SearchType.INTERSECTS, lo, hi)));
            assertArrayEquals(new long[] {2, 5}, sorted(index.search(SearchType.CONTAINS,
                    new double[] {4.5, 4.5}, new double[] {5.5, 5.5})));
            assertEquals(4, index.count(SearchType.WITHIN, lo, hi));
            assertArrayEquals(new long[] {2, 3, 5}, index.nearest(new double[] {5, 5}, 3));
            assertArrayEquals(new long[0], index.nearest(P, 0));
            assertTrue(index.delete(1L, P));
            assertFalse(index.delete(1L, P));
            assertTrue(index.update(2L, lo, hi, new double[] {100, 100}, new double[] {101, 101}));
            assertFalse(index.update(2L, lo, hi, lo, hi));
            assertArrayEquals(new long[] {3, 5}, sorted(index.search(SearchType.WITHIN, lo, hi)));
            assertEquals(4, index.size());
        }
    }

    /** The quick start of README.md, with the answers its comments promise. */
    @Test
    public void readmeQuickStart() {
        try (IndexDetails index = new IndexDetails(
                2, 64, new String[] {"lon", "lat"}, PersistenceMode.IN_MEMORY, null)) {
            index.insert(1L, new double[] {2.3488, 48.8534});
            index.insert(2L, new double[] {2.2, 48.8}, new double[] {2.5, 48.9});
            index.insertBatch(new long[] {3L, 4L}, new double[] {-0.1276, 51.5072, 13.405, 52.52});
            double[] min = {-5, 45};
            double[] max = {5, 55};
            assertArrayEquals(new long[] {1, 2, 3},
                    sorted(index.search(SearchType.WITHIN, min, max)));
            assertEquals(3, index.count(SearchType.INTERSECTS, min, max));
            assertArrayEquals(new long[] {2, 1}, index.nearest(new double[] {2.35, 48.86}, 2));
            int rows = 0;
            try (SearchCursor cursor = index.cursor(SearchType.INTERSECTS, min, max)) {
                for (long[] page = cursor.nextPage(1000); page.length > 0;
                        page = cursor.nextPage(1000)) {
                    rows += page.length;
                }
            }
            assertEquals(3, rows);
            assertTrue(index.delete(1L, new double[] {2.3488, 48.8534}));
            assertTrue(index.update(2L, new double[] {2.2, 48.8}, new double[] {2.5, 48.9},
                    new double[] {2.0, 48.0}, new double[] {3.0, 49.0}));
        }
    }

    @Test
    public void rowIdsAreUnsigned64Bit() {
        try (IndexDetails index = index2d()) {
            long[] ids = {Long.MIN_VALUE, -1L, 0L, Long.MAX_VALUE, 1L};
            for (long id : ids) {
                index.insert(id, P); // all at the same point: a five-way distance tie
            }
            long[] expected = {0L, 1L, Long.MAX_VALUE, Long.MIN_VALUE, -1L}; // unsigned order
            assertArrayEquals(expected, index.nearest(P, 10));
            assertArrayEquals(sorted(ids.clone()),
                    sorted(index.search(SearchType.INTERSECTS, P, P)));
            assertTrue(index.delete(-1L, P));
            assertEquals(4, index.size());
        }
    }

    @Test
    public void rowIdMayHaveSeveralRecords() {
        try (IndexDetails index = index2d()) {
            index.insert(9L, new double[] {1, 1});
            index.insert(9L, new double[] {5, 5});
            index.insert(9L, new double[] {5, 5});
            assertEquals(3, index.size());
            assertArrayEquals(new long[] {9, 9, 9}, index.search(SearchType.WITHIN,
                    new double[] {0, 0}, new double[] {6, 6}));
            assertTrue(index.delete(9L, new double[] {5, 5}));
            assertEquals(2, index.count(SearchType.WITHIN, new double[] {0, 0},
                    new double[] {6, 6}));
        }
    }

    @Test
    public void precision32RoundsAsDocumented() {
        try (IndexDetails index = new IndexDetails(1, 32, new String[] {"x"},
                PersistenceMode.IN_MEMORY, null)) {
            double x = 0.1; // not a float
            index.insert(1L, new double[] {x}); // point: nearest float
            index.insert(2L, new double[] {x}, new double[] {0.3}); // box: outward
            double[] f = {(float) x};
            assertArrayEquals(new long[] {1L, 2L},
                    sorted(index.search(SearchType.INTERSECTS, f, f)));
            // The box's stored min is the float below 0.1, so it intersects that float.
            double below = Oracle.floatDown(x);
            assertArrayEquals(new long[] {2L}, index.search(SearchType.INTERSECTS,
                    new double[] {below}, new double[] {below}));
            // Delete rounds its argument the same way as insert.
            assertTrue(index.delete(1L, new double[] {x}));
            assertTrue(index.delete(2L, new double[] {x}, new double[] {0.3}));
        }
    }

    @Test
    public void infiniteQueryBoundsAreOpenRanges() {
        try (IndexDetails index = index2d()) {
            index.insert(1L, P);
            index.insert(2L, new double[] {-1e300, 1e300});
            double inf = Double.POSITIVE_INFINITY;
            assertEquals(2, index.count(SearchType.WITHIN, new double[] {-inf, -inf},
                    new double[] {inf, inf}));
            assertArrayEquals(new long[] {2L}, index.search(SearchType.INTERSECTS,
                    new double[] {-inf, 100}, new double[] {0, inf}));
        }
    }

    @Test
    public void badCoordinatesAreRejectedAndNothingIsStored() {
        try (IndexDetails index = index2d()) {
            assertAllRejected(badCoordinateCalls(index));
            assertEquals("a rejected call stored something", 0, index.size());
        }
    }

    /**
     * Calls on the 2-D index {@code index} with bad coordinates (NaN, infinite stored values,
     * min > max, wrong lengths); each must throw IllegalArgumentException and store nothing.
     * Shared by the in-memory and the durable tests.
     */
    static List<ThrowingRunnable> badCoordinateCalls(IndexDetails index) {
        double nan = Double.NaN;
        double inf = Double.POSITIVE_INFINITY;
        List<ThrowingRunnable> bad = new ArrayList<>();
        bad.add(() -> index.insert(1L, new double[] {nan, 0}));
        bad.add(() -> index.insert(1L, new double[] {inf, 0}));
        bad.add(() -> index.insert(1L, new double[] {0, 0}, new double[] {-inf, 1}));
        bad.add(() -> index.insert(1L, new double[] {2, 0}, new double[] {1, 1}));
        bad.add(() -> index.insert(1L, new double[] {0, 0}, new double[] {1, nan}));
        bad.add(() -> index.insert(1L, new double[] {0, 0, 0}));
        bad.add(() -> index.insert(1L, new double[] {0}, new double[] {1, 1}));
        bad.add(() -> index.insertBatch(new long[] {1, 2}, new double[] {0, 0, nan, 0}));
        bad.add(() -> index.insertBatch(new long[] {1, 2}, new double[] {0, 0, 1}));
        bad.add(() -> index.insertBatch(new long[] {1, 2}, new double[] {0, 0, 1, 1},
                new double[] {1, 1, 0, 1}));
        bad.add(() -> index.insertBatch(new long[] {1}, new double[] {0, 0},
                new double[] {1, 1, 1}));
        bad.add(() -> index.delete(1L, new double[] {nan, 0}));
        bad.add(() -> index.delete(1L, new double[] {1, 0}, new double[] {0, 0}));
        bad.add(() -> index.update(1L, P, P, new double[] {inf, 0}, new double[] {inf, 0}));
        bad.add(() -> index.update(1L, P, P, new double[] {1, 1}, new double[] {0, 0}));
        bad.add(() -> index.update(1L, P, new double[] {0}, P, P));
        bad.add(() -> index.search(SearchType.WITHIN, new double[] {nan, 0}, P));
        bad.add(() -> index.search(SearchType.WITHIN, new double[] {3, 3}, P));
        bad.add(() -> index.search(SearchType.WITHIN, P, new double[] {1, 2, 3}));
        bad.add(() -> index.count(SearchType.CONTAINS, new double[] {3, 3}, P));
        bad.add(() -> index.cursor(SearchType.CONTAINS, new double[] {nan, 3}, P));
        bad.add(() -> index.nearest(new double[] {nan, 0}, 1));
        bad.add(() -> index.nearest(new double[] {0}, 1));
        bad.add(() -> index.nearest(P, -1));
        return bad;
    }

    /** One call of every data method of the 2-D index {@code index} (a mutable list). */
    static List<ThrowingRunnable> everyCall(IndexDetails index) {
        return new ArrayList<>(Arrays.asList(
                index::size,
                () -> index.insert(1L, P),
                () -> index.insert(1L, P, P),
                () -> index.insertBatch(new long[] {1}, P),
                () -> index.insertBatch(new long[] {1}, P, P),
                () -> index.delete(1L, P),
                () -> index.delete(1L, P, P),
                () -> index.update(1L, P, P, P, P),
                () -> index.search(SearchType.INTERSECTS, P, P),
                () -> index.count(SearchType.INTERSECTS, P, P),
                () -> index.cursor(SearchType.INTERSECTS, P, P),
                () -> index.nearest(P, 1)));
    }

    /** Asserts that every call throws IllegalStateException saying "closed". */
    static void assertAllClosed(List<ThrowingRunnable> calls) {
        for (int i = 0; i < calls.size(); i++) {
            IllegalStateException e = assertThrows("call " + i, IllegalStateException.class,
                    calls.get(i));
            assertMessage(e, "closed");
        }
    }

    /** Runs every call and asserts that each throws IllegalArgumentException with a message. */
    static void assertAllRejected(List<ThrowingRunnable> bad) {
        for (int i = 0; i < bad.size(); i++) {
            try {
                bad.get(i).run();
                fail("case " + i + " was accepted");
            } catch (IllegalArgumentException expected) {
                assertTrue("case " + i + " has no message", expected.getMessage() != null
                        && !expected.getMessage().isEmpty());
            } catch (Throwable t) {
                throw new AssertionError("case " + i + " threw " + t, t);
            }
        }
    }

    @Test
    public void nullArraysThrowNullPointerException() {
        try (IndexDetails index = index2d()) {
            List<ThrowingRunnable> bad = Arrays.asList(
                    () -> index.insert(1L, null),
                    () -> index.insert(1L, null, P),
                    () -> index.insert(1L, P, null),
                    () -> index.insertBatch(null, P),
                    () -> index.insertBatch(new long[1], null),
                    () -> index.insertBatch(new long[1], P, null),
                    () -> index.delete(1L, null),
                    () -> index.delete(1L, P, null),
                    () -> index.update(1L, P, P, P, null),
                    () -> index.search(null, P, P),
                    () -> index.search(SearchType.WITHIN, null, P),
                    () -> index.count(SearchType.WITHIN, P, null),
                    () -> index.cursor(SearchType.WITHIN, null, P),
                    () -> index.nearest(null, 1));
            for (int i = 0; i < bad.size(); i++) {
                assertThrows("case " + i, NullPointerException.class, bad.get(i));
            }
            assertEquals(0, index.size());
        }
    }

    // ---- lifecycle -------------------------------------------------------------------------

    @Test
    public void closeIsIdempotent() {
        IndexDetails index = index2d();
        index.insert(1L, P);
        index.close();
        assertTrue(index.isClosed());
        index.close();
        index.close();
        assertTrue(index.toString().contains("closed"));
    }

    @Test
    public void everyCallAfterCloseThrowsIllegalStateException() {
        IndexDetails index = index2d();
        index.insert(1L, P);
        index.close();
        assertAllClosed(everyCall(index));
        // Metadata stays readable.
        assertEquals(2, index.dimension());
        assertEquals(64, index.precision());
        assertArrayEquals(new String[] {"x", "y"}, index.labels());
    }

    @Test
    public void concurrentCloseFromManyThreads() throws Exception {
        for (int round = 0; round < 20; round++) {
            IndexDetails index = index2d();
            index.insert(1L, P);
            int threads = 4;
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        index.close();
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                thread.start();
                all.add(thread);
            }
            for (Thread thread : all) {
                thread.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(index.isClosed());
        }
    }

    /**
     * Four threads query (and write) in a loop while the main thread closes the index: every
     * call either succeeds or throws IllegalStateException, and the JVM survives.
     */
    @Test
    public void closeWhileFourThreadsQuery() throws Exception {
        for (int round = 0; round < 10; round++) {
            IndexDetails index = index2d();
            long[] ids = new long[2000];
            double[] coords = new double[4000];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
                coords[2 * i] = i % 50;
                coords[2 * i + 1] = i / 50;
            }
            index.insertBatch(ids, coords);
            List<Consumer<IndexDetails>> work = Arrays.asList(
                    ix -> ix.search(SearchType.INTERSECTS, new double[] {0, 0},
                            new double[] {30, 30}),
                    ix -> ix.count(SearchType.WITHIN, new double[] {0, 0},
                            new double[] {50, 50}),
                    ix -> ix.nearest(new double[] {25, 20}, 50),
                    ix -> {
                        try (SearchCursor c = ix.cursor(SearchType.INTERSECTS,
                                new double[] {0, 0}, new double[] {50, 50})) {
                            c.nextPage(100);
                        }
                        ix.insert(99999L, new double[] {1, 1});
                    });
            AtomicInteger succeeded = new AtomicInteger();
            AtomicInteger rejected = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch running = new CountDownLatch(work.size());
            List<Thread> threads = new ArrayList<>();
            for (Consumer<IndexDetails> job : work) {
                Thread thread = new Thread(() -> {
                    running.countDown();
                    while (true) {
                        try {
                            job.accept(index);
                            succeeded.incrementAndGet();
                        } catch (IllegalStateException closed) {
                            rejected.incrementAndGet();
                            return;
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                            return;
                        }
                    }
                });
                thread.start();
                threads.add(thread);
            }
            running.await();
            Thread.sleep(20);
            index.close();
            for (Thread thread : threads) {
                thread.join(10_000);
                assertFalse("a query thread did not stop", thread.isAlive());
            }
            if (failure.get() != null) {
                throw new AssertionError("a query failed with something else than"
                        + " IllegalStateException", failure.get());
            }
            assertEquals(work.size(), rejected.get());
            assertTrue(succeeded.get() > 0);
        }
    }

    /** The Cleaner reports an index that was never closed; it does not free it. */
    @Test
    public void unclosedIndexIsReportedAsLeak() throws Exception {
        Logger logger = Logger.getLogger("dev.xtree");
        List<String> messages = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    String text = String.valueOf(record.getMessage());
                    Object[] params = record.getParameters();
                    if (params != null) {
                        text = text.replace("{0}", String.valueOf(params[0]));
                    }
                    synchronized (messages) {
                        messages.add(text);
                    }
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(handler);
        try {
            createAndDrop();
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(50);
                synchronized (messages) {
                    if (messages.stream().anyMatch(m -> m.contains("without close()")
                            && m.contains("dimension=3"))) {
                        return;
                    }
                }
            }
            fail("no leak warning was logged; got " + messages);
        } finally {
            logger.removeHandler(handler);
        }
    }

    private static void createAndDrop() {
        IndexDetails leaked = new IndexDetails(3, 32, new String[] {"a", "b", "c"},
                PersistenceMode.IN_MEMORY, null);
        leaked.insert(1L, new double[] {1, 2, 3});
    }

    static long[] sorted(long[] a) {
        Arrays.sort(a);
        return a;
    }
}
