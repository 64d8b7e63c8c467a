package dev.xtree.lucene;

import dev.xtree.SearchType;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.ConstantScoreScorer;
import org.apache.lucene.search.ConstantScoreWeight;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.ScorerSupplier;
import org.apache.lucene.search.Weight;
import org.apache.lucene.util.Bits;

/**
 * A box or point query on an {@link XTreeField}, answered per segment by the segment's xtree:
 * documents with at least one value satisfying the predicate against the closed query box
 * ({@link SearchType#INTERSECTS}: value ∩ box ≠ ∅; {@link SearchType#CONTAINS}: value ⊇ box;
 * {@link SearchType#WITHIN}: value ⊆ box). Query bounds may be infinite (open ranges). Every
 * matching document has the same score (the boost), as Lucene's point range queries.
 *
 * <p>Per segment the query crosses JNI once: the tree returns all matching doc ids as one sorted
 * array or one bitset. Deleted documents are skipped as by every Lucene query (the searcher
 * applies the live docs). {@link Weight#count} is exact and, when the segment has no deletions,
 * computed natively without producing any doc id. The {@link ScorerSupplier} reports the exact
 * number of matching documents as its cost, so {@code BooleanQuery} leads with the cheaper
 * clause. Equal queries are {@link #equals equal} (the query cache works); {@link #visit} reports
 * the query as a leaf on its field.
 *
 * <pre>{@code
 * Query paris = XTreeQuery.newBoxQuery("geo", SearchType.INTERSECTS,
 *         new double[] {2.2, 48.8}, new double[] {2.5, 48.9});
 * TopDocs top = searcher.search(paris, 10);
 * int n = searcher.count(paris);
 * }</pre>
 */
public final class XTreeQuery extends Query {
    private final String field;
    private final SearchType type;
    private final double[] min;
    private final double[] max;

    private XTreeQuery(String field, SearchType type, double[] min, double[] max) {
        this.field = Objects.requireNonNull(field, "field");
        this.type = Objects.requireNonNull(type, "type");
        Objects.requireNonNull(min, "min");
        Objects.requireNonNull(max, "max");
        if (min.length != max.length || min.length < XTreeFieldType.MIN_DIMENSION
                || min.length > XTreeFieldType.MAX_DIMENSION) {
            throw new IllegalArgumentException("min has " + min.length + " and max "
                    + max.length + " coordinates; both need the field's dimension (1..255)");
        }
        for (int i = 0; i < min.length; i++) {
            if (Double.isNaN(min[i]) || Double.isNaN(max[i])) {
                throw new IllegalArgumentException("query coordinate " + i + " is NaN");
            }
            if (min[i] > max[i]) {
                throw new IllegalArgumentException(
                        "query min " + min[i] + " > max " + max[i] + " on axis " + i);
            }
        }
        this.min = min.clone();
        this.max = max.clone();
    }

    /**
     * Documents with a value satisfying {@code type} against the box {@code [min, max]}.
     *
     * @param field the xtree field
     * @param type the predicate
     * @param min lower bounds, one per dimension (may be negative infinity)
     * @param max upper bounds, one per dimension (may be positive infinity)
     * @return the query
     * @throws IllegalArgumentException for bounds of different lengths, NaN or {@code min > max}
     * @throws NullPointerException if an argument is null
     */
    public static XTreeQuery newBoxQuery(String field, SearchType type, double[] min,
            double[] max) {
        return new XTreeQuery(field, type, min, max);
    }

    /**
     * Documents with a value that shares at least a point with the box ({@code INTERSECTS}).
     *
     * @param field the xtree field
     * @param min lower bounds
     * @param max upper bounds
     * @return the query
     */
    public static XTreeQuery newIntersectsQuery(String field, double[] min, double[] max) {
        return new XTreeQuery(field, SearchType.INTERSECTS, min, max);
    }

    /**
     * Documents with a value that contains the whole box ({@code CONTAINS}).
     *
     * @param field the xtree field
     * @param min lower bounds
     * @param max upper bounds
     * @return the query
     */
    public static XTreeQuery newContainsQuery(String field, double[] min, double[] max) {
        return new XTreeQuery(field, SearchType.CONTAINS, min, max);
    }

