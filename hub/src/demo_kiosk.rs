//! `hub demo --with-kiosk`: the demo region served with one of its kiosks attached.
//!
//! The hub does not link the kiosk (the two crates never depend on each other): it runs the
//! `kiosk` program found beside its own executable as a child process, the way an appliance
//! would run. The first demo kiosk (by name) gets a fresh one-time code and is enrolled into
//! `<data-dir>/kiosk/` once the hub answers; later starts reuse that enrolment. `kiosk run`
//! shows the touch UI in a window when a display is there and syncs in the background either
//! way. The child gets SIGTERM when the hub stops.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::Utc;
use rusqlite::OptionalExtension;

use crate::store::logs::Who;
use crate::store::{Store, StoreError};

/// The kiosk's data directory inside the hub's.
pub const KIOSK_DIR: &str = "kiosk";

/// How long the hub may take to listen before the kiosk gives up enrolling.
const LISTEN_WAIT: Duration = Duration::from_secs(60);

/// Why the demo kiosk could not be attached.
#[derive(Debug, thiserror::Error)]
pub enum DemoKioskError {
    #[error("the kiosk program is not at {0} (build it: cargo build --release -p kiosk)")]
    NoProgram(PathBuf),
    #[error("the demo region has no kiosk device")]
    NoDevice,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("issuing the enrolment code: {0}")]
    Code(String),
}

/// The demo kiosk about to be started: its device, its data directory and, when it is not yet
/// enrolled there, the one-time code it enrols with.
#[derive(Debug, Clone)]
pub struct DemoKiosk {
    pub program: PathBuf,
    pub device_id: String,
    pub data_dir: PathBuf,
    pub code: Option<String>,
}

/// The `kiosk` program beside the running `hub` program.
pub fn kiosk_program() -> Option<PathBuf> {
    let here = std::env::current_exe().ok()?;
    Some(here.parent()?.join("kiosk"))
}

/// Chooses the demo kiosk and, when `<hub_dir>/kiosk/` holds no enrolment yet, issues its code.
pub fn prepare(
    store: &Store,
    hub_dir: &Path,
    program: PathBuf,
) -> Result<DemoKiosk, DemoKioskError> {
    if !program.is_file() {
        return Err(DemoKioskError::NoProgram(program));
    }
    let region = crate::demo::demo_region_id();
    let data_dir = hub_dir.join(KIOSK_DIR);
    let enrolled = data_dir.join("identity.json").is_file();
    let (device_id, code) = store.blocking(|conn| {
        let device: Option<String> = conn
            .query_row(
                "SELECT id FROM devices WHERE region_id = ?1 AND status <> 'revoked'
                 ORDER BY name LIMIT 1",
                [&region],
                |r| r.get(0),
            )
            .optional()?;
        let Some(device) = device else {
            return Ok((None, None));
        };
        if enrolled {
            return Ok((Some(device), None));
        }
        let issued = crate::devices::issue_code(conn, &Who::cli("demo-kiosk"), &device, Utc::now());
        Ok((Some(device), Some(issued)))
    })?;
    let device_id = device_id.ok_or(DemoKioskError::NoDevice)?;
    let code = match code {
        Some(Ok(issued)) => Some(issued.code),
        Some(Err(e)) => return Err(DemoKioskError::Code(format!("{e:?}"))),
        None => None,
    };
    Ok(DemoKiosk {
        program,
        device_id,
        data_dir,
        code,
    })
}

/// The running kiosk process (none while it enrols or after it failed).
#[derive(Debug, Clone, Default)]
pub struct Running {
    child: Arc<Mutex<Option<Child>>>,
}

impl Running {
    /// Asks the kiosk to stop (SIGTERM) and waits up to `grace` before killing it.
    pub fn stop(&self, grace: Duration) {
        let mut held = self.child.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(mut child) = held.take() else { return };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Starts the kiosk on its own thread once the hub at `listen` accepts connections: enrols it
/// when it has a code, then runs it. Its output goes to the hub's terminal.
pub fn start(kiosk: DemoKiosk, listen: SocketAddr, hub_cert: PathBuf) -> Running {
    let running = Running::default();
    let held = running.child.clone();
    std::thread::spawn(move || {
        // A hub listening on every address is reached on loopback.
        let reach = if listen.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], listen.port()))
        } else {
            listen
        };
        let until = Instant::now() + LISTEN_WAIT;
        while TcpStream::connect_timeout(&reach, Duration::from_millis(500)).is_err() {
            if Instant::now() > until {
                tracing::error!(%listen, "the hub does not listen: the demo kiosk is not started");
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let hub = format!("https://{reach}");
        if let Some(code) = &kiosk.code {
            let enrolled = Command::new(&kiosk.program)
                .arg("enroll")
                .args(["--hub", &hub, "--code", code])
                .arg("--data-dir")
                .arg(&kiosk.data_dir)
                .arg("--hub-ca")
                .arg(&hub_cert)
                .stdin(Stdio::null())
                .status();
            if !matches!(enrolled, Ok(s) if s.success()) {
                tracing::error!(device = %kiosk.device_id, "the demo kiosk could not enrol");
                return;
            }
        }
        match Command::new(&kiosk.program)
            .arg("run")
            .arg("--data-dir")
            .arg(&kiosk.data_dir)
            .stdin(Stdio::null())
            .spawn()
        {
            Ok(child) => {
                println!(
                    "demo kiosk {} running from {} (a window when a display is there)",
                    kiosk.device_id,
                    kiosk.data_dir.display()
                );
                *held.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
            }
            Err(e) => tracing::error!(error = %e, "the demo kiosk could not start"),
        }
    });
    running
}
