//! The screen's side of booking (`kiosk::frontend`): a ride draft becomes the way there and the
//! linked way back through the booking core against the in-process hub, with the appointment in
//! the region's time zone; an impossible local time stores nothing; a hub out of reach leaves
//! requests in the outbox; the screens' data comes from the replica.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use kiosk::core::{BookingStatus, Rider};
use kiosk::frontend::{Backend, RideOutcome, Shown};
use kiosk::sync::sync_once;
use kiosk::ui::ride::RideDraft;
use protocol::sync::{ChangeOp, OutboxKind};
use serde_json::{Value, json};

use crate::hub::Hub;
use crate::{open_store, runtime};

const REGION: &str = "r-elm";
const DEVICE: &str = "dev-1";
const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn draft(date: NaiveDate, time: NaiveTime, return_trip: bool) -> RideDraft {
    RideDraft {
        rider: Rider::Resident("p-17".into()),
        destination_id: "d-weber".into(),
        destination_name: "Praxis Dr. Weber".into(),
        date,
        appointment: time,
        walker: true,
        wheelchair: false,
        companion: true,
        return_trip,
    }
}

fn backend(store: kiosk::Store, hub: Arc<Hub>, runtime: &tokio::runtime::Runtime) -> Backend<Hub> {
    Backend {
        store,
        transport: hub,
        region_id: REGION.into(),
        device_id: DEVICE.into(),
        runtime: runtime.handle().clone(),
        answer_within: std::time::Duration::from_secs(5),
    }
}

/// The ride entries the hub was sent, in order, without repeats.
fn sent_rides(hub: &Hub) -> Vec<(uuid::Uuid, Value)> {
    let mut seen = Vec::new();
    for request in hub.requests() {
        for entry in request.outbox {
            if entry.kind == OutboxKind::RideRequest && !seen.iter().any(|(id, _)| *id == entry.id)
            {
                seen.push((entry.id, entry.body));
            }
        }
    }
    seen
}

#[test]
fn a_draft_books_the_way_there_by_the_local_appointment_and_the_linked_way_back() {
    let (_dir, _path, store) = open_store();
    let hub = Arc::new(Hub::new());
    let rt = runtime();
    let backend = backend(store, hub.clone(), &rt);
    let day = NaiveDate::from_ymd_opt(2030, 12, 3).expect("date");
    let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("time");

    let outcome = rt.block_on(backend.book_ride(&draft(day, nine, true), BERLIN));
    let RideOutcome::Booked { there, back } = outcome else {
        panic!("booked: {outcome:?}");
    };
    assert!(matches!(there.status, BookingStatus::Confirmed { .. }));
    let back = back.expect("the way back was booked");
    assert_ne!(back.code, there.code);

    let rides = sent_rides(&hub);
    assert_eq!(rides.len(), 2, "{rides:?}");
    let (first_id, first) = &rides[0];
    assert_eq!(*first_id, there.id);
    // 09:00 in Berlin in December is 08:00 UTC.
    assert_eq!(first["appointment_at"], json!("2030-12-03T08:00:00Z"));
    assert_eq!(first["to_destination_id"], json!("d-weber"));
    assert_eq!(first["from_home"], json!(true));
    assert_eq!(first["resident_id"], json!("p-17"));
    assert_eq!(first["passengers"], json!(2));
    assert_eq!(first["walker"], json!(true));
    assert!(first.get("return_of").is_none());
    let (second_id, second) = &rides[1];
    assert_eq!(*second_id, back.id);
    assert_eq!(second["return_of"], json!(there.id.to_string()));
    assert_eq!(second["from_destination_id"], json!("d-weber"));
    assert_eq!(second["to_home"], json!(true));
    assert_eq!(second["pickup_at"], json!("2030-12-03T09:00:00Z"));
    assert_eq!(second["resident_id"], json!("p-17"));
}

