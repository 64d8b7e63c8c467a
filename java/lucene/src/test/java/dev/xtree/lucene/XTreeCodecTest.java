package dev.xtree.lucene;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.xtree.SearchType;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.DocValuesFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.LRUQueryCache;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryCachingPolicy;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.TopFieldDocs;
import org.apache.lucene.store.AlreadyClosedException;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.IndexOutput;
import org.apache.lucene.util.IOUtils;
import org.junit.Test;

/**
 * {@link XTreeCodec} and its segment files: SPI, CheckIndex, corruption, segments written without
 * xtrees, mixed shapes, empty and field-less segments, the tree's lifecycle, the query cache.
 */
public class XTreeCodecTest {
    private static final double[] ALL_MIN = {-1e9, -1e9};
    private static final double[] ALL_MAX = {1e9, 1e9};

    private static IndexWriterConfig config() {
        return new IndexWriterConfig().setCodec(new XTreeCodec())
                .setMergePolicy(NoMergePolicy.INSTANCE);
    }

    private static Document doc(int i) {
        Document d = new Document();
        d.add(new StringField("id", Integer.toString(i), Field.Store.NO));
        d.add(XTreeField.point("geo", i % 100, i / 100));
        return d;
    }

    private static void addDocs(IndexWriter w, int from, int to) throws IOException {
        for (int i = from; i < to; i++) {
            w.addDocument(doc(i));
        }
    }

    private static int countAll(Directory dir) throws IOException {
        try (DirectoryReader r = DirectoryReader.open(dir)) {
            return new IndexSearcher(r).count(XTreeQuery.newIntersectsQuery("geo", ALL_MIN, ALL_MAX));
        }
    }

    @Test
    public void spiFindsTheCodecAndTheFormat() {
        assertTrue(Codec.forName(XTreeCodec.NAME) instanceof XTreeCodec);
        assertTrue(DocValuesFormat.forName(XTreeDocValuesFormat.NAME) instanceof XTreeDocValuesFormat);
    }

    @Test
    public void checkIndexIsCleanAndFlippedBytesAreCorruption() throws Exception {
        try (Directory dir = new ByteBuffersDirectory()) {
            try (IndexWriter w = new IndexWriter(dir, config().setUseCompoundFile(false))) {
                addDocs(w, 0, 3000);
            }
            assertTrue(checkIndex(dir).clean);
            String meta = file(dir, ".xtm");
            String data = file(dir, ".xtd");
            // A byte of the tree in the data file: CheckIndex reports it (the file checksum),
            // and a query that loads the tree gets a CorruptIndexException, not a crash.
            try (Directory copy = copyOf(dir)) {
                flip(copy, data, copy.fileLength(data) / 2);
                assertFalse(checkIndex(copy).clean);
                assertThrows(CorruptIndexException.class, () -> countAll(copy));
            }
            // A byte of the meta file: opening the segment fails.
            try (Directory copy = copyOf(dir)) {
                flip(copy, meta, copy.fileLength(meta) - 20);
                assertFalse(checkIndex(copy).clean);
                assertThrows(CorruptIndexException.class, () -> DirectoryReader.open(copy));
            }
            // A byte of the data file's header.
            try (Directory copy = copyOf(dir)) {
                flip(copy, data, 3);
                assertThrows(CorruptIndexException.class, () -> DirectoryReader.open(copy));
            }
            assertEquals(3000, countAll(dir));
        }
    }

    @Test
    public void segmentsWrittenWithoutXTreesFailClearly() throws IOException {
        try (Directory dir = new ByteBuffersDirectory()) {
            try (IndexWriter w = new IndexWriter(dir,
                    new IndexWriterConfig().setCodec(new Lucene912Codec()))) {
                addDocs(w, 0, 10);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> countAll(dir));
            assertTrue(e.getMessage(), e.getMessage().contains("codec Lucene912")
                    && e.getMessage().contains("XTreeCodec"));
        }
    }

