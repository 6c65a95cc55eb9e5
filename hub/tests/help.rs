//! "Hilfe finden" and "Meine Buchung" on the hub: the needs a destination helps with (checked on
//! create, update and import, sent to kiosks with the destination), and a kiosk's cancellation by
//! booking code through the real sync path (rides and appointments, booked at the kiosk or
//! elsewhere; unknown codes, repeats, bookings that took place, another region's codes).

use chrono::Utc;
use hub::devices::DeviceIdentity;
use hub::import::{ImportError, Source, import_sources};
use hub::store::logs::Who;
use hub::sync::cancel::{ALREADY_DONE, UNKNOWN_CODE};
use protocol::BookingCode;
use protocol::sync::{AckOutcome, OutboxEntry, OutboxKind, SyncRequest, SyncResponse};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Fixture, TestHub, ahead, fixture, id};

fn identity(f: &Fixture) -> DeviceIdentity {
    DeviceIdentity {
        device_id: f.device.clone(),
        region_id: f.region.clone(),
        village_id: f.village.clone(),
    }
}

fn entry(kind: OutboxKind, body: Value) -> OutboxEntry {
    OutboxEntry {
        id: Uuid::new_v4(),
        kind,
        created_at: "2026-12-02T10:30:00Z".into(),
        body,
    }
}

fn cancel(code: &str) -> OutboxEntry {
    entry(OutboxKind::Cancel, json!({ "booking_code": code }))
}

/// One exchange from `cursor` through the library, as the sync route runs it.
async fn exchange_from(
    hub: &TestHub,
    device: &DeviceIdentity,
    cursor: u64,
    outbox: Vec<OutboxEntry>,
) -> SyncResponse {
    let device = device.clone();
    let request = SyncRequest {
        api_version: protocol::API_VERSION,
        cursor,
        outbox,
        limit: 1000,
    };
    hub.store
        .run(move |conn| hub::sync::exchange_on(conn, &device, &request, None, Utc::now()))
        .await
        .expect("exchange")
}

/// The hub's answer to one entry.
async fn answer(hub: &TestHub, device: &DeviceIdentity, e: &OutboxEntry) -> AckOutcome {
    let response = exchange_from(hub, device, 0, vec![e.clone()]).await;
    assert_eq!(response.acks.len(), 1);
    response.acks[0].outcome.clone()
}

fn record(outcome: &AckOutcome) -> &Value {
    match outcome {
        AckOutcome::Accepted { record } => record,
        refused => panic!("expected accepted, got {refused:?}"),
    }
}

fn refusal(outcome: &AckOutcome) -> (u16, &str, Option<&str>) {
    match outcome {
        AckOutcome::Refused {
            status,
            title,
            field,
            ..
        } => (*status, title.as_str(), field.as_deref()),
        accepted => panic!("expected refused, got {accepted:?}"),
    }
}

fn status_of(hub: &TestHub, table: &str, id: &str) -> (String, Option<String>) {
    let sql = if table == "ride_requests" {
        "SELECT status, outcome FROM ride_requests WHERE id = ?1"
    } else {
        "SELECT status, NULL FROM appointments WHERE id = ?1"
    };
    let id = id.to_string();
    hub.store
        .blocking(move |c| Ok(c.query_row(sql, [&id], |r| Ok((r.get(0)?, r.get(1)?)))?))
        .expect("a booking")
}

fn destination(f: &Fixture, helps_with: Value) -> Value {
    json!({"region_id": f.region, "name": "Suchtberatung Wolfenbüttel", "category": "counselling",
           "street": "Harzstraße 24", "postcode": "38300", "city": "Wolfenbüttel",
           "lat": 52.155, "lon": 10.542, "phone": "05331 881910",
           "opening_hours": [{"weekday": "tue", "open": "09:00", "close": "12:00"}],
           "helps_with": helps_with})
}

