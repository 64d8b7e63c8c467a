package dev.xtree;

import java.util.Objects;

/**
 * A multi-dimensional index of boxes and points (an X-tree) held by the native library.
 *
 * <p>A record is a 64-bit row id plus an axis-aligned box of {@link #dimension()} intervals; a
 * point is a box with {@code min == max}. Several records may share a row id. Coordinates are
 * {@code double} arrays with one value per dimension, in the order of {@link #labels()}; batch
 * methods take row-major arrays ({@code coords[i * dimension + d]} is coordinate {@code d} of
 * record {@code i}). Stored coordinates are the input rounded to the index {@link #precision()}:
 * with precision 32 points are rounded to the nearest {@code float} and boxes outward (so the
 * stored box contains the input box); with precision 64 they are stored as given. Every query
 * answer equals a brute-force scan over the stored coordinates. Intervals are closed. Query
 * bounds may be infinite (open ranges); stored records must be finite.
 *
 * <p>Row ids are 64-bit values; Java's signed {@code long} maps to them bit for bit, and where
 * row ids are ordered (ties in {@link #nearest}) they compare as unsigned ({@link
 * Long#compareUnsigned}).
 *
 * <p>Persistence: an {@link PersistenceMode#IN_MEMORY} index lives in native heap memory and a
 * write is visible to every query that starts after it returns. A {@link
 * PersistenceMode#DURABLE} index lives in a data directory: its writes go to a pending
 * transaction and become visible to queries (including {@link #size()} and new cursors), and
 * durable per its {@link Durability}, only when {@link #commit()} returns; writes not committed
 * are lost by {@link #close()} or a crash. Reopening the directory gives back the last
 * committed state. Several durable indexes in one directory, committed together, come from
 * {@link DurableRuntime#field}; once their runtime is closed, every call on them but {@link
 * #close()} throws {@link IllegalStateException}.
 *
 * <p>{@link #openReadOnly(String)} opens the data directory of a durable index read-only, under
 * a lock shared with other readers (in this and other processes); its writes throw {@link
 * IllegalStateException}.
 *
 * <p>Thread safety: all methods may be called from any number of threads at once. Writes are
 * serialised inside the library; queries never block and see each write (in-memory) or each
 * commit (durable) completely or not at all. {@link #close()} waits for calls in flight; calls
 * that start after it throw {@link IllegalStateException}.
 *
 * <p>Bad input throws {@link IllegalArgumentException} (wrong number of coordinates, NaN, {@code
 * min > max}, infinite stored coordinates, ...), null arrays throw {@link NullPointerException},
 * and failures of the library throw an {@link XTreeException}. Nothing is stored by a call that
 * throws.
 *
 * <pre>{@code
 * try (IndexDetails index = new IndexDetails(2, 64, new String[] {"lon", "lat"},
 *         PersistenceMode.IN_MEMORY, null)) {
 *     index.insert(7L, new double[] {2.35, 48.86});
 *     long[] hits = index.search(SearchType.INTERSECTS,
 *             new double[] {2.0, 48.0}, new double[] {3.0, 49.0});
 * }
 * }</pre>
 *
 * <pre>{@code
 * try (IndexDetails index = new IndexDetails(2, 64, new String[] {"lon", "lat"},
 *         PersistenceMode.DURABLE, "/var/lib/myapp/xtree-geo")) {
 *     index.insert(7L, new double[] {2.35, 48.86});
 *     index.commit(); // now visible to queries, and on disk
 * }
 * }</pre>
 */
public final class IndexDetails implements AutoCloseable {
    /** Smallest supported {@link #dimension()}. */
    public static final int MIN_DIMENSION = 1;
    /** Largest supported {@link #dimension()}. */
    public static final int MAX_DIMENSION = 255;

    private final int dimension;
    private final int precision;
    private final String[] labels;
    private final PersistenceMode mode;
    private final boolean readOnly;
    private final NativeHandle handle;

    /**
     * Further construction options beyond the original {@code IndexDetails} constructor. A plain
     * mutable builder: {@code new IndexDetails.Options().nodeSize(8192)
     * .durability(Durability.STRICT)}.
     */
    public static final class Options {
        private int nodeSize;
        private Durability durability = Durability.BALANCED;
        private long memoryBudget;

