//! In-memory ↔ durable (issue 10; seeds 000 "In-Memory to Durable Conversion" and 004 mode 2).
//!
//! - [`Index::save_to`] persists an in-memory index into a new data directory as its field
//!   [`DEFAULT_FIELD`], which then opens as a durable index with the same answers. Its pages
//!   are written unchanged (the in-memory and durable stores share one page format and one
//!   NodeID space, DESIGN.md §4) by the engine's normal checkpoint path: a runtime over the new
//!   directory adopts a copy of the tree as a field, commits its creation and checkpoints, so
//!   the result is an ordinary committed directory (superblock → manifest → checkpoint →
//!   segment files, an empty log), with nothing to replay at open.
//! - Crash safety: everything is written into a temporary sibling of the target (same file system),
//!   named `.<target name>.xtree-save-<pid>-<nanos>-<n>` (the name cut to 160 bytes), and made
//!   durable (the engine syncs every file it writes and the directory); only then is the sibling
//!   renamed to the target and the parent directory synced. A crash before the rename leaves no
//!   directory at the target name (at most the temporary sibling, which a failed save removes and
//!   which may be deleted whenever no save runs); after it, the target is complete.
//! - [`Field::to_index`] and [`Index::load_from`] go the other way: a new in-memory index
//!   holding a copy of every page of a durable field's committed state (each page read once,
//!   checked by its CRC on the way), independent of the runtime and its files afterwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::backend::{io_error, Backend, StdBackend};
use super::field::Field;
use super::runtime::{Durability, Runtime, RuntimeOptions};
use crate::error::{Error, Result};
use crate::index::{Index, IndexOptions, IndexSnapshot};
use crate::store::memory::LoadedPage;

/// Name of the field that [`Index::save_to`] writes and that the single-index durable
/// constructors (Java `new IndexDetails(..., DURABLE, dir)`, `IndexDetails.openReadOnly`) use.
pub const DEFAULT_FIELD: &str = "default";

/// A new in-memory index with `options` holding a copy of every page of `snap` (same NodeIDs,
/// same words).
///
/// # Errors
/// `Corruption` or `Io` when a page cannot be read (a durable page is read and verified here).
fn copy_of(snap: &IndexSnapshot, options: IndexOptions) -> Result<Index> {
    let mut pages = Vec::new();
    snap.walk(
        |_| false,
        |id, words, _level| {
            pages.push((id, LoadedPage::Owned(words.to_vec())));
            Ok(())
        },
    )?;
    Index::from_pages(options, pages, snap.root(), snap.len())
}

/// Why `target` cannot receive a saved index: it exists and is not an empty directory.
fn check_new_target(target: &Path) -> Result<()> {
    let shown = target.display().to_string();
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("stat", &shown, e)),
        Ok(m) if m.is_dir() => {
            let mut entries = std::fs::read_dir(target).map_err(|e| io_error("list", &shown, e))?;
            if entries.next().is_some() {
                Err(Error::invalid(format!(
                    "{shown} exists and is not empty: an index is saved into a new directory"
                )))
            } else {
                Ok(())
            }
        }
        Ok(_) => Err(Error::invalid(format!(
            "{shown} exists and is not a directory: an index is saved into a new directory"
        ))),
    }
}

/// Bytes of the target's name that the temporary sibling's name repeats: the rest of it
/// (`.` + `.xtree-save-<pid>-<nanos>-<n>`, at most 54 bytes) must fit with them in the 255
/// bytes a file name may have, whatever the target's own length.
const TEMPORARY_NAME_BYTES: usize = 160;

/// The temporary sibling of `target` that a save writes into:
/// `.<target name>.xtree-save-<pid>-<nanos>-<n>` next to it, the name cut to its first
/// [`TEMPORARY_NAME_BYTES`] bytes. Any name the file system accepts (long, not UTF-8) works.
fn temporary_sibling(target: &Path) -> Result<PathBuf> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::sync::atomic::{AtomicU64, Ordering};
    /// Tells apart the temporaries of saves that read the same clock in this process.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().ok_or_else(|| {
        Error::invalid(format!(
            "{} does not end in a directory name",
            target.display()
        ))
    })?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    let bytes = name.as_bytes();
    let mut tmp = Vec::with_capacity(TEMPORARY_NAME_BYTES + 64);
    tmp.push(b'.');
    tmp.extend_from_slice(&bytes[..bytes.len().min(TEMPORARY_NAME_BYTES)]);
    tmp.extend_from_slice(
        format!(
            ".xtree-save-{}-{nanos}-{}",
            std::process::id(),
            SAVES.fetch_add(1, Ordering::Relaxed)
        )
        .as_bytes(),
    );
    let tmp = std::ffi::OsString::from_vec(tmp);
    Ok(match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(tmp),
        _ => PathBuf::from(tmp),
    })
}

/// fsync of the directory `dir` (its entries: creations, renames).
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("fsync directory", &dir.display().to_string(), e))
}

