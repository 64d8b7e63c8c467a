//! Randomised concurrent crash test over the fault-injecting backend.
//!
//! Each iteration (one seed) runs a durable runtime ([`Runtime::open_with`] over a
//! [`FaultBackend`]) with everything at once: writer threads inserting, deleting and updating
//! over two or three fields of mixed dimension and precision (512-byte nodes, so the trees have
//! levels), committing, sometimes checkpointing explicitly; a dedicated thread calling
//! [`Runtime::checkpoint`] or [`Runtime::compact`] in a loop; the background checkpoint coordinator with small
//! triggers (compacting in the background in half the configurations, under a tiny memory
//! budget in a third); reader threads holding snapshots and querying them; and a `close()` at the end,
//! sometimes while the writers and checkpoints still run. Crash images are taken inside random
//! syncs and right after random acknowledgements (torn or not). Every image must recover, and
//! to exactly one committed state, at least the last one acknowledged before the image
//! (STRICT/BALANCED; EVENTUAL: any committed state). Then, sometimes, writing goes on from a
//! recovered image and crashes again (reopen cycles).
//!
//! **Knowing the committed states with concurrent writers.** Every field write of every thread
//! runs under one test-level mutex and takes a global ticket under it; the runtime serialises
//! writes too, so ticket order is the runtime's order, and a commit cuts that order at one
//! point C (the writes with tickets below C). An insert's row id is its ticket (unique across
//! fields); deletes and updates touch an earlier insert of the same thread. From a recovered
//! index each row's state (absent, or which of its boxes) gives the set of cuts consistent
//! with it; the intersection over all rows must be non-empty (else the state is a mixture that
//! no cut produces), must meet the bounds the commit log gives the recovered epoch (a commit's
//! cut is at least the ticket count before it was called and at most the count after it
//! returned), and must reach the ticket count before the last acknowledged commit. Queries
//! (search of each type, count, kNN) are compared with a brute force of the derived state, and
//! `verify_checkpoint` and each tree's invariant checker run on every recovery.
//!
//! Default run: a few hundred iterations. Long run with a tally:
//! `XTREE_CONCURRENT_CRASH_ITERS=5000 cargo test --profile quick --test concurrent_crash -- --nocapture`.
//! One seed again: `XTREE_CONCURRENT_CRASH_SEED=0x… cargo test --profile quick --test
//! concurrent_crash -- --nocapture` (thread interleavings still vary from run to run; the seed
//! fixes every random choice of the test).

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{labels, BruteForce, SplitMix64};
use xtree::engine::backend::{CrashImage, Fault, FaultBackend};
use xtree::{
    Durability, ErrorKind, Field, IndexOptions, IndexSnapshot, Runtime, RuntimeOptions, SearchType,
};

/// A stored box: (min, max). Coordinates are multiples of 1/4 below 2^20, exact at both
/// precisions, so the index stores them unchanged.
type Bx = (Vec<f64>, Vec<f64>);

/// What a reader saw: the snapshot's epoch, the highest epoch acknowledged before it was
/// taken, and the sorted ids of each field.
type View = (u64, u64, Vec<Vec<u64>>);

/// Fields an iteration picks from: name, dimension, precision, points only.
const FIELDS: [(&str, usize, u32, bool); 4] = [
    ("geo", 2, 64, false),
    ("vec", 3, 32, true),
    ("line", 1, 32, false),
    ("box4", 4, 64, false),
];

// ---- the history of writes -----------------------------------------------------------------

/// One row's writes in ticket order: its insert, updates and maybe its delete, each with the
/// row's box from that ticket on (None: deleted).
#[derive(Clone, Debug)]
struct Row {
    field: usize,
    events: Vec<(u64, Option<Bx>)>,
}

/// Everything the writers did, under the test mutex.
#[derive(Default, Clone)]
struct History {
    /// The next ticket: the number of writes done so far (tickets are never reused).
    next: u64,
    rows: BTreeMap<u64, Row>,
}

impl History {
    /// The state at cut `c` of every row: its box, for the rows present.
    fn state_at(&self, c: u64) -> BTreeMap<u64, (usize, Bx)> {
        let mut out = BTreeMap::new();
        for (&id, r) in &self.rows {
            if let Some((_, Some(b))) = r.events.iter().rev().find(|(t, _)| *t < c) {
                out.insert(id, (r.field, b.clone()));
            }
        }
        out
    }

    /// Forgets the writes at or after cut `c` (lost in a crash), so that the next cycle goes on
    /// from the state at `c`.
    fn truncate(&mut self, c: u64) {
        self.rows.retain(|_, r| {
            r.events.retain(|(t, _)| *t < c);
            !r.events.is_empty()
        });
    }
}

/// A commit as the test saw it: `epoch` returned; `lo` = tickets before the call (those writes
/// are in it or an earlier commit), `hi` = tickets after it returned (no later write is in
/// it); `ordinal` = crash images recorded when it returned (images from that ordinal on must
/// hold it).
#[derive(Clone, Copy, Debug)]
struct Ack {
    epoch: u64,
    lo: u64,
    hi: u64,
    ordinal: u64,
    /// The commit of a field's creation.
    creation: bool,
}

// ---- cut sets ------------------------------------------------------------------------------

/// Sets of cut values as sorted, disjoint, non-touching half-open intervals.
type Cuts = Vec<(u64, u64)>;

fn push_cut(out: &mut Cuts, lo: u64, hi: u64) {
    if lo >= hi {
        return;
    }
    match out.last_mut() {
        Some(last) if last.1 >= lo => last.1 = last.1.max(hi),
        _ => out.push((lo, hi)),
    }
}