    /**
     * Documents with a value inside the box ({@code WITHIN}).
     *
     * @param field the xtree field
     * @param min lower bounds
     * @param max upper bounds
     * @return the query
     */
    public static XTreeQuery newWithinQuery(String field, double[] min, double[] max) {
        return new XTreeQuery(field, SearchType.WITHIN, min, max);
    }

    /**
     * Documents with a value containing {@code point} (for point values: equal to it).
     *
     * @param field the xtree field
     * @param point the point, one coordinate per dimension
     * @return the query
     * @throws IllegalArgumentException for a NaN coordinate
     */
    public static XTreeQuery newPointQuery(String field, double... point) {
        return new XTreeQuery(field, SearchType.INTERSECTS, point, point);
    }

    /**
     * The field.
     *
     * @return the field name
     */
    public String getField() {
        return field;
    }

    /**
     * The predicate.
     *
     * @return the search type
     */
    public SearchType getType() {
        return type;
    }

    /**
     * The lower bounds.
     *
     * @return a copy
     */
    public double[] getMin() {
        return min.clone();
    }

    /**
     * The upper bounds.
     *
     * @return a copy
     */
    public double[] getMax() {
        return max.clone();
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
        return new ConstantScoreWeight(this, boost) {
            @Override
            public ScorerSupplier scorerSupplier(LeafReaderContext context) throws IOException {
                XTreeSegmentField f = XTreeLeaves.segmentField(context.reader(), field);
                if (f == null || f.docsWithValue == 0) {
                    return null;
                }
                XTreeLeaves.checkDimension(f, min.length, "the query");
                SegmentTree tree = f.tree();
                Weight weight = this;
                return new ScorerSupplier() {
                    private DocIdSetIterator docs;

                    private DocIdSetIterator docs() {
                        if (docs == null) {
                            docs = XTreeLeaves.iterator(
                                    tree.search(type, min, max, f.maxDoc), f.maxDoc);
                        }
                        return docs;
                    }

                    @Override
                    public Scorer get(long leadCost) {
                        return new ConstantScoreScorer(weight, score(), scoreMode, docs());
                    }

                    @Override
                    public long cost() {
                        return docs().cost();
                    }
                };
            }

            @Override
            public Scorer scorer(LeafReaderContext context) throws IOException {
                ScorerSupplier s = scorerSupplier(context);
                return s == null ? null : s.get(Long.MAX_VALUE);
            }

            @Override
            public int count(LeafReaderContext context) throws IOException {
                LeafReader reader = context.reader();
                XTreeSegmentField f = XTreeLeaves.segmentField(reader, field);
                if (f == null || f.docsWithValue == 0) {
                    return 0;
                }
                XTreeLeaves.checkDimension(f, min.length, "the query");
                SegmentTree tree = f.tree();
                if (!reader.hasDeletions()) {
                    long n = f.singleValued() ? tree.count(type, min, max)
                            : tree.countDistinct(type, min, max, f.maxDoc);
                    return (int) n;
                }
                Bits live = reader.getLiveDocs();
                DocIdSetIterator it =
                        XTreeLeaves.iterator(tree.search(type, min, max, f.maxDoc), f.maxDoc);
                int n = 0;
                for (int d = it.nextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = it.nextDoc()) {
                    if (live == null || live.get(d)) {
                        n++;
                    }
                }
                return n;
            }

            @Override
            public boolean isCacheable(LeafReaderContext context) {
                return DocValues.isCacheable(context, field);
            }
        };
    }

    @Override
    public void visit(QueryVisitor visitor) {
        if (visitor.acceptField(field)) {
            visitor.visitLeaf(this);
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!sameClassAs(o)) {
            return false;
        }
        XTreeQuery q = (XTreeQuery) o;
        return field.equals(q.field) && type == q.type && Arrays.equals(min, q.min)
                && Arrays.equals(max, q.max);
    }

    @Override
    public int hashCode() {
        int h = classHash();
        h = 31 * h + field.hashCode();
        h = 31 * h + type.ordinal();
        h = 31 * h + Arrays.hashCode(min);
        return 31 * h + Arrays.hashCode(max);
    }

    @Override
    public String toString(String defaultField) {
        StringBuilder b = new StringBuilder();
        if (!field.equals(defaultField)) {
            b.append(field).append(':');
        }
        return b.append("XTree").append(type).append(Arrays.toString(min)).append(" TO ")
                .append(Arrays.toString(max)).toString();
    }
}
