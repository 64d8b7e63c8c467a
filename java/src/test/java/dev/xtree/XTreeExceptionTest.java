package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * The {@link XTreeException} hierarchy and its stable codes (shared with Rust's
 * {@code ErrorKind::code}); the subclasses are covered here too. That the bridge throws each
 * class for its error kind is checked in {@link NativeBridgeTest}.
 */
public class XTreeExceptionTest {
    @Test
    public void codesAreStable() {
        assertEquals(10, XTreeException.CODE_IO);
        assertEquals(11, XTreeException.CODE_CORRUPTION);
        assertEquals(12, XTreeException.CODE_POISONED);
        assertEquals(99, XTreeException.CODE_INTERNAL);
    }

    @Test
    public void subclassesCarryTheirCode() {
        XTreeException[] all = {
            new XTreeIoException("io"),
            new XTreeCorruptionException("corruption"),
            new XTreePoisonedException("poisoned"),
            new XTreeInternalException("internal"),
        };
        int[] codes = {10, 11, 12, 99};
        String[] messages = {"io", "corruption", "poisoned", "internal"};
        for (int i = 0; i < all.length; i++) {
            assertEquals(codes[i], all[i].code());
            assertEquals(messages[i], all[i].getMessage());
            assertTrue(all[i] instanceof RuntimeException);
        }
    }

    @Test
    public void baseClassTakesAnyCode() {
        XTreeException e = new XTreeException(42, "later kind");
        assertEquals(42, e.code());
        assertEquals("later kind", e.getMessage());
    }
}
