//! The kiosk sync exchange on a real hub: repeats are harmless, an id is answered once, bad
//! requests and entries change nothing, rides booked through sync get the planner's window,
//! changes come in ordered pages and never carry people, and counselling slot shares hold.

use chrono::Utc;
use hub::devices::DeviceIdentity;
use hub::store::StoreError;
use hub::store::logs::Who;
use hub::store::records;
use hub::sync::{ID_IN_USE, SAME_ID_OTHER_CONTENT, SLOT_TAKEN};
use protocol::BookingCode;
use protocol::sync::{
    AckOutcome, ChangeOp, MAX_CHANGES, OutboxEntry, OutboxKind, SyncRequest, SyncResponse,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::kiosk::Kiosk;
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
        created_at: "2026-11-23T07:30:00Z".into(),
        body,
    }
}

fn request(cursor: u64, outbox: Vec<OutboxEntry>, limit: u32) -> SyncRequest {
    SyncRequest {
        api_version: protocol::API_VERSION,
        cursor,
        outbox,
        limit,
    }
}

/// One exchange through the library, as the route runs it.
async fn exchange(
    hub: &TestHub,
    device: &DeviceIdentity,
    request: SyncRequest,
) -> Result<SyncResponse, StoreError> {
    let device = device.clone();
    hub.store
        .run(move |conn| hub::sync::exchange_on(conn, &device, &request, None, Utc::now()))
        .await
}

async fn send(hub: &TestHub, device: &DeviceIdentity, outbox: Vec<OutboxEntry>) -> SyncResponse {
    exchange(hub, device, request(0, outbox, 1))
        .await
        .expect("exchange")
}

/// Everything an exchange could write.
fn footprint(hub: &TestHub) -> Vec<i64> {
    [
        "ride_requests",
        "appointments",
        "call_backs",
        "route_stops",
        "device_writes",
        "audit_log",
        "change_log",
        "idempotent_creates",
        "slots",
    ]
    .iter()
    .map(|t| hub.count(t))
    .collect()
}

fn kiosk_ride(f: &Fixture, hh: u32, mm: u32) -> Value {
    json!({"resident_id": f.resident, "from_home": true, "to_destination_id": f.destination,
           "appointment_at": ahead(f.day, hh, mm), "walker": true})
}

async fn shift(hub: &TestHub, f: &Fixture) {
    hub.create(
        "shifts",
        json!({"id": id(), "region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Frau Peters",
               "starts_at": ahead(f.day, 7, 0), "ends_at": ahead(f.day, 16, 0)}),
    )
    .await;
}

/// A hub with the fixture, a shift on the fixture's day, and the fixture's kiosk.
async fn kiosk_day() -> (TestHub, Fixture, DeviceIdentity) {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f).await;
    let device = identity(&f);
    (hub, f, device)
}

async fn slot(hub: &TestHub, f: &Fixture, visit: &str, hh: u32, mm: u32) -> String {
    hub.create_id(
        "slots",
        json!({"region_id": f.region, "visit_id": visit, "starts_at": ahead(f.day, hh, mm),
               "ends_at": ahead(f.day, hh, mm + 20)}),
    )
    .await
}

/// Another kiosk; at the fixture's stop unless a stop is given.
async fn device(hub: &TestHub, f: &Fixture, stop: &str, village: &str) -> DeviceIdentity {
    let device_id = hub
        .create_id(
            "devices",
            json!({"region_id": f.region, "name": format!("Kiosk {}", id()), "stop_id": stop}),
        )
        .await;
    DeviceIdentity {
        device_id,
        region_id: f.region.clone(),
        village_id: village.to_string(),
    }
}

