//! Kiosk software updates on the hub: signed releases, roll-outs to one kiosk and then to all of
//! a region, the offer in each kiosk's sync answer, the package download, and what kiosks report.
//!
//! **Keys.** `hub update keygen` makes an Ed25519 key pair (PKCS#8 and SPKI PEM, as OpenSSL
//! writes them); the private key signs releases on the admin's machine (`hub update sign`) and
//! never needs to be on the hub. The hub holds only the public key (`<data_dir>/update-key.pub`)
//! and checks each release with it when it is added, so nobody stages a badly signed file. The
//! kiosk checks again with the key pinned in its image: the hub cannot make a package a kiosk
//! would install.
//!
//! **Roll-out.** A release is staged for one kiosk first; for all kiosks of a region only once a
//! kiosk of that region reported the version healthy after its restart. A kiosk's target is the
//! newest roll-out for it or for its region whose version it has not rolled back; the sync answer
//! offers it while the kiosk reports another version. A version a kiosk rolled back is never
//! offered to it again nor staged for it again: the fix is a new release.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use protocol::update::{
    DOWNLOAD_PREFIX, ED25519_SPKI_PREFIX, UpdateOffer, UpdateReport, UpdateStatus, check_version,
    signed_message,
};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::api::AppState;
use crate::api::auth::Caller;
use crate::api::body::{JsonObject, query_pairs};
use crate::api::error::ApiError;
use crate::devices::{DeviceIdentity, stamp};
use crate::domain::Role;
use crate::store::logs::{self, Action, Who};
use crate::store::records;
use crate::store::{Store, StoreError, StoreResult};

/// The release public key in the hub's data directory.
pub const RELEASE_KEY_FILE: &str = "update-key.pub";
/// The folder of release packages in the hub's data directory.
pub const PACKAGES_DIR: &str = "updates";
/// The private key file `keygen` writes (owner-only); the public one adds `.pub`.
pub const PRIVATE_KEY_FILE: &str = "update-key";

/// Why a key, signature or release cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Key(String),
    /// The signature does not match the package, version and key.
    #[error("the signature does not match: {0}")]
    Signature(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError + '_ {
    move |source| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures

/// Makes a new key pair in `dir`: `update-key` (PKCS#8 PEM, mode 0600, never overwritten) and
/// `update-key.pub` (SPKI PEM). Returns both paths.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf), UpdateError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let private = dir.join(PRIVATE_KEY_FILE);
    let public = dir.join(format!("{PRIVATE_KEY_FILE}.pub"));
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| UpdateError::Key("no random numbers for a key".into()))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|e| UpdateError::Key(format!("the new key: {e}")))?;
    // ring makes a PKCS#8 v2 document (RFC 5958, with the public key), which OpenSSL 3.0 does
    // not read; the file holds the v1 form of the same key (RFC 8410), as OpenSSL writes it.
    let v1 = pkcs8_v1(pkcs8.as_ref())
        .ok_or_else(|| UpdateError::Key("unexpected key document from ring".into()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&private)
        .map_err(io(&private))?;
    file.write_all(pem("PRIVATE KEY", &v1).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&private))?;
    let mut spki = ED25519_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    std::fs::write(&public, pem("PUBLIC KEY", &spki)).map_err(io(&public))?;
    Ok((private, public))
}

