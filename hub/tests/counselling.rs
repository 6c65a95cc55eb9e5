//! Counselling at IMBUS visits on a real hub over TLS: the counsellor's day view (own visits only,
//! first names only, audited), walk-ins and outcomes (counsellor only, once started, repeat-safe),
//! the waiting list taking a freed slot on the API's and the kiosk's cancel (and refusing to
//! take anyone while a slot is free), notices to caregivers on a cancelled or moved visit (of
//! booked and of waiting residents, whose entries end with a cancel), anonymous statistics with
//! small counts withheld (JSON and CSV), the last slot booked twice at once, and bad input
//! changing nothing.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hub::devices::DeviceIdentity;
use protocol::sync::{AckOutcome, OutboxEntry, OutboxKind, SyncRequest};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Answer, Fixture, TestHub, ahead, answer, fixture, id};

const PASSWORD: &str = "pass-of-the-account";

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Everything a counselling request could write.
fn footprint(hub: &TestHub) -> Vec<i64> {
    [
        "appointments",
        "walk_ins",
        "waiting_list",
        "notices",
        "audit_log",
        "idempotent_creates",
        "change_log",
    ]
    .iter()
    .map(|t| hub.count(t))
    .collect()
}

/// An account of the fixture's region with a password; returns its id.
async fn account(hub: &TestHub, f: &Fixture, username: &str, role: &str) -> String {
    let mut body = json!({"id": id(), "region_id": f.region, "username": username,
                          "display_name": username, "role": role});
    if role == "caregiver" {
        body["caregiver_id"] = json!(f.caregiver);
    }
    let made = hub.create_id("accounts", body).await;
    hub::accounts::set_password(&hub.store, username, PASSWORD).expect("password");
    made
}

/// A request as `user`.
async fn call_as(
    hub: &TestHub,
    user: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = hub
        .client
        .request(method, hub.url(path))
        .basic_auth(user, Some(PASSWORD));
    if let Some(body) = body {
        req = req.json(&body);
    }
    answer(req.send().await.expect("request sent")).await
}

/// An IMBUS counsellor of the region, linked to `account` if given.
fn counsellor(hub: &TestHub, f: &Fixture, name: &str, account: Option<&str>) -> String {
    let counsellor = id();
    let now = stamp(Utc::now());
    hub.store
        .blocking(|c| {
            c.execute(
                "INSERT INTO imbus_counsellors (id, region_id, name, account_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                rusqlite::params![counsellor, f.region, name, account, now],
            )?;
            Ok(())
        })
        .expect("counsellor");
    counsellor
}

/// A visit on the fixture's day (ahead) at `hh`:00 for two hours, by `counsellor`.
async fn visit(hub: &TestHub, f: &Fixture, day: i64, hh: u32, counsellor: Option<&str>) -> String {
    let visit = hub
        .create_id(
            "imbus-visits",
            json!({"id": id(), "region_id": f.region, "village_id": f.village, "stop_id": f.stop,
                   "starts_at": ahead(day, hh, 0), "ends_at": ahead(day, hh + 2, 0),
                   "counsellor": "Frau Aydin"}),
        )
        .await;
    if let Some(counsellor) = counsellor {
        hub.exec(
            "UPDATE imbus_visits SET counsellor_id = ?1 WHERE id = ?2",
            &[counsellor, &visit],
        );
    }
    visit
}

/// A slot of `visit` at `hh:mm` on `day` for 20 minutes.
async fn slot(hub: &TestHub, f: &Fixture, visit: &str, day: i64, hh: u32, mm: u32) -> String {
    let starts = ahead(day, hh, mm);
    let ends = (DateTime::parse_from_rfc3339(&starts).expect("instant") + Duration::minutes(20))
        .to_rfc3339();
    hub.create_id(
        "slots",
        json!({"id": id(), "region_id": f.region, "visit_id": visit,
               "starts_at": starts, "ends_at": ends}),
    )
    .await
}

/// An appointment on `slot` for `resident` booked by phone.
async fn book(hub: &TestHub, f: &Fixture, slot: &str, resident: &str, topic: &str) -> Value {
    hub.create(
        "appointments",
        json!({"id": id(), "region_id": f.region, "slot_id": slot, "resident_id": resident,
               "topic": topic, "channel": "phone"}),
    )
    .await
}

/// Another resident of the fixture's village.
async fn resident(hub: &TestHub, f: &Fixture, name: &str) -> String {
    hub.create_id(
        "residents",
        json!({"id": id(), "region_id": f.region, "name": name, "street": "Am Anger 2",
               "village_id": f.village, "lat": 52.132, "lon": 10.722,
               "consent_at": "2026-01-05T10:00:00+01:00", "consent_given_to": "DRK",
               "consent_purpose": "Beratung"}),
    )
    .await
}

/// Links `caregiver` to `resident`.
async fn link(hub: &TestHub, f: &Fixture, caregiver: &str, resident: &str) {
    hub.create(
        "caregiver-links",
        json!({"id": id(), "region_id": f.region, "caregiver_id": caregiver,
               "resident_id": resident, "consent_at": "2026-01-05T10:00:00+01:00"}),
    )
    .await;
}

/// The accounts "berater" (health worker, linked to the counsellor "Frau Aydin", who takes the
/// fixture's visit), "zweite" (health worker) and "kuemmerer" (caregiver); answers Frau Aydin's
/// counsellor id.
async fn counselling_staff(hub: &TestHub, f: &Fixture) -> String {
    let worker = account(hub, f, "berater", "health_worker").await;
    account(hub, f, "zweite", "health_worker").await;
    account(hub, f, "kuemmerer", "caregiver").await;
    let mine = counsellor(hub, f, "Frau Aydin", Some(&worker));
    hub.exec(
        "UPDATE imbus_visits SET counsellor_id = ?1 WHERE id = ?2",
        &[&mine, &f.visit],
    );
    mine
}

/// Moves a visit later by `by` through the API (PATCH, two hours long, with `reason`) and
/// answers its old start.
async fn move_visit_by(hub: &TestHub, visit: &str, by: Duration, reason: &str) -> DateTime<Utc> {
    let start = hub.visit_start(visit);
    let moved = hub
        .call(
            Method::PATCH,
            &format!("/api/v1/imbus-visits/{visit}"),
            Some(json!({"starts_at": stamp(start + by),
                        "ends_at": stamp(start + by + Duration::hours(2)),
                        "change_reason": reason})),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:#}", moved.body);
    start
}

/// DELETE `path`: cancels an appointment or a visit.
async fn cancel(hub: &TestHub, path: &str) -> Answer {
    hub.call(Method::DELETE, path, None).await
}

/// Cancels a booked appointment (as `book` answered it).
async fn cancel_booking(hub: &TestHub, booked: &Value) -> Answer {
    let id = booked["id"].as_str().expect("id");
    cancel(hub, &format!("/api/v1/appointments/{id}")).await
}

/// Withdraws a waiting entry as the hub's administrator.
async fn withdraw(hub: &TestHub, entry: &str) -> Answer {
    let path = format!("/api/v1/waiting-list/{entry}/withdraw");
    hub.call(Method::POST, &path, None).await
}

/// The `items` of a list answer.
fn items_of(answer: &Answer) -> Vec<Value> {
    answer.body["items"].as_array().expect("items").clone()
}

/// Moves a visit with its slots and appointments so that it starts at `start` (SQL: the API
/// books only ahead).
fn move_visit(hub: &TestHub, visit: &str, start: DateTime<Utc>) {
    let old = hub.visit_start(visit);
    let delta = (start - old).num_seconds().to_string();
    let shift = |column: &str| {
        format!("{column} = strftime('%Y-%m-%dT%H:%M:%SZ', unixepoch({column}) + ?2, 'unixepoch')")
    };
    hub.exec(&format!(
            "UPDATE appointments SET {} WHERE slot_id IN (SELECT id FROM slots WHERE visit_id = ?1)",
            shift("starts_at")
        ),
        &[visit, &delta],
    );
    hub.exec(
        &format!(
            "UPDATE slots SET {}, {} WHERE visit_id = ?1",
            shift("starts_at"),
            shift("ends_at")
        ),
        &[visit, &delta],
    );
    hub.exec(
        &format!(
            "UPDATE imbus_visits SET {}, {} WHERE id = ?1",
            shift("starts_at"),
            shift("ends_at")
        ),
        &[visit, &delta],
    );
}

/// Now minus `minutes`, to the whole minute.
fn minutes_ago(minutes: i64) -> DateTime<Utc> {
    let now = Utc::now() - Duration::minutes(minutes);
    now - Duration::seconds(chrono::Timelike::second(&now) as i64)
}

fn berlin_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%d")
        .to_string()
}

