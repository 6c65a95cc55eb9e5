//! The IMBUS console on the web: planning and publishing a cycle (one plan for a double submit),
//! the calendar with its words for cancelled, moved and replacement visits, moving a visit with
//! its appointments (caregivers told) and cancelling one, roles, CSRF and bad input that changes
//! nothing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{admin, as_caregiver, as_role};
use crate::common::{Fixture, TestHub, fixture, id};

/// The first Monday at least two days ahead (Berlin).
fn monday_ahead() -> NaiveDate {
    let mut day = Utc::now().with_timezone(&Berlin).date_naive() + Duration::days(2);
    while day.weekday() != chrono::Weekday::Mon {
        day += Duration::days(1);
    }
    day
}

/// Fails unless the fixture's visit still starts at `start` and is planned, no tour plan was made
/// and the audit log still has `audit` lines.
fn assert_nothing_changed(hub: &TestHub, f: &Fixture, start: DateTime<Utc>, audit: i64) {
    assert_eq!(hub.visit_start(&f.visit), start);
    assert_eq!(
        hub.text("SELECT status FROM imbus_visits WHERE id = ?1", &f.visit)
            .as_deref(),
        Some("planned")
    );
    assert_eq!(hub.count("tour_plans"), 0);
    assert_eq!(hub.count("audit_log"), audit);
}

/// Makes the fixture's region ready for tour planning: three villages with a frequency, a bus,
/// two counsellors.
async fn tour_region(hub: &TestHub, f: &Fixture) {
    for (name, lat, lon, every) in [
        ("Dahlum", 52.1333, 10.8167, 1),
        ("Roklum", 52.0833, 10.7333, 2),
        ("Uehrde", 52.1000, 10.7667, 2),
    ] {
        let village = hub
            .create_id(
                "villages",
                json!({"region_id": f.region, "name": name, "municipality": name, "lat": lat,
                       "lon": lon, "imbus_every_weeks": every, "imbus_visit_minutes": 90}),
            )
            .await;
        hub.create(
            "stops",
            json!({"region_id": f.region, "village_id": village, "name": "Dorfgemeinschaftshaus",
                   "lat": lat + 0.001, "lon": lon + 0.001}),
        )
        .await;
    }
    hub.create(
        "imbus-buses",
        json!({"region_id": f.region, "name": "IMBUS Elm", "depot_name": "DRK-Garage",
               "depot_lat": 52.14521, "depot_lon": 10.77813, "day_start": "08:30",
               "day_end": "16:30"}),
    )
    .await;
    for name in ["Sabine Krüger", "Mehmet Demir"] {
        hub.create(
            "imbus-counsellors",
            json!({"region_id": f.region, "name": name}),
        )
        .await;
    }
}

