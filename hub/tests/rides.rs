//! Ride planning in the hub over the real API: booking answers with a pickup window or a reason
//! and alternatives, promised windows survive re-optimisation, insertion keeps a fixed past,
//! outcomes, the no-show rule, eligibility, ride series and the call-back queue.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Fixture, TestHub, ahead, fixture, id};

async fn shift(
    hub: &TestHub,
    f: &Fixture,
    vehicle: &str,
    from: (u32, u32),
    to: (u32, u32),
) -> String {
    hub.create_id(
        "shifts",
        json!({"id": id(), "region_id": f.region, "vehicle_id": vehicle, "driver_name": "Frau Peters",
               "starts_at": ahead(f.day, from.0, from.1), "ends_at": ahead(f.day, to.0, to.1)}),
    ).await
}

/// A ride from the resident's home to the practice, arriving by `hh:mm` on the fixture's day.
fn to_practice(f: &Fixture, hh: u32, mm: u32) -> Value {
    json!({"id": id(), "region_id": f.region, "resident_id": f.resident, "from_home": true,
           "to_destination_id": f.destination, "appointment_at": ahead(f.day, hh, mm),
           "walker": true, "channel": "kiosk"})
}

fn instant(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("an instant: {v}"))
        .parse()
        .expect("RFC 3339")
}

async fn ride(hub: &TestHub, id: &str) -> Value {
    let got = hub.get(&format!("/api/v1/ride-requests/{id}")).await;
    assert_eq!(got.status, StatusCode::OK, "{:#}", got.body);
    got.body
}

/// The planning answer of a booking the planner could not serve, after checking that the ride
/// stayed requested for `reason`.
fn not_served<'a>(booked: &'a Value, reason: &str) -> &'a Value {
    assert_eq!(booked["status"], "requested", "{booked:#}");
    let planning = &booked["planning"];
    assert_eq!(planning["reason"], reason, "{planning:#}");
    planning
}

async fn patch(hub: &TestHub, path: &str, body: Value) -> crate::common::Answer {
    hub.call(Method::PATCH, path, Some(body)).await
}

#[tokio::test]
async fn booking_answers_with_the_pickup_window_in_the_same_response() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (16, 0)).await;
    let booked = hub.create("ride-requests", to_practice(&f, 10, 0)).await;
    assert_eq!(booked["status"], "confirmed", "{booked:#}");
    let start = instant(&booked["pickup_window_start"]);
    let end = instant(&booked["pickup_window_end"]);
    let minutes = (end - start).num_minutes();
    assert!((5..=15).contains(&minutes), "window of {minutes} min");
    let pickup = instant(&booked["planned_pickup_at"]);
    let dropoff = instant(&booked["planned_dropoff_at"]);
    let appointment = instant(&booked["appointment_at"]);
    assert!(
        start <= pickup && pickup <= end,
        "planned pickup in the window"
    );
    assert!(
        pickup < dropoff && dropoff <= appointment,
        "arrives in time"
    );
    assert!(
        appointment - dropoff <= chrono::Duration::minutes(40),
        "not hours early"
    );
    assert!(booked["planning"].is_null());
    // The shift's stop sequence holds the ride.
    let stops = hub.count("route_stops");
    assert_eq!(stops, 2);
    // Repeating the same booking returns the same answer and plans nothing twice.
    let mut again = to_practice(&f, 10, 0);
    again["id"] = booked["id"].clone();
    let repeat = hub.post("/api/v1/ride-requests", again).await;
    assert_eq!(repeat.status, StatusCode::OK, "{:#}", repeat.body);
    assert_eq!(
        repeat.body["pickup_window_start"],
        booked["pickup_window_start"]
    );
    assert_eq!(hub.count("route_stops"), 2);
    hub.stop().await;
}

