//! Kiosk devices: enrolment with one-time codes, the region's device CA, client certificates
//! (mutual TLS), revocation and rotation, heartbeats and alerts.
//!
//! Everything here is blocking store work, called the same way by the API (through
//! `Store::run`) and the command line: each operation is one transaction with its audit lines,
//! so a refused request changes nothing.

pub mod ca;
pub mod codes;
pub mod status;
pub mod tls;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use protocol::API_VERSION;
use protocol::device::{EnrolRequest, Enrolled, RotateRequest};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::Device;
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{StoreError, StoreResult};

pub use status::{Alert, DeviceStatus};
pub use tls::authenticate;

/// The device a request over mutual TLS comes from, as established from its client certificate
/// (and checked against the store: known, active, not revoked). Handlers of device endpoints
/// take it as `axum::Extension<DeviceIdentity>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub region_id: String,
    pub village_id: String,
}

impl DeviceIdentity {
    /// The device as the audit log names it.
    pub fn who(&self, request_id: Option<String>) -> Who {
        device_who(&self.device_id, request_id)
    }
}

fn device_who(device_id: &str, request_id: Option<String>) -> Who {
    Who {
        actor: format!("device:{device_id}"),
        request_id,
    }
}

/// Why a kiosk (or someone pretending to be one) is refused. Each has its own status and title,
/// so a kiosk and its admin can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    NoCertificate,
    UnknownCertificate,
    CertificateExpired,
    OtherRegion,
    DeviceRevoked,
    NotEnrolled,
    UnknownCode,
    CodeExpired,
    CodeUsed,
    CodeReplaced,
}

impl Refusal {
    /// The HTTP status: 401 when the certificate proves nothing, 403 when it is known but may
    /// not be used, 403 for every enrolment code that cannot be used.
    pub fn status(self) -> u16 {
        match self {
            Refusal::NoCertificate | Refusal::UnknownCertificate | Refusal::CertificateExpired => {
                401
            }
            _ => 403,
        }
    }

    /// The last part of the problem type, `urn:dorfpunkt:problem:<slug>`.
    pub fn slug(self) -> &'static str {
        match self {
            Refusal::NoCertificate => "device-certificate-needed",
            Refusal::UnknownCertificate => "device-certificate-unknown",
            Refusal::CertificateExpired => "device-certificate-expired",
            Refusal::OtherRegion => "device-certificate-other-region",
            Refusal::DeviceRevoked => "device-revoked",
            Refusal::NotEnrolled => "device-not-enrolled",
            Refusal::UnknownCode => "enrolment-code-unknown",
            Refusal::CodeExpired => "enrolment-code-expired",
            Refusal::CodeUsed => "enrolment-code-used",
            Refusal::CodeReplaced => "enrolment-code-replaced",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Refusal::NoCertificate => "device certificate needed",
            Refusal::UnknownCertificate => "unknown device certificate",
            Refusal::CertificateExpired => "device certificate expired",
            Refusal::OtherRegion => "certificate of another region",
            Refusal::DeviceRevoked => "device revoked",
            Refusal::NotEnrolled => "device not enrolled",
            Refusal::UnknownCode => "unknown enrolment code",
            Refusal::CodeExpired => "enrolment code expired",
            Refusal::CodeUsed => "enrolment code already used",
            Refusal::CodeReplaced => "enrolment code replaced",
        }
    }
}

