//! The kiosk's local database: the replica of the region data the kiosk shows, its position in
//! the hub's change log, and the outbox of the kiosk's own writes.
//!
//! One SQLite file in WAL mode with `synchronous=FULL`: a write has reached the disk when its
//! commit returns, so a booking the screen calls booked survives a power cut. Every method
//! blocks on SQLite; async callers run it with `spawn_blocking` (see [`crate::sync`]), the UI
//! from a worker thread.

mod migrations;
pub mod personal;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use protocol::sync::{Ack, AckOutcome, Change, ChangeOp, OutboxEntry, OutboxKind, SyncResponse};
use protocol::{BookingCode, BookingCodeError};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::Value;
use uuid::Uuid;

pub use migrations::MIGRATIONS;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database cannot be used: {0}")]
    Setup(String),
    #[error("migration {0} was changed after it was applied; migrations are append-only")]
    EditedMigration(String),
    #[error("an outbox body must be a JSON object")]
    BodyNotObject,
    #[error("an appointment's body must name its slot (slot_id)")]
    NoSlotId,
    /// The hub's response contradicts itself; nothing of it was applied.
    #[error("invalid sync response: {0}")]
    InvalidResponse(String),
    /// A stored value does not read back; someone wrote the file by hand or it is damaged.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The database belongs to another device (the kiosk was enrolled again) and entries of that
    /// device still wait for the hub's answer; see [`Store::adopt`].
    #[error(
        "{pending} outbox entries of device {device_id} still wait for the hub's answer; sync \
         them with that device's identity first, or give them up (`kiosk enroll \
         --discard-pending`)"
    )]
    PendingOfAnotherDevice { device_id: String, pending: u64 },
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<BookingCodeError> for StoreError {
    fn from(e: BookingCodeError) -> Self {
        StoreError::Corrupt(format!("booking code: {e}"))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The open kiosk database. Cloning shares the one connection.
#[derive(Clone, Debug)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

/// What [`Store::apply`] did with a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Entries answered now, by outcome.
    pub accepted: usize,
    pub refused: usize,
    /// Acks for entries that already had this very answer: repeats, nothing to do.
    pub repeated_acks: usize,
    /// Acks for ids this kiosk does not know: ignored.
    pub unknown_acks: usize,
    /// Acks whose outcome differs from the answer already stored. The stored answer stays: the
    /// resident may hold a ticket printed from it.
    pub conflicting_acks: Vec<Uuid>,
    /// Changes written to the replica, and those skipped because their seq was at or below the
    /// cursor (a repeated or overlapping response).
    pub changes_applied: usize,
    pub changes_skipped: usize,
    /// The cursor after the response.
    pub cursor: u64,
}

/// The device the replica, cursor and outbox belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub device_id: String,
    pub region_id: String,
}

/// What [`Store::adopt`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adoption {
    /// The owner before, `None` for a database without one (new, or older than migration 0003).
    pub previous: Option<Owner>,
    /// Whether the replica and cursor were emptied.
    pub reset: bool,
    /// Pending entries of the previous device given up (answered locally as discarded).
    pub discarded: u64,
}

/// Title of the local answer to an entry given up at re-enrolment.
pub const DISCARDED: &str = "discarded at re-enrolment";

/// The one replica kind a cancel change keeps, with status `cancelled` and the hub's reason
/// (`cancel_reason`): IMBUS visits, which the timetable shows as called off. Every other kind's
/// cancelled entity is removed from the replica.
pub const CANCELLED_KEPT: &str = "imbus_visits";

/// A slot and its time as the kiosk showed them when it confirmed an appointment offline.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlotTime {
    pub slot_id: String,
    /// RFC 3339 UTC, as the hub's slot says.
    pub starts_at: String,
    pub ends_at: String,
}

/// What [`Store::enqueue_appointment`] did with an appointment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotClaim {
    /// Stored, and the slot is set aside for this kiosk and held by no other of its entries: the
    /// kiosk confirms it without the hub.
    Confirmed { id: Uuid, slot: SlotTime },
    /// Stored as a request for the hub to answer.
    Requested { id: Uuid },
    /// Not stored: another entry of this kiosk holds the slot already (pending or accepted).
    Held { by: BookingCode },
}

/// One outbox entry as the UI shows it, found by its booking code.
#[derive(Clone, Debug, PartialEq)]
pub struct Booking {
    pub id: Uuid,
    pub kind: OutboxKind,
    pub booking_code: BookingCode,
    /// When the kiosk took the request (RFC 3339 UTC).
    pub created_at: String,
    /// The request; after the answer only what [`personal::KEPT_FIELDS`] allows.
    pub body: Value,
    pub state: BookingState,
    /// For an appointment the kiosk confirmed itself (a slot set aside for it): the slot and
    /// time it showed. The hub's answer, once stored, says whether that stood.
    pub confirmed_offline: Option<SlotTime>,
}

