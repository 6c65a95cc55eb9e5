//! The kiosk's booking core: what happens when a resident books, the same for the touch UI and
//! `kiosk sim`.
//!
//! A booking goes to the outbox first and is committed to disk (`synchronous=FULL`) before
//! anything is shown; its booking code comes from the entry's id, so the receipt can be printed
//! even when the hub is out of reach. Then one sync is tried with a short time limit: if the hub
//! answers in time, the resident sees its answer (a pickup window, or a request with the
//! planner's reason); if not, the receipt says it is a request, and the hub's answer is stored
//! when a later sync brings it ([`crate::Store::booking_by_code`] shows and reprints it).
//!
//! A counselling appointment ([`book_appointment`]) goes the same way, with one difference: a
//! slot the hub set aside for this kiosk (`reserved_for_device_id` in the replica's slot) can only
//! be booked through this kiosk, so the kiosk confirms it at once, also offline, once the outbox
//! shows no other booking of it; the outbox check and the entry are one transaction
//! ([`crate::Store::enqueue_appointment`]). A slot another entry of this kiosk holds is refused
//! on the spot. Any other slot is a request the hub answers. [`booking_status`] shows any booking
//! by its code, with the hub's answer once it arrived (also a later "slot taken").

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use protocol::BookingCode;
use protocol::sync::{AckOutcome, OutboxKind, SyncRequest, SyncResponse};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::store::{Booking, BookingState, SlotClaim, Store, StoreError};
use crate::sync::{SyncError, SyncSummary, Transport, TransportError, sync_once};

/// How many changes one exchange asks for.
pub const CHANGES_PER_EXCHANGE: u32 = 500;

/// One end of a ride.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The resident's home address, which the hub knows.
    Home,
    Stop(String),
    Destination(String),
}

/// When the ride is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Arrive at the destination no later than this.
    Appointment(DateTime<Utc>),
    /// Be picked up at about this time.
    Pickup(DateTime<Utc>),
}

/// Who a kiosk ride is for (the first ride screen, "Für wen?"). [`book_ride_for`] puts it in
/// the entry in place of [`RideAsk::resident_id`]; the hub resolves it when the entry arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rider {
    /// A resident the hub knows by id.
    Resident(String),
    /// A resident who typed the number printed on an earlier ticket (works offline: the hub
    /// refuses an unknown number in its answer).
    Number(protocol::ResidentNumber),
    /// A resident new to the service, registered together with this ride. Their details leave
    /// the kiosk's store with the hub's answer (`store/personal.rs` keeps no `new_resident`).
    New(protocol::people::NewResident),
    /// A caregiver who logged in with phone and PIN (online), booking for a linked resident.
    CaredFor {
        caregiver_id: String,
        resident_id: String,
    },
}

impl Rider {
    /// The entry's fields naming the resident (and the caregiver).
    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        match self {
            Rider::Resident(id) => {
                fields.insert("resident_id".into(), json!(id));
            }
            Rider::Number(number) => {
                fields.insert("resident_number".into(), json!(number.to_string()));
            }
            Rider::New(person) => {
                fields.insert("new_resident".into(), json!(person));
            }
            Rider::CaredFor {
                caregiver_id,
                resident_id,
            } => {
                fields.insert("resident_id".into(), json!(resident_id));
                fields.insert("caregiver_id".into(), json!(caregiver_id));
            }
        }
        fields
    }
}

/// A ride as the resident asked for it at the kiosk.
#[derive(Clone, Debug, PartialEq)]
pub struct RideAsk {
    /// The kiosk's region (from its identity); the hub checks it against the certificate.
    pub region_id: String,
    /// The resident as the hub knows them (their kiosk card or the caregiver's choice).
    pub resident_id: String,
    pub from: Place,
    pub to: Place,
    pub when: When,
    /// People travelling, the resident included.
    pub passengers: u32,
    pub wheelchair: bool,
    pub walker: bool,
}