/// A device operation that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{}: {detail}", .refusal.title())]
    Refused { refusal: Refusal, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn refuse<T>(refusal: Refusal, detail: impl Into<String>) -> Result<T, DeviceError> {
    Err(DeviceError::Refused {
        refusal,
        detail: detail.into(),
    })
}

pub type DeviceResult<T> = Result<T, DeviceError>;

/// A one-time enrolment code as shown to the admin, once.
#[derive(Clone, Debug, Serialize)]
pub struct IssuedCode {
    pub device_id: String,
    /// `XXXX-XXXX-XXXX`.
    pub code: String,
    pub expires_at: String,
}

/// Adds a kiosk at `stop_id` (the stop decides region and village) and issues its first code.
pub fn add_device(
    conn: &mut Connection,
    who: &Who,
    name: &str,
    stop_id: &str,
    settings: Map<String, Value>,
    now: DateTime<Utc>,
) -> DeviceResult<(Value, IssuedCode)> {
    let tx = conn.transaction().map_err(StoreError::from)?;
    let region_id: String = tx
        .query_row(
            "SELECT region_id FROM stops WHERE id = ?1",
            [stop_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)?
        .ok_or_else(|| StoreError::invalid("stop_id", format!("no stop with id {stop_id}")))?;
    let input = Device {
        region_id,
        name: name.to_string(),
        stop_id: stop_id.to_string(),
        settings,
    };
    let created = records::create_in(&tx, who, None, &input)?;
    let id = text(&created.record, "id")?;
    let code = issue_code_in(&tx, who, &id, now)?;
    tx.commit().map_err(StoreError::from)?;
    Ok((created.record, code))
}

/// A new one-time code for a device, valid 24 hours. Unused older codes of the device stop
/// working; a revoked device goes back to pending, to be enrolled again with this code.
pub fn issue_code(
    conn: &mut Connection,
    who: &Who,
    device_id: &str,
    now: DateTime<Utc>,
) -> DeviceResult<IssuedCode> {
    let tx = conn.transaction().map_err(StoreError::from)?;
    let code = issue_code_in(&tx, who, device_id, now)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(code)
}

fn issue_code_in(
    tx: &Connection,
    who: &Who,
    device_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<IssuedCode> {
    let device = records::read_row::<Device>(tx, device_id)?;
    let region = text(&device, "region_id")?;
    let now_s = stamp(now);
    tx.execute(
        "UPDATE enrolment_codes SET replaced_at = ?1
         WHERE device_id = ?2 AND used_at IS NULL AND replaced_at IS NULL",
        params![now_s, device_id],
    )?;
    let code = codes::new_code();
    let canonical = codes::normalise(&code)
        .ok_or_else(|| StoreError::Internal("a new enrolment code does not read back".into()))?;
    let expires_at = stamp(now + Duration::hours(codes::VALID_HOURS));
    tx.execute(
        "INSERT INTO enrolment_codes (code_hash, device_id, created_at, expires_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            codes::hash(&canonical),
            device_id,
            now_s,
            expires_at,
            who.actor
        ],
    )?;
    logs::audit(
        tx,
        who,
        Action::Create,
        "enrolment_codes",
        Some(device_id),
        Some(&region),
    )?;
    if device.get("status").and_then(Value::as_str) == Some("revoked") {
        tx.execute(
            "UPDATE devices SET status = 'pending', updated_at = ?1, version = version + 1
             WHERE id = ?2",
            params![now_s, device_id],
        )?;
        log_device(tx, who, device_id)?;
    }
    Ok(IssuedCode {
        device_id: device_id.to_string(),
        code,
        expires_at,
    })
}

/// Enrols a kiosk: checks the one-time code, signs its CSR with the region's device CA (made now
/// if the region has none), and makes the device active. Certificates of an earlier enrolment
/// stop working: their key may be lost with the old SD card.
pub fn enrol(
    conn: &mut Connection,
    request: &EnrolRequest,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> DeviceResult<Enrolled> {
    check_api_version(request.api_version)?;
    let canonical = codes::normalise(&request.code).ok_or_else(|| {
        StoreError::invalid(
            "code",
            "must be 12 letters and digits as given by the hub, like K7QM-2XPA-9RTD",
        )
    })?;
    let csr = ca::parse_csr(&request.csr_pem).map_err(|r| StoreError::invalid("csr_pem", r))?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    let code_hash = codes::hash(&canonical);
    type CodeRow = (String, String, Option<String>, Option<String>);
    let row: Option<CodeRow> = tx
        .query_row(
            "SELECT device_id, expires_at, used_at, replaced_at FROM enrolment_codes
             WHERE code_hash = ?1",
            [&code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(StoreError::from)?;
    let Some((device_id, expires_at, used_at, replaced_at)) = row else {
        return refuse(
            Refusal::UnknownCode,
            "this hub never issued this code; check it or ask for a new one",
        );
    };
    if let Some(at) = used_at {
        return refuse(
            Refusal::CodeUsed,
            format!("the code was used at {at}; ask the admin for a new one"),
        );
    }
    if replaced_at.is_some() {
        return refuse(
            Refusal::CodeReplaced,
            "a newer code was issued for this device, or it was revoked; use the newest code",
        );
    }
    if expires_at <= stamp(now) {
        return refuse(
            Refusal::CodeExpired,
            format!("the code expired at {expires_at}; ask the admin for a new one"),
        );
    }
    let device = records::read_row::<Device>(&tx, &device_id)?;
    if device.get("status").and_then(Value::as_str) == Some("revoked") {
        return refuse(Refusal::DeviceRevoked, "the device was revoked");
    }
    let region = text(&device, "region_id")?;
    let ca = ca::ca_of(&tx, &region, now)?;
    let signed = ca::sign(&ca, csr, &device_id, now)?;
    let now_s = stamp(now);
    let who = device_who(&device_id, request_id);
    let revoked = tx
        .execute(
            "UPDATE device_certificates SET revoked_at = ?1 WHERE device_id = ?2 AND revoked_at IS NULL",
            params![now_s, device_id],
        )
        .map_err(StoreError::from)?;
    if revoked > 0 {
        logs::audit(
            &tx,
            &who,
            Action::Cancel,
            "device_certificates",
            Some(&device_id),
            Some(&region),
        )?;
    }
    store_certificate(&tx, &who, &device_id, &region, &signed, now)?;
    tx.execute(
        "UPDATE enrolment_codes SET used_at = ?1 WHERE code_hash = ?2",
        params![now_s, code_hash],
    )
    .map_err(StoreError::from)?;
    logs::audit(
        &tx,
        &who,
        Action::Update,
        "enrolment_codes",
        Some(&device_id),
        Some(&region),
    )?;
    tx.execute(
        "UPDATE devices SET status = 'active', updated_at = ?1, version = version + 1 WHERE id = ?2",
        params![now_s, device_id],
    )
    .map_err(StoreError::from)?;
    log_device(&tx, &who, &device_id)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(enrolled(&device_id, &region, &ca, &signed))
}

/// A new certificate for a device that still holds a valid one (new key pair, new CSR). The
/// older certificate keeps working until it expires or the device is revoked.
pub fn rotate(
    conn: &mut Connection,
    identity: &DeviceIdentity,
    request: &RotateRequest,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> DeviceResult<Enrolled> {
    check_api_version(request.api_version)?;
    let csr = ca::parse_csr(&request.csr_pem).map_err(|r| StoreError::invalid("csr_pem", r))?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    let ca = ca::ca_of(&tx, &identity.region_id, now)?;
    let signed = ca::sign(&ca, csr, &identity.device_id, now)?;
    let who = identity.who(request_id);
    store_certificate(
        &tx,
        &who,
        &identity.device_id,
        &identity.region_id,
        &signed,
        now,
    )?;
    tx.execute(
        "UPDATE devices SET updated_at = ?1, version = version + 1 WHERE id = ?2",
        params![stamp(now), identity.device_id],
    )
    .map_err(StoreError::from)?;
    log_device(&tx, &who, &identity.device_id)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(enrolled(
        &identity.device_id,
        &identity.region_id,
        &ca,
        &signed,
    ))
}

/// Revokes a device: the same as cancelling the devices resource (see [`revoke_in`]).
pub fn revoke(conn: &mut Connection, who: &Who, device_id: &str) -> DeviceResult<Value> {
    Ok(records::cancel::<Device>(conn, who, device_id, None)?)
}

/// What revoking a device does besides its status, inside the cancelling transaction: all its
/// certificates and unused codes stop working. Requests on connections already open are refused
/// too, because every device request is checked against the store.
pub fn revoke_in(tx: &Connection, who: &Who, device_id: &str, region_id: &str) -> StoreResult<()> {
    let now = crate::store::now_text();
    tx.execute(
        "UPDATE device_certificates SET revoked_at = ?1 WHERE device_id = ?2 AND revoked_at IS NULL",
        params![now, device_id],
    )?;
    tx.execute(
        "UPDATE enrolment_codes SET replaced_at = ?1
         WHERE device_id = ?2 AND used_at IS NULL AND replaced_at IS NULL",
        params![now, device_id],
    )?;
    logs::audit(
        tx,
        who,
        Action::Cancel,
        "device_certificates",
        Some(device_id),
        Some(region_id),
    )
}

fn store_certificate(
    tx: &Connection,
    who: &Who,
    device_id: &str,
    region_id: &str,
    signed: &ca::Signed,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO device_certificates (fingerprint, device_id, region_id, serial, not_after, issued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            signed.fingerprint,
            device_id,
            region_id,
            signed.serial,
            stamp(signed.not_after),
            stamp(now)
        ],
    )?;
    tx.execute(
        "UPDATE devices SET cert_fingerprint = ?1 WHERE id = ?2",
        params![signed.fingerprint, device_id],
    )?;
    logs::audit(
        tx,
        who,
        Action::Create,
        "device_certificates",
        Some(&signed.fingerprint),
        Some(region_id),
    )
}

/// Audits a change of the device record and puts it on the region's change log, like every
/// write of a kiosk-visible record.
fn log_device(tx: &Connection, who: &Who, device_id: &str) -> StoreResult<()> {
    let record = records::read_row::<Device>(tx, device_id)?;
    let region = text(&record, "region_id")?;
    logs::audit(
        tx,
        who,
        Action::Update,
        "devices",
        Some(device_id),
        Some(&region),
    )?;
    logs::record_change(tx, &region, "devices", device_id, false, &record)?;
    Ok(())
}

fn enrolled(device_id: &str, region_id: &str, ca: &ca::RegionCa, signed: &ca::Signed) -> Enrolled {
    Enrolled {
        device_id: device_id.to_string(),
        region_id: region_id.to_string(),
        certificate_pem: signed.pem.clone(),
        ca_pem: ca.cert_pem.clone(),
        not_after: stamp(signed.not_after),
    }
}

fn check_api_version(version: u32) -> StoreResult<()> {
    if version == API_VERSION {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "api_version",
            format!("this hub speaks version {API_VERSION}"),
        ))
    }
}

fn text(record: &Value, field: &str) -> StoreResult<String> {
    record
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| StoreError::Internal(format!("device record without {field}")))
}

/// An instant in the stored form (RFC 3339 UTC, whole seconds).
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
