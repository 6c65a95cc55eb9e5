//! Schema history of the kiosk database, applied when the store opens.
//!
//! Migrations are append-only: each file in `migrations/kiosk/` is embedded here in order, its
//! SHA-256 recorded when applied, and opening a database whose applied migration differs from the
//! embedded file is refused, because an edited migration would leave kiosks with diverging schemas.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{StoreError, StoreResult, now_text};

/// Every kiosk migration, oldest first. The name is the file stem in `migrations/kiosk/`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_kiosk",
        include_str!("../../../migrations/kiosk/0001_kiosk.sql"),
    ),
    (
        "0002_last_sync",
        include_str!("../../../migrations/kiosk/0002_last_sync.sql"),
    ),
    (
        "0003_replica_owner",
        include_str!("../../../migrations/kiosk/0003_replica_owner.sql"),
    ),
    (
        "0004_offline_confirmations",
        include_str!("../../../migrations/kiosk/0004_offline_confirmations.sql"),
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
            Some(_) => return Err(StoreError::EditedMigration((*name).to_string())),
            None => {}
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (name, sha256, applied_at) VALUES (?1, ?2, ?3)",
            params![name, digest, now_text()],
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
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/kiosk");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_string())
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, embedded);
        for (name, sql) in MIGRATIONS {
            let on_disk = std::fs::read_to_string(format!("{dir}/{name}.sql")).unwrap();
            assert_eq!(&on_disk, sql, "{name} embedded as on disk");
        }
    }

    #[test]
    fn migrations_apply_to_an_empty_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        assert_eq!(
            migrate(&mut conn).unwrap(),
            vec![
                "0001_kiosk",
                "0002_last_sync",
                "0003_replica_owner",
                "0004_offline_confirmations"
            ]
        );
        assert!(
            migrate(&mut conn).unwrap().is_empty(),
            "second run applies nothing"
        );
        let mut tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables.retain(|t| !t.starts_with("sqlite_"));
        assert_eq!(
            tables,
            ["outbox", "replica", "schema_migrations", "sync_state"]
        );
        let cursor: i64 = conn
            .query_row("SELECT cursor FROM sync_state", [], |r| r.get(0))
            .unwrap();
        assert_eq!(cursor, 0);
        let last: Option<String> = conn
            .query_row("SELECT last_sync_at FROM sync_state", [], |r| r.get(0))
            .unwrap();
        assert_eq!(last, None);
        let owner: (Option<String>, Option<String>) = conn
            .query_row("SELECT device_id, region_id FROM sync_state", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(owner, (None, None));
    }
}
