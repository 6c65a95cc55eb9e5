//! The outcome of an IMBUS appointment, recorded from the day view: attended or no-show, the
//! topic it turned out to be about, and where the counsellor referred to (one of the region's
//! destination categories, or none). No free text: nothing about a person's health is written
//! beyond the topic category. Only the visit's counsellor (or an administrator) records it, only
//! once the slot has started; the same outcome again changes nothing, another one corrects it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Result, Staff, check_counsellor, instant};
use crate::domain::Appointment;
use crate::domain::counselling::Topic;
use crate::store::{StoreError, records};

/// Attended or no-show; an outcome can say nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Attended,
    NoShow,
}

/// What the counsellor sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    pub status: OutcomeStatus,
    pub topic: Topic,
    /// One of the region's destination categories; null or absent: no referral.
    #[serde(default)]
    pub referral: Option<String>,
}

/// Records `outcome` for the appointment `id`; answers with the appointment's id, start, status,
/// topic and referral.
pub fn record(
    conn: &mut Connection,
    staff: &Staff,
    id: &str,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Value> {
    let tx = conn.transaction()?;
    let row: Option<(Option<String>, String, String)> = tx
        .query_row(
            "SELECT s.visit_id, s.starts_at, a.status FROM appointments a
             JOIN slots s ON s.id = a.slot_id WHERE a.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((visit, slot_starts, status)) = row else {
        return Err(StoreError::NotFound {
            kind: "appointment",
            id: id.to_string(),
        }
        .into());
    };
    let Some(visit) = visit else {
        return Err(StoreError::Conflict(
            "the appointment lies in consultation hours at a kiosk; its health worker records it there"
                .into(),
        )
        .into());
    };
    let visit = super::visit(&tx, &visit)?;
    check_counsellor(&tx, staff, &visit)?;
    if status == "cancelled" {
        return Err(StoreError::Conflict("the appointment was cancelled".into()).into());
    }
    if instant(&slot_starts)? > now {
        return Err(
            StoreError::invalid("status", "the appointment's slot has not started yet").into(),
        );
    }
    let wanted = serde_json::to_value(outcome)
        .map_err(|e| StoreError::Internal(format!("serializing outcome: {e}")))?;
    let current = records::read_row::<Appointment>(&tx, id)?;
    let same = ["status", "topic", "referral"]
        .iter()
        .all(|f| current.get(*f).unwrap_or(&Value::Null) == wanted.get(*f).unwrap_or(&Value::Null));
    let record = if same {
        current
    } else {
        let mut patch = Map::new();
        for field in ["status", "topic", "referral"] {
            patch.insert(
                field.into(),
                wanted.get(field).cloned().unwrap_or(Value::Null),
            );
        }
        records::update_in::<Appointment>(&tx, &staff.who, id, patch)?
    };
    tx.commit()?;
    Ok(json!({
        "id": record["id"], "starts_at": record["starts_at"], "status": record["status"],
        "topic": record["topic"], "referral": record["referral"],
    }))
}
