package dev.xtree.lucene;

import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.FilterCodec;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;

/**
 * Lucene 9.12's default codec ({@link Lucene912Codec}) with xtrees: its doc values format is
 * wrapped in an {@link XTreeDocValuesFormat}, which builds one xtree per segment and xtree field
 * at flush and at merge and opens it for queries. Everything else is the delegate's.
 *
 * <p>Registered for SPI under {@value #NAME}, so that {@code DirectoryReader.open} finds it by
 * the name recorded in each segment, in any JVM with this jar on the class path:
 *
 * <pre>{@code
 * IndexWriterConfig config = new IndexWriterConfig().setCodec(new XTreeCodec());
 * }</pre>
 *
 * <p>To add xtrees to another codec, subclass with a public no-argument constructor that passes
 * a name of its own and the codec to wrap, and register the subclass in {@code
 * META-INF/services/org.apache.lucene.codecs.Codec}:
 *
 * <pre>{@code
 * public final class MyXTreeCodec extends XTreeCodec {
 *     public MyXTreeCodec() { super("MyXTreeCodec", new MyCodec()); }
 * }
 * }</pre>
 *
 * A segment written by a codec without xtrees (its writer was not configured with one) has no
 * tree; xtree queries on it throw {@link IllegalStateException} saying so.
 */
public class XTreeCodec extends FilterCodec {
    /** The SPI name of this codec over {@link Lucene912Codec}. */
    public static final String NAME = "XTreeCodec";

    private final DocValuesFormat docValues;

    /** The codec over {@link Lucene912Codec} (for SPI and for {@code setCodec}). */
    public XTreeCodec() {
        this(NAME, new Lucene912Codec());
    }

    /**
     * A codec named {@code name} over {@code delegate}: for subclasses that wrap another codec.
     * The name is written into every segment and must find the subclass through SPI when the
     * index is read.
     *
     * @param name the SPI name of the subclass
     * @param delegate the codec to add xtrees to
     */
    protected XTreeCodec(String name, Codec delegate) {
        super(name, delegate);
        this.docValues = new XTreeDocValuesFormat(delegate.docValuesFormat());
    }

    @Override
    public final DocValuesFormat docValuesFormat() {
        return docValues;
    }
}
