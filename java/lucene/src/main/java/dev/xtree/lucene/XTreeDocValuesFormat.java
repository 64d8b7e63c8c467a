package dev.xtree.lucene;

import java.io.IOException;
import java.util.Objects;
import org.apache.lucene.codecs.DocValuesConsumer;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.DocValuesProducer;
import org.apache.lucene.codecs.lucene90.Lucene90DocValuesFormat;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;

/**
 * The doc values format that builds the xtrees: it delegates every field to another doc values
 * format (the values themselves stay Lucene doc values) and, for each xtree field (a field whose
 * field infos carry an {@link XTreeFieldType} shape, i.e. written through {@link XTreeField}),
 * also builds the segment's tree from the field's values and writes it to two segment files:
 *
 * <ul>
 *   <li>{@code _N[_suffix].xtm}, the meta file: one entry per xtree field (field number, docs,
 *       records, where its tree is), read and checksummed whole when the segment opens;
 *   <li>{@code _N[_suffix].xtd}, the data file: the trees' bytes, one after the other.
 * </ul>
 *
 * Both carry a {@code CodecUtil} index header (codec name, version, segment id and suffix) and
 * footer (CRC-32), so {@code checkIntegrity()} and {@code CheckIndex} verify them (FORMAT.md,
 * "Lucene segment files"). At flush the values of the new segment are bulk-loaded into a tree; at
 * merge the tree is rebuilt from the merged segment's values, which Lucene has already stripped of
 * deleted documents and renumbered. Segments without an xtree field get no such file.
 *
 * <p>Reading: the meta file is read when the segment's doc values open (once per segment core
 * and doc values generation, shared by every reader of the segment); each tree is read into
 * native memory the first time a query needs it, once, and freed when the segment closes.
 *
 * <p>{@link XTreeCodec} uses this format around its delegate's doc values format; it is also
 * registered by name ({@value #NAME}, over {@link Lucene90DocValuesFormat}) for use inside a
 * {@code PerFieldDocValuesFormat}.
 */
public final class XTreeDocValuesFormat extends DocValuesFormat {
    /** The SPI name of this format over Lucene90DocValuesFormat. */
    public static final String NAME = "XTreeDocValues";
    static final String META_CODEC = "XTreeMeta";
    static final String DATA_CODEC = "XTreeData";
    static final String META_EXTENSION = "xtm";
    static final String DATA_EXTENSION = "xtd";
    /** Version of the two segment files; see FORMAT.md for the history. */
    static final int VERSION_START = 0;
    /** Version 1: the trees are tree bytes of version 2 (point leaves may appear). */
    static final int VERSION_POINT_LEAVES = 1;
    static final int VERSION_CURRENT = VERSION_POINT_LEAVES;

    private final DocValuesFormat delegate;

    /** The format over Lucene's {@link Lucene90DocValuesFormat} (for SPI). */
    public XTreeDocValuesFormat() {
        this(new Lucene90DocValuesFormat());
    }

    /**
     * The format over {@code delegate}, which stores the doc values of every field.
     *
     * @param delegate the doc values format the values go to
     */
    public XTreeDocValuesFormat(DocValuesFormat delegate) {
        super(NAME);
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    @Override
    public DocValuesConsumer fieldsConsumer(SegmentWriteState state) throws IOException {
        return new XTreeDocValuesConsumer(delegate.fieldsConsumer(state), state);
    }

    @Override
    public DocValuesProducer fieldsProducer(SegmentReadState state) throws IOException {
        DocValuesProducer values = delegate.fieldsProducer(state);
        boolean ok = false;
        try {
            DocValuesProducer p = new XTreeDocValuesProducer(values, state);
            ok = true;
            return p;
        } finally {
            if (!ok) {
                values.close();
            }
        }
    }

    @Override
    public String toString() {
        return NAME + "(" + delegate + ")";
    }
}