        /** Options with every value at the library default. */
        public Options() {}

        /**
         * Sets the size of a normal tree node page; node capacity follows from it and the
         * dimension, and supernodes are multiples of it. The library accepts 256 to 1048576
         * bytes and rejects other sizes with {@link IllegalArgumentException} when the index is
         * constructed.
         *
         * @param bytes the node size in bytes, or 0 for the library default
         * @return this object
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Options nodeSize(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("nodeSize " + bytes + " is negative");
            }
            this.nodeSize = bytes;
            return this;
        }

        /**
         * The node size set by {@link #nodeSize(int)}.
         *
         * @return the node size in bytes, 0 meaning the library default
         */
        public int nodeSize() {
            return nodeSize;
        }

        /**
         * Sets what a crash may lose of a {@link PersistenceMode#DURABLE} index (see {@link
         * Durability}); an {@link PersistenceMode#IN_MEMORY} index ignores it.
         *
         * @param durability the policy; the default is {@link Durability#BALANCED}
         * @return this object
         * @throws NullPointerException if {@code durability} is null
         */
        public Options durability(Durability durability) {
            this.durability = Objects.requireNonNull(durability, "durability");
            return this;
        }

        /**
         * The durability policy set by {@link #durability(Durability)}.
         *
         * @return the policy, {@link Durability#BALANCED} unless set
         */
        public Durability durability() {
            return durability;
        }

        /**
         * Sets the memory budget of a {@link PersistenceMode#DURABLE} index: bytes of tree pages
         * to hold in memory at most (see {@link DurableRuntime#open(String, Durability, long)});
         * an {@link PersistenceMode#IN_MEMORY} index ignores it.
         *
         * @param bytes the budget in bytes, or 0 (the default) for none
         * @return this object
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Options memoryBudget(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("memoryBudget " + bytes + " is negative");
            }
            this.memoryBudget = bytes;
            return this;
        }

        /**
         * The memory budget set by {@link #memoryBudget(long)}.
         *
         * @return bytes, 0 meaning none
         */
        public long memoryBudget() {
            return memoryBudget;
        }
    }

