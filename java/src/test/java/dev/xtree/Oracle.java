package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A brute-force model of an index: a list of records at the index precision (DESIGN.md §2), and
 * every query answered by a scan. Tests compare {@link IndexDetails} against it. Window queries
 * compare doubles exactly; kNN distances are exact ({@link #exactDistance2}).
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

    /**
     * The exact squared Euclidean distance from a point to a record's box (0 inside): every
     * coordinate difference, square and sum is computed in {@link BigDecimal} from the exact
     * values of the doubles, so nothing overflows, underflows or rounds. (The index computes in
     * doubles; an oracle with the same formula would share its overflow to infinity beyond
     * about 1.3e154 and its underflow to 0 below about 1.5e-162, and accept the same wrong
     * order.)
     */
    static BigDecimal exactDistance2(double[] p, Rec r) {
        BigDecimal sum = BigDecimal.ZERO;
        for (int d = 0; d < p.length; d++) {
            BigDecimal delta;
            if (p[d] < r.min[d]) {
                delta = new BigDecimal(r.min[d]).subtract(new BigDecimal(p[d]));
            } else if (p[d] > r.max[d]) {
                delta = new BigDecimal(p[d]).subtract(new BigDecimal(r.max[d]));
            } else {
                continue;
            }
            sum = sum.add(delta.multiply(delta));
        }
        return sum;
    }

    /**
     * Relative tolerance on squared distances of {@link #checkNearest(String, double[], int,
     * long[])}: the index sums rounded doubles, about 1e-15 relative for up to 255 terms.
     */
    static final double DISTANCE2_TOLERANCE = 1e-12;

    /**
     * The squared distance of one record, compared exactly but cheaply: a double
     * approximation decides when it is far from the other value, {@link #exactDistance2}
     * (computed once, on demand) otherwise. In {@code [1e-280, 1e300]} the double sum of
     * rounded squares is within 1e-13 relative of the exact value (each difference and square
     * rounds by at most 2^-53 relative, terms are non-negative, at most 255 of them, and
     * differences too small to be normal contribute less than 1e-600), so approximations more
     * than {@link #SEPARATED} apart order the exact values as they order themselves.
     */
    private static final class Distance implements Comparable<Distance> {
        static final double SEPARATED = 1e-9;
        static final double LOWEST_SAFE = 1e-280;
        static final double HIGHEST_SAFE = 1e300;

        final Rec rec;
        final double approx;
        /**
         * The point is inside the box: the exact distance is 0 (a difference of two distinct
         * doubles is never 0, but its square may underflow to 0, so approx == 0 is not enough).
         */
        final boolean inside;
        private final double[] p;
        private BigDecimal exact;

        /**
         * {@link #approx} is the exact value: no difference, square or sum rounded, overflowed
         * or underflowed (the error terms of TwoSum and of an FMA are all 0, with every square
         * large enough for its FMA error term to be exact; an infinity makes them NaN). True for
         * most ties, such as distances between grid points.
         */
        final boolean approxIsExact;

        Distance(double[] p, Rec rec) {
            this.rec = rec;
            this.p = p;
            double sum = 0;
            boolean in = true;
            boolean exactSoFar = true;
            for (int d = 0; d < p.length; d++) {
                double hi;
                double lo;
                if (p[d] < rec.min[d]) {
                    hi = rec.min[d];
                    lo = p[d];
                } else if (p[d] > rec.max[d]) {
                    hi = p[d];
                    lo = rec.max[d];
                } else {
                    continue;
                }
                in = false;
                double delta = hi - lo;
                double square = delta * delta;
                double next = sum + square;
                // The FMA residual is the product's exact error only while it is representable:
                // not below 2^-969 (Boldo and Muller, "Exact and approximated error of the FMA").
                exactSoFar &= twoSumError(hi, -lo, delta) == 0
                        && square >= 0x1p-969
                        && Math.fma(delta, delta, -square) == 0
                        && twoSumError(sum, square, next) == 0;
                sum = next;
            }
            this.approx = sum;
            this.inside = in;
            this.approxIsExact = exactSoFar;
        }

        /** The rounding error {@code (a + b) - s} of {@code s = a + b} (Knuth's TwoSum). */
        private static double twoSumError(double a, double b, double s) {
            double bb = s - a;
            return (a - (s - bb)) + (b - bb);
        }

        BigDecimal exact() {
            if (exact == null) {
                exact = exactDistance2(p, rec);
            }
            return exact;
        }

        /**
         * Whether the approximations alone order the two exact values: both are exact, or both
         * lie in the safe range and differ by more than {@link #SEPARATED} relative.
         */
        boolean separatedFrom(Distance o) {
            if (approxIsExact && o.approxIsExact) {
                return true;
            }
            return approx >= LOWEST_SAFE && approx <= HIGHEST_SAFE
                    && o.approx >= LOWEST_SAFE && o.approx <= HIGHEST_SAFE
                    && Math.abs(approx - o.approx) > SEPARATED * Math.max(approx, o.approx);
        }

        @Override
        public int compareTo(Distance o) {
            if (inside || o.inside) {
                return Boolean.compare(o.inside, inside);
            }
            return separatedFrom(o) ? Double.compare(approx, o.approx)
                    : exact().compareTo(o.exact());
        }

        /** Equal within the relative tolerance {@code tol <= 1e-10} (0: exactly equal). */
        boolean closeTo(Distance o, double tol) {
            if (rec == o.rec || (inside && o.inside)) {
                return true;
            }
            if (inside || o.inside) {
                return false; // 0 and a positive value
            }
            if (approxIsExact && o.approxIsExact) {
                return approx == o.approx
                        || Math.abs(approx - o.approx) <= tol * Math.max(approx, o.approx);
            }
            if (separatedFrom(o)) {
                return false; // more than SEPARATED > tol apart
            }
            BigDecimal a = exact();
            BigDecimal b = o.exact();
            int c = a.compareTo(b);
            return c == 0 || a.subtract(b).abs()
                    .compareTo(new BigDecimal(tol).multiply(c > 0 ? a : b)) <= 0;
        }

        @Override
        public String toString() {
            return "row id " + Long.toUnsignedString(rec.id) + " at distance^2 "
                    + exact().round(new MathContext(6));
        }
    }

    /**
     * Compares the exact distances from {@code p} of two records as {@link #checkNearest} does
     * (a double approximation where it decides, {@link #exactDistance2} otherwise), for tests of
     * the oracle itself.
     *
     * @return the sign of {@code exactDistance2(p, a) - exactDistance2(p, b)}
     */
    static int compareDistances(double[] p, Rec a, Rec b) {
        return Integer.signum(new Distance(p, a).compareTo(new Distance(p, b)));
    }

    /**
     * {@link #checkNearest(String, double[], int, long[], double)} with the tolerance {@link
     * #DISTANCE2_TOLERANCE} for the index's rounding.
     */
    void checkNearest(String context, double[] p, int k, long[] got) {
        checkNearest(context, p, k, got, DISTANCE2_TOLERANCE);
    }

    /**
     * Checks a kNN answer against a scan with exact distances ({@link #exactDistance2}). Requires
     * unique row ids. The expected answer is the records in order of exact distance, ties by
     * row id as unsigned; result {@code i} must be at the distance of expected result {@code i}
     * within the relative tolerance {@code tol} on squared distances (0: exactly; at most
     * 1e-10), results must not get nearer (beyond {@code tol}), results at exactly equal
     * distances must be in unsigned row id order, and every record nearer than the k-th
     * (beyond {@code tol}) must be in the answer.
     */
    void checkNearest(String context, double[] p, int k, long[] got, double tol) {
        if (!(tol >= 0 && tol <= 1e-10)) {
            throw new IllegalArgumentException("tolerance " + tol + " is outside [0, 1e-10]");
        }
        Map<Long, Distance> dist = new HashMap<>();
        List<Distance> sorted = new ArrayList<>();
        for (Rec r : records) {
            Distance d = new Distance(p, r);
            sorted.add(d);
            if (dist.put(r.id, d) != null) {
                throw new AssertionError("checkNearest needs unique row ids");
            }
        }
        sorted.sort(Comparator.<Distance>naturalOrder()
                .thenComparing((a, b) -> Long.compareUnsigned(a.rec.id, b.rec.id)));
        int m = Math.min(k, sorted.size());
        assertEquals(context + ": result length", m, got.length);
        if (m == 0) {
            return;
        }
        long[] seen = got.clone();
        Arrays.sort(seen);
        for (int i = 1; i < seen.length; i++) {
            assertTrue(context + ": duplicate row id " + seen[i], seen[i] != seen[i - 1]);
        }
        for (int i = 0; i < m; i++) {
            Distance d = dist.get(got[i]);
            if (d == null) {
                fail(context + ": row id " + Long.toUnsignedString(got[i])
                        + " is not in the index");
            }
            Distance want = sorted.get(i);
            assertTrue(context + ": result " + i + " is " + d + ", expected " + want,
                    d.closeTo(want, tol));
            if (i > 0) {
                Distance prev = dist.get(got[i - 1]);
                int c = d.compareTo(prev);
                assertTrue(context + ": distances decrease at " + i + ": " + prev + " then "
                        + d, c >= 0 || d.closeTo(prev, tol));
                if (c == 0) {
                    assertTrue(context + ": tie not in unsigned row id order: " + prev
                            + " then " + d, Long.compareUnsigned(got[i - 1], got[i]) < 0);
                }
            }
        }
        Distance kth = sorted.get(m - 1);
        for (Distance d : sorted) {
            if (d.compareTo(kth) >= 0 || d.closeTo(kth, tol)) {
                break;
            }
            assertTrue(context + ": " + d + " is missing", Arrays.binarySearch(seen, d.rec.id) >= 0);
        }
    }
}
