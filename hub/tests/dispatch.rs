//! Run sheets and daily ride figures over the real API: a region, a shift, rides and route stops
//! made through the API; the PDF read back with poppler (`pdftotext`, `pdffonts`, `pdfinfo`).

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Answer, Fixture, TestHub, ahead, answer, fixture, id};

/// A shift with three rides on it, made through the API, plus what the tests check against.
struct Day {
    f: Fixture,
    shift: String,
    /// Erna Köhler home → practice (appointment 09:00), Günter Weiß stop → practice
    /// (appointment 09:30, wheelchair, two people), Erna practice → home (pickup 11:00).
    rides: [String; 3],
    codes: [String; 3],
    /// Further rides of the day (Erna home → practice), booked before the shift existed.
    extra: Vec<String>,
}

async fn ride(hub: &TestHub, body: Value) -> (String, String) {
    let mut body = body;
    body["id"] = json!(id());
    body["channel"] = json!("phone");
    let created = hub.create("ride-requests", body).await;
    (
        created["id"].as_str().expect("id").to_string(),
        created["booking_code"].as_str().expect("code").to_string(),
    )
}

async fn route_stop(
    hub: &TestHub,
    f: &Fixture,
    shift: &str,
    position: u32,
    ride: &str,
    kind: &str,
    at: String,
) -> String {
    hub.create(
        "route-stops",
        json!({"id": id(), "region_id": f.region, "shift_id": shift, "position": position,
               "ride_request_id": ride, "kind": kind, "planned_at": at}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn shift(hub: &TestHub, f: &Fixture, driver: &str) -> String {
    hub.create(
        "shifts",
        json!({"id": id(), "region_id": f.region, "vehicle_id": f.vehicle, "driver_name": driver,
               "starts_at": ahead(f.day, 7, 0), "ends_at": ahead(f.day, 15, 0),
               "break_after": ahead(f.day, 12, 0), "break_minutes": 30}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn confirm(hub: &TestHub, ride: &str) {
    let patched = hub
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/ride-requests/{ride}"),
            Some(json!({"status": "confirmed"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:#}", patched.body);
}

/// Rides are booked before the shift exists, so no planner puts them on it; the test writes the
/// route itself, as the planner would.
async fn day(hub: &TestHub) -> Day {
    day_with(hub, &[]).await
}

/// [`day`] with further rides arriving by these hours, booked before the shift exists so that
/// no planner touches the hand-built route.
async fn day_with(hub: &TestHub, extra_hours: &[u32]) -> Day {
    let f = fixture(hub, 1).await;
    let guenter = hub
        .create(
            "residents",
            json!({"id": id(), "region_id": f.region, "name": "Günter Weiß", "phone": "05332 98765",
                   "street": "Am Teich 2", "village_id": f.village, "lat": 52.133, "lon": 10.723,
                   "uses_wheelchair": true, "needs_companion": true,
                   "consent_at": "2026-01-05T10:00:00+01:00", "consent_given_to": "DRK Fahrdienst",
                   "consent_purpose": "Fahrten"}),
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (r1, c1) = ride(
        hub,
        json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 9, 0)}),
    )
    .await;
    let (r2, c2) = ride(
        hub,
        json!({"region_id": f.region, "resident_id": guenter, "from_stop_id": f.stop,
               "to_destination_id": f.destination, "appointment_at": ahead(f.day, 9, 30),
               "passengers": 2, "wheelchair": true}),
    )
    .await;
    let (r3, c3) = ride(
        hub,
        json!({"region_id": f.region, "resident_id": f.resident, "from_destination_id": f.destination,
               "to_home": true, "pickup_at": ahead(f.day, 11, 0), "return_of": r1}),
    )
    .await;
    let mut extra = Vec::new();
    for hh in extra_hours {
        let (ride, _) = ride(
            hub,
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day, *hh, 0)}),
        )
        .await;
        extra.push(ride);
    }
    let shift = shift(hub, &f, "Uwe Brandes").await;
    let plan = [
        (&r1, "pickup", 8, 20),
        (&r2, "pickup", 8, 35),
        (&r1, "dropoff", 8, 50),
        (&r2, "dropoff", 8, 52),
        (&r3, "pickup", 11, 0),
        (&r3, "dropoff", 11, 15),
    ];
    for (position, (ride, kind, hh, mm)) in plan.into_iter().enumerate() {
        let position = u32::try_from(position).expect("small");
        route_stop(hub, &f, &shift, position, ride, kind, ahead(f.day, hh, mm)).await;
    }
    for ride in [&r1, &r2, &r3] {
        confirm(hub, ride).await;
    }
    Day {
        f,
        shift,
        rides: [r1, r2, r3],
        codes: [c1, c2, c3],
        extra,
    }
}

/// GET as another account.
async fn get_as(hub: &TestHub, user: &str, password: &str, path: &str) -> Answer {
    let response = hub
        .client
        .get(hub.url(path))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("request sent");
    answer(response).await
}

async fn pdf_bytes(hub: &TestHub, shift: &str) -> Vec<u8> {
    let response = hub
        .client
        .get(hub.url(&format!("/api/v1/shifts/{shift}/run-sheet.pdf")))
        .basic_auth(&hub.user, Some(&hub.password))
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    let bytes = response.bytes().await.expect("body").to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    bytes
}

/// Runs a poppler tool on the PDF and returns its standard output.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sheet.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let mut command = Command::new(tool);
    command.args(args).arg(&path);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs (poppler-utils installed?): {e}"));
    assert!(
        output.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Byte offsets of `needles` in `text`, failing the test for any that is missing.
fn offsets(text: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            text.find(n)
                .unwrap_or_else(|| panic!("'{n}' missing in:\n{text}"))
        })
        .collect()
}

#[tokio::test]
async fn the_run_sheet_lists_the_stops_in_order_with_local_times_places_and_needs() {
    let hub = TestHub::start().await;
    let d = day_with(&hub, &[14]).await;
    // A stop that was planned and then cancelled stays off the sheet.
    let r4 = d.extra[0].clone();
    let dropped = route_stop(
        &hub,
        &d.f,
        &d.shift,
        6,
        &r4,
        "pickup",
        ahead(d.f.day, 13, 30),
    )
    .await;
    let cancelled = hub
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/route-stops/{dropped}"),
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:#}", cancelled.body);

    let sheet = hub
        .get(&format!("/api/v1/shifts/{}/run-sheet", d.shift))
        .await;
    assert_eq!(sheet.status, StatusCode::OK, "{:#}", sheet.body);
    let s = &sheet.body;
    assert_eq!(s["region"]["name"], "Elm-Asse");
    assert_eq!(s["region"]["phone"], "05332 1234");
    assert_eq!(s["vehicle"]["name"], "Bus 1");
    assert_eq!(s["vehicle"]["seats"], 6);
    assert_eq!(s["vehicle"]["wheelchair_places"], 1);
    assert_eq!(s["driver_name"], "Uwe Brandes");
    assert_eq!(s["starts_local"], "07:00");
    assert_eq!(s["ends_local"], "15:00");
    assert_eq!(s["break"]["after_local"], "12:00");
    assert_eq!(s["break"]["minutes"], 30);
    let weekday = s["date_text"].as_str().expect("date text");
    assert!(
        ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"]
            .iter()
            .any(|w| weekday.starts_with(&format!("{w}, "))),
        "{weekday}"
    );

    let stops = s["stops"].as_array().expect("stops");
    let seen: Vec<(String, String, String)> = stops
        .iter()
        .map(|x| {
            (
                x["planned_local"].as_str().unwrap_or("").to_string(),
                x["kind_text"].as_str().unwrap_or("").to_string(),
                x["resident_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        ("08:20", "Abholen", "Erna Köhler"),
        ("08:35", "Abholen", "Günter Weiß"),
        ("08:50", "Absetzen", "Erna Köhler"),
        ("08:52", "Absetzen", "Günter Weiß"),
        ("11:00", "Abholen", "Erna Köhler"),
        ("11:15", "Absetzen", "Erna Köhler"),
    ];
    assert_eq!(
        seen,
        expected
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    // Instants on the wire are UTC; the local time is what the stop was created with.
    let first_at: chrono::DateTime<chrono::Utc> = stops[0]["planned_at"]
        .as_str()
        .expect("planned_at")
        .parse()
        .expect("rfc 3339");
    let created: chrono::DateTime<chrono::FixedOffset> =
        chrono::DateTime::parse_from_rfc3339(&ahead(d.f.day, 8, 20)).expect("rfc 3339");
    assert_eq!(first_at, created);
    assert!(stops[0]["planned_at"].as_str().expect("s").ends_with('Z'));

    assert_eq!(stops[0]["place"]["address"], "Lindenweg 4, Kneitlingen");
    assert_eq!(stops[0]["place"]["kind"], "home");
    assert_eq!(stops[1]["place"]["name"], "Dorfplatz");
    assert_eq!(stops[1]["place"]["address"], "Kneitlingen");
    assert_eq!(stops[2]["place"]["name"], "Hausarztpraxis Dr. Berger");
    assert_eq!(stops[2]["place"]["address"], "Markt 3, Schöppenstedt");
    assert_eq!(stops[0]["needs"], json!(["Rollator"]));
    assert_eq!(stops[1]["needs"], json!(["Rollstuhl", "Begleitperson"]));
    assert_eq!(stops[1]["passengers"], 2);
    // Erna has no phone: the sheet gives the region's number and says so.
    assert_eq!(stops[0]["contact_phone"], "05332 1234");
    assert_eq!(stops[0]["contact_is_region"], true);
    assert_eq!(stops[1]["contact_phone"], "05332 98765");
    assert_eq!(stops[1]["contact_is_region"], false);
    // The appointment is shown at the pickup of rides to one, nowhere else.
    assert_eq!(stops[0]["appointment_local"], "09:00");
    assert_eq!(stops[1]["appointment_local"], "09:30");
    assert!(stops[2]["appointment_local"].is_null());
    assert!(stops[4]["appointment_local"].is_null());
    assert_eq!(stops[0]["booking_code"], d.codes[0].as_str());
    assert_eq!(stops[1]["booking_code"], d.codes[1].as_str());
    assert_eq!(stops[4]["booking_code"], d.codes[2].as_str());
    assert_eq!(stops[4]["ride_request_id"], d.rides[2].as_str());

    // Reading the sheet is an audited read of personal data.
    let audited: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log
                 WHERE kind = 'run_sheets' AND action = 'read' AND entity_id = ?1 AND region_id = ?2",
                [&d.shift, &d.f.region],
                |r| r.get(0),
            )?)
        })
        .expect("audit count");
    assert_eq!(audited, 1);
    hub.stop().await;
}

#[tokio::test]
async fn the_pdf_is_german_small_with_an_embedded_subset_font() {
    let hub = TestHub::start().await;
    let d = day(&hub).await;
    let pdf = pdf_bytes(&hub, &d.shift).await;
    assert!(pdf.len() < 100 * 1024, "{} bytes", pdf.len());

    let text = poppler("pdftotext", &["-layout"], &pdf);
    for needle in [
        "Fahrtenzettel",
        "Elm-Asse",
        "Zentrale: 05332 1234",
        "Bus 1",
        "Uwe Brandes",
        "07:00 – 15:00 Uhr",
        "Pause: 30 Min. ab 12:00 Uhr",
        "Köhler",
        "Günter Weiß",
        "Schöppenstedt",
        "Lindenweg 4, Kneitlingen",
        "Rollator",
        "Rollstuhl",
        "2 Personen",
        "Termin 09:00 Uhr",
        "05332 98765",
        "Seite 1 von 1",
        d.codes[0].as_str(),
        d.codes[1].as_str(),
        d.codes[2].as_str(),
    ] {
        assert!(text.contains(needle), "'{needle}' missing in:\n{text}");
    }
    // Stops appear in driving order.
    let at = offsets(
        &text,
        &["08:20", "08:35", "08:50", "08:52", "11:00", "11:15"],
    );
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?} in\n{text}");

    // pdffonts: name type encoding emb sub uni object ID.
    let fonts = poppler("pdffonts", &[], &pdf);
    let rows: Vec<&str> = fonts.lines().filter(|l| l.contains("DejaVu")).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        let name = row.split_whitespace().next().unwrap_or("");
        // A subset font's name carries a six-letter tag: ABCDEF+DejaVuSans.
        assert!(
            name.len() > 7 && name.as_bytes()[6] == b'+',
            "not a subset: {row}"
        );
        let flags: Vec<&str> = row.split_whitespace().rev().skip(2).take(3).collect();
        // Reversed: uni, sub, emb.
        assert_eq!(flags, ["yes", "yes", "yes"], "emb/sub/uni in: {row}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_long_shift_paginates_and_an_empty_one_says_so() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let mut rides = Vec::new();
    for _ in 0..20 {
        let (ride, _) = ride(
            &hub,
            json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
                   "to_destination_id": f.destination, "appointment_at": ahead(f.day, 10, 0)}),
        )
        .await;
        rides.push(ride);
    }
    let long = shift(&hub, &f, "Uwe Brandes").await;
    for i in 0..40u32 {
        let minutes = 7 * 60 + 10 + i * 9;
        let kind = if i % 2 == 0 { "pickup" } else { "dropoff" };
        let ride = &rides[(i / 2) as usize];
        route_stop(
            &hub,
            &f,
            &long,
            i,
            ride,
            kind,
            ahead(f.day, minutes / 60, minutes % 60),
        )
        .await;
    }
    let sheet = hub.get(&format!("/api/v1/shifts/{long}/run-sheet")).await;
    assert_eq!(sheet.status, StatusCode::OK, "{:#}", sheet.body);
    assert_eq!(sheet.body["stops"].as_array().map(Vec::len), Some(40));

    let pdf = pdf_bytes(&hub, &long).await;
    let info = poppler("pdfinfo", &[], &pdf);
    let pages: u32 = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {info}"));
    assert!(pages >= 2, "{pages} pages");
    assert!(pdf.len() < 100 * 1024, "{} bytes", pdf.len());
    let text = poppler("pdftotext", &["-layout"], &pdf);
    assert!(text.contains(&format!("Seite 1 von {pages}")), "{text}");
    assert!(
        text.contains(&format!("Seite {pages} von {pages}")),
        "{text}"
    );
    assert!(text.contains("(Fortsetzung)"), "{text}");
    // The first and the last stop (07:10 and 7:10 + 39 × 9 min = 13:01) both made it.
    let at = offsets(&text, &["07:10", "13:01"]);
    assert!(at[0] < at[1]);
    // pdftotext separates pages with a form feed: the last stop is on a later page.
    let first_page = text.split('\u{c}').next().unwrap_or("");
    assert!(!first_page.contains("13:01"));

    let empty = shift(&hub, &f, "Petra Lange").await;
    let sheet = hub.get(&format!("/api/v1/shifts/{empty}/run-sheet")).await;
    assert_eq!(sheet.status, StatusCode::OK);
    assert_eq!(sheet.body["stops"], json!([]));
    let text = poppler("pdftotext", &["-layout"], &pdf_bytes(&hub, &empty).await);
    assert!(text.contains("keine Halte geplant"), "{text}");
    assert!(text.contains("Petra Lange"), "{text}");
    assert!(text.contains("Seite 1 von 1"), "{text}");
    hub.stop().await;
}

#[tokio::test]
async fn only_staff_and_drivers_of_the_region_read_sheets_and_only_staff_figures() {
    let hub = TestHub::start().await;
    let d = day(&hub).await;
    let other = hub
        .create("regions", json!({"id": id(), "name": "Schöningen"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let accounts = [
        ("disp.elm", "dispatcher", Some(d.f.region.as_str()), None),
        ("fahrer.elm", "driver", Some(d.f.region.as_str()), None),
        ("fahrer.schoeningen", "driver", Some(other.as_str()), None),
        (
            "angehoerige",
            "caregiver",
            Some(d.f.region.as_str()),
            Some(d.f.caregiver.as_str()),
        ),
    ];
    let password = "ein-langes-testpasswort";
    for (username, role, region, caregiver) in accounts {
        hub.create(
            "accounts",
            json!({"id": id(), "username": username, "display_name": username, "role": role,
                   "region_id": region, "caregiver_id": caregiver}),
        )
        .await;
        hub::accounts::set_password(&hub.store, username, password).expect("password");
    }
    let sheet = format!("/api/v1/shifts/{}/run-sheet", d.shift);
    let pdf = format!("{sheet}.pdf");
    let figures = format!(
        "/api/v1/regions/{}/ride-figures?date=2026-11-23",
        d.f.region
    );
    let expect = [
        ("disp.elm", &sheet, StatusCode::OK),
        ("disp.elm", &figures, StatusCode::OK),
        ("fahrer.elm", &sheet, StatusCode::OK),
        ("fahrer.elm", &pdf, StatusCode::OK),
        ("fahrer.elm", &figures, StatusCode::FORBIDDEN),
        ("fahrer.schoeningen", &sheet, StatusCode::FORBIDDEN),
        ("fahrer.schoeningen", &pdf, StatusCode::FORBIDDEN),
        ("angehoerige", &sheet, StatusCode::FORBIDDEN),
        ("angehoerige", &pdf, StatusCode::FORBIDDEN),
        ("angehoerige", &figures, StatusCode::FORBIDDEN),
    ];
    for (user, path, status) in expect {
        let got = get_as(&hub, user, password, path).await;
        assert_eq!(got.status, status, "{user} {path}: {:#}", got.body);
        if status == StatusCode::FORBIDDEN {
            assert_eq!(got.content_type, "application/problem+json");
        }
    }
    // A refused read is not logged as a read.
    let reads: Vec<String> = hub
        .store
        .blocking(|c| {
            let mut stmt =
                c.prepare("SELECT actor FROM audit_log WHERE kind = 'run_sheets' ORDER BY seq")?;
            let actors = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(actors)
        })
        .expect("audit");
    assert_eq!(
        reads,
        [
            "account:disp.elm",
            "account:fahrer.elm",
            "account:fahrer.elm"
        ]
    );

    let unknown = hub.get(&format!("/api/v1/shifts/{}/run-sheet", id())).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.content_type, "application/problem+json");
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("shift")
    );
    let unknown_pdf = hub
        .get(&format!("/api/v1/shifts/{}/run-sheet.pdf", id()))
        .await;
    assert_eq!(unknown_pdf.status, StatusCode::NOT_FOUND);
    let unknown_region = hub
        .get(&format!(
            "/api/v1/regions/{}/ride-figures?date=2026-11-23",
            id()
        ))
        .await;
    assert_eq!(unknown_region.status, StatusCode::NOT_FOUND);
    hub.stop().await;
}

#[tokio::test]
async fn figures_count_a_hand_built_day_with_shared_rides_and_kilometres() {
    use planner::travel::{GeoPoint, StraightLine};

    let hub = TestHub::start().await;
    // Three more rides of the day that were not driven, and one of the next day.
    let d = day_with(&hub, &[10, 10, 11]).await;
    let f = &d.f;
    let extra = d.extra.clone();
    // The third was confirmed by phone and then missed.
    confirm(&hub, &extra[2]).await;
    let (_next_day, _) = ride(
        &hub,
        json!({"region_id": f.region, "resident_id": f.resident, "from_home": true,
               "to_destination_id": f.destination, "pickup_at": ahead(f.day + 1, 10, 0)}),
    )
    .await;
    let turned_down = hub
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/ride-requests/{}?reason=Fahrzeug%20defekt",
                extra[0]
            ),
            None,
        )
        .await;
    assert_eq!(turned_down.status, StatusCode::OK, "{:#}", turned_down.body);
    let called_off = hub
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/ride-requests/{}", extra[1]),
            None,
        )
        .await;
    assert_eq!(called_off.status, StatusCode::OK, "{:#}", called_off.body);
    let missed = hub
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/ride-requests/{}", extra[2]),
            Some(json!({"status": "no_show"})),
        )
        .await;
    assert_eq!(missed.status, StatusCode::OK, "{:#}", missed.body);

    let date = (chrono::Utc::now().date_naive() + chrono::Duration::days(f.day)).to_string();
    let got = hub
        .get(&format!(
            "/api/v1/regions/{}/ride-figures?date={date}",
            f.region
        ))
        .await;
    assert_eq!(got.status, StatusCode::OK, "{:#}", got.body);
    let b = &got.body;
    assert_eq!(b["date"], date.as_str());
    assert_eq!(b["requests"], 6);
    assert_eq!(b["served"], 3);
    assert_eq!(b["not_served"], 1);
    assert_eq!(b["cancelled"], 1);
    assert_eq!(b["no_shows"], 1);
    assert_eq!(b["open"], 0);
    assert_eq!(b["shifts"], 1);
    // Erna and Günter ride together to the practice; Erna's return is alone.
    assert_eq!(b["shared"], 2);
    assert_eq!(b["shared_share"], 0.667);

    let model = StraightLine::default();
    let depot = GeoPoint::new(52.14, 10.77);
    let home = GeoPoint::new(52.132, 10.722);
    let dorfplatz = GeoPoint::new(52.131, 10.721);
    let practice = GeoPoint::new(52.142, 10.776);
    let route = [
        depot, home, dorfplatz, practice, practice, practice, home, depot,
    ];
    let vehicle: f64 = route.windows(2).map(|w| model.meters(&w[0], &w[1])).sum();
    let alone = 2.0
        * (model.meters(&home, &practice)
            + model.meters(&dorfplatz, &practice)
            + model.meters(&practice, &home));
    let km = |v: &Value| v.as_f64().expect("number");
    assert!(
        (km(&b["vehicle_km"]) - vehicle / 1000.0).abs() < 0.06,
        "{b:#}"
    );
    assert!((km(&b["alone_km"]) - alone / 1000.0).abs() < 0.06, "{b:#}");
    assert!(
        (km(&b["km_saved"]) - (km(&b["alone_km"]) - km(&b["vehicle_km"]))).abs() < 1e-9,
        "{b:#}"
    );
    assert!(km(&b["km_saved"]) > 0.0, "{b:#}");

    // Another date of the same region is empty.
    let quiet = hub
        .get(&format!(
            "/api/v1/regions/{}/ride-figures?date=2020-01-01",
            f.region
        ))
        .await;
    assert_eq!(quiet.status, StatusCode::OK);
    assert_eq!(quiet.body["requests"], 0);
    assert_eq!(quiet.body["vehicle_km"], 0.0);

    for query in ["", "?date=", "?date=23.11.2026", "?date=2026-02-30"] {
        let bad = hub
            .get(&format!("/api/v1/regions/{}/ride-figures{query}", f.region))
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(bad.body["field"], "date", "{query}: {:#}", bad.body);
    }
    hub.stop().await;
}