#[tokio::test]
async fn a_ride_nobody_can_serve_says_why_and_goes_to_the_call_back_queue() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    // The only shift ends at 11:00; an appointment at 16:00 cannot be reached.
    shift(&hub, &f, &f.vehicle, (7, 0), (11, 0)).await;
    let booked = hub.create("ride-requests", to_practice(&f, 16, 0)).await;
    let planning = not_served(&booked, "time_window_impossible");
    assert!(booked["pickup_window_start"].is_null());
    assert!(
        planning["message_de"]
            .as_str()
            .unwrap()
            .contains("nicht möglich")
    );
    let alternatives = planning["alternatives"].as_array().unwrap();
    assert!(
        !alternatives.is_empty(),
        "an earlier time is offered: {planning:#}"
    );
    let earlier = alternatives
        .iter()
        .find(|a| a["which"] == "earlier")
        .unwrap();
    assert!(instant(&earlier["arrive_by"]) < instant(&booked["appointment_at"]));

    let queue = hub
        .get(&format!("/api/v1/regions/{}/call-back-queue", f.region))
        .await;
    assert_eq!(queue.status, StatusCode::OK, "{:#}", queue.body);
    let items = queue.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:#}", queue.body);
    let entry = &items[0];
    assert_eq!(entry["reason"], "time_window_impossible");
    assert_eq!(entry["name"], "Erna Köhler");
    assert_eq!(entry["caregivers"].as_array().unwrap().len(), 0);
    assert_eq!(entry["ride"]["id"], booked["id"]);
    assert!(!entry["ride"]["alternatives"].as_array().unwrap().is_empty());

    // The dispatcher phoned: the resident does not want another time.
    let closed = patch(
        &hub,
        &format!("/api/v1/call-backs/{}", entry["id"].as_str().unwrap()),
        json!({"status": "done", "resolution": "turned_down"}),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{:#}", closed.body);
    assert!(
        closed.body["resolved_by"]
            .as_str()
            .unwrap()
            .starts_with("account:")
    );
    let after = ride(&hub, booked["id"].as_str().unwrap()).await;
    assert_eq!(after["status"], "cancelled");
    assert_eq!(after["outcome"], "turned_down");
    let queue = hub
        .get(&format!("/api/v1/regions/{}/call-back-queue", f.region))
        .await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 0);
    // Closing without saying how is refused.
    let counselling = hub
        .create(
            "call-backs",
            json!({"region_id": f.region, "kind": "counselling", "contact_name": "Frau Nowak",
                   "contact_phone": "05332 4711", "topic": "money"}),
        )
        .await;
    let bare = patch(
        &hub,
        &format!("/api/v1/call-backs/{}", counselling["id"].as_str().unwrap()),
        json!({"status": "done"}),
    )
    .await;
    bare.assert_invalid("resolution");
    hub.stop().await;
}

/// A shift of the fixture's vehicle on the first weekday after the fixture's day.
async fn shift_next_weekday(hub: &TestHub, f: &Fixture) -> i64 {
    let next = crate::common::weekday_ahead(f.day + 1);
    hub.create(
        "shifts",
        json!({"id": id(), "region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Herr Jahn",
               "starts_at": ahead(next, 7, 0), "ends_at": ahead(next, 16, 0)}),
    )
    .await;
    next
}

