//! The `xtree` operator tool on real directories: fsck passes on a sound directory and exits 1
//! on a damaged one; dump and stats describe it, as text and JSON; a directory a writer holds
//! is refused.

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
