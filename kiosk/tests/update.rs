//! Software updates end to end with real parts: the real hub (its library serving over TLS on
//! loopback, releases signed and added as `hub update` does), the enrolled `kiosk run` process
//! with its mutual-TLS client, and a test supervisor that restarts it like systemd does. The
//! "packages" are small launcher scripts that start this kiosk binary as some version; the
//! installer is a shell script that copies the package into a fake install directory and records
//! the version (dpkg cannot run here). Checked: an update installed, restarted into and reported
//! healthy; tampered, badly signed and wrongly sized packages refused with nothing installed; a
//! version that cannot reach the hub and one that crashes at start rolled back and reported; an
//! install interrupted by a crash finished at the next start; an installer that stops the kiosk
//! as dpkg does (the kiosk ends at once, the roll-back is finished by the version started next,
//! not repeated); a roll-back whose installer keeps failing given up after its tries.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hub::store::Store;
use hub::store::logs::Who;

/// The hub, serving on its own runtime while the test drives processes.
struct Hub {
    runtime: tokio::runtime::Runtime,
    running: Option<hub::server::Running>,
    store: Store,
    dir: tempfile::TempDir,
}

impl Hub {
    fn start() -> Hub {
        hub::server::install_crypto();
        let dir = tempfile::tempdir().expect("hub dir");
        let config = hub::config::Config {
            data_dir: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("address"),
            planning_check_seconds: 0,
            ..hub::config::Config::default()
        };
        let store = Store::open(&config.database()).expect("hub store");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let running = runtime
            .block_on(hub::server::start(store.clone(), config))
            .expect("hub starts");
        Hub {
            runtime,
            running: Some(running),
            store,
            dir,
        }
    }

    fn url(&self) -> String {
        let port = self.running.as_ref().expect("running").addr.port();
        format!("https://localhost:{port}")
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("tls/hub-cert.pem")
    }

    /// A kiosk device at a stop of the demo region, and its one-time code.
    fn device(&self) -> (String, String) {
        let today = chrono::Utc::now().date_naive();
        hub::demo::create_demo(&self.store, today).expect("demo region");
        let stop: String = self
            .store
            .blocking(|c| {
                Ok(c.query_row("SELECT id FROM stops ORDER BY id LIMIT 1", [], |r| r.get(0))?)
            })
            .expect("a stop");
        let (_, code) = self
            .store
            .blocking(|c| {
                Ok(hub::devices::add_device(
                    c,
                    &Who::cli("test"),
                    "Kiosk Update",
                    &stop,
                    serde_json::Map::new(),
                    chrono::Utc::now(),
                ))
            })
            .expect("store")
            .expect("device added");
        (code.device_id, code.code)
    }

    /// Signs `content` as `version` with the key in `keys` and adds it as `hub update add` does,
    /// checking it with `public` (the hub's configured release key).
    fn release(&self, keys: &Path, public: &Path, version: &str, content: &str) -> PathBuf {
        let pkg = keys.join(format!("kiosk-{version}.pkg"));
        std::fs::write(&pkg, content).expect("package");
        let sig = hub::updates::sign(&keys.join("update-key"), &pkg, version).expect("signed");
        hub::updates::add_release(
            &self.store,
            self.dir.path(),
            Some(public),
            &pkg,
            &sig,
            version,
            &Who::cli("test"),
        )
        .expect("release added");
        pkg
    }

    fn stage(&self, device: &str, version: &str) -> Result<(), hub::store::StoreError> {
        let input = hub::updates::StageInput {
            id: uuid::Uuid::new_v4(),
            version: version.into(),
            device_id: Some(device.into()),
            region_id: None,
        };
        self.store
            .blocking(|c| hub::updates::stage(c, &Who::cli("test"), &input, chrono::Utc::now()))
            .map(|_| ())
    }

