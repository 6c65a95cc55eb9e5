//! The hub's side of the kiosk sync exchange: answer a kiosk's outbox entries once and for good,
//! and send it the next page of its region's changes that a kiosk may hold.
//!
//! **Entries.** Each entry is handled in its own transaction, in the order sent. The permanent key
//! of kiosk and entry id (`device_writes`) holds the hash of what the entry asked and the hub's
//! first answer: a repeat gets that answer again, the same id with other content is refused. A
//! new entry is written through the same domain code as the API (`records::create_in`: checks,
//! idempotency by id, audit, change log, the ride booking by instant insertion), acting as the
//! device (`booked_by` = `device:<id>`, channel `kiosk`). A refusal for bad input is an answer
//! too and is kept like an acceptance, so a repeat is refused the same way.
//!
//! **Changes.** The region's change log after the kiosk's cursor, filtered to what a kiosk may
//! hold (see [`kiosk_may_hold`]); lines filtered out still move the cursor. The hub's later
//! answers to the kiosk's own bookings reach it the same way: a trigger of migration 0006 logs
//! status and window changes of kiosk bookings with a body reduced to the ticket's fields, and
//! only the booking device is sent them.
//!
//! **Updates.** The answer also names the software release staged for the kiosk while it reports
//! another version (`crate::updates::offer_for`).
//!
//! **Slot shares** live in [`shares`]; an appointment entry for a slot set aside for another kiosk,
//! or one already booked, is refused with 409 "slot taken".

pub mod cancel;
pub mod riders;
pub mod shares;