/// The start of a PKCS#8 v1 Ed25519 document (RFC 8410 section 7), before the seed.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The v1 document of the key in ring's v2 one: the seed follows the algorithm identifier
/// (OID 1.3.101.112) and the OCTET STRING headers `04 22 04 20`.
fn pkcs8_v1(v2: &[u8]) -> Option<Vec<u8>> {
    const BEFORE_SEED: [u8; 7] = [0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    let at = v2
        .windows(BEFORE_SEED.len())
        .position(|w| w == BEFORE_SEED)?
        + BEFORE_SEED.len();
    let seed = v2.get(at..at + 32)?;
    let mut v1 = PKCS8_V1_PREFIX.to_vec();
    v1.extend_from_slice(seed);
    Some(v1)
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The Ed25519 key of a `PUBLIC KEY` PEM file (SPKI, as `keygen` or `openssl pkey -pubout`
/// writes it).
pub fn read_public_key(path: &Path) -> Result<[u8; 32], UpdateError> {
    use rustls::pki_types::SubjectPublicKeyInfoDer;
    use rustls::pki_types::pem::PemObject;
    let text = std::fs::read(path).map_err(io(path))?;
    let der = SubjectPublicKeyInfoDer::from_pem_slice(&text)
        .map_err(|e| UpdateError::Key(format!("{}: no public key: {e}", path.display())))?;
    public_key_of_spki(der.as_ref())
        .ok_or_else(|| UpdateError::Key(format!("{}: not an Ed25519 key", path.display())))
}

/// The 32 key bytes of an Ed25519 SPKI document.
pub fn public_key_of_spki(der: &[u8]) -> Option<[u8; 32]> {
    der.strip_prefix(&ED25519_SPKI_PREFIX[..])?.try_into().ok()
}

fn read_private_key(path: &Path) -> Result<Ed25519KeyPair, UpdateError> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let text = std::fs::read(path).map_err(io(path))?;
    let key = PrivateKeyDer::from_pem_slice(&text)
        .map_err(|e| UpdateError::Key(format!("{}: no private key: {e}", path.display())))?;
    let PrivateKeyDer::Pkcs8(pkcs8) = key else {
        return Err(UpdateError::Key(format!(
            "{}: not a PKCS#8 key",
            path.display()
        )));
    };
    // OpenSSL writes PKCS#8 v1 (without the public key), ring's own v2: both are fine.
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8.secret_pkcs8_der())
        .map_err(|e| UpdateError::Key(format!("{}: not an Ed25519 key: {e}", path.display())))
}

/// SHA-256 (lowercase hex) and size of a file, read in pieces.
pub fn hash_file(path: &Path) -> Result<(String, u64), UpdateError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Signs `package` as `version` with the private key in `key`; writes and returns `<package>.sig`
/// (the signature as hex, one line).
pub fn sign(key: &Path, package: &Path, version: &str) -> Result<PathBuf, UpdateError> {
    check_version(version).map_err(|e| UpdateError::Key(format!("version: {e}")))?;
    let pair = read_private_key(key)?;
    let (sha256, size) = hash_file(package)?;
    let signature = pair.sign(&signed_message(version, &sha256, size));
    let mut name = package.as_os_str().to_owned();
    name.push(".sig");
    let out = PathBuf::from(name);
    std::fs::write(&out, format!("{}\n", hex::encode(signature.as_ref()))).map_err(io(&out))?;
    Ok(out)
}

/// Checks a release's signature (hex) with `public`.
pub fn verify(
    public: &[u8; 32],
    version: &str,
    sha256: &str,
    size: u64,
    signature_hex: &str,
) -> Result<(), UpdateError> {
    let signature = hex::decode(signature_hex.trim())
        .ok()
        .filter(|s| s.len() == 64)
        .ok_or_else(|| UpdateError::Signature("not 64 bytes of hex".into()))?;
    UnparsedPublicKey::new(&ED25519, public)
        .verify(&signed_message(version, sha256, size), &signature)
        .map_err(|_| UpdateError::Signature(format!("not made for {version} with this key")))
}

// ---------------------------------------------------------------------------------------------
// Releases

/// A release as stored and listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Release {
    pub version: String,
    pub sha256: String,
    pub size: u64,
    pub signature: String,
    pub added_by: String,
    pub added_at: String,
}

/// Whether [`add_release`] stored a new release or found the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    New,
    AlreadyThere,
}

