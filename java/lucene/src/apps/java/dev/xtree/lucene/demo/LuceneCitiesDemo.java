package dev.xtree.lucene.demo;

import dev.xtree.SearchType;
import dev.xtree.demo.CitiesDemo;
import dev.xtree.demo.CitiesDemo.City;
import dev.xtree.lucene.XTreeCodec;
import dev.xtree.lucene.XTreeField;
import dev.xtree.lucene.XTreeFieldType;
import dev.xtree.lucene.XTreeNearest;
import dev.xtree.lucene.XTreeQuery;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LatLonPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.Term;
import org.apache.lucene.sandbox.search.LatLonPointPrototypeQueries;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.FieldDoc;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

/**
 * The Lucene part of {@code ./gradlew demo}: the GeoNames cities as Lucene documents (name,
 * country code as a {@code StringField}, an xtree point and a {@code LatLonPoint}), written with
 * {@link XTreeCodec}; then, through {@code IndexSearcher}, a {@code BooleanQuery} (country = FR
 * AND a box around Paris), a box count over Europe and the 5 nearest cities to Paris, each with
 * the answer and timing of the xtree query and of Lucene's {@code LatLonPoint} query, and each
 * xtree answer verified against brute force. Exits with status 1 if a verification fails.
 *
 * <p>Note: {@code LatLonPoint} rounds coordinates to about 1e-7° and its kNN ranks by
 * great-circle distance, while the xtree field stores the doubles exactly and ranks by Euclidean
 * distance in (lon, lat) degrees; their answers may differ slightly at the edges for that reason.
 */
public final class LuceneCitiesDemo {
    private static final XTreeFieldType GEO = new XTreeFieldType(2, 64, "lon", "lat");
    private static final double PARIS_LON = 2.3522;
    private static final double PARIS_LAT = 48.8566;

    private LuceneCitiesDemo() {}

    /**
     * Runs the demo.
     *
     * @param args the path of {@code cities1000.csv.gz} (default {@code
     *     data/cities1000.csv.gz})
     * @throws Exception on I/O errors
     */
    public static void main(String[] args) throws Exception {
        Path file = Paths.get(args.length > 0 ? args[0] : "data/cities1000.csv.gz");
        List<City> cities = CitiesDemo.load(file);
        System.out.printf(Locale.ROOT, "%n== Lucene integration (dev.xtree.lucene) ==%n");
        System.out.printf(Locale.ROOT, "%d cities from %s%n", cities.size(), file.getFileName());
        boolean ok = true;
        try (Directory dir = new ByteBuffersDirectory()) {
            long t0 = System.nanoTime();
            IndexWriterConfig iwc = new IndexWriterConfig().setCodec(new XTreeCodec());
            try (IndexWriter w = new IndexWriter(dir, iwc)) {
                for (City c : cities) {
                    Document d = new Document();
                    d.add(new StoredField("name", c.name));
                    d.add(new StringField("cc", c.cc, Field.Store.NO));
                    d.add(new NumericDocValuesField("row", c.rowId));
                    d.add(XTreeField.point("geo", GEO, c.lon, c.lat));
                    d.add(new LatLonPoint("ll", c.lat, c.lon));
                    w.addDocument(d);
                }
                w.commit();
                w.forceMerge(1);
            }
            System.out.printf(Locale.ROOT, "indexed with XTreeCodec (xtree point + LatLonPoint per "
                    + "city, commit, forceMerge(1)) in %.0f ms%n", (System.nanoTime() - t0) / 1e6);
            try (DirectoryReader reader = DirectoryReader.open(dir)) {
                IndexSearcher s = new IndexSearcher(reader);
                s.setQueryCache(null);
                ok &= parisInFrance(s, cities);
                ok &= europeCount(s, cities);
                ok &= nearestToParis(s, cities);
            }
        }
        System.out.println(ok ? "Lucene part: every xtree answer equals brute force"
                : "Lucene part: VERIFICATION FAILED");
        if (!ok) {
            System.exit(1);
        }
    }

