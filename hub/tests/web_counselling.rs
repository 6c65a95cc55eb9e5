//! The health worker's counselling day on the web: only the visits of the counsellor linked to
//! the account, first names only, outcomes and walk-ins stored through the counselling rules,
//! other roles refused, CSRF and bad input changing nothing.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Berlin;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{Browser, account, hidden_value};
use crate::common::{Fixture, TestHub, ahead, fixture, id};

fn one(hub: &TestHub, sql: &str, arg: &str) -> Option<String> {
    let (sql, arg) = (sql.to_string(), arg.to_string());
    hub.store
        .blocking(move |c| Ok(c.query_row(&sql, [arg], |r| r.get::<_, Option<String>>(0))?))
        .expect("one value")
}

fn exec(hub: &TestHub, sql: &str, args: &[&str]) {
    hub.store
        .blocking(|c| {
            c.execute(sql, rusqlite::params_from_iter(args.iter()))?;
            Ok(())
        })
        .expect("statement");
}

fn created_id(value: serde_json::Value) -> String {
    value["id"].as_str().expect("id").to_string()
}

/// What a test needs: the fixture, the health worker's password, the booked appointment at the
/// counsellor's visit (started half an hour ago) and the other counsellor's visit.
struct Day {
    f: Fixture,
    password: String,
    appointment: String,
    date: String,
    other_date: String,
}

/// Shifts a visit with its slots and appointments by `seconds` (SQL: the API books only ahead).
fn shift(hub: &TestHub, visit: &str, seconds: i64) {
    let by = seconds.to_string();
    let moved = |column: &str| {
        format!("{column} = strftime('%Y-%m-%dT%H:%M:%SZ', unixepoch({column}) + ?2, 'unixepoch')")
    };
    exec(
        hub,
        &format!(
            "UPDATE appointments SET {} WHERE slot_id IN (SELECT id FROM slots WHERE visit_id = ?1)",
            moved("starts_at")
        ),
        &[visit, &by],
    );
    exec(
        hub,
        &format!(
            "UPDATE slots SET {}, {} WHERE visit_id = ?1",
            moved("starts_at"),
            moved("ends_at")
        ),
        &[visit, &by],
    );
    exec(
        hub,
        &format!(
            "UPDATE imbus_visits SET {}, {} WHERE id = ?1",
            moved("starts_at"),
            moved("ends_at")
        ),
        &[visit, &by],
    );
}

fn start_of(hub: &TestHub, visit: &str) -> DateTime<Utc> {
    one(
        hub,
        "SELECT starts_at FROM imbus_visits WHERE id = ?1",
        visit,
    )
    .expect("start")
    .parse()
    .expect("instant")
}

fn berlin_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Berlin).format("%Y-%m-%d").to_string()
}

