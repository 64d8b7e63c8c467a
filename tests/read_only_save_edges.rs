//! Edge cases of read-only opens and in-memory ↔ durable conversion (issue 10), from a hostile
//! review: damaged files and crash images opened read-only (never a panic, never a changed
//! file, the same answer as a writer's open), save_to targets that are symlinks, relative,
//! long or non-UTF-8 names, or appear while the save runs, concurrent saves, extreme shapes
//! and coordinates, and copies that stay independent.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use common::{assert_unchanged, files, labels, SplitMix64};
use xtree::engine::DEFAULT_FIELD;
use xtree::{Durability, ErrorKind, Index, IndexOptions, Runtime, RuntimeOptions, SearchType};

fn opts(dim: usize, precision: u32) -> IndexOptions {
    let mut o = IndexOptions::new(dim, precision, labels(dim));
    o.node_size = 512;
    o
}

fn writer_opts() -> RuntimeOptions {
    RuntimeOptions {
        durability: Durability::Strict,
        background_checkpoints: false,
        checkpoint_on_close: false,
        ..RuntimeOptions::default()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Two fields, a checkpoint plus a log tail.
fn build(dir: &Path) {
    let rt = Runtime::open(dir, writer_opts()).unwrap();
    let geo = rt.field("geo", opts(2, 64)).unwrap();
    let vec = rt.field("vec", opts(3, 32)).unwrap();
    let mut rng = SplitMix64::new(3);
    let mut row = 0;
    for round in 0..3 {
        for _ in 0..400 {
            let a = [rng.next_f64() * 100.0, rng.next_f64() * 100.0];
            geo.insert(row, &a, &[a[0] + 1.0, a[1] + 1.0]).unwrap();
            vec.insert_point(row, &[rng.next_f64(), rng.next_f64(), rng.next_f64()])
                .unwrap();
            row += 1;
        }
        rt.commit().unwrap();
        if round == 1 {
            rt.checkpoint().unwrap();
        }
    }
    rt.close().unwrap();
}

/// What a runtime answers: per field, every row id; or the error kind of the first failure.
fn answers(rt: &Runtime) -> Result<Vec<(String, Vec<u64>)>, ErrorKind> {
    let mut out = Vec::new();
    for name in rt.field_names() {
        let f = rt.get(&name).map_err(|e| e.kind())?.unwrap();
        let d = f.dimension();
        let mut ids = f
            .search(
                SearchType::Intersects,
                &vec![f64::MIN; d],
                &vec![f64::MAX; d],
            )
            .map_err(|e| e.kind())?;
        ids.sort_unstable();
        f.nearest(&vec![0.5; d], 10).map_err(|e| e.kind())?;
        out.push((name, ids));
    }
    Ok(out)
}

type Outcome = Result<Vec<(String, Vec<u64>)>, ErrorKind>;

fn open_and_answer(dir: &Path, read_only: bool) -> Outcome {
    let r = std::panic::catch_unwind(|| {
        let rt = if read_only {
            Runtime::open_read_only(dir)
        } else {
            Runtime::open(dir, writer_opts())
        }
        .map_err(|e| e.kind())?;
        let a = answers(&rt);
        let _ = rt.close();
        a
    });
    match r {
        Ok(o) => o,
        Err(_) => panic!("open of {} panicked (read_only {read_only})", dir.display()),
    }
}

/// Every file of a data directory deleted, emptied, cut in half and with a flipped byte: a
/// read-only open never panics, never changes a file, and answers exactly what a writer's open
/// of the same bytes answers (both fail, or both give the same state; only damage to the log's
/// last transaction, indistinguishable from a torn tail, gives the previous commit).
#[test]
fn damaged_files_read_only_never_panic_never_write_and_agree_with_a_writer() {
    let scratch = tempfile::tempdir().unwrap();
    let pristine = scratch.path().join("pristine");
    build(&pristine);
    let good = open_and_answer(&pristine, true).expect("pristine opens");
    let names: Vec<String> = std::fs::read_dir(&pristine)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "LOCK")
        .collect();
    eprintln!("files: {names:?}");
    let mut n = 0;
    let mut problems = Vec::new();
    for name in &names {
        let len = std::fs::metadata(pristine.join(name)).unwrap().len();
        type Damage = Box<dyn Fn(&Path)>;
        let damages: Vec<(&str, Damage)> = vec![
            (
                "delete",
                Box::new(|p: &Path| std::fs::remove_file(p).unwrap()),
            ),
            (
                "empty",
                Box::new(|p: &Path| std::fs::write(p, b"").unwrap()),
            ),
            (
                "half",
                Box::new(move |p: &Path| {
                    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                    f.set_len(len / 2).unwrap();
                }),
            ),
            (
                "flip",
                Box::new(move |p: &Path| {
                    let mut b = std::fs::read(p).unwrap();
                    if !b.is_empty() {
                        let i = b.len() / 3;
                        b[i] ^= 0x5a;
                    }
                    std::fs::write(p, b).unwrap();
                }),
            ),
        ];
        for (what, damage) in &damages {
            n += 1;
            let ro = scratch.path().join(format!("ro{n}"));
            let rw = scratch.path().join(format!("rw{n}"));
            copy_dir(&pristine, &ro);
            copy_dir(&pristine, &rw);
            damage(&ro.join(name));
            damage(&rw.join(name));
            let before = files(&ro);
            let got_ro = open_and_answer(&ro, true);
            assert_unchanged(&before, &ro, &format!("{what} {name}"));
            let got_rw = open_and_answer(&rw, false);
            let ctx = format!("{what} {name}");
            match (&got_ro, &got_rw) {
                (Ok(a), Ok(b)) if a == b => {
                    // A damaged last log transaction reads as a torn tail (by design).
                    if *a != good && !name.ends_with(".log") {
                        problems.push(format!("{ctx}: both open with a different state"));
                    }
                }
                (Err(a), Err(b)) => {
                    eprintln!("{ctx}: ro {a:?}, rw {b:?}");
                }
                _ => problems.push(format!(
                    "{ctx}: read-only {:?} vs writer {:?}",
                    got_ro
                        .as_ref()
                        .map(|v| v.iter().map(|f| f.1.len()).collect::<Vec<_>>()),
                    got_rw
                        .as_ref()
                        .map(|v| v.iter().map(|f| f.1.len()).collect::<Vec<_>>())
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn small_index(dim: usize, precision: u32, n: u64) -> Index {
    let ix = Index::with_options(opts(dim, precision)).unwrap();
    let mut rng = SplitMix64::new(n + dim as u64);
    for row in 0..n {
        let p: Vec<f64> = (0..dim).map(|_| rng.next_f64() * 10.0).collect();
        ix.insert_point(row, &p).unwrap();
    }
    ix
}

fn all_ids(ix: &Index) -> Vec<u64> {
    let d = ix.dimension();
    let mut v = ix
        .search(
            SearchType::Intersects,
            &vec![f64::MIN; d],
            &vec![f64::MAX; d],
        )
        .unwrap();
    v.sort_unstable();
    v
}

fn leftovers(parent: &Path) -> Vec<String> {
    std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".xtree-save-"))
        .collect()
}

#[test]
fn save_to_symlink_targets() {
    let ix = small_index(2, 64, 50);
    let parent = tempfile::tempdir().unwrap();
    let real = parent.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let r = ix.save_to(&link);
    eprintln!("symlink to empty dir: {r:?}");
    let mut slash = link.clone().into_os_string();
    slash.push("/");
    let r2 = ix.save_to(PathBuf::from(&slash));
    eprintln!("symlink/ to empty dir: {r2:?}");
    eprintln!(
        "link is symlink: {}, real entries {:?}",
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        std::fs::read_dir(&real).unwrap().count()
    );
    let dangling = parent.path().join("dangling");
    std::os::unix::fs::symlink(parent.path().join("nowhere"), &dangling).unwrap();
    eprintln!("dangling: {:?}", ix.save_to(&dangling));
    assert!(
        leftovers(parent.path()).is_empty(),
        "{:?}",
        leftovers(parent.path())
    );
    // Whatever succeeded must be loadable through the name the caller gave.
    if r.is_ok() {
        assert_eq!(
            all_ids(&Index::load_from(&link, DEFAULT_FIELD).unwrap()),
            all_ids(&ix)
        );
    }
    if r2.is_ok() {
        assert_eq!(
            all_ids(&Index::load_from(PathBuf::from(&slash), DEFAULT_FIELD).unwrap()),
            all_ids(&ix)
        );
    }
}

#[test]
fn save_to_trailing_slash_dot_and_relative_paths() {
    let ix = small_index(2, 64, 30);
    let parent = tempfile::tempdir().unwrap();
    let mut slash = parent.path().join("new").into_os_string();
    slash.push("/");
    ix.save_to(PathBuf::from(&slash)).unwrap();
    assert_eq!(
        all_ids(&Index::load_from(parent.path().join("new"), DEFAULT_FIELD).unwrap()),
        all_ids(&ix)
    );
    let dot = parent.path().join("dotted").join(".");
    eprintln!("dot: {:?}", ix.save_to(&dot));
    let dotdot = parent.path().join("x").join("..");
    eprintln!("dotdot: {:?}", ix.save_to(&dotdot));
    assert!(
        leftovers(parent.path()).is_empty(),
        "{:?}",
        leftovers(parent.path())
    );

    // Relative: a directory under the current directory, named relatively.
    let here = tempfile::tempdir_in(".").unwrap();
    let rel = PathBuf::from(here.path().file_name().unwrap());
    ix.save_to(rel.join("sub")).unwrap();
    assert_eq!(
        all_ids(&Index::load_from(rel.join("sub"), DEFAULT_FIELD).unwrap()),
        all_ids(&ix)
    );
    // A bare relative name of an existing empty directory.
    let here2 = tempfile::tempdir_in(".").unwrap();
    let bare = PathBuf::from(here2.path().file_name().unwrap());
    ix.save_to(&bare).unwrap();
    assert_eq!(
        all_ids(&Index::load_from(&bare, DEFAULT_FIELD).unwrap()),
        all_ids(&ix)
    );
    assert!(leftovers(Path::new(".")).is_empty());
}

/// Something appears at the target between the check and the rename.
#[test]
fn save_to_a_target_that_appears_meanwhile() {
    let ix = small_index(2, 64, 30);
    let parent = tempfile::tempdir().unwrap();
    // A non-empty directory: never clobbered.
    let t = parent.path().join("busy");
    let tc = t.clone();
    let e = ix
        .save_to_with(&t, move |b| {
            std::fs::create_dir(&tc).unwrap();
            std::fs::write(tc.join("theirs"), b"keep").unwrap();
            Arc::new(b)
        })
        .unwrap_err();
    eprintln!("non-empty squatter: {e}");
    assert_eq!(std::fs::read(t.join("theirs")).unwrap(), b"keep");
    assert_eq!(std::fs::read_dir(&t).unwrap().count(), 1);
    // A regular file.
    let f = parent.path().join("file");
    let fc = f.clone();
    let e = ix
        .save_to_with(&f, move |b| {
            std::fs::write(&fc, b"mine").unwrap();
            Arc::new(b)
        })
        .unwrap_err();
    eprintln!("file squatter: {e}");
    assert_eq!(std::fs::read(&f).unwrap(), b"mine");
    // A symlink to a directory of someone else's.
    let other = parent.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let l = parent.path().join("l");
    let (lc, oc) = (l.clone(), other.clone());
    let r = ix.save_to_with(&l, move |b| {
        std::os::unix::fs::symlink(&oc, &lc).unwrap();
        Arc::new(b)
    });
    eprintln!("symlink squatter: {r:?}");
    assert!(
        std::fs::symlink_metadata(&l)
            .unwrap()
            .file_type()
            .is_symlink()
            || r.is_ok()
    );
    assert!(
        leftovers(parent.path()).is_empty(),
        "{:?}",
        leftovers(parent.path())
    );
}

#[test]
fn two_concurrent_saves_to_one_target_one_wins() {
    for round in 0..5 {
        let ix = Arc::new(small_index(2, 64, 200));
        let parent = tempfile::tempdir().unwrap();
        let target = parent.path().join("t");
        let barrier = Arc::new(Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (ix, target, barrier) = (ix.clone(), target.clone(), barrier.clone());
                std::thread::spawn(move || {
                    ix.save_to_with(&target, move |b| {
                        barrier.wait();
                        Arc::new(b)
                    })
                })
            })
            .collect();
        let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        let oks = rs.iter().filter(|r| r.is_ok()).count();
        eprintln!(
            "round {round}: {:?}",
            rs.iter()
                .map(|r| r.as_ref().map_err(|e| e.to_string()))
                .collect::<Vec<_>>()
        );
        assert_eq!(oks, 1, "{rs:?}");
        assert_eq!(
            all_ids(&Index::load_from(&target, DEFAULT_FIELD).unwrap()),
            all_ids(&ix)
        );
        assert!(
            leftovers(parent.path()).is_empty(),
            "{:?}",
            leftovers(parent.path())
        );
    }
}

#[test]
fn save_to_shapes_and_extremes() {
    let parent = tempfile::tempdir().unwrap();
    let mut k = 0;
    let mut check = |ix: &Index| {
        k += 1;
        let t = parent.path().join(format!("s{k}"));
        ix.save_to(&t).unwrap();
        let back = Index::load_from(&t, DEFAULT_FIELD).unwrap();
        assert_eq!(back.options().precision, ix.options().precision);
        assert_eq!(back.options().labels, ix.options().labels);
        assert_eq!(back.len(), ix.len());
        assert_eq!(all_ids(&back), all_ids(ix), "shape {k}");
        // And as a writable durable field.
        let rt = Runtime::open(&t, writer_opts()).unwrap();
        let f = rt.field(DEFAULT_FIELD, ix.options()).unwrap();
        assert_eq!(f.len().unwrap(), ix.len());
        rt.close().unwrap();
    };
    check(&small_index(2, 64, 0));
    check(&small_index(2, 64, 1));
    check(&small_index(1, 32, 500));
    check(&small_index(255, 64, 40));
    check(&small_index(255, 32, 40));
    for precision in [32, 64] {
        let ix = Index::with_options(opts(2, precision)).unwrap();
        let vals: Vec<f64> = if precision == 64 {
            vec![
                f64::MAX,
                -f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                -5e-324,
                -0.0,
                0.0,
                1e300,
                -1e-310,
            ]
        } else {
            let m = f32::MAX as f64;
            vec![
                m,
                -m,
                f32::MIN_POSITIVE as f64,
                1e-45,
                -1e-45,
                5e-324,
                -0.0,
                0.0,
                3e38,
                -1e-310,
            ]
        };
        let mut row = 0;
        for &a in &vals {
            for &b in &vals {
                ix.insert_point(row, &[a, b]).unwrap();
                row += 1;
                let (lo, hi) = (a.min(b), a.max(b));
                ix.insert(row, &[lo, lo], &[hi, hi]).unwrap();
                row += 1;
            }
        }
        check(&ix);
    }
}

#[test]
fn a_saved_directory_takes_writes_and_reopens() {
    let parent = tempfile::tempdir().unwrap();
    let ix = small_index(2, 64, 300);
    let t = parent.path().join("t");
    ix.save_to(&t).unwrap();
    let rt = Runtime::open(&t, writer_opts()).unwrap();
    let f = rt.field(DEFAULT_FIELD, ix.options()).unwrap();
    for row in 1000..1400 {
        f.insert_point(row, &[row as f64, 1.0]).unwrap();
    }
    assert!(f.delete(0, &[0.0; 2], &[0.0; 2]).is_ok());
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    for row in 2000..2100 {
        f.insert_point(row, &[row as f64, 2.0]).unwrap();
    }
    rt.commit().unwrap();
    let want = {
        let mut v = f
            .search(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
            .unwrap();
        v.sort_unstable();
        v
    };
    rt.close().unwrap();
    // Right after the writer's close: its lock is free (regression: a page reclamation
    // that the epoch collector ran on another test's thread dropped the store, and with it
    // the lock, a millisecond after close returned).
    let rt = Runtime::open_read_only(&t).unwrap();
    let f = rt.get(DEFAULT_FIELD).unwrap().unwrap();
    let mut got = f
        .search(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
        .unwrap();
    got.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(got.len(), 300 + 400 + 100);
    rt.close().unwrap();
    let rt = Runtime::open(&t, writer_opts()).unwrap();
    assert_eq!(rt.get(DEFAULT_FIELD).unwrap().unwrap().len().unwrap(), 800);
    rt.close().unwrap();
}

#[test]
fn load_from_errors() {
    let parent = tempfile::tempdir().unwrap();
    let t = parent.path().join("t");
    small_index(2, 64, 10).save_to(&t).unwrap();
    let before = files(&t);
    let e = Index::load_from(&t, "nope").err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = Index::load_from(parent.path().join("absent"), DEFAULT_FIELD)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    std::fs::write(parent.path().join("file"), b"x").unwrap();
    let e = Index::load_from(parent.path().join("file"), DEFAULT_FIELD)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    // A writer in this process holds it.
    let rt = Runtime::open(&t, writer_opts()).unwrap();
    let e = Index::load_from(&t, DEFAULT_FIELD).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    rt.close().unwrap();
    // A reader in this process holds it: fine.
    let before2 = files(&t);
    let rt = Runtime::open_read_only(&t).unwrap();
    assert_eq!(Index::load_from(&t, DEFAULT_FIELD).unwrap().len(), 10);
    let rt2 = Runtime::open_read_only(&t).unwrap();
    drop(rt);
    assert!(Runtime::open(&t, writer_opts()).is_err(), "rt2 still reads");
    drop(rt2);
    assert_unchanged(&before2, &t, "readers");
    let _ = before;
}

#[test]
fn field_save_to_saves_the_last_commit_and_works_read_only() {
    let parent = tempfile::tempdir().unwrap();
    let d = parent.path().join("d");
    let rt = Runtime::open(&d, writer_opts()).unwrap();
    let f = rt.field("geo", opts(2, 64)).unwrap();
    for row in 0..100 {
        f.insert_point(row, &[row as f64, 0.0]).unwrap();
    }
    rt.commit().unwrap();
    for row in 100..150 {
        f.insert_point(row, &[row as f64, 0.0]).unwrap();
    }
    f.save_to(parent.path().join("s1")).unwrap();
    assert_eq!(
        Index::load_from(parent.path().join("s1"), DEFAULT_FIELD)
            .unwrap()
            .len(),
        100
    );
    assert_eq!(f.to_index().unwrap().len(), 100);
    // Saving into a subdirectory of the live data directory.
    f.save_to(d.join("sub")).unwrap();
    rt.commit().unwrap();
    rt.checkpoint().unwrap();
    rt.close().unwrap();
    let rt = Runtime::open(&d, writer_opts()).unwrap();
    assert_eq!(rt.get("geo").unwrap().unwrap().len().unwrap(), 150);
    rt.checkpoint().unwrap();
    rt.close().unwrap();
    assert_eq!(
        Index::load_from(d.join("sub"), DEFAULT_FIELD)
            .unwrap()
            .len(),
        100
    );
    // From a read-only runtime.
    let before = files(&d);
    let ro = Runtime::open_read_only(&d).unwrap();
    let g = ro.get("geo").unwrap().unwrap();
    g.save_to(parent.path().join("s2")).unwrap();
    assert_eq!(g.to_index().unwrap().len(), 150);
    ro.close().unwrap();
    assert_unchanged(&before, &d, "save from read-only");
    assert_eq!(
        Index::load_from(parent.path().join("s2"), DEFAULT_FIELD)
            .unwrap()
            .len(),
        150
    );
}

#[test]
fn leftover_temporaries_do_not_confuse_a_save() {
    let parent = tempfile::tempdir().unwrap();
    let junk = parent.path().join(".t.xtree-save-1-2");
    std::fs::create_dir(&junk).unwrap();
    std::fs::write(junk.join("SUPERBLOCK"), b"junk").unwrap();
    let ix = small_index(2, 64, 20);
    ix.save_to(parent.path().join("t")).unwrap();
    assert_eq!(
        Index::load_from(parent.path().join("t"), DEFAULT_FIELD)
            .unwrap()
            .len(),
        20
    );
    assert!(junk.exists());
}

#[test]
fn read_only_edge_paths_and_empty_batches() {
    let parent = tempfile::tempdir().unwrap();
    let d = parent.path().join("d");
    build(&d);
    let before = files(&d);
    let ro = Runtime::open_read_only(&d).unwrap();
    let geo = ro.get("geo").unwrap().unwrap();
    let kinds = [
        geo.insert_points(&[], &[]).map_err(|e| e.kind()),
        geo.insert_boxes(&[], &[], &[]).map_err(|e| e.kind()),
        geo.update(1 << 50, &[0.0; 2], &[0.0; 2], &[0.0; 2], &[0.0; 2])
            .map(|_| ())
            .map_err(|e| e.kind()),
        ro.field("geo", opts(3, 64))
            .map(|_| ())
            .map_err(|e| e.kind()),
    ];
    eprintln!("{kinds:?}");
    let snap = ro.snapshot().unwrap();
    let cur = geo
        .cursor(SearchType::Intersects, &[f64::MIN; 2], &[f64::MAX; 2])
        .unwrap();
    ro.close().unwrap();
    ro.close().unwrap();
    assert_eq!(geo.len().unwrap_err().kind(), ErrorKind::Closed);
    assert!(!snap.field("geo").unwrap().is_empty());
    let mut cur = cur;
    let mut n = 0;
    loop {
        let page = cur.next_page(100).unwrap();
        if page.is_empty() {
            break;
        }
        n += page.len();
    }
    assert_eq!(n, 1200);
    drop(snap);
    // Trailing slash and "." forms of the path.
    let mut slash = d.clone().into_os_string();
    slash.push("/");
    Runtime::open_read_only(PathBuf::from(&slash))
        .unwrap()
        .close()
        .unwrap();
    Runtime::open_read_only(d.join("."))
        .unwrap()
        .close()
        .unwrap();
    assert_unchanged(&before, &d, "read-only edge paths");
}

/// Writes the files of `b` into the new directory `dir`.
fn dump(b: &xtree::engine::backend::FaultBackend, dir: &Path) {
    use xtree::engine::backend::Backend;
    std::fs::create_dir_all(dir).unwrap();
    for name in b.list().unwrap() {
        std::fs::write(dir.join(&name), b.contents(&name).unwrap()).unwrap();
    }
}

/// Crash images taken inside every sync of a workload with commits, log rotation and
/// checkpoints (torn and not): a read-only open of each agrees with a writer's open of the
/// same bytes and changes nothing.
#[test]
fn crash_images_read_only_agrees_with_a_writer() {
    use xtree::engine::backend::FaultBackend;
    for torn in [None, Some(11u64)] {
        let b = FaultBackend::new();
        b.record_crash_images(torn);
        let o = RuntimeOptions {
            checkpoint_log_bytes: 16 << 10,
            ..writer_opts()
        };
        let rt = Runtime::open_with(Arc::new(b.clone()), o).unwrap();
        let geo = rt.field("geo", opts(2, 64)).unwrap();
        let mut rng = SplitMix64::new(5);
        for round in 0..12u64 {
            for i in 0..60 {
                let a = [rng.next_f64() * 100.0, rng.next_f64() * 100.0];
                geo.insert(round * 100 + i, &a, &a).unwrap();
            }
            rt.commit().unwrap();
            if round % 4 == 3 {
                rt.checkpoint().unwrap();
            }
        }
        rt.close().unwrap();
        let images = b.take_images();
        eprintln!("torn {torn:?}: {} images", images.len());
        let scratch = tempfile::tempdir().unwrap();
        let mut mismatches = Vec::new();
        for (k, img) in images.iter().enumerate() {
            let ro = scratch.path().join(format!("ro{k}"));
            let rw = scratch.path().join(format!("rw{k}"));
            dump(img, &ro);
            dump(img, &rw);
            let before = files(&ro);
            let a = open_and_answer(&ro, true);
            assert_unchanged(&before, &ro, &format!("image {k}"));
            let w = open_and_answer(&rw, false);
            // Before the first superblock a writer initialises, a reader refuses.
            let uninitialised = !before.contains_key("SUPERBLOCK") && a == Err(ErrorKind::Io);
            if a != w && !uninitialised {
                mismatches.push(format!(
                    "image {k} ({:?}): ro {:?} rw {:?}",
                    before.keys().collect::<Vec<_>>(),
                    a.as_ref()
                        .map(|v| v.iter().map(|f| f.1.len()).collect::<Vec<_>>()),
                    w.as_ref()
                        .map(|v| v.iter().map(|f| f.1.len()).collect::<Vec<_>>())
                ));
            }
        }
        assert!(mismatches.is_empty(), "{mismatches:#?}");
    }
}

/// Copies (Index::copy, load_from, to_index) take heavy writes (splits, new NodeIDs) and stay
/// independent of their source; and they hold no lock on the directory they came from.
#[test]
fn copies_take_heavy_writes_independently_and_hold_no_lock() {
    let parent = tempfile::tempdir().unwrap();
    let src = small_index(2, 64, 500);
    let t = parent.path().join("t");
    src.save_to(&t).unwrap();
    let a = src.copy().unwrap();
    let b = Index::load_from(&t, DEFAULT_FIELD).unwrap();
    let rt = Runtime::open_read_only(&t).unwrap();
    let c = rt.get(DEFAULT_FIELD).unwrap().unwrap().to_index().unwrap();
    rt.close().unwrap();
    // No lock is held by the copies.
    let w = Runtime::open(&t, writer_opts()).unwrap();
    let wf = w.get(DEFAULT_FIELD).unwrap().unwrap();
    let before = all_ids(&src);
    let mut rng = SplitMix64::new(99);
    for (k, ix) in [&a, &b, &c].into_iter().enumerate() {
        for row in 0..3000u64 {
            let p = [rng.next_f64() * 10.0, rng.next_f64() * 10.0];
            ix.insert_point(10_000 * (k as u64 + 1) + row, &p).unwrap();
        }
        assert_eq!(ix.len(), 3500, "copy {k}");
        let ids = all_ids(ix);
        assert_eq!(ids.len(), 3500);
        assert!(before.iter().all(|id| ids.binary_search(id).is_ok()));
    }
    assert_eq!(all_ids(&src), before);
    wf.insert_point(77_777, &[1.0, 1.0]).unwrap();
    w.commit().unwrap();
    assert_eq!(wf.len().unwrap(), 501);
    w.close().unwrap();
    assert_eq!(b.len(), 3500);
}

/// A target whose name is legal but long (up to NAME_MAX, 255 bytes on Linux) saves: the
/// temporary sibling's name must fit too.
#[test]
fn save_to_a_target_with_a_long_name() {
    let parent = tempfile::tempdir().unwrap();
    let ix = small_index(2, 64, 20);
    for len in [200usize, 230, 255] {
        let t = parent.path().join("n".repeat(len));
        std::fs::create_dir(&t).unwrap(); // the name itself is legal
        std::fs::remove_dir(&t).unwrap();
        ix.save_to(&t)
            .unwrap_or_else(|e| panic!("name of {len} bytes: {e}"));
        assert_eq!(Index::load_from(&t, DEFAULT_FIELD).unwrap().len(), 20);
    }
    assert!(leftovers(parent.path()).is_empty());
}

/// A target whose name is not UTF-8 (legal on Linux) saves, and is not called "no directory
/// name".
#[test]
fn save_to_a_target_with_a_non_utf8_name() {
    use std::os::unix::ffi::OsStrExt;
    let parent = tempfile::tempdir().unwrap();
    let ix = small_index(2, 64, 20);
    let t = parent.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    ix.save_to(&t)
        .unwrap_or_else(|e| panic!("non-UTF-8 name: {e}"));
    assert_eq!(Index::load_from(&t, DEFAULT_FIELD).unwrap().len(), 20);
    assert!(leftovers(parent.path()).is_empty());
}
