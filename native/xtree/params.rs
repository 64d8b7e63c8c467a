//! Tunables of the X-tree, each with its source.

/// Minimum fill of a node after an R* split, as a fraction of capacity
/// (Beckmann et al., "The R*-tree", SIGMOD 1990, §4.2: m = 40% of M performed best).
pub const MIN_FILL: f64 = 0.40;

/// Largest acceptable relative overlap of a topological directory split, vol(A∩B)/vol(A∪B);
/// above it the overlap-minimal split is tried (Berchtold, Keim, Kriegel, "The X-tree", VLDB
/// 1996, §3.2 and §4: MAX_OVERLAP = 20%).
pub const MAX_OVERLAP: f64 = 0.20;

/// Smallest acceptable share of entries on either side of an overlap-minimal split; below it the
/// node becomes (or grows) a supernode instead (X-tree paper §3.2: MIN_FANOUT = 35%).
pub const MIN_FANOUT: f64 = 0.35;

/// Minimum fill of a directory node below which delete dissolves it (condense-tree): the smaller
/// of the two split guarantees above, so every split result satisfies it.
pub const DIR_MIN_FILL: f64 = MIN_FANOUT;

/// Candidates (least area enlargement) whose overlap enlargement is evaluated when choosing a
/// leaf (R*-tree paper §4.1, "determine the nearly minimum overlap cost", p = 32).
pub const CHOOSE_SUBTREE_CANDIDATES: usize = 32;

/// Largest supernode, in normal node sizes. With 4 KiB nodes this is the 256 KiB size class of
/// the durable store (DESIGN.md §5). Past it a directory node splits topologically whatever the
/// overlap.
pub const MAX_SUPERNODE_BLOCKS: usize = 64;

/// Default node size in bytes (one page of the durable store).
pub const DEFAULT_NODE_SIZE: usize = 4096;

/// Bound on tree height: descent deeper than this is reported as corruption (a cycle).
pub const MAX_HEIGHT: u32 = 64;

/// Batches of at least this many records inserted into an empty index are bulk-loaded (STR).
pub const BULK_LOAD_MIN: usize = 256;