fn date_of(days: i64) -> String {
    (Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

#[tokio::test]
async fn a_day_without_a_shift_offers_the_next_day_with_a_place() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let next = shift_next_weekday(&hub, &f).await;
    let booked = hub.create("ride-requests", to_practice(&f, 10, 0)).await;
    let planning = not_served(&booked, "no_shift");
    let alternatives = planning["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 1, "{planning:#}");
    let other = &alternatives[0];
    assert_eq!(other["which"], "another_day");
    assert_eq!(other["date"], date_of(next).as_str(), "{other:#}");
    // Same appointment time on that day, reached in time, with a pickup window before it.
    let appointment: DateTime<Utc> = ahead(next, 10, 0).parse().unwrap();
    let arrive_by = instant(&other["arrive_by"]);
    assert!(arrive_by <= appointment, "{other:#}");
    assert!(
        appointment - arrive_by <= chrono::Duration::minutes(40),
        "{other:#}"
    );
    assert!(instant(&other["pickup_window_start"]) < instant(&other["pickup_window_end"]));
    assert!(instant(&other["pickup_window_end"]) < arrive_by);
    // Nothing was planned on either day: it is only an offer.
    assert_eq!(hub.count("route_stops"), 0);
    hub.stop().await;
}

#[tokio::test]
async fn a_later_appointment_is_offered_only_while_the_practice_is_open() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    // The practice closes 12:00-14:00. The bus starts at 12:30, so an 11:50 appointment can only
    // be reached later, at lunchtime, when nobody would see the patient: no "later" offer, the
    // next weekday instead.
    shift(&hub, &f, &f.vehicle, (12, 30), (16, 0)).await;
    let next = shift_next_weekday(&hub, &f).await;
    let booked = hub.create("ride-requests", to_practice(&f, 11, 50)).await;
    let planning = not_served(&booked, "time_window_impossible");
    let alternatives = planning["alternatives"].as_array().unwrap();
    assert!(
        alternatives.iter().all(|a| a["which"] != "later"),
        "{planning:#}"
    );
    let other = alternatives
        .iter()
        .find(|a| a["which"] == "another_day")
        .unwrap_or_else(|| panic!("another day offered: {planning:#}"));
    assert_eq!(other["date"], date_of(next).as_str());

    hub.stop().await;
}

#[tokio::test]
async fn a_wheelchair_ride_on_a_day_without_a_wheelchair_place_is_not_served() {
    let hub = TestHub::start().await;
    // The region has a wheelchair bus, but the only shift that day is the car without a place.
    let f = fixture(&hub, 1).await;
    let car = hub
        .create_id(
            "vehicles",
            json!({"region_id": f.region, "name": "PKW", "seats": 3, "wheelchair_places": 0,
                   "depot_name": "DRK", "depot_lat": 52.14, "depot_lon": 10.77}),
        )
        .await;
    shift(&hub, &f, &car, (7, 0), (16, 0)).await;
    let mut body = to_practice(&f, 10, 0);
    body["wheelchair"] = json!(true);
    let booked = hub.create("ride-requests", body).await;
    not_served(&booked, "no_wheelchair_place");
    assert_eq!(hub.count("route_stops"), 0);
    hub.stop().await;
}

#[tokio::test]
async fn promised_windows_survive_re_optimisation() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (17, 0)).await;
    let mut promised = Vec::new();
    for (hh, mm) in [(8, 30), (9, 0), (10, 30), (11, 0), (15, 0), (16, 0)] {
        let booked = hub.create("ride-requests", to_practice(&f, hh, mm)).await;
        assert_eq!(booked["status"], "confirmed", "{booked:#}");
        promised.push(booked);
    }
    let date = ahead(f.day, 12, 0)[..10].to_string();
    let plan = hub
        .post(
            &format!(
                "/api/v1/regions/{}/ride-plan?date={date}&seconds=1",
                f.region
            ),
            json!({}),
        )
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{:#}", plan.body);
    assert_eq!(plan.body["requests"], 6);
    assert_eq!(plan.body["served"], 6);
    assert_eq!(plan.body["promises_kept"], 6);
    for before in &promised {
        let after = ride(&hub, before["id"].as_str().unwrap()).await;
        assert_eq!(after["pickup_window_start"], before["pickup_window_start"]);
        assert_eq!(after["pickup_window_end"], before["pickup_window_end"]);
        let pickup = instant(&after["planned_pickup_at"]);
        assert!(
            instant(&after["pickup_window_start"]) <= pickup
                && pickup <= instant(&after["pickup_window_end"]),
            "{after:#}"
        );
        assert!(instant(&after["planned_dropoff_at"]) <= instant(&after["appointment_at"]));
    }
    // Bad parameters are refused and plan nothing.
    for query in [
        "date=tomorrow",
        "date=2026-02-30",
        "seconds=0",
        "seconds=999",
        "colour=red",
    ] {
        let bad = hub
            .post(
                &format!("/api/v1/regions/{}/ride-plan?{query}", f.region),
                json!({}),
            )
            .await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {:#}",
            bad.body
        );
    }
    let unknown = hub
        .post(
            &format!("/api/v1/regions/{}/ride-plan?date={date}", id()),
            json!({}),
        )
        .await;
    assert!(unknown.status.is_client_error(), "{:#}", unknown.body);
    hub.stop().await;
}

#[tokio::test]
async fn insertion_keeps_the_past_fixed() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (16, 0)).await;
    let early = hub.create("ride-requests", to_practice(&f, 9, 0)).await;
    let late = hub.create("ride-requests", to_practice(&f, 14, 0)).await;
    let tight = hub.create("ride-requests", to_practice(&f, 9, 30)).await;
    for r in [&early, &late, &tight] {
        assert_eq!(r["status"], "confirmed", "{r:#}");
    }
    // The 09:00 ride as planned once all three were booked.
    let early = ride(&hub, early["id"].as_str().unwrap()).await;
    // Book the last two again as if it were 10:00 on the day: the 09:30 ride lies in the past
    // and cannot be served any more; the 14:00 ride is planned after 10:00; the 09:00 ride,
    // already driven, keeps its times.
    let now: DateTime<Utc> = ahead(f.day, 10, 0).parse().unwrap();
    let (late_id, tight_id) = (
        late["id"].as_str().unwrap().to_string(),
        tight["id"].as_str().unwrap().to_string(),
    );
    let (late_booked, tight_booked) = hub
        .store
        .blocking(move |c| {
            let tx = c.transaction()?;
            hub::rides::unplan(&tx, &late_id)?;
            hub::rides::unplan(&tx, &tight_id)?;
            let late = hub::rides::book(&tx, &late_id, now)?;
            let tight = hub::rides::book(&tx, &tight_id, now)?;
            tx.commit()?;
            Ok((late, tight))
        })
        .unwrap();
    match late_booked {
        hub::rides::Booked::Confirmed { window_start, .. } => assert!(window_start.0 >= now),
        other => panic!("the 14:00 ride is served: {other:?}"),
    }
    assert!(
        matches!(tight_booked, hub::rides::Booked::NotServed { .. }),
        "{tight_booked:?}"
    );
    let early_after = ride(&hub, early["id"].as_str().unwrap()).await;
    assert_eq!(early_after["planned_pickup_at"], early["planned_pickup_at"]);
    assert_eq!(
        early_after["planned_dropoff_at"],
        early["planned_dropoff_at"]
    );
    hub.stop().await;
}

