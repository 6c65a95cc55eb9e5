//! The audit log (who touched what, when) and the change log (what kiosks sync from).

use rusqlite::{Connection, params};
use serde_json::Value;

use super::{StoreResult, now_text};

/// Who is acting, for the audit log: an account, a device or the command line.
#[derive(Clone, Debug)]
pub struct Who {
    /// A stable label such as `account:3f2e…` or `cli:import`.
    pub actor: String,
    /// The HTTP request id, when the action came through the API.
    pub request_id: Option<String>,
}

impl Who {
    /// The command line acting as `what` (e.g. `cli:import`).
    pub fn cli(what: &str) -> Who {
        Who {
            actor: format!("cli:{what}"),
            request_id: None,
        }
    }

    /// The hub itself, in a scheduled job such as `system:evening-plan`.
    pub fn system(what: &str) -> Who {
        Who {
            actor: format!("system:{what}"),
            request_id: None,
        }
    }
}

/// What was done, as recorded in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    List,
    Update,
    Cancel,
    Import,
    /// Personal data handed out whole: a resident's GDPR export, a CSV export of people.
    Export,
    /// A resident erased (GDPR Art. 17).
    Erase,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::List => "list",
            Action::Update => "update",
            Action::Cancel => "cancel",
            Action::Import => "import",
            Action::Export => "export",
            Action::Erase => "erase",
        }
    }
}

/// Appends one line to the audit log.
pub fn audit(
    conn: &Connection,
    who: &Who,
    action: Action,
    kind: &str,
    entity_id: Option<&str>,
    region_id: Option<&str>,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, kind, entity_id, region_id, request_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            now_text(),
            who.actor,
            action.as_str(),
            kind,
            entity_id,
            region_id,
            who.request_id
        ],
    )?;
    Ok(())
}

/// Appends a change of a kiosk-visible record to its region's change log and returns its sequence
/// number. Callers hold the write transaction, so the sequence is gap-free and monotonic.
pub fn record_change(
    conn: &Connection,
    region_id: &str,
    kind: &str,
    entity_id: &str,
    cancelled: bool,
    body: &Value,
) -> StoreResult<i64> {
    let seq: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM change_log WHERE region_id = ?1",
        [region_id],
        |r| r.get(0),
    )?;
    conn.execute(
        "INSERT INTO change_log (region_id, seq, at, kind, entity_id, op, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            region_id,
            seq,
            now_text(),
            kind,
            entity_id,
            if cancelled { "cancel" } else { "upsert" },
            body.to_string()
        ],
    )?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Every action the code can write is one the table's CHECK constraint takes, under its
    /// own name.
    #[test]
    fn every_action_is_accepted_by_the_audit_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("hub.db")).unwrap();
        let all = [
            Action::Create,
            Action::Read,
            Action::List,
            Action::Update,
            Action::Cancel,
            Action::Import,
            Action::Export,
            Action::Erase,
        ];
        let written: Vec<String> = store
            .blocking(|conn| {
                for action in all {
                    audit(conn, &Who::cli("test"), action, "residents", None, None)?;
                }
                let mut stmt = conn.prepare("SELECT action FROM audit_log ORDER BY seq")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .unwrap();
        assert_eq!(
            written,
            [
                "create", "read", "list", "update", "cancel", "import", "export", "erase"
            ]
        );
    }
}
