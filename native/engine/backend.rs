//! The I/O backend: every byte the durable engine reads or writes goes through [`Backend`] and
//! [`BackendFile`], so tests can swap the operating system for [`FaultBackend`] (DESIGN.md §5).
//!
//! - [`StdBackend`]: `std::fs` with positional reads and writes, `sync_data` and directory fsync.
//! - [`FaultBackend`]: files held in memory as two images, *written* (what reads see) and
//!   *durable* (what survives a crash: the state at each file's last sync, plus directory
//!   entries at the last directory sync). It counts every call and can fail the N-th one
//!   with an I/O error or "no space", and [`FaultBackend::crash`] returns the durable image as a
//!   new backend, optionally with the unsynced tail of each file torn (partly written) instead
//!   of dropped, the way a power cut leaves a disk.
//!
//! Paths are relative names inside one data directory; the engine never walks directories.
//!
//! Nothing is memory-mapped: pages of segment files are read with positional reads on first
//! use (`engine::segments`), so a file truncated or rewritten from outside while a runtime has
//! the directory open surfaces as an `Io` or `Corruption` error, never as a fault of the
//! process. Modifying a locked data directory from outside is still unsupported: it can make a
//! later read fail.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, ErrorKind, Result};

/// One open file.
pub trait BackendFile: Send + Sync {
    /// Reads exactly `buf.len()` bytes at `offset`. Errors (`Io`) on a short file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()>;
    /// Makes every write so far durable (fdatasync).
    fn sync(&self) -> Result<()>;
    /// Size in bytes.
    fn size(&self) -> Result<u64>;
    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&self, len: u64) -> Result<()>;
}

/// A directory of files.
pub trait Backend: Send + Sync {
    /// Opens `name`, creating it (empty) when `create` is set and it does not exist.
    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn BackendFile>>;
    /// Whether `name` exists.
    fn exists(&self, name: &str) -> Result<bool>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> Result<()>;
    /// Removes `name` (no error if it is already gone).
    fn remove(&self, name: &str) -> Result<()>;
    /// Names of the files of the directory.
    fn list(&self) -> Result<Vec<String>>;
    /// Makes creations, renames and removals durable (fsync of the directory).
    fn sync_dir(&self) -> Result<()>;
}

/// An `Io` error naming the operation and the file.
pub fn io_error(op: &str, name: &str, e: io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{op} {name}: {e}"))
}

/// Reads a whole file (bounded by `limit` bytes, else `Corruption`).
pub fn read_all(f: &dyn BackendFile, name: &str, limit: u64) -> Result<Vec<u8>> {
    let len = f.size()?;
    if len > limit {
        return Err(Error::new(
            ErrorKind::Corruption,
            format!("{name} is {len} bytes, more than the {limit} allowed"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    f.read_at(0, &mut buf)?;
    Ok(buf)
}

// ---- std::fs -------------------------------------------------------------------------------

/// The operating system's file system, rooted at one directory.
pub struct StdBackend {
    dir: PathBuf,
}

impl StdBackend {
    /// A backend over directory `dir`, created if missing.
    ///
    /// # Errors
    /// `Io` if the directory cannot be created, or `dir` exists and is not a directory.
    pub fn new(dir: impl AsRef<Path>) -> Result<StdBackend> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "data directory {} exists and is not a directory",
                    dir.display()
                ),
            ));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| io_error("create directory", &dir.display().to_string(), e))?;
        Ok(StdBackend { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

struct StdFile {
    name: String,
    file: File,
}

impl BackendFile for StdFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| io_error("read", &self.name, e))
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| io_error("write", &self.name, e))
    }
    fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| io_error("fsync", &self.name, e))
    }
    fn size(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .map_err(|e| io_error("stat", &self.name, e))?
            .len())
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| io_error("truncate", &self.name, e))
    }
}