#[tokio::test]
async fn a_destination_helps_with_known_needs_each_once_and_kiosks_get_them() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let before = hub.count("destinations");
    let cases = [
        (json!("alcohol"), "helps_with"),
        (json!({"alcohol": true}), "helps_with"),
        (json!([1]), "helps_with[0]"),
        (json!([null]), "helps_with[0]"),
        (json!(["alcohol", "gambling"]), "helps_with[1]"),
        (json!(["Alcohol"]), "helps_with[0]"),
        (json!(["dementia", "anxiety", "dementia"]), "helps_with[2]"),
        (json!(vec!["loneliness"; 5000]), "helps_with[1]"),
        (json!(["x".repeat(100_000)]), "helps_with[0]"),
    ];
    for (helps_with, field) in cases {
        let shown = helps_with.to_string().chars().take(60).collect::<String>();
        let refused = hub
            .post("/api/v1/destinations", destination(&f, helps_with))
            .await;
        assert!(
            refused.status == StatusCode::UNPROCESSABLE_ENTITY
                || refused.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{shown}: {} {:#}",
            refused.status,
            refused.body
        );
        if refused.status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(refused.body["field"], field, "{shown}: {:#}", refused.body);
        }
    }
    assert_eq!(hub.count("destinations"), before, "nothing was written");

    // Without the field: helps with nothing listed.
    let plain = hub.create("destinations", destination(&f, json!([]))).await;
    assert_eq!(plain["helps_with"], json!([]));
    let made = hub
        .create(
            "destinations",
            destination(&f, json!(["alcohol", "anxiety", "family_strain"])),
        )
        .await;
    assert_eq!(
        made["helps_with"],
        json!(["alcohol", "anxiety", "family_strain"])
    );
    let id = made["id"].as_str().expect("id");

    // An update is held to the same rule and changes nothing when refused.
    let path = format!("/api/v1/destinations/{id}");
    let bad = hub
        .call(
            Method::PATCH,
            &path,
            Some(json!({"helps_with": ["alcohol", "debts"]})),
        )
        .await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        bad.body
    );
    assert_eq!(bad.body["field"], "helps_with[1]");
    let good = hub
        .call(
            Method::PATCH,
            &path,
            Some(json!({"helps_with": ["homelessness"]})),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{:#}", good.body);
    assert_eq!(
        hub.get(&path).await.body["helps_with"],
        json!(["homelessness"])
    );

    // Kiosks get the needs with the destination, through the change log.
    let page = exchange_from(&hub, &identity(&f), 0, vec![]).await;
    let shown: Vec<&Value> = page
        .changes
        .iter()
        .filter(|c| c.kind == "destinations" && c.id == id)
        .map(|c| &c.body)
        .collect();
    assert_eq!(
        shown.last().map(|b| &b["helps_with"]),
        Some(&json!(["homelessness"])),
        "{shown:#?}"
    );
    hub.stop().await;
}

const CSV: &str = "name,category,street,postcode,city,lat,lon,phone,opening_hours,helps_with
Suchtberatung,counselling,Harzstraße 24,38300,Wolfenbüttel,52.155,10.542,05331 881910,Di 09:00-12:00,\"alcohol, anxiety\"
Hausarzt,general_practice,Markt 3,38170,Schöppenstedt,52.143,10.775,05332 1234,Mo 08:00-12:00,
";

#[tokio::test]
async fn the_import_reads_the_needs_column_and_refuses_unknown_needs_with_the_line() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let who = Who::cli("import");
    let before = hub.count("destinations");
    let bad = CSV.replace("\"alcohol, anxiety\"", "alcohol;gambling");
    let source = Source::from_text("destinations.csv", &bad).expect("a source");
    match import_sources(&hub.store, &f.region, &[source], &who) {
        Err(ImportError::Rejected(problems)) => {
            assert_eq!(problems.len(), 1, "{problems:?}");
            let text = problems[0].to_string();
            assert!(
                text.contains(":2") && text.contains("gambling"),
                "names the line and the code: {text}"
            );
            assert_eq!(problems[0].field.as_deref(), Some("helps_with"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(hub.count("destinations"), before, "nothing was imported");

    let source = Source::from_text("destinations.csv", CSV).expect("a source");
    import_sources(&hub.store, &f.region, &[source], &who).expect("the import");
    let needs: Vec<String> = hub
        .store
        .blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT helps_with FROM destinations WHERE name IN ('Suchtberatung', 'Hausarzt')
                 ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .expect("query");
    assert_eq!(needs, ["[]", r#"["alcohol","anxiety"]"#]);
    hub.stop().await;
}

#[tokio::test]
async fn a_kiosk_cancels_a_ride_by_its_code_once_and_for_good() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let device = identity(&f);
    // Booked on the web: the resident only holds the ticket's code.
    let ride = hub
        .create(
            "ride-requests",
            json!({"id": id(), "region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0),
                   "channel": "web"}),
        )
        .await;
    let ride_id = ride["id"].as_str().expect("id");
    let code = ride["booking_code"].as_str().expect("code");

    // Lower case with spaces is the same code, as the ticket's reader types it.
    let typed = code.to_lowercase().replace('-', " ");
    let first = cancel(&typed);
    let outcome = answer(&hub, &device, &first).await;
    let cancelled = record(&outcome);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled:#}");
    assert_eq!(cancelled["cancelled"], "ride_requests");
    assert_eq!(
        cancelled["outcome"], "cancelled",
        "two days ahead is in time"
    );
    assert!(
        cancelled.get("booking_code").is_none() && cancelled.get("resident_id").is_none(),
        "no code (the kiosk keeps its entry's own) and nobody's data: {cancelled:#}"
    );
    assert_eq!(
        status_of(&hub, "ride_requests", ride_id),
        ("cancelled".into(), Some("cancelled".into()))
    );
    // Through the domain code: audited as the device.
    let actor: String = hub
        .store
        .blocking({
            let id = ride_id.to_string();
            move |c| {
                Ok(c.query_row(
                    "SELECT actor FROM audit_log WHERE entity_id = ?1 AND action = 'cancel'",
                    [&id],
                    |r| r.get(0),
                )?)
            }
        })
        .expect("an audit line");
    assert_eq!(actor, format!("device:{}", f.device));

    // The same entry again: the first answer, nothing written.
    let audit = hub.count("audit_log");
    assert_eq!(answer(&hub, &device, &first).await, outcome);
    assert_eq!(hub.count("audit_log"), audit);
    // A second cancellation (another tap, another kiosk) gets the same word.
    let again = answer(&hub, &device, &cancel(code)).await;
    assert_eq!(record(&again)["status"], "cancelled");
    assert_eq!(
        hub.count("audit_log"),
        audit,
        "cancelling twice changes nothing"
    );

    // The same id with another code is refused, as for any entry.
    let mut other = first.clone();
    other.body = json!({"booking_code": BookingCode::from_uuid(Uuid::new_v4()).to_string()});
    let (status, _, _) = refusal(&answer(&hub, &device, &other).await);
    assert_eq!(status, 409);
    hub.stop().await;
}

#[tokio::test]
async fn a_late_cancellation_counts_as_late() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let patched = hub
        .call(
            Method::PATCH,
            &format!("/api/v1/regions/{}", f.region),
            Some(json!({"settings": {"late_cancel_hours": 168}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    let ride = hub
        .create(
            "ride-requests",
            json!({"id": id(), "region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0),
                   "channel": "phone"}),
        )
        .await;
    let code = ride["booking_code"].as_str().expect("code");
    let outcome = answer(&hub, &identity(&f), &cancel(code)).await;
    assert_eq!(record(&outcome)["outcome"], "late_cancellation");
    hub.stop().await;
}

#[tokio::test]
async fn a_kiosk_cancels_an_appointment_it_booked_and_the_slot_is_free_again() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let device = identity(&f);
    let booking = entry(
        OutboxKind::Appointment,
        json!({"slot_id": f.slot, "topic": "loneliness", "channel": "kiosk"}),
    );
    let booked = answer(&hub, &device, &booking).await;
    assert_eq!(record(&booked)["status"], "booked", "{booked:?}");
    let code = BookingCode::from_uuid(booking.id).to_string();

    let response = exchange_from(&hub, &device, 0, vec![cancel(&code)]).await;
    let cancelled = record(&response.acks[0].outcome);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelled"], "appointments");
    assert_eq!(
        status_of(&hub, "appointments", &booking.id.to_string()).0,
        "cancelled"
    );
    // The booking kiosk hears of it through its change log (its "Meine Buchung" shows it).
    let later = exchange_from(&hub, &device, response.cursor, vec![]).await;
    assert!(
        later
            .changes
            .iter()
            .chain(&response.changes)
            .any(|c| c.kind == "appointments"
                && c.id == booking.id.to_string()
                && c.body["status"] == "cancelled"),
        "{:#?}",
        later.changes
    );
    // The slot can be booked again.
    let rebook = entry(OutboxKind::Appointment, json!({"slot_id": f.slot}));
    assert_eq!(
        record(&answer(&hub, &device, &rebook).await)["status"],
        "booked"
    );
    hub.stop().await;
}

#[tokio::test]
async fn unknown_done_and_other_regions_codes_are_refused_and_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let theirs = fixture(&hub, 1).await;
    let device = identity(&f);
    let ride_in = |f: &Fixture| {
        json!({"id": id(), "region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0),
               "channel": "web"})
    };
    let elsewhere = hub.create("ride-requests", ride_in(&theirs)).await;
    let done = hub.create("ride-requests", ride_in(&f)).await;
    let done_id = done["id"].as_str().expect("id").to_string();
    hub.store
        .blocking({
            let id = done_id.clone();
            move |c| {
                c.execute(
                    "UPDATE ride_requests SET status = 'done' WHERE id = ?1",
                    [&id],
                )?;
                Ok(())
            }
        })
        .expect("the ride took place");
    // One exchange first, so the slot shares are in place and the counts are settled.
    exchange_from(&hub, &device, 0, vec![]).await;
    let before: Vec<i64> = ["ride_requests", "appointments", "audit_log", "change_log"]
        .iter()
        .map(|t| hub.count(t))
        .collect();
    let statuses = || {
        hub.store
            .blocking(|c| {
                let mut stmt = c.prepare("SELECT id || status FROM ride_requests ORDER BY id")?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .expect("statuses")
    };
    let rides_before = statuses();

    // A code whose check character is wrong: one character mistyped.
    let valid = BookingCode::from_uuid(Uuid::from_u128(7)).to_string();
    let last = valid.chars().last().expect("a code");
    let mistyped = format!(
        "{}{}",
        &valid[..valid.len() - 1],
        if last == '2' { '3' } else { '2' }
    );
    let code = |c: &Value| c["booking_code"].as_str().expect("code").to_string();
    let invalid = "Invalid input";
    let cases = [
        (cancel(&code(&elsewhere)), 404, UNKNOWN_CODE, "booking_code"),
        (
            cancel(&BookingCode::from_uuid(Uuid::new_v4()).to_string()),
            404,
            UNKNOWN_CODE,
            "booking_code",
        ),
        (cancel(&code(&done)), 409, ALREADY_DONE, "booking_code"),
        (cancel(&mistyped), 422, invalid, "booking_code"),
        (cancel("not a code"), 422, invalid, "booking_code"),
        (cancel(&"A".repeat(10_000)), 422, invalid, "booking_code"),
        (
            entry(OutboxKind::Cancel, json!({"booking_code": 42})),
            422,
            invalid,
            "booking_code",
        ),
        (
            entry(OutboxKind::Cancel, json!({})),
            422,
            invalid,
            "booking_code",
        ),
        (
            entry(
                OutboxKind::Cancel,
                json!({"booking_code": code(&done), "resident_id": f.resident}),
            ),
            422,
            invalid,
            "resident_id",
        ),
    ];
    for (e, status, title, field) in cases {
        let outcome = answer(&hub, &device, &e).await;
        assert_eq!(
            refusal(&outcome),
            (status, title, Some(field)),
            "{:?}",
            e.body
        );
        // Asked again, the same answer.
        assert_eq!(answer(&hub, &device, &e).await, outcome);
    }
    let after: Vec<i64> = ["ride_requests", "appointments", "audit_log", "change_log"]
        .iter()
        .map(|t| hub.count(t))
        .collect();
    assert_eq!(after, before, "nothing changed");
    assert_eq!(statuses(), rides_before);
    assert_eq!(
        status_of(&hub, "ride_requests", elsewhere["id"].as_str().expect("id")).0,
        "requested"
    );
    hub.stop().await;
}
