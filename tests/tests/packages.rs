//! Debian packages of the hub and the kiosk installed into a fresh Debian root: built with
//! cargo-deb from the binaries `cargo test --workspace` made (`images/packages/build
//! --no-build`), their units checked with `systemd-analyze verify`, installed with dpkg into a
//! clean bookworm root made by mmdebstrap (`images/packages/prepare-test-root`, cached under the
//! target folder), the hub started inside it as its system user, a kiosk enrolled with a demo hub
//! there and run the way systemd runs it (readiness and watchdog over `$NOTIFY_SOCKET`), both
//! upgraded over databases of the previous release, removed and purged. Needs root (chroot,
//! mmdebstrap), cargo-deb, and the Debian packages mmdebstrap, systemd and dpkg-dev.

#[path = "packages/debian_root.rs"]
#[allow(dead_code)]
mod debian_root;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use debian_root::{HUB, Hub, Root, applied, field, owner, profile_dir, run, text, workspace};
use hub::store::migrations::MIGRATIONS;
use sha2::{Digest, Sha256};

const KIOSK: &str = "dorfpunkt-kiosk";

/// Builds both packages at `version` into `out` from the test profile's binaries.
fn build_packages(version: &str, out: &Path) -> (PathBuf, PathBuf) {
    let profile = profile_dir();
    for bin in ["hub", "kiosk"] {
        assert!(
            profile.join(bin).exists(),
            "{} is missing: run `cargo test --workspace` (or `cargo build -p hub -p kiosk`) first",
            profile.join(bin).display()
        );
    }
    let target = profile.parent().expect("target folder");
    let profile_name = profile
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile folder name");
    let output = run(Command::new(workspace().join("images/packages/build"))
        .env("CARGO_TARGET_DIR", target)
        .args(["--no-build", "--fast", "--arch", "amd64", "--profile"])
        .arg(profile_name)
        .args(["--deb-version", version, "--out"])
        .arg(out));
    let made: Vec<PathBuf> = text(&output.stdout).lines().map(PathBuf::from).collect();
    let find = |name: &str| {
        made.iter()
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{name}_{version}_amd64")))
            })
            .unwrap_or_else(|| panic!("no {name} package among {made:?}"))
            .clone()
    };
    (find(HUB), find(KIOSK))
}

