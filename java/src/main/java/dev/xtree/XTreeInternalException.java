package dev.xtree;

/**
 * A bug in the native library (code 99): an internal invariant did not hold, or native code
 * panicked. The panic is caught at the JNI boundary, so the JVM keeps running; report the
 * message.
 */
public class XTreeInternalException extends XTreeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; the native bridge calls this constructor.
     *
     * @param message what went wrong
     */
    public XTreeInternalException(String message) {
        super(CODE_INTERNAL, message);
    }
}
