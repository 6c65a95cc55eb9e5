//! The kiosk's identity as a device of its region: enrolment with a one-time code, the key pair
//! and client certificate in the data directory, and rotation before the certificate expires.
//!
//! Everything the kiosk needs to reach its hub lives in one file, `identity.json` in the data
//! directory (mode 0600, it holds the private key): hub URL, the hub's certificate (the only one
//! trusted for the hub), device and region ids, key, client certificate and the region's device
//! CA. It is written to a temporary file, synced and renamed over the old one, so a kiosk killed
//! during enrolment or rotation holds either the old identity or the new, never half of each.
//!
//! The kiosk database belongs to one device ([`crate::Store::adopt`]). Enrolling again as another
//! device or into another region empties the replica and the cursor, so nothing of the old
//! region stays. Outbox entries still waiting for the hub belong to the old device: enrolment is
//! refused while there are any (before the one-time code is spent), unless the admin gives them
//! up (`discard_pending`); entries of the same device re-enrolled are kept either way.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use protocol::API_VERSION;
use protocol::device::{ENROL_PATH, EnrolRequest, Enrolled, ROTATE_PATH, RotateRequest};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use serde::{Deserialize, Serialize};

use crate::DATABASE_FILE;
use crate::hub_client::{HubClient, HubError, Timeouts};
use crate::store::{Adoption, Owner, Store, StoreError};

/// The identity file in the data directory.
pub const IDENTITY_FILE: &str = "identity.json";

/// A certificate with less than this left is replaced.
pub fn rotate_before() -> Duration {
    Duration::days(30)
}

/// What the kiosk knows about itself and its hub. Written only whole (see the module docs).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `https://…`, without a trailing slash.
    pub hub_url: String,
    /// The hub's server certificate (or its CA), PEM: the only certificate trusted for the hub.
    pub hub_ca_pem: String,
    pub device_id: String,
    pub region_id: String,
    /// The device's private key, PKCS#8 PEM (ECDSA P-256).
    pub key_pem: String,
    /// The client certificate the hub signed, PEM.
    pub certificate_pem: String,
    /// The region's device CA, PEM.
    pub region_ca_pem: String,
    /// When the certificate expires, RFC 3339 UTC, as the hub said.
    pub not_after: String,
    /// When this certificate arrived (enrolment or rotation), RFC 3339 UTC.
    pub issued_at: String,
}

impl fmt::Debug for Identity {
    /// Everything but the private key, so logging an identity never leaks it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("hub_url", &self.hub_url)
            .field("device_id", &self.device_id)
            .field("region_id", &self.region_id)
            .field("not_after", &self.not_after)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

/// Why enrolment, rotation or loading the identity failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("this kiosk is not enrolled ({} is missing): run `kiosk enroll` first", .0.display())]
    NotEnrolled(PathBuf),
    /// The hub said no: a wrong, expired or used code, a revoked certificate, … The hub's
    /// problem title and detail say which.
    #[error("the hub refused: {title}: {detail}")]
    Refused {
        status: u16,
        title: String,
        detail: String,
    },
    #[error(transparent)]
    Hub(HubError),
    #[error("making the key or certificate request: {0}")]
    Crypto(String),
    #[error("the hub's answer cannot be used: {0}")]
    BadAnswer(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is damaged: {why}", path.display())]
    Corrupt { path: PathBuf, why: String },
    /// Enrolment was refused before the code was used: the outbox holds entries the hub has not
    /// answered.
    #[error(
        "{pending} outbox entries still wait for the hub's answer: sync them first (`kiosk \
         sync`), or enrol with --discard-pending to give them up if this kiosk becomes another \
         device"
    )]
    PendingEntries { pending: u64 },
    #[error("the kiosk database: {0}")]
    Store(#[from] StoreError),
    #[error("interrupted by shutdown")]
    Interrupted,
}

impl From<HubError> for IdentityError {
    fn from(e: HubError) -> Self {
        match e {
            HubError::Problem {
                status,
                title,
                detail,
                ..
            } => IdentityError::Refused {
                status,
                title,
                detail,
            },
            other => IdentityError::Hub(other),
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Identity {
    /// The identity file of `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(IDENTITY_FILE)
    }

    /// Reads the identity of an enrolled kiosk.
    pub fn load(data_dir: &Path) -> Result<Identity, IdentityError> {
        let path = Self::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IdentityError::NotEnrolled(path));
            }
            Err(e) => return Err(io_error(&path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| IdentityError::Corrupt {
            path,
            why: e.to_string(),
        })
    }

    /// Writes the identity whole: temporary file (0600), fsync, rename, fsync of the directory.
    pub fn save(&self, data_dir: &Path) -> Result<(), IdentityError> {
        std::fs::create_dir_all(data_dir).map_err(io_error(data_dir))?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| IdentityError::Crypto(format!("serialising the identity: {e}")))?;
        write_atomically(&Self::path(data_dir), text.as_bytes())
    }

    /// The device and region the kiosk database belongs to under this identity.
    pub fn owner(&self) -> Owner {
        Owner {
            device_id: self.device_id.clone(),
            region_id: self.region_id.clone(),
        }
    }

