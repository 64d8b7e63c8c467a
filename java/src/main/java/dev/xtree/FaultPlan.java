package dev.xtree;

/**
 * Test hook, not API: which fsync and which write of a {@link DurableRuntime} opened with {@link
 * DurableRuntime#openWithFaults(String, Durability, FaultPlan)} fail, and how many of each were
 * made. The runtime keeps the directory's real files and fails only the planned calls, once each,
 * with the given errno; every later call reaches the disk again, so a refused write afterwards is
 * the runtime's poisoning, not the disk.
 *
 * <p>Fsyncs of files and of the directory are counted together, from the open on, over every
 * file; writes likewise. Backed by {@code FailingBackend} (native/engine/failing.rs).
 */
final class FaultPlan implements AutoCloseable {
    /** The errno of an I/O error. */
    static final int EIO = 5;
    /** The errno of "no space left on device". */
    static final int ENOSPC = 28;

    private final NativeHandle handle;

    /**
     * A plan failing the {@code failSync}-th fsync and the {@code failWrite}-th write (1 = the
     * first; 0 = none) with {@code errno}.
     *
     * @throws IllegalArgumentException if a position is negative or {@code errno} is not {@link
     *     #EIO} or {@link #ENOSPC}
     */
    FaultPlan(long failSync, long failWrite, int errno) {
        NativeLibrary.load();
        if (failSync < 0 || failWrite < 0) {
            throw new IllegalArgumentException(
                    "failSync " + failSync + " and failWrite " + failWrite + " must be >= 0");
        }
        if (errno != EIO && errno != ENOSPC) {
            throw new IllegalArgumentException("errno " + errno + " is not EIO (5) or ENOSPC (28)");
        }
        this.handle = new NativeHandle(this, nativeNew(failSync, failWrite, errno),
                "FaultPlan(sync " + failSync + ", write " + failWrite + ", errno " + errno + ")",
                FaultPlan::nativeFree);
    }

    /** A plan that fails nothing and only counts. */
    static FaultPlan counting() {
        return new FaultPlan(0, 0, EIO);
    }

    /** Fsyncs made so far by runtimes opened with this plan, the failed one included. */
    long syncs() {
        long h = handle.acquire();
        try {
            return nativeSyncs(h);
        } finally {
            handle.release();
        }
    }

    /** Writes made so far by runtimes opened with this plan, the failed one included. */
    long writes() {
        long h = handle.acquire();
        try {
            return nativeWrites(h);
        } finally {
            handle.release();
        }
    }

    /** The messages of the failures injected so far, in order; empty if none fired. */
    String[] injected() {
        long h = handle.acquire();
        try {
            return nativeInjected(h);
        } finally {
            handle.release();
        }
    }

    /** Starts a native call that passes the plan's handle on (see {@link NativeHandle}). */
    long acquire() {
        return handle.acquire();
    }

    /** Ends a call started by {@link #acquire()}. */
    void release() {
        handle.release();
    }

    /** Frees the plan; a runtime opened with it keeps its own reference. Idempotent. */
    @Override
    public void close() {
        handle.close();
    }

    // The native bridge (native/jni/fault_plan.rs).

    private static native long nativeNew(long failSync, long failWrite, int errno);

    private static native void nativeFree(long handle);

    private static native long nativeSyncs(long handle);

    private static native long nativeWrites(long handle);

    private static native String[] nativeInjected(long handle);
}