/// Whether the hub has answered a booking.
#[derive(Clone, Debug, PartialEq)]
pub enum BookingState {
    /// Safely on this kiosk's disk, not yet answered by the hub: show it as
    /// "Anfrage, noch nicht bestätigt" (request, not yet confirmed).
    Requested,
    /// The hub's answer, an accepted record reduced to [`personal::KEPT_FIELDS`].
    Answered {
        outcome: AckOutcome,
        answered_at: String,
    },
}

/// One entity of the replica.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaRow {
    pub id: String,
    /// The change that wrote `body`.
    pub seq: u64,
    pub body: Value,
}

/// What happened to one ack.
enum AckEffect {
    Recorded { accepted: bool },
    Repeat,
    Unknown,
    Conflict,
}

impl Store {
    /// Opens (or creates) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Store> {
        let mut conn = Connection::open(path)?;
        // The UI and the sync task share the connection; another process (a support tool)
        // holding the write lock briefly must not make a booking fail.
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Setup(format!(
                "journal mode is {mode}, WAL is required"
            )));
        }
        // FULL: in WAL mode a commit is only durable across power loss with a sync per commit.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped any open transaction, which rolls it back, so
        // the connection behind a poisoned lock is consistent and can be used on.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts a write into the outbox and returns its id. When this returns `Ok` the entry is
    /// committed to disk: only then may the UI show the booking as booked (and print its code,
    /// `BookingCode::from_uuid(id)`).
    pub fn enqueue(&self, kind: OutboxKind, body: Value) -> StoreResult<Uuid> {
        if !body.is_object() {
            return Err(StoreError::BodyNotObject);
        }
        // One statement in autocommit mode is its own transaction; with synchronous=FULL its
        // commit syncs the WAL before `execute` returns.
        insert_entry(&self.conn(), kind, &body, None)
    }

    /// Puts an appointment (a body with `slot_id`) into the outbox unless another entry of this
    /// kiosk holds its slot, in one transaction, so two bookings at once cannot both get the
    /// slot. It is confirmed at once when the replica's slot is set aside for `own_device_id`,
    /// open, starts after `now`, and its IMBUS visit is not cancelled: the hub books such a slot
    /// only through this kiosk, and the outbox shows every booking this kiosk made of it.
    /// Committed to disk when this returns.
    ///
    /// An entry holds its slot while it is pending or accepted and the hub has not cancelled the
    /// appointment since; a refused one gave it back.
    pub fn enqueue_appointment(
        &self,
        body: Value,
        own_device_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<SlotClaim> {
        let Some(slot_id) = body
            .get("slot_id")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Err(StoreError::NoSlotId);
        };
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let holder: Option<String> = tx
            .query_row(
                "SELECT booking_code FROM outbox o
                 WHERE o.kind = 'appointment' AND json_extract(o.body, '$.slot_id') = ?1
                   AND o.state <> 'refused'
                   AND NOT EXISTS (SELECT 1 FROM replica r
                                   WHERE r.kind = 'appointments' AND r.id = o.id
                                     AND json_extract(r.body, '$.status') = 'cancelled')
                 ORDER BY o.position LIMIT 1",
                [&slot_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(code) = holder {
            return Ok(SlotClaim::Held { by: code.parse()? });
        }
        let slot: Option<String> = tx
            .query_row(
                "SELECT body FROM replica WHERE kind = 'slots' AND id = ?1",
                [&slot_id],
                |r| r.get(0),
            )
            .optional()?;
        let own = match slot {
            Some(text) => {
                let slot: Value = serde_json::from_str(&text)?;
                // A slot of a visit called off is never confirmed here, whatever the slot says.
                let visit_cancelled = match slot.get("visit_id").and_then(Value::as_str) {
                    Some(visit) => tx
                        .query_row(
                            "SELECT json_extract(body, '$.status') = 'cancelled' FROM replica
                             WHERE kind = 'imbus_visits' AND id = ?1",
                            [visit],
                            |r| r.get::<_, Option<bool>>(0),
                        )
                        .optional()?
                        .flatten()
                        .unwrap_or(false),
                    None => false,
                };
                if visit_cancelled {
                    None
                } else {
                    own_slot(&slot, &slot_id, own_device_id, now)
                }
            }
            None => None,
        };
        let id = insert_entry(&tx, OutboxKind::Appointment, &body, own.as_ref())?;
        tx.commit()?;
        Ok(match own {
            Some(slot) => SlotClaim::Confirmed { id, slot },
            None => SlotClaim::Requested { id },
        })
    }

    /// The device the replica and outbox belong to; `None` before the first enrolment.
    pub fn owner(&self) -> StoreResult<Option<Owner>> {
        read_owner(&self.conn())
    }

    /// Makes `owner` the owner of this database. The same owner changes nothing. Another one (the
    /// kiosk was enrolled again as another device or into another region) empties the replica and
    /// the cursor, so nothing of the old region stays and the next sync starts from 0, and the
    /// kiosk's own bookings answered already stay (for reprint, without personal data).
    ///
    /// Pending entries of the old device would reach the hub as the new device's: the hub refuses
    /// an id another device used, so a booking it holds would show as refused. So they are
    /// refused here: [`StoreError::PendingOfAnotherDevice`], nothing changed, unless
    /// `discard_pending`; then each gets a local answer ([`DISCARDED`]) and loses its personal
    /// data. A database without an owner (new, or older than migration 0003) takes `owner` and
    /// keeps its entries, but its replica is fetched again, to be sure it is this region's.
    pub fn adopt(&self, owner: &Owner, discard_pending: bool) -> StoreResult<Adoption> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let previous = read_owner(&tx)?;
        let mut adoption = Adoption {
            previous: previous.clone(),
            ..Adoption::default()
        };
        match &previous {
            Some(current) if current == owner => return Ok(adoption),
            Some(current) => {
                let pending: i64 = tx.query_row(
                    "SELECT count(*) FROM outbox WHERE state = 'pending'",
                    [],
                    |r| r.get(0),
                )?;
                let pending = from_sql_int(pending)?;
                if pending > 0 && !discard_pending {
                    return Err(StoreError::PendingOfAnotherDevice {
                        device_id: current.device_id.clone(),
                        pending,
                    });
                }
                adoption.discarded = discard(&tx, current, owner)?;
            }
            None => {}
        }
        let had_replica: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM replica) OR (SELECT cursor FROM sync_state) > 0",
            [],
            |r| r.get(0),
        )?;
        tx.execute("DELETE FROM replica", [])?;
        tx.execute(
            "UPDATE sync_state SET cursor = 0, last_sync_at = NULL, device_id = ?1,
                    region_id = ?2 WHERE one = 1",
            params![owner.device_id, owner.region_id],
        )?;
        tx.commit()?;
        adoption.reset = had_replica;
        Ok(adoption)
    }

    /// Up to `limit` entries without an answer, oldest first, as they go to the hub.
    pub fn pending(&self, limit: usize) -> StoreResult<Vec<OutboxEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, kind, created_at, body FROM outbox
             WHERE state = 'pending' ORDER BY position LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (id, kind, created_at, body) = row?;
            entries.push(OutboxEntry {
                id: parse_id(&id)?,
                kind: parse_kind(&kind)?,
                created_at,
                body: serde_json::from_str(&body)?,
            });
        }
        Ok(entries)
    }

    /// How many entries wait for an answer.
    pub fn pending_count(&self) -> StoreResult<u64> {
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?;
        from_sql_int(n)
    }

    /// The seq of the last change applied; 0 before the first sync.
    pub fn cursor(&self) -> StoreResult<u64> {
        read_cursor(&self.conn())
    }

    /// When a hub response was last applied (RFC 3339 UTC); `None` before the first sync.
    pub fn last_sync_at(&self) -> StoreResult<Option<String>> {
        Ok(self.conn().query_row(
            "SELECT last_sync_at FROM sync_state WHERE one = 1",
            [],
            |r| r.get(0),
        )?)
    }

    /// Applies a hub response in one transaction: the acks, then the changes above the cursor in
    /// seq order, then the cursor. Applying the same response again changes nothing. A response
    /// that contradicts itself (a change beyond its own cursor, a seq twice) is refused whole.
    pub fn apply(&self, response: &SyncResponse) -> StoreResult<Applied> {
        let changes = ordered_changes(response)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored_cursor = read_cursor(&tx)?;
        let now = now_text();
        let mut applied = Applied::default();

        for ack in &response.acks {
            match apply_ack(&tx, ack, &now)? {
                AckEffect::Recorded { accepted: true } => applied.accepted += 1,
                AckEffect::Recorded { accepted: false } => applied.refused += 1,
                AckEffect::Repeat => applied.repeated_acks += 1,
                AckEffect::Unknown => applied.unknown_acks += 1,
                AckEffect::Conflict => {
                    tracing::warn!(
                        id = %ack.id,
                        "the hub answered an outbox entry differently than before; the first \
                         answer is kept"
                    );
                    applied.conflicting_acks.push(ack.id);
                }
            }
        }

        for change in changes {
            if change.seq <= stored_cursor {
                applied.changes_skipped += 1;
                continue;
            }
            apply_change(&tx, change)?;
            applied.changes_applied += 1;
        }

        // A stale response (one older than what is stored) never moves the cursor back.
        let cursor = stored_cursor.max(response.cursor);
        // Any readable response means the hub was reached: that is what heartbeats report.
        tx.execute(
            "UPDATE sync_state SET cursor = ?1, last_sync_at = ?2 WHERE one = 1",
            params![to_sql_int(cursor)?, now],
        )?;
        tx.commit()?;
        applied.cursor = cursor;
        Ok(applied)
    }

    /// The outbox entry with this booking code: a pending request (not yet confirmed), or an
    /// answered one with the hub's answer (an accepted record to reprint the ticket from, or the
    /// refusal's reason). When two entries share a code, the newest.
    pub fn booking_by_code(&self, code: &BookingCode) -> StoreResult<Option<Booking>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT id, kind, booking_code, created_at, body, answer, answered_at,
                        confirmed_offline FROM outbox
                 WHERE booking_code = ?1 ORDER BY position DESC LIMIT 1",
                [code.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((id, kind, booking_code, created_at, body, answer, answered_at, confirmed)) = row
        else {
            return Ok(None);
        };
        let state = match (answer, answered_at) {
            (Some(answer), Some(answered_at)) => BookingState::Answered {
                outcome: serde_json::from_str(&answer)?,
                answered_at,
            },
            _ => BookingState::Requested,
        };
        Ok(Some(Booking {
            id: parse_id(&id)?,
            kind: parse_kind(&kind)?,
            booking_code: booking_code.parse()?,
            created_at,
            body: serde_json::from_str(&body)?,
            state,
            confirmed_offline: confirmed.map(|c| serde_json::from_str(&c)).transpose()?,
        }))
    }

    /// The live entities of one kind (`"stops"`, `"slots"`, …), by id; for [`CANCELLED_KEPT`]
    /// also the cancelled ones.
    pub fn replica_list(&self, kind: &str) -> StoreResult<Vec<ReplicaRow>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT id, seq, body FROM replica WHERE kind = ?1 ORDER BY id")?;
        let rows = stmt.query_map([kind], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut list = Vec::new();
        for row in rows {
            let (id, seq, body) = row?;
            list.push(ReplicaRow {
                id,
                seq: from_sql_int(seq)?,
                body: serde_json::from_str(&body)?,
            });
        }
        Ok(list)
    }
}

