//! The waiting list of an IMBUS visit, and the hand-over of a freed slot.
//!
//! Staff of the region (administrators, dispatchers, health workers) put a resident on a visit's
//! list with a topic and, optionally, the linked caregiver to tell; entries are served oldest
//! first. A list is for a full visit: joining is refused while the visit has a slot to book
//! (open, not started, not set aside for a kiosk, no live appointment), naming its time, and
//! for a visit cancelled or over, or a resident who waits or is booked there already.
//!
//! When an appointment on a slot of the visit is cancelled (the API's cancel and the kiosk's
//! cancel by code both run `Appointment::after_cancel`), [`offer_freed_slot`] books the slot for
//! the first waiting resident in the same transaction: an appointment like any other (booking
//! code from its id, channel `phone`, `booked_by` `waiting-list`), the entry becomes `booked`,
//! and the caregiver gets a `slot_given` notice.
//!
//! When the visit is cancelled (any path: the API, the tour re-plan), a trigger of migration 0011
//! ends its waiting entries as `visit_cancelled` and queues `visit_cancelled` notices for their
//! caregivers; when it moves, the entries keep waiting and the caregivers get `visit_moved`.
//!
//! Not handed over: a slot set aside for the village's kiosk (`reserved_for_device_id`); the
//! trigger of migration 0006 refuses every booking there but the kiosk's, and the share must stay
//! free for the kiosk's offline confirmations, so the freed slot goes back to the kiosk. Nor a
//! slot that has started, or one of a cancelled visit or slot.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Created, Result, Staff, audit_update, check_region, finish_create, forbidden, instant,
    region_and, replay, request_hash,
};
use crate::domain::counselling::Topic;
use crate::domain::{Appointment, Role};
use crate::store::logs::{self, Action, Who};
use crate::store::{StoreError, StoreResult, now_text, records};

/// The table, the idempotency kind and the audit log's kind.
const KIND: &str = "waiting_list";

/// Who books a freed slot: the `booked_by` of its appointment and the actor in the audit log.
pub const BOOKED_BY: &str = "waiting-list";

/// What staff send to put a resident on a visit's waiting list.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitingEntry {
    pub resident_id: String,
    pub topic: Topic,
    /// The caregiver to tell when a slot is given; must be linked to the resident.
    #[serde(default)]
    pub caregiver_id: Option<String>,
}

/// The hashed request: the entry and the visit of the path.
#[derive(Serialize)]
struct Request<'a> {
    visit_id: &'a str,
    entry: &'a WaitingEntry,
}

fn check_staff(staff: &Staff) -> Result<()> {
    match staff.role {
        Role::Admin | Role::Dispatcher | Role::HealthWorker => Ok(()),
        role => forbidden(format!("{role:?} accounts may not keep waiting lists")),
    }
}

