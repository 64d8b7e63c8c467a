package dev.xtree.lucene;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import dev.xtree.SearchType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.DoubleRange;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FloatPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.LogDocMergePolicy;
import org.apache.lucene.index.MergePolicy;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.sandbox.document.FloatPointNearestNeighbor;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.FieldDoc;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopFieldDocs;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.IOUtils;
import org.junit.Test;

/**
 * Randomized indexes cross-checked against Lucene's own queries on the same documents and
 * against brute force over a model of the live documents: every xtree query kind, on NRT
 * readers while writing (adds, deletes, updates, many segments, random merge policies), after
 * {@code rollback}, after {@code forceMerge} and after commit and reopen in a fresh reader;
 * {@code CheckIndex} is clean at the end.
 *
 * <p>Peers: {@code DoublePoint}/{@code FloatPoint} range queries for points of at most 8
 * dimensions, {@code DoubleRange} intersects/contains/within for boxes of at most 4,
 * {@code FloatPointNearestNeighbor} (lucene-sandbox) for kNN on float-exact single-valued
 * points, and brute force for everything (the only oracle at 16, 64 and 255 dimensions).
 *
 * <p>Seeded: {@code -Pxtree.test.seed=N} picks other data; every failure message names the
 * seed. {@code -Pxtree.lucene.big=true} makes the indexes ten times larger.
 */
public class XTreeOracleTest {
    private static final long SEED = Long.getLong("xtree.test.seed", 0x5EED_1DEAL);
    private static final int SCALE = Boolean.getBoolean("xtree.lucene.big") ? 10 : 1;

    /** One configuration: shape, value kind, document count and which peers apply. */
    private static final class Config {
        final int dims;
        final int precision;
        final boolean boxes;
        final int docs;
        final int maxValues;

        Config(int dims, int precision, boolean boxes, int docs, int maxValues) {
            this.dims = dims;
            this.precision = precision;
            this.boxes = boxes;
            this.docs = docs * SCALE;
            this.maxValues = maxValues;
        }

        boolean pointPeer() {
            return !boxes && dims <= 8;
        }

        boolean rangePeer() {
            return boxes && dims <= 4;
        }

        /** FloatPointNearestNeighbor counts a document once per value: single-valued only. */
        boolean knnPeer() {
            return !boxes && precision == 32 && dims <= 8 && maxValues == 1;
        }

        @Override
        public String toString() {
            return dims + "-d " + (boxes ? "boxes" : "points") + " at precision " + precision
                    + ", " + docs + " docs, up to " + maxValues + " values each";
        }
    }

    @Test
    public void points1d() throws IOException {
        run(new Config(1, 64, false, 1500, 2), 1);
    }

    @Test
    public void points2dFloatWithKnnPeer() throws IOException {
        run(new Config(2, 32, false, 3000, 1), 2);
    }

    @Test
    public void points2dMultiValued() throws IOException {
        run(new Config(2, 64, false, 2000, 3), 3);
    }

    @Test
    public void boxes3d() throws IOException {
        run(new Config(3, 64, true, 2000, 2), 4);
    }

    @Test
    public void boxes4dFloat() throws IOException {
        run(new Config(4, 32, true, 1200, 1), 5);
    }

    @Test
    public void points8d() throws IOException {
        run(new Config(8, 64, false, 1200, 2), 6);
    }

    @Test
    public void points16d() throws IOException {
        run(new Config(16, 64, false, 800, 1), 7);
    }

    @Test
    public void boxes64d() throws IOException {
        run(new Config(64, 32, true, 400, 2), 8);
    }

    @Test
    public void points255d() throws IOException {
        run(new Config(255, 64, false, 250, 1), 9);
    }

    // ------------------------------------------------------------------------------------------

    /** The live documents as the test believes them: key → stored values (min, max pairs). */
    private static final class Model {
        final Map<Integer, List<double[][]>> live = new HashMap<>();
        final Map<Integer, String> group = new HashMap<>();