use chrono::{DateTime, Utc};
use protocol::sync::{
    Ack, AckOutcome, Change, ChangeOp, MAX_CHANGES, MAX_OUTBOX_ENTRIES, OutboxEntry, OutboxKind,
    SyncRequest, SyncResponse,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::devices::DeviceIdentity;
use crate::domain::callbacks::{CallBackKind, CallBackStatus};
use crate::domain::common::{Instant, column_of};
use crate::domain::counselling::{AppointmentChannel, AppointmentStatus, Topic};
use crate::domain::rides::{Channel, RideStatus};
use crate::domain::{Appointment, CallBack, RideRequest};
use crate::store::logs::Who;
use crate::store::records;
use crate::store::{Store, StoreError, StoreResult};

/// Title of the refusal of an entry whose id this device already used with other content.
pub const SAME_ID_OTHER_CONTENT: &str = "same id, other content";
/// Title of the refusal of an appointment for a slot that is booked or set aside for another kiosk.
pub const SLOT_TAKEN: &str = "slot taken";
/// Title of the refusal of an entry whose id another device or the web already used.
pub const ID_IN_USE: &str = "id already used";
/// Title of the refusal of an entry with invalid input.
pub const INVALID_INPUT: &str = "Invalid input";

/// Change-log lines looked at in one exchange at most, included or not; the rest comes next time.
const MAX_SCANNED: usize = 20 * MAX_CHANGES as usize;

/// Runs one exchange for `device` on the store (blocking; async callers use [`Store::run`] with
/// [`exchange_on`]). `request_id` goes into the audit log.
pub fn exchange(
    store: &Store,
    device: &DeviceIdentity,
    request: &SyncRequest,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<SyncResponse> {
    store.blocking(|conn| exchange_on(conn, device, request, request_id, now))
}

/// One exchange on an open connection: checks the request as a whole (a wrong one is refused
/// with nothing changed), answers every entry in order, and reads the next page of changes.
pub fn exchange_on(
    conn: &mut Connection,
    device: &DeviceIdentity,
    request: &SyncRequest,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<SyncResponse> {
    let device = stored_device(conn, device)?;
    check_request(conn, &device, request)?;
    // Audited as `device:<id>`, which is also the `booked_by` of its bookings (the triggers of
    // migration 0006 rely on that prefix).
    let who = device.who(request_id);

    // A kiosk added at a village, or a visit whose slots were made since, gets its share: on the
    // device's first sync of a minute (its replica shows a set-aside slot only after that).
    if due_for_minute(conn, &device, now)? {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        shares::assign_for_village(&tx, &device.village_id, now)?;
        tx.commit()?;
    }

    let mut acks = Vec::with_capacity(request.outbox.len());
    for entry in &request.outbox {
        let outcome = answer(conn, &device, &who, entry, now)?;
        acks.push(Ack {
            id: entry.id,
            outcome,
        });
    }
    let page = changes(conn, &device, request.cursor, request.limit)?;
    mark_synced(conn, &device, now)?;
    Ok(SyncResponse {
        acks,
        changes: page.changes,
        cursor: page.cursor,
        more: page.more,
        update: crate::updates::offer_for(conn, &device.device_id)?,
    })
}

/// The device as stored: its region and village are the store's, not the caller's.
fn stored_device(conn: &Connection, device: &DeviceIdentity) -> StoreResult<DeviceIdentity> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT region_id, village_id, status FROM devices WHERE id = ?1",
            [&device.device_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((region_id, village_id, status)) = row else {
        return Err(StoreError::NotFound {
            kind: "device",
            id: device.device_id.clone(),
        });
    };
    if status == "revoked" {
        return Err(StoreError::Conflict(format!(
            "device {} is revoked; enrol the kiosk again",
            device.device_id
        )));
    }
    if region_id != device.region_id {
        return Err(StoreError::Conflict(format!(
            "device {} belongs to another region",
            device.device_id
        )));
    }
    Ok(DeviceIdentity {
        device_id: device.device_id.clone(),
        region_id,
        village_id,
    })
}

/// Refuses a request the hub cannot answer as a whole; nothing is changed then.
fn check_request(
    conn: &Connection,
    device: &DeviceIdentity,
    request: &SyncRequest,
) -> StoreResult<()> {
    if request.api_version != protocol::API_VERSION {
        return Err(StoreError::invalid(
            "api_version",
            format!(
                "this hub speaks version {}, the kiosk {}; update the kiosk's software",
                protocol::API_VERSION,
                request.api_version
            ),
        ));
    }
    if request.outbox.len() > MAX_OUTBOX_ENTRIES {
        return Err(StoreError::invalid(
            "outbox",
            format!(
                "{} entries; send at most {MAX_OUTBOX_ENTRIES} at once",
                request.outbox.len()
            ),
        ));
    }
    if !(1..=MAX_CHANGES).contains(&request.limit) {
        return Err(StoreError::invalid(
            "limit",
            format!("must be from 1 to {MAX_CHANGES}"),
        ));
    }
    let last = last_seq(conn, &device.region_id)?;
    if request.cursor > last {
        return Err(StoreError::invalid(
            "cursor",
            format!(
                "{} lies ahead of the region's change log, which ends at {last}; the kiosk's copy \
                 is not from this hub: reset it and sync from 0",
                request.cursor
            ),
        ));
    }
    Ok(())
}

fn last_seq(conn: &Connection, region_id: &str) -> StoreResult<u64> {
    let last: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM change_log WHERE region_id = ?1",
        [region_id],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(last).unwrap_or(0))
}

/// SHA-256 of an entry's body as sent (serde_json writes an object the same way each time).
fn body_hash(entry: &OutboxEntry) -> String {
    hex::encode(Sha256::digest(entry.body.to_string()))
}

/// The answer to one entry: the first answer again for a repeat, else the entry applied in its
/// own transaction with its answer kept. Only a failure of the database itself is an error; it
/// rolls back this entry and fails the exchange (the kiosk sends the entry again).
fn answer(
    conn: &mut Connection,
    device: &DeviceIdentity,
    who: &Who,
    entry: &OutboxEntry,
    now: DateTime<Utc>,
) -> StoreResult<AckOutcome> {
    let hash = body_hash(entry);
    let entry_id = entry.id.to_string();
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known: Option<(String, String, String)> = tx
        .query_row(
            "SELECT kind, body_sha256, answer FROM device_writes
             WHERE device_id = ?1 AND entry_id = ?2",
            [&device.device_id, &entry_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((kind, stored_hash, answer)) = known {
        if kind == entry.kind.as_str() && stored_hash == hash {
            return serde_json::from_str(&answer)
                .map_err(|e| StoreError::Internal(format!("stored answer unreadable: {e}")));
        }
        return Ok(refused(
            409,
            SAME_ID_OTHER_CONTENT,
            format!(
                "entry {entry_id} was sent before with other content; a new booking needs a new id"
            ),
            None,
        ));
    }

    let outcome = {
        let savepoint = tx.savepoint()?;
        match apply(&savepoint, device, who, entry) {
            Ok(record) => {
                savepoint.commit()?;
                AckOutcome::Accepted { record }
            }
            // Dropping the savepoint rolls back whatever the refused entry wrote.
            Err(Fail::Refuse(outcome)) => outcome,
            Err(Fail::Store(e)) => return Err(e),
        }
    };
    let text = serde_json::to_string(&outcome)
        .map_err(|e| StoreError::Internal(format!("answer: {e}")))?;
    tx.execute(
        "INSERT INTO device_writes (device_id, entry_id, kind, body_sha256, answer, first_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            device.device_id,
            entry_id,
            entry.kind.as_str(),
            hash,
            text,
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ],
    )?;
    tx.commit()?;
    Ok(outcome)
}

fn refused(status: u16, title: &str, detail: String, field: Option<String>) -> AckOutcome {
    AckOutcome::Refused {
        status,
        title: title.to_string(),
        detail,
        field,
    }
}

/// Why an entry was not stored: refused for good (an answer), or the store failed.
enum Fail {
    Refuse(AckOutcome),
    Store(StoreError),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { field, reason } => Fail::Refuse(refused(
                422,
                INVALID_INPUT,
                format!("{field}: {reason}"),
                Some(field),
            )),
            StoreError::NotFound { kind, id } => Fail::Refuse(refused(
                422,
                INVALID_INPUT,
                format!("no {kind} with id {id}"),
                None,
            )),
            StoreError::Conflict(detail) => Fail::Refuse(refused(409, "Conflict", detail, None)),
            e @ (StoreError::Db(_) | StoreError::Internal(_)) => Fail::Store(e),
        }
    }
}

/// Writes a new entry through the domain code and returns the record the kiosk shows.
fn apply(
    tx: &Connection,
    device: &DeviceIdentity,
    who: &Who,
    entry: &OutboxEntry,
) -> Result<Value, Fail> {
    entry
        .created_at
        .parse::<Instant>()
        .map_err(|reason| StoreError::Invalid {
            field: "created_at".into(),
            reason,
        })?;
    let Value::Object(body) = &entry.body else {
        return Err(StoreError::invalid("body", "must be a JSON object").into());
    };
    check_id_unused(tx, device, entry.id)?;
    match entry.kind {
        OutboxKind::RideRequest => {
            let mut ride: KioskRide = records::from_object(body.clone())?;
            let rider = riders::resolve(
                tx,
                device,
                who,
                entry.id,
                &entry.created_at,
                ride.named(),
                (ride.walker, ride.wheelchair),
            )?;
            let input = ride.into_request(device, &rider)?;
            let created = records::create_in(tx, &rider.who, Some(entry.id), &input)?;
            // The ticket prints the resident's number: next time they book with it.
            let number = riders::number_of(tx, &rider.who, &rider.resident_id)?;
            let mut record = ride_record(&created.record);
            record["resident_number"] = json!(number.to_string());
            Ok(record)
        }
        OutboxKind::Appointment => {
            let booking: KioskAppointment = records::from_object(body.clone())?;
            check_slot(tx, device, &booking.slot_id)?;
            let input = booking.into_appointment(device)?;
            let created = match records::create_in(tx, who, Some(entry.id), &input) {
                Ok(created) => created,
                // The id is unused (checked above): the conflict is the one-per-slot index.
                Err(StoreError::Conflict(_)) => return Err(slot_taken()),
                Err(e) => return Err(e.into()),
            };
            appointment_record(tx, &created.record).map_err(Fail::from)
        }
        OutboxKind::CallBack => {
            let call: KioskCallBack = records::from_object(body.clone())?;
            let input = call.into_call_back(device)?;
            let created = records::create_in(tx, who, Some(entry.id), &input)?;
            Ok(pick(
                &created.record,
                &["id", "status", "kind", "created_at"],
            ))
        }
        OutboxKind::Cancel => cancel::apply(tx, device, who, body),
        OutboxKind::AppointmentOutcome => Ok(crate::staff::apply_outcome(
            tx,
            device,
            who.request_id.clone(),
            &entry.created_at,
            body.clone(),
            Utc::now(),
        )?),
    }
}

/// An id another device or the web used already is refused, never overwritten or replayed.
fn check_id_unused(tx: &Connection, device: &DeviceIdentity, id: Uuid) -> Result<(), Fail> {
    let id = id.to_string();
    let other_device: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM device_writes WHERE entry_id = ?1 AND device_id <> ?2)",
        [&id, &device.device_id],
        |r| r.get(0),
    )?;
    let created: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM idempotent_creates
                        WHERE kind IN ('ride_requests', 'appointments', 'call_backs') AND id = ?1)",
        [&id],
        |r| r.get(0),
    )?;
    let mut exists = false;
    for table in ["ride_requests", "appointments", "call_backs"] {
        exists |= records::exists(tx, table, &id)?;
    }
    if other_device || created || exists {
        return Err(Fail::Refuse(refused(
            409,
            ID_IN_USE,
            format!("the id {id} belongs to another booking; a new booking needs a new id"),
            Some("id".into()),
        )));
    }
    Ok(())
}