/// Puts a resident on the waiting list of `visit_id` under the client's `id`.
pub fn add(
    conn: &mut Connection,
    staff: &Staff,
    visit_id: &str,
    id: Uuid,
    entry: &WaitingEntry,
    now: DateTime<Utc>,
) -> Result<Created> {
    check_staff(staff)?;
    let id = id.to_string();
    let hash = request_hash(&Request { visit_id, entry })?;
    let tx = conn.transaction()?;
    let visit = super::visit(&tx, visit_id)?;
    check_region(staff, &visit.region_id)?;
    if let Some(record) = replay(&tx, KIND, &id, &hash)? {
        return Ok(Created {
            record,
            replayed: true,
        });
    }
    if visit.status == "cancelled" {
        return Err(StoreError::Conflict("the visit was cancelled".into()).into());
    }
    if instant(&visit.ends_at)? <= now {
        return Err(StoreError::Conflict("the visit is over".into()).into());
    }
    let resident: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT region_id, archived_at FROM residents WHERE id = ?1",
            [&entry.resident_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match resident {
        None => {
            return Err(StoreError::invalid(
                "resident_id",
                format!("no resident with id {}", entry.resident_id),
            )
            .into());
        }
        Some((region, _)) if region != visit.region_id => {
            return Err(
                StoreError::invalid("resident_id", "the resident lives in another region").into(),
            );
        }
        Some((_, Some(_))) => {
            return Err(StoreError::invalid("resident_id", "the resident is archived").into());
        }
        Some(_) => {}
    }
    if let Some(caregiver) = &entry.caregiver_id {
        let linked: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM caregiver_links l JOIN caregivers c ON c.id = l.caregiver_id
                            WHERE l.caregiver_id = ?1 AND l.resident_id = ?2
                              AND l.archived_at IS NULL AND c.archived_at IS NULL)",
            [caregiver, &entry.resident_id],
            |r| r.get(0),
        )?;
        if !linked {
            return Err(StoreError::invalid(
                "caregiver_id",
                "is not a caregiver linked to the resident",
            )
            .into());
        }
    }
    if booked_on_visit(&tx, &visit.id, &entry.resident_id)? {
        return Err(
            StoreError::Conflict("the resident has an appointment at this visit".into()).into(),
        );
    }
    let waiting: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM waiting_list
                        WHERE visit_id = ?1 AND resident_id = ?2 AND status = 'waiting')",
        [&visit.id, &entry.resident_id],
        |r| r.get(0),
    )?;
    if waiting {
        return Err(StoreError::Conflict(
            "the resident is on this visit's waiting list already".into(),
        )
        .into());
    }
    let free = free_slots(&tx, &visit.id, now)?;
    if let Some(first) = free.first() {
        let tz = crate::domain::common::region_tz(&tx, &visit.region_id)?;
        let mut times = free
            .iter()
            .take(FREE_TIMES_SHOWN)
            .map(|at| super::local_hm(tz, at))
            .collect::<StoreResult<Vec<_>>>()?
            .join(", ");
        if free.len() > FREE_TIMES_SHOWN {
            times.push_str(&format!(" und {} weitere", free.len() - FREE_TIMES_SHOWN));
        }
        return Err(super::CounsellingError::SlotFree {
            detail: format!(
                "Es gibt noch freie Termine: {} um {times}. Bitte einen davon buchen.",
                super::local_day_de(tz, first)?
            ),
        });
    }
    if records::exists(&tx, KIND, &id)? {
        return Err(StoreError::Conflict(format!("waiting-list entry {id} exists already")).into());
    }
    let at = now_text();
    tx.execute(
        "INSERT INTO waiting_list (id, region_id, visit_id, resident_id, topic, caregiver_id,
                                   created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            id,
            visit.region_id,
            visit.id,
            entry.resident_id,
            super::walk_ins::topic_text(entry.topic)?,
            entry.caregiver_id,
            staff.who.actor,
            at
        ],
    )?;
    let record = entry_json(&tx, &id)?;
    finish_create(tx, staff, KIND, &id, &hash, record, &visit.region_id)
}

/// Takes a waiting entry off the list. Withdrawing twice answers the same; an entry that got a
/// slot is refused (cancel its appointment instead).
pub fn withdraw(conn: &mut Connection, staff: &Staff, id: &str) -> Result<Value> {
    check_staff(staff)?;
    let tx = conn.transaction()?;
    let (region, status): (String, String) =
        region_and(&tx, "waiting_list", "status", "waiting-list entry", id)?;
    check_region(staff, &region)?;
    match status.as_str() {
        "booked" => {
            return Err(StoreError::Conflict(
                "the entry got a slot already; cancel its appointment instead".into(),
            )
            .into());
        }
        "waiting" => {
            tx.execute(
                "UPDATE waiting_list SET status = 'withdrawn', updated_at = ?2 WHERE id = ?1",
                params![id, now_text()],
            )?;
            audit_update(&tx, staff, KIND, id, &region)?;
        }
        _ => {}
    }
    let record = entry_json(&tx, id)?;
    tx.commit()?;
    Ok(record)
}