/// Adds a release: checks version and signature with the hub's release key
/// (`<data_dir>/update-key.pub` unless `public_key` names another), copies the package to
/// `<data_dir>/updates/<version>.pkg` (whole or not at all) and records it. Adding the same
/// package as the same version again changes nothing; another package under a known version is
/// refused.
pub fn add_release(
    store: &Store,
    data_dir: &Path,
    public_key: Option<&Path>,
    package: &Path,
    signature_file: &Path,
    version: &str,
    who: &Who,
) -> Result<(Release, Added), UpdateError> {
    check_version(version).map_err(|e| StoreError::invalid("version", e.to_string()))?;
    let key_path = public_key.map_or_else(|| data_dir.join(RELEASE_KEY_FILE), Path::to_path_buf);
    let public = read_public_key(&key_path)?;
    let signature = std::fs::read_to_string(signature_file)
        .map_err(io(signature_file))?
        .trim()
        .to_ascii_lowercase();
    let (sha256, size) = hash_file(package)?;
    if size == 0 {
        return Err(StoreError::invalid("package", "is empty").into());
    }
    verify(&public, version, &sha256, size, &signature)?;

    let known = store.blocking(|conn| release(conn, version))?;
    if let Some(known) = known {
        return if known.sha256 == sha256 && known.size == size {
            Ok((known, Added::AlreadyThere))
        } else {
            Err(StoreError::Conflict(format!(
                "version {version} is a release with another package already; a new package \
                 needs a new version"
            ))
            .into())
        };
    }
    let dir = data_dir.join(PACKAGES_DIR);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let file_name = format!("{version}.pkg");
    let target = dir.join(&file_name);
    let partial = dir.join(format!(".{version}.part"));
    std::fs::copy(package, &partial).map_err(io(&partial))?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    // The copy is what kiosks get: check it, not only the source.
    if hash_file(&partial)? != (sha256.clone(), size) {
        return Err(UpdateError::Key(format!(
            "{} changed while it was copied",
            package.display()
        )));
    }
    std::fs::rename(&partial, &target).map_err(io(&target))?;
    let release = Release {
        version: version.to_string(),
        sha256,
        size,
        signature,
        added_by: who.actor.clone(),
        added_at: crate::store::now_text(),
    };
    let row = release.clone();
    let who = who.clone();
    store.blocking(move |conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO update_releases (version, sha256, size, signature, path, added_by, added_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.version,
                row.sha256,
                row.size as i64,
                row.signature,
                file_name,
                row.added_by,
                row.added_at
            ],
        )?;
        logs::audit(
            &tx,
            &who,
            Action::Create,
            "update_releases",
            Some(&row.version),
            None,
        )?;
        tx.commit()?;
        Ok(())
    })?;
    Ok((release, Added::New))
}

fn release_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Release> {
    Ok(Release {
        version: r.get(0)?,
        sha256: r.get(1)?,
        size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        signature: r.get(3)?,
        added_by: r.get(4)?,
        added_at: r.get(5)?,
    })
}

const RELEASE_COLUMNS: &str = "version, sha256, size, signature, added_by, added_at";

/// The release of `version`, if there is one.
pub fn release(conn: &Connection, version: &str) -> StoreResult<Option<Release>> {
    Ok(conn
        .query_row(
            &format!("SELECT {RELEASE_COLUMNS} FROM update_releases WHERE version = ?1"),
            [version],
            release_of_row,
        )
        .optional()?)
}

/// Every release, newest first.
pub fn releases(conn: &Connection) -> StoreResult<Vec<Release>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RELEASE_COLUMNS} FROM update_releases ORDER BY added_at DESC, rowid DESC"
    ))?;
    let rows = stmt
        .query_map([], release_of_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Roll-outs

/// A request to stage a release: for one kiosk (`device_id`) or for every kiosk of a region
/// (`region_id`), never both. The id is made by the client.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    pub id: Uuid,
    pub version: String,
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
}

/// A roll-out as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rollout {
    pub id: String,
    pub version: String,
    pub region_id: String,
    /// None: every kiosk of the region.
    pub device_id: Option<String>,
    pub staged_by: String,
    pub staged_at: String,
}

