package dev.xtree.lucene;

import java.io.IOException;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.util.BytesRef;

/**
 * The binary doc values of an xtree field, as Lucene's delegate format returns them, carrying the
 * segment's {@link XTreeSegmentField}: the way a query reaches the tree of a leaf through the
 * ordinary {@code LeafReader.getBinaryDocValues(field)}.
 */
final class XTreeBinaryDocValues extends BinaryDocValues {
    private final BinaryDocValues in;
    final XTreeSegmentField segmentField;

    XTreeBinaryDocValues(BinaryDocValues in, XTreeSegmentField segmentField) {
        this.in = in;
        this.segmentField = segmentField;
    }

    @Override
    public BytesRef binaryValue() throws IOException {
        return in.binaryValue();
    }

    @Override
    public boolean advanceExact(int target) throws IOException {
        return in.advanceExact(target);
    }

    @Override
    public int docID() {
        return in.docID();
    }

    @Override
    public int nextDoc() throws IOException {
        return in.nextDoc();
    }

    @Override
    public int advance(int target) throws IOException {
        return in.advance(target);
    }

    @Override
    public long cost() {
        return in.cost();
    }
}