fn intersect(a: &Cuts, b: &Cuts) -> Cuts {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        push_cut(&mut out, lo, hi);
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// What a recovered index or a snapshot shows of one row.
#[derive(Clone, Copy)]
enum Seen<'a> {
    Absent,
    /// Present; with its box when the check knows it.
    Present(Option<&'a Bx>),
}

/// The cuts at which `row` is in the state `seen`.
fn row_cuts(row: &Row, seen: Seen<'_>) -> Cuts {
    let mut out = Vec::new();
    let first = row.events[0].0;
    if matches!(seen, Seen::Absent) {
        push_cut(&mut out, 0, first + 1);
    }
    for (i, (t, state)) in row.events.iter().enumerate() {
        let end = row.events.get(i + 1).map_or(u64::MAX, |e| e.0 + 1);
        let m = match (seen, state) {
            (Seen::Absent, None) => true,
            (Seen::Present(None), Some(_)) => true,
            (Seen::Present(Some(b)), Some(x)) => b == x,
            _ => false,
        };
        if m {
            push_cut(&mut out, t + 1, end);
        }
    }
    out
}

/// Bounds on the cut of epoch `e` from the commits: at least the `lo` of every commit of an
/// epoch at or below it, at most the `hi` of every commit at or above it.
fn epoch_cuts(acks: &[Ack], e: u64) -> Cuts {
    let lo = acks
        .iter()
        .filter(|a| a.epoch <= e)
        .map(|a| a.lo)
        .max()
        .unwrap_or(0);
    let hi = acks
        .iter()
        .filter(|a| a.epoch >= e)
        .map(|a| a.hi)
        .min()
        .unwrap_or(u64::MAX - 1);
    let mut out = Vec::new();
    push_cut(&mut out, lo, hi.saturating_add(1));
    out
}

fn show(c: &Cuts) -> String {
    let mut s = String::new();
    for (i, (a, b)) in c.iter().enumerate().take(6) {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(
            s,
            "[{a},{})",
            if *b == u64::MAX {
                "∞".into()
            } else {
                b.to_string()
            }
        );
    }
    if c.len() > 6 {
        let _ = write!(s, " … ({} intervals)", c.len());
    }
    if c.is_empty() {
        s.push('∅');
    }
    s
}

// ---- one iteration's configuration ---------------------------------------------------------

#[derive(Clone, Debug)]
struct Config {
    durability: Durability,
    fields: Vec<usize>,
    writers: usize,
    readers: usize,
    checkpointer: bool,
    txns: usize,
    torn: bool,
    close_races: bool,
    cycles: usize,
    /// Yield a thread at every this many backend calls (0: never): more interleavings.
    jitter: u64,
    /// Inject one I/O fault per cycle, at about this fraction of the cycle's calls.
    fault: Option<(f64, Fault)>,
    opts: RuntimeOptions,
}

impl Config {
    fn new(rng: &mut SplitMix64) -> Config {
        let durability = [
            Durability::Strict,
            Durability::Balanced,
            Durability::Eventual,
        ][rng.below(3)];
        let mut fields: Vec<usize> = (0..FIELDS.len()).collect();
        for i in (1..fields.len()).rev() {
            fields.swap(i, rng.below(i + 1));
        }
        fields.truncate(2 + rng.below(2));
        let opts = RuntimeOptions {
            durability,
            sync_interval: Duration::from_millis(1 + rng.below(3) as u64),
            checkpoint_log_bytes: 2048 << rng.below(4),
            checkpoint_interval: [None, Some(Duration::from_millis(1 + rng.below(5) as u64))]
                [rng.below(2)],
            checkpoint_epochs: Some(2 + rng.below(6) as u64),
            background_checkpoints: true,
            checkpoint_on_close: rng.below(2) == 0,
            read_only: false,
            compact_dead_ratio: None,
            compact_min_dead_bytes: 0,
            memory_budget: None,
        };
        let mut cfg = Config {
            durability,
            fields,
            writers: 2 + rng.below(2),
            readers: 1 + rng.below(2),
            checkpointer: rng.below(5) != 0,
            txns: 8 + rng.below(30),
            torn: rng.below(2) == 0,
            close_races: rng.below(2) == 0,
            cycles: 1 + rng.below(3),
            jitter: [0, 3, 7, 19][rng.below(4)],
            fault: (rng.below(6) == 0)
                .then(|| (rng.next_f64(), [Fault::Eio, Fault::NoSpace][rng.below(2)])),
            opts,
        };
        // Drawn last, so that the other choices of a seed stay what they were before
        // compaction existed: half the configurations compact in the background at a low dead
        // ratio, and the checkpointer compacts too.
        let mut more = SplitMix64::new(rng.next_u64());
        if more.below(2) == 0 {
            cfg.opts.compact_dead_ratio = Some(0.05);
        }
        // A third run under a tiny memory budget: pages leave memory after every checkpoint.
        if more.below(3) == 0 {
            cfg.opts.memory_budget = Some(16 << 10);
        }
        cfg
    }

    fn field_options(&self, k: usize) -> IndexOptions {
        let (_, d, p, _) = FIELDS[self.fields[k]];
        let mut o = IndexOptions::new(d, p, labels(d));
        o.node_size = 512;
        o
    }
}

/// Options for recovering an image to check it: no background thread, no checkpoint at close.
fn check_opts() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    }
}

// ---- the tally -----------------------------------------------------------------------------

#[derive(Default, Debug)]
struct Tally {
    iterations: u64,
    cycles: u64,
    commits: u64,
    checkpoints: u64,
    images: u64,
    recoveries: u64,
    failed_opens: u64,
    lost_acknowledged: u64,
    wrong_states: u64,
    runtime_errors: u64,
    snapshot_failures: u64,
    panics: u64,
    failures: Vec<String>,
    /// Failures by their message with numbers blanked: how often each kind happened, and the
    /// first seed that showed it.
    kinds: BTreeMap<String, (u64, String)>,
}

/// `msg` from its first ':' on (after the seed and place), digits and hex numbers as '#'.
fn kind_of(msg: &str) -> String {
    let body = msg.split_once(')').map_or(msg, |(_, b)| b);
    let body = body.split_once(": ").map_or(body, |(_, b)| b);
    let mut out = String::new();
    let mut last_hash = false;
    for w in body.split_inclusive(|c: char| !c.is_ascii_alphanumeric()) {
        let (word, sep) = w.split_at(
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .len(),
        );
        let numeric = !word.is_empty()
            && (word.chars().all(|c| c.is_ascii_digit())
                || (word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit()))
                || word
                    .strip_prefix("0x")
                    .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit())));
        if numeric {
            if !last_hash {
                out.push('#');
            }
            last_hash = sep.is_empty();
        } else {
            out.push_str(word);
            last_hash = false;
        }
        out.push_str(sep);
    }
    out
}