/// Whether a stage request made a roll-out or repeated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staged {
    New,
    Repeat,
}

/// Stages a release (see [`StageInput`]) in one transaction with its audit line. Refused: an
/// unknown version or device, a revoked device, a version the kiosk rolled back, and staging for
/// all before a kiosk of the region reported the version healthy. A repeat of an id with the
/// same content gets the first roll-out; other content under a used id is refused.
pub fn stage(
    conn: &mut Connection,
    who: &Who,
    input: &StageInput,
    now: DateTime<Utc>,
) -> StoreResult<(Rollout, Staged)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = input.id.to_string();
    if let Some(known) = rollout(&tx, &id)? {
        let same = known.version == input.version
            && known.device_id == input.device_id
            && input
                .region_id
                .as_ref()
                .is_none_or(|r| *r == known.region_id)
            && (input.device_id.is_some() || input.region_id.is_some());
        return if same {
            Ok((known, Staged::Repeat))
        } else {
            Err(StoreError::Conflict(format!(
                "roll-out {id} was staged before with other content; a new roll-out needs a new id"
            )))
        };
    }
    check_version(&input.version).map_err(|e| StoreError::invalid("version", e.to_string()))?;
    if release(&tx, &input.version)?.is_none() {
        return Err(StoreError::invalid(
            "version",
            format!("no release {}; add it with `hub update add`", input.version),
        ));
    }
    let region_id = match (&input.device_id, &input.region_id) {
        (Some(device), None) => {
            let row: Option<(String, String)> = tx
                .query_row(
                    "SELECT region_id, status FROM devices WHERE id = ?1",
                    [device],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((region, status)) = row else {
                return Err(StoreError::invalid(
                    "device_id",
                    format!("no device {device}"),
                ));
            };
            if status == "revoked" {
                return Err(StoreError::invalid("device_id", "the device is revoked"));
            }
            if rolled_back(&tx, device, &input.version)? {
                return Err(StoreError::Conflict(format!(
                    "kiosk {device} rolled version {} back; stage a new release for it",
                    input.version
                )));
            }
            region
        }
        (None, Some(region)) => {
            if !records::exists(&tx, "regions", region)? {
                return Err(StoreError::invalid(
                    "region_id",
                    format!("no region {region}"),
                ));
            }
            let healthy: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM device_updates u JOIN devices d ON d.id = u.device_id
                 WHERE d.region_id = ?1 AND u.version = ?2 AND u.status = 'healthy')",
                params![region, input.version],
                |r| r.get(0),
            )?;
            if !healthy {
                return Err(StoreError::Conflict(format!(
                    "no kiosk of region {region} has reported version {} healthy yet: stage it \
                     for one kiosk first",
                    input.version
                )));
            }
            region.clone()
        }
        _ => {
            return Err(StoreError::invalid(
                "device_id",
                "give either device_id (one kiosk) or region_id (every kiosk of the region)",
            ));
        }
    };
    let row = Rollout {
        id: id.clone(),
        version: input.version.clone(),
        region_id,
        device_id: input.device_id.clone(),
        staged_by: who.actor.clone(),
        staged_at: stamp(now),
    };
    tx.execute(
        "INSERT INTO update_rollouts (id, version, region_id, device_id, staged_by, staged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            row.id,
            row.version,
            row.region_id,
            row.device_id,
            row.staged_by,
            row.staged_at
        ],
    )?;
    logs::audit(
        &tx,
        who,
        Action::Create,
        "update_rollouts",
        Some(&row.id),
        Some(&row.region_id),
    )?;
    tx.commit()?;
    Ok((row, Staged::New))
}

fn rollout_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Rollout> {
    Ok(Rollout {
        id: r.get(0)?,
        version: r.get(1)?,
        region_id: r.get(2)?,
        device_id: r.get(3)?,
        staged_by: r.get(4)?,
        staged_at: r.get(5)?,
    })
}

