package dev.xtree;

import static org.junit.Assert.assertArrayEquals;

import org.junit.Test;

/** {@link SearchType} crosses JNI as its ordinal: the order is part of the native contract. */
public class SearchTypeTest {
    @Test
    public void ordinalsMatchTheNativeBridge() {
        // native/jni/convert.rs: 0 Intersects, 1 Contains, 2 Within.
        assertArrayEquals(new SearchType[] {
            SearchType.INTERSECTS, SearchType.CONTAINS, SearchType.WITHIN}, SearchType.values());
    }
}
