//! Schema history of the hub database, applied at start-up.
//!
//! Migrations are append-only: each file in `migrations/hub/` is embedded here in order, its
//! SHA-256 recorded when applied, and a start on a database whose applied migration differs from
//! the embedded file is refused, because an edited migration would leave databases diverging.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::error::{StoreError, StoreResult};

/// Every hub migration, oldest first. The name is the file stem in `migrations/hub/`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_domain",
        include_str!("../../../migrations/hub/0001_domain.sql"),
    ),
    (
        "0002_ride_planning",
        include_str!("../../../migrations/hub/0002_ride_planning.sql"),
    ),
    (
        "0003_ride_rules",
        include_str!("../../../migrations/hub/0003_ride_rules.sql"),
    ),
    (
        "0004_plan_runs",
        include_str!("../../../migrations/hub/0004_plan_runs.sql"),
    ),
    (
        "0005_devices",
        include_str!("../../../migrations/hub/0005_devices.sql"),
    ),
    (
        "0006_device_sync",
        include_str!("../../../migrations/hub/0006_device_sync.sql"),
    ),
    (
        "0007_help_needs",
        include_str!("../../../migrations/hub/0007_help_needs.sql"),
    ),
    (
        "0008_staff_pins",
        include_str!("../../../migrations/hub/0008_staff_pins.sql"),
    ),
    (
        "0009_village_streets",
        include_str!("../../../migrations/hub/0009_village_streets.sql"),
    ),
    (
        "0010_imbus_tours",
        include_str!("../../../migrations/hub/0010_imbus_tours.sql"),
    ),
    (
        "0011_counselling_days",
        include_str!("../../../migrations/hub/0011_counselling_days.sql"),
    ),
    (
        "0012_web",
        include_str!("../../../migrations/hub/0012_web.sql"),
    ),
    (
        "0013_reminders",
        include_str!("../../../migrations/hub/0013_reminders.sql"),
    ),
    (
        "0014_caregiver_web",
        include_str!("../../../migrations/hub/0014_caregiver_web.sql"),
    ),
    (
        "0015_privacy",
        include_str!("../../../migrations/hub/0015_privacy.sql"),
    ),
    (
        "0016_driver_events",
        include_str!("../../../migrations/hub/0016_driver_events.sql"),
    ),
    (
        "0017_updates",
        include_str!("../../../migrations/hub/0017_updates.sql"),
    ),
];

/// Applies the migrations the database has not seen yet, each in its own transaction.
/// Returns the names of those applied now.
pub fn migrate(conn: &mut Connection) -> StoreResult<Vec<&'static str>> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let digest = hex::encode(Sha256::digest(sql.as_bytes()));
        let known: Option<String> = conn
            .query_row(
                "SELECT sha256 FROM schema_migrations WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        match known {
            Some(stored) if stored == digest => continue,
            Some(_) => {
                return Err(StoreError::Internal(format!(
                    "migration {name} was changed after it was applied; migrations are append-only"
                )));
            }
            None => {}
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (name, sha256, applied_at) VALUES (?1, ?2, ?3)",
            params![name, digest, super::now_text()],
        )?;
        tx.commit()?;
        applied.push(*name);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/hub");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_string())
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, embedded);
    }

    #[test]
    fn migrations_apply_to_an_empty_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        assert_eq!(migrate(&mut conn).unwrap().len(), MIGRATIONS.len());
        assert!(
            migrate(&mut conn).unwrap().is_empty(),
            "second run applies nothing"
        );
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(tables >= 20, "only {tables} tables");
        let problems: Vec<String> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(problems.is_empty());
    }

    #[test]
    fn an_edited_migration_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "UPDATE schema_migrations SET sha256 = 'edited' WHERE name = '0001_domain'",
            [],
        )
        .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
