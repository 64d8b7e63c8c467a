//! The one wrapper every JNI entry point runs its body in, and the one table mapping Rust errors
//! to Java exceptions.
//!
//! A body returns `Result<R, BridgeError>`; [`call`] runs it under `catch_unwind`, throws the
//! Java exception for an error or a panic, and returns `R::default()` (0, false, null) in that
//! case, which Java never sees because the exception is pending. Nothing may unwind across the
//! `extern "system"` boundary: that would abort the JVM.

use std::panic::{self, AssertUnwindSafe};

use jni::objects::{JClass, JString};
use jni::sys::{jint, jlong};
use jni::JNIEnv;

use crate::{Error, ErrorKind};

/// Why an entry point failed.
#[derive(Debug)]
pub(crate) enum BridgeError {
    /// An error of the index, or bad input found while converting arguments: thrown as the
    /// Java class of its kind.
    Xtree(Error),
    /// A JNI call failed. Usually it left a Java exception pending (for example an
    /// `OutOfMemoryError` from allocating an array), which is then what Java sees.
    Jni(jni::errors::Error),
}

impl From<Error> for BridgeError {
    fn from(e: Error) -> Self {
        BridgeError::Xtree(e)
    }
}

impl From<jni::errors::Error> for BridgeError {
    fn from(e: jni::errors::Error) -> Self {
        BridgeError::Jni(e)
    }
}

/// The result type of entry-point bodies.
pub(crate) type BridgeResult<T> = Result<T, BridgeError>;

/// The Java exception class (binary name with slashes) of each error kind. Every class here has
/// a public `(String)` constructor, which `ThrowNew` calls. The match is exhaustive inside the
/// crate, so a new `ErrorKind` cannot be added without choosing its Java class.
fn java_class(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "java/lang/IllegalArgumentException",
        ErrorKind::Closed => "java/lang/IllegalStateException",
        ErrorKind::Unsupported => "java/lang/UnsupportedOperationException",
        ErrorKind::ReadOnly => "java/lang/IllegalStateException",
        ErrorKind::Io => "dev/xtree/XTreeIoException",
        ErrorKind::Corruption => "dev/xtree/XTreeCorruptionException",
        ErrorKind::Poisoned => "dev/xtree/XTreePoisonedException",
        ErrorKind::Internal => "dev/xtree/XTreeInternalException",
    }
}

/// Runs the body of the JNI entry point `name`, converting an error or a panic into a pending
/// Java exception and a default return value.
pub(crate) fn call<'local, R, F>(env: &mut JNIEnv<'local>, name: &'static str, body: F) -> R
where
    R: Default,
    F: FnOnce(&mut JNIEnv<'local>) -> BridgeResult<R>,
{
    // AssertUnwindSafe: after a panic the body's state is discarded; the only thing used
    // afterwards is `env`, whose JNI state stays valid whatever Rust code panicked.
    match panic::catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            throw(env, name, error);
            R::default()
        }
        Err(payload) => {
            // A panic is a bug of ours: it replaces any exception a JNI call left pending.
            let _ = env.exception_clear();
            let message = format!(
                "native panic in {name}: {}",
                crate::error::panic_message(&*payload)
            );
            throw_kind(env, ErrorKind::Internal, &message);
            R::default()
        }
    }
}

/// Makes `error` the pending Java exception, unless a JNI call already left one pending (that
/// exception, e.g. an `OutOfMemoryError`, says more than our wrapper of it would).
fn throw(env: &mut JNIEnv<'_>, name: &'static str, error: BridgeError) {
    if env.exception_check().unwrap_or(true) {
        return;
    }
    match error {
        BridgeError::Xtree(e) => throw_kind(env, e.kind(), e.message()),
        BridgeError::Jni(e) => {
            let message = format!("JNI call failed in {name}: {e}");
            throw_kind(env, ErrorKind::Internal, &message);
        }
    }
}

/// Throws the Java exception of `kind`. If even that fails (class not found, out of memory),
/// the JVM has left its own error pending, which Java then sees instead.
fn throw_kind(env: &mut JNIEnv<'_>, kind: ErrorKind, message: &str) {
    let _ = env.throw_new(java_class(kind), message);
}

/// Test hook for `dev.xtree.NativeBridgeTest`: panics with `message` inside [`call`], so the
/// Java tests can check that a Rust panic reaches Java as `XTreeInternalException` and leaves the
/// JVM running. Only a class named `dev.xtree.NativeBridgeTest` can bind to it.
#[no_mangle]
pub extern "system" fn Java_dev_xtree_NativeBridgeTest_nativePanic<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    message: JString<'local>,
) -> jlong {
    call(&mut env, "NativeBridgeTest.nativePanic", |env| {
        let message = super::convert::string(env, &message, "message")?;
        panic!("{message}");
    })
}

/// Test hook for `dev.xtree.NativeBridgeTest`: fails with an error of the kind whose
/// [`ErrorKind::code`] is `code`, so the Java tests can check every row of [`java_class`],
/// including kinds the in-memory index never produces (I/O, corruption, poisoned).
#[no_mangle]
pub extern "system" fn Java_dev_xtree_NativeBridgeTest_nativeFail<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    code: jint,
) -> jlong {
    call(&mut env, "NativeBridgeTest.nativeFail", |_| {
        const KINDS: [ErrorKind; 8] = [
            ErrorKind::InvalidArgument,
            ErrorKind::Closed,
            ErrorKind::Unsupported,
            ErrorKind::ReadOnly,
            ErrorKind::Io,
            ErrorKind::Corruption,
            ErrorKind::Poisoned,
            ErrorKind::Internal,
        ];
        let kind = KINDS
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| Error::invalid(format!("no error kind has code {code}")))?;
        Err(Error::new(kind, format!("test error with code {code}")).into())
    })
}