#[tokio::test]
async fn cancellations_free_the_seat_and_late_ones_are_counted() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (16, 0)).await;
    let in_time = hub.create("ride-requests", to_practice(&f, 9, 0)).await;
    let cancelled = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/ride-requests/{}", in_time["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["outcome"], "cancelled");
    assert!(cancelled.body["pickup_window_start"].is_null());
    let planned: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM route_stops WHERE status = 'planned'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(planned, 0, "the stops are freed");

    // With a notice of a week, a cancellation two days ahead is late.
    let region = patch(
        &hub,
        &format!("/api/v1/regions/{}", f.region),
        json!({"settings": {"late_cancel_hours": 168}}),
    )
    .await;
    assert_eq!(region.status, StatusCode::OK, "{:#}", region.body);
    let late = hub.create("ride-requests", to_practice(&f, 10, 0)).await;
    let cancelled = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/ride-requests/{}", late["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        cancelled.body["outcome"], "late_cancellation",
        "{:#}",
        cancelled.body
    );
    hub.stop().await;
}

#[tokio::test]
async fn no_shows_warn_then_only_a_caregiver_may_book() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (17, 0)).await;
    hub.create(
        "caregiver-links",
        json!({"region_id": f.region, "caregiver_id": f.caregiver, "resident_id": f.resident,
               "consent_at": "2026-01-05T10:00:00+01:00"}),
    )
    .await;
    for (missed, hh) in [8, 10, 14].into_iter().enumerate() {
        let out = hub.create("ride-requests", to_practice(&f, hh, 0)).await;
        let back = hub
            .create(
                "ride-requests",
                json!({"id": id(), "region_id": f.region, "resident_id": f.resident,
                       "from_destination_id": f.destination, "to_home": true,
                       "pickup_at": ahead(f.day, hh + 1, 0), "return_of": out["id"], "channel": "kiosk"}),
            )
            .await;
        if missed == 2 {
            assert_eq!(out["notice"]["code"], "no_show_warning", "{out:#}");
        } else {
            assert!(out["notice"].is_null(), "{out:#}");
        }
        let no_show = patch(
            &hub,
            &format!("/api/v1/ride-requests/{}", out["id"].as_str().unwrap()),
            json!({"status": "no_show"}),
        )
        .await;
        assert_eq!(no_show.status, StatusCode::OK, "{:#}", no_show.body);
        assert_eq!(no_show.body["outcome"], "no_show");
        assert!(no_show.body["shift_id"].is_null(), "the seat is freed");
        let back = ride(&hub, back["id"].as_str().unwrap()).await;
        assert_eq!(back["status"], "cancelled", "the way back is called off");
    }
    // Three no-shows: booking alone is refused with the reason, through the caregiver it works.
    let refused = hub
        .post("/api/v1/ride-requests", to_practice(&f, 16, 0))
        .await;
    refused.assert_invalid("caregiver_id");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("caregiver")
    );
    let mut body = to_practice(&f, 16, 0);
    body["caregiver_id"] = json!(f.caregiver);
    let through = hub.create("ride-requests", body).await;
    assert_eq!(through["notice"]["code"], "caregiver_only");
    // A ride cannot be done before it was picked up.
    let back = patch(
        &hub,
        &format!("/api/v1/ride-requests/{}", through["id"].as_str().unwrap()),
        json!({"status": "done"}),
    )
    .await;
    back.assert_invalid("status");
    hub.stop().await;
}

