package dev.xtree;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The JNI bridge itself (native/jni/), called through the private native methods so that the
 * Java-side checks of {@link IndexDetails} are bypassed: Rust must reject every bad input on
 * its own with the right exception, turn panics into {@link XTreeInternalException}, and map
 * every error kind to its Java class. Run with {@code -Xcheck:jni} (the Gradle test task does).
 */
public class NativeBridgeTest {
    static {
        NativeLibrary.load();
    }

    /** Bound to a test hook of the bridge: panics in Rust with this message. */
    private static native long nativePanic(String message);

    /** Bound to a test hook of the bridge: fails with the error kind of this code. */
    private static native long nativeFail(int code);

    /**
     * Bound to a test hook of the bridge: logs {@code message} at native level code {@code
     * level} (1 error .. 5 trace) from a new native thread named {@code xtree-test-logger},
     * never attached to the JVM, and waits for that thread (used by {@link NativeLogTest}).
     */
    static native void nativeLogFromThread(int level, String message);

    private static final double[] P = {1, 2};
    private static final double[] NAN = {Double.NaN, 2};
    private static final double[] SHORT = {1};
    private static final String[] LABELS = {"x", "y"};
    private static final int WITHIN = SearchType.WITHIN.ordinal();

    private long index;

    @Before
    public void createIndex() throws Throwable {
        index = (Long) call(IndexDetails.class, "nativeCreate", 2, 64, LABELS, 0);
        assertTrue(index != 0);
    }

    @After
    public void freeIndex() throws Throwable {
        call(IndexDetails.class, "nativeFree", index);
    }