fn rollout(conn: &Connection, id: &str) -> StoreResult<Option<Rollout>> {
    Ok(conn
        .query_row(
            "SELECT id, version, region_id, device_id, staged_by, staged_at
             FROM update_rollouts WHERE id = ?1",
            [id],
            rollout_of_row,
        )
        .optional()?)
}

fn rolled_back(conn: &Connection, device: &str, version: &str) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM device_update_failures WHERE device_id = ?1 AND version = ?2)",
        params![device, version],
        |r| r.get(0),
    )?)
}

/// The release a device should run: the newest roll-out for it or its region whose version it
/// has not rolled back.
pub fn target_for(conn: &Connection, device_id: &str) -> StoreResult<Option<Release>> {
    let columns = RELEASE_COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(conn
        .query_row(
            &format!(
                "SELECT {columns} FROM update_rollouts o
                 JOIN update_releases r ON r.version = o.version
                 JOIN devices d ON d.id = ?1
                 WHERE o.region_id = d.region_id AND (o.device_id IS NULL OR o.device_id = d.id)
                   AND NOT EXISTS (SELECT 1 FROM device_update_failures f
                                   WHERE f.device_id = d.id AND f.version = o.version)
                 ORDER BY o.rowid DESC LIMIT 1"
            ),
            [device_id],
            release_of_row,
        )
        .optional()?)
}

/// What the sync answer offers a device: its target, while it reports another version.
pub fn offer_for(conn: &Connection, device_id: &str) -> StoreResult<Option<UpdateOffer>> {
    let Some(target) = target_for(conn, device_id)? else {
        return Ok(None);
    };
    let running: Option<String> = conn
        .query_row(
            "SELECT software_version FROM devices WHERE id = ?1",
            [device_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if running.as_deref() == Some(target.version.as_str()) {
        return Ok(None);
    }
    Ok(Some(UpdateOffer {
        version: target.version,
        sha256: target.sha256,
        size: target.size,
        signature: target.signature,
    }))
}

// ---------------------------------------------------------------------------------------------
// Reports

/// Refuses a report the hub cannot store (checked before anything of the heartbeat is stored).
pub fn check_report(report: &UpdateReport) -> StoreResult<()> {
    check_version(&report.version)
        .map_err(|e| StoreError::invalid("update.version", e.to_string()))?;
    if let Some(previous) = &report.previous_version {
        check_version(previous)
            .map_err(|e| StoreError::invalid("update.previous_version", e.to_string()))?;
    }
    if report
        .detail
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(StoreError::invalid(
            "update.detail",
            "at most 500 characters",
        ));
    }
    DateTime::parse_from_rfc3339(&report.at)
        .map_err(|_| StoreError::invalid("update.at", "must be an RFC 3339 instant"))?;
    Ok(())
}

/// Stores a kiosk's update report as its latest; a roll-back also into the failures, so the
/// version is neither offered to nor staged for the kiosk again. Repeating a report changes
/// nothing more.
pub fn record_report(
    conn: &mut Connection,
    identity: &DeviceIdentity,
    report: &UpdateReport,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    check_report(report)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO device_updates (device_id, version, status, previous_version, detail, at,
             received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (device_id) DO UPDATE SET version = excluded.version,
             status = excluded.status, previous_version = excluded.previous_version,
             detail = excluded.detail, at = excluded.at, received_at = excluded.received_at",
        params![
            identity.device_id,
            report.version,
            report.status.as_str(),
            report.previous_version,
            report.detail,
            report.at,
            stamp(now)
        ],
    )?;
    if report.status == UpdateStatus::RolledBack {
        tx.execute(
            "INSERT INTO device_update_failures (device_id, version, detail, failed_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![identity.device_id, report.version, report.detail, report.at],
        )?;
    }
    tx.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Overview

/// A kiosk as the update pages show it.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceUpdate {
    pub id: String,
    pub name: String,
    pub region_id: String,
    pub status: String,
    /// The version of its last heartbeat.
    pub software_version: Option<String>,
    /// The release it should run.
    pub target_version: Option<String>,
    /// The last update event it reported.
    pub update: Option<ReportedUpdate>,
    /// Versions it rolled back.
    pub rolled_back: Vec<String>,
}

/// The last update event of a kiosk as stored.
#[derive(Clone, Debug, Serialize)]
pub struct ReportedUpdate {
    pub version: String,
    pub status: String,
    pub previous_version: Option<String>,
    pub detail: Option<String>,
    pub at: String,
}

/// Releases, roll-outs and kiosks (of one region or all).
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    pub releases: Vec<Release>,
    pub rollouts: Vec<Rollout>,
    pub devices: Vec<DeviceUpdate>,
}