fn slot_taken() -> Fail {
    Fail::Refuse(refused(
        409,
        SLOT_TAKEN,
        "the slot is no longer free; the kiosk keeps the booking as a request".into(),
        Some("slot_id".into()),
    ))
}

/// A slot set aside for another kiosk, or booked already, is taken; one set aside for this kiosk
/// is its own to confirm, also when the entry arrives late.
fn check_slot(tx: &Connection, device: &DeviceIdentity, slot_id: &str) -> Result<(), Fail> {
    let reserved: Option<Option<String>> = tx
        .query_row(
            "SELECT reserved_for_device_id FROM slots WHERE id = ?1",
            [slot_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::from)?;
    // An unknown slot is refused by the domain's reference check, with its field.
    let Some(reserved) = reserved else {
        return Ok(());
    };
    if reserved.is_some_and(|d| d != device.device_id) {
        return Err(slot_taken());
    }
    let booked: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM appointments WHERE slot_id = ?1 AND status <> 'cancelled')",
        [slot_id],
        |r| r.get(0),
    )?;
    if booked {
        return Err(slot_taken());
    }
    Ok(())
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Store(StoreError::Db(e))
    }
}

/// `record` reduced to `fields` (those present).
fn pick(record: &Value, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for field in fields {
        if let Some(value) = record.get(*field) {
            out.insert((*field).to_string(), value.clone());
        }
    }
    Value::Object(out)
}