    /// Opens the kiosk database of `data_dir` for this identity: a database of another device
    /// has its replica and cursor emptied, or is refused while entries of that device wait
    /// ([`Store::adopt`] without discarding). Blocks on SQLite.
    pub fn open_store(&self, data_dir: &Path) -> Result<(Store, Adoption), IdentityError> {
        let store = Store::open(&data_dir.join(DATABASE_FILE))?;
        let adoption = store.adopt(&self.owner(), false)?;
        Ok((store, adoption))
    }

    /// When the certificate expires.
    pub fn expires_at(&self) -> Result<DateTime<Utc>, IdentityError> {
        parse_instant(&self.not_after).map_err(IdentityError::BadAnswer)
    }

    /// Whether the certificate has less than [`rotate_before`] left at `now`.
    pub fn rotation_due(&self, now: DateTime<Utc>) -> Result<bool, IdentityError> {
        Ok(self.expires_at()? - now < rotate_before())
    }

    fn from_answer(
        hub_url: &str,
        hub_ca_pem: &str,
        key: &KeyPair,
        answer: Enrolled,
    ) -> Result<Identity, IdentityError> {
        if !answer.certificate_pem.contains("BEGIN CERTIFICATE") {
            return Err(IdentityError::BadAnswer(
                "no certificate in the answer".into(),
            ));
        }
        parse_instant(&answer.not_after).map_err(IdentityError::BadAnswer)?;
        if answer.device_id.trim().is_empty() || answer.region_id.trim().is_empty() {
            return Err(IdentityError::BadAnswer(
                "no device or region id in the answer".into(),
            ));
        }
        let identity = Identity {
            hub_url: hub_url.trim().trim_end_matches('/').to_string(),
            hub_ca_pem: hub_ca_pem.to_string(),
            device_id: answer.device_id,
            region_id: answer.region_id,
            key_pem: key.serialize_pem(),
            certificate_pem: answer.certificate_pem,
            region_ca_pem: answer.ca_pem,
            not_after: answer.not_after,
            issued_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        // Certificate and key must make a client before they replace a working identity.
        HubClient::for_device(&identity, Timeouts::default())
            .map_err(|e| IdentityError::BadAnswer(e.to_string()))?;
        Ok(identity)
    }
}

/// Enrols this kiosk with the hub at `hub_url` using the admin's one-time `code`: makes a fresh
/// key pair, sends its certificate request over TLS trusting only `hub_ca_pem`, and stores the
/// signed certificate with everything else in `data_dir`. An existing identity is replaced only
/// once the new one is complete (re-enrolment with a new code). Refused while outbox entries
/// wait; see [`enrol_with`].
pub async fn enrol(
    hub_url: &str,
    hub_ca_pem: &str,
    code: &str,
    data_dir: &Path,
) -> Result<Identity, IdentityError> {
    Ok(enrol_with(hub_url, hub_ca_pem, code, data_dir, false)
        .await?
        .identity)
}

/// A finished enrolment and what it did to the kiosk database.
#[derive(Debug)]
pub struct Enrolment {
    pub identity: Identity,
    pub adoption: Adoption,
}

/// [`enrol`], with the choice what becomes of outbox entries the hub has not answered.
///
/// Without `discard_pending` enrolment stops before the code is spent when there are any
/// ([`IdentityError::PendingEntries`]). With it, they are kept if the hub enrols this kiosk as the
/// same device again, and given up (answered locally as discarded, personal data removed) if it
/// becomes another device or moves region. Either way a new device or region empties the
/// replica and the cursor. The database follows the new identity before the identity file is
/// replaced, so a kiosk killed in between holds its old identity and a database it adopts again
/// on the next open.
pub async fn enrol_with(
    hub_url: &str,
    hub_ca_pem: &str,
    code: &str,
    data_dir: &Path,
    discard_pending: bool,
) -> Result<Enrolment, IdentityError> {
    let db = data_dir.join(DATABASE_FILE);
    if db.exists() {
        let dir = data_dir.to_path_buf();
        let pending = blocking(move || {
            let store = Store::open(&dir.join(DATABASE_FILE))?;
            // A database older than its owner record belongs to the identity beside it.
            if store.owner()?.is_none()
                && let Ok(current) = Identity::load(&dir)
            {
                store.adopt(&current.owner(), false)?;
            }
            Ok(store.pending_count()?)
        })
        .await?;
        if pending > 0 && !discard_pending {
            return Err(IdentityError::PendingEntries { pending });
        }
    }
    let client = HubClient::anonymous(hub_url, hub_ca_pem, Timeouts::default())?;
    let (key, csr_pem) = new_key_and_request()?;
    let request = EnrolRequest {
        api_version: API_VERSION,
        code: code.trim().to_string(),
        csr_pem,
    };
    let answer: Enrolled = client.post(ENROL_PATH, &request).await?;
    let identity = Identity::from_answer(client.base_url(), hub_ca_pem, &key, answer)?;
    let owner = identity.owner();
    let dir = data_dir.to_path_buf();
    let adoption = blocking(move || {
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let store = Store::open(&dir.join(DATABASE_FILE))?;
        Ok(store.adopt(&owner, discard_pending)?)
    })
    .await?;
    identity.save(data_dir)?;
    Ok(Enrolment { identity, adoption })
}

/// Runs blocking work (SQLite, files) off the async executor.
async fn blocking<R, F>(work: F) -> Result<R, IdentityError>
where
    R: Send + 'static,
    F: FnOnce() -> Result<R, IdentityError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| IdentityError::Interrupted)?
}

