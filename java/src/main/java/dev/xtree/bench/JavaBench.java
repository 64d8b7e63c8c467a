package dev.xtree.bench;

import dev.xtree.IndexDetails;
import dev.xtree.PersistenceMode;
import dev.xtree.SearchType;
import java.util.Arrays;
import java.util.Locale;

/**
 * Workload W1 of BENCHMARKS.md through the Java API ({@code ./gradlew javaBench}): N uniform
 * points from SplitMix64 (seed 42), bulk-inserted with one {@link IndexDetails#insertBatch}
 * call, then Q window queries of 10 x 10 units with {@link IndexDetails#search}. Reports the
 * median of several rounds after a warm-up, and the total hits, which must equal the ground
 * truth (998,246 for N = 1,000,000 and Q = 10,000).
 *
 * <p>Arguments (all optional): {@code N Q precision}, default {@code 1000000 10000 64}.
 */
public final class JavaBench {
    /** Ground truth of W1 for N = 1,000,000 and Q = 10,000. */
    public static final long W1_HITS = 998_246L;

    private static final int INSERT_ROUNDS = 5;
    private static final int QUERY_WARMUP_ROUNDS = 2;
    private static final int QUERY_ROUNDS = 5;

    private JavaBench() {}

    /** The SplitMix64 generator of BENCHMARKS.md. */
    public static final class SplitMix64 {
        private long state;

        /**
         * A generator with the given initial state.
         *
         * @param seed the initial state (W1 uses 42)
         */
        public SplitMix64(long seed) {
            this.state = seed;
        }

        /**
         * The next 64-bit output.
         *
         * @return the next value
         */
        public long nextLong() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        /**
         * The next uniform double in [0, 1): the top 53 bits times 2^-53.
         *
         * @return a value in [0, 1)
         */
        public double nextDouble() {
            return (nextLong() >>> 11) * 0x1.0p-53;
        }
    }

    /** The data and queries of W1, as the arrays the Java API takes. */
    public static final class Workload {
        /** Row ids 0..n-1. */
        public final long[] rowIds;
        /** Points, row-major (x, y), each coordinate rounded to the nearest float. */
        public final double[] coords;
        /** Query lower corners, row-major (qx, qy). */
        public final double[] queryMins;
        /** Query upper corners, row-major (f32(qx + 10), f32(qy + 10)). */
        public final double[] queryMaxs;

        /**
         * Draws n points, then q queries, from one SplitMix64 stream seeded with 42.
         *
         * @param n number of points
         * @param q number of queries
         */
        public Workload(int n, int q) {
            SplitMix64 rng = new SplitMix64(42);
            rowIds = new long[n];
            coords = new double[2 * n];
            for (int i = 0; i < n; i++) {
                rowIds[i] = i;
                coords[2 * i] = (float) (rng.nextDouble() * 1000);
                coords[2 * i + 1] = (float) (rng.nextDouble() * 1000);
            }
            queryMins = new double[2 * q];
            queryMaxs = new double[2 * q];
            for (int i = 0; i < q; i++) {
                float qx = (float) (rng.nextDouble() * 990);
                float qy = (float) (rng.nextDouble() * 990);
                queryMins[2 * i] = qx;
                queryMins[2 * i + 1] = qy;
                queryMaxs[2 * i] = (float) (qx + 10.0);
                queryMaxs[2 * i + 1] = (float) (qy + 10.0);
            }
        }

        /**
         * The number of queries.
         *
         * @return Q
         */
        public int queries() {
            return queryMins.length / 2;
        }
    }

    /**
     * Builds a fresh index holding the workload's points.
     *
     * @param w the workload
     * @param precision 32 or 64
     * @return an open index; the caller closes it
     */
    public static IndexDetails build(Workload w, int precision) {
        IndexDetails index = new IndexDetails(2, precision, new String[] {"x", "y"},
                PersistenceMode.IN_MEMORY, null);
        index.insertBatch(w.rowIds, w.coords);
        return index;
    }

