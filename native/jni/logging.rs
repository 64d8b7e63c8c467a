//! Native log records reach `java.util.logging`: a [`log::Log`] implementation that queues
//! every enabled record, and the native methods of `dev.xtree.NativeLog`, whose Java daemon
//! thread (`xtree-log`) drains the queue and publishes each record on the JUL logger
//! `dev.xtree` (levels: error → SEVERE, warn → WARNING, info → INFO, debug → FINE,
//! trace → FINER).
//!
//! Why a queue rather than calling Java from [`log::Log::log`]:
//! - Records come from native threads the JVM does not know (the checkpoint coordinator, the
//!   EVENTUAL sync thread). Logging never attaches a thread to the JVM and never makes a JNI
//!   call: only the Java drain thread does, inside its own native method, so no JNI call can
//!   meet a pending exception of some other call, or a thread detached at JVM shutdown.
//! - Records are emitted with engine locks held (poisoning logs under the poison lock). A Java
//!   handler runs arbitrary code (it may write a file, or call back into xtree); run inline it
//!   could block a commit behind a slow disk or deadlock on a lock its caller holds. Queued,
//!   the emitting thread only takes the queue's own lock for a push.
//! - Cost: the `log` macros check [`log::max_level`] (one atomic load), which the Java side
//!   keeps equal to the effective level of the `dev.xtree` logger; an enabled record costs its
//!   formatting and a push. The queue is bounded ([`CAPACITY`] records of at most
//!   [`MAX_MESSAGE`] bytes): when it is full, records are counted and dropped, and the drain
//!   reports the count as a WARNING record.
//! - The `jni` crate's own records are not forwarded: they trace every JNI call, the drain's
//!   included, which would make the drain feed itself.
//!
//! The logger is installed by `NativeLog.nativeInstall`, which `dev.xtree.NativeLibrary` calls
//! once after loading the library. [`log::set_logger`] succeeds once per process: if another
//! logger is already installed, install reports false and Java logs that native records are not
//! forwarded. Nothing here panics across JNI: the entry points run in [`call`], and
//! [`log::Log::log`] catches a panic of a record's formatting and drops the record.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jni::objects::{JClass, JLongArray, JObject, JString};
use jni::sys::{jboolean, jint, jlong, jobjectArray, jsize};
use jni::JNIEnv;
use log::{Level, LevelFilter, Log, Metadata, Record};

use super::wrapper::{call, BridgeResult};
use crate::Error;

/// Records the queue holds at most; more are dropped (and counted) until it drains.
pub(crate) const CAPACITY: usize = 4096;
/// Bytes of a message kept at most; a longer one is cut at a character boundary and marked.
pub(crate) const MAX_MESSAGE: usize = 8192;

/// One queued record.
struct Entry {
    level: Level,
    /// Microseconds since the Unix epoch when the record was emitted.
    micros: u64,
    /// The Rust module path (`xtree::engine::coordinator`).
    target: String,
    /// The emitting thread's name (`xtree-checkpoint`), or "" for an unnamed thread.
    thread: String,
    message: String,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<Entry>,
    /// Records dropped because the queue was full, since the last drain.
    dropped: u64,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    records: VecDeque::new(),
    dropped: 0,
});
static READY: Condvar = Condvar::new();
/// Whether [`LOGGER`] is the process's logger.
static INSTALLED: AtomicBool = AtomicBool::new(false);
static LOGGER: JvmLogger = JvmLogger;

/// The queue, whatever a panicking holder left (nothing panics while holding it).
fn queue() -> MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The [`log::Log`] that queues records for the Java drain thread.
struct JvmLogger;

/// Whether records of `target` are forwarded: all but the `jni` crate's, whose debug and trace
/// records describe every JNI call of the bridge — the drain's own calls included, so
/// forwarding them would feed the queue from its own draining.
fn forwarded(target: &str) -> bool {
    !(target == "jni" || target.starts_with("jni::"))
}

impl Log for JvmLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && forwarded(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // A Display impl that panics must not unwind into the code that logged.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| push(entry(record))));
    }

    fn flush(&self) {}
}

fn entry(record: &Record<'_>) -> Entry {
    let mut message = record.args().to_string();
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str(" [...]");
    }
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    Entry {
        level: record.level(),
        micros,
        target: record.target().to_string(),
        thread: std::thread::current().name().unwrap_or("").to_string(),
        message,
    }
}

fn push(e: Entry) {
    let mut q = queue();
    if q.records.len() >= CAPACITY {
        q.dropped += 1;
        return;
    }
    q.records.push_back(e);
    drop(q);
    READY.notify_one();
}

/// Installs the logger (once per process) with the maximum level `filter`. Returns whether
/// this library's logger is the process's logger.
pub(crate) fn install(filter: LevelFilter) -> bool {
    if !INSTALLED.load(Ordering::Acquire) {
        if log::set_logger(&LOGGER).is_err() {
            return false;
        }
        INSTALLED.store(true, Ordering::Release);
    }
    log::set_max_level(filter);
    true
}