#[test]
fn a_time_the_clock_skips_stores_nothing_and_an_unreachable_hub_leaves_requests() {
    let (_dir, _path, store) = open_store();
    let hub = Arc::new(Hub::new());
    let rt = runtime();
    let backend = backend(store.clone(), hub.clone(), &rt);

    // 02:30 on the last Sunday of March 2031 does not exist in Berlin.
    let spring = NaiveDate::from_ymd_opt(2031, 3, 30).expect("date");
    let gap = NaiveTime::from_hms_opt(2, 30, 0).expect("time");
    let outcome = rt.block_on(backend.book_ride(&draft(spring, gap, true), BERLIN));
    assert!(matches!(outcome, RideOutcome::Impossible(_)), "{outcome:?}");
    assert_eq!(store.pending_count().expect("outbox"), 0);
    assert!(hub.requests().is_empty());

    hub.set_down(true);
    let day = NaiveDate::from_ymd_opt(2030, 12, 3).expect("date");
    let ten = NaiveTime::from_hms_opt(10, 0, 0).expect("time");
    let outcome = rt.block_on(backend.book_ride(&draft(day, ten, true), BERLIN));
    let RideOutcome::Booked { there, back } = outcome else {
        panic!("stored as requests: {outcome:?}");
    };
    assert!(matches!(there.status, BookingStatus::Requested { .. }));
    assert!(matches!(
        back.map(|b| b.status),
        Some(BookingStatus::Requested { .. })
    ));
    assert_eq!(store.pending_count().expect("outbox"), 2);

    // Back online, one sync delivers both, the way back still linked to the way there.
    hub.set_down(false);
    rt.block_on(sync_once(&store, hub.as_ref(), 500))
        .expect("sync");
    assert_eq!(store.pending_count().expect("outbox"), 0);
    let rides = sent_rides(&hub);
    assert_eq!(rides.len(), 2);
    assert_eq!(rides[1].1["return_of"], json!(there.id.to_string()));
}

#[test]
fn the_screens_show_the_village_zone_and_live_destinations_of_the_replica() {
    let (_dir, _path, store) = open_store();
    let hub = Hub::new();
    hub.publish(
        "regions",
        REGION,
        ChangeOp::Upsert,
        json!({"name": "Elm-Asse", "time_zone": "Europe/Berlin"}),
    );
    hub.publish(
        "villages",
        "v-kneit",
        ChangeOp::Upsert,
        json!({"region_id": REGION, "name": "Kneitlingen"}),
    );
    hub.publish(
        "devices",
        DEVICE,
        ChangeOp::Upsert,
        json!({"region_id": REGION, "village_id": "v-kneit", "stop_id": "s-1"}),
    );
    let place = |name: &str, category: &str, archived: Value| {
        json!({"region_id": REGION, "name": name, "category": category, "street": "Markt 1",
               "city": "Schöppenstedt", "archived_at": archived})
    };
    hub.publish(
        "destinations",
        "d-1",
        ChangeOp::Upsert,
        place("Praxis Weber", "Arzt", Value::Null),
    );
    hub.publish(
        "destinations",
        "d-2",
        ChangeOp::Upsert,
        place("Alte Praxis", "Arzt", json!("2030-01-01T00:00:00Z")),
    );
    let rt = runtime();

    let before = Shown::read(&store, REGION, DEVICE, Utc::now()).expect("reads");
    assert_eq!(before.village, "", "nothing before the first sync");
    assert!(before.destinations.is_empty());

    rt.block_on(sync_once(&store, &hub, 500)).expect("sync");
    // 23:30 UTC on 2 December is already 3 December in Berlin.
    let late = Utc
        .with_ymd_and_hms(2030, 12, 2, 23, 30, 0)
        .single()
        .expect("instant");
    let shown = Shown::read(&store, REGION, DEVICE, late).expect("reads");
    assert_eq!(shown.village, "Kneitlingen");
    assert_eq!(shown.tz, BERLIN);
    assert_eq!(
        shown.today,
        NaiveDate::from_ymd_opt(2030, 12, 3).expect("date")
    );
    let names: Vec<&str> = shown.destinations.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Praxis Weber"], "archived places are not offered");
}
