//! Native methods of `dev.xtree.SearchCursor`. The handle is a `Box<CursorCell>`: the cursor
//! holds its own snapshot, so it stays valid after the index handle is freed.
//!
//! A page leaves the native cursor only once it is a Java array: if `NewLongArray` fails (an
//! `OutOfMemoryError`, which Java then sees), the rows go back into the cell and the next
//! `nextPage` delivers them first, so no row id is skipped or delivered twice.

use jni::objects::JClass;
use jni::sys::{jint, jlong, jlongArray};
use jni::JNIEnv;
use parking_lot::Mutex;

use super::convert::{self, borrow_handle, free_handle};
use super::wrapper::{call, BridgeError, BridgeResult};
use crate::{Cursor, Error, Result};

/// The most row ids one `nativeNextPage` returns (an 8 MiB `long[]`); a larger `maxRows` is
/// lowered to it. Java's `SearchCursor.MAX_PAGE_ROWS` has the same value and caps first; this
/// cap only bounds what a direct caller of the native method could ask for.
pub(crate) const MAX_PAGE_ROWS: usize = 1 << 20;

/// A cursor shared with Java, with the rows it produced but could not deliver.
///
/// `Cursor::next_page` needs `&mut`, while Java may call `nextPage` from several threads at once
/// (each under NativeHandle's read lock); the mutex hands out pages one call at a time and is
/// held until the page is a Java array, so the rows of a failed page are put back before any
/// other caller reads on, and the order of the answer is kept.
pub(crate) struct CursorCell {
    inner: Mutex<PagedCursor>,
}

impl CursorCell {
    /// A cell over a fresh cursor.
    pub(crate) fn new(cursor: Cursor) -> Self {
        CursorCell {
            inner: Mutex::new(PagedCursor {
                cursor,
                undelivered: Vec::new(),
            }),
        }
    }
}

/// The state behind the mutex of a [`CursorCell`].
struct PagedCursor {
    cursor: Cursor,
    /// Row ids taken from `cursor` whose page never reached Java, in answer order; they come
    /// before anything `cursor` still holds.
    undelivered: Vec<u64>,
}

impl PagedCursor {
    /// Up to `max` (at least 1) more row ids: first the undelivered ones, then the cursor's.
    fn next_page(&mut self, max: usize) -> Result<Vec<u64>> {
        let max = max.max(1);
        if self.undelivered.is_empty() {
            return self.cursor.next_page(max);
        }
        if self.undelivered.len() <= max {
            return Ok(std::mem::take(&mut self.undelivered));
        }
        let rest = self.undelivered.split_off(max);
        Ok(std::mem::replace(&mut self.undelivered, rest))
    }

    /// Puts back a page returned by [`PagedCursor::next_page`] that could not be delivered, so
    /// the next page starts with it.
    fn unread(&mut self, mut page: Vec<u64>) {
        page.append(&mut self.undelivered);
        self.undelivered = page;
    }
}

/// The cursor behind a handle from `IndexDetails.nativeCursor`.
fn cursor<'a>(handle: jlong) -> BridgeResult<&'a CursorCell> {
    // SAFETY: `SearchCursor` passes the handle returned by nativeCursor, or 0 once closed, and
    // frees it (nativeFree) only after every call using it has returned (NativeHandle).
    unsafe { borrow_handle::<CursorCell>(handle, "SearchCursor") }
}

/// `long[] nativeNextPage(long handle, int maxRows)`: 1 to `min(maxRows, MAX_PAGE_ROWS)` row
/// ids, empty once the answer is exhausted. If the Java array cannot be made, the exception
/// of the JVM is pending and the rows stay in the cursor for the next call.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_SearchCursor_nativeNextPage<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    max_rows: jint,
) -> jlongArray {
    call(&mut env, "SearchCursor.nativeNextPage", |env| {
        let max_rows = convert::count(max_rows, "maxRows")?;
        if max_rows == 0 {
            return Err(BridgeError::from(Error::invalid(
                "maxRows 0 is less than 1",
            )));
        }
        let mut paged = cursor(handle)?.inner.lock();
        let page = paged.next_page(max_rows.min(MAX_PAGE_ROWS))?;
        match convert::new_row_id_array(env, &page) {
            Ok(array) => Ok(array),
            Err(e) => {
                paged.unread(page);
                Err(e)
            }
        }
    })
    .into_raw()
}

/// `void nativeFree(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_SearchCursor_nativeFree<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    call(&mut env, "SearchCursor.nativeFree", |_| {
        // SAFETY: NativeHandle.close calls this exactly once, with the handle from
        // IndexDetails.nativeCursor, after every other call using it has returned.
        unsafe { free_handle::<CursorCell>(handle) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Index, SearchType};

    /// Every remaining row id of `c`, read in pages of `max`.
    fn drain(c: &mut PagedCursor, max: usize) -> Vec<u64> {
        let mut all = Vec::new();
        loop {
            let p = c.next_page(max).expect("memory cursor");
            if p.is_empty() {
                return all;
            }
            all.extend(p);
        }
    }

    /// A paged cursor over the points 0..n of a 1-D index (row id = coordinate).
    fn paged(n: u64) -> PagedCursor {
        let index = Index::new(1, 64, vec!["x".into()]).expect("valid options");
        for i in 0..n {
            index
                .insert(i, &[i as f64], &[i as f64])
                .expect("finite point");
        }
        let cursor = index
            .cursor(SearchType::Within, &[f64::NEG_INFINITY], &[f64::INFINITY])
            .expect("valid query");
        PagedCursor {
            cursor,
            undelivered: Vec::new(),
        }
    }

    /// Pins issue 7, item 8 at the unit level: pages put back with `unread` (twice in a row,
    /// then read in pages smaller and larger than them) come again, in order, before the rest.
    #[test]
    fn unread_pages_come_back_first_and_once() {
        let mut c = paged(100);
        let want = drain(&mut paged(100), 7);
        assert_eq!(want.len(), 100);
        let mut got = c.next_page(5).expect("memory cursor");
        let a = c.next_page(10).expect("memory cursor");
        let b = c.next_page(10).expect("memory cursor");
        c.unread(b);
        c.unread(a);
        for max in [3, 50, 1, 1000] {
            got.extend(c.next_page(max).expect("memory cursor"));
        }
        got.extend(drain(&mut c, 9));
        assert_eq!(got, want);
    }
}
