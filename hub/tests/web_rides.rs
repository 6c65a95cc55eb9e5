//! Web pages: rides. The day view, booking on the phone, moving, cancelling, no-shows and
//! re-optimising, over the real hub with a browser-like client; the database proves the effects.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{Browser, Page, account, hidden_value};
use crate::common::{Fixture, TestHub, ahead, fixture, id};

/// A shift of the fixture's vehicle on the fixture's day.
async fn shift(hub: &TestHub, f: &Fixture, from: u32, to: u32) -> String {
    hub.create(
        "shifts",
        json!({"id": id(), "region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Frau Peters",
               "starts_at": ahead(f.day, from, 0), "ends_at": ahead(f.day, to, 0)}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// The fixture's day as the date input sends it.
fn day_of(f: &Fixture) -> String {
    ahead(f.day, 12, 0)[..10].to_string()
}

/// An admin's browser, logged in.
async fn admin(hub: &TestHub) -> Browser<'_> {
    let browser = Browser::new(hub);
    browser.login(&hub.user, &hub.password).await;
    browser
}

/// The booking form's page for the fixture's resident.
fn form_path(f: &Fixture) -> String {
    format!(
        "/console/rides/book?region={}&resident={}",
        f.region, f.resident
    )
}

/// Fields of a phone booking to the practice, arriving by `time` on the fixture's day.
fn booking(f: &Fixture, form_id: &str, day: &str, time: &str) -> Vec<(&'static str, String)> {
    vec![
        ("id", form_id.to_string()),
        ("region", f.region.clone()),
        ("resident", f.resident.clone()),
        ("from", "home".into()),
        ("to", format!("destination:{}", f.destination)),
        ("date", day.to_string()),
        ("time_kind", "appointment".into()),
        ("time", time.to_string()),
        ("passengers", "1".into()),
        ("walker", "on".into()),
    ]
}

/// Posts owned fields.
async fn post(browser: &Browser<'_>, path: &str, fields: &[(&str, String)]) -> Page {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(path, &fields).await
}

/// Books through the form with the form's own ride id; returns it and the answer page.
async fn book(browser: &Browser<'_>, f: &Fixture, time: &str) -> (String, Page) {
    let form = browser.get(&form_path(f)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let ride = hidden_value(&form.body, "id").expect("a ride id in the form");
    let mut fields = vec![("_csrf", form.csrf())];
    fields.extend(booking(f, &ride, &day_of(f), time));
    let page = post(browser, "/console/rides/book", &fields).await;
    (ride, page)
}

fn query_text(hub: &TestHub, sql: &str, id: &str) -> Option<String> {
    hub.store
        .blocking(|c| Ok(c.query_row(sql, [id], |r| r.get(0))?))
        .expect("query")
}

fn ride_count(hub: &TestHub) -> i64 {
    hub.count("ride_requests")
}

#[tokio::test]
async fn a_phone_booking_plans_at_once_and_a_second_submit_books_nothing_more() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    // The search finds the resident by name.
    let found = browser
        .get(&format!(
            "/console/rides/book?region={}&q=K%C3%B6hler",
            f.region
        ))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.body.contains("Für Erna Köhler buchen"),
        "{}",
        found.body
    );
    let (ride, page) = book(&browser, &f, "10:00").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Die Fahrt ist eingeplant"),
        "{}",
        page.body
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT channel FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("phone")
    );
    assert!(
        query_text(
            &hub,
            "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
            &ride
        )
        .is_some()
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT booked_by FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("account:admin")
    );
    // The same form sent again: the first answer, no second ride.
    let page = browser.get(&form_path(&f)).await;
    let day = day_of(&f);
    let mut fields = vec![("_csrf", page.csrf())];
    fields.extend(booking(&f, &ride, &day, "10:00"));
    let again = post(&browser, "/console/rides/book", &fields).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert!(again.body.contains("keine zweite Fahrt"), "{}", again.body);
    assert_eq!(ride_count(&hub), 1);

    // The day view shows the stop in the timeline and the table, first name only, and is audited.
    let view = browser
        .get(&format!("/console/rides?region={}&day={day}", f.region))
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert!(view.body.contains("role=\"img\""), "{}", view.body);
    assert!(
        view.body.contains("Abholung") && view.body.contains(">Erna<"),
        "{}",
        view.body
    );
    assert!(view.body.contains("Rollator"));
    assert!(!view.body.contains("Köhler"), "no surname on the day view");
    let audited: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log WHERE actor = 'account:admin' AND action = 'list'
                 AND kind = 'ride_requests'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(audited >= 1);
}

