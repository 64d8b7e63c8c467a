package dev.xtree;

/**
 * A paged reader of the answer of one window query, created by {@link IndexDetails#cursor}. The
 * answer is evaluated on a snapshot of the index taken when the cursor was opened; later writes,
 * and closing the index, do not affect it. Each {@link #nextPage(int)} is one native call.
 *
 * <pre>{@code
 * try (SearchCursor cursor = index.cursor(SearchType.WITHIN, min, max)) {
 *     for (long[] page = cursor.nextPage(4096); page.length > 0; page = cursor.nextPage(4096)) {
 *         // use page
 *     }
 * }
 * }</pre>
 *
 * <p>A page holds at most {@link #MAX_PAGE_ROWS} row ids, whatever {@code maxRows} asks for. A
 * row id leaves the cursor only once its page is a Java array: if allocating the array fails
 * (an {@link OutOfMemoryError} thrown by {@link #nextPage(int)}), the rows of that page are kept
 * and the next call starts with them, so every row id of the answer is delivered exactly once.
 *
 * <p>Thread safety: the methods may be called from several threads; pages are handed out one
 * call at a time, so each row id of the answer goes to exactly one caller. {@link #close()} is
 * idempotent, waits for a page being read, and afterwards {@link #nextPage(int)} throws {@link
 * IllegalStateException}.
 */
public final class SearchCursor implements AutoCloseable {
    /**
     * The most row ids one {@link #nextPage(int)} returns: 1048576 (2<sup>20</sup>), a page of 8
     * MiB. A larger {@code maxRows} is accepted and lowered to this value.
     */
    public static final int MAX_PAGE_ROWS = 1 << 20;

    private final NativeHandle handle;

    SearchCursor(long nativeHandle, SearchType type) {
        this.handle = new NativeHandle(this, nativeHandle, "SearchCursor(" + type + ")",
                SearchCursor::nativeFree);
    }

    /**
     * Reads the next row ids of the answer. A page may be shorter than asked for even before the
     * end of the answer; only an empty page means the end.
     *
     * @param maxRows the largest number of row ids wanted, {@code >= 1}; values above {@link
     *     #MAX_PAGE_ROWS} count as {@link #MAX_PAGE_ROWS}
     * @return 1 to {@code min(maxRows, MAX_PAGE_ROWS)} row ids, or an empty array once the
     *     answer is exhausted (and on every later call)
     * @throws IllegalArgumentException if {@code maxRows < 1}
     * @throws IllegalStateException if the cursor is closed
     * @throws OutOfMemoryError if the page's array cannot be allocated; its rows stay in the
     *     cursor, and the next call returns them first
     * @throws XTreeCorruptionException if a page of a durable index's snapshot cannot be read
     */
    public long[] nextPage(int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows " + maxRows + " is less than 1");
        }
        long h = handle.acquire();
        try {
            return nativeNextPage(h, Math.min(maxRows, MAX_PAGE_ROWS));
        } finally {
            handle.release();
        }
    }

    /**
     * Whether {@link #close()} has been called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return handle.isClosed();
    }

    /** Frees the cursor's snapshot. Idempotent and thread-safe. */
    @Override
    public void close() {
        handle.close();
    }

    // The native bridge (native/jni/search_cursor.rs).

    private static native long[] nativeNextPage(long handle, int maxRows);

    private static native void nativeFree(long handle);
}