        Model copy() {
            Model m = new Model();
            m.live.putAll(live);
            m.group.putAll(group);
            return m;
        }
    }

    private final class Run {
        final Config c;
        final long seed;
        final Random rnd;
        final XTreeFieldType shape;
        final Path tmp;
        Directory dir;
        IndexWriter writer;
        Model model = new Model();
        Model committed = new Model();
        int nextKey;
        int checks;

        Run(Config c, long seed) throws IOException {
            this.c = c;
            this.seed = seed;
            this.rnd = new Random(seed);
            this.shape = XTreeFieldType.of(c.dims, c.precision);
            if (rnd.nextBoolean()) {
                tmp = Files.createTempDirectory("xtree-lucene-oracle");
                dir = FSDirectory.open(tmp);
            } else {
                tmp = null;
                dir = new ByteBuffersDirectory();
            }
        }

        String where() {
            return "seed " + seed + " (" + c + ", check " + checks + ")";
        }

        IndexWriterConfig config() {
            IndexWriterConfig iwc = new IndexWriterConfig().setCodec(new XTreeCodec());
            iwc.setMaxBufferedDocs(20 + rnd.nextInt(400));
            iwc.setRAMBufferSizeMB(IndexWriterConfig.DISABLE_AUTO_FLUSH);
            MergePolicy mp;
            switch (rnd.nextInt(3)) {
                case 0:
                    TieredMergePolicy t = new TieredMergePolicy();
                    t.setSegmentsPerTier(2 + rnd.nextInt(8));
                    t.setMaxMergeAtOnce(2 + rnd.nextInt(8));
                    mp = t;
                    break;
                case 1:
                    LogDocMergePolicy l = new LogDocMergePolicy();
                    l.setMergeFactor(2 + rnd.nextInt(8));
                    l.setMinMergeDocs(10);
                    mp = l;
                    break;
                default:
                    mp = NoMergePolicy.INSTANCE;
            }
            return iwc.setMergePolicy(mp);
        }

        /** A random coordinate, float-exact (a multiple of 1/8 in [0, 1000)) half of the time. */
        double coord() {
            return rnd.nextBoolean() ? rnd.nextInt(8000) / 8.0 : rnd.nextDouble() * 1000;
        }

        Document newDoc(int key) {
            Document d = new Document();
            d.add(new StringField("id", Integer.toString(key), Field.Store.NO));
            d.add(new NumericDocValuesField("key", key));
            String g = rnd.nextInt(3) == 0 ? "odd" : "even";
            d.add(new StringField("grp", g, Field.Store.NO));
            model.group.put(key, g);
            if (rnd.nextInt(10) == 0) {
                model.live.put(key, new ArrayList<>()); // a document without the field
                return d;
            }
            int n = 1 + rnd.nextInt(c.maxValues);
            XTreeField f = new XTreeField("xt", shape);
            List<double[][]> values = new ArrayList<>();
            for (int v = 0; v < n; v++) {
                double[] min = new double[c.dims];
                double[] max = new double[c.dims];
                for (int a = 0; a < c.dims; a++) {
                    min[a] = coord();
                    if (c.precision == 32) {
                        min[a] = (float) min[a];
                    }
                    max[a] = c.boxes ? min[a] + rnd.nextInt(200) / 4.0 : min[a];
                    if (c.precision == 32) {
                        max[a] = (float) max[a];
                    }
                }
                if (c.boxes) {
                    f.addBox(min, max);
                    if (c.rangePeer()) {
                        d.add(new DoubleRange("rng", min, max));
                    }
                } else {
                    f.addPoint(min);
                    if (c.pointPeer() && c.precision == 64) {
                        d.add(new DoublePoint("pt", min));
                    } else if (c.pointPeer()) {
                        float[] fl = new float[c.dims];
                        for (int a = 0; a < c.dims; a++) {
                            fl[a] = (float) min[a];
                        }
                        d.add(new FloatPoint("pt", fl));
                    }
                }
                values.add(new double[][] {min, max});
            }
            d.add(f);
            model.live.put(key, values);
            return d;
        }

