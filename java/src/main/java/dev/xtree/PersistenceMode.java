package dev.xtree;

/** Where an index keeps its data. */
public enum PersistenceMode {
    /**
     * Heap memory of the native library only; the data is gone when the index is closed. Every
     * write is visible to queries as soon as it returns; {@link IndexDetails#commit()} is a
     * no-op.
     */
    IN_MEMORY,
    /**
     * Crash-safe storage in a data directory (a write-ahead log and checkpoints), locked by the
     * index while it is open. Writes are visible to queries, and survive a close or a crash,
     * only once {@link IndexDetails#commit()} has returned; what a crash may lose of the
     * acknowledged commits is set by the {@link Durability} policy. Several named indexes in
     * one directory, committed together: {@link DurableRuntime}.
     */
    DURABLE
}
