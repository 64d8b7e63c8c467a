package dev.xtree;

import java.util.HashMap;
import java.util.Map;

/**
 * Java-side checks of the strings the API passes to the native library, for clear messages
 * before any native call. The bridge checks the same on its own (native/jni/convert.rs).
 */
final class Checks {
    private Checks() {}

    /**
     * Checks that {@code s} is well-formed UTF-16, i.e. Unicode text: every high surrogate is
     * followed by a low one and every low surrogate preceded by a high one. Other strings have
     * no exact UTF-8 form, so two of them could name the same label, field or directory.
     *
     * @param name the parameter, for the message
     * @param s the string, not null
     * @return {@code s}
     * @throws IllegalArgumentException naming {@code name}, the surrogate and its index
     */
    static String wellFormed(String name, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                    continue;
                }
            } else if (!Character.isLowSurrogate(c)) {
                continue;
            }
            throw new IllegalArgumentException(String.format(
                    "%s has an unpaired surrogate U+%04X at index %d; it is not valid UTF-16 text",
                    name, (int) c, i));
        }
        return s;
    }

    /**
     * Checks the labels of an index: none null, each well-formed ({@link #wellFormed}), none
     * blank ({@link String#isBlank()}), no two equal.
     *
     * @param labels the labels, already copied by the caller
     * @throws NullPointerException if a label is null
     * @throws IllegalArgumentException naming the first bad label by its index
     */
    static void labels(String[] labels) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < labels.length; i++) {
            String name = "labels[" + i + "]";
            String label = labels[i];
            if (label == null) {
                throw new NullPointerException(name);
            }
            wellFormed(name, label);
            if (label.isBlank()) {
                throw new IllegalArgumentException(name + " is blank");
            }
            Integer first = seen.putIfAbsent(label, i);
            if (first != null) {
                throw new IllegalArgumentException(name + " repeats labels[" + first + "] (\""
                        + label + "\"); labels must be distinct");
            }
        }
    }

    /**
     * Checks a data directory path: not empty, well-formed ({@link #wellFormed}), no NUL (no
     * file system path holds one). Whether it is a directory is checked by the native library.
     *
     * @param dataDir the path, not null
     * @return {@code dataDir}
     * @throws IllegalArgumentException if it is empty, has an unpaired surrogate or a NUL
     */
    static String dataDir(String dataDir) {
        if (dataDir.isEmpty()) {
            throw new IllegalArgumentException("dataDir is empty");
        }
        wellFormed("dataDir", dataDir);
        int nul = dataDir.indexOf('\0');
        if (nul >= 0) {
            throw new IllegalArgumentException(
                    "dataDir has a NUL character at index " + nul + "; a path cannot hold one");
        }
        return dataDir;
    }
}
