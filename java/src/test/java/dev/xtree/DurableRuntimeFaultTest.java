package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.Rule;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;
import org.junit.rules.TemporaryFolder;

/**
 * Failed fsyncs and full disks on a real data directory, through the package-private hook {@link
 * DurableRuntime#openWithFaults} (the Rust {@code FailingBackend} over the directory's files).
 *
 * <p>For every position N of the fsyncs (EIO) and of the writes (ENOSPC) that a small workload
 * makes (a field creation, three commits, a checkpoint, close), the N-th call fails once and the
 * disk works again afterwards. Then: the failing call throws {@link XTreeIoException} naming the
 * injected error; later writes, commits and checkpoints throw {@link XTreePoisonedException}
 * (the disk would have accepted them); reads answer on the last acknowledged commit; close
 * releases the directory; and a normal reopen shows a committed state: under STRICT and BALANCED
 * every acknowledged commit, plus all or nothing of a commit that failed; under EVENTUAL one of
 * the committed states.
 */
public class DurableRuntimeFaultTest {
    private static final String[] XY = {"x", "y"};
    private static final String[] T = {"t"};
    private static final double[] P = {1, 2};

    /** The steps of the workload that must each meet a fault at some position. */
    private static final Set<String> STEPS = new TreeSet<>(Arrays.asList(
            "create field time", "commit 1", "commit 2", "checkpoint", "commit 3", "close"));

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    /** A committed state: each field's sorted row ids, by field name. */
    private static final class State extends TreeMap<String, List<Long>> {
        private static final long serialVersionUID = 1L;

        State() {}

        State(State other) {
            super(other);
        }

        /** A copy with {@code ids} added to, or if {@code remove} removed from, {@code name}. */
        State with(String name, boolean remove, long... ids) {
            State next = new State(this);
            TreeSet<Long> rows = new TreeSet<>(next.getOrDefault(name, new ArrayList<>()));
            for (long id : ids) {
                if (remove) {
                    rows.remove(id);
                } else {
                    rows.add(id);
                }
            }
            next.put(name, new ArrayList<>(rows));
            return next;
        }
    }

    /** What one run of the workload did. */
    private static final class Run {
        /** Every acknowledged state, the base first. */
        final List<State> acknowledged = new ArrayList<>();
        /** The step running (or last finished) and the state it commits, if it commits. */
        String step = "start";
        State attempted;
        /** The first exception the workload saw, the step, and the state that step commits. */
        XTreeException error;
        String failedStep;
        State failedCommit;

        Run(State base) {
            acknowledged.add(base);
        }

        State last() {
            return acknowledged.get(acknowledged.size() - 1);
        }

        void begin(String name, State commits) {
            step = name;
            attempted = commits;
        }

        void done() {
            if (attempted != null) {
                acknowledged.add(attempted);
            }
            attempted = null;
            step = "after " + step;
        }

        void failed(XTreeException e) {
            error = e;
            failedStep = step;
            failedCommit = attempted;
        }
    }

    private static double[] points(long[] ids) {
        double[] coords = new double[2 * ids.length];
        for (int i = 0; i < ids.length; i++) {
            coords[2 * i] = ids[i] % 17;
            coords[2 * i + 1] = ids[i] / 17;
        }
        return coords;
    }

