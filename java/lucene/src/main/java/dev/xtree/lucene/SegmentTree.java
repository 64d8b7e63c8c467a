package dev.xtree.lucene;

import dev.xtree.NativeLibrary;
import dev.xtree.SearchType;
import dev.xtree.XTreeCorruptionException;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.store.AlreadyClosedException;
import org.apache.lucene.store.DataInput;
import org.apache.lucene.store.DataOutput;
import org.apache.lucene.util.Accountable;
import org.apache.lucene.util.RamUsageEstimator;

/**
 * The native xtree of one segment and field, with segment doc ids as row ids (the bridge is
 * native/jni/segment_tree.rs). Immutable once built or loaded; any number of threads may query
 * it at once. {@link #close()} frees the native memory after the calls in flight returned (a
 * read-write lock, as {@code dev.xtree.NativeHandle} does); later calls throw {@link
 * AlreadyClosedException}.
 *
 * <p>Every query crosses JNI once: window queries return all the segment's matching doc ids as
 * one {@code int[]} (ascending, few hits) or one bitset ({@code long[]} words of {@code maxDoc}
 * bits, many hits); counts return a number; kNN returns the ids and fills the distances.
 */
final class SegmentTree implements Closeable, Accountable {
    /** Bytes moved across JNI per call while writing or reading a tree's file bytes. */
    static final int CHUNK = 1 << 20;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final long bytes;
    private final String what;
    private long handle;

    private SegmentTree(long handle, long bytes, String what) {
        this.handle = handle;
        this.bytes = bytes;
        this.what = what;
    }

    /**
     * Builds the tree of a batch of records (bulk load when large).
     *
     * @param shape the field's shape
     * @param docs doc id of each record
     * @param mins row-major mins (the points when {@code maxs} is null)
     * @param maxs row-major maxs, or null for points
     * @param what a description for messages
     */
    static SegmentTree build(XTreeFieldType shape, int[] docs, double[] mins, double[] maxs,
            String what) {
        NativeLibrary.load();
        long h = nativeBuild(shape.dimension(), shape.precision(), shape.labelsShared(), docs,
                mins, maxs);
        return new SegmentTree(h, 0, what);
    }

