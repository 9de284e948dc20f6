//! The one error type of the crate. Every failure knows its exit code (2 for bad input or usage,
//! 1 for an internal failure) and may carry a hint that tells the user what to do.

use std::fmt;
use std::path::Path;

/// What kind of failure this is; decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's files or flags are wrong (exit 2).
    Input,
    /// Something failed that the user could not have prevented (exit 1): I/O, GPU, a bug.
    Internal,
}

/// One-line error with an optional hint. `Display` prints the message only; the CLI prints
/// `error: <message>` then `hint: <hint>`.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Input,
            message: message.into(),
            hint: None,
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Internal,
            message: message.into(),
            hint: None,
        }
    }
    /// Bad input located in a file: `FILE: LOCATION: MESSAGE`.
    pub fn in_file(path: &Path, location: &str, message: impl fmt::Display) -> Self {
        if location.is_empty() {
            Error::input(format!("{}: {}", path.display(), message))
        } else {
            Error::input(format!("{}: {}: {}", path.display(), location, message))
        }
    }
    /// An I/O failure on `path`. A missing or unreadable input file is the user's to fix (exit 2).
    pub fn io(path: &Path, action: &str, err: &std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::NotFound
            | K::PermissionDenied
            | K::IsADirectory
            | K::InvalidData
            | K::InvalidInput => ErrorKind::Input,
            _ => ErrorKind::Internal,
        };
        Error {
            kind,
            message: format!("{}: cannot {}: {}", path.display(), action, err),
            hint: None,
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Add a hint unless one is already set.
    pub fn or_hint(mut self, hint: impl Into<String>) -> Self {
        if self.hint.is_none() {
            self.hint = Some(hint.into());
        }
        self
    }
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::Input => 2,
            ErrorKind::Internal => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
