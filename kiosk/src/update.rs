//! Software updates on the kiosk: take the hub's offer from the sync answer, download the
//! package, verify it, install it, restart, check the new version's health, and roll back to
//! the previous package when the new version does not come up.
//!
//! **Verification.** Nothing is installed unless the download has the offered size and SHA-256
//! and the Ed25519 signature over [`protocol::update::signed_message`] checks with the public key
//! pinned in the image (`KIOSK_UPDATE_KEY`, default [`DEFAULT_KEY`]). A refused offer is
//! remembered and not downloaded again; a new offer (another version, hash or signature) is.
//!
//! **Install and restart.** The kiosk keeps the package of the version it runs in
//! `<data_dir>/update/packages/<version>.pkg` (the image puts the first one there; without it
//! there is no way back, and the kiosk refuses to update). Before the installer runs
//! (`KIOSK_INSTALLER`, default `dpkg -i`, given the package path, with `KIOSK_UPDATE_VERSION` set),
//! the record of a pending update is on disk with the previous version. After the installer the
//! kiosk exits with [`RESTART_EXIT_CODE`] for systemd to start the new version (any non-zero
//! status restarts a `Restart=on-failure` unit). Re-executing itself instead would start the
//! file the package just replaced, and a supervisor has to be there for crashes anyway. On the
//! appliance the installer is `kiosk install-request`, which asks the root-side
//! `kiosk install-server` ([`crate::install_server`]); that one checks the package again
//! against the offer kept beside it (`<version>.offer.json`). dpkg stops the kiosk while it
//! installs: `kiosk run` then ends at once ([`installing`]), and the next start carries on from
//! the record.
//!
//! **Health check.** Each start of `kiosk run` counts itself in the pending record ([`on_start`]).
//! The new version is healthy once it completed a sync with the hub and, where it shows a screen,
//! its UI event loop runs, within `KIOSK_UPDATE_HEALTH_S` seconds (default 180). A version that
//! fails that, or starts more than [`MAX_STARTS`] times without passing it (a crash loop), is
//! rolled back: the previous package is installed again, the version is never tried again on
//! this kiosk, and the heartbeat reports `rolled_back` until a newer event replaces it. The
//! roll-back is written into the pending record before its installer runs, so the previous
//! version, started by dpkg, finishes it instead of installing the failed one again; a
//! roll-back whose installer keeps failing is given up after [`MAX_ROLL_BACK_TRIES`].
//!
//! Every step can be repeated after a crash: a download restarts from zero, a verified package
//! is checked again before use, an install interrupted before the restart is run again at the
//! next start, and state files are written whole (temporary file, fsync, rename).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use protocol::sync::{SyncRequest, SyncResponse};
use protocol::update::{
    ED25519_SPKI_PREFIX, UpdateOffer, UpdateReport, UpdateStatus, check_version, download_path,
    signed_message,
};
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hub_client::HubClient;
use crate::sync::{Transport, TransportError};

/// The exit status that asks the service manager to start the kiosk again (EX_TEMPFAIL).
pub const RESTART_EXIT_CODE: u8 = 75;
/// Where the image pins the release public key.
pub const DEFAULT_KEY: &str = "/etc/dorfpunkt/update-key.pub";
/// What installs a package by default.
pub const DEFAULT_INSTALLER: &str = "dpkg -i";
/// Starts of a new version without passing its health check before it is rolled back.
pub const MAX_STARTS: u32 = 3;
/// Installs of the previous package before a roll-back is given up.
pub const MAX_ROLL_BACK_TRIES: u32 = 3;
/// The largest package a kiosk downloads.
pub const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;
/// The folder of update state in the data directory.
pub const UPDATE_DIR: &str = "update";

/// The version this kiosk runs: `KIOSK_SOFTWARE_VERSION` if set (the update tests run one binary
/// as several versions); else, for the packaged program (`/usr/bin/kiosk`), the version of the
/// `dorfpunkt-kiosk` package whose files are on disk, as `dpkg-query` tells (a package version
/// carries a revision the crate does not know, and is what the hub's releases are named by);
/// else the build's. Asked once per process.
pub fn running_version() -> String {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| {
            let valid = |v: String| Some(v.trim().to_string()).filter(|v| check_version(v).is_ok());
            std::env::var("KIOSK_SOFTWARE_VERSION")
                .ok()
                .and_then(valid)
                .or_else(|| packaged_version().and_then(valid))
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string())
        })
        .clone()
}

