//! Web pages: the evaluation (`/console/evaluation`). A small hand-made data set of two past
//! months is written straight into the database; the expected figures are worked out here from
//! the same list, and the page, its charts and its CSV files are checked against them,
//! including the "< 5" rule for small cells and the rule for totals.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;

pub use crate::common::web::admin;
use crate::common::web::{self, Browser, as_caregiver};
use crate::common::{Fixture, TestHub, fixture, id};

/// Along the meridian 10.72° E, so that distances are degrees of latitude times 111.19493 km.
const LON: f64 = 10.72;
const DEPOT_LAT: f64 = 52.10;
/// Villages: name, latitude (the fixture's Kneitlingen sits at 52.13, moved onto the meridian).
const VILLAGES: [(&str, f64); 3] = [
    ("Kneitlingen", 52.13),
    ("Ampleben", 52.20),
    ("Bansleben", 52.25),
];

/// One ride of the data set: month, person, status, and the group it shares the bus with
/// (rides of one group are picked up one after the other, then dropped).
struct SeedRide {
    month: &'static str,
    person: &'static str,
    status: &'static str,
    group: u32,
}

/// Residents: name and village index. Names are made up; `a…` live in Kneitlingen.
const PEOPLE: [(&str, usize); 11] = [
    ("Anna Albers", 0),
    ("Arno Arndt", 0),
    ("Alma Asche", 0),
    ("Artur Abel", 0),
    ("Agnes Aust", 0),
    ("Adam Arens", 0),
    ("Berta Bode", 1),
    ("Bruno Brandt", 1),
    ("Bianca Bähr", 1),
    ("Carla Cordes", 2),
    ("Conrad Claus", 2),
];

fn rides() -> Vec<SeedRide> {
    let r = |month, person, status, group| SeedRide {
        month,
        person,
        status,
        group,
    };
    vec![
        // September: the first two share the bus, everyone else rides alone.
        r("2026-09", "Anna Albers", "done", 1),
        r("2026-09", "Arno Arndt", "done", 1),
        r("2026-09", "Alma Asche", "done", 2),
        r("2026-09", "Artur Abel", "done", 3),
        r("2026-09", "Agnes Aust", "done", 4),
        r("2026-09", "Adam Arens", "done", 5),
        r("2026-09", "Berta Bode", "done", 6),
        r("2026-09", "Bruno Brandt", "done", 7),
        // October: five from Kneitlingen together, the others alone, one no-show.
        r("2026-10", "Anna Albers", "done", 1),
        r("2026-10", "Arno Arndt", "done", 1),
        r("2026-10", "Alma Asche", "done", 1),
        r("2026-10", "Artur Abel", "done", 1),
        r("2026-10", "Agnes Aust", "done", 1),
        r("2026-10", "Berta Bode", "done", 2),
        r("2026-10", "Bruno Brandt", "done", 3),
        r("2026-10", "Bianca Bähr", "done", 4),
        r("2026-10", "Carla Cordes", "done", 5),
        r("2026-10", "Conrad Claus", "done", 6),
        r("2026-10", "Adam Arens", "no_show", 0),
    ]
}

fn now_text() -> String {
    "2026-08-01T00:00:00Z".into()
}

