package dev.xtree.lucene;

import java.io.IOException;
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
        // The running top k over the leaves seen so far, nearest first: (distance, global doc).
        Top top = new Top(k);
        if (k > 0) {
            for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
                leafNearest(leaf, field, k, point, top);
            }
        }
        FieldDoc[] hits = new FieldDoc[top.n];
        for (int i = 0; i < top.n; i++) {
            double d = top.dist[i];
            hits[i] = new FieldDoc(top.doc[i], (float) d, new Object[] {d});
        }
        SortField sort = new SortField("distance(" + field + ")", SortField.Type.DOUBLE);
        return new TopFieldDocs(new TotalHits(top.n, TotalHits.Relation.EQUAL_TO), hits,
                new SortField[] {sort});
    }

    /** Up to k (distance, doc) pairs in (distance, doc) order. */
    private static final class Top {
        final int k;
        int n;
        double[] dist;
        int[] doc;

        Top(int k) {
            this.k = k;
            this.dist = new double[0];
            this.doc = new int[0];
        }

        /** Merges a leaf's sorted answer (docs ascending within equal distances) into the top. */
        void merge(double[] d2, int[] doc2, int n2) {
            int m = Math.min(k, n + n2);
            double[] nd = new double[m];
            int[] ndoc = new int[m];
            int i = 0;
            int j = 0;
            for (int o = 0; o < m; o++) {
                boolean left = j >= n2 || (i < n && (dist[i] < d2[j]
                        || (dist[i] == d2[j] && doc[i] < doc2[j])));
                if (left) {
                    nd[o] = dist[i];
                    ndoc[o] = doc[i++];
                } else {
                    nd[o] = d2[j];
                    ndoc[o] = doc2[j++];
                }
            }
            dist = nd;
            doc = ndoc;
            n = m;
        }
    }

    /** Merges the leaf's {@code k} nearest live documents into {@code top}. */
    private static void leafNearest(LeafReaderContext leaf, String field, int k, double[] point,
            Top top) throws IOException {
        XTreeSegmentField f = XTreeLeaves.segmentField(leaf.reader(), field);
        if (f == null || f.records == 0) {
            return;
        }
        XTreeLeaves.checkDimension(f, point.length, "the query point");
        SegmentTree tree = f.tree();
        Bits live = leaf.reader().getLiveDocs();
        boolean filter = live != null || !f.singleValued();
        long ask = k;
        while (true) {
            int want = (int) Math.min(ask, Math.min(f.records, Integer.MAX_VALUE - 16));
            double[] dist = new double[want];
            long[] ids = tree.nearest(point, want, dist);
            int[] docs = new int[Math.min(k, ids.length)];
            double[] kept = filter ? new double[docs.length] : dist;
            int n = 0;
            // Only a multi-valued field can return a document twice (its nearer value first).
            java.util.Set<Integer> seen = f.singleValued() ? null : new java.util.HashSet<>();
            for (int i = 0; i < ids.length && n < k; i++) {
                int doc = (int) ids[i];
                if (filter) {
                    if ((live != null && !live.get(doc)) || (seen != null && !seen.add(doc))) {
                        continue;
                    }
                    kept[n] = dist[i];
                }
                docs[n++] = leaf.docBase + doc;
            }
            if (n >= k || ids.length < want || want >= f.records) {
                top.merge(kept, docs, n);
                return;
            }
            ask = 2 * ask;
        }
    }
}
