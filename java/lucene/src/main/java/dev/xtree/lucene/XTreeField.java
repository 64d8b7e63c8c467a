package dev.xtree.lucene;

import java.util.Arrays;
import java.util.Objects;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.InvertableType;
import org.apache.lucene.util.BytesRef;

/**
 * A document field holding one or more points or boxes of 1..255 dimensions, indexed by an xtree
 * per segment when the index is written with {@link XTreeCodec}. Query it with {@link
 * XTreeQuery} and {@link XTreeNearest}.
 *
 * <p>A document has at most one {@code XTreeField} per name (Lucene allows one binary doc value
 * per field and document), holding any number of values: add them with {@link #addPoint} and
 * {@link #addBox}. Each value is checked when added (its number of coordinates, NaN, infinity,
 * {@code min > max}, the range of {@code float} at precision 32): bad input throws {@link
 * IllegalArgumentException} and is not added. Coordinates are stored at the shape's precision:
 * at 32 bits points are rounded to the nearest {@code float} and boxes outward, as {@link
 * dev.xtree.IndexDetails} stores them.
 *
 * <p>A field name has one {@link XTreeFieldType shape} in an index. {@code
 * IndexWriter.addDocument} rejects, with an {@link IllegalArgumentException} and without harm to
 * the writer, a document whose field has a different shape than the documents before it in the
 * same segment; segments of different shapes for one name (written by different writer threads
 * or sessions) refuse to merge and make queries on the field throw.
 *
 * <pre>{@code
 * Document doc = new Document();
 * doc.add(XTreeField.point("geo", 2.35, 48.86));                 // 2 dims, precision 64
 * doc.add(new XTreeField("zones", ZONES)                          // a shape of 3 dims
 *         .addBox(new double[] {0, 0, 0}, new double[] {1, 2, 3})
 *         .addBox(new double[] {5, 5, 5}, new double[] {6, 6, 6}));
 * }</pre>
 *
 * <p>How it is indexed: binary doc values hold the coordinates of each document (see FORMAT.md),
 * the codec builds the segment's tree from them at flush and merge, and the field is "indexed"
 * without producing any term: the token stream Lucene asks of it is the hook through which a
 * document's shape is compared with its segment's while {@code addDocument} runs.
 */
public final class XTreeField extends Field {
    /** Flag of the encoded value: records are boxes (min then max) rather than points. */
    static final int FLAG_BOXES = 1;

    private final XTreeFieldType shape;
    /** Stored coordinates, row-major: per record {@code dimension} mins then (boxes) maxs. */
    private double[] mins = new double[0];
    private double[] maxs = new double[0];
    private int count;
    private boolean boxes;
    private BytesRef encoded;

    /**
     * An empty field of this shape; add values before adding it to a document.
     *
     * @param name the field name
     * @param shape the field's shape
     * @throws NullPointerException if an argument is null
     */
    public XTreeField(String name, XTreeFieldType shape) {
        super(Objects.requireNonNull(name, "name"),
                Objects.requireNonNull(shape, "shape").fieldType());
        this.shape = shape;
    }

    /**
     * A field holding one point, of shape {@code XTreeFieldType.of(point.length, 64)}.
     *
     * @param name the field name
     * @param point the coordinates, 1..255 of them
     * @return the field
     * @throws IllegalArgumentException for a bad coordinate count or value
     */
    public static XTreeField point(String name, double... point) {
        return new XTreeField(name, XTreeFieldType.of(point.length, 64)).addPoint(point);
    }

    /**
     * A field of {@code shape} holding one point.
     *
     * @param name the field name
     * @param shape the field's shape
     * @param point {@code shape.dimension()} coordinates
     * @return the field
     * @throws IllegalArgumentException for a bad coordinate count or value
     */
    public static XTreeField point(String name, XTreeFieldType shape, double... point) {
        return new XTreeField(name, shape).addPoint(point);
    }

    /**
     * A field holding one box, of shape {@code XTreeFieldType.of(min.length, 64)}.
     *
     * @param name the field name
     * @param min lower bounds, 1..255 of them
     * @param max upper bounds, as many
     * @return the field
     * @throws IllegalArgumentException for bad bounds
     */
    public static XTreeField box(String name, double[] min, double[] max) {
        return new XTreeField(name, XTreeFieldType.of(min.length, 64)).addBox(min, max);
    }

    /**
     * A field of {@code shape} holding one box.
     *
     * @param name the field name
     * @param shape the field's shape
     * @param min {@code shape.dimension()} lower bounds
     * @param max {@code shape.dimension()} upper bounds
     * @return the field
     * @throws IllegalArgumentException for bad bounds
     */
    public static XTreeField box(String name, XTreeFieldType shape, double[] min, double[] max) {
        return new XTreeField(name, shape).addBox(min, max);
    }

    /**
     * Adds a point value.
     *
     * @param point {@link XTreeFieldType#dimension()} finite coordinates
     * @return this field
     * @throws NullPointerException if {@code point} is null
     * @throws IllegalArgumentException for a wrong coordinate count, NaN, infinity, or a value
     *     outside the range of {@code float} at precision 32
     */
    public XTreeField addPoint(double... point) {
        Objects.requireNonNull(point, "point");
        checkLength("point", point);
        double[] stored = new double[point.length];
        for (int i = 0; i < point.length; i++) {
            stored[i] = storePoint(point[i], i);
        }
        append(stored, stored);
        return this;
    }

