package dev.xtree;

import java.util.Arrays;
import java.util.Objects;

/**
 * A data directory holding several named durable indexes (fields) that share one write-ahead
 * log and commit together, atomically: after a crash either every field shows a commit or none
 * does. {@code new IndexDetails(..., PersistenceMode.DURABLE, dataDir)} is the same thing with a
 * single field named {@code "default"}.
 *
 * <pre>{@code
 * try (DurableRuntime runtime = DurableRuntime.open("/var/lib/myapp/xtree");
 *         IndexDetails geo = runtime.field("geo", 2, 64, new String[] {"lon", "lat"});
 *         IndexDetails time = runtime.field("time", 1, 64, new String[] {"t"})) {
 *     geo.insert(7L, new double[] {2.35, 48.86});
 *     time.insert(7L, new double[] {1.7e9}, new double[] {1.7e9 + 3600});
 *     runtime.commit(); // both writes become visible and durable together
 * }
 * }</pre>
 *
 * <p>Writes to the fields go to one pending transaction and become visible to queries, and
 * durable as the {@link Durability} policy says, when {@link #commit()} (or {@link
 * IndexDetails#commit()} on any of the fields) returns. Writes not committed are lost by {@link
 * #close()} or a crash. Opening the directory again recovers the last committed state.
 *
 * <p>The directory is locked while the runtime is open: a second open, in this or another
 * process, throws {@link XTreeIoException} until {@link #close()}. {@link #openReadOnly(String)}
 * takes the lock shared instead: any number of read-only runtimes, in this and other processes,
 * may read a directory at once while no writer holds it; a writer's open fails while they do,
 * and theirs while a writer does.
 *
 * <p>Thread safety: all methods may be called from any number of threads at once. {@link
 * #close()} is idempotent, waits for calls in flight on this object, and afterwards every call
 * on the runtime, and every call but {@code close()} on its fields, throws {@link
 * IllegalStateException}. Close the fields too (they hold a small native handle each); closing a
 * field does not close the runtime.
 */
public final class DurableRuntime implements AutoCloseable {
    private final String dataDir;
    private final Durability durability;
    private final boolean readOnly;
    private final NativeHandle handle;

    private DurableRuntime(String dataDir, Durability durability, boolean readOnly,
            long nativeHandle) {
        this.dataDir = dataDir;
        this.durability = durability;
        this.readOnly = readOnly;
        this.handle = new NativeHandle(this, nativeHandle,
                "DurableRuntime(" + dataDir + (readOnly ? ", read-only)" : ")"),
                DurableRuntime::nativeFree);
    }

