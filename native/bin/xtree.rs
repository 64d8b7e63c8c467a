//! `xtree`: operator tool for a data directory.
//!
//! ```text
//! xtree fsck DIR [--json]    verify everything; exit 1 on damage, 2 when DIR cannot be read
//! xtree dump DIR [--json]    superblock, manifest, checkpoint, logs, fields and files
//! xtree stats DIR [--json]   epoch, records per field, bytes on disk
//! ```
//!
//! None of them changes the directory; they take a shared lock, so they refuse a directory a
//! writer has open.

use std::path::Path;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: xtree (fsck|dump|stats) DIR [--json]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "--json").collect();
    let (cmd, dir) = match rest.as_slice() {
        [cmd, dir] => (cmd.as_str(), Path::new(dir.as_str())),
        _ => return usage(),
    };
    if !matches!(cmd, "fsck" | "dump" | "stats") {
        return usage();
    }
    let report = match xtree::tools::fsck(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xtree {cmd}: {e}");
            return ExitCode::from(2);
        }
    };
    let out = match (cmd, json) {
        ("stats", false) => {
            let bytes: u64 = report.files.iter().map(|(_, b)| b).sum();
            let mut s = format!("epoch {}\nbytes on disk {bytes}\n", report.epoch);
            for f in &report.fields {
                s += &format!("field {}: {} records\n", f.name, f.records);
            }
            s
        }
        ("stats", true) => {
            let bytes: u64 = report.files.iter().map(|(_, b)| b).sum();
            let fields: Vec<_> = report
                .fields
                .iter()
                .map(|f| serde_json::json!({"name": f.name, "records": f.records}))
                .collect();
            serde_json::json!({"epoch": report.epoch, "bytes": bytes, "fields": fields}).to_string()
        }
        (_, true) => serde_json::to_string_pretty(&report).expect("report serialises"),
        (_, false) => report.to_text(),
    };
    println!("{out}");
    if cmd == "fsck" && !report.problems.is_empty() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
