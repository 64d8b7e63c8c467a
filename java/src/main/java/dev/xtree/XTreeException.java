package dev.xtree;

/**
 * A failure of the native index that is not a misuse of the API: I/O, corrupted storage, a
 * poisoned runtime, or an internal error. Each subclass carries a stable numeric {@link #code()}
 * shared with the Rust library ({@code xtree::ErrorKind::code}); codes never change meaning.
 *
 * <p>Misuse is reported with standard unchecked exceptions instead: {@link
 * IllegalArgumentException} for bad input, {@link IllegalStateException} after {@code close()}
 * and for writes on a read-only index or runtime ({@link DurableRuntime#openReadOnly}),
 * {@link UnsupportedOperationException} for features not available, {@link NullPointerException}
 * for null arguments.
 */
public class XTreeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Code of {@link XTreeIoException}: an operating-system I/O error. */
    public static final int CODE_IO = 10;
    /** Code of {@link XTreeCorruptionException}: stored bytes do not form a valid structure. */
    public static final int CODE_CORRUPTION = 11;
    /** Code of {@link XTreePoisonedException}: an earlier write failed; writes are refused. */
    public static final int CODE_POISONED = 12;
    /** Code of {@link XTreeInternalException}: a bug (a broken invariant or a native panic). */
    public static final int CODE_INTERNAL = 99;

    private final int code;

    /**
     * Creates an exception with an explicit code. The native bridge throws the subclass of each
     * error kind; this constructor serves the subclasses and error kinds added later.
     *
     * @param code the stable error code of the native error kind
     * @param message what went wrong, naming the offending parameter
     */
    public XTreeException(int code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * The stable numeric code of the native error kind.
     *
     * @return 10 (I/O), 11 (corruption), 12 (poisoned), 99 (internal), or a code added later
     */
    public int code() {
        return code;
    }
}