/// The waiting list of a visit for staff, oldest first, with names (audited as a list).
pub fn list(conn: &mut Connection, staff: &Staff, visit_id: &str) -> Result<Vec<Value>> {
    check_staff(staff)?;
    let tx = conn.transaction()?;
    let visit = super::visit(&tx, visit_id)?;
    check_region(staff, &visit.region_id)?;
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM waiting_list WHERE visit_id = ?1 ORDER BY created_at, rowid",
        )?
        .query_map([visit_id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let mut items = Vec::with_capacity(ids.len());
    let mut position = 0;
    for id in ids {
        let mut item = entry_json(&tx, &id)?;
        if item["status"] == "waiting" {
            position += 1;
            item["position"] = json!(position);
        }
        let names: (String, Option<String>) = tx.query_row(
            "SELECT r.name, c.name FROM waiting_list w JOIN residents r ON r.id = w.resident_id
             LEFT JOIN caregivers c ON c.id = w.caregiver_id WHERE w.id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        item["resident_name"] = json!(names.0);
        item["caregiver_name"] = json!(names.1);
        items.push(item);
    }
    logs::audit(
        &tx,
        &staff.who,
        Action::List,
        KIND,
        None,
        Some(&visit.region_id),
    )?;
    tx.commit()?;
    Ok(items)
}

/// An entry without names: what create answers and repeats get.
fn entry_json(conn: &Connection, id: &str) -> StoreResult<Value> {
    Ok(conn.query_row(
        "SELECT id, visit_id, resident_id, topic, caregiver_id, status, appointment_id, created_at
         FROM waiting_list WHERE id = ?1",
        [id],
        |r| {
            Ok(json!({
                "id": r.get::<_, String>(0)?, "visit_id": r.get::<_, String>(1)?,
                "resident_id": r.get::<_, String>(2)?, "topic": r.get::<_, String>(3)?,
                "caregiver_id": r.get::<_, Option<String>>(4)?, "status": r.get::<_, String>(5)?,
                "appointment_id": r.get::<_, Option<String>>(6)?,
                "created_at": r.get::<_, String>(7)?,
            }))
        },
    )?)
}

/// How many free times a refusal names.
const FREE_TIMES_SHOWN: usize = 3;

/// The starts of the visit's slots one could book now instead of waiting: open, not started,
/// not set aside for a kiosk, without a live appointment; earliest first.
fn free_slots(conn: &Connection, visit: &str, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.starts_at FROM slots s
         WHERE s.visit_id = ?1 AND s.status = 'open' AND s.reserved_for_device_id IS NULL
           AND unixepoch(s.starts_at) > ?2
           AND NOT EXISTS (SELECT 1 FROM appointments a
                           WHERE a.slot_id = s.id AND a.status <> 'cancelled')
         ORDER BY unixepoch(s.starts_at), s.id",
    )?;
    let starts = stmt
        .query_map(params![visit, now.timestamp()], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    Ok(starts)
}

fn booked_on_visit(conn: &Connection, visit: &str, resident: &str) -> StoreResult<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM appointments a JOIN slots s ON s.id = a.slot_id
                        WHERE s.visit_id = ?1 AND a.resident_id = ?2 AND a.status = 'booked')",
        [visit, resident],
        |r| r.get(0),
    )?)
}

/// The freed slot's facts.
struct Freed {
    slot_id: String,
    region_id: String,
    visit_id: Option<String>,
    starts_at: String,
    slot_status: String,
    reserved: bool,
    visit_status: Option<String>,
}

