package dev.xtree;

/**
 * What a crash may lose from a {@link PersistenceMode#DURABLE} index or a {@link
 * DurableRuntime}, defined by the commits it acknowledged ({@link IndexDetails#commit()}, {@link
 * DurableRuntime#commit()}). In every mode recovery yields exactly the state of some commit:
 * never a mixture of two commits, never a state that no commit produced, and never a write that
 * was not committed. Writes that were never committed are always lost, by a crash or by {@code
 * close()}.
 *
 * <p>Set it with {@link IndexDetails.Options#durability(Durability)} or {@link
 * DurableRuntime#open(String, Durability)}; the default is {@link #BALANCED}.
 */
public enum Durability {
    /**
     * Every acknowledged commit survives a crash: {@code commit()} returns only after the
     * write-ahead log is synced to storage ({@code fsync}) by the committing thread.
     */
    STRICT,
    /**
     * Every acknowledged commit survives a crash, as with {@link #STRICT}, but threads
     * committing at the same time share one {@code fsync} (group commit). The default.
     */
    BALANCED,
    /**
     * {@code commit()} returns after writing the log without waiting for it to reach storage; a
     * background thread syncs it every 50 ms. A crash of the machine may lose the commits of
     * about the last interval; recovery still yields exactly the state of some earlier commit.
     * {@code close()} syncs every commit.
     */
    EVENTUAL
}