impl Backend for StdBackend {
    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn BackendFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(self.dir.join(name))
            .map_err(|e| io_error("open", name, e))?;
        Ok(Arc::new(StdFile {
            name: name.to_string(),
            file,
        }))
    }
    fn exists(&self, name: &str) -> Result<bool> {
        self.dir
            .join(name)
            .try_exists()
            .map_err(|e| io_error("stat", name, e))
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        std::fs::rename(self.dir.join(from), self.dir.join(to))
            .map_err(|e| io_error("rename", &format!("{from} to {to}"), e))
    }
    fn remove(&self, name: &str) -> Result<()> {
        match std::fs::remove_file(self.dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", name, e)),
            _ => Ok(()),
        }
    }
    fn list(&self) -> Result<Vec<String>> {
        let rd = std::fs::read_dir(&self.dir)
            .map_err(|e| io_error("list", &self.dir.display().to_string(), e))?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|e| io_error("list", &self.dir.display().to_string(), e))?;
            if let Some(n) = e.file_name().to_str() {
                out.push(n.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
    fn sync_dir(&self) -> Result<()> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("fsync directory", &self.dir.display().to_string(), e))
    }
}

// ---- fault injection -----------------------------------------------------------------------

/// What the N-th counted call of a [`FaultBackend`] does instead of succeeding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails with an I/O error (EIO).
    Eio,
    /// Fails with "no space left on device" (ENOSPC).
    NoSpace,
}

#[derive(Default, Clone)]
struct MemFile {
    written: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Default)]
struct FaultState {
    /// Directory entries as reads see them: name → file contents.
    files: BTreeMap<String, Arc<Mutex<MemFile>>>,
    /// Directory entries as of the last directory sync.
    durable_dir: BTreeMap<String, Arc<Mutex<MemFile>>>,
    calls: u64,
    fail_at: Option<(u64, Fault)>,
    syncs: u64,
    /// When set, a crash image (torn with this seed) is recorded after every successful sync.
    record: Option<u64>,
    images: Vec<FaultBackend>,
}

/// An in-memory backend with a written and a durable image and fault injection (see the module
/// documentation). Cheap to clone: clones share state.
#[derive(Clone, Default)]
pub struct FaultBackend {
    state: Arc<Mutex<FaultState>>,
}

struct FaultFile {
    name: String,
    data: Arc<Mutex<MemFile>>,
    backend: FaultBackend,
}

impl FaultBackend {
    /// An empty directory.
    pub fn new() -> FaultBackend {
        FaultBackend::default()
    }

    /// Makes the `n`-th counted call from now (1 = the next) fail with `fault`; every call
    /// (open, read, write, sync, set_len, rename, remove, list, directory sync) counts.
    pub fn fail_at(&self, n: u64, fault: Fault) {
        let mut s = self.state.lock();
        s.fail_at = Some((s.calls + n, fault));
    }

    /// Cancels a pending [`FaultBackend::fail_at`].
    pub fn clear_fault(&self) {
        self.state.lock().fail_at = None;
    }

    /// From now on, records after every successful file or directory sync the image a power
    /// cut at that moment would leave (see [`FaultBackend::crash`], torn with `torn_seed`):
    /// every sync point of a workload, taken with [`FaultBackend::take_images`].
    pub fn record_crash_images(&self, torn_seed: Option<u64>) {
        self.state.lock().record = Some(torn_seed.map_or(0, |s| s | 1));
    }

    /// The crash images recorded so far (see [`FaultBackend::record_crash_images`]).
    pub fn take_images(&self) -> Vec<FaultBackend> {
        std::mem::take(&mut self.state.lock().images)
    }

    fn after_sync(&self) {
        let mut s = self.state.lock();
        s.syncs += 1;
        if let Some(seed) = s.record {
            drop(s);
            let torn = (seed != 0).then_some(seed.wrapping_add(self.syncs()));
            let image = self.crash(torn);
            self.state.lock().images.push(image);
        }
    }

    /// Calls counted so far.
    pub fn calls(&self) -> u64 {
        self.state.lock().calls
    }

    /// Successful file and directory syncs so far (the crash points of a workload).
    pub fn syncs(&self) -> u64 {
        self.state.lock().syncs
    }

