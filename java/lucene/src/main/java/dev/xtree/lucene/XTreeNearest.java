package dev.xtree.lucene;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.FieldDoc;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TopFieldDocs;
import org.apache.lucene.search.TotalHits;
import org.apache.lucene.util.Bits;

/**
 * Exact k-nearest-neighbour search over an {@link XTreeField} through an {@link IndexSearcher}:
 * the {@code k} live documents nearest to a point, by the Euclidean distance from the point to
 * the nearest of the document's values (a box's distance is to its closest point; 0 inside),
 * ties broken by doc id.
 *
 * <p>Per segment the tree answers in one JNI call (ids and distances); documents deleted in the
 * segment are skipped, and when deletions (or several values per document) leave fewer than
 * {@code k} documents the segment is asked again for twice as many. The segments' answers are
 * then merged.
 *
 * <pre>{@code
 * TopFieldDocs near = XTreeNearest.nearest(searcher, "geo", 5, 2.35, 48.86);
 * for (ScoreDoc sd : near.scoreDocs) {
 *     double distance = (Double) ((FieldDoc) sd).fields[0];   // exact; sd.score is (float)
 * }
 * }</pre>
 */
public final class XTreeNearest {
    private XTreeNearest() {}

    /**
     * The {@code k} documents nearest to {@code point}, nearest first.
     *
     * @param searcher the searcher (its reader's leaves are searched in turn)
     * @param field the xtree field
     * @param k how many documents, at least 0
     * @param point the query point, one finite coordinate per dimension
     * @return hits nearest first: each a {@link FieldDoc} with the distance as {@code score}
     *     (rounded to {@code float}) and exactly as {@code fields[0]} (a {@link Double}); {@code
     *     totalHits} is the number of hits returned
     * @throws IllegalArgumentException for a negative {@code k}, a NaN or infinite coordinate, or
     *     a point of the wrong dimension
     * @throws IOException if a segment's tree cannot be read
     */
    public static TopFieldDocs nearest(IndexSearcher searcher, String field, int k,
            double... point) throws IOException {
        Objects.requireNonNull(searcher, "searcher");
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(point, "point");
        if (k < 0) {
            throw new IllegalArgumentException("k " + k + " is negative");
        }
        for (int i = 0; i < point.length; i++) {
            if (!Double.isFinite(point[i])) {
                throw new IllegalArgumentException("point coordinate " + i + " is " + point[i]);
            }
        }
        List<double[]> all = new ArrayList<>();
        if (k > 0) {
            for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                leafNearest(leaf, field, k, point, all);
            }
        }
        all.sort((a, b) -> {
            int c = Double.compare(a[0], b[0]);
            return c != 0 ? c : Double.compare(a[1], b[1]);
        });
        int n = Math.min(k, all.size());
        FieldDoc[] hits = new FieldDoc[n];
        for (int i = 0; i < n; i++) {
            double d = all.get(i)[0];
            hits[i] = new FieldDoc((int) all.get(i)[1], (float) d, new Object[] {d});
        }
        SortField sort = new SortField("distance(" + field + ")", SortField.Type.DOUBLE);
        return new TopFieldDocs(new TotalHits(n, TotalHits.Relation.EQUAL_TO), hits,
                new SortField[] {sort});
    }

    /** Adds the leaf's {@code k} nearest live documents to {@code out} as (distance, doc). */
    private static void leafNearest(LeafReaderContext leaf, String field, int k, double[] point,
            List<double[]> out) throws IOException {
        XTreeSegmentField f = XTreeLeaves.segmentField(leaf.reader(), field);
        if (f == null || f.records == 0) {
            return;
        }
        XTreeLeaves.checkDimension(f, point.length, "the query point");
        SegmentTree tree = f.tree();
        Bits live = leaf.reader().getLiveDocs();
        long ask = k;
        while (true) {
            int want = (int) Math.min(ask, Math.min(f.records, Integer.MAX_VALUE - 16));
            double[] dist = new double[want];
            long[] ids = tree.nearest(point, want, dist);
            List<double[]> found = new ArrayList<>(Math.min(k, ids.length));
            java.util.BitSet seen = new java.util.BitSet();
            for (int i = 0; i < ids.length && found.size() < k; i++) {
                int doc = (int) ids[i];
                if ((live != null && !live.get(doc)) || seen.get(doc)) {
                    continue;
                }
                seen.set(doc);
                found.add(new double[] {dist[i], leaf.docBase + doc});
            }
            if (found.size() >= k || ids.length < want || want >= f.records) {
                out.addAll(found);
                return;
            }
            ask = 2 * ask;
        }
    }
}