/// What the kiosk shows and prints of a booked ride: the answer and the trip, nobody's name.
fn ride_record(record: &Value) -> Value {
    pick(
        record,
        &[
            "id",
            "booking_code",
            "status",
            "status_reason",
            "pickup_at",
            "appointment_at",
            "pickup_window_start",
            "pickup_window_end",
            "planning",
            "passengers",
            "return_of",
            "from_stop_id",
            "from_destination_id",
            "from_home",
            "to_stop_id",
            "to_destination_id",
            "to_home",
        ],
    )
}

/// What the kiosk shows and prints of an appointment: the slot and its time, not the topic.
fn appointment_record(tx: &Connection, record: &Value) -> StoreResult<Value> {
    let mut out = pick(
        record,
        &[
            "id",
            "booking_code",
            "status",
            "slot_id",
            "village_id",
            "starts_at",
        ],
    );
    if let Some(slot) = record.get("slot_id").and_then(Value::as_str) {
        let ends: Option<String> = column_of(tx, "slots", "ends_at", slot)?;
        out["ends_at"] = json!(ends);
    }
    Ok(out)
}

/// A ride request as a kiosk sends it: the API's fields; the hub fills in region and channel from
/// the device (a kiosk may name them, but only as its own) and refuses a status. The resident is
/// named by id, number or as a new resident, and a caregiver may book for a linked resident
/// (see [`riders`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskRide {
    /// May be given (the kiosk knows its region from enrolment); must be the device's.
    #[serde(default)]
    region_id: Option<String>,
    /// May be given; must be `kiosk`.
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    resident_id: Option<String>,
    /// Printed on the resident's earlier tickets (`482-913-7`).
    #[serde(default)]
    resident_number: Option<String>,
    #[serde(default)]
    new_resident: Option<protocol::people::NewResident>,
    /// A caregiver who logged in at the kiosk with their PIN, booking for a linked resident.
    #[serde(default)]
    caregiver_id: Option<String>,
    #[serde(default)]
    from_stop_id: Option<String>,
    #[serde(default)]
    from_destination_id: Option<String>,
    #[serde(default)]
    from_home: bool,
    #[serde(default)]
    to_stop_id: Option<String>,
    #[serde(default)]
    to_destination_id: Option<String>,
    #[serde(default)]
    to_home: bool,
    #[serde(default)]
    appointment_at: Option<Instant>,
    #[serde(default)]
    pickup_at: Option<Instant>,
    #[serde(default)]
    return_of: Option<String>,
    #[serde(default = "one")]
    passengers: u32,
    #[serde(default)]
    wheelchair: bool,
    #[serde(default)]
    walker: bool,
}