/// Where the package installs the kiosk program.
pub const PACKAGED_PROGRAM: &str = "/usr/bin/kiosk";
/// The kiosk's Debian package.
pub const PACKAGE_NAME: &str = "dorfpunkt-kiosk";

/// The package's version when this is the packaged program. dpkg-query, not dpkg's status file:
/// dpkg keeps recent changes in a journal beside it, and the kiosk is started by the package's
/// own postinst while the install is still under way.
fn packaged_version() -> Option<String> {
    if std::env::current_exe().ok()? != Path::new(PACKAGED_PROGRAM) {
        return None;
    }
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status} ${Version}", PACKAGE_NAME])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    files_present_version(&String::from_utf8_lossy(&out.stdout))
}

/// The version of a `dpkg-query -f '${db:Status-Status} ${Version}'` answer whose package has
/// its files on disk (installed, or unpacked and being configured).
pub fn files_present_version(answer: &str) -> Option<String> {
    let (status, version) = answer.trim().split_once(' ')?;
    matches!(
        status,
        "installed" | "unpacked" | "half-configured" | "triggers-awaited" | "triggers-pending"
    )
    .then(|| version.trim().to_string())
    .filter(|v| !v.is_empty())
}

/// How updates are done on this kiosk (`KIOSK_UPDATE_KEY`, `KIOSK_INSTALLER`,
/// `KIOSK_UPDATE_HEALTH_S`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The pinned release public key (SPKI PEM).
    pub key: PathBuf,
    /// The installer's program and arguments; the package path is added last.
    pub installer: Vec<String>,
    /// How long a new version has to pass its health check.
    pub health_window: Duration,
    pub max_starts: u32,
}

impl Settings {
    pub fn from_env() -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Settings {
            key: var("KIOSK_UPDATE_KEY").map_or_else(|| PathBuf::from(DEFAULT_KEY), PathBuf::from),
            installer: var("KIOSK_INSTALLER")
                .unwrap_or_else(|| DEFAULT_INSTALLER.to_string())
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            health_window: Duration::from_secs(
                var("KIOSK_UPDATE_HEALTH_S")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(180),
            ),
            max_starts: MAX_STARTS,
        }
    }
}

/// Why an update step failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the update state is unreadable: {0}")]
    State(String),
    #[error("the installer failed: {0}")]
    Installer(String),
    /// The installer was killed by a signal: the service manager is stopping the kiosk (dpkg's
    /// prerm does that during the install), so the outcome is unknown until the next start.
    #[error("the installer was stopped: {0}")]
    Interrupted(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UpdateError + '_ {
    move |source| UpdateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An update installed and waiting for its health check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub version: String,
    pub previous_version: String,
    /// Starts of `kiosk run` since the record was written.
    pub starts: u32,
    pub since: String,
    /// The version failed and the previous package is being installed again. Written before
    /// that installer runs: dpkg stops the kiosk while it installs, so the process that decided
    /// may not live to record the roll-back; the next start finishes it ([`on_start`]).
    #[serde(default)]
    pub rolling_back: bool,
    /// Why the version is rolled back (reported once the previous version is back).
    #[serde(default)]
    pub reason: Option<String>,
    /// How often the previous package was installed again (at most [`MAX_ROLL_BACK_TRIES`]).
    #[serde(default)]
    pub roll_back_tries: u32,
}

/// What the kiosk remembers about updates (`update/state.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub pending: Option<Pending>,
    /// Versions rolled back here: never installed again.
    #[serde(default)]
    pub failed: Vec<String>,
    /// Offers refused on verification: not downloaded again.
    #[serde(default)]
    pub refused: Vec<UpdateOffer>,
    /// The last event, reported in every heartbeat.
    #[serde(default)]
    pub report: Option<UpdateReport>,
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(UPDATE_DIR)
}

fn state_path(data_dir: &Path) -> PathBuf {
    dir(data_dir).join("state.json")
}