#[tokio::test]
async fn a_refused_booking_offers_alternatives_that_book() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    // The bus only runs in the morning: an afternoon appointment is refused.
    shift(&hub, &f, 7, 10).await;
    let browser = admin(&hub).await;
    let (ride, page) = book(&browser, &f, "15:00").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Die Fahrt ist so nicht möglich"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Diese Zeit buchen"), "{}", page.body);
    assert!(
        query_text(
            &hub,
            "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
            &ride
        )
        .is_none()
    );
    // The day lists it as not served, with the reason and what was offered.
    let view = browser
        .get(&format!(
            "/console/rides?region={}&day={}",
            f.region,
            day_of(&f)
        ))
        .await;
    assert!(
        view.body.contains("Fahrtwünsche ohne Platz"),
        "{}",
        view.body
    );
    assert!(
        view.body
            .contains("Zu dieser Zeit ist die Fahrt nicht möglich")
    );
    assert!(
        view.body.contains("Offene Rückrufbitten"),
        "on the call-back queue"
    );
    // The first alternative's button books it.
    let action = format!("/console/rides/{ride}/move");
    let at = page.body.find(&action).expect("an alternative form");
    let form = &page.body[at..];
    let date = hidden_value(form, "date").expect("date");
    let time = hidden_value(form, "time").expect("time");
    let moved = browser
        .post(
            &action,
            &[("_csrf", &page.csrf()), ("date", &date), ("time", &time)],
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert!(
        query_text(
            &hub,
            "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
            &ride
        )
        .is_some()
    );
    assert_eq!(ride_count(&hub), 1);
}

#[tokio::test]
async fn moving_keeps_the_promise_unless_the_new_time_gets_one() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 12).await;
    let browser = admin(&hub).await;
    let (ride, _) = book(&browser, &f, "10:00").await;
    let path = format!("/console/rides/{ride}");
    let day = day_of(&f);
    let moved = browser
        .submit(
            &path,
            &format!("{path}/move"),
            &[("date", &day), ("time", "11:00")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let appointment = query_text(
        &hub,
        "SELECT appointment_at FROM ride_requests WHERE id = ?1",
        &ride,
    );
    let wanted: chrono::DateTime<chrono::Utc> = ahead(f.day, 11, 0).parse().unwrap();
    assert_eq!(
        appointment,
        Some(wanted.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    );
    let window = query_text(
        &hub,
        "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
        &ride,
    );
    assert!(window.is_some());
    // No bus in the afternoon: refused, and the ride keeps its time and window.
    let refused = browser
        .submit(
            &path,
            &format!("{path}/move"),
            &[("date", &day), ("time", "16:00")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("nicht verlegt"));
    assert_eq!(
        query_text(
            &hub,
            "SELECT appointment_at FROM ride_requests WHERE id = ?1",
            &ride
        ),
        appointment
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
            &ride
        ),
        window
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("confirmed")
    );
}

#[tokio::test]
async fn cancel_and_no_show_go_through_the_ride_rules() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    let (first, _) = book(&browser, &f, "10:00").await;
    let path = format!("/console/rides/{first}");
    let cancelled = browser
        .submit(
            &path,
            &format!("{path}/cancel"),
            &[("reason", "Termin abgesagt")],
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert!(cancelled.body.contains("Die Fahrt ist abgesagt"));
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &first
        )
        .as_deref(),
        Some("cancelled")
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT status_reason FROM ride_requests WHERE id = ?1",
            &first
        )
        .as_deref(),
        Some("Termin abgesagt")
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT outcome FROM ride_requests WHERE id = ?1",
            &first
        )
        .as_deref(),
        Some("cancelled")
    );

    let (second, _) = book(&browser, &f, "15:00").await;
    let path = format!("/console/rides/{second}");
    // Before the pickup window: refused, nothing changed.
    let early = browser.submit(&path, &format!("{path}/no-show"), &[]).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.body);
    assert!(
        early.body.contains("Abholfenster hat noch nicht begonnen"),
        "{}",
        early.body
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &second
        )
        .as_deref(),
        Some("confirmed")
    );
    // Once the window has begun (set back for the test), the no-show is recorded.
    hub.store
        .blocking(|c| {
            c.execute(
                "UPDATE ride_requests SET pickup_window_start = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-5 minutes') WHERE id = ?1",
                [&second],
            )?;
            Ok(())
        })
        .unwrap();
    let missed = browser.submit(&path, &format!("{path}/no-show"), &[]).await;
    assert_eq!(missed.status, StatusCode::OK, "{}", missed.body);
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &second
        )
        .as_deref(),
        Some("no_show")
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT outcome FROM ride_requests WHERE id = ?1",
            &second
        )
        .as_deref(),
        Some("no_show")
    );
}

