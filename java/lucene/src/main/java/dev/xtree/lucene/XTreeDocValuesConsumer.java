package dev.xtree.lucene;

import java.io.IOException;
import org.apache.lucene.codecs.CodecUtil;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.IndexFileNames;
import org.apache.lucene.index.MergeState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.IOUtils;

/**
 * Writes a segment's doc values through the delegate and, for each xtree field, its tree (see
 * {@link XTreeDocValuesFormat}). Flush and merge take the same path: Lucene hands {@link
 * #addBinaryField} the values of the new segment (at merge: of the live documents of the merged
 * segments, under their new doc ids), which go to the delegate and into one native bulk load.
 */
final class XTreeDocValuesConsumer extends DocValuesConsumer {
    private final DocValuesConsumer delegate;
    private final SegmentWriteState state;
    private IndexOutput meta;
    private IndexOutput data;

    XTreeDocValuesConsumer(DocValuesConsumer delegate, SegmentWriteState state) {
        this.delegate = delegate;
        this.state = state;
    }

    @Override
    public void addNumericField(FieldInfo field, DocValuesProducer values) throws IOException {
        delegate.addNumericField(field, values);
    }

    @Override
    public void addSortedField(FieldInfo field, DocValuesProducer values) throws IOException {
        delegate.addSortedField(field, values);
    }

    @Override
    public void addSortedNumericField(FieldInfo field, DocValuesProducer values)
            throws IOException {
        delegate.addSortedNumericField(field, values);
    }

    @Override
    public void addSortedSetField(FieldInfo field, DocValuesProducer values) throws IOException {
        delegate.addSortedSetField(field, values);
    }

    @Override
    public void addBinaryField(FieldInfo field, DocValuesProducer values) throws IOException {
        delegate.addBinaryField(field, values);
        XTreeFieldType shape = XTreeFieldType.fromFieldInfo(field);
        if (shape == null) {
            return;
        }
        XTreeValues.Batch batch = new XTreeValues.Batch(shape);
        BinaryDocValues v = values.getBinary(field);
        for (int doc = v.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = v.nextDoc()) {
            batch.add(doc, v.binaryValue(), field.name);
        }
        String what = "xtree of field \"" + field.name + "\" in segment "
                + state.segmentInfo.name;
        try (SegmentTree tree = SegmentTree.build(
                shape, batch.docs(), batch.mins(), batch.maxs(), what)) {
            open();
            long offset = data.getFilePointer();
            long length = tree.writeTo(data);
            meta.writeInt(field.number);
            meta.writeVInt(batch.docsWithValue);
            meta.writeVLong(batch.records);
            meta.writeVLong(offset);
            meta.writeVLong(length);
        }
    }

    private void open() throws IOException {
        if (meta != null) {
            return;
        }
        String m = IndexFileNames.segmentFileName(state.segmentInfo.name, state.segmentSuffix,
                XTreeDocValuesFormat.META_EXTENSION);
        String d = IndexFileNames.segmentFileName(state.segmentInfo.name, state.segmentSuffix,
                XTreeDocValuesFormat.DATA_EXTENSION);
        boolean ok = false;
        try {
            meta = state.directory.createOutput(m, state.context);
            CodecUtil.writeIndexHeader(meta, XTreeDocValuesFormat.META_CODEC,
                    XTreeDocValuesFormat.VERSION_CURRENT, state.segmentInfo.getId(),
                    state.segmentSuffix);
            data = state.directory.createOutput(d, state.context);
            CodecUtil.writeIndexHeader(data, XTreeDocValuesFormat.DATA_CODEC,
                    XTreeDocValuesFormat.VERSION_CURRENT, state.segmentInfo.getId(),
                    state.segmentSuffix);
            ok = true;
        } finally {
            if (!ok) {
                IOUtils.closeWhileHandlingException(meta, data);
            }
        }
    }

    /**
     * Refuses to merge segments whose field of one name has different shapes (written by
     * different writer threads or sessions): one tree cannot hold both.
     */
    @Override
    public void merge(MergeState mergeState) throws IOException {
        for (FieldInfo merged : mergeState.mergeFieldInfos) {
            XTreeFieldType shape = XTreeFieldType.fromFieldInfo(merged);
            if (shape == null) {
                continue;
            }
            for (int i = 0; i < mergeState.fieldInfos.length; i++) {
                FieldInfos infos = mergeState.fieldInfos[i];
                FieldInfo fi = infos == null ? null : infos.fieldInfo(merged.name);
                if (fi == null) {
                    continue;
                }
                XTreeFieldType other = XTreeFieldType.fromFieldInfo(fi);
                if (!shape.equals(other)) {
                    throw new IllegalArgumentException("cannot merge field \"" + merged.name
                            + "\": segment " + mergeState.segmentInfo.name + " would hold "
                            + shape + " but the segment merged in as reader " + i + " holds "
                            + (other == null ? "values that are not an xtree field" : other)
                            + "; a field keeps one shape in an index");
                }
            }
        }
        super.merge(mergeState);
    }

    @Override
    public void close() throws IOException {
        boolean ok = false;
        try {
            if (meta != null) {
                meta.writeInt(-1);
                CodecUtil.writeFooter(meta);
                CodecUtil.writeFooter(data);
            }
            ok = true;
        } finally {
            if (ok) {
                IOUtils.close(meta, data, delegate);
            } else {
                IOUtils.closeWhileHandlingException(meta, data, delegate);
            }
        }
    }
}