/// Gives the slot of the cancelled appointment `appointment_id` to the first resident waiting for
/// its visit, inside the cancel's transaction (see the module documentation). Returns the new
/// appointment's id, if one was made. An entry whose booking is refused (its resident archived
/// since, say) is passed over and stays on the list; any other failure fails the cancel.
pub fn offer_freed_slot(
    tx: &Connection,
    who: &Who,
    appointment_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<String>> {
    let freed: Option<Freed> = tx
        .query_row(
            "SELECT s.id, a.region_id, s.visit_id, s.starts_at, s.status,
                    s.reserved_for_device_id IS NOT NULL, v.status
             FROM appointments a JOIN slots s ON s.id = a.slot_id
             LEFT JOIN imbus_visits v ON v.id = s.visit_id
             WHERE a.id = ?1",
            [appointment_id],
            |r| {
                Ok(Freed {
                    slot_id: r.get(0)?,
                    region_id: r.get(1)?,
                    visit_id: r.get(2)?,
                    starts_at: r.get(3)?,
                    slot_status: r.get(4)?,
                    reserved: r.get(5)?,
                    visit_status: r.get(6)?,
                })
            },
        )
        .optional()?;
    let Some(freed) = freed else {
        return Ok(None);
    };
    let Some(visit_id) = freed.visit_id.clone() else {
        return Ok(None);
    };
    if freed.reserved
        || freed.slot_status == "cancelled"
        || freed.visit_status.as_deref() == Some("cancelled")
        || super::instant(&freed.starts_at)? <= now
    {
        return Ok(None);
    }
    let taken: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM appointments WHERE slot_id = ?1 AND status <> 'cancelled')",
        [&freed.slot_id],
        |r| r.get(0),
    )?;
    if taken {
        return Ok(None);
    }
    let waiting: Vec<Waiting> = tx
        .prepare_cached(
            "SELECT w.id, w.resident_id, w.topic, w.caregiver_id FROM waiting_list w
             JOIN residents r ON r.id = w.resident_id
             WHERE w.visit_id = ?1 AND w.status = 'waiting' AND r.archived_at IS NULL
             ORDER BY w.created_at, w.rowid",
        )?
        .query_map([&visit_id], |r| {
            Ok(Waiting {
                id: r.get(0)?,
                resident: r.get(1)?,
                topic: r.get(2)?,
                caregiver: r.get(3)?,
            })
        })?
        .collect::<std::result::Result<_, _>>()?;
    let booker = Who {
        actor: BOOKED_BY.into(),
        request_id: who.request_id.clone(),
    };
    for entry in waiting {
        if booked_on_visit(tx, &visit_id, &entry.resident)? {
            continue;
        }
        tx.execute_batch("SAVEPOINT waiting_list_offer")?;
        match book(tx, &booker, &freed, &visit_id, &entry) {
            Ok(appointment) => {
                tx.execute_batch("RELEASE waiting_list_offer")?;
                return Ok(Some(appointment));
            }
            Err(e @ (StoreError::Invalid { .. } | StoreError::Conflict(_))) => {
                tx.execute_batch("ROLLBACK TO waiting_list_offer; RELEASE waiting_list_offer")?;
                tracing::warn!(entry = entry.id, "waiting-list entry passed over: {e}");
            }
            Err(e) => {
                tx.execute_batch("ROLLBACK TO waiting_list_offer; RELEASE waiting_list_offer")?;
                return Err(e);
            }
        }
    }
    Ok(None)
}

/// A waiting entry as the hand-over reads it.
struct Waiting {
    id: String,
    resident: String,
    topic: String,
    caregiver: Option<String>,
}

/// Books the freed slot for one entry, marks the entry and queues the caregivers' notices.
fn book(
    tx: &Connection,
    booker: &Who,
    freed: &Freed,
    visit_id: &str,
    entry: &Waiting,
) -> StoreResult<String> {
    let (resident, caregiver) = (&entry.resident, entry.caregiver.as_deref());
    let input: Appointment = records::from_object(
        json!({"region_id": freed.region_id, "slot_id": freed.slot_id, "resident_id": resident,
               "topic": entry.topic, "channel": "phone"})
        .as_object()
        .cloned()
        .unwrap_or_default(),
    )?;
    let created = records::create_in(tx, booker, Some(Uuid::now_v7()), &input)?;
    let appointment = created.record["id"]
        .as_str()
        .ok_or_else(|| StoreError::Internal("a created appointment has an id".into()))?
        .to_string();
    tx.execute(
        "UPDATE waiting_list SET status = 'booked', appointment_id = ?2, updated_at = ?3
         WHERE id = ?1",
        params![entry.id, appointment, now_text()],
    )?;
    logs::audit(
        tx,
        booker,
        Action::Update,
        KIND,
        Some(&entry.id),
        Some(&freed.region_id),
    )?;
    // The entry's caregiver while still linked; without one, every linked caregiver.
    let caregivers: Vec<String> = tx
        .prepare_cached(
            "SELECT l.caregiver_id FROM caregiver_links l
             JOIN caregivers c ON c.id = l.caregiver_id
             WHERE l.resident_id = ?1 AND l.archived_at IS NULL AND c.archived_at IS NULL
               AND (?2 IS NULL OR l.caregiver_id = ?2)
             ORDER BY c.id",
        )?
        .query_map(params![resident, caregiver], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    for caregiver in caregivers {
        tx.execute(
            "INSERT INTO notices (id, region_id, caregiver_id, resident_id, kind, appointment_id,
                                  waiting_id, visit_id, old_start, new_start, reason, created_at)
             VALUES (?1, ?2, ?3, ?4, 'slot_given', ?5, ?6, ?7, NULL, ?8, NULL, ?9)",
            params![
                Uuid::now_v7().to_string(),
                freed.region_id,
                caregiver,
                resident,
                appointment,
                entry.id,
                visit_id,
                freed.starts_at,
                at
            ],
        )?;
    }
    Ok(appointment)
}