#[tokio::test]
async fn replanning_a_day_shows_figures_before_and_after() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    let (ride, _) = book(&browser, &f, "10:00").await;
    let window = query_text(
        &hub,
        "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
        &ride,
    );
    let day = day_of(&f);
    let view = format!("/console/rides?region={}&day={day}", f.region);
    let page = browser
        .submit(
            &view,
            "/console/rides/replan",
            &[("region", &f.region), ("day", &day)],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Fahrzeit (Minuten)") && page.body.contains("Bediente Fahrten"),
        "{}",
        page.body
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT pickup_window_start FROM ride_requests WHERE id = ?1",
            &ride
        ),
        window
    );
    // A day without a shift has nothing to plan.
    let empty = ahead(f.day + 1, 12, 0)[..10].to_string();
    let page = browser
        .submit(
            &view,
            "/console/rides/replan",
            &[("region", &f.region), ("day", &empty)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let runs: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log WHERE kind = 'ride_plans' AND actor = 'account:admin'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn other_roles_and_other_regions_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    let (ride, _) = book(&browser, &f, "10:00").await;
    let (_, driver) = account(&hub, "driver", "fahrer", Some(&f.region)).await;
    let (_, health) = account(&hub, "health_worker", "beraterin", Some(&f.region)).await;
    hub.create(
        "accounts",
        json!({"id": id(), "username": "kuemmerer", "display_name": "Jonas", "role": "caregiver",
               "region_id": f.region, "caregiver_id": f.caregiver}),
    )
    .await;
    let carer = hub::accounts::random_password();
    hub::accounts::set_password(&hub.store, "kuemmerer", &carer).unwrap();
    for (user, password) in [
        ("fahrer", &driver),
        ("beraterin", &health),
        ("kuemmerer", &carer),
    ] {
        let other = Browser::new(&hub);
        other.login(user, password).await;
        for path in [
            "/console/rides".to_string(),
            format!("/console/rides/{ride}"),
            form_path(&f),
        ] {
            let page = other.get(&path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{user} {path}");
        }
    }
    // A dispatcher of another region sees neither the region nor its rides, and cannot act.
    let other_region = hub
        .create(
            "regions",
            json!({"id": id(), "name": "Harz", "phone": "05321 1"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, password) = account(&hub, "dispatcher", "dispo", Some(&other_region)).await;
    let dispo = Browser::new(&hub);
    dispo.login("dispo", &password).await;
    let own = dispo.get("/console/rides").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let page = dispo
        .get(&format!("/console/rides?region={}", f.region))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = dispo.get(&format!("/console/rides/{ride}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let cancel = dispo
        .post(
            &format!("/console/rides/{ride}/cancel"),
            &[("_csrf", &own.csrf()), ("reason", "x")],
        )
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN);
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("confirmed")
    );
    // A dispatcher of the region may.
    let (_, password) = account(&hub, "dispatcher", "dispo2", Some(&f.region)).await;
    let mine = Browser::new(&hub);
    mine.login("dispo2", &password).await;
    let page = mine.get(&format!("/console/rides/{ride}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

#[tokio::test]
async fn forms_without_the_token_and_unknown_rides_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    let (ride, _) = book(&browser, &f, "10:00").await;
    let cancel = browser
        .post(
            &format!("/console/rides/{ride}/cancel"),
            &[("reason", "ohne Token")],
        )
        .await;
    assert_eq!(cancel.status, StatusCode::FORBIDDEN);
    let form = browser.get(&form_path(&f)).await;
    let new_id = hidden_value(&form.body, "id").unwrap();
    let day = day_of(&f);
    let booked = post(
        &browser,
        "/console/rides/book",
        &booking(&f, &new_id, &day, "11:00"),
    )
    .await;
    assert_eq!(booked.status, StatusCode::FORBIDDEN);
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("confirmed")
    );
    assert_eq!(ride_count(&hub), 1);

    let unknown = id();
    assert_eq!(
        browser
            .get(&format!("/console/rides/{unknown}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page = browser
        .submit(
            &format!("/console/rides/{ride}"),
            &format!("/console/rides/{unknown}/cancel"),
            &[("reason", "weg")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_booking_input_is_refused_and_changes_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    let day = day_of(&f);
    let yesterday = ahead(-1, 12, 0)[..10].to_string();
    let long = "x".repeat(600);
    let stranger = id();
    let cases: Vec<(&str, &str, String)> = vec![
        ("unknown resident", "resident", stranger),
        ("no such date", "date", "2026-02-30".into()),
        ("no such time", "time", "25:00".into()),
        ("in the past", "date", yesterday),
        ("oversized", "time", long.clone()),
        ("bad place", "to", "somewhere".into()),
        ("passengers", "passengers", "12".into()),
    ];
    for (what, field, value) in &cases {
        let form = browser.get(&form_path(&f)).await;
        let new_id = hidden_value(&form.body, "id").unwrap();
        let mut fields: Vec<(&str, String)> = vec![("_csrf", form.csrf())];
        for (k, v) in booking(&f, &new_id, &day, "10:00") {
            fields.push((k, if k == *field { value.clone() } else { v }));
        }
        let page = post(&browser, "/console/rides/book", &fields).await;
        assert_eq!(
            page.status,
            StatusCode::BAD_REQUEST,
            "{what}: {}",
            page.body
        );
        assert_eq!(ride_count(&hub), 0, "{what}");
    }
    // A form without its fields.
    let page = browser
        .submit(
            &form_path(&f),
            "/console/rides/book",
            &[("region", &f.region)],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // A move to an impossible time or with an oversized reason on cancel.
    let (ride, _) = book(&browser, &f, "10:00").await;
    let path = format!("/console/rides/{ride}");
    let page = browser
        .submit(
            &path,
            &format!("{path}/move"),
            &[("date", &day), ("time", "24:30")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let page = browser
        .submit(&path, &format!("{path}/cancel"), &[("reason", &long)])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        query_text(
            &hub,
            "SELECT status FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("confirmed")
    );
    let page = browser
        .get(&format!(
            "/console/rides?region={}&day=2026-13-01",
            f.region
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_way_back_is_booked_with_the_ride_and_once() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let browser = admin(&hub).await;
    let form = browser.get(&form_path(&f)).await;
    let ride = hidden_value(&form.body, "id").unwrap();
    let back = hidden_value(&form.body, "return_id").unwrap();
    let mut fields = vec![("_csrf", form.csrf()), ("return_id", back.clone())];
    fields.extend(booking(&f, &ride, &day_of(&f), "10:00"));
    fields.push(("return_time", "11:30".into()));
    for _ in 0..2 {
        let page = post(&browser, "/console/rides/book", &fields).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Rückfahrt"), "{}", page.body);
    }
    assert_eq!(ride_count(&hub), 2);
    assert_eq!(
        query_text(
            &hub,
            "SELECT return_of FROM ride_requests WHERE id = ?1",
            &back
        )
        .as_deref(),
        Some(ride.as_str())
    );
    assert_eq!(
        query_text(
            &hub,
            "SELECT channel FROM ride_requests WHERE id = ?1",
            &back
        )
        .as_deref(),
        Some("phone")
    );
    assert!(
        query_text(
            &hub,
            "SELECT from_destination_id FROM ride_requests WHERE id = ?1",
            &back
        )
        .is_some_and(|d| d == f.destination)
    );
}

/// A resident's call-back request from a kiosk (counselling, name and phone only); its id.
async fn kiosk_call_back(hub: &TestHub, f: &Fixture, name: &str) -> String {
    hub.create(
        "call-backs",
        json!({"id": id(), "region_id": f.region, "kind": "counselling", "contact_name": name,
               "contact_phone": "05332 4711", "topic": "money"}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Status, resolution and who resolved a call-back, as one text.
fn call_back_state(hub: &TestHub, id: &str) -> String {
    query_text(
        hub,
        "SELECT status || '/' || COALESCE(resolution, '-') || '/' || COALESCE(resolved_by, '-')
         FROM call_backs WHERE id = ?1",
        id,
    )
    .expect("call-back")
}

fn day_page(f: &Fixture) -> String {
    format!("/console/rides?region={}&day={}", f.region, day_of(f))
}

#[tokio::test]
async fn a_dispatcher_marks_a_call_back_done_with_how_it_ended() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, 7, 16).await;
    let first = kiosk_call_back(&hub, &f, "Frau Nowak").await;
    let second = kiosk_call_back(&hub, &f, "Herr Brandt").await;
    let (_, password) = account(&hub, "dispatcher", "dispo", Some(&f.region)).await;
    let dispo = Browser::new(&hub);
    dispo.login("dispo", &password).await;

    let day = dispo.get(&day_page(&f)).await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.body);
    assert!(day.body.contains("Frau Nowak") && day.body.contains("Herr Brandt"));
    let action = format!("/console/rides/call-backs/{first}/done");
    assert!(day.body.contains(&action), "{}", day.body);
    assert!(day.body.contains("Nicht erreicht"));
    // A counselling call-back cannot be closed as a turned-down ride: not offered, and refused.
    assert!(!day.body.contains("value=\"turned_down\""));
    let audit_before = hub.count("audit_log");
    let turned_down = dispo
        .post(
            &action,
            &[("_csrf", &day.csrf()), ("resolution", "turned_down")],
        )
        .await;
    assert_eq!(turned_down.status, StatusCode::BAD_REQUEST);
    assert_eq!(call_back_state(&hub, &first), "open/-/-");
    assert_eq!(hub.count("audit_log"), audit_before);

    let done = dispo
        .post(
            &action,
            &[
                ("_csrf", &day.csrf()),
                ("resolution", "unreachable"),
                ("region", &f.region),
                ("day", &day_of(&f)),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let back = done.location.expect("back to the day");
    assert!(back.contains(&day_of(&f)), "{back}");
    assert_eq!(
        call_back_state(&hub, &first),
        "done/unreachable/account:dispo"
    );
    let audited: i64 = hub
        .store
        .blocking({
            let first = first.clone();
            move |c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM audit_log WHERE action = 'update' AND kind = 'call_backs'
                     AND entity_id = ?1 AND actor = 'account:dispo'",
                    [&first],
                    |r| r.get(0),
                )?)
            }
        })
        .unwrap();
    assert_eq!(audited, 1);
    // The queue no longer shows it, and says so; the other stays open.
    let after = dispo.get(&back).await;
    assert!(
        after.body.contains("als erledigt vermerkt"),
        "{}",
        after.body
    );
    assert!(!after.body.contains("Frau Nowak"));
    assert!(after.body.contains("Herr Brandt"));
    assert_eq!(call_back_state(&hub, &second), "open/-/-");

    // Done already: refused, the first resolution stays.
    let again = dispo
        .post(&action, &[("_csrf", &day.csrf()), ("resolution", "served")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("schon erledigt"));
    assert_eq!(
        call_back_state(&hub, &first),
        "done/unreachable/account:dispo"
    );

    // A ride's call-back may be closed as turned down, which closes the ride with that outcome.
    let browser = admin(&hub).await;
    let (ride, _) = book(&browser, &f, "10:00").await;
    let ride_call_back = hub
        .create(
            "call-backs",
            json!({"region_id": f.region, "kind": "ride", "ride_request_id": ride,
                   "reason": "no_capacity_at_that_time"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let day = dispo.get(&day_page(&f)).await;
    assert!(day.body.contains("value=\"turned_down\""));
    let done = dispo
        .post(
            &format!("/console/rides/call-backs/{ride_call_back}/done"),
            &[("_csrf", &day.csrf()), ("resolution", "turned_down")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        query_text(
            &hub,
            "SELECT outcome FROM ride_requests WHERE id = ?1",
            &ride
        )
        .as_deref(),
        Some("turned_down")
    );
}

#[tokio::test]
async fn closing_a_call_back_refuses_bad_input_other_roles_and_missing_tokens() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let call_back = kiosk_call_back(&hub, &f, "Frau Nowak").await;
    let action = format!("/console/rides/call-backs/{call_back}/done");
    let browser = admin(&hub).await;
    let day = browser.get(&day_page(&f)).await;
    assert_eq!(day.status, StatusCode::OK, "{}", day.body);
    let token = day.csrf();
    let audit_before = hub.count("audit_log");

    // Without the token, or from another origin.
    let no_token = browser.post(&action, &[("resolution", "served")]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    // Unknown resolution, none at all, an unknown id, a bad day.
    for resolution in ["", "erledigt", "cancelled"] {
        let page = browser
            .post(&action, &[("_csrf", &token), ("resolution", resolution)])
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{resolution}");
        assert!(
            page.body.contains("wie der Rückruf ausging"),
            "{}",
            page.body
        );
    }
    let bad_day = browser
        .post(
            &action,
            &[
                ("_csrf", &token),
                ("resolution", "served"),
                ("day", "2026-02-30"),
            ],
        )
        .await;
    assert_eq!(bad_day.status, StatusCode::BAD_REQUEST);
    let unknown = browser
        .post(
            &format!("/console/rides/call-backs/{}/done", id()),
            &[("_csrf", &token), ("resolution", "served")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let long = browser
        .post(
            &format!("/console/rides/call-backs/{}/done", "x".repeat(5000)),
            &[("_csrf", &token), ("resolution", "served")],
        )
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);

    // Roles that do not work with rides, and a dispatcher of another region.
    let (_, driver) = account(&hub, "driver", "fahrer", Some(&f.region)).await;
    let (_, health) = account(&hub, "health_worker", "beraterin", Some(&f.region)).await;
    for (user, password, home) in [
        ("fahrer", &driver, "/driver"),
        ("beraterin", &health, "/counselling"),
    ] {
        let other = Browser::new(&hub);
        other.login(user, password).await;
        let start = other.get(home).await;
        assert_eq!(start.status, StatusCode::OK, "{user}: {}", start.body);
        let page = other
            .post(
                &action,
                &[("_csrf", &start.csrf()), ("resolution", "served")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{user}");
    }
    let other_region = hub
        .create(
            "regions",
            json!({"id": id(), "name": "Harz", "phone": "05321 1"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, password) = account(&hub, "dispatcher", "dispo", Some(&other_region)).await;
    let dispo = Browser::new(&hub);
    dispo.login("dispo", &password).await;
    let own = dispo.get("/console/rides").await;
    let page = dispo
        .post(&action, &[("_csrf", &own.csrf()), ("resolution", "served")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    assert_eq!(call_back_state(&hub, &call_back), "open/-/-");
    let changes: i64 = hub
        .store
        .blocking(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log WHERE kind = 'call_backs' AND action = 'update'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(changes, 0);
    assert!(
        hub.count("audit_log") > audit_before,
        "log-ins and reads are logged"
    );
}
