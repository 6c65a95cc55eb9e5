//! The `kiosk` binary as an admin runs it: `kiosk enroll`, then `kiosk sim` against the TLS hub
//! on loopback, with the hub up, down, and back while the simulation waits.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use protocol::sync::ChangeOp;
use serde_json::json;

use crate::tls_hub::{REGION, TlsHub};

const CODE: &str = "SIMU-LATE-0001";

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
}

/// Runs the binary to the end off the executor (the hub serves on it meanwhile).
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || kiosk().args(&args).output().expect("kiosk runs"))
        .await
        .expect("the child finished")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

async fn enroll(hub: &TlsHub, dir: &Path) {
    let ca = dir.join("hub-cert.pem");
    std::fs::write(&ca, &hub.hub_cert_pem).expect("the hub certificate is written");
    let data = dir.join("kiosk");
    let out = run(args(&[
        "enroll",
        "--hub",
        &hub.url(),
        "--code",
        CODE,
        "--data-dir",
        data.to_str().expect("a UTF-8 path"),
        "--hub-ca",
        ca.to_str().expect("a UTF-8 path"),
    ]))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines(&out),
        [format!(
            "enrolled device=dev-1 region={REGION} until={}",
            kiosk::identity::Identity::load(&data)
                .expect("enrolled")
                .not_after
        )]
    );
}

fn publish_region(hub: &TlsHub) {
    let h = &hub.shared.hub;
    h.publish(
        "regions",
        REGION,
        ChangeOp::Upsert,
        json!({"name": "Elm-Asse", "time_zone": "Europe/Berlin"}),
    );
    h.publish(
        "stops",
        "s-dorf",
        ChangeOp::Upsert,
        json!({"region_id": REGION, "name": "Dorfplatz"}),
    );
    h.publish(
        "stops",
        "s-other",
        ChangeOp::Upsert,
        json!({"region_id": "r-else", "name": "Fremd"}),
    );
    h.publish(
        "destinations",
        "d-arzt",
        ChangeOp::Upsert,
        json!({"region_id": REGION, "name": "Praxis", "opening_hours": [
            {"weekday": "mon", "open": "08:00", "close": "12:00"},
            {"weekday": "tue", "open": "08:00", "close": "12:00"},
            {"weekday": "wed", "open": "08:00", "close": "12:00"},
            {"weekday": "thu", "open": "08:00", "close": "12:00"},
            {"weekday": "fri", "open": "08:00", "close": "12:00"}
        ]}),
    );
}

fn sim(data: &Path, bookings: u32, wait_s: u32) -> Vec<String> {
    args(&[
        "sim",
        "--data-dir",
        data.to_str().expect("a UTF-8 path"),
        "--bookings",
        &bookings.to_string(),
        "--wait-s",
        &wait_s.to_string(),
        "--sync-every-s",
        "1",
        "--resident",
        "p-17",
    ])
}

fn assert_bookings(lines: &[String], status: &str) {
    for line in lines {
        let rest = line
            .strip_prefix("booking=")
            .unwrap_or_else(|| panic!("{line}"));
        let (code, word) = rest
            .split_once(" status=")
            .unwrap_or_else(|| panic!("{line}"));
        assert!(code.parse::<protocol::BookingCode>().is_ok(), "{line}");
        assert_eq!(word, status, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_books_online_offline_and_catches_up() {
    let mut hub = TlsHub::start(CODE).await;
    publish_region(&hub);
    let dir = tempfile::tempdir().unwrap();
    enroll(&hub, dir.path()).await;
    let data = dir.path().join("kiosk");

    // Online: every booking confirmed at once, nothing left.
    let out = run(sim(&data, 3, 10)).await;
    let printed = lines(&out);
    assert!(
        out.status.success(),
        "{printed:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(printed.len(), 4, "{printed:?}");
    assert_bookings(&printed[..3], "confirmed");
    assert_eq!(printed[3], "outbox=0");
    let bookings = hub.shared.hub.bookings();
    assert_eq!(bookings.len(), 3);
    let sent: Vec<_> = hub
        .shared
        .hub
        .requests()
        .into_iter()
        .flat_map(|r| r.outbox)
        .collect();
    for entry in &sent {
        let body = &entry.body;
        assert_eq!(
            body["from_stop_id"], "s-dorf",
            "only stops of the region: {body}"
        );
        assert_eq!(body["to_destination_id"], "d-arzt");
        assert_eq!(body["resident_id"], "p-17");
        assert_eq!(
            (body["region_id"].as_str(), body["channel"].as_str()),
            (Some(REGION), Some("kiosk"))
        );
        // Inside the opening hours, 08:00 to 12:00 Berlin time, on a weekday.
        let at = chrono::DateTime::parse_from_rfc3339(body["appointment_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono_tz::Europe::Berlin);
        let hour = chrono::Timelike::hour(&at);
        assert!((8..12).contains(&hour), "{at}");
        assert!(
            chrono::Datelike::weekday(&at).num_days_from_monday() < 5,
            "{at}"
        );
    }

    // Down: bookings are requests, the outbox keeps them, the exit status says so.
    hub.down().await;
    let out = run(sim(&data, 2, 2)).await;
    let printed = lines(&out);
    assert!(!out.status.success(), "entries left must fail: {printed:?}");
    assert_eq!(printed.len(), 3, "{printed:?}");
    assert_bookings(&printed[..2], "requested");
    assert_eq!(printed[2], "outbox=2");
    assert!(String::from_utf8_lossy(&out.stderr).contains("working offline"));

    // Back while a simulation waits: the old requests and the new one go through.
    let mut child = kiosk()
        .args(sim(&data, 1, 60))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first, rest) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        (first, lines)
    })
    .await
    .unwrap();
    assert_bookings(&[first], "requested");
    hub.up().await;
    let (tail, status) = tokio::task::spawn_blocking(move || {
        let tail: Vec<String> = rest.map(|l| l.unwrap()).collect();
        (tail, child.wait().unwrap())
    })
    .await
    .unwrap();
    assert_eq!(tail, ["outbox=0"]);
    assert!(status.success());
    assert_eq!(
        hub.shared.hub.bookings().len(),
        6,
        "every booking exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_without_enrolment_or_places_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(sim(dir.path(), 1, 1)).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not enrolled") && err.contains("kiosk enroll"),
        "{err}"
    );
    assert!(lines(&out).is_empty());

    let hub = TlsHub::start(CODE).await;
    enroll(&hub, dir.path()).await;
    let out = run(sim(&dir.path().join("kiosk"), 1, 1)).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("knows no stops or destinations"), "{err}");
}
