package dev.xtree.bench;

import static org.junit.Assert.assertEquals;

import dev.xtree.IndexDetails;
import org.junit.Test;

/** The W1 generator of {@link JavaBench} against the check values of BENCHMARKS.md. */
public class JavaBenchTest {
    @Test
    public void firstPointMatchesTheCheckValue() {
        JavaBench.Workload w = new JavaBench.Workload(1, 0);
        assertEquals(741.564880, w.coords[0], 5e-7);
        assertEquals(159.910400, w.coords[1], 5e-7);
        assertEquals((float) w.coords[0], w.coords[0], 0);
    }

    @Test
    public void smallWorkloadsHitTheGroundTruth() {
        long[][] cases = {{20_000, 1_000, 1_910}, {150_000, 1_000, 14_998}};
        for (long[] c : cases) {
            JavaBench.Workload w = new JavaBench.Workload((int) c[0], (int) c[1]);
            for (int precision : new int[] {32, 64}) {
                try (IndexDetails index = JavaBench.build(w, precision)) {
                    assertEquals("N=" + c[0] + " Q=" + c[1] + " precision " + precision, c[2],
                            JavaBench.runQueries(index, w));
                }
            }
        }
    }
}
