//! The registry behind every C handle: a slab of `Arc<Object>` with a generation per slot.
//!
//! A handle id is `generation << 32 | (slot + 1)`, so 0 is never issued. Releasing a handle
//! empties its slot and bumps the slot's generation: a later call with the old id finds another
//! generation (or an empty slot) and fails with `Closed` instead of touching freed memory, and a
//! second release is the same error. A call looks its object up under the registry lock, clones
//! the `Arc` and releases the lock before doing any work, so a release racing with a call only
//! drops the registry's reference; the call finishes on the object it holds. A slot's generation
//! wraps after 2^32 releases, the only way an old id could name a new object.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::{Field, Runtime};
use crate::error::{Error, ErrorKind, Result};
use crate::index::{Cursor, Index};

/// What a handle names.
pub(super) enum Object {
    /// `XtreeIndex`: an in-memory index or a durable field.
    Index(IndexObject),
    /// `XtreeRuntime`.
    Runtime(Arc<Runtime>),
    /// `XtreeCursor`: a mutex serialises concurrent `next` calls on one cursor.
    Cursor(Mutex<Cursor>),
}

/// The two things an `XtreeIndex` may be.
pub(super) enum IndexObject {
    /// Writes are visible at once; commit is a no-op returning epoch 0.
    Memory(Index),
    /// Writes join the runtime's pending transaction; reads answer on the last commit.
    Field(Field, Arc<Runtime>),
}

impl Object {
    fn kind_name(&self) -> &'static str {
        match self {
            Object::Index(_) => "an index",
            Object::Runtime(_) => "a runtime",
            Object::Cursor(_) => "a cursor",
        }
    }
}

struct Slot {
    generation: u32,
    object: Option<Arc<Object>>,
}

struct Registry {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: u64,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    slots: Vec::new(),
    free: Vec::new(),
    live: 0,
});

fn registry() -> MutexGuard<'static, Registry> {
    // No code panics while holding the lock, but a poisoned lock still guards a consistent slab.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

fn split(id: u64) -> Option<(usize, u32)> {
    let low = (id & 0xffff_ffff) as u32;
    (low != 0).then(|| ((low - 1) as usize, (id >> 32) as u32))
}

/// Registers `object` and returns its new id (never 0).
pub(super) fn insert(object: Object) -> Result<u64> {
    let mut r = registry();
    let slot = match r.free.pop() {
        Some(s) => s,
        None => {
            let s = u32::try_from(r.slots.len())
                .ok()
                .filter(|&s| s < u32::MAX)
                .ok_or_else(|| {
                    Error::new(ErrorKind::Unsupported, "more than 2^32 - 1 live handles")
                })?;
            r.slots.push(Slot {
                generation: 1,
                object: None,
            });
            s
        }
    };
    let entry = &mut r.slots[slot as usize];
    entry.object = Some(Arc::new(object));
    let id = (u64::from(entry.generation) << 32) | u64::from(slot + 1);
    r.live += 1;
    Ok(id)
}

fn stale(what: &str, id: u64) -> Error {
    if id == 0 {
        Error::invalid(format!("{what} is the null handle"))
    } else {
        Error::new(
            ErrorKind::Closed,
            format!("{what} {id:#x} was released (closed or freed) or never issued"),
        )
    }
}

/// The object of `id`, which must be of the kind `want` accepts.
pub(super) fn get(
    id: u64,
    what: &str,
    want: fn(&Object) -> bool,
    kind: &str,
) -> Result<Arc<Object>> {
    let r = registry();
    let (slot, generation) = split(id).ok_or_else(|| stale(what, id))?;
    let object = r
        .slots
        .get(slot)
        .filter(|s| s.generation == generation)
        .and_then(|s| s.object.clone())
        .ok_or_else(|| stale(what, id))?;
    drop(r);
    if want(&object) {
        Ok(object)
    } else {
        Err(Error::invalid(format!(
            "{what} {id:#x} is {}, not {kind}",
            object.kind_name()
        )))
    }
}

/// Unregisters `id` (of the kind `want` accepts) and returns its object; the id is stale from
/// then on.
pub(super) fn remove(
    id: u64,
    what: &str,
    want: fn(&Object) -> bool,
    kind: &str,
) -> Result<Arc<Object>> {
    // Checked first, so that the wrong kind of handle is refused without being released.
    get(id, what, want, kind)?;
    let mut r = registry();
    let (slot, generation) = split(id).ok_or_else(|| stale(what, id))?;
    let entry = r
        .slots
        .get_mut(slot)
        .filter(|s| s.generation == generation && s.object.is_some())
        .ok_or_else(|| stale(what, id))?;
    let object = entry.object.take().expect("checked just above");
    entry.generation = entry.generation.wrapping_add(1).max(1);
    r.free.push(slot as u32);
    r.live -= 1;
    Ok(object)
}

/// Number of live handles of every kind.
pub(super) fn live() -> u64 {
    registry().live
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_index(o: &Object) -> bool {
        matches!(o, Object::Index(_))
    }

    #[test]
    fn released_ids_are_stale_and_slots_are_reused_with_a_new_generation() {
        let index = Index::new(1, 64, vec!["x".into()]).unwrap();
        let a = insert(Object::Index(IndexObject::Memory(index))).unwrap();
        assert!(get(a, "index", is_index, "an index").is_ok());
        remove(a, "index", is_index, "an index").unwrap();
        let e = get(a, "index", is_index, "an index").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Closed);
        let e = remove(a, "index", is_index, "an index").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Closed);
        let index = Index::new(1, 64, vec!["x".into()]).unwrap();
        let b = insert(Object::Index(IndexObject::Memory(index))).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            get(a, "index", is_index, "an index").err().unwrap().kind(),
            ErrorKind::Closed
        );
        remove(b, "index", is_index, "an index").unwrap();
        assert_eq!(
            get(0, "index", is_index, "an index").err().unwrap().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