async fn day(hub: &TestHub) -> Day {
    let f = fixture(hub, 1).await;
    let (worker, password) = account(hub, "health_worker", "berater", Some(&f.region)).await;
    let mine = created_id(
        hub.create(
            "imbus-counsellors",
            json!({"region_id": f.region, "name": "Frau Aydin", "account_id": worker}),
        )
        .await,
    );
    let theirs = created_id(
        hub.create(
            "imbus-counsellors",
            json!({"region_id": f.region, "name": "Herr Brandt"}),
        )
        .await,
    );
    exec(
        hub,
        "UPDATE imbus_visits SET counsellor_id = ?1 WHERE id = ?2",
        &[&mine, &f.visit],
    );
    let slot = created_id(
        hub.create(
            "slots",
            json!({"region_id": f.region, "visit_id": f.visit,
                   "starts_at": ahead(f.day, 9, 20), "ends_at": ahead(f.day, 9, 40)}),
        )
        .await,
    );
    let appointment = created_id(
        hub.create(
            "appointments",
            json!({"id": id(), "region_id": f.region, "slot_id": slot, "resident_id": f.resident,
                   "topic": "health", "channel": "phone"}),
        )
        .await,
    );
    // Herr Brandt's visit in another village, with a booking of his own.
    let eilum = created_id(
        hub.create(
            "villages",
            json!({"region_id": f.region, "name": "Eilum", "municipality": "Eilum",
                   "lat": 52.15, "lon": 10.70}),
        )
        .await,
    );
    let stop = created_id(
        hub.create(
            "stops",
            json!({"region_id": f.region, "village_id": eilum, "name": "Kirche",
                   "lat": 52.151, "lon": 10.701}),
        )
        .await,
    );
    let other = created_id(
        hub.create(
            "imbus-visits",
            json!({"region_id": f.region, "village_id": eilum, "stop_id": stop,
                   "starts_at": ahead(f.day, 13, 0), "ends_at": ahead(f.day, 15, 0),
                   "counsellor": "Herr Brandt"}),
        )
        .await,
    );
    exec(
        hub,
        "UPDATE imbus_visits SET counsellor_id = ?1 WHERE id = ?2",
        &[&theirs, &other],
    );
    let other_slot = created_id(
        hub.create(
            "slots",
            json!({"region_id": f.region, "visit_id": other,
                   "starts_at": ahead(f.day, 13, 0), "ends_at": ahead(f.day, 13, 20)}),
        )
        .await,
    );
    let hans = created_id(
        hub.create(
            "residents",
            json!({"region_id": f.region, "name": "Hans Meier", "street": "Kirchweg 1",
                   "village_id": eilum, "lat": 52.15, "lon": 10.70,
                   "consent_at": "2026-01-05T10:00:00+01:00", "consent_given_to": "DRK",
                   "consent_purpose": "Beratung"}),
        )
        .await,
    );
    hub.create(
        "appointments",
        json!({"id": id(), "region_id": f.region, "slot_id": other_slot, "resident_id": hans,
               "topic": "money", "channel": "phone"}),
    )
    .await;
    // Frau Aydin's visit began half an hour ago, so outcomes and walk-ins may be recorded.
    let started = Utc::now() - Duration::minutes(30);
    let started = started - Duration::seconds(chrono::Timelike::second(&started).into());
    shift(
        hub,
        &f.visit,
        (started - start_of(hub, &f.visit)).num_seconds(),
    );
    let date = berlin_date(start_of(hub, &f.visit));
    let other_date = berlin_date(start_of(hub, &other));
    Day {
        f,
        password,
        appointment,
        date,
        other_date,
    }
}

fn appointment_state(hub: &TestHub, appointment: &str) -> Option<String> {
    one(
        hub,
        "SELECT status || '/' || topic || '/' || COALESCE(referral, '-') FROM appointments
         WHERE id = ?1",
        appointment,
    )
}

