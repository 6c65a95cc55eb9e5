//! The published IMBUS timetable over the real API, without credentials: the iCalendar feed read
//! by an independent parser (Python `icalendar`, `tests/ics_check.py`), the poster read back with
//! `pdftotext`, the GTFS feed checked by an independent validator (`tests/gtfs_check.py`).
//! Visits are made through the resource routes and published by a status update.

use std::path::PathBuf;
use std::process::Command;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestHub, id};

/// A stop name with umlauts, long enough that its LOCATION line must be folded.
const LONG_STOP: &str = "Bushaltestelle Gemeindehaus gegen\u{fc}ber der B\u{e4}ckerei M\u{fc}ller-L\u{fc}denscheidt am \u{dc}berweg zur Gro\u{df}en M\u{fc}hle";

/// The Python with Debian's python3-icalendar (a pyenv `python3` first in PATH lacks it).
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// The last Sunday of `month` in the first year whose one is more than three days ahead.
fn next_last_sunday(month: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let mut year = today.year();
    loop {
        let mut day = NaiveDate::from_ymd_opt(year, month + 1, 1)
            .expect("the first of a month exists")
            - Duration::days(1);
        while day.weekday() != Weekday::Sun {
            day -= Duration::days(1);
        }
        if day - today > Duration::days(3) {
            return day;
        }
        year += 1;
    }
}

/// `hh:mm` Berlin wall time on `date`, as an instant with offset.
fn berlin(date: NaiveDate, hh: u32, mm: u32) -> String {
    chrono_tz::Europe::Berlin
        .from_local_datetime(&date.and_hms_opt(hh, mm, 0).expect("a whole hour is a time"))
        .single()
        .expect("09:00 on a weekday is neither skipped nor repeated")
        .to_rfc3339()
}

fn utc(date: NaiveDate, hh: u32) -> String {
    format!("{}T{hh:02}:00:00Z", date.format("%Y-%m-%d"))
}

struct Setup {
    region: String,
    kneitlingen: String,
    vahlberg: String,
    dorfplatz: String,
    /// Spring: Friday before and Tuesday after the clock goes forward; autumn likewise back.
    spring: (NaiveDate, NaiveDate),
    autumn: (NaiveDate, NaiveDate),
    /// Published visits in Kneitlingen: spring Friday, spring Tuesday (moved), autumn Friday,
    /// autumn Tuesday (replacement); the cancelled one (spring Wednesday); a draft.
    fri_spring: String,
    tue_spring: String,
    fri_autumn: String,
    tue_autumn: String,
    cancelled: String,
    draft: String,
    /// Vahlberg: one published visit at the long stop, one cancelled draft.
    vahlberg_visit: String,
    vahlberg_cancelled_draft: String,
}