fn accepted(outcome: &AckOutcome) -> &Value {
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

#[tokio::test]
async fn a_ride_booked_through_sync_gets_the_planners_window() {
    let (hub, f, device) = kiosk_day().await;
    // The body as the kiosk's booking core writes it: the API's fields, region and channel too.
    let ride = entry(
        OutboxKind::RideRequest,
        json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0),
               "passengers": 1, "wheelchair": false, "walker": true, "channel": "kiosk"}),
    );

    let response = send(&hub, &device, vec![ride.clone()]).await;

    assert_eq!(response.acks.len(), 1);
    assert_eq!(response.acks[0].id, ride.id);
    let record = accepted(&response.acks[0].outcome);
    assert_eq!(record["status"], "confirmed", "{record:#}");
    assert_eq!(record["id"], ride.id.to_string());
    assert_eq!(
        record["booking_code"],
        BookingCode::from_uuid(ride.id).to_string()
    );
    let start: chrono::DateTime<Utc> = record["pickup_window_start"]
        .as_str()
        .expect("window start")
        .parse()
        .expect("instant");
    let end: chrono::DateTime<Utc> = record["pickup_window_end"]
        .as_str()
        .expect("window end")
        .parse()
        .expect("instant");
    assert!(start < end && (end - start).num_minutes() <= 15);
    for personal in [
        "resident_id",
        "booked_by",
        "caregiver_id",
        "walker",
        "notice",
    ] {
        assert!(record.get(personal).is_none(), "{personal} in {record:#}");
    }
    // Stored like any booking, as the device's, and planned on the shift.
    let booked_by = hub.text(
        "SELECT booked_by || '/' || channel FROM ride_requests WHERE id = ?1",
        &ride.id.to_string(),
    );
    assert_eq!(booked_by, Some(format!("device:{}/kiosk", f.device)));
    let stops = hub
        .store
        .blocking({
            let id = ride.id.to_string();
            move |c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM route_stops WHERE ride_request_id = ?1",
                    [&id],
                    |r| r.get::<_, i64>(0),
                )?)
            }
        })
        .expect("count");
    assert_eq!(stops, 2, "pickup and dropoff on the route");

    // Without a shift on that day the ride is a request, with the planner's reason.
    let late = entry(
        OutboxKind::RideRequest,
        json!({"resident_id": f.resident, "from_home": true, "to_destination_id": f.destination,
               "appointment_at": ahead(f.day + 7, 10, 0)}),
    );
    let response = send(&hub, &device, vec![late]).await;
    let record = accepted(&response.acks[0].outcome);
    assert_eq!(record["status"], "requested", "{record:#}");
    assert!(record["planning"].is_object(), "{record:#}");
    assert!(record["pickup_window_start"].is_null());
    hub.stop().await;
}

#[tokio::test]
async fn the_planners_later_answer_to_an_offline_booking_reaches_its_kiosk() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let device = identity(&f);
    let other = device_at_fixture(&hub, &f).await;
    // Booked while no shift was planned for that day: a request with the planner's reason.
    let ride = entry(OutboxKind::RideRequest, kiosk_ride(&f, 10, 0));
    let booked = exchange(&hub, &device, request(0, vec![ride.clone()], 1000))
        .await
        .expect("booked");
    assert_eq!(accepted(&booked.acks[0].outcome)["status"], "requested");
    let others_cursor = exchange(&hub, &other, request(0, vec![], 1000))
        .await
        .expect("other")
        .cursor;

    // The dispatcher adds a shift and the evening re-optimisation plans the ride.
    shift(&hub, &f).await;
    let store = hub.store.clone();
    let region = f.region.clone();
    let date = (Utc::now().with_timezone(&chrono_tz::Europe::Berlin)
        + chrono::Duration::days(f.day))
    .date_naive();
    let replanned = tokio::task::spawn_blocking(move || {
        hub::rides::replan(
            &store,
            &Who::system("evening-plan"),
            &region,
            date,
            Utc::now(),
            hub::rides::Effort::Iterations(300),
            7,
        )
    })
    .await
    .expect("task")
    .expect("replan");
    assert_eq!(replanned.served, 1);

    let later = exchange(&hub, &device, request(booked.cursor, vec![], 1000))
        .await
        .expect("later");
    let answer = later
        .changes
        .iter()
        .rev()
        .find(|c| c.kind == "ride_requests" && c.id == ride.id.to_string())
        .expect("the hub's later answer");
    assert!(
        ["confirmed", "planned"].contains(&answer.body["status"].as_str().unwrap_or_default()),
        "{:#}",
        answer.body
    );
    // A promise comes with a window; "planned" is on a route, its window still to come.
    if answer.body["status"] == "confirmed" {
        assert!(answer.body["pickup_window_start"].is_string());
    }
    assert!(answer.body["planning"].is_null(), "the reason is gone");
    assert_eq!(
        answer.body["booking_code"],
        BookingCode::from_uuid(ride.id).to_string()
    );
    // Another kiosk of the village is not told about it.
    let theirs = exchange(&hub, &other, request(others_cursor, vec![], 1000))
        .await
        .expect("other");
    assert!(theirs.changes.iter().all(|c| c.kind != "ride_requests"));
    assert_eq!(theirs.cursor, later.cursor, "but its cursor moves past it");
    hub.stop().await;
}