    /**
     * Opens a data directory with the {@link Durability#BALANCED} policy; see {@link
     * #open(String, Durability)}.
     *
     * @param dataDir the data directory, created if missing: well-formed UTF-16 (no unpaired
     *     surrogate) without NUL characters
     * @return the open runtime, owning the directory lock until {@link #close()}
     * @throws NullPointerException if {@code dataDir} is null
     * @throws IllegalArgumentException if {@code dataDir} is empty, has an unpaired surrogate or
     *     a NUL character
     * @throws XTreeIoException if the directory cannot be created or read, is a regular file,
     *     or is locked by another opener (in this or another process)
     * @throws XTreeCorruptionException if its files are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public static DurableRuntime open(String dataDir) {
        return open(dataDir, Durability.BALANCED);
    }

    /**
     * Opens (creating if needed) a data directory, locks it, and recovers its last committed
     * state.
     *
     * @param dataDir the data directory, created if missing: well-formed UTF-16 (no unpaired
     *     surrogate) without NUL characters
     * @param durability what a crash may lose of the acknowledged commits
     * @return the open runtime, owning the directory lock until {@link #close()}
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code dataDir} is empty, has an unpaired surrogate or
     *     a NUL character
     * @throws XTreeIoException if the directory cannot be created or read, is a regular file,
     *     or is locked by another opener (in this or another process)
     * @throws XTreeCorruptionException if its files are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public static DurableRuntime open(String dataDir, Durability durability) {
        return open(dataDir, durability, 0);
    }

    /**
     * Opens (creating if needed) a data directory, locks it, and recovers its last committed
     * state, keeping the tree pages held in memory within a budget: when the pages written
     * since the last checkpoint and those read from the files exceed {@code memoryBudget}
     * bytes, a background thread checkpoints and lets the pages the checkpoint holds leave
     * memory; each is read again from its file on next use. So an index many times larger
     * than the budget can be written and queried; queries that read pages back are slower.
     * Pages that only a held snapshot or open cursor still reaches stay in memory until it is
     * closed. The figures are {@link Stats#heapBytes()} and {@link Stats#loadedPageBytes()}.
     *
     * @param dataDir the data directory, created if missing: well-formed UTF-16 (no unpaired
     *     surrogate) without NUL characters
     * @param durability what a crash may lose of the acknowledged commits
     * @param memoryBudget bytes of tree pages to hold in memory at most (checked after each
     *     commit and twice a second), or 0 for no budget (pages stay until {@link #close()})
     * @return the open runtime, owning the directory lock until {@link #close()}
     * @throws NullPointerException if {@code dataDir} or {@code durability} is null
     * @throws IllegalArgumentException if {@code dataDir} is empty, has an unpaired surrogate or
     *     a NUL character, or {@code memoryBudget} is negative
     * @throws XTreeIoException if the directory cannot be created or read, is a regular file,
     *     or is locked by another opener (in this or another process)
     * @throws XTreeCorruptionException if its files are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public static DurableRuntime open(String dataDir, Durability durability, long memoryBudget) {
        NativeLibrary.load();
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(durability, "durability");
        Checks.dataDir(dataDir);
        if (memoryBudget < 0) {
            throw new IllegalArgumentException("memoryBudget " + memoryBudget + " is negative");
        }
        return new DurableRuntime(dataDir, durability, false,
                nativeOpen(dataDir, durability.ordinal(), memoryBudget));
    }

    /**
     * Opens an existing data directory read-only and recovers its last committed state without
     * changing any file (a log tail torn by a crash is read up to the last commit, not cut).
     * The directory lock is taken shared: any number of read-only runtimes, in this and other
     * processes, may hold the directory at once, while {@link #open(String, Durability)} (and
     * the durable {@link IndexDetails} constructor) fails with {@link XTreeIoException} until
     * every one of them is closed; this fails likewise while a writer holds it.
     *
     * <p>Queries answer as on a writable runtime. Every write throws {@link
     * IllegalStateException}: {@link #commit()}, {@link #checkpoint()}, creating a field with
     * {@link #field(String, int, int, String[])}, and insert, update, delete and commit on its
     * fields. {@link #field(String)} opens the existing fields; {@link #durability()} is {@link
     * Durability#BALANCED}, which a read-only runtime never uses. {@link #close()} writes
     * nothing and releases the lock (once no cursor opened earlier may still read the files).
     *
     * @param dataDir the data directory, which must exist and hold a data directory (it is
     *     never created): well-formed UTF-16 (no unpaired surrogate) without NUL characters
     * @return the open read-only runtime, holding the shared directory lock until {@link
     *     #close()}
     * @throws NullPointerException if {@code dataDir} is null
     * @throws IllegalArgumentException if {@code dataDir} is empty, has an unpaired surrogate or
     *     a NUL character
     * @throws XTreeIoException if the directory does not exist, is a regular file, holds no
     *     data directory, cannot be read, or is locked by a writer (in this or another process)
     * @throws XTreeCorruptionException if its files are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public static DurableRuntime openReadOnly(String dataDir) {
        NativeLibrary.load();
        Objects.requireNonNull(dataDir, "dataDir");
        Checks.dataDir(dataDir);
        return new DurableRuntime(dataDir, Durability.BALANCED, true,
                nativeOpenReadOnly(dataDir));
    }

    /**
     * Test hook, not API: {@link #open(String, Durability)} with every file operation going
     * through a wrapper of the directory's real files that fails the fsync and the write {@code
     * faults} names (see {@link FaultPlan}).
     *
     * @param dataDir the data directory; created if missing
     * @param durability the policy
     * @param faults the calls to fail; the runtime keeps its own reference to it
     * @return the open runtime
     * @throws XTreeIoException if opening fails, an injected failure included
     * @throws IllegalStateException if {@code faults} is closed
     */
    static DurableRuntime openWithFaults(String dataDir, Durability durability,
            FaultPlan faults) {
        NativeLibrary.load();
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(durability, "durability");
        Objects.requireNonNull(faults, "faults");
        Checks.dataDir(dataDir);
        long plan = faults.acquire();
        long h;
        try {
            h = nativeOpenWithFaults(dataDir, durability.ordinal(), plan);
        } finally {
            faults.release();
        }
        return new DurableRuntime(dataDir, durability, false, h);
    }

