//! What of a booking stays on the kiosk once the hub has answered it.
//!
//! A kiosk stands in a public place and is easily carried off, so it keeps personal data only
//! while it needs it: until the hub has the request. Afterwards the outbox entry keeps what a
//! reprinted ticket shows and nothing that says who booked. The rule is an allow-list: a field
//! nobody thought about (a new form field, a new column in the hub's record) is removed, not kept.
//!
//! **Kept** (top-level fields with a string, number, boolean or null value):
//!
//! | group | fields |
//! |---|---|
//! | the booking | `id`, `booking_code`, `status`, `passengers` (the ride's size, printed on the ticket) |
//! | times | `pickup_at`, `appointment_at`, `pickup_window_start`, `pickup_window_end`, `starts_at`, `ends_at` |
//! | places | `region_id`, `village_id`, `slot_id`, `return_of`, `from_stop_id`, `from_destination_id`, `from_home`, `to_stop_id`, `to_destination_id`, `to_home` |
//!
//! **Removed**: everything else, and any object or array even under a kept name, so no nested
//! person survives. In particular: the `resident` object, `resident_id`, `name`, `phone`,
//! `street`, `email`, `lat`/`lon` (a home's position), `caregiver_id`, `booked_by`, `language`;
//! the health and counselling hints `wheelchair`, `walker`, `topic`, `referral`, `note`;
//! and the hub's working fields such as `status_reason`, `planning`, `shift_id`.
//!
//! The same rule applies to the kiosk's request body and to the record in the hub's `accepted`
//! answer. A refusal keeps the hub's problem text (status, title, detail, field name) so the
//! kiosk can say why; its request body is minimised like an accepted one.

use serde_json::{Map, Value};

/// The fields kept after an answer; see the module documentation.
pub const KEPT_FIELDS: &[&str] = &[
    // The booking.
    "id",
    "booking_code",
    "status",
    "passengers",
    // Times.
    "pickup_at",
    "appointment_at",
    "pickup_window_start",
    "pickup_window_end",
    "starts_at",
    "ends_at",
    // Places.
    "region_id",
    "village_id",
    "slot_id",
    "return_of",
    "from_stop_id",
    "from_destination_id",
    "from_home",
    "to_stop_id",
    "to_destination_id",
    "to_home",
];

/// `value` reduced to its [`KEPT_FIELDS`] with scalar values. Anything but an object has nothing
/// worth keeping and becomes an empty object.
pub fn minimise(value: &Value) -> Value {
    let Value::Object(fields) = value else {
        return Value::Object(Map::new());
    };
    let kept = fields
        .iter()
        .filter(|(name, v)| {
            KEPT_FIELDS.contains(&name.as_str()) && !(v.is_object() || v.is_array())
        })
        .map(|(name, v)| (name.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_ride_request_keeps_times_places_and_code_only() {
        let body = json!({
            "id": "0b7e…",
            "booking_code": "7KQM-2XHD-R",
            "status": "requested",
            "passengers": 2,
            "pickup_at": "2026-11-24T08:00:00Z",
            "appointment_at": null,
            "pickup_window_start": "2026-11-24T07:50:00Z",
            "pickup_window_end": "2026-11-24T08:10:00Z",
            "region_id": "r1",
            "village_id": "v1",
            "return_of": null,
            "from_home": true,
            "from_stop_id": null,
            "to_destination_id": "d1",
            "to_home": false,
            "resident": {"name": "Erna Beispiel", "phone": "0921 1234", "street": "Hauptstr. 1"},
            "resident_id": "p1",
            "name": "Erna Beispiel",
            "phone": "0921 1234",
            "street": "Hauptstr. 1",
            "email": "erna@example.invalid",
            "lat": 49.98,
            "lon": 11.58,
            "caregiver_id": "c1",
            "booked_by": "kiosk:k1",
            "language": "uk",
            "wheelchair": true,
            "walker": false,
            "note": "Bitte klingeln",
            "status_reason": null,
            "planning": {"stops": [1, 2]},
            "shift_id": "s1"
        });
        let kept = minimise(&body);
        let mut names: Vec<&str> = kept
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "appointment_at",
                "booking_code",
                "from_home",
                "from_stop_id",
                "id",
                "passengers",
                "pickup_at",
                "pickup_window_end",
                "pickup_window_start",
                "region_id",
                "return_of",
                "status",
                "to_destination_id",
                "to_home",
                "village_id",
            ]
        );
        assert_eq!(kept["booking_code"], "7KQM-2XHD-R");
        assert_eq!(kept["pickup_window_end"], "2026-11-24T08:10:00Z");
        let text = kept.to_string();
        for personal in [
            "Erna", "0921", "Hauptstr", "erna@", "p1", "c1", "uk", "49.98",
        ] {
            assert!(!text.contains(personal), "{personal} left in {text}");
        }
    }

    #[test]
    fn an_appointment_loses_its_topic_and_resident() {
        let body = json!({
            "slot_id": "sl1",
            "starts_at": "2026-11-25T09:00:00Z",
            "ends_at": "2026-11-25T09:30:00Z",
            "topic": "addiction",
            "referral": "self_help",
            "resident": {"name": "Kurt"}
        });
        assert_eq!(
            minimise(&body),
            json!({"slot_id": "sl1", "starts_at": "2026-11-25T09:00:00Z", "ends_at": "2026-11-25T09:30:00Z"})
        );
    }

    #[test]
    fn nested_values_under_kept_names_and_non_objects_are_dropped() {
        assert_eq!(
            minimise(
                &json!({"status": {"name": "Erna"}, "village_id": ["v1"], "booking_code": "X"})
            ),
            json!({"booking_code": "X"})
        );
        assert_eq!(minimise(&json!("Erna Beispiel")), json!({}));
        assert_eq!(minimise(&json!([{"name": "Erna"}])), json!({}));
    }
}