/// Writes the data set into the fixture's region.
pub fn seed(hub: &TestHub, f: &Fixture) {
    let f_region = f.region.clone();
    let f_village = f.village.clone();
    let f_stop = f.stop.clone();
    hub.store
        .blocking(move |c| {
            let tx = c.transaction()?;
            let at = now_text();
            let mut villages = vec![f_village.clone()];
            tx.execute(
                "UPDATE villages SET lat = ?2, lon = ?3 WHERE id = ?1",
                rusqlite::params![f_village, VILLAGES[0].1, LON],
            )?;
            for (name, lat) in &VILLAGES[1..] {
                let v = id();
                tx.execute(
                    "INSERT INTO villages (id, region_id, name, municipality, lat, lon, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?6)",
                    rusqlite::params![v, f_region, name, lat, LON, at],
                )?;
                villages.push(v);
            }
            let destination = id();
            tx.execute(
                "INSERT INTO destinations (id, region_id, name, category, street, postcode, city, lat, lon,
                                           created_at, updated_at)
                 VALUES (?1, ?2, 'Praxis am Markt', 'general_practice', 'Markt 1', '38170', 'Schöppenstedt',
                         ?3, ?4, ?5, ?5)",
                rusqlite::params![destination, f_region, DEPOT_LAT, LON, at],
            )?;
            let vehicle = id();
            tx.execute(
                "INSERT INTO vehicles (id, region_id, name, seats, depot_name, depot_lat, depot_lon,
                                       created_at, updated_at)
                 VALUES (?1, ?2, 'Bus Auswertung', 8, 'Depot', ?3, ?4, ?5, ?5)",
                rusqlite::params![vehicle, f_region, DEPOT_LAT, LON, at],
            )?;
            let mut residents = BTreeMap::new();
            for (name, village) in PEOPLE {
                let r = id();
                tx.execute(
                    "INSERT INTO residents (id, region_id, name, street, village_id, lat, lon, consent_at,
                                            consent_given_to, consent_purpose, created_at, updated_at)
                     VALUES (?1, ?2, ?3, 'Hauptstraße 1', ?4, ?5, ?6, ?7, 'DRK', 'Fahrten', ?7, ?7)",
                    rusqlite::params![r, f_region, name, villages[village], VILLAGES[village].1, LON, at],
                )?;
                residents.insert(name.to_string(), r);
            }
            // One shift per month; the stops of each group in turn.
            for month in ["2026-09", "2026-10"] {
                let shift = id();
                tx.execute(
                    "INSERT INTO shifts (id, region_id, vehicle_id, starts_at, ends_at, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'planned', ?6, ?6)",
                    rusqlite::params![shift, f_region, vehicle, format!("{month}-15T05:00:00Z"),
                                      format!("{month}-15T15:00:00Z"), at],
                )?;
                let mut position = 0;
                let month_rides: Vec<SeedRide> = rides().into_iter().filter(|r| r.month == month).collect();
                let groups: BTreeSet<u32> = month_rides.iter().map(|r| r.group).collect();
                for group in groups {
                    let members: Vec<&SeedRide> = month_rides.iter().filter(|r| r.group == group).collect();
                    let mut ids = Vec::new();
                    for ride in &members {
                        let rr = id();
                        let person = &residents[ride.person];
                        let village = PEOPLE.iter().find(|(n, _)| *n == ride.person).map(|(_, v)| *v).unwrap_or(0);
                        tx.execute(
                            "INSERT INTO ride_requests (id, region_id, booking_code, resident_id, village_id,
                                 from_home, to_destination_id, appointment_at, status, channel, booked_by,
                                 created_at, updated_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, 'phone', 'account:test', ?9, ?9)",
                            rusqlite::params![rr, f_region, format!("E{}", &rr[..8]), person, villages[village],
                                              destination, format!("{month}-15T09:00:00Z"), ride.status, at],
                        )?;
                        ids.push(rr);
                    }
                    if group == 0 {
                        continue; // no-shows were never on the route
                    }
                    for (kind, list) in [("pickup", &ids), ("dropoff", &ids)] {
                        for rr in list {
                            tx.execute(
                                "INSERT INTO route_stops (id, region_id, shift_id, position, ride_request_id, kind,
                                                          planned_at, status, created_at, updated_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'done', ?8, ?8)",
                                rusqlite::params![id(), f_region, shift, position, rr, kind,
                                                  format!("{month}-15T08:00:00Z"), at],
                            )?;
                            position += 1;
                        }
                    }
                }
            }
            // Counselling: a visit in Kneitlingen (five on health, one on money), and one in
            // Ampleben with walk-ins only (three on loneliness, two on health).
            let visit = id();
            tx.execute(
                "INSERT INTO imbus_visits (id, region_id, village_id, stop_id, starts_at, ends_at, counsellor,
                                           status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, '2026-09-20T08:00:00Z', '2026-09-20T11:00:00Z', 'Frau Aydin',
                         'published', ?5, ?5)",
                rusqlite::params![visit, f_region, f_village, f_stop, at],
            )?;
            let topics = [
                ("Anna Albers", "health"),
                ("Arno Arndt", "health"),
                ("Alma Asche", "health"),
                ("Artur Abel", "health"),
                ("Agnes Aust", "health"),
                ("Adam Arens", "money"),
            ];
            for (i, (person, topic)) in topics.iter().enumerate() {
                let (slot, start, end) = (
                    id(),
                    format!("2026-09-20T08:{:02}:00Z", i * 5),
                    format!("2026-09-20T08:{:02}:00Z", i * 5 + 5),
                );
                tx.execute(
                    "INSERT INTO slots (id, region_id, village_id, visit_id, starts_at, ends_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                    rusqlite::params![slot, f_region, f_village, visit, start, end, at],
                )?;
                tx.execute(
                    "INSERT INTO appointments (id, region_id, booking_code, slot_id, village_id, starts_at,
                                               resident_id, topic, channel, booked_by, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'phone', 'account:test', 'attended', ?9, ?9)",
                    rusqlite::params![id(), f_region, format!("B{i}"), slot, f_village, start,
                                      residents[*person], topic, at],
                )?;
            }
            let stop_b = id();
            tx.execute(
                "INSERT INTO stops (id, region_id, village_id, name, lat, lon, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'Kirche', ?4, ?5, ?6, ?6)",
                rusqlite::params![stop_b, f_region, villages[1], VILLAGES[1].1, LON, at],
            )?;
            let visit_b = id();
            tx.execute(
                "INSERT INTO imbus_visits (id, region_id, village_id, stop_id, starts_at, ends_at, counsellor,
                                           status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, '2026-10-05T08:00:00Z', '2026-10-05T11:00:00Z', 'Frau Aydin',
                         'published', ?5, ?5)",
                rusqlite::params![visit_b, f_region, villages[1], stop_b, at],
            )?;
            for (topic, count) in [("loneliness", 3), ("health", 2)] {
                tx.execute(
                    "INSERT INTO walk_ins (id, region_id, visit_id, village_id, topic, count, recorded_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'account:test', ?7)",
                    rusqlite::params![id(), f_region, visit_b, villages[1], topic, count, at],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .expect("seed")
}

/// A logged-in admin.
/// A logged-in account of `role` in the fixture's region (a caregiver's of the fixture's
/// caregiver).
pub async fn as_role<'a>(hub: &'a TestHub, f: &Fixture, role: &str, username: &str) -> Browser<'a> {
    if role == "caregiver" {
        as_caregiver(hub, f, username).await
    } else {
        web::as_role(hub, role, username, &f.region).await
    }
}

