package dev.xtree.lucene.bench;

import dev.xtree.IndexDetails;
import dev.xtree.PersistenceMode;
import dev.xtree.SearchType;
import dev.xtree.bench.JavaBench.SplitMix64;
import dev.xtree.demo.CitiesDemo;
import dev.xtree.demo.CitiesDemo.City;
import dev.xtree.lucene.XTreeCodec;
import dev.xtree.lucene.XTreeField;
import dev.xtree.lucene.XTreeFieldType;
import dev.xtree.lucene.XTreeNearest;
import dev.xtree.lucene.XTreeQuery;
import java.io.IOException;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.FloatPoint;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.sandbox.document.FloatPointNearestNeighbor;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

/**
 * {@code ./gradlew luceneBench}: the xtree Lucene integration against Lucene 9.12's points on the
 * same documents in one JVM (BENCHMARKS.md, "Peers"): {@code ByteBuffersDirectory}, query cache
 * off, warmed up, on a force-merged index and on a 10-segment one, for the GeoNames cities and
 * W1 (uniform points, SplitMix64 seed 42).
 *
 * <p>Both sides hold the same float-exact coordinates: the xtree field at precision 32, Lucene a
 * {@code FloatPoint} (the point type its sandbox kNN, {@code FloatPointNearestNeighbor}, takes),
 * and every query box has float bounds, so both must return the same documents; each query's
 * answers are compared and a mismatch is printed. A third column is the raw {@link
 * IndexDetails} API on the same points (row id = doc id), the bar for the overhead of going
 * through {@code IndexSearcher}.
 *
 * <p>Rows: indexing (addDocument + commit + forceMerge(1) for the merged index; addDocument +
 * commit of 10 flushed segments, no merge, for the other), then count ({@code
 * IndexSearcher.count}) and top-10 ({@code IndexSearcher.search(q, 10)}) for windows covering
 * 0.01%, 1% and 10% of the data extent, and kNN for k = 1, 10, 100. Each figure is queries per
 * second over the query list, run for a fixed time after a warm-up, and the median latency.
 *
 * <p>System properties: {@code xtree.bench.w1} (W1 points, default 1,000,000), {@code
 * xtree.bench.queries} (queries per row, default 500), {@code xtree.bench.seconds} (time per
 * figure, default 1.0), {@code xtree.cities.path}.
 */
public final class LuceneBench {
    private static final int W1_N = Integer.getInteger("xtree.bench.w1", 1_000_000);
    private static final int QUERIES = Integer.getInteger("xtree.bench.queries", 500);
    private static final double SECONDS =
            Double.parseDouble(System.getProperty("xtree.bench.seconds", "1.0"));
    private static final double[] FRACTIONS = {0.0001, 0.01, 0.1};
    private static final int[] KS = {1, 10, 100};
    private static final XTreeFieldType SHAPE = XTreeFieldType.of(2, 32);

    private LuceneBench() {}

    /** One data set: float-exact 2-D points. */
    private static final class Data {
        final String name;
        final float[] x;
        final float[] y;

        Data(String name, float[] x, float[] y) {
            this.name = name;
            this.x = x;
            this.y = y;
        }

        int size() {
            return x.length;
        }
    }

    /**
     * Runs the benchmark and prints a markdown table per data set.
     *
     * @param args unused
     * @throws Exception on I/O errors
     */
    public static void main(String[] args) throws Exception {
        List<Data> sets = new ArrayList<>();
        List<City> cities = CitiesDemo.load(Paths.get(
                System.getProperty("xtree.cities.path", "data/cities1000.csv.gz")));
        float[] cx = new float[cities.size()];
        float[] cy = new float[cities.size()];
        for (int i = 0; i < cities.size(); i++) {
            cx[i] = (float) cities.get(i).lon;
            cy[i] = (float) cities.get(i).lat;
        }
        sets.add(new Data("cities (" + cities.size() + " points)", cx, cy));
        SplitMix64 rng = new SplitMix64(42);
        float[] wx = new float[W1_N];
        float[] wy = new float[W1_N];
        for (int i = 0; i < W1_N; i++) {
            wx[i] = (float) (rng.nextDouble() * 1000);
            wy[i] = (float) (rng.nextDouble() * 1000);
        }
        sets.add(new Data("W1 (" + W1_N + " points)", wx, wy));
        System.out.printf(Locale.ROOT, "LuceneBench: %d queries per row, %.1f s per figure, "
                + "Lucene %s, JVM %s%n", QUERIES, SECONDS, org.apache.lucene.util.Version.LATEST,
                System.getProperty("java.version"));
        for (Data d : sets) {
            run(d);
        }
    }