    /** Segments whose field has different shapes (two writer sessions) refuse to merge. */
    @Test
    public void mixedShapesAcrossSegmentsRefuseToMerge() throws IOException {
        try (Directory dir = new ByteBuffersDirectory()) {
            try (IndexWriter w = new IndexWriter(dir, config())) {
                addDocs(w, 0, 5);
            }
            // The refused merge is a tragic event for the writer (Lucene rolls it back on the
            // merge thread), so the writer is not closed normally but rolled back.
            IndexWriter w = new IndexWriter(dir, config()
                    .setMergePolicy(new org.apache.lucene.index.TieredMergePolicy()));
            try {
                Document d = new Document();
                d.add(XTreeField.point("geo", 1, 2, 3));
                w.addDocument(d);
                w.commit();
                // The merge runs on a ConcurrentMergeScheduler thread: forceMerge reports its
                // failure either as the merge's IOException or, when the writer has already
                // recorded the failure as tragic, as IllegalStateException. Either way the root
                // cause must be our refusal.
                Exception e = assertThrows(Exception.class, () -> w.forceMerge(1));
                assertTrue(e.toString(),
                        e instanceof IOException || e instanceof IllegalStateException);
                Throwable cause = e;
                while (cause.getCause() != null) {
                    cause = cause.getCause();
                }
                assertTrue(cause.getMessage(), cause.getMessage().contains("cannot merge field"));
            } finally {
                try {
                    w.rollback();
                } catch (IOException | IllegalStateException alreadyRolledBack) {
                    // the tragic event's own rollback got there first
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> countAll(dir));
            assertTrue(e.getMessage(), e.getMessage().contains("has 3 in segment"));
        }
    }

    @Test
    public void emptyAndFieldlessSegments() throws IOException {
        try (Directory dir = new ByteBuffersDirectory();
                IndexWriter w = new IndexWriter(dir, config())) {
            Document plain = new Document();
            plain.add(new StringField("id", "plain", Field.Store.NO));
            w.addDocument(plain); // a segment without the field
            w.commit();
            addDocs(w, 0, 50);
            w.commit();
            w.deleteDocuments(new Term("id", "7"));
            w.commit();
            try (DirectoryReader r = DirectoryReader.open(dir)) {
                IndexSearcher s = new IndexSearcher(r);
                assertEquals(2, r.leaves().size());
                assertEquals(49, s.count(XTreeQuery.newIntersectsQuery("geo", ALL_MIN, ALL_MAX)));
                assertEquals(5, XTreeNearest.nearest(s, "geo", 5, 0, 0).scoreDocs.length);
            }
            // Every document with the field deleted, then merged: an empty tree.
            for (int i = 0; i < 50; i++) {
                w.deleteDocuments(new Term("id", Integer.toString(i)));
            }
            w.forceMerge(1);
            w.commit();
            try (DirectoryReader r = DirectoryReader.open(dir)) {
                IndexSearcher s = new IndexSearcher(r);
                assertEquals(1, r.numDocs());
                assertEquals(0, s.count(XTreeQuery.newIntersectsQuery("geo", ALL_MIN, ALL_MAX)));
                assertEquals(0, s.search(XTreeQuery.newIntersectsQuery("geo", ALL_MIN, ALL_MAX),
                        10).scoreDocs.length);
                assertEquals(0, XTreeNearest.nearest(s, "geo", 3, 0, 0).scoreDocs.length);
            }
            try (DirectoryReader r = DirectoryReader.open(new ByteBuffersDirectory())) {
                assertEquals(0, XTreeNearest.nearest(new IndexSearcher(r), "geo", 3, 0, 0)
                        .scoreDocs.length);
            } catch (org.apache.lucene.index.IndexNotFoundException expected) {
                // an empty directory has no index at all; nothing more to check
            }
        }
    }

    /**
     * The tree is loaded once per segment, shared by the readers of an NRT reopen, accounted
     * for, and freed when the last reader of the segment closes.
     */
    @Test
    public void oneTreePerSegmentSharedAndFreed() throws IOException {
        try (Directory dir = new ByteBuffersDirectory()) {
            IndexWriter w = new IndexWriter(dir, config());
            addDocs(w, 0, 2000);
            DirectoryReader first = DirectoryReader.open(w);
            Query q = XTreeQuery.newIntersectsQuery("geo", ALL_MIN, ALL_MAX);
            assertEquals(2000, new IndexSearcher(first).count(q));
            XTreeSegmentField f = XTreeLeaves.segmentField(first.leaves().get(0).reader(), "geo");
            assertTrue(f.ramBytesUsed() > 2000 * 16);
            SegmentTree tree = f.tree();
            addDocs(w, 2000, 2010);
            DirectoryReader second = DirectoryReader.openIfChanged(first, w);
            assertEquals(2, second.leaves().size());
            assertSame(f, XTreeLeaves.segmentField(second.leaves().get(0).reader(), "geo"));
            assertEquals(2010, new IndexSearcher(second).count(q));
            assertSame(tree, f.tree());
            first.close();
            assertEquals(2000, tree.size()); // still open: the second reader shares the segment
            second.close();
            w.close(); // the writer's pooled readers hold the segment too
            assertThrows(AlreadyClosedException.class, tree::size);
            assertThrows(AlreadyClosedException.class, f::tree);
        }
    }

    @Test
    public void queriesWorkWithTheQueryCacheAndVisitors() throws IOException {
        Query a = XTreeQuery.newBoxQuery("geo", SearchType.WITHIN, new double[] {1, 2},
                new double[] {3, 4});
        Query b = XTreeQuery.newBoxQuery("geo", SearchType.WITHIN, new double[] {1, 2},
                new double[] {3, 4});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, XTreeQuery.newBoxQuery("geo", SearchType.CONTAINS,
                new double[] {1, 2}, new double[] {3, 4}));
        assertNotEquals(a, XTreeQuery.newWithinQuery("geo2", new double[] {1, 2},
                new double[] {3, 4}));
        assertEquals("geo:XTreeWITHIN[1.0, 2.0] TO [3.0, 4.0]", a.toString());
        List<String> fields = new ArrayList<>();
        a.visit(new QueryVisitor() {
            @Override
            public void visitLeaf(Query query) {
                fields.add(((XTreeQuery) query).getField());
            }
        });
        assertEquals(List.of("geo"), fields);
        assertThrows(IllegalArgumentException.class,
                () -> XTreeQuery.newIntersectsQuery("geo", new double[] {1}, new double[] {0}));
        try (Directory dir = new ByteBuffersDirectory()) {
            try (IndexWriter w = new IndexWriter(dir, config())) {
                addDocs(w, 0, 5000);
            }
            try (DirectoryReader r = DirectoryReader.open(dir)) {
                IndexSearcher s = new IndexSearcher(r);
                LRUQueryCache cache = new LRUQueryCache(100, 1 << 24, ctx -> true, Float.MAX_VALUE);
                s.setQueryCache(cache);
                s.setQueryCachingPolicy(new QueryCachingPolicy() {
                    @Override
                    public void onUse(Query query) {}

                    @Override
                    public boolean shouldCache(Query query) {
                        return true;
                    }
                });
                Query q = XTreeQuery.newIntersectsQuery("geo", new double[] {10, 10},
                        new double[] {19.5, 29.5});
                // As a filter clause the query runs without scores, which the cache needs.
                Query filtered = new org.apache.lucene.search.BooleanQuery.Builder()
                        .add(q, org.apache.lucene.search.BooleanClause.Occur.FILTER).build();
                int first = s.search(filtered, 10000).scoreDocs.length;
                assertEquals(first, s.search(filtered, 10000).scoreDocs.length);
                assertEquals(10 * 20, first);
                assertTrue(cache.getCacheCount() > 0);
                assertTrue(cache.getHitCount() > 0);
                TopFieldDocs near = XTreeNearest.nearest(s, "geo", 3, 10.1, 0.1);
                assertEquals(10, near.scoreDocs[0].doc);
                assertThrows(IllegalArgumentException.class,
                        () -> XTreeNearest.nearest(s, "geo", 3, 1, 2, 3));
                assertThrows(IllegalArgumentException.class,
                        () -> XTreeNearest.nearest(s, "geo", 3, Double.NaN, 2));
                assertThrows(IllegalArgumentException.class,
                        () -> s.count(XTreeQuery.newIntersectsQuery("id", ALL_MIN, ALL_MAX)));
            }
        }
    }