/// `kiosk run` of the package, enrolled with a demo hub inside the root and started as its
/// user the way systemd starts it (`$NOTIFY_SOCKET`, `$WATCHDOG_USEC`): it reports ready, pings
/// the watchdog from its loop, and says it stops on SIGTERM.
fn kiosk_notifies_systemd(root: &Root) {
    let demo_dir = "/var/lib/dorfpunkt-hub/demo";
    let hub = Hub::start_with(root, &["demo", "--data-dir", demo_dir]);
    let stop: String = rusqlite::Connection::open(root.path(&format!("{demo_dir}/hub.db")))
        .expect("the demo database")
        .query_row("SELECT id FROM stops ORDER BY name LIMIT 1", [], |r| {
            r.get(0)
        })
        .expect("a stop of the demo region");
    let hub_user = root.user(HUB);
    let added = run(&mut root.chroot_as(
        Some((hub_user.0, hub_user.1)),
        &[
            "/usr/bin/hub",
            "device",
            "add",
            "--data-dir",
            demo_dir,
            "--name",
            "Kiosk Paket",
            "--stop",
            &stop,
        ],
    ));
    let added = text(&added.stdout);
    let code = added
        .lines()
        .find_map(|l| l.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {added}"))
        .trim()
        .to_string();
    std::fs::copy(
        root.path(&format!("{demo_dir}/tls/hub-cert.pem")),
        root.path("tmp/hub-cert.pem"),
    )
    .expect("the demo hub's certificate");
    let kiosk_user = root.user(KIOSK);
    let as_kiosk = Some((kiosk_user.0, kiosk_user.1));
    let url = format!("https://127.0.0.1:{}", hub.port);
    run(&mut root.chroot_as(
        as_kiosk,
        &[
            "/usr/bin/kiosk",
            "enroll",
            "--hub",
            &url,
            "--code",
            &code,
            "--data-dir",
            "/var/lib/dorfpunkt-kiosk",
            "--hub-ca",
            "/tmp/hub-cert.pem",
        ],
    ));
    assert!(root.path("var/lib/dorfpunkt-kiosk/identity.json").exists());

    // systemd's end of the notification socket, writable for the kiosk's user.
    let socket_dir = root.path("run/notify-test");
    std::fs::create_dir_all(&socket_dir).expect("socket folder");
    let manager = std::os::unix::net::UnixDatagram::bind(socket_dir.join("notify"))
        .expect("notification socket");
    std::fs::set_permissions(
        socket_dir.join("notify"),
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .expect("socket mode");
    manager
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let kiosk = root
        .chroot_as(
            as_kiosk,
            &[
                "/usr/bin/kiosk",
                "run",
                "--data-dir",
                "/var/lib/dorfpunkt-kiosk",
                "--screen",
                "off",
            ],
        )
        .env("NOTIFY_SOCKET", "/run/notify-test/notify")
        .env("WATCHDOG_USEC", "1000000")
        .env("KIOSK_LOG", "warn")
        .spawn()
        .expect("kiosk run");
    // Killed if an assertion below fails, so no kiosk outlives the test.
    let mut kiosk = KillOnDrop(kiosk);
    let next = || {
        let mut buf = [0u8; 256];
        let n = manager
            .recv(&mut buf)
            .expect("a notification from the kiosk");
        text(&buf[..n])
    };
    let ready = next();
    assert!(
        ready.starts_with("READY=1\nSTATUS=running, hub https://127.0.0.1:"),
        "{ready}"
    );
    let started = Instant::now();
    assert_eq!(next(), "WATCHDOG=1");
    assert_eq!(next(), "WATCHDOG=1");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "WATCHDOG_USEC is 1 s: a ping every 0.5 s, not after seconds"
    );
    run(Command::new("kill").args(["-TERM", &kiosk.0.id().to_string()]));
    let mut last = next();
    while last == "WATCHDOG=1" {
        last = next();
    }
    assert_eq!(last, "STOPPING=1");
    let status = kiosk.0.wait().expect("the kiosk's exit");
    assert!(status.success(), "kiosk after SIGTERM: {status}");
    assert!(hub.stop().success());
}

/// The kiosk's update path inside the root with real dpkg: `deb` signed as `version` with `hub
/// update sign`, kept by the kiosk with its offer as after a verified download, asked for by
/// `kiosk install-request` as the kiosk's user over a Unix socket, and installed by `kiosk
/// install-server` as root (the connection as its stdin and stdout, as systemd hands it over),
/// which stores and checks its own copy first. (The socket's / is writable: no remount.)
fn kiosk_installs_a_signed_version_through_its_root_side_installer(
    root: &Root,
    deb: &Path,
    version: &str,
) {
    let keys = tempfile::tempdir().expect("keys");
    let hub_bin = profile_dir().join("hub");
    run(Command::new(&hub_bin)
        .args(["update", "keygen", "--out"])
        .arg(keys.path()));
    run(Command::new(&hub_bin)
        .args(["update", "sign", "--key"])
        .arg(keys.path().join("update-key"))
        .arg("--package")
        .arg(deb)
        .args(["--version", version]));
    std::fs::copy(
        keys.path().join("update-key.pub"),
        root.path("etc/dorfpunkt/update-key.pub"),
    )
    .expect("the pinned key");
    let signature = std::fs::read_to_string(format!("{}.sig", deb.display())).expect("signature");
    let (sha256, size) = kiosk::update::hash_file(deb).expect("hash");
    let data = root.path("var/lib/dorfpunkt-kiosk");
    let package = kiosk::update::package_path(&data, version);
    std::fs::create_dir_all(package.parent().expect("folder")).expect("packages folder");
    std::fs::copy(deb, &package).expect("the kept package");
    let offer = protocol::update::UpdateOffer {
        version: version.to_string(),
        sha256,
        size,
        signature: signature.trim().to_string(),
    };
    std::fs::write(
        kiosk::update::offer_path(&data, version),
        serde_json::to_vec(&offer).expect("offer"),
    )
    .expect("the kept offer");
    let (kiosk_uid, kiosk_gid, _, _) = root.user(KIOSK);
    for path in [data.join("update"), data.join("update/packages"), package] {
        std::os::unix::fs::chown(&path, Some(kiosk_uid), Some(kiosk_gid)).expect("chown");
    }
    std::fs::write(
        root.path("tmp/mountinfo"),
        "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n",
    )
    .expect("mountinfo");

    // The socket as dorfpunkt-kiosk-install.socket makes it: root's, the kiosk's group, 0660.
    let socket = root.path("run/dorfpunkt-kiosk-install.sock");
    std::fs::create_dir_all(root.path("run")).expect("run");
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("socket");
    std::os::unix::fs::chown(&socket, Some(0), Some(kiosk_gid)).expect("socket group");
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o660))
        .expect("socket mode");
    let server = {
        let mut command = root.chroot(&[
            "/usr/bin/kiosk",
            "install-server",
            "--mountinfo",
            "/tmp/mountinfo",
        ]);
        std::thread::spawn(move || {
            let (connection, _) = listener.accept().expect("a connection");
            let output = connection.try_clone().expect("clone");
            command
                .stdin(Stdio::from(std::os::fd::OwnedFd::from(connection)))
                .stdout(Stdio::from(std::os::fd::OwnedFd::from(output)))
                .output()
                .expect("install-server runs")
        })
    };
    let package_inside = format!("/var/lib/dorfpunkt-kiosk/update/packages/{version}.pkg");
    let asked = root
        .chroot_as(
            Some((kiosk_uid, kiosk_gid)),
            &["/usr/bin/kiosk", "install-request", &package_inside],
        )
        .env("KIOSK_UPDATE_VERSION", version)
        .output()
        .expect("install-request runs");
    let served = server.join().expect("the server thread");
    assert!(
        asked.status.success() && served.status.success(),
        "install-request: {}\ninstall-server: {}",
        text(&asked.stderr),
        text(&served.stderr)
    );
    let installed = text(
        &run(&mut root.chroot(&["dpkg-query", "--showformat=${Version}", "--show", KIOSK])).stdout,
    );
    assert_eq!(installed, version);
    let store = root.path("var/lib/dorfpunkt-kiosk-installer");
    assert_eq!(owner(&store), (0, 0, 0o700));
    assert_eq!(
        std::fs::read(store.join(format!("{version}.deb"))).expect("the stored copy"),
        std::fs::read(deb).expect("the package")
    );
}

