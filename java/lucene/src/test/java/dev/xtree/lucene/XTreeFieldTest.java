package dev.xtree.lucene;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.xtree.SearchType;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.junit.Test;

/** {@link XTreeField} and {@link XTreeFieldType}: checked values, shapes, the addDocument check. */
public class XTreeFieldTest {
    @Test
    public void badValuesAreRejectedWhenAdded() {
        XTreeFieldType t = new XTreeFieldType(2, 32, "lon", "lat");
        XTreeField f = new XTreeField("geo", t);
        assertThrows(IllegalArgumentException.class, () -> f.addPoint(1, 2, 3));
        assertThrows(IllegalArgumentException.class, () -> f.addPoint(Double.NaN, 2));
        assertThrows(IllegalArgumentException.class, () -> f.addPoint(Double.POSITIVE_INFINITY, 2));
        assertThrows(IllegalArgumentException.class, () -> f.addPoint(1e39, 2));
        assertThrows(IllegalArgumentException.class,
                () -> f.addBox(new double[] {2, 0}, new double[] {1, 1}));
        assertThrows(NullPointerException.class, () -> f.addPoint((double[]) null));
        assertEquals(0, f.valueCount());
        assertThrows(IllegalArgumentException.class, f::binaryValue);
        f.addPoint(1, 2).addBox(new double[] {0, 0}, new double[] {1, 1});
        assertEquals(2, f.valueCount());
        // 1 flags byte + 2 boxes of 2 dims x 2 bounds x 4 bytes.
        assertEquals(1 + 2 * 2 * 2 * 4, f.binaryValue().length);
    }

    @Test
    public void shapesValidateTheirParameters() {
        assertThrows(IllegalArgumentException.class, () -> XTreeFieldType.of(0, 64));
        assertThrows(IllegalArgumentException.class, () -> XTreeFieldType.of(256, 64));
        assertThrows(IllegalArgumentException.class, () -> XTreeFieldType.of(2, 16));
        assertThrows(IllegalArgumentException.class, () -> new XTreeFieldType(2, 64, "x"));
        assertThrows(IllegalArgumentException.class, () -> new XTreeFieldType(2, 64, "x", "x"));
        assertThrows(IllegalArgumentException.class, () -> new XTreeFieldType(2, 64, "x", " "));
        assertEquals(XTreeFieldType.of(3, 32), XTreeFieldType.of(3, 32));
        String[] odd = {"a:b", "", "3:x"};
        odd[1] = "z";
        assertEquals(java.util.Arrays.asList(odd), java.util.Arrays.asList(
                XTreeFieldType.decodeLabels(XTreeFieldType.encodeLabels(odd))));
        assertEquals(255, XTreeFieldType.of(255, 64).dimension());
    }

    /**
     * A document whose xtree field has another dimension than the documents before it in the
     * segment is rejected by addDocument, and the writer goes on working.
     */
    @Test
    public void wrongDimensionIsRejectedAtAddDocument() throws Exception {
        try (Directory dir = new ByteBuffersDirectory();
                IndexWriter w = new IndexWriter(dir,
                        new IndexWriterConfig().setCodec(new XTreeCodec()))) {
            w.addDocument(doc("a", XTreeField.point("geo", 1, 2)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> w.addDocument(doc("b", XTreeField.point("geo", 1, 2, 3))));
            assertTrue(e.getMessage(), e.getMessage().contains("dimension=3")
                    && e.getMessage().contains("dimension=2"));
            IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
                    () -> w.addDocument(doc("c", XTreeField.point("geo",
                            XTreeFieldType.of(2, 32), 1, 2))));
            assertTrue(p.getMessage(), p.getMessage().contains("precision=32"));
            w.addDocument(doc("d", XTreeField.point("geo", 5, 6)));
            w.commit();
            try (DirectoryReader r = DirectoryReader.open(dir)) {
                IndexSearcher s = new IndexSearcher(r);
                assertEquals(2, r.numDocs());
                assertEquals(2, s.count(XTreeQuery.newBoxQuery("geo", SearchType.INTERSECTS,
                        new double[] {0, 0}, new double[] {10, 10})));
            }
        }
    }

    static Document doc(String id, XTreeField f) {
        Document d = new Document();
        d.add(new StringField("id", id, org.apache.lucene.document.Field.Store.NO));
        d.add(f);
        return d;
    }
}