    private static long[] range(long from, long to) {
        long[] ids = new long[(int) (to - from)];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = from + i;
        }
        return ids;
    }

    /** A data directory holding field "geo" with rows 1..10, committed and closed normally. */
    private String baseDirectory() throws IOException {
        String dir = tmp.newFolder().getPath();
        try (DurableRuntime runtime = DurableRuntime.open(dir, Durability.STRICT);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            long[] ids = range(1, 11);
            geo.insertBatch(ids, points(ids));
            runtime.commit();
        }
        return dir;
    }

    private static State baseState() {
        return new State().with("geo", false, range(1, 11));
    }

    /** The committed rows of the fields {@code names} ("geo" is 2-D, the others 1-D). */
    private static State read(DurableRuntime runtime, Collection<String> names) {
        State state = new State();
        for (String name : names) {
            boolean geo = name.equals("geo");
            try (IndexDetails f = runtime.field(name, geo ? 2 : 1, 64, geo ? XY : T)) {
                double[] min = new double[f.dimension()];
                double[] max = new double[f.dimension()];
                Arrays.fill(min, Double.NEGATIVE_INFINITY);
                Arrays.fill(max, Double.POSITIVE_INFINITY);
                List<Long> rows = new ArrayList<>();
                for (long id : IndexDetailsTest.sorted(f.search(SearchType.INTERSECTS, min, max))) {
                    rows.add(id);
                }
                assertEquals(name, rows.size(), f.size());
                state.put(name, rows);
            }
        }
        return state;
    }

    /** The state a normal open of {@code dir} recovers. */
    private static State reopen(String dir) {
        try (DurableRuntime runtime = DurableRuntime.open(dir)) {
            return read(runtime, Arrays.asList(runtime.fieldNames()));
        }
    }

    /**
     * The workload: a new field (committed at creation), a commit inserting into both fields, one
     * deleting and inserting, a checkpoint, one more commit. Records each step in {@code run};
     * throws the first exception.
     */
    private static void workload(DurableRuntime runtime, Run run) {
        State m = run.last().with("time", false);
        run.begin("create field time", m);
        runtime.field("time", 1, 64, T).close();
        run.done();
        try (IndexDetails geo = runtime.field("geo", 2, 64, XY);
                IndexDetails time = runtime.field("time", 1, 64, T)) {
            long[] ids = range(11, 41);
            geo.insertBatch(ids, points(ids));
            double[] starts = new double[ids.length];
            for (int i = 0; i < ids.length; i++) {
                starts[i] = ids[i];
            }
            time.insertBatch(ids, starts, starts);
            m = m.with("geo", false, ids).with("time", false, ids);
            run.begin("commit 1", m);
            runtime.commit();
            run.done();

            long[] gone = range(1, 6);
            double[] at = points(gone);
            for (int i = 0; i < gone.length; i++) {
                assertTrue(geo.delete(gone[i], new double[] {at[2 * i], at[2 * i + 1]}));
            }
            time.insert(41L, new double[] {41}, new double[] {50});
            m = m.with("geo", true, gone).with("time", false, 41L);
            run.begin("commit 2", m);
            time.commit();
            run.done();

            run.begin("checkpoint", null);
            assertTrue(runtime.checkpoint());
            run.done();

            ids = range(100, 300);
            geo.insertBatch(ids, points(ids));
            m = m.with("geo", false, ids);
            run.begin("commit 3", m);
            geo.commit();
            run.done();
        }
    }

    /**
     * After the failure: reads show the last acknowledged state, and every write, commit,
     * checkpoint and field creation is refused as poisoned, naming the injected failure.
     */
    private static void checkPoisoned(DurableRuntime runtime, Run run, String injected) {
        assertEquals("reads after the failure", run.last(), read(runtime, run.last().keySet()));
        try (IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            List<ThrowingRunnable> writes = Arrays.asList(
                    () -> geo.insert(999L, P),
                    () -> geo.delete(6L, points(new long[] {6})),
                    geo::commit,
                    runtime::commit,
                    runtime::checkpoint,
                    () -> runtime.field("other", 1, 64, T));
            for (int i = 0; i < writes.size(); i++) {
                IndexDetailsTest.assertMessage(assertThrows("write " + i + " after the failure",
                        XTreePoisonedException.class, writes.get(i)), "poisoned", injected);
            }
        }
        assertEquals("reads after the refused writes", run.last(),
                read(runtime, run.last().keySet()));
    }

    /** Runs the workload on {@code dir} through {@code plan} (checks the poisoned runtime). */
    private static Run run(String dir, Durability durability, FaultPlan plan) {
        Run run = new Run(baseState());
        DurableRuntime runtime;
        run.begin("open", null);
        try {
            runtime = DurableRuntime.openWithFaults(dir, durability, plan);
        } catch (XTreeException e) {
            run.failed(e);
            return run;
        }
        try {
            workload(runtime, run);
        } catch (XTreeException e) {
            run.failed(e);
            String[] injected = plan.injected();
            String message = injected.length > 0 ? injected[0] : "(nothing injected)";
            checkPoisoned(runtime, run, message);
        }
        run.begin("close", null);
        try {
            runtime.close();
        } catch (XTreeException e) {
            if (run.error != null) {
                throw new AssertionError("close of a poisoned runtime threw", e);
            }
            run.failed(e);
        }
        assertTrue(runtime.isClosed());
        return run;
    }

    /** The fsync and write counts of the workload without faults (also checks its result). */
    private long[] dryRun(Durability durability) throws IOException {
        String dir = baseDirectory();
        try (FaultPlan plan = FaultPlan.counting()) {
            Run run = run(dir, durability, plan);
            assertNull("a run without faults failed", run.error);
            assertEquals(0, plan.injected().length);
            assertEquals(run.last(), reopen(dir));
            return new long[] {plan.syncs(), plan.writes()};
        }
    }

    /**
     * Fails the N-th fsync (or write) for every N the dry run counted; {@code exact}: the counts
     * are deterministic (no background sync), so every N must fire.
     */
    private void everyPosition(Durability durability, boolean syncs) throws IOException {
        long[] counts = dryRun(durability);
        long positions = syncs ? counts[0] : counts[1];
        boolean exact = syncs ? durability != Durability.EVENTUAL : true;
        int errno = syncs ? FaultPlan.EIO : FaultPlan.ENOSPC;
        String errnoText = "os error " + errno;
        Set<String> failedSteps = new TreeSet<>();
        int silent = 0;
        int errors = 0;
        // EVENTUAL's background sync makes the count vary: go a little past it.
        long last = exact ? positions : positions + 3;
        for (long n = 1; n <= last; n++) {
            String dir = baseDirectory();
            String what = durability + ", " + (syncs ? "fsync " : "write ") + n + " of "
                    + positions + " fails with errno " + errno;
            try (FaultPlan plan = syncs ? new FaultPlan(n, 0, errno)
                    : new FaultPlan(0, n, errno)) {
                Run run = run(dir, durability, plan);
                String[] injected = plan.injected();
                State recovered = reopen(dir);
                if (injected.length == 0) {
                    assertTrue(what + ": the planned call was never made", !exact);
                    assertNull(what + ": " + run.error, run.error);
                    assertEquals(what, run.last(), recovered);
                    continue;
                }
                assertEquals(what, 1, injected.length);
                assertTrue(what + ": " + injected[0], injected[0].contains(errnoText));
                if (run.error == null) {
                    // Only the clean-up fsync of the directory after a checkpoint may fail
                    // without an error (its failure leaves garbage the next open removes), or,
                    // under EVENTUAL, a background sync after the last call.
                    silent++;
                    assertTrue(what + ": " + injected[0] + " failed silently", syncs
                            && (durability == Durability.EVENTUAL
                                    || injected[0].startsWith("fsync directory")));
                    if (exact) {
                        assertEquals(what, run.last(), recovered);
                    } else {
                        assertTrue(what, run.acknowledged.contains(recovered));
                    }
                    continue;
                }
                errors++;
                failedSteps.add(run.failedStep);
                what += ", failed in " + run.failedStep;
                IndexDetailsTest.assertMessage(run.error, injected[0]);
                if (exact) {
                    assertEquals(what + ": " + run.error, XTreeIoException.class,
                            run.error.getClass());
                    boolean all = recovered.equals(run.failedCommit);
                    if (!all) {
                        assertEquals(what + ": every acknowledged commit and nothing else",
                                run.last(), recovered);
                    }
                } else {
                    assertTrue(what + ": " + run.error, run.error instanceof XTreeIoException
                            || run.error instanceof XTreePoisonedException);
                    assertTrue(what + ": recovered " + recovered, run.acknowledged.contains(
                            recovered) || recovered.equals(run.failedCommit));
                }
            }
        }
        if (exact) {
            assertTrue(durability + ": steps that met a fault: " + failedSteps,
                    failedSteps.containsAll(STEPS));
            // The directory clean-up after the explicit checkpoint and after close's.
            assertTrue(durability + ": " + silent + " silent failures", silent <= 2);
        } else {
            assertTrue(durability + ": only " + errors + " of " + last + " faults surfaced",
                    errors >= 3);
        }
    }

    @Test
    public void strictFailedFsyncAtEveryPosition() throws IOException {
        everyPosition(Durability.STRICT, true);
    }

    @Test
    public void balancedFailedFsyncAtEveryPosition() throws IOException {
        everyPosition(Durability.BALANCED, true);
    }

    @Test
    public void eventualFailedFsyncAtEveryPosition() throws IOException {
        everyPosition(Durability.EVENTUAL, true);
    }

    @Test
    public void strictNoSpaceAtEveryWrite() throws IOException {
        everyPosition(Durability.STRICT, false);
    }

    @Test
    public void balancedNoSpaceAtEveryWrite() throws IOException {
        everyPosition(Durability.BALANCED, false);
    }

    @Test
    public void eventualNoSpaceAtEveryWrite() throws IOException {
        everyPosition(Durability.EVENTUAL, false);
    }

    /**
     * A failed fsync at open: the open throws and releases the directory, which then opens
     * normally with its committed state.
     */
    @Test
    public void failedFsyncWhileCreatingADirectory() throws IOException {
        String dir = tmp.newFolder().getPath();
        try (FaultPlan plan = new FaultPlan(1, 0, FaultPlan.EIO)) {
            XTreeIoException e = assertThrows(XTreeIoException.class,
                    () -> DurableRuntime.openWithFaults(dir, Durability.STRICT, plan));
            IndexDetailsTest.assertMessage(e, "fsync", "os error 5");
            assertArrayEquals(plan.injected(), new String[] {e.getMessage()});
        }
        assertEquals(new State(), reopen(dir));
    }

    @Test
    public void faultPlanCountsAndRejectsBadArguments() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> new FaultPlan(-1, 0, FaultPlan.EIO));
        assertThrows(IllegalArgumentException.class, () -> new FaultPlan(0, -1, FaultPlan.EIO));
        IndexDetailsTest.assertMessage(assertThrows(IllegalArgumentException.class,
                () -> new FaultPlan(1, 0, 4)), "errno 4");
        String dir = baseDirectory();
        FaultPlan plan = FaultPlan.counting();
        try (DurableRuntime runtime = DurableRuntime.openWithFaults(dir, Durability.STRICT, plan);
                IndexDetails geo = runtime.field("geo", 2, 64, XY)) {
            long syncs = plan.syncs();
            long writes = plan.writes();
            geo.insert(500L, P);
            runtime.commit();
            assertEquals("a STRICT commit: one log write", writes + 1, plan.writes());
            assertEquals("a STRICT commit: one log fsync", syncs + 1, plan.syncs());
            // The runtime keeps its own reference: closing the plan does not disturb it.
            plan.close();
            plan.close();
            assertThrows(IllegalStateException.class, plan::syncs);
            assertThrows(IllegalStateException.class,
                    () -> DurableRuntime.openWithFaults(dir, Durability.STRICT, plan));
            geo.insert(501L, P);
            runtime.commit();
        }
        assertEquals(baseState().with("geo", false, 500L, 501L), reopen(dir));
        assertThrows(NullPointerException.class,
                () -> DurableRuntime.openWithFaults(dir, Durability.STRICT, null));
    }
}
