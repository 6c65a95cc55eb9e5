//! The outbox promise under a real crash: a child process enqueues bookings and reports each id
//! the moment `enqueue` returns; the test kills it with SIGKILL mid-stream and reopens the file.
//! Every reported booking must be there, pending, in order, and the file must be intact.
//!
//! The child is this test binary run again with an environment variable naming the database, so
//! no extra binary is built for it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use kiosk::Store;
use protocol::sync::OutboxKind;
use serde_json::json;
use uuid::Uuid;

const CHILD_DB: &str = "DORFPUNKT_KIOSK_CRASH_CHILD_DB";
const REPORTED: usize = 25;

/// The child: enqueue for ever, printing each id once `enqueue` has returned.
fn enqueue_until_killed(path: &Path) -> ! {
    let store = Store::open(path).expect("the child opens the database");
    let mut out = std::io::stdout().lock();
    for n in 0u64.. {
        let id = store
            .enqueue(
                OutboxKind::RideRequest,
                json!({"n": n, "pickup_at": "2026-11-24T08:00:00Z", "resident": {"name": "Erna"}}),
            )
            .expect("enqueue in the child");
        writeln!(out, "enqueued {id}").expect("the parent reads our stdout");
        out.flush().expect("the parent reads our stdout");
    }
    unreachable!("u64 ran out")
}

#[test]
fn bookings_survive_a_kill_right_after_enqueue_returns() {
    if let Some(path) = std::env::var_os(CHILD_DB) {
        enqueue_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash::bookings_survive_a_kill_right_after_enqueue_returns",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while reported.len() < REPORTED {
        let Some(line) = lines.next() else { break };
        if let Some(id) = line.unwrap().split("enqueued ").nth(1) {
            reported.push(Uuid::parse_str(id.trim()).unwrap());
        }
    }
    // The child is in the middle of its next enqueue (or just past it) when the signal lands.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        reported.len(),
        REPORTED,
        "the child stopped early: {status}"
    );
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL, not exited");

    let store = Store::open(&path).unwrap();
    let pending: Vec<Uuid> = store
        .pending(usize::MAX)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(pending.len() >= REPORTED);
    assert_eq!(
        pending[..REPORTED],
        reported[..],
        "every reported booking, in order"
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
