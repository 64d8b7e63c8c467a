//! `xtree`: the operator tool for a data directory.
//!
//! ```text
//! xtree load DIR --csv FILE --columns lon,lat [--id-column C] [--precision 32|64]
//!                [--durability strict|balanced|eventual] [--field NAME] [--json]
//! xtree query DIR [--field F] (--box MIN.. MAX.. [--relation intersects|contains|within]
//!                 | --point P.. | --knn P.. [-k K]) [--count] [--json]
//! xtree fsck DIR [--json]    verify everything
//! xtree dump DIR [--json]    superblock, manifest, checkpoint, logs, fields and files
//! xtree stats DIR [--json]   epoch, records per field, bytes on disk
//! xtree compact DIR [--json] give the segment files' free space back
//! ```
//!
//! Exit codes: 0 success; 1 `fsck` found damage; 2 anything else failed (a usage error, a
//! directory that cannot be opened — locked by a writer, missing, damaged —, an unreadable
//! input file). `query`, `fsck`, `dump` and `stats` change nothing and take a shared lock, so
//! they refuse a directory a writer has open; `load` and `compact` open it as the writer. Logs go to stderr
//! through `env_logger` (`RUST_LOG=info xtree load ...`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use xtree::tools::load::{load_csv, LoadOptions};
use xtree::{Durability, Runtime, SearchType};

/// Operator tool for xtree data directories.
#[derive(Parser)]
#[command(name = "xtree", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 success, 1 fsck found damage, 2 any other failure.")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load the points of a CSV file (gzip allowed) into a field of a data directory.
    Load(LoadArgs),
    /// Query a field: a box (with a relation), a point, or the k nearest neighbours.
    Query(QueryArgs),
    /// Verify every checksum, page, object table, log and tree invariant; exit 1 on damage.
    Fsck(DirArgs),
    /// Print the superblock, manifest, checkpoint, logs, fields and files.
    Dump(DirArgs),
    /// Print the epoch, records per field and bytes on disk.
    Stats(DirArgs),
    /// Checkpoint, move the pages down into the free space of the segment files and cut them.
    Compact(DirArgs),
}

#[derive(clap::Args)]
struct DirArgs {
    /// The data directory.
    dir: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Strict,
    Balanced,
    Eventual,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The data directory (created when absent).
    dir: PathBuf,
    /// The CSV file, with a header row; `.gz` is decompressed.
    #[arg(long)]
    csv: PathBuf,
    /// Coordinate columns in axis order, comma-separated: header names or `#N` (0-based).
    #[arg(long, value_delimiter = ',', required = true)]
    columns: Vec<String>,
    /// Column holding the row id (an unsigned 64-bit integer); default: the 0-based row number.
    #[arg(long)]
    id_column: Option<String>,
    /// Coordinate precision of a new field, in bits.
    #[arg(long, default_value_t = 64)]
    precision: u32,
    /// Durability of the commits of the load.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Balanced)]
    durability: DurabilityArg,
    /// The field to load into (created when absent, labelled by the columns).
    #[arg(long, default_value = "points")]
    field: String,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum RelationArg {
    Intersects,
    Contains,
    Within,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("shape").required(true).args(["box", "point", "knn"])))]