/// A child process killed when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A database as the previous release left it: every migration but the last applied, recorded
/// the way the hub records them, and a row of data that must survive the upgrade.
fn previous_release_database(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("create the old database");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_migrations (
             name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL);",
    )
    .expect("schema_migrations");
    for (name, sql) in &MIGRATIONS[..MIGRATIONS.len() - 1] {
        conn.execute_batch(sql).expect("an old migration");
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?1, ?2, '2026-11-01T00:00:00Z')",
            (name, hex::encode(Sha256::digest(sql.as_bytes()))),
        )
        .expect("record it");
    }
    conn.execute_batch(
        "CREATE TABLE package_test_marker (note TEXT);
         INSERT INTO package_test_marker VALUES ('Kneitlingen bleibt');",
    )
    .expect("marker");
}

fn marker(db: &Path) -> String {
    rusqlite::Connection::open(db)
        .expect("open")
        .query_row("SELECT note FROM package_test_marker", [], |r| r.get(0))
        .expect("the marker row")
}

#[test]
fn packages_install_start_upgrade_and_remove_in_a_clean_debian_root() {
    let version = env!("CARGO_PKG_VERSION");
    let (v1, v2) = (format!("{version}-1"), format!("{version}-2"));
    let debs = tempfile::tempdir().unwrap();
    let (hub1, kiosk1) = build_packages(&v1, &debs.path().join("1"));
    let (hub2, kiosk2) = build_packages(&v2, &debs.path().join("2"));

    // The control files: names, versions, the run-time needs beside the shared libraries.
    assert_eq!(field(&hub1, "Package"), HUB);
    assert_eq!(field(&hub2, "Version"), v2);
    let hub_depends = field(&hub1, "Depends");
    for need in ["libc6", "adduser", "ca-certificates"] {
        assert!(hub_depends.contains(need), "hub Depends: {hub_depends}");
    }
    let kiosk_depends = field(&kiosk1, "Depends");
    for need in [
        "libc6",
        "adduser",
        "udev",
        "cups-client",
        "espeak-ng",
        "alsa-utils",
    ] {
        assert!(
            kiosk_depends.contains(need),
            "kiosk Depends: {kiosk_depends}"
        );
    }

    let root = Root::new();
    let installed = root.install(&[&hub1, &kiosk1]);

    // Both units pass systemd's own check against the root they were installed into.
    let units: Vec<PathBuf> = [HUB, KIOSK]
        .iter()
        .map(|name| {
            ["lib/systemd/system", "usr/lib/systemd/system"]
                .iter()
                .map(|dir| root.path(&format!("{dir}/{name}.service")))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{name}.service is not installed"))
        })
        .collect();
    let verified = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.dir.path().display()))
        .args(&units));
    assert!(
        verified.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&verified.stderr)
    );
    // The kiosk's root-side installer: a socket, enabled, the service it starts per connection
    // (a template, checked as an instance), and the one that makes / read-only after it.
    let installer_units = [
        "dorfpunkt-kiosk-install.socket",
        "dorfpunkt-kiosk-install@.service",
        "dorfpunkt-kiosk-root-ro.service",
    ]
    .map(|unit| root.path(&format!("usr/lib/systemd/system/{unit}")));
    let verified = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.dir.path().display()))
        .args(&installer_units));
    assert!(
        verified.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&verified.stderr)
    );
    assert!(
        root.path("etc/systemd/system/sockets.target.wants/dorfpunkt-kiosk-install.socket")
            .symlink_metadata()
            .is_ok(),
        "dorfpunkt-kiosk-install.socket is not enabled"
    );
    for (name, unit) in [HUB, KIOSK].iter().zip(&units) {
        let security = run(Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(format!("--root={}", root.dir.path().display()))
            .arg(unit));
        let report = text(&security.stdout);
        let exposure: f64 = report
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in {report}"));
        assert!(exposure <= 2.5, "{name}: exposure {exposure}\n{report}");
        assert!(
            root.path(&format!(
                "etc/systemd/system/multi-user.target.wants/{name}.service"
            ))
            .symlink_metadata()
            .is_ok(),
            "{name}.service is not enabled"
        );
    }

    // System users without a login, their data folders, the kiosk's device groups.
    let (hub_uid, hub_gid, home, shell) = root.user(HUB);
    assert_eq!(home, "/var/lib/dorfpunkt-hub");
    assert_eq!(shell, "/usr/sbin/nologin");
    assert!(hub_uid < 1000, "a system user: uid {hub_uid}");
    let (kiosk_uid, kiosk_gid, _, kiosk_shell) = root.user(KIOSK);
    assert_eq!(kiosk_shell, "/usr/sbin/nologin");
    let kiosk_groups = root.groups_of(KIOSK);
    for group in ["video", "render", "input", "audio", "lp", "dialout"] {
        assert!(
            kiosk_groups.iter().any(|g| g == group),
            "kiosk groups {kiosk_groups:?}"
        );
    }
    assert!(root.groups_of(HUB).is_empty(), "the hub needs no groups");
    assert_eq!(
        owner(&root.path("var/lib/dorfpunkt-hub")),
        (hub_uid, hub_gid, 0o750)
    );
    assert_eq!(
        owner(&root.path("var/lib/dorfpunkt-kiosk")),
        (kiosk_uid, kiosk_gid, 0o750)
    );

    // Binaries, configuration as conffiles, and the database the postinst made.
    for bin in ["usr/bin/hub", "usr/bin/kiosk"] {
        assert_eq!(owner(&root.path(bin)).2, 0o755, "{bin}");
    }
    let conffiles = text(
        &run(&mut root.chroot(&[
            "dpkg-query",
            "--showformat=${Conffiles}\n",
            "--show",
            HUB,
            KIOSK,
        ]))
        .stdout,
    );
    for file in ["/etc/dorfpunkt/hub.toml", "/etc/dorfpunkt/kiosk.env"] {
        assert!(conffiles.contains(file), "conffiles: {conffiles}");
    }
    // The hub starts inside the root as its user with the packaged configuration, answers, and
    // stops gracefully on SIGTERM.
    debian_root::hub_migrated_serves_and_stops(&root, hub_uid, &installed);
    let db = root.path("var/lib/dorfpunkt-hub/hub.db");

    kiosk_notifies_systemd(&root);

    // Upgrade over a database of the previous release: an admin's change to the configuration
    // stays, the database is backed up, migrated and keeps its rows, the kiosk's is backed up.
    let config = root.path("etc/dorfpunkt/hub.toml");
    let mut changed = std::fs::read_to_string(&config).unwrap();
    changed.push_str("# changed by the county's IT\n");
    std::fs::write(&config, &changed).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(root.path(&format!("var/lib/dorfpunkt-hub/hub.db{suffix}")));
    }
    previous_release_database(&db);
    let kiosk_db = root.path("var/lib/dorfpunkt-kiosk/kiosk.db");
    drop(kiosk::Store::open(&kiosk_db).expect("a kiosk database"));
    for path in [&db, &kiosk_db] {
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                let (uid, gid) = if path == &db {
                    (hub_uid, hub_gid)
                } else {
                    (kiosk_uid, kiosk_gid)
                };
                std::os::unix::fs::chown(&file, Some(uid), Some(gid)).unwrap();
            }
        }
    }
    let upgraded = root.install(&[&hub2, &kiosk2]);
    let before = MIGRATIONS.len() - 1;
    assert!(
        upgraded.contains(&format!(
            "({before} of {} migrations applied)",
            MIGRATIONS.len()
        )),
        "{upgraded}"
    );
    let versions = text(
        &run(&mut root.chroot(&[
            "dpkg-query",
            "--showformat=${Version} ",
            "--show",
            HUB,
            KIOSK,
        ]))
        .stdout,
    );
    assert_eq!(versions.trim(), format!("{v2} {v2}"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), changed);
    assert_eq!(applied(&db).len(), MIGRATIONS.len());
    assert_eq!(marker(&db), "Kneitlingen bleibt");
    let backups: Vec<PathBuf> = std::fs::read_dir(root.path("var/lib/dorfpunkt-hub/backups"))
        .expect("the hub's backups")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(applied(&backups[0]).len(), before);
    assert_eq!(marker(&backups[0]), "Kneitlingen bleibt");
    let kiosk_backups: Vec<String> =
        std::fs::read_dir(root.path("var/lib/dorfpunkt-kiosk/backups"))
            .expect("the kiosk's backups")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".db"))
            .collect();
    assert_eq!(kiosk_backups.len(), 1, "{kiosk_backups:?}");
    assert!(
        kiosk_backups[0].ends_with(&format!("-from-{v1}.db")),
        "{kiosk_backups:?}"
    );
    let hub = Hub::start(&root);
    assert_eq!(hub.health(&root)["status"], "ok");
    assert!(hub.stop().success());

    kiosk_installs_a_signed_version_through_its_root_side_installer(&root, &kiosk1, &v1);

    // Remove keeps data and configuration; purge removes the configuration only and says where
    // the data stayed.
    run(&mut root.chroot(&["dpkg", "--remove", HUB, KIOSK]));
    assert!(!root.path("usr/bin/hub").exists() && !root.path("usr/bin/kiosk").exists());
    assert_eq!(marker(&db), "Kneitlingen bleibt");
    assert!(kiosk_db.exists());
    assert!(config.exists(), "remove keeps the configuration");
    let purged = run(&mut root.chroot(&["dpkg", "--purge", HUB, KIOSK]));
    assert!(!config.exists(), "purge removes the configuration");
    assert!(!root.path("etc/dorfpunkt/kiosk.env").exists());
    assert!(
        text(&purged.stderr).contains("/var/lib/dorfpunkt-hub (database, keys, backups) was kept"),
        "{}",
        text(&purged.stderr)
    );
    assert_eq!(marker(&db), "Kneitlingen bleibt");
    assert_eq!(applied(&db).len(), MIGRATIONS.len());
    assert!(kiosk_db.exists());
    assert_eq!(
        root.user(HUB).0,
        hub_uid,
        "the user stays for the kept files"
    );
}