    /**
     * Creates an empty index with default {@link Options}.
     *
     * @param dimension number of dimensions, 1..255
     * @param precision coordinate storage in bits: 32 ({@code float}) or 64 ({@code double})
     * @param labels one name per dimension: distinct, none null or blank, each well-formed
     *     UTF-16 (no unpaired surrogate); copied
     * @param mode {@link PersistenceMode#IN_MEMORY} or {@link PersistenceMode#DURABLE}
     * @param dataDir for {@code DURABLE}, the data directory (created if missing, then locked
     *     until {@link #close()}): well-formed UTF-16 without NUL characters; must be null for
     *     {@code IN_MEMORY}
     * @throws NullPointerException if {@code labels}, one of its elements, or {@code mode} is
     *     null
     * @throws IllegalArgumentException if the dimension, precision or number of labels is wrong,
     *     a label is blank, repeated or has an unpaired surrogate, a data directory is given for
     *     an in-memory index or missing for a durable one, the data directory has an unpaired
     *     surrogate or a NUL character, or it holds an index with another dimension, precision
     *     or labels
     * @throws XTreeIoException if the data directory cannot be created or read, is a regular
     *     file, or is locked by another open index or {@link DurableRuntime} (in this or another
     *     process)
     * @throws XTreeCorruptionException if the files of the data directory are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public IndexDetails(
            int dimension, int precision, String[] labels, PersistenceMode mode, String dataDir) {
        this(dimension, precision, labels, mode, dataDir, new Options());
    }

    /**
     * Creates an empty index with explicit {@link Options}.
     *
     * @param dimension number of dimensions, 1..255
     * @param precision coordinate storage in bits: 32 ({@code float}) or 64 ({@code double})
     * @param labels one name per dimension: distinct, none null or blank, each well-formed
     *     UTF-16 (no unpaired surrogate); copied
     * @param mode {@link PersistenceMode#IN_MEMORY} or {@link PersistenceMode#DURABLE}
     * @param dataDir for {@code DURABLE}, the data directory (created if missing, then locked
     *     until {@link #close()}): well-formed UTF-16 without NUL characters; must be null for
     *     {@code IN_MEMORY}
     * @param options further options; read once, later changes to it have no effect
     * @throws NullPointerException if {@code labels}, one of its elements, {@code mode} or
     *     {@code options} is null
     * @throws IllegalArgumentException if the dimension, precision, number of labels or node
     *     size is wrong, a label is blank, repeated or has an unpaired surrogate, a data
     *     directory is given for an in-memory index or missing for a durable one, the data
     *     directory has an unpaired surrogate or a NUL character, or it holds an index with
     *     another dimension, precision or labels
     * @throws XTreeIoException if the data directory cannot be created or read, is a regular
     *     file, or is locked by another open index or {@link DurableRuntime} (in this or another
     *     process)
     * @throws XTreeCorruptionException if the files of the data directory are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public IndexDetails(
            int dimension,
            int precision,
            String[] labels,
            PersistenceMode mode,
            String dataDir,
            Options options) {
        // Here rather than in a static initialiser: a failed load must not leave the class
        // unusable (NoClassDefFoundError) but throw its error, with the places tried, each time.
        NativeLibrary.load();
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(options, "options");
        String[] copy = checkParameters(dimension, precision, labels);
        String shape = "dimension=" + dimension + ", precision=" + precision;
        long h;
        String what;
        if (mode == PersistenceMode.DURABLE) {
            if (dataDir == null || dataDir.isEmpty()) {
                throw new IllegalArgumentException(
                        "dataDir is required for PersistenceMode.DURABLE (got "
                                + (dataDir == null ? "null" : "\"\"") + ")");
            }
            Checks.dataDir(dataDir);
            h = nativeOpen(dataDir, options.durability.ordinal(), dimension, precision, copy,
                    options.nodeSize, options.memoryBudget);
            what = "IndexDetails(" + shape + ", DURABLE " + dataDir + ")";
        } else {
            if (dataDir != null) {
                throw new IllegalArgumentException("dataDir must be null for"
                        + " PersistenceMode.IN_MEMORY (got \"" + dataDir + "\")");
            }
            h = nativeCreate(dimension, precision, copy, options.nodeSize);
            what = "IndexDetails(" + shape + ")";
        }
        this.dimension = dimension;
        this.precision = precision;
        this.labels = copy;
        this.mode = mode;
        this.readOnly = false;
        this.handle = new NativeHandle(this, h, what, IndexDetails::nativeFree);
    }

    /**
     * Wraps a handle on a durable field (made by {@code DurableRuntime.nativeField}, {@code
     * DurableRuntime.nativeGetField} or {@link #nativeOpenReadOnly}); the parameters were checked
     * by {@link #checkParameters} or come from the field itself.
     */
    private IndexDetails(long nativeHandle, String what, int dimension, int precision,
            String[] labelsCopy, boolean readOnly) {
        this.dimension = dimension;
        this.precision = precision;
        this.labels = labelsCopy;
        this.mode = PersistenceMode.DURABLE;
        this.readOnly = readOnly;
        this.handle = new NativeHandle(this, nativeHandle, what, IndexDetails::nativeFree);
    }

    /** Wraps an in-memory handle made by {@link #nativeToInMemory}, with this index's shape. */
    private IndexDetails(long nativeHandle, IndexDetails shape) {
        this.dimension = shape.dimension;
        this.precision = shape.precision;
        this.labels = shape.labels;
        this.mode = PersistenceMode.IN_MEMORY;
        this.readOnly = false;
        this.handle = new NativeHandle(this, nativeHandle, "IndexDetails(dimension=" + dimension
                + ", precision=" + precision + ", copy)", IndexDetails::nativeFree);
    }

    /** A durable index on a field of a {@link DurableRuntime}, which keeps owning the runtime. */
    static IndexDetails ofField(long nativeHandle, String what, int dimension, int precision,
            String[] labelsCopy, boolean readOnly) {
        return new IndexDetails(nativeHandle, what, dimension, precision, labelsCopy, readOnly);
    }

