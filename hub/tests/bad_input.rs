//! Bad input gets a clear problem document (field and reason) and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Answer, TestHub, ahead, fixture, id};

/// Asserts an RFC 9457 problem with this status (and field, when given).
fn assert_problem(answer: &Answer, status: StatusCode, field: Option<&str>) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(answer.body["status"], status.as_u16());
    assert!(
        answer.body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:dorfpunkt:problem:"))
    );
    assert!(answer.body["title"].is_string());
    if let Some(field) = field {
        assert_eq!(answer.body["field"], field, "{:#}", answer.body);
        assert!(
            answer.body["reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
}

/// Everything a refused request could have written.
fn footprint(hub: &TestHub) -> Vec<i64> {
    [
        "regions",
        "villages",
        "stops",
        "destinations",
        "residents",
        "vehicles",
        "ride_requests",
        "appointments",
        "audit_log",
        "change_log",
        "idempotent_creates",
    ]
    .iter()
    .map(|t| hub.count(t))
    .collect()
}

fn ride(f: &crate::common::Fixture) -> Value {
    json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
           "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0), "channel": "kiosk"})
}

#[tokio::test]
async fn wrong_types_missing_fields_and_unknown_fields_name_the_field() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let before = footprint(&hub);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "villages",
            json!({"region_id": f.region, "name": "X", "municipality": "X", "lat": "north", "lon": 10.7}),
            "lat",
        ),
        (
            "villages",
            json!({"region_id": f.region, "municipality": "X", "lat": 52.1, "lon": 10.7}),
            "name",
        ),
        (
            "villages",
            json!({"region_id": f.region, "name": "X", "municipality": "X", "lat": 52.1, "lon": 10.7, "colour": "red"}),
            "colour",
        ),
        (
            "villages",
            json!({"region_id": f.region, "name": "X", "municipality": "X", "lat": 95.0, "lon": 10.7}),
            "lat",
        ),
        (
            "villages",
            json!({"region_id": f.region, "name": "", "municipality": "X", "lat": 52.1, "lon": 10.7}),
            "name",
        ),
        (
            "vehicles",
            json!({"region_id": f.region, "name": "Bus", "seats": -2, "depot_name": "D", "depot_lat": 52.0, "depot_lon": 10.0}),
            "seats",
        ),
        (
            "vehicles",
            json!({"region_id": f.region, "name": "Bus", "seats": 0, "depot_name": "D", "depot_lat": 52.0, "depot_lon": 10.0}),
            "seats",
        ),
        (
            "destinations",
            json!({"region_id": f.region, "name": "Praxis", "category": "general_practice", "street": "A 1",
            "postcode": "38170", "city": "S", "lat": 52.1, "lon": 10.7,
            "opening_hours": [{"weekday": "mon", "open": "8 Uhr", "close": "12:00"}]}),
            "opening_hours[0].open",
        ),
        (
            "destinations",
            json!({"region_id": f.region, "name": "Praxis", "category": "bakery", "street": "A 1",
            "postcode": "38170", "city": "S", "lat": 52.1, "lon": 10.7}),
            "category",
        ),
        (
            "residents",
            json!({"region_id": f.region, "name": "A", "street": "B 1", "village_id": f.village, "lat": 52.1,
            "lon": 10.7, "language": "xx", "consent_at": "2026-01-01T00:00:00Z", "consent_given_to": "DRK",
            "consent_purpose": "Fahrten"}),
            "language",
        ),
        (
            "ride-requests",
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": "yes",
            "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0), "channel": "kiosk"}),
            "from_home",
        ),
        (
            "ride-requests",
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
            "to_destination_id": f.destination, "appointment_at": "tomorrow at ten", "channel": "kiosk"}),
            "appointment_at",
        ),
        (
            "ride-requests",
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
            "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0), "channel": "pigeon"}),
            "channel",
        ),
        (
            "ride-requests",
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
            "to_destination_id": f.destination, "channel": "kiosk"}),
            "appointment_at",
        ),
        (
            "regions",
            json!({"name": "X", "time_zone": "Mars/Olympus"}),
            "time_zone",
        ),
        (
            "villages",
            json!({"id": "not-a-uuid", "region_id": f.region, "name": "X", "municipality": "X", "lat": 52.1, "lon": 10.7}),
            "id",
        ),
        (
            "villages",
            json!({"region_id": f.region, "name": "x".repeat(501), "municipality": "X", "lat": 52.1, "lon": 10.7}),
            "name",
        ),
    ];
    for (segment, body, field) in cases {
        let answer = hub.post(&format!("/api/v1/{segment}"), body).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    assert_eq!(footprint(&hub), before, "refused requests wrote nothing");
    hub.stop().await;
}