    private static Object call(Class<?> owner, String name, Object... args) throws Throwable {
        for (Method m : owner.getDeclaredMethods()) {
            if (m.getName().equals(name)) {
                m.setAccessible(true);
                try {
                    return m.invoke(null, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
        }
        throw new AssertionError("no method " + name);
    }

    private static Object index(String name, Object... args) throws Throwable {
        return call(IndexDetails.class, name, args);
    }

    /** Asserts that the call throws {@code type} with a message containing {@code part}. */
    private static void expect(Class<? extends Throwable> type, String part, String name,
            Object... args) {
        try {
            index(name, args);
            fail(name + " accepted bad input");
        } catch (Throwable t) {
            assertEquals(name + ": " + t, type, t.getClass());
            assertTrue(name + ": message \"" + t.getMessage() + "\" lacks \"" + part + "\"",
                    t.getMessage() != null && t.getMessage().contains(part));
        }
    }

    @Test
    public void createValidatesEverything() {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        expect(iae, "dimension", "nativeCreate", 0, 64, new String[0], 0);
        expect(iae, "dimension", "nativeCreate", 256, 64, IndexDetailsOracleTest.labels(256), 0);
        expect(iae, "dimension", "nativeCreate", -1, 64, new String[0], 0);
        expect(iae, "precision", "nativeCreate", 2, 48, LABELS, 0);
        expect(iae, "precision", "nativeCreate", 2, -64, LABELS, 0);
        expect(iae, "labels is null", "nativeCreate", 2, 64, null, 0);
        expect(iae, "labels[1] is null", "nativeCreate", 2, 64, new String[] {"x", null}, 0);
        expect(iae, "label", "nativeCreate", 3, 64, LABELS, 0);
        expect(iae, "nodeSize", "nativeCreate", 2, 64, LABELS, -1);
        expect(iae, "10", "nativeCreate", 2, 64, LABELS, 10);
    }

    @Test
    public void manyLabelsDoNotExhaustLocalReferences() throws Throwable {
        String[] labels = IndexDetailsOracleTest.labels(255);
        long h = (Long) index("nativeCreate", 255, 32, labels, 0);
        index("nativeFree", h);
    }

    @Test
    public void nullArraysAreRejectedByRust() {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        expect(iae, "point is null", "nativeInsertPoint", index, 1L, null);
        expect(iae, "min is null", "nativeInsert", index, 1L, null, P);
        expect(iae, "max is null", "nativeInsert", index, 1L, P, null);
        expect(iae, "rowIds is null", "nativeInsertPoints", index, null, P);
        expect(iae, "coords is null", "nativeInsertPoints", index, new long[1], null);
        expect(iae, "mins is null", "nativeInsertBoxes", index, new long[1], null, P);
        expect(iae, "maxs is null", "nativeInsertBoxes", index, new long[1], P, null);
        expect(iae, "min is null", "nativeDelete", index, 1L, null, P);
        expect(iae, "newMax is null", "nativeUpdate", index, 1L, P, P, P, null);
        expect(iae, "min is null", "nativeSearch", index, WITHIN, null, P);
        expect(iae, "max is null", "nativeCount", index, WITHIN, P, null);
        expect(iae, "point is null", "nativeNearest", index, null, 1);
        expect(iae, "min is null", "nativeCursor", index, WITHIN, null, P);
    }

    @Test
    public void badValuesAreRejectedByRust() throws Throwable {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        double[] flipped = {3, 3};
        double[] inf = {Double.POSITIVE_INFINITY, 0};
        expect(iae, "NaN", "nativeInsertPoint", index, 1L, NAN);
        expect(iae, "infinite", "nativeInsertPoint", index, 1L, inf);
        expect(iae, "1", "nativeInsertPoint", index, 1L, SHORT);
        expect(iae, "min", "nativeInsert", index, 1L, flipped, P);
        expect(iae, "NaN", "nativeInsert", index, 1L, P, NAN);
        expect(iae, "3", "nativeInsertPoints", index, new long[2], new double[3]);
        expect(iae, "NaN", "nativeInsertPoints", index, new long[1], NAN);
        expect(iae, "4", "nativeInsertBoxes", index, new long[1], P, new double[4]);
        expect(iae, "min", "nativeInsertBoxes", index, new long[1], flipped, P);
        expect(iae, "NaN", "nativeDelete", index, 1L, NAN, P);
        expect(iae, "1", "nativeDelete", index, 1L, SHORT, P);
        expect(iae, "min", "nativeUpdate", index, 1L, P, P, flipped, P);
        expect(iae, "infinite", "nativeUpdate", index, 1L, P, P, inf, inf);
        expect(iae, "NaN", "nativeSearch", index, WITHIN, NAN, P);
        expect(iae, "min", "nativeCount", index, WITHIN, flipped, P);
        expect(iae, "ordinal", "nativeSearch", index, 3, P, P);
        expect(iae, "ordinal", "nativeCount", index, -1, P, P);
        expect(iae, "ordinal", "nativeCursor", index, 99, P, P);
        expect(iae, "k", "nativeNearest", index, P, -1);
        expect(iae, "1", "nativeNearest", index, SHORT, 1);
        assertEquals("a rejected call stored something", 0L, index("nativeSize", index));
    }

    @Test
    public void closedHandleIsIllegalState() {
        Class<IllegalStateException> ise = IllegalStateException.class;
        expect(ise, "closed", "nativeSize", 0L);
        expect(ise, "closed", "nativeInsertPoint", 0L, 1L, P);
        expect(ise, "closed", "nativeInsert", 0L, 1L, P, P);
        expect(ise, "closed", "nativeInsertPoints", 0L, new long[1], P);
        expect(ise, "closed", "nativeInsertBoxes", 0L, new long[1], P, P);
        expect(ise, "closed", "nativeDelete", 0L, 1L, P, P);
        expect(ise, "closed", "nativeUpdate", 0L, 1L, P, P, P, P);
        expect(ise, "closed", "nativeSearch", 0L, WITHIN, P, P);
        expect(ise, "closed", "nativeCount", 0L, WITHIN, P, P);
        expect(ise, "closed", "nativeNearest", 0L, P, 1);
        expect(ise, "closed", "nativeCursor", 0L, WITHIN, P, P);
    }

    /** As {@link #expect}, for a native method of {@code owner}. */
    private static void expectIn(Class<?> owner, Class<? extends Throwable> type, String part,
            String name, Object... args) {
        try {
            call(owner, name, args);
            fail(name + " accepted bad input");
        } catch (Throwable t) {
            assertEquals(name + ": " + t, type, t.getClass());
            assertTrue(name + ": message \"" + t.getMessage() + "\" lacks \"" + part + "\"",
                    t.getMessage() != null && t.getMessage().contains(part));
        }
    }

    @Test
    public void durableOpenValidatesEverything() throws Throwable {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        String dir = Files.createTempDirectory("xtree-bridge").toString();
        try {
            expect(iae, "dataDir is null", "nativeOpen", null, 1, 2, 64, LABELS, 0, 0L);
            expect(iae, "durability", "nativeOpen", dir, 3, 2, 64, LABELS, 0, 0L);
            expect(iae, "durability", "nativeOpen", dir, -1, 2, 64, LABELS, 0, 0L);
            expect(iae, "labels is null", "nativeOpen", dir, 1, 2, 64, null, 0, 0L);
            expect(iae, "dimension", "nativeOpen", dir, 1, 0, 64, new String[0], 0, 0L);
            expect(iae, "precision", "nativeOpen", dir, 1, 2, 48, LABELS, 0, 0L);
            expectIn(DurableRuntime.class, iae, "dataDir is null", "nativeOpen", null, 1, 0L);
            expectIn(DurableRuntime.class, iae, "durability", "nativeOpen", dir, 7, 0L);
            expectIn(DurableRuntime.class, iae, "memoryBudget", "nativeOpen", dir, 1, -1L);
            expect(iae, "memoryBudget", "nativeOpen", dir, 1, 2, 64, LABELS, 0, Long.MIN_VALUE);
            long rt = (Long) call(DurableRuntime.class, "nativeOpen", dir, 0, 0L);
            try {
                expectIn(DurableRuntime.class, iae, "name is null", "nativeField", rt, null, 2,
                        64, LABELS, 0);
                expectIn(DurableRuntime.class, iae, "labels[1] is null", "nativeField", rt, "f",
                        2, 64, new String[] {"x", null}, 0);
                expectIn(DurableRuntime.class, iae, "label", "nativeField", rt, "f", 3, 64,
                        LABELS, 0);
                expectIn(DurableRuntime.class, iae, "nodeSize", "nativeField", rt, "f", 2, 64,
                        LABELS, -1);
                long field = (Long) call(DurableRuntime.class, "nativeField", rt, "f", 2, 64,
                        LABELS, 0);
                try {
                    index("nativeInsertPoint", field, 1L, P);
                    expect(iae, "NaN", "nativeInsertPoint", field, 1L, NAN);
                    expect(iae, "batch row 0", "nativeInsertBoxes", field, new long[1], NAN, P);
                    expect(iae, "maxs", "nativeInsertBoxes", field, new long[1], P,
                            new double[3]);
                    assertEquals(0L, index("nativeSize", field));
                    assertTrue((Long) index("nativeCommit", field) > 0);
                    assertEquals(1L, index("nativeSize", field));
                } finally {
                    index("nativeFree", field);
                }
            } finally {
                call(DurableRuntime.class, "nativeFree", rt);
            }
        } finally {
            try (Stream<Path> files = Files.walk(Paths.get(dir))) {
                files.sorted(Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    /**
     * Regression (issue 7, item 14), at the bridge: {@code convert::string} fell back to a lossy
     * decoding for strings with unpaired surrogates, so distinct labels, directories and field
     * names aliased; NUL in a directory was an I/O error; repeated and blank labels passed.
     * Rust must reject all of them on its own, without the Java-side checks.
     */
    @Test
    public void malformedStringsAreRejectedByRust() throws Throwable {
        Class<IllegalArgumentException> iae = IllegalArgumentException.class;
        expect(iae, "labels[0]", "nativeCreate", 2, 64, new String[] {"\uD800", "y"}, 0);
        expect(iae, "surrogate", "nativeCreate", 2, 64, new String[] {"x", "a\uDFFFb"}, 0);
        expect(iae, "labels[1]", "nativeCreate", 2, 64, new String[] {"x", "x"}, 0);
        expect(iae, "blank", "nativeCreate", 2, 64, new String[] {" ", "y"}, 0);
        expect(iae, "blank", "nativeCreate", 2, 64, new String[] {"x", ""}, 0);
        String dir = Files.createTempDirectory("xtree-bridge").toString();
        Path file = Files.createTempFile("xtree-bridge", ".file");
        try {
            expect(iae, "dataDir", "nativeOpen", dir + "/a\u0000b", 1, 2, 64, LABELS, 0, 0L);
            expect(iae, "dataDir", "nativeOpen", dir + "/\uD800", 1, 2, 64, LABELS, 0, 0L);
            expectIn(DurableRuntime.class, iae, "dataDir", "nativeOpen", dir + "/\uDBFF", 1, 0L);
            expectIn(DurableRuntime.class, iae, "NUL", "nativeOpen", dir + "/a\u0000", 1, 0L);
            expectIn(DurableRuntime.class, XTreeIoException.class, "regular file", "nativeOpen",
                    file.toString(), 1, 0L);
            long rt = (Long) call(DurableRuntime.class, "nativeOpen", dir, 0, 0L);
            try {
                expectIn(DurableRuntime.class, iae, "name", "nativeField", rt, "\uDC00", 2, 64,
                        LABELS, 0);
                expectIn(DurableRuntime.class, iae, "labels[1]", "nativeField", rt, "f", 2, 64,
                        new String[] {"x", "x"}, 0);
                assertEquals(0, ((String[]) call(DurableRuntime.class, "nativeFieldNames", rt))
                        .length);
            } finally {
                call(DurableRuntime.class, "nativeFree", rt);
            }
            try (Stream<Path> entries = Files.list(Paths.get(dir))) {
                assertTrue("only the runtime's files",
                        entries.noneMatch(f -> f.getFileName().toString().equals("a")
                                || f.getFileName().toString().startsWith("\uFFFD")));
            }
        } finally {
            Files.delete(file);
            try (Stream<Path> files = Files.walk(Paths.get(dir))) {
                files.sorted(Comparator.reverseOrder())
                        .forEach(f -> f.toFile().delete());
            }
        }
    }

    @Test
    public void closedDurableRuntimeHandleIsIllegalState() throws Throwable {
        Class<IllegalStateException> ise = IllegalStateException.class;
        expectIn(DurableRuntime.class, ise, "closed", "nativeField", 0L, "f", 2, 64, LABELS, 0);
        expectIn(DurableRuntime.class, ise, "closed", "nativeFieldNames", 0L);
        expectIn(DurableRuntime.class, ise, "closed", "nativeCommit", 0L);
        expectIn(DurableRuntime.class, ise, "closed", "nativeCheckpoint", 0L);
        expect(ise, "closed", "nativeCommit", 0L);
        call(DurableRuntime.class, "nativeFree", 0L);
    }

    @Test
    public void cursorBridge() throws Throwable {
        index("nativeInsertPoints", index, new long[] {1, 2, 3}, new double[] {0, 0, 1, 1, 2, 2});
        long cursor = (Long) index("nativeCursor", index, WITHIN, new double[] {0, 0},
                new double[] {5, 5});
        try {
            assertThrows(IllegalArgumentException.class,
                    () -> call(SearchCursor.class, "nativeNextPage", cursor, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> call(SearchCursor.class, "nativeNextPage", cursor, -1));
            for (int expected : new int[] {2, 1, 0, 0}) {
                long[] page = (long[]) call(SearchCursor.class, "nativeNextPage", cursor, 2);
                assertEquals(expected, page.length);
            }
        } finally {
            call(SearchCursor.class, "nativeFree", cursor);
        }
        assertThrows(IllegalStateException.class,
                () -> call(SearchCursor.class, "nativeNextPage", 0L, 1));
        call(SearchCursor.class, "nativeFree", 0L);
        index("nativeFree", 0L);
    }

    @Test
    public void panicsBecomeInternalExceptions() throws Throwable {
        // Non-ASCII text checks the message's trip through modified UTF-8 both ways.
        String message = "intentional test panic \u00e9\u4e16\ud83d\ude00";
        for (int i = 0; i < 3; i++) {
            XTreeInternalException e = assertThrows(XTreeInternalException.class,
                    () -> nativePanic(message));
            assertEquals(XTreeException.CODE_INTERNAL, e.code());
            assertTrue(e.getMessage(), e.getMessage().contains(message));
            assertTrue(e.getMessage(), e.getMessage().contains("panic"));
        }
        // The bridge keeps working after panics.
        index("nativeInsertPoint", index, 5L, P);
        assertEquals(1L, index("nativeSize", index));
    }

    @Test
    public void everyErrorKindMapsToItsJavaClass() {
        Object[][] table = {
            {1, IllegalArgumentException.class},
            {2, IllegalStateException.class},
            {3, UnsupportedOperationException.class},
            {4, IllegalStateException.class},
            {10, XTreeIoException.class},
            {11, XTreeCorruptionException.class},
            {12, XTreePoisonedException.class},
            {99, XTreeInternalException.class},
        };
        for (Object[] row : table) {
            int code = (Integer) row[0];
            Throwable t = assertThrows(Throwable.class, () -> nativeFail(code));
            assertEquals("code " + code, row[1], t.getClass());
            assertTrue(t.getMessage().contains("test error with code " + code));
            if (t instanceof XTreeException) {
                assertEquals(code, ((XTreeException) t).code());
            }
        }
        assertThrows(IllegalArgumentException.class, () -> nativeFail(5));
    }
}