#[tokio::test]
async fn a_repeated_request_gets_identical_acks_and_no_duplicate_rows() {
    let (hub, f, device) = kiosk_day().await;
    let free = slot(&hub, &f, &f.visit, 10, 0).await;
    let outbox = vec![
        entry(OutboxKind::RideRequest, kiosk_ride(&f, 10, 0)),
        entry(
            OutboxKind::Appointment,
            json!({"slot_id": free, "topic": "money"}),
        ),
        entry(
            OutboxKind::CallBack,
            json!({"contact_name": "Erna Köhler", "contact_phone": "05332 123"}),
        ),
        entry(
            OutboxKind::RideRequest,
            json!({"resident_id": f.resident, "from_home": true, "to_destination_id": f.destination}),
        ),
    ];

    let first = exchange(&hub, &device, request(0, outbox.clone(), 1000))
        .await
        .expect("first");
    let after_first = footprint(&hub);
    let second = exchange(&hub, &device, request(0, outbox.clone(), 1000))
        .await
        .expect("second");

    assert_eq!(first.acks, second.acks, "the first answers again");
    let mut without_audit = footprint(&hub);
    let mut expected = after_first.clone();
    // Only the audit log grows on a repeat (nothing personal is read); here not even that.
    without_audit.remove(5);
    expected.remove(5);
    assert_eq!(without_audit, expected, "nothing written twice");
    assert_eq!(
        (hub.count("ride_requests"), hub.count("appointments")),
        (1, 1)
    );
    assert_eq!(hub.count("call_backs"), 1);
    assert_eq!(hub.count("device_writes"), 4, "the refusal is kept too");
    accepted(&first.acks[0].outcome);
    let appointment = accepted(&first.acks[1].outcome);
    assert_eq!(appointment["slot_id"], json!(free));
    assert_eq!(appointment["status"], "booked");
    assert!(appointment["starts_at"].is_string() && appointment["ends_at"].is_string());
    assert!(appointment.get("topic").is_none(), "{appointment:#}");
    accepted(&first.acks[2].outcome);
    let (status, _, field) = refusal(&first.acks[3].outcome);
    assert_eq!((status, field), (422, Some("appointment_at")));
    // The response's changes are the same page too.
    assert_eq!(first.changes, second.changes);
    assert_eq!(first.cursor, second.cursor);
    hub.stop().await;
}

#[tokio::test]
async fn the_same_id_with_other_content_or_of_another_writer_is_refused() {
    let (hub, f, device) = kiosk_day().await;
    let ride = entry(OutboxKind::RideRequest, kiosk_ride(&f, 10, 0));
    let first = send(&hub, &device, vec![ride.clone()]).await;
    let window = accepted(&first.acks[0].outcome)["pickup_window_start"].clone();
    let before = footprint(&hub);

    let mut changed = ride.clone();
    changed.body["appointment_at"] = json!(ahead(f.day, 11, 0));
    let mut other_kind = ride.clone();
    other_kind.kind = OutboxKind::CallBack;
    other_kind.body = json!({"contact_name": "Erna Köhler", "contact_phone": "05332 123"});
    let response = send(&hub, &device, vec![changed, other_kind]).await;
    for ack in &response.acks {
        let (status, title, _) = refusal(&ack.outcome);
        assert_eq!((status, title), (409, SAME_ID_OTHER_CONTENT));
    }
    assert_eq!(footprint(&hub), before, "nothing changed");
    // The first answer stays the answer to the first content.
    let again = send(&hub, &device, vec![ride.clone()]).await;
    assert_eq!(again.acks, first.acks);
    assert_eq!(
        hub.text(
            "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
            &ride.id.to_string()
        ),
        window.as_str().map(str::to_string)
    );

    // Another kiosk sending the same id, or an id the web used, is refused, not overwritten.
    let other = device_at_fixture(&hub, &f).await;
    let response = send(&hub, &other, vec![ride.clone()]).await;
    assert_eq!(refusal(&response.acks[0].outcome).1, ID_IN_USE);
    let web = hub
        .create(
            "ride-requests",
            json!({"id": id(), "region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day, 15, 0),
                   "channel": "web"}),
        )
        .await;
    let mut stolen = entry(OutboxKind::RideRequest, kiosk_ride(&f, 11, 0));
    stolen.id = web["id"].as_str().expect("id").parse().expect("uuid");
    let response = send(&hub, &device, vec![stolen.clone()]).await;
    assert_eq!(refusal(&response.acks[0].outcome).1, ID_IN_USE);
    assert_eq!(
        hub.text(
            "SELECT channel FROM ride_requests WHERE id = ?1",
            &stolen.id.to_string()
        ),
        Some("web".into())
    );
    hub.stop().await;
}