    private static boolean parisInFrance(IndexSearcher s, List<City> cities) throws Exception {
        double[] min = {2.2, 48.8};
        double[] max = {2.5, 48.95};
        Query cc = new TermQuery(new Term("cc", "FR"));
        Query xtree = new BooleanQuery.Builder().add(cc, BooleanClause.Occur.FILTER)
                .add(XTreeQuery.newBoxQuery("geo", SearchType.INTERSECTS, min, max),
                        BooleanClause.Occur.FILTER)
                .build();
        Query ll = new BooleanQuery.Builder().add(cc, BooleanClause.Occur.FILTER)
                .add(LatLonPoint.newBoxQuery("ll", min[1], max[1], min[0], max[0]),
                        BooleanClause.Occur.FILTER)
                .build();
        TreeSet<Long> brute = new TreeSet<>();
        for (City c : cities) {
            if (c.cc.equals("FR") && c.lon >= min[0] && c.lon <= max[0] && c.lat >= min[1]
                    && c.lat <= max[1]) {
                brute.add(c.rowId);
            }
        }
        System.out.printf(Locale.ROOT, "%ncc:FR AND box lon [2.2, 2.5] x lat [48.8, 48.95] "
                + "(BooleanQuery through IndexSearcher):%n");
        TopDocs top = s.search(xtree, 1000);
        TreeSet<Long> got = rows(s, top.scoreDocs);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < Math.min(8, top.scoreDocs.length); i++) {
            names.add(s.storedFields().document(top.scoreDocs[i].doc).get("name"));
        }
        System.out.printf(Locale.ROOT, "  xtree:      %d cities, e.g. %s%n", got.size(), names);
        TreeSet<Long> llGot = rows(s, s.search(ll, 1000).scoreDocs);
        System.out.printf(Locale.ROOT, "  LatLonPoint: %d cities%n", llGot.size());
        timing("  top-1000", () -> s.search(xtree, 1000).scoreDocs.length,
                () -> s.search(ll, 1000).scoreDocs.length);
        return verify("cc:FR AND Paris box", got, brute);
    }

    private static boolean europeCount(IndexSearcher s, List<City> cities) throws Exception {
        double[] min = {-25, 34};
        double[] max = {45, 72};
        Query xtree = XTreeQuery.newIntersectsQuery("geo", min, max);
        Query ll = LatLonPoint.newBoxQuery("ll", min[1], max[1], min[0], max[0]);
        long brute = cities.stream().filter(c -> c.lon >= min[0] && c.lon <= max[0]
                && c.lat >= min[1] && c.lat <= max[1]).count();
        int got = s.count(xtree);
        System.out.printf(Locale.ROOT, "%nCount over Europe, lon [-25, 45] x lat [34, 72] "
                + "(IndexSearcher.count):%n");
        System.out.printf(Locale.ROOT, "  xtree:       %d cities%n  LatLonPoint: %d cities%n",
                got, s.count(ll));
        timing("  count", () -> s.count(xtree), () -> s.count(ll));
        return verify("Europe count", (long) got, brute);
    }

    private static boolean nearestToParis(IndexSearcher s, List<City> cities) throws Exception {
        int k = 5;
        TopDocs xt = XTreeNearest.nearest(s, "geo", k, PARIS_LON, PARIS_LAT);
        TopDocs ll = LatLonPointPrototypeQueries.nearest(s, "ll", PARIS_LAT, PARIS_LON, k);
        System.out.printf(Locale.ROOT, "%n5 nearest to Paris (%.4f, %.4f):%n", PARIS_LON, PARIS_LAT);
        for (int i = 0; i < k; i++) {
            FieldDoc a = (FieldDoc) xt.scoreDocs[i];
            ScoreDoc b = ll.scoreDocs[i];
            System.out.printf(Locale.ROOT, "  xtree %-22s %.5f deg | LatLonPoint %-22s %.0f m%n",
                    s.storedFields().document(a.doc).get("name"), (Double) a.fields[0],
                    s.storedFields().document(b.doc).get("name"),
                    (Double) ((FieldDoc) b).fields[0]);
        }
        timing("  kNN k=5", () -> XTreeNearest.nearest(s, "geo", k, PARIS_LON, PARIS_LAT)
                .scoreDocs.length,
                () -> LatLonPointPrototypeQueries.nearest(s, "ll", PARIS_LAT, PARIS_LON, k)
                        .scoreDocs.length);
        City[] sorted = cities.toArray(new City[0]);
        Arrays.sort(sorted, Comparator.comparingDouble(LuceneCitiesDemo::distToParis)
                .thenComparingLong(c -> c.rowId));
        List<Long> want = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            want.add(sorted[i].rowId);
        }
        List<Long> got = new ArrayList<>(rowsInOrder(s, xt.scoreDocs));
        return verify("5 nearest to Paris", got, want);
    }

    private static double distToParis(City c) {
        double dx = c.lon - PARIS_LON;
        double dy = c.lat - PARIS_LAT;
        return Math.sqrt(dx * dx + dy * dy);
    }

    /** Median of repeated runs of each, in microseconds, after a warm-up. */
    private static void timing(String what, Callable<Integer> xtree, Callable<Integer> ll)
            throws Exception {
        double a = median(xtree);
        double b = median(ll);
        System.out.printf(Locale.ROOT, "%s: xtree %.1f us, LatLonPoint %.1f us (%.1fx)%n", what,
                a, b, b / a);
    }

    private static double median(Callable<Integer> c) throws Exception {
        for (int i = 0; i < 200; i++) {
            c.call();
        }
        double[] t = new double[301];
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            c.call();
            t[i] = (System.nanoTime() - t0) / 1e3;
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }

    private static TreeSet<Long> rows(IndexSearcher s, ScoreDoc[] hits) throws IOException {
        return new TreeSet<>(rowsInOrder(s, hits));
    }

    private static List<Long> rowsInOrder(IndexSearcher s, ScoreDoc[] hits) throws IOException {
        List<LeafReaderContext> leaves = s.getIndexReader().leaves();
        List<Long> out = new ArrayList<>();
        for (ScoreDoc h : hits) {
            LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(h.doc, leaves));
            NumericDocValues row = leaf.reader().getNumericDocValues("row");
            row.advanceExact(h.doc - leaf.docBase);
            out.add(row.longValue());
        }
        return out;
    }

    private static boolean verify(String what, Object got, Object want) {
        boolean ok = got.equals(want);
        System.out.printf(Locale.ROOT, "  brute force check (%s): %s%n", what,
                ok ? "OK" : "MISMATCH, got " + got + ", expected " + want);
        return ok;
    }
}
