//! The directory lock: one writer per data directory, or any number of read-only tools.
//!
//! The lock is an advisory `flock` on the data directory itself, which nothing can unlink from
//! under its holder (a lock on a file inside the directory is lost when a clean-up script
//! deletes the file: the next opener creates a new file, locks it, and two writers then share
//! the directory). The file [`LOCK_FILE`] is locked too, the same way, so that builds that lock
//! only that file still see a holder; the directory's lock is the one that decides.
//!
//! A [`DirLock`] is shared (`Arc`) by the runtime and by every page of the durable store that
//! may still read a segment file: a snapshot or cursor that outlives its runtime keeps the
//! directory locked until it is dropped, so that no later opener reuses the slots it reads.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// File name of the lock file inside a data directory.
pub const LOCK_FILE: &str = "LOCK";

/// A held lock on a data directory: exclusive (a writer) or shared (read-only openers). The
/// lock is released when the value is dropped.
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    shared: bool,
    _dir_file: File,
    _lock_file: Option<File>,
}

impl DirLock {
    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is a shared (read-only) lock.
    pub fn is_shared(&self) -> bool {
        self.shared
    }
}

/// The error of a lock that another opener holds. `shared` is what this opener asked for;
/// `readers` whether the holders are readers only (found by a probe, so only a hint for the
/// message: they may have gone or changed since).
fn locked_error(dir: &Path, shared: bool, readers: bool, e: impl std::fmt::Display) -> Error {
    let holder = if shared {
        "a writer (a runtime opened for writing, in this or another process, or a snapshot or \
         cursor of a closed one that still reads its files); a read-only open must wait until \
         it is closed"
    } else if readers {
        "read-only openers (runtimes or tools opened read-only, in this or other processes, or \
         a snapshot or cursor of a closed one); a writer must wait until every one of them is \
         closed"
    } else {
        "another opener (a runtime in this or another process, or a snapshot or cursor of a \
         closed runtime that still reads its files)"
    };
    Error::new(
        ErrorKind::Io,
        format!(
            "data directory {} is locked by {holder}: {e}",
            dir.display()
        ),
    )
}

/// Whether the holders of the lock of `f`, which an exclusive attempt just found held, are
/// readers only: a shared lock can then be taken (and is released again at once).
fn held_by_readers(f: &File) -> bool {
    if f.try_lock_shared().is_ok() {
        let _ = f.unlock();
        true
    } else {
        false
    }
}

fn try_lock(f: &File, shared: bool) -> std::result::Result<(), std::fs::TryLockError> {
    if shared {
        f.try_lock_shared()
    } else {
        f.try_lock()
    }
}

/// Takes the lock of data directory `dir`: exclusive for a writer, shared for read-only tools.
///
/// # Errors
/// `Io` naming the directory when another opener holds a conflicting lock, or when the
/// directory cannot be opened.
pub fn lock_dir(dir: &Path, shared: bool) -> Result<DirLock> {
    let shown = dir.display().to_string();
    let dir_file = File::open(dir).map_err(|e| super::backend::io_error("open", &shown, e))?;
    try_lock(&dir_file, shared)
        .map_err(|e| locked_error(dir, shared, !shared && held_by_readers(&dir_file), e))?;
    // The directory is ours now; the lock file is for builds that look only at it. A read-only
    // opener may lack the right to create it: then it goes without.
    let lock_path = dir.join(LOCK_FILE);
    let lock_file = std::fs::OpenOptions::new()
        .create(!shared)
        .truncate(false)
        .write(true)
        .open(&lock_path);
    let lock_file = match lock_file {
        Ok(f) => {
            try_lock(&f, shared)
                .map_err(|e| locked_error(dir, shared, !shared && held_by_readers(&f), e))?;
            Some(f)
        }
        Err(_) if shared => None,
        Err(e) => {
            return Err(super::backend::io_error(
                "open",
                &lock_path.display().to_string(),
                e,
            ))
        }
    };
    Ok(DirLock {
        dir: dir.to_path_buf(),
        shared,
        _dir_file: dir_file,
        _lock_file: lock_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins issue 7, defect 6: the lock lived in the file `LOCK` only, so deleting that file
    /// while a runtime held it let a second writer in.
    #[test]
    fn deleting_the_lock_file_does_not_let_a_second_writer_in() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_dir(dir.path(), false).unwrap();
        std::fs::remove_file(dir.path().join(LOCK_FILE)).unwrap();
        let e = lock_dir(dir.path(), false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("is locked"), "{e}");
        let e = lock_dir(dir.path(), true).unwrap_err();
        assert!(e.message().contains("is locked by a writer"), "{e}");
        drop(first);
        let again = lock_dir(dir.path(), false).unwrap();
        drop(again);
        let r1 = lock_dir(dir.path(), true).unwrap();
        let r2 = lock_dir(dir.path(), true).unwrap();
        let e = lock_dir(dir.path(), false).unwrap_err();
        assert!(e.message().contains("read-only openers"), "{e}");
        drop((r1, r2));
    }
}