/// Everything the update pages show, of `region` or of every region.
pub fn overview(conn: &Connection, region: Option<&str>) -> StoreResult<Overview> {
    let releases = releases(conn)?;
    let rollouts = {
        let mut stmt = conn.prepare(
            "SELECT id, version, region_id, device_id, staged_by, staged_at FROM update_rollouts
             WHERE ?1 IS NULL OR region_id = ?1 ORDER BY rowid DESC",
        )?;
        stmt.query_map([region], rollout_of_row)?
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut devices = {
        let mut stmt = conn.prepare(
            "SELECT d.id, d.name, d.region_id, d.status, d.software_version,
                    u.version, u.status, u.previous_version, u.detail, u.at
             FROM devices d LEFT JOIN device_updates u ON u.device_id = d.id
             WHERE ?1 IS NULL OR d.region_id = ?1 ORDER BY d.name, d.id",
        )?;
        stmt.query_map([region], |r| {
            let update = match r.get::<_, Option<String>>(5)? {
                Some(version) => Some(ReportedUpdate {
                    version,
                    status: r.get(6)?,
                    previous_version: r.get(7)?,
                    detail: r.get(8)?,
                    at: r.get(9)?,
                }),
                None => None,
            };
            Ok(DeviceUpdate {
                id: r.get(0)?,
                name: r.get(1)?,
                region_id: r.get(2)?,
                status: r.get(3)?,
                software_version: r.get(4)?,
                target_version: None,
                update,
                rolled_back: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?
    };
    let mut failures = conn.prepare(
        "SELECT version FROM device_update_failures WHERE device_id = ?1 ORDER BY failed_at",
    )?;
    for device in &mut devices {
        device.target_version = target_for(conn, &device.id)?.map(|r| r.version);
        device.rolled_back = failures
            .query_map([&device.id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(Overview {
        releases,
        rollouts,
        devices,
    })
}

// ---------------------------------------------------------------------------------------------
// API

/// The admin routes (`/api/v1/updates`) and the kiosks' download route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/updates", get(list))
        .route("/api/v1/updates/rollouts", post(stage_route))
        .route(&format!("{DOWNLOAD_PREFIX}{{version}}"), get(download))
}

/// `GET /api/v1/updates[?region=]`: releases, roll-outs and kiosks with their versions.
async fn list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Overview>, ApiError> {
    caller.require(&[Role::Admin])?;
    let mut region = None;
    for (key, value) in query_pairs(raw.as_deref())? {
        if key == "region" {
            region = Some(value);
        } else {
            return Err(ApiError::invalid(key, "unknown query parameter"));
        }
    }
    let overview = app
        .store
        .run(move |conn| {
            if let Some(region) = &region
                && !records::exists(conn, "regions", region)?
            {
                return Err(StoreError::NotFound {
                    kind: "region",
                    id: region.clone(),
                });
            }
            overview(conn, region.as_deref())
        })
        .await?;
    Ok(Json(overview))
}

/// `POST /api/v1/updates/rollouts`: stages a release (201), or repeats a roll-out (200).
async fn stage_route(
    State(app): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Admin])?;
    let input: StageInput = records::from_object(body)?;
    let who = caller.who();
    let (row, staged) = app
        .store
        .run(move |conn| stage(conn, &who, &input, Utc::now()))
        .await?;
    let status = match staged {
        Staged::New => StatusCode::CREATED,
        Staged::Repeat => StatusCode::OK,
    };
    Ok((status, Json(json!(row))).into_response())
}

/// `GET /api/v1/device/updates/{version}`: the package, to a kiosk whose target it is.
async fn download(
    State(app): State<AppState>,
    device: Option<Extension<DeviceIdentity>>,
    UrlPath(version): UrlPath<String>,
) -> Result<Response, ApiError> {
    let Some(Extension(device)) = device else {
        return Err(ApiError::Forbidden {
            detail: "this path is for enrolled kiosks, with their client certificate".into(),
        });
    };
    let not_offered = || ApiError::NotFound {
        detail: format!("no release {version} is staged for this kiosk"),
    };
    if check_version(&version).is_err() {
        return Err(not_offered());
    }
    let wanted = version.clone();
    let found: Option<String> = app
        .store
        .run(move |conn| {
            let target = target_for(conn, &device.device_id)?;
            if target.is_none_or(|t| t.version != wanted) {
                return Ok(None);
            }
            Ok(conn
                .query_row(
                    "SELECT path FROM update_releases WHERE version = ?1",
                    [&wanted],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await?;
    let Some(file_name) = found else {
        return Err(not_offered());
    };
    let path = app.config.data_dir.join(PACKAGES_DIR).join(file_name);
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::Internal {
            detail: format!("release package {}: {e}", path.display()),
        })?;
    // The file's own length, whatever the release row says: the kiosk compares it with the offer.
    let length = file
        .metadata()
        .await
        .map_err(|e| ApiError::Internal {
            detail: format!("release package {}: {e}", path.display()),
        })?
        .len();
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Command line

/// `hub update …`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a release key pair in DIR: `update-key` (private, keep it off the hub) and
    /// `update-key.pub` (copy it to the hub's data directory and into the kiosk image).
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a kiosk package as a version; writes PACKAGE.sig.
    Sign {
        /// The private key from `keygen`.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        package: PathBuf,
        /// The version the package installs, e.g. 0.2.0.
        #[arg(long)]
        version: String,
    },
    /// Add a signed package as a release of the hub (checked with <data-dir>/update-key.pub).
    Add {
        /// Directory of the hub's database.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        package: PathBuf,
        /// The signature file from `sign`.
        #[arg(long)]
        signature: PathBuf,
        #[arg(long)]
        version: String,
        /// Another release public key than <data-dir>/update-key.pub.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
}

/// Runs a `hub update` command; `config` gives the data directory of `add`.
pub fn run_command(command: Command, config: &mut crate::config::Config) -> anyhow::Result<()> {
    use anyhow::Context;
    match command {
        Command::Keygen { out } => {
            let (private, public) = keygen(&out).context("making the release key")?;
            println!("private key: {}", private.display());
            println!("public key: {}", public.display());
        }
        Command::Sign {
            key,
            package,
            version,
        } => {
            let out = sign(&key, &package, &version).context("signing")?;
            println!("signature: {}", out.display());
        }
        Command::Add {
            data_dir,
            package,
            signature,
            version,
            public_key,
        } => {
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            config.check()?;
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("creating {}", config.data_dir.display()))?;
            let store = Store::open(&config.database())
                .with_context(|| format!("opening {}", config.database().display()))?;
            let (release, added) = add_release(
                &store,
                &config.data_dir,
                public_key.as_deref(),
                &package,
                &signature,
                &version,
                &Who::cli("update-add"),
            )
            .with_context(|| format!("adding release {version}"))?;
            let what = match added {
                Added::New => "added",
                Added::AlreadyThere => "already there",
            };
            println!(
                "release {} {what} sha256={} size={}",
                release.version, release.sha256, release.size
            );
        }
    }
    Ok(())
}
