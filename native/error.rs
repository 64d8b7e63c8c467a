//! The one public error type of the crate, with a stable numeric code shared with Java.
//!
//! Java maps [`ErrorKind::InvalidArgument`] to `IllegalArgumentException`, [`ErrorKind::Closed`]
//! and [`ErrorKind::ReadOnly`] to `IllegalStateException`, [`ErrorKind::Unsupported`] to
//! `UnsupportedOperationException`, and every other kind to the `dev.xtree.XTreeException`
//! subclass carrying the same [`ErrorKind::code`].

use std::fmt;

/// What went wrong, as a stable code. The numbers are part of the Java contract
/// (`dev.xtree.XTreeException#code()`) and never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input from the caller: NaN, min > max, wrong coordinate count, bad dimension, ...
    InvalidArgument,
    /// The index (or a cursor) was closed.
    Closed,
    /// The requested feature is not available in this build or mode.
    Unsupported,
    /// A write (insert, delete, update, commit, checkpoint, field creation) on a runtime opened
    /// read-only ([`crate::Runtime::open_read_only`]).
    ReadOnly,
    /// An operating-system I/O error.
    Io,
    /// Bytes read back from storage do not form a valid structure.
    Corruption,
    /// A previous write or fsync failed; writes are refused until reopened.
    Poisoned,
    /// A bug: an internal invariant did not hold (a caught panic, or the invariant checker).
    Internal,
}

impl ErrorKind {
    /// The stable code of this kind, as seen from Java.
    pub fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => 1,
            ErrorKind::Closed => 2,
            ErrorKind::Unsupported => 3,
            ErrorKind::ReadOnly => 4,
            ErrorKind::Io => 10,
            ErrorKind::Corruption => 11,
            ErrorKind::Poisoned => 12,
            ErrorKind::Internal => 99,
        }
    }
}

/// An error with its kind and a message that names the problem and the offending parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Bad input from the caller.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// A broken internal invariant.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (without the kind).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The message of a caught panic's payload (`&str` or `String`, what `panic!` produces), for
/// the bridges that turn a panic into an error instead of letting it cross into the JVM or C.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}