/// Where the package of `version` is kept.
pub fn package_path(data_dir: &Path, version: &str) -> PathBuf {
    dir(data_dir)
        .join("packages")
        .join(format!("{version}.pkg"))
}

/// Where the signed offer of a verified package is kept beside it: the root-side installer
/// (`kiosk install-server`) checks the package against it again before installing.
pub fn offer_path(data_dir: &Path, version: &str) -> PathBuf {
    dir(data_dir)
        .join("packages")
        .join(format!("{version}.offer.json"))
}

impl State {
    /// The state in `data_dir` (empty when there is none).
    pub fn load(data_dir: &Path) -> Result<State, UpdateError> {
        let path = state_path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| UpdateError::State(e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Writes the state whole: a temporary file, fsync, rename, fsync of the folder.
    pub fn save(&self, data_dir: &Path) -> Result<(), UpdateError> {
        let folder = dir(data_dir);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        let text =
            serde_json::to_vec_pretty(self).map_err(|e| UpdateError::State(e.to_string()))?;
        write_whole(&state_path(data_dir), &text)
    }

    fn event(
        &mut self,
        version: &str,
        status: UpdateStatus,
        previous: Option<&str>,
        detail: Option<String>,
    ) {
        self.report = Some(UpdateReport {
            version: version.to_string(),
            status,
            previous_version: previous.map(str::to_string),
            detail,
            at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        });
    }
}

fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(io(parent))?;
    }
    Ok(())
}

/// The last update event, for the heartbeat; none when nothing happened or the state is
/// unreadable.
pub fn report(data_dir: &Path) -> Option<UpdateReport> {
    State::load(data_dir).ok()?.report
}

// ---------------------------------------------------------------------------------------------
// The UI's part of the health check

static UI_EXPECTED: AtomicBool = AtomicBool::new(false);
static UI_RUNNING: AtomicBool = AtomicBool::new(false);

/// Called by `kiosk run` before it runs the touch UI: the health check then also waits for the
/// UI's event loop to run (a timer fires in it).
pub fn watch_ui() {
    UI_EXPECTED.store(true, Ordering::SeqCst);
    slint::Timer::single_shot(Duration::ZERO, || UI_RUNNING.store(true, Ordering::SeqCst));
}

fn ui_ok() -> bool {
    !UI_EXPECTED.load(Ordering::SeqCst) || UI_RUNNING.load(Ordering::SeqCst)
}

/// Ends the UI's event loop, if there is one, so the process can exit for its restart.
fn quit_ui() {
    let _ = slint::invoke_from_event_loop(|| {
        let _ = slint::quit_event_loop();
    });
}

// ---------------------------------------------------------------------------------------------
// Start

/// What `kiosk run` does after [`on_start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Run as usual (a pending health check continues in the loop).
    Run,
    /// A package was (re)installed: exit with [`RESTART_EXIT_CODE`].
    Restart,
}

/// At the start of `kiosk run`: counts the start in a pending update; rolls a version back that
/// started too often without passing its health check; finishes an install a crash interrupted;
/// finishes a roll-back the installer's stop of the kiosk cut off.
pub fn on_start(data_dir: &Path, settings: &Settings) -> Result<Start, UpdateError> {
    let mut state = State::load(data_dir)?;
    let Some(mut pending) = state.pending.clone() else {
        return Ok(Start::Run);
    };
    pending.starts += 1;
    state.pending = Some(pending.clone());
    state.save(data_dir)?;
    let running = running_version();
    if pending.rolling_back {
        if running == pending.previous_version {
            // The previous package is back; the process that installed it was stopped before
            // it could say so.
            finish_roll_back(data_dir, &mut state, &pending)?;
            tracing::info!(version = %pending.version, back_to = %running, "roll-back finished");
            return Ok(Start::Run);
        }
        if running == pending.version {
            let detail = pending
                .reason
                .clone()
                .unwrap_or_else(|| format!("version {} failed", pending.version));
            roll_back(data_dir, settings, &mut state, &pending, detail)?;
            return Ok(Start::Restart);
        }
    }
    if running == pending.version {
        if pending.starts > settings.max_starts {
            let detail = format!(
                "version {} started {} times without passing its health check",
                pending.version, settings.max_starts
            );
            roll_back(data_dir, settings, &mut state, &pending, detail)?;
            return Ok(Start::Restart);
        }
        tracing::info!(version = %pending.version, start = pending.starts, "new version: health check under way");
        return Ok(Start::Run);
    }
    if running != pending.previous_version {
        tracing::warn!(running = %running, pending = %pending.version, "a pending update of another version: dropped");
        state.pending = None;
        state.save(data_dir)?;
        return Ok(Start::Run);
    }
    // Still the old version: the install was interrupted (or the package did not replace it).
    if pending.starts > settings.max_starts {
        let detail = format!("version {} did not install", pending.version);
        roll_back(data_dir, settings, &mut state, &pending, detail)?;
        return Ok(Start::Restart);
    }
    tracing::info!(version = %pending.version, "finishing an interrupted install");
    match install(
        settings,
        &package_path(data_dir, &pending.version),
        &pending.version,
    ) {
        Ok(()) => Ok(Start::Restart),
        Err(UpdateError::Interrupted(_)) => Ok(Start::Restart),
        Err(e) => {
            roll_back(data_dir, settings, &mut state, &pending, e.to_string())?;
            Ok(Start::Restart)
        }
    }
}

