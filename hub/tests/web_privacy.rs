//! Web pages: personal data (`/console/privacy`, admins only): finding a resident, the JSON
//! export, erasure (the name gone from every table of the database file, the evaluation's
//! counts unchanged; refused while a ride lies ahead) and the retention rules.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::web::Browser;
use crate::common::{Fixture, TestHub, fixture, id};
use crate::web_evaluation::{admin, as_role, csv, seed};

const NAME: &str = "Erna Köhler";
const STREET: &str = "Lindenweg 4";

fn stamp(days_from_now: i64) -> String {
    (Utc::now() + Duration::days(days_from_now)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A ride of the fixture's resident to the fixture's destination; returns its id.
fn ride(hub: &TestHub, f: &Fixture, at: &str, status: &str, caregiver: Option<&str>) -> String {
    let ride = id();
    let (r, region, resident, village, destination) = (
        ride.clone(),
        f.region.clone(),
        f.resident.clone(),
        f.village.clone(),
        f.destination.clone(),
    );
    let (at, status, caregiver) = (
        at.to_string(),
        status.to_string(),
        caregiver.map(str::to_string),
    );
    hub.store
        .blocking(move |c| {
            c.execute(
                "INSERT INTO ride_requests (id, region_id, booking_code, resident_id, village_id,
                     from_home, to_destination_id, appointment_at, status, channel, booked_by,
                     caregiver_id, notice, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, 'phone', 'account:test', ?9,
                         '{\"kind\":\"no_show_warning\"}', ?7, ?7)",
                rusqlite::params![
                    r,
                    region,
                    format!("P{}", &r[..8]),
                    resident,
                    village,
                    destination,
                    at,
                    status,
                    caregiver
                ],
            )?;
            Ok(())
        })
        .expect("ride");
    ride
}

/// A finished call-back about `ride` with a contact name and phone.
fn call_back(hub: &TestHub, f: &Fixture, ride: &str, contact: &str, at: &str) -> String {
    let cb = id();
    let (i, region, ride, contact, at) = (
        cb.clone(),
        f.region.clone(),
        ride.to_string(),
        contact.to_string(),
        at.to_string(),
    );
    hub.store
        .blocking(move |c| {
            c.execute(
                "INSERT INTO call_backs (id, region_id, kind, ride_request_id, contact_name,
                     contact_phone, reason, status, resolution, created_at, updated_at)
                 VALUES (?1, ?2, 'ride', ?3, ?4, '0171 999999', 'no_capacity_at_that_time',
                         'done', 'served', ?5, ?5)",
                rusqlite::params![i, region, ride, contact, at],
            )?;
            Ok(())
        })
        .expect("call-back");
    cb
}

fn query<T: rusqlite::types::FromSql + Send + 'static>(hub: &TestHub, sql: &str) -> T {
    let sql = sql.to_string();
    hub.store
        .blocking(move |c| Ok(c.query_row(&sql, [], |r| r.get(0))?))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every table and text column of the database file that holds `text`.
fn tables_holding(hub: &TestHub, text: &str) -> Vec<String> {
    let text = text.to_string();
    hub.store
        .blocking(move |c| {
            let tables: Vec<String> = {
                let mut stmt = c.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%'",
                )?;
                stmt.query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            let mut found = Vec::new();
            for table in tables {
                let columns: Vec<String> = {
                    let mut stmt = c.prepare(&format!("PRAGMA table_info({table})"))?;
                    stmt.query_map([], |r| r.get(1))?
                        .collect::<Result<_, _>>()?
                };
                for column in columns {
                    let n: i64 = c.query_row(
                        &format!(
                            "SELECT count(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS TEXT), ?1) > 0"
                        ),
                        [&text],
                        |r| r.get(0),
                    )?;
                    if n > 0 {
                        found.push(format!("{table}.{column}"));
                    }
                }
            }
            Ok(found)
        })
        .expect("search")
}

/// Links the fixture's caregiver to the resident through the API.
async fn link(hub: &TestHub, f: &Fixture) {
    hub.create(
        "caregiver-links",
        json!({"region_id": f.region, "caregiver_id": f.caregiver, "resident_id": f.resident,
               "consent_at": "2026-01-05T10:00:00Z", "consent_how": "paper"}),
    )
    .await;
}