    /**
     * A durable index on an existing field whose parameters are read from the handle; {@code
     * what} names it ("field "geo" of /dir"). The handle is freed if reading them fails.
     */
    static IndexDetails ofExistingField(long nativeHandle, String what, boolean readOnly) {
        String[] fieldLabels;
        int fieldPrecision;
        try {
            fieldLabels = nativeLabels(nativeHandle);
            fieldPrecision = nativePrecision(nativeHandle);
        } catch (RuntimeException | Error e) {
            try {
                nativeFree(nativeHandle);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return new IndexDetails(nativeHandle, "IndexDetails(" + what + ", dimension="
                + fieldLabels.length + ", precision=" + fieldPrecision
                + (readOnly ? ", read-only)" : ")"), fieldLabels.length, fieldPrecision,
                fieldLabels, readOnly);
    }

    /**
     * Opens the data directory of a durable index (one written by {@code new IndexDetails(...,
     * PersistenceMode.DURABLE, dataDir)}) read-only, with the dimension, precision and labels
     * it was created with. The last committed state is recovered without changing any file (a
     * log tail torn by a crash is read up to the last commit, not cut), under a directory lock
     * shared with other read-only openers: any number of them, in this and other processes, may
     * read the directory at once, while a writer's open throws {@link XTreeIoException} until
     * every one of them is closed, and this throws it while a writer holds the directory.
     *
     * <p>Queries answer as on the writable index. Writes ({@code insert}, {@code insertBatch},
     * {@code delete}, {@code update}, {@link #commit()}) throw {@link IllegalStateException}.
     * {@link #close()} writes nothing and releases the lock (once no cursor opened earlier may
     * still read the files). For a directory of several fields use {@link
     * DurableRuntime#openReadOnly(String)}.
     *
     * @param dataDir the data directory, which must exist and hold a durable index (it is never
     *     created): well-formed UTF-16 without NUL characters
     * @return the open read-only index; close it (try-with-resources)
     * @throws NullPointerException if {@code dataDir} is null
     * @throws IllegalArgumentException if {@code dataDir} is empty, has an unpaired surrogate or
     *     a NUL character, or the directory holds no single-index field (only fields of a {@link
     *     DurableRuntime} with other names)
     * @throws XTreeIoException if the directory does not exist, is a regular file, holds no
     *     data directory, cannot be read, or is locked by a writer (in this or another process)
     * @throws XTreeCorruptionException if its files are damaged
     * @throws UnsatisfiedLinkError if the native library cannot be loaded (see {@link
     *     NativeLibrary})
     */
    public static IndexDetails openReadOnly(String dataDir) {
        NativeLibrary.load();
        Objects.requireNonNull(dataDir, "dataDir");
        Checks.dataDir(dataDir);
        return ofExistingField(nativeOpenReadOnly(dataDir), "DURABLE " + dataDir, true);
    }

    /**
     * Checks the index parameters as the constructor documents them.
     *
     * @return a copy of {@code labels}
     */
    static String[] checkParameters(int dimension, int precision, String[] labels) {
        Objects.requireNonNull(labels, "labels");
        if (dimension < MIN_DIMENSION || dimension > MAX_DIMENSION) {
            throw new IllegalArgumentException("dimension " + dimension + " is outside "
                    + MIN_DIMENSION + ".." + MAX_DIMENSION);
        }
        if (precision != 32 && precision != 64) {
            throw new IllegalArgumentException("precision " + precision + " is not 32 or 64");
        }
        if (labels.length != dimension) {
            throw new IllegalArgumentException("labels has " + labels.length
                    + " names, expected one per dimension (" + dimension + ")");
        }
        String[] copy = labels.clone();
        Checks.labels(copy);
        return copy;
    }

    /**
     * The number of dimensions of every record and query.
     *
     * @return 1..255
     */
    public int dimension() {
        return dimension;
    }

    /**
     * The storage precision of coordinates.
     *
     * @return 32 ({@code float}) or 64 ({@code double})
     */
    public int precision() {
        return precision;
    }

    /**
     * The dimension names given at construction.
     *
     * @return a new array of {@link #dimension()} names
     */
    public String[] labels() {
        return labels.clone();
    }

    /**
     * Where this index keeps its data.
     *
     * @return {@link PersistenceMode#IN_MEMORY} or {@link PersistenceMode#DURABLE} (also for a
     *     field of a {@link DurableRuntime})
     */
    public PersistenceMode persistenceMode() {
        return mode;
    }

    /**
     * Whether writes are refused: true for an index opened with {@link #openReadOnly(String)}
     * and for a field of a read-only {@link DurableRuntime}.
     *
     * @return true when every write throws {@link IllegalStateException}
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
     * The number of records stored (a row id stored twice counts twice); for a durable index,
     * the number in the last commit.
     *
     * @return the record count
     * @throws IllegalStateException if the index, or the {@link DurableRuntime} of its field, is
     *     closed
     */
    public long size() {
        long h = handle.acquire();
        try {
            return nativeSize(h);
        } finally {
            handle.release();
        }
    }

    /**
     * Inserts a point record.
     *
     * @param rowId the row id (any 64-bit value)
     * @param point {@link #dimension()} finite coordinates
     * @throws NullPointerException if {@code point} is null
     * @throws IllegalArgumentException if {@code point} has the wrong length or a NaN or
     *     infinite coordinate
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public void insert(long rowId, double[] point) {
        checkCoords("point", point);
        long h = handle.acquire();
        try {
            nativeInsertPoint(h, rowId, point);
        } finally {
            handle.release();
        }
    }

    /**
     * Inserts a box record {@code [min, max]}.
     *
     * @param rowId the row id (any 64-bit value)
     * @param min {@link #dimension()} finite lower bounds
     * @param max {@link #dimension()} finite upper bounds, {@code max[d] >= min[d]}
     * @throws NullPointerException if {@code min} or {@code max} is null
     * @throws IllegalArgumentException if a bound has the wrong length, a NaN or infinite value,
     *     or {@code min[d] > max[d]}
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public void insert(long rowId, double[] min, double[] max) {
        checkCoords("min", min);
        checkCoords("max", max);
        long h = handle.acquire();
        try {
            nativeInsert(h, rowId, min, max);
        } finally {
            handle.release();
        }
    }

    /**
     * Inserts many point records in one native call, all or nothing: the whole batch is
     * validated before anything is stored. A large batch into an empty index is bulk-loaded
     * into a well-packed tree.
     *
     * @param rowIds the row id of each point
     * @param coords row-major coordinates, {@code rowIds.length * dimension()} values; point
     *     {@code i} is {@code coords[i * dimension() .. (i + 1) * dimension())}
     * @throws NullPointerException if an array is null
     * @throws IllegalArgumentException if {@code coords} has the wrong length or holds a NaN or
     *     infinite value
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public void insertBatch(long[] rowIds, double[] coords) {
        Objects.requireNonNull(rowIds, "rowIds");
        checkBatch("coords", coords, rowIds.length);
        long h = handle.acquire();
        try {
            nativeInsertPoints(h, rowIds, coords);
        } finally {
            handle.release();
        }
    }

    /**
     * Inserts many box records in one native call, all or nothing (in a durable index the whole
     * batch enters the pending transaction at once).
     *
     * @param rowIds the row id of each box
     * @param mins row-major lower bounds, {@code rowIds.length * dimension()} values
     * @param maxs row-major upper bounds, same shape as {@code mins}
     * @throws NullPointerException if an array is null
     * @throws IllegalArgumentException if a bounds array has the wrong length, holds a NaN or
     *     infinite value, or some {@code min > max}
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public void insertBatch(long[] rowIds, double[] mins, double[] maxs) {
        Objects.requireNonNull(rowIds, "rowIds");
        checkBatch("mins", mins, rowIds.length);
        checkBatch("maxs", maxs, rowIds.length);
        long h = handle.acquire();
        try {
            nativeInsertBoxes(h, rowIds, mins, maxs);
        } finally {
            handle.release();
        }
    }

    /**
     * Deletes one record with this row id and this box (compared after rounding the box to the
     * index precision, as at insert).
     *
     * @param rowId the row id
     * @param min the record's lower bounds, {@link #dimension()} values
     * @param max the record's upper bounds, {@link #dimension()} values
     * @return true if such a record existed (one copy is removed), false otherwise
     * @throws NullPointerException if {@code min} or {@code max} is null
     * @throws IllegalArgumentException if a bound has the wrong length, a NaN, or {@code min >
     *     max}
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public boolean delete(long rowId, double[] min, double[] max) {
        checkCoords("min", min);
        checkCoords("max", max);
        long h = handle.acquire();
        try {
            return nativeDelete(h, rowId, min, max);
        } finally {
            handle.release();
        }
    }

    /**
     * Deletes one point record with this row id at this point.
     *
     * @param rowId the row id
     * @param point the record's coordinates, {@link #dimension()} values
     * @return true if such a record existed (one copy is removed), false otherwise
     * @throws NullPointerException if {@code point} is null
     * @throws IllegalArgumentException if {@code point} has the wrong length or a NaN
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public boolean delete(long rowId, double[] point) {
        return delete(rowId, point, point);
    }

    /**
     * Moves a record: deletes {@code (rowId, [oldMin, oldMax])} and inserts {@code (rowId,
     * [newMin, newMax])} as one atomic write. For a point pass the same array as min and max.
     *
     * @param rowId the row id
     * @param oldMin the current lower bounds
     * @param oldMax the current upper bounds
     * @param newMin the new lower bounds (finite)
     * @param newMax the new upper bounds (finite)
     * @return true if the old record existed and was replaced; false if it did not exist, in
     *     which case nothing is inserted
     * @throws NullPointerException if an array is null
     * @throws IllegalArgumentException if a bound has the wrong length, a NaN, {@code min >
     *     max}, or a new bound is infinite
     * @throws IllegalStateException if the index is closed or {@linkplain #isReadOnly()
     *     read-only}
     */
    public boolean update(
            long rowId, double[] oldMin, double[] oldMax, double[] newMin, double[] newMax) {
        checkCoords("oldMin", oldMin);
        checkCoords("oldMax", oldMax);
        checkCoords("newMin", newMin);
        checkCoords("newMax", newMax);
        long h = handle.acquire();
        try {
            return nativeUpdate(h, rowId, oldMin, oldMax, newMin, newMax);
        } finally {
            handle.release();
        }
    }

    /**
     * Finds the row ids of all records matching a window query, in no particular order (a row
     * id appears once per matching record). For very large answers prefer {@link #cursor} or
     * {@link #count}.
     *
     * @param type the predicate between record and query box
     * @param min the query's lower bounds, {@link #dimension()} values, may be -infinity
     * @param max the query's upper bounds, {@link #dimension()} values, may be +infinity
     * @return the matching row ids, possibly empty
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a bound has the wrong length, a NaN, or {@code min >
     *     max}
     * @throws UnsupportedOperationException if the answer has more rows than a Java array holds
     * @throws IllegalStateException if the index is closed
     */
    public long[] search(SearchType type, double[] min, double[] max) {
        int t = checkQuery(type, min, max);
        long h = handle.acquire();
        try {
            return nativeSearch(h, t, min, max);
        } finally {
            handle.release();
        }
    }

    /**
     * Opens a paged cursor over the answer of a window query, evaluated on a snapshot of the
     * index taken now (for a durable index, of its last commit): writes made after this call
     * returns do not change what the cursor delivers. The cursor owns its own native snapshot,
     * so it stays readable after this index (or the runtime of a durable one) is closed; close
     * each cursor itself (try-with-resources).
     *
     * @param type the predicate between record and query box
     * @param min the query's lower bounds, {@link #dimension()} values, may be -infinity
     * @param max the query's upper bounds, {@link #dimension()} values, may be +infinity
     * @return a new open cursor
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a bound has the wrong length, a NaN, or {@code min >
     *     max}
     * @throws IllegalStateException if the index is closed
     */
    public SearchCursor cursor(SearchType type, double[] min, double[] max) {
        int t = checkQuery(type, min, max);
        long h = handle.acquire();
        long cursor;
        try {
            cursor = nativeCursor(h, t, min, max);
        } finally {
            handle.release();
        }
        return new SearchCursor(cursor, type);
    }

    /**
     * Counts the records matching a window query without materialising their row ids.
     *
     * @param type the predicate between record and query box
     * @param min the query's lower bounds, {@link #dimension()} values, may be -infinity
     * @param max the query's upper bounds, {@link #dimension()} values, may be +infinity
     * @return the number of matching records
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a bound has the wrong length, a NaN, or {@code min >
     *     max}
     * @throws IllegalStateException if the index is closed
     */
    public long count(SearchType type, double[] min, double[] max) {
        int t = checkQuery(type, min, max);
        long h = handle.acquire();
        try {
            return nativeCount(h, t, min, max);
        } finally {
            handle.release();
        }
    }

    /**
     * Finds the {@code k} records nearest to a point, by Euclidean distance from the point to
     * the record's stored box (0 inside the box), nearest first; records at exactly the same
     * distance are ordered by row id as unsigned 64-bit values.
     *
     * @param point the query point, {@link #dimension()} finite coordinates
     * @param k the number of records wanted, {@code >= 0}
     * @return {@code min(k, size())} row ids, nearest first
     * @throws NullPointerException if {@code point} is null
     * @throws IllegalArgumentException if {@code point} has the wrong length or a NaN, or
     *     {@code k < 0}
     * @throws IllegalStateException if the index is closed
     */
    public long[] nearest(double[] point, int k) {
        checkCoords("point", point);
        if (k < 0) {
            throw new IllegalArgumentException("k " + k + " is negative");
        }
        long h = handle.acquire();
        try {
            return nativeNearest(h, point, k);
        } finally {
            handle.release();
        }
    }

    /**
     * Persists this index into a new data directory, which then opens as a {@link
     * PersistenceMode#DURABLE} index with the same records and answers ({@code new
     * IndexDetails(dimension(), precision(), labels(), PersistenceMode.DURABLE, dataDir)}, or
     * {@link #openReadOnly(String)}). The node pages are written unchanged, the way a
     * checkpoint writes them, so the directory is an ordinary committed one with nothing to
     * replay at open. This index is not changed and stays usable; for a durable index its last
     * commit is saved (not its pending writes). Crash-safe: the directory is written under a
     * temporary name next to {@code dataDir} ({@code .<name>.xtree-save-...}), synced, and
     * renamed into place, so a failure or crash during the save leaves nothing at {@code
     * dataDir}.
     *
     * @param dataDir the new data directory: must not exist, or be an empty directory; its
     *     parent must exist. Well-formed UTF-16 without NUL characters
     * @throws NullPointerException if {@code dataDir} is null
     * @throws IllegalArgumentException if {@code dataDir} is empty, has an unpaired surrogate or
     *     a NUL character, or is an existing directory that is not empty
     * @throws IllegalStateException if the index, or the {@link DurableRuntime} of its field, is
     *     closed
     * @throws XTreeIoException if {@code dataDir} is a regular file, its parent is missing, or
     *     a file cannot be written or synced (nothing is left at {@code dataDir})
     */
    public void saveTo(String dataDir) {
        Objects.requireNonNull(dataDir, "dataDir");
        Checks.dataDir(dataDir);
        long h = handle.acquire();
        try {
            nativeSaveTo(h, dataDir);
        } finally {
            handle.release();
        }
    }

    /**
     * A new {@link PersistenceMode#IN_MEMORY} index holding a copy of this one: of its last
     * commit for a durable index (every page read from the data directory once), of its current
     * state for an in-memory one. The copy has the same dimension, precision and labels and
     * answers every query alike; it is independent afterwards (its writes are visible at once
     * and never reach the data directory, and it stays usable after this index or its runtime
     * is closed). With {@link #openReadOnly(String)} this loads a data directory into memory
     * while other readers may use it too.
     *
     * @return a new in-memory index; close it (try-with-resources)
     * @throws IllegalStateException if the index, or the {@link DurableRuntime} of its field, is
     *     closed
     * @throws XTreeIoException if a page cannot be read from the data directory
     * @throws XTreeCorruptionException if a page read from the data directory is damaged
     */
    public IndexDetails toInMemory() {
        long h = handle.acquire();
        long copy;
        try {
            copy = nativeToInMemory(h);
        } finally {
            handle.release();
        }
        return new IndexDetails(copy, this);
    }

    /**
     * Commits the writes made since the last commit. For a {@link PersistenceMode#DURABLE} index
     * they are written to the log as one transaction, made durable as its {@link Durability}
     * says, and become visible to queries when this returns; for a field of a {@link
     * DurableRuntime} this commits the pending writes of every field of the runtime together
     * (as {@link DurableRuntime#commit()}). For an {@link PersistenceMode#IN_MEMORY} index,
     * whose writes are visible at once, it does nothing.
     *
     * @return the epoch of the commit (a number that grows with each commit that wrote
     *     something; with nothing pending, the epoch of the last commit), or 0 for an in-memory
     *     index
     * @throws IllegalStateException if the index, or the {@link DurableRuntime} of its field, is
     *     closed, or a durable index is {@linkplain #isReadOnly() read-only}
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
     * The index's figures now, for monitoring (see {@link Stats} for each figure and its
     * unit). For an {@link PersistenceMode#IN_MEMORY} index: its records and the bytes of its
     * pages on the heap, every durable figure 0. For a {@link PersistenceMode#DURABLE} index:
     * the figures of its runtime (for a field of a {@link DurableRuntime}, of every field, as
     * {@link DurableRuntime#stats()}). One native call; it does not wait for a running
     * checkpoint's page writes.
     *
     * @return a new immutable {@link Stats}
     * @throws IllegalStateException if the index, or the {@link DurableRuntime} of its field, is
     *     closed
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
     * Frees the native index. Idempotent and thread-safe: waits for calls in flight on other
     * threads, after which every call throws {@link IllegalStateException}. Open cursors are
     * not closed and stay readable.
     *
     * <p>A durable index made by the constructor also closes its data directory: every commit
     * is made durable, a checkpoint is written, the directory lock is released, and writes not
     * committed are discarded. A field of a {@link DurableRuntime} only releases its handle.
     *
     * @throws XTreeIoException if the final sync or checkpoint of a durable index fails (the
     *     index is closed nonetheless; commits acknowledged under {@link Durability#STRICT} or
     *     {@link Durability#BALANCED} are durable regardless)
     */
    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "IndexDetails(dimension=" + dimension + ", precision=" + precision
                + (mode == PersistenceMode.DURABLE ? ", DURABLE" : "")
                + (readOnly ? ", read-only" : "")
                + (isClosed() ? ", closed)" : ")");
    }

    private void checkCoords(String name, double[] coords) {
        Objects.requireNonNull(coords, name);
        if (coords.length != dimension) {
            throw new IllegalArgumentException(name + " has " + coords.length
                    + " coordinates, expected " + dimension + " (the dimension)");
        }
    }

    private void checkBatch(String name, double[] coords, int rows) {
        Objects.requireNonNull(coords, name);
        long expected = (long) rows * dimension;
        if (coords.length != expected) {
            throw new IllegalArgumentException(name + " has " + coords.length
                    + " values, expected " + expected + " (" + rows + " rows x dimension "
                    + dimension + ")");
        }
    }

    private int checkQuery(SearchType type, double[] min, double[] max) {
        Objects.requireNonNull(type, "type");
        checkCoords("min", min);
        checkCoords("max", max);
        return type.ordinal();
    }

    // The native bridge (native/jni/index_details.rs). Every method takes the handle first;
    // search types are passed as SearchType.ordinal().

    private static native long nativeCreate(
            int dimension, int precision, String[] labels, int nodeSize);

    private static native long nativeOpen(String dataDir, int durability, int dimension,
            int precision, String[] labels, int nodeSize, long memoryBudget);

    private static native long nativeOpenReadOnly(String dataDir);

    private static native void nativeSaveTo(long handle, String dataDir);

    private static native long nativeToInMemory(long handle);

    private static native String[] nativeLabels(long handle);

    private static native int nativePrecision(long handle);

    private static native long nativeCommit(long handle);

    private static native Stats nativeStats(long handle);

    private static native void nativeFree(long handle);

    private static native long nativeSize(long handle);

    private static native void nativeInsertPoint(long handle, long rowId, double[] point);

    private static native void nativeInsert(long handle, long rowId, double[] min, double[] max);

    private static native void nativeInsertPoints(long handle, long[] rowIds, double[] coords);

    private static native void nativeInsertBoxes(
            long handle, long[] rowIds, double[] mins, double[] maxs);

    private static native boolean nativeDelete(
            long handle, long rowId, double[] min, double[] max);

    private static native boolean nativeUpdate(
            long handle,
            long rowId,
            double[] oldMin,
            double[] oldMax,
            double[] newMin,
            double[] newMax);

    private static native long[] nativeSearch(long handle, int type, double[] min, double[] max);

    private static native long nativeCount(long handle, int type, double[] min, double[] max);

    private static native long[] nativeNearest(long handle, double[] point, int k);

    private static native long nativeCursor(long handle, int type, double[] min, double[] max);
}
