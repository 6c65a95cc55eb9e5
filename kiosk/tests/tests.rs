//! Integration tests of the kiosk library on real SQLite files: sync and counselling appointments
//! against an in-process hub, the outbox surviving a process killed right after `enqueue`, and
//! enrolment (also again as another device), mutual TLS, booking, heartbeats, `kiosk sim` and the
//! `kiosk run` service against a small TLS hub on loopback.

mod appointments;
mod crash;
mod device;
mod frontend;
mod hub;
mod install_server;
mod printing;
mod reenrol;
mod run;
mod sim;
mod speech;
mod sync;
mod ticket;
mod tls_hub;
mod ui;
mod ui_booking;
mod ui_buttons;
mod ui_counselling;
mod ui_help;
mod ui_idle;
mod ui_person;
mod ui_printing;
mod ui_ride;
mod ui_setup;
mod ui_staff;
mod ui_visit_changes;
mod update;

use std::path::{Path, PathBuf};

use kiosk::Store;
use tempfile::TempDir;

/// A fresh kiosk database in its own directory.
pub fn open_store() -> (TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kiosk.db");
    let store = Store::open(&path).expect("a new kiosk database opens");
    (dir, path, store)
}

/// Every row the sync touches, as text, read through a second connection: two dumps are equal
/// exactly when the database holds the same state.
pub fn dump(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("the database opens again");
    let mut text = String::new();
    for sql in [
        "SELECT 'cursor ' || cursor FROM sync_state",
        "SELECT kind || ' ' || id || ' ' || seq || ' ' || body FROM replica ORDER BY kind, id",
        "SELECT id || ' ' || position || ' ' || kind || ' ' || booking_code || ' ' || state || ' '
                || body || ' ' || COALESCE(answer, '-') || ' ' || COALESCE(answered_at, '-')
         FROM outbox ORDER BY position",
    ] {
        let mut stmt = conn.prepare(sql).expect("dump query");
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .expect("dump rows");
        for row in rows {
            text.push_str(&row.expect("a dump row"));
            text.push('\n');
        }
    }
    text
}

/// A multi-thread runtime with two workers, for tests that drive async code (a hub, an
/// enrolment) from a plain test thread, such as the UI's.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// The log lines a kiosk process writes to stderr, collected as they come by a thread that
/// reads to the end (a process whose stderr is closed would fail to log while it stops).
pub struct LogLines {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl LogLines {
    /// Starts reading `child`'s piped stderr.
    pub fn of(child: &mut std::process::Child) -> LogLines {
        use std::io::BufRead;
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let collected = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.expect("a log line");
                collected.lock().expect("the test thread lives").push(line);
            }
        });
        LogLines { lines, reader }
    }

    /// How many lines so far contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.lines
            .lock()
            .expect("the reader thread lives")
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }

    /// Every line so far, one per line.
    pub fn text(&self) -> String {
        self.lines
            .lock()
            .expect("the reader thread lives")
            .join("\n")
    }

    /// Waits up to 60 s for `done`, checking every 100 ms; panics with `what` and the lines so
    /// far if it never holds.
    pub async fn until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "{what} did not happen; the kiosk logged:\n{}",
                self.text()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Stops `child` with SIGTERM, as systemd does, checks it ends with status 0 and returns
    /// every line it logged.
    pub async fn stop(self, mut child: std::process::Child) -> Vec<String> {
        sigterm(&child);
        let status = tokio::task::spawn_blocking(move || child.wait().expect("the kiosk ends"))
            .await
            .expect("the wait ends");
        let lines = self.finish();
        assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
        lines
    }

    /// Every line, once the process closed its stderr.
    pub fn finish(self) -> Vec<String> {
        self.reader.join().expect("the reader thread ends");
        std::mem::take(&mut *self.lines.lock().expect("the reader thread ended"))
    }
}

/// Sends SIGTERM to `child`, as systemd stops a service.
pub fn sigterm(child: &std::process::Child) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -TERM {}", child.id());
}