#[tokio::test]
async fn the_counsellor_sees_their_day_with_first_names_and_records_outcomes_and_walk_ins() {
    let hub = TestHub::start().await;
    let d = day(&hub).await;
    let browser = Browser::new(&hub);
    browser.login("berater", &d.password).await;
    let path = format!("/counselling?date={}", d.date);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for words in [
        "Kneitlingen",
        "Erna",
        "Gesundheit",
        "Uhr speichern",
        "Zählen",
        "Tag anzeigen",
    ] {
        assert!(page.body.contains(words), "{words}: {}", page.body);
    }
    for hidden in ["Köhler", "Eilum", "Hans", "Meier"] {
        assert!(!page.body.contains(hidden), "{hidden}: {}", page.body);
    }
    let theirs = browser
        .get(&format!("/counselling?date={}", d.other_date))
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.body.contains("Eilum"), "{}", theirs.body);
    assert!(!theirs.body.contains("Hans"), "{}", theirs.body);
    let today = browser.get("/counselling").await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.body);

    let outcome = browser
        .submit(
            &path,
            &format!("/counselling/appointments/{}/outcome", d.appointment),
            &[
                ("date", &d.date),
                ("status", "attended"),
                ("topic", "money"),
                ("referral", "counselling"),
            ],
        )
        .await;
    assert_eq!(outcome.status, StatusCode::SEE_OTHER, "{}", outcome.body);
    assert_eq!(
        outcome.location.as_deref(),
        Some(format!("/counselling?date={}&done=outcome", d.date).as_str())
    );
    assert_eq!(
        appointment_state(&hub, &d.appointment).as_deref(),
        Some("attended/money/counselling")
    );
    // Correcting it: no-show, no referral.
    let corrected = browser
        .submit(
            &path,
            &format!("/counselling/appointments/{}/outcome", d.appointment),
            &[
                ("date", &d.date),
                ("status", "no_show"),
                ("topic", "money"),
                ("referral", ""),
            ],
        )
        .await;
    assert_eq!(
        corrected.status,
        StatusCode::SEE_OTHER,
        "{}",
        corrected.body
    );
    assert_eq!(
        appointment_state(&hub, &d.appointment).as_deref(),
        Some("no_show/money/-")
    );

    let page = browser.get(&path).await;
    let entry = hidden_value(&page.body, "id").expect("walk-in id");
    let fields = [
        ("_csrf", page.csrf()),
        ("id", entry.clone()),
        ("visit_id", d.f.visit.clone()),
        ("date", d.date.clone()),
        ("topic", "care".to_string()),
        ("count", "2".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let counted = browser.post("/counselling/walk-ins", &fields).await;
    assert_eq!(counted.status, StatusCode::SEE_OTHER, "{}", counted.body);
    // The same form sent twice counts once.
    let again = browser.post("/counselling/walk-ins", &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(hub.count("walk_ins"), 1);
    assert_eq!(
        one(
            &hub,
            "SELECT topic || '/' || count || '/' || visit_id FROM walk_ins WHERE id = ?1",
            &entry
        ),
        Some(format!("care/2/{}", d.f.visit))
    );
    let page = browser.get(&path).await;
    assert!(page.body.contains("2 insgesamt"), "{}", page.body);
    assert!(page.body.contains("Pflege"), "{}", page.body);
}

#[tokio::test]
async fn other_roles_other_counsellors_and_forged_forms_are_refused() {
    let hub = TestHub::start().await;
    let d = day(&hub).await;
    let outcome_path = format!("/counselling/appointments/{}/outcome", d.appointment);
    let before = appointment_state(&hub, &d.appointment);
    let fields = |token: &str| {
        vec![
            ("_csrf".to_string(), token.to_string()),
            ("status".to_string(), "attended".to_string()),
            ("topic".to_string(), "care".to_string()),
        ]
    };
    for role in ["dispatcher", "driver"] {
        let (_, password) = account(&hub, role, &format!("konto-{role}"), Some(&d.f.region)).await;
        let browser = Browser::new(&hub);
        browser.login(&format!("konto-{role}"), &password).await;
        assert_eq!(
            browser.get("/counselling").await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
        let token = browser.get("/account/password").await.csrf();
        let sent: Vec<(String, String)> = fields(&token);
        let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            browser.post(&outcome_path, &sent).await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    hub.create(
        "accounts",
        json!({"id": id(), "username": "kuemmerer", "display_name": "Jonas Köhler",
               "role": "caregiver", "region_id": d.f.region, "caregiver_id": d.f.caregiver}),
    )
    .await;
    let password = hub::accounts::random_password();
    hub::accounts::set_password(&hub.store, "kuemmerer", &password).expect("password");
    let care = Browser::new(&hub);
    care.login("kuemmerer", &password).await;
    assert_eq!(care.get("/counselling").await.status, StatusCode::FORBIDDEN);
    let admin = Browser::new(&hub);
    admin.login(&hub.user, &hub.password).await;
    assert_eq!(
        admin.get("/counselling").await.status,
        StatusCode::FORBIDDEN
    );

    // A health worker not linked to the counsellor: told so, and may not record.
    let (_, password) = account(&hub, "health_worker", "zweite", Some(&d.f.region)).await;
    let second = Browser::new(&hub);
    second.login("zweite", &password).await;
    let page = second.get(&format!("/counselling?date={}", d.date)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("mit keiner IMBUS-Beratungskraft verknüpft"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Erna"), "{}", page.body);
    let sent = fields(&page.csrf());
    let sent: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        second.post(&outcome_path, &sent).await.status,
        StatusCode::FORBIDDEN
    );

    // The counsellor's own forms without or with a wrong token.
    let browser = Browser::new(&hub);
    browser.login("berater", &d.password).await;
    let missing = browser
        .post(&outcome_path, &[("status", "attended"), ("topic", "care")])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    let wrong = browser
        .post(
            "/counselling/walk-ins",
            &[
                ("_csrf", "falsch"),
                ("id", &id()),
                ("visit_id", &d.f.visit),
                ("topic", "care"),
                ("count", "1"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.body);
    assert_eq!(appointment_state(&hub, &d.appointment), before);
    assert_eq!(hub.count("walk_ins"), 0);
}

#[tokio::test]
async fn bad_outcomes_and_walk_ins_are_refused_and_change_nothing() {
    let hub = TestHub::start().await;
    let d = day(&hub).await;
    // Another visit of the counsellor that has not begun: no walk-ins there yet.
    let later = created_id(
        hub.create(
            "imbus-visits",
            json!({"region_id": d.f.region, "village_id": d.f.village, "stop_id": d.f.stop,
                   "starts_at": ahead(d.f.day + 1, 9, 0), "ends_at": ahead(d.f.day + 1, 10, 0),
                   "counsellor": "Frau Aydin"}),
        )
        .await,
    );
    exec(
        &hub,
        "UPDATE imbus_visits SET counsellor_id =
             (SELECT counsellor_id FROM imbus_visits WHERE id = ?1) WHERE id = ?2",
        &[&d.f.visit, &later],
    );
    let browser = Browser::new(&hub);
    browser.login("berater", &d.password).await;
    let page = browser.get(&format!("/counselling?date={}", d.date)).await;
    let token = page.csrf();
    let before = appointment_state(&hub, &d.appointment);
    let audit = hub.count("audit_log");
    let outcome_path = format!("/counselling/appointments/{}/outcome", d.appointment);
    for (status, topic, referral) in [
        ("attended", "diagnose", ""),
        ("geheilt", "care", ""),
        ("attended", "care", "pharmacy"),
    ] {
        let answer = browser
            .post(
                &outcome_path,
                &[
                    ("_csrf", &token),
                    ("status", status),
                    ("topic", topic),
                    ("referral", referral),
                ],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{status} {topic} {referral}: {}",
            answer.body
        );
    }
    let unknown = browser
        .post(
            &format!("/counselling/appointments/{}/outcome", id()),
            &[("_csrf", &token), ("status", "attended"), ("topic", "care")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    for (entry, visit, count, words) in [
        (id(), d.f.visit.clone(), "0", "zwischen 1 und 50"),
        (id(), d.f.visit.clone(), "51", "zwischen 1 und 50"),
        (id(), d.f.visit.clone(), "zwei", "zwischen 1 und 50"),
        ("kein-uuid".to_string(), d.f.visit.clone(), "1", "neu"),
        (id(), id(), "1", "gibt es nicht"),
        (id(), later.clone(), "1", "begonnen"),
    ] {
        let answer = browser
            .post(
                "/counselling/walk-ins",
                &[
                    ("_csrf", &token),
                    ("id", &entry),
                    ("visit_id", &visit),
                    ("topic", "care"),
                    ("count", count),
                ],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{entry} {visit} {count}: {}",
            answer.body
        );
        assert!(answer.body.contains(words), "{words}: {}", answer.body);
    }
    assert_eq!(appointment_state(&hub, &d.appointment), before);
    assert_eq!(hub.count("walk_ins"), 0);
    assert_eq!(hub.count("audit_log"), audit);
    let bad_date = browser.get("/counselling?date=2026-02-30").await;
    assert_eq!(bad_date.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_date.body.contains("kein gültiges Datum"),
        "{}",
        bad_date.body
    );
}