impl RideAsk {
    /// The outbox body: the fields of the hub's ride request (`RideRequest`, which refuses
    /// unknown fields), with `channel: "kiosk"`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("region_id".into(), json!(self.region_id));
        body.insert("resident_id".into(), json!(self.resident_id));
        for (end, place) in [("from", &self.from), ("to", &self.to)] {
            match place {
                Place::Home => body.insert(format!("{end}_home"), json!(true)),
                Place::Stop(id) => body.insert(format!("{end}_stop_id"), json!(id)),
                Place::Destination(id) => body.insert(format!("{end}_destination_id"), json!(id)),
            };
        }
        match self.when {
            When::Appointment(at) => body.insert("appointment_at".into(), json!(instant(at))),
            When::Pickup(at) => body.insert("pickup_at".into(), json!(instant(at))),
        };
        body.insert("passengers".into(), json!(self.passengers));
        body.insert("wheelchair".into(), json!(self.wheelchair));
        body.insert("walker".into(), json!(self.walker));
        body.insert("channel".into(), json!("kiosk"));
        Value::Object(body)
    }
}

/// What a counselling appointment is about, the category only (the hub's `Topic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topic {
    Health,
    Care,
    Money,
    Housing,
    Loneliness,
    Addiction,
    Family,
    Other,
}

impl Topic {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Health => "health",
            Topic::Care => "care",
            Topic::Money => "money",
            Topic::Housing => "housing",
            Topic::Loneliness => "loneliness",
            Topic::Addiction => "addiction",
            Topic::Family => "family",
            Topic::Other => "other",
        }
    }
}

/// A counselling appointment as the resident asked for it at the kiosk. The hub's kiosk
/// appointment takes exactly these (it refuses unknown fields): no contact details, which belong
/// to a call-back request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppointmentAsk {
    /// The kiosk's region (from its identity); the hub checks it against the certificate.
    pub region_id: String,
    /// A slot from the replica (kind `slots`).
    pub slot_id: String,
    /// `None`: a walk-in who need not say; the hub records `other` and the counsellor asks.
    pub topic: Option<Topic>,
    /// The resident when known (their kiosk card); an appointment may stay anonymous.
    pub resident_id: Option<String>,
}

impl AppointmentAsk {
    /// The outbox body: the hub's kiosk appointment fields, with `channel: "kiosk"`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("region_id".into(), json!(self.region_id));
        body.insert("slot_id".into(), json!(self.slot_id));
        if let Some(topic) = self.topic {
            body.insert("topic".into(), json!(topic.as_str()));
        }
        if let Some(resident) = &self.resident_id {
            body.insert("resident_id".into(), json!(resident));
        }
        body.insert("channel".into(), json!("kiosk"));
        Value::Object(body)
    }
}

/// Title of the kiosk's own refusal of a slot another of its bookings holds (the hub's word).
pub const SLOT_TAKEN: &str = "slot taken";

/// What the resident is shown and what the receipt says.
#[derive(Clone, Debug, PartialEq)]
pub struct BookingResult {
    pub id: Uuid,
    pub code: BookingCode,
    pub status: BookingStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BookingStatus {
    /// The hub planned the ride: pickup within this window (RFC 3339 UTC). For an appointment:
    /// the slot's start and end, confirmed by the hub or by the kiosk for its own slot.
    Confirmed {
        window_start: String,
        window_end: String,
    },
    /// A request, not (yet) a promise. `reason` is the hub's, when it answered and could not
    /// plan the ride as asked; `None` when the hub has not answered yet (offline): the answer
    /// arrives with a later sync.
    Requested { reason: Option<String> },
    /// The hub refused the booking for good (its problem title and detail).
    Refused { title: String, detail: String },
}

impl BookingStatus {
    /// `confirmed`, `requested` or `refused`.
    pub fn word(&self) -> &'static str {
        match self {
            BookingStatus::Confirmed { .. } => "confirmed",
            BookingStatus::Requested { .. } => "requested",
            BookingStatus::Refused { .. } => "refused",
        }
    }