        void write(int ops) throws IOException {
            for (int i = 0; i < ops; i++) {
                int op = rnd.nextInt(100);
                if (op < 70 || model.live.isEmpty()) {
                    int key = nextKey++;
                    writer.addDocument(newDoc(key));
                } else if (op < 82) {
                    int key = anyKey();
                    writer.deleteDocuments(new Term("id", Integer.toString(key)));
                    model.live.remove(key);
                } else if (op < 95) {
                    int key = anyKey();
                    writer.updateDocument(new Term("id", Integer.toString(key)), newDoc(key));
                } else {
                    writer.flush();
                }
            }
        }

        int anyKey() {
            List<Integer> keys = new ArrayList<>(model.live.keySet());
            return keys.get(rnd.nextInt(keys.size()));
        }

        void commit() throws IOException {
            writer.commit();
            committed = model.copy();
        }

        void rollback() throws IOException {
            writer.rollback();
            model = committed.copy();
            writer = new IndexWriter(dir, config());
        }

        void close() throws IOException {
            IOUtils.close(writer, dir);
            if (tmp != null) {
                IOUtils.rm(tmp);
            }
        }

        // ---- checks ------------------------------------------------------------------------

        void check(DirectoryReader reader) throws IOException {
            checks++;
            assertEquals(where(), model.live.size(), reader.numDocs());
            IndexSearcher s = new IndexSearcher(reader);
            if (rnd.nextBoolean()) {
                s.setQueryCache(null);
            }
            for (int q = 0; q < 12; q++) {
                double[] min = new double[c.dims];
                double[] max = new double[c.dims];
                double side = new double[] {20, 150, 600}[q % 3];
                for (int a = 0; a < c.dims; a++) {
                    double lo = coord() - side / 2;
                    min[a] = rnd.nextInt(20) == 0 ? Double.NEGATIVE_INFINITY : lo;
                    max[a] = rnd.nextInt(20) == 0 ? Double.POSITIVE_INFINITY : lo + side;
                    if (c.precision == 32) { // float bounds keep FloatPoint exact
                        min[a] = (float) min[a];
                        max[a] = (float) max[a];
                    }
                }
                for (SearchType ty : c.boxes ? SearchType.values()
                        : new SearchType[] {SearchType.INTERSECTS}) {
                    checkBox(s, ty, min, max);
                }
                checkBoolean(s, min, max);
            }
            checkPointQuery(s);
            for (int k : new int[] {1, 10, 50}) {
                checkNearest(s, k);
            }
        }

        void checkBox(IndexSearcher s, SearchType ty, double[] min, double[] max)
                throws IOException {
            Set<Integer> want = brute(ty, min, max);
            Query q = XTreeQuery.newBoxQuery("xt", ty, min, max);
            String what = where() + " " + q;
            assertEquals(what, want, keys(s, q));
            assertEquals(what + " (count)", want.size(), s.count(q));
            Query peer = peer(ty, min, max);
            if (peer != null) {
                assertEquals(what + " vs " + peer, keys(s, peer), want);
            }
        }

        Query peer(SearchType ty, double[] min, double[] max) {
            if (c.pointPeer() && ty == SearchType.INTERSECTS) {
                if (c.precision == 64) {
                    return DoublePoint.newRangeQuery("pt", min, max);
                }
                float[] lo = new float[c.dims];
                float[] hi = new float[c.dims];
                for (int a = 0; a < c.dims; a++) {
                    lo[a] = (float) min[a];
                    hi[a] = (float) max[a];
                }
                return FloatPoint.newRangeQuery("pt", lo, hi);
            }
            if (c.rangePeer()) {
                switch (ty) {
                    case INTERSECTS:
                        return DoubleRange.newIntersectsQuery("rng", min, max);
                    case CONTAINS:
                        return DoubleRange.newContainsQuery("rng", min, max);
                    default:
                        return DoubleRange.newWithinQuery("rng", min, max);
                }
            }
            return null;
        }

