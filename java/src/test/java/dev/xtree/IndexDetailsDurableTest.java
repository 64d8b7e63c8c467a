package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;
import org.junit.rules.TemporaryFolder;

/**
 * {@link IndexDetails} with {@link PersistenceMode#DURABLE}: the same API as in memory, with
 * writes visible only after {@link IndexDetails#commit()}, surviving close and reopen for each
 * {@link Durability}, and every query kind equal to the brute-force {@link Oracle} after reopen.
 * Failure messages carry the seed.
 */
public class IndexDetailsDurableTest {
    private static final double[] P = {1.0, 2.0};
    private static final String[] XY = {"x", "y"};
    private static final long SEED = Long.getLong("xtree.test.seed", 0L);

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private String newDir() throws IOException {
        return tmp.newFolder().getPath();
    }

    private static IndexDetails open(String dir, int dim, int precision, Durability durability) {
        return new IndexDetails(dim, precision, IndexDetailsOracleTest.labels(dim),
                PersistenceMode.DURABLE, dir, new IndexDetails.Options().durability(durability));
    }

    private static IndexDetails open2d(String dir) {
        return new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, dir);
    }

    // ---- every query kind against the oracle, across reopen, per durability ------------------

    @Test
    public void strictMatchesBruteForceAcrossReopen() throws IOException {
        runScenarios(Durability.STRICT);
    }

    @Test
    public void balancedMatchesBruteForceAcrossReopen() throws IOException {
        runScenarios(Durability.BALANCED);
    }

    @Test
    public void eventualMatchesBruteForceAcrossReopen() throws IOException {
        runScenarios(Durability.EVENTUAL);
    }

    private void runScenarios(Durability durability) throws IOException {
        int[][] shapes = {{2, 64}, {3, 32}};
        for (int[] shape : shapes) {
            long seed = SEED * 1_000_003L + 100L * shape[0] + shape[1] + durability.ordinal();
            new Scenario(seed, shape[0], shape[1], durability, newDir()).run();
        }
    }

    /** One seeded run: write, commit, query; close, reopen, query; more writes, reopen, query. */
    private static final class Scenario {
        final long seed;
        final int dim;
        final int precision;
        final Durability durability;
        final String dir;
        final Random rnd;
        final Oracle oracle;
        final List<double[][]> inputs = new ArrayList<>();
        final List<Long> ids = new ArrayList<>();
        long nextId = 1;

        Scenario(long seed, int dim, int precision, Durability durability, String dir) {
            this.seed = seed;
            this.dim = dim;
            this.precision = precision;
            this.durability = durability;
            this.dir = dir;
            this.rnd = new Random(seed);
            this.oracle = new Oracle(dim, precision);
        }

        String ctx(String what) {
            return "seed=" + seed + " dim=" + dim + " precision=" + precision + " " + durability
                    + ": " + what;
        }

        double coord() {
            return rnd.nextInt(4) == 0 ? rnd.nextInt(20) * 5.0 : rnd.nextDouble() * 100;
        }

        double[][] record(boolean point) {
            double[] min = new double[dim];
            double[] max = new double[dim];
            for (int d = 0; d < dim; d++) {
                min[d] = coord();
                max[d] = point ? min[d] : min[d] + rnd.nextDouble() * 10;
            }
            return new double[][] {min, max};
        }

        /** Unique row ids, some negative as Java longs (large unsigned). */
        long newId() {
            long i = nextId++;
            return i % 3 == 0 ? -i : i * 7919L;
        }

        void remember(long id, double[][] r) {
            oracle.insert(id, r[0], r[1]);
            ids.add(id);
            inputs.add(r);
        }

        void run() {
            try (IndexDetails index = open(dir, dim, precision, durability)) {
                assertEquals(PersistenceMode.DURABLE, index.persistenceMode());
                assertEquals(0, index.size());
                // A batch of points (one native call), a batch of boxes, then one by one.
                int n = 300;
                long[] batchIds = new long[n];
                double[] coords = new double[n * dim];
                for (int i = 0; i < n; i++) {
                    double[][] r = record(true);
                    batchIds[i] = newId();
                    System.arraycopy(r[0], 0, coords, i * dim, dim);
                    remember(batchIds[i], r);
                }
                index.insertBatch(batchIds, coords);
                long[] boxIds = new long[n];
                double[] mins = new double[n * dim];
                double[] maxs = new double[n * dim];
                for (int i = 0; i < n; i++) {
                    double[][] r = record(false);
                    boxIds[i] = newId();
                    System.arraycopy(r[0], 0, mins, i * dim, dim);
                    System.arraycopy(r[1], 0, maxs, i * dim, dim);
                    remember(boxIds[i], r);
                }
                index.insertBatch(boxIds, mins, maxs);
                for (int i = 0; i < 200; i++) {
                    boolean point = rnd.nextBoolean();
                    double[][] r = record(point);
                    long id = newId();
                    if (point) {
                        index.insert(id, r[0]);
                    } else {
                        index.insert(id, r[0], r[1]);
                    }
                    remember(id, r);
                }
                // Nothing is visible before the commit.
                assertEquals(ctx("size before commit"), 0, index.size());
                double[] lo = new double[dim];
                double[] hi = new double[dim];
                Arrays.fill(lo, Double.NEGATIVE_INFINITY);
                Arrays.fill(hi, Double.POSITIVE_INFINITY);
                assertEquals(ctx("search before commit"), 0,
                        index.search(SearchType.INTERSECTS, lo, hi).length);
                assertEquals(ctx("nearest before commit"), 0,
                        index.nearest(new double[dim], 5).length);
                long epoch = index.commit();
                assertTrue(ctx("epoch " + epoch), epoch > 0);
                checkQueries(index, "after first commit");

                deleteSome(index);
                updateSome(index);
                assertTrue(ctx("epoch grows"), index.commit() > epoch);
                checkQueries(index, "after deletes and updates");
            }
            try (IndexDetails index = open(dir, dim, precision, durability)) {
                checkQueries(index, "after reopen");
                // Writes not committed are invisible, then lost by close.
                for (int i = 0; i < 20; i++) {
                    index.insert(newId(), record(true)[0]);
                }
                if (!inputs.isEmpty()) {
                    double[][] r = inputs.get(0);
                    assertTrue(ctx("uncommitted delete"), index.delete(ids.get(0), r[0], r[1]));
                }
                checkQueries(index, "with uncommitted writes");
            }
            try (IndexDetails index = open(dir, dim, precision, durability)) {
                checkQueries(index, "after close without commit");
                deleteSome(index);
                index.commit();
            }
            try (IndexDetails index = open(dir, dim, precision, durability)) {
                checkQueries(index, "after second reopen");
            }
        }

        void deleteSome(IndexDetails index) {
            for (int i = inputs.size() - 1; i >= 0; i--) {
                if (rnd.nextInt(10) < 2) {
                    double[][] r = inputs.get(i);
                    long id = ids.get(i);
                    boolean deleted = Oracle.sameCoords(r[0], r[1]) && rnd.nextBoolean()
                            ? index.delete(id, r[0])
                            : index.delete(id, r[0], r[1]);
                    assertTrue(ctx("delete " + id), deleted);
                    assertTrue(ctx("oracle delete " + id), oracle.delete(id, r[0], r[1]));
                    inputs.remove(i);
                    ids.remove(i);
                }
            }
            double[][] r = record(false);
            assertFalse(ctx("delete absent"), index.delete(123456789L, r[0], r[1]));
        }

        void updateSome(IndexDetails index) {
            for (int i = 0; i < inputs.size(); i++) {
                if (rnd.nextInt(10) < 2) {
                    double[][] old = inputs.get(i);
                    double[][] now = record(rnd.nextBoolean());
                    long id = ids.get(i);
                    assertTrue(ctx("update " + id),
                            index.update(id, old[0], old[1], now[0], now[1]));
                    assertTrue(ctx("oracle update " + id),
                            oracle.update(id, old[0], old[1], now[0], now[1]));
                    inputs.set(i, now);
                }
            }
            double[][] r = record(true);
            assertFalse(ctx("update absent"), index.update(987654321L, r[0], r[1], r[0], r[1]));
        }

        void checkQueries(IndexDetails index, String phase) {
            assertEquals(ctx(phase + ": size"), oracle.records.size(), index.size());
            for (int q = 0; q < 30; q++) {
                double[] min = new double[dim];
                double[] max = new double[dim];
                for (int d = 0; d < dim; d++) {
                    double a = coord();
                    double w = rnd.nextDouble() * 40;
                    min[d] = q == 0 ? Double.NEGATIVE_INFINITY : a - w / 2;
                    max[d] = q == 0 ? Double.POSITIVE_INFINITY : a + w / 2;
                }
                for (SearchType type : SearchType.values()) {
                    String what = ctx(phase + ", query " + q + " " + type + " "
                            + Arrays.toString(min) + ".." + Arrays.toString(max));
                    long[] want = oracle.search(type, min, max);
                    long[] got = index.search(type, min, max);
                    Arrays.sort(got);
                    assertArrayEquals(what + " search", want, got);
                    assertEquals(what + " count", want.length, index.count(type, min, max));
                    if (q % 3 == 0) {
                        assertArrayEquals(what + " cursor", want, IndexDetailsOracleTest.drain(
                                index.cursor(type, min, max), 1 + rnd.nextInt(50)));
                    }
                }
            }
            for (int q = 0; q < 15; q++) {
                double[] p = new double[dim];
                for (int d = 0; d < dim; d++) {
                    p[d] = coord();
                }
                int[] ks = {0, 1, 5, 40, oracle.records.size() + 3};
                int k = ks[rnd.nextInt(ks.length)];
                oracle.checkNearest(ctx(phase + ", nearest " + q + " k=" + k + " p="
                        + Arrays.toString(p)), p, k, index.nearest(p, k));
            }
        }
    }

    // ---- visibility --------------------------------------------------------------------------

    /** The durable quick start of README.md, with the answers its comments promise. */
    @Test
    public void readmeDurableQuickStart() throws IOException {
        String geoDir = newDir();
        try (IndexDetails index = new IndexDetails(
                2, 64, new String[] {"lon", "lat"}, PersistenceMode.DURABLE, geoDir,
                new IndexDetails.Options().durability(Durability.STRICT))) {
            index.insert(1L, new double[] {2.3488, 48.8534});
            index.insertBatch(new long[] {3L, 4L},
                    new double[] {-0.1276, 51.5072, 13.405, 52.52});
            assertEquals(0, index.size());
            assertTrue(index.commit() > 0);
            assertEquals(3, index.size());
            index.insert(5L, new double[] {0, 0});
        }
        try (IndexDetails index = new IndexDetails(
                2, 64, new String[] {"lon", "lat"}, PersistenceMode.DURABLE, geoDir)) {
            assertArrayEquals(new long[] {1, 3, 4}, IndexDetailsTest.sorted(index.search(
                    SearchType.WITHIN, new double[] {-5, 45}, new double[] {15, 55})));
            assertEquals(3, index.size());
        }
        String fieldsDir = newDir();
        try (DurableRuntime runtime = DurableRuntime.open(fieldsDir, Durability.BALANCED);
                IndexDetails geo = runtime.field("geo", 2, 64, new String[] {"lon", "lat"});
                IndexDetails time = runtime.field("time", 1, 64, new String[] {"t"})) {
            geo.insert(7L, new double[] {2.35, 48.86});
            time.insert(7L, new double[] {1.7e9}, new double[] {1.7e9 + 3600});
            runtime.commit();
        }
        try (DurableRuntime runtime = DurableRuntime.open(fieldsDir);
                IndexDetails geo = runtime.field("geo", 2, 64, new String[] {"lon", "lat"});
                IndexDetails time = runtime.field("time", 1, 64, new String[] {"t"})) {
            assertEquals(1, geo.size());
            assertEquals(1, time.size());
        }
    }

    @Test
    public void writesBecomeVisibleAtCommitAndCursorsReadTheLastCommit() throws IOException {
        try (IndexDetails index = open2d(newDir())) {
            index.insert(1L, P);
            assertEquals(0, index.size());
            assertEquals(0, index.count(SearchType.INTERSECTS, P, P));
            try (SearchCursor before = index.cursor(SearchType.INTERSECTS, P, P)) {
                long epoch = index.commit();
                assertEquals(1, index.size());
                assertArrayEquals(new long[] {1L}, index.search(SearchType.INTERSECTS, P, P));
                assertArrayEquals(new long[] {1L}, index.nearest(P, 3));
                // The cursor opened before the commit reads the state it was opened on.
                assertEquals(0, before.nextPage(10).length);
                // Nothing pending: the epoch stays.
                assertEquals(epoch, index.commit());
                index.insert(2L, P);
                assertTrue(index.commit() > epoch);
            }
            assertEquals(2, index.size());
        }
    }

    @Test
    public void uncommittedWritesAreLostByClose() throws IOException {
        String dir = newDir();
        try (IndexDetails index = open2d(dir)) {
            index.insert(1L, P);
            index.commit();
            index.insert(2L, P);
            index.insertBatch(new long[] {3L, 4L}, new double[] {0, 0, 5, 5});
            assertTrue(index.delete(1L, P));
        }
        try (IndexDetails index = open2d(dir)) {
            assertEquals(1, index.size());
            assertArrayEquals(new long[] {1L}, index.search(SearchType.WITHIN,
                    new double[] {-10, -10}, new double[] {10, 10}));
        }
    }

    @Test
    public void inMemoryCommitIsANoOp() {
        try (IndexDetails index = new IndexDetails(2, 64, XY, PersistenceMode.IN_MEMORY, null)) {
            index.insert(1L, P);
            assertEquals(1, index.size());
            assertEquals(0, index.commit());
            assertEquals(1, index.size());
            assertEquals(PersistenceMode.IN_MEMORY, index.persistenceMode());
        }
    }

    // ---- the data directory ------------------------------------------------------------------

    @Test
    public void secondOpenOfALockedDirectoryFailsUntilClose() throws IOException {
        String dir = newDir();
        try (IndexDetails first = open2d(dir)) {
            first.insert(1L, P);
            first.commit();
            XTreeIoException e = assertThrows(XTreeIoException.class, () -> open2d(dir));
            IndexDetailsTest.assertMessage(e, "locked");
            assertEquals(XTreeException.CODE_IO, e.code());
            e = assertThrows(XTreeIoException.class, () -> DurableRuntime.open(dir));
            IndexDetailsTest.assertMessage(e, "locked");
            // The first index is unaffected.
            assertEquals(1, first.size());
        }
        try (IndexDetails again = open2d(dir)) {
            assertEquals(1, again.size());
        }
    }

    @Test
    public void reopenWithOtherParametersIsRejected() throws IOException {
        String dir = newDir();
        try (IndexDetails index = open2d(dir)) {
            index.insert(1L, P);
            index.commit();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(3, 64, new String[] {"x", "y", "z"},
                        PersistenceMode.DURABLE, dir));
        IndexDetailsTest.assertMessage(e, "dimension");
        assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 32, XY, PersistenceMode.DURABLE, dir));
        assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 64, new String[] {"lon", "lat"},
                        PersistenceMode.DURABLE, dir));
        // The failed opens released the directory, and changed nothing.
        try (IndexDetails index = open2d(dir)) {
            assertEquals(1, index.size());
        }
    }

    @Test
    public void dataDirIsRequired() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, null));
        IndexDetailsTest.assertMessage(e, "dataDir");
        e = assertThrows(IllegalArgumentException.class,
                () -> new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, ""));
        IndexDetailsTest.assertMessage(e, "dataDir");
    }

    /**
     * Regression (issue 7, item 14): a NUL in {@code dataDir} surfaced as an {@link
     * XTreeIoException} from the operating system, and an unpaired surrogate was decoded
     * lossily, so {@code "x\uD800"} and {@code "x\uDBFF"} opened the same directory. Both are
     * {@link IllegalArgumentException}s now, and nothing is created.
     */
    @Test
    public void dataDirWithNulOrUnpairedSurrogateIsRejected() throws IOException {
        String base = tmp.newFolder().getPath();
        String[] bad = {base + "/a\u0000b", base + "/x\uD800", base + "/x\uDBFF",
            base + "/\uDC00y"};
        String[] why = {"NUL", "surrogate", "surrogate", "surrogate"};
        for (int i = 0; i < bad.length; i++) {
            String dir = bad[i];
            IllegalArgumentException e = assertThrows("case " + i,
                    IllegalArgumentException.class, () -> open2d(dir));
            IndexDetailsTest.assertMessage(e, "dataDir", why[i]);
        }
        assertArrayEquals(new String[0], new java.io.File(base).list());
    }

    /**
     * Regression (issue 7, item 14): a regular file given as {@code dataDir} failed with a bare
     * operating-system message; the error now says the path is a regular file.
     */
    @Test
    public void dataDirThatIsARegularFileSaysSo() throws IOException {
        String file = tmp.newFile().getPath();
        XTreeIoException e = assertThrows(XTreeIoException.class, () -> open2d(file));
        IndexDetailsTest.assertMessage(e, file, "is a regular file, not a directory");
    }

    @Test
    public void unusableDataDirIsAnIoError() throws IOException {
        String file = tmp.newFile().getPath();
        XTreeIoException e = assertThrows(XTreeIoException.class, () -> open2d(file));
        assertEquals(XTreeException.CODE_IO, e.code());
        assertThrows(XTreeIoException.class, () -> open2d(file + "/below-a-file"));
    }

    @Test
    public void nodeSizeOptionIsUsed() throws IOException {
        String dir = newDir();
        IndexDetails.Options options = new IndexDetails.Options().nodeSize(512)
                .durability(Durability.STRICT);
        try (IndexDetails index = new IndexDetails(2, 64, XY, PersistenceMode.DURABLE, dir,
                options)) {
            for (int i = 0; i < 2000; i++) {
                index.insert(i, new double[] {i % 50, i / 50});
            }
            index.commit();
        }
        try (IndexDetails index = open2d(dir)) {
            assertEquals(2000, index.size());
            assertEquals(11 * 11, index.count(SearchType.WITHIN,
                    new double[] {10, 10}, new double[] {20, 20}));
        }
        assertThrows(IllegalArgumentException.class, () -> new IndexDetails(2, 64, XY,
                PersistenceMode.DURABLE, newDir(), new IndexDetails.Options().nodeSize(8)));
    }

    // ---- bad input and lifecycle, as in memory ------------------------------------------------

    @Test
    public void badCoordinatesAreRejectedAndNothingIsStored() throws IOException {
        double inf = Double.POSITIVE_INFINITY;
        String dir = newDir();
        try (IndexDetails index = open2d(dir)) {
            List<ThrowingRunnable> bad = IndexDetailsTest.badCoordinateCalls(index);
            // A batch whose last box is bad: the first ones must not stay pending.
            bad.add(() -> index.insertBatch(new long[] {1, 2, 3},
                    new double[] {0, 0, 1, 1, 2, 2}, new double[] {1, 1, 2, 2, inf, 3}));
            IndexDetailsTest.assertAllRejected(bad);
            index.commit();
            assertEquals("a rejected call stored something", 0, index.size());
            // The index keeps working after rejected calls.
            index.insertBatch(new long[] {5, 6}, new double[] {0, 0, 1, 1},
                    new double[] {1, 1, 2, 2});
            index.commit();
            assertEquals(2, index.size());
        }
        try (IndexDetails index = open2d(dir)) {
            assertArrayEquals(new long[] {5, 6}, IndexDetailsTest.sorted(index.search(
                    SearchType.WITHIN, new double[] {-1, -1}, new double[] {3, 3})));
        }
    }

    @Test
    public void rejectedBoxBatchNamesTheRow() throws IOException {
        try (IndexDetails index = open2d(newDir())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> index.insertBatch(new long[] {1, 2, 3},
                            new double[] {0, 0, 1, 1, 2, 2},
                            new double[] {1, 1, 2, 2, 1, 3}));
            IndexDetailsTest.assertMessage(e, "batch row 2");
        }
    }

    @Test
    public void nullArraysThrowNullPointerException() throws IOException {
        try (IndexDetails index = open2d(newDir())) {
            List<ThrowingRunnable> bad = Arrays.asList(
                    () -> index.insert(1L, null),
                    () -> index.insert(1L, null, P),
                    () -> index.insert(1L, P, null),
                    () -> index.insertBatch(null, P),
                    () -> index.insertBatch(new long[1], null),
                    () -> index.insertBatch(new long[1], P, null),
                    () -> index.delete(1L, null),
                    () -> index.delete(1L, P, null),
                    () -> index.update(1L, P, P, P, null),
                    () -> index.search(null, P, P),
                    () -> index.search(SearchType.WITHIN, null, P),
                    () -> index.count(SearchType.WITHIN, P, null),
                    () -> index.cursor(SearchType.WITHIN, null, P),
                    () -> index.nearest(null, 1));
            for (int i = 0; i < bad.size(); i++) {
                assertThrows("case " + i, NullPointerException.class, bad.get(i));
            }
            index.commit();
            assertEquals(0, index.size());
        }
        assertThrows(NullPointerException.class, () -> new IndexDetails(2, 64, XY,
                PersistenceMode.DURABLE, newDir(), new IndexDetails.Options()
                        .durability(null)));
    }

    @Test
    public void closeIsIdempotentAndEveryCallAfterItThrowsIllegalStateException()
            throws IOException {
        IndexDetails index = open2d(newDir());
        index.insert(1L, P);
        index.commit();
        index.close();
        assertTrue(index.isClosed());
        index.close();
        index.close();
        assertTrue(index.toString(), index.toString().contains("closed"));
        List<ThrowingRunnable> calls = IndexDetailsTest.everyCall(index);
        calls.add(index::commit);
        IndexDetailsTest.assertAllClosed(calls);
        assertEquals(2, index.dimension());
        assertArrayEquals(XY, index.labels());
    }

    @Test
    public void eachDurabilityReopensItsCommits() throws IOException {
        for (Durability durability : Durability.values()) {
            String dir = newDir();
            try (IndexDetails index = open(dir, 2, 64, durability)) {
                for (int i = 0; i < 10; i++) {
                    index.insert(i, new double[] {i, i});
                    index.commit();
                }
            }
            try (IndexDetails index = open(dir, 2, 64, durability)) {
                assertEquals(durability.toString(), 10, index.size());
                assertArrayEquals(durability.toString(), new long[] {3, 4, 2},
                        index.nearest(new double[] {3.4, 3.4}, 3));
            }
        }
    }
}
