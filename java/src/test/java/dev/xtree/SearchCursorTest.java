package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
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
}