    /// What the hub's answer to a ride request means for the resident.
    pub fn from_outcome(outcome: &AckOutcome) -> BookingStatus {
        match outcome {
            AckOutcome::Refused { title, detail, .. } => BookingStatus::Refused {
                title: title.clone(),
                detail: detail.clone(),
            },
            AckOutcome::Accepted { record } => {
                let text = |name: &str| record.get(name).and_then(Value::as_str);
                match (
                    text("status"),
                    text("pickup_window_start"),
                    text("pickup_window_end"),
                ) {
                    (Some("confirmed" | "planned"), Some(start), Some(end)) => {
                        BookingStatus::Confirmed {
                            window_start: start.to_string(),
                            window_end: end.to_string(),
                        }
                    }
                    _ => BookingStatus::Requested {
                        reason: reason_of(record),
                    },
                }
            }
        }
    }
}

impl BookingStatus {
    /// What the hub's answer to an appointment means for the resident: booked is confirmed
    /// for the slot's time.
    pub fn from_appointment_outcome(outcome: &AckOutcome) -> BookingStatus {
        match outcome {
            refused @ AckOutcome::Refused { .. } => BookingStatus::from_outcome(refused),
            AckOutcome::Accepted { record } => {
                let text = |name: &str| record.get(name).and_then(Value::as_str);
                match (text("status"), text("starts_at")) {
                    (Some("booked" | "attended"), Some(start)) => BookingStatus::Confirmed {
                        window_start: start.to_string(),
                        window_end: text("ends_at").unwrap_or(start).to_string(),
                    },
                    (status, _) => BookingStatus::Requested {
                        reason: status.map(str::to_string),
                    },
                }
            }
        }
    }
}

/// The planner's reason for a ride not planned as asked: the German message first (what
/// residents read), else the reason code.
fn reason_of(record: &Value) -> Option<String> {
    let planning = record.get("planning");
    planning
        .and_then(|p| p.get("message_de"))
        .and_then(Value::as_str)
        .or_else(|| record.get("status_reason").and_then(Value::as_str))
        .or_else(|| {
            planning
                .and_then(|p| p.get("reason"))
                .and_then(Value::as_str)
        })
        .map(str::to_string)
}

/// Why a booking could not be taken. Only a store failure stops a booking: the hub being out of
/// reach is a normal outcome.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the booking could not be stored: {0}")]
    Store(#[from] StoreError),
    #[error("interrupted by shutdown")]
    Interrupted,
}

/// Books a ride: stores it in the outbox (on disk when this proceeds), then gives the hub up to
/// `answer_within` to answer through one sync. See the module documentation.
pub async fn book_ride<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    ask: &RideAsk,
    answer_within: Duration,
) -> Result<BookingResult, CoreError> {
    let rider = Rider::Resident(ask.resident_id.clone());
    Ok(book_ride_for(store, transport, ask, &rider, answer_within)
        .await?
        .0)
}

/// [`book_ride`] for `rider` (`ask.resident_id` is not used). Also returns the resident number
/// the hub sent with its answer, for the ticket; `None` offline or when refused.
pub async fn book_ride_for<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    ask: &RideAsk,
    rider: &Rider,
    answer_within: Duration,
) -> Result<(BookingResult, Option<protocol::ResidentNumber>), CoreError> {
    let mut body = ask.body();
    if let Value::Object(fields) = &mut body {
        fields.remove("resident_id");
        fields.extend(rider.fields());
    }
    let id = on_store(store, move |s| s.enqueue(OutboxKind::RideRequest, body)).await?;
    let code = BookingCode::from_uuid(id);
    let (status, number) = match answer_of(store, transport, id, answer_within).await {
        Some(outcome) => (
            BookingStatus::from_outcome(&outcome),
            resident_number_of(&outcome),
        ),
        None => (BookingStatus::Requested { reason: None }, None),
    };
    Ok((BookingResult { id, code, status }, number))
}

/// The resident number in the hub's answer to a ride.
pub fn resident_number_of(outcome: &AckOutcome) -> Option<protocol::ResidentNumber> {
    match outcome {
        AckOutcome::Accepted { record } => record
            .get("resident_number")
            .and_then(Value::as_str)
            .and_then(|n| n.parse().ok()),
        AckOutcome::Refused { .. } => None,
    }
}