async fn device_at_fixture(hub: &TestHub, f: &Fixture) -> DeviceIdentity {
    device(hub, f, &f.stop, &f.village).await
}

#[tokio::test]
async fn bad_requests_are_refused_whole_and_change_nothing() {
    let (hub, f, device) = kiosk_day().await;
    // One exchange first, so the slot shares are in place and the footprint is settled.
    send(&hub, &device, vec![]).await;
    let before = footprint(&hub);
    let ride = || entry(OutboxKind::RideRequest, kiosk_ride(&f, 10, 0));

    let mut wrong_version = request(0, vec![ride()], 10);
    wrong_version.api_version = protocol::API_VERSION + 1;
    let too_many = request(0, (0..51).map(|_| ride()).collect(), 10);
    let limit_zero = request(0, vec![ride()], 0);
    let limit_high = request(0, vec![ride()], MAX_CHANGES + 1);
    let ahead_of_log = request(1_000_000, vec![ride()], 10);
    for (bad, field) in [
        (wrong_version, "api_version"),
        (too_many, "outbox"),
        (limit_zero, "limit"),
        (limit_high, "limit"),
        (ahead_of_log, "cursor"),
    ] {
        let err = exchange(&hub, &device, bad).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid { field: f, reason } if f == field && !reason.is_empty()),
            "{field}: {err:?}"
        );
        assert_eq!(footprint(&hub), before, "{field}: nothing changed");
    }
    hub.stop().await;
}

#[tokio::test]
async fn bad_entries_are_refused_with_their_field_and_change_nothing() {
    let (hub, f, device) = kiosk_day().await;
    send(&hub, &device, vec![]).await;
    let before = footprint(&hub);

    let mut unknown_field = kiosk_ride(&f, 10, 0);
    unknown_field["colour"] = json!("red");
    let mut other_region = kiosk_ride(&f, 10, 0);
    other_region["region_id"] = json!(id());
    let mut other_channel = kiosk_ride(&f, 10, 0);
    other_channel["channel"] = json!("web");
    let mut caregiver = kiosk_ride(&f, 10, 0);
    caregiver["caregiver_id"] = json!(f.caregiver);
    let mut past = kiosk_ride(&f, 10, 0);
    past["appointment_at"] = json!("2020-01-06T09:00:00Z");
    let mut closed = kiosk_ride(&f, 10, 0);
    closed["appointment_at"] = json!(ahead(f.day, 13, 0));
    let mut bad_time = entry(
        OutboxKind::CallBack,
        json!({"contact_name": "A", "contact_phone": "1"}),
    );
    bad_time.created_at = "yesterday".into();
    let cases = vec![
        (entry(OutboxKind::RideRequest, unknown_field), "colour"),
        (entry(OutboxKind::RideRequest, other_region), "region_id"),
        (entry(OutboxKind::RideRequest, other_channel), "channel"),
        (entry(OutboxKind::RideRequest, caregiver), "caregiver_id"),
        (entry(OutboxKind::RideRequest, past), "appointment_at"),
        (entry(OutboxKind::RideRequest, closed), "appointment_at"),
        (
            entry(OutboxKind::Appointment, json!({"slot_id": id()})),
            "slot_id",
        ),
        (
            entry(
                OutboxKind::Appointment,
                json!({"slot_id": f.slot, "topic": "diagnosis"}),
            ),
            "topic",
        ),
        (
            entry(OutboxKind::CallBack, json!({"topic": "money"})),
            "contact_phone",
        ),
        (
            entry(OutboxKind::CallBack, json!(["not", "an", "object"])),
            "body",
        ),
        (bad_time, "created_at"),
    ];
    let outbox: Vec<OutboxEntry> = cases.iter().map(|(e, _)| e.clone()).collect();
    let response = send(&hub, &device, outbox.clone()).await;
    for ((_, field), ack) in cases.iter().zip(&response.acks) {
        let (status, _, got) = refusal(&ack.outcome);
        assert_eq!((status, got), (422, Some(*field)), "{ack:?}");
    }
    let mut after = footprint(&hub);
    // Only the kept answers (device_writes) are new.
    assert_eq!(after[4] - before[4], cases.len() as i64);
    after[4] = before[4];
    assert_eq!(after, before, "no booking, no log line");
    // A repeat gets the same refusals.
    let again = send(&hub, &device, outbox).await;
    assert_eq!(again.acks, response.acks);
    hub.stop().await;
}