/// Installs the previous package again and records the roll-back. The intent is on disk before
/// the installer runs (dpkg stops the kiosk during the install, and the next start finishes the
/// record, [`on_start`]). An installer that fails is tried again at the next start, at most
/// [`MAX_ROLL_BACK_TRIES`] times; then the roll-back is given up and reported, and the kiosk runs
/// on with what it has (a newer release can still replace it).
fn roll_back(
    data_dir: &Path,
    settings: &Settings,
    state: &mut State,
    pending: &Pending,
    detail: String,
) -> Result<(), UpdateError> {
    let mut pending = pending.clone();
    if pending.roll_back_tries >= MAX_ROLL_BACK_TRIES {
        let detail = format!(
            "{detail}; the roll-back to {} failed {} times, still running {}",
            pending.previous_version,
            pending.roll_back_tries,
            running_version()
        );
        tracing::error!(version = %pending.version, reason = %detail, "roll-back given up");
        pending.reason = Some(detail);
        return finish_roll_back(data_dir, state, &pending);
    }
    tracing::error!(version = %pending.version, back_to = %pending.previous_version, reason = %detail, "rolling back");
    pending.rolling_back = true;
    pending.reason = Some(detail);
    pending.roll_back_tries += 1;
    state.pending = Some(pending.clone());
    state.save(data_dir)?;
    match install(
        settings,
        &package_path(data_dir, &pending.previous_version),
        &pending.previous_version,
    ) {
        Ok(()) => finish_roll_back(data_dir, state, &pending),
        Err(e) => {
            tracing::error!(error = %e, tries = pending.roll_back_tries, "the roll-back did not install; trying again at the next start");
            Ok(())
        }
    }
}

/// Records a roll-back as done: the version is never tried again, the event is reported.
fn finish_roll_back(
    data_dir: &Path,
    state: &mut State,
    pending: &Pending,
) -> Result<(), UpdateError> {
    state.pending = None;
    if !state.failed.contains(&pending.version) {
        state.failed.push(pending.version.clone());
    }
    state.event(
        &pending.version,
        UpdateStatus::RolledBack,
        Some(&pending.previous_version),
        pending.reason.clone(),
    );
    state.save(data_dir)
}

/// Set while the installer runs: `kiosk run` then ends at once on SIGTERM (dpkg stops the kiosk
/// service during an install; the pending record is on disk, and the next start carries on).
static INSTALLING: AtomicBool = AtomicBool::new(false);

/// Whether an installer is running.
pub fn installing() -> bool {
    INSTALLING.load(Ordering::SeqCst)
}