    /**
     * Runs every query of the workload once.
     *
     * @param index an index holding the workload's points
     * @param w the workload
     * @return the total number of hits
     */
    public static long runQueries(IndexDetails index, Workload w) {
        double[] min = new double[2];
        double[] max = new double[2];
        long hits = 0;
        for (int i = 0; i < w.queries(); i++) {
            min[0] = w.queryMins[2 * i];
            min[1] = w.queryMins[2 * i + 1];
            max[0] = w.queryMaxs[2 * i];
            max[1] = w.queryMaxs[2 * i + 1];
            hits += index.search(SearchType.INTERSECTS, min, max).length;
        }
        return hits;
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    /**
     * Runs the benchmark and prints the figures.
     *
     * @param args optional {@code N Q precision}
     */
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int q = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int precision = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        Workload w = new Workload(n, q);
        System.out.printf(Locale.ROOT, "W1 via Java: N=%,d points, Q=%,d queries, precision %d,"
                + " first point (%.6f, %.6f)%n", n, q, precision, w.coords[0], w.coords[1]);

        double[] insertSeconds = new double[INSERT_ROUNDS];
        for (int r = 0; r < INSERT_ROUNDS; r++) {
            try (IndexDetails index = new IndexDetails(2, precision, new String[] {"x", "y"},
                    PersistenceMode.IN_MEMORY, null)) {
                long t = System.nanoTime();
                index.insertBatch(w.rowIds, w.coords);
                insertSeconds[r] = (System.nanoTime() - t) / 1e9;
            }
        }
        double insert = median(insertSeconds);
        System.out.printf(Locale.ROOT, "insertBatch: median %.1f ms of %d rounds = %,.0f points/s"
                + " (one JNI call per round)%n", insert * 1e3, INSERT_ROUNDS, n / insert);

        try (IndexDetails index = build(w, precision)) {
            long hits = 0;
            for (int r = 0; r < QUERY_WARMUP_ROUNDS; r++) {
                hits = runQueries(index, w);
            }
            double[] roundSeconds = new double[QUERY_ROUNDS];
            for (int r = 0; r < QUERY_ROUNDS; r++) {
                long t = System.nanoTime();
                long h = runQueries(index, w);
                roundSeconds[r] = (System.nanoTime() - t) / 1e9;
                if (h != hits) {
                    throw new IllegalStateException("hits changed between rounds: " + hits
                            + " then " + h);
                }
            }
            double round = median(roundSeconds);
            double[] latency = new double[q];
            double[] min = new double[2];
            double[] max = new double[2];
            for (int i = 0; i < q; i++) {
                min[0] = w.queryMins[2 * i];
                min[1] = w.queryMins[2 * i + 1];
                max[0] = w.queryMaxs[2 * i];
                max[1] = w.queryMaxs[2 * i + 1];
                long t = System.nanoTime();
                index.search(SearchType.INTERSECTS, min, max);
                latency[i] = (System.nanoTime() - t) / 1e3;
            }
            Arrays.sort(latency);
            System.out.printf(Locale.ROOT, "search: median round %.1f ms for %,d queries ="
                    + " %,.0f queries/s; latency p50 %.1f us, p99 %.1f us%n", round * 1e3, q,
                    q / round, latency[q / 2], latency[(int) (q * 0.99)]);
            String verdict = n == 1_000_000 && q == 10_000
                    ? (hits == W1_HITS ? " (ground truth " + W1_HITS + ": OK)"
                            : " (ground truth " + W1_HITS + ": MISMATCH)")
                    : "";
            System.out.printf(Locale.ROOT, "total hits: %,d%s%n", hits, verdict);
            if (n == 1_000_000 && q == 10_000 && hits != W1_HITS) {
                System.exit(1);
            }
        }
    }
}