fn resident_page(f: &Fixture) -> String {
    format!("/console/privacy/residents/{}", f.resident)
}

#[tokio::test]
async fn an_admin_finds_a_resident_and_exports_everything_with_an_audit_line() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    link(&hub, &f).await;
    let past = ride(&hub, &f, &stamp(-20), "done", Some(&f.caregiver));
    call_back(&hub, &f, &past, NAME, &stamp(-20));
    let browser = admin(&hub).await;

    let found = browser
        .get(&format!(
            "/console/privacy?region={}&q=K%C3%B6hler",
            f.region
        ))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains(NAME));
    assert!(found.body.contains(&resident_page(&f)));
    let none = browser
        .get(&format!("/console/privacy?region={}&q=Niemand", f.region))
        .await;
    assert!(none.body.contains("Niemand gefunden"));

    let page = resident_page(&f);
    let download = browser.submit(&page, &format!("{page}/export"), &[]).await;
    assert_eq!(download.status, StatusCode::OK, "{}", download.body);
    assert_eq!(
        download.headers.get("content-type").unwrap(),
        "application/json"
    );
    let document: Value = serde_json::from_str(&download.body).expect("JSON");
    assert_eq!(document["resident"]["name"], NAME);
    assert_eq!(document["resident"]["street"], STREET);
    let rides = document["rides"].as_array().unwrap();
    assert_eq!(rides.len(), 1);
    assert_eq!(rides[0]["id"], past);
    assert_eq!(
        document["caregiver_links"][0]["caregiver_name"],
        "Jonas Köhler"
    );
    assert_eq!(document["call_backs"][0]["contact_name"], NAME);
    let audit = document["audit_log"].as_array().unwrap();
    assert!(audit.iter().any(|a| a["action"] == "export"));
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "create" && a["entity_id"] == f.resident)
    );
    let exports: i64 = query(
        &hub,
        &format!(
            "SELECT count(*) FROM audit_log WHERE action = 'export' AND entity_id = '{}'
             AND actor = 'account:admin' AND kind = 'residents' AND region_id = '{}'",
            f.resident, f.region
        ),
    );
    assert_eq!(exports, 1);
}

#[tokio::test]
async fn erasure_removes_the_name_from_every_table_and_keeps_the_counts() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    seed(&hub, &f);
    link(&hub, &f).await;
    let past = ride(&hub, &f, "2026-10-16T09:00:00Z", "done", Some(&f.caregiver));
    call_back(&hub, &f, &past, NAME, "2026-10-16T09:00:00Z");
    let resident = f.resident.clone();
    hub.store
        .blocking(move |c| {
            c.execute(
                "UPDATE residents SET phone = '05332 777777', kiosk_number = '1234565' WHERE id = ?1",
                [resident],
            )?;
            Ok(())
        })
        .unwrap();
    assert!(!tables_holding(&hub, NAME).is_empty());
    let browser = admin(&hub).await;
    let before: Vec<Vec<String>> = futures_collect(&browser, &f).await;
    let rides_before = hub.count("ride_requests");
    let appointments_before = hub.count("appointments");

    let page = resident_page(&f);
    let done = browser.submit(&page, &format!("{page}/erase"), &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Personendaten sind gelöscht"));

    // Gone from every table and column of the file, with phone, street and resident number.
    for secret in [NAME, STREET, "05332 777777", "1234565"] {
        assert_eq!(
            tables_holding(&hub, secret),
            Vec::<String>::new(),
            "{secret}"
        );
    }
    // The rows stay, anonymous; the evaluation counts the same.
    assert_eq!(hub.count("ride_requests"), rides_before);
    assert_eq!(hub.count("appointments"), appointments_before);
    assert_eq!(futures_collect(&browser, &f).await, before);
    let archived: i64 = query(
        &hub,
        "SELECT count(*) FROM caregiver_links WHERE archived_at IS NOT NULL",
    );
    assert_eq!(archived, 1);
    let caregiver_on_ride: Option<String> = query(
        &hub,
        &format!("SELECT caregiver_id FROM ride_requests WHERE id = '{past}'"),
    );
    assert_eq!(caregiver_on_ride, None);
    let (lat, village_lat): (f64, f64) = (
        query(
            &hub,
            &format!("SELECT lat FROM residents WHERE id = '{}'", f.resident),
        ),
        query(
            &hub,
            &format!("SELECT lat FROM villages WHERE id = '{}'", f.village),
        ),
    );
    assert_eq!(lat, village_lat, "home moved to the village centre");
    let erase_lines: i64 = query(
        &hub,
        &format!(
            "SELECT count(*) FROM audit_log WHERE action = 'erase' AND entity_id = '{}'
             AND actor = 'account:admin' AND kind = 'residents' AND region_id = '{}'",
            f.resident, f.region
        ),
    );
    assert_eq!(erase_lines, 1);
    // The page says so; a second erasure is refused.
    let shown = browser.get(&page).await;
    assert!(shown.body.contains("Personendaten gelöscht"));
    let again = browser
        .post(&format!("{page}/erase"), &[("_csrf", &shown.csrf())])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

/// The tables whose counts erasure must keep (kilometres may move with the home).
async fn futures_collect(browser: &Browser<'_>, f: &Fixture) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for table in ["rides", "counselling", "people"] {
        out.push(csv(browser, f, table).await);
    }
    out
}