/// Runs the installer on `package`.
fn install(settings: &Settings, package: &Path, version: &str) -> Result<(), UpdateError> {
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            INSTALLING.store(false, Ordering::SeqCst);
        }
    }
    let Some((program, args)) = settings.installer.split_first() else {
        return Err(UpdateError::Installer("no installer configured".into()));
    };
    if !package.exists() {
        return Err(UpdateError::Installer(format!(
            "{} is missing",
            package.display()
        )));
    }
    // The root-side installer compares the path it is given with the one it expects.
    let package = std::path::absolute(package).map_err(io(package))?;
    INSTALLING.store(true, Ordering::SeqCst);
    let _running = Running;
    let output = Command::new(program)
        .args(args)
        .arg(&package)
        .env("KIOSK_UPDATE_VERSION", version)
        .output()
        .map_err(|e| UpdateError::Installer(format!("{program}: {e}")))?;
    if output.status.success() {
        tracing::info!(version, package = %package.display(), "installed");
        Ok(())
    } else if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&output.status) {
        Err(UpdateError::Interrupted(format!(
            "{program} ended by signal {signal}"
        )))
    } else if output.status.code() == Some(i32::from(RESTART_EXIT_CODE)) {
        // The installer is busy with another install: nothing was done, try again later.
        Err(UpdateError::Interrupted(format!(
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    } else {
        let err = String::from_utf8_lossy(&output.stderr);
        Err(UpdateError::Installer(format!(
            "{program} ended with {}: {}",
            output.status,
            err.trim().chars().take(300).collect::<String>()
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Verification

/// Why a downloaded package is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the package has {got} bytes, the offer says {offered}")]
    Size { offered: u64, got: u64 },
    #[error("the package's SHA-256 is not the offered one")]
    Hash,
    #[error("the signature does not check with the pinned release key")]
    Signature,
    #[error("the offer is malformed: {0}")]
    Offer(String),
    #[error("the pinned release key is unusable: {0}")]
    Key(String),
}

/// The Ed25519 key of a `PUBLIC KEY` PEM file.
pub fn read_public_key(path: &Path) -> Result<[u8; 32], Refusal> {
    use rustls::pki_types::SubjectPublicKeyInfoDer;
    use rustls::pki_types::pem::PemObject;
    let text = std::fs::read(path).map_err(|e| Refusal::Key(format!("{}: {e}", path.display())))?;
    let der = SubjectPublicKeyInfoDer::from_pem_slice(&text)
        .map_err(|e| Refusal::Key(format!("{}: {e}", path.display())))?;
    der.as_ref()
        .strip_prefix(&ED25519_SPKI_PREFIX[..])
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| Refusal::Key(format!("{}: not an Ed25519 key", path.display())))
}

/// Checks a downloaded package (its bytes' SHA-256 and size) against the offer and the key.
pub fn verify(offer: &UpdateOffer, key: &[u8; 32], sha256: &str, size: u64) -> Result<(), Refusal> {
    check_version(&offer.version).map_err(|e| Refusal::Offer(format!("version: {e}")))?;
    if size != offer.size {
        return Err(Refusal::Size {
            offered: offer.size,
            got: size,
        });
    }
    if !sha256.eq_ignore_ascii_case(&offer.sha256) {
        return Err(Refusal::Hash);
    }
    let signature = hex::decode(offer.signature.trim())
        .ok()
        .filter(|s| s.len() == 64)
        .ok_or(Refusal::Signature)?;
    UnparsedPublicKey::new(&ED25519, key)
        .verify(&signed_message(&offer.version, sha256, size), &signature)
        .map_err(|_| Refusal::Signature)
}

/// SHA-256 (hex) and size of a file.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((hex::encode(hasher.finalize()), size));
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
}

// ---------------------------------------------------------------------------------------------
// The loop's part

/// A transport that remembers the update offer of the last sync answer.
pub struct Watching<'a, T> {
    inner: &'a T,
    offer: Mutex<Option<UpdateOffer>>,
}

impl<'a, T: Transport + Sync> Watching<'a, T> {
    pub fn new(inner: &'a T) -> Self {
        Watching {
            inner,
            offer: Mutex::new(None),
        }
    }

    /// The offer of the last answer.
    pub fn offer(&self) -> Option<UpdateOffer> {
        self.offer.lock().map(|o| o.clone()).unwrap_or(None)
    }
}

impl<T: Transport + Sync> Transport for Watching<'_, T> {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        let response = self.inner.exchange(request).await?;
        if let Ok(mut offer) = self.offer.lock() {
            offer.clone_from(&response.update);
        }
        Ok(response)
    }
}

/// What the loop does after the update step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Continue,
    /// The new version passed its health check: report it now.
    Healthy,
    /// Exit with [`RESTART_EXIT_CODE`].
    Restart,
}

