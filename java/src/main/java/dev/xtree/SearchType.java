package dev.xtree;

/**
 * The predicate of a window query. A query is an axis-aligned box {@code [min, max]} with one
 * interval per dimension; all intervals are closed, and query bounds may be infinite (open
 * ranges). A record is a box too (a point is a box with {@code min == max}).
 */
public enum SearchType {
    /** Records that share at least one point with the query box (record ∩ query ≠ ∅). */
    INTERSECTS,
    /** Records whose box contains the whole query box (record ⊇ query). */
    CONTAINS,
    /** Records whose box lies entirely inside the query box (record ⊆ query). */
    WITHIN
}
