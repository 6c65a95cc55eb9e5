//! IMBUS tours in the hub: the demo region's cycle, planning and publishing through the API over
//! real TLS (visits, slots and kiosk shares, correct UTC across the clock change, holidays and
//! closed days), re-planning that keeps booked appointments, moving and cancelling visits with
//! reasons, idempotent plan creation, every bad input refused with nothing changed, and the
//! `hub tours plan` command.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestHub, id};

/// A region with IMBUS settings made through the API.
struct Tours {
    region: String,
    villages: Vec<String>,
    device: String,
}

async fn village(
    hub: &TestHub,
    region: &str,
    name: &str,
    lat: f64,
    lon: f64,
    every: u32,
) -> String {
    let village = hub
        .create(
            "villages",
            json!({"region_id": region, "name": name, "municipality": name, "lat": lat, "lon": lon,
                   "imbus_every_weeks": every, "imbus_visit_minutes": 90}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    hub.create(
        "stops",
        json!({"region_id": region, "village_id": village, "name": "Dorfgemeinschaftshaus",
               "lat": lat + 0.001, "lon": lon + 0.001}),
    )
    .await;
    village
}

async fn tours(hub: &TestHub) -> Tours {
    let region = hub
        .create(
            "regions",
            json!({"id": id(), "name": "Elm-Asse", "time_zone": "Europe/Berlin",
                   "destination_categories": ["social_counselling"]}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut villages = Vec::new();
    for (name, lat, lon, every) in [
        ("Dahlum", 52.1333, 10.8167, 1),
        ("Roklum", 52.0833, 10.7333, 2),
        ("Uehrde", 52.1000, 10.7667, 2),
    ] {
        villages.push(village(hub, &region, name, lat, lon, every).await);
    }
    hub.create(
        "imbus-buses",
        json!({"region_id": region, "name": "IMBUS", "depot_name": "DRK-Garage",
               "depot_lat": 52.14521, "depot_lon": 10.77813, "day_start": "08:30", "day_end": "16:30",
               "break_minutes": 30, "break_from": "12:00", "break_until": "13:30"}),
    )
    .await;
    for (name, days) in [
        ("Sabine Krüger", json!(["mon", "tue", "wed"])),
        ("Mehmet Demir", json!(["wed", "thu", "fri"])),
        ("Anja Hoffmann", json!(["mon", "thu", "fri"])),
    ] {
        hub.create(
            "imbus-counsellors",
            json!({"region_id": region, "name": name, "weekdays": days}),
        )
        .await;
    }
    let stop = stop_of(hub, &villages[0]);
    let device = hub
        .create(
            "devices",
            json!({"region_id": region, "name": "Kiosk Dahlum", "stop_id": stop}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    Tours {
        region,
        villages,
        device,
    }
}

fn stop_of(hub: &TestHub, village: &str) -> String {
    one(
        hub,
        &format!("SELECT id FROM stops WHERE village_id = '{village}'"),
    )
}

fn one(hub: &TestHub, sql: &str) -> String {
    let sql = sql.to_string();
    hub.store
        .blocking(move |c| Ok(c.query_row(&sql, [], |r| r.get::<_, String>(0))?))
        .expect("one value")
}

fn number(hub: &TestHub, sql: &str) -> i64 {
    let sql = sql.to_string();
    hub.store
        .blocking(move |c| Ok(c.query_row(&sql, [], |r| r.get::<_, i64>(0))?))
        .expect("one number")
}

/// The first Monday at least two days ahead (Berlin).
fn monday_ahead() -> NaiveDate {
    let mut day = Utc::now().with_timezone(&Berlin).date_naive() + Duration::days(2);
    while day.weekday() != chrono::Weekday::Mon {
        day += Duration::days(1);
    }
    day
}

/// The Monday before the next change to summer time (last Sunday of March) at least 8 days
/// ahead.
fn clock_change_monday() -> NaiveDate {
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    let mut year = today.year();
    loop {
        let mut sunday = NaiveDate::from_ymd_opt(year, 3, 31).expect("date");
        while sunday.weekday() != chrono::Weekday::Sun {
            sunday -= Duration::days(1);
        }
        if sunday - today >= Duration::days(8) {
            return sunday - Duration::days(6);
        }
        year += 1;
    }
}

async fn plan(hub: &TestHub, region: &str, body: Value) -> crate::common::Answer {
    hub.post(&format!("/api/v1/regions/{region}/tour-plans"), body)
        .await
}

async fn planned(hub: &TestHub, region: &str, first_day: NaiveDate, weeks: u32) -> Value {
    let answer = plan(
        hub,
        region,
        json!({"id": id(), "first_day": first_day.to_string(), "weeks": weeks}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
    answer.body
}

async fn publish(hub: &TestHub, plan: &Value) -> Value {
    let id = plan["id"].as_str().expect("id");
    let answer = hub
        .post(&format!("/api/v1/tour-plans/{id}/publish"), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    answer.body
}

#[test]
fn the_demo_cycle_meets_every_frequency_and_passes_the_planner_check() {
    let dir = tempfile::tempdir().unwrap();
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    hub::demo::create_demo(&store, today).unwrap();
    let region = hub::demo::demo_region_id();
    let (first_day, weeks, figures): (String, u32, String) = store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT first_day, weeks, figures FROM tour_plans WHERE status = 'published'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    let figures: Value = serde_json::from_str(&figures).unwrap();
    assert_eq!(weeks, 4);
    assert_eq!(figures["villages_met"], 12, "{figures:#}");
    assert_eq!(figures["visits_planned"], figures["visits_required"]);
    assert_eq!(figures["problems"], json!([]));
    // The same instance again: the planner's own check finds nothing wrong.
    let first_day = NaiveDate::parse_from_str(&first_day, "%Y-%m-%d").unwrap();
    let instance = store
        .blocking(|c| hub::tours::load(c, &region, first_day, weeks))
        .unwrap();
    assert_eq!(instance.input.villages.len(), 12);
    assert_eq!(instance.input.start_step_minutes, 15, "the default grid");
    let planned = hub::tours::run_planner(&instance, &[], 1).unwrap();
    assert!(planned.problems.is_empty(), "{:?}", planned.problems);
    assert!(planned.plan.unmet.is_empty(), "{:?}", planned.plan.unmet);
    // Every visit within the bus's working time, none on a holiday.
    let visits: Vec<(String, String)> = store
        .blocking(|c| {
            let mut stmt = c.prepare("SELECT starts_at, ends_at FROM imbus_visits")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .unwrap();
    assert_eq!(visits.len(), 32);
    for (starts, ends) in visits {
        let starts = chrono::DateTime::parse_from_rfc3339(&starts)
            .unwrap()
            .with_timezone(&Berlin);
        let ends = chrono::DateTime::parse_from_rfc3339(&ends)
            .unwrap()
            .with_timezone(&Berlin);
        assert!(
            starts.format("%H:%M").to_string().as_str() >= "08:30",
            "{starts}"
        );
        // Round times for the poster: on the quarter hour, local time.
        assert!(
            ["00", "15", "30", "45"].contains(&starts.format("%M").to_string().as_str()),
            "{starts}"
        );
        assert!(
            ends.format("%H:%M").to_string().as_str() <= "16:30",
            "{ends}"
        );
        assert!(starts.weekday().number_from_monday() <= 5, "{starts}");
        assert_eq!(
            hub::tours::holidays::holiday(starts.date_naive()),
            None,
            "{starts}"
        );
    }
    // The region's setting sets the grid; a value that does not divide 60 falls back to 15.
    let step = |value: Value| {
        let region = region.clone();
        store
            .blocking(move |c| {
                c.execute(
                    "UPDATE regions SET settings = json_set(COALESCE(settings, '{}'),
                       '$.imbus_start_step_minutes', json(?1)) WHERE id = ?2",
                    rusqlite::params![value.to_string(), region],
                )?;
                hub::tours::load(c, &region, first_day, weeks)
            })
            .unwrap()
    };
    let half_hours = step(json!(30));
    assert_eq!(half_hours.input.start_step_minutes, 30);
    let planned = hub::tours::run_planner(&half_hours, &[], 1).unwrap();
    assert!(planned.problems.is_empty(), "{:?}", planned.problems);
    assert!(!planned.plan.visits.is_empty());
    assert!(planned.plan.visits.iter().all(|v| v.start % 30 == 0));
    for bad in [json!(7), json!(0), json!(90), json!("15")] {
        assert_eq!(step(bad.clone()).input.start_step_minutes, 15, "{bad}");
    }
    // Without rounding the same cycle has starts off the quarter hour.
    let exact = step(json!(1));
    assert_eq!(exact.input.start_step_minutes, 1);
    let planned = hub::tours::run_planner(&exact, &[], 1).unwrap();
    assert!(planned.plan.visits.iter().any(|v| v.start % 15 != 0));
}

#[tokio::test]
async fn publishing_makes_visits_slots_and_shares_in_utc_across_the_clock_change() {
    let hub = TestHub::start().await;
    let t = tours(&hub).await;
    let monday = clock_change_monday();
    let sunday = monday + Duration::days(6);
    // A region-wide closed day in the second week, besides the public holidays.
    let closed = monday + Duration::days(9);
    hub.create(
        "imbus-closed-days",
        json!({"region_id": t.region, "date": closed.to_string(), "reason": "Betriebsausflug"}),
    )
    .await;
    let draft = planned(&hub, &t.region, monday, 2).await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(
        draft["figures"]["villages_met"], 3,
        "{:#}",
        draft["figures"]
    );
    assert_eq!(hub.count("imbus_visits"), 0, "a draft publishes nothing");
    let published = publish(&hub, &draft).await;
    assert_eq!(published["status"], "published");
    let visits = published["visits"].as_array().unwrap();
    // Dahlum weekly, the others once in two weeks.
    assert_eq!(visits.len(), 4, "{visits:#?}");
    assert_eq!(hub.count("imbus_visits"), 4);
    let easter_monday =
        hub::tours::holidays::easter_sunday(monday.year()).unwrap() + Duration::days(1);
    for v in visits {
        let date = NaiveDate::parse_from_str(v["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        assert_ne!(date, closed, "no visit on the closed day");
        assert_ne!(date, easter_monday, "no visit on Easter Monday");
        assert_eq!(hub::tours::holidays::holiday(date), None);
        // The stored UTC instant is the wall-clock start in Berlin: UTC+1 before the change,
        // UTC+2 after it.
        let stored = one(
            &hub,
            &format!(
                "SELECT starts_at FROM imbus_visits WHERE village_id = '{}' AND plan_id = '{}'
                 AND starts_at LIKE '{}%'",
                v["village_id"].as_str().unwrap(),
                published["id"].as_str().unwrap(),
                v["starts_at"].as_str().unwrap().get(..10).unwrap()
            ),
        );
        let local = format!("{date} {}", v["start"].as_str().unwrap());
        let wall = chrono::NaiveDateTime::parse_from_str(&local, "%Y-%m-%d %H:%M").unwrap();
        let offset = if date < sunday { 1 } else { 2 };
        let expected = (wall - Duration::hours(offset))
            .format("%Y-%m-%dT%H:%M:00Z")
            .to_string();
        assert_eq!(stored, expected, "{v:#}");
        assert_eq!(
            Berlin
                .from_utc_datetime(&(wall - Duration::hours(offset)))
                .naive_local(),
            wall
        );
    }
    // A weekly village keeps its wall-clock time: the same local start both weeks, one hour
    // less in UTC after the change.
    let dahlum: Vec<&Value> = visits
        .iter()
        .filter(|v| v["village_id"] == json!(t.villages[0]))
        .collect();
    assert_eq!(dahlum.len(), 2);
    if !dahlum.iter().any(|v| v["replacement"] == json!(true)) {
        assert_eq!(dahlum[0]["start"], dahlum[1]["start"]);
        let hour = |v: &Value| {
            v["starts_at"].as_str().unwrap()[11..13]
                .parse::<i32>()
                .unwrap()
        };
        assert_eq!(hour(dahlum[0]) - hour(dahlum[1]), 1, "{dahlum:#?}");
    }
    // Slots: 90 minutes less 30 walk-in minutes make two of 30 minutes per visit.
    assert_eq!(hub.count("slots"), 8);
    assert_eq!(
        number(
            &hub,
            "SELECT COUNT(*) FROM imbus_visits WHERE walk_in_minutes = 30 AND status = 'published' AND bus_id IS NOT NULL AND counsellor_id IS NOT NULL"
        ),
        4
    );
    // The Dahlum kiosk holds its share (half of two slots) of each Dahlum visit.
    assert_eq!(
        number(
            &hub,
            &format!(
                "SELECT COUNT(*) FROM slots WHERE reserved_for_device_id = '{}'",
                t.device
            )
        ),
        2
    );
    // Kiosks learn of the visits and slots through the change log.
    assert_eq!(
        number(
            &hub,
            "SELECT COUNT(*) FROM change_log WHERE kind = 'imbus_visits'"
        ),
        4
    );
    assert!(number(&hub, "SELECT COUNT(*) FROM change_log WHERE kind = 'slots'") >= 8);
    // Publishing again answers the same and changes nothing.
    let again = publish(&hub, &draft).await;
    assert_eq!(again, published);
    assert_eq!(hub.count("imbus_visits"), 4);
    hub.stop().await;
}

#[tokio::test]
async fn plan_creation_is_idempotent_by_its_id() {
    let hub = TestHub::start().await;
    let t = tours(&hub).await;
    let body = json!({"id": id(), "first_day": monday_ahead().to_string(), "weeks": 2, "seed": 7});
    let first = plan(&hub, &t.region, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:#}", first.body);
    let again = plan(&hub, &t.region, body.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body);
    let mut other = body.clone();
    other["weeks"] = json!(4);
    let clash = plan(&hub, &t.region, other).await;
    assert_eq!(clash.status, StatusCode::CONFLICT, "{:#}", clash.body);
    assert_eq!(clash.content_type, "application/problem+json");
    assert_eq!(hub.count("tour_plans"), 1);
    let read = hub
        .get(&format!(
            "/api/v1/tour-plans/{}",
            body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["visits"], first.body["visits"]);
    assert_eq!(read.body["seed"], 7);
    hub.stop().await;
}

#[tokio::test]
async fn a_replan_after_a_new_village_moves_few_patterns_and_keeps_bookings() {
    let hub = TestHub::start().await;
    let t = tours(&hub).await;
    let monday = monday_ahead();
    let first = publish(&hub, &planned(&hub, &t.region, monday, 2).await).await;
    // A booking on an open slot of the first Dahlum visit.
    let slot = one(
        &hub,
        &format!(
            "SELECT s.id FROM slots s JOIN imbus_visits i ON i.id = s.visit_id
             WHERE i.village_id = '{}' AND s.reserved_for_device_id IS NULL
             ORDER BY s.starts_at LIMIT 1",
            t.villages[0]
        ),
    );
    let booked = hub
        .create(
            "appointments",
            json!({"region_id": t.region, "slot_id": slot, "topic": "care", "channel": "phone"}),
        )
        .await;
    let booked_id = booked["id"].as_str().unwrap().to_string();

    let added = village(&hub, &t.region, "Winnigstedt", 52.0500, 10.7833, 2).await;
    let second = planned(&hub, &t.region, monday, 2).await;
    let moves = second["moves"].as_array().unwrap();
    assert!(
        moves
            .iter()
            .any(|m| m["village_id"] == json!(added) && m["reason"] == "new_village"),
        "{moves:#?}"
    );
    let others = moves
        .iter()
        .filter(|m| m["reason"] != "new_village")
        .count();
    assert!(
        others <= 1,
        "a new village moves at most one pattern: {moves:#?}"
    );
    assert_eq!(second["figures"]["villages_met"], 4);
    let dahlum_moved = moves
        .iter()
        .any(|m| m["village_id"] == json!(t.villages[0]));

    let published = publish(&hub, &second).await;
    assert!(
        published["publication"]["visits_created"].as_u64().unwrap() >= 1,
        "{:#}",
        published["publication"]
    );
    assert_eq!(
        one(
            &hub,
            &format!(
                "SELECT status FROM tour_plans WHERE id = '{}'",
                first["id"].as_str().unwrap()
            )
        ),
        "superseded"
    );
    // The new village has its visit; no visit twice on a village and day.
    assert!(
        number(
            &hub,
            &format!(
                "SELECT COUNT(*) FROM imbus_visits WHERE village_id = '{added}' AND status = 'published'"
            )
        ) >= 1
    );
    assert_eq!(
        number(
            &hub,
            "SELECT COUNT(*) FROM (SELECT village_id, substr(starts_at, 1, 10) d, COUNT(*) n
             FROM imbus_visits WHERE status <> 'cancelled' GROUP BY village_id, d HAVING n > 1)"
        ),
        0
    );
    assert!(
        !dahlum_moved,
        "the weekly village keeps its pattern: {moves:#?}"
    );
    {
        // Dahlum's regular appointment stayed: its visit and the booking survive, at the
        // slot's time.
        let row = one(
            &hub,
            &format!(
                "SELECT a.status || ' ' || (a.starts_at = s.starts_at) || ' ' || i.status
                 FROM appointments a JOIN slots s ON s.id = a.slot_id
                 JOIN imbus_visits i ON i.id = s.visit_id WHERE a.id = '{booked_id}'"
            ),
        );
        assert_eq!(row, "booked 1 published");
    }
    assert_eq!(
        one(
            &hub,
            &format!("SELECT status FROM appointments WHERE id = '{booked_id}'")
        ),
        "booked"
    );
    hub.stop().await;
}

#[tokio::test]
async fn visits_move_and_cancel_with_reasons_and_bad_moves_change_nothing() {
    let hub = TestHub::start().await;
    let t = tours(&hub).await;
    let monday = monday_ahead();
    let published = publish(&hub, &planned(&hub, &t.region, monday, 2).await).await;
    let visit_id = one(
        &hub,
        &format!(
            "SELECT id FROM imbus_visits WHERE village_id = '{}' ORDER BY starts_at LIMIT 1",
            t.villages[0]
        ),
    );
    let visit = hub
        .get(&format!("/api/v1/imbus-visits/{visit_id}"))
        .await
        .body;
    let slot = one(
        &hub,
        &format!(
            "SELECT id FROM slots WHERE visit_id = '{visit_id}' AND reserved_for_device_id IS NULL ORDER BY starts_at LIMIT 1"
        ),
    );
    let booked = hub
        .create(
            "appointments",
            json!({"region_id": t.region, "slot_id": slot, "topic": "money", "channel": "phone"}),
        )
        .await;
    let slot_start = one(
        &hub,
        &format!("SELECT starts_at FROM slots WHERE id = '{slot}'"),
    );

    // A free working day of the period, at 10:00.
    let busy: Vec<String> = published["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["date"].as_str().unwrap().to_string())
        .collect();
    let free = (0..12)
        .map(|d| monday + Duration::days(d))
        .find(|d| {
            d.weekday().number_from_monday() <= 5
                && !busy.contains(&d.to_string())
                && hub::tours::holidays::holiday(*d).is_none()
        })
        .expect("a free day");
    let target = Berlin
        .from_local_datetime(&free.and_hms_opt(10, 0, 0).unwrap())
        .unwrap();
    let path = format!("/api/v1/imbus-visits/{visit_id}/move");
    let before = (hub.count("audit_log"), hub.count("change_log"));

    // Bad moves first: each refused with a problem document, nothing changed.
    let past = (Utc::now() - Duration::days(1)).to_rfc3339();
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"starts_at": target.to_rfc3339()}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason",
        ),
        (
            json!({"reason": "Werkstatt"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "starts_at",
        ),
        (
            json!({"starts_at": target.to_rfc3339(), "reason": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason",
        ),
        (
            json!({"starts_at": 12, "reason": "Werkstatt"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "starts_at",
        ),
        (
            json!({"starts_at": "2027-02-30T09:00:00+01:00", "reason": "Werkstatt"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "starts_at",
        ),
        (
            json!({"starts_at": "morgen", "reason": "Werkstatt"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "starts_at",
        ),
        (
            json!({"starts_at": past, "reason": "Werkstatt"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "starts_at",
        ),
        (
            json!({"starts_at": target.to_rfc3339(), "reason": "Werkstatt", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            json!({"starts_at": target.to_rfc3339(), "reason": "x".repeat(501)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "change_reason",
        ),
    ];
    for (body, status, field) in cases {
        let answer = hub.post(&path, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {:#}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.body["field"], field, "{body}: {:#}", answer.body);
    }
    // Onto a closed day.
    hub.create(
        "imbus-closed-days",
        json!({"region_id": t.region, "date": free.to_string(), "reason": "Fortbildung"}),
    )
    .await;
    let closed = hub
        .post(
            &path,
            json!({"starts_at": target.to_rfc3339(), "reason": "Werkstatt"}),
        )
        .await;
    assert_eq!(
        closed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        closed.body
    );
    assert!(
        closed.body["reason"]
            .as_str()
            .unwrap()
            .contains("Fortbildung")
    );
    // Onto another visit of the same bus.
    let other = published["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["village_id"] != json!(t.villages[0]))
        .expect("another visit");
    let clash = hub
        .post(
            &path,
            json!({"starts_at": other["starts_at"], "reason": "Werkstatt"}),
        )
        .await;
    assert_eq!(
        clash.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        clash.body
    );
    // Unknown visit, oversized and non-JSON bodies.
    let unknown = hub
        .post(
            &format!("/api/v1/imbus-visits/{}/move", id()),
            json!({"starts_at": target.to_rfc3339(), "reason": "Werkstatt"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let huge = hub
        .send_raw(
            Method::POST,
            &path,
            "application/json",
            vec![b' '; 70 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let text = hub
        .send_raw(Method::POST, &path, "text/plain", b"morgen".to_vec())
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let after_closed_day = hub.count("audit_log");
    assert_eq!(
        after_closed_day,
        before.0 + 1,
        "only the closed day was written"
    );
    assert_eq!(hub.count("change_log"), before.1);
    let unchanged = hub
        .get(&format!("/api/v1/imbus-visits/{visit_id}"))
        .await
        .body;
    assert_eq!(unchanged["starts_at"], visit["starts_at"]);
    assert_eq!(unchanged["version"], visit["version"]);

    // A good move: the day before the closed one would be booked by others, so move within the
    // visit's own day by 30 minutes later if free, else to another free day.
    let moved_to = (0..12)
        .map(|d| monday + Duration::days(d))
        .find(|d| {
            d.weekday().number_from_monday() <= 5
                && *d != free
                && !busy.contains(&d.to_string())
                && hub::tours::holidays::holiday(*d).is_none()
        })
        .expect("another free day");
    let new_start = Berlin
        .from_local_datetime(&moved_to.and_hms_opt(10, 0, 0).unwrap())
        .unwrap();
    let reason = "Der IMBUS ist in der Werkstatt";
    let moved = hub
        .post(
            &path,
            json!({"starts_at": new_start.to_rfc3339(), "reason": reason}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:#}", moved.body);
    assert_eq!(moved.body["moved_from"], visit["starts_at"]);
    assert_eq!(moved.body["change_reason"], reason);
    let offset = new_start.with_timezone(&Utc)
        - chrono::DateTime::parse_from_rfc3339(visit["starts_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
    let slot_now = one(
        &hub,
        &format!("SELECT starts_at FROM slots WHERE id = '{slot}'"),
    );
    let expected = chrono::DateTime::parse_from_rfc3339(&slot_start)
        .unwrap()
        .with_timezone(&Utc)
        + offset;
    assert_eq!(slot_now, expected.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    assert_eq!(
        one(
            &hub,
            &format!(
                "SELECT starts_at FROM appointments WHERE id = '{}'",
                booked["id"].as_str().unwrap()
            )
        ),
        slot_now,
        "the booking moves with its slot"
    );
    let line = one(
        &hub,
        &format!(
            "SELECT body FROM change_log WHERE kind = 'imbus_visits' AND entity_id = '{visit_id}' ORDER BY seq DESC LIMIT 1"
        ),
    );
    let line: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["change_reason"], reason, "kiosks show the reason");
    // The same move again changes nothing.
    let version = moved.body["version"].clone();
    let again = hub
        .post(
            &path,
            json!({"starts_at": new_start.to_rfc3339(), "reason": reason}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["version"], version);

    // A new plan of the period keeps the moved visit (by the date it moved from) rather than
    // cancelling it: it goes back to the plan's time, and the booking goes with it.
    let replanned = publish(&hub, &planned(&hub, &t.region, monday, 2).await).await;
    assert_eq!(
        replanned["publication"]["visits_cancelled"], 0,
        "{:#}",
        replanned["publication"]
    );
    let back = hub
        .get(&format!("/api/v1/imbus-visits/{visit_id}"))
        .await
        .body;
    assert_eq!(back["status"], "published");
    assert_eq!(back["plan_id"], replanned["id"]);
    if back["starts_at"] == visit["starts_at"] {
        assert_eq!(
            back["moved_from"],
            Value::Null,
            "back where it was announced"
        );
    }
    assert_eq!(back["change_reason"], "Neuer Tourenplan");
    assert_eq!(
        one(
            &hub,
            &format!(
                "SELECT a.status || ' ' || (a.starts_at = s.starts_at) FROM appointments a
                 JOIN slots s ON s.id = a.slot_id WHERE a.id = '{}'",
                booked["id"].as_str().unwrap()
            )
        ),
        "booked 1"
    );

    // Cancel with the reason residents read; a cancelled visit does not move.
    let cancelled = hub
        .call(
            Method::DELETE,
            &format!("/api/v1/imbus-visits/{visit_id}?reason=Krankheit%20der%20Beraterin"),
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancel_reason"], "Krankheit der Beraterin");
    let late = hub
        .post(
            &path,
            json!({"starts_at": target.to_rfc3339(), "reason": "Werkstatt"}),
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{:#}", late.body);
    hub.stop().await;
}

#[tokio::test]
async fn bad_plan_requests_are_refused_and_change_nothing() {
    let hub = TestHub::start().await;
    let t = tours(&hub).await;
    let monday = monday_ahead().to_string();
    let tuesday = (monday_ahead() + Duration::days(1)).to_string();
    let before = (hub.count("audit_log"), hub.count("tour_plans"));
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"first_day": monday, "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
        ),
        (
            json!({"id": "nope", "first_day": monday, "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
        ),
        (
            json!({"id": 5, "first_day": monday, "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id",
        ),
        (
            json!({"id": id(), "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_day",
        ),
        (
            json!({"id": id(), "first_day": 20270322, "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_day",
        ),
        (
            json!({"id": id(), "first_day": tuesday, "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_day",
        ),
        (
            json!({"id": id(), "first_day": "2027-02-29", "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_day",
        ),
        (
            json!({"id": id(), "first_day": "22.03.2027", "weeks": 2}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_day",
        ),
        (
            json!({"id": id(), "first_day": monday}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weeks",
        ),
        (
            json!({"id": id(), "first_day": monday, "weeks": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weeks",
        ),
        (
            json!({"id": id(), "first_day": monday, "weeks": 9}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weeks",
        ),
        (
            json!({"id": id(), "first_day": monday, "weeks": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weeks",
        ),
        (
            json!({"id": id(), "first_day": monday, "weeks": "2"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weeks",
        ),
        // Fortnightly villages need an even cycle.
        (
            json!({"id": id(), "first_day": monday, "weeks": 3}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weeks",
        ),
        (
            json!({"id": id(), "first_day": monday, "weeks": 2, "seed": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "seed",
        ),
        (
            json!({"id": id(), "first_day": monday, "weeks": 2, "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
    ];
    for (body, status, field) in cases {
        let answer = plan(&hub, &t.region, body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {:#}", answer.body);
        assert_eq!(answer.content_type, "application/problem+json");
        assert_eq!(answer.body["field"], field, "{body}: {:#}", answer.body);
    }
    let good = json!({"id": id(), "first_day": monday, "weeks": 2});
    let unknown = plan(&hub, &id(), good.clone()).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{:#}", unknown.body);
    let region_path = format!("/api/v1/regions/{}/tour-plans", t.region);
    let huge = hub
        .send_raw(
            Method::POST,
            &region_path,
            "application/json",
            vec![b' '; 70 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let broken = hub
        .send_raw(
            Method::POST,
            &region_path,
            "application/json",
            b"{\"id\": ".to_vec(),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    let text = hub
        .send_raw(Method::POST, &region_path, "text/plain", b"plan".to_vec())
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A region without a bus cannot be planned.
    let empty = hub
        .create("regions", json!({"id": id(), "name": "Leer"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let no_bus = plan(&hub, &empty, good.clone()).await;
    assert_eq!(
        no_bus.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        no_bus.body
    );
    assert_eq!(hub.count("tour_plans"), before.1);
    assert_eq!(
        hub.count("audit_log"),
        before.0 + 1,
        "only the empty region was written"
    );

    // Reading and publishing unknown plans, publishing with fields.
    assert_eq!(
        hub.get(&format!("/api/v1/tour-plans/{}", id()))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let missing = hub
        .post(&format!("/api/v1/tour-plans/{}/publish", id()), json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let draft = planned(&hub, &t.region, monday_ahead(), 2).await;
    let publish_path = format!(
        "/api/v1/tour-plans/{}/publish",
        draft["id"].as_str().unwrap()
    );
    let fields = hub.post(&publish_path, json!({"now": true})).await;
    assert_eq!(fields.status, StatusCode::UNPROCESSABLE_ENTITY);
    let huge = hub
        .send_raw(
            Method::POST,
            &publish_path,
            "application/json",
            vec![b' '; 70 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(hub.count("imbus_visits"), 0);
    // Bad resource input: a bus ending before it starts, a closed day for bus and counsellor.
    let bus = hub
        .post(
            "/api/v1/imbus-buses",
            json!({"region_id": t.region, "name": "B", "depot_name": "D", "depot_lat": 52.1,
                   "depot_lon": 10.7, "day_start": "16:00", "day_end": "08:00"}),
        )
        .await;
    assert_eq!(bus.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bus.body["field"], "day_end");
    let village = hub
        .call(
            Method::PATCH,
            &format!("/api/v1/villages/{}", t.villages[0]),
            Some(json!({"imbus_every_weeks": 9})),
        )
        .await;
    assert_eq!(village.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(village.body["field"], "imbus_every_weeks");
    hub.stop().await;
}

#[test]
fn the_tours_command_prints_the_timetable_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    let store = hub::store::Store::open(&dir.path().join("hub.db")).unwrap();
    let today = Utc::now().with_timezone(&Berlin).date_naive();
    hub::demo::create_demo(&store, today).unwrap();
    drop(store);
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hub"))
            .env_remove("DORFPUNKT_HUB_CONFIG")
            .env("DORFPUNKT_LOG", "warn")
            .args(["tours", "plan", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .expect("runs")
    };
    let out = run(&["--weeks", "4"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Woche 1") && text.contains("Woche 4"),
        "{text}"
    );
    assert!(
        text.contains("Schöppenstedt") && text.contains("IMBUS Elm-Asse"),
        "{text}"
    );
    assert!(
        text.contains("villages meeting their frequency: 12 of 12"),
        "{text}"
    );
    assert!(
        text.contains("driving:") && text.contains("lower bound"),
        "{text}"
    );
    let tuesday = run(&["--weeks", "4", "--from", "2027-03-23"]);
    assert!(!tuesday.status.success());
    assert!(String::from_utf8_lossy(&tuesday.stderr).contains("Monday"));
    let odd = run(&["--weeks", "3"]);
    assert!(
        !odd.status.success(),
        "fortnightly villages need an even cycle"
    );
}

#[tokio::test]
async fn buses_counsellors_and_closed_days_are_resources_with_rules() {
    let hub = TestHub::start().await;
    let t = tours(&hub).await;
    let bus = one(&hub, "SELECT id FROM imbus_buses");
    let counsellor = one(
        &hub,
        "SELECT id FROM imbus_counsellors ORDER BY name LIMIT 1",
    );
    // Read, list, update, archive through the generic routes.
    let read = hub.get(&format!("/api/v1/imbus-buses/{bus}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(
        read.body["weekdays"],
        json!(["mon", "tue", "wed", "thu", "fri"])
    );
    assert_eq!(read.body["break_from"], "12:00");
    let list = hub
        .get(&format!("/api/v1/imbus-counsellors?region={}", t.region))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    let patched = hub
        .call(
            Method::PATCH,
            &format!("/api/v1/imbus-buses/{bus}"),
            Some(json!({"day_end": "17:00"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
    assert_eq!(patched.body["day_end"], "17:00");
    // Bad input: each refused naming the field, nothing written.
    let before = hub.count("audit_log");
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "imbus-buses",
            json!({"region_id": t.region, "name": "B", "depot_name": "D", "depot_lat": 52.1, "depot_lon": 10.7, "day_start": "8:00", "day_end": "16:00"}),
            "day_start",
        ),
        (
            "imbus-buses",
            json!({"region_id": t.region, "name": "B", "depot_name": "D", "depot_lat": 95.0, "depot_lon": 10.7, "day_start": "08:00", "day_end": "16:00"}),
            "depot_lat",
        ),
        (
            "imbus-buses",
            json!({"region_id": t.region, "name": "B", "depot_name": "D", "depot_lat": 52.1, "depot_lon": 10.7, "day_start": "08:00", "day_end": "16:00", "weekdays": ["mon", "mon"]}),
            "weekdays[1]",
        ),
        (
            "imbus-buses",
            json!({"region_id": t.region, "name": "B", "depot_name": "D", "depot_lat": 52.1, "depot_lon": 10.7, "day_start": "08:00", "day_end": "16:00", "weekdays": ["funday"]}),
            "weekdays[0]",
        ),
        (
            "imbus-buses",
            json!({"region_id": t.region, "name": "B", "depot_name": "D", "depot_lat": 52.1, "depot_lon": 10.7, "day_start": "08:00", "day_end": "16:00", "break_minutes": 60, "break_from": "12:00", "break_until": "12:30"}),
            "break_until",
        ),
        (
            "imbus-counsellors",
            json!({"region_id": t.region, "name": "C", "account_id": id()}),
            "account_id",
        ),
        (
            "imbus-counsellors",
            json!({"region_id": t.region, "name": "C", "weekdays": []}),
            "weekdays",
        ),
        (
            "imbus-closed-days",
            json!({"region_id": t.region, "date": "2027-02-30", "reason": "x"}),
            "date",
        ),
        (
            "imbus-closed-days",
            json!({"region_id": t.region, "date": "2027-03-01", "reason": ""}),
            "reason",
        ),
        (
            "imbus-closed-days",
            json!({"region_id": t.region, "date": "2027-03-01", "reason": "x", "bus_id": bus, "counsellor_id": counsellor}),
            "counsellor_id",
        ),
        (
            "imbus-closed-days",
            json!({"region_id": t.region, "date": "2027-03-01", "reason": "x", "bus_id": id()}),
            "bus_id",
        ),
    ];
    for (segment, body, field) in bad {
        let answer = hub.post(&format!("/api/v1/{segment}"), body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:#}",
            answer.body
        );
        assert_eq!(answer.body["field"], field, "{body}: {:#}", answer.body);
    }
    assert_eq!(hub.count("audit_log"), before);
    // An archived bus plans nothing: the region has no bus left.
    let archived = hub
        .call(Method::DELETE, &format!("/api/v1/imbus-buses/{bus}"), None)
        .await;
    assert_eq!(archived.status, StatusCode::OK, "{:#}", archived.body);
    let none = plan(
        &hub,
        &t.region,
        json!({"id": id(), "first_day": monday_ahead().to_string(), "weeks": 2}),
    )
    .await;
    assert_eq!(
        none.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        none.body
    );
    assert!(none.body["reason"].as_str().unwrap().contains("bus"));
    hub.stop().await;
}
