//! A C API call made from a thread-local destructor (a C++ `thread_local` RAII wrapper that
//! frees its handle at thread exit, or a Rust one) runs after the library's own thread-local
//! last-error buffer may have been destroyed. The call must still return a status, and
//! `xtree_last_error` a string, instead of panicking inside an `extern "C"` function, which
//! aborts the whole process. The scenario runs in a child process (this test binary again),
//! so that an abort fails the test instead of killing the harness.

use std::ffi::CStr;
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

use xtree::capi::{xtree_index_free, xtree_last_error, XtreeIndex, XTREE_ERR_INVALID_ARGUMENT};

const CHILD: &str = "XTREE_CAPI_TLS_CHILD";

/// Status of the call made by the destructor (-1: not made).
static STATUS: AtomicI32 = AtomicI32::new(-1);

struct FreesAtThreadExit;

impl Drop for FreesAtThreadExit {
    fn drop(&mut self) {
        let status = xtree_index_free(XtreeIndex { id: 0 });
        // SAFETY: xtree_last_error never returns NULL and the string lives until the next call.
        let message = unsafe { CStr::from_ptr(xtree_last_error()) };
        let _ = message.to_bytes().len();
        STATUS.store(status, Ordering::SeqCst);
    }
}

thread_local! {
    static GUARD: FreesAtThreadExit = const { FreesAtThreadExit };
}

#[test]
fn tls_destructor_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    std::thread::spawn(|| {
        // Registered before the library's buffer, so destroyed after it (LIFO).
        GUARD.with(|_| ());
        assert_eq!(
            xtree_index_free(XtreeIndex { id: 0 }),
            XTREE_ERR_INVALID_ARGUMENT
        );
    })
    .join()
    .expect("the thread exits");
    assert_eq!(STATUS.load(Ordering::SeqCst), XTREE_ERR_INVALID_ARGUMENT);
    println!("TLS-CHILD-DONE");
}

#[test]
fn a_call_from_a_thread_local_destructor_returns_a_status() {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "tls_destructor_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("TLS-CHILD-DONE"),
        "child {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
}