#[tokio::test]
async fn a_week_of_changes_comes_in_ordered_pages() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let device = identity(&f);
    let region = f.region.clone();
    let village = f.village.clone();
    hub.store
        .blocking(move |c| {
            let tx = c.transaction()?;
            for n in 0..2500 {
                let stop = hub::domain::Stop {
                    region_id: region.clone(),
                    village_id: village.clone(),
                    name: format!("Haltestelle {n}"),
                    lat: 52.13,
                    lon: 10.72,
                    step_free: true,
                };
                records::create_in(&tx, &Who::cli("test"), None, &stop)?;
            }
            tx.commit()?;
            Ok(())
        })
        .expect("stops");

    let mut cursor = 0;
    let mut pages = Vec::new();
    let mut stops = Vec::new();
    loop {
        let page = exchange(&hub, &device, request(cursor, vec![], 1000))
            .await
            .expect("page");
        assert!(page.changes.len() <= 1000);
        if let Some(first) = page.changes.first() {
            assert!(first.seq > cursor, "each page starts after the cursor");
        }
        for pair in page.changes.windows(2) {
            assert!(pair[0].seq < pair[1].seq, "ascending");
        }
        if let Some(last) = page.changes.last() {
            assert!(last.seq <= page.cursor);
        }
        stops.extend(
            page.changes
                .iter()
                .filter(|c| {
                    c.kind == "stops"
                        && c.body["name"]
                            .as_str()
                            .is_some_and(|n| n.starts_with("Haltestelle "))
                })
                .map(|c| c.body["name"].as_str().expect("name").to_string()),
        );
        pages.push((page.changes.len(), page.more));
        cursor = page.cursor;
        if !page.more {
            break;
        }
        assert!(pages.len() < 10, "paging ends");
    }
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!((pages[0], pages[1]), ((1000, true), (1000, true)));
    assert!(!pages[2].1);
    let expected: Vec<String> = (0..2500).map(|n| format!("Haltestelle {n}")).collect();
    assert_eq!(stops, expected, "every change once, in order");
    let last: i64 = hub
        .store
        .blocking(|c| Ok(c.query_row("SELECT max(seq) FROM change_log", [], |r| r.get(0))?))
        .expect("max");
    assert_eq!(cursor, last as u64);
    // At the end of the log the kiosk gets nothing and keeps its cursor.
    let level = exchange(&hub, &device, request(cursor, vec![], 1000))
        .await
        .expect("level");
    assert_eq!(
        (level.changes.len(), level.cursor, level.more),
        (0, cursor, false)
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_kiosk_never_gets_people_other_kiosks_or_others_bookings() {
    let (hub, f, device) = kiosk_day().await;
    let other = device_at_fixture(&hub, &f).await;
    hub.create(
        "residents",
        json!({"region_id": f.region, "name": "Wilhelmine Zabel", "street": "Am Anger 9",
               "phone": "05332 987654", "village_id": f.village, "lat": 52.133, "lon": 10.723,
               "birth_year": 1940, "consent_at": "2026-01-05T10:00:00+01:00",
               "consent_given_to": "DRK Fahrdienst", "consent_purpose": "Fahrten"}),
    )
    .await;
    hub.create(
        "accounts",
        json!({"region_id": f.region, "username": "zabel", "display_name": "Wilhelmine Zabel",
               "role": "dispatcher"}),
    )
    .await;
    hub.create(
        "consultation-hours",
        json!({"region_id": f.region, "device_id": other.device_id, "weekday": "tue",
               "start_time": "10:00", "end_time": "12:00", "health_worker": "Schwester Petra",
               "valid_from": "2026-12-01"}),
    )
    .await;
    let mine = hub
        .create(
            "consultation-hours",
            json!({"region_id": f.region, "device_id": f.device, "weekday": "wed",
                   "start_time": "10:00", "end_time": "12:00", "health_worker": "Schwester Anke",
                   "valid_from": "2026-12-01"}),
        )
        .await;
    hub.call(
        Method::PATCH,
        &format!("/api/v1/devices/{}", f.device),
        Some(
            json!({"settings": {"languages": ["de", "uk"],
                                  "opening_hours": [{"weekday": "mon", "open": "08:00", "close": "20:00"}],
                                  "screen_on": "06:00", "screen_off": "22:00"}}),
        ),
    )
    .await;
    // Bookings: the web's, the other kiosk's and this kiosk's own.
    let web = hub
        .create(
            "ride-requests",
            json!({"id": id(), "region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day, 15, 0),
                   "channel": "web"}),
        )
        .await;
    let theirs = entry(OutboxKind::RideRequest, kiosk_ride(&f, 11, 0));
    send(&hub, &other, vec![theirs.clone()]).await;
    let own = entry(OutboxKind::RideRequest, kiosk_ride(&f, 10, 0));
    send(&hub, &device, vec![own.clone()]).await;
    // The hub's later answer to the own booking: the dispatcher cancels it.
    let cancelled = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/ride-requests/{}", own.id),
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);

    let mut cursor = 0;
    let mut changes = Vec::new();
    loop {
        let page = exchange(&hub, &device, request(cursor, vec![], 100))
            .await
            .expect("page");
        changes.extend(page.changes);
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let text = serde_json::to_string(&changes).expect("json");
    for personal in [
        "Wilhelmine",
        "Zabel",
        "Am Anger",
        "987654",
        "Erna",
        "Lindenweg",
        &f.resident,
        &f.caregiver,
        "Frau Peters",
    ] {
        assert!(!text.contains(personal), "{personal} reached the kiosk");
    }
    for change in &changes {
        assert!(
            [
                "regions",
                "villages",
                "stops",
                "destinations",
                "imbus_visits",
                "slots",
                "devices",
                "consultation_hours",
                "ride_requests"
            ]
            .contains(&change.kind.as_str()),
            "{} reached the kiosk",
            change.kind
        );
        if change.kind == "devices" {
            assert_eq!(change.id, f.device, "only its own device record");
        }
        if change.kind == "consultation_hours" {
            assert_eq!(change.id, mine["id"].as_str().expect("id"));
        }
        if change.kind == "ride_requests" {
            assert_eq!(change.id, own.id.to_string(), "only its own bookings");
        }
    }
    assert!(!text.contains(web["id"].as_str().expect("id")));
    assert!(!text.contains(&theirs.id.to_string()));
    // Its remote settings arrive with its device record.
    let settings = changes
        .iter()
        .rev()
        .find(|c| c.kind == "devices")
        .map(|c| c.body["settings"].clone())
        .expect("own device record");
    assert_eq!(settings["languages"], json!(["de", "uk"]));
    // The later answer to its own booking: reduced to the ticket's fields.
    let answer = changes
        .iter()
        .rev()
        .find(|c| c.kind == "ride_requests")
        .expect("the answer to the own booking");
    assert_eq!(answer.op, ChangeOp::Upsert);
    assert_eq!(answer.body["status"], "cancelled");
    assert_eq!(
        answer.body["booking_code"],
        BookingCode::from_uuid(own.id).to_string()
    );
    let mut names: Vec<&str> = answer
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "appointment_at",
            "booking_code",
            "id",
            "pickup_at",
            "pickup_window_end",
            "pickup_window_start",
            "planning",
            "status"
        ]
    );
    hub.stop().await;
}