#[tokio::test]
async fn erasure_with_a_ride_ahead_is_refused_and_changes_nothing() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    link(&hub, &f).await;
    ride(&hub, &f, &stamp(-30), "done", None);
    ride(&hub, &f, &stamp(3), "planned", None);
    let browser = admin(&hub).await;
    let page = resident_page(&f);
    let shown = browser.get(&page).await;
    assert!(shown.body.contains("noch 1 Fahrt(en)"), "{}", shown.body);
    let audit_before = hub.count("audit_log");
    let refused = browser
        .post(&format!("{page}/erase"), &[("_csrf", &shown.csrf())])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("1 Fahrt(en)"));
    let name: String = query(
        &hub,
        &format!("SELECT name FROM residents WHERE id = '{}'", f.resident),
    );
    assert_eq!(name, NAME);
    assert_eq!(hub.count("erasures"), 0);
    assert_eq!(hub.count("audit_log"), audit_before);
    let live_links: i64 = query(
        &hub,
        "SELECT count(*) FROM caregiver_links WHERE archived_at IS NULL",
    );
    assert_eq!(live_links, 1);
}

#[tokio::test]
async fn retention_removes_old_details_but_not_recent_ones_nor_statistics() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let old = ride(&hub, &f, &stamp(-200), "done", Some(&f.caregiver));
    let recent = ride(&hub, &f, &stamp(-10), "done", Some(&f.caregiver));
    let old_cb = call_back(&hub, &f, &old, "Frau Alt", &stamp(-200));
    let recent_cb = call_back(&hub, &f, &recent, "Frau Neu", &stamp(-10));
    let rides_before = hub.count("ride_requests");

    let runs = hub
        .store
        .blocking(|c| hub::privacy::apply_retention(c, Utc::now()))
        .unwrap();
    let run = runs.iter().find(|r| r.region_id == f.region).unwrap();
    assert_eq!((run.rides, run.call_backs, run.retention_days), (1, 1, 90));

    let details = |ride: &str| -> (Option<String>, Option<String>, String) {
        let ride = ride.to_string();
        hub.store
            .blocking(move |c| {
                Ok(c.query_row(
                    "SELECT notice, caregiver_id, status FROM ride_requests WHERE id = ?1",
                    [ride],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?)
            })
            .unwrap()
    };
    assert_eq!(details(&old), (None, None, "done".into()));
    let (notice, caregiver, _) = details(&recent);
    assert!(notice.is_some());
    assert_eq!(caregiver.as_deref(), Some(f.caregiver.as_str()));
    let contact = |cb: &str| -> Option<String> {
        query(
            &hub,
            &format!("SELECT contact_name FROM call_backs WHERE id = '{cb}'"),
        )
    };
    assert_eq!(contact(&old_cb), None);
    assert_eq!(contact(&recent_cb).as_deref(), Some("Frau Neu"));
    assert_eq!(
        hub.count("ride_requests"),
        rides_before,
        "rides stay for statistics"
    );

    // Again: nothing left to remove. The page shows the last run.
    let runs = hub
        .store
        .blocking(|c| hub::privacy::apply_retention(c, Utc::now()))
        .unwrap();
    assert_eq!(
        runs.iter().map(|r| r.rides + r.call_backs).sum::<usize>(),
        0
    );
    let browser = admin(&hub).await;
    let page = browser
        .get(&format!("/console/privacy?region={}", f.region))
        .await;
    assert!(page.body.contains("Letzter Lauf"));
    assert!(
        page.body
            .contains("0 Fahrten und 0 Rückrufbitten bereinigt"),
        "{}",
        page.body
    );
    // The button applies it now, as the admin.
    let ran = browser
        .submit("/console/privacy", "/console/privacy/retention/run", &[])
        .await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER);
    let by_admin: i64 = query(
        &hub,
        "SELECT count(*) FROM retention_runs WHERE ran_by = 'account:admin'",
    );
    assert!(by_admin >= 1);
}