#[tokio::test]
async fn only_residents_of_the_target_groups_may_book() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    // The fixture region serves age_75_plus and wheelchair; a young resident on foot is neither.
    let young = hub.create_id(
            "residents",
            json!({"region_id": f.region, "name": "Mia Brandt", "street": "Weg 1", "village_id": f.village,
                   "lat": 52.13, "lon": 10.72, "birth_year": 1990, "consent_at": "2026-01-05T10:00:00+01:00",
                   "consent_given_to": "DRK", "consent_purpose": "Fahrten"}),
        ).await;
    let mut body = to_practice(&f, 10, 0);
    body["resident_id"] = json!(young);
    body["walker"] = json!(false);
    let refused = hub.post("/api/v1/ride-requests", body.clone()).await;
    refused.assert_invalid("resident_id");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("age_75_plus")
    );
    assert_eq!(hub.count("ride_requests"), 0, "nothing written");
    // The region adds refugees as a target group and the resident is recorded as one.
    let region = patch(
        &hub,
        &format!("/api/v1/regions/{}", f.region),
        json!({"target_groups": ["age_75_plus", "wheelchair", "refugee"]}),
    )
    .await;
    assert_eq!(region.status, StatusCode::OK);
    let resident = patch(
        &hub,
        &format!("/api/v1/residents/{young}"),
        json!({"target_groups": ["refugee"]}),
    )
    .await;
    assert_eq!(resident.status, StatusCode::OK, "{:#}", resident.body);
    hub.create("ride-requests", body).await;
    // Bad groups and years are refused.
    for (patch_body, field) in [
        (json!({"target_groups": ["Refugee!"]}), "target_groups[0]"),
        (json!({"birth_year": 1800}), "birth_year"),
        (json!({"birth_year": "1950"}), "birth_year"),
    ] {
        let bad = patch(&hub, &format!("/api/v1/residents/{young}"), patch_body).await;
        bad.assert_invalid(field);
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_ride_series_makes_each_ride_once_and_plans_it() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (16, 0)).await;
    let first = ahead(f.day, 12, 0)[..10].to_string();
    let last_day: chrono::NaiveDate = first.parse().unwrap();
    let last = (last_day + chrono::Duration::days(13)).to_string();
    let series = hub
        .create(
            "ride-series",
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "weekdays": ["mon", "wed", "fri"],
                   "appointment_time": "09:00", "return_pickup_time": "11:30",
                   "first_date": first, "last_date": last, "walker": true, "channel": "phone"}),
        )
        .await;
    let series_id = series["id"].as_str().unwrap().to_string();
    let expected: i64 = (0..14)
        .map(|d| last_day + chrono::Duration::days(d))
        .filter(|d| {
            use chrono::Datelike;
            matches!(
                d.weekday(),
                chrono::Weekday::Mon | chrono::Weekday::Wed | chrono::Weekday::Fri
            )
        })
        .count() as i64
        * 2;
    assert!(expected >= 10);
    let count = |hub: &TestHub| hub.count("ride_requests");
    assert_eq!(count(&hub), expected);
    // On the fixture's day there is a shift: that day's way there is planned with a window.
    let next = (last_day + chrono::Duration::days(1)).to_string();
    let rides = hub
        .get(&format!(
            "/api/v1/ride-requests?from={first}&to={next}&limit=10"
        ))
        .await;
    assert_eq!(rides.status, StatusCode::OK, "{:#}", rides.body);
    let items = rides.body["items"].as_array().unwrap();
    if chrono::Datelike::weekday(&last_day).number_from_monday() % 2 == 1 {
        assert!(
            items.iter().any(|r| r["status"] == "confirmed"),
            "{:#}",
            rides.body
        );
    }
    // Planning any day of the series again makes no ride twice.
    for offset in [0, 2, 7] {
        let date = (last_day + chrono::Duration::days(offset)).to_string();
        let plan = hub
            .post(
                &format!(
                    "/api/v1/regions/{}/ride-plan?date={date}&seconds=0.2",
                    f.region
                ),
                json!({}),
            )
            .await;
        assert_eq!(plan.status, StatusCode::OK, "{:#}", plan.body);
    }
    assert_eq!(count(&hub), expected);
    let made_again = hub
        .store
        .blocking({
            let series_id = series_id.clone();
            move |c| {
                let tx = c.transaction()?;
                let n = hub::rides::series::generate_series(
                    &tx,
                    &hub::store::logs::Who::cli("test"),
                    &series_id,
                    Utc::now(),
                    None,
                )?;
                tx.commit()?;
                Ok(n)
            }
        })
        .unwrap();
    assert_eq!(made_again, 0);
    assert_eq!(count(&hub), expected);
    // Ending the series calls off its rides ahead.
    let ended = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/ride-series/{series_id}"),
            None,
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{:#}", ended.body);
    let open: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM ride_requests WHERE status <> 'cancelled'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(open, 0);
    // Bad series are refused.
    for (change, field) in [
        (json!({"weekdays": []}), "weekdays"),
        (json!({"weekdays": ["mon", "mon"]}), "weekdays[1]"),
        (json!({"weekdays": ["someday"]}), "weekdays[0]"),
        (json!({"appointment_time": "25:00"}), "appointment_time"),
        (json!({"return_pickup_time": "08:00"}), "return_pickup_time"),
        (json!({"first_date": "2020-01-01"}), "first_date"),
        (json!({"last_date": "2099-01-01"}), "last_date"),
    ] {
        let mut body = json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "weekdays": ["tue"],
               "appointment_time": "09:00", "return_pickup_time": "11:30",
               "first_date": first, "channel": "phone"});
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let bad = hub.post("/api/v1/ride-series", body).await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {:#}",
            bad.body
        );
        assert_eq!(bad.body["field"], field, "{change}");
    }
    assert_eq!(count(&hub), expected, "bad series make no rides");
    hub.stop().await;
}

