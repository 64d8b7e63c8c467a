package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@link IndexDetails#saveTo(String)} and {@link IndexDetails#toInMemory()}: an in-memory index
 * saved into a new data directory reopens as a durable one with the same answers, a durable
 * index (or field) copies into an independent in-memory one, and the sources stay untouched.
 */
public class InMemoryDurableTest {
    private static final String[] XYZ = {"x", "y", "z"};
    private static final int N = 3000;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    /** An in-memory 3-D index of {@link #N} boxes (every tenth deleted again). */
    private static IndexDetails source(int precision) {
        IndexDetails ix = new IndexDetails(3, precision, XYZ, PersistenceMode.IN_MEMORY, null);
        Random rng = new Random(10);
        long[] ids = new long[N];
        double[] mins = new double[3 * N];
        double[] maxs = new double[3 * N];
        for (int i = 0; i < N; i++) {
            ids[i] = i;
            for (int d = 0; d < 3; d++) {
                mins[3 * i + d] = rng.nextDouble() * 100;
                maxs[3 * i + d] = mins[3 * i + d] + rng.nextDouble() * 4;
            }
        }
        ix.insertBatch(ids, mins, maxs);
        for (int i = 0; i < N; i += 10) {
            assertTrue(ix.delete(i, Arrays.copyOfRange(mins, 3 * i, 3 * i + 3),
                    Arrays.copyOfRange(maxs, 3 * i, 3 * i + 3)));
        }
        return ix;
    }

    /** Window queries of each kind, counts and kNN, as one comparable string. */
    private static String answers(IndexDetails ix) {
        StringBuilder sb = new StringBuilder().append(ix.size());
        Random rng = new Random(42);
        for (int q = 0; q < 20; q++) {
            double[] min = new double[3];
            double[] max = new double[3];
            double[] p = new double[3];
            for (int d = 0; d < 3; d++) {
                min[d] = rng.nextDouble() * 80;
                max[d] = min[d] + rng.nextDouble() * 40;
                p[d] = rng.nextDouble() * 100;
            }
            for (SearchType t : SearchType.values()) {
                sb.append(' ').append(Arrays.toString(
                        IndexDetailsTest.sorted(ix.search(t, min, max))));
                sb.append(' ').append(ix.count(t, min, max));
            }
            sb.append(' ').append(Arrays.toString(ix.nearest(p, 9)));
        }
        return sb.toString();
    }

    @Test
    public void aSavedInMemoryIndexReopensDurableWithTheSameAnswers() throws IOException {
        for (int precision : new int[] {32, 64}) {
            File dir = new File(tmp.getRoot(), "saved-" + precision);
            try (IndexDetails mem = source(precision)) {
                String want = answers(mem);
                mem.saveTo(dir.getPath());
                assertEquals("the source is untouched", want, answers(mem));
                mem.insert(1L << 40, new double[] {1, 1, 1}); // and still writable
                try (IndexDetails durable = new IndexDetails(3, precision, XYZ,
                        PersistenceMode.DURABLE, dir.getPath())) {
                    assertEquals(want, answers(durable));
                    Stats s = durable.stats();
                    assertEquals(s.toString(), 0, s.replayedTransactions());
                    assertEquals(s.toString(), 0, s.heapBytes());
                    durable.insert(5L, new double[] {2, 2, 2});
                    durable.commit();
                    assertEquals(mem.size() - 1 + 1, durable.size());
                }
                try (IndexDetails ro = IndexDetails.openReadOnly(dir.getPath())) {
                    assertEquals(precision, ro.precision());
                    assertArrayEquals(XYZ, ro.labels());
                }
            }
        }
    }

    @Test
    public void saveToRefusesAnExistingDirectoryAndBadState() throws IOException {
        try (IndexDetails mem = source(64)) {
            File full = tmp.newFolder("full");
            Files.write(new File(full, "keep").toPath(), new byte[] {1});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> mem.saveTo(full.getPath()));
            assertTrue(e.getMessage(), e.getMessage().contains("not empty"));
            assertEquals(1, full.list().length);
            File file = tmp.newFile("plain");
            assertThrows(XTreeIoException.class, () -> mem.saveTo(file.getPath()));
            assertThrows(XTreeIoException.class,
                    () -> mem.saveTo(new File(tmp.getRoot(), "no/parent").getPath()));
            assertThrows(NullPointerException.class, () -> mem.saveTo(null));
            assertThrows(IllegalArgumentException.class, () -> mem.saveTo(""));
            // An empty existing directory is fine.
            File empty = tmp.newFolder("empty");
            mem.saveTo(empty.getPath());
            try (IndexDetails ro = IndexDetails.openReadOnly(empty.getPath())) {
                assertEquals(answers(mem), answers(ro));
            }
            // Nothing but the two saved directories and the refused ones remain.
            String[] names = tmp.getRoot().list();
            Arrays.sort(names);
            assertArrayEquals(new String[] {"empty", "full", "plain"}, names);
        }
        IndexDetails closed = source(64);
        closed.close();
        assertThrows(IllegalStateException.class,
                () -> closed.saveTo(new File(tmp.getRoot(), "late").getPath()));
        assertThrows(IllegalStateException.class, closed::toInMemory);
    }

    @Test
    public void aDurableIndexCopiesIntoAnIndependentInMemoryIndex() throws IOException {
        String dir = tmp.newFolder().getPath();
        String want;
        IndexDetails copy;
        try (IndexDetails mem = source(64)) {
            want = answers(mem);
            mem.saveTo(new File(dir, "d").getPath());
        }
        String d = new File(dir, "d").getPath();
        try (IndexDetails durable = new IndexDetails(3, 64, XYZ, PersistenceMode.DURABLE, d)) {
            durable.insert(99L, new double[] {1, 1, 1}); // pending: not in the copy
            copy = durable.toInMemory();
            assertEquals(PersistenceMode.IN_MEMORY, copy.persistenceMode());
            assertFalse(copy.isReadOnly());
            assertEquals(want, answers(copy));
        }
        // The copy outlives the durable index, and its writes stay in memory.
        copy.insert(7L, new double[] {3, 3, 3});
        assertEquals(copy.commit(), 0L);
        try (IndexDetails ro = IndexDetails.openReadOnly(d);
                IndexDetails again = ro.toInMemory()) {
            assertEquals(want, answers(ro));
            assertEquals(want, answers(again));
            again.insert(8L, new double[] {4, 4, 4});
            assertEquals(ro.size() + 1, again.size());
        }
        copy.close();

        // A field of a runtime, saved and copied; the copy of an in-memory index too.
        String multi = new File(dir, "multi").getPath();
        try (DurableRuntime runtime = DurableRuntime.open(multi);
                IndexDetails geo = runtime.field("geo", 2, 32, new String[] {"lon", "lat"})) {
            geo.insertBatch(new long[] {1, 2, 3}, new double[] {1, 1, 2, 2, 3, 3});
            runtime.commit();
            geo.insert(4L, new double[] {4, 4}); // pending: not saved
            String saved = new File(dir, "geo-saved").getPath();
            geo.saveTo(saved);
            try (IndexDetails back = IndexDetails.openReadOnly(saved);
                    IndexDetails mem = back.toInMemory();
                    IndexDetails memCopy = mem.toInMemory()) {
                assertEquals(3, back.size());
                assertArrayEquals(new long[] {1, 2, 3}, IndexDetailsTest.sorted(
                        mem.search(SearchType.INTERSECTS, new double[] {0, 0},
                                new double[] {9, 9})));
                mem.insert(5L, new double[] {5, 5});
                assertEquals(3, memCopy.size());
            }
        }
    }
}