    /**
     * Writes the tree's bytes ({@code Index::to_bytes}, FORMAT.md) to {@code out}.
     *
     * @return the number of tree bytes written
     */
    long writeTo(DataOutput out) throws IOException {
        long h = acquire();
        try {
            long blob = nativeToBlob(h);
            try {
                long len = nativeBlobLength(blob);
                byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(1, len))];
                for (long pos = 0; pos < len; ) {
                    int n = (int) Math.min(buf.length, len - pos);
                    nativeBlobRead(blob, pos, buf, n);
                    out.writeBytes(buf, 0, n);
                    pos += n;
                }
                return len;
            } finally {
                nativeBlobFree(blob);
            }
        } finally {
            release();
        }
    }

    /** The tree bytes of a segment file, read into native memory but not yet parsed. */
    static final class Bytes implements Closeable {
        private long blob;
        final long length;

        /**
         * Reads {@code length} bytes from {@code in} into native memory, a chunk at a time.
         *
         * @param available bytes left in the file, to refuse a damaged length before allocating
         */
        Bytes(DataInput in, long length, long available, String what) throws IOException {
            if (length < 0 || length > available) {
                throw new CorruptIndexException(
                        what + ": tree length " + length + " exceeds the " + available
                                + " bytes left in the file", String.valueOf(in));
            }
            NativeLibrary.load();
            this.length = length;
            this.blob = nativeBlobNew(length);
            boolean ok = false;
            try {
                byte[] buf = new byte[(int) Math.min(CHUNK, Math.max(1, length))];
                for (long pos = 0; pos < length; ) {
                    int n = (int) Math.min(buf.length, length - pos);
                    in.readBytes(buf, 0, n);
                    nativeBlobAppend(blob, buf, n);
                    pos += n;
                }
                ok = true;
            } finally {
                if (!ok) {
                    close();
                }
            }
        }

        /**
         * Parses the bytes into a tree ({@code Index::from_bytes}, which validates them).
         *
         * @throws CorruptIndexException if they are damaged
         */
        SegmentTree load(String what, String resource) throws CorruptIndexException {
            try {
                return new SegmentTree(nativeLoad(blob), length, what);
            } catch (XTreeCorruptionException e) {
                throw new CorruptIndexException(what + ": " + e.getMessage(), resource, e);
            }
        }

        @Override
        public void close() {
            long b = blob;
            blob = 0;
            if (b != 0) {
                nativeBlobFree(b);
            }
        }
    }

    private long acquire() {
        lock.readLock().lock();
        long h = handle;
        if (h == 0) {
            lock.readLock().unlock();
            throw new AlreadyClosedException(what + " is closed");
        }
        return h;
    }

    private void release() {
        lock.readLock().unlock();
    }

    /** Number of records. */
    long size() {
        long h = acquire();
        try {
            return nativeSize(h);
        } finally {
            release();
        }
    }

    int dimension() {
        long h = acquire();
        try {
            return nativeDimension(h);
        } finally {
            release();
        }
    }

    int precision() {
        long h = acquire();
        try {
            return nativePrecision(h);
        } finally {
            release();
        }
    }

    String[] labels() {
        long h = acquire();
        try {
            return nativeLabels(h);
        } finally {
            release();
        }
    }

    /**
     * The distinct doc ids below {@code maxDoc} of the records satisfying {@code type}: an
     * ascending {@code int[]}, or the {@code long[]} words of a bitset of {@code maxDoc} bits.
     */
    Object search(SearchType type, double[] min, double[] max, int maxDoc) {
        long h = acquire();
        try {
            return nativeSearch(h, type.ordinal(), min, max, maxDoc);
        } finally {
            release();
        }
    }

    /** Number of matching records. */
    long count(SearchType type, double[] min, double[] max) {
        long h = acquire();
        try {
            return nativeCount(h, type.ordinal(), min, max);
        } finally {
            release();
        }
    }

    /** Number of distinct matching doc ids. */
    long countDistinct(SearchType type, double[] min, double[] max, int maxDoc) {
        long h = acquire();
        try {
            return nativeCountDistinct(h, type.ordinal(), min, max, maxDoc);
        } finally {
            release();
        }
    }

    /**
     * The doc ids of the {@code k} records nearest to {@code point} (ties by doc id), nearest
     * first; their distances go to {@code distances[0..n)}, {@code distances.length >= k}.
     */
    long[] nearest(double[] point, int k, double[] distances) {
        long h = acquire();
        try {
            return nativeNearest(h, point, k, distances);
        } finally {
            release();
        }
    }

    /** The tree's native bytes: the size of its serialised form, which its pages match. */
    @Override
    public long ramBytesUsed() {
        return bytes + RamUsageEstimator.shallowSizeOfInstance(SegmentTree.class);
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            long h = handle;
            handle = 0;
            if (h != 0) {
                nativeFree(h);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public String toString() {
        return what;
    }

    // The native bridge (native/jni/segment_tree.rs).

    private static native long nativeBuild(int dimension, int precision, String[] labels,
            int[] docs, double[] mins, double[] maxs);

    private static native void nativeFree(long tree);

    private static native long nativeSize(long tree);

    private static native int nativeDimension(long tree);

    private static native int nativePrecision(long tree);

    private static native String[] nativeLabels(long tree);

    private static native long nativeToBlob(long tree);

    private static native long nativeBlobNew(long capacity);

    private static native void nativeBlobAppend(long blob, byte[] src, int len);

    private static native long nativeBlobLength(long blob);

    private static native void nativeBlobRead(long blob, long pos, byte[] dst, int len);

    private static native void nativeBlobFree(long blob);

    private static native long nativeLoad(long blob);

    private static native Object nativeSearch(long tree, int type, double[] min, double[] max,
            int maxDoc);

    private static native long nativeCount(long tree, int type, double[] min, double[] max);

    private static native long nativeCountDistinct(long tree, int type, double[] min,
            double[] max, int maxDoc);

    private static native long[] nativeNearest(long tree, double[] point, int k,
            double[] distances);
}
