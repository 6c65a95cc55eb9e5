//! `kiosk run` as the appliance's service runs it: a real process against the TLS hub on
//! loopback with short intervals. Syncs and heartbeats arrive, a hub outage is logged and
//! survived, and SIGTERM ends the process with status 0.

use std::process::{Command, Stdio};

use kiosk::identity;
use protocol::sync::ChangeOp;
use serde_json::json;

use crate::LogLines;
use crate::tls_hub::TlsHub;

const CODE: &str = "RUNL-OOPC-ODE1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_syncs_and_beats_survives_an_outage_and_stops_on_sigterm() {
    let mut hub = TlsHub::start(CODE).await;
    hub.shared.hub.publish(
        "stops",
        "s1",
        ChangeOp::Upsert,
        json!({"name": "Dorfplatz"}),
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kiosk");
    identity::enrol(&hub.url(), &hub.hub_cert_pem, CODE, &data)
        .await
        .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["run", "--data-dir"])
        .arg(&data)
        .args(["--sync-every-s", "1", "--heartbeat-every-s", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiosk run starts");
    let log = LogLines::of(&mut child);

    log.until("two syncs and two heartbeats", || {
        let state = hub.shared.state();
        state.syncs.len() >= 2 && state.heartbeats.len() >= 2
    })
    .await;
    assert!(hub.shared.state().syncs.iter().all(|d| d == "dev-1"));
    assert!(
        hub.shared
            .state()
            .heartbeats
            .iter()
            .all(|(d, _)| d == "dev-1")
    );

    hub.down().await;
    log.until("a failed sync", || log.count("sync failed") >= 1)
        .await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the outage does not stop the kiosk"
    );
    let before = hub.shared.state().syncs.len();
    hub.up().await;
    log.until("a sync after the outage", || {
        hub.shared.state().syncs.len() > before
    })
    .await;

    let lines = log.stop(child).await;

    for event in [
        "kiosk running",
        "synced",
        "heartbeat sent",
        "sync failed",
        "next sync try",
        "SIGTERM",
        "kiosk stopped",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(event)),
            "{event} not logged:\n{}",
            lines.join("\n")
        );
    }
    assert!(
        lines.last().unwrap().contains("kiosk stopped"),
        "{}",
        lines.join("\n")
    );
    for line in lines.iter() {
        assert!(
            line.starts_with("20") && line.contains('Z'),
            "one timestamped line per event: {line}"
        );
    }
    // The replica the process synced is on disk.
    let store = kiosk::Store::open(&data.join(kiosk::DATABASE_FILE)).unwrap();
    assert_eq!(store.cursor().unwrap(), 1);
    assert_eq!(store.replica_list("stops").unwrap().len(), 1);
}
