//! Health worker mode end to end: a real `hub` process serving the demo region, a kiosk enrolled
//! with `kiosk enroll`, and the kiosk library's staff core over real mutual TLS: a wrong PIN
//! refused, a login listing today's appointment at this kiosk, an outcome through the outbox and
//! the sync landing in the hub once, and a login without the hub said to need it.

#[path = "kiosk_hub/harness.rs"]
#[allow(dead_code)]
mod harness;

use chrono::{SecondsFormat, Utc};
use harness::{Hub, Kiosk, free_port};
use hub::store::logs::Who;
use hub::store::records;
use kiosk::hub_client::{HubClient, Timeouts};
use kiosk::identity::Identity;
use kiosk::ui::staff::{LoginFailure, OutcomeDraft};
use protocol::staff::OutcomeStatus;
use serde_json::{Value, json};

fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("an object"),
    }
}

/// `minutes` from now, as UTC text: "today" wherever the region is, but around midnight.
fn from_now(minutes: i64) -> String {
    (Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A health worker "hanna" with PIN 246810, consultation hours at `device` and one appointment
/// of `resident` in them starting now, written through the hub's library into the running
/// hub's database. Returns the appointment's id.
fn health_worker_day(hub: &Hub, region: &str, device: &str, resident: &str) -> String {
    let store = hub::store::Store::open(&hub.dir.join("hub.db")).expect("hub.db opens");
    let who = Who::cli("e2e");
    let tomorrow = (Utc::now() + chrono::Duration::days(2)).date_naive();
    let at = |hh: u32| format!("{tomorrow}T{hh:02}:00:00Z");
    store
        .blocking(|c| {
            let account: hub::domain::Account = records::from_object(object(json!({
                "region_id": region, "username": "hanna", "display_name": "Hanna Demir",
                "role": "health_worker"})))?;
            let account = records::create(c, &who, None, &account)?.record;
            hub::staff::set_pin(c, &who, account["id"].as_str().expect("id"), "246810")?;
            let hours: hub::domain::ConsultationHours = records::from_object(object(json!({
                "region_id": region, "device_id": device, "weekday": "wed",
                "start_time": "08:00", "end_time": "12:00", "health_worker": "Hanna Demir",
                "valid_from": "2026-01-01"})))?;
            let hours = records::create(c, &who, None, &hours)?.record;
            let slot: hub::domain::Slot = records::from_object(object(json!({
                "region_id": region, "consultation_hours_id": hours["id"],
                "starts_at": at(9), "ends_at": at(10)})))?;
            let slot = records::create(c, &who, None, &slot)?.record;
            let booked: hub::domain::Appointment = records::from_object(object(json!({
                "region_id": region, "slot_id": slot["id"], "resident_id": resident,
                "topic": "health", "channel": "phone"})))?;
            let booked = records::create(c, &who, None, &booked)?.record;
            // The API books only ahead: move the slot to today.
            c.execute(
                "UPDATE slots SET starts_at = ?1, ends_at = ?2 WHERE id = ?3",
                [
                    &from_now(0),
                    &from_now(30),
                    slot["id"].as_str().expect("id"),
                ],
            )?;
            c.execute(
                "UPDATE appointments SET starts_at = ?1 WHERE id = ?2",
                [&from_now(0), booked["id"].as_str().expect("id")],
            )?;
            Ok(booked["id"].as_str().expect("id").to_string())
        })
        .expect("the health worker's day is set up")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_worker_logs_in_at_the_kiosk_and_the_outcome_reaches_the_hub() {
    let root = tempfile::tempdir().expect("temp dir");
    let hub = Hub::start(&root.path().join("hub"));
    let resident = hub.resident();
    let first_name = hub.one(&format!(
        "SELECT name FROM residents WHERE id = '{resident}'"
    ));
    let first_name = first_name
        .split_whitespace()
        .next()
        .expect("a name")
        .to_string();
    let kiosk_dir = root.path().join("kiosk");
    Kiosk::enrol(&hub, &kiosk_dir, "Kiosk Kneitlingen", "Kneitlingen");
    let identity = Identity::load(&kiosk_dir).expect("the kiosk's identity");
    let appointment = health_worker_day(&hub, &identity.region_id, &identity.device_id, &resident);

    let client = HubClient::for_device(&identity, Timeouts::default()).expect("a client");
    let wrong = kiosk::staff::login(&client, "hanna", "135790").await;
    assert_eq!(wrong.err(), Some(LoginFailure::Refused));
    let session = kiosk::staff::login(&client, "hanna", "246810")
        .await
        .expect("the login opens a session");
    assert_eq!(session.display_name, "Hanna Demir");
    assert_eq!(session.appointments.len(), 1, "{:?}", session.appointments);
    assert_eq!(session.appointments[0].id, appointment);
    assert_eq!(
        session.appointments[0].first_name.as_deref(),
        Some(first_name.as_str())
    );

    // The replica brings the region's categories; the outcome goes through outbox and sync.
    let store = kiosk::Store::open(&kiosk_dir.join(kiosk::DATABASE_FILE)).expect("kiosk.db");
    kiosk::sync::sync_once(&store, &client, 500)
        .await
        .expect("the kiosk syncs");
    let categories =
        kiosk::staff::referral_categories(&store, &identity.region_id).expect("replica");
    assert!(
        categories.contains(&"social_counselling".to_string()),
        "{categories:?}"
    );
    let draft = OutcomeDraft {
        session_id: session.session_id.to_string(),
        appointment_id: appointment.clone(),
        status: OutcomeStatus::Attended,
        topic: "money",
        referral: Some("social_counselling".into()),
    };
    kiosk::staff::record_outcome(&store, &draft).expect("in the outbox");
    assert_eq!(store.pending_count().expect("count"), 1);
    kiosk::sync::sync_once(&store, &client, 500)
        .await
        .expect("the kiosk syncs");
    assert_eq!(store.pending_count().expect("count"), 0);
    assert_eq!(
        hub.one(&format!(
            "SELECT status || ' ' || topic || ' ' || referral FROM appointments
             WHERE id = '{appointment}'"
        )),
        "attended money social_counselling"
    );
    assert_eq!(
        hub.one(
            "SELECT CAST(count(*) AS TEXT) FROM device_writes WHERE kind = 'appointment_outcome'"
        ),
        "1"
    );
    // Only the status stays on the kiosk once the hub answered.
    let kept = hub_free_body(&kiosk_dir);
    assert!(
        !kept.contains("money") && !kept.contains("social_counselling"),
        "{kept}"
    );

    // Without the hub there is no login.
    let mut away = identity.clone();
    away.hub_url = format!("https://127.0.0.1:{}", free_port());
    let offline = HubClient::for_device(&away, Timeouts::default()).expect("a client");
    assert_eq!(
        kiosk::staff::login(&offline, "hanna", "246810").await.err(),
        Some(LoginFailure::Offline)
    );
}

/// The outcome entry's body and answer as the kiosk keeps them.
fn hub_free_body(kiosk_dir: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(kiosk_dir.join(kiosk::DATABASE_FILE)).expect("kiosk.db");
    conn.query_row(
        "SELECT body || ' ' || COALESCE(answer, '') FROM outbox WHERE kind = 'appointment_outcome'",
        [],
        |r| r.get(0),
    )
    .expect("the outcome entry")
}