/// Books the way back of the ride `outbound` (the id [`book_ride_for`] gave it) for `rider`:
/// the hub links the two (`return_of`), so a no-show on the way there calls off the way back.
/// A new resident's details go with the way there only; the hub takes the resident of the way
/// back from the ride it returns from.
pub async fn book_return<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    outbound: Uuid,
    ask: &RideAsk,
    rider: &Rider,
    answer_within: Duration,
) -> Result<BookingResult, CoreError> {
    let mut body = ask.body();
    if let Value::Object(fields) = &mut body {
        fields.remove("resident_id");
        if !matches!(rider, Rider::New(_)) {
            fields.extend(rider.fields());
        }
        fields.insert("return_of".into(), json!(outbound));
    }
    let id = on_store(store, move |s| s.enqueue(OutboxKind::RideRequest, body)).await?;
    let code = BookingCode::from_uuid(id);
    let status = match answer_of(store, transport, id, answer_within).await {
        Some(outcome) => BookingStatus::from_outcome(&outcome),
        None => BookingStatus::Requested { reason: None },
    };
    Ok(BookingResult { id, code, status })
}

/// Books a counselling appointment for `ask.slot_id` as the kiosk `own_device_id` (from its
/// identity). The entry is on disk before anything is shown. Then:
///
/// - the slot is set aside for this kiosk and no other entry of it holds the slot: `Confirmed`
///   at once with the slot's time, without waiting for the hub (the next sync delivers it);
/// - another entry of this kiosk holds the slot: `Refused` with title [`SLOT_TAKEN`] and the
///   holder's code in the detail. Nothing is stored then: the result's id is fresh and its code
///   finds nothing, and no ticket is printed;
/// - else one sync with up to `answer_within` for the hub's answer: `Confirmed`, `Refused`
///   (e.g. "slot taken"), or `Requested` while the hub is out of reach.
pub async fn book_appointment<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    ask: &AppointmentAsk,
    own_device_id: &str,
    answer_within: Duration,
) -> Result<BookingResult, CoreError> {
    let body = ask.body();
    let device = own_device_id.to_string();
    let claim = on_store(store, move |s| {
        s.enqueue_appointment(body, &device, Utc::now())
    })
    .await?;
    let id = match claim {
        SlotClaim::Confirmed { id, slot } => {
            let code = BookingCode::from_uuid(id);
            tracing::info!(%code, slot = %slot.slot_id, "appointment confirmed by the kiosk for its own slot");
            return Ok(BookingResult {
                id,
                code,
                status: BookingStatus::Confirmed {
                    window_start: slot.starts_at,
                    window_end: slot.ends_at,
                },
            });
        }
        SlotClaim::Held { by } => {
            let id = Uuid::new_v4();
            return Ok(BookingResult {
                id,
                code: BookingCode::from_uuid(id),
                status: BookingStatus::Refused {
                    title: SLOT_TAKEN.to_string(),
                    detail: format!(
                        "this kiosk gave the slot already (booking {by}); please choose another \
                         slot"
                    ),
                },
            });
        }
        SlotClaim::Requested { id } => id,
    };
    let code = BookingCode::from_uuid(id);
    let status = match answer_of(store, transport, id, answer_within).await {
        Some(outcome) => BookingStatus::from_appointment_outcome(&outcome),
        None => BookingStatus::Requested { reason: None },
    };
    Ok(BookingResult { id, code, status })
}

/// A booking found by its code, as the screen shows and the ticket reprints it: the hub's
/// answer once stored (accepted, or refused, also after the kiosk confirmed its own slot), else
/// the kiosk's own confirmation of an appointment, else a request. `None` for an unknown code.
pub fn booking_status(
    store: &Store,
    code: &BookingCode,
) -> Result<Option<(Booking, BookingStatus)>, StoreError> {
    let Some(booking) = store.booking_by_code(code)? else {
        return Ok(None);
    };
    let status = match (&booking.state, &booking.confirmed_offline) {
        (BookingState::Answered { outcome, .. }, _) => match booking.kind {
            OutboxKind::Appointment => BookingStatus::from_appointment_outcome(outcome),
            OutboxKind::RideRequest
            | OutboxKind::CallBack
            | OutboxKind::Cancel
            | OutboxKind::AppointmentOutcome => BookingStatus::from_outcome(outcome),
        },
        (BookingState::Requested, Some(slot)) => BookingStatus::Confirmed {
            window_start: slot.starts_at.clone(),
            window_end: slot.ends_at.clone(),
        },
        (BookingState::Requested, None) => BookingStatus::Requested { reason: None },
    };
    Ok(Some((booking, status)))
}