/// The update work of `kiosk run`'s loop.
pub struct Agent {
    data_dir: PathBuf,
    settings: Settings,
    version: String,
    started: Instant,
    fetching: Option<(
        UpdateOffer,
        tokio::task::JoinHandle<Result<Fetched, UpdateError>>,
    )>,
}

impl Agent {
    pub fn new(data_dir: &Path, settings: Settings) -> Agent {
        Agent {
            data_dir: data_dir.to_path_buf(),
            settings,
            version: running_version(),
            started: Instant::now(),
            fetching: None,
        }
    }

    /// After a sync (`synced`: it reached the hub and finished) with the answer's `offer`:
    /// passes or fails a pending health check, or installs an offered release.
    pub async fn after_sync(
        &mut self,
        client: &HubClient,
        synced: bool,
        offer: Option<UpdateOffer>,
    ) -> Step {
        match self.step(client, synced, offer).await {
            Ok(Step::Restart) => {
                quit_ui();
                Step::Restart
            }
            Ok(step) => step,
            Err(e) => {
                tracing::error!(error = %e, "update step failed; trying again after the next sync");
                Step::Continue
            }
        }
    }

    async fn step(
        &mut self,
        client: &HubClient,
        synced: bool,
        offer: Option<UpdateOffer>,
    ) -> Result<Step, UpdateError> {
        let dir = self.data_dir.clone();
        let mut state = blocking(move || State::load(&dir)).await?;
        if let Some(pending) = state.pending.clone() {
            // A roll-back under way is [`on_start`]'s to finish.
            if pending.version != self.version || pending.rolling_back {
                return Ok(Step::Continue);
            }
            if synced && ui_ok() {
                state.pending = None;
                state.event(
                    &pending.version,
                    UpdateStatus::Healthy,
                    Some(&pending.previous_version),
                    None,
                );
                let (dir, keep) = (
                    self.data_dir.clone(),
                    [pending.version.clone(), pending.previous_version.clone()],
                );
                blocking(move || {
                    state.save(&dir)?;
                    prune(&dir, &keep);
                    Ok(())
                })
                .await?;
                tracing::info!(version = %pending.version, "the new version passed its health check");
                return Ok(Step::Healthy);
            }
            if self.started.elapsed() < self.settings.health_window {
                return Ok(Step::Continue);
            }
            let detail = format!(
                "no {} within {} s of the start",
                if synced {
                    "running screen"
                } else {
                    "sync with the hub"
                },
                self.settings.health_window.as_secs()
            );
            let (dir, settings) = (self.data_dir.clone(), self.settings.clone());
            blocking(move || roll_back(&dir, &settings, &mut state, &pending, detail)).await?;
            return Ok(Step::Restart);
        }
        let Some(offer) = offer.filter(|_| synced) else {
            return Ok(Step::Continue);
        };
        if offer.version == self.version
            || state.failed.contains(&offer.version)
            || state.refused.contains(&offer)
        {
            return Ok(Step::Continue);
        }
        if !package_path(&self.data_dir, &self.version).exists() {
            let detail = format!(
                "no package of the running version {} to roll back to",
                self.version
            );
            if state.report.as_ref().and_then(|r| r.detail.as_ref()) != Some(&detail) {
                tracing::error!(version = %offer.version, "{detail}: not updating");
                state.event(
                    &offer.version,
                    UpdateStatus::Refused,
                    Some(&self.version),
                    Some(detail),
                );
                let dir = self.data_dir.clone();
                blocking(move || state.save(&dir)).await?;
            }
            return Ok(Step::Continue);
        }
        let fetched = match self.fetching.take() {
            Some((fetching, task)) if fetching == offer && task.is_finished() => task
                .await
                .map_err(|e| UpdateError::State(format!("the download stopped: {e}")))??,
            Some((fetching, task)) if fetching == offer => {
                self.fetching = Some((fetching, task));
                return Ok(Step::Continue);
            }
            other => {
                // A download of an older offer is given up.
                if let Some((_, task)) = other {
                    task.abort();
                }
                // The download runs beside the loop: syncs and the watchdog go on meanwhile.
                let task = tokio::spawn(fetch(
                    client.clone(),
                    offer.clone(),
                    self.data_dir.clone(),
                    self.settings.key.clone(),
                ));
                self.fetching = Some((offer, task));
                return Ok(Step::Continue);
            }
        };
        match fetched {
            Fetched::Verified => {}
            Fetched::Later => return Ok(Step::Continue),
            Fetched::Refused(why) => {
                tracing::error!(version = %offer.version, reason = %why, "update refused");
                state.refused.push(offer.clone());
                state.event(
                    &offer.version,
                    UpdateStatus::Refused,
                    Some(&self.version),
                    Some(why.to_string()),
                );
                let dir = self.data_dir.clone();
                blocking(move || state.save(&dir)).await?;
                return Ok(Step::Continue);
            }
        }
        // The record first: whatever happens from here, the next start knows the way back.
        let pending = Pending {
            version: offer.version.clone(),
            previous_version: self.version.clone(),
            starts: 0,
            since: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            rolling_back: false,
            reason: None,
            roll_back_tries: 0,
        };
        state.pending = Some(pending.clone());
        state.event(
            &offer.version,
            UpdateStatus::Pending,
            Some(&self.version),
            None,
        );
        let (dir, settings) = (self.data_dir.clone(), self.settings.clone());
        blocking(move || {
            state.save(&dir)?;
            match install(
                &settings,
                &package_path(&dir, &pending.version),
                &pending.version,
            ) {
                Ok(()) => Ok(()),
                // Stopped with the kiosk: the pending record stays for the next start.
                Err(UpdateError::Interrupted(why)) => {
                    tracing::warn!(version = %pending.version, reason = %why, "install interrupted; the next start carries on");
                    Ok(())
                }
                Err(e) => roll_back(&dir, &settings, &mut state, &pending, e.to_string()),
            }
        })
        .await?;
        Ok(Step::Restart)
    }
}