/// Inserts one pending entry (committed with the statement, or with the caller's transaction).
fn insert_entry(
    conn: &Connection,
    kind: OutboxKind,
    body: &Value,
    confirmed_offline: Option<&SlotTime>,
) -> StoreResult<Uuid> {
    let id = Uuid::new_v4();
    let code = BookingCode::from_uuid(id);
    let confirmed = confirmed_offline.map(serde_json::to_string).transpose()?;
    conn.execute(
        "INSERT INTO outbox (id, position, kind, booking_code, body, created_at, confirmed_offline)
         VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM outbox), ?2, ?3, ?4, ?5, ?6)",
        params![
            id.to_string(),
            kind.as_str(),
            code.to_string(),
            body.to_string(),
            now_text(),
            confirmed
        ],
    )?;
    Ok(id)
}

/// The slot's time when the replica's slot (the hub's record) is set aside for `device_id`,
/// open, and starts after `now`.
fn own_slot(slot: &Value, slot_id: &str, device_id: &str, now: DateTime<Utc>) -> Option<SlotTime> {
    let text = |name: &str| slot.get(name).and_then(Value::as_str);
    if text("reserved_for_device_id") != Some(device_id)
        || text("status").is_some_and(|s| s != "open")
    {
        return None;
    }
    let (starts_at, ends_at) = (text("starts_at")?, text("ends_at")?);
    let starts = DateTime::parse_from_rfc3339(starts_at).ok()?;
    (starts > now).then(|| SlotTime {
        slot_id: slot_id.to_string(),
        starts_at: starts_at.to_string(),
        ends_at: ends_at.to_string(),
    })
}