        /** A TermQuery filter AND a box: the conjunction of the two answers. */
        void checkBoolean(IndexSearcher s, double[] min, double[] max) throws IOException {
            Query box = XTreeQuery.newIntersectsQuery("xt", min, max);
            Query both = new BooleanQuery.Builder()
                    .add(new TermQuery(new Term("grp", "odd")), BooleanClause.Occur.FILTER)
                    .add(box, BooleanClause.Occur.MUST)
                    .build();
            Set<Integer> want = new TreeSet<>();
            for (int k : brute(SearchType.INTERSECTS, min, max)) {
                if ("odd".equals(model.group.get(k))) {
                    want.add(k);
                }
            }
            assertEquals(where() + " " + both, want, keys(s, both));
            assertEquals(where() + " " + both + " (count)", want.size(), s.count(both));
        }

        /** A point query at a stored value: at least that document matches. */
        void checkPointQuery(IndexSearcher s) throws IOException {
            for (List<double[][]> values : model.live.values()) {
                if (values.isEmpty()) {
                    continue;
                }
                double[] p = values.get(0)[0];
                Set<Integer> want = brute(SearchType.INTERSECTS, p, p);
                Query q = XTreeQuery.newPointQuery("xt", p);
                assertEquals(where() + " " + q, want, keys(s, q));
                assertEquals(where() + " " + q, want.size(), s.count(q));
                return;
            }
        }

        void checkNearest(IndexSearcher s, int k) throws IOException {
            double[] p = new double[c.dims];
            for (int a = 0; a < c.dims; a++) {
                p[a] = c.precision == 32 ? (float) coord() : coord();
            }
            // Brute force: (distance, key) of each live document's nearest value.
            List<double[]> all = new ArrayList<>();
            Map<Integer, Integer> docOfKey = docsByKey(s);
            for (Map.Entry<Integer, List<double[][]>> e : model.live.entrySet()) {
                double best = Double.POSITIVE_INFINITY;
                for (double[][] v : e.getValue()) {
                    best = Math.min(best, dist(p, v[0], v[1]));
                }
                if (best < Double.POSITIVE_INFINITY) {
                    all.add(new double[] {best, docOfKey.get(e.getKey())});
                }
            }
            all.sort((x, y) -> x[0] != y[0] ? Double.compare(x[0], y[0])
                    : Double.compare(x[1], y[1]));
            TopFieldDocs got = XTreeNearest.nearest(s, "xt", k, p);
            String what = where() + " kNN k=" + k;
            assertEquals(what, Math.min(k, all.size()), got.scoreDocs.length);
            for (int i = 0; i < got.scoreDocs.length; i++) {
                FieldDoc fd = (FieldDoc) got.scoreDocs[i];
                assertEquals(what + " rank " + i + " distance", all.get(i)[0],
                        (Double) fd.fields[0], 0.0);
                assertEquals(what + " rank " + i + " doc", (int) all.get(i)[1], fd.doc);
            }
            if (c.knnPeer()) {
                float[] o = new float[c.dims];
                for (int a = 0; a < c.dims; a++) {
                    o[a] = (float) p[a];
                }
                TopFieldDocs peer = FloatPointNearestNeighbor.nearest(s, "pt", k, o);
                assertEquals(what + " vs FloatPointNearestNeighbor", docs(peer.scoreDocs),
                        docs(got.scoreDocs));
            }
        }

        Set<Integer> brute(SearchType ty, double[] min, double[] max) {
            Set<Integer> out = new TreeSet<>();
            for (Map.Entry<Integer, List<double[][]>> e : model.live.entrySet()) {
                for (double[][] v : e.getValue()) {
                    if (matches(ty, v[0], v[1], min, max)) {
                        out.add(e.getKey());
                        break;
                    }
                }
            }
            return out;
        }
    }