/// Slots of the fixture's visit by who holds them: (reserved for, booked).
fn slot_states(hub: &TestHub, visit: &str) -> Vec<(Option<String>, bool)> {
    let visit = visit.to_string();
    hub.store
        .blocking(move |c| {
            let mut stmt = c.prepare(
                "SELECT s.reserved_for_device_id, EXISTS (SELECT 1 FROM appointments a
                        WHERE a.slot_id = s.id AND a.status <> 'cancelled')
                 FROM slots s WHERE s.visit_id = ?1 ORDER BY s.starts_at",
            )?;
            let rows = stmt
                .query_map([&visit], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .expect("slots")
}

#[tokio::test]
async fn slot_shares_are_set_aside_once_and_booked_only_by_their_kiosk() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let device = identity(&f);
    // A visit of four slots, made before anyone sets shares.
    let visit = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": f.region, "village_id": f.village, "stop_id": f.stop,
                   "starts_at": ahead(f.day + 1, 9, 0), "ends_at": ahead(f.day + 1, 11, 0),
                   "counsellor": "Frau Aydin"}),
        )
        .await;
    let mut slots = Vec::new();
    for hh in [9, 10] {
        for mm in [0, 30] {
            let made = hub
                .create_id(
                    "slots",
                    json!({"region_id": f.region, "visit_id": visit,
                           "starts_at": ahead(f.day + 1, hh, mm), "ends_at": ahead(f.day + 1, hh, mm + 20)}),
                )
                .await;
            slots.push(made);
        }
    }
    assert!(slot_states(&hub, &visit).iter().all(|(r, _)| r.is_none()));

    // The kiosk's first sync sets aside half (the default share): the two latest slots.
    let first = exchange(&hub, &device, request(0, vec![], 1000))
        .await
        .expect("exchange");
    let mine = Some(f.device.clone());
    assert_eq!(
        slot_states(&hub, &visit),
        [
            (None, false),
            (None, false),
            (mine.clone(), false),
            (mine.clone(), false)
        ]
    );
    let reserved_changes = first
        .changes
        .iter()
        .filter(|c| c.kind == "slots" && c.body["reserved_for_device_id"] == json!(f.device))
        .count();
    assert!(reserved_changes >= 2, "the kiosk learns of its share");
    // Idempotent: again, nothing changes.
    let before = footprint(&hub);
    let again = hub
        .store
        .blocking({
            let visit = visit.clone();
            move |c| {
                let tx = c.transaction()?;
                let n = hub::sync::shares::assign_for_visit(&tx, &visit)?;
                tx.commit()?;
                Ok(n)
            }
        })
        .expect("assign");
    assert_eq!(again, 0);
    assert_eq!(footprint(&hub), before);

    // Web and phone cannot book a reserved slot; the refusal is a problem, not a failure.
    for channel in ["web", "phone"] {
        let answer = hub
            .post(
                "/api/v1/appointments",
                json!({"region_id": f.region, "slot_id": slots[3], "topic": "money", "channel": channel}),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:#}",
            answer.body
        );
        assert_eq!(answer.content_type, "application/problem+json");
        assert!(
            answer.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("set aside")),
            "{:#}",
            answer.body
        );
    }
    // Nor can another kiosk: for it the slot is taken.
    let other = device_at_fixture(&hub, &f).await;
    let response = send(
        &hub,
        &other,
        vec![entry(OutboxKind::Appointment, json!({"slot_id": slots[3]}))],
    )
    .await;
    assert_eq!(refusal(&response.acks[0].outcome).1, SLOT_TAKEN);
    // An unreserved slot is free for the web.
    hub.create(
        "appointments",
        json!({"region_id": f.region, "slot_id": slots[0], "topic": "money", "channel": "web"}),
    )
    .await;

    // The kiosk's own offline confirmation arrives late and is accepted.
    let mut offline = entry(
        OutboxKind::Appointment,
        json!({"slot_id": slots[3], "topic": "care"}),
    );
    offline.created_at = Utc::now()
        .checked_sub_signed(chrono::Duration::days(3))
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let response = send(&hub, &device, vec![offline]).await;
    let record = accepted(&response.acks[0].outcome);
    assert_eq!(record["slot_id"], json!(slots[3]));
    assert_eq!(record["status"], "booked");

    // A slot the web took first is refused to the kiosk as taken: a request, not a confirmation.
    let response = send(
        &hub,
        &device,
        vec![entry(OutboxKind::Appointment, json!({"slot_id": slots[0]}))],
    )
    .await;
    let (status, title, field) = refusal(&response.acks[0].outcome);
    assert_eq!((status, title, field), (409, SLOT_TAKEN, Some("slot_id")));
    assert_eq!(hub.count("appointments"), 2);
    hub.stop().await;
}

