//! The sync exchange: a kiosk sends its outbox and its position in the region's change log, the
//! hub answers every outbox entry and sends the next page of changes.
//!
//! One exchange is one `SyncRequest` and one `SyncResponse`. Both sides must treat a repeat as
//! harmless: the kiosk sends an entry again until it has stored an answer (the answer may have
//! been lost on the way), and the hub answers a repeated id with its first answer. A kiosk that
//! applies the same response twice ends up where it was after the first time, because changes
//! carry gap-free sequence numbers and the kiosk skips those at or below its cursor.
//!
//! Unknown fields are ignored when reading, so the hub may add fields without a new
//! [`API_VERSION`](crate::API_VERSION); removing or retyping one needs a new version.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// At most this many outbox entries travel in one request; the hub refuses larger requests.
pub const MAX_OUTBOX_ENTRIES: usize = 50;

/// The largest [`SyncRequest::limit`] the hub honours; it never sends more changes at once.
pub const MAX_CHANGES: u32 = 1000;

/// What a kiosk sends: its writes not yet answered and where it stands in the change log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The contract version the kiosk speaks, [`crate::API_VERSION`] of its build.
    pub api_version: u32,
    /// Sequence number of the last change the kiosk has applied; 0 before the first sync.
    pub cursor: u64,
    /// Entries without an answer, oldest first, at most [`MAX_OUTBOX_ENTRIES`].
    pub outbox: Vec<OutboxEntry>,
    /// The most changes the kiosk wants in the answer, `1..=MAX_CHANGES`.
    pub limit: u32,
}

/// One write a kiosk made while it may have been offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Made by the kiosk when the resident booked and the same on every repeat; it becomes the id
    /// of the hub's record, and the booking code is derived from it.
    pub id: Uuid,
    pub kind: OutboxKind,
    /// When the kiosk took the request, RFC 3339 in UTC (`2026-11-23T07:30:00Z`).
    pub created_at: String,
    /// The request, a JSON object in the shape the hub's handler for `kind` reads.
    pub body: Value,
}

/// What an outbox entry asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// A ride to or from a destination or stop.
    RideRequest,
    /// A counselling appointment in a slot.
    Appointment,
    /// A request to be called back by the service.
    CallBack,
    /// Cancel the ride or appointment with a booking code (`{"booking_code": "7KQM-2XHD-R"}`),
    /// booked anywhere in the kiosk's region.
    Cancel,
    /// What happened at an appointment at this kiosk, recorded by a health worker in a staff
    /// session (`crate::staff::AppointmentOutcome`).
    AppointmentOutcome,
}

impl OutboxKind {
    /// Every kind, in declaration order.
    pub const ALL: [OutboxKind; 5] = [
        Self::RideRequest,
        Self::Appointment,
        Self::CallBack,
        Self::Cancel,
        Self::AppointmentOutcome,
    ];

    /// The wire name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RideRequest => "ride_request",
            Self::Appointment => "appointment",
            Self::CallBack => "call_back",
            Self::Cancel => "cancel",
            Self::AppointmentOutcome => "appointment_outcome",
        }
    }
}

impl fmt::Display for OutboxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an [`OutboxKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an outbox kind")]
pub struct UnknownOutboxKind(pub String);

impl FromStr for OutboxKind {
    type Err = UnknownOutboxKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownOutboxKind(s.to_string()))
    }
}

/// What the hub answers: one ack per outbox entry it read, and a page of changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub acks: Vec<Ack>,
    /// Changes after the request's cursor in ascending `seq`, at most the request's limit.
    pub changes: Vec<Change>,
    /// `seq` of the last change included, or the request's cursor when there is none.
    pub cursor: u64,
    /// Whether the hub has changes after `cursor`: ask again.
    pub more: bool,
    /// The release the hub wants this kiosk to run, while it reports another version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::update::UpdateOffer>,
}

/// The hub's answer to one outbox entry. On the wire the outcome's fields sit beside the id:
/// `{"id": "…", "outcome": "refused", "status": 409, "title": "…", "detail": "…", "field": null}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub id: Uuid,
    #[serde(flatten)]
    pub outcome: AckOutcome,
}

/// Whether the hub stored an outbox entry. Both are final: the kiosk stops sending the entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AckOutcome {
    /// Stored. `record` is the hub's record as its API returns it, e.g. a ride with
    /// `booking_code`, `status`, `pickup_window_start` and `pickup_window_end`.
    Accepted { record: Value },
    /// Refused for good, as the RFC 9457 problem document the API would have sent: the request
    /// is wrong (or its id was used with other content), so repeating it cannot help.
    Refused {
        status: u16,
        title: String,
        detail: String,
        /// The input field at fault, where there is one.
        #[serde(default)]
        field: Option<String>,
    },
}

/// One line of the region's change log: an entity a kiosk shows, after the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Gap-free and ascending per region.
    pub seq: u64,
    /// The table the entity lives in: `villages`, `stops`, `destinations`, `imbus_visits`,
    /// `slots`, `devices`, …
    pub kind: String,
    /// The entity's id within `kind`.
    pub id: String,
    pub op: ChangeOp,
    /// The entity as the hub's API returns it after the change. Never personal data.
    pub body: Value,
}