/// Saves `index` (moved in) as field [`DEFAULT_FIELD`] of the new directory `target`; see the
/// module documentation. `wrap` builds the backend of the temporary directory.
fn save_index(
    index: Index,
    target: &Path,
    wrap: impl FnOnce(StdBackend) -> Arc<dyn Backend>,
) -> Result<()> {
    check_new_target(target)?;
    let tmp = temporary_sibling(target)?;
    let shown = tmp.display().to_string();
    // create_dir, not create_dir_all: a leftover of the same name is never reused. The parent
    // must exist, as for any new file.
    std::fs::create_dir(&tmp).map_err(|e| io_error("create directory", &shown, e))?;
    let written = (|| {
        let opts = RuntimeOptions {
            durability: Durability::Strict,
            background_checkpoints: false,
            checkpoint_on_close: false,
            checkpoint_interval: None,
            ..RuntimeOptions::default()
        };
        let rt = Runtime::open_dir_with(&tmp, opts, wrap)?;
        let adopted = rt.adopt_field(DEFAULT_FIELD, index);
        let closed = rt.close();
        adopted?;
        closed?;
        sync_dir(&tmp)
    })();
    let renamed = written.and_then(|()| {
        // A target created meanwhile as a non-empty directory makes the rename fail: it is
        // never replaced.
        std::fs::rename(&tmp, target)
            .map_err(|e| io_error("rename", &format!("{shown} to {}", target.display()), e))
    });
    if let Err(e) = renamed {
        if let Err(clean) = std::fs::remove_dir_all(&tmp) {
            log::warn!("xtree save_to: could not remove {shown}: {clean}");
        }
        return Err(e);
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    sync_dir(&parent)
}

impl Index {
    /// Persists this index into the new data directory `dir`, as its field [`DEFAULT_FIELD`]:
    /// opening `dir` afterwards ([`Runtime::open`], Java `new IndexDetails(..., DURABLE, dir)`)
    /// gives a durable index with the same records, pages and answers. The index itself is
    /// not changed and stays usable (its pages are copied; writes made while the save runs
    /// may or may not be included). `dir` must not exist or be an empty directory; its parent
    /// must exist. Crash-safe: a crash or failure during the save leaves no data directory at
    /// `dir` (see the module documentation). Time and bytes are those of a checkpoint of the
    /// whole tree.
    ///
    /// # Errors
    /// `InvalidArgument` when `dir` exists and is not an empty directory or has no final name;
    /// `Io` when a file cannot be written or synced, or the parent is missing; `Corruption` if
    /// a page of this index cannot be read.
    pub fn save_to(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.save_to_with(dir, |b| Arc::new(b))
    }

    /// [`Index::save_to`] doing every file operation inside the temporary directory through the
    /// backend `wrap` builds around its [`StdBackend`]: tests wrap it to inject failures. The
    /// final rename and the sync of the parent directory go to the file system directly.
    ///
    /// # Errors
    /// As [`Index::save_to`], and whatever the wrapped backend fails.
    pub fn save_to_with(
        &self,
        dir: impl AsRef<Path>,
        wrap: impl FnOnce(StdBackend) -> Arc<dyn Backend>,
    ) -> Result<()> {
        let copy = copy_of(&self.snapshot(), self.options())?;
        save_index(copy, dir.as_ref(), wrap)
    }

    /// A new in-memory index holding a copy of this one's current state: same options, records
    /// and pages. The two are independent afterwards.
    ///
    /// # Errors
    /// `Corruption` if a page cannot be read (never for an index built by this library).
    pub fn copy(&self) -> Result<Index> {
        copy_of(&self.snapshot(), self.options())
    }

    /// A new in-memory index holding a copy of field `field` of the data directory `dir` at
    /// its last commit: the directory is opened read-only ([`Runtime::open_read_only`]: other
    /// readers may hold it, a writer may not), every page of the field read into memory, and
    /// the directory closed again. Writes to the result never reach the directory.
    ///
    /// # Errors
    /// `InvalidArgument` when the directory has no field `field`; as
    /// [`Runtime::open_read_only`] and [`Field::to_index`] otherwise.
    pub fn load_from(dir: impl AsRef<Path>, field: &str) -> Result<Index> {
        let rt = Runtime::open_read_only(dir.as_ref())?;
        let f = rt.get(field)?.ok_or_else(|| {
            Error::invalid(format!(
                "data directory {} has no field {field:?} (its fields: {:?})",
                dir.as_ref().display(),
                rt.field_names()
            ))
        })?;
        let index = f.to_index();
        rt.close()?;
        index
    }
}

impl Field {
    /// A new in-memory index holding a copy of this field's committed state (what
    /// [`Field::snapshot`] shows): same options, records and pages (same NodeIDs), each page
    /// read once from the segment files (and verified) or copied from the heap. Independent of
    /// the runtime afterwards: its writes are visible at once and never reach the directory,
    /// and it outlives the runtime's close.
    ///
    /// # Errors
    /// `Closed` after close; `Corruption` or `Io` when a page cannot be read.
    pub fn to_index(&self) -> Result<Index> {
        copy_of(&self.snapshot()?, self.options())
    }

    /// Persists this field's committed state into the new data directory `dir` as its field
    /// [`DEFAULT_FIELD`]; see [`Index::save_to`] (same contract and errors, plus `Closed`).
    pub fn save_to(&self, dir: impl AsRef<Path>) -> Result<()> {
        save_index(self.to_index()?, dir.as_ref(), |b| Arc::new(b))
    }
}