#[test]
fn the_demo_week_is_planned_with_every_request_served_or_answered() {
    let dir = tempfile::tempdir().unwrap();
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let summary = hub::demo::create_demo(&store, today).unwrap();
    assert!(summary.created);
    let (total, served, answered): (i64, i64, i64) = store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*),
                        sum(status IN ('planned', 'confirmed') AND shift_id IS NOT NULL),
                        sum(status = 'requested' AND json_extract(planning, '$.reason') IS NOT NULL)
                 FROM ride_requests",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    assert!(total >= 60, "{total}");
    assert_eq!(
        served + answered,
        total,
        "every ride is served or has a reason"
    );
    assert!(
        served * 10 >= total * 8,
        "most of the demo week is served: {served}/{total}"
    );
    // Re-optimising a demo day keeps every promise.
    let region = hub::demo::demo_region_id();
    let day = hub::demo::demo_week(today)[0];
    let done = hub::rides::replan(
        &store,
        &hub::store::logs::Who::cli("test"),
        &region,
        day,
        Utc::now(),
        hub::rides::Effort::Iterations(300),
        7,
    )
    .unwrap();
    assert!(done.requests > 0);
    assert_eq!(done.served + done.unserved, done.requests);
    let promised: i64 = store
        .blocking(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM ride_requests WHERE pickup_window_start IS NOT NULL
                   AND (planned_pickup_at < pickup_window_start OR planned_pickup_at > pickup_window_end)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(promised, 0, "no planned pickup outside its promised window");
}

