//! Health worker mode over real TLS on loopback: kiosk PINs set by an administrator or the
//! account itself (and by `hub account pin`), staff sessions opened by enrolled kiosks (right,
//! wrong and locked PINs), and appointment outcomes sent through the sync: applied once, only for
//! this kiosk's consultation hours and sessions, bad input refused with nothing changed.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{Duration, SecondsFormat, TimeZone, Utc};
use protocol::device::SYNC_PATH;
use protocol::staff::STAFF_SESSIONS_PATH;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::kiosk::Kiosk;
use crate::common::{Answer, Fixture, TestHub, ahead, answer, fixture, id};

impl Kiosk {
    async fn staff_login(&self, hub: &TestHub, session: Uuid, username: &str, pin: &str) -> Answer {
        self.post(
            hub,
            STAFF_SESSIONS_PATH,
            json!({"id": session, "username": username, "pin": pin}),
        )
        .await
    }

    /// Sends one outcome entry through the sync and returns the hub's ack.
    async fn outcome(&self, hub: &TestHub, entry: &Value) -> Value {
        let answer = self
            .post(
                hub,
                SYNC_PATH,
                json!({"api_version": 1, "cursor": 0, "outbox": [entry], "limit": 1}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
        answer.body["acks"][0].clone()
    }
}

fn outcome_entry(created_at: &str, body: Value) -> Value {
    json!({"id": Uuid::new_v4(), "kind": "appointment_outcome", "created_at": created_at,
           "body": body})
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A health-worker account of the fixture's region with a password; returns its id.
async fn health_worker(hub: &TestHub, f: &Fixture, username: &str, name: &str) -> String {
    let account = hub
        .create(
            "accounts",
            json!({"id": id(), "region_id": f.region, "username": username, "display_name": name,
                   "role": "health_worker"}),
        )
        .await;
    hub::accounts::set_password(&hub.store, username, "pass-of-the-worker").expect("password");
    account["id"].as_str().expect("id").to_string()
}

async fn set_pin_as(
    hub: &TestHub,
    user: &str,
    password: &str,
    account: &str,
    body: Value,
) -> Answer {
    answer(
        hub.client
            .post(hub.url(&format!("/api/v1/accounts/{account}/kiosk-pin")))
            .basic_auth(user, Some(password))
            .json(&body)
            .send()
            .await
            .expect("request sent"),
    )
    .await
}

fn text(hub: &TestHub, query: &str, arg: &str) -> String {
    hub.store
        .blocking(|c| Ok(c.query_row(query, [arg], |r| r.get(0))?))
        .expect("query")
}

/// `hh:mm` today in Berlin, as UTC text (the fixture's region is in Berlin).
fn today_at(hh: u32, mm: u32) -> String {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    chrono_tz::Europe::Berlin
        .from_local_datetime(&today.and_hms_opt(hh, mm, 0).expect("time"))
        .earliest()
        .expect("local time")
        .with_timezone(&Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Consultation hours at `device` and one appointment in them for `resident` (or a walk-in),
/// moved to today at `hh:mm` (the API books only ahead). Returns the appointment's id.
async fn appointment_at(
    hub: &TestHub,
    f: &Fixture,
    device: &str,
    resident: Option<&str>,
    hh: u32,
) -> String {
    let hours = hub
        .create(
            "consultation-hours",
            json!({"id": id(), "region_id": f.region, "device_id": device, "weekday": "wed",
                   "start_time": "08:00", "end_time": "12:00", "health_worker": "Frau Demir",
                   "valid_from": "2026-01-01"}),
        )
        .await;
    let slot = hub
        .create(
            "slots",
            json!({"id": id(), "region_id": f.region, "consultation_hours_id": hours["id"],
                   "starts_at": ahead(f.day, hh, 0), "ends_at": ahead(f.day, hh, 20)}),
        )
        .await;
    let mut body = json!({"id": id(), "region_id": f.region, "slot_id": slot["id"],
                          "topic": "health", "channel": "phone"});
    if let Some(resident) = resident {
        body["resident_id"] = json!(resident);
    }
    let booked = hub.create("appointments", body).await;
    let (slot, appointment) = (
        slot["id"].as_str().expect("id"),
        booked["id"].as_str().expect("id"),
    );
    let (starts, ends) = (today_at(hh, 0), today_at(hh, 20));
    hub.exec(
        "UPDATE slots SET starts_at = ?1, ends_at = ?2 WHERE id = ?3",
        &[&starts, &ends, slot],
    );
    hub.exec(
        "UPDATE appointments SET starts_at = ?1 WHERE id = ?2",
        &[&starts, appointment],
    );
    appointment.to_string()
}

/// Another kiosk in the fixture's village.
async fn other_device(hub: &TestHub, f: &Fixture) -> String {
    hub.create_id(
        "devices",
        json!({"id": id(), "region_id": f.region, "name": "Kiosk Rathaus", "stop_id": f.stop}),
    )
    .await
}

#[tokio::test]
async fn a_kiosk_pin_is_set_by_an_admin_or_the_account_itself() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let hanna = health_worker(&hub, &f, "hanna", "Hanna Demir").await;
    let otto = health_worker(&hub, &f, "otto", "Otto Brandt").await;
    let dispatcher = hub
        .create_id(
            "accounts",
            json!({"id": id(), "region_id": f.region, "username": "dora", "display_name": "Dora",
                   "role": "dispatcher"}),
        )
        .await;
    hub::accounts::set_password(&hub.store, "dora", "pass-of-dora").expect("password");

    let (admin, admin_pw) = (hub.user.clone(), hub.password.clone());
    let by_admin = set_pin_as(&hub, &admin, &admin_pw, &hanna, json!({"pin": "111111"})).await;
    assert_eq!(by_admin.status, StatusCode::OK, "{:#}", by_admin.body);
    let own = set_pin_as(
        &hub,
        "hanna",
        "pass-of-the-worker",
        &hanna,
        json!({"pin": "222222"}),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{:#}", own.body);
    let hash = text(
        &hub,
        "SELECT pin_hash FROM staff_pins WHERE account_id = ?1",
        &hanna,
    );
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("222222"));

    // Another health worker and a dispatcher may not set it, nor a wrong password; nothing
    // changes.
    for (user, password, account, status) in [
        ("hanna", "pass-of-the-worker", &otto, StatusCode::FORBIDDEN),
        ("dora", "pass-of-dora", &hanna, StatusCode::FORBIDDEN),
        ("hanna", "wrong", &hanna, StatusCode::UNAUTHORIZED),
    ] {
        let refused = set_pin_as(&hub, user, password, account, json!({"pin": "333333"})).await;
        assert_eq!(refused.status, status, "{user}: {:#}", refused.body);
    }
    assert_eq!(
        text(
            &hub,
            "SELECT pin_hash FROM staff_pins WHERE account_id = ?1",
            &hanna
        ),
        hash
    );
    assert_eq!(hub.count("staff_pins"), 1);

    // Only health workers have a kiosk PIN; bad PINs and bodies are refused.
    let cases = [
        (
            &dispatcher,
            json!({"pin": "123456"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &hanna,
            json!({"pin": "12345"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &hanna,
            json!({"pin": "1234567"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &hanna,
            json!({"pin": "12a456"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &hanna,
            json!({"pin": 123456}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (&hanna, json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            &hanna,
            json!({"pin": "123456", "note": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (&id(), json!({"pin": "123456"}), StatusCode::NOT_FOUND),
    ];
    for (account, body, status) in cases {
        let refused = set_pin_as(&hub, &admin, &admin_pw, account, body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {:#}", refused.body);
    }
    let huge = json!({"pin": "1".repeat(2_000_000)});
    let refused = set_pin_as(&hub, &admin, &admin_pw, &hanna, huge).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        text(
            &hub,
            "SELECT pin_hash FROM staff_pins WHERE account_id = ?1",
            &hanna
        ),
        hash
    );

    // Every PIN set is audited with who set it.
    let log = hub.get("/api/v1/audit-log?limit=100").await;
    let actors: Vec<&str> = log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|l| l["kind"] == "staff_pins" && l["entity_id"] == hanna.as_str())
        .map(|l| l["actor"].as_str().expect("actor"))
        .collect();
    assert_eq!(
        actors,
        ["account:hanna".to_string(), format!("account:{admin}")]
    );

    // The command line reads the PIN from stdin; a kiosk can log in with it.
    let mut cli = Command::new(env!("CARGO_BIN_EXE_hub"))
        .env_remove("DORFPUNKT_HUB_CONFIG")
        .env("DORFPUNKT_LOG", "warn")
        .args(["account", "pin", "--username", "otto", "--data-dir"])
        .arg(hub.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hub runs");
    cli.stdin
        .take()
        .expect("stdin")
        .write_all(b"654321\n")
        .expect("PIN written");
    let out = cli.wait_with_output().expect("hub ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kiosk = Kiosk::enrol(&hub, &f.device).await;
    let login = kiosk
        .staff_login(&hub, Uuid::new_v4(), "otto", "654321")
        .await;
    assert_eq!(login.status, StatusCode::CREATED, "{:#}", login.body);
    assert_eq!(login.body["display_name"], "Otto Brandt");
}

#[tokio::test]
async fn a_kiosk_logs_in_with_the_right_pin_and_is_locked_out_after_five_wrong_ones() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let hanna = health_worker(&hub, &f, "hanna", "Hanna Demir").await;
    staff_pin(&hub, &hanna, "246810").await;
    let here = appointment_at(&hub, &f, &f.device, Some(&f.resident), 9).await;
    let walk_in = appointment_at(&hub, &f, &f.device, None, 10).await;
    let elsewhere_device = other_device(&hub, &f).await;
    let elsewhere = appointment_at(&hub, &f, &elsewhere_device, Some(&f.resident), 11).await;
    let kiosk = Kiosk::enrol(&hub, &f.device).await;

    let session = Uuid::new_v4();
    let opened = kiosk.staff_login(&hub, session, "hanna", "246810").await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:#}", opened.body);
    assert_eq!(opened.body["session_id"], session.to_string());
    assert_eq!(opened.body["display_name"], "Hanna Demir");
    let expires: chrono::DateTime<Utc> = opened.body["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("an instant");
    let hours = (expires - Utc::now()).num_minutes();
    assert!((11 * 60..=12 * 60).contains(&hours), "{hours} minutes");
    // Today's appointments at this kiosk, the resident by first name only.
    let list = opened.body["appointments"]
        .as_array()
        .expect("appointments");
    let ids: Vec<&str> = list.iter().map(|a| a["id"].as_str().expect("id")).collect();
    assert_eq!(ids, [here.as_str(), walk_in.as_str()], "{list:#?}");
    assert!(!ids.contains(&elsewhere.as_str()));
    assert_eq!(list[0]["first_name"], "Erna");
    assert_eq!(list[0]["topic"], "health");
    assert_eq!(list[0]["status"], "booked");
    assert!(list[0]["booking_code"].as_str().is_some());
    assert_eq!(list[1]["first_name"], Value::Null);
    assert!(!opened.body.to_string().contains("Köhler"));

    // The same id again is the same session; from another kiosk it is refused.
    let again = kiosk.staff_login(&hub, session, "hanna", "246810").await;
    assert_eq!(again.status, StatusCode::CREATED, "{:#}", again.body);
    assert_eq!(again.body["expires_at"], opened.body["expires_at"]);
    assert_eq!(hub.count("staff_sessions"), 1);
    let other_kiosk = Kiosk::enrol(&hub, &elsewhere_device).await;
    let stolen = other_kiosk
        .staff_login(&hub, session, "hanna", "246810")
        .await;
    assert_eq!(stolen.status, StatusCode::CONFLICT, "{:#}", stolen.body);

    // A wrong PIN and an unknown username get the same answer.
    let wrong_pin = kiosk
        .staff_login(&hub, Uuid::new_v4(), "hanna", "000000")
        .await;
    let wrong_user = kiosk
        .staff_login(&hub, Uuid::new_v4(), "hannah", "246810")
        .await;
    for refused in [&wrong_pin, &wrong_user] {
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{:#}",
            refused.body
        );
        assert!(refused.content_type.starts_with("application/problem+json"));
    }
    let mut a = wrong_pin.body.clone();
    let mut b = wrong_user.body.clone();
    a["request_id"] = Value::Null;
    b["request_id"] = Value::Null;
    assert_eq!(a, b);

    // Four more wrong tries lock the PIN: then even the right one is refused with 423.
    for _ in 0..4 {
        let refused = kiosk
            .staff_login(&hub, Uuid::new_v4(), "hanna", "135790")
            .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    let locked = kiosk
        .staff_login(&hub, Uuid::new_v4(), "hanna", "246810")
        .await;
    assert_eq!(locked.status, StatusCode::LOCKED, "{:#}", locked.body);
    assert_eq!(hub.count("staff_sessions"), 1);
    // After the 15 minutes the right PIN works again.
    hub.exec(
        "UPDATE staff_pins SET locked_until = ?1",
        &[&(Utc::now() - Duration::seconds(1)).to_rfc3339_opts(SecondsFormat::Secs, true)],
    );
    let later = kiosk
        .staff_login(&hub, Uuid::new_v4(), "hanna", "246810")
        .await;
    assert_eq!(later.status, StatusCode::CREATED, "{:#}", later.body);
    assert_eq!(hub.count("staff_sessions"), 2);

    // Bad input is refused and opens nothing.
    let bad = [
        json!({"id": id(), "username": "hanna", "pin": "24681"}),
        json!({"id": id(), "username": "hanna", "pin": 246810}),
        json!({"id": id(), "pin": "246810"}),
        json!({"id": "not-a-uuid", "username": "hanna", "pin": "246810"}),
        json!({"id": id(), "username": "hanna", "pin": "246810", "badge": "x"}),
        json!({"id": id(), "username": "h".repeat(101), "pin": "246810"}),
    ];
    for body in bad {
        let refused = kiosk.post(&hub, STAFF_SESSIONS_PATH, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:#}",
            refused.body
        );
    }
    let huge = kiosk
        .post(
            &hub,
            STAFF_SESSIONS_PATH,
            json!({"id": id(), "username": "x".repeat(2_000_000), "pin": "246810"}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without a device certificate there is no login at all.
    let anonymous = answer(
        hub.client
            .post(hub.url(STAFF_SESSIONS_PATH))
            .json(&json!({"id": id(), "username": "hanna", "pin": "246810"}))
            .send()
            .await
            .expect("request sent"),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(hub.count("staff_sessions"), 2);

    // Opening a session and reading the list are audited as the health worker.
    let log = hub.get("/api/v1/audit-log?limit=200").await;
    let items = log.body["items"].as_array().expect("items");
    assert!(items.iter().any(|l| l["actor"] == "account:hanna"
        && l["action"] == "create"
        && l["kind"] == "staff_sessions"));
    assert!(items.iter().any(|l| l["actor"] == "account:hanna"
        && l["action"] == "list"
        && l["kind"] == "appointments"));
}

async fn staff_pin(hub: &TestHub, account: &str, pin: &str) {
    let set = hub
        .post(
            &format!("/api/v1/accounts/{account}/kiosk-pin"),
            json!({ "pin": pin }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:#}", set.body);
}

fn accepted(ack: &Value) -> &Value {
    assert_eq!(ack["outcome"], "accepted", "{ack:#}");
    &ack["record"]
}

fn refused(ack: &Value) -> (u64, Option<&str>) {
    assert_eq!(ack["outcome"], "refused", "{ack:#}");
    (
        ack["status"].as_u64().expect("status"),
        ack["field"].as_str(),
    )
}

#[tokio::test]
async fn outcomes_arrive_through_the_sync_once_and_only_for_this_kiosk() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let hanna = health_worker(&hub, &f, "hanna", "Hanna Demir").await;
    staff_pin(&hub, &hanna, "246810").await;
    let here = appointment_at(&hub, &f, &f.device, Some(&f.resident), 9).await;
    let elsewhere_device = other_device(&hub, &f).await;
    let elsewhere = appointment_at(&hub, &f, &elsewhere_device, None, 11).await;
    let kiosk = Kiosk::enrol(&hub, &f.device).await;
    let other_kiosk = Kiosk::enrol(&hub, &elsewhere_device).await;
    let session = Uuid::new_v4();
    let opened = kiosk.staff_login(&hub, session, "hanna", "246810").await;
    assert_eq!(opened.status, StatusCode::CREATED, "{:#}", opened.body);

    let outcome = |appointment: &str, status: &str, topic: &str, referral: Value| {
        json!({"session_id": session, "appointment_id": appointment, "status": status,
               "topic": topic, "referral": referral})
    };
    let entry = outcome_entry(
        &now_text(),
        outcome(&here, "attended", "money", json!("counselling")),
    );
    let ack = kiosk.outcome(&hub, &entry).await;
    assert_eq!(accepted(&ack)["status"], "attended");
    let stored = |column: &str| {
        text(
            &hub,
            &format!(
                "SELECT CAST(COALESCE({column}, '-') AS TEXT) FROM appointments WHERE id = ?1"
            ),
            &here,
        )
    };
    assert_eq!(stored("status"), "attended");
    assert_eq!(stored("topic"), "money");
    assert_eq!(stored("referral"), "counselling");
    let version = stored("version");
    // The same entry again: the same answer, nothing written.
    let repeat = kiosk.outcome(&hub, &entry).await;
    assert_eq!(repeat, ack);
    assert_eq!(stored("version"), version);
    // Audited as the health worker, not the kiosk.
    let log = hub.get("/api/v1/audit-log?limit=50").await;
    assert!(
        log.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|l| {
                l["actor"] == "account:hanna"
                    && l["action"] == "update"
                    && l["entity_id"] == here.as_str()
            })
    );

    // A correction later in the session; no referral.
    let ack = kiosk
        .outcome(
            &hub,
            &outcome_entry(&now_text(), outcome(&here, "no_show", "care", Value::Null)),
        )
        .await;
    assert_eq!(accepted(&ack)["status"], "no_show");
    assert_eq!(stored("referral"), "-");

    // Refused, each with nothing changed.
    let before = (stored("status"), stored("topic"), stored("version"));
    let now = now_text();
    let cases: Vec<(&Kiosk, Value, u64)> = vec![
        // Another kiosk's appointment, and this session at another kiosk.
        (
            &kiosk,
            outcome_entry(&now, outcome(&elsewhere, "attended", "care", Value::Null)),
            422,
        ),
        (
            &other_kiosk,
            outcome_entry(&now, outcome(&elsewhere, "attended", "care", Value::Null)),
            422,
        ),
        // Wrong types and values, unknown ids, free text.
        (
            &kiosk,
            outcome_entry(&now, outcome(&here, "cured", "care", Value::Null)),
            422,
        ),
        (
            &kiosk,
            outcome_entry(&now, outcome(&here, "attended", "diabetes", Value::Null)),
            422,
        ),
        (
            &kiosk,
            outcome_entry(&now, outcome(&here, "attended", "care", json!("oncology"))),
            422,
        ),
        (
            &kiosk,
            outcome_entry(&now, outcome(&here, "attended", "care", json!(7))),
            422,
        ),
        (
            &kiosk,
            outcome_entry(&now, outcome(&id(), "attended", "care", Value::Null)),
            422,
        ),
        (
            &kiosk,
            outcome_entry(
                &now,
                outcome(&"x".repeat(5000), "attended", "care", Value::Null),
            ),
            422,
        ),
        (
            &kiosk,
            outcome_entry(
                &now,
                json!({"session_id": id(), "appointment_id": here,
                  "status": "attended", "topic": "care"}),
            ),
            422,
        ),
        (
            &kiosk,
            outcome_entry(
                &now,
                json!({"session_id": session, "appointment_id": here,
                  "status": "attended", "topic": "care", "note": "blood pressure high"}),
            ),
            422,
        ),
        (
            &kiosk,
            outcome_entry(&now, json!({"session_id": session, "appointment_id": here})),
            422,
        ),
        (
            &kiosk,
            outcome_entry(
                &now,
                json!({"session_id": 5, "appointment_id": here,
                  "status": "attended", "topic": "care"}),
            ),
            422,
        ),
        // Made before the session began.
        (
            &kiosk,
            outcome_entry(
                "2020-01-01T10:00:00Z",
                outcome(&here, "attended", "care", Value::Null),
            ),
            422,
        ),
    ];
    for (sender, entry, status) in cases {
        let ack = sender.outcome(&hub, &entry).await;
        assert_eq!(refused(&ack).0, status, "{entry}: {ack:#}");
    }
    assert_eq!(
        (stored("status"), stored("topic"), stored("version")),
        before
    );

    // A kiosk that was offline: the session ended an hour ago, the entry was made while it ran.
    let hour =
        |h: i64| (Utc::now() + Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true);
    // Puts the session and the appointment these many hours from now.
    let session_at = |issued: i64, expires: i64, starts: i64| {
        hub.exec(
            "UPDATE staff_sessions SET issued_at = ?1, expires_at = ?2 WHERE id = ?3",
            &[&hour(issued), &hour(expires), &session.to_string()],
        );
        hub.exec(
            "UPDATE appointments SET starts_at = ?1 WHERE id = ?2",
            &[&hour(starts), &here],
        );
    };
    session_at(-13, -1, -12);
    let late = kiosk
        .outcome(
            &hub,
            &outcome_entry(
                &hour(-2),
                outcome(&here, "attended", "housing", Value::Null),
            ),
        )
        .await;
    assert_eq!(accepted(&late)["status"], "attended");
    // More than a day after the session ended it is too late.
    session_at(-40, -28, -39);
    let too_late = kiosk
        .outcome(
            &hub,
            &outcome_entry(
                &hour(-30),
                outcome(&here, "no_show", "housing", Value::Null),
            ),
        )
        .await;
    assert_eq!(refused(&too_late), (422, Some("session_id")));
    assert_eq!(stored("status"), "attended");
}