    private static boolean matches(SearchType ty, double[] rmin, double[] rmax, double[] qmin,
            double[] qmax) {
        for (int a = 0; a < rmin.length; a++) {
            boolean ok;
            switch (ty) {
                case INTERSECTS:
                    ok = rmin[a] <= qmax[a] && rmax[a] >= qmin[a];
                    break;
                case CONTAINS:
                    ok = rmin[a] <= qmin[a] && rmax[a] >= qmax[a];
                    break;
                default:
                    ok = rmin[a] >= qmin[a] && rmax[a] <= qmax[a];
            }
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Squared differences summed in axis order, then the root: as the native kNN computes. */
    static double dist(double[] p, double[] min, double[] max) {
        double s = 0;
        for (int a = 0; a < p.length; a++) {
            double d = p[a] < min[a] ? min[a] - p[a] : p[a] > max[a] ? p[a] - max[a] : 0;
            s += d * d;
        }
        return Math.sqrt(s);
    }

    static List<Integer> docs(ScoreDoc[] hits) {
        List<Integer> out = new ArrayList<>();
        for (ScoreDoc h : hits) {
            out.add(h.doc);
        }
        return out;
    }

    /** The "key" doc values of every document matching {@code q}. */
    static Set<Integer> keys(IndexSearcher s, Query q) throws IOException {
        Set<Integer> out = new TreeSet<>();
        List<LeafReaderContext> leaves = s.getIndexReader().leaves();
        TopDocs top = s.search(q, Math.max(1, s.getIndexReader().maxDoc()));
        for (ScoreDoc sd : top.scoreDocs) {
            LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(sd.doc, leaves));
            NumericDocValues keys = leaf.reader().getNumericDocValues("key");
            if (!keys.advanceExact(sd.doc - leaf.docBase)) {
                fail("document without key");
            }
            if (!out.add((int) keys.longValue())) {
                fail("key " + keys.longValue() + " collected twice");
            }
        }
        return out;
    }

    /** Live key → global doc id. */
    static Map<Integer, Integer> docsByKey(IndexSearcher s) throws IOException {
        Map<Integer, Integer> out = new HashMap<>();
        for (LeafReaderContext leaf : s.getIndexReader().leaves()) {
            NumericDocValues keys = leaf.reader().getNumericDocValues("key");
            org.apache.lucene.util.Bits live = leaf.reader().getLiveDocs();
            if (keys == null) {
                continue;
            }
            for (int d = keys.nextDoc(); d != NumericDocValues.NO_MORE_DOCS; d = keys.nextDoc()) {
                if (live == null || live.get(d)) {
                    out.put((int) keys.longValue(), leaf.docBase + d);
                }
            }
        }
        return out;
    }

    private void run(Config c, long salt) throws IOException {
        long seed = SEED * 31 + salt;
        Run r = new Run(c, seed);
        try {
            r.writer = new IndexWriter(r.dir, r.config());
            Set<Integer> sizes = new HashSet<>();
            for (int round = 0; round < 4; round++) {
                r.write(c.docs / 4);
                try (DirectoryReader nrt = DirectoryReader.open(r.writer)) {
                    sizes.add(nrt.leaves().size());
                    r.check(nrt);
                }
                switch (r.rnd.nextInt(3)) {
                    case 0:
                        r.commit();
                        break;
                    case 1:
                        r.commit();
                        r.write(c.docs / 8);
                        r.rollback();
                        try (DirectoryReader back = DirectoryReader.open(r.dir)) {
                            r.check(back);
                        }
                        break;
                    default:
                        break;
                }
            }
            r.commit();
            try (DirectoryReader fresh = DirectoryReader.open(r.dir)) {
                assertTrue(r.where() + " several segments", fresh.leaves().size() >= 1);
                r.check(fresh);
            }
            r.writer.forceMerge(1 + r.rnd.nextInt(2));
            r.commit();
            r.writer.close();
            try (DirectoryReader fresh = DirectoryReader.open(r.dir)) {
                r.check(fresh);
            }
            try (CheckIndex ci = new CheckIndex(r.dir)) {
                CheckIndex.Status st = ci.checkIndex();
                assertTrue(r.where() + " CheckIndex", st.clean);
            }
            r.writer = null;
        } finally {
            r.close();
        }
    }
}
