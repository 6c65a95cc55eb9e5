//! The API over real TLS: every resource can be created, read, listed, updated and cancelled;
//! creates are idempotent; logs are written; the OpenAPI document lists every resource.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestHub, ahead, fixture, id};

const SEGMENTS: [&str; 17] = [
    "regions",
    "villages",
    "stops",
    "destinations",
    "residents",
    "caregivers",
    "caregiver-links",
    "vehicles",
    "shifts",
    "ride-requests",
    "route-stops",
    "imbus-visits",
    "consultation-hours",
    "slots",
    "appointments",
    "devices",
    "accounts",
];

#[tokio::test]
async fn health_and_openapi_list_every_resource() {
    let hub = TestHub::start().await;
    let health = hub.client.get(hub.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().get("x-request-id").is_some());
    assert!(health.headers().get("strict-transport-security").is_some());
    // Answers stay out of caches unless a route serves public data (the timetable feeds).
    assert_eq!(health.headers()["cache-control"], "no-store");

    let doc = hub
        .client
        .get(hub.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    let doc: Value = doc.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for segment in SEGMENTS {
        let collection = &doc["paths"][format!("/api/v1/{segment}")];
        assert!(
            collection["get"].is_object() && collection["post"].is_object(),
            "{segment} collection"
        );
        let item = &doc["paths"][format!("/api/v1/{segment}/{{id}}")];
        for method in ["get", "patch", "delete"] {
            assert!(item[method].is_object(), "{segment} {method}");
        }
    }
    assert!(
        doc["components"]["schemas"]["RideRequest"]["properties"]["appointment_at"].is_object()
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    hub.stop().await;
}

#[tokio::test]
async fn every_resource_goes_through_create_read_list_update_cancel() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let day = f.day;
    let link = hub
        .create(
            "caregiver-links",
            json!({"region_id": f.region, "caregiver_id": f.caregiver,
                 "resident_id": f.resident, "consent_at": "2026-02-01T09:00:00Z"}),
        )
        .await;
    let shift = hub
        .create(
            "shifts",
            json!({"region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Uwe",
                 "starts_at": ahead(day, 7, 0), "ends_at": ahead(day, 15, 0),
                 "break_after": ahead(day, 11, 0), "break_minutes": 30}),
        )
        .await;
    let ride = hub
        .create("ride-requests", json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
                 "to_destination_id": f.destination, "appointment_at": ahead(day, 9, 30), "walker": true,
                 "channel": "phone"}))
        .await;
    // A shift runs that day: the ride is planned at once and answered with its pickup window.
    assert_eq!(ride["status"], "confirmed", "{ride:#}");
    assert!(ride["pickup_window_start"].is_string());
    assert_eq!(
        ride["village_id"],
        json!(f.village),
        "derived from the resident"
    );
    assert_eq!(ride["booked_by"], json!(format!("account:{}", hub.user)));
    let code = ride["booking_code"].as_str().unwrap();
    assert!(code.parse::<protocol::BookingCode>().is_ok(), "{code}");
    let back = hub
        .create("ride-requests", json!({"region_id": f.region, "resident_id": f.resident,
                 "from_destination_id": f.destination, "to_home": true, "pickup_at": ahead(day, 11, 0),
                 "return_of": ride["id"], "channel": "phone"}))
        .await;
    let route_stop = hub
        .create(
            "route-stops",
            json!({"region_id": f.region, "shift_id": shift["id"], "position": 0,
                 "ride_request_id": ride["id"], "kind": "pickup", "planned_at": ahead(day, 8, 50)}),
        )
        .await;
    let hours = hub
        .create(
            "consultation-hours",
            json!({"region_id": f.region, "device_id": f.device, "weekday": "tue",
                 "start_time": "10:00", "end_time": "12:00", "health_worker": "Schwester Petra",
                 "valid_from": "2026-12-01"}),
        )
        .await;
    let appointment = hub
        .create(
            "appointments",
            json!({"region_id": f.region, "slot_id": f.slot, "resident_id": f.resident,
                 "topic": "loneliness", "channel": "kiosk"}),
        )
        .await;
    assert_eq!(appointment["village_id"], json!(f.village));
    let account = hub
        .create(
            "accounts",
            json!({"region_id": f.region, "username": "disponent", "display_name": "Disponentin",
                 "role": "dispatcher"}),
        )
        .await;
    assert!(
        account.get("password_hash").is_some_and(Value::is_null),
        "no password through the API"
    );

    let records = [
        ("regions", f.region.clone()),
        ("villages", f.village.clone()),
        ("stops", f.stop.clone()),
        ("destinations", f.destination.clone()),
        ("residents", f.resident.clone()),
        ("caregivers", f.caregiver.clone()),
        ("caregiver-links", link["id"].as_str().unwrap().to_string()),
        ("vehicles", f.vehicle.clone()),
        ("shifts", shift["id"].as_str().unwrap().to_string()),
        ("ride-requests", back["id"].as_str().unwrap().to_string()),
        (
            "route-stops",
            route_stop["id"].as_str().unwrap().to_string(),
        ),
        ("imbus-visits", f.visit.clone()),
        (
            "consultation-hours",
            hours["id"].as_str().unwrap().to_string(),
        ),
        ("slots", f.slot.clone()),
        (
            "appointments",
            appointment["id"].as_str().unwrap().to_string(),
        ),
        ("devices", f.device.clone()),
        ("accounts", account["id"].as_str().unwrap().to_string()),
    ];
    assert_eq!(records.len(), SEGMENTS.len());
    // Update targets a field every record has or a field of its own, then cancel. Cancel the
    // dependents before what they depend on is not needed: nothing is deleted.
    let updates: [(&str, Value); 17] = [
        ("regions", json!({"phone": "05332 9999"})),
        ("villages", json!({"name": "Kneitlingen (Ampleben)"})),
        ("stops", json!({"step_free": false})),
        ("destinations", json!({"phone": "05332 1111"})),
        ("residents", json!({"uses_wheelchair": true})),
        ("caregivers", json!({"email": "jonas@example.org"})),
        (
            "caregiver-links",
            json!({"consent_at": "2026-03-01T09:00:00Z"}),
        ),
        ("vehicles", json!({"seats": 7})),
        ("shifts", json!({"driver_name": "Uwe K."})),
        ("ride-requests", json!({"passengers": 2})),
        ("route-stops", json!({"status": "done"})),
        ("imbus-visits", json!({"counsellor": "Herr Nowak"})),
        ("consultation-hours", json!({"end_time": "12:30"})),
        ("slots", json!({"ends_at": ahead(day, 9, 25)})),
        ("appointments", json!({"topic": "money"})),
        ("devices", json!({"settings": {"languages": ["de", "uk"]}})),
        ("accounts", json!({"display_name": "Disponentin Meyer"})),
    ];
    for ((segment, id), (segment2, patch)) in records.iter().zip(updates) {
        assert_eq!(segment, &segment2);
        let read = hub.get(&format!("/api/v1/{segment}/{id}")).await;
        assert_eq!(read.status, StatusCode::OK, "{segment}");
        assert_eq!(read.body["id"], json!(id));
        // Planner-owned records (route stops) may have moved since they were made.
        let version = read.body["version"].as_i64().unwrap();
        if *segment != "route-stops" {
            assert_eq!(version, 1, "{segment}");
        }

        let list = hub
            .get(&format!("/api/v1/{segment}?region={}", f.region))
            .await;
        assert_eq!(list.status, StatusCode::OK, "{segment}: {:#}", list.body);
        assert!(
            list.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|item| item["id"] == json!(id)),
            "{segment} list"
        );

        let updated = hub
            .call(
                Method::PATCH,
                &format!("/api/v1/{segment}/{id}"),
                Some(patch.clone()),
            )
            .await;
        assert_eq!(
            updated.status,
            StatusCode::OK,
            "{segment}: {:#}",
            updated.body
        );
        assert_eq!(updated.body["version"], version + 1, "{segment}");
        for (key, value) in patch.as_object().unwrap() {
            let stored = &updated.body[key];
            if key.ends_with("_at") {
                let want: chrono::DateTime<chrono::Utc> = value.as_str().unwrap().parse().unwrap();
                let got: chrono::DateTime<chrono::Utc> = stored.as_str().unwrap().parse().unwrap();
                assert_eq!(got, want, "{segment}.{key}");
            } else {
                assert_eq!(stored, value, "{segment}.{key}");
            }
        }
    }
    for (segment, id) in records.iter().rev() {
        let cancelled = hub
            .call(
                Method::DELETE,
                &format!("/api/v1/{segment}/{id}?reason=Test"),
                None,
            )
            .await;
        assert_eq!(
            cancelled.status,
            StatusCode::OK,
            "{segment}: {:#}",
            cancelled.body
        );
        let body = &cancelled.body;
        let gone = body["archived_at"].is_string()
            || matches!(body["status"].as_str(), Some("cancelled" | "revoked"));
        assert!(gone, "{segment}: {body:#}");
        // Cancelling again is harmless and changes nothing.
        let again = hub
            .call(Method::DELETE, &format!("/api/v1/{segment}/{id}"), None)
            .await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body["version"], body["version"], "{segment}");
    }
    let visit = hub.get(&format!("/api/v1/imbus-visits/{}", f.visit)).await;
    assert_eq!(
        visit.body["cancel_reason"], "Test",
        "the reason is kept to show residents"
    );
    hub.stop().await;
}