    /// The device's last reported update: version, status, detail.
    fn reported(&self, device: &str) -> Option<(String, String, Option<String>)> {
        self.store
            .blocking(|c| {
                use rusqlite::OptionalExtension;
                Ok(c.query_row(
                    "SELECT version, status, detail FROM device_updates WHERE device_id = ?1",
                    [device],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
            })
            .expect("device_updates")
    }

    /// The version the hub last heard `device` run.
    fn software_version(&self, device: &str) -> Option<String> {
        self.one("SELECT software_version FROM devices WHERE id = ?1", device)
    }

    fn one(&self, sql: &str, device: &str) -> Option<String> {
        self.store
            .blocking(|c| Ok(c.query_row(sql, [device], |r| r.get(0))?))
            .expect("query")
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = self.runtime.block_on(running.shutdown());
        }
    }
}

/// How a test package behaves when started.
#[derive(Clone, Copy)]
enum Behaviour {
    Good,
    /// Runs, but every connection to the hub goes to a closed port: no sync.
    NoHub,
    /// Exits with an error at start (its screen cannot open without a display).
    Crashes,
}

/// The kiosk, its install directory and the supervisor's log.
struct Appliance {
    root: tempfile::TempDir,
    device: String,
    log: PathBuf,
}

impl Appliance {
    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn install_dir(&self) -> PathBuf {
        self.root.path().join("install")
    }

    /// The release public key pinned in this kiosk.
    fn public_key(&self) -> PathBuf {
        self.keys().join("update-key.pub")
    }

    fn keys(&self) -> PathBuf {
        self.root.path().join("keys")
    }

    fn launcher(&self) -> String {
        std::fs::read_to_string(self.install_dir().join("kiosk-launch")).expect("launcher")
    }