fn one() -> u32 {
    1
}

impl KioskRide {
    /// Who the entry names, taken out of it.
    fn named(&mut self) -> riders::Named {
        riders::Named {
            resident_id: self.resident_id.take(),
            resident_number: self.resident_number.take(),
            new_resident: self.new_resident.take(),
            caregiver_id: self.caregiver_id.take(),
        }
    }

    fn into_request(
        self,
        device: &DeviceIdentity,
        rider: &riders::Rider,
    ) -> StoreResult<RideRequest> {
        check_own_region(self.region_id.as_deref(), device)?;
        if self.channel.is_some_and(|c| c != Channel::Kiosk) {
            return Err(StoreError::invalid(
                "channel",
                "a kiosk books through the kiosk channel",
            ));
        }
        Ok(RideRequest {
            region_id: device.region_id.clone(),
            resident_id: rider.resident_id.clone(),
            from_stop_id: self.from_stop_id,
            from_destination_id: self.from_destination_id,
            from_home: self.from_home,
            to_stop_id: self.to_stop_id,
            to_destination_id: self.to_destination_id,
            to_home: self.to_home,
            appointment_at: self.appointment_at,
            pickup_at: self.pickup_at,
            return_of: self.return_of,
            passengers: self.passengers,
            wheelchair: self.wheelchair,
            walker: self.walker,
            status: RideStatus::Requested,
            channel: Channel::Kiosk,
            caregiver_id: rider.caregiver_id.clone(),
        })
    }
}

/// A region named in an entry must be the device's own.
fn check_own_region(region_id: Option<&str>, device: &DeviceIdentity) -> StoreResult<()> {
    match region_id {
        Some(region) if region != device.region_id => Err(StoreError::invalid(
            "region_id",
            "is not the kiosk's region; a kiosk books in its own region only",
        )),
        _ => Ok(()),
    }
}

/// An appointment as a kiosk sends it: the slot, and optionally who and what about.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskAppointment {
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    channel: Option<AppointmentChannel>,
    slot_id: String,
    #[serde(default)]
    resident_id: Option<String>,
    /// A walk-in need not say; the counsellor asks.
    #[serde(default = "other")]
    topic: Topic,
}

