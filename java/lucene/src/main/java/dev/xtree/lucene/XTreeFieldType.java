package dev.xtree.lucene;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.index.DocValuesType;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexOptions;

/**
 * The shape of an xtree field: its number of dimensions (1..255), its storage precision (32:
 * coordinates stored as {@code float}, 64: as {@code double}) and one label per dimension. A
 * field name has one shape in an index: an {@link XTreeField} whose shape differs from the one
 * its segment already holds for the name is rejected by {@code IndexWriter.addDocument} with an
 * {@link IllegalArgumentException}, and segments of different shapes refuse to merge.
 *
 * <p>Immutable and thread-safe; equal shapes are {@link #equals equal}.
 *
 * <pre>{@code
 * static final XTreeFieldType GEO = new XTreeFieldType(2, 64, "lon", "lat");
 * doc.add(XTreeField.point("geo", GEO, 2.35, 48.86));
 * }</pre>
 */
public final class XTreeFieldType {
    /** Smallest dimension. */
    public static final int MIN_DIMENSION = 1;
    /** Largest dimension (Lucene's own points stop at 8 indexed dimensions). */
    public static final int MAX_DIMENSION = 255;

    /** FieldInfo attribute keys (the shape as each segment's field infos record it). */
    static final String ATTR_DIMENSION = "xtree.dimension";
    static final String ATTR_PRECISION = "xtree.precision";
    static final String ATTR_LABELS = "xtree.labels";

    private final int dimension;
    private final int precision;
    private final String[] labels;
    private final FieldType luceneType;