    /// The versions the installer was run for, in order.
    fn installed(&self) -> Vec<String> {
        std::fs::read_to_string(self.install_dir().join("installed.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn state(&self) -> kiosk::update::State {
        kiosk::update::State::load(&self.data()).expect("update state")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A package: a launcher script that starts this kiosk binary as `version`.
    fn package(version: &str, behaviour: Behaviour) -> String {
        let kiosk = env!("CARGO_BIN_EXE_kiosk");
        let (env, screen) = match behaviour {
            Behaviour::Good => ("", "off"),
            Behaviour::NoHub => (
                "export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9\nunset NO_PROXY no_proxy\n",
                "off",
            ),
            Behaviour::Crashes => ("", "on"),
        };
        format!(
            "#!/bin/sh\n# Dorfpunkt kiosk test package {version}\n{env}export KIOSK_SOFTWARE_VERSION={version}\nexec '{kiosk}' run --screen {screen} \"$@\"\n"
        )
    }

    /// A kiosk enrolled with `hub`, running version 0.1.0 as the image installs it: the launcher
    /// in the install directory and its package kept for a roll-back.
    fn set_up(hub: &Hub) -> Appliance {
        let root = tempfile::tempdir().expect("kiosk root");
        let (device, code) = hub.device();
        let appliance = Appliance {
            log: root.path().join("kiosk.log"),
            root,
            device,
        };
        let install = appliance.install_dir();
        std::fs::create_dir_all(&install).expect("install dir");
        std::fs::create_dir_all(appliance.keys()).expect("keys dir");
        hub::updates::keygen(&appliance.keys()).expect("release key");
        let base = Self::package("0.1.0", Behaviour::Good);
        std::fs::write(install.join("kiosk-launch"), &base).expect("launcher");
        let kept = kiosk::update::package_path(&appliance.data(), "0.1.0");
        std::fs::create_dir_all(kept.parent().expect("folder")).expect("packages dir");
        std::fs::write(&kept, &base).expect("kept package");
        // The installer: copy the package over the launcher and note the version; with a file
        // `slow` in the install directory it first waits (to be killed mid-install). With a
        // file `stop-kiosk` it stops the kiosk first, as dpkg's prerm does (SIGTERM, then it
        // waits up to 10 s for the kiosk to end, noting in `kiosk-kept-running` if it did
        // not), and the supervisor starts the kiosk only once it is done (`busy`), as dpkg's
        // postinst does.
        let installer = install.join("install.sh");
        std::fs::write(
            &installer,
            format!(
                "#!/bin/sh\nset -e\nD='{dir}'\nif [ -f \"$D/slow\" ]; then touch \"$D/installing\"; sleep 30; fi\n\
                 if [ -f \"$D/stop-kiosk\" ]; then\n  touch \"$D/busy\"\n  kill -TERM \"$PPID\"\n  n=0\n\
                 \x20 while kill -0 \"$PPID\" 2>/dev/null; do\n    n=$((n + 1))\n\
                 \x20   if [ \"$n\" -gt 100 ]; then echo \"$KIOSK_UPDATE_VERSION\" >> \"$D/kiosk-kept-running\"; break; fi\n\
                 \x20   sleep 0.1\n  done\nfi\n\
                 cp \"$1\" \"$D/kiosk-launch.new\"\nmv \"$D/kiosk-launch.new\" \"$D/kiosk-launch\"\n\
                 echo \"$KIOSK_UPDATE_VERSION\" >> \"$D/installed.log\"\nrm -f \"$D/busy\"\n",
                dir = install.display()
            ),
        )
        .expect("installer");
        let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["enroll", "--hub", &hub.url(), "--code", &code, "--data-dir"])
            .arg(appliance.data())
            .arg("--hub-ca")
            .arg(hub.cert())
            .output()
            .expect("kiosk enroll runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        appliance
    }

    fn start(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        use std::os::unix::process::CommandExt;
        Command::new("sh")
            .arg(self.install_dir().join("kiosk-launch"))
            .arg("--data-dir")
            .arg(self.data())
            .args(["--sync-every-s", "1", "--heartbeat-every-s", "1"])
            .env("KIOSK_UPDATE_KEY", self.public_key())
            .env(
                "KIOSK_INSTALLER",
                format!("sh {}", self.install_dir().join("install.sh").display()),
            )
            .env("KIOSK_UPDATE_HEALTH_S", "6")
            .env("KIOSK_LOG", "info")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET")
            .env_remove("KIOSK_SOFTWARE_VERSION")
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("kiosk starts")
    }

    /// Runs the kiosk like systemd with `Restart=always` until `done` holds (then it is stopped
    /// with SIGTERM) or `limit` passes. Returns the exit statuses of the runs that ended by
    /// themselves.
    fn supervise(&self, limit: Duration, done: impl Fn() -> bool) -> Vec<i32> {
        let deadline = Instant::now() + limit;
        let mut exits = Vec::new();
        loop {
            // An installer that stopped the kiosk starts it again when it is done.
            while self.install_dir().join("busy").exists() {
                assert!(
                    Instant::now() < deadline,
                    "the installer did not finish; log:\n{}",
                    self.log_text()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let mut child = self.start();
            loop {
                if done() {
                    signal(&child, "-TERM");
                    let _ = child.wait();
                    return exits;
                }
                if let Some(status) = child.try_wait().expect("wait") {
                    exits.push(status.code().unwrap_or(-1));
                    break;
                }
                if Instant::now() > deadline {
                    signal(&child, "-KILL");
                    let _ = child.wait();
                    panic!(
                        "not done within {limit:?}; exits {exits:?}; log:\n{}",
                        self.log_text()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Sends `sig` to the process group of `child` (the launcher's kiosk and its installer).
fn signal(child: &Child, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, "--", &format!("-{}", child.id())])
        .status();
}

/// Runs the kiosk until the hub hears that 0.2.0 is healthy: it restarted once (into the update),
/// the installer ran for 0.2.0 alone, and the installed launcher is the package `good`.
fn runs_into_healthy(hub: &Hub, kiosk: &Appliance, good: &str) {
    let exits = kiosk.supervise(Duration::from_secs(120), || {
        hub.reported(&kiosk.device)
            .is_some_and(|(v, s, _)| v == "0.2.0" && s == "healthy")
    });
    assert_eq!(
        exits,
        [i32::from(kiosk::update::RESTART_EXIT_CODE)],
        "{}",
        kiosk.log_text()
    );
    assert_eq!(kiosk.installed(), ["0.2.0"]);
    assert_eq!(kiosk.launcher(), good);
}

#[test]
fn an_update_is_verified_installed_restarted_into_and_reported_healthy() {
    let hub = Hub::start();
    let kiosk = Appliance::set_up(&hub);
    let public = kiosk.public_key();
    let good = Appliance::package("0.2.0", Behaviour::Good);
    hub.release(&kiosk.keys(), &public, "0.2.0", &good);
    // A half download left by an earlier crash is started again, not continued.
    std::fs::write(kiosk.data().join("update/download.part"), "junk").unwrap();
    hub.stage(&kiosk.device, "0.2.0").unwrap();

    runs_into_healthy(&hub, &kiosk, &good);
    assert_eq!(hub.software_version(&kiosk.device), Some("0.2.0".into()));
    let state = kiosk.state();
    assert_eq!(state.pending, None);
    assert!(state.failed.is_empty());
    assert!(!kiosk.data().join("update/download.part").exists());
    for version in ["0.1.0", "0.2.0"] {
        assert!(
            kiosk::update::package_path(&kiosk.data(), version).exists(),
            "{version} kept"
        );
    }
}

#[test]
fn tampered_badly_signed_and_wrongly_sized_packages_are_refused_and_nothing_is_installed() {
    let hub = Hub::start();
    let kiosk = Appliance::set_up(&hub);
    let public = kiosk.public_key();
    let base = kiosk.launcher();

    // The package file on the hub changed after it was added.
    hub.release(
        &kiosk.keys(),
        &public,
        "0.3.0",
        &Appliance::package("0.3.0", Behaviour::Good),
    );
    std::fs::write(
        hub.dir.path().join("updates/0.3.0.pkg"),
        Appliance::package("0.3.0", Behaviour::Good).replace("0.3.0", "0.3.9"),
    )
    .unwrap();
    // Signed with a key the kiosk does not pin (the hub was given that key).
    let other = kiosk.root.path().join("other-keys");
    hub::updates::keygen(&other).unwrap();
    hub.release(
        &other,
        &other.join("update-key.pub"),
        "0.3.1",
        &Appliance::package("0.3.1", Behaviour::Good),
    );
    // The size the hub announces is not the package's.
    hub.release(
        &kiosk.keys(),
        &public,
        "0.3.2",
        &Appliance::package("0.3.2", Behaviour::Good),
    );
    hub.store
        .blocking(|c| {
            Ok(c.execute(
                "UPDATE update_releases SET size = size - 5 WHERE version = '0.3.2'",
                [],
            )?)
        })
        .unwrap();

    for (version, why) in [
        ("0.3.0", "SHA-256"),
        ("0.3.1", "signature"),
        ("0.3.2", "bytes"),
    ] {
        hub.stage(&kiosk.device, version).unwrap();
        let exits = kiosk.supervise(Duration::from_secs(60), || {
            hub.reported(&kiosk.device)
                .is_some_and(|(v, s, _)| v == version && s == "refused")
        });
        assert!(exits.is_empty(), "no restart for {version}: {exits:?}");
        let (_, _, detail) = hub.reported(&kiosk.device).unwrap();
        assert!(
            detail.as_deref().unwrap_or("").contains(why),
            "{version}: {detail:?}"
        );
        assert!(!kiosk::update::package_path(&kiosk.data(), version).exists());
        assert!(kiosk.state().refused.iter().any(|o| o.version == version));
    }
    assert!(kiosk.installed().is_empty(), "nothing installed");
    assert_eq!(kiosk.launcher(), base);
    assert_eq!(kiosk.state().pending, None);
    assert_eq!(hub.software_version(&kiosk.device), Some("0.1.0".into()));
}

#[test]
fn versions_that_fail_their_health_check_or_crash_are_rolled_back_and_reported() {
    let hub = Hub::start();
    let kiosk = Appliance::set_up(&hub);
    let public = kiosk.public_key();
    let base = kiosk.launcher();
    let restart = i32::from(kiosk::update::RESTART_EXIT_CODE);

    // 0.2.0 starts but never reaches the hub: rolled back after the health window.
    hub.release(
        &kiosk.keys(),
        &public,
        "0.2.0",
        &Appliance::package("0.2.0", Behaviour::NoHub),
    );
    hub.stage(&kiosk.device, "0.2.0").unwrap();
    let exits = kiosk.supervise(Duration::from_secs(120), || {
        hub.reported(&kiosk.device)
            .is_some_and(|(v, s, _)| v == "0.2.0" && s == "rolled_back")
    });
    // Installed and restarted, then restored and restarted.
    assert_eq!(exits, [restart, restart], "{}", kiosk.log_text());
    assert_eq!(kiosk.installed(), ["0.2.0", "0.1.0"]);
    assert_eq!(kiosk.launcher(), base);
    let (_, _, detail) = hub.reported(&kiosk.device).unwrap();
    assert!(detail.unwrap().contains("no sync with the hub"));
    assert_eq!(kiosk.state().failed, ["0.2.0"]);
    // The hub never stages it for this kiosk again.
    assert!(matches!(
        hub.stage(&kiosk.device, "0.2.0"),
        Err(hub::store::StoreError::Conflict(_))
    ));

    // 0.2.1 exits at every start: after three starts the previous version comes back.
    hub.release(
        &kiosk.keys(),
        &public,
        "0.2.1",
        &Appliance::package("0.2.1", Behaviour::Crashes),
    );
    hub.stage(&kiosk.device, "0.2.1").unwrap();
    let exits = kiosk.supervise(Duration::from_secs(120), || {
        hub.reported(&kiosk.device)
            .is_some_and(|(v, s, _)| v == "0.2.1" && s == "rolled_back")
    });
    let crashes = exits.iter().filter(|&&e| e != restart).count();
    assert_eq!(
        crashes,
        kiosk::update::MAX_STARTS as usize,
        "{exits:?}\n{}",
        kiosk.log_text()
    );
    assert_eq!(exits.first(), Some(&restart));
    assert_eq!(exits.last(), Some(&restart));
    assert_eq!(kiosk.installed(), ["0.2.0", "0.1.0", "0.2.1", "0.1.0"]);
    assert_eq!(kiosk.launcher(), base);
    assert_eq!(kiosk.state().failed, ["0.2.0", "0.2.1"]);
    assert_eq!(hub.software_version(&kiosk.device), Some("0.1.0".into()));
    assert_eq!(
        hub.one(
            "SELECT group_concat(version) FROM device_update_failures WHERE device_id = ?1",
            &kiosk.device
        ),
        Some("0.2.0,0.2.1".into())
    );
}

#[test]
fn an_install_cut_off_by_a_crash_is_finished_at_the_next_start() {
    let hub = Hub::start();
    let kiosk = Appliance::set_up(&hub);
    let public = kiosk.public_key();
    let good = Appliance::package("0.2.0", Behaviour::Good);
    hub.release(&kiosk.keys(), &public, "0.2.0", &good);
    hub.stage(&kiosk.device, "0.2.0").unwrap();
    let slow = kiosk.install_dir().join("slow");
    std::fs::write(&slow, "").unwrap();

    // Killed (kiosk and installer) while the installer runs.
    let child = kiosk.start();
    let started = Instant::now();
    while !kiosk.install_dir().join("installing").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            kiosk.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&child, "-KILL");
    let mut child = child;
    let _ = child.wait();
    assert!(kiosk.installed().is_empty());
    assert_eq!(
        kiosk.state().pending.as_ref().map(|p| p.version.as_str()),
        Some("0.2.0")
    );
    std::fs::remove_file(&slow).unwrap();

    // The old version starts, finishes the install, and the new one comes up healthy.
    runs_into_healthy(&hub, &kiosk, &good);
    assert_eq!(kiosk.state().pending, None);
}

#[test]
fn installs_whose_installer_stops_the_kiosk_are_finished_by_the_next_start_without_a_loop() {
    let hub = Hub::start();
    let kiosk = Appliance::set_up(&hub);
    let public = kiosk.public_key();
    let base = kiosk.launcher();
    // The installer stops the kiosk it was started by, as dpkg's prerm stops the service.
    std::fs::write(kiosk.install_dir().join("stop-kiosk"), "").unwrap();

    // 0.2.0 never reaches the hub: installed (the kiosk stopped during it), started, failed,
    // rolled back (the kiosk stopped again, before it could record anything), and the old
    // version, started by the supervisor, records the roll-back instead of installing 0.2.0
    // again.
    hub.release(
        &kiosk.keys(),
        &public,
        "0.2.0",
        &Appliance::package("0.2.0", Behaviour::NoHub),
    );
    hub.stage(&kiosk.device, "0.2.0").unwrap();
    let exits = kiosk.supervise(Duration::from_secs(120), || {
        hub.reported(&kiosk.device)
            .is_some_and(|(v, s, _)| v == "0.2.0" && s == "rolled_back")
    });

    // Each stop ended the kiosk at once, while its installer ran.
    assert!(
        !kiosk.install_dir().join("kiosk-kept-running").exists(),
        "{}",
        kiosk.log_text()
    );
    assert_eq!(exits, [0, 0], "{}", kiosk.log_text());
    assert_eq!(kiosk.installed(), ["0.2.0", "0.1.0"]);
    assert_eq!(kiosk.launcher(), base);
    let (_, _, detail) = hub.reported(&kiosk.device).unwrap();
    assert!(detail.unwrap().contains("no sync with the hub"));
    let state = kiosk.state();
    assert_eq!(state.pending, None);
    assert_eq!(state.failed, ["0.2.0"]);
    assert!(kiosk.log_text().contains("roll-back finished"));
}

#[test]
fn a_roll_back_that_cannot_install_is_given_up_after_its_tries() {
    /// A start that went on to wait for an enrolment.
    const WAITED: i32 = -2;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let kept = kiosk::update::package_path(&data, "0.1.0");
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    std::fs::write(&kept, "the previous package").unwrap();
    // 0.2.0 is being rolled back; its first try was cut off.
    let state = kiosk::update::State {
        pending: Some(kiosk::update::Pending {
            version: "0.2.0".into(),
            previous_version: "0.1.0".into(),
            starts: 2,
            since: "2026-12-03T08:00:00Z".into(),
            rolling_back: true,
            reason: Some("no sync with the hub within 180 s of the start".into()),
            roll_back_tries: 1,
        }),
        ..Default::default()
    };
    state.save(&data).unwrap();
    let calls = root.path().join("calls");
    let installer = root.path().join("fails.sh");
    std::fs::write(
        &installer,
        format!(
            "#!/bin/sh\necho \"$KIOSK_UPDATE_VERSION $1\" >> '{}'\necho 'dpkg: broken' >&2\nexit 1\n",
            calls.display()
        ),
    )
    .unwrap();

    // The new version starts again and again (systemd's Restart=always): each start tries the
    // previous package once more, until the tries are used up. A start that goes on to run waits
    // for an enrolment (this kiosk has none): it is stopped as systemd would, with SIGTERM.
    let mut exits = Vec::new();
    for _ in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["run", "--screen", "off", "--data-dir"])
            .arg(&data)
            .env("KIOSK_SOFTWARE_VERSION", "0.2.0")
            .env("KIOSK_INSTALLER", format!("sh {}", installer.display()))
            .env("KIOSK_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = crate::LogLines::of(&mut child);
        let until = Instant::now() + Duration::from_secs(120);
        let exit = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if log.count("not enrolled: waiting") > 0 {
                crate::sigterm(&child);
                assert_eq!(
                    child.wait().unwrap().code(),
                    Some(0),
                    "SIGTERM ends the wait"
                );
                break WAITED;
            }
            assert!(Instant::now() < until, "kiosk run neither ended nor waited");
            std::thread::sleep(Duration::from_millis(50));
        };
        exits.push(exit);
    }

    let restart = i32::from(kiosk::update::RESTART_EXIT_CODE);
    // Two more tries, the give-up, then runs (and, never enrolled, waits for an enrolment).
    assert_eq!(exits[..3], [restart, restart, restart], "{exits:?}");
    assert_eq!(exits[3..], [WAITED, WAITED], "{exits:?}");
    let tried = std::fs::read_to_string(&calls).unwrap();
    assert_eq!(
        tried.lines().count(),
        kiosk::update::MAX_ROLL_BACK_TRIES as usize - 1,
        "{tried}"
    );
    assert!(
        tried.starts_with(&format!("0.1.0 {}", kept.display())),
        "{tried}"
    );
    let state = kiosk::update::State::load(&data).unwrap();
    assert_eq!(state.pending, None);
    assert_eq!(state.failed, ["0.2.0"]);
    let report = state.report.unwrap();
    assert_eq!(report.status, protocol::update::UpdateStatus::RolledBack);
    let detail = report.detail.unwrap();
    assert!(detail.contains("failed 3 times"), "{detail}");
    assert!(detail.contains("still running 0.2.0"), "{detail}");
}
