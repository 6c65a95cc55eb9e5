//! Health worker mode at a kiosk: a login with username and kiosk PIN opens a staff session at
//! that kiosk and lists today's appointments there; what happened at each appointment goes to the
//! hub later through the outbox ([`crate::sync::OutboxKind::AppointmentOutcome`]), so nothing
//! is lost offline. There is no free text: the outcome is a status, a topic code and a referral
//! category.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST` [`StaffLogin`] → [`StaffSession`], mutual TLS. A wrong username or PIN is refused with
/// 401 (which of them is not said), a PIN locked after too many wrong tries with 423.
pub const STAFF_SESSIONS_PATH: &str = "/api/v1/device/staff-sessions";

/// A kiosk PIN has exactly this many digits.
pub const PIN_DIGITS: usize = 6;

/// The topic codes of an appointment (the hub's `Topic`), in the order a kiosk offers them.
pub const TOPICS: [&str; 8] = [
    "health",
    "care",
    "money",
    "housing",
    "loneliness",
    "addiction",
    "family",
    "other",
];

/// A health worker logging in at a kiosk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffLogin {
    /// Made by the kiosk; a repeat with the same id answers with the same session.
    pub id: Uuid,
    pub username: String,
    /// [`PIN_DIGITS`] digits.
    pub pin: String,
}

/// An open staff session and the day's appointments at the kiosk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffSession {
    pub session_id: Uuid,
    /// RFC 3339 UTC; outcomes made later are refused.
    pub expires_at: String,
    /// The health worker's name as the account shows it.
    pub display_name: String,
    /// Today's appointments (the region's day) in consultation hours at this kiosk, by time.
    pub appointments: Vec<StaffAppointment>,
}

/// One appointment as the health worker's list shows it: no more of the resident than the first
/// name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StaffAppointment {
    pub id: String,
    /// RFC 3339 UTC.
    pub starts_at: String,
    pub booking_code: String,
    /// One of [`TOPICS`].
    pub topic: String,
    /// `booked`, `attended` or `no_show`.
    pub status: String,
    /// `None` for a walk-in booked without a name.
    pub first_name: Option<String>,
}

/// What happened at an appointment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Attended,
    NoShow,
}

/// The body of an [`crate::sync::OutboxKind::AppointmentOutcome`] entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppointmentOutcome {
    pub session_id: Uuid,
    pub appointment_id: String,
    pub status: OutcomeStatus,
    /// One of [`TOPICS`].
    pub topic: String,
    /// One of the region's destination categories, or `None`.
    #[serde(default)]
    pub referral: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_outcome_has_no_place_for_free_text() {
        let outcome = AppointmentOutcome {
            session_id: Uuid::from_u128(1),
            appointment_id: "a1".into(),
            status: OutcomeStatus::NoShow,
            topic: "care".into(),
            referral: None,
        };
        let wire = serde_json::to_value(&outcome).unwrap();
        assert_eq!(wire["status"], "no_show");
        assert_eq!(
            serde_json::from_value::<AppointmentOutcome>(wire).unwrap(),
            outcome
        );
        let note = json!({"session_id": Uuid::from_u128(1), "appointment_id": "a1",
                          "status": "attended", "topic": "care", "note": "Blutdruck"});
        assert!(serde_json::from_value::<AppointmentOutcome>(note).is_err());
        assert!(TOPICS.contains(&"loneliness") && TOPICS.len() == 8);
    }
}
