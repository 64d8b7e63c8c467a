package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.io.IOException;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** {@link Durability}: the policies, their order (the bridge passes ordinals), each in use. */
public class DurabilityTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void ordinalsAreTheBridgeContract() {
        // native/jni/convert.rs maps 0, 1, 2 to Strict, Balanced, Eventual.
        assertArrayEquals(new Durability[] {Durability.STRICT, Durability.BALANCED,
            Durability.EVENTUAL}, Durability.values());
    }

    @Test
    public void everyPolicyCommitsAndReopens() throws IOException {
        for (Durability durability : Durability.values()) {
            String dir = tmp.newFolder().getPath();
            try (DurableRuntime runtime = DurableRuntime.open(dir, durability);
                    IndexDetails field = runtime.field("f", 1, 64, new String[] {"t"})) {
                assertEquals(durability, runtime.durability());
                field.insert(7L, new double[] {1});
                runtime.commit();
            }
            try (DurableRuntime runtime = DurableRuntime.open(dir, durability);
                    IndexDetails field = runtime.field("f", 1, 64, new String[] {"t"})) {
                assertEquals(durability.toString(), 1, field.size());
            }
        }
    }
}