fn read_owner(conn: &Connection) -> StoreResult<Option<Owner>> {
    let (device_id, region_id): (Option<String>, Option<String>) = conn.query_row(
        "SELECT device_id, region_id FROM sync_state WHERE one = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match (device_id, region_id) {
        (Some(device_id), Some(region_id)) => Some(Owner {
            device_id,
            region_id,
        }),
        _ => None,
    })
}

/// Answers every pending entry of `old` locally as discarded (the kiosk now speaks as `new`) and
/// minimises its body as an answer would. Returns how many.
fn discard(tx: &Transaction<'_>, old: &Owner, new: &Owner) -> StoreResult<u64> {
    let entries: Vec<(String, String)> = tx
        .prepare("SELECT id, body FROM outbox WHERE state = 'pending'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let answer = serde_json::to_string(&AckOutcome::Refused {
        status: 410,
        title: DISCARDED.to_string(),
        detail: format!(
            "the kiosk was enrolled again (device {} of region {}, was {} of {}) before the \
             hub's answer arrived; whether the hub holds this booking is unknown: ask the \
             service with the booking code",
            new.device_id, new.region_id, old.device_id, old.region_id
        ),
        field: None,
    })?;
    let now = now_text();
    for (id, body) in &entries {
        let body: Value = serde_json::from_str(body)?;
        tx.execute(
            "UPDATE outbox SET state = 'refused', body = ?2, answer = ?3, answered_at = ?4
             WHERE id = ?1",
            params![id, personal::minimise(&body).to_string(), answer, now],
        )?;
    }
    Ok(entries.len() as u64)
}

