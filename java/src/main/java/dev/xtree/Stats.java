package dev.xtree;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Figures of a {@link DurableRuntime} or an {@link IndexDetails} at one moment, for monitoring:
 * an immutable value returned by {@link DurableRuntime#stats()} and {@link IndexDetails#stats()}.
 *
 * <p>Units: durations are in nanoseconds, sizes in bytes; counters count since the runtime was
 * opened (they start at 0 with every open). Reading the figures is cheap and does not wait for
 * a running checkpoint's page writes (it reports the last finished checkpoint; at most it waits
 * for a STRICT commit's log sync or a checkpoint's log rotation): one native call, a few atomic
 * reads and a listing of the data directory for {@link #diskBytes()}. Figures read while other
 * threads commit are each current, not one consistent snapshot of them all.
 *
 * <p>For an {@link PersistenceMode#IN_MEMORY} index every durable figure (epoch, commits, log,
 * checkpoints, recovery, disk) is 0; {@link #records()}, {@link #fieldRecords()} (one entry,
 * {@code "default"}) and {@link #heapBytes()} are real. For a {@link PersistenceMode#DURABLE}
 * index (its own runtime, or a field of a {@link DurableRuntime}) they are the figures of its
 * runtime, all fields included.
 */
public final class Stats {
    /** Number of fixed figures the native side sends before the per-field record counts. */
    static final int FIGURES = 22;

    private final long epoch;
    private final long commits;
    private final long commitNanosTotal;
    private final long commitNanosMax;
    private final long logSyncs;
    private final long checkpoints;
    private final long checkpointNanosLast;
    private final long checkpointNanosMax;
    private final long checkpointNanosTotal;
    private final long checkpointPagesTotal;
    private final long checkpointPagesLast;
    private final long checkpointEpoch;
    private final long recoveryNanos;
    private final long replayedTransactions;
    private final long replayedRecords;
    private final long diskBytes;
    private final long logBytes;
    private final long heapBytes;
    private final long loadedPageBytes;
    private final long segmentBytes;
    private final long segmentLiveBytes;
    private final long compactions;
    private final Map<String, Long> fieldRecords;
    private final long records;

    /**
     * Built by the native bridge (native/jni/stats.rs) in one call: {@link #FIGURES} figures in
     * the order of the fields above, then one record count per name of {@code fieldNames}.
     *
     * @throws XTreeInternalException if the lengths do not match (a library mismatch)
     */
    Stats(long[] values, String[] fieldNames) {
        if (values.length != FIGURES + fieldNames.length) {
            throw new XTreeInternalException("native stats: " + values.length + " values for "
                    + FIGURES + " figures and " + fieldNames.length + " fields");
        }
        int i = 0;
        epoch = values[i++];
        commits = values[i++];
        commitNanosTotal = values[i++];
        commitNanosMax = values[i++];
        logSyncs = values[i++];
        checkpoints = values[i++];
        checkpointNanosLast = values[i++];
        checkpointNanosMax = values[i++];
        checkpointNanosTotal = values[i++];
        checkpointPagesTotal = values[i++];
        checkpointPagesLast = values[i++];
        checkpointEpoch = values[i++];
        recoveryNanos = values[i++];
        replayedTransactions = values[i++];
        replayedRecords = values[i++];
        diskBytes = values[i++];
        logBytes = values[i++];
        heapBytes = values[i++];
        loadedPageBytes = values[i++];
        segmentBytes = values[i++];
        segmentLiveBytes = values[i++];
        compactions = values[i++];
        Map<String, Long> fields = new LinkedHashMap<>();
        long sum = 0;
        for (String name : fieldNames) {
            long n = values[i++];
            fields.put(name, n);
            sum += n;
        }
        fieldRecords = Collections.unmodifiableMap(fields);
        records = sum;
    }

    /**
     * The epoch of the last commit (0 for an in-memory index).
     *
     * @return the epoch
     */
    public long epoch() {
        return epoch;
    }

    /**
     * Commits that wrote a transaction since open. Creating a field is one; a commit with
     * nothing pending is not counted.
     *
     * @return the number of commits
     */
    public long commits() {
        return commits;
    }

    /**
     * The sum of the latencies of the {@link #commits()}, in nanoseconds: each from the call to
     * its return, the wait for the writer lock and (STRICT, BALANCED) for the log sync included.
     *
     * @return total commit latency in nanoseconds
     */
    public long commitNanosTotal() {
        return commitNanosTotal;
    }

    /**
     * The longest latency of one of the {@link #commits()}, in nanoseconds.
     *
     * @return maximum commit latency in nanoseconds
     */
    public long commitNanosMax() {
        return commitNanosMax;
    }

    /**
     * The mean latency of the {@link #commits()}, in nanoseconds.
     *
     * @return {@link #commitNanosTotal()} over {@link #commits()}, or 0 without commits
     */
    public long commitNanosMean() {
        return commits == 0 ? 0 : commitNanosTotal / commits;
    }

    /**
     * Syncs (fdatasync) of the log made for commits since open; under {@link
     * Durability#BALANCED}, {@link #commits()} over this is the group-commit factor, under
     * {@link Durability#EVENTUAL} these are the background syncs.
     *
     * @return the number of log syncs
     */
    public long logSyncs() {
        return logSyncs;
    }

    /**
     * Checkpoints written since open: by the background coordinator and by {@link
     * DurableRuntime#checkpoint()} (the one of {@code close()} comes after the last {@code
     * stats()}).
     *
     * @return the number of checkpoints
     */
    public long checkpoints() {
        return checkpoints;
    }

    /**
     * The duration of the last checkpoint, in nanoseconds (0 before the first).
     *
     * @return nanoseconds
     */
    public long checkpointNanosLast() {
        return checkpointNanosLast;
    }

    /**
     * The duration of the longest checkpoint since open, in nanoseconds.
     *
     * @return nanoseconds
     */
    public long checkpointNanosMax() {
        return checkpointNanosMax;
    }

    /**
     * The sum of the durations of the checkpoints since open, in nanoseconds.
     *
     * @return nanoseconds
     */
    public long checkpointNanosTotal() {
        return checkpointNanosTotal;
    }

    /**
     * Tree pages written to the segment files by the checkpoints since open (a checkpoint
     * writes only the pages that are new since the previous one).
     *
     * @return the number of pages
     */
    public long checkpointPagesTotal() {
        return checkpointPagesTotal;
    }

    /**
     * Tree pages written by the last checkpoint (0 before the first).
     *
     * @return the number of pages
     */
    public long checkpointPagesLast() {
        return checkpointPagesLast;
    }

    /**
     * The epoch the current checkpoint covers (0 if the directory has none): commits after it
     * are replayed from the log at the next open.
     *
     * @return the epoch
     */
    public long checkpointEpoch() {
        return checkpointEpoch;
    }

    /**
     * How long the recovery at open took, in nanoseconds: reading the superblock, manifest and
     * checkpoint (object tables, not pages) and replaying the log.
     *
     * @return nanoseconds
     */
    public long recoveryNanos() {
        return recoveryNanos;
    }

    /**
     * Transactions (commits) replayed from the log at open: those after the checkpoint.
     *
     * @return the number of transactions
     */
    public long replayedTransactions() {
        return replayedTransactions;
    }

    /**
     * Record operations replayed from the log at open: inserts and deletes, a batch counting
     * each of its rows.
     *
     * @return the number of records
     */
    public long replayedRecords() {
        return replayedRecords;
    }

    /**
     * The bytes of all the files of the data directory, as their lengths ({@code
     * File.length()}); the log is preallocated, so it counts with its allocated length, which
     * on most file systems is sparse.
     *
     * @return bytes
     */
    public long diskBytes() {
        return diskBytes;
    }

    /**
     * The bytes of the current write-ahead log written so far (its commits since the last
     * checkpoint, plus its header).
     *
     * @return bytes
     */
    public long logBytes() {
        return logBytes;
    }

    /**
     * The bytes of tree node pages the native store holds in the process heap that are not
     * backed by the segment files: every page of an in-memory index; for a durable index the
     * pages written since open (they stay on the heap after a checkpoint wrote them, until the
     * next open). Pages replaced by writes count until no reader can reach them. Page contents
     * only, without allocator overhead.
     *
     * @return bytes
     */
    public long heapBytes() {
        return heapBytes;
    }

    /**
     * The bytes of checkpointed pages read from the segment files into memory (each on its first
     * use) and still held; 0 for an in-memory index.
     *
     * @return bytes
     */
    public long loadedPageBytes() {
        return loadedPageBytes;
    }

    /**
     * The bytes of the segment files, which hold the checkpointed tree pages (part of {@link
     * #diskBytes()}); 0 for an in-memory index.
     *
     * @return bytes
     */
    public long segmentBytes() {
        return segmentBytes;
    }

    /**
     * The bytes of the segment slots the checkpoint's pages use: {@link #segmentBytes()} minus
     * this is free space, which later checkpoints reuse and {@link DurableRuntime#compact()}
     * gives back to the file system.
     *
     * @return bytes
     */
    public long segmentLiveBytes() {
        return segmentLiveBytes;
    }

    /**
     * Compactions since open that moved or cut something: explicit ({@link
     * DurableRuntime#compact()}) and background ones.
     *
     * @return the number of compactions
     */
    public long compactions() {
        return compactions;
    }

    /**
     * The committed record count of each field, in creation order. An in-memory index has one
     * entry, {@code "default"}.
     *
     * @return an unmodifiable map from field name to record count
     */
    public Map<String, Long> fieldRecords() {
        return fieldRecords;
    }

    /**
     * The committed records of all fields together.
     *
     * @return the sum of {@link #fieldRecords()}
     */
    public long records() {
        return records;
    }

    @Override
    public String toString() {
        return "Stats(epoch=" + epoch + ", records=" + fieldRecords
                + ", commits=" + commits + " (mean " + commitNanosMean() + " ns, max "
                + commitNanosMax + " ns), logSyncs=" + logSyncs
                + ", checkpoints=" + checkpoints + " (last " + checkpointNanosLast + " ns, max "
                + checkpointNanosMax + " ns, total " + checkpointNanosTotal + " ns; pages last "
                + checkpointPagesLast + ", total " + checkpointPagesTotal + "; epoch "
                + checkpointEpoch + "), recovery=" + recoveryNanos + " ns ("
                + replayedTransactions + " transactions, " + replayedRecords
                + " records replayed), diskBytes=" + diskBytes + ", logBytes=" + logBytes
                + ", heapBytes=" + heapBytes + ", loadedPageBytes=" + loadedPageBytes
                + ", segmentBytes=" + segmentBytes + " (live " + segmentLiveBytes
                + "), compactions=" + compactions + ")";
    }
}
