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
