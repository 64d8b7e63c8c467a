//! Native methods of `dev.xtree.SearchCursor`. The handle is a `Box<CursorCell>`: the cursor
//! holds its own snapshot, so it stays valid after the index handle is freed.

use jni::objects::JClass;
use jni::sys::{jint, jlong, jlongArray};
use jni::JNIEnv;
use parking_lot::Mutex;

use super::convert::{self, borrow_handle, free_handle};
use super::wrapper::{call, BridgeError, BridgeResult};
use crate::{Cursor, Error};

/// A cursor shared with Java. `Cursor::next_page` needs `&mut`, while Java may call `nextPage`
/// from several threads at once (each under NativeHandle's read lock); the mutex hands out
/// pages one call at a time.
pub(crate) type CursorCell = Mutex<Cursor>;

/// The cursor behind a handle from `IndexDetails.nativeCursor`.
fn cursor<'a>(handle: jlong) -> BridgeResult<&'a CursorCell> {
    // SAFETY: `SearchCursor` passes the handle returned by nativeCursor, or 0 once closed, and
    // frees it (nativeFree) only after every call using it has returned (NativeHandle).
    unsafe { borrow_handle::<CursorCell>(handle, "SearchCursor") }
}

/// `long[] nativeNextPage(long handle, int maxRows)`: up to `maxRows` row ids, empty once the
/// answer is exhausted.
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
        let page = cursor(handle)?.lock().next_page(max_rows)?;
        convert::new_row_id_array(env, &page)
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
