//! The `xtree` operator tool on real directories: fsck passes on a sound directory and exits 1
//! on a damaged one; dump and stats describe it, as text and JSON; a directory a writer holds
//! is refused; load → query → fsck → query on the cities file answers as brute force; bad CSV
//! rows are reported with their line numbers; `compact` shrinks a churned directory, which
//! then passes fsck with the same answers; every command has `--help`.

mod common;

use std::process::Command;

use xtree::{IndexOptions, Runtime, RuntimeOptions};

fn xtree(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtree"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn fsck_dump_stats_on_sound_and_damaged_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    {
        let rt = Runtime::open(dir.path(), RuntimeOptions::default()).unwrap();
        let f = rt
            .field(
                "geo",
                IndexOptions::new(2, 32, vec!["lon".into(), "lat".into()]),
            )
            .unwrap();
        for i in 0..2000u64 {
            f.insert_point(i, &[(i % 360) as f64 - 180.0, (i % 170) as f64 - 85.0])
                .unwrap();
        }
        rt.commit().unwrap();
        rt.checkpoint().unwrap();
        f.insert_point(5000, &[1.0, 2.0]).unwrap();
        rt.commit().unwrap();
        // While a writer holds the directory, the tools refuse it.
        let (code, text) = xtree(&["fsck", path]);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("locked"), "{text}");
        rt.close().unwrap();
    }
    let (code, text) = xtree(&["fsck", path]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("field geo: 2-D precision 32") && text.contains("2001 records"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("OK"), "{text}");
    let (code, text) = xtree(&["stats", path, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["fields"][0]["records"], 2001);
    let (code, text) = xtree(&["dump", path, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert!(v["manifest"]["checkpoint"]["file"]
        .as_str()
        .unwrap()
        .starts_with("ckpt-"));

    let (_, text) = xtree(&["fsck", path]);
    assert!(text.contains("segment files"), "{text}");
    assert_eq!(v["segments"]["pages"], v["segments"]["used_slots"]);
    assert!(v["segments"]["pages"].as_u64().unwrap() > 10, "{v}");

    // Damage every page slot of the 4 KiB segment file: open still succeeds (pages verify
    // themselves on first use) but fsck reads every page, reports it and exits 1.
    let seg = dir.path().join("seg-12.xsd");
    let good = std::fs::read(&seg).unwrap();
    let mut bytes = good.clone();
    for slot in bytes.chunks_mut(4096) {
        slot[100] ^= 0x08;
    }
    std::fs::write(&seg, bytes).unwrap();
    let (code, text) = xtree(&["fsck", path]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("PROBLEM") && text.contains("checksum mismatch"),
        "{text}"
    );
    std::fs::write(&seg, good).unwrap();
    assert_eq!(xtree(&["fsck", path]).0, 0);

    // Damage the checkpoint: fsck reports it and exits 1.
    let ckpt = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "xtc"))
        .unwrap();
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&ckpt, bytes).unwrap();
    let (code, text) = xtree(&["fsck", path]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("PROBLEM") && text.contains("checksum"),
        "{text}"
    );
    assert_eq!(xtree(&["nonsense"]).0, 2);
}

/// Brute-force window over the cities (`[lon, lat]`, row id = row number).
fn cities_in(cities: &[[f64; 2]], min: [f64; 2], max: [f64; 2]) -> Vec<u64> {
    (0..cities.len() as u64)
        .filter(|&i| {
            let p = cities[i as usize];
            min[0] <= p[0] && p[0] <= max[0] && min[1] <= p[1] && p[1] <= max[1]
        })
        .collect()
}

fn lines_as_ids(text: &str) -> Vec<u64> {
    text.lines().map(|l| l.parse().unwrap()).collect()
}

