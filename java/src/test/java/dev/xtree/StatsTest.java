package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@link DurableRuntime#stats()} and {@link IndexDetails#stats()}: the counts after commits and
 * checkpoints, bytes on disk against the directory's files, the recovery figures after a crash
 * (a child JVM halted without closing), heap bytes in memory and after a reopen, and stats of
 * closed objects.
 */
public class StatsTest {
    private static final String[] XY = {"x", "y"};
    private static final String[] T = {"t"};
    private static final double[] ALL_MIN = {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY};
    private static final double[] ALL_MAX = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    static long[] ids(long from, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = from + i;
        }
        return ids;
    }

    static double[] points(long[] ids) {
        double[] c = new double[2 * ids.length];
        for (int i = 0; i < ids.length; i++) {
            c[2 * i] = ids[i] % 101;
            c[2 * i + 1] = ids[i] / 101;
        }
        return c;
    }

    /** The lengths of the files of {@code dir} summed (what {@link Stats#diskBytes()} sums). */
    static long fileBytes(String dir) {
        long sum = 0;
        File[] files = new File(dir).listFiles();
        for (File f : files) {
            if (f.isFile()) {
                sum += f.length();
            }
        }
        return sum;
    }

    private static Map<String, Long> records(Object... nameThenCount) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenCount.length; i += 2) {
            m.put((String) nameThenCount[i], ((Number) nameThenCount[i + 1]).longValue());
        }
        return m;
    }

    @Test
    public void inMemoryIndexReportsRecordsAndHeapBytes() {
        IndexDetails index = new IndexDetails(2, 64, XY, PersistenceMode.IN_MEMORY, null);
        try {
            Stats empty = index.stats();
            assertEquals(records("default", 0), empty.fieldRecords());
            assertEquals(0, empty.heapBytes());
            long[] ids = ids(1, 5000);
            index.insertBatch(ids, points(ids));
            index.insert(9999L, new double[] {1, 1}, new double[] {2, 2});
            Stats s = index.stats();
            assertEquals(records("default", 5001), s.fieldRecords());
            assertEquals(5001, s.records());
            // 5000 2-D points of 64-bit coordinates in point leaves: at least 24 bytes each
            // (a row id and one coordinate per axis).
            assertTrue(s.toString(), s.heapBytes() >= 5000L * 24);
            assertEquals(0, s.epoch());
            assertEquals(0, s.commits());
            assertEquals(0, s.checkpoints());
            assertEquals(0, s.diskBytes());
            assertEquals(0, s.loadedPageBytes());
            assertEquals(0, index.commit());
            assertThrows(UnsupportedOperationException.class,
                    () -> s.fieldRecords().put("x", 1L));
            assertTrue(s.toString(), s.toString().contains("heapBytes=" + s.heapBytes()));
        } finally {
            index.close();
        }
        assertThrows(IllegalStateException.class, index::stats);
    }

    @Test
    public void durableCountsCommitsCheckpointsPagesAndDisk() throws IOException {
        String dir = tmp.newFolder().getPath();
        DurableRuntime runtime = DurableRuntime.open(dir, Durability.STRICT);
        IndexDetails geo = runtime.field("geo", 2, 64, XY);
        IndexDetails time = runtime.field("time", 1, 64, T);
        try {
            Stats opened = runtime.stats();
            // Two field creations are two commits, each with its own log sync under STRICT.
            assertEquals(opened.toString(), 2, opened.commits());
            assertEquals(2, opened.logSyncs());
            assertEquals(2, opened.epoch());
            assertEquals(records("geo", 0, "time", 0), opened.fieldRecords());

            long[] a = ids(1, 3000);
            geo.insertBatch(a, points(a));
            runtime.commit();
            for (long id = 1; id <= 7; id++) {
                time.insert(id, new double[] {id}, new double[] {id + 1});
            }
            time.commit();
            assertTrue(geo.delete(1L, new double[] {1, 0}));
            geo.commit();
            runtime.commit(); // nothing pending: not a commit

            Stats s = runtime.stats();
            assertEquals(s.toString(), 5, s.commits());
            assertEquals(5, s.logSyncs());
            assertEquals(5, s.epoch());
            assertEquals(records("geo", 2999, "time", 7), s.fieldRecords());
            assertEquals(3006, s.records());
            assertTrue(s.toString(), s.commitNanosMax() > 0);
            assertTrue(s.toString(), s.commitNanosMax() <= s.commitNanosTotal());
            assertTrue(s.toString(), s.commitNanosMean() <= s.commitNanosMax());
            assertEquals(0, s.checkpoints());
            assertEquals(0, s.checkpointPagesTotal());
            assertTrue(s.toString(), s.heapBytes() > 0);
            assertTrue(s.toString(), s.logBytes() > 3000L * 16);
            assertEquals(s.toString(), fileBytes(dir), s.diskBytes());

            assertTrue(runtime.checkpoint());
            Stats c = runtime.stats();
            assertEquals(c.toString(), 1, c.checkpoints());
            assertTrue(c.toString(), c.checkpointPagesLast() > 0);
            assertEquals(c.checkpointPagesLast(), c.checkpointPagesTotal());
            assertTrue(c.toString(), c.checkpointNanosLast() > 0);
            assertEquals(c.checkpointNanosLast(), c.checkpointNanosMax());
            assertEquals(c.checkpointNanosLast(), c.checkpointNanosTotal());
            assertEquals(5, c.checkpointEpoch());
            assertEquals(s.fieldRecords(), c.fieldRecords());
            assertEquals(c.toString(), fileBytes(dir), c.diskBytes());

            // A second checkpoint after a small change writes few pages; the totals add up.
            geo.insert(77777L, new double[] {5, 5});
            geo.commit();
            assertTrue(runtime.checkpoint());
            Stats c2 = runtime.stats();
            assertEquals(2, c2.checkpoints());
            assertEquals(c.checkpointPagesLast() + c2.checkpointPagesLast(),
                    c2.checkpointPagesTotal());
            assertTrue(c2.toString(), c2.checkpointPagesLast() < c.checkpointPagesLast());
            assertEquals(c.checkpointNanosTotal() + c2.checkpointNanosLast(),
                    c2.checkpointNanosTotal());
            assertEquals(Math.max(c.checkpointNanosLast(), c2.checkpointNanosLast()),
                    c2.checkpointNanosMax());
            assertEquals(fileBytes(dir), c2.diskBytes());

            // A field reports its runtime's figures, every field included.
            Stats f = time.stats();
            assertEquals(c2.fieldRecords(), f.fieldRecords());
            assertEquals(c2.commits(), f.commits());
            assertEquals(c2.checkpointPagesTotal(), f.checkpointPagesTotal());
        } finally {
            runtime.close();
        }
        assertThrows(IllegalStateException.class, runtime::stats);
        // The field's handle is open, its runtime is not.
        assertThrows(IllegalStateException.class, geo::stats);
        geo.close();
        time.close();
        assertThrows(IllegalStateException.class, geo::stats);
    }

    /**
     * A child JVM commits, checkpoints, commits more and halts without closing: the reopen
     * replays exactly the transactions and records committed after the checkpoint.
     */
    @Test
    public void recoveryFiguresAfterACrash() throws Exception {
        String dir = tmp.newFolder().getPath();
        ChildJvm.Result r = ChildJvm.run(CrashingWriter.class, null, null,
                ChildJvm.libraryPathOption(), dir);
        assertEquals(r.output, 0, r.exit);
        try (DurableRuntime runtime = DurableRuntime.open(dir, Durability.STRICT);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            Stats s = runtime.stats();
            assertEquals(s.toString(), CrashingWriter.TRANSACTIONS_AFTER_CHECKPOINT,
                    s.replayedTransactions());
            assertEquals(s.toString(), CrashingWriter.RECORDS_AFTER_CHECKPOINT,
                    s.replayedRecords());
            assertTrue(s.toString(), s.recoveryNanos() > 0);
            assertEquals(CrashingWriter.EPOCH, s.epoch());
            assertEquals(CrashingWriter.CHECKPOINT_EPOCH, s.checkpointEpoch());
            assertEquals(records("geo", CrashingWriter.RECORDS), s.fieldRecords());
            assertEquals(CrashingWriter.RECORDS, geo.count(SearchType.INTERSECTS, ALL_MIN,
                    ALL_MAX));
            assertEquals(0, s.commits());
            assertEquals(0, s.checkpoints());
            // The replayed records' pages are on the heap; the checkpoint's are not.
            assertTrue(s.toString(), s.heapBytes() > 0);
        }
        // Close checkpointed: nothing to replay now.
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            Stats s = runtime.stats();
            assertEquals(s.toString(), 0, s.replayedTransactions());
            assertEquals(0, s.replayedRecords());
            assertEquals(CrashingWriter.RECORDS, s.records());
        }
    }

    /** The writer of {@link #recoveryFiguresAfterACrash()}, run in a child JVM. */
    public static final class CrashingWriter {
        static final int TRANSACTIONS_AFTER_CHECKPOINT = 3;
        /** A batch of 30, five single inserts, one delete. */
        static final int RECORDS_AFTER_CHECKPOINT = 36;
        static final long RECORDS = 100 + 30 + 5 - 1;
        /** The field creation, the first batch; then three commits after the checkpoint. */
        static final long CHECKPOINT_EPOCH = 2;
        static final long EPOCH = 5;

        private CrashingWriter() {}

        /**
         * Writes into the data directory {@code args[0]} and halts the JVM without closing.
         *
         * @param args the data directory
         */
        public static void main(String[] args) {
            DurableRuntime runtime = DurableRuntime.open(args[0], Durability.STRICT);
            IndexDetails geo = runtime.field("geo", 2, 64, XY);
            long[] a = ids(1, 100);
            geo.insertBatch(a, points(a));
            runtime.commit();
            runtime.checkpoint();
            long[] b = ids(1000, 30);
            geo.insertBatch(b, points(b));
            runtime.commit();
            for (long id = 2000; id < 2005; id++) {
                geo.insert(id, new double[] {id, id});
            }
            runtime.commit();
            geo.delete(2000L, new double[] {2000, 2000});
            runtime.commit();
            System.out.println(runtime.stats());
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }
    }

    /**
     * The pages a durable index wrote stay on the heap while it is open; after close (a
     * checkpoint) and reopen they are backed by the segment files: heap bytes fall, and the
     * pages a query reads count as loaded page bytes.
     */
    @Test
    public void heapBytesFallAfterCheckpointAndReopen() throws IOException {
        String dir = tmp.newFolder().getPath();
        long written;
        try (IndexDetails index = new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, dir)) {
            long[] a = ids(1, 20000);
            index.insertBatch(a, points(a));
            index.commit();
            written = index.stats().heapBytes();
            assertTrue("heap bytes " + written, written >= 20000L * 24);
            assertEquals(0, index.stats().loadedPageBytes());
        }
        try (IndexDetails index = new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, dir)) {
            Stats s = index.stats();
            assertTrue(s + " vs " + written, s.heapBytes() < written);
            assertEquals(s.toString(), 0, s.heapBytes());
            assertEquals(0, s.loadedPageBytes());
            assertEquals(Collections.singletonMap("default", 20000L), s.fieldRecords());
            assertEquals(20000, index.search(SearchType.INTERSECTS, ALL_MIN, ALL_MAX).length);
            Stats read = index.stats();
            assertTrue(read.toString(), read.loadedPageBytes() >= 20000L * 24);
            assertEquals(0, read.heapBytes());
        }
    }
}
