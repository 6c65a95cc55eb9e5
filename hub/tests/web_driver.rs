//! The driver's phone page: today's stops of the driver's own shift, and picked up, dropped off
//! and no-show marked through plain forms, each event recorded once.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{Browser, Page, account, as_caregiver};
use crate::common::{Fixture, TestHub, ahead, fixture, id};

/// A shift of today with two rides on it, driven by `driver`, and a second driver with a
/// shift of their own.
struct Today {
    f: Fixture,
    shift: String,
    /// Erna Köhler home → practice, Günter Weiß stop → practice (wheelchair, two people).
    rides: [String; 2],
    /// Erna's pickup, Günter's pickup, Erna's drop-off, Günter's drop-off.
    stops: [String; 4],
    driver: (String, String),
    other_driver: (String, String),
    other_shift: String,
    /// A pickup on the other driver's shift.
    other_stop: String,
}

fn text(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn ride(hub: &TestHub, body: serde_json::Value) -> String {
    let mut body = body;
    body["id"] = json!(id());
    body["channel"] = json!("phone");
    let ride = hub.create_id("ride-requests", body).await;
    let confirmed = hub
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/ride-requests/{ride}"),
            Some(json!({"status": "confirmed"})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:#}", confirmed.body);
    ride
}

/// A shift from three hours ago to five hours ahead, given to `driver` through the API update.
async fn shift_of(hub: &TestHub, f: &Fixture, driver: &str) -> String {
    let now = Utc::now();
    let shift = hub
        .create_id(
            "shifts",
            json!({"id": id(), "region_id": f.region, "vehicle_id": f.vehicle,
               "driver_name": "Uwe Brandes", "starts_at": text(now - Duration::hours(3)),
               "ends_at": text(now + Duration::hours(5))}),
        )
        .await;
    let given = hub
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/shifts/{shift}"),
            Some(json!({"driver_account_id": driver})),
        )
        .await;
    assert_eq!(given.status, StatusCode::OK, "{:#}", given.body);
    shift
}

async fn route_stop(
    hub: &TestHub,
    f: &Fixture,
    shift: &str,
    position: u32,
    ride: &str,
    kind: &str,
    minutes_ago: i64,
) -> String {
    hub.create_id(
        "route-stops",
        json!({"id": id(), "region_id": f.region, "shift_id": shift, "position": position,
               "ride_request_id": ride, "kind": kind,
               "planned_at": text(Utc::now() - Duration::minutes(minutes_ago))}),
    )
    .await
}

/// Rides are booked for a later day (bookings cannot lie in the past); their stops are written
/// onto today's shift by hand, as the planner would.
async fn today(hub: &TestHub) -> Today {
    let f = fixture(hub, 1).await;
    let guenter = hub
        .create_id(
            "residents",
            json!({"id": id(), "region_id": f.region, "name": "Günter Weiß", "phone": "05332 98765",
               "street": "Am Teich 2", "village_id": f.village, "lat": 52.133, "lon": 10.723,
               "uses_wheelchair": true, "needs_companion": true,
               "consent_at": "2026-01-05T10:00:00+01:00", "consent_given_to": "DRK Fahrdienst",
               "consent_purpose": "Fahrten"}),
        )
        .await;
    // Erna has no phone of her own: the button calls her caregiver.
    hub.create_id(
        "caregiver-links",
        json!({"id": id(), "region_id": f.region, "caregiver_id": f.caregiver,
               "resident_id": f.resident, "consent_at": "2026-01-05T10:00:00+01:00"}),
    )
    .await;
    let erna = ride(
        hub,
        json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 9, 0)}),
    )
    .await;
    let guenter_ride = ride(
        hub,
        json!({"region_id": f.region, "resident_id": guenter, "from_stop_id": f.stop,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 9, 30),
               "passengers": 2, "wheelchair": true}),
    )
    .await;
    let third = ride(
        hub,
        json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 11, 0)}),
    )
    .await;
    let driver = account(hub, "driver", "fahrer", Some(&f.region)).await;
    let other_driver = account(hub, "driver", "fahrerin", Some(&f.region)).await;
    let shift = shift_of(hub, &f, &driver.0).await;
    let plan = [
        (&erna, "pickup", 120),
        (&guenter_ride, "pickup", 110),
        (&erna, "dropoff", 90),
        (&guenter_ride, "dropoff", 80),
    ];
    let mut stops = Vec::new();
    for (position, (ride, kind, ago)) in plan.into_iter().enumerate() {
        let position = u32::try_from(position).expect("small");
        stops.push(route_stop(hub, &f, &shift, position, ride, kind, ago).await);
    }
    let other_shift = shift_of(hub, &f, &other_driver.0).await;
    let other_stop = route_stop(hub, &f, &other_shift, 0, &third, "pickup", 60).await;
    Today {
        f,
        shift,
        rides: [erna, guenter_ride],
        stops: stops.try_into().expect("four stops"),
        driver,
        other_driver,
        other_shift,
        other_stop,
    }
}

