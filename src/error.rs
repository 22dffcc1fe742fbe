//! Errors with a stable `code` and a message that tells the user what to do next.
//!
//! Every failure the addon reports to JavaScript goes through [`StoreError`]. The
//! `code` strings are a public contract (docs/design.md, "Error codes"): never change
//! what one means.

use std::fmt;

/// The stable error codes. `as_str` is what JavaScript sees as `err.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUrl,
    BadSettings,
    BadOption,
    NoServerBinary,
    PortInUse,
    StartFailed,
    Timeout,
    Unreachable,
    Auth,
    VersionTooOld,
    EvictionPolicy,
    LuaUnavailable,
    ClusterPrefix,
    Checksum,
    UnsafeArchive,
    BinaryIncompatible,
    NeedsSudo,
    NotOwned,
    DockerUnavailable,
    LockTimeout,
    DownloadFailed,
    InstallFailed,
    Unsupported,
    /// A `rediss://` server whose TLS handshake failed (certificate, CA, protocol).
    Tls,
    /// The server answered, but the BullMQ smoke test's commands did not work.
    SmokeFailed,
    /// The store's data was written by a server (newer, or another fork) that the
    /// server asked to start it cannot read.
    DataIncompatible,
    /// A stop left our store running because other clients use it (no `force`).
    StoreInUse,
    /// A server we do not know by name lacks what BullMQ's queues need (the
    /// `server` check lists what).
    ServerUnsupported,
    Io,
    Internal,
}

impl ErrorCode {
    /// Every code, for turning a check's code string back into an `ErrorCode`.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadUrl,
        ErrorCode::BadSettings,
        ErrorCode::BadOption,
        ErrorCode::NoServerBinary,
        ErrorCode::PortInUse,
        ErrorCode::StartFailed,
        ErrorCode::Timeout,
        ErrorCode::Unreachable,
        ErrorCode::Auth,
        ErrorCode::VersionTooOld,
        ErrorCode::EvictionPolicy,
        ErrorCode::LuaUnavailable,
        ErrorCode::ClusterPrefix,
        ErrorCode::Checksum,
        ErrorCode::UnsafeArchive,
        ErrorCode::BinaryIncompatible,
        ErrorCode::NeedsSudo,
        ErrorCode::NotOwned,
        ErrorCode::DockerUnavailable,
        ErrorCode::LockTimeout,
        ErrorCode::Unsupported,
        ErrorCode::Tls,
        ErrorCode::SmokeFailed,
        ErrorCode::DownloadFailed,
        ErrorCode::InstallFailed,
        ErrorCode::DataIncompatible,
        ErrorCode::StoreInUse,
        ErrorCode::ServerUnsupported,
        ErrorCode::Io,
        ErrorCode::Internal,
    ];

    /// The code whose `as_str` is `code`.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUrl => "E_BAD_URL",
            ErrorCode::BadSettings => "E_BAD_SETTINGS",
            ErrorCode::BadOption => "E_BAD_OPTION",
            ErrorCode::NoServerBinary => "E_NO_SERVER_BINARY",
            ErrorCode::PortInUse => "E_PORT_IN_USE",
            ErrorCode::StartFailed => "E_START_FAILED",
            ErrorCode::Timeout => "E_TIMEOUT",
            ErrorCode::Unreachable => "E_UNREACHABLE",
            ErrorCode::Auth => "E_AUTH",
            ErrorCode::VersionTooOld => "E_VERSION_TOO_OLD",
            ErrorCode::EvictionPolicy => "E_EVICTION_POLICY",
            ErrorCode::LuaUnavailable => "E_LUA_UNAVAILABLE",
            ErrorCode::ClusterPrefix => "E_CLUSTER_PREFIX",
            ErrorCode::Checksum => "E_CHECKSUM",
            ErrorCode::UnsafeArchive => "E_UNSAFE_ARCHIVE",
            ErrorCode::BinaryIncompatible => "E_BINARY_INCOMPATIBLE",
            ErrorCode::NeedsSudo => "E_NEEDS_SUDO",
            ErrorCode::NotOwned => "E_NOT_OWNED",
            ErrorCode::DockerUnavailable => "E_DOCKER_UNAVAILABLE",
            ErrorCode::LockTimeout => "E_LOCK_TIMEOUT",
            ErrorCode::DownloadFailed => "E_DOWNLOAD_FAILED",
            ErrorCode::InstallFailed => "E_INSTALL_FAILED",
            ErrorCode::Unsupported => "E_UNSUPPORTED",
            ErrorCode::Tls => "E_TLS",
            ErrorCode::SmokeFailed => "E_SMOKE_FAILED",
            ErrorCode::DataIncompatible => "E_DATA_INCOMPATIBLE",
            ErrorCode::StoreInUse => "E_STORE_IN_USE",
            ErrorCode::ServerUnsupported => "E_SERVER_UNSUPPORTED",
            ErrorCode::Io => "E_IO",
            ErrorCode::Internal => "E_INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its stable code. `message` already contains the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    pub code: ErrorCode,
    pub message: String,
}

impl StoreError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        StoreError {
            code,
            message: message.into(),
        }
    }

    /// An I/O failure on `path`, with the OS's own words.
    pub fn io(action: &str, path: &std::path::Path, err: &std::io::Error) -> Self {
        StoreError::new(
            ErrorCode::Io,
            format!(
                "could not {action} {}: {err}. Check that the path exists and that you may write to it.",
                path.display()
            ),
        )
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for StoreError {}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Lets napi-rs use a code directly as a thrown Error's `code` (sync functions).
impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(ErrorCode::from_code(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::from_code("E_NOPE"), None);
    }
}