    /**
     * Opens the field {@code name}, creating it if it does not exist (the creation is committed
     * at once, together with any pending writes of the runtime). The parameters are those of the
     * {@link IndexDetails} constructor and must match an existing field's.
     *
     * <p>The returned index does not own the runtime: closing it only releases its handle, and
     * once the runtime is closed its calls throw {@link IllegalStateException}. Its {@link
     * IndexDetails#commit()} commits the whole runtime. Asking twice for one name gives two
     * handles on the same field.
     *
     * @param name the field name: well-formed UTF-16 (no unpaired surrogate), 1 to 1024 bytes
     *     of UTF-8
     * @param dimension number of dimensions, 1..255
     * @param precision coordinate storage in bits: 32 ({@code float}) or 64 ({@code double})
     * @param labels one name per dimension: distinct, none null or blank, each well-formed
     *     UTF-16; copied
     * @return a durable index on the field; close it (try-with-resources)
     * @throws NullPointerException if {@code name}, {@code labels} or one of its elements is
     *     null
     * @throws IllegalArgumentException if the name is empty, too long or has an unpaired
     *     surrogate, the dimension, precision or number of labels is wrong, a label is blank,
     *     repeated or has an unpaired surrogate, or the field exists with another dimension,
     *     precision or labels
     * @throws IllegalStateException if the runtime is closed, or it is {@linkplain
     *     #openReadOnly read-only} and the field does not exist
     * @throws XTreeIoException if committing the creation fails
     * @throws XTreePoisonedException if an earlier write or sync failed; reopen the directory
     */
    public IndexDetails field(String name, int dimension, int precision, String[] labels) {
        Objects.requireNonNull(name, "name");
        Checks.wellFormed("name", name);
        String[] copy = IndexDetails.checkParameters(dimension, precision, labels);
        long h = handle.acquire();
        long field;
        try {
            field = nativeField(h, name, dimension, precision, copy, 0);
        } finally {
            handle.release();
        }
        return IndexDetails.ofField(field, "IndexDetails(field \"" + name + "\" of " + dataDir
                + ", dimension=" + dimension + ", precision=" + precision + ")",
                dimension, precision, copy, readOnly);
    }

    /**
     * Opens the existing field {@code name}, with the dimension, precision and labels it was
     * created with: the way to read a directory whose fields' parameters the caller does not
     * know (as after {@link #openReadOnly(String)}). The returned index is as from {@link
     * #field(String, int, int, String[])}.
     *
     * @param name the field name: well-formed UTF-16 (no unpaired surrogate)
     * @return a durable index on the field; close it (try-with-resources)
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if there is no field {@code name} (see {@link
     *     #fieldNames()}) or the name has an unpaired surrogate
     * @throws IllegalStateException if the runtime is closed
     */
    public IndexDetails field(String name) {
        Objects.requireNonNull(name, "name");
        Checks.wellFormed("name", name);
        long h = handle.acquire();
        long field;
        try {
            field = nativeGetField(h, name);
        } finally {
            handle.release();
        }
        if (field == 0) {
            throw new IllegalArgumentException("no field \"" + name + "\" in " + dataDir
                    + " (its fields: " + Arrays.toString(fieldNames()) + ")");
        }
        return IndexDetails.ofExistingField(field, "field \"" + name + "\" of " + dataDir,
                readOnly);
    }

    /**
     * The names of the fields in the directory.
     *
     * @return a new array of names, in creation order
     * @throws IllegalStateException if the runtime is closed
     */
    public String[] fieldNames() {
        long h = handle.acquire();
        try {
            return nativeFieldNames(h);
        } finally {
            handle.release();
        }
    }

    /**
     * Commits the writes made to every field since the last commit as one transaction: when
     * this returns they are visible to queries and durable as the {@link Durability} policy
     * says, and a crash never shows some of them without the others.
     *
     * @return the epoch of the commit (a number that grows with each commit that wrote
     *     something; with nothing pending, the epoch of the last commit)
     * @throws IllegalStateException if the runtime is closed or {@linkplain #openReadOnly
     *     read-only}
     * @throws XTreeIoException if writing or syncing the log fails; the runtime is then
     *     poisoned
     * @throws XTreePoisonedException if an earlier write or sync failed; reopen the directory
     */
    public long commit() {
        long h = handle.acquire();
        try {
            return nativeCommit(h);
        } finally {
            handle.release();
        }
    }

