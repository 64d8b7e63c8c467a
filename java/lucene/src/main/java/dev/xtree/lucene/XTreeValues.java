package dev.xtree.lucene;

import java.util.Arrays;
import org.apache.lucene.util.BitUtil;
import org.apache.lucene.util.BytesRef;

/**
 * The binary doc value of an xtree field in one document (FORMAT.md, "Lucene doc values of an
 * xtree field"):
 *
 * <pre>
 * byte 0      flags: bit 0 set = the records are boxes (min[d] then max[d]), clear = points
 *             (d coordinates each); bits 1..7 reserved, 0
 * byte 1..    records, each coordinate little-endian: float (precision 32) or double (64)
 * </pre>
 *
 * The record count follows from the length. The decoder checks the flags and that the length is
 * a whole number of records, so bytes that did not come from {@link XTreeField} (for example an
 * {@code updateBinaryDocValue} call) are refused with a message instead of indexed as garbage.
 */
final class XTreeValues {
    private XTreeValues() {}

    static BytesRef encode(XTreeFieldType shape, boolean boxes, int count, double[] mins,
            double[] maxs) {
        int d = shape.dimension();
        int w = shape.coordBytes();
        int per = (boxes ? 2 : 1) * d * w;
        long len = 1L + (long) count * per;
        if (len > Integer.MAX_VALUE - 64) {
            throw new IllegalArgumentException(
                    count + " values are too many for one document's xtree field");
        }
        byte[] b = new byte[(int) len];
        b[0] = (byte) (boxes ? XTreeField.FLAG_BOXES : 0);
        int at = 1;
        for (int r = 0; r < count; r++) {
            at = put(b, at, mins, r * d, d, w);
            if (boxes) {
                at = put(b, at, maxs, r * d, d, w);
            }
        }
        return new BytesRef(b);
    }

    private static int put(byte[] b, int at, double[] src, int from, int d, int w) {
        for (int i = 0; i < d; i++) {
            if (w == 4) {
                BitUtil.VH_LE_FLOAT.set(b, at, (float) src[from + i]);
            } else {
                BitUtil.VH_LE_DOUBLE.set(b, at, src[from + i]);
            }
            at += w;
        }
        return at;
    }

    /**
     * Records gathered from many documents, row-major, for one native build: growable arrays
     * of doc ids, mins and maxs (maxs only once a box is seen; until then the records are
     * points and {@code mins} are the points).
     */
    static final class Batch {
        final XTreeFieldType shape;
        int[] docs = new int[256];
        double[] mins;
        double[] maxs;
        int records;
        int docsWithValue;

        Batch(XTreeFieldType shape) {
            this.shape = shape;
            this.mins = new double[256 * shape.dimension()];
        }

        /**
         * Decodes one document's value and appends its records.
         *
         * @throws IllegalArgumentException if the bytes are not an xtree value of this shape
         */
        void add(int doc, BytesRef v, String field) {
            int d = shape.dimension();
            int w = shape.coordBytes();
            if (v.length < 1) {
                throw bad(field, doc, "is empty");
            }
            int flags = v.bytes[v.offset] & 0xff;
            if ((flags & ~XTreeField.FLAG_BOXES) != 0) {
                throw bad(field, doc, "has unknown flags " + flags);
            }
            boolean boxes = (flags & XTreeField.FLAG_BOXES) != 0;
            int per = (boxes ? 2 : 1) * d * w;
            int body = v.length - 1;
            if (body == 0 || body % per != 0) {
                throw bad(field, doc, "has " + body + " bytes of coordinates, not a positive "
                        + "multiple of " + per + " (" + (boxes ? "boxes" : "points") + " of "
                        + shape + ")");
            }
            int n = body / per;
            if (boxes && maxs == null) {
                maxs = Arrays.copyOf(mins, mins.length);
            }
            grow(records + n);
            int at = v.offset + 1;
            for (int r = 0; r < n; r++) {
                int base = (records + r) * d;
                at = get(v.bytes, at, mins, base, d, w);
                if (boxes) {
                    at = get(v.bytes, at, maxs, base, d, w);
                } else if (maxs != null) {
                    System.arraycopy(mins, base, maxs, base, d);
                }
                docs[records + r] = doc;
            }
            records += n;
            docsWithValue++;
        }

        private void grow(int need) {
            int d = shape.dimension();
            if (need > docs.length) {
                int cap = Math.max(need, docs.length + (docs.length >> 1));
                docs = Arrays.copyOf(docs, cap);
                mins = Arrays.copyOf(mins, cap * d);
                if (maxs != null) {
                    maxs = Arrays.copyOf(maxs, cap * d);
                }
            }
        }

        /** The arrays trimmed to the records, for the native build. */
        int[] docs() {
            return Arrays.copyOf(docs, records);
        }

        double[] mins() {
            return Arrays.copyOf(mins, records * shape.dimension());
        }

        /** Null when every record is a point. */
        double[] maxs() {
            return maxs == null ? null : Arrays.copyOf(maxs, records * shape.dimension());
        }

        private static IllegalArgumentException bad(String field, int doc, String what) {
            return new IllegalArgumentException("the xtree value of field \"" + field
                    + "\" in document " + doc + " " + what
                    + "; xtree fields must be written with XTreeField");
        }
    }

    private static int get(byte[] b, int at, double[] dst, int from, int d, int w) {
        for (int i = 0; i < d; i++) {
            double x = w == 4 ? (double) (float) BitUtil.VH_LE_FLOAT.get(b, at)
                    : (double) BitUtil.VH_LE_DOUBLE.get(b, at);
            dst[from + i] = x;
            at += w;
        }
        return at;
    }
}
