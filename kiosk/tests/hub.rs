//! An in-process hub that answers sync exchanges the way the real one promises to: a change list
//! with gap-free seqs served in pages, the first answer kept per outbox id (a repeat with the same
//! content gets it again, the same id with other content is refused with 409), counselling slots
//! given once (an appointment for a booked slot is refused with 409 "slot taken", as the real
//! hub's `sync` does), and faults on chosen exchanges or for a while: down before the request
//! arrives, or the response lost after the hub stored everything.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use kiosk::sync::{Transport, TransportError};
use protocol::BookingCode;
use protocol::sync::{
    Ack, AckOutcome, Change, ChangeOp, MAX_CHANGES, MAX_OUTBOX_ENTRIES, OutboxEntry, OutboxKind,
    SyncRequest, SyncResponse,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// What goes wrong on one exchange.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// The hub is unreachable: it never sees the request.
    Down,
    /// The hub handles the request and commits, then the connection breaks before the kiosk
    /// reads the response.
    LoseResponse,
}

#[derive(Default)]
pub struct Hub {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// `changes[i].seq == i + 1`.
    changes: Vec<Change>,
    /// Every outbox id the hub stored, with what it was sent and its first answer.
    outbox: HashMap<Uuid, (OutboxKind, Value, AckOutcome)>,
    /// Exchanges so far, counting those that failed.
    exchanges: usize,
    faults: HashMap<usize, Fault>,
    /// While set, every exchange fails as unreachable.
    down: bool,
    /// Slots published with [`Hub::slot`]: id -> (starts_at, ends_at).
    slots: HashMap<String, (String, String)>,
    /// Booked slots: id -> who booked it (an outbox id, or `None` for a booking elsewhere).
    taken: HashMap<String, Option<Uuid>>,
    requests: Vec<SyncRequest>,
    responses: Vec<SyncResponse>,
}

impl Hub {
    pub fn new() -> Hub {
        Hub::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("a test panicked while holding the hub")
    }

    /// Appends a change to the region's log and returns its seq.
    pub fn publish(&self, kind: &str, id: &str, op: ChangeOp, body: Value) -> u64 {
        let mut state = self.state();
        let seq = state.changes.len() as u64 + 1;
        state.changes.push(Change {
            seq,
            kind: kind.into(),
            id: id.into(),
            op,
            body,
        });
        seq
    }

    /// Publishes an open counselling slot of an IMBUS visit as the real hub's change log carries
    /// it (the `slots` row), set aside for the kiosk `reserved_for` or for no kiosk.
    pub fn slot(&self, id: &str, starts_at: &str, ends_at: &str, reserved_for: Option<&str>) {
        self.state()
            .slots
            .insert(id.into(), (starts_at.into(), ends_at.into()));
        self.publish(
            "slots",
            id,
            ChangeOp::Upsert,
            json!({
                "id": id, "region_id": "r-elm", "village_id": "v-elm", "visit_id": "iv-1",
                "consultation_hours_id": null, "starts_at": starts_at, "ends_at": ends_at,
                "reserved_for_device_id": reserved_for, "status": "open", "version": 1,
                "created_at": "2026-11-01T08:00:00Z", "updated_at": "2026-11-01T08:00:00Z"
            }),
        );
    }

    /// Someone booked the slot through the web or the phone.
    pub fn book_elsewhere(&self, slot_id: &str) {
        self.state().taken.insert(slot_id.into(), None);
    }

    /// Who booked the slot: `Some(Some(id))` an outbox entry, `Some(None)` elsewhere.
    pub fn slot_holder(&self, slot_id: &str) -> Option<Option<Uuid>> {
        self.state().taken.get(slot_id).copied()
    }

    /// Makes every exchange fail as unreachable (`true`) until called with `false`.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    /// Makes exchange number `n` (1-based, counting every call) fail.
    pub fn fail_at(&self, n: usize, fault: Fault) {
        self.state().faults.insert(n, fault);
    }

    /// What a kiosk that applied every change should hold: `(kind, id) -> body`.
    pub fn live(&self) -> BTreeMap<(String, String), Value> {
        let mut live = BTreeMap::new();
        for c in &self.state().changes {
            let key = (c.kind.clone(), c.id.clone());
            match c.op {
                ChangeOp::Upsert => {
                    live.insert(key, c.body.clone());
                }
                ChangeOp::Cancel => {
                    live.remove(&key);
                }
            }
        }
        live
    }

    /// Bookings stored (accepted outbox entries).
    pub fn bookings(&self) -> Vec<(Uuid, Value)> {
        let mut bookings: Vec<(Uuid, Value)> = self
            .state()
            .outbox
            .iter()
            .filter_map(|(id, (_, _, answer))| match answer {
                AckOutcome::Accepted { record } => Some((*id, record.clone())),
                AckOutcome::Refused { .. } => None,
            })
            .collect();
        bookings.sort_by_key(|(id, _)| *id);
        bookings
    }

