//! Enrolment, certificate rotation and heartbeats: how a kiosk becomes a device of a region and
//! tells its hub how it is doing.
//!
//! A kiosk enrols once over server-authenticated TLS with a one-time code from an admin: it makes
//! its key pair, sends a certificate signing request (PEM) with the code, and gets a client
//! certificate signed by its region's device CA. Every later call ([`SYNC_PATH`],
//! [`HEARTBEAT_PATH`], [`ROTATE_PATH`]) goes over mutual TLS with that certificate; the hub knows
//! the device from it and refuses a revoked one at once.

use serde::{Deserialize, Serialize};

/// `POST` [`EnrolRequest`] → [`Enrolled`], server-authenticated TLS only.
pub const ENROL_PATH: &str = "/api/v1/device/enrol";
/// `POST` [`crate::sync::SyncRequest`] → [`crate::sync::SyncResponse`], mutual TLS.
pub const SYNC_PATH: &str = "/api/v1/device/sync";
/// `POST` [`Heartbeat`] → [`HeartbeatAnswer`], mutual TLS.
pub const HEARTBEAT_PATH: &str = "/api/v1/device/heartbeat";
/// `POST` [`RotateRequest`] → [`Enrolled`], mutual TLS with the certificate still valid.
pub const ROTATE_PATH: &str = "/api/v1/device/rotate";

/// An enrolment code: 12 characters of an alphabet without look-alikes, shown in groups of four
/// (`K7QM-2XPA-9RTD`); the hub ignores case, spaces and dashes when it reads one.
pub const ENROL_CODE_LEN: usize = 12;

/// The characters of enrolment codes: digits and capitals without 0/O, 1/I/L, nothing to mistake
/// when read off a screen or paper.
pub const ENROL_CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// An enrolment code as typed (any case, spaces and dashes ignored) in its canonical form, or
/// `None` if it cannot be a code at all.
pub fn normalise_enrol_code(typed: &str) -> Option<String> {
    let raw: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (raw.len() == ENROL_CODE_LEN && raw.bytes().all(|b| ENROL_CODE_ALPHABET.contains(&b)))
        .then_some(raw)
}

/// A kiosk's request to become a device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub api_version: u32,
    /// The one-time code the admin was given (valid 24 h, single use).
    pub code: String,
    /// PKCS#10 certificate signing request, PEM, for the key pair the kiosk just made.
    pub csr_pem: String,
}

/// A new client certificate for a device (answer to enrolment and to rotation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Enrolled {
    pub device_id: String,
    pub region_id: String,
    /// The device's client certificate, PEM, signed by the region's device CA.
    pub certificate_pem: String,
    /// The region's device CA certificate, PEM.
    pub ca_pem: String,
    /// When the certificate expires, RFC 3339 UTC; the kiosk rotates well before.
    pub not_after: String,
}

/// A request for a new certificate before the current one expires (new key pair, new CSR).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RotateRequest {
    pub api_version: u32,
    pub csr_pem: String,
}

/// The printer as the kiosk sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    Ok,
    PaperLow,
    Out,
    Offline,
}

/// How the kiosk is doing, sent every few minutes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub api_version: u32,
    pub software_version: String,
    pub uptime_s: u64,
    pub disk_free_bytes: u64,
    /// The Pi's firmware flags (`vcgencmd get_throttled`): under-voltage now or since boot.
    pub under_voltage: bool,
    pub throttled: bool,
    /// SD card / storage health as far as the kiosk can tell (`ok`, `worn`, `errors`).
    pub storage: String,
    pub printer: PrinterState,
    /// Last successful sync, RFC 3339 UTC; absent before the first.
    pub last_sync_at: Option<String>,
    pub outbox_len: u64,
    /// The last event of a software update, absent on a kiosk never updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::update::UpdateReport>,
}

/// The hub's answer to a heartbeat: its clock, for a kiosk without NTP to notice drift.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatAnswer {
    pub hub_time: String,
}