#[test]
fn the_replan_command_plans_a_day_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    hub::demo::create_demo(&store, today).unwrap();
    drop(store);
    let day = hub::demo::demo_week(today)[1].to_string();
    let region = hub::demo::demo_region_id();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .env("DORFPUNKT_LOG", "warn")
            .args(["rides", "plan", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .expect("runs")
    };
    let out = run(&["--region", &region, "--date", &day, "--seconds", "0.5"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("promised windows kept"), "{text}");
    assert!(text.starts_with(&day), "{text}");
    let bad = run(&["--region", &region, "--date", "2026-13-01"]);
    assert!(!bad.status.success());
    let unknown = run(&["--region", "nope", "--date", &day]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("region"));
}

/// The date and figures of the finished evening runs.
fn finished_runs(hub: &TestHub) -> Vec<(String, String)> {
    hub.store
        .blocking(|c| {
            Ok(c.prepare(
                "SELECT date, result FROM plan_runs WHERE finished_at IS NOT NULL ORDER BY date",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?)
        })
        .expect("plan runs")
}

#[tokio::test]
async fn the_evening_before_the_day_is_re_optimised_once_keeping_promises() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    shift(&hub, &f, &f.vehicle, (7, 0), (16, 0)).await;
    let mut promised = Vec::new();
    for (hh, mm) in [(9, 0), (10, 30), (14, 0)] {
        let booked = hub.create("ride-requests", to_practice(&f, hh, mm)).await;
        assert_eq!(booked["status"], "confirmed", "{booked:#}");
        promised.push(booked);
    }
    let evening = |hh: u32, mm: u32| -> DateTime<Utc> { ahead(f.day - 1, hh, mm).parse().unwrap() };
    let effort = Some(hub::rides::Effort::Iterations(300));
    let run = |at: DateTime<Utc>| hub::rides::evening::run_due(&hub.store, at, effort).unwrap();

    // Before 18:00 the day after is left alone.
    assert!(run(evening(17, 59)).is_empty());
    assert!(finished_runs(&hub).is_empty());
    // From 18:00 it is planned, once.
    let ran = run(evening(18, 30));
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(ran[0].due.date.to_string(), date_of(f.day));
    let done = ran[0].result.as_ref().expect("planned");
    assert_eq!((done.requests, done.served, done.promises_kept), (3, 3, 3));
    assert!(run(evening(21, 0)).is_empty(), "a date runs once");
    let runs = finished_runs(&hub);
    assert_eq!(runs.len(), 1);
    let figures: Value = serde_json::from_str(&runs[0].1).unwrap();
    assert_eq!(figures["served"], 3, "{figures:#}");
    for before in &promised {
        let after = ride(&hub, before["id"].as_str().unwrap()).await;
        assert_eq!(after["status"], "confirmed");
        assert_eq!(after["pickup_window_start"], before["pickup_window_start"]);
        assert_eq!(after["pickup_window_end"], before["pickup_window_end"]);
        let pickup = instant(&after["planned_pickup_at"]);
        assert!(instant(&after["pickup_window_start"]) <= pickup);
        assert!(pickup <= instant(&after["pickup_window_end"]));
    }
    // A run cut off (claimed, never finished: the hub stopped mid-search) runs again.
    hub.store
        .blocking(|c| {
            c.execute("UPDATE plan_runs SET finished_at = NULL, result = NULL", [])?;
            Ok(())
        })
        .unwrap();
    assert_eq!(run(evening(21, 0)).len(), 1);
    assert_eq!(finished_runs(&hub).len(), 1);

    // The region may plan later in the evening; a bad setting falls back to 18:00.
    let region = format!("/api/v1/regions/{}", f.region);
    let set = patch(&hub, &region, json!({"settings": {"replan_at": "20:00"}})).await;
    assert_eq!(set.status, StatusCode::OK, "{:#}", set.body);
    let next_evening: DateTime<Utc> = ahead(f.day, 19, 0).parse().unwrap();
    assert!(run(next_evening).is_empty(), "20:00 not reached");
    let ran = run(ahead(f.day, 20, 5).parse().unwrap());
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].due.date.to_string(), date_of(f.day + 1));
    hub.stop().await;
}

