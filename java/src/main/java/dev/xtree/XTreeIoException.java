package dev.xtree;

/** An operating-system I/O error while reading or writing index storage (code 10). */
public class XTreeIoException extends XTreeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; the native bridge calls this constructor.
     *
     * @param message what went wrong
     */
    public XTreeIoException(String message) {
        super(CODE_IO, message);
    }
}