    private static void run(Data d) throws IOException {
        System.out.printf(Locale.ROOT, "%n### %s%n%n", d.name);
        System.out.println("| index | operation | xtree Query q/s (p50 us) | Lucene points q/s "
                + "(p50 us) | xtree / points | raw IndexDetails q/s | xtree / raw |");
        System.out.println("|---|---|---|---|---|---|---|");
        // Indexing.
        Directory xMerged = new ByteBuffersDirectory();
        Directory lMerged = new ByteBuffersDirectory();
        Directory x10 = new ByteBuffersDirectory();
        Directory l10 = new ByteBuffersDirectory();
        // Warm the indexing code paths on a small prefix first (JIT), then time the real runs.
        Data warm = new Data("warm", Arrays.copyOf(d.x, Math.min(50_000, d.size())),
                Arrays.copyOf(d.y, Math.min(50_000, d.size())));
        index(warm, new ByteBuffersDirectory(), true, true);
        index(warm, new ByteBuffersDirectory(), false, true);
        double txm = index(d, xMerged, true, true);
        double tlm = index(d, lMerged, false, true);
        double tx10 = index(d, x10, true, false);
        double tl10 = index(d, l10, false, false);
        long t0 = System.nanoTime();
        IndexDetails raw = new IndexDetails(2, 32, new String[] {"x0", "x1"},
                PersistenceMode.IN_MEMORY, null);
        long[] ids = new long[d.size()];
        double[] coords = new double[2 * d.size()];
        for (int i = 0; i < d.size(); i++) {
            ids[i] = i;
            coords[2 * i] = d.x[i];
            coords[2 * i + 1] = d.y[i];
        }
        raw.insertBatch(ids, coords);
        double traw = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "| merged | indexing (s) | %.2f | %.2f | %.2fx time | "
                + "%.2f (insertBatch) | |%n", txm, tlm, txm / tlm, traw);
        System.out.printf(Locale.ROOT, "| 10 segments | indexing (s) | %.2f | %.2f | %.2fx time "
                + "| | |%n", tx10, tl10, tx10 / tl10);
        System.out.printf(Locale.ROOT, "| merged | bytes in Directory | %d | %d | | | |%n",
                bytes(xMerged), bytes(lMerged));
        try (DirectoryReader rxm = DirectoryReader.open(xMerged);
                DirectoryReader rlm = DirectoryReader.open(lMerged);
                DirectoryReader rx10 = DirectoryReader.open(x10);
                DirectoryReader rl10 = DirectoryReader.open(l10)) {
            if (rx10.leaves().size() != 10 || rxm.leaves().size() != 1) {
                System.out.println("(segment counts: merged " + rxm.leaves().size()
                        + ", unmerged " + rx10.leaves().size() + ")");
            }
            queries(d, "merged", searcher(rxm), searcher(rlm), raw);
            queries(d, "10 segments", searcher(rx10), searcher(rl10), null);
        }
        raw.close();
    }

    private static IndexSearcher searcher(DirectoryReader r) {
        IndexSearcher s = new IndexSearcher(r);
        s.setQueryCache(null);
        return s;
    }

    private static long bytes(Directory dir) throws IOException {
        long n = 0;
        for (String f : dir.listAll()) {
            n += dir.fileLength(f);
        }
        return n;
    }

    /** Indexes {@code d}; returns seconds for addDocument + commit (+ forceMerge(1)). */
    private static double index(Data d, Directory dir, boolean xtree, boolean merged)
            throws IOException {
        IndexWriterConfig iwc = new IndexWriterConfig()
                .setCodec(xtree ? new XTreeCodec() : new Lucene912Codec());
        if (!merged) {
            iwc.setMergePolicy(NoMergePolicy.INSTANCE);
            iwc.setMaxBufferedDocs((d.size() + 9) / 10);
            iwc.setRAMBufferSizeMB(IndexWriterConfig.DISABLE_AUTO_FLUSH);
        }
        long t0 = System.nanoTime();
        try (IndexWriter w = new IndexWriter(dir, iwc)) {
            for (int i = 0; i < d.size(); i++) {
                Document doc = new Document();
                if (xtree) {
                    doc.add(XTreeField.point("p", SHAPE, d.x[i], d.y[i]));
                } else {
                    doc.add(new FloatPoint("p", d.x[i], d.y[i]));
                }
                w.addDocument(doc);
            }
            w.commit();
            if (merged) {
                w.forceMerge(1);
                w.commit();
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private interface Op {
        long run(int q) throws IOException;
    }

    private static void queries(Data d, String index, IndexSearcher xs, IndexSearcher ls,
            IndexDetails raw) throws IOException {
        float minX = Float.MAX_VALUE;
        float maxX = -Float.MAX_VALUE;
        float minY = Float.MAX_VALUE;
        float maxY = -Float.MAX_VALUE;
        for (int i = 0; i < d.size(); i++) {
            minX = Math.min(minX, d.x[i]);
            maxX = Math.max(maxX, d.x[i]);
            minY = Math.min(minY, d.y[i]);
            maxY = Math.max(maxY, d.y[i]);
        }
        for (double frac : FRACTIONS) {
            SplitMix64 rng = new SplitMix64(42);
            double w = (maxX - minX) * Math.sqrt(frac);
            double h = (maxY - minY) * Math.sqrt(frac);
            double[][] mins = new double[QUERIES][];
            double[][] maxs = new double[QUERIES][];
            Query[] xq = new Query[QUERIES];
            Query[] lq = new Query[QUERIES];
            for (int q = 0; q < QUERIES; q++) {
                float x0 = (float) (minX + rng.nextDouble() * (maxX - minX - w));
                float y0 = (float) (minY + rng.nextDouble() * (maxY - minY - h));
                float x1 = (float) (x0 + w);
                float y1 = (float) (y0 + h);
                mins[q] = new double[] {x0, y0};
                maxs[q] = new double[] {x1, y1};
                xq[q] = XTreeQuery.newIntersectsQuery("p", mins[q], maxs[q]);
                lq[q] = FloatPoint.newRangeQuery("p", new float[] {x0, y0}, new float[] {x1, y1});
            }
            long hx = 0;
            long hl = 0;
            for (int q = 0; q < QUERIES; q++) {
                hx += xs.count(xq[q]);
                hl += ls.count(lq[q]);
            }
            String label = String.format(Locale.ROOT, "%s%% window", pct(frac));
            String check = hx == hl ? "" : " MISMATCH xtree " + hx + " vs points " + hl;
            row(index, label + " count (" + hx / QUERIES + " hits avg)" + check,
                    q -> xs.count(xq[q]), q -> ls.count(lq[q]),
                    raw == null ? null : q -> raw.count(SearchType.INTERSECTS, mins[q], maxs[q]));
            row(index, label + " top-10", q -> xs.search(xq[q], 10).scoreDocs.length,
                    q -> ls.search(lq[q], 10).scoreDocs.length,
                    raw == null ? null
                            : q -> raw.search(SearchType.INTERSECTS, mins[q], maxs[q]).length);
        }
        SplitMix64 rng = new SplitMix64(7);
        float[][] pts = new float[QUERIES][];
        for (int q = 0; q < QUERIES; q++) {
            pts[q] = new float[] {(float) (minX + rng.nextDouble() * (maxX - minX)),
                (float) (minY + rng.nextDouble() * (maxY - minY))};
        }
        for (int k : KS) {
            int mismatches = 0;
            for (int q = 0; q < Math.min(50, QUERIES); q++) {
                ScoreDoc[] a = XTreeNearest.nearest(xs, "p", k, pts[q][0], pts[q][1]).scoreDocs;
                ScoreDoc[] b = FloatPointNearestNeighbor.nearest(ls, "p", k, pts[q]).scoreDocs;
                if (a.length != b.length || a[a.length - 1].doc != b[b.length - 1].doc) {
                    mismatches++;
                }
            }
            row(index, "kNN k=" + k + (mismatches == 0 ? "" : " (" + mismatches
                    + " of 50 differ from FloatPointNearestNeighbor)"),
                    q -> XTreeNearest.nearest(xs, "p", k, pts[q][0], pts[q][1]).scoreDocs.length,
                    q -> FloatPointNearestNeighbor.nearest(ls, "p", k, pts[q]).scoreDocs.length,
                    raw == null ? null
                            : q -> raw.nearest(new double[] {pts[q][0], pts[q][1]}, k).length);
        }
    }

    private static String pct(double f) {
        return f * 100 >= 1 ? String.format(Locale.ROOT, "%.0f", f * 100)
                : String.format(Locale.ROOT, "%.2f", f * 100);
    }

    private static void row(String index, String what, Op x, Op l, Op raw) throws IOException {
        double[] a = measure(x);
        double[] b = measure(l);
        double[] c = raw == null ? null : measure(raw);
        System.out.printf(Locale.ROOT, "| %s | %s | %.0f (%.1f) | %.0f (%.1f) | %.1fx | %s | %s |%n",
                index, what, a[0], a[1], b[0], b[1], a[0] / b[0],
                c == null ? "" : String.format(Locale.ROOT, "%.0f (%.1f)", c[0], c[1]),
                c == null ? "" : String.format(Locale.ROOT, "%.2f", a[0] / c[0]));
    }

    /** Queries per second over the query list, and the median latency in microseconds. */
    private static double[] measure(Op op) throws IOException {
        long warmEnd = System.nanoTime() + (long) (0.3 * SECONDS * 1e9);
        int q = 0;
        while (System.nanoTime() < warmEnd) {
            op.run(q++ % QUERIES);
        }
        long[] lat = new long[1 << 20];
        int n = 0;
        long start = System.nanoTime();
        long end = start + (long) (SECONDS * 1e9);
        long now = start;
        while (now < end && n < lat.length) {
            long t = System.nanoTime();
            op.run(n % QUERIES);
            now = System.nanoTime();
            lat[n++] = now - t;
        }
        double qps = n / ((now - start) / 1e9);
        long[] l = Arrays.copyOf(lat, n);
        Arrays.sort(l);
        return new double[] {qps, l[n / 2] / 1e3};
    }
}