    /**
     * Writes a checkpoint of the last commit now, so that the next open replays no log. A
     * background thread also checkpoints as the log grows, and {@link #close()} does.
     *
     * @return true if a checkpoint was written, false if the current one already covers the
     *     last commit
     * @throws IllegalStateException if the runtime is closed or {@linkplain #openReadOnly
     *     read-only}
     * @throws XTreeIoException if writing fails; the runtime is then poisoned
     * @throws XTreePoisonedException if an earlier write or sync failed; reopen the directory
     */
    public boolean checkpoint() {
        long h = handle.acquire();
        try {
            return nativeCheckpoint(h);
        } finally {
            handle.release();
        }
    }

    /**
     * Gives the free space of the segment files back to the file system: checkpoints the last
     * commit, then moves the pages in the highest slots of each segment file into free lower
     * slots and cuts the files. Only the object table entries of the moved pages change (a
     * page's id names it wherever it lives), so the work is proportional to the pages moved,
     * plus 32 bytes per page of the index for the checkpoint file, which is rewritten whole.
     * A crash at any point leaves the last commit intact; queries, open {@link SearchCursor}s
     * and other threads' commits go on during the call. A background thread also compacts
     * after a checkpoint that leaves a fifth or more of the files free (and at least 16 MiB).
     *
     * @return the bytes the segment files were cut by (0 when nothing could move)
     * @throws IllegalStateException if the runtime is closed or {@linkplain #openReadOnly
     *     read-only}
     * @throws XTreeIoException if writing fails; the runtime is then poisoned (reopen it: the
     *     last commit is intact); also if the checkpoint file is missing (nothing changed, not
     *     poisoned)
     * @throws XTreeCorruptionException if a page to move fails its checksum or lies past the
     *     end of its truncated segment file, or the checkpoint file is damaged (nothing
     *     changed, not poisoned)
     * @throws XTreePoisonedException if an earlier write or sync failed; reopen the directory
     */
    public long compact() {
        long h = handle.acquire();
        try {
            return nativeCompact(h);
        } finally {
            handle.release();
        }
    }

    /**
     * The runtime's figures now, for monitoring: commits and their latency, log syncs,
     * checkpoints (count, durations, pages written), the recovery at open, bytes on disk and
     * on the heap, the epoch and each field's record count. See {@link Stats} for the units.
     * One native call; it does not wait for a running checkpoint's page writes.
     *
     * @return a new immutable {@link Stats}
     * @throws IllegalStateException if the runtime is closed
     */
    public Stats stats() {
        long h = handle.acquire();
        try {
            return nativeStats(h);
        } finally {
            handle.release();
        }
    }

    /**
     * The data directory given to {@link #open(String, Durability)}.
     *
     * @return the path as given
     */
    public String dataDir() {
        return dataDir;
    }

    /**
     * The durability policy the runtime was opened with.
     *
     * @return the policy ({@link Durability#BALANCED}, unused, for a read-only runtime)
     */
    public Durability durability() {
        return durability;
    }

    /**
     * Whether the runtime was opened with {@link #openReadOnly(String)}.
     *
     * @return true for a read-only runtime, whose writes throw {@link IllegalStateException}
     */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * Whether {@link #close()} has been called.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return handle.isClosed();
    }

    /**
     * Closes the runtime: makes every commit durable, writes a checkpoint if anything was
     * committed since the last one, releases the directory lock, and discards writes not
     * committed. Idempotent and thread-safe: waits for calls in flight on this object; later
     * calls on the runtime and on its fields (but their {@code close()}) throw {@link
     * IllegalStateException}.
     *
     * @throws XTreeIoException if the final sync or checkpoint fails (the runtime is closed
     *     nonetheless; commits acknowledged under {@link Durability#STRICT} or {@link
     *     Durability#BALANCED} are durable regardless)
     */
    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "DurableRuntime(" + dataDir + ", " + (readOnly ? "read-only" : durability)
                + (isClosed() ? ", closed)" : ")");
    }

    // The native bridge (native/jni/durable_runtime.rs). Every method takes the handle first.

    private static native long nativeOpen(String dataDir, int durability, long memoryBudget);

    private static native long nativeOpenReadOnly(String dataDir);

    private static native long nativeGetField(long handle, String name);

    private static native long nativeOpenWithFaults(String dataDir, int durability,
            long faultPlan);

    private static native void nativeFree(long handle);

    private static native long nativeField(long handle, String name, int dimension,
            int precision, String[] labels, int nodeSize);

    private static native String[] nativeFieldNames(long handle);

    private static native long nativeCommit(long handle);

    private static native boolean nativeCheckpoint(long handle);

    private static native long nativeCompact(long handle);

    private static native Stats nativeStats(long handle);
}
