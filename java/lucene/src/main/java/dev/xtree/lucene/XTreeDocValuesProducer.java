package dev.xtree.lucene;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.SortedNumericDocValues;
import org.apache.lucene.index.SortedSetDocValues;
import org.apache.lucene.store.ChecksumIndexInput;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.util.Accountable;
import org.apache.lucene.util.IOUtils;

/**
 * Reads a segment's doc values through the delegate and holds the segment's xtrees (see {@link
 * XTreeDocValuesFormat}). Lucene opens one producer per segment core and doc values generation
 * and shares it between every reader of the segment (NRT reopens included); so the trees,
 * loaded on first use, are loaded once per segment and freed by {@link #close()}.
 */
final class XTreeDocValuesProducer extends DocValuesProducer implements Accountable {
    private final DocValuesProducer delegate;
    /** Entries by field name; empty when the segment has no xtree field. */
    private final Map<String, XTreeSegmentField> fields;
    private final IndexInput data;

    XTreeDocValuesProducer(DocValuesProducer delegate, SegmentReadState state)
            throws IOException {
        this.delegate = delegate;
        boolean any = false;
        for (FieldInfo fi : state.fieldInfos) {
            any |= XTreeFieldType.fromFieldInfo(fi) != null;
        }
        if (!any) {
            this.fields = Collections.emptyMap();
            this.data = null;
            return;
        }
        String segment = state.segmentInfo.name;
        int maxDoc = state.segmentInfo.maxDoc();
        String metaName = IndexFileNames.segmentFileName(segment, state.segmentSuffix,
                XTreeDocValuesFormat.META_EXTENSION);
        String dataName = IndexFileNames.segmentFileName(segment, state.segmentSuffix,
                XTreeDocValuesFormat.DATA_EXTENSION);
        List<long[]> rows = new ArrayList<>();
        try (ChecksumIndexInput in = state.directory.openChecksumInput(metaName,
                IOContext.READONCE)) {
            Throwable prior = null;
            try {
                CodecUtil.checkIndexHeader(in, XTreeDocValuesFormat.META_CODEC,
                        XTreeDocValuesFormat.VERSION_START, XTreeDocValuesFormat.VERSION_CURRENT,
                        state.segmentInfo.getId(), state.segmentSuffix);
                for (int number = in.readInt(); number != -1; number = in.readInt()) {
                    rows.add(new long[] {number, in.readVInt(), in.readVLong(), in.readVLong(),
                        in.readVLong()});
                }
            } catch (Throwable t) {
                prior = t;
            } finally {
                CodecUtil.checkFooter(in, prior);
            }
        }
        IndexInput d = state.directory.openInput(dataName, state.context);
        boolean ok = false;
        try {
            CodecUtil.checkIndexHeader(d, XTreeDocValuesFormat.DATA_CODEC,
                    XTreeDocValuesFormat.VERSION_START, XTreeDocValuesFormat.VERSION_CURRENT,
                    state.segmentInfo.getId(), state.segmentSuffix);
            long start = d.getFilePointer();
            CodecUtil.retrieveChecksum(d);
            long end = d.length() - CodecUtil.footerLength();
            Map<String, XTreeSegmentField> byName = new HashMap<>();
            for (long[] r : rows) {
                FieldInfo fi = r[0] < 0 || r[0] > Integer.MAX_VALUE ? null
                        : state.fieldInfos.fieldInfo((int) r[0]);
                XTreeFieldType shape = fi == null ? null : XTreeFieldType.fromFieldInfo(fi);
                if (shape == null) {
                    throw new CorruptIndexException(
                            "entry for field number " + r[0] + ", which is no xtree field", in(metaName));
                }
                long docs = r[1];
                long records = r[2];
                long offset = r[3];
                long length = r[4];
                if (docs < 0 || docs > maxDoc || records < docs || offset < start
                        || length < 0 || offset > end - length) {
                    throw new CorruptIndexException("entry of field \"" + fi.name + "\" is out of"
                            + " range (docs " + docs + ", records " + records + ", offset "
                            + offset + ", length " + length + ")", in(metaName));
                }
                if (byName.put(fi.name, new XTreeSegmentField(fi.name, shape, segment, maxDoc,
                        (int) docs, records, d, offset, length)) != null) {
                    throw new CorruptIndexException(
                            "two entries for field \"" + fi.name + "\"", in(metaName));
                }
            }
            this.fields = byName;
            this.data = d;
            ok = true;
        } finally {
            if (!ok) {
                IOUtils.closeWhileHandlingException(d);
            }
        }
    }

    private static String in(String file) {
        return "segment file " + file;
    }

    @Override
    public BinaryDocValues getBinary(FieldInfo field) throws IOException {
        XTreeSegmentField f = fields.get(field.name);
        // For an xtree field the delegate's values are opened only when iterated: a query that
        // fetches the values just to reach the tree pays nothing for them.
        return f == null ? delegate.getBinary(field)
                : new XTreeBinaryDocValues(() -> delegate.getBinary(field), f);
    }

    @Override
    public NumericDocValues getNumeric(FieldInfo field) throws IOException {
        return delegate.getNumeric(field);
    }

    @Override
    public SortedDocValues getSorted(FieldInfo field) throws IOException {
        return delegate.getSorted(field);
    }

    @Override
    public SortedNumericDocValues getSortedNumeric(FieldInfo field) throws IOException {
        return delegate.getSortedNumeric(field);
    }

    @Override
    public SortedSetDocValues getSortedSet(FieldInfo field) throws IOException {
        return delegate.getSortedSet(field);
    }

    /** Verifies the delegate's files and the checksum of the whole xtree data file. */
    @Override
    public void checkIntegrity() throws IOException {
        delegate.checkIntegrity();
        if (data != null) {
            CodecUtil.checksumEntireFile(data.clone());
        }
    }

    /** Native bytes of the trees loaded so far. */
    @Override
    public long ramBytesUsed() {
        long sum = 0;
        for (XTreeSegmentField f : fields.values()) {
            sum += f.ramBytesUsed();
        }
        return sum;
    }

    @Override
    public Collection<Accountable> getChildResources() {
        return Collections.unmodifiableCollection(new ArrayList<Accountable>(fields.values()));
    }

    @Override
    public void close() throws IOException {
        List<java.io.Closeable> all = new ArrayList<>(fields.values());
        all.add(data);
        all.add(delegate);
        IOUtils.close(all);
    }

    @Override
    public String toString() {
        return "XTreeDocValuesProducer(fields=" + fields.keySet() + ", delegate=" + delegate + ")";
    }
}