    /**
     * A fresh JVM opens the index by the codec name in its segments (SPI), and one without this
     * jar on its class path fails with Lucene's message naming the missing codec.
     */
    @Test
    public void freshJvmsFindTheCodecOrSayItIsMissing() throws Exception {
        Path tmp = Files.createTempDirectory("xtree-lucene-spi");
        try {
            try (Directory dir = FSDirectory.open(tmp);
                    IndexWriter w = new IndexWriter(dir, config())) {
                addDocs(w, 0, 321);
            }
            List<String> full = new ArrayList<>();
            List<String> withoutXTree = new ArrayList<>();
            for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
                full.add(e);
                if (!(e.contains("lucene" + File.separator + "build" + File.separator + "classes"
                        + File.separator + "java" + File.separator + "main")
                        || e.contains("lucene" + File.separator + "build" + File.separator
                                + "resources"))) {
                    withoutXTree.add(e);
                }
            }
            String ok = child(full, tmp);
            assertTrue(ok, ok.contains("count=321"));
            String missing = child(withoutXTree, tmp);
            assertTrue(missing, missing.contains("XTreeCodec") && missing.contains("does not exist"));
        } finally {
            IOUtils.rm(tmp);
        }
    }

    private static String child(List<String> cp, Path index) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dxtree.library.path=" + System.getProperty("xtree.library.path"));
        cmd.add("-cp");
        cmd.add(String.join(File.pathSeparator, cp));
        cmd.add(ReopenMain.class.getName());
        cmd.add(index.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue("child finished", p.waitFor(2, TimeUnit.MINUTES));
        return new String(out, StandardCharsets.UTF_8);
    }

    /** The child's main: opens the index and counts it, or prints why it cannot. */
    public static final class ReopenMain {
        private ReopenMain() {}

        /**
         * @param args the index directory
         */
        public static void main(String[] args) throws Exception {
            try (Directory dir = FSDirectory.open(Paths.get(args[0]));
                    DirectoryReader r = DirectoryReader.open(dir)) {
                // Reflection: this class must load without the xtree jar on the class path.
                Class<?> q = Class.forName("dev.xtree.lucene.XTreeQuery");
                Query all = (Query) q.getMethod("newIntersectsQuery", String.class,
                        double[].class, double[].class).invoke(null, "geo", ALL_MIN, ALL_MAX);
                System.out.println("count=" + new IndexSearcher(r).count(all));
            } catch (Throwable t) {
                System.out.println("failed: " + t);
            }
        }
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static CheckIndex.Status checkIndex(Directory dir) throws IOException {
        try (CheckIndex ci = new CheckIndex(dir)) {
            ci.setInfoStream(new PrintStream(new ByteArrayOutputStream(), true, "UTF-8"));
            return ci.checkIndex();
        }
    }

    private static String file(Directory dir, String ext) throws IOException {
        for (String f : dir.listAll()) {
            if (f.endsWith(ext)) {
                return f;
            }
        }
        throw new AssertionError("no " + ext + " file in " + List.of(dir.listAll()));
    }

    private static Directory copyOf(Directory dir) throws IOException {
        Directory copy = new ByteBuffersDirectory();
        for (String f : dir.listAll()) {
            copy.copyFrom(dir, f, f, IOContext.DEFAULT);
        }
        return copy;
    }

    private static void flip(Directory dir, String name, long at) throws IOException {
        byte[] b;
        try (IndexInput in = dir.openInput(name, IOContext.DEFAULT)) {
            b = new byte[(int) in.length()];
            in.readBytes(b, 0, b.length);
        }
        b[(int) at] ^= 0x10;
        dir.deleteFile(name);
        try (IndexOutput out = dir.createOutput(name, IOContext.DEFAULT)) {
            out.writeBytes(b, b.length);
        }
    }
}