fn other() -> Topic {
    Topic::Other
}

impl KioskAppointment {
    fn into_appointment(self, device: &DeviceIdentity) -> StoreResult<Appointment> {
        check_own_region(self.region_id.as_deref(), device)?;
        if self.channel.is_some_and(|c| c != AppointmentChannel::Kiosk) {
            return Err(StoreError::invalid(
                "channel",
                "a kiosk books through the kiosk channel",
            ));
        }
        Ok(Appointment {
            region_id: device.region_id.clone(),
            slot_id: self.slot_id,
            resident_id: self.resident_id,
            topic: self.topic,
            channel: AppointmentChannel::Kiosk,
            status: AppointmentStatus::Booked,
            referral: None,
        })
    }
}

/// A request to be phoned by counselling, as a kiosk sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskCallBack {
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    resident_id: Option<String>,
    #[serde(default)]
    contact_name: Option<String>,
    #[serde(default)]
    contact_phone: Option<String>,
    #[serde(default)]
    topic: Option<Topic>,
}

impl KioskCallBack {
    fn into_call_back(self, device: &DeviceIdentity) -> StoreResult<CallBack> {
        check_own_region(self.region_id.as_deref(), device)?;
        Ok(CallBack {
            region_id: device.region_id.clone(),
            kind: CallBackKind::Counselling,
            ride_request_id: None,
            resident_id: self.resident_id,
            contact_name: self.contact_name,
            contact_phone: self.contact_phone,
            topic: self.topic,
            reason: "asked_to_be_called".into(),
            status: CallBackStatus::Open,
            resolution: None,
        })
    }
}

/// One page of changes for a device.
struct Page {
    changes: Vec<Change>,
    cursor: u64,
    more: bool,
}

/// Whether a kiosk may hold a change-log line: the region's places, the IMBUS timetable and
/// slots, its own device record and consultation hours, and the hub's answers to its own
/// bookings. Never people, other kiosks' bookings, accounts or shifts; a kind added later is
/// left out until it is named here.
pub fn kiosk_may_hold(
    device_id: &str,
    kind: &str,
    entity_id: &str,
    body: &Value,
    own_booking: bool,
) -> bool {
    match kind {
        "regions" | "villages" | "stops" | "destinations" | "imbus_visits" | "slots" => true,
        "devices" => entity_id == device_id,
        "consultation_hours" => body.get("device_id").and_then(Value::as_str) == Some(device_id),
        "ride_requests" | "appointments" => own_booking,
        _ => false,
    }
}

/// Changes after `cursor` that the device may hold, at most `limit`; the cursor moves over every
/// line looked at, also those left out.
fn changes(
    conn: &Connection,
    device: &DeviceIdentity,
    cursor: u64,
    limit: u32,
) -> StoreResult<Page> {
    let limit = limit as usize;
    let mut stmt = conn.prepare_cached(
        "SELECT c.seq, c.kind, c.entity_id, c.op, c.body,
                EXISTS (SELECT 1 FROM device_writes w
                        WHERE w.device_id = ?2 AND w.entry_id = c.entity_id)
         FROM change_log c WHERE c.region_id = ?1 AND c.seq > ?3 ORDER BY c.seq LIMIT ?4",
    )?;
    let batch = MAX_CHANGES as i64;
    let mut position =
        i64::try_from(cursor).map_err(|_| StoreError::invalid("cursor", "out of range"))?;
    let mut included = Vec::new();
    let mut scanned = 0usize;
    'pages: loop {
        let rows: Vec<(i64, String, String, String, String, bool)> = stmt
            .query_map(
                params![device.region_id, device.device_id, position, batch],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )?
            .collect::<Result<_, _>>()?;
        let full = rows.len() as i64 == batch;
        for (seq, kind, entity_id, op, body, own) in rows {
            position = seq;
            scanned += 1;
            let body: Value = serde_json::from_str(&body).map_err(|e| {
                StoreError::Internal(format!("change {seq} holds unreadable JSON: {e}"))
            })?;
            if kiosk_may_hold(&device.device_id, &kind, &entity_id, &body, own) {
                included.push(Change {
                    seq: u64::try_from(seq).unwrap_or(0),
                    kind,
                    id: entity_id,
                    op: if op == "cancel" {
                        ChangeOp::Cancel
                    } else {
                        ChangeOp::Upsert
                    },
                    body,
                });
                if included.len() == limit {
                    break 'pages;
                }
            }
        }
        if !full || scanned >= MAX_SCANNED {
            break;
        }
    }
    let more: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM change_log WHERE region_id = ?1 AND seq > ?2)",
        params![device.region_id, position],
        |r| r.get(0),
    )?;
    Ok(Page {
        changes: included,
        cursor: u64::try_from(position).unwrap_or(0),
        more,
    })
}