    /// The machine after a power cut: a new backend whose files are the durable image. With
    /// `torn_seed`, each file whose written image differs from its durable one keeps a
    /// pseudo-random prefix of the unsynced bytes (from the first byte that differs to the end
    /// of the written image, so an append inside a preallocated length tears too), and some of
    /// those bytes flipped to 0, as if the disk had written part of the queue.
    pub fn crash(&self, torn_seed: Option<u64>) -> FaultBackend {
        let s = self.state.lock();
        let mut rng = torn_seed.unwrap_or(0) | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut files = BTreeMap::new();
        for (name, f) in &s.durable_dir {
            let f = f.lock();
            let mut data = f.durable.clone();
            let unsynced = torn_seed.and_then(|_| first_unsynced(&f.durable, &f.written));
            if let Some(start) = unsynced {
                let extra = f.written.len() - start;
                let keep = (next() % (extra as u64 + 1)) as usize;
                if data.len() < start + keep {
                    data.resize(start + keep, 0);
                }
                data[start..start + keep].copy_from_slice(&f.written[start..start + keep]);
                if keep > 0 && next() % 2 == 0 {
                    let at = start + (next() % keep as u64) as usize;
                    data[at] = 0;
                }
            }
            files.insert(
                name.clone(),
                Arc::new(Mutex::new(MemFile {
                    written: data.clone(),
                    durable: data,
                })),
            );
        }
        FaultBackend {
            state: Arc::new(Mutex::new(FaultState {
                durable_dir: files.clone(),
                files,
                ..FaultState::default()
            })),
        }
    }

    /// Flips bit `bit` of byte `offset` of `name` in both images (corruption at rest).
    pub fn flip(&self, name: &str, offset: usize, bit: u8) -> bool {
        let s = self.state.lock();
        match s.files.get(name) {
            Some(f) => {
                let mut f = f.lock();
                if offset >= f.written.len() {
                    return false;
                }
                f.written[offset] ^= 1 << (bit % 8);
                if offset < f.durable.len() {
                    f.durable[offset] ^= 1 << (bit % 8);
                }
                true
            }
            None => false,
        }
    }

    /// The written contents of `name`.
    pub fn contents(&self, name: &str) -> Option<Vec<u8>> {
        let s = self.state.lock();
        s.files.get(name).map(|f| f.lock().written.clone())
    }

    /// Counts a call and fails it if it is the chosen one.
    fn tick(&self, op: &str, name: &str) -> Result<()> {
        let mut s = self.state.lock();
        s.calls += 1;
        if let Some((at, fault)) = s.fail_at {
            if s.calls == at {
                s.fail_at = None;
                let e = match fault {
                    Fault::Eio => io::Error::from_raw_os_error(5),
                    Fault::NoSpace => io::Error::from_raw_os_error(28),
                };
                return Err(io_error(op, name, e));
            }
        }
        Ok(())
    }
}

/// Where the written image of a file starts to differ from its durable one: the first
/// unsynced byte, or None when nothing written is unsynced (the images are equal, or the
/// written one is a truncated prefix of the durable one).
fn first_unsynced(durable: &[u8], written: &[u8]) -> Option<usize> {
    let common = durable.len().min(written.len());
    let at = durable
        .iter()
        .zip(written)
        .position(|(d, w)| d != w)
        .unwrap_or(common);
    (at < written.len()).then_some(at)
}

impl BackendFile for FaultFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.backend.tick("read", &self.name)?;
        let f = self.data.lock();
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= f.written.len() as u64)
            .ok_or_else(|| io_error("read", &self.name, io::ErrorKind::UnexpectedEof.into()))?;
        buf.copy_from_slice(&f.written[offset as usize..end as usize]);
        Ok(())
    }
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.backend.tick("write", &self.name)?;
        let mut f = self.data.lock();
        let end = offset as usize + buf.len();
        if f.written.len() < end {
            f.written.resize(end, 0);
        }
        f.written[offset as usize..end].copy_from_slice(buf);
        Ok(())
    }
    fn sync(&self) -> Result<()> {
        self.backend.tick("fsync", &self.name)?;
        let mut f = self.data.lock();
        f.durable = f.written.clone();
        drop(f);
        self.backend.after_sync();
        Ok(())
    }
    fn size(&self) -> Result<u64> {
        Ok(self.data.lock().written.len() as u64)
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.backend.tick("truncate", &self.name)?;
        self.data.lock().written.resize(len as usize, 0);
        Ok(())
    }
}

