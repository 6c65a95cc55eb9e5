//! The README's main command: `hub demo --with-kiosk` serves the demo region and runs one of its
//! kiosks as a real `kiosk` process beside it. Without a display the kiosk runs without its
//! screen; it enrols once, syncs the region and sends heartbeats, stops with the hub, and a
//! second start reuses its enrolment.

#[path = "kiosk_hub/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{Process, binary, free_port};

fn demo(dir: &Path, port: u16) -> Process {
    let mut command = Command::new(binary("hub"));
    command
        .env_remove("DORFPUNKT_HUB_CONFIG")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("DORFPUNKT_LOG", "warn")
        .env("KIOSK_LOG", "warn")
        .env("DORFPUNKT_HUB_PLANNING_CHECK_SECONDS", "0")
        .args(["demo", "--with-kiosk", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir);
    Process::spawn(command)
}

/// The first value of `sql` in the hub's database, once it is there.
fn eventually(dir: &Path, sql: &str, within: Duration) -> String {
    let until = Instant::now() + within;
    loop {
        let conn = rusqlite::Connection::open_with_flags(
            dir.join("hub.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("hub.db");
        conn.busy_timeout(Duration::from_secs(5)).expect("timeout");
        if let Ok(value) = conn.query_row(sql, [], |r| r.get::<_, String>(0)) {
            return value;
        }
        assert!(Instant::now() < until, "nothing for {sql} after {within:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Processes whose command line names `needle`.
fn processes_naming(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

fn terminate(mut hub: Process) {
    let pid = hub.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    hub.wait_for("hub stopped", Duration::from_secs(30));
    let (_, ok) = hub.finish(Duration::from_secs(30));
    assert!(ok, "the hub ended with an error");
}

#[test]
fn the_demo_runs_a_kiosk_that_enrols_once_syncs_beats_and_stops_with_the_hub() {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("demo-data");
    let kiosk_dir = dir.join("kiosk");
    let port = free_port();

    let mut hub = demo(&dir, port);
    hub.wait_for("hub listening on https://", Duration::from_secs(120));
    hub.wait_for("demo kiosk", Duration::from_secs(60));
    let device = eventually(
        &dir,
        "SELECT device_id FROM device_heartbeats LIMIT 1",
        Duration::from_secs(60),
    );
    assert_eq!(
        eventually(
            &dir,
            &format!("SELECT status FROM devices WHERE id = '{device}'"),
            Duration::from_secs(5)
        ),
        "active"
    );
    let identity = std::fs::read_to_string(kiosk_dir.join("identity.json")).expect("enrolled");
    // The kiosk holds the region: its replica has the demo's destinations.
    let kiosk_db = rusqlite::Connection::open_with_flags(
        kiosk_dir.join("kiosk.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("kiosk.db");
    kiosk_db
        .busy_timeout(Duration::from_secs(5))
        .expect("timeout");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let held: i64 = kiosk_db
            .query_row(
                "SELECT COUNT(*) FROM replica WHERE kind = 'destinations'",
                [],
                |r| r.get(0),
            )
            .expect("replica");
        if held > 0 {
            break;
        }
        assert!(Instant::now() < until, "the kiosk never synced the region");
        std::thread::sleep(Duration::from_millis(250));
    }
    let needle = kiosk_dir.to_string_lossy().to_string();
    assert_eq!(processes_naming(&needle), 1, "one kiosk process runs");

    terminate(hub);
    assert_eq!(
        processes_naming(&needle),
        0,
        "the kiosk stopped with the hub"
    );

    // A second start reuses the enrolment: same certificate, no new code used.
    let codes_before = eventually(
        &dir,
        "SELECT CAST(COUNT(*) AS TEXT) FROM enrolment_codes",
        Duration::from_secs(5),
    );
    let mut hub = demo(&dir, port);
    hub.wait_for("demo kiosk", Duration::from_secs(120));
    assert_eq!(
        std::fs::read_to_string(kiosk_dir.join("identity.json")).expect("identity"),
        identity
    );
    assert_eq!(
        eventually(
            &dir,
            "SELECT CAST(COUNT(*) AS TEXT) FROM enrolment_codes",
            Duration::from_secs(5)
        ),
        codes_before
    );
    terminate(hub);
    assert_eq!(processes_naming(&needle), 0);
}