    /**
     * A shape with explicit labels.
     *
     * @param dimension number of dimensions, 1..255
     * @param precision 32 or 64
     * @param labels one name per dimension: distinct, none blank; copied
     * @throws IllegalArgumentException for a dimension, precision or label outside those rules
     * @throws NullPointerException if {@code labels} or a label is null
     */
    public XTreeFieldType(int dimension, int precision, String... labels) {
        if (dimension < MIN_DIMENSION || dimension > MAX_DIMENSION) {
            throw new IllegalArgumentException(
                    "dimension " + dimension + " is outside 1.." + MAX_DIMENSION);
        }
        if (precision != 32 && precision != 64) {
            throw new IllegalArgumentException(
                    "precision " + precision + " is not supported (32 or 64)");
        }
        String[] copy = labels.clone();
        if (copy.length != dimension) {
            throw new IllegalArgumentException(
                    copy.length + " labels given for dimension " + dimension);
        }
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] == null) {
                throw new NullPointerException("labels[" + i + "]");
            }
            if (copy[i].isBlank()) {
                throw new IllegalArgumentException("labels[" + i + "] is blank");
            }
            Integer first = seen.putIfAbsent(copy[i], i);
            if (first != null) {
                throw new IllegalArgumentException("labels[" + i + "] repeats labels[" + first
                        + "] (\"" + copy[i] + "\"); labels must be distinct");
            }
        }
        this.dimension = dimension;
        this.precision = precision;
        this.labels = copy;
        this.luceneType = luceneType();
    }

    /**
     * A shape with the default labels {@code x0, x1, ...}.
     *
     * @param dimension number of dimensions, 1..255
     * @param precision 32 or 64
     * @return the shape
     * @throws IllegalArgumentException for a dimension or precision out of range
     */
    public static XTreeFieldType of(int dimension, int precision) {
        if (dimension < MIN_DIMENSION || dimension > MAX_DIMENSION) {
            throw new IllegalArgumentException(
                    "dimension " + dimension + " is outside 1.." + MAX_DIMENSION);
        }
        if (precision != 32 && precision != 64) {
            throw new IllegalArgumentException(
                    "precision " + precision + " is not supported (32 or 64)");
        }
        // Cached: XTreeField.point(name, coords...) asks for one per document.
        int slot = 2 * dimension + (precision == 64 ? 1 : 0);
        XTreeFieldType t = DEFAULTS[slot];
        if (t == null) {
            String[] labels = new String[dimension];
            for (int i = 0; i < dimension; i++) {
                labels[i] = "x" + i;
            }
            t = new XTreeFieldType(dimension, precision, labels);
            DEFAULTS[slot] = t; // a benign race: equal instances
        }
        return t;
    }

    private static final XTreeFieldType[] DEFAULTS = new XTreeFieldType[2 * MAX_DIMENSION + 2];

    /**
     * Number of dimensions.
     *
     * @return 1..255
     */
    public int dimension() {
        return dimension;
    }

    /**
     * Storage precision in bits.
     *
     * @return 32 or 64
     */
    public int precision() {
        return precision;
    }

    /**
     * The labels, one per dimension.
     *
     * @return a copy
     */
    public String[] labels() {
        return labels.clone();
    }

    String[] labelsShared() {
        return labels;
    }

    /**
     * The Lucene field type of fields of this shape: binary doc values (the coordinates), indexed
     * with {@link IndexOptions#DOCS} but never producing a term (the indexing hook that checks
     * each document's shape, see {@link XTreeField}), norms omitted, not stored, and the shape as
     * FieldInfo attributes.
     */
    FieldType fieldType() {
        return luceneType;
    }

    private FieldType luceneType() {
        FieldType t = new FieldType();
        t.setDocValuesType(DocValuesType.BINARY);
        t.setIndexOptions(IndexOptions.DOCS);
        t.setOmitNorms(true);
        t.setTokenized(false);
        t.setStored(false);
        t.putAttribute(ATTR_DIMENSION, Integer.toString(dimension));
        t.putAttribute(ATTR_PRECISION, Integer.toString(precision));
        t.putAttribute(ATTR_LABELS, encodeLabels(labels));
        t.freeze();
        return t;
    }

    /** Labels as one attribute value: each as its length in chars, ':', then the label. */
    static String encodeLabels(String[] labels) {
        StringBuilder b = new StringBuilder();
        for (String l : labels) {
            b.append(l.length()).append(':').append(l);
        }
        return b.toString();
    }

    static String[] decodeLabels(String s) {
        List<String> out = new ArrayList<>();
        int at = 0;
        while (at < s.length()) {
            int colon = s.indexOf(':', at);
            if (colon < 0) {
                throw new IllegalArgumentException("malformed xtree labels attribute: " + s);
            }
            int n;
            try {
                n = Integer.parseInt(s.substring(at, colon));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("malformed xtree labels attribute: " + s, e);
            }
            if (n < 0 || colon + 1 + n > s.length()) {
                throw new IllegalArgumentException("malformed xtree labels attribute: " + s);
            }
            out.add(s.substring(colon + 1, colon + 1 + n));
            at = colon + 1 + n;
        }
        return out.toArray(new String[0]);
    }

    /**
     * The shape a segment's field infos record for {@code fi}, or null when the field is not an
     * xtree field.
     *
     * @throws IllegalArgumentException when the attributes are present but malformed
     */
    static XTreeFieldType fromFieldInfo(FieldInfo fi) {
        String d = fi.getAttribute(ATTR_DIMENSION);
        if (d == null) {
            return null;
        }
        String p = fi.getAttribute(ATTR_PRECISION);
        String l = fi.getAttribute(ATTR_LABELS);
        if (p == null || l == null) {
            throw new IllegalArgumentException("field \"" + fi.name
                    + "\" has an incomplete xtree shape in its field infos");
        }
        try {
            return new XTreeFieldType(Integer.parseInt(d), Integer.parseInt(p), decodeLabels(l));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "field \"" + fi.name + "\" has a malformed xtree shape", e);
        }
    }

    /** Bytes per stored coordinate. */
    int coordBytes() {
        return precision / 8;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof XTreeFieldType)) {
            return false;
        }
        XTreeFieldType t = (XTreeFieldType) o;
        return dimension == t.dimension && precision == t.precision
                && Arrays.equals(labels, t.labels);
    }

    @Override
    public int hashCode() {
        return (31 * dimension + precision) * 31 + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "XTreeFieldType(dimension=" + dimension + ", precision=" + precision + ", labels="
                + Arrays.toString(labels) + ")";
    }
}
