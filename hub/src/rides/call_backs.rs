//! The call-back queue: ride requests that could not be served as asked, and residents who
//! asked to be phoned, for a dispatcher or counsellor to phone about.

use rusqlite::{Connection, params};
use serde_json::{Map, Value, json};

use crate::domain::CallBack;
use crate::domain::callbacks::Resolution;
use crate::store::logs::Who;
use crate::store::records;
use crate::store::{StoreResult, now_text};

/// Opens (or keeps open, with the newest reason) the call-back of a ride that was not served.
pub fn open_for_ride(conn: &Connection, ride_id: &str, reason: &str) -> StoreResult<()> {
    let now = now_text();
    conn.execute(
        "INSERT INTO call_backs (id, region_id, kind, ride_request_id, resident_id, reason, status,
             created_at, updated_at)
         SELECT ?1, region_id, 'ride', id, resident_id, ?2, 'open', ?3, ?3
         FROM ride_requests WHERE id = ?4
         ON CONFLICT (ride_request_id) WHERE ride_request_id IS NOT NULL AND status = 'open'
         DO UPDATE SET reason = excluded.reason, updated_at = excluded.updated_at,
             version = version + 1",
        params![uuid::Uuid::now_v7().to_string(), reason, now, ride_id],
    )?;
    Ok(())
}

/// Closes the open call-back of a ride, if there is one.
pub fn close_for_ride(
    conn: &Connection,
    ride_id: &str,
    resolution: &str,
    by: &str,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE call_backs SET status = 'done', resolution = ?1, resolved_by = ?2, resolved_at = ?3,
             updated_at = ?3, version = version + 1
         WHERE ride_request_id = ?4 AND status = 'open'",
        params![resolution, by, now_text(), ride_id],
    )?;
    Ok(())
}

/// Closes an open call-back with how it ended, as a dispatcher does after phoning: through the
/// domain's update (validation, `resolved_by` and `resolved_at`, the audit line, and a turned
/// down ride's outcome), in one transaction. A call-back that is done already stays as it is and
/// the answer is `None`; an unknown id is `NotFound`.
pub fn resolve(
    conn: &mut Connection,
    who: &Who,
    id: &str,
    resolution: Resolution,
) -> StoreResult<Option<Value>> {
    let tx = conn.transaction()?;
    let current = records::read_row::<CallBack>(&tx, id)?;
    if current.get("status").and_then(Value::as_str) != Some("open") {
        return Ok(None);
    }
    let mut patch = Map::new();
    patch.insert("status".into(), json!("done"));
    patch.insert("resolution".into(), json!(resolution));
    let record = records::update_in::<CallBack>(&tx, who, id, patch)?;
    tx.commit()?;
    Ok(Some(record))
}