struct QueryArgs {
    /// The data directory.
    dir: PathBuf,
    /// The field (default: the only one).
    #[arg(long)]
    field: Option<String>,
    /// A box: the d minimum coordinates, then the d maximum ones.
    #[arg(long = "box", num_args = 2.., value_name = "COORD", allow_negative_numbers = true)]
    r#box: Option<Vec<f64>>,
    /// How records must relate to the box.
    #[arg(long, value_enum, default_value_t = RelationArg::Intersects, requires = "box")]
    relation: RelationArg,
    /// A point: the records that contain it.
    #[arg(long, num_args = 1.., value_name = "COORD", allow_negative_numbers = true)]
    point: Option<Vec<f64>>,
    /// The k nearest records to this point (Euclidean distance to each record's box).
    #[arg(long, num_args = 1.., value_name = "COORD", allow_negative_numbers = true)]
    knn: Option<Vec<f64>>,
    /// How many neighbours for --knn.
    #[arg(short, default_value_t = 10, requires = "knn")]
    k: usize,
    /// Print only the number of matches (not with --knn).
    #[arg(long, conflicts_with = "knn")]
    count: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A failure: what to print, and the exit code.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Writes `text` to stdout. A reader that went away (`xtree query ... | head`) ends the output
/// quietly, as for any Unix filter, instead of a panic in `println!`.
fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure(format!("writing the output: {e}")))
        }
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp_millis()
        .init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS // --help, --version
            };
        }
    };
    let (name, result) = match cli.cmd {
        Cmd::Load(a) => ("load", load(a)),
        Cmd::Query(a) => ("query", query(a)),
        Cmd::Fsck(a) => ("fsck", inspect("fsck", a)),
        Cmd::Dump(a) => ("dump", inspect("dump", a)),
        Cmd::Stats(a) => ("stats", inspect("stats", a)),
        Cmd::Compact(a) => ("compact", compact(a)),
    };
    match result {
        Ok(code) => code,
        Err(Failure(msg)) => {
            eprintln!("xtree {name}: {msg}");
            ExitCode::from(2)
        }
    }
}

