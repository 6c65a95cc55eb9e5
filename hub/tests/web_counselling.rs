//! The health worker's counselling day on the web: only the visits of the counsellor linked to
//! the account, first names only, outcomes and walk-ins stored through the counselling rules,
//! other roles refused, CSRF and bad input changing nothing.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Berlin;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{Browser, account, as_caregiver, as_role, hidden_value};
use crate::common::{Fixture, TestHub, ahead, fixture, id};

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
    hub.exec(&format!(
            "UPDATE appointments SET {} WHERE slot_id IN (SELECT id FROM slots WHERE visit_id = ?1)",
            moved("starts_at")
        ),
        &[visit, &by],
    );
    hub.exec(
        &format!(
            "UPDATE slots SET {}, {} WHERE visit_id = ?1",
            moved("starts_at"),
            moved("ends_at")
        ),
        &[visit, &by],
    );
    hub.exec(
        &format!(
            "UPDATE imbus_visits SET {}, {} WHERE id = ?1",
            moved("starts_at"),
            moved("ends_at")
        ),
        &[visit, &by],
    );
}

fn berlin_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&Berlin).format("%Y-%m-%d").to_string()
}

async fn day(hub: &TestHub) -> Day {
    let f = fixture(hub, 1).await;
    let (worker, password) = account(hub, "health_worker", "berater", Some(&f.region)).await;
    let mine = hub
        .create_id(
            "imbus-counsellors",
            json!({"region_id": f.region, "name": "Frau Aydin", "account_id": worker}),
        )
        .await;
    let theirs = hub
        .create_id(
            "imbus-counsellors",
            json!({"region_id": f.region, "name": "Herr Brandt"}),
        )
        .await;
    hub.exec(
        "UPDATE imbus_visits SET counsellor_id = ?1 WHERE id = ?2",
        &[&mine, &f.visit],
    );
    let slot = hub
        .create_id(
            "slots",
            json!({"region_id": f.region, "visit_id": f.visit,
                   "starts_at": ahead(f.day, 9, 20), "ends_at": ahead(f.day, 9, 40)}),
        )
        .await;
    let appointment = hub
        .create_id(
            "appointments",
            json!({"id": id(), "region_id": f.region, "slot_id": slot, "resident_id": f.resident,
                   "topic": "health", "channel": "phone"}),
        )
        .await;
    // Herr Brandt's visit in another village, with a booking of his own.
    let eilum = hub
        .create_id(
            "villages",
            json!({"region_id": f.region, "name": "Eilum", "municipality": "Eilum",
                   "lat": 52.15, "lon": 10.70}),
        )
        .await;
    let stop = hub
        .create_id(
            "stops",
            json!({"region_id": f.region, "village_id": eilum, "name": "Kirche",
                   "lat": 52.151, "lon": 10.701}),
        )
        .await;
    let other = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": f.region, "village_id": eilum, "stop_id": stop,
                   "starts_at": ahead(f.day, 13, 0), "ends_at": ahead(f.day, 15, 0),
                   "counsellor": "Herr Brandt"}),
        )
        .await;
    hub.exec(
        "UPDATE imbus_visits SET counsellor_id = ?1 WHERE id = ?2",
        &[&theirs, &other],
    );
    let other_slot = hub
        .create_id(
            "slots",
            json!({"region_id": f.region, "visit_id": other,
                   "starts_at": ahead(f.day, 13, 0), "ends_at": ahead(f.day, 13, 20)}),
        )
        .await;
    let hans = hub
        .create_id(
            "residents",
            json!({"region_id": f.region, "name": "Hans Meier", "street": "Kirchweg 1",
                   "village_id": eilum, "lat": 52.15, "lon": 10.70,
                   "consent_at": "2026-01-05T10:00:00+01:00", "consent_given_to": "DRK",
                   "consent_purpose": "Beratung"}),
        )
        .await;
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
        (started - hub.visit_start(&f.visit)).num_seconds(),
    );
    let date = berlin_date(hub.visit_start(&f.visit));
    let other_date = berlin_date(hub.visit_start(&other));
    Day {
        f,
        password,
        appointment,
        date,
        other_date,
    }
}

fn appointment_state(hub: &TestHub, appointment: &str) -> Option<String> {
    hub.text(
        "SELECT status || '/' || topic || '/' || COALESCE(referral, '-') FROM appointments
         WHERE id = ?1",
        appointment,
    )
}

#[tokio::test]
async fn the_counsellor_sees_their_day_with_first_names_and_records_outcomes_and_walk_ins() {
    let hub = TestHub::start().await;
    let d = day(&hub).await;
    let browser = Browser::logged_in(&hub, "berater", &d.password).await;
    let path = format!("/counselling?date={}", d.date);
    let page = browser.get(&path).await;
    page.assert_shows(&[
        "Kneitlingen",
        "Erna",
        "Gesundheit",
        "Uhr speichern",
        "Zählen",
        "Tag anzeigen",
    ]);
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
        hub.text(
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
        let browser = as_role(&hub, role, &format!("konto-{role}"), &d.f.region).await;
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
    let care = as_caregiver(&hub, &d.f, "kuemmerer").await;
    assert_eq!(care.get("/counselling").await.status, StatusCode::FORBIDDEN);
    let admin = Browser::logged_in(&hub, &hub.user, &hub.password).await;
    assert_eq!(
        admin.get("/counselling").await.status,
        StatusCode::FORBIDDEN
    );

    // A health worker not linked to the counsellor: told so, and may not record.
    let second = as_role(&hub, "health_worker", "zweite", &d.f.region).await;
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
    let browser = Browser::logged_in(&hub, "berater", &d.password).await;
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
    let later = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": d.f.region, "village_id": d.f.village, "stop_id": d.f.stop,
                   "starts_at": ahead(d.f.day + 1, 9, 0), "ends_at": ahead(d.f.day + 1, 10, 0),
                   "counsellor": "Frau Aydin"}),
        )
        .await;
    hub.exec(
        "UPDATE imbus_visits SET counsellor_id =
             (SELECT counsellor_id FROM imbus_visits WHERE id = ?1) WHERE id = ?2",
        &[&d.f.visit, &later],
    );
    let browser = Browser::logged_in(&hub, "berater", &d.password).await;
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