fn uuid() -> String {
    Uuid::new_v4().to_string()
}

#[tokio::test]
async fn the_day_view_shows_the_counsellor_their_visits_with_first_names_only() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    counselling_staff(&hub, &f).await;
    account(&hub, &f, "fahrer", "driver").await;
    let theirs = counsellor(&hub, &f, "Herr Brandt", None);
    let free = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    let taken = slot(&hub, &f, &f.visit, f.day, 9, 40).await;
    let booked = book(&hub, &f, &taken, &f.resident, "money").await;
    let other = visit(&hub, &f, f.day, 13, Some(&theirs)).await;
    slot(&hub, &f, &other, f.day, 13, 0).await;
    let start = minutes_ago(60);
    move_visit(&hub, &f.visit, start);
    move_visit(&hub, &other, start + Duration::minutes(1));
    let date = berlin_date(start);

    let audit = hub.count("audit_log");
    let day = call_as(
        &hub,
        "berater",
        Method::GET,
        &format!("/api/v1/counselling/day?date={date}"),
        None,
    )
    .await;
    assert_eq!(day.status, StatusCode::OK, "{:#}", day.body);
    let visits = day.body["visits"].as_array().expect("visits");
    assert_eq!(visits.len(), 1, "{:#}", day.body);
    let shown = &visits[0];
    assert_eq!(shown["id"], json!(f.visit));
    assert_eq!(shown["village"], "Kneitlingen");
    assert_eq!(shown["stop"], "Dorfplatz");
    assert_eq!(shown["counsellor"], "Frau Aydin");
    let local = start.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(
        shown["local_start"],
        json!(local.format("%H:%M").to_string())
    );
    let slots = shown["slots"].as_array().expect("slots");
    assert_eq!(slots.len(), 3, "{:#}", shown);
    assert_eq!(slots[0]["id"], json!(f.slot));
    assert_eq!(slots[0]["state"], "free");
    assert_eq!(slots[0]["kiosk_share"], true);
    assert_eq!(slots[1]["id"], json!(free));
    assert_eq!(slots[2]["state"], "booked");
    assert_eq!(slots[2]["appointment"]["id"], booked["id"]);
    assert_eq!(slots[2]["appointment"]["first_name"], "Erna");
    assert_eq!(slots[2]["appointment"]["topic"], "money");
    assert_eq!(slots[2]["appointment"]["status"], "booked");
    let whole = day.body.to_string();
    assert!(!whole.contains("Köhler"), "no surnames: {whole}");
    assert!(!whole.contains(&f.resident), "no resident ids: {whole}");
    assert_eq!(hub.count("audit_log"), audit + 1, "the read is audited");
    assert_eq!(
        hub.text(
            "SELECT actor || ' ' || action || ' ' || kind FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log) AND ?1 = ?1",
            "x"
        )
        .as_deref(),
        Some("account:berater list appointments")
    );

    // Another counsellor's visits are not the health worker's to see; all of them an admin's.
    let refused = call_as(
        &hub,
        "berater",
        Method::GET,
        &format!("/api/v1/counselling/day?date={date}&counsellor_id={theirs}"),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:#}", refused.body);
    for user in ["zweite", "kuemmerer", "fahrer"] {
        let refused = call_as(
            &hub,
            user,
            Method::GET,
            &format!("/api/v1/counselling/day?date={date}"),
            None,
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{user}: {:#}",
            refused.body
        );
    }
    let all = hub
        .get(&format!("/api/v1/counselling/day?date={date}"))
        .await;
    assert_eq!(all.status, StatusCode::OK, "{:#}", all.body);
    let ids: Vec<&Value> = all.body["visits"]
        .as_array()
        .expect("visits")
        .iter()
        .map(|v| &v["id"])
        .collect();
    assert_eq!(ids, vec![&json!(f.visit), &json!(other)], "in time order");
    let one = hub
        .get(&format!(
            "/api/v1/counselling/day?date={date}&counsellor_id={theirs}"
        ))
        .await;
    assert_eq!(one.body["visits"].as_array().expect("visits").len(), 1);
    assert_eq!(one.body["visits"][0]["id"], json!(other));
    let unknown = hub
        .get(&format!(
            "/api/v1/counselling/day?date={date}&counsellor_id={}",
            id()
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{:#}", unknown.body);
    let empty = hub.get("/api/v1/counselling/day?date=2030-01-07").await;
    assert_eq!(empty.body["visits"], json!([]));

    for bad in [
        "",
        "?date=2026-02-30",
        "?date=2026-2-3",
        "?date=heute",
        "?date=2026-12-02&x=1",
    ] {
        let before = footprint(&hub);
        let answer = hub.get(&format!("/api/v1/counselling/day{bad}")).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {:#}",
            answer.body
        );
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(footprint(&hub), before, "{bad}");
    }
    hub.stop().await;
}

/// Checks that the answer to `what` has `status` and, where given, names `field`.
fn refused_naming(answer: &Answer, what: &str, status: StatusCode, field: Option<&str>) {
    assert_eq!(answer.status, status, "{what}: {:#}", answer.body);
    if let Some(field) = field {
        assert_eq!(
            answer.body["field"],
            json!(field),
            "{what}: {:#}",
            answer.body
        );
    }
}

/// Records walk-ins as `user`.
async fn walk_in_as(hub: &TestHub, user: &str, body: Value) -> Answer {
    call_as(
        hub,
        user,
        Method::POST,
        "/api/v1/counselling/walk-ins",
        Some(body),
    )
    .await
}

#[tokio::test]
async fn walk_ins_are_counted_once_by_topic_and_only_at_started_visits() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let mine = counselling_staff(&hub, &f).await;
    let future = visit(&hub, &f, f.day + 1, 9, Some(&mine)).await;
    let called_off = visit(&hub, &f, f.day + 1, 13, Some(&mine)).await;
    let start = minutes_ago(30);
    move_visit(&hub, &f.visit, start);
    move_visit(&hub, &called_off, start);
    let cancelled = cancel(
        &hub,
        &format!("/api/v1/imbus-visits/{called_off}?reason=Krank"),
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);

    let entry = uuid();
    let body = json!({"id": entry, "visit_id": f.visit, "topic": "health", "count": 3});
    let first = walk_in_as(&hub, "berater", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:#}", first.body);
    assert_eq!(first.body["count"], 3);
    let audit = hub.count("audit_log");
    let again = walk_in_as(&hub, "berater", body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    assert_eq!(again.body, first.body, "a repeat gets the first answer");
    let mut other = body.clone();
    other["count"] = json!(4);
    let clash = walk_in_as(&hub, "berater", other).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{:#}", clash.body);
    assert_eq!(hub.count("walk_ins"), 1);
    assert_eq!(hub.count("audit_log"), audit, "repeats write nothing");
    let admin = hub
        .post(
            "/api/v1/counselling/walk-ins",
            json!({"id": uuid(), "visit_id": f.visit, "topic": "health", "count": 2}),
        )
        .await;
    assert_eq!(admin.status, StatusCode::CREATED, "{:#}", admin.body);
    let care = walk_in_as(
        &hub,
        "berater",
        json!({"id": uuid(), "visit_id": f.visit, "topic": "care", "count": 1}),
    )
    .await;
    assert_eq!(care.status, StatusCode::CREATED, "{:#}", care.body);
    let day = call_as(
        &hub,
        "berater",
        Method::GET,
        &format!("/api/v1/counselling/day?date={}", berlin_date(start)),
        None,
    )
    .await;
    let shown = day.body["visits"]
        .as_array()
        .expect("visits")
        .iter()
        .find(|v| v["id"] == json!(f.visit))
        .expect("the visit")
        .clone();
    assert_eq!(shown["walk_ins"], json!({"care": 1, "health": 5}));

    let v = &f.visit;
    // Each refused with 422, naming the field.
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"id": uuid(), "visit_id": future, "topic": "health", "count": 1}),
            "visit_id",
        ),
        (
            json!({"id": uuid(), "visit_id": called_off, "topic": "health", "count": 1}),
            "visit_id",
        ),
        (
            json!({"id": uuid(), "visit_id": id(), "topic": "health", "count": 1}),
            "visit_id",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": 0}),
            "count",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": 51}),
            "count",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": -1}),
            "count",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": "3"}),
            "count",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": 1.5}),
            "count",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "diagnosis", "count": 1}),
            "topic",
        ),
        (json!({"id": uuid(), "visit_id": v, "count": 1}), "topic"),
        (
            json!({"id": uuid(), "topic": "health", "count": 1}),
            "visit_id",
        ),
        (
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": 1, "note": "Herr M. trinkt"}),
            "note",
        ),
        (json!({"visit_id": v, "topic": "health", "count": 1}), "id"),
        (
            json!({"id": "eins", "visit_id": v, "topic": "health", "count": 1}),
            "id",
        ),
        (
            json!({"id": 7, "visit_id": v, "topic": "health", "count": 1}),
            "id",
        ),
    ];
    for (body, field) in cases {
        let before = footprint(&hub);
        let answer = walk_in_as(&hub, "berater", body.clone()).await;
        refused_naming(
            &answer,
            &body.to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(field),
        );
        assert_eq!(footprint(&hub), before, "{body}");
    }
    let before = footprint(&hub);
    for user in ["zweite", "kuemmerer"] {
        let answer = walk_in_as(
            &hub,
            user,
            json!({"id": uuid(), "visit_id": v, "topic": "health", "count": 1}),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{user}: {:#}",
            answer.body
        );
    }
    let huge = json!({"id": uuid(), "visit_id": v, "topic": "health", "count": 1,
                      "pad": "x".repeat(70 * 1024)});
    let answer = hub
        .send_raw(
            Method::POST,
            "/api/v1/counselling/walk-ins",
            "application/json",
            huge.to_string().into_bytes(),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:#}",
        answer.body
    );
    let answer = hub
        .send_raw(
            Method::POST,
            "/api/v1/counselling/walk-ins",
            "application/json",
            b"{\"id\": ".to_vec(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
    let answer = hub
        .send_raw(
            Method::POST,
            "/api/v1/counselling/walk-ins",
            "text/plain",
            b"3 health".to_vec(),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{:#}",
        answer.body
    );
    assert_eq!(footprint(&hub), before);
    hub.stop().await;
}

#[tokio::test]
async fn outcomes_are_recorded_by_the_visits_counsellor_once_the_slot_started() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    counselling_staff(&hub, &f).await;
    let second = resident(&hub, &f, "Karl Wendt").await;
    let third = resident(&hub, &f, "Lotte Brandes").await;
    let started = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    let later = slot(&hub, &f, &f.visit, f.day, 10, 20).await;
    let gone = slot(&hub, &f, &f.visit, f.day, 10, 40).await;
    let done = book(&hub, &f, &started, &f.resident, "health").await;
    let ahead_ = book(&hub, &f, &later, &second, "care").await;
    let off = book(&hub, &f, &gone, &third, "care").await;
    let (done, ahead_, off) = (
        done["id"].as_str().expect("id").to_string(),
        ahead_["id"].as_str().expect("id").to_string(),
        off["id"].as_str().expect("id").to_string(),
    );
    let cancelled = cancel(&hub, &format!("/api/v1/appointments/{off}")).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    // The visit started 40 minutes ago: the 09:20 slot 20 minutes ago, the 10:20 slot is ahead.
    move_visit(&hub, &f.visit, minutes_ago(40));

    let path = format!("/api/v1/appointments/{done}/outcome");
    let body = json!({"status": "attended", "topic": "money", "referral": "general_practice"});
    let first = call_as(&hub, "berater", Method::POST, &path, Some(body.clone())).await;
    assert_eq!(first.status, StatusCode::OK, "{:#}", first.body);
    assert_eq!(first.body["status"], "attended");
    assert_eq!(first.body["topic"], "money");
    assert_eq!(first.body["referral"], "general_practice");
    let before = footprint(&hub);
    let version = hub.number("SELECT version FROM appointments WHERE id = ?1", &done);
    let again = call_as(&hub, "berater", Method::POST, &path, Some(body.clone())).await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(
        footprint(&hub),
        before,
        "the same outcome again writes nothing"
    );
    assert_eq!(
        hub.number("SELECT version FROM appointments WHERE id = ?1", &done),
        version
    );

    let cases: Vec<(String, Value, StatusCode, Option<&str>)> = vec![
        (
            path.clone(),
            json!({"status": "attended", "topic": "money", "referral": "hospital"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("referral"),
        ),
        (
            path.clone(),
            json!({"status": "booked", "topic": "money"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            path.clone(),
            json!({"status": "cancelled", "topic": "money"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            path.clone(),
            json!({"status": "attended"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("topic"),
        ),
        (
            path.clone(),
            json!({"status": "attended", "topic": "money", "note": "Schulden"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("note"),
        ),
        (
            path.clone(),
            json!({"status": true, "topic": "money"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            path.clone(),
            json!({"status": "attended", "topic": "money", "referral": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("referral"),
        ),
        (
            format!("/api/v1/appointments/{ahead_}/outcome"),
            json!({"status": "attended", "topic": "care"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("status"),
        ),
        (
            format!("/api/v1/appointments/{off}/outcome"),
            json!({"status": "attended", "topic": "care"}),
            StatusCode::CONFLICT,
            None,
        ),
        (
            format!("/api/v1/appointments/{}/outcome", id()),
            json!({"status": "attended", "topic": "care"}),
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            format!("/api/v1/appointments/{}/outcome", "x".repeat(300)),
            json!({"status": "attended", "topic": "care"}),
            StatusCode::NOT_FOUND,
            None,
        ),
    ];
    for (path, body, status, field) in cases {
        let before = footprint(&hub);
        let answer = call_as(&hub, "berater", Method::POST, &path, Some(body.clone())).await;
        refused_naming(&answer, &format!("{path} {body}"), status, field);
        assert_eq!(footprint(&hub), before, "{path} {body}");
    }
    for user in ["zweite", "kuemmerer"] {
        let before = footprint(&hub);
        let answer = call_as(
            &hub,
            user,
            Method::POST,
            &path,
            Some(json!({"status": "no_show", "topic": "money"})),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{user}: {:#}",
            answer.body
        );
        assert_eq!(footprint(&hub), before);
    }
    assert_eq!(
        hub.text("SELECT status FROM appointments WHERE id = ?1", &done)
            .as_deref(),
        Some("attended")
    );
    // A correction by an administrator, without referral.
    let corrected = hub
        .post(
            &path,
            json!({"status": "no_show", "topic": "money", "referral": null}),
        )
        .await;
    assert_eq!(corrected.status, StatusCode::OK, "{:#}", corrected.body);
    assert_eq!(corrected.body["status"], "no_show");
    assert_eq!(corrected.body["referral"], Value::Null);
    hub.stop().await;
}

#[tokio::test]
async fn statistics_count_contacts_and_referrals_without_people() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    account(&hub, &f, "dispo", "dispatcher").await;
    account(&hub, &f, "berater", "health_worker").await;
    let second = resident(&hub, &f, "Karl Wendt").await;
    let third = resident(&hub, &f, "Lotte Brandes").await;
    // October: three appointments (attended with a referral, attended, no-show) and walk-ins.
    let october = visit(&hub, &f, f.day, 9, None).await;
    let mut slots = Vec::new();
    for mm in [0, 20, 40] {
        slots.push(slot(&hub, &f, &october, f.day, 9, mm).await);
    }
    let a = book(&hub, &f, &slots[0], &f.resident, "health").await;
    let b = book(&hub, &f, &slots[1], &second, "money").await;
    let c = book(&hub, &f, &slots[2], &third, "health").await;
    // November: one attended appointment; a cancelled one counts nothing.
    let november = visit(&hub, &f, f.day, 13, None).await;
    let d_slot = slot(&hub, &f, &november, f.day, 13, 0).await;
    let e_slot = slot(&hub, &f, &november, f.day, 13, 20).await;
    let d = book(&hub, &f, &d_slot, &f.resident, "care").await;
    let e = book(&hub, &f, &e_slot, &second, "care").await;
    let e_id = e["id"].as_str().expect("id");
    assert_eq!(
        cancel(&hub, &format!("/api/v1/appointments/{e_id}"))
            .await
            .status,
        StatusCode::OK
    );
    move_visit(
        &hub,
        &october,
        "2026-10-14T07:00:00Z".parse().expect("instant"),
    );
    move_visit(
        &hub,
        &november,
        "2026-11-30T23:30:00Z".parse().expect("instant"),
    );
    for (appointment, status, topic, referral) in [
        (&a, "attended", "health", json!("general_practice")),
        (&b, "attended", "money", json!("counselling")),
        (&c, "no_show", "health", Value::Null),
        (&d, "attended", "care", json!("counselling")),
    ] {
        let answer = hub
            .post(
                &format!(
                    "/api/v1/appointments/{}/outcome",
                    appointment["id"].as_str().expect("id")
                ),
                json!({"status": status, "topic": topic, "referral": referral}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    }
    for (topic, count) in [
        ("health", 2),
        ("loneliness", 1),
        ("family", 4),
        ("money", 5),
    ] {
        let answer = hub
            .post(
                "/api/v1/counselling/walk-ins",
                json!({"id": uuid(), "visit_id": october, "topic": topic, "count": count}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
    }

    let path = format!(
        "/api/v1/regions/{}/statistics/counselling?from=2026-10&to=2026-12",
        f.region
    );
    let before = footprint(&hub);
    let figures = call_as(&hub, "dispo", Method::GET, &path, None).await;
    assert_eq!(figures.status, StatusCode::OK, "{:#}", figures.body);
    // A count of 1 or 2 is withheld (null, suppressed); so is the other part of a cell whose
    // contacts are shown, else it could be worked out.
    let row = |month: &str, topic: &str, appointments: Value, walk_ins: Value, contacts: Value| {
        let suppressed = [&appointments, &walk_ins, &contacts]
            .iter()
            .any(|v| v.is_null());
        json!({"month": month, "village_id": f.village, "village": "Kneitlingen", "topic": topic,
               "appointments": appointments, "walk_ins": walk_ins, "contacts": contacts,
               "suppressed": suppressed})
    };
    let hidden = Value::Null;
    assert_eq!(
        figures.body["contacts"],
        json!([
            // Exact: no count of the cell is 1 or 2.
            row("2026-10", "family", json!(0), json!(4), json!(4)),
            // 1 appointment and 2 walk-ins: the parts withheld, the 3 contacts shown.
            row(
                "2026-10",
                "health",
                hidden.clone(),
                hidden.clone(),
                json!(3)
            ),
            row(
                "2026-10",
                "loneliness",
                json!(0),
                hidden.clone(),
                hidden.clone()
            ),
            // 1 appointment beside 5 walk-ins: both parts withheld, the 6 contacts shown.
            row("2026-10", "money", hidden.clone(), hidden.clone(), json!(6)),
            // 23:30 UTC on 30 November is 00:30 on 1 December in Berlin.
            row("2026-12", "care", hidden.clone(), json!(0), hidden.clone()),
        ]),
        "{:#}",
        figures.body
    );
    assert_eq!(
        figures.body["referrals"],
        json!([
            {"month": "2026-10", "village_id": f.village, "village": "Kneitlingen", "category": "counselling", "referrals": null, "suppressed": true},
            {"month": "2026-10", "village_id": f.village, "village": "Kneitlingen", "category": "general_practice", "referrals": null, "suppressed": true},
            {"month": "2026-12", "village_id": f.village, "village": "Kneitlingen", "category": "counselling", "referrals": null, "suppressed": true},
        ])
    );
    // The totals per month and of the period stay exact, and the answer says what is withheld.
    assert_eq!(
        figures.body["months"],
        json!([
            {"month": "2026-10", "contacts": 14, "referrals": 2},
            {"month": "2026-11", "contacts": 0, "referrals": 0},
            {"month": "2026-12", "contacts": 1, "referrals": 1},
        ]),
        "{:#}",
        figures.body
    );
    assert_eq!(figures.body["total_contacts"], 15);
    assert_eq!(figures.body["total_referrals"], 3);
    assert_eq!(figures.body["suppression"]["smallest_shown"], 3);
    let note = figures.body["suppression"]["note"].as_str().expect("note");
    assert!(note.contains("<3") && note.contains("exact"), "{note}");
    let whole = figures.body.to_string();
    for personal in [
        &f.resident,
        &second,
        &third,
        "Erna",
        "Karl",
        "T07:",
        a["id"].as_str().expect("id"),
    ] {
        assert!(!whole.contains(personal), "{personal} in {whole}");
    }
    assert_eq!(footprint(&hub), before, "reading figures writes nothing");

    let only_october = hub
        .get(&format!(
            "/api/v1/regions/{}/statistics/counselling?from=2026-10&to=2026-10",
            f.region
        ))
        .await;
    assert_eq!(
        only_october.body["total_contacts"], 14,
        "{:#}",
        only_october.body
    );

    // CSV for spreadsheets, by parameter or by Accept header.
    let csv = hub.get(&format!("{path}&format=csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<String> = csv
        .body
        .as_str()
        .expect("csv text")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines[0], "month,village,measure,category,count");
    for line in [
        "2026-10,Kneitlingen,contacts,family,4",
        "2026-10,Kneitlingen,walk_ins,family,4",
        "2026-10,Kneitlingen,appointments,family,0",
        "2026-10,Kneitlingen,contacts,health,3",
        "2026-10,Kneitlingen,walk_ins,health,<3",
        "2026-10,Kneitlingen,appointments,money,<3",
        "2026-10,Kneitlingen,walk_ins,money,>2",
        "2026-10,Kneitlingen,contacts,money,6",
        "2026-12,Kneitlingen,contacts,care,<3",
        "2026-10,Kneitlingen,referrals,general_practice,<3",
        "2026-10,,contacts_total,,14",
        "2026-10,,referrals_total,,2",
        "2026-11,,contacts_total,,0",
        "2026-12,,contacts_total,,1",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} in {lines:#?}");
    }
    assert_eq!(lines.len(), 1 + 5 * 3 + 3 + 3 * 2);
    for line in lines.iter().filter(|l| !l.contains("_total,")) {
        assert!(
            !line.ends_with(",1") && !line.ends_with(",2"),
            "a small count shown: {line}"
        );
    }
    let by_accept = answer(
        hub.client
            .get(hub.url(&path))
            .basic_auth(&hub.user, Some(&hub.password))
            .header("accept", "text/csv")
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert!(by_accept.content_type.starts_with("text/csv"));
    assert_eq!(by_accept.body, csv.body);

    let region = &f.region;
    for (query, status) in [
        ("from=2026-13&to=2026-12", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=2026-10", StatusCode::UNPROCESSABLE_ENTITY),
        ("to=2026-10", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=2026-12&to=2026-10", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=2020-01&to=2026-10", StatusCode::UNPROCESSABLE_ENTITY),
        ("from=Oktober&to=2026-10", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "from=2026-10&to=2026-10&format=xlsx",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "from=2026-10&to=2026-10&village=x",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let answer = hub
            .get(&format!(
                "/api/v1/regions/{region}/statistics/counselling?{query}"
            ))
            .await;
        assert_eq!(answer.status, status, "{query}: {:#}", answer.body);
    }
    let unknown = hub
        .get(&format!(
            "/api/v1/regions/{}/statistics/counselling?from=2026-10&to=2026-10",
            id()
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let refused = call_as(&hub, "berater", Method::GET, &path, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(footprint(&hub), before);
    hub.stop().await;
}

/// A waiting entry's body.
fn waiting(resident: &str, caregiver: Option<&str>) -> Value {
    let mut body = json!({"id": uuid(), "resident_id": resident, "topic": "care"});
    if let Some(caregiver) = caregiver {
        body["caregiver_id"] = json!(caregiver);
    }
    body
}

#[tokio::test]
async fn a_cancelled_appointment_gives_its_slot_to_the_first_waiting_resident() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    account(&hub, &f, "dispo", "dispatcher").await;
    account(&hub, &f, "kuemmerer", "caregiver").await;
    let karl = resident(&hub, &f, "Karl Wendt").await;
    let lotte = resident(&hub, &f, "Lotte Brandes").await;
    link(&hub, &f, &f.caregiver, &karl).await;
    let free_slot = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    let booked = book(&hub, &f, &free_slot, &f.resident, "health").await;
    let list_path = format!("/api/v1/imbus-visits/{}/waiting-list", f.visit);

    let first = waiting(&karl, Some(&f.caregiver));
    let made = call_as(&hub, "dispo", Method::POST, &list_path, Some(first.clone())).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
    assert_eq!(made.body["status"], "waiting");
    let again = call_as(&hub, "dispo", Method::POST, &list_path, Some(first.clone())).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, made.body);
    let mut changed = first.clone();
    changed["topic"] = json!("money");
    let clash = call_as(&hub, "dispo", Method::POST, &list_path, Some(changed)).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{:#}", clash.body);
    let second = hub.post(&list_path, waiting(&lotte, None)).await;
    assert_eq!(second.status, StatusCode::CREATED, "{:#}", second.body);

    let cases: Vec<(String, Value, StatusCode, Option<&str>)> = vec![
        (
            list_path.clone(),
            waiting(&karl, None),
            StatusCode::CONFLICT,
            None,
        ),
        (
            list_path.clone(),
            waiting(&f.resident, None),
            StatusCode::CONFLICT,
            None,
        ),
        (
            list_path.clone(),
            waiting(&id(), None),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("resident_id"),
        ),
        (
            list_path.clone(),
            waiting(&lotte, Some(&f.caregiver)),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("caregiver_id"),
        ),
        (
            list_path.clone(),
            json!({"id": uuid(), "resident_id": lotte}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("topic"),
        ),
        (
            list_path.clone(),
            json!({"id": uuid(), "resident_id": 5, "topic": "care"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("resident_id"),
        ),
        (
            list_path.clone(),
            json!({"resident_id": lotte, "topic": "care"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("id"),
        ),
        (
            list_path.clone(),
            json!({"id": uuid(), "resident_id": lotte, "topic": "care", "phone": "0151"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("phone"),
        ),
        (
            format!("/api/v1/imbus-visits/{}/waiting-list", id()),
            waiting(&lotte, None),
            StatusCode::NOT_FOUND,
            None,
        ),
    ];
    for (path, body, status, field) in cases {
        let before = footprint(&hub);
        let answer = hub.post(&path, body.clone()).await;
        refused_naming(&answer, &body.to_string(), status, field);
        assert_eq!(footprint(&hub), before, "{body}");
    }
    let before = footprint(&hub);
    let refused = call_as(
        &hub,
        "kuemmerer",
        Method::POST,
        &list_path,
        Some(waiting(&lotte, None)),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = call_as(&hub, "kuemmerer", Method::GET, &list_path, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(footprint(&hub), before);

    let list = call_as(&hub, "dispo", Method::GET, &list_path, None).await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    let items = items_of(&list);
    assert_eq!(items.len(), 2);
    assert_eq!(
        (
            items[0]["resident_name"].clone(),
            items[0]["position"].clone()
        ),
        (json!("Karl Wendt"), json!(1))
    );
    assert_eq!(items[1]["position"], 2);

    // The cancel hands the slot to Karl, the first waiting, in the same transaction.
    let cancelled = cancel_booking(&hub, &booked).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let given = hub
        .text(
            "SELECT appointment_id FROM waiting_list WHERE resident_id = ?1 AND status = 'booked'",
            &karl,
        )
        .expect("Karl's entry is booked");
    let row: (String, String, String, String, String, String) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT slot_id, resident_id, channel, booked_by, status, booking_code FROM appointments WHERE id = ?1",
                [&given],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )?)
        })
        .expect("the new appointment");
    assert_eq!(
        (
            &row.0,
            &row.1,
            row.2.as_str(),
            row.3.as_str(),
            row.4.as_str()
        ),
        (&free_slot, &karl, "phone", "waiting-list", "booked")
    );
    let code: protocol::BookingCode = row.5.parse().expect("a booking code");
    assert_eq!(
        code,
        protocol::BookingCode::from_uuid(given.parse().expect("uuid"))
    );
    let list = hub.get(&list_path).await;
    let items = items_of(&list);
    assert_eq!(items[0]["status"], "booked");
    assert_eq!(items[0]["appointment_id"], json!(given));
    assert_eq!(items[1]["position"], 1, "Lotte is next");

    let notices = call_as(&hub, "dispo", Method::GET, "/api/v1/notices", None).await;
    assert_eq!(notices.status, StatusCode::OK, "{:#}", notices.body);
    let items = items_of(&notices);
    assert_eq!(items.len(), 1, "{:#}", notices.body);
    assert_eq!(items[0]["kind"], "slot_given");
    assert_eq!(items[0]["caregiver"]["id"], json!(f.caregiver));
    assert_eq!(items[0]["caregiver"]["phone"], "0171 2345678");
    let text_de = items[0]["text_de"].as_str().expect("text");
    assert!(
        text_de.starts_with("Für Karl ist ein IMBUS-Termin frei geworden: "),
        "{text_de}"
    );
    assert!(
        text_de.contains(" um 09:20 in Kneitlingen, Dorfplatz."),
        "{text_de}"
    );
    assert!(
        text_de.ends_with(&format!("Buchungscode: {code}.")),
        "{text_de}"
    );

    // Withdrawing: once, again the same; a booked entry is refused.
    let lotte_entry = second.body["id"].as_str().expect("id");
    let path = format!("/api/v1/waiting-list/{lotte_entry}/withdraw");
    let out = call_as(&hub, "dispo", Method::POST, &path, None).await;
    assert_eq!(out.status, StatusCode::OK, "{:#}", out.body);
    assert_eq!(out.body["status"], "withdrawn");
    let before = footprint(&hub);
    let again = call_as(&hub, "dispo", Method::POST, &path, None).await;
    assert_eq!(again.body, out.body);
    assert_eq!(footprint(&hub), before);
    let karl_entry = made.body["id"].as_str().expect("id");
    let booked_entry = withdraw(&hub, karl_entry).await;
    assert_eq!(booked_entry.status, StatusCode::CONFLICT);
    let unknown = withdraw(&hub, &id()).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(footprint(&hub), before);

    // Karl's appointment cancelled in turn: nobody waits any more, the slot stays free.
    let cancelled = cancel(&hub, &format!("/api/v1/appointments/{given}")).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(
        hub.number(
            "SELECT count(*) FROM appointments WHERE slot_id = ?1 AND status = 'booked'",
            &free_slot
        ),
        0
    );
    hub.stop().await;
}

fn identity(f: &Fixture) -> DeviceIdentity {
    DeviceIdentity {
        device_id: f.device.clone(),
        region_id: f.region.clone(),
        village_id: f.village.clone(),
    }
}

/// Sends one outbox entry of the fixture's kiosk through the sync and returns its outcome.
async fn kiosk_sends(hub: &TestHub, f: &Fixture, kind: OutboxKind, body: Value) -> AckOutcome {
    let device = identity(f);
    let request = SyncRequest {
        api_version: protocol::API_VERSION,
        cursor: 0,
        outbox: vec![OutboxEntry {
            id: Uuid::new_v4(),
            kind,
            created_at: stamp(Utc::now()),
            body,
        }],
        limit: 1,
    };
    let response = hub
        .store
        .run(move |conn| hub::sync::exchange_on(conn, &device, &request, None, Utc::now()))
        .await
        .expect("exchange");
    response.acks[0].outcome.clone()
}

/// The kiosk cancels a booking with the code on its ticket; the hub accepts.
async fn kiosk_cancels(hub: &TestHub, f: &Fixture, booking: &Value) {
    let outcome = kiosk_sends(
        hub,
        f,
        OutboxKind::Cancel,
        json!({"booking_code": booking["booking_code"]}),
    )
    .await;
    assert!(
        matches!(outcome, AckOutcome::Accepted { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_kiosks_cancel_by_code_hands_the_slot_on_but_not_a_kiosk_share() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let karl = resident(&hub, &f, "Karl Wendt").await;
    link(&hub, &f, &f.caregiver, &karl).await;
    let open = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    let booked = book(&hub, &f, &open, &f.resident, "health").await;
    let entry = hub
        .post(
            &format!("/api/v1/imbus-visits/{}/waiting-list", f.visit),
            waiting(&karl, None),
        )
        .await;
    assert_eq!(entry.status, StatusCode::CREATED, "{:#}", entry.body);

    // The resident cancels the phone booking at the kiosk with the code on the ticket.
    kiosk_cancels(&hub, &f, &booked).await;
    let given = hub
        .text(
            "SELECT appointment_id FROM waiting_list WHERE id = ?1 AND status = 'booked'",
            entry.body["id"].as_str().expect("id"),
        )
        .expect("the entry got the slot");
    assert_eq!(
        hub.text("SELECT slot_id FROM appointments WHERE id = ?1", &given)
            .as_deref(),
        Some(open.as_str())
    );
    assert_eq!(
        hub.text("SELECT booked_by FROM appointments WHERE id = ?1", &given)
            .as_deref(),
        Some("waiting-list")
    );

    // The entry named no caregiver: every caregiver linked to Karl is told.
    assert_eq!(
        hub.text(
            "SELECT caregiver_id FROM notices WHERE appointment_id = ?1 AND kind = 'slot_given'",
            &given
        )
        .as_deref(),
        Some(f.caregiver.as_str())
    );
    assert_eq!(hub.count("notices"), 1);

    // A slot set aside for the kiosk goes back to the kiosk, not to the waiting list.
    let lotte = resident(&hub, &f, "Lotte Brandes").await;
    let waits = hub
        .post(
            &format!("/api/v1/imbus-visits/{}/waiting-list", f.visit),
            waiting(&lotte, None),
        )
        .await;
    assert_eq!(waits.status, StatusCode::CREATED);
    let kiosk_booking = kiosk_sends(
        &hub,
        &f,
        OutboxKind::Appointment,
        json!({"slot_id": f.slot}),
    )
    .await;
    let AckOutcome::Accepted { record } = kiosk_booking else {
        panic!("kiosk booking refused: {kiosk_booking:?}");
    };
    kiosk_cancels(&hub, &f, &record).await;
    assert_eq!(
        hub.number(
            "SELECT count(*) FROM appointments WHERE slot_id = ?1 AND status <> 'cancelled'",
            &f.slot
        ),
        0
    );
    assert_eq!(
        hub.text(
            "SELECT status FROM waiting_list WHERE id = ?1",
            waits.body["id"].as_str().expect("id")
        )
        .as_deref(),
        Some("waiting")
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_cancelled_or_moved_visit_queues_notices_for_the_booked_residents_caregivers() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    account(&hub, &f, "dispo", "dispatcher").await;
    account(&hub, &f, "berater", "health_worker").await;
    let neighbour = hub
        .create_id(
            "caregivers",
            json!({"id": id(), "region_id": f.region, "name": "Sabine Ott", "email": "ott@example.org"}),
        )
        .await;
    link(&hub, &f, &f.caregiver, &f.resident).await;
    link(&hub, &f, &neighbour, &f.resident).await;
    let karl = resident(&hub, &f, "Karl Wendt").await;
    let lotte = resident(&hub, &f, "Lotte Brandes").await;
    link(&hub, &f, &neighbour, &lotte).await;
    let s1 = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    let s2 = slot(&hub, &f, &f.visit, f.day, 9, 40).await;
    let s3 = slot(&hub, &f, &f.visit, f.day, 10, 0).await;
    book(&hub, &f, &s1, &f.resident, "health").await;
    book(&hub, &f, &s2, &karl, "care").await;
    let lotte_booking = book(&hub, &f, &s3, &lotte, "care").await;
    cancel_booking(&hub, &lotte_booking).await;
    assert_eq!(hub.count("notices"), 0);

    // An update that leaves the start alone tells nobody.
    hub.exec(
        "UPDATE imbus_visits SET starts_at = starts_at, status = 'published' WHERE id = ?1",
        &[&f.visit],
    );
    assert_eq!(hub.count("notices"), 0);

    // Moved by a day (any path that writes starts_at): Erna's two caregivers are told.
    let old_start = hub
        .text("SELECT starts_at FROM appointments WHERE slot_id = ?1", &s1)
        .expect("start");
    hub.exec(
        "UPDATE imbus_visits SET starts_at = strftime('%Y-%m-%dT%H:%M:%SZ', unixepoch(starts_at) + 86400, 'unixepoch'),
                ends_at = strftime('%Y-%m-%dT%H:%M:%SZ', unixepoch(ends_at) + 86400, 'unixepoch'),
                change_reason = 'Straßensperrung' WHERE id = ?1",
        &[&f.visit],
    );
    assert_eq!(hub.count("notices"), 2);
    let listed = call_as(&hub, "dispo", Method::GET, "/api/v1/notices", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{:#}", listed.body);
    let items = items_of(&listed);
    assert_eq!(items.len(), 2);
    let mut recipients: Vec<&str> = items
        .iter()
        .map(|n| n["caregiver"]["id"].as_str().expect("id"))
        .collect();
    recipients.sort();
    let mut expected = vec![f.caregiver.as_str(), neighbour.as_str()];
    expected.sort();
    assert_eq!(recipients, expected);
    let old: DateTime<Utc> = old_start.parse().expect("instant");
    assert_eq!(items[0]["kind"], "visit_moved");
    assert_eq!(items[0]["old_start"], json!(old_start));
    assert_eq!(items[0]["new_start"], json!(stamp(old + Duration::days(1))));
    let moved = items[0]["text_de"].as_str().expect("text");
    assert!(
        moved.starts_with("Der IMBUS-Termin von Erna am "),
        "{moved}"
    );
    assert!(
        moved.contains(" um 09:20 in Kneitlingen ist verschoben auf "),
        "{moved}"
    );
    let new_local = (old + Duration::days(1))
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format(" um %H:%M: Straßensperrung.")
        .to_string();
    assert!(moved.ends_with(&new_local), "{moved}");

    // Cancelled through the API: told again, once per caregiver; cancelling twice adds nothing.
    let path = format!(
        "/api/v1/imbus-visits/{}?reason=Der%20Bus%20ist%20defekt",
        f.visit
    );
    let cancelled = cancel(&hub, &path).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);
    assert_eq!(hub.count("notices"), 4);
    cancel(&hub, &path).await;
    assert_eq!(hub.count("notices"), 4);
    let listed = hub
        .get(&format!("/api/v1/notices?region={}", f.region))
        .await;
    let items = items_of(&listed);
    let off: Vec<&Value> = items
        .iter()
        .filter(|n| n["kind"] == "visit_cancelled")
        .collect();
    assert_eq!(off.len(), 2);
    let text_de = off[0]["text_de"].as_str().expect("text");
    assert!(
        text_de.starts_with("Der IMBUS-Termin von Erna am "),
        "{text_de}"
    );
    assert!(
        text_de.ends_with(" um 09:20 in Kneitlingen fällt aus: Der Bus ist defekt."),
        "{text_de}"
    );
    assert!(
        items.iter().all(|n| n["resident_id"] == json!(f.resident)),
        "Karl has no caregiver, Lotte's booking was cancelled"
    );

    // A sender marks one sent; a repeat keeps the first time; the unsent list shrinks.
    let notice = off[0]["id"].as_str().expect("id").to_string();
    let sent = call_as(
        &hub,
        "dispo",
        Method::POST,
        &format!("/api/v1/notices/{notice}/sent"),
        None,
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{:#}", sent.body);
    let at = sent.body["sent_at"].clone();
    assert!(at.is_string());
    let before = footprint(&hub);
    let again = hub
        .call(
            Method::POST,
            &format!("/api/v1/notices/{notice}/sent"),
            None,
        )
        .await;
    assert_eq!(again.body["sent_at"], at);
    assert_eq!(footprint(&hub), before);
    let unsent = hub.get("/api/v1/notices").await;
    assert_eq!(unsent.body["items"].as_array().expect("items").len(), 3);
    let sent_list = hub.get("/api/v1/notices?sent=true").await;
    assert_eq!(sent_list.body["items"][0]["id"], json!(notice));
    let all = hub.get("/api/v1/notices?sent=all&limit=2").await;
    assert_eq!(all.body["items"].as_array().expect("items").len(), 2);

    let before = footprint(&hub);
    for (user, path, method, status) in [
        (
            "berater",
            "/api/v1/notices".to_string(),
            Method::GET,
            StatusCode::FORBIDDEN,
        ),
        (
            "berater",
            format!("/api/v1/notices/{notice}/sent"),
            Method::POST,
            StatusCode::FORBIDDEN,
        ),
        (
            "dispo",
            format!("/api/v1/notices/{}/sent", id()),
            Method::POST,
            StatusCode::NOT_FOUND,
        ),
        (
            "dispo",
            "/api/v1/notices?sent=maybe".to_string(),
            Method::GET,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "dispo",
            "/api/v1/notices?limit=0".to_string(),
            Method::GET,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "dispo",
            format!("/api/v1/notices?region={}", id()),
            Method::GET,
            StatusCode::NOT_FOUND,
        ),
    ] {
        let answer = call_as(&hub, user, method, &path, None).await;
        assert_eq!(answer.status, status, "{user} {path}: {:#}", answer.body);
    }
    assert_eq!(footprint(&hub), before);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_callers_booking_the_last_slot_at_once_get_it_once() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let karl = resident(&hub, &f, "Karl Wendt").await;
    let lotte = resident(&hub, &f, "Lotte Brandes").await;
    let taken = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    book(&hub, &f, &taken, &f.resident, "health").await;
    let last = slot(&hub, &f, &f.visit, f.day, 9, 40).await;
    let before = footprint(&hub);

    let request = |resident: &str, slot: &str| {
        hub.client
            .post(hub.url("/api/v1/appointments"))
            .basic_auth(&hub.user, Some(&hub.password))
            .json(&json!({"id": id(), "region_id": f.region, "slot_id": slot,
                          "resident_id": resident, "topic": "care", "channel": "web"}))
    };
    let (a, b) = (request(&karl, &last), request(&lotte, &last));
    let a = tokio::spawn(async move { answer(a.send().await.expect("sent")).await });
    let b = tokio::spawn(async move { answer(b.send().await.expect("sent")).await });
    let (a, b) = (a.await.expect("task"), b.await.expect("task"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let loser = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(loser.content_type, "application/problem+json");
    assert_eq!(loser.body["type"], "urn:dorfpunkt:problem:conflict");
    assert_eq!(loser.body["status"], 409);
    let after = footprint(&hub);
    // Only the winner wrote: one appointment, one audit line, one kept answer.
    assert_eq!(after[0], before[0] + 1, "appointments");
    assert_eq!(after[4], before[4] + 1, "audit lines");
    assert_eq!(after[5], before[5] + 1, "kept answers");
    assert_eq!(
        hub.number(
            "SELECT count(*) FROM appointments WHERE slot_id = ?1",
            &last
        ),
        1
    );

    // A kiosk and the web for the same free slot at once: one gets it. (No share for kiosks in
    // this region, so the kiosk's sync does not set the raced slot aside first.)
    hub.exec(
        "UPDATE regions SET settings = json_set(settings, '$.kiosk_slot_share', 0) WHERE id = ?1",
        &[&f.region],
    );
    let raced = slot(&hub, &f, &f.visit, f.day, 10, 0).await;
    let before = hub.count("appointments");
    let web = request(&karl, &raced);
    let web = tokio::spawn(async move { answer(web.send().await.expect("sent")).await });
    let kiosk = kiosk_sends(&hub, &f, OutboxKind::Appointment, json!({"slot_id": raced}));
    let (web, kiosk) = tokio::join!(web, kiosk);
    let web = web.expect("task");
    let kiosk_won = matches!(kiosk, AckOutcome::Accepted { .. });
    let web_won = web.status == StatusCode::CREATED;
    assert!(kiosk_won != web_won, "exactly one wins: {web:?} {kiosk:?}");
    if kiosk_won {
        assert_eq!(web.status, StatusCode::CONFLICT, "{:#}", web.body);
    } else {
        assert!(
            matches!(kiosk, AckOutcome::Refused { status: 409, .. }),
            "{kiosk:?}"
        );
    }
    assert_eq!(hub.count("appointments"), before + 1);
    hub.stop().await;
}

#[tokio::test]
async fn a_visit_moved_through_the_api_tells_the_caregivers_the_new_time() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    link(&hub, &f, &f.caregiver, &f.resident).await;
    let s1 = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    let booked = book(&hub, &f, &s1, &f.resident, "health").await;
    let old: DateTime<Utc> = booked["starts_at"]
        .as_str()
        .expect("start")
        .parse()
        .expect("instant");
    move_visit_by(&hub, &f.visit, Duration::hours(1), "Der Bus kommt später").await;
    let listed = hub.get("/api/v1/notices").await;
    let items = items_of(&listed);
    assert_eq!(items.len(), 1, "{:#}", listed.body);
    assert_eq!(items[0]["kind"], "visit_moved");
    assert_eq!(items[0]["appointment_id"], booked["id"]);
    assert_eq!(items[0]["old_start"], json!(stamp(old)));
    assert_eq!(
        items[0]["new_start"],
        json!(stamp(old + Duration::hours(1)))
    );
    let text_de = items[0]["text_de"].as_str().expect("text");
    assert!(
        text_de.ends_with(" um 10:20: Der Bus kommt später."),
        "{text_de}"
    );
    hub.stop().await;
}

/// The statuses of a visit's waiting entries by resident.
fn entry_statuses(hub: &TestHub, visit: &str) -> Vec<(String, String)> {
    hub.store
        .blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT resident_id, status FROM waiting_list WHERE visit_id = ?1
                 ORDER BY created_at, rowid",
            )?;
            let rows = stmt
                .query_map([visit], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .expect("entries")
}

/// The notices of `kind` about waiting entries: (resident, caregiver, waiting entry), sorted.
fn waiting_notices(hub: &TestHub, kind: &str) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = hub
        .store
        .blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT resident_id, caregiver_id, waiting_id FROM notices
                 WHERE kind = ?1 AND waiting_id IS NOT NULL AND appointment_id IS NULL",
            )?;
            let rows = stmt
                .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .expect("notices");
    rows.sort();
    rows
}

#[tokio::test]
async fn a_cancelled_visit_ends_its_waiting_list_and_tells_the_waiting_residents_caregivers() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let neighbour = hub
        .create_id(
            "caregivers",
            json!({"id": id(), "region_id": f.region, "name": "Sabine Ott", "email": "ott@example.org"}),
        )
        .await;
    let karl = resident(&hub, &f, "Karl Wendt").await;
    let lotte = resident(&hub, &f, "Lotte Brandes").await;
    let otto = resident(&hub, &f, "Otto Brandt").await;
    let paul = resident(&hub, &f, "Paul Sander").await;
    for (caregiver, resident) in [
        (&f.caregiver, &karl),
        (&neighbour, &karl),
        (&f.caregiver, &lotte),
        (&neighbour, &lotte),
        (&f.caregiver, &paul),
    ] {
        link(&hub, &f, caregiver, resident).await;
    }
    // The visit's one slot for phone bookings is taken (the fixture's other is the kiosk's).
    let s1 = slot(&hub, &f, &f.visit, f.day, 9, 20).await;
    book(&hub, &f, &s1, &f.resident, "health").await;
    let list_path = format!("/api/v1/imbus-visits/{}/waiting-list", f.visit);
    // Karl names one caregiver: only that one is told. Lotte names none: both of hers are.
    // Otto has nobody to tell; Paul withdrew.
    let mut entries = Vec::new();
    for body in [
        waiting(&karl, Some(&f.caregiver)),
        waiting(&lotte, None),
        waiting(&otto, None),
        waiting(&paul, None),
    ] {
        let made = hub.post(&list_path, body).await;
        assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
        entries.push(made.body["id"].as_str().expect("id").to_string());
    }
    let out = withdraw(&hub, &entries[3]).await;
    assert_eq!(out.status, StatusCode::OK, "{:#}", out.body);
    assert_eq!(hub.count("notices"), 0);

    // Moved through the API: the entries keep waiting for the moved visit, and the waiting
    // residents' caregivers get the new time.
    let start = move_visit_by(&hub, &f.visit, Duration::hours(1), "Der Bus kommt später").await;
    let told = |resident: &str, caregiver: &str, entry: &str| {
        (
            resident.to_string(),
            caregiver.to_string(),
            entry.to_string(),
        )
    };
    let mut expected = vec![
        told(&karl, &f.caregiver, &entries[0]),
        told(&lotte, &f.caregiver, &entries[1]),
        told(&lotte, &neighbour, &entries[1]),
    ];
    expected.sort();
    assert_eq!(waiting_notices(&hub, "visit_moved"), expected);
    assert_eq!(hub.count("notices"), 3, "Erna has no caregiver to tell");
    assert_eq!(
        entry_statuses(&hub, &f.visit),
        vec![
            (karl.clone(), "waiting".to_string()),
            (lotte.clone(), "waiting".to_string()),
            (otto.clone(), "waiting".to_string()),
            (paul.clone(), "withdrawn".to_string()),
        ]
    );
    let listed = hub.get("/api/v1/notices").await;
    let karls = items_of(&listed)
        .iter()
        .find(|n| n["resident_id"] == json!(karl))
        .expect("Karl's notice")
        .clone();
    assert_eq!(karls["kind"], "visit_moved");
    assert_eq!(karls["waiting_id"], json!(entries[0]));
    assert_eq!(karls["appointment_id"], Value::Null);
    assert_eq!(karls["old_start"], json!(stamp(start)));
    assert_eq!(karls["new_start"], json!(stamp(start + Duration::hours(1))));
    let moved_text = karls["text_de"].as_str().expect("text");
    assert!(
        moved_text.starts_with("Der IMBUS-Besuch am "),
        "{moved_text}"
    );
    assert!(
        moved_text.contains(" um 09:00 in Kneitlingen ist verschoben auf "),
        "{moved_text}"
    );
    assert!(
        moved_text.ends_with(" um 10:00: Der Bus kommt später. Karl bleibt auf der Warteliste."),
        "{moved_text}"
    );

    // Cancelled through the API: in the same request the waiting entries end and their
    // caregivers are told; the withdrawn entry is left alone.
    let path = format!(
        "/api/v1/imbus-visits/{}?reason=Der%20Bus%20ist%20defekt",
        f.visit
    );
    let cancelled = cancel(&hub, &path).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);
    assert_eq!(waiting_notices(&hub, "visit_cancelled"), expected);
    assert_eq!(
        entry_statuses(&hub, &f.visit),
        vec![
            (karl.clone(), "visit_cancelled".to_string()),
            (lotte.clone(), "visit_cancelled".to_string()),
            (otto.clone(), "visit_cancelled".to_string()),
            (paul.clone(), "withdrawn".to_string()),
        ]
    );
    assert_eq!(hub.count("notices"), 6);
    let listed = hub.get("/api/v1/notices").await;
    let off = items_of(&listed)
        .iter()
        .find(|n| n["resident_id"] == json!(karl) && n["kind"] == "visit_cancelled")
        .expect("Karl's notice")
        .clone();
    assert_eq!(off["caregiver"]["id"], json!(f.caregiver));
    let off_text = off["text_de"].as_str().expect("text");
    assert!(off_text.starts_with("Der IMBUS-Besuch am "), "{off_text}");
    assert!(
        off_text.ends_with(
            " um 10:00 in Kneitlingen, für den Karl auf der Warteliste stand, fällt aus: Der Bus ist defekt."
        ),
        "{off_text}"
    );
    let list = hub.get(&list_path).await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    let items = items_of(&list);
    assert_eq!(items[0]["status"], "visit_cancelled");
    assert!(items.iter().all(|i| i["position"].is_null()), "{items:#?}");

    // Cancelling again, withdrawing an ended entry, joining the list: nothing changes.
    let before = footprint(&hub);
    let again = cancel(&hub, &path).await;
    assert_eq!(again.status, StatusCode::OK);
    let withdrawn = withdraw(&hub, &entries[0]).await;
    assert_eq!(withdrawn.status, StatusCode::OK);
    assert_eq!(withdrawn.body["status"], "visit_cancelled");
    let late = hub.post(&list_path, waiting(&otto, None)).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:#}", late.body);
    assert!(
        late.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("cancelled")),
        "{:#}",
        late.body
    );
    assert_eq!(footprint(&hub), before);

    // The tour re-plan cancels a dropped visit with the same cancel (`records::cancel_in`):
    // its waiting residents are told with the re-plan's reason.
    let second = visit(&hub, &f, f.day, 14, None).await;
    let s2 = slot(&hub, &f, &second, f.day, 14, 0).await;
    book(&hub, &f, &s2, &f.resident, "care").await;
    let entry = hub
        .post(
            &format!("/api/v1/imbus-visits/{second}/waiting-list"),
            waiting(&karl, None),
        )
        .await;
    assert_eq!(entry.status, StatusCode::CREATED, "{:#}", entry.body);
    let who = hub::store::logs::Who {
        actor: "tours:replan".into(),
        request_id: None,
    };
    let visit_id = second.clone();
    hub.store
        .blocking(move |c| {
            let tx = c.transaction()?;
            hub::store::records::cancel_in::<hub::domain::ImbusVisit>(
                &tx,
                &who,
                &visit_id,
                Some(hub::tours::REPLAN_CANCEL_REASON),
            )?;
            tx.commit()?;
            Ok(())
        })
        .expect("cancel");
    assert_eq!(
        entry_statuses(&hub, &second),
        vec![(karl.clone(), "visit_cancelled".to_string())]
    );
    let listed = hub.get("/api/v1/notices").await;
    let listed_items = items_of(&listed);
    let replanned: Vec<&Value> = listed_items
        .iter()
        .filter(|n| n["visit_id"] == json!(second))
        .collect();
    // Karl's entry names no caregiver: both of his are told.
    assert_eq!(replanned.len(), 2, "{:#}", listed.body);
    for notice in replanned {
        assert_eq!(notice["waiting_id"], entry.body["id"]);
        let text_de = notice["text_de"].as_str().expect("text");
        assert!(
            text_de.ends_with(&format!(
                " um 14:00 in Kneitlingen, für den Karl auf der Warteliste stand, fällt aus: {}.",
                hub::tours::REPLAN_CANCEL_REASON
            )),
            "{text_de}"
        );
    }
    hub.stop().await;
}

#[tokio::test]
async fn the_waiting_list_is_refused_while_a_slot_is_free_or_the_visit_is_off() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let karl = resident(&hub, &f, "Karl Wendt").await;
    let lotte = resident(&hub, &f, "Lotte Brandes").await;
    let list_path = format!("/api/v1/imbus-visits/{}/waiting-list", f.visit);
    let mut slots = Vec::new();
    for mm in [20, 40, 60, 80] {
        slots.push(slot(&hub, &f, &f.visit, f.day, 9 + mm / 60, mm % 60).await);
    }

    // Four free slots (the fixture's kiosk slot does not count): refused, naming the first three.
    let refused = |answer: &Answer, times: &str| {
        assert_eq!(answer.status, StatusCode::CONFLICT, "{:#}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.body["type"], "urn:dorfpunkt:problem:slot-free");
        let detail = answer.body["detail"].as_str().expect("detail");
        assert!(
            detail.starts_with("Es gibt noch freie Termine: "),
            "{detail}"
        );
        assert!(
            detail.ends_with(&format!(" um {times}. Bitte einen davon buchen.")),
            "{detail}"
        );
    };
    let before = footprint(&hub);
    let answer = hub.post(&list_path, waiting(&karl, None)).await;
    refused(&answer, "09:20, 09:40, 10:00 und 1 weitere");
    assert_eq!(footprint(&hub), before);

    // Three booked (one of them cancelled and booked again): the last free one is named.
    book(&hub, &f, &slots[0], &f.resident, "health").await;
    book(&hub, &f, &slots[1], &lotte, "care").await;
    let gone = book(&hub, &f, &slots[2], &karl, "care").await;
    let cancelled = cancel_booking(&hub, &gone).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let before = footprint(&hub);
    let answer = hub.post(&list_path, waiting(&karl, None)).await;
    refused(&answer, "10:00, 10:20");
    assert_eq!(footprint(&hub), before);
    let third = resident(&hub, &f, "Otto Brandt").await;
    book(&hub, &f, &slots[2], &third, "money").await;
    let before = footprint(&hub);
    let answer = hub.post(&list_path, waiting(&karl, None)).await;
    refused(&answer, "10:20");
    assert_eq!(footprint(&hub), before);

    // The last free slot cancelled: the visit is full, Karl may wait, once.
    hub.exec(
        "UPDATE slots SET status = 'cancelled' WHERE id = ?1",
        &[&slots[3]],
    );
    let first = waiting(&karl, None);
    let made = hub.post(&list_path, first.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
    let again = hub.post(&list_path, first).await;
    assert_eq!(again.status, StatusCode::OK, "a repeat is answered once");
    let before = footprint(&hub);
    let twice = hub.post(&list_path, waiting(&karl, None)).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{:#}", twice.body);
    assert_eq!(footprint(&hub), before);

    // A slot that has started is no longer free: waiting for a running visit is fine.
    let running = visit(&hub, &f, f.day, 13, None).await;
    let started = slot(&hub, &f, &running, f.day, 13, 0).await;
    let running_path = format!("/api/v1/imbus-visits/{running}/waiting-list");
    let answer = hub.post(&running_path, waiting(&lotte, None)).await;
    refused(&answer, "13:00");
    move_visit(&hub, &running, minutes_ago(10));
    let answer = hub.post(&running_path, waiting(&lotte, None)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
    assert_eq!(
        hub.number(
            "SELECT count(*) FROM appointments WHERE slot_id = ?1",
            &started
        ),
        0
    );

    // A visit that is over, or cancelled, takes nobody.
    let over = visit(&hub, &f, f.day, 15, None).await;
    move_visit(&hub, &over, minutes_ago(180));
    let cancelled_visit = visit(&hub, &f, f.day, 16, None).await;
    let off = cancel(
        &hub,
        &format!("/api/v1/imbus-visits/{cancelled_visit}?reason=Krank"),
    )
    .await;
    assert_eq!(off.status, StatusCode::OK, "{:#}", off.body);
    for (visit, word) in [(&over, "over"), (&cancelled_visit, "cancelled")] {
        let before = footprint(&hub);
        let answer = hub
            .post(
                &format!("/api/v1/imbus-visits/{visit}/waiting-list"),
                waiting(&lotte, None),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{:#}", answer.body);
        assert!(
            answer.body["detail"]
                .as_str()
                .is_some_and(|d| d.contains(word)),
            "{word}: {:#}",
            answer.body
        );
        assert_eq!(footprint(&hub), before);
    }
    hub.stop().await;
}