impl Tally {
    fn fail(&mut self, msg: String) {
        let seed = msg.split_whitespace().nth(1).unwrap_or("").to_string();
        self.kinds.entry(kind_of(&msg)).or_insert((0, seed)).0 += 1;
        if self.failures.len() < 200 {
            self.failures.push(msg);
        }
    }

    fn failed(&self) -> u64 {
        self.failed_opens
            + self.lost_acknowledged
            + self.wrong_states
            + self.runtime_errors
            + self.snapshot_failures
            + self.panics
    }

    fn line(&self) -> String {
        format!(
            "iterations {}, cycles {}, commits {}, explicit checkpoints {}, crash images checked \
             {}, recoveries {}, failed opens {}, lost acknowledged commits {}, wrong states {}, \
             runtime errors {}, snapshot failures {}, panics {}",
            self.iterations,
            self.cycles,
            self.commits,
            self.checkpoints,
            self.images,
            self.recoveries,
            self.failed_opens,
            self.lost_acknowledged,
            self.wrong_states,
            self.runtime_errors,
            self.snapshot_failures,
            self.panics
        )
    }
}

/// How an image failed its check.
enum Bad {
    Open(String),
    Lost(String),
    Wrong(String),
}

// ---- the workload of one cycle -------------------------------------------------------------

/// State the threads of a cycle share.
struct Shared<'a> {
    cfg: &'a Config,
    b: &'a FaultBackend,
    rt: &'a Runtime,
    fields: Vec<Field>,
    hist: Mutex<History>,
    acks: Mutex<Vec<Ack>>,
    /// The highest epoch acknowledged so far (what a new snapshot must show at least).
    acked: AtomicU64,
    stop: AtomicBool,
    /// Errors of the threads (other than `Closed`), and snapshot checks that failed.
    errors: Mutex<Vec<String>>,
    snapshot_errors: Mutex<Vec<String>>,
    /// Presence-only views taken by readers: (epoch, highest ack before, ids per field).
    views: Mutex<Vec<View>>,
    checkpoints: AtomicU64,
    torn_seed: u64,
}

impl Shared<'_> {
    fn hist(&self) -> MutexGuard<'_, History> {
        self.hist.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn error(&self, msg: String) {
        self.errors.lock().unwrap().push(msg);
    }

    /// Whether `e` ends a thread quietly: `Closed` (close began) and `Poisoned` do (a
    /// consequence: the cycle reports the poisoning itself), and with an injected fault `Io`.
    fn expected(&self, e: &xtree::Error) -> bool {
        matches!(e.kind(), ErrorKind::Closed | ErrorKind::Poisoned)
            || (self.cfg.fault.is_some() && e.kind() == ErrorKind::Io)
    }

    /// Records `e` unless it is expected (see [`Shared::expected`]).
    fn ended(&self, who: &str, what: &str, e: xtree::Error) {
        if !self.expected(&e) {
            self.error(format!("{who}: {what} failed with {:?}: {e}", e.kind()));
        }
    }
}

fn coord(rng: &mut SplitMix64) -> f64 {
    (rng.next_f64() * 1000.0).floor() / 4.0
}

fn random_box(rng: &mut SplitMix64, field: usize) -> Bx {
    let (_, d, _, points) = FIELDS[field];
    let min: Vec<f64> = (0..d).map(|_| coord(rng)).collect();
    let max = if points {
        min.clone()
    } else {
        min.iter()
            .map(|v| v + (rng.below(40) as f64) / 4.0)
            .collect()
    };
    (min, max)
}

