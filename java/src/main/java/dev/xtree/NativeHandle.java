package dev.xtree;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * Owns one native handle for a Java object ({@link IndexDetails}, {@link SearchCursor}, {@link
 * DurableRuntime}) and makes its lifecycle safe from any thread.
 *
 * <p>Every native call runs between {@link #acquire()} and {@link #release()}, which hold the read
 * side of a lock; {@link #close()} flips the closed flag once (CAS), then takes the write side, so
 * it waits for the calls in flight and frees the handle exactly once while no call can use it.
 * Calls that start after {@code close()} throw {@link IllegalStateException}. The lock is not
 * fair, but a waiting writer makes new readers queue behind it, so close cannot be starved.
 *
 * <p>A {@link Cleaner} watches the owner only to report a leak: if the owner becomes unreachable
 * without {@code close()}, a warning is logged and the native memory stays allocated (freeing it
 * from the cleaner thread could race with a call still running on a reachable alias).
 */
final class NativeHandle {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("dev.xtree");

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicBoolean closed;
    private final String what;
    private final LongConsumer free;
    private final Cleaner.Cleanable leakReport;
    /** The native handle; guarded by {@link #lock}; 0 once freed. */
    private long handle;

    /**
     * @param owner the Java object whose reachability is watched for leaks
     * @param handle the native handle, non-zero
     * @param what a short description of the owner for messages
     * @param free the native function that frees the handle; called exactly once (an exception
     *     it throws, such as a failed final sync of a durable runtime, propagates from {@link
     *     #close()}, after which the handle counts as freed)
     */
    NativeHandle(Object owner, long handle, String what, LongConsumer free) {
        if (handle == 0) {
            throw new XTreeInternalException("native library returned a null handle for " + what);
        }
        this.handle = handle;
        this.what = what;
        this.free = free;
        this.closed = new AtomicBoolean();
        this.leakReport = CLEANER.register(owner, new LeakReport(closed, what));
    }

    /**
     * Starts a native call: returns the live handle, to be passed to native code before {@link
     * #release()} is called (in a {@code finally} block).
     *
     * @throws IllegalStateException if the owner is closed
     */
    long acquire() {
        if (closed.get()) {
            throw closedException();
        }
        lock.readLock().lock();
        long h = handle;
        if (h == 0) {
            lock.readLock().unlock();
            throw closedException();
        }
        return h;
    }

    /** Ends a native call started by {@link #acquire()}. */
    void release() {
        lock.readLock().unlock();
    }

    /** Whether {@link #close()} has been called (the handle may still be draining). */
    boolean isClosed() {
        return closed.get();
    }

    /**
     * Frees the handle once every call in flight has returned. Idempotent and thread-safe: only
     * the first caller frees, later and concurrent callers return at once.
     */
    void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        lock.writeLock().lock();
        try {
            long h = handle;
            handle = 0;
            free.accept(h);
        } finally {
            lock.writeLock().unlock();
            leakReport.clean();
        }
    }

    private IllegalStateException closedException() {
        return new IllegalStateException(what + " is closed");
    }

    /** The cleaner action: must not reference the owner, or it would never become unreachable. */
    private static final class LeakReport implements Runnable {
        private final AtomicBoolean closed;
        private final String what;

        LeakReport(AtomicBoolean closed, String what) {
            this.closed = closed;
            this.what = what;
        }

        @Override
        public void run() {
            if (!closed.get()) {
                LOG.log(System.Logger.Level.WARNING,
                        "{0} was garbage-collected without close(); its native memory is leaked."
                                + " Use try-with-resources or call close().", what);
            }
        }
    }
}