/// The lines of a CSV table of the period September to October 2026.
pub async fn csv(browser: &Browser<'_>, f: &Fixture, table: &str) -> Vec<String> {
    let page = browser
        .get(&format!(
            "/console/evaluation/csv?region={}&from=2026-09&to=2026-10&table={table}",
            f.region
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body.lines().map(str::to_string).collect()
}

/// The CSV line of a row and column: `(value, note)`.
fn cell(lines: &[String], row: &str, column: &str) -> (String, String) {
    let prefix = format!("{row},{column},");
    let line = lines
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line {prefix} in {lines:#?}"));
    let rest = &line[prefix.len()..];
    let (value, note) = rest.split_once(',').expect("value and note");
    (value.to_string(), note.to_string())
}

/// What a cell with `people` distinct people and `count` shows: the count, or hidden.
fn expected(count: usize, people: usize) -> (String, String) {
    if (1..5).contains(&people) {
        (String::new(), "< 5".into())
    } else {
        (count.to_string(), String::new())
    }
}

#[tokio::test]
async fn rides_per_month_and_village_follow_the_data_and_hide_small_cells() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    seed(&hub, &f);
    let browser = admin(&hub).await;
    let lines = csv(&browser, &f, "rides").await;
    assert_eq!(lines[0], "Monat,Ort,Wert,Hinweis");

    // Worked out from the list: served rides per (month, village) and their distinct people.
    let mut cells: BTreeMap<(&str, &str), (usize, BTreeSet<&str>)> = BTreeMap::new();
    for ride in rides().iter().filter(|r| r.status == "done") {
        let village = PEOPLE.iter().find(|(n, _)| *n == ride.person).unwrap().1;
        let cell = cells.entry((ride.month, VILLAGES[village].0)).or_default();
        cell.0 += 1;
        cell.1.insert(ride.person);
    }
    for month in ["2026-09", "2026-10"] {
        for (village, _) in VILLAGES {
            let (count, people) = cells
                .get(&(month, village))
                .map(|(c, p)| (*c, p.len()))
                .unwrap_or((0, 0));
            assert_eq!(
                cell(&lines, month, village),
                expected(count, people),
                "{month} {village}"
            );
        }
    }
    // September: 6 shown + 2 hidden (two people): the total would give the hidden cell away.
    assert_eq!(
        cell(&lines, "2026-09", "Summe"),
        (String::new(), "verborgen".into())
    );
    // October: hidden cells of Ampleben (3) and Bansleben (2) stand for five people together.
    assert_eq!(
        cell(&lines, "2026-10", "Summe"),
        ("10".into(), String::new())
    );
    // The period would reveal September's hidden total.
    assert_eq!(
        cell(&lines, "Zeitraum", "Summe"),
        (String::new(), "verborgen".into())
    );
    // No name anywhere.
    let all = lines.join("\n");
    for (name, _) in PEOPLE {
        assert!(!all.contains(name));
    }
}

#[tokio::test]
async fn shared_rides_kilometres_and_no_shows_per_month() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    seed(&hub, &f);
    let browser = admin(&hub).await;
    let lines = csv(&browser, &f, "months").await;
    // October: 10 rides, the five of group 1 shared (50 %), one no-show (one person: hidden).
    assert_eq!(
        cell(&lines, "2026-10", "Fahrten"),
        ("10".into(), String::new())
    );
    assert_eq!(
        cell(&lines, "2026-10", "Geteilte Fahrten"),
        ("5".into(), String::new())
    );
    assert_eq!(
        cell(&lines, "2026-10", "Anteil geteilt"),
        ("50.0".into(), String::new())
    );
    assert_eq!(
        cell(&lines, "2026-10", "Nicht erschienen"),
        (String::new(), "< 5".into())
    );
    assert_eq!(
        cell(&lines, "2026-10", "Quote nicht erschienen"),
        (String::new(), "verborgen".into())
    );
    // September: two shared (hidden), none missed (0 is shown).
    assert_eq!(
        cell(&lines, "2026-09", "Geteilte Fahrten"),
        (String::new(), "< 5".into())
    );
    assert_eq!(
        cell(&lines, "2026-09", "Nicht erschienen"),
        ("0".into(), String::new())
    );

    // Kilometres of October along the meridian, with the planner's detour factor 1.3.
    let km = |degrees: f64| degrees * 111.194_93 * 1.3;
    let lat = |person: &str| VILLAGES[PEOPLE.iter().find(|(n, _)| *n == person).unwrap().1].1;
    let october: Vec<SeedRide> = rides()
        .into_iter()
        .filter(|r| r.month == "2026-10" && r.status == "done")
        .collect();
    let alone: f64 = october
        .iter()
        .map(|r| 2.0 * km(lat(r.person) - DEPOT_LAT))
        .sum();
    // The bus: to the five of group 1 (one place) and back to the practice at the depot, then
    // each of the others there and back.
    let vehicle: f64 = 2.0 * km(VILLAGES[0].1 - DEPOT_LAT)
        + october
            .iter()
            .filter(|r| r.group != 1)
            .map(|r| 2.0 * km(lat(r.person) - DEPOT_LAT))
            .sum::<f64>();
    let read = |column: &str| -> f64 {
        cell(&lines, "2026-10", column)
            .0
            .parse()
            .unwrap_or_else(|_| panic!("{column} in {lines:#?}"))
    };
    assert!((read("Fahrzeug-km") - vehicle).abs() < 0.06, "{vehicle}");
    assert!((read("km einzeln") - alone).abs() < 0.06, "{alone}");
    assert!((read("km gespart") - (alone - vehicle)).abs() < 0.11);
}

#[tokio::test]
async fn counselling_and_people_reached_hide_small_cells_on_the_page_and_in_csv() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    seed(&hub, &f);
    let browser = admin(&hub).await;
    let lines = csv(&browser, &f, "counselling").await;
    assert_eq!(
        cell(&lines, "Kneitlingen", "Gesundheit"),
        ("5".into(), String::new())
    );
    assert_eq!(
        cell(&lines, "Kneitlingen", "Geld"),
        (String::new(), "< 5".into())
    );
    assert_eq!(
        cell(&lines, "Kneitlingen", "Summe"),
        (String::new(), "verborgen".into())
    );
    assert_eq!(
        cell(&lines, "Ampleben", "Einsamkeit"),
        (String::new(), "< 5".into())
    );
    assert_eq!(
        cell(&lines, "Ampleben", "Gesundheit"),
        (String::new(), "< 5".into())
    );
    // Three and two walk-ins: five people together, so Ampleben's total may be seen.
    assert_eq!(
        cell(&lines, "Ampleben", "Summe"),
        ("5".into(), String::new())
    );
    assert_eq!(
        cell(&lines, "Bansleben", "Summe"),
        ("0".into(), String::new())
    );
    assert_eq!(
        cell(&lines, "Zeitraum", "Summe"),
        (String::new(), "verborgen".into())
    );

    // People reached: riders and counselled residents, each once.
    let mut per: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ride in rides().iter().filter(|r| r.status == "done") {
        per.entry(ride.month).or_default().insert(ride.person);
    }
    for (name, _) in PEOPLE.iter().take(6) {
        per.entry("2026-09").or_default().insert(name);
    }
    let people = csv(&browser, &f, "people").await;
    for (month, set) in &per {
        assert_eq!(
            cell(&people, month, "Personen"),
            (set.len().to_string(), String::new())
        );
    }
    let period: BTreeSet<&str> = per.values().flatten().copied().collect();
    assert_eq!(
        cell(&people, "Zeitraum", "Personen"),
        (period.len().to_string(), String::new())
    );

    // The page: the same hidden cells, charts with their text alternatives, no names.
    let page = browser
        .get(&format!(
            "/console/evaluation?region={}&from=2026-09&to=2026-10",
            f.region
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("&lt; 5"), "small cells shown as < 5");
    assert!(page.body.contains("verborgen"));
    assert_eq!(page.body.matches("role=\"img\"").count(), 3);
    assert!(page.body.contains("<title>Fahrten je Monat</title>"));
    assert!(page.body.contains("aria-label=\"Fahrten je Monat;"));
    assert!(page.body.contains("So wird gerechnet"));
    for (name, _) in PEOPLE {
        assert!(!page.body.contains(name), "{name} on the page");
    }
    // Reading the figures is audited.
    let audited: i64 = hub
        .store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM audit_log WHERE kind = 'evaluation' AND action = 'list'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(audited >= 3);
}

#[tokio::test]
async fn csv_is_served_as_csv_and_a_dispatcher_sees_only_their_region() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    seed(&hub, &f);
    let dispatcher = as_role(&hub, &f, "dispatcher", "disponent").await;
    let page = dispatcher
        .get("/console/evaluation/csv?from=2026-09&to=2026-10&table=rides")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(
        page.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert!(page.body.contains("2026-10,Summe,10,"));
    let other = dispatcher
        .get("/console/evaluation?region=some-other-region")
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let page = dispatcher.get("/console/evaluation").await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_roles_and_bad_months_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    for (role, username) in [
        ("driver", "fahrer"),
        ("caregiver", "kuemmerer"),
        ("health_worker", "beraterin"),
    ] {
        let browser = as_role(&hub, &f, role, username).await;
        for path in ["/console/evaluation", "/console/evaluation/csv?table=rides"] {
            assert_eq!(
                browser.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{role} {path}"
            );
        }
    }
    let browser = admin(&hub).await;
    let before = hub.count("audit_log");
    for query in [
        "from=2026-13&to=2026-12",
        "from=abc",
        "from=2026-10&to=2026-09",
        "from=2020-01&to=2026-01",
    ] {
        let page = browser.get(&format!("/console/evaluation?{query}")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
    }
    let page = browser
        .get("/console/evaluation/csv?from=2026-09&to=2026-10&table=names")
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // Nothing was read, so nothing was audited.
    assert_eq!(hub.count("audit_log"), before);
}
