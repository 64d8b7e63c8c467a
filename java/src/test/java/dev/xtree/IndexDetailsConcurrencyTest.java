package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.Test;

/**
 * Readers query while one writer inserts. The position of every point is a function of its
 * row id, so a reader can check each answer on its own: every row id returned must match the
 * query, counts and sizes never decrease while only inserts happen, and kNN answers are ordered
 * by distance.
 */
public class IndexDetailsConcurrencyTest {
    private static final int N = 60_000;
    private static final int READERS = 3;

    /** The point of row id {@code id}: a deterministic scramble into [0, 1000)². */
    static double[] pointOf(long id) {
        long h = id * 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return new double[] {(h & 0xFFFFF) / 1048.576, ((h >>> 20) & 0xFFFFF) / 1048.576};
    }

    @Test
    public void readersSeeConsistentAnswersWhileAWriterInserts() throws Exception {
        try (IndexDetails index = new IndexDetails(2, 64, new String[] {"x", "y"},
                PersistenceMode.IN_MEMORY, null)) {
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            int[] queries = new int[READERS];
            for (int r = 0; r < READERS; r++) {
                int reader = r;
                Thread thread = new Thread(() -> {
                    try {
                        queries[reader] = read(index, writing, new Random(reader));
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "reader-" + r);
                threads.add(thread);
                thread.start();
            }
            try {
                write(index);
            } finally {
                writing.set(false);
            }
            for (Thread thread : threads) {
                thread.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("a reader saw an inconsistent answer", failure.get());
            }
            assertEquals(N, index.size());
            for (int q : queries) {
                assertTrue("a reader ran only " + q + " queries", q > 10);
            }
        }
    }

    /** Inserts row ids 0..N-1: batches of 500 alternating with single inserts. */
    private static void write(IndexDetails index) {
        long id = 0;
        while (id < N) {
            if ((id / 500) % 2 == 0) {
                int n = 500;
                long[] ids = new long[n];
                double[] coords = new double[2 * n];
                for (int i = 0; i < n; i++) {
                    ids[i] = id + i;
                    double[] p = pointOf(id + i);
                    coords[2 * i] = p[0];
                    coords[2 * i + 1] = p[1];
                }
                index.insertBatch(ids, coords);
                id += n;
            } else {
                index.insert(id, pointOf(id));
                id++;
            }
        }
    }

    private static boolean inside(double[] p, double[] min, double[] max) {
        return p[0] >= min[0] && p[0] <= max[0] && p[1] >= min[1] && p[1] <= max[1];
    }

    private static double dist(double[] a, double[] b) {
        return Math.hypot(a[0] - b[0], a[1] - b[1]);
    }

    private static int read(IndexDetails index, AtomicBoolean writing, Random rnd) {
        double[] fixedMin = {100, 100};
        double[] fixedMax = {600, 400};
        long lastCount = 0;
        long lastSize = 0;
        int queries = 0;
        // Keep reading a little after the writer stops, so the final state is read too.
        boolean last = false;
        while (!last) {
            last = !writing.get();
            long size = index.size();
            assertTrue("size went from " + lastSize + " to " + size, size >= lastSize);
            lastSize = size;

            long count = index.count(SearchType.WITHIN, fixedMin, fixedMax);
            assertTrue("count went from " + lastCount + " to " + count, count >= lastCount);
            lastCount = count;

            double x = rnd.nextDouble() * 950;
            double y = rnd.nextDouble() * 950;
            double[] min = {x, y};
            double[] max = {x + 50, y + 50};
            long[] hits = index.search(SearchType.INTERSECTS, min, max);
            for (long id : hits) {
                assertTrue("row id " + id + " out of range", id >= 0 && id < N);
                assertTrue("row id " + id + " does not match", inside(pointOf(id), min, max));
            }
            long later = index.count(SearchType.INTERSECTS, min, max);
            assertTrue("count " + later + " < earlier search " + hits.length,
                    later >= hits.length);

            try (SearchCursor cursor = index.cursor(SearchType.WITHIN, min, max)) {
                for (long[] p = cursor.nextPage(16); p.length > 0; p = cursor.nextPage(16)) {
                    for (long id : p) {
                        assertTrue("cursor row id " + id + " does not match",
                                inside(pointOf(id), min, max));
                    }
                }
            }

            double[] q = {x, y};
            long[] near = index.nearest(q, 10);
            assertTrue(near.length <= 10);
            for (int i = 1; i < near.length; i++) {
                assertTrue("kNN not ordered by distance",
                        dist(q, pointOf(near[i - 1])) <= dist(q, pointOf(near[i])));
            }
            queries++;
        }
        assertEquals(N, lastSize);
        return queries;
    }
}