/// Downloads and verifies the offered package into `packages/<version>.pkg` (a package already
/// there is checked again instead).
async fn fetch(
    client: HubClient,
    offer: UpdateOffer,
    data_dir: PathBuf,
    key_path: PathBuf,
) -> Result<Fetched, UpdateError> {
    if check_version(&offer.version).is_err() {
        return Ok(Fetched::Refused(Refusal::Offer("version".into())));
    }
    if offer.size > MAX_PACKAGE_BYTES {
        return Ok(Fetched::Refused(Refusal::Size {
            offered: offer.size,
            got: 0,
        }));
    }
    let key = match read_public_key(&key_path) {
        Ok(key) => key,
        Err(e) => return Ok(Fetched::Refused(e)),
    };
    let target = package_path(&data_dir, &offer.version);
    if target.exists() {
        let (path, kept) = (target.clone(), offer.clone());
        let checked = blocking(move || {
            let (sha, size) = hash_file(&path).map_err(io(&path))?;
            Ok(verify(&kept, &key, &sha, size))
        })
        .await?;
        if checked.is_ok() {
            keep_offer(&data_dir, &offer)?;
            return Ok(Fetched::Verified);
        }
        let _ = std::fs::remove_file(&target);
    }
    let part = dir(&data_dir).join("download.part");
    let folder = target.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let (sha, size) = match download(&client, &offer, &part).await {
        Ok(got) => got,
        Err(Download::Transport(why)) => {
            tracing::warn!(version = %offer.version, error = %why, "update download failed; trying again later");
            return Ok(Fetched::Later);
        }
        Err(Download::TooLarge) => {
            let _ = std::fs::remove_file(&part);
            return Ok(Fetched::Refused(Refusal::Size {
                offered: offer.size,
                got: offer.size + 1,
            }));
        }
        Err(Download::Io(e)) => return Err(e),
    };
    if let Err(why) = verify(&offer, &key, &sha, size) {
        let _ = std::fs::remove_file(&part);
        return Ok(Fetched::Refused(why));
    }
    std::fs::rename(&part, &target).map_err(io(&target))?;
    keep_offer(&data_dir, &offer)?;
    tracing::info!(version = %offer.version, bytes = size, "update downloaded and verified");
    Ok(Fetched::Verified)
}

