package dev.xtree;

/** Where an index keeps its data. */
public enum PersistenceMode {
    /** Heap memory of the native library only; the data is gone when the index is closed. */
    IN_MEMORY,
    /**
     * Crash-safe storage in a data directory. Not available yet: constructing an index with this
     * mode throws {@link UnsupportedOperationException}.
     */
    DURABLE
}
