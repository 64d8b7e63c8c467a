package dev.xtree.lucene;

import java.io.IOException;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FilterCodecReader;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SegmentReader;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.BitSetIterator;
import org.apache.lucene.util.FixedBitSet;

/** How a query finds the xtree of a leaf, and turns a native answer into an iterator. */
final class XTreeLeaves {
    private XTreeLeaves() {}

    /**
     * The xtree field {@code field} of the leaf's segment, or null when the segment has no such
     * field (none of its documents had it).
     *
     * @throws IllegalArgumentException if the field exists but is not an xtree field
     * @throws IllegalStateException if the segment was written by a codec without xtrees
     */
    static XTreeSegmentField segmentField(LeafReader reader, String field) throws IOException {
        FieldInfo fi = reader.getFieldInfos().fieldInfo(field);
        if (fi == null) {
            return null;
        }
        if (fi.getAttribute(XTreeFieldType.ATTR_DIMENSION) == null) {
            throw new IllegalArgumentException("field \"" + field + "\" is not an xtree field "
                    + "(index it with XTreeField)");
        }
        LeafReader r = reader;
        while (true) {
            BinaryDocValues v = r.getBinaryDocValues(field);
            if (v instanceof XTreeBinaryDocValues) {
                return ((XTreeBinaryDocValues) v).segmentField;
            }
            LeafReader inner = r instanceof FilterLeafReader ? ((FilterLeafReader) r).getDelegate()
                    : r instanceof FilterCodecReader ? ((FilterCodecReader) r).getDelegate()
                    : null;
            if (inner == null) {
                break;
            }
            r = inner;
        }
        String codec = r instanceof SegmentReader
                ? "codec " + ((SegmentReader) r).getSegmentInfo().info.getCodec().getName()
                : "a codec";
        String segment = r instanceof SegmentReader
                ? "segment " + ((SegmentReader) r).getSegmentName() : "a segment";
        throw new IllegalStateException("field \"" + field + "\" of " + segment + " has no xtree: "
                + "the segment was written with " + codec + ", which lacks xtrees; write the index "
                + "with XTreeCodec (IndexWriterConfig.setCodec(new XTreeCodec())) or a subclass");
    }

    /** Checks the query's dimension against the segment's. */
    static void checkDimension(XTreeSegmentField f, int dims, String what) {
        if (dims != f.shape.dimension()) {
            throw new IllegalArgumentException(what + " has " + dims + " dimensions, but field \""
                    + f.field + "\" has " + f.shape.dimension() + " in segment " + f.segment);
        }
    }

    /** The iterator over a native answer: an ascending {@code int[]} or bitset words. */
    static DocIdSetIterator iterator(Object answer, int maxDoc) {
        if (answer instanceof int[]) {
            return new DocArrayIterator((int[]) answer);
        }
        FixedBitSet bits = new FixedBitSet((long[]) answer, maxDoc);
        return new BitSetIterator(bits, bits.cardinality());
    }

    /** Iterates an ascending array of doc ids. */
    static final class DocArrayIterator extends DocIdSetIterator {
        private final int[] docs;
        private int i = -1;
        private int doc = -1;

        DocArrayIterator(int[] docs) {
            this.docs = docs;
        }

        @Override
        public int docID() {
            return doc;
        }

        @Override
        public int nextDoc() {
            return doc = ++i < docs.length ? docs[i] : NO_MORE_DOCS;
        }

        @Override
        public int advance(int target) {
            // Gallop from the current position, then binary-search the bracket.
            int lo = i + 1;
            int step = 1;
            int hi = lo;
            while (hi < docs.length && docs[hi] < target) {
                lo = hi + 1;
                hi += step;
                step <<= 1;
            }
            hi = Math.min(hi, docs.length - 1);
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (docs[mid] < target) {
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            i = lo;
            return doc = i < docs.length ? docs[i] : NO_MORE_DOCS;
        }

        @Override
        public long cost() {
            return docs.length;
        }
    }
}
