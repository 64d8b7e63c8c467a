package dev.xtree;

/** Bytes read back from index storage do not form a valid structure (code 11). */
public class XTreeCorruptionException extends XTreeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; the native bridge calls this constructor.
     *
     * @param message what went wrong
     */
    public XTreeCorruptionException(String message) {
        super(CODE_CORRUPTION, message);
    }
}
