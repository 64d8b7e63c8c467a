package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Test;

/**
 * Every query kind of {@link IndexDetails} against {@link Oracle} (a brute-force scan over the
 * stored coordinates) on seeded random points and boxes, dimensions 1, 2, 3 and 8, precision 32
 * and 64, after inserts, then deletes, then updates. Failure messages carry the seed.
 */
public class IndexDetailsOracleTest {
    private static final int[] DIMENSIONS = {1, 2, 3, 8};
    private static final int[] PRECISIONS = {32, 64};

    private enum Shape { POINTS, BOXES, MIXED }

    @Test
    public void pointsMatchBruteForce() {
        runAll(Shape.POINTS);
    }

    @Test
    public void boxesMatchBruteForce() {
        runAll(Shape.BOXES);
    }

    @Test
    public void mixedPointsAndBoxesMatchBruteForce() {
        runAll(Shape.MIXED);
    }

    /** Base of every seed; set -Dxtree.test.seed=N to explore other data. */
    private static final long SEED = Long.getLong("xtree.test.seed", 0L);

    private static void runAll(Shape shape) {
        for (int dimension : DIMENSIONS) {
            for (int precision : PRECISIONS) {
                long seed = SEED * 1_000_003L + 1000L * dimension + precision
                        + 7L * shape.ordinal();
                new Scenario(seed, dimension, precision, shape).run();
            }
        }
    }

    /** One seeded random run: build, query, delete, query, update, query. */
    private static final class Scenario {
        final long seed;
        final int dim;
        final int precision;
        final Shape shape;
        final Random rnd;
        final Oracle oracle;
        /** Input (not rounded) coordinates of each live record by position, for delete/update. */
        final List<double[][]> inputs = new ArrayList<>();
        final List<Long> ids = new ArrayList<>();

        Scenario(long seed, int dim, int precision, Shape shape) {
            this.seed = seed;
            this.dim = dim;
            this.precision = precision;
            this.shape = shape;
            this.rnd = new Random(seed);
            this.oracle = new Oracle(dim, precision);
        }

        String ctx(String what) {
            return "seed=" + seed + " dim=" + dim + " precision=" + precision + " shape=" + shape
                    + ": " + what;
        }

        /** A coordinate in [0, 100): some on a coarse grid (exact ties), most with full bits. */
        double coord() {
            return rnd.nextInt(4) == 0 ? rnd.nextInt(20) * 5.0 : rnd.nextDouble() * 100;
        }

        double[][] randomRecord() {
            boolean point = shape == Shape.POINTS || (shape == Shape.MIXED && rnd.nextBoolean());
            double[] min = new double[dim];
            double[] max = new double[dim];
            for (int d = 0; d < dim; d++) {
                min[d] = coord();
                double extent = rnd.nextDouble() * (rnd.nextInt(5) == 0 ? 40 : 8);
                max[d] = point ? min[d] : min[d] + extent;
            }
            return new double[][] {min, max};
        }

        double[][] randomQuery() {
            double[] min = new double[dim];
            double[] max = new double[dim];
            int kind = rnd.nextInt(10);
            for (int d = 0; d < dim; d++) {
                double a = coord();
                double w = rnd.nextDouble() * (dim >= 8 ? 90 : 40);
                if (kind == 0) { // a point query
                    min[d] = a;
                    max[d] = a;
                } else if (kind == 1 && d == 0) { // open ranges on the first axis
                    min[d] = Double.NEGATIVE_INFINITY;
                    max[d] = rnd.nextBoolean() ? Double.POSITIVE_INFINITY : a;
                } else {
                    min[d] = a - w / 2;
                    max[d] = a + w / 2;
                }
            }
            return new double[][] {min, max};
        }

        void run() {
            int n = dim >= 8 ? 1200 : 1500;
            try (IndexDetails index = new IndexDetails(dim, precision, labels(dim),
                    PersistenceMode.IN_MEMORY, null)) {
                insertAll(index, n);
                checkQueries(index, "after inserts");
                deleteSome(index);
                checkQueries(index, "after deletes");
                updateSome(index);
                checkQueries(index, "after updates");
            }
        }

        void insertAll(IndexDetails index, int n) {
            // The first half in one batch (bulk-load path), the rest one by one.
            int batch = n / 2;
            long[] batchIds = new long[batch];
            double[] mins = new double[batch * dim];
            double[] maxs = new double[batch * dim];
            boolean allPoints = true;
            for (int i = 0; i < batch; i++) {
                double[][] r = randomRecord();
                long id = rowId(i);
                batchIds[i] = id;
                System.arraycopy(r[0], 0, mins, i * dim, dim);
                System.arraycopy(r[1], 0, maxs, i * dim, dim);
                allPoints &= Oracle.sameCoords(r[0], r[1]);
                remember(id, r);
            }
            if (allPoints) {
                index.insertBatch(batchIds, mins);
            } else {
                index.insertBatch(batchIds, mins, maxs);
            }
            for (int i = batch; i < n; i++) {
                double[][] r = randomRecord();
                long id = rowId(i);
                if (Oracle.sameCoords(r[0], r[1]) && rnd.nextBoolean()) {
                    index.insert(id, r[0]);
                } else {
                    index.insert(id, r[0], r[1]);
                }
                remember(id, r);
            }
            assertEquals(ctx("size"), oracle.records.size(), index.size());
        }