/// The response's changes in seq order, or why the response cannot be applied.
fn ordered_changes(response: &SyncResponse) -> StoreResult<Vec<&Change>> {
    let mut changes: Vec<&Change> = response.changes.iter().collect();
    changes.sort_by_key(|c| c.seq);
    if let Some(pair) = changes.windows(2).find(|p| p[0].seq == p[1].seq) {
        return Err(StoreError::InvalidResponse(format!(
            "change {} appears twice",
            pair[0].seq
        )));
    }
    // Storing the cursor below an applied change would be harmless, but a hub that says this is
    // confused; better to apply nothing and try again later.
    if let Some(last) = changes.last()
        && last.seq > response.cursor
    {
        return Err(StoreError::InvalidResponse(format!(
            "change {} lies beyond the response's cursor {}",
            last.seq, response.cursor
        )));
    }
    Ok(changes)
}

fn apply_ack(tx: &Transaction<'_>, ack: &Ack, now: &str) -> StoreResult<AckEffect> {
    let id = ack.id.to_string();
    let row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT body, answer FROM outbox WHERE id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((body, answer)) = row else {
        return Ok(AckEffect::Unknown);
    };
    // What would be stored; a repeat compares equal to what was stored the first time.
    let outcome = match &ack.outcome {
        AckOutcome::Accepted { record } => AckOutcome::Accepted {
            record: personal::minimise(record),
        },
        refused @ AckOutcome::Refused { .. } => refused.clone(),
    };
    if let Some(stored) = answer {
        let stored: AckOutcome = serde_json::from_str(&stored)?;
        return Ok(if stored == outcome {
            AckEffect::Repeat
        } else {
            AckEffect::Conflict
        });
    }
    let body: Value = serde_json::from_str(&body)?;
    let (state, hub_code) = match &outcome {
        AckOutcome::Accepted { record } => (
            "accepted",
            // The hub derives the same code from the id; should it ever have had to pick
            // another, the ticket carries the hub's.
            record
                .get("booking_code")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<BookingCode>().ok())
                .map(|c| c.to_string()),
        ),
        AckOutcome::Refused { .. } => ("refused", None),
    };
    tx.execute(
        "UPDATE outbox SET state = ?2, body = ?3, answer = ?4, answered_at = ?5,
                booking_code = COALESCE(?6, booking_code)
         WHERE id = ?1",
        params![
            id,
            state,
            personal::minimise(&body).to_string(),
            serde_json::to_string(&outcome)?,
            now,
            hub_code
        ],
    )?;
    Ok(AckEffect::Recorded {
        accepted: state == "accepted",
    })
}

fn apply_change(tx: &Transaction<'_>, change: &Change) -> StoreResult<()> {
    match change.op {
        ChangeOp::Upsert => {
            tx.execute(
                "INSERT INTO replica (kind, id, seq, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                params![
                    change.kind,
                    change.id,
                    to_sql_int(change.seq)?,
                    change.body.to_string()
                ],
            )?;
        }
        // A cancelled IMBUS visit stays: residents are told it does not take place, and why.
        // The hub's line carries the cancelled record; its status is set here in case it
        // does not say so.
        ChangeOp::Cancel if change.kind == CANCELLED_KEPT => {
            let mut body = change.body.clone();
            if let Some(fields) = body.as_object_mut() {
                fields.insert("status".into(), Value::from("cancelled"));
            } else {
                body = serde_json::json!({ "status": "cancelled" });
            }
            tx.execute(
                "INSERT INTO replica (kind, id, seq, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, id) DO UPDATE SET seq = excluded.seq, body = excluded.body",
                params![
                    change.kind,
                    change.id,
                    to_sql_int(change.seq)?,
                    body.to_string()
                ],
            )?;
        }
        // The hub keeps other cancelled entities for history; the kiosk only shows what can
        // still be booked, so its copy goes.
        ChangeOp::Cancel => {
            tx.execute(
                "DELETE FROM replica WHERE kind = ?1 AND id = ?2",
                params![change.kind, change.id],
            )?;
        }
    }
    Ok(())
}

fn read_cursor(conn: &Connection) -> StoreResult<u64> {
    let n: i64 = conn.query_row("SELECT cursor FROM sync_state WHERE one = 1", [], |r| {
        r.get(0)
    })?;
    from_sql_int(n)
}

fn to_sql_int(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::InvalidResponse(format!("{n} is out of range")))
}

fn from_sql_int(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count or seq {n}")))
}

fn parse_id(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("outbox id {text}: {e}")))
}

fn parse_kind(text: &str) -> StoreResult<OutboxKind> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("outbox kind: {e}")))
}