async fn create(hub: &TestHub, segment: &str, body: Value) -> String {
    let mut body = body;
    body["id"] = json!(id());
    hub.create(segment, body).await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn visit(
    hub: &TestHub,
    region: &str,
    village: &str,
    stop: &str,
    day: NaiveDate,
    (from, to): ((u32, u32), (u32, u32)),
) -> String {
    create(
        hub,
        "imbus-visits",
        json!({"region_id": region, "village_id": village, "stop_id": stop,
               "starts_at": berlin(day, from.0, from.1), "ends_at": berlin(day, to.0, to.1),
               "counsellor": "Frau Aydin"}),
    )
    .await
}

async fn patch(hub: &TestHub, path: &str, body: Value) -> Value {
    let answer = hub.call(Method::PATCH, path, Some(body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {:#}", answer.body);
    answer.body
}

async fn publish(hub: &TestHub, visit: &str) {
    patch(
        hub,
        &format!("/api/v1/imbus-visits/{visit}"),
        json!({"status": "published"}),
    )
    .await;
}

async fn cancel(hub: &TestHub, visit: &str, reason: &str) {
    let answer = hub
        .call(
            Method::DELETE,
            &format!(
                "/api/v1/imbus-visits/{visit}?reason={}",
                reason.replace(' ', "+")
            ),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
}

/// Sets what the tour planner and an admin's move write (moved_from, change_reason,
/// replacement, walk-in minutes) straight in the file, so these tests do not depend on them.
fn set_columns(hub: &TestHub, visit: &str, sql_set: &str) {
    let visit = visit.to_string();
    let sql = format!("UPDATE imbus_visits SET {sql_set} WHERE id = ?1");
    hub.store
        .blocking(move |c| Ok(c.execute(&sql, [&visit])?))
        .expect("update visit");
}

async fn setup(hub: &TestHub) -> Setup {
    let region = create(
        hub,
        "regions",
        json!({"name": "Elm-Asse", "phone": "05332 96 84 10"}),
    )
    .await;
    let kneitlingen = create(hub, "villages", json!({"region_id": region, "name": "Kneitlingen", "municipality": "Kneitlingen", "lat": 52.13, "lon": 10.72})).await;
    let vahlberg = create(hub, "villages", json!({"region_id": region, "name": "Gro\u{df} Vahlberg", "municipality": "Vahlberg", "lat": 52.11, "lon": 10.63})).await;
    let dorfplatz = create(hub, "stops", json!({"region_id": region, "village_id": kneitlingen, "name": "Dorfplatz", "lat": 52.131, "lon": 10.721})).await;
    let long_stop = create(hub, "stops", json!({"region_id": region, "village_id": vahlberg, "name": LONG_STOP, "lat": 52.112, "lon": 10.631, "step_free": false})).await;

    let march = next_last_sunday(3);
    let october = next_last_sunday(10);
    let spring = (march - Duration::days(2), march + Duration::days(2));
    let autumn = (october - Duration::days(2), october + Duration::days(2));
    let morning = ((9, 0), (11, 0));
    let k = |day| visit(hub, &region, &kneitlingen, &dorfplatz, day, morning);
    let fri_spring = k(spring.0).await;
    let tue_spring = k(spring.1).await;
    let fri_autumn = k(autumn.0).await;
    let tue_autumn = k(autumn.1).await;
    let cancelled = k(spring.1 + Duration::days(1)).await;
    let draft = k(spring.1 + Duration::days(2)).await;
    let vahlberg_visit = visit(
        hub,
        &region,
        &vahlberg,
        &long_stop,
        spring.1,
        ((13, 0), (14, 30)),
    )
    .await;
    let vahlberg_cancelled_draft = visit(
        hub,
        &region,
        &vahlberg,
        &long_stop,
        spring.1 + Duration::days(7),
        morning,
    )
    .await;
    for v in [
        &fri_spring,
        &tue_spring,
        &fri_autumn,
        &tue_autumn,
        &cancelled,
        &vahlberg_visit,
    ] {
        publish(hub, v).await;
    }
    cancel(hub, &cancelled, "Der Bus ist in der Werkstatt").await;
    cancel(hub, &vahlberg_cancelled_draft, "nie angek\u{fc}ndigt").await;
    set_columns(
        hub,
        &tue_spring,
        &format!(
            "moved_from = '{}', change_reason = 'Stra\u{df}enfest am Montag'",
            utc(spring.1 - Duration::days(1), 7)
        ),
    );
    set_columns(hub, &tue_autumn, "replacement = 1");
    set_columns(hub, &vahlberg_visit, "walk_in_minutes = 30");
    Setup {
        region,
        kneitlingen,
        vahlberg,
        dorfplatz,
        spring,
        autumn,
        fri_spring,
        tue_spring,
        fri_autumn,
        tue_autumn,
        cancelled,
        draft,
        vahlberg_visit,
        vahlberg_cancelled_draft,
    }
}

/// GET without credentials: status, content type and body bytes.
async fn public_get(hub: &TestHub, path: &str) -> (StatusCode, String, Vec<u8>) {
    let response = hub
        .client
        .get(hub.url(path))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = response.bytes().await.expect("body").to_vec();
    (status, content_type, bytes)
}

/// Runs `ics_check.py` on the feed and returns its JSON.
fn parse_ics(hub: &TestHub, bytes: &[u8]) -> Value {
    let file = hub.dir.path().join(format!("{}.ics", id()));
    std::fs::write(&file, bytes).expect("write the feed");
    let out = Command::new(python())
        .arg(script("ics_check.py"))
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "ics_check failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(bytes)
    );
    serde_json::from_slice(&out.stdout).expect("ics_check prints JSON")
}

fn event<'a>(feed: &'a Value, visit: &str) -> Option<&'a Value> {
    feed["events"]
        .as_array()
        .expect("ics_check lists events")
        .iter()
        .find(|e| e["uid"] == json!(format!("{visit}@dorfpunkt")))
}

#[tokio::test]
async fn the_ics_feed_parses_with_local_times_across_the_clock_changes() {
    let hub = TestHub::start().await;
    let s = setup(&hub).await;
    let (status, content_type, bytes) = public_get(&hub, "/api/v1/timetable.ics").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(content_type, "text/calendar; charset=utf-8");
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(
        text.contains("\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n"),
        "{text}"
    );
    assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
    let feed = parse_ics(&hub, &bytes);
    assert_eq!(feed["version"], "2.0");
    assert_eq!(feed["method"], "PUBLISH");
    assert_eq!(feed["calscale"], "GREGORIAN");
    assert_eq!(feed["calname"], "IMBUS Elm-Asse");
    assert_eq!(feed["timezones"], json!(["Europe/Berlin"]));
    assert!(feed["max_octets"].as_u64().unwrap() <= 75, "{feed:#}");
    assert!(feed["folded_lines"].as_u64().unwrap() > 0);
    let uids: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids.len(), 6, "{uids:?}");
    assert!(
        event(&feed, &s.draft).is_none(),
        "a draft is never published"
    );
    assert!(
        event(&feed, &s.vahlberg_cancelled_draft).is_none(),
        "a draft that was cancelled was never announced"
    );

    // 09:00 in Berlin is 08:00Z before the spring change and 07:00Z after it; in autumn the
    // other way round. The parser's zone (pytz) and the feed's VTIMEZONE agree.
    let expect = [
        (&s.fri_spring, s.spring.0, 8),
        (&s.tue_spring, s.spring.1, 7),
        (&s.fri_autumn, s.autumn.0, 7),
        (&s.tue_autumn, s.autumn.1, 8),
    ];
    for (visit, day, hour) in expect {
        let e = event(&feed, visit).unwrap();
        assert_eq!(e["tzid"], "Europe/Berlin");
        assert_eq!(
            e["start_local"],
            json!(format!("{}T09:00:00", day.format("%Y-%m-%d")))
        );
        assert_eq!(e["start_utc"], json!(utc(day, hour)), "{e:#}");
        assert_eq!(e["start_utc_vtimezone"], json!(utc(day, hour)), "{e:#}");
        assert_eq!(e["end_utc_vtimezone"], json!(utc(day, hour + 2)), "{e:#}");
        assert_eq!(e["location"], "Dorfplatz, Kneitlingen");
        assert_eq!(e["geo"], json!([52.131, 10.721]));
        let description = e["description"].as_str().unwrap();
        assert!(
            description.contains("Gesundheit, Pflege, Geld, Wohnen und Familie"),
            "{description}"
        );
        assert!(description.contains("kostenlos"), "{description}");
        assert!(description.contains("05332 96 84 10"), "{description}");
        assert!(description.contains("Dorfpunkt-Kiosk"), "{description}");
    }
    let fri = event(&feed, &s.fri_spring).unwrap();
    assert_eq!(fri["status"], "CONFIRMED");
    assert_eq!(fri["summary"], "IMBUS Beratung in Kneitlingen");

    let moved = event(&feed, &s.tue_spring).unwrap();
    let old = s.spring.1 - Duration::days(1);
    assert!(
        moved["description"].as_str().unwrap().starts_with(&format!(
            "Verlegt vom Montag, {}, 09:00 Uhr: Stra\u{df}enfest am Montag\n",
            old.format("%d.%m.%Y")
        )),
        "{moved:#}"
    );
    let replacement = event(&feed, &s.tue_autumn).unwrap();
    assert!(
        replacement["description"]
            .as_str()
            .unwrap()
            .starts_with("Ersatztermin"),
        "{replacement:#}"
    );
    assert_eq!(
        replacement["summary"],
        "IMBUS Beratung in Kneitlingen (Ersatztermin)"
    );

    let cancelled = event(&feed, &s.cancelled).unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert!(
        cancelled["description"]
            .as_str()
            .unwrap()
            .starts_with("Dieser Termin f\u{e4}llt aus: Der Bus ist in der Werkstatt"),
        "{cancelled:#}"
    );

    // The long stop name with umlauts comes back whole after folding, and escaping of the
    // comma between stop and village round-trips.
    let long = event(&feed, &s.vahlberg_visit).unwrap();
    assert_eq!(
        long["location"],
        json!(format!("{LONG_STOP}, Gro\u{df} Vahlberg"))
    );
    assert!(
        long["description"]
            .as_str()
            .unwrap()
            .contains("Ohne Termin: 14:00 bis 14:30 Uhr"),
        "{long:#}"
    );
    assert!(text.contains("LOCATION:Bushaltestelle"));
    assert!(text.contains("\\, Gro\u{df} Vahlberg") || text.contains("\\,\r\n  Gro"));

    // The village feed holds only that village's visits.
    let (status, _, bytes) = public_get(
        &hub,
        &format!("/api/v1/timetable.ics?village={}", s.vahlberg),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let village = parse_ics(&hub, &bytes);
    assert_eq!(village["calname"], "IMBUS in Gro\u{df} Vahlberg");
    let uids: Vec<&Value> = village["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["uid"])
        .collect();
    assert_eq!(
        uids,
        vec![&json!(format!("{}@dorfpunkt", s.vahlberg_visit))]
    );
    // The same with the region named.
    let (status, _, _) = public_get(
        &hub,
        &format!(
            "/api/v1/timetable.ics?region={}&village={}",
            s.region, s.kneitlingen
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    hub.stop().await;
}

#[tokio::test]
async fn an_updated_visit_keeps_its_uid_with_a_higher_sequence() {
    let hub = TestHub::start().await;
    let s = setup(&hub).await;
    let path = format!("/api/v1/timetable.ics?village={}", s.kneitlingen);
    let response = hub.client.get(hub.url(&path)).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert!(response.headers().contains_key("last-modified"));
    // Public and revalidated, unlike the personal answers (no-store).
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let before = parse_ics(&hub, &response.bytes().await.unwrap());
    let seq_before = event(&before, &s.fri_spring).unwrap()["sequence"]
        .as_i64()
        .unwrap();

    // Unchanged: the client's copy is still good.
    let again = hub
        .client
        .get(hub.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // The visit ends later: same UID, higher SEQUENCE, new end; the feed's ETag changes.
    patch(
        &hub,
        &format!("/api/v1/imbus-visits/{}", s.fri_spring),
        json!({"ends_at": berlin(s.spring.0, 12, 0)}),
    )
    .await;
    let response = hub
        .client
        .get(hub.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_ne!(response.headers()["etag"].to_str().unwrap(), etag);
    let after = parse_ics(&hub, &response.bytes().await.unwrap());
    let e = event(&after, &s.fri_spring).unwrap();
    assert!(e["sequence"].as_i64().unwrap() > seq_before, "{e:#}");
    assert_eq!(e["end_utc"], json!(utc(s.spring.0, 11)));
    assert_eq!(
        before["events"].as_array().unwrap().len(),
        after["events"].as_array().unwrap().len()
    );

    // Cancelling keeps the UID too and marks the event cancelled.
    cancel(&hub, &s.fri_spring, "Krankheit").await;
    let (_, _, bytes) = public_get(&hub, &path).await;
    let cancelled = parse_ics(&hub, &bytes);
    let e = event(&cancelled, &s.fri_spring).unwrap();
    assert_eq!(e["status"], "CANCELLED");
    assert!(e["sequence"].as_i64().unwrap() > seq_before + 1);
    assert!(e["summary"].as_str().unwrap().starts_with("F\u{e4}llt aus"));
    hub.stop().await;
}

#[tokio::test]
async fn bad_timetable_requests_get_problems_and_several_regions_need_a_choice() {
    let hub = TestHub::start().await;
    // No region yet.
    let (status, content_type, _) = public_get(&hub, "/api/v1/timetable.ics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/problem+json");
    let s = setup(&hub).await;
    let unknown = id();
    for (path, expected) in [
        (
            format!("/api/v1/timetable.ics?village={unknown}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/timetable.ics?region={unknown}"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/villages/{unknown}/poster.pdf"),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/v1/gtfs.zip?region={unknown}"),
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/timetable.ics?village=Kneitlingen".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/timetable.ics?village=".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/timetable.ics?town={}", s.kneitlingen),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "/api/v1/timetable.ics?village={}&village={}",
                s.kneitlingen, s.vahlberg
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/timetable.ics?village={}", "9".repeat(10_000)),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/timetable.ics?village=%ff%fe".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/gtfs.zip?village={}", s.kneitlingen),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/villages/not-an-id/poster.pdf".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/v1/villages/{}/poster.pdf?weeks=3", s.kneitlingen),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, content_type, body) = public_get(&hub, &path).await;
        assert_eq!(
            status,
            expected,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(content_type, "application/problem+json", "{path}");
        let problem: Value = serde_json::from_slice(&body).unwrap();
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // Writing to the public routes is not a thing.
    let response = hub
        .client
        .post(hub.url("/api/v1/timetable.ics"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    // A second region: the region must be chosen, a village still implies it.
    let other = create(&hub, "regions", json!({"name": "Harz"})).await;
    let (status, _, body) = public_get(&hub, "/api/v1/timetable.ics").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let problem: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("region="),
        "{problem}"
    );
    let (status, _, _) = public_get(&hub, "/api/v1/gtfs.zip").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, bytes) =
        public_get(&hub, &format!("/api/v1/timetable.ics?region={other}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        parse_ics(&hub, &bytes)["events"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (status, _, bytes) =
        public_get(&hub, &format!("/api/v1/timetable.ics?region={}", s.region)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        parse_ics(&hub, &bytes)["events"].as_array().unwrap().len(),
        6
    );
    let (status, _, _) = public_get(
        &hub,
        &format!("/api/v1/timetable.ics?village={}", s.kneitlingen),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A village with another region named is not found there.
    let (status, _, _) = public_get(
        &hub,
        &format!(
            "/api/v1/timetable.ics?region={other}&village={}",
            s.kneitlingen
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    hub.stop().await;
}

#[tokio::test]
async fn only_the_published_timetable_answers_without_credentials() {
    let hub = TestHub::start().await;
    let s = setup(&hub).await;
    for path in [
        "/api/v1/timetable.ics".to_string(),
        "/api/v1/gtfs.zip".to_string(),
        format!("/api/v1/villages/{}/poster.pdf", s.kneitlingen),
    ] {
        let (status, _, _) = public_get(&hub, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    assert_eq!(hub::api::timetable::PUBLIC_PATHS.len(), 3);

    // Every resource route and the other data routes still want credentials.
    let doc = hub.get("/api/v1/openapi.json").await.body;
    let mut paths: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| p.replace("{id}", &s.kneitlingen))
        .collect();
    assert!(paths.len() > 30, "{paths:?}");
    paths.extend([
        "/api/v1/audit-log".to_string(),
        format!("/api/v1/regions/{}/changes", s.region),
        format!("/api/v1/regions/{}/ride-figures?date=2027-03-26", s.region),
        format!("/api/v1/shifts/{}/run-sheet.pdf", id()),
        format!("/api/v1/villages/{}", s.kneitlingen),
        format!("/api/v1/imbus-visits/{}", s.draft),
        "/api/v1/imbus-visits".to_string(),
    ]);
    for path in &paths {
        let (status, _, _) = public_get(&hub, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Wrong credentials do not matter to the public routes and are not checked there.
    let response = hub
        .client
        .get(hub.url("/api/v1/timetable.ics"))
        .basic_auth("nobody", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    hub.stop().await;
}

/// The poster's text as `pdftotext -layout` reads it.
fn pdf_text(hub: &TestHub, bytes: &[u8]) -> String {
    let file = hub.dir.path().join(format!("{}.pdf", id()));
    std::fs::write(&file, bytes).expect("write the PDF");
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
}

/// Each word of a PDF with the height of its box, from `pdftotext -bbox`.
fn pdf_words(hub: &TestHub, bytes: &[u8]) -> Vec<(String, f64)> {
    let file = hub.dir.path().join(format!("{}.pdf", id()));
    std::fs::write(&file, bytes).expect("write the PDF");
    let out = Command::new("pdftotext")
        .args(["-bbox", "-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).expect("pdftotext writes UTF-8");
    let attr = |line: &str, name: &str| -> f64 {
        let start = line
            .find(&format!("{name}=\""))
            .expect("a word box has its coordinates")
            + name.len()
            + 2;
        line[start..]
            .split('"')
            .next()
            .expect("an attribute has a closing quote")
            .parse()
            .expect("a coordinate is a number")
    };
    html.lines()
        .filter(|l| l.trim_start().starts_with("<word "))
        .map(|l| {
            let word = l
                .split('>')
                .nth(1)
                .expect("a word element has text")
                .split('<')
                .next()
                .expect("a word element closes");
            (word.to_string(), attr(l, "yMax") - attr(l, "yMin"))
        })
        .collect()
}

#[tokio::test]
async fn the_poster_reads_back_with_dates_times_place_and_phone() {
    let hub = TestHub::start().await;
    let s = setup(&hub).await;
    let (status, content_type, bytes) = public_get(
        &hub,
        &format!("/api/v1/villages/{}/poster.pdf", s.kneitlingen),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/pdf");
    assert!(bytes.starts_with(b"%PDF"));
    assert!(
        bytes.len() < 150_000,
        "fonts are subset: {} bytes",
        bytes.len()
    );
    let text = pdf_text(&hub, &bytes);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Der IMBUS kommt nach",
        "Kneitlingen",
        "Die n\u{e4}chsten Termine",
        &format!("Freitag, {}", s.spring.0.format("%d.%m.%Y")),
        &format!("Dienstag, {}", s.spring.1.format("%d.%m.%Y")),
        &format!("Freitag, {}", s.autumn.0.format("%d.%m.%Y")),
        "09:00 \u{2013} 11:00 Uhr",
        "f\u{e4}llt aus: Der Bus ist in der Werkstatt",
        "verlegt vom Montag",
        "Stra\u{df}enfest am Montag",
        "Ersatztermin",
        "Ort: Dorfplatz",
        "Gesundheit, Pflege, Geld, Wohnen und Familie",
        "kostenlos",
        "05332 96 84 10",
    ] {
        assert!(flat.contains(needle), "{needle:?} missing in:\n{text}");
    }
    // The draft's date is not on the poster; the cancelled visit's date is (struck through).
    let draft_day = s.spring.1 + Duration::days(2);
    assert!(
        !flat.contains(&draft_day.format("%d.%m.%Y").to_string()),
        "{text}"
    );
    // Large type: word boxes (DejaVu's ascent plus descent is 1.16 em) show the headline at
    // 40 pt or more and the dates at 20 pt or more.
    let words = pdf_words(&hub, &bytes);
    let height = |word: &str| {
        words
            .iter()
            .filter(|(w, _)| w == word)
            .map(|(_, h)| *h)
            .fold(0.0_f64, f64::max)
    };
    assert!(height("IMBUS") >= 40.0 * 1.1, "{words:?}");
    let date = s.spring.0.format("%d.%m.%Y").to_string();
    assert!(height(&date) >= 20.0 * 1.1, "{date}: {words:?}");
    assert!(height("05332") >= 20.0 * 1.1, "{words:?}");
    // The other village's poster names its long stop.
    let (status, _, bytes) =
        public_get(&hub, &format!("/api/v1/villages/{}/poster.pdf", s.vahlberg)).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&hub, &bytes);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("Gro\u{df} Vahlberg"), "{text}");
    assert!(flat.contains("Bushaltestelle Gemeindehaus"), "{text}");
    assert!(flat.contains("13:00 \u{2013} 14:30 Uhr"), "{text}");
    assert!(
        flat.contains("ohne Termin: 14:00 \u{2013} 14:30 Uhr"),
        "{text}"
    );

    // A village without announced visits gets a poster that says so.
    let empty = create(&hub, "villages", json!({"region_id": s.region, "name": "Ahlum", "municipality": "Wolfenb\u{fc}ttel", "lat": 52.14, "lon": 10.59})).await;
    let (status, _, bytes) =
        public_get(&hub, &format!("/api/v1/villages/{empty}/poster.pdf")).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&hub, &bytes);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("Der IMBUS kommt nach Ahlum"), "{text}");
    assert!(
        flat.contains("Zurzeit sind keine Termine angek\u{fc}ndigt"),
        "{text}"
    );
    hub.stop().await;
}

/// Runs `gtfs_check.py` on a feed file; its success and output.
fn check_gtfs(path: &std::path::Path) -> (bool, String) {
    let out = Command::new(python())
        .arg(script("gtfs_check.py"))
        .arg(path)
        .output()
        .expect("python3 runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The files of a zip archive, read back with Python's zipfile (independent of our writer).
fn unzip(path: &std::path::Path) -> Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             print(json.dumps({n: z.read(n).decode('utf-8') for n in z.namelist()}))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python prints JSON")
}

/// Writes `files` (name → text) as a zip with Python's zipfile.
fn zip_with_python(path: &std::path::Path, files: &Value) {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, zipfile\n\
             files = json.loads(sys.argv[2])\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   [z.writestr(n, t) for n, t in files.items()]",
        ])
        .arg(path)
        .arg(files.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_gtfs_feed_passes_an_independent_validation() {
    let hub = TestHub::start().await;
    let s = setup(&hub).await;
    // The spring Tuesday has Kneitlingen in the morning and Vahlberg in the afternoon: one
    // trip of two stops. Single visits are trips of two stop times at their stop.
    let (status, content_type, bytes) = public_get(&hub, "/api/v1/gtfs.zip").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/zip");
    let feed = hub.dir.path().join("gtfs.zip");
    std::fs::write(&feed, &bytes).unwrap();
    let (ok, output) = check_gtfs(&feed);
    assert!(ok, "{output}");
    assert!(output.contains("gtfs_check: ok"), "{output}");

    let files = unzip(&feed);
    let stop_times = files["stop_times.txt"].as_str().unwrap();
    let trips = files["trips.txt"].as_str().unwrap();
    let dates = files["calendar_dates.txt"].as_str().unwrap();
    let stops = files["stops.txt"].as_str().unwrap();
    let agency = files["agency.txt"].as_str().unwrap();
    // Spring Tuesday: Kneitlingen 09:00-11:00 then Vahlberg 13:00-14:30, one trip.
    let tuesday = s.spring.1.format("%Y%m%d").to_string();
    let trip = format!("imbus-{tuesday}-1");
    assert!(
        trips.contains(&format!("imbus,{tuesday},{trip},")),
        "{trips}"
    );
    assert!(
        stop_times.contains(&format!("{trip},09:00:00,11:00:00,{},1,1,1", s.dorfplatz)),
        "{stop_times}"
    );
    assert!(
        stop_times.contains(&format!("{trip},13:00:00,14:30:00,")),
        "{stop_times}"
    );
    // The autumn Friday (summer time) and Tuesday (winter time) both read 09:00 local.
    for day in [s.autumn.0, s.autumn.1, s.spring.0] {
        let trip = format!("imbus-{}-1", day.format("%Y%m%d"));
        assert!(
            stop_times.contains(&format!("{trip},09:00:00,09:00:00,{},1,1,1", s.dorfplatz)),
            "{stop_times}"
        );
        assert!(
            stop_times.contains(&format!("{trip},11:00:00,11:00:00,{},2,1,1", s.dorfplatz)),
            "{stop_times}"
        );
        assert!(dates.contains(&format!("{0},{0},1", day.format("%Y%m%d"))));
    }
    // Cancelled and draft visits are no service.
    let cancelled_day = (s.spring.1 + Duration::days(1))
        .format("%Y%m%d")
        .to_string();
    let draft_day = (s.spring.1 + Duration::days(2))
        .format("%Y%m%d")
        .to_string();
    assert!(!dates.contains(&cancelled_day), "{dates}");
    assert!(!dates.contains(&draft_day), "{dates}");
    assert!(stops.contains("Gro\u{df} Vahlberg"), "{stops}");
    assert!(
        stops.contains(&format!("{},Dorfplatz,", s.dorfplatz)),
        "{stops}"
    );
    assert!(agency.contains("Europe/Berlin"), "{agency}");
    assert!(agency.contains("05332 96 84 10"), "{agency}");

    // Overlapping visits of one day without a bus are split into trips that keep time order.
    let overlap = visit(
        &hub,
        &s.region,
        &s.vahlberg,
        &vahlberg_stop(&hub, &s.vahlberg),
        s.spring.1,
        ((10, 0), (12, 0)),
    )
    .await;
    publish(&hub, &overlap).await;
    let (_, _, bytes) = public_get(&hub, "/api/v1/gtfs.zip").await;
    std::fs::write(&feed, &bytes).unwrap();
    let (ok, output) = check_gtfs(&feed);
    assert!(ok, "{output}");
    let trips = unzip(&feed)["trips.txt"].as_str().unwrap().to_string();
    assert!(trips.contains(&format!("imbus-{tuesday}-2")), "{trips}");
    hub.stop().await;
}

fn vahlberg_stop(hub: &TestHub, village: &str) -> String {
    let village = village.to_string();
    hub.store
        .blocking(move |c| {
            Ok(c.query_row(
                "SELECT id FROM stops WHERE village_id = ?1",
                [&village],
                |r| r.get(0),
            )?)
        })
        .expect("the village has a stop")
}

/// A change that breaks an unpacked feed (file name → text).
type Breakage = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn the_gtfs_validator_refuses_broken_feeds() {
    let hub = TestHub::start().await;
    setup(&hub).await;
    let (_, _, bytes) = public_get(&hub, "/api/v1/gtfs.zip").await;
    let good = hub.dir.path().join("good.zip");
    std::fs::write(&good, &bytes).unwrap();
    let files = unzip(&good);
    // Re-zipped unchanged by Python, the feed still passes: the breakages below are the cause.
    let same = hub.dir.path().join("same.zip");
    zip_with_python(&same, &files);
    assert!(check_gtfs(&same).0);

    let stop_times = files["stop_times.txt"].as_str().unwrap().to_string();
    let first_row = stop_times.lines().nth(1).unwrap().to_string();
    let breakages: Vec<(&str, Breakage, &str)> = vec![
        (
            "a stop time points to an unknown stop",
            Box::new(|f: &mut Value| {
                let text = f["stop_times.txt"].as_str().unwrap().to_string();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
                cells[3] = "no-such-stop".into();
                lines[1] = cells.join(",");
                f["stop_times.txt"] = json!(lines.join("\n") + "\n");
            }),
            "is not a stop",
        ),
        (
            "times go backwards",
            Box::new(move |f: &mut Value| {
                let mut cells: Vec<String> = first_row.split(',').map(str::to_string).collect();
                cells[1] = "23:00:00".into();
                cells[2] = "23:00:00".into();
                let text = f["stop_times.txt"]
                    .as_str()
                    .unwrap()
                    .replace(&first_row, &cells.join(","));
                f["stop_times.txt"] = json!(text);
            }),
            "times go backwards",
        ),
        (
            "a required file is missing",
            Box::new(|f: &mut Value| {
                f.as_object_mut().unwrap().remove("agency.txt");
            }),
            "required file agency.txt is missing",
        ),
        (
            "a date is not YYYYMMDD",
            Box::new(|f: &mut Value| {
                let text = f["calendar_dates.txt"].as_str().unwrap();
                let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
                cells[1] = "2027-03-26".into();
                lines[1] = cells.join(",");
                f["calendar_dates.txt"] = json!(lines.join("\n") + "\n");
            }),
            "is not a date YYYYMMDD",
        ),
        (
            "a required field is missing",
            Box::new(|f: &mut Value| {
                let text = f["routes.txt"]
                    .as_str()
                    .unwrap()
                    .replace("route_type", "kind");
                f["routes.txt"] = json!(text);
            }),
            "required field 'route_type' is missing",
        ),
        (
            "a trip's service is in no calendar",
            Box::new(|f: &mut Value| {
                let text = f["calendar_dates.txt"].as_str().unwrap();
                let header = text.lines().next().unwrap().to_string();
                f["calendar_dates.txt"] = json!(header + "\n");
            }),
            "is in no calendar",
        ),
    ];
    for (what, breakage, message) in breakages {
        let mut broken = files.clone();
        breakage(&mut broken);
        let path = hub.dir.path().join("broken.zip");
        zip_with_python(&path, &broken);
        let (ok, output) = check_gtfs(&path);
        assert!(!ok, "{what}: the validator passed\n{output}");
        assert!(output.contains(message), "{what}: {output}");
    }
    let not_zip = hub.dir.path().join("not.zip");
    std::fs::write(&not_zip, b"PK but not really").unwrap();
    assert!(!check_gtfs(&not_zip).0);
    hub.stop().await;
}