#[tokio::test]
async fn the_running_hub_starts_the_evening_run_by_itself() {
    let hub = TestHub::start_with(|c| c.planning_check_seconds = 1).await;
    hub.create(
        "regions",
        json!({"id": id(), "name": "Nachtfahrt", "settings": {"replan_at": "00:00", "replan_seconds": 1}}),
    )
    .await;
    let tomorrow = (Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        + chrono::Duration::days(1))
    .to_string();
    let mut runs = Vec::new();
    for _ in 0..120 {
        runs = finished_runs(&hub);
        if !runs.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // Right at local midnight "tomorrow" may move on while the test waits.
    let after = (Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive()
        + chrono::Duration::days(1))
    .to_string();
    assert_eq!(runs.len(), 1, "the hub ran the evening plan: {runs:?}");
    assert!(runs[0].0 == tomorrow || runs[0].0 == after, "{runs:?}");
    let figures: Value = serde_json::from_str(&runs[0].1).unwrap();
    assert_eq!(figures["requests"], 0, "{figures:#}");
    hub.stop().await;
}

#[tokio::test]
async fn a_ride_planned_later_gets_a_promised_window_and_someone_tells_the_time() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    // Booked before the day has a shift: a request on the call-back queue.
    let booked = hub.create("ride-requests", to_practice(&f, 10, 0)).await;
    assert_eq!(booked["planning"]["reason"], "no_shift", "{booked:#}");
    let id = booked["id"].as_str().unwrap().to_string();
    // A shift is added; the evening run finds the ride a place.
    shift(&hub, &f, &f.vehicle, (7, 0), (16, 0)).await;
    let region = f.region.clone();
    let date = chrono::NaiveDate::parse_from_str(&date_of(f.day), "%Y-%m-%d").unwrap();
    let done = hub::rides::replan(
        &hub.store,
        &hub::store::logs::Who::cli("test"),
        &region,
        date,
        Utc::now(),
        hub::rides::Effort::Iterations(200),
        1,
    )
    .unwrap();
    assert_eq!(done.served, 1);
    let after = ride(&hub, &id).await;
    assert_eq!(after["status"], "confirmed", "{after:#}");
    let (start, end) = (
        instant(&after["pickup_window_start"]),
        instant(&after["pickup_window_end"]),
    );
    let pickup = instant(&after["planned_pickup_at"]);
    assert!(start <= pickup && pickup <= end, "{after:#}");
    assert_eq!((end - start).num_minutes(), 15);
    assert!(after["planning"].is_null());
    // The dispatcher is asked to tell the resident the time.
    let queue = hub
        .get(&format!("/api/v1/regions/{}/call-back-queue", f.region))
        .await;
    let items = queue.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:#}", queue.body);
    assert_eq!(items[0]["reason"], "time_found");
    // The window is a promise now: a second run keeps it.
    hub::rides::replan(
        &hub.store,
        &hub::store::logs::Who::cli("test"),
        &region,
        date,
        Utc::now(),
        hub::rides::Effort::Iterations(200),
        2,
    )
    .unwrap();
    let again = ride(&hub, &id).await;
    assert_eq!(again["pickup_window_start"], after["pickup_window_start"]);
    hub.stop().await;
}
