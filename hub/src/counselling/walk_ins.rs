//! Walk-ins: people who came to a visit without an appointment, recorded as a count per topic by
//! the visit's counsellor once the visit has started. Never a person, so nothing personal is kept.
//! The client makes the id; the same request again gets the first answer, other content 409.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Created, Result, Staff, check_counsellor, finish_create, instant, replay, request_hash,
};
use crate::domain::counselling::Topic;
use crate::store::{StoreError, now_text, records};

/// The idempotency kind and the audit log's kind.
const KIND: &str = "walk_ins";

/// The most people one entry counts; more is a typing error (make several entries).
pub const MAX_COUNT: u32 = 50;

/// What the counsellor sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkIn {
    pub visit_id: String,
    pub topic: Topic,
    pub count: u32,
}

/// Records `input` under the client's `id`, in one transaction with its audit line.
pub fn record(
    conn: &mut Connection,
    staff: &Staff,
    id: Uuid,
    input: &WalkIn,
    now: DateTime<Utc>,
) -> Result<Created> {
    if !(1..=MAX_COUNT).contains(&input.count) {
        return Err(
            StoreError::invalid("count", format!("must lie between 1 and {MAX_COUNT}")).into(),
        );
    }
    let id = id.to_string();
    let hash = request_hash(input)?;
    let tx = conn.transaction()?;
    let visit = match super::visit(&tx, &input.visit_id) {
        Ok(visit) => visit,
        Err(StoreError::NotFound { .. }) => {
            return Err(StoreError::invalid(
                "visit_id",
                format!("no IMBUS visit with id {}", input.visit_id),
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    check_counsellor(&tx, staff, &visit)?;
    if let Some(record) = replay(&tx, KIND, &id, &hash)? {
        return Ok(Created {
            record,
            replayed: true,
        });
    }
    if visit.status == "cancelled" {
        return Err(StoreError::invalid("visit_id", "the visit was cancelled").into());
    }
    if instant(&visit.starts_at)? > now {
        return Err(StoreError::invalid("visit_id", "the visit has not started yet").into());
    }
    if records::exists(&tx, KIND, &id)? {
        return Err(StoreError::Conflict(format!("walk-in entry {id} exists already")).into());
    }
    let created_at = now_text();
    tx.execute(
        "INSERT INTO walk_ins (id, region_id, visit_id, village_id, topic, count, recorded_by,
                               created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            visit.region_id,
            visit.id,
            visit.village_id,
            topic_text(input.topic)?,
            input.count,
            staff.who.actor,
            created_at
        ],
    )?;
    let record = json!({
        "id": id, "visit_id": visit.id, "village_id": visit.village_id, "topic": input.topic,
        "count": input.count, "created_at": created_at,
    });
    finish_create(tx, staff, KIND, &id, &hash, record, &visit.region_id)
}

/// A topic as stored (`"health"`).
pub(crate) fn topic_text(topic: Topic) -> std::result::Result<String, StoreError> {
    match serde_json::to_value(topic) {
        Ok(Value::String(text)) => Ok(text),
        other => Err(StoreError::Internal(format!(
            "a topic serializes to {other:?}"
        ))),
    }
}