/// Runs store work on the blocking pool.
async fn on_store<R, F>(store: &Store, work: F) -> Result<R, CoreError>
where
    R: Send + 'static,
    F: FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
{
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|_| CoreError::Interrupted)??)
}

/// Gives the hub up to `answer_within` to answer entry `id` through one sync; its answer in full
/// when it came.
async fn answer_of<T: Transport + Sync>(
    store: &Store,
    transport: &T,
    id: Uuid,
    answer_within: Duration,
) -> Option<AckOutcome> {
    let watch = Watch {
        inner: transport,
        id,
        outcome: Mutex::new(None),
    };
    // A sync cut short by the time limit loses nothing: the entry stays pending, and store work
    // already started finishes on its blocking thread.
    let synced = tokio::time::timeout(
        answer_within,
        sync_once(store, &watch, CHANGES_PER_EXCHANGE),
    )
    .await;
    if let Ok(Err(e)) = &synced {
        tracing::info!(code = %BookingCode::from_uuid(id), error = %e, "the hub did not answer the booking; it stays a request");
    }
    watch
        .outcome
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Syncs with a time limit; `Ok(None)` when the limit ran out.
pub async fn sync_within<T: Transport>(
    store: &Store,
    transport: &T,
    limit: Duration,
) -> Result<Option<SyncSummary>, SyncError> {
    match tokio::time::timeout(limit, sync_once(store, transport, CHANGES_PER_EXCHANGE)).await {
        Ok(result) => result.map(Some),
        Err(_) => Ok(None),
    }
}

/// A transport that notes the hub's answer to one entry as it passes, in full: the store keeps
/// only the minimised record, the screen may show the planner's reason once.
struct Watch<'a, T> {
    inner: &'a T,
    id: Uuid,
    outcome: Mutex<Option<AckOutcome>>,
}

