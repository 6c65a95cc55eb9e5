//! The kiosk's booking core: what happens when a resident books, the same for the touch UI and
//! `kiosk sim`.
//!
//! A booking goes to the outbox first and is committed to disk (`synchronous=FULL`) before
//! anything is shown; its booking code comes from the entry's id, so the receipt can be printed
//! even when the hub is out of reach. Then one sync is tried with a short time limit: if the hub
//! answers in time, the resident sees its answer (a pickup window, or a request with the
//! planner's reason); if not, the receipt says it is a request, and the hub's answer is stored
//! when a later sync brings it ([`crate::Store::booking_by_code`] shows and reprints it).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use protocol::BookingCode;
use protocol::sync::{AckOutcome, OutboxKind, SyncRequest, SyncResponse};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::store::{Store, StoreError};
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

/// What the resident is shown and what the receipt says.
#[derive(Clone, Debug, PartialEq)]
pub struct BookingResult {
    pub id: Uuid,
    pub code: BookingCode,
    pub status: BookingStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BookingStatus {
    /// The hub planned the ride: pickup within this window (RFC 3339 UTC).
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
    let body = ask.body();
    let id = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.enqueue(OutboxKind::RideRequest, body))
            .await
            .map_err(|_| CoreError::Interrupted)??
    };
    let code = BookingCode::from_uuid(id);
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
        tracing::info!(%code, error = %e, "the hub did not answer the booking; it stays a request");
    }
    let outcome = watch
        .outcome
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let status = match outcome {
        Some(outcome) => BookingStatus::from_outcome(&outcome),
        None => BookingStatus::Requested { reason: None },
    };
    Ok(BookingResult { id, code, status })
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
