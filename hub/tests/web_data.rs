//! Region data in the console: forms per kind through the domain's validation, archive, CSV
//! export and import (all or nothing), roles, regions and CSRF.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::web::{Browser, account, hidden_value};
use crate::common::{Fixture, TestHub, ahead, fixture, id};

/// A logged-in dispatcher of the fixture's region.
async fn dispatcher<'a>(hub: &'a TestHub, f: &Fixture, username: &str) -> Browser<'a> {
    let (_, password) = account(hub, "dispatcher", username, Some(&f.region)).await;
    let browser = Browser::new(hub);
    browser.login(username, &password).await;
    browser
}

async fn admin(hub: &TestHub) -> Browser<'_> {
    let browser = Browser::new(hub);
    browser.login(&hub.user, &hub.password).await;
    browser
}

fn text(hub: &TestHub, sql: &str, arg: &str) -> Option<String> {
    hub.store
        .blocking(|c| {
            let row = c.query_row(sql, [arg], |r| r.get::<_, Option<String>>(0));
            Ok(rusqlite::OptionalExtension::optional(row)?)
        })
        .expect("query")
        .flatten()
}

/// Opens a create form and sends it with its own client id; returns the id and the answer.
async fn create_through_form(
    browser: &Browser<'_>,
    form_path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (String, crate::common::web::Page) {
    let form = browser.get(form_path).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let client_id = hidden_value(&form.body, "_id").expect("client id");
    let mut all = vec![("_csrf", form.csrf()), ("_id", client_id.clone())];
    all.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = browser.post(action, &borrowed).await;
    (client_id, answer)
}

#[tokio::test]
async fn a_stop_is_created_edited_and_archived_through_forms() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let overview = browser.get("/console/data").await;
    assert_eq!(overview.status, StatusCode::OK, "{}", overview.body);
    assert!(overview.body.contains("Haltepunkte"), "{}", overview.body);

    let stop_fields = [
        ("region", f.region.as_str()),
        ("village_id", f.village.as_str()),
        ("name", "Kirche"),
        ("lat", "52,132"),
        ("lon", "10.723"),
        ("step_free", "ja"),
    ];
    let (stop, answer) = create_through_form(
        &browser,
        "/console/data/stops/new",
        "/console/data/stops",
        &stop_fields,
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(
        text(&hub, "SELECT name FROM stops WHERE id = ?1", &stop).as_deref(),
        Some("Kirche")
    );
    assert_eq!(
        text(
            &hub,
            "SELECT CAST(lat AS TEXT) FROM stops WHERE id = ?1",
            &stop
        )
        .as_deref(),
        Some("52.132"),
        "a decimal comma is read"
    );
    // The same form sent again makes no second stop.
    let before = hub.count("stops");
    let mut again: Vec<(&str, &str)> = vec![("_id", stop.as_str())];
    again.extend_from_slice(&stop_fields);
    let repeat = browser
        .submit("/console/data/stops/new", "/console/data/stops", &again)
        .await;
    assert_eq!(repeat.status, StatusCode::SEE_OTHER, "{}", repeat.body);
    assert_eq!(hub.count("stops"), before);

    // Edit: the form shows the stored values; a wrong latitude keeps the form and changes nothing.
    let edit_path = format!("/console/data/stops/{stop}");
    let edit = browser.get(&edit_path).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert_eq!(hidden_value(&edit.body, "name").as_deref(), Some("Kirche"));
    let wrong = browser
        .submit(
            &edit_path,
            &edit_path,
            &[
                ("village_id", &f.village),
                ("name", "Kirchplatz"),
                ("lat", "152.1"),
                ("lon", "10.723"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert!(wrong.body.contains("Breitengrad"), "{}", wrong.body);
    assert!(wrong.body.contains("152.1"), "entered values stay");
    assert!(wrong.body.contains("Kirchplatz"), "entered values stay");
    assert_eq!(
        text(&hub, "SELECT name FROM stops WHERE id = ?1", &stop).as_deref(),
        Some("Kirche")
    );
    let saved = browser
        .submit(
            &edit_path,
            &edit_path,
            &[
                ("village_id", &f.village),
                ("name", "Kirchplatz"),
                ("lat", "52.133"),
                ("lon", "10.723"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        text(
            &hub,
            "SELECT name || '/' || step_free FROM stops WHERE id = ?1",
            &stop
        )
        .as_deref(),
        Some("Kirchplatz/0"),
        "an unticked box is stored as no"
    );
    let list = browser.get("/console/data/stops").await;
    assert!(list.body.contains("Kirchplatz"), "{}", list.body);

    // Archive: the button asks first; the stop leaves the list but stays in the database.
    assert!(edit.body.contains("data-confirm"), "{}", edit.body);
    let archived = browser
        .submit(&edit_path, &format!("{edit_path}/archive"), &[])
        .await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER, "{}", archived.body);
    assert!(
        text(&hub, "SELECT archived_at FROM stops WHERE id = ?1", &stop).is_some(),
        "archived"
    );
    let list = browser.get("/console/data/stops").await;
    assert!(!list.body.contains("Kirchplatz"), "{}", list.body);
    let all = browser.get("/console/data/stops?archived=1").await;
    assert!(all.body.contains("Kirchplatz"), "{}", all.body);
}

#[tokio::test]
async fn a_shift_gets_a_driver_account_of_the_region() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let (driver, _) = account(&hub, "driver", "fahrer", Some(&f.region)).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let form = browser.get("/console/data/shifts/new").await;
    assert!(
        form.body.contains(&driver),
        "the driver is offered: {}",
        form.body
    );
    let day = (chrono::Utc::now() + chrono::Duration::days(5)).format("%Y-%m-%d");
    let (starts, ends) = (format!("{day}T07:00"), format!("{day}T14:00"));
    // A dispatcher's account is no driver's: the domain says so, in German, and nothing is made.
    let dispatcher_id =
        text(&hub, "SELECT id FROM accounts WHERE username = ?1", "dispo").expect("id");
    let before = hub.count("shifts");
    let (_, refused) = create_through_form(
        &browser,
        "/console/data/shifts/new",
        "/console/data/shifts",
        &[
            ("vehicle_id", &f.vehicle),
            ("driver_account_id", &dispatcher_id),
            ("starts_at", &starts),
            ("ends_at", &ends),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Fahrer-Konto: muss ein Konto mit der Rolle Fahrer sein"),
        "{}",
        refused.body
    );
    assert_eq!(hub.count("shifts"), before);
    let (shift, done) = create_through_form(
        &browser,
        "/console/data/shifts/new",
        "/console/data/shifts",
        &[
            ("vehicle_id", &f.vehicle),
            ("driver_account_id", &driver),
            ("starts_at", &starts),
            ("ends_at", &ends),
            ("break_minutes", ""),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        text(
            &hub,
            "SELECT driver_account_id FROM shifts WHERE id = ?1",
            &shift
        ),
        Some(driver)
    );
    let stored = text(&hub, "SELECT starts_at FROM shifts WHERE id = ?1", &shift).expect("start");
    let local = chrono::DateTime::parse_from_rfc3339(&stored)
        .expect("instant")
        .with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(local.format("%Y-%m-%dT%H:%M").to_string(), starts);
    // Archiving a shift cancels it.
    let path = format!("/console/data/shifts/{shift}");
    let cancelled = browser.submit(&path, &format!("{path}/archive"), &[]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        text(&hub, "SELECT status FROM shifts WHERE id = ?1", &shift).as_deref(),
        Some("cancelled")
    );
}

#[tokio::test]
async fn residents_need_their_consent_and_reads_are_audited() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let mut fields = vec![
        ("name", "Karl Busch"),
        ("street", "Am Anger 2"),
        ("village_id", f.village.as_str()),
        ("lat", "52.13"),
        ("lon", "10.72"),
        ("language", "de"),
        ("consent_at", "2026-01-05T10:00"),
        ("consent_given_to", "DRK Fahrdienst"),
        ("consent_purpose", ""),
    ];
    let before = hub.count("residents");
    let (_, refused) = create_through_form(
        &browser,
        "/console/data/residents/new",
        "/console/data/residents",
        &fields,
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Zweck der Einwilligung: darf nicht leer sein"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Karl Busch"));
    assert_eq!(hub.count("residents"), before);
    fields.pop();
    fields.push(("consent_purpose", "Fahrten"));
    let (resident, done) = create_through_form(
        &browser,
        "/console/data/residents/new",
        "/console/data/residents",
        &fields,
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        text(
            &hub,
            "SELECT consent_at FROM residents WHERE id = ?1",
            &resident
        )
        .as_deref(),
        Some("2026-01-05T09:00:00Z")
    );
    let lists = hub.count("audit_log WHERE action = 'list' AND kind = 'residents'");
    let list = browser.get("/console/data/residents").await;
    assert!(list.body.contains("Karl Busch"), "{}", list.body);
    assert_eq!(
        hub.count("audit_log WHERE action = 'list' AND kind = 'residents'"),
        lists + 1
    );
    let reads = hub.count("audit_log WHERE action = 'read' AND kind = 'residents'");
    browser
        .get(&format!("/console/data/residents/{resident}"))
        .await;
    assert!(hub.count("audit_log WHERE action = 'read' AND kind = 'residents'") > reads);
    // A caregiver needs a phone number or an e-mail address.
    let (_, refused) = create_through_form(
        &browser,
        "/console/data/caregivers/new",
        "/console/data/caregivers",
        &[("name", "Jana Busch")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("Telefon: Eine Kümmerer:in braucht"),
        "{}",
        refused.body
    );
    let (caregiver, done) = create_through_form(
        &browser,
        "/console/data/caregivers/new",
        "/console/data/caregivers",
        &[("name", "Jana Busch"), ("email", "jana@example.org")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        text(
            &hub,
            "SELECT email FROM caregivers WHERE id = ?1",
            &caregiver
        )
        .as_deref(),
        Some("jana@example.org")
    );
}

#[tokio::test]
async fn destinations_and_vehicles_take_their_own_inputs() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let (destination, done) = create_through_form(
        &browser,
        "/console/data/destinations/new",
        "/console/data/destinations",
        &[
            ("name", "Suchtberatung"),
            ("category", "counselling"),
            ("street", "Markt 5"),
            ("postcode", "38170"),
            ("city", "Schöppenstedt"),
            ("lat", "52.14"),
            ("lon", "10.77"),
            ("opening_hours", "Mo-Di 09:00-12:00"),
            ("helps_with", "alcohol, loneliness"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        text(
            &hub,
            "SELECT opening_hours || ' ' || helps_with FROM destinations WHERE id = ?1",
            &destination
        )
        .as_deref(),
        Some(
            r#"[{"close":"12:00","open":"09:00","weekday":"mon"},{"close":"12:00","open":"09:00","weekday":"tue"}] ["alcohol","loneliness"]"#
        )
    );
    let edit = browser
        .get(&format!("/console/data/destinations/{destination}"))
        .await;
    assert_eq!(
        hidden_value(&edit.body, "opening_hours").as_deref(),
        Some("Mo 09:00-12:00, Di 09:00-12:00")
    );
    // A category the region does not have, and a vehicle with words for seats: nothing is made.
    let before = (hub.count("destinations"), hub.count("vehicles"));
    let (_, refused) = create_through_form(
        &browser,
        "/console/data/destinations/new",
        "/console/data/destinations",
        &[
            ("name", "Tierarzt"),
            ("category", "veterinary"),
            ("street", "Markt 6"),
            ("postcode", "38170"),
            ("city", "Schöppenstedt"),
            ("lat", "52.14"),
            ("lon", "10.77"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("Kategorie: „veterinary“ ist keine Kategorie dieser Region"),
        "{}",
        refused.body
    );
    let (_, refused) = create_through_form(
        &browser,
        "/console/data/vehicles/new",
        "/console/data/vehicles",
        &[
            ("name", "Bus 2"),
            ("seats", "acht"),
            ("depot_name", "DRK"),
            ("depot_lat", "52.14"),
            ("depot_lon", "10.77"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains("Sitzplätze: „acht“ ist keine ganze Zahl"),
        "{}",
        refused.body
    );
    assert_eq!((hub.count("destinations"), hub.count("vehicles")), before);
    let (vehicle, done) = create_through_form(
        &browser,
        "/console/data/vehicles/new",
        "/console/data/vehicles",
        &[
            ("name", "Bus 2"),
            ("seats", "8"),
            ("depot_name", "DRK"),
            ("depot_lat", "52.14"),
            ("depot_lon", "10.77"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        text(
            &hub,
            "SELECT seats || '/' || wheelchair_places FROM vehicles WHERE id = ?1",
            &vehicle
        )
        .as_deref(),
        Some("8/0")
    );
}

/// The import's columns of each kind, as stored, to compare two hubs.
const COMPARED: [(&str, &str); 8] = [
    ("villages", "id, name, municipality, lat, lon, streets"),
    ("stops", "id, village_id, name, lat, lon, step_free"),
    (
        "destinations",
        "id, name, category, street, postcode, city, lat, lon, phone, opening_hours, step_free, helps_with",
    ),
    (
        "vehicles",
        "id, name, seats, wheelchair_places, depot_name, depot_lat, depot_lon",
    ),
    (
        "shifts",
        "id, vehicle_id, driver_name, starts_at, ends_at, break_after, break_minutes",
    ),
    (
        "residents",
        "id, name, street, village_id, lat, lon, phone, uses_walker, uses_wheelchair, needs_companion, language, consent_at, consent_given_to, consent_purpose",
    ),
    ("caregivers", "id, name, phone, email, village_id"),
    (
        "caregiver_links",
        "id, caregiver_id, resident_id, consent_at, consent_how",
    ),
];

fn rows(hub: &TestHub, table: &str, columns: &str) -> Vec<String> {
    hub.store
        .blocking(|c| {
            let sql = format!("SELECT json_array({columns}) FROM {table} ORDER BY id");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .expect("rows")
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_hub_gives_the_same_rows() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    hub.create(
        "shifts",
        json!({"region_id": f.region, "vehicle_id": f.vehicle, "driver_name": "Jens Möller",
               "starts_at": ahead(3, 7, 0), "ends_at": ahead(3, 14, 0),
               "break_after": ahead(3, 11, 0), "break_minutes": 30}),
    )
    .await;
    hub.create(
        "villages",
        json!({"region_id": f.region, "name": "Dahlum, Ort", "municipality": "Dahlum",
               "lat": 52.1333, "lon": 10.85, "streets": ["Am Anger", "Kirchweg"]}),
    )
    .await;
    let neighbour = hub
        .create(
            "caregivers",
            json!({"region_id": f.region, "name": "Petra Sommer", "email": "petra@example.org",
                   "village_id": f.village}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (caregiver, how) in [(&f.caregiver, "phone"), (&neighbour, "in_person")] {
        hub.create(
            "caregiver-links",
            json!({"region_id": f.region, "caregiver_id": caregiver, "resident_id": f.resident,
                   "consent_at": "2026-02-01T09:30:00Z", "consent_how": how}),
        )
        .await;
    }
    let source = admin(&hub).await;
    let mut files = Vec::new();
    for (kind, _) in COMPARED {
        let csv = source.get(&format!("/console/data/{kind}.csv")).await;
        assert_eq!(csv.status, StatusCode::OK, "{kind}: {}", csv.body);
        assert!(
            csv.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv"),
            "{kind}"
        );
        files.push((kind, csv.body));
    }
    assert_eq!(
        hub.count("audit_log WHERE action = 'export' AND kind = 'residents'"),
        1,
        "exporting personal data is recorded"
    );
    for kind in ["caregivers", "caregiver_links"] {
        assert_eq!(
            hub.count(&format!(
                "audit_log WHERE action = 'export' AND kind = '{kind}'"
            )),
            1,
            "{kind}"
        );
    }
    assert_eq!(
        hub.count("audit_log WHERE action = 'export' AND kind = 'villages'"),
        0
    );
    let links = &files.last().expect("links").1;
    assert!(
        links.starts_with("id,caregiver,resident,consent_at,consent_how\n"),
        "{links}"
    );
    assert!(
        links.contains("Jonas Köhler,Erna Köhler,2026-02-01T09:30:00Z,phone"),
        "{links}"
    );

    let fresh = TestHub::start().await;
    let target = admin(&fresh).await;
    let (region, made) = create_through_form(
        &target,
        "/console/data/regions/new",
        "/console/data/regions",
        &[
            ("name", "Elm-Asse"),
            ("time_zone", "Europe/Berlin"),
            ("destination_categories", "general_practice, counselling"),
        ],
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert_eq!(
        text(
            &fresh,
            "SELECT destination_categories FROM regions WHERE id = ?1",
            &region
        )
        .as_deref(),
        Some(r#"["general_practice","counselling"]"#)
    );
    let listed = target.get("/console/data/regions").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(listed.body.contains("Elm-Asse"), "{}", listed.body);
    for (kind, csv) in &files {
        let page = format!("/console/data/{kind}/import?region={region}");
        let answer = target
            .submit(
                &page,
                &format!("/console/data/{kind}/import"),
                &[("region", &region), ("csv", csv)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{kind}: {}", answer.body);
        assert!(
            answer.body.contains("Eingelesen"),
            "{kind}: {}",
            answer.body
        );
    }
    for (table, columns) in COMPARED {
        let (a, b) = (rows(&hub, table, columns), rows(&fresh, table, columns));
        assert!(!a.is_empty(), "{table}");
        assert_eq!(a, b, "{table}");
    }
}

#[tokio::test]
async fn a_bad_csv_changes_nothing_and_names_the_line() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let tables = ["villages", "stops", "audit_log WHERE action = 'import'"];
    let before: Vec<i64> = tables.iter().map(|t| hub.count(t)).collect();
    let cases = [
        (
            "villages",
            "name,lat,lon,farbe\nDahlum,52.13,10.85,rot\n",
            "Zeile 1, Spalte „farbe“",
        ),
        (
            "villages",
            "name,lat,lon\nDahlum,52.13,10.85\nDenkte,zehn,10.6\n",
            "Zeile 3, Spalte „lat“: „zehn“ ist keine Zahl",
        ),
        (
            "stops",
            "village,name,lat,lon\nKneitlingen,Markt,52.13,10.72\nAtlantis,Hafen,52.1,10.8\n",
            "Zeile 3, Spalte „village“: Kein Ort „Atlantis“",
        ),
    ];
    for (kind, csv, expected) in cases {
        let page = format!("/console/data/{kind}/import");
        let answer = browser
            .submit(&page, &page, &[("region", &f.region), ("csv", csv)])
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{kind}: {}",
            answer.body
        );
        assert!(
            answer.body.contains(expected),
            "{expected}: {}",
            answer.body
        );
        assert!(answer.body.contains("Es wurde nichts eingelesen"));
    }
    // Far too much: refused before it is read.
    let mut huge = String::from("name,lat,lon\n");
    while huge.len() <= 10 * 1024 * 1024 {
        huge.push_str("Dorf,52.1,10.8\n");
    }
    let answer = browser
        .submit(
            "/console/data/villages/import",
            "/console/data/villages/import",
            &[("region", &f.region), ("csv", &huge)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("zu groß"), "{}", answer.body);
    let after: Vec<i64> = tables.iter().map(|t| hub.count(t)).collect();
    assert_eq!(before, after);
    // A good file goes in, and says how much; the list shows it a page at a time.
    let mut good = String::from("name,lat,lon\n");
    for n in 1..=60 {
        good.push_str(&format!("Dorf {n:02},52.1,10.8\n"));
    }
    let answer = browser
        .submit(
            "/console/data/villages/import",
            "/console/data/villages/import",
            &[("region", &f.region), ("csv", &good)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("60 neu angelegt"), "{}", answer.body);
    assert_eq!(hub.count("villages"), before[0] + 60);
    let first = browser.get("/console/data/villages").await;
    assert!(first.body.contains("Dorf 49"), "{}", first.body);
    assert!(!first.body.contains("Dorf 50"), "{}", first.body);
    let at = first.body.find("Weitere Einträge").expect("a next page");
    let href_start = first.body[..at].rfind("href=\"").expect("link") + 6;
    let href_end = href_start + first.body[href_start..].find('"').expect("end");
    let next = first.body[href_start..href_end].replace("&amp;", "&");
    let second = browser.get(&next).await;
    assert!(second.body.contains("Dorf 60"), "{}", second.body);
    assert!(!second.body.contains("Dorf 49"), "{}", second.body);
}

#[tokio::test]
async fn roles_regions_csrf_and_unknown_ids_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let stop_path = format!("/console/data/stops/{}", f.stop);
    // Drivers and caregivers see no region data.
    let (_, password) = account(&hub, "driver", "fahrer", Some(&f.region)).await;
    let driver = Browser::new(&hub);
    driver.login("fahrer", &password).await;
    hub.create(
        "accounts",
        json!({"username": "kuemmerer", "display_name": "Jonas", "role": "caregiver",
               "region_id": f.region, "caregiver_id": f.caregiver}),
    )
    .await;
    let password = hub::accounts::random_password();
    hub::accounts::set_password(&hub.store, "kuemmerer", &password).expect("password");
    let caregiver = Browser::new(&hub);
    caregiver.login("kuemmerer", &password).await;
    for browser in [&driver, &caregiver] {
        for path in [
            "/console/data",
            "/console/data/stops",
            stop_path.as_str(),
            "/console/data/residents.csv",
        ] {
            assert_eq!(
                browser.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
    }
    // A dispatcher of another region can neither read nor change this one's records.
    let other_region = hub
        .create("regions", json!({"id": id(), "name": "Harz"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (_, password) = account(&hub, "dispatcher", "harz", Some(&other_region)).await;
    let other = Browser::new(&hub);
    other.login("harz", &password).await;
    assert_eq!(other.get(&stop_path).await.status, StatusCode::FORBIDDEN);
    let csv = other
        .get(&format!("/console/data/residents.csv?region={}", f.region))
        .await;
    assert_eq!(csv.status, StatusCode::FORBIDDEN);
    let own = other.get("/console/data/stops").await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(!own.body.contains("Dorfplatz"), "{}", own.body);
    let changed = other
        .submit(
            "/console/data/stops",
            &stop_path,
            &[
                ("village_id", &f.village),
                ("name", "Weg"),
                ("lat", "52.1"),
                ("lon", "10.7"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::FORBIDDEN);
    let archived = other
        .submit("/console/data/stops", &format!("{stop_path}/archive"), &[])
        .await;
    assert_eq!(archived.status, StatusCode::FORBIDDEN);
    // Creating a region is for admins.
    assert_eq!(
        other.get("/console/data/regions/new").await.status,
        StatusCode::FORBIDDEN
    );

    let dispo = dispatcher(&hub, &f, "dispo").await;
    // Without the CSRF token, nothing happens.
    let no_token = dispo.post(&format!("{stop_path}/archive"), &[]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let no_token = dispo
        .post(
            "/console/data/villages/import",
            &[
                ("region", &f.region),
                ("csv", "name,lat,lon\nDahlum,52.1,10.8\n"),
            ],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(
        text(&hub, "SELECT archived_at FROM stops WHERE id = ?1", &f.stop),
        None
    );
    assert_eq!(hub.count("villages"), 1);
    // Unknown ids and kinds.
    let unknown = format!("/console/data/stops/{}", id());
    assert_eq!(dispo.get(&unknown).await.status, StatusCode::NOT_FOUND);
    let archive_unknown = dispo
        .submit("/console/data/stops", &format!("{unknown}/archive"), &[])
        .await;
    assert_eq!(archive_unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        dispo.get("/console/data/rockets").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn caregiver_links_record_consent_through_forms_and_refuse_bad_input() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let overview = browser.get("/console/data").await;
    assert!(
        overview.body.contains("/console/data/caregiver_links.csv"),
        "{}",
        overview.body
    );
    // The form offers the region's caregivers and residents; reading them is audited.
    let people_lists = hub.count("audit_log WHERE action = 'list' AND kind = 'caregivers'");
    let form = browser.get("/console/data/caregiver_links/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body.contains("Jonas Köhler, 0171 2345678"),
        "{}",
        form.body
    );
    assert!(
        form.body.contains("Erna Köhler, Lindenweg 4"),
        "{}",
        form.body
    );
    assert!(form.body.contains("am Telefon"));
    assert_eq!(
        hub.count("audit_log WHERE action = 'list' AND kind = 'caregivers'"),
        people_lists + 1
    );

    let good = [
        ("caregiver_id", f.caregiver.as_str()),
        ("resident_id", f.resident.as_str()),
        ("consent_at", "2026-02-01T10:30"),
        ("consent_how", "phone"),
    ];
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![good[1], good[2], good[3]],
            "Kümmerer:in: bitte ausfüllen",
        ),
        (
            vec![good[0], good[1], good[3]],
            "Einwilligung am: bitte ausfüllen",
        ),
        (
            vec![good[0], good[1], ("consent_at", "gestern"), good[3]],
            "„gestern“ ist kein Zeitpunkt",
        ),
        (
            vec![good[0], good[1], good[2], ("consent_how", "per Brieftaube")],
            "„per Brieftaube“ ist keine der möglichen Angaben",
        ),
        (
            vec![
                good[0],
                good[1],
                ("consent_at", "2099-01-01T10:00"),
                good[3],
            ],
            "Einwilligung am: liegt in der Zukunft",
        ),
        (
            vec![("caregiver_id", "kein-eintrag"), good[1], good[2], good[3]],
            "Kümmerer:in: Einen Eintrag mit der ID „kein-eintrag“ gibt es nicht",
        ),
    ];
    let links_before = hub.count("caregiver_links");
    let writes_before = hub.count("audit_log WHERE kind = 'caregiver_links' AND action = 'create'");
    for (fields, expected) in &cases {
        let (_, refused) = create_through_form(
            &browser,
            "/console/data/caregiver_links/new",
            "/console/data/caregiver_links",
            fields,
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{expected}: {}",
            refused.body
        );
        assert!(
            refused.body.contains(expected),
            "{expected}: {}",
            refused.body
        );
    }
    assert_eq!(hub.count("caregiver_links"), links_before);
    assert_eq!(
        hub.count("audit_log WHERE kind = 'caregiver_links' AND action = 'create'"),
        writes_before
    );

    let (link, done) = create_through_form(
        &browser,
        "/console/data/caregiver_links/new",
        "/console/data/caregiver_links",
        &good,
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        text(
            &hub,
            "SELECT consent_at || ' ' || consent_how || ' ' || consent_recorded_by
             FROM caregiver_links WHERE id = ?1",
            &link
        )
        .as_deref(),
        Some("2026-02-01T09:30:00Z phone account:dispo")
    );
    let list = browser.get("/console/data/caregiver_links").await;
    assert!(list.body.contains("Jonas Köhler"), "{}", list.body);
    assert!(list.body.contains("am Telefon"), "{}", list.body);
    // The same pair again is refused: one live link per pair.
    let (_, twice) = create_through_form(
        &browser,
        "/console/data/caregiver_links/new",
        "/console/data/caregiver_links",
        &good,
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert_eq!(hub.count("caregiver_links"), links_before + 1);

    // Editing changes how consent was given; the pair itself cannot be changed.
    let page = format!("/console/data/caregiver_links/{link}");
    let edit = browser.get(&page).await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    let other = hub
        .create(
            "caregivers",
            json!({"region_id": f.region, "name": "Petra Sommer", "email": "petra@example.org"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let moved = browser
        .post(
            &page,
            &[
                ("_csrf", &edit.csrf()),
                ("caregiver_id", &other),
                ("resident_id", &f.resident),
                ("consent_at", "2026-02-01T10:30"),
                ("consent_how", "paper"),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST, "{}", moved.body);
    assert!(
        moved.body.contains("kann nicht geändert werden"),
        "{}",
        moved.body
    );
    let changed = browser
        .post(
            &page,
            &[
                ("_csrf", &edit.csrf()),
                ("caregiver_id", &f.caregiver),
                ("resident_id", &f.resident),
                ("consent_at", "2026-02-01T10:30"),
                ("consent_how", "in_person"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(
        text(
            &hub,
            "SELECT consent_how FROM caregiver_links WHERE id = ?1",
            &link
        )
        .as_deref(),
        Some("in_person")
    );
    // Unknown ids are not found; archiving ends the link.
    let unknown = browser
        .get(&format!("/console/data/caregiver_links/{}", id()))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let archived = browser
        .post(&format!("{page}/archive"), &[("_csrf", &edit.csrf())])
        .await;
    assert_eq!(archived.status, StatusCode::SEE_OTHER, "{}", archived.body);
    assert!(
        text(
            &hub,
            "SELECT archived_at FROM caregiver_links WHERE id = ?1",
            &link
        )
        .is_some()
    );
}

#[tokio::test]
async fn caregivers_and_links_from_csv_are_all_or_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 0).await;
    let browser = dispatcher(&hub, &f, "dispo").await;
    let tables = [
        "caregivers",
        "caregiver_links",
        "audit_log WHERE action = 'import'",
    ];
    let before: Vec<i64> = tables.iter().map(|t| hub.count(t)).collect();
    let cases = [
        (
            "caregivers",
            "name,phone,email\nPetra Sommer,,\n",
            "Zeile 2, Spalte „phone“: Eine Kümmerer:in braucht",
        ),
        (
            "caregivers",
            "name,phone,village\nPetra Sommer,05332 1,Atlantis\n",
            "Zeile 2, Spalte „village“: Kein Ort „Atlantis“",
        ),
        (
            "caregivers",
            "phone\n05332 1\n",
            "Spalte „name“: Diese Spalte fehlt",
        ),
        (
            "caregiver_links",
            "caregiver,resident,consent_at\nJonas Köhler,Niemand,2026-02-01 10:00\n",
            "Zeile 2, Spalte „resident“: Keine Bewohner:in „Niemand“",
        ),
        (
            "caregiver_links",
            "caregiver,resident,consent_at,consent_how\nJonas Köhler,Erna Köhler,2026-02-01 10:00,Brieftaube\n",
            "Zeile 2, Spalte „consent_how“: „Brieftaube“ ist keine der möglichen Angaben",
        ),
        (
            "caregiver_links",
            "caregiver,resident,consent_at\nJonas Köhler,Erna Köhler,zehn\n",
            "Zeile 2, Spalte „consent_at“: „zehn“ ist weder eine Ortszeit",
        ),
    ];
    for (kind, csv, expected) in cases {
        let page = format!("/console/data/{kind}/import");
        let answer = browser
            .submit(&page, &page, &[("region", &f.region), ("csv", csv)])
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{kind}: {}",
            answer.body
        );
        assert!(
            answer.body.contains(expected),
            "{expected}: {}",
            answer.body
        );
    }
    let mut huge = String::from("name,phone\n");
    while huge.len() <= 10 * 1024 * 1024 {
        huge.push_str("Petra Sommer,05332 1\n");
    }
    let answer = browser
        .submit(
            "/console/data/caregivers/import",
            "/console/data/caregivers/import",
            &[("region", &f.region), ("csv", &huge)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("zu groß"), "{}", answer.body);
    let after: Vec<i64> = tables.iter().map(|t| hub.count(t)).collect();
    assert_eq!(before, after);

    // Good files go in; a link names its caregiver and resident by name.
    let caregivers = "name,email,village\nPetra Sommer,petra@example.org,Kneitlingen\n";
    let answer = browser
        .submit(
            "/console/data/caregivers/import",
            "/console/data/caregivers/import",
            &[("region", &f.region), ("csv", caregivers)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let links = "caregiver,resident,consent_at,consent_how\nPetra Sommer,Erna Köhler,2026-02-01 10:00,schriftlich\n";
    let answer = browser
        .submit(
            "/console/data/caregiver_links/import",
            "/console/data/caregiver_links/import",
            &[("region", &f.region), ("csv", links)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("1 neu angelegt"), "{}", answer.body);
    assert_eq!(
        text(
            &hub,
            "SELECT l.consent_how || ' ' || l.consent_at FROM caregiver_links l
             JOIN caregivers c ON c.id = l.caregiver_id WHERE c.name = ?1",
            "Petra Sommer"
        )
        .as_deref(),
        Some("paper 2026-02-01T09:00:00Z")
    );
}

/// Before the first region every console page that works on one says so (and is not an error),
/// the overview and the region data pages with the way on.
#[tokio::test]
async fn without_a_region_the_console_pages_say_so_and_show_the_way_on() {
    let hub = TestHub::start().await;
    let browser = crate::common::web::admin(&hub).await;
    for (path, title, next) in [
        ("/console", "Übersicht", Some("/console/data")),
        (
            "/console/data",
            "Regionsdaten",
            Some("/console/data/regions/new"),
        ),
        ("/console/devices", "Geräte", None),
        ("/console/updates", "Software-Updates", None),
        ("/console/privacy", "Datenschutz", None),
        ("/console/evaluation", "Auswertung", None),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            page.body.contains("Es ist noch keine Region angelegt."),
            "{path}: {}",
            page.body
        );
        assert!(
            page.body
                .contains(&format!("<title>{title} – Dorfpunkt</title>")),
            "{path}: {}",
            page.body
        );
        if let Some(next) = next {
            assert!(
                page.body.contains(&format!("href=\"{next}\"")),
                "{path}: {}",
                page.body
            );
        }
    }
}
