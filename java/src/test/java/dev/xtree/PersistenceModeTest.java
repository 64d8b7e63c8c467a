package dev.xtree;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.IOException;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * {@link PersistenceMode}: IN_MEMORY keeps nothing after close, DURABLE keeps what was committed
 * in its data directory.
 */
public class PersistenceModeTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void inMemoryWritesAreVisibleAtOnceAndGoneAfterClose() {
        try (IndexDetails index = new IndexDetails(1, 64, new String[] {"t"},
                PersistenceMode.IN_MEMORY, null)) {
            index.insert(1L, new double[] {0.5});
            assertEquals(1, index.size());
        }
        try (IndexDetails index = new IndexDetails(1, 64, new String[] {"t"},
                PersistenceMode.IN_MEMORY, null)) {
            assertEquals(0, index.size());
        }
    }

    @Test
    public void durableKeepsCommittedWritesInItsDataDir() throws IOException {
        String dir = tmp.newFolder().getPath();
        try (IndexDetails index = new IndexDetails(1, 64, new String[] {"t"},
                PersistenceMode.DURABLE, dir)) {
            index.insert(1L, new double[] {0.5});
            assertEquals(0, index.size());
            index.commit();
            assertEquals(1, index.size());
        }
        try (IndexDetails index = new IndexDetails(1, 64, new String[] {"t"},
                PersistenceMode.DURABLE, dir)) {
            assertArrayEquals(new long[] {1L}, index.search(SearchType.INTERSECTS,
                    new double[] {0}, new double[] {1}));
        }
    }

    @Test
    public void dataDirMatchesTheMode() {
        assertThrows(IllegalArgumentException.class, () -> new IndexDetails(1, 64,
                new String[] {"t"}, PersistenceMode.IN_MEMORY, "/tmp/xtree-not-used"));
        assertThrows(IllegalArgumentException.class, () -> new IndexDetails(1, 64,
                new String[] {"t"}, PersistenceMode.DURABLE, null));
    }
}