/// Whether the device's last recorded sync is [`LAST_SYNC_STEP_S`] old (or there was none).
fn due_for_minute(
    conn: &Connection,
    device: &DeviceIdentity,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let last: Option<String> = conn.query_row(
        "SELECT last_sync_at FROM devices WHERE id = ?1",
        [&device.device_id],
        |r| r.get(0),
    )?;
    let stale = now - chrono::Duration::seconds(LAST_SYNC_STEP_S);
    Ok(last.is_none_or(|at| at <= stale.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
}

/// Records when the device last synced (to the minute).
fn mark_synced(conn: &Connection, device: &DeviceIdentity, now: DateTime<Utc>) -> StoreResult<()> {
    // At most one write a minute per device: an idle kiosk's sync then writes nothing (and
    // waits for no disk flush); the device list needs no finer time.
    let stale = now - chrono::Duration::seconds(LAST_SYNC_STEP_S);
    let text = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    conn.execute(
        "UPDATE devices SET last_sync_at = ?1
         WHERE id = ?2 AND (last_sync_at IS NULL OR last_sync_at <= ?3)",
        params![text(now), device.device_id, text(stale)],
    )?;
    Ok(())
}

/// `devices.last_sync_at` is written when it is at least this old, seconds.
const LAST_SYNC_STEP_S: i64 = 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_holds_places_and_its_own_records_only() {
        let body = json!({"device_id": "k1"});
        for kind in [
            "regions",
            "villages",
            "stops",
            "destinations",
            "imbus_visits",
            "slots",
        ] {
            assert!(kiosk_may_hold("k1", kind, "x", &body, false), "{kind}");
        }
        assert!(kiosk_may_hold("k1", "devices", "k1", &body, false));
        assert!(!kiosk_may_hold("k1", "devices", "k2", &body, false));
        assert!(kiosk_may_hold(
            "k1",
            "consultation_hours",
            "h",
            &body,
            false
        ));
        assert!(!kiosk_may_hold(
            "k2",
            "consultation_hours",
            "h",
            &body,
            false
        ));
        assert!(kiosk_may_hold("k1", "ride_requests", "r", &body, true));
        assert!(!kiosk_may_hold("k1", "ride_requests", "r", &body, false));
        assert!(!kiosk_may_hold("k1", "appointments", "a", &body, false));
        for kind in [
            "residents",
            "caregivers",
            "accounts",
            "shifts",
            "route_stops",
            "new_kind",
        ] {
            assert!(!kiosk_may_hold("k1", kind, "x", &body, true), "{kind}");
        }
    }

    #[test]
    fn the_body_hash_depends_on_the_body_only() {
        let entry = |body: Value| OutboxEntry {
            id: Uuid::from_u128(1),
            kind: OutboxKind::Appointment,
            created_at: "2026-11-23T07:30:00Z".into(),
            body,
        };
        let a = entry(json!({"slot_id": "s1", "topic": "care"}));
        let b = entry(serde_json::from_str(r#"{"topic": "care", "slot_id": "s1"}"#).unwrap());
        assert_eq!(body_hash(&a), body_hash(&b), "key order does not matter");
        assert_ne!(body_hash(&a), body_hash(&entry(json!({"slot_id": "s2"}))));
    }
}