#[tokio::test]
async fn unknown_ids_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let before = footprint(&hub);
    let unknown = id();
    let mut body = ride(&f);
    body["resident_id"] = json!(unknown);
    assert_problem(
        &hub.post("/api/v1/ride-requests", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("resident_id"),
    );
    let mut body = ride(&f);
    body["to_destination_id"] = json!(unknown);
    assert_problem(
        &hub.post("/api/v1/ride-requests", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("to_destination_id"),
    );
    let mut body = ride(&f);
    body["region_id"] = json!(unknown);
    assert_problem(
        &hub.post("/api/v1/ride-requests", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("region_id"),
    );
    assert_problem(
        &hub.get(&format!("/api/v1/ride-requests/{unknown}")).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &hub.call(
            Method::PATCH,
            &format!("/api/v1/villages/{unknown}"),
            Some(json!({"name": "Y"})),
        )
        .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &hub.call(Method::DELETE, &format!("/api/v1/stops/{unknown}"), None)
            .await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &hub.get(&format!("/api/v1/regions/{unknown}/changes")).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &hub.get("/api/v1/spaceships").await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &hub.call(Method::PUT, "/api/v1/villages", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        None,
    );

    // A record of another region cannot be referenced.
    let other = hub.create("regions", json!({"name": "Asse-Nord"})).await;
    let mut body = ride(&f);
    body["region_id"] = other["id"].clone();
    assert_problem(
        &hub.post("/api/v1/ride-requests", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("resident_id"),
    );
    assert_eq!(
        footprint(&hub)[0],
        before[0] + 1,
        "only the second region was added"
    );
    hub.stop().await;
}

#[tokio::test]
async fn unreadable_bodies_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let before = footprint(&hub);
    let path = "/api/v1/villages";
    let malformed = hub
        .send_raw(
            Method::POST,
            path,
            "application/json",
            b"{\"name\": \"Dahlum\",".to_vec(),
        )
        .await;
    assert_problem(&malformed, StatusCode::BAD_REQUEST, None);
    assert!(
        malformed.body["detail"]
            .as_str()
            .unwrap()
            .contains("line 1")
    );
    let latin1 = hub
        .send_raw(
            Method::POST,
            path,
            "application/json",
            b"{\"name\": \"Sch\xf6ppenstedt\"}".to_vec(),
        )
        .await;
    assert_problem(&latin1, StatusCode::BAD_REQUEST, None);
    assert!(latin1.body["detail"].as_str().unwrap().contains("UTF-8"));
    let array = hub
        .send_raw(Method::POST, path, "application/json", b"[]".to_vec())
        .await;
    assert_problem(&array, StatusCode::BAD_REQUEST, None);
    let form = hub
        .send_raw(
            Method::POST,
            path,
            "application/x-www-form-urlencoded",
            b"name=x".to_vec(),
        )
        .await;
    assert_problem(&form, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
    let mut big =
        json!({"region_id": f.region, "name": "X", "municipality": "X", "lat": 52.1, "lon": 10.7});
    big["padding"] = json!("x".repeat(70 * 1024));
    let too_large = hub
        .send_raw(
            Method::POST,
            path,
            "application/json",
            big.to_string().into_bytes(),
        )
        .await;
    assert_problem(&too_large, StatusCode::PAYLOAD_TOO_LARGE, None);
    let bad_query = hub.get("/api/v1/villages?limit=lots").await;
    assert_problem(&bad_query, StatusCode::UNPROCESSABLE_ENTITY, Some("limit"));
    assert_eq!(footprint(&hub), before);
    hub.stop().await;
}

#[tokio::test]
async fn impossible_rides_are_refused_with_the_reason() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let before = footprint(&hub);

    // Drop-off (the appointment) before the pickup.
    let mut body = ride(&f);
    body["pickup_at"] = json!(ahead(f.day, 10, 30));
    assert_problem(
        &hub.post("/api/v1/ride-requests", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("appointment_at"),
    );

    // Appointment outside the destination's opening hours (12:00-14:00 is the lunch break).
    let mut body = ride(&f);
    body["appointment_at"] = json!(ahead(f.day, 13, 0));
    let answer = hub.post("/api/v1/ride-requests", body).await;
    assert_problem(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("appointment_at"),
    );
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("opening hours")
    );

    // In the past.
    let mut body = ride(&f);
    body["appointment_at"] = json!("2020-03-02T10:00:00+01:00");
    assert_problem(
        &hub.post("/api/v1/ride-requests", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("appointment_at"),
    );

    // A wheelchair passenger when no vehicle of the region has a wheelchair place.
    let mut body = ride(&f);
    body["wheelchair"] = json!(true);
    let answer = hub.post("/api/v1/ride-requests", body).await;
    assert_problem(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("wheelchair"),
    );
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("wheelchair place")
    );

    // A shift that ends before it starts.
    let shift = json!({"region_id": f.region, "vehicle_id": f.vehicle, "starts_at": ahead(f.day, 15, 0), "ends_at": ahead(f.day, 7, 0)});
    assert_problem(
        &hub.post("/api/v1/shifts", shift).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("ends_at"),
    );
    assert_eq!(footprint(&hub), before);

    // With a wheelchair place in the region the same ride is accepted.
    hub.create(
        "vehicles",
        json!({"region_id": f.region, "name": "Rollstuhlbus", "seats": 4, "wheelchair_places": 2,
                "depot_name": "DRK", "depot_lat": 52.14, "depot_lon": 10.77}),
    )
    .await;
    let mut body = ride(&f);
    body["wheelchair"] = json!(true);
    hub.create("ride-requests", body).await;
    hub.stop().await;
}

#[tokio::test]
async fn a_slot_is_never_booked_twice() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let booking = json!({"region_id": f.region, "slot_id": f.slot, "resident_id": f.resident, "topic": "care", "channel": "kiosk"});
    let first = hub.create("appointments", booking.clone()).await;
    let before = footprint(&hub);
    let second = hub.post("/api/v1/appointments", booking.clone()).await;
    assert_problem(&second, StatusCode::CONFLICT, None);
    assert_eq!(footprint(&hub), before);

    // Two callers at once: exactly one gets the slot.
    let free = hub
        .create(
            "slots",
            json!({"region_id": f.region, "visit_id": f.visit,
                         "starts_at": ahead(f.day, 10, 0), "ends_at": ahead(f.day, 10, 20)}),
        )
        .await;
    let attempt = |topic: &'static str| {
        let body =
            json!({"region_id": f.region, "slot_id": free["id"], "topic": topic, "channel": "web"});
        hub.post("/api/v1/appointments", body)
    };
    let (a, b) = tokio::join!(attempt("money"), attempt("housing"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);

    // After a cancellation the slot is free again.
    hub.call(
        Method::DELETE,
        &format!("/api/v1/appointments/{}", first["id"].as_str().unwrap()),
        None,
    )
    .await;
    hub.create("appointments", booking).await;
    hub.stop().await;
}

#[tokio::test]
async fn updates_are_validated_like_creates() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let before = footprint(&hub);
    let path = format!("/api/v1/villages/{}", f.village);
    let cases = [
        (json!({"lat": "x"}), "lat"),
        (json!({"population": 3}), "population"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"region_id": id()}), "region_id"),
        (json!({"name": null}), "name"),
    ];
    for (patch, field) in cases {
        assert_problem(
            &hub.call(Method::PATCH, &path, Some(patch)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(field),
        );
    }
    assert_eq!(footprint(&hub), before);
    let village = hub.get(&path).await;
    assert_eq!(village.body["version"], 1);
    hub.stop().await;
}

#[tokio::test]
async fn credentials_are_required() {
    let hub = TestHub::start().await;
    let anonymous = crate::common::answer(
        hub.client
            .get(hub.url("/api/v1/villages"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, None);
    let wrong = hub
        .client
        .get(hub.url("/api/v1/villages"))
        .basic_auth(&hub.user, Some("not-the-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("www-authenticate").is_some());
    hub.stop().await;
}
