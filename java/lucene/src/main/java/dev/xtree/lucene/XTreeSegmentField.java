package dev.xtree.lucene;

import java.io.Closeable;
import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.store.AlreadyClosedException;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.Accountable;

/**
 * One xtree field of one segment: its shape, how many documents and records it holds, and its
 * tree, read from the segment's data file into native memory on first use and kept until the
 * segment closes. Thread-safe.
 */
final class XTreeSegmentField implements Accountable, Closeable {
    final String field;
    final XTreeFieldType shape;
    final String segment;
    final int maxDoc;
    /** Documents with a value. */
    final int docsWithValue;
    /** Records (values) over all documents; equal to {@link #docsWithValue} when single-valued. */
    final long records;
    private final IndexInput data;
    private final long offset;
    private final long length;
    private volatile SegmentTree tree;
    private boolean closed;

    XTreeSegmentField(String field, XTreeFieldType shape, String segment, int maxDoc,
            int docsWithValue, long records, IndexInput data, long offset, long length) {
        this.field = field;
        this.shape = shape;
        this.segment = segment;
        this.maxDoc = maxDoc;
        this.docsWithValue = docsWithValue;
        this.records = records;
        this.data = data;
        this.offset = offset;
        this.length = length;
    }

    /** True when every document with a value has exactly one. */
    boolean singleValued() {
        return records == docsWithValue;
    }

    /**
     * The tree, read and validated on the first call.
     *
     * @throws CorruptIndexException if its bytes are damaged or do not match the field infos
     * @throws AlreadyClosedException if the segment is closed
     */
    SegmentTree tree() throws IOException {
        SegmentTree t = tree;
        if (t != null) {
            return t;
        }
        synchronized (this) {
            if (closed) {
                throw new AlreadyClosedException(this + " is closed");
            }
            if (tree == null) {
                tree = load();
            }
            return tree;
        }
    }

    private SegmentTree load() throws IOException {
        String what = toString();
        IndexInput in = data.clone();
        in.seek(offset);
        SegmentTree t;
        try (SegmentTree.Bytes bytes = new SegmentTree.Bytes(in, length, length, what)) {
            t = bytes.load(what, String.valueOf(data));
        }
        boolean ok = false;
        try {
            if (t.dimension() != shape.dimension() || t.precision() != shape.precision()
                    || !Arrays.equals(t.labels(), shape.labelsShared())
                    || t.size() != records) {
                throw new CorruptIndexException(what + ": the tree (dimension " + t.dimension()
                        + ", precision " + t.precision() + ", " + t.size() + " records) does not "
                        + "match the field infos (" + shape + ", " + records + " records)",
                        String.valueOf(data));
            }
            ok = true;
            return t;
        } finally {
            if (!ok) {
                t.close();
            }
        }
    }

    @Override
    public long ramBytesUsed() {
        SegmentTree t = tree;
        return t == null ? 0 : t.ramBytesUsed();
    }

    @Override
    public synchronized void close() {
        closed = true;
        SegmentTree t = tree;
        tree = null;
        if (t != null) {
            t.close();
        }
    }

    @Override
    public String toString() {
        return "xtree of field \"" + field + "\" in segment " + segment;
    }
}