    pub fn requests(&self) -> Vec<SyncRequest> {
        self.state().requests.clone()
    }

    /// Responses the hub produced, including those lost on the way.
    pub fn responses(&self) -> Vec<SyncResponse> {
        self.state().responses.clone()
    }

    fn handle(state: &mut State, request: &SyncRequest) -> SyncResponse {
        assert_eq!(request.api_version, protocol::API_VERSION);
        assert!(
            request.outbox.len() <= MAX_OUTBOX_ENTRIES,
            "outbox too large"
        );
        assert!(
            (1..=MAX_CHANGES).contains(&request.limit),
            "limit out of range"
        );
        let acks = request
            .outbox
            .iter()
            .map(|entry| Ack {
                id: entry.id,
                outcome: Self::answer(state, entry),
            })
            .collect();
        let start = usize::try_from(request.cursor).expect("small test logs");
        let page: Vec<Change> = state
            .changes
            .iter()
            .skip(start)
            .take(request.limit as usize)
            .cloned()
            .collect();
        let cursor = page.last().map_or(request.cursor, |c| c.seq);
        SyncResponse {
            acks,
            more: (cursor as usize) < state.changes.len(),
            changes: page,
            cursor,
            update: None,
        }
    }

    fn answer(state: &mut State, entry: &OutboxEntry) -> AckOutcome {
        if let Some((kind, body, first)) = state.outbox.get(&entry.id) {
            return if *kind == entry.kind && *body == entry.body {
                first.clone()
            } else {
                AckOutcome::Refused {
                    status: 409,
                    title: "Conflict".into(),
                    detail: "this id was used with other content".into(),
                    field: None,
                }
            };
        }
        if entry.kind == OutboxKind::Appointment {
            let outcome = Self::appointment(state, entry);
            state
                .outbox
                .insert(entry.id, (entry.kind, entry.body.clone(), outcome.clone()));
            return outcome;
        }
        // A ride needs a time: the pickup, or else the appointment (the window is a stand-in).
        let time = ["pickup_at", "appointment_at"]
            .into_iter()
            .find_map(|name| entry.body.get(name).and_then(Value::as_str));
        let outcome = match time {
            None if entry.kind == OutboxKind::RideRequest => AckOutcome::Refused {
                status: 422,
                title: "Invalid input".into(),
                detail: "a ride needs a pickup time".into(),
                field: Some("pickup_at".into()),
            },
            pickup => AckOutcome::Accepted {
                record: json!({
                    "id": entry.id.to_string(),
                    "booking_code": BookingCode::from_uuid(entry.id).to_string(),
                    "status": "confirmed",
                    "pickup_window_start": pickup,
                    "pickup_window_end": pickup,
                    "resident_id": format!("p-{}", state.outbox.len() + 1),
                    "booked_by": "kiosk:test",
                }),
            },
        };
        state
            .outbox
            .insert(entry.id, (entry.kind, entry.body.clone(), outcome.clone()));
        outcome
    }
}

impl Hub {
    /// A new appointment entry: the slot is given once; the answer is the real hub's reduced
    /// record (no topic, no resident).
    fn appointment(state: &mut State, entry: &OutboxEntry) -> AckOutcome {
        let Some(slot) = entry.body.get("slot_id").and_then(Value::as_str) else {
            return AckOutcome::Refused {
                status: 422,
                title: "Invalid input".into(),
                detail: "slot_id: missing field".into(),
                field: Some("slot_id".into()),
            };
        };
        if state.taken.contains_key(slot) {
            return AckOutcome::Refused {
                status: 409,
                title: "slot taken".into(),
                detail: "the slot is no longer free; the kiosk keeps the booking as a request"
                    .into(),
                field: Some("slot_id".into()),
            };
        }
        state.taken.insert(slot.into(), Some(entry.id));
        let (starts_at, ends_at) = state.slots.get(slot).cloned().unwrap_or_default();
        AckOutcome::Accepted {
            record: json!({
                "id": entry.id.to_string(),
                "booking_code": BookingCode::from_uuid(entry.id).to_string(),
                "status": "booked",
                "slot_id": slot,
                "village_id": "v-elm",
                "starts_at": starts_at,
                "ends_at": ends_at,
            }),
        }
    }
}

impl Transport for Hub {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        let mut state = self.state();
        state.exchanges += 1;
        let fault = state.faults.get(&state.exchanges).copied();
        if state.down || matches!(fault, Some(Fault::Down)) {
            return Err(TransportError::Unreachable("connection refused".into()));
        }
        state.requests.push(request.clone());
        let response = Self::handle(&mut state, &request);
        state.responses.push(response.clone());
        match fault {
            Some(Fault::LoseResponse) => Err(TransportError::Unreachable(
                "connection reset while reading the response".into(),
            )),
            _ => Ok(response),
        }
    }
}