/// Marks `kind` at `stop` from today's page with a fresh event id; returns the answer.
async fn mark(browser: &Browser<'_>, stop: &str, kind: &str, at: &str) -> Page {
    mark_with(browser, stop, &id(), kind, at).await
}

async fn mark_with(browser: &Browser<'_>, stop: &str, event: &str, kind: &str, at: &str) -> Page {
    browser
        .submit(
            "/driver",
            &format!("/driver/stops/{stop}/events"),
            &[("event_id", event), ("kind", kind), ("at", at)],
        )
        .await
}

/// Posts an event as `driver.js` does: form encoded, same origin, with the queue header (the hub
/// answers 204 instead of a redirect to a whole page).
async fn queue_post(browser: &Browser<'_>, action: &str, fields: &[(&str, &str)]) -> StatusCode {
    let hub = browser.hub;
    let cert = std::fs::read(hub.dir.path().join("tls/hub-cert.pem")).expect("certificate");
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
        .resolve("localhost", hub.addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let session = browser.cookie("__Host-dorfpunkt").expect("session");
    client
        .post(hub.url(action))
        .header("cookie", format!("__Host-dorfpunkt={session}"))
        .header("origin", &browser.origin)
        .header("x-dorfpunkt-queue", "1")
        .form(fields)
        .send()
        .await
        .expect("sent")
        .status()
}

fn ride_state(hub: &TestHub, ride: &str) -> (String, Option<String>) {
    let ride = ride.to_string();
    hub.store
        .blocking(move |c| {
            Ok(c.query_row(
                "SELECT status, outcome FROM ride_requests WHERE id = ?1",
                [&ride],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .expect("ride")
}

fn stop_status(hub: &TestHub, stop: &str) -> String {
    let stop = stop.to_string();
    hub.store
        .blocking(move |c| {
            Ok(c.query_row(
                "SELECT status FROM route_stops WHERE id = ?1",
                [&stop],
                |r| r.get(0),
            )?)
        })
        .expect("stop")
}

/// The rows of `driver_events` and the versions of every ride and stop: what must stay the
/// same when an event is refused.
fn snapshot(hub: &TestHub) -> (i64, Vec<(String, i64)>) {
    let events = hub.count("driver_events");
    let versions = hub
        .store
        .blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT id, version FROM ride_requests UNION ALL SELECT id, version FROM route_stops
                 ORDER BY 1",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .expect("versions");
    (events, versions)
}

#[tokio::test]
async fn a_driver_sees_only_their_shifts_stops_in_order_with_first_names_and_needs() {
    let hub = TestHub::start().await;
    let t = today(&hub).await;
    // A stop planned and then cancelled stays off the page.
    let dropped = route_stop(&hub, &t.f, &t.shift, 4, &t.rides[0], "pickup", 30).await;
    let cancelled = hub
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/route-stops/{dropped}"),
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);

    let browser = Browser::logged_in(&hub, "fahrer", &t.driver.1).await;
    let page = browser.get("/driver").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    let order: Vec<usize> = [
        "Abholen: Erna",
        "Abholen: Günter",
        "Absetzen: Erna",
        "Absetzen: Günter",
    ]
    .iter()
    .map(|needle| {
        body.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {body}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    for stop in &t.stops {
        assert!(body.contains(&format!("id=\"halt-{stop}\"")), "{stop}");
    }
    assert!(!body.contains(&dropped), "a cancelled stop is not shown");
    assert!(
        !body.contains(&t.other_stop),
        "another driver's stop is not shown"
    );
    // First names only; places, needs and whom to call.
    assert!(!body.contains("Köhler") && !body.contains("Weiß"), "{body}");
    assert!(body.contains("Zuhause: Lindenweg 4, Kneitlingen"), "{body}");
    assert!(
        body.contains("Haltestelle Dorfplatz, Kneitlingen"),
        "{body}"
    );
    assert!(body.contains("Hausarztpraxis Dr. Berger, Markt 3, Schöppenstedt"));
    assert!(body.contains("Rollator"), "{body}");
    assert!(
        body.contains("Rollstuhl, Begleitperson, 2 Personen"),
        "{body}"
    );
    assert!(
        body.contains("href=\"tel:01712345678\""),
        "Erna's caregiver"
    );
    assert!(body.contains("Kümmerer:in von Erna anrufen"));
    assert!(body.contains("href=\"tel:0533298765\""), "Günter himself");
    assert!(
        body.contains("href=\"tel:053321234\""),
        "the region's office"
    );
    // Each stop's buttons: a pickup has two, a drop-off one, each with its own event id.
    assert_eq!(body.matches("class=\"driver-event\"").count(), 6);
    assert_eq!(body.matches("name=\"event_id\"").count(), 6);
    assert!(body.contains("src=\"/static/driver.js\""));
    // A no-show calls off the way back: the page asks first (two pickups, two questions).
    assert_eq!(body.matches("data-confirm=\"Wirklich").count(), 2);

    // Reading the sheet is an audited read of personal data, by the driver.
    let audited: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log WHERE kind = 'run_sheets' AND action = 'read'
                 AND actor = 'account:fahrer' AND entity_id = ?1",
                [&t.shift],
                |r| r.get(0),
            )?)
        })
        .expect("audit");
    assert_eq!(audited, 1);

    // The shift's own page; another's shift or an unknown one is not found.
    let own = browser.get(&format!("/driver/shifts/{}", t.shift)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body.contains("Abholen: Günter"));
    let others = browser
        .get(&format!("/driver/shifts/{}", t.other_shift))
        .await;
    assert_eq!(others.status, StatusCode::NOT_FOUND);
    assert!(!others.body.contains("Erna"));
    let unknown = browser.get(&format!("/driver/shifts/{}", id())).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The script comes from the hub like app.js.
    let script = browser.get("/static/driver.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers["cache-control"], "public, max-age=3600");
    assert!(script.body.contains("dorfpunkt.driver.queue"));
    hub.stop().await;
}

#[tokio::test]
async fn picked_up_then_dropped_off_completes_the_ride_at_the_tap_times() {
    let hub = TestHub::start().await;
    let t = today(&hub).await;
    let browser = Browser::logged_in(&hub, "fahrer", &t.driver.1).await;
    let [erna_pickup, guenter_pickup, erna_dropoff, guenter_dropoff] = &t.stops;

    let tapped = text(Utc::now() - Duration::minutes(7));
    let picked = mark(&browser, erna_pickup, "picked_up", &tapped).await;
    assert_eq!(picked.status, StatusCode::SEE_OTHER, "{}", picked.body);
    assert_eq!(
        picked.location.as_deref(),
        Some(format!("/driver?gemeldet=picked_up#halt-{erna_pickup}").as_str())
    );
    assert_eq!(ride_state(&hub, &t.rides[0]).0, "picked_up");
    assert_eq!(stop_status(&hub, erna_pickup), "done");
    let (at, account): (String, String) = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT at, account_id FROM driver_events WHERE route_stop_id = ?1",
                [erna_pickup],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .expect("event");
    assert_eq!(at, tapped, "late delivery keeps the tap time");
    assert_eq!(account, t.driver.0);
    let page = browser.get("/driver?gemeldet=picked_up").await;
    assert!(
        page.body.contains("Gespeichert: Abgeholt."),
        "{}",
        page.body
    );

    // Günter is not aboard yet: his drop-off is refused and changes nothing.
    let before = snapshot(&hub);
    let early = mark(&browser, guenter_dropoff, "dropped_off", "").await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.body.contains("Günter ist noch nicht abgeholt"),
        "{}",
        early.body
    );
    // A pickup cannot be marked dropped off, nor a drop-off picked up.
    let wrong = mark(&browser, guenter_pickup, "dropped_off", "").await;
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    assert!(wrong.body.contains("Beim Abholen"), "{}", wrong.body);
    assert_eq!(snapshot(&hub), before);

    // A tap time from before the shift is not believed: the hub's own time counts.
    let long_ago = text(Utc::now() - Duration::hours(6));
    let dropped = mark(&browser, erna_dropoff, "dropped_off", &long_ago).await;
    assert_eq!(dropped.status, StatusCode::SEE_OTHER, "{}", dropped.body);
    assert_eq!(
        ride_state(&hub, &t.rides[0]),
        ("done".to_string(), Some("done".to_string()))
    );
    assert_eq!(stop_status(&hub, erna_dropoff), "done");
    let at: String = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT at FROM driver_events WHERE route_stop_id = ?1",
                [erna_dropoff],
                |r| r.get(0),
            )?)
        })
        .expect("event");
    let at: chrono::DateTime<Utc> = at.parse().expect("instant");
    assert!(Utc::now() - at < Duration::minutes(1), "{at}");
    let page = browser.get("/driver").await;
    assert!(page.body.contains("abgesetzt"), "{}", page.body);
    // A stop that is done has no buttons any more (Günter's two stops keep three).
    assert_eq!(page.body.matches("class=\"driver-event\"").count(), 3);
    hub.stop().await;
}