#[tokio::test]
async fn a_cycle_is_planned_once_and_published_into_the_calendar() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    tour_region(&hub, &f).await;
    let browser = admin(&hub).await;
    let page = browser
        .get(&format!("/console/imbus?region={}", f.region))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Zyklus planen"), "{}", page.body);
    let plan_id = crate::common::web::hidden_value(&page.body, "plan_id").expect("plan id");
    let monday = monday_ahead().to_string();
    let fields = [
        ("_csrf", page.csrf()),
        ("plan_id", plan_id.clone()),
        ("region", f.region.clone()),
        ("first_day", monday.clone()),
        ("weeks", "2".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let planned = browser.post("/console/imbus/plans", &fields).await;
    assert_eq!(planned.status, StatusCode::SEE_OTHER, "{}", planned.body);
    let target = format!("/console/imbus/plans/{plan_id}");
    assert_eq!(planned.location.as_deref(), Some(target.as_str()));
    // The same page sent twice (a double click) makes one plan.
    let again = browser.post("/console/imbus/plans", &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(hub.count("tour_plans"), 1);
    assert_eq!(
        hub.text("SELECT status FROM tour_plans WHERE id = ?1", &plan_id)
            .as_deref(),
        Some("draft")
    );

    let plan = browser.get(&target).await;
    plan.assert_shows(&[
        "Kennzahlen",
        "Entwurf",
        "Verschobene Muster",
        "Plan veröffentlichen",
    ]);
    assert!(plan.body.contains("data-confirm"), "{}", plan.body);
    assert_eq!(hub.count("imbus_visits"), 1, "a draft makes no visits");

    let published = browser
        .submit(&target, &format!("{target}/publish"), &[])
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    assert_eq!(
        hub.text("SELECT status FROM tour_plans WHERE id = ?1", &plan_id)
            .as_deref(),
        Some("published")
    );
    let made = hub.number(
        "SELECT count(*) FROM imbus_visits WHERE plan_id = ?1 AND status = 'published'",
        &plan_id,
    );
    assert!(
        made >= 4,
        "Dahlum weekly and two fortnightly villages: {made}"
    );
    assert!(
        hub.number(
            "SELECT count(*) FROM slots s JOIN imbus_visits v ON v.id = s.visit_id WHERE v.plan_id = ?1",
            &plan_id
        ) > 0
    );

    let calendar = browser
        .get(published.location.as_deref().expect("calendar"))
        .await;
    calendar.assert_shows(&[
        "<th scope=\"col\">Montag</th>",
        "Dahlum",
        "IMBUS Elm",
        "veröffentlicht",
    ]);
    // The downloads point at the public routes.
    assert!(
        calendar
            .body
            .contains(&format!("/api/v1/timetable.ics?region={}", f.region))
    );
    assert!(
        calendar
            .body
            .contains(&format!("/api/v1/gtfs.zip?region={}", f.region))
    );
    assert!(calendar.body.contains("/poster.pdf"), "{}", calendar.body);
}

/// Books the resident on a new slot of the fixture's visit at 10:00 and links the caregiver, so
/// a move or cancel has someone to tell. Answers the appointment's id.
async fn booked_with_caregiver(hub: &TestHub, f: &Fixture) -> String {
    let slot = hub
        .create_id(
            "slots",
            json!({"region_id": f.region, "visit_id": f.visit,
                   "starts_at": crate::common::ahead(f.day, 10, 0),
                   "ends_at": crate::common::ahead(f.day, 10, 20)}),
        )
        .await;
    hub.create(
        "caregiver-links",
        json!({"region_id": f.region, "caregiver_id": f.caregiver, "resident_id": f.resident,
               "consent_at": "2026-01-05T10:00:00+01:00"}),
    )
    .await;
    hub.create_id(
        "appointments",
        json!({"id": id(), "region_id": f.region, "slot_id": slot, "resident_id": f.resident,
               "topic": "care", "channel": "phone"}),
    )
    .await
}

#[tokio::test]
async fn a_moved_visit_takes_its_appointments_along_and_the_calendar_says_so() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let appointment = booked_with_caregiver(&hub, &f).await;
    let browser = as_role(&hub, "dispatcher", "disponent", &f.region).await;
    let path = format!("/console/imbus/visits/{}", f.visit);
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Besuch verlegen") && page.body.contains("Besuch absagen"));
    assert!(
        page.body.contains("Gebuchte Termine</th><td>1</td>"),
        "{}",
        page.body
    );

    let before = hub.visit_start(&f.visit);
    // The same day at 14:00, or the next working day when the fixture's day is a holiday (a
    // move onto a day without IMBUS is refused).
    let original = before.with_timezone(&Berlin).date_naive();
    let mut day = original;
    while hub::tours::holidays::holiday(day).is_some() || day.weekday().number_from_monday() > 5 {
        day += Duration::days(1);
    }
    let date = day.to_string();
    let moved = browser
        .submit(
            &path,
            &format!("{path}/move"),
            &[
                ("date", &date),
                ("time", "14:00"),
                ("reason", "Straßensperrung am Dorfplatz"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let after = hub.visit_start(&f.visit);
    let expected = Berlin
        .from_local_datetime(&day.and_hms_opt(14, 0, 0).expect("time"))
        .single()
        .expect("14:00 exists");
    assert_eq!(after, expected.with_timezone(&Utc), "14:00 Berlin");
    assert_eq!(
        hub.text(
            "SELECT moved_from FROM imbus_visits WHERE id = ?1",
            &f.visit
        ),
        Some(before.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    );
    assert_eq!(
        hub.text(
            "SELECT change_reason FROM imbus_visits WHERE id = ?1",
            &f.visit
        )
        .as_deref(),
        Some("Straßensperrung am Dorfplatz")
    );
    let appointment_start: DateTime<Utc> = hub
        .text(
            "SELECT starts_at FROM appointments WHERE id = ?1",
            &appointment,
        )
        .expect("start")
        .parse()
        .expect("instant");
    assert_eq!(
        appointment_start - after,
        Duration::hours(1),
        "the 10:00 slot went along"
    );
    assert_eq!(
        hub.number(
            "SELECT count(*) FROM notices WHERE kind = 'visit_moved' AND appointment_id = ?1",
            &appointment
        ),
        1,
        "the caregiver is told"
    );

    // A second visit, cancelled, and a third marked as a replacement: the calendar says so in
    // words.
    let other = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": f.region, "village_id": f.village, "stop_id": f.stop,
                   "starts_at": crate::common::ahead(f.day, 16, 0),
                   "ends_at": crate::common::ahead(f.day, 17, 0), "counsellor": "Frau Aydin"}),
        )
        .await;
    let other_path = format!("/console/imbus/visits/{other}");
    let cancelled = browser
        .submit(
            &other_path,
            &format!("{other_path}/cancel"),
            &[("reason", "Bus in der Werkstatt")],
        )
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.body
    );
    assert_eq!(
        hub.text(
            "SELECT status || '/' || cancel_reason FROM imbus_visits WHERE id = ?1",
            &other
        )
        .as_deref(),
        Some("cancelled/Bus in der Werkstatt")
    );
    let third = hub
        .create_id(
            "imbus-visits",
            json!({"region_id": f.region, "village_id": f.village, "stop_id": f.stop,
                   "starts_at": crate::common::ahead(f.day + 1, 9, 0),
                   "ends_at": crate::common::ahead(f.day + 1, 10, 0), "counsellor": "Frau Aydin"}),
        )
        .await;
    hub.exec(
        "UPDATE imbus_visits SET replacement = 1 WHERE id = ?1",
        &[&third],
    );
    let calendar = browser
        .get(&format!("/console/imbus?from={original}"))
        .await;
    calendar.assert_shows(&[
        "Fällt aus",
        "Bus in der Werkstatt",
        "Verlegt",
        "Straßensperrung am Dorfplatz",
        "Ersatztermin",
        "14:00–16:00 Kneitlingen",
        "Nächste 4 Wochen",
    ]);
    // The next period is one link away and shows none of these.
    let monday = original - Duration::days(i64::from(original.weekday().num_days_from_monday()));
    let later = browser
        .get(&format!(
            "/console/imbus?from={}",
            monday + Duration::days(28)
        ))
        .await;
    assert_eq!(later.status, StatusCode::OK);
    assert!(!later.body.contains("Fällt aus"), "{}", later.body);
}

#[tokio::test]
async fn other_roles_are_refused_and_forms_need_their_token() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let path = format!("/console/imbus/visits/{}", f.visit);
    for role in ["driver", "health_worker"] {
        let browser = as_role(&hub, role, &format!("konto-{role}"), &f.region).await;
        for page in ["/console/imbus", path.as_str()] {
            let answer = browser.get(page).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} {page}");
        }
        let token = browser.get("/account/password").await.csrf();
        let moved = browser
            .post(
                &format!("{path}/move"),
                &[
                    ("_csrf", &token),
                    ("date", "2030-01-07"),
                    ("time", "10:00"),
                    ("reason", "x"),
                ],
            )
            .await;
        assert_eq!(moved.status, StatusCode::FORBIDDEN, "{role}");
    }
    let care = as_caregiver(&hub, &f, "kuemmerer").await;
    assert_eq!(
        care.get("/console/imbus").await.status,
        StatusCode::FORBIDDEN
    );
    let token = care.get("/account/password").await.csrf();
    let cancelled = care
        .post(
            &format!("{path}/cancel"),
            &[("_csrf", &token), ("reason", "x")],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::FORBIDDEN);

    // A dispatcher of another region sees neither its calendar nor its visit.
    let other_region = hub
        .create_id(
            "regions",
            json!({"id": id(), "name": "Anderswo", "phone": "0531 1"}),
        )
        .await;
    let stranger = as_role(&hub, "dispatcher", "fremd", &other_region).await;
    assert_eq!(
        stranger
            .get(&format!("/console/imbus?region={}", f.region))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(stranger.get(&path).await.status, StatusCode::FORBIDDEN);

    // Without or with a wrong token nothing changes.
    let browser = admin(&hub).await;
    let audit = hub.count("audit_log");
    let start = hub.visit_start(&f.visit);
    let missing = browser
        .post(&format!("{path}/cancel"), &[("reason", "Krank")])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    let wrong = browser
        .post(
            &format!("{path}/move"),
            &[
                ("_csrf", "falsch"),
                ("date", "2030-01-07"),
                ("time", "10:00"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.body);
    let plan = browser
        .post(
            "/console/imbus/plans",
            &[
                ("plan_id", &id()),
                ("first_day", "2030-01-07"),
                ("weeks", "2"),
            ],
        )
        .await;
    assert_eq!(plan.status, StatusCode::FORBIDDEN);
    assert_nothing_changed(&hub, &f, start, audit);
}

#[tokio::test]
async fn bad_moves_and_cancels_are_refused_in_german_and_change_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let path = format!("/console/imbus/visits/{}", f.visit);
    let start = hub.visit_start(&f.visit);
    let date = start.with_timezone(&Berlin).date_naive().to_string();
    let past = (Utc::now() - Duration::days(3))
        .with_timezone(&Berlin)
        .date_naive()
        .to_string();
    let long = "x".repeat(501);
    let audit = hub.count("audit_log");
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("date", &date), ("time", "14:00"), ("reason", "  ")],
            "Grund",
        ),
        (&[("date", &date), ("time", "14:00")], "Grund"),
        (
            &[
                ("date", "2026-02-30"),
                ("time", "14:00"),
                ("reason", "Umzug"),
            ],
            "kein gültiges Datum",
        ),
        (
            &[("date", &date), ("time", "24:61"), ("reason", "Umzug")],
            "keine gültige Uhrzeit",
        ),
        (
            &[("date", &past), ("time", "14:00"), ("reason", "Umzug")],
            "Vergangenheit",
        ),
        (
            &[("date", &date), ("time", "14:00"), ("reason", &long)],
            "zu lang",
        ),
    ];
    for (fields, words) in cases {
        let answer = browser.submit(&path, &format!("{path}/move"), fields).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{fields:?}: {}",
            answer.body
        );
        assert!(answer.body.contains(words), "{words}: {}", answer.body);
    }
    for reason in ["", &long] {
        let answer = browser
            .submit(&path, &format!("{path}/cancel"), &[("reason", reason)])
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    }
    let unknown = format!("/console/imbus/visits/{}", id());
    assert_eq!(browser.get(&unknown).await.status, StatusCode::NOT_FOUND);
    let answer = browser
        .submit(
            &path,
            &format!("{unknown}/move"),
            &[("date", &date), ("time", "14:00"), ("reason", "Umzug")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    let answer = browser
        .submit(&path, &format!("{unknown}/cancel"), &[("reason", "Umzug")])
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
    let calendar = browser.get("/console/imbus?from=2026-02-30").await;
    assert_eq!(calendar.status, StatusCode::BAD_REQUEST);
    // A plan needs a Monday and 1 to 8 weeks.
    for (first_day, weeks) in [
        ("2026-02-30", "2"),
        ("2030-01-08", "2"),
        ("2030-01-07", "9"),
    ] {
        let answer = browser
            .submit(
                "/console/imbus",
                "/console/imbus/plans",
                &[
                    ("plan_id", &id()),
                    ("region", &f.region),
                    ("first_day", first_day),
                    ("weeks", weeks),
                ],
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{first_day} {weeks}: {}",
            answer.body
        );
    }
    assert_nothing_changed(&hub, &f, start, audit);

    // A visit that has begun stays as it was.
    hub.exec(
        "UPDATE imbus_visits SET starts_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-10 minutes')
         WHERE id = ?1",
        &[&f.visit],
    );
    let page = browser.get(&path).await;
    assert!(page.body.contains("hat schon begonnen"), "{}", page.body);
    let token = page.csrf();
    let moved = browser
        .post(
            &format!("{path}/move"),
            &[
                ("_csrf", &token),
                ("date", &date),
                ("time", "14:00"),
                ("reason", "Umzug"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST, "{}", moved.body);
    assert!(moved.body.contains("hat schon begonnen"), "{}", moved.body);
    let cancelled = browser
        .post(
            &format!("{path}/cancel"),
            &[("_csrf", &token), ("reason", "Krank")],
        )
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::BAD_REQUEST,
        "{}",
        cancelled.body
    );
    assert_eq!(
        hub.text("SELECT status FROM imbus_visits WHERE id = ?1", &f.visit)
            .as_deref(),
        Some("planned")
    );
    assert_eq!(hub.count("audit_log"), audit);
}