impl<T: Transport + Sync> Transport for Watch<'_, T> {
    async fn exchange(&self, request: SyncRequest) -> Result<SyncResponse, TransportError> {
        let response = self.inner.exchange(request).await?;
        if let Some(ack) = response.acks.iter().find(|a| a.id == self.id) {
            let mut seen = self
                .outcome
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // The first answer counts, as in the store.
            seen.get_or_insert_with(|| ack.outcome.clone());
        }
        Ok(response)
    }
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn ask() -> RideAsk {
        RideAsk {
            region_id: "r1".into(),
            resident_id: "p-1".into(),
            from: Place::Stop("s1".into()),
            to: Place::Destination("d1".into()),
            when: When::Appointment(Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0).unwrap()),
            passengers: 1,
            wheelchair: false,
            walker: true,
        }
    }

    #[test]
    fn the_body_has_exactly_the_hubs_ride_request_fields() {
        assert_eq!(
            ask().body(),
            json!({
                "region_id": "r1",
                "resident_id": "p-1",
                "from_stop_id": "s1",
                "to_destination_id": "d1",
                "appointment_at": "2026-11-24T09:30:00Z",
                "passengers": 1,
                "wheelchair": false,
                "walker": true,
                "channel": "kiosk"
            })
        );
        let mut home = ask();
        home.from = Place::Home;
        home.to = Place::Stop("s2".into());
        home.when = When::Pickup(Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap());
        let body = home.body();
        assert_eq!(body["from_home"], true);
        assert_eq!(body["to_stop_id"], "s2");
        assert_eq!(body["pickup_at"], "2026-11-24T08:00:00Z");
        assert!(body.get("appointment_at").is_none());
    }

    #[test]
    fn the_rider_names_the_resident_in_exactly_one_way() {
        let fields = |rider: Rider| Value::Object(rider.fields());
        assert_eq!(
            fields(Rider::Resident("p-1".into())),
            json!({"resident_id": "p-1"})
        );
        let number = protocol::ResidentNumber::from_body(482_913);
        assert_eq!(
            fields(Rider::Number(number)),
            json!({"resident_number": number.to_string()})
        );
        assert_eq!(
            fields(Rider::CaredFor {
                caregiver_id: "c-1".into(),
                resident_id: "p-2".into()
            }),
            json!({"resident_id": "p-2", "caregiver_id": "c-1"})
        );
        let new = protocol::people::NewResident {
            name: "Hannelore Wiese".into(),
            phone: None,
            street: "Lindenweg".into(),
            house_number: "7a".into(),
            language: "de".into(),
            consent: true,
        };
        assert_eq!(
            fields(Rider::New(new)),
            json!({"new_resident": {"name": "Hannelore Wiese", "street": "Lindenweg",
                   "house_number": "7a", "language": "de", "consent": true}})
        );
        let answer = AckOutcome::Accepted {
            record: json!({"status": "requested", "resident_number": number.to_string()}),
        };
        assert_eq!(resident_number_of(&answer), Some(number));
    }

    #[test]
    fn an_appointment_body_has_only_fields_the_hubs_kiosk_appointment_takes() {
        let ask = AppointmentAsk {
            region_id: "r1".into(),
            slot_id: "sl1".into(),
            topic: Some(Topic::Loneliness),
            resident_id: Some("p-1".into()),
        };
        assert_eq!(
            ask.body(),
            json!({"region_id": "r1", "slot_id": "sl1", "topic": "loneliness",
                   "resident_id": "p-1", "channel": "kiosk"})
        );
        let walk_in = AppointmentAsk {
            topic: None,
            resident_id: None,
            ..ask
        };
        assert_eq!(
            walk_in.body(),
            json!({"region_id": "r1", "slot_id": "sl1", "channel": "kiosk"})
        );
    }

    #[test]
    fn the_hubs_appointment_answers_read_as_the_slot_time_or_refused() {
        let booked = AckOutcome::Accepted {
            record: json!({"status": "booked", "slot_id": "sl1",
                           "starts_at": "2026-11-25T09:00:00Z", "ends_at": "2026-11-25T09:30:00Z"}),
        };
        assert_eq!(
            BookingStatus::from_appointment_outcome(&booked),
            BookingStatus::Confirmed {
                window_start: "2026-11-25T09:00:00Z".into(),
                window_end: "2026-11-25T09:30:00Z".into()
            }
        );
        let cancelled = AckOutcome::Accepted {
            record: json!({"status": "cancelled", "starts_at": "2026-11-25T09:00:00Z"}),
        };
        assert_eq!(
            BookingStatus::from_appointment_outcome(&cancelled),
            BookingStatus::Requested {
                reason: Some("cancelled".into())
            }
        );
        let taken = AckOutcome::Refused {
            status: 409,
            title: SLOT_TAKEN.into(),
            detail: "the slot is no longer free".into(),
            field: Some("slot_id".into()),
        };
        assert_eq!(
            BookingStatus::from_appointment_outcome(&taken).word(),
            "refused"
        );
    }

    #[test]
    fn the_hubs_answers_read_as_confirmed_requested_or_refused() {
        let confirmed = AckOutcome::Accepted {
            record: json!({"status": "confirmed", "pickup_window_start": "2026-11-24T08:50:00Z",
                           "pickup_window_end": "2026-11-24T09:05:00Z"}),
        };
        assert_eq!(
            BookingStatus::from_outcome(&confirmed),
            BookingStatus::Confirmed {
                window_start: "2026-11-24T08:50:00Z".into(),
                window_end: "2026-11-24T09:05:00Z".into()
            }
        );
        let requested = AckOutcome::Accepted {
            record: json!({"status": "requested", "status_reason": "no_vehicle",
                           "planning": {"reason": "no_vehicle", "message_de": "Kein Fahrzeug frei"}}),
        };
        assert_eq!(
            BookingStatus::from_outcome(&requested),
            BookingStatus::Requested {
                reason: Some("Kein Fahrzeug frei".into())
            }
        );
        let refused = AckOutcome::Refused {
            status: 422,
            title: "Invalid input".into(),
            detail: "no such stop".into(),
            field: Some("from_stop_id".into()),
        };
        assert_eq!(BookingStatus::from_outcome(&refused).word(), "refused");
    }
}