/// Writes the offer of a verified package beside it, for the root-side installer's own check.
fn keep_offer(data_dir: &Path, offer: &UpdateOffer) -> Result<(), UpdateError> {
    let text = serde_json::to_vec_pretty(offer).map_err(|e| UpdateError::State(e.to_string()))?;
    write_whole(&offer_path(data_dir, &offer.version), &text)
}

/// Streams the package into `part` (from zero), hashing it, never more than the offer's size.
async fn download(
    client: &HubClient,
    offer: &UpdateOffer,
    part: &Path,
) -> Result<(String, u64), Download> {
    use tokio::io::AsyncWriteExt;
    let mut response = client
        .get(&download_path(&offer.version), Duration::from_secs(900))
        .await
        .map_err(|e| Download::Transport(e.to_string()))?;
    let mut file = tokio::fs::File::create(part)
        .await
        .map_err(|e| Download::Io(io(part)(e)))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Download::Transport(e.to_string()))?
    {
        size += chunk.len() as u64;
        if size > offer.size {
            return Err(Download::TooLarge);
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| Download::Io(io(part)(e)))?;
    }
    file.sync_all()
        .await
        .map_err(|e| Download::Io(io(part)(e)))?;
    Ok((hex::encode(hasher.finalize()), size))
}

enum Fetched {
    Verified,
    Later,
    Refused(Refusal),
}

enum Download {
    Transport(String),
    TooLarge,
    Io(UpdateError),
}

/// Removes kept packages but those of `keep`.
fn prune(data_dir: &Path, keep: &[String]) {
    let folder = dir(data_dir).join("packages");
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let version = name
            .strip_suffix(".pkg")
            .or_else(|| name.strip_suffix(".offer.json"))
            .unwrap_or(&name);
        if !keep.iter().any(|k| k == version) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Runs file work on the blocking pool.
async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, UpdateError> + Send + 'static,
) -> Result<R, UpdateError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| UpdateError::State(format!("interrupted: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_version_counts_once_its_files_are_on_disk() {
        assert_eq!(
            files_present_version("installed 0.1.1-1\n").as_deref(),
            Some("0.1.1-1")
        );
        assert_eq!(
            files_present_version("half-configured 0.1.2-1").as_deref(),
            Some("0.1.2-1")
        );
        assert_eq!(files_present_version("config-files 0.1.0-1"), None);
        assert_eq!(files_present_version("not-installed "), None);
        assert_eq!(files_present_version(""), None);
    }

    #[test]
    fn settings_split_the_installer_into_words() {
        let s = Settings {
            key: PathBuf::from(DEFAULT_KEY),
            installer: "dpkg -i".split_whitespace().map(str::to_string).collect(),
            health_window: Duration::from_secs(180),
            max_starts: MAX_STARTS,
        };
        assert_eq!(s.installer, ["dpkg", "-i"]);
    }

    #[test]
    fn a_wrong_size_or_hash_is_refused_before_the_signature() {
        let offer = UpdateOffer {
            version: "0.2.0".into(),
            sha256: "ab".repeat(32),
            size: 10,
            signature: "00".repeat(64),
        };
        let key = [7u8; 32];
        assert_eq!(
            verify(&offer, &key, &"ab".repeat(32), 11),
            Err(Refusal::Size {
                offered: 10,
                got: 11
            })
        );
        assert_eq!(
            verify(&offer, &key, &"cd".repeat(32), 10),
            Err(Refusal::Hash)
        );
        assert_eq!(
            verify(&offer, &key, &"ab".repeat(32), 10),
            Err(Refusal::Signature)
        );
    }

    #[test]
    fn state_round_trips_and_is_empty_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), State::default());
        let mut state = State::default();
        state.failed.push("0.3.0".into());
        state.event(
            "0.3.0",
            UpdateStatus::RolledBack,
            Some("0.2.0"),
            Some("x".into()),
        );
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), state);
        assert_eq!(report(dir.path()).unwrap().status, UpdateStatus::RolledBack);
    }
}