/// What a change does to the kiosk's copy of an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Created or changed: replace the copy with `body`.
    Upsert,
    /// Cancelled or archived: the kiosk no longer offers it.
    Cancel,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn round_trip<T>(value: &T) -> T
    where
        T: Serialize + for<'de> Deserialize<'de>,
    {
        let text = serde_json::to_string(value).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_request_round_trips() {
        let request = SyncRequest {
            api_version: crate::API_VERSION,
            cursor: 41,
            outbox: vec![OutboxEntry {
                id: id(7),
                kind: OutboxKind::RideRequest,
                created_at: "2026-11-23T07:30:00Z".into(),
                body: json!({"pickup_at": "2026-11-24T08:00:00Z", "resident": {"name": "A. B."}}),
            }],
            limit: 500,
        };
        assert_eq!(round_trip(&request), request);
        let wire = serde_json::to_value(&request).unwrap();
        assert_eq!(wire["outbox"][0]["kind"], "ride_request");
        assert_eq!(
            wire["outbox"][0]["id"],
            "00000000-0000-0000-0000-000000000007"
        );
    }

    #[test]
    fn a_response_round_trips_with_both_outcomes_and_both_ops() {
        let response = SyncResponse {
            acks: vec![
                Ack {
                    id: id(1),
                    outcome: AckOutcome::Accepted {
                        record: json!({"booking_code": "7KQM-2XHD-R", "status": "requested"}),
                    },
                },
                Ack {
                    id: id(2),
                    outcome: AckOutcome::Refused {
                        status: 422,
                        title: "Invalid input".into(),
                        detail: "pickup_at lies in the past".into(),
                        field: Some("pickup_at".into()),
                    },
                },
                Ack {
                    id: id(3),
                    outcome: AckOutcome::Refused {
                        status: 409,
                        title: "Conflict".into(),
                        detail: "this id was used with other content".into(),
                        field: None,
                    },
                },
            ],
            changes: vec![
                Change {
                    seq: 42,
                    kind: "stops".into(),
                    id: "s1".into(),
                    op: ChangeOp::Upsert,
                    body: json!({"name": "Dorfplatz"}),
                },
                Change {
                    seq: 43,
                    kind: "slots".into(),
                    id: "x9".into(),
                    op: ChangeOp::Cancel,
                    body: json!({"status": "cancelled"}),
                },
            ],
            cursor: 43,
            more: true,
            update: None,
        };
        assert_eq!(round_trip(&response), response);
    }

    #[test]
    fn an_ack_is_flat_on_the_wire() {
        let refused = Ack {
            id: id(3),
            outcome: AckOutcome::Refused {
                status: 409,
                title: "Conflict".into(),
                detail: "reused id".into(),
                field: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&refused).unwrap(),
            json!({"id": "00000000-0000-0000-0000-000000000003", "outcome": "refused",
                   "status": 409, "title": "Conflict", "detail": "reused id", "field": null})
        );
        let accepted: Ack = serde_json::from_value(json!({
            "id": "00000000-0000-0000-0000-000000000004",
            "outcome": "accepted",
            "record": {"booking_code": "7KQM-2XHD-R"}
        }))
        .unwrap();
        assert_eq!(
            accepted.outcome,
            AckOutcome::Accepted {
                record: json!({"booking_code": "7KQM-2XHD-R"})
            }
        );
    }

    #[test]
    fn a_refusal_without_field_and_unknown_fields_still_reads() {
        let ack: Ack = serde_json::from_value(json!({
            "id": "00000000-0000-0000-0000-000000000005",
            "outcome": "refused",
            "status": 422,
            "title": "Invalid input",
            "detail": "no such slot",
            "added_in_a_later_hub": true
        }))
        .unwrap();
        assert_eq!(
            ack.outcome,
            AckOutcome::Refused {
                status: 422,
                title: "Invalid input".into(),
                detail: "no such slot".into(),
                field: None
            }
        );
        let unknown = serde_json::from_value::<Ack>(json!({
            "id": "00000000-0000-0000-0000-000000000005", "outcome": "maybe"
        }));
        assert!(unknown.is_err());
    }

    #[test]
    fn kind_and_op_names_are_snake_case_everywhere() {
        for kind in OutboxKind::ALL {
            let wire = serde_json::to_value(kind).unwrap();
            assert_eq!(wire, json!(kind.as_str()));
            assert_eq!(kind.as_str().parse::<OutboxKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(OutboxKind::CallBack.as_str(), "call_back");
        assert_eq!(
            "CallBack".parse::<OutboxKind>(),
            Err(UnknownOutboxKind("CallBack".into()))
        );
        assert_eq!(serde_json::to_value(ChangeOp::Upsert).unwrap(), "upsert");
        assert_eq!(serde_json::to_value(ChangeOp::Cancel).unwrap(), "cancel");
        assert!(serde_json::from_value::<ChangeOp>(json!("delete")).is_err());
    }
}