        /** Unique row ids, spread over the unsigned range (some negative as Java longs). */
        long rowId(int i) {
            return i % 3 == 0 ? -1L - i : (long) i * 7919L;
        }

        void remember(long id, double[][] r) {
            oracle.insert(id, r[0], r[1]);
            ids.add(id);
            inputs.add(r);
        }

        void deleteSome(IndexDetails index) {
            for (int i = inputs.size() - 1; i >= 0; i--) {
                if (rnd.nextInt(10) < 3) {
                    double[][] r = inputs.get(i);
                    long id = ids.get(i);
                    boolean deleted = Oracle.sameCoords(r[0], r[1]) && rnd.nextBoolean()
                            ? index.delete(id, r[0])
                            : index.delete(id, r[0], r[1]);
                    assertEquals(ctx("delete " + id), oracle.delete(id, r[0], r[1]), deleted);
                    assertEquals(ctx("delete " + id + " returned"), true, deleted);
                    inputs.remove(i);
                    ids.remove(i);
                }
            }
            // Absent records: unknown row id, and a known row id at another place.
            double[][] r = randomRecord();
            assertEquals(ctx("delete absent"), false, index.delete(123456789L, r[0], r[1]));
            if (!ids.isEmpty()) {
                assertEquals(ctx("delete moved"), oracle.delete(ids.get(0), r[0], r[1]),
                        index.delete(ids.get(0), r[0], r[1]));
            }
            assertEquals(ctx("size after deletes"), oracle.records.size(), index.size());
        }

        void updateSome(IndexDetails index) {
            for (int i = 0; i < inputs.size(); i++) {
                if (rnd.nextInt(10) < 2) {
                    double[][] old = inputs.get(i);
                    double[][] now = randomRecord();
                    long id = ids.get(i);
                    boolean updated = index.update(id, old[0], old[1], now[0], now[1]);
                    assertEquals(ctx("update " + id),
                            oracle.update(id, old[0], old[1], now[0], now[1]), updated);
                    inputs.set(i, now);
                }
            }
            double[][] r = randomRecord();
            assertEquals(ctx("update absent"), false,
                    index.update(987654321L, r[0], r[1], r[0], r[1]));
            assertEquals(ctx("size after updates"), oracle.records.size(), index.size());
        }

        void checkQueries(IndexDetails index, String phase) {
            for (int q = 0; q < 40; q++) {
                double[][] box = randomQuery();
                for (SearchType type : SearchType.values()) {
                    String what = ctx(phase + ", query " + q + " " + type + " "
                            + Arrays.toString(box[0]) + ".." + Arrays.toString(box[1]));
                    long[] want = oracle.search(type, box[0], box[1]);
                    long[] got = index.search(type, box[0], box[1]);
                    Arrays.sort(got);
                    assertArrayEquals(what + " search", want, got);
                    assertEquals(what + " count", want.length,
                            index.count(type, box[0], box[1]));
                    if (q % 4 == 0) {
                        assertArrayEquals(what + " cursor", want,
                                drain(index.cursor(type, box[0], box[1]), 1 + rnd.nextInt(50)));
                    }
                }
            }
            for (int q = 0; q < 25; q++) {
                double[] p = new double[dim];
                for (int d = 0; d < dim; d++) {
                    p[d] = rnd.nextInt(8) == 0 ? -20 + rnd.nextDouble() * 140 : coord();
                }
                int[] ks = {0, 1, 2, 5, 17, 100, oracle.records.size() + 3};
                int k = ks[rnd.nextInt(ks.length)];
                oracle.checkNearest(ctx(phase + ", nearest " + q + " k=" + k + " p="
                        + Arrays.toString(p)), p, k, index.nearest(p, k));
            }
        }
    }

    /** Reads a whole cursor in pages of {@code page} rows; returns the row ids sorted. */
    static long[] drain(SearchCursor cursor, int page) {
        try (SearchCursor c = cursor) {
            List<long[]> pages = new ArrayList<>();
            int total = 0;
            for (long[] p = c.nextPage(page); p.length > 0; p = c.nextPage(page)) {
                if (p.length > page) {
                    throw new AssertionError("page of " + p.length + " rows > " + page);
                }
                pages.add(p);
                total += p.length;
            }
            long[] all = new long[total];
            int at = 0;
            for (long[] p : pages) {
                System.arraycopy(p, 0, all, at, p.length);
                at += p.length;
            }
            Arrays.sort(all);
            return all;
        }
    }

    static String[] labels(int dim) {
        String[] labels = new String[dim];
        for (int d = 0; d < dim; d++) {
            labels[d] = "x" + d;
        }
        return labels;
    }
}