#[tokio::test]
async fn repeating_a_create_returns_the_first_answer_and_makes_nothing_new() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let ride_id = id();
    let body = json!({"id": ride_id, "region_id": f.region, "resident_id": f.resident, "from_stop_id": f.stop,
                      "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0), "channel": "kiosk"});
    let first = hub.post("/api/v1/ride-requests", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let rides = hub.count("ride_requests");
    let audits = hub.count("audit_log");
    for _ in 0..3 {
        let again = hub.post("/api/v1/ride-requests", body.clone()).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body, first.body, "the first answer, byte for byte");
    }
    assert_eq!(hub.count("ride_requests"), rides);
    assert_eq!(hub.count("audit_log"), audits, "a replay writes nothing");

    // The same id with other content is refused and changes nothing.
    let mut other = body.clone();
    other["appointment_at"] = json!(ahead(f.day, 10, 30));
    let clash = hub.post("/api/v1/ride-requests", other).await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(clash.content_type, "application/problem+json");
    let stored = hub.get(&format!("/api/v1/ride-requests/{ride_id}")).await;
    assert_eq!(stored.body["appointment_at"], first.body["appointment_at"]);
    hub.stop().await;
}

#[tokio::test]
async fn a_create_repeated_across_an_upgrade_that_added_fields_is_still_a_repeat() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let village = id();
    let body = json!({"id": village, "region_id": f.region, "name": "Groß Vahlberg",
                      "municipality": "Vahlberg", "lat": 52.11, "lon": 10.69});
    let first = hub.post("/api/v1/villages", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:#}", first.body);

    // As an older hub kept it: the answer without the IMBUS fields of migration 0010, and a hash
    // over fewer fields.
    let mut old_answer = first.body.clone();
    for added in ["imbus_every_weeks", "imbus_visit_minutes", "imbus_stop_id"] {
        old_answer.as_object_mut().unwrap().remove(added);
    }
    let (kind, entity, answer) = ("villages", village.clone(), old_answer.to_string());
    hub.store
        .blocking(move |c| {
            c.execute(
                "UPDATE idempotent_creates SET request_hash = 'older', response = ?3
                 WHERE kind = ?1 AND id = ?2",
                [kind, entity.as_str(), answer.as_str()],
            )?;
            Ok(())
        })
        .unwrap();
    let audits = hub.count("audit_log");

    // The same body again (the new fields take their defaults): the first answer, nothing written.
    let again = hub.post("/api/v1/villages", body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    assert_eq!(again.body, old_answer);
    assert_eq!(hub.count("audit_log"), audits);

    // A value for an added field that the record does not have is other content.
    let mut other = body.clone();
    other["imbus_every_weeks"] = json!(2);
    let clash = hub.post("/api/v1/villages", other).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{:#}", clash.body);
    // And so is a changed old field.
    let mut other = body;
    other["name"] = json!("Klein Vahlberg");
    let clash = hub.post("/api/v1/villages", other).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{:#}", clash.body);
    assert_eq!(hub.count("audit_log"), audits);
    hub.stop().await;
}

#[tokio::test]
async fn lists_page_and_filter() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    for i in 0..7 {
        hub.create("ride-requests", json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day + 7 * (i % 2), 10, 0),
                   "channel": "web"}))
            .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/ride-requests?limit=3&cursor={c}"),
            None => "/api/v1/ride-requests?limit=3".to_string(),
        };
        let page = hub.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|i| i["id"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    seen.dedup();
    assert_eq!(seen.len(), 7, "no record twice across pages");

    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(f.day)).to_string();
    let next = (chrono::Utc::now().date_naive() + chrono::Duration::days(f.day + 1)).to_string();
    let day = hub
        .get(&format!("/api/v1/ride-requests?from={date}&to={next}"))
        .await;
    assert_eq!(day.body["items"].as_array().unwrap().len(), 4);
    let by_village = hub
        .get(&format!(
            "/api/v1/ride-requests?village={}&status=requested",
            f.village
        ))
        .await;
    let requested: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM ride_requests WHERE status = 'requested'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(requested > 0);
    assert_eq!(
        by_village.body["items"].as_array().unwrap().len() as i64,
        requested
    );
    let none = hub.get("/api/v1/ride-requests?status=done").await;
    assert!(none.body["items"].as_array().unwrap().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn kiosk_visible_changes_feed_the_change_log_and_personal_reads_are_audited() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let changes = hub
        .get(&format!("/api/v1/regions/{}/changes", f.region))
        .await;
    assert_eq!(changes.status, StatusCode::OK);
    let items = changes.body["items"].as_array().unwrap();
    let seqs: Vec<i64> = items.iter().map(|i| i["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "gap-free and in order"
    );
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    for kind in [
        "regions",
        "villages",
        "stops",
        "destinations",
        "devices",
        "imbus_visits",
        "slots",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(
        !kinds.contains(&"residents"),
        "personal data never goes to kiosks through the change log"
    );
    let after = hub
        .get(&format!(
            "/api/v1/regions/{}/changes?after={}",
            f.region, seqs[2]
        ))
        .await;
    assert_eq!(after.body["items"][0]["seq"], seqs[3]);

    hub.get(&format!("/api/v1/residents/{}", f.resident)).await;
    let audit = hub.get("/api/v1/audit-log?limit=5").await;
    let newest = &audit.body["items"][0];
    assert_eq!(newest["action"], "read");
    assert_eq!(newest["kind"], "residents");
    assert_eq!(newest["entity_id"], json!(f.resident));
    assert_eq!(newest["actor"], json!(format!("account:{}", hub.user)));
    assert!(newest["request_id"].is_string());
    hub.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart_of_the_hub() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let hub = hub.restart().await;
    let village = hub.get(&format!("/api/v1/villages/{}", f.village)).await;
    assert_eq!(village.status, StatusCode::OK);
    assert_eq!(village.body["name"], "Kneitlingen");
    hub.stop().await;
}