    /**
     * Adds a box value (a box with {@code min == max} is a point).
     *
     * @param min {@link XTreeFieldType#dimension()} finite lower bounds
     * @param max {@link XTreeFieldType#dimension()} finite upper bounds, {@code max[i] >= min[i]}
     * @return this field
     * @throws NullPointerException if a bound is null
     * @throws IllegalArgumentException for a wrong coordinate count, NaN, infinity, {@code min >
     *     max}, or a value outside the range of {@code float} at precision 32
     */
    public XTreeField addBox(double[] min, double[] max) {
        Objects.requireNonNull(min, "min");
        Objects.requireNonNull(max, "max");
        checkLength("min", min);
        checkLength("max", max);
        for (int i = 0; i < min.length; i++) {
            if (Double.isNaN(min[i]) || Double.isNaN(max[i])) {
                throw new IllegalArgumentException(name + ": coordinate " + i + " is NaN");
            }
            if (min[i] > max[i]) {
                throw new IllegalArgumentException(
                        name + ": min " + min[i] + " > max " + max[i] + " on axis " + i);
            }
        }
        if (Arrays.equals(min, max)) {
            return addPoint(min);
        }
        double[] lo = new double[min.length];
        double[] hi = new double[max.length];
        for (int i = 0; i < min.length; i++) {
            lo[i] = storeBound(min[i], i, false);
            hi[i] = storeBound(max[i], i, true);
        }
        boxes = true;
        append(lo, hi);
        return this;
    }

    /**
     * The shape of this field.
     *
     * @return the shape
     */
    public XTreeFieldType shape() {
        return shape;
    }

    /**
     * Number of values added.
     *
     * @return the count
     */
    public int valueCount() {
        return count;
    }

    private void checkLength(String what, double[] v) {
        if (v.length != shape.dimension()) {
            throw new IllegalArgumentException("XTreeField \"" + name + "\": " + what + " has "
                    + v.length + " coordinates, but the field has dimension "
                    + shape.dimension());
        }
    }

    private double storePoint(double x, int axis) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException(
                    name + ": coordinate " + axis + " is " + x + " (stored values are finite)");
        }
        if (shape.precision() == 64) {
            return x;
        }
        float f = (float) x;
        if (Float.isInfinite(f)) {
            throw new IllegalArgumentException(name + ": coordinate " + axis + " (" + x
                    + ") is outside the range of precision 32");
        }
        return f;
    }

    private double storeBound(double x, int axis, boolean up) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException(
                    name + ": coordinate " + axis + " is " + x + " (stored values are finite)");
        }
        if (shape.precision() == 64) {
            return x;
        }
        float f = (float) x;
        if (up && f < x) {
            f = Math.nextUp(f);
        } else if (!up && f > x) {
            f = Math.nextDown(f);
        }
        if (Float.isInfinite(f)) {
            throw new IllegalArgumentException(name + ": coordinate " + axis + " (" + x
                    + ") is outside the range of precision 32");
        }
        return f;
    }

    private void append(double[] lo, double[] hi) {
        int d = shape.dimension();
        int need = (count + 1) * d;
        if (need > mins.length) {
            int cap = Math.max(need, mins.length * 2);
            mins = Arrays.copyOf(mins, cap);
            maxs = Arrays.copyOf(maxs, cap);
        }
        System.arraycopy(lo, 0, mins, count * d, d);
        System.arraycopy(hi, 0, maxs, count * d, d);
        count++;
        encoded = null;
    }

    /**
     * The encoded values (FORMAT.md, "Lucene doc values of an xtree field"): a flags byte, then
     * per value its coordinates little-endian at the field's precision.
     *
     * @throws IllegalArgumentException if no value was added
     */
    @Override
    public BytesRef binaryValue() {
        if (count == 0) {
            throw new IllegalArgumentException("XTreeField \"" + name + "\" has no value");
        }
        if (encoded == null) {
            encoded = XTreeValues.encode(shape, boxes, count, mins, maxs);
        }
        return encoded;
    }

    @Override
    public InvertableType invertableType() {
        return InvertableType.TOKEN_STREAM;
    }

    /**
     * The shape check: Lucene passes back, as {@code reuse}, the stream the previous field of this
     * name in the same segment returned, which carries that field's shape.
     *
     * @throws IllegalArgumentException if that shape differs from this field's
     */
    @Override
    public TokenStream tokenStream(Analyzer analyzer, TokenStream reuse) {
        if (reuse instanceof ShapeCheck) {
            ShapeCheck previous = (ShapeCheck) reuse;
            if (!previous.shape.equals(shape)) {
                throw new IllegalArgumentException("XTreeField \"" + name + "\" has shape "
                        + shape + ", but the field has " + previous.shape
                        + " in this segment; a field keeps one dimension, precision and labels");
            }
            return previous;
        }
        return new ShapeCheck(shape);
    }

    @Override
    public String toString() {
        return "XTreeField<" + name + ": " + count + (boxes ? " boxes" : " points") + ", "
                + shape + ">";
    }

    /** A token stream without tokens that remembers the shape of the field that made it. */
    static final class ShapeCheck extends TokenStream {
        final XTreeFieldType shape;

        ShapeCheck(XTreeFieldType shape) {
            this.shape = shape;
        }

        @Override
        public boolean incrementToken() {
            return false;
        }
    }
}
