package dev.xtree.lucene;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.util.BytesRef;

/**
 * The binary doc values of an xtree field, as the delegate format returns them (opened on first
 * use), carrying the segment's {@link XTreeSegmentField}: the way a query reaches the tree of a
 * leaf through the ordinary {@code LeafReader.getBinaryDocValues(field)}.
 */
final class XTreeBinaryDocValues extends BinaryDocValues {
    /** Opens the delegate's values. */
    interface Opener {
        BinaryDocValues open() throws IOException;
    }

    private final Opener opener;
    private BinaryDocValues in;
    final XTreeSegmentField segmentField;

    XTreeBinaryDocValues(Opener opener, XTreeSegmentField segmentField) {
        this.opener = opener;
        this.segmentField = segmentField;
    }

    private BinaryDocValues in() throws IOException {
        if (in == null) {
            in = opener.open();
        }
        return in;
    }

    @Override
    public BytesRef binaryValue() throws IOException {
        return in().binaryValue();
    }

    @Override
    public boolean advanceExact(int target) throws IOException {
        return in().advanceExact(target);
    }

    @Override
    public int docID() {
        return in == null ? -1 : in.docID();
    }

    @Override
    public int nextDoc() throws IOException {
        return in().nextDoc();
    }

    @Override
    public int advance(int target) throws IOException {
        return in().advance(target);
    }

    @Override
    public long cost() {
        try {
            return in().cost();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