/// Takes up to `max` records, waiting up to `timeout` for the first one. A count of dropped
/// records comes first, as a warning.
fn take(max: usize, timeout: Duration) -> Vec<Entry> {
    let mut q = queue();
    if q.records.is_empty() && q.dropped == 0 {
        q = READY
            .wait_timeout_while(q, timeout, |q| q.records.is_empty() && q.dropped == 0)
            .map_or_else(|e| e.into_inner().0, |(q, _)| q);
    }
    let mut out = Vec::new();
    if q.dropped > 0 && max > 0 {
        let dropped = std::mem::take(&mut q.dropped);
        out.push(Entry {
            level: Level::Warn,
            micros: 0,
            target: module_path!().to_string(),
            thread: String::new(),
            message: format!(
                "{dropped} native log records were dropped: the queue of {CAPACITY} records was \
                 full"
            ),
        });
    }
    while out.len() < max {
        match q.records.pop_front() {
            Some(e) => out.push(e),
            None => break,
        }
    }
    out
}

/// The `LevelFilter` of a Java level code: 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace
/// (the order of [`LevelFilter`]).
fn filter(code: jint) -> BridgeResult<LevelFilter> {
    LevelFilter::iter()
        .find(|f| *f as jint == code)
        .ok_or_else(|| Error::invalid(format!("log level code {code} is not 0..=5")).into())
}

/// `boolean nativeInstall(int level)`: installs the logger with level code `level` (see
/// [`filter`]); false when another logger is the process's logger.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_NativeLog_nativeInstall<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    level: jint,
) -> jboolean {
    call(&mut env, "NativeLog.nativeInstall", |_| {
        Ok(install(filter(level)?).into())
    })
}

/// `void nativeSetLevel(int level)`: the maximum level of native records, as a level code.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_NativeLog_nativeSetLevel<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    level: jint,
) {
    call(&mut env, "NativeLog.nativeSetLevel", |_| {
        let f = filter(level)?;
        if INSTALLED.load(Ordering::Acquire) {
            log::set_max_level(f);
        }
        Ok(())
    })
}

/// `String[] nativeDrain(long timeoutMillis, long[] meta)`: waits up to `timeoutMillis` for
/// records, then takes up to `meta.length / 2` of them. For record `i`, `meta[2i]` is its
/// level (1 error .. 5 trace) and `meta[2i + 1]` its time in microseconds since the epoch (0:
/// unknown); the returned array holds `3n` strings: target, thread name, message of each.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_NativeLog_nativeDrain<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    timeout_millis: jlong,
    meta: JLongArray<'local>,
) -> jobjectArray {
    call(&mut env, "NativeLog.nativeDrain", |env| {
        let slots = usize::try_from(env.get_array_length(&meta)?).unwrap_or(0) / 2;
        let timeout = Duration::from_millis(u64::try_from(timeout_millis).unwrap_or(0));
        // Waits without any JNI call; the thread is in native code, so it holds up no GC.
        let records = take(slots, timeout);
        let mut values = Vec::with_capacity(2 * records.len());
        for e in &records {
            values.push(e.level as jlong);
            values.push(jlong::try_from(e.micros).unwrap_or(jlong::MAX));
        }
        env.set_long_array_region(&meta, 0, &values)?;
        let len = jsize::try_from(3 * records.len()).expect("at most 3 * meta.length / 2");
        let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
        for (i, e) in (0..).step_by(3).zip(&records) {
            env.with_local_frame(8, |env| -> BridgeResult<()> {
                for (k, s) in [&e.target, &e.thread, &e.message].into_iter().enumerate() {
                    let element = env.new_string(s)?;
                    env.set_object_array_element(&array, i + k as jsize, element)?;
                }
                Ok(())
            })?;
        }
        Ok(array)
    })
    .into_raw()
}

/// Test hook for `dev.xtree.NativeBridgeTest`: logs `message` at level code `level` (1 error ..
/// 5 trace) from a new native thread named `xtree-test-logger`, never attached to the JVM, and
/// waits for it. Only a class named `dev.xtree.NativeBridgeTest` can bind to it.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_NativeBridgeTest_nativeLogFromThread<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    level: jint,
    message: JString<'local>,
) {
    call(&mut env, "NativeBridgeTest.nativeLogFromThread", |env| {
        let message = super::convert::string(env, &message, "message")?;
        let level = filter(level)?
            .to_level()
            .ok_or_else(|| Error::invalid("level code 0 (off) is not a record level"))?;
        std::thread::Builder::new()
            .name("xtree-test-logger".into())
            .spawn(move || log::log!(target: "xtree::jni::test", level, "{message}"))
            .map_err(|e| Error::internal(format!("spawn a logging thread: {e}")))?
            .join()
            .map_err(|_| Error::internal("the logging thread panicked"))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_and_reports_drops() {
        // Not installed as the logger in unit tests: push directly.
        for i in 0..CAPACITY + 5 {
            push(Entry {
                level: Level::Info,
                micros: 1,
                target: "t".into(),
                thread: String::new(),
                message: format!("m{i}"),
            });
        }
        let first = take(10, Duration::ZERO);
        assert_eq!(first[0].level, Level::Warn);
        assert!(first[0]
            .message
            .starts_with("5 native log records were dropped"));
        assert_eq!(first[1].message, "m0");
        assert_eq!(first.len(), 10);
        let mut n = first.len() - 1;
        loop {
            let more = take(1000, Duration::ZERO);
            if more.is_empty() {
                break;
            }
            n += more.len();
        }
        assert_eq!(n, CAPACITY);
        assert_eq!(filter(3).unwrap(), LevelFilter::Info);
        assert!(filter(6).is_err());
        assert!(!forwarded("jni::wrapper::jnienv"));
        assert!(forwarded("xtree::engine::coordinator"));
        assert!(forwarded("jnix"));
    }
}
