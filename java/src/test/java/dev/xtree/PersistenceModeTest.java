package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

/** {@link PersistenceMode}: IN_MEMORY works, DURABLE is not available yet. */
public class PersistenceModeTest {
    @Test
    public void inMemoryWorksAndDurableIsUnsupported() {
        try (IndexDetails index = new IndexDetails(1, 64, new String[] {"t"},
                PersistenceMode.IN_MEMORY, null)) {
            index.insert(1L, new double[] {0.5});
            assertEquals(1, index.size());
        }
        assertThrows(UnsupportedOperationException.class, () -> new IndexDetails(1, 64,
                new String[] {"t"}, PersistenceMode.DURABLE, "/tmp/xtree-durable"));
        assertThrows(UnsupportedOperationException.class, () -> new IndexDetails(1, 64,
                new String[] {"t"}, PersistenceMode.DURABLE, null));
    }
}