/// Replaces the certificate when fewer than [`rotate_before`] are left at `now`: a new key pair,
/// its request sent over mutual TLS with the current certificate, the new identity stored
/// whole. Returns the new identity, or `None` when no rotation was due.
pub async fn rotate_if_due(
    data_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Option<Identity>, IdentityError> {
    let current = Identity::load(data_dir)?;
    if !current.rotation_due(now)? {
        return Ok(None);
    }
    rotate(data_dir, &current).await.map(Some)
}

/// Rotates the certificate of `current` now (see [`rotate_if_due`]).
pub async fn rotate(data_dir: &Path, current: &Identity) -> Result<Identity, IdentityError> {
    let client = HubClient::for_device(current, Timeouts::default())?;
    let (key, csr_pem) = new_key_and_request()?;
    let request = RotateRequest {
        api_version: API_VERSION,
        csr_pem,
    };
    let answer: Enrolled = client.post(ROTATE_PATH, &request).await?;
    if answer.device_id != current.device_id || answer.region_id != current.region_id {
        return Err(IdentityError::BadAnswer(format!(
            "rotation answered for device {} of region {}, this is {} of {}",
            answer.device_id, answer.region_id, current.device_id, current.region_id
        )));
    }
    let identity = Identity::from_answer(&current.hub_url, &current.hub_ca_pem, &key, answer)?;
    identity.save(data_dir)?;
    Ok(identity)
}

/// A fresh ECDSA P-256 key pair and a PKCS#10 request for it, PEM. The subject is a plain name:
/// the hub decides the certificate's contents, the request only proves the key.
fn new_key_and_request() -> Result<(KeyPair, String), IdentityError> {
    let crypto = |e: rcgen::Error| IdentityError::Crypto(e.to_string());
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(crypto)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(crypto)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Dorfpunkt kiosk");
    params.distinguished_name = name;
    let csr = params.serialize_request(&key).map_err(crypto)?;
    let pem = csr.pem().map_err(crypto)?;
    Ok((key, pem))
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("'{text}' is not an RFC 3339 instant: {e}"))
}

/// Writes `bytes` to `path` so that `path` holds either its old content or all of the new:
/// a temporary file beside it (mode 0600), synced, renamed over `path`, the directory synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    use std::os::unix::fs::OpenOptionsExt;

    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_error(&tmp))?;
        file.write_all(bytes).map_err(io_error(&tmp))?;
        file.sync_all().map_err(io_error(&tmp))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io_error(path))?;
        // The rename is durable only once the directory entry is on disk.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn sample(not_after: &str) -> Identity {
        Identity {
            hub_url: "https://hub.example".into(),
            hub_ca_pem: "ca".into(),
            device_id: "dev-1".into(),
            region_id: "r1".into(),
            key_pem: "-----BEGIN PRIVATE KEY-----secret".into(),
            certificate_pem: "cert".into(),
            region_ca_pem: "region".into(),
            not_after: not_after.into(),
            issued_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn the_identity_is_written_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let identity = sample("2027-01-01T00:00:00Z");
        identity.save(dir.path()).unwrap();
        let path = Identity::path(dir.path());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Identity::load(dir.path()).unwrap(), identity);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [IDENTITY_FILE], "no temporary file left");
        assert!(!format!("{identity:?}").contains("secret"));
    }

    #[test]
    fn a_missing_identity_says_to_enrol() {
        let dir = tempfile::tempdir().unwrap();
        let err = Identity::load(dir.path()).unwrap_err();
        assert!(matches!(err, IdentityError::NotEnrolled(_)));
        assert!(err.to_string().contains("kiosk enroll"), "{err}");
    }

    #[test]
    fn rotation_is_due_thirty_days_before_expiry() {
        let identity = sample("2027-01-31T00:00:00Z");
        let at = |t: &str| parse_instant(t).unwrap();
        assert!(!identity.rotation_due(at("2026-12-31T00:00:00Z")).unwrap());
        assert!(identity.rotation_due(at("2027-01-01T00:00:01Z")).unwrap());
        assert!(sample("soon").rotation_due(Utc::now()).is_err());
    }

    #[test]
    fn a_request_is_a_pem_csr_for_a_p256_key() {
        let (key, pem) = new_key_and_request().unwrap();
        assert!(
            pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
            "{pem}"
        );
        assert!(
            key.serialize_pem()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(key.algorithm(), &PKCS_ECDSA_P256_SHA256);
    }
}