impl Backend for FaultBackend {
    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn BackendFile>> {
        self.tick("open", name)?;
        let mut s = self.state.lock();
        let data = match s.files.get(name) {
            Some(d) => d.clone(),
            None if create => {
                let d = Arc::new(Mutex::new(MemFile::default()));
                s.files.insert(name.to_string(), d.clone());
                d
            }
            None => return Err(io_error("open", name, io::ErrorKind::NotFound.into())),
        };
        Ok(Arc::new(FaultFile {
            name: name.to_string(),
            data,
            backend: self.clone(),
        }))
    }
    fn exists(&self, name: &str) -> Result<bool> {
        Ok(self.state.lock().files.contains_key(name))
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.tick("rename", from)?;
        let mut s = self.state.lock();
        let f = s
            .files
            .remove(from)
            .ok_or_else(|| io_error("rename", from, io::ErrorKind::NotFound.into()))?;
        s.files.insert(to.to_string(), f);
        Ok(())
    }
    fn remove(&self, name: &str) -> Result<()> {
        self.tick("remove", name)?;
        self.state.lock().files.remove(name);
        Ok(())
    }
    fn list(&self) -> Result<Vec<String>> {
        self.tick("list", ".")?;
        Ok(self.state.lock().files.keys().cloned().collect())
    }
    fn sync_dir(&self) -> Result<()> {
        self.tick("fsync directory", ".")?;
        let mut s = self.state.lock();
        s.durable_dir = s.files.clone();
        drop(s);
        self.after_sync();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_keeps_only_synced_bytes_and_entries() {
        let b = FaultBackend::new();
        let f = b.open("a", true).unwrap();
        f.write_at(0, b"hello").unwrap();
        f.sync().unwrap();
        b.sync_dir().unwrap();
        f.write_at(5, b" world").unwrap();
        let g = b.open("b", true).unwrap();
        g.write_at(0, b"x").unwrap();
        g.sync().unwrap(); // file synced, directory entry not
        let c = b.crash(None);
        assert_eq!(c.contents("a").unwrap(), b"hello");
        assert!(!c.exists("b").unwrap());
        let torn = b.crash(Some(7));
        let a = torn.contents("a").unwrap();
        assert!(a.len() >= 5 && a.len() <= 11 && &a[..5] == b"hello");
    }

    /// Pins a gap in the crash model: only bytes past the durable length used to count as
    /// unsynced, so a write inside the file's length (an append to a preallocated log) was
    /// never torn, only dropped whole.
    #[test]
    fn crash_tears_unsynced_writes_inside_the_file() {
        let b = FaultBackend::new();
        let f = b.open("a", true).unwrap();
        f.set_len(100).unwrap();
        f.sync().unwrap();
        b.sync_dir().unwrap();
        f.write_at(10, b"hello").unwrap();
        assert_eq!(b.crash(None).contents("a").unwrap(), vec![0u8; 100]);
        let mut lengths = std::collections::BTreeSet::new();
        for seed in 0..64 {
            let a = b.crash(Some(seed)).contents("a").unwrap();
            assert_eq!(a.len(), 100);
            assert!(a[..10].iter().chain(&a[15..]).all(|&x| x == 0));
            let kept = a[10..15].iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
            assert!(a[10..10 + kept]
                .iter()
                .zip(b"hello")
                .all(|(&x, &y)| x == y || x == 0));
            lengths.insert(kept);
        }
        assert!(lengths.len() > 2, "tears kept {lengths:?} bytes");
    }

    #[test]
    fn nth_call_fails_once() {
        let b = FaultBackend::new();
        let f = b.open("a", true).unwrap();
        b.fail_at(2, Fault::NoSpace);
        f.write_at(0, b"1").unwrap();
        let e = f.sync().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("fsync a"), "{e}");
        f.sync().unwrap();
    }
}