/// The current instant as stored: RFC 3339 UTC, whole seconds.
fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kiosk.db")).unwrap();
        (dir, store)
    }

    fn ride(name: &str) -> Value {
        json!({
            "pickup_at": "2026-11-24T08:00:00Z",
            "from_home": true,
            "to_destination_id": "d-arzt",
            "passengers": 1,
            "wheelchair": true,
            "resident": {"name": name, "phone": "0921 1234", "street": "Hauptstr. 1"}
        })
    }

    fn accepted(id: Uuid) -> Ack {
        Ack {
            id,
            outcome: AckOutcome::Accepted {
                record: json!({
                    "id": id.to_string(),
                    "booking_code": BookingCode::from_uuid(id).to_string(),
                    "status": "confirmed",
                    "pickup_window_start": "2026-11-24T07:50:00Z",
                    "pickup_window_end": "2026-11-24T08:10:00Z",
                    "to_destination_id": "d-arzt",
                    "resident_id": "p-17",
                    "booked_by": "kiosk:k1"
                }),
            },
        }
    }

    fn refused(id: Uuid) -> Ack {
        Ack {
            id,
            outcome: AckOutcome::Refused {
                status: 422,
                title: "Invalid input".into(),
                detail: "pickup_at lies in the past".into(),
                field: Some("pickup_at".into()),
            },
        }
    }

    fn change(seq: u64, kind: &str, id: &str, op: ChangeOp, name: &str) -> Change {
        Change {
            seq,
            kind: kind.into(),
            id: id.into(),
            op,
            body: json!({ "name": name }),
        }
    }

    fn response(acks: Vec<Ack>, changes: Vec<Change>, cursor: u64) -> SyncResponse {
        SyncResponse {
            acks,
            changes,
            cursor,
            more: false,
            update: None,
        }
    }

    fn names(store: &Store, kind: &str) -> Vec<(String, String)> {
        store
            .replica_list(kind)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.body["name"].as_str().unwrap().to_string()))
            .collect()
    }

    /// Everything a response can change, to compare before and after.
    fn snapshot(store: &Store) -> (u64, String, String) {
        let conn = store.conn();
        let dump = |sql: &str| -> String {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .join("\n")
        };
        (
            read_cursor(&conn).unwrap(),
            dump(
                "SELECT kind || '|' || id || '|' || seq || '|' || body FROM replica ORDER BY kind, id",
            ),
            dump(
                "SELECT id || '|' || state || '|' || body || '|' || COALESCE(answer, '') || '|' ||
                        COALESCE(answered_at, '') FROM outbox ORDER BY position",
            ),
        )
    }

    #[test]
    fn the_file_is_opened_in_wal_mode_with_full_sync_and_foreign_keys() {
        let (_dir, store) = open();
        let conn = store.conn();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync, fk), ("wal", 2, 1));
    }

    #[test]
    fn reopening_applies_nothing_and_an_edited_migration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.db");
        let id = {
            let store = Store::open(&path).unwrap();
            store.enqueue(OutboxKind::CallBack, json!({})).unwrap()
        };
        let store = Store::open(&path).unwrap();
        assert_eq!(store.pending(10).unwrap()[0].id, id);
        store
            .conn()
            .execute(
                "UPDATE schema_migrations SET sha256 = 'edited' WHERE name = '0001_kiosk'",
                [],
            )
            .unwrap();
        drop(store);
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::EditedMigration(ref n) if n == "0001_kiosk"));
        assert!(err.to_string().contains("append-only"), "{err}");
    }

    #[test]
    fn pending_entries_come_oldest_first_up_to_the_limit() {
        let (_dir, store) = open();
        let ids: Vec<Uuid> = (0..5)
            .map(|n| {
                store
                    .enqueue(OutboxKind::RideRequest, json!({ "n": n }))
                    .unwrap()
            })
            .collect();
        let first = store.pending(3).unwrap();
        assert_eq!(
            first.iter().map(|e| e.id).collect::<Vec<_>>(),
            ids[..3].to_vec()
        );
        assert_eq!(first[1].body, json!({"n": 1}));
        assert_eq!(first[1].kind, OutboxKind::RideRequest);
        assert!(
            first[1].created_at.ends_with('Z'),
            "{}",
            first[1].created_at
        );
        assert_eq!(store.pending_count().unwrap(), 5);
        store
            .apply(&response(vec![accepted(ids[0])], vec![], 0))
            .unwrap();
        let rest: Vec<Uuid> = store.pending(10).unwrap().iter().map(|e| e.id).collect();
        assert_eq!(rest, ids[1..].to_vec());
    }

    #[test]
    fn only_objects_can_be_enqueued() {
        let (_dir, store) = open();
        let err = store
            .enqueue(OutboxKind::Appointment, json!(["not", "an", "object"]))
            .unwrap_err();
        assert!(matches!(err, StoreError::BodyNotObject), "{err}");
        assert_eq!(store.pending_count().unwrap(), 0);
    }

    #[test]
    fn changes_apply_in_seq_order_and_move_the_cursor() {
        let (_dir, store) = open();
        // Out of order on purpose: the later rename must win, the cancel must remove.
        let applied = store
            .apply(&response(
                vec![],
                vec![
                    change(3, "stops", "s1", ChangeOp::Upsert, "Dorfplatz (neu)"),
                    change(1, "stops", "s1", ChangeOp::Upsert, "Dorfplatz"),
                    change(2, "stops", "s2", ChangeOp::Upsert, "Kirche"),
                    change(5, "stops", "s2", ChangeOp::Cancel, "Kirche"),
                    change(4, "villages", "v1", ChangeOp::Upsert, "Elm"),
                ],
                5,
            ))
            .unwrap();
        assert_eq!((applied.changes_applied, applied.cursor), (5, 5));
        assert_eq!(
            names(&store, "stops"),
            [("s1".to_string(), "Dorfplatz (neu)".to_string())]
        );
        assert_eq!(store.replica_list("stops").unwrap()[0].seq, 3);
        assert_eq!(
            names(&store, "villages"),
            [("v1".to_string(), "Elm".to_string())]
        );
        assert_eq!(store.cursor().unwrap(), 5);
        assert!(store.replica_list("slots").unwrap().is_empty());
    }

    #[test]
    fn a_repeated_or_stale_response_changes_nothing() {
        let (_dir, store) = open();
        let id = store
            .enqueue(OutboxKind::RideRequest, ride("Erna"))
            .unwrap();
        let first = response(
            vec![accepted(id)],
            vec![
                change(1, "stops", "s1", ChangeOp::Upsert, "Dorfplatz"),
                change(2, "stops", "s2", ChangeOp::Upsert, "Kirche"),
            ],
            2,
        );
        store.apply(&first).unwrap();
        let second = response(
            vec![],
            vec![change(3, "stops", "s2", ChangeOp::Cancel, "Kirche")],
            3,
        );
        store.apply(&second).unwrap();
        let before = snapshot(&store);

        let again = store.apply(&first).unwrap();
        assert_eq!(
            (
                again.changes_applied,
                again.changes_skipped,
                again.repeated_acks
            ),
            (0, 2, 1)
        );
        assert_eq!(
            again.cursor, 3,
            "a stale response never moves the cursor back"
        );
        assert_eq!(store.apply(&second).unwrap().changes_applied, 0);
        assert_eq!(snapshot(&store), before);
    }

    #[test]
    fn a_self_contradicting_response_is_refused_whole() {
        let (_dir, store) = open();
        let id = store
            .enqueue(OutboxKind::RideRequest, ride("Erna"))
            .unwrap();
        let before = snapshot(&store);
        let beyond = response(
            vec![accepted(id)],
            vec![
                change(1, "stops", "s1", ChangeOp::Upsert, "Dorfplatz"),
                change(4, "stops", "s2", ChangeOp::Upsert, "Kirche"),
            ],
            3,
        );
        let err = store.apply(&beyond).unwrap_err();
        assert!(matches!(err, StoreError::InvalidResponse(_)), "{err}");
        let twice = response(
            vec![accepted(id)],
            vec![
                change(1, "stops", "s1", ChangeOp::Upsert, "Dorfplatz"),
                change(1, "stops", "s1", ChangeOp::Upsert, "Anger"),
            ],
            1,
        );
        assert!(matches!(
            store.apply(&twice),
            Err(StoreError::InvalidResponse(_))
        ));
        assert_eq!(snapshot(&store), before, "neither ack nor change applied");
        assert_eq!(store.pending_count().unwrap(), 1);
    }

    #[test]
    fn unknown_and_repeated_acks_are_harmless() {
        let (_dir, store) = open();
        let id = store
            .enqueue(OutboxKind::RideRequest, ride("Erna"))
            .unwrap();
        let stranger = Uuid::from_u128(99);
        let first = store
            .apply(&response(vec![accepted(stranger), accepted(id)], vec![], 0))
            .unwrap();
        assert_eq!((first.unknown_acks, first.accepted), (1, 1));
        let before = snapshot(&store);
        let again = store
            .apply(&response(vec![accepted(id), accepted(id)], vec![], 0))
            .unwrap();
        assert_eq!((again.repeated_acks, again.accepted), (2, 0));
        assert!(again.conflicting_acks.is_empty());
        assert_eq!(snapshot(&store), before);
    }

    #[test]
    fn a_conflicting_ack_does_not_overwrite_the_first_answer() {
        let (_dir, store) = open();
        let kept = store
            .enqueue(OutboxKind::RideRequest, ride("Erna"))
            .unwrap();
        let other = store
            .enqueue(OutboxKind::RideRequest, ride("Kurt"))
            .unwrap();
        store
            .apply(&response(vec![accepted(kept), refused(other)], vec![], 0))
            .unwrap();
        let before = snapshot(&store);

        let mut changed = accepted(kept);
        if let AckOutcome::Accepted { record } = &mut changed.outcome {
            record["pickup_window_start"] = json!("2026-11-24T09:00:00Z");
        }
        let applied = store
            .apply(&response(
                vec![changed, refused(kept), accepted(other)],
                vec![],
                0,
            ))
            .unwrap();
        assert_eq!(applied.conflicting_acks, vec![kept, kept, other]);
        assert_eq!((applied.accepted, applied.refused), (0, 0));
        assert_eq!(snapshot(&store), before);
        let booking = store
            .booking_by_code(&BookingCode::from_uuid(kept))
            .unwrap()
            .unwrap();
        let BookingState::Answered {
            outcome: AckOutcome::Accepted { record },
            ..
        } = booking.state
        else {
            panic!("the first answer, accepted, stays: {:?}", booking.state)
        };
        assert_eq!(record["pickup_window_start"], "2026-11-24T07:50:00Z");
    }

    #[test]
    fn personal_data_is_gone_once_the_hub_has_answered() {
        let (_dir, store) = open();
        let ok = store
            .enqueue(OutboxKind::RideRequest, ride("Erna"))
            .unwrap();
        let bad = store
            .enqueue(OutboxKind::RideRequest, ride("Kurt"))
            .unwrap();
        let waiting = store
            .enqueue(OutboxKind::RideRequest, ride("Hilde"))
            .unwrap();
        store
            .apply(&response(vec![accepted(ok), refused(bad)], vec![], 0))
            .unwrap();

        let ok = store
            .booking_by_code(&BookingCode::from_uuid(ok))
            .unwrap()
            .unwrap();
        assert_eq!(
            ok.body,
            json!({"pickup_at": "2026-11-24T08:00:00Z", "from_home": true,
                   "to_destination_id": "d-arzt", "passengers": 1})
        );
        let BookingState::Answered {
            outcome: AckOutcome::Accepted { record },
            ..
        } = &ok.state
        else {
            panic!("accepted: {:?}", ok.state)
        };
        assert_eq!(
            record,
            &json!({
                "id": ok.id.to_string(),
                "booking_code": ok.booking_code.to_string(),
                "status": "confirmed",
                "pickup_window_start": "2026-11-24T07:50:00Z",
                "pickup_window_end": "2026-11-24T08:10:00Z",
                "to_destination_id": "d-arzt"
            })
        );

        let bad = store
            .booking_by_code(&BookingCode::from_uuid(bad))
            .unwrap()
            .unwrap();
        assert!(!bad.body.to_string().contains("Kurt"));
        assert!(matches!(
            bad.state,
            BookingState::Answered { outcome: AckOutcome::Refused { status: 422, ref field, .. }, .. }
                if field.as_deref() == Some("pickup_at")
        ));

        // Nothing personal is left anywhere in the file but in the entry still waiting.
        let (_, _, outbox) = snapshot(&store);
        for personal in [
            "Erna",
            "Kurt",
            "Hilde",
            "0921",
            "Hauptstr",
            "p-17",
            "kiosk:k1",
            "wheelchair",
        ] {
            let hits = outbox.lines().filter(|l| l.contains(personal)).count();
            let expected =
                usize::from(["Hilde", "0921", "Hauptstr", "wheelchair"].contains(&personal));
            assert_eq!(hits, expected, "{personal} in {outbox}");
        }
        assert_eq!(store.pending(1).unwrap()[0].body, ride("Hilde"));
        assert_eq!(store.pending(1).unwrap()[0].id, waiting);
    }

    #[test]
    fn a_booking_is_found_by_its_code_while_pending_and_once_accepted() {
        let (_dir, store) = open();
        let id = store
            .enqueue(OutboxKind::Appointment, json!({"slot_id": "sl1"}))
            .unwrap();
        let code = BookingCode::from_uuid(id);
        let typed: BookingCode = code
            .to_string()
            .to_lowercase()
            .replace('-', "")
            .parse()
            .unwrap();

        let pending = store.booking_by_code(&typed).unwrap().unwrap();
        assert_eq!((pending.id, pending.kind), (id, OutboxKind::Appointment));
        assert_eq!(pending.state, BookingState::Requested);

        store
            .apply(&response(vec![accepted(id)], vec![], 0))
            .unwrap();
        let booked = store.booking_by_code(&code).unwrap().unwrap();
        assert!(matches!(
            booked.state,
            BookingState::Answered { outcome: AckOutcome::Accepted { ref record }, .. }
                if record["status"] == "confirmed"
        ));
        assert_eq!(
            store
                .booking_by_code(&BookingCode::from_uuid(Uuid::from_u128(5)))
                .unwrap(),
            None
        );
    }
}
