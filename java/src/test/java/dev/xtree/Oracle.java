package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A brute-force model of an index: a list of records at the index precision (DESIGN.md §2), and
 * every query answered by a scan. Tests compare {@link IndexDetails} against it.
 */
final class Oracle {
    /** One stored record: row id and its box at the index precision. */
    static final class Rec {
        final long id;
        final double[] min;
        final double[] max;

        Rec(long id, double[] min, double[] max) {
            this.id = id;
            this.min = min;
            this.max = max;
        }
    }

    final int dimension;
    final int precision;
    final List<Rec> records = new ArrayList<>();

    Oracle(int dimension, int precision) {
        this.dimension = dimension;
        this.precision = precision;
    }

    /**
     * The record as stored: precision 64 keeps the input; precision 32 rounds a point (min ==
     * max on every axis) to the nearest float and a box outward (min down, max up).
     */
    Rec stored(long id, double[] min, double[] max) {
        if (precision == 64) {
            return new Rec(id, min.clone(), max.clone());
        }
        double[] lo = new double[dimension];
        double[] hi = new double[dimension];
        boolean point = sameCoords(min, max);
        for (int d = 0; d < dimension; d++) {
            if (point) {
                lo[d] = (float) min[d];
                hi[d] = lo[d];
            } else {
                lo[d] = floatDown(min[d]);
                hi[d] = floatUp(max[d]);
            }
        }
        return new Rec(id, lo, hi);
    }

    /** The largest float {@code <= x}, as a double. */
    static double floatDown(double x) {
        float f = (float) x;
        return f > x ? Math.nextDown(f) : f;
    }

    /** The smallest float {@code >= x}, as a double. */
    static double floatUp(double x) {
        float f = (float) x;
        return f < x ? Math.nextUp(f) : f;
    }

    /** Coordinate-wise ==, so that 0.0 and -0.0 are equal as they are in Rust. */
    static boolean sameCoords(double[] a, double[] b) {
        for (int d = 0; d < a.length; d++) {
            if (a[d] != b[d]) {
                return false;
            }
        }
        return true;
    }

    void insert(long id, double[] min, double[] max) {
        records.add(stored(id, min, max));
    }

    boolean delete(long id, double[] min, double[] max) {
        Rec s = stored(id, min, max);
        for (int i = 0; i < records.size(); i++) {
            Rec r = records.get(i);
            if (r.id == id && sameCoords(r.min, s.min) && sameCoords(r.max, s.max)) {
                records.remove(i);
                return true;
            }
        }
        return false;
    }

    boolean update(long id, double[] oldMin, double[] oldMax, double[] newMin, double[] newMax) {
        if (!delete(id, oldMin, oldMax)) {
            return false;
        }
        insert(id, newMin, newMax);
        return true;
    }

    static boolean matches(SearchType type, Rec r, double[] qmin, double[] qmax) {
        for (int d = 0; d < r.min.length; d++) {
            boolean ok;
            switch (type) {
                case INTERSECTS:
                    ok = r.min[d] <= qmax[d] && qmin[d] <= r.max[d];
                    break;
                case CONTAINS:
                    ok = r.min[d] <= qmin[d] && qmax[d] <= r.max[d];
                    break;
                case WITHIN:
                    ok = qmin[d] <= r.min[d] && r.max[d] <= qmax[d];
                    break;
                default:
                    throw new AssertionError(type);
            }
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Matching row ids, sorted (as signed longs, only to compare multisets). */
    long[] search(SearchType type, double[] qmin, double[] qmax) {
        return records.stream()
                .filter(r -> matches(type, r, qmin, qmax))
                .mapToLong(r -> r.id)
                .sorted()
                .toArray();
    }

    /** Euclidean distance from a point to a record's box (0 inside). */
    static double distance(double[] p, Rec r) {
        double sum = 0;
        for (int d = 0; d < p.length; d++) {
            double delta = p[d] < r.min[d] ? r.min[d] - p[d]
                    : p[d] > r.max[d] ? p[d] - r.max[d] : 0;
            sum += delta * delta;
        }
        return Math.sqrt(sum);
    }

    /**
     * Checks a kNN answer against a scan. Requires unique row ids. Distances are compared with a
     * small relative tolerance (the native side may sum in another order); where the oracle's
     * distances tie exactly, the row ids must be in unsigned order.
     */
    void checkNearest(String context, double[] p, int k, long[] got) {
        Map<Long, Double> dist = new HashMap<>();
        for (Rec r : records) {
            if (dist.put(r.id, distance(p, r)) != null) {
                throw new AssertionError("checkNearest needs unique row ids");
            }
        }
        List<Rec> sorted = new ArrayList<>(records);
        sorted.sort(Comparator.<Rec>comparingDouble(r -> dist.get(r.id))
                .thenComparing((a, b) -> Long.compareUnsigned(a.id, b.id)));
        int m = Math.min(k, sorted.size());
        assertEquals(context + ": result length", m, got.length);
        if (m == 0) {
            return;
        }
        double kth = dist.get(sorted.get(m - 1).id);
        double tol = 1e-9 * Math.max(1, kth);
        long[] seen = got.clone();
        Arrays.sort(seen);
        for (int i = 1; i < seen.length; i++) {
            assertTrue(context + ": duplicate row id " + seen[i], seen[i] != seen[i - 1]);
        }
        for (int i = 0; i < m; i++) {
            Double d = dist.get(got[i]);
            if (d == null) {
                fail(context + ": row id " + got[i] + " is not in the index");
            }
            double want = dist.get(sorted.get(i).id);
            assertEquals(context + ": distance of result " + i, want, d, tol);
            if (i > 0) {
                double prev = dist.get(got[i - 1]);
                assertTrue(context + ": distances decrease at " + i, d >= prev - tol);
                if (d == prev) {
                    assertTrue(context + ": tie at distance " + d
                                    + " not in unsigned row id order: "
                                    + Long.toUnsignedString(got[i - 1]) + " then "
                                    + Long.toUnsignedString(got[i]),
                            Long.compareUnsigned(got[i - 1], got[i]) < 0);
                }
            }
        }
        for (Rec r : sorted) {
            if (dist.get(r.id) >= kth - tol) {
                break;
            }
            assertTrue(context + ": row id " + r.id + " at distance " + dist.get(r.id)
                    + " is missing", Arrays.binarySearch(seen, r.id) >= 0);
        }
    }
}