#[tokio::test]
async fn the_retention_setting_is_validated_and_saved() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let browser = admin(&hub).await;
    let page = format!("/console/privacy?region={}", f.region);
    for bad in ["5", "abc", "4000", ""] {
        let answer = browser
            .submit(
                &page,
                "/console/privacy/retention",
                &[("region", &f.region), ("retention_days", bad)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(answer.body.contains("30 bis 3650"));
    }
    assert_eq!(hub.count("privacy_settings"), 0);
    let saved = browser
        .submit(
            &page,
            "/console/privacy/retention",
            &[("region", &f.region), ("retention_days", "120")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let days: i64 = query(&hub, "SELECT retention_days FROM privacy_settings");
    assert_eq!(days, 120);
    let shown = browser.get(&page).await;
    assert!(shown.body.contains("value=\"120\""));
    let runs = hub
        .store
        .blocking(|c| hub::privacy::apply_retention(c, Utc::now()))
        .unwrap();
    assert_eq!(runs[0].retention_days, 120);
}

#[tokio::test]
async fn wrong_roles_missing_csrf_and_unknown_residents_are_refused() {
    let hub = TestHub::start().await;
    let f = fixture(&hub, 1).await;
    let page = resident_page(&f);
    for (role, username) in [
        ("dispatcher", "disponent"),
        ("driver", "fahrer"),
        ("caregiver", "kuemmerer"),
    ] {
        let browser = as_role(&hub, &f, role, username).await;
        for path in ["/console/privacy", page.as_str()] {
            assert_eq!(
                browser.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{role} {path}"
            );
        }
        // With a valid token of their own session: still not allowed.
        let home = browser.get("/account/password").await;
        let token = home.csrf();
        for action in ["export", "erase"] {
            let answer = browser
                .post(&format!("{page}/{action}"), &[("_csrf", &token)])
                .await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} {action}");
        }
        let answer = browser
            .post(
                "/console/privacy/retention",
                &[
                    ("_csrf", &token),
                    ("region", &f.region),
                    ("retention_days", "60"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} retention");
    }
    let admin = admin(&hub).await;
    // No CSRF token, or a wrong one: refused, nothing erased.
    let missing = admin.post(&format!("{page}/erase"), &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = admin
        .post(&format!("{page}/erase"), &[("_csrf", "not-the-token")])
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let name: String = query(
        &hub,
        &format!("SELECT name FROM residents WHERE id = '{}'", f.resident),
    );
    assert_eq!(name, NAME);
    assert_eq!(hub.count("erasures"), 0);
    assert_eq!(hub.count("privacy_settings"), 0);
    // Unknown residents.
    let unknown = "/console/privacy/residents/00000000-0000-4000-8000-000000000000";
    assert_eq!(admin.get(unknown).await.status, StatusCode::NOT_FOUND);
    for action in ["export", "erase"] {
        let answer = admin
            .submit("/console/privacy", &format!("{unknown}/{action}"), &[])
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(hub.count("erasures"), 0);
}
