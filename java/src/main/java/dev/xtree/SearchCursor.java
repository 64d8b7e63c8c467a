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
 * <p>Thread safety: the methods may be called from several threads; pages are handed out one
 * call at a time, so each row id of the answer goes to exactly one caller. {@link #close()} is
 * idempotent, waits for a page being read, and afterwards {@link #nextPage(int)} throws {@link
 * IllegalStateException}.
 */
public final class SearchCursor implements AutoCloseable {
    static {
        NativeLibrary.load();
    }

    private final NativeHandle handle;

    SearchCursor(long nativeHandle, SearchType type) {
        this.handle = new NativeHandle(this, nativeHandle, "SearchCursor(" + type + ")",
                SearchCursor::nativeFree);
    }

    /**
     * Reads the next row ids of the answer.
     *
     * @param maxRows the largest number of row ids wanted, {@code >= 1}
     * @return 1 to {@code maxRows} row ids, or an empty array once the answer is exhausted (and
     *     on every later call)
     * @throws IllegalArgumentException if {@code maxRows < 1}
     * @throws IllegalStateException if the cursor is closed
     */
    public long[] nextPage(int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows " + maxRows + " is less than 1");
        }
        long h = handle.acquire();
        try {
            return nativeNextPage(h, maxRows);
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