#[tokio::test]
async fn slot_shares_follow_the_region_setting_and_new_kiosks() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let patched = hub
        .call(
            Method::PATCH,
            &format!("/api/v1/regions/{}", f.region),
            Some(json!({"settings": {"kiosk_slot_share": 0.75}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    let visit = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": f.region, "village_id": f.village, "stop_id": f.stop,
                   "starts_at": ahead(f.day + 1, 9, 0), "ends_at": ahead(f.day + 1, 11, 0),
                   "counsellor": "Frau Aydin"}),
        )
        .await;
    for hh in [9, 10] {
        for mm in [0, 30] {
            slot_on(&hub, &f, &visit, hh, mm).await;
        }
    }
    // Two kiosks at the village share the three set-aside slots.
    let second = device_at_fixture(&hub, &f).await;
    let village = f.village.clone();
    let changed = hub
        .store
        .blocking(move |c| {
            let tx = c.transaction()?;
            let n = hub::sync::shares::assign_for_village(&tx, &village, Utc::now())?;
            tx.commit()?;
            Ok(n)
        })
        .expect("assign");
    assert!(changed >= 3);
    let states = slot_states(&hub, &visit);
    let count = |d: &str| {
        states
            .iter()
            .filter(|(r, _)| r.as_deref() == Some(d))
            .count()
    };
    assert_eq!(states.iter().filter(|(r, _)| r.is_some()).count(), 3);
    assert!(
        count(&f.device) >= 1 && count(&second.device_id) >= 1,
        "{states:?}"
    );
    hub.stop().await;
}