/// A writer: `txns` transactions of 1–5 writes each, then a commit; sometimes a checkpoint or
/// a crash image after the acknowledgement. `own` holds the live rows it may delete or update.
fn writer(s: &Shared<'_>, w: usize, seed: u64, mut own: Vec<(u64, usize, Bx)>) {
    let who = format!("writer {w}");
    let mut rng = SplitMix64::new(seed);
    let nf = s.fields.len();
    for _ in 0..s.cfg.txns {
        for _ in 0..1 + rng.below(5) {
            let mut h = s.hist();
            let t = h.next;
            let roll = rng.below(10);
            if own.is_empty() || roll < 6 {
                let k = rng.below(nf);
                let b = random_box(&mut rng, s.cfg.fields[k]);
                if let Err(e) = s.fields[k].insert(t, &b.0, &b.1) {
                    return s.ended(&who, "insert", e);
                }
                h.rows.insert(
                    t,
                    Row {
                        field: k,
                        events: vec![(t, Some(b.clone()))],
                    },
                );
                own.push((t, k, b));
            } else if roll < 8 {
                let i = rng.below(own.len());
                let (row, k, b) = own.swap_remove(i);
                match s.fields[k].delete(row, &b.0, &b.1) {
                    Ok(true) => {}
                    Ok(false) => {
                        return s.error(format!("{who}: delete of live row {row} found nothing"))
                    }
                    Err(e) => return s.ended(&who, "delete", e),
                }
                h.rows
                    .get_mut(&row)
                    .expect("own row")
                    .events
                    .push((t, None));
            } else {
                let i = rng.below(own.len());
                let (row, k, old) = own[i].clone();
                let new = random_box(&mut rng, s.cfg.fields[k]);
                match s.fields[k].update(row, &old.0, &old.1, &new.0, &new.1) {
                    Ok(true) => {}
                    Ok(false) => {
                        return s.error(format!("{who}: update of live row {row} found nothing"))
                    }
                    Err(e) => return s.ended(&who, "update", e),
                }
                h.rows
                    .get_mut(&row)
                    .expect("own row")
                    .events
                    .push((t, Some(new.clone())));
                own[i].2 = new;
            }
            h.next += 1;
        }
        let lo = s.hist().next;
        let epoch = match s.rt.commit() {
            Ok(e) => e,
            Err(e) => return s.ended(&who, "commit", e),
        };
        let ordinal = s.b.images_recorded();
        let hi = s.hist().next;
        s.acks.lock().unwrap().push(Ack {
            epoch,
            lo,
            hi,
            ordinal,
            creation: false,
        });
        s.acked.fetch_max(epoch, Ordering::AcqRel);
        if rng.below(8) == 0 {
            let torn = s
                .cfg
                .torn
                .then(|| s.torn_seed ^ ordinal.wrapping_mul(0x9e37_79b9));
            s.b.record_crash_image(torn);
        }
        if rng.below(6) == 0 {
            match s.rt.checkpoint() {
                Ok(_) => {
                    s.checkpoints.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return s.ended(&who, "checkpoint", e),
            }
        }
    }
}

fn checkpointer(s: &Shared<'_>, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    while !s.stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_micros(rng.below(1500) as u64));
        // A compaction checkpoints first, then moves pages and cuts the files.
        let (what, r) = match rng.below(3) {
            0 => ("compact", s.rt.compact().map(|_| true)),
            _ => ("checkpoint", s.rt.checkpoint()),
        };
        match r {
            Ok(_) => {
                s.checkpoints.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return s.ended("checkpointer", what, e),
        }
    }
}

fn all_ids(snap: &IndexSnapshot, d: usize) -> xtree::Result<Vec<u64>> {
    let mut ids = snap.search(
        SearchType::Intersects,
        &vec![f64::NEG_INFINITY; d],
        &vec![f64::INFINITY; d],
    )?;
    ids.sort_unstable();
    Ok(ids)
}

/// A reader: takes snapshots, checks each shows at least the last acknowledged epoch, records
/// what it sees for the check after the cycle, holds it a while and checks it still answers
/// the same (while commits and checkpoints go on).
fn reader(s: &Shared<'_>, r: usize, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let names: Vec<(&str, usize)> = s
        .cfg
        .fields
        .iter()
        .map(|&f| (FIELDS[f].0, FIELDS[f].1))
        .collect();
    while !s.stop.load(Ordering::Acquire) {
        let acked = s.acked.load(Ordering::Acquire);
        let snap = match s.rt.snapshot() {
            Ok(x) => x,
            Err(e) => return s.ended(&format!("reader {r}"), "snapshot", e),
        };
        let fail = |msg: String| {
            s.snapshot_errors.lock().unwrap().push(format!(
                "reader {r}, snapshot of epoch {}: {msg}",
                snap.epoch()
            ))
        };
        if snap.epoch() < acked {
            fail(format!("older than the acknowledged epoch {acked}"));
        }
        let mut view = Vec::new();
        for (name, d) in &names {
            match snap.field(name).map(|f| all_ids(f, *d)) {
                None => view.push(Vec::new()),
                Some(Ok(ids)) => view.push(ids),
                Some(Err(e)) => {
                    if !s.expected(&e) {
                        fail(format!("{name}: query failed: {e}"));
                    }
                    view = Vec::new();
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(3000) as u64));
        if view.len() < names.len() {
            continue;
        }
        for ((name, d), before) in names.iter().zip(&view) {
            let Some(f) = snap.field(name) else { continue };
            match all_ids(f, *d) {
                Ok(ids) if &ids == before => {}
                Ok(ids) => fail(format!(
                    "{name}: a held snapshot changed: {}",
                    common::sorted_ids_diff(&ids, before).unwrap_or_default()
                )),
                Err(e) if s.expected(&e) => {}
                Err(e) => fail(format!("{name}: query on a held snapshot failed: {e}")),
            }
            if rng.below(4) == 0 {
                match f.check() {
                    Err(e) if !s.expected(&e) => {
                        fail(format!("{name}: invariants of a held snapshot: {e}"))
                    }
                    _ => {}
                }
            }
        }
        let mut views = s.views.lock().unwrap();
        if views.len() < 40 {
            views.push((snap.epoch(), acked, view));
        }
    }
}

/// What a cycle leaves for the checks.
struct Cycle {
    images: Vec<CrashImage>,
    /// Whether close succeeded on a runtime that was not poisoned (then even EVENTUAL commits
    /// are durable).
    closed_ok: bool,
    acks: Vec<Ack>,
    hist: History,
    errors: Vec<String>,
    snapshot_errors: Vec<String>,
    views: Vec<View>,
    checkpoints: u64,
}

/// Runs one cycle on `b`: opens it, creates the fields if needed (recording the creation
/// commits), runs the threads, closes.
fn run_cycle(
    cfg: &Config,
    b: &FaultBackend,
    hist: History,
    mut acks: Vec<Ack>,
    rng: &mut SplitMix64,
) -> std::result::Result<Cycle, String> {
    let rt = Runtime::open_with(Arc::new(b.clone()), cfg.opts.clone())
        .map_err(|e| format!("open for writing failed: {e}"))?;
    let mut fields = Vec::new();
    for k in 0..cfg.fields.len() {
        let name = FIELDS[cfg.fields[k]].0;
        let existed = rt.get(name).map_err(|e| e.to_string())?.is_some();
        let f = rt
            .field(name, cfg.field_options(k))
            .map_err(|e| format!("field {name}: {e}"))?;
        if !existed {
            let epoch = rt.stats().epoch;
            acks.push(Ack {
                epoch,
                lo: hist.next,
                hi: hist.next,
                ordinal: b.images_recorded(),
                creation: true,
            });
        }
        fields.push(f);
    }
    // Crash points: a few random syncs among those the cycle will make (about 3 per commit
    // and 8–12 per checkpoint; numbers past the end never fire).
    let span = (cfg.writers * cfg.txns * 6) as u64 + b.syncs();
    let points: BTreeSet<u64> = (0..4 + rng.below(6))
        .map(|_| b.syncs() + 1 + (rng.next_u64() % span))
        .collect();
    let torn_seed = rng.next_u64();
    b.record_crash_images_at(points, cfg.torn.then_some(torn_seed));
    b.set_jitter(cfg.jitter);
    if let Some((at, fault)) = cfg.fault {
        // About 12 calls per commit and 40 per checkpoint.
        let calls = (cfg.writers * cfg.txns * 20) as f64;
        b.fail_at(1 + (at * calls) as u64, fault);
    }
    // The writers' own rows: the live rows, dealt out.
    let mut own: Vec<Vec<(u64, usize, Bx)>> = vec![Vec::new(); cfg.writers];
    for (id, (k, bx)) in hist.state_at(u64::MAX) {
        own[(id % cfg.writers as u64) as usize].push((id, k, bx));
    }
    let total_txns = (cfg.writers * cfg.txns) as u64;
    let close_after = cfg
        .close_races
        .then(|| 1 + rng.next_u64() % total_txns.max(1));
    let seeds: Vec<u64> = (0..cfg.writers + cfg.readers + 1)
        .map(|_| rng.next_u64())
        .collect();
    let shared = Shared {
        cfg,
        b,
        rt: &rt,
        fields,
        hist: Mutex::new(hist),
        acks: Mutex::new(acks),
        acked: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        errors: Mutex::new(Vec::new()),
        snapshot_errors: Mutex::new(Vec::new()),
        views: Mutex::new(Vec::new()),
        checkpoints: AtomicU64::new(0),
        torn_seed,
    };
    let s = &shared;
    s.acked.store(
        s.acks
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.epoch)
            .max()
            .unwrap_or(0),
        Ordering::Release,
    );
    let mut close_result = Ok(());
    let mut panics = Vec::new();
    std::thread::scope(|scope| {
        let mut writers = Vec::new();
        for (w, own) in own.into_iter().enumerate() {
            let seed = seeds[w];
            writers.push(scope.spawn(move || writer(s, w, seed, own)));
        }
        let mut others = Vec::new();
        for r in 0..cfg.readers {
            let seed = seeds[cfg.writers + r];
            others.push(scope.spawn(move || reader(s, r, seed)));
        }
        if cfg.checkpointer {
            let seed = seeds[cfg.writers + cfg.readers];
            others.push(scope.spawn(move || checkpointer(s, seed)));
        }
        if let Some(n) = close_after {
            // Close while the writers (and the checkpointer) still run.
            let deadline = Instant::now() + Duration::from_secs(30);
            while (s.acks.lock().unwrap().len() as u64) < n
                && !writers.iter().all(|h| h.is_finished())
                && Instant::now() < deadline
            {
                std::thread::yield_now();
            }
            close_result = rt.close();
        }
        for h in writers {
            if h.join().is_err() {
                panics.push("a writer panicked".to_string());
            }
        }
        if close_after.is_none() {
            // Close while the checkpointer and the readers still run.
            close_result = rt.close();
        }
        s.stop.store(true, Ordering::Release);
        for h in others {
            if h.join().is_err() {
                panics.push("a reader or the checkpointer panicked".to_string());
            }
        }
    });
    let Shared {
        fields,
        hist,
        acks,
        errors,
        snapshot_errors,
        views,
        checkpoints,
        ..
    } = shared;
    let mut errors = errors.into_inner().unwrap();
    errors.extend(panics);
    b.clear_fault();
    if let Some(p) = rt.poisoned().filter(|_| cfg.fault.is_none()) {
        errors.push(format!(
            "the runtime was poisoned without any injected fault: {p}"
        ));
    }
    let closed_ok = match close_result {
        // A poisoned runtime's close returns Ok without syncing (it cannot): EVENTUAL commits
        // acknowledged before the failure may be gone even without a crash.
        Ok(()) => rt.poisoned().is_none(),
        Err(e) => {
            if cfg.fault.is_none() {
                errors.push(format!("close failed: {e}"));
            }
            false
        }
    };
    drop(fields);
    drop(rt);
    Ok(Cycle {
        images: b.take_crash_images(),
        closed_ok,
        acks: acks.into_inner().unwrap(),
        hist: hist.into_inner().unwrap(),
        errors,
        snapshot_errors: snapshot_errors.into_inner().unwrap(),
        views: views.into_inner().unwrap(),
        checkpoints: checkpoints.load(Ordering::Relaxed),
    })
}

// ---- checking a recovered image ------------------------------------------------------------

/// A recovered image that passed its check: its epoch and a cut giving its state.
struct Recovered {
    epoch: u64,
    cut: u64,
}

/// What an image must hold at least: an epoch and a cut.
#[derive(Clone, Copy, Default)]
struct Need {
    epoch: u64,
    cut: u64,
}

/// Recovers `image` and checks its state (see the module documentation).
fn check_image(
    cfg: &Config,
    image: &FaultBackend,
    hist: &History,
    acks: &[Ack],
    need: Need,
    rng: &mut SplitMix64,
) -> std::result::Result<Recovered, Bad> {
    let rt = Runtime::open_with(Arc::new(image.clone()), check_opts())
        .map_err(|e| Bad::Open(format!("recovery failed: {:?}: {e}", e.kind())))?;
    let wrong = |m: String| Bad::Wrong(m);
    let epoch = rt.stats().epoch;
    if let Err(e) = rt.verify_checkpoint() {
        return Err(wrong(format!("verify_checkpoint: {e}")));
    }
    let snap = rt.snapshot().map_err(|e| wrong(e.to_string()))?;
    // Fields: those created by the recovered epoch (creations come first, in order).
    let names: Vec<String> = rt.field_names();
    let created = acks
        .iter()
        .filter(|a| a.creation && a.epoch <= epoch)
        .count();
    let want: Vec<String> = cfg.fields[..created]
        .iter()
        .map(|&f| FIELDS[f].0.to_string())
        .collect();
    if names != want {
        return Err(wrong(format!(
            "epoch {epoch}: fields {names:?}, expected {want:?}"
        )));
    }
    // Each row's state, and the cuts it allows.
    let mut seen: HashMap<u64, Bx> = HashMap::new();
    for (k, &f) in cfg.fields.iter().enumerate() {
        let (name, d, _, _) = FIELDS[f];
        let Some(s) = snap.field(name) else { continue };
        let stats = s
            .check()
            .map_err(|e| wrong(format!("{name}: invariants: {e}")))?;
        let ids = all_ids(s, d).map_err(|e| wrong(format!("{name}: search: {e}")))?;
        if stats.records != ids.len() as u64 || s.len() != ids.len() as u64 {
            return Err(wrong(format!(
                "{name}: {} ids, {} records in the tree, len {}",
                ids.len(),
                stats.records,
                s.len()
            )));
        }
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(wrong(format!("{name}: row {} twice", w[0])));
        }
        for id in ids {
            let row = match hist.rows.get(&id) {
                Some(r) if r.field == k => r,
                _ => return Err(wrong(format!("{name}: row {id} that no write put there"))),
            };
            // Which of its boxes it has: the one it is both within and contains.
            let mut boxes: Vec<&Bx> = row.events.iter().filter_map(|(_, b)| b.as_ref()).collect();
            boxes.dedup();
            let mut found = None;
            for b in boxes {
                let within = s.search(SearchType::Within, &b.0, &b.1);
                let contains = s.search(SearchType::Contains, &b.0, &b.1);
                match (within, contains) {
                    (Ok(w), Ok(c)) => {
                        if w.contains(&id) && c.contains(&id) {
                            found = Some(b);
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        return Err(wrong(format!("{name}: search: {e}")));
                    }
                }
            }
            let b = found.ok_or_else(|| {
                wrong(format!(
                    "{name}: row {id} has a box none of its writes gave it"
                ))
            })?;
            seen.insert(id, b.clone());
        }
    }
    let mut cuts: Cuts = vec![(0, u64::MAX)];
    for (id, row) in &hist.rows {
        let s = match seen.get(id) {
            Some(b) => Seen::Present(Some(b)),
            None => Seen::Absent,
        };
        let before = cuts.clone();
        cuts = intersect(&cuts, &row_cuts(row, s));
        if cuts.is_empty() {
            return Err(wrong(format!(
                "epoch {epoch}: not a committed state: no cut of the write order gives it (row \
                 {id} {}, its writes at tickets {:?}, allows {}; the rows before allow {})",
                if seen.contains_key(id) {
                    "present"
                } else {
                    "absent"
                },
                row.events.iter().map(|e| e.0).collect::<Vec<_>>(),
                show(&row_cuts(row, s)),
                show(&before)
            )));
        }
    }
    let at_epoch = intersect(&cuts, &epoch_cuts(acks, epoch));
    if at_epoch.is_empty() {
        return Err(wrong(format!(
            "epoch {epoch}: the state is the write order cut at {} but epoch {epoch}'s commit \
             cuts it at {}",
            show(&cuts),
            show(&epoch_cuts(acks, epoch))
        )));
    }
    if epoch < need.epoch {
        return Err(Bad::Lost(format!(
            "recovered epoch {epoch}, but epoch {} was acknowledged before the crash",
            need.epoch
        )));
    }
    let enough = intersect(&at_epoch, &vec![(need.cut, u64::MAX)]);
    if enough.is_empty() {
        return Err(Bad::Lost(format!(
            "epoch {epoch}: the state is the write order cut at {}, but the writes before ticket \
             {} were acknowledged before the crash",
            show(&at_epoch),
            need.cut
        )));
    }
    let cut = enough[0].0;
    // Queries against a brute force of the state.
    for (k, &f) in cfg.fields.iter().enumerate() {
        let (name, d, p, _) = FIELDS[f];
        let Some(s) = snap.field(name) else { continue };
        let mut bf = BruteForce::new(d, p);
        for (id, b) in &seen {
            if hist.rows[id].field == k {
                bf.insert(*id, &b.0, &b.1);
            }
        }
        for q in 0..4 {
            let lo: Vec<f64> = (0..d).map(|_| rng.next_f64() * 300.0 - 20.0).collect();
            let hi: Vec<f64> = lo.iter().map(|v| v + rng.next_f64() * 120.0).collect();
            for ty in [
                SearchType::Intersects,
                SearchType::Contains,
                SearchType::Within,
            ] {
                let got = s.search(ty, &lo, &hi).map(|mut v| {
                    v.sort_unstable();
                    v
                });
                let count = s.count(ty, &lo, &hi);
                let want = bf.search(ty, &lo, &hi);
                match (got, count) {
                    (Ok(g), Ok(c)) if g == want && c == want.len() as u64 => {}
                    (g, c) => {
                        return Err(wrong(format!(
                            "{name}: {ty:?} query {q} answered {g:?} (count {c:?}), brute force \
                             {want:?}"
                        )))
                    }
                }
            }
            let want: Vec<u64> = bf.nearest(&lo, 7).into_iter().map(|(id, _)| id).collect();
            match s.nearest(&lo, 7) {
                Ok(g) if g == want => {}
                g => {
                    return Err(wrong(format!(
                        "{name}: kNN {q} answered {g:?}, brute force {want:?}"
                    )))
                }
            }
        }
    }
    drop(snap);
    rt.close()
        .map_err(|e| wrong(format!("close after recovery: {e}")))?;
    Ok(Recovered { epoch, cut })
}

/// Checks a reader's presence-only view: a committed state of its epoch.
fn check_view(hist: &History, acks: &[Ack], view: &View) -> std::result::Result<(), String> {
    let (epoch, _, ids) = view;
    let present: BTreeMap<u64, usize> = ids
        .iter()
        .enumerate()
        .flat_map(|(k, v)| v.iter().map(move |&id| (id, k)))
        .collect();
    let mut cuts: Cuts = vec![(0, u64::MAX)];
    for (&id, k) in &present {
        match hist.rows.get(&id) {
            Some(r) if r.field == *k => {}
            _ => return Err(format!("row {id} in field {k} that no write put there")),
        }
    }
    for (id, row) in &hist.rows {
        let s = if present.contains_key(id) {
            Seen::Present(None)
        } else {
            Seen::Absent
        };
        cuts = intersect(&cuts, &row_cuts(row, s));
        if cuts.is_empty() {
            return Err(format!("not a committed state (row {id})"));
        }
    }
    let at = intersect(&cuts, &epoch_cuts(acks, *epoch));
    if at.is_empty() {
        return Err(format!(
            "cut at {}, but epoch {epoch}'s commit cuts at {}",
            show(&cuts),
            show(&epoch_cuts(acks, *epoch))
        ));
    }
    Ok(())
}

// ---- one iteration -------------------------------------------------------------------------

fn iteration(seed: u64, tally: &mut Tally) {
    let mut rng = SplitMix64::new(seed);
    let cfg = Config::new(&mut rng);
    let ctx = |cycle: usize| {
        let fault = cfg
            .fault
            .map_or(String::new(), |(_, f)| format!(", one {f:?} fault"));
        format!("seed {seed:#x} cycle {cycle} ({:?}{fault})", cfg.durability)
    };
    let mut b = FaultBackend::new();
    let mut hist = History::default();
    let mut acks: Vec<Ack> = Vec::new();
    // The state the cycle starts from, durable in every mode.
    let mut base = Need::default();
    for cycle in 0..cfg.cycles {
        tally.cycles += 1;
        let c = match run_cycle(&cfg, &b, hist, acks, &mut rng) {
            Ok(c) => c,
            Err(e) => {
                tally.failed_opens += 1;
                tally.fail(format!("{}: {e}", ctx(cycle)));
                return;
            }
        };
        tally.commits += c.acks.iter().filter(|a| !a.creation).count() as u64;
        tally.checkpoints += c.checkpoints;
        for e in &c.errors {
            tally.runtime_errors += 1;
            tally.fail(format!("{}: {e}", ctx(cycle)));
        }
        for e in &c.snapshot_errors {
            tally.snapshot_failures += 1;
            tally.fail(format!("{}: {e}", ctx(cycle)));
        }
        for v in &c.views {
            if let Err(e) = check_view(&c.hist, &c.acks, v) {
                tally.snapshot_failures += 1;
                tally.fail(format!(
                    "{}: a reader's snapshot of epoch {}: {e}",
                    ctx(cycle),
                    v.0
                ));
            }
        }
        // The images, each with what it must hold.
        let strict = cfg.durability != Durability::Eventual;
        let need_at = |ordinal: Option<u64>| -> Need {
            let mut n = base;
            for a in &c.acks {
                if ordinal.is_none_or(|o| a.ordinal <= o) && (strict || ordinal.is_none()) {
                    n.epoch = n.epoch.max(a.epoch);
                    n.cut = n.cut.max(a.lo);
                }
            }
            n
        };
        let mut points: Vec<(String, FaultBackend, Need)> = c
            .images
            .iter()
            .map(|i| {
                (
                    format!("image {} (after {} syncs)", i.ordinal, i.syncs),
                    i.image.clone(),
                    need_at(Some(i.ordinal)),
                )
            })
            .collect();
        // The durable image after close (or after its failure): every acknowledged commit,
        // EVENTUAL ones too when close succeeded.
        let mut after_close = need_at(None);
        if !strict && !c.closed_ok {
            after_close = base;
        }
        points.push((
            "the directory after close".into(),
            b.crash(None),
            after_close,
        ));
        let mut next: Vec<(FaultBackend, Recovered)> = Vec::new();
        for (at, image, need) in points {
            tally.images += 1;
            let r = catch_unwind(AssertUnwindSafe(|| {
                check_image(&cfg, &image, &c.hist, &c.acks, need, &mut rng)
            }));
            match r {
                Ok(Ok(rec)) => {
                    tally.recoveries += 1;
                    next.push((image, rec));
                }
                Ok(Err(Bad::Open(m))) => {
                    tally.failed_opens += 1;
                    tally.fail(format!("{}, {at}: {m}", ctx(cycle)));
                }
                Ok(Err(Bad::Lost(m))) => {
                    tally.recoveries += 1;
                    tally.lost_acknowledged += 1;
                    tally.fail(format!("{}, {at}: {m}", ctx(cycle)));
                }
                Ok(Err(Bad::Wrong(m))) => {
                    tally.recoveries += 1;
                    tally.wrong_states += 1;
                    tally.fail(format!("{}, {at}: {m}", ctx(cycle)));
                }
                Err(p) => {
                    tally.panics += 1;
                    let m = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    tally.fail(format!("{}, {at}: panic: {m}", ctx(cycle)));
                }
            }
        }
        if next.is_empty() {
            return;
        }
        // Go on from one recovered image: what it lost is forgotten, its state is the base.
        let (image, rec) = next.swap_remove(rng.below(next.len()));
        b = image;
        hist = c.hist;
        let start = hist.next;
        hist.truncate(rec.cut);
        base = Need {
            epoch: rec.epoch,
            cut: start,
        };
        acks = vec![Ack {
            epoch: rec.epoch,
            lo: rec.cut,
            hi: start,
            ordinal: 0,
            creation: false,
        }];
        // The creations stay known (for the field check of later recoveries); the writes
        // forgotten above no longer bound their cut.
        acks.extend(
            c.acks
                .iter()
                .filter(|a| a.creation && a.epoch <= rec.epoch)
                .map(|a| Ack { hi: start, ..*a }),
        );
    }
}

fn iterations_from_env(default: u64) -> u64 {
    std::env::var("XTREE_CONCURRENT_CRASH_ITERS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn parse_seed(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn run(iterations: u64, base_seed: u64) -> Tally {
    let mut tally = Tally::default();
    let started = Instant::now();
    let seeds: Vec<u64> = match std::env::var("XTREE_CONCURRENT_CRASH_SEED") {
        Ok(s) => {
            let seed = parse_seed(&s).expect("XTREE_CONCURRENT_CRASH_SEED is a u64");
            // Interleavings vary: XTREE_CONCURRENT_CRASH_REPEAT runs the seed that many times.
            let repeat = std::env::var("XTREE_CONCURRENT_CRASH_REPEAT")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            vec![seed; repeat]
        }
        Err(_) => {
            let mut g = SplitMix64::new(base_seed);
            (0..iterations).map(|_| g.next_u64()).collect()
        }
    };
    let mut failing_seeds = Vec::new();
    for seed in seeds {
        let before = tally.failed();
        tally.iterations += 1;
        iteration(seed, &mut tally);
        if tally.failed() > before {
            failing_seeds.push(seed);
        }
    }
    println!(
        "concurrent crash tally (base seed {base_seed:#x}): {}; {} failing seeds; {:.1} s",
        tally.line(),
        failing_seeds.len(),
        started.elapsed().as_secs_f64()
    );
    if !tally.kinds.is_empty() {
        println!("failures by kind (count, first seed):");
        for (k, (n, seed)) in &tally.kinds {
            println!("  {n:5} {seed}  {k}");
        }
    }
    if !failing_seeds.is_empty() {
        let shown: Vec<String> = failing_seeds
            .iter()
            .take(20)
            .map(|s| format!("{s:#x}"))
            .collect();
        println!("failing seeds: {}", shown.join(" "));
        for f in tally.failures.iter().take(40) {
            println!("  {f}");
        }
    }
    tally
}

/// Pins defect 1 (concurrent checkpoints deleting each other's files) and any other way a
/// crash at a random moment of a concurrent workload loses an acknowledged commit, recovers a
/// state no commit produced, or fails to open; also spurious poisoning and snapshot isolation.
#[test]
fn concurrent_writers_checkpoints_readers_and_close_survive_random_crashes() {
    let base = common::test_seed(0xc0c0_5eed);
    let tally = run(iterations_from_env(400), base);
    assert!(tally.images > tally.iterations, "{}", tally.line());
    assert_eq!(
        tally.failed(),
        0,
        "{}\nfirst failures:\n{}",
        tally.line(),
        tally
            .failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The checker itself: on a sequential history it accepts the true states and rejects an
/// older state (lost acknowledged commit), a state that no cut of the write order gives (a
/// mixture), a row with the wrong box, and a row no write made.
#[test]
fn the_checker_rejects_lost_mixed_and_invented_states() {
    let mut rng = SplitMix64::new(1);
    let mut cfg = Config::new(&mut rng);
    cfg.fields = vec![0];
    let b = FaultBackend::new();
    let rt = Runtime::open_with(Arc::new(b.clone()), check_opts()).unwrap();
    let f = rt.field("geo", cfg.field_options(0)).unwrap();
    let mut acks = vec![Ack {
        epoch: 1,
        lo: 0,
        hi: 0,
        ordinal: 0,
        creation: true,
    }];
    let mut hist = History::default();
    let bx = |x: f64| (vec![x, x], vec![x + 1.0, x + 2.0]);
    let write = |hist: &mut History, row: Option<u64>, state: Option<Bx>| {
        let t = hist.next;
        let id = row.unwrap_or(t);
        match (&state, hist.rows.get(&id)) {
            (Some(b), None) => f.insert(id, &b.0, &b.1).unwrap(),
            (Some(b), Some(r)) => {
                let old = r.events.last().unwrap().1.clone().unwrap();
                assert!(f.update(id, &old.0, &old.1, &b.0, &b.1).unwrap());
            }
            (None, Some(r)) => {
                let old = r.events.last().unwrap().1.clone().unwrap();
                assert!(f.delete(id, &old.0, &old.1).unwrap());
            }
            (None, None) => unreachable!(),
        }
        hist.rows
            .entry(id)
            .or_insert(Row {
                field: 0,
                events: Vec::new(),
            })
            .events
            .push((t, state));
        hist.next += 1;
    };
    write(&mut hist, None, Some(bx(1.0))); // row 0
    write(&mut hist, None, Some(bx(2.0))); // row 1
    let e = rt.commit().unwrap();
    acks.push(Ack {
        epoch: e,
        lo: 2,
        hi: 2,
        ordinal: 0,
        creation: false,
    });
    let first = b.crash(None);
    write(&mut hist, Some(0), None);
    write(&mut hist, Some(1), Some(bx(5.0)));
    write(&mut hist, None, Some(bx(3.0))); // row 4
    let e = rt.commit().unwrap();
    acks.push(Ack {
        epoch: e,
        lo: 5,
        hi: 5,
        ordinal: 0,
        creation: false,
    });
    let second = b.crash(None);
    let need = Need { epoch: e, cut: 5 };
    let ok = check_image(&cfg, &second, &hist, &acks, need, &mut rng);
    assert!(
        matches!(ok, Ok(Recovered { epoch: 3, cut: 5 })),
        "the true state"
    );
    let ok = check_image(&cfg, &first, &hist, &acks, Need::default(), &mut rng);
    assert!(
        matches!(ok, Ok(Recovered { epoch: 2, .. })),
        "an older state, not required"
    );
    let lost = check_image(&cfg, &first, &hist, &acks, need, &mut rng);
    assert!(
        matches!(lost, Err(Bad::Lost(_))),
        "an older state than acknowledged"
    );
    // A mixture: the history claims a write between the two committed inserts that the index
    // lacks.
    let mut mixed = hist.clone();
    mixed.rows.get_mut(&4).unwrap().events[0].0 = 5;
    mixed.rows.insert(
        7,
        Row {
            field: 0,
            events: vec![(4, Some(bx(9.0)))],
        },
    );
    mixed.next = 6;
    let r = check_image(&cfg, &second, &mixed, &acks, Need::default(), &mut rng);
    match r {
        Err(Bad::Wrong(m)) => assert!(m.contains("not a committed state"), "{m}"),
        _ => panic!("a mixture passed"),
    }
    // Row 1 with a box its history never had.
    let mut moved = hist.clone();
    moved.rows.get_mut(&1).unwrap().events[1].1 = Some(bx(6.0));
    match check_image(&cfg, &second, &moved, &acks, Need::default(), &mut rng) {
        Err(Bad::Wrong(m)) => assert!(m.contains("has a box none"), "{m}"),
        _ => panic!("a wrong box passed"),
    }
    // A row no write made.
    let mut fewer = hist.clone();
    fewer.rows.remove(&4);
    match check_image(&cfg, &second, &fewer, &acks, Need::default(), &mut rng) {
        Err(Bad::Wrong(m)) => assert!(m.contains("no write put there"), "{m}"),
        _ => panic!("an invented row passed"),
    }
    // The epoch's bounds: claiming epoch 3 cut before the update.
    let mut early = acks.clone();
    early[2].hi = 3;
    match check_image(&cfg, &second, &hist, &early, Need::default(), &mut rng) {
        Err(Bad::Wrong(m)) => assert!(m.contains("commit cuts it at"), "{m}"),
        _ => panic!("a state beyond its epoch's cut passed"),
    }
}
