package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Rule;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;
import org.junit.rules.TemporaryFolder;

/**
 * {@link DurableRuntime}: several fields in one data directory committed together, reopen, the
 * directory lock, and the lifecycle of the runtime and of the fields it hands out.
 */
public class DurableRuntimeTest {
    private static final String[] XY = {"x", "y"};
    private static final String[] T = {"t"};
    private static final double[] P = {1, 2};
    private static final double[] ALL_MIN = {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY};
    private static final double[] ALL_MAX = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private String newDir() throws IOException {
        return tmp.newFolder().getPath();
    }

    private static long[] all(IndexDetails geo) {
        return IndexDetailsTest.sorted(geo.search(SearchType.INTERSECTS, ALL_MIN, ALL_MAX));
    }

    private static long[] allT(IndexDetails time) {
        return IndexDetailsTest.sorted(time.search(SearchType.INTERSECTS,
                new double[] {Double.NEGATIVE_INFINITY}, new double[] {Double.POSITIVE_INFINITY}));
    }

    @Test
    public void twoFieldsCommitTogetherAndSurviveReopen() throws IOException {
        String dir = newDir();
        try (DurableRuntime runtime = DurableRuntime.open(dir);
                IndexDetails geo = runtime.field("geo", 2, 64, XY);
                IndexDetails time = runtime.field("time", 1, 32, T)) {
            assertEquals(PersistenceMode.DURABLE, geo.persistenceMode());
            assertArrayEquals(new String[] {"geo", "time"}, runtime.fieldNames());
            geo.insert(1L, P);
            geo.insertBatch(new long[] {2L, 3L}, new double[] {3, 4, 5, 6});
            time.insert(1L, new double[] {10}, new double[] {20});
            assertEquals(0, geo.size());
            assertEquals(0, time.size());
            long epoch = runtime.commit();
            assertArrayEquals(new long[] {1, 2, 3}, all(geo));
            assertArrayEquals(new long[] {1}, allT(time));
            // A field's commit() commits the other field's writes too.
            time.insert(2L, new double[] {30});
            assertTrue(geo.delete(2L, new double[] {3, 4}));
            assertTrue(geo.commit() > epoch);
            assertArrayEquals(new long[] {1, 3}, all(geo));
            assertArrayEquals(new long[] {1, 2}, allT(time));
            // Not committed: lost at close.
            geo.insert(9L, P);
            time.insert(9L, new double[] {0});
        }
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            assertArrayEquals(new String[] {"geo", "time"}, runtime.fieldNames());
            try (IndexDetails geo = runtime.field("geo", 2, 64, XY);
                    IndexDetails time = runtime.field("time", 1, 32, T)) {
                assertArrayEquals(new long[] {1, 3}, all(geo));
                assertArrayEquals(new long[] {1, 2}, allT(time));
                assertArrayEquals(new long[] {3, 1}, geo.nearest(new double[] {5, 6}, 2));
                assertEquals(1, time.count(SearchType.CONTAINS, new double[] {15},
                        new double[] {16}));
            }
        }
    }

    @Test
    public void fieldCreationIsCommittedAndNamesAreListedInOrder() throws IOException {
        String dir = newDir();
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            assertEquals(0, runtime.fieldNames().length);
            for (String name : new String[] {"b", "a", "c"}) {
                runtime.field(name, 1, 64, T).close();
            }
            assertArrayEquals(new String[] {"b", "a", "c"}, runtime.fieldNames());
        }
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            assertArrayEquals(new String[] {"b", "a", "c"}, runtime.fieldNames());
        }
    }

    @Test
    public void commitEpochsAndCheckpoint() throws IOException {
        try (DurableRuntime runtime = DurableRuntime.open(newDir(), Durability.STRICT);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            geo.insert(1L, P);
            long e1 = runtime.commit();
            assertEquals("nothing pending", e1, runtime.commit());
            geo.insert(2L, P);
            long e2 = runtime.commit();
            assertTrue(e2 > e1);
            assertTrue(runtime.checkpoint());
            assertFalse("already covered", runtime.checkpoint());
            assertEquals(2, geo.size());
        }
    }

    @Test
    public void twoHandlesOnOneFieldSeeTheSameData() throws IOException {
        try (DurableRuntime runtime = DurableRuntime.open(newDir());
                IndexDetails a = runtime.field("geo", 2, 64, XY);
                IndexDetails b = runtime.field("geo", 2, 64, XY)) {
            a.insert(1L, P);
            runtime.commit();
            assertArrayEquals(new long[] {1}, all(b));
        }
    }

    @Test
    public void fieldWithOtherParametersIsRejected() throws IOException {
        String dir = newDir();
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            runtime.field("geo", 2, 64, XY).close();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> runtime.field("geo", 3, 64, new String[] {"x", "y", "z"}));
            IndexDetailsTest.assertMessage(e, "dimension");
        }
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> runtime.field("geo", 1, 64, T));
            IndexDetailsTest.assertMessage(e, "geo", "dimension");
            assertThrows(IllegalArgumentException.class,
                    () -> runtime.field("geo", 2, 32, XY));
            try (IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
                assertEquals(0, geo.size());
            }
        }
    }

    @Test
    public void secondOpenOfALockedDirectoryFailsUntilClose() throws IOException {
        String dir = newDir();
        DurableRuntime first = DurableRuntime.open(dir);
        try {
            XTreeIoException e = assertThrows(XTreeIoException.class,
                    () -> DurableRuntime.open(dir));
            IndexDetailsTest.assertMessage(e, "locked");
            e = assertThrows(XTreeIoException.class,
                    () -> new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, dir));
            IndexDetailsTest.assertMessage(e, "locked");
        } finally {
            first.close();
        }
        try (DurableRuntime again = DurableRuntime.open(dir)) {
            assertFalse(again.isClosed());
        }
        // The single-index constructor's runtime names its one field "default".
        try (IndexDetails index = new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, dir)) {
            index.insert(1L, P);
            index.commit();
        }
        try (DurableRuntime runtime = DurableRuntime.open(dir);
                IndexDetails index = runtime.field("default", 2, 64, XY)) {
            assertArrayEquals(new String[] {"default"}, runtime.fieldNames());
            assertEquals(1, index.size());
        }
    }

    @Test
    public void badArgumentsAreRejected() throws IOException {
        assertThrows(NullPointerException.class, () -> DurableRuntime.open(null));
        assertThrows(NullPointerException.class, () -> DurableRuntime.open(newDir(), null));
        IndexDetailsTest.assertMessage(assertThrows(IllegalArgumentException.class,
                () -> DurableRuntime.open("")), "dataDir");
        try (DurableRuntime runtime = DurableRuntime.open(newDir())) {
            assertThrows(NullPointerException.class, () -> runtime.field(null, 2, 64, XY));
            assertThrows(NullPointerException.class, () -> runtime.field("f", 2, 64, null));
            assertThrows(NullPointerException.class,
                    () -> runtime.field("f", 2, 64, new String[] {"x", null}));
            assertThrows(IllegalArgumentException.class, () -> runtime.field("", 2, 64, XY));
            char[] longName = new char[1025];
            Arrays.fill(longName, 'n');
            assertThrows(IllegalArgumentException.class,
                    () -> runtime.field(new String(longName), 2, 64, XY));
            assertThrows(IllegalArgumentException.class, () -> runtime.field("f", 0, 64, XY));
            assertThrows(IllegalArgumentException.class, () -> runtime.field("f", 2, 48, XY));
            assertThrows(IllegalArgumentException.class, () -> runtime.field("f", 3, 64, XY));
            assertEquals("nothing was created", 0, runtime.fieldNames().length);
            // Field names are UTF-8 both ways.
            String name = "champ \u00e9\u4e16\ud83d\ude00";
            runtime.field(name, 2, 64, XY).close();
            assertArrayEquals(new String[] {name}, runtime.fieldNames());
        }
    }

    @Test
    public void useAfterCloseThrowsIllegalStateExceptionAndCloseIsIdempotent()
            throws IOException {
        DurableRuntime runtime = DurableRuntime.open(newDir());
        IndexDetails geo = runtime.field("geo", 2, 64, XY);
        geo.insert(1L, P);
        runtime.commit();
        runtime.close();
        assertTrue(runtime.isClosed());
        runtime.close();
        assertTrue(runtime.toString(), runtime.toString().contains("closed"));
        List<ThrowingRunnable> calls = Arrays.asList(
                runtime::commit,
                runtime::checkpoint,
                runtime::fieldNames,
                () -> runtime.field("geo", 2, 64, XY));
        for (int i = 0; i < calls.size(); i++) {
            IndexDetailsTest.assertMessage(assertThrows("runtime call " + i, IllegalStateException.class,
                    calls.get(i)), "closed");
        }
        // The field is not closed, but its runtime is: every call but close() throws.
        assertFalse(geo.isClosed());
        List<ThrowingRunnable> fieldCalls = Arrays.asList(
                geo::size,
                geo::commit,
                () -> geo.insert(2L, P),
                () -> geo.insertBatch(new long[] {2}, P),
                () -> geo.insertBatch(new long[] {2}, P, P),
                () -> geo.delete(1L, P),
                () -> geo.update(1L, P, P, P, P),
                () -> geo.search(SearchType.INTERSECTS, P, P),
                () -> geo.count(SearchType.INTERSECTS, P, P),
                () -> geo.cursor(SearchType.INTERSECTS, P, P),
                () -> geo.nearest(P, 1));
        for (int i = 0; i < fieldCalls.size(); i++) {
            IndexDetailsTest.assertMessage(assertThrows("field call " + i, IllegalStateException.class,
                    fieldCalls.get(i)), "closed");
        }
        geo.close();
        geo.close();
        assertTrue(geo.isClosed());
    }

    /** A field handle used and freed after its runtime was closed and freed: no crash. */
    @Test
    public void fieldOutlivesItsRuntime() throws IOException {
        String dir = newDir();
        IndexDetails geo;
        SearchCursor cursor;
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            geo = runtime.field("geo", 2, 64, XY);
            geo.insertBatch(new long[] {1, 2, 3}, new double[] {0, 0, 1, 1, 2, 2});
            runtime.commit();
            cursor = geo.cursor(SearchType.INTERSECTS, ALL_MIN, ALL_MAX);
        }
        assertThrows(IllegalStateException.class, () -> geo.insert(4L, P));
        // A cursor holds its own snapshot and stays readable.
        assertArrayEquals(new long[] {1, 2, 3}, IndexDetailsOracleTest.drain(cursor, 2));
        geo.close();
        // The directory was released by the runtime's close, not the field's.
        try (DurableRuntime runtime = DurableRuntime.open(dir);
                IndexDetails again = runtime.field("geo", 2, 64, XY)) {
            assertEquals(3, again.size());
        }
    }

    @Test
    public void closingAFieldLeavesTheRuntimeOpen() throws IOException {
        try (DurableRuntime runtime = DurableRuntime.open(newDir())) {
            IndexDetails geo = runtime.field("geo", 2, 64, XY);
            geo.insert(1L, P);
            geo.close();
            assertThrows(IllegalStateException.class, () -> geo.insert(2L, P));
            // The write made before the field's close is still pending in the runtime.
            runtime.commit();
            try (IndexDetails again = runtime.field("geo", 2, 64, XY)) {
                assertEquals(1, again.size());
            }
        }
    }

    @Test
    public void concurrentCloseFromManyThreads() throws Exception {
        for (int round = 0; round < 10; round++) {
            DurableRuntime runtime = DurableRuntime.open(newDir());
            IndexDetails geo = runtime.field("geo", 2, 64, XY);
            geo.insert(1L, P);
            runtime.commit();
            int threads = 4;
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                boolean closeField = t % 2 == 0;
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        if (closeField) {
                            geo.close();
                        }
                        runtime.close();
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
            assertTrue(runtime.isClosed());
            assertTrue(geo.isClosed());
        }
    }

    /**
     * Threads query, write and commit through two fields while the main thread closes the
     * runtime: every call either succeeds or throws IllegalStateException, and the JVM survives.
     */
    @Test
    public void closeWhileFieldsAreInUse() throws Exception {
        for (int round = 0; round < 5; round++) {
            DurableRuntime runtime = DurableRuntime.open(newDir(), Durability.EVENTUAL);
            IndexDetails geo = runtime.field("geo", 2, 64, XY);
            IndexDetails time = runtime.field("time", 1, 64, T);
            long[] ids = new long[2000];
            double[] coords = new double[4000];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
                coords[2 * i] = i % 50;
                coords[2 * i + 1] = i / 50;
            }
            geo.insertBatch(ids, coords);
            runtime.commit();
            AtomicInteger next = new AtomicInteger(100_000);
            List<ThrowingRunnable> work = Arrays.asList(
                    () -> geo.search(SearchType.INTERSECTS, new double[] {0, 0},
                            new double[] {30, 30}),
                    () -> geo.nearest(new double[] {25, 20}, 50),
                    () -> {
                        try (SearchCursor c = geo.cursor(SearchType.INTERSECTS,
                                new double[] {0, 0}, new double[] {50, 50})) {
                            c.nextPage(100);
                        }
                    },
                    () -> {
                        int id = next.incrementAndGet();
                        geo.insert(id, new double[] {id % 7, id % 11});
                        time.insert(id, new double[] {id});
                    },
                    runtime::commit,
                    time::commit);
            AtomicInteger succeeded = new AtomicInteger();
            AtomicInteger rejected = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch running = new CountDownLatch(work.size());
            List<Thread> threads = new ArrayList<>();
            for (ThrowingRunnable job : work) {
                Thread thread = new Thread(() -> {
                    running.countDown();
                    while (true) {
                        try {
                            job.run();
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
            Thread.sleep(30);
            runtime.close();
            for (Thread thread : threads) {
                thread.join(10_000);
                assertFalse("a worker did not stop", thread.isAlive());
            }
            if (failure.get() != null) {
                throw new AssertionError("a call failed with something else than"
                        + " IllegalStateException", failure.get());
            }
            assertEquals(work.size(), rejected.get());
            assertTrue(succeeded.get() > 0);
            geo.close();
            time.close();
        }
    }

    @Test
    public void accessorsAndToString() throws IOException {
        String dir = newDir();
        try (DurableRuntime runtime = DurableRuntime.open(dir, Durability.EVENTUAL)) {
            assertEquals(dir, runtime.dataDir());
            assertEquals(Durability.EVENTUAL, runtime.durability());
            assertTrue(runtime.toString(), runtime.toString().contains(dir));
            assertFalse(runtime.isClosed());
            try (IndexDetails geo = runtime.field("geo", 2, 32, XY)) {
                assertEquals(2, geo.dimension());
                assertEquals(32, geo.precision());
                assertArrayEquals(XY, geo.labels());
                assertTrue(geo.toString(), geo.toString().contains("DURABLE"));
            }
        }
    }

    /**
     * Regression (issue 7, item 14): field names with unpaired surrogates were decoded lossily,
     * so {@code "\uD800"} and {@code "\uDC00"} named the same field. They are rejected now.
     */
    @Test
    public void malformedFieldNamesAreRejected() throws IOException {
        try (DurableRuntime runtime = DurableRuntime.open(newDir())) {
            for (String name : new String[] {"\uD800", "f\uDC00", "\uDC00\uD800"}) {
                IllegalArgumentException e = assertThrows(name, IllegalArgumentException.class,
                        () -> runtime.field(name, 2, 64, XY));
                IndexDetailsTest.assertMessage(e, "name", "surrogate");
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> runtime.field("f", 2, 64, new String[] {"x", "x"}));
            IndexDetailsTest.assertMessage(e, "labels[1]");
            assertArrayEquals(new String[0], runtime.fieldNames());
            try (IndexDetails f = runtime.field("\uD83D\uDE00", 2, 64, XY)) {
                assertEquals(2, f.dimension());
                assertArrayEquals(new String[] {"\uD83D\uDE00"}, runtime.fieldNames());
            }
        }
    }

    /**
     * Regression (issue 7, item 14): {@link DurableRuntime#open} turned a NUL in the path into
     * an {@link XTreeIoException} and decoded unpaired surrogates lossily; a regular file failed
     * with a bare operating-system message.
     */
    @Test
    public void malformedOrFileDataDirIsRejected() throws IOException {
        String base = newDir();
        for (String dir : new String[] {base + "/a\u0000", base + "/\uD800"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DurableRuntime.open(dir));
            IndexDetailsTest.assertMessage(e, "dataDir");
        }
        assertArrayEquals(new String[0], new java.io.File(base).list());
        String file = tmp.newFile().getPath();
        XTreeIoException e = assertThrows(XTreeIoException.class,
                () -> DurableRuntime.open(file));
        IndexDetailsTest.assertMessage(e, file, "is a regular file, not a directory");
    }

    @Test
    public void compactGivesFreeSpaceBackAndKeepsEveryAnswer() throws IOException {
        String dir = newDir();
        int n = 20_000;
        long[] ids = new long[n];
        double[] coords = new double[2 * n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
            coords[2 * i] = i % 1000;
            coords[2 * i + 1] = i / 1000;
        }
        long[] live;
        try (DurableRuntime runtime = DurableRuntime.open(dir);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            geo.insertBatch(ids, coords);
            runtime.commit();
            runtime.checkpoint();
            List<Long> kept = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                double[] p = {coords[2 * i], coords[2 * i + 1]};
                if (i % 10 < 8) {
                    assertTrue(geo.delete(i, p));
                } else {
                    kept.add((long) i);
                }
            }
            runtime.commit();
            // Checkpointed now, so that compact()'s own checkpoint (a no-op) does not grow
            // the files between the two stats below.
            runtime.checkpoint();
            live = kept.stream().mapToLong(Long::longValue).toArray();
            // A cursor opened before the compaction goes on across it.
            try (SearchCursor cursor = geo.cursor(SearchType.INTERSECTS, ALL_MIN, ALL_MAX)) {
                long[] first = cursor.nextPage(100);
                Stats before = runtime.stats();
                long cut = runtime.compact();
                Stats after = runtime.stats();
                assertTrue("cut " + cut + " of " + before, cut > 0);
                assertEquals(before.segmentBytes() - cut, after.segmentBytes());
                assertEquals(after.segmentLiveBytes(), after.segmentBytes());
                assertEquals(1, after.compactions());
                assertTrue(after.toString(), after.toString().contains("compactions=1"));
                List<Long> seen = new ArrayList<>();
                for (long id : first) {
                    seen.add(id);
                }
                for (long[] page = cursor.nextPage(1000); page.length > 0;
                        page = cursor.nextPage(1000)) {
                    for (long id : page) {
                        seen.add(id);
                    }
                }
                long[] all = IndexDetailsTest.sorted(
                        seen.stream().mapToLong(Long::longValue).toArray());
                assertArrayEquals(live, all);
            }
            assertArrayEquals(live, all(geo));
            assertEquals("nothing left to move", 0, runtime.compact());
        }
        DurableRuntime readOnly = DurableRuntime.openReadOnly(dir);
        try (IndexDetails geo = readOnly.field("geo")) {
            assertArrayEquals(live, all(geo));
            assertThrows(IllegalStateException.class, readOnly::compact);
        } finally {
            readOnly.close();
        }
        assertThrows(IllegalStateException.class, readOnly::compact);
    }

    @Test
    public void aMemoryBudgetKeepsAnIndexTenTimesLargerWithinIt() throws Exception {
        String dir = newDir();
        long budget = 1 << 20;
        long slack = 1 << 20;
        assertThrows(IllegalArgumentException.class,
                () -> DurableRuntime.open(dir, Durability.BALANCED, -1));
        assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails.Options().memoryBudget(-1));
        java.util.Random rnd = new java.util.Random(41);
        List<double[]> points = new ArrayList<>();
        try (DurableRuntime runtime = DurableRuntime.open(dir, Durability.BALANCED, budget);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            long row = 0;
            while (runtime.stats().segmentLiveBytes() < 10 * budget) {
                long[] ids = new long[5000];
                double[] coords = new double[2 * ids.length];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = row++;
                    coords[2 * i] = rnd.nextDouble() * 1000;
                    coords[2 * i + 1] = rnd.nextDouble() * 1000;
                    points.add(new double[] {coords[2 * i], coords[2 * i + 1]});
                }
                geo.insertBatch(ids, coords);
                runtime.commit();
                settle(runtime, budget + slack);
            }
            assertTrue(runtime.stats().checkpoints() >= 3);
            // Exact answers with pages read back from the files.
            for (int q = 0; q < 30; q++) {
                double x = rnd.nextDouble() * 1000;
                double y = rnd.nextDouble() * 1000;
                double[] min = {x, y};
                double[] max = {x + 30, y + 30};
                List<Long> want = new ArrayList<>();
                for (int i = 0; i < points.size(); i++) {
                    double[] p = points.get(i);
                    if (p[0] >= min[0] && p[0] <= max[0] && p[1] >= min[1] && p[1] <= max[1]) {
                        want.add((long) i);
                    }
                }
                assertArrayEquals(want.stream().mapToLong(Long::longValue).toArray(),
                        IndexDetailsTest.sorted(geo.search(SearchType.INTERSECTS, min, max)));
            }
            settle(runtime, budget + slack);
        }
        IndexDetails.Options options = new IndexDetails.Options().memoryBudget(budget);
        assertEquals(budget, options.memoryBudget());
        try (IndexDetails geo = new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, newDir(),
                options)) {
            long[] ids = new long[points.size()];
            double[] coords = new double[2 * ids.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i;
                coords[2 * i] = points.get(i)[0];
                coords[2 * i + 1] = points.get(i)[1];
            }
            geo.insertBatch(ids, coords);
            geo.commit();
            assertEquals(points.size(), all(geo).length);
            long deadline = System.nanoTime() + 20_000_000_000L;
            Stats s = geo.stats();
            while (s.heapBytes() + s.loadedPageBytes() > budget + slack) {
                assertTrue("over the budget: " + s, System.nanoTime() < deadline);
                Thread.sleep(5);
                s = geo.stats();
            }
        }
    }

    /** Waits until the pages in memory are within {@code limit} bytes. */
    private static void settle(DurableRuntime runtime, long limit) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            Stats s = runtime.stats();
            if (s.heapBytes() + s.loadedPageBytes() <= limit) {
                return;
            }
            assertTrue("over the budget: " + s, System.nanoTime() < deadline);
            Thread.sleep(5);
        }
    }
}
