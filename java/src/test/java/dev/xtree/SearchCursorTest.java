package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Assume;
import org.junit.Test;

/** Paging, snapshot isolation and lifecycle of {@link SearchCursor}. */
public class SearchCursorTest {
    private static final double[] ALL_MIN = {-1, -1};
    private static final double[] ALL_MAX = {1000, 1000};

    /** An index of {@code n} points (i % 100, i / 100) with row id i. */
    private static IndexDetails grid(int n) {
        IndexDetails index = new IndexDetails(2, 64, new String[] {"x", "y"},
                PersistenceMode.IN_MEMORY, null);
        long[] ids = new long[n];
        double[] coords = new double[2 * n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
            coords[2 * i] = i % 100;
            coords[2 * i + 1] = i / 100;
        }
        index.insertBatch(ids, coords);
        return index;
    }

    private static long[] range(int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        return ids;
    }

    @Test
    public void pagesCoverTheAnswerExactlyOnce() {
        try (IndexDetails index = grid(5000)) {
            for (int page : new int[] {1, 7, 100, 4999, 5000, 100000}) {
                assertArrayEquals("page " + page, range(5000), IndexDetailsOracleTest.drain(
                        index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX), page));
            }
        }
    }

    @Test
    public void exhaustedCursorKeepsReturningEmptyPages() {
        try (IndexDetails index = grid(10);
                SearchCursor cursor = index.cursor(SearchType.INTERSECTS, ALL_MIN, ALL_MAX)) {
            assertEquals(10, cursor.nextPage(100).length);
            assertEquals(0, cursor.nextPage(100).length);
            assertEquals(0, cursor.nextPage(1).length);
        }
    }

    @Test
    public void emptyAnswer() {
        try (IndexDetails index = grid(10);
                SearchCursor cursor = index.cursor(SearchType.CONTAINS, ALL_MIN, ALL_MAX)) {
            assertEquals(0, cursor.nextPage(10).length);
        }
    }

    @Test
    public void cursorSeesTheSnapshotOfItsCreation() {
        try (IndexDetails index = grid(1000);
                SearchCursor cursor = index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX)) {
            long[] first = cursor.nextPage(10);
            for (int i = 1000; i < 2000; i++) {
                index.insert(i, new double[] {i % 100, i / 100});
            }
            assertTrue(index.delete(999L, new double[] {99, 9}));
            List<Long> rest = new ArrayList<>();
            for (long id : first) {
                rest.add(id);
            }
            for (long[] p = cursor.nextPage(64); p.length > 0; p = cursor.nextPage(64)) {
                for (long id : p) {
                    rest.add(id);
                }
            }
            long[] got = rest.stream().mapToLong(Long::longValue).sorted().toArray();
            assertArrayEquals(range(1000), got);
        }
    }

    @Test
    public void cursorOutlivesItsIndex() {
        SearchCursor cursor;
        try (IndexDetails index = grid(300)) {
            cursor = index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX);
        }
        assertArrayEquals(range(300), IndexDetailsOracleTest.drain(cursor, 50));
    }

    @Test
    public void badPageSizeIsRejected() {
        try (IndexDetails index = grid(10);
                SearchCursor cursor = index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX)) {
            assertThrows(IllegalArgumentException.class, () -> cursor.nextPage(0));
            assertThrows(IllegalArgumentException.class, () -> cursor.nextPage(-5));
            assertEquals(10, cursor.nextPage(Integer.MAX_VALUE).length);
        }
    }

    /**
     * Issue 7, item 8: a page is capped at {@link SearchCursor#MAX_PAGE_ROWS} (before, {@code
     * nextPage(Integer.MAX_VALUE)} materialised the whole answer in one array), and the pages
     * after a capped one still cover the answer once.
     */
    @Test
    public void hugePageRequestReturnsAtMostTheMaximum() {
        int n = SearchCursor.MAX_PAGE_ROWS + 5;
        try (IndexDetails index = new IndexDetails(1, 64, new String[] {"x"},
                PersistenceMode.IN_MEMORY, null)) {
            double[] coords = new double[n];
            for (int i = 0; i < n; i++) {
                coords[i] = i;
            }
            index.insertBatch(range(n), coords);
            try (SearchCursor cursor = index.cursor(SearchType.WITHIN,
                    new double[] {Double.NEGATIVE_INFINITY},
                    new double[] {Double.POSITIVE_INFINITY})) {
                BitSet seen = new BitSet(n);
                long[] first = cursor.nextPage(Integer.MAX_VALUE);
                assertEquals(SearchCursor.MAX_PAGE_ROWS, first.length);
                long[] second = cursor.nextPage(SearchCursor.MAX_PAGE_ROWS + 1);
                assertEquals(5, second.length);
                assertEquals(0, cursor.nextPage(Integer.MAX_VALUE).length);
                for (long[] page : new long[][] {first, second}) {
                    for (long id : page) {
                        assertTrue("row id " + id + " twice", !seen.get((int) id));
                        seen.set((int) id);
                    }
                }
                assertEquals(n, seen.cardinality());
            }
        }
    }

    @Test
    public void closeIsIdempotentAndUseAfterCloseThrows() {
        try (IndexDetails index = grid(10)) {
            SearchCursor cursor = index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX);
            cursor.close();
            cursor.close();
            assertTrue(cursor.isClosed());
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> cursor.nextPage(1));
            assertTrue(e.getMessage().contains("closed"));
        }
    }

    /** Threads sharing a cursor receive disjoint pages whose union is the answer. */
    @Test
    public void concurrentPagingHandsOutEachRowOnce() throws Exception {
        int n = 20000;
        try (IndexDetails index = grid(n);
                SearchCursor cursor = index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX)) {
            int threads = 4;
            List<List<Long>> seen = new ArrayList<>();
            List<Thread> all = new ArrayList<>();
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int t = 0; t < threads; t++) {
                List<Long> mine = new ArrayList<>();
                seen.add(mine);
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        for (long[] p = cursor.nextPage(37); p.length > 0;
                                p = cursor.nextPage(37)) {
                            for (long id : p) {
                                mine.add(id);
                            }
                        }
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
            long[] got = seen.stream().flatMap(List::stream).mapToLong(Long::longValue).toArray();
            Arrays.sort(got);
            assertArrayEquals(range(n), got);
        }
    }

    /** Closing a cursor while other threads page through it never crashes. */
    @Test
    public void closeWhileOtherThreadsPage() throws Exception {
        try (IndexDetails index = grid(20000)) {
            for (int round = 0; round < 10; round++) {
                SearchCursor cursor = index.cursor(SearchType.WITHIN, ALL_MIN, ALL_MAX);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                List<Thread> all = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    Thread thread = new Thread(() -> {
                        try {
                            while (cursor.nextPage(1).length > 0) {
                                Thread.yield();
                            }
                        } catch (IllegalStateException closed) {
                            // expected once closed
                        } catch (Throwable e) {
                            failure.compareAndSet(null, e);
                        }
                    });
                    thread.start();
                    all.add(thread);
                }
                Thread.sleep(5);
                cursor.close();
                for (Thread thread : all) {
                    thread.join();
                }
                if (failure.get() != null) {
                    throw new AssertionError(failure.get());
                }
            }
        }
    }

    /**
     * Regression (issue 7, item 8): a page whose Java array cannot be allocated was lost. The
     * native cursor advanced before {@code NewLongArray} ran, so after the {@link
     * OutOfMemoryError} of {@code nextPage(Integer.MAX_VALUE)} every later page was empty and the
     * whole rest of the answer was skipped. A child JVM with a small heap fills it, asks for a
     * huge page, then frees the heap and checks that every row id still comes exactly once.
     */
    @Test
    public void pageThatCannotReachJavaIsDeliveredLater() throws Exception {
        Assume.assumeNotNull(System.getProperty(NativeLibrary.LIBRARY_PATH_PROPERTY));
        List<String> options = new ArrayList<>(ChildJvm.libraryPathOption());
        options.add("-Xmx64m");
        options.add("-XX:+UseSerialGC");
        ChildJvm.Result r = ChildJvm.run(OutOfMemoryProbe.class, null, null, options, "300000");
        assertEquals(r.output, 0, r.exit);
        assertTrue(r.output, r.output.contains("OutOfMemoryError while reading a page"));
        assertTrue(r.output, r.output.contains("every row id delivered exactly once: 300000"));
    }

    /** The child JVM of {@link #pageThatCannotReachJavaIsDeliveredLater()}. */
    public static final class OutOfMemoryProbe {
        /** Static, so that no liveness analysis of the JIT lets the GC free it early. */
        private static Object[] ballast;

        private OutOfMemoryProbe() {}

        /**
         * Exit status 0: the answer came whole after an {@link OutOfMemoryError}; 1: rows were
         * lost or repeated; 2: the page did not fail (the heap was not full enough).
         *
         * @param args the number of points
         */
        public static void main(String[] args) {
            int n = Integer.parseInt(args[0]);
            BitSet seen = new BitSet(n);
            int[] repeated = {0};
            boolean failed = false;
            try (IndexDetails index = new IndexDetails(1, 64, new String[] {"x"},
                    PersistenceMode.IN_MEMORY, null)) {
                long[] ids = range(n);
                double[] coords = new double[n];
                for (int i = 0; i < n; i++) {
                    coords[i] = i;
                }
                index.insertBatch(ids, coords);
                ids = null;
                coords = null;
                try (SearchCursor cursor = index.cursor(SearchType.WITHIN,
                        new double[] {Double.NEGATIVE_INFINITY},
                        new double[] {Double.POSITIVE_INFINITY})) {
                    record(cursor.nextPage(1000), seen, repeated);
                    // Fill the heap with ever smaller arrays until not even 16 bytes are left.
                    ballast = new Object[1 << 16];
                    int used = 0;
                    for (int size = 1 << 20; size >= 16 && used < ballast.length; size /= 2) {
                        try {
                            while (used < ballast.length) {
                                ballast[used] = new byte[size];
                                used++;
                            }
                        } catch (OutOfMemoryError full) {
                            // next, smaller size
                        }
                    }
                    try {
                        long[] page = cursor.nextPage(Integer.MAX_VALUE);
                        ballast = null;
                        System.gc();
                        record(page, seen, repeated);
                    } catch (OutOfMemoryError expected) {
                        failed = true;
                    }
                    ballast = null;
                    System.gc();
                    for (long[] page = cursor.nextPage(777); page.length > 0;
                            page = cursor.nextPage(Integer.MAX_VALUE)) {
                        record(page, seen, repeated);
                    }
                }
            }
            if (!failed) {
                System.out.println("the page did not fail: the heap was not full");
                System.exit(2);
            }
            System.out.println("OutOfMemoryError while reading a page");
            if (seen.cardinality() != n || repeated[0] != 0) {
                System.out.println("lost " + (n - seen.cardinality()) + " row ids, "
                        + repeated[0] + " delivered twice");
                System.exit(1);
            }
            System.out.println("every row id delivered exactly once: " + n);
        }

        private static void record(long[] page, BitSet seen, int[] repeated) {
            for (long id : page) {
                if (seen.get((int) id)) {
                    repeated[0]++;
                }
                seen.set((int) id);
            }
        }
    }
}
