//! Software updates of kiosks: what the hub offers in a sync answer, what the signature covers,
//! and what a kiosk reports about an update in its heartbeat.
//!
//! A release is a package file, its SHA-256 and size, a version, and an Ed25519 signature over
//! [`signed_message`] made with a key kept off the hub. The kiosk checks the signature with a
//! public key pinned in its image, so neither the hub nor the network can give it a package
//! nobody signed, nor relabel a signed package as another version.

use serde::{Deserialize, Serialize};

/// `GET` [`download_path`]`(version)` → the package's bytes, mutual TLS; only a release staged
/// for the asking device.
pub const DOWNLOAD_PREFIX: &str = "/api/v1/device/updates/";

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410): the 32 key bytes follow.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The longest version accepted.
pub const MAX_VERSION_LEN: usize = 64;

/// Where a kiosk downloads the package of `version`.
pub fn download_path(version: &str) -> String {
    format!("{DOWNLOAD_PREFIX}{version}")
}

/// The bytes a release signature covers: a fixed context line, the version, the package's
/// SHA-256 (lowercase hex) and its size, one per line.
pub fn signed_message(version: &str, sha256_hex: &str, size: u64) -> Vec<u8> {
    format!("dorfpunkt kiosk release v1\nversion={version}\nsha256={sha256_hex}\nsize={size}\n")
        .into_bytes()
}

/// Why a version string is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("must be 1 to {MAX_VERSION_LEN} characters")]
    Length,
    #[error("must start with a digit")]
    Start,
    #[error("may hold only letters, digits and . + ~ -")]
    Character,
}

/// Checks a release version (`0.2.0`, `0.2.0-1`, `0.2.0+git.3`): it becomes part of a path and a
/// file name, so only a small alphabet is accepted.
pub fn check_version(version: &str) -> Result<(), VersionError> {
    if version.is_empty() || version.len() > MAX_VERSION_LEN {
        return Err(VersionError::Length);
    }
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(VersionError::Start);
    }
    if !version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-'))
    {
        return Err(VersionError::Character);
    }
    Ok(())
}

/// The release a hub wants a kiosk to run, sent in the sync answer while the kiosk reports
/// another version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    pub version: String,
    /// SHA-256 of the package, lowercase hex.
    pub sha256: String,
    /// The package's size in bytes.
    pub size: u64,
    /// Ed25519 signature over [`signed_message`], lowercase hex (128 characters).
    pub signature: String,
}

/// Where a kiosk stands with an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Installed and restarted; the health check is under way.
    Pending,
    /// The version passed its health check after the restart.
    Healthy,
    /// The version failed to come up or failed its health check: the previous one is back.
    RolledBack,
    /// The package was refused before installing (size, SHA-256 or signature wrong), or there
    /// is no package of the running version to return to. Nothing was installed.
    Refused,
}

impl UpdateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Healthy => "healthy",
            Self::RolledBack => "rolled_back",
            Self::Refused => "refused",
        }
    }
}

/// The last thing that happened with an update on a kiosk, sent with every heartbeat until a
/// newer event replaces it (the hub stores it idempotently).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateReport {
    /// The version the event is about (for `rolled_back` the one that failed).
    pub version: String,
    pub status: UpdateStatus,
    /// The version that ran before.
    #[serde(default)]
    pub previous_version: Option<String>,
    /// What went wrong, in English, for the admin.
    #[serde(default)]
    pub detail: Option<String>,
    /// When it happened, RFC 3339 UTC.
    pub at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked() {
        for ok in ["0.1.0", "1.2.3-1", "0.2.0+git.3", "2~rc1"] {
            assert_eq!(check_version(ok), Ok(()), "{ok}");
        }
        assert_eq!(check_version(""), Err(VersionError::Length));
        assert_eq!(check_version(&"1".repeat(65)), Err(VersionError::Length));
        assert_eq!(check_version("v1.0"), Err(VersionError::Start));
        assert_eq!(check_version("1.0/../x"), Err(VersionError::Character));
        assert_eq!(check_version("1 0"), Err(VersionError::Character));
    }

    #[test]
    fn the_message_binds_version_hash_and_size() {
        let m = signed_message("0.2.0", "ab", 7);
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "dorfpunkt kiosk release v1\nversion=0.2.0\nsha256=ab\nsize=7\n"
        );
        assert_ne!(
            signed_message("0.2.0", "ab", 7),
            signed_message("0.2.1", "ab", 7)
        );
        assert_eq!(download_path("0.2.0"), "/api/v1/device/updates/0.2.0");
    }

    #[test]
    fn a_report_reads_without_optional_fields() {
        let r: UpdateReport = serde_json::from_value(serde_json::json!({
            "version": "0.2.0", "status": "rolled_back", "at": "2026-12-03T08:00:00Z"
        }))
        .unwrap();
        assert_eq!(r.status, UpdateStatus::RolledBack);
        assert_eq!(r.previous_version, None);
        assert_eq!(UpdateStatus::RolledBack.as_str(), "rolled_back");
    }
}