#[tokio::test]
async fn a_no_show_marks_the_ride_and_frees_its_drop_off() {
    let hub = TestHub::start().await;
    let t = today(&hub).await;
    let browser = Browser::logged_in(&hub, "fahrer", &t.driver.1).await;
    let [_, guenter_pickup, _, guenter_dropoff] = &t.stops;
    let missed = mark(&browser, guenter_pickup, "no_show", "").await;
    assert_eq!(missed.status, StatusCode::SEE_OTHER, "{}", missed.body);
    assert_eq!(
        ride_state(&hub, &t.rides[1]),
        ("no_show".to_string(), Some("no_show".to_string()))
    );
    assert_eq!(stop_status(&hub, guenter_pickup), "no_show");
    assert_eq!(stop_status(&hub, guenter_dropoff), "cancelled");
    let page = browser.get("/driver").await;
    assert!(page.body.contains("nicht angetroffen"), "{}", page.body);
    assert!(!page.body.contains("Absetzen: Günter"), "{}", page.body);
    // The freed drop-off and the missed pickup take no further events.
    let before = snapshot(&hub);
    let late = mark(&browser, guenter_dropoff, "dropped_off", "").await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(late.body.contains("entfällt"), "{}", late.body);
    let again = mark(&browser, guenter_pickup, "picked_up", "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.body.contains("schon als „nicht angetroffen“"),
        "{}",
        again.body
    );
    assert_eq!(snapshot(&hub), before);
    hub.stop().await;
}