fn load(a: LoadArgs) -> Result<ExitCode, Failure> {
    let o = LoadOptions {
        dir: a.dir,
        csv: a.csv,
        columns: a.columns,
        id_column: a.id_column,
        precision: a.precision,
        durability: match a.durability {
            DurabilityArg::Strict => Durability::Strict,
            DurabilityArg::Balanced => Durability::Balanced,
            DurabilityArg::Eventual => Durability::Eventual,
        },
        field: a.field,
    };
    // A progress bar on a terminal only (indicatif draws nothing otherwise).
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})",
        )
        .expect("valid template"),
    );
    let s = load_csv(&o, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if a.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&s)?))?;
    } else {
        let mut text = format!(
            "loaded {} of {} rows into field {} of {} in {:.2} s ({} records now, {} bytes on disk)\n",
            s.loaded,
            s.rows,
            s.field,
            o.dir.display(),
            s.seconds,
            s.records,
            s.bytes_on_disk
        );
        if s.rejected > 0 {
            text += &format!("rejected {} rows:\n", s.rejected);
            for r in &s.rejects {
                text += &format!("  line {}: {}\n", r.line, r.reason);
            }
            if s.rejected as usize > s.rejects.len() {
                text += &format!("  ... and {} more\n", s.rejected as usize - s.rejects.len());
            }
        }
        emit(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn query(a: QueryArgs) -> Result<ExitCode, Failure> {
    if !a.dir.is_dir() {
        return Err(Failure(format!("{} is not a directory", a.dir.display())));
    }
    let rt = Runtime::open_read_only(&a.dir)?;
    let names = rt.field_names();
    let name = match (&a.field, names.as_slice()) {
        (Some(f), _) => f.clone(),
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err(Failure(format!(
                "--field: the directory has fields {names:?}; name one"
            )))
        }
    };
    let field = rt
        .get(&name)?
        .ok_or_else(|| Failure(format!("no field {name:?} (fields: {names:?})")))?;
    let d = field.dimension();
    let want = |what: &str, got: usize, n: usize| -> Result<(), Failure> {
        if got == n {
            Ok(())
        } else {
            Err(Failure(format!(
                "{what}: field {name} has {d} dimensions, so give {n} coordinates, not {got}"
            )))
        }
    };
    if let Some(p) = &a.knn {
        want("--knn", p.len(), d)?;
        let hits = field.snapshot()?.nearest_with_distance(p, a.k)?;
        if a.json {
            let v: Vec<_> = hits
                .iter()
                .map(|(id, dist)| serde_json::json!({"id": id, "distance": dist}))
                .collect();
            emit(&format!("{}\n", serde_json::to_string(&v)?))?;
        } else {
            let text: String = hits
                .iter()
                .map(|(id, dist)| format!("{id}\t{dist}\n"))
                .collect();
            emit(&text)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (ty, min, max) = match (&a.r#box, &a.point) {
        (Some(b), _) => {
            want("--box", b.len(), 2 * d)?;
            let ty = match a.relation {
                RelationArg::Intersects => SearchType::Intersects,
                RelationArg::Contains => SearchType::Contains,
                RelationArg::Within => SearchType::Within,
            };
            (ty, b[..d].to_vec(), b[d..].to_vec())
        }
        (None, Some(p)) => {
            want("--point", p.len(), d)?;
            (SearchType::Intersects, p.clone(), p.clone())
        }
        (None, None) => return Err(Failure("give --box, --point or --knn".into())),
    };
    if a.count {
        let n = field.count(ty, &min, &max)?;
        if a.json {
            emit(&format!("{}\n", serde_json::json!({ "count": n })))?;
        } else {
            emit(&format!("{n}\n"))?;
        }
    } else {
        let mut ids = field.search(ty, &min, &max)?;
        ids.sort_unstable();
        if a.json {
            emit(&format!(
                "{}\n",
                serde_json::json!({ "count": ids.len(), "ids": ids })
            ))?;
        } else {
            let mut out = String::with_capacity(ids.len() * 8);
            for id in ids {
                out += &id.to_string();
                out.push('\n');
            }
            emit(&out)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn compact(a: DirArgs) -> Result<ExitCode, Failure> {
    if !a.dir.join(xtree::engine::superblock::FILE).is_file() {
        return Err(Failure(format!(
            "{} is not a data directory (no superblock)",
            a.dir.display()
        )));
    }
    let opts = xtree::RuntimeOptions {
        background_checkpoints: false,
        compact_dead_ratio: None,
        ..xtree::RuntimeOptions::default()
    };
    let rt = Runtime::open(&a.dir, opts)?;
    let c = rt.compact()?;
    rt.close()?;
    let out = if a.json {
        serde_json::json!({
            "bytes_before": c.bytes_before,
            "bytes_after": c.bytes_after,
            "live_bytes": c.live_bytes,
            "pages_moved": c.pages_moved,
            "held_pages_moved": c.held_pages_moved,
            "nanos": c.nanos,
        })
        .to_string()
    } else {
        format!(
            "segment files {} -> {} bytes ({} live); {} pages moved in {:.1} ms",
            c.bytes_before,
            c.bytes_after,
            c.live_bytes,
            c.pages_moved + c.held_pages_moved,
            c.nanos as f64 / 1e6
        )
    };
    emit(&format!("{out}\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn inspect(cmd: &str, a: DirArgs) -> Result<ExitCode, Failure> {
    let report = xtree::tools::fsck(&a.dir)?;
    let bytes: u64 = report.files.iter().map(|(_, b)| b).sum();
    let out = match (cmd, a.json) {
        ("stats", false) => {
            let mut s = format!("epoch {}\nbytes on disk {bytes}\n", report.epoch);
            for f in &report.fields {
                s += &format!("field {}: {} records\n", f.name, f.records);
            }
            s
        }
        ("stats", true) => {
            let fields: Vec<_> = report
                .fields
                .iter()
                .map(|f| serde_json::json!({"name": f.name, "records": f.records}))
                .collect();
            serde_json::json!({"epoch": report.epoch, "bytes": bytes, "fields": fields}).to_string()
        }
        (_, true) => serde_json::to_string_pretty(&report)?,
        (_, false) => report.to_text(),
    };
    emit(&format!("{out}\n"))?;
    if cmd == "fsck" && !report.problems.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
