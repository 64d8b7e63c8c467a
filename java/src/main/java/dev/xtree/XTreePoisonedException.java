package dev.xtree;

/**
 * An earlier write or fsync failed, so the runtime refuses further writes until it is reopened
 * (code 12).
 */
public class XTreePoisonedException extends XTreeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; the native bridge calls this constructor.
     *
     * @param message what went wrong
     */
    public XTreePoisonedException(String message) {
        super(CODE_POISONED, message);
    }
}