#[tokio::test]
async fn the_same_event_id_records_once_and_other_content_under_it_conflicts() {
    let hub = TestHub::start().await;
    let t = today(&hub).await;
    let browser = Browser::logged_in(&hub, "fahrer", &t.driver.1).await;
    let [erna_pickup, guenter_pickup, _, _] = &t.stops;
    let event = id();
    let tapped = text(Utc::now() - Duration::minutes(3));
    let first = mark_with(&browser, erna_pickup, &event, "picked_up", &tapped).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let after_first = snapshot(&hub);
    let repeat = mark_with(&browser, erna_pickup, &event, "picked_up", &tapped).await;
    assert_eq!(repeat.status, StatusCode::SEE_OTHER, "{}", repeat.body);
    assert_eq!(repeat.location, first.location, "the same answer");
    assert_eq!(snapshot(&hub), after_first, "nothing written again");
    assert_eq!(after_first.0, 1);
    // The script's repeat gets a bare 204, and records nothing either.
    let token = browser.get("/driver").await.csrf();
    let action = format!("/driver/stops/{erna_pickup}/events");
    let fields = [
        ("_csrf", token.as_str()),
        ("event_id", event.as_str()),
        ("kind", "picked_up"),
        ("at", tapped.as_str()),
    ];
    assert_eq!(
        queue_post(&browser, &action, &fields).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(snapshot(&hub), after_first);
    // The same id written with capitals is the same event.
    let upper = mark_with(
        &browser,
        erna_pickup,
        &event.to_uppercase(),
        "picked_up",
        &tapped,
    )
    .await;
    assert_eq!(upper.status, StatusCode::SEE_OTHER, "{}", upper.body);

    for (stop, kind, at) in [
        (erna_pickup, "no_show", tapped.as_str()),
        (erna_pickup, "picked_up", ""),
        (guenter_pickup, "picked_up", tapped.as_str()),
    ] {
        let other = mark_with(&browser, stop, &event, kind, at).await;
        assert_eq!(other.status, StatusCode::CONFLICT, "{stop} {kind} {at}");
        assert!(other.body.contains("anderem Inhalt"), "{}", other.body);
    }
    assert_eq!(snapshot(&hub), after_first);
    assert_eq!(ride_state(&hub, &t.rides[1]).0, "confirmed");
    hub.stop().await;
}

#[tokio::test]
async fn another_drivers_stop_is_not_found_and_other_roles_are_refused() {
    let hub = TestHub::start().await;
    let t = today(&hub).await;
    let before = snapshot(&hub);
    // The other driver cannot mark a stop of this driver's shift, nor an unknown stop.
    let other = Browser::logged_in(&hub, "fahrerin", &t.other_driver.1).await;
    let foreign = mark(&other, &t.stops[0], "picked_up", "").await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let unknown = mark(&other, &id(), "picked_up", "").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // Their own page does not show this driver's shift.
    let page = other.get("/driver").await;
    assert!(page.body.contains(&t.other_stop), "{}", page.body);
    assert!(!page.body.contains(&t.stops[0]));
    assert_eq!(snapshot(&hub), before);

    let dispatcher = account(&hub, "dispatcher", "disponentin", Some(&t.f.region)).await;
    let staff = Browser::logged_in(&hub, "disponentin", &dispatcher.1).await;
    assert_eq!(staff.get("/driver").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        staff
            .get(&format!("/driver/shifts/{}", t.shift))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let console = staff.get("/console").await;
    let posted = staff
        .post(
            &format!("/driver/stops/{}/events", t.stops[0]),
            &[
                ("_csrf", &console.csrf()),
                ("event_id", &id()),
                ("kind", "picked_up"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);

    let care = as_caregiver(&hub, &t.f, "kuemmerer").await;
    assert_eq!(care.get("/driver").await.status, StatusCode::FORBIDDEN);
    assert_eq!(snapshot(&hub), before);

    // Without a session the page sends to the log-in.
    let anonymous = Browser::new(&hub);
    let page = anonymous.get("/driver").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.unwrap_or_default().starts_with("/login"));
    hub.stop().await;
}

#[tokio::test]
async fn missing_csrf_and_bad_input_change_nothing() {
    let hub = TestHub::start().await;
    let t = today(&hub).await;
    let browser = Browser::logged_in(&hub, "fahrer", &t.driver.1).await;
    let stop = &t.stops[0];
    let action = format!("/driver/stops/{stop}/events");
    let before = snapshot(&hub);
    let event = id();

    let no_token = browser
        .post(&action, &[("event_id", &event), ("kind", "picked_up")])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let token = browser.get("/driver").await.csrf();
    let wrong_token = browser
        .post(
            &action,
            &[
                ("_csrf", "0000"),
                ("event_id", &event),
                ("kind", "picked_up"),
            ],
        )
        .await;
    assert_eq!(wrong_token.status, StatusCode::FORBIDDEN);
    // The right token from another site's page is refused too.
    let mut elsewhere = Browser::logged_in(&hub, "fahrer", &t.driver.1).await;
    let other_token = elsewhere.get("/driver").await.csrf();
    elsewhere.origin = "https://evil.example".into();
    let cross = elsewhere
        .post(
            &action,
            &[
                ("_csrf", &other_token),
                ("event_id", &event),
                ("kind", "picked_up"),
            ],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);

    let future = text(Utc::now() + Duration::hours(1));
    let cases: [(&str, &str, &str, &str); 5] = [
        (event.as_str(), "abgeholt", "", "Unbekannte Meldung"),
        (
            event.as_str(),
            "picked_up",
            future.as_str(),
            "in der Zukunft",
        ),
        ("keine-uuid", "picked_up", "", "Kennung der Meldung"),
        (event.as_str(), "picked_up", "gestern", "unlesbar"),
        ("", "picked_up", "", "Kennung der Meldung"),
    ];
    for (event, kind, at, says) in cases {
        let bad = browser
            .post(
                &action,
                &[
                    ("_csrf", &token),
                    ("event_id", event),
                    ("kind", kind),
                    ("at", at),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{event} {kind} {at}");
        assert!(bad.body.contains(says), "{says}: {}", bad.body);
    }
    let missing = browser
        .post(&action, &[("_csrf", &token), ("event_id", &event)])
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(snapshot(&hub), before);
    assert_eq!(ride_state(&hub, &t.rides[0]).0, "confirmed");
    hub.stop().await;
}