#[test]
fn load_query_fsck_query_on_the_cities() {
    let cities = common::load_cities().expect("cities file");
    let csv = common::cities_paths()
        .into_iter()
        .find(|p| p.exists())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("cities");
    let d = d.to_str().unwrap();
    let (code, text) = xtree(&[
        "load",
        d,
        "--csv",
        csv.to_str().unwrap(),
        "--columns",
        "lon,lat",
        "--field",
        "geo",
        "--json",
    ]);
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["loaded"], cities.len() as u64, "{v}");
    assert_eq!(v["rejected"], 0, "{v}");
    assert!(v["bytes_on_disk"].as_u64().unwrap() > 1 << 20, "{v}");

    let paris = ([2.2, 48.8], [2.5, 48.95]);
    let europe = ([-10.0, 35.0], [30.0, 60.0]);
    let check = |when: &str| {
        for (min, max) in [paris, europe] {
            let want = cities_in(&cities, min, max);
            let args: Vec<String> = [min[0], min[1], max[0], max[1]]
                .iter()
                .map(|x| x.to_string())
                .collect();
            let mut a = vec!["query", d, "--box"];
            a.extend(args.iter().map(|s| s.as_str()));
            let (code, text) = xtree(&a);
            assert_eq!(code, 0, "{when}: {text}");
            assert_eq!(lines_as_ids(&text), want, "{when}: box {min:?} {max:?}");
            a.push("--count");
            let (_, text) = xtree(&a);
            assert_eq!(text.trim(), want.len().to_string(), "{when}");
        }
        // The 5 nearest to Paris, as brute force ranks them (distance, then row id).
        let p = [2.35, 48.86];
        let mut all: Vec<(f64, u64)> = cities
            .iter()
            .enumerate()
            .map(|(i, c)| ((c[0] - p[0]).powi(2) + (c[1] - p[1]).powi(2), i as u64))
            .collect();
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let (code, text) = xtree(&["query", d, "--knn", "2.35", "48.86", "-k", "5", "--json"]);
        assert_eq!(code, 0, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let got: Vec<u64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_u64().unwrap())
            .collect();
        let want: Vec<u64> = all[..5].iter().map(|&(_, i)| i).collect();
        assert_eq!(got, want, "{when}: kNN");
        // A point query finds the city at that exact position.
        let c = cities[1234];
        let (x, y) = (c[0].to_string(), c[1].to_string());
        let (_, text) = xtree(&["query", d, "--point", &x, &y]);
        assert!(lines_as_ids(&text).contains(&1234), "{when}: {text}");
    };
    check("after load");
    let (code, text) = xtree(&["fsck", d]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("field geo: 2-D precision 64"), "{text}");
    check("after fsck");

    // Wrong coordinate counts and unknown fields are usage errors (exit 2) with a message.
    let (code, text) = xtree(&["query", d, "--box", "1", "2", "3"]);
    assert_eq!(code, 2);
    assert!(text.contains("give 4 coordinates"), "{text}");
    let (code, text) = xtree(&["query", d, "--field", "nope", "--point", "1", "2"]);
    assert_eq!(code, 2);
    assert!(text.contains("no field"), "{text}");
    let (code, _) = xtree(&["query", d]);
    assert_eq!(code, 2, "a query needs a shape");

    // A reader that goes away (`xtree query ... | head -1`): the output ends quietly, exit 0.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtree"))
        .args(["query", d, "--box", "-180", "-90", "180", "90"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take()); // ~1 MB of ids remain: the next writes meet a closed pipe
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn load_reports_bad_rows_with_line_numbers_and_loads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("points.csv");
    std::fs::write(
        &csv,
        "id,x,y,name\r\n\
         10,1.5,2.5,a\r\n\
         11,abc,2.5,b\r\n\
         12,1.0,inf,c\r\n\
         -3,1.0,2.0,d\r\n\
         14,3.0\r\n\
         15,4.0,5.0,\"quoted, name\"\r\n\
         16,-1e30,1e-310,e\r\n\
         17,-1e300,1.0,f\r\n",
    )
    .unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let (code, text) = xtree(&[
        "load",
        d,
        "--csv",
        csv.to_str().unwrap(),
        "--columns",
        "x,y",
        "--id-column",
        "id",
        "--precision",
        "32",
        "--durability",
        "strict",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("loaded 3 of 8 rows"), "{text}");
    for (line, reason) in [
        (3, "x = \"abc\" is not a number"),
        (4, "y = inf is not finite"),
        (5, "id \"-3\" is not a u64"),
        (6, "no column 2 (y)"),
        (9, "x = -1e300 is outside the range of precision 32"),
    ] {
        assert!(
            text.contains(&format!("line {line}: {reason}")),
            "line {line}: {reason}\n{text}"
        );
    }
    let (code, text) = xtree(&["query", d, "--box", "-1e31", "-1", "10", "10"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(lines_as_ids(&text), [10, 15, 16]);
    // Loading again appends (same field, same shape); another precision is refused.
    let (code, text) = xtree(&[
        "load",
        d,
        "--csv",
        csv.to_str().unwrap(),
        "--columns",
        "x,y",
        "--precision",
        "64",
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("precision"), "{text}");
    // Columns missing from the header, and a missing file, are errors (exit 2).
    let (code, text) = xtree(&[
        "load",
        d,
        "--csv",
        csv.to_str().unwrap(),
        "--columns",
        "x,zz",
    ]);
    assert_eq!(code, 2);
    assert!(text.contains("\"zz\" is not in the header"), "{text}");
    let (code, _) = xtree(&["load", d, "--csv", "/nonexistent.csv", "--columns", "x,y"]);
    assert_eq!(code, 2);
}

#[test]
fn every_command_has_help() {
    for cmd in ["load", "query", "fsck", "dump", "stats", "compact"] {
        let (code, text) = xtree(&[cmd, "--help"]);
        assert_eq!(code, 0, "{cmd}: {text}");
        assert!(text.contains("Usage: xtree"), "{cmd}: {text}");
    }
    let (code, text) = xtree(&["--help"]);
    assert_eq!(code, 0);
    assert!(text.contains("Exit codes"), "{text}");
    assert_eq!(xtree(&["load"]).0, 2);
}

#[test]
fn compact_shrinks_a_churned_directory_which_then_passes_fsck() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let mut live = Vec::new();
    {
        let opts = RuntimeOptions {
            compact_dead_ratio: None,
            ..RuntimeOptions::default()
        };
        let rt = Runtime::open(dir.path(), opts).unwrap();
        let mut o = IndexOptions::new(2, 64, vec!["x".into(), "y".into()]);
        o.node_size = 512;
        let f = rt.field("geo", o).unwrap();
        let p = |i: u64| [(i % 1000) as f64, (i / 1000) as f64];
        for i in 0..20_000u64 {
            f.insert_point(i, &p(i)).unwrap();
        }
        rt.commit().unwrap();
        rt.checkpoint().unwrap();
        for i in 0..20_000u64 {
            if i % 10 < 8 {
                assert!(f.delete(i, &p(i), &p(i)).unwrap());
            } else {
                live.push(i);
            }
        }
        rt.commit().unwrap();
        // A writer holds the directory: compact is refused.
        let (code, text) = xtree(&["compact", path]);
        assert_eq!(code, 2, "{text}");
        assert!(text.contains("locked"), "{text}");
        rt.close().unwrap();
    }
    let (code, text) = xtree(&["compact", path, "--json"]);
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let (before, after) = (
        v["bytes_before"].as_u64().unwrap(),
        v["bytes_after"].as_u64().unwrap(),
    );
    assert!(after * 2 < before, "{text}");
    assert_eq!(after, v["live_bytes"].as_u64().unwrap(), "{text}");
    let (code, text) = xtree(&["fsck", path]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = xtree(&["query", path, "--box", "-1", "-1", "1e9", "1e9"]);
    assert_eq!(code, 0, "{text}");
    let mut got = lines_as_ids(&text);
    got.sort_unstable();
    assert_eq!(got, live);
    // Nothing left to move: the text form says so.
    let (code, text) = xtree(&["compact", path]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("{after} -> {after} bytes")),
        "{text}"
    );
    assert!(text.contains("0 pages moved"), "{text}");
    let missing = dir.path().join("nope");
    let (code, text) = xtree(&["compact", missing.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(!missing.exists(), "compact must not create a directory");
}