async fn slot_on(hub: &TestHub, f: &Fixture, visit: &str, hh: u32, mm: u32) -> String {
    hub.create_id(
        "slots",
        json!({"region_id": f.region, "visit_id": visit, "starts_at": ahead(f.day + 1, hh, mm),
               "ends_at": ahead(f.day + 1, hh, mm + 20)}),
    )
    .await
}

#[tokio::test]
async fn two_kiosks_racing_for_one_free_slot_get_it_once() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let first = identity(&f);
    let second = device_at_fixture(&hub, &f).await;
    // Settle the shares first so the raced slot stays unreserved.
    send(&hub, &first, vec![]).await;
    send(&hub, &second, vec![]).await;
    let free = slot(&hub, &f, &f.visit, 10, 0).await;
    let body = json!({"slot_id": free});
    let a = exchange(
        &hub,
        &first,
        request(0, vec![entry(OutboxKind::Appointment, body.clone())], 1),
    );
    let b = exchange(
        &hub,
        &second,
        request(0, vec![entry(OutboxKind::Appointment, body.clone())], 1),
    );
    let (a, b) = tokio::join!(a, b);
    let outcomes = [
        a.expect("a").acks[0].outcome.clone(),
        b.expect("b").acks[0].outcome.clone(),
    ];
    let won = outcomes
        .iter()
        .filter(|o| matches!(o, AckOutcome::Accepted { .. }))
        .count();
    assert_eq!(won, 1, "{outcomes:?}");
    let lost = outcomes
        .iter()
        .find(|o| matches!(o, AckOutcome::Refused { .. }))
        .expect("one refused");
    assert_eq!(refusal(lost).0, 409);
    assert_eq!(refusal(lost).1, SLOT_TAKEN);
    let booked = hub.text(
        "SELECT CAST(count(*) AS TEXT) FROM appointments WHERE slot_id = ?1",
        &free,
    );
    assert_eq!(booked.as_deref(), Some("1"));
    hub.stop().await;
}

#[tokio::test]
async fn the_sync_route_answers_over_mutual_tls_with_problems_for_bad_requests() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f).await;
    let url = hub.url(protocol::device::SYNC_PATH);

    // Without a client certificate the device layer refuses before the exchange.
    let anonymous = crate::common::answer(
        hub.client
            .post(&url)
            .json(&request(0, vec![], 10))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{:#}",
        anonymous.body
    );
    assert_eq!(anonymous.content_type, "application/problem+json");

    // Enrolled the way a real kiosk enrols (key pair, CSR, one-time code).
    let kiosk = Kiosk::enrol(&hub, &f.device).await.client;
    let post = |body: Value| {
        let request = kiosk.post(&url).json(&body);
        async move { crate::common::answer(request.send().await.expect("sent")).await }
    };
    let ride = entry(OutboxKind::RideRequest, kiosk_ride(&f, 10, 0));
    let answer =
        post(serde_json::to_value(request(0, vec![ride.clone()], 1000)).expect("json")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    let response: SyncResponse = serde_json::from_value(answer.body).expect("a sync response");
    assert_eq!(accepted(&response.acks[0].outcome)["status"], "confirmed");
    assert!(
        response
            .changes
            .iter()
            .any(|c| c.kind == "devices" && c.id == f.device)
    );
    assert!(!response.more);
    // The hub notes when the device last synced.
    let synced = hub.text("SELECT last_sync_at FROM devices WHERE id = ?1", &f.device);
    assert!(synced.is_some_and(|at| at.ends_with('Z')));
    // The same request again over the wire: the same acks.
    let again = post(serde_json::to_value(request(0, vec![ride], 1000)).expect("json")).await;
    let again: SyncResponse = serde_json::from_value(again.body).expect("a sync response");
    assert_eq!(again.acks, response.acks);
    assert_eq!(hub.count("ride_requests"), 1);

    let before = footprint(&hub);
    let mut wrong = serde_json::to_value(request(0, vec![], 10)).expect("json");
    wrong["api_version"] = json!(99);
    let answer = post(wrong).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(answer.body["field"], "api_version");

    let mut unreadable = serde_json::to_value(request(0, vec![], 10)).expect("json");
    unreadable["outbox"] =
        json!([{"id": "not-a-uuid", "kind": "ride_request", "created_at": "x", "body": {}}]);
    let answer = post(unreadable).await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        answer.body
    );
    assert!(
        answer.body["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("outbox"))
    );

    let answer = crate::common::answer(
        kiosk
            .post(&url)
            .header("content-type", "application/json")
            .body(vec![b' '; 200 * 1024])
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(footprint(&hub), before, "refused requests change nothing");
    hub.stop().await;
}
